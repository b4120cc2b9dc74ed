/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_query.c — the store's query path against the in-memory evaluators.
 *
 * EQUIVALENCE: a generated set of entities (numbers, strings, booleans, DateTimes, arrays,
 * Relationships, compound values, sub-attributes, several datasetIds, scopes, points) and
 * thousands of random q / type / scopeQ / geo queries: the SQL path (indexes + planner) must
 * return exactly the entities pl_q_match / pl_typesel_match / pl_scopeq_match / pl_geoq_match
 * accept, and the same count, whatever driver the planner picks.
 *
 * PLANS: EXPLAIN QUERY PLAN of the common shapes (type, type + q equality, type + q range,
 * near, within) names an index, never a full scan of the entity table.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "ngsild/context.h"
#include "query/geoq.h"
#include "query/q.h"
#include "query/scopeq.h"
#include "query/typesel.h"
#include "store/store.h"

#define N_ENTITIES 400
#define N_QUERIES  1500

struct fx {
    char dir[64];
    struct pl_store *s;
    json_t *all; /* the entities written, internal form */
};

static unsigned rng_state = 12345;
static unsigned rnd(unsigned n)
{
    rng_state = rng_state * 1103515245u + 12345u;
    return (rng_state >> 8) % n;
}

static char *X(const char *term)
{
    char *iri = pl_ctx_expand(pl_ctx_core(), term);
    assert_non_null(iri);
    return iri;
}

static json_t *prop(json_t *value)
{
    return json_pack("[{s:s,s:o}]", "type", "Property", "value", value);
}

static json_t *gen_value(void)
{
    switch (rnd(9)) {
    case 0: return json_integer((json_int_t)rnd(10));
    case 1: return json_real(rnd(100) / 10.0);
    case 2: {
        static const char *const w[] = {"red", "green", "blue", "Red", "2021-03-04T10:00:00Z"};
        return json_string(w[rnd(5)]);
    }
    case 3: return json_boolean(rnd(2));
    case 4: {
        char b[64];
        snprintf(b, sizeof b, "2021-0%u-1%uT0%u:00:00Z", 1 + rnd(9), rnd(10), rnd(10));
        return json_pack("{s:s,s:s}", "@type", "DateTime", "@value", b);
    }
    case 5: return json_pack("[i,i,s]", (json_int_t)rnd(10), (json_int_t)rnd(10),
                             rnd(2) ? "red" : "blue");
    case 6: return json_pack("{s:s,s:i}", "city", rnd(2) ? "Berlin" : "Madrid", "n",
                             (json_int_t)rnd(5));
    case 7: return json_null();
    default: return json_integer(-(json_int_t)rnd(5));
    }
}

static json_t *gen_entity(int i)
{
    char id[64];
    snprintf(id, sizeof id, "urn:ngsi-ld:T:%d", i);
    static const char *const types[] = {"T1", "T2", "T3"};
    json_t *tarr = json_array();
    char *t0 = X(types[rnd(3)]);
    json_array_append_new(tarr, json_string(t0));
    free(t0);
    if (rnd(5) == 0) {
        char *t1 = X(types[rnd(3)]);
        if (strcmp(t1, json_string_value(json_array_get(tarr, 0))) != 0)
            json_array_append_new(tarr, json_string(t1));
        free(t1);
    }
    json_t *attrs = json_object();
    static const char *const names[] = {"a", "b", "c", "d"};
    for (int k = 0; k < 4; k++) {
        if (rnd(4) == 0)
            continue;
        char *iri = X(names[k]);
        json_t *insts = prop(gen_value());
        if (rnd(4) == 0) /* a second instance */
            json_array_append_new(insts, json_pack("{s:s,s:o,s:s}", "type", "Property", "value",
                                                   gen_value(), "datasetId", "urn:ds:2"));
        if (rnd(3) == 0) { /* sub-attribute and observedAt */
            char *sub = X("s");
            json_t *inst0 = json_array_get(insts, 0);
            json_object_set_new(inst0, "sub",
                                json_pack("{s:[{s:s,s:i}]}", sub, "type", "Property", "value",
                                          (json_int_t)rnd(5)));
            json_object_set_new(inst0, "observedAt", json_string(rnd(2) ? "2021-01-01T00:00:00Z"
                                                                        : "2022-06-01T12:00:00Z"));
            free(sub);
        }
        json_object_set_new(attrs, iri, insts);
        free(iri);
    }
    if (rnd(2)) {
        char *r = X("rel");
        char obj[32];
        snprintf(obj, sizeof obj, "urn:x:%u", rnd(3));
        json_object_set_new(attrs, r, json_pack("[{s:s,s:s}]", "type", "Relationship", "object",
                                                obj));
        free(r);
    }
    if (rnd(3)) {
        json_object_set_new(attrs, PL_GEOQ_LOCATION_IRI,
                            json_pack("[{s:s,s:{s:s,s:[f,f]}}]", "type", "GeoProperty", "value",
                                      "type", "Point", "coordinates",
                                      -3.70 + rnd(1000) / 10000.0, 40.40 + rnd(1000) / 10000.0));
    }
    json_t *e = json_pack("{s:s,s:o,s:o,s:s,s:s}", "id", id, "type", tarr, "attrs", attrs,
                          "createdAt", "2024-01-01T00:00:00Z", "modifiedAt",
                          "2024-01-01T00:00:00Z");
    if (rnd(2)) {
        static const char *const sc[] = {"/Madrid", "/Madrid/Gardens", "/Madrid/Gardens/Retiro",
                                         "/Berlin", "/Berlin/Mitte"};
        json_object_set_new(e, "scope", json_pack("[s]", sc[rnd(5)]));
    }
    return e;
}

static int apply_set(void *ud, json_t *cur, json_t **next, struct pl_err *err)
{
    (void)cur;
    (void)err;
    *next = json_incref(ud);
    return 0;
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    pl_log_set_level(PL_LOG_WARN);
    struct fx *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/polis-query-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char url[128];
    snprintf(url, sizeof url, "sqlite:%s", f->dir);
    struct pl_store_config cfg = {.url = url};
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_equal(pl_store_open(&cfg, &f->s, &err), 0);
    f->all = json_array();
    for (int i = 0; i < N_ENTITIES; i++) {
        json_t *e = gen_entity(i);
        struct pl_store_write w = {.tenant = "", .id = json_string_value(json_object_get(e, "id")),
                                   .apply = apply_set, .ud = e};
        assert_int_equal(pl_store_write_sync(f->s, &w), 0);
        json_decref(w.result);
        json_array_append_new(f->all, e);
    }
    /* Rewrite a third of them (changed values, types, geometry): the indexes follow updates. */
    for (int i = 0; i < N_ENTITIES; i += 3) {
        json_t *e = gen_entity(i);
        struct pl_store_write w = {.tenant = "", .id = json_string_value(json_object_get(e, "id")),
                                   .apply = apply_set, .ud = e};
        assert_int_equal(pl_store_write_sync(f->s, &w), 0);
        json_decref(w.result);
        json_array_set_new(f->all, (size_t)i, e);
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    pl_store_close(f->s);
    json_decref(f->all);
    nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* --- running a query both ways --------------------------------------------------------------- */
struct ids {
    char buf[N_ENTITIES + 1];
    int n;
};

static int collect(void *ud, const char *body, size_t len)
{
    struct ids *s = ud;
    json_t *e = json_loadb(body, len, 0, NULL);
    assert_non_null(e);
    int i = atoi(strrchr(json_string_value(json_object_get(e, "id")), ':') + 1);
    assert_true(i >= 0 && i < N_ENTITIES);
    assert_int_equal(s->buf[i], 0); /* each entity at most once */
    s->buf[i] = 1;
    s->n++;
    json_decref(e);
    return 0;
}

/* The evaluators' answer for the conditions of q (each optional, all must hold). */
static int eval_all(const struct pl_store_query *q, const json_t *e)
{
    if (q->q && pl_q_match(q->q, e) != 1)
        return 0;
    if (q->types && pl_typesel_match(q->types, json_object_get(e, "type")) != 1)
        return 0;
    if (q->scope) {
        const json_t *s = json_object_get(e, "scope");
        if (!s || pl_scopeq_match(q->scope, s) != 1)
            return 0;
    }
    if (q->geo && pl_geoq_match(q->geo, q->geo_attr, e) != 1)
        return 0;
    if (q->id_regex &&
        regexec(q->id_regex, json_string_value(json_object_get(e, "id")), 0, NULL, 0) != 0)
        return 0;
    if (q->read) { /* issue 12: a readable type, or one of the read ids */
        const struct pl_store_read *rd = q->read;
        int ok = 0;
        size_t i;
        const json_t *t;
        json_array_foreach(json_object_get(e, "type"), i, t) ok |=
            rd->type_readable && rd->type_readable(rd->ud, json_string_value(t));
        for (i = 0; i < rd->n_ids; i++)
            ok |= strcmp(rd->ids[i], json_string_value(json_object_get(e, "id"))) == 0;
        if (!ok)
            return 0;
    }
    return 1;
}

static int n_compared, n_nontrivial;

static void compare(struct fx *f, struct pl_store_query *q, const char *text)
{
    struct ids got;
    memset(&got, 0, sizeof got);
    int64_t count = -1;
    struct pl_err err;
    pl_err_clear(&err);
    q->limit = N_ENTITIES + 10;
    q->count = 1;
    int rc = pl_store_entity_query(f->s, q, collect, &got, &count, &err);
    if (rc != 0)
        fprintf(stderr, "query '%s': %s\n", text, err.detail);
    assert_int_equal(rc, 0);
    int want_n = 0;
    for (int i = 0; i < N_ENTITIES; i++) {
        int want = eval_all(q, json_array_get(f->all, (size_t)i));
        want_n += want;
        if (want != got.buf[i]) {
            char *z = json_dumps(json_array_get(f->all, (size_t)i), JSON_COMPACT);
            fprintf(stderr, "query '%s': entity %d: evaluator %d, store %d\n%s\n", text, i, want,
                    got.buf[i], z);
            free(z);
        }
        assert_int_equal(want, got.buf[i]);
    }
    assert_int_equal(count, want_n);
    assert_int_equal(got.n, want_n);
    if (getenv("POLIS_TEST_VERBOSE"))
        fprintf(stderr, "%4d  %s\n", want_n, text);
    n_compared++;
    n_nontrivial += want_n > 0 && want_n < N_ENTITIES;
}

/* --- random q text ---------------------------------------------------------------------------- */
static void gen_term(char *b, size_t n)
{
    static const char *const attrs[] = {"a", "b", "c", "d", "rel", "nope"};
    static const char *const vals[] = {"3",       "0.5",   "\"red\"",   "\"Red\"",  "true",
                                       "false",   "7",     "-2",        "urn:x:1",  "\"urn:x:2\"",
                                       "2021-05-15T00:00:00Z", "\"2021-03-04T10:00:00Z\""};
    static const char *const ops[] = {"==", "!=", ">", ">=", "<", "<="};
    const char *a = attrs[rnd(6)];
    switch (rnd(12)) {
    case 0: snprintf(b, n, "%s", a); break;
    case 1: snprintf(b, n, "!%s", a); break;
    case 2: snprintf(b, n, "%s==%u..%u", a, rnd(5), 3 + rnd(6)); break;
    case 3: snprintf(b, n, "%s==%s,%s", a, vals[rnd(12)], vals[rnd(12)]); break;
    case 4: snprintf(b, n, "%s~=%s", a, rnd(2) ? "^r" : "(?i)^red$"); break;
    case 5: snprintf(b, n, "%s!~=%s", a, "e"); break;
    case 6: snprintf(b, n, "%s[city]==\"%s\"", a, rnd(2) ? "Berlin" : "Madrid"); break;
    case 7: snprintf(b, n, "%s.s>=%u", a, rnd(5)); break;
    case 8: snprintf(b, n, "%s.observedAt>2021-06-01T00:00:00Z", a); break;
    case 9: snprintf(b, n, "%s==\"2021-01-10T00:00:00Z\"..\"2021-09-19T09:00:00Z\"", a); break;
    default: {
        const char *op = ops[rnd(6)];
        const char *v = vals[rnd(12)];
        /* ordering takes no bool or URI literal: keep those to == and != */
        if (op[0] != '=' && op[0] != '!' &&
            (v[0] == 't' || v[0] == 'f' || v[0] == 'u' || strncmp(v, "\"urn", 4) == 0))
            op = "==";
        snprintf(b, n, "%s%s%s", a, op, v);
    }
    }
}

static void gen_q(char *b, size_t n, int depth)
{
    unsigned shape = depth > 2 ? 0 : rnd(4);
    if (shape <= 1) {
        gen_term(b, n);
        return;
    }
    char l[256], r[256];
    gen_q(l, sizeof l, depth + 1);
    gen_q(r, sizeof r, depth + 1);
    snprintf(b, n, shape == 2 ? "(%s;%s)" : "(%s|%s)", l, r);
}

static struct pl_typesel *gen_types(void)
{
    static const char *const t[] = {"T1", "T2,T3", "T1|T3", "(T1;T2)", "T2;T3", "nope"};
    struct pl_typesel *n = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_equal(pl_typesel_parse(t[rnd(6)], &n, &err), 0);
    assert_int_equal(pl_typesel_resolve(n, pl_ctx_core(), &err), 0);
    return n;
}

static struct pl_geoq *gen_geo(void)
{
    char rel[64], coords[256];
    const char *geom;
    double lon = -3.70 + rnd(1000) / 10000.0, lat = 40.40 + rnd(1000) / 10000.0;
    switch (rnd(4)) {
    case 0:
        snprintf(rel, sizeof rel, "near;maxDistance==%u", 200 + rnd(3000));
        geom = "Point";
        snprintf(coords, sizeof coords, "[%.5f,%.5f]", lon, lat);
        break;
    case 1:
        snprintf(rel, sizeof rel, "near;minDistance==%u", 200 + rnd(3000));
        geom = "Point";
        snprintf(coords, sizeof coords, "[%.5f,%.5f]", lon, lat);
        break;
    case 2:
    case 3: {
        double d = 0.005 + rnd(40) / 1000.0;
        snprintf(rel, sizeof rel, "%s", rnd(2) ? "within" : "intersects");
        geom = "Polygon";
        snprintf(coords, sizeof coords, "[[[%.5f,%.5f],[%.5f,%.5f],[%.5f,%.5f],[%.5f,%.5f],"
                                        "[%.5f,%.5f]]]",
                 lon, lat, lon + d, lat, lon + d, lat + d, lon, lat + d, lon, lat);
        break;
    }
    }
    struct pl_geoq *g = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_geoq_parse(rel, geom, coords, NULL, &g, &err) != 0)
        fprintf(stderr, "geo %s %s %s: %s\n", rel, geom, coords, err.detail);
    assert_non_null(g);
    return g;
}

static void q_equivalence(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < N_QUERIES; i++) {
        char text[1024];
        gen_q(text, sizeof text, 0);
        struct pl_q_node *n = NULL;
        struct pl_err err;
        pl_err_clear(&err);
        if (pl_q_parse(text, &n, &err) != 0) {
            fprintf(stderr, "generated q '%s' does not parse: %s\n", text, err.detail);
            fail();
        }
        assert_int_equal(pl_q_resolve(n, pl_ctx_core(), &err), 0);
        struct pl_store_query q = {.tenant = "", .q = n};
        /* some with a type selection or a geo-query too: other drivers, same answers */
        if (rnd(3) == 0)
            q.types = gen_types();
        if (rnd(6) == 0) {
            q.geo = gen_geo();
            q.geo_attr = PL_GEOQ_LOCATION_IRI;
        }
        compare(f, &q, text);
        pl_typesel_free((struct pl_typesel *)q.types);
        pl_geoq_free((struct pl_geoq *)q.geo);
        pl_q_free(n);
    }
    /* The generator must make queries that tell entities apart, or the test proves nothing. */
    assert_true(n_nontrivial > n_compared / 2);
}

static void type_scope_geo_equivalence(void **state)
{
    struct fx *f = *state;
    static const char *const scopes[] = {"/Madrid", "/Madrid/#", "/Madrid/+", "/#", "/Berlin/#",
                                         "/Madrid/Gardens;/Berlin", "(/Madrid/+|/Berlin/Mitte)",
                                         "/+/Gardens", "/Nope/#"};
    for (int i = 0; i < 300; i++) {
        struct pl_store_query q = {.tenant = ""};
        char text[64] = "types";
        if (rnd(2))
            q.types = gen_types();
        if (rnd(2)) {
            struct pl_scopeq *sq = NULL;
            struct pl_err err;
            pl_err_clear(&err);
            const char *st = scopes[rnd(9)];
            assert_int_equal(pl_scopeq_parse(st, &sq, &err), 0);
            q.scope = sq;
            snprintf(text, sizeof text, "scopeQ %s", st);
        }
        if (rnd(2) || (!q.types && !q.scope)) {
            q.geo = gen_geo();
            q.geo_attr = PL_GEOQ_LOCATION_IRI;
        }
        compare(f, &q, text);
        pl_typesel_free((struct pl_typesel *)q.types);
        pl_scopeq_free((struct pl_scopeq *)q.scope);
        pl_geoq_free((struct pl_geoq *)q.geo);
    }
}

/* issue 12: the read restriction (readable types, read ids) in SQL answers as the evaluator,
 * rows and count alike, combined with every other condition. */
static int readable_t(void *ud, const char *iri)
{
    const char *want = ud; /* "13": T1 and T3 */
    size_t n = strlen(iri);
    return n > 0 && iri[n - 2] == 'T' && strchr(want, iri[n - 1]) != NULL;
}

static void read_restriction_equivalence(void **state)
{
    struct fx *f = *state;
    static const char *const sets[] = {"1", "13", "2", ""};
    const char *ids[] = {"urn:ngsi-ld:T:3", "urn:ngsi-ld:T:10", "urn:ngsi-ld:T:77"};
    for (int i = 0; i < 200; i++) {
        struct pl_store_read rd = {readable_t, (void *)sets[rnd(4)], NULL, 0, NULL};
        if (rnd(2)) {
            rd.ids = ids;
            rd.n_ids = 3;
        }
        if (rnd(5) == 0)
            rd.type_readable = NULL;
        struct pl_store_query q = {.tenant = "", .read = &rd};
        char text[256];
        snprintf(text, sizeof text, "read types '%s' ids %zu", (const char *)rd.ud, rd.n_ids);
        struct pl_q_node *qn = NULL;
        if (rnd(2)) {
            char qt[200];
            gen_q(qt, sizeof qt, 0);
            struct pl_err err;
            pl_err_clear(&err);
            if (pl_q_parse(qt, &qn, &err) == 0 && pl_q_resolve(qn, pl_ctx_core(), &err) == 0)
                q.q = qn;
        }
        if (rnd(2))
            q.types = gen_types();
        compare(f, &q, text);
        pl_q_free(qn);
        pl_typesel_free((struct pl_typesel *)q.types);
    }
}

/* idPattern: anchored literal prefixes drive through the id index; the answers stay those of
 * regexec over every id. */
static void id_pattern_equivalence(void **state)
{
    struct fx *f = *state;
    static const char *const pats[] = {"^urn:ngsi-ld:T:1.*", "^urn:ngsi-ld:T:2[0-9]$",
                                       "^urn:ngsi-ld:T:3?", "^urn:ngsi-ld:T:",
                                       "T:(5|6)0", "^urn:ngsi-ld:T:39+", "^urn:ngsi-ld:U",
                                       "^urn:ngsi-ld:T:1{2}"};
    for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++) {
        regex_t re;
        struct pl_err err;
        pl_err_clear(&err);
        assert_int_equal(pl_regex_compile("idPattern", pats[i], &re, &err), 0);
        for (int with_type = 0; with_type < 2; with_type++) {
            struct pl_store_query q = {.tenant = "", .id_regex = &re, .id_pattern = pats[i]};
            if (with_type)
                q.types = gen_types();
            compare(f, &q, pats[i]);
            pl_typesel_free((struct pl_typesel *)q.types);
        }
        regfree(&re);
    }
}

/* Paging with limit/offset returns every match once, in a stable order. */
static void paging_is_exactly_once(void **state)
{
    struct fx *f = *state;
    struct pl_typesel *t = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_equal(pl_typesel_parse("T1,T2,T3", &t, &err), 0);
    assert_int_equal(pl_typesel_resolve(t, pl_ctx_core(), &err), 0);
    struct ids got;
    memset(&got, 0, sizeof got);
    for (int64_t off = 0; off < N_ENTITIES + 50; off += 7) {
        struct pl_store_query q = {.tenant = "", .types = t, .limit = 7, .offset = off};
        assert_int_equal(pl_store_entity_query(f->s, &q, collect, &got, NULL, &err), 0);
    }
    assert_int_equal(got.n, N_ENTITIES);
    pl_typesel_free(t);
}

static char *explain(struct fx *f, struct pl_store_query *q)
{
    char *out = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_equal(pl_store_explain(f->s, q, &out, &err), 0);
    return out;
}

/* The common shapes are answered from an index: the plan never scans the entity table. */
static void plans_use_indexes(void **state)
{
    struct fx *f = *state;
    struct pl_err err;
    pl_err_clear(&err);
    struct pl_typesel *t = NULL;
    assert_int_equal(pl_typesel_parse("T1", &t, &err), 0);
    assert_int_equal(pl_typesel_resolve(t, pl_ctx_core(), &err), 0);
    static const char *const qs[] = {NULL, "a==3", "a>2;a<8", "b==\"red\""};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        struct pl_q_node *n = NULL;
        if (qs[i]) {
            assert_int_equal(pl_q_parse(qs[i], &n, &err), 0);
            assert_int_equal(pl_q_resolve(n, pl_ctx_core(), &err), 0);
        }
        struct pl_store_query q = {.tenant = "", .types = t, .q = n};
        char *plan = explain(f, &q);
        if (strstr(plan, "SCAN e\n") || strstr(plan, "SCAN e ") || !strstr(plan, "USING")) {
            fprintf(stderr, "q=%s:\n%s", qs[i] ? qs[i] : "(none)", plan);
            fail();
        }
        free(plan);
        pl_q_free(n);
    }
    pl_typesel_free(t);
    for (int i = 0; i < 2; i++) {
        struct pl_geoq *g = NULL;
        if (i == 0)
            assert_int_equal(pl_geoq_parse("near;maxDistance==500", "Point", "[-3.65,40.45]",
                                           NULL, &g, &err),
                             0);
        else
            assert_int_equal(pl_geoq_parse("within", "Polygon",
                                           "[[[-3.66,40.44],[-3.64,40.44],[-3.64,40.46],"
                                           "[-3.66,40.46],[-3.66,40.44]]]",
                                           NULL, &g, &err),
                             0);
        struct pl_store_query q = {.tenant = "", .geo = g, .geo_attr = PL_GEOQ_LOCATION_IRI};
        char *plan = explain(f, &q);
        /* the R*Tree answers the window: idxNum 2 is its constraint search (0 = full scan) */
        if (!strstr(plan, "VIRTUAL TABLE INDEX 2:") || strstr(plan, "SCAN e\n")) {
            fprintf(stderr, "geo %d:\n%s", i, plan);
            fail();
        }
        free(plan);
        pl_geoq_free(g);
    }
}

/* Discovery counters follow every write: recomputed from the entities, they agree. */
static void discovery_counts_match_entities(void **state)
{
    struct fx *f = *state;
    json_t *types = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_equal(pl_store_discover(f->s, "", PL_DISCOVER_TYPES, NULL, &types, &err), 0);
    size_t i;
    json_t *t;
    json_array_foreach(types, i, t)
    {
        const char *iri = json_string_value(json_object_get(t, "type"));
        json_int_t want = 0;
        size_t j;
        json_t *e;
        json_array_foreach(f->all, j, e)
        {
            size_t k;
            json_t *et;
            json_array_foreach(json_object_get(e, "type"), k, et)
                want += strcmp(json_string_value(et), iri) == 0;
        }
        assert_int_equal(json_integer_value(json_object_get(t, "count")), want);
    }
    assert_true(json_array_size(types) == 3);
    json_decref(types);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(q_equivalence),
        cmocka_unit_test(type_scope_geo_equivalence),
        cmocka_unit_test(id_pattern_equivalence),
        cmocka_unit_test(read_restriction_equivalence),
        cmocka_unit_test(paging_is_exactly_once),
        cmocka_unit_test(plans_use_indexes),
        cmocka_unit_test(discovery_counts_match_entities),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
