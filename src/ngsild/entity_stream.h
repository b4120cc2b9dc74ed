/* SPDX-License-Identifier: Apache-2.0 */
/*
 * entity_stream.h — the fast read path: renders a stored entity straight from its JSON TEXT
 * (the internal form as the store keeps it, see entity.h) to response text, with no jansson
 * tree and no malloc per member (compacted names come from pl_ctx_compact_borrowed; values are
 * copied as text slices).
 *
 * Covers what GET /entities/{id} asks for most: normalized, keyValues and concise, with or
 * without sysAttrs, with or without an attrs filter. The contract is that the output, once
 * parsed, is json_equal to what pl_entity_render gives for the same stored entity and options
 * (tests/unit/ngsild/test_entity_stream.c, fuzz/entity_stream.c). Anything it does not cover
 * (pick/omit/lang, unusual stored shapes, names that would collide after compaction) makes it
 * answer PL_ENTITY_STREAM_FALLBACK, and the caller uses the tree path instead.
 *
 * Pure logic, no I/O; reentrant: any thread, any number at once.
 */
#ifndef PL_NGSILD_ENTITY_STREAM_H
#define PL_NGSILD_ENTITY_STREAM_H

#include <stddef.h>

#include "base/err.h"
#include "base/strbuf.h"
#include "ngsild/context.h"
#include "ngsild/entity.h"

/* Returned (positive) when the fast path does not handle this entity or these options. */
#define PL_ENTITY_STREAM_FALLBACK 1

/*
 * Renders the stored internal form `body` (`len` bytes of JSON text, borrowed, need not be
 * NUL-terminated) with `ctx` and options `o` (NULL: normalized, no sysAttrs), APPENDING the
 * compacted entity as one JSON object to `out` (no "@context": the api layer adds it, as for
 * pl_entity_render). The object is the last thing appended, so a caller may reopen it.
 *
 * Returns:
 *   0                          `out` holds the entity;
 *   PL_ENTITY_STREAM_FALLBACK  not handled here (pick/omit/lang set, or a stored shape this
 *                              path leaves to pl_entity_render); nothing useful in `out`;
 *   PL_EINTERNAL               `body` is not well-formed JSON or not an object (words in *err);
 *   PL_ENOMEM.
 * On any non-zero return `out` may hold partial text: the caller resets or disposes it.
 * Never reads outside body[0..len); nesting deeper than 512 levels is refused as malformed.
 */
int pl_entity_stream_render(const struct pl_ctx *ctx, const char *body, size_t len,
                            const struct pl_render_opts *o, struct pl_strbuf *out,
                            struct pl_err *err);

#endif
