/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ceiling.c — the bare-HTTP ceiling for bench/entities: libmicrohttpd configured exactly like
 * Polis (src/http/server.c: internal polling thread, epoll, thread pool, suspend/resume allowed,
 * ITC, 60 s connection timeout) answering every request with a fixed ~120 B JSON body after
 * reading (and discarding) any request body. No parsing, no store: what is left is the cost of
 * HTTP itself on this machine, which is what the benchmark's ratios divide by.
 *
 * Usage: ceiling PORT [THREADS]   (listens on 127.0.0.1 only; SIGTERM/SIGINT stop it)
 */
#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char BODY[] =
    "{\"id\":\"urn:ngsi-ld:AirQualityObserved:ceiling\",\"type\":\"AirQualityObserved\","
    "\"status\":\"ok\",\"pad\":\"0123456789abcdef0123\"}";

static struct MHD_Response *resp;
static volatile sig_atomic_t stop;

static void on_signal(int s)
{
    (void)s;
    stop = 1;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c, const char *url,
                                 const char *method, const char *version, const char *data,
                                 size_t *size, void **state)
{
    (void)cls;
    (void)url;
    (void)method;
    (void)version;
    (void)data;
    if (*state == NULL) { /* first call: headers only */
        *state = (void *)1;
        return MHD_YES;
    }
    if (*size) { /* body chunk: discard it */
        *size = 0;
        return MHD_YES;
    }
    return MHD_queue_response(c, MHD_HTTP_OK, resp);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s PORT [THREADS]\n", argv[0]);
        return 2;
    }
    unsigned port = (unsigned)strtoul(argv[1], NULL, 10);
    unsigned threads = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 2u;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    resp = MHD_create_response_from_buffer(sizeof BODY - 1, (void *)BODY, MHD_RESPMEM_PERSISTENT);
    MHD_add_response_header(resp, "Content-Type", "application/json");

    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ITC | MHD_USE_ERROR_LOG;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_access, NULL, MHD_OPTION_SOCK_ADDR, &sa,
        MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_CONNECTION_TIMEOUT, 60u,
        MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "ceiling: cannot listen on 127.0.0.1:%u\n", port);
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    while (!stop)
        pause();
    MHD_stop_daemon(d);
    MHD_destroy_response(resp);
    return 0;
}
