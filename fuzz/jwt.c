/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz/jwt.c — libFuzzer target for external JWT verification (auth/jwt.c). The first byte
 * chooses what the rest is:
 *   'T' a bearer token, verified against a fixed key set (HS256 oct, ES256 P-256, RS256);
 *   'K' a JWKS document (JWK Set or single JWK), loaded as a key set, then used once;
 *   'C' a claims payload, signed here with the fixed HS256 key and verified, so that claim
 *       parsing (which only ever sees authentic payloads) is reached too;
 *   anything else: the whole input is a token.
 * Every verdict is 0 with a principal or PL_EUNAUTHORIZED/PL_ENOMEM without one; the issuer peek
 * never reads past the input.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjose/cjose.h>

#include "auth/auth.h"
#include "auth/jwt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1700000000L

/* Test keys (tests/unit/auth/data/jwks.json): public halves and the HS256 secret. */
static const char fixed_jwks[] =
    "{\"keys\":["
    "{\"kty\":\"oct\",\"kid\":\"hs-1\",\"k\":\"GZFP677sl-9lnh_xM9XdHeswYX7m7EjgTleLspHF444\","
    "\"alg\":\"HS256\"},"
    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"YPuGZ1M6JZ0nj7JyAJnrgwHlCVdvTNBrmIm8e_VMfWQ\","
    "\"y\":\"zdwK6LgfuPCqTpb-evH5CGwDbrxI5u6T_nrDzgdxmD8\",\"kid\":\"ec-1\",\"use\":\"sig\"}"
    "]}";
static const char hs_key[] =
    "{\"kty\":\"oct\",\"kid\":\"hs-1\",\"k\":\"GZFP677sl-9lnh_xM9XdHeswYX7m7EjgTleLspHF444\"}";

static struct pl_jwt *verifier(const char *text, size_t n)
{
    struct pl_jwt_config c = {NULL, "https://idp.example/realms/city", "polis", NULL, NULL,
                              "polis_types", 60, text, n, 0};
    struct pl_jwt *v = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_jwt_new(&c, &v, &err) != 0 && v)
        abort();
    return v;
}

static void check(struct pl_jwt *v, const char *tok, size_t n)
{
    struct pl_principal *p = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    time_t exp = 0;
    int rc = pl_jwt_verify(v, tok, n, NOW, &p, &exp, &err);
    if (rc == 0) {
        if (!p || p->cred != PL_CRED_JWT || !p->name[0] || exp + 60 < NOW)
            abort();
        pl_principal_unref(p);
    } else if (p || (rc != PL_EUNAUTHORIZED && rc != PL_ENOMEM)) {
        abort();
    }
    char iss[256];
    if (pl_jwt_peek_issuer(tok, n, iss, sizeof iss) == 0 && strlen(iss) >= sizeof iss)
        abort();
    (void)pl_jwt_is_compact(tok, n);
}

static void signed_claims(struct pl_jwt *v, const uint8_t *payload, size_t n)
{
    cjose_err ce;
    cjose_jwk_t *k = cjose_jwk_import(hs_key, strlen(hs_key), &ce);
    cjose_header_t *h = cjose_header_new(&ce);
    if (!k || !h || !cjose_header_set(h, CJOSE_HDR_ALG, "HS256", &ce))
        abort();
    cjose_jws_t *jws = cjose_jws_sign(k, h, payload, n, &ce);
    const char *ser;
    if (jws && cjose_jws_export(jws, &ser, &ce))
        check(v, ser, strlen(ser));
    cjose_jws_release(jws);
    cjose_header_release(h);
    cjose_jwk_release(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct pl_jwt *fixed;
    if (!fixed && !(fixed = verifier(fixed_jwks, sizeof fixed_jwks - 1)))
        abort();
    if (size > 64 * 1024)
        return 0;
    const char *rest = (const char *)data + 1;
    size_t n = size ? size - 1 : 0;
    switch (size ? data[0] : 0) {
    case 'T':
        check(fixed, rest, n);
        break;
    case 'K': {
        struct pl_jwt *v = verifier(rest, n);
        if (v) {
            static const char tok[] = "eyJhbGciOiJIUzI1NiIsImtpZCI6ImhzLTEifQ.e30.AAAA";
            check(v, tok, sizeof tok - 1);
            pl_jwt_free(v);
        }
        break;
    }
    case 'C':
        signed_claims(fixed, (const uint8_t *)rest, n);
        break;
    default:
        check(fixed, (const char *)data, size);
        break;
    }
    return 0;
}
