/* SPDX-License-Identifier: Apache-2.0 */
/*
 * temporalq.h — the NGSI-LD temporal query (V1.9.1 clause 4.11; the TemporalQuery data type of
 * 5.2.21; lastN of 5.7.3 / 5.7.4; aggrMethods / aggrPeriodDuration of 4.5.19.1).
 *
 * Pure logic, no I/O: parse and validate the parameters, ISO 8601 durations, aggregation bucket
 * boundaries and the time predicate. The SQL layer must agree with pl_temporalq_match_time and
 * pl_temporal_bucket_start.
 *
 * VALIDATION (both entry points)
 *   timerel       "before" / "after" / "between" (case-sensitive). Absent: no time restriction
 *                 (PL_TIMEREL_NONE); timeAt or endTimeAt given without timerel is an error.
 *   timeAt        required with timerel; a DateTime (4.6.3) ending in Z or a +hh:mm / -hh:mm
 *                 offset (pl_q_parse_datetime), normalised to UTC epoch milliseconds.
 *   endTimeAt     required with between, and then strictly after timeAt. With before / after it
 *                 is still validated as a DateTime but ignored (4.11: "only used for the between
 *                 relation"); end_time_at_ms is then 0.
 *   timeproperty  observedAt (default) / createdAt / modifiedAt / deletedAt.
 *   lastN         a positive integer: ASCII digits only (no sign), 1 .. INT64_MAX.
 *   aggrMethods   HTTP: a comma-separated list of totalCount, distinctCount, sum, avg, min, max,
 *                 stddev, sumsq (no empty element, no spaces; a repeated name is harmless).
 *                 JSON: an array of those strings (not empty), or the same comma-separated
 *                 string. Whether options=aggregatedValues was given is the caller's business.
 *   aggrPeriodDuration  an ISO 8601 duration, see pl_iso_duration_parse.
 *   An empty string is a given-but-invalid value, not an absent one.
 * Errors: PL_EBADREQUESTDATA with "<param>: at position N: <why> '<token>'" (N the 0-based byte
 * offset in that parameter) for malformed values, "<param>: <why>" for missing / inconsistent
 * ones (JSON: "<member>: ..."; an aggrMethods array element: "aggrMethods[i]: ...").
 */
#ifndef PL_QUERY_TEMPORALQ_H
#define PL_QUERY_TEMPORALQ_H

#include <jansson.h>
#include <stdint.h>

#include "base/err.h"

enum pl_timerel { PL_TIMEREL_NONE, PL_TIMEREL_BEFORE, PL_TIMEREL_AFTER, PL_TIMEREL_BETWEEN };
enum pl_timeprop {
    PL_TIMEPROP_OBSERVED_AT,
    PL_TIMEPROP_CREATED_AT,
    PL_TIMEPROP_MODIFIED_AT,
    PL_TIMEPROP_DELETED_AT
};

/* aggrMethods (4.5.19.1) as bits */
#define PL_AGGR_TOTALCOUNT    0x1u
#define PL_AGGR_DISTINCTCOUNT 0x2u
#define PL_AGGR_SUM           0x4u
#define PL_AGGR_AVG           0x8u
#define PL_AGGR_MIN           0x10u
#define PL_AGGR_MAX           0x20u
#define PL_AGGR_STDDEV        0x40u
#define PL_AGGR_SUMSQ         0x80u
#define PL_AGGR_ALL           0xffu

/* Largest accepted duration: 10000 years in months, and 10000 * 366 days in milliseconds for
 * the fixed-length part (weeks, days, hours, minutes, seconds). */
#define PL_ISO_DURATION_MAX_MONTHS 120000
#define PL_ISO_DURATION_MAX_MS     INT64_C(316224000000000)

struct pl_temporalq {
    enum pl_timerel rel;
    int64_t time_at_ms, end_time_at_ms; /* UTC epoch ms; 0 when not used by rel */
    enum pl_timeprop prop;              /* default observedAt */
    int64_t last_n;                     /* 0 = not given */
    unsigned aggr_methods;              /* PL_AGGR_* bits; 0 = not given */
    int64_t aggr_period_ms; /* fixed-length part of aggrPeriodDuration (W, D, H, M, S); days are
                               86400000 ms (UTC has no DST); 0 with aggr_months 0 = the whole
                               interval (also when the parameter is absent) */
    int aggr_months;        /* calendar part: years * 12 + months (P1M, P1Y) */
};

/* The name of an aggregation method bit ("totalCount", ...), or NULL for anything else. */
const char *pl_aggr_method_name(unsigned bit);
/* The name of a Temporal Property ("observedAt", ...). */
const char *pl_timeprop_name(enum pl_timeprop p);

/* From HTTP parameters (each may be NULL = absent; already percent-decoded). Returns 0 and
 * fills *out (always fully initialised, also on error), or PL_EBADREQUESTDATA. */
int pl_temporalq_parse(const char *timerel, const char *time_at, const char *end_time_at,
                       const char *timeproperty, const char *last_n, const char *aggr_methods,
                       const char *aggr_period, struct pl_temporalq *out, struct pl_err *err);

/* From a TemporalQuery JSON object (5.2.21: timerel, timeAt, endTimeAt, timeproperty, lastN)
 * plus, for the POST query, aggrMethods / aggrPeriodDuration. Other members are ignored; a
 * member with JSON null counts as absent. tq NULL: no temporal query (0, *out the defaults);
 * tq not an object: PL_EBADREQUESTDATA. */
int pl_temporalq_from_json(const json_t *tq, struct pl_temporalq *out, struct pl_err *err);

/*
 * ISO 8601 duration (4.5.19.1): "P" [nY] [nM] [nD] ["T" [nH] [nM] [nS]] or "P" nW. Elements in
 * that order, each at most once, n unsigned decimal digits; only the seconds may have a
 * fraction ("." and 1+ digits, digits past the millisecond must be 0). Rejected: "P", "PT",
 * a "T" with no time element, a sign, a missing number, ",", alternative (combined date-time)
 * forms, W mixed with other elements, and more than PL_ISO_DURATION_MAX_MONTHS months or
 * PL_ISO_DURATION_MAX_MS milliseconds. "PT0S" / "P0D" are valid (both parts 0).
 * Sets *months (years * 12 + months) and *ms (the rest). Either pointer may be NULL. Returns 0 or
 * PL_EBADREQUESTDATA ("aggrPeriodDuration: at position N: ...").
 */
int pl_iso_duration_parse(const char *s, int *months, int64_t *ms, struct pl_err *err);

/*
 * The start of the aggregation bucket containing t_ms. Bucket k (any integer, also negative:
 * buckets extend before the origin) starts at origin + k * months calendar months + k * period_ms,
 * where adding months keeps the origin's UTC time of day and day of month, clamped to the
 * month's last day (origin Jan 31 + 1 month = Feb 28 / 29). Returns the start of the bucket k
 * with start(k) <= t_ms < start(k + 1); origin_ms when months and period_ms are both 0 (one
 * bucket spanning everything), or when either is negative. origin_ms and t_ms are first
 * clamped to +-2^55 ms (about +-1.1 million years), so any input is safe (no overflow) and the
 * result is exact inside that range.
 */
int64_t pl_temporal_bucket_start(int64_t origin_ms, int months, int64_t period_ms, int64_t t_ms);

/*
 * 1 when an instance whose Temporal Property (q->prop) has time t_ms satisfies the query, else 0.
 * Clause 4.11 of V1.9.1:
 *   before  "The specified value is used as an exclusive bound":  t < timeAt
 *   after   "The specified value is used as an inclusive bound":  t >= timeAt
 *   between "the value specified for the lower bound of the range is inclusive and the value
 *           specified for the upper bound of the range is exclusive":  timeAt <= t < endTimeAt
 *   PL_TIMEREL_NONE: always 1. (An instance WITHOUT the Temporal Property never matches a
 *   timerel: "Entities which do not convey the target Temporal Property ... non-matching";
 *   that is the caller's check.)
 */
int pl_temporalq_match_time(const struct pl_temporalq *q, int64_t t_ms);

#endif
