/* SPDX-License-Identifier: Apache-2.0 */
/*
 * authn.c — the pl_store_cred_* wrappers (store.h "Credentials"): readers call the backend
 * directly (any thread), writers run on the store's writer thread (pl_store__on_writer).
 */
#include "store/store.h"
#include "store/store_int.h"

static int no_creds(const struct pl_store *s, struct pl_err *err)
{
    return pl_err_set(err, PL_EOPNOTSUPPORTED, "the %s store keeps no credentials",
                      pl_store_backend_name(s));
}

int pl_store_cred_get(struct pl_store *s, const char *kind, const char *id, json_t **out,
                      struct pl_err *err)
{
    const struct pl_store_ops *ops = pl_store__ops(s);
    *out = NULL;
    if (!ops->cred_get)
        return no_creds(s, err);
    return ops->cred_get(pl_store__be(s), kind, id, out, err);
}

int pl_store_cred_list(struct pl_store *s, const char *kind, json_t **out, struct pl_err *err)
{
    const struct pl_store_ops *ops = pl_store__ops(s);
    *out = NULL;
    if (!ops->cred_list)
        return no_creds(s, err);
    return ops->cred_list(pl_store__be(s), kind, out, err);
}

struct cred_arg {
    const struct pl_store_ops *ops;
    const char *kind, *id, *owner;
    const json_t *body;
    int must_not_exist;
    int64_t n;
};

static int put_run(void *be, void *arg, struct pl_err *err)
{
    struct cred_arg *a = arg;
    return a->ops->w_cred_put(be, a->kind, a->id, a->owner, a->body, a->must_not_exist, err);
}

static int delete_run(void *be, void *arg, struct pl_err *err)
{
    struct cred_arg *a = arg;
    return a->ops->w_cred_delete(be, a->kind, a->id, err);
}

static int delete_owner_run(void *be, void *arg, struct pl_err *err)
{
    struct cred_arg *a = arg;
    return a->ops->w_cred_delete_owner(be, a->kind, a->owner, &a->n, err);
}

int pl_store_cred_put(struct pl_store *s, const char *kind, const char *id, const char *owner,
                      const json_t *body, int must_not_exist, struct pl_err *err)
{
    if (!pl_store__ops(s)->w_cred_put)
        return no_creds(s, err);
    if (!json_is_object(body) || !id || !*id)
        return pl_err_set(err, PL_EINTERNAL, "cred_put: a record needs an id and an object");
    struct cred_arg a = {pl_store__ops(s), kind, id, owner, body, must_not_exist, 0};
    return pl_store__on_writer(s, put_run, &a, err);
}

int pl_store_cred_delete(struct pl_store *s, const char *kind, const char *id, struct pl_err *err)
{
    if (!pl_store__ops(s)->w_cred_delete)
        return no_creds(s, err);
    struct cred_arg a = {pl_store__ops(s), kind, id, NULL, NULL, 0, 0};
    return pl_store__on_writer(s, delete_run, &a, err);
}

int pl_store_cred_delete_owner(struct pl_store *s, const char *kind, const char *owner,
                               int64_t *n_deleted, struct pl_err *err)
{
    if (!pl_store__ops(s)->w_cred_delete_owner)
        return no_creds(s, err);
    struct cred_arg a = {pl_store__ops(s), kind, NULL, owner, NULL, 0, 0};
    int rc = pl_store__on_writer(s, delete_owner_run, &a, err);
    if (n_deleted)
        *n_deleted = a.n;
    return rc;
}
