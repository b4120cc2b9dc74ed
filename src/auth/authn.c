/* SPDX-License-Identifier: Apache-2.0 */
/* authn.c — the authentication service and the authenticate hook (authn.h). */
#include "auth/authn_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "auth/apikey.h"
#include "auth/auth.h"
#include "auth/cache.h"
#include "auth/credparse.h"
#include "auth/jwt.h"
#include "auth/user.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "http/http.h"

int pl_auth_open(const struct pl_auth_config *cfg, struct pl_auth **out, struct pl_err *err)
{
    *out = NULL;
    if (sodium_init() < 0)
        return pl_err_set(err, PL_EINTERNAL, "libsodium did not initialize");
    struct pl_auth *a = calloc(1, sizeof *a);
    if (!a)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    a->store = cfg->store;
    a->tls = cfg->tls;
    a->access_ttl_s = cfg->access_ttl_s > 0 ? cfg->access_ttl_s : 900;
    a->refresh_ttl_s = cfg->refresh_ttl_s > 0 ? cfg->refresh_ttl_s : 14 * 86400;
    a->session_ttl_s = cfg->session_ttl_s > 0 ? cfg->session_ttl_s : 8 * 3600;
    int rc = pl_token_secret_load(a->store, a->key, err);
    if (rc) {
        free(a);
        return rc;
    }
    a->cache = pl_auth_cache_new(cfg->cache_max);
    if (!a->cache || pl_auth__workers_start(a) != 0) {
        pl_auth_cache_free(a->cache);
        sodium_memzero(a->key, sizeof a->key);
        free(a);
        return pl_err_set(err, PL_ENOMEM, "cannot start the authentication service");
    }
    *out = a;
    return 0;
}

int pl_auth_tls(const struct pl_auth *a)
{
    return a->tls;
}

void pl_auth_close(struct pl_auth *a)
{
    if (!a)
        return;
    pl_auth__workers_stop(a);
    pl_auth_cache_free(a->cache);
    sodium_memzero(a->key, sizeof a->key);
    free(a);
}

struct pl_auth_cache *pl_auth_cache_of(struct pl_auth *a)
{
    return a->cache;
}

struct pl_store *pl_auth_store(struct pl_auth *a)
{
    return a->store;
}

void pl_auth_forget(struct pl_auth *a, const char *name)
{
    if (a)
        pl_auth_cache_forget(a->cache, name);
}

int pl_auth_reply_401(struct pl_req *r, const char *error, const char *detail)
{
    pl_reply_error(r, PL_EUNAUTHORIZED, "%s", detail);
    char v[96];
    snprintf(v, sizeof v, "Bearer realm=\"polis\"%s%s%s", error ? ", error=\"" : "",
             error ? error : "", error ? "\"" : "");
    pl_req_add_header(r, "WWW-Authenticate", v); /* after the reply: it drops earlier headers */
    return 1;
}

static void unref_cb(void *p)
{
    pl_principal_unref(p);
}

/* An external JWT of the identity provider (auth/jwt.h), verified offline; without --jwks
 * every such token is refused. */
static int verify_external_jwt(struct pl_jwt *jwt, const char *tok, size_t len, int64_t now,
                               struct pl_principal **p, int64_t *exp, struct pl_err *err)
{
    if (!jwt)
        return pl_err_set(err, PL_EUNAUTHORIZED,
                          "external JWTs are not accepted (no identity provider keys configured)");
    time_t e = 0;
    int rc = pl_jwt_verify(jwt, tok, len, (time_t)(now / 1000), p, &e, err);
    if (rc == 0)
        *exp = (int64_t)e * 1000; /* cached until then at most (the caller's clamp applies) */
    return rc;
}

/* Verifies a bearer credential not found in the cache. 0 and *p, *exp; PL_EUNAUTHORIZED; or
 * another error (store). */
static int verify_bearer(struct pl_auth *a, struct pl_jwt *jwt, const char *tok, size_t len,
                         int64_t now, struct pl_principal **p, int64_t *exp, struct pl_err *err)
{
    if (pl_apikey_looks_like(tok, len))
        return pl_apikey_verify(a->store, tok, len, now, p, exp, err);
    if (pl_token_is_polis(tok, len)) {
        /* A Polis access token names its user, who must still exist (a deleted user's tokens
         * stop working within the cache lifetime; at once through the admin API). */
        char sub[PL_PRINCIPAL_NAME_MAX];
        int rc = pl_token_verify(a->key, tok, len, now, sub, sizeof sub, exp, err);
        return rc ? rc : pl_user_principal(a->store, sub, p, err);
    }
    /* Any other compact JWS is an external JWT of the identity provider. */
    if (pl_jwt_is_compact(tok, len))
        return verify_external_jwt(jwt, tok, len, now, p, exp, err);
    return pl_err_set(err, PL_EUNAUTHORIZED, "the bearer credential is invalid, expired or revoked");
}

int pl_auth_authenticate(struct pl_req *r)
{
    struct pl_auth *a = r->app->auth;
    const char *tok;
    size_t len;
    enum pl_authz_hdr h = pl_auth_header_parse(pl_req_header(r, "Authorization"), &tok, &len);
    if (h == PL_AUTHZ_NONE) {
        struct pl_principal *sp = NULL;
        int rc = pl_auth__session(a, r, &sp);
        if (rc == 1)
            return 1;
        if (rc == 0) {
            pl_req_defer(r, unref_cb, sp);
            r->principal = sp;
        } else {
            r->principal = pl_principal_public();
        }
        return 0;
    }
    if (h == PL_AUTHZ_OTHER)
        return pl_auth_reply_401(r, "invalid_request",
                                 "only the Bearer authentication scheme is accepted");
    if (h == PL_AUTHZ_MALFORMED)
        return pl_auth_reply_401(r, "invalid_token", "malformed or oversized bearer credential");
    int64_t now = pl_time_now_ms();
    struct pl_principal *p = pl_auth_cache_get(a->cache, tok, len, now);
    if (!p) {
        struct pl_err err;
        pl_err_clear(&err);
        int64_t exp = INT64_MAX;
        int rc = verify_bearer(a, r->app->jwt, tok, len, now, &p, &exp, &err);
        if (rc == PL_EUNAUTHORIZED)
            return pl_auth_reply_401(r, "invalid_token", err.detail);
        if (rc) {
            pl_log_warn("auth: cannot verify a credential: %s", err.detail);
            pl_reply_problem(r, &err);
            return 1;
        }
        int64_t until = now + PL_AUTH_CACHE_TTL_MS;
        pl_auth_cache_put(a->cache, tok, len, p, exp < until ? exp : until);
    }
    pl_req_defer(r, unref_cb, p);
    r->principal = p;
    return 0;
}
