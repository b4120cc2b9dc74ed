/* SPDX-License-Identifier: Apache-2.0 */
/*
 * query_int.h — the query request of api/query.c, shared with the temporal handlers
 * (api/temporal.c), which select entities with the same parameters (5.7.4: "similar to Query
 * Entities with the addition of a temporal query").
 */
#ifndef PL_API_QUERY_INT_H
#define PL_API_QUERY_INT_H

#include <regex.h>

#include "api/api.h"
#include "api/linked.h"
#include "ngsild/entity.h"
#include "store/store.h"

/* Everything a query request owns; released with the request. */
struct qreq {
    struct pl_store_query sq;
    struct pl_render_opts o;
    struct pl_linked v; /* projections and Linked Entity Retrieval */
    struct pl_ctx *ctx;
    const char *geometry_property; /* expanded, GeoJSON output */
    regex_t id_re;
    int has_re;
    struct pl_store_selector *sels;
    regex_t *sel_res; /* sels[i].id_regex points at sel_res[i] when set */
    size_t n_sel_res; /* entries of sels and sel_res */
    struct pl_order *order; /* orderBy (4.23), NULL when absent */
};

/* A new request state, released with the request (NULL after answering). */
struct qreq *pl_api__qreq_new(struct pl_req *r);
/* Reads run in an existing tenant only (5.5.10). 0 or -1 (answered). */
int pl_api__tenant_or_reply(struct pl_req *r);
/* GET /entities parameters (paging, representation, filters) into x; x->ctx must be set. */
int pl_api__query_get_or_reply(struct pl_req *r, struct qreq *x, int *local);
/* URL parameters plus the members of a Query body (POST /entityOperations/query). */
int pl_api__query_post_or_reply(struct pl_req *r, struct qreq *x, const json_t *body, int *local);
/* 5.7.2.4 / 5.7.4.4 too-wide rule. */
int pl_api__too_wide_or_reply(struct pl_req *r, const struct qreq *x, int local);
/* orderBy pages reach at most this deep (offset + limit; deeper: TooManyResults); any number
 * of matches is ordered. */
#define PL_API_ORDER_MAX 10000

/* Link: <...offset=N&limit=L>; rel="next"/"prev". */
void pl_api__add_page_link(struct pl_req *r, int64_t offset, int64_t limit, const char *rel);

#endif
