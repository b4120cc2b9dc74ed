/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mqtt.c — one MQTT broker connection with its own thread (see mqtt.h).
 */
#include "notify/mqtt.h"

#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MQTT_KEEPALIVE_S 30
#define MQTT_LOOP_MS     100 /* mosquitto_loop wait: bounds how long a stop request waits */
/* Reconnection backoff cap: a broker back from a restart is reached within a second, however
 * long it was away (an attempt is one TCP connect, cheap for both sides). */
#define MQTT_RECONNECT_MAX_MS 1000

/*
 * Locks: `mu` guards `mosq` (publish vs. destroy), `refs` and the backoff wait; `sink_mu` guards
 * the sink. libmosquitto callbacks take only `sink_mu` (never `mu`: a publish holds `mu` while
 * inside libmosquitto, which may need locks the loop holds during callbacks).
 */
struct pl_mqtt_conn {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled on stop and kick (interrupts the reconnect backoff) */
    int refs;          /* the owner's and the thread's */
    atomic_int stop;
    atomic_int kick; /* a message waits: reconnect now rather than at the end of the backoff */
    struct mosquitto *mosq;  /* the current client, NULL between connections */
    atomic_uint gen;         /* generation of `mosq` (written by the connection thread only) */
    atomic_int up;           /* CONNACK accepted on `mosq` */
    char connack_error[100]; /* connection thread only */
    pthread_mutex_t sink_mu;
    void (*sink)(void *owner, const struct pl_mqtt_ev *ev); /* NULL once stopped */
    void *owner;
    pthread_t th;
    /* immutable after start */
    char *host, *user, *pass;
    struct pl_guard *guard; /* a reference (released in conn_free); NULL = defaults */
    int port, tls, v5, connect_timeout_ms, retry_base_ms, retry_max_ms;
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init_once(void)
{
    mosquitto_lib_init();
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void conn_free(struct pl_mqtt_conn *c)
{
    pthread_mutex_destroy(&c->mu);
    pthread_mutex_destroy(&c->sink_mu);
    pthread_cond_destroy(&c->cv);
    free(c->host);
    free(c->user);
    free(c->pass);
    pl_guard_unref(c->guard);
    free(c);
}

static void conn_unref(struct pl_mqtt_conn *c)
{
    pthread_mutex_lock(&c->mu);
    int last = --c->refs == 0;
    pthread_mutex_unlock(&c->mu);
    if (last)
        conn_free(c);
}

/* Sends an event to the owner (if not stopped). Called on the connection thread. */
static void emit(struct pl_mqtt_conn *c, int kind, unsigned gen, int mid, const char *error,
                 int refused)
{
    struct pl_mqtt_ev ev = {.kind = kind, .gen = gen, .mid = mid, .refused = refused};
    if (error)
        snprintf(ev.error, sizeof ev.error, "%s", error);
    pthread_mutex_lock(&c->sink_mu);
    if (c->sink)
        c->sink(c->owner, &ev);
    pthread_mutex_unlock(&c->sink_mu);
}

/* libmosquitto callbacks: on the connection thread, inside mosquitto_loop. */
static void on_connect(struct mosquitto *m, void *obj, int rc)
{
    (void)m;
    struct pl_mqtt_conn *c = obj;
    if (rc == 0) {
        atomic_store(&c->up, 1);
        emit(c, PL_MQTT_EV_UP, atomic_load(&c->gen), 0, NULL, 0);
    } else {
        snprintf(c->connack_error, sizeof c->connack_error, "mqtt: connection refused: %s",
                 mosquitto_connack_string(rc));
    }
}

static void on_publish(struct mosquitto *m, void *obj, int mid)
{
    (void)m;
    struct pl_mqtt_conn *c = obj;
    emit(c, PL_MQTT_EV_PUBLISHED, atomic_load(&c->gen), mid, NULL, 0);
}

static struct mosquitto *client_new(struct pl_mqtt_conn *c)
{
    struct mosquitto *m = mosquitto_new(NULL, true, c);
    if (!m)
        return NULL;
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION,
                         c->v5 ? MQTT_PROTOCOL_V5 : MQTT_PROTOCOL_V311);
    mosquitto_threaded_set(m, true);
    /* Our own in-flight limit applies; let libmosquitto send whatever we give it. */
    mosquitto_max_inflight_messages_set(m, 0);
    if (c->user)
        mosquitto_username_pw_set(m, c->user, c->pass);
    if (c->tls)
        mosquitto_int_option(m, MOSQ_OPT_TLS_USE_OS_CERTS, 1);
    mosquitto_connect_callback_set(m, on_connect);
    mosquitto_publish_callback_set(m, on_publish);
    return m;
}

/* Sleeps up to ms unless stopped. Returns 1 when stopped. */
static int backoff_wait(struct pl_mqtt_conn *c, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&c->mu);
    while (!atomic_load(&c->stop) && !atomic_load(&c->kick)) {
        if (pthread_cond_timedwait(&c->cv, &c->mu, &ts) == ETIMEDOUT)
            break;
    }
    pthread_mutex_unlock(&c->mu);
    return atomic_load(&c->stop);
}

static void err_text(int rc, char *buf, size_t n)
{
    if (rc == MOSQ_ERR_ERRNO)
        snprintf(buf, n, "mqtt: %s", strerror(errno));
    else
        snprintf(buf, n, "mqtt: %s", mosquitto_strerror(rc));
}

static void *conn_main(void *arg)
{
    struct pl_mqtt_conn *c = arg;
    int failures = 0;
    while (!atomic_load(&c->stop)) {
        char error[160] = "";
        int refused = 0;
        atomic_store(&c->kick, 0);
        struct mosquitto *m = client_new(c);
        if (!m) {
            snprintf(error, sizeof error, "mqtt: out of memory");
        } else {
            c->connack_error[0] = '\0';
            atomic_store(&c->up, 0);
            atomic_fetch_add(&c->gen, 1);
            pthread_mutex_lock(&c->mu);
            c->mosq = m;
            pthread_mutex_unlock(&c->mu);
            /* The outbound guard: resolve here, check every address, connect to the checked
             * one (plain MQTT) or, with TLS (which must verify the name), by name and then check
             * the peer before anything is sent: libmosquitto in threaded mode sends CONNECT, and
             * with it the credentials, only from mosquitto_loop. Each reconnection checks again. */
            char ip[64];
            int rc = MOSQ_ERR_UNKNOWN;
            if (pl_guard_resolve(c->guard, c->host, ip, sizeof ip, &refused, error,
                                 sizeof error) == 0) {
                rc = mosquitto_connect(m, c->tls ? c->host : ip, c->port, MQTT_KEEPALIVE_S);
                if (rc != MOSQ_ERR_SUCCESS)
                    err_text(rc, error, sizeof error);
                else if (pl_guard_check_peer(c->guard, mosquitto_socket(m), error,
                                             sizeof error) != 0)
                    rc = MOSQ_ERR_UNKNOWN, refused = 1;
            }
            if (rc == MOSQ_ERR_SUCCESS) {
                long long deadline = mono_ms() + c->connect_timeout_ms;
                while (!atomic_load(&c->stop)) {
                    rc = mosquitto_loop(m, MQTT_LOOP_MS, 1);
                    if (rc != MOSQ_ERR_SUCCESS) {
                        err_text(rc, error, sizeof error);
                        break;
                    }
                    if (atomic_load(&c->up)) {
                        failures = 0;
                    } else if (mono_ms() > deadline) {
                        snprintf(error, sizeof error, "mqtt: no CONNACK within %d ms",
                                 c->connect_timeout_ms);
                        break;
                    }
                }
            }
            unsigned gen = atomic_load(&c->gen);
            if (c->connack_error[0])
                snprintf(error, sizeof error, "%s", c->connack_error);
            atomic_store(&c->up, 0);
            pthread_mutex_lock(&c->mu);
            c->mosq = NULL; /* no publish can reach `m` any more */
            pthread_mutex_unlock(&c->mu);
            if (atomic_load(&c->stop))
                mosquitto_disconnect(m);
            mosquitto_destroy(m);
            if (atomic_load(&c->stop))
                break;
            emit(c, PL_MQTT_EV_DOWN, gen, 0, error[0] ? error : "mqtt: connection lost", refused);
        }
        long long cap =
            c->retry_max_ms < MQTT_RECONNECT_MAX_MS ? c->retry_max_ms : MQTT_RECONNECT_MAX_MS;
        long long ms = c->retry_base_ms;
        for (int i = 0; i < failures && ms < cap; i++)
            ms *= 2;
        if (ms > cap)
            ms = cap;
        failures++;
        if (backoff_wait(c, (int)ms))
            break;
    }
    conn_unref(c);
    return NULL;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

int pl_mqtt_conn_start(const struct pl_mqtt_params *p, struct pl_mqtt_conn **out, char *errbuf,
                       size_t errlen)
{
    pthread_once(&lib_once, lib_init_once);
    struct pl_mqtt_conn *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(errbuf, errlen, "mqtt: out of memory");
        return -1;
    }
    pthread_mutex_init(&c->mu, NULL);
    pthread_mutex_init(&c->sink_mu, NULL);
    pthread_cond_init(&c->cv, NULL);
    c->refs = 2;
    c->host = strdup(p->host);
    c->user = dup_or_null(p->user);
    c->pass = dup_or_null(p->pass);
    c->port = p->port;
    c->tls = p->tls;
    c->v5 = p->v5;
    c->connect_timeout_ms = p->connect_timeout_ms > 0 ? p->connect_timeout_ms : 5000;
    c->retry_base_ms = p->retry_base_ms > 0 ? p->retry_base_ms : 100;
    c->retry_max_ms = p->retry_max_ms > c->retry_base_ms ? p->retry_max_ms : c->retry_base_ms;
    c->sink = p->sink;
    c->owner = p->owner;
    c->guard = pl_guard_ref(p->guard);
    if (!c->host || (p->user && !c->user) || (p->pass && !c->pass)) {
        conn_free(c);
        snprintf(errbuf, errlen, "mqtt: out of memory");
        return -1;
    }
    int rc = pthread_create(&c->th, NULL, conn_main, c);
    if (rc != 0) {
        conn_free(c);
        snprintf(errbuf, errlen, "mqtt: cannot start a thread: %s", strerror(rc));
        return -1;
    }
    *out = c;
    return 0;
}

/* 1 when `s` can be an MQTT 5 property string: valid UTF-8 without control characters
 * (Mosquitto closes the connection of a client sending those). */
static int prop_text_ok(const char *s)
{
    size_t n = strlen(s);
    if (n > 65535 || mosquitto_validate_utf8(s, (int)n) != MOSQ_ERR_SUCCESS)
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    return 1;
}

int pl_mqtt_conn_publish(struct pl_mqtt_conn *c, const char *topic, const void *payload, size_t len,
                         int qos, const char *content_type, char *const *headers, size_t n_headers,
                         int *mid, unsigned *gen, char *errbuf, size_t errlen)
{
    if (len > 268435455u) {
        snprintf(errbuf, errlen, "mqtt: payload too large");
        return -1;
    }
    mosquitto_property *props = NULL;
    int rc = MOSQ_ERR_SUCCESS;
    if (c->v5) {
        if (content_type && *content_type && prop_text_ok(content_type))
            rc = mosquitto_property_add_string(&props, MQTT_PROP_CONTENT_TYPE, content_type);
        for (size_t i = 0; i < n_headers && rc == MOSQ_ERR_SUCCESS; i++) {
            const char *h = headers[i];
            const char *colon = h ? strchr(h, ':') : NULL;
            if (!colon)
                continue;
            char name[256];
            size_t nl = (size_t)(colon - h);
            if (nl == 0 || nl >= sizeof name)
                continue;
            memcpy(name, h, nl);
            name[nl] = '\0';
            const char *v = colon + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            if (!prop_text_ok(name) || !prop_text_ok(v))
                continue; /* the broker would drop the connection */
            rc = mosquitto_property_add_string_pair(&props, MQTT_PROP_USER_PROPERTY, name, v);
        }
    }
    if (rc == MOSQ_ERR_SUCCESS) {
        pthread_mutex_lock(&c->mu);
        if (!c->mosq || !atomic_load(&c->up)) {
            rc = MOSQ_ERR_NO_CONN;
        } else {
            *gen = atomic_load(&c->gen); /* stable: it changes only after `mosq` is cleared */
            rc = mosquitto_publish_v5(c->mosq, mid, topic, (int)len, payload, qos, false, props);
        }
        pthread_mutex_unlock(&c->mu);
    }
    mosquitto_property_free_all(&props);
    if (rc != MOSQ_ERR_SUCCESS) {
        err_text(rc, errbuf, errlen);
        return -1;
    }
    return 0;
}

void pl_mqtt_conn_stop(struct pl_mqtt_conn *c, int wait_ms)
{
    if (!c)
        return;
    pthread_mutex_lock(&c->sink_mu);
    c->sink = NULL;
    pthread_mutex_unlock(&c->sink_mu);
    pthread_mutex_lock(&c->mu);
    atomic_store(&c->stop, 1);
    pthread_cond_broadcast(&c->cv);
    pthread_mutex_unlock(&c->mu);
    int joined = 0;
    if (wait_ms > 0) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += wait_ms / 1000;
        ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        joined = pthread_timedjoin_np(c->th, NULL, &ts) == 0;
    }
    if (!joined)
        pthread_detach(c->th);
    conn_unref(c);
}

void pl_mqtt_conn_kick(struct pl_mqtt_conn *c)
{
    pthread_mutex_lock(&c->mu);
    atomic_store(&c->kick, 1);
    pthread_cond_signal(&c->cv);
    pthread_mutex_unlock(&c->mu);
}
