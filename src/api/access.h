/* SPDX-License-Identifier: Apache-2.0 */
/*
 * access.h — the route access table (issue 12): what every route of api/routes.c requires,
 * checked in ONE place, the authorize phase of the HTTP front (pl_http_config.authorize), after
 * authentication and before the handler reads or writes anything. So a principal of another
 * tenant gets 403 on every route before any data is touched, the public gets 401 on every
 * write, and the admin-only routes answer 403 to everyone else.
 *
 * The table is keyed by handler (api/access.c), so routes.c stays a plain list; a route whose
 * handler is not in the table is decided by its path: /auth/... anonymous, /polis/v1/... admin,
 * any other GET a read, anything else admin only (a route nobody classified is never open).
 *
 * The per-entity decisions (grants, owners, bindings) are the handlers', with auth/authz.h.
 */
#ifndef PL_API_ACCESS_H
#define PL_API_ACCESS_H

#include "auth/authz.h"
#include "http/http.h"

/* The authorize phase: 0 to go on, 1 after answering 401/403. NULL principal (auth off): 0. */
int pl_api_authorize(struct pl_req *r);

/* The action a route requires (exposed for tests and the audit log). */
enum pl_authz_action pl_api_route_action(const struct pl_route *rt);

/* Answers the ProblemDetails of an authorization failure: a 401 also carries
 * `WWW-Authenticate: Bearer realm="polis"`. Returns PL_HANDLER_DONE. */
int pl_api_deny(struct pl_req *r, const struct pl_err *e);

/* The owner key of the request's principal (pl_authz_owner_key), for the store to record with
 * an entity this request creates: a string released with the request, NULL when there is no
 * one to own it (auth off, the public). */
const char *pl_api_owner_key(struct pl_req *r);

#endif
