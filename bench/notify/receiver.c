/* SPDX-License-Identifier: Apache-2.0 */
/*
 * receiver.c — the notification endpoint of bench/notify/run: one epoll thread, HTTP/1.1
 * keep-alive, "204 No Content" on every request, on NPORTS listening ports of 127.0.0.1 (the
 * delivery engine keys endpoints by scheme://host:port, so 100 ports are 100 endpoints), plus a
 * control port.
 *
 * For every POST it counts the request and the entities in its body: each occurrence of
 * "id":"urn:ngsi-ld:NB:<k>" is one entity; its "seq" value (monotonic per entity in the order of
 * the updates) detects duplicates and reordering per (port, entity) (the first 128 ports, ids
 * < 8192; "distinct" counts such pairs), its "sentAt" value (microseconds since the
 * epoch, CLOCK_REALTIME, set by the update loader just before it sent the update) gives the
 * update -> notification latency.
 *
 * Usage: receiver NPORTS           prints "ports P1 P2 ..." and "control C", then serves
 * Control (GET on the control port, answered 200 text/plain, then the connection is closed):
 *   /stats  "posts=N ids=N distinct=N dups=N ooo=N ports_used=N port_min=N port_max=N
 *            first_us=T last_us=T span_s=S rate=R lat_n=N p50_ms=X p99_ms=X max_ms=X"
 *           (rate = (ids - 1) / (last - first): entities received per second from the first
 *           to the last)
 *   /reset  zeroes every counter
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 1024
#define MAX_ENT 8192 /* entities tracked per port (dups/ooo) */
#define TRACK_PORTS 128
#define MAX_LAT (4 << 20)

struct conn {
    int fd;
    int port_ix; /* -1: control */
    size_t len, cap;
    int continued; /* 100-continue sent for the current request */
    char *buf;
};

static int ep_fd, nports, lfds[MAX_PORTS + 1];
static long posts, ids, dups, ooo, per_port[MAX_PORTS];
static int64_t first_us, last_us;
static long *last_seq; /* per (port, entity), -1 = none */
static long distinct;
static int64_t *lat_us;
static long n_lat;

static int64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void reset(void)
{
    posts = ids = dups = ooo = distinct = n_lat = 0;
    first_us = last_us = 0;
    memset(per_port, 0, sizeof per_port);
    for (long i = 0; i < (long)MAX_ENT * TRACK_PORTS; i++)
        last_seq[i] = -1;
}

/* The number after "name": (bare, or the "value" of an attribute object); -1 if none before
 * `end`. */
static long long member_num(const char *from, const char *end, const char *name)
{
    const char *p = memmem(from, (size_t)(end - from), name, strlen(name));
    if (!p)
        return -1;
    p += strlen(name);
    while (p < end && (*p == ' ' || *p == ':'))
        p++;
    if (p < end && *p == '{') {
        const char *v = memmem(p, (size_t)(end - p), "\"value\":", 8);
        if (!v)
            return -1;
        p = v + 8;
    }
    while (p < end && *p == ' ')
        p++;
    if (p >= end || (*p < '0' || *p > '9'))
        return -1;
    return strtoll(p, NULL, 10);
}

static void on_post(int port_ix, const char *body, size_t blen)
{
    int64_t t = now_us();
    posts++;
    if (port_ix >= 0)
        per_port[port_ix]++;
    static const char pat[] = "\"id\":\"urn:ngsi-ld:NB:";
    const char *end = body + blen, *p = body;
    for (;;) {
        const char *q = memmem(p, (size_t)(end - p), pat, sizeof pat - 1);
        if (!q)
            break;
        q += sizeof pat - 1;
        long k = strtol(q, NULL, 10);
        const char *next = memmem(q, (size_t)(end - q), pat, sizeof pat - 1);
        const char *lim = next ? next : end;
        ids++;
        if (!first_us)
            first_us = t;
        last_us = t;
        long long seq = member_num(q, lim, "\"seq\"");
        if (k >= 0 && k < MAX_ENT && seq >= 0 && port_ix >= 0 && port_ix < TRACK_PORTS) {
            long *ls = &last_seq[(long)port_ix * MAX_ENT + k];
            if (*ls < 0)
                distinct++;
            else if (seq == *ls)
                dups++;
            else if (seq < *ls)
                ooo++;
            if (seq > *ls)
                *ls = seq;
        }
        long long sent = member_num(q, lim, "\"sentAt\"");
        if (sent > 0 && n_lat < MAX_LAT)
            lat_us[n_lat++] = t - sent;
        p = lim;
    }
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static int stats(char *out, size_t cap)
{
    double span = last_us > first_us ? (double)(last_us - first_us) / 1e6 : 0;
    double p50 = 0, p99 = 0, mx = 0;
    if (n_lat) {
        int64_t *c = malloc((size_t)n_lat * sizeof *c);
        memcpy(c, lat_us, (size_t)n_lat * sizeof *c);
        qsort(c, (size_t)n_lat, sizeof *c, cmp64);
        p50 = (double)c[n_lat / 2] / 1000;
        p99 = (double)c[(n_lat * 99) / 100] / 1000;
        mx = (double)c[n_lat - 1] / 1000;
        free(c);
    }
    long used = 0, pmin = -1, pmax = 0;
    for (int i = 0; i < nports; i++) {
        if (per_port[i])
            used++;
        if (pmin < 0 || per_port[i] < pmin)
            pmin = per_port[i];
        if (per_port[i] > pmax)
            pmax = per_port[i];
    }
    return snprintf(out, cap,
                    "posts=%ld ids=%ld distinct=%ld dups=%ld ooo=%ld ports_used=%ld port_min=%ld "
                    "port_max=%ld first_us=%lld last_us=%lld span_s=%.3f rate=%.0f lat_n=%ld "
                    "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
                    posts, ids, distinct, dups, ooo, used, pmin, pmax, (long long)first_us,
                    (long long)last_us, span, span > 0 ? (double)(ids - 1) / span : 0, n_lat,
                    p50, p99, mx);
}

static void conn_close(struct conn *c)
{
    close(c->fd);
    free(c->buf);
    free(c);
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN) { /* tiny answers: the socket buffer is never full for long */
                struct timespec ts = {0, 100000};
                nanosleep(&ts, NULL);
                continue;
            }
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Returns 0 to keep the connection, -1 when it was closed. */
static int serve(struct conn *c)
{
    for (;;) {
        if (c->cap - c->len < 4096) {
            size_t nc = c->cap * 2;
            char *nb = realloc(c->buf, nc);
            if (!nb) {
                conn_close(c);
                return -1;
            }
            c->buf = nb;
            c->cap = nc;
        }
        ssize_t r = recv(c->fd, c->buf + c->len, c->cap - c->len, 0);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
            conn_close(c);
            return -1;
        }
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return 0;
        }
        c->len += (size_t)r;
        for (;;) {
            char *eoh = memmem(c->buf, c->len, "\r\n\r\n", 4);
            if (!eoh)
                break;
            size_t hlen = (size_t)(eoh - c->buf) + 4, clen = 0;
            int expect = 0;
            for (char *l = memmem(c->buf, hlen, "\r\n", 2); l && l < eoh;
                 l = memmem(l + 2, hlen - (size_t)(l + 2 - c->buf), "\r\n", 2)) {
                if (strncasecmp(l + 2, "Content-Length:", 15) == 0)
                    clen = (size_t)strtoul(l + 17, NULL, 10);
                else if (strncasecmp(l + 2, "Expect: 100-continue", 20) == 0)
                    expect = 1;
            }
            if (c->len < hlen + clen) {
                if (expect && !c->continued) {
                    static const char r100[] = "HTTP/1.1 100 Continue\r\n\r\n";
                    if (send_all(c->fd, r100, sizeof r100 - 1) != 0) {
                        conn_close(c);
                        return -1;
                    }
                    c->continued = 1;
                }
                break;
            }
            c->continued = 0;
            if (c->port_ix < 0) { /* control */
                char body[1024];
                int bl;
                if (strncmp(c->buf, "GET /reset", 10) == 0) {
                    reset();
                    bl = snprintf(body, sizeof body, "reset\n");
                } else {
                    bl = stats(body, sizeof body);
                }
                char out[1200];
                int ol = snprintf(out, sizeof out,
                                  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                                  "Content-Length: %d\r\nConnection: close\r\n\r\n%s",
                                  bl, body);
                send_all(c->fd, out, (size_t)ol);
                conn_close(c);
                return -1;
            }
            if (strncmp(c->buf, "POST ", 5) == 0)
                on_post(c->port_ix, c->buf + hlen, clen);
            static const char r204[] = "HTTP/1.1 204 No Content\r\n\r\n";
            if (send_all(c->fd, r204, sizeof r204 - 1) != 0) {
                conn_close(c);
                return -1;
            }
            memmove(c->buf, c->buf + hlen + clen, c->len - hlen - clen);
            c->len -= hlen + clen;
        }
    }
}

static int listen_one(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 1024) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) != 0) {
        perror("receiver: listen");
        exit(1);
    }
    *port = ntohs(a.sin_port);
    return fd;
}

int main(int argc, char **argv)
{
    nports = argc > 1 ? atoi(argv[1]) : 1;
    if (nports < 1 || nports > MAX_PORTS) {
        fprintf(stderr, "usage: receiver NPORTS (1..%d)\n", MAX_PORTS);
        return 2;
    }
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    last_seq = malloc((size_t)MAX_ENT * TRACK_PORTS * sizeof *last_seq);
    lat_us = malloc(MAX_LAT * sizeof *lat_us);
    if (!last_seq || !lat_us)
        return 1;
    reset();
    ep_fd = epoll_create1(0);
    printf("ports");
    for (int i = 0; i <= nports; i++) {
        int port;
        lfds[i] = listen_one(&port);
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)i};
        epoll_ctl(ep_fd, EPOLL_CTL_ADD, lfds[i], &ev);
        if (i < nports)
            printf(" %d", port);
        else
            printf("\ncontrol %d\n", port);
    }
    fflush(stdout);
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep_fd, evs, 256, -1);
        if (n < 0 && errno != EINTR)
            return 1;
        for (int i = 0; i < n; i++) {
            uint64_t u = evs[i].data.u64;
            if (u <= (uint64_t)nports) { /* a listener */
                int fd;
                while ((fd = accept4(lfds[u], NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    int one = 1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    struct conn *c = calloc(1, sizeof *c);
                    c->fd = fd;
                    c->port_ix = u == (uint64_t)nports ? -1 : (int)u;
                    c->cap = 16384;
                    c->buf = malloc(c->cap);
                    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
                    epoll_ctl(ep_fd, EPOLL_CTL_ADD, fd, &ev);
                }
            } else {
                serve(evs[i].data.ptr);
            }
        }
    }
}
