/* SPDX-License-Identifier: Apache-2.0 */
/*
 * grow.h — the "double the array when it is full" step every growable array repeats.
 */
#ifndef PL_BASE_GROW_H
#define PL_BASE_GROW_H

#include <stdlib.h>

#include "base/err.h"

/* Makes room for one more element in the array *v of `n` used and *cap allocated elements of
 * `size` bytes each: doubles *cap (to `first` when 0) when n == *cap. 0, or PL_ENOMEM with *v
 * and *cap unchanged. */
static inline int pl_grow(void **v, size_t *cap, size_t n, size_t size, size_t first)
{
    if (n < *cap)
        return 0;
    size_t nc = *cap ? *cap * 2 : first;
    void *nv = realloc(*v, nc * size);
    if (!nv)
        return PL_ENOMEM;
    *v = nv;
    *cap = nc;
    return 0;
}

#endif
