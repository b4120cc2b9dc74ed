/* SPDX-License-Identifier: Apache-2.0 */
/* geoq_int.h — internals of the geo-query module shared between its files. */
#ifndef PL_QUERY_GEOQ_INT_H
#define PL_QUERY_GEOQ_INT_H

#include <jansson.h>

#include "query/geoq.h"

/*
 * The OGC relation `rel` (not near) between two valid GeoJSON geometries (borrowed), computed by
 * GEOS exactly as SpatiaLite's ST_Within etc. (planar, lon/lat): rel(entity, query). Returns
 * 1 or 0, -1 when GEOS cannot read a geometry or runs out of memory (geoq_geos.c).
 */
int pl_geoq__geos_relate(enum pl_georel rel, const json_t *entity, const json_t *query);

/*
 * The point of `entity` (a valid GeoJSON geometry, borrowed) nearest to lon/lat in the plane
 * (0 inside a polygon): returns 0 and its coordinates, -1 when GEOS fails.
 */
int pl_geoq__geos_nearest(const json_t *entity, double lon, double lat, double *x, double *y);

/* The nearest points (planar) of two valid GeoJSON geometries: out = {ax, ay, bx, by}.
 * Returns 0, or -1 when GEOS fails (order.c: distances of orderFrom). */
int pl_geoq__geos_nearest_pair(const json_t *a, const json_t *b, double out[4]);

#endif
