/* SPDX-License-Identifier: Apache-2.0 */
/* test_linked.c — pl_linked_render (4.5.23): inline and flat, cycles, the fan-out bound, and
 * fetch errors, with an in-memory fetch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_helpers_entity.h"
#include "ngsild/linked.h"

#define REL DV "next"

/* Every id "urn:x:N" exists and links to ten new ids: an endless, widening graph. */
static int fetch_endless(void *ud, const char *id, json_t **out, struct pl_err *err)
{
    (void)err;
    size_t *calls = ud;
    (*calls)++;
    json_t *objs = json_array();
    for (int i = 0; i < 10; i++) {
        char z[64];
        snprintf(z, sizeof z, "%s.%d", id, i);
        json_array_append_new(objs, json_string(z));
    }
    *out = json_pack("{s:s,s:[s],s:{s:[{s:s,s:o}]}}", "id", id, "type", DV "T", "attrs", REL,
                     "type", "Relationship", "object", objs);
    return 0;
}

static int fetch_cycle(void *ud, const char *id, json_t **out, struct pl_err *err)
{
    (void)ud;
    (void)err;
    /* a -> b -> a */
    const char *to = strcmp(id, "urn:x:a") == 0 ? "urn:x:b" : "urn:x:a";
    *out = json_pack("{s:s,s:[s],s:{s:[{s:s,s:s}]}}", "id", id, "type", DV "T", "attrs", REL,
                     "type", "Relationship", "object", to);
    return 0;
}

static int fetch_fail(void *ud, const char *id, json_t **out, struct pl_err *err)
{
    (void)ud;
    (void)id;
    (void)out;
    return pl_err_set(err, PL_EINTERNAL, "store down");
}

static json_t *root(const char *id, int (*fetch)(void *, const char *, json_t **, struct pl_err *))
{
    json_t *e = NULL;
    struct pl_err err;
    size_t calls = 0;
    assert_int_equal(fetch(&calls, id, &e, &err), 0);
    return e;
}

static void linked_fan_out_is_bounded(void **st)
{
    (void)st;
    json_t *roots = json_array();
    json_array_append_new(roots, root("urn:x:0", fetch_endless));
    struct pl_linked v = {.join = PL_JOIN_FLAT, .join_level = PL_PROJ_MAX_DEPTH};
    struct pl_render_opts o = {.format = PL_FORMAT_NORMALIZED};
    size_t calls = 0;
    json_t *out = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_equal(
        pl_linked_render(pl_ctx_core(), &o, &v, roots, 0, NULL, fetch_endless, &calls, &out, &err),
        0);
    assert_int_equal(calls, PL_LINKED_MAX_ENTITIES);
    assert_int_equal(json_array_size(out), 1 + PL_LINKED_MAX_ENTITIES);
    json_decref(out);
    v.join = PL_JOIN_INLINE;
    calls = 0;
    assert_int_equal(
        pl_linked_render(pl_ctx_core(), &o, &v, roots, 0, NULL, fetch_endless, &calls, &out, &err),
        0);
    assert_int_equal(calls, PL_LINKED_MAX_ENTITIES);
    assert_int_equal(json_array_size(out), 1);
    json_decref(out);
    json_decref(roots);
}

static void linked_cycles_stop(void **st)
{
    (void)st;
    json_t *roots = json_array();
    json_array_append_new(roots, root("urn:x:a", fetch_cycle));
    struct pl_linked v = {.join = PL_JOIN_INLINE, .join_level = PL_PROJ_MAX_DEPTH};
    struct pl_render_opts o = {.format = PL_FORMAT_NORMALIZED};
    json_t *out = NULL;
    struct pl_err err;
    assert_int_equal(
        pl_linked_render(pl_ctx_core(), &o, &v, roots, 0, NULL, fetch_cycle, NULL, &out, &err), 0);
    tassert_json(json_array_get(out, 0),
                 "{\"id\":\"urn:x:a\",\"type\":\"T\",\"next\":{\"type\":\"Relationship\","
                 "\"object\":\"urn:x:b\",\"entity\":{\"id\":\"urn:x:b\",\"type\":\"T\","
                 "\"next\":{\"type\":\"Relationship\",\"object\":\"urn:x:a\"}}}}");
    json_decref(out);
    v.join = PL_JOIN_FLAT;
    assert_int_equal(
        pl_linked_render(pl_ctx_core(), &o, &v, roots, 0, NULL, fetch_cycle, NULL, &out, &err), 0);
    assert_int_equal(json_array_size(out), 2);
    json_decref(out);
    json_decref(roots);
}

static void linked_fetch_errors_stop_the_rendering(void **st)
{
    (void)st;
    json_t *roots = json_array();
    json_array_append_new(roots, root("urn:x:a", fetch_cycle));
    struct pl_linked v = {.join = PL_JOIN_FLAT, .join_level = 1};
    struct pl_render_opts o = {.format = PL_FORMAT_NORMALIZED};
    json_t *out = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_equal(
        pl_linked_render(pl_ctx_core(), &o, &v, roots, 0, NULL, fetch_fail, NULL, &out, &err),
        PL_EINTERNAL);
    assert_null(out);
    assert_string_equal(err.detail, "store down");
    json_decref(roots);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(linked_fan_out_is_bounded),
        cmocka_unit_test(linked_cycles_stop),
        cmocka_unit_test(linked_fetch_errors_stop_the_rendering),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
