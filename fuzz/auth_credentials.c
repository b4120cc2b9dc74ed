/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the credential text parsers of auth/credparse.c (Authorization header, API key
 * and opaque token text, form body, Cookie header). Invariants: never crash or read past the
 * input; a Bearer token lies inside the header and is at most PL_AUTH_TOKEN_MAX long; a parsed
 * key id is 12 lowercase hex digits; a form value fits its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/credparse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    size_t slen = strlen(s);
    const char *tok;
    size_t n;
    if (pl_auth_header_parse(s, &tok, &n) == PL_AUTHZ_BEARER) {
        if (tok < s || tok + n > s + slen || n == 0 || n > PL_AUTH_TOKEN_MAX)
            abort();
        char id[PL_APIKEY_ID_LEN + 1];
        if (pl_apikey_parse(tok, n, id) == 0 && !pl_apikey_id_valid(id))
            abort();
    }
    char id[PL_APIKEY_ID_LEN + 1];
    if (pl_opaque_token_parse("plr_", s, size, id) == 0 && !pl_apikey_id_valid(id))
        abort();
    char v[64];
    const char *names[] = {"grant_type", "username", "password", "refresh_token", ""};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        long r = pl_form_get(s, size, names[i], v, sizeof v);
        if (r >= 0 && ((size_t)r >= sizeof v || strlen(v) != (size_t)r))
            abort();
    }
    const char *cv;
    size_t cn;
    if (pl_cookie_get(s, "polis_session", &cv, &cn) == 0 && (cv < s || cv + cn > s + slen))
        abort();
    free(s);
    return 0;
}
