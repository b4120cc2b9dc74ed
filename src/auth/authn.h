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

#include "auth/auth.h"
#include "auth/credparse.h"
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
    int access_ttl_s;       /* access token lifetime (0: 900 s) */
    int refresh_ttl_s;      /* refresh token lifetime (0: 14 days) */
    int session_ttl_s;      /* browser session lifetime (0: 8 hours) */
};

/* The session cookie's name and the header that carries its CSRF token. */
#define PL_AUTH_SESSION_COOKIE "polis_session"
#define PL_AUTH_CSRF_HEADER    "X-CSRF-Token"

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

/* 1 when the listener is TLS (cookies get Secure). */
int pl_auth_tls(const struct pl_auth *a);

/* ------------------------------------------------------------------------------------------
 * Log-ins (login.c). Argon2id is slow on purpose (about 0.1 s and 64 MiB a hash): log-ins run
 * on PL_AUTH_WORKERS threads of their own, never on a network thread; the request is suspended
 * meanwhile. A full queue answers 429 at once.
 * ---------------------------------------------------------------------------------------- */
struct pl_auth_job {
    void (*run)(struct pl_auth_job *j); /* runs on a log-in worker */
    struct pl_req *r;                   /* resumed (pl_req_resume) once run returned */
    struct pl_auth_job *next_;          /* private */
};
/* Queues j: 0, or PL_ETOOMANYREQUESTS when too many log-ins wait. */
int pl_auth_submit(struct pl_auth *a, struct pl_auth_job *j, struct pl_err *err);

/* What a successful log-in hands out. */
struct pl_auth_grant {
    char *access_token;                    /* NEW malloc'd (grants) */
    int expires_in;                        /* seconds: the access token's, or the session's */
    char refresh_token[PL_APIKEY_LEN + 1]; /* "plr_<id>_<secret>" (grants) */
    char session[PL_APIKEY_LEN + 1];       /* "pls_<id>_<secret>" (sessions: the cookie) */
    char csrf_token[44];                   /* sessions: X-CSRF-Token of state changes */
    char user[PL_PRINCIPAL_NAME_MAX];      /* who logged in */
};
void pl_auth_grant_clear(struct pl_auth_grant *g);

/* RFC 6749 4.3: user name and password. PL_EUNAUTHORIZED: unknown user or wrong password (the
 * same answer and cost for both). Slow: call from a job. */
int pl_auth_password_grant(struct pl_auth *a, const char *user, const char *password,
                           struct pl_auth_grant *g, struct pl_err *err);
/* RFC 6749 6: a refresh token, used once (rotated: a new one is returned). PL_EUNAUTHORIZED:
 * unknown, used, expired, or its user deleted. */
int pl_auth_refresh_grant(struct pl_auth *a, const char *refresh, struct pl_auth_grant *g,
                          struct pl_err *err);
/* A browser session for a user name and password (the cookie and its CSRF token). */
int pl_auth_session_open(struct pl_auth *a, const char *user, const char *password,
                         struct pl_auth_grant *g, struct pl_err *err);
/* Ends the session of cookie value `cookie` (logout); unknown sessions are fine. */
void pl_auth_session_close(struct pl_auth *a, const char *cookie, size_t len);

/* Drops the cached credentials of principal `name` ("key:<id>", a user name): revocation. */
void pl_auth_forget(struct pl_auth *a, const char *name);

#endif
