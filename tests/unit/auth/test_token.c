/* SPDX-License-Identifier: Apache-2.0 */
/* Polis access tokens (auth/token.h): sign, verify, refuse tampering, other algs and expiry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "auth/auth.h"
#include "auth/token.h"

static void signed_token_verifies_until_it_expires_and_not_after_any_change(void **state)
{
    (void)state;
    assert_true(sodium_init() >= 0);
    unsigned char key[PL_TOKEN_KEY_BYTES], other[PL_TOKEN_KEY_BYTES];
    randombytes_buf(key, sizeof key);
    randombytes_buf(other, sizeof other);
    struct pl_principal *p = pl_principal_new(PL_ROLE_OPERATOR, PL_CRED_TOKEN, "ana", "t1");
    int64_t now = 1800000000000;
    char *t = pl_token_sign(key, p, now, 60);
    assert_non_null(t);
    size_t n = strlen(t);
    assert_true(pl_token_is_polis(t, n));
    char sub[64];
    int64_t exp = 0;
    assert_int_equal(pl_token_verify(key, t, n, now, sub, sizeof sub, &exp, NULL), 0);
    assert_string_equal(sub, "ana");
    assert_int_equal(exp, now + 60000);
    assert_int_equal(pl_token_verify(key, t, n, now + 60000, sub, sizeof sub, &exp, NULL),
                     PL_EUNAUTHORIZED);
    assert_int_equal(pl_token_verify(other, t, n, now, sub, sizeof sub, &exp, NULL),
                     PL_EUNAUTHORIZED);
    for (size_t i = 0; i < n; i += 7) { /* any changed character */
        char *c = strdup(t);
        c[i] = c[i] == 'A' ? 'B' : 'A';
        assert_int_not_equal(pl_token_verify(key, c, n, now, sub, sizeof sub, &exp, NULL), 0);
        free(c);
    }
    assert_int_equal(pl_token_verify(key, t, n - 1, now, sub, sizeof sub, &exp, NULL),
                     PL_EUNAUTHORIZED);
    /* alg none with the same payload: not ours */
    const char *dot = strchr(t, '.');
    char none[4096];
    snprintf(none, sizeof none, "eyJhbGciOiJub25lIn0%.*s.", (int)(strrchr(t, '.') - dot), dot);
    assert_false(pl_token_is_polis(none, strlen(none)));
    assert_int_equal(pl_token_verify(key, none, strlen(none), now, sub, sizeof sub, &exp, NULL),
                     PL_EUNAUTHORIZED);
    free(t);
    pl_principal_unref(p);
}

static void opaque_tokens_have_the_key_shape(void **state)
{
    (void)state;
    char text[64], id[13], hash[65], again[65];
    pl_opaque_token_new("plr_", text, id, hash);
    assert_int_equal(strlen(text), 60);
    assert_memory_equal(text, "plr_", 4);
    pl_opaque_token_hash(text, strlen(text), again);
    assert_string_equal(hash, again);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(signed_token_verifies_until_it_expires_and_not_after_any_change),
        cmocka_unit_test(opaque_tokens_have_the_key_shape),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
