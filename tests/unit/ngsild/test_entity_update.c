/* SPDX-License-Identifier: Apache-2.0 */
/* test_entity_update.c — pl_entity_apply and the attribute operations (5.6.2-5.6.5,
 * 5.6.17-5.6.19) on the internal form. */
#include <stdlib.h>
#include <string.h>

#include "test_helpers_entity.h"

#define A(n) "\"" DV n "\""

/* A stored entity: temp (default + urn:ds:1), rel; stamped at NOW. */
static json_t *stored(void)
{
    json_t *e = tparse_ok("{\"id\":\"urn:a:1\",\"type\":\"T\",\"temp\":[{\"type\":\"Property\","
                          "\"value\":1,\"acc\":{\"type\":\"Property\",\"value\":0.1},"
                          "\"src\":\"x\"},{\"type\":\"Property\",\"value\":2,"
                          "\"datasetId\":\"urn:ds:1\"}],\"rel\":{\"object\":\"urn:b:1\"}}",
                          PL_PARSE_ENTITY, 0);
    pl_entity_stamp(e, NOW);
    return e;
}

static const json_t *inst(const json_t *e, const char *iri, size_t i)
{
    return json_array_get(json_object_get(json_object_get(e, "attrs"), iri), i);
}

static void apply(json_t *e, const char *frag, unsigned flags, enum pl_update_op op,
                  json_t *nu)
{
    json_t *f = tparse_ok(frag, PL_PARSE_FRAGMENT, flags);
    struct pl_err err;
    assert_int_equal(pl_entity_apply(e, f, op, LATER, nu, &err), 0);
    json_decref(f);
}

static void stamp_sets_sysattrs_recursively(void **st)
{
    (void)st;
    json_t *e = stored();
    assert_string_equal(json_string_value(json_object_get(e, "createdAt")), NOW);
    const json_t *t = inst(e, DV "temp", 0);
    assert_string_equal(json_string_value(json_object_get(t, "createdAt")), NOW);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(json_object_get(t, "sub"), DV "acc"), "modifiedAt")),
                        NOW);
    json_decref(e);
}

static void append_overwrites_and_adds_keeping_createdat_5_6_3(void **st)
{
    (void)st;
    json_t *e = stored();
    json_t *nu = json_array();
    apply(e, "{\"temp\":{\"value\":5},\"hum\":{\"value\":50}}", 0, PL_UPDATE_APPEND, nu);
    const json_t *t = inst(e, DV "temp", 0);
    assert_int_equal(json_integer_value(json_object_get(t, "value")), 5);
    assert_null(json_object_get(t, "sub")); /* replaced, not merged */
    assert_string_equal(json_string_value(json_object_get(t, "createdAt")), NOW);
    assert_string_equal(json_string_value(json_object_get(t, "modifiedAt")), LATER);
    assert_string_equal(json_string_value(json_object_get(inst(e, DV "hum", 0), "createdAt")),
                        LATER);
    assert_string_equal(json_string_value(json_object_get(e, "modifiedAt")), LATER);
    assert_string_equal(json_string_value(json_object_get(e, "createdAt")), NOW);
    assert_int_equal(json_array_size(nu), 0);
    json_decref(nu);
    json_decref(e);
}

static void append_nooverwrite_keeps_existing_5_6_3(void **st)
{
    (void)st;
    json_t *e = stored();
    json_t *nu = json_array();
    apply(e, "{\"type\":\"U\",\"temp\":{\"value\":5},\"hum\":{\"value\":50}}", 0,
          PL_UPDATE_APPEND_NOOVER, nu);
    assert_int_equal(json_integer_value(json_object_get(inst(e, DV "temp", 0), "value")), 1);
    assert_non_null(inst(e, DV "hum", 0));
    assert_int_equal(json_array_size(nu), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(nu, 0), "attributeName")),
                        DV "temp");
    tassert_json(json_object_get(e, "type"), "[" A("T") "," A("U") "]");
    json_decref(nu);
    json_decref(e);
}

static void update_appends_missing_and_reports_null_of_missing_5_6_2(void **st)
{
    (void)st;
    json_t *e = stored();
    json_t *nu = json_array();
    apply(e, "{\"temp\":{\"value\":9,\"datasetId\":\"urn:ds:1\"},\"nope\":{\"value\":1},"
             "\"rel\":{\"object\":\"urn:b:2\",\"datasetId\":\"urn:ds:9\"},"
             "\"gone\":{\"value\":\"urn:ngsi-ld:null\"}}",
          PL_PARSE_ALLOW_NULL, PL_UPDATE_UPDATE, nu);
    assert_int_equal(json_integer_value(json_object_get(inst(e, DV "temp", 1), "value")), 9);
    assert_int_equal(json_integer_value(json_object_get(inst(e, DV "temp", 0), "value")), 1);
    /* 5.6.2.4: what the entity does not have yet is appended (new attribute, new datasetId). */
    assert_int_equal(json_integer_value(json_object_get(inst(e, DV "nope", 0), "value")), 1);
    assert_int_equal(json_array_size(json_object_get(json_object_get(e, "attrs"), DV "rel")), 2);
    /* Only the Null of an attribute that is not there is not applied. */
    assert_null(json_object_get(json_object_get(e, "attrs"), DV "gone"));
    assert_int_equal(json_array_size(nu), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(nu, 0), "attributeName")),
                        DV "gone");
    json_decref(nu);
    json_decref(e);
}

static void merge_merges_members_and_deletes_null_5_6_17(void **st)
{
    (void)st;
    json_t *e = stored();
    apply(e, "{\"temp\":{\"type\":\"Property\",\"value\":7,\"observedAt\":\"2024-01-01T00:00:00Z\","
             "\"src\":\"urn:ngsi-ld:null\",\"acc\":{\"value\":0.2}},\"rel\":\"urn:ngsi-ld:null\","
             "\"newa\":{\"value\":3,\"gone\":\"urn:ngsi-ld:null\"}}",
          PL_PARSE_ALLOW_NULL, PL_UPDATE_MERGE, NULL);
    const json_t *t = inst(e, DV "temp", 0);
    assert_int_equal(json_integer_value(json_object_get(t, "value")), 7);
    assert_non_null(json_object_get(t, "observedAt"));
    const json_t *sub = json_object_get(t, "sub");
    assert_null(json_object_get(sub, DV "src"));
    const json_t *acc = json_object_get(sub, DV "acc");
    assert_true(json_real_value(json_object_get(acc, "value")) == 0.2);
    assert_string_equal(json_string_value(json_object_get(acc, "createdAt")), NOW);
    assert_string_equal(json_string_value(json_object_get(t, "createdAt")), NOW);
    assert_string_equal(json_string_value(json_object_get(t, "modifiedAt")), LATER);
    assert_null(json_object_get(json_object_get(e, "attrs"), DV "rel"));
    const json_t *n = inst(e, DV "newa", 0);
    assert_non_null(n);
    assert_null(json_object_get(n, "sub"));
    json_decref(e);
}

static void replace_entity_keeps_createdat_5_6_18(void **st)
{
    (void)st;
    json_t *e = stored();
    apply(e, "{\"id\":\"urn:a:1\",\"type\":\"V\",\"x\":1}", 0, PL_UPDATE_REPLACE, NULL);
    tassert_json(json_object_get(e, "type"), "[" A("V") "]");
    assert_null(inst(e, DV "temp", 0));
    assert_non_null(inst(e, DV "x", 0));
    assert_string_equal(json_string_value(json_object_get(e, "createdAt")), NOW);
    assert_string_equal(json_string_value(json_object_get(e, "modifiedAt")), LATER);
    json_decref(e);
}

static void apply_rejects_other_entity_id(void **st)
{
    (void)st;
    json_t *e = stored();
    json_t *f = tparse_ok("{\"id\":\"urn:other:1\",\"x\":1}", PL_PARSE_FRAGMENT, 0);
    struct pl_err err;
    assert_int_equal(pl_entity_apply(e, f, PL_UPDATE_APPEND, LATER, NULL, &err),
                     PL_EBADREQUESTDATA);
    json_decref(f);
    json_decref(e);
}

static void attr_patch_merges_by_datasetid_5_6_4(void **st)
{
    (void)st;
    json_t *e = stored();
    json_t *a = tparse_ok("{\"value\":42,\"datasetId\":\"urn:ds:1\"}", PL_PARSE_ATTR,
                          PL_PARSE_PARTIAL);
    struct pl_err err;
    assert_int_equal(pl_entity_attr_patch(e, DV "temp", a, LATER, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(inst(e, DV "temp", 1), "value")), 42);
    assert_string_equal(json_string_value(json_object_get(inst(e, DV "temp", 1), "type")),
                        "Property");
    json_decref(a);
    a = tparse_ok("{\"observedAt\":\"2024-03-03T00:00:00Z\"}", PL_PARSE_ATTR, PL_PARSE_PARTIAL);
    assert_int_equal(pl_entity_attr_patch(e, DV "temp", a, LATER, &err), 0);
    assert_int_equal(json_integer_value(json_object_get(inst(e, DV "temp", 0), "value")), 1);
    assert_non_null(json_object_get(inst(e, DV "temp", 0), "observedAt"));
    assert_int_equal(pl_entity_attr_patch(e, DV "missing", a, LATER, &err), PL_ENOTFOUND);
    json_decref(a);
    a = tparse_ok("{\"value\":1,\"datasetId\":\"urn:ds:404\"}", PL_PARSE_ATTR, PL_PARSE_PARTIAL);
    assert_int_equal(pl_entity_attr_patch(e, DV "temp", a, LATER, &err), PL_ENOTFOUND);
    json_decref(a);
    json_decref(e);
}

static void attr_replace_replaces_instance_5_6_19(void **st)
{
    (void)st;
    json_t *e = stored();
    json_t *a = tparse_ok("{\"type\":\"Property\",\"value\":\"new\"}", PL_PARSE_ATTR, 0);
    struct pl_err err;
    assert_int_equal(pl_entity_attr_replace(e, DV "temp", a, LATER, &err), 0);
    const json_t *t = inst(e, DV "temp", 0);
    assert_string_equal(json_string_value(json_object_get(t, "value")), "new");
    assert_null(json_object_get(t, "sub"));
    assert_string_equal(json_string_value(json_object_get(t, "createdAt")), NOW);
    assert_int_equal(json_array_size(json_object_get(json_object_get(e, "attrs"), DV "temp")), 2);
    assert_int_equal(pl_entity_attr_replace(e, DV "missing", a, LATER, &err), PL_ENOTFOUND);
    json_t *other = tparse_ok("{\"type\":\"Property\",\"value\":1,\"datasetId\":\"urn:ds:x\"}",
                              PL_PARSE_ATTR, 0);
    assert_int_equal(pl_entity_attr_replace(e, DV "temp", other, LATER, &err), PL_ENOTFOUND);
    assert_int_equal(json_array_size(json_object_get(json_object_get(e, "attrs"), DV "temp")), 2);
    json_decref(other);
    json_decref(a);
    json_decref(e);
}

static void attr_delete_default_datasetid_and_all_5_6_5(void **st)
{
    (void)st;
    json_t *e = stored();
    struct pl_err err;
    assert_int_equal(pl_entity_attr_delete(e, DV "temp", "urn:ds:404", 0, LATER, &err),
                     PL_ENOTFOUND);
    assert_int_equal(pl_entity_attr_delete(e, DV "temp", "urn:ds:1", 0, LATER, &err), 0);
    assert_int_equal(json_array_size(json_object_get(json_object_get(e, "attrs"), DV "temp")), 1);
    assert_int_equal(pl_entity_attr_delete(e, DV "temp", NULL, 0, LATER, &err), 0);
    assert_null(json_object_get(json_object_get(e, "attrs"), DV "temp"));
    assert_int_equal(pl_entity_attr_delete(e, DV "temp", NULL, 0, LATER, &err), PL_ENOTFOUND);
    json_decref(e);
    e = stored();
    assert_int_equal(pl_entity_attr_delete(e, DV "temp", NULL, 1, LATER, &err), 0);
    assert_null(json_object_get(json_object_get(e, "attrs"), DV "temp"));
    assert_string_equal(json_string_value(json_object_get(e, "modifiedAt")), LATER);
    json_decref(e);
}

/* ---- Caps after an update (pl_entity_check_limits) and the O(n) type union ---- */

static void append_types_keep_first_seen_order_and_respect_cap(void **st)
{
    (void)st;
    json_t *e = stored(); /* type [T]; 5 instances: temp x2, its acc and src, rel */
    apply(e, "{\"type\":[\"A\",\"T\",\"B\",\"A\"]}", 0, PL_UPDATE_APPEND, NULL);
    tassert_json(json_object_get(e, "type"), "[" A("T") "," A("A") "," A("B") "]");
    struct pl_limits lim = pl_limits_default();
    struct pl_err err;
    lim.max_attrs = 5;
    assert_int_equal(pl_entity_check_limits(e, &lim, &err), 0); /* 3 types, 5 instances */
    apply(e, "{\"type\":[\"C\",\"D\"]}", 0, PL_UPDATE_MERGE, NULL);
    assert_int_equal(pl_entity_check_limits(e, &lim, &err), 0); /* 5 types: at the cap */
    apply(e, "{\"type\":[\"D\",\"E\"]}", 0, PL_UPDATE_APPEND, NULL);
    tassert_json(json_object_get(e, "type"),
                 "[" A("T") "," A("A") "," A("B") "," A("C") "," A("D") "," A("E") "]");
    assert_int_equal(pl_entity_check_limits(e, &lim, &err), PL_EBADREQUESTDATA);
    assert_non_null(strstr(err.detail, "too many types (6 > 5)"));
    json_decref(e);
}

static void append_many_types_is_linear_and_ordered(void **st)
{
    (void)st;
    json_t *e = stored();
    json_t *f = json_pack("{s:[], s:{}}", "type", "attrs");
    json_t *ft = json_object_get(f, "type");
    char b[64];
    for (int r = 0; r < 2; r++) {
        for (int i = 0; i < 50000; i++) {
            snprintf(b, sizeof b, DV "X%d", r ? 49999 - i : i);
            json_array_append_new(ft, json_string(b));
        }
    }
    struct pl_err err;
    assert_int_equal(pl_entity_apply(e, f, PL_UPDATE_APPEND, LATER, NULL, &err), 0);
    const json_t *et = json_object_get(e, "type");
    assert_int_equal(json_array_size(et), 50001);
    assert_string_equal(json_string_value(json_array_get(et, 0)), DV "T");
    assert_string_equal(json_string_value(json_array_get(et, 1)), DV "X0");
    assert_string_equal(json_string_value(json_array_get(et, 50000)), DV "X49999");
    assert_int_equal(pl_entity_check_limits(e, NULL, &err), PL_EBADREQUESTDATA);
    json_decref(f);
    json_decref(e);
}

static void updates_adding_instances_beyond_cap_are_caught(void **st)
{
    (void)st;
    struct pl_limits lim = pl_limits_default();
    struct pl_err err;
    lim.max_attrs = 6;
    json_t *e = stored(); /* 5 instances */
    apply(e, "{\"hum\":{\"value\":50}}", 0, PL_UPDATE_APPEND, NULL);
    assert_int_equal(pl_entity_check_limits(e, &lim, &err), 0); /* 6: exactly at the cap */
    /* A merge adding a sub-attribute to an existing instance: 7 > 6. */
    apply(e, "{\"hum\":{\"value\":51,\"acc\":1}}", 0, PL_UPDATE_MERGE, NULL);
    assert_int_equal(pl_entity_check_limits(e, &lim, &err), PL_EBADREQUESTDATA);
    assert_non_null(strstr(err.detail, "(7 > 6)"));
    json_decref(e);
    /* Partial attribute update adding a sub-attribute. */
    e = stored();
    lim.max_attrs = 5;
    assert_int_equal(pl_entity_check_limits(e, &lim, &err), 0);
    json_t *a = tparse_ok("{\"datasetId\":\"urn:ds:1\",\"q\":1}", PL_PARSE_ATTR,
                          PL_PARSE_PARTIAL);
    assert_int_equal(pl_entity_attr_patch(e, DV "temp", a, LATER, &err), 0);
    assert_int_equal(pl_entity_check_limits(e, &lim, &err), PL_EBADREQUESTDATA);
    json_decref(a);
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stamp_sets_sysattrs_recursively),
        cmocka_unit_test(append_overwrites_and_adds_keeping_createdat_5_6_3),
        cmocka_unit_test(append_nooverwrite_keeps_existing_5_6_3),
        cmocka_unit_test(update_appends_missing_and_reports_null_of_missing_5_6_2),
        cmocka_unit_test(merge_merges_members_and_deletes_null_5_6_17),
        cmocka_unit_test(replace_entity_keeps_createdat_5_6_18),
        cmocka_unit_test(apply_rejects_other_entity_id),
        cmocka_unit_test(attr_patch_merges_by_datasetid_5_6_4),
        cmocka_unit_test(attr_replace_replaces_instance_5_6_19),
        cmocka_unit_test(attr_delete_default_datasetid_and_all_5_6_5),
        cmocka_unit_test(append_types_keep_first_seen_order_and_respect_cap),
        cmocka_unit_test(append_many_types_is_linear_and_ordered),
        cmocka_unit_test(updates_adding_instances_beyond_cap_are_caught),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
