/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_ctxreg.c — unit tests of ctxreg/ctxreg.c: resolving through the registry, the preload
 * map, never caching failed downloads, and the hosted-context operations (NGSI-LD 5.13).
 * Runs without a store (store NULL) and without network (the only URL fetched is a closed local
 * port). Needs POLIS_SOURCE_DIR (the repository root) for the preload map.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "ctxreg/ctxreg.h"

#define SELF "http://127.0.0.1:19999"
#define WEATHER                                                                                    \
    "https://raw.githubusercontent.com/smart-data-models/dataModel.Weather/master/"                \
    "context.jsonld"
#define ISSUES                                                                                     \
    "https://raw.githubusercontent.com/smart-data-models/dataModel.IssueTracking/"                 \
    "master/context.jsonld"
#define UNREACHABLE "http://127.0.0.1:1/x.jsonld"

static char preload_dir[4096];

static struct pl_ctxreg *new_reg(int with_preload)
{
    struct pl_ctxreg_config cfg = {0};
    cfg.self_url = SELF;
    cfg.fetch_timeout_ms = 2000;
    cfg.connect_timeout_ms = 1000;
    if (with_preload) {
        const char *root = getenv("POLIS_SOURCE_DIR");
        if (!root)
            root = ".";
        snprintf(preload_dir, sizeof preload_dir, "%s/data/contexts/preload", root);
        cfg.preload_dir = preload_dir;
    }
    struct pl_ctxreg *r = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_ctxreg_new(&cfg, NULL, &r, &err);
    if (rc)
        print_error("pl_ctxreg_new: %s\n", err.detail);
    assert_int_equal(rc, 0);
    return r;
}

static void assert_expands(struct pl_ctx *c, const char *term, const char *iri)
{
    char *e = pl_ctx_expand(c, term);
    assert_non_null(e);
    assert_string_equal(e, iri);
    free(e);
}

static int resolve_str(struct pl_ctxreg *r, const char *url, struct pl_ctx **c, struct pl_err *e)
{
    json_t *v = json_string(url);
    int rc = pl_ctxreg_resolve(r, v, c, e);
    json_decref(v);
    return rc;
}

static size_t count_kind(struct pl_ctxreg *r, const char *kind)
{
    json_t *l = NULL;
    assert_int_equal(pl_ctxreg_list(r, 0, kind, &l, NULL), 0);
    size_t n = json_array_size(l);
    json_decref(l);
    return n;
}

static int listed(struct pl_ctxreg *r, const char *url)
{
    json_t *l = NULL, *v;
    size_t i;
    int found = 0;
    assert_int_equal(pl_ctxreg_list(r, 0, NULL, &l, NULL), 0);
    json_array_foreach(l, i, v)
    {
        if (strcmp(json_string_value(v), url) == 0)
            found = 1;
    }
    json_decref(l);
    return found;
}

/* ---------------------------------------------------------------------------------------- */

static void ctxreg_without_store_resolves_core(void **state)
{
    (void)state;
    struct pl_ctxreg *r = new_reg(0);
    struct pl_ctx *c = NULL;
    assert_int_equal(pl_ctxreg_resolve(r, NULL, &c, NULL), 0);
    assert_expands(c, "location", "https://uri.etsi.org/ngsi-ld/location");
    pl_ctx_unref(c);
    /* Any core version URL resolves without network. */
    assert_int_equal(resolve_str(r,
                                 "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.6.jsonld",
                                 &c, NULL),
                     0);
    pl_ctx_unref(c);
    /* The core context is listed and served, and cannot be deleted. */
    assert_true(listed(r, PL_CORE_CONTEXT_URL));
    json_t *doc = NULL;
    assert_int_equal(pl_ctxreg_get(r, PL_CORE_CONTEXT_URL, 1, &doc, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(doc, "kind")), "Cached");
    json_decref(doc);
    /* NGSI-LD 5.13.4.4: it is Cached, so its content is not served. */
    assert_int_equal(pl_ctxreg_get(r, PL_CORE_CONTEXT_URL, 0, &doc, NULL), PL_EOPNOTSUPPORTED);
    assert_null(doc);
    assert_int_equal(pl_ctxreg_delete(r, PL_CORE_CONTEXT_URL, 0, NULL), PL_EBADREQUESTDATA);
    pl_ctxreg_free(r);
}

static void ctxreg_compiled_contexts_are_cached(void **state)
{
    (void)state;
    struct pl_ctxreg *r = new_reg(0);
    json_t *a = json_loads("{\"b\": \"http://e.org/b\", \"a\": \"http://e.org/a\"}", 0, NULL);
    json_t *b = json_loads("{\"a\": \"http://e.org/a\", \"b\": \"http://e.org/b\"}", 0, NULL);
    struct pl_ctx *c1 = NULL, *c2 = NULL;
    assert_int_equal(pl_ctxreg_resolve(r, a, &c1, NULL), 0);
    assert_int_equal(pl_ctxreg_resolve(r, b, &c2, NULL), 0);
    assert_ptr_equal(c1, c2); /* same canonical text */
    assert_expands(c1, "a", "http://e.org/a");
    /* Inline contexts are listed as ImplicitlyCreated. */
    assert_int_equal(count_kind(r, "ImplicitlyCreated"), 1);
    pl_ctx_unref(c1);
    pl_ctx_unref(c2);
    json_decref(a);
    json_decref(b);
    pl_ctxreg_free(r);
}

static void ctxreg_preload_map_resolves_from_disk(void **state)
{
    (void)state;
    struct pl_ctxreg *r = new_reg(1);
    struct pl_ctx *c = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = resolve_str(r, WEATHER, &c, &err);
    if (rc)
        print_error("%s\n", err.detail);
    assert_int_equal(rc, 0);
    assert_expands(c, "dateObserved", "https://smartdatamodels.org/dateObserved");
    assert_expands(c, "location", "https://uri.etsi.org/ngsi-ld/location");
    pl_ctx_unref(c);
    assert_true(listed(r, WEATHER));
    /* The IssueTracking context is invalid JSON-LD 1.1 (invalid IRI mapping). */
    assert_int_equal(resolve_str(r, ISSUES, &c, &err), PL_EBADREQUESTDATA);
    /* Details and reload (a preloaded entry is re-read from its file). */
    json_t *l = NULL;
    assert_int_equal(pl_ctxreg_list(r, 1, "Cached", &l, NULL), 0);
    assert_true(json_array_size(l) >= 10);
    json_t *item = json_array_get(l, 0);
    assert_non_null(json_object_get(item, "URL"));
    assert_non_null(json_object_get(item, "localId"));
    assert_string_equal(json_string_value(json_object_get(item, "kind")), "Cached");
    assert_non_null(json_object_get(item, "createdAt"));
    assert_non_null(json_object_get(item, "numberOfHits"));
    json_decref(l);
    assert_int_equal(pl_ctxreg_delete(r, WEATHER, 1, &err), 0);
    assert_int_equal(resolve_str(r, WEATHER, &c, &err), 0);
    pl_ctx_unref(c);
    assert_int_equal(pl_ctxreg_delete(r, WEATHER, 0, &err), 0);
    assert_false(listed(r, WEATHER));
    pl_ctxreg_free(r);
}

static void ctxreg_bad_preload_dir_fails(void **state)
{
    (void)state;
    struct pl_ctxreg_config cfg = {0};
    cfg.preload_dir = "/nonexistent/polis/preload";
    struct pl_ctxreg *r = NULL;
    struct pl_err err;
    assert_int_equal(pl_ctxreg_new(&cfg, NULL, &r, &err), PL_EINTERNAL);
    assert_null(r);
}

static void ctxreg_unreachable_url_is_ldcontext_and_not_cached(void **state)
{
    (void)state;
    struct pl_ctxreg *r = new_reg(0);
    struct pl_ctx *c = NULL;
    struct pl_err err;
    for (int i = 0; i < 2; i++) {
        pl_err_clear(&err);
        assert_int_equal(resolve_str(r, UNREACHABLE, &c, &err), PL_ELDCONTEXT);
        assert_null(c);
        assert_int_equal(err.code, PL_ELDCONTEXT);
        assert_non_null(strstr(err.detail, UNREACHABLE)); /* tried again: a fresh curl error */
        assert_false(listed(r, UNREACHABLE));
    }
    /* Inside an array too. */
    json_t *v = json_loads("[{\"a\": \"http://e.org/a\"}, \"" UNREACHABLE "\"]", 0, NULL);
    assert_int_equal(pl_ctxreg_resolve(r, v, &c, &err), PL_ELDCONTEXT);
    assert_int_equal(count_kind(r, "ImplicitlyCreated"), 0);
    json_decref(v);
    /* Non-http schemes are never fetched. */
    assert_int_equal(resolve_str(r, "file:///etc/passwd", &c, &err), PL_ELDCONTEXT);
    pl_ctxreg_free(r);
}

static void ctxreg_hosted_add_get_list_delete(void **state)
{
    (void)state;
    struct pl_ctxreg *r = new_reg(0);
    struct pl_err err;
    pl_err_clear(&err);
    json_t *body = json_loads("{\"@context\": {\"foo\": \"http://e.org/foo\"}}", 0, NULL);
    char *url = NULL;
    assert_int_equal(pl_ctxreg_add(r, body, &url, &err), 0);
    assert_non_null(url);
    assert_int_equal(strncmp(url, SELF "/ngsi-ld/v1/jsonldContexts/", 39), 0);
    const char *local_id = url + strlen(SELF "/ngsi-ld/v1/jsonldContexts/");

    json_t *doc = NULL;
    assert_int_equal(pl_ctxreg_get(r, local_id, 0, &doc, &err), 0);
    assert_true(json_equal(doc, body));
    json_decref(doc);
    assert_int_equal(pl_ctxreg_get(r, url, 0, &doc, &err), 0);
    json_decref(doc);

    json_t *l = NULL;
    assert_int_equal(pl_ctxreg_list(r, 1, "Hosted", &l, &err), 0);
    assert_int_equal(json_array_size(l), 1);
    json_t *item = json_array_get(l, 0);
    assert_string_equal(json_string_value(json_object_get(item, "URL")), url);
    assert_string_equal(json_string_value(json_object_get(item, "localId")), local_id);
    assert_string_equal(json_string_value(json_object_get(item, "kind")), "Hosted");
    json_decref(l);

    /* The hosted URL resolves locally (nothing listens on SELF). */
    struct pl_ctx *c = NULL;
    assert_int_equal(resolve_str(r, url, &c, &err), 0);
    assert_expands(c, "foo", "http://e.org/foo");
    pl_ctx_unref(c);

    /* A Hosted context cannot be reloaded. */
    assert_int_equal(pl_ctxreg_delete(r, local_id, 1, &err), PL_EBADREQUESTDATA);
    assert_int_equal(pl_ctxreg_delete(r, local_id, 0, &err), 0);
    assert_int_equal(pl_ctxreg_get(r, url, 0, &doc, &err), PL_ENOTFOUND);
    assert_int_equal(pl_ctxreg_delete(r, url, 0, &err), PL_ENOTFOUND);
    /* Deleted: the URL is ours, so it is not available (and never fetched). */
    assert_int_equal(resolve_str(r, url, &c, &err), PL_ELDCONTEXT);
    assert_int_equal(count_kind(r, "Hosted"), 0);
    free(url);
    json_decref(body);
    pl_ctxreg_free(r);
}

static void ctxreg_add_rejects_invalid_bodies(void **state)
{
    (void)state;
    struct pl_ctxreg *r = new_reg(0);
    static const char *const bodies[] = {
        "{\"@context\": \"https://example.org/c.jsonld\"}",
        "{\"foo\": {}}",
        "[{\"@context\": {}}]",
        "{\"@context\": {\"open311:x\": \"http://e.org/y\"}}",
        "{\"@context\": 5}",
    };
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        json_t *b = json_loads(bodies[i], 0, NULL);
        assert_non_null(b);
        char *url = NULL;
        assert_int_equal(pl_ctxreg_add(r, b, &url, NULL), PL_EBADREQUESTDATA);
        assert_null(url);
        json_decref(b);
    }
    json_t *b = json_loads("{\"@context\": {\"@import\": \"http://e.org/\"}}", 0, NULL);
    char *url = NULL;
    assert_int_equal(pl_ctxreg_add(r, b, &url, NULL), PL_EINVALIDREQUEST);
    json_decref(b);
    assert_int_equal(count_kind(r, "Hosted"), 0);
    pl_ctxreg_free(r);
}

static void ctxreg_list_and_delete_errors(void **state)
{
    (void)state;
    struct pl_ctxreg *r = new_reg(0);
    json_t *l = NULL;
    assert_int_equal(pl_ctxreg_list(r, 0, "Bogus", &l, NULL), PL_EBADREQUESTDATA);
    assert_null(l);
    assert_int_equal(pl_ctxreg_delete(r, "nope", 0, NULL), PL_ENOTFOUND);
    assert_int_equal(pl_ctxreg_delete(r, "", 0, NULL), PL_EBADREQUESTDATA);
    assert_int_equal(pl_ctxreg_get(r, "nope", 0, &l, NULL), PL_ENOTFOUND);
    assert_int_equal(
        pl_ctxreg_delete(r, "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld", 0,
                         NULL),
        PL_EBADREQUESTDATA);
    pl_ctxreg_free(r);
}

/* ------------------------------------------------------------------------------------------
 * A one-document HTTP server on 127.0.0.1 that can hold a request until released, so a test
 * can act while the registry is inside a download (outside its lock) deterministically.
 * ---------------------------------------------------------------------------------------- */

struct srv {
    int fd;             /* listening socket */
    int port;           /* its port */
    pthread_t th;       /* the accept loop */
    pthread_mutex_t mu; /* guards everything below */
    pthread_cond_t cv;  /* signalled on every change */
    char body[4096];    /* the document served for any path */
    int hold;           /* 1: requests wait until srv_release */
    int held;           /* a request is waiting */
    int hits;           /* requests answered or held */
    int stop;           /* shutting down */
};

static void *srv_main(void *ud)
{
    struct srv *s = ud;
    for (;;) {
        int c = accept(s->fd, NULL, NULL);
        if (c < 0)
            break;
        char req[4096];
        size_t n = 0;
        while (n < sizeof req - 1) {
            ssize_t k = read(c, req + n, sizeof req - 1 - n);
            if (k <= 0)
                break;
            n += (size_t)k;
            req[n] = '\0';
            if (strstr(req, "\r\n\r\n"))
                break;
        }
        pthread_mutex_lock(&s->mu);
        s->hits++;
        s->held = 1;
        pthread_cond_broadcast(&s->cv);
        while (s->hold && !s->stop)
            pthread_cond_wait(&s->cv, &s->mu);
        s->held = 0;
        char resp[8192];
        int len = snprintf(resp, sizeof resp,
                           "HTTP/1.1 200 OK\r\nContent-Type: application/ld+json\r\n"
                           "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                           strlen(s->body), s->body);
        pthread_mutex_unlock(&s->mu);
        if (write(c, resp, (size_t)len) < 0)
            print_error("srv: write failed\n");
        close(c);
    }
    return NULL;
}

static void srv_start(struct srv *s, const char *body)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    snprintf(s->body, sizeof s->body, "%s", body);
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s->fd, 8), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &al), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->th, NULL, srv_main, s), 0);
}

static void srv_set(struct srv *s, const char *body, int hold)
{
    pthread_mutex_lock(&s->mu);
    snprintf(s->body, sizeof s->body, "%s", body);
    s->hold = hold;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Waits until a request is being held. */
static void srv_wait_held(struct srv *s)
{
    pthread_mutex_lock(&s->mu);
    while (!s->held)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

static void srv_stop(struct srv *s)
{
    pthread_mutex_lock(&s->mu);
    s->stop = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    shutdown(s->fd, SHUT_RDWR); /* wakes accept() */
    pthread_join(s->th, NULL);
    close(s->fd);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
}

static void srv_url(const struct srv *s, const char *path, char *out, size_t n)
{
    snprintf(out, n, "http://127.0.0.1:%d%s", s->port, path);
}

/* A call run on another thread while the test acts. */
struct call {
    struct pl_ctxreg *r; /* registry */
    const char *id;      /* pl_ctxreg_delete: id */
    json_t *value;       /* pl_ctxreg_resolve: value */
    int rc;              /* its return code */
    struct pl_err err;   /* its error */
};

static void *call_reload(void *ud)
{
    struct call *c = ud;
    pl_err_clear(&c->err);
    c->rc = pl_ctxreg_delete(c->r, c->id, 1, &c->err);
    return NULL;
}

static void *call_resolve(void *ud)
{
    struct call *c = ud;
    struct pl_ctx *ctx = NULL;
    pl_err_clear(&c->err);
    c->rc = pl_ctxreg_resolve(c->r, c->value, &ctx, &c->err);
    pl_ctx_unref(ctx);
    return NULL;
}

/* Downloads `url` once so the registry holds it as Cached. */
static void cache_url(struct pl_ctxreg *r, const char *url)
{
    struct pl_ctx *c = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = resolve_str(r, url, &c, &err);
    if (rc)
        print_error("resolve %s: %s\n", url, err.detail);
    assert_int_equal(rc, 0);
    pl_ctx_unref(c);
}

/* NGSI-LD 5.13.5.4: a re-downloaded document that is not a valid @context document (no
 * @context member, or one that does not compile) fails the reload with LdContextNotAvailable
 * and the old document stays. */
static void ctxreg_reload_of_invalid_document_keeps_old_5_13_5_4(void **state)
{
    (void)state;
    struct srv s;
    srv_start(&s, "{\"@context\": {\"a\": \"http://e.org/old#a\"}}");
    char url[128];
    srv_url(&s, "/r.jsonld", url, sizeof url);
    struct pl_ctxreg *r = new_reg(0);
    cache_url(r, url);
    static const char *const bad[] = {"{}", "{\"ctx\": {}}", "{\"@context\": 5}",
                                      "{\"@context\": {\"open311:x\": \"http://e.org/y\"}}"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        srv_set(&s, bad[i], 0);
        struct pl_err err;
        pl_err_clear(&err);
        assert_int_equal(pl_ctxreg_delete(r, url, 1, &err), PL_ELDCONTEXT);
        assert_int_equal(err.code, PL_ELDCONTEXT);
        assert_true(err.detail[0] != '\0');
    }
    /* The old document is still the one used (a new @context value: no compiled-cache hit). */
    char text[256];
    snprintf(text, sizeof text, "[\"%s\", {\"b\": \"http://e.org/b\"}]", url);
    json_t *v = json_loads(text, 0, NULL);
    struct pl_ctx *c = NULL;
    assert_int_equal(pl_ctxreg_resolve(r, v, &c, NULL), 0);
    assert_expands(c, "a", "http://e.org/old#a");
    pl_ctx_unref(c);
    json_decref(v);
    /* A good document still reloads. */
    srv_set(&s, "{\"@context\": {\"a\": \"http://e.org/new#a\"}}", 0);
    assert_int_equal(pl_ctxreg_delete(r, url, 1, NULL), 0);
    assert_int_equal(resolve_str(r, url, &c, NULL), 0);
    assert_expands(c, "a", "http://e.org/new#a");
    pl_ctx_unref(c);
    pl_ctxreg_free(r);
    srv_stop(&s);
}

/* NGSI-LD 5.13.5.4: an entry deleted while its reload is downloading is ResourceNotFound (not an
 * allocation failure), and the reload does not bring it back. */
static void ctxreg_reload_racing_delete_is_not_found_5_13_5_4(void **state)
{
    (void)state;
    struct srv s;
    srv_start(&s, "{\"@context\": {\"a\": \"http://e.org/a\"}}");
    char url[128];
    srv_url(&s, "/race.jsonld", url, sizeof url);
    struct pl_ctxreg *r = new_reg(0);
    cache_url(r, url);
    srv_set(&s, "{\"@context\": {\"a\": \"http://e.org/a2\"}}", 1);
    struct call call = {.r = r, .id = url};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, call_reload, &call), 0);
    srv_wait_held(&s); /* the reload is downloading, outside the registry lock */
    assert_int_equal(pl_ctxreg_delete(r, url, 0, NULL), 0);
    srv_set(&s, "{\"@context\": {\"a\": \"http://e.org/a2\"}}", 0);
    pthread_join(th, NULL);
    assert_int_equal(call.rc, PL_ENOTFOUND);
    assert_int_equal(call.err.code, PL_ENOTFOUND);
    assert_false(listed(r, url));
    pl_ctxreg_free(r);
    srv_stop(&s);
}

/* A context compiled from a document that was deleted while it compiled is returned to its
 * caller but never cached: the next request sees the deletion. */
static void ctxreg_compile_racing_delete_is_not_cached(void **state)
{
    (void)state;
    struct srv s;
    srv_start(&s, "{\"@context\": {\"slow\": \"http://e.org/slow\"}}");
    char remote[128];
    srv_url(&s, "/slow.jsonld", remote, sizeof remote);
    struct pl_ctxreg *r = new_reg(0);
    json_t *body = json_loads("{\"@context\": {\"h\": \"http://e.org/h\"}}", 0, NULL);
    char *hosted = NULL;
    assert_int_equal(pl_ctxreg_add(r, body, &hosted, NULL), 0);
    json_decref(body);
    /* The hosted document is loaded first, then the download of `remote` is held. */
    json_t *v = json_pack("[s, s]", hosted, remote);
    srv_set(&s, "{\"@context\": {\"slow\": \"http://e.org/slow\"}}", 1);
    struct call call = {.r = r, .value = v};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, call_resolve, &call), 0);
    srv_wait_held(&s);
    assert_int_equal(pl_ctxreg_delete(r, hosted, 0, NULL), 0);
    srv_set(&s, "{\"@context\": {\"slow\": \"http://e.org/slow\"}}", 0);
    pthread_join(th, NULL);
    assert_int_equal(call.rc, 0); /* the caller still gets its result */
    struct pl_ctx *c = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_equal(pl_ctxreg_resolve(r, v, &c, &err), PL_ELDCONTEXT);
    assert_null(c);
    json_decref(v);
    free(hosted);
    pl_ctxreg_free(r);
    srv_stop(&s);
}

/* NGSI-LD 5.13.4.3, 5.13.4.4, 5.13.5.3: a Cached context is named by its localId or by its
 * original URL; its metadata is served (details), its content is not (OperationNotSupported). */
static void ctxreg_get_cached_by_url_5_13_4(void **state)
{
    (void)state;
    struct pl_ctxreg *r = new_reg(1);
    struct pl_ctx *c = NULL;
    assert_int_equal(resolve_str(r, WEATHER, &c, NULL), 0);
    pl_ctx_unref(c);
    json_t *d = NULL, *d2 = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_equal(pl_ctxreg_get(r, WEATHER, 1, &d, &err), 0);
    assert_string_equal(json_string_value(json_object_get(d, "URL")), WEATHER);
    assert_string_equal(json_string_value(json_object_get(d, "kind")), "Cached");
    assert_non_null(json_object_get(d, "createdAt"));
    assert_non_null(json_object_get(d, "numberOfHits"));
    assert_null(json_object_get(d, "@context"));
    const char *local_id = json_string_value(json_object_get(d, "localId"));
    assert_non_null(local_id);
    assert_int_equal(pl_ctxreg_get(r, local_id, 1, &d2, &err), 0);
    assert_string_equal(json_string_value(json_object_get(d2, "URL")), WEATHER);
    json_decref(d2);
    /* Same shape as an item of the list with details. */
    json_t *l = NULL, *item;
    size_t i;
    assert_int_equal(pl_ctxreg_list(r, 1, "Cached", &l, NULL), 0);
    json_array_foreach(l, i, item)
    {
        if (strcmp(json_string_value(json_object_get(item, "URL")), WEATHER) == 0)
            assert_int_equal(json_object_size(item), json_object_size(d));
    }
    json_decref(l);
    d2 = NULL;
    assert_int_equal(pl_ctxreg_get(r, WEATHER, 0, &d2, &err), PL_EOPNOTSUPPORTED);
    assert_int_equal(err.code, PL_EOPNOTSUPPORTED);
    assert_null(d2);
    assert_int_equal(pl_ctxreg_get(r, local_id, 0, &d2, &err), PL_EOPNOTSUPPORTED);
    json_decref(d);
    /* Deleted by URL; then unknown by either name. */
    assert_int_equal(pl_ctxreg_delete(r, WEATHER, 0, &err), 0);
    assert_int_equal(pl_ctxreg_get(r, WEATHER, 1, &d2, &err), PL_ENOTFOUND);
    assert_int_equal(pl_ctxreg_delete(r, WEATHER, 0, &err), PL_ENOTFOUND);
    pl_ctxreg_free(r);
}

/* NGSI-LD 5.13.4.4: Hosted and ImplicitlyCreated contexts are served, with or without details. */
static void ctxreg_get_details_of_hosted_and_implicit_5_13_4(void **state)
{
    (void)state;
    struct pl_ctxreg *r = new_reg(0);
    json_t *body = json_loads("{\"@context\": {\"foo\": \"http://e.org/foo\"}}", 0, NULL);
    char *url = NULL;
    assert_int_equal(pl_ctxreg_add(r, body, &url, NULL), 0);
    json_t *d = NULL;
    assert_int_equal(pl_ctxreg_get(r, url, 1, &d, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(d, "kind")), "Hosted");
    assert_string_equal(json_string_value(json_object_get(d, "URL")), url);
    json_decref(d);
    json_t *inl = json_loads("{\"i\": \"http://e.org/i\"}", 0, NULL);
    struct pl_ctx *c = NULL;
    assert_int_equal(pl_ctxreg_resolve(r, inl, &c, NULL), 0);
    pl_ctx_unref(c);
    json_t *l = NULL;
    assert_int_equal(pl_ctxreg_list(r, 1, "ImplicitlyCreated", &l, NULL), 0);
    assert_int_equal(json_array_size(l), 1);
    const char *iid = json_string_value(json_object_get(json_array_get(l, 0), "localId"));
    assert_int_equal(pl_ctxreg_get(r, iid, 0, &d, NULL), 0);
    assert_true(json_equal(json_object_get(d, "@context"), inl));
    json_decref(d);
    assert_int_equal(pl_ctxreg_get(r, iid, 1, &d, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(d, "kind")), "ImplicitlyCreated");
    json_decref(d);
    json_decref(l);
    json_decref(inl);
    json_decref(body);
    free(url);
    pl_ctxreg_free(r);
}

static void ctxreg_context_url_names_the_request_context_5_13_1(void **state)
{
    (void)state;
    struct pl_ctxreg *r = new_reg(0);
    char *url = NULL;
    assert_int_equal(pl_ctxreg_context_url(r, NULL, 0, &url, NULL), 0);
    assert_string_equal(url, PL_CORE_CONTEXT_URL);
    free(url);
    json_t *s = json_string("http://e.org/ctx.jsonld");
    assert_int_equal(pl_ctxreg_context_url(r, s, 1, &url, NULL), 0);
    assert_string_equal(url, "http://e.org/ctx.jsonld");
    free(url);
    json_decref(s);
    json_t *n = json_integer(3);
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_equal(pl_ctxreg_context_url(r, n, 0, &url, &err), PL_EBADREQUESTDATA);
    assert_null(url);
    json_decref(n);
    /* an inline context: the URL of its ImplicitlyCreated entry, the same in another registry
     * (the id hashes the canonical text: member order does not matter) */
    json_t *a = json_loads("{\"a\": \"http://e.org/a\", \"b\": \"http://e.org/b\"}", 0, NULL);
    json_t *b = json_loads("{\"b\": \"http://e.org/b\", \"a\": \"http://e.org/a\"}", 0, NULL);
    char *ua = NULL, *ub = NULL;
    assert_int_equal(pl_ctxreg_context_url(r, a, 0, &ua, NULL), 0);
    struct pl_ctxreg *r2 = new_reg(0);
    assert_int_equal(pl_ctxreg_context_url(r2, b, 0, &ub, NULL), 0);
    assert_string_equal(ua, ub);
    assert_true(strncmp(ua, SELF "/ngsi-ld/v1/jsonldContexts/", strlen(SELF) + 27) == 0);
    assert_true(listed(r, ua));
    json_t *d = NULL;
    assert_int_equal(pl_ctxreg_get(r, ua, 0, &d, NULL), 0);
    assert_true(json_equal(json_object_get(d, "@context"), a));
    json_decref(d);
    assert_int_equal(pl_ctxreg_get(r, ua, 1, &d, NULL), 0);
    assert_string_equal(json_string_value(json_object_get(d, "kind")), "ImplicitlyCreated");
    json_decref(d);
    free(ua);
    free(ub);
    json_decref(a);
    json_decref(b);
    pl_ctxreg_free(r2);
    pl_ctxreg_free(r);
}

static void ctxreg_kept_implicit_context_is_not_evicted(void **state)
{
    (void)state;
    struct pl_ctxreg_config cfg = {0};
    cfg.self_url = SELF;
    cfg.max_cached = 1;
    struct pl_ctxreg *r = NULL;
    assert_int_equal(pl_ctxreg_new(&cfg, NULL, &r, NULL), 0);
    json_t *kept =
        json_loads("[\"" PL_CORE_CONTEXT_URL "\", {\"k\": \"http://e.org/k\"}]", 0, NULL);
    struct pl_ctx *c = NULL;
    assert_int_equal(pl_ctxreg_resolve(r, kept, &c, NULL), 0);
    pl_ctx_unref(c);
    char *url = NULL;
    assert_int_equal(pl_ctxreg_context_url(r, kept, 1, &url, NULL), 0);
    for (int i = 0; i < 3; i++) {
        char txt[64];
        snprintf(txt, sizeof txt, "{\"x%d\": \"http://e.org/x\"}", i);
        json_t *v = json_loads(txt, 0, NULL);
        assert_int_equal(pl_ctxreg_resolve(r, v, &c, NULL), 0);
        pl_ctx_unref(c);
        json_decref(v);
    }
    assert_true(listed(r, url));
    assert_int_equal(count_kind(r, "ImplicitlyCreated"), 2); /* the kept one + the newest */
    free(url);
    json_decref(kept);
    pl_ctxreg_free(r);
}

/* 5.13.1: a downloaded context expires (cached_ttl_ms) and is downloaded again when next used;
 * when that download fails the old copy still serves. */
static void ctxreg_cached_context_expires_and_is_fetched_again_5_13_1(void **state)
{
    (void)state;
    struct srv s;
    srv_start(&s, "{\"@context\": {\"a\": \"http://e.org/old#a\"}}");
    char url[128];
    srv_url(&s, "/ttl.jsonld", url, sizeof url);
    struct pl_ctxreg_config cfg = {0};
    cfg.self_url = SELF;
    cfg.fetch_timeout_ms = 2000;
    cfg.cached_ttl_ms = 1;
    struct pl_ctxreg *r = NULL;
    assert_int_equal(pl_ctxreg_new(&cfg, NULL, &r, NULL), 0);
    struct pl_ctx *c = NULL;
    assert_int_equal(resolve_str(r, url, &c, NULL), 0);
    assert_expands(c, "a", "http://e.org/old#a");
    pl_ctx_unref(c);
    json_t *d = NULL;
    assert_int_equal(pl_ctxreg_get(r, url, 1, &d, NULL), 0);
    assert_non_null(json_object_get(d, "expiresAt"));
    json_decref(d);
    srv_set(&s, "{\"@context\": {\"a\": \"http://e.org/new#a\"}}", 0);
    usleep(5000);
    assert_int_equal(resolve_str(r, url, &c, NULL), 0);
    assert_expands(c, "a", "http://e.org/new#a");
    pl_ctx_unref(c);
    srv_stop(&s); /* gone: the old copy serves */
    usleep(5000);
    struct pl_err err;
    pl_err_clear(&err);
    int rc = resolve_str(r, url, &c, &err);
    if (rc)
        print_error("resolve: %s\n", err.detail);
    assert_int_equal(rc, 0);
    assert_expands(c, "a", "http://e.org/new#a");
    pl_ctx_unref(c);
    assert_int_equal(count_kind(r, "Cached"), 2); /* the core and this one, not a second copy */
    pl_ctxreg_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ctxreg_without_store_resolves_core),
        cmocka_unit_test(ctxreg_compiled_contexts_are_cached),
        cmocka_unit_test(ctxreg_preload_map_resolves_from_disk),
        cmocka_unit_test(ctxreg_bad_preload_dir_fails),
        cmocka_unit_test(ctxreg_unreachable_url_is_ldcontext_and_not_cached),
        cmocka_unit_test(ctxreg_hosted_add_get_list_delete),
        cmocka_unit_test(ctxreg_add_rejects_invalid_bodies),
        cmocka_unit_test(ctxreg_list_and_delete_errors),
        cmocka_unit_test(ctxreg_reload_of_invalid_document_keeps_old_5_13_5_4),
        cmocka_unit_test(ctxreg_reload_racing_delete_is_not_found_5_13_5_4),
        cmocka_unit_test(ctxreg_compile_racing_delete_is_not_cached),
        cmocka_unit_test(ctxreg_get_cached_by_url_5_13_4),
        cmocka_unit_test(ctxreg_get_details_of_hosted_and_implicit_5_13_4),
        cmocka_unit_test(ctxreg_context_url_names_the_request_context_5_13_1),
        cmocka_unit_test(ctxreg_kept_implicit_context_is_not_evicted),
        cmocka_unit_test(ctxreg_cached_context_expires_and_is_fetched_again_5_13_1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
