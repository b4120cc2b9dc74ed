/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of query/order.c: the orderBy language and the 4.23.2 comparison. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include <jansson.h>

#include "query/order.h"

static int parse(const char *by, const char *coll, const char *from, const char *geom)
{
    struct pl_order *o = NULL;
    struct pl_err e;
    pl_err_clear(&e);
    int rc = pl_order_parse(by, coll, from, geom, &o, &e);
    pl_order_free(o);
    return rc;
}

static void syntax_4_23_3(void **st)
{
    (void)st;
    assert_int_equal(parse("name", NULL, NULL, NULL), 0);
    assert_int_equal(parse("name,age;desc", NULL, NULL, NULL), 0);
    assert_int_equal(parse("address[city]", NULL, NULL, NULL), 0);
    assert_int_equal(parse("name.observedAt;asc", NULL, NULL, NULL), 0);
    assert_int_equal(parse("location;dist-asc", NULL, "[8,40]", NULL), 0);
    assert_int_equal(parse("location;dist-desc", NULL, "[[8,40],[9,42]]", "LineString"), 0);
    assert_int_equal(parse("name", "de-u-co-phonebk", NULL, NULL), 0);
    const char *bad[] = {"", ",", "a,", ";desc", "a;", "a;DESC", "a;dist", "!a", "a==1", "a|b",
                         "a;b", "(a)"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(parse(bad[i], NULL, NULL, NULL), PL_EBADREQUESTDATA);
    assert_int_equal(parse("location;dist-asc", NULL, NULL, NULL), PL_EBADREQUESTDATA);
    assert_int_equal(parse("id;dist-asc", NULL, "[0,0]", NULL), PL_EBADREQUESTDATA);
    assert_int_equal(parse("loc[a];dist-asc", NULL, "[0,0]", NULL), PL_EBADREQUESTDATA);
    assert_int_equal(parse("a", "not a tag", NULL, NULL), PL_EBADREQUESTDATA);
    assert_int_equal(parse("l;dist-asc", NULL, "[0,0]", "Circle"), PL_EBADREQUESTDATA);
}

/* Sorts entities {id, attrs: {a: [{type: Property, value: V}]}} of `values` (JSON texts, "" for
 * an entity without a) and returns the ids in order, joined by ','. */
static void sorted(const char *by, const char *const *values, size_t n, char *out, size_t cap)
{
    struct pl_order *o = NULL;
    struct pl_err e;
    assert_int_equal(pl_order_parse(by, NULL, NULL, NULL, &o, &e), 0);
    json_t *es[16];
    struct pl_order_item items[16];
    for (size_t i = 0; i < n; i++) {
        char id[32];
        snprintf(id, sizeof id, "urn:x:%zu", i);
        es[i] = json_pack("{s:s,s:[s],s:{}}", "id", id, "type", "T", "attrs");
        if (*values[i]) {
            json_t *v = json_loads(values[i], JSON_DECODE_ANY, NULL);
            assert_non_null(v);
            json_object_set_new(json_object_get(es[i], "attrs"), "a",
                                json_pack("[{s:s,s:o}]", "type", "Property", "value", v));
        }
        items[i].entity = es[i];
        items[i].ud = NULL;
    }
    assert_int_equal(pl_order_sort(o, items, n), 0);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        const char *id = json_string_value(json_object_get(items[i].entity, "id"));
        strncat(out, id + 6, cap - strlen(out) - 2);
        if (i + 1 < n)
            strncat(out, ",", cap - strlen(out) - 1);
    }
    for (size_t i = 0; i < n; i++)
        json_decref(es[i]);
    pl_order_free(o);
}

static void datatype_order_4_23_2(void **st)
{
    (void)st;
    const char *v[] = {"null",  "true", "[1]",
                       "{\"@type\":\"DateTime\",\"@value\":\"2020-01-01T00:00:00Z\"}",
                       "{\"k\":1}", "\"s\"", "2", "", "1"};
    char out[128];
    sorted("a", v, 9, out, sizeof out);
    assert_string_equal(out, "8,6,5,4,2,1,3,0,7");
    sorted("a;desc", v, 9, out, sizeof out);
    assert_string_equal(out, "3,1,2,4,5,6,8,0,7"); /* null and absent stay last */
}

static void ties_break_by_id(void **st)
{
    (void)st;
    const char *v[] = {"1", "0", "1", "0"};
    char out[64];
    sorted("a", v, 4, out, sizeof out);
    assert_string_equal(out, "1,3,0,2");
    sorted("a;desc", v, 4, out, sizeof out);
    assert_string_equal(out, "0,2,1,3");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(syntax_4_23_3),
        cmocka_unit_test(datatype_order_4_23_2),
        cmocka_unit_test(ties_break_by_id),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
