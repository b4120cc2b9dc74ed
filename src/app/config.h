/* SPDX-License-Identifier: Apache-2.0 */
/*
 * config.h — command-line options and POLIS_* environment variables. Every option has both
 * forms; the command line wins over the environment, which wins over the default.
 */
#ifndef PL_APP_CONFIG_H
#define PL_APP_CONFIG_H

#include <stddef.h>

struct pl_config {
    char listen_host[64]; /* --listen HOST:PORT (POLIS_LISTEN) */
    int listen_port;
    char data_dir[1024];     /* --data DIR (POLIS_DATA) */
    char store_url[1100];    /* --store URL (POLIS_STORE); default sqlite:<data_dir> */
    char log_level[16];      /* --log-level (POLIS_LOG_LEVEL) */
    char contexts_dir[1024]; /* --contexts DIR (POLIS_CONTEXTS): preload.map directory */
    char demo_dir[1024];     /* --demo DIR (POLIS_DEMO): demo entities loaded into an empty store */
    int no_demo;             /* --no-demo (POLIS_NO_DEMO=1) */
    char self_url[256];      /* --self-url URL (POLIS_SELF_URL): how clients reach us */
    int threads;             /* --threads N (POLIS_THREADS): network threads */
    int sync_full;           /* --sync-full (POLIS_SYNC_FULL=1): fsync each commit */
    size_t max_body;         /* --max-body BYTES (POLIS_MAX_BODY) */
    int max_depth;           /* --max-depth N (POLIS_MAX_DEPTH) */
    int max_attrs;           /* --max-attrs N (POLIS_MAX_ATTRS) */
    size_t max_id_len;       /* --max-id-len BYTES (POLIS_MAX_ID_LEN) */
    long fetch_timeout_ms;   /* --fetch-timeout MS (POLIS_FETCH_TIMEOUT) */
    size_t max_context_bytes;       /* --max-context-bytes BYTES (POLIS_MAX_CONTEXT_BYTES) */
    char history[8];                /* --history on|off (POLIS_HISTORY) */
    char history_off_tenants[1024]; /* --history-off-tenants LIST (POLIS_HISTORY_OFF_TENANTS) */
    char history_off_types[4096];   /* --history-off-types LIST (POLIS_HISTORY_OFF_TYPES) */
    int history_purge_on_delete;    /* --history-purge-on-delete (POLIS_HISTORY_PURGE_ON_DELETE) */
    char history_retention[4096];   /* --history-retention RULES (POLIS_HISTORY_RETENTION) */
    int temporal_max_instances;     /* --temporal-max-instances N (POLIS_TEMPORAL_MAX_INSTANCES) */
    int notify_batch;               /* --notify-batch N (POLIS_NOTIFY_BATCH) */
    int notify_pending;             /* --notify-pending N (POLIS_NOTIFY_PENDING) */

    /* ---- security (issue 12, docs/security.md). Each part adds its members under its own
     * heading, so that parallel changes do not touch the same lines. ---- */
    char auth[8];           /* --auth on|off (POLIS_AUTH), default off */
    char profile[16];       /* --profile production (POLIS_PROFILE); "" = default */
    int insecure;           /* --insecure (POLIS_INSECURE=1): allow a non-loopback listener
                               without auth */

    /* -- credentials: users, API keys, Polis tokens, sessions -- */
    int access_token_ttl;   /* --access-token-ttl SECONDS (POLIS_ACCESS_TOKEN_TTL), 900 */
    int session_ttl;        /* --session-ttl SECONDS (POLIS_SESSION_TTL), 28800 */

    /* -- external JWTs (identity provider) -- */
    char jwks[1024];            /* --jwks FILE (POLIS_JWKS) */
    char jwt_issuer[256];       /* --jwt-issuer ISS (POLIS_JWT_ISSUER) */
    char jwt_audience[256];     /* --jwt-audience AUD (POLIS_JWT_AUDIENCE) */
    char jwt_roles_claim[128];  /* --jwt-roles-claim CLAIM (POLIS_JWT_ROLES_CLAIM) */
    int jwt_clock_skew;         /* --jwt-clock-skew SECONDS (POLIS_JWT_CLOCK_SKEW), default 60 */
    char jwt_tenant_claim[128]; /* --jwt-tenant-claim CLAIM (POLIS_JWT_TENANT_CLAIM) */
    char jwt_types_claim[128];  /* --jwt-types-claim CLAIM (POLIS_JWT_TYPES_CLAIM) */

    /* -- authorization -- */

    /* -- edge: TLS, rate limits, connection limits, deadlines -- */
    char tls_cert[1024];    /* --tls-cert FILE (POLIS_TLS_CERT): PEM certificate (chain) */
    char tls_key[1024];     /* --tls-key FILE (POLIS_TLS_KEY): PEM private key */
    /* The numbers below are -1 when not given: app/edge.c resolves them with the profile. */
    int rate_limit;         /* --rate-limit N: requests/s per principal (0 off) */
    int rate_burst;         /* --rate-burst N: bucket size per principal */
    int rate_limit_addr;    /* --rate-limit-addr N: requests/s per client address (0 off) */
    int rate_burst_addr;    /* --rate-burst-addr N: bucket size per client address */
    int max_conns_per_addr; /* --max-conns-per-addr N: open connections per address (0 off) */
    int header_timeout;     /* --header-timeout S: complete headers within S seconds (0 off) */
    int body_timeout;       /* --body-timeout S: complete body within S seconds (0 off) */

    /* -- outbound guard -- */
    char outbound_allow[4096]; /* --outbound-allow LIST (POLIS_OUTBOUND_ALLOW): networks allowed
                                  although a default list denies them (net/guard.h) */
    char outbound_deny[4096];  /* --outbound-deny LIST (POLIS_OUTBOUND_DENY): networks denied */

    /* -- audit, tenants, secrets -- */
    char audit_retention[32]; /* --audit-retention DURATION (POLIS_AUDIT_RETENTION): ISO 8601,
                                 "" = P90D, "0" = keep forever */
};

enum pl_config_result { PL_CONFIG_RUN = 0, PL_CONFIG_EXIT_OK, PL_CONFIG_EXIT_ERROR };

/*
 * Fills *cfg from defaults, then the environment, then argv. Prints --help / --version or an
 * error to stdout/stderr itself and says whether to run or exit.
 */
enum pl_config_result pl_config_load(struct pl_config *cfg, int argc, char **argv);

#endif
