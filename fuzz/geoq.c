/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz/geoq.c — libFuzzer target for query/geoq.c.
 *
 * Input, either
 *   - a JSON object: a GeoQuery (5.2.13) for pl_geoq_from_json, with an optional extra member
 *     "target" (an entity geometry), or
 *   - text lines: georel, geometry, coordinates, geoproperty (empty line = absent) and a
 *     target geometry as JSON, for pl_geoq_parse.
 * A parsed query must be consistent (validated geometry, ordered bbox, near <=> distances),
 * survive pl_geoq_to_json -> pl_geoq_from_json unchanged, and its evaluation against the target
 * must agree with itself: intersects == !disjoint, within/contains/equals imply intersects,
 * Within(E, Q) == Contains(Q, E) with the roles swapped, the whole-entity evaluation equals the
 * single-geometry one, and a point found near lies inside pl_geo_bbox_around. Else abort.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngsild/entity.h"
#include "query/geoq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "geoq invariant failed: %s (line %d)\n", #c, __LINE__);                \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static int eval_as(const struct pl_geoq *q, enum pl_georel rel, const json_t *target)
{
    struct pl_geoq c = *q;
    c.rel = rel;
    int r = pl_geoq_match_geometry(&c, target);
    CHECK(r >= -1 && r <= 1);
    return r;
}

/* The relation `rel` with the roles swapped: target as the query, q's geometry as the entity.
 * -2 when the target cannot be a query geometry. */
static int swapped(const struct pl_geoq *q, const char *rel, const json_t *target)
{
    json_t *j =
        json_pack("{s:s, s:O, s:O}", "georel", rel, "geometry", json_object_get(target, "type"),
                  "coordinates", json_object_get(target, "coordinates"));
    if (!j)
        return -2;
    struct pl_geoq *q2 = NULL;
    struct pl_err err;
    int r = -2;
    if (pl_geoq_from_json(j, &q2, &err) == 0) {
        r = pl_geoq_match_geometry(q2, q->geometry);
        pl_geoq_free(q2);
    }
    json_decref(j);
    return r;
}

static void check_query(const struct pl_geoq *q)
{
    struct pl_err err;
    CHECK(q->geometry && pl_geojson_validate(q->geometry, &err) == 0);
    CHECK(q->geoproperty && *q->geoproperty);
    CHECK(q->bbox[0] <= q->bbox[2] && q->bbox[1] <= q->bbox[3]);
    if (q->rel == PL_GEOREL_NEAR) {
        CHECK(q->max_distance > 0 || q->min_distance > 0);
        CHECK(strcmp(json_string_value(json_object_get(q->geometry, "type")), "Point") == 0);
    } else {
        CHECK(q->max_distance < 0 && q->min_distance < 0);
    }
    json_t *j = pl_geoq_to_json(q);
    CHECK(j);
    struct pl_geoq *back = NULL;
    CHECK(pl_geoq_from_json(j, &back, &err) == 0);
    CHECK(back->rel == q->rel && back->max_distance == q->max_distance &&
          back->min_distance == q->min_distance && json_equal(back->geometry, q->geometry) &&
          strcmp(back->geoproperty, q->geoproperty) == 0);
    pl_geoq_free(back);
    json_decref(j);
}

static void check_match(const struct pl_geoq *q, const json_t *target)
{
    int r = pl_geoq_match_geometry(q, target);
    CHECK(r >= -1 && r <= 1);

    /* the whole-entity evaluation of the same geometry gives the same answer */
    json_t *e = json_pack("{s:s, s:{s:[{s:s, s:O}]}}", "id", "urn:ngsi-ld:F:1", "attrs",
                          PL_GEOQ_LOCATION_IRI, "type", "GeoProperty", "value", target);
    if (e) {
        CHECK(pl_geoq_match(q, NULL, e) == r);
        json_decref(e);
    }

    struct pl_err err;
    if (pl_geojson_validate(target, &err) != 0) {
        CHECK(r == 0); /* an invalid geometry matches nothing, not even disjoint */
        return;
    }
    const char *tt = json_string_value(json_object_get(target, "type"));
    if (q->rel == PL_GEOREL_NEAR) {
        if (r == 1 && q->max_distance >= 0 && tt && strcmp(tt, "Point") == 0) {
            const json_t *qc = json_object_get(q->geometry, "coordinates");
            const json_t *tc = json_object_get(target, "coordinates");
            double b[4];
            double qx = json_number_value(json_array_get(qc, 0));
            double qy = json_number_value(json_array_get(qc, 1));
            double x = json_number_value(json_array_get(tc, 0));
            double y = json_number_value(json_array_get(tc, 1));
            pl_geo_bbox_around(qx, qy, q->max_distance, b);
            CHECK(b[0] <= x && x <= b[2] && b[1] <= y && y <= b[3]);
            double d1 = pl_geodesic_distance(qx, qy, x, y);
            double d2 = pl_geodesic_distance(x, y, qx, qy);
            CHECK(d1 >= 0 && d1 <= q->max_distance && fabs(d1 - d2) < 1e-3);
        }
        return;
    }
    int in = eval_as(q, PL_GEOREL_INTERSECTS, target);
    int dj = eval_as(q, PL_GEOREL_DISJOINT, target);
    int wi = eval_as(q, PL_GEOREL_WITHIN, target);
    int co = eval_as(q, PL_GEOREL_CONTAINS, target);
    int eq = eval_as(q, PL_GEOREL_EQUALS, target);
    if (in >= 0 && dj >= 0)
        CHECK(in == !dj);
    if (wi == 1 || co == 1 || eq == 1)
        CHECK(in != 0);
    if (eq == 1)
        CHECK(wi != 0 && co != 0);
    /* roles swapped: Within(E, Q) == Contains(Q, E), intersects and equals symmetric */
    int sw = swapped(q, "contains", target);
    if (sw >= 0 && wi >= 0)
        CHECK(sw == wi);
    int sc = swapped(q, "within", target);
    if (sc >= 0 && co >= 0)
        CHECK(sc == co);
    int si = swapped(q, "intersects", target);
    if (si >= 0 && in >= 0)
        CHECK(si == in);
    int se = swapped(q, "equals", target);
    if (se >= 0 && eq >= 0)
        CHECK(se == eq);
}

static const char *const default_targets[] = {
    "{\"type\":\"Point\",\"coordinates\":[8,40]}",
    "{\"type\":\"Point\",\"coordinates\":[0.5,0.5]}",
    ("{\"type\":\"Polygon\",\"coordinates\":[[[0,0],[10,0],[10,10],[0,10],[0,0]],"
     "[[4,4],[6,4],[6,6],[4,6],[4,4]]]}"),
    "{\"type\":\"LineString\",\"coordinates\":[[0,0],[2,0],[2,2]]}",
};

static void run_query(const struct pl_geoq *q, const json_t *target)
{
    check_query(q);
    if (target) {
        check_match(q, target);
        return;
    }
    for (size_t i = 0; i < sizeof default_targets / sizeof default_targets[0]; i++) {
        json_t *t = json_loads(default_targets[i], 0, NULL);
        if (t) {
            check_match(q, t);
            json_decref(t);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pl_err err;
    struct pl_geoq *q = NULL;
    json_t *in = json_loadb((const char *)data, size, 0, NULL);
    if (json_is_object(in)) {
        if (pl_geoq_from_json(in, &q, &err) == 0) {
            run_query(q, json_object_get(in, "target"));
            pl_geoq_free(q);
        }
        json_decref(in);
        return 0;
    }
    json_decref(in);

    /* text form: up to five lines */
    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *f[5] = {NULL, NULL, NULL, NULL, NULL};
    char *p = buf;
    for (int i = 0; i < 5 && p; i++) {
        f[i] = p;
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        p = nl ? nl + 1 : NULL;
    }
    for (int i = 0; i < 4; i++) {
        if (f[i] && !*f[i])
            f[i] = NULL;
    }
    json_t *target = f[4] ? json_loads(f[4], 0, NULL) : NULL;
    if (pl_geoq_parse(f[0], f[1], f[2], f[3], &q, &err) == 0 && q) {
        run_query(q, target);
        pl_geoq_free(q);
    }
    /* the geodesic helpers on the target's first two numbers, when it is a position */
    if (json_is_array(target) && json_array_size(target) == 4) {
        double v[4];
        for (size_t i = 0; i < 4; i++)
            v[i] = json_number_value(json_array_get(target, i));
        if (fabs(v[0]) <= 180 && fabs(v[1]) <= 90 && fabs(v[2]) <= 180 && fabs(v[3]) <= 90) {
            double d = pl_geodesic_distance(v[0], v[1], v[2], v[3]);
            CHECK(d >= 0 && d <= 20003931.5);
            double b[4];
            pl_geo_bbox_around(v[0], v[1], d * (1 + 1e-9) + 1e-3, b);
            CHECK(b[0] <= v[2] && v[2] <= b[2] && b[1] <= v[3] && v[3] <= b[3]);
        }
    }
    json_decref(target);
    free(buf);
    return 0;
}
