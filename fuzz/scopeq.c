/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz/scopeq.c — libFuzzer target for the Scope Query Language (query/scopeq.c).
 *
 * Parses the input, matches it against fixed scope lists (and nothing), and frees the tree.
 * A pattern parsed from a normalised scope must match that scope when it has no wildcard.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query/scopeq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_self(const struct pl_scopeq *n)
{
    if (n->kind != PL_SQ_SCOPE) {
        for (size_t i = 0; i < n->n_kids; i++)
            check_self(n->kids[i]);
        return;
    }
    if (n->descendants || strchr(n->scope, '+'))
        return;
    if (n->n_levels > 0 && !pl_scopeq_match_one(n, n->scope))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *scopes;
    if (!scopes) {
        json_error_t je;
        scopes = json_loads("[\"/Madrid/Gardens/Retiro\",\"/CompanyA\",\"/\"]", 0, &je);
        if (!scopes)
            abort();
    }
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct pl_scopeq *n = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_scopeq_parse(text, &n, &err) == 0) {
        (void)pl_scopeq_match(n, scopes);
        if (pl_scopeq_match(n, NULL))
            abort(); /* an entity without scope matches no scope query */
        check_self(n);
        pl_scopeq_free(n);
    } else if (n != NULL || err.detail[0] == '\0') {
        abort();
    }
    free(text);
    return 0;
}
