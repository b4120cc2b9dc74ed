/* SPDX-License-Identifier: Apache-2.0 */
/*
 * qvalues.h — expandValues and jsonKeys of Query Entities (6.4.3.2, 5.7.2.4: "if a list of
 * Attribute names whose values shall be expanded to URIs has been supplied, JSON-LD type
 * coercion shall be performed" before the query runs).
 *
 * For every term of a resolved q whose attribute (the first path name) is listed in
 * expandValues and not in jsonKeys, each STRING literal (quoted or a bare word) is replaced by
 * its expansion with the request's @context (a term, a compact IRI, or the default vocabulary);
 * URI, number, boolean and DateTime literals are left alone. jsonKeys names attributes whose
 * values are plain JSON and are never expanded, even when expandValues lists them.
 *
 * Pure logic, no I/O.
 */
#ifndef PL_QUERY_QVALUES_H
#define PL_QUERY_QVALUES_H

#include <stddef.h>

#include "base/err.h"
#include "ngsild/context.h"
#include "query/q.h"

/* `expand` / `json_keys`: expanded attribute IRIs (n may be 0). Modifies the literals of `n` in
 * place. Returns 0 or PL_ENOMEM. */
int pl_q_expand_values(struct pl_q_node *n, const struct pl_ctx *ctx, const char *const *expand,
                       size_t n_expand, const char *const *json_keys, size_t n_json_keys,
                       struct pl_err *err);

#endif
