/* SPDX-License-Identifier: Apache-2.0 */
/*
 * typesel.c — the Entity Type Selection Language (4.17): parser, resolution, matching.
 * Grammar and semantics in typesel.h.
 */
#include "query/typesel.h"

#include <stdlib.h>
#include <string.h>

#include "ngsild/entity.h"
#include "query/q.h"

#define TS_DELIMS ",;|()"

struct tsp {
    const char *s;
    size_t i;
    int depth;
    struct pl_err *err;
};

static int tserr(struct tsp *p, size_t pos, const char *why, const char *hint)
{
    return pl_q__syntax_error(p->err, "type", p->s, pos, TS_DELIMS, why, hint);
}

static int ts_nomem(struct tsp *p)
{
    return pl_err_set(p->err, PL_ENOMEM, "type: out of memory");
}

static void ts_ws(struct tsp *p)
{
    while (p->s[p->i] == ' ' || p->s[p->i] == '\t')
        p->i++;
}

void pl_typesel_free(struct pl_typesel *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n_kids; i++)
        pl_typesel_free(n->kids[i]);
    free(n->kids);
    free(n->name);
    free(n->name_iri);
    free(n);
}

static int ts_or(struct tsp *p, struct pl_typesel **out);

static int ts_name(struct tsp *p, struct pl_typesel **out)
{
    const unsigned char *s = (const unsigned char *)p->s;
    size_t a = p->i;
    while (s[p->i] > 0x20 && s[p->i] != 0x7f && !strchr(TS_DELIMS, s[p->i]))
        p->i++;
    if (p->i == a)
        return tserr(p, a, "unexpected", "expected an entity type");
    char *nm = malloc(p->i - a + 1);
    if (!nm)
        return ts_nomem(p);
    memcpy(nm, s + a, p->i - a);
    nm[p->i - a] = '\0';
    int ok = strchr(nm, ':') ? pl_is_uri(nm) : (pl_is_valid_name(nm) && nm[0] != '@');
    if (!ok) {
        free(nm);
        return tserr(p, a, "invalid entity type name (4.6.2) or URI", NULL);
    }
    struct pl_typesel *n = calloc(1, sizeof *n);
    if (!n) {
        free(nm);
        return ts_nomem(p);
    }
    n->kind = PL_TS_NAME;
    n->name = nm;
    n->pos = a;
    *out = n;
    return 0;
}

static int ts_primary(struct tsp *p, struct pl_typesel **out)
{
    int rc;
    ts_ws(p);
    if (p->s[p->i] != '(') {
        rc = ts_name(p, out);
    } else {
        size_t open = p->i;
        if (++p->depth > PL_Q_MAX_DEPTH)
            return tserr(p, open, "parentheses nested too deeply (more than 64) at", NULL);
        p->i++;
        if ((rc = ts_or(p, out)) != 0)
            return rc;
        ts_ws(p);
        if (p->s[p->i] != ')') {
            pl_typesel_free(*out);
            *out = NULL;
            return tserr(p, p->i, "unexpected", "expected ')'");
        }
        p->i++;
        p->depth--;
    }
    if (rc == 0)
        ts_ws(p);
    return rc;
}

static int ts_push(struct pl_typesel ***kids, size_t *n, size_t *cap, struct pl_typesel *x)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        struct pl_typesel **nk = realloc(*kids, nc * sizeof *nk);
        if (!nk)
            return -1;
        *kids = nk;
        *cap = nc;
    }
    (*kids)[(*n)++] = x;
    return 0;
}

static int ts_list(struct tsp *p, enum pl_typesel_kind kind, struct pl_typesel **out)
{
    struct pl_typesel **kids = NULL, *x = NULL;
    size_t n = 0, cap = 0;
    int rc;
    for (;;) {
        rc = kind == PL_TS_AND ? ts_primary(p, &x) : ts_list(p, PL_TS_AND, &x);
        if (rc)
            goto fail;
        if (x->kind == kind) {
            size_t i = 0;
            for (; i < x->n_kids; i++) {
                if (ts_push(&kids, &n, &cap, x->kids[i]) != 0)
                    break;
            }
            if (i < x->n_kids) {
                memmove(x->kids, x->kids + i, (x->n_kids - i) * sizeof *x->kids);
                x->n_kids -= i;
                pl_typesel_free(x);
                rc = ts_nomem(p);
                goto fail;
            }
            x->n_kids = 0;
            pl_typesel_free(x);
        } else if (ts_push(&kids, &n, &cap, x) != 0) {
            pl_typesel_free(x);
            rc = ts_nomem(p);
            goto fail;
        }
        char c = p->s[p->i];
        if (kind == PL_TS_AND ? c != ';' : (c != '|' && c != ','))
            break;
        p->i++;
    }
    if (n == 1) {
        *out = kids[0];
        free(kids);
        return 0;
    }
    struct pl_typesel *g = calloc(1, sizeof *g);
    if (!g) {
        rc = ts_nomem(p);
        goto fail;
    }
    g->kind = kind;
    g->kids = kids;
    g->n_kids = n;
    g->pos = kids[0]->pos;
    *out = g;
    return 0;
fail:
    for (size_t i = 0; i < n; i++)
        pl_typesel_free(kids[i]);
    free(kids);
    return rc;
}

static int ts_or(struct tsp *p, struct pl_typesel **out)
{
    return ts_list(p, PL_TS_OR, out);
}

int pl_typesel_parse(const char *text, struct pl_typesel **out, struct pl_err *err)
{
    struct tsp p = {text ? text : "", 0, 0, err};
    struct pl_typesel *n = NULL;
    *out = NULL;
    int rc = ts_or(&p, &n);
    if (rc)
        return rc;
    ts_ws(&p);
    if (p.s[p.i] != '\0') {
        pl_typesel_free(n);
        return tserr(&p, p.i, "unexpected", "expected ',', '|', ';' or end of input");
    }
    *out = n;
    return 0;
}

int pl_typesel_resolve(struct pl_typesel *n, const struct pl_ctx *ctx, struct pl_err *err)
{
    if (!n)
        return 0;
    if (n->kind == PL_TS_NAME) {
        free(n->name_iri);
        n->name_iri = pl_ctx_expand(ctx, n->name);
        if (!n->name_iri)
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "type: at position %zu: cannot expand the entity type '%.32s' "
                              "with the @context",
                              n->pos, n->name);
        return 0;
    }
    for (size_t i = 0; i < n->n_kids; i++) {
        int rc = pl_typesel_resolve(n->kids[i], ctx, err);
        if (rc)
            return rc;
    }
    return 0;
}

static const char *ts_iri(const struct pl_typesel *n)
{
    return n->name_iri ? n->name_iri : n->name;
}

int pl_typesel_match(const struct pl_typesel *n, const json_t *types)
{
    if (!n)
        return 1;
    switch (n->kind) {
    case PL_TS_NAME: {
        const char *want = ts_iri(n);
        if (json_is_string(types))
            return strcmp(json_string_value(types), want) == 0;
        size_t i;
        const json_t *t;
        json_array_foreach(types, i, t)
        {
            const char *s = json_string_value(t);
            if (s && strcmp(s, want) == 0)
                return 1;
        }
        return 0;
    }
    case PL_TS_AND:
        for (size_t i = 0; i < n->n_kids; i++) {
            if (!pl_typesel_match(n->kids[i], types))
                return 0;
        }
        return 1;
    case PL_TS_OR:
        for (size_t i = 0; i < n->n_kids; i++) {
            if (pl_typesel_match(n->kids[i], types))
                return 1;
        }
        return 0;
    }
    return 0;
}

size_t pl_typesel_or_names(const struct pl_typesel *n, const char **out, size_t cap)
{
    if (!n)
        return 0;
    if (n->kind == PL_TS_NAME) {
        if (cap > 0)
            out[0] = ts_iri(n);
        return 1;
    }
    if (n->kind != PL_TS_OR)
        return 0;
    for (size_t i = 0; i < n->n_kids; i++) {
        if (n->kids[i]->kind != PL_TS_NAME)
            return 0;
    }
    for (size_t i = 0; i < n->n_kids && i < cap; i++)
        out[i] = ts_iri(n->kids[i]);
    return n->n_kids;
}
