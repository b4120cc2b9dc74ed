/* SPDX-License-Identifier: Apache-2.0 */
/* routes.c — the route table of the API (one row per method and path) and /health. */
#include <stdio.h>

#include "api/api.h"
#include "api/credentials.h"
#include "api/params.h"
#include "api/tenants.h"
#include "api/policy.h"
#include "app/app.h"
#include "auth/audit.h"
#include "notify/notifier.h"
#include "store/store.h"

#define E  "/ngsi-ld/v1/entities"
#define C  "/ngsi-ld/v1/jsonldContexts"
#define B  "/ngsi-ld/v1/entityOperations"
#define T  "/ngsi-ld/v1/types"
#define A  "/ngsi-ld/v1/attributes"
#define S  "/ngsi-ld/v1/subscriptions"
#define TE "/ngsi-ld/v1/temporal/entities"

/* Each row: method, path, flags, handler, the URI parameters it accepts (api/params.c). */
const struct pl_route pl_api_routes[] = {
    {PL_M_GET, "/health", PL_ROUTE_NO_ACCEPT, pl_api_health, NULL},
    {PL_M_GET, "/version", PL_ROUTE_NO_ACCEPT, pl_api_version, NULL},
    {PL_M_GET, "/metrics", PL_ROUTE_NO_ACCEPT, pl_api_metrics, NULL},
    {PL_M_POST, E, PL_ROUTE_BODY, pl_api_entity_create, pl_api_params_local},
    {PL_M_GET, E, PL_ROUTE_GEO, pl_api_entities_query, pl_api_params_query},
    {PL_M_DELETE, E, 0, pl_api_entities_purge, pl_api_params_purge},
    {PL_M_GET, E "/*", PL_ROUTE_GEO, pl_api_entity_get, pl_api_params_retrieve},
    {PL_M_DELETE, E "/*", 0, pl_api_entity_delete, pl_api_params_by_id},
    {PL_M_PUT, E "/*", PL_ROUTE_BODY, pl_api_entity_replace, pl_api_params_by_id},
    {PL_M_PATCH, E "/*", PL_ROUTE_BODY, pl_api_entity_merge, pl_api_params_merge},
    {PL_M_POST, E "/*/attrs", PL_ROUTE_BODY | PL_ROUTE_MERGE_PATCH, pl_api_attrs_append,
     pl_api_params_append},
    {PL_M_PATCH, E "/*/attrs", PL_ROUTE_BODY, pl_api_attrs_update, pl_api_params_by_id},
    {PL_M_PATCH, E "/*/attrs/*", PL_ROUTE_BODY, pl_api_attr_patch, pl_api_params_by_id},
    {PL_M_PUT, E "/*/attrs/*", PL_ROUTE_BODY, pl_api_attr_replace, pl_api_params_by_id},
    {PL_M_DELETE, E "/*/attrs/*", 0, pl_api_attr_delete, pl_api_params_attr_delete},
    {PL_M_POST, C, PL_ROUTE_BODY, pl_api_contexts_add, pl_api_params_empty},
    {PL_M_GET, C, 0, pl_api_contexts_list, pl_api_params_contexts_list},
    {PL_M_GET, C "/*", 0, pl_api_contexts_get, pl_api_params_context_get},
    {PL_M_DELETE, C "/*", 0, pl_api_contexts_delete, pl_api_params_context_delete},
    {PL_M_POST, B "/create", PL_ROUTE_BODY, pl_api_batch_create, pl_api_params_local},
    {PL_M_POST, B "/upsert", PL_ROUTE_BODY, pl_api_batch_upsert, pl_api_params_upsert},
    {PL_M_POST, B "/update", PL_ROUTE_BODY, pl_api_batch_update, pl_api_params_batch_update},
    {PL_M_POST, B "/delete", PL_ROUTE_BODY, pl_api_batch_delete, pl_api_params_local},
    {PL_M_POST, B "/merge", PL_ROUTE_BODY, pl_api_batch_merge, pl_api_params_local},
    {PL_M_POST, B "/query", PL_ROUTE_BODY | PL_ROUTE_GEO, pl_api_entities_query_post,
     pl_api_params_query_post},
    {PL_M_GET, T, 0, pl_api_types_list, pl_api_params_details},
    {PL_M_GET, T "/*", 0, pl_api_type_get, pl_api_params_local},
    {PL_M_POST, S, PL_ROUTE_BODY, pl_api_subscription_create, pl_api_params_local},
    {PL_M_GET, S, 0, pl_api_subscriptions_list, pl_api_params_subs_list},
    {PL_M_GET, S "/*", 0, pl_api_subscription_get, pl_api_params_local},
    {PL_M_PATCH, S "/*", PL_ROUTE_BODY, pl_api_subscription_patch, pl_api_params_local},
    {PL_M_DELETE, S "/*", 0, pl_api_subscription_delete, pl_api_params_local},
    {PL_M_POST, TE, PL_ROUTE_BODY, pl_api_temporal_create, pl_api_params_local},
    {PL_M_GET, TE, 0, pl_api_temporal_query, pl_api_params_temporal_query},
    {PL_M_GET, TE "/*", 0, pl_api_temporal_get, pl_api_params_temporal_get},
    {PL_M_DELETE, TE "/*", 0, pl_api_temporal_delete, pl_api_params_local},
    {PL_M_POST, TE "/*/attrs", PL_ROUTE_BODY, pl_api_temporal_attrs_add, pl_api_params_local},
    {PL_M_DELETE, TE "/*/attrs/*", 0, pl_api_temporal_attr_delete,
     pl_api_params_temporal_attr_delete},
    {PL_M_PATCH, TE "/*/attrs/*/*", PL_ROUTE_BODY, pl_api_temporal_instance_patch,
     pl_api_params_local},
    {PL_M_DELETE, TE "/*/attrs/*/*", 0, pl_api_temporal_instance_delete, pl_api_params_local},
    {PL_M_POST, "/ngsi-ld/v1/temporal/entityOperations/query", PL_ROUTE_BODY,
     pl_api_temporal_query_post, pl_api_params_temporal_query_post},
    {PL_M_GET, A, 0, pl_api_attributes_list, pl_api_params_details},
    {PL_M_GET, A "/*", 0, pl_api_attribute_get, pl_api_params_local},

    /* ---- Polis resources of issue 12 (not NGSI-LD), by part ---- */
    /* -- credentials: /auth/token, /polis/v1/users, /polis/v1/keys -- */
    {PL_M_POST, "/auth/token", PL_ROUTE_NO_ACCEPT, pl_api_auth_token, NULL},
    {PL_M_POST, "/auth/session", PL_ROUTE_NO_ACCEPT, pl_api_auth_session, NULL},
    {PL_M_POST, "/auth/logout", PL_ROUTE_NO_ACCEPT, pl_api_auth_logout, NULL},
    {PL_M_GET, "/polis/v1/users", PL_ROUTE_NO_ACCEPT, pl_api_users_list, NULL},
    {PL_M_POST, "/polis/v1/users", PL_ROUTE_BODY | PL_ROUTE_NO_ACCEPT, pl_api_user_create, NULL},
    {PL_M_DELETE, "/polis/v1/users/*", PL_ROUTE_NO_ACCEPT, pl_api_user_delete, NULL},
    {PL_M_GET, "/polis/v1/keys", PL_ROUTE_NO_ACCEPT, pl_api_keys_list, NULL},
    {PL_M_POST, "/polis/v1/keys", PL_ROUTE_BODY | PL_ROUTE_NO_ACCEPT, pl_api_key_create, NULL},
    {PL_M_DELETE, "/polis/v1/keys/*", PL_ROUTE_NO_ACCEPT, pl_api_key_revoke, NULL},

    /* -- authorization: /polis/v1/tenants/{t}/policy -- */
    {PL_M_GET, "/polis/v1/tenants/*/policy", 0, pl_api_policy_get, pl_api_params_empty},
    {PL_M_PUT, "/polis/v1/tenants/*/policy", PL_ROUTE_BODY, pl_api_policy_put,
     pl_api_params_empty},

    /* -- tenants and audit: /polis/v1/tenants, /polis/v1/audit -- */
    {PL_M_GET, "/polis/v1/tenants", PL_ROUTE_NO_ACCEPT, pl_api_tenants_list, NULL},
    {PL_M_DELETE, "/polis/v1/tenants/*", PL_ROUTE_NO_ACCEPT, pl_api_tenant_delete, NULL},
    {PL_M_GET, "/polis/v1/audit", PL_ROUTE_NO_ACCEPT, pl_api_audit_list, NULL},
};

const size_t pl_api_n_routes = sizeof pl_api_routes / sizeof pl_api_routes[0];

int pl_api_health(struct pl_req *r)
{
    json_t *j = json_pack("{s:s}", "status", "ok");
    pl_reply_json(r, 200, "application/json", j);
    json_decref(j);
    return PL_HANDLER_DONE;
}

/* GET /metrics: operational counters (not NGSI-LD): the store's writer, notifications and
 * their delivery, and each subscription's last delivery error. */
int pl_api_metrics(struct pl_req *r)
{
    struct pl_store_stats st;
    pl_store_stats(r->app->store, &st);
    json_t *j = json_pack("{s:{s:I,s:I,s:I,s:I}}", "store", "writes", (json_int_t)st.writes,
                          "commits", (json_int_t)st.commits, "groups", (json_int_t)st.groups,
                          "maxGroup", (json_int_t)st.max_group);
    if (j && r->app->notifier)
        json_object_set_new(j, "notifications", pl_notifier_metrics(r->app->notifier));
    if (j && r->app->audit) {
        struct pl_audit_stats as;
        pl_audit_stats(r->app->audit, &as);
        json_object_set_new(j, "audit",
                            json_pack("{s:I,s:I,s:I}", "recorded", (json_int_t)as.recorded,
                                      "dropped", (json_int_t)as.dropped, "trimmed",
                                      (json_int_t)as.trimmed));
    }
    if (j && r->app->http) {
        struct pl_http_stats hs;
        pl_http_stats(r->app->http, &hs);
        json_object_set_new(j, "edge",
                            json_pack("{s:I,s:I,s:I,s:I}", "rateLimited",
                                      (json_int_t)hs.rate_limited, "deadlineCuts",
                                      (json_int_t)hs.deadline_cuts, "tlsReloads",
                                      (json_int_t)hs.tls_reloads, "tlsReloadFailures",
                                      (json_int_t)hs.tls_reload_failures));
    }
    pl_reply_json(r, 200, "application/json", j);
    json_decref(j);
    return PL_HANDLER_DONE;
}

int pl_api_version(struct pl_req *r)
{
    json_t *j = json_pack("{s:s, s:s, s:s}", "polis", POLIS_VERSION, "store",
                          pl_store_backend_name(r->app->store), "coreContext", PL_CORE_CONTEXT_URL);
    pl_reply_json(r, 200, "application/json", j);
    json_decref(j);
    return PL_HANDLER_DONE;
}
