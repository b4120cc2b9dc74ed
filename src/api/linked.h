/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linked.h — the projection parameters of the readers (attrs, pick, omit: 4.21) and Linked
 * Entity Retrieval (join, joinLevel, containedBy: 4.5.23), shared by Retrieve Entity
 * (api/retrieve.c) and Query Entities (api/query.c; the temporal handlers parse the same URL
 * parameters). Linked Entities are read from the local store only.
 *
 * The rendering itself is ngsild/linked.h (pure; the store is its fetch callback).
 */
#ifndef PL_API_LINKED_H
#define PL_API_LINKED_H

#include <jansson.h>
#include <stddef.h>

#include "http/http.h"
#include "ngsild/context.h"
#include "ngsild/entity.h"
#include "ngsild/linked.h"
#include "ngsild/projection.h"

/*
 * Reads attrs (unless `attrs_from_url` is 0), pick, omit, join, joinLevel and containedBy from
 * the URL into *v and their top-level name lists into o->attrs / o->pick / o->omit. Refuses
 * pick with omit, and Linked Entity terms without join or deeper than joinLevel. Returns 0 or
 * -1 after answering BadRequestData.
 */
int pl_api_view_or_reply(struct pl_req *r, const struct pl_ctx *ctx, int attrs_from_url,
                         struct pl_render_opts *o, struct pl_linked *v);

/* One projection parameter of the URL (flags: PL_PROJ_*); absent: *out stays NULL; present:
 * *out is released with the request. Returns 0 or -1 (answered). */
int pl_api_proj_or_reply(struct pl_req *r, const struct pl_ctx *ctx, const char *param,
                         unsigned flags, const struct pl_proj **out);
/* The same for a value given another way (`text` NULL: absent). */
int pl_api_proj_text_or_reply(struct pl_req *r, const struct pl_ctx *ctx, const char *param,
                              const char *text, unsigned flags, const struct pl_proj **out);

/* A plain list of attribute names in the same syntax (expandValues, jsonKeys: no "{...}"). */
int pl_api_names_or_reply(struct pl_req *r, const struct pl_ctx *ctx, const char *param,
                          const char *text, const struct pl_proj **out);

/* The members of a Query body (5.2.23) that pl_api_view_or_reply reads from a URL: pick and
 * omit (String[] in the 4.21 language), join, joinLevel, containedBy; they replace the URL's.
 * Returns 0 or -1 (answered). */
int pl_api_view_body_or_reply(struct pl_req *r, const struct pl_ctx *ctx, const json_t *body,
                              struct pl_render_opts *o, struct pl_linked *v);

/* The same Linked Entity checks for an attrs list given another way (a Query body), after
 * pl_api_view_or_reply. Returns 0 or -1 (answered). */
int pl_api_view_check_or_reply(struct pl_req *r, const struct pl_linked *v);

/*
 * Renders `roots` (a JSON array of internal-form entities, borrowed) with `o` and their Linked
 * Entities as *v says. `geo`: GeoJSON Features with `geoproperty_iri` (may be NULL). Returns 0
 * and *out, a NEW array: one rendered entity per root for inline (and join none), the roots
 * then every Linked Entity for flat; or a PL_E* code with *err filled (store errors).
 */
int pl_api_view_render(struct pl_req *r, const struct pl_ctx *ctx, const struct pl_render_opts *o,
                       const struct pl_linked *v, const json_t *roots, int geo,
                       const char *geoproperty_iri, json_t **out, struct pl_err *err);

#endif
