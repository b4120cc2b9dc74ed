/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctxreg.c — unit tests of ctxreg/ctxreg.c: resolving through the registry, the preload
 * map, never caching failed downloads, and the hosted-context operations (NGSI-LD 5.13).
 * Runs without a store (store NULL) and without network (the only URL fetched is a closed local
 * port). Needs POLIS_SOURCE_DIR (the repository root) for the preload map.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ctxreg/ctxreg.h"

#define SELF "http://127.0.0.1:19999"
#define WEATHER                                                                                    \
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Weather/master/"                \
    "context.jsonld"
#define ISSUES                                                                                     \
    "https://raw.githubusercontent.com/smart-data-models/dataModel.IssueTracking/"                 \
    "master/context.jsonld"
#define UNREACHABLE "http://127.0.0.1:1/x.jsonld"

static char preload_dir[4096];

static struct pl_ctxreg *new_reg(int with_preload)
{
    struct pl_ctxreg_config cfg = {0};
    cfg.self_url = SELF;
    cfg.fetch_timeout_ms = 2000;
    cfg.connect_timeout_ms = 1000;
    if (with_preload) {
        const char *root = getenv("POLIS_SOURCE_DIR");
        if (!root)
            root = ".";
        snprintf(preload_dir, sizeof preload_dir, "%s/data/contexts/preload", root);
        cfg.preload_dir = preload_dir;
    }
    struct pl_ctxreg *r = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_ctxreg_new(&cfg, NULL, &r, &err);
    if (rc)
        print_error("pl_ctxreg_new: %s\n", err.detail);
    assert_int_equal(rc, 0);
    return r;
}

static void assert_expands(struct pl_ctx *c, const char *term, const char *iri)
{
    char *e = pl_ctx_expand(c, term);
    assert_non_null(e);
    assert_string_equal(e, iri);
    free(e);
}

static int resolve_str(struct pl_ctxreg *r, const char *url, struct pl_ctx **c, struct pl_err *e)
{
    json_t *v = json_string(url);
    int rc = pl_ctxreg_resolve(r, v, c, e);
    json_decref(v);
    return rc;
}

static size_t count_kind(struct pl_ctxreg *r, const char *kind)
{
    json_t *l = NULL;
    assert_int_equal(pl_ctxreg_list(r, 0, kind, &l, NULL), 0);
    size_t n = json_array_size(l);
    json_decref(l);
    return n;
}

static int listed(struct pl_ctxreg *r, const char *url)
{
    json_t *l = NULL, *v;
    size_t i;
    int found = 0;
    assert_int_equal(pl_ctxreg_list(r, 0, NULL, &l, NULL), 0);
    json_array_foreach(l, i, v)
    {
        if (strcmp(json_string_value(v), url) == 0)
            found = 1;
    }
    json_decref(l);
    return found;
}

/* ---------------------------------------------------------------------------------------- */

static void ctxreg_without_store_resolves_core(void **state)
{
    (void)state;
    struct pl_ctxreg *r = new_reg(0);
    struct pl_ctx *c = NULL;
    assert_int_equal(pl_ctxreg_resolve(r, NULL, &c, NULL), 0);
    assert_expands(c, "location", "https://uri.etsi.org/ngsi-ld/location");
    pl_ctx_unref(c);
    /* Any core version URL resolves without network. */
    assert_int_equal(resolve_str(r,
                                 "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.6.jsonld",
                                 &c, NULL),
                     0);
    pl_ctx_unref(c);
    /* The core context is listed and served, and cannot be deleted. */
    assert_true(listed(r, PL_CORE_CONTEXT_URL));
    json_t *doc = NULL;
    assert_int_equal(pl_ctxreg_get(r, PL_CORE_CONTEXT_URL, &doc, NULL), 0);
    assert_non_null(json_object_get(doc, "@context"));
    json_decref(doc);
    assert_int_equal(pl_ctxreg_delete(r, PL_CORE_CONTEXT_URL, 0, NULL), PL_EBADREQUESTDATA);
    pl_ctxreg_free(r);
}

static void ctxreg_compiled_contexts_are_cached(void **state)
{
    (void)state;
    struct pl_ctxreg *r = new_reg(0);
    json_t *a = json_loads("{\"b\": \"http://e.org/b\", \"a\": \"http://e.org/a\"}", 0, NULL);
    json_t *b = json_loads("{\"a\": \"http://e.org/a\", \"b\": \"http://e.org/b\"}", 0, NULL);
    struct pl_ctx *c1 = NULL, *c2 = NULL;
    assert_int_equal(pl_ctxreg_resolve(r, a, &c1, NULL), 0);
    assert_int_equal(pl_ctxreg_resolve(r, b, &c2, NULL), 0);
    assert_ptr_equal(c1, c2); /* same canonical text */
    assert_expands(c1, "a", "http://e.org/a");
    /* Inline contexts are listed as ImplicitlyCreated. */
    assert_int_equal(count_kind(r, "ImplicitlyCreated"), 1);
    pl_ctx_unref(c1);
    pl_ctx_unref(c2);
    json_decref(a);
    json_decref(b);
    pl_ctxreg_free(r);
}

static void ctxreg_preload_map_resolves_from_disk(void **state)
{
    (void)state;
    struct pl_ctxreg *r = new_reg(1);
    struct pl_ctx *c = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = resolve_str(r, WEATHER, &c, &err);
    if (rc)
        print_error("%s\n", err.detail);
    assert_int_equal(rc, 0);
    assert_expands(c, "dateObserved", "https://smartdatamodels.org/dateObserved");
    assert_expands(c, "location", "https://uri.etsi.org/ngsi-ld/location");
    pl_ctx_unref(c);
    assert_true(listed(r, WEATHER));
    /* The IssueTracking context is invalid JSON-LD 1.1 (invalid IRI mapping). */
    assert_int_equal(resolve_str(r, ISSUES, &c, &err), PL_EBADREQUESTDATA);
    /* Details and reload (a preloaded entry is re-read from its file). */
    json_t *l = NULL;
    assert_int_equal(pl_ctxreg_list(r, 1, "Cached", &l, NULL), 0);
    assert_true(json_array_size(l) >= 10);
    json_t *item = json_array_get(l, 0);
    assert_non_null(json_object_get(item, "URL"));
    assert_non_null(json_object_get(item, "localId"));
    assert_string_equal(json_string_value(json_object_get(item, "kind")), "Cached");
    assert_non_null(json_object_get(item, "createdAt"));
    assert_non_null(json_object_get(item, "numberOfHits"));
    json_decref(l);
    assert_int_equal(pl_ctxreg_delete(r, WEATHER, 1, &err), 0);
    assert_int_equal(resolve_str(r, WEATHER, &c, &err), 0);
    pl_ctx_unref(c);
    assert_int_equal(pl_ctxreg_delete(r, WEATHER, 0, &err), 0);
    assert_false(listed(r, WEATHER));
    pl_ctxreg_free(r);
}

static void ctxreg_bad_preload_dir_fails(void **state)
{
    (void)state;
    struct pl_ctxreg_config cfg = {0};
    cfg.preload_dir = "/nonexistent/polis/preload";
    struct pl_ctxreg *r = NULL;
    struct pl_err err;
    assert_int_equal(pl_ctxreg_new(&cfg, NULL, &r, &err), PL_EINTERNAL);
    assert_null(r);
}

static void ctxreg_unreachable_url_is_ldcontext_and_not_cached(void **state)
{
    (void)state;
    struct pl_ctxreg *r = new_reg(0);
    struct pl_ctx *c = NULL;
    struct pl_err err;
    for (int i = 0; i < 2; i++) {
        pl_err_clear(&err);
        assert_int_equal(resolve_str(r, UNREACHABLE, &c, &err), PL_ELDCONTEXT);
        assert_null(c);
        assert_int_equal(err.code, PL_ELDCONTEXT);
        assert_non_null(strstr(err.detail, UNREACHABLE)); /* tried again: a fresh curl error */
        assert_false(listed(r, UNREACHABLE));
    }
    /* Inside an array too. */
    json_t *v = json_loads("[{\"a\": \"http://e.org/a\"}, \"" UNREACHABLE "\"]", 0, NULL);
    assert_int_equal(pl_ctxreg_resolve(r, v, &c, &err), PL_ELDCONTEXT);
    assert_int_equal(count_kind(r, "ImplicitlyCreated"), 0);
    json_decref(v);
    /* Non-http schemes are never fetched. */
    assert_int_equal(resolve_str(r, "file:///etc/passwd", &c, &err), PL_ELDCONTEXT);
    pl_ctxreg_free(r);
}

static void ctxreg_hosted_add_get_list_delete(void **state)
{
    (void)state;
    struct pl_ctxreg *r = new_reg(0);
    struct pl_err err;
    pl_err_clear(&err);
    json_t *body = json_loads("{\"@context\": {\"foo\": \"http://e.org/foo\"}}", 0, NULL);
    char *url = NULL;
    assert_int_equal(pl_ctxreg_add(r, body, &url, &err), 0);
    assert_non_null(url);
    assert_int_equal(strncmp(url, SELF "/ngsi-ld/v1/jsonldContexts/", 39), 0);
    const char *local_id = url + strlen(SELF "/ngsi-ld/v1/jsonldContexts/");

    json_t *doc = NULL;
    assert_int_equal(pl_ctxreg_get(r, local_id, &doc, &err), 0);
    assert_true(json_equal(doc, body));
    json_decref(doc);
    assert_int_equal(pl_ctxreg_get(r, url, &doc, &err), 0);
    json_decref(doc);

    json_t *l = NULL;
    assert_int_equal(pl_ctxreg_list(r, 1, "Hosted", &l, &err), 0);
    assert_int_equal(json_array_size(l), 1);
    json_t *item = json_array_get(l, 0);
    assert_string_equal(json_string_value(json_object_get(item, "URL")), url);
    assert_string_equal(json_string_value(json_object_get(item, "localId")), local_id);
    assert_string_equal(json_string_value(json_object_get(item, "kind")), "Hosted");
    json_decref(l);

    /* The hosted URL resolves locally (nothing listens on SELF). */
    struct pl_ctx *c = NULL;
    assert_int_equal(resolve_str(r, url, &c, &err), 0);
    assert_expands(c, "foo", "http://e.org/foo");
    pl_ctx_unref(c);

    /* A Hosted context cannot be reloaded. */
    assert_int_equal(pl_ctxreg_delete(r, local_id, 1, &err), PL_EBADREQUESTDATA);
    assert_int_equal(pl_ctxreg_delete(r, local_id, 0, &err), 0);
    assert_int_equal(pl_ctxreg_get(r, url, &doc, &err), PL_ENOTFOUND);
    assert_int_equal(pl_ctxreg_delete(r, url, 0, &err), PL_ENOTFOUND);
    /* Deleted: the URL is ours, so it is not available (and never fetched). */
    assert_int_equal(resolve_str(r, url, &c, &err), PL_ELDCONTEXT);
    assert_int_equal(count_kind(r, "Hosted"), 0);
    free(url);
    json_decref(body);
    pl_ctxreg_free(r);
}

static void ctxreg_add_rejects_invalid_bodies(void **state)
{
    (void)state;
    struct pl_ctxreg *r = new_reg(0);
    static const char *const bodies[] = {
        "{\"@context\": \"https://example.org/c.jsonld\"}",
        "{\"foo\": {}}",
        "[{\"@context\": {}}]",
        "{\"@context\": {\"open311:x\": \"http://e.org/y\"}}",
        "{\"@context\": 5}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        json_t *b = json_loads(bodies[i], 0, NULL);
        assert_non_null(b);
        char *url = NULL;
        assert_int_equal(pl_ctxreg_add(r, b, &url, NULL), PL_EBADREQUESTDATA);
        assert_null(url);
        json_decref(b);
    }
    json_t *b = json_loads("{\"@context\": {\"@import\": \"http://e.org/\"}}", 0, NULL);
    char *url = NULL;
    assert_int_equal(pl_ctxreg_add(r, b, &url, NULL), PL_EINVALIDREQUEST);
    json_decref(b);
    assert_int_equal(count_kind(r, "Hosted"), 0);
    pl_ctxreg_free(r);
}

static void ctxreg_list_and_delete_errors(void **state)
{
    (void)state;
    struct pl_ctxreg *r = new_reg(0);
    json_t *l = NULL;
    assert_int_equal(pl_ctxreg_list(r, 0, "Bogus", &l, NULL), PL_EBADREQUESTDATA);
    assert_null(l);
    assert_int_equal(pl_ctxreg_delete(r, "nope", 0, NULL), PL_ENOTFOUND);
    assert_int_equal(pl_ctxreg_delete(r, "", 0, NULL), PL_EBADREQUESTDATA);
    assert_int_equal(pl_ctxreg_get(r, "nope", &l, NULL), PL_ENOTFOUND);
    assert_int_equal(
        pl_ctxreg_delete(r, "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld", 0,
                         NULL),
        PL_EBADREQUESTDATA);
    pl_ctxreg_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ctxreg_without_store_resolves_core),
        cmocka_unit_test(ctxreg_compiled_contexts_are_cached),
        cmocka_unit_test(ctxreg_preload_map_resolves_from_disk),
        cmocka_unit_test(ctxreg_bad_preload_dir_fails),
        cmocka_unit_test(ctxreg_unreachable_url_is_ldcontext_and_not_cached),
        cmocka_unit_test(ctxreg_hosted_add_get_list_delete),
        cmocka_unit_test(ctxreg_add_rejects_invalid_bodies),
        cmocka_unit_test(ctxreg_list_and_delete_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
