/* SPDX-License-Identifier: Apache-2.0 */
/*
 * notifier.c — subscriptions at run time: registry, matching, hand-off to delivery (see
 * notifier.h for the flow and its guarantees).
 */
#include "notify/notifier.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "base/grow.h"
#include "base/hmap.h"
#include "base/jsonfmt.h"
#include "base/log.h"
#include "base/redact.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "ctxreg/ctxreg.h"
#include "ngsild/context.h"
#include "store/store.h"

#define DEFAULT_MAX_QUEUE 20000 /* changes waiting for matching (each holds two entities) */
#define WARN_EVERY_MS     10000 /* at most one delivery warning per subscription per period */
#define STOP_GRACE_MS     2000  /* matching what is queued at stop, at most this long */
#define NOTIFIER_NICE     10    /* the notifier thread's nice value (see notifier_main) */
#define OVERLOAD_DIV      4     /* overloaded: more than max_queue / this changes waiting */
#define FULL_BACKOFF_MS   50    /* after a full endpoint queue, the subscription waits this long */
#define DEFAULT_BATCH_MAX 1000  /* changes per notification (notifier.h, BATCHING) */
#define DEFAULT_PEND_MAX  10000 /* changes waiting per subscription (notifier.h, BATCHING) */
#define MATCH_CHUNK       256   /* changes matched between two flushes of the waiting lists */

/* The status of one subscription (5.2.14 timesSent ... lastFailure), and what /metrics shows of
 * its failures. Shared by the entries that PATCHes put in place one after the other (each
 * holds a reference), so that a notification still in flight for a replaced entry counts for
 * the subscription. Persisted by pl_notifier_flush (notifier.h, PERSISTENCE). */
struct substat {
    atomic_int refs;
    pthread_mutex_t mu; /* protects every member below */
    struct pl_sub_status st;
    uint64_t gen;         /* raised by every change of st */
    uint64_t saved;       /* the gen of the last st written to the store */
    int64_t last_warn_ms; /* rate limit of the delivery warnings (warn_due) */
    char last_error[200]; /* cause of the last failed notification, for /metrics */
    uint64_t unwarned;    /* failures not logged since */
};

/* One installed subscription. Referenced by the registry and by notifications in flight. */
struct entry {
    atomic_int refs;
    char *tenant;
    struct pl_sub *sub;
    struct pl_ctx *ctx;   /* notification @context (notifier thread; resolved on first use) */
    int ctx_failed;       /* could not be resolved: notifications use the core context */
    int64_t last_sent_ms; /* throttling, and the last periodic run (notifier thread only) */
    int64_t full_until;   /* the endpoint's queue was full: until then matches are not rendered
                             (notifier thread only) */
    struct substat *ss;   /* one reference */
    unsigned mark;        /* dedupe of candidates per event (notifier thread, under rdlock) */
    struct pl_notifier *owner;
    char *key;          /* "tenant\x1fid": the delivery ordering key of batched notifications */
    char *rsig;         /* pl_sub_render_sig: the render cache's key (NULL: no sharing) */
    atomic_int removed; /* DELETEd: what waits is not sent */
    /* BATCHING (notifier.h): the changes matched and not yet notified, oldest first, a ring
     * (notifier thread only); `outstanding` counts its notifications the delivery engine has
     * not finished (decremented by the delivery thread). */
    struct ev **pend;
    size_t pend_head, n_pend, cap_pend;
    int listed;            /* in n->waiting (notifier thread only) */
    atomic_size_t waiting; /* n_pend, for the delivery thread's wake-up and /metrics */
    atomic_int outstanding;
    int64_t last_drop_ms; /* the last overflow counted as a failure (notifier thread only) */
    uint64_t from_seq;    /* changes up to this sequence number were committed before the
                             subscription existed: not matched (set at install) */
    uint64_t to_seq;      /* changes after this one were committed after a PATCH replaced this
                             form: matched by the new form (UINT64_MAX while installed) */
};

/* Candidates of one (tenant, type) key. */
struct bucket {
    struct entry **v;
    size_t n, cap;
};

/* One rendered `data` element of a change, shared by the subscriptions that render alike. */
struct rendered {
    const char *sig;          /* the entry's rsig (compared by content) */
    const struct pl_ctx *ctx; /* the compiled @context it was rendered with */
    char *text;               /* NULL: the change renders nothing */
    size_t len;
};

/* One committed entity change waiting for matching, then in the waiting lists of the
 * subscriptions it matched (notifier thread only past the queue). */
struct ev {
    struct ev *next;
    uint64_t seq; /* commit order (on_changes) */
    char *tenant, *id;
    json_t *before, *after;
    int refs; /* the matching loop and each waiting list holding it */
    struct rendered *r;
    size_t n_r, cap_r;
};

struct pl_notifier {
    struct pl_store *store;
    struct pl_ctxreg *ctxreg;
    struct pl_deliver *deliver;

    pthread_rwlock_t lock;  /* registry: entries, by_key, index */
    struct entry **entries; /* every installed subscription */
    size_t n_entries, cap_entries;
    struct pl_hmap *by_key; /* "tenant\x1fid" -> entry (borrowed from entries) */
    struct pl_hmap *index;  /* "tenant\x1ftype IRI" or "tenant\x1f*" -> struct bucket */
    unsigned mark;          /* notifier thread */
    size_t batch_max;       /* changes per notification; 1: one per change, ordered per entity */
    size_t pend_max;        /* changes waiting per subscription */
    struct entry **waiting; /* entries with changes waiting (a reference each; notifier thread) */
    size_t n_waiting, cap_waiting;
    const char **items; /* scratch (notifier thread): the rendered changes of one notification */
    size_t *lens, cap_items;
    int64_t next_due; /* ms: the earliest end of a throttling period with changes waiting
                         (0: none; notifier thread) */

    pthread_mutex_t qmu; /* the event queue */
    pthread_cond_t qcv;
    struct ev *head, *tail;
    size_t qlen, max_queue;
    int stopping;
    int kick; /* a batched notification finished and its subscription has changes waiting */
    atomic_llong stop_deadline; /* ms; 0 while running */
    pthread_t thread;

    atomic_size_t n_installed;      /* n_entries, readable without the lock */
    atomic_uint_least64_t ev_seq;   /* the last change's sequence number (on_changes) */
    atomic_uint_least64_t done_seq; /* the last change the notifier thread has matched */
    /* Forms a PATCH replaced while changes committed before it were still waiting to be
     * matched: they match those changes (seq <= to_seq), so a change is judged by the
     * subscription as it was when the change was committed (pausing, q, watched attributes).
     * Registry lock; dropped by the notifier thread once done_seq passes their to_seq. */
    struct entry **retired;
    size_t n_retired, cap_retired;
    atomic_size_t n_retired_hint; /* n_retired, readable without the lock */
    atomic_uint_least64_t n_events, n_matched, n_submitted, n_dropped;
    pthread_mutex_t flush_mu; /* one pl_notifier_flush at a time: two writing the same
                                 subscription could land in the store in the other order */
    atomic_uint_least64_t n_status_writes, n_status_failed; /* pl_notifier_flush */
    pl_notifier_scope_fn scope; /* owners' read scope (notifier.h), or NULL */
    void *scope_ud;
};

/* ------------------------------------------------------------------------------------------
 * Entries and the index
 * ---------------------------------------------------------------------------------------- */
/* A NEW status with zero counters and one reference; NULL: out of memory. */
static struct substat *substat_new(void)
{
    struct substat *ss = calloc(1, sizeof *ss);
    if (ss) {
        atomic_init(&ss->refs, 1);
        pthread_mutex_init(&ss->mu, NULL);
    }
    return ss;
}

static void substat_unref(struct substat *ss)
{
    if (!ss || atomic_fetch_sub(&ss->refs, 1) != 1)
        return;
    pthread_mutex_destroy(&ss->mu);
    free(ss);
}

static void entry_unref(struct entry *e)
{
    if (!e || atomic_fetch_sub(&e->refs, 1) != 1)
        return;
    pl_sub_free(e->sub);
    pl_ctx_unref(e->ctx);
    substat_unref(e->ss);
    free(e->pend); /* empty: a waiting list holds a reference to its entry */
    free(e->key);
    free(e->rsig);
    free(e->tenant);
    free(e);
}

/* A NEW entry (one reference) for `s` (owned by the entry once it is installed; the caller
 * sets e->sub = NULL before dropping an entry that did not get installed, to keep `s`). `ss`:
 * the status to share (a reference is taken), NULL for a new one. NULL: out of memory. */
static char *key2(const char *a, const char *b);

static struct entry *entry_new(struct pl_notifier *n, const char *tenant, struct pl_sub *s,
                               struct substat *ss)
{
    struct entry *e = calloc(1, sizeof *e);
    if (!e || !(e->tenant = strdup(tenant ? tenant : "")) ||
        !(e->key = key2(e->tenant, s->id ? s->id : ""))) {
        if (e)
            free(e->tenant);
        free(e);
        return NULL;
    }
    e->owner = n;
    e->to_seq = UINT64_MAX;
    e->rsig = pl_sub_render_sig(s);
    if (ss) {
        atomic_fetch_add(&ss->refs, 1);
    } else if (!(ss = substat_new())) {
        free(e->rsig);
        free(e->key);
        free(e->tenant);
        free(e);
        return NULL;
    }
    atomic_init(&e->refs, 1);
    e->ss = ss;
    e->sub = s;
    return e;
}

static void bucket_free(void *p)
{
    struct bucket *b = p;
    free(b->v);
    free(b);
}

static char *key2(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *k = malloc(la + lb + 2);
    if (k) {
        memcpy(k, a, la);
        k[la] = '\x1f';
        memcpy(k + la + 1, b, lb + 1);
    }
    return k;
}

static int bucket_add(struct pl_hmap *idx, const char *tenant, const char *type, struct entry *e)
{
    char *k = key2(tenant, type);
    if (!k)
        return PL_ENOMEM;
    struct bucket *b = pl_hmap_get(idx, k, NULL);
    if (!b) {
        b = calloc(1, sizeof *b);
        if (!b || pl_hmap_put(idx, k, b) != 0) {
            free(b);
            free(k);
            return PL_ENOMEM;
        }
    }
    free(k);
    for (size_t i = 0; i < b->n; i++)
        if (b->v[i] == e)
            return 0;
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 4;
        struct entry **nv = realloc(b->v, nc * sizeof *nv);
        if (!nv)
            return PL_ENOMEM;
        b->v = nv;
        b->cap = nc;
    }
    b->v[b->n++] = e;
    return 0;
}

/* Rebuilds the type index from the entries (under the write lock). Subscriptions change
 * rarely; events look candidates up per type. */
static int reindex(struct pl_notifier *n)
{
    struct pl_hmap *idx = pl_hmap_new(bucket_free);
    if (!idx)
        return PL_ENOMEM;
    for (size_t i = 0; i < n->n_entries; i++) {
        struct entry *e = n->entries[i];
        const char *const *types;
        int any = 0;
        size_t nt = pl_sub_types(e->sub, &types, &any);
        int rc = 0;
        if (any || nt == 0)
            rc = bucket_add(idx, e->tenant, "*", e);
        for (size_t t = 0; rc == 0 && t < nt; t++)
            rc = bucket_add(idx, e->tenant, types[t], e);
        if (rc) {
            pl_hmap_free(idx);
            return rc;
        }
    }
    pl_hmap_free(n->index);
    n->index = idx;
    return 0;
}

static struct entry *find(struct pl_notifier *n, const char *tenant, const char *id)
{
    char *k = key2(tenant ? tenant : "", id);
    struct entry *e = k ? pl_hmap_get(n->by_key, k, NULL) : NULL;
    free(k);
    return e;
}

/* Installs e (write lock held). */
static int install(struct pl_notifier *n, struct entry *e)
{
    if (n->n_entries == n->cap_entries) {
        size_t nc = n->cap_entries ? n->cap_entries * 2 : 16;
        struct entry **nv = realloc(n->entries, nc * sizeof *nv);
        if (!nv)
            return PL_ENOMEM;
        n->entries = nv;
        n->cap_entries = nc;
    }
    char *k = key2(e->tenant, e->sub->id);
    if (!k || pl_hmap_put(n->by_key, k, e) != 0) {
        free(k);
        return PL_ENOMEM;
    }
    free(k);
    n->entries[n->n_entries++] = e;
    atomic_store(&n->n_installed, n->n_entries);
    return reindex(n);
}

/* Removes e from the registry (write lock held); the caller drops the registry's reference. */
static void uninstall(struct pl_notifier *n, struct entry *e)
{
    char *k = key2(e->tenant, e->sub->id);
    if (k)
        pl_hmap_take(n->by_key, k);
    free(k);
    for (size_t i = 0; i < n->n_entries; i++) {
        if (n->entries[i] == e) {
            n->entries[i] = n->entries[--n->n_entries];
            break;
        }
    }
    atomic_store(&n->n_installed, n->n_entries);
    reindex(n);
}

/* ------------------------------------------------------------------------------------------
 * The registry API
 * ---------------------------------------------------------------------------------------- */
/* Writes the stored form of `s` with the current counters of `ss` (tenant, s->id). Call with
 * n->lock held, read or write: a PATCH or DELETE (write lock) then cannot slip between reading
 * what to write and writing it, so no write puts back a deleted subscription or an older form
 * over a newer one. On success the counters written are marked saved. */
static int put_stored(struct pl_notifier *n, const char *tenant, const struct pl_sub *s,
                      struct substat *ss, struct pl_err *err)
{
    pthread_mutex_lock(&ss->mu);
    struct pl_sub_status st = ss->st;
    uint64_t gen = ss->gen;
    pthread_mutex_unlock(&ss->mu);
    json_t *stored = pl_sub_to_stored(s);
    int rc = stored && pl_sub_stored_set_status(stored, &st) == 0
                 ? pl_store_sub_put(n->store, tenant, s->id, stored, err)
                 : pl_err_set(err, PL_ENOMEM, "out of memory");
    json_decref(stored);
    if (rc == 0) {
        pthread_mutex_lock(&ss->mu);
        if (gen > ss->saved) /* a flush and a PATCH may finish in either order */
            ss->saved = gen;
        pthread_mutex_unlock(&ss->mu);
    }
    return rc;
}

int pl_notifier_add(struct pl_notifier *n, const char *tenant, struct pl_sub *s, struct pl_err *err)
{
    tenant = tenant ? tenant : "";
    pthread_rwlock_wrlock(&n->lock);
    if (find(n, tenant, s->id)) {
        pthread_rwlock_unlock(&n->lock);
        return pl_err_set(err, PL_EALREADYEXISTS, "subscription '%s' already exists", s->id);
    }
    struct entry *e = entry_new(n, tenant, s, NULL);
    /* A change committed before now is not this subscription's, even when the notifier
     * matches it later: the listener numbered it before its write returned. */
    if (e)
        e->from_seq = atomic_load(&n->ev_seq);
    int rc = e ? put_stored(n, tenant, s, e->ss, err) : pl_err_set(err, PL_ENOMEM, "out of memory");
    if (rc == 0 && (rc = install(n, e)) != 0)
        pl_err_set(err, rc, "out of memory");
    if (rc != 0 && e) {
        e->sub = NULL; /* the caller keeps `s` on failure */
        entry_unref(e);
    }
    pthread_rwlock_unlock(&n->lock);
    return rc;
}

int pl_notifier_update(struct pl_notifier *n, const char *tenant, const char *id,
                       pl_notifier_update_fn fn, void *ud, struct pl_err *err)
{
    tenant = tenant ? tenant : "";
    /* read, modify and swap under the write lock: two PATCHes of one subscription apply one
     * after the other, neither is lost */
    pthread_rwlock_wrlock(&n->lock);
    struct entry *old = find(n, tenant, id);
    if (!old) {
        pthread_rwlock_unlock(&n->lock);
        return pl_err_set(err, PL_ENOTFOUND, "subscription '%.200s' not found", id);
    }
    struct pl_sub *s = NULL;
    int rc = fn(ud, old->sub, &s, err);
    if (rc != 0 || !s) {
        pthread_rwlock_unlock(&n->lock);
        pl_sub_free(s);
        return rc ? rc : pl_err_set(err, PL_ENOMEM, "out of memory");
    }
    /* the new form is stored with the counters as they are: a restart right after the PATCH
     * keeps them */
    struct entry *e = entry_new(n, tenant, s, old->ss);
    rc = e ? put_stored(n, tenant, s, e->ss, err) : pl_err_set(err, PL_ENOMEM, "out of memory");
    if (rc == 0) {
        /* changes committed up to now are the old form's; later ones the new form's */
        uint64_t cur = atomic_load(&n->ev_seq);
        e->from_seq = cur;
        uninstall(n, old);
        if (cur > atomic_load(&n->done_seq) && pl_grow((void **)&n->retired, &n->cap_retired,
                                                       n->n_retired, sizeof *n->retired, 4) == 0) {
            old->to_seq = cur; /* the registry's reference moves to the retired list */
            n->retired[n->n_retired++] = old;
            atomic_store(&n->n_retired_hint, n->n_retired);
        } else {
            if (cur > atomic_load(&n->done_seq))
                e->from_seq = old->from_seq; /* out of memory: the new form matches them */
            entry_unref(old);
        }
        if ((rc = install(n, e)) != 0)
            pl_err_set(err, rc, "out of memory");
        else
            e = NULL;
    }
    if (e)
        entry_unref(e); /* frees s */
    else if (rc != 0)
        pl_sub_free(s);
    pthread_rwlock_unlock(&n->lock);
    return rc;
}

/* Deletes `e` (store and registry). Registry write lock held. */
static int remove_locked(struct pl_notifier *n, struct entry *e, struct pl_err *err)
{
    const char *tenant = e->tenant, *id = e->sub->id;
    int rc = pl_store_sub_delete(n->store, tenant, id, err);
    if (rc != 0 && rc != PL_ENOTFOUND)
        return rc;
    for (size_t i = 0; i < n->n_retired; i++) {
        struct entry *r = n->retired[i];
        if (!strcmp(r->tenant, tenant) && !strcmp(r->sub->id, id)) {
            atomic_store(&r->removed, 1);
            r->to_seq = 0; /* matches nothing more */
        }
    }
    atomic_store(&e->removed, 1);
    uninstall(n, e);
    entry_unref(e);
    return 0;
}

int pl_notifier_remove_if(struct pl_notifier *n, const char *tenant, const char *id,
                          pl_notifier_check_fn allow, void *ud, struct pl_err *err)
{
    tenant = tenant ? tenant : "";
    pthread_rwlock_wrlock(&n->lock);
    struct entry *e = find(n, tenant, id);
    int rc;
    if (!e)
        rc = pl_err_set(err, PL_ENOTFOUND, "subscription '%s' not found", id);
    else if (allow && (rc = allow(ud, e->sub, err)) != 0)
        ;
    else
        rc = remove_locked(n, e, err);
    pthread_rwlock_unlock(&n->lock);
    return rc;
}

int pl_notifier_remove(struct pl_notifier *n, const char *tenant, const char *id,
                       struct pl_err *err)
{
    return pl_notifier_remove_if(n, tenant, id, NULL, NULL, err);
}

int pl_notifier_remove_tenant(struct pl_notifier *n, const char *tenant, size_t *n_removed,
                              struct pl_err *err)
{
    tenant = tenant ? tenant : "";
    *n_removed = 0;
    int rc = 0;
    pthread_rwlock_wrlock(&n->lock);
    for (size_t i = n->n_entries; rc == 0 && i > 0; i--) {
        struct entry *e = n->entries[i - 1]; /* uninstall moves the last entry into a hole */
        if (strcmp(e->tenant, tenant) != 0)
            continue;
        if ((rc = remove_locked(n, e, err)) == 0)
            (*n_removed)++;
    }
    pthread_rwlock_unlock(&n->lock);
    return rc;
}

size_t pl_notifier_count(struct pl_notifier *n, const char *tenant)
{
    tenant = tenant ? tenant : "";
    size_t k = 0;
    pthread_rwlock_rdlock(&n->lock);
    for (size_t i = 0; i < n->n_entries; i++)
        k += strcmp(n->entries[i]->tenant, tenant) == 0;
    pthread_rwlock_unlock(&n->lock);
    return k;
}

static void visit(const struct entry *e, pl_notifier_visit_fn fn, void *ud)
{
    struct pl_sub_status st;
    pthread_mutex_lock(&e->ss->mu);
    st = e->ss->st;
    pthread_mutex_unlock(&e->ss->mu);
    fn(ud, e->sub, &st);
}

int pl_notifier_with(struct pl_notifier *n, const char *tenant, const char *id,
                     pl_notifier_visit_fn fn, void *ud)
{
    pthread_rwlock_rdlock(&n->lock);
    struct entry *e = find(n, tenant ? tenant : "", id);
    if (e)
        visit(e, fn, ud);
    pthread_rwlock_unlock(&n->lock);
    return e ? 0 : PL_ENOTFOUND;
}

static int by_id(const void *a, const void *b)
{
    const struct entry *x = *(struct entry *const *)a, *y = *(struct entry *const *)b;
    return strcmp(x->sub->id, y->sub->id);
}

size_t pl_notifier_list(struct pl_notifier *n, const char *tenant, size_t offset, size_t limit,
                        pl_notifier_visit_fn fn, void *ud)
{
    tenant = tenant ? tenant : "";
    pthread_rwlock_rdlock(&n->lock);
    struct entry **v = malloc((n->n_entries ? n->n_entries : 1) * sizeof *v);
    size_t k = 0;
    for (size_t i = 0; v && i < n->n_entries; i++)
        if (strcmp(n->entries[i]->tenant, tenant) == 0)
            v[k++] = n->entries[i];
    if (v)
        qsort(v, k, sizeof *v, by_id);
    for (size_t i = offset; v && i < k && i < offset + limit; i++)
        visit(v[i], fn, ud);
    free(v);
    pthread_rwlock_unlock(&n->lock);
    return k;
}

/* ------------------------------------------------------------------------------------------
 * Events: queued by the store's writer, taken by the notifier thread
 * ---------------------------------------------------------------------------------------- */
static void ev_free(struct ev *v)
{
    free(v->tenant);
    free(v->id);
    json_decref(v->before);
    json_decref(v->after);
    for (size_t i = 0; i < v->n_r; i++)
        free(v->r[i].text);
    free(v->r);
    free(v);
}

static void ev_unref(struct ev *v)
{
    if (--v->refs == 0)
        ev_free(v);
}

/* The store listener: runs on the writer thread after each commit. Only queues. */
static void on_changes(void *ud, const struct pl_store_event *evs, size_t n_ev)
{
    struct pl_notifier *n = ud;
    atomic_fetch_add(&n->n_events, n_ev);
    if (atomic_load(&n->n_installed) == 0)
        return; /* no subscription: nothing to match (a subscription installed now matches the
                   changes committed after its creation returned) */
    struct ev *first = NULL, **tail = &first;
    size_t k = 0;
    for (size_t i = 0; i < n_ev; i++) {
        struct ev *v = calloc(1, sizeof *v);
        if (!v || !(v->tenant = strdup(evs[i].tenant)) || !(v->id = strdup(evs[i].id))) {
            if (v)
                ev_free(v);
            atomic_fetch_add(&n->n_dropped, 1);
            continue;
        }
        v->refs = 1;
        v->seq = atomic_fetch_add(&n->ev_seq, 1) + 1;
        v->before = json_incref((json_t *)evs[i].before);
        v->after = json_incref((json_t *)evs[i].after);
        *tail = v;
        tail = &v->next;
        k++;
    }
    pthread_mutex_lock(&n->qmu);
    while (first && n->qlen >= n->max_queue) {
        /* matching cannot keep up: the oldest changes are dropped, counted and logged */
        struct ev *v = first;
        first = v->next;
        ev_free(v);
        k--;
        atomic_fetch_add(&n->n_dropped, 1);
    }
    if (first) {
        if (n->tail)
            n->tail->next = first;
        else
            n->head = first;
        struct ev *last = first;
        while (last->next)
            last = last->next;
        n->tail = last;
        n->qlen += k;
        pthread_cond_signal(&n->qcv);
    }
    pthread_mutex_unlock(&n->qmu);
}

/* ------------------------------------------------------------------------------------------
 * Delivery of one notification
 * ---------------------------------------------------------------------------------------- */

/* Counts a failure of `e` and tells whether to log it now: at most one warning per
 * subscription per WARN_EVERY_MS (an overloaded endpoint fails thousands of times a second),
 * with the number of failures not logged since. Call with ss->mu held. */
static int warn_due(struct substat *ss, int64_t now, uint64_t *suppressed)
{
    if (ss->last_warn_ms && now - ss->last_warn_ms < WARN_EVERY_MS) {
        ss->unwarned++;
        return 0;
    }
    *suppressed = ss->unwarned;
    ss->unwarned = 0;
    ss->last_warn_ms = now;
    return 1;
}

/* Counts one notification that could not be delivered: not rendered, not queued (ss->mu
 * held). */
static void count_failure(struct substat *ss, int64_t now)
{
    ss->st.times_sent++;
    ss->st.times_failed++;
    ss->st.last_notification_ms = ss->st.last_failure_ms = now;
    ss->gen++;
}
static void on_delivered(void *ud, int ok, int http_status, const char *error)
{
    struct entry *e = ud;
    int64_t now = pl_time_now_ms();
    uint64_t suppressed = 0;
    int warn = 0;
    struct substat *ss = e->ss;
    pthread_mutex_lock(&ss->mu);
    ss->st.times_sent++;
    ss->st.last_notification_ms = now;
    if (ok) {
        ss->st.last_success_ms = now;
    } else {
        ss->st.times_failed++;
        ss->st.last_failure_ms = now;
        snprintf(ss->last_error, sizeof ss->last_error, "%d %s", http_status, error ? error : "?");
        warn = warn_due(ss, now, &suppressed);
    }
    ss->gen++;
    pthread_mutex_unlock(&ss->mu);
    char shown[512]; /* never the endpoint's credentials in a log (base/redact.h) */
    if (warn)
        pl_log_warn("notify: subscription '%s': delivery to %s failed (%d): %s (%llu more "
                    "failures not logged)",
                    e->sub->id, pl_uri_redact(e->sub->uri, shown, sizeof shown), http_status,
                    error ? error : "?", (unsigned long long)suppressed);
    entry_unref(e);
}

static int push_header(char ***v, size_t *n, const char *name, const char *value)
{
    size_t len = strlen(name) + strlen(value) + 3;
    char *h = malloc(len);
    char **nv = realloc(*v, (*n + 1) * sizeof *nv);
    if (!h || !nv) {
        free(h);
        if (nv)
            *v = nv;
        return PL_ENOMEM;
    }
    snprintf(h, len, "%s: %s", name, value);
    *v = nv;
    nv[(*n)++] = h;
    return 0;
}

static const struct pl_ctx *entry_ctx(struct pl_notifier *n, struct entry *e)
{
    if (!e->ctx && !e->ctx_failed) {
        json_t *cv = pl_sub_notify_context(e->sub);
        struct pl_err err;
        pl_err_clear(&err);
        if (pl_ctxreg_resolve(n->ctxreg, cv, &e->ctx, &err) != 0) {
            pl_log_warn("notify: subscription '%s': @context not available (%s); notifying "
                        "with the core context",
                        e->sub->id, err.detail);
            e->ctx_failed = 1;
            e->ctx = NULL;
        }
        json_decref(cv);
    }
    return e->ctx ? e->ctx : pl_ctx_core();
}

/* Counts a notification of `e` that could not be handed to the delivery engine (rc) and logs
 * it, rate-limited. */
static void count_not_queued(struct pl_notifier *n, struct entry *e, int rc, int64_t now)
{
    atomic_fetch_add(&n->n_dropped, 1);
    uint64_t suppressed = 0;
    const char *why = rc == PL_ETOOLARGE ? "the endpoint's queue is full" : pl_err_title(rc);
    pthread_mutex_lock(&e->ss->mu);
    count_failure(e->ss, now);
    snprintf(e->ss->last_error, sizeof e->ss->last_error, "not queued: %s", why);
    int warn = warn_due(e->ss, now, &suppressed);
    pthread_mutex_unlock(&e->ss->mu);
    if (warn)
        pl_log_warn("notify: subscription '%s': notification not queued (%s; %llu more not "
                    "logged)",
                    e->sub->id, why, (unsigned long long)suppressed);
}

/* A batched notification finished: the subscription may send its next one. */
static void on_delivered_batch(void *ud, int ok, int http_status, const char *error)
{
    struct entry *e = ud;
    struct pl_notifier *n = e->owner;
    atomic_fetch_sub(&e->outstanding, 1);
    if (atomic_load(&e->waiting)) {
        pthread_mutex_lock(&n->qmu);
        n->kick = 1;
        pthread_cond_signal(&n->qcv);
        pthread_mutex_unlock(&n->qmu);
    }
    on_delivered(ud, ok, http_status, error); /* drops the reference */
}

/* Hands the notification `body` (len bytes, consumed) of `e` in `tenant` to the delivery engine
 * with ordering key `key`, wrapped for MQTT (7.2) or with its HTTP headers. `done`: the
 * completion (it receives a new reference to `e`). Returns 0, or the engine's refusal (nothing
 * was counted: the caller decides). */
static int submit(struct pl_notifier *n, struct entry *e, const char *tenant, const char *key,
                  char *body, size_t len, void (*done)(void *, int, int, const char *))
{
    const struct pl_sub *s = e->sub;
    struct pl_deliver_msg m;
    memset(&m, 0, sizeof m);
    int rc = body ? 0 : PL_ENOMEM;
    /* 5.8.6: the Link names the context the body was compacted with: the core one when the
     * subscription's could not be resolved (entry_ctx) */
    const char *link = e->ctx_failed ? NULL : pl_sub_link_url(s);
    char linkv[2048];
    snprintf(linkv, sizeof linkv,
             "<%s>; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"",
             link ? link : PL_CORE_CONTEXT_URL);
    int json = s->accept == PL_SUB_ACCEPT_JSON;
    if (rc == 0 && s->mqtt) {
        /* 7.2: the MQTT payload carries the HTTP headers as "metadata" next to the "body" */
        json_t *meta = json_pack("{s:s}", "Content-Type", pl_sub_accept_name(s));
        if (meta && json)
            json_object_set_new(meta, "Link", json_string(linkv));
        if (meta && *tenant)
            json_object_set_new(meta, "NGSILD-Tenant", json_string(tenant));
        for (size_t i = 0; meta && i < s->n_receiver_info; i++)
            json_object_set_new(meta, s->receiver_info[i].key,
                                json_string(s->receiver_info[i].value));
        char *mt = meta ? json_dumps(meta, JSON_COMPACT) : NULL;
        json_decref(meta);
        struct pl_strbuf b;
        pl_strbuf_init(&b);
        if (mt) {
            pl_strbuf_puts(&b, "{\"metadata\":");
            pl_strbuf_puts(&b, mt);
            pl_strbuf_puts(&b, ",\"body\":");
            pl_strbuf_append(&b, body, len);
            pl_strbuf_putc(&b, '}');
        }
        free(mt);
        free(body);
        body = mt ? pl_strbuf_take(&b, &len) : NULL;
        pl_strbuf_dispose(&b);
        rc = body ? 0 : PL_ENOMEM;
    } else if (rc == 0) {
        if (json)
            rc = push_header(&m.headers, &m.n_headers, "Link", linkv);
        if (rc == 0 && *tenant)
            rc = push_header(&m.headers, &m.n_headers, "NGSILD-Tenant", tenant);
        for (size_t i = 0; rc == 0 && i < s->n_receiver_info; i++)
            rc = push_header(&m.headers, &m.n_headers, s->receiver_info[i].key,
                             s->receiver_info[i].value);
    }
    if (rc == 0) {
        m.len = len;
        m.body = body;
        body = NULL;
        m.uri = strdup(s->uri);
        m.key = strdup(key);
        m.content_type = pl_sub_accept_name(s);
        m.mqtt_qos = s->mqtt_qos;
        m.mqtt_v5 = s->mqtt_v5;
        m.done = done;
        m.ud = e;
        atomic_fetch_add(&e->refs, 1);
        if (!m.uri || !m.key)
            rc = PL_ENOMEM;
        else
            rc = pl_deliver_submit(n->deliver, &m);
        if (rc != 0)
            atomic_fetch_sub(&e->refs, 1); /* not the last: the caller holds one */
    }
    free(body);
    pl_deliver_msg_dispose(&m);
    if (rc == 0)
        atomic_fetch_add(&n->n_submitted, 1);
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * BATCHING (notifier.h): the changes a subscription matched wait in its list until it may send
 * ---------------------------------------------------------------------------------------- */
static struct ev *pend_at(const struct entry *e, size_t i)
{
    return e->pend[(e->pend_head + i) % e->cap_pend];
}

static void pend_pop(struct entry *e, size_t k)
{
    for (size_t i = 0; i < k; i++)
        ev_unref(pend_at(e, i));
    e->pend_head = (e->pend_head + k) % (e->cap_pend ? e->cap_pend : 1);
    e->n_pend -= k;
    atomic_store(&e->waiting, e->n_pend);
}

/* `v` joins the changes `e` waits to notify (a reference is taken). At the limit the oldest
 * waiting change is dropped: the subscription's endpoint does not keep up. */
static void pend_push(struct pl_notifier *n, struct entry *e, struct ev *v, int64_t now)
{
    if (e->n_pend == e->cap_pend && e->cap_pend < n->pend_max) {
        size_t nc = e->cap_pend ? e->cap_pend * 2 : 16;
        if (nc > n->pend_max)
            nc = n->pend_max;
        struct ev **nv = malloc(nc * sizeof *nv);
        if (nv) {
            for (size_t i = 0; i < e->n_pend; i++)
                nv[i] = pend_at(e, i);
            free(e->pend);
            e->pend = nv;
            e->pend_head = 0;
            e->cap_pend = nc;
        }
    }
    if (e->n_pend == e->cap_pend) {
        if (!e->n_pend) { /* out of memory before the first change */
            count_not_queued(n, e, PL_ENOMEM, now);
            return;
        }
        pend_pop(e, 1);
        atomic_fetch_add(&n->n_dropped, 1);
        /* a failure in the subscription's status, at most once a second (not per change) */
        if (now - e->last_drop_ms >= 1000) {
            e->last_drop_ms = now;
            uint64_t suppressed = 0;
            pthread_mutex_lock(&e->ss->mu);
            count_failure(e->ss, now);
            snprintf(e->ss->last_error, sizeof e->ss->last_error,
                     "changes dropped: more than %zu waiting for the endpoint", n->pend_max);
            int warn = warn_due(e->ss, now, &suppressed);
            pthread_mutex_unlock(&e->ss->mu);
            char shown[512];
            if (warn)
                pl_log_warn("notify: subscription '%s': the endpoint %s does not keep up: more "
                            "than %zu changes waiting, the oldest are dropped",
                            e->sub->id, pl_uri_redact(e->sub->uri, shown, sizeof shown),
                            n->pend_max);
        }
    }
    v->refs++;
    e->pend[(e->pend_head + e->n_pend) % e->cap_pend] = v;
    e->n_pend++;
    atomic_store(&e->waiting, e->n_pend);
    if (!e->listed) {
        struct entry **nv =
            n->n_waiting == n->cap_waiting
                ? realloc(n->waiting, (n->cap_waiting ? n->cap_waiting * 2 : 16) * sizeof *nv)
                : n->waiting;
        if (!nv) { /* cannot list it: forget what waits (counted) */
            pend_pop(e, e->n_pend);
            count_not_queued(n, e, PL_ENOMEM, now);
            return;
        }
        if (nv != n->waiting) {
            n->waiting = nv;
            n->cap_waiting = n->cap_waiting ? n->cap_waiting * 2 : 16;
        }
        atomic_fetch_add(&e->refs, 1);
        e->listed = 1;
        n->waiting[n->n_waiting++] = e;
    }
}

/* The `data` element of change `v` for `e`: rendered once per (signature, @context) and shared
 * by every subscription that renders alike. Borrowed from v; NULL: nothing to show. */
/* notification.join (4.5.23): Linked Entities are read from the store, in the subscription's
 * tenant, when the notification is rendered. */
struct linked_fetch {
    struct pl_store *store;
    const char *tenant;
};

static int fetch_linked(void *ud, const char *id, json_t **out, struct pl_err *err)
{
    const struct linked_fetch *f = ud;
    return pl_store_entity_get(f->store, f->tenant, id, out, err);
}

static const char *item_of(struct pl_notifier *n, struct entry *e, struct ev *v, int64_t now,
                           size_t *len)
{
    const struct pl_ctx *ctx = entry_ctx(n, e);
    for (size_t i = 0; e->rsig && i < v->n_r; i++) {
        if (v->r[i].ctx == ctx && v->r[i].sig && !strcmp(v->r[i].sig, e->rsig)) {
            *len = v->r[i].len;
            return v->r[i].text;
        }
    }
    if (pl_grow((void **)&v->r, &v->cap_r, v->n_r, sizeof *v->r, 2) != 0)
        return NULL;
    struct rendered *r = &v->r[v->n_r++];
    r->sig = e->rsig;
    r->ctx = ctx;
    r->len = 0;
    struct linked_fetch lf = {n->store, e->tenant};
    r->text = pl_sub_render_item_linked(e->sub, ctx, v->before, v->after, now, fetch_linked, &lf,
                                        &r->len);
    *len = r->len;
    return r->text;
}

/* Room for k rendered items in the notifier's scratch arrays (notifier thread). 0 or
 * PL_ENOMEM. */
static int items_reserve(struct pl_notifier *n, size_t k)
{
    if (k <= n->cap_items)
        return 0;
    const char **ni = realloc(n->items, k * sizeof *ni);
    if (ni)
        n->items = ni;
    size_t *nl = ni ? realloc(n->lens, k * sizeof *nl) : NULL;
    if (nl)
        n->lens = nl;
    if (!ni || !nl)
        return PL_ENOMEM;
    n->cap_items = k;
    return 0;
}

/* The notification of `e` around the k rendered items in n->items / n->lens: a NEW string and
 * *len, NULL when out of memory. */
static char *notification_body(struct pl_notifier *n, const struct entry *e, size_t k, int64_t now,
                               size_t *len)
{
    struct pl_strbuf b;
    pl_strbuf_init(&b);
    pl_sub_notification_text(e->sub, e->ctx_failed, n->items, n->lens, k, now, &b);
    return pl_strbuf_take(&b, len);
}

/* Sends what `e` has waiting: one notification of up to batch_max changes at a time, while the
 * previous one is finished (batching) or at once (batch_max 1: one per change, ordered by
 * entity). force: regardless of what is in flight (at stop; the ordering key keeps the order). */
static void flush_entry(struct pl_notifier *n, struct entry *e, int64_t now, int force)
{
    while (e->n_pend) {
        if (atomic_load(&e->removed)) {
            pend_pop(e, e->n_pend); /* DELETEd: nothing more is sent */
            break;
        }
        if (!force && e->full_until > now)
            break;
        int batched = n->batch_max > 1;
        if (!force && batched && atomic_load(&e->outstanding) > 0)
            break;
        /* 5.2.12 throttling: at least this long between two notifications. The changes made
         * meanwhile wait and go together in the next one (not dropped); the notifier wakes up
         * when the period ends (n->next_due). */
        if (!force && e->sub->throttling > 0 && e->last_sent_ms) {
            int64_t due = e->last_sent_ms + (int64_t)(e->sub->throttling * 1000);
            if (now < due) {
                if (!n->next_due || due < n->next_due)
                    n->next_due = due;
                break;
            }
        }
        size_t k = e->n_pend < n->batch_max ? e->n_pend : n->batch_max;
        if (items_reserve(n, k) != 0) {
            pend_pop(e, e->n_pend);
            count_not_queued(n, e, PL_ENOMEM, now);
            break;
        }
        for (size_t i = 0; i < k; i++)
            n->items[i] = item_of(n, e, pend_at(e, i), now, &n->lens[i]);
        size_t len = 0;
        char *body = notification_body(n, e, k, now, &len);
        atomic_fetch_add(&e->outstanding, 1);
        e->last_sent_ms = now;
        int rc = submit(n, e, e->tenant, batched ? e->key : pend_at(e, 0)->id, body, len,
                        on_delivered_batch);
        if (rc != 0)
            atomic_fetch_sub(&e->outstanding, 1);
        if (rc == PL_ETOOLARGE && !force) {
            /* the endpoint's queue is full: the changes wait (the list's limit applies) */
            e->full_until = now + FULL_BACKOFF_MS;
            break;
        }
        pend_pop(e, k);
        if (rc != 0)
            count_not_queued(n, e, rc, now);
    }
}

/* Flushes every subscription with changes waiting; drops from the list those left with none. */
static void flush_all(struct pl_notifier *n, int force)
{
    int64_t now = pl_time_now_ms();
    n->next_due = 0; /* recomputed by flush_entry for the subscriptions throttled now */
    for (size_t i = 0; i < n->n_waiting; i++) {
        struct entry *e = n->waiting[i];
        int64_t deadline = atomic_load(&n->stop_deadline);
        if (force && deadline && pl_time_now_ms() > deadline) {
            /* stopping, and the grace period is over: what waits is not sent */
            atomic_fetch_add(&n->n_dropped, e->n_pend);
            pend_pop(e, e->n_pend);
        }
        flush_entry(n, e, now, force);
        if (!e->n_pend) {
            e->listed = 0;
            n->waiting[i--] = n->waiting[--n->n_waiting];
            entry_unref(e);
        }
    }
}

/* Candidates of one change: the tenant's subscriptions for any of the entity's types, and
 * those for any type, each once. Read lock held. */
static size_t candidates(struct pl_notifier *n, const struct ev *v, struct entry ***out,
                         size_t *cap)
{
    size_t k = 0;
    const json_t *e = v->after ? v->after : v->before;
    const json_t *types = json_object_get(e, "type");
    n->mark++;
    for (size_t t = 0; t <= json_array_size(types); t++) {
        const char *type =
            t < json_array_size(types) ? json_string_value(json_array_get(types, t)) : "*";
        if (!type)
            continue;
        char *key = key2(v->tenant, type);
        struct bucket *b = key ? pl_hmap_get(n->index, key, NULL) : NULL;
        free(key);
        for (size_t i = 0; b && i < b->n; i++) {
            if (b->v[i]->mark == n->mark)
                continue;
            b->v[i]->mark = n->mark;
            if (k == *cap) {
                size_t nc = *cap ? *cap * 2 : 16;
                struct entry **nv = realloc(*out, nc * sizeof *nv);
                if (!nv)
                    return k;
                *out = nv;
                *cap = nc;
            }
            (*out)[k++] = b->v[i];
        }
    }
    for (size_t i = 0; i < n->n_retired; i++) {
        struct entry *r = n->retired[i];
        if (r->mark == n->mark || v->seq > r->to_seq || strcmp(r->tenant, v->tenant) != 0)
            continue;
        r->mark = n->mark;
        if (pl_grow((void **)out, cap, k, sizeof **out, 16) != 0)
            return k;
        (*out)[k++] = r;
    }
    return k;
}

/* Drops the retired forms whose changes have all been matched (notifier thread). */
static void drop_retired(struct pl_notifier *n)
{
    if (!atomic_load(&n->n_retired_hint))
        return;
    uint64_t done = atomic_load(&n->done_seq);
    pthread_rwlock_wrlock(&n->lock);
    for (size_t i = 0; i < n->n_retired; i++) {
        if (n->retired[i]->to_seq <= done) {
            entry_unref(n->retired[i]);
            n->retired[i--] = n->retired[--n->n_retired];
        }
    }
    atomic_store(&n->n_retired_hint, n->n_retired);
    pthread_rwlock_unlock(&n->lock);
}

/* What the owner of `e` may read of `entity` (NULL: absent): PL_SCOPE_* (notifier.h), *view a
 * NEW reference to what to use instead (the entity itself for PL_SCOPE_ALL, NULL when absent). */
static int owner_scope(struct pl_notifier *n, const struct entry *e, const json_t *entity,
                       json_t **view)
{
    *view = NULL;
    if (!entity)
        return PL_SCOPE_ALL;
    json_t *v = NULL;
    int k = n->scope(n->scope_ud, e->sub->owner, e->tenant, entity, &v);
    if (k == PL_SCOPE_VIEW && v) {
        *view = v;
        return PL_SCOPE_VIEW;
    }
    json_decref(v);
    if (k != PL_SCOPE_ALL)
        return PL_SCOPE_NONE;
    *view = json_incref((json_t *)entity);
    return PL_SCOPE_ALL;
}

/* Matches change `v` (summary `c`) for `e` and queues it: as it is, or as its owner may see it
 * (then a change of its own, matched and rendered on the owner's view: never shared with the
 * render cache of the original change). */
static void match_one(struct pl_notifier *n, struct entry *e, struct ev *v,
                      const struct pl_sub_change *c, int64_t now)
{
    json_t *vb = NULL, *va = NULL;
    int kb = PL_SCOPE_ALL, ka = PL_SCOPE_ALL;
    if (n->scope && e->sub->owner) {
        kb = owner_scope(n, e, v->before, &vb);
        ka = kb == PL_SCOPE_NONE ? PL_SCOPE_NONE : owner_scope(n, e, v->after, &va);
    }
    if (kb == PL_SCOPE_NONE || ka == PL_SCOPE_NONE) {
        json_decref(vb); /* nothing of it for this owner: not even that it changed */
        json_decref(va);
        return;
    }
    if (kb == PL_SCOPE_ALL && ka == PL_SCOPE_ALL) {
        json_decref(vb);
        json_decref(va);
        if (pl_sub_match_change(e->sub, c, now) == 0)
            return;
        atomic_fetch_add(&n->n_matched, 1);
        pend_push(n, e, v, now); /* throttling is applied when sending (flush_entry) */
        return;
    }
    struct ev *w = calloc(1, sizeof *w);
    if (!w) {
        json_decref(vb);
        json_decref(va);
        atomic_fetch_add(&n->n_dropped, 1);
        return;
    }
    w->seq = v->seq;
    w->tenant = strdup(v->tenant);
    w->id = strdup(v->id);
    w->before = vb; /* owned by w from here */
    w->after = va;
    w->refs = 1;
    struct pl_sub_change vc;
    int rc = w->tenant && w->id ? pl_sub_change_init(&vc, vb, va) : PL_ENOMEM;
    if (rc == 0 && pl_sub_match_change(e->sub, &vc, now) != 0) {
        atomic_fetch_add(&n->n_matched, 1);
        pend_push(n, e, w, now);
    } else if (rc != 0) {
        atomic_fetch_add(&n->n_dropped, 1);
    }
    if (w->tenant && w->id)
        pl_sub_change_dispose(&vc);
    ev_unref(w);
}

/* Matches one change against the candidate subscriptions and queues it in the waiting list of
 * each that fires (notifier thread). */
static void handle(struct pl_notifier *n, struct ev *v, struct entry ***buf, size_t *cap)
{
    int64_t now = pl_time_now_ms();
    struct pl_sub_change c;
    if (pl_sub_change_init(&c, v->before, v->after) != 0) {
        pl_sub_change_dispose(&c);
        atomic_fetch_add(&n->n_dropped, 1);
        return;
    }
    pthread_rwlock_rdlock(&n->lock);
    size_t k = candidates(n, v, buf, cap);
    for (size_t i = 0; i < k; i++) {
        struct entry *e = (*buf)[i];
        if (v->seq <= e->from_seq || v->seq > e->to_seq)
            continue;
        match_one(n, e, v, &c, now);
    }
    pthread_rwlock_unlock(&n->lock);
    pl_sub_change_dispose(&c);
}

/* ------------------------------------------------------------------------------------------
 * Periodic subscriptions (timeInterval, 5.8.6): every interval, one notification with every
 * entity the subscription matches (queried from the store, checked with pl_sub_match_entity).
 * ---------------------------------------------------------------------------------------- */
#define PERIODIC_PAGE      1000 /* entities per periodic notification */
#define PERIODIC_MAX_PAGES 100  /* notifications per subscription per interval */

struct periodic_rows {
    struct pl_notifier *n;
    const struct entry *e;
    const struct pl_sub *s;
    int64_t now;
    size_t seen;  /* rows the store returned */
    json_t *ents; /* array of internal-form entities */
};

static int periodic_row(void *ud, const char *body, size_t len)
{
    struct periodic_rows *p = ud;
    p->seen++;
    json_t *e = json_loadb(body, len, 0, NULL);
    if (e && p->n->scope && p->s->owner) { /* what the owner may read of it (notifier.h) */
        json_t *view = NULL;
        owner_scope(p->n, p->e, e, &view);
        json_decref(e);
        e = view;
    }
    if (e && pl_sub_match_entity(p->s, e, p->now) == 1)
        json_array_append(p->ents, e);
    json_decref(e);
    return 0;
}

/* One periodic run of `e`: every matching entity, PERIODIC_PAGE per notification (pages of the
 * store's stable order), all keyed by the subscription so they arrive in order. */
static void periodic_one(struct pl_notifier *n, struct entry *e, int64_t now)
{
    const struct pl_sub *s = e->sub;
    struct pl_store_selector *sels = calloc(s->n_entities ? s->n_entities : 1, sizeof *sels);
    if (!sels)
        return;
    for (size_t i = 0; i < s->n_entities; i++) {
        sels[i].ids = (const char *const *)&s->entities[i].id;
        sels[i].n_ids = s->entities[i].id ? 1 : 0;
        sels[i].types = s->entities[i].ts;
    }
    for (int page = 0; page < PERIODIC_MAX_PAGES; page++) {
        struct pl_store_query q = {.tenant = e->tenant,
                                   .sels = sels,
                                   .n_sels = s->n_entities,
                                   .q = s->q,
                                   .scope = s->scopeq,
                                   .geo = s->geoq,
                                   .geo_attr = s->geoq ? s->geoq->geoproperty : NULL,
                                   .limit = PERIODIC_PAGE,
                                   .offset = (int64_t)page * PERIODIC_PAGE};
        struct periodic_rows rows = {n, e, s, now, 0, json_array()};
        struct pl_err err;
        pl_err_clear(&err);
        int rc = rows.ents ? pl_store_entity_query(n->store, &q, periodic_row, &rows, NULL, &err)
                           : PL_ENOMEM;
        size_t k = json_array_size(rows.ents);
        if (rc != 0)
            pl_log_warn("notify: periodic subscription '%s': query failed: %s", s->id, err.detail);
        if (rc == 0 && k > 0) {
            char *body = NULL;
            size_t len = 0;
            struct linked_fetch lf = {n->store, e->tenant};
            if (items_reserve(n, k) == 0) {
                for (size_t i = 0; i < k; i++)
                    n->items[i] = pl_sub_render_item_linked(s, entry_ctx(n, e), NULL,
                                                            json_array_get(rows.ents, i), now,
                                                            fetch_linked, &lf, &n->lens[i]);
                body = notification_body(n, e, k, now, &len);
                for (size_t i = 0; i < k; i++)
                    free((char *)n->items[i]);
            }
            int src = submit(n, e, e->tenant, e->key, body, len, on_delivered);
            if (src != 0)
                count_not_queued(n, e, src, now);
        }
        json_decref(rows.ents);
        if (rc != 0 || rows.seen < PERIODIC_PAGE)
            break;
        if (page == PERIODIC_MAX_PAGES - 1)
            pl_log_warn("notify: periodic subscription '%s': more than %d entities match; "
                        "notified the first %d",
                        s->id, PERIODIC_MAX_PAGES * PERIODIC_PAGE,
                        PERIODIC_MAX_PAGES * PERIODIC_PAGE);
    }
    free(sels);
}

static void periodic(struct pl_notifier *n)
{
    int64_t now = pl_time_now_ms();
    pthread_rwlock_rdlock(&n->lock);
    size_t k = 0;
    struct entry **due = malloc((n->n_entries ? n->n_entries : 1) * sizeof *due);
    for (size_t i = 0; due && i < n->n_entries; i++) {
        struct entry *e = n->entries[i];
        const struct pl_sub *s = e->sub;
        if (s->time_interval <= 0 || !s->is_active || (s->expires_at_ms && s->expires_at_ms <= now))
            continue;
        if (e->last_sent_ms && now - e->last_sent_ms < (int64_t)(s->time_interval * 1000))
            continue;
        e->last_sent_ms = now;
        atomic_fetch_add(&e->refs, 1);
        due[k++] = e;
    }
    pthread_rwlock_unlock(&n->lock);
    for (size_t i = 0; i < k; i++) {
        periodic_one(n, due[i], now);
        entry_unref(due[i]);
    }
    free(due);
}

/* ------------------------------------------------------------------------------------------
 * Persisting the status counters (notifier.h, PERSISTENCE)
 * ---------------------------------------------------------------------------------------- */
void pl_notifier_flush(struct pl_notifier *n)
{
    /* The subscriptions whose counters changed since their last write, written in ONE store
     * transaction (a thousand busy subscriptions cost one commit, not a thousand), under the
     * registry's read lock: a PATCH, DELETE or POST (write lock) waits for that one commit, and
     * cannot slip between choosing what to write and writing it, so a flush never brings a
     * deleted subscription back nor writes an older form over a PATCH. */
    pthread_mutex_lock(&n->flush_mu);
    pthread_rwlock_rdlock(&n->lock);
    size_t cap = n->n_entries ? n->n_entries : 1, k = 0;
    struct pl_store_sub_rec *recs = malloc(cap * sizeof *recs);
    struct dirty {
        struct entry *e;
        uint64_t gen; /* the generation of the counters written */
    } *v = malloc(cap * sizeof *v);
    int nomem = !recs || !v;
    for (size_t i = 0; !nomem && i < n->n_entries; i++) {
        struct entry *e = n->entries[i];
        struct substat *ss = e->ss;
        pthread_mutex_lock(&ss->mu);
        int dirty = ss->gen != ss->saved;
        struct pl_sub_status st = ss->st;
        uint64_t gen = ss->gen;
        pthread_mutex_unlock(&ss->mu);
        if (!dirty)
            continue;
        json_t *stored = pl_sub_to_stored(e->sub);
        if (!stored || pl_sub_stored_set_status(stored, &st) != 0) {
            json_decref(stored);
            nomem = 1;
            break;
        }
        recs[k] = (struct pl_store_sub_rec){e->tenant, e->sub->id, stored, 0};
        v[k++] = (struct dirty){e, gen};
    }
    struct pl_err err;
    pl_err_clear(&err);
    size_t failed = 0;
    if (k > 0)
        pl_store_sub_put_many(n->store, recs, k, &err);
    for (size_t i = 0; i < k; i++) {
        struct substat *ss = v[i].e->ss;
        if (recs[i].rc == 0) {
            atomic_fetch_add(&n->n_status_writes, 1);
            pthread_mutex_lock(&ss->mu);
            if (v[i].gen > ss->saved) /* a flush and a PATCH may finish in either order */
                ss->saved = v[i].gen;
            pthread_mutex_unlock(&ss->mu);
        } else { /* stays dirty: tried again at the next flush */
            atomic_fetch_add(&n->n_status_failed, 1);
            failed++;
        }
        json_decref((json_t *)recs[i].body);
    }
    pthread_rwlock_unlock(&n->lock);
    pthread_mutex_unlock(&n->flush_mu);
    free(recs);
    free(v);
    if (failed)
        pl_log_warn("notify: the status of %zu subscriptions could not be saved (%s); tried "
                    "again at the next flush",
                    failed, err.detail);
    if (nomem)
        pl_log_warn("notify: out of memory while saving the subscriptions' status; tried "
                    "again at the next flush");
}

/* OVERLOAD: when changes come faster than the notifier matches them (its queue holds more than
 * max_queue / OVERLOAD_DIV), the subscriptions' endpoints will not get them all anyway (the
 * queue and the waiting lists drop the excess, counted), and the CPU the notifier would spend
 * is taken from the writes. Then the thread moves to SCHED_IDLE: it runs only on CPU time that
 * the request threads and the writer leave, and the writes keep their pace (issue 4: a write
 * is never slowed by more than a small constant). Back to nice NOTIFIER_NICE once the queue
 * is short again. Returns the class now in force (1 idle, 0 normal). */
static int set_overload_class(int idle)
{
    struct sched_param sp = {.sched_priority = 0};
    if (pthread_setschedparam(pthread_self(), idle ? SCHED_IDLE : SCHED_OTHER, &sp) != 0)
        return !idle;
    if (!idle)
        (void)setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), NOTIFIER_NICE);
    pl_log_debug("notify: %s", idle ? "overloaded: matching on idle CPU only"
                                    : "caught up: matching at nice 10 again");
    return idle;
}

static void *notifier_main(void *arg)
{
    struct pl_notifier *n = arg;
    pthread_setname_np(pthread_self(), "pl-notifier");
    /* Below the request threads and the writer: when subscriptions fan one write out into more
     * notifications than the cores can render, writes keep their pace and the notifications
     * fall behind (and, past the bounded queues, are dropped, counted and shown in each
     * subscription's status), not the other way round. Linux: nice applies per thread. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), NOTIFIER_NICE) != 0)
        pl_log_debug("notify: cannot lower the notifier thread's priority");
    struct entry **buf = NULL;
    size_t cap = 0;
    int idle_class = 0;
    int64_t next_tick = pl_time_now_ms() + 1000;
    int64_t next_flush = pl_time_now_ms() + PL_NOTIFIER_FLUSH_MS;
    pthread_mutex_lock(&n->qmu);
    for (;;) {
        while (!n->head && !n->kick && !n->stopping) {
            /* a tick every second runs the periodic subscriptions; a throttled subscription
             * with changes waiting is woken up at the end of its period */
            int64_t now = pl_time_now_ms();
            if (now >= next_tick || (n->next_due && now >= n->next_due))
                break;
            int64_t until = n->next_due && n->next_due < next_tick ? n->next_due : next_tick;
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t ns = ts.tv_nsec + (until - now) * 1000000LL;
            ts.tv_sec += ns / 1000000000LL;
            ts.tv_nsec = ns % 1000000000LL;
            pthread_cond_timedwait(&n->qcv, &n->qmu, &ts);
        }
        if (pl_time_now_ms() >= next_tick) {
            int64_t now = pl_time_now_ms();
            next_tick = now + 1000;
            pthread_mutex_unlock(&n->qmu);
            periodic(n);
            flush_all(n, 0); /* subscriptions waiting out a full endpoint queue */
            if (now >= next_flush) {
                next_flush = now + PL_NOTIFIER_FLUSH_MS;
                pl_notifier_flush(n);
            }
            pthread_mutex_lock(&n->qmu);
            continue;
        }
        if (!n->head && !n->kick && !n->stopping && n->next_due &&
            pl_time_now_ms() >= n->next_due) {
            pthread_mutex_unlock(&n->qmu);
            flush_all(n, 0); /* a throttling period ended */
            pthread_mutex_lock(&n->qmu);
            continue;
        }
        if (!n->head && (n->stopping || !n->kick))
            break;
        struct ev *batch = n->head;
        int over = n->qlen > n->max_queue / OVERLOAD_DIV;
        n->head = n->tail = NULL;
        n->qlen = 0;
        n->kick = 0;
        pthread_mutex_unlock(&n->qmu);
        if (over != idle_class)
            idle_class = set_overload_class(over);
        size_t done = 0;
        while (batch) {
            struct ev *v = batch;
            batch = v->next;
            int64_t deadline = atomic_load(&n->stop_deadline);
            if (deadline && pl_time_now_ms() > deadline) {
                /* stopping, and the grace period is over: what is left is not matched */
                atomic_fetch_add(&n->n_dropped, 1);
            } else {
                handle(n, v, &buf, &cap);
            }
            atomic_store(&n->done_seq, v->seq);
            ev_unref(v);
            if (++done % MATCH_CHUNK == 0)
                flush_all(n, 0); /* a long backlog does not hold the first notifications */
        }
        flush_all(n, 0);
        drop_retired(n);
        pthread_mutex_lock(&n->qmu);
    }
    pthread_mutex_unlock(&n->qmu);
    flush_all(n, 1); /* stopping: what waits goes to the engine (within the grace period) */
    free(buf);
    return NULL;
}

/* ------------------------------------------------------------------------------------------
 * Start / stop
 * ---------------------------------------------------------------------------------------- */
static int load(struct pl_notifier *n, struct pl_err *err)
{
    json_t *recs = NULL;
    int rc = pl_store_sub_load(n->store, &recs, err);
    if (rc == PL_EOPNOTSUPPORTED) {
        pl_err_clear(err);
        return 0;
    }
    if (rc)
        return rc;
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r)
    {
        struct pl_sub *s = NULL;
        struct pl_err e2;
        pl_err_clear(&e2);
        if (pl_sub_from_stored(json_object_get(r, "body"), &s, &e2) != 0) {
            pl_log_error("notify: stored subscription '%s' cannot be read: %s",
                         json_string_value(json_object_get(r, "id")), e2.detail);
            continue;
        }
        struct entry *e = entry_new(n, json_string_value(json_object_get(r, "tenant")), s, NULL);
        if (e) /* the counters as last flushed (notifier.h, PERSISTENCE) */
            pl_sub_stored_status(json_object_get(r, "body"), &e->ss->st);
        if (!e || install(n, e) != 0) {
            if (e)
                entry_unref(e);
            else
                pl_sub_free(s);
            rc = pl_err_set(err, PL_ENOMEM, "out of memory");
            break;
        }
    }
    json_decref(recs);
    if (rc == 0 && n->n_entries)
        pl_log_info("notify: %zu subscriptions loaded", n->n_entries);
    return rc;
}

int pl_notifier_start(const struct pl_notifier_config *cfg, struct pl_notifier **out,
                      struct pl_err *err)
{
    struct pl_notifier *n = calloc(1, sizeof *n);
    if (!n)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    n->store = cfg->store;
    n->ctxreg = cfg->ctxreg;
    n->max_queue = cfg->max_queue ? cfg->max_queue : DEFAULT_MAX_QUEUE;
    n->batch_max = cfg->batch_max ? cfg->batch_max : DEFAULT_BATCH_MAX;
    n->pend_max = cfg->pend_max ? cfg->pend_max : DEFAULT_PEND_MAX;
    n->scope = cfg->scope;
    n->scope_ud = cfg->scope_ud;
    pthread_rwlock_init(&n->lock, NULL);
    pthread_mutex_init(&n->qmu, NULL);
    pthread_mutex_init(&n->flush_mu, NULL);
    pthread_cond_init(&n->qcv, NULL);
    n->by_key = pl_hmap_new(NULL);
    n->index = pl_hmap_new(bucket_free);
    int rc = (!n->by_key || !n->index) ? pl_err_set(err, PL_ENOMEM, "out of memory") : 0;
    if (rc == 0)
        rc = load(n, err);
    if (rc == 0)
        rc = pl_deliver_start(&cfg->deliver, &n->deliver, err);
    if (rc == 0 && pthread_create(&n->thread, NULL, notifier_main, n) != 0)
        rc = pl_err_set(err, PL_EINTERNAL, "cannot start the notifier thread");
    if (rc != 0) {
        pl_deliver_stop(n->deliver);
        for (size_t i = 0; i < n->n_entries; i++)
            entry_unref(n->entries[i]);
        free(n->entries);
        pl_hmap_free(n->by_key);
        pl_hmap_free(n->index);
        free(n);
        return rc;
    }
    /* `before` of every change, always: a subscription created while an update is being
     * prepared must see that update as an update, not as a creation. */
    pl_store_want_before(n->store, 1);
    pl_store_set_listener(n->store, on_changes, n);
    *out = n;
    return 0;
}

void pl_notifier_stop(struct pl_notifier *n)
{
    if (!n)
        return;
    pl_store_set_listener(n->store, NULL, NULL);
    pl_store_want_before(n->store, 0);
    atomic_store(&n->stop_deadline, pl_time_now_ms() + STOP_GRACE_MS);
    pthread_mutex_lock(&n->qmu);
    n->stopping = 1;
    pthread_cond_signal(&n->qcv);
    pthread_mutex_unlock(&n->qmu);
    pthread_join(n->thread, NULL); /* matches what is queued (within the grace), then exits */
    if (atomic_load(&n->n_dropped))
        pl_log_info("notify: %llu notifications or changes dropped in all",
                    (unsigned long long)atomic_load(&n->n_dropped));
    pl_deliver_stop(n->deliver); /* delivers within its grace period; every done runs */
    pl_notifier_flush(n);        /* the final counters: a clean stop loses none */
    for (struct ev *v = n->head, *nx; v; v = nx) {
        nx = v->next;
        ev_free(v);
    }
    for (size_t i = 0; i < n->n_entries; i++)
        entry_unref(n->entries[i]);
    for (size_t i = 0; i < n->n_retired; i++)
        entry_unref(n->retired[i]);
    free(n->retired);
    free(n->entries);
    free(n->waiting); /* empty: the thread flushed or dropped what waited */
    free(n->items);
    free(n->lens);
    pl_hmap_free(n->by_key);
    pl_hmap_free(n->index);
    pthread_rwlock_destroy(&n->lock);
    pthread_mutex_destroy(&n->qmu);
    pthread_mutex_destroy(&n->flush_mu);
    pthread_cond_destroy(&n->qcv);
    free(n);
}

json_t *pl_notifier_metrics(struct pl_notifier *n)
{
    struct pl_notifier_stats ns;
    struct pl_deliver_stats ds;
    pl_notifier_stats(n, &ns);
    pl_deliver_stats(n->deliver, &ds);
    json_t *subs = json_array();
    pthread_rwlock_rdlock(&n->lock);
    for (size_t i = 0; i < n->n_entries; i++) {
        struct entry *e = n->entries[i];
        struct substat *ss = e->ss;
        pthread_mutex_lock(&ss->mu);
        /* statusSaved: the counters shown are those in the store (a crash now loses none) */
        json_array_append_new(
            subs, json_pack("{s:s,s:s,s:I,s:I,s:s?,s:b,s:I,s:i}", "id", e->sub->id, "tenant",
                            e->tenant, "timesSent", (json_int_t)ss->st.times_sent, "timesFailed",
                            (json_int_t)ss->st.times_failed, "lastError",
                            ss->last_error[0] ? ss->last_error : NULL, "statusSaved",
                            ss->saved == ss->gen, "waiting", (json_int_t)atomic_load(&e->waiting),
                            "inFlight", atomic_load(&e->outstanding)));
        pthread_mutex_unlock(&ss->mu);
    }
    pthread_rwlock_unlock(&n->lock);
    return json_pack(
        "{s:I,s:I,s:I,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I},s:o}", "changes", (json_int_t)ns.events,
        "matched", (json_int_t)ns.matched, "submitted", (json_int_t)ns.submitted, "dropped",
        (json_int_t)ns.dropped, "statusWrites", (json_int_t)ns.status_writes, "statusWriteFailures",
        (json_int_t)ns.status_failed, "delivery", "sent", (json_int_t)ds.sent, "failed",
        (json_int_t)ds.failed, "retried", (json_int_t)ds.retried, "dropped", (json_int_t)ds.dropped,
        "queued", (json_int_t)ds.queued, "refused", (json_int_t)ds.refused, "subscriptions", subs);
}

void pl_notifier_stats(struct pl_notifier *n, struct pl_notifier_stats *out)
{
    out->events = atomic_load(&n->n_events);
    out->matched = atomic_load(&n->n_matched);
    out->submitted = atomic_load(&n->n_submitted);
    out->dropped = atomic_load(&n->n_dropped);
    out->status_writes = atomic_load(&n->n_status_writes);
    out->status_failed = atomic_load(&n->n_status_failed);
}
