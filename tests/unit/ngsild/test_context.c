/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_context.c — unit tests of ngsild/context.c: building active contexts (NGSI-LD 4.4,
 * JSON-LD 1.1 context processing) and IRI expansion / compaction.
 * Needs POLIS_SOURCE_DIR (the repository root) for the Smart Data Models round-trip test.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ngsild/context.h"

#define NGSI  "https://uri.etsi.org/ngsi-ld/"
#define VOCAB PL_DEFAULT_VOCAB

/* Builds from JSON text; returns the rc and sets *out. */
static int build_text(const char *text, struct pl_ctx **out, struct pl_err *err)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);
    assert_non_null(v);
    int rc = pl_ctx_build(v, NULL, NULL, out, err);
    json_decref(v);
    return rc;
}

static struct pl_ctx *build_ok(const char *text)
{
    struct pl_ctx *c = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = build_text(text, &c, &err);
    if (rc)
        print_error("build failed: %s\n", err.detail);
    assert_int_equal(rc, 0);
    assert_non_null(c);
    return c;
}

static void assert_build_fails(const char *text, int code)
{
    struct pl_ctx *c = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_equal(build_text(text, &c, &err), code);
    assert_null(c);
    assert_int_equal(err.code, code);
    assert_true(err.detail[0] != '\0');
}

static void assert_expand(const struct pl_ctx *c, const char *term, const char *iri)
{
    char *e = pl_ctx_expand(c, term);
    if (iri == NULL) {
        assert_null(e);
        return;
    }
    assert_non_null(e);
    assert_string_equal(e, iri);
    free(e);
}

static void assert_compact(const struct pl_ctx *c, const char *iri, const char *term)
{
    char *t = pl_ctx_compact(c, iri);
    assert_non_null(t);
    assert_string_equal(t, term);
    free(t);
}

static int better(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    return na < nb || (na == nb && strcmp(a, b) < 0);
}

/* ---------------------------------------------------------------------------------------- */

static void ctx_core_expands_and_compacts_core_terms(void **state)
{
    (void)state;
    const struct pl_ctx *c = pl_ctx_core();
    assert_non_null(c);
    assert_expand(c, "location", NGSI "location");
    assert_expand(c, "Property", NGSI "Property");
    assert_expand(c, "Point", "https://purl.org/geojson/vocab#Point");
    assert_expand(c, "id", "@id");
    assert_expand(c, "type", "@type");
    assert_compact(c, NGSI "location", "location");
    assert_compact(c, NGSI "hasObject", "object");
    assert_compact(c, "@id", "id");
    assert_compact(c, "@type", "type");
    assert_true(pl_ctx_term_count(c) > 200);
    assert_true(json_is_null(pl_ctx_source(c)));
}

static void ctx_core_unknown_term_uses_default_vocab(void **state)
{
    (void)state;
    const struct pl_ctx *c = pl_ctx_core();
    assert_expand(c, "temperature", VOCAB "temperature");
    assert_compact(c, VOCAB "temperature", "temperature");
    /* A vocab-relative suffix that is itself a term must not be used. */
    assert_compact(c, VOCAB "location", "ngsi-ld:default-context/location");
    assert_compact(c, "http://example.org/x", "http://example.org/x");
    assert_compact(c, NGSI "unknownThing", "ngsi-ld:unknownThing");
}

static void ctx_null_value_is_core_only(void **state)
{
    (void)state;
    struct pl_ctx *c = NULL;
    assert_int_equal(pl_ctx_build(NULL, NULL, NULL, &c, NULL), 0);
    assert_ptr_equal(c, pl_ctx_core());
    pl_ctx_unref(c);
    json_t *n = json_null();
    assert_int_equal(pl_ctx_build(n, NULL, NULL, &c, NULL), 0);
    assert_expand(c, "location", NGSI "location");
    pl_ctx_unref(c);
    json_decref(n);
}

static void ctx_user_term_expands_and_compacts(void **state)
{
    (void)state;
    struct pl_ctx *c = build_ok("{\"Vehicle\": \"http://example.org/Vehicle\", "
                                "\"speed\": {\"@id\": \"http://example.org/speed\"}}");
    assert_expand(c, "Vehicle", "http://example.org/Vehicle");
    assert_expand(c, "speed", "http://example.org/speed");
    assert_compact(c, "http://example.org/speed", "speed");
    assert_expand(c, "location", NGSI "location");
    assert_true(json_is_object(pl_ctx_source(c)));
    pl_ctx_unref(c);
}

static void ctx_core_terms_win_over_user_terms(void **state)
{
    (void)state;
    struct pl_ctx *c = build_ok("{\"location\": \"http://example.org/myLocation\", "
                                "\"@vocab\": \"http://example.org/vocab/\"}");
    assert_expand(c, "location", NGSI "location");
    /* The core @vocab, applied last, replaces the user's. */
    assert_expand(c, "foo", VOCAB "foo");
    pl_ctx_unref(c);
}

static void ctx_protected_core_redefinition_is_not_an_error(void **state)
{
    (void)state;
    struct pl_ctx *c = build_ok("[\"" PL_CORE_CONTEXT_URL "\", "
                                "{\"location\": \"http://example.org/loc\"}]");
    assert_expand(c, "location", NGSI "location");
    pl_ctx_unref(c);
}

static void ctx_compact_iri_with_defined_prefix(void **state)
{
    (void)state;
    struct pl_ctx *c = build_ok("{\"ex\": \"http://example.org/ns#\", "
                                "\"speed\": \"ex:speed\", \"nopfx\": \"http://example.org/a\"}");
    assert_expand(c, "speed", "http://example.org/ns#speed");
    assert_expand(c, "ex:other", "http://example.org/ns#other");
    assert_compact(c, "http://example.org/ns#other", "ex:other");
    assert_compact(c, "http://example.org/ns#speed", "speed");
    /* Not a prefix (IRI does not end with a gen-delim): stays an absolute IRI. */
    assert_expand(c, "nopfx:b", "nopfx:b");
    assert_expand(c, "undefined:thing", "undefined:thing");
    assert_expand(c, "http://x.org/y", "http://x.org/y");
    assert_expand(c, "_:b0", "_:b0");
    pl_ctx_unref(c);
}

static void ctx_prefix_flag_explicit(void **state)
{
    (void)state;
    struct pl_ctx *c = build_ok("{\"ex\": {\"@id\": \"http://example.org/a\", \"@prefix\": true}}");
    assert_expand(c, "ex:b", "http://example.org/ab");
    pl_ctx_unref(c);
    assert_build_fails("{\"ex:y\": {\"@id\": \"http://e.org/\", \"@prefix\": true}}",
                       PL_EBADREQUESTDATA);
}

static void ctx_null_term_unmaps(void **state)
{
    (void)state;
    struct pl_ctx *c = build_ok("[{\"foo\": \"http://example.org/foo\"}, {\"foo\": null}, "
                                "{\"bar\": {\"@id\": null}}]");
    assert_expand(c, "foo", NULL);
    assert_expand(c, "bar", NULL);
    /* The core wins even over an unmapping. */
    pl_ctx_unref(c);
    c = build_ok("{\"location\": null}");
    assert_expand(c, "location", NGSI "location");
    pl_ctx_unref(c);
}

static void ctx_vocab_relative_to_previous_vocab(void **state)
{
    (void)state;
    /* Terms without @id take the user's @vocab at definition time (JSON-LD 1.1). */
    struct pl_ctx *c = build_ok("[{\"@vocab\": \"http://example.org/\"}, {\"@vocab\": \"sub/\"}, "
                                "{\"bar\": {\"@type\": \"@id\"}, \"baz\": {\"@id\": \"qux\"}}]");
    assert_expand(c, "bar", "http://example.org/sub/bar");
    assert_expand(c, "baz", "http://example.org/sub/qux");
    assert_int_equal(pl_ctx_coercion(c, "http://example.org/sub/bar"), PL_CTX_COERCE_ID);
    pl_ctx_unref(c);
    /* @vocab as a compact IRI. */
    c = build_ok("{\"@vocab\": \"ex:\", \"ex\": \"http://ex.org/\", \"t\": {}}");
    assert_expand(c, "t", "ex:t");
    pl_ctx_unref(c);
    assert_build_fails("{\"@vocab\": \"relative/\"}", PL_EBADREQUESTDATA);
    assert_build_fails("{\"@vocab\": 3}", PL_EBADREQUESTDATA);
}

static void ctx_relative_term_without_vocab_rejected(void **state)
{
    (void)state;
    assert_build_fails("{\"foo\": {\"@id\": \"bar\"}}", PL_EBADREQUESTDATA);
    assert_build_fails("{\"foo\": {\"@type\": \"@id\"}}", PL_EBADREQUESTDATA);
}

static void ctx_arrays_of_contexts(void **state)
{
    (void)state;
    struct pl_ctx *c = build_ok("[{\"a\": \"http://e.org/a\"}, [{\"b\": \"http://e.org/b\"}], "
                                "{\"a\": \"http://e.org/a2\"}, null, {\"c\": \"http://e.org/c\"}]");
    /* null resets: a and b are gone, c stays. */
    assert_expand(c, "a", VOCAB "a");
    assert_expand(c, "c", "http://e.org/c");
    pl_ctx_unref(c);
    c = build_ok("[{\"a\": \"http://e.org/a\"}, {\"a\": \"http://e.org/a2\"}]");
    assert_expand(c, "a", "http://e.org/a2");
    pl_ctx_unref(c);
}

static void ctx_each_core_version_url_resolves_without_loader(void **state)
{
    (void)state;
    static const char *const urls[] = {
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
        "http://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.3.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.4.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.5.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.6.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.7.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
        "http://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld",
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld",
        "https://w3id.org/security/data-integrity/v2",
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        assert_non_null(pl_ctx_builtin_doc(urls[i]));
        json_t *v = json_string(urls[i]);
        struct pl_ctx *c = NULL;
        struct pl_err err;
        pl_err_clear(&err);
        int rc = pl_ctx_build(v, NULL, NULL, &c, &err);
        if (rc)
            print_error("%s: %s\n", urls[i], err.detail);
        assert_int_equal(rc, 0);
        assert_expand(c, "location", NGSI "location");
        pl_ctx_unref(c);
        json_decref(v);
    }
    assert_null(pl_ctx_builtin_doc("https://example.org/ctx.jsonld"));
    assert_null(pl_ctx_builtin_doc("ftp://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"));
}

static void ctx_unknown_url_without_loader_is_ldcontext(void **state)
{
    (void)state;
    assert_build_fails("\"https://example.org/missing.jsonld\"", PL_ELDCONTEXT);
}

static int loader_calls;

/* A loader that serves a.jsonld -> b.jsonld -> a.jsonld (a cycle) and c.jsonld (a term). */
static int test_loader(void *ud, const char *url, json_t **doc, struct pl_err *err)
{
    (void)ud;
    loader_calls++;
    const char *text = NULL;
    if (strcmp(url, "http://t/a.jsonld") == 0)
        text = "{\"@context\": [\"http://t/b.jsonld\"]}";
    else if (strcmp(url, "http://t/b.jsonld") == 0)
        text = "{\"@context\": \"http://t/a.jsonld\"}";
    else if (strcmp(url, "http://t/c.jsonld") == 0)
        text = "{\"@context\": {\"cterm\": \"http://t/cterm\"}}";
    else if (strcmp(url, "http://t/nocontext.jsonld") == 0)
        text = "{\"foo\": 1}";
    if (!text)
        return pl_err_set(err, PL_ELDCONTEXT, "not found: %s", url);
    *doc = json_loads(text, 0, NULL);
    return 0;
}

static void ctx_remote_documents_via_loader_cycle_safe(void **state)
{
    (void)state;
    struct pl_ctx *c = NULL;
    struct pl_err err;
    json_t *v = json_loads("[\"http://t/c.jsonld\", \"http://t/c.jsonld\"]", 0, NULL);
    assert_int_equal(pl_ctx_build(v, test_loader, NULL, &c, &err), 0);
    assert_expand(c, "cterm", "http://t/cterm");
    pl_ctx_unref(c);
    json_decref(v);

    v = json_string("http://t/a.jsonld");
    c = NULL;
    assert_int_equal(pl_ctx_build(v, test_loader, NULL, &c, &err), PL_EBADREQUESTDATA);
    assert_null(c);
    json_decref(v);

    v = json_string("http://t/nocontext.jsonld");
    assert_int_equal(pl_ctx_build(v, test_loader, NULL, &c, &err), PL_EBADREQUESTDATA);
    json_decref(v);
    v = json_string("http://t/none.jsonld");
    assert_int_equal(pl_ctx_build(v, test_loader, NULL, &c, &err), PL_ELDCONTEXT);
    json_decref(v);
}

static void ctx_invalid_iri_mapping_rejected(void **state)
{
    (void)state;
    /* The Smart Data Models IssueTracking pattern: an undefined prefix, a different IRI. */
    assert_build_fails("{\"open311:metadata\": \"https://smartdatamodels.org/x/open311:metadata\"}",
                       PL_EBADREQUESTDATA);
    assert_build_fails("{\"a/b\": \"http://e.org/c\"}", PL_EBADREQUESTDATA);
    /* Same IRI: fine. */
    struct pl_ctx *c = build_ok("{\"ex\": \"http://e.org/\", \"ex:a\": \"http://e.org/a\"}");
    assert_expand(c, "ex:a", "http://e.org/a");
    pl_ctx_unref(c);
    /* An @id that is not an IRI. */
    assert_build_fails("{\"@vocab\": null, \"x\": \"notAnIri\"}", PL_EBADREQUESTDATA);
    assert_build_fails("{\"x\": {\"@id\": 5}}", PL_EBADREQUESTDATA);
    assert_build_fails("{\"x\": {\"@id\": \"@context\"}}", PL_EBADREQUESTDATA);
    /* A cycle between terms. */
    assert_build_fails("{\"a\": \"b:x\", \"b\": \"a:y\"}", PL_EBADREQUESTDATA);
}

static void ctx_bad_definitions_rejected(void **state)
{
    (void)state;
    assert_build_fails("{\"x\": {\"@id\": \"http://e.org/x\", \"@type\": 3}}", PL_EBADREQUESTDATA);
    assert_build_fails("{\"x\": {\"@id\": \"http://e.org/x\", \"@type\": \"@list\"}}",
                       PL_EBADREQUESTDATA);
    assert_build_fails("{\"x\": {\"@id\": \"http://e.org/x\", \"@container\": \"@bogus\"}}",
                       PL_EBADREQUESTDATA);
    assert_build_fails("{\"x\": {\"@id\": \"http://e.org/x\", \"@foo\": 1}}", PL_EBADREQUESTDATA);
    assert_build_fails("{\"x\": 5}", PL_EBADREQUESTDATA);
    assert_build_fails("{\"@id\": \"http://e.org/x\"}", PL_EBADREQUESTDATA);
    assert_build_fails("{\"\": \"http://e.org/x\"}", PL_EBADREQUESTDATA);
    assert_build_fails("{\"@version\": 1.0}", PL_EBADREQUESTDATA);
    assert_build_fails("{\"@propagate\": \"yes\"}", PL_EBADREQUESTDATA);
    assert_build_fails("{\"x\": {\"@reverse\": \"http://e.org/x\"}}", PL_EINVALIDREQUEST);
}

static void ctx_import_rejected(void **state)
{
    (void)state;
    assert_build_fails("{\"@import\": \"https://example.org/c.jsonld\"}", PL_EINVALIDREQUEST);
}

static void ctx_non_object_context_rejected(void **state)
{
    (void)state;
    assert_build_fails("42", PL_EBADREQUESTDATA);
    assert_build_fails("true", PL_EBADREQUESTDATA);
    assert_build_fails("[{\"a\": \"http://e.org/a\"}, 7]", PL_EBADREQUESTDATA);
}

static void ctx_accepts_json_ld_11_features(void **state)
{
    (void)state;
    struct pl_ctx *c = build_ok(
        "{\"@version\": 1.1, \"@base\": \"http://b.org/\", \"@language\": \"en\", "
        "\"@propagate\": true, \"@protected\": true, \"@direction\": \"ltr\", "
        "\"@type\": {\"@container\": \"@set\"}, \"@ignoredFuture\": \"x\", "
        "\"when\": {\"@id\": \"http://e.org/when\", \"@type\": \"http://www.w3.org/2001/"
        "XMLSchema#dateTime\"},"
        "\"js\": {\"@id\": \"http://e.org/js\", \"@type\": \"@json\"},"
        "\"vo\": {\"@id\": \"http://e.org/vo\", \"@type\": \"@vocab\", \"@container\": [\"@set\"]},"
        "\"sc\": {\"@id\": \"http://e.org/sc\", \"@context\": {\"inner\": \"http://e.org/in\"}}}");
    assert_int_equal(pl_ctx_coercion(c, "http://e.org/when"), PL_CTX_COERCE_OTHER);
    assert_int_equal(pl_ctx_coercion(c, "http://e.org/js"), PL_CTX_COERCE_JSON);
    assert_int_equal(pl_ctx_coercion(c, "http://e.org/vo"), PL_CTX_COERCE_VOCAB);
    assert_int_equal(pl_ctx_coercion(c, "http://e.org/none"), PL_CTX_COERCE_NONE);
    assert_expand(c, "sc", "http://e.org/sc");
    assert_expand(c, "inner", VOCAB "inner"); /* scoped: ignored for keys */
    pl_ctx_unref(c);
}

static void ctx_compact_prefers_shortest_then_least_term(void **state)
{
    (void)state;
    struct pl_ctx *c = build_ok("{\"longer\": \"http://e.org/x\", \"bb\": \"http://e.org/x\", "
                                "\"ab\": \"http://e.org/x\"}");
    assert_compact(c, "http://e.org/x", "ab");
    pl_ctx_unref(c);
}

static void ctx_core_coercions(void **state)
{
    (void)state;
    const struct pl_ctx *c = pl_ctx_core();
    assert_int_equal(pl_ctx_coercion(c, NGSI "hasObject"), PL_CTX_COERCE_ID);
    assert_int_equal(pl_ctx_coercion(c, NGSI "observedAt"), PL_CTX_COERCE_OTHER);
}

/* NGSI-LD 4.4 with the Smart Data Models contexts of data/contexts/preload/. */
static void ctx_roundtrip_smart_data_models_terms(void **state)
{
    (void)state;
    const char *root = getenv("POLIS_SOURCE_DIR");
    if (!root)
        skip();
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/data/contexts/preload", root);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (n < 7 || strcmp(de->d_name + n - 7, ".jsonld") != 0)
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        json_t *doc = json_load_file(path, 0, NULL);
        assert_non_null(doc);
        json_t *cv = json_object_get(doc, "@context");
        struct pl_ctx *c = NULL;
        struct pl_err err;
        pl_err_clear(&err);
        int rc = pl_ctx_build(cv, NULL, NULL, &c, &err);
        files++;
        if (strstr(de->d_name, "IssueTracking")) {
            /* "open311:metadata" is an invalid IRI mapping (our strict policy, like pyld). */
            assert_int_equal(rc, PL_EBADREQUESTDATA);
            json_decref(doc);
            continue;
        }
        if (rc)
            print_error("%s: %s\n", path, err.detail);
        assert_int_equal(rc, 0);
        const char *t;
        json_t *v;
        json_object_foreach(cv, t, v)
        {
            if (t[0] == '@')
                continue;
            char *e = pl_ctx_expand(c, t);
            assert_non_null(e);
            char *back = pl_ctx_compact(c, e);
            assert_non_null(back);
            if (strcmp(back, t) != 0) {
                /* Another term maps to the same IRI and is preferred. */
                assert_true(better(back, t));
                char *e2 = pl_ctx_expand(c, back);
                assert_string_equal(e2, e);
                free(e2);
            }
            free(back);
            free(e);
        }
        pl_ctx_unref(c);
        json_decref(doc);
    }
    closedir(d);
    assert_true(files >= 8);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ctx_core_expands_and_compacts_core_terms),
        cmocka_unit_test(ctx_core_unknown_term_uses_default_vocab),
        cmocka_unit_test(ctx_null_value_is_core_only),
        cmocka_unit_test(ctx_user_term_expands_and_compacts),
        cmocka_unit_test(ctx_core_terms_win_over_user_terms),
        cmocka_unit_test(ctx_protected_core_redefinition_is_not_an_error),
        cmocka_unit_test(ctx_compact_iri_with_defined_prefix),
        cmocka_unit_test(ctx_prefix_flag_explicit),
        cmocka_unit_test(ctx_null_term_unmaps),
        cmocka_unit_test(ctx_vocab_relative_to_previous_vocab),
        cmocka_unit_test(ctx_relative_term_without_vocab_rejected),
        cmocka_unit_test(ctx_arrays_of_contexts),
        cmocka_unit_test(ctx_each_core_version_url_resolves_without_loader),
        cmocka_unit_test(ctx_unknown_url_without_loader_is_ldcontext),
        cmocka_unit_test(ctx_remote_documents_via_loader_cycle_safe),
        cmocka_unit_test(ctx_invalid_iri_mapping_rejected),
        cmocka_unit_test(ctx_bad_definitions_rejected),
        cmocka_unit_test(ctx_import_rejected),
        cmocka_unit_test(ctx_non_object_context_rejected),
        cmocka_unit_test(ctx_accepts_json_ld_11_features),
        cmocka_unit_test(ctx_compact_prefers_shortest_then_least_term),
        cmocka_unit_test(ctx_core_coercions),
        cmocka_unit_test(ctx_roundtrip_smart_data_models_terms),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
