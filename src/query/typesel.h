/* SPDX-License-Identifier: Apache-2.0 */
/*
 * typesel.h — the NGSI-LD Entity Type Selection Language (clause 4.17 of GS CIM 009 V1.9.1).
 *
 *   Or      = And *(("|" / ",") And)
 *   And     = Primary *(";" Primary)      (4.17 wants "(A;B)"; "A;B" is accepted too)
 *   Primary = "(" Or ")" / Name           (any nesting up to PL_Q_MAX_DEPTH; spaces skipped)
 *   Name    = 1*(byte > 0x20 except , ; | ( ) and DEL): a 4.6.2 name (pl_is_valid_name, not
 *             starting with '@') or, when it contains ':', a URI / compact IRI (pl_is_uri).
 *             URIs holding , ; ( ) are not expressible (4.17 NOTE recommends short names).
 * Nested AND/AND and OR/OR are flattened; a group of one is its member.
 * Errors: PL_EBADREQUESTDATA "type: at position N: <why> '<token>'".
 * Matching: NAME = the entity's "type" array (or string) holds name_iri (name before
 * pl_typesel_resolve) exactly; AND all; OR any.
 */
#ifndef PL_QUERY_TYPESEL_H
#define PL_QUERY_TYPESEL_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "ngsild/context.h"

enum pl_typesel_kind { PL_TS_AND, PL_TS_OR, PL_TS_NAME };

struct pl_typesel {
    enum pl_typesel_kind kind;
    struct pl_typesel **kids; /* AND/OR: n_kids >= 2 */
    size_t n_kids;
    char *name;     /* NAME: as written */
    char *name_iri; /* NAME: expanded by pl_typesel_resolve; NULL before */
    size_t pos;     /* byte offset in the text */
};

/* Returns 0 and a NEW tree in *out (pl_typesel_free), or PL_EBADREQUESTDATA / PL_ENOMEM. */
int pl_typesel_parse(const char *text, struct pl_typesel **out, struct pl_err *err);
void pl_typesel_free(struct pl_typesel *n); /* NULL is a no-op */
/* Expands every name with pl_ctx_expand. Returns 0 or PL_EBADREQUESTDATA. */
int pl_typesel_resolve(struct pl_typesel *n, const struct pl_ctx *ctx, struct pl_err *err);
/* 1 when the entity types (a JSON array of IRIs, or one string) satisfy the expression. */
int pl_typesel_match(const struct pl_typesel *n, const json_t *types);
/* When the expression is one name or a plain OR of names, returns how many and stores the
 * first min(count, cap) names (name_iri, or name when unresolved; borrowed from the tree) in
 * out[]; returns 0 otherwise (an AND anywhere). */
size_t pl_typesel_or_names(const struct pl_typesel *n, const char **out, size_t cap);

#endif
