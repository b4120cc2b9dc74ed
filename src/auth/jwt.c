/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jwt.c — offline verification of the identity provider's bearer JWTs (jwt.h).
 *
 * cjose checks signatures; everything that decides WHICH key and WHICH algorithm may be used is
 * decided here first, from our own strict parse of the header: libraries that let the token's
 * header choose how a key is used are how `alg: none` and HS/RS confusion happen. The order is
 * cheap checks first (length, shape, base64url, header), then the signature, and only then the
 * claims, so that claim parsing only ever sees authentic payloads.
 */
#include "auth/jwt.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <jansson.h>

#include "auth/auth.h"
#include "auth/tenant.h"
#include "base/log.h"

enum key_kind { KEY_RSA, KEY_EC_P256, KEY_OCT };
enum jwt_alg { ALG_RS256, ALG_ES256, ALG_HS256 };

static const char *const alg_names[] = {"RS256", "ES256", "HS256"};

#define KID_MAX   256
#define CLAIM_MAX 128

struct key {
    cjose_jwk_t *jwk;  /* owned */
    enum key_kind kind;
    int has_kid;
    char kid[KID_MAX];
    int has_alg;       /* the JWK's own "alg" restricts it to that algorithm */
    enum jwt_alg alg;
};

struct keyset {
    struct key *a;
    size_t n;
};

struct pl_jwt {
    char path[1024];
    char issuer[256];
    char audience[256];
    char roles_claim[CLAIM_MAX];
    char tenant_claim[CLAIM_MAX];
    char types_claim[CLAIM_MAX];
    long skew;
    pthread_rwlock_t lock; /* readers: verify; writer: the swap of a reload */
    struct keyset keys;    /* under lock */
};

/* ---------------------------------------------------------------------------------------------
 * base64url (RFC 4648 5, no padding) and JSON shape checks
 * ------------------------------------------------------------------------------------------ */
static int b64u_val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

/* Strict: only the url-safe alphabet, no padding, no length of 1 mod 4, and the unused low
 * bits of the last character zero (so that one byte string has exactly one encoding). Decodes
 * into out (capacity >= len*3/4 + 1, NUL-terminated for convenience). -1 when malformed. */
static int b64u_decode(const char *s, size_t len, unsigned char *out, size_t *out_len)
{
    if (len % 4 == 1)
        return -1;
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64u_val((unsigned char)s[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* non-canonical trailing bits */
        return -1;
    out[o] = '\0';
    *out_len = o;
    return 0;
}

static int b64u_valid(const char *s, size_t len)
{
    if (len % 4 == 1)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (b64u_val((unsigned char)s[i]) < 0)
            return 0;
    return 1;
}

/* 1 when the last character of a valid base64url text carries no stray low bits. */
static int b64u_canonical(const char *s, size_t len)
{
    if (len == 0 || len % 4 == 0)
        return 1;
    int v = b64u_val((unsigned char)s[len - 1]);
    return len % 4 == 2 ? (v & 0x0f) == 0 : (v & 0x03) == 0;
}

/* 1 when the JSON text nests no deeper than max (brackets outside strings), so that a JSON
 * bomb of nested arrays never reaches the recursive parser. */
static int json_depth_ok(const unsigned char *s, size_t n, int max)
{
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
        } else if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max)
                return 0;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 1;
}

/* Parses one JSON object with duplicate members refused (two `alg` or two `exp` must not mean
 * one thing to us and another to a library). New reference or NULL. */
static json_t *parse_object(const unsigned char *s, size_t n)
{
    if (!json_depth_ok(s, n, PL_JWT_MAX_DEPTH))
        return NULL;
    json_error_t je;
    json_t *j = json_loadb((const char *)s, n, JSON_REJECT_DUPLICATES, &je);
    if (j && !json_is_object(j)) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* The three parts of a compact JWS. */
struct parts {
    const char *h, *p, *s;
    size_t hn, pn, sn;
};

static int split(const char *t, size_t len, struct parts *out)
{
    const char *d1 = memchr(t, '.', len);
    if (!d1)
        return -1;
    const char *d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - t));
    if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - t)))
        return -1;
    out->h = t;
    out->hn = (size_t)(d1 - t);
    out->p = d1 + 1;
    out->pn = (size_t)(d2 - d1 - 1);
    out->s = d2 + 1;
    out->sn = len - (size_t)(d2 + 1 - t);
    if (!out->hn || !out->pn || !out->sn)
        return -1;
    /* strict and canonical: cjose's decoder, which sees the signature, must get nothing else */
    if (!b64u_valid(out->h, out->hn) || !b64u_valid(out->p, out->pn) ||
        !b64u_valid(out->s, out->sn) || !b64u_canonical(out->s, out->sn))
        return -1;
    return 0;
}

int pl_jwt_is_compact(const char *token, size_t len)
{
    struct parts pt;
    return token && len <= PL_JWT_MAX_TOKEN && split(token, len, &pt) == 0;
}

/* Decodes one part as a JSON object. New reference or NULL. */
static json_t *part_object(const char *s, size_t n)
{
    unsigned char buf[PL_JWT_MAX_TOKEN];
    size_t bn;
    if (n > PL_JWT_MAX_TOKEN || b64u_decode(s, n, buf, &bn) != 0)
        return NULL;
    return parse_object(buf, bn);
}

int pl_jwt_peek_issuer(const char *token, size_t len, char *buf, size_t cap)
{
    struct parts pt;
    if (!token || len > PL_JWT_MAX_TOKEN || split(token, len, &pt) != 0 || cap == 0)
        return -1;
    json_t *claims = part_object(pt.p, pt.pn);
    const char *iss = json_string_value(json_object_get(claims, "iss"));
    int rc = -1;
    if (iss && strlen(iss) < cap) {
        memcpy(buf, iss, strlen(iss) + 1);
        rc = 0;
    }
    json_decref(claims);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * The key set
 * ------------------------------------------------------------------------------------------ */
static void keyset_dispose(struct keyset *ks)
{
    for (size_t i = 0; i < ks->n; i++)
        cjose_jwk_release(ks->a[i].jwk);
    free(ks->a);
    ks->a = NULL;
    ks->n = 0;
}

static int alg_parse(const char *s, enum jwt_alg *out)
{
    for (int i = 0; s && i < (int)(sizeof alg_names / sizeof alg_names[0]); i++) {
        if (strcmp(s, alg_names[i]) == 0) {
            *out = (enum jwt_alg)i;
            return 0;
        }
    }
    return -1;
}

/* The only pairs there are: RS256 with an RSA key, ES256 with a P-256 key, HS256 with oct. */
static int key_fits(const struct key *k, enum jwt_alg alg)
{
    if (k->has_alg && k->alg != alg)
        return 0;
    switch (alg) {
    case ALG_RS256:
        return k->kind == KEY_RSA;
    case ALG_ES256:
        return k->kind == KEY_EC_P256;
    case ALG_HS256:
        return k->kind == KEY_OCT;
    }
    return 0;
}

/* Takes one JWK object into ks, or says (in why) why it is not usable. 0 taken, 1 skipped. */
static int key_take(json_t *jk, struct keyset *ks, char *why, size_t why_cap)
{
    const char *kty = json_string_value(json_object_get(jk, "kty"));
    json_t *kid = json_object_get(jk, "kid");
    const char *use = json_string_value(json_object_get(jk, "use"));
    json_t *alg = json_object_get(jk, "alg");
    json_t *ops = json_object_get(jk, "key_ops");
    struct key k;
    memset(&k, 0, sizeof k);
    if (!kty) {
        snprintf(why, why_cap, "no kty");
        return 1;
    }
    if (kid && (!json_is_string(kid) || json_string_length(kid) >= KID_MAX)) {
        snprintf(why, why_cap, "kid is not a string of at most %d bytes", KID_MAX - 1);
        return 1;
    }
    if (use && strcmp(use, "sig") != 0) {
        snprintf(why, why_cap, "use is '%.32s', not sig", use);
        return 1;
    }
    if (ops) {
        int verify = 0;
        size_t i;
        json_t *o;
        json_array_foreach(ops, i, o) verify |= json_is_string(o) && !strcmp(json_string_value(o), "verify");
        if (!verify) {
            snprintf(why, why_cap, "key_ops does not include verify");
            return 1;
        }
    }
    if (alg) {
        if (alg_parse(json_string_value(alg), &k.alg) != 0) {
            snprintf(why, why_cap, "alg is not RS256, ES256 or HS256");
            return 1;
        }
        k.has_alg = 1;
    }
    /* cjose's base64url decoder asserts (aborts the process) on some malformed input, e.g. a
     * '=' inside a value (found by fuzz/jwt.c): only strict base64url reaches it. */
    static const char *const b64_members[] = {"n", "e", "d", "p", "q", "dp", "dq", "qi",
                                              "x", "y", "k"};
    for (size_t i = 0; i < sizeof b64_members / sizeof b64_members[0]; i++) {
        json_t *m = json_object_get(jk, b64_members[i]);
        if (m && (!json_is_string(m) || !b64u_valid(json_string_value(m), json_string_length(m)) ||
                  !b64u_canonical(json_string_value(m), json_string_length(m)))) {
            snprintf(why, why_cap, "member %s is not base64url", b64_members[i]);
            return 1;
        }
    }
    char *text = json_dumps(jk, JSON_COMPACT);
    if (!text)
        return PL_ENOMEM;
    cjose_err ce;
    k.jwk = cjose_jwk_import(text, strlen(text), &ce);
    free(text);
    if (!k.jwk) {
        snprintf(why, why_cap, "not a valid JWK (%s)", ce.message ? ce.message : "cjose");
        return 1;
    }
    size_t bits = cjose_jwk_get_keysize(k.jwk, &ce);
    switch (cjose_jwk_get_kty(k.jwk, &ce)) {
    case CJOSE_JWK_KTY_RSA:
        k.kind = KEY_RSA;
        if (bits < 2048)
            snprintf(why, why_cap, "RSA key of %zu bits (at least 2048)", bits);
        break;
    case CJOSE_JWK_KTY_EC:
        k.kind = KEY_EC_P256;
        if (cjose_jwk_EC_get_curve(k.jwk, &ce) != CJOSE_JWK_EC_P_256)
            snprintf(why, why_cap, "EC key not on P-256 (only ES256 is supported)");
        break;
    case CJOSE_JWK_KTY_OCT:
        k.kind = KEY_OCT;
        if (bits < 256)
            snprintf(why, why_cap, "oct key of %zu bytes (HS256 needs at least 32)", bits / 8);
        break;
    default:
        snprintf(why, why_cap, "unsupported kty");
        break;
    }
    if (!why[0] && k.has_alg && !key_fits(&k, k.alg))
        snprintf(why, why_cap, "its alg %s does not fit its kty", alg_names[k.alg]);
    if (why[0]) {
        cjose_jwk_release(k.jwk);
        return 1;
    }
    if (kid) {
        k.has_kid = 1;
        memcpy(k.kid, json_string_value(kid), json_string_length(kid) + 1);
    }
    struct key *g = realloc(ks->a, (ks->n + 1) * sizeof *g);
    if (!g) {
        cjose_jwk_release(k.jwk);
        return PL_ENOMEM;
    }
    g[ks->n++] = k;
    ks->a = g;
    return 0;
}

/* Reads a JWK Set or a single JWK from text. Keys that are not usable are skipped with a
 * warning (a Keycloak realm also publishes its encryption key); no usable key is an error. */
static int keyset_parse(const char *text, size_t n, const char *origin, struct keyset *out,
                        struct pl_err *err)
{
    memset(out, 0, sizeof *out);
    if (!json_depth_ok((const unsigned char *)text, n, PL_JWT_MAX_DEPTH))
        return pl_err_set(err, PL_EINTERNAL, "%s: JSON nested too deeply", origin);
    json_error_t je;
    json_t *root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
    if (!json_is_object(root)) {
        json_decref(root);
        return pl_err_set(err, PL_EINTERNAL, "%s: not a JSON object (line %d: %s)", origin,
                          je.line, root ? "not an object" : je.text);
    }
    json_t *keys = json_object_get(root, "keys");
    json_t *one = NULL;
    if (!keys) {
        one = json_array();
        if (!one || json_array_append(one, root) != 0) {
            json_decref(one);
            json_decref(root);
            return pl_err_set(err, PL_ENOMEM, "out of memory");
        }
        keys = one;
    } else if (!json_is_array(keys)) {
        json_decref(root);
        return pl_err_set(err, PL_EINTERNAL, "%s: \"keys\" is not an array", origin);
    }
    int rc = 0;
    size_t i;
    json_t *jk;
    json_array_foreach(keys, i, jk) {
        char why[160] = "";
        if (out->n >= PL_JWT_MAX_KEYS) {
            pl_log_warn("jwks %s: more than %d keys, the rest ignored", origin, PL_JWT_MAX_KEYS);
            break;
        }
        int t = json_is_object(jk) ? key_take(jk, out, why, sizeof why) : 1;
        if (t < 0) {
            rc = pl_err_set(err, t, "out of memory");
            break;
        }
        if (t == 1) {
            const char *kid = json_string_value(json_object_get(jk, "kid"));
            pl_log_warn("jwks %s: key %zu%s%.64s%s skipped: %s", origin, i, kid ? " (kid " : "",
                        kid ? kid : "", kid ? ")" : "", why[0] ? why : "not an object");
        }
    }
    json_decref(one);
    json_decref(root);
    if (rc == 0 && out->n == 0)
        rc = pl_err_set(err, PL_EINTERNAL,
                        "%s: no usable key (RSA >= 2048 bits, EC P-256 or oct >= 32 bytes, "
                        "use sig)",
                        origin);
    if (rc != 0)
        keyset_dispose(out);
    return rc;
}

static int keyset_load(const char *path, struct keyset *out, struct pl_err *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return pl_err_set(err, PL_EINTERNAL, "cannot read JWKS file %s: %s", path, strerror(errno));
    char *buf = malloc(PL_JWT_MAX_JWKS_BYTES + 1);
    if (!buf) {
        fclose(f);
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    }
    size_t n = fread(buf, 1, PL_JWT_MAX_JWKS_BYTES + 1, f);
    int bad = ferror(f);
    fclose(f);
    int rc;
    if (bad)
        rc = pl_err_set(err, PL_EINTERNAL, "cannot read JWKS file %s", path);
    else if (n > PL_JWT_MAX_JWKS_BYTES)
        rc = pl_err_set(err, PL_EINTERNAL, "JWKS file %s is larger than %d bytes", path,
                        PL_JWT_MAX_JWKS_BYTES);
    else
        rc = keyset_parse(buf, n, path, out, err);
    free(buf);
    return rc;
}

/* ---------------------------------------------------------------------------------------------
 * Life cycle
 * ------------------------------------------------------------------------------------------ */
static int copy_opt(char *dst, size_t cap, const char *src, const char *dflt, const char *what,
                    struct pl_err *err)
{
    const char *v = src && *src ? src : dflt;
    if (strlen(v) >= cap)
        return pl_err_set(err, PL_EINTERNAL, "%s is longer than %zu bytes", what, cap - 1);
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

int pl_jwt_new(const struct pl_jwt_config *cfg, struct pl_jwt **out, struct pl_err *err)
{
    *out = NULL;
    if ((!cfg->jwks_path || !*cfg->jwks_path) && !cfg->jwks_text)
        return pl_err_set(err, PL_EINTERNAL, "no JWKS file given");
    if (cfg->jwks_text && cfg->jwks_len > PL_JWT_MAX_JWKS_BYTES)
        return pl_err_set(err, PL_EINTERNAL, "the JWKS is larger than %d bytes",
                          PL_JWT_MAX_JWKS_BYTES);
    if (cfg->production && (!cfg->issuer || !*cfg->issuer || !cfg->audience || !*cfg->audience))
        return pl_err_set(err, PL_EINTERNAL,
                          "--profile production requires --jwt-issuer and --jwt-audience");
    if (cfg->clock_skew_s < 0 || cfg->clock_skew_s > 86400)
        return pl_err_set(err, PL_EINTERNAL, "clock skew must be 0..86400 seconds");
    struct pl_jwt *v = calloc(1, sizeof *v);
    if (!v)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    int rc = copy_opt(v->path, sizeof v->path, cfg->jwks_path, "", "--jwks", err);
    if (!rc)
        rc = copy_opt(v->issuer, sizeof v->issuer, cfg->issuer, "", "--jwt-issuer", err);
    if (!rc)
        rc = copy_opt(v->audience, sizeof v->audience, cfg->audience, "", "--jwt-audience", err);
    if (!rc)
        rc = copy_opt(v->roles_claim, sizeof v->roles_claim, cfg->roles_claim,
                      PL_JWT_DEFAULT_ROLES_CLAIM, "--jwt-roles-claim", err);
    if (!rc)
        rc = copy_opt(v->tenant_claim, sizeof v->tenant_claim, cfg->tenant_claim,
                      PL_JWT_DEFAULT_TENANT_CLAIM, "--jwt-tenant-claim", err);
    if (!rc)
        rc = copy_opt(v->types_claim, sizeof v->types_claim, cfg->types_claim, "",
                      "--jwt-types-claim", err);
    v->skew = cfg->clock_skew_s;
    if (!rc)
        rc = cfg->jwks_text ? keyset_parse(cfg->jwks_text, cfg->jwks_len, "JWKS", &v->keys, err)
                            : keyset_load(v->path, &v->keys, err);
    if (rc) {
        free(v);
        return rc;
    }
    if (pthread_rwlock_init(&v->lock, NULL) != 0) {
        keyset_dispose(&v->keys);
        free(v);
        return pl_err_set(err, PL_ENOMEM, "cannot create a lock");
    }
    *out = v;
    return 0;
}

void pl_jwt_free(struct pl_jwt *v)
{
    if (!v)
        return;
    keyset_dispose(&v->keys);
    pthread_rwlock_destroy(&v->lock);
    free(v);
}

int pl_jwt_reload(struct pl_jwt *v, size_t *n_keys, struct pl_err *err)
{
    struct keyset fresh, old;
    if (!v->path[0])
        return pl_err_set(err, PL_EINTERNAL, "the keys were not read from a file");
    int rc = keyset_load(v->path, &fresh, err);
    if (rc)
        return rc;
    pthread_rwlock_wrlock(&v->lock);
    old = v->keys;
    v->keys = fresh;
    pthread_rwlock_unlock(&v->lock);
    keyset_dispose(&old);
    if (n_keys)
        *n_keys = fresh.n;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Verification
 * ------------------------------------------------------------------------------------------ */
static int refuse(struct pl_err *err, const char *why)
{
    return pl_err_set(err, PL_EUNAUTHORIZED, "%s", why);
}

/* Chooses the key: by kid when the header names one (it must then fit alg), else the only key
 * that fits alg. NULL with the reason in *why. */
static const struct key *key_choose(const struct keyset *ks, enum jwt_alg alg, const char *kid,
                                    const char **why)
{
    const struct key *found = NULL;
    int kid_seen = 0, fitting = 0;
    for (size_t i = 0; i < ks->n; i++) {
        const struct key *k = &ks->a[i];
        if (kid) {
            if (!k->has_kid || strcmp(k->kid, kid) != 0)
                continue;
            kid_seen = 1;
        }
        if (key_fits(k, alg)) {
            fitting++;
            if (!found)
                found = k;
        }
    }
    if (kid && !kid_seen)
        *why = "the token's key (kid) is not one of the configured keys";
    else if (kid && !found)
        *why = "the key named by kid does not fit the token's alg";
    else if (!found)
        *why = "no configured key fits the token's alg";
    else if (!kid && fitting > 1)
        *why = "the token names no key (kid) and several keys fit its alg";
    else
        return found;
    return NULL;
}

/* The value at a claim path: the whole name as a top-level member first (URL-shaped claim
 * names contain dots), else the dotted path through nested objects. Borrowed or NULL. */
static json_t *claim_at(json_t *claims, const char *path)
{
    json_t *v = json_object_get(claims, path);
    if (v || !strchr(path, '.'))
        return v;
    v = claims;
    const char *s = path;
    while (v && *s) {
        const char *dot = strchr(s, '.');
        size_t n = dot ? (size_t)(dot - s) : strlen(s);
        if (!json_is_object(v))
            return NULL;
        v = json_object_getn(v, s, n);
        s = dot ? dot + 1 : s + n;
    }
    return v;
}

/* Calls fn(word, n, ctx) for each name of a claim that is a string (space/comma separated, as
 * OAuth scopes) or an array of strings. -1 when the claim is another type. */
static int for_each_name(json_t *v, int (*fn)(const char *, size_t, void *), void *ctx)
{
    if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) {
            if (!json_is_string(e))
                return -1;
            int rc = fn(json_string_value(e), json_string_length(e), ctx);
            if (rc)
                return rc;
        }
        return 0;
    }
    if (!json_is_string(v))
        return -1;
    const char *s = json_string_value(v);
    while (*s) {
        size_t n = strcspn(s, " ,");
        if (n) {
            int rc = fn(s, n, ctx);
            if (rc)
                return rc;
        }
        s += n;
        s += strspn(s, " ,");
    }
    return 0;
}

/* A role name as auth.h spells it, or with the "polis-" prefix Keycloak realms use to keep
 * their roles apart from other applications' (polis-operator). */
static int role_word(const char *s, size_t n, void *ctx)
{
    enum pl_role *best = ctx, r;
    char name[32];
    if (n > 6 && strncmp(s, "polis-", 6) == 0) {
        s += 6;
        n -= 6;
    }
    if (n >= sizeof name)
        return 0;
    memcpy(name, s, n);
    name[n] = '\0';
    if (pl_role_parse(name, &r) == 0 && r > *best)
        *best = r;
    return 0;
}

static int type_word(const char *s, size_t n, void *ctx)
{
    struct pl_principal *p = ctx;
    char *t = strndup(s, n);
    if (!t)
        return PL_ENOMEM;
    int rc = pl_principal_add_type(p, t);
    free(t);
    return rc;
}

/* A NumericDate (RFC 7519 2): a JSON number of seconds; fractions allowed. */
static int numeric_date(json_t *v, double *out)
{
    if (!json_is_number(v))
        return -1;
    double d = json_number_value(v);
    if (!isfinite(d) || d < 0 || d > 1e15)
        return -1;
    *out = d;
    return 0;
}

static int audience_ok(json_t *aud, const char *want)
{
    if (json_is_string(aud))
        return strcmp(json_string_value(aud), want) == 0;
    if (!json_is_array(aud))
        return 0;
    size_t i;
    json_t *e;
    json_array_foreach(aud, i, e) {
        if (json_is_string(e) && strcmp(json_string_value(e), want) == 0)
            return 1;
    }
    return 0;
}

/* The registered claims; 0 or PL_EUNAUTHORIZED. */
static int check_claims(const struct pl_jwt *v, json_t *c, time_t now, time_t *exp_out,
                        struct pl_err *err)
{
    double exp, nbf, iat;
    double t = (double)now, skew = (double)v->skew;
    json_t *j = json_object_get(c, "exp");
    if (!j)
        return refuse(err, "the token has no expiry (exp)");
    if (numeric_date(j, &exp) != 0)
        return refuse(err, "the token's exp is not a NumericDate");
    if (t > exp + skew)
        return refuse(err, "the token has expired");
    if ((j = json_object_get(c, "nbf"))) {
        if (numeric_date(j, &nbf) != 0)
            return refuse(err, "the token's nbf is not a NumericDate");
        if (nbf > t + skew)
            return refuse(err, "the token is not valid yet (nbf)");
    }
    if ((j = json_object_get(c, "iat"))) {
        if (numeric_date(j, &iat) != 0)
            return refuse(err, "the token's iat is not a NumericDate");
        if (iat > t + skew)
            return refuse(err, "the token was issued in the future (iat)");
    }
    if (v->issuer[0]) {
        const char *iss = json_string_value(json_object_get(c, "iss"));
        if (!iss || strcmp(iss, v->issuer) != 0)
            return refuse(err, "the token's issuer (iss) is not the configured one");
    }
    if (v->audience[0] && !audience_ok(json_object_get(c, "aud"), v->audience))
        return refuse(err, "the token's audience (aud) does not include this service");
    *exp_out = (time_t)exp;
    return 0;
}

/* The principal the claims describe; 0, PL_EUNAUTHORIZED or PL_ENOMEM. */
static int principal_of(const struct pl_jwt *v, json_t *c, struct pl_principal **out,
                        struct pl_err *err)
{
    json_t *sub = json_object_get(c, "sub");
    if (!json_is_string(sub) || json_string_length(sub) == 0)
        return refuse(err, "the token has no subject (sub)");
    if (json_string_length(sub) >= PL_PRINCIPAL_NAME_MAX)
        return refuse(err, "the token's subject (sub) is too long");
    const char *name = json_string_value(sub);
    for (const char *s = name; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) /* it is written into logs */
            return refuse(err, "the token's subject (sub) holds control characters");

    enum pl_role role = PL_ROLE_PUBLIC;
    json_t *roles = claim_at(c, v->roles_claim);
    if (roles && for_each_name(roles, role_word, &role) != 0)
        return refuse(err, "the token's roles claim is not a string or an array of strings");

    /* A user of the identity provider without a Polis role gets exactly what the public gets:
     * the public's own reach (every tenant's open data), nothing of its tenant. */
    const char *tenant = "*";
    if (role != PL_ROLE_PUBLIC) {
        json_t *tj = claim_at(c, v->tenant_claim);
        tenant = "";
        if (tj) {
            if (!json_is_string(tj))
                return refuse(err, "the token's tenant claim is not a string");
            tenant = json_string_value(tj);
            if (strcmp(tenant, "*") == 0) {
                if (role != PL_ROLE_ADMIN)
                    return refuse(err, "only an admin may hold every tenant ('*')");
            } else if (tenant[0] && !pl_tenant_name_valid(tenant)) {
                return refuse(err, "the token's tenant claim is not a tenant name");
            }
        }
    }
    struct pl_principal *p = pl_principal_new(role, PL_CRED_JWT, name, tenant);
    if (!p)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    if (v->types_claim[0] && role != PL_ROLE_PUBLIC) {
        json_t *types = claim_at(c, v->types_claim);
        int rc = types ? for_each_name(types, type_word, p) : 0;
        if (rc) {
            pl_principal_unref(p);
            return rc == PL_ENOMEM
                       ? pl_err_set(err, PL_ENOMEM, "out of memory")
                       : refuse(err, "the token's types claim is not a string or an array of strings");
        }
    }
    *out = p;
    return 0;
}

/* Header checks: 0 and *alg, *kid (copied into kid_buf or NULL), or PL_EUNAUTHORIZED. */
static int check_header(const struct parts *pt, enum jwt_alg *alg, char *kid_buf,
                        const char **kid, struct pl_err *err)
{
    json_t *h = part_object(pt->h, pt->hn);
    if (!h)
        return refuse(err, "the token's header is not a JSON object");
    int rc = 0;
    const char *a = json_string_value(json_object_get(h, "alg"));
    json_t *k = json_object_get(h, "kid");
    if (!a)
        rc = refuse(err, "the token's header has no alg");
    else if (strcmp(a, "none") == 0 || strcmp(a, "None") == 0 || strcmp(a, "NONE") == 0)
        rc = refuse(err, "unsigned tokens (alg none) are refused");
    else if (alg_parse(a, alg) != 0)
        rc = refuse(err, "the token's alg is not RS256, ES256 or HS256");
    else if (json_object_get(h, "crit"))
        rc = refuse(err, "the token's header has critical extensions (crit)");
    else if (k && (!json_is_string(k) || json_string_length(k) >= KID_MAX))
        rc = refuse(err, "the token's kid is not a string of at most 255 bytes");
    *kid = NULL;
    if (!rc && k) {
        memcpy(kid_buf, json_string_value(k), json_string_length(k) + 1);
        *kid = kid_buf;
    }
    json_decref(h);
    return rc;
}

static int check_signature(const struct pl_jwt *v, const char *token, size_t len,
                           const struct parts *pt, enum jwt_alg alg, const char *kid,
                           struct pl_err *err)
{
    const char *why = NULL;
    const struct key *k = key_choose(&v->keys, alg, kid, &why);
    if (!k)
        return refuse(err, why);
    /* Sizes fixed by the algorithm (RSA's is the modulus, which OpenSSL checks). */
    size_t sig_bytes = pt->sn * 3 / 4;
    if ((alg == ALG_ES256 && sig_bytes != 64) || (alg == ALG_HS256 && sig_bytes != 32))
        return refuse(err, "the token's signature has the wrong length for its alg");
    cjose_err ce;
    cjose_jws_t *jws = cjose_jws_import(token, len, &ce);
    if (!jws)
        return refuse(err, "the token is not a valid JWS");
    int rc = 0;
    /* cjose reads the header again: it must see the alg we chose the key for. */
    const char *seen = cjose_header_get(cjose_jws_get_protected(jws), CJOSE_HDR_ALG, &ce);
    if (!seen || strcmp(seen, alg_names[alg]) != 0)
        rc = refuse(err, "the token's header is ambiguous");
    else if (!cjose_jws_verify(jws, k->jwk, &ce))
        rc = refuse(err, "the token's signature does not verify");
    cjose_jws_release(jws);
    return rc;
}

int pl_jwt_verify(struct pl_jwt *v, const char *token, size_t len, time_t now,
                  struct pl_principal **out, time_t *exp, struct pl_err *err)
{
    *out = NULL;
    if (!token || len == 0)
        return refuse(err, "no token");
    if (len > PL_JWT_MAX_TOKEN)
        return refuse(err, "the token is longer than 8192 bytes");
    struct parts pt;
    if (split(token, len, &pt) != 0)
        return refuse(err, "the token is not three base64url parts (a compact JWS)");
    enum jwt_alg alg = ALG_RS256; /* set by check_header */
    char kid_buf[KID_MAX];
    const char *kid;
    int rc = check_header(&pt, &alg, kid_buf, &kid, err);
    if (rc)
        return rc;
    pthread_rwlock_rdlock(&v->lock);
    rc = check_signature(v, token, len, &pt, alg, kid, err);
    pthread_rwlock_unlock(&v->lock);
    if (rc)
        return rc;
    json_t *claims = part_object(pt.p, pt.pn);
    if (!claims)
        return refuse(err, "the token's payload is not a JSON object");
    time_t e = 0;
    rc = check_claims(v, claims, now, &e, err);
    if (!rc)
        rc = principal_of(v, claims, out, err);
    json_decref(claims);
    if (!rc && exp)
        *exp = e;
    return rc;
}
