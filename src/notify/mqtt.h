/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mqtt.h — internal to notify/: one MQTT broker connection for the delivery engine (deliver.c).
 *
 * Each connection runs its own thread: it creates a libmosquitto client, connects (blocking:
 * name resolution and TCP connect happen in that thread only), runs mosquitto_loop until the
 * connection drops or the connection is stopped, then destroys the client and reconnects with
 * exponential backoff, capped at one second so that a restarted broker is reached again
 * promptly; pl_mqtt_conn_kick ends a backoff early when a message waits. Every (re)connection is a
 * new GENERATION with a fresh client (clean session), so nothing of a dead connection is ever
 * resent behind the engine's back: messages in flight on a lost connection are reported as lost
 * (PL_MQTT_EV_DOWN) and the engine retries.
 *
 * Events go to the `sink` callback, called on the connection's thread with an internal lock
 * held: it must only queue the event and wake the engine (never call back into this module).
 */
#ifndef PL_NOTIFY_MQTT_H
#define PL_NOTIFY_MQTT_H

#include <stddef.h>

#include "net/guard.h"

enum pl_mqtt_ev_kind {
    PL_MQTT_EV_UP = 1,    /* CONNACK accepted: publishing is possible */
    PL_MQTT_EV_DOWN,      /* a connection attempt failed or the connection was lost */
    PL_MQTT_EV_PUBLISHED, /* `mid` completed (QoS 0 written, QoS 1 PUBACK, QoS 2 PUBCOMP) */
};

struct pl_mqtt_ev {
    int kind;
    unsigned gen; /* the connection generation the event belongs to */
    int mid;
    int refused; /* PL_MQTT_EV_DOWN: the outbound guard refused the broker's address */
    char error[160];
};

struct pl_mqtt_params {
    const char *host; /* without IPv6 brackets */
    int port;
    const char *user, *pass; /* NULL = none */
    int tls;                 /* mqtts: TLS with the OS CA certificates */
    int v5;                  /* MQTT 5 rather than 3.1.1 */
    int connect_timeout_ms;  /* CONNECT until CONNACK */
    int retry_base_ms, retry_max_ms;
    struct pl_guard *guard; /* each connection resolves the host itself, checks every address
                               and connects to the checked one; the connection holds a
                               reference (NULL = the guard's defaults) */
    void (*sink)(void *owner, const struct pl_mqtt_ev *ev);
    void *owner;
};

struct pl_mqtt_conn; /* opaque */

/* Copies `p` and starts the connection thread. Returns 0 and *out, or -1 (words in errbuf). */
int pl_mqtt_conn_start(const struct pl_mqtt_params *p, struct pl_mqtt_conn **out, char *errbuf,
                       size_t errlen);

/*
 * Publishes on the current connection (thread-safe; never waits for the network). `headers`
 * ("Name: value") become MQTT 5 user properties and `content_type` the content-type property
 * (both ignored on 3.1.1). Returns 0 with *mid and *gen set, or -1 with words in errbuf (not
 * connected, invalid topic...).
 */
int pl_mqtt_conn_publish(struct pl_mqtt_conn *c, const char *topic, const void *payload, size_t len,
                         int qos, const char *content_type, char *const *headers, size_t n_headers,
                         int *mid, unsigned *gen, char *errbuf, size_t errlen);

/* Ends the reconnection backoff now, if there is one (thread-safe, never waits): a message is
 * waiting for the connection. */
void pl_mqtt_conn_kick(struct pl_mqtt_conn *c);

/*
 * Stops the connection: no event is delivered to the sink once this returns. Waits up to
 * `wait_ms` for the thread to end (0 = do not wait); a thread still blocked (e.g. in connect)
 * is detached and frees its own state when it ends.
 */
void pl_mqtt_conn_stop(struct pl_mqtt_conn *c, int wait_ms);

#endif
