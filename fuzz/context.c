/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz/context.c — libFuzzer target for @context compilation (ngsild/context.c).
 *
 * Input: JSON text, used as a @context value. Invariants checked: building never crashes and
 * never loads anything (NULL loader); when it builds, for a few probe terms (the input's own
 * keys and some fixed ones) compact(expand(t)) expands back to expand(t), unless the IRI is
 * "confused with a prefix" (its scheme is a defined prefix term), which JSON-LD cannot compact.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngsild/context.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 when `iri`'s scheme expands to something else: such an IRI has no compact form. */
static int confused_with_prefix(const struct pl_ctx *c, const char *iri)
{
    const char *colon = strchr(iri, ':');
    if (!colon)
        return 1; /* not an IRI (keyword or relative): not checked */
    char *e = pl_ctx_expand(c, iri);
    int confused = !e || strcmp(e, iri) != 0;
    free(e);
    return confused;
}

static void probe(const struct pl_ctx *c, const char *term)
{
    char *e = pl_ctx_expand(c, term);
    if (!e || e[0] == '@' || confused_with_prefix(c, e)) {
        free(e);
        return;
    }
    char *t = pl_ctx_compact(c, e);
    if (!t)
        abort(); /* out of memory is not expected in fuzzing */
    char *e2 = pl_ctx_expand(c, t);
    if (!e2 || strcmp(e, e2) != 0)
        abort(); /* compaction must round-trip */
    free(e2);
    free(t);
    free(e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!v)
        return 0;
    struct pl_ctx *c = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_ctx_build(v, NULL, NULL, &c, &err) == 0) {
        static const char *const fixed[] = {"location",    "temperature", "type", "id",
                                            "ngsi-ld:foo", "ex:bar",      "a/b",  "http://x.org/y"};
        for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
            probe(c, fixed[i]);
        json_t *objs[2] = {v, json_is_array(v) ? json_array_get(v, 0) : NULL};
        for (size_t i = 0; i < 2; i++) {
            const char *k;
            json_t *x;
            int n = 0;
            if (!json_is_object(objs[i]))
                continue;
            json_object_foreach(objs[i], k, x)
            {
                if (n++ >= 64)
                    break;
                probe(c, k);
            }
        }
        (void)pl_ctx_term_count(c);
        (void)pl_ctx_source(c);
        pl_ctx_unref(c);
    } else if (err.code == PL_OK || err.detail[0] == '\0') {
        abort(); /* every failure carries words */
    }
    json_decref(v);
    return 0;
}
