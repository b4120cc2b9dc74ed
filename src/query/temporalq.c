/* SPDX-License-Identifier: Apache-2.0 */
/*
 * temporalq.c — the NGSI-LD temporal query: parameters, ISO 8601 durations, aggregation buckets
 * and the 4.11 time predicate. See temporalq.h for the rules.
 */
#include "query/temporalq.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "query/q.h"

static const char *const aggr_names[] = {"totalCount", "distinctCount", "sum",    "avg",
                                         "min",        "max",           "stddev", "sumsq"};
#define N_AGGR (sizeof aggr_names / sizeof aggr_names[0])

static const char *const prop_names[] = {"observedAt", "createdAt", "modifiedAt", "deletedAt"};

const char *pl_aggr_method_name(unsigned bit)
{
    for (size_t i = 0; i < N_AGGR; i++) {
        if (bit == (1u << i))
            return aggr_names[i];
    }
    return NULL;
}

const char *pl_timeprop_name(enum pl_timeprop p)
{
    if ((unsigned)p < sizeof prop_names / sizeof prop_names[0])
        return prop_names[p];
    return prop_names[0];
}

static void defaults(struct pl_temporalq *out)
{
    memset(out, 0, sizeof *out);
    out->rel = PL_TIMEREL_NONE;
    out->prop = PL_TIMEPROP_OBSERVED_AT;
}

/* ---------------------------------------------------------------------------------------------
 * ISO 8601 durations
 */

#define DUR_DELIMS "PYMWDTHS."
#define MS_DAY     INT64_C(86400000)

static int dur_err(struct pl_err *err, const char *s, size_t pos, const char *why)
{
    return pl_q__syntax_error(err, "aggrPeriodDuration", s, pos, DUR_DELIMS, why, NULL);
}

/* rank of a designator: date part Y=1 M=2 W=3 D=4, time part H=5 M=6 S=7; 0 if none */
static int dur_rank(char c, int in_time)
{
    if (!in_time) {
        switch (c) {
        case 'Y':
            return 1;
        case 'M':
            return 2;
        case 'W':
            return 3;
        case 'D':
            return 4;
        default:
            return 0;
        }
    }
    switch (c) {
    case 'H':
        return 5;
    case 'M':
        return 6;
    case 'S':
        return 7;
    default:
        return 0;
    }
}

int pl_iso_duration_parse(const char *s, int *months, int64_t *ms, struct pl_err *err)
{
    if (!s)
        s = "";
    if (s[0] == '-' || s[0] == '+')
        return dur_err(err, s, 0, "a duration has no sign, found");
    if (s[0] != 'P')
        return dur_err(err, s, 0, "expected 'P', found");
    int64_t mon = 0, fixed = 0;
    int in_time = 0, last = 0, any = 0, time_any = 0, week = 0;
    size_t i = 1;
    while (s[i]) {
        if (s[i] == 'T') {
            if (in_time)
                return dur_err(err, s, i, "a second time designator");
            if (week)
                return dur_err(err, s, i, "a week duration (PnW) takes no other element, found");
            in_time = 1;
            i++;
            continue;
        }
        size_t start = i;
        if (s[i] == '-' || s[i] == '+')
            return dur_err(err, s, i, "a duration has no sign, found");
        if (s[i] < '0' || s[i] > '9')
            return dur_err(err, s, i, "expected a number, found");
        uint64_t v = 0;
        while (s[i] >= '0' && s[i] <= '9') {
            if (v > UINT64_C(100000000000000)) /* 1e14: far past any accepted duration */
                return dur_err(err, s, start, "number too large");
            v = v * 10 + (uint64_t)(s[i] - '0');
            i++;
        }
        int64_t frac_ms = 0;
        size_t frac_pos = 0;
        if (s[i] == '.' || s[i] == ',') {
            frac_pos = i;
            if (s[i] == ',')
                return dur_err(err, s, i, "the decimal sign must be '.', found");
            i++;
            if (s[i] < '0' || s[i] > '9')
                return dur_err(err, s, i, "expected digits after '.', found");
            int n = 0;
            while (s[i] >= '0' && s[i] <= '9') {
                if (n < 3)
                    frac_ms = frac_ms * 10 + (s[i] - '0');
                else if (s[i] != '0')
                    return dur_err(err, s, i, "finer than a millisecond");
                n++;
                i++;
            }
            for (; n < 3; n++)
                frac_ms *= 10;
        }
        if (!s[i])
            return dur_err(err, s, i, "expected a designator after the number, found");
        int r = dur_rank(s[i], in_time);
        if (r == 0)
            return dur_err(err, s, i,
                           in_time ? "expected H, M or S, found"
                                   : "expected Y, M, W, D or T, found");
        if (frac_pos && r != 7)
            return dur_err(err, s, frac_pos, "only the seconds may have a fraction");
        if (week || (r == 3 && last != 0))
            return dur_err(err, s, start, "a week duration (PnW) takes no other element, found");
        if (r <= last)
            return dur_err(err, s, i, "element repeated or out of order");
        int64_t factor = 0;
        switch (r) {
        case 1:
            factor = 12;
            break; /* years -> months */
        case 2:
            factor = 1;
            break; /* months */
        case 3:
            factor = 7 * MS_DAY;
            break; /* weeks */
        case 4:
            factor = MS_DAY;
            break; /* days */
        case 5:
            factor = INT64_C(3600000);
            break; /* hours */
        case 6:
            factor = INT64_C(60000);
            break; /* minutes */
        default:
            factor = INT64_C(1000);
            break; /* seconds */
        }
        if (r <= 2) {
            if (v > (uint64_t)(PL_ISO_DURATION_MAX_MONTHS / factor) ||
                mon + (int64_t)v * factor > PL_ISO_DURATION_MAX_MONTHS)
                return dur_err(err, s, start, "duration too long (over 10000 years)");
            mon += (int64_t)v * factor;
        } else {
            if (v > (uint64_t)(PL_ISO_DURATION_MAX_MS / factor) ||
                fixed + (int64_t)v * factor + frac_ms > PL_ISO_DURATION_MAX_MS)
                return dur_err(err, s, start, "duration too long (over 10000 years)");
            fixed += (int64_t)v * factor + frac_ms;
        }
        week = r == 3;
        last = r;
        any = 1;
        time_any |= in_time;
        i++;
    }
    if (in_time && !time_any)
        return dur_err(err, s, i, "expected a time element after 'T', found");
    if (!any)
        return dur_err(err, s, i, "expected a duration element, found");
    if (months)
        *months = (int)mon;
    if (ms)
        *ms = fixed;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Calendar arithmetic (proleptic Gregorian, UTC)
 */

static int64_t floor_div(int64_t a, int64_t b) /* b > 0 */
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

/* days since 1970-01-01 of y-m-d (m 1..12) */
static int64_t days_of(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;                                  /* 0..399 */
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1; /* 0..365, from March 1 */
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;          /* 0..146096 */
    return era * 146097 + doe - 719468;
}

static void civil_of(int64_t days, int64_t *y, int *m, int *d)
{
    days += 719468;
    int64_t era = floor_div(days, 146097);
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

static int month_days(int64_t y, int m)
{
    static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return md[m - 1] + (m == 2 && leap);
}

struct civil {
    int64_t y;   /* year */
    int m, d;    /* 1..12, 1..31 */
    int64_t tod; /* ms into the day */
};

static struct civil to_civil(int64_t t)
{
    struct civil c;
    int64_t days = floor_div(t, MS_DAY);
    c.tod = t - days * MS_DAY;
    civil_of(days, &c.y, &c.m, &c.d);
    return c;
}

/* origin + n calendar months (day clamped to the month's end) */
static int64_t add_months(const struct civil *o, int64_t n)
{
    int64_t idx = o->y * 12 + (o->m - 1) + n;
    int64_t y = floor_div(idx, 12);
    int m = (int)(idx - y * 12) + 1;
    int d = o->d;
    int dim = month_days(y, m);
    if (d > dim)
        d = dim;
    return days_of(y, m, d) * MS_DAY + o->tod;
}

#define T_LIMIT (INT64_C(1) << 55)

static int64_t clamp_t(int64_t t)
{
    return t > T_LIMIT ? T_LIMIT : t < -T_LIMIT ? -T_LIMIT : t;
}

int64_t pl_temporal_bucket_start(int64_t origin_ms, int months, int64_t period_ms, int64_t t_ms)
{
    if (months < 0 || period_ms < 0 || (months == 0 && period_ms == 0))
        return origin_ms;
    int64_t o = clamp_t(origin_ms), t = clamp_t(t_ms);
    if (period_ms > T_LIMIT)
        period_ms = T_LIMIT;
    if (months == 0)
        return o + floor_div(t - o, period_ms) * period_ms;

    struct civil oc = to_civil(o);
    int64_t k;
    if (period_ms == 0) {
        struct civil tc = to_civil(t);
        int64_t dm = (tc.y * 12 + tc.m) - (oc.y * 12 + oc.m);
        k = floor_div(dm, months);
        /* start(k) lies in the month index of origin + k*months <= t's month: at most one step
         * too far when the day / time of day is later in t's month */
        if (add_months(&oc, k * months) > t)
            k--;
        return add_months(&oc, k * months);
    }
    /* months and a fixed part: estimate with the mean Gregorian month, then step */
    int64_t avg = (int64_t)months * INT64_C(2629746000) + period_ms;
    k = floor_div(t - o, avg);
    while (add_months(&oc, k * months) + k * period_ms > t)
        k--;
    while (add_months(&oc, (k + 1) * months) + (k + 1) * period_ms <= t)
        k++;
    return add_months(&oc, k * months) + k * period_ms;
}

/* ---------------------------------------------------------------------------------------------
 * The predicate
 */

int pl_temporalq_match_time(const struct pl_temporalq *q, int64_t t_ms)
{
    switch (q->rel) {
    case PL_TIMEREL_BEFORE:
        return t_ms < q->time_at_ms;
    case PL_TIMEREL_AFTER:
        return t_ms >= q->time_at_ms;
    case PL_TIMEREL_BETWEEN:
        return t_ms >= q->time_at_ms && t_ms < q->end_time_at_ms;
    default:
        return 1;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Parameters
 */

static int perr(struct pl_err *err, const char *param, const char *text, size_t pos,
                const char *delims, const char *why)
{
    return pl_q__syntax_error(err, param, text, pos, delims, why, NULL);
}

static int parse_dt(const char *param, const char *s, int64_t *ms, struct pl_err *err)
{
    double v;
    if (pl_q_parse_datetime(s, &v) != 0)
        return perr(err, param, s, 0, "", "expected a DateTime (4.6.3), found");
    *ms = (int64_t)v;
    return 0;
}

/* one method name of length n at s; its bit or 0 */
static unsigned aggr_bit(const char *s, size_t n)
{
    for (size_t i = 0; i < N_AGGR; i++) {
        if (strlen(aggr_names[i]) == n && memcmp(aggr_names[i], s, n) == 0)
            return 1u << i;
    }
    return 0;
}

static int parse_methods(const char *s, unsigned *bits, struct pl_err *err)
{
    size_t i = 0;
    unsigned b = 0;
    for (;;) {
        size_t a = i;
        while (s[i] && s[i] != ',')
            i++;
        unsigned m = aggr_bit(s + a, i - a);
        if (!m)
            return perr(err, "aggrMethods", s, a, ",", "expected an aggregation method, found");
        b |= m;
        if (!s[i])
            break;
        i++;
    }
    *bits = b;
    return 0;
}

static int parse_last_n(const char *s, int64_t *out, struct pl_err *err)
{
    size_t i = 0;
    int64_t v = 0;
    if (!s[0])
        return perr(err, "lastN", s, 0, "", "expected a positive integer, found");
    for (; s[i]; i++) {
        if (s[i] < '0' || s[i] > '9')
            return perr(err, "lastN", s, i, "", "expected a digit, found");
        int dg = s[i] - '0';
        if (v > (INT64_MAX - dg) / 10)
            return perr(err, "lastN", s, 0, "", "number too large");
        v = v * 10 + dg;
    }
    if (v == 0)
        return perr(err, "lastN", s, 0, "", "expected a positive integer, found");
    *out = v;
    return 0;
}

int pl_temporalq_parse(const char *timerel, const char *time_at, const char *end_time_at,
                       const char *timeproperty, const char *last_n, const char *aggr_methods,
                       const char *aggr_period, struct pl_temporalq *out, struct pl_err *err)
{
    struct pl_temporalq q;
    int rc;
    defaults(&q);
    defaults(out);

    if (timerel) {
        if (strcmp(timerel, "before") == 0)
            q.rel = PL_TIMEREL_BEFORE;
        else if (strcmp(timerel, "after") == 0)
            q.rel = PL_TIMEREL_AFTER;
        else if (strcmp(timerel, "between") == 0)
            q.rel = PL_TIMEREL_BETWEEN;
        else
            return perr(err, "timerel", timerel, 0, "", "expected before, after or between, found");
    }
    if (time_at) {
        if (!timerel)
            return pl_err_set(err, PL_EBADREQUESTDATA, "timerel: required when timeAt is given");
        if ((rc = parse_dt("timeAt", time_at, &q.time_at_ms, err)) != 0)
            return rc;
    } else if (timerel) {
        return pl_err_set(err, PL_EBADREQUESTDATA, "timeAt: required with timerel=%s", timerel);
    }
    if (end_time_at) {
        int64_t e = 0;
        if (!timerel)
            return pl_err_set(err, PL_EBADREQUESTDATA, "timerel: required when endTimeAt is given");
        if ((rc = parse_dt("endTimeAt", end_time_at, &e, err)) != 0)
            return rc;
        if (q.rel == PL_TIMEREL_BETWEEN) {
            if (e <= q.time_at_ms)
                return perr(err, "endTimeAt", end_time_at, 0, "", "must be after timeAt, found");
            q.end_time_at_ms = e;
        }
    } else if (q.rel == PL_TIMEREL_BETWEEN) {
        return pl_err_set(err, PL_EBADREQUESTDATA, "endTimeAt: required with timerel=between");
    }
    if (timeproperty) {
        size_t i;
        for (i = 0; i < sizeof prop_names / sizeof prop_names[0]; i++) {
            if (strcmp(timeproperty, prop_names[i]) == 0)
                break;
        }
        if (i == sizeof prop_names / sizeof prop_names[0])
            return perr(err, "timeproperty", timeproperty, 0, "",
                        "expected observedAt, createdAt, modifiedAt or deletedAt, found");
        q.prop = (enum pl_timeprop)i;
    }
    if (last_n && (rc = parse_last_n(last_n, &q.last_n, err)) != 0)
        return rc;
    if (aggr_methods && (rc = parse_methods(aggr_methods, &q.aggr_methods, err)) != 0)
        return rc;
    if (aggr_period &&
        (rc = pl_iso_duration_parse(aggr_period, &q.aggr_months, &q.aggr_period_ms, err)) != 0)
        return rc;
    *out = q;
    return 0;
}

/* a string member, NULL when absent or null; -1 (error set) when of another type */
static int json_str(const json_t *tq, const char *name, const char **out, struct pl_err *err)
{
    const json_t *v = json_object_get(tq, name);
    *out = NULL;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || strlen(json_string_value(v)) != json_string_length(v))
        return pl_err_set(err, PL_EBADREQUESTDATA, "%s: must be a string", name);
    *out = json_string_value(v);
    return 0;
}

int pl_temporalq_from_json(const json_t *tq, struct pl_temporalq *out, struct pl_err *err)
{
    const char *rel, *at, *end, *prop, *period, *methods = NULL;
    char nbuf[24];
    const char *last_n = NULL;
    unsigned bits = 0;
    int rc;
    defaults(out);
    if (!tq)
        return 0;
    if (!json_is_object(tq))
        return pl_err_set(err, PL_EBADREQUESTDATA, "temporalQ: must be a JSON object");
    if ((rc = json_str(tq, "timerel", &rel, err)) != 0 ||
        (rc = json_str(tq, "timeAt", &at, err)) != 0 ||
        (rc = json_str(tq, "endTimeAt", &end, err)) != 0 ||
        (rc = json_str(tq, "timeproperty", &prop, err)) != 0 ||
        (rc = json_str(tq, "aggrPeriodDuration", &period, err)) != 0)
        return rc;

    const json_t *n = json_object_get(tq, "lastN");
    if (n && !json_is_null(n)) {
        if (!json_is_integer(n) || json_integer_value(n) <= 0)
            return pl_err_set(err, PL_EBADREQUESTDATA, "lastN: must be a positive integer");
        snprintf(nbuf, sizeof nbuf, "%" PRId64, (int64_t)json_integer_value(n));
        last_n = nbuf;
    }

    const json_t *m = json_object_get(tq, "aggrMethods");
    if (json_is_array(m)) {
        size_t i;
        const json_t *e;
        if (json_array_size(m) == 0)
            return pl_err_set(err, PL_EBADREQUESTDATA, "aggrMethods: must not be empty");
        json_array_foreach(m, i, e)
        {
            const char *s = json_string_value(e);
            unsigned b = s ? aggr_bit(s, json_string_length(e)) : 0;
            if (!b) {
                char where[40];
                snprintf(where, sizeof where, "aggrMethods[%zu]", i);
                if (!s)
                    return pl_err_set(err, PL_EBADREQUESTDATA, "%s: must be a string", where);
                return perr(err, where, s, 0, "", "expected an aggregation method, found");
            }
            bits |= b;
        }
    } else if ((rc = json_str(tq, "aggrMethods", &methods, err)) != 0) {
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "aggrMethods: must be an array of strings or a string");
    }

    if ((rc = pl_temporalq_parse(rel, at, end, prop, last_n, methods, period, out, err)) != 0)
        return rc;
    out->aggr_methods |= bits;
    return 0;
}
