/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loader.c — the load phase of bench/query: N entities of five Smart-Data-Model types (gen.h)
 * sent as batch upserts, POST /ngsi-ld/v1/entityOperations/upsert with a JSON array of BATCH
 * entities per request, over CONNECTIONS keep-alive connections (one thread each; batches handed
 * out by an atomic counter). The short names resolve through the @context at CONTEXT_URL, sent
 * in a Link header. Every answer must be 201 (some created) or 204 (all updated); anything else
 * (207 with errors, 4xx, 5xx, a dropped connection) counts the whole batch as failed.
 *
 * Usage: loader PORT N CONNECTIONS BATCH CONTEXT_URL       (127.0.0.1 only)
 * Output (one line, for the script):
 *   "upserted=N failed=F requests=R seconds=S rate=E bytes_per_entity=B"
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
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "gen.h"

#define MAX_ENTITY 2048 /* bytes of one generated entity, with room to spare */

static unsigned port;
static long n_total, batch;
static const char *context_url;
static atomic_long next_batch;
static atomic_long n_ok, n_fail, n_req, body_bytes;

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

/* Reads one response; returns its status or -1. Handles Content-Length bodies only. On a status
 * other than 201/204, buf keeps the start of the answer for the error message. */
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
    while (have < need) { /* drain the body (the created ids, or problem details) */
        char tmp[16384];
        size_t want = need - have < sizeof tmp ? need - have : sizeof tmp;
        ssize_t r = recv(fd, tmp, want, 0);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return -1;
        }
        if (status != 201 && status != 204 && have < cap - 1) {
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
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void *worker(void *arg)
{
    (void)arg;
    size_t cap = (size_t)batch * MAX_ENTITY + 4096;
    char *req = malloc(cap), resp[8192];
    if (!req)
        return NULL;
    int fd = connect_one();
    for (;;) {
        long first = atomic_fetch_add(&next_batch, 1) * batch;
        if (first >= n_total)
            break;
        long last = first + batch < n_total ? first + batch : n_total;
        /* The body goes after a header of fixed size, so its length is known before the header
         * is written: reserve the header room, write the body, then the header right-aligned. */
        const size_t hroom = 1024;
        char *body = req + hroom, *p = body;
        *p++ = '[';
        for (long i = first; i < last; i++) {
            if (i > first)
                *p++ = ',';
            p += gen_entity(p, MAX_ENTITY, i);
        }
        *p++ = ']';
        size_t blen = (size_t)(p - body);
        char hdr[1024];
        int hlen = snprintf(hdr, sizeof hdr,
                            "POST /ngsi-ld/v1/entityOperations/upsert HTTP/1.1\r\n"
                            "Host: 127.0.0.1:%u\r\nContent-Type: application/json\r\n"
                            "Link: <%s>; rel=\"http://www.w3.org/ns/json-ld#context\"; "
                            "type=\"application/ld+json\"\r\nContent-Length: %zu\r\n\r\n",
                            port, context_url, blen);
        if (hlen <= 0 || (size_t)hlen >= hroom)
            abort();
        char *msg = body - hlen;
        memcpy(msg, hdr, (size_t)hlen);
        int status = -1;
        for (int attempt = 0; attempt < 2 && status < 0; attempt++) { /* reconnect once */
            if (fd < 0 && (fd = connect_one()) < 0)
                break;
            if (send_all(fd, msg, (size_t)hlen + blen) == 0)
                status = read_response(fd, resp, sizeof resp);
            if (status < 0) {
                close(fd);
                fd = -1;
            }
        }
        atomic_fetch_add(&n_req, 1);
        if (status == 201 || status == 204) {
            atomic_fetch_add(&n_ok, last - first);
            atomic_fetch_add(&body_bytes, (long)blen);
        } else {
            atomic_fetch_add(&n_fail, last - first);
            static atomic_int reported;
            if (atomic_fetch_add(&reported, 1) < 3)
                fprintf(stderr, "loader: batch %ld..%ld: status %d: %.400s\n", first, last - 1,
                        status, status > 0 ? resp : "(connection error)");
        }
    }
    if (fd >= 0)
        close(fd);
    free(req);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 6) {
        fprintf(stderr, "usage: %s PORT N CONNECTIONS BATCH CONTEXT_URL\n", argv[0]);
        return 2;
    }
    port = (unsigned)strtoul(argv[1], NULL, 10);
    n_total = strtol(argv[2], NULL, 10);
    int conns = (int)strtol(argv[3], NULL, 10);
    batch = strtol(argv[4], NULL, 10);
    context_url = argv[5];
    if (conns < 1 || conns > 1024 || n_total < 1 || batch < 1 || batch > 100000 ||
        strlen(context_url) > 512)
        return 2;
    pthread_t *t = calloc((size_t)conns, sizeof *t);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int k = 0; k < conns; k++)
        pthread_create(&t[k], NULL, worker, NULL);
    for (int k = 0; k < conns; k++)
        pthread_join(t[k], NULL);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    long ok = atomic_load(&n_ok), fail = atomic_load(&n_fail);
    printf("upserted=%ld failed=%ld requests=%ld seconds=%.2f rate=%.0f bytes_per_entity=%ld\n", ok,
           fail, atomic_load(&n_req), s, (double)ok / s, ok ? atomic_load(&body_bytes) / ok : 0);
    free(t);
    return fail ? 1 : 0;
}
