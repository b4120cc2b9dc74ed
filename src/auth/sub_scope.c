/* SPDX-License-Identifier: Apache-2.0 */
/* sub_scope.c — the read scope of subscription owners (sub_scope.h). */
#include "auth/sub_scope.h"

#include <stdlib.h>
#include <string.h>

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

int pl_owner_read_scope(void *ud, const struct pl_principal *owner, const char *tenant,
                        const json_t *entity, json_t **view)
{
    (void)ud;
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
    return PL_SCOPE_NONE; /* the public's scope: see sub_scope.h */
}
