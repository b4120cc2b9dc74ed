/* SPDX-License-Identifier: Apache-2.0 */
/*
 * order.c — Entity Ordering (4.23): orderBy parsing on top of the q path syntax, the 4.23.2
 * comparison, ICU collation, Haversine distances. The contract is in order.h.
 */
#include "query/order.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unicode/uloc.h>
#include <unicode/ucol.h>

#include "query/geoq.h"
#include "query/geoq_int.h"
#include "query/q.h"

enum member { M_ATTR, M_ID, M_TYPE, M_SCOPE, M_CREATED, M_MODIFIED };

struct key {
    enum member member;
    struct pl_q_node *path; /* M_ATTR: a one-term q tree (EXISTS) holding the path */
    int desc;
    int dist;
};

struct pl_order {
    struct key *keys;
    size_t n_keys;
    UCollator *coll;  /* owned */
    struct pl_geoq *from; /* orderFrom as a geometry (owned), NULL when absent */
};

/* The value classes of 4.23.2, in their order. */
enum cls { C_NUM, C_STR, C_OBJ, C_ARR, C_BOOL, C_TIME, C_DATE, C_DATETIME, C_NULL, C_ABSENT };

struct val {
    int rank;        /* the class (dist: 0 for a distance, 1 + class otherwise) */
    double num;      /* number, bool, DateTime ms, distance */
    const char *str; /* string (borrowed from the entity, or `owned`) */
    char *owned;     /* objects and arrays: their canonical text */
};

/* ---------------------------------------------------------------------------------------------
 * Parsing
 * ------------------------------------------------------------------------------------------ */
static const struct {
    const char *name;
    enum member m;
} members[] = {{"id", M_ID},
               {"type", M_TYPE},
               {"scope", M_SCOPE},
               {"createdAt", M_CREATED},
               {"modifiedAt", M_MODIFIED}};

void pl_order_free(struct pl_order *o)
{
    if (!o)
        return;
    for (size_t i = 0; i < o->n_keys; i++)
        pl_q_free(o->keys[i].path);
    free(o->keys);
    if (o->coll)
        ucol_close(o->coll);
    pl_geoq_free(o->from);
    free(o);
}

static int parse_term(const char *s, size_t n, struct key *k, struct pl_err *err)
{
    const char *semi = memchr(s, ';', n);
    size_t pn = semi ? (size_t)(semi - s) : n;
    if (semi) {
        const char *d = semi + 1;
        size_t dn = n - pn - 1;
        if (dn == 3 && strncmp(d, "asc", 3) == 0) {
        } else if (dn == 4 && strncmp(d, "desc", 4) == 0) {
            k->desc = 1;
        } else if (dn == 8 && strncmp(d, "dist-asc", 8) == 0) {
            k->dist = 1;
        } else if (dn == 9 && strncmp(d, "dist-desc", 9) == 0) {
            k->dist = 1;
            k->desc = 1;
        } else {
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "orderBy: unknown direction '%.*s' (asc, desc, dist-asc, dist-desc)",
                              (int)(dn > 40 ? 40 : dn), d);
        }
    }
    if (pn == 0)
        return pl_err_set(err, PL_EBADREQUESTDATA, "orderBy: a term has no attribute name");
    for (size_t i = 0; i < sizeof members / sizeof members[0]; i++) {
        if (strlen(members[i].name) == pn && strncmp(members[i].name, s, pn) == 0) {
            if (k->dist)
                return pl_err_set(err, PL_EBADREQUESTDATA,
                                  "orderBy: %s cannot be ordered by distance", members[i].name);
            k->member = members[i].m;
            return 0;
        }
    }
    char *text = strndup(s, pn);
    if (!text)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    struct pl_err qerr;
    pl_err_clear(&qerr);
    /* a path only: the q operators, groups and spaces q would also accept are not one */
    int rc = strpbrk(text, "()|!=<>~ \t") ? PL_EBADREQUESTDATA : pl_q_parse(text, &k->path, &qerr);
    if (rc == 0 && (k->path->kind != PL_Q_TERM || k->path->term.op != PL_QOP_EXISTS))
        rc = PL_EBADREQUESTDATA;
    if (rc == 0 && k->dist && (k->path->term.n_path != 1 || k->path->term.n_trail))
        rc = pl_err_set(&qerr, PL_EBADREQUESTDATA, "a distance needs a GeoProperty name");
    if (rc != 0)
        pl_err_set(err, rc == PL_ENOMEM ? PL_ENOMEM : PL_EBADREQUESTDATA,
                   "orderBy: '%.100s' is not an attribute path (4.23.3, 4.9)%s%s", text,
                   qerr.detail[0] ? ": " : "", qerr.detail);
    free(text);
    k->member = M_ATTR;
    return rc;
}

static int collator_open(const char *tag, UCollator **out, struct pl_err *err)
{
    char locale[ULOC_FULLNAME_CAPACITY];
    int32_t parsed = 0;
    UErrorCode st = U_ZERO_ERROR;
    if (!tag || !*tag) {
        locale[0] = '\0'; /* the root collation, "und-x-icu" */
    } else {
        uloc_forLanguageTag(tag, locale, (int32_t)sizeof locale, &parsed, &st);
        if (U_FAILURE(st) || parsed != (int32_t)strlen(tag) || st == U_STRING_NOT_TERMINATED_WARNING)
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "collation: '%.100s' is not a valid ICU collation (RFC 6067)", tag);
    }
    st = U_ZERO_ERROR;
    *out = ucol_open(locale, &st);
    if (U_FAILURE(st) || !*out)
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "collation: '%.100s' is not a valid ICU collation (RFC 6067)", tag);
    return 0;
}

int pl_order_parse(const char *order_by, const char *collation, const char *order_from,
                   const char *order_geometry, struct pl_order **out, struct pl_err *err)
{
    *out = NULL;
    if (!order_by || !*order_by)
        return pl_err_set(err, PL_EBADREQUESTDATA, "orderBy must not be empty");
    struct pl_order *o = calloc(1, sizeof *o);
    size_t cap = 1;
    for (const char *p = order_by; *p; p++)
        cap += *p == ',';
    if (!o || !(o->keys = calloc(cap, sizeof *o->keys))) {
        free(o);
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    }
    int rc = 0, dist = 0;
    for (const char *s = order_by; rc == 0;) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        rc = parse_term(s, n, &o->keys[o->n_keys], err);
        if (o->keys[o->n_keys].path || rc == 0)
            o->n_keys++;
        dist |= rc == 0 && o->keys[o->n_keys - 1].dist;
        if (!comma)
            break;
        s = comma + 1;
    }
    if (rc == 0)
        rc = collator_open(collation, &o->coll, err);
    if (rc == 0 && dist && !order_from)
        rc = pl_err_set(err, PL_EBADREQUESTDATA,
                        "orderBy by distance needs orderFrom (5.7.2.4)");
    if (rc == 0 && (order_from || order_geometry)) {
        struct pl_err gerr;
        pl_err_clear(&gerr);
        if (pl_geoq_parse("intersects", order_geometry ? order_geometry : "Point",
                          order_from ? order_from : "", NULL, &o->from, &gerr) != 0)
            rc = pl_err_set(err, gerr.code == PL_ENOMEM ? PL_ENOMEM : PL_EBADREQUESTDATA,
                            "orderFrom/orderGeometry: %s", gerr.detail);
    }
    if (rc != 0) {
        pl_order_free(o);
        return rc;
    }
    *out = o;
    return 0;
}

int pl_order_resolve(struct pl_order *o, const struct pl_ctx *ctx, struct pl_err *err)
{
    for (size_t i = 0; i < o->n_keys; i++)
        if (o->keys[i].path && pl_q_resolve(o->keys[i].path, ctx, err) != 0)
            return PL_EBADREQUESTDATA;
    return 0;
}

int pl_order_is_id_only(const struct pl_order *o, int *desc)
{
    *desc = o->n_keys == 1 && o->keys[0].desc;
    return o->n_keys == 1 && o->keys[0].member == M_ID;
}

/* ---------------------------------------------------------------------------------------------
 * Values
 * ------------------------------------------------------------------------------------------ */
static const char *first_string(const json_t *v)
{
    return json_is_array(v) ? json_string_value(json_array_get(v, 0)) : json_string_value(v);
}

/* The default instance (no datasetId) of an array of instances, else the first; or `v`
 * itself when it is one instance object. */
static const json_t *pick_instance(const json_t *v)
{
    if (json_is_object(v))
        return v;
    size_t i;
    const json_t *inst;
    json_array_foreach (v, i, inst)
        if (!json_object_get(inst, "datasetId"))
            return inst;
    return json_array_get(v, 0);
}

static const char *const payloads[][2] = {
    {"Property", "value"},          {"GeoProperty", "value"},     {"Relationship", "object"},
    {"LanguageProperty", "languageMap"}, {"VocabProperty", "vocab"}, {"JsonProperty", "json"},
    {"ListProperty", "valueList"},  {"ListRelationship", "objectList"}};

static const json_t *payload(const json_t *inst)
{
    const char *t = json_string_value(json_object_get(inst, "type"));
    for (size_t i = 0; t && i < sizeof payloads / sizeof payloads[0]; i++)
        if (strcmp(t, payloads[i][0]) == 0)
            return json_object_get(inst, payloads[i][1]);
    return NULL;
}

static int is_typed(const json_t *v, const char *name)
{
    const char *t = json_string_value(json_object_get(v, "@type"));
    if (!t || !json_is_string(json_object_get(v, "@value")))
        return 0;
    if (strcmp(t, name) == 0)
        return 1;
    return strncmp(t, "https://uri.etsi.org/ngsi-ld/", 29) == 0 && strcmp(t + 29, name) == 0;
}

static void classify(const json_t *v, struct val *out)
{
    out->str = NULL;
    out->num = 0;
    if (!v) {
        out->rank = C_ABSENT;
    } else if (json_is_number(v)) {
        out->rank = C_NUM;
        out->num = json_number_value(v);
    } else if (json_is_string(v)) {
        out->rank = C_STR;
        out->str = json_string_value(v);
    } else if (json_is_boolean(v)) {
        out->rank = C_BOOL;
        out->num = json_is_true(v);
    } else if (json_is_null(v)) {
        out->rank = C_NULL;
    } else if (is_typed(v, "DateTime")) {
        out->rank = C_DATETIME;
        out->str = json_string_value(json_object_get(v, "@value"));
        if (pl_q_parse_datetime(out->str, &out->num) != 0)
            out->num = NAN;
    } else if (is_typed(v, "Date") || is_typed(v, "Time")) {
        out->rank = is_typed(v, "Date") ? C_DATE : C_TIME;
        out->str = json_string_value(json_object_get(v, "@value"));
    } else {
        out->rank = json_is_array(v) ? C_ARR : C_OBJ;
        out->owned = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        out->str = out->owned ? out->owned : "";
    }
}

static void datetime_val(const char *s, struct val *out)
{
    if (!s) {
        out->rank = C_ABSENT;
        return;
    }
    out->rank = C_DATETIME;
    out->str = s;
    if (pl_q_parse_datetime(s, &out->num) != 0)
        out->num = NAN;
}

/* The JSON reached by the trail in `v` (member names; digits index arrays), or NULL. */
static const json_t *walk(const json_t *v, char *const *trail, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        if (json_is_array(v)) {
            char *end;
            unsigned long k = strtoul(trail[i], &end, 10);
            v = (*trail[i] && !*end) ? json_array_get(v, k) : NULL;
        } else {
            v = json_object_get(v, trail[i]);
        }
    }
    return v;
}

static double haversine(double lon1, double lat1, double lon2, double lat2)
{
    const double r = 6371008.8, rad = M_PI / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    return 2 * r * atan2(sqrt(a), sqrt(1 - a));
}

/* The distance of a GeoProperty's geometry to orderFrom, or -1 when it cannot be computed. */
static double distance(const struct pl_order *o, const json_t *geometry)
{
    const json_t *q = o->from->geometry;
    const char *gt = json_string_value(json_object_get(geometry, "type"));
    const char *qt = json_string_value(json_object_get(q, "type"));
    if (gt && qt && strcmp(gt, "Point") == 0 && strcmp(qt, "Point") == 0) {
        const json_t *a = json_object_get(geometry, "coordinates");
        const json_t *b = json_object_get(q, "coordinates");
        return haversine(json_number_value(json_array_get(a, 0)),
                         json_number_value(json_array_get(a, 1)),
                         json_number_value(json_array_get(b, 0)),
                         json_number_value(json_array_get(b, 1)));
    }
    double p[4];
    if (pl_geoq__geos_nearest_pair(geometry, q, p) != 0)
        return -1;
    return haversine(p[0], p[1], p[2], p[3]);
}

static void attr_val(const struct pl_order *o, const struct key *k, const json_t *e,
                     struct val *out)
{
    const struct pl_q_term *t = &k->path->term;
    char *const *names = t->path_iri ? t->path_iri : t->path;
    const json_t *inst = pick_instance(json_object_get(json_object_get(e, "attrs"), names[0]));
    size_t last = t->special ? t->n_path - 1 : t->n_path;
    for (size_t i = 1; inst && i < last; i++)
        inst = pick_instance(json_object_get(json_object_get(inst, "sub"), names[i]));
    if (k->dist) {
        const char *ty = json_string_value(json_object_get(inst, "type"));
        if (ty && strcmp(ty, "GeoProperty") == 0) {
            double d = distance(o, json_object_get(inst, "value"));
            if (d >= 0) {
                out->rank = 0;
                out->num = d;
                return;
            }
        }
    }
    if (!inst) {
        classify(NULL, out);
    } else if (t->special) {
        const char *m = t->path[t->n_path - 1];
        const json_t *v = json_object_get(inst, m);
        if (strcmp(m, "unitCode") == 0 || strcmp(m, "datasetId") == 0)
            classify(v, out);
        else
            datetime_val(json_string_value(v), out);
    } else {
        classify(walk(payload(inst), t->trail, t->n_trail), out);
    }
    if (k->dist)
        out->rank += 1;
}

static void key_val(const struct pl_order *o, const struct key *k, const json_t *e,
                    struct val *out)
{
    out->owned = NULL;
    switch (k->member) {
    case M_ID:
        classify(json_object_get(e, "id"), out);
        break;
    case M_TYPE:
        out->rank = C_STR;
        out->str = first_string(json_object_get(e, "type"));
        if (!out->str)
            out->rank = C_ABSENT;
        break;
    case M_SCOPE:
        out->rank = C_STR;
        out->str = first_string(json_object_get(e, "scope"));
        if (!out->str)
            out->rank = C_ABSENT;
        break;
    case M_CREATED:
        datetime_val(json_string_value(json_object_get(e, "createdAt")), out);
        break;
    case M_MODIFIED:
        datetime_val(json_string_value(json_object_get(e, "modifiedAt")), out);
        break;
    case M_ATTR:
        attr_val(o, k, e, out);
        break;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Sorting
 * ------------------------------------------------------------------------------------------ */
struct row {
    struct pl_order_item item;
    const struct pl_order *o;
    struct val *v; /* one per key */
    const char *id;
};

static int cmp_num(double a, double b)
{
    if (isnan(a) || isnan(b))
        return isnan(a) - isnan(b);
    return (a > b) - (a < b);
}

static int cmp_val(const struct pl_order *o, const struct key *k, const struct val *a,
                   const struct val *b)
{
    int absent = k->dist ? C_ABSENT + 1 : C_ABSENT, null = k->dist ? C_NULL + 1 : C_NULL;
    int a_last = a->rank == absent || a->rank == null, b_last = b->rank == absent || b->rank == null;
    if (a_last || b_last) /* null and absent last, in either direction */
        return a_last && b_last ? (a->rank > b->rank) - (a->rank < b->rank) : a_last ? 1 : -1;
    int c;
    if (a->rank != b->rank) {
        c = a->rank < b->rank ? -1 : 1;
    } else {
        int cls = k->dist ? a->rank - 1 : a->rank;
        if (k->dist && a->rank == 0)
            cls = C_NUM;
        switch (cls) {
        case C_NUM:
        case C_BOOL:
            c = cmp_num(a->num, b->num);
            break;
        case C_DATETIME:
            c = cmp_num(a->num, b->num);
            if (c == 0)
                c = strcmp(a->str, b->str);
            break;
        case C_STR: {
            if (k->member == M_ID) { /* ids are URIs, not text: byte order */
                c = strcmp(a->str, b->str);
                break;
            }
            UErrorCode st = U_ZERO_ERROR;
            UCollationResult r = ucol_strcollUTF8(o->coll, a->str, -1, b->str, -1, &st);
            c = U_FAILURE(st) ? strcmp(a->str, b->str) : r == UCOL_LESS ? -1 : r == UCOL_GREATER;
            break;
        }
        default: /* Date, Time as text; objects and arrays by their canonical text */
            c = strcmp(a->str, b->str);
            break;
        }
    }
    return k->desc ? -c : c;
}

static int cmp_rows(const void *pa, const void *pb)
{
    const struct row *a = pa, *b = pb;
    const struct pl_order *o = a->o;
    for (size_t i = 0; i < o->n_keys; i++) {
        int c = cmp_val(o, &o->keys[i], &a->v[i], &b->v[i]);
        if (c)
            return c;
    }
    return strcmp(a->id ? a->id : "", b->id ? b->id : "");
}

int pl_order_sort(const struct pl_order *o, struct pl_order_item *items, size_t n)
{
    if (n < 2)
        return 0;
    struct row *rows = calloc(n, sizeof *rows);
    struct val *vals = calloc(n * o->n_keys, sizeof *vals);
    if (!rows || !vals) {
        free(rows);
        free(vals);
        return PL_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        rows[i].item = items[i];
        rows[i].o = o;
        rows[i].v = vals + i * o->n_keys;
        rows[i].id = json_string_value(json_object_get(items[i].entity, "id"));
        for (size_t k = 0; k < o->n_keys; k++)
            key_val(o, &o->keys[k], items[i].entity, &rows[i].v[k]);
    }
    qsort(rows, n, sizeof *rows, cmp_rows);
    for (size_t i = 0; i < n; i++)
        items[i] = rows[i].item;
    for (size_t i = 0; i < n * o->n_keys; i++)
        free(vals[i].owned);
    free(vals);
    free(rows);
    return 0;
}
