/* SPDX-License-Identifier: Apache-2.0 */
/* qvalues.c — expandValues / jsonKeys on the literals of a q (see qvalues.h). */
#include "query/qvalues.h"

#include <stdlib.h>
#include <string.h>

static int listed(const char *const *l, size_t n, const char *iri)
{
    for (size_t i = 0; iri && i < n; i++) {
        if (strcmp(l[i], iri) == 0)
            return 1;
    }
    return 0;
}

int pl_q_expand_values(struct pl_q_node *n, const struct pl_ctx *ctx, const char *const *expand,
                       size_t n_expand, const char *const *json_keys, size_t n_json_keys,
                       struct pl_err *err)
{
    if (!n || n_expand == 0)
        return 0;
    if (n->kind != PL_Q_TERM) {
        for (size_t i = 0; i < n->n_kids; i++) {
            int rc =
                pl_q_expand_values(n->kids[i], ctx, expand, n_expand, json_keys, n_json_keys, err);
            if (rc != 0)
                return rc;
        }
        return 0;
    }
    struct pl_q_term *t = &n->term;
    const char *attr = t->path_iri ? t->path_iri[0] : NULL;
    if (!listed(expand, n_expand, attr) || listed(json_keys, n_json_keys, attr))
        return 0;
    for (size_t i = 0; i < t->n_vals; i++) {
        struct pl_qv *v = &t->vals[i];
        if (v->kind != PL_QV_STRING || !v->str)
            continue;
        char *iri = pl_ctx_expand(ctx, v->str);
        if (!iri)
            return pl_err_set(err, PL_ENOMEM, "out of memory");
        free(v->str);
        v->str = iri;
        v->bare = 0;
    }
    return 0;
}
