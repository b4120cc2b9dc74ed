/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ratelimit.c — token buckets in a set-associative table (see ratelimit.h).
 */
#include "http/ratelimit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define WAYS 8

struct bucket {
    uint64_t key;    /* hash of the key; 0: empty way */
    double tokens;   /* tokens left at `last_ns` */
    int64_t last_ns; /* last refill */
    uint64_t used;   /* the set's use counter at the last take: the LRU order */
};

struct set {
    pthread_mutex_t lock;    /* guards the ways and `uses` */
    uint64_t uses;           /* takes so far (stamps bucket.used) */
    struct bucket way[WAYS]; /* the buckets of this set */
};

struct pl_ratelimit {
    double rate;                /* tokens per second */
    double burst;               /* bucket size */
    uint64_t seed;              /* secret hash seed */
    size_t n_sets;              /* a power of two */
    struct set *sets;           /* n_sets sets */
    atomic_ullong evicted_busy; /* evictions of buckets that were not full */
};

struct pl_ratelimit *pl_ratelimit_new(size_t capacity, unsigned rate, unsigned burst)
{
    if (rate == 0 || burst == 0)
        return NULL;
    struct pl_ratelimit *rl = calloc(1, sizeof *rl);
    if (!rl)
        return NULL;
    size_t n = 1;
    while (n * WAYS < capacity)
        n *= 2;
    rl->sets = calloc(n, sizeof *rl->sets);
    if (!rl->sets) {
        free(rl);
        return NULL;
    }
    rl->n_sets = n;
    rl->rate = rate;
    rl->burst = burst;
    if (getrandom(&rl->seed, sizeof rl->seed, 0) != (ssize_t)sizeof rl->seed)
        rl->seed = (uint64_t)time(NULL) * 0x9e3779b97f4a7c15ull; /* no entropy: still works */
    for (size_t i = 0; i < n; i++)
        pthread_mutex_init(&rl->sets[i].lock, NULL);
    atomic_init(&rl->evicted_busy, 0);
    return rl;
}

void pl_ratelimit_free(struct pl_ratelimit *rl)
{
    if (!rl)
        return;
    for (size_t i = 0; i < rl->n_sets; i++)
        pthread_mutex_destroy(&rl->sets[i].lock);
    free(rl->sets);
    free(rl);
}

/* FNV-1a over the seed and the key, then a 64-bit finalizer (splitmix64) so that the low bits
 * that pick the set depend on every byte. Never 0 (0 marks an empty way). */
static uint64_t hash(uint64_t seed, const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull ^ seed;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h ? h : 1;
}

int pl_ratelimit_take(struct pl_ratelimit *rl, const void *key, size_t len, int64_t now_ns,
                      unsigned *retry_after_s)
{
    uint64_t h = hash(rl->seed, key, len);
    struct set *s = &rl->sets[h & (rl->n_sets - 1)];
    pthread_mutex_lock(&s->lock);
    struct bucket *b = NULL, *lru = &s->way[0];
    for (int i = 0; i < WAYS; i++) {
        struct bucket *w = &s->way[i];
        if (w->key == h) {
            b = w;
            break;
        }
        if (w->key == 0 || (lru->key != 0 && w->used < lru->used))
            lru = w;
    }
    if (!b) {
        if (lru->key != 0) {
            double elapsed = (double)(now_ns - lru->last_ns) / 1e9;
            if (lru->tokens + elapsed * rl->rate < rl->burst)
                atomic_fetch_add(&rl->evicted_busy, 1);
        }
        b = lru;
        b->key = h;
        b->tokens = rl->burst;
        b->last_ns = now_ns;
    }
    b->used = ++s->uses;
    if (now_ns > b->last_ns) {
        b->tokens += (double)(now_ns - b->last_ns) / 1e9 * rl->rate;
        if (b->tokens > rl->burst)
            b->tokens = rl->burst;
        b->last_ns = now_ns;
    }
    int ok = b->tokens >= 1.0;
    if (ok) {
        b->tokens -= 1.0;
    } else {
        double wait = (1.0 - b->tokens) / rl->rate;
        unsigned secs = (unsigned)wait;
        if ((double)secs < wait)
            secs++;
        *retry_after_s = secs ? secs : 1;
    }
    pthread_mutex_unlock(&s->lock);
    return ok;
}

uint64_t pl_ratelimit_evictions(const struct pl_ratelimit *rl)
{
    return atomic_load(&((struct pl_ratelimit *)rl)->evicted_busy);
}
