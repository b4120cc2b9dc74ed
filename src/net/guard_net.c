/* SPDX-License-Identifier: Apache-2.0 */
/*
 * guard_net.c — the connect-time hooks of the outbound guard (see guard.h): the libcurl set-up
 * that checks each address curl is about to connect to, a checking resolver and a peer check
 * for clients that connect themselves (MQTT).
 */
#include "net/guard.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

/* CURLOPT_OPENSOCKETFUNCTION: called for every connection curl opens (each address of each
 * redirect hop, both families of happy eyeballs) with the address it resolved. Refusing here is
 * what makes DNS rebinding useless: the check is on the address connected to, not on a name. */
static curl_socket_t open_checked(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct pl_guard_curl *gc = clientp;
    char why[sizeof gc->why];
    if (purpose != CURLSOCKTYPE_IPCXN ||
        pl_guard_check_sockaddr(gc->g, &a->addr, why, sizeof why) != 0) {
        if (purpose != CURLSOCKTYPE_IPCXN)
            snprintf(why, sizeof why, "only outgoing TCP connections are made");
        if (!gc->why[0])
            snprintf(gc->why, sizeof gc->why, "refused by the outbound guard: %.160s", why);
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

int pl_guard_curl_setup(void *curl, struct pl_guard_curl *gc, int follow)
{
    CURL *h = curl;
    gc->why[0] = '\0';
    const char *protos = "http,https";
    int bad = 0;
#if LIBCURL_VERSION_NUM >= 0x075500
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, protos) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, protos) != CURLE_OK;
#else
    (void)protos;
    bad |= curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) !=
           CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS,
                            (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS)) != CURLE_OK;
#endif
    bad |= curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_checked) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, gc) != CURLE_OK;
    /* A proxy from the environment would be the only address the hook sees. */
    bad |= curl_easy_setopt(h, CURLOPT_PROXY, "") != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, follow ? 1L : 0L) != CURLE_OK;
    bad |= curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)PL_GUARD_MAX_REDIRECTS) != CURLE_OK;
    return bad ? -1 : 0;
}

const char *pl_guard_curl_reason(struct pl_guard_curl *gc, int curl_code)
{
    if (gc->why[0])
        return gc->why;
    switch ((CURLcode)curl_code) {
    case CURLE_TOO_MANY_REDIRECTS:
        snprintf(gc->why, sizeof gc->why,
                 "refused by the outbound guard: more than %d redirects", PL_GUARD_MAX_REDIRECTS);
        return gc->why;
    case CURLE_UNSUPPORTED_PROTOCOL:
        snprintf(gc->why, sizeof gc->why,
                 "refused by the outbound guard: a redirect to a scheme other than http or https");
        return gc->why;
    default:
        return NULL;
    }
}

int pl_guard_resolve(const struct pl_guard *g, const char *host, char *ip_out, size_t ip_len,
                     int *refused, char *why, size_t why_len)
{
    *refused = 0;
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(why, why_len, "cannot resolve %.100s: %s", host, gai_strerror(rc));
        if (res)
            freeaddrinfo(res);
        return -1;
    }
    const struct addrinfo *first = NULL;
    char w[200];
    for (const struct addrinfo *ai = res; ai; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        if (pl_guard_check_sockaddr(g, ai->ai_addr, w, sizeof w) != 0) {
            snprintf(why, why_len, "refused by the outbound guard: %.100s: %s", host, w);
            *refused = 1;
            freeaddrinfo(res);
            return -1;
        }
        if (!first)
            first = ai;
    }
    if (!first) {
        snprintf(why, why_len, "cannot resolve %.100s: no IPv4 or IPv6 address", host);
        freeaddrinfo(res);
        return -1;
    }
    uint8_t ip[16];
    pl_ip_from_sockaddr(first->ai_addr, ip);
    char t[INET6_ADDRSTRLEN];
    pl_ip_format(ip, t, sizeof t);
    freeaddrinfo(res);
    if (strlen(t) >= ip_len) {
        snprintf(why, why_len, "address too long");
        return -1;
    }
    memcpy(ip_out, t, strlen(t) + 1);
    return 0;
}

int pl_guard_check_peer(const struct pl_guard *g, int fd, char *why, size_t why_len)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    if (fd < 0 || getpeername(fd, (struct sockaddr *)&ss, &sl) != 0) {
        snprintf(why, why_len, "refused by the outbound guard: no peer address to check");
        return -1;
    }
    char w[200];
    if (pl_guard_check_sockaddr(g, (struct sockaddr *)&ss, w, sizeof w) != 0) {
        snprintf(why, why_len, "refused by the outbound guard: %s", w);
        return -1;
    }
    return 0;
}
