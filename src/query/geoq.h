/* SPDX-License-Identifier: Apache-2.0 */
/*
 * geoq.h — NGSI-LD geo-queries (V1.9.1 clause 4.10; HTTP parameters georel, geometry,
 * coordinates, geoproperty of 6.4.3.2 / 5.7.2; the GeoQuery data type of 5.2.13).
 *
 * Pure logic, no I/O: parse and validate a geo-query, geodesic helpers for the store's R*Tree
 * prefilter, and an in-memory evaluator (subscriptions, backends without native geometry, and
 * tests).
 *
 * Conventions the store must follow to agree with the evaluator:
 *  - Coordinates are GeoJSON positions: [longitude, latitude(, altitude ignored)], WGS84.
 *  - within / contains / intersects / disjoint / equals / overlaps are the OGC Simple Features
 *    (DE-9IM) predicates evaluated PLANAR in lon/lat degrees (as SpatiaLite's ST_Within etc. on
 *    SRID 4326 geometries). The entity's geometry is the FIRST argument:
 *        within   -> ST_Within(entity, query)      contains -> ST_Contains(entity, query)
 *    A point on a polygon's boundary is NOT within it (and the polygon does not contain it),
 *    but it intersects it. Polygons crossing the antimeridian are not special-cased.
 *  - near: distances are geodesic on the WGS84 ellipsoid, in metres, and the distance of a
 *    geometry to the query point is the smallest one over its points (OGC Distance, as
 *    SpatiaLite's ST_Distance(g, p, 1)): maxDistance==d matches when distance <= d,
 *    minDistance==d when distance >= d (d itself matches, as MongoDB's $minDistance). For Point
 *    entities this is exactly 4.10's "within / disjoint with the buffer"; for larger geometries
 *    4.10 read literally would bound the farthest point for maxDistance: we do not.
 */
#ifndef PL_QUERY_GEOQ_H
#define PL_QUERY_GEOQ_H

#include <jansson.h>

#include "base/err.h"

/* The NGSI-LD core IRI of the default GeoProperty "location" (4.7.1). */
#define PL_GEOQ_LOCATION_IRI "https://uri.etsi.org/ngsi-ld/location"

enum pl_georel {
    PL_GEOREL_NEAR,
    PL_GEOREL_WITHIN,
    PL_GEOREL_CONTAINS,
    PL_GEOREL_INTERSECTS,
    PL_GEOREL_OVERLAPS,
    PL_GEOREL_DISJOINT,
    PL_GEOREL_EQUALS
};

struct pl_geoq {
    enum pl_georel rel;
    double max_distance, min_distance; /* near only; metres; < 0 when absent (at least one
                                          present for near) */
    json_t *geometry;                  /* the query geometry as a validated GeoJSON object
                                          {"type":..,"coordinates":..} (owned) */
    char *geoproperty; /* attribute name as given (default "location"); the caller expands it */
    double bbox[4];    /* minx, miny, maxx, maxy of `geometry` */
};

/* The name of a relation as in the grammar ("near", "within", ...). */
const char *pl_georel_name(enum pl_georel rel);

/*
 * From the HTTP query parameters (each NULL when absent; coordinates already percent-decoded).
 * georel, geometry and coordinates are required together; when all three are absent there is
 * no geo-query: returns 0 with *out = NULL (a lone geoproperty is then ignored).
 *
 *   georel      the 4.10 grammar: near;maxDistance==N | near;minDistance==N | within |
 *               contains | intersects | overlaps | disjoint | equals. N is a JSON number
 *               without sign, not zero ("PositiveNumber"). As an extension both modifiers may
 *               be given, each once, in either order: near;minDistance==10;maxDistance==500.
 *   geometry    Point, MultiPoint, LineString, MultiLineString, Polygon or MultiPolygon
 *               (not GeometryCollection). near requires a Point.
 *   coordinates the JSON text of the coordinates array; validated with pl_geojson_validate.
 *   geoproperty an attribute name (4.6.2) or an IRI; default "location".
 *
 * Returns 0 and *out (free with pl_geoq_free), or PL_EBADREQUESTDATA with a detail naming the
 * parameter, the position (0-based byte offset in that parameter) and the offending token,
 * e.g. "georel: expected '==' at position 16, found '=2000'". PL_ENOMEM when out of memory.
 */
int pl_geoq_parse(const char *georel, const char *geometry, const char *coordinates,
                  const char *geoproperty, struct pl_geoq **out, struct pl_err *err);

/*
 * From a GeoQuery JSON object (5.2.13: POST /entityOperations/query "geoQ", subscriptions'
 * "geoQ"): members "georel", "geometry", "coordinates" (a JSON array, or a string holding the
 * JSON array text), optional "geoproperty" (string). Other members are ignored. `geoq` is
 * borrowed. Errors as pl_geoq_parse, with the member named as "geoQ.<member>".
 */
int pl_geoq_from_json(const json_t *geoq, struct pl_geoq **out, struct pl_err *err);

/* A GeoQuery JSON object (5.2.13) for `q`: {"georel","geometry","coordinates","geoproperty"}
 * (coordinates as an array). NEW reference, NULL when out of memory. Round-trips through
 * pl_geoq_from_json. */
json_t *pl_geoq_to_json(const struct pl_geoq *q);

void pl_geoq_free(struct pl_geoq *q);

/*
 * Geodesic distance in metres on the WGS84 ellipsoid between two lon/lat points (degrees):
 * Vincenty's inverse formula (1975); nearly antipodal pairs for which it does not converge are
 * solved by minimising the sum of two converging Vincenty legs through an intermediate point.
 * Accurate to well under a millimetre where Vincenty converges, to a few millimetres otherwise.
 */
double pl_geodesic_distance(double lon1, double lat1, double lon2, double lat2);

/*
 * A bounding box (degrees: minx, miny, maxx, maxy) containing every point within `metres`
 * (geodesic) of lon/lat, for an R*Tree prefilter. Conservative: it may be wider, never
 * narrower. When the circle reaches a pole, longitude spans [-180,180]; when it crosses the
 * antimeridian, longitude also spans [-180,180] (see pl_geo_bbox_around_split for two boxes).
 */
void pl_geo_bbox_around(double lon, double lat, double metres, double out[4]);

/* As pl_geo_bbox_around, but a circle crossing the antimeridian gives two boxes, one on each
 * side (out[0] east of -180, out[1] west of 180). Returns the number of boxes (1 or 2). */
int pl_geo_bbox_around_split(double lon, double lat, double metres, double out[2][4]);

/*
 * In-memory evaluation against ONE entity geometry (a GeoJSON geometry object, borrowed):
 * 1 match, 0 no match, -1 cannot evaluate (GeometryCollection entity geometries, or GEOS
 * failing on a geometry).
 *
 * Point and MultiPoint geometries (either side), intersects and disjoint, and disjoint
 * bounding boxes are decided here exactly (planar; point-in-polygon with holes, the mod-2
 * boundary rule of lines). within / contains / overlaps / equals between two line or polygon
 * geometries go to GEOS (query/geoq_geos.c), the library behind SpatiaLite's ST_ functions, so
 * the SQL path and this evaluator agree on every pair of the six types. near with a line or
 * polygon entity: distance 0 on or inside it, else the geodesic distance to its planar nearest
 * point (GEOS). An entity geometry that is not valid GeoJSON gives 0.
 */
int pl_geoq_match_geometry(const struct pl_geoq *q, const json_t *entity_geometry);

/*
 * Whole-entity evaluation: the entity (internal form, ngsild/entity.h, borrowed) matches when
 * ANY instance of the attribute `geoproperty_iri` (the expanded q->geoproperty; NULL means
 * PL_GEOQ_LOCATION_IRI) that is a GeoProperty matches. Returns 1; else -1 when some instance
 * could not be evaluated; else 0 (also when the entity lacks the attribute: 4.10 makes such
 * entities non-matching, for every relation including disjoint).
 */
int pl_geoq_match(const struct pl_geoq *q, const char *geoproperty_iri, const json_t *entity);

#endif
