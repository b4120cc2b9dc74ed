/* SPDX-License-Identifier: Apache-2.0 */
/* strbuf.c — the growable byte buffer of strbuf.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/err.h"
#include "base/strbuf.h"

void pl_strbuf_init(struct pl_strbuf *b)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
    b->nomem = 0;
}

void pl_strbuf_dispose(struct pl_strbuf *b)
{
    free(b->p);
    pl_strbuf_init(b);
}

int pl_strbuf_reserve(struct pl_strbuf *b, size_t n)
{
    if (b->nomem)
        return PL_ENOMEM;
    if (b->cap - b->len > n)
        return 0;
    if (n > ((size_t)-1) / 2 - b->len - 1) {
        b->nomem = 1;
        return PL_ENOMEM;
    }
    size_t want = b->len + n + 1;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < want)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->nomem = 1;
        return PL_ENOMEM;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

char *pl_strbuf_take(struct pl_strbuf *b, size_t *len)
{
    if (b->nomem || pl_strbuf_reserve(b, 0) != 0) {
        pl_strbuf_dispose(b);
        return NULL;
    }
    char *s = b->p;
    s[b->len] = '\0';
    if (len)
        *len = b->len;
    pl_strbuf_init(b);
    return s;
}

void pl_strbuf_printf(struct pl_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || pl_strbuf_reserve(b, (size_t)n) != 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}
