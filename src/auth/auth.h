/* SPDX-License-Identifier: Apache-2.0 */
/*
 * auth.h — who is asking: principals, their roles and tenants, and the authentication entry the
 * HTTP front calls once per request (issue 12; docs/security.md).
 *
 * Authentication turns the request's credential (`Authorization: Bearer ...`: a Polis access
 * token, an external JWT or an API key; or the browser session cookie) into a principal. Every
 * later decision (authorization, audit, rate limits, redaction of secrets) reads only the
 * principal, never the credential.
 *
 * With `--auth off` there is no principal at all (struct pl_req.principal == NULL): every
 * check treats NULL as "authorization disabled" and allows, which keeps the behaviour Polis had
 * before issue 12 (the server then listens on loopback only unless --insecure).
 *
 * A principal is immutable once built and reference counted: the credential cache holds one
 * reference, each request that uses it another (released when the response is done), so a
 * revoked key's principal lives on only until the requests already using it finish.
 */
#ifndef PL_AUTH_AUTH_H
#define PL_AUTH_AUTH_H

#include <stddef.h>

#include "base/err.h"

/* Roles, weakest first (the table of issue 12; docs/security.md "Roles and grants"). */
enum pl_role {
    PL_ROLE_PUBLIC = 0, /* no credential: read-only, the tenant's open-data types only */
    PL_ROLE_DEVICE,     /* update only the entities its key is bound to */
    PL_ROLE_ENTERPRISE, /* create entities, then write only those it owns */
    PL_ROLE_AGENCY,     /* write only the entity types of its grant; read its whole tenant */
    PL_ROLE_OPERATOR,   /* read and write everything of its tenant */
    PL_ROLE_ADMIN       /* everything, users, keys, tenants, @context deletion, purge */
};
#define PL_ROLE_COUNT 6

/* "public", "device", ... (static). */
const char *pl_role_name(enum pl_role r);
/* Parses a role name (case-sensitive, as printed by pl_role_name). 0, or -1 when unknown. */
int pl_role_parse(const char *s, enum pl_role *out);

/* How the principal proved itself (audit log; a session needs CSRF on state changes). */
enum pl_cred {
    PL_CRED_NONE = 0, /* public */
    PL_CRED_TOKEN,    /* a Polis access token from POST /auth/token */
    PL_CRED_SESSION,  /* the browser session cookie */
    PL_CRED_JWT,      /* a JWT of the city's identity provider */
    PL_CRED_APIKEY    /* an API key */
};

#define PL_PRINCIPAL_NAME_MAX 128
#define PL_TENANT_MAX         64 /* NGSILD-Tenant: 1..64 of [A-Za-z0-9_-] (http/server.c) */

struct pl_principal {
    _Atomic int refs_;               /* private: pl_principal_ref / _unref */
    enum pl_role role;               /* what it may do */
    enum pl_cred cred;               /* how it authenticated */
    char name[PL_PRINCIPAL_NAME_MAX]; /* user name, "key:<id>", the JWT "sub"; "" for public */
    char tenant[PL_TENANT_MAX + 1];  /* its tenant ("" is the default tenant) */
    int all_tenants;                 /* 1: not bound to one tenant (an admin made without
                                        --tenant); `tenant` is then unused */
    char **types;                    /* entity types of the grant (agency, or a key's --types):
                                        as configured, IRIs or terms; NULL/0: no restriction */
    size_t n_types;
    char **entities;                 /* device: the entity ids it may update; NULL/0: none */
    size_t n_entities;
};

/*
 * Allocates a principal with one reference (owned by the caller), role/cred/name/tenant copied
 * (name and tenant truncated to their buffers; tenant NULL or "" is the default tenant, "*"
 * means all_tenants). types/entities start empty: add with pl_principal_add_type/_entity
 * before sharing it. NULL when out of memory.
 */
struct pl_principal *pl_principal_new(enum pl_role role, enum pl_cred cred, const char *name,
                                      const char *tenant);
int pl_principal_add_type(struct pl_principal *p, const char *type);     /* 0 or PL_ENOMEM */
int pl_principal_add_entity(struct pl_principal *p, const char *id);     /* 0 or PL_ENOMEM */
struct pl_principal *pl_principal_ref(struct pl_principal *p);           /* returns p */
void pl_principal_unref(struct pl_principal *p);                         /* NULL ignored */

/* The one shared principal of requests without a credential when auth is on (never freed). */
const struct pl_principal *pl_principal_public(void);

/* 1 when `p` may act on `tenant` at all (its own tenant, or all_tenants); NULL p (auth off): 1. */
int pl_principal_in_tenant(const struct pl_principal *p, const char *tenant);

#endif
