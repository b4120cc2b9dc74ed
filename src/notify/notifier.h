/* SPDX-License-Identifier: Apache-2.0 */
/*
 * notifier.h — subscriptions at run time (NGSI-LD 5.8): the registry of active subscriptions,
 * matching of entity changes against them, and handing notifications to the delivery engine
 * (notify/deliver.h).
 *
 * Flow: the store's writer hands every committed entity change to pl_notifier's listener, which
 * only queues it (a reference to before/after: the write path never waits for matching). The
 * notifier thread takes the queue in commit order, computes once per change what it changed
 * (pl_sub_change), finds the candidate subscriptions by tenant and entity type (hash lookups),
 * matches each (pl_sub_match_change: a few string compares), and appends the change to the
 * waiting list of each subscription that fires.
 *
 * BATCHING. A subscription has at most one notification in the delivery engine at a time;
 * while it is in flight the changes it matches wait, and the next notification carries all of
 * them (up to batch_max, in commit order: "data" holds one entity per change, so an entity
 * changed twice appears twice, in order). An idle subscription notifies a change at once (no
 * timer, no added latency); a busy one sends fewer, larger notifications instead of queueing or
 * dropping one per change. The ordering key is the subscription, so its notifications, retries
 * included, arrive in order: per entity, changes arrive in the order of the updates. A change is
 * rendered once per rendering signature and @context (pl_sub_render_sig) and the text shared by
 * every subscription that renders alike; only the envelope is built per subscription. A
 * subscription whose endpoint does not keep up holds at most pend_max waiting changes: beyond,
 * the oldest are dropped, counted (/metrics "dropped", the subscription's lastError, a
 * rate-limited warning) and shown as a failure in its status (timesFailed, lastFailure, at most
 * once a second). Its neighbours are not affected: each has its own list and the engine a queue
 * per endpoint. batch_max 1 gives one notification per change, ordered by entity id, several
 * in flight per endpoint (the engine's window). THROTTLING (5.2.12: at least `throttling`
 * seconds between two notifications) uses the same list: the changes made inside the period
 * wait and go together in the notification sent when it ends (none is dropped for it).
 *
 * WHICH FORM JUDGES A CHANGE. Matching runs after the commit, possibly much later under load;
 * a change is nevertheless judged by the subscription as it was when the change was committed.
 * The listener numbers the changes in commit order (before the write returns to its client).
 * A new subscription ignores changes numbered up to its creation; a PATCH keeps the replaced
 * form ("retired") for the changes numbered up to the PATCH that are not matched yet, and the
 * new form takes the later ones. So a paused subscription is not notified, after its resume,
 * of the changes made while it was paused, and a creation just before a subscription is not
 * notified to it.
 *
 * Subscriptions are persisted in the store (pl_store_sub_*) before they are installed, and
 * loaded at start: a subscription survives restarts. Installing happens under the registry lock
 * that the notifier thread takes per event, so a subscription created while updates flow
 * matches every change committed after its creation returned.
 *
 * PERSISTENCE OF THE STATUS COUNTERS (timesSent, timesFailed, lastNotification, lastSuccess,
 * lastFailure; notification.status follows from the last two). Writing them per notification
 * would cost one store write per notification, as many as the entity writes that cause them or
 * more. Instead each subscription's counters carry a change generation, and every
 * PL_NOTIFIER_FLUSH_MS the notifier thread (from its one-second tick) writes the stored form
 * of each subscription whose counters changed since their last write (pl_sub_stored_set_status:
 * the subscription as installed now, plus the counters), all in one store transaction
 * (pl_store_sub_put_many: a thousand busy subscriptions cost one commit every
 * PL_NOTIFIER_FLUSH_MS, not a thousand); pl_notifier_stop does it once more
 * after the last delivery result, and POST / PATCH store the counters with the form they write.
 * So a clean stop loses nothing, and a crash (or power loss) loses at most the counter changes
 * of the last flush interval plus the flush in progress: timesSent and the others may then be
 * lower after the restart than the notifications actually sent. A failed write (disk full)
 * leaves the subscription dirty; the next flush tries again. The flush chooses what to write
 * and writes it under the registry's read lock: DELETE and PATCH take the write lock (and wait
 * for that one commit), so a flush never brings a deleted subscription back and never writes
 * an older form over a PATCH. The counters are shared by the entries a PATCH
 * swaps in, so deliveries in flight during a PATCH still count.
 */
#ifndef PL_NOTIFY_NOTIFIER_H
#define PL_NOTIFY_NOTIFIER_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "notify/deliver.h"
#include "subs/subscription.h"

#define PL_NOTIFIER_FLUSH_MS 2000 /* status counters are written at most this long after a change */

struct pl_store;
struct pl_ctxreg;
struct pl_notifier; /* opaque */

/*
 * OWNERS' READ SCOPE (docs/security.md "Tenants and secrets"): a subscription never notifies
 * what its owner (pl_sub.owner, the principal as it was at creation) may not read. For each
 * change a subscription with an owner would match, the notifier asks `scope` about the entity
 * before and after the change: PL_SCOPE_NONE for either side and the subscription is not
 * notified of the change at all (types it may not read); PL_SCOPE_VIEW and the change is
 * matched and rendered on *view (a NEW reference without the attributes it may not read, e.g.
 * private ones), so a change of a hidden attribute triggers nothing either; PL_SCOPE_ALL and it
 * goes as it is. Periodic notifications ask the same of each entity. Called on the notifier
 * thread, must not block on the network.
 */
struct pl_principal;
enum { PL_SCOPE_NONE = 0, PL_SCOPE_ALL = 1, PL_SCOPE_VIEW = 2 };
typedef int (*pl_notifier_scope_fn)(void *ud, const struct pl_principal *owner,
                                    const char *tenant, const json_t *entity, json_t **view);

struct pl_notifier_config {
    struct pl_store *store;           /* borrowed; must outlive the notifier */
    struct pl_ctxreg *ctxreg;         /* borrowed: resolves subscriptions' @contexts */
    struct pl_deliver_config deliver; /* zero = defaults */
    size_t max_queue;                 /* change events waiting for matching (0: 20000) */
    size_t batch_max; /* changes per notification (0: 1000; 1: one notification per change) */
    size_t pend_max;  /* changes waiting per subscription (0: 10000) */
    pl_notifier_scope_fn scope; /* owners' read scope (NULL: owners read everything) */
    void *scope_ud;
};

/* Loads the stored subscriptions, starts the delivery engine and the notifier thread, and
 * listens to the store. Returns 0 and *out, or an error. */
int pl_notifier_start(const struct pl_notifier_config *cfg, struct pl_notifier **out,
                      struct pl_err *err);
/* Stops listening, delivers what it can within the engine's grace period, frees. */
void pl_notifier_stop(struct pl_notifier *n);

/* Persists and installs a NEW subscription (ownership of `s` passes to the notifier on success;
 * s->id must be set). PL_EALREADYEXISTS when the id exists in the tenant. */
int pl_notifier_add(struct pl_notifier *n, const char *tenant, struct pl_sub *s,
                    struct pl_err *err);
/* PATCH: under the registry's write lock, calls fn with the installed subscription (`cur`,
 * borrowed), which returns 0 and a NEW subscription in *out (or an error in err), then persists
 * and swaps it in, keeping the status counters. Concurrent updates of one subscription apply one
 * after the other. PL_ENOTFOUND when absent; fn's error as it returned it. fn must not call the
 * notifier. */
typedef int (*pl_notifier_update_fn)(void *ud, const struct pl_sub *cur, struct pl_sub **out,
                                     struct pl_err *err);
int pl_notifier_update(struct pl_notifier *n, const char *tenant, const char *id,
                       pl_notifier_update_fn fn, void *ud, struct pl_err *err);
/* Deletes (store and registry). PL_ENOTFOUND when absent. */
int pl_notifier_remove(struct pl_notifier *n, const char *tenant, const char *id,
                       struct pl_err *err);
/* The same when `allow` (called under the registry's write lock with the installed subscription;
 * it must not call the notifier) returns 0; else nothing is deleted and its error returned. */
typedef int (*pl_notifier_check_fn)(void *ud, const struct pl_sub *cur, struct pl_err *err);
int pl_notifier_remove_if(struct pl_notifier *n, const char *tenant, const char *id,
                          pl_notifier_check_fn allow, void *ud, struct pl_err *err);
/* Deletes every subscription of `tenant` (store and registry; deleting a tenant). Returns 0 and
 * *n_removed, or the first store error (the ones removed before it stay removed). */
int pl_notifier_remove_tenant(struct pl_notifier *n, const char *tenant, size_t *n_removed,
                              struct pl_err *err);
/* How many subscriptions `tenant` has. */
size_t pl_notifier_count(struct pl_notifier *n, const char *tenant);

/* Calls fn with the subscription and its status under the registry's read lock (fn must not
 * call the notifier). PL_ENOTFOUND when absent. */
typedef void (*pl_notifier_visit_fn)(void *ud, const struct pl_sub *s,
                                     const struct pl_sub_status *st);
int pl_notifier_with(struct pl_notifier *n, const char *tenant, const char *id,
                     pl_notifier_visit_fn fn, void *ud);
/* Visits the tenant's subscriptions in id order, skipping `offset`, at most `limit`; returns
 * how many the tenant has. */
size_t pl_notifier_list(struct pl_notifier *n, const char *tenant, size_t offset, size_t limit,
                        pl_notifier_visit_fn fn, void *ud);

/* Writes the status counters of every subscription whose counters changed since their last
 * write (see PERSISTENCE), all in one store transaction, now. The notifier thread calls it every
 * PL_NOTIFIER_FLUSH_MS and pl_notifier_stop at the end; tests call it to force a flush.
 * Thread-safe; blocks for the store writes. */
void pl_notifier_flush(struct pl_notifier *n);

/* Counters for tests and benchmarks. */
struct pl_notifier_stats {
    uint64_t events;        /* changes received */
    uint64_t matched;       /* (change, subscription) pairs that fired */
    uint64_t submitted;     /* notifications handed to the delivery engine */
    uint64_t dropped;       /* changes or notifications lost: change queue full, waiting list
                               full, not queued by the engine, stopped */
    uint64_t status_writes; /* subscriptions' status counters written (pl_notifier_flush) */
    uint64_t status_failed; /* ... and writes that failed (retried at the next flush) */
};
void pl_notifier_stats(struct pl_notifier *n, struct pl_notifier_stats *out);
/* For GET /metrics: the counters above, the delivery engine's, and per subscription its
 * counters, the cause of its last failure (kept out of the NGSI-LD representation),
 * "statusSaved" (true when the store holds the counters shown), "waiting" (changes matched and
 * not yet handed to delivery, BATCHING) and "inFlight" (its notifications in delivery). NEW
 * reference. */
json_t *pl_notifier_metrics(struct pl_notifier *n);

#endif
