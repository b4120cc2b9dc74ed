/* SPDX-License-Identifier: Apache-2.0 */
/* apikey.c — API keys: creation, revocation, listing and verification (apikey.h). */
#include "auth/apikey.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "auth/tenant.h"
#include "base/timeutil.h"
#include "query/temporalq.h"
#include "store/store.h"

int pl_auth_tenant_valid(const char *t)
{
    /* the one tenant name rule (auth/tenant.h), plus the default tenant and "*" */
    return !t || !*t || strcmp(t, "*") == 0 || pl_tenant_name_valid(t);
}

/*
 * The stored hash of a key: BLAKE2b-256 (crypto_generichash) of the whole key text. A fast hash
 * is right here, unlike for passwords: the secret is 256 random bits, so there is nothing to
 * guess faster with a dictionary, and a slow KDF (Argon2id) would cost its full price on every
 * cache miss of a request. No salt or key is needed for the same reason (no two keys share a
 * secret; precomputed tables over 2^256 do not exist).
 */
static void key_hash_hex(const char *key, size_t len, char hex[65])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)key, len, NULL, 0);
    sodium_bin2hex(hex, 65, h, sizeof h);
}

static json_t *str_array(const char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

json_t *pl_apikey_public(const json_t *rec)
{
    json_t *o = json_deep_copy(rec);
    if (o)
        json_object_del(o, "hash");
    return o;
}

int pl_apikey_create(struct pl_store *s, const struct pl_apikey_spec *spec, char *key,
                     json_t **rec_out, struct pl_err *err)
{
    if (rec_out)
        *rec_out = NULL;
    if (sodium_init() < 0)
        return pl_err_set(err, PL_EINTERNAL, "libsodium did not initialize");
    if (spec->role == PL_ROLE_PUBLIC || (unsigned)spec->role >= PL_ROLE_COUNT)
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "role: one of device, enterprise, agency, operator, admin");
    const char *tenant = spec->tenant ? spec->tenant : spec->role == PL_ROLE_ADMIN ? "*" : "";
    if (!pl_auth_tenant_valid(tenant))
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "tenant: 1 to 64 of A-Z a-z 0-9 _ -, or * for all tenants");
    for (size_t i = 0; i < spec->n_types; i++) {
        if (!spec->types[i] || !*spec->types[i])
            return pl_err_set(err, PL_EBADREQUESTDATA, "types: an empty entity type");
    }
    for (size_t i = 0; i < spec->n_entities; i++) {
        if (!spec->entities[i] || !*spec->entities[i])
            return pl_err_set(err, PL_EBADREQUESTDATA, "entities: an empty entity id");
    }
    unsigned char idb[PL_APIKEY_ID_LEN / 2], secret[32];
    char id[PL_APIKEY_ID_LEN + 1], sec[PL_APIKEY_SECRET_LEN + 2];
    int64_t now = pl_time_now_ms();
    char created[PL_TIME_ISO_LEN], expires[PL_TIME_ISO_LEN];
    pl_time_format(now, created);
    if (spec->expires_ms)
        pl_time_format(spec->expires_ms, expires);
    for (int attempt = 0; attempt < 4; attempt++) {
        randombytes_buf(idb, sizeof idb);
        randombytes_buf(secret, sizeof secret);
        sodium_bin2hex(id, sizeof id, idb, sizeof idb);
        sodium_bin2base64(sec, sizeof sec, secret, sizeof secret,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sodium_memzero(secret, sizeof secret);
        memcpy(key, PL_APIKEY_PREFIX, 4);
        memcpy(key + 4, id, PL_APIKEY_ID_LEN);
        key[4 + PL_APIKEY_ID_LEN] = '_';
        memcpy(key + 4 + PL_APIKEY_ID_LEN + 1, sec, PL_APIKEY_SECRET_LEN + 1);
        sodium_memzero(sec, sizeof sec);
        char hex[65];
        key_hash_hex(key, PL_APIKEY_LEN, hex);
        json_t *rec = json_pack(
            "{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:b,s:s}", "id", id, "hash", hex, "role",
            pl_role_name(spec->role), "tenant", tenant, "types",
            str_array(spec->types, spec->n_types), "entities",
            str_array(spec->entities, spec->n_entities), "expiresAt",
            spec->expires_ms ? json_string(expires) : json_null(), "revoked", 0, "createdAt",
            created);
        if (!rec)
            return pl_err_set(err, PL_ENOMEM, "out of memory");
        int rc = pl_store_cred_put(s, PL_CRED_KIND_APIKEY, id, NULL, rec, 1, err);
        if (rc == 0 && rec_out)
            *rec_out = pl_apikey_public(rec);
        json_decref(rec);
        if (rc != PL_EALREADYEXISTS) {
            if (rc)
                sodium_memzero(key, PL_APIKEY_LEN + 1);
            return rc;
        }
    }
    return pl_err_set(err, PL_EINTERNAL, "could not draw an unused key id");
}

int pl_apikey_revoke(struct pl_store *s, const char *id, struct pl_err *err)
{
    if (!pl_apikey_id_valid(id))
        return pl_err_set(err, PL_ENOTFOUND, "no such API key");
    json_t *rec = NULL;
    int rc = pl_store_cred_get(s, PL_CRED_KIND_APIKEY, id, &rec, err);
    if (rc == PL_ENOTFOUND)
        return pl_err_set(err, PL_ENOTFOUND, "no such API key '%s'", id);
    if (rc)
        return rc;
    json_object_set_new(rec, "revoked", json_true());
    rc = pl_store_cred_put(s, PL_CRED_KIND_APIKEY, id, NULL, rec, 0, err);
    json_decref(rec);
    return rc;
}

int pl_apikey_list(struct pl_store *s, json_t **out, struct pl_err *err)
{
    json_t *all = NULL;
    *out = NULL;
    int rc = pl_store_cred_list(s, PL_CRED_KIND_APIKEY, &all, err);
    if (rc)
        return rc;
    json_t *pub = json_array();
    size_t i;
    json_t *rec;
    json_array_foreach(all, i, rec) json_array_append_new(pub, pl_apikey_public(rec));
    json_decref(all);
    *out = pub;
    return pub ? 0 : pl_err_set(err, PL_ENOMEM, "out of memory");
}

static int refused(struct pl_err *err)
{
    return pl_err_set(err, PL_EUNAUTHORIZED, "the bearer credential is invalid, expired or revoked");
}

int pl_apikey_verify(struct pl_store *s, const char *tok, size_t len, int64_t now_ms,
                     struct pl_principal **out, int64_t *expires_ms, struct pl_err *err)
{
    *out = NULL;
    char id[PL_APIKEY_ID_LEN + 1];
    if (pl_apikey_parse(tok, len, id) != 0)
        return refused(err);
    json_t *rec = NULL;
    int rc = pl_store_cred_get(s, PL_CRED_KIND_APIKEY, id, &rec, err);
    if (rc == PL_ENOTFOUND)
        return refused(err);
    if (rc)
        return rc;
    char hex[65];
    key_hash_hex(tok, len, hex);
    const char *stored = json_string_value(json_object_get(rec, "hash"));
    const char *exp_s = json_string_value(json_object_get(rec, "expiresAt"));
    int64_t exp = INT64_MAX;
    enum pl_role role;
    int ok = stored && strlen(stored) == 64 && sodium_memcmp(stored, hex, 64) == 0 &&
             !json_is_true(json_object_get(rec, "revoked")) &&
             pl_role_parse(json_string_value(json_object_get(rec, "role")), &role) == 0 &&
             (!exp_s || pl_time_parse(exp_s, &exp) == 0) && exp > now_ms;
    if (!ok) {
        json_decref(rec);
        return refused(err);
    }
    char name[PL_PRINCIPAL_NAME_MAX];
    snprintf(name, sizeof name, "key:%s", id);
    struct pl_principal *p = pl_principal_new(role, PL_CRED_APIKEY, name,
                                              json_string_value(json_object_get(rec, "tenant")));
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(rec, "types"), i, v)
    {
        if (p && json_is_string(v) && pl_principal_add_type(p, json_string_value(v)) != 0) {
            pl_principal_unref(p);
            p = NULL;
        }
    }
    json_array_foreach(json_object_get(rec, "entities"), i, v)
    {
        if (p && json_is_string(v) && pl_principal_add_entity(p, json_string_value(v)) != 0) {
            pl_principal_unref(p);
            p = NULL;
        }
    }
    json_decref(rec);
    if (!p)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    *out = p;
    *expires_ms = exp;
    return 0;
}

int pl_auth_duration_parse(const char *s, int64_t *ms)
{
    if (!s || !*s)
        return -1;
    if (*s >= '0' && *s <= '9') {
        char *end;
        errno = 0;
        long long n = strtoll(s, &end, 10);
        if (errno || *end || n <= 0 || n > 100LL * 366 * 86400)
            return -1;
        *ms = (int64_t)n * 1000;
        return 0;
    }
    int months = 0;
    int64_t v = 0;
    struct pl_err e;
    if (pl_iso_duration_parse(s, &months, &v, &e) != 0 || months != 0 || v <= 0)
        return -1;
    *ms = v;
    return 0;
}
