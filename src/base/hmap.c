/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hmap.c — open-addressing string hash table (see hmap.h). Capacity is a power of two; the
 * table grows when live plus deleted slots exceed 70 % so probe chains stay short. Deleted
 * slots are tombstones until the next rehash.
 */
#include "base/hmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/err.h"

/* A slot's key is NULL (empty), TOMB (deleted) or an owned string. */
static char tomb_mark;
#define TOMB (&tomb_mark)

struct slot {
    char *key;     /* NULL, TOMB or an owned copy of the key */
    void *val;     /* the value (owned when free_val is set) */
    uint64_t hash; /* cached hash of key */
};

struct pl_hmap {
    struct slot *slots;       /* `cap` slots */
    size_t cap;               /* capacity, a power of two (0 before the first put) */
    size_t count;             /* live entries */
    size_t used;              /* live entries plus tombstones */
    pl_hmap_free_fn free_val; /* releases values; NULL = values borrowed */
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

struct pl_hmap *pl_hmap_new(pl_hmap_free_fn free_val)
{
    struct pl_hmap *h = calloc(1, sizeof *h);
    if (h)
        h->free_val = free_val;
    return h;
}

void pl_hmap_clear(struct pl_hmap *h)
{
    if (!h)
        return;
    for (size_t i = 0; i < h->cap; i++) {
        struct slot *s = &h->slots[i];
        if (s->key && s->key != TOMB) {
            if (h->free_val)
                h->free_val(s->val);
            free(s->key);
        }
        s->key = NULL;
        s->val = NULL;
    }
    h->count = 0;
    h->used = 0;
}

void pl_hmap_free(struct pl_hmap *h)
{
    if (!h)
        return;
    pl_hmap_clear(h);
    free(h->slots);
    free(h);
}

/* Index of the live slot holding `key`, or SIZE_MAX. */
static size_t find(const struct pl_hmap *h, const char *key, uint64_t hv)
{
    if (h->cap == 0)
        return SIZE_MAX;
    size_t mask = h->cap - 1;
    for (size_t i = hv & mask, n = 0; n < h->cap; i = (i + 1) & mask, n++) {
        struct slot *s = &h->slots[i];
        if (!s->key)
            return SIZE_MAX;
        if (s->key != TOMB && s->hash == hv && strcmp(s->key, key) == 0)
            return i;
    }
    return SIZE_MAX;
}

static int grow(struct pl_hmap *h)
{
    size_t ncap = h->cap ? h->cap * 2 : 16;
    if (h->count * 2 < h->cap)
        ncap = h->cap; /* mostly tombstones: rehash in place size */
    struct slot *ns = calloc(ncap, sizeof *ns);
    if (!ns)
        return PL_ENOMEM;
    for (size_t i = 0; i < h->cap; i++) {
        struct slot *s = &h->slots[i];
        if (!s->key || s->key == TOMB)
            continue;
        size_t j = s->hash & (ncap - 1);
        while (ns[j].key)
            j = (j + 1) & (ncap - 1);
        ns[j] = *s;
    }
    free(h->slots);
    h->slots = ns;
    h->cap = ncap;
    h->used = h->count;
    return 0;
}

void *pl_hmap_get(const struct pl_hmap *h, const char *key, int *found)
{
    size_t i = h ? find(h, key, hash_str(key)) : SIZE_MAX;
    if (found)
        *found = i != SIZE_MAX;
    return i == SIZE_MAX ? NULL : h->slots[i].val;
}

const char *pl_hmap_key(const struct pl_hmap *h, const char *key)
{
    size_t i = h ? find(h, key, hash_str(key)) : SIZE_MAX;
    return i == SIZE_MAX ? NULL : h->slots[i].key;
}

int pl_hmap_put(struct pl_hmap *h, const char *key, void *val)
{
    uint64_t hv = hash_str(key);
    size_t i = find(h, key, hv);
    if (i != SIZE_MAX) {
        if (h->free_val && h->slots[i].val != val)
            h->free_val(h->slots[i].val);
        h->slots[i].val = val;
        return 0;
    }
    if ((h->used + 1) * 10 >= h->cap * 7) {
        int rc = grow(h);
        if (rc)
            return rc;
    }
    char *k = strdup(key);
    if (!k)
        return PL_ENOMEM;
    size_t mask = h->cap - 1;
    i = hv & mask;
    while (h->slots[i].key && h->slots[i].key != TOMB)
        i = (i + 1) & mask;
    if (!h->slots[i].key)
        h->used++;
    h->slots[i].key = k;
    h->slots[i].val = val;
    h->slots[i].hash = hv;
    h->count++;
    return 0;
}

void *pl_hmap_take(struct pl_hmap *h, const char *key)
{
    size_t i = h ? find(h, key, hash_str(key)) : SIZE_MAX;
    if (i == SIZE_MAX)
        return NULL;
    void *v = h->slots[i].val;
    free(h->slots[i].key);
    h->slots[i].key = TOMB;
    h->slots[i].val = NULL;
    h->count--;
    return v;
}

int pl_hmap_del(struct pl_hmap *h, const char *key)
{
    size_t i = h ? find(h, key, hash_str(key)) : SIZE_MAX;
    if (i == SIZE_MAX)
        return 0;
    void *v = pl_hmap_take(h, key);
    if (h->free_val)
        h->free_val(v);
    return 1;
}

size_t pl_hmap_count(const struct pl_hmap *h)
{
    return h ? h->count : 0;
}

int pl_hmap_next(const struct pl_hmap *h, size_t *pos, const char **key, void **val)
{
    if (!h)
        return 0;
    while (*pos < h->cap) {
        struct slot *s = &h->slots[(*pos)++];
        if (s->key && s->key != TOMB) {
            *key = s->key;
            *val = s->val;
            return 1;
        }
    }
    return 0;
}
