/* SPDX-License-Identifier: Apache-2.0 */
/*
 * mqttsub.c — the MQTT subscriber of bench/notify/run (libmosquitto, MQTT 5): subscribes to
 * TOPIC on the broker at 127.0.0.1:PORT with QOS, prints "ready" once the broker acknowledged
 * the subscription, then counts messages and the entities in them ("id":"urn:ngsi-ld:NB:<k>",
 * with the same seq bookkeeping as receiver.c) until EXPECTED entities arrived or nothing arrived
 * for IDLE_MS (counted from the SUBACK, then from the last message), and prints one line:
 *   "msgs=N ids=N distinct=N dups=N ooo=N span_s=S rate=R"
 * (rate = (ids - 1) / (time of the last - time of the first), entities per second).
 *
 * Usage: mqttsub PORT TOPIC QOS EXPECTED IDLE_MS
 */
#define _GNU_SOURCE
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_ENT (1 << 20)

static long msgs, ids, dups, ooo, distinct, expected;
static long *last_seq;
static int64_t first_ns, last_ns;
static int qos;
static const char *topic;
static atomic_int subscribed;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static long long seq_of(const char *from, const char *end)
{
    const char *p = memmem(from, (size_t)(end - from), "\"seq\"", 5);
    if (!p)
        return -1;
    const char *v = memmem(p, (size_t)(end - p), "\"value\":", 8);
    if (!v)
        return -1;
    return strtoll(v + 8, NULL, 10);
}

static void on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg,
                       const mosquitto_property *props)
{
    (void)m, (void)ud, (void)props;
    int64_t t = mono_ns();
    msgs++;
    static const char pat[] = "\"id\":\"urn:ngsi-ld:NB:";
    const char *p = msg->payload, *end = p + msg->payloadlen;
    for (;;) {
        const char *q = memmem(p, (size_t)(end - p), pat, sizeof pat - 1);
        if (!q)
            break;
        q += sizeof pat - 1;
        long k = strtol(q, NULL, 10);
        const char *next = memmem(q, (size_t)(end - q), pat, sizeof pat - 1);
        const char *lim = next ? next : end;
        ids++;
        if (!first_ns)
            first_ns = t;
        last_ns = t;
        long long seq = seq_of(q, lim);
        if (k >= 0 && k < MAX_ENT && seq >= 0) {
            if (last_seq[k] < 0)
                distinct++;
            else if (seq == last_seq[k])
                dups++;
            else if (seq < last_seq[k])
                ooo++;
            if (seq > last_seq[k])
                last_seq[k] = seq;
        }
        p = lim;
    }
}

static void on_connect(struct mosquitto *m, void *ud, int rc, int flags,
                       const mosquitto_property *props)
{
    (void)ud, (void)flags, (void)props;
    if (rc != 0) {
        fprintf(stderr, "mqttsub: connect refused: %d\n", rc);
        exit(1);
    }
    mosquitto_subscribe_v5(m, NULL, topic, qos, 0, NULL);
}

static void on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *granted,
                         const mosquitto_property *props)
{
    (void)m, (void)ud, (void)mid, (void)props;
    if (n < 1 || granted[0] != qos) {
        fprintf(stderr, "mqttsub: subscription not granted at QoS %d\n", qos);
        exit(1);
    }
    printf("ready\n");
    fflush(stdout);
    atomic_store(&subscribed, 1);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: mqttsub PORT TOPIC QOS EXPECTED IDLE_MS\n");
        return 2;
    }
    int port = atoi(argv[1]);
    topic = argv[2];
    qos = atoi(argv[3]);
    expected = atol(argv[4]);
    long idle_ms = atol(argv[5]);
    last_seq = malloc(MAX_ENT * sizeof *last_seq);
    for (long i = 0; i < MAX_ENT; i++)
        last_seq[i] = -1;
    mosquitto_lib_init();
    struct mosquitto *m = mosquitto_new(NULL, true, NULL);
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    /* QoS 1: as many unacknowledged messages in flight from the broker as it likes */
    mosquitto_int_option(m, MOSQ_OPT_RECEIVE_MAXIMUM, 65535);
    mosquitto_connect_v5_callback_set(m, on_connect);
    mosquitto_subscribe_v5_callback_set(m, on_subscribe);
    mosquitto_message_v5_callback_set(m, on_message);
    if (mosquitto_connect_bind_v5(m, "127.0.0.1", port, 60, NULL, NULL) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "mqttsub: cannot connect to 127.0.0.1:%d\n", port);
        return 1;
    }
    int64_t last_progress = mono_ns();
    long last_ids = -1;
    for (;;) {
        int rc = mosquitto_loop(m, 50, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "mqttsub: loop: %s\n", mosquitto_strerror(rc));
            mosquitto_reconnect(m);
        }
        int64_t now = mono_ns();
        if (ids != last_ids) {
            last_ids = ids;
            last_progress = now;
        }
        if (ids >= expected)
            break;
        if (!atomic_load(&subscribed))
            last_progress = now; /* the idle limit runs from the SUBACK */
        if (now - last_progress > idle_ms * 1000000)
            break;
    }
    double span = (double)(last_ns - first_ns) / 1e9;
    printf("msgs=%ld ids=%ld distinct=%ld dups=%ld ooo=%ld span_s=%.3f rate=%.0f\n", msgs, ids,
           distinct, dups, ooo, span, span > 0 ? (double)(ids - 1) / span : 0);
    fflush(stdout);
    mosquitto_disconnect(m);
    mosquitto_destroy(m);
    mosquitto_lib_cleanup();
    return 0;
}
