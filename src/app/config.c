/* SPDX-License-Identifier: Apache-2.0 */
#include "app/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/limits.h"

enum kind { K_STR, K_INT, K_SIZE, K_LONG, K_FLAG, K_LISTEN };

struct opt {
    const char *name; /* long option without "--" */
    const char *env;  /* environment variable */
    enum kind kind;
    size_t off;      /* offset in struct pl_config */
    size_t size;     /* buffer size for K_STR */
    const char *arg; /* argument name in --help */
    const char *help;
};

#define F(m) offsetof(struct pl_config, m), sizeof(((struct pl_config *)0)->m)

static const struct opt opts[] = {
    {"listen", "POLIS_LISTEN", K_LISTEN, F(listen_host), "HOST:PORT",
     "address and port to listen on (default 127.0.0.1:1026)"},
    {"data", "POLIS_DATA", K_STR, F(data_dir), "DIR", "data directory (default ./var)"},
    {"store", "POLIS_STORE", K_STR, F(store_url), "URL",
     "store URL: sqlite:DIR (default sqlite:<data>); postgresql://... later"},
    {"log-level", "POLIS_LOG_LEVEL", K_STR, F(log_level), "LEVEL",
     "error, warn, info or debug (default info)"},
    {"contexts", "POLIS_CONTEXTS", K_STR, F(contexts_dir), "DIR",
     "preloaded @context directory with a preload.map of 'URL file' lines"},
    {"demo", "POLIS_DEMO", K_STR, F(demo_dir), "DIR",
     "demo city entities (*.jsonld), loaded only into an empty store"},
    {"no-demo", "POLIS_NO_DEMO", K_FLAG, F(no_demo), NULL, "start with an empty store"},
    {"self-url", "POLIS_SELF_URL", K_STR, F(self_url), "URL",
     "base URL clients use to reach this server (for hosted @context URLs)"},
    {"threads", "POLIS_THREADS", K_INT, F(threads), "N", "network threads (default 4)"},
    {"sync-full", "POLIS_SYNC_FULL", K_FLAG, F(sync_full), NULL,
     "fsync every commit (survives power loss; default survives process crashes)"},
    {"max-body", "POLIS_MAX_BODY", K_SIZE, F(max_body), "BYTES",
     "largest request body (default 16777216)"},
    {"max-depth", "POLIS_MAX_DEPTH", K_INT, F(max_depth), "N",
     "deepest JSON nesting in a payload (default 32)"},
    {"max-attrs", "POLIS_MAX_ATTRS", K_INT, F(max_attrs), "N",
     "most attributes in one entity (default 1024)"},
    {"max-id-len", "POLIS_MAX_ID_LEN", K_SIZE, F(max_id_len), "BYTES",
     "longest entity id or name (default 1024)"},
    {"fetch-timeout", "POLIS_FETCH_TIMEOUT", K_LONG, F(fetch_timeout_ms), "MS",
     "timeout to download a remote @context (default 5000)"},
    {"max-context-bytes", "POLIS_MAX_CONTEXT_BYTES", K_SIZE, F(max_context_bytes), "BYTES",
     "largest remote @context document (default 1048576)"},
    {"history", "POLIS_HISTORY", K_STR, F(history), "on|off",
     "record attribute history for the temporal API (default on)"},
    {"history-off-tenants", "POLIS_HISTORY_OFF_TENANTS", K_STR, F(history_off_tenants), "LIST",
     "comma-separated tenants without history ('-' is the default tenant)"},
    {"history-off-types", "POLIS_HISTORY_OFF_TYPES", K_STR, F(history_off_types), "LIST",
     "comma-separated entity types (IRIs or default-context terms) without history"},
    {"history-purge-on-delete", "POLIS_HISTORY_PURGE_ON_DELETE", K_FLAG, F(history_purge_on_delete),
     NULL, "deleting an entity also deletes its history"},
    {"history-retention", "POLIS_HISTORY_RETENTION", K_STR, F(history_retention), "RULES",
     "TYPE=LIMIT,... with TYPE an IRI, term or *, LIMIT an ISO 8601 duration or a count"},
    {"temporal-max-instances", "POLIS_TEMPORAL_MAX_INSTANCES", K_INT, F(temporal_max_instances),
     "N", "most instances per attribute in one temporal response (default 1000)"},
    {"notify-batch", "POLIS_NOTIFY_BATCH", K_INT, F(notify_batch), "N",
     "most changes in one notification (default 1000; 1: one notification per change)"},
    {"notify-pending", "POLIS_NOTIFY_PENDING", K_INT, F(notify_pending), "N",
     "changes waiting per subscription for a slow endpoint before the oldest are dropped "
     "(default 10000)"},

    /* ---- security (issue 12). One block per part, each under its own heading. ---- */
    {"auth", "POLIS_AUTH", K_STR, F(auth), "on|off",
     "authentication and authorization (default off: loopback only, everyone may do all)"},
    {"profile", "POLIS_PROFILE", K_STR, F(profile), "production",
     "production: stricter defaults (outbound private ranges denied unless allowed)"},
    {"insecure", "POLIS_INSECURE", K_FLAG, F(insecure), NULL,
     "allow listening on a non-loopback address with --auth off"},

    /* -- credentials: users, API keys, Polis tokens, sessions -- */
    {"access-token-ttl", "POLIS_ACCESS_TOKEN_TTL", K_INT, F(access_token_ttl), "SECONDS",
     "lifetime of the access tokens of POST /auth/token (default 900)"},
    {"session-ttl", "POLIS_SESSION_TTL", K_INT, F(session_ttl), "SECONDS",
     "lifetime of a browser session of POST /auth/session (default 28800)"},

    /* -- external JWTs (identity provider) -- */
    {"jwks", "POLIS_JWKS", K_STR, F(jwks), "FILE",
     "JWKS (or single JWK) file of the identity provider's keys for bearer JWTs"},
    {"jwt-issuer", "POLIS_JWT_ISSUER", K_STR, F(jwt_issuer), "ISS", "required JWT 'iss'"},
    {"jwt-audience", "POLIS_JWT_AUDIENCE", K_STR, F(jwt_audience), "AUD",
     "required JWT 'aud' (one of)"},
    {"jwt-roles-claim", "POLIS_JWT_ROLES_CLAIM", K_STR, F(jwt_roles_claim), "CLAIM",
     "claim holding the Polis roles (dotted path; default realm_access.roles)"},
    {"jwt-clock-skew", "POLIS_JWT_CLOCK_SKEW", K_INT, F(jwt_clock_skew), "SECONDS",
     "tolerated clock difference for JWT exp/nbf/iat (default 60)"},
    {"jwt-tenant-claim", "POLIS_JWT_TENANT_CLAIM", K_STR, F(jwt_tenant_claim), "CLAIM",
     "claim holding the tenant (dotted path; default tenant; absent: the default tenant)"},
    {"jwt-types-claim", "POLIS_JWT_TYPES_CLAIM", K_STR, F(jwt_types_claim), "CLAIM",
     "claim holding the entity types granted (agency; dotted path; default none)"},

    /* -- authorization -- */

    /* -- edge: TLS, rate limits, connection limits, deadlines -- */
    {"tls-cert", "POLIS_TLS_CERT", K_STR, F(tls_cert), "FILE",
     "serve HTTPS with this PEM certificate (chain); reloaded on SIGHUP"},
    {"tls-key", "POLIS_TLS_KEY", K_STR, F(tls_key), "FILE",
     "the PEM private key of --tls-cert; reloaded on SIGHUP"},
    {"rate-limit", "POLIS_RATE_LIMIT", K_INT, F(rate_limit), "N",
     "requests per second per principal (no credential: per address); 0 off "
     "(default 0, production 100)"},
    {"rate-burst", "POLIS_RATE_BURST", K_INT, F(rate_burst), "N",
     "burst of --rate-limit (default twice the rate)"},
    {"rate-limit-addr", "POLIS_RATE_LIMIT_ADDR", K_INT, F(rate_limit_addr), "N",
     "requests per second per client address (IPv6: per /64); 0 off (default 0, production 200)"},
    {"rate-burst-addr", "POLIS_RATE_BURST_ADDR", K_INT, F(rate_burst_addr), "N",
     "burst of --rate-limit-addr (default twice the rate)"},
    {"max-conns-per-addr", "POLIS_MAX_CONNS_PER_ADDR", K_INT, F(max_conns_per_addr), "N",
     "open connections per client address; 0 off (default 128, production 64)"},
    {"header-timeout", "POLIS_HEADER_TIMEOUT", K_INT, F(header_timeout), "S",
     "a client must send a request's complete headers within S seconds of connecting or of "
     "its previous response; 0 off (default 30, production 10)"},
    {"body-timeout", "POLIS_BODY_TIMEOUT", K_INT, F(body_timeout), "S",
     "a client must send the complete body within S seconds after the headers; 0 off "
     "(default 120, production 60)"},

    /* -- outbound guard -- */
    {"outbound-allow", "POLIS_OUTBOUND_ALLOW", K_STR, F(outbound_allow), "LIST",
     "CIDRs outbound calls may reach although a default list denies them (docs/security.md)"},
    {"outbound-deny", "POLIS_OUTBOUND_DENY", K_STR, F(outbound_deny), "LIST",
     "CIDRs outbound calls never reach (wins over --outbound-allow)"},

    /* -- audit, tenants, secrets -- */
    {"audit-retention", "POLIS_AUDIT_RETENTION", K_STR, F(audit_retention), "DURATION",
     "how long audit log rows are kept: an ISO 8601 duration (default P90D; 0: forever)"},
};

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: polis [OPTION]...\n"
            "Polis: an NGSI-LD context broker for digital cities (version %s).\n\n",
            POLIS_VERSION);
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        char left[64];
        snprintf(left, sizeof left, "--%s%s%s", opts[i].name, opts[i].arg ? " " : "",
                 opts[i].arg ? opts[i].arg : "");
        fprintf(f, "  %-26s %s\n  %-26s [env %s]\n", left, opts[i].help, "", opts[i].env);
    }
    fprintf(f, "  %-26s %s\n  %-26s %s\n", "--help", "print this help and exit", "--version",
            "print the version and exit");
    fprintf(f, "\nThe command line wins over the environment. SIGTERM/SIGINT stop cleanly.\n");
}

static int set(struct pl_config *cfg, const struct opt *o, const char *v)
{
    char *base = (char *)cfg;
    char *end;
    errno = 0;
    switch (o->kind) {
    case K_STR:
        if (strlen(v) >= o->size)
            return -1;
        memcpy(base + o->off, v, strlen(v) + 1);
        return 0;
    case K_FLAG:
        *(int *)(base + o->off) = (strcmp(v, "0") != 0 && strcmp(v, "false") != 0);
        return 0;
    case K_INT: {
        long n = strtol(v, &end, 10);
        if (errno || *end || n < 0 || n > 1000000)
            return -1;
        *(int *)(base + o->off) = (int)n;
        return 0;
    }
    case K_LONG: {
        long n = strtol(v, &end, 10);
        if (errno || *end || n < 0)
            return -1;
        *(long *)(base + o->off) = n;
        return 0;
    }
    case K_SIZE: {
        unsigned long long n = strtoull(v, &end, 10);
        if (errno || *end || *v == '-')
            return -1;
        *(size_t *)(base + o->off) = (size_t)n;
        return 0;
    }
    case K_LISTEN: {
        const char *colon = strrchr(v, ':');
        if (!colon || colon == v || (size_t)(colon - v) >= sizeof cfg->listen_host)
            return -1;
        long port = strtol(colon + 1, &end, 10);
        if (errno || *end || port < 0 || port > 65535)
            return -1;
        memcpy(cfg->listen_host, v, (size_t)(colon - v));
        cfg->listen_host[colon - v] = '\0';
        cfg->listen_port = (int)port;
        return 0;
    }
    }
    return -1;
}

enum pl_config_result pl_config_load(struct pl_config *cfg, int argc, char **argv)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->listen_host, sizeof cfg->listen_host, "127.0.0.1");
    cfg->listen_port = 1026;
    snprintf(cfg->data_dir, sizeof cfg->data_dir, "var");
    snprintf(cfg->log_level, sizeof cfg->log_level, "info");
    cfg->threads = 4;
    cfg->max_body = PL_LIMITS_DEFAULT_BODY;
    cfg->max_depth = PL_LIMITS_DEFAULT_DEPTH;
    cfg->max_attrs = PL_LIMITS_DEFAULT_ATTRS;
    cfg->max_id_len = PL_LIMITS_DEFAULT_IDLEN;
    cfg->fetch_timeout_ms = 5000;
    memcpy(cfg->history, "on", 3);
    cfg->temporal_max_instances = 1000;
    cfg->notify_batch = 1000;
    cfg->notify_pending = 10000;
    cfg->max_context_bytes = 1024 * 1024;
    memcpy(cfg->auth, "off", 4);
    cfg->jwt_clock_skew = 60; /* external JWTs */
    /* edge: -1 = not given, resolved with the profile by app/edge.c */
    cfg->rate_limit = cfg->rate_burst = cfg->rate_limit_addr = cfg->rate_burst_addr = -1;
    cfg->max_conns_per_addr = cfg->header_timeout = cfg->body_timeout = -1;

    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
        const char *v = getenv(opts[i].env);
        if (v && *v && set(cfg, &opts[i], v) != 0) {
            fprintf(stderr, "polis: invalid value for %s: '%s'\n", opts[i].env, v);
            return PL_CONFIG_EXIT_ERROR;
        }
    }
    for (int a = 1; a < argc; a++) {
        const char *arg = argv[a];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            usage(stdout);
            return PL_CONFIG_EXIT_OK;
        }
        if (strcmp(arg, "--version") == 0) {
            printf("polis %s\n", POLIS_VERSION);
            return PL_CONFIG_EXIT_OK;
        }
        if (strncmp(arg, "--", 2) != 0) {
            fprintf(stderr, "polis: unexpected argument '%s' (see --help)\n", arg);
            return PL_CONFIG_EXIT_ERROR;
        }
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
        const struct opt *o = NULL;
        for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++) {
            if (strlen(opts[i].name) == nlen && strncmp(opts[i].name, name, nlen) == 0)
                o = &opts[i];
        }
        if (!o) {
            fprintf(stderr, "polis: unknown option '%s' (see --help)\n", arg);
            return PL_CONFIG_EXIT_ERROR;
        }
        const char *v;
        if (o->kind == K_FLAG) {
            v = eq ? eq + 1 : "1";
        } else if (eq) {
            v = eq + 1;
        } else if (a + 1 < argc) {
            v = argv[++a];
        } else {
            fprintf(stderr, "polis: option --%s needs a value\n", o->name);
            return PL_CONFIG_EXIT_ERROR;
        }
        if (set(cfg, o, v) != 0) {
            fprintf(stderr, "polis: invalid value for --%s: '%s'\n", o->name, v);
            return PL_CONFIG_EXIT_ERROR;
        }
    }
    if (!cfg->store_url[0]) {
        if (strlen(cfg->data_dir) + 8 > sizeof cfg->store_url) {
            fprintf(stderr, "polis: data directory path too long\n");
            return PL_CONFIG_EXIT_ERROR;
        }
        snprintf(cfg->store_url, sizeof cfg->store_url, "sqlite:%s", cfg->data_dir);
    }
    if (!cfg->self_url[0]) {
        /* an IPv6 literal goes in brackets in a URL */
        int v6 = strchr(cfg->listen_host, ':') && cfg->listen_host[0] != '[';
        snprintf(cfg->self_url, sizeof cfg->self_url, "%s://%s%s%s:%d",
                 cfg->tls_cert[0] ? "https" : "http", v6 ? "[" : "", cfg->listen_host,
                 v6 ? "]" : "", cfg->listen_port);
    }
    if (strcmp(cfg->auth, "on") != 0 && strcmp(cfg->auth, "off") != 0) {
        fprintf(stderr, "polis: --auth must be on or off, not '%s'\n", cfg->auth);
        return PL_CONFIG_EXIT_ERROR;
    }
    if (cfg->profile[0] && strcmp(cfg->profile, "production") != 0) {
        fprintf(stderr, "polis: unknown --profile '%s' (known: production)\n", cfg->profile);
        return PL_CONFIG_EXIT_ERROR;
    }
    if (cfg->threads < 1)
        cfg->threads = 1;
    if (cfg->notify_batch < 1)
        cfg->notify_batch = 1;
    if (cfg->notify_pending < 1)
        cfg->notify_pending = 1;
    return PL_CONFIG_RUN;
}
