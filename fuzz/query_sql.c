/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz/query_sql.c — libFuzzer target for the store's query path (store/sqlite/query.c): the
 * SQL built from parsed q / type / scopeQ / geo ASTs must prepare and run, and agree with the
 * in-memory evaluators, whatever the input.
 *
 * Input: up to four lines, "q", "type", "scopeQ" and "georel|geometry|coordinates". Each line
 * that parses becomes part of one query against a small store (created once per process, in a
 * temporary directory, with a dozen varied entities). The target aborts when the store's answer
 * differs from the evaluators' or the query fails for another reason than bad input.
 */
#include <jansson.h>
#include <stdint.h>
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N 12

static struct pl_store *store;
static json_t *entities[N];

static int apply_set(void *ud, json_t *cur, json_t **next, struct pl_err *err)
{
    (void)cur;
    (void)err;
    *next = json_incref(ud);
    return 0;
}

static char *X(const char *t)
{
    return pl_ctx_expand(pl_ctx_core(), t);
}

static void setup(void)
{
    pl_log_set_level(PL_LOG_ERROR);
    char dir[] = "/tmp/polis-fuzz-query-XXXXXX";
    if (!mkdtemp(dir))
        abort();
    char url[64];
    snprintf(url, sizeof url, "sqlite:%s", dir);
    struct pl_store_config cfg = {.url = url};
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_store_open(&cfg, &store, &err) != 0)
        abort();
    char *a = X("a"), *b = X("b"), *c = X("c"), *s = X("s"), *t1 = X("T1"), *t2 = X("T2");
    for (int i = 0; i < N; i++) {
        char id[32];
        snprintf(id, sizeof id, "urn:x:%d", i);
        json_t *attrs = json_object();
        json_object_set_new(attrs, a,
                            json_pack("[{s:s,s:i,s:s,s:{s:[{s:s,s:i}]}}]", "type", "Property",
                                      "value", (json_int_t)(i % 5), "observedAt",
                                      i % 2 ? "2021-01-01T00:00:00Z" : "2022-01-01T00:00:00Z",
                                      "sub", s, "type", "Property", "value", (json_int_t)i));
        if (i % 3)
            json_object_set_new(attrs, b,
                                json_pack("[{s:s,s:s}]", "type", "Property", "value",
                                          i % 2 ? "red" : "2021-05-05T00:00:00Z"));
        if (i % 4)
            json_object_set_new(attrs, c,
                                json_pack("[{s:s,s:{s:s,s:[i,f]}}]", "type", "Property", "value",
                                          "city", i % 2 ? "Berlin" : "Madrid", "n",
                                          (json_int_t)i, 1.5));
        json_object_set_new(attrs, PL_GEOQ_LOCATION_IRI,
                            json_pack("[{s:s,s:{s:s,s:[f,f]}}]", "type", "GeoProperty", "value",
                                      "type", "Point", "coordinates", -3.7 + i * 0.01,
                                      40.4 + i * 0.01));
        entities[i] = json_pack("{s:s,s:[s],s:o,s:[s]}", "id", id, "type", i % 2 ? t1 : t2,
                                "attrs", attrs, "scope", i % 2 ? "/Madrid/Centro" : "/Berlin");
        struct pl_store_write w = {.tenant = "", .id = id, .apply = apply_set,
                                   .ud = entities[i]};
        if (pl_store_write_sync(store, &w) != 0)
            abort();
        json_decref(w.result);
    }
    free(a), free(b), free(c), free(s), free(t1), free(t2);
}

static int seen[N];

static int row(void *ud, const char *body, size_t len)
{
    (void)ud;
    json_t *e = json_loadb(body, len, 0, NULL);
    const char *id = json_string_value(json_object_get(e, "id"));
    if (!id)
        abort();
    seen[atoi(id + 6)]++;
    json_decref(e);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!store)
        setup();
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char *lines[4] = {NULL, NULL, NULL, NULL};
    char *p = text;
    for (int i = 0; i < 4 && p; i++) {
        lines[i] = p;
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        p = nl ? nl + 1 : NULL;
    }
    struct pl_err err;
    pl_err_clear(&err);
    struct pl_store_query q = {.tenant = "", .limit = N + 1, .count = 1};
    struct pl_q_node *qn = NULL;
    struct pl_typesel *tn = NULL;
    struct pl_scopeq *sn = NULL;
    struct pl_geoq *gq = NULL;
    if (lines[0] && *lines[0] && pl_q_parse(lines[0], &qn, &err) == 0 &&
        pl_q_resolve(qn, pl_ctx_core(), &err) == 0)
        q.q = qn;
    if (lines[1] && *lines[1] && pl_typesel_parse(lines[1], &tn, &err) == 0 &&
        pl_typesel_resolve(tn, pl_ctx_core(), &err) == 0)
        q.types = tn;
    if (lines[2] && *lines[2] && pl_scopeq_parse(lines[2], &sn, &err) == 0)
        q.scope = sn;
    if (lines[3] && *lines[3]) {
        char *g1 = lines[3], *g2 = strchr(g1, '|'), *g3 = g2 ? strchr(g2 + 1, '|') : NULL;
        if (g2 && g3) {
            *g2++ = '\0';
            *g3++ = '\0';
            if (pl_geoq_parse(g1, g2, g3, NULL, &gq, &err) == 0 && gq) {
                q.geo = gq;
                q.geo_attr = PL_GEOQ_LOCATION_IRI;
            }
        }
    }
    memset(seen, 0, sizeof seen);
    int64_t count = -1;
    if (pl_store_entity_query(store, &q, row, NULL, &count, &err) != 0) {
        fprintf(stderr, "query failed: %s\n", err.detail);
        abort();
    }
    int64_t want_n = 0;
    for (int i = 0; i < N; i++) {
        const json_t *e = entities[i];
        int want = 1, undecided = 0;
        if (qn && q.q)
            want &= pl_q_match(qn, e) == 1;
        if (tn && q.types)
            want &= pl_typesel_match(tn, json_object_get(e, "type")) == 1;
        if (sn && q.scope)
            want &= pl_scopeq_match(sn, json_object_get(e, "scope")) == 1;
        if (gq) {
            int g = pl_geoq_match(gq, PL_GEOQ_LOCATION_IRI, e);
            undecided |= g < 0;
            want &= g == 1;
        }
        if (!undecided && want != seen[i]) {
            fprintf(stderr, "entity %d: evaluator %d, store %d\n", i, want, seen[i]);
            abort();
        }
        want_n += want;
        if (seen[i] > 1)
            abort();
    }
    (void)want_n;
    pl_q_free(qn);
    pl_typesel_free(tn);
    pl_scopeq_free(sn);
    pl_geoq_free(gq);
    free(text);
    return 0;
}
