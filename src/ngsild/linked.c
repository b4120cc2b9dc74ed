/* SPDX-License-Identifier: Apache-2.0 */
/*
 * linked.c — Linked Entity Retrieval (4.5.23): renders entities with the entities their
 * relationships lead to, inline or flat. See linked.h for the choices.
 */
#include "ngsild/linked.h"

#include <stdlib.h>
#include <string.h>

struct walk {
    pl_linked_fetch_fn fetch;
    void *fetch_ud;
    const struct pl_ctx *ctx;
    const struct pl_render_opts *o; /* the request's options; projections replaced per level */
    const struct pl_linked *v;
    int geo;
    const char *geoproperty_iri;
    json_t *seen;  /* a set (object keys): flat, every entity in the array; inline, the path */
    json_t *flat;  /* flat: the output array Linked Entities are appended to */
    size_t budget; /* Linked Entities still allowed (PL_LINKED_MAX_ENTITIES) */
    struct pl_err *err;
};

/* The projections of one level. */
struct level {
    const struct pl_proj *attrs, *pick, *omit;
};

static int render_level(struct walk *w, const json_t *e, struct level lv, int depth, json_t **out);

/* The projection of the Linked Entities of `iri`: what "iri{...}" says, else the same list
 * (5.7.1.5: pick and omit apply to every entity of the payload). */
static struct level child_level(struct level lv, const char *iri)
{
    struct level c;
    const struct pl_proj *s;
    c.attrs = (s = pl_proj_sub(lv.attrs, iri)) ? s : lv.attrs;
    c.pick = (s = pl_proj_sub(lv.pick, iri)) ? s : lv.pick;
    c.omit = (s = pl_proj_sub(lv.omit, iri)) ? s : lv.omit;
    return c;
}

/* Fetches the Linked Entity `id` and renders it (and, for flat, appends it and what it links).
 * *out: inline, the rendered entity (NEW) or NULL when not followed; flat, always NULL.
 * Returns 0 or a PL_E* code. */
static int follow(struct walk *w, const char *id, struct level lv, int depth, json_t **out)
{
    *out = NULL;
    for (size_t i = 0; i < w->v->n_contained_by; i++) {
        if (strcmp(w->v->contained_by[i], id) == 0)
            return 0;
    }
    if (json_object_get(w->seen, id) || w->budget == 0)
        return 0;
    json_t *le;
    struct pl_err gerr;
    pl_err_clear(&gerr);
    if (w->fetch(w->fetch_ud, id, &le, &gerr) != 0) {
        if (gerr.code == PL_ENOTFOUND)
            return 0; /* not held locally: the relationship stays as it is */
        *w->err = gerr;
        return gerr.code ? gerr.code : PL_EINTERNAL;
    }
    w->budget--;
    json_object_set_new(w->seen, id, json_true());
    json_t *rendered = NULL;
    int rc;
    if (w->v->join == PL_JOIN_FLAT) {
        /* appended before what it links, so the array reads parent first */
        size_t at = json_array_size(w->flat);
        json_array_append_new(w->flat, json_null());
        rc = render_level(w, le, lv, depth, &rendered);
        if (rc == 0)
            json_array_set_new(w->flat, at, rendered);
    } else {
        rc = render_level(w, le, lv, depth, &rendered);
        json_object_del(w->seen, id); /* inline: only the path guards against cycles */
        if (rc == 0 && json_object_size(rendered) == 0)
            json_decref(rendered); /* the projection left nothing of it (as 5.7.2.5) */
        else if (rc == 0)
            *out = rendered;
    }
    json_decref(le);
    return rc;
}

/* The rendered form of instance `i` of an attribute rendered as `val` (an object for one
 * instance, an array of objects for several); NULL when it has no object form (keyValues). */
static json_t *rendered_instance(json_t *val, size_t i, size_t n)
{
    if (n == 1)
        return json_is_object(val) ? val : NULL;
    json_t *x = json_is_array(val) ? json_array_get(val, i) : NULL;
    return json_is_object(x) ? x : NULL;
}

/* Follows the Relationships and ListRelationships of `e` that `container` (its rendered
 * attributes) shows. */
static int follow_relationships(struct walk *w, const json_t *e, json_t *container, struct level lv,
                                int depth)
{
    const char *iri;
    json_t *insts;
    json_object_foreach((json_t *)json_object_get(e, "attrs"), iri, insts)
    {
        char *key = pl_ctx_compact(w->ctx, iri);
        if (!key)
            return pl_err_set(w->err, PL_ENOMEM, "out of memory");
        json_t *val = json_object_get(container, key);
        free(key);
        if (!val)
            continue; /* projected away */
        struct level cl = child_level(lv, iri);
        size_t n = json_array_size(insts);
        for (size_t i = 0; i < n; i++) {
            const json_t *inst = json_array_get(insts, i);
            const char *kind = json_string_value(json_object_get(inst, "type"));
            int list = kind && strcmp(kind, "ListRelationship") == 0;
            if (!kind || (!list && strcmp(kind, "Relationship") != 0))
                continue;
            const json_t *obj = json_object_get(inst, list ? "objectList" : "object");
            json_t *target = rendered_instance(val, i, n);
            json_t *found = json_array();
            if (!found)
                return pl_err_set(w->err, PL_ENOMEM, "out of memory");
            size_t k, m = json_is_array(obj) ? json_array_size(obj) : 1;
            for (k = 0; k < m; k++) {
                const json_t *t = json_is_array(obj) ? json_array_get(obj, k) : obj;
                const char *id = json_string_value(t);
                if (!id && json_is_object(t)) /* {"object": uri} items */
                    id = json_string_value(json_object_get(t, "object"));
                if (!id)
                    continue;
                json_t *le = NULL;
                int rc = follow(w, id, cl, depth + 1, &le);
                if (rc != 0) {
                    json_decref(found);
                    return rc;
                }
                if (le)
                    json_array_append_new(found, le);
            }
            if (w->v->join == PL_JOIN_INLINE && target && json_array_size(found) > 0) {
                if (list)
                    json_object_set(target, "entityList", found);
                else if (json_is_array(obj))
                    json_object_set(target, "entity", found);
                else
                    json_object_set(target, "entity", json_array_get(found, 0));
            }
            json_decref(found);
        }
    }
    return 0;
}

/* Renders `e` with the projections `lv`; below joinLevel, follows its relationships. */
static int render_level(struct walk *w, const json_t *e, struct level lv, int depth, json_t **out)
{
    struct pl_render_opts o = *w->o;
    o.attrs = lv.attrs ? lv.attrs->names : NULL;
    o.n_attrs = lv.attrs ? lv.attrs->n : 0;
    o.pick = lv.pick ? lv.pick->names : NULL;
    o.n_pick = lv.pick ? lv.pick->n : 0;
    o.omit = lv.omit ? lv.omit->leaves : NULL;
    o.n_omit = lv.omit ? lv.omit->n_leaves : 0;
    json_t *r = NULL;
    int rc = w->geo ? pl_entity_render_geojson(w->ctx, e, &o, w->geoproperty_iri, &r, w->err)
                    : pl_entity_render(w->ctx, e, &o, &r, w->err);
    if (rc != 0)
        return rc;
    /* the simplified form has no sub-attributes to hold inline entities (4.5.4) */
    int inline_kv = w->v->join == PL_JOIN_INLINE && o.format == PL_FORMAT_KEYVALUES;
    if (depth < w->v->join_level && !inline_kv) {
        json_t *container = w->geo ? json_object_get(r, "properties") : r;
        rc = follow_relationships(w, e, container, lv, depth);
        if (rc != 0) {
            json_decref(r);
            return rc;
        }
    }
    *out = r;
    return 0;
}

int pl_linked_render(const struct pl_ctx *ctx, const struct pl_render_opts *o,
                     const struct pl_linked *v, const json_t *roots, int geo,
                     const char *geoproperty_iri, pl_linked_fetch_fn fetch, void *fetch_ud,
                     json_t **out, struct pl_err *err)
{
    *out = NULL;
    struct walk w = {fetch,
                     fetch_ud,
                     ctx,
                     o,
                     v,
                     geo,
                     geoproperty_iri,
                     json_object(),
                     json_array(),
                     PL_LINKED_MAX_ENTITIES,
                     err};
    json_t *res = json_array();
    if (!w.seen || !w.flat || !res) {
        json_decref(w.seen);
        json_decref(w.flat);
        json_decref(res);
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    }
    struct level top = {v->attrs, v->pick, v->omit};
    size_t i;
    const json_t *e;
    /* flat: the roots are in the array already, so a root another root links to is not
     * appended twice */
    if (v->join == PL_JOIN_FLAT) {
        json_array_foreach((json_t *)roots, i, e)
        {
            const char *id = json_string_value(json_object_get(e, "id"));
            if (id)
                json_object_set_new(w.seen, id, json_true());
        }
    }
    int rc = 0;
    json_array_foreach((json_t *)roots, i, e)
    {
        json_t *one = NULL;
        const char *id = json_string_value(json_object_get(e, "id"));
        if (v->join == PL_JOIN_INLINE && id)
            json_object_set_new(w.seen, id, json_true());
        if (v->join == PL_JOIN_NONE) {
            struct pl_linked none = *v;
            none.join_level = 0;
            w.v = &none;
            rc = render_level(&w, e, top, 0, &one);
            w.v = v;
        } else {
            rc = render_level(&w, e, top, 0, &one);
        }
        if (v->join == PL_JOIN_INLINE && id)
            json_object_del(w.seen, id);
        if (rc != 0)
            break;
        json_array_append_new(res, one);
    }
    json_array_foreach(w.flat, i, e)
    { /* flat: what the projection emptied is left out */
        if (rc == 0 && json_object_size(e) > 0)
            json_array_append(res, (json_t *)e);
    }
    json_decref(w.seen);
    json_decref(w.flat);
    if (rc != 0) {
        json_decref(res);
        return rc;
    }
    *out = res;
    return 0;
}
