/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sub_payload.c — notification payloads (5.3.1, 5.8.6): the data elements (entities rendered
 * with the subscription's format and projection, deletions, showChanges' previous values,
 * GeoJSON features), the whole notification as JSON or as text around pre-rendered items, and
 * the @context / Link a notification carries. See NOTIFICATION in subscription.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/jsonfmt.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "ngsild/conform.h"
#include "ngsild/entity.h"
#include "ngsild/linked.h"
#include "subs/sub_int.h"

json_t *pl_sub_notify_context(const struct pl_sub *s)
{
    if (s->jsonld_context)
        return json_string(s->jsonld_context);
    return json_deep_copy(s->context ? s->context : json_null());
}

static int is_core_url(const json_t *v)
{
    const char *u = json_string_value(v);
    return u && !strncmp(u, "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context", 52);
}

json_t *pl_sub_context_member(const struct pl_sub *s)
{
    json_t *c = pl_sub_notify_context(s);
    if (!c)
        return NULL;
    if (json_is_null(c) || is_core_url(c)) {
        json_decref(c);
        return json_string(PL_CORE_CONTEXT_URL);
    }
    if (json_is_array(c)) {
        size_t n = json_array_size(c);
        if (n && is_core_url(json_array_get(c, n - 1)))
            return c;
        json_array_append_new(c, json_string(PL_CORE_CONTEXT_URL));
        return c;
    }
    return json_pack("[o,s]", c, PL_CORE_CONTEXT_URL);
}

const char *pl_sub_link_url(const struct pl_sub *s)
{
    if (s->jsonld_context)
        return s->jsonld_context;
    if (json_is_string(s->context) && !is_core_url(s->context))
        return json_string_value(s->context);
    return NULL;
}

/* The payload member of an instance and its "previous" name. */
static const char *payload_key(const json_t *inst, const char **prev)
{
    static const char *const kinds[][3] = {
        {"Property", "value", "previousValue"},
        {"GeoProperty", "value", "previousValue"},
        {"Relationship", "object", "previousObject"},
        {"LanguageProperty", "languageMap", "previousLanguageMap"},
        {"VocabProperty", "vocab", "previousVocab"},
        {"JsonProperty", "json", "previousJson"},
        {"ListProperty", "valueList", "previousValueList"},
        {"ListRelationship", "objectList", "previousObjectList"}};
    const char *t = json_string_value(json_object_get(inst, "type"));
    for (size_t i = 0; t && i < sizeof kinds / sizeof kinds[0]; i++) {
        if (!strcmp(t, kinds[i][0])) {
            if (prev)
                *prev = kinds[i][2];
            return kinds[i][1];
        }
    }
    if (prev)
        *prev = "previousValue";
    return "value";
}

/* The previous payload of `inst`, vocab IRIs compacted. NEW reference. */
static json_t *previous_payload(const struct pl_ctx *ctx, const json_t *inst, const char *pk)
{
    const json_t *p = json_object_get(inst, pk);
    if (!p)
        return json_null();
    if (strcmp(pk, "vocab") != 0)
        return json_deep_copy(p);
    if (json_is_string(p))
        return pl_sub__name_compact(ctx, json_string_value(p));
    json_t *a = json_array();
    size_t i;
    json_t *x;
    json_array_foreach(p, i, x) json_array_append_new(
        a, json_is_string(x) ? pl_sub__name_compact(ctx, json_string_value(x)) : json_deep_copy(x));
    return a;
}

/* 1 when attribute `iri` is projected into notifications (attributes, pick, omit). */
static int attr_projected(const struct pl_sub *s, const struct pl_ctx *ctx, const char *iri)
{
    if (s->attrs && !pl_sub__in_strv(s->attrs, s->n_attrs, iri))
        return 0;
    if (!s->pick && !s->omit)
        return 1;
    char *c = pl_ctx_compact(ctx, iri);
    const char *cn = c ? c : iri;
    int keep = 1;
    if (s->pick && !pl_sub__in_strv(s->pick, s->n_pick, iri) &&
        !pl_sub__in_strv(s->pick, s->n_pick, cn))
        keep = 0;
    if (s->omit &&
        (pl_sub__in_strv(s->omit, s->n_omit, iri) || pl_sub__in_strv(s->omit, s->n_omit, cn)))
        keep = 0;
    free(c);
    return keep;
}

static int kv_format(const struct pl_sub *s)
{
    return s->format == PL_SUB_FMT_KEYVALUES || s->format == PL_SUB_FMT_SIMPLIFIED;
}

/* showChanges: previous payloads on the rendered instances of `after` that differ from their
 * instance in `before` (a new instance has no previous value; an unchanged one none either). */
static void add_previous(const struct pl_ctx *ctx, json_t *r, const json_t *before,
                         const json_t *after)
{
    const json_t *ba = json_object_get(before, "attrs");
    const char *iri;
    json_t *ai;
    json_object_foreach(json_object_get(after, "attrs"), iri, ai)
    {
        const json_t *bi = json_object_get(ba, iri);
        if (!json_array_size(bi) || !json_array_size(ai))
            continue;
        char *key = pl_ctx_compact(ctx, iri);
        json_t *rv = json_object_get(r, key ? key : iri);
        if (!rv) {
            free(key);
            continue;
        }
        size_t n = json_array_size(ai);
        for (size_t i = 0; i < n; i++) {
            const json_t *a = json_array_get(ai, i);
            const json_t *b = pl_sub__find_inst(bi, pl_sub__dsid(a));
            if (!b || pl_sub__inst_equal(b, a))
                continue; /* 5.2.14 showChanges: previous values of what changed only */
            json_t *slot = n == 1 ? rv : json_array_get(rv, i);
            if (!slot)
                continue;
            if (!json_is_object(slot)) { /* concise bare value */
                json_t *w = json_pack("{s:O}", "value", slot);
                if (n == 1)
                    json_object_set_new(r, key ? key : iri, w);
                else
                    json_array_set_new(rv, i, w);
                slot = w;
            }
            const char *prev;
            const char *pk = payload_key(b, &prev);
            json_object_set_new(slot, prev, previous_payload(ctx, b, pk));
        }
        free(key);
    }
}

/* Marks the instances of `before` that `after` (may be NULL: entity deleted) no longer has. */
static void add_deleted(const struct pl_sub *s, const struct pl_ctx *ctx, json_t *r,
                        const json_t *before, const json_t *after, const char *deleted_at)
{
    const json_t *aa = after ? json_object_get(after, "attrs") : NULL;
    const char *iri;
    json_t *bi;
    json_object_foreach(json_object_get(before, "attrs"), iri, bi)
    {
        const json_t *ai = json_object_get(aa, iri);
        if (!json_array_size(bi) || !attr_projected(s, ctx, iri))
            continue;
        json_t *gone = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(bi, i, x)
        {
            if (!pl_sub__find_inst(ai, pl_sub__dsid(x)))
                json_array_append(gone, x);
        }
        size_t ng = json_array_size(gone);
        if (!ng) {
            json_decref(gone);
            continue;
        }
        char *ck = pl_ctx_compact(ctx, iri);
        const char *key = ck ? ck : iri;
        int whole = json_array_size(ai) == 0;
        const json_t *g0 = json_array_get(gone, 0);
        if (kv_format(s)) {
            if (whole) {
                if (ng == 1 && !pl_sub__dsid(g0)) {
                    json_object_set_new(r, key, json_string(NGSI_NULL));
                } else {
                    json_t *ds = json_object();
                    json_array_foreach(gone, i, x) json_object_set_new(
                        ds, pl_sub__dsid(x) ? pl_sub__dsid(x) : "@none", json_string(NGSI_NULL));
                    json_object_set_new(r, key, json_pack("{s:o}", "dataset", ds));
                }
            }
        } else if (whole && ng == 1 && !pl_sub__dsid(g0) && !s->sys_attrs && !s->show_changes) {
            json_object_set_new(r, key, json_string(NGSI_NULL));
        } else {
            json_t *objs = json_array();
            json_array_foreach(gone, i, x)
            {
                json_t *o = json_object();
                const char *prev;
                const char *pk = payload_key(x, &prev);
                if (s->format == PL_SUB_FMT_NORMALIZED)
                    json_object_set(o, "type", json_object_get(x, "type"));
                if (!strcmp(pk, "languageMap"))
                    json_object_set_new(o, pk, json_pack("{s:s}", "@none", NGSI_NULL));
                else
                    json_object_set_new(o, pk, json_string(NGSI_NULL));
                if (pl_sub__dsid(x))
                    json_object_set_new(o, "datasetId", json_string(pl_sub__dsid(x)));
                if (s->sys_attrs)
                    json_object_set_new(o, "deletedAt", json_string(deleted_at));
                if (s->show_changes)
                    json_object_set_new(o, prev, previous_payload(ctx, x, pk));
                json_array_append_new(objs, o);
            }
            json_t *cur = json_object_get(r, key);
            if (!cur) {
                if (json_array_size(objs) == 1)
                    json_object_set(r, key, json_array_get(objs, 0));
                else
                    json_object_set(r, key, objs);
            } else if (json_is_array(cur)) {
                json_array_extend(cur, objs);
            } else {
                json_t *a = json_array();
                json_array_append_new(a, json_is_object(cur) ? json_incref(cur)
                                                             : json_pack("{s:O}", "value", cur));
                json_array_extend(a, objs);
                json_object_set_new(r, key, a);
            }
            json_decref(objs);
        }
        free(ck);
        json_decref(gone);
    }
}

static enum pl_format render_format(const struct pl_sub *s)
{
    if (kv_format(s))
        return PL_FORMAT_KEYVALUES;
    return s->format == PL_SUB_FMT_CONCISE ? PL_FORMAT_CONCISE : PL_FORMAT_NORMALIZED;
}

/* Where Linked Entities come from (notification.join); fetch NULL: nowhere. */
struct linked_src {
    pl_sub_fetch_fn fetch;
    void *ud;
};

/* One entity of `data` for one change; NULL when it cannot be rendered. `extra`: for
 * join=flat, a NEW array of the Linked Entities that follow it in `data` (else untouched). */
static json_t *render_change_sel(const struct pl_sub *s, const struct pl_ctx *ctx,
                                 const json_t *before, const json_t *after, int64_t now_ms,
                                 const struct linked_src *ls, json_t **extra);

/* One entity of `data` for one change, with the subscription's datasetId selection applied. */
static json_t *render_change(const struct pl_sub *s, const struct pl_ctx *ctx, const json_t *before,
                             const json_t *after, int64_t now_ms, const struct linked_src *ls,
                             json_t **extra)
{
    json_t *r;
    if (!s->dataset_ids) {
        r = render_change_sel(s, ctx, before, after, now_ms, ls, extra);
    } else {
        json_t *b = pl_sub__select_datasets(s, before), *a = pl_sub__select_datasets(s, after);
        r = (before && !b) || (after && !a) ? NULL
                                            : render_change_sel(s, ctx, b, a, now_ms, ls, extra);
        json_decref(b);
        json_decref(a);
    }
    if (r && s->conformance_version) { /* 5.8.6: ngsildConformance, 4.3.6.8 fallbacks */
        pl_conform_entity(r, s->conformance_version, kv_format(s));
        size_t i;
        json_t *x;
        json_array_foreach (extra ? *extra : NULL, i, x)
            pl_conform_entity(x, s->conformance_version, kv_format(s));
    }
    return r;
}

/* The entity `after` rendered with its Linked Entities (4.5.23): *r the entity (inline: with
 * them), *extra (flat) the Linked Entities, Features for application/geo+json. 0 or -1. */
static int render_linked(const struct pl_sub *s, const struct pl_ctx *ctx,
                         const struct pl_render_opts *o, const json_t *after,
                         const struct linked_src *ls, json_t **r, json_t **extra)
{
    /* notification.attributes is a flat list (5.7.1.5); pick and omit may hold "rel{...}"
     * terms for the Linked Entities */
    struct pl_proj attrs = {s->n_attrs, (const char **)s->attrs, NULL, s->n_attrs,
                            (const char **)s->attrs};
    struct pl_linked lk = {s->attrs ? &attrs : NULL, s->pick_proj, s->omit_proj,
                           (enum pl_join)s->join,
                           s->join_level ? s->join_level : 1, NULL, 0};
    int flat = s->join == PL_JOIN_FLAT;
    int geo = flat && s->accept == PL_SUB_ACCEPT_GEOJSON;
    const char *gp = s->geoq ? s->geoq->geoproperty : PL_GEOQ_LOCATION_IRI;
    json_t *roots = json_pack("[O]", after), *all = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = roots ? pl_linked_render(ctx, o, &lk, roots, geo, gp, ls->fetch, ls->ud, &all, &err)
                   : PL_ENOMEM;
    json_decref(roots);
    if (rc != 0)
        return -1;
    if (flat) { /* the entity itself as without join (it carries no Linked Entity) */
        json_array_remove(all, 0);
        *extra = all;
        return pl_entity_render(ctx, after, o, r, &err) == 0 ? 0 : -1;
    }
    *r = json_incref(json_array_get(all, 0));
    json_decref(all);
    return *r ? 0 : -1;
}

static json_t *render_change_sel(const struct pl_sub *s, const struct pl_ctx *ctx,
                                 const json_t *before, const json_t *after, int64_t now_ms,
                                 const struct linked_src *ls, json_t **extra)
{
    struct pl_render_opts o = {.format = render_format(s),
                               .sys_attrs = s->sys_attrs,
                               .lang = s->lang,
                               .attrs = (const char *const *)s->attrs,
                               .n_attrs = s->n_attrs,
                               .pick = (const char *const *)s->pick,
                               .n_pick = s->n_pick,
                               .omit = (const char *const *)s->omit,
                               .n_omit = s->n_omit};
    struct pl_err err;
    json_t *r = NULL;
    char now[PL_TIME_ISO_LEN];
    pl_time_format(now_ms, now);
    if (after) {
        if (s->join && ls && ls->fetch) {
            if (render_linked(s, ctx, &o, after, ls, &r, extra) != 0)
                return NULL;
        } else if (pl_entity_render(ctx, after, &o, &r, &err) != 0) {
            return NULL;
        }
        if (before) {
            if (s->show_changes)
                add_previous(ctx, r, before, after);
            const char *mod = json_string_value(json_object_get(after, "modifiedAt"));
            add_deleted(s, ctx, r, before, after, mod ? mod : now);
        }
        return r;
    }
    if (!before)
        return NULL;
    json_t *e = json_object();
    static const char *const core[] = {"id", "type"};
    for (size_t i = 0; i < 2; i++) {
        const json_t *m = json_object_get(before, core[i]);
        if (m)
            json_object_set(e, core[i], (json_t *)m);
    }
    const json_t *da = json_object_get(before, "deletedAt");
    json_object_set_new(e, "deletedAt",
                        json_is_string(da) ? json_incref((json_t *)da) : json_string(now));
    if (s->sys_attrs) {
        static const char *const sys[] = {"createdAt", "modifiedAt"};
        for (size_t i = 0; i < 2; i++) {
            const json_t *m = json_object_get(before, sys[i]);
            if (m)
                json_object_set(e, sys[i], (json_t *)m);
        }
    }
    o.sys_attrs = 1;
    int rc = pl_entity_render(ctx, e, &o, &r, &err);
    const char *del = json_string_value(json_object_get(e, "deletedAt"));
    if (rc == 0 && s->show_changes)
        add_deleted(s, ctx, r, before, NULL, del ? del : now);
    json_decref(e);
    return rc == 0 ? r : NULL;
}

/* The GeoJSON Feature of a rendered entity `r` (stolen). */
static json_t *feature(const struct pl_sub *s, const json_t *e, json_t *r)
{
    const char *gp = s->geoq ? s->geoq->geoproperty : PL_GEOQ_LOCATION_IRI;
    const json_t *insts = json_object_get(json_object_get(e, "attrs"), gp);
    const json_t *inst = pl_sub__find_inst(insts, NULL);
    if (!inst)
        inst = json_array_get(insts, 0);
    const json_t *g = NULL;
    const char *t = json_string_value(json_object_get(inst, "type"));
    if (t && !strcmp(t, "GeoProperty"))
        g = json_object_get(inst, "value");
    json_t *f = json_object();
    json_t *id = json_object_get(r, "id");
    if (id)
        json_object_set(f, "id", id);
    json_object_del(r, "id");
    json_object_set_new(f, "type", json_string("Feature"));
    json_object_set_new(f, "geometry", g ? json_deep_copy(g) : json_null());
    json_object_set_new(f, "properties", r);
    return f;
}

/* One element of "data": the rendered entity, or its Feature for application/geo+json. NEW
 * reference; NULL when the change renders nothing. `extra` as for render_change_sel. */
static json_t *data_element(const struct pl_sub *s, const struct pl_ctx *ctx, const json_t *before,
                            const json_t *after, int64_t now_ms, const struct linked_src *ls,
                            json_t **extra)
{
    json_t *r = render_change(s, ctx, before, after, now_ms, ls, extra);
    if (r && s->accept == PL_SUB_ACCEPT_GEOJSON)
        r = feature(s, after ? after : before, r);
    return r;
}

json_t *pl_sub_notification(const struct pl_sub *s, const struct pl_ctx *ctx,
                            const json_t *const *before, const json_t *const *after, size_t n,
                            int64_t now_ms)
{
    if (!ctx)
        ctx = pl_ctx_core();
    json_t *data = json_array();
    if (!data)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        json_t *r = data_element(s, ctx, before ? before[i] : NULL, after ? after[i] : NULL,
                                 now_ms, NULL, NULL);
        if (r)
            json_array_append_new(data, r);
    }
    char u[37];
    pl_sub__uuid4(u);
    char nid[64];
    snprintf(nid, sizeof nid, "urn:ngsi-ld:Notification:%s", u);
    json_t *body = json_object();
    json_object_set_new(body, "id", json_string(nid));
    json_object_set_new(body, "type", json_string("Notification"));
    json_object_set_new(body, "subscriptionId", json_string(s->id ? s->id : ""));
    json_object_set_new(body, "notifiedAt", pl_sub__iso_json(now_ms));
    if (s->accept == PL_SUB_ACCEPT_GEOJSON)
        json_object_set_new(body, "data",
                            json_pack("{s:s,s:o}", "type", "FeatureCollection", "features", data));
    else
        json_object_set_new(body, "data", data);
    if (s->accept == PL_SUB_ACCEPT_LDJSON)
        json_object_set_new(body, "@context", pl_sub_context_member(s));
    return body;
}

static void sig_strv(struct pl_strbuf *b, char tag, char *const *v, size_t n, int given)
{
    pl_strbuf_putc(b, tag);
    pl_strbuf_putc(b, given ? '1' : '0');
    for (size_t i = 0; i < n; i++) {
        pl_strbuf_puts(b, v[i]);
        pl_strbuf_putc(b, '\x1f');
    }
    pl_strbuf_putc(b, '\x1e');
}

/* A projection with its "rel{...}" terms, as the stored form writes it. */
static void sig_proj(struct pl_strbuf *b, char tag, const struct pl_proj *p)
{
    pl_strbuf_putc(b, tag);
    pl_strbuf_putc(b, p ? '1' : '0');
    for (size_t i = 0; p && i < p->n; i++) {
        char *t = pl_proj_format_term(p, i, NULL, NULL);
        if (!t) {
            b->nomem = 1; /* the signature is then refused as out of memory */
            return;
        }
        pl_strbuf_puts(b, t);
        pl_strbuf_putc(b, '\x1f');
        free(t);
    }
    pl_strbuf_putc(b, '\x1e');
}

char *pl_sub_render_sig(const struct pl_sub *s)
{
    /* every member render_change and feature read, nothing else */
    struct pl_strbuf b;
    pl_strbuf_init(&b);
    pl_strbuf_printf(&b, "f%d s%d c%d a%d v%d j%d.%d l%s\x1e", (int)render_format(s),
                     s->sys_attrs, s->show_changes, (int)s->accept, s->conformance_version,
                     s->join, s->join_level,
                     s->lang ? s->lang : "\x1d");
    sig_strv(&b, 'A', s->attrs, s->n_attrs, s->attrs != NULL);
    sig_proj(&b, 'P', s->pick_proj);
    sig_proj(&b, 'O', s->omit_proj);
    sig_strv(&b, 'D', s->dataset_ids, s->n_dataset_ids, s->dataset_ids != NULL);
    if (s->accept == PL_SUB_ACCEPT_GEOJSON)
        pl_strbuf_puts(&b, s->geoq ? s->geoq->geoproperty : PL_GEOQ_LOCATION_IRI);
    return pl_strbuf_take(&b, NULL);
}

char *pl_sub_render_item_linked(const struct pl_sub *s, const struct pl_ctx *ctx,
                                const json_t *before, const json_t *after, int64_t now_ms,
                                pl_sub_fetch_fn fetch, void *fetch_ud, size_t *len)
{
    if (!ctx)
        ctx = pl_ctx_core();
    struct linked_src ls = {fetch, fetch_ud};
    json_t *extra = NULL;
    json_t *r = data_element(s, ctx, before, after, now_ms, &ls, &extra);
    if (!r) {
        json_decref(extra);
        return NULL;
    }
    char *text = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    size_t i;
    json_t *x;
    json_array_foreach (extra, i, x) { /* join=flat: ",{...}" after the entity */
        char *t = text ? json_dumps(x, JSON_COMPACT) : NULL;
        size_t a = text ? strlen(text) : 0, b = t ? strlen(t) : 0;
        char *both = t ? realloc(text, a + b + 2) : NULL;
        if (!both) {
            free(t);
            free(text);
            text = NULL;
            break;
        }
        both[a] = ',';
        memcpy(both + a + 1, t, b + 1);
        free(t);
        text = both;
    }
    json_decref(extra);
    if (text)
        *len = pl_json_shorten_reals(text);
    return text;
}

char *pl_sub_render_item(const struct pl_sub *s, const struct pl_ctx *ctx, const json_t *before,
                         const json_t *after, int64_t now_ms, size_t *len)
{
    return pl_sub_render_item_linked(s, ctx, before, after, now_ms, NULL, NULL, len);
}

/* Appends `v` (consumed; NULL: out of memory) as compact JSON text. */
static void append_json(struct pl_strbuf *b, json_t *v)
{
    char *t = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(v);
    if (!t) {
        b->nomem = 1;
        return;
    }
    pl_strbuf_puts(b, t);
    free(t);
}

/* A JSON string member "name":value, the value escaped by jansson. */
static void text_member(struct pl_strbuf *b, const char *name, const char *value)
{
    pl_strbuf_printf(b, "\"%s\":", name);
    append_json(b, json_string(value));
}

void pl_sub_notification_text(const struct pl_sub *s, int core_only, const char *const *items,
                              const size_t *lens, size_t n, int64_t now_ms, struct pl_strbuf *b)
{
    char u[37], nid[64], at[PL_TIME_ISO_LEN];
    pl_sub__uuid4(u);
    snprintf(nid, sizeof nid, "urn:ngsi-ld:Notification:%s", u);
    pl_time_format(now_ms, at);
    pl_strbuf_printf(b, "{\"id\":\"%s\",\"type\":\"Notification\",", nid);
    text_member(b, "subscriptionId", s->id ? s->id : "");
    pl_strbuf_putc(b, ',');
    text_member(b, "notifiedAt", at);
    pl_strbuf_puts(b, s->accept == PL_SUB_ACCEPT_GEOJSON
                          ? ",\"data\":{\"type\":\"FeatureCollection\",\"features\":["
                          : ",\"data\":[");
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!items[i])
            continue;
        if (k++)
            pl_strbuf_putc(b, ',');
        pl_strbuf_append(b, items[i], lens[i]);
    }
    pl_strbuf_puts(b, s->accept == PL_SUB_ACCEPT_GEOJSON ? "]}" : "]");
    if (s->accept == PL_SUB_ACCEPT_LDJSON) {
        pl_strbuf_puts(b, ",\"@context\":");
        append_json(b, core_only ? json_string(PL_CORE_CONTEXT_URL) : pl_sub_context_member(s));
    }
    pl_strbuf_putc(b, '}');
}
