/* SPDX-License-Identifier: Apache-2.0 */
/* tenants.c — GET /polis/v1/tenants and DELETE /polis/v1/tenants/{tenant} (api/tenants.h). */
#include "api/tenants.h"

#include <jansson.h>

#include "app/app.h"
#include "auth/auth.h"
#include "auth/tenant.h"
#include "base/log.h"
#include "http/http.h"
#include "notify/notifier.h"
#include "store/store.h"

int pl_api_admin_or_reply(struct pl_req *r)
{
    if (!r->principal || r->principal->role == PL_ROLE_ADMIN)
        return 0;
    pl_reply_error(r, PL_EFORBIDDEN, "only an admin may use %s", r->path);
    return -1;
}

struct list_ud {
    struct pl_notifier *notifier;
    json_t *out;
};

static int list_row(void *ud, const char *tenant, int64_t n_entities)
{
    struct list_ud *u = ud;
    size_t n_subs = u->notifier ? pl_notifier_count(u->notifier, tenant) : 0;
    json_array_append_new(u->out, json_pack("{s:s,s:I,s:I}", "name", tenant, "entities",
                                            (json_int_t)n_entities, "subscriptions",
                                            (json_int_t)n_subs));
    return 0;
}

/* GET /polis/v1/tenants */
int pl_api_tenants_list(struct pl_req *r)
{
    if (pl_api_admin_or_reply(r) != 0)
        return PL_HANDLER_DONE;
    struct list_ud u = {r->app->notifier, json_array()};
    if (!u.out)
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_store_tenant_list(r->app->store, list_row, &u, &err);
    if (rc != 0) {
        json_decref(u.out);
        return pl_reply_problem(r, &err);
    }
    pl_reply_json(r, 200, "application/json", u.out);
    json_decref(u.out);
    return PL_HANDLER_DONE;
}

/* DELETE /polis/v1/tenants/{tenant}: subscriptions first (uninstalled, so that the deletions
 * that follow notify nobody), then the entities and what is left (store.h). */
int pl_api_tenant_delete(struct pl_req *r)
{
    if (pl_api_admin_or_reply(r) != 0)
        return PL_HANDLER_DONE;
    const char *t = r->params[0];
    if (!pl_tenant_name_valid(t))
        return pl_reply_error(r, PL_EBADREQUESTDATA, "a tenant name is " PL_TENANT_RULE);
    if (!pl_store_tenant_exists(r->app->store, t))
        return pl_reply_error(r, PL_ENOTFOUND, "tenant '%s' not found", t);
    struct pl_err err;
    pl_err_clear(&err);
    size_t n_subs = 0;
    int64_t n_ents = 0;
    if (r->app->notifier &&
        pl_notifier_remove_tenant(r->app->notifier, t, &n_subs, &err) != 0)
        return pl_reply_problem(r, &err);
    int rc = pl_store_tenant_delete(r->app->store, t, &n_ents, &err);
    if (rc != 0)
        return pl_reply_problem(r, &err);
    pl_log_info("tenants: tenant '%s' deleted (%lld entities, %zu subscriptions) by '%s'", t,
                (long long)n_ents, n_subs, r->principal ? r->principal->name : "");
    pl_reply_empty(r, 204);
    return PL_HANDLER_DONE;
}
