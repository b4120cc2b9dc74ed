/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of notify/deliver.c: the notification delivery engine, against tiny HTTP servers
 * running in this process (plain sockets) and a real Mosquitto broker (scripts/mosquitto.sh;
 * skipped with a message when mosquitto is not installed).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <mosquitto.h>
#include <mqtt_protocol.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "notify/deliver.h"

/* ---- helpers ----------------------------------------------------------------------------- */

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Scales waits under sanitizers (scripts/test.sh sets POLIS_TEST_TIMEOUT_MULT). */
static int tmult(void)
{
    const char *s = getenv("POLIS_TEST_TIMEOUT_MULT");
    int m = s ? (int)strtol(s, NULL, 10) : 1;
    return m > 0 ? m : 1;
}

struct counter {
    atomic_int ok, fail;
    atomic_int last_status;
    pthread_mutex_t mu;
    char last_error[200];
};

static void counter_init(struct counter *c)
{
    memset(c, 0, sizeof *c);
    pthread_mutex_init(&c->mu, NULL);
}

static void on_done(void *ud, int ok, int http_status, const char *error)
{
    struct counter *c = ud;
    atomic_store(&c->last_status, http_status);
    if (ok) {
        atomic_fetch_add(&c->ok, 1);
    } else {
        pthread_mutex_lock(&c->mu);
        snprintf(c->last_error, sizeof c->last_error, "%s", error ? error : "(null)");
        pthread_mutex_unlock(&c->mu);
        atomic_fetch_add(&c->fail, 1);
    }
}

static int finished(struct counter *c)
{
    return atomic_load(&c->ok) + atomic_load(&c->fail);
}

/* Waits until `c` saw `n` completions or `ms` passed. Returns 1 when reached. */
static int wait_done(struct counter *c, int n, int ms)
{
    int64_t end = now_ms() + (int64_t)ms * tmult();
    while (finished(c) < n) {
        if (now_ms() > end)
            return 0;
        sleep_ms(1);
    }
    return 1;
}

static int submit(struct pl_deliver *d, const char *uri, const char *key, const char *body,
                  struct counter *c, int qos, int v5)
{
    struct pl_deliver_msg m = {0};
    m.uri = strdup(uri);
    m.body = strdup(body);
    m.len = strlen(body);
    m.key = key ? strdup(key) : NULL;
    m.content_type = "application/json";
    m.headers = calloc(2, sizeof *m.headers);
    m.headers[0] = strdup("NGSILD-Tenant: t1");
    m.headers[1] = strdup("Evil: x\r\nInjected: y"); /* must be dropped, never sent */
    m.n_headers = 2;
    m.mqtt_qos = qos;
    m.mqtt_v5 = v5;
    m.done = on_done;
    m.ud = c;
    int rc = pl_deliver_submit(d, &m);
    if (rc == 0) /* ownership taken: the fields were cleared */
        assert_null(m.uri);
    pl_deliver_msg_dispose(&m);
    return rc;
}

/* ---- a tiny HTTP server ------------------------------------------------------------------ */

enum { SRV_OK, SRV_500, SRV_404, SRV_BLACKHOLE, SRV_FLAKY };

#define MAX_CONNS 64
#define MAX_KEYS  128

struct srv {
    int mode;
    int lfd, port;
    pthread_t th;
    atomic_int stop;
    atomic_int conns, reqs, good, bad_tenant, injected;
    pthread_mutex_t mu;
    pthread_t cth[MAX_CONNS];
    int ncth;
    int last_seq[MAX_KEYS]; /* per key, the last sequence number answered 2xx */
    int order_errors;       /* a 2xx request out of order or duplicated */
};

struct conn_arg {
    struct srv *s;
    int fd;
};

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One request (headers + body) was read: account for it and answer. Returns -1 to close. */
static int handle_request(struct srv *s, int fd, const char *head, const char *body, size_t blen)
{
    int n = atomic_fetch_add(&s->reqs, 1) + 1;
    if (!strstr(head, "\r\nNGSILD-Tenant: t1\r\n"))
        atomic_fetch_add(&s->bad_tenant, 1);
    if (strstr(head, "Injected"))
        atomic_fetch_add(&s->injected, 1);
    if (s->mode == SRV_BLACKHOLE)
        return 0; /* never answer */
    if (s->mode == SRV_404) {
        static const char r404[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
        return write_all(fd, r404, sizeof r404 - 1);
    }
    int fail = s->mode == SRV_500 || (s->mode == SRV_FLAKY && n % 7 == 3);
    if (fail) {
        static const char r500[] =
            "HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\n\r\n";
        return write_all(fd, r500, sizeof r500 - 1);
    }
    char b[64];
    size_t l = blen < sizeof b - 1 ? blen : sizeof b - 1;
    memcpy(b, body, l);
    b[l] = '\0';
    int key, seq;
    pthread_mutex_lock(&s->mu);
    if (sscanf(b, "%d %d", &key, &seq) == 2 && key >= 0 && key < MAX_KEYS) {
        if (seq != s->last_seq[key] + 1)
            s->order_errors++;
        s->last_seq[key] = seq;
    }
    pthread_mutex_unlock(&s->mu);
    atomic_fetch_add(&s->good, 1);
    static const char r204[] = "HTTP/1.1 204 No Content\r\n\r\n";
    return write_all(fd, r204, sizeof r204 - 1);
}

static void *conn_main(void *arg)
{
    struct conn_arg *ca = arg;
    struct srv *s = ca->s;
    int fd = ca->fd;
    free(ca);
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    while (buf && !atomic_load(&s->stop)) {
        struct pollfd p = {fd, POLLIN, 0};
        int pr = poll(&p, 1, 50);
        if (pr <= 0)
            continue;
        if (len == cap)
            break;
        ssize_t r = recv(fd, buf + len, cap - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
        for (;;) { /* every complete request in the buffer */
            char *end = memmem(buf, len, "\r\n\r\n", 4);
            if (!end)
                break;
            size_t hlen = (size_t)(end - buf) + 4;
            size_t clen = 0;
            const char *cl = memmem(buf, hlen, "Content-Length:", 15);
            if (cl)
                clen = (size_t)strtoul(cl + 15, NULL, 10);
            if (len < hlen + clen)
                break;
            char save = buf[hlen - 1];
            buf[hlen - 1] = '\0';
            int rc = handle_request(s, fd, buf, buf + hlen, clen);
            buf[hlen - 1] = save;
            memmove(buf, buf + hlen + clen, len - hlen - clen);
            len -= hlen + clen;
            if (rc != 0)
                goto out;
        }
    }
out:
    free(buf);
    close(fd);
    return NULL;
}

static void *accept_main(void *arg)
{
    struct srv *s = arg;
    while (!atomic_load(&s->stop)) {
        struct pollfd p = {s->lfd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        atomic_fetch_add(&s->conns, 1);
        pthread_mutex_lock(&s->mu);
        if (s->ncth == MAX_CONNS) {
            pthread_mutex_unlock(&s->mu);
            close(fd);
            continue;
        }
        struct conn_arg *ca = malloc(sizeof *ca);
        ca->s = s;
        ca->fd = fd;
        if (pthread_create(&s->cth[s->ncth], NULL, conn_main, ca) == 0)
            s->ncth++;
        else
            close(fd), free(ca);
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

static int listen_any(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 128) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0)
        return -1;
    *port = ntohs(a.sin_port);
    return fd;
}

static struct srv *srv_start(int mode)
{
    struct srv *s = calloc(1, sizeof *s);
    assert_non_null(s);
    s->mode = mode;
    pthread_mutex_init(&s->mu, NULL);
    for (int i = 0; i < MAX_KEYS; i++)
        s->last_seq[i] = -1;
    s->lfd = listen_any(&s->port);
    assert_true(s->lfd >= 0);
    assert_int_equal(pthread_create(&s->th, NULL, accept_main, s), 0);
    return s;
}

static void srv_stop(struct srv *s)
{
    atomic_store(&s->stop, 1);
    pthread_join(s->th, NULL);
    for (int i = 0; i < s->ncth; i++)
        pthread_join(s->cth[i], NULL);
    close(s->lfd);
    pthread_mutex_destroy(&s->mu);
    free(s);
}

static void srv_uri(const struct srv *s, char *buf, size_t n)
{
    snprintf(buf, n, "http://127.0.0.1:%d/notify", s->port);
}

/* A port nobody listens on (connection refused). */
static int dead_port(void)
{
    int port;
    int fd = listen_any(&port);
    assert_true(fd >= 0);
    close(fd);
    return port;
}

/* ---- HTTP tests -------------------------------------------------------------------------- */

static void ten_thousand_to_one_endpoint_exactly_once_in_order_keepalive(void **state)
{
    (void)state;
    struct srv *s = srv_start(SRV_OK);
    struct pl_deliver *d;
    struct pl_err err;
    assert_int_equal(pl_deliver_start(NULL, &d, &err), 0);
    char uri[128];
    srv_uri(s, uri, sizeof uri);
    struct counter c;
    counter_init(&c);
    enum { N = 10000, KEYS = 100 };
    int64_t t0 = now_ms();
    for (int i = 0; i < N; i++) {
        char key[32], body[64];
        snprintf(key, sizeof key, "urn:ngsi-ld:E:%d", i % KEYS);
        snprintf(body, sizeof body, "%d %d", i % KEYS, i / KEYS);
        assert_int_equal(submit(d, uri, key, body, &c, 0, 0), 0);
    }
    assert_true(wait_done(&c, N, 60000));
    int64_t ms = now_ms() - t0;
    print_message("      %d notifications to one keep-alive endpoint in %lld ms: %.0f/s, "
                  "%d connection(s)\n",
                  N, (long long)ms, N * 1000.0 / (double)(ms ? ms : 1), atomic_load(&s->conns));
    assert_int_equal(atomic_load(&c.ok), N);
    assert_int_equal(atomic_load(&c.fail), 0);
    assert_int_equal(atomic_load(&s->reqs), N); /* none lost, none duplicated */
    assert_int_equal(s->order_errors, 0);
    for (int k = 0; k < KEYS; k++)
        assert_int_equal(s->last_seq[k], N / KEYS - 1);
    assert_int_equal(atomic_load(&s->bad_tenant), 0);
    assert_int_equal(atomic_load(&s->injected), 0);
    assert_true(atomic_load(&s->conns) <= 8); /* keep-alive: at most one per in-flight slot */
    struct pl_deliver_stats st;
    pl_deliver_stats(d, &st);
    assert_int_equal(st.sent, N);
    assert_int_equal(st.failed, 0);
    assert_int_equal(st.queued, 0);
    struct pl_deliver_endpoint_info info;
    assert_int_equal(pl_deliver_endpoint_info(d, uri, &info), 1);
    assert_int_equal(info.consecutive_failures, 0);
    assert_true(info.last_success > 0);
    pl_deliver_stop(d);
    srv_stop(s);
}

static void flaky_endpoint_keeps_order_per_key_and_delivers_each_once(void **state)
{
    (void)state;
    struct srv *s = srv_start(SRV_FLAKY); /* every 7th request answers 500 */
    struct pl_deliver_config cfg = {.retry_base_ms = 1, .retry_max_ms = 5, .max_retries = 20};
    struct pl_deliver *d;
    struct pl_err err;
    assert_int_equal(pl_deliver_start(&cfg, &d, &err), 0);
    char uri[128];
    srv_uri(s, uri, sizeof uri);
    struct counter c;
    counter_init(&c);
    enum { N = 2000, KEYS = 10 };
    for (int i = 0; i < N; i++) {
        char key[32], body[64];
        snprintf(key, sizeof key, "k%d", i % KEYS);
        snprintf(body, sizeof body, "%d %d", i % KEYS, i / KEYS);
        assert_int_equal(submit(d, uri, key, body, &c, 0, 0), 0);
    }
    assert_true(wait_done(&c, N, 60000));
    assert_int_equal(atomic_load(&c.ok), N);
    assert_int_equal(atomic_load(&s->good), N);
    assert_int_equal(s->order_errors, 0);
    struct pl_deliver_stats st;
    pl_deliver_stats(d, &st);
    assert_true(st.retried > 0);
    assert_int_equal(st.retried, (uint64_t)(atomic_load(&s->reqs) - N));
    pl_deliver_stop(d);
    srv_stop(s);
}

static void failing_endpoint_is_retried_then_reported_failed(void **state)
{
    (void)state;
    struct srv *s = srv_start(SRV_500);
    struct pl_deliver_config cfg = {.retry_base_ms = 10, .retry_max_ms = 40, .max_retries = 3};
    struct pl_deliver *d;
    struct pl_err err;
    assert_int_equal(pl_deliver_start(&cfg, &d, &err), 0);
    char uri[128];
    srv_uri(s, uri, sizeof uri);
    struct counter c;
    counter_init(&c);
    assert_int_equal(submit(d, uri, "e1", "0 0", &c, 0, 0), 0);
    assert_true(wait_done(&c, 1, 10000));
    assert_int_equal(atomic_load(&c.fail), 1);
    assert_int_equal(atomic_load(&c.last_status), 500);
    assert_non_null(strstr(c.last_error, "500"));
    assert_int_equal(atomic_load(&s->reqs), 4); /* the first attempt + 3 retries */
    struct pl_deliver_stats st;
    pl_deliver_stats(d, &st);
    assert_int_equal(st.retried, 3);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.sent, 0);
    struct pl_deliver_endpoint_info info;
    assert_int_equal(pl_deliver_endpoint_info(d, uri, &info), 1);
    assert_int_equal(info.consecutive_failures, 4);
    assert_true(info.last_failure > 0);
    assert_non_null(strstr(info.last_error, "500"));
    pl_deliver_stop(d);
    srv_stop(s);
}

static void client_error_fails_at_once(void **state)
{
    (void)state;
    struct srv *s = srv_start(SRV_404); /* a 4xx other than 408/425/429: retrying cannot help */
    struct pl_deliver *d;
    struct pl_err err;
    assert_int_equal(pl_deliver_start(NULL, &d, &err), 0);
    char uri[128];
    srv_uri(s, uri, sizeof uri);
    struct counter c;
    counter_init(&c);
    assert_int_equal(submit(d, uri, "e1", "0 0", &c, 0, 0), 0);
    assert_int_equal(submit(d, uri, "e1", "0 1", &c, 0, 0), 0);
    assert_true(wait_done(&c, 2, 10000));
    assert_int_equal(atomic_load(&c.fail), 2);
    assert_int_equal(atomic_load(&c.last_status), 404);
    assert_int_equal(atomic_load(&s->reqs), 2);
    struct pl_deliver_stats st;
    pl_deliver_stats(d, &st);
    assert_int_equal(st.retried, 0);
    pl_deliver_stop(d);
    srv_stop(s);
}

static void invalid_uris_are_refused_and_nothing_is_taken(void **state)
{
    (void)state;
    struct pl_deliver *d;
    struct pl_err err;
    assert_int_equal(pl_deliver_start(NULL, &d, &err), 0);
    struct counter c;
    counter_init(&c);
    assert_int_equal(submit(d, "ftp://127.0.0.1/x", NULL, "x", &c, 0, 0), PL_EBADREQUESTDATA);
    assert_int_equal(submit(d, "not a uri", NULL, "x", &c, 0, 0), PL_EBADREQUESTDATA);
    assert_int_equal(submit(d, "mqtt://127.0.0.1:1883", NULL, "x", &c, 0, 0),
                     PL_EBADREQUESTDATA); /* no topic */
    assert_int_equal(submit(d, "mqtt://127.0.0.1:1883/a/+", NULL, "x", &c, 0, 0),
                     PL_EBADREQUESTDATA); /* wildcard */
    assert_int_equal(submit(d, "mqtt://127.0.0.1:1883/a", NULL, "x", &c, 3, 0),
                     PL_EBADREQUESTDATA); /* qos */
    assert_int_equal(
        pl_deliver_endpoint_info(d, "http://127.0.0.1:9/x", &(struct pl_deliver_endpoint_info){0}),
        0);
    pl_deliver_stop(d);
    assert_int_equal(finished(&c), 0);
}

static void dead_and_black_hole_endpoints_do_not_delay_a_live_one(void **state)
{
    (void)state;
    struct srv *live = srv_start(SRV_OK);
    struct srv *hole = srv_start(SRV_BLACKHOLE);
    struct pl_deliver_config cfg = {.timeout_ms = 3000,
                                    .retry_base_ms = 200,
                                    .retry_max_ms = 2000,
                                    .max_retries = 5,
                                    .stop_grace_ms = 100};
    struct pl_deliver *d;
    struct pl_err err;
    assert_int_equal(pl_deliver_start(&cfg, &d, &err), 0);
    char live_uri[128], hole_uri[128], dead_uri[128];
    srv_uri(live, live_uri, sizeof live_uri);
    srv_uri(hole, hole_uri, sizeof hole_uri);
    snprintf(dead_uri, sizeof dead_uri, "http://127.0.0.1:%d/notify", dead_port());
    struct counter cl, ch, cd;
    counter_init(&cl);
    counter_init(&ch);
    counter_init(&cd);
    enum { NDEAD = 50, NLIVE = 2000 };
    for (int i = 0; i < NDEAD; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(submit(d, hole_uri, key, "0 0", &ch, 0, 0), 0);
        assert_int_equal(submit(d, dead_uri, key, "0 0", &cd, 0, 0), 0);
    }
    sleep_ms(50); /* the dead ones are failing and backing off, the black hole is in flight */
    for (int i = 0; i < NLIVE; i++) {
        char key[16], body[32];
        snprintf(key, sizeof key, "k%d", i % 50);
        snprintf(body, sizeof body, "%d %d", i % 50, i / 50);
        assert_int_equal(submit(d, live_uri, key, body, &cl, 0, 0), 0);
    }
    assert_true(wait_done(&cl, NLIVE, 30000));
    /* The live endpoint is done while the others are still retrying. */
    assert_int_equal(atomic_load(&cl.ok), NLIVE);
    assert_int_equal(live->order_errors, 0);
    assert_true(finished(&ch) < NDEAD);
    assert_true(finished(&cd) < NDEAD);
    struct pl_deliver_endpoint_info info;
    assert_int_equal(pl_deliver_endpoint_info(d, dead_uri, &info), 1);
    assert_true(info.consecutive_failures > 0);
    assert_true(info.queued > 0);
    assert_true(info.last_error[0] != '\0');
    print_message("      dead endpoint: %zu queued, %d failures, last error: %s\n", info.queued,
                  info.consecutive_failures, info.last_error);
    assert_int_equal(pl_deliver_endpoint_info(d, hole_uri, &info), 1);
    assert_true(info.inflight > 0 || info.consecutive_failures > 0);
    /* Stop: everything still pending is reported failed, promptly. */
    int64_t t0 = now_ms();
    pl_deliver_stop(d);
    assert_true(now_ms() - t0 < 5000 * tmult());
    assert_int_equal(finished(&ch), NDEAD);
    assert_int_equal(finished(&cd), NDEAD);
    assert_int_equal(atomic_load(&cd.ok), 0);
    srv_stop(live);
    srv_stop(hole);
}

static void full_queue_refuses_and_only_for_that_endpoint(void **state)
{
    (void)state;
    struct srv *hole = srv_start(SRV_BLACKHOLE);
    struct srv *live = srv_start(SRV_OK);
    struct pl_deliver_config cfg = {.max_queue_per_endpoint = 5, .stop_grace_ms = 50};
    struct pl_deliver *d;
    struct pl_err err;
    assert_int_equal(pl_deliver_start(&cfg, &d, &err), 0);
    char hole_uri[128], live_uri[128];
    srv_uri(hole, hole_uri, sizeof hole_uri);
    srv_uri(live, live_uri, sizeof live_uri);
    struct counter c, cl;
    counter_init(&c);
    counter_init(&cl);
    for (int i = 0; i < 5; i++)
        assert_int_equal(submit(d, hole_uri, NULL, "0 0", &c, 0, 0), 0);
    assert_int_equal(submit(d, hole_uri, NULL, "0 0", &c, 0, 0), PL_ETOOLARGE);
    assert_int_equal(submit(d, live_uri, NULL, "0 0", &cl, 0, 0), 0);
    assert_true(wait_done(&cl, 1, 10000));
    assert_int_equal(atomic_load(&cl.ok), 1);
    struct pl_deliver_stats st;
    pl_deliver_stats(d, &st);
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.queued, 5);
    pl_deliver_stop(d);
    assert_int_equal(atomic_load(&c.fail), 5);
    assert_non_null(strstr(c.last_error, "stopped"));
    srv_stop(hole);
    srv_stop(live);
}

static void stop_with_pending_messages_is_prompt(void **state)
{
    (void)state;
    struct srv *hole = srv_start(SRV_BLACKHOLE);
    struct pl_deliver_config cfg = {.timeout_ms = 60000, .stop_grace_ms = 300};
    struct pl_deliver *d;
    struct pl_err err;
    assert_int_equal(pl_deliver_start(&cfg, &d, &err), 0);
    char uri[128];
    srv_uri(hole, uri, sizeof uri);
    struct counter c;
    counter_init(&c);
    for (int i = 0; i < 100; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i % 20);
        assert_int_equal(submit(d, uri, key, "0 0", &c, 0, 0), 0);
    }
    sleep_ms(100);
    int64_t t0 = now_ms();
    pl_deliver_stop(d);
    int64_t ms = now_ms() - t0;
    assert_true(ms < 3000 * tmult());
    assert_int_equal(atomic_load(&c.fail), 100);
    srv_stop(hole);
}

/* ---- MQTT -------------------------------------------------------------------------------- */

struct sub {
    pthread_mutex_t mu;
    atomic_int subscribed, connected;
    int n_q1, n_q0, n_v5, q1_order_errors, v5_ctype_ok;
    int last_q1;
};

static void sub_on_connect(struct mosquitto *m, void *ud, int rc)
{
    struct sub *s = ud;
    if (rc == 0) {
        atomic_store(&s->connected, 1);
        mosquitto_subscribe(m, NULL, "polis/test/#", 1);
    }
}

static void sub_on_subscribe(struct mosquitto *m, void *ud, int mid, int n, const int *granted)
{
    (void)m, (void)mid, (void)n, (void)granted;
    atomic_store(&((struct sub *)ud)->subscribed, 1);
}

static void sub_on_message(struct mosquitto *m, void *ud, const struct mosquitto_message *msg,
                           const mosquitto_property *props)
{
    (void)m;
    struct sub *s = ud;
    char b[64];
    int l = msg->payloadlen < 63 ? msg->payloadlen : 63;
    memcpy(b, msg->payload, (size_t)l);
    b[l] = '\0';
    pthread_mutex_lock(&s->mu);
    if (strcmp(msg->topic, "polis/test/q1") == 0) {
        int seq = (int)strtol(b, NULL, 10);
        if (seq != s->last_q1 + 1)
            s->q1_order_errors++;
        s->last_q1 = seq;
        s->n_q1++;
    } else if (strcmp(msg->topic, "polis/test/q0") == 0) {
        s->n_q0++;
    } else if (strcmp(msg->topic, "polis/test/v5") == 0) {
        s->n_v5++;
        char *ct = NULL;
        if (mosquitto_property_read_string(props, MQTT_PROP_CONTENT_TYPE, &ct, false) && ct &&
            strcmp(ct, "application/json") == 0)
            s->v5_ctype_ok++;
        free(ct);
    }
    pthread_mutex_unlock(&s->mu);
}

/* The broker's directory while one runs: the teardown stops it even after a failed assert. */
static char mq_dir[64];

static int mqtt_teardown(void **state)
{
    (void)state;
    const char *src = getenv("POLIS_SOURCE_DIR");
    if (mq_dir[0] && src) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "bash '%s/scripts/mosquitto.sh' stop '%s'; rm -rf '%s'", src,
                 mq_dir, mq_dir);
        if (system(cmd) != 0)
            fprintf(stderr, "could not stop the test broker in %s\n", mq_dir);
        mq_dir[0] = '\0';
    }
    return 0;
}

static void mqtt_delivers_to_a_real_broker(void **state)
{
    (void)state;
    const char *src = getenv("POLIS_SOURCE_DIR");
    if (!src ||
        system("command -v mosquitto >/dev/null 2>&1 || test -x /usr/sbin/mosquitto") != 0) {
        print_message("      SKIPPED: mosquitto is not installed (scripts/install-deps.sh test)"
                      " or POLIS_SOURCE_DIR is not set\n");
        skip();
    }
    char dir[] = "/tmp/polis-mqtt-XXXXXX";
    assert_non_null(mkdtemp(dir));
    snprintf(mq_dir, sizeof mq_dir, "%s", dir);
    char cmd[512];
    snprintf(cmd, sizeof cmd, "bash '%s/scripts/mosquitto.sh' start '%s'", src, dir);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    int port = 0;
    if (fscanf(p, "%d", &port) != 1)
        port = 0;
    pclose(p);
    assert_true(port > 0);

    mosquitto_lib_init();
    struct sub s;
    memset(&s, 0, sizeof s);
    pthread_mutex_init(&s.mu, NULL);
    s.last_q1 = -1;
    struct mosquitto *m = mosquitto_new(NULL, true, &s);
    assert_non_null(m);
    mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_connect_callback_set(m, sub_on_connect);
    mosquitto_subscribe_callback_set(m, sub_on_subscribe);
    mosquitto_message_v5_callback_set(m, sub_on_message);
    assert_int_equal(mosquitto_connect(m, "127.0.0.1", port, 30), MOSQ_ERR_SUCCESS);
    assert_int_equal(mosquitto_loop_start(m), MOSQ_ERR_SUCCESS);
    int64_t end = now_ms() + 10000 * tmult();
    while (!atomic_load(&s.subscribed) && now_ms() < end)
        sleep_ms(5);
    assert_true(atomic_load(&s.subscribed));

    struct pl_deliver_config cfg = {.retry_base_ms = 10, .retry_max_ms = 50, .max_retries = 2};
    struct pl_deliver *d;
    struct pl_err err;
    assert_int_equal(pl_deliver_start(&cfg, &d, &err), 0);
    char q1[128], q0[128], v5[128], dead[128];
    snprintf(q1, sizeof q1, "mqtt://127.0.0.1:%d/polis/test/q1", port);
    snprintf(q0, sizeof q0, "mqtt://127.0.0.1:%d/polis/test/q0", port);
    snprintf(v5, sizeof v5, "mqtt://127.0.0.1:%d/polis/test/v5", port);
    snprintf(dead, sizeof dead, "mqtt://127.0.0.1:%d/polis/test/x", dead_port());
    struct counter c1, c0, c5, cdead;
    counter_init(&c1);
    counter_init(&c0);
    counter_init(&c5);
    counter_init(&cdead);
    enum { N = 1000 };
    int64_t t0 = now_ms();
    for (int i = 0; i < N; i++) {
        char body[32];
        snprintf(body, sizeof body, "%d", i);
        assert_int_equal(submit(d, q1, "urn:ngsi-ld:E:1", body, &c1, 1, 0), 0);
        assert_int_equal(submit(d, q0, NULL, body, &c0, 0, 0), 0);
    }
    for (int i = 0; i < 10; i++)
        assert_int_equal(submit(d, v5, "e", "{}", &c5, 1, 1), 0);
    assert_int_equal(submit(d, dead, "e", "{}", &cdead, 1, 0), 0);
    assert_true(wait_done(&c1, N, 30000));
    assert_true(wait_done(&c0, N, 30000));
    assert_true(wait_done(&c5, 10, 30000));
    print_message("      MQTT: %d QoS 1 + %d QoS 0 published in %lld ms\n", N, N,
                  (long long)(now_ms() - t0));
    assert_int_equal(atomic_load(&c1.ok), N);
    assert_int_equal(atomic_load(&c0.ok), N);
    if (atomic_load(&c5.ok) != 10)
        print_message("      v5 error: %s\n", c5.last_error);
    assert_int_equal(atomic_load(&c5.ok), 10);
    /* the subscriber receives every QoS 1 message, in order (and the v5 properties) */
    end = now_ms() + 10000 * tmult();
    for (;;) {
        pthread_mutex_lock(&s.mu);
        int n1 = s.n_q1, n5 = s.n_v5;
        pthread_mutex_unlock(&s.mu);
        if ((n1 >= N && n5 >= 10) || now_ms() > end)
            break;
        sleep_ms(5);
    }
    pthread_mutex_lock(&s.mu);
    assert_int_equal(s.n_q1, N);
    assert_int_equal(s.q1_order_errors, 0);
    assert_int_equal(s.n_v5, 10);
    assert_int_equal(s.v5_ctype_ok, 10);
    print_message("      MQTT: QoS 0 received %d of %d\n", s.n_q0, N);
    pthread_mutex_unlock(&s.mu);
    /* a broker that refuses connections: retried, then failed */
    assert_true(wait_done(&cdead, 1, 30000));
    assert_int_equal(atomic_load(&cdead.fail), 1);
    print_message("      MQTT dead broker: %s\n", cdead.last_error);

    pl_deliver_stop(d);
    mosquitto_disconnect(m);
    mosquitto_loop_stop(m, false);
    mosquitto_destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ten_thousand_to_one_endpoint_exactly_once_in_order_keepalive),
        cmocka_unit_test(flaky_endpoint_keeps_order_per_key_and_delivers_each_once),
        cmocka_unit_test(failing_endpoint_is_retried_then_reported_failed),
        cmocka_unit_test(client_error_fails_at_once),
        cmocka_unit_test(invalid_uris_are_refused_and_nothing_is_taken),
        cmocka_unit_test(dead_and_black_hole_endpoints_do_not_delay_a_live_one),
        cmocka_unit_test(full_queue_refuses_and_only_for_that_endpoint),
        cmocka_unit_test(stop_with_pending_messages_is_prompt),
        cmocka_unit_test_teardown(mqtt_delivers_to_a_real_broker, mqtt_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
