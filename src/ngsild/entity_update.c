/* SPDX-License-Identifier: Apache-2.0 */
/*
 * entity_update.c — update semantics on the internal form (5.6.2-5.6.5, 5.6.17-5.6.19).
 *
 * The api layer reads the stored entity, parses the request into a fragment (entity_parse.c),
 * calls one function here to change the stored form in place, and writes the result back. The
 * functions only touch JSON: no I/O, no validation of payloads (the parser did that), no
 * rendering. createdAt is kept for instances that already existed and set for new ones;
 * modifiedAt is set on the entity and on every touched instance.
 */
#include <string.h>

#include "ngsild/entity.h"
#include "ngsild/entity_int.h"

/* Removes, recursively, sub-attributes whose payload is NGSI-LD Null (5.4): in a new instance
 * they delete nothing and must not be stored. */
static void strip_nulls(json_t *inst)
{
    json_object_del(inst, "@bare"); /* a parser mark for merges (entity.h), never stored */
    json_t *sub = json_object_get(inst, "sub");
    const char *k;
    json_t *s;
    void *tmp;
    json_object_foreach_safe (sub, tmp, k, s) {
        if (pl_entity__is_null_marker(s))
            json_object_del(sub, k);
        else
            strip_nulls(s);
    }
    if (sub && json_object_size(sub) == 0)
        json_object_del(inst, "sub");
}

static void stamp(json_t *inst, const char *created, const char *now)
{
    json_object_set_new(inst, "createdAt", json_string(created ? created : now));
    json_object_set_new(inst, "modifiedAt", json_string(now));
    const char *k;
    json_t *s;
    json_object_foreach (json_object_get(inst, "sub"), k, s) {
        if (!json_object_get(s, "createdAt"))
            stamp(s, NULL, now);
    }
}

/* A new stored instance from a parsed one: copied, Null sub-attributes removed, stamped.
 * `created` (may be NULL) is the createdAt of the instance it replaces. Returns a new ref. */
static json_t *fresh(const json_t *src, const char *created, const char *now)
{
    json_t *n = json_deep_copy(src);
    json_object_del(n, "createdAt");
    json_object_del(n, "modifiedAt");
    json_object_del(n, "@bare");
    strip_nulls(n);
    const char *k;
    json_t *s;
    json_object_foreach (json_object_get(n, "sub"), k, s) {
        json_object_del(s, "createdAt");
        stamp(s, NULL, now);
    }
    stamp(n, created, now);
    return n;
}

static int is_null_value(const json_t *v)
{
    const char *z = json_string_value(v);
    return json_is_null(v) || (z && strcmp(z, PL_ENTITY__NULL) == 0);
}

/* RFC 7396 applied to a Property value (5.5.12): objects merge member by member, to any depth,
 * a Null member (JSON null or the NGSI-LD Null) removes the member, anything else replaces.
 * `target` (may be NULL) and `patch` are borrowed; returns a NEW reference. */
static json_t *merge_patch(const json_t *target, const json_t *patch)
{
    if (!json_is_object(patch))
        return json_deep_copy(patch);
    json_t *out = json_is_object(target) ? json_deep_copy(target) : json_object();
    const char *k;
    json_t *v;
    json_object_foreach ((json_t *)patch, k, v) {
        if (is_null_value(v))
            json_object_del(out, k);
        else
            json_object_set_new(out, k, merge_patch(json_object_get(out, k), v));
    }
    return out;
}

/* A simplified value (concise or keyValues, marked "@bare" by the parser) merged into a stored
 * attribute of another kind keeps that kind (5.6.17.4): the value becomes its payload. A string
 * (or array of strings) merged into a LanguageProperty with a `lang` replaces that language
 * only. Returns 0 or PL_EBADREQUESTDATA when the value does not fit the kind. */
static int merge_bare(json_t *dst, int dk, const json_t *v, const struct pl_merge_opts *mo,
                      struct pl_err *err)
{
    const char *pk = pl_entity__kind_payload(dk);
    switch (dk) {
    case PL_KIND_RELATIONSHIP: {
        int ok = json_is_string(v) && pl_is_uri(json_string_value(v));
        for (size_t i = 0; json_is_array(v) && i < json_array_size(v); i++)
            ok = (i == 0 || ok) && pl_is_uri(json_string_value(json_array_get(v, i)));
        if (!ok || (json_is_array(v) && json_array_size(v) == 0))
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "a simplified value merged into a Relationship must be a URI");
        break;
    }
    case PL_KIND_GEOPROPERTY:
        if (pl_geojson_validate(v, err) != 0)
            return PL_EBADREQUESTDATA;
        break;
    case PL_KIND_LANGUAGEPROPERTY: {
        int ok = json_is_string(v);
        for (size_t i = 0; json_is_array(v) && i < json_array_size(v); i++)
            ok = (i == 0 || ok) && json_is_string(json_array_get(v, i));
        if (!ok)
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "a simplified value merged into a LanguageProperty must be a "
                              "string or an array of strings");
        const char *lang = mo && mo->lang ? mo->lang : "@none";
        json_t *map = json_object_get(dst, "languageMap");
        if (!json_is_object(map) || !(mo && mo->lang)) {
            map = json_object();
            json_object_set_new(dst, "languageMap", map);
        }
        json_object_set_new(map, lang, json_deep_copy(v));
        return 0;
    }
    case PL_KIND_LISTPROPERTY:
    case PL_KIND_LISTRELATIONSHIP:
        if (!json_is_array(v))
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "a simplified value merged into a %s must be an array",
                              pl_entity__kind_name(dk));
        for (size_t i = 0; dk == PL_KIND_LISTRELATIONSHIP && i < json_array_size(v); i++) {
            if (!pl_is_uri(json_string_value(json_array_get(v, i))))
                return pl_err_set(err, PL_EBADREQUESTDATA,
                                  "a simplified value merged into a ListRelationship must be "
                                  "an array of URIs");
        }
        break;
    case PL_KIND_JSONPROPERTY:
        break;
    default: /* VocabProperty: its terms would need the request's @context */
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "a simplified value cannot be merged into a %s: give it normalized",
                          pl_entity__kind_name(dk) ? pl_entity__kind_name(dk) : "attribute");
    }
    json_object_set_new(dst, pk, json_deep_copy(v));
    return 0;
}

/* Merges the members of `src` into the stored instance `dst` (5.6.17, 5.6.4): payload and
 * other members replaced, sub-attributes merged recursively, Null sub-attributes deleted. With
 * `deep` (Merge Entity, 5.5.12) a Property value object is merged into the stored one instead
 * of replacing it (5.5.12 EXAMPLE 2); the partial attribute update replaces it (5.5.8). `mo`
 * (Merge Entity only, may be NULL) carries its lang and observedAt parameters. Returns 0 or
 * PL_EBADREQUESTDATA (a simplified value that does not fit the stored kind). */
static int merge_instance(json_t *dst, const json_t *src, const char *now, int deep,
                          const struct pl_merge_opts *mo, struct pl_err *err)
{
    const char *k;
    json_t *v;
    int sk = pl_entity__instance_kind(src);
    int dk = pl_entity__instance_kind(dst);
    int bare = json_is_true(json_object_get(src, "@bare"));
    if (bare && dk != PL_KIND_NONE && dk != PL_KIND_PROPERTY) {
        int rc = merge_bare(dst, dk, json_object_get(src, "value"), mo, err);
        if (rc != 0)
            return rc;
        sk = dk;
    } else if (sk != PL_KIND_NONE && sk != dk) {
        /* The kind changes: the old payload and kind-specific members go. */
        const char *op = pl_entity__kind_payload(dk);
        if (op)
            json_object_del(dst, op);
        if (sk != PL_KIND_RELATIONSHIP && sk != PL_KIND_LISTRELATIONSHIP)
            json_object_del(dst, "objectType");
    }
    /* 6.5.3.4 observedAt: an attribute that had an observedAt gets the parameter's, unless the
     * fragment gives its own. */
    if (mo && mo->observed_at && json_object_get(dst, "observedAt") &&
        !json_object_get(src, "observedAt"))
        json_object_set_new(dst, "observedAt", json_string(mo->observed_at));
    json_object_foreach ((json_t *)src, k, v) {
        if (!strcmp(k, "createdAt") || !strcmp(k, "modifiedAt") || !strcmp(k, "@bare"))
            continue;
        if (bare && sk != PL_KIND_PROPERTY && (!strcmp(k, "type") || !strcmp(k, "value")))
            continue; /* merged by merge_bare into the stored kind */
        if (strcmp(k, "sub") != 0) {
            int kind = sk != PL_KIND_NONE ? sk : dk;
            if (deep && kind == PL_KIND_PROPERTY && strcmp(k, "value") == 0)
                json_object_set_new(dst, k, merge_patch(json_object_get(dst, k), v));
            else
                json_object_set_new(dst, k, json_deep_copy(v));
            continue;
        }
        json_t *dsub = json_object_get(dst, "sub");
        const char *sn;
        json_t *si;
        json_object_foreach (v, sn, si) {
            json_t *old = dsub ? json_object_get(dsub, sn) : NULL;
            if (pl_entity__is_null_marker(si)) {
                if (old)
                    json_object_del(dsub, sn);
            } else if (old) {
                int rc = merge_instance(old, si, now, deep, NULL, err);
                if (rc != 0)
                    return rc;
            } else {
                if (!dsub) {
                    dsub = json_object();
                    json_object_set_new(dst, "sub", dsub);
                }
                json_object_set_new(dsub, sn, fresh(si, NULL, now));
            }
        }
        if (dsub && json_object_size(dsub) == 0)
            json_object_del(dst, "sub");
    }
    json_object_set_new(dst, "modifiedAt", json_string(now));
    return 0;
}

static void note(json_t *not_updated, const char *iri, const char *reason)
{
    if (not_updated)
        json_array_append_new(not_updated,
                              json_pack("{s:s, s:s}", "attributeName", iri, "reason", reason));
}

static void touch_entity(json_t *e, const char *now)
{
    if (!json_object_get(e, "createdAt"))
        json_object_set_new(e, "createdAt", json_string(now));
    json_object_set_new(e, "modifiedAt", json_string(now));
}

static json_t *attrs_of(json_t *e)
{
    json_t *a = json_object_get(e, "attrs");
    if (!json_is_object(a)) {
        a = json_object();
        json_object_set_new(e, "attrs", a);
    }
    return a;
}

/* Replaces instance `idx` of `insts` by `src`, keeping its createdAt. */
static void replace_at(json_t *insts, long idx, const json_t *src, const char *now)
{
    json_t *old = json_array_get(insts, (size_t)idx);
    json_t *n = fresh(src, json_string_value(json_object_get(old, "createdAt")), now);
    json_array_set_new(insts, (size_t)idx, n);
}

static int apply_attr(json_t *attrs, const char *iri, const json_t *finsts, enum pl_update_op op,
                      const struct pl_merge_opts *mo, const char *now, json_t *not_updated,
                      struct pl_err *err)
{
    json_t *insts = json_object_get(attrs, iri);
    size_t i;
    json_t *src;
    json_array_foreach (finsts, i, src) {
        const char *dsid = pl_entity__dataset_id(src);
        long idx = insts ? pl_entity__find_instance(insts, dsid) : -1;
        if (pl_entity__is_null_marker(src)) { /* NGSI-LD 5.4: Null deletes */
            if (idx >= 0 && op != PL_UPDATE_APPEND_NOOVER)
                json_array_remove(insts, (size_t)idx);
            else if (idx < 0 && op == PL_UPDATE_UPDATE)
                note(not_updated, iri, "attribute not found: nothing to delete");
            continue;
        }
        if (idx >= 0) {
            switch (op) {
            case PL_UPDATE_APPEND_NOOVER: /* NGSI-LD 5.6.3: noOverwrite keeps it */
                note(not_updated, iri, "attribute exists and noOverwrite was requested");
                break;
            case PL_UPDATE_MERGE: { /* NGSI-LD 5.6.17 */
                int rc = merge_instance(json_array_get(insts, (size_t)idx), src, now, 1, mo, err);
                if (rc != 0)
                    return rc;
                break;
            }
            default: /* APPEND, UPDATE (5.6.2, 5.6.3): the instance is replaced */
                replace_at(insts, idx, src, now);
                break;
            }
            continue;
        }
        /* Not there yet: appended, by every operation (5.6.2.4 "such Attribute shall be
         * appended to the target Entity", 5.6.3.4, 5.6.17.4). */
        if (!insts) {
            insts = json_array();
            json_object_set_new(attrs, iri, insts);
        }
        json_t *n = fresh(src, NULL, now);
        if (op == PL_UPDATE_MERGE && pl_entity__instance_kind(n) == PL_KIND_PROPERTY)
            /* a merge into nothing: the Null members of the value are dropped (RFC 7396) */
            json_object_set_new(n, "value", merge_patch(NULL, json_object_get(n, "value")));
        json_array_append_new(insts, n);
    }
    if (insts && json_array_size(insts) == 0)
        json_object_del(attrs, iri);
    return 0;
}

/* The scope of a fragment `fs` (NULL when absent) applied to `e` (4.18). Returns 0 or
 * PL_ENOMEM. */
static int apply_scope(json_t *e, const json_t *fs, enum pl_update_op op)
{
    json_t *es = json_object_get(e, "scope");
    if (!fs) {
        if (op == PL_UPDATE_REPLACE) /* 5.6.18: the new content has no scope */
            json_object_del(e, "scope");
        return 0;
    }
    if (json_is_string(fs)) { /* only the Null marker is a string here (5.4) */
        json_object_del(e, "scope");
        return 0;
    }
    switch (op) {
    case PL_UPDATE_UPDATE:
        /* 5.6.2.4: "If scope is included in the Fragment and the target entity includes scope,
         * replace the scope by the one included in the Fragment, otherwise ignore it." */
        if (es)
            json_object_set_new(e, "scope", json_deep_copy(fs));
        return 0;
    case PL_UPDATE_APPEND_NOOVER:
        /* 5.6.3.4, 5.6.17.4: without overwrite, the Scopes not held yet are appended. */
        if (json_is_array(es))
            return pl_entity__union_strings(es, fs) != 0 ? PL_ENOMEM : 0;
        json_object_set_new(e, "scope", json_deep_copy(fs));
        return 0;
    default: /* append, merge (overwrite allowed), replace: the fragment's scope */
        json_object_set_new(e, "scope", json_deep_copy(fs));
        return 0;
    }
}

static int apply_fragment(json_t *e, const json_t *frag, enum pl_update_op op,
                          const struct pl_merge_opts *mo, const char *now, json_t *not_updated,
                          struct pl_err *err)
{
    const char *fid = json_string_value(json_object_get(frag, "id"));
    const char *eid = json_string_value(json_object_get(e, "id"));
    if (fid && eid && strcmp(fid, eid) != 0)
        return pl_err_set(err, PL_EBADREQUESTDATA, "fragment id '%s' differs from entity id",
                          fid);
    const json_t *ft = json_object_get(frag, "type");
    if (ft) {
        if (!json_is_array(ft) || json_array_size(ft) == 0)
            return pl_err_set(err, PL_EBADREQUESTDATA, "an entity needs at least one type");
        if (op == PL_UPDATE_REPLACE) {
            json_object_set_new(e, "type", json_deep_copy(ft));
        } else {
            json_t *et = json_object_get(e, "type");
            if (!json_is_array(et)) {
                et = json_array();
                json_object_set_new(e, "type", et);
            }
            /* O(n) union keeping first-seen order; the cap on the merged list is checked by
             * pl_entity_check_limits (this function does not get the limits). */
            if (pl_entity__union_strings(et, ft) != 0)
                return pl_err_set(err, PL_ENOMEM, "out of memory");
        }
    }
    if (apply_scope(e, json_object_get(frag, "scope"), op) != 0)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    /* 4.22: expiresAt is the entity's own; a replace without one makes it permanent */
    const json_t *fx = json_object_get(frag, "expiresAt");
    if (fx)
        json_object_set(e, "expiresAt", (json_t *)fx);
    else if (op == PL_UPDATE_REPLACE)
        json_object_del(e, "expiresAt");
    const json_t *fa = json_object_get(frag, "attrs");
    const char *iri;
    json_t *finsts;
    if (op == PL_UPDATE_REPLACE) { /* NGSI-LD 5.6.18: every attribute replaced */
        json_t *na = json_object();
        json_object_foreach ((json_t *)fa, iri, finsts) {
            json_t *insts = json_array();
            size_t i;
            json_t *src;
            json_array_foreach (finsts, i, src) {
                if (!pl_entity__is_null_marker(src))
                    json_array_append_new(insts, fresh(src, NULL, now));
            }
            if (json_array_size(insts))
                json_object_set_new(na, iri, insts);
            else
                json_decref(insts);
        }
        json_object_set_new(e, "attrs", na);
    } else {
        json_t *attrs = attrs_of(e);
        json_object_foreach ((json_t *)fa, iri, finsts) {
            int rc = apply_attr(attrs, iri, finsts, op, mo, now, not_updated, err);
            if (rc != 0)
                return rc;
        }
    }
    touch_entity(e, now);
    return 0;
}

int pl_entity_apply(json_t *e, const json_t *frag, enum pl_update_op op, const char *now,
                    json_t *not_updated, struct pl_err *err)
{
    return apply_fragment(e, frag, op, NULL, now, not_updated, err);
}

int pl_entity_merge(json_t *e, const json_t *frag, const struct pl_merge_opts *mo,
                    const char *now, struct pl_err *err)
{
    return apply_fragment(e, frag, PL_UPDATE_MERGE, mo, now, NULL, err);
}

int pl_entity_attr_patch(json_t *e, const char *attr_iri, const json_t *attr, const char *now,
                         struct pl_err *err)
{
    json_t *insts = json_object_get(attrs_of(e), attr_iri);
    const json_t *src_insts = json_object_get(attr, "instances");
    if (!insts)
        return pl_err_set(err, PL_ENOTFOUND, "attribute '%s' not found", attr_iri);
    size_t i;
    json_t *src;
    /* NGSI-LD 5.6.4: every targeted instance must exist, and its kind stays ("it is not allowed
     * to change the type of an Attribute"); check all before changing any. */
    json_array_foreach (src_insts, i, src) {
        const char *d = pl_entity__dataset_id(src);
        long idx = pl_entity__find_instance(insts, d);
        if (idx < 0)
            return pl_err_set(err, PL_ENOTFOUND, "attribute '%s' has no instance with %s%s%s",
                              attr_iri, d ? "datasetId '" : "the default datasetId",
                              d ? d : "", d ? "'" : "");
        int sk = pl_entity__instance_kind(src);
        int dk = pl_entity__instance_kind(json_array_get(insts, (size_t)idx));
        if (sk != PL_KIND_NONE && sk != dk && !pl_entity__is_null_marker(src))
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "attribute '%s' is a %s: a partial update cannot make it a %s "
                              "(5.6.4.4)",
                              attr_iri, pl_entity__kind_name(dk) ? pl_entity__kind_name(dk) : "?",
                              pl_entity__kind_name(sk));
    }
    json_array_foreach (src_insts, i, src) {
        long idx = pl_entity__find_instance(insts, pl_entity__dataset_id(src));
        if (pl_entity__is_null_marker(src))
            json_array_remove(insts, (size_t)idx);
        else
            merge_instance(json_array_get(insts, (size_t)idx), src, now, 0, NULL, err);
    }
    if (json_array_size(insts) == 0)
        json_object_del(attrs_of(e), attr_iri);
    touch_entity(e, now);
    return 0;
}

int pl_entity_attr_replace(json_t *e, const char *attr_iri, const json_t *attr, const char *now,
                           struct pl_err *err)
{
    json_t *insts = json_object_get(attrs_of(e), attr_iri);
    if (!insts)
        return pl_err_set(err, PL_ENOTFOUND, "attribute '%s' not found", attr_iri);
    size_t i;
    json_t *src;
    /* NGSI-LD 5.6.19.4: each targeted instance (default, or by datasetId) must exist, else
     * ResourceNotFound; checked for all before any is replaced. */
    json_array_foreach (json_object_get(attr, "instances"), i, src) {
        const char *d = pl_entity__dataset_id(src);
        if (pl_entity__find_instance(insts, d) < 0)
            return pl_err_set(err, PL_ENOTFOUND, "attribute '%s' has no instance with %s%s%s",
                              attr_iri, d ? "datasetId '" : "the default datasetId",
                              d ? d : "", d ? "'" : "");
    }
    json_array_foreach (json_object_get(attr, "instances"), i, src)
        replace_at(insts, pl_entity__find_instance(insts, pl_entity__dataset_id(src)), src, now);
    touch_entity(e, now);
    return 0;
}

int pl_entity_attr_delete(json_t *e, const char *attr_iri, const char *dataset_id, int delete_all,
                          const char *now, struct pl_err *err)
{
    if (strcmp(attr_iri, PL_ENTITY__SCOPE_IRI) == 0) {
        /* 5.6.5.4: "If the target Attribute is scope, remove the scope Attribute". */
        if (!json_object_get(e, "scope"))
            return pl_err_set(err, PL_ENOTFOUND, "the entity has no scope");
        json_object_del(e, "scope");
        touch_entity(e, now);
        return 0;
    }
    json_t *attrs = attrs_of(e);
    json_t *insts = json_object_get(attrs, attr_iri);
    if (!insts)
        return pl_err_set(err, PL_ENOTFOUND, "attribute '%s' not found", attr_iri);
    if (delete_all) { /* NGSI-LD 5.6.5: deleteAll=true */
        json_object_del(attrs, attr_iri);
    } else {
        long idx = pl_entity__find_instance(insts, dataset_id);
        if (idx < 0)
            return pl_err_set(err, PL_ENOTFOUND, "attribute '%s' has no instance with %s%s%s",
                              attr_iri, dataset_id ? "datasetId '" : "the default datasetId",
                              dataset_id ? dataset_id : "", dataset_id ? "'" : "");
        json_array_remove(insts, (size_t)idx);
        if (json_array_size(insts) == 0)
            json_object_del(attrs, attr_iri);
    }
    touch_entity(e, now);
    return 0;
}
