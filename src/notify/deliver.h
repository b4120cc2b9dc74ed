/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deliver.h — the notification delivery engine: sends notification bodies to HTTP(S) endpoints
 * (libcurl multi, keep-alive) and MQTT brokers (libmosquitto), asynchronously.
 *
 * Model:
 *  - An ENDPOINT is "scheme://host:port" for HTTP(S), and "scheme://[user@]host:port" plus the
 *    MQTT protocol version for MQTT (one client connection per broker, credentials and version).
 *    Each endpoint has its own bounded queue (max_queue_per_endpoint messages accepted and not yet
 *    finished), its own in-flight limit and its own backoff: a slow or dead endpoint fills only
 *    its own queue and never delays another endpoint.
 *  - Messages of one endpoint with the same `key` (the entity id) are delivered one at a time, in
 *    submission order, including across retries; different keys may be in flight together (up
 *    to max_inflight_per_endpoint).
 *  - HTTP: POST, HTTP/1.1, connections kept alive and reused; 2xx is success; 408, 425, 429,
 *    5xx, timeouts and transport errors are retried; any other status fails the message at once
 *    (the endpoint answered: retrying the same request cannot help). MQTT: PUBLISH with the
 *    message's QoS; success when written (QoS 0), at PUBACK (QoS 1) or PUBCOMP (QoS 2). A lost
 *    broker connection fails the attempts in flight on it (they are retried); while the broker
 *    cannot be reached, attempts fail at once and the endpoint backs off.
 *  - After a failed attempt the endpoint backs off (retry_base_ms * 2^(attempt-1), capped at
 *    retry_max_ms, with a little jitter), then sends one attempt at a time until one succeeds.
 *    After 1 + max_retries failed attempts the message fails.
 *  - Every accepted message gets exactly one `done` call: success, final failure, or failure at
 *    pl_deliver_stop. Nothing accepted is silently lost; a healthy endpoint gets every message
 *    exactly once (HTTP: a request whose answer was lost to a timeout may be sent again, as with
 *    any at-least-once retry).
 *
 * Threading: one delivery thread owns the curl multi handle and every endpoint; each MQTT broker
 * connection has its own small thread running the libmosquitto loop (connect, which resolves
 * the host name and may block, keep-alive pings, acks), so a slow broker can block only itself.
 * Publishes are issued from the delivery thread; completions come back to it through a queue.
 * pl_deliver_submit, pl_deliver_stats and pl_deliver_endpoint_info may be called from any thread,
 * but not concurrently with or after pl_deliver_stop (except from `done` callbacks, where a
 * submit during stop is refused).
 *
 * Resources: memory is bounded per endpoint by max_queue_per_endpoint messages; up to
 * max_inflight_per_endpoint connections per HTTP endpoint and one per MQTT broker are open at a
 * time, and at most 1024 idle HTTP connections are kept alive in all (beyond that the oldest
 * idle one is closed): size RLIMIT_NOFILE accordingly. An endpoint idle for a minute is
 * forgotten (its MQTT connection closed), an idle MQTT endpoint superseded by another one for
 * the same broker with other credentials (a subscription's changed) within GC_EVERY_MS.
 * MQTT: a message waiting for a broker that was away asks for a reconnection at once (at most
 * once a second) and waits for it like for a first connection.
 */
#ifndef PL_NOTIFY_DELIVER_H
#define PL_NOTIFY_DELIVER_H

#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "net/guard.h"

struct pl_deliver; /* opaque: the delivery thread and its state */

/* Every field <= 0 takes its default (max_retries: 0 = default, negative = no retry). */
struct pl_deliver_config {
    int max_queue_per_endpoint;    /* accepted and unfinished messages per endpoint (10000) */
    int timeout_ms;                /* one attempt: HTTP request including connect, or MQTT
                                      publish until its ack; also the MQTT connect (5000) */
    int max_inflight_per_endpoint; /* concurrent attempts per endpoint (8) */
    int retry_base_ms;             /* backoff after the first failed attempt (100) */
    int retry_max_ms;              /* backoff cap (30000) */
    int max_retries;               /* retries after the first attempt, then the message fails
                                      (5; negative = no retry) */
    int stop_grace_ms; /* pl_deliver_stop keeps delivering for at most this long (2000) */
    struct pl_guard *guard; /* outbound guard of every connection (borrowed: must outlive the
                               engine; MQTT connection threads take their own reference);
                               NULL = the guard's defaults. A connection the guard refuses fails
                               its message at once (no retry), counted in `refused`. */
};

/* Starts the delivery thread. Returns 0 and *out (stop and free with pl_deliver_stop), or
 * PL_EINTERNAL / PL_ENOMEM with words in `err`. `cfg` is copied; NULL = all defaults. */
int pl_deliver_start(const struct pl_deliver_config *cfg, struct pl_deliver **out,
                     struct pl_err *err);

/*
 * Refuses new messages, keeps delivering for at most stop_grace_ms (returns sooner once nothing
 * is pending), then fails every message still pending (done(ok=0, error "delivery stopped")),
 * closes the connections, joins the threads and frees `d`. Must not be called from a `done`
 * callback. NULL is a no-op.
 */
void pl_deliver_stop(struct pl_deliver *d);

/*
 * One message to send. Owned fields (malloc'd; see pl_deliver_submit): uri, body, headers (the
 * array and each string), key. Copied: content_type. Borrowed: ud.
 */
struct pl_deliver_msg {
    char *uri;  /* "http(s)://host[:port]/path" or "mqtt(s)://[user:pass@]host[:port]/topic" */
    char *body; /* the payload; `len` bytes (need not be NUL-terminated; may be NULL if len 0) */
    size_t len;
    const char *content_type; /* e.g. "application/ld+json"; NULL = "application/json"
                                 (HTTP Content-Type; MQTT 5 content-type property) */
    char **headers;           /* "Name: value" lines (Link, NGSILD-Tenant, receiverInfo...):
                                 HTTP request headers; MQTT v5 user properties; ignored on
                                 MQTT 3.1.1 (the NGSI-LD MQTT binding carries them in the
                                 payload's "metadata": the caller formats the payload) */
    size_t n_headers;
    char *key;    /* ordering key (the entity id); NULL = "" (all such messages are ordered) */
    int mqtt_qos; /* 0, 1 or 2 (MQTT only) */
    int mqtt_v5;  /* 1 = MQTT 5, 0 = MQTT 3.1.1 (MQTT only) */
    /* Called exactly once on the delivery thread: ok=1 delivered, ok=0 failed for good (after
     * retries, a non-retryable answer, or at stop). http_status: last HTTP status (0 for MQTT
     * or when there was no answer); error: NULL on success, else a short text valid during the
     * call. Must not block and must not call pl_deliver_stop. May call pl_deliver_submit. */
    void (*done)(void *ud, int ok, int http_status, const char *error);
    void *ud;
};

/*
 * Queues `m` for its endpoint. Never blocks on the network (a short mutex only). Thread-safe.
 * Returns 0: the engine took ownership of the owned fields and set them to NULL in *m; `done`
 * will be called once. Otherwise nothing was taken (call pl_deliver_msg_dispose) and `done` is
 * not called: PL_ETOOLARGE the endpoint's queue is full (counted in `dropped`),
 * PL_EBADREQUESTDATA an unusable uri (scheme, host, empty MQTT topic, qos), PL_EINTERNAL the
 * engine is stopping, PL_ENOMEM.
 */
int pl_deliver_submit(struct pl_deliver *d, struct pl_deliver_msg *m);

/* Frees the owned fields of `m` that are still set and sets them to NULL (not `m` itself). */
void pl_deliver_msg_dispose(struct pl_deliver_msg *m);

struct pl_deliver_stats {
    uint64_t sent;    /* messages delivered */
    uint64_t failed;  /* messages failed for good (done ok=0) */
    uint64_t retried; /* failed attempts that were retried */
    uint64_t dropped; /* submits refused because the endpoint queue was full */
    uint64_t queued;  /* accepted and not yet finished, now */
    uint64_t refused; /* messages failed because the outbound guard refused the connection */
};

/* A consistent-enough snapshot of the counters (each one exact). Thread-safe. */
void pl_deliver_stats(struct pl_deliver *d, struct pl_deliver_stats *out);

/* The state of the endpoint a uri belongs to, for a subscription's status. */
struct pl_deliver_endpoint_info {
    size_t queued;            /* accepted and unfinished messages */
    int inflight;             /* attempts in progress */
    int consecutive_failures; /* failed attempts since the last success (0 = healthy) */
    int64_t backoff_ms;       /* how long until the next attempt may start (0 = now) */
    int64_t last_success;     /* wall clock, ms since the epoch; 0 = never */
    int64_t last_failure;     /* wall clock, ms since the epoch; 0 = never */
    char last_error[160];     /* the last failed attempt's reason, "" if none */
};

/* Returns 1 and fills *out when the endpoint of `uri` is known, 0 when it is not (no message for
 * it within about the last minute), or PL_EBADREQUESTDATA. Thread-safe. */
int pl_deliver_endpoint_info(struct pl_deliver *d, const char *uri,
                             struct pl_deliver_endpoint_info *out);

#endif
