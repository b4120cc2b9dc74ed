/* SPDX-License-Identifier: Apache-2.0 */
/*
 * guard.c — the pure core of the outbound guard (see guard.h): network lists, the address
 * policy and the scheme check. No I/O: the connect-time hooks are in guard_net.c.
 */
#include "net/guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct pl_guard {
    atomic_int refs;
    struct pl_netlist allow; /* --outbound-allow */
    struct pl_netlist deny;  /* --outbound-deny */
    int production;          /* --profile production */
};

/* ---- addresses and networks -------------------------------------------------------------- */

static const uint8_t mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
static const uint8_t nat64_prefix[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};

static void ip_from_v4(const struct in_addr *a, uint8_t ip[16])
{
    memcpy(ip, mapped_prefix, 12);
    memcpy(ip + 12, &a->s_addr, 4);
}

static int is_mapped(const uint8_t ip[16])
{
    return memcmp(ip, mapped_prefix, 12) == 0;
}

int pl_ip_parse(const char *s, uint8_t ip[16])
{
    if (!s || !*s)
        return -1;
    char buf[INET6_ADDRSTRLEN + 8];
    size_t n = strlen(s);
    if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
        s++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    struct in6_addr a6;
    if (strchr(buf, ':')) {
        if (inet_pton(AF_INET6, buf, &a6) != 1)
            return -1;
        memcpy(ip, a6.s6_addr, 16);
        return 0;
    }
    /* inet_aton takes every form a URL parser may turn into an IPv4 address (2130706433,
     * 0x7f.1, 0177.0.0.1, 127.1): a host that is one of them is an address, not a name. */
    struct in_addr a4;
    if (inet_aton(buf, &a4) == 0)
        return -1;
    ip_from_v4(&a4, ip);
    return 0;
}

int pl_ip_from_sockaddr(const struct sockaddr *sa, uint8_t ip[16])
{
    if (!sa)
        return -1;
    if (sa->sa_family == AF_INET) {
        struct sockaddr_in sin;
        memcpy(&sin, sa, sizeof sin);
        ip_from_v4(&sin.sin_addr, ip);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        struct sockaddr_in6 sin6;
        memcpy(&sin6, sa, sizeof sin6);
        memcpy(ip, sin6.sin6_addr.s6_addr, 16);
        return 0;
    }
    return -1;
}

void pl_ip_format(const uint8_t ip[16], char *buf, size_t len)
{
    char t[INET6_ADDRSTRLEN];
    if (is_mapped(ip))
        inet_ntop(AF_INET, ip + 12, t, sizeof t);
    else
        inet_ntop(AF_INET6, ip, t, sizeof t);
    snprintf(buf, len, "%s", t);
}

void pl_net_format(const struct pl_net *net, char *buf, size_t len)
{
    char t[INET6_ADDRSTRLEN];
    pl_ip_format(net->addr, t, sizeof t);
    int v4 = is_mapped(net->addr) && net->prefix >= 96;
    snprintf(buf, len, "%s/%u", t, v4 ? (unsigned)net->prefix - 96 : (unsigned)net->prefix);
}

static void mask_host_bits(struct pl_net *net)
{
    for (int i = 0; i < 16; i++) {
        int keep = (int)net->prefix - i * 8;
        if (keep >= 8)
            continue;
        net->addr[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
    }
}

int pl_net_parse(const char *s, size_t len, struct pl_net *out)
{
    char buf[INET6_ADDRSTRLEN + 8];
    if (!s || len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *slash = strchr(buf, '/');
    long prefix = -1;
    if (slash) {
        *slash = '\0';
        const char *p = slash + 1;
        if (!*p || strlen(p) > 3)
            return -1;
        prefix = 0;
        for (; *p; p++) {
            if (*p < '0' || *p > '9')
                return -1;
            prefix = prefix * 10 + (*p - '0');
        }
    }
    memset(out, 0, sizeof *out);
    struct in_addr a4;
    struct in6_addr a6;
    if (strchr(buf, ':')) {
        if (inet_pton(AF_INET6, buf, &a6) != 1 || prefix > 128)
            return -1;
        memcpy(out->addr, a6.s6_addr, 16);
        out->prefix = (uint8_t)(prefix < 0 ? 128 : prefix);
    } else {
        /* only the dotted quad here: a configuration is written by a person, and "10/8" or
         * "0x0a.1" would more likely be a typo than a wish */
        if (inet_pton(AF_INET, buf, &a4) != 1 || prefix > 32)
            return -1;
        ip_from_v4(&a4, out->addr);
        out->prefix = (uint8_t)(prefix < 0 ? 128 : prefix + 96);
    }
    mask_host_bits(out);
    return 0;
}

int pl_net_contains(const struct pl_net *net, const uint8_t ip[16])
{
    int bits = net->prefix;
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(net->addr, ip, (size_t)whole) != 0)
        return 0;
    if (rest == 0)
        return 1;
    uint8_t m = (uint8_t)(0xff << (8 - rest));
    return (net->addr[whole] & m) == (ip[whole] & m);
}

void pl_netlist_free(struct pl_netlist *l)
{
    if (!l)
        return;
    free(l->nets);
    l->nets = NULL;
    l->n = 0;
}

int pl_netlist_parse(const char *text, struct pl_netlist *out, char *why, size_t why_len)
{
    out->nets = NULL;
    out->n = 0;
    if (!text)
        return 0;
    const char *p = text;
    for (;;) {
        while (*p == ',' || *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
            p++;
        if (!*p)
            return 0;
        size_t len = strcspn(p, ", \t\r\n");
        if (out->n >= PL_NETLIST_MAX) {
            snprintf(why, why_len, "more than %d networks", PL_NETLIST_MAX);
            pl_netlist_free(out);
            return -1;
        }
        struct pl_net net;
        if (pl_net_parse(p, len, &net) != 0) {
            snprintf(why, why_len, "'%.*s' is not an IPv4 or IPv6 network (ADDRESS[/PREFIX])",
                     (int)(len > 80 ? 80 : len), p);
            pl_netlist_free(out);
            return -1;
        }
        if (out->n % 16 == 0) {
            struct pl_net *nn = realloc(out->nets, (out->n + 16) * sizeof *nn);
            if (!nn) {
                snprintf(why, why_len, "out of memory");
                pl_netlist_free(out);
                return -1;
            }
            out->nets = nn;
        }
        out->nets[out->n++] = net;
        p += len;
    }
}

/* The first network of `l` holding `ip`, or NULL. */
static const struct pl_net *list_find(const struct pl_netlist *l, const uint8_t ip[16])
{
    for (size_t i = 0; l && i < l->n; i++) {
        if (pl_net_contains(&l->nets[i], ip))
            return &l->nets[i];
    }
    return NULL;
}

/* ---- the default lists ------------------------------------------------------------------- */

#define V4(a, b, c, d, p)                                                                      \
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, a, b, c, d}, (uint8_t)((p) + 96)}

enum { DEF_METADATA = 1, DEF_OTHER = 0 };

struct def_net {
    struct pl_net net;
    int metadata; /* DEF_METADATA: lifted only by an allow entry naming the address itself */
    const char *what;
};

/* Denied by default, in every profile. Metadata first: its words win over "link-local". */
static const struct def_net default_deny[] = {
    {V4(169, 254, 169, 254, 32), DEF_METADATA, "a cloud metadata address"},
    {V4(100, 100, 100, 200, 32), DEF_METADATA, "a cloud metadata address"},
    {{{0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54}, 128},
     DEF_METADATA,
     "a cloud metadata address"},
    {V4(0, 0, 0, 0, 8), DEF_OTHER, "in 'this network' 0.0.0.0/8"},
    {V4(169, 254, 0, 0, 16), DEF_OTHER, "link-local"},
    {{{0xfe, 0x80}, 10}, DEF_OTHER, "link-local"},
    {V4(224, 0, 0, 0, 4), DEF_OTHER, "multicast"},
    {{{0xff}, 8}, DEF_OTHER, "multicast"},
    {V4(240, 0, 0, 0, 4), DEF_OTHER, "reserved or broadcast (240.0.0.0/4)"},
    {{{0}, 128}, DEF_OTHER, "the unspecified address"},
};

/* Also denied with --profile production. */
static const struct def_net production_deny[] = {
    {V4(10, 0, 0, 0, 8), DEF_OTHER, "private"},
    {V4(172, 16, 0, 0, 12), DEF_OTHER, "private"},
    {V4(192, 168, 0, 0, 16), DEF_OTHER, "private"},
    {V4(100, 64, 0, 0, 10), DEF_OTHER, "shared address space (100.64.0.0/10)"},
    {{{0xfc}, 7}, DEF_OTHER, "a unique local (private) IPv6 address"},
    {V4(127, 0, 0, 0, 8), DEF_OTHER, "loopback"},
    {{{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128}, DEF_OTHER, "loopback"},
};

static const struct def_net *defaults_find(const struct def_net *t, size_t n, const uint8_t ip[16])
{
    for (size_t i = 0; i < n; i++) {
        if (pl_net_contains(&t[i].net, ip))
            return &t[i];
    }
    return NULL;
}

/* ---- the guard --------------------------------------------------------------------------- */

int pl_guard_new(const struct pl_guard_config *cfg, struct pl_guard **out, char *why,
                 size_t why_len)
{
    *out = NULL;
    struct pl_guard *g = calloc(1, sizeof *g);
    if (!g) {
        snprintf(why, why_len, "out of memory");
        return -1;
    }
    atomic_init(&g->refs, 1);
    char w[160] = "";
    if (cfg && pl_netlist_parse(cfg->allow, &g->allow, w, sizeof w) != 0) {
        snprintf(why, why_len, "--outbound-allow: %s", w);
        free(g);
        return -1;
    }
    if (cfg && pl_netlist_parse(cfg->deny, &g->deny, w, sizeof w) != 0) {
        snprintf(why, why_len, "--outbound-deny: %s", w);
        pl_netlist_free(&g->allow);
        free(g);
        return -1;
    }
    g->production = cfg ? cfg->production : 0;
    *out = g;
    return 0;
}

struct pl_guard *pl_guard_ref(struct pl_guard *g)
{
    if (g)
        atomic_fetch_add(&g->refs, 1);
    return g;
}

void pl_guard_unref(struct pl_guard *g)
{
    if (g && atomic_fetch_sub(&g->refs, 1) == 1) {
        pl_netlist_free(&g->allow);
        pl_netlist_free(&g->deny);
        free(g);
    }
}

int pl_guard_check_ip(const struct pl_guard *g, const uint8_t ip_in[16], char *why,
                      size_t why_len)
{
    uint8_t ip[16];
    memcpy(ip, ip_in, 16);
    if (memcmp(ip, nat64_prefix, 12) == 0)
        memcpy(ip, mapped_prefix, 12); /* NAT64 reaches the IPv4 address it embeds */
    char a[INET6_ADDRSTRLEN], n[INET6_ADDRSTRLEN + 8];
    pl_ip_format(ip, a, sizeof a);
    const struct pl_net *hit = g ? list_find(&g->deny, ip) : NULL;
    if (hit) {
        pl_net_format(hit, n, sizeof n);
        snprintf(why, why_len, "address %s is denied by --outbound-deny %s", a, n);
        return -1;
    }
    const struct def_net *d = defaults_find(default_deny, sizeof default_deny / sizeof *default_deny,
                                            ip);
    const char *profile = "";
    if (!d && g && g->production) {
        d = defaults_find(production_deny, sizeof production_deny / sizeof *production_deny, ip);
        profile = " with --profile production";
    }
    if (!d)
        return 0;
    hit = g ? list_find(&g->allow, ip) : NULL;
    if (hit && (!d->metadata || hit->prefix == 128))
        return 0; /* allow wins over the defaults; a metadata address only when named */
    snprintf(why, why_len, "address %s is %s (denied by default%s; --outbound-allow lifts it)", a,
             d->what, profile);
    return -1;
}

int pl_guard_check_sockaddr(const struct pl_guard *g, const struct sockaddr *sa, char *why,
                            size_t why_len)
{
    uint8_t ip[16];
    if (pl_ip_from_sockaddr(sa, ip) != 0) {
        snprintf(why, why_len, "only IPv4 and IPv6 connections are made");
        return -1;
    }
    return pl_guard_check_ip(g, ip, why, why_len);
}

/* ---- URLs -------------------------------------------------------------------------------- */

int pl_guard_check_scheme(const char *url, enum pl_guard_use use, char *why, size_t why_len)
{
    static const char *const web[] = {"http", "https", NULL};
    static const char *const notify[] = {"http", "https", "mqtt", "mqtts", NULL};
    const char *const *ok = use == PL_GUARD_NOTIFY ? notify : web;
    size_t n = url ? strcspn(url, ":/?#") : 0;
    if (url && url[n] == ':') {
        for (size_t i = 0; ok[i]; i++) {
            if (strlen(ok[i]) == n && strncasecmp(url, ok[i], n) == 0 && url[n + 1] == '/' &&
                url[n + 2] == '/')
                return 0;
        }
        snprintf(why, why_len, "scheme '%.*s' is not allowed (only %s)", (int)(n > 20 ? 20 : n),
                 url, use == PL_GUARD_NOTIFY ? "http, https, mqtt, mqtts" : "http, https");
        return -1;
    }
    snprintf(why, why_len, "not an absolute URL with a scheme (only %s)",
             use == PL_GUARD_NOTIFY ? "http, https, mqtt, mqtts" : "http, https");
    return -1;
}

int pl_guard_url_host(const char *url, char *buf, size_t len)
{
    const char *p = url ? strstr(url, "://") : NULL;
    if (!p)
        return -1;
    p += 3;
    size_t alen = strcspn(p, "/?#");
    const char *host = p;
    for (size_t i = 0; i < alen; i++) {
        if (p[i] == '@')
            host = p + i + 1; /* the last '@' ends the user info */
    }
    size_t hlen = (size_t)(p + alen - host);
    if (hlen && host[0] == '[') {
        const char *rb = memchr(host, ']', hlen);
        if (!rb)
            return -1;
        hlen = (size_t)(rb - host - 1);
        host++;
    } else {
        const char *colon = memchr(host, ':', hlen);
        if (colon)
            hlen = (size_t)(colon - host);
    }
    if (hlen == 0 || hlen >= len)
        return -1;
    memcpy(buf, host, hlen);
    buf[hlen] = '\0';
    return 0;
}

int pl_guard_check_url(const struct pl_guard *g, const char *url, enum pl_guard_use use,
                       char *why, size_t why_len)
{
    if (pl_guard_check_scheme(url, use, why, why_len) != 0)
        return -1;
    char host[256];
    uint8_t ip[16];
    if (pl_guard_url_host(url, host, sizeof host) != 0) {
        snprintf(why, why_len, "the URL has no usable host");
        return -1;
    }
    if (pl_ip_parse(host, ip) != 0)
        return 0; /* a name: checked at connect time, address by address */
    return pl_guard_check_ip(g, ip, why, why_len);
}
