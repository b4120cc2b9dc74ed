/* SPDX-License-Identifier: Apache-2.0 */
/* principal.c — role names and the reference-counted principal (auth.h). */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"

static const char *const role_names[PL_ROLE_COUNT] = {"public",   "device",   "enterprise",
                                                      "agency",   "operator", "admin"};

const char *pl_role_name(enum pl_role r)
{
    return (unsigned)r < PL_ROLE_COUNT ? role_names[r] : "public";
}

int pl_role_parse(const char *s, enum pl_role *out)
{
    for (int i = 0; s && i < PL_ROLE_COUNT; i++) {
        if (strcmp(s, role_names[i]) == 0) {
            *out = (enum pl_role)i;
            return 0;
        }
    }
    return -1;
}

struct pl_principal *pl_principal_new(enum pl_role role, enum pl_cred cred, const char *name,
                                      const char *tenant)
{
    struct pl_principal *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    atomic_init(&p->refs_, 1);
    p->role = role;
    p->cred = cred;
    snprintf(p->name, sizeof p->name, "%s", name ? name : "");
    if (tenant && strcmp(tenant, "*") == 0)
        p->all_tenants = 1;
    else
        snprintf(p->tenant, sizeof p->tenant, "%s", tenant ? tenant : "");
    return p;
}

static int push(char ***v, size_t *n, const char *s)
{
    char *c = strdup(s);
    char **g = c ? realloc(*v, (*n + 1) * sizeof **v) : NULL;
    if (!g) {
        free(c);
        return PL_ENOMEM;
    }
    g[(*n)++] = c;
    *v = g;
    return 0;
}

int pl_principal_add_type(struct pl_principal *p, const char *type)
{
    return push(&p->types, &p->n_types, type);
}

int pl_principal_add_entity(struct pl_principal *p, const char *id)
{
    return push(&p->entities, &p->n_entities, id);
}

struct pl_principal *pl_principal_ref(struct pl_principal *p)
{
    if (p)
        atomic_fetch_add_explicit(&p->refs_, 1, memory_order_relaxed);
    return p;
}

void pl_principal_unref(struct pl_principal *p)
{
    if (!p || atomic_fetch_sub_explicit(&p->refs_, 1, memory_order_acq_rel) != 1)
        return;
    for (size_t i = 0; i < p->n_types; i++)
        free(p->types[i]);
    for (size_t i = 0; i < p->n_entities; i++)
        free(p->entities[i]);
    free(p->types);
    free(p->entities);
    free(p);
}

const struct pl_principal *pl_principal_public(void)
{
        /* all_tenants: the public may read the open data of whichever tenant it asks for. */
    static const struct pl_principal pub = {
        .role = PL_ROLE_PUBLIC, .cred = PL_CRED_NONE, .all_tenants = 1};
    return &pub;
}

int pl_principal_in_tenant(const struct pl_principal *p, const char *tenant)
{
    if (!p || p->all_tenants)
        return 1;
    return strcmp(p->tenant, tenant ? tenant : "") == 0;
}
