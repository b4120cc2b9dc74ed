/* SPDX-License-Identifier: Apache-2.0 */
/*
 * app.h — the application object passed to every handler (no hidden globals): configuration
 * and the long-lived services. Owned by main.c.
 */
#ifndef PL_APP_APP_H
#define PL_APP_APP_H

#include "app/config.h"
#include "app/history.h"
#include "base/limits.h"

struct pl_store;
struct pl_ctxreg;
struct pl_http;
struct pl_notifier;
struct pl_auth;
struct pl_audit;
struct pl_jwt;
struct pl_read_policies;
struct pl_guard;

struct pl_app {
    struct pl_config cfg;          /* effective configuration */
    struct pl_limits limits;       /* input limits (from cfg) */
    struct pl_store *store;        /* the store (owned) */
    struct pl_ctxreg *ctxreg;      /* the @context registry (owned) */
    struct pl_http *http;          /* the HTTP server (owned) */
    struct pl_notifier *notifier;  /* subscriptions and notifications (owned) */
    struct pl_app_history history; /* what attribute history is kept (the store borrows it) */
    struct pl_auth *auth;          /* credentials and their cache (owned; NULL with --auth off) */
    struct pl_audit *audit;        /* the audit log's recorder (owned; auth/audit.h) */
    struct pl_jwt *jwt;            /* external JWT verifier (owned; NULL without --jwks) */
    struct pl_read_policies *read_policies; /* tenants' read policies, cached (owned; auth/read.h) */
    struct pl_guard *guard;        /* the outbound guard (owned; ctxreg and notify borrow it) */
};

#endif
