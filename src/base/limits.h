/* SPDX-License-Identifier: Apache-2.0 */
/* limits.h — the configurable input limits, enforced by http/ (bytes) and ngsild/ (shape). */
#ifndef PL_BASE_LIMITS_H
#define PL_BASE_LIMITS_H

#include <stddef.h>

struct pl_limits {
    size_t max_body_bytes; /* largest request body accepted (413 TooLarge above) */
    int max_depth;         /* deepest JSON nesting accepted in a payload */
    int max_attrs;         /* most attributes (all instances counted) in one entity */
    size_t max_id_len;     /* longest entity id / datasetId / attribute IRI, in bytes */
};

#define PL_LIMITS_DEFAULT_BODY  (16u * 1024u * 1024u) /* a 10 000-entity batch of ~1.1 KB SDM entities */
#define PL_LIMITS_DEFAULT_DEPTH 32
#define PL_LIMITS_DEFAULT_ATTRS 1024
#define PL_LIMITS_DEFAULT_IDLEN 1024
/* Most elements in one batch request (POST /entityOperations/...): above, 413 TooLarge. */
#define PL_LIMITS_MAX_BATCH 100000u

static inline struct pl_limits pl_limits_default(void)
{
    struct pl_limits l = {PL_LIMITS_DEFAULT_BODY, PL_LIMITS_DEFAULT_DEPTH, PL_LIMITS_DEFAULT_ATTRS,
                          PL_LIMITS_DEFAULT_IDLEN};
    return l;
}

#endif
