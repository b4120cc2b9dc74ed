/* SPDX-License-Identifier: Apache-2.0 */
/* test_entity.c — pl_entity_parse: entity shape, attribute kinds, concise forms, limits, and the
 * Smart Data Models examples of tests/fixtures/sdm/. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "test_helpers_entity.h"

#define E(attrs) "{\"id\":\"urn:ngsi-ld:T:1\",\"type\":\"T\"" attrs "}"

static void expect_bad(const char *s, enum pl_parse_kind k, unsigned flags)
{
    json_t *o = NULL;
    int rc = tparse(s, k, flags, &o);
    if (rc != PL_EBADREQUESTDATA)
        fail_msg("expected BadRequestData for %s (rc %d)", s, rc);
    assert_null(o);
}

/* ---- entity level (4.5.1, 4.6.2) ---- */

static void parse_minimal_entity_expands_type_4_5_1(void **st)
{
    (void)st;
    json_t *o = tparse_ok(E(""), PL_PARSE_ENTITY, 0);
    tassert_json(o, "{\"id\":\"urn:ngsi-ld:T:1\",\"type\":[\"" DV "T\"],\"attrs\":{}}");
    json_decref(o);
}

static void parse_rejects_missing_id_or_type_4_5_1(void **st)
{
    (void)st;
    expect_bad("{\"type\":\"T\"}", PL_PARSE_ENTITY, 0);
    expect_bad("{\"id\":\"urn:ngsi-ld:T:1\"}", PL_PARSE_ENTITY, 0);
    expect_bad("[1]", PL_PARSE_ENTITY, 0);
}

static void parse_rejects_non_uri_id_4_5_1(void **st)
{
    (void)st;
    expect_bad("{\"id\":\"not a uri\",\"type\":\"T\"}", PL_PARSE_ENTITY, 0);
    expect_bad("{\"id\":\"urn:x<y\",\"type\":\"T\"}", PL_PARSE_ENTITY, 0);
    expect_bad("{\"id\":\"1abc:x\",\"type\":\"T\"}", PL_PARSE_ENTITY, 0);
    expect_bad("{\"id\":42,\"type\":\"T\"}", PL_PARSE_ENTITY, 0);
    assert_true(pl_is_uri("urn:ngsi-ld:T:1"));
    assert_true(pl_is_uri("https://example.org/a?b=c#d"));
    assert_false(pl_is_uri("urn:"));
    assert_false(pl_is_uri("a b:c"));
}

static void parse_multi_type_array_and_rejects_empty_4_5_1(void **st)
{
    (void)st;
    json_t *o = tparse_ok("{\"id\":\"urn:a:1\",\"type\":[\"A\",\"B\",\"A\"]}", PL_PARSE_ENTITY, 0);
    tassert_json(json_object_get(o, "type"), "[\"" DV "A\",\"" DV "B\"]");
    json_decref(o);
    expect_bad("{\"id\":\"urn:a:1\",\"type\":[]}", PL_PARSE_ENTITY, 0);
    expect_bad("{\"id\":\"urn:a:1\",\"type\":[1]}", PL_PARSE_ENTITY, 0);
    expect_bad("{\"id\":\"urn:a:1\",\"type\":\"A B\"}", PL_PARSE_ENTITY, 0);
}

static void parse_rejects_invalid_names_4_6_2(void **st)
{
    (void)st;
    expect_bad(E(",\"a b\":1"), PL_PARSE_ENTITY, 0);
    expect_bad(E(",\"a=b\":1"), PL_PARSE_ENTITY, 0);
    expect_bad(E(",\"a(b)\":1"), PL_PARSE_ENTITY, 0);
    expect_bad(E(",\"\":1"), PL_PARSE_ENTITY, 0);
    expect_bad(E(",\"@context\":{}"), PL_PARSE_ENTITY, 0);
    assert_true(pl_is_valid_name("temperature"));
    assert_false(pl_is_valid_name("te'mp"));
    assert_false(pl_is_valid_name("a\tb"));
}

static void parse_scope_string_and_array_4_18(void **st)
{
    (void)st;
    json_t *o = tparse_ok(E(",\"scope\":\"/Madrid\""), PL_PARSE_ENTITY, 0);
    tassert_json(json_object_get(o, "scope"), "[\"/Madrid\"]");
    json_decref(o);
    o = tparse_ok(E(",\"scope\":[\"/a\",\"/b/c\"]"), PL_PARSE_ENTITY, 0);
    tassert_json(json_object_get(o, "scope"), "[\"/a\",\"/b/c\"]");
    json_decref(o);
    /* 4.18 EXAMPLE 2: the leading "/" is optional; the scope is kept as given */
    o = tparse_ok(E(",\"scope\":\"Madrid/Gardens_1\""), PL_PARSE_ENTITY, 0);
    tassert_json(json_object_get(o, "scope"), "[\"Madrid/Gardens_1\"]");
    json_decref(o);
    expect_bad(E(",\"scope\":[]"), PL_PARSE_ENTITY, 0);
    /* a level is a letter then letters, digits or '_': no empty level, no trailing '/' */
    static const char *const bad_scopes[] = {"\"\"",     "\"/\"",      "\"//a\"",
                                             "\"/a//b\"", "\"/a/\"",    "\"/1a\"",
                                             "\"/a-b\"",  "\"/a b\"",   "\"/#\"",
                                             "[\"/a\",\"/\"]", "1"};
    for (size_t i = 0; i < sizeof bad_scopes / sizeof *bad_scopes; i++) {
        char buf[128];
        snprintf(buf, sizeof buf, E(",\"scope\":%s"), bad_scopes[i]);
        expect_bad(buf, PL_PARSE_ENTITY, 0);
    }
}

static void parse_ignores_string_sysattrs_rejects_object_ones_4_8(void **st)
{
    (void)st;
    json_t *o = tparse_ok(E(",\"createdAt\":\"2020-01-01T00:00:00Z\",\"modifiedAt\":\"x\""),
                          PL_PARSE_ENTITY, 0);
    assert_null(json_object_get(o, "createdAt"));
    json_decref(o);
    expect_bad(E(",\"createdAt\":{\"type\":\"Property\",\"value\":1}"), PL_PARSE_ENTITY, 0);
}

/* ---- Property (4.5.2) ---- */

static void parse_property_with_members_4_5_2(void **st)
{
    (void)st;
    json_t *o = tparse_ok(E(",\"temp\":{\"type\":\"Property\",\"value\":21.5,\"unitCode\":\"CEL\","
                            "\"observedAt\":\"2024-01-01T10:00:00Z\",\"createdAt\":\"junk\","
                            "\"instanceId\":\"urn:x:1\",\"accuracy\":{\"type\":\"Property\","
                            "\"value\":0.1}}"),
                          PL_PARSE_ENTITY, 0);
    tassert_json(json_object_get(o, "attrs"),
                 "{\"" DV "temp\":[{\"type\":\"Property\",\"value\":21.5,\"unitCode\":\"CEL\","
                 "\"observedAt\":\"2024-01-01T10:00:00Z\",\"sub\":{\"" DV "accuracy\":"
                 "{\"type\":\"Property\",\"value\":0.1}}}]}");
    json_decref(o);
}

static void parse_rejects_property_without_value_or_null_4_5_2(void **st)
{
    (void)st;
    expect_bad(E(",\"a\":{\"type\":\"Property\"}"), PL_PARSE_ENTITY, 0);
    expect_bad(E(",\"a\":{\"type\":\"Property\",\"value\":null}"), PL_PARSE_ENTITY, 0);
    expect_bad(E(",\"a\":null"), PL_PARSE_ENTITY, 0);
    expect_bad(E(",\"a\":{\"type\":\"Property\",\"value\":1,\"object\":\"urn:x:1\"}"),
               PL_PARSE_ENTITY, 0);
    expect_bad(E(",\"a\":{\"type\":\"Foo\",\"value\":1}"), PL_PARSE_ENTITY, 0);
}

static void parse_rejects_bad_observedat_unitcode_datasetid_4_6_3(void **st)
{
    (void)st;
    expect_bad(E(",\"a\":{\"type\":\"Property\",\"value\":1,\"observedAt\":\"2024-01-01T10:00:00+01:00\"}"),
               PL_PARSE_ENTITY, 0);
    expect_bad(E(",\"a\":{\"type\":\"Property\",\"value\":1,\"observedAt\":5}"), PL_PARSE_ENTITY,
               0);
    expect_bad(E(",\"a\":{\"type\":\"Property\",\"value\":1,\"unitCode\":\"\"}"), PL_PARSE_ENTITY,
               0);
    expect_bad(E(",\"a\":{\"type\":\"Property\",\"value\":1,\"datasetId\":\"nope\"}"),
               PL_PARSE_ENTITY, 0);
}

static void parse_typed_datetime_value_validated_4_6_3(void **st)
{
    (void)st;
    json_t *o = tparse_ok(E(",\"d\":{\"type\":\"Property\",\"value\":{\"@type\":\"DateTime\","
                            "\"@value\":\"2024-01-01T00:00:00Z\"}}"),
                          PL_PARSE_ENTITY, 0);
    json_decref(o);
    expect_bad(E(",\"d\":{\"type\":\"Property\",\"value\":{\"@type\":\"DateTime\","
                 "\"@value\":\"yesterday\"}}"),
               PL_PARSE_ENTITY, 0);
    expect_bad(E(",\"d\":{\"type\":\"Property\",\"value\":{\"@type\":\"Date\",\"@value\":\"2024-13-01\"}}"),
               PL_PARSE_ENTITY, 0);
}

/* ---- Relationship (4.5.3) ---- */

static void parse_relationship_object_and_objecttype_4_5_3(void **st)
{
    (void)st;
    json_t *o = tparse_ok(E(",\"r\":{\"type\":\"Relationship\",\"object\":\"urn:x:1\","
                            "\"objectType\":\"Device\"},\"m\":{\"type\":\"Relationship\","
                            "\"object\":[\"urn:x:1\",\"urn:x:2\"]}"),
                          PL_PARSE_ENTITY, 0);
    tassert_json(json_object_get(o, "attrs"),
                 "{\"" DV "r\":[{\"type\":\"Relationship\",\"object\":\"urn:x:1\",\"objectType\":\"" DV
                 "Device\"}],\"" DV "m\":[{\"type\":\"Relationship\",\"object\":[\"urn:x:1\","
                 "\"urn:x:2\"]}]}");
    json_decref(o);
}

static void parse_rejects_relationship_without_object_4_5_3(void **st)
{
    (void)st;
    expect_bad(E(",\"r\":{\"type\":\"Relationship\"}"), PL_PARSE_ENTITY, 0);
    expect_bad(E(",\"r\":{\"type\":\"Relationship\",\"object\":\"not uri\"}"), PL_PARSE_ENTITY, 0);
    expect_bad(E(",\"r\":{\"type\":\"Relationship\",\"object\":[]}"), PL_PARSE_ENTITY, 0);
    expect_bad(E(",\"r\":{\"type\":\"Property\",\"value\":1,\"objectType\":\"X\"}"),
               PL_PARSE_ENTITY, 0);
}

/* ---- GeoProperty (4.7) ---- */

static void parse_geoproperty_valid_and_invalid_4_7(void **st)
{
    (void)st;
    json_t *o = tparse_ok(E(",\"location\":{\"type\":\"GeoProperty\",\"value\":{\"type\":\"Point\","
                            "\"coordinates\":[-3.7,40.4]}}"),
                          PL_PARSE_ENTITY, 0);
    assert_non_null(json_object_get(json_object_get(o, "attrs"),
                                    "https://uri.etsi.org/ngsi-ld/location"));
    json_decref(o);
    expect_bad(E(",\"location\":{\"type\":\"GeoProperty\",\"value\":{\"type\":\"Point\","
                 "\"coordinates\":[-3.7,140.4]}}"),
               PL_PARSE_ENTITY, 0);
    expect_bad(E(",\"location\":{\"type\":\"GeoProperty\",\"value\":\"POINT(1 2)\"}"),
               PL_PARSE_ENTITY, 0);
}

/* ---- LanguageProperty (4.5.18), VocabProperty (4.5.20), JsonProperty (4.5.24) ---- */

static void parse_languageproperty_4_5_18(void **st)
{
    (void)st;
    json_t *o = tparse_ok(E(",\"n\":{\"type\":\"LanguageProperty\",\"languageMap\":{\"en\":\"yes\","
                            "\"fr-CH\":[\"oui\",\"ouais\"],\"@none\":\"ja\"}}"),
                          PL_PARSE_ENTITY, 0);
    json_decref(o);
    expect_bad(E(",\"n\":{\"type\":\"LanguageProperty\",\"languageMap\":\"yes\"}"),
               PL_PARSE_ENTITY, 0);
    expect_bad(E(",\"n\":{\"type\":\"LanguageProperty\",\"languageMap\":{\"en\":1}}"),
               PL_PARSE_ENTITY, 0);
    expect_bad(E(",\"n\":{\"type\":\"LanguageProperty\",\"languageMap\":{\"e n\":\"x\"}}"),
               PL_PARSE_ENTITY, 0);
    expect_bad(E(",\"n\":{\"type\":\"LanguageProperty\"}"), PL_PARSE_ENTITY, 0);
}

static void parse_vocabproperty_expands_vocab_4_5_20(void **st)
{
    (void)st;
    json_t *o = tparse_ok(E(",\"g\":{\"type\":\"VocabProperty\",\"vocab\":\"Male\"},"
                            "\"h\":{\"type\":\"VocabProperty\",\"vocab\":[\"A\",\"B\"]}"),
                          PL_PARSE_ENTITY, 0);
    tassert_json(json_object_get(o, "attrs"),
                 "{\"" DV "g\":[{\"type\":\"VocabProperty\",\"vocab\":\"" DV "Male\"}],\"" DV
                 "h\":[{\"type\":\"VocabProperty\",\"vocab\":[\"" DV "A\",\"" DV "B\"]}]}");
    json_decref(o);
    expect_bad(E(",\"g\":{\"type\":\"VocabProperty\",\"vocab\":1}"), PL_PARSE_ENTITY, 0);
    expect_bad(E(",\"g\":{\"type\":\"VocabProperty\",\"vocab\":[]}"), PL_PARSE_ENTITY, 0);
}

static void parse_jsonproperty_any_json_but_null_4_5_24(void **st)
{
    (void)st;
    json_t *o = tparse_ok(E(",\"j\":{\"type\":\"JsonProperty\",\"json\":{\"id\":\"x\",\"value\":[1]}}"),
                          PL_PARSE_ENTITY, 0);
    tassert_json(json_object_get(o, "attrs"),
                 "{\"" DV "j\":[{\"type\":\"JsonProperty\",\"json\":{\"id\":\"x\",\"value\":[1]}}]}");
    json_decref(o);
    expect_bad(E(",\"j\":{\"type\":\"JsonProperty\",\"json\":null}"), PL_PARSE_ENTITY, 0);
}

/* ---- ListProperty (4.5.21), ListRelationship (4.5.22) ---- */

static void parse_listproperty_and_listrelationship_4_5_21(void **st)
{
    (void)st;
    json_t *o = tparse_ok(E(",\"l\":{\"type\":\"ListProperty\",\"valueList\":[1,\"a\"]},"
                            "\"route\":{\"type\":\"ListRelationship\",\"objectList\":"
                            "[{\"object\":\"urn:a:1\"},\"urn:a:2\"]}"),
                          PL_PARSE_ENTITY, 0);
    tassert_json(json_object_get(o, "attrs"),
                 "{\"" DV "l\":[{\"type\":\"ListProperty\",\"valueList\":[1,\"a\"]}],\"" DV
                 "route\":[{\"type\":\"ListRelationship\",\"objectList\":[\"urn:a:1\","
                 "\"urn:a:2\"]}]}");
    json_decref(o);
    expect_bad(E(",\"l\":{\"type\":\"ListProperty\",\"valueList\":1}"), PL_PARSE_ENTITY, 0);
    expect_bad(E(",\"l\":{\"type\":\"ListRelationship\",\"objectList\":[\"no uri\"]}"),
               PL_PARSE_ENTITY, 0);
    expect_bad(E(",\"l\":{\"type\":\"ListRelationship\",\"objectList\":\"urn:a:1\"}"),
               PL_PARSE_ENTITY, 0);
}

/* ---- Concise forms (4.5.2.3, 4.5.3.3, 4.5.18.3, 4.5.20.3, 4.5.22.3, 4.5.24.3, 4.7.3) ---- */

static void parse_concise_forms_infer_kind_4_5_x_3(void **st)
{
    (void)st;
    json_t *o = tparse_ok(
        E(",\"p\":{\"value\":1,\"unitCode\":\"CEL\"},\"bare\":\"txt\",\"n\":7,\"b\":true,"
          "\"arr\":[1,2],\"obj\":{\"street\":\"x\"},\"r\":{\"object\":\"urn:a:1\"},"
          "\"lp\":{\"languageMap\":{\"en\":\"x\"}},\"v\":{\"vocab\":\"X\"},\"j\":{\"json\":[null]},"
          "\"vl\":{\"valueList\":[1]},\"ol\":{\"objectList\":[\"urn:a:1\"]},"
          "\"location\":{\"type\":\"Point\",\"coordinates\":[1,2]},"
          "\"observationSpace\":{\"value\":{\"type\":\"Point\",\"coordinates\":[1,2]},\"q\":1},"
          "\"other\":{\"value\":{\"type\":\"Point\",\"coordinates\":[1,2]}}"),
        PL_PARSE_ENTITY, 0);
    const json_t *a = json_object_get(o, "attrs");
    struct {
        const char *name;
        const char *type;
    } want[] = {{DV "p", "Property"},           {DV "bare", "Property"},
                {DV "n", "Property"},           {DV "b", "Property"},
                {DV "arr", "Property"},         {DV "obj", "Property"},
                {DV "r", "Relationship"},       {DV "lp", "LanguageProperty"},
                {DV "v", "VocabProperty"},      {DV "j", "JsonProperty"},
                {DV "vl", "ListProperty"},      {DV "ol", "ListRelationship"},
                {"https://uri.etsi.org/ngsi-ld/location", "GeoProperty"},
                {"https://uri.etsi.org/ngsi-ld/observationSpace", "GeoProperty"},
                {DV "other", "Property"}};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        const json_t *inst = json_array_get(json_object_get(a, want[i].name), 0);
        assert_non_null(inst);
        assert_string_equal(json_string_value(json_object_get(inst, "type")), want[i].type);
    }
    tassert_json(json_object_get(a, DV "obj"),
                 "[{\"type\":\"Property\",\"value\":{\"street\":\"x\"}}]");
    json_decref(o);
    expect_bad(E(",\"x\":{\"value\":1,\"object\":\"urn:a:1\"}"), PL_PARSE_ENTITY, 0);
    expect_bad(E(",\"location\":{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[1,1],[0,0]]]}"),
               PL_PARSE_ENTITY, 0);
}

/* ---- Multi-attribute (4.5.5) ---- */

static void parse_multi_attribute_distinct_datasetids_4_5_5(void **st)
{
    (void)st;
    json_t *o = tparse_ok(E(",\"s\":[{\"type\":\"Property\",\"value\":1},{\"type\":\"Property\","
                            "\"value\":2,\"datasetId\":\"urn:ds:1\"},{\"value\":3,"
                            "\"datasetId\":\"urn:ds:2\"}]"),
                          PL_PARSE_ENTITY, 0);
    assert_int_equal(json_array_size(json_object_get(json_object_get(o, "attrs"), DV "s")), 3);
    json_decref(o);
    expect_bad(E(",\"s\":[{\"type\":\"Property\",\"value\":1,\"datasetId\":\"urn:ds:1\"},"
                 "{\"type\":\"Property\",\"value\":2,\"datasetId\":\"urn:ds:1\"}]"),
               PL_PARSE_ENTITY, 0);
    expect_bad(E(",\"s\":[{\"type\":\"Property\",\"value\":1},{\"type\":\"Property\",\"value\":2}]"),
               PL_PARSE_ENTITY, 0);
}

/* ---- Limits ---- */

static void parse_enforces_depth_attr_count_and_id_length_limits(void **st)
{
    (void)st;
    struct pl_limits lim = pl_limits_default();
    struct pl_err err;
    json_t *o = NULL;
    lim.max_depth = 4;
    json_t *in = tj(E(",\"a\":{\"type\":\"Property\",\"value\":{\"b\":{\"c\":{\"d\":1}}}}"));
    assert_int_equal(pl_entity_parse(pl_ctx_core(), in, PL_PARSE_ENTITY, 0, &lim, &o, &err),
                     PL_EBADREQUESTDATA);
    json_decref(in);
    lim = pl_limits_default();
    lim.max_attrs = 2;
    in = tj(E(",\"a\":1,\"b\":2,\"c\":3"));
    assert_int_equal(pl_entity_parse(pl_ctx_core(), in, PL_PARSE_ENTITY, 0, &lim, &o, &err),
                     PL_EBADREQUESTDATA);
    json_decref(in);
    lim = pl_limits_default();
    lim.max_id_len = 10;
    in = tj("{\"id\":\"urn:ngsi-ld:T:123456\",\"type\":\"T\"}");
    assert_int_equal(pl_entity_parse(pl_ctx_core(), in, PL_PARSE_ENTITY, 0, &lim, &o, &err),
                     PL_EBADREQUESTDATA);
    json_decref(in);
    assert_null(o);
}

/* ---- Fragments and ATTR bodies (5.4, 5.6.4) ---- */

static void parse_fragment_allow_null_keeps_null_marker_5_4(void **st)
{
    (void)st;
    json_t *o = tparse_ok("{\"a\":\"urn:ngsi-ld:null\",\"b\":null,\"c\":{\"type\":\"Property\","
                          "\"value\":7,\"providedBy\":\"urn:ngsi-ld:null\"}}",
                          PL_PARSE_FRAGMENT, PL_PARSE_ALLOW_NULL);
    tassert_json(o, "{\"attrs\":{\"" DV "a\":[{\"type\":\"Property\",\"value\":\"urn:ngsi-ld:null\"}],"
                    "\"" DV "b\":[{\"type\":\"Property\",\"value\":\"urn:ngsi-ld:null\"}],"
                    "\"" DV "c\":[{\"type\":\"Property\",\"value\":7,\"sub\":{\"" DV "providedBy\":"
                    "{\"type\":\"Property\",\"value\":\"urn:ngsi-ld:null\"}}}]}}");
    json_decref(o);
    expect_bad("{\"b\":null}", PL_PARSE_FRAGMENT, 0);
}

static void parse_attr_body_partial_without_type_5_6_4(void **st)
{
    (void)st;
    json_t *o = tparse_ok("{\"observedAt\":\"2024-01-01T00:00:00Z\"}", PL_PARSE_ATTR,
                          PL_PARSE_PARTIAL);
    tassert_json(o, "{\"instances\":[{\"observedAt\":\"2024-01-01T00:00:00Z\"}]}");
    json_decref(o);
    o = tparse_ok("[{\"value\":1},{\"value\":2,\"datasetId\":\"urn:d:1\"}]", PL_PARSE_ATTR, 0);
    assert_int_equal(json_array_size(json_object_get(o, "instances")), 2);
    json_decref(o);
}

/* ---- Smart Data Models examples (CC-BY-4.0) ---- */

static void parse_accepts_smart_data_models_normalized_examples(void **st)
{
    (void)st;
    const char *root = getenv("POLIS_SOURCE_DIR");
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/tests/fixtures/sdm", root ? root : ".");
    DIR *d = opendir(dir);
    if (!d)
        skip();
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)) != NULL) {
        if (!strstr(de->d_name, ".jsonld"))
            continue;
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        json_error_t je;
        json_t *in = json_load_file(path, 0, &je);
        assert_non_null(in);
        json_object_del(in, "@context");
        struct pl_limits lim = pl_limits_default();
        struct pl_err err;
        json_t *o = NULL;
        if (pl_entity_parse(pl_ctx_core(), in, PL_PARSE_ENTITY, 0, &lim, &o, &err) != 0)
            fail_msg("%s: %s", de->d_name, err.detail);
        json_decref(o);
        json_decref(in);
        n++;
    }
    closedir(d);
    assert_true(n >= 5);
}

/* ---- Caps on types and on instances at every nesting level (review fixes) ---- */


static int parse_lim(json_t *in, int max_attrs, json_t **o, struct pl_err *err)
{
    struct pl_limits lim = pl_limits_default();
    lim.max_attrs = max_attrs;
    pl_err_clear(err);
    *o = NULL;
    return pl_entity_parse(pl_ctx_core(), in, PL_PARSE_ENTITY, 0, &lim, o, err);
}

static void parse_caps_entity_types_at_max_attrs(void **st)
{
    (void)st;
    struct pl_err err;
    json_t *o;
    json_t *in = tj("{\"id\":\"urn:a:1\",\"type\":[\"A\",\"B\",\"C\"]}");
    assert_int_equal(parse_lim(in, 3, &o, &err), 0); /* exactly at the cap */
    assert_int_equal(json_array_size(json_object_get(o, "type")), 3);
    json_decref(o);
    json_decref(in);
    in = tj("{\"id\":\"urn:a:1\",\"type\":[\"A\",\"B\",\"C\",\"D\"]}");
    assert_int_equal(parse_lim(in, 3, &o, &err), PL_EBADREQUESTDATA);
    assert_null(o);
    assert_non_null(strstr(err.detail, "too many types (4 > 3)"));
    json_decref(in);
    /* The cap counts the names given, duplicates included. */
    in = tj("{\"id\":\"urn:a:1\",\"type\":[\"A\",\"A\",\"A\",\"A\"]}");
    assert_int_equal(parse_lim(in, 3, &o, &err), PL_EBADREQUESTDATA);
    json_decref(in);
}

static void parse_type_dedup_keeps_first_seen_order(void **st)
{
    (void)st;
    /* A few names (linear path). */
    json_t *o = tparse_ok("{\"id\":\"urn:a:1\",\"type\":[\"C\",\"A\",\"C\",\"B\",\"A\"]}",
                          PL_PARSE_ENTITY, 0);
    tassert_json(json_object_get(o, "type"), "[\"" DV "C\",\"" DV "A\",\"" DV "B\"]");
    json_decref(o);
    /* Many names (hash path): T19..T0, then T0..T19 again, then T25..T20. */
    json_t *in = json_pack("{s:s}", "id", "urn:a:1");
    json_t *t = json_array();
    char b[96];
    for (int i = 19; i >= 0; i--) {
        snprintf(b, sizeof b, "T%d", i);
        json_array_append_new(t, json_string(b));
    }
    for (int i = 0; i < 20; i++) {
        snprintf(b, sizeof b, "T%d", i);
        json_array_append_new(t, json_string(b));
    }
    for (int i = 25; i >= 20; i--) {
        snprintf(b, sizeof b, "T%d", i);
        json_array_append_new(t, json_string(b));
    }
    json_object_set_new(in, "type", t);
    struct pl_err err;
    assert_int_equal(parse_lim(in, 1024, &o, &err), 0);
    const json_t *ot = json_object_get(o, "type");
    assert_int_equal(json_array_size(ot), 26);
    for (int i = 0; i < 26; i++) {
        snprintf(b, sizeof b, DV "T%d", i < 20 ? 19 - i : 25 - (i - 20));
        assert_string_equal(json_string_value(json_array_get(ot, (size_t)i)), b);
    }
    json_decref(o);
    json_decref(in);
}

static void parse_rejects_100k_duplicate_types_fast(void **st)
{
    (void)st;
    json_t *in = json_pack("{s:s}", "id", "urn:a:1");
    json_t *t = json_array();
    for (int i = 0; i < 100000; i++)
        json_array_append_new(t, json_string("T"));
    json_object_set_new(in, "type", t);
    struct pl_err err;
    json_t *o;
    assert_int_equal(parse_lim(in, PL_LIMITS_DEFAULT_ATTRS, &o, &err), PL_EBADREQUESTDATA);
    assert_non_null(strstr(err.detail, "too many types (100000 > 1024)"));
    /* With a cap that lets them in, de-duplication is linear: one type left, quickly. */
    assert_int_equal(parse_lim(in, 200000, &o, &err), 0);
    assert_int_equal(json_array_size(json_object_get(o, "type")), 1);
    json_decref(o);
    json_decref(in);
}

static void parse_counts_sub_attributes_against_max_attrs(void **st)
{
    (void)st;
    struct pl_err err;
    json_t *o;
    /* 2 attributes + 2 sub-attributes = 4 instances. */
    json_t *in = tj(E(",\"a\":{\"type\":\"Property\",\"value\":1,\"s1\":{\"type\":\"Property\","
                      "\"value\":2}},\"b\":{\"value\":3,\"s2\":4}"));
    assert_int_equal(parse_lim(in, 4, &o, &err), 0); /* exactly at the cap */
    json_decref(o);
    assert_int_equal(parse_lim(in, 3, &o, &err), PL_EBADREQUESTDATA);
    assert_null(o);
    assert_non_null(strstr(err.detail, "too many attributes"));
    assert_non_null(strstr(err.detail, "sub-attributes"));
    json_decref(in);
    /* Nested sub-attributes count too: a -> s1 -> s2 -> s3 is 4 instances. */
    in = tj(E(",\"a\":{\"value\":1,\"s1\":{\"value\":2,\"s2\":{\"value\":3,\"s3\":4}}}"));
    assert_int_equal(parse_lim(in, 4, &o, &err), 0);
    json_decref(o);
    assert_int_equal(parse_lim(in, 3, &o, &err), PL_EBADREQUESTDATA);
    json_decref(in);
    /* Fragments and attribute bodies are counted the same way. */
    in = tj("{\"value\":1,\"s1\":2,\"s2\":3}");
    struct pl_limits lim = pl_limits_default();
    lim.max_attrs = 2;
    assert_int_equal(pl_entity_parse(pl_ctx_core(), in, PL_PARSE_ATTR, 0, &lim, &o, &err),
                     PL_EBADREQUESTDATA);
    json_decref(in);
}

static void parse_rejects_160k_sub_attributes_fast(void **st)
{
    (void)st;
    json_t *a = json_pack("{s:s, s:i}", "type", "Property", "value", 1);
    char b[96];
    for (int i = 0; i < 160000; i++) {
        snprintf(b, sizeof b, "s%d", i);
        json_object_set_new(a, b, json_integer(i));
    }
    json_t *in = json_pack("{s:s, s:s, s:o}", "id", "urn:a:1", "type", "T", "a", a);
    struct pl_err err;
    json_t *o;
    assert_int_equal(parse_lim(in, PL_LIMITS_DEFAULT_ATTRS, &o, &err), PL_EBADREQUESTDATA);
    json_decref(in);
}

static void check_limits_counts_types_and_every_instance(void **st)
{
    (void)st;
    json_t *e = tparse_ok(E(",\"a\":[{\"value\":1,\"s1\":{\"value\":2,\"s2\":3}},"
                            "{\"value\":4,\"datasetId\":\"urn:d:1\"}],\"b\":5"),
                          PL_PARSE_ENTITY, 0); /* 5 instances */
    struct pl_limits lim = pl_limits_default();
    struct pl_err err;
    lim.max_attrs = 5;
    assert_int_equal(pl_entity_check_limits(e, &lim, &err), 0);
    lim.max_attrs = 4;
    assert_int_equal(pl_entity_check_limits(e, &lim, &err), PL_EBADREQUESTDATA);
    assert_non_null(strstr(err.detail, "(5 > 4)"));
    assert_int_equal(pl_entity_check_limits(e, NULL, &err), 0);
    json_object_set_new(e, "type", json_pack("[s,s,s,s,s,s]", "a", "b", "c", "d", "e", "f"));
    lim.max_attrs = 5;
    assert_int_equal(pl_entity_check_limits(e, &lim, &err), PL_EBADREQUESTDATA);
    assert_non_null(strstr(err.detail, "too many types (6 > 5)"));
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_minimal_entity_expands_type_4_5_1),
        cmocka_unit_test(parse_rejects_missing_id_or_type_4_5_1),
        cmocka_unit_test(parse_rejects_non_uri_id_4_5_1),
        cmocka_unit_test(parse_multi_type_array_and_rejects_empty_4_5_1),
        cmocka_unit_test(parse_rejects_invalid_names_4_6_2),
        cmocka_unit_test(parse_scope_string_and_array_4_18),
        cmocka_unit_test(parse_ignores_string_sysattrs_rejects_object_ones_4_8),
        cmocka_unit_test(parse_property_with_members_4_5_2),
        cmocka_unit_test(parse_rejects_property_without_value_or_null_4_5_2),
        cmocka_unit_test(parse_rejects_bad_observedat_unitcode_datasetid_4_6_3),
        cmocka_unit_test(parse_typed_datetime_value_validated_4_6_3),
        cmocka_unit_test(parse_relationship_object_and_objecttype_4_5_3),
        cmocka_unit_test(parse_rejects_relationship_without_object_4_5_3),
        cmocka_unit_test(parse_geoproperty_valid_and_invalid_4_7),
        cmocka_unit_test(parse_languageproperty_4_5_18),
        cmocka_unit_test(parse_vocabproperty_expands_vocab_4_5_20),
        cmocka_unit_test(parse_jsonproperty_any_json_but_null_4_5_24),
        cmocka_unit_test(parse_listproperty_and_listrelationship_4_5_21),
        cmocka_unit_test(parse_concise_forms_infer_kind_4_5_x_3),
        cmocka_unit_test(parse_multi_attribute_distinct_datasetids_4_5_5),
        cmocka_unit_test(parse_enforces_depth_attr_count_and_id_length_limits),
        cmocka_unit_test(parse_fragment_allow_null_keeps_null_marker_5_4),
        cmocka_unit_test(parse_attr_body_partial_without_type_5_6_4),
        cmocka_unit_test(parse_accepts_smart_data_models_normalized_examples),
        cmocka_unit_test(parse_caps_entity_types_at_max_attrs),
        cmocka_unit_test(parse_type_dedup_keeps_first_seen_order),
        cmocka_unit_test(parse_rejects_100k_duplicate_types_fast),
        cmocka_unit_test(parse_counts_sub_attributes_against_max_attrs),
        cmocka_unit_test(parse_rejects_160k_sub_attributes_fast),
        cmocka_unit_test(check_limits_counts_types_and_every_instance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
