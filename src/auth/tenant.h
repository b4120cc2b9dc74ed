/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tenant.h — the one rule for tenant names (NGSILD-Tenant, 5.5.10; docs/security.md "Tenants and
 * secrets"). Every entry point that takes a tenant name from outside (the NGSILD-Tenant header,
 * the admin API /polis/v1/tenants/{tenant}, the CLI and the options that name tenants) checks it
 * with pl_tenant_name_valid before the name reaches storage, a log line or a file name. The
 * store binds tenant names as SQL parameters and never builds a file name from one; the rule
 * keeps it that way even for a later backend that would.
 */
#ifndef PL_AUTH_TENANT_H
#define PL_AUTH_TENANT_H

#include "auth/auth.h"

/* What the rule allows, for messages. */
#define PL_TENANT_RULE "1 to 64 characters of [A-Za-z0-9_-]"

/* 1 when `name` is a valid tenant name: 1..PL_TENANT_MAX characters of [A-Za-z0-9_-] (no '/',
 * '.', '%', spaces or control characters, so no path or SQL meaning anywhere). The default
 * tenant is the absent header, never a name: "" is not valid here. NULL: 0. */
int pl_tenant_name_valid(const char *name);

#endif
