/* SPDX-License-Identifier: Apache-2.0 */
/*
 * entity_render.c — the internal form back to NGSI-LD representations: normalized (4.5.1),
 * concise (4.5.x.3, 4.7.3), simplified/keyValues (4.5.4) and GeoJSON Feature (4.5.17.1), with
 * the sysAttrs option, the language filter (4.15) and the attrs/pick/omit projections.
 *
 * Last step of every read: names and type IRIs are compacted with the requester's context.
 * "@context" itself is added by the api layer, not here.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "ngsild/entity.h"
#include "ngsild/entity_int.h"

struct rstate {
    const struct pl_ctx *ctx;        /* borrowed; compacts IRIs */
    const struct pl_render_opts *o;  /* borrowed */
    int nomem;                       /* set when a compaction failed */
};

/* A compacted copy of `iri` as a new JSON string (the IRI itself when compaction fails). */
static json_t *compact_str(struct rstate *rs, const char *iri)
{
    char *c = pl_ctx_compact(rs->ctx, iri);
    if (!c) {
        rs->nomem = 1;
        return json_string(iri);
    }
    json_t *s = json_string(c);
    free(c);
    return s;
}

/* Compacts a string or an array of strings. */
static json_t *compact_any(struct rstate *rs, const json_t *v)
{
    if (json_is_string(v))
        return compact_str(rs, json_string_value(v));
    json_t *a = json_array();
    size_t i;
    json_t *e;
    json_array_foreach (v, i, e)
        json_array_append_new(a, json_is_string(e) ? compact_str(rs, json_string_value(e))
                                                   : json_deep_copy(e));
    return a;
}

static void set_compacted(struct rstate *rs, json_t *obj, const char *iri, json_t *v)
{
    char *c = pl_ctx_compact(rs->ctx, iri);
    if (!c)
        rs->nomem = 1;
    json_object_set_new(obj, c ? c : iri, v);
    free(c);
}

/* ============================================================================================
 * Language filter (4.15)
 * ========================================================================================== */

/* Picks the entry of `map` for the language range list `lang` ("fr-CH,fr;q=0.9,*;q=0.5");
 * when nothing matches, any supported language (4.15): "@none" first, else the first entry.
 * Sets *tag (borrowed from `map`). */
static const json_t *lang_pick(const json_t *map, const char *lang, const char **tag)
{
    char buf[256];
    const char *ranges[16];
    double q[16];
    int n = 0;
    snprintf(buf, sizeof buf, "%s", lang);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok && n < 16;
         tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ')
            tok++;
        double w = 1.0;
        char *semi = strchr(tok, ';');
        if (semi) {
            *semi = '\0';
            if (strncmp(semi + 1, "q=", 2) == 0)
                w = strtod(semi + 3, NULL);
        }
        char *end = tok + strlen(tok);
        while (end > tok && end[-1] == ' ')
            *--end = '\0';
        int at = n++;
        while (at > 0 && q[at - 1] < w) { /* insertion sort, stable, by weight */
            ranges[at] = ranges[at - 1];
            q[at] = q[at - 1];
            at--;
        }
        ranges[at] = tok;
        q[at] = w;
    }
    const char *k;
    json_t *v;
    for (int i = 0; i < n; i++) {
        if (strcmp(ranges[i], "*") == 0)
            break;
        json_object_foreach ((json_t *)map, k, v) {
            if (strcasecmp(k, ranges[i]) == 0) {
                *tag = k;
                return v;
            }
        }
        size_t rl = strlen(ranges[i]);
        json_object_foreach ((json_t *)map, k, v) { /* "fr" serves "fr-CH" */
            if (strncasecmp(k, ranges[i], rl) == 0 && k[rl] == '-') {
                *tag = k;
                return v;
            }
        }
    }
    if ((v = json_object_get(map, "@none")) != NULL) {
        *tag = "@none";
        return v;
    }
    json_object_foreach ((json_t *)map, k, v) {
        *tag = k;
        return v;
    }
    *tag = "@none";
    return NULL;
}

/* ============================================================================================
 * Instances
 * ========================================================================================== */

static const char *const payload_keys[] = {"value",     "object",    "languageMap", "vocab",
                                           "json",      "valueList", "objectList"};

/* 1 when a bare concise value could be read back as something else. */
static int ambiguous(const json_t *v)
{
    if (json_is_object(v)) {
        if (json_object_get(v, "type"))
            return 1;
        for (size_t i = 0; i < sizeof payload_keys / sizeof payload_keys[0]; i++) {
            if (json_object_get(v, payload_keys[i]))
                return 1;
        }
        return 0;
    }
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (json_is_object(json_array_get(v, i)))
                return 1;
        }
    }
    return 0;
}

static json_t *render_instance(struct rstate *rs, const char *iri, const json_t *inst,
                               enum pl_format fmt, int force_object);

/* The keyValues form of one instance (4.5.4). */
static json_t *kv_value(struct rstate *rs, const json_t *inst)
{
    int kind = pl_entity__instance_kind(inst);
    const json_t *p = json_object_get(inst, pl_entity__kind_payload(kind) ? pl_entity__kind_payload(kind) : "value");
    const char *tag;
    switch (kind) {
    case PL_KIND_LANGUAGEPROPERTY:
        if (rs->o->lang) {
            const json_t *s = lang_pick(p, rs->o->lang, &tag);
            return s ? json_deep_copy(s) : json_null();
        }
        return json_pack("{s:O}", "languageMap", p);
    case PL_KIND_VOCABPROPERTY:
        return json_pack("{s:o}", "vocab", compact_any(rs, p));
    case PL_KIND_JSONPROPERTY:
        return json_pack("{s:O}", "json", p);
    default:
        return p ? json_deep_copy(p) : json_null();
    }
}

static json_t *render_instance(struct rstate *rs, const char *iri, const json_t *inst,
                               enum pl_format fmt, int force_object)
{
    int kind = pl_entity__instance_kind(inst);
    const char *pk = pl_entity__kind_payload(kind);
    const json_t *p = pk ? json_object_get(inst, pk) : NULL;
    json_t *out = json_object();
    if (fmt == PL_FORMAT_NORMALIZED)
        json_object_set_new(out, "type", json_string(pl_entity__kind_name(kind)));
    if (kind == PL_KIND_LANGUAGEPROPERTY && rs->o->lang) {
        /* NGSI-LD 4.15: the LanguageProperty becomes a Property with a "lang" member. */
        const char *tag;
        const json_t *s = lang_pick(p, rs->o->lang, &tag);
        if (fmt == PL_FORMAT_NORMALIZED)
            json_object_set_new(out, "type", json_string("Property"));
        json_object_set_new(out, "value", s ? json_deep_copy(s) : json_null());
        json_object_set_new(out, "lang", json_string(tag));
    } else if (p) {
        json_object_set_new(out, pk,
                            kind == PL_KIND_VOCABPROPERTY ? compact_any(rs, p) : json_deep_copy(p));
    }
    static const char *const plain[] = {"observedAt", "unitCode", "datasetId"};
    for (size_t i = 0; i < 3; i++) {
        const json_t *m = json_object_get(inst, plain[i]);
        if (m)
            json_object_set_new(out, plain[i], json_deep_copy(m));
    }
    const json_t *ot = json_object_get(inst, "objectType");
    if (ot)
        json_object_set_new(out, "objectType", compact_any(rs, ot));
    if (rs->o->sys_attrs) {
        /* expiresAt (4.22) is a system attribute too */
        static const char *const sys[] = {"createdAt", "modifiedAt", "expiresAt"};
        for (size_t i = 0; i < 3; i++) {
            const json_t *m = json_object_get(inst, sys[i]);
            if (m)
                json_object_set_new(out, sys[i], json_deep_copy(m));
        }
    }
    const char *sn;
    json_t *si;
    json_object_foreach (json_object_get(inst, "sub"), sn, si)
        set_compacted(rs, out, sn, render_instance(rs, sn, si, fmt, 0));
    if (fmt != PL_FORMAT_CONCISE)
        return out;
    /* Concise (4.5.2.3, 4.7.3): drop what the parser can infer back. */
    int only_value = json_object_size(out) == 1 && json_object_get(out, "value");
    if (only_value && !force_object && kind == PL_KIND_GEOPROPERTY) {
        json_t *g = json_incref(json_object_get(out, "value"));
        json_decref(out);
        return g;
    }
    if (only_value && !force_object && kind == PL_KIND_PROPERTY &&
        !ambiguous(json_object_get(out, "value")) &&
        !(pl_entity__is_core_geo(iri) && pl_entity__looks_geometry(json_object_get(out, "value")))) {
        json_t *v = json_incref(json_object_get(out, "value"));
        json_decref(out);
        return v;
    }
    if (kind == PL_KIND_GEOPROPERTY && !pl_entity__is_core_geo(iri))
        json_object_set_new(out, "type", json_string("GeoProperty"));
    if (kind == PL_KIND_PROPERTY && !json_object_get(out, "lang") &&
        pl_entity__is_core_geo(iri) && pl_entity__looks_geometry(json_object_get(out, "value")))
        json_object_set_new(out, "type", json_string("Property"));
    return out;
}

/* ============================================================================================
 * Entities
 * ========================================================================================== */

static int in_list(const char *const *l, size_t n, const char *a, const char *b)
{
    for (size_t i = 0; i < n; i++) {
        if ((a && strcmp(l[i], a) == 0) || (b && strcmp(l[i], b) == 0))
            return 1;
    }
    return 0;
}

/* pick/omit for a member; `iri` may be NULL for core members. */
static int member_kept(const struct pl_render_opts *o, const char *name, const char *iri)
{
    if (o->pick && !in_list(o->pick, o->n_pick, name, iri))
        return 0;
    if (o->omit && in_list(o->omit, o->n_omit, name, iri))
        return 0;
    return 1;
}

/* The instances of `insts` that datasetId= keeps: `insts` itself (a new reference) when there
 * is no filter, else a new array, empty when none is kept. NULL when out of memory. */
static json_t *dataset_filter(const struct pl_render_opts *o, json_t *insts)
{
    if (!o->datasets)
        return json_incref(insts);
    json_t *kept = json_array();
    size_t i;
    json_t *inst;
    json_array_foreach (insts, i, inst) {
        const char *d = pl_entity__dataset_id(inst);
        if (in_list(o->datasets, o->n_datasets, d ? d : "@none", NULL))
            json_array_append(kept, inst);
    }
    return kept;
}

static json_t *render_attr(struct rstate *rs, const char *iri, const json_t *insts)
{
    size_t n = json_array_size(insts);
    enum pl_format fmt = rs->o->format;
    if (fmt == PL_FORMAT_KEYVALUES) {
        const json_t *first = json_array_get(insts, 0);
        if (n == 1 && !pl_entity__dataset_id(first))
            return kv_value(rs, first);
        /* NGSI-LD 4.5.4, multi-attribute case: {"dataset": {"@none"|datasetId: value}} */
        json_t *ds = json_object();
        size_t i;
        json_t *inst;
        json_array_foreach (insts, i, inst) {
            const char *d = pl_entity__dataset_id(inst);
            json_object_set_new(ds, d ? d : "@none", kv_value(rs, inst));
        }
        return json_pack("{s:o}", "dataset", ds);
    }
    if (n == 1)
        return render_instance(rs, iri, json_array_get(insts, 0), fmt, 0);
    json_t *a = json_array();
    size_t i;
    json_t *inst;
    json_array_foreach (insts, i, inst)
        json_array_append_new(a, render_instance(rs, iri, inst, fmt, 1));
    return a;
}

int pl_entity_render(const struct pl_ctx *ctx, const json_t *e, const struct pl_render_opts *o,
                     json_t **out, struct pl_err *err)
{
    struct pl_render_opts dflt = {0};
    struct rstate rs = {ctx, o ? o : &dflt, 0};
    o = rs.o;
    *out = NULL;
    if (!json_is_object(e))
        return pl_err_set(err, PL_EINTERNAL, "stored entity is not an object");
    json_t *r = json_object();
    const json_t *id = json_object_get(e, "id");
    if (id && member_kept(o, "id", NULL))
        json_object_set(r, "id", (json_t *)id);
    const json_t *t = json_object_get(e, "type");
    if (t && member_kept(o, "type", NULL)) { /* NGSI-LD 4.5.1: a string when one type */
        json_t *ct = compact_any(&rs, t);
        if (json_is_array(ct) && json_array_size(ct) == 1) {
            json_t *one = json_incref(json_array_get(ct, 0));
            json_decref(ct);
            ct = one;
        }
        json_object_set_new(r, "type", ct);
    }
    const json_t *sc = json_object_get(e, "scope");
    if (sc && member_kept(o, "scope", NULL))
        json_object_set_new(r, "scope", json_array_size(sc) == 1
                                            ? json_deep_copy(json_array_get(sc, 0))
                                            : json_deep_copy(sc));
    if (o->sys_attrs) {
        static const char *const sys[] = {"createdAt", "modifiedAt", "deletedAt", "expiresAt"};
        for (size_t i = 0; i < 4; i++) {
            const json_t *m = json_object_get(e, sys[i]);
            if (m)
                json_object_set_new(r, sys[i], json_deep_copy(m));
        }
    }
    const char *iri;
    json_t *insts;
    json_object_foreach (json_object_get(e, "attrs"), iri, insts) {
        if (!json_is_array(insts) || json_array_size(insts) == 0)
            continue;
        if (o->attrs && !in_list(o->attrs, o->n_attrs, iri, NULL))
            continue;
        if (o->pick || o->omit) {
            char *c = pl_ctx_compact(ctx, iri);
            int keep = member_kept(o, c ? c : iri, iri);
            free(c);
            if (!keep)
                continue;
        }
        json_t *kept = dataset_filter(o, insts);
        if (!kept) {
            rs.nomem = 1;
            break;
        }
        if (json_array_size(kept))
            set_compacted(&rs, r, iri, render_attr(&rs, iri, kept));
        json_decref(kept);
    }
    if (rs.nomem) {
        json_decref(r);
        return pl_err_set(err, PL_ENOMEM, "out of memory while compacting");
    }
    *out = r;
    return 0;
}

int pl_entity_render_geojson(const struct pl_ctx *ctx, const json_t *e,
                             const struct pl_render_opts *o, const char *geoproperty_iri,
                             json_t **out, struct pl_err *err)
{
    json_t *props;
    *out = NULL;
    int rc = pl_entity_render(ctx, e, o, &props, err);
    if (rc)
        return rc;
    json_object_del(props, "id");
    /* NGSI-LD 4.5.17.1: geometry from the chosen GeoProperty (default instance first). */
    const char *gp = geoproperty_iri ? geoproperty_iri : PL_ENTITY__LOCATION_IRI;
    const json_t *insts = json_object_get(json_object_get(e, "attrs"), gp);
    long idx = pl_entity__find_instance(insts, NULL);
    const json_t *inst = json_array_get(insts, idx >= 0 ? (size_t)idx : 0);
    const json_t *g = NULL;
    if (inst && pl_entity__instance_kind(inst) == PL_KIND_GEOPROPERTY)
        g = json_object_get(inst, "value");
    json_t *f = json_object();
    const json_t *id = json_object_get(e, "id");
    if (id)
        json_object_set(f, "id", (json_t *)id);
    json_object_set_new(f, "type", json_string("Feature"));
    json_object_set_new(f, "geometry", g ? json_deep_copy(g) : json_null());
    json_object_set_new(f, "properties", props);
    *out = f;
    return 0;
}
