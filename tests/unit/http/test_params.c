/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of http/params.c: one URI parameter against its route's list (NGSI-LD 6.3.7). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "http/http.h"

static const char *const fmt[] = {"normalized", "keyValues", NULL};
static const char *const opts[] = {"keyValues", "sysAttrs", NULL};
static const struct pl_param accepted[] = {
    {"format", 0, fmt},
    {"options", PL_PARAM_LIST, opts},
    {"q", 0, NULL},
    {"entityMap", PL_PARAM_NOT_IMPLEMENTED, NULL},
    {NULL, 0, NULL},
};

static int check(const char *name, const char *value, unsigned long long *seen, struct pl_err *e)
{
    pl_err_clear(e);
    return pl_http_param_check(accepted, name, value, seen, e);
}

static void known_parameters_pass(void **state)
{
    (void)state;
    struct pl_err e;
    unsigned long long seen = 0;
    assert_int_equal(check("q", "a==1", &seen, &e), 0);
    assert_int_equal(check("format", "keyValues", &seen, &e), 0);
    assert_int_equal(check("options", "sysAttrs,keyValues", &seen, &e), 0);
}

static void unknown_parameter_is_invalid_request_6_3_7(void **state)
{
    (void)state;
    struct pl_err e;
    unsigned long long seen = 0;
    assert_int_equal(check("Q", "x", &seen, &e), PL_EINVALIDREQUEST);
    assert_non_null(strstr(e.detail, "'Q'"));
    assert_int_equal(check("", "", &seen, &e), PL_EINVALIDREQUEST);
}

static void repeated_parameter_is_invalid_request(void **state)
{
    (void)state;
    struct pl_err e;
    unsigned long long seen = 0;
    assert_int_equal(check("q", "a", &seen, &e), 0);
    assert_int_equal(check("q", "b", &seen, &e), PL_EINVALIDREQUEST);
}

static void values_are_checked_item_by_item(void **state)
{
    (void)state;
    struct pl_err e;
    unsigned long long seen = 0;
    assert_int_equal(check("format", "keyValues,normalized", &seen, &e), PL_EINVALIDREQUEST);
    seen = 0;
    assert_int_equal(check("format", "", &seen, &e), PL_EINVALIDREQUEST);
    const char *bad[] = {"", ",", "keyValues,", ",sysAttrs", "keyvalues", "sysAttrsX", "sys"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        seen = 0;
        assert_int_equal(check("options", bad[i], &seen, &e), PL_EINVALIDREQUEST);
        assert_non_null(strstr(e.detail, "options"));
    }
}

static void not_implemented_parameter_is_501(void **state)
{
    (void)state;
    struct pl_err e;
    unsigned long long seen = 0;
    assert_int_equal(check("entityMap", "true", &seen, &e), PL_ENOTIMPLEMENTED);
    assert_int_equal(pl_err_http_status(PL_ENOTIMPLEMENTED), 501);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(known_parameters_pass),
        cmocka_unit_test(unknown_parameter_is_invalid_request_6_3_7),
        cmocka_unit_test(repeated_parameter_is_invalid_request),
        cmocka_unit_test(values_are_checked_item_by_item),
        cmocka_unit_test(not_implemented_parameter_is_501),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
