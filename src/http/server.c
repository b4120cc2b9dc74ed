/* SPDX-License-Identifier: Apache-2.0 */
/*
 * server.c — the libmicrohttpd adapter: connection state machine, body accumulation with the
 * size limit, the ordered pre-handler phases (route, preconditions of clause 6.3.4/6.3.5,
 * tenant), suspend/resume around asynchronous store writes, and response emission.
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth/auth.h"
#include "auth/tenant.h"
#include "base/jsonfmt.h"
#include "base/log.h"
#include "base/strbuf.h"
#include "http/deadline.h"
#include "http/ratelimit.h"
#include "http/tls.h"

struct pl_http {
    struct MHD_Daemon *d;           /* the daemon */
    struct pl_http_config cfg;      /* copy of the configuration */
    struct pl_app *app;             /* passed to every request */
    atomic_int stopping;            /* 1 once pl_http_stop began: new requests get 503 */
    atomic_int inflight;            /* requests between dispatch and response */
    struct pl_ratelimit *rl_addr;   /* buckets per client address (NULL: no limit; owned) */
    struct pl_ratelimit *rl_princ;  /* buckets per principal (NULL: no limit; owned) */
    struct pl_http_watch *watch;    /* connection states and deadlines (owned) */
    struct pl_http_tls *tls;        /* HTTPS certificate and key (owned; NULL: plain HTTP) */
    atomic_ullong rate_limited;     /* requests answered 429 */
    atomic_ullong tls_reloads;      /* certificate reloads that took effect */
    atomic_ullong tls_reload_fails; /* reloads refused */
};

/* Buckets per rate table: bounded memory (about 0.5 MB each), enough for the active clients of
 * a city; beyond, the least recently active are forgotten first (http/ratelimit.h). */
#define RATE_TABLE_BUCKETS 16384

enum req_state { ST_READING = 0, ST_SUSPENDED, ST_RESPONDED };

/* Suspension handshake (resume may race with suspend; see suspend_or_resume()). */
enum { SUSP_NONE = 0, SUSP_SUSPENDED, SUSP_RESUME_ASKED };

struct req_impl {
    struct pl_req pub;  /* must be first: handlers see only this */
    struct pl_http *h;  /* the server */
    atomic_int susp;    /* SUSP_* */
    int counted;        /* counted in h->inflight */
    struct pl_http_conn *cs; /* the connection's state (deadlines; NULL: none) */
};

/* ---------------------------------------------------------------------------------------------
 * Request helpers
 * ------------------------------------------------------------------------------------------ */
/* libmicrohttpd is told not to decode the URL (unescape_none below): a %2F inside an entity id
 * must not split a path segment. So query values are decoded here, on first use, exactly as
 * libmicrohttpd would have. */
const char *pl_req_arg(struct pl_req *r, const char *name)
{
    const char *raw = MHD_lookup_connection_value(r->conn_, MHD_GET_ARGUMENT_KIND, name);
    if (!raw)
        return NULL;
    char *v = strdup(raw);
    if (!v)
        return NULL;
    pl_req_defer_free(r, v);
    size_t n = MHD_http_unescape(v);
    if (n != strlen(v))
        return ""; /* %00 inside a value: treated as empty (then rejected by its parser) */
    return v;
}

struct query_acc {
    struct pl_strbuf b;
    const char *skip1, *skip2;
};

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    (void)kind;
    struct query_acc *a = cls;
    if ((a->skip1 && strcmp(key, a->skip1) == 0) || (a->skip2 && strcmp(key, a->skip2) == 0))
        return MHD_YES;
    if (a->b.len)
        pl_strbuf_putc(&a->b, '&');
    pl_strbuf_puts(&a->b, key); /* keys and values are still percent-encoded (unescape_none) */
    if (value) {
        pl_strbuf_putc(&a->b, '=');
        pl_strbuf_puts(&a->b, value);
    }
    return MHD_YES;
}

char *pl_req_query_without(struct pl_req *r, const char *skip1, const char *skip2)
{
    struct query_acc a = {{NULL, 0, 0, 0}, skip1, skip2};
    MHD_get_connection_values(r->conn_, MHD_GET_ARGUMENT_KIND, add_arg, &a);
    if (a.b.nomem) {
        pl_strbuf_dispose(&a.b);
        return NULL;
    }
    return a.b.p ? a.b.p : strdup("");
}

const char *pl_req_header(struct pl_req *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn_, MHD_HEADER_KIND, name);
}

void pl_req_add_header(struct pl_req *r, const char *name, const char *value)
{
    if (r->n_hdr >= PL_REQ_MAX_HEADERS)
        return;
    char *n = strdup(name);
    char *v = strdup(value);
    if (!n || !v) {
        free(n);
        free(v);
        return;
    }
    r->hdr_name[r->n_hdr] = n;
    r->hdr_value[r->n_hdr] = v;
    r->n_hdr++;
}

int pl_req_defer(struct pl_req *r, void (*fn)(void *), void *arg)
{
    if (r->n_defer == r->cap_defer) {
        int cap = r->cap_defer ? r->cap_defer * 2 : 16;
        struct pl_req_defer *d = realloc(r->defers, (size_t)cap * sizeof *d);
        if (!d) {
            pl_log_warn("out of memory: leaking a request object on %s", r->path);
            return -1;
        }
        r->defers = d;
        r->cap_defer = cap;
    }
    r->defers[r->n_defer].fn = fn;
    r->defers[r->n_defer].arg = arg;
    r->n_defer++;
    return 0;
}

void pl_req_defer_free(struct pl_req *r, void *p)
{
    if (p)
        pl_req_defer(r, free, p);
}

static void decref_cb(void *j)
{
    json_decref((json_t *)j);
}

void pl_req_defer_decref(struct pl_req *r, json_t *j)
{
    if (j)
        pl_req_defer(r, decref_cb, j);
}

void pl_reply_raw(struct pl_req *r, int status, const char *type, char *body, size_t len)
{
    free(r->resp_body);
    r->status = status;
    r->resp_type = type;
    r->resp_body = body;
    r->resp_len = len;
}

void pl_reply_empty(struct pl_req *r, int status)
{
    pl_reply_raw(r, status, NULL, NULL, 0);
}

void pl_reply_json(struct pl_req *r, int status, const char *type, const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    if (!s) {
        pl_reply_error(r, PL_ENOMEM, "cannot serialize the response");
        return;
    }
    pl_reply_raw(r, status, type, s, pl_json_shorten_reals(s));
}

int pl_reply_problem(struct pl_req *r, const struct pl_err *e)
{
    char *s = pl_err_problem_json(e);
    int status = pl_err_http_status(e ? e->code : PL_EINTERNAL);
    /* Errors drop any header a handler prepared (no Link on errors: clause 6.3.6). */
    for (int i = 0; i < r->n_hdr; i++) {
        free(r->hdr_name[i]);
        free(r->hdr_value[i]);
    }
    r->n_hdr = 0;
    if (!s) {
        pl_reply_empty(r, status);
        return PL_HANDLER_DONE;
    }
    pl_reply_raw(r, status, "application/json", s, strlen(s));
    return PL_HANDLER_DONE;
}

int pl_reply_error(struct pl_req *r, int code, const char *fmt, ...)
{
    struct pl_err e;
    va_list ap;
    e.code = code;
    va_start(ap, fmt);
    vsnprintf(e.detail, sizeof e.detail, fmt, ap);
    va_end(ap);
    return pl_reply_problem(r, &e);
}

void pl_req_resume(struct pl_req *r)
{
    struct req_impl *ri = (struct req_impl *)r;
    int old = atomic_exchange(&ri->susp, SUSP_RESUME_ASKED);
    if (old == SUSP_SUSPENDED)
        MHD_resume_connection(r->conn_);
}

/* Called by the access handler right after a handler returned PL_HANDLER_SUSPENDED. */
static void suspend_or_resume(struct req_impl *ri)
{
    MHD_suspend_connection(ri->pub.conn_);
    int expected = SUSP_NONE;
    if (!atomic_compare_exchange_strong(&ri->susp, &expected, SUSP_SUSPENDED)) {
        /* The operation finished before we suspended: resume at once. */
        MHD_resume_connection(ri->pub.conn_);
    }
}

static void req_free(struct req_impl *ri)
{
    struct pl_req *r = &ri->pub;
    free((void *)r->body);
    free(r->resp_body);
    for (int i = 0; i < r->n_hdr; i++) {
        free(r->hdr_name[i]);
        free(r->hdr_value[i]);
    }
    for (int i = r->n_defer - 1; i >= 0; i--)
        r->defers[i].fn(r->defers[i].arg);
    free(r->defers);
    free(ri);
}

/* ---------------------------------------------------------------------------------------------
 * Routing
 * ------------------------------------------------------------------------------------------ */
static enum pl_method method_of(const char *m)
{
    static const struct {
        const char *name;
        enum pl_method m;
    } t[] = {{"GET", PL_M_GET},       {"POST", PL_M_POST},     {"PUT", PL_M_PUT},
             {"PATCH", PL_M_PATCH},   {"DELETE", PL_M_DELETE}, {"HEAD", PL_M_HEAD},
             {"OPTIONS", PL_M_OPTIONS}};
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (strcmp(m, t[i].name) == 0)
            return t[i].m;
    }
    return PL_M_OTHER;
}

/* Matches `path` against `pattern`; fills params (pointers into `scratch`, a writable copy of
 * path whose '/' separators are overwritten with NULs). One trailing '/' is accepted. A "*"
 * matches a non-empty segment, or also an empty one when `allow_empty` (then *empty_at is the
 * index of the first empty one, else -1). Returns 1 on match. */
static int match(const char *pattern, char *scratch, int allow_empty, const char **params,
                 int *n_params, int *empty_at)
{
    const char *p = pattern;
    char *s = scratch;
    int n = 0;
    *empty_at = -1;
    while (*p) {
        if (*p != '/' || *s != '/')
            return 0;
        p++;
        s++;
        const char *pend = strchr(p, '/');
        size_t plen = pend ? (size_t)(pend - p) : strlen(p);
        char *send = strchr(s, '/');
        size_t slen = send ? (size_t)(send - s) : strlen(s);
        if (plen == 1 && *p == '*') {
            if ((slen == 0 && !allow_empty) || n >= PL_REQ_MAX_PARAMS)
                return 0;
            if (slen == 0 && *empty_at < 0)
                *empty_at = n;
            params[n++] = s;
        } else if (plen != slen || strncmp(p, s, plen) != 0) {
            return 0;
        }
        p += plen;
        s += slen;
    }
    if (*s && strcmp(s, "/") != 0)
        return 0;
    /* Terminate the captured segments. */
    for (int i = 0; i < n; i++) {
        char *slash = strchr((char *)params[i], '/');
        if (slash)
            *slash = '\0';
    }
    *n_params = n;
    return 1;
}

/* Finds the route for (method, path). Returns the route, or NULL with *allowed set to the
 * methods the path accepts (0 when the path is unknown). */
static const struct pl_route *route_find(struct pl_http *h, struct pl_req *r, unsigned *allowed)
{
    *allowed = 0;
    size_t len = strlen(r->path);
    for (size_t i = 0; i < h->cfg.n_routes; i++) {
        const struct pl_route *rt = &h->cfg.routes[i];
        char *scratch = malloc(len + 1);
        if (!scratch)
            return NULL;
        memcpy(scratch, r->path, len + 1);
        const char *params[PL_REQ_MAX_PARAMS];
        int n = 0, empty_at;
        if (!match(rt->pattern, scratch, 0, params, &n, &empty_at)) {
            free(scratch);
            continue;
        }
        if (rt->method == r->method || (r->method == PL_M_HEAD && rt->method == PL_M_GET)) {
            pl_req_defer_free(r, scratch);
            /* Segments arrive percent-encoded (see pl_req_arg): decode each on its own. A
             * segment that decodes to a NUL byte matches nothing. */
            for (int k = 0; k < n; k++) {
                char *seg = (char *)params[k];
                size_t decoded = MHD_http_unescape(seg);
                if (decoded != strlen(seg))
                    return NULL;
                r->params[k] = seg;
            }
            r->n_params = n;
            return rt;
        }
        *allowed |= rt->method;
        free(scratch);
    }
    return NULL;
}

/* What the `k`-th "*" of `pattern` stands for, named after the literal segment before it. */
static const char *segment_name(const char *pattern, int k)
{
    static const struct {
        const char *literal;
        const char *name;
    } t[] = {{"entities", "entity id"},          {"attrs", "attribute name"},
             {"subscriptions", "subscription id"}, {"jsonldContexts", "@context id"},
             {"types", "entity type"},           {"attributes", "attribute name"}};
    const char *prev = NULL, *p = pattern;
    size_t prev_len = 0;
    int star = 0;
    while (*p == '/') {
        p++;
        size_t len = strcspn(p, "/");
        if (len == 1 && *p == '*') {
            if (star++ == k)
                break;
        }
        prev = p;
        prev_len = len;
        p += len;
    }
    if (prev && prev_len == 1 && *prev == '*')
        return "instance id"; /* temporal .../attrs/{attrId}/{instanceId} */
    for (size_t i = 0; prev && i < sizeof t / sizeof t[0]; i++) {
        if (strlen(t[i].literal) == prev_len && strncmp(prev, t[i].literal, prev_len) == 0)
            return t[i].name;
    }
    return "identifier";
}

/* The route of this method that the path would match if an empty segment stood for an id:
 * "/entities//attrs", "PUT /entities/". Sets *what to the name of the missing segment. */
static const struct pl_route *route_with_empty_id(struct pl_http *h, struct pl_req *r,
                                                  const char **what)
{
    size_t len = strlen(r->path);
    char *scratch = malloc(len + 1);
    if (!scratch)
        return NULL;
    const struct pl_route *found = NULL;
    for (size_t i = 0; !found && i < h->cfg.n_routes; i++) {
        const struct pl_route *rt = &h->cfg.routes[i];
        if (rt->method != r->method && !(r->method == PL_M_HEAD && rt->method == PL_M_GET))
            continue;
        memcpy(scratch, r->path, len + 1);
        const char *params[PL_REQ_MAX_PARAMS];
        int n = 0, empty_at;
        if (match(rt->pattern, scratch, 1, params, &n, &empty_at) && empty_at >= 0) {
            found = rt;
            *what = segment_name(rt->pattern, empty_at);
        }
    }
    free(scratch);
    return found;
}

static void allow_header(struct pl_req *r, unsigned allowed)
{
    static const struct {
        unsigned m;
        const char *name;
    } t[] = {{PL_M_GET, "GET"},     {PL_M_POST, "POST"},     {PL_M_PUT, "PUT"},
             {PL_M_PATCH, "PATCH"}, {PL_M_DELETE, "DELETE"}};
    char buf[64] = "";
    size_t n = 0;
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        if (allowed & t[i].m)
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? ", " : "", t[i].name);
    }
    pl_req_add_header(r, "Allow", buf);
}

/* ---------------------------------------------------------------------------------------------
 * Pre-handler phases (clause 6.3.4, 6.3.5). Each returns 0 to continue, or 1 when it answered.
 * ------------------------------------------------------------------------------------------ */
static int phase_route(struct req_impl *ri)
{
    struct pl_req *r = &ri->pub;
    unsigned allowed;
    r->route = route_find(ri->h, r, &allowed);
    if (r->route)
        return 0;
    const char *what = NULL;
    if (route_with_empty_id(ri->h, r, &what)) {
        /* 5.6.x.4: "If the ... id is not present ... BadRequestData" (not 404 or 405). */
        pl_reply_error(r, PL_EBADREQUESTDATA, "the %s is missing in the path %.200s", what,
                       r->path);
        return 1;
    }
    if (allowed) {
        pl_reply_error(r, PL_EMETHODNOTALLOWED, "method not allowed on %s", r->path);
        allow_header(r, allowed);
        return 1;
    }
    pl_reply_error(r, PL_ENOTFOUND, "no resource at %s", r->path);
    return 1;
}

static int phase_body(struct req_impl *ri)
{
    struct pl_req *r = &ri->pub;
    if (r->too_large_) {
        pl_reply_error(r, PL_ETOOLARGE, "request body exceeds %zu bytes", ri->h->cfg.max_body);
        return 1;
    }
    if (!(r->route->flags & PL_ROUTE_BODY))
        return 0;
    r->content_type = pl_negotiate_content_type(pl_req_header(r, "Content-Type"));
    int ok = r->content_type == PL_MIME_JSON || r->content_type == PL_MIME_LDJSON ||
             (r->content_type == PL_MIME_MERGE_PATCH &&
              (r->method == PL_M_PATCH || (r->route->flags & PL_ROUTE_MERGE_PATCH)));
    if (!ok) {
        /* 6.3.4 asks for "just a 415"; like the peers we add a ProblemDetails body, which a
         * client that only looks at the status ignores (docs/conformance.md). */
        const char *ct = pl_req_header(r, "Content-Type");
        pl_reply_error(r, PL_EUNSUPPORTEDMEDIA,
                       "Content-Type '%.100s' is not supported: use application/json or "
                       "application/ld+json",
                       ct ? ct : "(none)");
        return 1;
    }
    if (r->content_type == PL_MIME_MERGE_PATCH)
        r->content_type = PL_MIME_JSON; /* 6.3.4: equivalent to application/json */
    if (!r->body || r->body_len == 0) {
        pl_reply_error(r, PL_EINVALIDREQUEST, "a JSON request body is required");
        return 1;
    }
    return 0;
}

static int phase_accept(struct req_impl *ri)
{
    struct pl_req *r = &ri->pub;
    if (r->route->flags & PL_ROUTE_NO_ACCEPT) {
        r->accept = PL_MIME_JSON;
        return 0;
    }
    r->accept = pl_negotiate_accept(pl_req_header(r, "Accept"), r->route->flags & PL_ROUTE_GEO);
    if (r->accept == PL_MIME_NONE) {
        pl_reply_error(r, PL_ENOTACCEPTABLE,
                       (r->route->flags & PL_ROUTE_GEO)
                           ? "available representations: application/json, "
                             "application/ld+json, application/geo+json"
                           : "available representations: application/json, application/ld+json");
        return 1;
    }
    return 0;
}

/* Collects every Link header value (a client may send several) into one comma list. */
struct link_acc {
    char *buf;  /* joined values (malloc'd) */
    size_t len; /* used bytes */
    int oom;    /* an allocation failed */
};

static enum MHD_Result collect_link(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind;
    struct link_acc *a = cls;
    if (strcasecmp(key, "Link") != 0 || !value)
        return MHD_YES;
    size_t n = strlen(value);
    char *b = realloc(a->buf, a->len + n + 3);
    if (!b) {
        a->oom = 1;
        return MHD_NO;
    }
    a->buf = b;
    if (a->len) {
        memcpy(a->buf + a->len, ", ", 2);
        a->len += 2;
    }
    memcpy(a->buf + a->len, value, n + 1);
    a->len += n;
    return MHD_YES;
}

static int phase_link(struct req_impl *ri)
{
    struct pl_req *r = &ri->pub;
    struct link_acc acc = {NULL, 0, 0};
    MHD_get_connection_values(r->conn_, MHD_HEADER_KIND, collect_link, &acc);
    if (acc.oom) {
        free(acc.buf);
        pl_reply_error(r, PL_ENOMEM, "out of memory");
        return 1;
    }
    if (!acc.buf)
        return 0;
    pl_req_defer_free(r, acc.buf);
    size_t cap = acc.len + 1;
    char *url = malloc(cap);
    if (!url) {
        pl_reply_error(r, PL_ENOMEM, "out of memory");
        return 1;
    }
    pl_req_defer_free(r, url);
    int rc = pl_negotiate_context_link(acc.buf, url, cap);
    if (rc < 0) {
        pl_reply_error(r, PL_EBADREQUESTDATA, "malformed Link header");
        return 1;
    }
    if (rc == 0)
        return 0;
    if ((r->route->flags & PL_ROUTE_BODY) && r->content_type == PL_MIME_LDJSON) {
        /* 6.3.5: no mixes. */
        pl_reply_error(r, PL_EBADREQUESTDATA,
                       "a JSON-LD context Link header is not allowed with "
                       "Content-Type application/ld+json: put @context in the body");
        return 1;
    }
    r->link_context = url;
    return 0;
}

static int phase_tenant(struct req_impl *ri)
{
    struct pl_req *r = &ri->pub;
    const char *t = pl_req_header(r, "NGSILD-Tenant");
    if (!t) {
        r->tenant = "";
        return 0;
    }
    if (!pl_tenant_name_valid(t)) {
        pl_reply_error(r, PL_EBADREQUESTDATA, "NGSILD-Tenant must be " PL_TENANT_RULE);
        return 1;
    }
    r->tenant = t;
    return 0;
}

/* The URI parameters against the route's list (pl_http_param_check). */
struct param_acc {
    const struct pl_param *accepted;
    unsigned long long seen;
    struct pl_err err; /* the first failure */
};

static enum MHD_Result check_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    struct param_acc *a = cls;
    /* keys and values are still percent-encoded (unescape_none): decode copies */
    size_t nk = strlen(key), nv = value ? strlen(value) : 0;
    char *k = malloc(nk + nv + 2);
    if (!k) {
        pl_err_set(&a->err, PL_ENOMEM, "out of memory");
        return MHD_NO;
    }
    char *v = k + nk + 1;
    memcpy(k, key, nk + 1);
    memcpy(v, value ? value : "", nv + 1);
    int nul = MHD_http_unescape(k) != strlen(k) || MHD_http_unescape(v) != strlen(v);
    int rc = nul ? pl_err_set(&a->err, PL_EINVALIDREQUEST, "a URI parameter contains %%00")
                 : pl_http_param_check(a->accepted, k, v, &a->seen, &a->err);
    free(k);
    return rc == 0 ? MHD_YES : MHD_NO;
}

/* 6.3.7 and the URL parameter tables of clause 6: see pl_http_param_check. */
static int phase_params(struct req_impl *ri)
{
    struct pl_req *r = &ri->pub;
    if (!r->route->params)
        return 0;
    struct param_acc a = {r->route->params, 0, {PL_OK, ""}};
    MHD_get_connection_values(r->conn_, MHD_GET_ARGUMENT_KIND, check_arg, &a);
    if (a.err.code == PL_OK)
        return 0;
    pl_reply_problem(r, &a.err);
    return 1;
}

/* Prefer: ngsi-ld=<version> (6.3.6, 4.3.6.8). Never fails: an unknown preference is ignored. */
static int phase_prefer(struct req_impl *ri)
{
    struct pl_req *r = &ri->pub;
    char v[16];
    r->prefer_version_ = pl_negotiate_prefer_version(pl_req_header(r, "Prefer"), v, sizeof v);
    return 0;
}

/* Who is asking (pl_http_config.authenticate; auth/auth.h). */
static int phase_auth(struct req_impl *ri)
{
    int (*fn)(struct pl_req *) = ri->h->cfg.authenticate;
    return fn ? fn(&ri->pub) : 0;
}

/* May the principal use this route in this tenant (pl_http_config.authorize)? Before the
 * handler, so a refused request reads and writes nothing. */
static int phase_authorize(struct req_impl *ri)
{
    int (*fn)(struct pl_req *) = ri->h->cfg.authorize;
    return fn ? fn(&ri->pub) : 0;
}

/* ---------------------------------------------------------------------------------------------
 * Rate limits (issue 12): one token bucket per client address, checked first, and one per
 * principal, checked once the principal is known. 429 TooManyRequests with Retry-After.
 * ------------------------------------------------------------------------------------------ */
/* The bucket key of a client address: an IPv4 address, or the /64 of an IPv6 address (one
 * host usually holds a whole /64, so per-address would be trivial to evade). */
static size_t addr_key(const char *addr, unsigned char *key)
{
    struct in6_addr a6;
    key[0] = 'a';
    if (inet_pton(AF_INET6, addr, &a6) == 1) {
        static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(a6.s6_addr, mapped, 12) == 0) { /* ::ffff:a.b.c.d is a.b.c.d */
            memcpy(key + 1, a6.s6_addr + 12, 4);
            return 5;
        }
        memcpy(key + 1, a6.s6_addr, 8);
        return 9;
    }
    struct in_addr a4;
    if (inet_pton(AF_INET, addr, &a4) == 1) {
        memcpy(key + 1, &a4, 4);
        return 5;
    }
    size_t n = strnlen(addr, 47); /* unknown form: the text itself */
    memcpy(key + 1, addr, n);
    return n + 1;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

/* Takes a token from `rl` for `key`, or answers 429 with Retry-After and returns 1. */
static int rate_take_or_reply(struct pl_req *r, struct pl_ratelimit *rl, const void *key,
                              size_t len, const char *per, unsigned rate)
{
    unsigned retry = 1;
    if (pl_ratelimit_take(rl, key, len, mono_ns(), &retry))
        return 0;
    struct req_impl *ri = (struct req_impl *)(void *)r;
    atomic_fetch_add(&ri->h->rate_limited, 1);
    pl_reply_error(r, PL_ETOOMANYREQUESTS,
                   "more than %u requests per second %s: retry after %u s", rate, per, retry);
    char v[16];
    snprintf(v, sizeof v, "%u", retry);
    pl_req_add_header(r, "Retry-After", v);
    return 1;
}

static int phase_rate_addr(struct req_impl *ri)
{
    struct pl_http *h = ri->h;
    if (!h->rl_addr)
        return 0;
    unsigned char key[64];
    size_t n = addr_key(ri->pub.client_addr, key);
    return rate_take_or_reply(&ri->pub, h->rl_addr, key, n, "from this address",
                              h->cfg.rate_addr);
}

/* After the authenticate phase: the principal's bucket; no principal (auth off) or the public
 * one: the client address's. */
static int phase_rate_principal(struct req_impl *ri)
{
    struct pl_http *h = ri->h;
    if (!h->rl_princ)
        return 0;
    const struct pl_principal *p = ri->pub.principal;
    unsigned char key[1 + 2 + PL_TENANT_MAX + 1 + PL_PRINCIPAL_NAME_MAX];
    size_t n;
    if (!p || p->cred == PL_CRED_NONE) {
        n = addr_key(ri->pub.client_addr, key);
    } else {
        /* "p" cred tenant NUL name: the same name in two tenants is two principals */
        const char *t = p->all_tenants ? "*" : p->tenant;
        size_t tl = strnlen(t, PL_TENANT_MAX), nl = strnlen(p->name, PL_PRINCIPAL_NAME_MAX);
        key[0] = 'p';
        key[1] = (unsigned char)('0' + (int)p->cred);
        memcpy(key + 2, t, tl);
        key[2 + tl] = '\0';
        memcpy(key + 3 + tl, p->name, nl);
        n = 3 + tl + nl;
    }
    return rate_take_or_reply(&ri->pub, h->rl_princ, key, n,
                              p && p->cred != PL_CRED_NONE ? "for this principal"
                                                           : "from this address",
                              h->cfg.rate_principal);
}

typedef int (*phase_fn)(struct req_impl *ri);
static const phase_fn phases[] = {phase_rate_addr, phase_route,          phase_body,
                                  phase_accept,    phase_link,           phase_params,
                                  phase_tenant,    phase_auth,           phase_rate_principal,
                                  phase_authorize, phase_prefer};

/* ---------------------------------------------------------------------------------------------
 * MHD callbacks
 * ------------------------------------------------------------------------------------------ */
static enum MHD_Result send_response(struct req_impl *ri)
{
    struct pl_req *r = &ri->pub;
    if (ri->h->cfg.on_response)
        ri->h->cfg.on_response(r);
    struct MHD_Response *resp;
    int has_body = r->resp_body != NULL;
    if (r->resp_body) {
        resp = MHD_create_response_from_buffer(r->resp_len, r->resp_body, MHD_RESPMEM_MUST_FREE);
        if (resp)
            r->resp_body = NULL; /* now owned by MHD */
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!resp)
        return MHD_NO;
    if (r->resp_type)
        MHD_add_response_header(resp, "Content-Type", r->resp_type);
    for (int i = 0; i < r->n_hdr; i++)
        MHD_add_response_header(resp, r->hdr_name[i], r->hdr_value[i]);
    /* 6.3.6: a request that asked for a version with "Prefer: ngsi-ld=" learns which one the
     * payload conforms to. Polis does not rewrite payloads for older versions (no 203): its
     * payloads are always those of PL_HTTP_NGSILD_VERSION. */
    if (r->prefer_version_ && has_body && r->status >= 200 && r->status < 300)
        MHD_add_response_header(resp, "Preference-Applied", "ngsi-ld=" PL_HTTP_NGSILD_VERSION);
    /* NGSI-LD 5.5.10: the tenant an operation applied to is given in its response too. */
    if (r->tenant && r->tenant[0])
        MHD_add_response_header(resp, "NGSILD-Tenant", r->tenant);
    enum MHD_Result ret = MHD_queue_response(r->conn_, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    if (ri->counted) {
        ri->counted = 0;
        atomic_fetch_sub(&ri->h->inflight, 1);
    }
    ri->pub.state_ = ST_RESPONDED;
    pl_http__conn_phase(ri->cs, PL_CONN_BUSY); /* answering: no deadline */
    return ret;
}

static enum MHD_Result dispatch(struct req_impl *ri)
{
    struct pl_req *r = &ri->pub;
    atomic_fetch_add(&ri->h->inflight, 1);
    ri->counted = 1;
    pl_http__conn_phase(ri->cs, PL_CONN_BUSY); /* the request is complete */
    if (atomic_load(&ri->h->stopping)) {
        pl_reply_error(r, PL_EINTERNAL, "the server is shutting down");
        r->status = 503;
        return send_response(ri);
    }
    for (size_t i = 0; i < sizeof phases / sizeof phases[0]; i++) {
        if (phases[i](ri))
            return send_response(ri);
    }
    int rc = r->route->handler(r);
    if (rc == PL_HANDLER_SUSPENDED) {
        r->state_ = ST_SUSPENDED;
        suspend_or_resume(ri);
        return MHD_YES;
    }
    return send_response(ri);
}

/* The peer's address as text (rate limits, audit). "" when MHD cannot tell. */
static void client_addr_of(struct MHD_Connection *conn, char *buf, size_t cap)
{
    buf[0] = '\0';
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr)
        return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
                  (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
                  (socklen_t)cap);
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *conn, const char *url,
                                 const char *method, const char *version,
                                 const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct pl_http *h = cls;
    struct req_impl *ri = *con_cls;

    if (!ri) {
        ri = calloc(1, sizeof *ri);
        if (!ri)
            return MHD_NO;
        *con_cls = ri;
        ri->h = h;
        atomic_init(&ri->susp, SUSP_NONE);
        struct pl_req *r = &ri->pub;
        r->app = h->app;
        r->conn_ = conn;
        r->method = method_of(method);
        r->path = url;
        r->tenant = "";
        r->status = 500;
        r->state_ = ST_READING;
        client_addr_of(conn, r->client_addr, sizeof r->client_addr);
        r->tls = h->tls != NULL;
        /* The headers are complete: now the body deadline runs (http/deadline.h). */
        const union MHD_ConnectionInfo *sc =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
        ri->cs = sc ? sc->socket_context : NULL;
        pl_http__conn_phase(ri->cs, PL_CONN_WAIT_BODY);
        if (r->method == PL_M_POST || r->method == PL_M_PUT || r->method == PL_M_PATCH) {
            const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
            const char *te =
                MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Transfer-Encoding");
            if (!cl && !te) {
                /* 6.3.4 asks for "just a 411"; a ProblemDetails body says why (as for 415). */
                pl_reply_error(r, PL_ELENGTHREQUIRED,
                               "a %s request needs a Content-Length header", method);
                return send_response(ri);
            }
            if (cl) {
                char *end;
                unsigned long long n = strtoull(cl, &end, 10);
                if (*end == '\0' && n > h->cfg.max_body)
                    r->too_large_ = 1;
            }
        }
        return MHD_YES;
    }

    struct pl_req *r = &ri->pub;
    if (r->state_ == ST_READING && *upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_large_ || r->body_len + n > h->cfg.max_body) {
            r->too_large_ = 1;
            return MHD_YES; /* keep reading and discarding; answer 413 at the end */
        }
        if (r->body_len + n + 1 > r->body_cap_) {
            size_t cap = r->body_cap_ ? r->body_cap_ : 4096;
            while (cap < r->body_len + n + 1)
                cap *= 2;
            char *b = realloc((void *)r->body, cap);
            if (!b)
                return MHD_NO;
            r->body = b;
            r->body_cap_ = cap;
        }
        memcpy((char *)r->body + r->body_len, upload_data, n);
        r->body_len += n;
        ((char *)r->body)[r->body_len] = '\0';
        return MHD_YES;
    }
    if (r->state_ == ST_READING)
        return dispatch(ri);
    if (r->state_ == ST_SUSPENDED) {
        /* Resumed: run the continuation. */
        atomic_store(&ri->susp, SUSP_NONE);
        r->state_ = ST_READING;
        int rc = r->cont ? r->cont(r) : pl_reply_error(r, PL_EINTERNAL, "no continuation");
        if (rc == PL_HANDLER_SUSPENDED) {
            r->state_ = ST_SUSPENDED;
            suspend_or_resume(ri);
            return MHD_YES;
        }
        return send_response(ri);
    }
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct req_impl *ri = *con_cls;
    if (ri && ri->counted)
        atomic_fetch_sub(&ri->h->inflight, 1);
    if (ri) /* keep-alive: the next request's headers are due from now */
        pl_http__conn_phase(ri->cs, PL_CONN_WAIT_HEADERS);
    if (ri)
        req_free(ri);
    *con_cls = NULL;
}

/* One TCP connection starts or ends: its state for the deadlines (http/deadline.h). */
static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    struct pl_http *h = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        *socket_context = ci ? pl_http__conn_open(h->watch, ci->connect_fd) : NULL;
    } else {
        pl_http__conn_close(h->watch, *socket_context);
        *socket_context = NULL;
    }
}

/* libmicrohttpd hands us its own format strings; they are not ours to check. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
/* Keeps the URL as received: routing splits on '/' first and decodes each segment itself. */
static size_t unescape_none(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return strlen(s);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char buf[512];
    vsnprintf(buf, sizeof buf, fmt, ap);
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    pl_log_debug("http: %s", buf);
}
#pragma GCC diagnostic pop

/* GnuTLS priorities of the listener: its defaults without the protocol versions before 1.2. */
static char tls_priorities[] = "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2";

/* Releases what pl_http_start built (the daemon already stopped or never started). */
static void http_free(struct pl_http *h)
{
    pl_ratelimit_free(h->rl_addr);
    pl_ratelimit_free(h->rl_princ);
    pl_http__tls_free(h->tls);
    pl_http__watch_free(h->watch); /* releases the credentials connections still held */
    free(h);
}

int pl_http_start(const struct pl_http_config *cfg, struct pl_app *app, struct pl_http **out,
                  struct pl_err *err)
{
    struct pl_http *h = calloc(1, sizeof *h);
    if (!h)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    h->cfg = *cfg;
    h->app = app;
    struct sockaddr_storage sa;
    if (pl_http_listen_addr(cfg->host, cfg->port, &sa) != 0) {
        http_free(h);
        return pl_err_set(err, PL_EINTERNAL, "invalid listen address '%s'", cfg->host);
    }
    if (cfg->rate_addr)
        h->rl_addr = pl_ratelimit_new(RATE_TABLE_BUCKETS, cfg->rate_addr, cfg->rate_addr_burst);
    if (cfg->rate_principal)
        h->rl_princ = pl_ratelimit_new(RATE_TABLE_BUCKETS, cfg->rate_principal,
                                       cfg->rate_principal_burst);
    if ((cfg->rate_addr && !h->rl_addr) || (cfg->rate_principal && !h->rl_princ) ||
        pl_http__watch_new(cfg->header_timeout_s, cfg->body_timeout_s, &h->watch) != 0) {
        http_free(h);
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    }
    if (cfg->tls_cert) {
        if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES ||
            MHD_is_feature_supported(MHD_FEATURE_HTTPS_CERT_CALLBACK) != MHD_YES) {
            http_free(h);
            return pl_err_set(err, PL_EINTERNAL,
                              "this libmicrohttpd is built without TLS: --tls-cert cannot work");
        }
        int rc = pl_http__tls_new(cfg->tls_cert, cfg->tls_key, h->watch, &h->tls, err);
        if (rc != 0) {
            http_free(h);
            return rc;
        }
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (sa.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    if (h->tls)
        flags |= MHD_USE_TLS;
    /* The options that depend on the configuration, given as one MHD_OPTION_ARRAY. */
    struct MHD_OptionItem edge[8];
    int n = 0;
    if (cfg->max_conns_per_addr)
        edge[n++] = (struct MHD_OptionItem){MHD_OPTION_PER_IP_CONNECTION_LIMIT,
                                            (intptr_t)cfg->max_conns_per_addr, NULL};
    if (h->tls) /* TLS 1.2 and 1.3 only */
        edge[n++] = (struct MHD_OptionItem){MHD_OPTION_HTTPS_PRIORITIES, 0, tls_priorities};
    edge[n] = (struct MHD_OptionItem){MHD_OPTION_END, 0, NULL};
    h->d = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_access, h, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(cfg->threads > 0 ? cfg->threads : 4),
        MHD_OPTION_CONNECTION_TIMEOUT, cfg->conn_timeout_s ? cfg->conn_timeout_s : 60u,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log,
        NULL, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_UNESCAPE_CALLBACK, unescape_none,
        NULL, MHD_OPTION_NOTIFY_CONNECTION, on_connection, h, MHD_OPTION_ARRAY, edge,
        /* last: the certificate callback, or the end of the list without TLS */
        h->tls ? MHD_OPTION_HTTPS_CERT_CALLBACK : MHD_OPTION_END, pl_http__tls_retrieve,
        MHD_OPTION_END);
    if (!h->d) {
        http_free(h);
        return pl_err_set(err, PL_EINTERNAL, "cannot listen on %s:%d", cfg->host, cfg->port);
    }
    if (h->tls && pl_http__tls_register(h->tls, pl_http_port(h)) != 0) {
        MHD_stop_daemon(h->d);
        http_free(h);
        return pl_err_set(err, PL_EINTERNAL, "too many TLS listeners in one process");
    }
    *out = h;
    return 0;
}

int pl_http_reload_tls(struct pl_http *h)
{
    if (!h || !h->tls)
        return 0;
    struct pl_err e;
    pl_err_clear(&e);
    if (pl_http__tls_reload(h->tls, &e) != 0) {
        atomic_fetch_add(&h->tls_reload_fails, 1);
        return -1;
    }
    atomic_fetch_add(&h->tls_reloads, 1);
    return 0;
}

void pl_http_stats(const struct pl_http *h, struct pl_http_stats *out)
{
    struct pl_http *m = (struct pl_http *)h; /* atomics are read, not changed */
    out->rate_limited = atomic_load(&m->rate_limited);
    out->deadline_cuts = pl_http__watch_cuts(m->watch);
    out->tls_reloads = atomic_load(&m->tls_reloads);
    out->tls_reload_failures = atomic_load(&m->tls_reload_fails);
}

int pl_http_port(const struct pl_http *h)
{
    const union MHD_DaemonInfo *i = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
    return i ? i->port : -1;
}

void pl_http_stop(struct pl_http *h)
{
    if (!h)
        return;
    /* Stop accepting, refuse new requests, then wait (bounded) for requests whose store write
     * is in flight: MHD must not be stopped while a connection is suspended. */
    atomic_store(&h->stopping, 1);
    MHD_quiesce_daemon(h->d);
    for (int i = 0; i < 1000 && atomic_load(&h->inflight) > 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    MHD_stop_daemon(h->d);
    http_free(h);
}
