/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.c — the pl_store_* API over a backend table: URL dispatch, the checks common to every
 * backend, and the WRITER THREAD with group commit.
 *
 * Callers queue writes (struct pl_store_write, caller-owned, linked through next_). The writer
 * takes everything queued (up to max_batch, never splitting a write_many_sync group), runs it in
 * ONE transaction with one savepoint per write, commits, then reports each write: it calls
 * `done` (async) or flags the write and wakes the waiters (sync). A write whose commit failed is
 * reported with the commit's error. Nothing is reported before the commit, so an acknowledged
 * write is durable.
 *
 * @context records go through the same queue as writes with an internal flag (ctx_put/delete),
 * so the writer stays the only user of the write connection.
 *
 * This file knows nothing of SQL, HTTP or JSON-LD.
 */
#include "store/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/jsonfmt.h"
#include "base/log.h"
#include "base/strv.h"
#include "base/timeutil.h"
#include "store/store_int.h"

#define DEFAULT_MAX_BATCH 1024

/* Internal write kinds, in the high bits of pl_store_write.flags (never set by callers). */
#define WF_SUB_PUT    0x10000000u /* ud: the body (const json_t *) */
#define WF_SUB_DELETE 0x20000000u
#define WF_CALL       0x08000000u /* ud: a struct wcall, run on the writer (history writes) */
#define WF_INTERNAL   (WF_CTX_PUT | WF_CTX_DELETE | WF_SUB_PUT | WF_SUB_DELETE | WF_CALL)
#define WF_CTX_PUT    0x40000000u /* ud: the record (const json_t *) */
#define WF_CTX_DELETE 0x80000000u /* id: the record id */
#define WF_PUBLIC                                                                                  \
    (PL_WRITE_MUST_EXIST | PL_WRITE_MUST_NOT_EXIST | PL_WRITE_PREPARED | PL_WRITE_WANT_OWNER)

/* Bits of pl_store_write.sync_done_. */
#define SD_DONE       0x1 /* the result is set (sync waiters may return) */
#define SD_GROUP_MORE 0x2 /* the next queued write belongs to the same atomic group */

struct pl_store {
    const struct pl_store_ops *ops; /* the backend table */
    void *be;                       /* the backend's state */
    unsigned caps;                  /* PL_STORE_CAP_* of this open store */
    size_t max_batch;               /* most writes per transaction (groups may exceed it) */

    pl_store_listener_fn listener; /* change events (set before writes start) */
    void *listener_ud;
    atomic_int want_before;            /* the listener wants `before` of each change */
    const struct pl_hist_policy *hist; /* history policy (borrowed from the opener), or NULL
                                          when no history is recorded */

    pthread_mutex_t mu;                 /* protects the queue, `closing` and SD_DONE flags */
    pthread_cond_t work;                /* the writer waits here for writes */
    pthread_cond_t done;                /* sync callers wait here for SD_DONE */
    struct pl_store_write *head, *tail; /* the queue, linked through next_ */
    int closing;                        /* 1: no new writes; the writer drains and exits */
    pthread_t writer;                   /* the writer thread */
    pthread_t retention;                /* housekeeping: history retention, expiry (4.22) */
    int has_retention;                  /* 1 when that thread runs */
    pthread_cond_t ret_cv;              /* it sleeps here (signalled at close) */

    atomic_uint_least64_t n_writes; /* see struct pl_store_stats */
    atomic_uint_least64_t n_commits;
    atomic_uint_least64_t n_groups;
    atomic_uint_least64_t n_max_group;
};

static const char *tn(const char *tenant)
{
    return tenant ? tenant : "";
}

static void *retention_main(void *arg);

/* A function run by the writer thread inside a write's savepoint (WF_CALL). */
struct wcall {
    int (*fn)(struct pl_store *s, struct wcall *c, struct pl_err *err);
    void *arg;
};

/* Whether a write must know the entity before it: for the listener, or for history. */
static int need_before(const struct pl_store *s)
{
    return atomic_load(&((struct pl_store *)s)->want_before) || s->hist;
}

/* The history of one write, as far as it can be known before the writer runs it. */
struct hist_prep {
    int wanted;             /* 0: the policy records nothing for this entity */
    int64_t now;            /* the write's time (the new entity's modifiedAt, else now) */
    struct pl_hist_batch b; /* the rows */
    char *types, *scope;    /* hentity members: compact JSON ("null": no scope) */
};

static void hist_prep_free(struct hist_prep *h)
{
    if (!h)
        return;
    pl_store__hist_batch_free(&h->b);
    free(h->types);
    free(h->scope);
    free(h);
}

/* Computes the history rows of the change before -> after (either may be NULL) for `tenant`.
 * Returns a NEW struct hist_prep, or NULL when out of memory. */
static struct hist_prep *hist_prepare(const struct pl_store *s, const char *tenant,
                                      const json_t *before, const json_t *after)
{
    struct hist_prep *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    const json_t *e = after ? after : before;
    if (!e || !pl_store__hist_wanted(s->hist, tn(tenant), e))
        return h;
    h->wanted = 1;
    const char *m = after ? json_string_value(json_object_get(after, "modifiedAt")) : NULL;
    if (!m || pl_time_parse(m, &h->now) != 0)
        h->now = pl_time_now_ms();
    if (!after && s->hist->purge_on_delete)
        return h;
    const json_t *scope = json_object_get(e, "scope");
    if (pl_store__hist_diff(before, after, h->now, &h->b) != 0 ||
        !(h->types = pl_store__types_text(e)) ||
        !(h->scope = json_dumps(scope ? scope : json_null(), JSON_COMPACT | JSON_ENCODE_ANY))) {
        hist_prep_free(h);
        return NULL;
    }
    return h;
}

/* Prepared writes: the JSON work of history runs on the caller's thread, like the rest of a
 * prepared write's (the writer thread is the store's bottleneck). */
static void prep_history(const struct pl_store *s, struct pl_store_write *w)
{
    if (!(w->flags & PL_WRITE_PREPARED))
        return; /* hist_ is only ever set (and freed) on prepared writes */
    hist_prep_free(w->hist_);
    w->hist_ = NULL;
    if (!s->hist || !w->prepared)
        return;
    if (w->prep_old && !w->before)
        return; /* the writer refuses it (PL_ESTALE): history needs `before` */
    w->hist_ = hist_prepare(s, w->tenant, w->prep_old ? w->before : NULL, w->prepared);
}

/* Writes the history of one committed entity change in the write's savepoint: from `prep`
 * (computed by the caller) or computed here from before -> after. Failing here fails the write:
 * history is never lost silently. */
static int record_history(struct pl_store *s, struct pl_store_write *w, const json_t *before,
                          const json_t *after, struct hist_prep *prep, struct pl_err *err)
{
    if (!s->hist)
        return 0;
    struct hist_prep *own = prep ? NULL : hist_prepare(s, w->tenant, before, after);
    struct hist_prep *h = prep ? prep : own;
    int rc = 0;
    if (!h) {
        rc = pl_err_set(err, PL_ENOMEM, "out of memory recording history");
    } else if (!h->wanted) {
        rc = 0;
    } else if (!after && s->hist->purge_on_delete) {
        struct pl_hist_del d = {.id = w->id};
        int64_t n = 0;
        rc = s->ops->w_hist_delete(s->be, tn(w->tenant), &d, &n, err);
    } else if (h->b.n || !after || !before) {
        rc = s->ops->w_hist_append(s->be, tn(w->tenant), w->id, h->types, h->scope,
                                   after ? 0 : h->now, h->b.rows, h->b.n, NULL, err);
    }
    hist_prep_free(own);
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * The writer
 * ---------------------------------------------------------------------------------------- */

/* Heap-allocated index keys of `e`; NULL when out of memory. */
static struct pl_store_ix *ix_new(const json_t *e)
{
    struct pl_store_ix *ix = malloc(sizeof *ix);
    if (ix && pl_store__ix_build(e, ix) != 0) {
        free(ix);
        ix = NULL;
    }
    return ix;
}

static void ix_delete(struct pl_store_ix *ix)
{
    pl_store__ix_free(ix);
    free(ix);
}

/* Serializes `next` and writes it (insert when `old` is NULL) with its index keys. */
static int put_entity(struct pl_store *s, struct pl_store_write *w, const json_t *next,
                      const struct pl_store_ix *old)
{
    size_t len = 0;
    char *text = pl_store__serialize(next, &len);
    struct pl_store_ix *nix = text ? ix_new(next) : NULL;
    int rc;
    if (!nix)
        rc = pl_err_set(&w->err, PL_ENOMEM, "out of memory");
    else
        rc = s->ops->w_entity_put(s->be, tn(w->tenant), w->id, next, text, len, old, nix, &w->err);
    free(text);
    ix_delete(nix);
    return rc;
}

/* Issue 12 (authz): the owner key of an entity this write creates, in the same savepoint. */
static int record_owner(struct pl_store *s, struct pl_store_write *w)
{
    if (!w->owner || !w->owner[0] || !s->ops->w_owner_put)
        return 0;
    return s->ops->w_owner_put(s->be, tn(w->tenant), w->id, w->owner, &w->err);
}

/* ... and removed with the entity. */
static int drop_owner(struct pl_store *s, struct pl_store_write *w)
{
    return s->ops->w_owner_delete ? s->ops->w_owner_delete(s->be, tn(w->tenant), w->id, &w->err)
                                  : 0;
}

/* PL_WRITE_WANT_OWNER: the stored entity's owner for apply ("" none). */
static int load_owner(struct pl_store *s, struct pl_store_write *w)
{
    w->cur_owner[0] = '\0';
    if (!(w->flags & PL_WRITE_WANT_OWNER) || !s->ops->w_owner_get)
        return 0;
    int rc = s->ops->w_owner_get(s->be, tn(w->tenant), w->id, w->cur_owner, sizeof w->cur_owner,
                                 &w->err);
    if (rc == PL_ENOTFOUND) {
        pl_err_clear(&w->err);
        w->cur_owner[0] = '\0';
        return 0;
    }
    return rc;
}

/* Runs one write inside the open transaction; sets rc/err/result/existed. */
static void run_one(struct pl_store *s, struct pl_store_write *w)
{
    const struct pl_store_ops *ops = s->ops;
    json_t *cur = NULL, *next = NULL;
    struct pl_store_ix *old_ix = NULL;
    int rc;

    w->rc = 0;
    w->result = NULL;
    w->existed = 0;
    pl_err_clear(&w->err);

    if ((rc = ops->sp_begin(s->be, &w->err)) != 0) {
        w->rc = rc;
        return;
    }
    if (w->flags & WF_CTX_PUT) {
        rc = ops->w_ctx_put(s->be, w->ud, &w->err);
        goto finish;
    }
    if (w->flags & WF_CTX_DELETE) {
        rc = ops->w_ctx_delete(s->be, w->id, &w->err);
        goto finish;
    }
    if (w->flags & WF_SUB_PUT) {
        rc = ops->w_sub_put ? ops->w_sub_put(s->be, tn(w->tenant), w->id, w->ud, &w->err)
                            : pl_err_set(&w->err, PL_EOPNOTSUPPORTED, "no subscriptions");
        goto finish;
    }
    if (w->flags & WF_CALL) {
        struct wcall *c = w->ud;
        rc = c->fn(s, c, &w->err);
        goto finish;
    }
    if (w->flags & WF_SUB_DELETE) {
        rc = ops->w_sub_delete ? ops->w_sub_delete(s->be, tn(w->tenant), w->id, &w->err)
                               : pl_err_set(&w->err, PL_EOPNOTSUPPORTED, "no subscriptions");
        goto finish;
    }

    if ((w->flags & PL_WRITE_PREPARED) && !w->prep_old) {
        /* A prepared insert (pl_store_prep_insert): the caller did the JSON work. */
        rc = ops->w_entity_put(s->be, tn(w->tenant), w->id, w->prepared, w->prepared_text,
                               w->prepared_len, NULL, w->prep_new, &w->err);
        if (rc == 0) {
            next = json_incref((json_t *)w->prepared);
            rc = record_owner(s, w);
            if (rc == 0)
                rc = record_history(s, w, NULL, next, w->hist_, &w->err);
            goto finish;
        }
        w->existed = rc == PL_EALREADYEXISTS;
        if (rc != PL_EALREADYEXISTS || !w->apply || (w->flags & PL_WRITE_MUST_NOT_EXIST))
            goto finish;
        /* It exists after all: an upsert continues as an apply write on the stored entity
         * (the failed INSERT statement left the savepoint as it was). */
        pl_err_clear(&w->err);
        rc = 0;
    } else if (w->flags & PL_WRITE_PREPARED) {
        /* Optimistic: the caller did the JSON work; only the revision is checked here. */
        int64_t rev = 0;
        rc = ops->w_entity_rev(s->be, tn(w->tenant), w->id, &rev, &w->err);
        if (rc != 0)
            goto finish;
        w->existed = 1;
        if (rev != w->expect_rev) {
            rc = pl_err_set(&w->err, PL_ESTALE, "entity modified concurrently");
            goto finish;
        }
        if (w->before && need_before(s))
            w->ev_before_ = json_incref((json_t *)w->before);
        rc = ops->w_entity_put(s->be, tn(w->tenant), w->id, w->prepared, w->prepared_text,
                               w->prepared_len, w->prep_old, w->prep_new, &w->err);
        if (rc == 0) {
            next = json_incref((json_t *)w->prepared);
            if (s->hist && !w->before) /* the caller did not keep it: read it back */
                rc = pl_err_set(&w->err, PL_ESTALE, "history needs the entity before");
            else
                rc = record_history(s, w, w->before, next, w->hist_, &w->err);
        }
        goto finish;
    }
    rc = ops->w_entity_get(s->be, tn(w->tenant), w->id, &cur, &w->err);
    if (rc == PL_ENOTFOUND) {
        pl_err_clear(&w->err);
        cur = NULL;
        rc = 0;
    } else if (rc != 0) {
        goto finish;
    }
    w->existed = cur != NULL;
    if ((w->flags & PL_WRITE_MUST_EXIST) && !cur) {
        rc = pl_err_set(&w->err, PL_ENOTFOUND, "Entity not found");
        goto finish;
    }
    if ((w->flags & PL_WRITE_MUST_NOT_EXIST) && cur) {
        rc = pl_err_set(&w->err, PL_EALREADYEXISTS, "Entity already exists");
        goto finish;
    }
    /* The entity before the change, for the listener (apply may modify cur in place). */
    if (cur && need_before(s) && !(w->ev_before_ = json_deep_copy(cur))) {
        rc = pl_err_set(&w->err, PL_ENOMEM, "out of memory");
        goto finish;
    }
    /* The index keys of the stored entity, before apply (which may modify cur in place). */
    if (cur && !(old_ix = ix_new(cur))) {
        rc = pl_err_set(&w->err, PL_ENOMEM, "out of memory");
        goto finish;
    }
    if (cur && (rc = load_owner(s, w)) != 0)
        goto finish;
    rc = w->apply(w->ud, cur, &next, &w->err);
    if (rc != 0) {
        if (w->err.code == PL_OK)
            pl_err_set(&w->err, rc, "write failed");
        goto finish;
    }
    if (next) {
        if (!json_is_object(next)) {
            rc = pl_err_set(&w->err, PL_EINTERNAL, "apply produced a non-object entity");
            goto finish;
        }
        rc = put_entity(s, w, next, old_ix);
        if (rc == 0 && !cur)
            rc = record_owner(s, w);
        if (rc == 0)
            rc = record_history(s, w, w->ev_before_, next, NULL, &w->err);
    } else if (cur) {
        rc = ops->w_entity_delete(s->be, tn(w->tenant), w->id, old_ix, &w->err);
        if (rc == 0)
            rc = drop_owner(s, w);
        if (rc == 0)
            rc = record_history(s, w, w->ev_before_, NULL, NULL, &w->err);
    }

finish:
    if (rc == 0)
        rc = ops->sp_release(s->be, &w->err);
    if (rc != 0) {
        ops->sp_rollback(s->be);
        json_decref(next);
        next = NULL;
        if (w->err.code == PL_OK)
            pl_err_set(&w->err, rc, "write failed");
    }
    w->rc = rc;
    w->result = next;
    if (rc != 0) {
        json_decref(w->ev_before_);
        w->ev_before_ = NULL;
    }
    json_decref(cur);
    ix_delete(old_ix);
}

/* Hands the committed entity changes of a group to the listener, in order. */
static void emit_events(struct pl_store *s, struct pl_store_write *first, size_t n)
{
    pthread_mutex_lock(&s->mu); /* the listener may be set or cleared at any time */
    pl_store_listener_fn listener = s->listener;
    void *listener_ud = s->listener_ud;
    pthread_mutex_unlock(&s->mu);
    if (!listener)
        return;
    struct pl_store_event stack[64], *ev = n <= 64 ? stack : malloc(n * sizeof *ev);
    if (!ev) {
        pl_log_error("store: out of memory: %zu change events lost", n);
        return;
    }
    size_t k = 0;
    for (struct pl_store_write *w = first; w; w = w->next_) {
        if (w->rc != 0 || (w->flags & WF_INTERNAL) || (!w->result && !w->existed))
            continue;
        ev[k++] = (struct pl_store_event){tn(w->tenant), w->id, w->ev_before_, w->result};
    }
    if (k)
        listener(listener_ud, ev, k);
    if (ev != stack)
        free(ev);
}

static void fail_all(struct pl_store_write *first, const struct pl_err *e)
{
    for (struct pl_store_write *w = first; w; w = w->next_) {
        json_decref(w->result);
        w->result = NULL;
        json_decref(w->ev_before_);
        w->ev_before_ = NULL;
        w->rc = e->code;
        w->err = *e;
    }
}

/* Runs a group of writes (a NULL-terminated list) in one transaction. */
static void run_group(struct pl_store *s, struct pl_store_write *first, size_t n)
{
    struct pl_err e;
    pl_err_clear(&e);
    for (struct pl_store_write *w = first; w; w = w->next_)
        w->result = NULL;
    int rc = s->ops->tx_begin(s->be, &e);
    if (rc != 0) {
        if (e.code == PL_OK)
            pl_err_set(&e, rc, "cannot begin a transaction");
        pl_log_error("store: begin failed: %s", e.detail);
        fail_all(first, &e);
    } else {
        for (struct pl_store_write *w = first; w; w = w->next_)
            run_one(s, w);
        rc = s->ops->tx_commit(s->be, &e);
        if (rc != 0) {
            if (e.code == PL_OK)
                pl_err_set(&e, rc, "commit failed");
            pl_log_error("store: commit of %zu writes failed: %s", n, e.detail);
            s->ops->tx_rollback(s->be);
            fail_all(first, &e);
        } else {
            atomic_fetch_add(&s->n_commits, 1);
            emit_events(s, first, n);
        }
        for (struct pl_store_write *w = first; w; w = w->next_) {
            json_decref(w->ev_before_);
            w->ev_before_ = NULL;
        }
    }
    atomic_fetch_add(&s->n_groups, 1);
    atomic_fetch_add(&s->n_writes, n);
    uint_least64_t m = atomic_load(&s->n_max_group);
    while (n > m && !atomic_compare_exchange_weak(&s->n_max_group, &m, n))
        ;
}

/* Reports every write of a finished group: first the async ones, in queue order, get their
 * `done` (outside the lock: they may queue new writes), then the sync ones are flagged and their
 * waiters woken with one broadcast. So when write_sync returns, every write queued before it
 * has been reported. A write is not touched after it has been reported: its owner may free it
 * at once. */
static void report(struct pl_store *s, struct pl_store_write *first)
{
    struct pl_store_write *sync_head = NULL, **sync_tail = &sync_head;
    for (struct pl_store_write *w = first, *nx; w; w = nx) {
        nx = w->next_;
        w->next_ = NULL;
        if (w->done) {
            w->sync_done_ = SD_DONE;
            w->done(w);
        } else {
            *sync_tail = w;
            sync_tail = &w->next_;
        }
    }
    if (sync_head) {
        pthread_mutex_lock(&s->mu);
        for (struct pl_store_write *w = sync_head, *nx; w; w = nx) {
            nx = w->next_;
            w->next_ = NULL;
            w->sync_done_ = SD_DONE;
        }
        pthread_cond_broadcast(&s->done);
        pthread_mutex_unlock(&s->mu);
    }
}

static void *writer_main(void *arg)
{
    struct pl_store *s = arg;
    pthread_setname_np(pthread_self(), "pl-store-writer"); /* for top/perf/gdb */
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (!s->head && !s->closing)
            pthread_cond_wait(&s->work, &s->mu);
        if (!s->head)
            break; /* closing and drained */
        /* Take up to max_batch writes, but never split an atomic group. */
        struct pl_store_write *first = s->head, *last = first;
        size_t n = 1;
        while (last->next_ && (n < s->max_batch || (last->sync_done_ & SD_GROUP_MORE))) {
            last = last->next_;
            n++;
        }
        s->head = last->next_;
        if (!s->head)
            s->tail = NULL;
        last->next_ = NULL;
        pthread_mutex_unlock(&s->mu);

        run_group(s, first, n);
        report(s, first);

        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* ------------------------------------------------------------------------------------------
 * Queueing
 * ---------------------------------------------------------------------------------------- */

static int check_write(const struct pl_store_write *w, int internal, int want_done)
{
    int prepared = w && (w->flags & PL_WRITE_PREPARED);
    if (!w || !w->id || (!internal && ((!w->apply && !prepared) || !*w->id)))
        return -1;
    if (prepared && (!w->prepared || !w->prepared_text))
        return -1;
    if (!internal && (w->flags & ~WF_PUBLIC))
        return -1;
    if ((w->flags & PL_WRITE_MUST_EXIST) && (w->flags & PL_WRITE_MUST_NOT_EXIST))
        return -1;
    if (want_done != (w->done != NULL))
        return -1;
    return 0;
}

static void reject(struct pl_store_write *w, int code, const char *detail)
{
    w->rc = pl_err_set(&w->err, code, "%s", detail);
    w->result = NULL;
    w->existed = 0;
}

/* Appends ws[0..n) to the queue as one atomic group. Returns 0 or PL_EINTERNAL when closing. */
static int enqueue(struct pl_store *s, struct pl_store_write **ws, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        ws[i]->next_ = i + 1 < n ? ws[i + 1] : NULL;
        ws[i]->sync_done_ = i + 1 < n ? SD_GROUP_MORE : 0;
        ws[i]->result = NULL;
    }
    pthread_mutex_lock(&s->mu);
    if (s->closing) {
        pthread_mutex_unlock(&s->mu);
        for (size_t i = 0; i < n; i++)
            reject(ws[i], PL_EINTERNAL, "store is closing");
        return PL_EINTERNAL;
    }
    if (s->tail)
        s->tail->next_ = ws[0];
    else
        s->head = ws[0];
    s->tail = ws[n - 1];
    pthread_cond_signal(&s->work);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

static void wait_all(struct pl_store *s, struct pl_store_write **ws, size_t n)
{
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < n; i++) {
        while (!(ws[i]->sync_done_ & SD_DONE))
            pthread_cond_wait(&s->done, &s->mu);
    }
    pthread_mutex_unlock(&s->mu);
}

static int write_sync(struct pl_store *s, struct pl_store_write *w)
{
    int rc = enqueue(s, &w, 1);
    if (rc)
        return rc;
    wait_all(s, &w, 1);
    return w->rc;
}

int pl_store_write_async(struct pl_store *s, struct pl_store_write *w)
{
    if (!s || check_write(w, 0, 1) != 0) {
        if (w)
            reject(w, PL_EINTERNAL, "invalid write");
        return PL_EINTERNAL;
    }
    prep_history(s, w);
    return enqueue(s, &w, 1);
}

int pl_store_write_sync(struct pl_store *s, struct pl_store_write *w)
{
    if (!s || check_write(w, 0, 0) != 0) {
        if (w)
            reject(w, PL_EINTERNAL, "invalid write");
        return PL_EINTERNAL;
    }
    prep_history(s, w);
    return write_sync(s, w);
}

int pl_store_write_many_sync(struct pl_store *s, struct pl_store_write **ws, size_t n)
{
    if (n == 0)
        return 0;
    int bad = !s || !ws;
    for (size_t i = 0; !bad && i < n; i++)
        bad = check_write(ws[i], 0, 0) != 0;
    if (bad) {
        for (size_t i = 0; ws && i < n; i++) {
            if (ws[i])
                reject(ws[i], PL_EINTERNAL, "invalid write in batch");
        }
        return PL_EINTERNAL;
    }
    for (size_t i = 0; i < n; i++)
        prep_history(s, ws[i]);
    int rc = enqueue(s, ws, n);
    if (rc)
        return rc;
    wait_all(s, ws, n);
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * Open / close / reads
 * ---------------------------------------------------------------------------------------- */

int pl_store_open(const struct pl_store_config *cfg, struct pl_store **out, struct pl_err *err)
{
    if (!cfg || !cfg->url || !*cfg->url || !out)
        return pl_err_set(err, PL_EINTERNAL, "store: no URL configured");
    const char *url = cfg->url, *loc;
    const struct pl_store_ops *ops;
    if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0)
        return pl_err_set(err, PL_EINTERNAL, "PostgreSQL backend not built yet");
    if (strncmp(url, "sqlite://", 9) == 0) {
        ops = &pl_store_sqlite_ops;
        loc = url + 9;
    } else if (strncmp(url, "sqlite:", 7) == 0) {
        ops = &pl_store_sqlite_ops;
        loc = url + 7;
    } else if (strstr(url, "://")) {
        return pl_err_set(err, PL_EINTERNAL, "store: unknown URL scheme in '%s'", url);
    } else {
        ops = &pl_store_sqlite_ops;
        loc = url;
    }
    if (!*loc)
        return pl_err_set(err, PL_EINTERNAL, "store: no data directory in '%s'", url);
    if (ops->version < 1)
        return pl_err_set(err, PL_EINTERNAL, "store: backend '%s' table too old", ops->name);

    struct pl_store *s = calloc(1, sizeof *s);
    if (!s)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    s->ops = ops;
    s->max_batch = cfg->max_batch > 0 ? (size_t)cfg->max_batch : DEFAULT_MAX_BATCH;
    if (cfg->history && !cfg->history->off && ops->w_hist_append)
        s->hist = cfg->history;
    int rc = ops->open(cfg, loc, &s->be, err);
    if (rc != 0) {
        free(s);
        return rc;
    }
    s->caps = ops->caps_of ? ops->caps_of(s->be) : ops->caps;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->work, NULL);
    pthread_cond_init(&s->done, NULL);
    pthread_cond_init(&s->ret_cv, NULL);
    if (pthread_create(&s->writer, NULL, writer_main, s) != 0) {
        ops->close(s->be);
        pthread_cond_destroy(&s->done);
        pthread_cond_destroy(&s->work);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return pl_err_set(err, PL_EINTERNAL, "store: cannot start the writer thread");
    }
    if ((s->hist && s->hist->n_retention && ops->w_hist_trim) || ops->expired)
        s->has_retention = pthread_create(&s->retention, NULL, retention_main, s) == 0;
    *out = s;
    return 0;
}

void pl_store_close(struct pl_store *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->closing = 1;
    pthread_cond_signal(&s->work);
    pthread_cond_signal(&s->ret_cv);
    pthread_mutex_unlock(&s->mu);
    if (s->has_retention)
        pthread_join(s->retention, NULL);
    pthread_join(s->writer, NULL);
    s->ops->close(s->be);
    pthread_cond_destroy(&s->done);
    pthread_cond_destroy(&s->ret_cv);
    pthread_cond_destroy(&s->work);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

const char *pl_store_backend_name(const struct pl_store *s)
{
    return s->ops->name;
}

unsigned pl_store_caps(const struct pl_store *s)
{
    return s->caps;
}

void pl_store_stats(const struct pl_store *s, struct pl_store_stats *out)
{
    /* The counters are atomics; reading them through a const store is fine. */
    struct pl_store *m = (struct pl_store *)s;
    out->writes = atomic_load(&m->n_writes);
    out->commits = atomic_load(&m->n_commits);
    out->groups = atomic_load(&m->n_groups);
    out->max_group = atomic_load(&m->n_max_group);
}

int pl_store_entity_get(struct pl_store *s, const char *tenant, const char *id, json_t **out,
                        struct pl_err *err)
{
    if (!s || !id || !*id || !out)
        return pl_err_set(err, PL_EINTERNAL, "entity_get: bad arguments");
    *out = NULL;
    return s->ops->entity_get(s->be, tn(tenant), id, out, err);
}

int pl_store_entity_count(struct pl_store *s, const char *tenant, int64_t *n, struct pl_err *err)
{
    if (!s || !n)
        return pl_err_set(err, PL_EINTERNAL, "entity_count: bad arguments");
    *n = 0;
    return s->ops->entity_count(s->be, tn(tenant), n, err);
}

/* ------------------------------------------------------------------------------------------
 * @context records
 * ---------------------------------------------------------------------------------------- */

static int no_apply(void *ud, json_t *cur, json_t **next, struct pl_err *err)
{
    (void)ud;
    (void)cur;
    (void)next;
    return pl_err_set(err, PL_EINTERNAL, "internal write has no apply");
}

static int ctx_write(struct pl_store *s, unsigned kind, const char *id, const json_t *rec,
                     struct pl_err *err)
{
    struct pl_store_write w;
    memset(&w, 0, sizeof w);
    w.tenant = "";
    w.id = id;
    w.flags = kind;
    w.apply = no_apply;
    w.ud = (void *)(uintptr_t)rec; /* read-only use by the backend's w_ctx_put */
    int rc = write_sync(s, &w);
    if (rc && err)
        *err = w.err;
    return rc;
}

int pl_store_ctx_put(struct pl_store *s, const json_t *rec, struct pl_err *err)
{
    const char *id = json_string_value(json_object_get(rec, "id"));
    if (!s || !json_is_object(rec) || !id || !*id)
        return pl_err_set(err, PL_EINTERNAL, "ctx_put: record without an id");
    return ctx_write(s, WF_CTX_PUT, id, rec, err);
}

int pl_store_ctx_delete(struct pl_store *s, const char *id, struct pl_err *err)
{
    if (!s || !id || !*id)
        return pl_err_set(err, PL_EINTERNAL, "ctx_delete: no id");
    return ctx_write(s, WF_CTX_DELETE, id, NULL, err);
}

static int sub_write(struct pl_store *s, unsigned kind, const char *tenant, const char *id,
                     const json_t *body, struct pl_err *err)
{
    if (!s || !id || !*id)
        return pl_err_set(err, PL_EINTERNAL, "subscription write without an id");
    struct pl_store_write w;
    memset(&w, 0, sizeof w);
    w.tenant = tenant ? tenant : "";
    w.id = id;
    w.flags = kind;
    w.apply = no_apply;
    w.ud = (void *)(uintptr_t)body; /* read-only use by the backend's w_sub_put */
    int rc = write_sync(s, &w);
    if (rc && err)
        *err = w.err;
    return rc;
}

int pl_store_sub_put(struct pl_store *s, const char *tenant, const char *id, const json_t *body,
                     struct pl_err *err)
{
    if (!json_is_object(body))
        return pl_err_set(err, PL_EINTERNAL, "sub_put: body is not an object");
    return sub_write(s, WF_SUB_PUT, tenant, id, body, err);
}

int pl_store_sub_put_many(struct pl_store *s, struct pl_store_sub_rec *recs, size_t n,
                          struct pl_err *err)
{
    if (n == 0)
        return 0;
    struct pl_store_write *w = calloc(n, sizeof *w);
    struct pl_store_write **ws = calloc(n, sizeof *ws);
    if (!s || !w || !ws) {
        free(w);
        free(ws);
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        w[i].tenant = recs[i].tenant ? recs[i].tenant : "";
        w[i].id = recs[i].id;
        w[i].flags = WF_SUB_PUT;
        w[i].apply = no_apply;
        w[i].ud = (void *)(uintptr_t)recs[i].body; /* read-only use by the backend's w_sub_put */
        ws[i] = &w[i];
    }
    int queued = enqueue(s, ws, n); /* one group: one transaction */
    if (queued == 0)
        wait_all(s, ws, n);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        recs[i].rc = queued ? queued : w[i].rc;
        if (recs[i].rc && rc == 0) {
            rc = recs[i].rc;
            if (err)
                *err = w[i].err;
        }
    }
    free(ws);
    free(w);
    return rc;
}

int pl_store_sub_delete(struct pl_store *s, const char *tenant, const char *id, struct pl_err *err)
{
    return sub_write(s, WF_SUB_DELETE, tenant, id, NULL, err);
}

int pl_store_sub_load(struct pl_store *s, json_t **out, struct pl_err *err)
{
    *out = NULL;
    if (!s->ops->sub_load)
        return pl_err_set(err, PL_EOPNOTSUPPORTED, "the %s store keeps no subscriptions",
                          s->ops->name);
    return s->ops->sub_load(s->be, out, err);
}

void pl_store_set_listener(struct pl_store *s, pl_store_listener_fn fn, void *ud)
{
    pthread_mutex_lock(&s->mu); /* the writer reads them under the same lock */
    s->listener = fn;
    s->listener_ud = ud;
    pthread_mutex_unlock(&s->mu);
}

void pl_store_want_before(struct pl_store *s, int on)
{
    atomic_store(&s->want_before, on);
}

int pl_store_wants_before(const struct pl_store *s)
{
    return need_before(s);
}

/* ------------------------------------------------------------------------------------------
 * Attribute history
 * ---------------------------------------------------------------------------------------- */

static int no_history(const struct pl_store *s, struct pl_err *err)
{
    return pl_err_set(err, PL_EOPNOTSUPPORTED, "the %s store keeps no history", s->ops->name);
}

int pl_store_hist_on(const struct pl_store *s, const char *tenant)
{
    return s->hist && !pl_strv_has(s->hist->off_tenants, s->hist->n_off_tenants, tn(tenant));
}

int pl_store_hist_entities(struct pl_store *s, const char *tenant, const char *const *ids,
                           size_t n_ids, const char *id_prefix, pl_hist_entity_fn fn, void *ud,
                           struct pl_err *err)
{
    if (!s->ops->hist_entities)
        return no_history(s, err);
    return s->ops->hist_entities(s->be, tn(tenant), ids, n_ids, id_prefix, fn, ud, err);
}

int pl_store_hist_instances(struct pl_store *s, const struct pl_hist_query *q, pl_hist_row_fn fn,
                            void *ud, struct pl_err *err)
{
    if (!s->ops->hist_instances)
        return no_history(s, err);
    return s->ops->hist_instances(s->be, q, fn, ud, err);
}

int pl_store_hist_aggregate(struct pl_store *s, const struct pl_hist_query *q,
                            const struct pl_hist_aggr *a, pl_hist_aggr_fn fn, void *ud,
                            struct pl_err *err)
{
    if (!s->ops->hist_aggregate)
        return no_history(s, err);
    return s->ops->hist_aggregate(s->be, q, a, fn, ud, err);
}

/* Runs `c` on the writer thread in its own savepoint; returns its result. */
static int call_sync(struct pl_store *s, const char *tenant, const char *id, struct wcall *c,
                     struct pl_err *err)
{
    struct pl_store_write w;
    memset(&w, 0, sizeof w);
    w.tenant = tn(tenant);
    w.id = id ? id : "";
    w.flags = WF_CALL;
    w.apply = no_apply;
    w.ud = c;
    int rc = write_sync(s, &w);
    if (rc && err)
        *err = w.err;
    return rc;
}

/* pl_store__on_writer: store_int.h */
struct on_writer_arg {
    int (*fn)(void *be, void *arg, struct pl_err *err);
    void *arg;
};

static int on_writer_run(struct pl_store *s, struct wcall *c, struct pl_err *err)
{
    struct on_writer_arg *a = c->arg;
    return a->fn(s->be, a->arg, err);
}

int pl_store__on_writer(struct pl_store *s, int (*fn)(void *be, void *arg, struct pl_err *err),
                        void *arg, struct pl_err *err)
{
    struct on_writer_arg a = {fn, arg};
    struct wcall c = {on_writer_run, &a};
    return call_sync(s, "", "", &c, err);
}

const struct pl_store_ops *pl_store__ops(const struct pl_store *s)
{
    return s->ops;
}

void *pl_store__be(const struct pl_store *s)
{
    return s->be;
}

struct hist_add_arg {
    const char *tenant, *id;
    const json_t *frag;
    int must_exist, created;
};

static int hist_add_run(struct pl_store *s, struct wcall *c, struct pl_err *err)
{
    struct hist_add_arg *a = c->arg;
    struct pl_hist_batch b = {0};
    int rc = pl_store__hist_fragment(a->frag, pl_time_now_ms(), &b);
    const json_t *types = json_object_get(a->frag, "type");
    const json_t *scope = json_object_get(a->frag, "scope");
    char *types_text = types ? json_dumps(types, JSON_COMPACT) : NULL;
    char *scope_text = scope ? json_dumps(scope, JSON_COMPACT) : NULL;
    if (rc != 0 || (types && !types_text) || (scope && !scope_text)) {
        rc = pl_err_set(err, PL_ENOMEM, "out of memory");
    } else {
        rc = s->ops->w_hist_append(s->be, a->tenant, a->id, types_text, scope_text, PL_HIST_NONE,
                                   b.rows, b.n, &a->created, err);
        if (rc == 0 && a->must_exist && a->created)
            rc = pl_err_set(err, PL_ENOTFOUND, "no temporal evolution of '%s'", a->id);
    }
    free(types_text);
    free(scope_text);
    pl_store__hist_batch_free(&b);
    return rc;
}

int pl_store_hist_add(struct pl_store *s, const char *tenant, const char *id,
                      const json_t *fragment, int must_exist, int *created, struct pl_err *err)
{
    if (!s->ops->w_hist_append)
        return no_history(s, err);
    struct hist_add_arg a = {tn(tenant), id, fragment, must_exist, 0};
    struct wcall c = {hist_add_run, &a};
    int rc = call_sync(s, tenant, id, &c, err);
    if (created)
        *created = a.created;
    return rc;
}

struct hist_del_arg {
    const char *tenant;
    const struct pl_hist_del *d;
};

static int hist_del_run(struct pl_store *s, struct wcall *c, struct pl_err *err)
{
    struct hist_del_arg *a = c->arg;
    int64_t n = 0;
    int rc = s->ops->w_hist_delete(s->be, a->tenant, a->d, &n, err);
    if (rc == 0 && n == 0)
        rc = pl_err_set(err, PL_ENOTFOUND, "no such temporal %s",
                        a->d->iid    ? "attribute instance"
                        : a->d->attr ? "attribute"
                                     : "entity");
    return rc;
}

int pl_store_hist_delete(struct pl_store *s, const char *tenant, const struct pl_hist_del *d,
                         struct pl_err *err)
{
    if (!s->ops->w_hist_delete)
        return no_history(s, err);
    struct hist_del_arg a = {tn(tenant), d};
    struct wcall c = {hist_del_run, &a};
    return call_sync(s, tenant, d->id, &c, err);
}

struct hist_patch_arg {
    const char *tenant, *id, *attr;
    int64_t iid;
    const json_t *inst;
};

static int hist_patch_run(struct pl_store *s, struct wcall *c, struct pl_err *err)
{
    struct hist_patch_arg *a = c->arg;
    return s->ops->w_hist_patch(s->be, a->tenant, a->id, a->attr, a->iid, a->inst, pl_time_now_ms(),
                                err);
}

int pl_store_hist_patch(struct pl_store *s, const char *tenant, const char *id, const char *attr,
                        int64_t iid, const json_t *instance, struct pl_err *err)
{
    if (!s->ops->w_hist_patch)
        return no_history(s, err);
    struct hist_patch_arg a = {tn(tenant), id, attr, iid, instance};
    struct wcall c = {hist_patch_run, &a};
    return call_sync(s, tenant, id, &c, err);
}

struct hist_trim_arg {
    int64_t n;
};

static int hist_trim_run(struct pl_store *s, struct wcall *c, struct pl_err *err)
{
    struct hist_trim_arg *a = c->arg;
    return s->ops->w_hist_trim(s->be, s->hist, pl_time_now_ms(), 2000, &a->n, err);
}

/* One retention step (docs/temporal.md): deletes at most a few thousand expired instances.
 * Returns how many were deleted (so the caller runs the next step soon when it was a full
 * one), or -1 on error. */
int64_t pl_store_hist_trim_step(struct pl_store *s)
{
    if (!s->hist || !s->hist->n_retention || !s->ops->w_hist_trim)
        return 0;
    struct hist_trim_arg a = {0};
    struct wcall c = {hist_trim_run, &a};
    struct pl_err err;
    pl_err_clear(&err);
    if (call_sync(s, "", "", &c, &err) != 0) {
        pl_log_warn("history retention: %s", err.detail);
        return -1;
    }
    return a.n;
}

/* One expiry step: the apply of each entity's write. */
static int expire_apply(void *ud, json_t *cur, json_t **next, struct pl_err *err)
{
    int64_t now = *(const int64_t *)ud;
    int rc = cur ? pl_store__expire(cur, now, next) : 0;
    if (rc < 0)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    if (rc == 0) /* changed meanwhile: nothing expired any more */
        return pl_err_set(err, PL_ENOTFOUND, "nothing expired");
    return 0;
}

#define EXPIRE_STEP 32

struct expired_list {
    char *tenant[EXPIRE_STEP], *id[EXPIRE_STEP];
    int n, nomem;
};

static int add_expired(void *ud, const char *tenant, const char *id)
{
    struct expired_list *l = ud;
    if (l->n == EXPIRE_STEP)
        return 1;
    l->tenant[l->n] = strdup(tenant ? tenant : "");
    l->id[l->n] = strdup(id);
    if (!l->tenant[l->n] || !l->id[l->n]) {
        free(l->tenant[l->n]);
        free(l->id[l->n]);
        l->nomem = 1;
        return 1;
    }
    l->n++;
    return 0;
}

int64_t pl_store_expire_step(struct pl_store *s, int64_t now_ms)
{
    if (!s->ops->expired)
        return 0;
    struct expired_list l = {0};
    struct pl_err err;
    pl_err_clear(&err);
    int rc = s->ops->expired(s->be, now_ms, EXPIRE_STEP, add_expired, &l, &err);
    if (rc != 0 && !l.nomem)
        pl_log_warn("expiry: %s", err.detail);
    struct pl_store_write w[EXPIRE_STEP];
    struct pl_store_write *ws[EXPIRE_STEP];
    for (int i = 0; i < l.n; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].tenant = l.tenant[i];
        w[i].id = l.id[i];
        w[i].flags = PL_WRITE_MUST_EXIST;
        w[i].apply = expire_apply;
        w[i].ud = &now_ms;
        ws[i] = &w[i];
    }
    int64_t changed = 0;
    if (l.n && pl_store_write_many_sync(s, ws, (size_t)l.n) != 0)
        pl_log_warn("expiry: the store is closing");
    for (int i = 0; i < l.n; i++) {
        if (w[i].rc == 0)
            changed++;
        json_decref(w[i].result);
        free(l.tenant[i]);
        free(l.id[i]);
    }
    return rc != 0 && !l.nomem ? -1 : changed;
}

/* Housekeeping: retention and expiry run as small writer steps, one per second, or back to
 * back (with a short pause for the writes queued meanwhile) while a step found a full budget
 * of expired instances or entities. */
static void *retention_main(void *arg)
{
    struct pl_store *s = arg;
    pthread_setname_np(pthread_self(), "pl-housekeep");
    int64_t wait_ms = 1000;
    pthread_mutex_lock(&s->mu);
    while (!s->closing) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += wait_ms / 1000;
        ts.tv_nsec += (wait_ms % 1000) * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&s->ret_cv, &s->mu, &ts);
        if (s->closing)
            break;
        pthread_mutex_unlock(&s->mu);
        int64_t n = pl_store_hist_trim_step(s);
        int64_t x = pl_store_expire_step(s, pl_time_now_ms());
        wait_ms = n >= 2000 || x >= EXPIRE_STEP ? 20 : 1000;
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int pl_store_ctx_load(struct pl_store *s, json_t **out, struct pl_err *err)
{
    if (!s || !out)
        return pl_err_set(err, PL_EINTERNAL, "ctx_load: bad arguments");
    *out = NULL;
    return s->ops->ctx_load(s->be, out, err);
}

int pl_store_entity_get_raw(struct pl_store *s, const char *tenant, const char *id, char **body,
                            size_t *len, struct pl_err *err)
{
    if (!s || !id || !*id || !body || !len)
        return pl_err_set(err, PL_EINTERNAL, "entity_get_raw: bad arguments");
    *body = NULL;
    *len = 0;
    if (s->ops->entity_get_raw)
        return s->ops->entity_get_raw(s->be, tn(tenant), id, body, len, err);
    /* A backend without the raw read: parse, then print again. */
    json_t *e;
    int rc = s->ops->entity_get(s->be, tn(tenant), id, &e, err);
    if (rc)
        return rc;
    char *z = json_dumps(e, JSON_COMPACT);
    json_decref(e);
    if (!z)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    *body = z;
    *len = strlen(z);
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * Optimistic updates and the shared serialization
 * ---------------------------------------------------------------------------------------- */
char *pl_store__types_text(const json_t *entity)
{
    const json_t *t = json_object_get(entity, "type");
    return json_is_array(t) ? json_dumps(t, JSON_COMPACT) : strdup("[]");
}

char *pl_store__geo_fingerprint(const json_t *entity)
{
    json_t *fp = json_array();
    if (!fp)
        return NULL;
    const char *name;
    json_t *insts;
    json_object_foreach((json_t *)json_object_get(entity, "attrs"), name, insts)
    {
        size_t i;
        json_t *inst;
        json_array_foreach(insts, i, inst)
        {
            const char *kind = json_string_value(json_object_get(inst, "type"));
            if (kind && strcmp(kind, "GeoProperty") == 0)
                json_array_append_new(fp, json_pack("[s,O?,O?]", name,
                                                    json_object_get(inst, "datasetId"),
                                                    json_object_get(inst, "value")));
        }
    }
    char *z = json_dumps(fp, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(fp);
    return z;
}

char *pl_store__serialize(const json_t *entity, size_t *len)
{
    char *z = json_dumps(entity, JSON_COMPACT);
    if (z)
        *len = pl_json_shorten_reals(z);
    return z;
}

int pl_store_entity_get_rev(struct pl_store *s, const char *tenant, const char *id, json_t **out,
                            int64_t *rev, struct pl_err *err)
{
    if (!s->ops->entity_get_rev)
        return pl_err_set(err, PL_EOPNOTSUPPORTED, "backend has no revisions");
    return s->ops->entity_get_rev(s->be, tn(tenant), id, out, rev, err);
}

int pl_store_prep_insert(const json_t *next, struct pl_store_write *w)
{
    pl_store_prep_release(w);
    w->prepared_text = pl_store__serialize(next, &w->prepared_len);
    w->prep_new = ix_new(next);
    if (!w->prepared_text || !w->prep_new) {
        pl_store_prep_release(w);
        return PL_ENOMEM;
    }
    w->prepared = next;
    w->expect_rev = 0;
    w->flags |= PL_WRITE_PREPARED;
    return 0;
}

int pl_store_prep_begin(struct pl_store_prep *p, const json_t *cur)
{
    p->old = ix_new(cur);
    return p->old ? 0 : PL_ENOMEM;
}

void pl_store_prep_abandon(struct pl_store_prep *p)
{
    ix_delete(p->old);
    p->old = NULL;
}

int pl_store_prep_end(struct pl_store_prep *p, const json_t *next, int64_t rev,
                      struct pl_store_write *w)
{
    pl_store_prep_release(w);
    w->prepared_text = pl_store__serialize(next, &w->prepared_len);
    w->prep_new = ix_new(next);
    w->prep_old = p->old;
    p->old = NULL;
    if (!w->prepared_text || !w->prep_new || !w->prep_old) {
        pl_store_prep_release(w);
        return PL_ENOMEM;
    }
    w->prepared = next;
    w->expect_rev = rev;
    w->flags |= PL_WRITE_PREPARED;
    return 0;
}

void pl_store_prep_release(struct pl_store_write *w)
{
    free(w->prepared_text);
    w->prepared_text = NULL;
    w->prepared = NULL;
    ix_delete(w->prep_old);
    ix_delete(w->prep_new);
    w->prep_old = w->prep_new = NULL;
    hist_prep_free(w->hist_);
    w->hist_ = NULL;
}

int pl_store_entity_query(struct pl_store *s, const struct pl_store_query *q, pl_store_row_fn row,
                          void *ud, int64_t *count, struct pl_err *err)
{
    if (!s->ops->entity_query)
        return pl_err_set(err, PL_EOPNOTSUPPORTED, "the %s store cannot query", s->ops->name);
    return s->ops->entity_query(s->be, q, row, ud, count, err);
}

int pl_store_explain(struct pl_store *s, const struct pl_store_query *q, char **out,
                     struct pl_err *err)
{
    if (!s->ops->explain)
        return pl_err_set(err, PL_EOPNOTSUPPORTED, "the %s store cannot explain", s->ops->name);
    return s->ops->explain(s->be, q, out, err);
}

int pl_store_discover(struct pl_store *s, const char *tenant, enum pl_store_discover what,
                      const char *iri, json_t **out, struct pl_err *err)
{
    if (!s->ops->discover)
        return pl_err_set(err, PL_EOPNOTSUPPORTED, "the %s store cannot discover", s->ops->name);
    return s->ops->discover(s->be, tn(tenant), what, iri, out, err);
}

int pl_store_tenant_exists(struct pl_store *s, const char *tenant)
{
    if (!tenant || !*tenant)
        return 1;
    int exists = 0;
    struct pl_err err;
    pl_err_clear(&err);
    if (!s->ops->tenant_exists || s->ops->tenant_exists(s->be, tenant, &exists, &err) != 0)
        return 0;
    return exists;
}

/* ------------------------------------------------------------------------------------------
 * Entity owners (issue 12, part authz): recorded by run_one with the creating write; these are
 * the reader and the temporal API's own recording.
 * ---------------------------------------------------------------------------------------- */
int pl_store_entity_owner(struct pl_store *s, const char *tenant, const char *id, char *buf,
                          size_t cap, struct pl_err *err)
{
    if (cap)
        buf[0] = '\0';
    if (!s->ops->owner_get)
        return pl_err_set(err, PL_ENOTFOUND, "no owner");
    return s->ops->owner_get(s->be, tn(tenant), id, buf, cap, err);
}

struct owner_set_arg {
    const char *tenant, *id, *owner;
};

static int owner_set_run(struct pl_store *s, struct wcall *c, struct pl_err *err)
{
    const struct owner_set_arg *a = c->arg;
    if (!s->ops->w_owner_put || !s->ops->w_owner_delete)
        return 0;
    if (a->owner)
        return s->ops->w_owner_put(s->be, a->tenant, a->id, a->owner, err);
    int64_t rev = 0; /* in the writer's transaction: the entity cannot appear meanwhile */
    int rc = s->ops->w_entity_rev(s->be, a->tenant, a->id, &rev, err);
    if (rc != PL_ENOTFOUND)
        return rc;
    pl_err_clear(err);
    return s->ops->w_owner_delete(s->be, a->tenant, a->id, err);
}

int pl_store_entity_owner_set(struct pl_store *s, const char *tenant, const char *id,
                              const char *owner, struct pl_err *err)
{
    if (owner && !owner[0])
        return 0;
    struct owner_set_arg a = {tn(tenant), id, owner};
    struct wcall c = {owner_set_run, &a};
    return call_sync(s, tenant, id, &c, err);
}
