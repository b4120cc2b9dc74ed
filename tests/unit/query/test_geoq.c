/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_geoq.c — query/geoq.c: the 4.10 georel grammar and parameter errors, the GeoQuery JSON
 * form (5.2.13), Vincenty distances against known values, conservative bounding boxes around
 * a circle, and the relations (argument order of within / contains, holes, boundaries).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "query/geoq.h"

static json_t *tj(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad JSON in test: %s (%s)", s, e.text);
    return v;
}

static struct pl_geoq *ok(const char *rel, const char *geom, const char *coords, const char *gp)
{
    struct pl_geoq *q = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_geoq_parse(rel, geom, coords, gp, &q, &err);
    if (rc != 0 || !q)
        fail_msg("parse of %s %s %s failed: %s", rel, geom, coords, err.detail);
    return q;
}

/* Parses expecting BadRequestData whose detail contains every one of the NULL-terminated
 * fragments. */
static void bad(const char *rel, const char *geom, const char *coords, const char *gp, ...)
{
    struct pl_geoq *q = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_geoq_parse(rel, geom, coords, gp, &q, &err);
    if (rc != PL_EBADREQUESTDATA)
        fail_msg("expected BadRequestData for georel=%s geometry=%s coordinates=%s (rc %d)", rel,
                 geom, coords, rc);
    assert_null(q);
    va_list ap;
    va_start(ap, gp);
    const char *frag;
    while ((frag = va_arg(ap, const char *)) != NULL) {
        if (!strstr(err.detail, frag))
            fail_msg("detail \"%s\" lacks \"%s\"", err.detail, frag);
    }
    va_end(ap);
}

/* ------------------------------------------------------------------------------------------ */

static void parse_near_forms_of_4_10(void **st)
{
    (void)st;
    struct pl_geoq *q = ok("near;maxDistance==2000", "Point", "[8,40]", "observationSpace");
    assert_int_equal(q->rel, PL_GEOREL_NEAR);
    assert_true(q->max_distance == 2000.0);
    assert_true(q->min_distance < 0);
    assert_string_equal(q->geoproperty, "observationSpace");
    assert_true(q->bbox[0] == 8 && q->bbox[1] == 40 && q->bbox[2] == 8 && q->bbox[3] == 40);
    assert_string_equal(json_string_value(json_object_get(q->geometry, "type")), "Point");
    pl_geoq_free(q);

    q = ok("near;minDistance==10.5", "Point", "[8,40]", NULL);
    assert_true(q->min_distance == 10.5 && q->max_distance < 0);
    assert_string_equal(q->geoproperty, "location");
    pl_geoq_free(q);

    /* extension: both modifiers, either order */
    q = ok("near;minDistance==10;maxDistance==5e2", "Point", "[8,40]", NULL);
    assert_true(q->min_distance == 10.0 && q->max_distance == 500.0);
    pl_geoq_free(q);
    q = ok("near;maxDistance==500;minDistance==0.25", "Point", "[8,40]", NULL);
    assert_true(q->min_distance == 0.25 && q->max_distance == 500.0);
    pl_geoq_free(q);
}

static void parse_other_relations_and_geometries(void **st)
{
    (void)st;
    static const char *const rels[] = {"within",   "contains", "intersects",
                                       "overlaps", "disjoint", "equals"};
    static const enum pl_georel want[] = {PL_GEOREL_WITHIN,     PL_GEOREL_CONTAINS,
                                          PL_GEOREL_INTERSECTS, PL_GEOREL_OVERLAPS,
                                          PL_GEOREL_DISJOINT,   PL_GEOREL_EQUALS};
    for (size_t i = 0; i < 6; i++) {
        /* EXAMPLE 2 of 4.10, with its blank */
        struct pl_geoq *q =
            ok(rels[i], "Polygon",
               "[[[100.0,0.0],[101.0,0.0],[101.0,1.0],[100.0,1.0], [100.0,0.0]]]", "location");
        assert_int_equal(q->rel, want[i]);
        assert_string_equal(pl_georel_name(q->rel), rels[i]);
        assert_true(q->bbox[0] == 100 && q->bbox[1] == 0 && q->bbox[2] == 101 && q->bbox[3] == 1);
        pl_geoq_free(q);
    }
    pl_geoq_free(ok("intersects", "MultiPoint", "[[1,2],[3,4]]", NULL));
    pl_geoq_free(ok("intersects", "LineString", "[[1,2],[3,4]]", NULL));
    pl_geoq_free(ok("intersects", "MultiLineString", "[[[1,2],[3,4]],[[5,6],[7,8]]]", NULL));
    pl_geoq_free(ok("within", "MultiPolygon", "[[[[0,0],[1,0],[1,1],[0,0]]]]", NULL));
    pl_geoq_free(
        ok("within", "Polygon", "[[[0,0],[1,0],[1,1],[0,0]]]", "https://example.org/area"));
    pl_geoq_free(ok("equals", "Point", "[8,40,100]", NULL)); /* altitude allowed, ignored */
}

static void parse_absent_means_no_geoquery(void **st)
{
    (void)st;
    struct pl_geoq *q = (struct pl_geoq *)1;
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_equal(pl_geoq_parse(NULL, NULL, NULL, NULL, &q, &err), 0);
    assert_null(q);
    assert_int_equal(pl_geoq_parse(NULL, NULL, NULL, "location", &q, &err), 0);
    assert_null(q);
    bad("within", NULL, "[1,2]", NULL, "geometry is missing", NULL);
    bad(NULL, "Point", "[1,2]", NULL, "georel is missing", NULL);
    bad("within", "Point", NULL, NULL, "coordinates is missing", NULL);
}

static void parse_georel_errors_name_position_and_token(void **st)
{
    (void)st;
    bad("nearby", "Point", "[1,2]", NULL, "georel", "position 0", "'nearby'", NULL);
    bad("", "Point", "[1,2]", NULL, "georel", "position 0", NULL);
    bad("Within", "Point", "[1,2]", NULL, "georel", "'Within'", NULL);
    bad("near", "Point", "[1,2]", NULL, "georel", "position 4", "the end", NULL);
    bad("near;", "Point", "[1,2]", NULL, "georel", "position 5", NULL);
    bad("near;maxdistance==5", "Point", "[1,2]", NULL, "position 5", "'maxdistance'", NULL);
    bad("near;maxDistance=5", "Point", "[1,2]", NULL, "position 16", "'=5'", NULL);
    bad("near;maxDistance:5", "Point", "[1,2]", NULL, "position 16", "':5'", NULL);
    bad("near;maxDistance==-5", "Point", "[1,2]", NULL, "position 18", "'-5'", NULL);
    bad("near;maxDistance==0", "Point", "[1,2]", NULL, "position 18", "'0'", NULL);
    bad("near;maxDistance==0.0", "Point", "[1,2]", NULL, "position 18", NULL);
    bad("near;maxDistance==01", "Point", "[1,2]", NULL, "position 18", NULL);
    bad("near;maxDistance==1.", "Point", "[1,2]", NULL, "position 18", NULL);
    bad("near;maxDistance==.5", "Point", "[1,2]", NULL, "position 18", NULL);
    bad("near;maxDistance==1e", "Point", "[1,2]", NULL, "position 18", NULL);
    bad("near;maxDistance==10x", "Point", "[1,2]", NULL, "position 18", "'10x'", NULL);
    bad("near;maxDistance==", "Point", "[1,2]", NULL, "position 18", "the end", NULL);
    bad("near;maxDistance==1e999", "Point", "[1,2]", NULL, "position 18", NULL);
    bad("near;maxDistance== 10", "Point", "[1,2]", NULL, "position 18", NULL);
    bad("near;maxDistance==10;maxDistance==20", "Point", "[1,2]", NULL, "maxDistance given twice",
        "position 21", NULL);
    bad("near;maxDistance==10;", "Point", "[1,2]", NULL, "position 21", NULL);
    bad("within;maxDistance==10", "Polygon", "[[[0,0],[1,0],[1,1],[0,0]]]", NULL,
        "'within' takes no modifier", "position 6", NULL);
    bad("near;maxDistance==10", "Polygon", "[[[0,0],[1,0],[1,1],[0,0]]]", NULL, "geometry",
        "near requires a Point", NULL);
}

static void parse_geometry_and_coordinates_errors(void **st)
{
    (void)st;
    bad("within", "Circle", "[1,2]", NULL, "geometry", "'Circle'", NULL);
    bad("within", "point", "[1,2]", NULL, "geometry", "'point'", NULL);
    bad("within", "GeometryCollection", "[]", NULL, "geometry", "GeometryCollection", NULL);
    bad("within", "Point", "[8,40", NULL, "coordinates", "invalid JSON", "position", NULL);
    bad("within", "Point", "[8,,40]", NULL, "coordinates", "position 3", NULL);
    bad("within", "Point", "", NULL, "coordinates", "invalid JSON", NULL);
    bad("within", "Point", "{\"a\":1}", NULL, "coordinates", "JSON array", NULL);
    bad("within", "Point", "40,8", NULL, "coordinates", NULL);
    bad("within", "Point", "[8,91]", NULL, "coordinates", "latitude", NULL);
    bad("within", "Point", "[40.4,-3.7,1,2]", NULL, "coordinates", NULL);
    bad("within", "Point", "[[1,2]]", NULL, "coordinates", NULL);
    bad("within", "Polygon", "[[[0,0],[1,0],[1,1],[0,1]]]", NULL, "coordinates", "closed", NULL);
    bad("within", "LineString", "[[0,0]]", NULL, "coordinates", NULL);
    bad("within", "Point", "[1,2]", "bad name", "geoproperty", "'bad name'", NULL);
    bad("within", "Point", "[1,2]", "", "geoproperty", NULL);
}

static void from_json_accepts_array_or_string_coordinates_5_2_13(void **st)
{
    (void)st;
    struct pl_err err;
    pl_err_clear(&err);
    struct pl_geoq *q = NULL;
    json_t *j = tj("{\"georel\":\"near;maxDistance==2000\",\"geometry\":\"Point\","
                   "\"coordinates\":[8,40],\"geoproperty\":\"observationSpace\"}");
    assert_int_equal(pl_geoq_from_json(j, &q, &err), 0);
    assert_true(q->max_distance == 2000.0);
    assert_string_equal(q->geoproperty, "observationSpace");
    /* the JSON form round-trips */
    json_t *back = pl_geoq_to_json(q);
    assert_non_null(back);
    assert_true(json_equal(back, j));
    json_decref(back);
    pl_geoq_free(q);
    json_decref(j);

    j = tj("{\"georel\":\"within\",\"geometry\":\"Polygon\","
           "\"coordinates\":\"[[[0,0],[1,0],[1,1],[0,0]]]\"}");
    assert_int_equal(pl_geoq_from_json(j, &q, &err), 0);
    assert_int_equal(q->rel, PL_GEOREL_WITHIN);
    assert_string_equal(q->geoproperty, "location");
    assert_int_equal(json_array_size(json_object_get(q->geometry, "coordinates")), 1);
    pl_geoq_free(q);
    json_decref(j);

    j = tj("{\"georel\":\"near;minDistance==1.5;maxDistance==0.1\",\"geometry\":\"Point\","
           "\"coordinates\":[8,40]}");
    assert_int_equal(pl_geoq_from_json(j, &q, &err), 0);
    back = pl_geoq_to_json(q);
    struct pl_geoq *q2 = NULL;
    assert_int_equal(pl_geoq_from_json(back, &q2, &err), 0);
    assert_true(q2->min_distance == 1.5 && q2->max_distance == 0.1);
    pl_geoq_free(q2);
    json_decref(back);
    pl_geoq_free(q);
    json_decref(j);

    static const char *const bads[][2] = {
        {"[]", "JSON object"},
        {"{\"geometry\":\"Point\",\"coordinates\":[1,2]}", "geoQ.georel is required"},
        {"{\"georel\":\"within\",\"coordinates\":[1,2]}", "geoQ.geometry is required"},
        {"{\"georel\":\"within\",\"geometry\":\"Point\"}", "geoQ.coordinates is required"},
        {"{\"georel\":1,\"geometry\":\"Point\",\"coordinates\":[1,2]}", "geoQ.georel"},
        {"{\"georel\":\"within\",\"geometry\":[],\"coordinates\":[1,2]}", "geoQ.geometry"},
        {"{\"georel\":\"within\",\"geometry\":\"Point\",\"coordinates\":{}}", "geoQ.coordinates"},
        {"{\"georel\":\"within\",\"geometry\":\"Point\",\"coordinates\":\"[1,\"}",
         "geoQ.coordinates"},
        {"{\"georel\":\"within\",\"geometry\":\"Point\",\"coordinates\":[1,2],\"geoproperty\":5}",
         "geoQ.geoproperty"},
        {"{\"georel\":\"near\",\"geometry\":\"Point\",\"coordinates\":[1,2]}", "geoQ.georel"},
        {"{\"georel\":\"within\",\"geometry\":\"Point\",\"coordinates\":[1,200]}",
         "geoQ.coordinates"},
    };
    for (size_t i = 0; i < sizeof bads / sizeof bads[0]; i++) {
        j = tj(bads[i][0]);
        q = NULL;
        pl_err_clear(&err);
        assert_int_equal(pl_geoq_from_json(j, &q, &err), PL_EBADREQUESTDATA);
        assert_null(q);
        if (!strstr(err.detail, bads[i][1]))
            fail_msg("%s: detail \"%s\" lacks \"%s\"", bads[i][0], err.detail, bads[i][1]);
        json_decref(j);
    }
}

/* ------------------------------------------------------------------------------------------ */

static double dms(int d, int m, double s)
{
    double v = abs(d) + m / 60.0 + s / 3600.0;
    return d < 0 ? -v : v;
}

static void vincenty_known_distances(void **st)
{
    (void)st;
    /* Flinders Peak -> Buninyong, the classic test line of Vincenty's formula on WGS84. */
    double d = pl_geodesic_distance(dms(144, 25, 29.52440), dms(-37, 57, 3.72030),
                                    dms(143, 55, 35.38390), dms(-37, 39, 10.15610));
    assert_true(fabs(d - 54972.271) < 0.001);
    /* one degree of longitude on the equator: a * pi / 180 */
    d = pl_geodesic_distance(0, 0, 1, 0);
    assert_true(fabs(d - 111319.4908) < 0.001);
    /* along the equator the geodesic length is exactly a * dlambda (dlambda < (1-f) pi) */
    d = pl_geodesic_distance(-60, 0, 60, 0);
    assert_true(fabs(d - 6378137.0 * 120.0 * M_PI / 180.0) < 0.001);
    /* the meridian quadrant of WGS84 is 10001965.729 m: pole to equator, and pole to pole */
    d = pl_geodesic_distance(10, 0, 10, 90);
    assert_true(fabs(d - 10001965.729) < 0.002);
    d = pl_geodesic_distance(0, 90, 0, -90);
    assert_true(fabs(d - 20003931.4586) < 0.005);
    /* symmetric, zero for the same point, independent of the longitude origin */
    assert_true(pl_geodesic_distance(-3.7, 40.4, -3.7, 40.4) == 0.0);
    assert_true(fabs(pl_geodesic_distance(2.35, 48.85, -0.12, 51.5) -
                     pl_geodesic_distance(-0.12, 51.5, 2.35, 48.85)) < 1e-6);
    assert_true(fabs(pl_geodesic_distance(179.5, 10, -179.5, 11) -
                     pl_geodesic_distance(-0.5, 10, 0.5, 11)) < 1e-6);
}

static void vincenty_short_city_distance(void **st)
{
    (void)st;
    /* 500 m due north from Madrid's Puerta del Sol: over so short an arc the meridian length is
     * M(phi) * dphi with M = a (1 - e^2) / (1 - e^2 sin^2 phi)^(3/2) at the mid latitude. */
    const double a = 6378137.0, f = 1.0 / 298.257223563, e2 = f * (2 - f);
    double lat = 40.4168, lon = -3.7038;
    double phi = lat * M_PI / 180.0;
    double M = a * (1 - e2) / pow(1 - e2 * sin(phi) * sin(phi), 1.5);
    double dphi = 500.0 / M;
    double mid = phi + dphi / 2;
    M = a * (1 - e2) / pow(1 - e2 * sin(mid) * sin(mid), 1.5);
    dphi = 500.0 / M;
    double d = pl_geodesic_distance(lon, lat, lon, lat + dphi * 180.0 / M_PI);
    assert_true(fabs(d - 500.0) < 0.001);
    /* and 500 m east along the parallel is slightly longer than the geodesic chord */
    double p = a * cos(phi) / sqrt(1 - e2 * sin(phi) * sin(phi));
    d = pl_geodesic_distance(lon, lat, lon + 500.0 / p * 180.0 / M_PI, lat);
    assert_true(d < 500.0 && d > 499.999);
}

static void vincenty_nearly_antipodal_fallback(void **st)
{
    (void)st;
    /* exactly antipodal on the equator: the geodesic runs over a pole (half a meridian) */
    double d = pl_geodesic_distance(0, 0, 180, 0);
    assert_true(fabs(d - 20003931.4586) < 0.005);
    d = pl_geodesic_distance(-30, 0, 150, 0);
    assert_true(fabs(d - 20003931.4586) < 0.005);
    /* a pair where Vincenty's iteration does not converge (Karney 2013): lat 0.5, lon 179.5;
     * the geodesic is 19936288.579 m long */
    d = pl_geodesic_distance(0, 0, 179.5, 0.5);
    assert_true(fabs(d - 19936288.579) < 0.001);
    /* continuity across the region where the fallback takes over */
    double prev = pl_geodesic_distance(0, 0, 178.0, 0.5);
    for (double lon = 178.01; lon <= 180.0; lon += 0.01) {
        d = pl_geodesic_distance(0, 0, lon, 0.5);
        assert_true(isfinite(d));
        assert_true(d >= prev - 1e-3);          /* farther east, farther away */
        assert_true(d - prev < 1200.0);         /* 0.01 degree steps: no jump */
        assert_true(d <= 20003931.4586 + 1e-3); /* never more than half a meridian */
        prev = d;
    }
}

/* ------------------------------------------------------------------------------------------ */

/* A point on a sphere at angle rho and azimuth az from lon/lat (degrees; radians for az/rho). */
static void sdest(double lon, double lat, double az, double rho, double *olon, double *olat)
{
    double p1 = lat * M_PI / 180;
    double s = sin(p1) * cos(rho) + cos(p1) * sin(rho) * cos(az);
    double p2 = asin(s > 1 ? 1 : s < -1 ? -1 : s);
    double dl = atan2(sin(az) * sin(rho) * cos(p1), cos(rho) - sin(p1) * sin(p2));
    *olat = p2 * 180 / M_PI;
    *olon = remainder(lon + dl * 180 / M_PI, 360.0);
}

static int in_box(const double b[4], double x, double y)
{
    return b[0] <= x && x <= b[2] && b[1] <= y && y <= b[3];
}

static void bbox_around_contains_the_circle(void **st)
{
    (void)st;
    static const double centers[][2] = {{0, 0},        {-3.7038, 40.4168}, {18.07, 59.33},
                                        {10, 80},      {-60, -75},         {179.99, 10},
                                        {-179.9, -20}, {0, 89.9},          {45, -89.5}};
    static const double radii[] = {1, 500, 10000, 250000, 2000000, 7000000};
    for (size_t c = 0; c < sizeof centers / sizeof centers[0]; c++) {
        for (size_t r = 0; r < sizeof radii / sizeof radii[0]; r++) {
            double lon = centers[c][0], lat = centers[c][1], m = radii[r];
            double b[4], sb[2][4];
            pl_geo_bbox_around(lon, lat, m, b);
            int nb = pl_geo_bbox_around_split(lon, lat, m, sb);
            assert_true(b[0] <= lon && lon <= b[2] && b[1] <= lat && lat <= b[3]);
            assert_true(b[0] >= -180 && b[2] <= 180 && b[1] >= -90 && b[3] <= 90);
            double maxdlat = 0;
            for (int k = 0; k < 720; k++) {
                double az = 2 * M_PI * k / 720;
                /* bisect the spherical angle until the geodesic distance is m */
                double lo = 0, hi = 3.0, px = lon, py = lat;
                for (int it = 0; it < 60; it++) {
                    double mid = (lo + hi) / 2, x, y;
                    sdest(lon, lat, az, mid, &x, &y);
                    if (pl_geodesic_distance(lon, lat, x, y) <= m) {
                        lo = mid;
                        px = x;
                        py = y;
                    } else {
                        hi = mid;
                    }
                }
                if (!in_box(b, px, py))
                    fail_msg("center (%g,%g) r=%g: (%.9f,%.9f) outside [%g,%g,%g,%g]", lon, lat, m,
                             px, py, b[0], b[1], b[2], b[3]);
                int inside = 0;
                for (int i = 0; i < nb; i++)
                    inside |= in_box(sb[i], px, py);
                if (!inside)
                    fail_msg("split: center (%g,%g) r=%g: (%.9f,%.9f) outside", lon, lat, m, px,
                             py);
                if (fabs(py - lat) > maxdlat)
                    maxdlat = fabs(py - lat);
            }
            /* not absurdly wide: the latitude span is within 1 % of the circle's */
            if (b[1] > -90 && b[3] < 90 && (b[3] - lat) > maxdlat * 1.01 + 1e-8)
                fail_msg("center (%g,%g) r=%g: lat span %.9f for %.9f", lon, lat, m, b[3] - lat,
                         maxdlat);
        }
    }
    /* crossing the antimeridian: one full-width box, or two boxes */
    double b[4], sb[2][4];
    pl_geo_bbox_around(179.99, 0, 5000, b);
    assert_true(b[0] == -180 && b[2] == 180);
    assert_int_equal(pl_geo_bbox_around_split(179.99, 0, 5000, sb), 2);
    assert_true(sb[0][0] == -180 && sb[0][2] < -179.9 && sb[1][0] < 179.99 && sb[1][2] == 180);
    assert_int_equal(pl_geo_bbox_around_split(-179.99, 0, 5000, sb), 2);
    assert_true(sb[0][0] == -180 && sb[0][2] > -179.99 && sb[1][0] > 179.9 && sb[1][2] == 180);
    assert_int_equal(pl_geo_bbox_around_split(0, 0, 5000, sb), 1);
    /* reaching a pole: all longitudes */
    pl_geo_bbox_around(0, 89.99, 5000, b);
    assert_true(b[0] == -180 && b[2] == 180 && b[3] == 90);
}

/* ------------------------------------------------------------------------------------------ */

/* Evaluates georel/geometry/coordinates against an entity geometry (JSON text). */
static int m(const char *rel, const char *geom, const char *coords, const char *entity_geom)
{
    struct pl_geoq *q = ok(rel, geom, coords, NULL);
    json_t *g = tj(entity_geom);
    int r = pl_geoq_match_geometry(q, g);
    json_decref(g);
    pl_geoq_free(q);
    return r;
}

#define PT(x, y) "{\"type\":\"Point\",\"coordinates\":[" #x "," #y "]}"
/* a 10x10 square with a 2x2 hole in the middle */
#define SQ_HOLE   "[[[0,0],[10,0],[10,10],[0,10],[0,0]],[[4,4],[6,4],[6,6],[4,6],[4,4]]]"
#define SQ_HOLE_G "{\"type\":\"Polygon\",\"coordinates\":" SQ_HOLE "}"

static void within_is_entity_within_query_4_10(void **st)
{
    (void)st;
    /* entity point, query polygon: "target geometry within reference geometry" */
    assert_int_equal(m("within", "Polygon", SQ_HOLE, PT(2, 2)), 1);
    assert_int_equal(m("within", "Polygon", SQ_HOLE, PT(5, 5)), 0);   /* in the hole */
    assert_int_equal(m("within", "Polygon", SQ_HOLE, PT(11, 5)), 0);  /* outside */
    assert_int_equal(m("within", "Polygon", SQ_HOLE, PT(0, 5)), 0);   /* on the boundary */
    assert_int_equal(m("within", "Polygon", SQ_HOLE, PT(4, 5)), 0);   /* on the hole's edge */
    assert_int_equal(m("within", "Polygon", SQ_HOLE, PT(10, 10)), 0); /* on a vertex */
    /* the other way round it is contains, which a point cannot do to a polygon */
    assert_int_equal(m("contains", "Polygon", SQ_HOLE, PT(2, 2)), 0);
    /* a polygon entity is not within a query point */
    assert_int_equal(m("within", "Point", "[2,2]", SQ_HOLE_G), 0);
}

static void contains_is_entity_contains_query_4_10(void **st)
{
    (void)st;
    /* entity polygon, query point: "target geometry shall contain the reference geometry" */
    assert_int_equal(m("contains", "Point", "[2,2]", SQ_HOLE_G), 1);
    assert_int_equal(m("contains", "Point", "[5,5]", SQ_HOLE_G), 0);
    assert_int_equal(m("contains", "Point", "[0,5]", SQ_HOLE_G), 0); /* boundary */
    assert_int_equal(m("contains", "Point", "[20,5]", SQ_HOLE_G), 0);
    assert_int_equal(m("intersects", "Point", "[0,5]", SQ_HOLE_G), 1);
    assert_int_equal(m("intersects", "Point", "[5,5]", SQ_HOLE_G), 0);
    assert_int_equal(m("disjoint", "Point", "[5,5]", SQ_HOLE_G), 1);
    assert_int_equal(m("disjoint", "Point", "[2,2]", SQ_HOLE_G), 0);
    assert_int_equal(m("equals", "Point", "[2,2]", SQ_HOLE_G), 0);
    assert_int_equal(m("overlaps", "Point", "[2,2]", SQ_HOLE_G), 0);
    /* a point contains (and equals) only the same point */
    assert_int_equal(m("contains", "Point", "[2,2]", PT(2, 2)), 1);
    assert_int_equal(m("contains", "Point", "[2,3]", PT(2, 2)), 0);
    /* real-world order: lon,lat. Madrid centre polygon, Puerta del Sol inside */
    const char *madrid =
        "[[[-3.72,40.41],[-3.69,40.41],[-3.69,40.43],[-3.72,40.43],[-3.72,40.41]]]";
    assert_int_equal(m("within", "Polygon", madrid, PT(-3.7038, 40.4168)), 1);
    assert_int_equal(m("within", "Polygon", madrid, PT(40.4168, -3.7038)), 0); /* lat,lon: no */
}

static void multipolygon_and_point_relations(void **st)
{
    (void)st;
    const char *mp = "[[[[0,0],[1,0],[1,1],[0,1],[0,0]]],[[[5,5],[7,5],[7,7],[5,7],[5,5]],"
                     "[[5.5,5.5],[6,5.5],[6,6],[5.5,6],[5.5,5.5]]]]";
    assert_int_equal(m("within", "MultiPolygon", mp, PT(0.5, 0.5)), 1);
    assert_int_equal(m("within", "MultiPolygon", mp, PT(6.5, 6.5)), 1);
    assert_int_equal(m("within", "MultiPolygon", mp, PT(5.75, 5.75)), 0); /* hole */
    assert_int_equal(m("within", "MultiPolygon", mp, PT(3, 3)), 0);
    assert_int_equal(m("intersects", "MultiPolygon", mp, PT(1, 0.5)), 1);
    assert_int_equal(m("within", "MultiPolygon", mp, PT(1, 0.5)), 0);
    assert_int_equal(m("disjoint", "MultiPolygon", mp, PT(3, 3)), 1);
    assert_int_equal(m("disjoint", "MultiPolygon", mp, PT(50, 50)), 1); /* bbox shortcut */
    assert_int_equal(m("within", "MultiPolygon", mp, PT(50, 50)), 0);
    /* MultiPoint entity: within when no point outside and one inside */
    assert_int_equal(
        m("within", "Polygon", SQ_HOLE, "{\"type\":\"MultiPoint\",\"coordinates\":[[1,1],[2,2]]}"),
        1);
    assert_int_equal(
        m("within", "Polygon", SQ_HOLE, "{\"type\":\"MultiPoint\",\"coordinates\":[[1,1],[5,5]]}"),
        0);
    assert_int_equal(
        m("within", "Polygon", SQ_HOLE, "{\"type\":\"MultiPoint\",\"coordinates\":[[1,1],[0,1]]}"),
        1);
    assert_int_equal(
        m("within", "Polygon", SQ_HOLE, "{\"type\":\"MultiPoint\",\"coordinates\":[[0,0],[0,1]]}"),
        0);
    /* Point/MultiPoint equality and overlaps */
    assert_int_equal(m("equals", "Point", "[1,2]", PT(1, 2)), 1);
    assert_int_equal(m("equals", "Point", "[1,2]", PT(1, 2.000001)), 0);
    assert_int_equal(m("equals", "MultiPoint", "[[1,2],[1,2]]", PT(1, 2)), 1);
    assert_int_equal(m("overlaps", "MultiPoint", "[[1,2],[3,4]]",
                       "{\"type\":\"MultiPoint\",\"coordinates\":[[1,2],[5,6]]}"),
                     1);
    assert_int_equal(m("overlaps", "MultiPoint", "[[1,2],[3,4]]", PT(1, 2)), 0);
}

static void lines_mod2_boundary_and_intersects(void **st)
{
    (void)st;
    const char *line = "{\"type\":\"LineString\",\"coordinates\":[[0,0],[2,0],[2,2]]}";
    assert_int_equal(m("contains", "Point", "[1,0]", line), 1);
    assert_int_equal(m("contains", "Point", "[2,0]", line), 1); /* inner vertex */
    assert_int_equal(m("contains", "Point", "[0,0]", line), 0); /* end point: boundary */
    assert_int_equal(m("intersects", "Point", "[0,0]", line), 1);
    assert_int_equal(m("intersects", "Point", "[1,1]", line), 0);
    assert_int_equal(m("within", "LineString", "[[0,0],[2,0]]", PT(1, 0)), 1);
    assert_int_equal(m("within", "LineString", "[[0,0],[2,0]]", PT(2, 0)), 0);
    /* two lines sharing an end point: that point is interior of the union (mod 2) */
    const char *ml = "{\"type\":\"MultiLineString\",\"coordinates\":[[[0,0],[1,0]],[[1,0],[1,1]]]}";
    assert_int_equal(m("contains", "Point", "[1,0]", ml), 1);
    assert_int_equal(m("contains", "Point", "[0,0]", ml), 0);
    /* line/polygon intersects: crossing, touching, inside, outside, in a hole */
    assert_int_equal(m("intersects", "Polygon", SQ_HOLE,
                       "{\"type\":\"LineString\",\"coordinates\":[[-1,5],[1,5]]}"),
                     1);
    assert_int_equal(m("intersects", "Polygon", SQ_HOLE,
                       "{\"type\":\"LineString\",\"coordinates\":[[-1,5],[0,5]]}"),
                     1);
    assert_int_equal(m("intersects", "Polygon", SQ_HOLE,
                       "{\"type\":\"LineString\",\"coordinates\":[[1,1],[2,2]]}"),
                     1);
    assert_int_equal(m("intersects", "Polygon", SQ_HOLE,
                       "{\"type\":\"LineString\",\"coordinates\":[[4.5,4.5],[5.5,5.5]]}"),
                     0);
    assert_int_equal(m("disjoint", "Polygon", SQ_HOLE,
                       "{\"type\":\"LineString\",\"coordinates\":[[4.5,4.5],[5.5,5.5]]}"),
                     1);
    assert_int_equal(
        m("intersects", "Polygon", "[[[4.5,4.5],[5.5,4.5],[5.5,5.5],[4.5,4.5]]]", SQ_HOLE_G), 0);
    assert_int_equal(m("intersects", "Polygon", "[[[-5,-5],[20,-5],[20,20],[-5,-5]]]", SQ_HOLE_G),
                     1); /* query polygon covers the entity */
    /* between two areas or lines: GEOS, as SpatiaLite */
    assert_int_equal(m("within", "Polygon", "[[[-5,-5],[20,-5],[20,20],[-5,-5]]]", SQ_HOLE_G), 0);
    assert_int_equal(
        m("within", "Polygon", "[[[-5,-5],[20,-5],[20,20],[-5,20],[-5,-5]]]", SQ_HOLE_G), 1);
    assert_int_equal(m("contains", "Polygon", "[[[1,1],[2,1],[2,2],[1,1]]]", SQ_HOLE_G), 1);
    assert_int_equal(m("contains", "Polygon", "[[[4.5,4.5],[5.5,4.5],[5.5,5.5],[4.5,4.5]]]",
                       SQ_HOLE_G), 0); /* in the hole */
    assert_int_equal(m("overlaps", "Polygon", "[[[5,-5],[15,-5],[15,2],[5,2],[5,-5]]]", SQ_HOLE_G),
                     1);
    assert_int_equal(m("overlaps", "Polygon", "[[[1,1],[2,1],[2,2],[1,1]]]", SQ_HOLE_G), 0);
    assert_int_equal(m("equals", "Polygon", SQ_HOLE, SQ_HOLE_G), 1);
    assert_int_equal(m("equals", "Polygon", "[[[10,0],[10,10],[0,10],[0,0],[10,0]],"
                                            "[[4,4],[6,4],[6,6],[4,6],[4,4]]]",
                       SQ_HOLE_G),
                     1); /* the same area from another start vertex */
    assert_int_equal(m("within", "LineString", "[[0,0],[10,0]]",
                       "{\"type\":\"LineString\",\"coordinates\":[[2,0],[5,0]]}"),
                     1);
    assert_int_equal(m("contains", "LineString", "[[2,0],[5,0]]",
                       "{\"type\":\"LineString\",\"coordinates\":[[0,0],[10,0]]}"),
                     1);
}

static void near_uses_geodesic_distance(void **st)
{
    (void)st;
    /* Puerta del Sol -> Plaza Mayor is about 400 m */
    double d = pl_geodesic_distance(-3.7038, 40.4168, -3.7074, 40.4155);
    assert_true(d > 300 && d < 500);
    assert_int_equal(m("near;maxDistance==500", "Point", "[-3.7038,40.4168]", PT(-3.7074, 40.4155)),
                     1);
    assert_int_equal(m("near;maxDistance==300", "Point", "[-3.7038,40.4168]", PT(-3.7074, 40.4155)),
                     0);
    assert_int_equal(m("near;minDistance==300", "Point", "[-3.7038,40.4168]", PT(-3.7074, 40.4155)),
                     1);
    assert_int_equal(m("near;minDistance==500", "Point", "[-3.7038,40.4168]", PT(-3.7074, 40.4155)),
                     0);
    assert_int_equal(m("near;minDistance==300;maxDistance==500", "Point", "[-3.7038,40.4168]",
                       PT(-3.7074, 40.4155)),
                     1);
    /* one degree of longitude on the equator, at both sides of the bound */
    assert_int_equal(m("near;maxDistance==111319.5", "Point", "[0,0]", PT(1, 0)), 1);
    assert_int_equal(m("near;maxDistance==111319.4", "Point", "[0,0]", PT(1, 0)), 0);
    /* across the antimeridian */
    assert_int_equal(m("near;maxDistance==25000", "Point", "[179.9,0]", PT(-179.9, 0)), 1);
    /* the distance of a geometry is that of its nearest point (OGC Distance, ST_Distance) */
    assert_int_equal(m("near;maxDistance==150000", "Point", "[0,0]",
                       "{\"type\":\"MultiPoint\",\"coordinates\":[[1,0],[3,0]]}"),
                     1);
    assert_int_equal(m("near;maxDistance==100000", "Point", "[0,0]",
                       "{\"type\":\"MultiPoint\",\"coordinates\":[[1,0],[3,0]]}"),
                     0);
    assert_int_equal(m("near;minDistance==150000", "Point", "[0,0]",
                       "{\"type\":\"MultiPoint\",\"coordinates\":[[1,0],[3,0]]}"),
                     0);
    assert_int_equal(m("near;minDistance==100000", "Point", "[0,0]",
                       "{\"type\":\"MultiPoint\",\"coordinates\":[[1,0],[3,0]]}"),
                     1);
    assert_int_equal(m("near;minDistance==500;maxDistance==100", "Point", "[0,0]", PT(0, 0)), 0);
    /* polygons: inside or on it the distance is 0; otherwise the nearest point of the edges
     * (GEOS), not only of the vertices */
    assert_int_equal(m("near;maxDistance==1", "Point", "[2,2]", SQ_HOLE_G), 1);
    assert_int_equal(m("near;minDistance==1", "Point", "[2,2]", SQ_HOLE_G), 0);
    assert_int_equal(m("near;maxDistance==1", "Point", "[10,5]", SQ_HOLE_G), 1);
    assert_int_equal(m("near;maxDistance==200000", "Point", "[-1,-1]", SQ_HOLE_G), 1);
    assert_int_equal(m("near;minDistance==200000", "Point", "[-1,-1]", SQ_HOLE_G), 0);
    assert_int_equal(m("near;maxDistance==1000", "Point", "[-1,-1]", SQ_HOLE_G), 0);
    assert_int_equal(m("near;minDistance==1000", "Point", "[-1,-1]", SQ_HOLE_G), 1);
    assert_int_equal(m("near;maxDistance==1000", "Point", "[5,5]", SQ_HOLE_G), 0); /* hole */
    /* an edge nearer than every vertex: 0.01 degree (~1.1 km) south of the bottom edge */
    assert_int_equal(m("near;maxDistance==1200", "Point", "[5,-0.01]", SQ_HOLE_G), 1);
    assert_int_equal(m("near;maxDistance==1000", "Point", "[5,-0.01]", SQ_HOLE_G), 0);
    assert_int_equal(m("near;minDistance==1000", "Point", "[5,-0.01]", SQ_HOLE_G), 1);
}

static void match_any_geoproperty_instance(void **st)
{
    (void)st;
    struct pl_geoq *q = ok("within", "Polygon", SQ_HOLE, NULL);
    json_t *e = tj(
        "{\"id\":\"urn:ngsi-ld:X:1\",\"type\":[\"https://ex.org/X\"],\"attrs\":{"
        "\"https://uri.etsi.org/ngsi-ld/location\":["
        "{\"type\":\"GeoProperty\",\"value\":" PT(
            50,
            50) "},"
                "{\"type\":\"GeoProperty\",\"datasetId\":\"urn:d:2\",\"value\":" PT(
                    1, 1) "}],"
                          "\"https://ex.org/area\":[{\"type\":\"Property\",\"value\":" PT(
                              1,
                              1) "}],"
                                 "\"https://ex.org/spot\":[{\"type\":\"GeoProperty\",\"value\":" PT(
                                     50, 50) "}]}}");
    assert_int_equal(pl_geoq_match(q, NULL, e), 1);
    assert_int_equal(pl_geoq_match(q, "https://uri.etsi.org/ngsi-ld/location", e), 1);
    assert_int_equal(pl_geoq_match(q, "https://ex.org/area", e), 0); /* not a GeoProperty */
    assert_int_equal(pl_geoq_match(q, "https://ex.org/spot", e), 0);
    assert_int_equal(pl_geoq_match(q, "https://ex.org/none", e), 0);
    pl_geoq_free(q);
    /* disjoint does not match entities without the attribute (4.10) */
    q = ok("disjoint", "Polygon", SQ_HOLE, NULL);
    assert_int_equal(pl_geoq_match(q, "https://ex.org/none", e), 0);
    assert_int_equal(pl_geoq_match(q, "https://ex.org/spot", e), 1);
    pl_geoq_free(q);
    json_decref(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_near_forms_of_4_10),
        cmocka_unit_test(parse_other_relations_and_geometries),
        cmocka_unit_test(parse_absent_means_no_geoquery),
        cmocka_unit_test(parse_georel_errors_name_position_and_token),
        cmocka_unit_test(parse_geometry_and_coordinates_errors),
        cmocka_unit_test(from_json_accepts_array_or_string_coordinates_5_2_13),
        cmocka_unit_test(vincenty_known_distances),
        cmocka_unit_test(vincenty_short_city_distance),
        cmocka_unit_test(vincenty_nearly_antipodal_fallback),
        cmocka_unit_test(bbox_around_contains_the_circle),
        cmocka_unit_test(within_is_entity_within_query_4_10),
        cmocka_unit_test(contains_is_entity_contains_query_4_10),
        cmocka_unit_test(multipolygon_and_point_relations),
        cmocka_unit_test(lines_mod2_boundary_and_intersects),
        cmocka_unit_test(near_uses_geodesic_distance),
        cmocka_unit_test(match_any_geoproperty_instance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
