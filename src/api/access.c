/* SPDX-License-Identifier: Apache-2.0 */
/* access.c — the route access table and the authorize phase (access.h). */
#include "api/access.h"

#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "store/store.h"

_Static_assert(PL_STORE_OWNER_MAX >= PL_AUTHZ_OWNER_MAX, "the store must hold every owner key");

/* What each handler requires. The per-entity rules run again in the handler with the target. */
static const struct {
    pl_handler_fn handler;
    enum pl_authz_action action;
} access_table[] = {
    {pl_api_health, PL_AUTHZ_ANONYMOUS},
    {pl_api_version, PL_AUTHZ_ANONYMOUS},
    {pl_api_metrics, PL_AUTHZ_METRICS},
    /* entities */
    {pl_api_entity_create, PL_AUTHZ_CREATE},
    {pl_api_entities_query, PL_AUTHZ_READ},
    {pl_api_entities_purge, PL_AUTHZ_PURGE},
    {pl_api_entity_get, PL_AUTHZ_READ},
    {pl_api_entity_delete, PL_AUTHZ_DELETE},
    {pl_api_entity_replace, PL_AUTHZ_UPDATE},
    {pl_api_entity_merge, PL_AUTHZ_UPDATE},
    {pl_api_attrs_append, PL_AUTHZ_UPDATE},
    {pl_api_attrs_update, PL_AUTHZ_UPDATE},
    {pl_api_attr_patch, PL_AUTHZ_UPDATE},
    {pl_api_attr_replace, PL_AUTHZ_UPDATE},
    {pl_api_attr_delete, PL_AUTHZ_UPDATE},
    /* @contexts */
    {pl_api_contexts_add, PL_AUTHZ_CONTEXT_ADD},
    {pl_api_contexts_list, PL_AUTHZ_READ},
    {pl_api_contexts_get, PL_AUTHZ_READ},
    {pl_api_contexts_delete, PL_AUTHZ_CONTEXT_DELETE},
    /* batches: each element is decided again in batch.c */
    {pl_api_batch_create, PL_AUTHZ_CREATE},
    {pl_api_batch_upsert, PL_AUTHZ_UPSERT},
    {pl_api_batch_update, PL_AUTHZ_UPDATE},
    {pl_api_batch_delete, PL_AUTHZ_DELETE},
    {pl_api_batch_merge, PL_AUTHZ_UPDATE},
    {pl_api_entities_query_post, PL_AUTHZ_READ},
    /* discovery */
    {pl_api_types_list, PL_AUTHZ_READ},
    {pl_api_type_get, PL_AUTHZ_READ},
    {pl_api_attributes_list, PL_AUTHZ_READ},
    {pl_api_attribute_get, PL_AUTHZ_READ},
    /* subscriptions: creating one is a standing read; changing one is its owner's */
    {pl_api_subscription_create, PL_AUTHZ_SUB_CREATE},
    {pl_api_subscriptions_list, PL_AUTHZ_SUB_READ},
    {pl_api_subscription_get, PL_AUTHZ_SUB_READ},
    {pl_api_subscription_patch, PL_AUTHZ_SUB_MODIFY},
    {pl_api_subscription_delete, PL_AUTHZ_SUB_MODIFY},
    /* temporal API: appending instances is an update; editing or deleting history a delete */
    {pl_api_temporal_create, PL_AUTHZ_UPSERT},
    {pl_api_temporal_query, PL_AUTHZ_READ},
    {pl_api_temporal_query_post, PL_AUTHZ_READ},
    {pl_api_temporal_get, PL_AUTHZ_READ},
    {pl_api_temporal_delete, PL_AUTHZ_DELETE},
    {pl_api_temporal_attrs_add, PL_AUTHZ_UPDATE},
    {pl_api_temporal_attr_delete, PL_AUTHZ_DELETE},
    {pl_api_temporal_instance_patch, PL_AUTHZ_DELETE},
    {pl_api_temporal_instance_delete, PL_AUTHZ_DELETE},
};

static int has_prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

enum pl_authz_action pl_api_route_action(const struct pl_route *rt)
{
    for (size_t i = 0; i < sizeof access_table / sizeof access_table[0]; i++) {
        if (access_table[i].handler == rt->handler)
            return access_table[i].action;
    }
    /* Routes of the other parts of issue 12, by path (access.h). */
    if (has_prefix(rt->pattern, "/auth/"))
        return PL_AUTHZ_ANONYMOUS; /* logging in needs no credential: it makes one */
    if (has_prefix(rt->pattern, "/polis/v1/"))
        return PL_AUTHZ_ADMIN;
    return rt->method == PL_M_GET ? PL_AUTHZ_READ : PL_AUTHZ_ADMIN;
}

int pl_api_deny(struct pl_req *r, const struct pl_err *e)
{
    pl_reply_problem(r, e);
    if (e->code == PL_EUNAUTHORIZED)
        pl_req_add_header(r, "WWW-Authenticate", "Bearer realm=\"polis\"");
    return PL_HANDLER_DONE;
}

const char *pl_api_owner_key(struct pl_req *r)
{
    char key[PL_AUTHZ_OWNER_MAX];
    if (pl_authz_owner_key(r->principal, key, sizeof key) != 0)
        return NULL;
    char *k = strdup(key);
    pl_req_defer_free(r, k);
    return k;
}

int pl_api_authorize(struct pl_req *r)
{
    if (!r->principal)
        return 0;
    struct pl_err e;
    pl_err_clear(&e);
    if (pl_authz_check(r->principal, r->tenant, pl_api_route_action(r->route), NULL, &e) == 0)
        return 0;
    pl_api_deny(r, &e);
    return 1;
}
