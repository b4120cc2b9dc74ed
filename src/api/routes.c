/* SPDX-License-Identifier: Apache-2.0 */
/* routes.c — the route table of the API (one row per method and path) and /health. */
#include <stdio.h>

#include "api/api.h"
#include "app/app.h"
#include "notify/notifier.h"
#include "store/store.h"

#define E  "/ngsi-ld/v1/entities"
#define C  "/ngsi-ld/v1/jsonldContexts"
#define B  "/ngsi-ld/v1/entityOperations"
#define T  "/ngsi-ld/v1/types"
#define A  "/ngsi-ld/v1/attributes"
#define S  "/ngsi-ld/v1/subscriptions"
#define TE "/ngsi-ld/v1/temporal/entities"

const struct pl_route pl_api_routes[] = {
    {PL_M_GET, "/health", PL_ROUTE_NO_ACCEPT, pl_api_health},
    {PL_M_GET, "/version", PL_ROUTE_NO_ACCEPT, pl_api_version},
    {PL_M_GET, "/metrics", PL_ROUTE_NO_ACCEPT, pl_api_metrics},
    {PL_M_POST, E, PL_ROUTE_BODY, pl_api_entity_create},
    {PL_M_GET, E, PL_ROUTE_GEO, pl_api_entities_query},
    {PL_M_DELETE, E, 0, pl_api_entities_purge},
    {PL_M_GET, E "/*", PL_ROUTE_GEO, pl_api_entity_get},
    {PL_M_DELETE, E "/*", 0, pl_api_entity_delete},
    {PL_M_PUT, E "/*", PL_ROUTE_BODY, pl_api_entity_replace},
    {PL_M_PATCH, E "/*", PL_ROUTE_BODY, pl_api_entity_merge},
    {PL_M_POST, E "/*/attrs", PL_ROUTE_BODY, pl_api_attrs_append},
    {PL_M_PATCH, E "/*/attrs", PL_ROUTE_BODY, pl_api_attrs_update},
    {PL_M_PATCH, E "/*/attrs/*", PL_ROUTE_BODY, pl_api_attr_patch},
    {PL_M_PUT, E "/*/attrs/*", PL_ROUTE_BODY, pl_api_attr_replace},
    {PL_M_DELETE, E "/*/attrs/*", 0, pl_api_attr_delete},
    {PL_M_POST, C, PL_ROUTE_BODY, pl_api_contexts_add},
    {PL_M_GET, C, 0, pl_api_contexts_list},
    {PL_M_GET, C "/*", 0, pl_api_contexts_get},
    {PL_M_DELETE, C "/*", 0, pl_api_contexts_delete},
    {PL_M_POST, B "/create", PL_ROUTE_BODY, pl_api_batch_create},
    {PL_M_POST, B "/upsert", PL_ROUTE_BODY, pl_api_batch_upsert},
    {PL_M_POST, B "/update", PL_ROUTE_BODY, pl_api_batch_update},
    {PL_M_POST, B "/delete", PL_ROUTE_BODY, pl_api_batch_delete},
    {PL_M_POST, B "/merge", PL_ROUTE_BODY, pl_api_batch_merge},
    {PL_M_POST, B "/query", PL_ROUTE_BODY | PL_ROUTE_GEO, pl_api_entities_query_post},
    {PL_M_GET, T, 0, pl_api_types_list},
    {PL_M_GET, T "/*", 0, pl_api_type_get},
    {PL_M_POST, S, PL_ROUTE_BODY, pl_api_subscription_create},
    {PL_M_GET, S, 0, pl_api_subscriptions_list},
    {PL_M_GET, S "/*", 0, pl_api_subscription_get},
    {PL_M_PATCH, S "/*", PL_ROUTE_BODY, pl_api_subscription_patch},
    {PL_M_DELETE, S "/*", 0, pl_api_subscription_delete},
    {PL_M_POST, TE, PL_ROUTE_BODY, pl_api_temporal_create},
    {PL_M_GET, TE, 0, pl_api_temporal_query},
    {PL_M_GET, TE "/*", 0, pl_api_temporal_get},
    {PL_M_DELETE, TE "/*", 0, pl_api_temporal_delete},
    {PL_M_POST, TE "/*/attrs", PL_ROUTE_BODY, pl_api_temporal_attrs_add},
    {PL_M_DELETE, TE "/*/attrs/*", 0, pl_api_temporal_attr_delete},
    {PL_M_PATCH, TE "/*/attrs/*/*", PL_ROUTE_BODY, pl_api_temporal_instance_patch},
    {PL_M_DELETE, TE "/*/attrs/*/*", 0, pl_api_temporal_instance_delete},
    {PL_M_POST, "/ngsi-ld/v1/temporal/entityOperations/query", PL_ROUTE_BODY,
     pl_api_temporal_query_post},
    {PL_M_GET, A, 0, pl_api_attributes_list},
    {PL_M_GET, A "/*", 0, pl_api_attribute_get},
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
