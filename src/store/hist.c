/* SPDX-License-Identifier: Apache-2.0 */
/*
 * hist.c — what one entity write adds to the attribute history (docs/temporal.md): the
 * instances the write created or changed, and a deletion instance (4.5.7: value
 * "urn:ngsi-ld:null" with deletedAt) for each instance it removed. Pure JSON work on the entity
 * before and after the write; the backend only stores the rows.
 */
#include "store/store_int.h"

#include <stdlib.h>
#include <string.h>

#include "base/strv.h"
#include "base/timeutil.h"

#define NGSILD_NULL "urn:ngsi-ld:null"

void pl_store__hist_batch_free(struct pl_hist_batch *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->n; i++)
        free((char *)b->rows[i].body);
    free(b->rows);
    memset(b, 0, sizeof *b);
}

static int64_t time_member(const json_t *inst, const char *key)
{
    int64_t ms;
    const char *s = json_string_value(json_object_get(inst, key));
    return s && pl_time_parse(s, &ms) == 0 ? ms : PL_HIST_NONE;
}

/* The value class and numeric value of an instance (4.5.19.1 tables). */
static void classify(const json_t *inst, int *kind, double *num)
{
    const char *type = json_string_value(json_object_get(inst, "type"));
    const json_t *v = json_object_get(inst, "value");
    *num = 0;
    if (type && strcmp(type, "Relationship") == 0) {
        *kind = PL_HV_REL;
    } else if (type && strcmp(type, "ListProperty") == 0) {
        *kind = PL_HV_ARRAY;
        *num = (double)json_array_size(json_object_get(inst, "valueList"));
    } else if (!type || strcmp(type, "Property") != 0 || !v) {
        *kind = PL_HV_OTHER;
    } else if (json_is_number(v)) {
        *kind = PL_HV_NUMBER;
        *num = json_number_value(v);
    } else if (json_is_boolean(v)) {
        *kind = PL_HV_BOOL;
        *num = json_is_true(v) ? 1 : 0;
    } else if (json_is_string(v)) {
        *kind = strcmp(json_string_value(v), NGSILD_NULL) == 0 ? PL_HV_NULL : PL_HV_STRING;
    } else if (json_is_array(v)) {
        *kind = PL_HV_ARRAY;
        *num = (double)json_array_size(v);
    } else {
        *kind = PL_HV_OBJECT;
    }
}

/* Appends one row for `inst` (borrowed) of `attr` (borrowed: must outlive the batch's use).
 * The stored instance is a copy stamped createdAt = modifiedAt = now (and deletedAt = now for a
 * deletion). When `keep_created` the instance's own createdAt is kept (PATCH of an instance). */
int pl_store__hist_add_row(struct pl_hist_batch *b, const char *attr, const json_t *inst,
                           int64_t now, int deletion, int keep_created)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 8;
        struct pl_hist_inst *r = realloc(b->rows, cap * sizeof *r);
        if (!r)
            return PL_ENOMEM;
        b->rows = r;
        b->cap = cap;
    }
    json_t *copy = json_copy((json_t *)inst); /* shallow: only top-level members change */
    if (!copy)
        return PL_ENOMEM;
    char iso[PL_TIME_ISO_LEN];
    pl_time_format(now, iso);
    int64_t cre = now;
    if (keep_created && (cre = time_member(inst, "createdAt")) == PL_HIST_NONE)
        cre = now;
    char cre_iso[PL_TIME_ISO_LEN];
    pl_time_format(cre, cre_iso);
    int bad = json_object_set_new(copy, "createdAt", json_string(cre_iso)) ||
              json_object_set_new(copy, "modifiedAt", json_string(iso));
    if (deletion)
        bad |= json_object_set_new(copy, "deletedAt", json_string(iso));
    json_object_del(copy, "instanceId"); /* the store gives it */
    size_t len = 0;
    char *text = bad ? NULL : pl_store__serialize(copy, &len);
    if (!text) {
        json_decref(copy);
        return PL_ENOMEM;
    }
    struct pl_hist_inst *r = &b->rows[b->n++];
    memset(r, 0, sizeof *r);
    r->attr = attr;
    r->dataset_id = json_string_value(json_object_get(inst, "datasetId"));
    r->body = text;
    r->len = len;
    r->obs = time_member(copy, "observedAt");
    r->cre = cre;
    r->mdf = now;
    r->del = deletion ? now : PL_HIST_NONE;
    if (deletion)
        r->kind = PL_HV_NULL, r->num = 0;
    else
        classify(copy, &r->kind, &r->num);
    json_decref(copy);
    return 0;
}

/* The deletion instance of `inst` (4.5.7; for the other kinds the null forms of 5.4). */
static json_t *deletion_of(const json_t *inst)
{
    const char *type = json_string_value(json_object_get(inst, "type"));
    if (!type)
        type = "Property";
    json_t *d = json_pack("{ss}", "type", type);
    if (!d)
        return NULL;
    json_t *nul = json_string(NGSILD_NULL);
    const char *member = "value";
    if (strcmp(type, "Relationship") == 0)
        member = "object";
    else if (strcmp(type, "LanguageProperty") == 0)
        member = "languageMap", nul = json_pack("{so}", "@none", nul);
    else if (strcmp(type, "ListProperty") == 0)
        member = "valueList", nul = json_pack("[o]", nul);
    else if (strcmp(type, "ListRelationship") == 0)
        member = "objectList", nul = json_pack("[o]", nul);
    else if (strcmp(type, "JsonProperty") == 0)
        member = "json";
    else if (strcmp(type, "VocabProperty") == 0)
        member = "vocab";
    const json_t *ds = json_object_get(inst, "datasetId");
    if (!nul || json_object_set_new(d, member, nul) ||
        (ds && json_object_set(d, "datasetId", (json_t *)ds))) {
        json_decref(d);
        return NULL;
    }
    return d;
}

/* The instance of `arr` with the same datasetId as `inst` (NULL when none). */
static const json_t *same_dataset(const json_t *arr, const json_t *inst)
{
    const char *ds = json_string_value(json_object_get(inst, "datasetId"));
    size_t i;
    const json_t *x;
    json_array_foreach(arr, i, x)
    {
        const char *xd = json_string_value(json_object_get(x, "datasetId"));
        if ((!ds && !xd) || (ds && xd && strcmp(ds, xd) == 0))
            return x;
    }
    return NULL;
}

static int add_deletions(struct pl_hist_batch *b, const char *attr, const json_t *inst, int64_t now)
{
    json_t *d = deletion_of(inst);
    int rc = d ? pl_store__hist_add_row(b, attr, d, now, 1, 0) : PL_ENOMEM;
    if (rc == 0) /* the row's datasetId must not point into `d` */
        b->rows[b->n - 1].dataset_id = json_string_value(json_object_get(inst, "datasetId"));
    json_decref(d);
    return rc;
}

/* 4.5.6: the Scope's temporal evolution is that of a Property whose value is the scope as the
 * entity shows it (one Scope: a string, several: an array) and whose observedAt is a copy of
 * modifiedAt; its removal is a deletion instance. */
static int add_scope_row(struct pl_hist_batch *b, const json_t *scope, int64_t now, int deletion)
{
    char iso[PL_TIME_ISO_LEN];
    pl_time_format(now, iso);
    json_t *v = deletion ? json_string(NGSILD_NULL)
                : json_array_size(scope) == 1 ? json_incref(json_array_get(scope, 0))
                                              : json_incref((json_t *)scope);
    json_t *inst = v ? json_pack("{sssoss}", "type", "Property", "value", v, "observedAt", iso)
                     : NULL;
    int rc = inst ? pl_store__hist_add_row(b, PL_HIST_SCOPE_ATTR, inst, now, deletion, 0)
                  : PL_ENOMEM;
    json_decref(inst);
    return rc;
}

static int scope_diff(const json_t *before, const json_t *after, int64_t now,
                      struct pl_hist_batch *b)
{
    const json_t *bs = json_object_get(before, "scope"), *as = json_object_get(after, "scope");
    if (json_array_size(as) && !(bs && json_equal((json_t *)bs, (json_t *)as)))
        return add_scope_row(b, as, now, 0);
    if (json_array_size(bs) && !json_array_size(as))
        return add_scope_row(b, NULL, now, 1);
    return 0;
}

int pl_store__hist_diff(const json_t *before, const json_t *after, int64_t now,
                        struct pl_hist_batch *b)
{
    const json_t *ba = json_object_get(before, "attrs"), *aa = json_object_get(after, "attrs");
    const char *attr;
    const json_t *arr;
    int rc = 0;
    json_object_foreach((json_t *)aa, attr, arr)
    {
        const json_t *old = json_object_get(ba, attr);
        size_t i;
        const json_t *inst;
        json_array_foreach(arr, i, inst)
        {
            const json_t *prev = old ? same_dataset(old, inst) : NULL;
            if (!prev || !json_equal((json_t *)prev, (json_t *)inst))
                if ((rc = pl_store__hist_add_row(b, attr, inst, now, 0, 0)) != 0)
                    return rc;
        }
    }
    json_object_foreach((json_t *)ba, attr, arr)
    {
        const json_t *now_arr = json_object_get(aa, attr);
        size_t i;
        const json_t *inst;
        json_array_foreach(arr, i, inst)
        {
            if (now_arr && same_dataset(now_arr, inst))
                continue;
            if ((rc = add_deletions(b, attr, inst, now)) != 0)
                return rc;
        }
    }
    return scope_diff(before, after, now, b);
}

int pl_store__hist_fragment(const json_t *frag, int64_t now, struct pl_hist_batch *b)
{
    const char *attr;
    const json_t *arr;
    json_object_foreach((json_t *)json_object_get(frag, "attrs"), attr, arr)
    {
        size_t i;
        const json_t *inst;
        json_array_foreach(arr, i, inst)
        {
            int rc = pl_store__hist_add_row(b, attr, inst, now, 0, 0);
            if (rc)
                return rc;
        }
    }
    const json_t *scope = json_object_get(frag, "scope");
    return json_array_size(scope) ? add_scope_row(b, scope, now, 0) : 0;
}

int pl_store__hist_wanted(const struct pl_hist_policy *p, const char *tenant, const json_t *e)
{
    if (!p || p->off || pl_strv_has(p->off_tenants, p->n_off_tenants, tenant ? tenant : ""))
        return 0;
    if (p->n_off_types) {
        size_t i;
        const json_t *t;
        json_array_foreach(json_object_get(e, "type"), i,
                           t) if (json_is_string(t) && pl_strv_has(p->off_types, p->n_off_types,
                                                                   json_string_value(t))) return 0;
    }
    return 1;
}
