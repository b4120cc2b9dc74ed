/* SPDX-License-Identifier: Apache-2.0 */
/* credparse.c — the pure parsers of credential text (credparse.h). */
#include "auth/credparse.h"

#include <string.h>
#include <strings.h>

static int is_token68(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
}

enum pl_authz_hdr pl_auth_header_parse(const char *hdr, const char **tok, size_t *len)
{
    *tok = NULL;
    *len = 0;
    if (!hdr)
        return PL_AUTHZ_NONE;
    while (*hdr == ' ' || *hdr == '\t')
        hdr++;
    if (!*hdr)
        return PL_AUTHZ_NONE;
    size_t scheme = 0;
    while (hdr[scheme] && hdr[scheme] != ' ' && hdr[scheme] != '\t')
        scheme++;
    if (scheme != 6 || strncasecmp(hdr, "Bearer", 6) != 0)
        return PL_AUTHZ_OTHER;
    const char *p = hdr + 6;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t n = 0;
    while (is_token68((unsigned char)p[n]))
        n++;
    size_t eq = n;
    while (p[eq] == '=')
        eq++;
    size_t end = eq;
    while (p[end] == ' ' || p[end] == '\t')
        end++;
    if (n == 0 || p[end] != '\0' || eq > PL_AUTH_TOKEN_MAX)
        return PL_AUTHZ_MALFORMED;
    *tok = p;
    *len = eq;
    return PL_AUTHZ_BEARER;
}

static int is_lower_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static int is_b64url(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

int pl_apikey_looks_like(const char *s, size_t len)
{
    return len >= 4 && memcmp(s, PL_APIKEY_PREFIX, 4) == 0;
}

int pl_opaque_token_parse(const char *prefix, const char *s, size_t len, char *id)
{
    if (strlen(prefix) != 4 || len != PL_APIKEY_LEN || memcmp(s, prefix, 4) != 0 ||
        s[4 + PL_APIKEY_ID_LEN] != '_')
        return -1;
    for (size_t i = 0; i < PL_APIKEY_ID_LEN; i++) {
        if (!is_lower_hex((unsigned char)s[4 + i]))
            return -1;
    }
    for (size_t i = 4 + PL_APIKEY_ID_LEN + 1; i < len; i++) {
        if (!is_b64url((unsigned char)s[i]))
            return -1;
    }
    /* 43 base64url characters carry 258 bits: the last one holds 2 bits of padding, which a
     * canonical encoding leaves zero (so each key has exactly one text). */
    const char *b64 = "AEIMQUYcgkosw048";
    if (!strchr(b64, s[len - 1]))
        return -1;
    memcpy(id, s + 4, PL_APIKEY_ID_LEN);
    id[PL_APIKEY_ID_LEN] = '\0';
    return 0;
}

int pl_apikey_parse(const char *s, size_t len, char *id)
{
    return pl_opaque_token_parse(PL_APIKEY_PREFIX, s, len, id);
}

int pl_apikey_id_valid(const char *id)
{
    if (!id || strlen(id) != PL_APIKEY_ID_LEN)
        return 0;
    for (size_t i = 0; i < PL_APIKEY_ID_LEN; i++) {
        if (!is_lower_hex((unsigned char)id[i]))
            return 0;
    }
    return 1;
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes [s, s+n) into out; the decoded length or -2. */
static long form_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            int a = i + 1 < n ? hexval((unsigned char)s[i + 1]) : -1;
            int b = i + 2 < n ? hexval((unsigned char)s[i + 2]) : -1;
            if (a < 0 || b < 0)
                return -2;
            c = (unsigned char)(a * 16 + b);
            i += 2;
        }
        if (c == '\0' || o + 1 >= cap)
            return -2;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return (long)o;
}

long pl_form_get(const char *body, size_t len, const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);
    long found = -1;
    size_t i = 0;
    if (cap == 0)
        return -2;
    while (i <= len && body) {
        size_t j = i;
        while (j < len && body[j] != '&')
            j++;
        size_t eq = i;
        while (eq < j && body[eq] != '=')
            eq++;
        if (eq - i == nl && memcmp(body + i, name, nl) == 0) {
            if (found != -1)
                return -2; /* repeated */
            size_t vs = eq < j ? eq + 1 : j;
            found = form_decode(body + vs, j - vs, out, cap);
            if (found < 0)
                return -2;
        }
        i = j + 1;
    }
    return found;
}

int pl_cookie_get(const char *hdr, const char *name, const char **val, size_t *len)
{
    size_t nl = strlen(name);
    int found = 0;
    const char *p = hdr;
    while (p && *p) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        const char *start = p;
        while (*p && *p != ';')
            p++;
        const char *eq = memchr(start, '=', (size_t)(p - start));
        if (eq && (size_t)(eq - start) == nl && memcmp(start, name, nl) == 0) {
            if (found)
                return -1;
            found = 1;
            const char *v = eq + 1, *e = p;
            while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
                e--;
            *val = v;
            *len = (size_t)(e - v);
        }
    }
    return found ? 0 : -1;
}
