/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_temporalq.c — query/temporalq.c: the 4.11 parameters (valid and invalid, with error
 * positions), offsets normalised to UTC, the TemporalQuery JSON form (5.2.21), ISO 8601
 * durations (4.5.19.1), aggregation bucket starts (fixed and calendar periods, leap years) and
 * the inclusive / exclusive bounds of before / after / between.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "query/temporalq.h"

static int64_t T(const char *s)
{
    int64_t v;
    if (pl_time_parse(s, &v) != 0)
        fail_msg("bad time in test: %s", s);
    return v;
}

static struct pl_temporalq ok7(const char *rel, const char *at, const char *end, const char *prop,
                               const char *n, const char *m, const char *p)
{
    struct pl_temporalq q;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_temporalq_parse(rel, at, end, prop, n, m, p, &q, &err) != 0)
        fail_msg("parse failed: %s", err.detail);
    return q;
}

/* expects BadRequestData whose detail equals `want` */
static void bad7(const char *rel, const char *at, const char *end, const char *prop, const char *n,
                 const char *m, const char *p, const char *want)
{
    struct pl_temporalq q;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_temporalq_parse(rel, at, end, prop, n, m, p, &q, &err);
    if (rc != PL_EBADREQUESTDATA)
        fail_msg("expected BadRequestData (want \"%s\"), rc %d", want, rc);
    if (strcmp(err.detail, want) != 0)
        fail_msg("detail \"%s\" != \"%s\"", err.detail, want);
    assert_int_equal(q.rel, PL_TIMEREL_NONE); /* out reset on error */
    assert_int_equal(q.last_n, 0);
}

static void dur_ok(const char *s, int months, int64_t ms)
{
    int m = -1;
    int64_t v = -1;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_iso_duration_parse(s, &m, &v, &err) != 0)
        fail_msg("duration %s: %s", s, err.detail);
    if (m != months || v != ms)
        fail_msg("duration %s: got %d months %lld ms, want %d / %lld", s, m, (long long)v, months,
                 (long long)ms);
}

static void dur_bad(const char *s, const char *want)
{
    struct pl_err err;
    pl_err_clear(&err);
    int m = 7;
    if (pl_iso_duration_parse(s, &m, NULL, &err) != PL_EBADREQUESTDATA)
        fail_msg("duration %s accepted", s);
    assert_int_equal(m, 7);
    if (strcmp(err.detail, want) != 0)
        fail_msg("duration %s: detail \"%s\" != \"%s\"", s, err.detail, want);
}

/* ------------------------------------------------------------------------------------------ */

static void params_absent_give_defaults(void **st)
{
    (void)st;
    struct pl_temporalq q = ok7(NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    assert_int_equal(q.rel, PL_TIMEREL_NONE);
    assert_int_equal(q.prop, PL_TIMEPROP_OBSERVED_AT);
    assert_int_equal(q.last_n, 0);
    assert_int_equal(q.aggr_methods, 0);
    assert_int_equal(q.aggr_period_ms, 0);
    assert_int_equal(q.aggr_months, 0);
    assert_true(pl_temporalq_match_time(&q, INT64_MIN));
    assert_true(pl_temporalq_match_time(&q, INT64_MAX));
}

static void params_examples_of_4_11(void **st)
{
    (void)st;
    struct pl_temporalq q = ok7("before", "2017-12-13T14:20:00Z", NULL, NULL, NULL, NULL, NULL);
    assert_int_equal(q.rel, PL_TIMEREL_BEFORE);
    assert_int_equal(q.time_at_ms, T("2017-12-13T14:20:00Z"));
    assert_int_equal(q.end_time_at_ms, 0);

    q = ok7("between", "2017-12-13T14:20:00Z", "2017-12-13T14:40:00Z", "modifiedAt", NULL, NULL,
            NULL);
    assert_int_equal(q.rel, PL_TIMEREL_BETWEEN);
    assert_int_equal(q.time_at_ms, T("2017-12-13T14:20:00Z"));
    assert_int_equal(q.end_time_at_ms, T("2017-12-13T14:40:00Z"));
    assert_int_equal(q.prop, PL_TIMEPROP_MODIFIED_AT);

    q = ok7("after", "2017-12-13T14:20:00.250Z", NULL, "deletedAt", "10", NULL, NULL);
    assert_int_equal(q.rel, PL_TIMEREL_AFTER);
    assert_int_equal(q.time_at_ms, T("2017-12-13T14:20:00Z") + 250);
    assert_int_equal(q.prop, PL_TIMEPROP_DELETED_AT);
    assert_int_equal(q.last_n, 10);

    q = ok7("after", "2017-12-13T14:20:00Z", NULL, "createdAt", NULL, NULL, NULL);
    assert_int_equal(q.prop, PL_TIMEPROP_CREATED_AT);
    q = ok7("after", "2017-12-13T14:20:00Z", NULL, "observedAt", NULL, NULL, NULL);
    assert_int_equal(q.prop, PL_TIMEPROP_OBSERVED_AT);
    /* endTimeAt with before / after: validated, ignored */
    q = ok7("after", "2017-12-13T14:20:00Z", "2000-01-01T00:00:00Z", NULL, NULL, NULL, NULL);
    assert_int_equal(q.end_time_at_ms, 0);
    /* lastN alone, timeproperty alone */
    q = ok7(NULL, NULL, NULL, "modifiedAt", "9223372036854775807", NULL, NULL);
    assert_int_equal(q.last_n, INT64_MAX);
    assert_int_equal(q.rel, PL_TIMEREL_NONE);

    assert_string_equal(pl_timeprop_name(PL_TIMEPROP_DELETED_AT), "deletedAt");
    assert_string_equal(pl_timeprop_name(PL_TIMEPROP_OBSERVED_AT), "observedAt");
}

static void params_offsets_normalise_to_utc(void **st)
{
    (void)st;
    struct pl_temporalq q = ok7("between", "2024-01-01T01:00:00+01:00",
                                "2023-12-31T20:00:00.5-05:00", NULL, NULL, NULL, NULL);
    assert_int_equal(q.time_at_ms, T("2024-01-01T00:00:00Z"));
    assert_int_equal(q.end_time_at_ms, T("2024-01-01T01:00:00Z") + 500);
    q = ok7("before", "2024-01-01T00:00:00+00:00", NULL, NULL, NULL, NULL, NULL);
    assert_int_equal(q.time_at_ms, T("2024-01-01T00:00:00Z"));
    q = ok7("before", "2024-03-01T00:30:00+05:30", NULL, NULL, NULL, NULL, NULL);
    assert_int_equal(q.time_at_ms, T("2024-02-29T19:00:00Z"));
    /* between with equal instants written in different offsets: not after */
    bad7("between", "2024-01-01T01:00:00+01:00", "2024-01-01T00:00:00Z", NULL, NULL, NULL, NULL,
         "endTimeAt: at position 0: must be after timeAt, found '2024-01-01T00:00:00Z'");
}

static void params_timerel_errors(void **st)
{
    (void)st;
    bad7("Before", "2017-12-13T14:20:00Z", NULL, NULL, NULL, NULL, NULL,
         "timerel: at position 0: expected before, after or between, found 'Before'");
    bad7("", "2017-12-13T14:20:00Z", NULL, NULL, NULL, NULL, NULL,
         "timerel: at position 0: expected before, after or between, found end of input");
    bad7("near", NULL, NULL, NULL, NULL, NULL, NULL,
         "timerel: at position 0: expected before, after or between, found 'near'");
    bad7("before", NULL, NULL, NULL, NULL, NULL, NULL, "timeAt: required with timerel=before");
    bad7("between", NULL, "2017-12-13T14:20:00Z", NULL, NULL, NULL, NULL,
         "timeAt: required with timerel=between");
    bad7(NULL, "2017-12-13T14:20:00Z", NULL, NULL, NULL, NULL, NULL,
         "timerel: required when timeAt is given");
    bad7(NULL, NULL, "2017-12-13T14:20:00Z", NULL, NULL, NULL, NULL,
         "timerel: required when endTimeAt is given");
    bad7("between", "2017-12-13T14:20:00Z", NULL, NULL, NULL, NULL, NULL,
         "endTimeAt: required with timerel=between");
}

static void params_datetime_errors(void **st)
{
    (void)st;
    bad7("before", "2017-12-13", NULL, NULL, NULL, NULL, NULL,
         "timeAt: at position 0: expected a DateTime (4.6.3), found '2017-12-13'");
    bad7("before", "2017-02-29T00:00:00Z", NULL, NULL, NULL, NULL, NULL,
         "timeAt: at position 0: expected a DateTime (4.6.3), found '2017-02-29T00:00:00Z'");
    bad7("before", "2017-12-13T14:20:00", NULL, NULL, NULL, NULL, NULL,
         "timeAt: at position 0: expected a DateTime (4.6.3), found '2017-12-13T14:20:00'");
    bad7("before", "2017-12-13T14:20:00+24:00", NULL, NULL, NULL, NULL, NULL,
         "timeAt: at position 0: expected a DateTime (4.6.3), found '2017-12-13T14:20:00+24:00'");
    bad7("before", "", NULL, NULL, NULL, NULL, NULL,
         "timeAt: at position 0: expected a DateTime (4.6.3), found end of input");
    bad7("before", "now", NULL, NULL, NULL, NULL, NULL,
         "timeAt: at position 0: expected a DateTime (4.6.3), found 'now'");
    bad7("after", "2017-12-13T14:20:00Z", "x y", NULL, NULL, NULL, NULL,
         "endTimeAt: at position 0: expected a DateTime (4.6.3), found 'x'");
    bad7("between", "2017-12-13T14:20:00Z", "2017-12-13T14:20:00Z", NULL, NULL, NULL, NULL,
         "endTimeAt: at position 0: must be after timeAt, found '2017-12-13T14:20:00Z'");
    bad7("between", "2017-12-13T14:20:00Z", "2017-12-13T14:19:59.999Z", NULL, NULL, NULL, NULL,
         "endTimeAt: at position 0: must be after timeAt, found '2017-12-13T14:19:59.999Z'");
}

static void params_timeproperty_and_last_n_errors(void **st)
{
    (void)st;
    bad7(NULL, NULL, NULL, "observedat", NULL, NULL, NULL,
         "timeproperty: at position 0: expected observedAt, createdAt, modifiedAt or deletedAt, "
         "found 'observedat'");
    bad7(NULL, NULL, NULL, "", NULL, NULL, NULL,
         "timeproperty: at position 0: expected observedAt, createdAt, modifiedAt or deletedAt, "
         "found end of input");
    bad7(NULL, NULL, NULL, NULL, "0", NULL, NULL,
         "lastN: at position 0: expected a positive integer, found '0'");
    bad7(NULL, NULL, NULL, NULL, "000", NULL, NULL,
         "lastN: at position 0: expected a positive integer, found '000'");
    bad7(NULL, NULL, NULL, NULL, "", NULL, NULL,
         "lastN: at position 0: expected a positive integer, found end of input");
    bad7(NULL, NULL, NULL, NULL, "-3", NULL, NULL,
         "lastN: at position 0: expected a digit, found '-3'");
    bad7(NULL, NULL, NULL, NULL, "+3", NULL, NULL,
         "lastN: at position 0: expected a digit, found '+3'");
    bad7(NULL, NULL, NULL, NULL, "12a", NULL, NULL,
         "lastN: at position 2: expected a digit, found 'a'");
    bad7(NULL, NULL, NULL, NULL, "1.5", NULL, NULL,
         "lastN: at position 1: expected a digit, found '.5'");
    bad7(NULL, NULL, NULL, NULL, "9223372036854775808", NULL, NULL,
         "lastN: at position 0: number too large '9223372036854775808'");
    struct pl_temporalq q = ok7(NULL, NULL, NULL, NULL, "007", NULL, NULL);
    assert_int_equal(q.last_n, 7);
}

static void params_aggr_methods(void **st)
{
    (void)st;
    struct pl_temporalq q = ok7(NULL, NULL, NULL, NULL, NULL,
                                "totalCount,distinctCount,sum,avg,min,max,stddev,sumsq", NULL);
    assert_int_equal(q.aggr_methods, PL_AGGR_ALL);
    q = ok7(NULL, NULL, NULL, NULL, NULL, "avg", NULL);
    assert_int_equal(q.aggr_methods, PL_AGGR_AVG);
    q = ok7(NULL, NULL, NULL, NULL, NULL, "max,min,max", NULL);
    assert_int_equal(q.aggr_methods, PL_AGGR_MAX | PL_AGGR_MIN);
    bad7(NULL, NULL, NULL, NULL, NULL, "avg,mean", NULL,
         "aggrMethods: at position 4: expected an aggregation method, found 'mean'");
    bad7(NULL, NULL, NULL, NULL, NULL, "avg,,sum", NULL,
         "aggrMethods: at position 4: expected an aggregation method, found ','");
    bad7(NULL, NULL, NULL, NULL, NULL, "avg,", NULL,
         "aggrMethods: at position 4: expected an aggregation method, found end of input");
    bad7(NULL, NULL, NULL, NULL, NULL, "", NULL,
         "aggrMethods: at position 0: expected an aggregation method, found end of input");
    bad7(NULL, NULL, NULL, NULL, NULL, "avg, sum", NULL,
         "aggrMethods: at position 4: expected an aggregation method, found '?'");
    bad7(NULL, NULL, NULL, NULL, NULL, "AVG", NULL,
         "aggrMethods: at position 0: expected an aggregation method, found 'AVG'");
    for (unsigned b = 1; b <= 0x80; b <<= 1) {
        const char *n = pl_aggr_method_name(b);
        assert_non_null(n);
        q = ok7(NULL, NULL, NULL, NULL, NULL, n, NULL);
        assert_int_equal(q.aggr_methods, b);
    }
    assert_null(pl_aggr_method_name(0));
    assert_null(pl_aggr_method_name(3));
    assert_null(pl_aggr_method_name(0x100));
    assert_string_equal(pl_aggr_method_name(PL_AGGR_TOTALCOUNT), "totalCount");
    assert_string_equal(pl_aggr_method_name(PL_AGGR_SUMSQ), "sumsq");

    q = ok7("between", "2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z", NULL, NULL, "sum", "PT15M");
    assert_int_equal(q.aggr_period_ms, 15 * 60000);
    assert_int_equal(q.aggr_months, 0);
    bad7(NULL, NULL, NULL, NULL, NULL, "sum", "P1X",
         "aggrPeriodDuration: at position 2: expected Y, M, W, D or T, found 'X'");
}

static void durations_valid(void **st)
{
    (void)st;
    const int64_t S = 1000, MIN = 60 * S, H = 60 * MIN, D = 24 * H;
    dur_ok("P1D", 0, D);
    dur_ok("PT15M", 0, 15 * MIN);
    dur_ok("P1M", 1, 0);
    dur_ok("P1Y", 12, 0);
    dur_ok("P1Y2M10DT2H30M", 14, 10 * D + 2 * H + 30 * MIN);
    dur_ok("P3Y6M4DT12H30M5S", 42, 4 * D + 12 * H + 30 * MIN + 5 * S);
    dur_ok("PT0.5S", 0, 500);
    dur_ok("PT1.25S", 0, 1250);
    dur_ok("PT0.001S", 0, 1);
    dur_ok("PT2.5000000S", 0, 2500);
    dur_ok("P1W", 0, 7 * D);
    dur_ok("P52W", 0, 52 * 7 * D);
    dur_ok("PT0S", 0, 0);
    dur_ok("P0D", 0, 0);
    dur_ok("PT36H", 0, 36 * H);
    dur_ok("P1DT1S", 0, D + S);
    dur_ok("PT1M", 0, MIN); /* M after T is minutes */
    dur_ok("P1MT1M", 1, MIN);
    dur_ok("P0010Y", 120, 0);
    dur_ok("P10000Y", PL_ISO_DURATION_MAX_MONTHS, 0);
    dur_ok("P3660000D", 0, PL_ISO_DURATION_MAX_MS);
    /* NULL outputs allowed */
    struct pl_err err;
    assert_int_equal(pl_iso_duration_parse("P1D", NULL, NULL, &err), 0);
}

static void durations_invalid(void **st)
{
    (void)st;
    dur_bad("", "aggrPeriodDuration: at position 0: expected 'P', found end of input");
    dur_bad("P", "aggrPeriodDuration: at position 1: expected a duration element, found end of "
                 "input");
    dur_bad("PT", "aggrPeriodDuration: at position 2: expected a time element after 'T', found "
                  "end of input");
    dur_bad("P1DT", "aggrPeriodDuration: at position 4: expected a time element after 'T', found "
                    "end of input");
    dur_bad("-P1D", "aggrPeriodDuration: at position 0: a duration has no sign, found '-'");
    dur_bad("P-1D", "aggrPeriodDuration: at position 1: a duration has no sign, found '-1'");
    dur_bad("1D", "aggrPeriodDuration: at position 0: expected 'P', found '1'");
    dur_bad("p1d", "aggrPeriodDuration: at position 0: expected 'P', found 'p1d'");
    dur_bad("P1", "aggrPeriodDuration: at position 2: expected a designator after the number, "
                  "found end of input");
    dur_bad("PD", "aggrPeriodDuration: at position 1: expected a number, found 'D'");
    dur_bad("P1H", "aggrPeriodDuration: at position 2: expected Y, M, W, D or T, found 'H'");
    dur_bad("PT1D", "aggrPeriodDuration: at position 3: expected H, M or S, found 'D'");
    dur_bad("P1D1Y", "aggrPeriodDuration: at position 4: element repeated or out of order 'Y'");
    dur_bad("P1D2D", "aggrPeriodDuration: at position 4: element repeated or out of order 'D'");
    dur_bad("PT1S1M", "aggrPeriodDuration: at position 5: element repeated or out of order 'M'");
    dur_bad("P1DTT1H", "aggrPeriodDuration: at position 4: a second time designator 'T'");
    dur_bad("P1Y1W", "aggrPeriodDuration: at position 3: a week duration (PnW) takes no other "
                     "element, found '1'");
    dur_bad("P1W1D", "aggrPeriodDuration: at position 3: a week duration (PnW) takes no other "
                     "element, found '1'");
    dur_bad("P1WT1H", "aggrPeriodDuration: at position 3: a week duration (PnW) takes no other "
                      "element, found 'T'");
    dur_bad("P0.5D", "aggrPeriodDuration: at position 2: only the seconds may have a fraction '.'");
    dur_bad("PT0,5S",
            "aggrPeriodDuration: at position 3: the decimal sign must be '.', found ',5'");
    dur_bad("PT1.S", "aggrPeriodDuration: at position 4: expected digits after '.', found 'S'");
    dur_bad("PT0.0005S", "aggrPeriodDuration: at position 7: finer than a millisecond '5'");
    dur_bad("P1D ", "aggrPeriodDuration: at position 3: expected a number, found '?'");
    dur_bad("P10001Y", "aggrPeriodDuration: at position 1: duration too long (over 10000 years) "
                       "'10001'");
    dur_bad("P9999Y13M", "aggrPeriodDuration: at position 6: duration too long (over 10000 "
                         "years) '13'");
    dur_bad("P3660001D", "aggrPeriodDuration: at position 1: duration too long (over 10000 "
                         "years) '3660001'");
    dur_bad("P3660000DT0.001S", "aggrPeriodDuration: at position 10: duration too long (over "
                                "10000 years) '0'");
    dur_bad("PT99999999999999999999S", "aggrPeriodDuration: at position 2: number too large "
                                       "'99999999999999999999'");
    dur_bad("P2024-01-01", "aggrPeriodDuration: at position 5: expected Y, M, W, D or T, found "
                           "'-01-01'");
    dur_bad("P1Y\x01", "aggrPeriodDuration: at position 3: expected a number, found '?'");
}

static void json_form(void **st)
{
    (void)st;
    struct pl_temporalq q;
    struct pl_err err;
    json_t *j = json_loads("{\"type\":\"TemporalQuery\",\"timerel\":\"between\","
                           "\"timeAt\":\"2024-01-01T01:00:00+01:00\","
                           "\"endTimeAt\":\"2024-02-01T00:00:00Z\",\"timeproperty\":\"createdAt\","
                           "\"lastN\":5,\"aggrMethods\":[\"sum\",\"max\"],"
                           "\"aggrPeriodDuration\":\"P1M\"}",
                           0, NULL);
    assert_non_null(j);
    assert_int_equal(pl_temporalq_from_json(j, &q, &err), 0);
    assert_int_equal(q.rel, PL_TIMEREL_BETWEEN);
    assert_int_equal(q.time_at_ms, T("2024-01-01T00:00:00Z"));
    assert_int_equal(q.end_time_at_ms, T("2024-02-01T00:00:00Z"));
    assert_int_equal(q.prop, PL_TIMEPROP_CREATED_AT);
    assert_int_equal(q.last_n, 5);
    assert_int_equal(q.aggr_methods, PL_AGGR_SUM | PL_AGGR_MAX);
    assert_int_equal(q.aggr_months, 1);
    assert_int_equal(q.aggr_period_ms, 0);
    json_decref(j);

    /* NULL: no temporal query; nulls are absent; a comma string for aggrMethods */
    assert_int_equal(pl_temporalq_from_json(NULL, &q, &err), 0);
    assert_int_equal(q.rel, PL_TIMEREL_NONE);
    j = json_loads("{\"timerel\":\"before\",\"timeAt\":\"2024-01-01T00:00:00Z\",\"lastN\":null,"
                   "\"aggrMethods\":\"avg,min\"}",
                   0, NULL);
    assert_int_equal(pl_temporalq_from_json(j, &q, &err), 0);
    assert_int_equal(q.rel, PL_TIMEREL_BEFORE);
    assert_int_equal(q.last_n, 0);
    assert_int_equal(q.aggr_methods, PL_AGGR_AVG | PL_AGGR_MIN);
    json_decref(j);

    static const char *const bad[][2] = {
        {"[]", "temporalQ: must be a JSON object"},
        {"{\"timerel\":1,\"timeAt\":\"2024-01-01T00:00:00Z\"}", "timerel: must be a string"},
        {"{\"timerel\":\"after\"}", "timeAt: required with timerel=after"},
        {"{\"timeAt\":\"2024-01-01T00:00:00Z\"}", "timerel: required when timeAt is given"},
        {"{\"timerel\":\"after\",\"timeAt\":\"2024-01-01\"}",
         "timeAt: at position 0: expected a DateTime (4.6.3), found '2024-01-01'"},
        {"{\"timerel\":\"after\",\"timeAt\":[\"2024-01-01T00:00:00Z\"]}",
         "timeAt: must be a string"},
        {"{\"lastN\":0}", "lastN: must be a positive integer"},
        {"{\"lastN\":-1}", "lastN: must be a positive integer"},
        {"{\"lastN\":2.0}", "lastN: must be a positive integer"},
        {"{\"lastN\":\"2\"}", "lastN: must be a positive integer"},
        {"{\"aggrMethods\":[]}", "aggrMethods: must not be empty"},
        {"{\"aggrMethods\":[\"sum\",\"median\"]}",
         "aggrMethods[1]: at position 0: expected an aggregation method, found 'median'"},
        {"{\"aggrMethods\":[\"sum\",3]}", "aggrMethods[1]: must be a string"},
        {"{\"aggrMethods\":[\"sum,avg\"]}",
         "aggrMethods[0]: at position 0: expected an aggregation method, found 'sum,avg'"},
        {"{\"aggrMethods\":{}}", "aggrMethods: must be an array of strings or a string"},
        {"{\"aggrPeriodDuration\":\"P\"}",
         "aggrPeriodDuration: at position 1: expected a duration element, found end of input"},
        {"{\"aggrPeriodDuration\":5}", "aggrPeriodDuration: must be a string"},
        {"{\"timeproperty\":\"updatedAt\"}",
         "timeproperty: at position 0: expected observedAt, createdAt, modifiedAt or "
         "deletedAt, found 'updatedAt'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = json_loads(bad[i][0], 0, NULL);
        assert_non_null(j);
        pl_err_clear(&err);
        assert_int_equal(pl_temporalq_from_json(j, &q, &err), PL_EBADREQUESTDATA);
        if (strcmp(err.detail, bad[i][1]) != 0)
            fail_msg("%s: detail \"%s\" != \"%s\"", bad[i][0], err.detail, bad[i][1]);
        json_decref(j);
    }
}

static void match_time_boundaries(void **st)
{
    (void)st;
    int64_t a = T("2024-01-01T00:00:00Z"), b = T("2024-01-02T00:00:00Z");
    struct pl_temporalq q = ok7("before", "2024-01-01T00:00:00Z", NULL, NULL, NULL, NULL, NULL);
    assert_true(pl_temporalq_match_time(&q, a - 1));
    assert_false(pl_temporalq_match_time(&q, a)); /* exclusive */
    assert_false(pl_temporalq_match_time(&q, a + 1));

    q = ok7("after", "2024-01-01T00:00:00Z", NULL, NULL, NULL, NULL, NULL);
    assert_false(pl_temporalq_match_time(&q, a - 1));
    assert_true(pl_temporalq_match_time(&q, a)); /* inclusive */
    assert_true(pl_temporalq_match_time(&q, a + 1));

    q = ok7("between", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", NULL, NULL, NULL, NULL);
    assert_false(pl_temporalq_match_time(&q, a - 1));
    assert_true(pl_temporalq_match_time(&q, a)); /* lower inclusive */
    assert_true(pl_temporalq_match_time(&q, b - 1));
    assert_false(pl_temporalq_match_time(&q, b)); /* upper exclusive */

    /* with an offset, the same instant */
    q = ok7("between", "2024-01-01T01:00:00+01:00", "2024-01-01T19:00:00-05:00", NULL, NULL, NULL,
            NULL);
    assert_true(pl_temporalq_match_time(&q, a));
    assert_false(pl_temporalq_match_time(&q, b));
}

/* start(t) <= t, start is a fixed point, and the bucket before ends exactly at start */
static void check_bucket(int64_t o, int months, int64_t p, int64_t t)
{
    int64_t s = pl_temporal_bucket_start(o, months, p, t);
    if (s > t)
        fail_msg("bucket start %lld > t %lld", (long long)s, (long long)t);
    assert_int_equal(pl_temporal_bucket_start(o, months, p, s), s);
    if (pl_temporal_bucket_start(o, months, p, s - 1) >= s)
        fail_msg("bucket before %lld not earlier", (long long)s);
}

static void buckets_fixed(void **st)
{
    (void)st;
    const int64_t D = 86400000, Q = 15 * 60000;
    int64_t o = T("2024-01-01T00:00:00Z");
    assert_int_equal(pl_temporal_bucket_start(o, 0, D, T("2024-03-15T13:45:00Z")),
                     T("2024-03-15T00:00:00Z"));
    assert_int_equal(pl_temporal_bucket_start(o, 0, D, T("2024-02-29T23:59:59.999Z")),
                     T("2024-02-29T00:00:00Z"));
    assert_int_equal(pl_temporal_bucket_start(o, 0, D, o), o);
    assert_int_equal(pl_temporal_bucket_start(o, 0, D, o - 1), o - D); /* before the origin */
    /* 15 minutes from an origin at :05 */
    o = T("2024-01-01T00:05:00Z");
    assert_int_equal(pl_temporal_bucket_start(o, 0, Q, T("2024-01-01T10:19:59.999Z")),
                     T("2024-01-01T10:05:00Z"));
    assert_int_equal(pl_temporal_bucket_start(o, 0, Q, T("2024-01-01T10:20:00Z")),
                     T("2024-01-01T10:20:00Z"));
    assert_int_equal(pl_temporal_bucket_start(o, 0, Q, T("2023-12-31T23:59:00Z")),
                     T("2023-12-31T23:50:00Z"));
    /* whole interval, and nonsense periods */
    assert_int_equal(pl_temporal_bucket_start(o, 0, 0, T("2030-01-01T00:00:00Z")), o);
    assert_int_equal(pl_temporal_bucket_start(o, -1, D, T("2030-01-01T00:00:00Z")), o);
    assert_int_equal(pl_temporal_bucket_start(o, 0, -D, T("2030-01-01T00:00:00Z")), o);
    /* a week from a parsed duration */
    int m;
    int64_t ms;
    struct pl_err err;
    assert_int_equal(pl_iso_duration_parse("P1W", &m, &ms, &err), 0);
    assert_int_equal(
        pl_temporal_bucket_start(T("2024-01-01T00:00:00Z"), m, ms, T("2024-01-14T23:00:00Z")),
        T("2024-01-08T00:00:00Z"));
    /* extremes do not overflow */
    check_bucket(0, 0, 1, INT64_MAX);
    check_bucket(INT64_MIN, 0, D, INT64_MAX - 5);
    (void)pl_temporal_bucket_start(INT64_MAX, 0, INT64_MAX, INT64_MIN);
}

static void buckets_calendar_months_leap_year(void **st)
{
    (void)st;
    /* monthly from Jan 1 2024 (leap year) */
    int64_t o = T("2024-01-01T00:00:00Z");
    assert_int_equal(pl_temporal_bucket_start(o, 1, 0, T("2024-02-29T23:59:59.999Z")),
                     T("2024-02-01T00:00:00Z"));
    assert_int_equal(pl_temporal_bucket_start(o, 1, 0, T("2024-03-01T00:00:00Z")),
                     T("2024-03-01T00:00:00Z"));
    assert_int_equal(pl_temporal_bucket_start(o, 1, 0, T("2023-12-31T23:59:59Z")),
                     T("2023-12-01T00:00:00Z"));
    assert_int_equal(pl_temporal_bucket_start(o, 3, 0, T("2024-08-15T00:00:00Z")),
                     T("2024-07-01T00:00:00Z"));
    /* from Jan 31: clamped to Feb 29 in 2024, Feb 28 in 2025 */
    o = T("2024-01-31T06:00:00Z");
    assert_int_equal(pl_temporal_bucket_start(o, 1, 0, T("2024-02-29T12:00:00Z")),
                     T("2024-02-29T06:00:00Z"));
    assert_int_equal(pl_temporal_bucket_start(o, 1, 0, T("2024-02-29T05:00:00Z")),
                     T("2024-01-31T06:00:00Z"));
    assert_int_equal(pl_temporal_bucket_start(o, 1, 0, T("2024-03-15T00:00:00Z")),
                     T("2024-02-29T06:00:00Z"));
    assert_int_equal(pl_temporal_bucket_start(o, 1, 0, T("2024-03-31T06:00:00Z")),
                     T("2024-03-31T06:00:00Z"));
    assert_int_equal(pl_temporal_bucket_start(o, 1, 0, T("2024-04-30T07:00:00Z")),
                     T("2024-04-30T06:00:00Z"));
    assert_int_equal(pl_temporal_bucket_start(o, 1, 0, T("2025-03-01T00:00:00Z")),
                     T("2025-02-28T06:00:00Z"));
    /* yearly from Feb 29 */
    o = T("2024-02-29T00:00:00Z");
    assert_int_equal(pl_temporal_bucket_start(o, 12, 0, T("2025-02-27T00:00:00Z")), o);
    assert_int_equal(pl_temporal_bucket_start(o, 12, 0, T("2025-03-01T00:00:00Z")),
                     T("2025-02-28T00:00:00Z"));
    assert_int_equal(pl_temporal_bucket_start(o, 12, 0, T("2028-02-29T00:00:00Z")),
                     T("2028-02-29T00:00:00Z"));
    assert_int_equal(pl_temporal_bucket_start(o, 12, 0, T("2023-06-01T00:00:00Z")),
                     T("2023-02-28T00:00:00Z"));
    /* before the origin, mid-month origin */
    o = T("2024-03-15T00:00:00Z");
    assert_int_equal(pl_temporal_bucket_start(o, 1, 0, T("2024-01-20T00:00:00Z")),
                     T("2024-01-15T00:00:00Z"));
    assert_int_equal(pl_temporal_bucket_start(o, 1, 0, T("2024-01-10T00:00:00Z")),
                     T("2023-12-15T00:00:00Z"));
    /* months and days together: P1M1D from Jan 1 -> Feb 2, Mar 3 */
    o = T("2024-01-01T00:00:00Z");
    assert_int_equal(pl_temporal_bucket_start(o, 1, 86400000, T("2024-03-02T23:00:00Z")),
                     T("2024-02-02T00:00:00Z"));
    assert_int_equal(pl_temporal_bucket_start(o, 1, 86400000, T("2024-03-03T00:00:00Z")),
                     T("2024-03-03T00:00:00Z"));
    /* pre-1970 and far times */
    assert_int_equal(
        pl_temporal_bucket_start(T("1900-01-31T00:00:00Z"), 1, 0, T("1900-03-01T00:00:00Z")),
        T("1900-02-28T00:00:00Z")); /* 1900 is not a leap year */
    assert_int_equal(
        pl_temporal_bucket_start(T("2000-01-31T00:00:00Z"), 1, 0, T("2000-03-01T00:00:00Z")),
        T("2000-02-29T00:00:00Z")); /* 2000 is */
}

static void buckets_properties(void **st)
{
    (void)st;
    static const struct {
        int months;
        int64_t ms;
    } per[] = {{0, 1},  {0, 900000},   {0, 86400000},         {1, 0},         {2, 0},
               {12, 0}, {1, 86400000}, {14, 3600000 * 5 + 1}, {0, 604800000}, {120000, 0}};
    int64_t origins[] = {T("2024-01-31T06:00:00Z"), T("1969-12-31T23:59:59.999Z"), 0,
                         T("9999-12-31T23:59:59Z"), T("0001-01-01T00:00:00Z")};
    uint64_t x = 88172645463325252u;
    for (size_t p = 0; p < sizeof per / sizeof per[0]; p++) {
        for (size_t oi = 0; oi < sizeof origins / sizeof origins[0]; oi++) {
            for (int i = 0; i < 300; i++) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                int64_t t = (int64_t)(x % UINT64_C(600000000000000)) - INT64_C(300000000000000);
                check_bucket(origins[oi], per[p].months, per[p].ms, t);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(params_absent_give_defaults),
        cmocka_unit_test(params_examples_of_4_11),
        cmocka_unit_test(params_offsets_normalise_to_utc),
        cmocka_unit_test(params_timerel_errors),
        cmocka_unit_test(params_datetime_errors),
        cmocka_unit_test(params_timeproperty_and_last_n_errors),
        cmocka_unit_test(params_aggr_methods),
        cmocka_unit_test(durations_valid),
        cmocka_unit_test(durations_invalid),
        cmocka_unit_test(json_form),
        cmocka_unit_test(match_time_boundaries),
        cmocka_unit_test(buckets_fixed),
        cmocka_unit_test(buckets_calendar_months_leap_year),
        cmocka_unit_test(buckets_properties),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
