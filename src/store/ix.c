/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ix.c — the index keys of an entity (store_int.h): what every backend indexes for queries and
 * discovery, computed from the internal form in one place so that all backends, the query
 * evaluator and the index agree. Attribute values are enumerated with pl_q_targets, the same
 * function the in-memory q evaluator uses: an index row exists exactly for each target value a
 * q term can compare against (NGSI-LD 4.9), so the SQL path and the evaluator cannot diverge.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "query/q.h"

/* A growable array of T. */
#define VEC_PUSH(arr, n, cap, item)                                                          \
    do {                                                                                     \
        if ((n) == (cap)) {                                                                  \
            size_t nc_ = (cap) ? (cap) * 2 : 8;                                              \
            void *np_ = realloc((arr), nc_ * sizeof *(arr));                                 \
            if (!np_)                                                                        \
                goto nomem;                                                                  \
            (arr) = np_;                                                                     \
            (cap) = nc_;                                                                     \
        }                                                                                    \
        (arr)[(n)++] = (item);                                                               \
    } while (0)

struct builder {
    struct pl_store_ix *ix;
    size_t cap_vals;
    const char *attr; /* the attribute being enumerated (owned by ix->strs) */
    int n_targets;    /* targets seen for the current attribute */
    int nomem;
};

/* Keeps a copy of `s` in the ix (freed with it). */
static const char *keep(struct pl_store_ix *ix, const char *s, size_t *cap)
{
    char *d = strdup(s);
    if (!d)
        return NULL;
    if (ix->n_strs == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        char **np = realloc(ix->strs, nc * sizeof *np);
        if (!np) {
            free(d);
            return NULL;
        }
        ix->strs = np;
        *cap = nc;
    }
    ix->strs[ix->n_strs++] = d;
    return d;
}

static int add_val(struct builder *b, const char *attr, int k, double num, const char *str,
                   size_t *scap)
{
    struct pl_store_ix *ix = b->ix;
    struct pl_store_ixval v = {attr, k, num, NULL};
    if (str && !(v.str = keep(ix, str, scap)))
        return -1;
    VEC_PUSH(ix->vals, ix->n_vals, b->cap_vals, v);
    return 0;
nomem:
    return -1;
}

struct target_ctx {
    struct builder *b;
    size_t *scap;
};

static void on_target(void *ud, const struct pl_qv *v)
{
    struct target_ctx *t = ud;
    struct builder *b = t->b;
    if (b->nomem)
        return;
    b->n_targets++;
    int k = (int)v->kind;
    const char *str = (k == PL_QV_STRING || k == PL_QV_URI) ? v->str : NULL;
    double num = (k == PL_QV_NUMBER || k == PL_QV_DATETIME || k == PL_QV_BOOL) ? v->num : 0;
    if ((k == PL_QV_STRING || k == PL_QV_URI) && !str)
        return;
    if (add_val(b, b->attr, k, num, str, t->scap) != 0)
        b->nomem = 1;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int pl_store__ixval_cmp(const struct pl_store_ixval *x, const struct pl_store_ixval *y)
{
    int c = strcmp(x->attr, y->attr);
    if (c)
        return c;
    if (x->k != y->k)
        return x->k < y->k ? -1 : 1;
    if (x->str || y->str) {
        if (!x->str || !y->str)
            return x->str ? 1 : -1;
        return strcmp(x->str, y->str);
    }
    return x->num < y->num ? -1 : x->num > y->num ? 1 : 0;
}

static int cmp_val(const void *a, const void *b)
{
    return pl_store__ixval_cmp(a, b);
}

int pl_store__ixak_cmp(const struct pl_store_ixak *x, const struct pl_store_ixak *y)
{
    int c = strcmp(x->attr, y->attr);
    return c ? c : strcmp(x->kind, y->kind);
}

static int cmp_ak(const void *a, const void *b)
{
    return pl_store__ixak_cmp(a, b);
}

/* Sorts and removes duplicates. */
#define SORT_UNIQUE(arr, n, cmp, eq)                                                         \
    do {                                                                                     \
        if ((n) > 1) {                                                                       \
            qsort((arr), (n), sizeof *(arr), cmp);                                           \
            size_t w_ = 1;                                                                   \
            for (size_t r_ = 1; r_ < (n); r_++)                                              \
                if (!(eq))                                                                   \
                    (arr)[w_++] = (arr)[r_];                                                 \
            (n) = w_;                                                                        \
        }                                                                                    \
    } while (0)

int pl_store__ix_build(const json_t *entity, struct pl_store_ix *ix)
{
    memset(ix, 0, sizeof *ix);
    size_t scap = 0, cap_types = 0, cap_aks = 0;
    struct builder b = {ix, 0, NULL, 0, 0};
    struct target_ctx tc = {&b, &scap};

    ix->types_text = pl_store__types_text(entity);
    ix->geo_fp = pl_store__geo_fingerprint(entity);
    if (!ix->types_text || !ix->geo_fp)
        goto nomem;

    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(entity, "type"), i, t)
    {
        if (!json_is_string(t))
            continue;
        const char *s = keep(ix, json_string_value(t), &scap);
        if (!s)
            goto nomem;
        VEC_PUSH(ix->types, ix->n_types, cap_types, s);
    }
    json_array_foreach(json_object_get(entity, "scope"), i, t)
    {
        if (json_is_string(t) && add_val(&b, PL_STORE_IX_SCOPE, PL_QV_STRING, 0,
                                         json_string_value(t), &scap) != 0)
            goto nomem;
    }

    int64_t expires = pl_store__expires_first(entity);
    if (expires != INT64_MAX &&
        add_val(&b, PL_STORE_IX_EXPIRES, PL_QV_DATETIME, (double)expires, NULL, &scap) != 0)
        goto nomem;

    const char *name;
    json_t *insts;
    json_object_foreach((json_t *)json_object_get(entity, "attrs"), name, insts)
    {
        const char *attr = keep(ix, name, &scap);
        if (!attr)
            goto nomem;
        b.attr = attr;
        b.n_targets = 0;
        json_t *inst;
        json_array_foreach(insts, i, inst)
        {
            pl_q_targets(inst, NULL, 0, on_target, &tc);
            if (b.nomem)
                goto nomem;
            const char *kind = json_string_value(json_object_get(inst, "type"));
            /* copied: `entity` may be changed in place (apply) while this ix lives */
            const char *k = keep(ix, kind ? kind : "Property", &scap);
            if (!k)
                goto nomem;
            struct pl_store_ixak ak = {attr, k, 1};
            VEC_PUSH(ix->aks, ix->n_aks, cap_aks, ak);
        }
        /* An attribute without comparable values still exists (q: `attr`, `!attr`). */
        if (b.n_targets == 0 && add_val(&b, attr, PL_STORE_IX_EXISTS, 0, NULL, &scap) != 0)
            goto nomem;
    }
    SORT_UNIQUE(ix->types, ix->n_types, cmp_str, strcmp(ix->types[r_], ix->types[w_ - 1]) == 0);
    SORT_UNIQUE(ix->vals, ix->n_vals, cmp_val,
                pl_store__ixval_cmp(&ix->vals[r_], &ix->vals[w_ - 1]) == 0);
    if (ix->n_aks > 1) {
        /* one entry per (attribute, kind), counting its instances */
        qsort(ix->aks, ix->n_aks, sizeof *ix->aks, cmp_ak);
        size_t w = 1;
        for (size_t r = 1; r < ix->n_aks; r++) {
            if (pl_store__ixak_cmp(&ix->aks[r], &ix->aks[w - 1]) == 0)
                ix->aks[w - 1].n += ix->aks[r].n;
            else
                ix->aks[w++] = ix->aks[r];
        }
        ix->n_aks = w;
    }
    return 0;
nomem:
    pl_store__ix_free(ix);
    return PL_ENOMEM;
}

void pl_store__ix_free(struct pl_store_ix *ix)
{
    if (!ix)
        return;
    for (size_t i = 0; i < ix->n_strs; i++)
        free(ix->strs[i]);
    free(ix->strs);
    free(ix->types);
    free(ix->vals);
    free(ix->aks);
    free(ix->types_text);
    free(ix->geo_fp);
    memset(ix, 0, sizeof *ix);
}

int pl_store__ix_same_types(const struct pl_store_ix *a, const struct pl_store_ix *b)
{
    if (a->n_types != b->n_types)
        return 0;
    for (size_t i = 0; i < a->n_types; i++)
        if (strcmp(a->types[i], b->types[i]) != 0)
            return 0;
    return 1;
}

int pl_store__ix_same_aks(const struct pl_store_ix *a, const struct pl_store_ix *b)
{
    if (a->n_aks != b->n_aks)
        return 0;
    for (size_t i = 0; i < a->n_aks; i++)
        if (pl_store__ixak_cmp(&a->aks[i], &b->aks[i]) != 0 || a->aks[i].n != b->aks[i].n)
            return 0;
    return 1;
}
