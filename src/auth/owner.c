/* SPDX-License-Identifier: Apache-2.0 */
/* owner.c — owner snapshots and the owner rules (owner.h). */
#include "auth/owner.h"

#include <string.h>

struct pl_principal *pl_principal_copy(const struct pl_principal *p)
{
    if (!p)
        return NULL;
    struct pl_principal *c =
        pl_principal_new(p->role, p->cred, p->name, p->all_tenants ? "*" : p->tenant);
    for (size_t i = 0; c && i < p->n_types; i++) {
        if (pl_principal_add_type(c, p->types[i]) != 0) {
            pl_principal_unref(c);
            return NULL;
        }
    }
    for (size_t i = 0; c && i < p->n_entities; i++) {
        if (pl_principal_add_entity(c, p->entities[i]) != 0) {
            pl_principal_unref(c);
            return NULL;
        }
    }
    return c;
}

static json_t *strv(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

json_t *pl_principal_to_json(const struct pl_principal *p)
{
    if (!p)
        return NULL;
    return json_pack("{s:s,s:s,s:i,s:s,s:o,s:o}", "name", p->name, "role", pl_role_name(p->role),
                     "cred", (int)p->cred, "tenant", p->all_tenants ? "*" : p->tenant, "types",
                     strv(p->types, p->n_types), "entities", strv(p->entities, p->n_entities));
}

struct pl_principal *pl_principal_from_json(const json_t *j)
{
    const char *name = NULL, *role = NULL, *tenant = NULL;
    int cred = 0;
    json_t *types = NULL, *ents = NULL;
    enum pl_role r;
    if (!json_is_object(j) ||
        json_unpack((json_t *)j, "{s:s,s:s,s:i,s:s,s?o,s?o}", "name", &name, "role", &role,
                    "cred", &cred, "tenant", &tenant, "types", &types, "entities", &ents) != 0 ||
        pl_role_parse(role, &r) != 0 || cred < PL_CRED_NONE || cred > PL_CRED_APIKEY)
        return NULL;
    struct pl_principal *p = pl_principal_new(r, (enum pl_cred)cred, name, tenant);
    size_t i;
    json_t *v;
    json_array_foreach(types, i, v)
    {
        if (p && json_is_string(v) && pl_principal_add_type(p, json_string_value(v)) != 0) {
            pl_principal_unref(p);
            p = NULL;
        }
    }
    json_array_foreach(ents, i, v)
    {
        if (p && json_is_string(v) && pl_principal_add_entity(p, json_string_value(v)) != 0) {
            pl_principal_unref(p);
            p = NULL;
        }
    }
    return p;
}

/* Which namespace a principal's name lives in: a user signs in with a token or the session
 * cookie and stays the same user; JWT subjects and API keys are names of their own. */
static int name_space(enum pl_cred c)
{
    return c == PL_CRED_SESSION ? PL_CRED_TOKEN : (int)c;
}

int pl_owner_is(const struct pl_principal *owner, const struct pl_principal *p)
{
    return owner && p && owner->name[0] && name_space(owner->cred) == name_space(p->cred) &&
           strcmp(owner->name, p->name) == 0;
}

int pl_owner_may_see_secrets(const struct pl_principal *owner, const struct pl_principal *p)
{
    return !p || p->role == PL_ROLE_ADMIN || pl_owner_is(owner, p);
}

int pl_owner_may_modify(const struct pl_principal *owner, const struct pl_principal *p,
                        const char *tenant)
{
    if (!p || p->role == PL_ROLE_ADMIN || pl_owner_is(owner, p))
        return 1;
    return p->role == PL_ROLE_OPERATOR && pl_principal_in_tenant(p, tenant);
}

int pl_owner_may_repoint(const struct pl_principal *owner, const struct pl_principal *p)
{
    return pl_owner_may_see_secrets(owner, p);
}
