/* SPDX-License-Identifier: Apache-2.0 */
/*
 * geoq.c — NGSI-LD geo-queries (V1.9.1 clause 4.10, 5.2.13, 6.4.3.2): parsing, WGS84 geodesic
 * distance (Vincenty), conservative bounding boxes around a point, and an in-memory evaluator
 * of the relations (planar DE-9IM in lon/lat, as SpatiaLite evaluates SRID 4326 geometries).
 *
 * Argument order of the topological relations, ETSI GS CIM 009 V1.9.1 clause 4.10:
 *   within:   "For an entity to match, the target geometry shall be within, as specified by
 *              [14], the reference geometry."
 *   contains: "For an entity to match, the target geometry shall contain, as specified by
 *              [14], the reference geometry."
 * The target geometry is the ENTITY's GeoProperty, the reference geometry is the QUERY's. So
 * `within` asks Within(entity, query) and `contains` asks Contains(entity, query): a point
 * entity is "within" a query polygon around it, and a polygon entity "contains" a query point
 * inside it. (Swapping the two is a known interoperability bug; tests pin the order.)
 */
#include "query/geoq.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ngsild/entity.h"
#include "query/geoq_int.h"

/* ============================================================================================
 * Names
 * ========================================================================================== */

static const char *const rel_names[] = {"near",     "within",   "contains", "intersects",
                                        "overlaps", "disjoint", "equals"};
#define N_RELS (sizeof rel_names / sizeof rel_names[0])

const char *pl_georel_name(enum pl_georel rel)
{
    return (unsigned)rel < N_RELS ? rel_names[rel] : "?";
}

/* The geometry types a query may use (4.10: RFC 7946 types except GeometryCollection), in the
 * order of enum gt below. */
static const char *const qgeo_names[] = {"Point",           "MultiPoint", "LineString",
                                         "MultiLineString", "Polygon",    "MultiPolygon"};
#define N_QGEO (sizeof qgeo_names / sizeof qgeo_names[0])

enum gt { GT_POINT, GT_MPOINT, GT_LINE, GT_MLINE, GT_POLY, GT_MPOLY, GT_OTHER };

static enum gt gtype_of_name(const char *t)
{
    for (size_t i = 0; t && i < N_QGEO; i++) {
        if (strcmp(t, qgeo_names[i]) == 0)
            return (enum gt)i;
    }
    return GT_OTHER;
}

static enum gt gtype(const json_t *g)
{
    return gtype_of_name(json_string_value(json_object_get(g, "type")));
}

/* ============================================================================================
 * Parsing
 * ========================================================================================== */

/* A printable excerpt of `s` for an error detail: up to the next ';' (when stop_semi), at most
 * 40 bytes, non-printable bytes as '?', quoted; "the end" when empty. */
static const char *excerpt(const char *s, int stop_semi, char buf[64])
{
    size_t n = 0;
    if (!*s) {
        snprintf(buf, 64, "the end");
        return buf;
    }
    buf[n++] = '\'';
    for (; *s && n < 41 && !(stop_semi && *s == ';'); s++)
        buf[n++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
    if (*s && !(stop_semi && *s == ';')) {
        memcpy(buf + n, "...", 3);
        n += 3;
    }
    buf[n++] = '\'';
    buf[n] = '\0';
    return buf;
}

/* RFC 8259 6 "number" without the minus sign: int [frac] [exp]. Returns its length, 0 when
 * `s` does not start with one. */
static size_t scan_number(const char *s)
{
    const char *p = s;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        while (*p >= '0' && *p <= '9')
            p++;
    } else {
        return 0;
    }
    if (*p == '.') {
        p++;
        if (!(*p >= '0' && *p <= '9'))
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!(*p >= '0' && *p <= '9'))
            return 0;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return (size_t)(p - s);
}

/* Parses the georel grammar of 4.10 into q->rel and the distances. */
static int parse_georel(const char *pfx, const char *s, struct pl_geoq *q, struct pl_err *err)
{
    char ex[64];
    size_t n = strcspn(s, ";");
    int rel = -1;
    for (size_t i = 0; i < N_RELS; i++) {
        if (strlen(rel_names[i]) == n && memcmp(s, rel_names[i], n) == 0)
            rel = (int)i;
    }
    if (rel < 0)
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "%sgeorel: unknown relation %s at position 0 (expected near, within, "
                          "contains, intersects, overlaps, disjoint or equals)",
                          pfx, excerpt(s, 1, ex));
    q->rel = (enum pl_georel)rel;
    q->max_distance = q->min_distance = -1.0;
    if (q->rel != PL_GEOREL_NEAR) {
        if (s[n])
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "%sgeorel: '%s' takes no modifier, found %s at position %zu", pfx,
                              rel_names[rel], excerpt(s + n, 0, ex), n);
        return 0;
    }
    if (!s[n])
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "%sgeorel: near needs ';maxDistance==N' or ';minDistance==N' at "
                          "position %zu, found the end",
                          pfx, n);
    size_t pos = n;
    while (s[pos] == ';') {
        pos++;
        const char *m = s + pos;
        double *slot = NULL;
        const char *which = NULL;
        if (strncmp(m, "maxDistance", 11) == 0) {
            slot = &q->max_distance;
            which = "maxDistance";
        } else if (strncmp(m, "minDistance", 11) == 0) {
            slot = &q->min_distance;
            which = "minDistance";
        } else {
            char tok[64];
            size_t tl = strcspn(m, ";=");
            snprintf(tok, sizeof tok, "%.*s", (int)(tl > 40 ? 40 : tl), m);
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "%sgeorel: expected maxDistance or minDistance at position %zu, "
                              "found %s",
                              pfx, pos, excerpt(tok, 0, ex));
        }
        if (*slot >= 0)
            return pl_err_set(err, PL_EBADREQUESTDATA, "%sgeorel: %s given twice at position %zu",
                              pfx, which, pos);
        pos += 11;
        if (s[pos] != '=' || s[pos + 1] != '=')
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "%sgeorel: expected '==' at position %zu, found %s", pfx, pos,
                              excerpt(s + pos, 1, ex));
        pos += 2;
        size_t nl = scan_number(s + pos);
        char num[64];
        double v = 0.0;
        if (nl > 0 && nl < sizeof num) {
            memcpy(num, s + pos, nl);
            num[nl] = '\0';
            v = strtod(num, NULL);
        }
        if (nl == 0 || nl >= sizeof num || !(v > 0.0) || !isfinite(v) ||
            (s[pos + nl] && s[pos + nl] != ';'))
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "%sgeorel: %s needs a positive number (not 0) at position %zu, "
                              "found %s",
                              pfx, which, pos, excerpt(s + pos, 1, ex));
        *slot = v;
        pos += nl;
    }
    return 0;
}

static void bbox_acc(const json_t *c, double bb[4])
{
    if (!json_is_array(c) || json_array_size(c) == 0)
        return;
    if (json_is_number(json_array_get(c, 0))) {
        double x = json_number_value(json_array_get(c, 0));
        double y = json_number_value(json_array_get(c, 1));
        bb[0] = fmin(bb[0], x);
        bb[1] = fmin(bb[1], y);
        bb[2] = fmax(bb[2], x);
        bb[3] = fmax(bb[3], y);
        return;
    }
    for (size_t i = 0; i < json_array_size(c); i++)
        bbox_acc(json_array_get(c, i), bb);
}

static void bbox_of(const json_t *coords, double bb[4])
{
    bb[0] = bb[1] = INFINITY;
    bb[2] = bb[3] = -INFINITY;
    bbox_acc(coords, bb);
}

/* An attribute name (4.6.2) or an IRI, in valid UTF-8 (jansson checks that). */
static int valid_geoproperty(const char *s)
{
    if (!pl_is_valid_name(s) && !pl_is_uri(s))
        return 0;
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

/*
 * The common builder. `coords` is a NEW reference that this function takes over (NULL when
 * out of memory).
 */
static int build(const char *pfx, const char *georel, const char *geometry, json_t *coords,
                 const char *geoproperty, struct pl_geoq **out, struct pl_err *err)
{
    char ex[64];
    int rc;
    struct pl_geoq *q = calloc(1, sizeof *q);
    if (!q || !coords) {
        json_decref(coords);
        free(q);
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    }
    if ((rc = parse_georel(pfx, georel, q, err)) != 0)
        goto fail;
    enum gt t = gtype_of_name(geometry);
    if (t == GT_OTHER) {
        rc = strcmp(geometry, "GeometryCollection") == 0
                 ? pl_err_set(err, PL_EBADREQUESTDATA,
                              "%sgeometry: GeometryCollection is not allowed in a geo-query "
                              "(4.10)",
                              pfx)
                 : pl_err_set(err, PL_EBADREQUESTDATA,
                              "%sgeometry: unknown geometry type %s at position 0 (expected "
                              "Point, MultiPoint, LineString, MultiLineString, Polygon or "
                              "MultiPolygon)",
                              pfx, excerpt(geometry, 0, ex));
        goto fail;
    }
    if (q->rel == PL_GEOREL_NEAR && t != GT_POINT) {
        rc = pl_err_set(err, PL_EBADREQUESTDATA, "%sgeometry: near requires a Point, found '%s'",
                        pfx, qgeo_names[t]);
        goto fail;
    }
    if (!json_is_array(coords)) {
        rc = pl_err_set(err, PL_EBADREQUESTDATA, "%scoordinates: expected a JSON array", pfx);
        goto fail;
    }
    q->geometry = json_pack("{s:s, s:O}", "type", qgeo_names[t], "coordinates", coords);
    if (!q->geometry) {
        rc = pl_err_set(err, PL_ENOMEM, "out of memory");
        goto fail;
    }
    struct pl_err verr;
    pl_err_clear(&verr);
    if (pl_geojson_validate(q->geometry, &verr) != 0) {
        rc = pl_err_set(err, PL_EBADREQUESTDATA, "%scoordinates: not valid for a %s: %s", pfx,
                        qgeo_names[t], verr.detail);
        goto fail;
    }
    if (geoproperty && !valid_geoproperty(geoproperty)) {
        rc = pl_err_set(err, PL_EBADREQUESTDATA,
                        "%sgeoproperty: %s at position 0 is not a valid attribute name", pfx,
                        excerpt(geoproperty, 0, ex));
        goto fail;
    }
    q->geoproperty = strdup(geoproperty ? geoproperty : "location");
    if (!q->geoproperty) {
        rc = pl_err_set(err, PL_ENOMEM, "out of memory");
        goto fail;
    }
    bbox_of(coords, q->bbox);
    json_decref(coords);
    *out = q;
    return 0;
fail:
    json_decref(coords);
    pl_geoq_free(q);
    return rc;
}

/* Parses the JSON text of a coordinates array. */
static int load_coords(const char *pfx, const char *text, json_t **out, struct pl_err *err)
{
    json_error_t je;
    json_t *c = json_loads(text, JSON_DECODE_ANY, &je);
    if (!c) {
        /* jansson reports the offset just after the offending token and names the token in
         * its text ("... near 'tru'"): report where the token starts */
        size_t len = strlen(text);
        size_t at = je.position > 0 ? (size_t)je.position : 0;
        const char *near = strstr(je.text, "near '");
        if (at > len || !near) {
            at = len;
        } else {
            size_t tl = strlen(near + 6);
            tl = tl > 0 ? tl - 1 : 0; /* the closing quote */
            at = at >= tl ? at - tl : 0;
        }
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "%scoordinates: invalid JSON at position %zu: %s", pfx, at, je.text);
    }
    if (!json_is_array(c)) {
        json_decref(c);
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "%scoordinates: expected a JSON array at position 0", pfx);
    }
    *out = c;
    return 0;
}

int pl_geoq_parse(const char *georel, const char *geometry, const char *coordinates,
                  const char *geoproperty, struct pl_geoq **out, struct pl_err *err)
{
    *out = NULL;
    if (!georel && !geometry && !coordinates)
        return 0;
    if (!georel || !geometry || !coordinates)
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "georel, geometry and coordinates must be given together: %s is "
                          "missing",
                          !georel     ? "georel"
                          : !geometry ? "geometry"
                                      : "coordinates");
    json_t *c = NULL;
    int rc = load_coords("", coordinates, &c, err);
    if (rc)
        return rc;
    return build("", georel, geometry, c, geoproperty, out, err);
}

int pl_geoq_from_json(const json_t *geoq, struct pl_geoq **out, struct pl_err *err)
{
    static const char pfx[] = "geoQ.";
    *out = NULL;
    if (!json_is_object(geoq))
        return pl_err_set(err, PL_EBADREQUESTDATA, "geoQ must be a JSON object");
    const json_t *r = json_object_get(geoq, "georel");
    const json_t *g = json_object_get(geoq, "geometry");
    const json_t *c = json_object_get(geoq, "coordinates");
    const json_t *p = json_object_get(geoq, "geoproperty");
    if (!r || !g || !c)
        return pl_err_set(err, PL_EBADREQUESTDATA, "geoQ.%s is required",
                          !r   ? "georel"
                          : !g ? "geometry"
                               : "coordinates");
    if (!json_is_string(r))
        return pl_err_set(err, PL_EBADREQUESTDATA, "geoQ.georel must be a string");
    if (!json_is_string(g))
        return pl_err_set(err, PL_EBADREQUESTDATA, "geoQ.geometry must be a string");
    if (p && !json_is_null(p) && !json_is_string(p))
        return pl_err_set(err, PL_EBADREQUESTDATA, "geoQ.geoproperty must be a string");
    json_t *coords = NULL;
    if (json_is_string(c)) {
        int rc = load_coords(pfx, json_string_value(c), &coords, err);
        if (rc)
            return rc;
    } else if (json_is_array(c)) {
        coords = json_deep_copy(c);
        if (!coords)
            return pl_err_set(err, PL_ENOMEM, "out of memory");
    } else {
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "geoQ.coordinates must be a JSON array or a string holding one");
    }
    return build(pfx, json_string_value(r), json_string_value(g), coords, json_string_value(p), out,
                 err);
}

/* Shortest "%g" text that reads back as the same double. */
static void fmt_double(char *buf, size_t n, double v)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, n, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return;
    }
}

json_t *pl_geoq_to_json(const struct pl_geoq *q)
{
    char rel[128], a[40], b[40];
    if (q->rel == PL_GEOREL_NEAR) {
        fmt_double(a, sizeof a, q->max_distance);
        fmt_double(b, sizeof b, q->min_distance);
        if (q->max_distance >= 0 && q->min_distance >= 0)
            snprintf(rel, sizeof rel, "near;maxDistance==%s;minDistance==%s", a, b);
        else if (q->max_distance >= 0)
            snprintf(rel, sizeof rel, "near;maxDistance==%s", a);
        else
            snprintf(rel, sizeof rel, "near;minDistance==%s", b);
    } else {
        snprintf(rel, sizeof rel, "%s", pl_georel_name(q->rel));
    }
    return json_pack("{s:s, s:O, s:O, s:s}", "georel", rel, "geometry",
                     json_object_get(q->geometry, "type"), "coordinates",
                     json_object_get(q->geometry, "coordinates"), "geoproperty",
                     q->geoproperty ? q->geoproperty : "location");
}

void pl_geoq_free(struct pl_geoq *q)
{
    if (!q)
        return;
    json_decref(q->geometry);
    free(q->geoproperty);
    free(q);
}

/* ============================================================================================
 * Geodesy on the WGS84 ellipsoid
 * ========================================================================================== */

#define WGS84_A 6378137.0
#define WGS84_F (1.0 / 298.257223563)
#define WGS84_B (WGS84_A * (1.0 - WGS84_F))
#define DEG     (M_PI / 180.0)

/*
 * Vincenty's inverse formula (T. Vincenty, "Direct and inverse solutions of geodesics on the
 * ellipsoid with application of nested equations", Survey Review 23(176), 1975), iterating on
 * the longitude difference on the auxiliary sphere. Returns 0 and *s in metres, or -1 when it
 * does not converge (nearly antipodal points).
 */
static int vincenty(double lon1, double lat1, double lon2, double lat2, double *s)
{
    const double f = WGS84_F;
    double L = remainder(lon2 - lon1, 360.0) * DEG;
    double tan_u1 = (1.0 - f) * tan(lat1 * DEG), tan_u2 = (1.0 - f) * tan(lat2 * DEG);
    double cos_u1 = 1.0 / sqrt(1.0 + tan_u1 * tan_u1), sin_u1 = tan_u1 * cos_u1;
    double cos_u2 = 1.0 / sqrt(1.0 + tan_u2 * tan_u2), sin_u2 = tan_u2 * cos_u2;
    if (fabs(lat1) >= 90.0) { /* tan() of a pole is huge but finite: be exact */
        cos_u1 = 0.0;
        sin_u1 = lat1 > 0 ? 1.0 : -1.0;
    }
    if (fabs(lat2) >= 90.0) {
        cos_u2 = 0.0;
        sin_u2 = lat2 > 0 ? 1.0 : -1.0;
    }
    double lambda = L, sin_sigma = 0, cos_sigma = 0, sigma = 0, cos2_alpha = 0, cos_2sm = 0;
    int converged = 0;
    for (int iter = 0; iter < 200; iter++) {
        double sin_l = sin(lambda), cos_l = cos(lambda);
        double t1 = cos_u2 * sin_l;
        double t2 = cos_u1 * sin_u2 - sin_u1 * cos_u2 * cos_l;
        sin_sigma = sqrt(t1 * t1 + t2 * t2);
        cos_sigma = sin_u1 * sin_u2 + cos_u1 * cos_u2 * cos_l;
        if (sin_sigma == 0.0) {
            if (cos_sigma > 0.0) { /* coincident points */
                *s = 0.0;
                return 0;
            }
            return -1; /* exactly antipodal on the auxiliary sphere */
        }
        sigma = atan2(sin_sigma, cos_sigma);
        double sin_alpha = cos_u1 * cos_u2 * sin_l / sin_sigma;
        cos2_alpha = 1.0 - sin_alpha * sin_alpha;
        /* on the equator (cos2_alpha == 0) the term is irrelevant: C == 0 */
        cos_2sm = cos2_alpha != 0.0 ? cos_sigma - 2.0 * sin_u1 * sin_u2 / cos2_alpha : 0.0;
        double C = f / 16.0 * cos2_alpha * (4.0 + f * (4.0 - 3.0 * cos2_alpha));
        double prev = lambda;
        lambda = L + (1.0 - C) * f * sin_alpha *
                         (sigma + C * sin_sigma *
                                      (cos_2sm + C * cos_sigma * (-1.0 + 2.0 * cos_2sm * cos_2sm)));
        if (!isfinite(lambda) || fabs(lambda) > M_PI + 1e-9)
            return -1;
        if (fabs(lambda - prev) < 1e-12) {
            converged = 1;
            break;
        }
    }
    if (!converged)
        return -1;
    double u2 = cos2_alpha * (WGS84_A * WGS84_A - WGS84_B * WGS84_B) / (WGS84_B * WGS84_B);
    double A = 1.0 + u2 / 16384.0 * (4096.0 + u2 * (-768.0 + u2 * (320.0 - 175.0 * u2)));
    double B = u2 / 1024.0 * (256.0 + u2 * (-128.0 + u2 * (74.0 - 47.0 * u2)));
    double d_sigma = B * sin_sigma *
                     (cos_2sm + B / 4.0 *
                                    (cos_sigma * (-1.0 + 2.0 * cos_2sm * cos_2sm) -
                                     B / 6.0 * cos_2sm * (-3.0 + 4.0 * sin_sigma * sin_sigma) *
                                         (-3.0 + 4.0 * cos_2sm * cos_2sm)));
    *s = WGS84_B * A * (sigma - d_sigma);
    return 0;
}

/* The point at angular distance rho (radians) and azimuth az from lon/lat on a sphere (used
 * only to place intermediate points; any placement works). */
static void sphere_dest(double lon, double lat, double az, double rho, double *olon, double *olat)
{
    double p1 = lat * DEG;
    double p2 = asin(fmax(-1.0, fmin(1.0, sin(p1) * cos(rho) + cos(p1) * sin(rho) * cos(az))));
    double dl = atan2(sin(az) * sin(rho) * cos(p1), cos(rho) - sin(p1) * sin(p2));
    *olat = p2 / DEG;
    *olon = remainder(lon + dl / DEG, 360.0);
}

struct leg_ctx {
    double lon1, lat1, lon2, lat2;
};

/* Length of the path A -> M -> B where M is at spherical distance pi/2 from A, azimuth az. */
static double two_legs(const struct leg_ctx *c, double az)
{
    double mlon, mlat, s1, s2;
    sphere_dest(c->lon1, c->lat1, az, M_PI / 2.0, &mlon, &mlat);
    if (vincenty(c->lon1, c->lat1, mlon, mlat, &s1) != 0 ||
        vincenty(mlon, mlat, c->lon2, c->lat2, &s2) != 0)
        return INFINITY;
    return s1 + s2;
}

/*
 * Nearly antipodal points. The geodesic from A to B crosses the set of points at spherical
 * distance pi/2 from A (a closed curve separating A from B), and for a point M on that curve
 * d(A,M) + d(M,B) >= d(A,B) with equality exactly when M lies on a shortest geodesic. Both legs
 * are about a quarter of the globe, where Vincenty converges. So: scan the azimuth of M
 * coarsely, then refine the best bracket with a golden-section search.
 */
static double geodesic_fallback(double lon1, double lat1, double lon2, double lat2)
{
    struct leg_ctx c = {lon1, lat1, lon2, lat2};
    const int n = 180;
    double best = INFINITY, best_az = 0.0;
    for (int i = 0; i < n; i++) {
        double az = 2.0 * M_PI * i / n;
        double v = two_legs(&c, az);
        if (v < best) {
            best = v;
            best_az = az;
        }
    }
    double lo = best_az - 2.0 * M_PI / n, hi = best_az + 2.0 * M_PI / n;
    const double g = (sqrt(5.0) - 1.0) / 2.0;
    double x1 = hi - g * (hi - lo), x2 = lo + g * (hi - lo);
    double f1 = two_legs(&c, x1), f2 = two_legs(&c, x2);
    for (int i = 0; i < 80 && hi - lo > 1e-13; i++) {
        if (f1 <= f2) {
            hi = x2;
            x2 = x1;
            f2 = f1;
            x1 = hi - g * (hi - lo);
            f1 = two_legs(&c, x1);
        } else {
            lo = x1;
            x1 = x2;
            f1 = f2;
            x2 = lo + g * (hi - lo);
            f2 = two_legs(&c, x2);
        }
    }
    best = fmin(best, fmin(f1, f2));
    if (!isfinite(best)) /* cannot happen for valid coordinates; a mean-sphere estimate */
        best = 6371008.8 * M_PI;
    return best;
}

double pl_geodesic_distance(double lon1, double lat1, double lon2, double lat2)
{
    double s;
    if (!isfinite(lon1) || !isfinite(lat1) || !isfinite(lon2) || !isfinite(lat2))
        return NAN;
    if (vincenty(lon1, lat1, lon2, lat2, &s) == 0)
        return s;
    return geodesic_fallback(lon1, lat1, lon2, lat2);
}

/*
 * Bounds. On the ellipsoid ds^2 = (M dphi)^2 + (p dlambda)^2 with M the meridional radius of
 * curvature, minimal at the equator (a (1 - e^2)), and p = a cos(phi) / sqrt(1 - e^2 sin^2 phi)
 * the radius of the parallel. Along ANY path of length d (the geodesic in particular, and each
 * of its points is within d) the latitude changes by at most d / M_min, and the longitude by at
 * most d / p_min where p_min is p at the largest |latitude| reachable. A small relative margin
 * covers rounding.
 */
#define BBOX_MARGIN 1e-9

static void bbox_core(double lon, double lat, double metres, double out[4], int *wrap)
{
    const double e2 = WGS84_F * (2.0 - WGS84_F);
    *wrap = 0;
    if (isnan(metres) || !isfinite(lon) || !isfinite(lat)) {
        out[0] = -180.0, out[1] = -90.0, out[2] = 180.0, out[3] = 90.0;
        return;
    }
    if (metres < 0)
        metres = 0;
    /* M(phi) = a (1 - e^2) / (1 - e^2 sin^2 phi)^1.5 grows with |phi|: bound with M at the
     * equator first, then with M at the smallest |latitude| of that first band */
    double dlat = metres / (WGS84_A * (1.0 - e2)) / DEG;
    double lo = lat - dlat, hi = lat + dlat;
    double phimin = (lo <= 0.0 && hi >= 0.0) ? 0.0 : fmin(fabs(lo), fabs(hi)) * DEG;
    double sm = sin(phimin);
    dlat = metres / (WGS84_A * (1.0 - e2) / pow(1.0 - e2 * sm * sm, 1.5)) / DEG;
    dlat = dlat * (1.0 + BBOX_MARGIN) + BBOX_MARGIN;
    double miny = lat - dlat, maxy = lat + dlat;
    if (miny <= -90.0 || maxy >= 90.0) {
        out[0] = -180.0;
        out[1] = fmax(-90.0, miny);
        out[2] = 180.0;
        out[3] = fmin(90.0, maxy);
        return;
    }
    double phi = fmax(fabs(miny), fabs(maxy)) * DEG;
    double sp = sin(phi);
    double p = WGS84_A * cos(phi) / sqrt(1.0 - e2 * sp * sp);
    double dlon = metres / p / DEG;
    dlon = dlon * (1.0 + BBOX_MARGIN) + BBOX_MARGIN;
    out[1] = miny;
    out[3] = maxy;
    if (dlon >= 180.0) {
        out[0] = -180.0;
        out[2] = 180.0;
        return;
    }
    out[0] = lon - dlon;
    out[2] = lon + dlon;
    if (out[0] < -180.0 || out[2] > 180.0)
        *wrap = 1;
}

void pl_geo_bbox_around(double lon, double lat, double metres, double out[4])
{
    int wrap;
    bbox_core(lon, lat, metres, out, &wrap);
    if (wrap) {
        out[0] = -180.0;
        out[2] = 180.0;
    }
}

int pl_geo_bbox_around_split(double lon, double lat, double metres, double out[2][4])
{
    int wrap;
    double b[4];
    bbox_core(lon, lat, metres, b, &wrap);
    memcpy(out[0], b, sizeof b);
    if (!wrap)
        return 1;
    memcpy(out[1], b, sizeof b);
    if (b[0] < -180.0) { /* [b0+360, 180] and [-180, b2] */
        out[0][0] = -180.0;
        out[1][0] = b[0] + 360.0;
        out[1][2] = 180.0;
    } else { /* [b0, 180] and [-180, b2-360] */
        out[0][0] = -180.0;
        out[0][2] = b[2] - 360.0;
        out[1][2] = 180.0;
    }
    return 2;
}

/* ============================================================================================
 * Planar predicates (lon/lat as x/y)
 * ========================================================================================== */

enum loc { LOC_EXT = 0, LOC_BND = 1, LOC_INT = 2 };

static void xy(const json_t *p, double *x, double *y)
{
    *x = json_number_value(json_array_get(p, 0));
    *y = json_number_value(json_array_get(p, 1));
}

static int same_xy(const json_t *a, const json_t *b)
{
    double ax, ay, bx, by;
    xy(a, &ax, &ay);
    xy(b, &bx, &by);
    return ax == bx && ay == by;
}

static int orient(double ax, double ay, double bx, double by, double cx, double cy)
{
    double d = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
    return (d > 0) - (d < 0);
}

/* c is in the bounding box of segment ab (with orient == 0: on the segment). */
static int in_seg_box(double ax, double ay, double bx, double by, double cx, double cy)
{
    return fmin(ax, bx) <= cx && cx <= fmax(ax, bx) && fmin(ay, by) <= cy && cy <= fmax(ay, by);
}

static int on_segment(double ax, double ay, double bx, double by, double px, double py)
{
    return orient(ax, ay, bx, by, px, py) == 0 && in_seg_box(ax, ay, bx, by, px, py);
}

/* Closed segments pq and rs share a point. */
static int seg_intersect(const double p[2], const double q[2], const double r[2], const double s[2])
{
    int d1 = orient(r[0], r[1], s[0], s[1], p[0], p[1]);
    int d2 = orient(r[0], r[1], s[0], s[1], q[0], q[1]);
    int d3 = orient(p[0], p[1], q[0], q[1], r[0], r[1]);
    int d4 = orient(p[0], p[1], q[0], q[1], s[0], s[1]);
    if (d1 * d2 < 0 && d3 * d4 < 0)
        return 1;
    return (d1 == 0 && in_seg_box(r[0], r[1], s[0], s[1], p[0], p[1])) ||
           (d2 == 0 && in_seg_box(r[0], r[1], s[0], s[1], q[0], q[1])) ||
           (d3 == 0 && in_seg_box(p[0], p[1], q[0], q[1], r[0], r[1])) ||
           (d4 == 0 && in_seg_box(p[0], p[1], q[0], q[1], s[0], s[1]));
}

/* A point against a path (array of positions) seen as a polyline. */
static int on_path(const json_t *path, double px, double py)
{
    size_t n = json_array_size(path);
    for (size_t i = 0; i + 1 < n; i++) {
        double ax, ay, bx, by;
        xy(json_array_get(path, i), &ax, &ay);
        xy(json_array_get(path, i + 1), &bx, &by);
        if (on_segment(ax, ay, bx, by, px, py))
            return 1;
    }
    if (n == 1) {
        double ax, ay;
        xy(json_array_get(path, 0), &ax, &ay);
        return ax == px && ay == py;
    }
    return 0;
}

/* A point against a closed linear ring: boundary, interior (even-odd rule) or exterior. */
static enum loc ring_locate(const json_t *ring, double px, double py)
{
    if (on_path(ring, px, py))
        return LOC_BND;
    size_t n = json_array_size(ring);
    int in = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        double ax, ay, bx, by;
        xy(json_array_get(ring, i), &ax, &ay);
        xy(json_array_get(ring, i + 1), &bx, &by);
        if ((ay > py) != (by > py) && px < (bx - ax) * (py - ay) / (by - ay) + ax)
            in = !in;
    }
    return in ? LOC_INT : LOC_EXT;
}

/* A Polygon's rings: the first is the exterior ring, the others holes. */
static enum loc poly_locate(const json_t *rings, double px, double py)
{
    enum loc l = ring_locate(json_array_get(rings, 0), px, py);
    if (l != LOC_INT)
        return l;
    for (size_t i = 1; i < json_array_size(rings); i++) {
        enum loc h = ring_locate(json_array_get(rings, i), px, py);
        if (h == LOC_BND)
            return LOC_BND;
        if (h == LOC_INT)
            return LOC_EXT;
    }
    return LOC_INT;
}

/* A point against one path seen as a LineString: on the boundary when it is an end point of a
 * non-closed path. MultiLineString combines these with the OGC mod-2 rule (see locate). */
static enum loc line_locate(const json_t *p, double px, double py)
{
    if (!on_path(p, px, py))
        return LOC_EXT;
    size_t k = json_array_size(p);
    const json_t *first = json_array_get(p, 0), *last = json_array_get(p, k - 1);
    if (same_xy(first, last))
        return LOC_INT; /* a closed line has no boundary */
    double fx, fy, lx, ly;
    xy(first, &fx, &fy);
    xy(last, &lx, &ly);
    return ((fx == px && fy == py) || (lx == px && ly == py)) ? LOC_BND : LOC_INT;
}

struct geom {
    enum gt t;
    const json_t *c; /* coordinates */
};

static enum loc locate(const struct geom *g, double px, double py)
{
    switch (g->t) {
    case GT_POINT: {
        double x, y;
        xy(g->c, &x, &y);
        return (x == px && y == py) ? LOC_INT : LOC_EXT;
    }
    case GT_MPOINT:
        for (size_t i = 0; i < json_array_size(g->c); i++) {
            double x, y;
            xy(json_array_get(g->c, i), &x, &y);
            if (x == px && y == py)
                return LOC_INT;
        }
        return LOC_EXT;
    case GT_LINE:
        return line_locate(g->c, px, py);
    case GT_MLINE: {
        /* mod-2 rule over all the paths: per path, BND means "an end point of it" */
        int on = 0, ends = 0;
        for (size_t i = 0; i < json_array_size(g->c); i++) {
            const json_t *p = json_array_get(g->c, i);
            enum loc l = line_locate(p, px, py);
            if (l == LOC_EXT)
                continue;
            on = 1;
            ends += l == LOC_BND;
        }
        return !on ? LOC_EXT : (ends & 1) ? LOC_BND : LOC_INT;
    }
    case GT_POLY:
        return poly_locate(g->c, px, py);
    case GT_MPOLY: {
        enum loc best = LOC_EXT;
        for (size_t i = 0; i < json_array_size(g->c); i++) {
            enum loc l = poly_locate(json_array_get(g->c, i), px, py);
            if (l > best)
                best = l;
        }
        return best;
    }
    default:
        return LOC_EXT;
    }
}

static int is_pointset(enum gt t)
{
    return t == GT_POINT || t == GT_MPOINT;
}

static size_t ps_count(const struct geom *g)
{
    return g->t == GT_POINT ? 1 : json_array_size(g->c);
}

static void ps_xy(const struct geom *g, size_t i, double *x, double *y)
{
    xy(g->t == GT_POINT ? g->c : json_array_get(g->c, i), x, y);
}

/* Point set A within G (DE-9IM T*F**F***: no point outside G, one in G's interior). */
static int ps_within(const struct geom *a, const struct geom *g)
{
    int inside = 0;
    for (size_t i = 0; i < ps_count(a); i++) {
        double x, y;
        ps_xy(a, i, &x, &y);
        enum loc l = locate(g, x, y);
        if (l == LOC_EXT)
            return 0;
        inside |= l == LOC_INT;
    }
    return inside;
}

static int ps_intersects(const struct geom *a, const struct geom *g)
{
    for (size_t i = 0; i < ps_count(a); i++) {
        double x, y;
        ps_xy(a, i, &x, &y);
        if (locate(g, x, y) != LOC_EXT)
            return 1;
    }
    return 0;
}

/* Point set A contains G: only a point set can be within a point set. */
static int ps_contains(const struct geom *a, const struct geom *g)
{
    return is_pointset(g->t) && ps_within(g, a);
}

/* Two point sets overlap when they share a point and each has a point the other lacks. */
static int ps_overlaps(const struct geom *a, const struct geom *g)
{
    if (!is_pointset(g->t))
        return 0; /* different dimensions never overlap */
    int common = 0, a_only = 0, g_only = 0;
    for (size_t i = 0; i < ps_count(a); i++) {
        double x, y;
        ps_xy(a, i, &x, &y);
        if (locate(g, x, y) != LOC_EXT)
            common = 1;
        else
            a_only = 1;
    }
    for (size_t i = 0; i < ps_count(g); i++) {
        double x, y;
        ps_xy(g, i, &x, &y);
        if (locate(a, x, y) == LOC_EXT)
            g_only = 1;
    }
    return common && a_only && g_only;
}

/* The paths (arrays of positions) of a line or polygon geometry, one at a time. */
static const json_t *path_next(const struct geom *g, size_t *i, size_t *j)
{
    switch (g->t) {
    case GT_LINE:
        return (*i)++ == 0 ? g->c : NULL;
    case GT_MLINE:
    case GT_POLY:
        return json_array_get(g->c, (*i)++);
    case GT_MPOLY:
        for (;;) {
            const json_t *poly = json_array_get(g->c, *i);
            if (!poly)
                return NULL;
            const json_t *ring = json_array_get(poly, (*j)++);
            if (ring)
                return ring;
            (*i)++;
            *j = 0;
        }
    default:
        return NULL;
    }
}

static int paths_cross(const json_t *pa, const json_t *pb)
{
    size_t na = json_array_size(pa), nb = json_array_size(pb);
    for (size_t i = 0; i + 1 < na; i++) {
        double p[2], q[2];
        xy(json_array_get(pa, i), &p[0], &p[1]);
        xy(json_array_get(pa, i + 1), &q[0], &q[1]);
        for (size_t k = 0; k + 1 < nb; k++) {
            double r[2], s[2];
            xy(json_array_get(pb, k), &r[0], &r[1]);
            xy(json_array_get(pb, k + 1), &s[0], &s[1]);
            if (seg_intersect(p, q, r, s))
                return 1;
        }
    }
    return 0;
}

static int is_areal(enum gt t)
{
    return t == GT_POLY || t == GT_MPOLY;
}

/* Some vertex of a's paths lies in the closure of the areal geometry g. */
static int vertex_in(const struct geom *a, const struct geom *g)
{
    size_t i = 0, j = 0;
    const json_t *p;
    while ((p = path_next(a, &i, &j)) != NULL) {
        double x, y;
        xy(json_array_get(p, 0), &x, &y);
        if (locate(g, x, y) != LOC_EXT)
            return 1;
    }
    return 0;
}

/* Intersects for two line/polygon geometries: their boundaries (paths) cross or touch, or one
 * lies inside the other (then a vertex of each of its paths is inside). */
static int lp_intersects(const struct geom *a, const struct geom *b)
{
    size_t i = 0, j = 0;
    const json_t *pa;
    while ((pa = path_next(a, &i, &j)) != NULL) {
        size_t k = 0, l = 0;
        const json_t *pb;
        while ((pb = path_next(b, &k, &l)) != NULL) {
            if (paths_cross(pa, pb))
                return 1;
        }
    }
    return (is_areal(b->t) && vertex_in(a, b)) || (is_areal(a->t) && vertex_in(b, a));
}

/* ============================================================================================
 * Evaluation
 * ========================================================================================== */

/*
 * near: the distance of the entity geometry to the query point is the OGC one, the SMALLEST
 * geodesic distance from the point to any point of the geometry (as SpatiaLite's
 * ST_Distance(g, p, 1) and other brokers' $near / ST_DWithin). maxDistance==d: distance <= d;
 * minDistance==d: distance >= d. (4.10 words maxDistance as "within the buffer", which read
 * literally would bound the farthest point; for Point entities the two readings agree.)
 */
/* `eg` is the entity geometry `e` reads. */
static int near_match(const struct pl_geoq *q, const struct geom *e, const json_t *eg)
{
    double qx, qy;
    xy(json_object_get(q->geometry, "coordinates"), &qx, &qy);
    int has_max = q->max_distance >= 0, has_min = q->min_distance >= 0;
    if (has_max && has_min && q->min_distance > q->max_distance)
        return 0; /* an empty ring */
    if (is_pointset(e->t)) {
        /* points outside the box are farther than maxDistance: they cannot lower the
         * minimum below it, and (min <= max) they satisfy minDistance */
        double bb[4] = {-180.0, -90.0, 180.0, 90.0};
        if (has_max)
            pl_geo_bbox_around(qx, qy, q->max_distance, bb);
        double dmin = INFINITY;
        for (size_t k = 0; k < ps_count(e); k++) {
            double x, y;
            ps_xy(e, k, &x, &y);
            if (x < bb[0] || x > bb[2] || y < bb[1] || y > bb[3])
                continue;
            double d = pl_geodesic_distance(qx, qy, x, y);
            if (d < dmin)
                dmin = d;
        }
        return (!has_max || dmin <= q->max_distance) && (!has_min || dmin >= q->min_distance);
    }
    /* lines and polygons: the point on the geometry (or inside a polygon) is at distance 0;
     * otherwise the nearest vertex bounds the distance from above only */
    if (locate(e, qx, qy) != LOC_EXT)
        return !has_min;
    double vmin = INFINITY;
    size_t i = 0, j = 0;
    const json_t *p;
    while ((p = path_next(e, &i, &j)) != NULL) {
        for (size_t k = 0; k < json_array_size(p); k++) {
            double x, y;
            xy(json_array_get(p, k), &x, &y);
            double d = pl_geodesic_distance(qx, qy, x, y);
            if (d < vmin)
                vmin = d;
        }
    }
    if (has_min && vmin < q->min_distance)
        return 0;
    if (has_max && !has_min && vmin <= q->max_distance)
        return 1;
    /* the nearest point may lie inside a segment: GEOS finds it (planar), then its geodesic
     * distance (SpatiaLite's ellipsoidal ST_Distance agrees but within millimetres) */
    double nx, ny;
    if (pl_geoq__geos_nearest(eg, qx, qy, &nx, &ny) != 0)
        return -1;
    double d = pl_geodesic_distance(qx, qy, nx, ny);
    return (!has_max || d <= q->max_distance) && (!has_min || d >= q->min_distance);
}

int pl_geoq_match_geometry(const struct pl_geoq *q, const json_t *entity_geometry)
{
    if (!q || !q->geometry)
        return -1;
    struct pl_err verr;
    pl_err_clear(&verr);
    if (pl_geojson_validate(entity_geometry, &verr) != 0)
        return 0;
    struct geom e = {gtype(entity_geometry), json_object_get(entity_geometry, "coordinates")};
    struct geom g = {gtype(q->geometry), json_object_get(q->geometry, "coordinates")};
    if (e.t == GT_OTHER || g.t == GT_OTHER)
        return -1; /* GeometryCollection */
    if (q->rel == PL_GEOREL_NEAR)
        return g.t == GT_POINT ? near_match(q, &e, entity_geometry) : -1;

    double eb[4];
    bbox_of(e.c, eb);
    if (eb[2] < q->bbox[0] || eb[0] > q->bbox[2] || eb[3] < q->bbox[1] || eb[1] > q->bbox[3])
        return q->rel == PL_GEOREL_DISJOINT;

    if (is_pointset(e.t)) {
        switch (q->rel) {
        case PL_GEOREL_WITHIN:
            return ps_within(&e, &g);
        case PL_GEOREL_CONTAINS:
            return ps_contains(&e, &g);
        case PL_GEOREL_INTERSECTS:
            return ps_intersects(&e, &g);
        case PL_GEOREL_DISJOINT:
            return !ps_intersects(&e, &g);
        case PL_GEOREL_EQUALS:
            return ps_contains(&e, &g) && ps_within(&e, &g);
        case PL_GEOREL_OVERLAPS:
            return ps_overlaps(&e, &g);
        default:
            return -1;
        }
    }
    if (is_pointset(g.t)) { /* entity is a line or polygon, the query a point set */
        switch (q->rel) {
        case PL_GEOREL_WITHIN: /* Within(E, Q) == Contains(Q, E) */
            return ps_contains(&g, &e);
        case PL_GEOREL_CONTAINS: /* Contains(E, Q) == Within(Q, E) */
            return ps_within(&g, &e);
        case PL_GEOREL_INTERSECTS:
            return ps_intersects(&g, &e);
        case PL_GEOREL_DISJOINT:
            return !ps_intersects(&g, &e);
        case PL_GEOREL_EQUALS:
        case PL_GEOREL_OVERLAPS:
            return 0; /* different dimensions */
        default:
            return -1;
        }
    }
    switch (q->rel) {
    case PL_GEOREL_INTERSECTS:
        return lp_intersects(&e, &g);
    case PL_GEOREL_DISJOINT:
        return !lp_intersects(&e, &g);
    case PL_GEOREL_EQUALS:
        if (e.t == g.t && json_equal(e.c, g.c))
            return 1;
        return pl_geoq__geos_relate(q->rel, entity_geometry, q->geometry);
    default: /* within, contains, overlaps between lines and polygons */
        return pl_geoq__geos_relate(q->rel, entity_geometry, q->geometry);
    }
}

int pl_geoq_match(const struct pl_geoq *q, const char *geoproperty_iri, const json_t *entity)
{
    const json_t *insts = json_object_get(json_object_get(entity, "attrs"),
                                          geoproperty_iri ? geoproperty_iri : PL_GEOQ_LOCATION_IRI);
    int result = 0;
    for (size_t i = 0; i < json_array_size(insts); i++) {
        const json_t *inst = json_array_get(insts, i);
        const char *t = json_string_value(json_object_get(inst, "type"));
        if (!t || strcmp(t, "GeoProperty") != 0)
            continue;
        int m = pl_geoq_match_geometry(q, json_object_get(inst, "value"));
        if (m == 1)
            return 1;
        if (m < 0)
            result = -1;
    }
    return result;
}
