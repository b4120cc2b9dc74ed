/* SPDX-License-Identifier: Apache-2.0 */
/*
 * owner.h — owners of the resources a principal creates and keeps secrets in (subscriptions now;
 * registrations when they exist): the owner recorded at creation, kept with the stored resource
 * as a JSON snapshot of the principal as it was then, and the rules for who may see the
 * resource's secrets and who may change or delete it (docs/security.md "Tenants and secrets").
 *
 * Every function treats a NULL principal (auth off) as "allowed": with --auth off nothing is
 * redacted and everyone may do everything, as before issue 12. A resource without an owner
 * (created with auth off, or before owners were recorded) is owned by nobody: only admins and
 * operators of its tenant see its secrets and may change it.
 */
#ifndef PL_AUTH_OWNER_H
#define PL_AUTH_OWNER_H

#include <jansson.h>

#include "auth/auth.h"

/* A NEW principal equal to `p` (role, credential kind, name, tenant, types, entities): the
 * owner snapshot. NULL when p is NULL or out of memory. */
struct pl_principal *pl_principal_copy(const struct pl_principal *p);

/* The snapshot as JSON {"name","role","cred","tenant" ("*": all tenants),"types","entities"}
 * (NEW reference; NULL when p is NULL or out of memory) and back (NULL when malformed). */
json_t *pl_principal_to_json(const struct pl_principal *p);
struct pl_principal *pl_principal_from_json(const json_t *j);

/* 1 when `p` is the owner: same non-empty name in the same name space (a user, whether by
 * token or session cookie; a JWT subject; an API key): user "bob" and JWT subject "bob" are
 * different principals. */
int pl_owner_is(const struct pl_principal *owner, const struct pl_principal *p);

/* 1 when `p` may see the secrets of a resource of `owner`: the owner and admins. */
int pl_owner_may_see_secrets(const struct pl_principal *owner, const struct pl_principal *p);

/* 1 when `p` may change or delete a resource of `owner` in `tenant`: the owner, operators of
 * that tenant and admins. (Whether p may touch the tenant at all is authz's, checked before.) */
int pl_owner_may_modify(const struct pl_principal *owner, const struct pl_principal *p,
                        const char *tenant);

/* 1 when `p` may change where a resource of `owner` sends data and credentials (a
 * subscription's endpoint): only the owner and admins, so that nobody re-points another's
 * subscription to an endpoint of their own. */
int pl_owner_may_repoint(const struct pl_principal *owner, const struct pl_principal *p);

#endif
