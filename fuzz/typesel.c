/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz/typesel.c — libFuzzer target for the Entity Type Selection Language (query/typesel.c).
 *
 * Parses the input, resolves it with the core context, matches it against fixed type lists,
 * checks that a plain OR of names agrees with matching, and frees the tree.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngsild/context.h"
#include "query/typesel.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *types;
    if (!types) {
        json_error_t je;
        types = json_loads("[\"" PL_DEFAULT_VOCAB "Home\",\"" PL_DEFAULT_VOCAB "Vehicle\","
                           "\"https://schema.org/Car\"]",
                           0, &je);
        if (!types)
            abort();
    }
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct pl_typesel *n = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_typesel_parse(text, &n, &err) == 0) {
        if (pl_typesel_resolve(n, pl_ctx_core(), &err) == 0) {
            int m = pl_typesel_match(n, types);
            const char *names[8];
            size_t k = pl_typesel_or_names(n, names, 8);
            if (k > 0 && k <= 8) {
                int any = 0;
                for (size_t i = 0; i < k; i++) {
                    for (size_t j = 0; j < json_array_size(types); j++)
                        any |= !strcmp(names[i], json_string_value(json_array_get(types, j)));
                }
                if (any != m)
                    abort();
            }
        }
        pl_typesel_free(n);
    } else if (n != NULL || err.detail[0] == '\0') {
        abort();
    }
    free(text);
    return 0;
}
