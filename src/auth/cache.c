/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache.c — the credential cache (cache.h). Sharded open addressing: a credential's hash picks
 * a shard (its own mutex) and a home slot; an entry lives in one of the WINDOW slots from its
 * home, so a lookup reads at most WINDOW slots and a put into a full window evicts the entry of
 * that window that expires first (no tombstones: lookups always scan the whole window).
 */
#include "auth/cache.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"

#define SHARDS 16
#define WINDOW 8
#define HASH_BYTES 32

struct entry {
    unsigned char h[HASH_BYTES]; /* keyed BLAKE2b of the credential */
    int64_t expires_ms;          /* absolute */
    struct pl_principal *p;      /* one reference; NULL: the slot is free */
};

struct shard {
    pthread_mutex_t mu;
    struct entry *slots; /* cap entries */
};

struct pl_auth_cache {
    unsigned char key[crypto_generichash_KEYBYTES]; /* random per process */
    size_t cap;                                     /* slots per shard (power of two) */
    struct shard shards[SHARDS];
};

struct pl_auth_cache *pl_auth_cache_new(size_t max_entries)
{
    if (sodium_init() < 0)
        return NULL;
    if (max_entries == 0)
        max_entries = 16384;
    struct pl_auth_cache *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->cap = WINDOW;
    while (c->cap * SHARDS < max_entries)
        c->cap *= 2;
    randombytes_buf(c->key, sizeof c->key);
    for (int i = 0; i < SHARDS; i++) {
        pthread_mutex_init(&c->shards[i].mu, NULL);
        c->shards[i].slots = calloc(c->cap, sizeof(struct entry));
        if (!c->shards[i].slots) {
            pl_auth_cache_free(c);
            return NULL;
        }
    }
    return c;
}

void pl_auth_cache_free(struct pl_auth_cache *c)
{
    if (!c)
        return;
    for (int i = 0; i < SHARDS; i++) {
        struct shard *sh = &c->shards[i];
        for (size_t j = 0; sh->slots && j < c->cap; j++)
            pl_principal_unref(sh->slots[j].p);
        free(sh->slots);
        pthread_mutex_destroy(&sh->mu);
    }
    sodium_memzero(c->key, sizeof c->key);
    free(c);
}

/* The credential's hash, its shard and home slot. */
static struct shard *locate(struct pl_auth_cache *c, const char *cred, size_t len,
                            unsigned char h[HASH_BYTES], size_t *home)
{
    crypto_generichash(h, HASH_BYTES, (const unsigned char *)cred, len, c->key, sizeof c->key);
    uint64_t x;
    memcpy(&x, h, sizeof x);
    *home = (size_t)(x >> 8) & (c->cap - 1);
    return &c->shards[h[0] % SHARDS];
}

static struct entry *find(struct pl_auth_cache *c, struct shard *sh, size_t home,
                          const unsigned char h[HASH_BYTES])
{
    for (size_t k = 0; k < WINDOW; k++) {
        struct entry *e = &sh->slots[(home + k) & (c->cap - 1)];
        if (e->p && sodium_memcmp(e->h, h, HASH_BYTES) == 0)
            return e;
    }
    return NULL;
}

static void clear(struct entry *e)
{
    pl_principal_unref(e->p);
    memset(e, 0, sizeof *e);
}

struct pl_principal *pl_auth_cache_get(struct pl_auth_cache *c, const char *cred, size_t len,
                                       int64_t now_ms)
{
    unsigned char h[HASH_BYTES];
    size_t home;
    struct shard *sh = locate(c, cred, len, h, &home);
    struct pl_principal *p = NULL;
    pthread_mutex_lock(&sh->mu);
    struct entry *e = find(c, sh, home, h);
    if (e && e->expires_ms > now_ms)
        p = pl_principal_ref(e->p);
    else if (e)
        clear(e);
    pthread_mutex_unlock(&sh->mu);
    return p;
}

void pl_auth_cache_put(struct pl_auth_cache *c, const char *cred, size_t len,
                       struct pl_principal *p, int64_t expires_ms)
{
    if (!p)
        return;
    unsigned char h[HASH_BYTES];
    size_t home;
    struct shard *sh = locate(c, cred, len, h, &home);
    pthread_mutex_lock(&sh->mu);
    struct entry *e = find(c, sh, home, h);
    for (size_t k = 0; !e && k < WINDOW; k++) {
        struct entry *s = &sh->slots[(home + k) & (c->cap - 1)];
        if (!s->p || !e || s->expires_ms < e->expires_ms)
            e = s;
        if (!s->p)
            break;
    }
    clear(e);
    memcpy(e->h, h, HASH_BYTES);
    e->expires_ms = expires_ms;
    e->p = pl_principal_ref(p);
    pthread_mutex_unlock(&sh->mu);
}

void pl_auth_cache_remove(struct pl_auth_cache *c, const char *cred, size_t len)
{
    unsigned char h[HASH_BYTES];
    size_t home;
    struct shard *sh = locate(c, cred, len, h, &home);
    pthread_mutex_lock(&sh->mu);
    struct entry *e = find(c, sh, home, h);
    if (e)
        clear(e);
    pthread_mutex_unlock(&sh->mu);
}

size_t pl_auth_cache_forget(struct pl_auth_cache *c, const char *name)
{
    size_t n = 0;
    for (int i = 0; i < SHARDS; i++) {
        struct shard *sh = &c->shards[i];
        pthread_mutex_lock(&sh->mu);
        for (size_t j = 0; j < c->cap; j++) {
            if (sh->slots[j].p && strcmp(sh->slots[j].p->name, name) == 0) {
                clear(&sh->slots[j]);
                n++;
            }
        }
        pthread_mutex_unlock(&sh->mu);
    }
    return n;
}

size_t pl_auth_cache_count(struct pl_auth_cache *c)
{
    size_t n = 0;
    for (int i = 0; i < SHARDS; i++) {
        pthread_mutex_lock(&c->shards[i].mu);
        for (size_t j = 0; j < c->cap; j++)
            n += c->shards[i].slots[j].p != NULL;
        pthread_mutex_unlock(&c->shards[i].mu);
    }
    return n;
}
