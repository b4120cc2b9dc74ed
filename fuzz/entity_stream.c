/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz/entity_stream.c — libFuzzer target for pl_entity_stream_render (ngsild/entity_stream.c).
 *
 * The input is a stored entity body (the internal form as TEXT, as the store keeps it). It is
 * rendered by the stream path for every format × sysAttrs × attrs filter, with the core context
 * and with a small user context; the stream path must never crash or read past the input. When
 * the tree path (json_loadb + pl_entity_render) also succeeds, the two outputs must be
 * json_equal after parsing, or the target aborts.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "ngsild/context.h"
#include "ngsild/entity.h"
#include "ngsild/entity_stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct pl_ctx *user_ctx(void)
{
    static struct pl_ctx *c;
    if (!c) {
        json_t *v = json_loads("{\"ex\":\"https://example.org/ns#\",\"a\":\"https://x.org/a\","
                               "\"v\":{\"@id\":\"https://x.org/v\",\"@type\":\"@vocab\"},"
                               "\"Good\":\"https://example.org/ns#Good\","
                               "\"value2\":\"https://x.org/value\"}",
                               0, NULL);
        if (!v || pl_ctx_build(v, NULL, NULL, &c, NULL) != 0)
            abort();
        json_decref(v);
    }
    return c;
}

static void check(const struct pl_ctx *ctx, const json_t *stored, const char *body, size_t len,
                  const struct pl_render_opts *o)
{
    struct pl_strbuf b;
    pl_strbuf_init(&b);
    struct pl_err err;
    int rc = pl_entity_stream_render(ctx, body, len, o, &b, &err);
    json_t *want = NULL;
    if (rc == 0 && stored && pl_entity_render(ctx, stored, o, &want, &err) == 0) {
        json_error_t je;
        json_t *got = json_loadb(b.p, b.len, 0, &je);
        if (!got || !json_equal(got, want)) {
            char *w = json_dumps(want, JSON_SORT_KEYS | JSON_COMPACT);
            fprintf(stderr, "entity_stream: outputs differ (format %d, sysAttrs %d, attrs %zu)\n"
                            "tree:   %s\nstream: %.*s\n",
                    (int)o->format, o->sys_attrs, o->n_attrs, w ? w : "?", (int)b.len, b.p);
            free(w);
            abort();
        }
        json_decref(got);
    }
    json_decref(want);
    pl_strbuf_dispose(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exactly sized copy: reading past `size` is an ASan report, not a lucky NUL. */
    char *body = malloc(size ? size : 1);
    if (!body)
        return 0;
    memcpy(body, data, size);
    json_t *stored = json_loadb(body, size, 0, NULL);
    if (stored && !json_is_object(stored)) {
        json_decref(stored);
        stored = NULL;
    }
    static const char *const attrs[] = {"https://x.org/a", "https://uri.etsi.org/ngsi-ld/location"};
    const struct pl_ctx *ctxs[2] = {pl_ctx_core(), user_ctx()};
    for (int c = 0; c < 2; c++) {
        for (int fmt = 0; fmt < 3; fmt++) {
            for (int v = 0; v < 4; v++) {
                struct pl_render_opts o = {.format = (enum pl_format)fmt, .sys_attrs = v & 1};
                if (v & 2) {
                    o.attrs = attrs;
                    o.n_attrs = 2;
                }
                check(ctxs[c], stored, body, size, &o);
            }
        }
    }
    json_decref(stored);
    free(body);
    return 0;
}
