/* SPDX-License-Identifier: Apache-2.0 */
/*
 * geojson.c — validation of GeoJSON geometries (RFC 7946) as NGSI-LD GeoProperty values
 * (4.7.1). Checks shape only: type names, nesting of coordinate arrays, position arity and
 * WGS84 ranges, LineString length and closed Polygon rings. It does not check self-intersection
 * or ring orientation (RFC 7946 3.1.6 makes orientation a SHOULD for producers only).
 */
#include <math.h>
#include <string.h>

#include "ngsild/entity.h"
#include "ngsild/entity_int.h"

/* A GeometryCollection inside a GeometryCollection is allowed (RFC 7946 3.1.8 says SHOULD
 * avoid), but only this deep. */
#define GEO_MAX_NEST 4

static const char *const geo_types[] = {"Point",      "MultiPoint",   "LineString",
                                        "MultiLineString", "Polygon", "MultiPolygon",
                                        "GeometryCollection"};

static int geo_type_index(const char *t)
{
    for (size_t i = 0; i < sizeof geo_types / sizeof geo_types[0]; i++) {
        if (strcmp(t, geo_types[i]) == 0)
            return (int)i;
    }
    return -1;
}

int pl_entity__is_geo_type(const char *t)
{
    return t && geo_type_index(t) >= 0;
}

int pl_entity__looks_geometry(const json_t *v)
{
    if (!json_is_object(v))
        return 0;
    const char *t = json_string_value(json_object_get(v, "type"));
    if (!t)
        return 0;
    int i = geo_type_index(t);
    if (i < 0)
        return 0;
    if (i == 6)
        return json_object_get(v, "geometries") != NULL;
    return json_object_get(v, "coordinates") != NULL;
}

/* RFC 7946 3.1.1: two or three numbers; longitude, latitude in WGS84 ranges. */
static int check_position(const json_t *p, struct pl_err *err)
{
    if (!json_is_array(p) || json_array_size(p) < 2 || json_array_size(p) > 3)
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "GeoJSON position must be an array of 2 or 3 numbers");
    for (size_t i = 0; i < json_array_size(p); i++) {
        const json_t *n = json_array_get(p, i);
        if (!json_is_number(n) || !isfinite(json_number_value(n)))
            return pl_err_set(err, PL_EBADREQUESTDATA, "GeoJSON position member is not a number");
    }
    double lon = json_number_value(json_array_get(p, 0));
    double lat = json_number_value(json_array_get(p, 1));
    if (lon < -180.0 || lon > 180.0)
        return pl_err_set(err, PL_EBADREQUESTDATA, "GeoJSON longitude %g out of [-180,180]", lon);
    if (lat < -90.0 || lat > 90.0)
        return pl_err_set(err, PL_EBADREQUESTDATA, "GeoJSON latitude %g out of [-90,90]", lat);
    return 0;
}

/* An array of at least `min` positions. */
static int check_positions(const json_t *a, size_t min, const char *what, struct pl_err *err)
{
    if (!json_is_array(a))
        return pl_err_set(err, PL_EBADREQUESTDATA, "GeoJSON %s must be an array of positions",
                          what);
    if (json_array_size(a) < min)
        return pl_err_set(err, PL_EBADREQUESTDATA, "GeoJSON %s needs at least %zu positions",
                          what, min);
    for (size_t i = 0; i < json_array_size(a); i++) {
        int rc = check_position(json_array_get(a, i), err);
        if (rc)
            return rc;
    }
    return 0;
}

/* RFC 7946 3.1.6: a linear ring is closed, with >= 4 positions. */
static int check_polygon(const json_t *rings, struct pl_err *err)
{
    if (!json_is_array(rings) || json_array_size(rings) == 0)
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "GeoJSON Polygon coordinates must be a non-empty array of rings");
    for (size_t i = 0; i < json_array_size(rings); i++) {
        const json_t *r = json_array_get(rings, i);
        int rc = check_positions(r, 4, "linear ring", err);
        if (rc)
            return rc;
        if (!json_equal(json_array_get(r, 0), json_array_get(r, json_array_size(r) - 1)))
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "GeoJSON linear ring is not closed (first != last position)");
    }
    return 0;
}

static int check_list(const json_t *a, const char *what, struct pl_err *err)
{
    if (!json_is_array(a) || json_array_size(a) == 0)
        return pl_err_set(err, PL_EBADREQUESTDATA, "GeoJSON %s coordinates must be a non-empty "
                          "array", what);
    return 0;
}

static int validate(const json_t *g, int nest, struct pl_err *err)
{
    if (!json_is_object(g))
        return pl_err_set(err, PL_EBADREQUESTDATA, "GeoJSON geometry must be an object");
    const char *t = json_string_value(json_object_get(g, "type"));
    int kind = t ? geo_type_index(t) : -1;
    if (kind < 0)
        return pl_err_set(err, PL_EBADREQUESTDATA, "GeoJSON geometry type %s%s%s is not supported",
                          t ? "'" : "", t ? t : "missing", t ? "'" : "");
    const json_t *c = json_object_get(g, "coordinates");
    if (kind != 6 && !c)
        return pl_err_set(err, PL_EBADREQUESTDATA, "GeoJSON %s lacks \"coordinates\"", t);
    int rc = 0;
    switch (kind) {
    case 0: /* Point */
        return check_position(c, err);
    case 1: /* MultiPoint */
        return check_positions(c, 1, "MultiPoint", err);
    case 2: /* LineString: RFC 7946 3.1.4, two or more positions */
        return check_positions(c, 2, "LineString", err);
    case 3: /* MultiLineString */
        if ((rc = check_list(c, t, err)) != 0)
            return rc;
        for (size_t i = 0; i < json_array_size(c); i++) {
            if ((rc = check_positions(json_array_get(c, i), 2, "LineString", err)) != 0)
                return rc;
        }
        return 0;
    case 4: /* Polygon */
        return check_polygon(c, err);
    case 5: /* MultiPolygon */
        if ((rc = check_list(c, t, err)) != 0)
            return rc;
        for (size_t i = 0; i < json_array_size(c); i++) {
            if ((rc = check_polygon(json_array_get(c, i), err)) != 0)
                return rc;
        }
        return 0;
    default: { /* GeometryCollection: RFC 7946 3.1.8 */
        const json_t *gs = json_object_get(g, "geometries");
        if (c)
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "GeoJSON GeometryCollection must not have \"coordinates\"");
        if (!json_is_array(gs))
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "GeoJSON GeometryCollection needs a \"geometries\" array");
        if (nest >= GEO_MAX_NEST)
            return pl_err_set(err, PL_EBADREQUESTDATA, "GeoJSON GeometryCollection nested too "
                              "deeply");
        for (size_t i = 0; i < json_array_size(gs); i++) {
            if ((rc = validate(json_array_get(gs, i), nest + 1, err)) != 0)
                return rc;
        }
        return 0;
    }
    }
}

int pl_geojson_validate(const json_t *geom, struct pl_err *err)
{
    return validate(geom, 0, err);
}
