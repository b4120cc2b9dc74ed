/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of http/ratelimit.c: token buckets in a bounded table (issue 12 rate limits). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "http/ratelimit.h"

#define SEC 1000000000ll

static int take(struct pl_ratelimit *rl, const char *key, int64_t now, unsigned *retry)
{
    return pl_ratelimit_take(rl, key, strlen(key), now, retry);
}

static void burst_passes_then_429_with_retry_after(void **state)
{
    (void)state;
    struct pl_ratelimit *rl = pl_ratelimit_new(64, 2, 5);
    assert_non_null(rl);
    unsigned retry = 0;
    for (int i = 0; i < 5; i++)
        assert_true(take(rl, "a", SEC, &retry));
    assert_false(take(rl, "a", SEC, &retry));
    assert_int_equal(retry, 1); /* 2 per second: a token is back within 1 s */
    /* half a second later one token is back */
    assert_true(take(rl, "a", SEC + SEC / 2, &retry));
    assert_false(take(rl, "a", SEC + SEC / 2, &retry));
    pl_ratelimit_free(rl);
}

static void retry_after_rounds_up_to_whole_seconds(void **state)
{
    (void)state;
    struct pl_ratelimit *rl = pl_ratelimit_new(64, 1, 1);
    unsigned retry = 0;
    assert_true(take(rl, "k", 10 * SEC, &retry));
    assert_false(take(rl, "k", 10 * SEC + SEC / 10, &retry));
    assert_int_equal(retry, 1);
    pl_ratelimit_free(rl);
    /* a slow rate: 1 token per second is the smallest rate, so test with a large deficit */
    rl = pl_ratelimit_new(64, 1, 1);
    assert_true(take(rl, "k", 0, &retry));
    assert_false(take(rl, "k", 0, &retry));
    assert_int_equal(retry, 1);
    pl_ratelimit_free(rl);
}

static void keys_have_their_own_buckets(void **state)
{
    (void)state;
    struct pl_ratelimit *rl = pl_ratelimit_new(64, 1, 2);
    unsigned retry;
    assert_true(take(rl, "alice", 0, &retry));
    assert_true(take(rl, "alice", 0, &retry));
    assert_false(take(rl, "alice", 0, &retry));
    assert_true(take(rl, "bob", 0, &retry));
    assert_false(take(rl, "alice", 0, &retry));
    pl_ratelimit_free(rl);
}

static void bucket_refills_to_burst_not_beyond(void **state)
{
    (void)state;
    struct pl_ratelimit *rl = pl_ratelimit_new(64, 10, 3);
    unsigned retry;
    assert_true(take(rl, "x", 0, &retry));
    /* an hour idle: still only 3 */
    int n = 0;
    while (take(rl, "x", 3600 * SEC, &retry))
        n++;
    assert_int_equal(n, 3);
    pl_ratelimit_free(rl);
}

static void a_busy_key_stays_limited_while_many_others_pass_through(void **state)
{
    (void)state;
    /* A small table and 100 times as many distinct keys as it holds: memory stays the same
     * and the key that keeps sending is never forgotten (it is the recently used one). */
    struct pl_ratelimit *rl = pl_ratelimit_new(64, 1, 1);
    unsigned retry;
    assert_true(take(rl, "hot", 0, &retry));
    char k[32];
    for (int i = 0; i < 6400; i++) {
        snprintf(k, sizeof k, "addr-%d", i);
        assert_true(take(rl, k, 0, &retry)); /* a new key always gets its burst */
        if (i % 4 == 0)
            assert_false(take(rl, "hot", 0, &retry));
    }
    pl_ratelimit_free(rl);
}

static void zero_rate_or_burst_makes_no_table(void **state)
{
    (void)state;
    assert_null(pl_ratelimit_new(64, 0, 5));
    assert_null(pl_ratelimit_new(64, 5, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burst_passes_then_429_with_retry_after),
        cmocka_unit_test(retry_after_rounds_up_to_whole_seconds),
        cmocka_unit_test(keys_have_their_own_buckets),
        cmocka_unit_test(bucket_refills_to_burst_not_beyond),
        cmocka_unit_test(a_busy_key_stays_limited_while_many_others_pass_through),
        cmocka_unit_test(zero_rate_or_burst_makes_no_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
