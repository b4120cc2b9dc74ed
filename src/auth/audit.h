/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit.h — the audit log's recorder (docs/security.md "Audit log"): every write and every
 * authentication or authorization failure, recorded from the HTTP front's response hook
 * without slowing the request that caused it.
 *
 * pl_audit_on_response (the hook) copies what it records into a BOUNDED queue and returns: it
 * never blocks and never waits for storage. A background thread takes the queue every
 * FLUSH_MS (or sooner when it fills up) and appends it in ONE writer step
 * (pl_store_audit_append: one savepoint in the writer's next group commit, however many rows).
 * When the queue is full (the store cannot keep up, or is failing), new rows are DROPPED and
 * counted (pl_audit_stats, /metrics "audit.dropped", a rate-limited warning): the audit log never
 * holds up writes and never grows memory without bound. The same thread runs retention: rows
 * older than the configured duration are removed in steps of at most 5000.
 */
#ifndef PL_AUTH_AUDIT_H
#define PL_AUTH_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct pl_store;
struct pl_req;
struct pl_audit; /* opaque */

struct pl_audit_config {
    struct pl_store *store; /* borrowed; outlives the recorder */
    int64_t retention_ms;   /* rows older than this are removed (0: kept forever) */
    size_t max_queue;       /* rows waiting for storage before new ones are dropped (0: 10000) */
};

/* Parses --audit-retention: an ISO 8601 duration (a month counts 30 days), "" = P90D, "0" =
 * forever. 0 or PL_EBADREQUESTDATA with words. */
int pl_audit_retention_parse(const char *s, int64_t *ms, struct pl_err *err);

int pl_audit_start(const struct pl_audit_config *cfg, struct pl_audit **out, struct pl_err *err);
/* Writes what is queued, stops the thread, frees. NULL is a no-op. */
void pl_audit_stop(struct pl_audit *a);

/* The HTTP response hook (pl_http_config.on_response): records the request when it is a write
 * (POST, PUT, PATCH, DELETE; not the two query POSTs, which are reads) or was answered 401 or
 * 403, with the principal, tenant, time, method, path, entity ids and status. Uses
 * r->app->audit; nothing when it is NULL. */
void pl_audit_on_response(struct pl_req *r);

/* Writes everything queued so far, now (the audit API reads after it; tests). */
void pl_audit_flush(struct pl_audit *a);

struct pl_audit_stats {
    uint64_t recorded; /* rows written to the store */
    uint64_t dropped;  /* rows lost: queue full, or a store write failed */
    uint64_t trimmed;  /* rows removed by retention */
};
void pl_audit_stats(struct pl_audit *a, struct pl_audit_stats *out);

#endif
