/* SPDX-License-Identifier: Apache-2.0 */
/*
 * updater.c — the request side of bench/notify/run, over keep-alive connections to Polis on
 * 127.0.0.1 (one thread per connection).
 *
 *   updater post PORT PATH FILE
 *       POSTs every line of FILE (a JSON body) to PATH, in order, on one connection; every answer
 *       must be 2xx.
 *   updater delete PORT PREFIX FILE
 *       DELETE PREFIX<line> for every line of FILE; every answer must be 2xx.
 *   updater patch PORT N NENT CONNS RATE
 *       N x PATCH /ngsi-ld/v1/entities/urn:ngsi-ld:NB:<i % NENT>/attrs, update i = 0..N-1 taken
 *       from an atomic counter by CONNS connections, body
 *       {"seq":{"type":"Property","value":i},"sentAt":{"type":"Property","value":<us>}}
 *       where <us> is CLOCK_REALTIME in microseconds just before the send. RATE > 0 paces the
 *       updates: update i is not sent before start + i / RATE seconds. Every answer must be 204.
 *   updater batch PORT N NENT BATCH CONNS
 *       N updates as POST /ngsi-ld/v1/entityOperations/upsert?options=update of BATCH entities
 *       each (update i is entity i % NENT, of type NBT<k % 100>, with the same seq and sentAt
 *       attributes). Batch i goes out on connection i % CONNS, so when NENT / BATCH is a
 *       multiple of CONNS each connection always updates the same entities, and the updates of
 *       one entity leave in order (two connections updating one entity at once could commit in
 *       either order, which the receiver would count as out of order). Answers must be 2xx.
 *
 * Output (one line): "ok=N failed=F seconds=S rate=R p50_ms=X p99_ms=X" (rate in updates or
 * requests per second; p50/p99 of the request round trip), plus the first failures on stderr.
 * Exit status 1 when anything failed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
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

static unsigned port;
static long n_total, n_ent, batch_sz, rate;
static atomic_long next_i, n_ok, n_fail, n_err_printed;
static int64_t t0_ns;
static double *rtt_ms; /* per request */
static char **lines;
static long n_lines;
static const char *path_arg;
static enum { M_POST, M_DELETE, M_PATCH, M_BATCH } mode;

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t real_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
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

/* Reads one response (Content-Length bodies); returns the status or -1; the start of the body
 * of a non-2xx answer stays in buf. */
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
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One request with `body` (may be NULL); returns the status or -1 (reconnects once). */
static int request(int *fd, const char *method, const char *path, const char *body, size_t blen,
                   char *rbuf, size_t rcap)
{
    char head[1024];
    for (int attempt = 0; attempt < 2; attempt++) {
        if (*fd < 0 && (*fd = connect_one()) < 0)
            return -1;
        int hl = snprintf(head, sizeof head,
                          "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n%sContent-Length: %zu\r\n\r\n",
                          method, path, port,
                          body ? "Content-Type: application/json\r\n" : "", blen);
        if (send_all(*fd, head, (size_t)hl) == 0 && (!blen || send_all(*fd, body, blen) == 0)) {
            int st = read_response(*fd, rbuf, rcap);
            if (st > 0)
                return st;
        }
        close(*fd);
        *fd = -1;
        if (attempt == 0 && mode != M_PATCH && mode != M_BATCH)
            continue; /* a stale keep-alive connection: once more */
        break;
    }
    return -1;
}

static void failed(long i, int st, const char *rbuf)
{
    atomic_fetch_add(&n_fail, 1);
    if (atomic_fetch_add(&n_err_printed, 1) < 5) {
        const char *b = strstr(rbuf, "\r\n\r\n");
        fprintf(stderr, "updater: request %ld: status %d %.300s\n", i, st, b ? b + 4 : "");
    }
}

static void sleep_until(int64_t due_ns)
{
    for (;;) {
        int64_t now = mono_ns();
        if (now >= due_ns)
            return;
        struct timespec ts = {(due_ns - now) / 1000000000, (due_ns - now) % 1000000000};
        nanosleep(&ts, NULL);
    }
}

static long n_conns = 1;

static void *worker(void *arg)
{
    long wid = (long)(intptr_t)arg, round = 0;
    int fd = -1;
    size_t cap = (size_t)(batch_sz > 0 ? batch_sz : 1) * 200 + 4096;
    char *body = malloc(cap), rbuf[4096], path[512];
    long steps = mode == M_BATCH ? (n_total + batch_sz - 1) / batch_sz
                 : mode == M_PATCH ? n_total
                                   : n_lines;
    for (;;) {
        /* batches: striped over the connections (see the usage); the rest: shared */
        long i = mode == M_BATCH ? wid + n_conns * round++ : atomic_fetch_add(&next_i, 1);
        if (i >= steps)
            break;
        int st;
        int64_t t;
        switch (mode) {
        case M_POST:
            t = mono_ns();
            st = request(&fd, "POST", path_arg, lines[i], strlen(lines[i]), rbuf, sizeof rbuf);
            break;
        case M_DELETE:
            snprintf(path, sizeof path, "%s%s", path_arg, lines[i]);
            t = mono_ns();
            st = request(&fd, "DELETE", path, NULL, 0, rbuf, sizeof rbuf);
            break;
        case M_PATCH: {
            if (rate > 0)
                sleep_until(t0_ns + (int64_t)((double)i * 1e9 / (double)rate));
            snprintf(path, sizeof path, "/ngsi-ld/v1/entities/urn:ngsi-ld:NB:%ld/attrs",
                     i % n_ent);
            int bl = snprintf(body, cap,
                              "{\"seq\":{\"type\":\"Property\",\"value\":%ld},"
                              "\"sentAt\":{\"type\":\"Property\",\"value\":%lld}}",
                              i, (long long)real_us());
            t = mono_ns();
            st = request(&fd, "PATCH", path, body, (size_t)bl, rbuf, sizeof rbuf);
            break;
        }
        default: { /* M_BATCH */
            long from = i * batch_sz, to = from + batch_sz;
            if (to > n_total)
                to = n_total;
            long long us = real_us();
            size_t bl = 0;
            body[bl++] = '[';
            for (long u = from; u < to; u++) {
                long k = u % n_ent;
                bl += (size_t)snprintf(body + bl, cap - bl,
                                       "%s{\"id\":\"urn:ngsi-ld:NB:%ld\",\"type\":\"NBT%ld\","
                                       "\"seq\":{\"type\":\"Property\",\"value\":%ld},"
                                       "\"sentAt\":{\"type\":\"Property\",\"value\":%lld}}",
                                       u > from ? "," : "", k, k % 100, u, us);
            }
            body[bl++] = ']';
            t = mono_ns();
            st = request(&fd, "POST", "/ngsi-ld/v1/entityOperations/upsert?options=update",
                         body, bl, rbuf, sizeof rbuf);
            break;
        }
        }
        rtt_ms[i] = (double)(mono_ns() - t) / 1e6;
        if (st >= 200 && st < 300 && !(mode == M_PATCH && st != 204) &&
            !(mode == M_BATCH && st == 207))
            atomic_fetch_add(&n_ok, 1);
        else
            failed(i, st, rbuf);
    }
    if (fd >= 0)
        close(fd);
    free(body);
    return NULL;
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void read_lines(const char *file)
{
    FILE *f = fopen(file, "r");
    if (!f) {
        perror(file);
        exit(2);
    }
    char *l = NULL;
    size_t lcap = 0;
    ssize_t r;
    long cap = 0;
    while ((r = getline(&l, &lcap, f)) > 0) {
        while (r > 0 && (l[r - 1] == '\n' || l[r - 1] == '\r'))
            l[--r] = 0;
        if (!r)
            continue;
        if (n_lines == cap) {
            cap = cap ? cap * 2 : 64;
            lines = realloc(lines, (size_t)cap * sizeof *lines);
        }
        lines[n_lines++] = strdup(l);
    }
    free(l);
    fclose(f);
}

static void usage(void)
{
    fprintf(stderr, "usage: updater post PORT PATH FILE | delete PORT PREFIX FILE |\n"
                    "       patch PORT N NENT CONNS RATE | batch PORT N NENT BATCH CONNS\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 5)
        usage();
    port = (unsigned)strtoul(argv[2], NULL, 10);
    long conns = 1, steps;
    if (strcmp(argv[1], "post") == 0 || strcmp(argv[1], "delete") == 0) {
        mode = argv[1][0] == 'p' ? M_POST : M_DELETE;
        path_arg = argv[3];
        read_lines(argv[4]);
        steps = n_lines;
    } else if (strcmp(argv[1], "patch") == 0 && argc == 7) {
        mode = M_PATCH;
        n_total = strtol(argv[3], NULL, 10);
        n_ent = strtol(argv[4], NULL, 10);
        conns = strtol(argv[5], NULL, 10);
        rate = strtol(argv[6], NULL, 10);
        steps = n_total;
    } else if (strcmp(argv[1], "batch") == 0 && argc == 7) {
        mode = M_BATCH;
        n_total = strtol(argv[3], NULL, 10);
        n_ent = strtol(argv[4], NULL, 10);
        batch_sz = strtol(argv[5], NULL, 10);
        conns = strtol(argv[6], NULL, 10);
        if (batch_sz < 1 || batch_sz > n_ent)
            usage();
        steps = (n_total + batch_sz - 1) / batch_sz;
    } else {
        usage();
    }
    if (conns < 1 || conns > 1024 || (mode >= M_PATCH && (n_total < 1 || n_ent < 1)))
        usage();
    n_conns = conns;
    rtt_ms = calloc((size_t)(steps > 0 ? steps : 1), sizeof *rtt_ms);
    pthread_t th[1024];
    t0_ns = mono_ns();
    for (long c = 0; c < conns; c++)
        pthread_create(&th[c], NULL, worker, (void *)(intptr_t)c);
    for (long c = 0; c < conns; c++)
        pthread_join(th[c], NULL);
    double secs = (double)(mono_ns() - t0_ns) / 1e9;
    long units = mode == M_BATCH ? n_total : steps;
    qsort(rtt_ms, (size_t)steps, sizeof *rtt_ms, cmpd);
    printf("ok=%ld failed=%ld seconds=%.3f rate=%.0f p50_ms=%.2f p99_ms=%.2f\n",
           atomic_load(&n_ok), atomic_load(&n_fail), secs, secs > 0 ? (double)units / secs : 0,
           steps ? rtt_ms[steps / 2] : 0, steps ? rtt_ms[(steps * 99) / 100] : 0);
    return atomic_load(&n_fail) ? 1 : 0;
}
