/* SPDX-License-Identifier: Apache-2.0 */
/* strv.h — small helpers for arrays of C strings. */
#ifndef PL_BASE_STRV_H
#define PL_BASE_STRV_H

#include <stddef.h>
#include <string.h>

/* 1 when `s` equals one of the n strings of `list` (list may be NULL when n is 0). */
static inline int pl_strv_has(const char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

#endif
