/* SPDX-License-Identifier: Apache-2.0 */
/*
 * entity_parse.c — NGSI-LD entity payloads to the internal form (see entity.h).
 *
 * First step of every entity write: the api layer hands over the compacted request body (its
 * "@context" removed and compiled into a struct pl_ctx); this file checks the shape against the
 * clauses of 4.5 (normalized and concise forms of the eight attribute kinds), 4.6.2 (names),
 * 4.6.3 (DateTime) and 5.4 (NGSI-LD Null in fragments), expands every name with the context and
 * produces the internal form the store keeps. It never looks at stored data: update semantics are
 * in entity_update.c, output in entity_render.c.
 */
#include <ctype.h>
#include <locale.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "base/hmap.h"
#include "base/timeutil.h"
#include "ngsild/entity.h"
#include "ngsild/entity_int.h"

/* ============================================================================================
 * Kinds
 * ========================================================================================== */

static const char *const kind_names[PL_KIND__COUNT] = {
    "Property",      "Relationship", "GeoProperty",  "LanguageProperty",
    "VocabProperty", "JsonProperty", "ListProperty", "ListRelationship"};
static const char *const kind_payloads[PL_KIND__COUNT] = {
    "value", "object", "value", "languageMap", "vocab", "json", "valueList", "objectList"};

const char *pl_entity__kind_name(int kind)
{
    return (kind >= 0 && kind < PL_KIND__COUNT) ? kind_names[kind] : NULL;
}

const char *pl_entity__kind_payload(int kind)
{
    return (kind >= 0 && kind < PL_KIND__COUNT) ? kind_payloads[kind] : NULL;
}

int pl_entity__kind_of(const char *type)
{
    if (!type)
        return PL_KIND_NONE;
    for (int i = 0; i < PL_KIND__COUNT; i++) {
        if (strcmp(type, kind_names[i]) == 0)
            return i;
    }
    return PL_KIND_NONE;
}

int pl_entity__instance_kind(const json_t *inst)
{
    return pl_entity__kind_of(json_string_value(json_object_get(inst, "type")));
}

int pl_entity__is_core_geo(const char *iri)
{
    return iri && (strcmp(iri, PL_ENTITY__LOCATION_IRI) == 0 ||
                   strcmp(iri, PL_ENTITY__OBSSPACE_IRI) == 0 ||
                   strcmp(iri, PL_ENTITY__OPSPACE_IRI) == 0);
}

int pl_entity__is_null_marker(const json_t *inst)
{
    const char *p = pl_entity__kind_payload(pl_entity__instance_kind(inst));
    const char *s = p ? json_string_value(json_object_get(inst, p)) : NULL;
    return s && strcmp(s, PL_ENTITY__NULL) == 0;
}

const char *pl_entity__dataset_id(const json_t *inst)
{
    return json_string_value(json_object_get(inst, "datasetId"));
}

long pl_entity__find_instance(const json_t *insts, const char *dsid)
{
    for (size_t i = 0; i < json_array_size(insts); i++) {
        const char *d = pl_entity__dataset_id(json_array_get(insts, i));
        if ((!d && !dsid) || (d && dsid && strcmp(d, dsid) == 0))
            return (long)i;
    }
    return -1;
}

/* ============================================================================================
 * Lexical checks
 * ========================================================================================== */

int pl_is_uri(const char *s)
{
    if (!s)
        return 0;
    /* RFC 3986 3.1: scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
    const unsigned char *p = (const unsigned char *)s;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
        return 0;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '+' || *p == '-' || *p == '.')
        p++;
    if (*p != ':' || p[1] == '\0')
        return 0;
    for (p++; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f || strchr("<>\"{}|\\^`", *p))
            return 0;
        /* RFC 3986 2.1: pct-encoded = "%" HEXDIG HEXDIG; a lone or malformed '%' is no URI */
        if (*p == '%' && !(isxdigit(p[1]) && isxdigit(p[2])))
            return 0;
    }
    return 1;
}

/* The C.UTF-8 locale, for the Unicode categories of 4.6.2 (glibc classifies every Unicode
 * letter and number there); created once, (locale_t)0 when the C library lacks it. */
static locale_t utf8_locale;
static pthread_once_t utf8_once = PTHREAD_ONCE_INIT;

static void utf8_locale_init(void)
{
    utf8_locale = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

/* Decodes one UTF-8 character at *p (advancing it); -1 when malformed. jansson has already
 * checked the JSON text, but names also come from URLs. */
static long utf8_next(const unsigned char **p)
{
    const unsigned char *s = *p;
    long c;
    int n;
    if (s[0] < 0x80)
        c = s[0], n = 0;
    else if ((s[0] & 0xe0) == 0xc0)
        c = s[0] & 0x1f, n = 1;
    else if ((s[0] & 0xf0) == 0xe0)
        c = s[0] & 0x0f, n = 2;
    else if ((s[0] & 0xf8) == 0xf0)
        c = s[0] & 0x07, n = 3;
    else
        return -1;
    for (int i = 1; i <= n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return -1;
        c = (c << 6) | (s[i] & 0x3f);
    }
    *p = s + n + 1;
    return c;
}

/* unicodeLetter (\p{L}) and unicodeNumber (\p{N}) of 4.6.2. Without a UTF-8 locale every
 * non-ASCII character counts as a letter (lenient rather than refusing valid names). */
static int is_letter(long c)
{
    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    pthread_once(&utf8_once, utf8_locale_init);
    return utf8_locale ? iswalpha_l((wint_t)c, utf8_locale) : 1;
}

static int is_number(long c)
{
    if (c < 0x80)
        return c >= '0' && c <= '9';
    pthread_once(&utf8_once, utf8_locale_init);
    return utf8_locale && iswalnum_l((wint_t)c, utf8_locale) && !iswalpha_l((wint_t)c, utf8_locale);
}

/* unicodeLetter *(unicodeLetter / unicodeNumber / "_") up to `stop` or the end: a 4.6.2 name
 * part (stop ':') or a 4.18 ScopeLevel (stop '/'). Returns the byte length consumed, 0 when the
 * text there is not one. */
static size_t letters_part(const char *s, char stop)
{
    const unsigned char *p = (const unsigned char *)s;
    long c = utf8_next(&p);
    if (c < 0 || !is_letter(c))
        return 0;
    while (*p && *p != (unsigned char)stop) {
        c = utf8_next(&p);
        if (c < 0 || !(is_letter(c) || is_number(c) || c == '_'))
            return 0;
    }
    return (size_t)((const char *)p - s);
}

/* 4.6.2 name = unicodeLetter *nameChar, nameChar = letter / number / "_"; and prefix:name. */
static size_t name_part(const char *s)
{
    return letters_part(s, ':');
}

/* 4.18: Scope = [/] ScopeLevel *(/ ScopeLevel); the leading "/" is optional ("Madrid" and
 * "/Madrid" are both valid scopes; the 4.19 matcher ignores empty levels, so both match
 * "/Madrid"). No empty level, no trailing "/". */
int pl_is_valid_scope(const char *s)
{
    if (!s)
        return 0;
    if (*s == '/')
        s++;
    for (;;) {
        size_t n = letters_part(s, '/');
        if (!n)
            return 0;
        s += n;
        if (!*s)
            return 1;
        s++; /* the '/' between two levels */
    }
}

int pl_is_valid_name(const char *s)
{
    if (!s || !*s)
        return 0;
    size_t n = name_part(s);
    if (n && (s[n] == '\0' || (s[n] == ':' && name_part(s + n + 1) == strlen(s + n + 1))))
        return 1;
    /* Expanded names: an absolute IRI (http://example.org/speed, urn:...) names a type or an
     * attribute as well. */
    return pl_is_uri(s);
}

int pl_is_reserved_attr_name(const char *s)
{
    /* Members of an entity (4.5.1), system members (4.8) and the metadata members of an
     * attribute (4.5.2-4.5.24), and every JSON-LD keyword: an attribute with one of these names
     * could not be told from the member. The payload members (value, object, languageMap, ...)
     * stay usable: Smart Data Models has a "value" attribute (Device), and they expand alike. */
    static const char *const reserved[] = {"id",         "type",       "scope",     "createdAt",
                                           "modifiedAt", "deletedAt",  "observedAt", "datasetId",
                                           "instanceId", "unitCode",   "objectType", NULL};
    if (!s || s[0] == '@')
        return 1;
    for (int i = 0; reserved[i]; i++)
        if (strcmp(s, reserved[i]) == 0)
            return 1;
    return 0;
}

/* ============================================================================================
 * Parser state and helpers
 * ========================================================================================== */

struct pstate {
    const struct pl_ctx *ctx;     /* borrowed; expands names */
    unsigned flags;               /* PL_PARSE_* */
    const struct pl_limits *lim;  /* borrowed */
    struct pl_err *err;           /* OUT */
    int n_attrs;                  /* instances counted so far, sub-attributes included */
};

static int bad(struct pstate *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Records a BadRequestData with a printf-style detail; returns PL_EBADREQUESTDATA. */
static int bad(struct pstate *ps, const char *fmt, ...)
{
    char buf[PL_ERR_DETAIL_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return pl_err_set(ps->err, PL_EBADREQUESTDATA, "%s", buf);
}

/* Counts one more attribute instance (top-level or sub-attribute, at any nesting level) against
 * lim->max_attrs; called BEFORE the instance is parsed, so a huge payload fails at once. */
static int count_instance(struct pstate *ps)
{
    if (++ps->n_attrs > ps->lim->max_attrs)
        return bad(ps, "too many attributes: more than %d attribute instances, sub-attributes "
                   "included (limit max_attrs)", ps->lim->max_attrs);
    return 0;
}

/* Depth of the JSON tree; stops counting past `limit`. */
static int json_depth(const json_t *v, int limit)
{
    if (limit < 0)
        return 1;
    int max = 0;
    if (json_is_object(v)) {
        const char *k;
        json_t *c;
        json_object_foreach ((json_t *)v, k, c) {
            int d = json_depth(c, limit - 1);
            if (d > max)
                max = d;
            if (max > limit)
                break;
        }
        return 1 + max;
    }
    if (json_is_array(v)) {
        size_t i;
        json_t *c;
        json_array_foreach (v, i, c) {
            int d = json_depth(c, limit - 1);
            if (d > max)
                max = d;
            if (max > limit)
                break;
        }
        return 1 + max;
    }
    return 0;
}

static int is_ngsild_null(const json_t *v)
{
    const char *s = json_string_value(v);
    return json_is_null(v) || (s && strcmp(s, PL_ENTITY__NULL) == 0);
}

/* Validates `name` (4.6.2) and expands it with the context into *iri (malloc'd). */
static int expand_name(struct pstate *ps, const char *name, const char *what, char **iri)
{
    *iri = NULL;
    if (!pl_is_valid_name(name) || name[0] == '@')
        return bad(ps, "invalid %s name '%s' (NGSI-LD 4.6.2)", what, name);
    char *x = pl_ctx_expand(ps->ctx, name);
    if (!x)
        return bad(ps, "%s name '%s' cannot be expanded with the @context", what, name);
    if (strlen(x) > ps->lim->max_id_len) {
        free(x);
        return bad(ps, "%s name '%s' is too long", what, name);
    }
    *iri = x;
    return 0;
}

int pl_entity__union_strings(json_t *dst, const json_t *src)
{
    size_t nd = json_array_size(dst), ns = json_array_size(src);
    if (nd + ns <= 16) { /* a few names: a linear search beats building a table */
        for (size_t i = 0; i < ns; i++) {
            json_t *t = json_array_get(src, i);
            const char *z = json_string_value(t);
            int dup = !z;
            for (size_t j = 0; !dup && j < json_array_size(dst); j++) {
                const char *y = json_string_value(json_array_get(dst, j));
                dup = y && strcmp(y, z) == 0;
            }
            if (!dup && json_array_append(dst, t) != 0)
                return PL_ENOMEM;
        }
        return 0;
    }
    struct pl_hmap *h = pl_hmap_new(NULL);
    if (!h)
        return PL_ENOMEM;
    int rc = 0;
    for (size_t j = 0; rc == 0 && j < nd; j++) {
        const char *y = json_string_value(json_array_get(dst, j));
        if (y)
            rc = pl_hmap_put(h, y, NULL);
    }
    for (size_t i = 0; rc == 0 && i < ns; i++) {
        json_t *t = json_array_get(src, i);
        const char *z = json_string_value(t);
        int found = 0;
        if (!z)
            continue;
        pl_hmap_get(h, z, &found);
        if (found)
            continue;
        rc = pl_hmap_put(h, z, NULL);
        if (rc == 0 && json_array_append(dst, t) != 0)
            rc = PL_ENOMEM;
    }
    pl_hmap_free(h);
    return rc;
}

/*
 * Expands a type name (or an array of them) and appends them to the array `dst`, skipping
 * duplicates (first-seen order kept, O(n) expected). `cap` > 0 bounds the number of names given
 * (checked before any work, so a huge array is refused at once); 0 means no cap.
 */
static int expand_types(struct pstate *ps, const json_t *t, const char *what, int cap,
                        json_t *dst)
{
    if (json_is_array(t) && json_array_size(t) == 0)
        return bad(ps, "%s must not be an empty array", what);
    size_t n = json_is_array(t) ? json_array_size(t) : 1;
    if (cap > 0 && n > (size_t)cap)
        return bad(ps, "too many types (%zu > %d)", n, cap);
    json_t *all = json_array();
    if (!all)
        return pl_err_set(ps->err, PL_ENOMEM, "out of memory");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const json_t *e = json_is_array(t) ? json_array_get(t, i) : t;
        if (!json_is_string(e)) {
            rc = bad(ps, "%s must be a string or an array of strings", what);
            break;
        }
        char *iri;
        if ((rc = expand_name(ps, json_string_value(e), what, &iri)) != 0)
            break;
        if (json_array_append_new(all, json_string(iri)) != 0)
            rc = pl_err_set(ps->err, PL_ENOMEM, "out of memory");
        free(iri);
    }
    if (rc == 0 && pl_entity__union_strings(dst, all) != 0)
        rc = pl_err_set(ps->err, PL_ENOMEM, "out of memory");
    json_decref(all);
    return rc;
}

static int check_uri(struct pstate *ps, const json_t *v, const char *what)
{
    const char *s = json_string_value(v);
    if (!s || !pl_is_uri(s))
        return bad(ps, "%s must be an absolute URI", what);
    if (strlen(s) > ps->lim->max_id_len)
        return bad(ps, "%s is too long", what);
    return 0;
}

/* ISO 8601 Date (YYYY-MM-DD) and Time (hh:mm:ss[.f]Z) through the DateTime parser. */
static int check_typed_time(const char *type, const char *s)
{
    char buf[96];
    int64_t ms;
    if (strlen(s) > 64)
        return -1;
    if (strcmp(type, "DateTime") == 0)
        return pl_time_parse(s, &ms);
    if (strcmp(type, "Date") == 0) {
        if (strlen(s) != 10)
            return -1;
        snprintf(buf, sizeof buf, "%sT00:00:00Z", s);
        return pl_time_parse(buf, &ms);
    }
    snprintf(buf, sizeof buf, "1970-01-01T%s", s);
    return pl_time_parse(buf, &ms);
}

/* 1 when a member of the object `v`, or of an object nested in it, is the NGSI-LD Null. */
static int holds_null_member(const json_t *v, int depth)
{
    const char *k;
    json_t *m;
    if (depth > 64)
        return 0;
    json_object_foreach ((json_t *)v, k, m) {
        const char *z = json_string_value(m);
        if ((z && strcmp(z, PL_ENTITY__NULL) == 0) ||
            (json_is_object(m) && holds_null_member(m, depth + 1)))
            return 1;
    }
    return 0;
}

/* A Property value (4.5.2): any JSON but null; typed DateTime/Date/Time literals validated. */
static int check_value(struct pstate *ps, const char *aname, const json_t *v)
{
    if (json_is_null(v))
        return bad(ps, "attribute '%s': a Property value must not be null", aname);
    /* 5.5.4: "urn:ngsi-ld:null" as a key-value pair inside a Property value, outside merge
     * fragments, is BadRequestData. */
    if (json_is_object(v) && !(ps->flags & PL_PARSE_MERGE) && holds_null_member(v, 0))
        return bad(ps, "attribute '%s': the NGSI-LD Null inside a value is only allowed in "
                   "merge fragments (5.5.4)", aname);
    if (json_is_object(v) && json_object_get(v, "@type")) {
        const char *t = json_string_value(json_object_get(v, "@type"));
        const json_t *val = json_object_get(v, "@value");
        if (t && (!strcmp(t, "DateTime") || !strcmp(t, "Date") || !strcmp(t, "Time") ||
                  !strcmp(t, "https://uri.etsi.org/ngsi-ld/DateTime"))) {
            const char *tt = strrchr(t, '/') ? strrchr(t, '/') + 1 : t;
            if (!json_is_string(val) || check_typed_time(tt, json_string_value(val)) != 0)
                return bad(ps, "attribute '%s': invalid %s literal (NGSI-LD 4.6.3)", aname, tt);
        }
    }
    return 0;
}

/* ============================================================================================
 * Payloads by kind
 * ========================================================================================== */

/* RFC 5646 shape, loosely: alphanumeric subtags of 1..8 separated by '-', first alphabetic. */
static int is_lang_tag(const char *s)
{
    if (strcmp(s, "@none") == 0)
        return 1;
    size_t run = 0;
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
        return 0;
    for (const char *p = s; *p; p++) {
        if (*p == '-') {
            if (run == 0)
                return 0;
            run = 0;
        } else if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                   (*p >= '0' && *p <= '9')) {
            if (++run > 8)
                return 0;
        } else {
            return 0;
        }
    }
    return run > 0;
}

static int is_string_array(const json_t *a, int allow_empty)
{
    if (!json_is_array(a) || (!allow_empty && json_array_size(a) == 0))
        return 0;
    for (size_t i = 0; i < json_array_size(a); i++) {
        if (!json_is_string(json_array_get(a, i)))
            return 0;
    }
    return 1;
}

/* Validates the payload `v` of kind `kind` and returns the stored form in *out (new ref). */
static int parse_payload(struct pstate *ps, const char *aname, const char *airi, int kind,
                         const json_t *v, json_t **out)
{
    int rc;
    *out = NULL;
    /* NGSI-LD 5.4, 5.5.4: the Null of each kind is "urn:ngsi-ld:null" as its payload, or
     * {"@none": "urn:ngsi-ld:null"} as a languageMap. In an update or merge fragment it marks a
     * deletion (stored as the string, whatever the kind); anywhere else it is BadRequestData. */
    int null_map = kind == PL_KIND_LANGUAGEPROPERTY && json_is_object(v) &&
                   json_object_size(v) == 1 &&
                   is_ngsild_null(json_object_get(v, "@none"));
    if ((ps->flags & PL_PARSE_ALLOW_NULL) && (is_ngsild_null(v) || null_map)) {
        *out = json_string(PL_ENTITY__NULL);
        return 0;
    }
    const char *z = json_string_value(v);
    if (null_map || (z && strcmp(z, PL_ENTITY__NULL) == 0))
        return bad(ps, "attribute '%s': the NGSI-LD Null is only allowed in update and merge "
                   "fragments (5.5.4)", aname);
    switch (kind) {
    case PL_KIND_PROPERTY: /* NGSI-LD 4.5.2 */
        if ((rc = check_value(ps, aname, v)) != 0)
            return rc;
        *out = json_deep_copy(v);
        return 0;
    case PL_KIND_GEOPROPERTY: /* NGSI-LD 4.7.1 */
        if ((rc = pl_geojson_validate(v, ps->err)) != 0) {
            char d[PL_ERR_DETAIL_MAX];
            snprintf(d, sizeof d, "%s", ps->err ? ps->err->detail : "");
            return bad(ps, "attribute '%s': %s", aname, d);
        }
        *out = json_deep_copy(v);
        return 0;
    case PL_KIND_RELATIONSHIP: /* NGSI-LD 4.5.3.2: object is a URI or an array of URIs */
        if (json_is_array(v)) {
            if (json_array_size(v) == 0)
                return bad(ps, "attribute '%s': Relationship object must not be empty", aname);
            for (size_t i = 0; i < json_array_size(v); i++) {
                if ((rc = check_uri(ps, json_array_get(v, i), "Relationship object")) != 0)
                    return rc;
            }
        } else if ((rc = check_uri(ps, v, "Relationship object")) != 0) {
            return rc;
        }
        *out = json_deep_copy(v);
        return 0;
    case PL_KIND_LANGUAGEPROPERTY: { /* NGSI-LD 4.5.18 */
        if (!json_is_object(v) || json_object_size(v) == 0)
            return bad(ps, "attribute '%s': languageMap must be a non-empty object", aname);
        const char *k;
        json_t *s;
        json_object_foreach ((json_t *)v, k, s) {
            if (!is_lang_tag(k))
                return bad(ps, "attribute '%s': invalid language tag '%s'", aname, k);
            if (!json_is_string(s) && !is_string_array(s, 0))
                return bad(ps, "attribute '%s': languageMap entry '%s' must be a string or an "
                           "array of strings", aname, k);
        }
        *out = json_deep_copy(v);
        return 0;
    }
    case PL_KIND_VOCABPROPERTY: { /* NGSI-LD 4.5.20: vocab values are expanded like types */
        json_t *a = json_array();
        if ((rc = expand_types(ps, v, "vocab", 0, a)) != 0) {
            json_decref(a);
            return rc;
        }
        if (json_is_string(v)) {
            *out = json_incref(json_array_get(a, 0));
            json_decref(a);
        } else {
            *out = a;
        }
        return 0;
    }
    case PL_KIND_JSONPROPERTY: /* NGSI-LD 4.5.24 */
        if (json_is_null(v))
            return bad(ps, "attribute '%s': json must not be null", aname);
        *out = json_deep_copy(v);
        return 0;
    case PL_KIND_LISTPROPERTY: /* NGSI-LD 4.5.21 */
        if (!json_is_array(v))
            return bad(ps, "attribute '%s': valueList must be an array", aname);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (json_is_null(json_array_get(v, i)))
                return bad(ps, "attribute '%s': valueList must not hold null", aname);
        }
        *out = json_deep_copy(v);
        return 0;
    default: { /* PL_KIND_LISTRELATIONSHIP, NGSI-LD 4.5.22: URIs or {"object": URI} */
        if (!json_is_array(v))
            return bad(ps, "attribute '%s': objectList must be an array", aname);
        json_t *a = json_array();
        for (size_t i = 0; i < json_array_size(v); i++) {
            const json_t *e = json_array_get(v, i);
            if (json_is_object(e))
                e = json_object_get(e, "object");
            if ((rc = check_uri(ps, e, "objectList member")) != 0) {
                json_decref(a);
                return rc;
            }
            json_array_append_new(a, json_string(json_string_value(e)));
        }
        *out = a;
        (void)airi;
        return 0;
    }
    }
}

/* ============================================================================================
 * Instances
 * ========================================================================================== */

static int payload_kind_of_key(const char *k)
{
    for (int i = 0; i < PL_KIND__COUNT; i++) {
        if (i != PL_KIND_GEOPROPERTY && strcmp(k, kind_payloads[i]) == 0)
            return i;
    }
    return PL_KIND_NONE;
}

static int parse_instance(struct pstate *ps, const char *aname, const char *airi, const json_t *v,
                          json_t **out);

/* Members of an instance object other than its type and payload. */
static int parse_members(struct pstate *ps, const char *aname, int kind, const json_t *v,
                         json_t *inst)
{
    const char *k;
    json_t *m;
    int rc;
    json_t *sub = NULL;
    const char *pk = pl_entity__kind_payload(kind);
    json_object_foreach ((json_t *)v, k, m) {
        if (!strcmp(k, "type") || !strcmp(k, "createdAt") || !strcmp(k, "modifiedAt") ||
            !strcmp(k, "deletedAt") || !strcmp(k, "instanceId"))
            continue; /* type handled by the caller; system members are ignored */
        if (pk && strcmp(k, pk) == 0) {
            json_t *p;
            if ((rc = parse_payload(ps, aname, NULL, kind, m, &p)) != 0)
                goto fail;
            json_object_set_new(inst, k, p);
        } else if (!strcmp(k, "expiresAt")) { /* 4.22: a system DateTime, not a sub-Property */
            int64_t ms;
            if (!json_is_string(m) || pl_time_parse(json_string_value(m), &ms) != 0) {
                rc = bad(ps, "attribute '%s': expiresAt must be a UTC DateTime (4.22)", aname);
                goto fail;
            }
            json_object_set(inst, k, m);
        } else if (!strcmp(k, "observedAt")) { /* NGSI-LD 4.6.3 */
            int64_t ms;
            if (!json_is_string(m) || pl_time_parse(json_string_value(m), &ms) != 0) {
                rc = bad(ps, "attribute '%s': observedAt must be a UTC DateTime (4.6.3)", aname);
                goto fail;
            }
            json_object_set(inst, k, m);
        } else if (!strcmp(k, "unitCode")) {
            if (!json_is_string(m) || json_string_length(m) == 0) {
                rc = bad(ps, "attribute '%s': unitCode must be a non-empty string", aname);
                goto fail;
            }
            json_object_set(inst, k, m);
        } else if (!strcmp(k, "datasetId")) { /* NGSI-LD 4.5.5 */
            if ((rc = check_uri(ps, m, "datasetId")) != 0)
                goto fail;
            json_object_set(inst, k, m);
        } else if (!strcmp(k, "objectType")) { /* NGSI-LD 4.5.3.2 */
            if (kind != PL_KIND_RELATIONSHIP && kind != PL_KIND_LISTRELATIONSHIP) {
                rc = bad(ps, "attribute '%s': objectType is only allowed on relationships", aname);
                goto fail;
            }
            json_t *a = json_array();
            if ((rc = expand_types(ps, m, "objectType", 0, a)) != 0) {
                json_decref(a);
                goto fail;
            }
            json_object_set_new(inst, k, json_is_string(m) ? json_incref(json_array_get(a, 0))
                                                          : json_incref(a));
            json_decref(a);
        } else if (payload_kind_of_key(k) != PL_KIND_NONE || !strcmp(k, "@context") ||
                   !strcmp(k, "id")) {
            rc = pl_err_set(ps->err, PL_EBADREQUESTDATA,
                            "attribute '%s': member '%s' is not allowed in a %s", aname, k,
                            kind >= 0 ? kind_names[kind] : "partial attribute");
            goto fail;
        } else { /* a sub-attribute (property of a property), NGSI-LD 4.5.2 */
            char *iri;
            json_t *si;
            if ((rc = count_instance(ps)) != 0)
                goto fail;
            if ((rc = expand_name(ps, k, "sub-attribute", &iri)) != 0)
                goto fail;
            if (!sub)
                sub = json_object();
            if (json_object_get(sub, iri)) {
                rc = bad(ps, "sub-attribute '%s' given twice", k);
                free(iri);
                goto fail;
            }
            rc = parse_instance(ps, k, iri, m, &si);
            if (rc) {
                free(iri);
                goto fail;
            }
            json_object_set_new(sub, iri, si);
            free(iri);
        }
    }
    if (pk && !json_object_get(inst, pk) && !(ps->flags & PL_PARSE_PARTIAL)) {
        rc = pl_err_set(ps->err, PL_EBADREQUESTDATA, "attribute '%s': a %s requires '%s' (4.5)",
                        aname, kind_names[kind], pk);
        goto fail;
    }
    if (sub)
        json_object_set_new(inst, "sub", sub);
    return 0;
fail:
    json_decref(sub);
    return rc;
}

static int bare_value(struct pstate *ps, const char *aname, const json_t *v, json_t **out)
{
    json_t *p;
    int rc = parse_payload(ps, aname, NULL, PL_KIND_PROPERTY, v, &p);
    if (rc)
        return rc;
    *out = json_pack("{s:s, s:o}", "type", "Property", "value", p);
    if (*out && (ps->flags & PL_PARSE_MERGE)) /* 5.6.17.4: merged, it keeps the stored kind */
        json_object_set_new(*out, "@bare", json_true());
    return 0;
}

/* An attribute of a simplified fragment (PL_PARSE_SIMPLIFIED, 4.5.4): its value as a Property,
 * or as a GeoProperty for the core geo names (4.7), appended to `insts`. */
static int parse_simplified_attr(struct pstate *ps, const char *aname, const char *airi,
                                 const json_t *v, json_t *insts)
{
    int rc = count_instance(ps);
    if (rc)
        return rc;
    json_t *inst;
    if (pl_entity__is_core_geo(airi) && pl_entity__looks_geometry(v)) {
        json_t *p;
        if ((rc = parse_payload(ps, aname, airi, PL_KIND_GEOPROPERTY, v, &p)) != 0)
            return rc;
        inst = json_pack("{s:s, s:o, s:b}", "type", "GeoProperty", "value", p, "@bare", 1);
    } else if ((rc = bare_value(ps, aname, v, &inst)) != 0) {
        return rc;
    }
    json_array_append_new(insts, inst);
    return 0;
}

/* One attribute instance, normalized or concise (4.5.x.3), into *out (new ref). */
static int parse_instance(struct pstate *ps, const char *aname, const char *airi, const json_t *v,
                          json_t **out)
{
    *out = NULL;
    if (!json_is_object(v))
        return bare_value(ps, aname, v, out); /* concise Property: the bare value */
    int kind = PL_KIND_NONE;
    const json_t *t = json_object_get(v, "type");
    if (t) {
        if (!json_is_string(t))
            return bad(ps, "attribute '%s': type must be a string", aname);
        kind = pl_entity__kind_of(json_string_value(t));
        if (kind == PL_KIND_NONE) {
            int has_payload = json_object_get(v, "value") != NULL;
            const char *k;
            json_t *m;
            json_object_foreach ((json_t *)v, k, m)
                has_payload |= payload_kind_of_key(k) != PL_KIND_NONE;
            if (pl_entity__is_geo_type(json_string_value(t)) && !json_object_get(v, "value")) {
                json_t *p; /* NGSI-LD 4.7.3: concise GeoProperty, the bare geometry */
                int rc = parse_payload(ps, aname, airi, PL_KIND_GEOPROPERTY, v, &p);
                if (rc)
                    return rc;
                *out = json_pack("{s:s, s:o}", "type", "GeoProperty", "value", p);
                return 0;
            }
            if (has_payload)
                return bad(ps, "attribute '%s': unknown attribute type '%s'", aname,
                           json_string_value(t));
            return bare_value(ps, aname, v, out);
        }
    } else {
        /* Concise: the kind follows from the one payload member present. */
        const char *k;
        json_t *m;
        int n = 0;
        json_object_foreach ((json_t *)v, k, m) {
            int pk = payload_kind_of_key(k);
            if (pk != PL_KIND_NONE) {
                n++;
                kind = pk;
            }
        }
        if (n > 1)
            return bad(ps, "attribute '%s': several payload members, kind is ambiguous", aname);
        if (n == 0 && !(ps->flags & PL_PARSE_PARTIAL))
            return bare_value(ps, aname, v, out);
        if (kind == PL_KIND_PROPERTY && pl_entity__is_core_geo(airi) &&
            pl_entity__looks_geometry(json_object_get(v, "value")))
            kind = PL_KIND_GEOPROPERTY; /* NGSI-LD 4.7.3 */
    }
    json_t *inst = json_object();
    if (kind != PL_KIND_NONE)
        json_object_set_new(inst, "type", json_string(kind_names[kind]));
    int rc = parse_members(ps, aname, kind, v, inst);
    if (rc) {
        json_decref(inst);
        return rc;
    }
    *out = inst;
    return 0;
}

/* 1 when the array `v` reads as a multi-attribute (4.5.5): objects that are instances. */
static int is_instance_array(const json_t *v)
{
    if (!json_is_array(v) || json_array_size(v) == 0)
        return 0;
    for (size_t i = 0; i < json_array_size(v); i++) {
        const json_t *e = json_array_get(v, i);
        if (!json_is_object(e))
            return 0;
        int ok = pl_entity__kind_of(json_string_value(json_object_get(e, "type"))) !=
                 PL_KIND_NONE;
        const char *k;
        json_t *m;
        json_object_foreach ((json_t *)e, k, m)
            ok |= payload_kind_of_key(k) != PL_KIND_NONE;
        if (!ok)
            return 0;
    }
    return 1;
}

/* Parses an attribute value (one instance or several) and appends to `insts`. */
static int parse_attr_value(struct pstate *ps, const char *aname, const char *airi,
                            const json_t *v, json_t *insts)
{
    int multi = is_instance_array(v);
    size_t n = multi ? json_array_size(v) : 1;
    for (size_t i = 0; i < n; i++) {
        json_t *inst;
        int rc = count_instance(ps);
        if (rc)
            return rc;
        rc = parse_instance(ps, aname, airi, multi ? json_array_get(v, i) : v, &inst);
        if (rc)
            return rc;
        /* NGSI-LD 4.5.5: datasetIds distinct, at most one default instance. */
        if (pl_entity__find_instance(insts, pl_entity__dataset_id(inst)) >= 0) {
            const char *d = pl_entity__dataset_id(inst);
            json_decref(inst);
            return d ? bad(ps, "attribute '%s': datasetId '%s' given twice (4.5.5)", aname, d)
                     : bad(ps, "attribute '%s': more than one default instance (4.5.5)", aname);
        }
        json_array_append_new(insts, inst);
    }
    return 0;
}

/* ============================================================================================
 * Entities
 * ========================================================================================== */

static int parse_scope(struct pstate *ps, const json_t *v, json_t *out)
{
    if ((ps->flags & PL_PARSE_ALLOW_NULL) && is_ngsild_null(v)) {
        json_object_set_new(out, "scope", json_string(PL_ENTITY__NULL));
        return 0;
    }
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    if (json_is_array(v) && n == 0)
        return bad(ps, "scope must not be an empty array");
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
        const char *s = json_string_value(e);
        if (!pl_is_valid_scope(s)) {
            json_decref(a);
            return bad(ps, "scope must be a string or an array of strings of the 4.18 grammar "
                       "([/]Level *(/Level), a Level being a letter then letters, digits or "
                       "'_'), not %.100s", s ? s : "a non-string");
        }
        json_array_append_new(a, json_string(s));
    }
    json_object_set_new(out, "scope", a);
    return 0;
}

static int parse_entity(struct pstate *ps, const json_t *in, enum pl_parse_kind kind, json_t *o)
{
    const char *k;
    json_t *v;
    int rc;
    json_t *attrs = json_object();
    json_object_set_new(o, "attrs", attrs);
    json_object_foreach ((json_t *)in, k, v) {
        if (!strcmp(k, "@context"))
            return bad(ps, "\"@context\" must not appear here");
        /* 4.4: "@id" and "@type" may be used in requests instead of "id" and "type" */
        if ((!strcmp(k, "@id") && json_object_get(in, "id")) ||
            (!strcmp(k, "@type") && json_object_get(in, "type")))
            return bad(ps, "'%s' and '%s' both given", k, k + 1);
        /* (not assigned to k: json_object_foreach finds the next member from it) */
        const char *m = !strcmp(k, "@id") ? "id" : !strcmp(k, "@type") ? "type" : k;
        if (!strcmp(m, "id")) { /* NGSI-LD 4.5.1 */
            if ((rc = check_uri(ps, v, "entity id")) != 0)
                return rc;
            json_object_set(o, "id", v);
        } else if (!strcmp(m, "type")) {
            json_t *a = json_array();
            json_object_set_new(o, "type", a);
            if ((rc = expand_types(ps, v, "entity type", ps->lim->max_attrs, a)) != 0)
                return rc;
        } else if (!strcmp(k, "scope")) { /* NGSI-LD 4.18 */
            if ((rc = parse_scope(ps, v, o)) != 0)
                return rc;
        } else if (!strcmp(k, "expiresAt")) { /* 4.22: when the entity is removed */
            int64_t ms;
            if (!json_is_string(v) || pl_time_parse(json_string_value(v), &ms) != 0)
                return bad(ps, "expiresAt must be a UTC DateTime (4.22)");
            json_object_set(o, "expiresAt", v);
        } else if (!strcmp(k, "createdAt") || !strcmp(k, "modifiedAt") ||
                   !strcmp(k, "deletedAt")) {
            /* System-managed (4.8): a string lets a client round-trip a sysAttrs GET. */
            if (!json_is_string(v))
                return bad(ps, "'%s' is a reserved name (4.8)", k);
        } else {
            char *iri;
            if (pl_is_reserved_attr_name(k))
                return bad(ps, "'%s' is a reserved name and cannot name an attribute (4.6.2)", k);
            if ((rc = expand_name(ps, k, "attribute", &iri)) != 0)
                return rc;
            json_t *insts = json_object_get(attrs, iri);
            if (!insts) {
                insts = json_array();
                json_object_set_new(attrs, iri, insts);
            }
            rc = (ps->flags & PL_PARSE_SIMPLIFIED) ? parse_simplified_attr(ps, k, iri, v, insts)
                                                   : parse_attr_value(ps, k, iri, v, insts);
            free(iri);
            if (rc)
                return rc;
        }
    }
    if (kind == PL_PARSE_ENTITY && !json_object_get(o, "id"))
        return bad(ps, "entity 'id' is required (4.5.1)");
    if (kind == PL_PARSE_ENTITY && !json_object_get(o, "type"))
        return bad(ps, "entity 'type' is required (4.5.1)");
    return 0;
}

int pl_entity_parse(const struct pl_ctx *ctx, const json_t *in, enum pl_parse_kind kind,
                    unsigned flags, const struct pl_limits *lim, json_t **out, struct pl_err *err)
{
    struct pl_limits dl = pl_limits_default();
    struct pstate ps = {ctx, flags, lim ? lim : &dl, err, 0};
    *out = NULL;
    if (!in)
        return bad(&ps, "empty payload");
    /* Depth first, before any recursion over the payload. */
    if (json_depth(in, ps.lim->max_depth) > ps.lim->max_depth)
        return pl_err_set(err, PL_EBADREQUESTDATA, "payload nested deeper than %d levels",
                          ps.lim->max_depth);
    json_t *o = json_object();
    int rc;
    if (kind == PL_PARSE_ATTR) {
        json_t *insts = json_array();
        json_object_set_new(o, "instances", insts);
        rc = parse_attr_value(&ps, "attribute", NULL, in, insts);
    } else if (!json_is_object(in)) {
        rc = bad(&ps, "an entity must be a JSON object");
    } else {
        rc = parse_entity(&ps, in, kind, o);
    }
    if (rc) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}

/* ============================================================================================
 * Limits of a stored entity (after an update)
 * ========================================================================================== */

/* Counts `inst` and its sub-attributes, recursively, into *n. */
static void count_tree(const json_t *inst, long *n)
{
    const char *k;
    json_t *s;
    ++*n;
    json_object_foreach (json_object_get(inst, "sub"), k, s)
        count_tree(s, n);
}

int pl_entity_check_limits(const json_t *entity, const struct pl_limits *lim, struct pl_err *err)
{
    struct pl_limits dl = pl_limits_default();
    if (!lim)
        lim = &dl;
    const json_t *t = json_object_get(entity, "type");
    if (json_is_array(t) && json_array_size(t) > (size_t)lim->max_attrs)
        return pl_err_set(err, PL_EBADREQUESTDATA, "too many types (%zu > %d)",
                          json_array_size(t), lim->max_attrs);
    long n = 0;
    const char *k;
    json_t *insts;
    json_object_foreach (json_object_get(entity, "attrs"), k, insts) {
        size_t i;
        json_t *inst;
        json_array_foreach (insts, i, inst)
            count_tree(inst, &n);
    }
    if (n > lim->max_attrs)
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "too many attributes: %ld attribute instances, sub-attributes "
                          "included (%ld > %d)", n, n, lim->max_attrs);
    return 0;
}

/* ============================================================================================
 * Stamping
 * ========================================================================================== */

static void stamp_instance(json_t *inst, const char *now)
{
    json_object_set_new(inst, "createdAt", json_string(now));
    json_object_set_new(inst, "modifiedAt", json_string(now));
    const char *k;
    json_t *s;
    json_object_foreach (json_object_get(inst, "sub"), k, s)
        stamp_instance(s, now);
}

void pl_entity_stamp(json_t *entity, const char *now)
{
    json_object_set_new(entity, "createdAt", json_string(now));
    json_object_set_new(entity, "modifiedAt", json_string(now));
    const char *k;
    json_t *insts;
    json_object_foreach (json_object_get(entity, "attrs"), k, insts) {
        size_t i;
        json_t *inst;
        json_array_foreach (insts, i, inst)
            stamp_instance(inst, now);
    }
}

json_t *pl_entity_instantiate(const json_t *parsed)
{
    char now[PL_TIME_ISO_LEN];
    pl_time_format(pl_time_now_ms(), now);
    json_t *e = json_deep_copy(parsed);
    if (e)
        pl_entity_stamp(e, now);
    return e;
}
