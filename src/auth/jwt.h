/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jwt.h — bearer JWTs of a city's identity provider (Keycloak, any OIDC provider), verified
 * offline against the keys of a JWKS file (issue 12; docs/security.md "Connecting Keycloak or
 * another OIDC provider").
 *
 * A verifier is built once from configuration and shared by every network thread. verify()
 * turns a compact JWS into a principal or refuses it; it never does I/O. The key set is read
 * at start and re-read by pl_jwt_reload (main's SIGHUP branch): a reload that fails keeps the
 * keys in use.
 *
 * What is accepted: RS256 (RSA >= 2048 bits), ES256 (P-256), HS256 (an explicit `oct` key of at
 * least 32 bytes). Everything else is refused before any signature work: `alg: none` and any
 * other alg, a key whose kty/curve does not fit the header's alg (an RSA or EC key is never an
 * HMAC secret), a `kid` not in the set, no kid with more than one fitting key, a `crit` header,
 * a bad signature, a missing or passed `exp`, a future `nbf` or `iat`, a wrong `iss` or `aud`,
 * a missing `sub`, tokens longer than PL_JWT_MAX_TOKEN, malformed base64url, and headers or
 * payloads nested deeper than PL_JWT_MAX_DEPTH or holding duplicate members.
 */
#ifndef PL_AUTH_JWT_H
#define PL_AUTH_JWT_H

#include <stddef.h>
#include <time.h>

#include "base/err.h"

struct pl_principal;

/* Longest token accepted, checked before any parsing (a Keycloak token with many roles is
 * 1-4 KiB; 8 KiB is also the usual limit of a proxy's request header). */
#define PL_JWT_MAX_TOKEN 8192
/* Deepest JSON nesting of a token's header or payload (claims are at most a few levels). */
#define PL_JWT_MAX_DEPTH 16
/* Largest JWKS file, and most keys taken from it. */
#define PL_JWT_MAX_JWKS_BYTES (1024 * 1024)
#define PL_JWT_MAX_KEYS       64

/* Defaults of the claims when their option is not given. */
#define PL_JWT_DEFAULT_ROLES_CLAIM  "realm_access.roles" /* Keycloak's realm roles */
#define PL_JWT_DEFAULT_TENANT_CLAIM "tenant"
#define PL_JWT_DEFAULT_CLOCK_SKEW   60

/* Everything borrowed: the strings need only live during pl_jwt_new (they are copied). */
struct pl_jwt_config {
    const char *jwks_path;    /* JWK Set {"keys":[...]} or one JWK; required unless jwks_text */
    const char *issuer;       /* required `iss`; NULL or "": not checked */
    const char *audience;     /* `aud` (string or array) must contain it; NULL or "": not checked */
    const char *roles_claim;  /* dotted path to the role names; NULL or "": the default */
    const char *tenant_claim; /* dotted path to the tenant; NULL or "": the default */
    const char *types_claim;  /* dotted path to the granted entity types; NULL or "": none */
    long clock_skew_s;        /* tolerance of exp/nbf/iat, seconds (>= 0) */
    const char *jwks_text;    /* instead of a file: the key set's text (tests, fuzzing); a
                                 reload then fails and keeps these keys */
    size_t jwks_len;
    int production;           /* --profile production: issuer and audience are required */
};

struct pl_jwt; /* the verifier (opaque) */

/*
 * Builds a verifier and reads its key set. 0 and *out (free with pl_jwt_free), or
 * PL_EINTERNAL/PL_ENOMEM with words in err (the file is unreadable, is not a JWK Set or JWK,
 * or holds no usable key) so that main can refuse to start.
 */
int pl_jwt_new(const struct pl_jwt_config *cfg, struct pl_jwt **out, struct pl_err *err);
/* NULL is a no-op. No verify may run concurrently. */
void pl_jwt_free(struct pl_jwt *v);

/*
 * Re-reads the JWKS file (SIGHUP). On success the new keys serve every later verify (one in
 * progress finishes with the old ones); on failure the keys in use stay and err says why.
 * Safe while other threads verify. *n_keys (may be NULL): the usable keys now loaded.
 */
int pl_jwt_reload(struct pl_jwt *v, size_t *n_keys, struct pl_err *err);

/*
 * Verifies `token` (len bytes, not necessarily NUL-terminated) at time `now` (seconds since the
 * epoch). 0: *out is a new principal (one reference, the caller's; cred PL_CRED_JWT, name =
 * `sub`, role = the highest Polis role of the roles claim or public when it names none, tenant
 * from the tenant claim) and *exp (may be NULL) the token's `exp`, the last second it may be
 * cached. Else PL_EUNAUTHORIZED with the reason in err (safe to show: it names no user and no
 * key material), or PL_ENOMEM. Thread-safe.
 */
int pl_jwt_verify(struct pl_jwt *v, const char *token, size_t len, time_t now,
                  struct pl_principal **out, time_t *exp, struct pl_err *err);

/*
 * Reads the `iss` of a compact JWS without verifying anything (for routing a bearer credential
 * to the verifier that owns its issuer). 0 and the issuer copied into buf (NUL-terminated), or
 * -1 when the token is not a three-part JWS with a JSON payload holding a string `iss` that
 * fits. Pure; bounded by PL_JWT_MAX_TOKEN.
 */
int pl_jwt_peek_issuer(const char *token, size_t len, char *buf, size_t cap);

/* 1 when `token` has the shape of a compact JWS (three non-empty base64url parts). */
int pl_jwt_is_compact(const char *token, size_t len);

#endif
