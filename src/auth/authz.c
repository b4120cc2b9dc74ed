/* SPDX-License-Identifier: Apache-2.0 */
/* authz.c — the decision rules of authz.h: the role table of issue 12, type grants, owners and
 * device bindings. Pure: no I/O, no allocation, callable from any thread (the store's writer
 * runs them inside apply writes). */
#include "auth/authz.h"

#include <stdio.h>
#include <string.h>

#include "ngsild/context.h"

static const char *const action_names[PL_AUTHZ_ACTION_COUNT] = {
    [PL_AUTHZ_ANONYMOUS] = "anonymous",
    [PL_AUTHZ_READ] = "read",
    [PL_AUTHZ_CREATE] = "create",
    [PL_AUTHZ_UPDATE] = "update",
    [PL_AUTHZ_DELETE] = "delete",
    [PL_AUTHZ_UPSERT] = "upsert",
    [PL_AUTHZ_SUB_CREATE] = "subscribe",
    [PL_AUTHZ_SUB_MODIFY] = "change a subscription",
    [PL_AUTHZ_SUB_READ] = "read subscriptions",
    [PL_AUTHZ_REGISTRATION] = "write a registration",
    [PL_AUTHZ_CONTEXT_ADD] = "add a @context",
    [PL_AUTHZ_CONTEXT_DELETE] = "delete a @context",
    [PL_AUTHZ_PURGE] = "purge entities",
    [PL_AUTHZ_ADMIN] = "administer",
    [PL_AUTHZ_METRICS] = "read the metrics",
};

const char *pl_authz_action_name(enum pl_authz_action a)
{
    return (unsigned)a < PL_AUTHZ_ACTION_COUNT && action_names[a] ? action_names[a] : "act";
}

/* ---------------------------------------------------------------------------------------------
 * Type grants
 * ------------------------------------------------------------------------------------------ */
int pl_authz_type_granted(const char *entry, const char *iri)
{
    if (!entry || !iri || !*entry)
        return 0;
    if (strchr(entry, ':'))
        return strcmp(entry, iri) == 0;
    size_t nv = sizeof PL_DEFAULT_VOCAB - 1;
    if (strncmp(iri, PL_DEFAULT_VOCAB, nv) == 0 && strcmp(iri + nv, entry) == 0)
        return 1;
    const char *slash = strrchr(iri, '/'), *hash = strrchr(iri, '#');
    const char *sep = slash > hash ? slash : hash; /* NULL compares lowest */
    return sep && strcmp(sep + 1, entry) == 0;
}

static int one_type_granted(const struct pl_principal *p, const char *iri)
{
    for (size_t i = 0; iri && i < p->n_types; i++) {
        if (pl_authz_type_granted(p->types[i], iri))
            return 1;
    }
    return 0;
}

int pl_authz_types_granted(const struct pl_principal *p, const json_t *types)
{
    if (!p)
        return 1;
    if (p->n_types == 0)
        return p->role != PL_ROLE_AGENCY;
    if (json_is_string(types))
        return one_type_granted(p, json_string_value(types));
    size_t i;
    const json_t *t;
    json_array_foreach (types, i, t) {
        if (!one_type_granted(p, json_string_value(t)))
            return 0;
    }
    /* An entity without types does not exist in NGSI-LD; no type: nothing to grant. */
    return json_is_array(types) && json_array_size(types) > 0;
}

/* ---------------------------------------------------------------------------------------------
 * Owners
 * ------------------------------------------------------------------------------------------ */
int pl_authz_owner_key(const struct pl_principal *p, char *buf, size_t cap)
{
    if (cap)
        buf[0] = '\0';
    if (!p || p->role == PL_ROLE_PUBLIC || p->cred == PL_CRED_NONE || !p->name[0])
        return -1;
    const char *ns = p->cred == PL_CRED_JWT ? "jwt" : p->cred == PL_CRED_APIKEY ? "apikey" : "user";
    int n = snprintf(buf, cap, "%s:%s", ns, p->name);
    if (n < 0 || (size_t)n >= cap) {
        if (cap)
            buf[0] = '\0';
        return -1;
    }
    return 0;
}

int pl_authz_needs_owner(const struct pl_principal *p)
{
    return p && p->role == PL_ROLE_ENTERPRISE;
}

int pl_authz_is_owner(const struct pl_principal *p, const char *owner)
{
    char key[PL_AUTHZ_OWNER_MAX];
    return owner && pl_authz_owner_key(p, key, sizeof key) == 0 && strcmp(owner, key) == 0;
}

static int is_bound(const struct pl_principal *p, const char *id)
{
    for (size_t i = 0; id && i < p->n_entities; i++) {
        if (strcmp(p->entities[i], id) == 0)
            return 1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * The decision
 * ------------------------------------------------------------------------------------------ */
static int forbid(struct pl_err *err, const struct pl_principal *p, const char *why)
{
    return pl_err_set(err, PL_EFORBIDDEN, "the role '%s' %s", pl_role_name(p->role), why);
}

static int is_entity_action(enum pl_authz_action a)
{
    return a == PL_AUTHZ_CREATE || a == PL_AUTHZ_UPDATE || a == PL_AUTHZ_DELETE ||
           a == PL_AUTHZ_UPSERT;
}

/* The grant of types, on the entity before and after the write. */
static int check_grant(const struct pl_principal *p, const struct pl_authz_target *t,
                       struct pl_err *err)
{
    if (!t) /* route level: an agency without a grant can write nothing */
        return p->role == PL_ROLE_AGENCY && p->n_types == 0
                   ? forbid(err, p, "without a grant of entity types may not write entities")
                   : 0;
    if (!pl_authz_types_granted(p, t->types) ||
        (t->types_after && !pl_authz_types_granted(p, t->types_after)))
        return pl_err_set(err, PL_EFORBIDDEN,
                          "the grant of this credential does not cover the entity's types");
    return 0;
}

static int check_entity(const struct pl_principal *p, enum pl_authz_action a,
                        const struct pl_authz_target *t, struct pl_err *err)
{
    /* The element of an upsert is decided as what it turns out to be; the route level
     * allows what either could. */
    if (a == PL_AUTHZ_UPSERT && t)
        a = PL_AUTHZ_UPDATE;
    switch (p->role) {
    case PL_ROLE_ADMIN:
    case PL_ROLE_OPERATOR:
    case PL_ROLE_AGENCY:
        return check_grant(p, t, err);
    case PL_ROLE_ENTERPRISE:
        if (t && a != PL_AUTHZ_CREATE && !pl_authz_is_owner(p, t->owner))
            return forbid(err, p, "may change only the entities it created");
        return check_grant(p, t, err);
    case PL_ROLE_DEVICE:
        if (a == PL_AUTHZ_CREATE || a == PL_AUTHZ_DELETE)
            return forbid(err, p, "never creates nor deletes entities");
        if (p->n_entities == 0)
            return forbid(err, p, "without bound entities may not write entities");
        if (t && !is_bound(p, t->id))
            return pl_err_set(err, PL_EFORBIDDEN, "this device is not bound to the entity");
        return check_grant(p, t, err);
    case PL_ROLE_PUBLIC:
        break;
    }
    return pl_err_set(err, PL_EUNAUTHORIZED, "authentication required to %s",
                      pl_authz_action_name(a));
}

static int decide(const struct pl_principal *p, const char *tenant, enum pl_authz_action a,
                  const struct pl_authz_target *t, struct pl_err *err)
{
    if (!p || a == PL_AUTHZ_ANONYMOUS)
        return 0;
    /* Said the same way whether the tenant exists or not: nothing about it leaks. */
    if (!pl_principal_in_tenant(p, tenant))
        return pl_err_set(err, PL_EFORBIDDEN, "this credential is not valid for the tenant asked");
    if (a == PL_AUTHZ_READ)
        return 0;
    if (p->role == PL_ROLE_PUBLIC || p->cred == PL_CRED_NONE)
        return pl_err_set(err, PL_EUNAUTHORIZED, "authentication required to %s",
                          pl_authz_action_name(a));
    if (is_entity_action(a))
        return check_entity(p, a, t, err);
    switch (a) {
    case PL_AUTHZ_SUB_CREATE:
    case PL_AUTHZ_SUB_READ:
        return 0;
    case PL_AUTHZ_SUB_MODIFY:
        if (!t || p->role >= PL_ROLE_OPERATOR || pl_authz_is_owner(p, t->owner))
            return 0;
        return forbid(err, p, "may change only the subscriptions it created");
    case PL_AUTHZ_REGISTRATION:
        return p->role >= PL_ROLE_OPERATOR ? 0 : forbid(err, p, "may not write registrations");
    case PL_AUTHZ_CONTEXT_ADD:
        return p->role >= PL_ROLE_ENTERPRISE ? 0 : forbid(err, p, "may not add @contexts");
    case PL_AUTHZ_CONTEXT_DELETE:
    case PL_AUTHZ_PURGE:
    case PL_AUTHZ_ADMIN:
    case PL_AUTHZ_METRICS:
        if (p->role == PL_ROLE_ADMIN)
            return 0;
        return pl_err_set(err, PL_EFORBIDDEN, "only an admin may %s", pl_authz_action_name(a));
    default:
        break;
    }
    return pl_err_set(err, PL_EFORBIDDEN, "not allowed"); /* an action unknown here: deny */
}

int pl_authz_check(const struct pl_principal *p, const char *tenant, enum pl_authz_action a,
                   const struct pl_authz_target *t, struct pl_err *err)
{
    return decide(p, tenant ? tenant : "", a, t, err);
}

int pl_authz_check_item(const struct pl_principal *p, const char *tenant, enum pl_authz_action a,
                        const struct pl_authz_target *t, const char *what, struct pl_err *err)
{
    struct pl_err e;
    pl_err_clear(&e);
    int rc = pl_authz_check(p, tenant, a, t, &e);
    if (rc != 0)
        pl_err_set(err, rc, "%s: %s", what, e.detail);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * The read scope (the role's part; the reads part adds the tenant policy)
 * ------------------------------------------------------------------------------------------ */
void pl_authz_read_scope(const struct pl_principal *p, struct pl_authz_read_scope *s)
{
    memset(s, 0, sizeof *s);
    if (!p || p->role >= PL_ROLE_AGENCY) {
        s->all = 1;
        return;
    }
    if (p->role == PL_ROLE_ENTERPRISE && pl_authz_owner_key(p, s->owner_buf, sizeof s->owner_buf) == 0)
        s->owner = s->owner_buf;
    if (p->role == PL_ROLE_DEVICE) {
        s->ids = (const char *const *)p->entities;
        s->n_ids = p->n_entities;
    }
}
