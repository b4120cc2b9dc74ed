/* SPDX-License-Identifier: Apache-2.0 */
/* tenants.c — listing and deleting tenants (store.h "Audit log and tenants"). */
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "store/store_int.h"

#define DELETE_CHUNK 1000 /* entities per group commit while deleting a tenant */

int pl_store_tenant_list(struct pl_store *s, pl_tenant_row_fn fn, void *ud, struct pl_err *err)
{
    const struct pl_store_ops *ops = pl_store__ops(s);
    if (!ops->tenant_list)
        return pl_err_set(err, PL_EOPNOTSUPPORTED, "the %s store cannot list tenants", ops->name);
    return ops->tenant_list(pl_store__be(s), fn, ud, err);
}

/* The ids of one chunk of the tenant's entities. */
struct ids {
    char **v;
    size_t n;
};

static int collect(void *ud, const char *body, size_t len)
{
    struct ids *l = ud;
    json_t *e = json_loadb(body, len, 0, NULL);
    const char *id = json_string_value(json_object_get(e, "id"));
    char *c = id ? strdup(id) : NULL;
    json_decref(e);
    if (!c)
        return PL_ENOMEM;
    l->v[l->n++] = c;
    return 0;
}

static int delete_apply(void *ud, json_t *cur, json_t **next, struct pl_err *err)
{
    (void)ud;
    (void)cur;
    (void)err;
    *next = NULL;
    return 0;
}

struct drop_arg {
    const struct pl_store_ops *ops;
    const char *tenant;
};

static int drop_run(void *be, void *arg, struct pl_err *err)
{
    struct drop_arg *a = arg;
    return a->ops->w_tenant_drop(be, a->tenant, err);
}

int pl_store_tenant_delete(struct pl_store *s, const char *tenant, int64_t *n_entities,
                           struct pl_err *err)
{
    const struct pl_store_ops *ops = pl_store__ops(s);
    *n_entities = 0;
    if (!ops->w_tenant_drop)
        return pl_err_set(err, PL_EOPNOTSUPPORTED, "the %s store cannot delete tenants",
                          ops->name);
    if (!pl_store_tenant_exists(s, tenant))
        return pl_err_set(err, PL_ENOTFOUND, "no such tenant");
    char **v = calloc(DELETE_CHUNK, sizeof *v);
    struct pl_store_write *ws = calloc(DELETE_CHUNK, sizeof *ws);
    struct pl_store_write **wp = calloc(DELETE_CHUNK, sizeof *wp);
    int rc = v && ws && wp ? 0 : pl_err_set(err, PL_ENOMEM, "out of memory");
    /* Always the first chunk again: the previous one is deleted (an entity created meanwhile
     * is deleted too). A chunk of which nothing could be deleted ends it with an error. */
    while (rc == 0) {
        struct ids l = {v, 0};
        struct pl_store_query q = {.tenant = tenant, .limit = DELETE_CHUNK};
        rc = pl_store_entity_query(s, &q, collect, &l, NULL, err);
        if (rc == PL_ENOMEM)
            pl_err_set(err, PL_ENOMEM, "out of memory");
        if (rc == 0 && l.n) {
            memset(ws, 0, l.n * sizeof ws[0]);
            for (size_t i = 0; i < l.n; i++) {
                ws[i].tenant = tenant;
                ws[i].id = l.v[i];
                ws[i].apply = delete_apply;
                wp[i] = &ws[i];
            }
            pl_store_write_many_sync(s, wp, l.n);
            size_t deleted = 0, failed = l.n;
            for (size_t i = 0; i < l.n; i++) {
                if (ws[i].rc == 0)
                    deleted += ws[i].existed != 0;
                else if (failed == l.n)
                    failed = i;
                json_decref(ws[i].result);
            }
            *n_entities += (int64_t)deleted;
            if (!deleted && failed < l.n) { /* no progress: give up with the first failure */
                rc = ws[failed].rc;
                *err = ws[failed].err;
            }
        }
        for (size_t i = 0; i < l.n; i++)
            free(l.v[i]);
        if (rc != 0 || l.n < DELETE_CHUNK)
            break;
    }
    free(v);
    free(ws);
    free(wp);
    if (rc != 0)
        return rc;
    struct drop_arg a = {ops, tenant};
    return pl_store__on_writer(s, drop_run, &a, err);
}
