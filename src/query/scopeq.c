/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scopeq.c — the Scope Query Language (4.19): parser and matching against entity scopes.
 * Grammar and semantics in scopeq.h.
 */
#include "query/scopeq.h"

#include <stdlib.h>
#include <string.h>

#include "query/q.h"

#define SQ_DELIMS ",;|()"

struct sqp {
    const char *s;
    size_t i;
    int depth;
    struct pl_err *err;
};

static int sqerr(struct sqp *p, size_t pos, const char *why, const char *hint)
{
    return pl_q__syntax_error(p->err, "scopeQ", p->s, pos, SQ_DELIMS, why, hint);
}

static int sq_nomem(struct sqp *p)
{
    return pl_err_set(p->err, PL_ENOMEM, "scopeQ: out of memory");
}

static void sq_ws(struct sqp *p)
{
    while (p->s[p->i] == ' ' || p->s[p->i] == '\t')
        p->i++;
}

void pl_scopeq_free(struct pl_scopeq *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n_kids; i++)
        pl_scopeq_free(n->kids[i]);
    free(n->kids);
    for (size_t i = 0; i < n->n_levels; i++)
        free(n->levels[i]);
    free(n->levels);
    free(n->scope);
    free(n);
}

static int level_char(unsigned char c)
{
    return c > 0x20 && c != 0x7f && !strchr("/,;|()#+", c);
}

static int sq_or(struct sqp *p, struct pl_scopeq **out);

static int sq_scope(struct sqp *p, struct pl_scopeq **out)
{
    const unsigned char *s = (const unsigned char *)p->s;
    size_t a = p->i, cap = 0;
    int rc;
    struct pl_scopeq *n = calloc(1, sizeof *n);
    if (!n)
        return sq_nomem(p);
    n->kind = PL_SQ_SCOPE;
    n->pos = a;
    int first = 1;
    for (;;) {
        if (s[p->i] == '/') {
            p->i++;
        } else if (!first) {
            break;
        } else if (!level_char(s[p->i]) && s[p->i] != '+') {
            rc = sqerr(p, p->i, "unexpected", "expected a scope such as /Madrid");
            goto fail;
        }
        first = 0;
        if (s[p->i] == '#') {
            p->i++;
            n->descendants = 1;
            break;
        }
        size_t b = p->i;
        if (s[p->i] == '+') {
            p->i++;
        } else {
            while (level_char(s[p->i]))
                p->i++;
        }
        if (p->i == b) {
            rc = sqerr(p, p->i, "unexpected", "expected a scope level, '+' or '#'");
            goto fail;
        }
        if (s[p->i] == '+' || (s[b] == '+' && level_char(s[p->i]))) {
            rc = sqerr(p, s[p->i] == '+' ? p->i : b, "'+' must be a whole scope level:", NULL);
            goto fail;
        }
        if (n->n_levels == cap) {
            size_t nc = cap ? cap * 2 : 4;
            char **nl = realloc(n->levels, nc * sizeof *nl);
            if (!nl) {
                rc = sq_nomem(p);
                goto fail;
            }
            n->levels = nl;
            cap = nc;
        }
        char *lv = malloc(p->i - b + 1);
        if (!lv) {
            rc = sq_nomem(p);
            goto fail;
        }
        memcpy(lv, s + b, p->i - b);
        lv[p->i - b] = '\0';
        n->levels[n->n_levels++] = lv;
    }
    if (s[p->i] == '#' || s[p->i] == '/' || s[p->i] == '+') {
        rc = sqerr(p, p->i, "unexpected", "'#' may only end a scope, as '/#'");
        goto fail;
    }
    /* The normalised text: "/" + levels joined by "/" (+ "/#"). */
    size_t len = 3;
    for (size_t i = 0; i < n->n_levels; i++)
        len += strlen(n->levels[i]) + 1;
    n->scope = malloc(len);
    if (!n->scope) {
        rc = sq_nomem(p);
        goto fail;
    }
    size_t o = 0;
    for (size_t i = 0; i < n->n_levels; i++) {
        size_t l = strlen(n->levels[i]);
        n->scope[o++] = '/';
        memcpy(n->scope + o, n->levels[i], l);
        o += l;
    }
    if (n->descendants) {
        memcpy(n->scope + o, "/#", 2);
        o += 2;
    }
    n->scope[o] = '\0';
    *out = n;
    return 0;
fail:
    pl_scopeq_free(n);
    return rc;
}

static int sq_primary(struct sqp *p, struct pl_scopeq **out)
{
    int rc;
    sq_ws(p);
    if (p->s[p->i] != '(') {
        rc = sq_scope(p, out);
    } else {
        size_t open = p->i;
        if (++p->depth > PL_Q_MAX_DEPTH)
            return sqerr(p, open, "parentheses nested too deeply (more than 64) at", NULL);
        p->i++;
        if ((rc = sq_or(p, out)) != 0)
            return rc;
        sq_ws(p);
        if (p->s[p->i] != ')') {
            pl_scopeq_free(*out);
            *out = NULL;
            return sqerr(p, p->i, "unexpected", "expected ')'");
        }
        p->i++;
        p->depth--;
    }
    if (rc == 0)
        sq_ws(p);
    return rc;
}

static int sq_push(struct pl_scopeq ***kids, size_t *n, size_t *cap, struct pl_scopeq *x)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        struct pl_scopeq **nk = realloc(*kids, nc * sizeof *nk);
        if (!nk)
            return -1;
        *kids = nk;
        *cap = nc;
    }
    (*kids)[(*n)++] = x;
    return 0;
}

static int sq_list(struct sqp *p, enum pl_scopeq_kind kind, struct pl_scopeq **out)
{
    struct pl_scopeq **kids = NULL, *x = NULL;
    size_t n = 0, cap = 0;
    int rc;
    for (;;) {
        rc = kind == PL_SQ_AND ? sq_primary(p, &x) : sq_list(p, PL_SQ_AND, &x);
        if (rc)
            goto fail;
        if (x->kind == kind) {
            size_t i = 0;
            for (; i < x->n_kids; i++) {
                if (sq_push(&kids, &n, &cap, x->kids[i]) != 0)
                    break;
            }
            if (i < x->n_kids) {
                memmove(x->kids, x->kids + i, (x->n_kids - i) * sizeof *x->kids);
                x->n_kids -= i;
                pl_scopeq_free(x);
                rc = sq_nomem(p);
                goto fail;
            }
            x->n_kids = 0;
            pl_scopeq_free(x);
        } else if (sq_push(&kids, &n, &cap, x) != 0) {
            pl_scopeq_free(x);
            rc = sq_nomem(p);
            goto fail;
        }
        char c = p->s[p->i];
        if (kind == PL_SQ_AND ? c != ';' : (c != '|' && c != ','))
            break;
        p->i++;
    }
    if (n == 1) {
        *out = kids[0];
        free(kids);
        return 0;
    }
    struct pl_scopeq *g = calloc(1, sizeof *g);
    if (!g) {
        rc = sq_nomem(p);
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
        pl_scopeq_free(kids[i]);
    free(kids);
    return rc;
}

static int sq_or(struct sqp *p, struct pl_scopeq **out)
{
    return sq_list(p, PL_SQ_OR, out);
}

int pl_scopeq_parse(const char *text, struct pl_scopeq **out, struct pl_err *err)
{
    struct sqp p = {text ? text : "", 0, 0, err};
    struct pl_scopeq *n = NULL;
    *out = NULL;
    int rc = sq_or(&p, &n);
    if (rc)
        return rc;
    sq_ws(&p);
    if (p.s[p.i] != '\0') {
        pl_scopeq_free(n);
        return sqerr(&p, p.i, "unexpected", "expected ',', '|', ';' or end of input");
    }
    *out = n;
    return 0;
}

int pl_scopeq_match_one(const struct pl_scopeq *pat, const char *scope)
{
    if (!pat || pat->kind != PL_SQ_SCOPE || !scope || !strcmp(scope, "urn:ngsi-ld:null"))
        return 0;
    const char *c = scope;
    size_t k = 0;
    for (;;) {
        while (*c == '/')
            c++;
        if (!*c)
            break;
        const char *e = strchr(c, '/');
        size_t len = e ? (size_t)(e - c) : strlen(c);
        if (k == pat->n_levels)
            return pat->descendants; /* deeper than the pattern */
        const char *lv = pat->levels[k];
        if (strcmp(lv, "+") != 0 && (strlen(lv) != len || memcmp(lv, c, len) != 0))
            return 0;
        k++;
        c += len;
    }
    return k == pat->n_levels;
}

int pl_scopeq_match(const struct pl_scopeq *n, const json_t *scope_array)
{
    if (!n)
        return 1;
    switch (n->kind) {
    case PL_SQ_SCOPE: {
        if (json_is_string(scope_array))
            return pl_scopeq_match_one(n, json_string_value(scope_array));
        size_t i;
        const json_t *s;
        json_array_foreach(scope_array, i, s)
        {
            if (pl_scopeq_match_one(n, json_string_value(s)))
                return 1;
        }
        return 0;
    }
    case PL_SQ_AND:
        for (size_t i = 0; i < n->n_kids; i++) {
            if (!pl_scopeq_match(n->kids[i], scope_array))
                return 0;
        }
        return 1;
    case PL_SQ_OR:
        for (size_t i = 0; i < n->n_kids; i++) {
            if (pl_scopeq_match(n->kids[i], scope_array))
                return 1;
        }
        return 0;
    }
    return 0;
}
