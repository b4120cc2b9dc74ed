/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_history.c — the store's attribute history (docs/temporal.md), against a real SQLite
 * store in a fresh temp dir per test:
 *   - pl_store__hist_diff (store_int.h): the rows one change before -> after records;
 *   - history recorded by entity writes, read back with pl_store_hist_instances (order, lastN,
 *     the 4.11 timerel bounds, timeproperty, max + `more`) and pl_store_hist_entities;
 *   - the history policy (off, off_types, off_tenants, purge_on_delete);
 *   - temporal writes (pl_store_hist_add / _patch / _delete);
 *   - aggregation buckets (pl_store_hist_aggregate) against values computed here;
 *   - retention (pl_store_hist_trim_step): count and age rules. The store's own retention thread
 *     runs steps once a second meanwhile, so only end states after our own explicit steps are
 *     asserted (they hold whether or not the thread ran in between).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/timeutil.h"
#include "query/temporalq.h"
#include "store/store.h"
#include "store/store_int.h"

#define TY    "https://example.org/ns/Sensor"
#define TY2   "https://example.org/ns/Other"
#define AT    "https://example.org/ns/temperature"
#define AN    "https://example.org/ns/name"
#define AR    "https://example.org/ns/owner"
#define AS    "https://example.org/ns/label"
#define AM    "https://example.org/ns/mixed"
#define NULLV "urn:ngsi-ld:null"

/* 2024-01-01T00:00:00Z, one hour, one day; 2024-06-01T00:00:00Z, one minute */
#define T0  INT64_C(1704067200000)
#define H   INT64_C(3600000)
#define D   INT64_C(86400000)
#define M0  INT64_C(1717200000000)
#define MIN INT64_C(60000)

#define ID1 "urn:ngsi-ld:Sensor:1"
#define ID2 "urn:ngsi-ld:Sensor:2"
#define ID5 "urn:ngsi-ld:Sensor:5"

/* ------------------------------------------------------------------------------------------
 * Fixture: each test opens its own store (with its own policy) through fx_open; the cmocka
 * teardown closes it and removes the temp dir, also when the test failed.
 * ---------------------------------------------------------------------------------------- */

struct fx {
    char dir[64];
    char url[128];
    struct pl_hist_policy pol; /* the store borrows it: it lives as long as the fixture */
    struct pl_store *s;
};

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* pol NULL: a store that records no history. */
static struct pl_store *fx_open(void **state, const struct pl_hist_policy *pol)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    *state = f;
    snprintf(f->dir, sizeof f->dir, "/tmp/polis-hist-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->url, sizeof f->url, "sqlite:%s/db", f->dir);
    if (pol)
        f->pol = *pol;
    struct pl_store_config cfg = {.url = f->url, .history = pol ? &f->pol : NULL};
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_store_open(&cfg, &f->s, &err);
    if (rc != 0)
        fprintf(stderr, "pl_store_open(%s): %s\n", f->url, err.detail);
    assert_int_equal(rc, 0);
    assert_non_null(f->s);
    return f->s;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (!f)
        return 0;
    pl_store_close(f->s);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    *state = NULL;
    return 0;
}

static const struct pl_hist_policy POL_ON = {0};

/* ------------------------------------------------------------------------------------------
 * Entities and writes
 * ---------------------------------------------------------------------------------------- */

static char *iso(int64_t ms, char buf[PL_TIME_ISO_LEN])
{
    pl_time_format(ms, buf);
    return buf;
}

/* A Property instance {type, value, [observedAt], [datasetId]}; steals `value`. */
static json_t *prop(json_t *value, int64_t obs, const char *ds)
{
    json_t *p = json_pack("{s:s, s:o}", "type", "Property", "value", value);
    assert_non_null(p);
    char b[PL_TIME_ISO_LEN];
    if (obs != PL_HIST_NONE)
        json_object_set_new(p, "observedAt", json_string(iso(obs, b)));
    if (ds)
        json_object_set_new(p, "datasetId", json_string(ds));
    return p;
}

static json_t *rel(const char *object)
{
    json_t *r = json_pack("{s:s, s:s}", "type", "Relationship", "object", object);
    assert_non_null(r);
    return r;
}

/* The internal form of an entity with modifiedAt `mdf`; steals `attrs`. */
static json_t *entity(const char *id, const char *type, int64_t mdf, json_t *attrs)
{
    char c[PL_TIME_ISO_LEN], m[PL_TIME_ISO_LEN];
    json_t *e = json_pack("{s:s, s:[s], s:s, s:s, s:o}", "id", id, "type", type, "createdAt",
                          iso(M0 - D, c), "modifiedAt", iso(mdf, m), "attrs", attrs);
    assert_non_null(e);
    return e;
}

static int apply_set(void *ud, json_t *cur, json_t **next, struct pl_err *err)
{
    (void)cur;
    (void)err;
    *next = json_incref((json_t *)ud);
    return 0;
}

static int apply_delete(void *ud, json_t *cur, json_t **next, struct pl_err *err)
{
    (void)ud;
    (void)cur;
    (void)err;
    *next = NULL;
    return 0;
}

/* Writes `e` (stolen) as entity `id`. Returns the write's rc. */
static int put(struct pl_store *s, const char *tenant, const char *id, json_t *e)
{
    struct pl_store_write w;
    memset(&w, 0, sizeof w);
    w.tenant = tenant;
    w.id = id;
    w.apply = apply_set;
    w.ud = e;
    int rc = pl_store_write_sync(s, &w);
    json_decref(w.result);
    json_decref(e);
    return rc;
}

static int del_entity(struct pl_store *s, const char *tenant, const char *id)
{
    struct pl_store_write w;
    memset(&w, 0, sizeof w);
    w.tenant = tenant;
    w.id = id;
    w.flags = PL_WRITE_MUST_EXIST;
    w.apply = apply_delete;
    return pl_store_write_sync(s, &w);
}

/* A temporal fragment {"attrs": {attr: [instances]}} (+ "type" when type != NULL); steals
 * `instances`. */
static json_t *frag1(const char *type, const char *attr, json_t *instances)
{
    json_t *f = json_pack("{s:{s:o}}", "attrs", attr, instances);
    assert_non_null(f);
    if (type)
        json_object_set_new(f, "type", json_pack("[s]", type));
    return f;
}

static int hist_add(struct pl_store *s, const char *id, json_t *frag, int must_exist, int *created)
{
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_store_hist_add(s, "", id, frag, must_exist, created, &err);
    json_decref(frag);
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * Reading instances back
 * ---------------------------------------------------------------------------------------- */

struct irow {
    char *attr;
    int64_t iid, t;
    json_t *body;
    int more;
};
struct icoll {
    struct irow *r;
    size_t n, cap;
};

static int coll_row(void *ud, const char *attr, int64_t iid, int64_t t, const char *body,
                    size_t len, int more)
{
    struct icoll *c = ud;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct irow *x = realloc(c->r, cap * sizeof *x);
        if (!x)
            return -1;
        c->r = x;
        c->cap = cap;
    }
    struct irow *r = &c->r[c->n];
    r->attr = strdup(attr);
    r->iid = iid;
    r->t = t;
    r->more = more;
    r->body = json_loadb(body, len, 0, NULL);
    if (!r->attr || !r->body) {
        free(r->attr);
        json_decref(r->body);
        return -2;
    }
    c->n++;
    return 0;
}

static void coll_free(struct icoll *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->r[i].attr);
        json_decref(c->r[i].body);
    }
    free(c->r);
    memset(c, 0, sizeof *c);
}

static struct pl_hist_query hq(const char *id)
{
    struct pl_hist_query q;
    memset(&q, 0, sizeof q);
    q.tenant = "";
    q.id = id;
    q.prop = PL_TIMEPROP_OBSERVED_AT;
    q.rel = PL_TIMEREL_NONE;
    return q;
}

/* Runs q into *c (emptied first); returns the rc. */
static int read_rows(struct pl_store *s, const struct pl_hist_query *q, struct icoll *c)
{
    coll_free(c);
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_store_hist_instances(s, q, coll_row, c, &err);
    if (rc != 0 && rc != PL_ENOTFOUND)
        fprintf(stderr, "hist_instances: %d %s\n", rc, err.detail);
    return rc;
}

/* The rows of `attr` (at most max), checking they come as one block. Returns their number. */
static size_t rows_of(const struct icoll *c, const char *attr, const struct irow **out, size_t max)
{
    size_t n = 0, last = 0;
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->r[i].attr, attr) != 0)
            continue;
        if (n)
            assert_int_equal(i, last + 1); /* attribute by attribute */
        last = i;
        if (n < max)
            out[n] = &c->r[i];
        n++;
    }
    return n;
}

/* The value member ("value", else "object") of a row, as compact JSON (static buffer). */
static const char *val_of(const struct irow *r)
{
    static char buf[4][256];
    static int k;
    char *b = buf[k++ % 4];
    const json_t *v = json_object_get(r->body, "value");
    if (!v)
        v = json_object_get(r->body, "object");
    char *z = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    snprintf(b, 256, "%s", z ? z : "<none>");
    free(z);
    return b;
}

/* Asserts the rows of `attr` have exactly these values (compact JSON), in this order. */
static void expect_vals(const struct icoll *c, const char *attr, const char *const *vals, size_t n)
{
    const struct irow *r[64];
    size_t got = rows_of(c, attr, r, 64);
    if (got != n) {
        fprintf(stderr, "%s: %zu rows, expected %zu:", attr, got, n);
        for (size_t i = 0; i < got && i < 64; i++)
            fprintf(stderr, " %s@%lld", val_of(r[i]), (long long)r[i]->t);
        fprintf(stderr, "\n");
    }
    assert_int_equal(got, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(val_of(r[i]), vals[i]);
}

#define EXPECT_VALS(c, attr, ...)                                                                  \
    do {                                                                                           \
        static const char *const v_[] = {__VA_ARGS__};                                             \
        expect_vals((c), (attr), v_, sizeof v_ / sizeof *v_);                                      \
    } while (0)

static const char *str_member(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int64_t time_member(const json_t *o, const char *k)
{
    int64_t ms = PL_HIST_NONE;
    const char *s = str_member(o, k);
    if (s)
        assert_int_equal(pl_time_parse(s, &ms), 0);
    return ms;
}

/* ------------------------------------------------------------------------------------------
 * Temporal entities
 * ---------------------------------------------------------------------------------------- */

struct ecoll {
    size_t n;
    char id[8][128];
    char types[8][256];
    int has_scope[8];
    char scope[8][128];
    int64_t deleted[8];
};

static int coll_entity(void *ud, const char *id, const char *types_text, const char *scope_text,
                       int64_t deleted_ms)
{
    struct ecoll *c = ud;
    if (c->n < 8) {
        snprintf(c->id[c->n], sizeof c->id[0], "%s", id);
        snprintf(c->types[c->n], sizeof c->types[0], "%s", types_text ? types_text : "<null>");
        c->has_scope[c->n] = scope_text != NULL;
        snprintf(c->scope[c->n], sizeof c->scope[0], "%s", scope_text ? scope_text : "");
        c->deleted[c->n] = deleted_ms;
    }
    c->n++;
    return 0;
}

static size_t hist_entities(struct pl_store *s, const char *tenant, const char *const *ids,
                            size_t n_ids, const char *prefix, struct ecoll *c)
{
    memset(c, 0, sizeof *c);
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_equal(pl_store_hist_entities(s, tenant, ids, n_ids, prefix, coll_entity, c, &err),
                     0);
    return c->n;
}

/* ==========================================================================================
 * 1. pl_store__hist_diff
 * ======================================================================================== */

#define NOW INT64_C(1700000000000) /* 2023-11-14T22:13:20.000Z */

static json_t *ent_attrs(json_t *attrs) /* {"id", "type", "attrs"}; steals attrs */
{
    json_t *e =
        json_pack("{s:s, s:[s], s:o}", "id", "urn:ngsi-ld:Sensor:d", "type", TY, "attrs", attrs);
    assert_non_null(e);
    return e;
}

static const struct pl_hist_inst *row_for(const struct pl_hist_batch *b, const char *attr,
                                          const char *ds)
{
    const struct pl_hist_inst *found = NULL;
    for (size_t i = 0; i < b->n; i++) {
        const struct pl_hist_inst *r = &b->rows[i];
        int same_ds =
            (!ds && !r->dataset_id) || (ds && r->dataset_id && !strcmp(ds, r->dataset_id));
        if (strcmp(r->attr, attr) == 0 && same_ds) {
            assert_null(found); /* one row per (attr, datasetId) */
            found = r;
        }
    }
    assert_non_null(found);
    return found;
}

static json_t *row_body(const struct pl_hist_inst *r)
{
    assert_int_equal(strlen(r->body), r->len);
    json_t *j = json_loadb(r->body, r->len, 0, NULL);
    assert_non_null(j);
    return j;
}

/* Checks a deletion row of `attr`/`ds` with value member `member`, type `type`. */
static void expect_deletion(const struct pl_hist_batch *b, const char *attr, const char *ds,
                            const char *type, const char *member)
{
    const struct pl_hist_inst *r = row_for(b, attr, ds);
    char now_iso[PL_TIME_ISO_LEN];
    iso(NOW, now_iso);
    assert_true(r->obs == PL_HIST_NONE);
    assert_true(r->cre == NOW);
    assert_true(r->mdf == NOW);
    assert_true(r->del == NOW);
    assert_int_equal(r->kind, PL_HV_NULL);
    json_t *j = row_body(r);
    assert_string_equal(str_member(j, "type"), type);
    assert_string_equal(str_member(j, member), NULLV);
    if (strcmp(member, "value") != 0)
        assert_null(json_object_get(j, "value"));
    if (strcmp(member, "object") != 0)
        assert_null(json_object_get(j, "object"));
    assert_string_equal(str_member(j, "deletedAt"), now_iso);
    assert_string_equal(str_member(j, "createdAt"), now_iso);
    assert_string_equal(str_member(j, "modifiedAt"), now_iso);
    assert_null(json_object_get(j, "observedAt"));
    if (ds)
        assert_string_equal(str_member(j, "datasetId"), ds);
    else
        assert_null(json_object_get(j, "datasetId"));
    json_decref(j);
}

static void diff_new_attribute_gives_one_full_row(void **state)
{
    (void)state;
    json_t *after = ent_attrs(json_pack("{s:[o]}", AT, prop(json_integer(21), T0, NULL)));
    struct pl_hist_batch b = {0};
    assert_int_equal(pl_store__hist_diff(NULL, after, NOW, &b), 0);
    assert_int_equal(b.n, 1);
    const struct pl_hist_inst *r = &b.rows[0];
    assert_string_equal(r->attr, AT);
    assert_null(r->dataset_id);
    assert_true(r->obs == T0);
    assert_true(r->cre == NOW);
    assert_true(r->mdf == NOW);
    assert_true(r->del == PL_HIST_NONE);
    assert_int_equal(r->kind, PL_HV_NUMBER);
    assert_true(r->num == 21.0);
    json_t *j = row_body(r);
    char b1[PL_TIME_ISO_LEN], b2[PL_TIME_ISO_LEN];
    assert_string_equal(str_member(j, "type"), "Property");
    assert_int_equal(json_integer_value(json_object_get(j, "value")), 21);
    assert_string_equal(str_member(j, "observedAt"), iso(T0, b1));
    assert_string_equal(str_member(j, "createdAt"), iso(NOW, b2));
    assert_string_equal(str_member(j, "modifiedAt"), b2);
    assert_null(json_object_get(j, "deletedAt"));
    assert_null(json_object_get(j, "instanceId"));
    assert_int_equal(json_object_size(j), 5);
    json_decref(j);
    pl_store__hist_batch_free(&b);
    assert_int_equal(b.n, 0);
    json_decref(after);
}

static void diff_changed_unchanged_and_rewritten(void **state)
{
    (void)state;
    json_t *before = ent_attrs(json_pack("{s:[o], s:[o]}", AT, prop(json_integer(1), T0, NULL), AN,
                                         prop(json_string("same"), PL_HIST_NONE, NULL)));
    /* a changed value; the unchanged attribute gives no row */
    json_t *after = ent_attrs(json_pack("{s:[o], s:[o]}", AT, prop(json_integer(2), T0, NULL), AN,
                                        prop(json_string("same"), PL_HIST_NONE, NULL)));
    struct pl_hist_batch b = {0};
    assert_int_equal(pl_store__hist_diff(before, after, NOW, &b), 0);
    assert_int_equal(b.n, 1);
    assert_string_equal(b.rows[0].attr, AT);
    assert_true(b.rows[0].num == 2.0);
    assert_true(b.rows[0].del == PL_HIST_NONE);
    pl_store__hist_batch_free(&b);

    /* nothing changed: no row at all */
    assert_int_equal(pl_store__hist_diff(before, before, NOW, &b), 0);
    assert_int_equal(b.n, 0);
    pl_store__hist_batch_free(&b);

    /* a rewrite with the same value whose modifiedAt changed: one row */
    json_t *rewritten = json_deep_copy(before);
    json_t *inst = json_array_get(json_object_get(json_object_get(rewritten, "attrs"), AT), 0);
    json_object_set_new(inst, "modifiedAt", json_string("2024-03-01T00:00:00.000Z"));
    assert_int_equal(pl_store__hist_diff(before, rewritten, NOW, &b), 0);
    assert_int_equal(b.n, 1);
    assert_string_equal(b.rows[0].attr, AT);
    assert_true(b.rows[0].num == 1.0);
    json_t *j = row_body(&b.rows[0]);
    char nb[PL_TIME_ISO_LEN];
    assert_string_equal(str_member(j, "modifiedAt"), iso(NOW, nb)); /* stamped, not copied */
    json_decref(j);
    pl_store__hist_batch_free(&b);

    json_decref(rewritten);
    json_decref(after);
    json_decref(before);
}

static void diff_removed_attributes_give_deletion_rows(void **state)
{
    (void)state;
    json_t *before =
        ent_attrs(json_pack("{s:[o], s:[o], s:[o]}", AT, prop(json_integer(1), T0, NULL), AN,
                            prop(json_string("same"), PL_HIST_NONE, NULL), AR, rel("urn:x:1")));
    json_t *after =
        ent_attrs(json_pack("{s:[o]}", AN, prop(json_string("same"), PL_HIST_NONE, NULL)));
    struct pl_hist_batch b = {0};
    assert_int_equal(pl_store__hist_diff(before, after, NOW, &b), 0);
    assert_int_equal(b.n, 2);
    expect_deletion(&b, AT, NULL, "Property", "value");
    expect_deletion(&b, AR, NULL, "Relationship", "object");
    pl_store__hist_batch_free(&b);
    json_decref(after);
    json_decref(before);
}

static void diff_dataset_instances_are_separate(void **state)
{
    (void)state;
    json_t *before = ent_attrs(json_pack("{s:[o,o,o]}", AT, prop(json_integer(0), T0, NULL),
                                         prop(json_integer(1), T0, "urn:ds:1"),
                                         prop(json_integer(2), T0, "urn:ds:2")));
    /* only the ds:1 instance changes (and the order of the instances does not matter) */
    json_t *after = ent_attrs(json_pack("{s:[o,o,o]}", AT, prop(json_integer(2), T0, "urn:ds:2"),
                                        prop(json_integer(10), T0 + H, "urn:ds:1"),
                                        prop(json_integer(0), T0, NULL)));
    struct pl_hist_batch b = {0};
    assert_int_equal(pl_store__hist_diff(before, after, NOW, &b), 0);
    assert_int_equal(b.n, 1);
    const struct pl_hist_inst *r = row_for(&b, AT, "urn:ds:1");
    assert_true(r->num == 10.0);
    assert_true(r->obs == T0 + H);
    json_t *j = row_body(r);
    assert_string_equal(str_member(j, "datasetId"), "urn:ds:1");
    json_decref(j);
    pl_store__hist_batch_free(&b);

    /* ds:2 removed: one deletion row for that instance only */
    json_t *after2 = ent_attrs(json_pack("{s:[o,o]}", AT, prop(json_integer(0), T0, NULL),
                                         prop(json_integer(1), T0, "urn:ds:1")));
    assert_int_equal(pl_store__hist_diff(before, after2, NOW, &b), 0);
    assert_int_equal(b.n, 1);
    expect_deletion(&b, AT, "urn:ds:2", "Property", "value");
    pl_store__hist_batch_free(&b);

    json_decref(after2);
    json_decref(after);
    json_decref(before);
}

static void diff_entity_deletion_gives_one_row_per_instance(void **state)
{
    (void)state;
    json_t *before =
        ent_attrs(json_pack("{s:[o,o], s:[o]}", AT, prop(json_integer(0), T0, NULL),
                            prop(json_integer(1), T0, "urn:ds:1"), AR, rel("urn:x:1")));
    struct pl_hist_batch b = {0};
    assert_int_equal(pl_store__hist_diff(before, NULL, NOW, &b), 0);
    assert_int_equal(b.n, 3);
    expect_deletion(&b, AT, NULL, "Property", "value");
    expect_deletion(&b, AT, "urn:ds:1", "Property", "value");
    expect_deletion(&b, AR, NULL, "Relationship", "object");
    pl_store__hist_batch_free(&b);
    json_decref(before);
}

static void diff_classifies_values(void **state)
{
    (void)state;
    json_t *attrs = json_object();
    json_object_set_new(attrs, "urn:a:str", json_pack("[o]", prop(json_string("abc"), T0, NULL)));
    json_object_set_new(attrs, "urn:a:bool", json_pack("[o]", prop(json_true(), T0, NULL)));
    json_object_set_new(attrs, "urn:a:arr",
                        json_pack("[o]", prop(json_pack("[i,i,i]", 1, 2, 3), T0, NULL)));
    json_object_set_new(attrs, "urn:a:obj",
                        json_pack("[o]", prop(json_pack("{s:i}", "a", 1), T0, NULL)));
    json_object_set_new(attrs, "urn:a:real", json_pack("[o]", prop(json_real(2.5), T0, NULL)));
    json_object_set_new(attrs, "urn:a:nul", json_pack("[o]", prop(json_string(NULLV), T0, NULL)));
    json_object_set_new(attrs, "urn:a:rel", json_pack("[o]", rel("urn:x:1")));
    json_object_set_new(attrs, "urn:a:list",
                        json_pack("[{s:s, s:[i,i]}]", "type", "ListProperty", "valueList", 1, 2));
    json_object_set_new(
        attrs, "urn:a:lang",
        json_pack("[{s:s, s:{s:s}}]", "type", "LanguageProperty", "languageMap", "en", "hi"));
    json_t *after = ent_attrs(attrs);
    struct pl_hist_batch b = {0};
    assert_int_equal(pl_store__hist_diff(NULL, after, NOW, &b), 0);
    assert_int_equal(b.n, 9);
    static const struct {
        const char *attr;
        int kind;
        double num;
    } want[] = {
        {"urn:a:str", PL_HV_STRING, 0},    {"urn:a:bool", PL_HV_BOOL, 1},
        {"urn:a:arr", PL_HV_ARRAY, 3},     {"urn:a:obj", PL_HV_OBJECT, 0},
        {"urn:a:real", PL_HV_NUMBER, 2.5}, {"urn:a:nul", PL_HV_NULL, 0},
        {"urn:a:rel", PL_HV_REL, 0},       {"urn:a:list", PL_HV_ARRAY, 2},
        {"urn:a:lang", PL_HV_OTHER, 0},
    };
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        const struct pl_hist_inst *r = row_for(&b, want[i].attr, NULL);
        if (r->kind != want[i].kind)
            fprintf(stderr, "%s: kind %d, expected %d\n", want[i].attr, r->kind, want[i].kind);
        assert_int_equal(r->kind, want[i].kind);
        assert_true(r->num == want[i].num);
        assert_true(r->del == PL_HIST_NONE); /* a "urn:ngsi-ld:null" value is no deletion */
    }
    pl_store__hist_batch_free(&b);
    json_decref(after);
}

/* ==========================================================================================
 * 2. History recorded by entity writes
 * ======================================================================================== */

/* The sensor as written by step k (0..4): temperature vals[k] observed at obs[k]; "name"
 * present in steps 0..3. */
static const int temp_val[] = {10, 11, 12, 13, 13};
static const int64_t temp_obs[] = {T0 + 2 * H, T0, T0 + 3 * H, T0 + H, T0 + H};

static json_t *sensor_step(int k)
{
    json_t *attrs = json_pack("{s:[o]}", AT, prop(json_integer(temp_val[k]), temp_obs[k], NULL));
    if (k < 4)
        json_object_set_new(attrs, AN,
                            json_pack("[o]", prop(json_string("alpha"), PL_HIST_NONE, NULL)));
    return entity(ID1, TY, M0 + k * MIN, attrs);
}

/* Creates ID1, updates it 3 times, deletes "name" (step 4), deletes the entity. *w0 / *w1:
 * the wall clock around the entity delete. */
static void write_sensor_history(struct pl_store *s, int64_t *w0, int64_t *w1)
{
    for (int k = 0; k <= 4; k++)
        assert_int_equal(put(s, "", ID1, sensor_step(k)), 0);
    struct ecoll ec;
    assert_int_equal(hist_entities(s, "", NULL, 0, NULL, &ec), 1);
    assert_string_equal(ec.id[0], ID1);
    assert_true(ec.deleted[0] == PL_HIST_NONE);
    *w0 = pl_time_now_ms();
    assert_int_equal(del_entity(s, "", ID1), 0);
    *w1 = pl_time_now_ms();
}

static void writes_record_instances_in_observed_order(void **state)
{
    struct pl_store *s = fx_open(state, &POL_ON);
    int64_t w0, w1;
    write_sensor_history(s, &w0, &w1);

    struct icoll c = {0};
    struct pl_hist_query q = hq(ID1);
    assert_int_equal(read_rows(s, &q, &c), 0);
    assert_int_equal(c.n, 7);
    /* attributes in IRI order: name, temperature */
    assert_string_equal(c.r[0].attr, AN);
    EXPECT_VALS(&c, AT, "11", "13", "10", "12", "\"" NULLV "\"");
    EXPECT_VALS(&c, AN, "\"alpha\"", "\"" NULLV "\"");
    const struct irow *r[8];
    assert_int_equal(rows_of(&c, AT, r, 8), 5);
    static const int64_t t_want[] = {T0, T0 + H, T0 + 2 * H, T0 + 3 * H};
    char b1[PL_TIME_ISO_LEN];
    for (int i = 0; i < 4; i++) {
        assert_true(r[i]->t == t_want[i]);
        assert_true(time_member(r[i]->body, "observedAt") == t_want[i]);
        assert_null(json_object_get(r[i]->body, "deletedAt"));
        assert_int_equal(r[i]->more, 0);
    }
    /* createdAt = modifiedAt = when the write recorded it (the entity's modifiedAt) */
    assert_string_equal(str_member(r[0]->body, "createdAt"), iso(M0 + 1 * MIN, b1)); /* 11 */
    assert_string_equal(str_member(r[0]->body, "modifiedAt"), b1);
    assert_string_equal(str_member(r[2]->body, "createdAt"), iso(M0 + 0 * MIN, b1)); /* 10 */
    /* the deletion instance of the entity delete: no observedAt, its time is createdAt */
    assert_null(json_object_get(r[4]->body, "observedAt"));
    assert_string_equal(str_member(r[4]->body, "type"), "Property");
    int64_t del = time_member(r[4]->body, "deletedAt");
    assert_true(del >= w0 && del <= w1);
    assert_true(r[4]->t == del);
    assert_true(time_member(r[4]->body, "createdAt") == del);
    /* instance ids: unique, in recording order */
    assert_true(r[2]->iid < r[0]->iid && r[0]->iid < r[3]->iid && r[3]->iid < r[1]->iid &&
                r[1]->iid < r[4]->iid);
    /* name: created at step 0 (no observedAt: its time is createdAt), deleted at step 4 */
    assert_int_equal(rows_of(&c, AN, r, 8), 2);
    assert_true(r[0]->t == M0);
    assert_true(r[1]->t == M0 + 4 * MIN);
    assert_true(time_member(r[1]->body, "deletedAt") == M0 + 4 * MIN);

    /* attrs: only those */
    const char *only[] = {AN};
    q.attrs = only;
    q.n_attrs = 1;
    assert_int_equal(read_rows(s, &q, &c), 0);
    assert_int_equal(c.n, 2);
    EXPECT_VALS(&c, AN, "\"alpha\"", "\"" NULLV "\"");

    /* an id without history */
    q = hq("urn:ngsi-ld:Sensor:none");
    assert_int_equal(read_rows(s, &q, &c), PL_ENOTFOUND);
    coll_free(&c);
}

static void writes_timerel_bounds(void **state)
{
    struct pl_store *s = fx_open(state, &POL_ON);
    int64_t w0, w1;
    write_sensor_history(s, &w0, &w1);
    struct icoll c = {0};

    /* before: exclusive (13 at T0+H is out); instances without observedAt never match */
    struct pl_hist_query q = hq(ID1);
    q.rel = PL_TIMEREL_BEFORE;
    q.t1 = T0 + H;
    assert_int_equal(read_rows(s, &q, &c), 0);
    assert_int_equal(c.n, 1);
    EXPECT_VALS(&c, AT, "11");

    /* after: inclusive */
    q.rel = PL_TIMEREL_AFTER;
    assert_int_equal(read_rows(s, &q, &c), 0);
    assert_int_equal(c.n, 3);
    EXPECT_VALS(&c, AT, "13", "10", "12");

    /* between: [a, b) */
    q.rel = PL_TIMEREL_BETWEEN;
    q.t1 = T0 + H;
    q.t2 = T0 + 3 * H;
    assert_int_equal(read_rows(s, &q, &c), 0);
    assert_int_equal(c.n, 2);
    EXPECT_VALS(&c, AT, "13", "10");

    /* nothing in the window: no rows, no error */
    q.t1 = T0 - 2 * H;
    q.t2 = T0;
    assert_int_equal(read_rows(s, &q, &c), 0);
    assert_int_equal(c.n, 0);
    coll_free(&c);
}

static void writes_last_n_and_timeproperty(void **state)
{
    struct pl_store *s = fx_open(state, &POL_ON);
    int64_t w0, w1;
    write_sensor_history(s, &w0, &w1);
    struct icoll c = {0};

    /* lastN: the latest n, returned in ascending order */
    struct pl_hist_query q = hq(ID1);
    q.last_n = 2;
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "12", "\"" NULLV "\"");
    EXPECT_VALS(&c, AN, "\"alpha\"", "\"" NULLV "\"");

    /* lastN inside a window */
    q.rel = PL_TIMEREL_BEFORE;
    q.t1 = T0 + 3 * H;
    assert_int_equal(read_rows(s, &q, &c), 0);
    assert_int_equal(c.n, 2);
    EXPECT_VALS(&c, AT, "13", "10");

    /* timeproperty createdAt: recording order; t is createdAt */
    q = hq(ID1);
    q.prop = PL_TIMEPROP_CREATED_AT;
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "10", "11", "12", "13", "\"" NULLV "\"");
    EXPECT_VALS(&c, AN, "\"alpha\"", "\"" NULLV "\"");
    const struct irow *r[8];
    assert_int_equal(rows_of(&c, AT, r, 8), 5);
    for (int i = 0; i < 4; i++)
        assert_true(r[i]->t == M0 + i * MIN);
    assert_true(r[4]->t >= w0 && r[4]->t <= w1);

    q.rel = PL_TIMEREL_BETWEEN;
    q.t1 = M0 + MIN;
    q.t2 = M0 + 3 * MIN;
    assert_int_equal(read_rows(s, &q, &c), 0);
    assert_int_equal(c.n, 2);
    EXPECT_VALS(&c, AT, "11", "12");

    q.rel = PL_TIMEREL_AFTER;
    q.t1 = M0 + 4 * MIN;
    assert_int_equal(read_rows(s, &q, &c), 0);
    assert_int_equal(c.n, 2);
    EXPECT_VALS(&c, AT, "\"" NULLV "\"");
    EXPECT_VALS(&c, AN, "\"" NULLV "\"");

    /* timeproperty deletedAt: only deletion instances have it */
    q = hq(ID1);
    q.prop = PL_TIMEPROP_DELETED_AT;
    q.rel = PL_TIMEREL_AFTER;
    q.t1 = 0;
    assert_int_equal(read_rows(s, &q, &c), 0);
    assert_int_equal(c.n, 2);
    EXPECT_VALS(&c, AT, "\"" NULLV "\"");
    EXPECT_VALS(&c, AN, "\"" NULLV "\"");
    coll_free(&c);
}

static void writes_max_truncates_with_more_flag(void **state)
{
    struct pl_store *s = fx_open(state, &POL_ON);
    int64_t w0, w1;
    write_sensor_history(s, &w0, &w1);
    struct icoll c = {0};
    const struct irow *r[8];

    /* max 2: the first two in time order, `more` on the last row of the cut attribute only */
    struct pl_hist_query q = hq(ID1);
    q.max = 2;
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "11", "13");
    assert_int_equal(rows_of(&c, AT, r, 8), 2);
    assert_int_equal(r[0]->more, 0);
    assert_int_equal(r[1]->more, 1);
    EXPECT_VALS(&c, AN, "\"alpha\"", "\"" NULLV "\""); /* exactly 2: not cut */
    assert_int_equal(rows_of(&c, AN, r, 8), 2);
    assert_int_equal(r[0]->more, 0);
    assert_int_equal(r[1]->more, 0);

    /* max larger than what there is: never `more` */
    q.max = 5;
    assert_int_equal(read_rows(s, &q, &c), 0);
    assert_int_equal(c.n, 7);
    for (size_t i = 0; i < c.n; i++)
        assert_int_equal(c.r[i].more, 0);

    /* lastN above max: the latest max instances, ascending, `more` on the row at the cut, the
     * oldest one returned (lastN pages backwards, 6.3.10) */
    q.max = 2;
    q.last_n = 4;
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "12", "\"" NULLV "\"");
    assert_int_equal(rows_of(&c, AT, r, 8), 2);
    assert_int_equal(r[0]->more, 1);
    assert_int_equal(r[1]->more, 0);
    coll_free(&c);
}

static void writes_entity_listed_and_marked_deleted(void **state)
{
    struct pl_store *s = fx_open(state, &POL_ON);
    int64_t w0, w1;
    write_sensor_history(s, &w0, &w1);
    assert_int_equal(put(s, "", "urn:ngsi-ld:Other:1",
                         entity("urn:ngsi-ld:Other:1", TY2, M0,
                                json_pack("{s:[o]}", AT, prop(json_integer(1), T0, NULL)))),
                     0);
    struct ecoll ec;
    assert_int_equal(hist_entities(s, "", NULL, 0, NULL, &ec), 2);
    assert_string_equal(ec.id[0], "urn:ngsi-ld:Other:1"); /* id order */
    assert_string_equal(ec.id[1], ID1);
    assert_string_equal(ec.types[1], "[\"" TY "\"]");
    assert_int_equal(ec.has_scope[1], 0);
    assert_true(ec.deleted[1] >= w0 && ec.deleted[1] <= w1);
    assert_true(ec.deleted[0] == PL_HIST_NONE);

    const char *ids[] = {ID1, "urn:ngsi-ld:Nope:1"};
    assert_int_equal(hist_entities(s, "", ids, 2, NULL, &ec), 1);
    assert_string_equal(ec.id[0], ID1);
    assert_int_equal(hist_entities(s, "", NULL, 0, "urn:ngsi-ld:Sensor:", &ec), 1);
    assert_string_equal(ec.id[0], ID1);
    assert_int_equal(hist_entities(s, "", NULL, 0, "urn:ngsi-ld:Nope", &ec), 0);
    assert_int_equal(hist_entities(s, "other", NULL, 0, NULL, &ec), 0); /* tenants apart */

    /* re-created: no longer marked deleted, and the history goes on */
    assert_int_equal(put(s, "", ID1,
                         entity(ID1, TY, pl_time_now_ms(),
                                json_pack("{s:[o]}", AT, prop(json_integer(20), T0, NULL)))),
                     0);
    assert_int_equal(hist_entities(s, "", ids, 1, NULL, &ec), 1);
    assert_true(ec.deleted[0] == PL_HIST_NONE);
    struct icoll c = {0};
    struct pl_hist_query q = hq(ID1);
    q.prop = PL_TIMEPROP_CREATED_AT;
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "10", "11", "12", "13", "\"" NULLV "\"", "20");
    coll_free(&c);
}

static void writes_scope_recorded_and_cleared(void **state)
{
    struct pl_store *s = fx_open(state, &POL_ON);
    json_t *e = entity(ID1, TY, M0, json_pack("{s:[o]}", AT, prop(json_integer(1), T0, NULL)));
    json_object_set_new(e, "scope", json_pack("[s]", "/a/b"));
    assert_int_equal(put(s, "", ID1, e), 0);
    struct ecoll ec;
    assert_int_equal(hist_entities(s, "", NULL, 0, NULL, &ec), 1);
    assert_int_equal(ec.has_scope[0], 1);
    assert_string_equal(ec.scope[0], "[\"/a/b\"]");
    /* the scope removed by a write: cleared; the types follow the last write */
    e = entity(ID1, TY2, M0 + MIN, json_pack("{s:[o]}", AT, prop(json_integer(2), T0, NULL)));
    assert_int_equal(put(s, "", ID1, e), 0);
    assert_int_equal(hist_entities(s, "", NULL, 0, NULL, &ec), 1);
    assert_int_equal(ec.has_scope[0], 0);
    assert_string_equal(ec.types[0], "[\"" TY2 "\"]");
    /* a temporal fragment with a scope sets it */
    json_t *f = frag1(NULL, AT, json_pack("[o]", prop(json_integer(3), T0 + H, NULL)));
    json_object_set_new(f, "scope", json_pack("[s]", "/c"));
    assert_int_equal(hist_add(s, ID1, f, 1, NULL), 0);
    assert_int_equal(hist_entities(s, "", NULL, 0, NULL, &ec), 1);
    assert_string_equal(ec.scope[0], "[\"/c\"]");
    assert_string_equal(ec.types[0], "[\"" TY2 "\"]");
}

/* Prepared (optimistic) writes record history too; a prepared update that does not say what
 * the entity was before cannot: it fails as stale (the caller retries) and changes nothing. */
static void writes_prepared_record_history(void **state)
{
    struct pl_store *s = fx_open(state, &POL_ON);
    json_t *e0 = entity(ID1, TY, M0, json_pack("{s:[o]}", AT, prop(json_integer(1), T0, NULL)));
    struct pl_store_write w;
    memset(&w, 0, sizeof w);
    w.tenant = "";
    w.id = ID1;
    w.flags = PL_WRITE_MUST_NOT_EXIST;
    assert_int_equal(pl_store_prep_insert(e0, &w), 0);
    assert_int_equal(pl_store_write_sync(s, &w), 0);
    json_decref(w.result);
    pl_store_prep_release(&w);
    json_decref(e0);

    struct pl_err err;
    pl_err_clear(&err);
    for (int with_before = 1; with_before >= 0; with_before--) {
        json_t *cur = NULL;
        int64_t rev = 0;
        assert_int_equal(pl_store_entity_get_rev(s, "", ID1, &cur, &rev, &err), 0);
        struct pl_store_prep p;
        assert_int_equal(pl_store_prep_begin(&p, cur), 0);
        json_t *next = entity(
            ID1, TY, M0 + (2 - with_before) * MIN,
            json_pack("{s:[o]}", AT,
                      prop(json_integer(5 + with_before), T0 + (2 - with_before) * H, NULL)));
        memset(&w, 0, sizeof w);
        w.tenant = "";
        w.id = ID1;
        assert_int_equal(pl_store_prep_end(&p, next, rev, &w), 0);
        if (with_before)
            w.before = cur;
        int rc = pl_store_write_sync(s, &w);
        json_decref(w.result);
        pl_store_prep_release(&w);
        json_decref(next);
        json_decref(cur);
        assert_int_equal(rc, with_before ? 0 : PL_ESTALE);
    }
    struct icoll c = {0};
    struct pl_hist_query q = hq(ID1);
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "1", "6");
    const struct irow *r[4];
    assert_int_equal(rows_of(&c, AT, r, 4), 2);
    assert_true(time_member(r[1]->body, "createdAt") == M0 + MIN);
    json_t *now = NULL;
    assert_int_equal(pl_store_entity_get(s, "", ID1, &now, &err), 0);
    const json_t *inst = json_array_get(json_object_get(json_object_get(now, "attrs"), AT), 0);
    assert_int_equal(json_integer_value(json_object_get(inst, "value")), 6);
    json_decref(now);
    coll_free(&c);
}

/* lastN is per attribute and datasetId; the rows of all datasets come merged in time order. */
static void last_n_per_dataset(void **state)
{
    struct pl_store *s = fx_open(state, &POL_ON);
    assert_int_equal(hist_add(s, ID2,
                              frag1(TY, AT,
                                    json_pack("[o,o,o,o,o]", prop(json_integer(1), T0, NULL),
                                              prop(json_integer(100), T0 + H, "urn:ds:1"),
                                              prop(json_integer(2), T0 + 2 * H, NULL),
                                              prop(json_integer(101), T0 + 3 * H, "urn:ds:1"),
                                              prop(json_integer(102), T0 - H, "urn:ds:1"))),
                              0, NULL),
                     0);
    struct icoll c = {0};
    struct pl_hist_query q = hq(ID2);
    q.last_n = 1;
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "2", "101");
    q.last_n = 2;
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "1", "100", "2", "101");
    q.last_n = 0;
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "102", "1", "100", "2", "101");
    coll_free(&c);
}

/* ==========================================================================================
 * 3. Policy
 * ======================================================================================== */

static void write_two_steps(struct pl_store *s, const char *tenant, const char *id,
                            const char *type)
{
    assert_int_equal(
        put(s, tenant, id,
            entity(id, type, M0, json_pack("{s:[o]}", AT, prop(json_integer(1), T0, NULL)))),
        0);
    assert_int_equal(put(s, tenant, id,
                         entity(id, type, M0 + MIN,
                                json_pack("{s:[o]}", AT, prop(json_integer(2), T0 + H, NULL)))),
                     0);
}

static void policy_off_records_nothing(void **state)
{
    static const struct pl_hist_policy off = {.off = 1};
    struct pl_store *s = fx_open(state, &off);
    write_two_steps(s, "", ID1, TY);
    assert_int_equal(del_entity(s, "", ID1), 0);
    struct ecoll ec;
    assert_int_equal(hist_entities(s, "", NULL, 0, NULL, &ec), 0);
    struct icoll c = {0};
    struct pl_hist_query q = hq(ID1);
    assert_int_equal(read_rows(s, &q, &c), PL_ENOTFOUND);
    assert_int_equal(c.n, 0);
    assert_int_equal(pl_store_hist_on(s, ""), 0);
    assert_true(pl_store_hist_trim_step(s) == 0);
    coll_free(&c);
}

static void policy_no_policy_records_nothing(void **state)
{
    struct pl_store *s = fx_open(state, NULL);
    write_two_steps(s, "", ID1, TY);
    struct ecoll ec;
    assert_int_equal(hist_entities(s, "", NULL, 0, NULL, &ec), 0);
    assert_int_equal(pl_store_hist_on(s, ""), 0);
}

static void policy_off_types(void **state)
{
    static const char *const off_types[] = {TY2};
    static const struct pl_hist_policy pol = {.off_types = off_types, .n_off_types = 1};
    struct pl_store *s = fx_open(state, &pol);
    write_two_steps(s, "", "urn:ngsi-ld:Sensor:on", TY);
    write_two_steps(s, "", "urn:ngsi-ld:Other:off", TY2);
    /* an entity with an off type among its types records nothing either */
    json_t *e = entity("urn:ngsi-ld:Both:1", TY, M0,
                       json_pack("{s:[o]}", AT, prop(json_integer(1), T0, NULL)));
    json_array_append_new(json_object_get(e, "type"), json_string(TY2));
    assert_int_equal(put(s, "", "urn:ngsi-ld:Both:1", e), 0);

    struct ecoll ec;
    assert_int_equal(hist_entities(s, "", NULL, 0, NULL, &ec), 1);
    assert_string_equal(ec.id[0], "urn:ngsi-ld:Sensor:on");
    struct icoll c = {0};
    struct pl_hist_query q = hq("urn:ngsi-ld:Sensor:on");
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "1", "2");
    q = hq("urn:ngsi-ld:Other:off");
    assert_int_equal(read_rows(s, &q, &c), PL_ENOTFOUND);
    assert_int_equal(pl_store_hist_on(s, ""), 1);
    coll_free(&c);
}

static void policy_off_tenants(void **state)
{
    static const char *const off_tenants[] = {"acme"};
    static const struct pl_hist_policy pol = {.off_tenants = off_tenants, .n_off_tenants = 1};
    struct pl_store *s = fx_open(state, &pol);
    write_two_steps(s, "acme", ID1, TY);
    write_two_steps(s, "", ID1, TY);
    write_two_steps(s, "zeta", ID1, TY);
    struct ecoll ec;
    assert_int_equal(hist_entities(s, "acme", NULL, 0, NULL, &ec), 0);
    assert_int_equal(hist_entities(s, "", NULL, 0, NULL, &ec), 1);
    assert_int_equal(hist_entities(s, "zeta", NULL, 0, NULL, &ec), 1);
    assert_int_equal(pl_store_hist_on(s, "acme"), 0);
    assert_int_equal(pl_store_hist_on(s, ""), 1);
    assert_int_equal(pl_store_hist_on(s, NULL), 1);
    assert_int_equal(pl_store_hist_on(s, "zeta"), 1);
    struct icoll c = {0};
    struct pl_hist_query q = hq(ID1);
    q.tenant = "acme";
    assert_int_equal(read_rows(s, &q, &c), PL_ENOTFOUND);
    q.tenant = "zeta";
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "1", "2");
    coll_free(&c);
}

static void policy_purge_on_delete(void **state)
{
    static const struct pl_hist_policy pol = {.purge_on_delete = 1};
    struct pl_store *s = fx_open(state, &pol);
    write_two_steps(s, "", ID1, TY);
    write_two_steps(s, "", "urn:ngsi-ld:Sensor:2", TY);
    struct icoll c = {0};
    struct pl_hist_query q = hq(ID1);
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "1", "2");
    struct ecoll ec;
    assert_int_equal(hist_entities(s, "", NULL, 0, NULL, &ec), 2);

    assert_int_equal(del_entity(s, "", ID1), 0);
    assert_int_equal(read_rows(s, &q, &c), PL_ENOTFOUND);
    assert_int_equal(hist_entities(s, "", NULL, 0, NULL, &ec), 1);
    assert_string_equal(ec.id[0], "urn:ngsi-ld:Sensor:2");
    q = hq("urn:ngsi-ld:Sensor:2");
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "1", "2");
    coll_free(&c);
}

/* ==========================================================================================
 * 4. Temporal API writes
 * ======================================================================================== */

/* The iid of the row of `attr` whose value is `val` (compact JSON). */
static int64_t iid_of(const struct icoll *c, const char *attr, const char *val)
{
    for (size_t i = 0; i < c->n; i++)
        if (!strcmp(c->r[i].attr, attr) && !strcmp(val_of(&c->r[i]), val))
            return c->r[i].iid;
    fail_msg("no row %s = %s", attr, val);
    return 0;
}

static const struct irow *row_iid(const struct icoll *c, int64_t iid)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->r[i].iid == iid)
            return &c->r[i];
    return NULL;
}

static void hist_add_created_and_must_exist(void **state)
{
    struct pl_store *s = fx_open(state, &POL_ON);
    int created = -1;
    int64_t w0 = pl_time_now_ms();
    assert_int_equal(hist_add(s, ID2,
                              frag1(TY, AT,
                                    json_pack("[o,o]", prop(json_integer(1), T0, NULL),
                                              prop(json_integer(2), T0 + H, NULL))),
                              0, &created),
                     0);
    int64_t w1 = pl_time_now_ms();
    assert_int_equal(created, 1);

    struct icoll c = {0};
    struct pl_hist_query q = hq(ID2);
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "1", "2");
    for (size_t i = 0; i < c.n; i++) {
        int64_t cre = time_member(c.r[i].body, "createdAt");
        assert_true(cre >= w0 && cre <= w1);
        assert_true(time_member(c.r[i].body, "modifiedAt") == cre);
        assert_null(json_object_get(c.r[i].body, "instanceId"));
    }
    struct ecoll ec;
    assert_int_equal(hist_entities(s, "", NULL, 0, NULL, &ec), 1);
    assert_string_equal(ec.types[0], "[\"" TY "\"]");
    assert_true(ec.deleted[0] == PL_HIST_NONE);

    /* more instances to an existing history: created 0; no "type": the types stay */
    created = -1;
    assert_int_equal(
        hist_add(s, ID2, frag1(NULL, AT, json_pack("[o]", prop(json_integer(3), T0 - H, NULL))), 1,
                 &created),
        0);
    assert_int_equal(created, 0);
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "3", "1", "2");
    assert_int_equal(hist_entities(s, "", NULL, 0, NULL, &ec), 1);
    assert_string_equal(ec.types[0], "[\"" TY "\"]");

    /* must_exist on an id without history: PL_ENOTFOUND, and nothing is left behind */
    assert_int_equal(hist_add(s, "urn:ngsi-ld:Sensor:3",
                              frag1(TY, AT, json_pack("[o]", prop(json_integer(9), T0, NULL))), 1,
                              &created),
                     PL_ENOTFOUND);
    assert_int_equal(hist_entities(s, "", NULL, 0, NULL, &ec), 1);
    q = hq("urn:ngsi-ld:Sensor:3");
    assert_int_equal(read_rows(s, &q, &c), PL_ENOTFOUND);
    coll_free(&c);
}

static void hist_patch_replaces_value_keeps_created(void **state)
{
    struct pl_store *s = fx_open(state, &POL_ON);
    assert_int_equal(hist_add(s, ID2,
                              frag1(TY, AT,
                                    json_pack("[o,o]", prop(json_integer(1), T0, NULL),
                                              prop(json_integer(2), T0 + H, NULL))),
                              0, NULL),
                     0);
    struct icoll c = {0};
    struct pl_hist_query q = hq(ID2);
    assert_int_equal(read_rows(s, &q, &c), 0);
    int64_t iid = iid_of(&c, AT, "1");
    char created[PL_TIME_ISO_LEN];
    snprintf(created, sizeof created, "%s", str_member(row_iid(&c, iid)->body, "createdAt"));
    usleep(20000); /* so that "now" moves on */

    json_t *patch = json_pack("{s:i}", "value", 42);
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_equal(pl_store_hist_patch(s, "", ID2, AT, iid, patch, &err), 0);
    json_decref(patch);
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "42", "2");
    const struct irow *r = row_iid(&c, iid);
    assert_non_null(r);
    assert_string_equal(str_member(r->body, "createdAt"), created);
    assert_string_not_equal(str_member(r->body, "modifiedAt"), created);
    assert_true(time_member(r->body, "modifiedAt") > time_member(r->body, "createdAt"));
    assert_true(time_member(r->body, "observedAt") == T0); /* members not patched stay */
    assert_string_equal(str_member(r->body, "type"), "Property");

    /* the createdAt timeproperty still sees the original time */
    q.prop = PL_TIMEPROP_CREATED_AT;
    assert_int_equal(read_rows(s, &q, &c), 0);
    r = row_iid(&c, iid);
    assert_non_null(r);
    int64_t cre_ms;
    assert_int_equal(pl_time_parse(created, &cre_ms), 0);
    assert_true(r->t == cre_ms);
    /* ... and modifiedAt the new one */
    q.prop = PL_TIMEPROP_MODIFIED_AT;
    assert_int_equal(read_rows(s, &q, &c), 0);
    r = row_iid(&c, iid);
    assert_non_null(r);
    assert_true(r->t > cre_ms);
    EXPECT_VALS(&c, AT, "2", "42"); /* modifiedAt order: the patched one is the latest */

    /* a new observedAt moves the instance in observedAt order */
    patch = json_pack("{s:s}", "observedAt", "2024-01-01T05:00:00.000Z");
    assert_int_equal(pl_store_hist_patch(s, "", ID2, AT, iid, patch, &err), 0);
    json_decref(patch);
    q = hq(ID2);
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "2", "42");
    r = row_iid(&c, iid);
    assert_true(r->t == T0 + 5 * H);
    q.rel = PL_TIMEREL_BEFORE;
    q.t1 = T0 + 2 * H;
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "2");

    /* nothing to patch: PL_ENOTFOUND */
    patch = json_pack("{s:i}", "value", 7);
    assert_int_equal(pl_store_hist_patch(s, "", ID2, AT, iid + 1000, patch, &err), PL_ENOTFOUND);
    assert_int_equal(pl_store_hist_patch(s, "", ID2, AN, iid, patch, &err), PL_ENOTFOUND);
    assert_int_equal(pl_store_hist_patch(s, "", "urn:ngsi-ld:Sensor:9", AT, iid, patch, &err),
                     PL_ENOTFOUND);
    assert_int_equal(pl_store_hist_patch(s, "other", ID2, AT, iid, patch, &err), PL_ENOTFOUND);
    json_decref(patch);
    q = hq(ID2);
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "2", "42");
    coll_free(&c);
}

/* store.h: "instanceId and createdAt are kept" — also when the patch itself carries them. */
static void hist_patch_keeps_created_even_when_given(void **state)
{
    struct pl_store *s = fx_open(state, &POL_ON);
    assert_int_equal(
        hist_add(s, ID2, frag1(TY, AT, json_pack("[o]", prop(json_integer(1), T0, NULL))), 0, NULL),
        0);
    struct icoll c = {0};
    struct pl_hist_query q = hq(ID2);
    assert_int_equal(read_rows(s, &q, &c), 0);
    int64_t iid = iid_of(&c, AT, "1");
    char created[PL_TIME_ISO_LEN];
    snprintf(created, sizeof created, "%s", str_member(c.r[0].body, "createdAt"));
    json_t *patch = json_pack("{s:i, s:s}", "value", 5, "createdAt", "2000-01-01T00:00:00.000Z");
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_equal(pl_store_hist_patch(s, "", ID2, AT, iid, patch, &err), 0);
    json_decref(patch);
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "5");
    assert_string_equal(str_member(c.r[0].body, "createdAt"), created);
    coll_free(&c);
}

/* PATCH of a deletion instance: like createdAt, its deletedAt is a fact of the history that the
 * patch does not change; the stored body and the deletedAt the store selects by agree. */
static void hist_patch_deletion_instance_keeps_deleted_at(void **state)
{
    struct pl_store *s = fx_open(state, &POL_ON);
    int64_t w0, w1;
    write_sensor_history(s, &w0, &w1);
    struct icoll c = {0};
    struct pl_hist_query q = hq(ID1);
    q.prop = PL_TIMEPROP_DELETED_AT;
    q.rel = PL_TIMEREL_AFTER;
    q.t1 = 0;
    const char *only[] = {AT};
    q.attrs = only;
    q.n_attrs = 1;
    assert_int_equal(read_rows(s, &q, &c), 0);
    assert_int_equal(c.n, 1);
    int64_t iid = c.r[0].iid, del = c.r[0].t;
    assert_true(time_member(c.r[0].body, "deletedAt") == del);
    usleep(20000);
    json_t *patch = json_pack("{s:s}", "unitCode", "CEL");
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_equal(pl_store_hist_patch(s, "", ID1, AT, iid, patch, &err), 0);
    json_decref(patch);
    assert_int_equal(read_rows(s, &q, &c), 0);
    assert_int_equal(c.n, 1);
    assert_true(c.r[0].iid == iid);
    assert_string_equal(str_member(c.r[0].body, "unitCode"), "CEL");
    char b1[PL_TIME_ISO_LEN];
    assert_string_equal(str_member(c.r[0].body, "deletedAt"), iso(del, b1));
    assert_true(c.r[0].t == time_member(c.r[0].body, "deletedAt"));
    coll_free(&c);
}

static void hist_delete_instance_attribute_entity(void **state)
{
    struct pl_store *s = fx_open(state, &POL_ON);
    assert_int_equal(hist_add(s, ID2,
                              frag1(TY, AT,
                                    json_pack("[o,o,o,o,o]", prop(json_integer(1), T0, NULL),
                                              prop(json_integer(2), T0 + H, NULL),
                                              prop(json_integer(5), T0 + 2 * H, "urn:ds:1"),
                                              prop(json_integer(6), T0 + 3 * H, "urn:ds:1"),
                                              prop(json_integer(7), T0 + 4 * H, "urn:ds:2"))),
                              0, NULL),
                     0);
    assert_int_equal(hist_add(s, ID2,
                              frag1(NULL, AN, json_pack("[o]", prop(json_string("n"), T0, NULL))),
                              1, NULL),
                     0);
    struct icoll c = {0};
    struct pl_hist_query q = hq(ID2);
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "1", "2", "5", "6", "7");
    struct pl_err err;
    pl_err_clear(&err);

    /* one instance */
    struct pl_hist_del d = {.id = ID2, .attr = AT, .iid = iid_of(&c, AT, "2")};
    assert_int_equal(pl_store_hist_delete(s, "", &d, &err), 0);
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "1", "5", "6", "7");
    assert_int_equal(pl_store_hist_delete(s, "", &d, &err), PL_ENOTFOUND);
    d.iid = iid_of(&c, AT, "1");
    d.attr = AN; /* that instance is not one of AN */
    assert_int_equal(pl_store_hist_delete(s, "", &d, &err), PL_ENOTFOUND);

    /* one datasetId of the attribute */
    d = (struct pl_hist_del){.id = ID2, .attr = AT, .dataset_id = "urn:ds:1"};
    assert_int_equal(pl_store_hist_delete(s, "", &d, &err), 0);
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "1", "7");
    assert_int_equal(pl_store_hist_delete(s, "", &d, &err), PL_ENOTFOUND);
    d.dataset_id = "urn:ds:9";
    assert_int_equal(pl_store_hist_delete(s, "", &d, &err), PL_ENOTFOUND);

    /* the default instance */
    d = (struct pl_hist_del){.id = ID2, .attr = AT};
    assert_int_equal(pl_store_hist_delete(s, "", &d, &err), 0);
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "7");
    EXPECT_VALS(&c, AN, "\"n\"");
    assert_int_equal(pl_store_hist_delete(s, "", &d, &err), PL_ENOTFOUND);

    /* an attribute never recorded */
    d = (struct pl_hist_del){.id = ID2, .attr = "https://example.org/ns/never", .all_datasets = 1};
    assert_int_equal(pl_store_hist_delete(s, "", &d, &err), PL_ENOTFOUND);

    /* all datasets: the attribute is gone, the other one stays */
    d = (struct pl_hist_del){.id = ID2, .attr = AT, .all_datasets = 1};
    assert_int_equal(pl_store_hist_delete(s, "", &d, &err), 0);
    assert_int_equal(read_rows(s, &q, &c), 0);
    assert_int_equal(c.n, 1);
    EXPECT_VALS(&c, AN, "\"n\"");
    assert_int_equal(pl_store_hist_delete(s, "", &d, &err), PL_ENOTFOUND);

    /* the whole entity */
    d = (struct pl_hist_del){.id = ID2};
    assert_int_equal(pl_store_hist_delete(s, "other", &d, &err), PL_ENOTFOUND); /* tenant */
    assert_int_equal(pl_store_hist_delete(s, "", &d, &err), 0);
    assert_int_equal(read_rows(s, &q, &c), PL_ENOTFOUND);
    struct ecoll ec;
    assert_int_equal(hist_entities(s, "", NULL, 0, NULL, &ec), 0);
    assert_int_equal(pl_store_hist_delete(s, "", &d, &err), PL_ENOTFOUND);
    d.id = "urn:ngsi-ld:Sensor:none";
    assert_int_equal(pl_store_hist_delete(s, "", &d, &err), PL_ENOTFOUND);
    coll_free(&c);
}

/* ==========================================================================================
 * 5. Aggregation
 * ======================================================================================== */

#define N_AGG 200

struct bcoll {
    size_t n;
    struct {
        char attr[128];
        struct pl_hist_bucket b;
        char smin[64], smax[64];
    } r[64];
};

static int coll_bucket(void *ud, const char *attr, const struct pl_hist_bucket *b)
{
    struct bcoll *c = ud;
    if (c->n >= 64)
        return -1;
    snprintf(c->r[c->n].attr, sizeof c->r[0].attr, "%s", attr);
    c->r[c->n].b = *b;
    snprintf(c->r[c->n].smin, 64, "%s", b->smin ? b->smin : "<null>");
    snprintf(c->r[c->n].smax, 64, "%s", b->smax ? b->smax : "<null>");
    c->r[c->n].b.smin = c->r[c->n].b.smax = NULL; /* not valid after the call */
    c->n++;
    return 0;
}

static double agg_val(int i)
{
    return (double)((i * 37) % 101 - 50) * 0.5;
}
static int64_t agg_obs(int64_t base, int i)
{
    return base + (int64_t)i * (5 * D / N_AGG); /* 36 min apart: 200 readings over 5 days */
}

static const char *const labels[] = {"kiwi", "apple", "fig",   "banana",   "cherry",
                                     "date", "elder", "grape", "honeydew", "lemon"};

struct expect_b {
    int64_t start, n, n_distinct, first_t, last_t;
    double sum, sumsq, min, max;
    double vals[N_AGG];
};

/* The expected numeric buckets of AT over readings with obs in [lo, hi), bucketed from `origin`
 * by `period`. */
static size_t expected_buckets(int64_t base, int64_t origin, int64_t period, int64_t lo, int64_t hi,
                               struct expect_b *eb, size_t max)
{
    size_t n = 0;
    for (int i = 0; i < N_AGG; i++) {
        int64_t t = agg_obs(base, i);
        if (t < lo || t >= hi)
            continue;
        int64_t k = (t - origin) / period; /* t >= origin here */
        int64_t start = origin + k * period;
        struct expect_b *e = NULL;
        for (size_t j = 0; j < n; j++)
            if (eb[j].start == start)
                e = &eb[j];
        if (!e) {
            assert_true(n < max);
            e = &eb[n++];
            memset(e, 0, sizeof *e);
            e->start = start;
            e->min = INFINITY;
            e->max = -INFINITY;
            e->first_t = INT64_MAX;
            e->last_t = INT64_MIN;
        }
        double v = agg_val(i);
        int seen = 0;
        for (int64_t j = 0; j < e->n; j++)
            seen |= e->vals[j] == v;
        e->vals[e->n++] = v;
        e->n_distinct += !seen;
        e->sum += v;
        e->sumsq += v * v;
        e->min = v < e->min ? v : e->min;
        e->max = v > e->max ? v : e->max;
        e->first_t = t < e->first_t ? t : e->first_t;
        e->last_t = t > e->last_t ? t : e->last_t;
    }
    return n;
}

static void near(double got, double want)
{
    if (fabs(got - want) > 1e-9)
        fail_msg("%.17g != %.17g", got, want);
}

static void check_numeric_buckets(const struct bcoll *bc, const struct expect_b *eb, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < bc->n; i++) {
        if (strcmp(bc->r[i].attr, AT) != 0)
            continue;
        assert_true(k < n);
        const struct pl_hist_bucket *b = &bc->r[i].b;
        const struct expect_b *e = &eb[k++];
        assert_true(b->start == e->start);
        assert_int_equal(b->n, e->n);
        assert_int_equal(b->n_num, e->n);
        assert_int_equal(b->n_distinct, e->n_distinct);
        near(b->sum, e->sum);
        near(b->sumsq, e->sumsq);
        near(b->min, e->min);
        near(b->max, e->max);
        assert_true(b->first_t == e->first_t);
        assert_true(b->last_t == e->last_t);
        assert_int_equal(b->kinds, 1u << PL_HV_NUMBER);
        assert_string_equal(bc->r[i].smin, "<null>");
    }
    assert_int_equal(k, n);
}

static void aggregate(struct pl_store *s, const struct pl_hist_query *q, int64_t origin, int months,
                      int64_t period, struct bcoll *bc)
{
    memset(bc, 0, sizeof *bc);
    struct pl_hist_aggr a = {
        .origin_ms = origin, .months = months, .period_ms = period, .methods = PL_AGGR_ALL};
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_store_hist_aggregate(s, q, &a, coll_bucket, bc, &err);
    if (rc)
        fprintf(stderr, "aggregate: %s\n", err.detail);
    assert_int_equal(rc, 0);
}

static void aggregate_daily_buckets(void **state)
{
    struct pl_store *s = fx_open(state, &POL_ON);
    const int64_t base = T0 + 7 * H;
    json_t *inst = json_array();
    for (int i = 0; i < N_AGG; i++)
        json_array_append_new(inst, prop(json_real(agg_val(i)), agg_obs(base, i), NULL));
    /* a "urn:ngsi-ld:null" value is no value: not counted */
    json_array_append_new(inst, prop(json_string(NULLV), base + D + 1, NULL));
    json_t *frag = frag1(TY, AT, inst);
    json_t *labs = json_array();
    for (int j = 0; j < 10; j++)
        json_array_append_new(labs, prop(json_string(labels[j]), base + j * 12 * H, NULL));
    json_object_set_new(json_object_get(frag, "attrs"), AS, labs);
    json_object_set_new(json_object_get(frag, "attrs"), AM,
                        json_pack("[o,o,o]", prop(json_integer(1), base + H, NULL),
                                  prop(json_true(), base + 2 * H, NULL),
                                  prop(json_string("x"), base + 3 * H, NULL)));
    assert_int_equal(hist_add(s, ID5, frag, 0, NULL), 0);

    /* P1D from the epoch: UTC days */
    struct expect_b *eb = calloc(16, sizeof *eb);
    assert_non_null(eb);
    size_t n = expected_buckets(base, 0, D, INT64_MIN, INT64_MAX, eb, 16);
    assert_int_equal(n, 6); /* Jan 1 07:00 .. Jan 6 06:24 */
    struct bcoll *bc = calloc(1, sizeof *bc);
    assert_non_null(bc);
    struct pl_hist_query q = hq(ID5);
    aggregate(s, &q, 0, 0, D, bc);
    check_numeric_buckets(bc, eb, n);
    int64_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += eb[i].n;
    assert_int_equal(total, N_AGG);

    /* strings: lexicographic min / max per bucket; no numbers */
    size_t k = 0;
    for (size_t i = 0; i < bc->n; i++) {
        if (strcmp(bc->r[i].attr, AS) != 0)
            continue;
        const struct pl_hist_bucket *b = &bc->r[i].b;
        const char *mn = NULL, *mx = NULL;
        int64_t cnt = 0, first = INT64_MAX, last = INT64_MIN;
        for (int j = 0; j < 10; j++) {
            int64_t t = base + j * 12 * H;
            if (t / D * D != b->start)
                continue;
            cnt++;
            first = t < first ? t : first;
            last = t > last ? t : last;
            if (!mn || strcmp(labels[j], mn) < 0)
                mn = labels[j];
            if (!mx || strcmp(labels[j], mx) > 0)
                mx = labels[j];
        }
        assert_true(cnt > 0);
        assert_int_equal(b->n, cnt);
        assert_int_equal(b->n_distinct, cnt);
        assert_int_equal(b->n_num, 0);
        assert_true(b->first_t == first);
        assert_true(b->last_t == last);
        assert_string_equal(bc->r[i].smin, mn);
        assert_string_equal(bc->r[i].smax, mx);
        assert_int_equal(b->kinds, 1u << PL_HV_STRING);
        k++;
    }
    assert_int_equal(k, 5); /* two labels a day over Jan 1 07:00 .. Jan 5 19:00 */

    /* mixed values: number, boolean (1) and string in one bucket */
    k = 0;
    for (size_t i = 0; i < bc->n; i++) {
        if (strcmp(bc->r[i].attr, AM) != 0)
            continue;
        const struct pl_hist_bucket *b = &bc->r[i].b;
        assert_true(b->start == T0);
        assert_int_equal(b->n, 3);
        assert_int_equal(b->n_num, 2);
        near(b->sum, 2);
        near(b->sumsq, 2);
        near(b->min, 1);
        near(b->max, 1);
        assert_string_equal(bc->r[i].smin, "x");
        assert_string_equal(bc->r[i].smax, "x");
        assert_int_equal(b->kinds,
                         (1u << PL_HV_NUMBER) | (1u << PL_HV_BOOL) | (1u << PL_HV_STRING));
        assert_true(b->first_t == base + H);
        assert_true(b->last_t == base + 3 * H);
        k++;
    }
    assert_int_equal(k, 1);

    /* a window [base + 1D, base + 3D) with buckets from its start */
    q.rel = PL_TIMEREL_BETWEEN;
    q.t1 = base + D;
    q.t2 = base + 3 * D;
    n = expected_buckets(base, q.t1, D, q.t1, q.t2, eb, 16);
    assert_int_equal(n, 2);
    const char *only[] = {AT};
    q.attrs = only;
    q.n_attrs = 1;
    aggregate(s, &q, q.t1, 0, D, bc);
    check_numeric_buckets(bc, eb, n);
    for (size_t i = 0; i < bc->n; i++)
        assert_string_equal(bc->r[i].attr, AT);

    /* one bucket over everything (PT0S) */
    q = hq(ID5);
    q.attrs = only;
    q.n_attrs = 1;
    n = expected_buckets(base, 0, INT64_MAX, INT64_MIN, INT64_MAX, eb, 16);
    assert_int_equal(n, 1);
    aggregate(s, &q, 0, 0, 0, bc);
    check_numeric_buckets(bc, eb, n);
    assert_int_equal(bc->r[0].b.n, N_AGG);
    free(bc);
    free(eb);
}

static void writes_aggregate_excludes_deletions(void **state)
{
    struct pl_store *s = fx_open(state, &POL_ON);
    int64_t w0, w1;
    write_sensor_history(s, &w0, &w1);
    struct bcoll *bc = calloc(1, sizeof *bc);
    assert_non_null(bc);
    struct pl_hist_query q = hq(ID1);
    aggregate(s, &q, 0, 0, 0, bc); /* one bucket */
    assert_int_equal(bc->n, 2);
    assert_string_equal(bc->r[0].attr, AN);
    assert_int_equal(bc->r[0].b.n, 1);
    assert_string_equal(bc->r[0].smin, "alpha");
    assert_string_equal(bc->r[1].attr, AT);
    const struct pl_hist_bucket *b = &bc->r[1].b;
    assert_true(b->start == 0);
    assert_int_equal(b->n, 4);
    assert_int_equal(b->n_num, 4);
    assert_int_equal(b->n_distinct, 4);
    near(b->sum, 46);
    near(b->sumsq, 534);
    near(b->min, 10);
    near(b->max, 13);
    assert_true(b->first_t == T0);
    assert_true(b->last_t == T0 + 3 * H);
    assert_int_equal(b->kinds, 1u << PL_HV_NUMBER);
    /* by createdAt, hourly from M0 - 1h: the four are in the first bucket */
    q.prop = PL_TIMEPROP_CREATED_AT;
    aggregate(s, &q, M0 - H, 0, H, bc);
    assert_int_equal(bc->n, 2); /* name: M0 bucket; temperature: M0 bucket (deletion: none) */
    assert_string_equal(bc->r[1].attr, AT);
    b = &bc->r[1].b;
    assert_true(b->start == M0);
    assert_int_equal(b->n, 4);
    assert_true(b->first_t == M0);
    assert_true(b->last_t == M0 + 3 * MIN);
    free(bc);
}

/* distinctCount counts distinct JSON values: 1 and true are two values. */
static void aggregate_distinct_tells_true_from_one(void **state)
{
    struct pl_store *s = fx_open(state, &POL_ON);
    assert_int_equal(hist_add(s, ID5,
                              frag1(TY, AM,
                                    json_pack("[o,o,o]", prop(json_integer(1), T0 + H, NULL),
                                              prop(json_true(), T0 + 2 * H, NULL),
                                              prop(json_integer(1), T0 + 3 * H, NULL))),
                              0, NULL),
                     0);
    struct bcoll *bc = calloc(1, sizeof *bc);
    assert_non_null(bc);
    struct pl_hist_query q = hq(ID5);
    aggregate(s, &q, 0, 0, D, bc);
    assert_int_equal(bc->n, 1);
    assert_int_equal(bc->r[0].b.n, 3);
    assert_int_equal(bc->r[0].b.n_distinct, 2);
    free(bc);
}

/* ==========================================================================================
 * 6. Retention
 * ======================================================================================== */

/* Runs retention steps until one deletes nothing (at least 4 steps, at most 100). */
static void trim_all(struct pl_store *s)
{
    int calls = 0;
    int64_t n;
    do {
        n = pl_store_hist_trim_step(s);
        assert_true(n >= 0);
        calls++;
    } while ((n > 0 || calls < 4) && calls < 100);
    assert_true(calls < 100);
}

#define N_CNT_ENT 20 /* more entities than one count step handles */

static void retention_count_keeps_newest(void **state)
{
    static const struct pl_hist_retention rules[] = {{.type = NULL, .max_count = 5}};
    static const struct pl_hist_policy pol = {.retention = rules, .n_retention = 1};
    struct pl_store *s = fx_open(state, &pol);
    /* 8 instances of AT recorded in an order other than their time order, 3 of AN */
    static const int perm[8] = {3, 7, 0, 5, 1, 6, 2, 4};
    char id[64];
    for (int e = 0; e < N_CNT_ENT; e++) {
        snprintf(id, sizeof id, "urn:ngsi-ld:Sensor:c%02d", e);
        json_t *at = json_array();
        for (int j = 0; j < 8; j++)
            json_array_append_new(at, prop(json_integer(perm[j]), T0 + perm[j] * H, NULL));
        json_t *frag = frag1(TY, AT, at);
        json_object_set_new(json_object_get(frag, "attrs"), AN,
                            json_pack("[o,o,o]", prop(json_integer(0), T0, NULL),
                                      prop(json_integer(1), T0 + H, NULL),
                                      prop(json_integer(2), T0 + 2 * H, NULL)));
        assert_int_equal(hist_add(s, id, frag, 0, NULL), 0);
    }
    trim_all(s);
    struct icoll c = {0};
    for (int e = 0; e < N_CNT_ENT; e++) {
        snprintf(id, sizeof id, "urn:ngsi-ld:Sensor:c%02d", e);
        struct pl_hist_query q = hq(id);
        assert_int_equal(read_rows(s, &q, &c), 0);
        EXPECT_VALS(&c, AT, "3", "4", "5", "6", "7");
        EXPECT_VALS(&c, AN, "0", "1", "2");
    }
    /* new instances: trimmed again to the 5 newest by time (an old-time one goes at once) */
    assert_int_equal(hist_add(s, "urn:ngsi-ld:Sensor:c00",
                              frag1(NULL, AT,
                                    json_pack("[o,o]", prop(json_integer(8), T0 + 8 * H, NULL),
                                              prop(json_integer(-1), T0 - H, NULL))),
                              1, NULL),
                     0);
    trim_all(s);
    struct pl_hist_query q = hq("urn:ngsi-ld:Sensor:c00");
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "4", "5", "6", "7", "8");
    coll_free(&c);
}

static void retention_typed_count_rule(void **state)
{
    static const struct pl_hist_retention rules[] = {{.type = TY2, .max_count = 2}};
    static const struct pl_hist_policy pol = {.retention = rules, .n_retention = 1};
    struct pl_store *s = fx_open(state, &pol);
    json_t *four =
        json_pack("[o,o,o,o]", prop(json_integer(0), T0, NULL), prop(json_integer(1), T0 + H, NULL),
                  prop(json_integer(2), T0 + 2 * H, NULL), prop(json_integer(3), T0 + 3 * H, NULL));
    assert_int_equal(
        hist_add(s, "urn:ngsi-ld:Other:1", frag1(TY2, AT, json_deep_copy(four)), 0, NULL), 0);
    assert_int_equal(hist_add(s, ID1, frag1(TY, AT, four), 0, NULL), 0);
    trim_all(s);
    struct icoll c = {0};
    struct pl_hist_query q = hq("urn:ngsi-ld:Other:1");
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "2", "3");
    q = hq(ID1);
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "0", "1", "2", "3");
    coll_free(&c);
}

/* Age by createdAt: instances recorded through pl_store_hist_add get createdAt = now; those
 * older than the limit go, those recorded after the sleep stay. The limit (2 s) is far above
 * the time the checks take, so the retention thread cannot remove the new ones meanwhile. */
static void retention_age_removes_old_instances(void **state)
{
    /* docs/temporal.md: the age of an instance is its time t (observedAt, else createdAt) */
    static const struct pl_hist_retention rules[] = {{.type = NULL, .max_age_ms = 2000}};
    static const struct pl_hist_policy pol = {.retention = rules, .n_retention = 1};
    struct pl_store *s = fx_open(state, &pol);
    int64_t now = pl_time_now_ms();
    assert_int_equal(
        hist_add(s, ID2,
                 frag1(TY, AT,
                       json_pack("[o,o,o,o,o]", prop(json_integer(1), now - 3 * H, NULL),
                                 prop(json_integer(2), now - H, NULL),
                                 prop(json_integer(3), now - 5000, NULL),
                                 prop(json_integer(4), now + 60000, NULL),
                                 prop(json_integer(5), now + H, NULL))),
                 0, NULL),
        0);
    trim_all(s);
    struct icoll c = {0};
    struct pl_hist_query q = hq(ID2);
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "4", "5");
    coll_free(&c);
    /* without observedAt the age is the recording time: a fresh one stays */
    assert_int_equal(
        hist_add(s, ID2,
                 frag1(NULL, AT, json_pack("[o]", prop(json_integer(6), PL_HIST_NONE, NULL))), 1,
                 NULL),
        0);
    trim_all(s);
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "6", "4", "5"); /* in time order: 6 was recorded now */
    coll_free(&c);
}

/* A typed age rule only touches entities of that type. The instances recorded by entity writes
 * get the write's time (the entity's modifiedAt, 2024 here): far older than one day. The type
 * has a '_', which must not match any character (LIKE). */
#define TY_U "https://example.org/ns/Type_1"
#define TY_X "https://example.org/ns/TypeX1"

static void retention_typed_age_rule(void **state)
{
    static const struct pl_hist_retention rules[] = {{.type = TY_U, .max_age_ms = D}};
    static const struct pl_hist_policy pol = {.retention = rules, .n_retention = 1};
    struct pl_store *s = fx_open(state, &pol);
    for (int k = 0; k < 2; k++) {
        assert_int_equal(
            put(s, "", "urn:ngsi-ld:U:1",
                entity("urn:ngsi-ld:U:1", TY_U, M0 + k * MIN,
                       json_pack("{s:[o]}", AT, prop(json_integer(k), T0 + k * H, NULL)))),
            0);
        assert_int_equal(
            put(s, "", "urn:ngsi-ld:X:1",
                entity("urn:ngsi-ld:X:1", TY_X, M0 + k * MIN,
                       json_pack("{s:[o]}", AT, prop(json_integer(k), T0 + k * H, NULL)))),
            0);
    }
    /* a fresh instance of the typed entity stays */
    assert_int_equal(
        hist_add(s, "urn:ngsi-ld:U:1",
                 frag1(NULL, AT, json_pack("[o]", prop(json_integer(9), pl_time_now_ms(), NULL))),
                 1, NULL),
        0);
    trim_all(s);
    struct icoll c = {0};
    struct pl_hist_query q = hq("urn:ngsi-ld:U:1");
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "9");
    q = hq("urn:ngsi-ld:X:1");
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "0", "1");
    coll_free(&c);
}

/* The age rule walks the instances in windows from a cursor. A step must examine the window
 * after the one before: with 4000 expired instances, steps run until one deletes nothing leave
 * no expired instance behind (a cursor moved on after deleting skips a window unexamined). */
static void retention_age_steps_skip_no_window(void **state)
{
    static const struct pl_hist_retention rules[] = {{.type = NULL, .max_age_ms = D}};
    static const struct pl_hist_policy pol = {.retention = rules, .n_retention = 1};
    struct pl_store *s = fx_open(state, &pol);
    json_t *attrs = json_object();
    char name[64];
    for (int i = 0; i < 4000; i++) {
        snprintf(name, sizeof name, "urn:a:%04d", i);
        json_object_set_new(attrs, name, json_pack("[o]", prop(json_integer(i), T0, NULL)));
    }
    /* recorded by an entity write of 2024: all 4000 instances are older than a day */
    assert_int_equal(put(s, "", ID1, entity(ID1, TY, M0, attrs)), 0);
    int64_t total = 0, n;
    int steps = 0;
    while ((n = pl_store_hist_trim_step(s)) > 0 && ++steps < 50)
        total += n;
    assert_true(n == 0);
    struct icoll c = {0};
    struct pl_hist_query q = hq(ID1);
    assert_int_equal(read_rows(s, &q, &c), 0);
    if (c.n)
        fprintf(stderr, "%zu expired instances left after %d steps deleting %lld\n", c.n, steps + 1,
                (long long)total);
    assert_int_equal(c.n, 0);
    coll_free(&c);
}

static void retention_step_without_rules_is_zero(void **state)
{
    struct pl_store *s = fx_open(state, &POL_ON);
    assert_int_equal(
        hist_add(s, ID2, frag1(TY, AT, json_pack("[o]", prop(json_integer(1), T0, NULL))), 0, NULL),
        0);
    assert_true(pl_store_hist_trim_step(s) == 0);
    struct icoll c = {0};
    struct pl_hist_query q = hq(ID2);
    assert_int_equal(read_rows(s, &q, &c), 0);
    EXPECT_VALS(&c, AT, "1");
    coll_free(&c);
}

int main(void)
{
#define T(f) cmocka_unit_test_teardown(f, teardown)
    const struct CMUnitTest tests[] = {
        T(diff_new_attribute_gives_one_full_row),
        T(diff_changed_unchanged_and_rewritten),
        T(diff_removed_attributes_give_deletion_rows),
        T(diff_dataset_instances_are_separate),
        T(diff_entity_deletion_gives_one_row_per_instance),
        T(diff_classifies_values),
        T(writes_record_instances_in_observed_order),
        T(writes_timerel_bounds),
        T(writes_last_n_and_timeproperty),
        T(writes_max_truncates_with_more_flag),
        T(writes_entity_listed_and_marked_deleted),
        T(writes_scope_recorded_and_cleared),
        T(writes_prepared_record_history),
        T(writes_aggregate_excludes_deletions),
        T(last_n_per_dataset),
        T(policy_off_records_nothing),
        T(policy_no_policy_records_nothing),
        T(policy_off_types),
        T(policy_off_tenants),
        T(policy_purge_on_delete),
        T(hist_add_created_and_must_exist),
        T(hist_patch_replaces_value_keeps_created),
        T(hist_patch_keeps_created_even_when_given),
        T(hist_patch_deletion_instance_keeps_deleted_at),
        T(hist_delete_instance_attribute_entity),
        T(aggregate_daily_buckets),
        T(aggregate_distinct_tells_true_from_one),
        T(retention_count_keeps_newest),
        T(retention_typed_count_rule),
        T(retention_age_removes_old_instances),
        T(retention_typed_age_rule),
        T(retention_age_steps_skip_no_window),
        T(retention_step_without_rules_is_zero),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
