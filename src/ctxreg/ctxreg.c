/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctxreg.c — the @context registry (see ctxreg.h): compiled-context cache, the libcurl fetcher,
 * the preload map, hosted contexts and the /jsonldContexts operations (NGSI-LD 5.13).
 *
 * Data: one table of documents keyed by URL (struct entry: Hosted, Cached, ImplicitlyCreated and
 * the built-in core), a second index of the same entries by localId, and a table of compiled
 * contexts keyed by the canonical JSON text of a request's @context value. All three are guarded
 * by one mutex; downloads and compilation run outside it, so a slow remote server never blocks
 * requests that hit the cache.
 *
 * A download is committed to the registry (and to the store) only after the @context that needed
 * it compiled, so a failed or invalid download is never cached and the next request tries again.
 * Any change to the documents (delete, reload) drops every compiled context: they may depend on it.
 * Because compilation runs unlocked, such a change also bumps a generation counter; a context
 * whose compilation overlapped a change is returned to its caller but not cached, since it may
 * have been compiled from a document that is gone.
 */
#include "ctxreg/ctxreg.h"

#include <curl/curl.h>
#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "base/hmap.h"
#include "base/timeutil.h"

#define HOSTED_PATH   "/ngsi-ld/v1/jsonldContexts/"
#define CORE_LOCAL_ID "ngsi-ld-core-context-v1.9"

enum kind { KIND_HOSTED, KIND_CACHED, KIND_IMPLICIT };

static const char *const kind_names[] = {"Hosted", "Cached", "ImplicitlyCreated"};

struct entry {
    char *id;                      /* localId (owned) */
    char *url;                     /* URL: original one (Cached) or ours (owned) */
    enum kind kind;                /* Hosted, Cached or ImplicitlyCreated */
    char created[PL_TIME_ISO_LEN]; /* createdAt */
    int64_t last_usage;            /* ms since the epoch of the last use, 0 = never */
    int64_t fetched_ms;            /* when the document was downloaded (Cached) or added */
    long hits;                     /* numberOfHits */
    json_t *doc;                   /* the document {"@context": ...} (owned reference) */
    char *file;                    /* preloaded: the file it came from (owned), else NULL */
    int builtin;                   /* 1 for the built-in core context (never deleted) */
    int kept;                      /* ImplicitlyCreated and named outside a request (a
                                      subscription's jsonldContext): persisted, never evicted */
};

struct compiled {
    struct pl_ctx *ctx; /* one reference held by the cache */
    uint64_t tick;      /* last use, for eviction */
    int64_t built_ms;   /* when compiled: recompiled after cached_ttl_ms (its documents may
                           have expired) */
};

struct pl_ctxreg {
    pthread_mutex_t mu;       /* guards everything below */
    char *hosted_prefix;      /* "<self_url>/ngsi-ld/v1/jsonldContexts/" (owned) */
    long fetch_timeout_ms;    /* whole-download timeout */
    long connect_timeout_ms;  /* connect timeout */
    size_t max_doc_bytes;     /* document size cap */
    long max_redirects;       /* redirects followed */
    const struct pl_guard *guard; /* outbound guard (borrowed) */
    int max_cached;           /* compiled contexts kept (and implicit entries kept) */
    int64_t ttl_ms;           /* life of a downloaded document (and of a compiled context) */
    struct pl_store *store;   /* persistence (borrowed, may be NULL) */
    struct pl_hmap *by_url;   /* URL -> struct entry * (owned) */
    struct pl_hmap *by_id;    /* localId -> struct entry * (borrowed from by_url) */
    struct pl_hmap *compiled; /* canonical @context text -> struct compiled * (owned) */
    uint64_t tick;            /* use counter for the compiled cache */
    uint64_t gen;             /* bumped by add, delete and reload (see resolve) */
};

static void entry_free(void *p)
{
    struct entry *e = p;
    if (!e)
        return;
    free(e->id);
    free(e->url);
    free(e->file);
    json_decref(e->doc);
    free(e);
}

static void compiled_free(void *p)
{
    struct compiled *c = p;
    if (c) {
        pl_ctx_unref(c->ctx);
        free(c);
    }
}

static char *str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *str_printf(const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        s = NULL;
    va_end(ap);
    return s;
}

static uint64_t fnv64(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ull;
    }
    return h;
}

/* A stable local id derived from text (a URL, or a canonical inline context). */
static char *hash_id(const char *text)
{
    return str_printf("%016llx", (unsigned long long)fnv64(text));
}

static char *random_id(void)
{
    static _Atomic unsigned long long counter;
    unsigned long long v = 0;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) != (ssize_t)sizeof v)
        v = (unsigned long long)pl_time_now_ms() * 6364136223846793005ull + ++counter;
    return str_printf("%016llx", v);
}

/* Creates an entry; takes ownership of `doc` on success and failure alike. */
static struct entry *entry_new(const char *id, const char *url, enum kind k, json_t *doc)
{
    struct entry *e = calloc(1, sizeof *e);
    if (!e) {
        json_decref(doc);
        return NULL;
    }
    e->id = strdup(id);
    e->url = strdup(url);
    e->kind = k;
    e->doc = doc;
    e->fetched_ms = pl_time_now_ms();
    pl_time_format(e->fetched_ms, e->created);
    if (!e->id || !e->url || !doc) {
        entry_free(e);
        return NULL;
    }
    return e;
}

/* Inserts `e` (taking ownership) replacing any entry with the same URL. Lock held. */
static int insert_entry(struct pl_ctxreg *r, struct entry *e)
{
    struct entry *old = pl_hmap_get(r->by_url, e->url, NULL);
    if (old)
        pl_hmap_del(r->by_id, old->id);
    if (pl_hmap_put(r->by_id, e->id, e) != 0) {
        entry_free(e);
        return PL_ENOMEM;
    }
    if (pl_hmap_put(r->by_url, e->url, e) != 0) {
        pl_hmap_del(r->by_id, e->id);
        entry_free(e);
        return PL_ENOMEM;
    }
    return 0;
}

/* Removes `e` from both indexes and frees it. Lock held. */
static void remove_entry(struct pl_ctxreg *r, struct entry *e)
{
    pl_hmap_del(r->by_id, e->id);
    pl_hmap_del(r->by_url, e->url); /* frees e */
}

/* Finds an entry by localId or by URL (NGSI-LD 5.13.4.3, 5.13.5.3: a Cached context may be named
 * by its original URL; we accept any entry's URL). A core context URL of any version names the
 * built-in core entry. Lock held. */
static struct entry *find_entry(struct pl_ctxreg *r, const char *id)
{
    struct entry *e = pl_hmap_get(r->by_id, id, NULL);
    if (!e)
        e = pl_hmap_get(r->by_url, id, NULL);
    if (!e && pl_ctx_builtin_doc(id))
        e = pl_hmap_get(r->by_id, CORE_LOCAL_ID, NULL);
    return e;
}

/* The metadata of an entry, as listed with details (NGSI-LD 5.13.3.5). NEW reference, or NULL
 * when out of memory. Lock held. */
/* Whether the document of `e` was downloaded and so expires (5.13.1): not a preloaded, built-in,
 * hosted or implicit one. */
static int expires(const struct entry *e)
{
    return e->kind == KIND_CACHED && !e->builtin && !e->file;
}

static json_t *entry_details(const struct pl_ctxreg *r, const struct entry *e)
{
    json_t *item = json_pack("{s:s, s:s, s:s, s:s, s:I}", "URL", e->url, "localId", e->id, "kind",
                             kind_names[e->kind], "createdAt", e->created, "numberOfHits",
                             (json_int_t)e->hits);
    if (item && expires(e)) {
        char ts[PL_TIME_ISO_LEN];
        pl_time_format(e->fetched_ms + r->ttl_ms, ts);
        if (json_object_set_new(item, "expiresAt", json_string(ts)) != 0) {
            json_decref(item);
            return NULL;
        }
    }
    if (item && e->last_usage > 0) {
        char ts[PL_TIME_ISO_LEN];
        pl_time_format(e->last_usage, ts);
        if (json_object_set_new(item, "lastUsage", json_string(ts)) != 0) {
            json_decref(item);
            item = NULL;
        }
    }
    return item;
}

/* The store record of an entry: {"id","url","kind","createdAt","body"}. NEW reference. */
static json_t *entry_record(const struct entry *e)
{
    char *body = json_dumps(e->doc, JSON_COMPACT);
    if (!body)
        return NULL;
    json_t *rec = json_pack("{s:s, s:s, s:s, s:s, s:s}", "id", e->id, "url", e->url, "kind",
                            kind_names[e->kind], "createdAt", e->created, "body", body);
    free(body);
    return rec;
}

static void persist_put(struct pl_ctxreg *r, json_t *rec)
{
    if (r->store && rec) {
        struct pl_err err;
        pl_err_clear(&err);
        (void)pl_store_ctx_put(r->store, rec, &err); /* best effort: memory stays authoritative */
    }
    json_decref(rec);
}

/* ------------------------------------------------------------------------------------------
 * Fetching (libcurl).
 * ---------------------------------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

struct buf {
    char *data;  /* received bytes (owned) */
    size_t len;  /* bytes used */
    size_t cap;  /* bytes allocated */
    size_t max;  /* size cap */
    int too_big; /* the cap was hit */
    int nomem;   /* an allocation failed */
};

static size_t on_data(char *p, size_t size, size_t n, void *ud)
{
    struct buf *b = ud;
    size_t k = size * n;
    if (b->len + k > b->max) {
        b->too_big = 1;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (b->len + k + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 4096;
        while (nc < b->len + k + 1)
            nc *= 2;
        char *nd = realloc(b->data, nc);
        if (!nd) {
            b->nomem = 1;
            return 0;
        }
        b->data = nd;
        b->cap = nc;
    }
    memcpy(b->data + b->len, p, k);
    b->len += k;
    return k;
}

/* Downloads and parses `url` through the outbound guard (net/guard.h: scheme, the address of
 * every connection and redirect hop, at most 3 redirects) within the time and size limits.
 * Returns 0 and *doc (NEW reference, a JSON object), or an error; a refused, cut or failed
 * download is PL_ELDCONTEXT with a detail saying why (never cached: the caller commits only
 * what compiled). */
static int fetch(struct pl_ctxreg *r, const char *url, json_t **doc, struct pl_err *err)
{
    *doc = NULL;
    char why[200];
    if (pl_guard_check_url(r->guard, url, PL_GUARD_CONTEXT, why, sizeof why) != 0)
        return pl_err_set(err, PL_ELDCONTEXT,
                          "JSON-LD @context %.300s not available: refused by the outbound guard: "
                          "%s",
                          url, why);
    CURL *h = curl_easy_init();
    if (!h)
        return pl_err_set(err, PL_EINTERNAL, "curl_easy_init failed");
    struct buf b = {NULL, 0, 0, r->max_doc_bytes, 0, 0};
    struct pl_guard_curl gc = {.g = r->guard, .use = PL_GUARD_CONTEXT};
    struct curl_slist *hdrs =
        curl_slist_append(NULL, "Accept: application/ld+json, application/json;q=0.9, */*;q=0.1");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, r->fetch_timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, r->connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max_doc_bytes);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "polis-context-broker");
    CURLcode cc = pl_guard_curl_setup(h, &gc, 1) == 0 ? CURLE_OK : CURLE_FAILED_INIT;
    if (cc == CURLE_OK && r->max_redirects < PL_GUARD_MAX_REDIRECTS)
        curl_easy_setopt(h, CURLOPT_MAXREDIRS, r->max_redirects);
    if (cc == CURLE_OK)
        cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);

    int rc = 0;
    const char *refused = cc != CURLE_OK ? pl_guard_curl_reason(&gc, (int)cc) : NULL;
    if (refused) {
        rc = pl_err_set(err, PL_ELDCONTEXT, "JSON-LD @context %.300s not available: %s", url,
                        refused);
    } else if (b.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
        rc = pl_err_set(err, PL_ELDCONTEXT,
                        "JSON-LD @context %.300s not available: the document is larger than %zu "
                        "bytes (--max-context-bytes); download cut",
                        url, r->max_doc_bytes);
    } else if (b.nomem) {
        rc = pl_err_set(err, PL_ENOMEM, "Out of memory downloading %.300s", url);
    } else if (cc == CURLE_OPERATION_TIMEDOUT) {
        rc = pl_err_set(err, PL_ELDCONTEXT,
                        "JSON-LD @context %.300s not available: not downloaded within %ld ms "
                        "(--fetch-timeout); download cut",
                        url, r->fetch_timeout_ms);
    } else if (cc != CURLE_OK) {
        rc = pl_err_set(err, PL_ELDCONTEXT, "JSON-LD @context %.300s not available: %s", url,
                        curl_easy_strerror(cc));
    } else if (status >= 400) {
        rc = pl_err_set(err, PL_ELDCONTEXT, "JSON-LD @context %.300s not available: HTTP %ld", url,
                        status);
    } else {
        json_error_t je;
        json_t *d = json_loadb(b.data ? b.data : "", b.len, 0, &je);
        if (!d || !json_is_object(d)) {
            json_decref(d);
            rc = pl_err_set(err, PL_EBADREQUESTDATA,
                            "JSON-LD @context %.300s is not a JSON object: %s", url,
                            d ? "another JSON value" : je.text);
        } else {
            *doc = d;
        }
    }
    free(b.data);
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * The loader used while compiling.
 * ---------------------------------------------------------------------------------------- */

struct load {
    struct pl_ctxreg *r; /* the registry */
    json_t *fetched;     /* URL -> document downloaded during this build (not yet committed) */
};

static int loader(void *ud, const char *url, json_t **doc, struct pl_err *err)
{
    struct load *l = ud;
    struct pl_ctxreg *r = l->r;
    *doc = NULL;
    pthread_mutex_lock(&r->mu);
    struct entry *e = pl_hmap_get(r->by_url, url, NULL);
    int stale = 0;
    if (e) {
        int64_t now = pl_time_now_ms();
        e->hits++;
        e->last_usage = now;
        stale = expires(e) && now - e->fetched_ms > r->ttl_ms;
        *doc = stale ? NULL : json_deep_copy(e->doc);
    }
    pthread_mutex_unlock(&r->mu);
    if (e && stale) {
        /* 5.13.1: an expired download is fetched again (committed as the others, once the
         * context compiled); if that fails the old copy serves, rather than failing requests. */
        json_t *d = NULL;
        struct pl_err ferr;
        pl_err_clear(&ferr);
        if (fetch(r, url, &d, &ferr) == 0 && (*doc = json_deep_copy(d)) &&
            json_object_set_new(l->fetched, url, d) == 0)
            return 0;
        json_decref(*doc);
        *doc = NULL;
        pthread_mutex_lock(&r->mu);
        e = pl_hmap_get(r->by_url, url, NULL);
        *doc = e ? json_deep_copy(e->doc) : NULL;
        pthread_mutex_unlock(&r->mu);
        if (!e)
            return pl_err_set(err, PL_ELDCONTEXT,
                              "JSON-LD @context %.300s not available: %s", url, ferr.detail);
    }
    if (e)
        return *doc ? 0 : pl_err_set(err, PL_ENOMEM, "Out of memory");
    if (strncmp(url, r->hosted_prefix, strlen(r->hosted_prefix)) == 0)
        return pl_err_set(err, PL_ELDCONTEXT,
                          "JSON-LD @context %.300s not available: no such hosted context", url);
    json_t *f = json_object_get(l->fetched, url);
    if (f) {
        *doc = json_deep_copy(f);
        return *doc ? 0 : pl_err_set(err, PL_ENOMEM, "Out of memory");
    }
    json_t *d = NULL;
    int rc = fetch(r, url, &d, err);
    if (rc)
        return rc;
    *doc = json_deep_copy(d);
    if (!*doc || json_object_set_new(l->fetched, url, d) != 0) {
        json_decref(*doc);
        *doc = NULL;
        return pl_err_set(err, PL_ENOMEM, "Out of memory");
    }
    return 0;
}

/* Records every document fetched during a successful build as "Cached". Lock held. Appends
 * store records to `recs`. */
static void commit_fetched(struct pl_ctxreg *r, json_t *fetched, json_t *recs)
{
    const char *url;
    json_t *d;
    json_object_foreach(fetched, url, d)
    {
        struct entry *old = pl_hmap_get(r->by_url, url, NULL);
        if (old && expires(old)) { /* re-downloaded after it expired: a fresh copy */
            json_decref(old->doc);
            old->doc = json_incref(d);
            old->fetched_ms = pl_time_now_ms();
            pl_time_format(old->fetched_ms, old->created);
            json_t *rec = entry_record(old);
            if (rec)
                json_array_append_new(recs, rec);
            continue;
        }
        if (old)
            continue;
        char *id = hash_id(url);
        struct entry *e = id ? entry_new(id, url, KIND_CACHED, json_incref(d)) : NULL;
        free(id);
        if (e) {
            e->hits = 1;
            e->last_usage = pl_time_now_ms();
            json_t *rec = entry_record(e);
            if (insert_entry(r, e) == 0 && rec)
                json_array_append(recs, rec);
            json_decref(rec);
        }
    }
}

/* Drops every compiled context and starts a new generation (the documents changed). Lock held. */
static void flush_compiled(struct pl_ctxreg *r)
{
    pl_hmap_clear(r->compiled);
    r->gen++;
}

/* Keeps the compiled cache and the implicit entries within max_cached. Lock held. */
static void evict(struct pl_ctxreg *r)
{
    while (pl_hmap_count(r->compiled) > (size_t)r->max_cached) {
        size_t pos = 0;
        const char *k, *oldest = NULL;
        void *v;
        uint64_t best = UINT64_MAX;
        while (pl_hmap_next(r->compiled, &pos, &k, &v)) {
            if (((struct compiled *)v)->tick < best) {
                best = ((struct compiled *)v)->tick;
                oldest = k;
            }
        }
        if (!oldest)
            break;
        pl_hmap_del(r->compiled, oldest);
    }
    for (;;) {
        size_t pos = 0, n = 0;
        const char *k;
        void *v;
        struct entry *oldest = NULL;
        while (pl_hmap_next(r->by_url, &pos, &k, &v)) {
            struct entry *e = v;
            if (e->kind != KIND_IMPLICIT || e->kept)
                continue;
            n++;
            if (!oldest || e->last_usage < oldest->last_usage)
                oldest = e;
        }
        if (n <= (size_t)r->max_cached || !oldest)
            break;
        remove_entry(r, oldest);
    }
}

/* Records an inline @context (object or array: one object, several URLs, or a mix) as
 * ImplicitlyCreated (5.13.1), or touches it. Its localId is the hash of the canonical text, so
 * the same context always gets the same id and URL, across restarts too. Returns the entry
 * (borrowed; NULL for a string or null value, or out of memory). Lock held. */
static struct entry *note_implicit(struct pl_ctxreg *r, const json_t *value, const char *canon)
{
    if (!value || json_is_null(value) || json_is_string(value))
        return NULL;
    char *id = hash_id(canon);
    if (!id)
        return NULL;
    struct entry *e = pl_hmap_get(r->by_id, id, NULL);
    if (!e) {
        char *url = str_printf("%s%s", r->hosted_prefix, id);
        json_t *doc = json_pack("{s:O}", "@context", (json_t *)value);
        e = url ? entry_new(id, url, KIND_IMPLICIT, doc) : (json_decref(doc), NULL);
        free(url);
        if (e && insert_entry(r, e) != 0)
            e = NULL;
    }
    if (e) {
        e->hits++;
        e->last_usage = pl_time_now_ms();
    }
    free(id);
    return e;
}

/* Compiles `value` through the registry. `implicit`: record inline contexts. */
static int resolve(struct pl_ctxreg *r, json_t *value, int implicit, struct pl_ctx **out,
                   struct pl_err *err)
{
    *out = NULL;
    char *canon = (value && !json_is_null(value))
                      ? json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)
                      : strdup("null");
    if (!canon)
        return pl_err_set(err, PL_ENOMEM, "Out of memory");
    pthread_mutex_lock(&r->mu);
    struct compiled *hit = pl_hmap_get(r->compiled, canon, NULL);
    if (hit && pl_time_now_ms() - hit->built_ms > r->ttl_ms) {
        pl_hmap_del(r->compiled, canon); /* its documents may have expired: compile again */
        hit = NULL;
    }
    if (hit) {
        hit->tick = ++r->tick;
        *out = pl_ctx_ref(hit->ctx);
        if (json_is_string(value)) {
            struct entry *e = pl_hmap_get(r->by_url, json_string_value(value), NULL);
            if (e) {
                e->hits++;
                e->last_usage = pl_time_now_ms();
            }
        } else if (implicit) {
            note_implicit(r, value, canon);
        }
        pthread_mutex_unlock(&r->mu);
        free(canon);
        return 0;
    }
    uint64_t gen = r->gen; /* the documents this compilation may read */
    pthread_mutex_unlock(&r->mu);

    struct load l = {r, json_object()};
    if (!l.fetched) {
        free(canon);
        return pl_err_set(err, PL_ENOMEM, "Out of memory");
    }
    struct pl_ctx *c = NULL;
    int rc = pl_ctx_build(value, loader, &l, &c, err);
    if (rc) {
        json_decref(l.fetched); /* never cache a failed or invalid download */
        free(canon);
        return rc;
    }
    json_t *recs = json_array();
    pthread_mutex_lock(&r->mu);
    if (recs)
        commit_fetched(r, l.fetched, recs);
    if (implicit)
        note_implicit(r, value, canon);
    /* A delete, reload or add since the cache miss may have removed or replaced a document this
     * compilation read: the result is still returned, but caching it could outlive the change. */
    struct compiled *cc = r->gen == gen ? calloc(1, sizeof *cc) : NULL;
    if (cc) {
        cc->ctx = pl_ctx_ref(c);
        cc->tick = ++r->tick;
        cc->built_ms = pl_time_now_ms();
        if (pl_hmap_put(r->compiled, canon, cc) != 0)
            compiled_free(cc);
    }
    evict(r);
    pthread_mutex_unlock(&r->mu);
    size_t i;
    json_t *rec;
    json_array_foreach(recs, i, rec)
    {
        persist_put(r, json_incref(rec));
    }
    json_decref(recs);
    json_decref(l.fetched);
    free(canon);
    *out = c;
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * Setup.
 * ---------------------------------------------------------------------------------------- */

static int load_preload(struct pl_ctxreg *r, const char *dir, struct pl_err *err)
{
    char *path = str_printf("%s/preload.map", dir);
    if (!path)
        return pl_err_set(err, PL_ENOMEM, "Out of memory");
    FILE *f = fopen(path, "r");
    if (!f) {
        int rc =
            pl_err_set(err, PL_EINTERNAL, "Cannot read preload map %s: %s", path, strerror(errno));
        free(path);
        return rc;
    }
    char line[4096];
    int rc = 0, lineno = 0;
    while (!rc && fgets(line, sizeof line, f)) {
        lineno++;
        char *p = line;
        p[strcspn(p, "\r\n")] = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\0')
            continue;
        char *sp = p + strcspn(p, " \t");
        if (*sp == '\0') {
            rc = pl_err_set(err, PL_EINTERNAL, "%s:%d: expected \"URL file\"", path, lineno);
            break;
        }
        *sp++ = '\0';
        while (*sp == ' ' || *sp == '\t')
            sp++;
        char *end = sp + strlen(sp);
        while (end > sp && (end[-1] == ' ' || end[-1] == '\t'))
            *--end = '\0';
        char *file = str_printf("%s/%s", dir, sp);
        json_error_t je;
        json_t *doc = file ? json_load_file(file, 0, &je) : NULL;
        if (!doc || !json_is_object(doc) || !json_object_get(doc, "@context")) {
            rc = pl_err_set(err, PL_EINTERNAL, "%s:%d: %s is not a JSON-LD context document", path,
                            lineno, file ? file : sp);
            json_decref(doc);
            free(file);
            break;
        }
        char *id = hash_id(p);
        struct entry *e = id ? entry_new(id, p, KIND_CACHED, doc) : (json_decref(doc), NULL);
        free(id);
        if (!e) {
            free(file);
            rc = pl_err_set(err, PL_ENOMEM, "Out of memory");
            break;
        }
        e->file = file;
        rc = insert_entry(r, e);
    }
    fclose(f);
    free(path);
    return rc;
}

static void load_store(struct pl_ctxreg *r)
{
    json_t *recs = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    if (!r->store || pl_store_ctx_load(r->store, &recs, &err) != 0 || !json_is_array(recs)) {
        json_decref(recs);
        return;
    }
    size_t i;
    json_t *rec;
    json_array_foreach(recs, i, rec)
    {
        const char *id = json_string_value(json_object_get(rec, "id"));
        const char *url = json_string_value(json_object_get(rec, "url"));
        const char *kind = json_string_value(json_object_get(rec, "kind"));
        const char *created = json_string_value(json_object_get(rec, "createdAt"));
        const char *body = json_string_value(json_object_get(rec, "body"));
        if (!id || !url || !kind || !body)
            continue;
        enum kind k;
        if (strcmp(kind, "Hosted") == 0)
            k = KIND_HOSTED;
        else if (strcmp(kind, "Cached") == 0)
            k = KIND_CACHED;
        else if (strcmp(kind, "ImplicitlyCreated") == 0)
            k = KIND_IMPLICIT; /* only kept ones are persisted */
        else
            continue;
        json_t *doc = json_loads(body, 0, NULL);
        if (!json_is_object(doc)) {
            json_decref(doc);
            continue;
        }
        struct entry *e = entry_new(id, url, k, doc);
        if (!e)
            continue;
        if (created) {
            snprintf(e->created, sizeof e->created, "%s", created);
            int64_t ms;
            if (pl_time_parse(created, &ms) == 0)
                e->fetched_ms = ms; /* a copy kept across restarts still expires on time */
        }
        e->kept = k == KIND_IMPLICIT;
        insert_entry(r, e);
    }
    json_decref(recs);
}

int pl_ctxreg_new(const struct pl_ctxreg_config *cfg, struct pl_store *store,
                  struct pl_ctxreg **out, struct pl_err *err)
{
    *out = NULL;
    pthread_once(&curl_once, curl_init_once);
    struct pl_ctxreg *r = calloc(1, sizeof *r);
    if (!r)
        return pl_err_set(err, PL_ENOMEM, "Out of memory");
    pthread_mutex_init(&r->mu, NULL);
    const char *self = cfg && cfg->self_url ? cfg->self_url : "http://localhost:1026";
    size_t ns = strlen(self);
    while (ns > 0 && self[ns - 1] == '/')
        ns--;
    r->hosted_prefix = str_printf("%.*s%s", (int)ns, self, HOSTED_PATH);
    r->fetch_timeout_ms = cfg && cfg->fetch_timeout_ms > 0 ? cfg->fetch_timeout_ms : 5000;
    r->connect_timeout_ms = cfg && cfg->connect_timeout_ms > 0 ? cfg->connect_timeout_ms : 2000;
    r->max_doc_bytes = cfg && cfg->max_doc_bytes > 0 ? cfg->max_doc_bytes : 1024 * 1024;
    r->max_redirects = cfg && cfg->max_redirects >= 0 ? cfg->max_redirects : 3;
    if ((cfg && cfg->max_redirects == 0) || r->max_redirects > PL_GUARD_MAX_REDIRECTS)
        r->max_redirects = PL_GUARD_MAX_REDIRECTS; /* 0 in a zeroed config means "default" */
    r->guard = cfg ? cfg->guard : NULL;
    r->max_cached = cfg && cfg->max_cached > 0 ? cfg->max_cached : 1024;
    r->ttl_ms = cfg && cfg->cached_ttl_ms > 0 ? cfg->cached_ttl_ms : 24LL * 3600 * 1000;
    r->store = store;
    r->by_url = pl_hmap_new(entry_free);
    r->by_id = pl_hmap_new(NULL);
    r->compiled = pl_hmap_new(compiled_free);
    if (!r->hosted_prefix || !r->by_url || !r->by_id || !r->compiled) {
        pl_ctxreg_free(r);
        return pl_err_set(err, PL_ENOMEM, "Out of memory");
    }
    /* The built-in core context: listed and served, never deleted. */
    json_t *core = json_loads(pl_ctx_builtin_doc(PL_CORE_CONTEXT_URL), 0, NULL);
    struct entry *e = entry_new(CORE_LOCAL_ID, PL_CORE_CONTEXT_URL, KIND_CACHED, core);
    if (!e || insert_entry(r, e) != 0) {
        pl_ctxreg_free(r);
        return pl_err_set(err, PL_ENOMEM, "Out of memory");
    }
    e->builtin = 1;
    load_store(r);
    if (cfg && cfg->preload_dir) {
        int rc = load_preload(r, cfg->preload_dir, err);
        if (rc) {
            pl_ctxreg_free(r);
            return rc;
        }
    }
    *out = r;
    return 0;
}

void pl_ctxreg_free(struct pl_ctxreg *r)
{
    if (!r)
        return;
    pl_hmap_free(r->compiled);
    pl_hmap_free(r->by_id);
    pl_hmap_free(r->by_url);
    free(r->hosted_prefix);
    pthread_mutex_destroy(&r->mu);
    free(r);
}

/* ------------------------------------------------------------------------------------------
 * Public operations.
 * ---------------------------------------------------------------------------------------- */

int pl_ctxreg_resolve(struct pl_ctxreg *r, json_t *value, struct pl_ctx **out, struct pl_err *err)
{
    if (!value || json_is_null(value)) {
        /* Core only (most reads): the shared core context, without the registry's lock. */
        const struct pl_ctx *core = pl_ctx_core();
        if (!core)
            return pl_err_set(err, PL_ENOMEM, "Out of memory");
        *out = pl_ctx_ref((struct pl_ctx *)core);
        return 0;
    }
    return resolve(r, value, 1, out, err);
}

int pl_ctxreg_context_url(struct pl_ctxreg *r, const json_t *value, int keep, char **url_out,
                          struct pl_err *err)
{
    *url_out = NULL;
    if (!value || json_is_null(value) || json_is_string(value)) {
        const char *url = json_is_string(value) ? json_string_value(value) : PL_CORE_CONTEXT_URL;
        *url_out = strdup(url);
        return *url_out ? 0 : pl_err_set(err, PL_ENOMEM, "Out of memory");
    }
    if (!json_is_object(value) && !json_is_array(value))
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "An @context must be a URL, an object or an array");
    char *canon = json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    if (!canon)
        return pl_err_set(err, PL_ENOMEM, "Out of memory");
    json_t *rec = NULL;
    pthread_mutex_lock(&r->mu);
    struct entry *e = note_implicit(r, value, canon);
    if (e) {
        *url_out = strdup(e->url);
        if (keep && !e->kept) {
            e->kept = 1;
            rec = entry_record(e);
        }
    }
    pthread_mutex_unlock(&r->mu);
    free(canon);
    persist_put(r, rec);
    return *url_out ? 0 : pl_err_set(err, PL_ENOMEM, "Out of memory");
}

int pl_ctxreg_add(struct pl_ctxreg *r, json_t *body, char **url_out, struct pl_err *err)
{
    *url_out = NULL;
    json_t *cv = json_is_object(body) ? json_object_get(body, "@context") : NULL;
    if (!cv)
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "The body must be a JSON object with an @context member");
    if (!json_is_object(cv) && !json_is_array(cv))
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "The @context of a hosted context must be an object or an array");
    struct pl_ctx *c = NULL;
    int rc = resolve(r, cv, 0, &c, err); /* NGSI-LD 5.13.2: it must be a valid @context */
    if (rc)
        return rc;
    pl_ctx_unref(c);
    char *id = random_id();
    char *url = id ? str_printf("%s%s", r->hosted_prefix, id) : NULL;
    json_t *doc = json_pack("{s:O}", "@context", cv);
    struct entry *e = url ? entry_new(id, url, KIND_HOSTED, doc) : (json_decref(doc), NULL);
    free(id);
    if (!e) {
        free(url);
        return pl_err_set(err, PL_ENOMEM, "Out of memory");
    }
    json_t *rec = entry_record(e);
    pthread_mutex_lock(&r->mu);
    rc = insert_entry(r, e);
    r->gen++; /* no compiled context can depend on a new id, but keep the rule simple */
    pthread_mutex_unlock(&r->mu);
    if (rc) {
        json_decref(rec);
        free(url);
        return pl_err_set(err, PL_ENOMEM, "Out of memory");
    }
    persist_put(r, rec);
    *url_out = url;
    return 0;
}

static int cmp_entries(const void *a, const void *b)
{
    const struct entry *x = *(const struct entry *const *)a;
    const struct entry *y = *(const struct entry *const *)b;
    int c = strcmp(x->created, y->created);
    return c ? c : strcmp(x->url, y->url);
}

int pl_ctxreg_list(struct pl_ctxreg *r, int details, const char *kind, json_t **out,
                   struct pl_err *err)
{
    *out = NULL;
    int want = -1;
    if (kind) {
        for (int k = 0; k < 3; k++) {
            if (strcmp(kind, kind_names[k]) == 0)
                want = k;
        }
        if (want < 0)
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "Unknown kind '%.100s' (Hosted, Cached or ImplicitlyCreated)", kind);
    }
    json_t *arr = json_array();
    if (!arr)
        return pl_err_set(err, PL_ENOMEM, "Out of memory");
    pthread_mutex_lock(&r->mu);
    size_t n = pl_hmap_count(r->by_url), m = 0, pos = 0;
    struct entry **es = calloc(n ? n : 1, sizeof *es);
    const char *k;
    void *v;
    while (es && pl_hmap_next(r->by_url, &pos, &k, &v)) {
        struct entry *e = v;
        if (want < 0 || (int)e->kind == want)
            es[m++] = e;
    }
    int rc = es ? 0 : PL_ENOMEM;
    if (es)
        qsort(es, m, sizeof *es, cmp_entries);
    for (size_t i = 0; i < m && !rc; i++) {
        struct entry *e = es[i];
        json_t *item;
        item = details ? entry_details(r, e) : json_string(e->url);
        if (!item || json_array_append_new(arr, item) != 0)
            rc = PL_ENOMEM;
    }
    pthread_mutex_unlock(&r->mu);
    free(es);
    if (rc) {
        json_decref(arr);
        return pl_err_set(err, PL_ENOMEM, "Out of memory");
    }
    *out = arr;
    return 0;
}

int pl_ctxreg_get(struct pl_ctxreg *r, const char *id, int details, json_t **out,
                  struct pl_err *err)
{
    *out = NULL;
    if (!id || !*id)
        return pl_err_set(err, PL_EBADREQUESTDATA, "No @context identifier given");
    pthread_mutex_lock(&r->mu);
    struct entry *e = find_entry(r, id);
    int rc = 0;
    if (!e) {
        rc = pl_err_set(err, PL_ENOTFOUND, "No @context with id or URL %.300s", id);
    } else if (details) {
        *out = entry_details(r, e);
    } else if (e->kind == KIND_CACHED) {
        /* NGSI-LD 5.13.4.4: only Hosted and implicitly created contexts are served. */
        rc = pl_err_set(err, PL_EOPNOTSUPPORTED,
                        "@context %.300s is of kind Cached: only its details are served (use "
                        "details=true, or fetch it from its original URL)",
                        e->url);
    } else {
        e->hits++;
        e->last_usage = pl_time_now_ms();
        *out = json_deep_copy(e->doc);
    }
    pthread_mutex_unlock(&r->mu);
    if (!rc && !*out)
        rc = pl_err_set(err, PL_ENOMEM, "Out of memory");
    return rc;
}

/* NGSI-LD 5.13.5.4: re-downloads the Cached entry at `url` (a preloaded one, `file` non-NULL, is
 * re-read from its file) and replaces its document. Takes ownership of `url` and `file`. The
 * registry lock is not held: the entry may be deleted meanwhile, which is PL_ENOTFOUND. Any
 * failure keeps the old document. */
static int reload(struct pl_ctxreg *r, const char *id, char *url, char *file, struct pl_err *err)
{
    json_t *doc = NULL;
    int rc = 0;
    if (file) {
        doc = json_load_file(file, 0, NULL);
        if (!json_is_object(doc))
            rc = pl_err_set(err, PL_ELDCONTEXT, "Preloaded @context file %.300s unreadable", file);
    } else {
        rc = fetch(r, url, &doc, err);
    }
    /* The document must be a JSON-LD context document (an object with an @context member) whose
     * context compiles: the same checks as when it was first loaded (context.c). Without the
     * member, pl_ctx_build(NULL) would build the core context and accept anything. */
    json_t *cv = rc ? NULL : json_object_get(doc, "@context");
    if (!rc && !cv)
        rc = pl_err_set(err, PL_ELDCONTEXT,
                        "JSON-LD @context %.300s not available: the downloaded document has no "
                        "@context member",
                        url);
    if (!rc) {
        struct load l = {r, json_object()};
        struct pl_ctx *c = NULL;
        rc = l.fetched ? pl_ctx_build(cv, loader, &l, &c, err)
                       : pl_err_set(err, PL_ENOMEM, "Out of memory");
        json_decref(l.fetched);
        pl_ctx_unref(c);
    }
    if (rc) {
        /* Anything but memory exhaustion is LdContextNotAvailable; the detail says why. */
        json_decref(doc);
        free(url);
        free(file);
        if (rc == PL_ENOMEM)
            return rc;
        if (err)
            err->code = PL_ELDCONTEXT;
        return PL_ELDCONTEXT;
    }
    json_t *rec = NULL;
    pthread_mutex_lock(&r->mu);
    struct entry *e = pl_hmap_get(r->by_url, url, NULL);
    if (e) {
        json_decref(e->doc);
        e->doc = doc;
        e->fetched_ms = pl_time_now_ms();
        doc = NULL;
        if (!e->file)
            rec = entry_record(e);
        flush_compiled(r);
    }
    pthread_mutex_unlock(&r->mu);
    json_decref(doc);
    persist_put(r, rec);
    free(url);
    free(file);
    return e ? 0 : pl_err_set(err, PL_ENOTFOUND, "No @context with id or URL %.300s", id);
}

int pl_ctxreg_delete(struct pl_ctxreg *r, const char *id, int reload_flag, struct pl_err *err)
{
    if (!id || !*id)
        return pl_err_set(err, PL_EBADREQUESTDATA, "No @context identifier given");
    pthread_mutex_lock(&r->mu);
    struct entry *e = find_entry(r, id);
    int rc = 0;
    /* 5.13.5.4 checks the identifier before the reload flag: an unknown one is ResourceNotFound
     * with or without reload (6.30.3.2 lists 404 for "an @context identifier not known"). */
    if (!e)
        rc = pl_err_set(err, PL_ENOTFOUND, "No @context with id or URL %.300s", id);
    else if (e->builtin && reload_flag) {
        pthread_mutex_unlock(&r->mu); /* built in: reloading it is reading it again, a no-op */
        return 0;
    } else if (e->builtin)
        rc = pl_err_set(err, PL_EBADREQUESTDATA, "The core @context cannot be deleted");
    else if (reload_flag && e->kind != KIND_CACHED)
        rc = pl_err_set(err, PL_EBADREQUESTDATA, "Only a Cached @context can be reloaded");
    if (rc) {
        pthread_mutex_unlock(&r->mu);
        return rc;
    }
    if (reload_flag) {
        /* Copied while the entry is known to exist: after the unlock it may vanish, which
         * reload() reports as not found. A failed copy here is only memory exhaustion. */
        char *url = strdup(e->url);
        char *file = e->file ? strdup(e->file) : NULL;
        int nomem = !url || (e->file && !file);
        pthread_mutex_unlock(&r->mu);
        if (nomem) {
            free(url);
            free(file);
            return pl_err_set(err, PL_ENOMEM, "Out of memory");
        }
        return reload(r, id, url, file, err);
    }
    char *sid = ((e->kind != KIND_IMPLICIT || e->kept) && !e->file) ? strdup(e->id) : NULL;
    remove_entry(r, e);
    flush_compiled(r);
    pthread_mutex_unlock(&r->mu);
    if (sid && r->store) {
        struct pl_err serr;
        pl_err_clear(&serr);
        (void)pl_store_ctx_delete(r->store, sid, &serr);
    }
    free(sid);
    return 0;
}
