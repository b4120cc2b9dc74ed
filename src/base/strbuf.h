/* SPDX-License-Identifier: Apache-2.0 */
/*
 * strbuf.h — a small growable byte buffer for building response text (curl's dynbuf, Redis sds
 * in spirit, without the header trick). Errors are sticky: after a failed allocation every
 * append is a no-op and pl_strbuf_failed() says so, so a writer can append freely and check
 * once at the end. The content is always NUL-terminated once anything was appended.
 *
 * Not thread-safe; a buffer belongs to one caller. Depends on nothing but libc.
 */
#ifndef PL_BASE_STRBUF_H
#define PL_BASE_STRBUF_H

#include <stddef.h>
#include <string.h>

struct pl_strbuf {
    char *p;    /* the bytes (owned; NULL until the first append), NUL-terminated */
    size_t len; /* bytes used, without the NUL */
    size_t cap; /* bytes allocated */
    int nomem;  /* 1 after a failed allocation (sticky) */
};

/* Makes `b` empty without allocating. */
void pl_strbuf_init(struct pl_strbuf *b);

/* Frees the bytes and leaves `b` empty (as after pl_strbuf_init). */
void pl_strbuf_dispose(struct pl_strbuf *b);

/* Ensures room for `n` more bytes (plus the NUL). Returns 0 or PL_ENOMEM (sticky). */
int pl_strbuf_reserve(struct pl_strbuf *b, size_t n);

/* Appends `n` bytes of `s` (need not be NUL-terminated). No-op after a failure. */
static inline void pl_strbuf_append(struct pl_strbuf *b, const char *s, size_t n)
{
    if (b->cap - b->len <= n && pl_strbuf_reserve(b, n) != 0)
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Appends one byte. */
static inline void pl_strbuf_putc(struct pl_strbuf *b, char c)
{
    if (b->cap - b->len <= 1 && pl_strbuf_reserve(b, 1) != 0)
        return;
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

/* Appends a NUL-terminated string. */
static inline void pl_strbuf_puts(struct pl_strbuf *b, const char *s)
{
    pl_strbuf_append(b, s, strlen(s));
}

/* Forgets the content but keeps the allocation. */
static inline void pl_strbuf_reset(struct pl_strbuf *b)
{
    b->len = 0;
    b->nomem = 0;
    if (b->p)
        b->p[0] = '\0';
}

/* 1 after an allocation failed since init/reset. */
static inline int pl_strbuf_failed(const struct pl_strbuf *b)
{
    return b->nomem;
}

/*
 * Hands the bytes over: returns the NUL-terminated text (a malloc'd string the caller now owns,
 * free() it; "" freshly allocated when empty) and its length in *len (may be NULL), and leaves
 * `b` empty. Returns NULL (and `b` disposed) when out of memory or after an earlier failure.
 */
/* Appends printf-formatted text. No-op after a failure. */
void pl_strbuf_printf(struct pl_strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

char *pl_strbuf_take(struct pl_strbuf *b, size_t *len);

#endif
