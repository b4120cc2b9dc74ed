/* SPDX-License-Identifier: Apache-2.0 */
/*
 * temporal.c — the NGSI-LD temporal API, /ngsi-ld/v1/temporal/entities (clauses 5.6.11-5.6.16,
 * 5.7.3, 5.7.4, 6.18-6.24; representations 4.5.6-4.5.9 and 4.5.19). The contract, with our
 * choices where the specification leaves room, is docs/temporal.md.
 *
 * Reads: the entities are selected with the parameters of Query Entities (api/query_int.h),
 * evaluated here on each temporal entity: id / idPattern / type on its record, q and geo-query on
 * its instances in the window (5.7.4.4 S2, S3: a condition holds when any instance does), scopeQ
 * on its last scope. Instances come from the store in time order; aggregations are computed by
 * the store in SQL (pl_store_hist_aggregate).
 */
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/access.h"
#include "api/api.h"
#include "api/query_int.h"
#include "api/readscope.h"
#include "app/app.h"
#include "base/strbuf.h"
#include "base/strv.h"
#include "base/timeutil.h"
#include "ngsild/entity.h"
#include "query/geoq.h"
#include "query/order.h"
#include "query/q.h"
#include "query/scopeq.h"
#include "query/temporalq.h"
#include "query/typesel.h"
#include "store/store.h"

#define INSTANCE_PREFIX "urn:ngsi-ld:instance:"

/* One temporal read request. */
struct treq {
    struct pl_req *r;
    struct qreq *x;
    struct pl_temporalq tq;
    const char *time_at_text;   /* timeAt as the client wrote it (borrowed), NULL when absent */
    int64_t max_inst;           /* instances per attribute in one response */
    int truncated;              /* some attribute was cut at max_inst (206, 6.3.10) */
    int64_t range_start, range_end; /* the Content-Range bounds (6.3.10) when truncated */
    const char **datasets;      /* datasetId= (5.7.4.4 S8): keep only these ("@none": default) */
    int n_datasets;
    const struct pl_read_scope *rs; /* issue 12: what the principal may read (NULL: all) */
    json_t *cur_types;              /* the entity being read: its types, and whether its */
    int cur_hide;                   /* private attributes are left out */
    struct pl_err err;
};

/* ------------------------------------------------------------------------------------------
 * Parameters
 * ---------------------------------------------------------------------------------------- */

static void treq_release(void *p)
{
    struct treq *t = p;
    json_decref(t->cur_types);
    free(t);
}

static struct treq *treq_new(struct pl_req *r)
{
    struct treq *t = calloc(1, sizeof *t);
    if (!t || pl_req_defer(r, treq_release, t) != 0) {
        free(t);
        pl_reply_error(r, PL_ENOMEM, "out of memory");
        return NULL;
    }
    t->r = r;
    t->rs = pl_api_read_scope(r);
    t->max_inst =
        r->app->cfg.temporal_max_instances > 0 ? r->app->cfg.temporal_max_instances : 1000;
    return t;
}

/* The temporal query of the URL (4.11) and the aggregation parameters. */
static int tq_url_or_reply(struct pl_req *r, struct treq *t)
{
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_temporalq_parse(pl_req_arg(r, "timerel"), pl_req_arg(r, "timeAt"),
                           pl_req_arg(r, "endTimeAt"), pl_req_arg(r, "timeproperty"),
                           pl_req_arg(r, "lastN"), pl_req_arg(r, "aggrMethods"),
                           pl_req_arg(r, "aggrPeriodDuration"), &t->tq, &err) != 0) {
        pl_reply_problem(r, &err);
        return -1;
    }
    t->time_at_text = pl_req_arg(r, "timeAt");
    int n = pl_api_dataset_list_or_reply(r, &t->datasets);
    if (n < 0)
        return -1;
    t->n_datasets = n;
    return 0;
}

/* Whether an instance's datasetId passes datasetId= ("@none" names the default instance). */
static int dataset_wanted(const struct treq *t, const json_t *inst)
{
    if (!t->n_datasets)
        return 1;
    const char *ds = json_string_value(json_object_get(inst, "datasetId"));
    for (int i = 0; i < t->n_datasets; i++)
        if (ds ? strcmp(ds, t->datasets[i]) == 0 : strcmp(t->datasets[i], "@none") == 0)
            return 1;
    return 0;
}

/* 5.7.3.4, 5.7.4.4: projections that ask for Linked Entity Retrieval (4.21 "attr{...}") are
 * BadRequestData on the temporal API. */
static int no_linked_projection_or_reply(struct pl_req *r)
{
    const char *k[] = {"pick", "omit"};
    for (int i = 0; i < 2; i++) {
        const char *v = pl_req_arg(r, k[i]);
        if (v && strpbrk(v, "{}")) {
            pl_reply_error(r, PL_EBADREQUESTDATA,
                           "%s: Linked Entity Retrieval is not available on the temporal API "
                           "(5.7.3.4, 5.7.4.4)",
                           k[i]);
            return -1;
        }
    }
    return 0;
}

/* options=aggregatedValues needs aggrMethods (4.5.19.1); aggrMethods alone is an error too. */
static int aggr_or_reply(struct pl_req *r, struct treq *t)
{
    int aggr = t->x->o.temporal == PL_TEMPORAL_AGGREGATED;
    if (aggr && !t->tq.aggr_methods)
        return pl_reply_error(r, PL_EBADREQUESTDATA,
                              "options=aggregatedValues requires aggrMethods (4.5.19.1)"),
               -1;
    if (!aggr && t->tq.aggr_methods)
        return pl_reply_error(r, PL_EBADREQUESTDATA,
                              "aggrMethods requires options=aggregatedValues (4.5.19.1)"),
               -1;
    return 0;
}

static struct pl_hist_query hist_query(struct pl_req *r, const struct treq *t, const char *id,
                                       int all_attrs)
{
    struct pl_hist_query q = {0};
    q.tenant = r->tenant;
    q.id = id;
    if (!all_attrs) {
        q.attrs = t->x->o.attrs;
        q.n_attrs = t->x->o.n_attrs;
    }
    q.prop = (int)t->tq.prop;
    q.rel = (int)t->tq.rel;
    q.t1 = t->tq.time_at_ms;
    q.t2 = t->tq.end_time_at_ms;
    q.last_n = t->tq.last_n;
    q.max = t->max_inst;
    return q;
}

/* ------------------------------------------------------------------------------------------
 * Building one temporal entity
 * ---------------------------------------------------------------------------------------- */

/* Instances of one entity as the store hands them out: attrs {IRI: [instance]} in the internal
 * form with "instanceId" added, their times {IRI: [ms]}, and trunc {IRI: [ms]} the times where
 * the store cut an attribute (or one of its datasets) at max_inst. */
struct acc {
    struct treq *t;
    json_t *attrs, *times, *trunc;
};

static int acc_row(void *ud, const char *attr, int64_t iid, int64_t tm, const char *body,
                   size_t len, int more)
{
    struct acc *a = ud;
    if (a->t->cur_hide && pl_read_scope_attr_private(a->t->rs, a->t->cur_types, attr))
        return 0; /* issue 12: as if it had no history */
    json_t *inst = json_loadb(body, len, 0, NULL);
    if (!inst)
        return pl_err_set(&a->t->err, PL_EINTERNAL, "a stored attribute instance is corrupt");
    if (!dataset_wanted(a->t, inst)) {
        json_decref(inst);
        return 0;
    }
    char idbuf[64];
    snprintf(idbuf, sizeof idbuf, INSTANCE_PREFIX "%lld", (long long)iid);
    json_object_set_new(inst, "instanceId", json_string(idbuf));
    json_t *arr = json_object_get(a->attrs, attr), *ts = json_object_get(a->times, attr);
    if (!arr) {
        json_object_set_new(a->attrs, attr, arr = json_array());
        json_object_set_new(a->times, attr, ts = json_array());
    }
    if (json_array_append_new(arr, inst) || json_array_append_new(ts, json_integer(tm)))
        return pl_err_set(&a->t->err, PL_ENOMEM, "out of memory");
    if (more) {
        json_t *edges = json_object_get(a->trunc, attr);
        if (!edges && json_object_set_new(a->trunc, attr, edges = json_array()))
            return pl_err_set(&a->t->err, PL_ENOMEM, "out of memory");
        if (json_array_append_new(edges, json_integer(tm)))
            return pl_err_set(&a->t->err, PL_ENOMEM, "out of memory");
    }
    return 0;
}

/* The internal-form skeleton {id, type, [scope], attrs} of a temporal entity (NEW). */
static json_t *skeleton(const char *id, const char *types_text, const char *scope_text,
                        json_t *attrs)
{
    json_t *types = types_text ? json_loads(types_text, 0, NULL) : NULL;
    json_t *e = json_pack("{s:s, s:o, s:o}", "id", id, "type", types ? types : json_array(),
                          "attrs", attrs ? json_incref(attrs) : json_object());
    if (e && scope_text) {
        json_t *scope = json_loads(scope_text, 0, NULL);
        if (json_is_array(scope) && json_array_size(scope))
            json_object_set_new(e, "scope", scope);
        else
            json_decref(scope);
    }
    return e;
}

static int in_attrs(const struct treq *t, const char *iri)
{
    return pl_strv_has(t->x->o.attrs, t->x->o.n_attrs, iri);
}

/* The payload member of a rendered instance, and the 4.5.9 simplified key it goes under. */
static const char *simplified_key(const char *type, const char **member, int *wrap)
{
    *wrap = 0;
    if (!type || strcmp(type, "Property") == 0 || strcmp(type, "GeoProperty") == 0)
        return *member = "value", "values";
    if (strcmp(type, "Relationship") == 0)
        return *member = "object", "objects";
    if (strcmp(type, "LanguageProperty") == 0)
        return *wrap = 1, *member = "languageMap", "languageMaps";
    if (strcmp(type, "ListProperty") == 0)
        return *member = "valueList", "valueLists";
    if (strcmp(type, "ListRelationship") == 0)
        return *member = "objectList", "objectLists";
    if (strcmp(type, "JsonProperty") == 0)
        return *wrap = 1, *member = "json", "jsons";
    if (strcmp(type, "VocabProperty") == 0)
        return *wrap = 1, *member = "vocab", "vocabs";
    return *member = "value", "values";
}

/* The datasetId of a rendered instance (NULL: the default instance). */
static const char *dataset_of(const json_t *inst)
{
    return json_string_value(json_object_get(inst, "datasetId"));
}

static int same_ds(const char *a, const char *b)
{
    return a ? b && strcmp(a, b) == 0 : !b;
}

/* The time of a rendered instance in a simplified series: its member `tprop` (the
 * timeproperty) as the client wrote it (4.6.3: "...:00Z" stays "...:00Z"), else `ms` (from the
 * store) formatted. NEW reference. */
static json_t *instance_time(const json_t *inst, const char *tprop, const json_t *ms)
{
    json_t *given = json_object_get(inst, tprop);
    if (json_is_string(given))
        return json_incref(given);
    char iso[PL_TIME_ISO_LEN];
    pl_time_format(json_integer_value(ms), iso);
    return json_string(iso);
}

/* 4.5.9 for the rendered instances of one datasetId `ds` (NULL: the default instance):
 * {"type": kind, "<values>": [[payload, time], ...], ["datasetId": ds]}. */
static json_t *simplify_dataset(const json_t *rendered, const json_t *times, const char *tprop,
                                const char *ds)
{
    const char *type = NULL, *member, *key = NULL;
    int wrap = 0;
    json_t *vals = json_array();
    size_t i;
    const json_t *inst;
    json_array_foreach(rendered, i, inst)
    {
        if (!same_ds(dataset_of(inst), ds))
            continue;
        if (!key) {
            type = json_string_value(json_object_get(inst, "type"));
            key = simplified_key(type, &member, &wrap);
        }
        json_t *p = json_object_get(inst, member);
        p = p ? json_incref(p) : json_null();
        if (wrap)
            p = json_pack("{s:o}", member, p);
        json_array_append_new(vals,
                              json_pack("[o,o]", p, instance_time(inst, tprop, json_array_get(times, i))));
    }
    json_t *o = json_pack("{s:s, s:o}", "type", type ? type : "Property", key ? key : "values", vals);
    if (o && ds)
        json_object_set_new(o, "datasetId", json_string(ds));
    return o;
}

/* 4.5.9 with 4.5.5: one simplified object per datasetId (the default instance first, then in
 * order of first appearance); an array of them when there are several. */
static json_t *simplify(const json_t *rendered, const json_t *times, const char *tprop)
{
    const char *seen[64];
    size_t n = 0, i;
    int has_default = 0, overflow = 0;
    const json_t *inst;
    json_array_foreach(rendered, i, inst)
    {
        const char *ds = dataset_of(inst);
        if (!ds) {
            has_default = 1;
            continue;
        }
        size_t k = 0;
        while (k < n && strcmp(seen[k], ds) != 0)
            k++;
        if (k == n) {
            if (n == sizeof seen / sizeof seen[0])
                overflow = 1;
            else
                seen[n++] = ds;
        }
    }
    if (overflow) /* more datasets than we group: every instance in one series */
        return simplify_dataset(rendered, times, tprop, NULL);
    if (n + (size_t)has_default == 1)
        return simplify_dataset(rendered, times, tprop, has_default ? NULL : seen[0]);
    json_t *all = json_array();
    if (has_default)
        json_array_append_new(all, simplify_dataset(rendered, times, tprop, NULL));
    for (size_t k = 0; k < n; k++)
        json_array_append_new(all, simplify_dataset(rendered, times, tprop, seen[k]));
    return all;
}

/* A concise instance (format=concise) as a temporal instance: always an object with its payload
 * member, since instanceId is added to it ({"value": v} for a bare concise value). */
static json_t *concise_instance(json_t *rendered, const json_t *internal)
{
    const char *member;
    int wrap;
    simplified_key(json_string_value(json_object_get(internal, "type")), &member, &wrap);
    if (json_is_object(rendered) &&
        (json_object_get(rendered, member) || json_object_get(rendered, "value")))
        return json_incref(rendered);
    return json_pack("{s:O}", member, rendered);
}

/*
 * Renders `e` (internal form, borrowed) as a temporal entity: normalized or concise (4.5.6-4.5.8:
 * each attribute an array of instances with instanceId and deletedAt) or simplified (4.5.9).
 */
static int render_instances(struct treq *t, const json_t *e, const json_t *times, json_t **out)
{
    struct qreq *x = t->x;
    struct pl_render_opts o = x->o;
    int concise = x->o.format == PL_FORMAT_CONCISE && x->o.temporal == PL_TEMPORAL_NORMALIZED;
    o.format = concise ? PL_FORMAT_CONCISE : PL_FORMAT_NORMALIZED;
    o.attrs = NULL; /* already projected */
    o.n_attrs = 0;
    json_t *doc = NULL;
    int rc = pl_entity_render(x->ctx, e, &o, &doc, &t->err);
    if (rc != 0)
        return rc;
    const char *iri;
    const json_t *arr;
    json_object_foreach((json_t *)json_object_get(e, "attrs"), iri, arr)
    {
        char *owned = NULL;
        const char *key = pl_ctx_compact_borrowed(x->ctx, iri, &owned);
        json_t *v = json_object_get(doc, key);
        if (v) {
            /* the renderer gives one instance as itself, several as an array */
            json_t *a = json_array();
            size_t n = json_array_size(arr);
            for (size_t i = 0; i < n; i++) {
                json_t *ri = n == 1 ? v : json_array_get(v, i);
                const json_t *inst = json_array_get(arr, i);
                ri = concise ? concise_instance(ri, inst) : json_incref(ri);
                if (json_is_object(ri)) {
                    json_object_set(ri, "instanceId", json_object_get(inst, "instanceId"));
                    const json_t *del = json_object_get(inst, "deletedAt");
                    if (del)
                        json_object_set(ri, "deletedAt", (json_t *)del);
                }
                json_array_append_new(a, ri);
            }
            if (x->o.temporal == PL_TEMPORAL_VALUES) {
                json_object_set_new(doc, key, simplify(a, json_object_get(times, iri),
                                                       pl_timeprop_name(t->tq.prop)));
                json_decref(a);
            } else {
                json_object_set_new(doc, key, a);
            }
        }
        free(owned);
    }
    *out = doc;
    return 0;
}

/* Aggregation of one entity (4.5.19): buckets of every attribute, by attribute. */
struct bucket_rec {
    char *attr;
    struct pl_hist_bucket b;
    char *smin, *smax;
};
struct aggr_acc {
    struct treq *t;
    struct bucket_rec *v;
    size_t n, cap;
};

static int aggr_row(void *ud, const char *attr, const struct pl_hist_bucket *b)
{
    struct aggr_acc *a = ud;
    if (a->t->cur_hide && pl_read_scope_attr_private(a->t->rs, a->t->cur_types, attr))
        return 0; /* issue 12: as if it had no history */
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        struct bucket_rec *x = realloc(a->v, cap * sizeof *x);
        if (!x)
            return pl_err_set(&a->t->err, PL_ENOMEM, "out of memory");
        a->v = x;
        a->cap = cap;
    }
    struct bucket_rec *r = &a->v[a->n];
    r->attr = strdup(attr);
    r->b = *b;
    r->smin = b->smin ? strdup(b->smin) : NULL;
    r->smax = b->smax ? strdup(b->smax) : NULL;
    if (!r->attr)
        return pl_err_set(&a->t->err, PL_ENOMEM, "out of memory");
    a->n++;
    return 0;
}

static void aggr_free(struct aggr_acc *a)
{
    for (size_t i = 0; i < a->n; i++) {
        free(a->v[i].attr);
        free(a->v[i].smin);
        free(a->v[i].smax);
    }
    free(a->v);
}

#define NUMERIC_KINDS ((1u << PL_HV_NUMBER) | (1u << PL_HV_BOOL) | (1u << PL_HV_ARRAY))
#define ORDERED_KINDS (NUMERIC_KINDS | (1u << PL_HV_STRING))

/* Which methods apply to values of these kinds (4.5.19.1 tables). */
static unsigned eligible(unsigned kinds)
{
    unsigned m = PL_AGGR_TOTALCOUNT | PL_AGGR_DISTINCTCOUNT;
    if (kinds && !(kinds & ~NUMERIC_KINDS))
        m |= PL_AGGR_SUM | PL_AGGR_AVG | PL_AGGR_STDDEV | PL_AGGR_SUMSQ | PL_AGGR_MIN | PL_AGGR_MAX;
    else if (kinds && !(kinds & ~ORDERED_KINDS) && !(kinds & NUMERIC_KINDS))
        m |= PL_AGGR_MIN | PL_AGGR_MAX;
    return m;
}

static json_t *method_value(unsigned m, const struct bucket_rec *r)
{
    const struct pl_hist_bucket *b = &r->b;
    double n = (double)b->n_num;
    switch (m) {
    case PL_AGGR_TOTALCOUNT:
        return json_integer(b->n);
    case PL_AGGR_DISTINCTCOUNT:
        return json_integer(b->n_distinct);
    case PL_AGGR_SUM:
        return b->n_num ? json_real(b->sum) : json_null();
    case PL_AGGR_SUMSQ:
        return b->n_num ? json_real(b->sumsq) : json_null();
    case PL_AGGR_AVG:
        return b->n_num ? json_real(b->sum / n) : json_null();
    case PL_AGGR_STDDEV: {
        if (!b->n_num)
            return json_null();
        double mean = b->sum / n, var = b->sumsq / n - mean * mean;
        return json_real(var > 0 ? sqrt(var) : 0.0); /* population standard deviation */
    }
    case PL_AGGR_MIN:
        return b->n_num ? json_real(b->min) : r->smin ? json_string(r->smin) : json_null();
    case PL_AGGR_MAX:
        return b->n_num ? json_real(b->max) : r->smax ? json_string(r->smax) : json_null();
    }
    return json_null();
}

/* The [start, end] of a bucket (docs/temporal.md, "Aggregation buckets"). */
static void bucket_span(const struct treq *t, const struct pl_hist_aggr *ag,
                        const struct pl_hist_bucket *b, int64_t *start, int64_t *end)
{
    const struct pl_temporalq *tq = &t->tq;
    if (!ag->months && !ag->period_ms) { /* PT0S: the window itself */
        *start = tq->rel == PL_TIMEREL_AFTER || tq->rel == PL_TIMEREL_BETWEEN ? tq->time_at_ms
                                                                              : b->first_t;
        *end = tq->rel == PL_TIMEREL_BETWEEN  ? tq->end_time_at_ms
               : tq->rel == PL_TIMEREL_BEFORE ? tq->time_at_ms
                                              : b->last_t;
        return;
    }
    *start = b->start;
    /* the next bucket's start: bucket lengths lie in [28 d * months + p, 31 d * months + p] */
    int64_t probe = b->start + ag->period_ms + (int64_t)ag->months * 31 * 86400000;
    *end = pl_temporal_bucket_start(b->origin, ag->months, ag->period_ms, probe);
    if (tq->rel == PL_TIMEREL_BETWEEN && *end > tq->end_time_at_ms)
        *end = tq->end_time_at_ms;
    if (tq->rel == PL_TIMEREL_BEFORE && *end > tq->time_at_ms)
        *end = tq->time_at_ms; /* the time range ends there */
}

/* Adds the aggregated attributes of entity `id` to `doc`; *any: some attribute had values. */
static int render_aggregated(struct treq *t, const char *id, json_t *doc, int *any)
{
    struct pl_req *r = t->r;
    struct pl_hist_query q = hist_query(r, t, id, 0);
    struct pl_hist_aggr ag = {0};
    ag.months = t->tq.aggr_months;
    ag.period_ms = t->tq.aggr_period_ms;
    ag.methods = t->tq.aggr_methods;
    /* 4.5.19 periods start where the queried time range does: at timeAt (after, between), else
     * (before, no timerel) at each attribute's first instance in it */
    ag.origin_first = t->tq.rel != PL_TIMEREL_AFTER && t->tq.rel != PL_TIMEREL_BETWEEN;
    ag.origin_ms = ag.origin_first ? 0 : t->tq.time_at_ms;
    struct aggr_acc a = {t, NULL, 0, 0};
    int rc = pl_store_hist_aggregate(r->app->store, &q, &ag, aggr_row, &a, &t->err);
    *any = 0;
    for (size_t i = 0; rc == 0 && i < a.n;) {
        size_t j = i;
        unsigned kinds = 0;
        while (j < a.n && strcmp(a.v[j].attr, a.v[i].attr) == 0)
            kinds |= a.v[j++].b.kinds;
        unsigned ok = eligible(kinds), bad = t->tq.aggr_methods & ~ok;
        if (bad && in_attrs(t, a.v[i].attr)) {
            rc = pl_err_set(&t->err, PL_EINVALIDREQUEST,
                            "aggrMethods: %s does not apply to the values of '%s' (4.5.19.1)",
                            pl_aggr_method_name(bad & -bad), a.v[i].attr);
            break;
        }
        json_t *attr =
            json_pack("{s:s}", "type", kinds & (1u << PL_HV_REL) ? "Relationship" : "Property");
        for (unsigned m = 1; m <= PL_AGGR_SUMSQ; m <<= 1) {
            if (!(t->tq.aggr_methods & m & ok))
                continue;
            json_t *series = json_array();
            for (size_t k = i; k < j; k++) {
                int64_t s, e;
                bucket_span(t, &ag, &a.v[k].b, &s, &e);
                char si[PL_TIME_ISO_LEN], ei[PL_TIME_ISO_LEN];
                pl_time_format_like(s, t->time_at_text, si);
                pl_time_format_like(e, t->time_at_text, ei);
                json_array_append_new(series,
                                      json_pack("[o,s,s]", method_value(m, &a.v[k]), si, ei));
            }
            json_object_set_new(attr, pl_aggr_method_name(m), series);
        }
        char *owned = NULL;
        json_object_set_new(doc, pl_ctx_compact_borrowed(t->x->ctx, a.v[i].attr, &owned), attr);
        free(owned);
        *any = 1;
        i = j;
    }
    aggr_free(&a);
    return rc;
}

/* One selected temporal entity before rendering (members NEW, tent_free releases them). */
struct tent {
    int selected;
    json_t *e;     /* internal form, attrs projected (normalized / concise / simplified) */
    json_t *times; /* {IRI: [ms]} parallel to e.attrs */
    json_t *trunc; /* {IRI: [ms]}: where the store cut attributes at max_inst */
    json_t *doc;   /* the aggregated representation, already rendered */
};

static void tent_free(struct tent *v)
{
    json_decref(v->e);
    json_decref(v->times);
    json_decref(v->trunc);
    json_decref(v->doc);
    memset(v, 0, sizeof *v);
}

/* The attributes with instances in the window. The Scope's instances (4.5.6) are shown but do
 * not select an entity: S1 of 5.7.3.4 / 5.7.4.4 is about its Attributes (as Stellio keeps the
 * scope history beside the attribute instances). */
static size_t n_window_attrs(const json_t *attrs)
{
    return json_object_size(attrs) - (json_object_get(attrs, PL_HIST_SCOPE_ATTR) ? 1 : 0);
}

/*
 * Reads the instances of one temporal entity and decides whether it is selected (v->selected
 * 0: no instance in the window, or q / geo-query not met). Returns 0 or PL_E* (t->err).
 */
static int select_entity(struct treq *t, const char *id, const char *types_text,
                         const char *scope_text, struct tent *v)
{
    struct pl_req *r = t->r;
    struct qreq *x = t->x;
    memset(v, 0, sizeof *v);
    if (t->rs) { /* issue 12: an entity it may not read is not selected */
        json_decref(t->cur_types);
        t->cur_types = types_text ? json_loads(types_text, 0, NULL) : NULL;
        enum pl_read_level lv = pl_read_scope_level(t->rs, id, t->cur_types);
        if (lv == PL_READ_NONE)
            return 0;
        t->cur_hide = lv == PL_READ_OPEN;
    }
    int filtering = x->sq.q || x->sq.geo;
    int aggregated = x->o.temporal == PL_TEMPORAL_AGGREGATED;
    struct acc a = {t, json_object(), json_object(), json_object()};
    json_t *e = NULL;
    int rc = 0;
    if (!a.attrs || !a.times || !a.trunc)
        rc = pl_err_set(&t->err, PL_ENOMEM, "out of memory");
    if (rc == 0 && (!aggregated || filtering)) {
        /* q and the geo-query may name attributes outside the projection: read them all */
        struct pl_hist_query q = hist_query(r, t, id, filtering);
        rc = pl_store_hist_instances(r->app->store, &q, acc_row, &a, &t->err);
        if (rc == PL_ENOTFOUND) {
            pl_err_clear(&t->err);
            rc = 0;
        }
    }
    /* 4.5.6: the Scope is a temporal Property, read with the others (its instances replace the
     * plain member in the rendering); the last scope is shown plainly only for an entity whose
     * history predates its recording and when no attrs projection leaves it out */
    if (rc == 0 && !(e = skeleton(id, types_text, x->o.n_attrs ? NULL : scope_text, a.attrs)))
        rc = pl_err_set(&t->err, PL_ENOMEM, "out of memory");
    if (rc != 0)
        goto out;
    if ((!aggregated || filtering) && n_window_attrs(a.attrs) == 0)
        goto out; /* 5.7.4.4 S1: no instance in the window */
    if (x->sq.q && !pl_q_match(x->sq.q, e))
        goto out;
    if (x->sq.geo && pl_geoq_match(x->sq.geo, x->sq.geo_attr, e) <= 0)
        goto out;
    if (filtering && x->o.n_attrs) { /* back to the projection */
        json_t *attrs = json_object_get(e, "attrs");
        const char *iri;
        json_t *m;
        void *tmp;
        json_object_foreach_safe(attrs, tmp, iri, m) if (!in_attrs(t, iri))
        {
            json_object_del(a.times, iri);
            json_object_del(a.trunc, iri);
            json_object_del(attrs, iri); /* last: iri is this member's key */
        }
        if (!aggregated && n_window_attrs(attrs) == 0)
            goto out;
    }
    if (aggregated) {
        json_object_set_new(e, "attrs", json_object());
        json_t *doc = NULL;
        if ((rc = render_instances(t, e, a.times, &doc)) != 0)
            goto out;
        int any = 0;
        if ((rc = render_aggregated(t, id, doc, &any)) != 0 || !any) {
            json_decref(doc);
            goto out;
        }
        v->doc = doc;
        v->selected = 1;
        goto out;
    }
    v->selected = 1;
    v->e = json_incref(e);
    v->times = json_incref(a.times);
    v->trunc = json_incref(a.trunc);
out:
    json_decref(e);
    json_decref(a.attrs);
    json_decref(a.times);
    json_decref(a.trunc);
    return rc;
}

/* The temporal representation of a selected entity (NEW in *out). */
static int render_tent(struct treq *t, const struct tent *v, json_t **out)
{
    if (v->doc) {
        *out = json_incref(v->doc);
        return 0;
    }
    return render_instances(t, v->e, v->times, out);
}

/*
 * Temporal pagination (6.3.10). When the store cut some attribute at max_inst, the answer is one
 * page of the time range: forwards (oldest first) without lastN, backwards (newest first) with
 * it. The page ends at the cut, the earliest last time (forwards) or the latest first time
 * (backwards) of the cut attributes (per datasetId), and every attribute of every entity is clipped to it, so
 * that a next request starting at the cut misses no instance. The Content-Range bounds are those
 * of 6.3.10: range-start is timeAt (after, between) or the first returned time (before, no
 * timerel) forwards; endTimeAt (between), timeAt (before) or the latest returned time (after, no
 * timerel) backwards; range-end is the cut.
 */
static void paginate(struct treq *t, struct tent *v, size_t n)
{
    int backwards = t->tq.last_n > 0;
    int64_t cut = backwards ? INT64_MIN : INT64_MAX;
    int cut_any = 0;
    for (size_t k = 0; k < n; k++) {
        if (!v[k].selected || !v[k].trunc)
            continue;
        const char *iri;
        json_t *edges;
        json_object_foreach(v[k].trunc, iri, edges)
        {
            size_t i;
            json_t *x;
            json_array_foreach(edges, i, x)
            {
                int64_t edge = json_integer_value(x);
                if (backwards ? edge > cut : edge < cut)
                    cut = edge;
                cut_any = 1;
            }
        }
    }
    if (!cut_any)
        return;
    int64_t lo = INT64_MAX, hi = INT64_MIN; /* of the instances kept */
    for (size_t k = 0; k < n; k++) {
        if (!v[k].selected || !v[k].e)
            continue;
        json_t *attrs = json_object_get(v[k].e, "attrs");
        const char *iri;
        json_t *arr;
        void *tmp;
        json_object_foreach_safe(attrs, tmp, iri, arr)
        {
            json_t *ts = json_object_get(v[k].times, iri);
            for (size_t i = json_array_size(ts); i-- > 0;) {
                int64_t tm = json_integer_value(json_array_get(ts, i));
                if (backwards ? tm < cut : tm > cut) {
                    json_array_remove(ts, i);
                    json_array_remove(arr, i);
                    continue;
                }
                lo = tm < lo ? tm : lo;
                hi = tm > hi ? tm : hi;
            }
            if (json_array_size(arr) == 0) {
                json_object_del(v[k].times, iri);
                json_object_del(attrs, iri);
            }
        }
    }
    const struct pl_temporalq *tq = &t->tq;
    t->truncated = 1;
    t->range_end = cut;
    if (!backwards)
        t->range_start = tq->rel == PL_TIMEREL_AFTER || tq->rel == PL_TIMEREL_BETWEEN
                             ? tq->time_at_ms
                             : lo;
    else
        t->range_start = tq->rel == PL_TIMEREL_BETWEEN  ? tq->end_time_at_ms
                         : tq->rel == PL_TIMEREL_BEFORE ? tq->time_at_ms
                                                        : hi;
}

/* Content-Range (6.3.10) and the status of a temporal answer. */
static int finish_status(struct treq *t)
{
    if (!t->truncated)
        return 200;
    char lo[PL_TIME_ISO_LEN], hi[PL_TIME_ISO_LEN], v[128];
    pl_time_format(t->range_start, lo);
    pl_time_format(t->range_end, hi);
    char total[32] = "*";
    if (t->tq.last_n)
        snprintf(total, sizeof total, "%lld", (long long)t->tq.last_n);
    snprintf(v, sizeof v, "date-time %s-%s/%s", lo, hi, total);
    pl_req_add_header(t->r, "Content-Range", v);
    return 206;
}

/* ------------------------------------------------------------------------------------------
 * GET /temporal/entities/{id} (5.7.3, 6.19)
 * ---------------------------------------------------------------------------------------- */
struct one {
    int found;
    char *types, *scope;
};

static int one_entity(void *ud, const char *id, const char *types_text, const char *scope_text,
                      int64_t deleted_ms)
{
    (void)id;
    (void)deleted_ms;
    struct one *o = ud;
    o->found = 1;
    o->types = types_text ? strdup(types_text) : NULL;
    o->scope = scope_text ? strdup(scope_text) : NULL;
    return 0;
}

int pl_api_temporal_get(struct pl_req *r)
{
    const char *id = r->params[0];
    if (pl_api_entity_id_or_reply(r, id) != 0)
        return PL_HANDLER_DONE;
    struct treq *t = treq_new(r);
    struct qreq *x = t ? pl_api__qreq_new(r) : NULL;
    if (!x)
        return PL_HANDLER_DONE;
    t->x = x;
    if (pl_api_context_or_reply(r, NULL, &x->ctx) != 0)
        return PL_HANDLER_DONE;
    int local = 0;
    if (no_linked_projection_or_reply(r) != 0 || pl_api__query_get_or_reply(r, x, &local) != 0 ||
        tq_url_or_reply(r, t) != 0 || aggr_or_reply(r, t) != 0 ||
        pl_api_read_query_or_reply(r, t->rs, x->sq.q, x->sq.geo ? x->sq.geo_attr : NULL) != 0)
        return PL_HANDLER_DONE;
    const char *ids[1] = {id};
    struct one o = {0};
    int rc =
        pl_store_hist_entities(r->app->store, r->tenant, ids, 1, NULL, one_entity, &o, &t->err);
    json_t *doc = NULL;
    struct tent v = {0};
    if (rc == 0 && o.found && t->rs) { /* issue 12: what it may not read does not exist */
        json_t *types = o.types ? json_loads(o.types, 0, NULL) : NULL;
        o.found = pl_read_scope_level(t->rs, id, types) != PL_READ_NONE;
        json_decref(types);
    }
    if (rc == 0 && !o.found)
        rc = pl_err_set(&t->err, PL_ENOTFOUND, "no temporal evolution of '%s'", id);
    if (rc == 0)
        rc = select_entity(t, id, o.types, o.scope, &v);
    free(o.types);
    free(o.scope);
    /* 5.7.3.4: an entity without instances of the wanted attributes in the window is removed
     * from the result: nothing is left to answer */
    if (rc == 0 && !v.selected)
        rc = pl_err_set(&t->err, PL_ENOTFOUND,
                        "'%s' has no attribute instance that matches the request", id);
    if (rc == 0) {
        paginate(t, &v, 1);
        rc = render_tent(t, &v, &doc);
    }
    tent_free(&v);
    if (rc != 0)
        return pl_api_problem(r, &t->err);
    pl_api_reply_with_context(r, finish_status(t), doc);
    json_decref(doc);
    return PL_HANDLER_DONE;
}

/* ------------------------------------------------------------------------------------------
 * GET /temporal/entities and POST /temporal/entityOperations/query (5.7.4, 6.18, 6.24)
 * ---------------------------------------------------------------------------------------- */
struct cand {
    char *id, *types, *scope;
};
struct cands {
    struct cand *v;
    size_t n, cap;
    int nomem;
};

static int add_cand(void *ud, const char *id, const char *types_text, const char *scope_text,
                    int64_t deleted_ms)
{
    (void)deleted_ms;
    struct cands *c = ud;
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct cand *x = realloc(c->v, cap * sizeof *x);
        if (!x)
            return c->nomem = 1, PL_ENOMEM;
        c->v = x;
        c->cap = cap;
    }
    struct cand *k = &c->v[c->n++];
    k->id = strdup(id);
    k->types = types_text ? strdup(types_text) : NULL;
    k->scope = scope_text ? strdup(scope_text) : NULL;
    return 0;
}

static void free_cands(struct cands *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->v[i].id);
        free(c->v[i].types);
        free(c->v[i].scope);
    }
    free(c->v);
}

static int sel_match(const char *id, const json_t *types, const char *const *ids, size_t n_ids,
                     const void *re, const struct pl_typesel *ts)
{
    if (n_ids && !pl_strv_has(ids, n_ids, id))
        return 0;
    if (re && regexec((const regex_t *)re, id, 0, NULL, 0) != 0)
        return 0;
    if (ts && !pl_typesel_match(ts, types))
        return 0;
    return 1;
}

/* Whether a candidate meets the entity-level filters (ids, idPattern, type, scopeQ). */
static int cand_match(const struct qreq *x, const struct cand *c)
{
    json_t *types = c->types ? json_loads(c->types, 0, NULL) : NULL;
    int ok = sel_match(c->id, types, x->sq.ids, x->sq.n_ids, x->sq.id_regex, x->sq.types);
    if (ok && x->sq.n_sels) {
        ok = 0;
        for (size_t i = 0; i < x->sq.n_sels && !ok; i++) {
            const struct pl_store_selector *s = &x->sq.sels[i];
            ok = sel_match(c->id, types, s->ids, s->n_ids, s->id_regex, s->types);
        }
    }
    if (ok && x->sq.scope) {
        json_t *scope = c->scope ? json_loads(c->scope, 0, NULL) : NULL;
        ok = scope && pl_scopeq_match(x->sq.scope, scope);
        json_decref(scope);
    }
    json_decref(types);
    return ok;
}

static int cand_id_asc(const void *a, const void *b)
{
    return strcmp(((const struct cand *)a)->id, ((const struct cand *)b)->id);
}

static int cand_id_desc(const void *a, const void *b)
{
    return -cand_id_asc(a, b);
}

static int run_query(struct pl_req *r, struct treq *t)
{
    struct qreq *x = t->x;
    if (t->tq.rel == PL_TIMEREL_NONE)
        return pl_reply_error(r, PL_EBADREQUESTDATA,
                              "a temporal query needs timerel and timeAt (5.7.4.4)");
    if (aggr_or_reply(r, t) != 0 || pl_api__tenant_or_reply(r) != 0 ||
        pl_api_read_query_or_reply(r, t->rs, x->sq.q, x->sq.geo ? x->sq.geo_attr : NULL) != 0)
        return PL_HANDLER_DONE;
    int desc = 0;
    if (x->order && !pl_order_is_id_only(x->order, &desc))
        return pl_reply_error(r, PL_EBADREQUESTDATA,
                              "the temporal API orders entities by id only (6.18.3.2)");
    struct cands c = {0};
    int rc = pl_store_hist_entities(r->app->store, r->tenant, x->sq.ids, x->sq.n_ids, NULL,
                                    add_cand, &c, &t->err);
    if (rc == 0 && x->order) /* 4.23: by id, byte order as Query Entities orders ids */
        qsort(c.v, c.n, sizeof *c.v, desc ? cand_id_desc : cand_id_asc);
    json_t *list = json_array();
    int64_t matched = 0, want = x->sq.limit, off = x->sq.offset;
    /* the page's entities, kept until the page is complete: pagination clips them together */
    struct tent *page = calloc(want > 0 ? (size_t)want : 1, sizeof *page);
    size_t n_page = 0;
    if (!page || !list)
        rc = pl_err_set(&t->err, PL_ENOMEM, "out of memory");
    for (size_t i = 0; rc == 0 && i < c.n; i++) {
        if (!cand_match(x, &c.v[i]))
            continue;
        if (!x->sq.count && matched >= off + want + 1)
            break; /* enough to know a next page exists */
        struct tent v;
        rc = select_entity(t, c.v[i].id, c.v[i].types, c.v[i].scope, &v);
        if (rc == 0 && v.selected) {
            if (matched >= off && matched < off + want)
                page[n_page++] = v; /* kept */
            else
                tent_free(&v); /* outside the page: only whether it is selected */
            matched++;
        } else {
            tent_free(&v);
        }
    }
    if (rc == 0)
        paginate(t, page, n_page);
    for (size_t k = 0; k < n_page; k++) {
        json_t *doc = NULL;
        if (rc == 0 && (rc = render_tent(t, &page[k], &doc)) == 0)
            json_array_append_new(list, doc);
        tent_free(&page[k]);
    }
    free(page);
    if (c.nomem && rc == 0)
        rc = pl_err_set(&t->err, PL_ENOMEM, "out of memory");
    free_cands(&c);
    if (rc != 0) {
        json_decref(list);
        return pl_api_problem(r, &t->err);
    }
    if (x->sq.count) {
        char n[32];
        snprintf(n, sizeof n, "%lld", (long long)matched);
        pl_req_add_header(r, "NGSILD-Results-Count", n);
    }
    if (want > 0 && matched > off + want)
        pl_api__add_page_link(r, off + want, want, "next");
    if (want > 0 && off > 0)
        pl_api__add_page_link(r, off > want ? off - want : 0, want, "prev");
    pl_api_reply_with_context(r, finish_status(t), list);
    json_decref(list);
    return PL_HANDLER_DONE;
}

int pl_api_temporal_query(struct pl_req *r)
{
    struct treq *t = treq_new(r);
    struct qreq *x = t ? pl_api__qreq_new(r) : NULL;
    if (!x)
        return PL_HANDLER_DONE;
    t->x = x;
    if (pl_api_context_or_reply(r, NULL, &x->ctx) != 0)
        return PL_HANDLER_DONE;
    int local = 0;
    if (no_linked_projection_or_reply(r) != 0 || pl_api__query_get_or_reply(r, x, &local) != 0 ||
        tq_url_or_reply(r, t) != 0 || pl_api__too_wide_or_reply(r, x, local) != 0)
        return PL_HANDLER_DONE;
    return run_query(r, t);
}

int pl_api_temporal_query_post(struct pl_req *r)
{
    struct treq *t = treq_new(r);
    struct qreq *x = t ? pl_api__qreq_new(r) : NULL;
    if (!x)
        return PL_HANDLER_DONE;
    t->x = x;
    json_t *body;
    if (pl_api_body_or_reply(r, 1, &body) != 0 || pl_api_context_or_reply(r, body, &x->ctx) != 0)
        return PL_HANDLER_DONE;
    int local = 0;
    if (pl_api__query_post_or_reply(r, x, body, &local) != 0)
        return PL_HANDLER_DONE;
    /* 5.2.23 temporalQ, plus (6.24) aggrMethods / aggrPeriodDuration beside it or inside */
    const json_t *tq = json_object_get(body, "temporalQ");
    json_t *merged = json_is_object(tq) ? json_copy((json_t *)tq) : NULL;
    if (merged) {
        const char *k[] = {"aggrMethods", "aggrPeriodDuration"};
        for (int i = 0; i < 2; i++)
            if (!json_object_get(merged, k[i]) && json_object_get(body, k[i]))
                json_object_set(merged, k[i], json_object_get(body, k[i]));
    }
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_temporalq_from_json(merged ? merged : tq, &t->tq, &err);
    json_decref(merged);
    t->time_at_text = json_string_value(json_object_get(tq, "timeAt")); /* body: the request's */
    if (rc != 0)
        return pl_reply_problem(r, &err);
    if (pl_api__too_wide_or_reply(r, x, local) != 0)
        return PL_HANDLER_DONE;
    return run_query(r, t);
}

/* ------------------------------------------------------------------------------------------
 * Writes: POST /temporal/entities, POST .../attrs, DELETE, PATCH / DELETE of instances
 * ---------------------------------------------------------------------------------------- */

/* The attributes of a temporal payload (each an instance or an array of instances) parsed into
 * {"attrs": {IRI: [instance...]}} (NEW). Members in `skip` are not attributes. */
static int temporal_attrs_or_reply(struct pl_req *r, const struct pl_ctx *ctx, const json_t *body,
                                   json_t **out)
{
    json_t *attrs = json_object();
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)body, k, v)
    {
        if (strcmp(k, "id") == 0 || strcmp(k, "type") == 0 || strcmp(k, "scope") == 0 ||
            strcmp(k, "@context") == 0)
            continue;
        size_t n = json_is_array(v) ? json_array_size(v) : 1;
        if (n == 0) {
            json_decref(attrs);
            return pl_reply_error(r, PL_EBADREQUESTDATA, "attribute '%.200s' has no instance", k),
                   -1;
        }
        for (size_t i = 0; i < n; i++) {
            const json_t *inst = json_is_array(v) ? json_array_get(v, i) : v;
            json_t *copy =
                json_is_object(inst) ? json_copy((json_t *)inst) : json_incref((json_t *)inst);
            if (json_is_object(copy)) { /* members the store sets itself */
                json_object_del(copy, "instanceId");
                json_object_del(copy, "createdAt");
                json_object_del(copy, "modifiedAt");
                json_object_del(copy, "deletedAt");
            }
            json_t *frag = json_pack("{s:o}", k, copy), *parsed = NULL;
            struct pl_err err;
            pl_err_clear(&err);
            int rc = frag ? pl_entity_parse(ctx, frag, PL_PARSE_FRAGMENT, 0, &r->app->limits,
                                            &parsed, &err)
                          : pl_err_set(&err, PL_ENOMEM, "out of memory");
            json_decref(frag);
            if (rc != 0) {
                json_decref(attrs);
                pl_reply_problem(r, &err);
                return -1;
            }
            const char *iri;
            json_t *arr;
            json_object_foreach(json_object_get(parsed, "attrs"), iri, arr)
            {
                json_t *acc = json_object_get(attrs, iri);
                if (!acc)
                    json_object_set_new(attrs, iri, acc = json_array());
                json_array_extend(acc, arr);
            }
            json_decref(parsed);
        }
    }
    *out = json_pack("{s:o}", "attrs", attrs);
    return 0;
}

/* The recorded types of temporal entity `id` into *types (a NEW reference released with the
 * request; NULL when it has no history). Read when the request names types (union_types) or
 * authorization needs them; otherwise *types is NULL and *read 0. The read is a snapshot: two
 * concurrent upserts naming new types may keep one; a write racing a temporal write may change
 * what the decision saw (temporal writes are not revision-checked). */
static int temporal_head(struct pl_req *r, const char *id, const json_t *types, json_t **out,
                         struct pl_err *err)
{
    *out = NULL;
    if (!json_array_size(types) && !r->principal)
        return 0;
    const char *ids[1] = {id};
    struct one o = {0};
    int rc = pl_store_hist_entities(r->app->store, r->tenant, ids, 1, NULL, one_entity, &o, err);
    if (rc == 0 && o.found) {
        *out = o.types ? json_loads(o.types, 0, NULL) : NULL;
        if (!json_is_array(*out)) {
            json_decref(*out);
            *out = json_array();
        }
        pl_req_defer_decref(r, *out);
    }
    free(o.types);
    free(o.scope);
    return rc;
}

/* Issue 12: may the principal do `a` to temporal entity `id`, whose recorded types are
 * `recorded` (NULL: it has no history; then only a CREATE is decided, on `after`, and the
 * other actions are left to the store's ResourceNotFound) and become `after` (NULL: the
 * same)? 0, or -1 after answering 401/403. */
static int temporal_authz_or_reply(struct pl_req *r, const char *id, enum pl_authz_action a,
                                   const json_t *recorded, const json_t *after)
{
    if (!r->principal || (!recorded && a != PL_AUTHZ_CREATE))
        return 0;
    char owner[PL_STORE_OWNER_MAX] = "";
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_authz_needs_owner(r->principal))
        (void)pl_store_entity_owner(r->app->store, r->tenant, id, owner, sizeof owner, &err);
    struct pl_authz_target t = {id, recorded ? recorded : after, recorded ? after : NULL,
                                owner[0] ? owner : NULL};
    if (pl_authz_check(r->principal, r->tenant, a, &t, &err) == 0)
        return 0;
    pl_api_deny(r, &err);
    return -1;
}

/* Issue 12: editing or deleting history is a DELETE of the temporal entity (auth/authz.h). */
static int history_edit_authz_or_reply(struct pl_req *r, const char *id)
{
    if (!r->principal)
        return 0;
    json_t *recorded;
    struct pl_err err;
    pl_err_clear(&err);
    if (temporal_head(r, id, NULL, &recorded, &err) != 0) {
        pl_api_problem(r, &err);
        return -1;
    }
    return temporal_authz_or_reply(r, id, PL_AUTHZ_DELETE, recorded, NULL);
}

/* 5.6.11.4, 5.6.12.4: types the request names that the temporal entity lacks are added to its
 * types. Sets frag's "type" to the union of the recorded types (`recorded`, NULL: none) and
 * `types` (borrowed; NULL: none given). */
static int union_types(const json_t *recorded, const json_t *types, json_t *frag,
                       struct pl_err *err)
{
    if (!json_array_size(types))
        return 0;
    json_t *all = recorded ? json_copy((json_t *)recorded) : json_array();
    size_t i, j;
    const json_t *t, *u;
    json_array_foreach(types, i, t)
    {
        int seen = 0;
        json_array_foreach(all, j, u) seen |= json_equal((json_t *)t, (json_t *)u);
        if (!seen)
            json_array_append(all, (json_t *)t);
    }
    if (!all || json_object_set_new(frag, "type", all))
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    return 0;
}

/* POST /temporal/entities (5.6.11, 6.18.3.1) */
int pl_api_temporal_create(struct pl_req *r)
{
    json_t *body;
    struct pl_ctx *ctx;
    if (pl_api_body_or_reply(r, 1, &body) != 0 || pl_api_context_or_reply(r, body, &ctx) != 0)
        return PL_HANDLER_DONE;
    /* id, type and scope as an entity without attributes validates and expands them */
    json_t *head = json_object();
    const char *m[] = {"id", "type", "scope"};
    for (int i = 0; i < 3; i++)
        if (json_object_get(body, m[i]))
            json_object_set(head, m[i], json_object_get(body, m[i]));
    json_t *ent = NULL, *frag = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_entity_parse(ctx, head, PL_PARSE_ENTITY, 0, &r->app->limits, &ent, &err);
    json_decref(head);
    if (rc != 0)
        return pl_reply_problem(r, &err);
    pl_req_defer_decref(r, ent);
    if (temporal_attrs_or_reply(r, ctx, body, &frag) != 0)
        return PL_HANDLER_DONE;
    pl_req_defer_decref(r, frag);
    if (json_object_get(ent, "scope"))
        json_object_set(frag, "scope", json_object_get(ent, "scope"));
    const char *id = json_string_value(json_object_get(ent, "id"));
    int created = 0;
    json_t *recorded;
    if (temporal_head(r, id, json_object_get(ent, "type"), &recorded, &err) != 0 ||
        union_types(recorded, json_object_get(ent, "type"), frag, &err) != 0)
        return pl_api_problem(r, &err);
    if (temporal_authz_or_reply(r, id, recorded ? PL_AUTHZ_UPDATE : PL_AUTHZ_CREATE, recorded,
                                recorded ? json_object_get(frag, "type")
                                         : json_object_get(ent, "type")) != 0)
        return PL_HANDLER_DONE;
    if (pl_store_hist_add(r->app->store, r->tenant, id, frag, 0, &created, &err) != 0)
        return pl_api_problem(r, &err);
    /* Issue 12: a new temporal entity is owned by its creator, unless the entity of that id
     * has an owner already (it existed without history). */
    const char *owner = created ? pl_api_owner_key(r) : NULL;
    char had[PL_STORE_OWNER_MAX];
    if (owner && pl_store_entity_owner(r->app->store, r->tenant, id, had, sizeof had, &err) ==
                     PL_ENOTFOUND &&
        pl_store_entity_owner_set(r->app->store, r->tenant, id, owner, &err) != 0)
        return pl_api_problem(r, &err);
    if (!created) {
        pl_reply_empty(r, 204);
        return PL_HANDLER_DONE;
    }
    return pl_api_reply_created(r, "/ngsi-ld/v1/temporal/entities/", id);
}

/* POST /temporal/entities/{id}/attrs (5.6.12, 6.20.3.1) */
int pl_api_temporal_attrs_add(struct pl_req *r)
{
    const char *id = r->params[0];
    json_t *body, *frag = NULL;
    struct pl_ctx *ctx;
    if (pl_api_entity_id_or_reply(r, id) != 0 || pl_api_body_or_reply(r, 1, &body) != 0 ||
        pl_api_context_or_reply(r, body, &ctx) != 0 ||
        temporal_attrs_or_reply(r, ctx, body, &frag) != 0)
        return PL_HANDLER_DONE;
    pl_req_defer_decref(r, frag);
    struct pl_err err;
    pl_err_clear(&err);
    json_t *head = NULL;
    if (json_object_get(body, "type")) { /* expanded as an entity fragment's type */
        json_t *t = json_pack("{s:O}", "type", json_object_get(body, "type"));
        int prc = t ? pl_entity_parse(ctx, t, PL_PARSE_FRAGMENT, 0, &r->app->limits, &head, &err)
                    : pl_err_set(&err, PL_ENOMEM, "out of memory");
        json_decref(t);
        if (prc != 0)
            return pl_reply_problem(r, &err);
        pl_req_defer_decref(r, head);
    }
    int created = 0;
    json_t *recorded;
    if (temporal_head(r, id, json_object_get(head, "type"), &recorded, &err) != 0 ||
        union_types(recorded, json_object_get(head, "type"), frag, &err) != 0)
        return pl_api_problem(r, &err);
    if (temporal_authz_or_reply(r, id, PL_AUTHZ_UPDATE, recorded, json_object_get(frag, "type")))
        return PL_HANDLER_DONE;
    if (pl_store_hist_add(r->app->store, r->tenant, id, frag, 1, &created, &err) != 0)
        return pl_api_problem(r, &err);
    pl_reply_empty(r, 204);
    return PL_HANDLER_DONE;
}

/* DELETE /temporal/entities/{id} (5.6.16, 6.19.3.2) */
int pl_api_temporal_delete(struct pl_req *r)
{
    const char *id = r->params[0];
    if (pl_api_entity_id_or_reply(r, id) != 0)
        return PL_HANDLER_DONE;
    struct pl_hist_del d = {.id = id};
    struct pl_err err;
    pl_err_clear(&err);
    if (history_edit_authz_or_reply(r, id) != 0)
        return PL_HANDLER_DONE;
    if (pl_store_hist_delete(r->app->store, r->tenant, &d, &err) != 0)
        return pl_api_problem(r, &err);
    /* Issue 12: a temporal entity gone without a current entity has no owner any more (a new
     * one of that id belongs to whoever creates it). */
    if (pl_store_entity_owner_set(r->app->store, r->tenant, id, NULL, &err) != 0)
        return pl_api_problem(r, &err);
    pl_reply_empty(r, 204);
    return PL_HANDLER_DONE;
}

/* The expanded attribute name of params[1]; NULL after answering. */
static const char *attr_iri_or_reply(struct pl_req *r, struct pl_ctx **ctx)
{
    if (pl_api_context_or_reply(r, NULL, ctx) != 0)
        return NULL;
    const char *name = r->params[1];
    char *iri = (pl_is_valid_name(name) || pl_is_uri(name)) && !pl_is_reserved_attr_name(name)
                    ? pl_ctx_expand(*ctx, name)
                    : NULL;
    if (!iri) {
        pl_reply_error(r, PL_EBADREQUESTDATA, "invalid attribute name '%.200s'", name);
        return NULL;
    }
    pl_req_defer_free(r, iri);
    return iri;
}

/* DELETE /temporal/entities/{id}/attrs/{attrId} (5.6.13, 6.21.3.1) */
int pl_api_temporal_attr_delete(struct pl_req *r)
{
    const char *id = r->params[0];
    struct pl_ctx *ctx;
    const char *iri;
    if (pl_api_entity_id_or_reply(r, id) != 0 || !(iri = attr_iri_or_reply(r, &ctx)))
        return PL_HANDLER_DONE;
    struct pl_hist_del d = {.id = id, .attr = iri};
    const char *all = pl_req_arg(r, "deleteAll");
    if (all && strcmp(all, "true") != 0 && strcmp(all, "false") != 0)
        return pl_reply_error(r, PL_EBADREQUESTDATA, "deleteAll must be true or false");
    d.all_datasets = all && strcmp(all, "true") == 0;
    d.dataset_id = pl_req_arg(r, "datasetId");
    if (d.dataset_id && !pl_is_uri(d.dataset_id))
        return pl_reply_error(r, PL_EBADREQUESTDATA, "datasetId '%.200s' is not a URI",
                              d.dataset_id);
    struct pl_err err;
    pl_err_clear(&err);
    if (history_edit_authz_or_reply(r, id) != 0)
        return PL_HANDLER_DONE;
    if (pl_store_hist_delete(r->app->store, r->tenant, &d, &err) != 0)
        return pl_api_problem(r, &err);
    pl_reply_empty(r, 204);
    return PL_HANDLER_DONE;
}

/* The number of an instanceId from the path: 0 after answering (400 not a URI, 404 not ours). */
static int64_t iid_or_reply(struct pl_req *r)
{
    const char *s = r->params[2];
    if (!pl_is_uri(s))
        return pl_reply_error(r, PL_EBADREQUESTDATA, "instanceId '%.200s' is not a URI", s), 0;
    size_t n = strlen(INSTANCE_PREFIX);
    char *end = NULL;
    long long v = strncmp(s, INSTANCE_PREFIX, n) == 0 && s[n] >= '0' && s[n] <= '9'
                      ? strtoll(s + n, &end, 10)
                      : 0;
    if (v <= 0 || !end || *end)
        return pl_reply_error(r, PL_ENOTFOUND, "no attribute instance '%.200s'", s), 0;
    return v;
}

/* PATCH /temporal/entities/{id}/attrs/{attrId}/{instanceId} (5.6.14, 6.22.3.1): the body is
 * the attribute fragment {"<attrId>": instance} or the instance itself. */
int pl_api_temporal_instance_patch(struct pl_req *r)
{
    const char *id = r->params[0];
    struct pl_ctx *ctx;
    const char *iri;
    json_t *body;
    int64_t iid;
    if (pl_api_entity_id_or_reply(r, id) != 0 || pl_api_body_or_reply(r, 1, &body) != 0 ||
        !(iri = attr_iri_or_reply(r, &ctx)) || !(iid = iid_or_reply(r)))
        return PL_HANDLER_DONE;
    json_t *inst = json_object_get(body, r->params[1]);
    if (!inst && json_object_size(body) == 1 && !json_object_get(body, "value") &&
        !json_object_get(body, "object") && !json_object_get(body, "type"))
        inst = json_object_iter_value(json_object_iter(body)); /* named by its expanded form */
    if (!inst)
        inst = body;
    if (json_is_array(inst) && json_array_size(inst) == 1)
        inst = json_array_get(inst, 0);
    json_t *copy = json_is_object(inst) ? json_copy(inst) : json_incref(inst);
    if (json_is_object(copy)) {
        json_object_del(copy, "instanceId");
        json_object_del(copy, "@context");
    }
    json_t *parsed = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc =
        pl_entity_parse(ctx, copy, PL_PARSE_ATTR, PL_PARSE_PARTIAL, &r->app->limits, &parsed, &err);
    json_decref(copy);
    if (rc != 0)
        return pl_reply_problem(r, &err);
    pl_req_defer_decref(r, parsed);
    const json_t *one = json_array_get(json_object_get(parsed, "instances"), 0);
    if (!one || json_array_size(json_object_get(parsed, "instances")) != 1)
        return pl_reply_error(r, PL_EBADREQUESTDATA, "give exactly one attribute instance");
    if (history_edit_authz_or_reply(r, id) != 0)
        return PL_HANDLER_DONE;
    if (pl_store_hist_patch(r->app->store, r->tenant, id, iri, iid, one, &err) != 0)
        return pl_api_problem(r, &err);
    pl_reply_empty(r, 204);
    return PL_HANDLER_DONE;
}

/* DELETE /temporal/entities/{id}/attrs/{attrId}/{instanceId} (5.6.15, 6.22.3.2) */
int pl_api_temporal_instance_delete(struct pl_req *r)
{
    const char *id = r->params[0];
    struct pl_ctx *ctx;
    const char *iri;
    int64_t iid;
    if (pl_api_entity_id_or_reply(r, id) != 0 || !(iri = attr_iri_or_reply(r, &ctx)) ||
        !(iid = iid_or_reply(r)))
        return PL_HANDLER_DONE;
    struct pl_hist_del d = {.id = id, .attr = iri, .iid = iid};
    struct pl_err err;
    pl_err_clear(&err);
    if (history_edit_authz_or_reply(r, id) != 0)
        return PL_HANDLER_DONE;
    if (pl_store_hist_delete(r->app->store, r->tenant, &d, &err) != 0)
        return pl_api_problem(r, &err);
    pl_reply_empty(r, 204);
    return PL_HANDLER_DONE;
}
