/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sub_match.c — matching (5.8.6): what one entity change changed (the change summary, computed
 * once per change) and whether a subscription fires on it; whether one entity is subscribed
 * (periodic notifications); the datasetId selection of attribute instances. See MATCHING in
 * subscription.h.
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "subs/sub_int.h"

static int selector_match(const struct pl_sub_selector *sel, const json_t *e)
{
    const char *id = json_string_value(json_object_get(e, "id"));
    if (sel->id) {
        if (!id || strcmp(id, sel->id) != 0)
            return 0;
    } else if (sel->re) {
        if (!id || regexec(sel->re, id, 0, NULL, 0) != 0)
            return 0;
    }
    return pl_typesel_match(sel->ts, json_object_get(e, "type"));
}

/* Selectors only. */
static int entity_selected(const struct pl_sub *s, const json_t *e)
{
    if (!s->n_entities)
        return 1;
    for (size_t i = 0; i < s->n_entities; i++) {
        if (selector_match(&s->entities[i], e))
            return 1;
    }
    return 0;
}

static int filters_match(const struct pl_sub *s, const json_t *e)
{
    if (s->q && !pl_q_match(s->q, e))
        return 0;
    if (s->scopeq && !pl_scopeq_match(s->scopeq, json_object_get(e, "scope")))
        return 0;
    if (s->geoq && pl_geoq_match(s->geoq, s->geoq->geoproperty, e) != 1)
        return 0;
    return 1;
}

static int active_at(const struct pl_sub *s, int64_t now_ms)
{
    return s->is_active && !(s->expires_at_ms && s->expires_at_ms <= now_ms);
}

int pl_sub_match_entity(const struct pl_sub *s, const json_t *entity, int64_t now_ms)
{
    return entity && active_at(s, now_ms) && entity_selected(s, entity) && filters_match(s, entity);
}

static int watched(const struct pl_sub *s, const char *iri)
{
    return !s->watched || pl_sub__in_strv(s->watched, s->n_watched, iri);
}

const char *pl_sub__dsid(const json_t *inst)
{
    return json_string_value(json_object_get(inst, "datasetId"));
}

const json_t *pl_sub__find_inst(const json_t *insts, const char *ds)
{
    size_t i;
    json_t *x;
    json_array_foreach(insts, i, x)
    {
        const char *d = pl_sub__dsid(x);
        if ((!d && !ds) || (d && ds && !strcmp(d, ds)))
            return x;
    }
    return NULL;
}

/* A "sub" member value: one instance or an array of instances. */
static int sub_value_equal(const json_t *a, const json_t *b)
{
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++) {
            if (!pl_sub__inst_equal(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        }
        return 1;
    }
    return pl_sub__inst_equal(a, b);
}

/* Equality of two instances, createdAt/modifiedAt ignored at every instance level. */
int pl_sub__inst_equal(const json_t *a, const json_t *b)
{
    if (!json_is_object(a) || !json_is_object(b))
        return json_equal((json_t *)a, (json_t *)b);
    const char *k;
    json_t *v;
    size_t na = 0, nb = 0;
    json_object_foreach((json_t *)a, k, v)
    {
        if (!strcmp(k, "createdAt") || !strcmp(k, "modifiedAt"))
            continue;
        na++;
        const json_t *w = json_object_get(b, k);
        if (!w)
            return 0;
        if (!strcmp(k, "sub")) {
            if (!json_is_object(v) || !json_is_object(w))
                return json_equal(v, (json_t *)w);
            if (json_object_size(v) != json_object_size(w))
                return 0;
            const char *sk;
            json_t *sv;
            json_object_foreach(v, sk, sv)
            {
                const json_t *sw = json_object_get(w, sk);
                if (!sw || !sub_value_equal(sv, sw))
                    return 0;
            }
        } else if (!json_equal(v, (json_t *)w)) {
            return 0;
        }
    }
    json_object_foreach((json_t *)b, k, v)
    {
        if (strcmp(k, "createdAt") != 0 && strcmp(k, "modifiedAt") != 0)
            nb++;
    }
    return na == nb;
}

/* Attribute-level change bits of one attribute. */
static unsigned attr_changes(const json_t *bi, const json_t *ai)
{
    unsigned c = 0;
    size_t i;
    json_t *x;
    json_array_foreach(ai, i, x)
    {
        const json_t *o = pl_sub__find_inst(bi, pl_sub__dsid(x));
        if (!o)
            c |= PL_TRIG_ATTR_CREATED;
        else if (!pl_sub__inst_equal(o, x))
            c |= PL_TRIG_ATTR_UPDATED;
    }
    json_array_foreach(bi, i, x)
    {
        if (!pl_sub__find_inst(ai, pl_sub__dsid(x)))
            c |= PL_TRIG_ATTR_DELETED;
    }
    return c;
}

/* json_equal, with two absent values equal. */
static int opt_equal(const json_t *a, const json_t *b)
{
    if (!a || !b)
        return a == b;
    return json_equal((json_t *)a, (json_t *)b);
}

/* 5.2.12 / 5.8.6 datasetId: `e` (internal form, borrowed) with only the attribute instances
 * the subscription selects ("@none": those without a datasetId); attributes left without an
 * instance are removed. NEW reference (`e` itself when nothing is selected out); NULL for NULL. */
json_t *pl_sub__select_datasets(const struct pl_sub *s, const json_t *e)
{
    if (!e)
        return NULL;
    if (!s->dataset_ids)
        return json_incref((json_t *)e);
    json_t *out = json_copy((json_t *)e); /* shallow: only "attrs" is replaced */
    json_t *attrs = json_object();
    if (!out || !attrs) {
        json_decref(out);
        json_decref(attrs);
        return NULL;
    }
    const char *k;
    json_t *insts;
    json_object_foreach(json_object_get(e, "attrs"), k, insts)
    {
        json_t *keep = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(insts, i, x)
        {
            const char *d = pl_sub__dsid(x);
            if (pl_sub__in_strv(s->dataset_ids, s->n_dataset_ids, d ? d : "@none"))
                json_array_append(keep, x);
        }
        if (json_array_size(keep))
            json_object_set_new(attrs, k, keep);
        else
            json_decref(keep);
    }
    json_object_set_new(out, "attrs", attrs);
    return out;
}

static int change_add(struct pl_sub_change *c, const char *iri, unsigned bits)
{
    if (!bits)
        return 0;
    if (pl_grow((void **)&c->attrs, &c->cap_, c->n_attrs, sizeof *c->attrs, 8) != 0)
        return PL_ENOMEM;
    c->attrs[c->n_attrs].iri = iri;
    c->attrs[c->n_attrs].bits = bits;
    c->n_attrs++;
    return 0;
}

int pl_sub_change_init(struct pl_sub_change *c, const json_t *before, const json_t *after)
{
    memset(c, 0, sizeof *c);
    c->before = before;
    c->after = after;
    const char *k;
    json_t *v;
    int rc = 0;
    if (!before && !after)
        return 0;
    if (!before) {
        c->kind = PL_TRIG_ENTITY_CREATED;
        json_object_foreach(json_object_get(after, "attrs"), k, v)
        {
            if (rc == 0 && json_array_size(v))
                rc = change_add(c, k, PL_TRIG_ATTR_CREATED);
        }
        return rc;
    }
    if (!after) {
        c->kind = PL_TRIG_ENTITY_DELETED;
        return 0;
    }
    const json_t *ba = json_object_get(before, "attrs"), *aa = json_object_get(after, "attrs");
    json_object_foreach((json_t *)aa, k, v)
    {
        if (rc == 0)
            rc = change_add(c, k, attr_changes(json_object_get(ba, k), v));
    }
    json_object_foreach((json_t *)ba, k, v)
    {
        if (rc == 0 && !json_object_get(aa, k))
            rc = change_add(c, k, attr_changes(v, NULL));
    }
    c->types_or_scope_changed =
        !opt_equal(json_object_get(before, "type"), json_object_get(after, "type")) ||
        !opt_equal(json_object_get(before, "scope"), json_object_get(after, "scope"));
    return rc;
}

void pl_sub_change_dispose(struct pl_sub_change *c)
{
    free(c->attrs);
    memset(c, 0, sizeof *c);
}

/* The triggers the change carries for `s` (its watchedAttributes), before filtering. */
static unsigned changes(const struct pl_sub *s, const struct pl_sub_change *c)
{
    if (c->kind == PL_TRIG_ENTITY_DELETED)
        return PL_TRIG_ENTITY_DELETED;
    unsigned r = c->kind;
    for (size_t i = 0; i < c->n_attrs; i++) {
        if (watched(s, c->attrs[i].iri))
            r |= c->attrs[i].bits;
    }
    if (c->kind == PL_TRIG_ENTITY_CREATED)
        return r;
    if (r)
        r |= PL_TRIG_ENTITY_UPDATED;
    else if (!s->watched && c->types_or_scope_changed)
        r |= PL_TRIG_ENTITY_UPDATED;
    return r;
}

unsigned pl_sub_match_change(const struct pl_sub *s, const struct pl_sub_change *c, int64_t now_ms)
{
    const json_t *e = c->after ? c->after : c->before;
    if (!e || !active_at(s, now_ms) || s->time_interval > 0)
        return 0;
    if (!entity_selected(s, e))
        return 0;
    unsigned want = s->triggers;
    if (want & PL_TRIG_ENTITY_UPDATED)
        want |= PL_TRIG_ATTR_CREATED | PL_TRIG_ATTR_UPDATED | PL_TRIG_ATTR_DELETED;
    unsigned r;
    if (s->dataset_ids) {
        /* only the selected instances' changes count (the shared summary is over all) */
        json_t *b = pl_sub__select_datasets(s, c->before),
               *a = pl_sub__select_datasets(s, c->after);
        struct pl_sub_change own;
        int rc = pl_sub_change_init(&own, b, a);
        r = rc == 0 ? changes(s, &own) & want : 0;
        pl_sub_change_dispose(&own);
        json_decref(b);
        json_decref(a);
    } else {
        r = changes(s, c) & want;
    }
    if (!r || !filters_match(s, e))
        return 0;
    return r;
}

unsigned pl_sub_match(const struct pl_sub *s, const json_t *before, const json_t *after,
                      int64_t now_ms)
{
    struct pl_sub_change c;
    if (pl_sub_change_init(&c, before, after) != 0) {
        pl_sub_change_dispose(&c);
        return 0;
    }
    unsigned r = pl_sub_match_change(s, &c, now_ms);
    pl_sub_change_dispose(&c);
    return r;
}

size_t pl_sub_types(const struct pl_sub *s, const char *const **types, int *any)
{
    *any = s->any_type_;
    *types = (const char *const *)s->type_keys_;
    return s->any_type_ ? 0 : s->n_type_keys_;
}

size_t pl_sub_watched(const struct pl_sub *s, const char *const **attrs)
{
    *attrs = (const char *const *)s->watched;
    return s->n_watched;
}
