/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz/entity.c — libFuzzer target for pl_entity_parse (ngsild/entity_parse.c).
 *
 * Parses the input as JSON, then as an ENTITY, a FRAGMENT (with and without merge-patch nulls)
 * and an ATTR body with the core context. On success it renders every format, and re-parses the
 * normalized rendering of an entity: that must succeed and give the same internal form
 * (createdAt/modifiedAt aside), or the target aborts.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/limits.h"
#include "ngsild/context.h"
#include "ngsild/entity.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Removes createdAt/modifiedAt everywhere (entity and instances) in place. */
static void strip_sys(json_t *v)
{
    if (json_is_object(v)) {
        json_object_del(v, "createdAt");
        json_object_del(v, "modifiedAt");
        const char *k;
        json_t *c;
        json_object_foreach (v, k, c)
            strip_sys(c);
    } else if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach (v, i, c)
            strip_sys(c);
    }
}

static void render_all(const struct pl_ctx *ctx, const json_t *e)
{
    static const enum pl_format fmts[] = {PL_FORMAT_NORMALIZED, PL_FORMAT_KEYVALUES,
                                          PL_FORMAT_CONCISE};
    for (size_t i = 0; i < 3; i++) {
        struct pl_render_opts o = {.format = fmts[i], .sys_attrs = (int)i & 1, .lang = "en"};
        struct pl_err err;
        json_t *r = NULL;
        if (pl_entity_render(ctx, e, &o, &r, &err) == 0)
            json_decref(r);
        if (pl_entity_render_geojson(ctx, e, &o, NULL, &r, &err) == 0)
            json_decref(r);
    }
}

static void roundtrip(const struct pl_ctx *ctx, json_t *e, enum pl_parse_kind kind)
{
    struct pl_render_opts o = {.format = PL_FORMAT_NORMALIZED};
    struct pl_limits lim = pl_limits_default();
    struct pl_err err;
    json_t *r = NULL, *back = NULL;
    pl_entity_stamp(e, "2024-01-01T00:00:00.000Z");
    if (pl_entity_render(ctx, e, &o, &r, &err) != 0)
        abort();
    lim.max_depth += 2; /* rendering adds no depth, but be safe about the attrs wrapper */
    if (pl_entity_parse(ctx, r, kind, 0, &lim, &back, &err) != 0) {
        fprintf(stderr, "re-parse of normalized rendering failed: %s\n", err.detail);
        abort();
    }
    strip_sys(e);
    strip_sys(back);
    if (!json_equal(e, back)) {
        char *a = json_dumps(e, JSON_SORT_KEYS), *b = json_dumps(back, JSON_SORT_KEYS);
        fprintf(stderr, "round trip differs:\n%s\n%s\n", a, b);
        abort();
    }
    json_decref(back);
    json_decref(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *in = json_loadb((const char *)data, size, JSON_DECODE_ANY, &je);
    if (!in)
        return 0;
    const struct pl_ctx *ctx = pl_ctx_core();
    struct pl_limits lim = pl_limits_default();
    struct pl_err err;
    json_t *out = NULL;

    if (pl_entity_parse(ctx, in, PL_PARSE_ENTITY, 0, &lim, &out, &err) == 0) {
        render_all(ctx, out);
        roundtrip(ctx, out, PL_PARSE_ENTITY);
        json_decref(out);
    }
    if (pl_entity_parse(ctx, in, PL_PARSE_FRAGMENT, 0, &lim, &out, &err) == 0) {
        render_all(ctx, out);
        roundtrip(ctx, out, PL_PARSE_FRAGMENT);
        json_decref(out);
    }
    if (pl_entity_parse(ctx, in, PL_PARSE_FRAGMENT, PL_PARSE_ALLOW_NULL, &lim, &out, &err) == 0)
        json_decref(out);
    if (pl_entity_parse(ctx, in, PL_PARSE_ATTR, PL_PARSE_PARTIAL, &lim, &out, &err) == 0)
        json_decref(out);
    json_decref(in);
    return 0;
}
