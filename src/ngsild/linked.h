/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linked.h — Linked Entity Retrieval (4.5.23): renders entities (internal form) together with
 * the Linked Entities their Relationships and ListRelationships lead to, inline (4.5.23.2) or
 * flat (4.5.23.3), with the projections of 4.21 (ngsild/projection.h) applied at each level.
 * Shared by the readers (api/linked.c: the local store) and notifications (subs/).
 *
 * Choices (docs/conformance.md, "Linked entity retrieval"):
 *  - every Relationship and ListRelationship of a rendered entity whose target is an entity held
 *    locally is followed (the targets of other attributes' sub-Relationships are not);
 *  - inline: "entity" (Relationship; an array when "object" is) and "entityList"
 *    (ListRelationship) sub-attributes in the normalized and concise forms; the simplified form
 *    (4.5.4) has no sub-attributes, so it shows none: use join=flat;
 *  - a target already encountered is not followed again: for inline, the entities on the path
 *    from the linking entity (and containedBy); for flat, every entity already in the array;
 *  - at most PL_LINKED_MAX_ENTITIES Linked Entities per request; past that, relationships are
 *    left as they are (no error);
 *  - joinLevel 1..PL_PROJ_MAX_DEPTH (default 1); joinLevel and containedBy are ignored without
 *    join; a projection "a{...}" needs join and a depth <= joinLevel (5.7.1.4, 5.7.2.4).
 *
 * Pure logic: the caller's fetch callback reads the Linked Entities.
 */
#ifndef PL_NGSILD_LINKED_H
#define PL_NGSILD_LINKED_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "ngsild/context.h"
#include "ngsild/entity.h"
#include "ngsild/projection.h"

#define PL_LINKED_MAX_ENTITIES 1000

enum pl_join { PL_JOIN_NONE, PL_JOIN_INLINE, PL_JOIN_FLAT };

/* What a read projects and joins (all borrowed). */
struct pl_linked {
    const struct pl_proj *attrs, *pick, *omit; /* NULL when absent */
    enum pl_join join;
    int join_level;            /* 1..PL_PROJ_MAX_DEPTH */
    const char **contained_by; /* containedBy URIs */
    size_t n_contained_by;
};

/* Reads the entity `id`: 0 and *out (a NEW reference, internal form); PL_ENOTFOUND when it is
 * not held (the relationship is then left as it is); any other code stops the rendering. */
typedef int (*pl_linked_fetch_fn)(void *ud, const char *id, json_t **out, struct pl_err *err);

/*
 * Renders `roots` (a JSON array of internal-form entities, borrowed) with `o` and their Linked
 * Entities as *v says (the projections of *v replace o's attrs/pick/omit at every level).
 * `geo`: GeoJSON Features with `geoproperty_iri` (may be NULL). Returns 0 and *out, a NEW
 * array: one rendered entity per root for inline and none, the roots then every Linked Entity
 * for flat; or a PL_E* code with *err filled.
 */
int pl_linked_render(const struct pl_ctx *ctx, const struct pl_render_opts *o,
                     const struct pl_linked *v, const json_t *roots, int geo,
                     const char *geoproperty_iri, pl_linked_fetch_fn fetch, void *fetch_ud,
                     json_t **out, struct pl_err *err);

#endif
