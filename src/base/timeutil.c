/* SPDX-License-Identifier: Apache-2.0 */
#include "base/timeutil.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int64_t pl_time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void pl_time_format(int64_t ms, char *buf)
{
    time_t sec = (time_t)(ms / 1000);
    int milli = (int)(ms % 1000);
    if (milli < 0) {
        milli += 1000;
        sec -= 1;
    }
    struct tm tm;
    gmtime_r(&sec, &tm);
    /* Formatted into a roomy buffer first: the compiler cannot prove the fields' widths. */
    char tmp[96];
    snprintf(tmp, sizeof tmp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, milli);
    size_t n = strlen(tmp);
    if (n >= PL_TIME_ISO_LEN)
        n = PL_TIME_ISO_LEN - 1;
    memcpy(buf, tmp, n);
    buf[n] = '\0';
}

void pl_time_format_like(int64_t ms, const char *sample, char *buf)
{
    pl_time_format(ms, buf);
    int sample_has_fraction =
        sample && strlen(sample) > 19 && (sample[19] == '.' || sample[19] == ',');
    if (!sample_has_fraction && ms % 1000 == 0) {
        char *dot = strchr(buf, '.');
        if (dot) {
            dot[0] = 'Z';
            dot[1] = '\0';
        }
    }
}

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int pl_time_parse(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, se;
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) < 20)
        return -1;
    if (digits(s, 4, &y) || s[4] != '-' || digits(s + 5, 2, &mo) || s[7] != '-' ||
        digits(s + 8, 2, &d) || s[10] != 'T' || digits(s + 11, 2, &h) || s[13] != ':' ||
        digits(s + 14, 2, &mi) || s[16] != ':' || digits(s + 17, 2, &se))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || se > 60)
        return -1;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (d > mdays[mo - 1] + (mo == 2 && leap))
        return -1;
    const char *p = s + 19;
    int frac = 0;
    if (*p == '.' || *p == ',') { /* 4.6.3: requests may use a comma as the decimal separator */
        p++;
        int n = 0;
        while (isdigit((unsigned char)*p)) {
            if (n < 3)
                frac = frac * 10 + (*p - '0');
            n++;
            p++;
        }
        if (n == 0 || n > 9)
            return -1;
        for (; n < 3; n++)
            frac *= 10;
    }
    if (p[0] != 'Z' || p[1] != '\0')
        return -1;
    int64_t days = days_from_civil(y, mo, d);
    *ms = ((days * 86400) + h * 3600 + mi * 60 + (se > 59 ? 59 : se)) * 1000 + frac;
    return 0;
}
