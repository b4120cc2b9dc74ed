/* SPDX-License-Identifier: Apache-2.0 */
/*
 * q.c — the NGSI-LD query language (4.9): recursive-descent parser, @context resolution,
 * target-value enumeration and in-memory evaluation. The grammar and the semantics are
 * documented in q.h.
 */
#include "query/q.h"

#include <ctype.h>
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "ngsild/entity.h"

#define Q_TOKEN_MAX   32   /* longest token quoted in an error detail */
#define Q_REGEX_MAX   1024 /* longest regular expression accepted, in bytes */
#define Q_REGEX_NODES 4096 /* largest estimated size of a regex once repetitions are expanded */

/* ============================================================================================
 * Shared helpers
 * ========================================================================================== */

/* Copies s into dst (Q_TOKEN_MAX + 4 bytes): printable ASCII kept, other bytes as '?',
 * truncated with "...". */
static void show_token(char *dst, const char *s)
{
    size_t n = 0;
    for (; s[n] && n < Q_TOKEN_MAX; n++) {
        unsigned char c = (unsigned char)s[n];
        dst[n] = (c > 0x20 && c < 0x7f) ? (char)c : '?';
    }
    if (s[n]) {
        memcpy(dst + n, "...", 3);
        n += 3;
    }
    dst[n] = '\0';
}

int pl_q__syntax_error(struct pl_err *err, const char *param, const char *text, size_t pos,
                       const char *delims, const char *why, const char *hint)
{
    char tok[Q_TOKEN_MAX + 4];
    const unsigned char *p = (const unsigned char *)text + pos;
    const char *h1 = hint ? " (" : "", *h2 = hint ? hint : "", *h3 = hint ? ")" : "";
    if (!*p)
        return pl_err_set(err, PL_EBADREQUESTDATA, "%s: at position %zu: %s end of input%s%s%s",
                          param, pos, why, h1, h2, h3);
    size_t n = 0;
    if (strchr(delims, *p) || *p == ' ' || *p == '\t') {
        tok[n++] = (char)*p;
    } else {
        while (p[n] && !strchr(delims, p[n]) && p[n] != ' ' && p[n] != '\t' && n < Q_TOKEN_MAX) {
            tok[n] = (p[n] > 0x20 && p[n] < 0x7f) ? (char)p[n] : '?';
            n++;
        }
        if (n == Q_TOKEN_MAX && p[n] && !strchr(delims, p[n])) {
            memcpy(tok + n, "...", 3);
            n += 3;
        }
    }
    tok[n] = '\0';
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)tok[i] <= 0x20 || (unsigned char)tok[i] >= 0x7f)
            tok[i] = '?';
    }
    return pl_err_set(err, PL_EBADREQUESTDATA, "%s: at position %zu: %s '%s'%s%s%s", param, pos,
                      why, tok, h1, h2, h3);
}

int pl_q_is_special_member(const char *name)
{
    static const char *const sm[] = {"observedAt", "createdAt", "modifiedAt", "unitCode",
                                     "datasetId"};
    for (size_t i = 0; i < sizeof sm / sizeof sm[0]; i++) {
        if (strcmp(name, sm[i]) == 0)
            return 1;
    }
    return 0;
}

static int dig2(const char *s, int *v)
{
    if (!isdigit((unsigned char)s[0]) || !isdigit((unsigned char)s[1]))
        return -1;
    *v = (s[0] - '0') * 10 + (s[1] - '0');
    return 0;
}

int pl_q_parse_datetime(const char *s, double *ms)
{
    char buf[64];
    size_t n = strlen(s);
    int64_t v;
    if (n < 20 || n >= sizeof buf || s[4] != '-' || s[10] != 'T')
        return -1;
    if (s[n - 1] == 'Z') {
        if (pl_time_parse(s, &v) != 0)
            return -1;
    } else {
        int hh, mm;
        char sign = s[n - 6];
        if (n < 25 || (sign != '+' && sign != '-') || dig2(s + n - 5, &hh) || s[n - 3] != ':' ||
            dig2(s + n - 2, &mm) || hh > 23 || mm > 59)
            return -1;
        memcpy(buf, s, n - 6);
        buf[n - 6] = 'Z';
        buf[n - 5] = '\0';
        if (pl_time_parse(buf, &v) != 0)
            return -1;
        int64_t off = ((int64_t)hh * 60 + mm) * 60000;
        v = sign == '+' ? v - off : v + off;
    }
    *ms = (double)v;
    return 0;
}

/* ISO 8601 Date YYYY-MM-DD (a valid calendar date). */
static int is_date(const char *s)
{
    char buf[32];
    int64_t v;
    if (strlen(s) != 10)
        return 0;
    snprintf(buf, sizeof buf, "%sT00:00:00Z", s);
    return pl_time_parse(buf, &v) == 0;
}

/* ISO 8601 Time hh:mm:ss[.f][Z]. */
static int is_time(const char *s)
{
    char buf[64];
    int64_t v;
    size_t n = strlen(s);
    if (n < 8 || n > 40 || s[2] != ':' || s[5] != ':')
        return 0;
    snprintf(buf, sizeof buf, "1970-01-01T%s%s", s, s[n - 1] == 'Z' ? "" : "Z");
    return pl_time_parse(buf, &v) == 0;
}

/* RFC 8259 number, the whole string. */
static int is_json_number(const char *s)
{
    const char *p = s;
    if (*p == '-')
        p++;
    if (*p == '0')
        p++;
    else if (*p >= '1' && *p <= '9')
        while (isdigit((unsigned char)*p))
            p++;
    else
        return 0;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit((unsigned char)*p))
            return 0;
        while (isdigit((unsigned char)*p))
            p++;
    }
    return *p == '\0';
}

static int name_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c >= 0x80;
}

static int name_char(unsigned char c)
{
    return name_start(c) || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == ':' ||
           c == '/' || c == '#';
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int hex4(const char *s, unsigned *v)
{
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval((unsigned char)s[i]);
        if (h < 0)
            return -1;
        *v = *v * 16 + (unsigned)h;
    }
    return 0;
}

/*
 * Decodes the JSON string (RFC 8259 7) starting at s[*i] == '"'. On success returns 0, a NEW
 * string in *out and *i just after the closing quote. On failure returns -1 with *i at the
 * offending byte and *why set, or PL_ENOMEM.
 */
static int json_string_decode(const char *s, size_t *i, char **out, const char **why)
{
    size_t j = *i + 1, cap = 16, n = 0;
    char *b = malloc(cap);
    if (!b)
        return PL_ENOMEM;
    for (;;) {
        unsigned char c = (unsigned char)s[j];
        char enc[4];
        size_t ne = 0;
        if (c == '\0') {
            *why = "unterminated string at";
            goto bad;
        }
        if (c == '"') {
            j++;
            break;
        }
        if (c < 0x20) {
            *why = "control character in string";
            goto bad;
        }
        if (c != '\\') {
            enc[ne++] = (char)c;
            j++;
        } else {
            char e = s[j + 1];
            unsigned cp;
            switch (e) {
            case '"':
                enc[ne++] = '"';
                break;
            case '\\':
                enc[ne++] = '\\';
                break;
            case '/':
                enc[ne++] = '/';
                break;
            case 'b':
                enc[ne++] = '\b';
                break;
            case 'f':
                enc[ne++] = '\f';
                break;
            case 'n':
                enc[ne++] = '\n';
                break;
            case 'r':
                enc[ne++] = '\r';
                break;
            case 't':
                enc[ne++] = '\t';
                break;
            case 'u':
                if (hex4(s + j + 2, &cp) != 0) {
                    *why = "bad \\u escape in string";
                    goto bad;
                }
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned lo;
                    if (s[j + 6] != '\\' || s[j + 7] != 'u' || hex4(s + j + 8, &lo) != 0 ||
                        lo < 0xDC00 || lo > 0xDFFF) {
                        *why = "unpaired surrogate in string";
                        goto bad;
                    }
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    j += 6;
                } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                    *why = "unpaired surrogate in string";
                    goto bad;
                }
                if (cp == 0) {
                    *why = "\\u0000 is not allowed in string";
                    goto bad;
                }
                if (cp < 0x80) {
                    enc[ne++] = (char)cp;
                } else if (cp < 0x800) {
                    enc[ne++] = (char)(0xC0 | (cp >> 6));
                    enc[ne++] = (char)(0x80 | (cp & 0x3F));
                } else if (cp < 0x10000) {
                    enc[ne++] = (char)(0xE0 | (cp >> 12));
                    enc[ne++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                    enc[ne++] = (char)(0x80 | (cp & 0x3F));
                } else {
                    enc[ne++] = (char)(0xF0 | (cp >> 18));
                    enc[ne++] = (char)(0x80 | ((cp >> 12) & 0x3F));
                    enc[ne++] = (char)(0x80 | ((cp >> 6) & 0x3F));
                    enc[ne++] = (char)(0x80 | (cp & 0x3F));
                }
                j += 4;
                break;
            default:
                *why = "bad escape in string";
                goto bad;
            }
            j += 2;
        }
        if (n + ne + 1 > cap) {
            cap *= 2;
            char *nb = realloc(b, cap);
            if (!nb) {
                free(b);
                return PL_ENOMEM;
            }
            b = nb;
        }
        memcpy(b + n, enc, ne);
        n += ne;
    }
    b[n] = '\0';
    *out = b;
    *i = j;
    return 0;
bad:
    free(b);
    *i = j;
    return -1;
}

/* ============================================================================================
 * Tree building and freeing
 * ========================================================================================== */

static void qv_free(struct pl_qv *v)
{
    free(v->str);
    v->str = NULL;
}

static void strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static void term_clear(struct pl_q_term *t)
{
    strv_free(t->path_iri, t->n_path);
    strv_free(t->path, t->n_path);
    strv_free(t->trail, t->n_trail);
    for (size_t i = 0; i < t->n_vals; i++)
        qv_free(&t->vals[i]);
    free(t->vals);
    free(t->regex);
    if (t->compiled) {
        regfree((regex_t *)t->compiled);
        free(t->compiled);
    }
    memset(t, 0, sizeof *t);
}

void pl_q_free(struct pl_q_node *n)
{
    if (!n)
        return;
    for (size_t i = 0; i < n->n_kids; i++)
        pl_q_free(n->kids[i]);
    free(n->kids);
    term_clear(&n->term);
    free(n);
}

/* Appends x to a growable pointer array. Returns 0 or -1 (out of memory). */
static int push_ptr(void ***arr, size_t *n, size_t *cap, void *x)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 4;
        void **na = realloc(*arr, nc * sizeof *na);
        if (!na)
            return -1;
        *arr = na;
        *cap = nc;
    }
    (*arr)[(*n)++] = x;
    return 0;
}

static char *dup_range(const char *s, size_t a, size_t b)
{
    char *r = malloc(b - a + 1);
    if (r) {
        memcpy(r, s + a, b - a);
        r[b - a] = '\0';
    }
    return r;
}

/* ============================================================================================
 * Parser
 * ========================================================================================== */

#define Q_DELIMS ",;|()[]{}.=!<>~\""

struct qp {
    const char *s;
    size_t i;
    int depth;
    struct pl_err *err;
};

static int qerr(struct qp *p, size_t pos, const char *why, const char *hint)
{
    return pl_q__syntax_error(p->err, "q", p->s, pos, Q_DELIMS, why, hint);
}

static int nomem(struct qp *p)
{
    return pl_err_set(p->err, PL_ENOMEM, "q: out of memory");
}

static void skip_ws(struct qp *p)
{
    while (p->s[p->i] == ' ' || p->s[p->i] == '\t')
        p->i++;
}

static int at_term_end(const struct qp *p)
{
    char c = p->s[p->i];
    return c == '\0' || c == ';' || c == '|' || c == ')';
}

static int parse_or(struct qp *p, struct pl_q_node **out);

/* Path = Name *("." Name) ["[" Seg *("." Seg) "]"] */
static int parse_path(struct qp *p, struct pl_q_term *t)
{
    size_t cap = 0, tcap = 0;
    const char *s = p->s;
    for (;;) {
        size_t a = p->i;
        if (!name_start((unsigned char)s[p->i]))
            return qerr(p, p->i, "unexpected", "expected an attribute name");
        while (name_char((unsigned char)s[p->i]))
            p->i++;
        char *nm = dup_range(s, a, p->i);
        if (!nm || push_ptr((void ***)&t->path, &t->n_path, &cap, nm) != 0) {
            free(nm);
            return nomem(p);
        }
        if (s[p->i] != '.')
            break;
        p->i++;
    }
    if (s[p->i] == '{')
        return qerr(p, p->i,
                    "linked entity queries (Attribute{...}, 4.9) are not supported:", NULL);
    if (s[p->i] == '[') {
        size_t open = p->i;
        p->i++;
        for (;;) {
            size_t a = p->i;
            while ((unsigned char)s[p->i] > 0x20 && s[p->i] != '.' && s[p->i] != '[' &&
                   s[p->i] != ']' && s[p->i] != 0x7f)
                p->i++;
            if (p->i == a)
                return qerr(p, p->i, "unexpected", "expected a member name in the trailing path");
            char *seg = dup_range(s, a, p->i);
            if (!seg || push_ptr((void ***)&t->trail, &t->n_trail, &tcap, seg) != 0) {
                free(seg);
                return nomem(p);
            }
            if (s[p->i] == '.') {
                p->i++;
                continue;
            }
            if (s[p->i] == ']') {
                p->i++;
                break;
            }
            if (!s[p->i])
                return qerr(p, open, "unclosed", "expected ']'");
            return qerr(p, p->i, "unexpected", "expected '.' or ']' in the trailing path");
        }
        if (s[p->i] == '[' || s[p->i] == '.')
            return qerr(p, p->i, "unexpected", "only one trailing path is allowed, at the end");
    }
    /* Special members: only last, after at least one name, and without a trailing path. */
    for (size_t k = 1; k < t->n_path; k++) {
        if (!pl_q_is_special_member(t->path[k]))
            continue;
        if (k + 1 != t->n_path)
            return qerr(p, t->pos, "a member such as observedAt must end the path:", NULL);
        if (t->n_trail)
            return qerr(p, t->pos,
                        "a trailing path cannot follow observedAt, createdAt, "
                        "modifiedAt, unitCode or datasetId:",
                        NULL);
        t->special = 1;
    }
    return 0;
}

/* Classifies an unquoted word (NUL-terminated, owned: stored or freed). */
static int classify_word(struct qp *p, size_t pos, char *w, struct pl_qv *v)
{
    memset(v, 0, sizeof *v);
    if (!*w) {
        free(w);
        return qerr(p, pos, "unexpected", "expected a value");
    }
    if (!strcmp(w, "true") || !strcmp(w, "false")) {
        v->kind = PL_QV_BOOL;
        v->num = w[0] == 't';
        free(w);
        return 0;
    }
    if (is_json_number(w)) {
        v->kind = PL_QV_NUMBER;
        v->num = strtod(w, NULL);
        free(w);
        return 0;
    }
    size_t n = strlen(w);
    if (n >= 11 && isdigit((unsigned char)w[0]) && w[4] == '-' && w[10] == 'T') {
        if (pl_q_parse_datetime(w, &v->num) != 0) {
            free(w);
            return qerr(p, pos, "invalid DateTime (4.6.3)", NULL);
        }
        v->kind = PL_QV_DATETIME;
        v->str = w;
        return 0;
    }
    if (n == 10 && isdigit((unsigned char)w[0]) && w[4] == '-') {
        if (!is_date(w)) {
            free(w);
            return qerr(p, pos, "invalid date (4.6.3)", NULL);
        }
        v->kind = PL_QV_STRING;
        v->str = w;
        return 0;
    }
    if (n >= 8 && isdigit((unsigned char)w[0]) && w[2] == ':') {
        if (!is_time(w)) {
            free(w);
            return qerr(p, pos, "invalid time (4.6.3)", NULL);
        }
        v->kind = PL_QV_STRING;
        v->str = w;
        return 0;
    }
    if (pl_is_uri(w)) {
        v->kind = PL_QV_URI;
        v->str = w;
        return 0;
    }
    int word = name_start((unsigned char)w[0]);
    for (const char *c = w; word && *c; c++)
        word = name_char((unsigned char)*c);
    if (word) {
        v->kind = PL_QV_STRING;
        v->bare = 1;
        v->str = w;
        return 0;
    }
    free(w);
    return qerr(p, pos, "invalid value", NULL);
}

/* One value: a JSON string or an unquoted word. */
static int parse_value(struct qp *p, struct pl_qv *v)
{
    const char *s = p->s;
    size_t pos = p->i;
    memset(v, 0, sizeof *v);
    if (s[p->i] == '"') {
        const char *why = NULL;
        size_t j = p->i;
        char *str = NULL;
        int rc = json_string_decode(s, &j, &str, &why);
        if (rc == PL_ENOMEM)
            return nomem(p);
        if (rc != 0)
            return qerr(p, j, why, NULL);
        v->kind = PL_QV_STRING;
        v->str = str;
        p->i = j;
        return 0;
    }
    while (s[p->i] && !strchr(",;|()", s[p->i]) && s[p->i] != ' ' && s[p->i] != '\t' &&
           !(s[p->i] == '.' && s[p->i + 1] == '.'))
        p->i++;
    char *w = dup_range(s, pos, p->i);
    if (!w)
        return nomem(p);
    return classify_word(p, pos, w, v);
}

static int push_val(struct qp *p, struct pl_q_term *t, size_t *cap, const struct pl_qv *v)
{
    if (t->n_vals == *cap) {
        size_t nc = *cap ? *cap * 2 : 2;
        struct pl_qv *nv = realloc(t->vals, nc * sizeof *nv);
        if (!nv)
            return nomem(p);
        t->vals = nv;
        *cap = nc;
    }
    t->vals[t->n_vals++] = *v;
    return 0;
}

static int orderable(const struct pl_qv *v)
{
    return v->kind == PL_QV_NUMBER || v->kind == PL_QV_DATETIME ||
           (v->kind == PL_QV_STRING && !v->bare);
}

static int parse_values(struct qp *p, struct pl_q_term *t)
{
    size_t cap = 0;
    struct pl_qv v;
    size_t pos = p->i;
    int rc = parse_value(p, &v);
    if (rc)
        return rc;
    if ((rc = push_val(p, t, &cap, &v)) != 0) {
        qv_free(&v);
        return rc;
    }
    skip_ws(p);
    int eq = t->op == PL_QOP_EQ || t->op == PL_QOP_NE;
    if (!eq && !orderable(&t->vals[0]))
        return qerr(p, pos,
                    "an ordering operator needs a number, string, DateTime, date or "
                    "time, not",
                    NULL);
    if (p->s[p->i] == '.' && p->s[p->i + 1] == '.') {
        if (!eq)
            return qerr(p, p->i, "a range is allowed only with == and !=:", NULL);
        if (!orderable(&t->vals[0]))
            return qerr(p, pos, "a range needs numbers, strings or DateTimes, not", NULL);
        p->i += 2;
        skip_ws(p);
        size_t pos2 = p->i;
        if ((rc = parse_value(p, &v)) != 0)
            return rc;
        if ((rc = push_val(p, t, &cap, &v)) != 0) {
            qv_free(&v);
            return rc;
        }
        if (v.kind != t->vals[0].kind || v.bare)
            return qerr(p, pos2, "both ends of a range must be of the same kind:", NULL);
        t->shape = PL_QVAL_RANGE;
        skip_ws(p);
        if (p->s[p->i] == ',')
            return qerr(p, p->i, "unexpected", "a range cannot be part of a list");
        return 0;
    }
    t->shape = PL_QVAL_ONE;
    while (p->s[p->i] == ',') {
        if (!eq)
            return qerr(p, p->i, "a list of values is allowed only with == and !=:", NULL);
        p->i++;
        skip_ws(p);
        if ((rc = parse_value(p, &v)) != 0)
            return rc;
        if ((rc = push_val(p, t, &cap, &v)) != 0) {
            qv_free(&v);
            return rc;
        }
        t->shape = PL_QVAL_LIST;
        skip_ws(p);
        if (p->s[p->i] == '.' && p->s[p->i + 1] == '.')
            return qerr(p, p->i, "unexpected", "a range cannot be part of a list");
    }
    return 0;
}

/* The index of the ']' closing the bracket expression that starts at s[i] == '[' (or of the
 * terminating NUL when unclosed). Handles "[]...]", "[^]...]" and "[:class:]" inside. */
static size_t regex_end_bracket(const char *s, size_t i)
{
    size_t k = i + 1;
    if (s[k] == '^')
        k++;
    if (s[k] == ']')
        k++;
    while (s[k] && s[k] != ']') {
        if (s[k] == '[' && (s[k + 1] == ':' || s[k + 1] == '.' || s[k + 1] == '=')) {
            char d = s[k + 1];
            size_t e = k + 2;
            while (s[e] && !(s[e] == d && s[e + 1] == ']'))
                e++;
            if (!s[e])
                return e;
            k = e + 2;
            continue;
        }
        k++;
    }
    return k;
}

/* End of a raw regex: the first ';' or '|' outside parentheses and brackets, or a ')' closing a
 * parenthesis the regex did not open. */
static size_t regex_end(const char *s, size_t i)
{
    int depth = 0;
    while (s[i]) {
        char c = s[i];
        if (c == '\\' && s[i + 1]) {
            i += 2;
            continue;
        }
        if (c == '[') {
            size_t k = regex_end_bracket(s, i);
            if (!s[k])
                return k;
            i = k + 1;
            continue;
        }
        if (c == '(') {
            depth++;
        } else if (c == ')') {
            if (depth == 0)
                break;
            depth--;
        } else if ((c == ';' || c == '|') && depth == 0) {
            break;
        }
        i++;
    }
    return i;
}

/*
 * Refuses the patterns that make glibc's regcomp blow up (found by fuzzing), with a reason:
 *  - back-references (exponential matching);
 *  - a repetition operator right after another (x++, x{1,}{9}: undefined in POSIX ERE);
 *  - a repetition of an operand that can match the empty string ((a*|b*)+, (){9}: redundant,
 *    and exponential in regcomp's epsilon closures);
 *  - an expansion over Q_REGEX_NODES: regcomp copies the operand of "+" (x+ = xx*) and of
 *    {m,n} (n copies), so nested repetitions grow multiplicatively.
 * Sizes and nullability are tracked on the pattern's group structure.
 */
static const char *regex_too_complex(const char *r)
{
    struct frame {
        double cur, last;  /* size of the group so far; of its last atom */
        int any_null;      /* a finished alternative of the group can match "" */
        int alt_null;      /* the current alternative can match "" so far */
        int alt_null_prev; /* ... before its last atom */
        int last_null;     /* the last atom can match "" (-1: no atom to repeat) */
        int last_rep;      /* the last atom is a repetition */
    } st[Q_REGEX_MAX + 2];
    size_t sp = 0;
    struct frame f = {0, 0, 0, 1, 1, -1, 0};
    for (size_t i = 0; r[i]; i++) {
        char c = r[i];
        double factor = 0;
        int atom_null = 0, to_null = 0;
        if (c == '\\' && r[i + 1]) {
            if (r[i + 1] >= '1' && r[i + 1] <= '9')
                return "back-references are not supported in the regular expression";
            i++;
        } else if (c == '[') {
            size_t e = regex_end_bracket(r, i);
            if (!r[e])
                return NULL; /* unterminated: regcomp refuses it */
            i = e;
        } else if (c == '(') {
            if (sp > Q_REGEX_MAX)
                return "too deeply nested regular expression";
            st[sp++] = f;
            f = (struct frame){0, 0, 0, 1, 1, -1, 0};
            continue;
        } else if (c == ')' && sp > 0) {
            double g = f.cur + 1; /* the group itself counts, even when empty */
            int gnull = f.any_null || f.alt_null;
            f = st[--sp];
            f.cur += g;
            f.alt_null_prev = f.alt_null;
            f.alt_null = f.alt_null && gnull;
            f.last = g;
            f.last_null = gnull;
            f.last_rep = 0;
            continue;
        } else if (c == '|') {
            f.any_null |= f.alt_null;
            f.alt_null = f.alt_null_prev = 1;
            f.last = 0;
            f.last_null = -1;
            f.last_rep = 0;
            continue;
        } else if (c == '^' || c == '$') {
            atom_null = 1;
        } else if ((c == '+' || c == '*' || c == '?') && f.last_null >= 0) {
            factor = c == '+' ? 2 : 1;
            to_null = c != '+';
        } else if (c == '{' && f.last_null >= 0 &&
                   (isdigit((unsigned char)r[i + 1]) || r[i + 1] == ',')) {
            size_t j = i + 1;
            double lo = 0, hi = -1;
            while (isdigit((unsigned char)r[j]) && lo < 1e6)
                lo = lo * 10 + (r[j++] - '0');
            if (r[j] == ',') {
                j++;
                if (isdigit((unsigned char)r[j])) {
                    hi = 0;
                    while (isdigit((unsigned char)r[j]) && hi < 1e6)
                        hi = hi * 10 + (r[j++] - '0');
                }
            } else {
                hi = lo;
            }
            if (r[j] == '}') {
                factor = hi < 0 ? lo + 1 : (hi > lo ? hi : lo);
                if (factor < 1)
                    factor = 1;
                to_null = lo == 0;
                i = j;
            }
        }
        if (factor > 0) {
            if (f.last_rep)
                return "a repetition operator follows another in the regular expression";
            if (f.last_null)
                return "a repetition of an expression that can match the empty string in the "
                       "regular expression";
            f.cur += f.last * (factor - 1);
            f.last *= factor;
            f.last_rep = 1;
            if (to_null) {
                f.last_null = 1;
                f.alt_null = f.alt_null_prev;
            }
        } else { /* one ordinary atom */
            f.cur += 1;
            f.last = 1;
            f.last_null = atom_null;
            f.last_rep = 0;
            f.alt_null_prev = f.alt_null;
            f.alt_null = f.alt_null && atom_null;
        }
        if (f.cur > Q_REGEX_NODES)
            return "repetitions too large in the regular expression";
    }
    return NULL;
}

int pl_regex_compile(const char *param, const char *pattern, void *out, struct pl_err *err)
{
    regex_t *re = out;
    char shown[Q_TOKEN_MAX + 4];
    show_token(shown, pattern);
    if (strlen(pattern) > Q_REGEX_MAX)
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "%s: regular expression longer than %d bytes '%s'", param, Q_REGEX_MAX,
                          shown);
    const char *why = regex_too_complex(pattern);
    if (why)
        return pl_err_set(err, PL_EBADREQUESTDATA, "%s: %s '%s'", param, why, shown);
    int rc = regcomp(re, pattern, REG_EXTENDED | REG_NOSUB);
    if (rc != 0) {
        char msg[96];
        regerror(rc, re, msg, sizeof msg);
        return pl_err_set(err, PL_EBADREQUESTDATA, "%s: invalid regular expression '%s' (%s)",
                          param, shown, msg);
    }
    return 0;
}

static int parse_regex(struct qp *p, struct pl_q_term *t)
{
    const char *s = p->s;
    size_t pos = p->i;
    char *pat = NULL;
    if (s[p->i] == '"') {
        const char *why = NULL;
        size_t j = p->i;
        int rc = json_string_decode(s, &j, &pat, &why);
        if (rc == PL_ENOMEM)
            return nomem(p);
        if (rc == 0) {
            size_t save = p->i;
            p->i = j;
            skip_ws(p);
            if (!at_term_end(p)) { /* not a quoted regex after all: take it raw */
                free(pat);
                pat = NULL;
                p->i = save;
            }
        }
    }
    if (!pat) {
        size_t e = regex_end(s, p->i);
        pat = dup_range(s, p->i, e);
        if (!pat)
            return nomem(p);
        p->i = e;
    }
    t->regex = pat;
    if (!*pat)
        return qerr(p, pos, "unexpected", "expected a regular expression");
    char shown[Q_TOKEN_MAX + 4];
    show_token(shown, pat);
    if (strlen(pat) > Q_REGEX_MAX)
        return pl_err_set(p->err, PL_EBADREQUESTDATA,
                          "q: at position %zu: regular expression longer than %d bytes '%s'", pos,
                          Q_REGEX_MAX, shown);
    int flags = REG_EXTENDED | REG_NOSUB;
    const char *body = pat;
    if (!strncmp(pat, "(?i)", 4)) {
        flags |= REG_ICASE;
        t->icase = 1;
        memmove(pat, pat + 4, strlen(pat + 4) + 1);
    }
    const char *why = regex_too_complex(pat);
    if (why)
        return pl_err_set(p->err, PL_EBADREQUESTDATA, "q: at position %zu: %s '%s'", pos, why,
                          shown);
    regex_t *re = malloc(sizeof *re);
    if (!re)
        return nomem(p);
    int rc = regcomp(re, body, flags);
    if (rc != 0) {
        char msg[96];
        regerror(rc, re, msg, sizeof msg);
        free(re);
        return pl_err_set(p->err, PL_EBADREQUESTDATA,
                          "q: at position %zu: invalid regular expression '%s' (%s)", pos, shown,
                          msg);
    }
    t->compiled = re;
    return 0;
}

static int parse_term(struct qp *p, struct pl_q_node **out)
{
    struct pl_q_node *n = calloc(1, sizeof *n);
    if (!n)
        return nomem(p);
    n->kind = PL_Q_TERM;
    struct pl_q_term *t = &n->term;
    t->pos = p->i;
    int neg = 0, rc;
    if (p->s[p->i] == '!') {
        neg = 1;
        p->i++;
    }
    if ((rc = parse_path(p, t)) != 0)
        goto fail;
    skip_ws(p);
    const char *s = p->s + p->i;
    if (neg || at_term_end(p)) {
        t->op = neg ? PL_QOP_NOT_EXISTS : PL_QOP_EXISTS;
        t->shape = PL_QVAL_NONE;
        if (!at_term_end(p)) {
            rc = qerr(p, p->i, "unexpected", "'!attribute' takes no operator or value");
            goto fail;
        }
        *out = n;
        return 0;
    }
    size_t oplen = 2;
    if (!strncmp(s, "==", 2))
        t->op = PL_QOP_EQ;
    else if (!strncmp(s, "!~=", 3))
        t->op = PL_QOP_NOMATCH, oplen = 3;
    else if (!strncmp(s, "!=", 2))
        t->op = PL_QOP_NE;
    else if (!strncmp(s, "~=", 2))
        t->op = PL_QOP_MATCH;
    else if (!strncmp(s, ">=", 2))
        t->op = PL_QOP_GE;
    else if (!strncmp(s, "<=", 2))
        t->op = PL_QOP_LE;
    else if (*s == '>')
        t->op = PL_QOP_GT, oplen = 1;
    else if (*s == '<')
        t->op = PL_QOP_LT, oplen = 1;
    else {
        rc = qerr(p, p->i, "unexpected", "expected an operator, ';', '|', ')' or end of input");
        goto fail;
    }
    p->i += oplen;
    skip_ws(p);
    if (t->op == PL_QOP_MATCH || t->op == PL_QOP_NOMATCH) {
        t->shape = PL_QVAL_NONE;
        rc = parse_regex(p, t);
    } else {
        rc = parse_values(p, t);
    }
    if (rc)
        goto fail;
    if (!at_term_end(p)) {
        rc = qerr(p, p->i, "unexpected", "expected ';', '|', ')' or end of input");
        goto fail;
    }
    *out = n;
    return 0;
fail:
    pl_q_free(n);
    return rc;
}

static int parse_primary(struct qp *p, struct pl_q_node **out)
{
    skip_ws(p);
    if (p->s[p->i] != '(') {
        int rc = parse_term(p, out);
        if (rc == 0)
            skip_ws(p);
        return rc;
    }
    size_t open = p->i;
    if (++p->depth > PL_Q_MAX_DEPTH)
        return qerr(p, open, "parentheses nested too deeply (more than 64) at", NULL);
    p->i++;
    int rc = parse_or(p, out);
    if (rc)
        return rc;
    skip_ws(p);
    if (p->s[p->i] != ')') {
        pl_q_free(*out);
        *out = NULL;
        return qerr(p, p->i, "unexpected", "expected ')'");
    }
    p->i++;
    p->depth--;
    skip_ws(p);
    return 0;
}

/* Joins the operands of `kind` separated by `sep` (flattening nested nodes of the same kind). */
static int parse_list(struct qp *p, enum pl_q_kind kind, char sep, struct pl_q_node **out)
{
    struct pl_q_node **kids = NULL, *x = NULL;
    size_t n = 0, cap = 0;
    int rc;
    for (;;) {
        rc = kind == PL_Q_AND ? parse_primary(p, &x) : parse_list(p, PL_Q_AND, ';', &x);
        if (rc)
            goto fail;
        if (x->kind == kind) {
            for (size_t i = 0; i < x->n_kids; i++) {
                if (push_ptr((void ***)&kids, &n, &cap, x->kids[i]) != 0) {
                    /* the rest of x's kids are still owned by x */
                    memmove(x->kids, x->kids + i, (x->n_kids - i) * sizeof *x->kids);
                    x->n_kids -= i;
                    pl_q_free(x);
                    rc = nomem(p);
                    goto fail;
                }
            }
            x->n_kids = 0;
            pl_q_free(x);
        } else if (push_ptr((void ***)&kids, &n, &cap, x) != 0) {
            pl_q_free(x);
            rc = nomem(p);
            goto fail;
        }
        x = NULL;
        if (p->s[p->i] != sep)
            break;
        p->i++;
    }
    if (n == 1) {
        *out = kids[0];
        free(kids);
        return 0;
    }
    struct pl_q_node *g = calloc(1, sizeof *g);
    if (!g) {
        rc = nomem(p);
        goto fail;
    }
    g->kind = kind;
    g->kids = kids;
    g->n_kids = n;
    *out = g;
    return 0;
fail:
    for (size_t i = 0; i < n; i++)
        pl_q_free(kids[i]);
    free(kids);
    return rc;
}

static int parse_or(struct qp *p, struct pl_q_node **out)
{
    return parse_list(p, PL_Q_OR, '|', out);
}

int pl_q_parse(const char *text, struct pl_q_node **out, struct pl_err *err)
{
    struct qp p = {text ? text : "", 0, 0, err};
    *out = NULL;
    struct pl_q_node *n = NULL;
    int rc = parse_or(&p, &n);
    if (rc)
        return rc;
    skip_ws(&p);
    if (p.s[p.i] != '\0') {
        pl_q_free(n);
        return qerr(&p, p.i, "unexpected", "expected ';', '|' or end of input");
    }
    *out = n;
    return 0;
}

/* ============================================================================================
 * Resolution
 * ========================================================================================== */

static int resolve_term(struct pl_q_term *t, const struct pl_ctx *ctx, struct pl_err *err)
{
    strv_free(t->path_iri, t->n_path);
    t->path_iri = calloc(t->n_path ? t->n_path : 1, sizeof *t->path_iri);
    if (!t->path_iri)
        return pl_err_set(err, PL_ENOMEM, "q: out of memory");
    for (size_t k = 0; k < t->n_path; k++) {
        if (k > 0 && t->special && k + 1 == t->n_path)
            t->path_iri[k] = strdup(t->path[k]);
        else
            t->path_iri[k] = pl_ctx_expand(ctx, t->path[k]);
        if (!t->path_iri[k]) {
            char tok[Q_TOKEN_MAX + 4];
            show_token(tok, t->path[k]);
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "q: at position %zu: cannot expand the attribute name '%s' with "
                              "the @context",
                              t->pos, tok);
        }
    }
    return 0;
}

int pl_q_resolve(struct pl_q_node *n, const struct pl_ctx *ctx, struct pl_err *err)
{
    if (!n)
        return 0;
    if (n->kind == PL_Q_TERM)
        return resolve_term(&n->term, ctx, err);
    for (size_t i = 0; i < n->n_kids; i++) {
        int rc = pl_q_resolve(n->kids[i], ctx, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* ============================================================================================
 * Target values
 * ========================================================================================== */

struct emit {
    pl_q_target_cb cb;
    void *ud;
    size_t n;
    const char *lang;
};

static void emit(struct emit *e, enum pl_qv_kind kind, double num, const char *str)
{
    struct pl_qv v = {kind, num, (char *)(uintptr_t)str, 0, e->lang};
    e->n++;
    if (e->cb)
        e->cb(e->ud, &v);
}

static int is_type(const char *t, const char *name)
{
    static const char ngsi[] = "https://uri.etsi.org/ngsi-ld/";
    if (!t)
        return 0;
    if (!strncmp(t, ngsi, sizeof ngsi - 1))
        t += sizeof ngsi - 1;
    return strcmp(t, name) == 0;
}

/* A scalar (or typed-literal object) by the Property rules. */
static void emit_scalar(struct emit *e, const json_t *v)
{
    double ms;
    if (json_is_number(v)) {
        emit(e, PL_QV_NUMBER, json_number_value(v), NULL);
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        emit(e, PL_QV_STRING, 0, s);
        if (pl_q_parse_datetime(s, &ms) == 0)
            emit(e, PL_QV_DATETIME, ms, s);
    } else if (json_is_boolean(v)) {
        emit(e, PL_QV_BOOL, json_is_true(v) ? 1 : 0, NULL);
    } else if (json_is_object(v)) {
        const char *t = json_string_value(json_object_get(v, "@type"));
        const char *s = json_string_value(json_object_get(v, "@value"));
        if (!t || !s)
            return;
        if (is_type(t, "DateTime")) {
            if (pl_q_parse_datetime(s, &ms) == 0)
                emit(e, PL_QV_DATETIME, ms, s);
        } else if (is_type(t, "Date") || is_type(t, "Time")) {
            emit(e, PL_QV_STRING, 0, s);
        }
    }
}

static void emit_value(struct emit *e, const json_t *v)
{
    if (json_is_array(v)) {
        size_t i;
        const json_t *x;
        json_array_foreach(v, i, x)
        {
            if (!json_is_array(x))
                emit_scalar(e, x);
        }
    } else {
        emit_scalar(e, v);
    }
}

/* objectList: each string, or each member object's "object" string, as URIs. */
static void emit_uris(struct emit *e, const json_t *v)
{
    if (json_is_string(v)) {
        emit(e, PL_QV_URI, 0, json_string_value(v));
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *x;
        json_array_foreach(v, i, x)
        {
            if (json_is_string(x))
                emit(e, PL_QV_URI, 0, json_string_value(x));
            else if (json_is_object(x) && json_is_string(json_object_get(x, "object")))
                emit(e, PL_QV_URI, 0, json_string_value(json_object_get(x, "object")));
        }
    }
}

/* A string or each string of an array, as URIs. */
static void emit_uri_strings(struct emit *e, const json_t *v)
{
    if (json_is_string(v)) {
        emit(e, PL_QV_URI, 0, json_string_value(v));
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *x;
        json_array_foreach(v, i, x)
        {
            if (json_is_string(x))
                emit(e, PL_QV_URI, 0, json_string_value(x));
        }
    }
}

static void emit_strings(struct emit *e, const json_t *v)
{
    if (json_is_string(v)) {
        emit(e, PL_QV_STRING, 0, json_string_value(v));
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *x;
        json_array_foreach(v, i, x)
        {
            if (json_is_string(x))
                emit(e, PL_QV_STRING, 0, json_string_value(x));
        }
    }
}

static const char *inst_type(const json_t *inst)
{
    const char *t = json_string_value(json_object_get(inst, "type"));
    if (!t && json_object_get(inst, "value"))
        t = "Property";
    return t ? t : "";
}

/* The JSON value a trailing path starts from, or NULL. */
static const json_t *trail_base(const json_t *inst, const char *type)
{
    if (!strcmp(type, "Property") || !strcmp(type, "GeoProperty"))
        return json_object_get(inst, "value");
    if (!strcmp(type, "ListProperty"))
        return json_object_get(inst, "valueList");
    if (!strcmp(type, "JsonProperty"))
        return json_object_get(inst, "json");
    return NULL;
}

static const json_t *trail_walk(const json_t *v, char *const *trail, size_t n)
{
    for (size_t k = 0; v && k < n; k++) {
        const char *seg = trail[k];
        if (json_is_object(v)) {
            v = json_object_get(v, seg);
        } else if (json_is_array(v)) {
            size_t len = strlen(seg), idx = 0;
            if (len == 0 || len > 9 || (len > 1 && seg[0] == '0'))
                return NULL;
            for (size_t j = 0; j < len; j++) {
                if (!isdigit((unsigned char)seg[j]))
                    return NULL;
                idx = idx * 10 + (size_t)(seg[j] - '0');
            }
            v = json_array_get(v, idx);
        } else {
            return NULL;
        }
    }
    return v;
}

int pl_q_instance_exists(const json_t *instance, char *const *trail, size_t n_trail)
{
    if (!json_is_object(instance))
        return 0;
    if (!trail || n_trail == 0)
        return 1;
    const char *type = inst_type(instance);
    if (!strcmp(type, "LanguageProperty")) {
        if (n_trail != 1)
            return 0;
        if (!strcmp(trail[0], "*"))
            return 1;
        return json_object_get(json_object_get(instance, "languageMap"), trail[0]) != NULL;
    }
    const json_t *base = trail_base(instance, type);
    return base && trail_walk(base, trail, n_trail) != NULL;
}

size_t pl_q_targets_lang(const json_t *instance, char *const *trail, size_t n_trail,
                         const char *lang, pl_q_target_cb cb, void *ud)
{
    struct emit e = {cb, ud, 0, NULL};
    if (!json_is_object(instance))
        return 0;
    if (!trail)
        n_trail = 0;
    const char *type = inst_type(instance);
    if (!strcmp(type, "LanguageProperty")) {
        const char *key = NULL;
        if (n_trail > 1)
            return 0;
        if (n_trail == 1 && strcmp(trail[0], "*") != 0)
            key = trail[0];
        if (lang && strcmp(lang, "*") != 0) {
            if (key && strcmp(key, lang) != 0)
                return 0;
            key = lang;
        }
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)(uintptr_t)json_object_get(instance, "languageMap"), k, v)
        {
            if (key && strcmp(k, key) != 0)
                continue;
            e.lang = k;
            emit_strings(&e, v);
        }
        return e.n;
    }
    if (n_trail) {
        const json_t *base = trail_base(instance, type);
        const json_t *v = base ? trail_walk(base, trail, n_trail) : NULL;
        if (v)
            emit_value(&e, v);
        return e.n;
    }
    if (!strcmp(type, "Property")) {
        emit_value(&e, json_object_get(instance, "value"));
    } else if (!strcmp(type, "Relationship")) {
        emit_uri_strings(&e, json_object_get(instance, "object"));
    } else if (!strcmp(type, "ListRelationship")) {
        emit_uris(&e, json_object_get(instance, "objectList"));
    } else if (!strcmp(type, "VocabProperty")) {
        emit_uri_strings(&e, json_object_get(instance, "vocab"));
    } else if (!strcmp(type, "ListProperty")) {
        size_t i;
        const json_t *x;
        json_array_foreach(json_object_get(instance, "valueList"), i, x) emit_value(&e, x);
    }
    return e.n;
}

size_t pl_q_targets(const json_t *instance, char *const *trail, size_t n_trail, pl_q_target_cb cb,
                    void *ud)
{
    return pl_q_targets_lang(instance, trail, n_trail, NULL, cb, ud);
}

/* ============================================================================================
 * Evaluation
 * ========================================================================================== */

struct acc {
    const struct pl_q_term *t;
    int exists;
    int hit; /* EQ/NE: some target equals / is in range; others: the operator holds */
};

static int compatible(const struct pl_qv *lit, const struct pl_qv *tv)
{
    switch (lit->kind) {
    case PL_QV_STRING:
    case PL_QV_URI:
        return tv->kind == PL_QV_STRING || tv->kind == PL_QV_URI;
    default:
        return lit->kind == tv->kind;
    }
}

/* <0, 0, >0 like strcmp; only for compatible values. */
static int compare(const struct pl_qv *tv, const struct pl_qv *lit)
{
    if (lit->kind == PL_QV_STRING || lit->kind == PL_QV_URI) {
        int c = strcmp(tv->str ? tv->str : "", lit->str ? lit->str : "");
        return c < 0 ? -1 : c > 0;
    }
    return tv->num < lit->num ? -1 : tv->num > lit->num ? 1 : 0;
}

static int equal(const struct pl_qv *tv, const struct pl_qv *lit)
{
    if (!compatible(lit, tv))
        return 0;
    if (lit->kind == PL_QV_STRING || lit->kind == PL_QV_URI)
        return strcmp(tv->str ? tv->str : "", lit->str ? lit->str : "") == 0;
    return tv->num == lit->num;
}

static void on_target(void *ud, const struct pl_qv *v)
{
    struct acc *a = ud;
    const struct pl_q_term *t = a->t;
    if (a->hit)
        return;
    switch (t->op) {
    case PL_QOP_EQ:
    case PL_QOP_NE:
        if (t->shape == PL_QVAL_RANGE) {
            a->hit = compatible(&t->vals[0], v) && compare(v, &t->vals[0]) >= 0 &&
                     compare(v, &t->vals[1]) <= 0;
        } else {
            for (size_t i = 0; i < t->n_vals && !a->hit; i++)
                a->hit = equal(v, &t->vals[i]);
        }
        break;
    case PL_QOP_GT:
    case PL_QOP_GE:
    case PL_QOP_LT:
    case PL_QOP_LE: {
        if (t->n_vals < 1 || v->kind == PL_QV_URI || !compatible(&t->vals[0], v))
            break;
        int c = compare(v, &t->vals[0]);
        a->hit = t->op == PL_QOP_GT   ? c > 0
                 : t->op == PL_QOP_GE ? c >= 0
                 : t->op == PL_QOP_LT ? c < 0
                                      : c <= 0;
        break;
    }
    case PL_QOP_MATCH:
    case PL_QOP_NOMATCH:
        if (v->kind == PL_QV_STRING && t->compiled) {
            int m = regexec((const regex_t *)t->compiled, v->str, 0, NULL, 0) == 0;
            a->hit = t->op == PL_QOP_MATCH ? m : !m;
        }
        break;
    default:
        break;
    }
}

static const char *path_name(const struct pl_q_term *t, size_t k)
{
    return t->path_iri && t->path_iri[k] ? t->path_iri[k] : t->path[k];
}

static void visit_any(const struct pl_q_term *t, const json_t *v, size_t k, struct acc *a);

static void visit_special(const struct pl_q_term *t, const json_t *inst, struct acc *a)
{
    const char *m = t->path[t->n_path - 1];
    const json_t *x = json_object_get(inst, m);
    if (!x)
        return;
    a->exists = 1;
    const char *s = json_string_value(x);
    if (!s)
        return;
    struct emit e = {on_target, a, 0, NULL};
    double ms;
    if (!strcmp(m, "unitCode"))
        emit(&e, PL_QV_STRING, 0, s);
    else if (!strcmp(m, "datasetId"))
        emit(&e, PL_QV_URI, 0, s);
    else if (pl_q_parse_datetime(s, &ms) == 0)
        emit(&e, PL_QV_DATETIME, ms, s);
}

/* `inst` is an instance reached for path element k. */
static void visit_inst(const struct pl_q_term *t, const json_t *inst, size_t k, struct acc *a)
{
    if (!json_is_object(inst))
        return;
    if (k + 1 == t->n_path) {
        if (!pl_q_instance_exists(inst, t->trail, t->n_trail))
            return;
        a->exists = 1;
        if (t->op != PL_QOP_EXISTS && t->op != PL_QOP_NOT_EXISTS)
            pl_q_targets(inst, t->trail, t->n_trail, on_target, a);
        return;
    }
    if (t->special && k + 2 == t->n_path) {
        visit_special(t, inst, a);
        return;
    }
    visit_any(t, json_object_get(json_object_get(inst, "sub"), path_name(t, k + 1)), k + 1, a);
}

static void visit_any(const struct pl_q_term *t, const json_t *v, size_t k, struct acc *a)
{
    if (json_is_array(v)) {
        size_t i;
        const json_t *x;
        json_array_foreach(v, i, x) visit_inst(t, x, k, a);
    } else {
        visit_inst(t, v, k, a);
    }
}

int pl_q_term_match(const struct pl_q_term *t, const json_t *entity)
{
    struct acc a = {t, 0, 0};
    if (!t || t->n_path == 0)
        return 0;
    visit_any(t, json_object_get(json_object_get(entity, "attrs"), path_name(t, 0)), 0, &a);
    switch (t->op) {
    case PL_QOP_EXISTS:
        return a.exists;
    case PL_QOP_NOT_EXISTS:
        return !a.exists;
    case PL_QOP_NE:
        return a.exists && !a.hit;
    default:
        return a.exists && a.hit;
    }
}

int pl_q_match(const struct pl_q_node *n, const json_t *entity)
{
    if (!n)
        return 1;
    switch (n->kind) {
    case PL_Q_TERM:
        return pl_q_term_match(&n->term, entity);
    case PL_Q_AND:
        for (size_t i = 0; i < n->n_kids; i++) {
            if (!pl_q_match(n->kids[i], entity))
                return 0;
        }
        return 1;
    case PL_Q_OR:
        for (size_t i = 0; i < n->n_kids; i++) {
            if (pl_q_match(n->kids[i], entity))
                return 1;
        }
        return 0;
    }
    return 0;
}
