/* SPDX-License-Identifier: Apache-2.0 */
/*
 * main.c — wiring only: configuration -> store -> @context registry -> demo data -> HTTP.
 * The only file that knows every module. Signals are handled synchronously (sigwait) so a
 * SIGTERM/SIGINT stops the server cleanly: in-flight writes finish, the store closes, and every
 * acknowledged write is on disk.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/access.h"
#include "api/api.h"
#include "app/app.h"
#include "app/demo.h"
#include "auth/audit.h"
#include "auth/sub_scope.h"
#include "auth/jwt.h"
#include "auth/authn.h"
#include "auth/cli.h"
#include "auth/read.h"
#include "app/edge.h"
#include "base/log.h"
#include "ctxreg/ctxreg.h"
#include "net/guard.h"
#include "notify/notifier.h"
#include "store/store.h"

/* SIGHUP: reloads what can change without a restart, one call per part; each logs its result
 * and keeps what it had when the new files are bad. */
static void reload_on_sighup(struct pl_app *app)
{
    struct pl_err err;
    size_t n_keys = 0;
    pl_err_clear(&err);
    if (app->jwt && pl_jwt_reload(app->jwt, &n_keys, &err) != 0)
        pl_log_error("SIGHUP: JWKS not reloaded, the keys in use stay: %s", err.detail);
    else if (app->jwt)
        pl_log_info("SIGHUP: JWKS reloaded (%zu keys)", n_keys);
    pl_http_reload_tls(app->http); /* the TLS certificate and key (logs itself) */
}

int main(int argc, char **argv)
{
    struct pl_app app;
    memset(&app, 0, sizeof app);
    if (argc > 1 && pl_auth_cli_is(argv[1])) /* polis key ... / polis user ... */
        return pl_auth_cli(argc, argv);
    enum pl_config_result cr = pl_config_load(&app.cfg, argc, argv);
    if (cr != PL_CONFIG_RUN)
        return cr == PL_CONFIG_EXIT_OK ? 0 : 2;
    enum pl_log_level lvl;
    if (pl_log_level_parse(app.cfg.log_level, &lvl) != 0) {
        fprintf(stderr, "polis: unknown log level '%s'\n", app.cfg.log_level);
        return 2;
    }
    pl_log_set_level(lvl);
    struct pl_err eerr;
    pl_err_clear(&eerr);
    if (pl_app_edge_check(&app.cfg, &eerr) != 0) { /* protected mode: docs/security.md */
        fprintf(stderr, "polis: %s\n", eerr.detail);
        return 2;
    }
    app.limits.max_body_bytes = app.cfg.max_body;
    app.limits.max_depth = app.cfg.max_depth;
    app.limits.max_attrs = app.cfg.max_attrs;
    app.limits.max_id_len = app.cfg.max_id_len;
    if (app.cfg.jwks[0]) { /* external JWTs: the identity provider's keys, or refuse to start */
        struct pl_jwt_config jc = {app.cfg.jwks, app.cfg.jwt_issuer, app.cfg.jwt_audience,
                                   app.cfg.jwt_roles_claim, app.cfg.jwt_tenant_claim,
                                   app.cfg.jwt_types_claim, app.cfg.jwt_clock_skew, NULL, 0,
                                   strcmp(app.cfg.profile, "production") == 0};
        struct pl_err jerr;
        pl_err_clear(&jerr);
        if (pl_jwt_new(&jc, &app.jwt, &jerr) != 0) {
            fprintf(stderr, "polis: --jwks: %s\n", jerr.detail);
            return 2;
        }
    }

    /* Block the stop signals in every thread we start; main waits for them with sigwait. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGHUP); /* reload: reload_on_sighup */
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct pl_err err;
    pl_err_clear(&err);
    if (pl_app_history_init(&app.history, &app.cfg, &err) != 0) {
        fprintf(stderr, "polis: %s\n", err.detail);
        pl_app_history_free(&app.history);
        return 2;
    }
    struct pl_audit_config acfg = {NULL, 0, 0}; /* --audit-retention checked before any opening */
    if (pl_audit_retention_parse(app.cfg.audit_retention, &acfg.retention_ms, &err) != 0) {
        fprintf(stderr, "polis: %s\n", err.detail);
        pl_app_history_free(&app.history);
        return 2;
    }
    /* The outbound guard: every @context download and notification goes through it. */
    char gwhy[256] = "";
    struct pl_guard_config gcfg = {app.cfg.outbound_allow, app.cfg.outbound_deny,
                                   strcmp(app.cfg.profile, "production") == 0};
    if (pl_guard_new(&gcfg, &app.guard, gwhy, sizeof gwhy) != 0) {
        fprintf(stderr, "polis: %s\n", gwhy);
        pl_app_history_free(&app.history);
        return 2;
    }
    struct pl_store_config scfg = {app.cfg.store_url, app.cfg.sync_full, 0, &app.history.pol};
    if (pl_store_open(&scfg, &app.store, &err) != 0) {
        pl_log_error("store: %s", err.detail);
        pl_app_history_free(&app.history);
        return 1;
    }
    /* issue 12 "reads": the tenants' read policies, cached (none: the public reads nothing) */
    if (pl_read_policies_open(app.store, &app.read_policies, &err) != 0)
        pl_log_error("read policies: %s (the public reads nothing)", err.detail);
    struct pl_ctxreg_config ccfg;
    memset(&ccfg, 0, sizeof ccfg);
    ccfg.self_url = app.cfg.self_url;
    ccfg.preload_dir = app.cfg.contexts_dir[0] ? app.cfg.contexts_dir : NULL;
    ccfg.fetch_timeout_ms = app.cfg.fetch_timeout_ms;
    ccfg.max_doc_bytes = app.cfg.max_context_bytes;
    ccfg.guard = app.guard;
    if (pl_ctxreg_new(&ccfg, app.store, &app.ctxreg, &err) != 0) {
        pl_log_error("contexts: %s", err.detail);
        pl_store_close(app.store);
        return 1;
    }
    struct pl_notifier_config ncfg;
    memset(&ncfg, 0, sizeof ncfg);
    ncfg.store = app.store;
    ncfg.ctxreg = app.ctxreg;
    ncfg.batch_max = (size_t)app.cfg.notify_batch;
    ncfg.pend_max = (size_t)app.cfg.notify_pending;
    ncfg.deliver.guard = app.guard;
    /* subscriptions notify only what their owner may read (auth/sub_scope.h) */
    struct pl_sub_scope *sub_scope = NULL;
    if (pl_sub_scope_new(&app, &sub_scope, &err) != 0) {
        pl_log_error("notify: %s", err.detail);
        pl_ctxreg_free(app.ctxreg);
        pl_store_close(app.store);
        return 1;
    }
    ncfg.scope = pl_sub_owner_scope;
    ncfg.scope_ud = sub_scope;
    if (pl_notifier_start(&ncfg, &app.notifier, &err) != 0) {
        pl_log_error("notify: %s", err.detail);
        pl_sub_scope_free(sub_scope);
        pl_ctxreg_free(app.ctxreg);
        pl_store_close(app.store);
        return 1;
    }
    /* the audit log (auth/audit.h): started before the listener, stopped after it */
    acfg.store = app.store;
    if (pl_audit_start(&acfg, &app.audit, &err) != 0) {
        pl_log_error("audit: %s", err.detail);
        pl_notifier_stop(app.notifier);
        pl_sub_scope_free(sub_scope);
        pl_ctxreg_free(app.ctxreg);
        pl_store_close(app.store);
        return 1;
    }
    if (!app.cfg.no_demo && app.cfg.demo_dir[0]) {
        int loaded;
        if (pl_demo_load(&app, app.cfg.demo_dir, &loaded, &err) != 0)
            pl_log_warn("demo: %s", err.detail);
    }
    struct pl_http_config hcfg;
    memset(&hcfg, 0, sizeof hcfg);
    hcfg.host = app.cfg.listen_host;
    hcfg.port = app.cfg.listen_port;
    hcfg.threads = app.cfg.threads;
    hcfg.max_body = app.cfg.max_body;
    hcfg.conn_timeout_s = 60;
    hcfg.routes = pl_api_routes;
    hcfg.n_routes = pl_api_n_routes;
    hcfg.authorize = pl_api_authorize; /* route access (api/access.c); allows all with auth off */
    hcfg.on_response = pl_audit_on_response;
    /* --auth on: credentials (auth/authn.h) turn each request's credential into a principal. */
    struct pl_auth_config authcfg = {.store = app.store,
                                     .tls = app.cfg.tls_cert[0] != '\0',
                                     .access_ttl_s = app.cfg.access_token_ttl,
                                     .session_ttl_s = app.cfg.session_ttl};
    if (strcmp(app.cfg.auth, "on") == 0 && pl_auth_open(&authcfg, &app.auth, &err) != 0) {
        pl_log_error("auth: %s", err.detail);
        pl_audit_stop(app.audit);
        pl_notifier_stop(app.notifier);
        pl_ctxreg_free(app.ctxreg);
        pl_store_close(app.store);
        return 1;
    }
    hcfg.authenticate = app.auth ? pl_auth_authenticate : NULL;
    pl_app_edge_http_config(&app.cfg, &hcfg);
    if (pl_http_start(&hcfg, &app, &app.http, &err) != 0) {
        pl_log_error("http: %s", err.detail);
        pl_auth_close(app.auth);
        pl_audit_stop(app.audit);
        pl_notifier_stop(app.notifier);
        pl_sub_scope_free(sub_scope);
        pl_ctxreg_free(app.ctxreg);
        pl_store_close(app.store);
        return 1;
    }
    pl_log_info("polis %s listening on %s://%s:%d (store %s)", POLIS_VERSION,
                hcfg.tls_cert ? "https" : "http", app.cfg.listen_host, pl_http_port(app.http),
                app.cfg.store_url);

    int sig = 0;
    while (sigwait(&stop, &sig) == 0 && sig == SIGHUP)
        reload_on_sighup(&app);
    pl_log_info("received %s, stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    pl_http_stop(app.http);
    pl_audit_stop(app.audit); /* after the last response: every row is written */
    pl_notifier_stop(app.notifier); /* after the last write: every change is matched */
    pl_auth_close(app.auth);
    pl_sub_scope_free(sub_scope);
    pl_ctxreg_free(app.ctxreg);
    pl_store_close(app.store);
    pl_read_policies_free(app.read_policies);
    pl_app_history_free(&app.history);
    pl_jwt_free(app.jwt);
    pl_guard_unref(app.guard);
    pl_log_info("stopped cleanly");
    return 0;
}
