/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: the HTTP header parsers of http/negotiate.c (Accept, Content-Type, Link).
 * Invariants: never crash, the Accept choice is one of the defined values, a found context URL
 * is non-empty, fits the buffer and has no whitespace.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/negotiate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    for (int geo = 0; geo < 2; geo++) {
        enum pl_mime m = pl_negotiate_accept(s, geo);
        if (!(m == PL_MIME_NONE || m == PL_MIME_JSON || m == PL_MIME_LDJSON ||
              (geo && m == PL_MIME_GEOJSON)))
            abort();
    }
    (void)pl_negotiate_content_type(s);
    char buf[128];
    int rc = pl_negotiate_context_link(s, buf, sizeof buf);
    if (rc == 1) {
        size_t n = strlen(buf);
        if (n == 0 || n >= sizeof buf)
            abort();
        for (size_t i = 0; i < n; i++) {
            if (isspace((unsigned char)buf[i]))
                abort();
        }
    } else if (rc != 0 && rc != -1) {
        abort();
    }
    char ver[16];
    if (pl_negotiate_prefer_version(s, ver, sizeof ver) == 1 && !strchr(ver, '.'))
        abort();
    free(s);
    return 0;
}
