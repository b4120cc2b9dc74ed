/* SPDX-License-Identifier: Apache-2.0 */
/* common.c — helpers shared by the handlers: body, @context, representation, ids, lists. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "app/app.h"
#include "ctxreg/ctxreg.h"
#include "ngsild/entity.h"
#include "query/typesel.h"
#include "store/store.h"

int pl_api_body_or_reply(struct pl_req *r, int want_object, json_t **out)
{
    json_error_t je;
    /* JSON_REJECT_DUPLICATES: a member given twice is ambiguous input, not "last one wins". */
    json_t *j = json_loadb(r->body ? r->body : "", r->body_len,
                           JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &je);
    if (!j) {
        pl_reply_error(r, PL_EINVALIDREQUEST, "malformed JSON at line %d, column %d (byte %d): %s",
                       je.line, je.column, je.position, je.text);
        return -1;
    }
    pl_req_defer_decref(r, j);
    if (want_object && !json_is_object(j)) {
        pl_reply_error(r, PL_EBADREQUESTDATA, "the request body must be a JSON object");
        return -1;
    }
    *out = j;
    return 0;
}

static void defer_ctx(struct pl_req *r, struct pl_ctx *c);

/* The request's @context value as given (6.3.5): the body's "@context" member for
 * application/ld+json (required; removed from the body), else the Link header URL (the body must
 * then have no "@context"). *out: a NEW reference, NULL when the request has none. */
static int context_value(struct pl_req *r, json_t *body, json_t **out, struct pl_err *err)
{
    *out = NULL;
    if (body && r->content_type == PL_MIME_LDJSON) {
        json_t *value = json_is_object(body) ? json_object_get(body, "@context") : NULL;
        if (!value)
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "Content-Type application/ld+json requires an @context member in "
                              "the body (clause 6.3.5)");
        *out = json_incref(value);
        json_object_del(body, "@context");
        return 0;
    }
    if (body && json_is_object(body) && json_object_get(body, "@context"))
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "@context in the body needs Content-Type application/ld+json; with "
                          "application/json use the Link header (clause 6.3.5)");
    if (r->link_context && !(*out = json_string(r->link_context)))
        return pl_err_set(err, PL_EBADREQUESTDATA, "the Link header URL is not valid UTF-8");
    return 0;
}

/* Resolves `value` (borrowed, may be NULL) through the registry. */
static int resolve_value(struct pl_req *r, json_t *value, struct pl_ctx **out, struct pl_err *err)
{
    int rc = pl_ctxreg_resolve(r->app->ctxreg, value, out, err);
    if (rc != 0 && err->code == PL_OK)
        pl_err_set(err, rc, "cannot resolve the @context");
    return rc;
}

int pl_api_context_resolve(struct pl_req *r, json_t *body, struct pl_ctx **out, struct pl_err *err)
{
    json_t *value = NULL;
    *out = NULL;
    int rc = context_value(r, body, &value, err);
    if (rc == 0)
        rc = resolve_value(r, value, out, err);
    json_decref(value);
    return rc;
}

int pl_api_context_or_reply(struct pl_req *r, json_t *body, struct pl_ctx **out)
{
    struct pl_err err;
    pl_err_clear(&err);
    struct pl_ctx *c = NULL;
    json_t *value = NULL;
    if (context_value(r, body, &value, &err) != 0 || resolve_value(r, value, &c, &err) != 0) {
        json_decref(value);
        pl_reply_problem(r, &err);
        return -1;
    }
    defer_ctx(r, c);
    if (value && !r->ld_context) { /* the context answers name (4.4, 6.3.6) */
        r->ld_context = value;
        pl_req_defer_decref(r, value);
    } else {
        json_decref(value);
    }
    *out = c;
    return 0;
}

static void unref_ctx(void *c)
{
    pl_ctx_unref(c);
}

static void defer_ctx(struct pl_req *r, struct pl_ctx *c)
{
    pl_req_defer(r, unref_ctx, c);
}

char *pl_api_context_url(struct pl_req *r, int keep)
{
    json_t *link = NULL;
    const json_t *value = r->ld_context;
    if (!value && r->link_context)
        value = link = json_string(r->link_context);
    struct pl_err err;
    pl_err_clear(&err);
    char *url = NULL;
    (void)pl_ctxreg_context_url(r->app->ctxreg, value, keep, &url, &err);
    json_decref(link);
    return url;
}

static char *context_header_value(struct pl_req *r)
{
    char *url = pl_api_context_url(r, 0);
    size_t n = url ? strlen(url) + 96 : 0;
    char *v = url ? malloc(n) : NULL;
    if (v)
        snprintf(v, n,
                 "<%s>; rel=\"http://www.w3.org/ns/json-ld#context\"; "
                 "type=\"application/ld+json\"",
                 url);
    free(url);
    return v;
}

/* The "@context" member of an application/ld+json answer: the request's @context exactly as
 * the client gave it (the Link URL as a string, or the body's inline value), the core context
 * URL only when the request had none (4.4: the core context is implied in last position, so it
 * is not appended; the peers answer alike). NEW reference. */
static json_t *context_member(struct pl_req *r)
{
    if (r->ld_context)
        return json_incref(r->ld_context);
    return json_string(r->link_context ? r->link_context : PL_CORE_CONTEXT_URL);
}

void pl_api_add_context_link(struct pl_req *r)
{
    char *link = context_header_value(r);
    if (link) {
        pl_req_add_header(r, "Link", link);
        free(link);
    }
}

char *pl_api_context_member_text(struct pl_req *r)
{
    json_t *ctx = context_member(r);
    char *z = ctx ? json_dumps(ctx, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(ctx);
    return z;
}

void pl_api_reply_with_context(struct pl_req *r, int status, json_t *doc)
{
    if (r->accept == PL_MIME_JSON) {
        pl_api_add_context_link(r);
        pl_reply_json(r, status, "application/json", doc);
        return;
    }
    /* 6.3.6: GeoJSON with "Prefer: body=json" links the @context instead of embedding it */
    const char *prefer = r->accept == PL_MIME_GEOJSON ? pl_req_header(r, "Prefer") : NULL;
    if (prefer && strstr(prefer, "body=json")) {
        pl_api_add_context_link(r);
        pl_reply_json(r, status, "application/geo+json", doc);
        return;
    }
    json_t *ctx = context_member(r);
    if (json_is_object(doc)) {
        json_object_set(doc, "@context", ctx);
    } else if (json_is_array(doc)) {
        size_t i;
        json_t *e;
        json_array_foreach(doc, i, e)
        {
            if (json_is_object(e))
                json_object_set(e, "@context", ctx);
        }
    }
    json_decref(ctx);
    pl_reply_json(r, status,
                  r->accept == PL_MIME_GEOJSON ? "application/geo+json" : "application/ld+json",
                  doc);
}

int pl_api_entity_id_or_reply(struct pl_req *r, const char *id)
{
    if (strlen(id) > r->app->limits.max_id_len) {
        pl_reply_error(r, PL_EBADREQUESTDATA, "entity id longer than %zu bytes",
                       r->app->limits.max_id_len);
        return -1;
    }
    if (!pl_is_uri(id)) {
        pl_reply_error(r, PL_EBADREQUESTDATA, "entity id '%.200s' is not a URI", id);
        return -1;
    }
    return 0;
}

int pl_api_split_or_reply(struct pl_req *r, const char *param, const char *value,
                          const char ***items)
{
    *items = NULL;
    if (!value)
        return 0;
    char *copy = strdup(value);
    size_t max = 1;
    for (const char *p = value; *p; p++)
        max += *p == ',';
    const char **arr = calloc(max, sizeof *arr);
    if (!copy || !arr) {
        free(copy);
        free(arr);
        pl_reply_error(r, PL_ENOMEM, "out of memory");
        return -1;
    }
    pl_req_defer_free(r, copy);
    pl_req_defer_free(r, (void *)arr);
    int n = 0;
    char *p = copy;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        if (!*p) {
            pl_reply_error(r, PL_EBADREQUESTDATA, "empty item in parameter '%s'", param);
            return -1;
        }
        arr[n++] = p;
        if (!comma)
            break;
        p = comma + 1;
    }
    *items = arr;
    return n;
}

int pl_api_problem(struct pl_req *r, const struct pl_err *e)
{
    if (e && e->code == PL_ENOTFOUND && r->tenant[0] &&
        !pl_store_tenant_exists(r->app->store, r->tenant))
        return pl_reply_error(r, PL_ENOTENANT, "tenant '%s' does not exist", r->tenant);
    return pl_reply_problem(r, e);
}

int pl_api_reply_created(struct pl_req *r, const char *collection, const char *id)
{
    char *seg = pl_http_encode_segment(id);
    size_t n = seg ? strlen(collection) + strlen(seg) + 1 : 0;
    char *loc = seg ? malloc(n) : NULL;
    if (loc) {
        snprintf(loc, n, "%s%s", collection, seg);
        pl_req_add_header(r, "Location", loc);
    }
    free(loc);
    free(seg);
    pl_reply_empty(r, 201);
    return PL_HANDLER_DONE;
}

static void typesel_release(void *p)
{
    pl_typesel_free(p);
}

int pl_api_type_selector_or_reply(struct pl_req *r, const struct pl_ctx *ctx,
                                  const struct pl_typesel **out)
{
    *out = NULL;
    const char *text = pl_req_arg(r, "type");
    if (!text)
        return 0;
    struct pl_typesel *t = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_typesel_parse(text, &t, &err) != 0 || pl_typesel_resolve(t, ctx, &err) != 0) {
        pl_typesel_free(t);
        pl_reply_problem(r, &err);
        return -1;
    }
    if (pl_req_defer(r, typesel_release, t) != 0) {
        pl_typesel_free(t);
        pl_reply_error(r, PL_ENOMEM, "out of memory");
        return -1;
    }
    *out = t;
    return 0;
}
