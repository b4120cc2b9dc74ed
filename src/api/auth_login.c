/* SPDX-License-Identifier: Apache-2.0 */
/*
 * auth_login.c — POST /auth/token, POST /auth/session, POST /auth/logout.
 *
 * /auth/token is an OAuth 2.0 token endpoint (RFC 6749): a form body
 * (application/x-www-form-urlencoded) with grant_type=password&username=&password= (4.3) or
 * grant_type=refresh_token&refresh_token= (6), answering 200
 * {"access_token","token_type":"Bearer","expires_in","refresh_token"} with Cache-Control:
 * no-store (5.1). Its errors are ONE body that both kinds of client read: the RFC 6749 5.2
 * members "error" and "error_description" (what OAuth libraries look for) inside a
 * ProblemDetails ("type" urn:polis:error:<error>, "title", "detail", "status"), status 400
 * (invalid_request, unsupported_grant_type, invalid_grant). An unknown user and a wrong password
 * give the same invalid_grant answer after the same Argon2id work.
 *
 * /auth/session takes the same form as the password grant (grant_type optional) and opens a
 * browser session: Set-Cookie polis_session (HttpOnly, SameSite=Strict, Path=/, Max-Age, Secure
 * when the listener is TLS) and {"csrf_token","expires_in","user"}: every state-changing request
 * authenticated by the cookie must carry the CSRF token in X-CSRF-Token (auth/login.c checks).
 * /auth/logout ends the cookie's session (204) and clears the cookie.
 *
 * Password checks run on the log-in workers (auth/authn.h): the request is suspended meanwhile,
 * so no network thread waits for Argon2id.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/credentials.h"
#include "app/app.h"
#include "auth/authn.h"
#include "auth/credparse.h"
#include "auth/user.h"
#include "http/http.h"

enum job_kind { J_PASSWORD, J_REFRESH, J_SESSION, J_LOGOUT };

struct login_job {
    struct pl_auth_job base; /* first: the worker sees this */
    struct pl_auth *auth;
    enum job_kind kind;
    char user[PL_USER_NAME_MAX + 2];
    char password[PL_PASSWORD_MAX + 2];
    char token[PL_AUTH_TOKEN_MAX + 1]; /* refresh token, or the session cookie (logout) */
    int rc;
    struct pl_err err;
    struct pl_auth_grant g;
};

static void job_free(void *p)
{
    struct login_job *j = p;
    pl_auth_grant_clear(&j->g);
    sodium_memzero(j, sizeof *j);
    free(j);
}

static void job_run(struct pl_auth_job *base)
{
    struct login_job *j = (struct login_job *)base;
    pl_err_clear(&j->err);
    switch (j->kind) {
    case J_PASSWORD:
        j->rc = pl_auth_password_grant(j->auth, j->user, j->password, &j->g, &j->err);
        break;
    case J_REFRESH:
        j->rc = pl_auth_refresh_grant(j->auth, j->token, &j->g, &j->err);
        break;
    case J_SESSION:
        j->rc = pl_auth_session_open(j->auth, j->user, j->password, &j->g, &j->err);
        break;
    case J_LOGOUT:
        pl_auth_session_close(j->auth, j->token, strlen(j->token));
        j->rc = 0;
        break;
    }
    sodium_memzero(j->password, sizeof j->password);
}

/* RFC 6749 5.2 error inside a ProblemDetails (see the head of the file). */
static int oauth_error(struct pl_req *r, const char *error, const char *desc)
{
    char type[64];
    snprintf(type, sizeof type, "urn:polis:error:%s", error);
    json_t *j = json_pack("{s:s,s:s,s:s,s:i,s:s,s:s}", "type", type, "title",
                          "Token request refused", "detail", desc, "status", 400, "error", error,
                          "error_description", desc);
    pl_reply_json(r, 400, "application/json", j);
    json_decref(j);
    pl_req_add_header(r, "Cache-Control", "no-store");
    return PL_HANDLER_DONE;
}

static int is_form(struct pl_req *r)
{
    const char *ct = pl_req_header(r, "Content-Type");
    const char *want = "application/x-www-form-urlencoded";
    size_t n = strlen(want);
    return ct && strncasecmp(ct, want, n) == 0 && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Common checks; the form field `name` into out. -1 absent, -2 malformed, else its length. */
static long field(struct pl_req *r, const char *name, char *out, size_t cap)
{
    return pl_form_get(r->body ? r->body : "", r->body ? r->body_len : 0, name, out, cap);
}

static int preconditions(struct pl_req *r)
{
    if (!r->app->auth)
        return pl_reply_error(r, PL_EOPNOTSUPPORTED,
                              "authentication is off: start Polis with --auth on to log in");
    if (!is_form(r)) {
        pl_reply_error(r, PL_EUNSUPPORTEDMEDIA,
                       "Content-Type must be application/x-www-form-urlencoded (RFC 6749 4.3)");
        return PL_HANDLER_DONE;
    }
    return -1;
}

static int submit(struct pl_req *r, struct login_job *j, int (*done)(struct pl_req *))
{
    j->base.run = job_run;
    j->base.r = r;
    j->auth = r->app->auth;
    r->job = j;
    r->cont = done;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_auth_submit(r->app->auth, &j->base, &err) != 0) {
        pl_reply_problem(r, &err);
        pl_req_add_header(r, "Retry-After", "1");
        return PL_HANDLER_DONE;
    }
    return PL_HANDLER_SUSPENDED;
}

static struct login_job *job_new(struct pl_req *r)
{
    struct login_job *j = calloc(1, sizeof *j);
    if (j)
        pl_req_defer(r, job_free, j);
    return j;
}

static int failed(struct pl_req *r, struct login_job *j)
{
    pl_reply_problem(r, &j->err);
    if (j->rc == PL_ETOOMANYREQUESTS)
        pl_req_add_header(r, "Retry-After", "1");
    return PL_HANDLER_DONE;
}

static int token_done(struct pl_req *r)
{
    struct login_job *j = r->job;
    if (j->rc == PL_EUNAUTHORIZED)
        return oauth_error(r, "invalid_grant",
                           j->kind == J_PASSWORD
                               ? "the user name or the password is not valid"
                               : "the refresh token is not valid, expired or already used");
    if (j->rc)
        return failed(r, j);
    json_t *o = json_pack("{s:s,s:s,s:i,s:s}", "access_token", j->g.access_token, "token_type",
                          "Bearer", "expires_in", j->g.expires_in, "refresh_token",
                          j->g.refresh_token);
    pl_reply_json(r, 200, "application/json", o);
    json_decref(o);
    pl_req_add_header(r, "Cache-Control", "no-store");
    pl_req_add_header(r, "Pragma", "no-cache");
    return PL_HANDLER_DONE;
}

/* username and password of the form into j; 0 or answered. */
static int credentials_of(struct pl_req *r, struct login_job *j)
{
    long u = field(r, "username", j->user, sizeof j->user);
    long p = field(r, "password", j->password, sizeof j->password);
    if (u == -2 || p == -2)
        return oauth_error(r, "invalid_request", "a form field is malformed, too long or repeated"),
               -1;
    if (u <= 0 || p <= 0)
        return oauth_error(r, "invalid_request", "username and password are required"), -1;
    return 0;
}

int pl_api_auth_token(struct pl_req *r)
{
    int rc = preconditions(r);
    if (rc != -1)
        return rc;
    char grant[32];
    long g = field(r, "grant_type", grant, sizeof grant);
    if (g == -1)
        return oauth_error(r, "invalid_request", "grant_type is required");
    if (g < 0)
        return oauth_error(r, "invalid_request", "grant_type is malformed or repeated");
    struct login_job *j = job_new(r);
    if (!j)
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    if (strcmp(grant, "password") == 0) {
        j->kind = J_PASSWORD;
        if (credentials_of(r, j) != 0)
            return PL_HANDLER_DONE;
    } else if (strcmp(grant, "refresh_token") == 0) {
        j->kind = J_REFRESH;
        long t = field(r, "refresh_token", j->token, sizeof j->token);
        if (t == -2)
            return oauth_error(r, "invalid_request", "refresh_token is malformed or repeated");
        if (t <= 0)
            return oauth_error(r, "invalid_request", "refresh_token is required");
    } else {
        return oauth_error(r, "unsupported_grant_type",
                           "grant_type must be password or refresh_token");
    }
    return submit(r, j, token_done);
}

static void set_cookie(struct pl_req *r, const char *value, int max_age)
{
    char c[256];
    snprintf(c, sizeof c, "%s=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%d%s",
             PL_AUTH_SESSION_COOKIE, value, max_age,
             pl_auth_tls(r->app->auth) ? "; Secure" : "");
    pl_req_add_header(r, "Set-Cookie", c);
}

static int session_done(struct pl_req *r)
{
    struct login_job *j = r->job;
    if (j->rc == PL_EUNAUTHORIZED)
        return pl_auth_reply_401(r, NULL, "the user name or the password is not valid"),
               PL_HANDLER_DONE;
    if (j->rc)
        return failed(r, j);
    json_t *o = json_pack("{s:s,s:i,s:s}", "csrf_token", j->g.csrf_token, "expires_in",
                          j->g.expires_in, "user", j->g.user);
    pl_reply_json(r, 200, "application/json", o);
    json_decref(o);
    set_cookie(r, j->g.session, j->g.expires_in);
    pl_req_add_header(r, "Cache-Control", "no-store");
    return PL_HANDLER_DONE;
}

int pl_api_auth_session(struct pl_req *r)
{
    int rc = preconditions(r);
    if (rc != -1)
        return rc;
    struct login_job *j = job_new(r);
    if (!j)
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    j->kind = J_SESSION;
    char grant[32];
    long g = field(r, "grant_type", grant, sizeof grant);
    if (g == -2 || (g >= 0 && strcmp(grant, "password") != 0))
        return oauth_error(r, "unsupported_grant_type", "a session takes the password grant");
    if (credentials_of(r, j) != 0)
        return PL_HANDLER_DONE;
    return submit(r, j, session_done);
}

static int logout_done(struct pl_req *r)
{
    pl_reply_empty(r, 204);
    set_cookie(r, "", 0);
    return PL_HANDLER_DONE;
}

int pl_api_auth_logout(struct pl_req *r)
{
    if (!r->app->auth)
        return pl_reply_error(r, PL_EOPNOTSUPPORTED, "authentication is off");
    const char *v;
    size_t len;
    if (pl_cookie_get(pl_req_header(r, "Cookie"), PL_AUTH_SESSION_COOKIE, &v, &len) != 0 ||
        len > PL_AUTH_TOKEN_MAX)
        return logout_done(r);
    struct login_job *j = job_new(r);
    if (!j)
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    j->kind = J_LOGOUT;
    memcpy(j->token, v, len);
    j->token[len] = '\0';
    return submit(r, j, logout_done);
}
