/* SPDX-License-Identifier: Apache-2.0 */
/*
 * timeutil.h — NGSI-LD DateTime handling (clause 4.6.3: ISO 8601, UTC only, "Z").
 */
#ifndef PL_BASE_TIMEUTIL_H
#define PL_BASE_TIMEUTIL_H

#include <stdint.h>

#define PL_TIME_ISO_LEN 32

/* Current wall-clock time in milliseconds since the Unix epoch. Thread-safe. */
int64_t pl_time_now_ms(void);

/* Format `ms` as "YYYY-MM-DDTHH:MM:SS.mmmZ" into buf (at least PL_TIME_ISO_LEN bytes). */
void pl_time_format(int64_t ms, char *buf);

/* Format `ms` with the precision a client used in `sample` (a DateTime as written in the
 * request, NULL when none): "YYYY-MM-DDTHH:MM:SSZ" when `sample` has no fraction of a second
 * (or is NULL) and `ms` is a whole second, else as pl_time_format. For DateTimes the broker
 * computes from the client's (aggregation periods), so that "...:00Z" in gives "...:00Z" out. */
void pl_time_format_like(int64_t ms, const char *sample, char *buf);

/* Parse an NGSI-LD DateTime. Accepts "YYYY-MM-DDTHH:MM:SS[.fraction]Z" (or ",fraction": 4.6.3
 * allows a comma in requests) only (UTC; clause 4.6.3),
 * with a valid calendar date and time. Returns 0 and sets *ms, or -1 when malformed. */
int pl_time_parse(const char *s, int64_t *ms);

#endif
