/* SPDX-License-Identifier: Apache-2.0 */
/*
 * edge.c — protected mode and the edge defaults (see edge.h). Redis's "protected mode" is the
 * model: a server without authentication must not be reachable from the network by accident,
 * so binding a non-loopback address without auth needs an explicit --insecure.
 */
#include "app/edge.h"

#include <string.h>

#include "base/log.h"

int pl_app_edge_check(const struct pl_config *cfg, struct pl_err *err)
{
    if (!cfg->tls_cert[0] != !cfg->tls_key[0])
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "--tls-cert and --tls-key go together: give both or neither");
    int auth_on = strcmp(cfg->auth, "on") == 0;
    int loopback = pl_http_host_is_loopback(cfg->listen_host);
    if (auth_on)
        return 0;
    if (loopback) {
        pl_log_info("auth is off: listening on loopback only (%s); every local client may do "
                    "everything. Use --auth on to expose Polis to a network",
                    cfg->listen_host);
        return 0;
    }
    if (!cfg->insecure)
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "refusing to listen on '%s' with --auth off: anyone who can reach the "
                          "port could read, change and delete all data. Use --auth on, or a "
                          "loopback address (127.0.0.1, ::1, localhost), or --insecure to accept "
                          "the risk",
                          cfg->listen_host);
    pl_log_warn("auth is off and --insecure is given: listening on '%s' WITHOUT authentication; "
                "anyone who can reach the port may read, change and delete all data",
                cfg->listen_host);
    return 0;
}

/* `given` when the option was given (>= 0), else the profile's default. */
static unsigned pick(int given, int production, unsigned dflt, unsigned prod)
{
    if (given >= 0)
        return (unsigned)given;
    return production ? prod : dflt;
}

void pl_app_edge_http_config(const struct pl_config *cfg, struct pl_http_config *h)
{
    int prod = strcmp(cfg->profile, "production") == 0;
    h->tls_cert = cfg->tls_cert[0] ? cfg->tls_cert : NULL;
    h->tls_key = cfg->tls_key[0] ? cfg->tls_key : NULL;
    /* Off by default: the test suites and local tools send bursts from 127.0.0.1. The
     * production values leave room for a busy integration and stop a flood. */
    h->rate_principal = pick(cfg->rate_limit, prod, 0, 100);
    h->rate_principal_burst = pick(cfg->rate_burst, 0, 2 * h->rate_principal, 0);
    h->rate_addr = pick(cfg->rate_limit_addr, prod, 0, 200);
    h->rate_addr_burst = pick(cfg->rate_burst_addr, 0, 2 * h->rate_addr, 0);
    if (h->rate_principal && h->rate_principal_burst < 1)
        h->rate_principal_burst = 1;
    if (h->rate_addr && h->rate_addr_burst < 1)
        h->rate_addr_burst = 1;
    h->max_conns_per_addr = pick(cfg->max_conns_per_addr, prod, 128, 64);
    h->header_timeout_s = pick(cfg->header_timeout, prod, 30, 10);
    h->body_timeout_s = pick(cfg->body_timeout, prod, 120, 60);
}
