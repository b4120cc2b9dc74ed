/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linked.c — projection parameters (4.21) and Linked Entity Retrieval (4.5.23) for the readers.
 * The rendering is ngsild/linked.c.
 */
#include "api/linked.h"

#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/readscope.h"
#include "app/app.h"
#include "store/store.h"

static void free_proj(void *p)
{
    pl_proj_free(p);
}

int pl_api_proj_text_or_reply(struct pl_req *r, const struct pl_ctx *ctx, const char *param,
                              const char *text, unsigned flags, const struct pl_proj **out)
{
    if (!text)
        return 0;
    struct pl_err err;
    pl_err_clear(&err);
    struct pl_proj *p;
    if (pl_proj_parse(param, text, ctx, flags, &p, &err) != 0) {
        pl_reply_problem(r, &err);
        return -1;
    }
    pl_req_defer(r, free_proj, p);
    *out = p;
    return 0;
}

int pl_api_proj_or_reply(struct pl_req *r, const struct pl_ctx *ctx, const char *param,
                         unsigned flags, const struct pl_proj **out)
{
    return pl_api_proj_text_or_reply(r, ctx, param, pl_req_arg(r, param), flags, out);
}

int pl_api_names_or_reply(struct pl_req *r, const struct pl_ctx *ctx, const char *param,
                          const char *text, const struct pl_proj **out)
{
    if (pl_api_proj_text_or_reply(r, ctx, param, text, 0, out) != 0)
        return -1;
    if (pl_proj_depth(*out) > 0) {
        pl_reply_error(r, PL_EBADREQUESTDATA, "%s lists attribute names, without '{...}'", param);
        return -1;
    }
    return 0;
}

int pl_api_view_check_or_reply(struct pl_req *r, const struct pl_linked *v)
{
    const struct pl_proj *ps[3] = {v->attrs, v->pick, v->omit};
    static const char *const names[3] = {"attrs", "pick", "omit"};
    for (int i = 0; i < 3; i++) {
        int d = pl_proj_depth(ps[i]);
        if (d > 0 && v->join == PL_JOIN_NONE) {
            pl_reply_error(r, PL_EBADREQUESTDATA,
                           "%s projects into Linked Entities ('{...}'): it needs join=inline or "
                           "join=flat (5.7.1.4, 5.7.2.4)",
                           names[i]);
            return -1;
        }
        if (d > v->join_level) {
            pl_reply_error(r, PL_EBADREQUESTDATA,
                           "%s projects %d levels of Linked Entities, deeper than joinLevel %d "
                           "(5.7.1.4, 5.7.2.4)",
                           names[i], d, v->join_level);
            return -1;
        }
    }
    return 0;
}

static int join_or_reply(struct pl_req *r, const char *join, struct pl_linked *v)
{
    if (!join)
        return 0;
    if (strcmp(join, "inline") == 0)
        v->join = PL_JOIN_INLINE;
    else if (strcmp(join, "flat") == 0)
        v->join = PL_JOIN_FLAT;
    else if (strcmp(join, "@none") == 0)
        v->join = PL_JOIN_NONE;
    else {
        pl_reply_error(r, PL_EBADREQUESTDATA,
                       "join must be \"inline\", \"flat\" or \"@none\", not '%.50s' (4.5.23)",
                       join);
        return -1;
    }
    return 0;
}

static int level_or_reply(struct pl_req *r, double n, const char *shown, struct pl_linked *v)
{
    if (n != (double)(long)n || n < 1 || n > PL_PROJ_MAX_DEPTH) {
        pl_reply_error(r, PL_EBADREQUESTDATA,
                       "joinLevel must be an integer from 1 to %d, not '%.50s'", PL_PROJ_MAX_DEPTH,
                       shown);
        return -1;
    }
    v->join_level = (int)n;
    return 0;
}

static int level_text_or_reply(struct pl_req *r, const char *lvl, struct pl_linked *v)
{
    if (!lvl)
        return 0;
    char *end = NULL;
    long n = strtol(lvl, &end, 10);
    return level_or_reply(r, *lvl && !*end ? (double)n : 0.5, lvl, v);
}

static int uris_or_reply(struct pl_req *r, const char *const *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!pl_is_uri(ids[i])) {
            pl_reply_error(r, PL_EBADREQUESTDATA, "containedBy: '%.200s' is not a URI", ids[i]);
            return -1;
        }
    }
    return 0;
}

/* A Query body's String[] projection (5.2.23: each item in the 4.21 language) as one text:
 * the items joined with ','. NULL and answered when not a non-empty array of strings. */
static char *strings_text_or_reply(struct pl_req *r, const char *member, const json_t *a)
{
    size_t n = json_array_size(a), len = 1;
    for (size_t i = 0; i < n; i++) {
        const char *z = json_string_value(json_array_get(a, i));
        if (!z || !*z) {
            n = 0;
            break;
        }
        len += strlen(z) + 1;
    }
    if (n == 0) {
        pl_reply_error(r, PL_EBADREQUESTDATA, "%s must be a non-empty array of non-empty strings",
                       member);
        return NULL;
    }
    char *t = malloc(len);
    if (!t) {
        pl_reply_error(r, PL_ENOMEM, "out of memory");
        return NULL;
    }
    pl_req_defer_free(r, t);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const char *z = json_string_value(json_array_get(a, i));
        if (i)
            t[at++] = ',';
        memcpy(t + at, z, strlen(z));
        at += strlen(z);
    }
    t[at] = '\0';
    return t;
}

/* The render options of the pick/omit projections of `v` (borrowed from it). */
static void opts_pick_omit(const struct pl_linked *v, struct pl_render_opts *o)
{
    if (v->pick) {
        o->pick = v->pick->names;
        o->n_pick = v->pick->n;
    }
    if (v->omit) {
        /* "omit=a{b}" removes b from a's Linked Entities, not a */
        o->omit = v->omit->leaves;
        o->n_omit = v->omit->n_leaves;
    }
}

int pl_api_view_body_or_reply(struct pl_req *r, const struct pl_ctx *ctx, const json_t *body,
                              struct pl_render_opts *o, struct pl_linked *v)
{
    const json_t *pk = json_object_get(body, "pick"), *om = json_object_get(body, "omit");
    if ((pk || v->pick) && (om || v->omit)) {
        pl_reply_error(r, PL_EBADREQUESTDATA, "pick and omit cannot be used together (4.21)");
        return -1;
    }
    static const char *const names[2] = {"pick", "omit"};
    const json_t *ms[2] = {pk, om};
    const struct pl_proj **dst[2] = {&v->pick, &v->omit};
    for (int i = 0; i < 2; i++) {
        if (!ms[i])
            continue;
        char *t = strings_text_or_reply(r, names[i], ms[i]);
        if (!t || pl_api_proj_text_or_reply(r, ctx, names[i], t, PL_PROJ_MEMBERS, dst[i]) != 0)
            return -1;
    }
    opts_pick_omit(v, o);
    const json_t *j = json_object_get(body, "join"), *l = json_object_get(body, "joinLevel"),
                 *cb = json_object_get(body, "containedBy");
    if (j && !json_is_string(j)) {
        pl_reply_error(r, PL_EBADREQUESTDATA, "join must be a string");
        return -1;
    }
    if (join_or_reply(r, json_string_value(j), v) != 0)
        return -1;
    if (l && (!json_is_number(l) ||
              level_or_reply(r, json_number_value(l), "(not an integer)", v) != 0)) {
        if (!json_is_number(l))
            pl_reply_error(r, PL_EBADREQUESTDATA, "joinLevel must be a number");
        return -1;
    }
    if (cb) {
        size_t n = json_array_size(cb);
        const char **ids = n ? calloc(n, sizeof *ids) : NULL;
        if (ids)
            pl_req_defer_free(r, ids);
        for (size_t i = 0; ids && i < n; i++) {
            ids[i] = json_string_value(json_array_get(cb, i));
            if (!ids[i])
                ids[i] = "";
        }
        if (!ids) {
            pl_reply_error(r, PL_EBADREQUESTDATA, "containedBy must be a non-empty array of URIs");
            return -1;
        }
        if (uris_or_reply(r, ids, n) != 0)
            return -1;
        v->contained_by = ids;
        v->n_contained_by = n;
    }
    return pl_api_view_check_or_reply(r, v);
}

int pl_api_view_or_reply(struct pl_req *r, const struct pl_ctx *ctx, int attrs_from_url,
                         struct pl_render_opts *o, struct pl_linked *v)
{
    memset(v, 0, sizeof *v);
    v->join_level = 1;
    if (pl_req_arg(r, "pick") && pl_req_arg(r, "omit")) {
        pl_reply_error(r, PL_EBADREQUESTDATA, "pick and omit cannot be used together (4.21)");
        return -1;
    }
    if ((attrs_from_url && pl_api_proj_or_reply(r, ctx, "attrs", 0, &v->attrs) != 0) ||
        pl_api_proj_or_reply(r, ctx, "pick", PL_PROJ_MEMBERS, &v->pick) != 0 ||
        pl_api_proj_or_reply(r, ctx, "omit", PL_PROJ_MEMBERS, &v->omit) != 0)
        return -1;
    if (v->attrs) {
        o->attrs = v->attrs->names;
        o->n_attrs = v->attrs->n;
    }
    opts_pick_omit(v, o);
    if (join_or_reply(r, pl_req_arg(r, "join"), v) != 0 ||
        level_text_or_reply(r, pl_req_arg(r, "joinLevel"), v) != 0)
        return -1;
    const char **ids;
    int n = pl_api_split_or_reply(r, "containedBy", pl_req_arg(r, "containedBy"), &ids);
    if (n < 0 || uris_or_reply(r, ids, (size_t)n) != 0)
        return -1;
    v->contained_by = ids;
    v->n_contained_by = (size_t)n;
    return pl_api_view_check_or_reply(r, v);
}

struct fetch_ud {
    struct pl_req *r;
    const struct pl_read_scope *rs; /* NULL: reads everything */
};

/* The store behind pl_linked_render: Linked Entities are read from the local store only, and
 * only those the principal may read (issue 12: the others are not inlined, as if absent). */
static int fetch_local(void *ud, const char *id, json_t **out, struct pl_err *err)
{
    const struct fetch_ud *f = ud;
    int rc = pl_store_entity_get(f->r->app->store, f->r->tenant, id, out, err);
    if (rc != 0 || !f->rs)
        return rc;
    enum pl_read_level lv = pl_read_scope_entity(f->rs, *out);
    if (lv == PL_READ_NONE) {
        json_decref(*out);
        *out = NULL;
        return pl_err_set(err, PL_ENOTFOUND, "Entity not found");
    }
    if (lv == PL_READ_OPEN)
        pl_read_scope_strip(f->rs, *out);
    return 0;
}

int pl_api_view_render(struct pl_req *r, const struct pl_ctx *ctx, const struct pl_render_opts *o,
                       const struct pl_linked *v, const json_t *roots, int geo,
                       const char *geoproperty_iri, json_t **out, struct pl_err *err)
{
    struct fetch_ud f = {r, v->join != PL_JOIN_NONE ? pl_api_read_scope(r) : NULL};
    return pl_linked_render(ctx, o, v, roots, geo, geoproperty_iri, fetch_local, &f, out, err);
}
