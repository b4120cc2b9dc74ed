/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of base/jsonfmt.c: shortest round-trip reals in serialized JSON. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonfmt.h"

static void check(const char *in, const char *want)
{
    char *z = strdup(in);
    size_t n = pl_json_shorten_reals(z);
    assert_string_equal(z, want);
    assert_int_equal(n, strlen(want));
    free(z);
}

static void shorten_reals_keeps_what_the_client_sent(void **state)
{
    (void)state;
    check("[40.328000000000003,6.7000000000000002]", "[40.328,6.7]");
    check("{\"a\":0.10000000000000001}", "{\"a\":0.1}");
    check("[1.0,-2.5,1e+300,1.0000000000000001e-300]", "[1.0,-2.5,1e+300,1e-300]");
}

static void shorten_reals_never_loses_precision(void **state)
{
    (void)state;
    /* 0.1 + 0.2 needs 17 digits: kept. */
    check("[0.30000000000000004]", "[0.30000000000000004]");
    double values[] = {0.1, 1.0 / 3.0, 123456.789, 1e-7, 2.2250738585072014e-308, 106.68};
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        json_t *a = json_pack("[f]", values[i]);
        char *z = json_dumps(a, JSON_COMPACT);
        pl_json_shorten_reals(z);
        json_t *b = json_loads(z, 0, NULL);
        assert_non_null(b);
        assert_true(json_real_value(json_array_get(b, 0)) == values[i]);
        json_decref(a);
        json_decref(b);
        free(z);
    }
}

static void shorten_reals_leaves_strings_and_integers_alone(void **state)
{
    (void)state;
    check("{\"v\":\"40.328000000000003\",\"n\":12345678901234567890}",
          "{\"v\":\"40.328000000000003\",\"n\":12345678901234567890}");
    check("[\"a\\\"1.50000000000000000\",2.5000000000000000]", "[\"a\\\"1.50000000000000000\",2.5]");
    check("", "");
    check("{}", "{}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(shorten_reals_keeps_what_the_client_sent),
        cmocka_unit_test(shorten_reals_never_loses_precision),
        cmocka_unit_test(shorten_reals_leaves_strings_and_integers_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
