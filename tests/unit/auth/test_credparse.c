/* SPDX-License-Identifier: Apache-2.0 */
/* Credential text parsers (auth/credparse.h) and key lifetimes (auth/apikey.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "auth/apikey.h"
#include "auth/credparse.h"

static const char *KEY = "plk_0123456789ab_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

static void bearer_header_is_split_and_other_schemes_are_told_apart(void **state)
{
    (void)state;
    const char *t;
    size_t n;
    assert_int_equal(pl_auth_header_parse(NULL, &t, &n), PL_AUTHZ_NONE);
    assert_int_equal(pl_auth_header_parse("  ", &t, &n), PL_AUTHZ_NONE);
    assert_int_equal(pl_auth_header_parse("Bearer abc.def-_~+/==", &t, &n), PL_AUTHZ_BEARER);
    assert_int_equal(n, strlen("abc.def-_~+/=="));
    assert_memory_equal(t, "abc.def-_~+/==", n);
    assert_int_equal(pl_auth_header_parse("bEaReR   x  ", &t, &n), PL_AUTHZ_BEARER);
    assert_int_equal(n, 1);
    assert_int_equal(pl_auth_header_parse("Basic YWxhZGRpbjpvcGVuc2VzYW1l", &t, &n),
                     PL_AUTHZ_OTHER);
    assert_int_equal(pl_auth_header_parse("Bearerx abc", &t, &n), PL_AUTHZ_OTHER);
    assert_int_equal(pl_auth_header_parse("Bearer", &t, &n), PL_AUTHZ_MALFORMED);
    assert_int_equal(pl_auth_header_parse("Bearer a b", &t, &n), PL_AUTHZ_MALFORMED);
    assert_int_equal(pl_auth_header_parse("Bearer a=b", &t, &n), PL_AUTHZ_MALFORMED);
    assert_int_equal(pl_auth_header_parse("Bearer \"ab\"", &t, &n), PL_AUTHZ_MALFORMED);
    char big[PL_AUTH_TOKEN_MAX + 16];
    memcpy(big, "Bearer ", 7);
    memset(big + 7, 'a', PL_AUTH_TOKEN_MAX + 1);
    big[7 + PL_AUTH_TOKEN_MAX + 1] = '\0';
    assert_int_equal(pl_auth_header_parse(big, &t, &n), PL_AUTHZ_MALFORMED);
    big[7 + PL_AUTH_TOKEN_MAX] = '\0';
    assert_int_equal(pl_auth_header_parse(big, &t, &n), PL_AUTHZ_BEARER);
}

static void api_key_text_is_exactly_the_contract(void **state)
{
    (void)state;
    char id[PL_APIKEY_ID_LEN + 1];
    assert_int_equal(strlen(KEY), PL_APIKEY_LEN);
    assert_int_equal(pl_apikey_parse(KEY, strlen(KEY), id), 0);
    assert_string_equal(id, "0123456789ab");
    char k[PL_APIKEY_LEN + 2];
    memcpy(k, KEY, PL_APIKEY_LEN + 1);
    k[5] = 'A'; /* upper-case hex */
    assert_int_equal(pl_apikey_parse(k, strlen(k), id), -1);
    memcpy(k, KEY, PL_APIKEY_LEN + 1);
    k[20] = '=';
    assert_int_equal(pl_apikey_parse(k, strlen(k), id), -1);
    memcpy(k, KEY, PL_APIKEY_LEN + 1);
    k[PL_APIKEY_LEN - 1] = 'B'; /* non-canonical last character (padding bits set) */
    assert_int_equal(pl_apikey_parse(k, strlen(k), id), -1);
    assert_int_equal(pl_apikey_parse(KEY, strlen(KEY) - 1, id), -1);
    assert_int_equal(pl_opaque_token_parse("plr_", KEY, strlen(KEY), id), -1);
    assert_true(pl_apikey_id_valid("0123456789ab"));
    assert_false(pl_apikey_id_valid("0123456789a"));
    assert_false(pl_apikey_id_valid("0123456789aB"));
    assert_false(pl_apikey_id_valid("../../etc/pa"));
}

static void form_values_are_decoded_and_repeats_refused(void **state)
{
    (void)state;
    char v[32];
    const char *b = "grant_type=password&username=ana+m%40x&password=p%26%3Dw&empty=";
    assert_int_equal(pl_form_get(b, strlen(b), "grant_type", v, sizeof v), 8);
    assert_string_equal(v, "password");
    assert_int_equal(pl_form_get(b, strlen(b), "username", v, sizeof v), 7);
    assert_string_equal(v, "ana m@x");
    assert_int_equal(pl_form_get(b, strlen(b), "password", v, sizeof v), 4);
    assert_string_equal(v, "p&=w");
    assert_int_equal(pl_form_get(b, strlen(b), "empty", v, sizeof v), 0);
    assert_int_equal(pl_form_get(b, strlen(b), "user", v, sizeof v), -1);
    const char *rep = "a=1&a=2";
    assert_int_equal(pl_form_get(rep, strlen(rep), "a", v, sizeof v), -2);
    const char *bad[] = {"a=%", "a=%4", "a=%zz", "a=%00", "a=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(pl_form_get(bad[i], strlen(bad[i]), "a", v, sizeof v), -2);
}

static void cookie_is_found_once(void **state)
{
    (void)state;
    const char *v;
    size_t n;
    assert_int_equal(pl_cookie_get("a=1; polis_session=xyz ; b=2", "polis_session", &v, &n), 0);
    assert_int_equal(n, 3);
    assert_memory_equal(v, "xyz", 3);
    assert_int_equal(pl_cookie_get("xpolis_session=1", "polis_session", &v, &n), -1);
    assert_int_equal(pl_cookie_get("polis_session=1; polis_session=2", "polis_session", &v, &n),
                     -1);
    assert_int_equal(pl_cookie_get("", "polis_session", &v, &n), -1);
}

static void key_lifetimes_are_iso_durations_or_seconds(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(pl_auth_duration_parse("P30D", &ms), 0);
    assert_int_equal(ms, 30LL * 86400000);
    assert_int_equal(pl_auth_duration_parse("PT1H", &ms), 0);
    assert_int_equal(ms, 3600000);
    assert_int_equal(pl_auth_duration_parse("90", &ms), 0);
    assert_int_equal(ms, 90000);
    assert_int_equal(pl_auth_duration_parse("P1M", &ms), -1);
    assert_int_equal(pl_auth_duration_parse("P1Y", &ms), -1);
    assert_int_equal(pl_auth_duration_parse("PT0S", &ms), -1);
    assert_int_equal(pl_auth_duration_parse("0", &ms), -1);
    assert_int_equal(pl_auth_duration_parse("-5", &ms), -1);
    assert_int_equal(pl_auth_duration_parse("5s", &ms), -1);
    assert_int_equal(pl_auth_duration_parse("", &ms), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bearer_header_is_split_and_other_schemes_are_told_apart),
        cmocka_unit_test(api_key_text_is_exactly_the_contract),
        cmocka_unit_test(form_values_are_decoded_and_repeats_refused),
        cmocka_unit_test(cookie_is_found_once),
        cmocka_unit_test(key_lifetimes_are_iso_durations_or_seconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
