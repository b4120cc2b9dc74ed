/* SPDX-License-Identifier: Apache-2.0 */
/*
 * read.h — what a principal may READ (issue 12, part "reads"; docs/security.md "What each role
 * may read").
 *
 * Each tenant has a READ POLICY, set by an admin (PUT /polis/v1/tenants/{tenant}/policy):
 *
 *   {"openTypes": ["AirQualityObserved", "https://smartdatamodels.org/.../ParkingSpot"],
 *    "privateAttributes": ["email", {"type": "ServiceRequest", "attributes": ["phone"]}]}
 *
 *  - openTypes: the entity types on the tenant's open-data list, which the public may read;
 *  - privateAttributes: attributes nobody reads but the roles that read the whole tenant (and an
 *    entity's owner or bound device): a string applies to every type, an object to the entities
 *    of one type.
 * A name is matched as the authorization part matches type grants (pl_authz_type_granted): a
 * name with ':' is an IRI and matches itself; a term matches its default-context IRI and any
 * IRI whose local name (after the last '/' or '#') it is. No policy: the public reads nothing
 * of that tenant.
 *
 * The rule (struct pl_read_scope, one per request, made by pl_read_scope_init):
 *   no principal (auth off), admin, operator, agency of the tenant: everything of the tenant;
 *   public: the entities of an open type, without their private attributes;
 *   enterprise: what the public may read, and the entities it owns, in full;
 *   device: what the public may read, and the entities it is bound to, in full;
 *   a principal of another tenant: nothing.
 * The scope is what every reader applies: GET by id (404 for what it may not read), queries (in
 * the store query: struct pl_store_read, so limit/offset and counts see only readable
 * entities), /types and /attributes, the temporal API, Linked Entity Retrieval, and — through
 * pl_read_scope_init with the subscription owner's principal — notifications.
 *
 * Policies are few: all of them are loaded at start and cached (struct pl_read_policies, owned
 * by struct pl_app), so a read never costs a store round trip for them. A compiled policy is
 * immutable and reference counted: a PUT swaps it while requests finish with the old one.
 */
#ifndef PL_AUTH_READ_H
#define PL_AUTH_READ_H

#include <jansson.h>
#include <stddef.h>

#include "auth/auth.h"
#include "auth/authz.h"
#include "base/err.h"
#include "store/store.h"

/* Limits of a policy document (larger: BadRequestData). */
#define PL_READ_POLICY_MAX_NAMES 512 /* openTypes, and attribute names over privateAttributes */
#define PL_READ_POLICY_MAX_NAME  1024 /* bytes of one name */

/* The path segment naming the default tenant in /polis/v1/tenants/{tenant}/policy. */
#define PL_READ_DEFAULT_TENANT "-"

struct pl_read_policy;   /* one tenant's compiled policy (immutable, reference counted) */
struct pl_read_policies; /* every tenant's, cached */

/*
 * Validates a policy document and compiles it. Returns 0 and *out (a NEW reference), or
 * PL_EBADREQUESTDATA with a detail naming the member at fault (not an object, unknown member,
 * not an array, not a name, too many names), or PL_ENOMEM.
 */
int pl_read_policy_parse(const json_t *doc, struct pl_read_policy **out, struct pl_err *err);
/* The policy as it is served by GET (normalized: both members present). Borrowed. */
const json_t *pl_read_policy_doc(const struct pl_read_policy *p);
struct pl_read_policy *pl_read_policy_ref(struct pl_read_policy *p);
void pl_read_policy_unref(struct pl_read_policy *p); /* NULL ignored */

/* Loads every tenant's policy from the store (a corrupt one is logged and ignored: that tenant
 * then opens nothing). Returns 0 and *out, or the store's error. */
int pl_read_policies_open(struct pl_store *s, struct pl_read_policies **out, struct pl_err *err);
void pl_read_policies_free(struct pl_read_policies *c); /* NULL ignored */
/* The policy of `tenant` ("" default): a NEW reference, or NULL when it has none. */
struct pl_read_policy *pl_read_policies_get(struct pl_read_policies *c, const char *tenant);
/* Validates `doc`, stores it (through the writer) and then caches it. 0, or
 * PL_EBADREQUESTDATA (validation) / a store error, nothing changed. */
int pl_read_policies_put(struct pl_read_policies *c, const char *tenant, const json_t *doc,
                         struct pl_err *err);

/* ------------------------------------------------------------------------------------------
 * The read scope of one principal in one tenant.
 * ---------------------------------------------------------------------------------------- */

/* Whether an entity is owned by `owner` (the authorization part's record); 1 or 0. */
typedef int (*pl_read_owner_fn)(void *ud, const char *tenant, const char *id, const char *owner);

struct pl_read_scope {
    int all;                       /* 1: everything of the tenant (the rest is unused) */
    struct pl_read_policy *policy; /* the tenant's policy (own reference), NULL: none */
    const char *tenant;            /* borrowed */
    const char *owner;             /* enterprise: its owner key (in `role`) */
    const char *const *ids;        /* device: the entities it is bound to (borrowed) */
    size_t n_ids;
    pl_read_owner_fn is_owner; /* how to tell ownership of one entity (NULL: never owned) */
    void *is_owner_ud;
    struct pl_store_read store; /* the same rule for the store query */
    struct pl_authz_read_scope role; /* what the role decides (auth/authz.h) */
};
/* (A scope points into itself: never copy one, pass pointers.) */

/*
 * Fills *s for principal `p` (NULL: auth off, everything) reading `tenant`. Borrows p and
 * `tenant` for the scope's life; takes a policy reference from `c` (may be NULL: no policies).
 * Dispose with pl_read_scope_dispose.
 */
void pl_read_scope_init(struct pl_read_scope *s, struct pl_read_policies *c,
                        const struct pl_principal *p, const char *tenant);
void pl_read_scope_dispose(struct pl_read_scope *s);

/* The store query's restriction: NULL when the scope reads everything (borrowed from s). */
const struct pl_store_read *pl_read_scope_store(const struct pl_read_scope *s);

/* 1 when an entity of type `type_iri` is on the open-data list. */
int pl_read_scope_type_open(const struct pl_read_scope *s, const char *type_iri);

/* How much of one entity the scope reads. */
enum pl_read_level {
    PL_READ_NONE = 0, /* nothing: it does not exist for this principal */
    PL_READ_OPEN,     /* an open-data entity: without its private attributes */
    PL_READ_FULL      /* all of it */
};
/* The level for the entity `id` with types `types` (a JSON array of IRIs, as stored). Asks the
 * is_owner callback only for an enterprise, and only when no cheaper answer exists. */
enum pl_read_level pl_read_scope_level(const struct pl_read_scope *s, const char *id,
                                       const json_t *types);
/* The same for an internal-form entity. */
enum pl_read_level pl_read_scope_entity(const struct pl_read_scope *s, const json_t *entity);

/* 1 when attribute `attr_iri` of an entity of `types` is private (read at PL_READ_OPEN). */
int pl_read_scope_attr_private(const struct pl_read_scope *s, const json_t *types,
                               const char *attr_iri);
/* 1 when `attr_iri` is private for some type (a query must not filter or sort on it). */
int pl_read_scope_attr_private_any(const struct pl_read_scope *s, const char *attr_iri);
/* Removes the private attributes from an internal-form entity (modified in place; the caller
 * owns it). Returns the number removed. */
size_t pl_read_scope_strip(const struct pl_read_scope *s, json_t *entity);
/* A cheap, conservative test on stored text: 0 when it certainly holds no private attribute
 * (then the text can be rendered as it is), 1 when it may. */
int pl_read_scope_may_hide(const struct pl_read_scope *s, const char *text, size_t len);
/* 1 when the policy names any private attribute at all. */
int pl_read_scope_has_private(const struct pl_read_scope *s);

/*
 * For subscriptions (the "tenants" part): what a notification for the subscription owner `p`
 * may carry from an entity. Returns NULL when the owner may not read `entity` at all; otherwise
 * a NEW reference to what it may read: `entity` itself (incref'd) when nothing is hidden, or a
 * copy without the private attributes. `entity` is borrowed.
 */
json_t *pl_read_scope_view(const struct pl_read_scope *s, const json_t *entity);

#endif
