/* SPDX-License-Identifier: Apache-2.0 */
/* redact.c — URIs without their credentials (redact.h). */
#include "base/redact.h"

#include <stdio.h>
#include <string.h>

/* The userinfo of `uri`: [*from, *at) where *at is the '@' ending it; 0 when there is none.
 * RFC 3986: the authority follows "//" and ends at the first '/', '?' or '#'; its userinfo is
 * what precedes its LAST '@' (an unencoded '@' in a password is common enough). */
static int userinfo_span(const char *uri, size_t *from, size_t *at)
{
    const char *s = strstr(uri, "://");
    if (!s)
        return 0;
    size_t a = (size_t)(s - uri) + 3;
    size_t end = a + strcspn(uri + a, "/?#");
    size_t last = 0;
    int found = 0;
    for (size_t i = a; i < end; i++) {
        if (uri[i] == '@') {
            last = i;
            found = 1;
        }
    }
    if (!found)
        return 0;
    *from = a;
    *at = last;
    return 1;
}

int pl_uri_has_userinfo(const char *uri)
{
    size_t f, a;
    return uri && userinfo_span(uri, &f, &a);
}

char *pl_uri_redact(const char *uri, char *buf, size_t cap)
{
    if (!cap)
        return buf;
    buf[0] = '\0';
    if (!uri)
        return buf;
    size_t from, at;
    if (!userinfo_span(uri, &from, &at)) {
        snprintf(buf, cap, "%s", uri);
        return buf;
    }
    const char *colon = memchr(uri + from, ':', at - from);
    size_t keep = colon ? (size_t)(colon - uri) + 1 : from; /* "scheme://user:" or "scheme://" */
    snprintf(buf, cap, "%.*s%s%s", (int)keep, uri, PL_REDACTED, uri + at);
    return buf;
}
