/* SPDX-License-Identifier: Apache-2.0 */
/*
 * order.h — NGSI-LD Entity Ordering (clause 4.23 of GS CIM 009 V1.9.1): the orderBy language,
 * collation (ICU, RFC 6067 tags), orderFrom / orderGeometry, and the sort of entities in the
 * INTERNAL FORM (ngsild/entity.h). Pure logic, no I/O (ICU and GEOS are libraries).
 *
 *   orderBy   = Term *("," Term)             applied in turn: the second breaks ties of the first
 *   Term      = Member / Path [";" Dir]      Dir = asc (default) / desc / dist-asc / dist-desc
 *   Member    = "id" / "type" / "scope" / "createdAt" / "modifiedAt"    (the entity's own)
 *   Path      = a q path (4.9, query/q.h): Name *("." Name) ["[" trail "]"], e.g. name,
 *               address[city], temperature.observedAt, speed.accuracy
 *
 * The value of a Path in an entity: the attribute's default instance (the one without a
 * datasetId; else its first instance), then each further name its sub-attribute (or, last,
 * one of the members observedAt, createdAt, modifiedAt, unitCode, datasetId), then the
 * instance's payload (value, object, languageMap, vocab, json, valueList, objectList) walked
 * by the trail. Values compare by the class order of 4.23.2, then within their class:
 *   Number < String < Object < Array < Boolean < Time < Date < DateTime < Null < absent
 * numbers numerically, strings by the collation (ICU root, "und-x-icu", by default), Date and
 * Time ({"@type":"Date"|"Time"}) as text, DateTime ({"@type":"DateTime"}, observedAt, ...) by
 * instant, objects and arrays by their canonical JSON text, false < true. Plain strings that
 * look like DateTimes are strings. `id` compares byte-wise (URIs, not text), `type` the first
 * type IRI, `scope` the first scope (both by the collation).
 * desc reverses everything but Null and absent, which stay last.
 * dist-asc / dist-desc (GeoProperty only): the Haversine distance (4.23.1; mean earth radius)
 * between the nearest points of the attribute's geometry and the orderFrom geometry (planar
 * nearest points by GEOS for non-Point pairs); entities whose attribute is not a GeoProperty
 * come after, by value as above; absent last.
 * Ties after every term are broken by id (byte order), so pages of one order never overlap.
 *
 * Errors (PL_EBADREQUESTDATA, 5.7.2.4): an empty term, an unknown direction, a path q does
 * not parse, a member with a dist-* direction or a trail, dist-* without orderFrom, an invalid
 * orderFrom / orderGeometry (as the geo-query coordinates of 4.10), a collation that is not a
 * valid BCP 47 / ICU locale.
 */
#ifndef PL_QUERY_ORDER_H
#define PL_QUERY_ORDER_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "ngsild/context.h"

struct pl_order;

/*
 * Parses the ordering parameters (each NULL when absent; orderBy required). Returns 0 and a NEW
 * object in *out (pl_order_free), or PL_EBADREQUESTDATA / PL_ENOMEM with a detail naming the
 * parameter.
 */
int pl_order_parse(const char *order_by, const char *collation, const char *order_from,
                   const char *order_geometry, struct pl_order **out, struct pl_err *err);
/* Expands the attribute names with `ctx`. Returns 0 or PL_EBADREQUESTDATA. */
int pl_order_resolve(struct pl_order *o, const struct pl_ctx *ctx, struct pl_err *err);
void pl_order_free(struct pl_order *o); /* NULL is a no-op */

/* 1 when the only term is the entity id (the temporal API orders by id only, 6.18.3.2); sets
 * *desc. */
int pl_order_is_id_only(const struct pl_order *o, int *desc);

/* One entity to sort: the internal form (borrowed) and the caller's payload. */
struct pl_order_item {
    const json_t *entity;
    void *ud;
};

/* Sorts `items` in place. Returns 0, or PL_ENOMEM (the order of items is then unspecified). */
int pl_order_sort(const struct pl_order *o, struct pl_order_item *items, size_t n);

#endif
