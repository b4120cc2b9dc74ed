/* SPDX-License-Identifier: Apache-2.0 */
/* audit.c — the audit log's recorder: the response hook, the bounded queue, the background
 * flush and retention (audit.h). */
#include "auth/audit.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app/app.h"
#include "auth/auth.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "http/http.h"
#include "query/temporalq.h"
#include "store/store.h"

#define FLUSH_MS          200     /* the queue is written at least this often */
#define TRIM_EVERY_MS     10000   /* retention runs this often (back to back while it is busy) */
#define MAX_BATCH_IDS     100     /* entity ids recorded per batch request */
#define MAX_BATCH_BODY    1048576 /* batch bodies above this are not parsed for their ids */
#define DEFAULT_RETENTION "P90D"

/* One queued row: the record and the one allocation holding its strings. */
struct item {
    struct pl_audit_rec rec;
    char *blob;
};

struct pl_audit {
    struct pl_store *store;
    int64_t retention_ms;
    pthread_mutex_t mu; /* the queue and `stopping` */
    pthread_cond_t cv;
    struct item *q; /* ring */
    size_t head, n, cap;
    int stopping;
    pthread_mutex_t flush_mu; /* one writer of rows at a time: rows keep their order */
    pthread_t thread;
    int64_t last_drop_warn_ms;
    atomic_uint_least64_t recorded, dropped, trimmed;
};

int pl_audit_retention_parse(const char *s, int64_t *ms, struct pl_err *err)
{
    if (!s || !*s)
        s = DEFAULT_RETENTION;
    if (strcmp(s, "0") == 0) {
        *ms = 0;
        return 0;
    }
    int months = 0;
    int64_t rest = 0;
    struct pl_err e;
    if (pl_iso_duration_parse(s, &months, &rest, &e) != 0)
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "--audit-retention: '%.32s' is not an ISO 8601 duration (e.g. P90D) "
                          "or 0",
                          s);
    *ms = rest + (int64_t)months * 30 * 86400000LL;
    if (*ms <= 0)
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "--audit-retention: '%.32s' is empty; 0 keeps rows forever", s);
    return 0;
}

/* ---- the queue ---------------------------------------------------------------------------- */
/* Takes every queued row into a NEW array (*n of them; NULL when none). a->mu held. */
static struct item *take_all(struct pl_audit *a, size_t *n)
{
    *n = 0;
    if (!a->n)
        return NULL;
    struct item *v = malloc(a->n * sizeof *v);
    if (!v)
        return NULL; /* they wait for the next try */
    for (size_t i = 0; i < a->n; i++)
        v[i] = a->q[(a->head + i) % a->cap];
    *n = a->n;
    a->head = 0;
    a->n = 0;
    return v;
}

/* Writes what is queued (in order: one writer at a time). */
static void drain(struct pl_audit *a)
{
    pthread_mutex_lock(&a->flush_mu);
    pthread_mutex_lock(&a->mu);
    size_t n;
    struct item *v = take_all(a, &n);
    pthread_mutex_unlock(&a->mu);
    if (v) {
        struct pl_audit_rec *recs = malloc(n * sizeof *recs);
        struct pl_err err;
        pl_err_clear(&err);
        int rc = PL_ENOMEM;
        if (recs) {
            for (size_t i = 0; i < n; i++)
                recs[i] = v[i].rec;
            rc = pl_store_audit_append(a->store, recs, n, &err);
        }
        if (rc == 0) {
            atomic_fetch_add(&a->recorded, n);
        } else {
            atomic_fetch_add(&a->dropped, n);
            pl_log_warn("audit: %zu rows could not be written: %s", n,
                        rc == PL_ENOMEM ? "out of memory" : err.detail);
        }
        for (size_t i = 0; i < n; i++)
            free(v[i].blob);
        free(recs);
        free(v);
    }
    pthread_mutex_unlock(&a->flush_mu);
}

void pl_audit_flush(struct pl_audit *a)
{
    if (a)
        drain(a);
}

/* Queues a copy of `rec` (strings copied into one blob); drops and counts it when full. */
static void enqueue(struct pl_audit *a, const struct pl_audit_rec *rec)
{
    const char *s[8] = {rec->principal, rec->role,   rec->tenant, rec->method,
                        rec->path,      rec->ids,    rec->client, NULL};
    size_t len[7], total = 0;
    for (int i = 0; i < 7; i++)
        total += (len[i] = s[i] ? strlen(s[i]) + 1 : 0);
    char *blob = malloc(total ? total : 1);
    struct item it = {*rec, blob};
    const char **dst[7] = {&it.rec.principal, &it.rec.role, &it.rec.tenant, &it.rec.method,
                           &it.rec.path,      &it.rec.ids,  &it.rec.client};
    char *p = blob;
    for (int i = 0; blob && i < 7; i++) {
        if (!s[i]) {
            *dst[i] = NULL;
            continue;
        }
        memcpy(p, s[i], len[i]);
        *dst[i] = p;
        p += len[i];
    }
    int64_t now = rec->at_ms;
    int warn = 0, wake = 0;
    pthread_mutex_lock(&a->mu);
    if (!blob || a->n == a->cap || a->stopping) {
        free(blob);
        atomic_fetch_add(&a->dropped, 1);
        if (now - a->last_drop_warn_ms >= 10000) {
            a->last_drop_warn_ms = now;
            warn = 1;
        }
    } else {
        a->q[(a->head + a->n) % a->cap] = it;
        a->n++;
        wake = a->n >= a->cap / 2;
    }
    if (wake)
        pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    if (warn)
        pl_log_warn("audit: the queue is full (%zu rows waiting for the store): rows are dropped "
                    "(%llu so far)",
                    a->cap, (unsigned long long)atomic_load(&a->dropped));
}

/* ---- the thread ----------------------------------------------------------------------------- */
static void *audit_main(void *arg)
{
    struct pl_audit *a = arg;
    pthread_setname_np(pthread_self(), "pl-audit");
    int64_t next_trim = pl_time_now_ms() + 1000;
    pthread_mutex_lock(&a->mu);
    while (!a->stopping) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += FLUSH_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&a->cv, &a->mu, &ts);
        if (a->stopping)
            break;
        pthread_mutex_unlock(&a->mu);
        drain(a);
        int64_t now = pl_time_now_ms();
        if (a->retention_ms > 0 && now >= next_trim) {
            int64_t k = pl_store_audit_trim_step(a->store, now - a->retention_ms);
            if (k > 0)
                atomic_fetch_add(&a->trimmed, (uint64_t)k);
            next_trim = k >= 5000 ? now : now + TRIM_EVERY_MS;
        }
        pthread_mutex_lock(&a->mu);
    }
    pthread_mutex_unlock(&a->mu);
    drain(a);
    return NULL;
}

int pl_audit_start(const struct pl_audit_config *cfg, struct pl_audit **out, struct pl_err *err)
{
    struct pl_audit *a = calloc(1, sizeof *a);
    if (!a)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    a->store = cfg->store;
    a->retention_ms = cfg->retention_ms;
    a->cap = cfg->max_queue ? cfg->max_queue : 10000;
    a->q = calloc(a->cap, sizeof *a->q);
    if (!a->q) {
        free(a);
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&a->mu, NULL);
    pthread_mutex_init(&a->flush_mu, NULL);
    pthread_cond_init(&a->cv, NULL);
    if (pthread_create(&a->thread, NULL, audit_main, a) != 0) {
        pthread_cond_destroy(&a->cv);
        pthread_mutex_destroy(&a->flush_mu);
        pthread_mutex_destroy(&a->mu);
        free(a->q);
        free(a);
        return pl_err_set(err, PL_EINTERNAL, "audit: cannot start its thread");
    }
    *out = a;
    return 0;
}

void pl_audit_stop(struct pl_audit *a)
{
    if (!a)
        return;
    pthread_mutex_lock(&a->mu);
    a->stopping = 1;
    pthread_cond_signal(&a->cv);
    pthread_mutex_unlock(&a->mu);
    pthread_join(a->thread, NULL);
    for (size_t i = 0; i < a->n; i++) /* none: the thread drained them */
        free(a->q[(a->head + i) % a->cap].blob);
    pthread_cond_destroy(&a->cv);
    pthread_mutex_destroy(&a->flush_mu);
    pthread_mutex_destroy(&a->mu);
    free(a->q);
    free(a);
}

void pl_audit_stats(struct pl_audit *a, struct pl_audit_stats *out)
{
    memset(out, 0, sizeof *out);
    if (!a)
        return;
    out->recorded = atomic_load(&a->recorded);
    out->dropped = atomic_load(&a->dropped);
    out->trimmed = atomic_load(&a->trimmed);
}

/* ---- the hook ------------------------------------------------------------------------------- */
static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* A POST that only reads. */
static int is_read_post(const struct pl_req *r)
{
    return ends_with(r->path, "/entityOperations/query") ||
           ends_with(r->path, "/entityOperations/query/");
}

static int hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* The last path segment of a Location header, percent-decoded: the created resource's id. */
static json_t *location_id(const struct pl_req *r)
{
    for (int i = 0; i < r->n_hdr; i++) {
        if (strcmp(r->hdr_name[i], "Location") != 0)
            continue;
        const char *seg = strrchr(r->hdr_value[i], '/');
        seg = seg ? seg + 1 : r->hdr_value[i];
        size_t n = strlen(seg);
        char *d = malloc(n + 1);
        if (!d)
            return NULL;
        size_t k = 0;
        for (size_t j = 0; j < n; j++) {
            int h, l;
            if (seg[j] == '%' && j + 2 < n && (h = hexval(seg[j + 1])) >= 0 &&
                (l = hexval(seg[j + 2])) >= 0 && (h || l)) {
                d[k++] = (char)(h * 16 + l);
                j += 2;
            } else {
                d[k++] = seg[j];
            }
        }
        d[k] = '\0';
        json_t *s = json_string(d);
        free(d);
        return s;
    }
    return NULL;
}

/* The ids of a batch body (an array of entities, or of ids for delete): at most MAX_BATCH_IDS,
 * then a last element "+N more". */
static void batch_ids(const struct pl_req *r, json_t *ids)
{
    if (!r->body || r->body_len > MAX_BATCH_BODY)
        return;
    json_t *b = json_loadb(r->body, r->body_len, 0, NULL);
    size_t i, more = 0;
    json_t *e;
    json_array_foreach(b, i, e)
    {
        const char *id = json_is_string(e) ? json_string_value(e)
                                           : json_string_value(json_object_get(e, "id"));
        if (!id)
            continue;
        if (json_array_size(ids) < MAX_BATCH_IDS)
            json_array_append_new(ids, json_string(id));
        else
            more++;
    }
    json_decref(b);
    if (more) {
        char m[32];
        snprintf(m, sizeof m, "+%zu more", more);
        json_array_append_new(ids, json_string(m));
    }
}

/* The entity ids a request names, as a JSON array text (NEW string), NULL when none. */
static char *ids_of(const struct pl_req *r)
{
    json_t *ids = json_array();
    if (!ids)
        return NULL;
    if (r->n_params > 0 && r->params[0])
        json_array_append_new(ids, json_string(r->params[0]));
    else if (strstr(r->path, "/entityOperations/"))
        batch_ids(r, ids);
    else if (r->status == 201) {
        json_t *id = location_id(r);
        if (id)
            json_array_append_new(ids, id);
    }
    char *s = json_array_size(ids) ? json_dumps(ids, JSON_COMPACT) : NULL;
    json_decref(ids);
    return s;
}

static const char *method_name(enum pl_method m)
{
    switch (m) {
    case PL_M_GET: return "GET";
    case PL_M_POST: return "POST";
    case PL_M_PUT: return "PUT";
    case PL_M_PATCH: return "PATCH";
    case PL_M_DELETE: return "DELETE";
    case PL_M_HEAD: return "HEAD";
    case PL_M_OPTIONS: return "OPTIONS";
    default: return "OTHER";
    }
}

void pl_audit_on_response(struct pl_req *r)
{
    struct pl_audit *a = r->app ? r->app->audit : NULL;
    if (!a)
        return;
    int write = r->method == PL_M_PUT || r->method == PL_M_PATCH || r->method == PL_M_DELETE ||
                (r->method == PL_M_POST && !is_read_post(r));
    int auth_failure = r->status == 401 || r->status == 403;
    if (!write && !auth_failure)
        return;
    const struct pl_principal *p = r->principal;
    char *ids = ids_of(r);
    struct pl_audit_rec rec = {
        .at_ms = pl_time_now_ms(),
        .principal = p ? p->name : "",
        .role = p ? pl_role_name(p->role) : "",
        .tenant = r->tenant ? r->tenant : "",
        .method = method_name(r->method),
        .path = r->path ? r->path : "",
        .ids = ids,
        .status = r->status,
        .client = r->client_addr,
    };
    enqueue(a, &rec);
    free(ids);
}
