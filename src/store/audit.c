/* SPDX-License-Identifier: Apache-2.0 */
/* audit.c — the audit log's pl_store_* wrappers (store.h "Audit log and tenants"). */
#include "base/log.h"
#include "store/store.h"
#include "store/store_int.h"

static int unsupported(const struct pl_store *s, struct pl_err *err)
{
    return pl_err_set(err, PL_EOPNOTSUPPORTED, "the %s store keeps no audit log",
                      pl_store__ops(s)->name);
}

struct append_arg {
    const struct pl_store_ops *ops;
    const struct pl_audit_rec *recs;
    size_t n;
};

static int append_run(void *be, void *arg, struct pl_err *err)
{
    struct append_arg *a = arg;
    return a->ops->w_audit_append(be, a->recs, a->n, err);
}

int pl_store_audit_append(struct pl_store *s, const struct pl_audit_rec *recs, size_t n,
                          struct pl_err *err)
{
    const struct pl_store_ops *ops = pl_store__ops(s);
    if (!ops->w_audit_append)
        return unsupported(s, err);
    if (n == 0)
        return 0;
    struct append_arg a = {ops, recs, n};
    return pl_store__on_writer(s, append_run, &a, err);
}

struct trim_arg {
    const struct pl_store_ops *ops;
    int64_t before_ms, n;
};

static int trim_run(void *be, void *arg, struct pl_err *err)
{
    struct trim_arg *a = arg;
    return a->ops->w_audit_trim(be, a->before_ms, 5000, &a->n, err);
}

int64_t pl_store_audit_trim_step(struct pl_store *s, int64_t before_ms)
{
    const struct pl_store_ops *ops = pl_store__ops(s);
    if (!ops->w_audit_trim)
        return 0;
    struct trim_arg a = {ops, before_ms, 0};
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_store__on_writer(s, trim_run, &a, &err) != 0) {
        pl_log_warn("audit retention: %s", err.detail);
        return -1;
    }
    return a.n;
}

int pl_store_audit_query(struct pl_store *s, const struct pl_audit_query *q, pl_audit_row_fn fn,
                         void *ud, struct pl_err *err)
{
    const struct pl_store_ops *ops = pl_store__ops(s);
    if (!ops->audit_query)
        return unsupported(s, err);
    return ops->audit_query(pl_store__be(s), q, fn, ud, err);
}
