/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz/netlist.c — libFuzzer target for the outbound guard's network-list parser and matcher
 * (net/guard.h): --outbound-allow / --outbound-deny text and URL hosts.
 *
 * Parses the input as a list; every parsed network must contain its own address and format to
 * a text that parses back to the same network. The input is also tried as a URL for the host
 * extraction and literal check. Aborts on any disagreement.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/guard.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 8192)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct pl_netlist l;
    char why[200];
    if (pl_netlist_parse(text, &l, why, sizeof why) == 0) {
        for (size_t i = 0; i < l.n; i++) {
            const struct pl_net *n = &l.nets[i];
            if (n->prefix > 128 || !pl_net_contains(n, n->addr))
                abort();
            char t[80];
            pl_net_format(n, t, sizeof t);
            struct pl_net back;
            if (pl_net_parse(t, strlen(t), &back) != 0 || back.prefix != n->prefix ||
                memcmp(back.addr, n->addr, 16) != 0)
                abort();
        }
        /* a guard denying the list refuses each network's own address */
        struct pl_guard_config cfg = {NULL, text, 0};
        struct pl_guard *g = NULL;
        if (pl_guard_new(&cfg, &g, why, sizeof why) != 0)
            abort();
        static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
        for (size_t i = 0; i < l.n; i++) {
            /* (a NAT64 address is judged as the IPv4 address it embeds: skipped) */
            if (memcmp(l.nets[i].addr, nat64, 12) != 0 &&
                pl_guard_check_ip(g, l.nets[i].addr, why, sizeof why) == 0)
                abort();
        }
        pl_guard_unref(g);
        pl_netlist_free(&l);
    } else if (l.nets || l.n) {
        abort();
    }
    char host[256];
    uint8_t ip[16];
    if (pl_guard_url_host(text, host, sizeof host) == 0 && strlen(host) >= sizeof host)
        abort();
    (void)pl_ip_parse(text, ip);
    (void)pl_guard_check_url(NULL, text, PL_GUARD_NOTIFY, why, sizeof why);
    free(text);
    return 0;
}
