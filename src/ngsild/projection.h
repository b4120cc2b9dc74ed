/* SPDX-License-Identifier: Apache-2.0 */
/*
 * projection.h — the NGSI-LD Attribute Projection Language (4.21) of the attrs, pick and omit
 * parameters (Retrieve Entity, Query Entities, the temporal API, notification.pick/omit):
 *
 *   ProjectionTerm   = AttrName *1(LinkedEntityTerm) *(orOp ProjectionTerm)
 *   LinkedEntityTerm = "{" ProjectionTerm "}"          orOp = "|" / ","
 *
 * "a,b|c" lists three members; "isParked{name,brand}" names the Relationship isParked and, for
 * the Linked Entities it leads to (Linked Entity Retrieval, 4.5.23), the members name and brand.
 *
 * Pure logic, no I/O.
 */
#ifndef PL_NGSILD_PROJECTION_H
#define PL_NGSILD_PROJECTION_H

#include <stddef.h>

#include "base/err.h"
#include "ngsild/context.h"

/* The deepest LinkedEntityTerm nesting the parser accepts ("a{b{c}}" is 2); also the largest
 * joinLevel (api/linked.c), so that every accepted projection can be honoured. */
#define PL_PROJ_MAX_DEPTH 8

/* Flags of pl_proj_parse. */
#define PL_PROJ_MEMBERS                                                                            \
    0x1u /* "id", "type" and "scope" are accepted (pick, omit), kept as                            \
            written; without it they are refused (attrs) */

/* One parsed projection level. Everything is owned by the top-level object. */
struct pl_proj {
    size_t n;
    const char **names;   /* expanded attribute IRIs, or "id"/"type"/"scope" as written:
                             the lists pl_render_opts takes as attrs/pick/omit */
    struct pl_proj **sub; /* sub[i]: the projection within the Linked Entities names[i] leads
                             to ("names[i]{...}"); NULL when none was written (the whole
                             array may be NULL: a flat list) */
    size_t n_leaves;
    const char **leaves; /* the names written without "{...}" (borrowed from names): what an
                            exclusionary list (omit) removes at this level; "a{b}" in omit
                            removes b from the Linked Entities of a, not a itself */
};

/*
 * Parses `text` (a whole parameter value) and expands every attribute name with `ctx`.
 * Returns 0 and *out (a NEW object: pl_proj_free), or PL_EBADREQUESTDATA with a detail naming
 * `param` (empty name, unbalanced or misplaced braces, an invalid 4.6.2 name, nesting deeper
 * than PL_PROJ_MAX_DEPTH, a member name where PL_PROJ_MEMBERS is not set), or PL_ENOMEM.
 */
int pl_proj_parse(const char *param, const char *text, const struct pl_ctx *ctx, unsigned flags,
                  struct pl_proj **out, struct pl_err *err);

void pl_proj_free(struct pl_proj *p);

/* The nesting depth: 0 for "a,b", 1 for "a{b}", 2 for "a{b{c}}". NULL: 0. */
int pl_proj_depth(const struct pl_proj *p);

/* The projection written for the Linked Entities of attribute `iri`, or NULL. `p` may be NULL. */
const struct pl_proj *pl_proj_sub(const struct pl_proj *p, const char *iri);

/*
 * Writes term i of `p` back in the language: names[i], then "{...}" with its sub-projection
 * (its terms joined by ','). `name` maps each attribute IRI to the text to write (NULL: as is;
 * it returns a NEW malloc'd string or NULL for out of memory); "id", "type" and "scope" are
 * written as they are. Returns a NEW malloc'd string (free()) or NULL when out of memory.
 * pl_proj_parse of the result (with the context `name` compacted for) gives `p` back.
 */
char *pl_proj_format_term(const struct pl_proj *p, size_t i,
                          char *(*name)(void *ud, const char *iri), void *ud);

/* 1 when `p` lists "id", "type" or "scope". */
int pl_proj_has_member(const struct pl_proj *p);

#endif
