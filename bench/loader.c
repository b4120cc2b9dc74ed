/* SPDX-License-Identifier: Apache-2.0 */
/*
 * loader.c — the load phase of bench/entities: creates N AirQualityObserved entities (~1 KB,
 * 16 attributes incl. a GeoProperty Point) with POST /ngsi-ld/v1/entities over C keep-alive
 * connections, one thread per connection, ids urn:ngsi-ld:AirQualityObserved:0..N-1 handed out
 * by an atomic counter. Every answer must be 201; prints the count, the time and entities/s.
 *
 * Usage: loader PORT N CONNECTIONS      (127.0.0.1 only)
 * Output (one line, for the script): "created=N failed=F seconds=S rate=R bytes_per_entity=B"
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

static unsigned port;
static long n_total;
static atomic_long next_id;
static atomic_long n_ok, n_fail, body_bytes;

/* One entity, shaped like the Smart Data Model AirQualityObserved. */
static int entity_json(char *buf, size_t cap, long i)
{
    double f = (double)(i % 1000) / 10.0;
    double lon = 106.0 + (double)(i % 10007) / 10007.0;
    double lat = 20.0 + (double)(i % 9973) / 9973.0;
#define P(name, unit) "\"" name "\":{\"type\":\"Property\",\"value\":%.1f,\"unitCode\":\"" unit "\"},"
    return snprintf(
        buf, cap,
        "{\"id\":\"urn:ngsi-ld:AirQualityObserved:%ld\",\"type\":\"AirQualityObserved\","
        "\"dateObserved\":{\"type\":\"Property\",\"value\":\"2026-01-01T00:00:00Z\"},"
        "\"airQualityLevel\":{\"type\":\"Property\",\"value\":\"moderate\"},"
        "\"reliability\":{\"type\":\"Property\",\"value\":0.9},"
        "\"refDevice\":{\"type\":\"Relationship\",\"object\":\"urn:ngsi-ld:Device:%ld\"},"
        P("airQualityIndex", "C62") P("co", "GP") P("no", "GQ") "\"no2\":{\"type\":\"Property\",\"value\":%.1f,\"unitCode\":\"GQ\","
        "\"observedAt\":\"2026-01-01T00:00:00Z\"}," P("nox", "GQ")
        P("o3", "GQ") P("pm10", "GQ") P("pm25", "GQ") P("so2", "GQ") P("temperature", "CEL")
        P("relativeHumidity", "P1") P("windSpeed", "MTS")
        "\"location\":{\"type\":\"GeoProperty\",\"value\":{\"type\":\"Point\","
        "\"coordinates\":[%.5f,%.5f]}}}",
        i, i % 5000, f + 30, f / 100, f + 1, f + 22.5, f + 40, f + 10, f + 20, f + 12, f + 3,
        f / 10 + 5, f / 10 + 50, f / 100 + 2, lon, lat);
#undef P
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

/* Reads one response; returns its status or -1. Handles Content-Length bodies only. */
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
    while (have < need) { /* drain the body (problem details on errors) */
        char tmp[4096];
        size_t want = need - have < sizeof tmp ? need - have : sizeof tmp;
        ssize_t r = recv(fd, tmp, want, 0);
        if (r <= 0) {
            if (r < 0 && errno == EINTR)
                continue;
            return -1;
        }
        if (status != 201 && have < cap - 1) { /* keep the start for the error message */
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
    char body[4096], req[4608], resp[8192];
    int fd = connect_one();
    for (;;) {
        long i = atomic_fetch_add(&next_id, 1);
        if (i >= n_total)
            break;
        int blen = entity_json(body, sizeof body, i);
        int rlen = snprintf(req, sizeof req,
                            "POST /ngsi-ld/v1/entities HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                            port, blen, body);
        int status = -1;
        for (int attempt = 0; attempt < 2 && status < 0; attempt++) { /* reconnect once */
            if (fd < 0 && (fd = connect_one()) < 0)
                break;
            if (send_all(fd, req, (size_t)rlen) == 0)
                status = read_response(fd, resp, sizeof resp);
            if (status < 0) {
                close(fd);
                fd = -1;
            }
        }
        if (status == 201) {
            atomic_fetch_add(&n_ok, 1);
            atomic_fetch_add(&body_bytes, blen);
        } else {
            if (atomic_fetch_add(&n_fail, 1) < 3)
                fprintf(stderr, "loader: entity %ld: status %d: %.300s\n", i, status,
                        status > 0 ? resp : "(connection error)");
        }
    }
    if (fd >= 0)
        close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s PORT N CONNECTIONS\n", argv[0]);
        return 2;
    }
    port = (unsigned)strtoul(argv[1], NULL, 10);
    n_total = strtol(argv[2], NULL, 10);
    int conns = (int)strtol(argv[3], NULL, 10);
    if (conns < 1 || conns > 1024 || n_total < 1)
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
    printf("created=%ld failed=%ld seconds=%.2f rate=%.0f bytes_per_entity=%ld\n", ok, fail, s,
           (double)ok / s, ok ? atomic_load(&body_bytes) / ok : 0);
    free(t);
    return fail ? 1 : 0;
}
