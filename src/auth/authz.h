/* SPDX-License-Identifier: Apache-2.0 */
/*
 * authz.h — who may do what: the pure decision rules of issue 12 (no I/O, no locks), used by
 * the route access table (api/access.c), the write paths (entities, batches, temporal API,
 * @contexts, subscriptions) and the readers. docs/security.md "Roles and grants" is the prose
 * version of this file.
 *
 * Every rule answers 0 (allow) or an error with `err` filled:
 *   PL_EUNAUTHORIZED  the public principal (no credential) asked for something a credential
 *                     could allow: authentication would help (401 + WWW-Authenticate);
 *   PL_EFORBIDDEN     an authenticated principal whose role, tenant, grant, ownership or
 *                     bindings do not allow it (403).
 * Details name the role and the rule, never an entity's owner, another tenant's name or data,
 * nor whether something exists elsewhere.
 *
 * A NULL principal is "authorization off" (--auth off): everything is allowed, as before
 * issue 12.
 *
 * The role table (issue 12), per tenant:
 *   admin       everything (users, keys, tenants, @context deletion, purge, /metrics)
 *   operator    read and write every entity, subscription, registration, temporal resource of
 *               its tenant
 *   agency      read all of its tenant; create, update and delete only entities whose types are
 *               ALL in its grant (principal.types), before AND after the write, so a write can
 *               neither retype an entity out of the grant nor pull one into it
 *   enterprise  create entities (it becomes their owner), then update and delete only the
 *               entities it owns
 *   device      update only the entities it is bound to (principal.entities); never creates
 *               nor deletes entities (nor their history)
 *   public      read only (what it may read: the tenant's open-data list, see the read scope)
 * A grant of types (principal.types, an API key's --types) narrows the entity writes of EVERY
 * role that has one, admins included: a key scoped to types is scoped. An agency without a
 * grant writes nothing.
 *
 * Matching a grant entry against an expanded type IRI (pl_authz_type_granted):
 *   - an entry with ':' is an IRI and matches that IRI exactly;
 *   - an entry without ':' is a term: it matches the IRI it expands to with the default
 *     context (PL_DEFAULT_VOCAB + entry, e.g. https://uri.etsi.org/ngsi-ld/default-context/
 *     TrafficFlowObserved) OR any IRI whose local name (after the last '/' or '#') is the
 *     entry (so "TrafficFlowObserved" also matches the Smart Data Models IRI
 *     https://smartdatamodels.org/dataModel.Transportation/TrafficFlowObserved). Grant IRIs
 *     when two vocabularies of a tenant share a local name.
 */
#ifndef PL_AUTH_AUTHZ_H
#define PL_AUTH_AUTHZ_H

#include <jansson.h>
#include <stddef.h>

#include "auth/auth.h"
#include "base/err.h"

/* What is being done. The entity actions (CREATE..DELETE) take a target (below); the others
 * are decided on the principal, its tenant and the role alone. */
enum pl_authz_action {
    PL_AUTHZ_ANONYMOUS = 0, /* /health, /version, /auth/token: no check at all */
    PL_AUTHZ_READ,          /* reads of entities, types, attributes, history, @contexts: every
                               principal of the tenant (and the public); WHAT it sees is the
                               read scope (pl_authz_read_scope, the reads part) */
    PL_AUTHZ_CREATE,        /* create an entity (POST /entities, batch create, an upsert or a
                               temporal create of a new one) */
    PL_AUTHZ_UPDATE,        /* change an existing entity (replace, merge, attribute writes,
                               batch update/merge/upsert, temporal instances appended) */
    PL_AUTHZ_DELETE,        /* delete an entity, or edit or delete its history */
    PL_AUTHZ_UPSERT,        /* route level only: batch upsert (each element is then decided
                               as CREATE or UPDATE) */
    PL_AUTHZ_SUB_CREATE,    /* create a subscription: a subscription is a standing read, so
                               every authenticated principal of the tenant may (the public
                               may not: a subscription needs an owner who answers for it) */
    PL_AUTHZ_SUB_MODIFY,    /* patch or delete a subscription: its owner, operators, admins
                               (the owner test is the tenants part's, auth/owner.h) */
    PL_AUTHZ_SUB_READ,      /* list or get subscriptions: every authenticated principal of the
                               tenant (what it sees, secrets redacted, is the tenants part's);
                               not the public: subscriptions name endpoints and owners */
    PL_AUTHZ_REGISTRATION,  /* context source registrations (write): operators and admins */
    PL_AUTHZ_CONTEXT_ADD,   /* POST /jsonldContexts: roles that write entities (admin,
                               operator, agency, enterprise), not devices nor the public */
    PL_AUTHZ_CONTEXT_DELETE,/* DELETE /jsonldContexts/{id}: admin (contexts are shared by
                               every tenant) */
    PL_AUTHZ_PURGE,         /* DELETE /entities (purge): admin */
    PL_AUTHZ_ADMIN,         /* /polis/v1/ (users, keys, tenants, policies, audit): admin */
    PL_AUTHZ_METRICS,       /* /metrics: admin (it spans every tenant: subscriptions' delivery
                               errors, store counters) */
    PL_AUTHZ_ACTION_COUNT
};

/* "read", "create", ... (static; for audit lines and test names). */
const char *pl_authz_action_name(enum pl_authz_action a);

/* The entity an entity action is about. `types` are expanded type IRIs (a JSON string or an
 * array of strings, as in the internal form, ngsild/entity.h; borrowed). */
struct pl_authz_target {
    const char *id;            /* entity id (device bindings) */
    const json_t *types;       /* CREATE: the new entity's types; UPDATE/DELETE: the stored
                                  entity's types (before the write) */
    const json_t *types_after; /* UPDATE: the types after the write (NULL: unchanged) */
    const char *owner;         /* UPDATE/DELETE: the recorded owner key (pl_authz_owner_key)
                                  of the stored entity, NULL when it has none */
};

/*
 * The decision. `tenant` is the request's NGSILD-Tenant ("" default). `t` may be NULL for the
 * route-level pre-check of an entity action ("could this principal do this to SOME entity of
 * the tenant?": e.g. a device may never CREATE, the public never writes); the handler then
 * decides again for each entity with its target. Returns 0, PL_EUNAUTHORIZED or
 * PL_EFORBIDDEN (err filled).
 */
int pl_authz_check(const struct pl_principal *p, const char *tenant, enum pl_authz_action a,
                   const struct pl_authz_target *t, struct pl_err *err);

/* The same, with the detail prefixed by `what` (e.g. "element 3"), for batch elements. */
int pl_authz_check_item(const struct pl_principal *p, const char *tenant, enum pl_authz_action a,
                        const struct pl_authz_target *t, const char *what, struct pl_err *err);

/* 1 when grant entry `entry` matches the expanded type IRI `iri` (rules above). */
int pl_authz_type_granted(const char *entry, const char *iri);

/* 1 when every type of `types` (string or array; NULL or empty: none) is granted to `p` (no
 * grant at all: 1, except for an agency, whose grant is what it may write: 0). */
int pl_authz_types_granted(const struct pl_principal *p, const json_t *types);

/*
 * Ownership. The owner key of a principal names it in its name space, so that a local user and
 * a JWT subject of the same name are different owners: "user:<name>" (Polis access token or
 * session cookie), "jwt:<sub>" (the city's identity provider), "apikey:<name>" (an API key,
 * whose name is "key:<id>"). The store records it for each entity at creation (store.h
 * pl_store_write.owner). Writes `buf` (NUL-terminated) and returns 0; -1 when the principal
 * has no identity to own with (NULL, the public) or the key does not fit.
 */
#define PL_AUTHZ_OWNER_MAX (16 + PL_PRINCIPAL_NAME_MAX)
int pl_authz_owner_key(const struct pl_principal *p, char *buf, size_t cap);

/* 1 when deciding for `p` needs the entity's recorded owner (an enterprise): the others are
 * decided without reading it. */
int pl_authz_needs_owner(const struct pl_principal *p);

/* 1 when `owner` (an owner key, NULL: none) is `p`'s. */
int pl_authz_is_owner(const struct pl_principal *p, const char *owner);

/*
 * The READ side belongs to the reads part (docs/security.md; auth/read.h): this is only the
 * part decided by the role. Filled by pl_authz_read_scope; the reads part adds the tenant's
 * policy (open-data types, private attributes) on top:
 *   all        1: may read every entity and attribute of the tenant (auth off, admin, operator,
 *              agency). 0: only what the tenant's policy opens to the public, plus `owner`'s
 *              entities (enterprise) and `ids` (a device's bindings); private attributes hidden.
 *   owner      enterprise: its owner key (points into `owner_buf`), else NULL
 *   ids/n_ids  device: its bindings (borrowed from the principal), else none
 * pl_authz_read_scope does not check the tenant: the route phase did (403 before any read).
 */
struct pl_authz_read_scope {
    int all;
    const char *owner;
    const char *const *ids;
    size_t n_ids;
    char owner_buf[PL_AUTHZ_OWNER_MAX];
};
void pl_authz_read_scope(const struct pl_principal *p, struct pl_authz_read_scope *s);

#endif
