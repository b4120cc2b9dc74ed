/* SPDX-License-Identifier: Apache-2.0 */
/*
 * deliver_bench — throughput and latency of the notification delivery engine (notify/deliver.h)
 * against a local keep-alive HTTP server (one epoll thread in this process answering
 * "204 No Content" on every listening port).
 *
 *   deliver_bench [N]   (default N = 100000)
 *
 * Prints: messages/s to one endpoint (N messages, 1000 keys); messages/s spread over 100
 * endpoints; and the submit -> server-receive latency (p50/p99/max) at a paced 1000 messages/s
 * for 5 s. A submit refused because the endpoint queue is full is retried after 100 us, so the
 * rates are sustained rates, not queue-filling rates.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "notify/deliver.h"

#define MAX_PORTS 128

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&ts, NULL);
}

/* ---- the server -------------------------------------------------------------------------- */

struct conn {
    int fd;
    size_t len;
    char buf[16384];
};

static int ep_fd, lfds[MAX_PORTS], ports[MAX_PORTS], nports;
static atomic_int stop_server;
static atomic_long served;
static int64_t *lat_ns; /* latencies recorded while `recording` */
static atomic_long n_lat;
static long max_lat;
static atomic_int recording;

static void on_request(const char *body, size_t blen)
{
    atomic_fetch_add(&served, 1);
    if (!atomic_load(&recording) || blen == 0)
        return;
    char b[32];
    size_t l = blen < sizeof b - 1 ? blen : sizeof b - 1;
    memcpy(b, body, l);
    b[l] = '\0';
    int64_t t = strtoll(b, NULL, 10);
    long i = atomic_fetch_add(&n_lat, 1);
    if (i < max_lat)
        lat_ns[i] = now_ns() - t;
}

static void serve_conn(struct conn *c)
{
    for (;;) {
        ssize_t r = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
            close(c->fd);
            free(c);
            return;
        }
        if (r < 0)
            return;
        c->len += (size_t)r;
        for (;;) {
            char *end = memmem(c->buf, c->len, "\r\n\r\n", 4);
            if (!end)
                break;
            size_t hlen = (size_t)(end - c->buf) + 4, clen = 0;
            const char *cl = memmem(c->buf, hlen, "Content-Length:", 15);
            if (cl)
                clen = (size_t)strtoul(cl + 15, NULL, 10);
            if (c->len < hlen + clen)
                break;
            on_request(c->buf + hlen, clen);
            static const char r204[] = "HTTP/1.1 204 No Content\r\n\r\n";
            if (send(c->fd, r204, sizeof r204 - 1, MSG_NOSIGNAL) < 0) {
                close(c->fd);
                free(c);
                return;
            }
            memmove(c->buf, c->buf + hlen + clen, c->len - hlen - clen);
            c->len -= hlen + clen;
        }
    }
}

static void *server_main(void *arg)
{
    (void)arg;
    struct epoll_event evs[256];
    while (!atomic_load(&stop_server)) {
        int n = epoll_wait(ep_fd, evs, 256, 50);
        for (int i = 0; i < n; i++) {
            void *p = evs[i].data.ptr;
            if ((intptr_t)p < MAX_PORTS) { /* a listener: data.ptr holds its index */
                int lfd = lfds[(intptr_t)p];
                int fd;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *c = calloc(1, sizeof *c);
                    c->fd = fd;
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep_fd, EPOLL_CTL_ADD, fd, &ev);
                }
            } else {
                serve_conn(p);
            }
        }
    }
    return NULL;
}

static void server_start(int n, pthread_t *th)
{
    ep_fd = epoll_create1(0);
    nports = n;
    for (int i = 0; i < n; i++) {
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t al = sizeof a;
        if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 512) != 0 ||
            getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
            perror("listen");
            exit(1);
        }
        lfds[i] = fd;
        ports[i] = ntohs(a.sin_port);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = (void *)(intptr_t)i};
        epoll_ctl(ep_fd, EPOLL_CTL_ADD, fd, &ev);
    }
    pthread_create(th, NULL, server_main, NULL);
}

/* ---- the client side --------------------------------------------------------------------- */

static atomic_long done_ok, done_fail;

static void on_done(void *ud, int ok, int status, const char *error)
{
    (void)ud, (void)status, (void)error;
    atomic_fetch_add(ok ? &done_ok : &done_fail, 1);
}

static void submit(struct pl_deliver *d, int port, long key, const char *body)
{
    char uri[64], k[48];
    snprintf(uri, sizeof uri, "http://127.0.0.1:%d/notify", port);
    snprintf(k, sizeof k, "urn:ngsi-ld:Bench:%ld", key);
    for (;;) {
        struct pl_deliver_msg m = {0};
        m.uri = strdup(uri);
        m.body = strdup(body);
        m.len = strlen(body);
        m.key = strdup(k);
        m.content_type = "application/json";
        m.done = on_done;
        int rc = pl_deliver_submit(d, &m);
        pl_deliver_msg_dispose(&m);
        if (rc == 0)
            return;
        if (rc != PL_ETOOLARGE) {
            fprintf(stderr, "submit failed: %d\n", rc);
            exit(1);
        }
        sleep_us(100); /* queue full: wait for the engine */
    }
}

static void wait_all(long n)
{
    while (atomic_load(&done_ok) + atomic_load(&done_fail) < n)
        sleep_us(200);
}

static void throughput(struct pl_deliver *d, long n, int endpoints)
{
    atomic_store(&done_ok, 0);
    atomic_store(&done_fail, 0);
    char body[256];
    memset(body, 'x', 200);
    body[200] = '\0';
    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++)
        submit(d, ports[i % endpoints], i % 1000, body);
    wait_all(n);
    double s = (double)(now_ns() - t0) / 1e9;
    printf("%-44s %8.0f msg/s  (%ld messages, %ld failed, %.2f s)\n",
           endpoints == 1 ? "throughput, 1 keep-alive endpoint:" : "throughput, 100 endpoints:",
           (double)n / s, n, atomic_load(&done_fail), s);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static void latency(struct pl_deliver *d, int rate, int seconds)
{
    atomic_store(&done_ok, 0);
    atomic_store(&done_fail, 0);
    long n = (long)rate * seconds;
    max_lat = n;
    lat_ns = calloc((size_t)n, sizeof *lat_ns);
    atomic_store(&n_lat, 0);
    atomic_store(&recording, 1);
    int64_t t0 = now_ns(), step = 1000000000 / rate;
    for (long i = 0; i < n; i++) {
        int64_t due = t0 + i * step, now = now_ns();
        if (due > now)
            sleep_us((long)((due - now) / 1000));
        char body[32];
        snprintf(body, sizeof body, "%lld", (long long)now_ns());
        submit(d, ports[0], i % 1000, body);
    }
    wait_all(n);
    atomic_store(&recording, 0);
    long m = atomic_load(&n_lat);
    if (m > n)
        m = n;
    qsort(lat_ns, (size_t)m, sizeof *lat_ns, cmp64);
    printf("latency at %d msg/s for %d s (submit -> received): p50 %.2f ms, p99 %.2f ms, "
           "max %.2f ms\n",
           rate, seconds, (double)lat_ns[m / 2] / 1e6, (double)lat_ns[m * 99 / 100] / 1e6,
           (double)lat_ns[m - 1] / 1e6);
    free(lat_ns);
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 100000;
    if (n <= 0)
        n = 100000;
    pthread_t th;
    server_start(100, &th);
    struct pl_deliver *d;
    struct pl_err err;
    if (pl_deliver_start(NULL, &d, &err) != 0) {
        fprintf(stderr, "pl_deliver_start: %s\n", err.detail);
        return 1;
    }
    throughput(d, n, 1);
    throughput(d, n, 100);
    latency(d, 1000, 5);
    pl_deliver_stop(d);
    atomic_store(&stop_server, 1);
    pthread_join(th, NULL);
    return 0;
}
