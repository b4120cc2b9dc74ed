/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hmap.h — a small string-keyed hash table (open addressing, linear probing, FNV-1a).
 *
 * Keys are NUL-terminated strings; the table keeps its OWN copy of every key (the caller's key
 * is only borrowed for the duration of the call). Values are opaque `void *`. When the table was
 * created with a `free_val` function, the table OWNS its values: a value is released with it when
 * it is replaced by pl_hmap_put, removed by pl_hmap_del or when the table is freed. Without one
 * (NULL) values are borrowed and never touched.
 *
 * Not thread-safe: the owner serialises access (many concurrent readers are fine as long as no
 * writer runs).
 */
#ifndef PL_BASE_HMAP_H
#define PL_BASE_HMAP_H

#include <stddef.h>

struct pl_hmap; /* opaque */

typedef void (*pl_hmap_free_fn)(void *val);

/* Creates an empty table. `free_val` may be NULL (values borrowed). Returns NULL when out of
 * memory. Free with pl_hmap_free. */
struct pl_hmap *pl_hmap_new(pl_hmap_free_fn free_val);

/* Frees every key, every value (through free_val, when set) and the table. NULL is a no-op. */
void pl_hmap_free(struct pl_hmap *h);

/* Returns the value stored under `key`, or NULL when absent (borrowed). `found` (OUT, may be
 * NULL) is set to 1/0, which distinguishes a stored NULL value from an absent key. */
void *pl_hmap_get(const struct pl_hmap *h, const char *key, int *found);

/* Returns the table's own copy of `key` (valid until the key is deleted or the table freed), or
 * NULL when absent. */
const char *pl_hmap_key(const struct pl_hmap *h, const char *key);

/*
 * Stores `val` under `key` (copied). An existing value under the same key is released through
 * free_val (when set) and replaced. Takes ownership of `val` on success only. Returns 0, or
 * PL_ENOMEM (the table is unchanged; `val` stays the caller's).
 */
int pl_hmap_put(struct pl_hmap *h, const char *key, void *val);

/* Removes `key` and releases its value through free_val (when set). Returns 1 when the key was
 * present, 0 otherwise. */
int pl_hmap_del(struct pl_hmap *h, const char *key);

/* Removes `key` WITHOUT releasing its value and returns the value (NULL when absent). */
void *pl_hmap_take(struct pl_hmap *h, const char *key);

/* Removes every entry (values released through free_val, when set). */
void pl_hmap_clear(struct pl_hmap *h);

/* Number of entries. */
size_t pl_hmap_count(const struct pl_hmap *h);

/*
 * Iteration: start with *pos = 0; each call returns 1 and sets *key (borrowed, the table's copy)
 * and *val, or 0 when done. The table must not be modified while iterating, except through
 * pl_hmap_del of the key just returned.
 */
int pl_hmap_next(const struct pl_hmap *h, size_t *pos, const char **key, void **val);

#endif
