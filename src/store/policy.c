/* SPDX-License-Identifier: Apache-2.0 */
/* policy.c — the store wrappers of the tenants' read policies (store.h; issue 12, "reads"). */
#include <stdlib.h>

#include "base/timeutil.h"
#include "store/store.h"
#include "store/store_int.h"

int pl_store_policy_load(struct pl_store *s, json_t **out, struct pl_err *err)
{
    const struct pl_store_ops *ops = pl_store__ops(s);
    if (!ops->policy_load)
        return pl_err_set(err, PL_EOPNOTSUPPORTED, "the %s store keeps no read policies",
                          ops->name);
    return ops->policy_load(pl_store__be(s), out, err);
}

struct policy_put_arg {
    const struct pl_store_ops *ops;
    const char *tenant;
    const char *body;
    const char *modified_at;
};

static int policy_put_run(void *be, void *arg, struct pl_err *err)
{
    const struct policy_put_arg *a = arg;
    return a->ops->w_policy_put(be, a->tenant, a->body, a->modified_at, err);
}

int pl_store_policy_put(struct pl_store *s, const char *tenant, const json_t *body,
                        struct pl_err *err)
{
    const struct pl_store_ops *ops = pl_store__ops(s);
    if (!ops->w_policy_put)
        return pl_err_set(err, PL_EOPNOTSUPPORTED, "the %s store keeps no read policies",
                          ops->name);
    char *text = json_dumps(body, JSON_COMPACT);
    if (!text)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    char now[PL_TIME_ISO_LEN];
    pl_time_format(pl_time_now_ms(), now);
    struct policy_put_arg a = {ops, tenant ? tenant : "", text, now};
    int rc = pl_store__on_writer(s, policy_put_run, &a, err);
    free(text);
    return rc;
}
