/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz/qvalues.c — libFuzzer target for expandValues / jsonKeys (query/qvalues.c, 6.4.3.2).
 *
 * The input is three lines: a q string, the expandValues list and the jsonKeys list (comma-
 * separated attribute names; a missing line: an empty list). The q is parsed and resolved with
 * the core context, the names expanded with it, the literals expanded, and the result matched
 * against a small entity. Expanding a second time must change nothing that matches differently
 * (an expanded literal is an IRI, which expands to itself).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngsild/context.h"
#include "query/q.h"
#include "query/qvalues.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DV    PL_DEFAULT_VOCAB
#define MAX_N 16

static const char entity_text[] =
    "{\"id\":\"urn:ngsi-ld:T:1\",\"type\":[\"" DV "T\"],\"attrs\":{"
    "\"" DV "a\":[{\"type\":\"Property\",\"value\":\"" DV "x\"}],"
    "\"" DV "b\":[{\"type\":\"Property\",\"value\":[\"x\",\"" DV "y\",3]}],"
    "\"" DV "c\":[{\"type\":\"Property\",\"value\":{\"k\":\"x\"}}]}}";

/* Splits a comma list into at most MAX_N expanded names (NEW strings in out). */
static size_t names(char *line, char **out)
{
    size_t n = 0;
    for (char *p = line; p && *p && n < MAX_N;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (*p && (out[n] = pl_ctx_expand(pl_ctx_core(), p)) != NULL)
            n++;
        p = comma ? comma + 1 : NULL;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *entity;
    if (!entity && !(entity = json_loads(entity_text, 0, NULL)))
        abort();
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *lines[3] = {text, NULL, NULL};
    for (int i = 1; i < 3 && lines[i - 1]; i++) {
        char *nl = strchr(lines[i - 1], '\n');
        if (nl) {
            *nl = '\0';
            lines[i] = nl + 1;
        }
    }
    char *expand[MAX_N], *keys[MAX_N];
    size_t ne = names(lines[1], expand), nk = names(lines[2], keys);
    struct pl_q_node *n = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_q_parse(lines[0], &n, &err) == 0 && pl_q_resolve(n, pl_ctx_core(), &err) == 0) {
        if (pl_q_expand_values(n, pl_ctx_core(), (const char *const *)expand, ne,
                               (const char *const *)keys, nk, &err) == 0) {
            int m1 = pl_q_match(n, entity);
            if (pl_q_expand_values(n, pl_ctx_core(), (const char *const *)expand, ne,
                                   (const char *const *)keys, nk, &err) == 0 &&
                pl_q_match(n, entity) != m1)
                abort();
        }
    }
    pl_q_free(n);
    for (size_t i = 0; i < ne; i++)
        free(expand[i]);
    for (size_t i = 0; i < nk; i++)
        free(keys[i]);
    free(text);
    return 0;
}
