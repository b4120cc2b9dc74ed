/* SPDX-License-Identifier: Apache-2.0 */
/*
 * subscriptions.c — /subscriptions (NGSI-LD 5.8.1-5.8.5, HTTP binding 6.10, 6.11): create,
 * query (paged, count), retrieve, update (PATCH), delete. Parsing and validation are
 * subs/subscription.h's; storage, matching and delivery notify/notifier.h's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/query_int.h"
#include "app/app.h"
#include "auth/owner.h"
#include "base/timeutil.h"
#include "ctxreg/ctxreg.h"
#include "net/guard.h"
#include "ngsild/entity.h"
#include "notify/notifier.h"
#include "subs/subscription.h"

#define S_PATH "/ngsi-ld/v1/subscriptions/"

static int notifier_or_reply(struct pl_req *r)
{
    if (r->app->notifier)
        return 0;
    pl_reply_error(r, PL_EOPNOTSUPPORTED, "subscriptions are not enabled on this server");
    return -1;
}

/* 5.8.2.4, 5.8.3.4, 5.8.5.4: a subscription id that is not a URI is BadRequestData. */
static int sub_id_or_reply(struct pl_req *r)
{
    if (notifier_or_reply(r) != 0)
        return -1;
    if (pl_is_uri(r->params[0]))
        return 0;
    pl_reply_error(r, PL_EBADREQUESTDATA, "subscription id '%.200s' is not a URI", r->params[0]);
    return -1;
}

/* 5.8.1.4, 5.8.2.4: a jsonldContext (`url`, borrowed; NULL: none) that cannot be retrieved is
 * LdContextNotAvailable, one that is not a valid @context BadRequestData. Fetched here, before
 * the registry's lock is taken; the registry caches it for the notifications. */
static int jsonld_context_or_reply(struct pl_req *r, const char *url)
{
    if (!url)
        return 0;
    struct pl_err err;
    pl_err_clear(&err);
    json_t *v = json_string(url);
    struct pl_ctx *c = NULL;
    int rc = v ? pl_ctxreg_resolve(r->app->ctxreg, v, &c, &err)
               : pl_err_set(&err, PL_ENOMEM, "out of memory");
    json_decref(v);
    if (rc == 0) {
        pl_ctx_unref(c);
        return 0;
    }
    char detail[PL_ERR_DETAIL_MAX];
    snprintf(detail, sizeof detail, "%s", err.detail);
    pl_err_set(&err, rc, "jsonldContext: %s", detail);
    pl_reply_problem(r, &err);
    return -1;
}

/* The outbound guard on a subscription's endpoint (`s` borrowed): what can be judged before any
 * connection (the scheme; an IP literal host) is BadRequestData here, so that the user learns it
 * at once; a host name is checked at each delivery (its addresses may change). */
static int endpoint_check(const struct pl_guard *g, const struct pl_sub *s, struct pl_err *err)
{
    char why[200];
    if (!s->uri || pl_guard_check_url(g, s->uri, PL_GUARD_NOTIFY, why, sizeof why) == 0)
        return 0;
    return pl_err_set(err, PL_EBADREQUESTDATA,
                      "notification.endpoint.uri: refused by the outbound guard: %s", why);
}

/* POST /subscriptions (5.8.1, 6.10.3.1) */
int pl_api_subscription_create(struct pl_req *r)
{
    if (notifier_or_reply(r) != 0)
        return PL_HANDLER_DONE;
    json_t *body;
    struct pl_ctx *ctx;
    if (pl_api_body_or_reply(r, 1, &body) != 0 || pl_api_context_or_reply(r, body, &ctx) != 0)
        return PL_HANDLER_DONE;
    struct pl_err err;
    pl_err_clear(&err);
    struct pl_sub *s = NULL;
    if (pl_sub_parse(body, ctx, &s, &err) != 0)
        return pl_reply_problem(r, &err);
    if (endpoint_check(r->app->guard, s, &err) != 0) {
        pl_sub_free(s);
        return pl_reply_problem(r, &err);
    }
    if (jsonld_context_or_reply(r, s->jsonld_context) != 0) {
        pl_sub_free(s);
        return PL_HANDLER_DONE;
    }
    /* 5.2.12: without a jsonldContext, the @context of the creation request is the
     * subscription's; its URL (the Link URL, the ImplicitlyCreated entry of an inline or
     * multi-URL body @context, kept, or the core context) is recorded so that GET shows it */
    if (!s->jsonld_context && !(s->jsonld_context = pl_api_context_url(r, 1))) {
        pl_sub_free(s);
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    }
    if (!s->id && !(s->id = pl_sub_new_id())) {
        pl_sub_free(s);
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    }
    /* the owner: who may see its secrets and change it (auth/owner.h); NULL with auth off */
    if (r->principal && !(s->owner = pl_principal_copy(r->principal))) {
        pl_sub_free(s);
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    }
    char *enc = pl_http_encode_segment(s->id);
    size_t n = sizeof S_PATH + (enc ? strlen(enc) : 0);
    char *loc = enc ? malloc(n) : NULL;
    if (loc)
        snprintf(loc, n, "%s%s", S_PATH, enc);
    free(enc);
    if (!loc) {
        pl_sub_free(s);
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    }
    if (pl_notifier_add(r->app->notifier, r->tenant, s, &err) != 0) {
        free(loc);
        pl_sub_free(s);
        return pl_reply_problem(r, &err);
    }
    pl_req_add_header(r, "Location", loc);
    free(loc);
    pl_reply_empty(r, 201);
    return PL_HANDLER_DONE;
}

struct render_ud {
    struct pl_ctx *ctx;
    json_t *out; /* an array (list) or the object (one) */
    int64_t now;
    const struct pl_principal *who; /* who asks: secrets are redacted unless it may see them */
};

static void render_one(void *ud, const struct pl_sub *s, const struct pl_sub_status *st)
{
    struct render_ud *u = ud;
    json_t *j = pl_sub_render(s, u->ctx, st, u->now);
    if (!j)
        return;
    if (!pl_owner_may_see_secrets(s->owner, u->who))
        pl_sub_redact(j);
    if (json_is_array(u->out))
        json_array_append_new(u->out, j);
    else
        u->out = j;
}

/* GET /subscriptions/{id} (5.8.3, 6.11.3.1) */
int pl_api_subscription_get(struct pl_req *r)
{
    if (sub_id_or_reply(r) != 0)
        return PL_HANDLER_DONE;
    struct render_ud u = {NULL, NULL, pl_time_now_ms(), r->principal};
    if (pl_api_context_or_reply(r, NULL, &u.ctx) != 0)
        return PL_HANDLER_DONE;
    if (pl_notifier_with(r->app->notifier, r->tenant, r->params[0], render_one, &u) != 0) {
        struct pl_err e;
        pl_err_set(&e, PL_ENOTFOUND, "subscription '%.200s' not found", r->params[0]);
        return pl_api_problem(r, &e);
    }
    if (!u.out)
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    pl_req_defer_decref(r, u.out);
    pl_api_reply_with_context(r, 200, u.out);
    return PL_HANDLER_DONE;
}

/* GET /subscriptions (5.8.4, 6.10.3.2): paged like entities (limit, offset, count). */
int pl_api_subscriptions_list(struct pl_req *r)
{
    /* 5.5.10: listing is a read, so a tenant that does not exist is NonexistentTenant */
    if (notifier_or_reply(r) != 0 || pl_api__tenant_or_reply(r) != 0)
        return PL_HANDLER_DONE;
    struct render_ud u = {NULL, json_array(), pl_time_now_ms(), r->principal};
    if (!u.out)
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    pl_req_defer_decref(r, u.out);
    if (pl_api_context_or_reply(r, NULL, &u.ctx) != 0)
        return PL_HANDLER_DONE;
    long long limit = 20, offset = 0;
    const char *v;
    char *end;
    if ((v = pl_req_arg(r, "limit"))) {
        limit = strtoll(v, &end, 10);
        if (!*v || *end || limit < 0 || limit > 1000)
            return pl_reply_error(r, PL_EBADREQUESTDATA, "limit must be 0..1000");
    }
    if ((v = pl_req_arg(r, "offset"))) {
        offset = strtoll(v, &end, 10);
        if (!*v || *end || offset < 0)
            return pl_reply_error(r, PL_EBADREQUESTDATA, "offset must be a non-negative integer");
    }
    const char *count = pl_req_arg(r, "count");
    if (count && strcmp(count, "true") != 0 && strcmp(count, "false") != 0)
        return pl_reply_error(r, PL_EBADREQUESTDATA, "count must be true or false");
    if (limit == 0 && !(count && strcmp(count, "true") == 0))
        return pl_reply_error(r, PL_EBADREQUESTDATA, "limit=0 requires count=true");
    size_t total = pl_notifier_list(r->app->notifier, r->tenant, (size_t)offset, (size_t)limit,
                                    render_one, &u);
    if (count && strcmp(count, "true") == 0) {
        char n[32];
        snprintf(n, sizeof n, "%zu", total);
        pl_req_add_header(r, "NGSILD-Results-Count", n);
    }
    /* 5.5.9.1: a pointer to the next page while there is one, to the previous one on every
     * page but the first; each keeps the request's other parameters */
    if (limit > 0 && (size_t)(offset + limit) < total)
        pl_api__add_page_link(r, offset + limit, limit, "next");
    if (limit > 0 && offset > 0)
        pl_api__add_page_link(r, offset > limit ? offset - limit : 0, limit, "prev");
    pl_api_reply_with_context(r, 200, u.out);
    return PL_HANDLER_DONE;
}

struct patch_ud {
    const json_t *frag;
    struct pl_ctx *ctx;
    struct pl_req *r;
    int fn_failed; /* the fragment was refused (not: the subscription is missing) */
    const struct pl_guard *guard; /* the outbound guard (borrowed) */
};

/* Only the owner, operators of the tenant and admins change a subscription, and only the owner
 * and admins change where it sends (docs/security.md "Tenants and secrets"). */
static int patch_one(void *ud, const struct pl_sub *cur, struct pl_sub **out, struct pl_err *err)
{
    struct patch_ud *u = ud;
    const struct pl_principal *who = u->r->principal;
    u->fn_failed = 1;
    if (!pl_owner_may_modify(cur->owner, who, u->r->tenant))
        return pl_err_set(err, PL_EFORBIDDEN, "only its owner may change this subscription");
    int rc = pl_sub_patch(cur, u->frag, u->ctx, out, err);
    if (rc == 0 && !pl_owner_may_repoint(cur->owner, who) && !pl_sub_same_endpoint(cur, *out)) {
        pl_sub_free(*out);
        *out = NULL;
        return pl_err_set(err, PL_EFORBIDDEN,
                          "only its owner may change the endpoint of this subscription");
    }
    if (rc == 0 && (rc = endpoint_check(u->guard, *out, err)) != 0) {
        pl_sub_free(*out);
        *out = NULL;
    }
    u->fn_failed = rc != 0;
    return rc;
}

/* PATCH /subscriptions/{id} (5.8.2, 6.11.3.2) */
int pl_api_subscription_patch(struct pl_req *r)
{
    if (sub_id_or_reply(r) != 0)
        return PL_HANDLER_DONE;
    json_t *body;
    struct pl_ctx *ctx;
    if (pl_api_body_or_reply(r, 1, &body) != 0 || pl_api_context_or_reply(r, body, &ctx) != 0)
        return PL_HANDLER_DONE;
    struct pl_err err;
    pl_err_clear(&err);
    const json_t *jc = json_object_get(body, "jsonldContext");
    if (json_is_string(jc) && pl_is_uri(json_string_value(jc)) &&
        strcmp(json_string_value(jc), "urn:ngsi-ld:null") != 0 &&
        jsonld_context_or_reply(r, json_string_value(jc)) != 0)
        return PL_HANDLER_DONE;
    struct patch_ud u = {body, ctx, r, 0, r->app->guard};
    if (pl_notifier_update(r->app->notifier, r->tenant, r->params[0], patch_one, &u, &err) != 0)
        return u.fn_failed ? pl_reply_problem(r, &err) : pl_api_problem(r, &err);
    pl_reply_empty(r, 204);
    return PL_HANDLER_DONE;
}

static int delete_allowed(void *ud, const struct pl_sub *cur, struct pl_err *err)
{
    struct pl_req *r = ud;
    if (pl_owner_may_modify(cur->owner, r->principal, r->tenant))
        return 0;
    return pl_err_set(err, PL_EFORBIDDEN, "only its owner may delete this subscription");
}

/* DELETE /subscriptions/{id} (5.8.5, 6.11.3.3) */
int pl_api_subscription_delete(struct pl_req *r)
{
    if (sub_id_or_reply(r) != 0)
        return PL_HANDLER_DONE;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_notifier_remove_if(r->app->notifier, r->tenant, r->params[0], delete_allowed, r,
                              &err) != 0)
        return err.code == PL_EFORBIDDEN ? pl_reply_problem(r, &err) : pl_api_problem(r, &err);
    pl_reply_empty(r, 204);
    return PL_HANDLER_DONE;
}
