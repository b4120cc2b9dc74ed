/* SPDX-License-Identifier: Apache-2.0 */
/* test_helpers_entity.h — small helpers shared by the entity unit tests (header-only). */
#ifndef PL_TEST_HELPERS_ENTITY_H
#define PL_TEST_HELPERS_ENTITY_H

#include <jansson.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "ngsild/context.h"
#include "ngsild/entity.h"

#define NOW  "2024-01-01T00:00:00.000Z"
#define LATER "2024-02-02T00:00:00.000Z"
#define DV   PL_DEFAULT_VOCAB

/* Parses a JSON literal; fails the test when it is not JSON. New reference. */
static inline json_t *tj(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad JSON in test: %s (%s)", s, e.text);
    return v;
}

/* pl_entity_parse on a JSON literal with default limits; *out may be NULL on failure. */
static inline int tparse(const char *s, enum pl_parse_kind k, unsigned flags, json_t **out)
{
    json_t *in = tj(s);
    struct pl_limits lim = pl_limits_default();
    struct pl_err err;
    pl_err_clear(&err);
    json_t *o = NULL;
    int rc = pl_entity_parse(pl_ctx_core(), in, k, flags, &lim, &o, &err);
    json_decref(in);
    if (out)
        *out = o;
    else
        json_decref(o);
    return rc;
}

/* Asserts that `s` parses (as kind k) and returns the result (new reference). */
static inline json_t *tparse_ok(const char *s, enum pl_parse_kind k, unsigned flags)
{
    json_t *in = tj(s);
    struct pl_limits lim = pl_limits_default();
    struct pl_err err;
    pl_err_clear(&err);
    json_t *o = NULL;
    int rc = pl_entity_parse(pl_ctx_core(), in, k, flags, &lim, &o, &err);
    json_decref(in);
    if (rc)
        fail_msg("parse failed: %s (%s)", err.detail, s);
    return o;
}

/* Asserts JSON equality between `got` and the literal `want`. */
static inline void tassert_json(const json_t *got, const char *want)
{
    json_t *w = tj(want);
    if (!json_equal(got, w)) {
        char *g = json_dumps(got, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
        char *x = json_dumps(w, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
        print_error("got:  %s\nwant: %s\n", g, x);
        free(g);
        free(x);
        json_decref(w);
        fail();
    }
    json_decref(w);
}

#endif
