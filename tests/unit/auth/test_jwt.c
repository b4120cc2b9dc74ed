/* SPDX-License-Identifier: Apache-2.0 */
/*
 * External JWT verification (auth/jwt.h): the accepted algorithms with their keys, the claims
 * that make a principal, and each token attack refused. Keys: tests/unit/auth/data/ (README).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>
#include <cmocka.h>

#include "auth/auth.h"
#include "auth/jwt.h"

#define NOW   1700000000L
#define ISS   "https://idp.example/realms/city"
#define AUD   "polis"
#define SKEW  60

static char data_dir[1024];

static const char *data(const char *name)
{
    static char path[1200];
    snprintf(path, sizeof path, "%s/%s", data_dir, name);
    return path;
}

static char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 16];
    *n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[*n] = '\0';
    return buf;
}

static struct pl_jwt *verifier_with(const char *jwks, long skew)
{
    struct pl_jwt_config c = {data(jwks), ISS, AUD, NULL, NULL, "polis_types", skew, NULL, 0, 0};
    struct pl_jwt *v = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_jwt_new(&c, &v, &err);
    if (rc)
        fail_msg("pl_jwt_new: %s", err.detail);
    return v;
}

static cjose_jwk_t *private_key(const char *name)
{
    size_t n;
    char *text = slurp(data(name), &n);
    cjose_err ce;
    cjose_jwk_t *k = cjose_jwk_import(text, n, &ce);
    assert_non_null(k);
    return k;
}

/* The HS256 key of jwks.json (kid hs-1). */
static cjose_jwk_t *hmac_key(void)
{
    size_t n;
    char *text = slurp(data("jwks.json"), &n);
    const char *k = strstr(text, "\"kty\": \"oct\"");
    assert_non_null(k);
    const char *open = k;
    while (*open != '{')
        open--;
    const char *close = strchr(k, '}');
    cjose_err ce;
    cjose_jwk_t *jwk = cjose_jwk_import(open, (size_t)(close - open + 1), &ce);
    assert_non_null(jwk);
    return jwk;
}

/* Signs payload with key under a header {"alg": alg[, "kid": kid]}. Returns a malloc'd token. */
static char *sign(cjose_jwk_t *key, const char *alg, const char *kid, const char *payload)
{
    cjose_err ce;
    cjose_header_t *h = cjose_header_new(&ce);
    assert_true(cjose_header_set(h, CJOSE_HDR_ALG, alg, &ce));
    if (kid)
        assert_true(cjose_header_set(h, CJOSE_HDR_KID, kid, &ce));
    cjose_jws_t *jws = cjose_jws_sign(key, h, (const uint8_t *)payload, strlen(payload), &ce);
    if (!jws)
        fail_msg("sign: %s", ce.message);
    const char *ser;
    assert_true(cjose_jws_export(jws, &ser, &ce));
    char *t = strdup(ser);
    cjose_jws_release(jws);
    cjose_header_release(h);
    return t;
}

static char *b64(const char *s, size_t n)
{
    char *out;
    size_t on;
    cjose_err ce;
    assert_true(cjose_base64url_encode((const uint8_t *)s, n, &out, &on, &ce));
    return out; /* free with free() (cjose's default allocator) */
}

/* header.payload.sig from raw JSON texts and an already encoded signature part. */
static char *craft(const char *header, const char *payload, const char *sig)
{
    char *h = b64(header, strlen(header)), *p = b64(payload, strlen(payload));
    size_t n = strlen(h) + strlen(p) + strlen(sig) + 3;
    char *t = malloc(n);
    snprintf(t, n, "%s.%s.%s", h, p, sig);
    free(h);
    free(p);
    return t;
}

/* Claims of a valid operator of tenant "city", with `extra` members appended. */
static const char *claims(const char *extra)
{
    static char buf[4096];
    snprintf(buf, sizeof buf,
             "{\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"sub\":\"u-42\",\"exp\":%ld,\"iat\":%ld,"
             "\"realm_access\":{\"roles\":[\"offline_access\",\"operator\"]},\"tenant\":\"city\"%s%s}",
             NOW + 300, NOW - 10, extra && *extra ? "," : "", extra ? extra : "");
    return buf;
}

/* Claims without defaults: exactly `body`. */
static int verify(struct pl_jwt *v, const char *token, struct pl_principal **p, struct pl_err *err)
{
    pl_err_clear(err);
    time_t exp;
    return pl_jwt_verify(v, token, strlen(token), NOW, p, &exp, err);
}

static void expect_refused(struct pl_jwt *v, const char *token, const char *why_part)
{
    struct pl_principal *p = (struct pl_principal *)1;
    struct pl_err err;
    int rc = verify(v, token, &p, &err);
    if (rc != PL_EUNAUTHORIZED)
        fail_msg("expected refusal (%s), got rc %d", why_part, rc);
    assert_null(p);
    if (!strstr(err.detail, why_part))
        fail_msg("detail '%s' does not say '%s'", err.detail, why_part);
}

static struct pl_principal *expect_accepted(struct pl_jwt *v, const char *token)
{
    struct pl_principal *p = NULL;
    struct pl_err err;
    if (verify(v, token, &p, &err) != 0)
        fail_msg("refused: %s", err.detail);
    assert_non_null(p);
    return p;
}

/* ---- accepted tokens ------------------------------------------------------------------- */

static void rs256_token_maps_sub_role_and_tenant(void **state)
{
    (void)state;
    struct pl_jwt *v = verifier_with("jwks.json", SKEW);
    cjose_jwk_t *k = private_key("rsa-1.private.jwk");
    char *t = sign(k, "RS256", "rsa-1", claims(NULL));
    struct pl_principal *p = NULL;
    struct pl_err err;
    time_t exp = 0;
    pl_err_clear(&err);
    assert_int_equal(pl_jwt_verify(v, t, strlen(t), NOW, &p, &exp, &err), 0);
    assert_int_equal(p->role, PL_ROLE_OPERATOR);
    assert_int_equal(p->cred, PL_CRED_JWT);
    assert_string_equal(p->name, "u-42");
    assert_string_equal(p->tenant, "city");
    assert_false(p->all_tenants);
    assert_int_equal(exp, NOW + 300);
    pl_principal_unref(p);
    free(t);
    cjose_jwk_release(k);
    pl_jwt_free(v);
}

static void es256_and_hs256_tokens_are_accepted(void **state)
{
    (void)state;
    struct pl_jwt *v = verifier_with("jwks.json", SKEW);
    cjose_jwk_t *ec = private_key("ec-1.private.jwk"), *hs = hmac_key();
    char *te = sign(ec, "ES256", "ec-1", claims(NULL));
    char *th = sign(hs, "HS256", "hs-1", claims(NULL));
    char *te_nokid = sign(ec, "ES256", NULL, claims(NULL)); /* the only P-256 key */
    char *th_nokid = sign(hs, "HS256", NULL, claims(NULL)); /* the only oct key */
    const char *toks[] = {te, th, te_nokid, th_nokid};
    for (size_t i = 0; i < 4; i++) {
        struct pl_principal *p = expect_accepted(v, toks[i]);
        assert_int_equal(p->role, PL_ROLE_OPERATOR);
        pl_principal_unref(p);
    }
    free(te);
    free(th);
    free(te_nokid);
    free(th_nokid);
    cjose_jwk_release(ec);
    cjose_jwk_release(hs);
    pl_jwt_free(v);
}

static void highest_polis_role_wins_with_or_without_polis_prefix(void **state)
{
    (void)state;
    struct pl_jwt *v = verifier_with("jwks.json", SKEW);
    cjose_jwk_t *k = private_key("rsa-1.private.jwk");
    char payload[1024];
    snprintf(payload, sizeof payload,
             "{\"sub\":\"a\",\"iss\":\"" ISS "\",\"aud\":[\"account\",\"" AUD "\"],\"exp\":%ld,"
             "\"realm_access\":{\"roles\":[\"device\",\"polis-admin\",\"agency\",\"Admin\"]}}",
             NOW + 60);
    char *t = sign(k, "RS256", "rsa-1", payload);
    struct pl_principal *p = expect_accepted(v, t);
    assert_int_equal(p->role, PL_ROLE_ADMIN);
    assert_string_equal(p->tenant, ""); /* no tenant claim: the default tenant */
    assert_false(p->all_tenants);
    pl_principal_unref(p);
    free(t);
    /* A space-separated string works too, as OAuth scopes are written. */
    snprintf(payload, sizeof payload,
             "{\"sub\":\"a\",\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":%ld,"
             "\"realm_access\":{\"roles\":\"enterprise device\"}}",
             NOW + 60);
    t = sign(k, "RS256", "rsa-1", payload);
    p = expect_accepted(v, t);
    assert_int_equal(p->role, PL_ROLE_ENTERPRISE);
    pl_principal_unref(p);
    free(t);
    cjose_jwk_release(k);
    pl_jwt_free(v);
}

static void roles_claim_follows_a_configured_dotted_path(void **state)
{
    (void)state;
    struct pl_jwt_config c = {data("jwks.json"), ISS, AUD, "resource_access.polis.roles",
                              "org.tenant", NULL, SKEW, NULL, 0, 0};
    struct pl_jwt *v = NULL;
    struct pl_err err;
    assert_int_equal(pl_jwt_new(&c, &v, &err), 0);
    cjose_jwk_t *k = private_key("rsa-1.private.jwk");
    char payload[1024];
    snprintf(payload, sizeof payload,
             "{\"sub\":\"a\",\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":%ld,"
             "\"realm_access\":{\"roles\":[\"admin\"]},"
             "\"resource_access\":{\"polis\":{\"roles\":[\"agency\"]}},\"org\":{\"tenant\":\"t1\"}}",
             NOW + 60);
    char *t = sign(k, "RS256", "rsa-1", payload);
    struct pl_principal *p = expect_accepted(v, t);
    assert_int_equal(p->role, PL_ROLE_AGENCY); /* realm_access is not the configured path */
    assert_string_equal(p->tenant, "t1");
    pl_principal_unref(p);
    free(t);
    cjose_jwk_release(k);
    pl_jwt_free(v);
}

static void token_without_polis_role_gets_only_public(void **state)
{
    (void)state;
    struct pl_jwt *v = verifier_with("jwks.json", SKEW);
    cjose_jwk_t *k = private_key("rsa-1.private.jwk");
    char payload[1024];
    snprintf(payload, sizeof payload,
             "{\"sub\":\"visitor\",\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"exp\":%ld,"
             "\"realm_access\":{\"roles\":[\"offline_access\",\"uma_authorization\"]},"
             "\"tenant\":\"city\",\"polis_types\":[\"TrafficFlowObserved\"]}",
             NOW + 60);
    char *t = sign(k, "RS256", "rsa-1", payload);
    struct pl_principal *p = expect_accepted(v, t);
    assert_int_equal(p->role, PL_ROLE_PUBLIC);
    assert_string_equal(p->name, "visitor");
    assert_true(p->all_tenants); /* exactly the reach of the anonymous public */
    assert_int_equal(p->n_types, 0);
    pl_principal_unref(p);
    free(t);
    cjose_jwk_release(k);
    pl_jwt_free(v);
}

static void agency_gets_the_types_of_its_types_claim(void **state)
{
    (void)state;
    struct pl_jwt *v = verifier_with("jwks.json", SKEW);
    cjose_jwk_t *k = private_key("rsa-1.private.jwk");
    char *t = sign(k, "RS256", "rsa-1",
                   claims("\"polis_types\":[\"TrafficFlowObserved\",\"https://x.example/Bus\"]"));
    struct pl_principal *p = expect_accepted(v, t);
    assert_int_equal(p->n_types, 2);
    assert_string_equal(p->types[0], "TrafficFlowObserved");
    assert_string_equal(p->types[1], "https://x.example/Bus");
    pl_principal_unref(p);
    free(t);
    cjose_jwk_release(k);
    pl_jwt_free(v);
}

/* ---- refused tokens -------------------------------------------------------------------- */

static void alg_none_and_unsupported_algs_are_refused(void **state)
{
    (void)state;
    struct pl_jwt *v = verifier_with("jwks.json", SKEW);
    char *t = craft("{\"alg\":\"none\",\"typ\":\"JWT\"}", claims(NULL), "AA");
    expect_refused(v, t, "alg none");
    free(t);
    t = craft("{\"alg\":\"None\"}", claims(NULL), "AA");
    expect_refused(v, t, "alg none");
    free(t);
    const char *others[] = {"{\"alg\":\"HS512\",\"kid\":\"hs-1\"}", "{\"alg\":\"PS256\"}",
                            "{\"alg\":\"RS256 \"}", "{\"alg\":\"rs256\"}", "{\"alg\":256}",
                            "{\"typ\":\"JWT\"}"};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        t = craft(others[i], claims(NULL), "AAAA");
        expect_refused(v, t, "alg");
        free(t);
    }
    pl_jwt_free(v);
}

static void hs256_with_the_rsa_public_key_as_secret_is_refused(void **state)
{
    (void)state;
    struct pl_jwt *v = verifier_with("jwks.json", SKEW);
    size_t n;
    char *pem = slurp(data("rsa-1.public.pem"), &n);
    cjose_err ce;
    cjose_jwk_t *secret = cjose_jwk_create_oct_spec((const uint8_t *)pem, n, &ce);
    assert_non_null(secret);
    char *t = sign(secret, "HS256", "rsa-1", claims(NULL)); /* names the RSA key */
    expect_refused(v, t, "does not fit");
    free(t);
    t = sign(secret, "HS256", NULL, claims(NULL)); /* only hs-1 fits, and it is not this */
    expect_refused(v, t, "signature does not verify");
    free(t);
    /* The RSA public key's JWK members as secret bytes, the other classic confusion. */
    char *jwks = slurp(data("jwks.json"), &n);
    cjose_jwk_t *secret2 = cjose_jwk_create_oct_spec((const uint8_t *)jwks, n, &ce);
    t = sign(secret2, "HS256", "rsa-1", claims(NULL));
    expect_refused(v, t, "does not fit");
    free(t);
    /* An EC key named for RS256, and the RSA key named for ES256. */
    cjose_jwk_t *rsa = private_key("rsa-1.private.jwk");
    t = sign(rsa, "RS256", "ec-1", claims(NULL));
    expect_refused(v, t, "does not fit");
    free(t);
    cjose_jwk_t *ec = private_key("ec-1.private.jwk");
    t = sign(ec, "ES256", "rsa-1", claims(NULL));
    expect_refused(v, t, "does not fit");
    free(t);
    cjose_jwk_release(ec);
    cjose_jwk_release(rsa);
    cjose_jwk_release(secret);
    cjose_jwk_release(secret2);
    pl_jwt_free(v);
}

static void wrong_signature_and_tampered_payload_are_refused(void **state)
{
    (void)state;
    struct pl_jwt *v = verifier_with("jwks.json", SKEW);
    cjose_jwk_t *other = private_key("rsa-other.private.jwk"); /* claims kid rsa-1 */
    char *t = sign(other, "RS256", "rsa-1", claims(NULL));
    expect_refused(v, t, "signature does not verify");
    free(t);
    /* A valid token whose payload is swapped for an admin one. */
    cjose_jwk_t *k = private_key("rsa-1.private.jwk");
    t = sign(k, "RS256", "rsa-1", claims(NULL));
    char *admin = b64(claims("\"x\":1"), strlen(claims("\"x\":1")));
    char *d1 = strchr(t, '.'), *d2 = strrchr(t, '.');
    size_t n = (size_t)(d1 - t) + strlen(admin) + strlen(d2) + 2;
    char *forged = malloc(n);
    snprintf(forged, n, "%.*s.%s%s", (int)(d1 - t), t, admin, d2);
    expect_refused(v, forged, "signature does not verify");
    free(forged);
    free(admin);
    free(t);
    /* An HS256 token with the wrong secret. */
    uint8_t wrong[32] = {1, 2, 3};
    cjose_err ce;
    cjose_jwk_t *ws = cjose_jwk_create_oct_spec(wrong, sizeof wrong, &ce);
    t = sign(ws, "HS256", "hs-1", claims(NULL));
    expect_refused(v, t, "signature does not verify");
    free(t);
    cjose_jwk_release(ws);
    cjose_jwk_release(k);
    cjose_jwk_release(other);
    pl_jwt_free(v);
}

static void unknown_kid_and_ambiguous_missing_kid_are_refused(void **state)
{
    (void)state;
    struct pl_jwt *v = verifier_with("jwks.json", SKEW);
    cjose_jwk_t *k = private_key("rsa-1.private.jwk");
    char *t = sign(k, "RS256", "rsa-9", claims(NULL));
    expect_refused(v, t, "not one of the configured keys");
    free(t);
    t = sign(k, "RS256", "rsa-enc", claims(NULL)); /* skipped at load: use enc */
    expect_refused(v, t, "not one of the configured keys");
    free(t);
    pl_jwt_free(v);
    /* Two RSA keys fit RS256: without a kid neither is chosen. */
    FILE *f = fopen("two-rsa.json", "w");
    size_t n;
    char *one = slurp(data("single-rsa.jwk"), &n);
    one[strcspn(one, "\n")] = '\0';
    fprintf(f, "{\"keys\":[%s,%s]}", one, one);
    fclose(f);
    struct pl_jwt_config c = {"two-rsa.json", ISS, AUD, NULL, NULL, NULL, SKEW, NULL, 0, 0};
    struct pl_err err;
    assert_int_equal(pl_jwt_new(&c, &v, &err), 0);
    t = sign(k, "RS256", NULL, claims(NULL));
    expect_refused(v, t, "several keys fit");
    pl_jwt_free(v);
    /* One RSA key without kid: chosen for a token without kid. */
    c.jwks_path = data("single-rsa.jwk");
    assert_int_equal(pl_jwt_new(&c, &v, &err), 0);
    struct pl_principal *p = expect_accepted(v, t);
    pl_principal_unref(p);
    free(t);
    remove("two-rsa.json");
    cjose_jwk_release(k);
    pl_jwt_free(v);
}

static void expiry_nbf_and_iat_respect_the_clock_skew(void **state)
{
    (void)state;
    struct pl_jwt *v = verifier_with("jwks.json", SKEW), *strict = verifier_with("jwks.json", 0);
    cjose_jwk_t *k = private_key("rsa-1.private.jwk");
    char payload[1024];
    const char *base = "\"sub\":\"a\",\"iss\":\"" ISS "\",\"aud\":\"" AUD "\"";

    snprintf(payload, sizeof payload, "{%s,\"exp\":%ld}", base, NOW - 30);
    char *t = sign(k, "RS256", "rsa-1", payload);
    pl_principal_unref(expect_accepted(v, t)); /* 30 s late, within 60 s of skew */
    expect_refused(strict, t, "expired");
    free(t);

    snprintf(payload, sizeof payload, "{%s,\"exp\":%ld}", base, NOW - 61);
    t = sign(k, "RS256", "rsa-1", payload);
    expect_refused(v, t, "expired");
    free(t);

    snprintf(payload, sizeof payload, "{%s}", base);
    t = sign(k, "RS256", "rsa-1", payload);
    expect_refused(v, t, "no expiry");
    free(t);

    snprintf(payload, sizeof payload, "{%s,\"exp\":\"%ld\"}", base, NOW + 60);
    t = sign(k, "RS256", "rsa-1", payload);
    expect_refused(v, t, "NumericDate");
    free(t);

    snprintf(payload, sizeof payload, "{%s,\"exp\":%ld,\"nbf\":%ld}", base, NOW + 600, NOW + 120);
    t = sign(k, "RS256", "rsa-1", payload);
    expect_refused(v, t, "not valid yet");
    free(t);
    snprintf(payload, sizeof payload, "{%s,\"exp\":%ld,\"nbf\":%ld}", base, NOW + 600, NOW + 30);
    t = sign(k, "RS256", "rsa-1", payload);
    pl_principal_unref(expect_accepted(v, t));
    expect_refused(strict, t, "not valid yet");
    free(t);

    snprintf(payload, sizeof payload, "{%s,\"exp\":%ld,\"iat\":%ld}", base, NOW + 9000, NOW + 3600);
    t = sign(k, "RS256", "rsa-1", payload);
    expect_refused(v, t, "issued in the future");
    free(t);
    cjose_jwk_release(k);
    pl_jwt_free(v);
    pl_jwt_free(strict);
}

static void wrong_issuer_audience_or_subject_is_refused(void **state)
{
    (void)state;
    struct pl_jwt *v = verifier_with("jwks.json", SKEW);
    cjose_jwk_t *k = private_key("rsa-1.private.jwk");
    char payload[1024];
    struct {
        const char *members, *why;
    } cases[] = {
        {"\"sub\":\"a\",\"iss\":\"https://evil.example/realms/city\",\"aud\":\"" AUD "\"", "issuer"},
        {"\"sub\":\"a\",\"aud\":\"" AUD "\"", "issuer"},
        {"\"sub\":\"a\",\"iss\":\"" ISS "\",\"aud\":\"other\"", "audience"},
        {"\"sub\":\"a\",\"iss\":\"" ISS "\",\"aud\":[\"other\",\"polis2\"]", "audience"},
        {"\"sub\":\"a\",\"iss\":\"" ISS "\"", "audience"},
        {"\"iss\":\"" ISS "\",\"aud\":\"" AUD "\"", "subject"},
        {"\"sub\":\"\",\"iss\":\"" ISS "\",\"aud\":\"" AUD "\"", "subject"},
        {"\"sub\":\"a\\nb\",\"iss\":\"" ISS "\",\"aud\":\"" AUD "\"", "control"},
        {"\"sub\":\"a\",\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"tenant\":\"../etc\","
         "\"realm_access\":{\"roles\":[\"operator\"]}", "tenant"},
        {"\"sub\":\"a\",\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"tenant\":\"*\","
         "\"realm_access\":{\"roles\":[\"operator\"]}", "admin"},
        {"\"sub\":\"a\",\"iss\":\"" ISS "\",\"aud\":\"" AUD "\",\"realm_access\":{\"roles\":7}",
         "roles claim"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(payload, sizeof payload, "{%s,\"exp\":%ld}", cases[i].members, NOW + 60);
        char *t = sign(k, "RS256", "rsa-1", payload);
        expect_refused(v, t, cases[i].why);
        free(t);
    }
    cjose_jwk_release(k);
    pl_jwt_free(v);
}

static void malformed_truncated_and_oversized_tokens_are_refused(void **state)
{
    (void)state;
    struct pl_jwt *v = verifier_with("jwks.json", SKEW);
    cjose_jwk_t *k = private_key("rsa-1.private.jwk");
    char *good = sign(k, "RS256", "rsa-1", claims(NULL));
    size_t n = strlen(good);
    char *cut = strndup(good, n - 10);
    expect_refused(v, cut, "signature"); /* truncated signature */
    free(cut);
    cut = strndup(good, (size_t)(strrchr(good, '.') - good));
    expect_refused(v, cut, "three base64url parts");
    free(cut);
    cut = strndup(good, (size_t)(strchr(good, '.') - good) + 5);
    expect_refused(v, cut, "three base64url parts");
    free(cut);
    const char *bad[] = {"", ".", "..", "a.b.", ".b.c", "a..c", "a.b.c.d", "e30=.e30.AA",
                         "e30.e30.A+A", "e30.e30.A/A", "e3 0.e30.AA", "e30.e30.A",
                         "eyJhbGciOiJSUzI1NiJ9.e30.AB\xff", "e31.e30.AA"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct pl_principal *p = NULL;
        struct pl_err err;
        pl_err_clear(&err);
        assert_int_equal(pl_jwt_verify(v, bad[i], strlen(bad[i]), NOW, &p, NULL, &err),
                         PL_EUNAUTHORIZED);
        assert_null(p);
    }
    /* Oversized: refused by length before anything is parsed. */
    char *big = malloc(PL_JWT_MAX_TOKEN + 2);
    memset(big, 'A', PL_JWT_MAX_TOKEN + 1);
    big[PL_JWT_MAX_TOKEN + 1] = '\0';
    memcpy(big, good, n);
    expect_refused(v, big, "longer than");
    free(big);
    /* A NUL inside the length counts as a malformed byte, not as the end. */
    struct pl_principal *p = NULL;
    struct pl_err err;
    char with_nul[4096];
    memcpy(with_nul, good, n);
    with_nul[n] = '\0';
    with_nul[n + 1] = 'A';
    assert_int_equal(pl_jwt_verify(v, with_nul, n + 2, NOW, &p, NULL, &err), PL_EUNAUTHORIZED);
    free(good);
    cjose_jwk_release(k);
    pl_jwt_free(v);
}

static void json_bombs_duplicates_and_crit_are_refused(void **state)
{
    (void)state;
    struct pl_jwt *v = verifier_with("jwks.json", SKEW);
    cjose_jwk_t *k = private_key("rsa-1.private.jwk");
    /* A validly signed payload nested 2000 deep. */
    char deep[5000];
    size_t o = 0;
    o += (size_t)snprintf(deep + o, sizeof deep - o, "{\"sub\":\"a\",\"exp\":%ld,\"x\":", NOW + 60);
    for (int i = 0; i < 2000; i++)
        deep[o++] = '[';
    for (int i = 0; i < 2000; i++)
        deep[o++] = ']';
    deep[o++] = '}';
    deep[o] = '\0';
    char *t = sign(k, "RS256", "rsa-1", deep);
    expect_refused(v, t, "payload is not a JSON object");
    free(t);
    /* Duplicate claims: two exp must not mean one thing here and another elsewhere. */
    t = sign(k, "RS256", "rsa-1", claims("\"exp\":99999999999"));
    expect_refused(v, t, "payload is not a JSON object");
    free(t);
    t = craft("{\"alg\":\"HS256\",\"alg\":\"RS256\",\"kid\":\"rsa-1\"}", claims(NULL), "AAAA");
    expect_refused(v, t, "header is not a JSON object");
    free(t);
    t = craft("[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]", claims(NULL), "AAAA");
    expect_refused(v, t, "header is not a JSON object");
    free(t);
    t = craft("{\"alg\":\"RS256\",\"kid\":\"rsa-1\",\"crit\":[\"exp\"],\"exp\":1}", claims(NULL),
              "AAAA");
    expect_refused(v, t, "crit");
    free(t);
    t = craft("{\"alg\":\"RS256\",\"kid\":7}", claims(NULL), "AAAA");
    expect_refused(v, t, "kid");
    free(t);
    cjose_jwk_release(k);
    pl_jwt_free(v);
}

/* ---- the key set ----------------------------------------------------------------------- */

static void jwks_without_usable_key_or_unreadable_refuses_to_start(void **state)
{
    (void)state;
    const char *files[] = {"no-usable.json", "does-not-exist.json", "README.md"};
    for (size_t i = 0; i < 3; i++) {
        struct pl_jwt_config c = {data(files[i]), NULL, NULL, NULL, NULL, NULL, SKEW, NULL, 0, 0};
        struct pl_jwt *v = (struct pl_jwt *)1;
        struct pl_err err;
        pl_err_clear(&err);
        assert_int_not_equal(pl_jwt_new(&c, &v, &err), 0);
        assert_null(v);
        assert_non_null(strstr(err.detail, files[i]));
    }
    struct pl_jwt_config c = {data("jwks.json"), NULL, NULL, NULL, NULL, NULL, -1, NULL, 0, 0};
    struct pl_jwt *v = NULL;
    struct pl_err err;
    assert_int_not_equal(pl_jwt_new(&c, &v, &err), 0);
}

static void jwks_member_not_base64url_is_skipped_not_a_crash(void **state)
{
    (void)state;
    /* cjose asserts on a '=' inside a value (fuzz/corpus/jwt/keys_padding_inside_member). */
    static const char text[] = "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"pBuSURd4=1p9y0EYsCFME2\","
                               "\"e\":\"AQAB\"},{\"kty\":\"oct\",\"k\":\"AAAA+AAA\"}]}";
    struct pl_jwt_config c = {NULL, NULL, NULL, NULL, NULL, NULL, SKEW, text, sizeof text - 1, 0};
    struct pl_jwt *v = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_not_equal(pl_jwt_new(&c, &v, &err), 0);
    assert_non_null(strstr(err.detail, "no usable key"));
}

static void production_profile_requires_issuer_and_audience(void **state)
{
    (void)state;
    struct pl_jwt_config c = {data("jwks.json"), ISS, NULL, NULL, NULL, NULL, SKEW, NULL, 0, 1};
    struct pl_jwt *v = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_not_equal(pl_jwt_new(&c, &v, &err), 0);
    assert_non_null(strstr(err.detail, "--jwt-audience"));
    c.audience = AUD;
    assert_int_equal(pl_jwt_new(&c, &v, &err), 0);
    pl_jwt_free(v);
}

static void reload_swaps_keys_and_keeps_them_when_the_file_is_bad(void **state)
{
    (void)state;
    const char *path = "reload-jwks.json";
    size_t n;
    char *text = slurp(data("jwks.json"), &n);
    FILE *f = fopen(path, "w");
    fwrite(text, 1, n, f);
    fclose(f);
    struct pl_jwt_config c = {path, ISS, AUD, NULL, NULL, NULL, SKEW, NULL, 0, 0};
    struct pl_jwt *v = NULL;
    struct pl_err err;
    assert_int_equal(pl_jwt_new(&c, &v, &err), 0);
    cjose_jwk_t *k = private_key("rsa-1.private.jwk");
    char *t = sign(k, "RS256", "rsa-1", claims(NULL));
    pl_principal_unref(expect_accepted(v, t));

    f = fopen(path, "w"); /* a broken file: the keys in use stay */
    fputs("{\"keys\":[", f);
    fclose(f);
    size_t nk = 99;
    assert_int_not_equal(pl_jwt_reload(v, &nk, &err), 0);
    assert_int_equal(nk, 99);
    pl_principal_unref(expect_accepted(v, t));

    text = slurp(data("ec-1.private.jwk"), &n); /* rotation: only the EC key now */
    f = fopen(path, "w");
    fwrite(text, 1, n, f);
    fclose(f);
    assert_int_equal(pl_jwt_reload(v, &nk, &err), 0);
    assert_int_equal(nk, 1);
    expect_refused(v, t, "not one of the configured keys");
    free(t);
    remove(path);
    cjose_jwk_release(k);
    pl_jwt_free(v);
}

static void peek_issuer_reads_iss_without_trusting_it(void **state)
{
    (void)state;
    char *t = craft("{\"alg\":\"none\"}", "{\"iss\":\"polis\"}", "AA");
    char buf[64];
    assert_int_equal(pl_jwt_peek_issuer(t, strlen(t), buf, sizeof buf), 0);
    assert_string_equal(buf, "polis");
    assert_int_equal(pl_jwt_peek_issuer(t, strlen(t), buf, 3), -1);
    assert_true(pl_jwt_is_compact(t, strlen(t)));
    free(t);
    t = craft("{\"alg\":\"none\"}", "{\"iss\":7}", "AA");
    assert_int_equal(pl_jwt_peek_issuer(t, strlen(t), buf, sizeof buf), -1);
    free(t);
    assert_int_equal(pl_jwt_peek_issuer("plk_abc", 7, buf, sizeof buf), -1);
    assert_false(pl_jwt_is_compact("plk_abc", 7));
    assert_false(pl_jwt_is_compact("a.b", 3));
}

int main(void)
{
    const char *src = getenv("POLIS_SOURCE_DIR");
    snprintf(data_dir, sizeof data_dir, "%s/tests/unit/auth/data", src ? src : ".");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rs256_token_maps_sub_role_and_tenant),
        cmocka_unit_test(es256_and_hs256_tokens_are_accepted),
        cmocka_unit_test(highest_polis_role_wins_with_or_without_polis_prefix),
        cmocka_unit_test(roles_claim_follows_a_configured_dotted_path),
        cmocka_unit_test(token_without_polis_role_gets_only_public),
        cmocka_unit_test(agency_gets_the_types_of_its_types_claim),
        cmocka_unit_test(alg_none_and_unsupported_algs_are_refused),
        cmocka_unit_test(hs256_with_the_rsa_public_key_as_secret_is_refused),
        cmocka_unit_test(wrong_signature_and_tampered_payload_are_refused),
        cmocka_unit_test(unknown_kid_and_ambiguous_missing_kid_are_refused),
        cmocka_unit_test(expiry_nbf_and_iat_respect_the_clock_skew),
        cmocka_unit_test(wrong_issuer_audience_or_subject_is_refused),
        cmocka_unit_test(malformed_truncated_and_oversized_tokens_are_refused),
        cmocka_unit_test(json_bombs_duplicates_and_crit_are_refused),
        cmocka_unit_test(jwks_without_usable_key_or_unreadable_refuses_to_start),
        cmocka_unit_test(jwks_member_not_base64url_is_skipped_not_a_crash),
        cmocka_unit_test(production_profile_requires_issuer_and_audience),
        cmocka_unit_test(reload_swaps_keys_and_keeps_them_when_the_file_is_bad),
        cmocka_unit_test(peek_issuer_reads_iss_without_trusting_it),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
