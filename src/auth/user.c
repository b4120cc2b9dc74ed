/* SPDX-License-Identifier: Apache-2.0 */
/* user.c — users and their Argon2id password hashes (user.h). */
#include "auth/user.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "auth/apikey.h"
#include "base/timeutil.h"
#include "store/store.h"

/* Kinds of the records a user owns (deleted with it). */
#define KIND_REFRESH "refresh"
#define KIND_SESSION "session"

int pl_user_name_valid(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > PL_USER_NAME_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '@' || c == '-'))
            return 0;
    }
    return 1;
}

int pl_user_prepare(const char *name, const char *password, const char *role, const char *tenant,
                    struct pl_user_new *u, struct pl_err *err)
{
    memset(u, 0, sizeof *u);
    if (!pl_user_name_valid(name))
        return pl_err_set(err, PL_EBADREQUESTDATA, "name: 1 to 64 of A-Z a-z 0-9 . _ @ -");
    if (!role || pl_role_parse(role, &u->role) != 0 || u->role == PL_ROLE_PUBLIC)
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "role: one of device, enterprise, agency, operator, admin");
    const char *t = tenant ? tenant : u->role == PL_ROLE_ADMIN ? "*" : "";
    if (!pl_auth_tenant_valid(t))
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "tenant: 1 to 64 of A-Z a-z 0-9 _ -, or * for all tenants");
    if (!password || !*password)
        return pl_err_set(err, PL_EBADREQUESTDATA, "password: empty");
    size_t pl = strlen(password);
    if (pl > PL_PASSWORD_MAX)
        return pl_err_set(err, PL_EBADREQUESTDATA, "password: longer than %d bytes",
                          PL_PASSWORD_MAX);
    snprintf(u->name, sizeof u->name, "%s", name);
    snprintf(u->tenant, sizeof u->tenant, "%s", t);
    if (crypto_pwhash_str(u->hash, password, pl, PL_USER_PWHASH_OPS, PL_USER_PWHASH_MEM) != 0)
        return pl_err_set(err, PL_ENOMEM, "not enough memory to hash the password");
    return 0;
}

void pl_user_new_clear(struct pl_user_new *u)
{
    sodium_memzero(u, sizeof *u);
}

static json_t *public_rec(const json_t *rec)
{
    json_t *o = json_deep_copy(rec);
    if (o)
        json_object_del(o, "hash");
    return o;
}

int pl_user_store(struct pl_store *s, const struct pl_user_new *u, json_t **rec_out,
                  struct pl_err *err)
{
    if (rec_out)
        *rec_out = NULL;
    char created[PL_TIME_ISO_LEN];
    pl_time_format(pl_time_now_ms(), created);
    json_t *rec = json_pack("{s:s,s:s,s:s,s:s,s:s}", "name", u->name, "hash", u->hash, "role",
                            pl_role_name(u->role), "tenant", u->tenant, "createdAt", created);
    if (!rec)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    int rc = pl_store_cred_put(s, PL_CRED_KIND_USER, u->name, NULL, rec, 1, err);
    if (rc == PL_EALREADYEXISTS)
        rc = pl_err_set(err, PL_EALREADYEXISTS, "user '%s' exists already", u->name);
    if (rc == 0 && rec_out)
        *rec_out = public_rec(rec);
    json_decref(rec);
    return rc;
}

int pl_user_delete(struct pl_store *s, const char *name, struct pl_err *err)
{
    if (!pl_user_name_valid(name))
        return pl_err_set(err, PL_ENOTFOUND, "no such user");
    int rc = pl_store_cred_delete(s, PL_CRED_KIND_USER, name, err);
    if (rc == PL_ENOTFOUND)
        return pl_err_set(err, PL_ENOTFOUND, "no such user '%s'", name);
    if (rc == 0)
        rc = pl_store_cred_delete_owner(s, KIND_REFRESH, name, NULL, err);
    if (rc == 0)
        rc = pl_store_cred_delete_owner(s, KIND_SESSION, name, NULL, err);
    return rc;
}

int pl_user_list(struct pl_store *s, json_t **out, struct pl_err *err)
{
    json_t *all = NULL;
    *out = NULL;
    int rc = pl_store_cred_list(s, PL_CRED_KIND_USER, &all, err);
    if (rc)
        return rc;
    json_t *pub = json_array();
    size_t i;
    json_t *rec;
    json_array_foreach(all, i, rec) json_array_append_new(pub, public_rec(rec));
    json_decref(all);
    *out = pub;
    return pub ? 0 : pl_err_set(err, PL_ENOMEM, "out of memory");
}

static struct pl_principal *principal_of(const json_t *rec)
{
    enum pl_role role;
    if (pl_role_parse(json_string_value(json_object_get(rec, "role")), &role) != 0)
        return NULL;
    return pl_principal_new(role, PL_CRED_TOKEN, json_string_value(json_object_get(rec, "name")),
                            json_string_value(json_object_get(rec, "tenant")));
}

/* A hash of a password nobody knows, verified for unknown users so that they cost the same
 * time as known ones. Made once per process (with the same limits as real hashes). */
static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void dummy_init(void)
{
    unsigned char pw[16];
    randombytes_buf(pw, sizeof pw);
    if (crypto_pwhash_str(dummy_hash, (const char *)pw, sizeof pw, PL_USER_PWHASH_OPS,
                          PL_USER_PWHASH_MEM) != 0)
        dummy_hash[0] = '\0';
}

static int refused(struct pl_err *err)
{
    return pl_err_set(err, PL_EUNAUTHORIZED, "unknown user or wrong password");
}

int pl_user_verify(struct pl_store *s, const char *name, const char *password,
                   struct pl_principal **out, struct pl_err *err)
{
    *out = NULL;
    pthread_once(&dummy_once, dummy_init);
    json_t *rec = NULL;
    int rc = pl_user_name_valid(name) ? pl_store_cred_get(s, PL_CRED_KIND_USER, name, &rec, err)
                                      : PL_ENOTFOUND;
    if (rc && rc != PL_ENOTFOUND)
        return rc;
    const char *hash = rec ? json_string_value(json_object_get(rec, "hash")) : NULL;
    size_t pl = password ? strlen(password) : 0;
    int ok = crypto_pwhash_str_verify(hash ? hash : dummy_hash, password ? password : "", pl) ==
             0;
    if (!rec || !hash || !ok || pl == 0) {
        json_decref(rec);
        return refused(err);
    }
    *out = principal_of(rec);
    json_decref(rec);
    return *out ? 0 : pl_err_set(err, PL_ENOMEM, "out of memory");
}

int pl_user_principal(struct pl_store *s, const char *name, struct pl_principal **out,
                      struct pl_err *err)
{
    *out = NULL;
    json_t *rec = NULL;
    int rc = pl_store_cred_get(s, PL_CRED_KIND_USER, name, &rec, err);
    if (rc == PL_ENOTFOUND)
        return refused(err);
    if (rc)
        return rc;
    *out = principal_of(rec);
    json_decref(rec);
    return *out ? 0 : pl_err_set(err, PL_ENOMEM, "out of memory");
}

int pl_user_cli_prepare(const char *name, const char *role, const char *tenant, int n_pos,
                        FILE *in, struct pl_user_new *u)
{
    if (n_pos != 1) {
        fprintf(stderr, "polis: usage: polis user add NAME --role ROLE [--tenant T]\n");
        return 2;
    }
    char line[PL_PASSWORD_MAX + 2];
    if (!fgets(line, sizeof line, in))
        line[0] = '\0';
    size_t n = strlen(line);
    if (n && line[n - 1] == '\n')
        line[--n] = '\0';
    if (n && line[n - 1] == '\r')
        line[--n] = '\0';
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_user_prepare(name, line, role, tenant, u, &err);
    sodium_memzero(line, sizeof line);
    if (rc) {
        fprintf(stderr, "polis: user add: %s%s\n", err.detail,
                strstr(err.detail, "password") ? " (read as one line of standard input)" : "");
        return rc == PL_EBADREQUESTDATA ? 2 : 1;
    }
    return 0;
}

int pl_user_cli_add(struct pl_store *s, const struct pl_user_new *u)
{
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_user_store(s, u, NULL, &err) != 0) {
        fprintf(stderr, "polis: user add: %s\n", err.detail);
        return 1;
    }
    fprintf(stderr, "polis: created user %s (role %s, tenant %s)\n", u->name,
            pl_role_name(u->role), u->tenant[0] ? u->tenant : "(default)");
    return 0;
}

int pl_user_cli_del(struct pl_store *s, const char *name)
{
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_user_delete(s, name, &err) != 0) {
        fprintf(stderr, "polis: user del: %s\n", err.detail);
        return 1;
    }
    fprintf(stderr, "polis: deleted user %s and its refresh tokens and sessions\n", name);
    return 0;
}
