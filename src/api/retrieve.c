/* SPDX-License-Identifier: Apache-2.0 */
/*
 * retrieve.c — GET /entities/{id} (NGSI-LD 5.7.1, 6.5.3.1): representation options (format,
 * options=keyValues|concise|sysAttrs), attrs, pick/omit (4.21), lang (4.15), and GeoJSON
 * (4.5.17.1, geometryProperty).
 *
 * Two paths: the common representations (normalized, keyValues, concise; sysAttrs; attrs) as
 * application/json or application/ld+json go from the stored TEXT straight to response text
 * (ngsild/entity_stream.h: no JSON tree, a few mallocs); everything else, and whatever the fast
 * path declines, parses the stored entity and renders a tree (pl_entity_render).
 */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/linked.h"
#include "api/readscope.h"
#include "app/app.h"
#include "base/strbuf.h"
#include "ngsild/entity.h"
#include "ngsild/entity_stream.h"
#include "query/typesel.h"
#include "store/store.h"

/* Reads format= and options= into *o (clause 6.3.7). Returns 0 or -1 after answering. */
int pl_api_representation_or_reply(struct pl_req *r, struct pl_render_opts *o)
{
    const char **opts;
    int n = pl_api_split_or_reply(r, "options", pl_req_arg(r, "options"), &opts);
    if (n < 0)
        return -1;
    int kv = 0, concise = 0, normalized = 0;
    /* temporalValues / aggregatedValues: only on the temporal API (4.5.9, 4.5.19) */
    int temporal = strncmp(r->path, "/ngsi-ld/v1/temporal/", 21) == 0;
    for (int i = 0; i < n; i++) {
        if (temporal && strcmp(opts[i], "temporalValues") == 0) {
            o->temporal = PL_TEMPORAL_VALUES;
            continue;
        }
        if (temporal && strcmp(opts[i], "aggregatedValues") == 0) {
            o->temporal = PL_TEMPORAL_AGGREGATED;
            continue;
        }
        if (strcmp(opts[i], "keyValues") == 0 || strcmp(opts[i], "simplified") == 0)
            kv = 1;
        else if (strcmp(opts[i], "concise") == 0)
            concise = 1;
        else if (strcmp(opts[i], "normalized") == 0)
            normalized = 1;
        else if (strcmp(opts[i], "sysAttrs") == 0)
            o->sys_attrs = 1;
        else {
            pl_reply_error(r, PL_EINVALIDREQUEST, "unknown options value '%.100s'", opts[i]);
            return -1;
        }
    }
    const char *fmt = pl_req_arg(r, "format");
    if (fmt) {
        /* 6.3.7: format takes precedence over options (temporalValues among them). */
        kv = concise = normalized = 0;
        o->temporal = PL_TEMPORAL_NORMALIZED;
        if (temporal && strcmp(fmt, "temporalValues") == 0)
            o->temporal = PL_TEMPORAL_VALUES;
        else if (temporal && strcmp(fmt, "aggregatedValues") == 0)
            o->temporal = PL_TEMPORAL_AGGREGATED;
        else if (strcmp(fmt, "keyValues") == 0 || strcmp(fmt, "simplified") == 0)
            kv = 1;
        else if (strcmp(fmt, "concise") == 0)
            concise = 1;
        else if (strcmp(fmt, "normalized") == 0)
            normalized = 1;
        else {
            pl_reply_error(r, PL_EINVALIDREQUEST, "unknown format '%.100s'", fmt);
            return -1;
        }
    }
    if (kv + concise + normalized > 1) {
        pl_reply_error(r, PL_EINVALIDREQUEST,
                       "options name more than one representation (keyValues, concise, "
                       "normalized)");
        return -1;
    }
    if (temporal && kv) {
        pl_reply_error(r, PL_EBADREQUESTDATA,
                       "the temporal API answers normalized, concise, temporalValues or "
                       "aggregatedValues representations");
        return -1;
    }
    o->format = kv ? PL_FORMAT_KEYVALUES : concise ? PL_FORMAT_CONCISE : PL_FORMAT_NORMALIZED;
    return 0;
}

int pl_api_dataset_list_or_reply(struct pl_req *r, const char ***out)
{
    int n = pl_api_split_or_reply(r, "datasetId", pl_req_arg(r, "datasetId"), out);
    for (int i = 0; i < n; i++) {
        if (strcmp((*out)[i], "@none") != 0 && !pl_is_uri((*out)[i])) {
            pl_reply_error(r, PL_EBADREQUESTDATA, "datasetId: '%.200s' is not a URI", (*out)[i]);
            return -1;
        }
    }
    return n;
}

int pl_api_datasets_or_reply(struct pl_req *r, struct pl_render_opts *o)
{
    const char **items;
    int n = pl_api_dataset_list_or_reply(r, &items);
    if (n < 0)
        return -1;
    o->datasets = n > 0 ? items : NULL;
    o->n_datasets = (size_t)n;
    return 0;
}

/* Expands a list of attribute names (the entity members id, type and scope kept as they are
 * when `keep_members`: 4.21 / 5.7.2.3 pick and omit take them). */
int pl_api_expand_list_or_reply(struct pl_req *r, struct pl_ctx *ctx, const char *param,
                                int keep_members, const char *const **out, size_t *n_out)
{
    const char **items;
    int n = pl_api_split_or_reply(r, param, pl_req_arg(r, param), &items);
    if (n < 0)
        return -1;
    for (int i = 0; i < n; i++) {
        if (keep_members && (strcmp(items[i], "id") == 0 || strcmp(items[i], "type") == 0 ||
                             strcmp(items[i], "scope") == 0))
            continue;
        if ((!pl_is_valid_name(items[i]) && !pl_is_uri(items[i])) ||
            pl_is_reserved_attr_name(items[i])) {
            pl_reply_error(r, PL_EBADREQUESTDATA, "invalid attribute name '%.200s' in %s", items[i],
                           param);
            return -1;
        }
        char *iri = pl_ctx_expand(ctx, items[i]);
        if (!iri) {
            pl_reply_error(r, PL_EBADREQUESTDATA, "cannot expand '%.200s' in %s", items[i], param);
            return -1;
        }
        pl_req_defer_free(r, iri);
        items[i] = iri;
    }
    *out = n > 0 ? items : NULL;
    *n_out = (size_t)n;
    return 0;
}

/*
 * The fast path. Returns 0 when it answered (the entity, or a store error), 1 when the caller
 * must take the tree path (options it does not cover, or an entity it declines).
 */
static int stream_reply(struct pl_req *r, const struct pl_ctx *ctx, const char *id,
                        const struct pl_render_opts *o)
{
    if (o->pick || o->omit || o->lang || o->datasets ||
        (r->accept != PL_MIME_JSON && r->accept != PL_MIME_LDJSON))
        return 1;
    struct pl_err err;
    pl_err_clear(&err);
    char *body;
    size_t len;
    if (pl_store_entity_get_raw(r->app->store, r->tenant, id, &body, &len, &err) != 0) {
        pl_api_problem(r, &err);
        return 0;
    }
    struct pl_strbuf b;
    pl_strbuf_init(&b);
    pl_strbuf_reserve(&b, len + 128); /* compacted output is about the stored size */
    int rc = pl_entity_stream_render(ctx, body, len, o, &b, &err);
    free(body);
    if (rc != 0) {
        pl_strbuf_dispose(&b);
        return 1; /* declined, corrupt or out of memory: the tree path decides what to say */
    }
    const char *type = "application/json";
    if (r->accept == PL_MIME_LDJSON) {
        /* As pl_api_reply_with_context: "@context" added as the last member. */
        char *cm = pl_api_context_member_text(r);
        if (!cm) {
            pl_strbuf_dispose(&b);
            pl_reply_error(r, PL_ENOMEM, "out of memory");
            return 0;
        }
        b.len--; /* reopen the object: drop its '}' */
        if (b.p[b.len - 1] != '{')
            pl_strbuf_putc(&b, ',');
        pl_strbuf_puts(&b, "\"@context\":");
        pl_strbuf_puts(&b, cm);
        pl_strbuf_putc(&b, '}');
        free(cm);
        type = "application/ld+json";
    }
    size_t n;
    char *text = pl_strbuf_take(&b, &n);
    if (!text) {
        pl_reply_error(r, PL_ENOMEM, "out of memory");
        return 0;
    }
    if (r->accept == PL_MIME_JSON)
        pl_api_add_context_link(r);
    pl_reply_raw(r, 200, type, text, n);
    return 0;
}

static void free_typesel(void *p)
{
    pl_typesel_free(p);
}

/* 1 when the stored entity has at least one of the attributes `iris`. */
static int has_any_attr(const json_t *e, const char *const *iris, size_t n)
{
    const json_t *attrs = json_object_get(e, "attrs");
    for (size_t i = 0; i < n; i++) {
        if (json_array_size(json_object_get(attrs, iris[i])) > 0)
            return 1;
    }
    return 0;
}

int pl_api_entity_get(struct pl_req *r)
{
    const char *id = r->params[0];
    if (pl_api_entity_id_or_reply(r, id) != 0)
        return PL_HANDLER_DONE;
    struct pl_ctx *ctx;
    if (pl_api_context_or_reply(r, NULL, &ctx) != 0)
        return PL_HANDLER_DONE;
    struct pl_render_opts o;
    memset(&o, 0, sizeof o);
    if (pl_api_representation_or_reply(r, &o) != 0)
        return PL_HANDLER_DONE;
    struct pl_linked v;
    if (pl_api_view_or_reply(r, ctx, 1, &o, &v) != 0)
        return PL_HANDLER_DONE;
    o.lang = pl_req_arg(r, "lang");
    if (o.lang && !*o.lang)
        return pl_reply_error(r, PL_EBADREQUESTDATA, "lang must not be empty");
    if (pl_api_datasets_or_reply(r, &o) != 0)
        return PL_HANDLER_DONE;
    if (pl_req_arg(r, "geometryProperty") && r->accept != PL_MIME_GEOJSON)
        return pl_reply_error(r, PL_EBADREQUESTDATA,
                              "geometryProperty requires Accept: application/geo+json (5.7.1.4)");
    /* type (4.17): the entity must also match the selector, else ResourceNotFound (5.7.1.4) */
    struct pl_typesel *ts = NULL;
    const char *tq = pl_req_arg(r, "type");
    if (tq) {
        struct pl_err terr;
        pl_err_clear(&terr);
        if (pl_typesel_parse(tq, &ts, &terr) != 0 || pl_typesel_resolve(ts, ctx, &terr) != 0) {
            pl_typesel_free(ts);
            return pl_reply_problem(r, &terr);
        }
        pl_req_defer(r, free_typesel, ts);
    }

    /* issue 12: a principal that may not read everything takes the tree path (its type
     * decides, and private attributes go as if omitted) */
    const struct pl_read_scope *rs = pl_api_read_scope(r);
    /* attrs takes the tree path: it answers ResourceNotFound when none is there (5.7.1.4) */
    if (!rs && !o.attrs && !ts && v.join == PL_JOIN_NONE && stream_reply(r, ctx, id, &o) == 0)
        return PL_HANDLER_DONE;

    struct pl_err err;
    pl_err_clear(&err);
    json_t *stored;
    if (pl_store_entity_get(r->app->store, r->tenant, id, &stored, &err) != 0)
        return pl_api_problem(r, &err);
    pl_req_defer_decref(r, stored);
    if (rs) {
        enum pl_read_level lv = pl_read_scope_entity(rs, stored);
        if (lv == PL_READ_NONE) { /* as if absent: the same answer as the store's */
            pl_err_set(&err, PL_ENOTFOUND, "Entity not found");
            return pl_api_problem(r, &err);
        }
        if (lv == PL_READ_OPEN)
            pl_read_scope_strip(rs, stored);
    }

    if (ts && !pl_typesel_match(ts, json_object_get(stored, "type")))
        return pl_reply_error(r, PL_ENOTFOUND, "no entity '%.200s' of type '%.200s'", id, tq);
    if (o.attrs && !has_any_attr(stored, o.attrs, o.n_attrs))
        return pl_reply_error(r, PL_ENOTFOUND,
                              "entity '%.200s' has none of the attributes in attrs (5.7.1.4)", id);
    int geo = r->accept == PL_MIME_GEOJSON;
    const char *gp_iri = NULL;
    const char *gp = pl_req_arg(r, "geometryProperty");
    if (geo && gp) {
        char *z = pl_ctx_expand(ctx, gp);
        if (!z)
            return pl_reply_error(r, PL_ENOMEM, "out of memory");
        pl_req_defer_free(r, z);
        gp_iri = z;
    }
    json_t *roots = json_pack("[O]", stored);
    if (!roots)
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    pl_req_defer_decref(r, roots);
    json_t *all = NULL;
    if (pl_api_view_render(r, ctx, &o, &v, roots, geo, gp_iri, &all, &err) != 0)
        return pl_api_problem(r, &err);
    pl_req_defer_decref(r, all);
    json_t *out = json_array_get(all, 0);
    if (v.join == PL_JOIN_FLAT) /* 4.5.23.3: always an array (5.7.1.5: a FeatureCollection) */
        out = geo ? json_pack("{s:s,s:O}", "type", "FeatureCollection", "features", all)
                  : json_incref(all);
    else
        json_incref(out);
    if (!out)
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    pl_req_defer_decref(r, out);
    const char *prefer = pl_req_header(r, "Prefer");
    if (geo && prefer && strstr(prefer, "body=json")) {
        /* 5.7.1.4: with Prefer: body=json the @context goes in a Link header, not the Feature */
        pl_api_add_context_link(r);
        pl_reply_json(r, 200, "application/geo+json", out);
        return PL_HANDLER_DONE;
    }
    pl_api_reply_with_context(r, 200, out);
    return PL_HANDLER_DONE;
}
