/* SPDX-License-Identifier: Apache-2.0 */
/*
 * token.h — Polis access tokens: short-lived HS256 JWS (RFC 7515 compact form, a JWT of RFC
 * 7519) signed with the server's secret (32 random bytes made on first start and kept in the
 * store, kind "secret"), carrying iss "polis", sub (the user), role, tenant, iat, exp and jti
 * (a random token id). Only this exact header is accepted: {"alg":"HS256","typ":"JWT"}; any
 * other alg (none, RS256...) is refused before the signature is looked at.
 *
 * Opaque tokens (refresh tokens, session ids) are random texts of the API key's shape
 * (credparse.h) whose hash only is stored.
 */
#ifndef PL_AUTH_TOKEN_H
#define PL_AUTH_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "base/err.h"

struct pl_store;

#define PL_TOKEN_KEY_BYTES 32

/* Loads the server's token secret from the store, creating it on first start. 0 or error. */
int pl_token_secret_load(struct pl_store *s, unsigned char key[PL_TOKEN_KEY_BYTES],
                         struct pl_err *err);

/* Signs an access token for `p` (name = sub) valid for ttl_s seconds from now_ms. NEW malloc'd
 * text, NULL when out of memory. */
char *pl_token_sign(const unsigned char key[PL_TOKEN_KEY_BYTES], const struct pl_principal *p,
                    int64_t now_ms, int ttl_s);

/* 1 when tok looks like a Polis access token (a JWS whose header is ours), 0 otherwise (an
 * external JWT, garbage). */
int pl_token_is_polis(const char *tok, size_t len);

/* Verifies a Polis access token: exact header, HMAC (constant time), iss, exp > now. 0 and
 * *sub (copied into sub, cap bytes), *exp_ms; PL_EUNAUTHORIZED when refused. */
int pl_token_verify(const unsigned char key[PL_TOKEN_KEY_BYTES], const char *tok, size_t len,
                    int64_t now_ms, char *sub, size_t cap, int64_t *exp_ms, struct pl_err *err);

/* Makes an opaque token "<prefix><id>_<secret>" (prefix of 4 characters, e.g. "plr_"): text
 * (PL_APIKEY_LEN + 1 bytes), id (13 bytes) and the hex hash to store (65 bytes). */
void pl_opaque_token_new(const char *prefix, char *text, char *id, char *hash_hex);
/* The hex hash of an opaque token's text (65 bytes). */
void pl_opaque_token_hash(const char *text, size_t len, char *hash_hex);

/* HMAC-SHA256 of msg with the server key, base64url without padding into out (44 bytes):
 * the CSRF token of a session. */
void pl_token_mac_b64(const unsigned char key[PL_TOKEN_KEY_BYTES], const char *msg,
                      char out[44]);

#endif
