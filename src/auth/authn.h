/* SPDX-License-Identifier: Apache-2.0 */
/*
 * authn.h — the authentication service of a running server (struct pl_auth, owned by
 * pl_app.auth, opened by main.c with --auth on) and the HTTP front's authenticate hook.
 *
 * The hook (pl_http_config.authenticate) turns each request's credential into r->principal:
 *   no Authorization header (and no session cookie)  -> pl_principal_public()
 *   Authorization: Bearer <API key | Polis access token | external JWT>
 *                                                    -> the verified principal, held for the
 *                                                       request (pl_req_defer)
 *   a refused credential                             -> 401 ProblemDetails,
 *                         WWW-Authenticate: Bearer realm="polis", error="invalid_token"
 *   another scheme (Basic...), a malformed header    -> 401, error="invalid_request"
 *
 * Verified credentials are cached (auth/cache.h) for at most PL_AUTH_CACHE_TTL_MS (and never
 * beyond their own expiry): a request repeating a credential costs one keyed hash and a lookup.
 * A cache miss reads the store, so a key added by the CLI on a running server works at once.
 * Revocation through the admin API drops the cache entries at once; through the CLI on a
 * running server (another process) it takes effect within PL_AUTH_CACHE_TTL_MS.
 */
#ifndef PL_AUTH_AUTHN_H
#define PL_AUTH_AUTHN_H

#include <stdint.h>

#include "base/err.h"

struct pl_store;
struct pl_req;
struct pl_auth_cache;

/* How long a verified credential is trusted without reading the store again. */
#define PL_AUTH_CACHE_TTL_MS 5000

struct pl_auth_config {
    struct pl_store *store; /* borrowed; outlives the service */
    size_t cache_max;       /* most cached credentials (0: 16384) */
    int tls;                /* 1 when the listener is TLS (session cookies get Secure) */
};

struct pl_auth; /* opaque */

int pl_auth_open(const struct pl_auth_config *cfg, struct pl_auth **out, struct pl_err *err);
void pl_auth_close(struct pl_auth *a); /* NULL is a no-op */

/* The credential cache (the JWT verifier caches verified JWTs in it too). */
struct pl_auth_cache *pl_auth_cache_of(struct pl_auth *a);
struct pl_store *pl_auth_store(struct pl_auth *a);

/* The authenticate hook (pl_http_config.authenticate): reads r->app->auth. */
int pl_auth_authenticate(struct pl_req *r);

/* Answers 401 with WWW-Authenticate (error NULL: none; "invalid_token", "invalid_request")
 * and a ProblemDetails saying `detail`. Returns 1 (the hook's "answered"). */
int pl_auth_reply_401(struct pl_req *r, const char *error, const char *detail);

/* Drops the cached credentials of principal `name` ("key:<id>", a user name): revocation. */
void pl_auth_forget(struct pl_auth *a, const char *name);

#endif
