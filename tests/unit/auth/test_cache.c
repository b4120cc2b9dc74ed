/* SPDX-License-Identifier: Apache-2.0 */
/* The credential cache (auth/cache.h): hits, expiry, bounds, revocation by name. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth.h"
#include "auth/cache.h"

static void cached_principal_is_returned_until_it_expires(void **state)
{
    (void)state;
    struct pl_auth_cache *c = pl_auth_cache_new(64);
    assert_non_null(c);
    struct pl_principal *p = pl_principal_new(PL_ROLE_OPERATOR, PL_CRED_APIKEY, "key:a", "t");
    pl_auth_cache_put(c, "tok", 3, p, 1000);
    struct pl_principal *g = pl_auth_cache_get(c, "tok", 3, 999);
    assert_ptr_equal(g, p);
    pl_principal_unref(g);
    assert_null(pl_auth_cache_get(c, "tok", 3, 1000)); /* expired: dropped */
    assert_null(pl_auth_cache_get(c, "tok", 3, 10));
    assert_null(pl_auth_cache_get(c, "tox", 3, 10));
    pl_principal_unref(p);
    pl_auth_cache_free(c);
}

static void cache_is_bounded_and_forgets_by_name(void **state)
{
    (void)state;
    struct pl_auth_cache *c = pl_auth_cache_new(64);
    struct pl_principal *a = pl_principal_new(PL_ROLE_OPERATOR, PL_CRED_APIKEY, "key:a", "t");
    struct pl_principal *b = pl_principal_new(PL_ROLE_DEVICE, PL_CRED_APIKEY, "key:b", "t");
    char tok[32];
    for (int i = 0; i < 10000; i++) {
        int n = snprintf(tok, sizeof tok, "token-%d", i);
        pl_auth_cache_put(c, tok, (size_t)n, i % 2 ? a : b, 100000 + i);
    }
    size_t held = pl_auth_cache_count(c);
    assert_true(held > 0 && held <= 16 * 8); /* 64 rounded up: 16 shards of one window */
    size_t dropped = pl_auth_cache_forget(c, "key:a");
    assert_int_equal(pl_auth_cache_count(c), held - dropped);
    for (int i = 0; i < 10000; i++) {
        int n = snprintf(tok, sizeof tok, "token-%d", i);
        struct pl_principal *g = pl_auth_cache_get(c, tok, (size_t)n, 0);
        assert_true(g == NULL || g == b);
        pl_principal_unref(g);
    }
    pl_auth_cache_remove(c, "token-9998", 10);
    assert_null(pl_auth_cache_get(c, "token-9998", 10, 0));
    pl_auth_cache_free(c); /* releases its references: a and b still have ours */
    assert_int_equal(a->refs_, 1);
    assert_int_equal(b->refs_, 1);
    pl_principal_unref(a);
    pl_principal_unref(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cached_principal_is_returned_until_it_expires),
        cmocka_unit_test(cache_is_bounded_and_forgets_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
