/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loader.c — the write side of bench/temporal/run: sensor readings sent to Polis through the
 * normal entity API over keep-alive connections to 127.0.0.1 (one thread per connection).
 *
 * Sensor k (0..NENT-1) is the entity urn:ngsi-ld:TemperatureSensor:<k> of type
 * TemperatureSensor with one Property "temperature" (unitCode CEL). Reading i of a sensor is
 * observed at T0 + i x 15 min, T0 = 2023-01-01T00:00:00Z, and its value is reading(k, i) below
 * (a daily cycle plus deterministic noise, two decimals).
 *
 *   loader create PORT NENT
 *       POST /ngsi-ld/v1/entities for every sensor, holding its reading 0; every answer must
 *       be 201.
 *   loader patch PORT NENT STEP0 STEPS CONNS
 *       STEPS x NENT updates PATCH /ngsi-ld/v1/entities/{id}/attrs with
 *       {"temperature":{"type":"Property","value":V,"unitCode":"CEL","observedAt":"..."}}:
 *       update u (from an atomic counter shared by CONNS connections) is reading STEP0 + u / NENT
 *       of sensor u % NENT, so the readings go out time step by time step, all sensors per step.
 *       Every answer must be 204.
 *
 * Output (one line): "ok=N failed=F seconds=S rate=R p50_ms=X p99_ms=X" (rate in requests per
 * second; p50/p99 of the request round trip), plus the first failures on stderr. Exit status 1
 * when anything failed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define T0     1672531200L /* 2023-01-01T00:00:00Z */
#define STEP_S 900L        /* 15 minutes */

static unsigned port;
static long n_ent, step0, n_steps, n_total;
static atomic_long next_u, n_ok, n_fail, n_err_printed;
static double *rtt_ms; /* per request */
static enum { M_CREATE, M_PATCH } mode;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The value of reading i of sensor k: 15 °C +- 8 over the day, plus 0..9.99 of noise. */
static double reading(long k, long i)
{
    double cycle = 8.0 * sin(2.0 * M_PI * (double)(i % 96) / 96.0);
    double noise = (double)((unsigned long)(k * 7919 + i * 104729) % 1000UL) / 100.0;
    return round((15.0 + cycle + noise) * 100.0) / 100.0;
}

static void iso_time(long i, char *out, size_t cap)
{
    time_t t = (time_t)(T0 + i * STEP_S);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n) {
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

/* Reads one response (Content-Length bodies); returns the status or -1; the start of the answer
 * stays in buf. */
static int read_response(int fd, char *buf, size_t cap)
{
    size_t have = 0;
    char *eoh = NULL;
    while (!eoh) {
        if (have + 1 >= cap)
            return -1;
        ssize_t r = recv(fd, buf + have, cap - 1 - have, 0);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return -1;
        }
        have += (size_t)r;
        buf[have] = 0;
        eoh = strstr(buf, "\r\n\r\n");
    }
    int status = 0;
    if (sscanf(buf, "HTTP/1.%*d %d", &status) != 1)
        return -1;
    long clen = 0;
    for (char *l = strstr(buf, "\r\n"); l && l < eoh; l = strstr(l + 2, "\r\n"))
        if (strncasecmp(l + 2, "Content-Length:", 15) == 0)
            clen = strtol(l + 17, NULL, 10);
    size_t need = (size_t)(eoh + 4 - buf) + (size_t)clen;
    while (have < need) {
        char tmp[8192];
        size_t want = need - have < sizeof tmp ? need - have : sizeof tmp;
        ssize_t r = recv(fd, tmp, want, 0);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return -1;
        }
        if (have < cap - 1) {
            size_t k = (size_t)r < cap - 1 - have ? (size_t)r : cap - 1 - have;
            memcpy(buf + have, tmp, k);
            buf[have + k] = 0;
        }
        have += (size_t)r;
    }
    return status;
}

static int connect_one(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One request; returns the status or -1. A write is not retried: a dropped connection counts
 * as a failure (the update may or may not have been applied). */
static int request(int *fd, const char *method, const char *path, const char *body, size_t blen,
                   char *rbuf, size_t rcap)
{
    char head[512];
    if (*fd < 0 && (*fd = connect_one()) < 0)
        return -1;
    int hl = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                      "Content-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                      method, path, port, blen);
    int st = -1;
    if (send_all(*fd, head, (size_t)hl) == 0 && send_all(*fd, body, blen) == 0)
        st = read_response(*fd, rbuf, rcap);
    if (st < 0) {
        close(*fd);
        *fd = -1;
    }
    return st;
}

static void failed(long u, int st, const char *rbuf)
{
    atomic_fetch_add(&n_fail, 1);
    if (atomic_fetch_add(&n_err_printed, 1) < 5) {
        const char *b = st > 0 ? strstr(rbuf, "\r\n\r\n") : NULL;
        fprintf(stderr, "loader: request %ld: status %d %.300s\n", u, st,
                b ? b + 4 : "(connection error)");
    }
}

static void *worker(void *arg)
{
    (void)arg;
    int fd = -1;
    char body[512], rbuf[4096], path[256], when[32];
    for (;;) {
        long u = atomic_fetch_add(&next_u, 1);
        if (u >= n_total)
            break;
        long k = u % n_ent, i = mode == M_CREATE ? 0 : step0 + u / n_ent;
        iso_time(i, when, sizeof when);
        int st, bl;
        int64_t t;
        if (mode == M_CREATE) {
            bl = snprintf(body, sizeof body,
                          "{\"id\":\"urn:ngsi-ld:TemperatureSensor:%ld\","
                          "\"type\":\"TemperatureSensor\",\"temperature\":{\"type\":\"Property\","
                          "\"value\":%.2f,\"unitCode\":\"CEL\",\"observedAt\":\"%s\"}}",
                          k, reading(k, i), when);
            t = mono_ns();
            st = request(&fd, "POST", "/ngsi-ld/v1/entities", body, (size_t)bl, rbuf, sizeof rbuf);
        } else {
            snprintf(path, sizeof path,
                     "/ngsi-ld/v1/entities/urn:ngsi-ld:TemperatureSensor:%ld/attrs", k);
            bl = snprintf(body, sizeof body,
                          "{\"temperature\":{\"type\":\"Property\",\"value\":%.2f,"
                          "\"unitCode\":\"CEL\",\"observedAt\":\"%s\"}}",
                          reading(k, i), when);
            t = mono_ns();
            st = request(&fd, "PATCH", path, body, (size_t)bl, rbuf, sizeof rbuf);
        }
        rtt_ms[u] = (double)(mono_ns() - t) / 1e6;
        if (st == (mode == M_CREATE ? 201 : 204))
            atomic_fetch_add(&n_ok, 1);
        else
            failed(u, st, rbuf);
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void usage(void)
{
    fprintf(stderr, "usage: loader create PORT NENT | patch PORT NENT STEP0 STEPS CONNS\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 4)
        usage();
    port = (unsigned)strtoul(argv[2], NULL, 10);
    n_ent = strtol(argv[3], NULL, 10);
    long conns = 1;
    if (strcmp(argv[1], "create") == 0 && argc == 4) {
        mode = M_CREATE;
        n_total = n_ent;
    } else if (strcmp(argv[1], "patch") == 0 && argc == 7) {
        mode = M_PATCH;
        step0 = strtol(argv[4], NULL, 10);
        n_steps = strtol(argv[5], NULL, 10);
        conns = strtol(argv[6], NULL, 10);
        n_total = n_ent * n_steps;
    } else {
        usage();
    }
    if (port == 0 || n_ent < 1 || conns < 1 || conns > 1024 || step0 < 0 || n_total < 1)
        usage();
    rtt_ms = calloc((size_t)n_total, sizeof *rtt_ms);
    if (!rtt_ms)
        return 2;
    pthread_t th[1024];
    int64_t t0 = mono_ns();
    for (long c = 0; c < conns; c++)
        pthread_create(&th[c], NULL, worker, NULL);
    for (long c = 0; c < conns; c++)
        pthread_join(th[c], NULL);
    double secs = (double)(mono_ns() - t0) / 1e9;
    qsort(rtt_ms, (size_t)n_total, sizeof *rtt_ms, cmpd);
    printf("ok=%ld failed=%ld seconds=%.3f rate=%.0f p50_ms=%.2f p99_ms=%.2f\n", atomic_load(&n_ok),
           atomic_load(&n_fail), secs, secs > 0 ? (double)n_total / secs : 0, rtt_ms[n_total / 2],
           rtt_ms[(n_total * 99) / 100]);
    return atomic_load(&n_fail) ? 1 : 0;
}
