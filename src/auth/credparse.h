/* SPDX-License-Identifier: Apache-2.0 */
/*
 * credparse.h — the pure parsers of credential text (no I/O, no allocation; fuzzed by
 * fuzz/auth_credentials.c): the Authorization header, the API key text, the Polis refresh and
 * session token text, a Cookie header, an application/x-www-form-urlencoded body.
 */
#ifndef PL_AUTH_CREDPARSE_H
#define PL_AUTH_CREDPARSE_H

#include <stddef.h>

/* Longest credential accepted in a Bearer header (longer: refused as invalid_token). Identity
 * providers' JWTs with many claims stay well below it. */
#define PL_AUTH_TOKEN_MAX 8192

enum pl_authz_hdr {
    PL_AUTHZ_NONE = 0,  /* no header (or an empty one) */
    PL_AUTHZ_BEARER,    /* "Bearer <token68>": *tok / *len set */
    PL_AUTHZ_OTHER,     /* another scheme (Basic, Digest...): not accepted */
    PL_AUTHZ_MALFORMED, /* Bearer without a token, bad characters, too long */
};

/* Classifies an Authorization header value (RFC 7235 / RFC 6750 2.1: the scheme is
 * case-insensitive, one or more spaces, then token68). `hdr` may be NULL. */
enum pl_authz_hdr pl_auth_header_parse(const char *hdr, const char **tok, size_t *len);

/*
 * API key text (a contract, docs/security.md): "plk_<id>_<secret>", <id> 12 lowercase hex
 * digits, <secret> 43 base64url characters without padding (32 random bytes).
 */
#define PL_APIKEY_PREFIX     "plk_"
#define PL_APIKEY_ID_LEN     12
#define PL_APIKEY_SECRET_LEN 43
#define PL_APIKEY_LEN        (4 + PL_APIKEY_ID_LEN + 1 + PL_APIKEY_SECRET_LEN)

/* 1 when `s` (len bytes) starts like an API key (the prefix): it is then verified as one. */
int pl_apikey_looks_like(const char *s, size_t len);
/* 0 and id (PL_APIKEY_ID_LEN + 1 bytes, NUL-terminated) when s is a well-formed key; -1. */
int pl_apikey_parse(const char *s, size_t len, char *id);

/*
 * Polis opaque tokens (refresh tokens "plr_<id>_<secret>", session cookies "pls_<id>_<secret>"):
 * the same shape as API keys with another prefix. 0 and id, or -1.
 */
int pl_opaque_token_parse(const char *prefix, const char *s, size_t len, char *id);

/* 1 when id is PL_APIKEY_ID_LEN lowercase hex digits (an API key id in a path or the CLI). */
int pl_apikey_id_valid(const char *id);

/*
 * One x-www-form-urlencoded body: finds the value of `name` and percent-decodes it ('+' is a
 * space) into out (cap bytes, NUL-terminated). Returns the decoded length, -1 when absent, -2
 * when malformed (bad %XX, a NUL, too long for out) or repeated (RFC 6749 3.2: parameters must
 * not be included more than once).
 */
long pl_form_get(const char *body, size_t len, const char *name, char *out, size_t cap);

/* The value of cookie `name` in a Cookie header (RFC 6265 5.4: "a=b; c=d"): *val / *len, 0;
 * -1 when absent or when the cookie appears twice (ambiguous: refused). */
int pl_cookie_get(const char *hdr, const char *name, const char **val, size_t *len);

#endif
