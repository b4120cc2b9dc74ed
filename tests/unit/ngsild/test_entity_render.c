/* SPDX-License-Identifier: Apache-2.0 */
/* test_entity_render.c — pl_entity_render / pl_entity_render_geojson: normalized (4.5.1),
 * concise (4.5.x.3, 4.7.3), keyValues (4.5.4), sysAttrs, lang (4.15), attrs/pick/omit, GeoJSON
 * (4.5.17.1). */
#include <stdlib.h>

#include "test_helpers_entity.h"

static json_t *stored(const char *s)
{
    json_t *e = tparse_ok(s, PL_PARSE_ENTITY, 0);
    pl_entity_stamp(e, NOW);
    return e;
}

static json_t *render(const json_t *e, const struct pl_render_opts *o)
{
    json_t *out = NULL;
    struct pl_err err;
    assert_int_equal(pl_entity_render(pl_ctx_core(), e, o, &out, &err), 0);
    return out;
}

#define ENT                                                                                        \
    "{\"id\":\"urn:a:1\",\"type\":\"T\",\"temp\":{\"type\":\"Property\",\"value\":21,"           \
    "\"unitCode\":\"CEL\"},\"name\":\"n\",\"rel\":{\"object\":\"urn:b:1\",\"objectType\":\"B\"},"  \
    "\"location\":{\"type\":\"Point\",\"coordinates\":[1,2]},\"g\":{\"vocab\":\"Male\"},"         \
    "\"j\":{\"json\":{\"k\":1}},\"l\":{\"valueList\":[1,2]},\"ol\":{\"objectList\":[\"urn:c:1\"]}," \
    "\"says\":{\"languageMap\":{\"en\":\"yes\",\"fr\":\"oui\"}}}"

static void render_normalized_4_5_1(void **st)
{
    (void)st;
    json_t *e = stored(ENT);
    struct pl_render_opts o = {.format = PL_FORMAT_NORMALIZED};
    json_t *r = render(e, &o);
    tassert_json(r, "{\"id\":\"urn:a:1\",\"type\":\"T\","
                    "\"temp\":{\"type\":\"Property\",\"value\":21,\"unitCode\":\"CEL\"},"
                    "\"name\":{\"type\":\"Property\",\"value\":\"n\"},"
                    "\"rel\":{\"type\":\"Relationship\",\"object\":\"urn:b:1\",\"objectType\":\"B\"},"
                    "\"location\":{\"type\":\"GeoProperty\",\"value\":{\"type\":\"Point\","
                    "\"coordinates\":[1,2]}},\"g\":{\"type\":\"VocabProperty\",\"vocab\":\"Male\"},"
                    "\"j\":{\"type\":\"JsonProperty\",\"json\":{\"k\":1}},"
                    "\"l\":{\"type\":\"ListProperty\",\"valueList\":[1,2]},"
                    "\"ol\":{\"type\":\"ListRelationship\",\"objectList\":[\"urn:c:1\"]},"
                    "\"says\":{\"type\":\"LanguageProperty\",\"languageMap\":{\"en\":\"yes\","
                    "\"fr\":\"oui\"}}}");
    json_decref(r);
    json_decref(e);
}

static void render_keyvalues_4_5_4(void **st)
{
    (void)st;
    json_t *e = stored(ENT);
    struct pl_render_opts o = {.format = PL_FORMAT_KEYVALUES};
    json_t *r = render(e, &o);
    tassert_json(r, "{\"id\":\"urn:a:1\",\"type\":\"T\",\"temp\":21,\"name\":\"n\","
                    "\"rel\":\"urn:b:1\",\"location\":{\"type\":\"Point\",\"coordinates\":[1,2]},"
                    "\"g\":{\"vocab\":\"Male\"},\"j\":{\"json\":{\"k\":1}},\"l\":[1,2],"
                    "\"ol\":[\"urn:c:1\"],\"says\":{\"languageMap\":{\"en\":\"yes\","
                    "\"fr\":\"oui\"}}}");
    json_decref(r);
    json_decref(e);
}

static void render_keyvalues_multi_attribute_dataset_4_5_4(void **st)
{
    (void)st;
    json_t *e = stored("{\"id\":\"urn:a:1\",\"type\":[\"T\",\"U\"],\"n\":[{\"value\":\"a\"},"
                       "{\"value\":\"b\",\"datasetId\":\"urn:ds:1\"}]}");
    struct pl_render_opts o = {.format = PL_FORMAT_KEYVALUES};
    json_t *r = render(e, &o);
    tassert_json(r, "{\"id\":\"urn:a:1\",\"type\":[\"T\",\"U\"],\"n\":{\"dataset\":{\"@none\":"
                    "\"a\",\"urn:ds:1\":\"b\"}}}");
    json_decref(r);
    o.format = PL_FORMAT_NORMALIZED;
    r = render(e, &o);
    tassert_json(json_object_get(r, "n"),
                 "[{\"type\":\"Property\",\"value\":\"a\"},{\"type\":\"Property\",\"value\":\"b\","
                 "\"datasetId\":\"urn:ds:1\"}]");
    json_decref(r);
    json_decref(e);
}

static void render_concise_4_5_2_3_and_geo_4_7_3(void **st)
{
    (void)st;
    json_t *e = stored(ENT);
    struct pl_render_opts o = {.format = PL_FORMAT_CONCISE};
    json_t *r = render(e, &o);
    tassert_json(r, "{\"id\":\"urn:a:1\",\"type\":\"T\",\"temp\":{\"value\":21,\"unitCode\":\"CEL\"},"
                    "\"name\":\"n\",\"rel\":{\"object\":\"urn:b:1\",\"objectType\":\"B\"},"
                    "\"location\":{\"type\":\"Point\",\"coordinates\":[1,2]},"
                    "\"g\":{\"vocab\":\"Male\"},\"j\":{\"json\":{\"k\":1}},"
                    "\"l\":{\"valueList\":[1,2]},\"ol\":{\"objectList\":[\"urn:c:1\"]},"
                    "\"says\":{\"languageMap\":{\"en\":\"yes\",\"fr\":\"oui\"}}}");
    json_decref(r);
    json_decref(e);
}

static void render_sysattrs_on_entity_and_instances(void **st)
{
    (void)st;
    json_t *e = stored("{\"id\":\"urn:a:1\",\"type\":\"T\",\"a\":{\"value\":1,\"b\":2}}");
    struct pl_render_opts o = {.format = PL_FORMAT_NORMALIZED, .sys_attrs = 1};
    json_t *r = render(e, &o);
    tassert_json(r, "{\"id\":\"urn:a:1\",\"type\":\"T\",\"createdAt\":\"" NOW "\",\"modifiedAt\":\"" NOW
                    "\",\"a\":{\"type\":\"Property\",\"value\":1,\"createdAt\":\"" NOW
                    "\",\"modifiedAt\":\"" NOW "\",\"b\":{\"type\":\"Property\",\"value\":2,"
                    "\"createdAt\":\"" NOW "\",\"modifiedAt\":\"" NOW "\"}}}");
    json_decref(r);
    json_decref(e);
}

static void render_lang_filter_4_15(void **st)
{
    (void)st;
    json_t *e = stored("{\"id\":\"urn:a:1\",\"type\":\"T\",\"says\":{\"languageMap\":"
                       "{\"en\":\"yes\",\"fr-CH\":\"oui\",\"@none\":\"ja\"}}}");
    struct pl_render_opts o = {.format = PL_FORMAT_NORMALIZED, .lang = "fr"};
    json_t *r = render(e, &o);
    tassert_json(json_object_get(r, "says"),
                 "{\"type\":\"Property\",\"value\":\"oui\",\"lang\":\"fr-CH\"}");
    json_decref(r);
    o.lang = "de,en;q=0.5";
    r = render(e, &o);
    tassert_json(json_object_get(r, "says"),
                 "{\"type\":\"Property\",\"value\":\"yes\",\"lang\":\"en\"}");
    json_decref(r);
    o.lang = "de";
    o.format = PL_FORMAT_KEYVALUES;
    r = render(e, &o);
    tassert_json(json_object_get(r, "says"), "\"ja\"");
    json_decref(r);
    json_decref(e);
}

static void render_attrs_pick_omit_filters(void **st)
{
    (void)st;
    json_t *e = stored("{\"id\":\"urn:a:1\",\"type\":\"T\",\"a\":1,\"b\":2,\"c\":3}");
    const char *attrs[] = {DV "a", DV "b"};
    struct pl_render_opts o = {.format = PL_FORMAT_KEYVALUES, .attrs = attrs, .n_attrs = 2};
    json_t *r = render(e, &o);
    tassert_json(r, "{\"id\":\"urn:a:1\",\"type\":\"T\",\"a\":1,\"b\":2}");
    json_decref(r);
    const char *pick[] = {"id", DV "c"};
    struct pl_render_opts p = {.format = PL_FORMAT_KEYVALUES, .pick = pick, .n_pick = 2};
    r = render(e, &p);
    tassert_json(r, "{\"id\":\"urn:a:1\",\"c\":3}");
    json_decref(r);
    const char *omit[] = {"type", DV "a"};
    struct pl_render_opts m = {.format = PL_FORMAT_KEYVALUES, .omit = omit, .n_omit = 2};
    r = render(e, &m);
    tassert_json(r, "{\"id\":\"urn:a:1\",\"b\":2,\"c\":3}");
    json_decref(r);
    json_decref(e);
}

static void render_geojson_feature_4_5_17_1(void **st)
{
    (void)st;
    json_t *e = stored("{\"id\":\"urn:a:1\",\"type\":\"T\",\"a\":1,\"location\":{\"type\":"
                       "\"Point\",\"coordinates\":[1,2]}}");
    struct pl_render_opts o = {.format = PL_FORMAT_KEYVALUES};
    json_t *r = NULL;
    struct pl_err err;
    assert_int_equal(pl_entity_render_geojson(pl_ctx_core(), e, &o, NULL, &r, &err), 0);
    tassert_json(r, "{\"id\":\"urn:a:1\",\"type\":\"Feature\",\"geometry\":{\"type\":\"Point\","
                    "\"coordinates\":[1,2]},\"properties\":{\"type\":\"T\",\"a\":1,\"location\":"
                    "{\"type\":\"Point\",\"coordinates\":[1,2]}}}");
    json_decref(r);
    assert_int_equal(pl_entity_render_geojson(pl_ctx_core(), e, &o, DV "a", &r, &err), 0);
    assert_true(json_is_null(json_object_get(r, "geometry")));
    json_decref(r);
    json_decref(e);
}

static void render_normalized_reparses_to_same_internal_form(void **st)
{
    (void)st;
    json_t *e = tparse_ok(ENT, PL_PARSE_ENTITY, 0);
    enum pl_format fmts[] = {PL_FORMAT_NORMALIZED, PL_FORMAT_CONCISE};
    for (size_t i = 0; i < 2; i++) {
        struct pl_render_opts o = {.format = fmts[i]};
        json_t *r = render(e, &o);
        struct pl_limits lim = pl_limits_default();
        struct pl_err err;
        json_t *back = NULL;
        assert_int_equal(pl_entity_parse(pl_ctx_core(), r, PL_PARSE_ENTITY, 0, &lim, &back, &err),
                         0);
        assert_true(json_equal(back, e));
        json_decref(back);
        json_decref(r);
    }
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(render_normalized_4_5_1),
        cmocka_unit_test(render_keyvalues_4_5_4),
        cmocka_unit_test(render_keyvalues_multi_attribute_dataset_4_5_4),
        cmocka_unit_test(render_concise_4_5_2_3_and_geo_4_7_3),
        cmocka_unit_test(render_sysattrs_on_entity_and_instances),
        cmocka_unit_test(render_lang_filter_4_15),
        cmocka_unit_test(render_attrs_pick_omit_filters),
        cmocka_unit_test(render_geojson_feature_4_5_17_1),
        cmocka_unit_test(render_normalized_reparses_to_same_internal_form),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
