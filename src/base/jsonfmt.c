/* SPDX-License-Identifier: Apache-2.0 */
#include "base/jsonfmt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes the shortest "%.Ng" form of `d` that reads back as `d` into buf (>= 32 bytes).
 * %.15g already is the shortest form whenever that form has at most 15 significant digits
 * (%g drops trailing zeros), which covers nearly every measured value; 16 and 17 are the only
 * other candidates. So at most three tries, not seventeen. */
static size_t shortest(double d, char *buf)
{
    for (int prec = 15; prec <= 17; prec++) {
        int n = snprintf(buf, 32, "%.*g", prec, d);
        if (n > 0 && n < 32 && strtod(buf, NULL) == d)
            return (size_t)n;
    }
    return (size_t)snprintf(buf, 32, "%.17g", d);
}

static int is_num_char(char c)
{
    return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E';
}

size_t pl_json_shorten_reals(char *z)
{
    size_t r = 0, w = 0;
    int in_string = 0;
    while (z[r]) {
        char c = z[r];
        if (in_string) {
            z[w++] = z[r++];
            if (c == '\\' && z[r]) {
                z[w++] = z[r++];
            } else if (c == '"') {
                in_string = 0;
            }
            continue;
        }
        if (c == '"') {
            in_string = 1;
            z[w++] = z[r++];
            continue;
        }
        if (c == '-' || (c >= '0' && c <= '9')) {
            size_t start = r;
            int real = 0;
            while (z[r] && is_num_char(z[r])) {
                if (z[r] == '.' || z[r] == 'e' || z[r] == 'E')
                    real = 1;
                r++;
            }
            size_t len = r - start;
            char tmp[32];
            char *end = NULL;
            double d = 0;
            size_t n = 0;
            if (real && len < 64) {
                char num[64];
                memcpy(num, z + start, len);
                num[len] = '\0';
                d = strtod(num, &end);
                if (end == num + len) {
                    n = shortest(d, tmp);
                    /* Keep a real a real: "1.0" must not become the integer "1". */
                    if (!memchr(tmp, '.', n) && !memchr(tmp, 'e', n) && n + 2 < sizeof tmp) {
                        tmp[n++] = '.';
                        tmp[n++] = '0';
                    }
                }
            }
            if (n > 0 && n <= len) {
                memcpy(z + w, tmp, n);
                w += n;
            } else {
                memmove(z + w, z + start, len);
                w += len;
            }
            continue;
        }
        z[w++] = z[r++];
    }
    z[w] = '\0';
    return w;
}
