/* SPDX-License-Identifier: Apache-2.0 */
/*
 * readscope.h — the read rule of issue 12 (auth/read.h) as the API readers apply it: the
 * request's read scope, the query checks, and the discovery filters.
 */
#ifndef PL_API_READSCOPE_H
#define PL_API_READSCOPE_H

#include <jansson.h>
#include <stddef.h>

#include "auth/read.h"
#include "http/http.h"

struct pl_q_node;

/* The request's read scope, or NULL when it reads everything of its tenant (auth off, admin,
 * operator, agency): the readers then take their usual paths unchanged. Made anew by each call
 * (released with the request): call it once per handler. Out of memory: a scope that reads
 * nothing (never one that reads everything). */
const struct pl_read_scope *pl_api_read_scope(struct pl_req *r);

/* A query may not filter on an attribute private for some type (q, the geo-query's
 * geoproperty): that would reveal its values. Returns 0, or -1 after answering 403. */
int pl_api_read_query_or_reply(struct pl_req *r, const struct pl_read_scope *rs,
                               const struct pl_q_node *q, const char *geo_attr);

/* The entity filter "has one of these attributes" without the names private for some type (a
 * request-owned copy in *attrs). Returns the number left. */
size_t pl_api_read_attrs_filter(struct pl_req *r, const struct pl_read_scope *rs,
                                const char *const **attrs, size_t n);

/* Discovery (the store's PL_DISCOVER_TYPES records, borrowed): a NEW array of the records of
 * the readable types, without their private attributes. */
json_t *pl_api_read_types(const struct pl_read_scope *rs, const json_t *types);
/* The PL_DISCOVER_ATTRS records computed from the readable types' records (NEW array): an
 * attribute's count is the sum of its counts over the readable types. */
json_t *pl_api_read_attrs(const struct pl_read_scope *rs, const json_t *types);

#endif
