/* SPDX-License-Identifier: Apache-2.0 */
/*
 * admin_creds.c — the admin API of credentials (admin role: api/access.c requires it for every
 * /polis/v1/ route):
 *   GET    /polis/v1/users          every user, without password hashes
 *   POST   /polis/v1/users          {"name","password","role","tenant"?} -> 201 (the user)
 *   DELETE /polis/v1/users/{name}   the user, its refresh tokens and sessions -> 204
 *   GET    /polis/v1/keys           every API key, without secrets or hashes
 *   POST   /polis/v1/keys           {"role","tenant"?,"types"?,"entities"?,"expires"?}
 *                                   -> 201 {"key": "plk_...", ...the record}: the key shown once
 *   DELETE /polis/v1/keys/{id}      revokes the key at once (cache dropped) -> 204
 * An admin bound to one tenant sees and manages only that tenant's users and keys, and creates
 * them only there. Errors are ProblemDetails. The Argon2id hash of a new password runs on the
 * log-in workers (auth/authn.h) when auth is on.
 */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/credentials.h"
#include "app/app.h"
#include "auth/apikey.h"
#include "auth/authn.h"
#include "auth/user.h"
#include "base/timeutil.h"
#include "http/http.h"
#include "store/store.h"

/* The tenant an admin of one tenant is bound to, or NULL (auth off, or all tenants). */
static const char *bound_tenant(struct pl_req *r)
{
    const struct pl_principal *p = r->principal;
    return p && !p->all_tenants ? p->tenant : NULL;
}

static int visible(struct pl_req *r, const json_t *rec)
{
    const char *b = bound_tenant(r);
    const char *t = json_string_value(json_object_get(rec, "tenant"));
    return !b || (t && strcmp(t, b) == 0);
}

static int list_reply(struct pl_req *r, int rc, json_t *all, struct pl_err *err)
{
    if (rc)
        return pl_reply_problem(r, err);
    json_t *out = json_array();
    size_t i;
    json_t *rec;
    json_array_foreach(all, i, rec)
    {
        if (visible(r, rec))
            json_array_append(out, rec);
    }
    json_decref(all);
    pl_reply_json(r, 200, "application/json", out);
    json_decref(out);
    return PL_HANDLER_DONE;
}

int pl_api_users_list(struct pl_req *r)
{
    json_t *all = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_user_list(r->app->store, &all, &err);
    return list_reply(r, rc, all, &err);
}

int pl_api_keys_list(struct pl_req *r)
{
    json_t *all = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_apikey_list(r->app->store, &all, &err);
    return list_reply(r, rc, all, &err);
}

/* The tenant a new credential gets: the body's, checked against the admin's own tenant. */
static int tenant_or_reply(struct pl_req *r, const json_t *body, const char **out)
{
    json_t *t = json_object_get(body, "tenant");
    if (t && !json_is_string(t))
        return pl_reply_error(r, PL_EBADREQUESTDATA, "tenant: a string"), -1;
    const char *b = bound_tenant(r);
    *out = t ? json_string_value(t) : b;
    if (b && (!*out || strcmp(*out, b) != 0))
        return pl_reply_error(r, PL_EFORBIDDEN,
                              "an admin of one tenant creates credentials of that tenant only"),
               -1;
    return 0;
}

struct user_job {
    struct pl_auth_job base;
    char name[PL_USER_NAME_MAX + 2], role[16], tenant[PL_TENANT_MAX + 2];
    int has_tenant;
    char *password; /* owned, wiped */
    int rc;
    struct pl_err err;
    struct pl_user_new u;
};

static void user_job_free(void *p)
{
    struct user_job *j = p;
    if (j->password) {
        sodium_memzero(j->password, strlen(j->password));
        free(j->password);
    }
    pl_user_new_clear(&j->u);
    free(j);
}

static void user_job_run(struct pl_auth_job *base)
{
    struct user_job *j = (struct user_job *)base;
    pl_err_clear(&j->err);
    j->rc = pl_user_prepare(j->name, j->password, j->role, j->has_tenant ? j->tenant : NULL,
                            &j->u, &j->err);
}

static int user_create_done(struct pl_req *r)
{
    struct user_job *j = r->job;
    if (j->rc)
        return pl_reply_problem(r, &j->err);
    json_t *rec = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_user_store(r->app->store, &j->u, &rec, &err) != 0)
        return pl_reply_problem(r, &err);
    char *loc = pl_http_encode_segment(j->u.name);
    if (loc) {
        char path[160];
        snprintf(path, sizeof path, "/polis/v1/users/%s", loc);
        pl_req_add_header(r, "Location", path);
        free(loc);
    }
    pl_reply_json(r, 201, "application/json", rec);
    json_decref(rec);
    return PL_HANDLER_DONE;
}

int pl_api_user_create(struct pl_req *r)
{
    json_t *body = NULL;
    if (pl_api_body_or_reply(r, 1, &body) != 0)
        return PL_HANDLER_DONE;
    const char *name = json_string_value(json_object_get(body, "name"));
    const char *pw = json_string_value(json_object_get(body, "password"));
    const char *role = json_string_value(json_object_get(body, "role"));
    const char *tenant;
    if (!name || !pw || !role)
        return pl_reply_error(r, PL_EBADREQUESTDATA, "name, password and role are required strings");
    if (tenant_or_reply(r, body, &tenant) != 0)
        return PL_HANDLER_DONE;
    struct user_job *j = calloc(1, sizeof *j);
    if (!j)
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    pl_req_defer(r, user_job_free, j);
    if (strlen(name) >= sizeof j->name || strlen(role) >= sizeof j->role ||
        (tenant && strlen(tenant) >= sizeof j->tenant) || strlen(pw) > PL_PASSWORD_MAX)
        return pl_reply_error(r, PL_EBADREQUESTDATA, "name, role, tenant or password too long");
    snprintf(j->name, sizeof j->name, "%s", name);
    snprintf(j->role, sizeof j->role, "%s", role);
    if (tenant) {
        j->has_tenant = 1;
        snprintf(j->tenant, sizeof j->tenant, "%s", tenant);
    }
    j->password = strdup(pw);
    if (!j->password)
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    r->job = j;
    if (!r->app->auth) { /* auth off: no workers; an admin tool, not a hot path */
        user_job_run(&j->base);
        return user_create_done(r);
    }
    j->base.run = user_job_run;
    j->base.r = r;
    r->cont = user_create_done;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_auth_submit(r->app->auth, &j->base, &err) != 0) {
        pl_reply_problem(r, &err);
        pl_req_add_header(r, "Retry-After", "1");
        return PL_HANDLER_DONE;
    }
    return PL_HANDLER_SUSPENDED;
}

/* 404 unless the record exists and the admin may see it. */
static int get_visible(struct pl_req *r, const char *kind, const char *id, const char *what)
{
    json_t *rec = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_store_cred_get(r->app->store, kind, id, &rec, &err);
    if (rc == 0 && !visible(r, rec))
        rc = PL_ENOTFOUND;
    json_decref(rec);
    if (rc == PL_ENOTFOUND)
        return pl_reply_error(r, PL_ENOTFOUND, "no such %s", what), -1;
    if (rc)
        return pl_reply_problem(r, &err), -1;
    return 0;
}

int pl_api_user_delete(struct pl_req *r)
{
    const char *name = r->params[0];
    if (!pl_user_name_valid(name))
        return pl_reply_error(r, PL_ENOTFOUND, "no such user");
    if (get_visible(r, PL_CRED_KIND_USER, name, "user") != 0)
        return PL_HANDLER_DONE;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_user_delete(r->app->store, name, &err) != 0)
        return pl_reply_problem(r, &err);
    pl_auth_forget(r->app->auth, name); /* its tokens and sessions stop at once */
    pl_reply_empty(r, 204);
    return PL_HANDLER_DONE;
}

/* A JSON array of strings into a NEW array of borrowed pointers (*v), or -1 after answering. */
static int strings_or_reply(struct pl_req *r, const json_t *a, const char *what,
                            const char ***v, size_t *n)
{
    *v = NULL;
    *n = 0;
    if (!a)
        return 0;
    if (!json_is_array(a))
        return pl_reply_error(r, PL_EBADREQUESTDATA, "%s: an array of strings", what), -1;
    *v = calloc(json_array_size(a) + 1, sizeof **v);
    if (!*v)
        return pl_reply_error(r, PL_ENOMEM, "out of memory"), -1;
    pl_req_defer_free(r, (void *)*v);
    size_t i;
    json_t *s;
    json_array_foreach(a, i, s)
    {
        if (!json_is_string(s))
            return pl_reply_error(r, PL_EBADREQUESTDATA, "%s: an array of strings", what), -1;
        (*v)[(*n)++] = json_string_value(s);
    }
    return 0;
}

int pl_api_key_create(struct pl_req *r)
{
    json_t *body = NULL;
    if (pl_api_body_or_reply(r, 1, &body) != 0)
        return PL_HANDLER_DONE;
    struct pl_apikey_spec spec;
    memset(&spec, 0, sizeof spec);
    const char *role = json_string_value(json_object_get(body, "role"));
    if (!role || pl_role_parse(role, &spec.role) != 0 || spec.role == PL_ROLE_PUBLIC)
        return pl_reply_error(r, PL_EBADREQUESTDATA,
                              "role: one of device, enterprise, agency, operator, admin");
    if (tenant_or_reply(r, body, &spec.tenant) != 0)
        return PL_HANDLER_DONE;
    if (strings_or_reply(r, json_object_get(body, "types"), "types", (const char ***)&spec.types,
                         &spec.n_types) != 0 ||
        strings_or_reply(r, json_object_get(body, "entities"), "entities",
                         (const char ***)&spec.entities, &spec.n_entities) != 0)
        return PL_HANDLER_DONE;
    json_t *exp = json_object_get(body, "expires");
    if (exp) {
        int64_t ms;
        if (!json_is_string(exp) || pl_auth_duration_parse(json_string_value(exp), &ms) != 0)
            return pl_reply_error(r, PL_EBADREQUESTDATA,
                                  "expires: an ISO 8601 duration (P30D, PT1H) or seconds");
        spec.expires_ms = pl_time_now_ms() + ms;
    }
    char key[PL_APIKEY_LEN + 1];
    json_t *rec = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_apikey_create(r->app->store, &spec, key, &rec, &err) != 0)
        return pl_reply_problem(r, &err);
    json_object_set_new(rec, "key", json_string(key));
    sodium_memzero(key, sizeof key);
    char path[64];
    snprintf(path, sizeof path, "/polis/v1/keys/%s",
             json_string_value(json_object_get(rec, "id")));
    pl_reply_json(r, 201, "application/json", rec);
    json_decref(rec);
    pl_req_add_header(r, "Location", path);
    pl_req_add_header(r, "Cache-Control", "no-store");
    return PL_HANDLER_DONE;
}

int pl_api_key_revoke(struct pl_req *r)
{
    const char *id = r->params[0];
    if (!pl_apikey_id_valid(id))
        return pl_reply_error(r, PL_ENOTFOUND, "no such API key");
    if (get_visible(r, PL_CRED_KIND_APIKEY, id, "API key") != 0)
        return PL_HANDLER_DONE;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_apikey_revoke(r->app->store, id, &err) != 0)
        return pl_reply_problem(r, &err);
    char name[PL_PRINCIPAL_NAME_MAX];
    snprintf(name, sizeof name, "key:%s", id);
    pl_auth_forget(r->app->auth, name); /* effective for the next request */
    pl_reply_empty(r, 204);
    return PL_HANDLER_DONE;
}
