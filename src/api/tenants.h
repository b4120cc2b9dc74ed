/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tenants.h — the admin API of tenants and of the audit log (issue 12; docs/security.md
 * "Tenants and secrets", "Audit log"). Admins only: the route access table refuses everyone
 * else, and each handler checks it again (a principal that is not an admin gets 403).
 *
 *   GET    /polis/v1/tenants            [{"name", "entities", "subscriptions"}], the default
 *                                       tenant first (name "")
 *   DELETE /polis/v1/tenants/{tenant}   its subscriptions, entities, history: 204; 404 when
 *                                       it does not exist; 400 for a name that is not one
 *   GET    /polis/v1/audit              ?from=&to=&principal=&limit=&before= (audit.c)
 */
#ifndef PL_API_TENANTS_H
#define PL_API_TENANTS_H

struct pl_req;

int pl_api_tenants_list(struct pl_req *r);
int pl_api_tenant_delete(struct pl_req *r);
int pl_api_audit_list(struct pl_req *r);

/* 0 when the request may use the admin API (an admin, or auth off), else answers 403 and
 * returns -1. */
int pl_api_admin_or_reply(struct pl_req *r);

#endif
