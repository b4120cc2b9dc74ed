/* SPDX-License-Identifier: Apache-2.0 */
/*
 * query.c — Query Entities (NGSI-LD 5.7.2; GET /entities 6.4.3.2 and POST
 * /entityOperations/query 6.23), Purge Entities (5.6.21, DELETE /entities), and discovery of
 * types and attributes (5.7.5-5.7.10, 6.25-6.28).
 *
 * parse -> validate -> act -> serialize: the parameters become a struct pl_store_query (names
 * expanded with the request's @context, q / type / scopeQ / geo parsed into ASTs by query/), the
 * store answers from its indexes, and each matching entity is rendered as GET /entities/{id}
 * renders it (the streaming renderer when it can, the tree renderer otherwise).
 */
#include <regex.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "app/app.h"
#include "base/strbuf.h"
#include "base/strv.h"
#include "base/timeutil.h"
#include "ngsild/entity.h"
#include "ngsild/entity_stream.h"
#include "query/geoq.h"
#include "query/order.h"
#include "query/q.h"
#include "query/scopeq.h"
#include "query/typesel.h"
#include "store/store.h"
#include "api/query_int.h"
#include "api/readscope.h"
#include "query/qvalues.h"

#define DEFAULT_LIMIT 20
#define MAX_LIMIT     1000 /* 6.3.x: a larger limit is answered with BadRequestData */

static void qreq_release(void *p)
{
    struct qreq *x = p;
    pl_q_free((struct pl_q_node *)x->sq.q);
    pl_typesel_free((struct pl_typesel *)x->sq.types);
    pl_scopeq_free((struct pl_scopeq *)x->sq.scope);
    pl_geoq_free((struct pl_geoq *)x->sq.geo);
    pl_order_free(x->order);
    if (x->has_re)
        regfree(&x->id_re);
    for (size_t i = 0; i < x->n_sel_res; i++) {
        if (x->sels[i].id_regex)
            regfree(&x->sel_res[i]);
        pl_typesel_free((struct pl_typesel *)x->sels[i].types);
    }
    free(x->sel_res);
    free(x->sels);
    free(x);
}

static struct qreq *qreq_new(struct pl_req *r)
{
    struct qreq *x = calloc(1, sizeof *x);
    if (!x || pl_req_defer(r, qreq_release, x) != 0) {
        free(x);
        pl_reply_error(r, PL_ENOMEM, "out of memory");
        return NULL;
    }
    x->sq.tenant = r->tenant;
    x->sq.limit = DEFAULT_LIMIT;
    return x;
}

/* Reads run in an existing tenant only (5.5.10: NonexistentTenant, through pl_api_problem).
 * Returns 0 or -1 after answering. */
static int tenant_or_reply(struct pl_req *r)
{
    if (pl_store_tenant_exists(r->app->store, r->tenant))
        return 0;
    struct pl_err e;
    pl_err_set(&e, PL_ENOTFOUND, "tenant '%s' does not exist", r->tenant);
    pl_api_problem(r, &e);
    return -1;
}

/* ------------------------------------------------------------------------------------------
 * Parameter parsing (shared by GET and POST)
 * ---------------------------------------------------------------------------------------- */
static int regex_or_reply(struct pl_req *r, const char *what, const char *pattern, regex_t *re)
{
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_regex_compile(what, pattern, re, &err) != 0) {
        pl_reply_problem(r, &err);
        return -1;
    }
    return 0;
}

static int typesel_or_reply(struct pl_req *r, struct pl_ctx *ctx, const char *text,
                            struct pl_typesel **out)
{
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_typesel_parse(text, out, &err) != 0 || pl_typesel_resolve(*out, ctx, &err) != 0) {
        pl_typesel_free(*out);
        *out = NULL;
        pl_reply_problem(r, &err);
        return -1;
    }
    return 0;
}

static int q_or_reply(struct pl_req *r, struct qreq *x, const char *text)
{
    struct pl_err err;
    pl_err_clear(&err);
    struct pl_q_node *n = NULL;
    if (pl_q_parse(text, &n, &err) != 0 || pl_q_resolve(n, x->ctx, &err) != 0) {
        pl_q_free(n);
        pl_reply_problem(r, &err);
        return -1;
    }
    x->sq.q = n;
    return 0;
}

static int scope_or_reply(struct pl_req *r, struct qreq *x, const char *text)
{
    struct pl_err err;
    pl_err_clear(&err);
    struct pl_scopeq *n = NULL;
    if (pl_scopeq_parse(text, &n, &err) != 0) {
        pl_reply_problem(r, &err);
        return -1;
    }
    x->sq.scope = n;
    return 0;
}

/* The geo-query's attribute, expanded (default: location). */
static int geo_attr_or_reply(struct pl_req *r, struct qreq *x)
{
    const char *gp = x->sq.geo->geoproperty;
    if (!gp || strcmp(gp, "location") == 0) {
        x->sq.geo_attr = PL_GEOQ_LOCATION_IRI;
        return 0;
    }
    char *iri = pl_ctx_expand(x->ctx, gp);
    if (!iri) {
        pl_reply_error(r, PL_EBADREQUESTDATA, "geoproperty: cannot expand '%.200s'", gp);
        return -1;
    }
    pl_req_defer_free(r, iri);
    x->sq.geo_attr = iri;
    return 0;
}

/* A non-negative integer parameter. Returns 0 (*v unchanged when absent) or -1 (answered). */
static int int_arg_or_reply(struct pl_req *r, const char *name, int64_t *v)
{
    const char *s = pl_req_arg(r, name);
    if (!s)
        return 0;
    char *end = NULL;
    long long n = strtoll(s, &end, 10);
    if (!*s || *end || n < 0 || n > 1000000000000LL) {
        pl_reply_error(r, PL_EBADREQUESTDATA, "%s must be a non-negative integer, not '%.50s'",
                       name, s);
        return -1;
    }
    *v = n;
    return 0;
}

static int bool_arg_or_reply(struct pl_req *r, const char *name, int *v)
{
    const char *s = pl_req_arg(r, name);
    if (!s)
        return 0;
    if (strcmp(s, "true") == 0)
        *v = 1;
    else if (strcmp(s, "false") == 0)
        *v = 0;
    else {
        pl_reply_error(r, PL_EBADREQUESTDATA, "%s must be true or false, not '%.50s'", name, s);
        return -1;
    }
    return 0;
}

/* orderBy, collation, orderFrom, orderGeometry (4.23) into x->order. Every Polis query runs
 * in the local scope (no context source registrations), so 5.7.2.4's "ordering only with
 * local scope" always holds. 0 or -1 (answered). */
static int order_or_reply(struct pl_req *r, struct qreq *x)
{
    const char *by = pl_req_arg(r, "orderBy");
    if (!by) {
        if (pl_req_arg(r, "collation") || pl_req_arg(r, "orderFrom") ||
            pl_req_arg(r, "orderGeometry")) {
            pl_reply_error(r, PL_EBADREQUESTDATA,
                           "collation, orderFrom and orderGeometry need orderBy (4.23)");
            return -1;
        }
        return 0;
    }
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_order_parse(by, pl_req_arg(r, "collation"), pl_req_arg(r, "orderFrom"),
                       pl_req_arg(r, "orderGeometry"), &x->order, &err) != 0 ||
        pl_order_resolve(x->order, x->ctx, &err) != 0) {
        pl_reply_problem(r, &err);
        return -1;
    }
    return 0;
}

/* The parameters common to GET and POST that live in the URL: paging, count, representation,
 * pick/omit, lang, local, geometryProperty. */
static int url_params_or_reply(struct pl_req *r, struct qreq *x, int *local)
{
    if (pl_api_representation_or_reply(r, &x->o) != 0)
        return -1;
    if (pl_api_view_or_reply(r, x->ctx, 0, &x->o, &x->v) != 0)
        return -1;
    x->o.lang = pl_req_arg(r, "lang");
    if (x->o.lang && !*x->o.lang) {
        pl_reply_error(r, PL_EBADREQUESTDATA, "lang must not be empty");
        return -1;
    }
    if (int_arg_or_reply(r, "limit", &x->sq.limit) != 0 ||
        int_arg_or_reply(r, "offset", &x->sq.offset) != 0 ||
        bool_arg_or_reply(r, "count", &x->sq.count) != 0 ||
        bool_arg_or_reply(r, "local", local) != 0)
        return -1;
    if (x->sq.limit > MAX_LIMIT) {
        pl_reply_error(r, PL_EBADREQUESTDATA, "limit %lld is above the maximum of %d",
                       (long long)x->sq.limit, MAX_LIMIT);
        return -1;
    }
    if (x->sq.limit == 0 && !x->sq.count) {
        /* 6.3.x (pagination): limit=0 only makes sense with count=true */
        pl_reply_error(r, PL_EBADREQUESTDATA, "limit=0 requires count=true");
        return -1;
    }
    if (order_or_reply(r, x) != 0)
        return -1;
    const char *gp = pl_req_arg(r, "geometryProperty");
    if (gp) {
        if (r->accept != PL_MIME_GEOJSON) {
            pl_reply_error(r, PL_EBADREQUESTDATA,
                           "geometryProperty requires Accept: application/geo+json (5.7.2.4)");
            return -1;
        }
        char *iri = pl_ctx_expand(x->ctx, gp);
        if (!iri) {
            pl_reply_error(r, PL_EBADREQUESTDATA, "geometryProperty: cannot expand '%.200s'", gp);
            return -1;
        }
        pl_req_defer_free(r, iri);
        x->geometry_property = iri;
    }
    return 0;
}

/* The system attributes (4.8) by their expanded names: a query naming only these is too wide. */
static int is_system_attr(const char *iri)
{
    static const char *const sys[] = {"createdAt", "modifiedAt", "deletedAt", "observedAt",
                                      "expiresAt"};
    const char *core = "https://uri.etsi.org/ngsi-ld/";
    const char *n = strncmp(iri, core, strlen(core)) == 0 ? iri + strlen(core) : iri;
    for (size_t i = 0; i < sizeof sys / sizeof sys[0]; i++)
        if (strcmp(n, sys[i]) == 0)
            return 1;
    return 0;
}

/* 1 when some term of q names a non-system attribute. */
static int q_names_user_attr(const struct pl_q_node *n)
{
    if (n->kind == PL_Q_TERM) {
        const char *a = n->term.path_iri ? n->term.path_iri[0] : n->term.path[0];
        return !is_system_attr(a);
    }
    for (size_t i = 0; i < n->n_kids; i++)
        if (q_names_user_attr(n->kids[i]))
            return 1;
    return 0;
}

/* 5.7.2.4: a query must name types, attributes (at least one non-system), a q (naming at least
 * one non-system attribute), a geo-query or be local. */
static int too_wide_or_reply(struct pl_req *r, const struct qreq *x, int local)
{
    int sel_types = 0, user_attrs = 0;
    for (size_t i = 0; i < x->sq.n_sels; i++)
        sel_types |= x->sq.sels[i].types != NULL;
    for (size_t i = 0; i < x->sq.n_attrs; i++)
        user_attrs |= !is_system_attr(x->sq.attrs[i]);
    if (x->sq.types || sel_types || user_attrs || (x->sq.q && q_names_user_attr(x->sq.q)) ||
        x->sq.geo || local)
        return 0;
    pl_reply_error(r, PL_EBADREQUESTDATA,
                   "too wide query: give type, attrs, q, a geo-query or local=true (5.7.2.4)");
    return -1;
}

/* ------------------------------------------------------------------------------------------
 * Answer
 * ---------------------------------------------------------------------------------------- */
struct emit {
    struct pl_req *r;
    struct qreq *x;
    struct pl_strbuf b;
    char *ctx_member; /* ld+json: the "@context" value text */
    int64_t n;        /* rows seen */
    int64_t n_out;    /* entities written */
    json_t *roots;    /* Linked Entity Retrieval: the page's stored entities, else NULL */
    int64_t want;     /* rows to render (the limit asked for) */
    int stream_ok;    /* the streaming renderer covers the options */
    const struct pl_read_scope *rs; /* issue 12: what the principal may read (NULL: all) */
    struct pl_err err;
};

/* Private attributes go as if omitted (issue 12), unless the principal reads `e` in full. */
static void hide_private(const struct pl_read_scope *rs, json_t *e)
{
    if (pl_read_scope_entity(rs, e) != PL_READ_FULL)
        pl_read_scope_strip(rs, e);
}

/* Appends one rendered entity (JSON text) to the answer, with "@context" for ld+json; an empty
 * object (a projection that left nothing, 5.7.2.5) is left out. */
static void put_entity(struct emit *em, const char *z, size_t n)
{
    if (n == 2 && z[0] == '{' && z[1] == '}')
        return;
    if (em->n_out++)
        pl_strbuf_putc(&em->b, ',');
    pl_strbuf_append(&em->b, z, n);
    if (em->ctx_member && em->r->accept == PL_MIME_LDJSON && n > 0 && z[n - 1] == '}') {
        em->b.len--;
        if (em->b.p[em->b.len - 1] != '{')
            pl_strbuf_putc(&em->b, ',');
        pl_strbuf_puts(&em->b, "\"@context\":");
        pl_strbuf_puts(&em->b, em->ctx_member);
        pl_strbuf_putc(&em->b, '}');
    }
}

static int put_tree(struct emit *em, const json_t *out)
{
    char *z = json_dumps(out, JSON_COMPACT);
    if (!z)
        return pl_err_set(&em->err, PL_ENOMEM, "out of memory");
    put_entity(em, z, strlen(z));
    free(z);
    return 0;
}

static int emit_row(void *ud, const char *body, size_t len)
{
    struct emit *em = ud;
    struct qreq *x = em->x;
    if (em->n >= em->want) {
        em->n++; /* the extra row only tells that a next page exists */
        return 0;
    }
    em->n++;
    /* the text holds a private attribute perhaps: parse, strip, render the tree */
    int hide = em->rs && pl_read_scope_may_hide(em->rs, body, len);
    if (em->roots) { /* Linked Entity Retrieval: rendered once the page is complete */
        json_t *e = json_loadb(body, len, 0, NULL);
        if (!e)
            return pl_err_set(&em->err, PL_EINTERNAL, "a stored entity is corrupt");
        if (hide)
            hide_private(em->rs, e);
        json_array_append_new(em->roots, e);
        return 0;
    }
    if (em->stream_ok && !hide) {
        struct pl_strbuf one;
        pl_strbuf_init(&one);
        int rc = pl_entity_stream_render(x->ctx, body, len, &x->o, &one, &em->err);
        if (rc == 0)
            put_entity(em, one.p, one.len);
        pl_strbuf_dispose(&one);
        pl_err_clear(&em->err);
        if (rc == 0)
            return em->b.nomem ? pl_err_set(&em->err, PL_ENOMEM, "out of memory") : 0;
    }
    json_t *e = json_loadb(body, len, 0, NULL);
    json_t *out = NULL;
    int rc = e ? 0 : pl_err_set(&em->err, PL_EINTERNAL, "a stored entity is corrupt");
    if (rc == 0 && hide)
        hide_private(em->rs, e);
    if (rc == 0)
        rc = em->r->accept == PL_MIME_GEOJSON
                 ? pl_entity_render_geojson(x->ctx, e, &x->o, x->geometry_property, &out,
                                            &em->err)
                 : pl_entity_render(x->ctx, e, &x->o, &out, &em->err);
    json_decref(e);
    if (rc != 0)
        return rc;
    rc = put_tree(em, out);
    json_decref(out);
    if (rc != 0)
        return rc;
    return em->b.nomem ? pl_err_set(&em->err, PL_ENOMEM, "out of memory") : 0;
}

/* Renders the page's entities with their Linked Entities (4.5.23). */
static int emit_joined(struct emit *em)
{
    struct qreq *x = em->x;
    json_t *all = NULL;
    int rc = pl_api_view_render(em->r, x->ctx, &x->o, &x->v, em->roots,
                                em->r->accept == PL_MIME_GEOJSON, x->geometry_property, &all,
                                &em->err);
    if (rc != 0)
        return rc;
    size_t i;
    json_t *one;
    json_array_foreach (all, i, one) {
        if ((rc = put_tree(em, one)) != 0)
            break;
    }
    json_decref(all);
    return rc;
}

/* Link: <path?...&offset=N&limit=L>; rel="next" (6.3.x pagination). */
static void add_page_link(struct pl_req *r, int64_t offset, int64_t limit, const char *rel)
{
    char *qs = pl_req_query_without(r, "offset", "limit");
    if (!qs)
        return;
    size_t n = strlen(r->path) + strlen(qs) + 96;
    char *v = malloc(n);
    if (v) {
        snprintf(v, n, "<%s?%s%soffset=%lld&limit=%lld>; rel=\"%s\"", r->path, qs, *qs ? "&" : "",
                 (long long)offset, (long long)limit, rel);
        pl_req_add_header(r, "Link", v);
    }
    free(v);
    free(qs);
}

/* orderBy: every match is read and parsed, but only the best `keep` (offset + limit + 1: the
 * page and the row that says a next page exists) are kept: whenever twice that many are held
 * they are sorted and the rest dropped, so memory stays bounded by the page depth, not by the
 * number of matches, and the work is O(matches log keep). The order is total (ties broken by
 * id), so dropping beyond `keep` never changes the page. */
struct kept_row {
    size_t len;
    char body[]; /* the stored text, NUL-terminated (the store lends it for the callback only) */
};

struct collected {
    const struct pl_read_scope *rs; /* private attributes never decide the order (issue 12) */
    struct pl_order_item *items; /* entity: parsed body (owned), ud: its struct kept_row (owned) */
    size_t n, cap;
    size_t keep;   /* rows worth keeping; 0: count only */
    int64_t total; /* every match */
    const struct pl_order *order;
};

static void drop_items(struct collected *c, size_t from)
{
    for (size_t i = from; i < c->n; i++) {
        json_decref((json_t *)c->items[i].entity);
        free(c->items[i].ud);
    }
    c->n = from < c->n ? from : c->n;
}

static int collect_row(void *ud, const char *body, size_t len)
{
    struct collected *c = ud;
    c->total++;
    if (c->keep == 0)
        return 0;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct pl_order_item *it = realloc(c->items, cap * sizeof *it);
        if (!it)
            return PL_ENOMEM;
        c->items = it;
        c->cap = cap;
    }
    json_t *e = json_loadb(body, len, 0, NULL);
    struct kept_row *row = malloc(sizeof *row + len + 1);
    if (!e || !row) {
        json_decref(e);
        free(row);
        return PL_ENOMEM;
    }
    row->len = len;
    memcpy(row->body, body, len);
    row->body[len] = '\0';
    if (c->rs && pl_read_scope_may_hide(c->rs, body, len))
        hide_private(c->rs, e);
    c->items[c->n].entity = e;
    c->items[c->n].ud = row;
    c->n++;
    if (c->n >= 2 * c->keep) {
        if (pl_order_sort(c->order, c->items, c->n) != 0)
            return PL_ENOMEM;
        drop_items(c, c->keep);
    }
    return 0;
}

/* Runs the query of x in orderBy order through emit_row for the page [offset, offset+limit]
 * (one more row tells a next page exists); *count = every match. */
static int ordered_query(struct pl_req *r, struct qreq *x, struct emit *em, int64_t *count)
{
    int64_t end = x->sq.limit > 0 ? x->sq.offset + x->sq.limit + 1 : 0;
    if (end > PL_API_ORDER_MAX + 1)
        return pl_err_set(&em->err, PL_ETOOMANY,
                          "orderBy pages reach at most %d entities deep (offset + limit): "
                          "narrow the query",
                          PL_API_ORDER_MAX);
    struct pl_store_query q = x->sq;
    if (end == 0) { /* limit=0: the count alone, nothing to order */
        q.count = 1;
        return pl_store_entity_query(r->app->store, &q, emit_row, em, count, &em->err);
    }
    struct collected c = {.rs = em->rs, .keep = (size_t)end, .order = x->order};
    q.limit = INT64_MAX; /* every match: the best `keep` are selected while reading */
    q.offset = 0;
    q.count = 0;
    int rc = pl_store_entity_query(r->app->store, &q, collect_row, &c, NULL, &em->err);
    if (rc == PL_ENOMEM || (rc == 0 && c.n && pl_order_sort(x->order, c.items, c.n) != 0))
        rc = pl_err_set(&em->err, PL_ENOMEM, "out of memory");
    for (int64_t i = x->sq.offset; rc == 0 && i < end && i < (int64_t)c.n; i++) {
        const struct kept_row *row = c.items[i].ud;
        rc = emit_row(em, row->body, row->len);
    }
    *count = c.total;
    drop_items(&c, 0);
    free(c.items);
    return rc;
}

static int run_and_reply(struct pl_req *r, struct qreq *x)
{
    if (tenant_or_reply(r) != 0)
        return PL_HANDLER_DONE;
    struct emit em;
    memset(&em, 0, sizeof em);
    em.r = r;
    em.x = x;
    pl_strbuf_init(&em.b);
    em.stream_ok = !x->o.pick && !x->o.omit && !x->o.lang &&
                   (r->accept == PL_MIME_JSON || r->accept == PL_MIME_LDJSON);
    /* 5.7.2.5: an entity pick would empty is no match (so paging and the count agree): a pick
     * of attributes only selects the entities having one of them, as attrs does */
    if (x->v.pick && !pl_proj_has_member(x->v.pick) && !x->sq.n_attrs) {
        x->sq.attrs = x->v.pick->names;
        x->sq.n_attrs = x->v.pick->n;
    }
    /* issue 12: only what the principal may read, in the store query (so that paging and the
     * count see only that), never filtering on a private attribute */
    int nothing = 0;
    if ((em.rs = pl_api_read_scope(r))) {
        if (pl_api_read_query_or_reply(r, em.rs, x->sq.q, x->sq.geo ? x->sq.geo_attr : NULL) != 0)
            return PL_HANDLER_DONE;
        x->sq.read = pl_read_scope_store(em.rs);
        size_t n_attrs = x->sq.n_attrs;
        x->sq.n_attrs = pl_api_read_attrs_filter(r, em.rs, &x->sq.attrs, n_attrs);
        nothing = n_attrs > 0 && x->sq.n_attrs == 0; /* only private attributes wanted */
    }
    if (x->v.join != PL_JOIN_NONE && !(em.roots = json_array()))
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    if (r->accept != PL_MIME_JSON) {
        em.ctx_member = pl_api_context_member_text(r);
        if (!em.ctx_member)
            return pl_reply_error(r, PL_ENOMEM, "out of memory");
    }
    int geo = r->accept == PL_MIME_GEOJSON;
    pl_strbuf_puts(&em.b, geo ? "{\"type\":\"FeatureCollection\",\"features\":[" : "[");

    int64_t want = x->sq.limit;
    int64_t count = 0;
    em.want = want;
    int rc;
    if (nothing) {
        rc = 0;
    } else if (x->order) {
        rc = ordered_query(r, x, &em, &count);
    } else {
        x->sq.limit = want > 0 ? want + 1 : 0; /* one more row says whether a next page exists */
        rc = pl_store_entity_query(r->app->store, &x->sq, emit_row, &em, &count, &em.err);
        x->sq.limit = want;
    }
    if (rc == 0 && em.roots)
        rc = emit_joined(&em);
    json_decref(em.roots);
    if (rc != 0) {
        pl_strbuf_dispose(&em.b);
        free(em.ctx_member);
        if (em.err.code == PL_OK)
            pl_err_set(&em.err, rc, "query failed");
        return pl_api_problem(r, &em.err);
    }
    pl_strbuf_putc(&em.b, ']');
    if (geo) {
        /* 5.7.2.4: a FeatureCollection carries "@context" unless Prefer: body=json */
        const char *prefer = pl_req_header(r, "Prefer");
        if (prefer && strstr(prefer, "body=json")) {
            pl_api_add_context_link(r);
        } else {
            pl_strbuf_puts(&em.b, ",\"@context\":");
            pl_strbuf_puts(&em.b, em.ctx_member);
        }
        pl_strbuf_putc(&em.b, '}');
    }
    free(em.ctx_member);
    if (em.b.nomem) {
        pl_strbuf_dispose(&em.b);
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    }
    if (x->sq.count) {
        char n[32];
        snprintf(n, sizeof n, "%lld", (long long)count);
        pl_req_add_header(r, "NGSILD-Results-Count", n);
    }
    if (want > 0 && em.n > want)
        add_page_link(r, x->sq.offset + want, want, "next");
    if (want > 0 && x->sq.offset > 0)
        add_page_link(r, x->sq.offset > want ? x->sq.offset - want : 0, want, "prev");
    if (r->accept == PL_MIME_JSON)
        pl_api_add_context_link(r);
    size_t len;
    char *text = pl_strbuf_take(&em.b, &len);
    pl_reply_raw(r, 200,
                 geo                           ? "application/geo+json"
                 : r->accept == PL_MIME_LDJSON ? "application/ld+json"
                                               : "application/json",
                 text, len);
    return PL_HANDLER_DONE;
}

/* ------------------------------------------------------------------------------------------
 * GET /entities
 * ---------------------------------------------------------------------------------------- */
static int ids_or_reply(struct pl_req *r, const char *value, const char *const **ids, size_t *n)
{
    const char **items;
    int k = pl_api_split_or_reply(r, "id", value, &items);
    if (k < 0)
        return -1;
    for (int i = 0; i < k; i++) {
        if (!pl_is_uri(items[i])) {
            pl_reply_error(r, PL_EBADREQUESTDATA, "id: '%.200s' is not a URI", items[i]);
            return -1;
        }
    }
    *ids = items;
    *n = (size_t)k;
    return 0;
}

/* expandValues and jsonKeys (6.4.3.2): the q literals of the listed attributes are expanded
 * with the request's @context (query/qvalues.h). After q is parsed. 0 or -1 (answered). */
static int values_or_reply(struct pl_req *r, struct qreq *x, const json_t *body)
{
    const struct pl_proj *ev = NULL, *jk = NULL;
    const char *evt = pl_req_arg(r, "expandValues"), *jkt = pl_req_arg(r, "jsonKeys");
    const json_t *m;
    if (body && (m = json_object_get(body, "expandValues")) && !(evt = json_string_value(m)))
        return pl_reply_error(r, PL_EBADREQUESTDATA, "expandValues must be a string"), -1;
    if (body && (m = json_object_get(body, "jsonKeys")) && !(jkt = json_string_value(m)))
        return pl_reply_error(r, PL_EBADREQUESTDATA, "jsonKeys must be a string"), -1;
    if (pl_api_names_or_reply(r, x->ctx, "expandValues", evt, &ev) != 0 ||
        pl_api_names_or_reply(r, x->ctx, "jsonKeys", jkt, &jk) != 0)
        return -1;
    struct pl_err err;
    pl_err_clear(&err);
    /* the request owns its q tree (q_or_reply): rewriting its literals in place is safe */
    if (ev && pl_q_expand_values((struct pl_q_node *)x->sq.q, x->ctx, ev->names, ev->n,
                                 jk ? jk->names : NULL, jk ? jk->n : 0, &err) != 0) {
        pl_reply_problem(r, &err);
        return -1;
    }
    return 0;
}

/* The entity filters of GET /entities and DELETE /entities: id, idPattern, type, attrs, q,
 * scopeQ, geo-query. Returns 0 or -1 (answered). */
/* csf (4.9 syntax) selects context source registrations, which Polis has none of: it is only
 * checked (5.7.2.4: a csf that is not syntactically valid is BadRequestData). */
static int csf_or_reply(struct pl_req *r, const char *text)
{
    struct pl_err err;
    pl_err_clear(&err);
    struct pl_q_node *n = NULL;
    int rc = pl_q_parse(text, &n, &err);
    pl_q_free(n);
    if (rc != 0) {
        pl_reply_error(r, rc, "csf: %s", err.detail);
        return -1;
    }
    return 0;
}

static int filters_or_reply(struct pl_req *r, struct qreq *x)
{
    const char *v;
    if ((v = pl_req_arg(r, "csf")) && csf_or_reply(r, v) != 0)
        return -1;
    if ((v = pl_req_arg(r, "id")) && ids_or_reply(r, v, &x->sq.ids, &x->sq.n_ids) != 0)
        return -1;
    if ((v = pl_req_arg(r, "idPattern"))) {
        if (regex_or_reply(r, "idPattern", v, &x->id_re) != 0)
            return -1;
        x->has_re = 1;
        x->sq.id_regex = &x->id_re;
        x->sq.id_pattern = v;
    }
    if ((v = pl_req_arg(r, "type"))) {
        struct pl_typesel *t = NULL;
        if (typesel_or_reply(r, x->ctx, v, &t) != 0)
            return -1;
        x->sq.types = t;
    }
    if (pl_api_proj_or_reply(r, x->ctx, "attrs", 0, &x->v.attrs) != 0 ||
        pl_api_view_check_or_reply(r, &x->v) != 0)
        return -1;
    if (x->v.attrs) {
        x->o.attrs = x->v.attrs->names;
        x->o.n_attrs = x->v.attrs->n;
    }
    x->sq.attrs = x->o.attrs;
    x->sq.n_attrs = x->o.n_attrs;
    if ((v = pl_req_arg(r, "q")) && q_or_reply(r, x, v) != 0)
        return -1;
    if ((v = pl_req_arg(r, "scopeQ")) && scope_or_reply(r, x, v) != 0)
        return -1;
    struct pl_err err;
    pl_err_clear(&err);
    struct pl_geoq *g = NULL;
    if (pl_geoq_parse(pl_req_arg(r, "georel"), pl_req_arg(r, "geometry"),
                      pl_req_arg(r, "coordinates"), pl_req_arg(r, "geoproperty"), &g, &err) != 0) {
        pl_reply_problem(r, &err);
        return -1;
    }
    x->sq.geo = g;
    if (g && geo_attr_or_reply(r, x) != 0)
        return -1;
    return values_or_reply(r, x, NULL);
}

int pl_api_entities_query(struct pl_req *r)
{
    struct qreq *x = qreq_new(r);
    if (!x)
        return PL_HANDLER_DONE;
    if (pl_api_context_or_reply(r, NULL, &x->ctx) != 0)
        return PL_HANDLER_DONE;
    int local = 0;
    if (url_params_or_reply(r, x, &local) != 0 || pl_api_datasets_or_reply(r, &x->o) != 0 ||
        filters_or_reply(r, x) != 0 || too_wide_or_reply(r, x, local) != 0)
        return PL_HANDLER_DONE;
    return run_and_reply(r, x);
}

/* ------------------------------------------------------------------------------------------
 * POST /entityOperations/query (6.23): a Query (5.2.23) in the body
 * ---------------------------------------------------------------------------------------- */
static int strlist_or_reply(struct pl_req *r, const char *member, const json_t *v, struct qreq *x,
                            const char *const **out, size_t *n)
{
    if (!json_is_array(v)) {
        pl_reply_error(r, PL_EBADREQUESTDATA, "%s must be an array of names", member);
        return -1;
    }
    size_t k = json_array_size(v);
    const char **items = calloc(k ? k : 1, sizeof *items);
    if (!items) {
        pl_reply_error(r, PL_ENOMEM, "out of memory");
        return -1;
    }
    pl_req_defer_free(r, items);
    for (size_t i = 0; i < k; i++) {
        const char *s = json_string_value(json_array_get(v, i));
        if (!s || (!pl_is_valid_name(s) && !pl_is_uri(s)) || pl_is_reserved_attr_name(s)) {
            pl_reply_error(r, PL_EBADREQUESTDATA, "%s[%zu] is not an attribute name", member, i);
            return -1;
        }
        char *iri = pl_ctx_expand(x->ctx, s);
        if (!iri) {
            pl_reply_error(r, PL_EBADREQUESTDATA, "%s: cannot expand '%.200s'", member, s);
            return -1;
        }
        pl_req_defer_free(r, iri);
        items[i] = iri;
    }
    *out = items;
    *n = k;
    return 0;
}

static int selectors_or_reply(struct pl_req *r, struct qreq *x, const json_t *ents)
{
    if (!json_is_array(ents) || json_array_size(ents) == 0) {
        pl_reply_error(r, PL_EBADREQUESTDATA,
                       "entities must be a non-empty array of "
                       "EntitySelector objects");
        return -1;
    }
    size_t n = json_array_size(ents);
    x->sels = calloc(n, sizeof *x->sels);
    x->sel_res = calloc(n, sizeof *x->sel_res);
    if (!x->sels || !x->sel_res) {
        pl_reply_error(r, PL_ENOMEM, "out of memory");
        return -1;
    }
    x->sq.sels = x->sels;
    x->sq.n_sels = n;
    x->n_sel_res = n;
    for (size_t i = 0; i < n; i++) {
        const json_t *s = json_array_get(ents, i);
        struct pl_store_selector *sel = &x->sels[i];
        if (!json_is_object(s)) {
            pl_reply_error(r, PL_EBADREQUESTDATA, "entities[%zu] must be an object", i);
            return -1;
        }
        const json_t *id = json_object_get(s, "id"), *pat = json_object_get(s, "idPattern"),
                     *type = json_object_get(s, "type");
        if (id) {
            const char *z = json_string_value(id);
            if (!z || !pl_is_uri(z)) {
                pl_reply_error(r, PL_EBADREQUESTDATA, "entities[%zu].id must be a URI", i);
                return -1;
            }
            const char **one = malloc(sizeof *one);
            if (!one) {
                pl_reply_error(r, PL_ENOMEM, "out of memory");
                return -1;
            }
            pl_req_defer_free(r, one);
            one[0] = z;
            sel->ids = one;
            sel->n_ids = 1;
        }
        if (pat) {
            if (!json_is_string(pat) ||
                regex_or_reply(r, "idPattern", json_string_value(pat), &x->sel_res[i]) != 0) {
                if (!json_is_string(pat))
                    pl_reply_error(r, PL_EBADREQUESTDATA,
                                   "entities[%zu].idPattern must be a "
                                   "string",
                                   i);
                return -1;
            }
            sel->id_regex = &x->sel_res[i];
        }
        if (type) {
            struct pl_typesel *t = NULL;
            if (!json_is_string(type)) {
                pl_reply_error(r, PL_EBADREQUESTDATA, "entities[%zu].type must be a string", i);
                return -1;
            }
            if (typesel_or_reply(r, x->ctx, json_string_value(type), &t) != 0)
                return -1;
            sel->types = t;
        }
    }
    if (n == 1) {
        x->sq.ids = x->sels[0].ids;
        x->sq.n_ids = x->sels[0].n_ids;
        x->sq.id_regex = x->sels[0].id_regex;
        x->sq.id_pattern = json_string_value(json_object_get(json_array_get(ents, 0), "idPattern"));
        x->sq.types = x->sels[0].types;
        x->sels[0].types = NULL;
        x->sq.sels = NULL;
        x->sq.n_sels = 0;
    }
    return 0;
}

/* The members of a Query (5.2.23) body: entities, attrs, q, scopeQ, geoQ, lang (the temporalQ
 * is the temporal handlers' business). Returns 0 or -1 (answered). */
static int query_body_or_reply(struct pl_req *r, struct qreq *x, const json_t *body)
{
    const char *type = json_string_value(json_object_get(body, "type"));
    if (!type || strcmp(type, "Query") != 0) {
        pl_reply_error(r, PL_EBADREQUESTDATA,
                       "the body must be a Query: \"type\": "
                       "\"Query\" (5.2.23)");
        return -1;
    }
    const json_t *v;
    if ((v = json_object_get(body, "entities")) && selectors_or_reply(r, x, v) != 0)
        return -1;
    if ((v = json_object_get(body, "attrs")) &&
        strlist_or_reply(r, "attrs", v, x, &x->o.attrs, &x->o.n_attrs) != 0)
        return -1;
    if (v)
        x->v.attrs = NULL; /* the body's plain list replaces the URL's */
    x->sq.attrs = x->o.attrs;
    x->sq.n_attrs = x->o.n_attrs;
    if ((v = json_object_get(body, "q"))) {
        if (!json_is_string(v)) {
            pl_reply_error(r, PL_EBADREQUESTDATA, "q must be a string");
            return -1;
        }
        if (q_or_reply(r, x, json_string_value(v)) != 0)
            return -1;
    }
    if ((v = json_object_get(body, "scopeQ"))) {
        if (!json_is_string(v)) {
            pl_reply_error(r, PL_EBADREQUESTDATA, "scopeQ must be a string");
            return -1;
        }
        if (scope_or_reply(r, x, json_string_value(v)) != 0)
            return -1;
    }
    if ((v = json_object_get(body, "geoQ"))) {
        struct pl_err err;
        pl_err_clear(&err);
        struct pl_geoq *g = NULL;
        if (pl_geoq_from_json(v, &g, &err) != 0)
            return pl_reply_problem(r, &err), -1;
        x->sq.geo = g;
        if (geo_attr_or_reply(r, x) != 0)
            return -1;
    }
    if ((v = json_object_get(body, "lang"))) {
        if (!json_is_string(v) || !*json_string_value(v)) {
            pl_reply_error(r, PL_EBADREQUESTDATA, "lang must be a non-empty string");
            return -1;
        }
        x->o.lang = json_string_value(v);
    }
    if (pl_api_view_body_or_reply(r, x->ctx, body, &x->o, &x->v) != 0)
        return -1;
    return values_or_reply(r, x, body);
}

int pl_api_entities_query_post(struct pl_req *r)
{
    struct qreq *x = qreq_new(r);
    if (!x)
        return PL_HANDLER_DONE;
    json_t *body;
    if (pl_api_body_or_reply(r, 1, &body) != 0)
        return PL_HANDLER_DONE;
    if (pl_api_context_or_reply(r, body, &x->ctx) != 0)
        return PL_HANDLER_DONE;
    int local = 0;
    if (url_params_or_reply(r, x, &local) != 0)
        return PL_HANDLER_DONE;
    if (query_body_or_reply(r, x, body) != 0)
        return PL_HANDLER_DONE;
    if (too_wide_or_reply(r, x, local) != 0)
        return PL_HANDLER_DONE;
    return run_and_reply(r, x);
}

/* ------------------------------------------------------------------------------------------
 * DELETE /entities (5.6.21 Purge Entities): every entity matching type / id / idPattern / q /
 * scopeQ is deleted. The matches are collected in pages of ids, each page deleted in one group
 * commit.
 * ---------------------------------------------------------------------------------------- */
struct idlist {
    char **ids;
    size_t n, cap;
    int nomem;
};

static int collect_id(void *ud, const char *body, size_t len)
{
    struct idlist *l = ud;
    json_t *e = json_loadb(body, len, 0, NULL);
    const char *id = json_string_value(json_object_get(e, "id"));
    if (id) {
        if (l->n == l->cap) {
            size_t nc = l->cap ? l->cap * 2 : 256;
            char **np = realloc(l->ids, nc * sizeof *np);
            if (!np) {
                l->nomem = 1;
                json_decref(e);
                return PL_ENOMEM;
            }
            l->ids = np;
            l->cap = nc;
        }
        if (!(l->ids[l->n] = strdup(id))) {
            l->nomem = 1;
            json_decref(e);
            return PL_ENOMEM;
        }
        l->n++;
    }
    json_decref(e);
    return 0;
}

/* What a purge does to each matching entity (5.6.21.4). */
struct purge {
    const char *const *drop; /* restrictive list (drop=): delete these attributes */
    size_t n_drop;
    const char *const *keep; /* exclusionary list (keep=): delete every attribute but these */
    size_t n_keep;
    const char *now;
};

static int apply_purge(void *ud, json_t *cur, json_t **next, struct pl_err *err)
{
    (void)err;
    const struct purge *p = ud;
    if (!p->n_drop && !p->n_keep) {
        *next = NULL; /* the whole entity */
        return 0;
    }
    json_t *attrs = json_object_get(cur, "attrs");
    const char *name;
    json_t *v;
    void *tmp;
    int changed = 0;
    json_object_foreach_safe(attrs, tmp, name, v)
    {
        int del = p->n_drop ? pl_strv_has(p->drop, p->n_drop, name)
                            : !pl_strv_has(p->keep, p->n_keep, name);
        if (del) {
            json_object_del(attrs, name);
            changed = 1;
        }
    }
    if (changed)
        json_object_set_new(cur, "modifiedAt", json_string(p->now));
    *next = json_incref(cur);
    return 0;
}

int pl_api_entities_purge(struct pl_req *r)
{
    struct qreq *x = qreq_new(r);
    if (!x)
        return PL_HANDLER_DONE;
    if (pl_api_context_or_reply(r, NULL, &x->ctx) != 0)
        return PL_HANDLER_DONE;
    int local = 0;
    if (bool_arg_or_reply(r, "local", &local) != 0 || filters_or_reply(r, x) != 0)
        return PL_HANDLER_DONE;
    /* 6.4.3.3: drop= (delete these attributes) and keep= (delete all but these). */
    struct purge p = {NULL, 0, NULL, 0, NULL};
    if (pl_req_arg(r, "keep") && pl_req_arg(r, "drop"))
        return pl_reply_error(r, PL_EBADREQUESTDATA,
                              "keep and drop exclude each other (6.4.3.3)");
    if (pl_api_expand_list_or_reply(r, x->ctx, "drop", 0, &p.drop, &p.n_drop) != 0 ||
        pl_api_expand_list_or_reply(r, x->ctx, "keep", 0, &p.keep, &p.n_keep) != 0)
        return PL_HANDLER_DONE;
    /* 5.6.21.4: type, a list of attribute names (attrs, or the keep/drop list), q, a geo-query
     * or local scope; else "too wide". */
    if (!p.n_drop && !p.n_keep && too_wide_or_reply(r, x, local) != 0)
        return PL_HANDLER_DONE;
    if (tenant_or_reply(r) != 0)
        return PL_HANDLER_DONE;
    char now[PL_TIME_ISO_LEN];
    pl_time_format(pl_time_now_ms(), now);
    p.now = now;
    /* All matches first (one consistent listing, paged by offset), then the writes, 1000 per
     * group commit. */
    struct idlist l = {NULL, 0, 0, 0};
    struct pl_err err;
    pl_err_clear(&err);
    int rc = 0;
    for (int64_t offset = 0;; offset += 1000) {
        size_t before = l.n;
        x->sq.limit = 1000;
        x->sq.offset = offset;
        if ((rc = pl_store_entity_query(r->app->store, &x->sq, collect_id, &l, NULL, &err)) != 0 ||
            l.n - before < 1000)
            break;
    }
    for (size_t at = 0; rc == 0 && at < l.n; at += 1000) {
        size_t n = l.n - at < 1000 ? l.n - at : 1000;
        struct pl_store_write *ws = calloc(n, sizeof *ws);
        struct pl_store_write **wp = calloc(n, sizeof *wp);
        if (!ws || !wp) {
            rc = pl_err_set(&err, PL_ENOMEM, "out of memory");
        } else {
            for (size_t i = 0; i < n; i++) {
                ws[i].tenant = r->tenant;
                ws[i].id = l.ids[at + i];
                ws[i].apply = apply_purge;
                ws[i].ud = &p;
                wp[i] = &ws[i];
            }
            /* An administrative bulk operation: this network thread waits for the commits. An
             * entity deleted meanwhile by someone else is simply gone already. */
            pl_store_write_many_sync(r->app->store, wp, n);
            for (size_t i = 0; i < n; i++)
                json_decref(ws[i].result);
        }
        free(ws);
        free(wp);
    }
    for (size_t i = 0; i < l.n; i++)
        free(l.ids[i]);
    free(l.ids);
    if (rc != 0) {
        if (err.code == PL_OK)
            pl_err_set(&err, rc, "purge failed");
        return pl_api_problem(r, &err);
    }
    pl_reply_empty(r, 204);
    return PL_HANDLER_DONE;
}

/* ------------------------------------------------------------------------------------------
 * Discovery: /types, /types/{type}, /attributes, /attributes/{attrId} (5.7.5-5.7.10)
 * ---------------------------------------------------------------------------------------- */
static json_t *compact_str(const struct pl_ctx *ctx, const char *iri)
{
    char *c = pl_ctx_compact(ctx, iri);
    json_t *s = json_string(c ? c : iri);
    free(c);
    return s;
}

static int details_or_reply(struct pl_req *r, int *details)
{
    *details = 0;
    return bool_arg_or_reply(r, "details", details);
}

static int discover_or_reply(struct pl_req *r, enum pl_store_discover what, const char *iri,
                             json_t **out)
{
    if (tenant_or_reply(r) != 0)
        return -1;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_store_discover(r->app->store, r->tenant, what, iri, out, &err) != 0) {
        pl_api_problem(r, &err);
        return -1;
    }
    pl_req_defer_decref(r, *out);
    return 0;
}

/* discover_or_reply for a principal that may not read everything (issue 12): the types it may
 * read, without their private attributes, and the attributes of those (counts summed over
 * them); a type or attribute outside of them is not found, as if absent. */
static int discover_read_or_reply(struct pl_req *r, enum pl_store_discover what, const char *iri,
                                  json_t **out)
{
    const struct pl_read_scope *rs = pl_api_read_scope(r);
    if (!rs)
        return discover_or_reply(r, what, iri, out);
    json_t *types;
    if (discover_or_reply(r, PL_DISCOVER_TYPES, NULL, &types) != 0)
        return -1;
    int by_type = what == PL_DISCOVER_TYPES || what == PL_DISCOVER_TYPE;
    json_t *all = by_type ? pl_api_read_types(rs, types) : pl_api_read_attrs(rs, types);
    if (!all) {
        pl_reply_error(r, PL_ENOMEM, "out of memory");
        return -1;
    }
    pl_req_defer_decref(r, all);
    if (what == PL_DISCOVER_TYPES || what == PL_DISCOVER_ATTRS) {
        *out = all;
        return 0;
    }
    size_t i;
    json_t *one;
    json_array_foreach(all, i, one)
    {
        if (strcmp(json_string_value(json_object_get(one, by_type ? "type" : "attr")), iri) == 0) {
            *out = one;
            return 0;
        }
    }
    struct pl_err err;
    pl_err_set(&err, PL_ENOTFOUND, "%s '%s' not found", by_type ? "Entity type" : "Attribute", iri);
    pl_api_problem(r, &err);
    return -1;
}

/* The path's name (a type or attribute) expanded with the request's context; NULL after
 * answering. Released with the request. */
static const char *path_iri_or_reply(struct pl_req *r, const struct pl_ctx *ctx, const char *what)
{
    char *iri = pl_ctx_expand(ctx, r->params[0]);
    if (!iri) {
        pl_reply_error(r, PL_EBADREQUESTDATA, "cannot expand %s '%.200s'", what, r->params[0]);
        return NULL;
    }
    pl_req_defer_free(r, iri);
    return iri;
}

/* An id for a list resource (5.2.24/5.2.27 require a URI): derived from the tenant. */
static json_t *list_id(struct pl_req *r, const char *kind)
{
    char buf[256];
    snprintf(buf, sizeof buf, "urn:ngsi-ld:%s:%.150s", kind, *r->tenant ? r->tenant : "default");
    return json_string(buf);
}

int pl_api_types_list(struct pl_req *r)
{
    struct pl_ctx *ctx;
    int details;
    json_t *types;
    if (pl_api_context_or_reply(r, NULL, &ctx) != 0 || details_or_reply(r, &details) != 0 ||
        discover_read_or_reply(r, PL_DISCOVER_TYPES, NULL, &types) != 0)
        return PL_HANDLER_DONE;
    json_t *out;
    size_t i;
    json_t *t;
    if (details) {
        /* 5.2.25 EntityType: id, type "EntityType", typeName, attributeNames */
        out = json_array();
        json_array_foreach(types, i, t)
        {
            const char *iri = json_string_value(json_object_get(t, "type"));
            json_t *names = json_array();
            const char *a;
            json_t *k;
            json_object_foreach(json_object_get(t, "attrs"), a, k)
                json_array_append_new(names, compact_str(ctx, a));
            json_array_append_new(out, json_pack("{s:s,s:s,s:o,s:o}", "id", iri, "type",
                                                 "EntityType", "typeName", compact_str(ctx, iri),
                                                 "attributeNames", names));
        }
    } else {
        /* 5.2.24 EntityTypeList */
        json_t *list = json_array();
        json_array_foreach(types, i, t) json_array_append_new(
            list, compact_str(ctx, json_string_value(json_object_get(t, "type"))));
        out = json_pack("{s:o,s:s,s:o}", "id", list_id(r, "EntityTypeList"), "type",
                        "EntityTypeList", "typeList", list);
    }
    pl_req_defer_decref(r, out);
    pl_api_reply_with_context(r, 200, out);
    return PL_HANDLER_DONE;
}

int pl_api_type_get(struct pl_req *r)
{
    struct pl_ctx *ctx;
    if (pl_api_context_or_reply(r, NULL, &ctx) != 0)
        return PL_HANDLER_DONE;
    const char *iri = path_iri_or_reply(r, ctx, "type");
    if (!iri)
        return PL_HANDLER_DONE;
    json_t *t;
    if (discover_read_or_reply(r, PL_DISCOVER_TYPE, iri, &t) != 0)
        return PL_HANDLER_DONE;
    /* 5.2.26 EntityTypeInfo: id, type, typeName, entityCount, attributeDetails (5.2.28) */
    json_t *details = json_array();
    const char *a;
    json_t *kinds;
    json_object_foreach(json_object_get(t, "attrs"), a, kinds) json_array_append_new(
        details, json_pack("{s:s,s:s,s:o,s:O}", "id", a, "type", "Attribute", "attributeName",
                           compact_str(ctx, a), "attributeTypes", kinds));
    json_t *out = json_pack("{s:s,s:s,s:o,s:O,s:o}", "id", iri, "type", "EntityTypeInfo",
                            "typeName", compact_str(ctx, iri), "entityCount",
                            json_object_get(t, "count"), "attributeDetails", details);
    pl_req_defer_decref(r, out);
    pl_api_reply_with_context(r, 200, out);
    return PL_HANDLER_DONE;
}

/* 5.2.29 Attribute: id, type "Attribute", attributeName, attributeCount, attributeTypes,
 * typeNames. */
static json_t *attribute_info(const struct pl_ctx *ctx, const json_t *a)
{
    const char *iri = json_string_value(json_object_get(a, "attr"));
    json_t *types = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(json_object_get(a, "types"), i, t)
        json_array_append_new(types, compact_str(ctx, json_string_value(t)));
    return json_pack("{s:s,s:s,s:o,s:O,s:O,s:o}", "id", iri, "type", "Attribute", "attributeName",
                     compact_str(ctx, iri), "attributeCount", json_object_get(a, "count"),
                     "attributeTypes", json_object_get(a, "kinds"), "typeNames", types);
}

int pl_api_attributes_list(struct pl_req *r)
{
    struct pl_ctx *ctx;
    int details;
    json_t *attrs;
    if (pl_api_context_or_reply(r, NULL, &ctx) != 0 || details_or_reply(r, &details) != 0 ||
        discover_read_or_reply(r, PL_DISCOVER_ATTRS, NULL, &attrs) != 0)
        return PL_HANDLER_DONE;
    json_t *out;
    size_t i;
    json_t *a;
    if (details) {
        out = json_array();
        json_array_foreach(attrs, i, a) json_array_append_new(out, attribute_info(ctx, a));
    } else {
        /* 5.2.27 AttributeList */
        json_t *list = json_array();
        json_array_foreach(attrs, i, a) json_array_append_new(
            list, compact_str(ctx, json_string_value(json_object_get(a, "attr"))));
        out = json_pack("{s:o,s:s,s:o}", "id", list_id(r, "AttributeList"), "type", "AttributeList",
                        "attributeList", list);
    }
    pl_req_defer_decref(r, out);
    pl_api_reply_with_context(r, 200, out);
    return PL_HANDLER_DONE;
}

int pl_api_attribute_get(struct pl_req *r)
{
    struct pl_ctx *ctx;
    if (pl_api_context_or_reply(r, NULL, &ctx) != 0)
        return PL_HANDLER_DONE;
    const char *iri = path_iri_or_reply(r, ctx, "attribute");
    if (!iri)
        return PL_HANDLER_DONE;
    json_t *a;
    if (discover_read_or_reply(r, PL_DISCOVER_ATTR, iri, &a) != 0)
        return PL_HANDLER_DONE;
    json_t *out = attribute_info(ctx, a);
    pl_req_defer_decref(r, out);
    pl_api_reply_with_context(r, 200, out);
    return PL_HANDLER_DONE;
}

/* ------------------------------------------------------------------------------------------
 * Shared with the temporal handlers (query_int.h)
 * ---------------------------------------------------------------------------------------- */
struct qreq *pl_api__qreq_new(struct pl_req *r)
{
    return qreq_new(r);
}

int pl_api__tenant_or_reply(struct pl_req *r)
{
    return tenant_or_reply(r);
}

int pl_api__query_get_or_reply(struct pl_req *r, struct qreq *x, int *local)
{
    return url_params_or_reply(r, x, local) != 0 || filters_or_reply(r, x) != 0 ? -1 : 0;
}

int pl_api__query_post_or_reply(struct pl_req *r, struct qreq *x, const json_t *body, int *local)
{
    return url_params_or_reply(r, x, local) != 0 || query_body_or_reply(r, x, body) != 0 ? -1 : 0;
}

int pl_api__too_wide_or_reply(struct pl_req *r, const struct qreq *x, int local)
{
    return too_wide_or_reply(r, x, local);
}

void pl_api__add_page_link(struct pl_req *r, int64_t offset, int64_t limit, const char *rel)
{
    add_page_link(r, offset, limit, rel);
}
