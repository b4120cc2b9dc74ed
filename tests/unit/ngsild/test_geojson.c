/* SPDX-License-Identifier: Apache-2.0 */
/* test_geojson.c — pl_geojson_validate: the seven RFC 7946 geometries, valid and invalid. */
#include <stdlib.h>

#include "test_helpers_entity.h"

static int check(const char *s)
{
    json_t *g = tj(s);
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_geojson_validate(g, &err);
    json_decref(g);
    return rc;
}

static void geojson_accepts_all_seven_geometry_types_4_7_1(void **st)
{
    (void)st;
    assert_int_equal(check("{\"type\":\"Point\",\"coordinates\":[-3.7,40.4]}"), 0);
    assert_int_equal(check("{\"type\":\"Point\",\"coordinates\":[-3.7,40.4,650]}"), 0);
    assert_int_equal(check("{\"type\":\"MultiPoint\",\"coordinates\":[[1,2],[3,4]]}"), 0);
    assert_int_equal(check("{\"type\":\"LineString\",\"coordinates\":[[1,2],[3,4]]}"), 0);
    assert_int_equal(check("{\"type\":\"MultiLineString\",\"coordinates\":[[[1,2],[3,4]],"
                           "[[5,6],[7,8]]]}"),
                     0);
    assert_int_equal(check("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,1],[0,0]]]}"),
                     0);
    assert_int_equal(check("{\"type\":\"MultiPolygon\",\"coordinates\":[[[[0,0],[1,0],[1,1],"
                           "[0,0]]],[[[5,5],[6,5],[6,6],[5,5]]]]}"),
                     0);
    assert_int_equal(check("{\"type\":\"GeometryCollection\",\"geometries\":[{\"type\":\"Point\","
                           "\"coordinates\":[1,2]},{\"type\":\"LineString\",\"coordinates\":"
                           "[[1,2],[3,4]]}]}"),
                     0);
}

static void geojson_rejects_unclosed_ring_rfc7946_3_1_6(void **st)
{
    (void)st;
    assert_int_equal(check("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,0],[1,1],[0,1]]]}"),
                     PL_EBADREQUESTDATA);
    assert_int_equal(check("{\"type\":\"MultiPolygon\",\"coordinates\":[[[[0,0],[1,0],[1,1],"
                           "[0,1]]]]}"),
                     PL_EBADREQUESTDATA);
}

static void geojson_rejects_out_of_range_coordinates(void **st)
{
    (void)st;
    assert_int_equal(check("{\"type\":\"Point\",\"coordinates\":[10,91]}"), PL_EBADREQUESTDATA);
    assert_int_equal(check("{\"type\":\"Point\",\"coordinates\":[-181,0]}"), PL_EBADREQUESTDATA);
    assert_int_equal(check("{\"type\":\"MultiPoint\",\"coordinates\":[[1,2],[3,-95]]}"),
                     PL_EBADREQUESTDATA);
}

static void geojson_rejects_wrong_nesting(void **st)
{
    (void)st;
    assert_int_equal(check("{\"type\":\"Point\",\"coordinates\":[[1,2]]}"), PL_EBADREQUESTDATA);
    assert_int_equal(check("{\"type\":\"LineString\",\"coordinates\":[1,2]}"), PL_EBADREQUESTDATA);
    assert_int_equal(check("{\"type\":\"Polygon\",\"coordinates\":[[0,0],[1,0],[1,1],[0,0]]}"),
                     PL_EBADREQUESTDATA);
    assert_int_equal(check("{\"type\":\"MultiPolygon\",\"coordinates\":[[[0,0],[1,0],[1,1],"
                           "[0,0]]]}"),
                     PL_EBADREQUESTDATA);
    assert_int_equal(check("{\"type\":\"GeometryCollection\",\"geometries\":{}}"),
                     PL_EBADREQUESTDATA);
}

static void geojson_rejects_too_few_positions(void **st)
{
    (void)st;
    assert_int_equal(check("{\"type\":\"LineString\",\"coordinates\":[[1,2]]}"),
                     PL_EBADREQUESTDATA);
    assert_int_equal(check("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,1],[0,0]]]}"),
                     PL_EBADREQUESTDATA);
    assert_int_equal(check("{\"type\":\"Point\",\"coordinates\":[1]}"), PL_EBADREQUESTDATA);
    assert_int_equal(check("{\"type\":\"Point\",\"coordinates\":[1,2,3,4]}"), PL_EBADREQUESTDATA);
    assert_int_equal(check("{\"type\":\"MultiPoint\",\"coordinates\":[]}"), PL_EBADREQUESTDATA);
}

static void geojson_rejects_unknown_type_and_missing_members(void **st)
{
    (void)st;
    assert_int_equal(check("{\"type\":\"Circle\",\"coordinates\":[1,2]}"), PL_EBADREQUESTDATA);
    assert_int_equal(check("{\"type\":\"Point\"}"), PL_EBADREQUESTDATA);
    assert_int_equal(check("{\"coordinates\":[1,2]}"), PL_EBADREQUESTDATA);
    assert_int_equal(check("[1,2]"), PL_EBADREQUESTDATA);
    assert_int_equal(check("{\"type\":\"Point\",\"coordinates\":[\"1\",2]}"), PL_EBADREQUESTDATA);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(geojson_accepts_all_seven_geometry_types_4_7_1),
        cmocka_unit_test(geojson_rejects_unclosed_ring_rfc7946_3_1_6),
        cmocka_unit_test(geojson_rejects_out_of_range_coordinates),
        cmocka_unit_test(geojson_rejects_wrong_nesting),
        cmocka_unit_test(geojson_rejects_too_few_positions),
        cmocka_unit_test(geojson_rejects_unknown_type_and_missing_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
