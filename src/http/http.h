/* SPDX-License-Identifier: Apache-2.0 */
/*
 * http.h — the HTTP front: a libmicrohttpd server (epoll, a small thread pool), the request and
 * response objects handlers see, the route table, and the ProblemDetails writer.
 *
 * Request flow: MHD accumulates the body -> the pre-handler phases run in order (method/route
 * lookup, body limits, Content-Type / Accept / Link checks, tenant) -> the route's handler runs:
 * parse -> validate -> act -> serialize. A handler either answers at once (PL_HANDLER_DONE) or
 * starts an asynchronous store write and returns PL_HANDLER_SUSPENDED; the connection is then
 * suspended (no thread is held) and resumed by pl_req_resume() from the writer's callback, after
 * which the handler's continuation (req->cont) runs on a network thread to serialize.
 *
 * Handlers never free request memory themselves: what they attach with pl_req_defer_free /
 * pl_req_defer_decref is released when the response is done (h2o's request pool, in spirit).
 */
#ifndef PL_HTTP_HTTP_H
#define PL_HTTP_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <sys/socket.h>

#include "base/err.h"
#include "http/negotiate.h"

struct pl_app;
struct pl_req;
struct pl_principal;

enum pl_method {
    PL_M_GET = 0x1,
    PL_M_POST = 0x2,
    PL_M_PUT = 0x4,
    PL_M_PATCH = 0x8,
    PL_M_DELETE = 0x10,
    PL_M_HEAD = 0x20,
    PL_M_OPTIONS = 0x40,
    PL_M_OTHER = 0x80
};

#define PL_HANDLER_DONE      0
#define PL_HANDLER_SUSPENDED 1

typedef int (*pl_handler_fn)(struct pl_req *r);

/* Route flags: what the pre-handler phases check for this route. */
#define PL_ROUTE_BODY      0x1u /* takes a JSON body (Content-Type checked, body required) */
#define PL_ROUTE_GEO       0x2u /* application/geo+json is an acceptable response type */
#define PL_ROUTE_NO_ACCEPT 0x4u /* the Accept header is not checked (health, static) */
/* Also takes application/merge-patch+json (as application/json) on a POST: real FIWARE clients
 * send it on attribute appends. PATCH routes always take it (6.3.4). */
#define PL_ROUTE_MERGE_PATCH 0x8u

/* The NGSI-LD version the payloads conform to (Preference-Applied, clause 6.3.6). */
#define PL_HTTP_NGSILD_VERSION "1.9"

/*
 * One URI parameter a route accepts (NGSI-LD 6.3.7 and the URL parameter tables of clause 6).
 * A route's list ends with a {NULL} row. The parameter phase answers, before the handler runs:
 * an unknown or repeated parameter (cardinality 0..1) with 400 InvalidRequest; a parameter of
 * the spec that Polis does not implement (PL_PARAM_NOT_IMPLEMENTED) with 501; a value outside
 * `values` (each comma-separated item when PL_PARAM_LIST) with 400 InvalidRequest.
 */
#define PL_PARAM_LIST            0x1u /* a comma-separated list: each item is checked */
#define PL_PARAM_NOT_IMPLEMENTED 0x2u /* defined by the spec, not implemented: 501 */

struct pl_param {
    const char *name;          /* as written in the URL, e.g. "options" */
    unsigned flags;            /* PL_PARAM_* */
    const char *const *values; /* the allowed values (NULL-terminated); NULL: any value */
};

/*
 * Checks one URI parameter (name and value already percent-decoded; value "" when it came
 * without '=') against `accepted`. `seen` has one bit per row of `accepted` (at most 64 rows)
 * and catches repeats; zero it before the first parameter of a request. Returns 0, or
 * PL_EINVALIDREQUEST / PL_ENOTIMPLEMENTED with `err` filled (http/params.c).
 */
int pl_http_param_check(const struct pl_param *accepted, const char *name, const char *value,
                        unsigned long long *seen, struct pl_err *err);

/* One row of the route table: a path pattern whose segments are literals or "*" (captured, in
 * order, into req->params), a method, flags, the handler and the URI parameters it accepts. */
struct pl_route {
    enum pl_method method;         /* one method */
    const char *pattern;           /* e.g. "/ngsi-ld/v1/entities/ * /attrs/ *" without spaces */
    unsigned flags;                /* PL_ROUTE_* */
    pl_handler_fn handler;         /* the handler */
    const struct pl_param *params; /* accepted URI parameters; NULL: not checked (non NGSI-LD) */
};

#define PL_REQ_MAX_PARAMS  4
#define PL_REQ_MAX_HEADERS 8

/* One release attached to a request (see pl_req_defer). */
struct pl_req_defer {
    void (*fn)(void *); /* the release */
    void *arg;          /* its argument */
};

struct pl_req {
    struct pl_app *app;            /* the application (borrowed) */
    void *conn_;                   /* the MHD connection (private) */
    enum pl_method method;         /* request method */
    const char *path;              /* decoded path, without query (borrowed from MHD) */
    const char *params[PL_REQ_MAX_PARAMS]; /* the "*" segments of the route, decoded */
    int n_params;                  /* how many */
    const char *body;              /* request body, NUL-terminated (NULL when none) */
    size_t body_len;               /* its length */
    enum pl_mime content_type;     /* classified Content-Type */
    enum pl_mime accept;           /* chosen response type (json, ld+json, geo+json) */
    const char *link_context;      /* URL of the JSON-LD context Link header, or NULL */
    json_t *ld_context;            /* the request's @context as given (the Link URL as a JSON
                                      string, or the body's "@context" member), NULL when none;
                                      set by the api layer, which holds the reference until the
                                      response is done */
    const char *tenant;            /* NGSILD-Tenant header, "" when absent */
    const struct pl_principal *principal; /* who is asking (auth/auth.h), set by the
                                      authenticate hook; NULL when auth is off (allow all) */
    char client_addr[48];          /* the peer's IP address as text ("" when unknown) */
    int tls;                       /* 1 on an HTTPS connection (e.g. a cookie is then Secure) */
    const struct pl_route *route;  /* the matched route */

    /* continuation after a suspended async operation */
    int (*cont)(struct pl_req *r); /* runs on a network thread after pl_req_resume */
    void *job;                     /* the handler's state while suspended */

    /* response under construction */
    int status;                    /* HTTP status */
    char *resp_body;               /* malloc'd body or NULL */
    size_t resp_len;               /* its length */
    const char *resp_type;         /* Content-Type (static string) */
    char *hdr_name[PL_REQ_MAX_HEADERS];  /* extra response headers (malloc'd) */
    char *hdr_value[PL_REQ_MAX_HEADERS];
    int n_hdr;

    struct pl_req_defer *defers;   /* releases run at the end, last first (grows) */
    int n_defer;                   /* used entries */
    int cap_defer;                 /* allocated entries */

    int state_;                    /* private to server.c */
    int too_large_;                /* private: the body exceeded the limit */
    int prefer_version_;           /* private: a Prefer: ngsi-ld=<version> was given */
    size_t body_cap_;              /* private: allocated size of body */
};

/* Query argument (decoded) or NULL. Borrowed; valid for the request. */
const char *pl_req_arg(struct pl_req *r, const char *name);
/* The query string as received (still percent-encoded), without the arguments named skip1 and
 * skip2 (either may be NULL): "a=1&b=2", "" when none. NEW malloc'd (free()), NULL on OOM. */
char *pl_req_query_without(struct pl_req *r, const char *skip1, const char *skip2);
/* Request header or NULL. Borrowed. */
const char *pl_req_header(struct pl_req *r, const char *name);

/* Adds a response header (both strings copied). Silently drops beyond PL_REQ_MAX_HEADERS. */
void pl_req_add_header(struct pl_req *r, const char *name, const char *value);

/* Attach a release to the request: fn(arg) runs when the response is done (last in, first
 * out). The table grows as needed. If it cannot grow (out of memory) the object is leaked, not
 * released early (callers keep using it), a warning is logged and -1 returned. */
int pl_req_defer(struct pl_req *r, void (*fn)(void *), void *arg);
/* Shorthands: free(p) / json_decref(j) at the end. NULL is ignored. */
void pl_req_defer_free(struct pl_req *r, void *p);
void pl_req_defer_decref(struct pl_req *r, json_t *j);

/* Response helpers. Each sets status and body; the handler then returns PL_HANDLER_DONE. */
void pl_reply_empty(struct pl_req *r, int status);
/* Takes ownership of `body` (a malloc'd string). */
void pl_reply_raw(struct pl_req *r, int status, const char *type, char *body, size_t len);
/* Serializes `j` (borrowed). */
void pl_reply_json(struct pl_req *r, int status, const char *type, const json_t *j);

/*
 * Answers with a ProblemDetails body (clause 5.5.3; application/json, no Link header; 6.3.3).
 * Returns PL_HANDLER_DONE so a handler can `return pl_reply_problem(r, &err);` ("OrReply").
 */
int pl_reply_problem(struct pl_req *r, const struct pl_err *e);
/* Same, from a code and a printf-style detail. */
int pl_reply_error(struct pl_req *r, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Percent-encodes `s` for use as ONE path segment (RFC 3986: unreserved, sub-delims, ':' and
 * '@' kept; '/', '?', '#', '%' and the rest encoded). Returns a NEW malloc'd string or NULL. */
char *pl_http_encode_segment(const char *s);

/* Resumes a suspended request; callable from any thread, exactly once per suspension. */
void pl_req_resume(struct pl_req *r);

/* ------------------------------------------------------------------------------------------
 * The server.
 * ---------------------------------------------------------------------------------------- */
struct pl_http;

struct pl_http_config {
    const char *host;              /* listen address, e.g. "127.0.0.1" */
    int port;                      /* listen port (0: any free port) */
    int threads;                   /* network threads (thread pool size) */
    size_t max_body;               /* 413 above */
    unsigned conn_timeout_s;       /* idle connection timeout */
    const struct pl_route *routes; /* route table (borrowed; must outlive the server) */
    size_t n_routes;
    /* Runs after the tenant phase, before the handler, on every routed request: sets
     * r->principal (and releases what it attaches with pl_req_defer), or answers (401 with
     * WWW-Authenticate) and returns 1. NULL: no authentication (auth off). */
    int (*authenticate)(struct pl_req *r);
    /* Runs right after authenticate, before the handler: decides whether r->principal may use
     * the route at all in r->tenant (api/access.c), or answers 401/403 and returns 1.
     * NULL: no authorization (auth off). */
    int (*authorize)(struct pl_req *r);
    /* Sees every response just before it is sent (status, headers, r->principal set): the
     * audit log (auth/audit.h). Must not block. NULL: none. */
    void (*on_response)(struct pl_req *r);
    /* The edge (issue 12; app/edge.c fills these from the options and the profile). */
    const char *tls_cert;          /* PEM certificate (chain) file: HTTPS when set */
    const char *tls_key;           /* its PEM private key file */
    unsigned rate_principal;       /* requests/s per principal (none: per address); 0 off */
    unsigned rate_principal_burst; /* bucket size of rate_principal */
    unsigned rate_addr;            /* requests/s per client address (IPv6: /64); 0 off */
    unsigned rate_addr_burst;      /* bucket size of rate_addr */
    unsigned max_conns_per_addr;   /* open connections per client address; 0 off */
    unsigned header_timeout_s;     /* complete headers within, since idle; 0 off */
    unsigned body_timeout_s;       /* complete body within, since the headers; 0 off */
};

/* The listen address `host` ("localhost", IPv4, IPv6 with or without brackets; no resolver:
 * "localhost" is 127.0.0.1) and `port` as a socket address. 0, or -1 when not an address. */
int pl_http_listen_addr(const char *host, int port, struct sockaddr_storage *out);
/* 1 when `host` is a loopback address: 127.0.0.0/8, ::1 (also v4-mapped 127/8) or "localhost";
 * 0 for anything else, names included (src/http/listen.c). */
int pl_http_host_is_loopback(const char *host);

/* Starts listening. Returns 0 and *out, or PL_EINTERNAL with words (e.g. port in use). */
int pl_http_start(const struct pl_http_config *cfg, struct pl_app *app, struct pl_http **out,
                  struct pl_err *err);
/* SIGHUP: loads the TLS certificate and key files again and serves them to new handshakes,
 * without closing the listener or any connection. A failure (unreadable or bad file, a key
 * that is not the certificate's) is logged and keeps the current ones: returns -1. Without
 * TLS: 0, nothing to do. Any thread. */
int pl_http_reload_tls(struct pl_http *h);
/* Counters of the edge since the start (GET /metrics "edge"). */
struct pl_http_stats {
    unsigned long long rate_limited;   /* requests answered 429 (either rate limit) */
    unsigned long long deadline_cuts;  /* connections cut for a missed header/body deadline */
    unsigned long long tls_reloads;    /* successful certificate reloads */
    unsigned long long tls_reload_failures; /* reloads refused (the previous files stay) */
};
void pl_http_stats(const struct pl_http *h, struct pl_http_stats *out);
/* The port actually bound (useful with port 0). */
int pl_http_port(const struct pl_http *h);
/* Stops accepting, finishes in-flight requests and frees the server. NULL is a no-op. */
void pl_http_stop(struct pl_http *h);

#endif
