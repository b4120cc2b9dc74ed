/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz/temporalq.c — libFuzzer target for query/temporalq.c.
 *
 * Input, either
 *   - a JSON object: a TemporalQuery (5.2.21) for pl_temporalq_from_json, or
 *   - text lines: timerel, timeAt, endTimeAt, timeproperty, lastN, aggrMethods,
 *     aggrPeriodDuration (an empty or missing line = absent) and an instant t (a DateTime or a
 *     decimal integer of milliseconds), for pl_temporalq_parse.
 * A parsed query must be consistent (relation and bounds, ranges of lastN, methods and the
 * duration), the JSON form built from the same lines must give the same query, between must be
 * after(timeAt) and before(endTimeAt), and the bucket of t (origin timeAt, the parsed period)
 * must contain t, start at a fixed point and follow the bucket before. Else abort.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "query/q.h"
#include "query/temporalq.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "temporalq invariant failed: %s (line %d)\n", #c, __LINE__);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static void check_query(const struct pl_temporalq *q)
{
    CHECK(q->rel >= PL_TIMEREL_NONE && q->rel <= PL_TIMEREL_BETWEEN);
    CHECK(q->prop >= PL_TIMEPROP_OBSERVED_AT && q->prop <= PL_TIMEPROP_DELETED_AT);
    CHECK(pl_timeprop_name(q->prop) != NULL);
    if (q->rel == PL_TIMEREL_BETWEEN)
        CHECK(q->end_time_at_ms > q->time_at_ms);
    else
        CHECK(q->end_time_at_ms == 0);
    if (q->rel == PL_TIMEREL_NONE)
        CHECK(q->time_at_ms == 0);
    CHECK(q->last_n >= 0);
    CHECK((q->aggr_methods & ~PL_AGGR_ALL) == 0);
    CHECK(q->aggr_months >= 0 && q->aggr_months <= PL_ISO_DURATION_MAX_MONTHS);
    CHECK(q->aggr_period_ms >= 0 && q->aggr_period_ms <= PL_ISO_DURATION_MAX_MS);
}

static void check_time(const struct pl_temporalq *q, int64_t t)
{
    int m = pl_temporalq_match_time(q, t);
    CHECK(m == 0 || m == 1);
    if (q->rel == PL_TIMEREL_BETWEEN) {
        struct pl_temporalq a = *q, b = *q;
        a.rel = PL_TIMEREL_AFTER;
        b.rel = PL_TIMEREL_BEFORE;
        b.time_at_ms = q->end_time_at_ms;
        CHECK(m == (pl_temporalq_match_time(&a, t) && pl_temporalq_match_time(&b, t)));
    }
    if (q->rel == PL_TIMEREL_BEFORE || q->rel == PL_TIMEREL_AFTER) {
        struct pl_temporalq o = *q;
        o.rel = q->rel == PL_TIMEREL_BEFORE ? PL_TIMEREL_AFTER : PL_TIMEREL_BEFORE;
        CHECK(m != pl_temporalq_match_time(&o, t));
    }
    /* buckets, in the clamped domain of pl_temporal_bucket_start */
    const int64_t lim = INT64_C(1) << 54;
    int64_t o = q->time_at_ms;
    if (t < -lim || t > lim || o < -lim || o > lim)
        return;
    int64_t s = pl_temporal_bucket_start(o, q->aggr_months, q->aggr_period_ms, t);
    if (q->aggr_months == 0 && q->aggr_period_ms == 0) {
        CHECK(s == o);
        return;
    }
    CHECK(s <= t);
    CHECK(pl_temporal_bucket_start(o, q->aggr_months, q->aggr_period_ms, s) == s);
    CHECK(pl_temporal_bucket_start(o, q->aggr_months, q->aggr_period_ms, s - 1) < s);
}

static void same(const struct pl_temporalq *a, const struct pl_temporalq *b)
{
    CHECK(a->rel == b->rel && a->time_at_ms == b->time_at_ms &&
          a->end_time_at_ms == b->end_time_at_ms && a->prop == b->prop && a->last_n == b->last_n &&
          a->aggr_methods == b->aggr_methods && a->aggr_period_ms == b->aggr_period_ms &&
          a->aggr_months == b->aggr_months);
}

static const char *const names[] = {"timerel", "timeAt",      "endTimeAt",         "timeproperty",
                                    "lastN",   "aggrMethods", "aggrPeriodDuration"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pl_err err;
    struct pl_temporalq q;
    json_t *in = json_loadb((const char *)data, size, 0, NULL);
    if (json_is_object(in)) {
        pl_err_clear(&err);
        if (pl_temporalq_from_json(in, &q, &err) == 0) {
            check_query(&q);
            check_time(&q, q.time_at_ms);
            check_time(&q, q.end_time_at_ms - 1);
        } else {
            CHECK(err.code == PL_EBADREQUESTDATA && err.detail[0]);
        }
        json_decref(in);
        return 0;
    }
    json_decref(in);

    char *buf = malloc(size + 1);
    if (!buf)
        return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    char *f[8] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    char *p = buf;
    for (int i = 0; i < 8 && p; i++) {
        f[i] = p;
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        p = nl ? nl + 1 : NULL;
    }
    for (int i = 0; i < 8; i++) {
        if (f[i] && !*f[i])
            f[i] = NULL;
    }

    /* the duration parser alone */
    if (f[6]) {
        int m = -1;
        int64_t ms = -1;
        if (pl_iso_duration_parse(f[6], &m, &ms, &err) == 0)
            CHECK(m >= 0 && ms >= 0);
        else
            CHECK(err.code == PL_EBADREQUESTDATA && m == -1 && ms == -1);
    }

    pl_err_clear(&err);
    if (pl_temporalq_parse(f[0], f[1], f[2], f[3], f[4], f[5], f[6], &q, &err) == 0) {
        check_query(&q);
        /* the same query as a JSON TemporalQuery */
        json_t *j = json_object();
        if (j) {
            for (int i = 0; i < 7; i++) {
                if (!f[i])
                    continue;
                if (i == 4)
                    json_object_set_new(j, names[i], json_integer(q.last_n));
                else
                    json_object_set_new(j, names[i], json_string(f[i]));
            }
            struct pl_temporalq q2;
            struct pl_err e2;
            pl_err_clear(&e2);
            int rc = pl_temporalq_from_json(j, &q2, &e2);
            /* json_string refuses invalid UTF-8: such a member is missing from j */
            size_t given = 0;
            for (int i = 0; i < 7; i++)
                given += f[i] != NULL;
            if (json_object_size(j) == given) {
                CHECK(rc == 0);
                same(&q, &q2);
            }
            json_decref(j);
        }
        check_time(&q, q.time_at_ms);
        check_time(&q, q.time_at_ms - 1);
        check_time(&q, q.end_time_at_ms);
        if (f[7]) {
            double d;
            if (pl_q_parse_datetime(f[7], &d) == 0) {
                check_time(&q, (int64_t)d);
            } else {
                char *end;
                long long v = strtoll(f[7], &end, 10);
                if (*end == '\0')
                    check_time(&q, (int64_t)v);
            }
        }
    } else {
        CHECK(err.code == PL_EBADREQUESTDATA && err.detail[0]);
        CHECK(q.rel == PL_TIMEREL_NONE && q.last_n == 0 && q.aggr_methods == 0);
    }
    free(buf);
    return 0;
}
