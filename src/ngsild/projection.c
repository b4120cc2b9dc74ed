/* SPDX-License-Identifier: Apache-2.0 */
/* projection.c — the Attribute Projection Language (4.21): a recursive-descent parser. */
#include "ngsild/projection.h"

#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "ngsild/entity.h"

struct pstate {
    const char *param; /* the parameter name, for the error details */
    const char *base;  /* the start of the value: offsets in details count from it */
    const char *p;     /* the next character */
    const struct pl_ctx *ctx;
    unsigned flags;
    struct pl_err *err;
};

static int is_member(const char *s, size_t n)
{
    return (n == 2 && !memcmp(s, "id", 2)) || (n == 4 && !memcmp(s, "type", 4)) ||
           (n == 5 && !memcmp(s, "scope", 5));
}

void pl_proj_free(struct pl_proj *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free((char *)p->names[i]);
        pl_proj_free(p->sub ? p->sub[i] : NULL);
    }
    free(p->names);
    free(p->sub);
    free(p->leaves);
    free(p);
}

/* Appends one term; takes ownership of `name` and `sub` (freed on failure). */
static int add_term(struct pl_proj *p, size_t *cap, char *name, struct pl_proj *sub)
{
    if (p->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        const char **nn = realloc(p->names, nc * sizeof *nn);
        if (nn)
            p->names = nn;
        struct pl_proj **ns = nn ? realloc(p->sub, nc * sizeof *ns) : NULL;
        if (!ns) {
            free(name);
            pl_proj_free(sub);
            return -1;
        }
        p->sub = ns;
        *cap = nc;
    }
    p->names[p->n] = name;
    p->sub[p->n] = sub;
    p->n++;
    return 0;
}

/* Fills the leaves of a complete level. Returns p, or NULL (freed) when out of memory. */
static struct pl_proj *finish(struct pstate *st, struct pl_proj *p)
{
    p->leaves = malloc((p->n ? p->n : 1) * sizeof *p->leaves);
    if (!p->leaves) {
        pl_err_set(st->err, PL_ENOMEM, "out of memory");
        pl_proj_free(p);
        return NULL;
    }
    for (size_t i = 0; i < p->n; i++) {
        if (!p->sub[i])
            p->leaves[p->n_leaves++] = p->names[i];
    }
    return p;
}

/* One ProjectionTerm list, up to the end of the text (depth 0) or its closing '}'. */
static struct pl_proj *parse_level(struct pstate *st, int depth)
{
    struct pl_proj *p = calloc(1, sizeof *p);
    size_t cap = 0;
    if (!p) {
        pl_err_set(st->err, PL_ENOMEM, "out of memory");
        return NULL;
    }
    for (;;) {
        const char *start = st->p;
        size_t n = strcspn(start, ",|{}");
        st->p += n;
        if (n == 0 && depth > 0 && *st->p == '\0') {
            pl_err_set(st->err, PL_EBADREQUESTDATA, "%s: unbalanced '{' (missing '}')", st->param);
            goto fail;
        }
        if (n == 0) {
            pl_err_set(st->err, PL_EBADREQUESTDATA, "%s: empty attribute name at offset %zu",
                       st->param, (size_t)(start - st->base));
            goto fail;
        }
        char *written = strndup(start, n);
        if (!written) {
            pl_err_set(st->err, PL_ENOMEM, "out of memory");
            goto fail;
        }
        char *name;
        if (is_member(start, n)) {
            if (!(st->flags & PL_PROJ_MEMBERS) || *st->p == '{') {
                pl_err_set(st->err, PL_EBADREQUESTDATA, "%s: '%s' %s", st->param, written,
                           *st->p == '{' ? "is not a Relationship: it leads to no Linked Entity"
                                         : "is not an attribute name");
                free(written);
                goto fail;
            }
            name = written;
        } else {
            if ((!pl_is_valid_name(written) && !pl_is_uri(written)) ||
                pl_is_reserved_attr_name(written)) {
                pl_err_set(st->err, PL_EBADREQUESTDATA, "%s: invalid attribute name '%.200s'",
                           st->param, written);
                free(written);
                goto fail;
            }
            name = pl_ctx_expand(st->ctx, written);
            free(written);
            if (!name) {
                pl_err_set(st->err, PL_ENOMEM, "out of memory");
                goto fail;
            }
        }
        struct pl_proj *sub = NULL;
        if (*st->p == '{') {
            if (depth + 1 > PL_PROJ_MAX_DEPTH) {
                free(name);
                pl_err_set(st->err, PL_EBADREQUESTDATA,
                           "%s: Linked Entity terms nested deeper than %d", st->param,
                           PL_PROJ_MAX_DEPTH);
                goto fail;
            }
            st->p++;
            sub = parse_level(st, depth + 1);
            if (!sub) {
                free(name);
                goto fail;
            }
            /* parse_level consumed the closing '}' */
        }
        if (add_term(p, &cap, name, sub) != 0) {
            pl_err_set(st->err, PL_ENOMEM, "out of memory");
            goto fail;
        }
        char c = *st->p;
        if (c == ',' || c == '|') {
            st->p++;
            continue;
        }
        if (c == '}') {
            if (depth == 0) {
                pl_err_set(st->err, PL_EBADREQUESTDATA, "%s: unbalanced '}' at offset %zu",
                           st->param, (size_t)(st->p - st->base));
                goto fail;
            }
            st->p++;
            return finish(st, p);
        }
        if (c == '\0') {
            if (depth > 0) {
                pl_err_set(st->err, PL_EBADREQUESTDATA, "%s: unbalanced '{' (missing '}')",
                           st->param);
                goto fail;
            }
            return finish(st, p);
        }
        /* c == '{' right after a '}' ("a{b}{c}") or a name after '}' ("a{b}c") */
        pl_err_set(st->err, PL_EBADREQUESTDATA, "%s: unexpected '%c' at offset %zu", st->param, c,
                   (size_t)(st->p - st->base));
        goto fail;
    }
fail:
    pl_proj_free(p);
    return NULL;
}

int pl_proj_parse(const char *param, const char *text, const struct pl_ctx *ctx, unsigned flags,
                  struct pl_proj **out, struct pl_err *err)
{
    struct pstate st = {param, text, text, ctx, flags, err};
    *out = parse_level(&st, 0);
    if (!*out)
        return err->code != PL_OK ? err->code : PL_ENOMEM;
    return 0;
}

int pl_proj_depth(const struct pl_proj *p)
{
    int d = 0;
    for (size_t i = 0; p && i < p->n; i++) {
        int s = p->sub && p->sub[i] ? 1 + pl_proj_depth(p->sub[i]) : 0;
        if (s > d)
            d = s;
    }
    return d;
}

const struct pl_proj *pl_proj_sub(const struct pl_proj *p, const char *iri)
{
    for (size_t i = 0; p && i < p->n; i++) {
        if (p->sub && p->sub[i] && strcmp(p->names[i], iri) == 0)
            return p->sub[i];
    }
    return NULL;
}

int pl_proj_has_member(const struct pl_proj *p)
{
    for (size_t i = 0; p && i < p->n; i++) {
        if (is_member(p->names[i], strlen(p->names[i])))
            return 1;
    }
    return 0;
}

static int format_term(struct pl_strbuf *b, const struct pl_proj *p, size_t i,
                       char *(*name)(void *ud, const char *iri), void *ud)
{
    const char *n = p->names[i];
    if (name && !is_member(n, strlen(n))) {
        char *w = name(ud, n);
        if (!w)
            return -1;
        pl_strbuf_puts(b, w);
        free(w);
    } else {
        pl_strbuf_puts(b, n);
    }
    const struct pl_proj *sub = p->sub ? p->sub[i] : NULL;
    if (!sub)
        return 0;
    pl_strbuf_putc(b, '{');
    for (size_t k = 0; k < sub->n; k++) {
        if (k)
            pl_strbuf_putc(b, ',');
        if (format_term(b, sub, k, name, ud) != 0)
            return -1;
    }
    pl_strbuf_putc(b, '}');
    return 0;
}

char *pl_proj_format_term(const struct pl_proj *p, size_t i,
                          char *(*name)(void *ud, const char *iri), void *ud)
{
    struct pl_strbuf b;
    pl_strbuf_init(&b);
    int rc = format_term(&b, p, i, name, ud);
    char *t = pl_strbuf_take(&b, NULL); /* also disposes of b */
    if (rc != 0) {
        free(t);
        return NULL;
    }
    return t;
}
