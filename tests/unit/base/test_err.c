/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of base/err.c and base/timeutil.c: the error table, ProblemDetails (5.5.3),
 * DateTime parsing (4.6.3). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"
#include "base/timeutil.h"

static void err_table_maps_types_to_table_6_3_2_1(void **state)
{
    (void)state;
    assert_int_equal(pl_err_http_status(PL_EBADREQUESTDATA), 400);
    assert_int_equal(pl_err_http_status(PL_EINVALIDREQUEST), 400);
    assert_int_equal(pl_err_http_status(PL_ENOTFOUND), 404);
    assert_int_equal(pl_err_http_status(PL_EALREADYEXISTS), 409);
    assert_int_equal(pl_err_http_status(PL_EOPNOTSUPPORTED), 422);
    assert_int_equal(pl_err_http_status(PL_ELDCONTEXT), 504);
    assert_int_equal(pl_err_http_status(PL_EINTERNAL), 500);
    assert_string_equal(pl_err_type_uri(PL_ENOTFOUND),
                        "https://uri.etsi.org/ngsi-ld/errors/ResourceNotFound");
    /* An unknown code falls back to InternalError, never to garbage. */
    assert_string_equal(pl_err_type_suffix(12345), "InternalError");
}

static void problem_details_has_every_member_5_5_3(void **state)
{
    (void)state;
    struct pl_err e;
    pl_err_set(&e, PL_EBADREQUESTDATA, "attribute '%s' is bad", "temp");
    char *s = pl_err_problem_json(&e);
    assert_non_null(s);
    json_t *j = json_loads(s, 0, NULL);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "type")),
                        "https://uri.etsi.org/ngsi-ld/errors/BadRequestData");
    assert_string_equal(json_string_value(json_object_get(j, "title")), "Bad request data");
    assert_string_equal(json_string_value(json_object_get(j, "detail")), "attribute 'temp' is bad");
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 400);
    json_decref(j);
    free(s);
}

static void problem_details_survives_invalid_utf8_detail(void **state)
{
    (void)state;
    struct pl_err e;
    pl_err_set(&e, PL_EBADREQUESTDATA, "bad byte \xff here");
    char *s = pl_err_problem_json(&e);
    assert_non_null(s);
    json_t *j = json_loads(s, 0, NULL);
    assert_non_null(j);
    json_decref(j);
    free(s);
}

static void time_parse_accepts_only_utc_4_6_3(void **state)
{
    (void)state;
    int64_t ms;
    assert_int_equal(pl_time_parse("2024-02-29T12:00:00Z", &ms), 0);
    assert_int_equal(pl_time_parse("2024-02-29T12:00:00.123Z", &ms), 0);
    assert_int_equal(ms % 1000, 123);
    assert_int_equal(pl_time_parse("2023-02-29T12:00:00Z", &ms), -1);
    assert_int_equal(pl_time_parse("2024-01-01T12:00:00+05:30", &ms), -1);
    assert_int_equal(pl_time_parse("2024-01-01T12:00:00", &ms), -1);
    assert_int_equal(pl_time_parse("2024-13-01T12:00:00Z", &ms), -1);
    assert_int_equal(pl_time_parse("2024-01-01T24:00:00Z", &ms), -1);
    assert_int_equal(pl_time_parse("garbage", &ms), -1);
}

static void time_format_roundtrips(void **state)
{
    (void)state;
    char buf[PL_TIME_ISO_LEN];
    int64_t ms;
    pl_time_format(1700000000123, buf);
    assert_string_equal(buf, "2023-11-14T22:13:20.123Z");
    assert_int_equal(pl_time_parse("2023-11-14T22:13:20,123Z", &ms), 0); /* 4.6.3 comma */
    assert_true(ms == 1700000000123);
    assert_int_equal(pl_time_parse(buf, &ms), 0);
    assert_true(ms == 1700000000123);
}

static void time_format_like_follows_the_sample_precision(void **state)
{
    (void)state;
    char buf[PL_TIME_ISO_LEN];
    pl_time_format_like(1700000000000, "2023-01-01T00:00:00Z", buf);
    assert_string_equal(buf, "2023-11-14T22:13:20Z");
    pl_time_format_like(1700000000000, NULL, buf);
    assert_string_equal(buf, "2023-11-14T22:13:20Z");
    pl_time_format_like(1700000000000, "2023-01-01T00:00:00.0Z", buf);
    assert_string_equal(buf, "2023-11-14T22:13:20.000Z");
    pl_time_format_like(1700000000123, "2023-01-01T00:00:00Z", buf); /* not a whole second */
    assert_string_equal(buf, "2023-11-14T22:13:20.123Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(err_table_maps_types_to_table_6_3_2_1),
        cmocka_unit_test(problem_details_has_every_member_5_5_3),
        cmocka_unit_test(problem_details_survives_invalid_utf8_detail),
        cmocka_unit_test(time_parse_accepts_only_utc_4_6_3),
        cmocka_unit_test(time_format_roundtrips),
        cmocka_unit_test(time_format_like_follows_the_sample_precision),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
