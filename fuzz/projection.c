/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz/projection.c — libFuzzer target for the Attribute Projection Language
 * (ngsild/projection.c): parses the input with the core context, walks the tree (depth, leaves,
 * sub-projection look-ups) and frees it. A parse either succeeds or says why.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngsild/context.h"
#include "ngsild/projection.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void walk(const struct pl_proj *p, int depth)
{
    if (depth > PL_PROJ_MAX_DEPTH || p->n_leaves > p->n)
        abort();
    for (size_t i = 0; i < p->n; i++) {
        if (!p->names[i] || !*p->names[i])
            abort();
        if (p->sub[i]) {
            if (pl_proj_sub(p, p->names[i]) == NULL)
                abort();
            walk(p->sub[i], depth + 1);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    for (unsigned flags = 0; flags < 2; flags++) {
        struct pl_proj *p = NULL;
        struct pl_err err;
        pl_err_clear(&err);
        int rc = pl_proj_parse("pick", text, pl_ctx_core(), flags, &p, &err);
        if (rc == 0) {
            if (!p || pl_proj_depth(p) > PL_PROJ_MAX_DEPTH)
                abort();
            walk(p, 0);
            (void)pl_proj_has_member(p);
            pl_proj_free(p);
        } else if (p || (rc != PL_ENOMEM && !err.detail[0])) {
            abort();
        }
    }
    free(text);
    return 0;
}
