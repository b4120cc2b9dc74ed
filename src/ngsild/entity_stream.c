/* SPDX-License-Identifier: Apache-2.0 */
/*
 * entity_stream.c — stored entity TEXT to response TEXT (see entity_stream.h), the fast twin of
 * entity_render.c. Every rule below mirrors a line of entity_render.c; when the two disagree,
 * entity_render.c is right and this file has a bug (the unit test and the fuzz target compare
 * both on every case).
 *
 * Three layers:
 *   1. a tokenizer for JSON text (bounds-checked on every byte; strict RFC 8259 grammar;
 *      whitespace tolerated), which validates and skips values and yields string slices;
 *   2. member scans: an object's members of interest located as text slices (last one wins, as
 *      with json_loadb), everything else validated and skipped;
 *   3. the renderer, which writes compacted names (pl_ctx_compact_borrowed) and copies values
 *      verbatim.
 *
 * What it leaves to the tree path (PL_ENTITY_STREAM_FALLBACK): pick, omit, lang; instances
 * whose "type" is not an attribute kind; keyValues of a Language/Vocab/JsonProperty without
 * its payload; a compacted name met twice in one object (or equal to a member this code
 * writes itself); datasetIds with escapes in keyValues; sub-attributes nested deeper than
 * MAX_SUB_DEPTH.
 */
#include "ngsild/entity_stream.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngsild/entity_int.h"

/* Deepest JSON nesting accepted in a stored body (stack safety; json_loadb allows 2048). */
#define MAX_DEPTH 512
/* Deepest sub-attribute nesting rendered here; deeper ones go to the tree path. */
#define MAX_SUB_DEPTH 32

/* Internal results, mapped to the public ones by pl_entity_stream_render. */
#define R_OK       0
#define R_FALLBACK 1
#define R_BAD      (-1)
#define R_NOMEM    (-2)

#define TRY(x)                                                                                     \
    do {                                                                                           \
        int rc_ = (x);                                                                             \
        if (rc_ != R_OK)                                                                           \
            return rc_;                                                                            \
    } while (0)

/* ============================================================================================
 * Tokenizer
 * ========================================================================================== */

struct cur {
    const char *p;   /* next byte */
    const char *end; /* one past the last byte */
};

/* A value's text: [p, p + n). p == NULL: absent. */
struct slice {
    const char *p;
    size_t n;
};

/* A string's raw content, between the quotes, escapes not decoded. */
struct str {
    const char *p;
    size_t n;
    int esc; /* 1 when it contains a backslash */
};

static void ws(struct cur *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' || *c->p == '\r' || *c->p == '\t'))
        c->p++;
}

static int at(const struct cur *c, char ch)
{
    return c->p < c->end && *c->p == ch;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Bytes that end a run of plain string content: '"', '\\' and control characters. */
static const unsigned char str_stop[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    ['"'] = 1, ['\\'] = 1};

/* At '"': reads a string, checking its escapes; control characters are refused. */
static int scan_string(struct cur *c, struct str *s)
{
    if (!at(c, '"'))
        return R_BAD;
    const char *q = ++c->p;
    int esc = 0;
    while (q < c->end) {
        while (q < c->end && !str_stop[(unsigned char)*q])
            q++;
        if (q >= c->end)
            break;
        unsigned char ch = (unsigned char)*q;
        if (ch == '"') {
            s->p = c->p;
            s->n = (size_t)(q - c->p);
            s->esc = esc;
            c->p = q + 1;
            return R_OK;
        }
        if (ch < 0x20)
            return R_BAD;
        esc = 1; /* a backslash */
        if (++q >= c->end)
            return R_BAD;
        switch (*q) {
        case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't':
            q++;
            break;
        case 'u':
            if (c->end - q < 5)
                return R_BAD;
            for (int i = 1; i <= 4; i++) {
                if (hexval(q[i]) < 0)
                    return R_BAD;
            }
            q += 5;
            break;
        default:
            return R_BAD;
        }
    }
    return R_BAD;
}

static int is_digit(const struct cur *c)
{
    return c->p < c->end && *c->p >= '0' && *c->p <= '9';
}

/* RFC 8259 number: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
static int scan_number(struct cur *c)
{
    if (at(c, '-'))
        c->p++;
    if (at(c, '0')) {
        c->p++;
    } else {
        if (!is_digit(c))
            return R_BAD;
        while (is_digit(c))
            c->p++;
    }
    if (at(c, '.')) {
        c->p++;
        if (!is_digit(c))
            return R_BAD;
        while (is_digit(c))
            c->p++;
    }
    if (at(c, 'e') || at(c, 'E')) {
        c->p++;
        if (at(c, '+') || at(c, '-'))
            c->p++;
        if (!is_digit(c))
            return R_BAD;
        while (is_digit(c))
            c->p++;
    }
    return R_OK;
}

static int scan_literal(struct cur *c, const char *lit, size_t n)
{
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, lit, n) != 0)
        return R_BAD;
    c->p += n;
    return R_OK;
}

static int skip_value(struct cur *c, int depth);

/*
 * Object iteration: obj_open at '{', then obj_next until it returns 0 (after the '}').
 * obj_next returns 1 with *key read and the cursor at the member's value.
 */
static int obj_open(struct cur *c)
{
    ws(c);
    if (!at(c, '{'))
        return R_BAD;
    c->p++;
    return R_OK;
}

/* Steps past the separator before the next member or element of a list closed by `close`:
 * 1 with the cursor at that member/element, 0 after the closing bracket, R_BAD otherwise. */
static int list_next(struct cur *c, int *first, char close)
{
    ws(c);
    if (at(c, close)) {
        c->p++;
        return 0;
    }
    if (!*first) {
        if (!at(c, ','))
            return R_BAD;
        c->p++;
        ws(c);
    }
    *first = 0;
    return 1;
}

static int obj_next(struct cur *c, int *first, struct str *key)
{
    int rc = list_next(c, first, '}');
    if (rc != 1)
        return rc;
    if (scan_string(c, key) != R_OK)
        return R_BAD;
    ws(c);
    if (!at(c, ':'))
        return R_BAD;
    c->p++;
    ws(c);
    return 1;
}

/* Array iteration, the same way: arr_open at '[', then arr_next: 1 with the cursor at an
 * element, 0 after the ']'. */
static int arr_open(struct cur *c)
{
    ws(c);
    if (!at(c, '['))
        return R_BAD;
    c->p++;
    return R_OK;
}

static int arr_next(struct cur *c, int *first)
{
    return list_next(c, first, ']');
}

static int skip_value(struct cur *c, int depth)
{
    if (depth > MAX_DEPTH)
        return R_BAD;
    ws(c);
    if (c->p >= c->end)
        return R_BAD;
    int first = 1, rc;
    struct str k;
    switch (*c->p) {
    case '{':
        c->p++;
        while ((rc = obj_next(c, &first, &k)) == 1)
            TRY(skip_value(c, depth + 1));
        return rc;
    case '[':
        c->p++;
        while ((rc = arr_next(c, &first)) == 1)
            TRY(skip_value(c, depth + 1)); /* "[1,]" fails here: ']' is no value */
        return rc;
    case '"':
        return scan_string(c, &k);
    case 't':
        return scan_literal(c, "true", 4);
    case 'f':
        return scan_literal(c, "false", 5);
    case 'n':
        return scan_literal(c, "null", 4);
    default:
        return scan_number(c);
    }
}

/* Skips one value and returns its text. */
static int take_value(struct cur *c, int depth, struct slice *v)
{
    ws(c);
    const char *start = c->p;
    TRY(skip_value(c, depth));
    v->p = start;
    v->n = (size_t)(c->p - start);
    return R_OK;
}

/* ============================================================================================
 * Strings: decoding (for names), comparing, escaping
 * ========================================================================================== */

static size_t put_utf8(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static unsigned hex4(const char *p)
{
    return (unsigned)(hexval(p[0]) << 12 | hexval(p[1]) << 8 | hexval(p[2]) << 4 | hexval(p[3]));
}

/*
 * Decodes `s` (already checked by scan_string) into `o` (at least s->n + 1 bytes: decoding
 * never grows). NUL-terminates. Refuses \u0000 and unpaired surrogates (json_loadb does too).
 */
static int decode(const struct str *s, char *o, size_t *n_out)
{
    const char *p = s->p, *e = s->p + s->n;
    size_t n = 0;
    while (p < e) {
        if (*p != '\\') {
            o[n++] = *p++;
            continue;
        }
        p++;
        char ch = *p++;
        switch (ch) {
        case 'b': o[n++] = '\b'; break;
        case 'f': o[n++] = '\f'; break;
        case 'n': o[n++] = '\n'; break;
        case 'r': o[n++] = '\r'; break;
        case 't': o[n++] = '\t'; break;
        case 'u': {
            unsigned cp = hex4(p);
            p += 4;
            if (cp == 0)
                return R_BAD;
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return R_BAD;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (e - p < 6 || p[0] != '\\' || p[1] != 'u')
                    return R_BAD;
                unsigned lo = hex4(p + 2);
                if (lo < 0xDC00 || lo > 0xDFFF)
                    return R_BAD;
                p += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            n += put_utf8(o + n, cp);
            break;
        }
        default: /* '"', '\\', '/' */
            o[n++] = ch;
            break;
        }
    }
    o[n] = '\0';
    *n_out = n;
    return R_OK;
}

/* 1 when string `s` equals `lit` of `n` bytes (short names only). */
static int str_is_n(const struct str *s, const char *lit, size_t n)
{
    if (!s->esc)
        return s->n == n && memcmp(s->p, lit, n) == 0;
    char buf[64];
    size_t dn;
    if (s->n >= sizeof buf || decode(s, buf, &dn) != R_OK)
        return 0;
    return dn == n && memcmp(buf, lit, n) == 0;
}

static int str_is(const struct str *s, const char *lit)
{
    return str_is_n(s, lit, strlen(lit));
}

/* A member name to look for, with its length. */
struct key {
    const char *z;
    size_t n;
};
#define KEY(z) {z, sizeof(z) - 1}

/* A decoded name: in `small` when it fits, else on the heap. */
struct name {
    char small[256];
    char *heap; /* owned, or NULL */
    const char *z;
    size_t n;
};

static int name_decode(struct name *nm, const struct str *s)
{
    nm->heap = NULL;
    char *o = nm->small;
    if (s->n >= sizeof nm->small) {
        o = nm->heap = malloc(s->n + 1);
        if (!o)
            return R_NOMEM;
    }
    if (!s->esc) {
        memcpy(o, s->p, s->n);
        o[s->n] = '\0';
        nm->n = s->n;
    } else if (decode(s, o, &nm->n) != R_OK) {
        return R_BAD;
    }
    nm->z = o;
    return R_OK;
}

static void name_dispose(struct name *nm)
{
    free(nm->heap);
    nm->heap = NULL;
}

/* Decodes a string value's text (quotes included) into `nm`. */
static int name_of_slice(struct name *nm, struct slice v)
{
    struct cur c = {v.p, v.p + v.n};
    struct str s;
    nm->heap = NULL;
    if (scan_string(&c, &s) != R_OK)
        return R_BAD;
    return name_decode(nm, &s);
}

/* Appends `z` as a JSON string. */
static void put_jstr(struct pl_strbuf *b, const char *z)
{
    static const char hex[] = "0123456789abcdef";
    pl_strbuf_putc(b, '"');
    const char *run = z;
    for (const char *p = z;; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch >= 0x20 && ch != '"' && ch != '\\')
            continue;
        pl_strbuf_append(b, run, (size_t)(p - run));
        if (!ch)
            break;
        char e[6] = {'\\', (char)ch, 0, 0, 0, 0};
        size_t n = 2;
        if (ch < 0x20) {
            e[1] = 'u';
            e[2] = '0';
            e[3] = '0';
            e[4] = hex[ch >> 4];
            e[5] = hex[ch & 0xF];
            n = 6;
        }
        pl_strbuf_append(b, e, n);
        run = p + 1;
    }
    pl_strbuf_putc(b, '"');
}

static void put_slice(struct pl_strbuf *b, struct slice v)
{
    pl_strbuf_append(b, v.p, v.n);
}

/* ============================================================================================
 * Names already written in one output object (duplicates are left to the tree path)
 * ========================================================================================== */

/*
 * A set of 64-bit name hashes: a linear search while the names fit in `small` (the usual
 * case: a handful of members), then an open-addressing table (linear probing, load <= 1/2), so
 * an object with n members costs O(n) expected, not O(n^2) (an entity stored with very many
 * attributes or sub-attributes must not stall a network thread).
 */
#define SEEN_SMALL 16

struct seen {
    uint64_t small[SEEN_SMALL]; /* hashes, while they fit */
    uint64_t *a;                /* `small`, or a heap table of `cap` slots (0 = empty; owned) */
    size_t n, cap;
};

static void seen_init(struct seen *s)
{
    s->a = s->small;
    s->n = 0;
    s->cap = SEEN_SMALL;
}

static void seen_dispose(struct seen *s)
{
    if (s->a != s->small)
        free(s->a);
    s->a = s->small;
}

static uint64_t hash_bytes(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211u;
    h ^= n;
    return h ? h : 1; /* 0 marks an empty table slot (1 colliding with it: a harmless fallback) */
}

/* Inserts `h` into the table `a` of `cap` slots (a power of two); 1 when already present. */
static int table_put(uint64_t *a, size_t cap, uint64_t h)
{
    size_t i = (size_t)(h ^ (h >> 29) ^ (h >> 47)) & (cap - 1);
    while (a[i]) {
        if (a[i] == h)
            return 1;
        i = (i + 1) & (cap - 1);
    }
    a[i] = h;
    return 0;
}

/* Moves to a table of `cap` slots, re-inserting every hash. */
static int seen_grow(struct seen *s, size_t cap)
{
    uint64_t *a = calloc(cap, sizeof *a);
    if (!a)
        return R_NOMEM;
    if (s->a == s->small) {
        for (size_t i = 0; i < s->n; i++)
            table_put(a, cap, s->a[i]);
    } else {
        for (size_t i = 0; i < s->cap; i++) {
            if (s->a[i])
                table_put(a, cap, s->a[i]);
        }
        free(s->a);
    }
    s->a = a;
    s->cap = cap;
    return R_OK;
}

/* R_OK, or R_FALLBACK when `z` (n bytes) was seen (or a hash collides: harmless). */
static int seen_add(struct seen *s, const char *z, size_t n)
{
    uint64_t h = hash_bytes(z, n);
    if (s->a == s->small) {
        for (size_t i = 0; i < s->n; i++) {
            if (s->a[i] == h)
                return R_FALLBACK;
        }
        if (s->n < SEEN_SMALL) {
            s->a[s->n++] = h;
            return R_OK;
        }
        TRY(seen_grow(s, 4 * SEEN_SMALL));
    } else if (2 * (s->n + 1) > s->cap) {
        TRY(seen_grow(s, 2 * s->cap));
    }
    if (table_put(s->a, s->cap, h))
        return R_FALLBACK;
    s->n++;
    return R_OK;
}

/* ============================================================================================
 * Member scans
 * ========================================================================================== */

/*
 * Reads the object at the cursor (consumed) and sets m[i] to the text of member keys[i] (last
 * one wins, as in json_loadb), leaving absent members NULL. Everything is validated.
 */
static int scan_members(struct cur *c, const struct key *keys, size_t n, struct slice *m,
                        int depth)
{
    memset(m, 0, n * sizeof *m);
    TRY(obj_open(c));
    int first = 1, rc;
    struct str k;
    while ((rc = obj_next(c, &first, &k)) == 1) {
        size_t i = 0;
        while (i < n && !str_is_n(&k, keys[i].z, keys[i].n))
            i++;
        struct slice val;
        TRY(take_value(c, depth + 1, &val));
        if (i < n)
            m[i] = val;
    }
    return rc;
}

static int is_str(struct slice v)
{
    return v.p && v.n > 0 && v.p[0] == '"';
}

static int is_obj(struct slice v)
{
    return v.p && v.n > 0 && v.p[0] == '{';
}

static int is_arr(struct slice v)
{
    return v.p && v.n > 0 && v.p[0] == '[';
}

static const char *const payload_keys[] = {"type",      "value",    "object",
                                           "languageMap", "vocab",  "json",
                                           "valueList", "objectList"};

/* entity_render.c ambiguous(): 1 when a bare concise value could be read back as more. */
static int ambiguous(struct slice v)
{
    struct cur c = {v.p, v.p + v.n};
    int first = 1;
    if (is_obj(v)) {
        struct str k;
        c.p++;
        while (obj_next(&c, &first, &k) == 1) {
            for (size_t i = 0; i < sizeof payload_keys / sizeof payload_keys[0]; i++) {
                if (str_is(&k, payload_keys[i]))
                    return 1;
            }
            if (skip_value(&c, 0) != R_OK)
                return 1;
        }
        return 0;
    }
    if (is_arr(v)) {
        c.p++;
        while (arr_next(&c, &first) == 1) {
            ws(&c);
            if (at(&c, '{'))
                return 1;
            if (skip_value(&c, 0) != R_OK)
                return 1;
        }
    }
    return 0;
}

/* pl_entity__looks_geometry() on text. */
static int looks_geometry(struct slice v)
{
    static const struct key names[] = {KEY("type"), KEY("coordinates"), KEY("geometries")};
    struct cur c = {v.p, v.p + v.n};
    struct slice m[3];
    if (!is_obj(v) || scan_members(&c, names, 3, m, 0) != R_OK || !is_str(m[0]))
        return 0;
    struct name t;
    if (name_of_slice(&t, m[0]) != R_OK) {
        name_dispose(&t);
        return 0;
    }
    int r = 0;
    if (pl_entity__is_geo_type(t.z))
        r = strcmp(t.z, "GeometryCollection") == 0 ? m[2].p != NULL : m[1].p != NULL;
    name_dispose(&t);
    return r;
}

/* ============================================================================================
 * Rendering
 * ========================================================================================== */

struct rs {
    const struct pl_ctx *ctx;       /* borrowed */
    const struct pl_render_opts *o; /* borrowed */
    struct pl_strbuf *out;          /* borrowed */
};

/* Members of a stored instance that rendering reads. */
enum {
    I_TYPE, I_VALUE, I_OBJECT, I_LANGMAP, I_VOCAB, I_JSON, I_VALUELIST, I_OBJECTLIST,
    I_OBSERVEDAT, I_UNITCODE, I_DATASETID, I_OBJECTTYPE, I_CREATEDAT, I_MODIFIEDAT, I_EXPIRESAT,
    I_SUB, I__N
};
static const struct key inst_keys[I__N] = {
    KEY("type"),      KEY("value"),      KEY("object"),     KEY("languageMap"), KEY("vocab"),
    KEY("json"),      KEY("valueList"),  KEY("objectList"), KEY("observedAt"),  KEY("unitCode"),
    KEY("datasetId"), KEY("objectType"), KEY("createdAt"),  KEY("modifiedAt"),  KEY("expiresAt"),
    KEY("sub")};
static const char *const inst_names[I__N] = {
    "type",       "value",    "object",    "languageMap", "vocab",      "json",
    "valueList",  "objectList", "observedAt", "unitCode", "datasetId", "objectType",
    "createdAt",  "modifiedAt", "expiresAt", "sub"};
/* The payload member of each kind (entity_parse.c kind_payloads), as an I_* index. */
static const int kind_payload[PL_KIND__COUNT] = {I_VALUE, I_OBJECT,  I_VALUE,     I_LANGMAP,
                                                 I_VOCAB, I_JSON, I_VALUELIST, I_OBJECTLIST};

struct inst {
    struct slice m[I__N];
    int kind;
};

/* Reads the instance object at the cursor (consumed). */
static int inst_read(struct cur *c, struct inst *in, int depth)
{
    ws(c);
    if (!at(c, '{'))
        return R_FALLBACK;
    TRY(scan_members(c, inst_keys, I__N, in->m, depth));
    in->kind = PL_KIND_NONE;
    if (is_str(in->m[I_TYPE])) {
        struct name t;
        int rc = name_of_slice(&t, in->m[I_TYPE]);
        if (rc == R_OK)
            in->kind = pl_entity__kind_of(t.z);
        name_dispose(&t);
        if (rc == R_NOMEM)
            return rc;
    }
    return in->kind == PL_KIND_NONE ? R_FALLBACK : R_OK;
}

/* Writes `,"name":` (no comma for the first member). `z` is escaped. */
static void put_key(struct rs *rs, int *first, const char *z)
{
    if (!*first)
        pl_strbuf_putc(rs->out, ',');
    *first = 0;
    put_jstr(rs->out, z);
    pl_strbuf_putc(rs->out, ':');
}

/* Same for a literal, known-safe member name; records it in `seen`. */
static int put_core(struct rs *rs, int *first, struct seen *seen, const char *z)
{
    TRY(seen_add(seen, z, strlen(z)));
    if (!*first)
        pl_strbuf_putc(rs->out, ',');
    *first = 0;
    pl_strbuf_putc(rs->out, '"');
    pl_strbuf_puts(rs->out, z);
    pl_strbuf_append(rs->out, "\":", 2);
    return R_OK;
}

/* Writes the compacted `iri` as a JSON string. */
static int put_compacted(struct rs *rs, const char *iri)
{
    char *owned;
    const char *c = pl_ctx_compact_borrowed(rs->ctx, iri, &owned);
    if (!c)
        return R_NOMEM;
    put_jstr(rs->out, c);
    free(owned);
    return R_OK;
}

/* Writes `,"<compacted iri>":` after checking the name is new in this object. */
static int put_compacted_key(struct rs *rs, int *first, struct seen *seen, const char *iri)
{
    char *owned;
    const char *c = pl_ctx_compact_borrowed(rs->ctx, iri, &owned);
    if (!c)
        return R_NOMEM;
    int rc = seen_add(seen, c, strlen(c));
    if (rc == R_OK)
        put_key(rs, first, c);
    free(owned);
    return rc;
}

/* Writes a string value's text compacted as an IRI. */
static int put_compacted_slice(struct rs *rs, struct slice v)
{
    struct name nm;
    int rc = name_of_slice(&nm, v);
    if (rc == R_OK)
        rc = put_compacted(rs, nm.z);
    name_dispose(&nm);
    return rc;
}

/* entity_render.c compact_any(): a string compacted, an array's strings compacted (other
 * elements copied), anything else an empty array. */
static int put_compact_any(struct rs *rs, struct slice v)
{
    if (is_str(v))
        return put_compacted_slice(rs, v);
    if (!is_arr(v)) {
        pl_strbuf_append(rs->out, "[]", 2);
        return R_OK;
    }
    struct cur c = {v.p + 1, v.p + v.n};
    int first = 1, rc;
    size_t n = 0;
    pl_strbuf_putc(rs->out, '[');
    while ((rc = arr_next(&c, &first)) == 1) {
        struct slice e;
        TRY(take_value(&c, 0, &e));
        if (n++)
            pl_strbuf_putc(rs->out, ',');
        if (is_str(e))
            TRY(put_compacted_slice(rs, e));
        else
            put_slice(rs->out, e);
    }
    if (rc != 0)
        return rc;
    pl_strbuf_putc(rs->out, ']');
    return R_OK;
}

/* 1 when the object at `v` has at least one member. */
static int obj_nonempty(struct slice v)
{
    if (!is_obj(v))
        return 0;
    struct cur c = {v.p + 1, v.p + v.n};
    ws(&c);
    return !at(&c, '}');
}

static int render_instance(struct rs *rs, const char *iri, const struct inst *in,
                           enum pl_format fmt, int force_object, int sub_depth);

/* The sub-attributes of an instance ("sub"), inlined under compacted names. */
static int render_subs(struct rs *rs, struct slice sub, int *first, struct seen *seen,
                       enum pl_format fmt, int sub_depth)
{
    if (!is_obj(sub))
        return R_OK; /* json_object_foreach on a non-object: nothing */
    if (sub_depth >= MAX_SUB_DEPTH)
        return R_FALLBACK;
    struct cur c = {sub.p, sub.p + sub.n};
    TRY(obj_open(&c));
    int f = 1, rc;
    struct str k;
    while ((rc = obj_next(&c, &f, &k)) == 1) {
        struct name nm;
        struct inst si;
        rc = name_decode(&nm, &k);
        if (rc == R_OK)
            rc = inst_read(&c, &si, 0);
        if (rc == R_OK)
            rc = put_compacted_key(rs, first, seen, nm.z);
        if (rc == R_OK)
            rc = render_instance(rs, nm.z, &si, fmt, 0, sub_depth + 1);
        name_dispose(&nm);
        TRY(rc);
    }
    return rc;
}

/* entity_render.c render_instance(), normalized and concise. */
static int render_instance(struct rs *rs, const char *iri, const struct inst *in,
                           enum pl_format fmt, int force_object, int sub_depth)
{
    static const int plain[] = {I_OBSERVEDAT, I_UNITCODE, I_DATASETID};
    int kind = in->kind;
    int pk = kind_payload[kind];
    struct slice p = in->m[pk];
    int sys = rs->o->sys_attrs;
    if (fmt == PL_FORMAT_CONCISE && !force_object && pk == I_VALUE && p.p &&
        !in->m[I_OBSERVEDAT].p && !in->m[I_UNITCODE].p && !in->m[I_DATASETID].p &&
        !in->m[I_OBJECTTYPE].p &&
        !(sys && (in->m[I_CREATEDAT].p || in->m[I_MODIFIEDAT].p || in->m[I_EXPIRESAT].p)) &&
        !obj_nonempty(in->m[I_SUB])) {
        /* Concise (4.5.2.3, 4.7.3): only a value left, written bare when unambiguous. */
        if (kind == PL_KIND_GEOPROPERTY ||
            (kind == PL_KIND_PROPERTY && !ambiguous(p) &&
             !(pl_entity__is_core_geo(iri) && looks_geometry(p)))) {
            put_slice(rs->out, p);
            return R_OK;
        }
    }
    struct seen seen;
    seen_init(&seen);
    int first = 1, rc = R_OK;
    pl_strbuf_putc(rs->out, '{');
    /* "type" is always reserved: normalized writes it first, concise may add it last. */
    rc = seen_add(&seen, "type", 4);
    if (rc == R_OK && fmt == PL_FORMAT_NORMALIZED) {
        put_key(rs, &first, "type");
        put_jstr(rs->out, pl_entity__kind_name(kind));
    }
    if (rc == R_OK && p.p) {
        rc = put_core(rs, &first, &seen, inst_names[pk]);
        if (rc == R_OK) {
            if (kind == PL_KIND_VOCABPROPERTY)
                rc = put_compact_any(rs, p);
            else
                put_slice(rs->out, p);
        }
    }
    for (size_t i = 0; rc == R_OK && i < sizeof plain / sizeof plain[0]; i++) {
        if (in->m[plain[i]].p && (rc = put_core(rs, &first, &seen, inst_names[plain[i]])) == 0)
            put_slice(rs->out, in->m[plain[i]]);
    }
    if (rc == R_OK && in->m[I_OBJECTTYPE].p &&
        (rc = put_core(rs, &first, &seen, "objectType")) == R_OK)
        rc = put_compact_any(rs, in->m[I_OBJECTTYPE]);
    for (int i = I_CREATEDAT; sys && rc == R_OK && i <= I_EXPIRESAT; i++) {
        if (in->m[i].p && (rc = put_core(rs, &first, &seen, inst_names[i])) == R_OK)
            put_slice(rs->out, in->m[i]);
    }
    if (rc == R_OK)
        rc = render_subs(rs, in->m[I_SUB], &first, &seen, fmt, sub_depth);
    if (rc == R_OK && fmt == PL_FORMAT_CONCISE) {
        /* What the concise parser could not infer back gets its "type". */
        if (kind == PL_KIND_GEOPROPERTY && !pl_entity__is_core_geo(iri)) {
            put_key(rs, &first, "type");
            pl_strbuf_puts(rs->out, "\"GeoProperty\"");
        } else if (kind == PL_KIND_PROPERTY && pl_entity__is_core_geo(iri) && p.p &&
                   looks_geometry(p)) {
            put_key(rs, &first, "type");
            pl_strbuf_puts(rs->out, "\"Property\"");
        }
    }
    pl_strbuf_putc(rs->out, '}');
    seen_dispose(&seen);
    return rc;
}

/* entity_render.c kv_value(): the keyValues form of one instance (4.5.4). */
static int kv_value(struct rs *rs, const struct inst *in)
{
    struct slice p = in->m[kind_payload[in->kind]];
    switch (in->kind) {
    case PL_KIND_LANGUAGEPROPERTY:
    case PL_KIND_JSONPROPERTY:
        if (!p.p)
            return R_FALLBACK;
        pl_strbuf_puts(rs->out, in->kind == PL_KIND_JSONPROPERTY ? "{\"json\":"
                                                                 : "{\"languageMap\":");
        put_slice(rs->out, p);
        pl_strbuf_putc(rs->out, '}');
        return R_OK;
    case PL_KIND_VOCABPROPERTY:
        if (!p.p)
            return R_FALLBACK;
        pl_strbuf_puts(rs->out, "{\"vocab\":");
        TRY(put_compact_any(rs, p));
        pl_strbuf_putc(rs->out, '}');
        return R_OK;
    default:
        if (p.p)
            put_slice(rs->out, p);
        else
            pl_strbuf_append(rs->out, "null", 4);
        return R_OK;
    }
}

/* One entry of keyValues' {"dataset": {...}}: `"id":value`. */
static int put_kv_dataset(struct rs *rs, const struct inst *in, size_t *n, struct seen *seen)
{
    struct slice d = in->m[I_DATASETID];
    struct slice key = {"\"@none\"", 7};
    if (is_str(d)) {
        if (memchr(d.p, '\\', d.n))
            return R_FALLBACK; /* equal ids spelt differently: left to the tree */
        key = d;
    }
    TRY(seen_add(seen, key.p + 1, key.n - 2));
    if ((*n)++)
        pl_strbuf_putc(rs->out, ',');
    put_slice(rs->out, key);
    pl_strbuf_putc(rs->out, ':');
    return kv_value(rs, in);
}

/*
 * entity_render.c render_attr(): the cursor is at the instances array, known non-empty; the
 * array is consumed.
 */
static int render_attr(struct rs *rs, const char *iri, struct cur *c)
{
    enum pl_format fmt = rs->o->format;
    struct inst in;
    int first = 1;
    TRY(arr_open(c));
    if (arr_next(c, &first) != 1)
        return R_BAD;
    TRY(inst_read(c, &in, 0));
    int more = arr_next(c, &first); /* 0: a single instance */
    if (more < 0)
        return R_BAD;
    int rc = R_OK;
    size_t n = 0;
    if (fmt == PL_FORMAT_KEYVALUES) {
        if (!more && !is_str(in.m[I_DATASETID]))
            return kv_value(rs, &in);
        /* NGSI-LD 4.5.4, multi-attribute case: {"dataset": {"@none"|datasetId: value}} */
        struct seen seen;
        seen_init(&seen);
        pl_strbuf_puts(rs->out, "{\"dataset\":{");
        rc = put_kv_dataset(rs, &in, &n, &seen);
        while (rc == R_OK && more == 1) {
            if ((rc = inst_read(c, &in, 0)) == R_OK && (rc = put_kv_dataset(rs, &in, &n, &seen)) ==
                                                           R_OK)
                more = arr_next(c, &first);
        }
        seen_dispose(&seen);
        if (rc == R_OK && more < 0)
            rc = R_BAD;
        pl_strbuf_append(rs->out, "}}", 2);
        return rc;
    }
    if (!more)
        return render_instance(rs, iri, &in, fmt, 0, 0);
    pl_strbuf_putc(rs->out, '[');
    rc = render_instance(rs, iri, &in, fmt, 1, 0);
    while (rc == R_OK && more == 1) {
        pl_strbuf_putc(rs->out, ',');
        if ((rc = inst_read(c, &in, 0)) == R_OK &&
            (rc = render_instance(rs, iri, &in, fmt, 1, 0)) == R_OK)
            more = arr_next(c, &first);
    }
    if (rc == R_OK && more < 0)
        rc = R_BAD;
    pl_strbuf_putc(rs->out, ']');
    return rc;
}

static int in_list(const char *const *l, size_t n, const char *z)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(l[i], z) == 0)
            return 1;
    }
    return 0;
}

/* 1 when the cursor is at an array with at least one element (nothing consumed). */
static int at_nonempty_array(const struct cur *c)
{
    if (!at(c, '['))
        return 0;
    struct cur k = {c->p + 1, c->end};
    ws(&k);
    return k.p < k.end && *k.p != ']';
}

/* The "attrs" object of the entity. */
static int render_attrs(struct rs *rs, struct slice attrs, int *first, struct seen *seen)
{
    if (!is_obj(attrs))
        return R_OK; /* json_object_foreach on a non-object: nothing */
    struct cur c = {attrs.p, attrs.p + attrs.n};
    TRY(obj_open(&c));
    int f = 1, rc;
    struct str k;
    while ((rc = obj_next(&c, &f, &k)) == 1) {
        if (!at_nonempty_array(&c)) {
            TRY(skip_value(&c, 0)); /* entity_render.c skips these */
            continue;
        }
        struct name nm;
        rc = name_decode(&nm, &k);
        if (rc == R_OK && (!rs->o->attrs || in_list(rs->o->attrs, rs->o->n_attrs, nm.z))) {
            rc = put_compacted_key(rs, first, seen, nm.z);
            if (rc == R_OK)
                rc = render_attr(rs, nm.z, &c);
        } else if (rc == R_OK) {
            rc = skip_value(&c, 0);
        }
        name_dispose(&nm);
        TRY(rc);
    }
    return rc;
}

/* The single element of a (validated) one-element array, else NULL. */
static struct slice only_item(struct slice v)
{
    struct slice e = {NULL, 0};
    if (!is_arr(v))
        return e;
    struct cur c = {v.p + 1, v.p + v.n};
    int first = 1;
    if (arr_next(&c, &first) != 1 || take_value(&c, 0, &e) != R_OK ||
        arr_next(&c, &first) != 0) {
        e.p = NULL;
        e.n = 0;
    }
    return e;
}

/* Members of a stored entity that rendering reads. */
enum { E_ID, E_TYPE, E_SCOPE, E_CREATEDAT, E_MODIFIEDAT, E_DELETEDAT, E_EXPIRESAT, E_ATTRS, E__N };
static const struct key ent_keys[E__N] = {KEY("id"),         KEY("type"),      KEY("scope"),
                                          KEY("createdAt"),  KEY("modifiedAt"),
                                          KEY("deletedAt"),  KEY("expiresAt"), KEY("attrs")};

static int render_entity(struct rs *rs, const char *body, size_t len)
{
    struct slice m[E__N];
    struct cur c = {body, body + len};
    ws(&c);
    if (!at(&c, '{'))
        return R_BAD;
    /* Validates the whole body once, finding the members rendering reads. */
    TRY(scan_members(&c, ent_keys, E__N, m, 0));
    ws(&c);
    if (c.p != c.end)
        return R_BAD; /* trailing bytes: json_loadb refuses them too */

    struct seen seen;
    seen_init(&seen);
    int first = 1;
    /* The api layer adds "@context": no attribute may take that name. */
    int rc = seen_add(&seen, "@context", 8);
    pl_strbuf_putc(rs->out, '{');
    if (rc == R_OK && m[E_ID].p && (rc = put_core(rs, &first, &seen, "id")) == R_OK)
        put_slice(rs->out, m[E_ID]);
    if (rc == R_OK && m[E_TYPE].p && (rc = put_core(rs, &first, &seen, "type")) == R_OK) {
        /* NGSI-LD 4.5.1: a string when one type. */
        struct slice one = only_item(m[E_TYPE]);
        if (!one.p)
            rc = put_compact_any(rs, m[E_TYPE]);
        else if (is_str(one))
            rc = put_compacted_slice(rs, one);
        else
            put_slice(rs->out, one);
    }
    if (rc == R_OK && m[E_SCOPE].p && (rc = put_core(rs, &first, &seen, "scope")) == R_OK) {
        struct slice one = only_item(m[E_SCOPE]);
        put_slice(rs->out, one.p ? one : m[E_SCOPE]);
    }
    for (int i = E_CREATEDAT; rs->o->sys_attrs && rc == R_OK && i <= E_EXPIRESAT; i++) {
        if (m[i].p && (rc = put_core(rs, &first, &seen, ent_keys[i].z)) == R_OK)
            put_slice(rs->out, m[i]);
    }
    if (rc == R_OK)
        rc = render_attrs(rs, m[E_ATTRS], &first, &seen);
    pl_strbuf_putc(rs->out, '}');
    seen_dispose(&seen);
    return rc;
}

int pl_entity_stream_render(const struct pl_ctx *ctx, const char *body, size_t len,
                            const struct pl_render_opts *o, struct pl_strbuf *out,
                            struct pl_err *err)
{
    static const struct pl_render_opts dflt = {0};
    if (!o)
        o = &dflt;
    if (o->pick || o->omit || o->lang || o->datasets)
        return PL_ENTITY_STREAM_FALLBACK;
    if (!body && len)
        return pl_err_set(err, PL_EINTERNAL, "stored entity: no text");
    struct rs rs = {ctx, o, out};
    int rc = render_entity(&rs, body ? body : "", len);
    if (rc == R_OK && pl_strbuf_failed(out))
        rc = R_NOMEM;
    switch (rc) {
    case R_OK:
        return 0;
    case R_FALLBACK:
        return PL_ENTITY_STREAM_FALLBACK;
    case R_NOMEM:
        return pl_err_set(err, PL_ENOMEM, "out of memory while rendering");
    default:
        return pl_err_set(err, PL_EINTERNAL, "stored entity is not well-formed JSON");
    }
}
