/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linked.h — the projection parameters of the readers (attrs, pick, omit: 4.21) and Linked
 * Entity Retrieval (join, joinLevel, containedBy: 4.5.23), shared by Retrieve Entity
 * (api/retrieve.c) and Query Entities (api/query.c; the temporal handlers parse the same URL
 * parameters). Linked Entities are read from the local store only.
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
 */
#ifndef PL_API_LINKED_H
#define PL_API_LINKED_H

#include <jansson.h>
#include <stddef.h>

#include "http/http.h"
#include "ngsild/context.h"
#include "ngsild/entity.h"
#include "ngsild/projection.h"

#define PL_LINKED_MAX_ENTITIES 1000

enum pl_join { PL_JOIN_NONE, PL_JOIN_INLINE, PL_JOIN_FLAT };

/* What a read projects and joins. The projections are released with the request. */
struct pl_api_view {
    const struct pl_proj *attrs, *pick, *omit; /* NULL when absent */
    enum pl_join join;
    int join_level;                 /* 1..PL_PROJ_MAX_DEPTH */
    const char **contained_by;      /* containedBy URIs (request memory) */
    size_t n_contained_by;
};

/*
 * Reads attrs (unless `attrs_from_url` is 0), pick, omit, join, joinLevel and containedBy from
 * the URL into *v and their top-level name lists into o->attrs / o->pick / o->omit. Refuses
 * pick with omit, and Linked Entity terms without join or deeper than joinLevel. Returns 0 or
 * -1 after answering BadRequestData.
 */
int pl_api_view_or_reply(struct pl_req *r, const struct pl_ctx *ctx, int attrs_from_url,
                         struct pl_render_opts *o, struct pl_api_view *v);

/* One projection parameter of the URL (flags: PL_PROJ_*); absent: *out stays NULL; present:
 * *out is released with the request. Returns 0 or -1 (answered). */
int pl_api_proj_or_reply(struct pl_req *r, const struct pl_ctx *ctx, const char *param,
                         unsigned flags, const struct pl_proj **out);

/* A plain list of attribute names in the same syntax (expandValues, jsonKeys: no "{...}"). */
int pl_api_names_or_reply(struct pl_req *r, const struct pl_ctx *ctx, const char *param,
                          const struct pl_proj **out);

/* The same Linked Entity checks for an attrs list given another way (a Query body), after
 * pl_api_view_or_reply. Returns 0 or -1 (answered). */
int pl_api_view_check_or_reply(struct pl_req *r, const struct pl_api_view *v);

/*
 * Renders `roots` (a JSON array of internal-form entities, borrowed) with `o` and their Linked
 * Entities as *v says. `geo`: GeoJSON Features with `geoproperty_iri` (may be NULL). Returns 0
 * and *out, a NEW array: one rendered entity per root for inline (and join none), the roots
 * then every Linked Entity for flat; or a PL_E* code with *err filled (store errors).
 */
int pl_api_view_render(struct pl_req *r, const struct pl_ctx *ctx, const struct pl_render_opts *o,
                       const struct pl_api_view *v, const json_t *roots, int geo,
                       const char *geoproperty_iri, json_t **out, struct pl_err *err);

#endif
