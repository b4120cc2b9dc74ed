/* SPDX-License-Identifier: Apache-2.0 */
/*
 * query.c — NGSI-LD queries (5.7.2) and discovery (5.7.5-5.7.10) on the SQLite backend.
 *
 * A query becomes ONE SQL statement over the index tables (backend.c's schema):
 *   etype(nid, pk)          type -> entities, in pk order
 *   aval(aid, k, v, pk)     attribute value -> entities (k = value class, query/q.h), and its
 *                           mirror aval_by_pk(pk, aid, k, v) for per-entity checks
 *   geo + geo_rtree         GeoProperty geometries and their R*Tree (with the entity key,
 *                           attribute and a point's coordinates as auxiliary columns)
 *   tcount(tnid, anid, kind, n)  discovery counters
 *
 * Plan. Each condition has two SQL forms: a DRIVER form that enumerates matching entity keys
 * from an index (type -> etype, q term -> aval range, geo -> R*Tree), and a CHECK form that
 * tests one entity through the per-entity indexes (EXISTS ... WHERE pk = e.pk). The planner
 * below picks as driver the top-level condition with the fewest matches — measured with
 * cheap capped counts on the same read transaction, so the choice follows the data, not
 * guesses — and checks the others per candidate. A single entity type drives as a join that
 * already delivers pk order, so `limit` stops the scan early. Rows are always ordered by pk, the
 * entity's unique key: paging is stable.
 *
 * Only what SQL cannot express through the indexes runs in C, and then only on the candidates
 * of the driver: q terms with sub-attribute or compound paths (pl_qterm, the q evaluator on the
 * stored body), idPattern (pl_re, POSIX regexec), and geo-queries without SpatiaLite.
 */
#include <math.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/log.h"
#include "base/strbuf.h"
#include "query/geoq.h"
#include "query/q.h"
#include "query/scopeq.h"
#include "query/typesel.h"
#include "store/sqlite/sqlite_int.h"
#include "store/store.h"
#include "store/store_int.h"

#define ESTIMATE_CAP 5000 /* capped counts: enough to tell small from large */

/* ------------------------------------------------------------------------------------------
 * SQL functions registered on every read connection
 * ---------------------------------------------------------------------------------------- */
#define PTR_REGEX "pl_regex"
#define PTR_QTERM "pl_qterm"
#define PTR_GEOQ  "pl_geoq"
#define PTR_SCOPE "pl_scopeq"
#define PTR_READ  "pl_read"

/* pl_re(regex pointer, text): 1 when the compiled POSIX regex matches. */
static void fn_re(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const regex_t *re = sqlite3_value_pointer(argv[0], PTR_REGEX);
    const unsigned char *z = sqlite3_value_text(argv[1]);
    if (!re || !z || sqlite3_value_type(argv[1]) != SQLITE_TEXT) {
        sqlite3_result_int(cx, 0);
        return;
    }
    sqlite3_result_int(cx, regexec(re, (const char *)z, 0, NULL, 0) == 0);
}

/* pl_scope1(scope pattern pointer, scope): 4.19 matching of one scope. */
static void fn_scope1(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const struct pl_scopeq *n = sqlite3_value_pointer(argv[0], PTR_SCOPE);
    const char *z = (const char *)sqlite3_value_text(argv[1]);
    sqlite3_result_int(cx, n && z && pl_scopeq_match_one(n, z) == 1);
}

/* Parses the stored body in argv[0]; NULL when it cannot. NEW reference. */
static json_t *arg_entity(sqlite3_value *v)
{
    const char *z = (const char *)sqlite3_value_text(v);
    if (!z)
        return NULL;
    return json_loadb(z, (size_t)sqlite3_value_bytes(v), 0, NULL);
}

/* pl_qterm(body, term pointer): the q evaluator on the stored entity. */
static void fn_qterm(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const struct pl_q_term *t = sqlite3_value_pointer(argv[1], PTR_QTERM);
    json_t *e = t ? arg_entity(argv[0]) : NULL;
    sqlite3_result_int(cx, e ? pl_q_term_match(t, e) == 1 : 0);
    json_decref(e);
}

struct geo_arg {
    const struct pl_geoq *q;
    const char *attr;
};

/* pl_geo(body, geo pointer): the geo evaluator on the stored entity (without SpatiaLite). */
static void fn_geo(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const struct geo_arg *g = sqlite3_value_pointer(argv[1], PTR_GEOQ);
    json_t *e = g ? arg_entity(argv[0]) : NULL;
    sqlite3_result_int(cx, e ? pl_geoq_match(g->q, g->attr, e) == 1 : 0);
    json_decref(e);
}

/* pl_geopt(geo pointer, x, y): the geo evaluator on a Point entity geometry. */
static void fn_geopt(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const struct geo_arg *g = sqlite3_value_pointer(argv[0], PTR_GEOQ);
    json_t *pt = g ? json_pack("{s:s,s:[f,f]}", "type", "Point", "coordinates",
                               sqlite3_value_double(argv[1]), sqlite3_value_double(argv[2]))
                   : NULL;
    sqlite3_result_int(cx, pt ? pl_geoq_match_geometry(g->q, pt) == 1 : 0);
    json_decref(pt);
}

/* pl_geodist(lon1, lat1, lon2, lat2): geodesic metres on WGS84. */
static void fn_geodist(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    for (int i = 0; i < 4; i++) {
        if (sqlite3_value_type(argv[i]) == SQLITE_NULL) {
            sqlite3_result_null(cx);
            return;
        }
    }
    sqlite3_result_double(cx, pl_geodesic_distance(
                                  sqlite3_value_double(argv[0]), sqlite3_value_double(argv[1]),
                                  sqlite3_value_double(argv[2]), sqlite3_value_double(argv[3])));
}

/* pl_rtype(read pointer, type IRI): the principal may read entities of this type (issue 12:
 * the caller's matcher, so SQL and the in-memory rule agree by construction). */
static void fn_rtype(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    const struct pl_store_read *rd = sqlite3_value_pointer(argv[0], PTR_READ);
    const char *z = (const char *)sqlite3_value_text(argv[1]);
    sqlite3_result_int(cx, rd && z && rd->type_readable && rd->type_readable(rd->ud, z));
}

int sq_register_functions(sqlite3 *db)
{
    int f = SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS;
    if (sqlite3_create_function_v2(db, "pl_re", 2, f, NULL, fn_re, NULL, NULL, NULL) ||
        sqlite3_create_function_v2(db, "pl_qterm", 2, f, NULL, fn_qterm, NULL, NULL, NULL) ||
        sqlite3_create_function_v2(db, "pl_geo", 2, f, NULL, fn_geo, NULL, NULL, NULL) ||
        sqlite3_create_function_v2(db, "pl_scope1", 2, f, NULL, fn_scope1, NULL, NULL, NULL) ||
        sqlite3_create_function_v2(db, "pl_geopt", 3, f, NULL, fn_geopt, NULL, NULL, NULL) ||
        sqlite3_create_function_v2(db, "pl_geodist", 4, f, NULL, fn_geodist, NULL, NULL, NULL) ||
        sqlite3_create_function_v2(db, "pl_rtype", 2, f, NULL, fn_rtype, NULL, NULL, NULL))
        return -1;
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * A statement under construction: SQL text and its parameters, in order ("?" each)
 * ---------------------------------------------------------------------------------------- */
enum bkind { B_TEXT, B_INT, B_DBL, B_PTR, B_BLOB };

struct bind {
    enum bkind kind;
    const char *s; /* TEXT; BLOB bytes */
    int64_t i;     /* INT; BLOB length */
    double d;
    const void *p; /* PTR */
    const char *ptype;
};

struct sqlb {
    struct pl_strbuf sql;
    struct bind *b;
    size_t nb, cap;
    int nomem;
};

static void sqlb_init(struct sqlb *q)
{
    memset(q, 0, sizeof *q);
    pl_strbuf_init(&q->sql);
}

static void sqlb_dispose(struct sqlb *q)
{
    pl_strbuf_dispose(&q->sql);
    free(q->b);
    memset(q, 0, sizeof *q);
}

static void sqlb_reset(struct sqlb *q)
{
    pl_strbuf_reset(&q->sql);
    q->nb = 0;
}

static void put(struct sqlb *q, const char *s)
{
    pl_strbuf_puts(&q->sql, s);
}

static struct bind *param(struct sqlb *q)
{
    if (q->nb == q->cap) {
        size_t nc = q->cap ? q->cap * 2 : 16;
        struct bind *nb = realloc(q->b, nc * sizeof *nb);
        if (!nb) {
            q->nomem = 1;
            static struct bind sink;
            return &sink;
        }
        q->b = nb;
        q->cap = nc;
    }
    put(q, "?");
    struct bind *b = &q->b[q->nb++];
    memset(b, 0, sizeof *b);
    return b;
}

static void p_text(struct sqlb *q, const char *s)
{
    struct bind *b = param(q);
    b->kind = B_TEXT;
    b->s = s;
}

static void p_int(struct sqlb *q, int64_t i)
{
    struct bind *b = param(q);
    b->kind = B_INT;
    b->i = i;
}

static void p_dbl(struct sqlb *q, double d)
{
    struct bind *b = param(q);
    b->kind = B_DBL;
    b->d = d;
}

static void p_ptr(struct sqlb *q, const void *p, const char *type)
{
    struct bind *b = param(q);
    b->kind = B_PTR;
    b->p = p;
    b->ptype = type;
}

static void p_blob(struct sqlb *q, const void *data, int64_t n)
{
    struct bind *b = param(q);
    b->kind = B_BLOB;
    b->s = data;
    b->i = n;
}

/* Prepares and binds. Returns the statement or NULL with *err set. */
static sqlite3_stmt *sqlb_prepare(struct sqlb *q, sqlite3 *db, struct pl_err *err)
{
    if (q->nomem || q->sql.nomem) {
        pl_err_set(err, PL_ENOMEM, "out of memory");
        return NULL;
    }
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, q->sql.p, (int)q->sql.len, &st, NULL);
    if (rc != SQLITE_OK) {
        sq_dberr(err, db, rc, "query prepare");
        pl_log_debug("store/sqlite: cannot prepare: %s", q->sql.p);
        return NULL;
    }
    for (size_t i = 0; i < q->nb; i++) {
        const struct bind *b = &q->b[i];
        int n = (int)i + 1;
        switch (b->kind) {
        case B_TEXT: sq_bind_text(st, n, b->s); break;
        case B_INT: sqlite3_bind_int64(st, n, b->i); break;
        case B_DBL: sqlite3_bind_double(st, n, b->d); break;
        case B_PTR: sqlite3_bind_pointer(st, n, (void *)b->p, b->ptype, NULL); break;
        case B_BLOB: sqlite3_bind_blob(st, n, b->s, (int)b->i, SQLITE_STATIC); break;
        }
    }
    return st;
}

/* ------------------------------------------------------------------------------------------
 * Conditions
 * ---------------------------------------------------------------------------------------- */
struct qctx {
    const struct pl_store_query *q;
    struct sqlite_be *be;
    sqlite3 *db;
    const char *tenant;
    void *geo_blob; /* the query geometry as a SpatiaLite blob (sqlite3_malloc'd) */
    int geo_blob_len;
    struct geo_arg geo_arg;
    char id_lo[256], id_hi[256]; /* idPattern's literal prefix as an id range ("" = none) */
};

/* "(SELECT nid FROM name WHERE tenant=? AND iri=?)" */
static void nid_expr(struct qctx *c, struct sqlb *b, const char *iri)
{
    put(b, "(SELECT nid FROM name WHERE tenant=");
    p_text(b, c->tenant);
    put(b, " AND iri=");
    p_text(b, iri);
    put(b, ")");
}

/* "(?,?,...)": a parenthesised list of text parameters. */
static void p_text_list(struct sqlb *b, const char *const *items, size_t n)
{
    put(b, "(");
    for (size_t i = 0; i < n; i++) {
        if (i)
            put(b, ",");
        p_text(b, items[i]);
    }
    put(b, ")");
}

/* "(SELECT nid FROM name WHERE tenant=? AND iri IN (...))": the nids of several names. */
static void nids_in(struct qctx *c, struct sqlb *b, const char *const *iris, size_t n)
{
    put(b, "(SELECT nid FROM name WHERE tenant=");
    p_text(b, c->tenant);
    put(b, " AND iri IN ");
    p_text_list(b, iris, n);
    put(b, ")");
}

/* Binds a q literal the way index values are stored (backend.c bind_ixval). */
static void p_qv(struct sqlb *b, const struct pl_qv *v)
{
    switch (v->kind) {
    case PL_QV_STRING:
    case PL_QV_URI: p_text(b, v->str ? v->str : ""); break;
    case PL_QV_BOOL: p_int(b, v->num != 0); break;
    default:
        if (v->num == (double)(int64_t)v->num && v->num > -9e15 && v->num < 9e15)
            p_int(b, (int64_t)v->num);
        else
            p_dbl(b, v->num);
    }
}

/* The value classes a literal is compatible with (q.h EVALUATION), as an SQL test of a.k. */
static const char *k_test(const struct pl_qv *v, int ordering)
{
    switch (v->kind) {
    case PL_QV_NUMBER: return "a.k=0";
    case PL_QV_BOOL: return "a.k=2";
    case PL_QV_DATETIME: return "a.k=3";
    default: return ordering ? "a.k=1" : "a.k IN (1,4)";
    }
}

/* 1 when the term can be answered from aval alone: one name, no trail. */
static int term_indexable(const struct pl_q_term *t)
{
    return t->n_path == 1 && t->n_trail == 0 && t->path_iri && t->path_iri[0];
}

/* The value condition on alias `a` of an indexable term, for the "positive" part of its
 * operator (EQ for NE). */
static void value_cond(struct sqlb *b, const struct pl_q_term *t, enum pl_q_op op)
{
    static const char *const ops[] = {[PL_QOP_GT] = ">", [PL_QOP_GE] = ">=", [PL_QOP_LT] = "<",
                                      [PL_QOP_LE] = "<="};
    switch (op) {
    case PL_QOP_EQ:
        if (t->shape == PL_QVAL_RANGE) {
            put(b, "(");
            put(b, k_test(&t->vals[0], 0));
            put(b, " AND a.v BETWEEN ");
            p_qv(b, &t->vals[0]);
            put(b, " AND ");
            p_qv(b, &t->vals[1]);
            put(b, ")");
            return;
        }
        put(b, "(");
        for (size_t i = 0; i < t->n_vals; i++) {
            put(b, i ? " OR (" : "(");
            put(b, k_test(&t->vals[i], 0));
            put(b, " AND a.v=");
            p_qv(b, &t->vals[i]);
            put(b, ")");
        }
        put(b, ")");
        return;
    case PL_QOP_GT:
    case PL_QOP_GE:
    case PL_QOP_LT:
    case PL_QOP_LE:
        put(b, "(");
        put(b, k_test(&t->vals[0], 1));
        put(b, " AND a.v");
        put(b, ops[op]);
        p_qv(b, &t->vals[0]);
        put(b, ")");
        return;
    case PL_QOP_MATCH:
    case PL_QOP_NOMATCH:
        put(b, op == PL_QOP_MATCH ? "(a.k=1 AND pl_re(" : "(a.k=1 AND NOT pl_re(");
        p_ptr(b, t->compiled, PTR_REGEX);
        put(b, ",a.v))");
        return;
    default: put(b, "1"); return;
    }
}

/* CHECK form of a q term on entity e. */
static void term_check(struct qctx *c, struct sqlb *b, const struct pl_q_term *t)
{
    if (!term_indexable(t)) {
        put(b, "pl_qterm(e.body,");
        p_ptr(b, t, PTR_QTERM);
        put(b, ")");
        return;
    }
    const char *iri = t->path_iri[0];
    switch (t->op) {
    case PL_QOP_EXISTS:
    case PL_QOP_NOT_EXISTS:
        put(b, t->op == PL_QOP_EXISTS ? "EXISTS" : "NOT EXISTS");
        put(b, "(SELECT 1 FROM aval a WHERE a.pk=e.pk AND a.aid=");
        nid_expr(c, b, iri);
        put(b, ")");
        return;
    case PL_QOP_NE:
        /* 4.9: the entity has the attribute, and no target value equals. */
        put(b, "(EXISTS(SELECT 1 FROM aval a WHERE a.pk=e.pk AND a.aid=");
        nid_expr(c, b, iri);
        put(b, ") AND NOT EXISTS(SELECT 1 FROM aval a WHERE a.pk=e.pk AND a.aid=");
        nid_expr(c, b, iri);
        put(b, " AND ");
        value_cond(b, t, PL_QOP_EQ);
        put(b, "))");
        return;
    default:
        put(b, "EXISTS(SELECT 1 FROM aval a WHERE a.pk=e.pk AND a.aid=");
        nid_expr(c, b, iri);
        put(b, " AND ");
        value_cond(b, t, t->op);
        put(b, ")");
        return;
    }
}

/* The CHECK form of q, without the top-level term `skip` (the driver already guarantees it). */
static void q_check(struct qctx *c, struct sqlb *b, const struct pl_q_node *n,
                    const struct pl_q_term *skip)
{
    if (n->kind == PL_Q_TERM) {
        if (&n->term == skip)
            put(b, "1");
        else
            term_check(c, b, &n->term);
        return;
    }
    put(b, "(");
    for (size_t i = 0; i < n->n_kids; i++) {
        if (i)
            put(b, n->kind == PL_Q_AND ? " AND " : " OR ");
        q_check(c, b, n->kids[i], n->kind == PL_Q_AND ? skip : NULL);
    }
    put(b, ")");
}

/* 1 when a term can DRIVE: its matches are an index range of aval. */
static int term_can_drive(const struct pl_q_term *t)
{
    if (!term_indexable(t))
        return 0;
    switch (t->op) {
    case PL_QOP_EXISTS:
    case PL_QOP_EQ:
    case PL_QOP_GT:
    case PL_QOP_GE:
    case PL_QOP_LT:
    case PL_QOP_LE:
    case PL_QOP_MATCH: return 1;
    default: return 0;
    }
}

/* DRIVER form of a term: "SELECT a.pk FROM aval a WHERE ..." */
static void term_driver(struct qctx *c, struct sqlb *b, const struct pl_q_term *t)
{
    put(b, "SELECT a.pk FROM aval a WHERE a.aid=");
    nid_expr(c, b, t->path_iri[0]);
    if (t->op != PL_QOP_EXISTS) {
        put(b, " AND ");
        value_cond(b, t, t->op);
    }
}

/* --- types ------------------------------------------------------------------------------- */
static void type_check(struct qctx *c, struct sqlb *b, const struct pl_typesel *n)
{
    if (n->kind == PL_TS_NAME) {
        put(b, "EXISTS(SELECT 1 FROM etype t WHERE t.nid=");
        nid_expr(c, b, n->name_iri ? n->name_iri : n->name);
        put(b, " AND t.pk=e.pk)");
        return;
    }
    put(b, "(");
    for (size_t i = 0; i < n->n_kids; i++) {
        if (i)
            put(b, n->kind == PL_TS_AND ? " AND " : " OR ");
        type_check(c, b, n->kids[i]);
    }
    put(b, ")");
}

/* The type names of a plain OR of names (the common case); 0 when the expression is not one
 * or names more than `max`. */
static size_t type_names(const struct pl_typesel *n, const char **names, size_t max)
{
    size_t k = pl_typesel_or_names(n, names, max);
    return k <= max ? k : 0;
}

/* --- what the principal may read (issue 12) ------------------------------------------- */
/* The entity has a readable type (the tenant's few type names are tested once, the IN list is
 * built once per statement), or is one of the read ids, or is owned by the reader. */
static void read_check(struct qctx *c, struct sqlb *b, const struct pl_store_read *rd)
{
    put(b, "(");
    if (rd->type_readable) {
        put(b, "EXISTS(SELECT 1 FROM etype t WHERE t.pk=e.pk AND t.nid IN (SELECT nid FROM name "
               "WHERE tenant=");
        p_text(b, c->tenant);
        put(b, " AND pl_rtype(");
        p_ptr(b, rd, PTR_READ);
        put(b, ",iri)))");
    } else {
        put(b, "0");
    }
    if (rd->n_ids) {
        put(b, " OR e.id IN ");
        p_text_list(b, rd->ids, rd->n_ids);
    }
    if (rd->owner) { /* the authorization part's owners (store/sqlite/authz.c) */
        put(b, " OR e.id IN (SELECT id FROM entity_owner WHERE tenant=");
        p_text(b, c->tenant);
        put(b, " AND owner=");
        p_text(b, rd->owner);
        put(b, ")");
    }
    put(b, ")");
}

/* 1 when the read restriction needs the entity row (ids), not only its key. */
static int read_needs_row(const struct pl_store_read *rd)
{
    return rd && (rd->n_ids || rd->owner);
}

/* --- scope ---------------------------------------------------------------------------- */
/* Scope values are indexed under the pseudo attribute PL_STORE_IX_SCOPE (class STRING): each
 * pattern is matched (pl_scope1, the evaluator's pl_scopeq_match_one) against the few scope
 * rows of the candidate entity, so SQL and the evaluator agree by construction. */
static void scope_check(struct qctx *c, struct sqlb *b, const struct pl_scopeq *n)
{
    if (n->kind != PL_SQ_SCOPE) {
        put(b, "(");
        for (size_t i = 0; i < n->n_kids; i++) {
            if (i)
                put(b, n->kind == PL_SQ_AND ? " AND " : " OR ");
            scope_check(c, b, n->kids[i]);
        }
        put(b, ")");
        return;
    }
    put(b, "EXISTS(SELECT 1 FROM aval a WHERE a.pk=e.pk AND a.aid=");
    nid_expr(c, b, PL_STORE_IX_SCOPE);
    put(b, " AND a.k=1 AND pl_scope1(");
    p_ptr(b, n, PTR_SCOPE);
    put(b, ",a.v))");
}

/* --- geo --------------------------------------------------------------------------------- */
/* The exact relation on g.geom (SpatiaLite). */
static void geo_exact(struct qctx *c, struct sqlb *b, int from_rtree)
{
    const struct pl_geoq *g = c->q->geo;
    /* the point's coordinates and the geometry, from the R*Tree row r or the geo row g */
    const char *xy = from_rtree ? "r.x,r.y" : "g.x,g.y";
    const char *x_null = from_rtree ? "r.x IS NOT NULL" : "g.x IS NOT NULL";
    const char *geom = from_rtree ? "(SELECT geom FROM geo WHERE rowid=r.id)" : "g.geom";
    if (g->rel == PL_GEOREL_NEAR) {
        double lon = json_number_value(json_array_get(json_object_get(g->geometry, "coordinates"), 0));
        double lat = json_number_value(json_array_get(json_object_get(g->geometry, "coordinates"), 1));
        /* Points (nearly every city sensor) use the Vincenty distance; other geometries
         * SpatiaLite's ellipsoidal ST_Distance. Both are metres on WGS84. */
        put(b, "(CASE WHEN ");
        put(b, x_null);
        put(b, " THEN pl_geodist(");
        put(b, xy);
        put(b, ",");
        p_dbl(b, lon);
        put(b, ",");
        p_dbl(b, lat);
        put(b, ") ELSE ST_Distance(");
        put(b, geom);
        put(b, ",MakePoint(");
        p_dbl(b, lon);
        put(b, ",");
        p_dbl(b, lat);
        put(b, ",4326),1) END)");
        if (g->max_distance >= 0 && g->min_distance >= 0) {
            put(b, " BETWEEN ");
            p_dbl(b, g->min_distance);
            put(b, " AND ");
            p_dbl(b, g->max_distance);
        } else if (g->max_distance >= 0) {
            put(b, "<=");
            p_dbl(b, g->max_distance);
        } else {
            put(b, ">=");
            p_dbl(b, g->min_distance);
        }
        return;
    }
    /* 4.10: "within": the entity's geometry is within the query geometry; "contains": the
     * entity's geometry contains the query geometry. ST_X(a, b) reads "a X b". */
    static const char *const fn[] = {
        [PL_GEOREL_WITHIN] = "ST_Within",     [PL_GEOREL_CONTAINS] = "ST_Contains",
        [PL_GEOREL_INTERSECTS] = "ST_Intersects", [PL_GEOREL_OVERLAPS] = "ST_Overlaps",
        [PL_GEOREL_DISJOINT] = "ST_Disjoint", [PL_GEOREL_EQUALS] = "ST_Equals"};
    /* Point entities are decided by the geo evaluator (exact for points against every query
     * geometry, planar as SpatiaLite): no blob parsed, no GEOS conversion per row. */
    put(b, "(CASE WHEN ");
    put(b, x_null);
    put(b, " THEN pl_geopt(");
    p_ptr(b, &c->geo_arg, PTR_GEOQ);
    put(b, ",");
    put(b, xy);
    put(b, ") ELSE ");
    put(b, fn[g->rel]);
    put(b, "(");
    put(b, geom);
    put(b, ",");
    p_blob(b, c->geo_blob, c->geo_blob_len);
    put(b, ")=1 END)");
}

/* The R*Tree window of the geo-query, or 0 when none applies (disjoint, minDistance only). */
static int geo_window(const struct pl_geoq *g, double w[2][4], int *n)
{
    if (g->rel == PL_GEOREL_DISJOINT || (g->rel == PL_GEOREL_NEAR && g->max_distance < 0))
        return 0;
    if (g->rel == PL_GEOREL_NEAR) {
        const json_t *co = json_object_get(g->geometry, "coordinates");
        *n = pl_geo_bbox_around_split(json_number_value(json_array_get(co, 0)),
                                      json_number_value(json_array_get(co, 1)), g->max_distance,
                                      w);
        return 1;
    }
    memcpy(w[0], g->bbox, sizeof w[0]);
    *n = 1;
    return 1;
}

/* The R*Tree window on alias r: the entity's box overlaps the query box. Overlap is necessary
 * for every relation but disjoint (which has no window), and the R*Tree's 32-bit boxes are
 * rounded outwards, so a "box inside box" test could lose points on the edge: the exact test
 * decides. */
static void geo_window_cond(struct sqlb *b, double w[2][4], int n)
{
    put(b, "(");
    for (int i = 0; i < n; i++) {
        put(b, i ? " OR (r.minx<=" : "(r.minx<=");
        p_dbl(b, w[i][2]);
        put(b, " AND r.maxx>=");
        p_dbl(b, w[i][0]);
        put(b, " AND r.miny<=");
        p_dbl(b, w[i][3]);
        put(b, " AND r.maxy>=");
        p_dbl(b, w[i][1]);
        put(b, ")");
    }
    put(b, ")");
}

static void geo_check(struct qctx *c, struct sqlb *b)
{
    if (!c->geo_blob && c->q->geo->rel != PL_GEOREL_NEAR) {
        put(b, "pl_geo(e.body,");
        p_ptr(b, &c->geo_arg, PTR_GEOQ);
        put(b, ")");
        return;
    }
    if (!c->be->geo) {
        put(b, "pl_geo(e.body,");
        p_ptr(b, &c->geo_arg, PTR_GEOQ);
        put(b, ")");
        return;
    }
    put(b, "EXISTS(SELECT 1 FROM geo g WHERE g.pk=e.pk AND g.attr=");
    p_text(b, c->q->geo_attr);
    put(b, " AND ");
    geo_exact(c, b, 0);
    put(b, ")");
}

static int geo_can_drive(struct qctx *c)
{
    double w[2][4];
    int n;
    return c->be->geo && (c->geo_blob || c->q->geo->rel == PL_GEOREL_NEAR) &&
           geo_window(c->q->geo, w, &n);
}

/* DRIVER form: the R*Tree window, then the exact test; points are decided from the R*Tree's
 * auxiliary columns alone (no geo row read), other geometries from their geo row. */
static void geo_driver(struct qctx *c, struct sqlb *b)
{
    double w[2][4];
    int n = 0;
    geo_window(c->q->geo, w, &n);
    put(b, "SELECT r.pk FROM geo_rtree r WHERE ");
    geo_window_cond(b, w, n);
    put(b, " AND r.aid=");
    nid_expr(c, b, c->q->geo_attr);
    put(b, " AND ");
    geo_exact(c, b, 1);
}

/* ------------------------------------------------------------------------------------------
 * The planner
 * ---------------------------------------------------------------------------------------- */
enum drv_kind { DRV_NONE, DRV_IDS, DRV_TYPE_JOIN, DRV_TYPES, DRV_TERM, DRV_GEO, DRV_IDPREFIX };

struct plan {
    enum drv_kind kind;
    const struct pl_q_term *term; /* DRV_TERM */
    const char *type1;            /* DRV_TYPE_JOIN */
    int count_from_counters;      /* only a type condition: the count is in tcount */
};

/* Runs "SELECT count(*) FROM (<sub> LIMIT cap)" built by the caller into b. */
static int64_t run_count(struct qctx *c, struct sqlb *b, struct pl_err *err)
{
    sqlite3_stmt *st = sqlb_prepare(b, c->db, err);
    if (!st)
        return -1;
    int64_t n = -1;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    else
        sq_dberr(err, c->db, rc, "query count");
    sqlite3_finalize(st);
    return n;
}

/* Entities of the named types (tenant-wide counters; an entity with two of the types counts
 * twice, which is fine for planning). */
static int64_t count_types(struct qctx *c, const char **names, size_t n, struct pl_err *err)
{
    struct sqlb b;
    sqlb_init(&b);
    put(&b, "SELECT coalesce(sum(n),0) FROM tcount WHERE anid=0 AND kind='' AND tnid IN ");
    nids_in(c, &b, names, n);
    int64_t r = run_count(c, &b, err);
    sqlb_dispose(&b);
    return r;
}

static int64_t estimate(struct qctx *c, const struct pl_q_term *t, int geo, struct pl_err *err)
{
    struct sqlb b;
    sqlb_init(&b);
    put(&b, "SELECT count(*) FROM (");
    if (geo) {
        /* the R*Tree window alone: an index count, no geometry parsed */
        double w[2][4];
        int nw = 0;
        geo_window(c->q->geo, w, &nw);
        put(&b, "SELECT r.id FROM geo_rtree r WHERE ");
        geo_window_cond(&b, w, nw);
    } else {
        term_driver(c, &b, t);
    }
    put(&b, " LIMIT ");
    p_int(&b, ESTIMATE_CAP);
    put(&b, ")");
    int64_t r = run_count(c, &b, err);
    sqlb_dispose(&b);
    return r;
}

/* The literal prefix of an anchored idPattern ("^urn:ngsi-ld:Spot:12.*" -> "urn:ngsi-ld:Spot:12")
 * as the id range [lo, hi): every id the regex matches starts with it, so the (tenant, id)
 * index can drive. Returns 0 when the pattern has no usable prefix. */
static int id_prefix(const char *pat, char *lo, char *hi, size_t cap)
{
    if (!pat || pat[0] != '^')
        return 0;
    size_t n = 0;
    for (const char *p = pat + 1; *p && n + 2 < cap; p++) {
        if (strchr(".[]()*+?{}|\\^$", *p)) {
            /* a quantifier makes the previous character optional or repeated */
            if ((*p == '*' || *p == '?' || *p == '{') && n)
                n--;
            break;
        }
        lo[n++] = *p;
    }
    if (n == 0)
        return 0;
    lo[n] = '\0';
    memcpy(hi, lo, n + 1);
    /* the smallest string above every string with this prefix: bump the last byte */
    while (n && (unsigned char)hi[n - 1] == 0xff)
        hi[--n] = '\0';
    if (!n)
        return 0;
    hi[n - 1] = (char)((unsigned char)hi[n - 1] + 1);
    return 1;
}

static void idprefix_driver(struct qctx *c, struct sqlb *b)
{
    put(b, "SELECT pk FROM entity WHERE tenant=");
    p_text(b, c->tenant);
    put(b, " AND id>=");
    p_text(b, c->id_lo);
    put(b, " AND id<");
    p_text(b, c->id_hi);
}

/* The driver candidates of a query with their measured sizes; both plans (rows, count) are
 * chosen from one set of measurements. */
struct cand {
    enum drv_kind kind;
    const struct pl_q_term *term;
    int64_t est; /* matches, capped at ESTIMATE_CAP (exact for types: counters) */
};

struct cands {
    struct cand c[16];
    size_t n;
    const char *type1;
    int count_from_counters;
};

static int gather(struct qctx *c, struct cands *cs, struct pl_err *err)
{
    const struct pl_store_query *q = c->q;
    memset(cs, 0, sizeof *cs);
    const char *names[64];
    size_t nn = q->types ? type_names(q->types, names, 64) : 0;
    if (nn) {
        int64_t e = count_types(c, names, nn, err);
        if (e < 0)
            return err->code;
        cs->c[cs->n++] = (struct cand){nn == 1 ? DRV_TYPE_JOIN : DRV_TYPES, NULL, e};
        cs->type1 = names[0];
        /* multi-typed entities would count twice in a sum of several types */
        cs->count_from_counters = nn == 1 && !q->q && !q->scope && !q->geo && !q->id_regex &&
                                  !q->n_attrs && !q->n_sels && !q->read;
    }
    if (q->q) {
        const struct pl_q_node *n = q->q;
        size_t nk = n->kind == PL_Q_AND ? n->n_kids : 1;
        for (size_t i = 0; i < nk && cs->n < 15; i++) {
            const struct pl_q_node *k = n->kind == PL_Q_AND ? n->kids[i] : n;
            if (k->kind != PL_Q_TERM || !term_can_drive(&k->term))
                continue;
            int64_t e = estimate(c, &k->term, 0, err);
            if (e < 0)
                return err->code;
            cs->c[cs->n++] = (struct cand){DRV_TERM, &k->term, e};
        }
    }
    if (q->geo && geo_can_drive(c)) {
        int64_t e = estimate(c, NULL, 1, err);
        if (e < 0)
            return err->code;
        cs->c[cs->n++] = (struct cand){DRV_GEO, NULL, e};
    }
    if (c->id_lo[0]) {
        struct sqlb b;
        sqlb_init(&b);
        put(&b, "SELECT count(*) FROM (");
        idprefix_driver(c, &b);
        put(&b, " LIMIT ");
        p_int(&b, ESTIMATE_CAP);
        put(&b, ")");
        int64_t e = run_count(c, &b, err);
        sqlb_dispose(&b);
        if (e < 0)
            return err->code;
        cs->c[cs->n++] = (struct cand){DRV_IDPREFIX, NULL, e};
    }
    return 0;
}

/*
 * Chooses the driver. A list driver (e.pk IN (...)) costs its whole size: SQLite builds the
 * list before the first row. The single-type join delivers rows in pk order, so for rows it
 * only walks until offset+limit matches: about (offset+limit) / selectivity of the other
 * conditions, the selectivity estimated from the smallest of them. For a count every driver
 * costs its size.
 */
static void choose(const struct cands *cs, int for_rows, int64_t want, struct plan *p)
{
    memset(p, 0, sizeof *p);
    p->type1 = cs->type1;
    p->count_from_counters = cs->count_from_counters;
    double best = -1;
    for (size_t i = 0; i < cs->n; i++) {
        const struct cand *k = &cs->c[i];
        double cost = (double)k->est;
        if (for_rows && k->kind == DRV_TYPE_JOIN) {
            int64_t other = -1;
            for (size_t j = 0; j < cs->n; j++)
                if (j != i && (other < 0 || cs->c[j].est < other))
                    other = cs->c[j].est;
            if (other >= 0 && k->est > 0) {
                double sel = (double)(other ? other : 1) / (double)k->est;
                double walk = (double)want / (sel < 1 ? sel : 1);
                cost = walk < cost ? walk : cost;
            } else if (other < 0) {
                cost = (double)want < cost ? (double)want : cost;
            }
        }
        if (best < 0 || cost < best) {
            best = cost;
            p->kind = k->kind;
            p->term = k->term;
        }
    }
}

static int make_plan(struct qctx *c, struct plan *p, struct pl_err *err)
{
    memset(p, 0, sizeof *p);
    if (c->q->n_ids) {
        p->kind = DRV_IDS;
        return 0;
    }
    struct cands cs;
    int rc = gather(c, &cs, err);
    if (rc == 0)
        choose(&cs, 1, c->q->offset + c->q->limit, p);
    return rc;
}

/* FROM + WHERE of the query (without ORDER/LIMIT). */
/* 1 when some q term is evaluated on the stored body (pl_qterm). */
static int q_needs_body(const struct pl_q_node *n)
{
    if (!n)
        return 0;
    if (n->kind == PL_Q_TERM)
        return !term_indexable(&n->term);
    for (size_t i = 0; i < n->n_kids; i++)
        if (q_needs_body(n->kids[i]))
            return 1;
    return 0;
}

/* A count that never needs the entity row: every check works on the key alone and the driver
 * is tenant-scoped (names are per tenant). Then the count runs over the driver's keys and
 * never reads the (large) entity rows. */
static int count_is_light(const struct qctx *c, const struct plan *p)
{
    const struct pl_store_query *q = c->q;
    return (p->kind == DRV_TYPE_JOIN || p->kind == DRV_TYPES || p->kind == DRV_TERM) &&
           !q->n_ids && !q->id_regex && !q->n_sels && !q_needs_body(q->q) &&
           !read_needs_row(q->read) &&
           (!q->geo || (c->be->geo && (c->geo_blob || q->geo->rel == PL_GEOREL_NEAR)));
}

/* DRIVER form of a plain OR of types: "SELECT pk FROM etype WHERE nid IN (...)". */
static void types_driver(struct qctx *c, struct sqlb *b)
{
    const char *names[64];
    size_t nn = type_names(c->q->types, names, 64);
    put(b, "SELECT pk FROM etype WHERE nid IN ");
    nids_in(c, b, names, nn);
}

static void from_where_x(struct qctx *c, struct sqlb *b, const struct plan *p, int light);

static void from_where(struct qctx *c, struct sqlb *b, const struct plan *p)
{
    from_where_x(c, b, p, 0);
}

static void from_where_x(struct qctx *c, struct sqlb *b, const struct plan *p, int light)
{
    const struct pl_store_query *q = c->q;
    if (light && p->kind == DRV_TYPE_JOIN) {
        put(b, " FROM etype e WHERE e.nid=");
        nid_expr(c, b, p->type1);
    } else if (light) {
        put(b, " FROM (SELECT DISTINCT pk FROM (");
        if (p->kind == DRV_TYPES) {
            types_driver(c, b);
        } else {
            term_driver(c, b, p->term);
        }
        put(b, ")) e WHERE 1");
    } else if (p->kind == DRV_TYPE_JOIN) {
        /* CROSS JOIN keeps etype the outer loop: rows come in pk order straight from the
         * (nid, pk) primary key, and LIMIT ends the scan. */
        put(b, " FROM etype d CROSS JOIN entity e ON e.pk=d.pk WHERE d.nid=");
        nid_expr(c, b, p->type1);
    } else if (p->kind == DRV_NONE || p->kind == DRV_IDS || p->kind == DRV_IDPREFIX) {
        put(b, " FROM entity e WHERE e.tenant=");
        p_text(b, c->tenant);
    } else {
        /* The driver below is an `e.pk IN (...)` list: "+" keeps SQLite from walking the
         * tenant's part of the (tenant, id) index instead (a scan of every entity). */
        put(b, " FROM entity e WHERE +e.tenant=");
        p_text(b, c->tenant);
    }
    if (q->n_ids) {
        put(b, " AND e.id IN ");
        p_text_list(b, q->ids, q->n_ids);
    }
    if (p->kind == DRV_IDPREFIX) {
        /* the (tenant, id) index range of the pattern's literal prefix */
        put(b, " AND e.id>=");
        p_text(b, c->id_lo);
        put(b, " AND e.id<");
        p_text(b, c->id_hi);
    }
    if (!light && (p->kind == DRV_TYPES || p->kind == DRV_TERM || p->kind == DRV_GEO)) {
        put(b, " AND e.pk IN (");
        if (p->kind == DRV_TYPES) {
            types_driver(c, b);
        } else if (p->kind == DRV_TERM) {
            term_driver(c, b, p->term);
        } else {
            geo_driver(c, b);
        }
        put(b, ")");
    }
    if (q->types && p->kind != DRV_TYPE_JOIN && p->kind != DRV_TYPES) {
        put(b, " AND ");
        type_check(c, b, q->types);
    }
    for (size_t i = 0; i < q->n_sels; i++) {
        const struct pl_store_selector *sel = &q->sels[i];
        put(b, i ? " OR (1" : " AND ((1");
        if (sel->n_ids) {
            put(b, " AND e.id IN ");
            p_text_list(b, sel->ids, sel->n_ids);
        }
        if (sel->id_regex) {
            put(b, " AND pl_re(");
            p_ptr(b, sel->id_regex, PTR_REGEX);
            put(b, ",e.id)");
        }
        if (sel->types) {
            put(b, " AND ");
            type_check(c, b, sel->types);
        }
        put(b, i + 1 == q->n_sels ? "))" : ")");
    }
    if (q->id_regex) {
        put(b, " AND pl_re(");
        p_ptr(b, q->id_regex, PTR_REGEX);
        put(b, ",e.id)");
    }
    if (q->n_attrs) {
        put(b, " AND EXISTS(SELECT 1 FROM aval a WHERE a.pk=e.pk AND a.aid IN ");
        nids_in(c, b, q->attrs, q->n_attrs);
        put(b, ")");
    }
    if (q->q) {
        put(b, " AND ");
        q_check(c, b, q->q, p->kind == DRV_TERM ? p->term : NULL);
    }
    if (q->scope) {
        put(b, " AND ");
        scope_check(c, b, q->scope);
    }
    if (q->geo && p->kind != DRV_GEO) {
        put(b, " AND ");
        geo_check(c, b);
    }
    if (q->read) {
        put(b, " AND ");
        read_check(c, b, q->read);
    }
}

/* The query geometry as a SpatiaLite blob, made once per query. */
static int geo_prepare(struct qctx *c, struct pl_err *err)
{
    const struct pl_geoq *g = c->q->geo;
    c->geo_arg.q = g;
    c->geo_arg.attr = c->q->geo_attr;
    if (!g || !c->be->geo || g->rel == PL_GEOREL_NEAR)
        return 0;
    char *gj = json_dumps(g->geometry, JSON_COMPACT);
    if (!gj)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "SELECT SetSRID(CastToXY(GeomFromGeoJSON(?1)),4326)", -1,
                                &st, NULL);
    if (rc == SQLITE_OK) {
        sq_bind_text(st, 1, gj);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_BLOB) {
            int n = sqlite3_column_bytes(st, 0);
            c->geo_blob = sqlite3_malloc(n > 0 ? n : 1);
            if (c->geo_blob) {
                memcpy(c->geo_blob, sqlite3_column_blob(st, 0), (size_t)n);
                c->geo_blob_len = n;
            }
        }
    }
    sqlite3_finalize(st);
    free(gj);
    if (!c->geo_blob)
        pl_log_debug("store/sqlite: query geometry not readable by SpatiaLite; evaluating in C");
    return 0;
}

int sq_entity_query(void *p, const struct pl_store_query *q, pl_store_row_fn row,
                           void *ud, int64_t *count, struct pl_err *err)
{
    struct sqlite_be *be = p;
    struct rconn *rc_conn = sq_reader_get(be, err);
    if (!rc_conn)
        return err->code ? err->code : PL_EINTERNAL;
    struct qctx c = {q, be, rc_conn->db, q->tenant ? q->tenant : "", NULL, 0, {NULL, NULL}, "", ""};
    if (q->id_regex && q->id_pattern)
        id_prefix(q->id_pattern, c.id_lo, c.id_hi, sizeof c.id_lo);
    struct sqlb b;
    sqlb_init(&b);
    struct plan plan, cplan;
    struct cands cs;
    int out = 0;
    /* One read transaction: the plan's estimates, the count and the rows see one snapshot. */
    sqlite3_exec(c.db, "BEGIN", NULL, NULL, NULL);
    if ((out = geo_prepare(&c, err)) != 0)
        goto done;
    if (q->n_ids) {
        memset(&plan, 0, sizeof plan);
        plan.kind = DRV_IDS;
        cplan = plan;
    } else {
        if ((out = gather(&c, &cs, err)) != 0)
            goto done;
        choose(&cs, 1, q->offset + q->limit, &plan);
        choose(&cs, 0, 0, &cplan);
    }

    if (q->count) {
        if (cplan.count_from_counters) {
            const char *names[1] = {plan.type1};
            *count = count_types(&c, names, 1, err);
        } else {
            put(&b, "SELECT count(*)");
            from_where_x(&c, &b, &cplan, count_is_light(&c, &cplan));
            *count = run_count(&c, &b, err);
        }
        if (*count < 0) {
            out = err->code ? err->code : PL_EINTERNAL;
            goto done;
        }
    }
    if (q->limit > 0) {
        sqlb_reset(&b);
        put(&b, "SELECT e.body");
        from_where(&c, &b, &plan);
        put(&b, plan.kind == DRV_TYPE_JOIN ? " ORDER BY d.pk" : " ORDER BY e.pk");
        put(&b, " LIMIT ");
        p_int(&b, q->limit);
        put(&b, " OFFSET ");
        p_int(&b, q->offset);
        sqlite3_stmt *st = sqlb_prepare(&b, c.db, err);
        if (!st) {
            out = err->code ? err->code : PL_EINTERNAL;
            goto done;
        }
        int src;
        while ((src = sqlite3_step(st)) == SQLITE_ROW) {
            const char *body = (const char *)sqlite3_column_text(st, 0);
            int n = sqlite3_column_bytes(st, 0);
            if (body && (out = row(ud, body, (size_t)n)) != 0)
                break;
        }
        if (out == 0 && src != SQLITE_DONE)
            out = sq_dberr(err, c.db, src, "query");
        sqlite3_finalize(st);
    }
done:
    sqlite3_exec(c.db, "COMMIT", NULL, NULL, NULL);
    sqlb_dispose(&b);
    sqlite3_free(c.geo_blob);
    sq_reader_put(be, rc_conn);
    return out;
}

/* For tests: the plan of the row query, as text (EXPLAIN QUERY PLAN lines). */
int sq_explain(void *p, const struct pl_store_query *q, char **out,
                            struct pl_err *err)
{
    struct sqlite_be *be = p;
    struct rconn *conn = sq_reader_get(be, err);
    if (!conn)
        return err->code ? err->code : PL_EINTERNAL;
    struct qctx c = {q, be, conn->db, q->tenant ? q->tenant : "", NULL, 0, {NULL, NULL}, "", ""};
    if (q->id_regex && q->id_pattern)
        id_prefix(q->id_pattern, c.id_lo, c.id_hi, sizeof c.id_lo);
    struct sqlb b;
    sqlb_init(&b);
    struct plan plan;
    struct pl_strbuf o;
    pl_strbuf_init(&o);
    int rc = geo_prepare(&c, err);
    if (rc == 0)
        rc = make_plan(&c, &plan, err);
    if (rc == 0) {
        put(&b, "EXPLAIN QUERY PLAN SELECT e.body");
        from_where(&c, &b, &plan);
        put(&b, plan.kind == DRV_TYPE_JOIN ? " ORDER BY d.pk LIMIT 20" : " ORDER BY e.pk LIMIT 20");
        sqlite3_stmt *st = sqlb_prepare(&b, c.db, err);
        if (!st) {
            rc = err->code ? err->code : PL_EINTERNAL;
        } else {
            while (sqlite3_step(st) == SQLITE_ROW) {
                pl_strbuf_puts(&o, (const char *)sqlite3_column_text(st, 3));
                pl_strbuf_putc(&o, '\n');
            }
            sqlite3_finalize(st);
        }
    }
    sqlb_dispose(&b);
    sqlite3_free(c.geo_blob);
    sq_reader_put(be, conn);
    if (rc == 0)
        *out = o.p ? o.p : strdup("");
    else
        pl_strbuf_dispose(&o);
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * Discovery: from the tcount counters, never from the entities
 * ---------------------------------------------------------------------------------------- */
int sq_discover(void *p, const char *tenant, enum pl_store_discover what, const char *iri,
                       json_t **out, struct pl_err *err)
{
    struct sqlite_be *be = p;
    struct rconn *conn = sq_reader_get(be, err);
    if (!conn)
        return err->code ? err->code : PL_EINTERNAL;
    int by_type = what == PL_DISCOVER_TYPES || what == PL_DISCOVER_TYPE;
    /* Rows: (type IRI, attribute IRI or NULL for the entity row, kind, n), the pseudo type
     * PL_ALL_TYPES carrying the per-attribute totals. */
    const char *sql =
        "SELECT tn.iri, an.iri, c.kind, c.n FROM tcount c JOIN name tn ON tn.nid=c.tnid "
        "LEFT JOIN name an ON an.nid=c.anid WHERE tn.tenant=?1 AND c.n>0 "
        "AND (?2 IS NULL OR (?3=1 AND tn.iri=?2) OR (?3=0 AND an.iri=?2)) "
        "ORDER BY tn.iri, an.iri, c.kind";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(conn->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        rc = sq_dberr(err, conn->db, rc, "discover");
        sq_reader_put(be, conn);
        return rc;
    }
    sq_bind_text(st, 1, tenant);
    sq_bind_text(st, 2, iri);
    sqlite3_bind_int(st, 3, by_type);
    json_t *types = json_object(), *attrs = json_object();
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(st, 0);
        const char *a = (const char *)sqlite3_column_text(st, 1);
        const char *k = (const char *)sqlite3_column_text(st, 2);
        json_int_t n = sqlite3_column_int64(st, 3);
        int all = strcmp(t, PL_ALL_TYPES) == 0;
        if (!a) {
            if (!all) {
                json_t *ti = json_object_get(types, t);
                if (!ti)
                    json_object_set_new(types, t, ti = json_pack("{s:s,s:I,s:{}}", "type", t,
                                                                 "count", n, "attrs"));
                else
                    json_object_set_new(ti, "count", json_integer(n));
            }
            continue;
        }
        if (all) {
            json_t *ai = json_object_get(attrs, a);
            if (!ai)
                json_object_set_new(attrs, a, ai = json_pack("{s:s,s:I,s:[],s:[]}", "attr", a,
                                                             "count", (json_int_t)0, "types",
                                                             "kinds"));
            json_object_set_new(ai, "count",
                                json_integer(json_integer_value(json_object_get(ai, "count")) + n));
            json_array_append_new(json_object_get(ai, "kinds"), json_string(k));
            continue;
        }
        json_t *ti = json_object_get(types, t);
        if (!ti)
            json_object_set_new(types, t, ti = json_pack("{s:s,s:I,s:{}}", "type", t, "count",
                                                         (json_int_t)0, "attrs"));
        json_t *ka = json_object_get(json_object_get(ti, "attrs"), a);
        if (!ka)
            json_object_set_new(json_object_get(ti, "attrs"), a, ka = json_array());
        json_array_append_new(ka, json_string(k));
        /* per-type attribute counts: what a reader restricted to some types sums (issue 12) */
        json_t *cs = json_object_get(ti, "attrCounts");
        if (!cs)
            json_object_set_new(ti, "attrCounts", cs = json_object());
        json_object_set_new(cs, a,
                            json_integer(json_integer_value(json_object_get(cs, a)) + n));
    }
    if (rc != SQLITE_DONE)
        rc = sq_dberr(err, conn->db, rc, "discover");
    else
        rc = 0;
    sqlite3_finalize(st);
    /* attributes' typeNames: the types whose counters name the attribute */
    if (rc == 0 && !by_type) {
        const char *tname;
        json_t *ti;
        json_object_foreach(types, tname, ti)
        {
            const char *aname;
            json_t *kinds;
            json_object_foreach(json_object_get(ti, "attrs"), aname, kinds)
            {
                json_t *ai = json_object_get(attrs, aname);
                if (ai)
                    json_array_append_new(json_object_get(ai, "types"), json_string(tname));
            }
        }
    }
    sq_reader_put(be, conn);
    json_t *src = by_type ? types : attrs;
    json_t *arr = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(src, key, v)
    {
        if (by_type && !json_object_get(v, "count"))
            continue;
        json_array_append(arr, v);
    }
    json_decref(types);
    json_decref(attrs);
    if (rc != 0) {
        json_decref(arr);
        return rc;
    }
    if ((what == PL_DISCOVER_TYPE || what == PL_DISCOVER_ATTR)) {
        json_t *one = json_incref(json_array_get(arr, 0));
        json_decref(arr);
        if (!one)
            return pl_err_set(err, PL_ENOTFOUND, "%s '%s' not found",
                              by_type ? "Entity type" : "Attribute", iri ? iri : "");
        *out = one;
        return 0;
    }
    *out = arr;
    return 0;
}
