/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_entity_stream.c — pl_entity_stream_render (the fast read path) against pl_entity_render
 * (the tree path), which is the specification: for a corpus of stored entities × formats
 * {normalized (4.5.1), keyValues (4.5.4), concise (4.5.x.3)} × sysAttrs {0,1} × attrs {none,
 * two names} × contexts {core, user (Smart Data Models Environment + a prefix)}, the parsed
 * stream output must be json_equal to the tree output. Plus: malformed and truncated bodies
 * fail cleanly, odd stored shapes either match or fall back, pick/omit/lang fall back.
 *
 * Needs POLIS_SOURCE_DIR (the repository root) for the user context document.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/strbuf.h"
#include "ngsild/entity_stream.h"
#include "test_helpers_entity.h"

#define ENV_URL "https://example.org/ctx/dataModel.Environment.jsonld"

/* ============================================================================================
 * The user context: the Environment data model (read from data/) plus inline terms.
 * ========================================================================================== */

static int file_loader(void *ud, const char *url, json_t **doc, struct pl_err *err)
{
    (void)ud;
    if (strcmp(url, ENV_URL) != 0)
        return pl_err_set(err, PL_ELDCONTEXT, "unknown URL %s", url);
    const char *root = getenv("POLIS_SOURCE_DIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/data/contexts/preload/dataModel.Environment.jsonld",
             root ? root : ".");
    json_error_t je;
    *doc = json_load_file(path, 0, &je);
    if (!*doc)
        return pl_err_set(err, PL_ELDCONTEXT, "cannot read %s: %s", path, je.text);
    return 0;
}

static struct pl_ctx *user_ctx(void)
{
    json_t *v = tj("[\"" ENV_URL "\",{\"ex\":\"https://example.org/ns#\","
                   "\"quality\":{\"@id\":\"https://example.org/ns#quality\",\"@type\":\"@vocab\"},"
                   "\"Good\":\"https://example.org/ns#Good\"}]");
    struct pl_ctx *c = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_ctx_build(v, file_loader, NULL, &c, &err);
    json_decref(v);
    if (rc)
        fail_msg("user context: %s (is POLIS_SOURCE_DIR set?)", err.detail);
    return c;
}

/* ============================================================================================
 * The corpus: payloads covering every attribute kind and the representation corner cases.
 * ========================================================================================== */

struct ent_case {
    const char *name;
    const char *payload; /* compacted, parsed with the user context */
    const char *a1, *a2; /* two attribute names for attrs= (compact, expanded with the ctx) */
};

static const struct ent_case cases[] = {
    {"every_kind",
     "{\"id\":\"urn:ngsi-ld:AirQualityObserved:1\",\"type\":\"AirQualityObserved\","
     "\"NO2\":{\"type\":\"Property\",\"value\":22.5,\"unitCode\":\"GP\","
     "\"observedAt\":\"2024-01-01T10:00:00Z\"},"
     "\"refDevice\":{\"type\":\"Relationship\",\"object\":\"urn:ngsi-ld:Device:1\","
     "\"objectType\":\"Device\"},"
     "\"refMany\":{\"type\":\"Relationship\",\"object\":[\"urn:a:1\",\"urn:a:2\"]},"
     "\"location\":{\"type\":\"GeoProperty\",\"value\":{\"type\":\"Point\","
     "\"coordinates\":[-3.7,40.4]}},"
     "\"area\":{\"type\":\"GeoProperty\",\"value\":{\"type\":\"Polygon\",\"coordinates\":"
     "[[[0,0],[1,0],[1,1],[0,0]]]}},"
     "\"name\":{\"type\":\"LanguageProperty\",\"languageMap\":{\"en\":\"Air\",\"es\":\"Aire\"}},"
     "\"quality\":{\"type\":\"VocabProperty\",\"vocab\":\"Good\"},"
     "\"tags\":{\"type\":\"VocabProperty\",\"vocab\":[\"ex:a\",\"Good\",\"plain\"]},"
     "\"raw\":{\"type\":\"JsonProperty\",\"json\":{\"type\":\"x\",\"value\":[1,{\"a\":null}]}},"
     "\"series\":{\"type\":\"ListProperty\",\"valueList\":[1,\"two\",{\"three\":3}]},"
     "\"path\":{\"type\":\"ListRelationship\",\"objectList\":[{\"object\":\"urn:p:1\"}]},"
     "\"ex:custom\":{\"type\":\"Property\",\"value\":true},"
     "\"https://other.example/abs\":{\"type\":\"Property\",\"value\":\"abs\"}}",
     "NO2", "quality"},
    {"concise_corners",
     "{\"id\":\"urn:ngsi-ld:X:2\",\"type\":\"T\","
     "\"plain\":{\"type\":\"Property\",\"value\":\"s\"},"
     "\"objval\":{\"type\":\"Property\",\"value\":{\"k\":1,\"l\":[1,2]}},"
     "\"ambig\":{\"type\":\"Property\",\"value\":{\"type\":\"looks\",\"x\":1}},"
     "\"ambig2\":{\"type\":\"Property\",\"value\":{\"object\":\"urn:x:1\"}},"
     "\"arrobj\":{\"type\":\"Property\",\"value\":[1,{\"a\":1}]},"
     "\"arrplain\":{\"type\":\"Property\",\"value\":[1,2,\"3\"]},"
     "\"observationSpace\":{\"type\":\"GeoProperty\",\"value\":{\"type\":\"LineString\","
     "\"coordinates\":[[0,0],[1,1]]}},"
     "\"geoext\":{\"type\":\"GeoProperty\",\"value\":{\"type\":\"Point\",\"coordinates\":[1,2]},"
     "\"observedAt\":\"2024-01-01T00:00:00Z\"},"
     "\"notgeo\":{\"type\":\"Property\",\"value\":{\"type\":\"Point\",\"coordinates\":[1,2]}},"
     "\"num\":{\"type\":\"Property\",\"value\":-1.5e3},"
     "\"f\":{\"type\":\"Property\",\"value\":false}}",
     "plain", "notgeo"},
    {"datasets",
     "{\"id\":\"urn:ngsi-ld:X:3\",\"type\":[\"AirQualityObserved\",\"Device\",\"ex:Thing\"],"
     "\"scope\":[\"/Madrid/Gardens\",\"/Spain\"],"
     "\"temperature\":[{\"type\":\"Property\",\"value\":20,\"datasetId\":\"urn:ds:a\"},"
     "{\"type\":\"Property\",\"value\":21}],"
     "\"name\":[{\"type\":\"LanguageProperty\",\"languageMap\":{\"en\":\"a\"},"
     "\"datasetId\":\"urn:ds:en\"},{\"type\":\"LanguageProperty\",\"languageMap\":{\"fr\":\"b\"},"
     "\"datasetId\":\"urn:ds:fr\"}],"
     "\"quality\":[{\"type\":\"VocabProperty\",\"vocab\":\"Good\",\"datasetId\":\"urn:ds:1\"},"
     "{\"type\":\"VocabProperty\",\"vocab\":[\"Good\",\"Bad\"]}],"
     "\"raw\":[{\"type\":\"JsonProperty\",\"json\":[1,2],\"datasetId\":\"urn:ds:j\"}],"
     "\"single\":{\"type\":\"Property\",\"value\":1,\"datasetId\":\"urn:ds:only\"},"
     "\"location\":[{\"type\":\"GeoProperty\",\"value\":{\"type\":\"Point\","
     "\"coordinates\":[1,2]}},{\"type\":\"GeoProperty\",\"value\":{\"type\":\"Point\","
     "\"coordinates\":[3,4]},\"datasetId\":\"urn:ds:g\"}],"
     "\"rel\":[{\"type\":\"Relationship\",\"object\":\"urn:r:1\",\"datasetId\":\"urn:ds:r1\"},"
     "{\"type\":\"Relationship\",\"object\":\"urn:r:2\",\"datasetId\":\"urn:ds:r2\"}]}",
     "temperature", "name"},
    {"sub_attributes",
     "{\"id\":\"urn:ngsi-ld:X:4\",\"type\":\"Device\",\"scope\":\"/one\","
     "\"speed\":{\"type\":\"Property\",\"value\":3,"
     "\"accuracy\":{\"type\":\"Property\",\"value\":0.1,"
     "\"source\":{\"type\":\"Relationship\",\"object\":\"urn:s:1\",\"objectType\":\"Device\"},"
     "\"region\":{\"type\":\"GeoProperty\",\"value\":{\"type\":\"Point\",\"coordinates\":[0,1]}}},"
     "\"quality\":{\"type\":\"VocabProperty\",\"vocab\":\"Good\"},"
     "\"location\":{\"type\":\"GeoProperty\",\"value\":{\"type\":\"Point\","
     "\"coordinates\":[5,6]}},\"note\":{\"type\":\"LanguageProperty\","
     "\"languageMap\":{\"en\":\"hi\"}}},"
     "\"owner\":{\"type\":\"Relationship\",\"object\":\"urn:o:1\","
     "\"since\":{\"type\":\"Property\",\"value\":\"2020\"}},"
     "\"multi\":[{\"type\":\"Property\",\"value\":1,\"datasetId\":\"urn:ds:m1\","
     "\"sub1\":{\"type\":\"Property\",\"value\":\"x\"}},"
     "{\"type\":\"Property\",\"value\":2,\"sub2\":{\"type\":\"Property\",\"value\":\"y\","
     "\"sub3\":{\"type\":\"Property\",\"value\":\"z\"}}}]}",
     "speed", "multi"},
    {"unicode_and_escapes",
     "{\"id\":\"urn:ngsi-ld:X:\\u00e9q\",\"type\":\"T\\u00e9\","
     "\"caf\\u00e9\":{\"type\":\"Property\",\"value\":\"na\\\"me\\\\ \\u00e9 \\u2603 "
     "\\ud83d\\ude00 \\n\\t\\u0001 /\\/\"},"
     "\"back_sl\\u00e4sh\":{\"type\":\"Property\",\"value\":\"x\"},"
     "\"sn\\u00f8w\":{\"type\":\"Relationship\",\"object\":\"urn:x:\\u2603\"},"
     "\"lang\":{\"type\":\"LanguageProperty\",\"languageMap\":{\"ja\":\"\\u65e5\\u672c\","
     "\"@none\":\"n\\u00f8ne\"}},"
     "\"ds\":[{\"type\":\"Property\",\"value\":1,\"datasetId\":\"urn:ds:\\u00e9\"},"
     "{\"type\":\"Property\",\"value\":2,\"datasetId\":\"urn:ds:\\u2603\"}],"
     "\"v\":{\"type\":\"VocabProperty\",\"vocab\":\"caf\\u00e9\"}}",
     "caf\xc3\xa9", "back_sl\xc3\xa4sh"},
    {"minimal", "{\"id\":\"urn:ngsi-ld:X:5\",\"type\":\"T\"}", "a", "b"},
    {"sdm_like",
     "{\"id\":\"urn:ngsi-ld:AirQualityObserved:Madrid-1\",\"type\":\"AirQualityObserved\","
     "\"dateObserved\":{\"type\":\"Property\",\"value\":{\"@type\":\"DateTime\","
     "\"@value\":\"2016-03-15T11:00:00Z\"}},"
     "\"airQualityIndex\":{\"type\":\"Property\",\"value\":65},"
     "\"airQualityLevel\":{\"type\":\"Property\",\"value\":\"moderate\"},"
     "\"CO\":{\"type\":\"Property\",\"value\":500,\"unitCode\":\"GP\"},"
     "\"NO\":{\"type\":\"Property\",\"value\":45,\"unitCode\":\"GQ\"},"
     "\"SO2\":{\"type\":\"Property\",\"value\":11,\"unitCode\":\"GQ\"},"
     "\"temperature\":{\"type\":\"Property\",\"value\":12.2},"
     "\"relativeHumidity\":{\"type\":\"Property\",\"value\":0.54},"
     "\"reliability\":{\"type\":\"Property\",\"value\":0.7},"
     "\"source\":{\"type\":\"Property\",\"value\":\"http://datos.madrid.es\"},"
     "\"typeofLocation\":{\"type\":\"Property\",\"value\":\"outdoor\"},"
     "\"refPointOfInterest\":{\"type\":\"Relationship\",\"object\":\"urn:ngsi-ld:P:1\"},"
     "\"address\":{\"type\":\"Property\",\"value\":{\"addressCountry\":\"ES\","
     "\"addressLocality\":\"Madrid\",\"streetAddress\":\"Plaza de Espa\\u00f1a\"}},"
     "\"location\":{\"type\":\"GeoProperty\",\"value\":{\"type\":\"Point\","
     "\"coordinates\":[-3.712247222222222,40.423852777777775]}}}",
     "CO", "location"},
};
#define N_CASES (sizeof cases / sizeof cases[0])

/* ============================================================================================
 * Harness
 * ========================================================================================== */

struct fixture {
    struct pl_ctx *user; /* owned */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    f->user = user_ctx();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    pl_ctx_unref(f->user);
    free(f);
    return 0;
}

/* The stored text of a case: parsed with the user context, stamped, dumped as the store does. */
static char *stored_text(const struct pl_ctx *ctx, const char *payload)
{
    json_t *in = tj(payload);
    struct pl_limits lim = pl_limits_default();
    struct pl_err err;
    pl_err_clear(&err);
    json_t *e = NULL;
    if (pl_entity_parse(ctx, in, PL_PARSE_ENTITY, 0, &lim, &e, &err) != 0)
        fail_msg("parse failed: %s\n%s", err.detail, payload);
    json_decref(in);
    pl_entity_stamp(e, NOW);
    char *z = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    return z;
}

/* The tree path on `text`; NULL when the text does not load or render. NEW reference. */
static json_t *tree_render(const struct pl_ctx *ctx, const char *text, size_t len,
                           const struct pl_render_opts *o)
{
    json_t *e = json_loadb(text, len, 0, NULL);
    if (!e || !json_is_object(e)) {
        json_decref(e);
        return NULL;
    }
    json_t *out = NULL;
    struct pl_err err;
    int rc = pl_entity_render(ctx, e, o, &out, &err);
    json_decref(e);
    return rc == 0 ? out : NULL;
}

/* The stream path on an exactly sized copy of `text` (so ASan sees any over-read). */
static int stream_render(const struct pl_ctx *ctx, const char *text, size_t len,
                         const struct pl_render_opts *o, json_t **out)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    struct pl_strbuf b;
    pl_strbuf_init(&b);
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_entity_stream_render(ctx, copy, len, o, &b, &err);
    free(copy);
    *out = NULL;
    if (rc == 0) {
        json_error_t je;
        *out = json_loadb(b.p, b.len, 0, &je);
        if (!*out)
            fail_msg("stream output is not JSON (%s): %.*s", je.text, (int)b.len, b.p);
    }
    pl_strbuf_dispose(&b);
    return rc;
}

static void print_diff(const char *what, const json_t *want, const json_t *got)
{
    char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
    char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT);
    print_error("%s\ntree:   %s\nstream: %s\n", what, w, g);
    free(w);
    free(g);
}

/* Asserts both paths agree on `text` with `o`; `must_handle`: the stream may not fall back. */
static void check_same(const struct pl_ctx *ctx, const char *text, const struct pl_render_opts *o,
                       int must_handle, const char *label)
{
    size_t len = strlen(text);
    json_t *want = tree_render(ctx, text, len, o);
    json_t *got;
    int rc = stream_render(ctx, text, len, o, &got);
    if (must_handle && rc != 0)
        fail_msg("%s: stream path returned %d, expected 0\n%s", label, rc, text);
    if (rc == 0) {
        if (!want)
            fail_msg("%s: stream rendered what the tree path refuses\n%s", label, text);
        if (!json_equal(want, got)) {
            print_diff(label, want, got);
            fail_msg("%s: outputs differ\n%s", label, text);
        }
    }
    json_decref(want);
    json_decref(got);
}

static const char *const fmt_names[] = {"normalized", "keyValues", "concise"};

/* Every format × sysAttrs × attrs filter, with `ctx`. */
static void check_matrix(const struct pl_ctx *ctx, const char *text, const char *const *attrs,
                         const char *label)
{
    for (int fmt = 0; fmt < 3; fmt++) {
        for (int sys = 0; sys < 2; sys++) {
            for (int filt = 0; filt < 2; filt++) {
                struct pl_render_opts o = {.format = (enum pl_format)fmt, .sys_attrs = sys};
                if (filt) {
                    o.attrs = attrs;
                    o.n_attrs = 2;
                }
                char l[256];
                snprintf(l, sizeof l, "%s format=%s sysAttrs=%d attrs=%d", label,
                         fmt_names[fmt], sys, filt);
                check_same(ctx, text, &o, 1, l);
            }
        }
    }
}

/* ============================================================================================
 * Cases
 * ========================================================================================== */

/* NGSI-LD 4.5.1, 4.5.4, 4.5.x.3: stream == tree on every corpus entity, both contexts. */
static void stream_matches_tree_on_corpus(void **state)
{
    struct fixture *f = *state;
    const struct pl_ctx *ctxs[2] = {f->user, pl_ctx_core()};
    for (size_t i = 0; i < N_CASES; i++) {
        char *text = stored_text(f->user, cases[i].payload);
        for (int c = 0; c < 2; c++) {
            char *a1 = pl_ctx_expand(f->user, cases[i].a1);
            char *a2 = pl_ctx_expand(f->user, cases[i].a2);
            const char *attrs[2] = {a1, a2};
            char label[128];
            snprintf(label, sizeof label, "%s ctx=%s", cases[i].name, c ? "core" : "user");
            check_matrix(ctxs[c], text, attrs, label);
            free(a1);
            free(a2);
        }
        free(text);
    }
}

/* The same corpus with whitespace between every token: still handled, still equal. */
static void stream_tolerates_whitespace(void **state)
{
    struct fixture *f = *state;
    for (size_t i = 0; i < N_CASES; i++) {
        char *text = stored_text(f->user, cases[i].payload);
        json_t *e = json_loads(text, 0, NULL);
        char *pretty = json_dumps(e, JSON_INDENT(2));
        const char *attrs[2] = {"x", "y"};
        check_matrix(f->user, pretty, attrs, cases[i].name);
        free(pretty);
        json_decref(e);
        free(text);
    }
}

/* Every proper prefix of a stored body is malformed: an error, never a crash or a read past. */
static void stream_truncated_bodies_fail_cleanly(void **state)
{
    struct fixture *f = *state;
    for (size_t i = 0; i < N_CASES; i++) {
        char *text = stored_text(f->user, cases[i].payload);
        size_t len = strlen(text);
        for (size_t n = 0; n < len; n++) {
            for (int fmt = 0; fmt < 3; fmt++) {
                struct pl_render_opts o = {.format = (enum pl_format)fmt, .sys_attrs = 1};
                json_t *got;
                int rc = stream_render(f->user, text, n, &o, &got);
                if (rc >= 0)
                    fail_msg("%s: prefix of %zu bytes gave %d", cases[i].name, n, rc);
            }
        }
        free(text);
    }
}

static void stream_malformed_bodies_fail_cleanly(void **state)
{
    struct fixture *f = *state;
    static const char *const bad[] = {
        "",
        " ",
        "[]",
        "\"x\"",
        "{",
        "{\"id\"}",
        "{\"id\":}",
        "{\"id\":1,}",
        "{\"id\":1}x",
        "{\"id\":[1,]}",
        "{\"id\":nul}",
        "{\"id\":tru}",
        "{\"id\":01}",
        "{\"id\":1.}",
        "{\"id\":-}",
        "{\"id\":1e}",
        "{\"id\":\"\\u12\"}",
        "{\"id\":\"\\x\"}",
        "{\"id\":\"a\x01\"}",
        "{\"id\":\"abc}",
        "{\"attrs\":{\"a\":[{\"type\":\"Property\",\"value\":}]}}",
        "{'id':1}",
        "{\"a\" 1}",
        "{\"a\":1 \"b\":2}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *got;
        struct pl_render_opts o = {0};
        int rc = stream_render(f->user, bad[i], strlen(bad[i]), &o, &got);
        if (rc >= 0)
            fail_msg("malformed body accepted (%d): %s", rc, bad[i]);
    }
    /* Nesting deeper than the limit: refused, without recursing the stack away. */
    size_t depth = 100000;
    char *deep = malloc(2 * depth + 32);
    size_t n = (size_t)sprintf(deep, "{\"id\":");
    memset(deep + n, '[', depth);
    n += depth;
    memset(deep + n, ']', depth);
    n += depth;
    deep[n++] = '}';
    json_t *got;
    assert_true(stream_render(f->user, deep, n, NULL, &got) < 0);
    free(deep);
}

/* Hand-written stored bodies with odd shapes: each either matches the tree or falls back. */
static void stream_odd_shapes_match_or_fall_back(void **state)
{
    struct fixture *f = *state;
    static const char *const odd[] = {
        /* escaped member names, duplicates (last one wins), whitespace */
        "{\"\\u0069d\":\"urn:a:1\",\"type\":[\"https://example.org/ns#Good\"],\"attrs\":"
        "{\"https://example.org/ns#x\":[{\"t\\u0079pe\":\"Property\",\"value\":1,"
        "\"value\":2}]}}",
        "{\"id\":\"urn:a:1\",\"id\":\"urn:a:2\",\"type\":\"T\",\"type\":[\"A\",\"B\"]}",
        "{ \"id\" : \"urn:a:1\" , \"attrs\" : { } }",
        /* attrs that the tree skips: not an array, empty array; attrs not an object */
        "{\"id\":\"urn:a:1\",\"attrs\":{\"https://x.org/a\":{},\"https://x.org/b\":[]}}",
        "{\"id\":\"urn:a:1\",\"attrs\":[1,2]}",
        /* an unknown kind, a missing payload, non-object instance */
        "{\"id\":\"u:1\",\"attrs\":{\"https://x.org/a\":[{\"type\":\"Nope\",\"value\":1}]}}",
        "{\"id\":\"u:1\",\"attrs\":{\"https://x.org/a\":[{\"type\":\"LanguageProperty\"}]}}",
        "{\"id\":\"u:1\",\"attrs\":{\"https://x.org/a\":[{\"type\":\"Property\"}]}}",
        "{\"id\":\"u:1\",\"attrs\":{\"https://x.org/a\":[1]}}",
        /* the same attribute twice, two default instances, duplicate datasetIds */
        "{\"id\":\"u:1\",\"attrs\":{\"https://x.org/a\":[{\"type\":\"Property\",\"value\":1}],"
        "\"https://x.org/a\":[{\"type\":\"Property\",\"value\":2}]}}",
        "{\"id\":\"u:1\",\"attrs\":{\"https://x.org/a\":[{\"type\":\"Property\",\"value\":1},"
        "{\"type\":\"Property\",\"value\":2}]}}",
        "{\"id\":\"u:1\",\"attrs\":{\"https://x.org/a\":[{\"type\":\"Property\",\"value\":1,"
        "\"datasetId\":\"urn:d\\u0031\"},{\"type\":\"Property\",\"value\":2,"
        "\"datasetId\":\"urn:d1\"}]}}",
        /* a sub-attribute compacting to a core member name; odd types and scopes */
        "{\"id\":\"u:1\",\"attrs\":{\"https://x.org/a\":[{\"type\":\"Property\",\"value\":1,"
        "\"sub\":{\"value\":{\"type\":\"Property\",\"value\":9}}}]}}",
        "{\"id\":5,\"type\":7,\"scope\":\"/s\",\"createdAt\":1}",
        "{\"type\":[1,\"A\"],\"scope\":[[1]]}",
        "{\"type\":[],\"scope\":[]}",
        "{\"type\":[{\"a\":1}]}",
        /* vocab / objectType of odd types */
        "{\"id\":\"u:1\",\"attrs\":{\"https://x.org/a\":[{\"type\":\"VocabProperty\","
        "\"vocab\":[\"https://example.org/ns#Good\",3]}],\"https://x.org/b\":[{\"type\":"
        "\"VocabProperty\",\"vocab\":5,\"objectType\":{\"a\":1}}]}}",
        /* a core geo name holding a Property that looks like a geometry */
        "{\"id\":\"u:1\",\"attrs\":{\"https://uri.etsi.org/ngsi-ld/location\":[{\"type\":"
        "\"Property\",\"value\":{\"type\":\"GeometryCollection\",\"geometries\":[]}}],"
        "\"https://uri.etsi.org/ngsi-ld/operationSpace\":[{\"type\":\"Property\",\"value\":"
        "{\"type\":\"Point\",\"coordinates\":[1,2]},\"observedAt\":\"x\"}]}}",
        /* sub-attributes: non-object "sub", empty "sub" */
        "{\"id\":\"u:1\",\"attrs\":{\"https://x.org/a\":[{\"type\":\"Property\",\"value\":1,"
        "\"sub\":[1]}],\"https://x.org/b\":[{\"type\":\"Property\",\"value\":2,\"sub\":{}}]}}",
    };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        const char *attrs[2] = {"https://x.org/a", "https://uri.etsi.org/ngsi-ld/location"};
        char label[64];
        snprintf(label, sizeof label, "odd[%zu]", i);
        for (int fmt = 0; fmt < 3; fmt++) {
            for (int sys = 0; sys < 2; sys++) {
                for (int filt = 0; filt < 2; filt++) {
                    struct pl_render_opts o = {.format = (enum pl_format)fmt, .sys_attrs = sys,
                                               .attrs = filt ? attrs : NULL,
                                               .n_attrs = filt ? 2 : 0};
                    check_same(f->user, odd[i], &o, 0, label);
                    check_same(pl_ctx_core(), odd[i], &o, 0, label);
                }
            }
        }
    }
}

/* pick, omit and lang stay on the tree path. */
static void stream_falls_back_for_pick_omit_lang(void **state)
{
    struct fixture *f = *state;
    const char *body = "{\"id\":\"urn:a:1\",\"type\":[\"T\"]}";
    const char *list[1] = {"id"};
    struct pl_render_opts o1 = {.pick = list, .n_pick = 1};
    struct pl_render_opts o2 = {.omit = list, .n_omit = 1};
    struct pl_render_opts o3 = {.lang = "en"};
    json_t *got;
    assert_int_equal(stream_render(f->user, body, strlen(body), &o1, &got),
                     PL_ENTITY_STREAM_FALLBACK);
    assert_int_equal(stream_render(f->user, body, strlen(body), &o2, &got),
                     PL_ENTITY_STREAM_FALLBACK);
    assert_int_equal(stream_render(f->user, body, strlen(body), &o3, &got),
                     PL_ENTITY_STREAM_FALLBACK);
}

/* The memoized compaction gives what pl_ctx_compact gives, borrowed or owned. */
static void ctx_compact_borrowed_matches_compact(void **state)
{
    struct fixture *f = *state;
    static const char *const iris[] = {
        "https://smartdatamodels.org/dataModel.Environment/NO2", "https://example.org/ns#x",
        PL_DEFAULT_VOCAB "plain", "https://uri.etsi.org/ngsi-ld/location", "urn:x:1", "@id"};
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < sizeof iris / sizeof iris[0]; i++) {
            char *want = pl_ctx_compact(f->user, iris[i]);
            char *owned;
            const char *got = pl_ctx_compact_borrowed(f->user, iris[i], &owned);
            assert_non_null(got);
            assert_string_equal(got, want);
            free(owned);
            free(want);
        }
    }
    /* Past the memo's bound every answer is still right (owned copies). */
    for (int i = 0; i < 3000; i++) {
        char iri[96];
        snprintf(iri, sizeof iri, PL_DEFAULT_VOCAB "v%d", i);
        char *owned;
        const char *got = pl_ctx_compact_borrowed(f->user, iri, &owned);
        char want[96];
        snprintf(want, sizeof want, "v%d", i);
        assert_string_equal(got, want);
        free(owned);
    }
}

/* ---- Many members: the duplicate check is a hash set (review fix), not a linear search ---- */


/* A stored entity with `n_attrs` attributes and one more holding `n_subs` sub-attributes,
 * plus (when `dup_sub` is set) a last sub-attribute named like a member the renderer writes.
 * Returns malloc'd text. */
static char *wide_entity(int n_attrs, int n_subs, const char *dup_sub)
{
    json_t *attrs = json_object();
    char b[64];
    for (int i = 0; i < n_attrs; i++) {
        snprintf(b, sizeof b, "https://x.org/a%d", i);
        json_object_set_new(attrs, b, json_pack("[{s:s, s:i}]", "type", "Property", "value", i));
    }
    json_t *sub = json_object();
    for (int i = 0; i < n_subs; i++) {
        snprintf(b, sizeof b, "https://x.org/s%d", i);
        json_object_set_new(sub, b, json_pack("{s:s, s:i}", "type", "Property", "value", i));
    }
    if (dup_sub)
        json_object_set_new(sub, dup_sub, json_pack("{s:s, s:i}", "type", "Property", "value", 0));
    json_object_set_new(attrs, "https://x.org/wide",
                        json_pack("[{s:s, s:i, s:o}]", "type", "Property", "value", 1, "sub", sub));
    json_t *e = json_pack("{s:s, s:[s], s:o}", "id", "urn:a:wide", "type", "https://x.org/T",
                          "attrs", attrs);
    pl_entity_stamp(e, NOW);
    char *z = json_dumps(e, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(e);
    return z;
}

static void stream_many_members_is_fast_and_matches_tree(void **state)
{
    struct fixture *f = *state;
    char *text = wide_entity(5000, 100000, NULL);
    size_t len = strlen(text);
    for (int fmt = 0; fmt < 3; fmt++) {
        struct pl_render_opts o = {.format = (enum pl_format)fmt, .sys_attrs = fmt == 0};
        json_t *got;
            int rc = stream_render(pl_ctx_core(), text, len, &o, &got);
        assert_int_equal(rc, 0);
        json_t *want = tree_render(pl_ctx_core(), text, len, &o);
        assert_non_null(want);
        if (!json_equal(want, got))
            fail_msg("outputs differ for the wide entity (format %d)", fmt);
        json_decref(want);
        json_decref(got);
    }
    free(text);
    (void)f;
}

static void stream_duplicate_past_small_set_falls_back(void **state)
{
    struct fixture *f = *state;
    /* 40 sub-attributes (past the 16 kept in the small array), then one named "value". */
    char *text = wide_entity(3, 40, "value");
    struct pl_render_opts o = {.format = PL_FORMAT_NORMALIZED};
    json_t *got;
    assert_int_equal(stream_render(pl_ctx_core(), text, strlen(text), &o, &got),
                     PL_ENTITY_STREAM_FALLBACK);
    check_same(pl_ctx_core(), text, &o, 0, "dup past small set");
    check_same(f->user, text, &o, 0, "dup past small set (user ctx)");
    free(text);
    /* Without the duplicate the same shape is handled. */
    text = wide_entity(40, 40, NULL);
    check_matrix(pl_ctx_core(), text,
                 (const char *const[]){"https://x.org/a3", "https://x.org/wide"}, "wide 40");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stream_matches_tree_on_corpus),
        cmocka_unit_test(stream_tolerates_whitespace),
        cmocka_unit_test(stream_truncated_bodies_fail_cleanly),
        cmocka_unit_test(stream_malformed_bodies_fail_cleanly),
        cmocka_unit_test(stream_odd_shapes_match_or_fall_back),
        cmocka_unit_test(stream_falls_back_for_pick_omit_lang),
        cmocka_unit_test(ctx_compact_borrowed_matches_compact),
        cmocka_unit_test(stream_many_members_is_fast_and_matches_tree),
        cmocka_unit_test(stream_duplicate_past_small_set_falls_back),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
