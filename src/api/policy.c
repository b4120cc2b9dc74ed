/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy.c — GET/PUT /polis/v1/tenants/{tenant}/policy: a tenant's read policy (issue 12, part
 * "reads"; the document and the rule: auth/read.h, docs/security.md). Admins only; "-" names
 * the default tenant.
 *
 *   GET  200 {"openTypes": [...], "privateAttributes": [...]} (empty lists: no policy, the
 *        public reads nothing of the tenant)
 *   PUT  the same document (both members optional, each replaced as a whole) -> 204;
 *        BadRequestData naming the member at fault
 */
#include <string.h>

#include "api/policy.h"

#include "api/api.h"
#include "app/app.h"
#include "auth/auth.h"
#include "auth/read.h"
#include "auth/tenant.h"

/* The path's tenant ("-": the default one), validated as NGSILD-Tenant is (auth/tenant.h).
 * NULL after answering. */
static const char *tenant_or_reply(struct pl_req *r)
{
    const char *t = r->params[0];
    if (strcmp(t, PL_READ_DEFAULT_TENANT) == 0)
        return "";
    if (!pl_tenant_name_valid(t)) {
        pl_reply_error(r, PL_EBADREQUESTDATA,
                       "a tenant name is " PL_TENANT_RULE " (\"%s\": the default tenant)",
                       PL_READ_DEFAULT_TENANT);
        return NULL;
    }
    return t;
}

/* Admins of the tenant only (auth off: everyone, as every route). 0 or -1 after answering. */
static int admin_or_reply(struct pl_req *r, const char *tenant)
{
    const struct pl_principal *p = r->principal;
    if (!p)
        return 0;
    if (p->role == PL_ROLE_PUBLIC && p->cred == PL_CRED_NONE) {
        pl_req_add_header(r, "WWW-Authenticate", "Bearer realm=\"polis\"");
        pl_reply_error(r, PL_EUNAUTHORIZED, "a tenant's read policy is for admins: authenticate");
        return -1;
    }
    if (p->role != PL_ROLE_ADMIN || !pl_principal_in_tenant(p, tenant)) {
        pl_reply_error(r, PL_EFORBIDDEN, "a tenant's read policy is for admins of that tenant");
        return -1;
    }
    return 0;
}

int pl_api_policy_get(struct pl_req *r)
{
    const char *tenant = tenant_or_reply(r);
    if (!tenant || admin_or_reply(r, tenant) != 0)
        return PL_HANDLER_DONE;
    struct pl_read_policy *p = pl_read_policies_get(r->app->read_policies, tenant);
    json_t *doc = p ? json_incref((json_t *)pl_read_policy_doc(p))
                    : json_pack("{s:[],s:[]}", "openTypes", "privateAttributes");
    pl_read_policy_unref(p);
    if (!doc)
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    pl_reply_json(r, 200, "application/json", doc);
    json_decref(doc);
    return PL_HANDLER_DONE;
}

int pl_api_policy_put(struct pl_req *r)
{
    const char *tenant = tenant_or_reply(r);
    if (!tenant || admin_or_reply(r, tenant) != 0)
        return PL_HANDLER_DONE;
    json_t *body;
    if (pl_api_body_or_reply(r, 1, &body) != 0)
        return PL_HANDLER_DONE;
    if (!r->app->read_policies)
        return pl_reply_error(r, PL_EOPNOTSUPPORTED, "this server keeps no read policies");
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_read_policies_put(r->app->read_policies, tenant, body, &err) != 0)
        return pl_reply_problem(r, &err);
    pl_reply_empty(r, 204);
    return PL_HANDLER_DONE;
}
