/* SPDX-License-Identifier: Apache-2.0 */
/*
 * listen.c — the listen address: "localhost", an IPv4 address or an IPv6 address (with or
 * without brackets) into a socket address, and whether it is a loopback address (the "protected
 * mode" of issue 12: without auth Polis listens on loopback only). Pure: no DNS, no socket.
 */
#include "http/http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <strings.h>

/* Copies `host` without the brackets of "[::1]" into buf. 0, or -1 when it does not fit. */
static int unbracket(const char *host, char *buf, size_t cap)
{
    size_t n = strlen(host);
    if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
        host++;
        n -= 2;
    }
    if (n >= cap)
        return -1;
    memcpy(buf, host, n);
    buf[n] = '\0';
    return 0;
}

int pl_http_listen_addr(const char *host, int port, struct sockaddr_storage *out)
{
    char h[INET6_ADDRSTRLEN + 8];
    memset(out, 0, sizeof *out);
    if (!host || port < 0 || port > 65535 || unbracket(host, h, sizeof h) != 0)
        return -1;
    /* "localhost" is taken literally (no resolver): a hosts file cannot turn it into a public
     * address behind the loopback check's back. */
    if (strcasecmp(h, "localhost") == 0)
        memcpy(h, "127.0.0.1", sizeof "127.0.0.1");
    struct sockaddr_in *v4 = (struct sockaddr_in *)(void *)out;
    if (inet_pton(AF_INET, h, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        return 0;
    }
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)(void *)out;
    if (inet_pton(AF_INET6, h, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        return 0;
    }
    return -1;
}

int pl_http_host_is_loopback(const char *host)
{
    struct sockaddr_storage ss;
    if (pl_http_listen_addr(host, 0, &ss) != 0)
        return 0; /* a name other than localhost, or garbage: not known to be loopback */
    if (ss.ss_family == AF_INET) {
        const struct sockaddr_in *v4 = (const struct sockaddr_in *)(const void *)&ss;
        return (ntohl(v4->sin_addr.s_addr) >> 24) == 127; /* 127.0.0.0/8 */
    }
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)(const void *)&ss;
    const unsigned char *a = v6->sin6_addr.s6_addr;
    static const unsigned char one[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(a, one, 16) == 0)
        return 1; /* ::1 */
    return memcmp(a, mapped, 12) == 0 && a[12] == 127; /* ::ffff:127.0.0.0/104 */
}
