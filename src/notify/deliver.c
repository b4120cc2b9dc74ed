/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deliver.c — the notification delivery engine (see deliver.h).
 *
 * Structure:
 *  - Submitters append to an INBOX under `mu` and wake the delivery thread with
 *    curl_multi_wakeup. The endpoint table (`eps`, id -> struct ep) and each endpoint's `count`
 *    (accepted, unfinished messages: the bound of its queue) are also under `mu`, so the bound
 *    is checked at submit time and a full queue never blocks anyone.
 *  - The delivery thread moves inbox items into per-endpoint LANES: one FIFO per ordering key.
 *    A lane is BUSY while its head is in flight; otherwise, when it has items, it sits in its
 *    endpoint's READY list. Dispatch pops ready lanes (up to the in-flight limit) and starts
 *    their head. So one key never has two attempts at once and a failed head stays in front of
 *    its successors (its lane goes back to the FRONT of the ready list) — order per key holds.
 *  - Endpoints with ready lanes are in the ACTIVE list; dispatch walks only those. An endpoint
 *    whose backoff has not expired is skipped and sets the poll timeout.
 *  - HTTP attempts are curl easy handles in the one multi handle (connections are pooled by the
 *    multi handle: keep-alive and reuse across handles); each endpoint keeps up to
 *    max_inflight_per_endpoint easy handles for reuse. MQTT attempts publish through the
 *    endpoint's broker connection (mqtt.c); its events come back through `evq`.
 *  - Idle endpoints (nothing pending for IDLE_MS) are forgotten, closing their MQTT connection.
 */
#include "notify/deliver.h"

/* Publishes in flight per MQTT broker connection: one TCP stream that the broker acknowledges
 * in order, so a window much larger than HTTP's (one request per connection) keeps QoS 1 from
 * waiting a round trip per message (8 in flight delivered 7.7k/s while writes made 11k/s). */
#define MQTT_INFLIGHT 256

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <strings.h>
#include <time.h>

#include "base/hmap.h"
#include "base/timeutil.h"
#include "notify/mqtt.h"

#define IDLE_MS           60000 /* an endpoint with nothing pending is forgotten after this */
#define GC_EVERY_MS       5000
#define MQ_KICK_EVERY_MS  1000 /* reconnection attempts that waiting messages ask for */
#define MAX_CONNECTIONS   1024 /* kept-alive connections in the multi handle's pool */
#define MAX_POLL_MS       1000
#define MQTT_STOP_WAIT_MS 1000

enum { EP_HTTP = 1, EP_MQTT };
enum { MQ_CONNECTING = 0, MQ_UP, MQ_DOWN };
enum { OUT_OK = 0, OUT_RETRY, OUT_FINAL };

struct slot { /* one reusable HTTP easy handle */
    CURL *e;
    char errbuf[CURL_ERROR_SIZE];
    struct pl_guard_curl gc; /* the guard's hook state of this handle (why it refused) */
};

struct lane;
struct ep;

struct item {
    struct item *next; /* inbox, lane FIFO, or MQTT in-flight list (`mnext`) */
    struct item *mnext;
    struct ep *ep;
    struct lane *lane;
    char *uri, *body, *ctype, **headers, *key, *topic;
    size_t len, n_headers;
    int qos;
    int attempts;
    void (*done)(void *ud, int ok, int http_status, const char *error);
    void *ud;
    /* HTTP, while in flight */
    struct slot *slot;
    struct curl_slist *hl; /* built at the first attempt, kept for retries */
    /* MQTT, while in flight */
    int mid;
    unsigned gen;
    int64_t deadline;
};

struct lane {
    struct lane *rnext; /* ready list */
    struct item *head, *tail;
    const char *key; /* the lanes table's copy */
    int busy, in_ready;
};

struct ep {
    struct pl_deliver *d;
    char *id;
    int kind;
    /* under d->mu */
    size_t count;
    int64_t idle_since; /* monotonic ms when count became 0; 0 while busy */
    int sh_inflight, sh_failures;
    int64_t sh_backoff_until, last_success, last_failure;
    char last_error[160];
    /* delivery thread only */
    struct ep *anext; /* active list */
    int in_active;
    struct ep *mqnext;     /* MQTT endpoints list */
    struct pl_hmap *lanes; /* key -> struct lane (freed by hand) */
    struct lane *rhead, *rtail;
    int inflight, failures;
    int64_t backoff_until;
    struct slot **pool;
    int npool;
    /* MQTT */
    char *host, *user, *pass;
    int port, tls, v5;
    struct pl_mqtt_conn *mq;
    int mq_state;
    unsigned mq_gen;
    int64_t mq_since;
    int64_t mq_kicked; /* when a waiting message last asked for a reconnection (kick) */
    int mq_refused;    /* the last connection attempt was refused by the outbound guard */
    char mq_error[160];
    struct item *mq_inflight;
};

struct evnode {
    struct evnode *next;
    struct ep *ep;
    struct pl_mqtt_ev ev;
};

struct pl_deliver {
    struct pl_deliver_config cfg;
    CURLM *multi;
    pthread_t th;
    pthread_mutex_t mu; /* inbox, eps, counts, stopping */
    struct pl_hmap *eps;
    struct item *in_head, *in_tail;
    size_t total;
    int stopping;
    pthread_mutex_t evmu; /* MQTT events */
    struct evnode *ev_head, *ev_tail;
    atomic_uint_fast64_t sent, failed, retried, dropped, refused;
    /* delivery thread only */
    struct ep *active;
    struct ep *mqtt_eps;
    int aborting;
    uint64_t rng;
    int64_t next_gc;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- messages ---------------------------------------------------------------------------- */

void pl_deliver_msg_dispose(struct pl_deliver_msg *m)
{
    if (!m)
        return;
    free(m->uri);
    free(m->body);
    for (size_t i = 0; m->headers && i < m->n_headers; i++)
        free(m->headers[i]);
    free(m->headers);
    free(m->key);
    m->uri = m->body = m->key = NULL;
    m->headers = NULL;
    m->n_headers = 0;
}

static void item_free(struct item *it)
{
    free(it->uri);
    free(it->body);
    for (size_t i = 0; it->headers && i < it->n_headers; i++)
        free(it->headers[i]);
    free(it->headers);
    free(it->key);
    free(it->ctype);
    free(it->topic);
    curl_slist_free_all(it->hl);
    free(it);
}

/* ---- targets ----------------------------------------------------------------------------- */

struct target {
    int kind, tls, port;
    char host[256];
    char *user, *pass, *topic; /* malloc'd (URL-decoded), may be NULL */
    char id[1024];
};

static void target_dispose(struct target *t)
{
    curl_free(t->user);
    curl_free(t->pass);
    free(t->topic);
    t->user = t->pass = t->topic = NULL;
}

/* Parses `uri` into its endpoint. Returns 0 or -1 (unusable). */
static int target_parse(const char *uri, int v5, int want_topic, struct target *t)
{
    memset(t, 0, sizeof *t);
    CURLU *u = curl_url();
    if (!u)
        return -1;
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL;
    int rc = -1;
    if (curl_url_set(u, CURLUPART_URL, uri, CURLU_NON_SUPPORT_SCHEME) != CURLUE_OK)
        goto out;
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || !*host)
        goto out;
    int defport;
    if (strcasecmp(scheme, "http") == 0) {
        t->kind = EP_HTTP, defport = 80;
    } else if (strcasecmp(scheme, "https") == 0) {
        t->kind = EP_HTTP, t->tls = 1, defport = 443;
    } else if (strcasecmp(scheme, "mqtt") == 0) {
        t->kind = EP_MQTT, defport = 1883;
    } else if (strcasecmp(scheme, "mqtts") == 0) {
        t->kind = EP_MQTT, t->tls = 1, defport = 8883;
    } else {
        goto out;
    }
    t->port = defport;
    if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK && port) {
        char *end;
        long p = strtol(port, &end, 10);
        if (*end || p <= 0 || p > 65535)
            goto out;
        t->port = (int)p;
    }
    /* host without IPv6 brackets, lower case */
    const char *h = host;
    size_t hl = strlen(h);
    if (hl >= 2 && h[0] == '[' && h[hl - 1] == ']')
        h++, hl -= 2;
    if (hl == 0 || hl >= sizeof t->host)
        goto out;
    for (size_t i = 0; i < hl; i++)
        t->host[i] = (char)((h[i] >= 'A' && h[i] <= 'Z') ? h[i] + 32 : h[i]);
    t->host[hl] = '\0';
    int n;
    if (t->kind == EP_HTTP) {
        n = snprintf(t->id, sizeof t->id, "%s://%s%s%s:%d", t->tls ? "https" : "http",
                     strchr(t->host, ':') ? "[" : "", t->host, strchr(t->host, ':') ? "]" : "",
                     t->port);
    } else {
        if (curl_url_get(u, CURLUPART_USER, &t->user, CURLU_URLDECODE) != CURLUE_OK)
            t->user = NULL;
        if (curl_url_get(u, CURLUPART_PASSWORD, &t->pass, CURLU_URLDECODE) != CURLUE_OK)
            t->pass = NULL;
        if (want_topic) {
            if (curl_url_get(u, CURLUPART_PATH, &path, CURLU_URLDECODE) != CURLUE_OK || !path ||
                path[0] != '/' || !path[1] || strpbrk(path + 1, "+#"))
                goto out;
            t->topic = strdup(path + 1);
            if (!t->topic)
                goto out;
        }
        /* The id holds the credentials: it is never logged nor shown. */
        n = snprintf(t->id, sizeof t->id, "%s://%s:%s@%s:%d/v%d", t->tls ? "mqtts" : "mqtt",
                     t->user ? t->user : "", t->pass ? t->pass : "", t->host, t->port, v5 ? 5 : 3);
    }
    if (n < 0 || (size_t)n >= sizeof t->id)
        goto out;
    rc = 0;
out:
    curl_free(scheme);
    curl_free(host);
    curl_free(port);
    curl_free(path);
    curl_url_cleanup(u);
    if (rc != 0)
        target_dispose(t);
    return rc;
}

/* ---- endpoints --------------------------------------------------------------------------- */

static struct ep *ep_new(struct pl_deliver *d, const struct target *t, int v5)
{
    struct ep *ep = calloc(1, sizeof *ep);
    if (!ep)
        return NULL;
    ep->d = d;
    ep->kind = t->kind;
    ep->id = strdup(t->id);
    ep->lanes = pl_hmap_new(NULL);
    ep->pool = calloc((size_t)d->cfg.max_inflight_per_endpoint, sizeof *ep->pool);
    ep->host = strdup(t->host);
    ep->port = t->port;
    ep->tls = t->tls;
    ep->v5 = v5;
    int ok = ep->id && ep->lanes && ep->pool && ep->host;
    if (ok && t->user)
        ok = (ep->user = strdup(t->user)) != NULL;
    if (ok && t->pass)
        ok = (ep->pass = strdup(t->pass)) != NULL;
    if (!ok) {
        free(ep->id);
        pl_hmap_free(ep->lanes);
        free(ep->pool);
        free(ep->host);
        free(ep->user);
        free(ep->pass);
        free(ep);
        return NULL;
    }
    return ep;
}

static void ep_free(struct ep *ep)
{
    for (int i = 0; i < ep->npool; i++) {
        curl_easy_cleanup(ep->pool[i]->e);
        free(ep->pool[i]);
    }
    free(ep->pool);
    pl_hmap_free(ep->lanes);
    free(ep->id);
    free(ep->host);
    free(ep->user);
    free(ep->pass);
    free(ep);
}

static void ep_activate(struct pl_deliver *d, struct ep *ep)
{
    if (!ep->in_active) {
        ep->in_active = 1;
        ep->anext = d->active;
        d->active = ep;
    }
}

static void ready_push_back(struct ep *ep, struct lane *l)
{
    l->in_ready = 1;
    l->rnext = NULL;
    if (ep->rtail)
        ep->rtail->rnext = l;
    else
        ep->rhead = l;
    ep->rtail = l;
}

static void ready_push_front(struct ep *ep, struct lane *l)
{
    l->in_ready = 1;
    l->rnext = ep->rhead;
    ep->rhead = l;
    if (!ep->rtail)
        ep->rtail = l;
}

static struct lane *ready_pop(struct ep *ep)
{
    struct lane *l = ep->rhead;
    if (l) {
        ep->rhead = l->rnext;
        if (!ep->rhead)
            ep->rtail = NULL;
        l->rnext = NULL;
        l->in_ready = 0;
    }
    return l;
}

/* Copies the delivery thread's view of `ep` for pl_deliver_endpoint_info. d->mu held. */
static void ep_share_locked(struct ep *ep)
{
    ep->sh_inflight = ep->inflight;
    ep->sh_failures = ep->failures;
    ep->sh_backoff_until = ep->backoff_until;
}

static void ep_share(struct pl_deliver *d, struct ep *ep)
{
    pthread_mutex_lock(&d->mu);
    ep_share_locked(ep);
    pthread_mutex_unlock(&d->mu);
}

/* ---- outcomes ---------------------------------------------------------------------------- */

static int64_t backoff_ms(struct pl_deliver *d, int attempts)
{
    int64_t ms = d->cfg.retry_base_ms;
    for (int i = 1; i < attempts && ms < d->cfg.retry_max_ms; i++)
        ms *= 2;
    if (ms > d->cfg.retry_max_ms)
        ms = d->cfg.retry_max_ms;
    /* up to +25 % jitter, so endpoints that failed together do not retry in lockstep */
    d->rng ^= d->rng << 13;
    d->rng ^= d->rng >> 7;
    d->rng ^= d->rng << 17;
    return ms + (int64_t)(d->rng % (uint64_t)(ms / 4 + 1));
}

/* The head of its lane is finished: report it, free it, move the lane on. */
static void finish(struct pl_deliver *d, struct item *it, int ok, int status, const char *error)
{
    struct ep *ep = it->ep;
    struct lane *l = it->lane;
    if (l) {
        l->head = it->next;
        if (!l->head)
            l->tail = NULL;
        l->busy = 0;
        if (l->head) {
            if (!l->in_ready && !d->aborting) {
                ready_push_back(ep, l);
                ep_activate(d, ep);
            }
        } else {
            if (l->in_ready) { /* cannot happen: a lane with its head in flight is not ready */
                struct lane **pp = &ep->rhead;
                while (*pp && *pp != l)
                    pp = &(*pp)->rnext;
                if (*pp)
                    *pp = l->rnext;
                ep->rtail = NULL;
                for (struct lane *x = ep->rhead; x; x = x->rnext)
                    ep->rtail = x;
            }
            pl_hmap_del(ep->lanes, l->key);
            free(l);
        }
    }
    int64_t wall = pl_time_now_ms();
    pthread_mutex_lock(&d->mu);
    ep->count--;
    d->total--;
    if (ep->count == 0)
        ep->idle_since = mono_ms();
    if (ok) {
        ep->last_success = wall;
    } else {
        ep->last_failure = wall;
        snprintf(ep->last_error, sizeof ep->last_error, "%s", error ? error : "failed");
    }
    ep_share_locked(ep);
    pthread_mutex_unlock(&d->mu);
    atomic_fetch_add(ok ? &d->sent : &d->failed, 1);
    if (it->done)
        it->done(it->ud, ok, status, ok ? NULL : (error ? error : "failed"));
    item_free(it);
}

/* An attempt of `it` ended (it is no longer in flight). */
static void outcome(struct pl_deliver *d, struct item *it, int kind, int status, const char *error)
{
    struct ep *ep = it->ep;
    if (kind == OUT_OK) {
        ep->failures = 0;
        finish(d, it, 1, status, NULL);
        return;
    }
    if (kind == OUT_RETRY) {
        ep->failures++;
        int64_t until = mono_ms() + backoff_ms(d, it->attempts);
        if (until > ep->backoff_until)
            ep->backoff_until = until;
        if (it->attempts <= d->cfg.max_retries && !d->aborting) {
            atomic_fetch_add(&d->retried, 1);
            struct lane *l = it->lane;
            l->busy = 0;
            ready_push_front(ep, l);
            ep_activate(d, ep);
            pthread_mutex_lock(&d->mu);
            ep->last_failure = pl_time_now_ms();
            snprintf(ep->last_error, sizeof ep->last_error, "%s", error ? error : "failed");
            ep_share_locked(ep);
            pthread_mutex_unlock(&d->mu);
            return;
        }
    }
    finish(d, it, 0, status, error);
}

/* ---- HTTP -------------------------------------------------------------------------------- */

static size_t discard(char *p, size_t size, size_t n, void *ud)
{
    (void)p;
    (void)ud;
    return size * n;
}

static struct slot *slot_get(struct pl_deliver *d, struct ep *ep)
{
    if (ep->npool > 0)
        return ep->pool[--ep->npool];
    struct slot *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    CURL *e = s->e = curl_easy_init();
    if (!e) {
        free(s);
        return NULL;
    }
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)d->cfg.timeout_ms);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)d->cfg.timeout_ms);
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "polis-notifier/" POLIS_VERSION);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(e, CURLOPT_POST, 1L);
    /* the outbound guard: http(s) only, every address checked, no redirect followed */
    s->gc.g = d->cfg.guard;
    s->gc.use = PL_GUARD_NOTIFY;
    if (pl_guard_curl_setup(e, &s->gc, 0) != 0) {
        curl_easy_cleanup(e);
        free(s);
        return NULL;
    }
    return s;
}

static void slot_put(struct ep *ep, struct slot *s, int max)
{
    if (ep->npool < max) {
        ep->pool[ep->npool++] = s;
    } else {
        curl_easy_cleanup(s->e);
        free(s);
    }
}

static struct curl_slist *build_headers(const struct item *it)
{
    struct curl_slist *l = NULL, *t;
    char ct[256];
    snprintf(ct, sizeof ct, "Content-Type: %s", it->ctype ? it->ctype : "application/json");
    if (!(t = curl_slist_append(l, ct)))
        goto fail;
    l = t;
    for (size_t i = 0; i < it->n_headers; i++) {
        const char *h = it->headers[i];
        if (!h || strpbrk(h, "\r\n") || !strchr(h, ':'))
            continue; /* never let a header value inject another header */
        if (!(t = curl_slist_append(l, h)))
            goto fail;
        l = t;
    }
    if (!(t = curl_slist_append(l, "Expect:"))) /* no 100-continue round trip */
        goto fail;
    return t;
fail:
    curl_slist_free_all(l);
    return NULL;
}

static void http_start(struct pl_deliver *d, struct ep *ep, struct item *it)
{
    if (!it->hl && !(it->hl = build_headers(it))) {
        outcome(d, it, OUT_RETRY, 0, "out of memory");
        return;
    }
    struct slot *s = slot_get(d, ep);
    if (!s) {
        outcome(d, it, OUT_RETRY, 0, "out of memory");
        return;
    }
    CURL *e = s->e;
    s->gc.why[0] = '\0'; /* a reused handle: forget an earlier refusal */
    s->errbuf[0] = '\0';
    curl_easy_setopt(e, CURLOPT_URL, it->uri);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, it->body ? it->body : "");
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)it->len);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, it->hl);
    curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)it);
    it->slot = s;
    if (curl_multi_add_handle(d->multi, e) != CURLM_OK) {
        it->slot = NULL;
        slot_put(ep, s, d->cfg.max_inflight_per_endpoint);
        outcome(d, it, OUT_RETRY, 0, "curl_multi_add_handle failed");
        return;
    }
    ep->inflight++;
}

static int http_retryable(long status)
{
    return status == 408 || status == 425 || status == 429 || status >= 500 || status < 200;
}

/* Handles finished transfers. Returns how many. */
static int http_completions(struct pl_deliver *d)
{
    int n = 0, left;
    CURLMsg *msg;
    while ((msg = curl_multi_info_read(d->multi, &left))) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        CURL *e = msg->easy_handle;
        CURLcode res = msg->data.result;
        struct item *it = NULL;
        long status = 0;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&it);
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
        curl_multi_remove_handle(d->multi, e);
        struct ep *ep = it->ep;
        struct slot *s = it->slot;
        it->slot = NULL;
        ep->inflight--;
        char error[CURL_ERROR_SIZE + 8];
        const char *refused = res != CURLE_OK ? pl_guard_curl_reason(&s->gc, (int)res) : NULL;
        if (refused)
            snprintf(error, sizeof error, "%s", refused);
        else if (res != CURLE_OK)
            snprintf(error, sizeof error, "%s", s->errbuf[0] ? s->errbuf : curl_easy_strerror(res));
        else
            snprintf(error, sizeof error, "HTTP status %ld", status);
        slot_put(ep, s, d->cfg.max_inflight_per_endpoint);
        if (refused) {
            /* the guard's answer does not change by asking again soon: fail it now */
            atomic_fetch_add(&d->refused, 1);
            outcome(d, it, OUT_FINAL, 0, error);
        } else if (res == CURLE_OK && status >= 200 && status < 300)
            outcome(d, it, OUT_OK, (int)status, NULL);
        else if (res != CURLE_OK || http_retryable(status))
            outcome(d, it, OUT_RETRY, (int)status, error);
        else
            outcome(d, it, OUT_FINAL, (int)status, error);
        n++;
    }
    return n;
}

/* ---- MQTT -------------------------------------------------------------------------------- */

static void mq_sink(void *owner, const struct pl_mqtt_ev *ev)
{
    struct ep *ep = owner;
    struct pl_deliver *d = ep->d;
    struct evnode *n = malloc(sizeof *n);
    if (!n)
        return; /* a lost completion times out and is retried */
    n->next = NULL;
    n->ep = ep;
    n->ev = *ev;
    pthread_mutex_lock(&d->evmu);
    if (d->ev_tail)
        d->ev_tail->next = n;
    else
        d->ev_head = n;
    d->ev_tail = n;
    pthread_mutex_unlock(&d->evmu);
    curl_multi_wakeup(d->multi);
}

static void mq_remove_inflight(struct ep *ep, struct item *it)
{
    for (struct item **pp = &ep->mq_inflight; *pp; pp = &(*pp)->mnext) {
        if (*pp == it) {
            *pp = it->mnext;
            it->mnext = NULL;
            ep->inflight--;
            return;
        }
    }
}

static void mq_ensure(struct pl_deliver *d, struct ep *ep, int64_t now)
{
    if (ep->mq)
        return;
    struct pl_mqtt_params p = {
        .host = ep->host,
        .port = ep->port,
        .user = ep->user,
        .pass = ep->pass,
        .tls = ep->tls,
        .v5 = ep->v5,
        .connect_timeout_ms = d->cfg.timeout_ms,
        .retry_base_ms = d->cfg.retry_base_ms,
        .retry_max_ms = d->cfg.retry_max_ms,
        .guard = d->cfg.guard,
        .sink = mq_sink,
        .owner = ep,
    };
    ep->mq_since = now;
    if (pl_mqtt_conn_start(&p, &ep->mq, ep->mq_error, sizeof ep->mq_error) != 0) {
        ep->mq = NULL;
        ep->mq_state = MQ_DOWN;
        return;
    }
    ep->mq_state = MQ_CONNECTING;
    ep->mqnext = d->mqtt_eps;
    d->mqtt_eps = ep;
}

static void mqtt_start(struct pl_deliver *d, struct ep *ep, struct item *it, int64_t now)
{
    if (ep->mq_state != MQ_UP && ep->mq_refused) {
        atomic_fetch_add(&d->refused, 1);
        outcome(d, it, OUT_FINAL, 0, ep->mq_error);
        return;
    }
    if (ep->mq_state != MQ_UP) {
        outcome(d, it, OUT_RETRY, 0, ep->mq_error[0] ? ep->mq_error : "mqtt: not connected");
        return;
    }
    char error[120];
    if (pl_mqtt_conn_publish(ep->mq, it->topic, it->body, it->len, it->qos,
                             it->ctype ? it->ctype : "application/json", it->headers, it->n_headers,
                             &it->mid, &it->gen, error, sizeof error) != 0) {
        outcome(d, it, OUT_RETRY, 0, error);
        return;
    }
    it->deadline = now + d->cfg.timeout_ms;
    it->mnext = ep->mq_inflight;
    ep->mq_inflight = it;
    ep->inflight++;
}

static void mqtt_events(struct pl_deliver *d)
{
    pthread_mutex_lock(&d->evmu);
    struct evnode *n = d->ev_head;
    d->ev_head = d->ev_tail = NULL;
    pthread_mutex_unlock(&d->evmu);
    while (n) {
        struct evnode *next = n->next;
        struct ep *ep = n->ep;
        const struct pl_mqtt_ev *ev = &n->ev;
        if (ev->kind == PL_MQTT_EV_UP) {
            ep->mq_state = MQ_UP;
            ep->mq_gen = ev->gen;
            ep->mq_error[0] = '\0';
            ep->mq_refused = 0;
            ep->backoff_until = 0; /* waiting for the broker is over */
            if (ep->rhead)
                ep_activate(d, ep);
        } else if (ev->kind == PL_MQTT_EV_DOWN) {
            ep->mq_state = MQ_DOWN;
            ep->mq_refused = ev->refused;
            snprintf(ep->mq_error, sizeof ep->mq_error, "%s", ev->error);
            /* messages in flight on the lost connection: lost, retry them */
            struct item **pp = &ep->mq_inflight;
            while (*pp) {
                struct item *it = *pp;
                if (it->gen == ev->gen) {
                    *pp = it->mnext;
                    it->mnext = NULL;
                    ep->inflight--;
                    outcome(d, it, OUT_RETRY, 0, ev->error);
                } else {
                    pp = &it->mnext;
                }
            }
        } else if (ev->kind == PL_MQTT_EV_PUBLISHED) {
            for (struct item *it = ep->mq_inflight; it; it = it->mnext) {
                if (it->gen == ev->gen && it->mid == ev->mid) {
                    mq_remove_inflight(ep, it);
                    outcome(d, it, OUT_OK, 0, NULL);
                    break;
                }
            }
        }
        free(n);
        n = next;
    }
}

static void mqtt_timeouts(struct pl_deliver *d, int64_t now, int64_t *wake)
{
    for (struct ep *ep = d->mqtt_eps; ep; ep = ep->mqnext) {
        struct item **pp = &ep->mq_inflight;
        while (*pp) {
            struct item *it = *pp;
            if (now >= it->deadline) {
                *pp = it->mnext;
                it->mnext = NULL;
                ep->inflight--;
                char error[120];
                snprintf(error, sizeof error, "mqtt: no acknowledgement within %d ms",
                         d->cfg.timeout_ms);
                outcome(d, it, OUT_RETRY, 0, error);
            } else {
                if (it->deadline < *wake)
                    *wake = it->deadline;
                pp = &it->mnext;
            }
        }
    }
}

/* ---- the delivery thread ----------------------------------------------------------------- */

static void route(struct pl_deliver *d, struct item *it)
{
    while (it) {
        struct item *next = it->next;
        it->next = NULL;
        struct ep *ep = it->ep;
        const char *key = it->key ? it->key : "";
        struct lane *l = pl_hmap_get(ep->lanes, key, NULL);
        if (!l) {
            l = calloc(1, sizeof *l);
            if (!l || pl_hmap_put(ep->lanes, key, l) != 0) {
                free(l);
                finish(d, it, 0, 0, "out of memory");
                it = next;
                continue;
            }
            l->key = pl_hmap_key(ep->lanes, key);
        }
        it->lane = l;
        if (l->tail)
            l->tail->next = it;
        else
            l->head = it;
        l->tail = it;
        if (!l->busy && !l->in_ready) {
            ready_push_back(ep, l);
            ep_activate(d, ep);
        }
        it = next;
    }
}

static void dispatch_ep(struct pl_deliver *d, struct ep *ep, int64_t now, int64_t *wake)
{
    if (now < ep->backoff_until) {
        if (ep->backoff_until < *wake)
            *wake = ep->backoff_until;
        return;
    }
    if (ep->kind == EP_MQTT) {
        mq_ensure(d, ep, now);
        if (ep->mq_state == MQ_DOWN && ep->mq && now - ep->mq_kicked >= MQ_KICK_EVERY_MS) {
            /* messages wait and the broker was away: try it now (it may be back from a
             * restart) rather than at the end of the connection's backoff, and wait for that
             * attempt as for a first connection; at most once per MQ_KICK_EVERY_MS */
            pl_mqtt_conn_kick(ep->mq);
            ep->mq_kicked = now;
            ep->mq_state = MQ_CONNECTING;
            ep->mq_since = now;
        }
        if (ep->mq_state == MQ_CONNECTING) {
            int64_t until = ep->mq_since + d->cfg.timeout_ms;
            if (now < until) {
                if (until < *wake)
                    *wake = until;
                return;
            }
            if (!ep->mq_error[0])
                snprintf(ep->mq_error, sizeof ep->mq_error, "mqtt: not connected after %d ms",
                         d->cfg.timeout_ms);
        }
    }
    int started = 0;
    while (ep->rhead && now >= ep->backoff_until &&
           ep->inflight < (ep->failures > 0      ? 1
                           : ep->kind == EP_HTTP ? d->cfg.max_inflight_per_endpoint
                                                 : MQTT_INFLIGHT)) {
        struct lane *l = ready_pop(ep);
        l->busy = 1;
        struct item *it = l->head;
        it->attempts++;
        if (ep->kind == EP_HTTP)
            http_start(d, ep, it);
        else
            mqtt_start(d, ep, it, now);
        started++;
    }
    if (started)
        ep_share(d, ep);
    if (ep->rhead && now < ep->backoff_until && ep->backoff_until < *wake)
        *wake = ep->backoff_until;
}

static void dispatch_all(struct pl_deliver *d, int64_t now, int64_t *wake)
{
    struct ep **pp = &d->active;
    while (*pp) {
        struct ep *ep = *pp;
        dispatch_ep(d, ep, now, wake);
        if (!ep->rhead) {
            *pp = ep->anext;
            ep->anext = NULL;
            ep->in_active = 0;
        } else {
            pp = &ep->anext;
        }
    }
}

static void purge_events_of(struct pl_deliver *d, struct ep *ep)
{
    pthread_mutex_lock(&d->evmu);
    struct evnode **pp = &d->ev_head;
    d->ev_tail = NULL;
    while (*pp) {
        if ((*pp)->ep == ep) {
            struct evnode *n = *pp;
            *pp = n->next;
            free(n);
        } else {
            d->ev_tail = *pp;
            pp = &(*pp)->next;
        }
    }
    pthread_mutex_unlock(&d->evmu);
}

static void ep_retire(struct pl_deliver *d, struct ep *ep)
{
    if (ep->mq) {
        for (struct ep **pp = &d->mqtt_eps; *pp; pp = &(*pp)->mqnext) {
            if (*pp == ep) {
                *pp = ep->mqnext;
                break;
            }
        }
        pl_mqtt_conn_stop(ep->mq, 0);
        ep->mq = NULL;
        purge_events_of(d, ep);
    }
    ep_free(ep);
}

/* 1 when `ep` (an idle MQTT endpoint) is superseded: another endpoint for the same broker
 * (host, port, TLS, version) but other credentials was used after it, as when a subscription's
 * credentials change. Its connection is then closed at once rather than kept for IDLE_MS. */
static int mq_superseded(struct pl_deliver *d, const struct ep *ep)
{
    for (const struct ep *o = d->mqtt_eps; o; o = o->mqnext) {
        if (o != ep && o->port == ep->port && o->tls == ep->tls && o->v5 == ep->v5 &&
            !strcmp(o->host, ep->host) && (o->idle_since == 0 || o->idle_since > ep->idle_since))
            return 1;
    }
    return 0;
}

/* Forgets endpoints idle for IDLE_MS, and superseded MQTT endpoints (mq_superseded) at once. */
static void gc(struct pl_deliver *d, int64_t now)
{
    struct ep *dead = NULL;
    pthread_mutex_lock(&d->mu);
    size_t pos = 0;
    const char *k;
    void *v;
    while (pl_hmap_next(d->eps, &pos, &k, &v)) {
        struct ep *ep = v;
        if (ep->count == 0 && ep->inflight == 0 && !ep->in_active && ep->idle_since &&
            (now - ep->idle_since > IDLE_MS || (ep->mq && mq_superseded(d, ep)))) {
            pl_hmap_del(d->eps, k);
            ep->anext = dead;
            dead = ep;
        }
    }
    pthread_mutex_unlock(&d->mu);
    while (dead) {
        struct ep *next = dead->anext;
        ep_retire(d, dead);
        dead = next;
    }
}

/* At the end of stop: fail everything still pending and free every endpoint. */
static void abort_all(struct pl_deliver *d)
{
    d->aborting = 1;
    for (struct ep *ep = d->mqtt_eps; ep; ep = ep->mqnext) {
        pl_mqtt_conn_stop(ep->mq, MQTT_STOP_WAIT_MS);
        ep->mq = NULL;
    }
    d->mqtt_eps = NULL;
    pthread_mutex_lock(&d->evmu);
    struct evnode *n = d->ev_head;
    d->ev_head = d->ev_tail = NULL;
    pthread_mutex_unlock(&d->evmu);
    while (n) {
        struct evnode *next = n->next;
        free(n);
        n = next;
    }
    pthread_mutex_lock(&d->mu);
    struct item *in = d->in_head;
    d->in_head = d->in_tail = NULL;
    pthread_mutex_unlock(&d->mu);
    route(d, in);
    d->active = NULL;
    struct ep *all = NULL;
    pthread_mutex_lock(&d->mu);
    size_t pos = 0;
    const char *k;
    void *v;
    while (pl_hmap_next(d->eps, &pos, &k, &v)) {
        struct ep *ep = v;
        ep->anext = all;
        all = ep;
    }
    pl_hmap_clear(d->eps);
    pthread_mutex_unlock(&d->mu);
    while (all) {
        struct ep *ep = all;
        all = ep->anext;
        ep->mq_inflight = NULL;
        ep->rhead = ep->rtail = NULL;
        /* Every item left is in a lane; the lanes table is the way to them. */
        for (;;) {
            size_t p = 0;
            const char *lk;
            void *lv;
            if (!pl_hmap_next(ep->lanes, &p, &lk, &lv))
                break;
            struct lane *l = lv;
            l->in_ready = 0;
            while (l->head) {
                struct item *it = l->head;
                int last = it->next == NULL;
                if (it->slot) {
                    curl_multi_remove_handle(d->multi, it->slot->e);
                    slot_put(ep, it->slot, d->cfg.max_inflight_per_endpoint);
                    it->slot = NULL;
                }
                finish(d, it, 0, 0, "delivery stopped"); /* frees the lane after the last */
                if (last)
                    break;
            }
        }
        ep_free(ep);
    }
}

static void *run(void *arg)
{
    struct pl_deliver *d = arg;
    int64_t grace_end = 0;
    pthread_setname_np(pthread_self(), "pl-deliver");
    /* Below the request threads and the store's writer, as the notifier (notifier.c): under a
     * fan-out larger than the cores, writes keep their pace and deliveries fall behind. */
    (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10); /* best effort */
    d->next_gc = mono_ms() + GC_EVERY_MS;
    for (;;) {
        int64_t now = mono_ms();
        pthread_mutex_lock(&d->mu);
        struct item *in = d->in_head;
        d->in_head = d->in_tail = NULL;
        int stopping = d->stopping;
        pthread_mutex_unlock(&d->mu);
        if (stopping && !grace_end)
            grace_end = now + d->cfg.stop_grace_ms;
        route(d, in);
        mqtt_events(d);
        int64_t wake = now + MAX_POLL_MS;
        mqtt_timeouts(d, now, &wake);
        dispatch_all(d, now, &wake);
        int running = 0;
        curl_multi_perform(d->multi, &running);
        int done = http_completions(d);
        if (stopping) {
            pthread_mutex_lock(&d->mu);
            size_t total = d->total;
            pthread_mutex_unlock(&d->mu);
            if (total == 0 || now >= grace_end)
                break;
            if (grace_end < wake)
                wake = grace_end;
        }
        if (now >= d->next_gc) {
            gc(d, now);
            d->next_gc = now + GC_EVERY_MS;
        }
        if (done > 0)
            continue; /* lanes were freed: dispatch again before sleeping */
        int64_t t = wake - mono_ms();
        if (t < 0)
            t = 0;
        if (t > MAX_POLL_MS)
            t = MAX_POLL_MS;
        curl_multi_poll(d->multi, NULL, 0, (int)t, NULL);
    }
    abort_all(d);
    return NULL;
}

/* ---- public API -------------------------------------------------------------------------- */

int pl_deliver_start(const struct pl_deliver_config *cfg, struct pl_deliver **out,
                     struct pl_err *err)
{
    pthread_once(&curl_once, curl_init_once);
    struct pl_deliver *d = calloc(1, sizeof *d);
    if (!d)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    if (cfg)
        d->cfg = *cfg;
    struct pl_deliver_config *c = &d->cfg;
    if (c->max_queue_per_endpoint <= 0)
        c->max_queue_per_endpoint = 10000;
    if (c->timeout_ms <= 0)
        c->timeout_ms = 5000;
    if (c->max_inflight_per_endpoint <= 0)
        c->max_inflight_per_endpoint = 8;
    if (c->retry_base_ms <= 0)
        c->retry_base_ms = 100;
    if (c->retry_max_ms <= 0)
        c->retry_max_ms = 30000;
    if (c->retry_max_ms < c->retry_base_ms)
        c->retry_max_ms = c->retry_base_ms;
    if (c->max_retries == 0)
        c->max_retries = 5;
    else if (c->max_retries < 0)
        c->max_retries = 0; /* no retries */
    if (c->stop_grace_ms <= 0)
        c->stop_grace_ms = 2000;
    d->rng = (uint64_t)mono_ms() * 0x9E3779B97F4A7C15ull | 1;
    pthread_mutex_init(&d->mu, NULL);
    pthread_mutex_init(&d->evmu, NULL);
    d->eps = pl_hmap_new(NULL);
    d->multi = curl_multi_init();
    if (!d->eps || !d->multi) {
        pl_hmap_free(d->eps);
        if (d->multi)
            curl_multi_cleanup(d->multi);
        pthread_mutex_destroy(&d->mu);
        pthread_mutex_destroy(&d->evmu);
        free(d);
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    }
    curl_multi_setopt(d->multi, CURLMOPT_MAXCONNECTS, (long)MAX_CONNECTIONS);
    int rc = pthread_create(&d->th, NULL, run, d);
    if (rc != 0) {
        pl_hmap_free(d->eps);
        curl_multi_cleanup(d->multi);
        pthread_mutex_destroy(&d->mu);
        pthread_mutex_destroy(&d->evmu);
        free(d);
        return pl_err_set(err, PL_EINTERNAL, "cannot start the delivery thread: %s", strerror(rc));
    }
    *out = d;
    return 0;
}

void pl_deliver_stop(struct pl_deliver *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    d->stopping = 1;
    pthread_mutex_unlock(&d->mu);
    curl_multi_wakeup(d->multi);
    pthread_join(d->th, NULL);
    curl_multi_cleanup(d->multi);
    pl_hmap_free(d->eps);
    pthread_mutex_destroy(&d->mu);
    pthread_mutex_destroy(&d->evmu);
    free(d);
}

int pl_deliver_submit(struct pl_deliver *d, struct pl_deliver_msg *m)
{
    if (!m || !m->uri || (m->len > 0 && !m->body) || (m->n_headers > 0 && !m->headers))
        return PL_EBADREQUESTDATA;
    struct target t;
    if (target_parse(m->uri, m->mqtt_v5, 1, &t) != 0)
        return PL_EBADREQUESTDATA;
    if (t.kind == EP_MQTT && (m->mqtt_qos < 0 || m->mqtt_qos > 2)) {
        target_dispose(&t);
        return PL_EBADREQUESTDATA;
    }
    struct item *it = calloc(1, sizeof *it);
    if (!it || (m->content_type && !(it->ctype = strdup(m->content_type)))) {
        free(it);
        target_dispose(&t);
        return PL_ENOMEM;
    }
    it->topic = t.topic;
    t.topic = NULL;
    int rc = 0;
    pthread_mutex_lock(&d->mu);
    struct ep *ep = NULL;
    if (d->stopping) {
        rc = PL_EINTERNAL;
    } else if (!(ep = pl_hmap_get(d->eps, t.id, NULL))) {
        ep = ep_new(d, &t, m->mqtt_v5 ? 1 : 0);
        if (!ep || pl_hmap_put(d->eps, t.id, ep) != 0) {
            if (ep)
                ep_free(ep);
            ep = NULL;
            rc = PL_ENOMEM;
        }
    }
    if (ep && ep->count >= (size_t)d->cfg.max_queue_per_endpoint) {
        rc = PL_ETOOLARGE;
        atomic_fetch_add(&d->dropped, 1);
    }
    int wake = 0;
    if (rc == 0) {
        ep->count++;
        ep->idle_since = 0;
        d->total++;
        it->ep = ep;
        it->uri = m->uri;
        it->body = m->body;
        it->len = m->len;
        it->headers = m->headers;
        it->n_headers = m->n_headers;
        it->key = m->key;
        it->qos = m->mqtt_qos;
        it->done = m->done;
        it->ud = m->ud;
        m->uri = m->body = m->key = NULL;
        m->headers = NULL;
        m->n_headers = 0;
        wake = d->in_head == NULL;
        if (d->in_tail)
            d->in_tail->next = it;
        else
            d->in_head = it;
        d->in_tail = it;
    }
    pthread_mutex_unlock(&d->mu);
    target_dispose(&t);
    if (rc != 0) {
        free(it->ctype);
        free(it->topic);
        free(it);
        return rc;
    }
    if (wake)
        curl_multi_wakeup(d->multi);
    return 0;
}

void pl_deliver_stats(struct pl_deliver *d, struct pl_deliver_stats *out)
{
    out->sent = atomic_load(&d->sent);
    out->failed = atomic_load(&d->failed);
    out->retried = atomic_load(&d->retried);
    out->dropped = atomic_load(&d->dropped);
    out->refused = atomic_load(&d->refused);
    pthread_mutex_lock(&d->mu);
    out->queued = d->total;
    pthread_mutex_unlock(&d->mu);
}

int pl_deliver_endpoint_info(struct pl_deliver *d, const char *uri,
                             struct pl_deliver_endpoint_info *out)
{
    memset(out, 0, sizeof *out);
    struct target t;
    /* the MQTT version is part of an MQTT endpoint: try 3.1.1, then 5 */
    if (!uri || target_parse(uri, 0, 0, &t) != 0)
        return PL_EBADREQUESTDATA;
    int found = 0;
    int64_t now = mono_ms();
    pthread_mutex_lock(&d->mu);
    struct ep *ep = pl_hmap_get(d->eps, t.id, NULL);
    if (!ep && t.kind == EP_MQTT) {
        target_dispose(&t);
        if (target_parse(uri, 1, 0, &t) == 0)
            ep = pl_hmap_get(d->eps, t.id, NULL);
    }
    if (ep) {
        found = 1;
        out->queued = ep->count;
        out->inflight = ep->sh_inflight;
        out->consecutive_failures = ep->sh_failures;
        out->backoff_ms = ep->sh_backoff_until > now ? ep->sh_backoff_until - now : 0;
        out->last_success = ep->last_success;
        out->last_failure = ep->last_failure;
        snprintf(out->last_error, sizeof out->last_error, "%s", ep->last_error);
    }
    pthread_mutex_unlock(&d->mu);
    target_dispose(&t);
    return found;
}
