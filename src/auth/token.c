/* SPDX-License-Identifier: Apache-2.0 */
/* token.c — Polis access tokens (HS256 JWS) and opaque tokens (token.h). */
#include "auth/token.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "auth/credparse.h"
#include "base/timeutil.h"
#include "store/store.h"

/* base64url of {"alg":"HS256","typ":"JWT"}: the only header we sign or accept. */
static const char HEADER_B64[] = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9";
#define SECRET_KIND "secret"
#define SECRET_ID   "token-hs256"

int pl_token_secret_load(struct pl_store *s, unsigned char key[PL_TOKEN_KEY_BYTES],
                         struct pl_err *err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        json_t *rec = NULL;
        int rc = pl_store_cred_get(s, SECRET_KIND, SECRET_ID, &rec, err);
        if (rc == 0) {
            const char *b64 = json_string_value(json_object_get(rec, "key"));
            size_t n = 0;
            int bad = !b64 || sodium_base642bin(key, PL_TOKEN_KEY_BYTES, b64, strlen(b64), NULL,
                                                &n, NULL,
                                                sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
                      n != PL_TOKEN_KEY_BYTES;
            json_decref(rec);
            return bad ? pl_err_set(err, PL_EINTERNAL, "the stored token secret is corrupt") : 0;
        }
        if (rc != PL_ENOTFOUND)
            return rc;
        /* First start: make one. Two processes racing: the second insert fails, both read. */
        unsigned char k[PL_TOKEN_KEY_BYTES];
        char b64[PL_TOKEN_KEY_BYTES * 2];
        randombytes_buf(k, sizeof k);
        sodium_bin2base64(b64, sizeof b64, k, sizeof k, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sodium_memzero(k, sizeof k);
        char now[PL_TIME_ISO_LEN];
        pl_time_format(pl_time_now_ms(), now);
        rec = json_pack("{s:s,s:s,s:s}", "id", SECRET_ID, "key", b64, "createdAt", now);
        sodium_memzero(b64, sizeof b64);
        if (!rec)
            return pl_err_set(err, PL_ENOMEM, "out of memory");
        rc = pl_store_cred_put(s, SECRET_KIND, SECRET_ID, NULL, rec, 1, err);
        json_decref(rec);
        if (rc && rc != PL_EALREADYEXISTS)
            return rc;
    }
    return pl_err_set(err, PL_EINTERNAL, "cannot load the token secret");
}

static void mac_b64(const unsigned char key[PL_TOKEN_KEY_BYTES], const char *msg, size_t len,
                    char out[44])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256(mac, (const unsigned char *)msg, len, key);
    sodium_bin2base64(out, 44, mac, sizeof mac, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

void pl_token_mac_b64(const unsigned char key[PL_TOKEN_KEY_BYTES], const char *msg, char out[44])
{
    mac_b64(key, msg, strlen(msg), out);
}

char *pl_token_sign(const unsigned char key[PL_TOKEN_KEY_BYTES], const struct pl_principal *p,
                    int64_t now_ms, int ttl_s)
{
    unsigned char jti[12];
    char jti_hex[25];
    randombytes_buf(jti, sizeof jti);
    sodium_bin2hex(jti_hex, sizeof jti_hex, jti, sizeof jti);
    json_int_t iat = now_ms / 1000;
    json_t *claims = json_pack("{s:s,s:s,s:s,s:s,s:I,s:I,s:s}", "iss", "polis", "sub", p->name,
                               "role", pl_role_name(p->role), "tenant",
                               p->all_tenants ? "*" : p->tenant, "iat", iat, "exp",
                               iat + ttl_s, "jti", jti_hex);
    char *payload = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
    json_decref(claims);
    if (!payload)
        return NULL;
    size_t plen = strlen(payload);
    size_t b64cap = sodium_base64_ENCODED_LEN(plen, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    size_t cap = sizeof HEADER_B64 + b64cap + 1 + 44;
    char *out = malloc(cap);
    if (!out) {
        free(payload);
        return NULL;
    }
    size_t h = strlen(HEADER_B64);
    memcpy(out, HEADER_B64, h);
    out[h] = '.';
    sodium_bin2base64(out + h + 1, b64cap, (const unsigned char *)payload, plen,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    free(payload);
    size_t signed_len = strlen(out);
    out[signed_len] = '.';
    mac_b64(key, out, signed_len, out + signed_len + 1);
    return out;
}

int pl_token_is_polis(const char *tok, size_t len)
{
    size_t h = strlen(HEADER_B64);
    return len > h + 1 && memcmp(tok, HEADER_B64, h) == 0 && tok[h] == '.';
}

static int refused(struct pl_err *err)
{
    return pl_err_set(err, PL_EUNAUTHORIZED, "the bearer credential is invalid, expired or revoked");
}

int pl_token_verify(const unsigned char key[PL_TOKEN_KEY_BYTES], const char *tok, size_t len,
                    int64_t now_ms, char *sub, size_t cap, int64_t *exp_ms, struct pl_err *err)
{
    if (!pl_token_is_polis(tok, len) || len > PL_AUTH_TOKEN_MAX)
        return refused(err);
    const char *dot2 = memchr(tok + strlen(HEADER_B64) + 1, '.',
                              len - strlen(HEADER_B64) - 1);
    if (!dot2)
        return refused(err);
    size_t signed_len = (size_t)(dot2 - tok);
    const char *sig = dot2 + 1;
    size_t sig_len = len - signed_len - 1;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    size_t mac_len = 0;
    if (sig_len != 43 ||
        sodium_base642bin(mac, sizeof mac, sig, sig_len, NULL, &mac_len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        mac_len != sizeof mac ||
        crypto_auth_hmacsha256_verify(mac, (const unsigned char *)tok, signed_len, key) != 0)
        return refused(err);
    const char *p64 = tok + strlen(HEADER_B64) + 1;
    size_t p64_len = (size_t)(dot2 - p64);
    unsigned char *payload = malloc(p64_len + 1);
    size_t plen = 0;
    if (!payload)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    if (sodium_base642bin(payload, p64_len, p64, p64_len, NULL, &plen, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
        free(payload);
        return refused(err);
    }
    json_t *claims = json_loadb((const char *)payload, plen, JSON_REJECT_DUPLICATES, NULL);
    free(payload);
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    const char *s = json_string_value(json_object_get(claims, "sub"));
    json_t *exp = json_object_get(claims, "exp");
    int ok = iss && strcmp(iss, "polis") == 0 && s && *s && strlen(s) < cap &&
             json_is_integer(exp) && json_integer_value(exp) * 1000 > now_ms;
    if (ok) {
        memcpy(sub, s, strlen(s) + 1);
        *exp_ms = json_integer_value(exp) * 1000;
    }
    json_decref(claims);
    return ok ? 0 : refused(err);
}

void pl_opaque_token_hash(const char *text, size_t len, char *hash_hex)
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)text, len, NULL, 0);
    sodium_bin2hex(hash_hex, 65, h, sizeof h);
}

void pl_opaque_token_new(const char *prefix, char *text, char *id, char *hash_hex)
{
    unsigned char idb[PL_APIKEY_ID_LEN / 2], secret[32];
    char sec[PL_APIKEY_SECRET_LEN + 2];
    randombytes_buf(idb, sizeof idb);
    randombytes_buf(secret, sizeof secret);
    sodium_bin2hex(id, PL_APIKEY_ID_LEN + 1, idb, sizeof idb);
    sodium_bin2base64(sec, sizeof sec, secret, sizeof secret,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(secret, sizeof secret);
    memcpy(text, prefix, 4);
    memcpy(text + 4, id, PL_APIKEY_ID_LEN);
    text[4 + PL_APIKEY_ID_LEN] = '_';
    memcpy(text + 4 + PL_APIKEY_ID_LEN + 1, sec, PL_APIKEY_SECRET_LEN + 1);
    sodium_memzero(sec, sizeof sec);
    pl_opaque_token_hash(text, PL_APIKEY_LEN, hash_hex);
}
