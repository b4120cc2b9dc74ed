/* SPDX-License-Identifier: Apache-2.0 */
#include "http/http.h"
#include "http/negotiate.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Compares the media type [s, s+n) (trimmed) with `name`, case-insensitively. */
static int type_is(const char *s, size_t n, const char *name)
{
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return strlen(name) == n && strncasecmp(s, name, n) == 0;
}

static enum pl_mime classify(const char *s, size_t n)
{
    if (type_is(s, n, "application/json"))
        return PL_MIME_JSON;
    if (type_is(s, n, "application/ld+json"))
        return PL_MIME_LDJSON;
    if (type_is(s, n, "application/geo+json"))
        return PL_MIME_GEOJSON;
    if (type_is(s, n, "application/merge-patch+json"))
        return PL_MIME_MERGE_PATCH;
    return PL_MIME_OTHER;
}

enum pl_mime pl_negotiate_content_type(const char *ct)
{
    if (!ct)
        return PL_MIME_NONE;
    size_t n = strcspn(ct, ";");
    return classify(ct, n);
}

/* Parses the q parameter of one media range's parameter list; default 1. */
static double parse_q(const char *params, size_t n)
{
    const char *p = params;
    const char *end = params + n;
    while (p < end) {
        p = skip_ws(p);
        if (end - p > 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            char tmp[16];
            size_t len = strcspn(p + 2, ";,");
            if (len >= sizeof tmp)
                len = sizeof tmp - 1;
            memcpy(tmp, p + 2, len);
            tmp[len] = '\0';
            char *e;
            double q = strtod(tmp, &e);
            if (e == tmp || q < 0 || q > 1)
                return 0;
            return q;
        }
        const char *semi = memchr(p, ';', (size_t)(end - p));
        if (!semi)
            break;
        p = semi + 1;
    }
    return 1;
}

enum pl_mime pl_negotiate_accept(const char *accept, int allow_geo)
{
    if (!accept || !*skip_ws(accept))
        return PL_MIME_JSON;
    /* Best q seen for each of our three types. */
    double best[3] = {-1, -1, -1};
    const char *p = accept;
    while (*p) {
        size_t len = strcspn(p, ",");
        size_t tlen = strcspn(p, ";,");
        double q = tlen < len ? parse_q(p + tlen + 1, len - tlen - 1) : 1;
        double *slots[3] = {NULL, NULL, NULL};
        if (type_is(p, tlen, "*/*") || type_is(p, tlen, "application/*")) {
            /* A wildcard expands to json and ld+json; geo+json only when asked by name. */
            slots[0] = &best[0];
            slots[1] = &best[1];
        } else {
            enum pl_mime m = classify(p, tlen);
            if (m == PL_MIME_JSON)
                slots[0] = &best[0];
            else if (m == PL_MIME_LDJSON)
                slots[1] = &best[1];
            else if (m == PL_MIME_GEOJSON && allow_geo)
                slots[2] = &best[2];
        }
        for (int i = 0; i < 3; i++) {
            if (slots[i] && q > *slots[i])
                *slots[i] = q;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    int pick = -1;
    for (int i = 0; i < 3; i++) {
        if (best[i] > 0 && (pick < 0 || best[i] > best[pick]))
            pick = i;
    }
    static const enum pl_mime out[3] = {PL_MIME_JSON, PL_MIME_LDJSON, PL_MIME_GEOJSON};
    return pick < 0 ? PL_MIME_NONE : out[pick];
}

int pl_negotiate_context_link(const char *link, char *buf, size_t n)
{
    if (!link)
        return 0;
    int found = 0;
    const char *p = link;
    while (*p) {
        p = skip_ws(p);
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p != '<')
            return -1;
        const char *close = strchr(p, '>');
        if (!close)
            return -1;
        const char *url = p + 1;
        size_t ulen = (size_t)(close - url);
        /* Parameters up to the next comma that is outside quotes. */
        const char *q = close + 1;
        int in_quotes = 0;
        const char *pend = q;
        while (*pend && (in_quotes || *pend != ',')) {
            if (*pend == '"')
                in_quotes = !in_quotes;
            pend++;
        }
        int is_ctx = 0;
        const char *rel = q;
        while ((rel = strstr(rel, "rel")) && rel < pend) {
            const char *v = skip_ws(rel + 3);
            rel += 3;
            if (*v != '=')
                continue;
            v = skip_ws(v + 1);
            /* The value: a quoted list of relation types separated by spaces, or one token. */
            int quoted = *v == '"';
            if (quoted)
                v++;
            const char *vend = v;
            while (vend < pend && (quoted ? *vend != '"' : (*vend != ';' && *vend != ',' &&
                                                            *vend != ' ' && *vend != '\t')))
                vend++;
            static const char want[] = "http://www.w3.org/ns/json-ld#context";
            const char *t = v;
            while (t < vend) {
                const char *tend = t;
                while (tend < vend && *tend != ' ')
                    tend++;
                if ((size_t)(tend - t) == sizeof want - 1 && memcmp(t, want, sizeof want - 1) == 0)
                    is_ctx = 1;
                t = tend < vend ? tend + 1 : tend;
            }
        }
        if (is_ctx) {
            /* JSON-LD 1.1 (and so NGSI-LD 6.3.5): more than one context link is an error. */
            if (found || ulen == 0 || ulen >= n)
                return -1;
            for (size_t i = 0; i < ulen; i++) {
                if (isspace((unsigned char)url[i]))
                    return -1;
            }
            memcpy(buf, url, ulen);
            buf[ulen] = '\0';
            found = 1;
        }
        p = pend;
    }
    return found;
}

/* 1 when [v, v+n) is <digits>.<digits>, the form 4.3.6.8 gives versions. */
static int is_version(const char *v, size_t n)
{
    size_t i = 0, major = 0, minor = 0;
    while (i < n && isdigit((unsigned char)v[i]) && major < 4) {
        i++;
        major++;
    }
    if (major == 0 || i >= n || v[i] != '.')
        return 0;
    i++;
    while (i < n && isdigit((unsigned char)v[i]) && minor < 4) {
        i++;
        minor++;
    }
    return minor > 0 && i == n;
}

int pl_negotiate_prefer_version(const char *prefer, char *buf, size_t n)
{
    if (!prefer)
        return 0;
    const char *p = prefer;
    while (*p) {
        p = skip_ws(p);
        /* One preference: up to the next comma outside quotes. */
        const char *end = p;
        int in_quotes = 0;
        while (*end && (in_quotes || *end != ',')) {
            if (*end == '"')
                in_quotes = !in_quotes;
            end++;
        }
        size_t tok = strcspn(p, "=;, \t");
        if (tok == 7 && strncasecmp(p, "ngsi-ld", 7) == 0 && p + tok < end) {
            const char *v = skip_ws(p + tok);
            if (*v == '=') {
                v = skip_ws(v + 1);
                int quoted = *v == '"';
                if (quoted)
                    v++;
                size_t vlen = quoted ? strcspn(v, "\"") : strcspn(v, ";, \t");
                if (v + vlen <= end && is_version(v, vlen) && vlen < n) {
                    memcpy(buf, v, vlen);
                    buf[vlen] = '\0';
                    return 1;
                }
            }
        }
        p = *end ? end + 1 : end;
    }
    return 0;
}

char *pl_http_encode_segment(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out = malloc(3 * n + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (isalnum(*p) || strchr("-._~!$&'()*+,;=:@", *p)) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}
