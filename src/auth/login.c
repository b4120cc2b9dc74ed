/* SPDX-License-Identifier: Apache-2.0 */
/*
 * login.c — log-ins (authn.h "Log-ins"): the worker threads that run them, the password and
 * refresh-token grants of POST /auth/token, browser sessions and their CSRF tokens.
 *
 * Refresh tokens and sessions are opaque random texts ("plr_<id>_<secret>",
 * "pls_<id>_<secret>") stored as records of kind "refresh" / "session" owned by their user
 * (so deleting the user deletes them), with only the BLAKE2b hash of the text. A refresh token
 * is used once: the grant deletes its record through the store's writer, so of two concurrent
 * uses exactly one finds it (the other gets PL_ENOTFOUND: invalid_grant).
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "auth/authn_int.h"
#include "auth/cache.h"
#include "auth/user.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "http/http.h"
#include "store/store.h"

#define KIND_REFRESH "refresh"
#define KIND_SESSION "session"

/* ---- workers ---------------------------------------------------------------------------- */

static void *worker_main(void *arg)
{
    struct pl_auth *a = arg;
    pthread_setname_np(pthread_self(), "pl-login");
    pthread_mutex_lock(&a->mu);
    for (;;) {
        while (!a->head && !a->stopping)
            pthread_cond_wait(&a->cv, &a->mu);
        if (!a->head)
            break; /* stopping and drained */
        struct pl_auth_job *j = a->head;
        a->head = j->next_;
        if (!a->head)
            a->tail = NULL;
        a->queued--;
        pthread_mutex_unlock(&a->mu);
        struct pl_req *r = j->r;
        j->run(j);
        pl_req_resume(r);
        pthread_mutex_lock(&a->mu);
    }
    pthread_mutex_unlock(&a->mu);
    return NULL;
}

int pl_auth__workers_start(struct pl_auth *a)
{
    pthread_mutex_init(&a->mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    for (int i = 0; i < PL_AUTH_WORKERS; i++) {
        if (pthread_create(&a->workers[i], NULL, worker_main, a) != 0)
            break;
        a->n_workers++;
    }
    return a->n_workers ? 0 : -1;
}

void pl_auth__workers_stop(struct pl_auth *a)
{
    pthread_mutex_lock(&a->mu);
    a->stopping = 1;
    pthread_cond_broadcast(&a->cv);
    pthread_mutex_unlock(&a->mu);
    for (int i = 0; i < a->n_workers; i++)
        pthread_join(a->workers[i], NULL);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->mu);
}

int pl_auth_submit(struct pl_auth *a, struct pl_auth_job *j, struct pl_err *err)
{
    pthread_mutex_lock(&a->mu);
    if (a->queued >= PL_AUTH_QUEUE_MAX || a->stopping) {
        pthread_mutex_unlock(&a->mu);
        return pl_err_set(err, PL_ETOOMANYREQUESTS, "too many log-ins at once: retry shortly");
    }
    j->next_ = NULL;
    if (a->tail)
        a->tail->next_ = j;
    else
        a->head = j;
    a->tail = j;
    a->queued++;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    return 0;
}

/* ---- grants ----------------------------------------------------------------------------- */

void pl_auth_grant_clear(struct pl_auth_grant *g)
{
    if (g->access_token) {
        sodium_memzero(g->access_token, strlen(g->access_token));
        free(g->access_token);
    }
    sodium_memzero(g, sizeof *g);
}

/* Stores a new opaque token of `kind` for `user`, valid ttl_s; text into out. */
static int opaque_put(struct pl_auth *a, const char *kind, const char *prefix, const char *user,
                      int ttl_s, char *out, struct pl_err *err)
{
    char id[PL_APIKEY_ID_LEN + 1], hash[65];
    int64_t now = pl_time_now_ms();
    char created[PL_TIME_ISO_LEN], expires[PL_TIME_ISO_LEN];
    pl_time_format(now, created);
    pl_time_format(now + (int64_t)ttl_s * 1000, expires);
    for (int attempt = 0; attempt < 4; attempt++) {
        pl_opaque_token_new(prefix, out, id, hash);
        json_t *rec = json_pack("{s:s,s:s,s:s,s:s,s:s}", "id", id, "hash", hash, "user", user,
                                "expiresAt", expires, "createdAt", created);
        if (!rec)
            return pl_err_set(err, PL_ENOMEM, "out of memory");
        int rc = pl_store_cred_put(a->store, kind, id, user, rec, 1, err);
        json_decref(rec);
        if (rc != PL_EALREADYEXISTS)
            return rc;
    }
    return pl_err_set(err, PL_EINTERNAL, "could not draw an unused token id");
}

/* Reads the record of opaque token `text` of `kind` and checks hash and expiry: 0 and *rec
 * (NEW), PL_EUNAUTHORIZED, or a store error. */
static int opaque_get(struct pl_auth *a, const char *kind, const char *prefix, const char *text,
                      size_t len, json_t **rec, char *id, struct pl_err *err)
{
    *rec = NULL;
    if (pl_opaque_token_parse(prefix, text, len, id) != 0)
        return pl_err_set(err, PL_EUNAUTHORIZED, "invalid token");
    json_t *r = NULL;
    int rc = pl_store_cred_get(a->store, kind, id, &r, err);
    if (rc == PL_ENOTFOUND)
        return pl_err_set(err, PL_EUNAUTHORIZED, "invalid token");
    if (rc)
        return rc;
    char hash[65];
    pl_opaque_token_hash(text, len, hash);
    const char *stored = json_string_value(json_object_get(r, "hash"));
    const char *exp_s = json_string_value(json_object_get(r, "expiresAt"));
    int64_t exp = 0;
    if (!stored || strlen(stored) != 64 || sodium_memcmp(stored, hash, 64) != 0 || !exp_s ||
        pl_time_parse(exp_s, &exp) != 0 || exp <= pl_time_now_ms() ||
        !json_is_string(json_object_get(r, "user"))) {
        json_decref(r);
        return pl_err_set(err, PL_EUNAUTHORIZED, "invalid token");
    }
    *rec = r;
    return 0;
}

/* Access and refresh tokens for principal p. */
static int issue(struct pl_auth *a, const struct pl_principal *p, struct pl_auth_grant *g,
                 struct pl_err *err)
{
    snprintf(g->user, sizeof g->user, "%s", p->name);
    g->access_token = pl_token_sign(a->key, p, pl_time_now_ms(), a->access_ttl_s);
    if (!g->access_token)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    g->expires_in = a->access_ttl_s;
    return opaque_put(a, KIND_REFRESH, "plr_", p->name, a->refresh_ttl_s, g->refresh_token, err);
}

int pl_auth_password_grant(struct pl_auth *a, const char *user, const char *password,
                           struct pl_auth_grant *g, struct pl_err *err)
{
    memset(g, 0, sizeof *g);
    struct pl_principal *p = NULL;
    int rc = pl_user_verify(a->store, user, password, &p, err);
    if (rc == 0)
        rc = issue(a, p, g, err);
    pl_principal_unref(p);
    return rc;
}

int pl_auth_refresh_grant(struct pl_auth *a, const char *refresh, struct pl_auth_grant *g,
                          struct pl_err *err)
{
    memset(g, 0, sizeof *g);
    json_t *rec = NULL;
    char id[PL_APIKEY_ID_LEN + 1];
    int rc = opaque_get(a, KIND_REFRESH, "plr_", refresh, strlen(refresh), &rec, id, err);
    if (rc)
        return rc;
    /* Single use: whoever deletes the record first wins; the other sees it gone. */
    rc = pl_store_cred_delete(a->store, KIND_REFRESH, id, err);
    struct pl_principal *p = NULL;
    if (rc == PL_ENOTFOUND)
        rc = pl_err_set(err, PL_EUNAUTHORIZED, "invalid token");
    if (rc == 0)
        rc = pl_user_principal(a->store, json_string_value(json_object_get(rec, "user")), &p,
                               err);
    json_decref(rec);
    if (rc == 0)
        rc = issue(a, p, g, err);
    pl_principal_unref(p);
    return rc;
}

/* ---- sessions --------------------------------------------------------------------------- */

static void csrf_of(struct pl_auth *a, const char *id, char out[44])
{
    char msg[8 + PL_APIKEY_ID_LEN + 1];
    snprintf(msg, sizeof msg, "csrf:%s", id);
    pl_token_mac_b64(a->key, msg, out);
}

int pl_auth_session_open(struct pl_auth *a, const char *user, const char *password,
                         struct pl_auth_grant *g, struct pl_err *err)
{
    memset(g, 0, sizeof *g);
    struct pl_principal *p = NULL;
    int rc = pl_user_verify(a->store, user, password, &p, err);
    if (rc == 0)
        rc = opaque_put(a, KIND_SESSION, "pls_", p->name, a->session_ttl_s, g->session, err);
    if (rc == 0) {
        snprintf(g->user, sizeof g->user, "%s", p->name);
        char id[PL_APIKEY_ID_LEN + 1];
        memcpy(id, g->session + 4, PL_APIKEY_ID_LEN);
        id[PL_APIKEY_ID_LEN] = '\0';
        csrf_of(a, id, g->csrf_token);
        g->expires_in = a->session_ttl_s;
    }
    pl_principal_unref(p);
    return rc;
}

void pl_auth_session_close(struct pl_auth *a, const char *cookie, size_t len)
{
    char id[PL_APIKEY_ID_LEN + 1];
    pl_auth_cache_remove(a->cache, cookie, len);
    if (pl_opaque_token_parse("pls_", cookie, len, id) != 0)
        return;
    struct pl_err err;
    pl_err_clear(&err);
    json_t *rec = NULL;
    /* only the holder of the whole cookie may end the session (not whoever knows its id) */
    if (opaque_get(a, KIND_SESSION, "pls_", cookie, len, &rec, id, &err) == 0) {
        pl_store_cred_delete(a->store, KIND_SESSION, id, &err);
        json_decref(rec);
    }
}

static int state_changing(enum pl_method m)
{
    return !(m == PL_M_GET || m == PL_M_HEAD || m == PL_M_OPTIONS);
}

int pl_auth__session(struct pl_auth *a, struct pl_req *r, struct pl_principal **out)
{
    *out = NULL;
    const char *v;
    size_t len;
    if (pl_cookie_get(pl_req_header(r, "Cookie"), PL_AUTH_SESSION_COOKIE, &v, &len) != 0)
        return -1;
    char id[PL_APIKEY_ID_LEN + 1];
    if (pl_opaque_token_parse("pls_", v, len, id) != 0)
        return pl_auth_reply_401(r, "invalid_token", "the session is invalid or has ended");
    int64_t now = pl_time_now_ms();
    struct pl_principal *p = pl_auth_cache_get(a->cache, v, len, now);
    if (!p) {
        struct pl_err err;
        pl_err_clear(&err);
        json_t *rec = NULL;
        int rc = opaque_get(a, KIND_SESSION, "pls_", v, len, &rec, id, &err);
        if (rc == 0) {
            struct pl_principal *u = NULL;
            rc = pl_user_principal(a->store, json_string_value(json_object_get(rec, "user")), &u,
                                   &err);
            if (rc == 0) {
                p = pl_principal_new(u->role, PL_CRED_SESSION, u->name,
                                     u->all_tenants ? "*" : u->tenant);
                pl_principal_unref(u);
                rc = p ? 0 : pl_err_set(&err, PL_ENOMEM, "out of memory");
            }
        }
        int64_t exp = now;
        if (rec)
            pl_time_parse(json_string_value(json_object_get(rec, "expiresAt")), &exp);
        json_decref(rec);
        if (rc == PL_EUNAUTHORIZED)
            return pl_auth_reply_401(r, "invalid_token", "the session is invalid or has ended");
        if (rc) {
            pl_reply_problem(r, &err);
            return 1;
        }
        int64_t until = now + PL_AUTH_CACHE_TTL_MS;
        pl_auth_cache_put(a->cache, v, len, p, exp < until ? exp : until);
    }
    if (state_changing(r->method)) {
        /* A cookie is sent by the browser on any site's request: a state change must prove it
         * comes from our page, which alone could read the CSRF token. */
        char want[44];
        csrf_of(a, id, want);
        const char *got = pl_req_header(r, PL_AUTH_CSRF_HEADER);
        if (!got || strlen(got) != strlen(want) || sodium_memcmp(got, want, strlen(want)) != 0) {
            pl_principal_unref(p);
            pl_reply_error(r, PL_EFORBIDDEN,
                           "a state-changing request authenticated by the session cookie needs "
                           "its CSRF token in the " PL_AUTH_CSRF_HEADER " header");
            return 1;
        }
    }
    *out = p;
    return 0;
}
