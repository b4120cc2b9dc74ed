/* SPDX-License-Identifier: Apache-2.0 */
/*
 * geoq_geos.c — the relations of 4.10 between two line or polygon geometries, and the nearest
 * point of one, by GEOS: the library SpatiaLite itself calls for ST_Within, ST_Contains,
 * ST_Overlaps, ST_Equals, so the in-memory evaluator (subscriptions, the temporal API) and the
 * SQL path agree on every pair. Each call has its own GEOS context (contexts are not shared
 * between threads); it is only taken for pairs the exact code of geoq.c does not decide.
 */
#include <geos_c.h>
#include <stdlib.h>

#include "query/geoq_int.h"

/* A GEOS geometry from GeoJSON (NULL on failure). */
static GEOSGeometry *read_geometry(GEOSContextHandle_t h, const json_t *g)
{
    char *text = json_dumps(g, JSON_COMPACT);
    if (!text)
        return NULL;
    GEOSGeometry *out = NULL;
    GEOSGeoJSONReader *rd = GEOSGeoJSONReader_create_r(h);
    if (rd) {
        out = GEOSGeoJSONReader_readGeometry_r(h, rd, text);
        GEOSGeoJSONReader_destroy_r(h, rd);
    }
    free(text);
    return out;
}

int pl_geoq__geos_relate(enum pl_georel rel, const json_t *entity, const json_t *query)
{
    GEOSContextHandle_t h = GEOS_init_r();
    if (!h)
        return -1;
    GEOSGeometry *a = read_geometry(h, entity);
    GEOSGeometry *b = a ? read_geometry(h, query) : NULL;
    char r = 2;
    if (a && b) {
        switch (rel) {
        case PL_GEOREL_WITHIN:
            r = GEOSWithin_r(h, a, b);
            break;
        case PL_GEOREL_CONTAINS:
            r = GEOSContains_r(h, a, b);
            break;
        case PL_GEOREL_INTERSECTS:
            r = GEOSIntersects_r(h, a, b);
            break;
        case PL_GEOREL_DISJOINT:
            r = GEOSDisjoint_r(h, a, b);
            break;
        case PL_GEOREL_OVERLAPS:
            r = GEOSOverlaps_r(h, a, b);
            break;
        case PL_GEOREL_EQUALS:
            r = GEOSEquals_r(h, a, b);
            break;
        case PL_GEOREL_NEAR:
            break;
        }
    }
    if (b)
        GEOSGeom_destroy_r(h, b);
    if (a)
        GEOSGeom_destroy_r(h, a);
    GEOS_finish_r(h);
    return r == 0 || r == 1 ? r : -1;
}

/* The nearest points of a and b into out[0..3] (x, y of a's, then b's). 0 or -1. */
static int nearest(GEOSContextHandle_t h, const GEOSGeometry *a, const GEOSGeometry *b,
                   double out[4])
{
    GEOSCoordSequence *s = GEOSNearestPoints_r(h, a, b);
    int ok = s && GEOSCoordSeq_getXY_r(h, s, 0, &out[0], &out[1]) &&
             GEOSCoordSeq_getXY_r(h, s, 1, &out[2], &out[3]);
    if (s)
        GEOSCoordSeq_destroy_r(h, s);
    return ok ? 0 : -1;
}

int pl_geoq__geos_nearest(const json_t *entity, double lon, double lat, double *x, double *y)
{
    GEOSContextHandle_t h = GEOS_init_r();
    if (!h)
        return -1;
    GEOSGeometry *a = read_geometry(h, entity);
    GEOSGeometry *p = a ? GEOSGeom_createPointFromXY_r(h, lon, lat) : NULL;
    double c[4];
    int rc = p ? nearest(h, a, p, c) : -1;
    if (rc == 0) {
        *x = c[0];
        *y = c[1];
    }
    if (p)
        GEOSGeom_destroy_r(h, p);
    if (a)
        GEOSGeom_destroy_r(h, a);
    GEOS_finish_r(h);
    return rc;
}

int pl_geoq__geos_nearest_pair(const json_t *a, const json_t *b, double out[4])
{
    GEOSContextHandle_t h = GEOS_init_r();
    if (!h)
        return -1;
    GEOSGeometry *ga = read_geometry(h, a);
    GEOSGeometry *gb = ga ? read_geometry(h, b) : NULL;
    int rc = gb ? nearest(h, ga, gb, out) : -1;
    if (gb)
        GEOSGeom_destroy_r(h, gb);
    if (ga)
        GEOSGeom_destroy_r(h, ga);
    GEOS_finish_r(h);
    return rc;
}
