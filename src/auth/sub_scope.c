/* SPDX-License-Identifier: Apache-2.0 */
/* sub_scope.c — the read scope of subscription owners (sub_scope.h). */
#include "auth/sub_scope.h"

#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "auth/read.h"
#include "ngsild/context.h"
#include "notify/notifier.h"

/* 1 when one of the entity's types (expanded IRIs) is one of the principal's (IRIs, or terms of
 * the core context). */
static int has_granted_type(const struct pl_principal *p, const json_t *entity)
{
    const json_t *types = json_object_get(entity, "type");
    for (size_t i = 0; i < p->n_types; i++) {
        char *iri = pl_ctx_expand(pl_ctx_core(), p->types[i]);
        const char *want = iri ? iri : p->types[i];
        size_t k;
        json_t *t;
        int hit = 0;
        json_array_foreach(types, k, t)
        {
            const char *have = json_string_value(t);
            if (have && (strcmp(have, want) == 0 || strcmp(have, p->types[i]) == 0))
                hit = 1;
        }
        free(iri);
        if (hit)
            return 1;
    }
    return 0;
}

/* An enterprise owner's entity is its own when the store recorded its owner key. */
static int owned_in_store(void *ud, const char *tenant, const char *id, const char *owner)
{
    char buf[PL_STORE_OWNER_MAX];
    struct pl_err err;
    pl_err_clear(&err);
    return pl_store_entity_owner(ud, tenant, id, buf, sizeof buf, &err) == 0 &&
           strcmp(buf, owner) == 0;
}

int pl_owner_read_scope(void *ud, const struct pl_principal *owner, const char *tenant,
                        const json_t *entity, json_t **view)
{
    *view = NULL;
    if (!owner)
        return PL_SCOPE_ALL;
    if (!pl_principal_in_tenant(owner, tenant))
        return PL_SCOPE_NONE;
    if (owner->role == PL_ROLE_ADMIN)
        return PL_SCOPE_ALL;
    if (owner->n_types && owner->role != PL_ROLE_AGENCY && !has_granted_type(owner, entity))
        return PL_SCOPE_NONE;
    if (owner->role == PL_ROLE_OPERATOR || owner->role == PL_ROLE_AGENCY)
        return PL_SCOPE_ALL;
    /* enterprise, device, public: the reads part's rule (auth/read.h): the tenant's open data
     * without its private attributes, and the entities it owns or is bound to in full */
    const struct pl_app *app = ud;
    if (!app)
        return PL_SCOPE_NONE;
    struct pl_read_scope rs;
    pl_read_scope_init(&rs, app->read_policies, owner, tenant);
    rs.is_owner = owned_in_store;
    rs.is_owner_ud = app->store;
    json_t *v = pl_read_scope_view(&rs, entity);
    pl_read_scope_dispose(&rs);
    if (!v)
        return PL_SCOPE_NONE;
    if (v == entity) {
        json_decref(v);
        return PL_SCOPE_ALL;
    }
    *view = v;
    return PL_SCOPE_VIEW;
}
