/* SPDX-License-Identifier: Apache-2.0 */
/* readscope.c — the read rule of issue 12 for the API readers (api/readscope.h). */
#include "api/readscope.h"

#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "app/app.h"
#include "base/log.h"
#include "query/q.h"
#include "store/store.h"

static void scope_release(void *p)
{
    pl_read_scope_dispose(p);
    free(p);
}

/* Reads nothing: what a request whose scope cannot be made gets (never everything). */
static const struct pl_read_scope nothing = {0};

/* An enterprise's entity is its own when the store recorded its owner key (authorization). */
static int owned_in_store(void *ud, const char *tenant, const char *id, const char *owner)
{
    char buf[PL_STORE_OWNER_MAX];
    struct pl_err err;
    pl_err_clear(&err);
    return pl_store_entity_owner(ud, tenant, id, buf, sizeof buf, &err) == 0 &&
           strcmp(buf, owner) == 0;
}

const struct pl_read_scope *pl_api_read_scope(struct pl_req *r)
{
    if (!r->principal)
        return NULL; /* auth off */
    struct pl_read_scope *s = malloc(sizeof *s);
    if (!s) {
        pl_log_warn("read scope: out of memory; the request reads nothing");
        return &nothing;
    }
    pl_read_scope_init(s, r->app->read_policies, r->principal, r->tenant);
    s->is_owner = owned_in_store;
    s->is_owner_ud = r->app->store;
    if (s->all) {
        pl_read_scope_dispose(s);
        free(s);
        return NULL;
    }
    if (pl_req_defer(r, scope_release, s) != 0)
        return &nothing; /* s is leaked by pl_req_defer's contract, never used freed */
    return s;
}

static const char *q_private_name(const struct pl_read_scope *rs, const struct pl_q_node *n)
{
    if (!n)
        return NULL;
    if (n->kind == PL_Q_TERM) {
        const struct pl_q_term *t = &n->term;
        const char *a = t->n_path ? (t->path_iri ? t->path_iri[0] : t->path[0]) : NULL;
        return a && pl_read_scope_attr_private_any(rs, a) ? t->path[0] : NULL;
    }
    for (size_t i = 0; i < n->n_kids; i++) {
        const char *z = q_private_name(rs, n->kids[i]);
        if (z)
            return z;
    }
    return NULL;
}

int pl_api_read_query_or_reply(struct pl_req *r, const struct pl_read_scope *rs,
                               const struct pl_q_node *q, const char *geo_attr)
{
    if (!pl_read_scope_has_private(rs))
        return 0;
    const char *z = q_private_name(rs, q);
    if (!z && geo_attr && pl_read_scope_attr_private_any(rs, geo_attr))
        z = geo_attr;
    if (!z)
        return 0;
    pl_reply_error(r, PL_EFORBIDDEN,
                   "'%.200s' is a private attribute of this tenant: a query cannot filter on it",
                   z);
    return -1;
}

size_t pl_api_read_attrs_filter(struct pl_req *r, const struct pl_read_scope *rs,
                                const char *const **attrs, size_t n)
{
    if (!pl_read_scope_has_private(rs) || n == 0)
        return n;
    const char **kept = calloc(n, sizeof *kept);
    if (!kept) {
        *attrs = NULL;
        return 0; /* out of memory: filters on nothing (an empty list: see the caller) */
    }
    pl_req_defer_free(r, kept);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!pl_read_scope_attr_private_any(rs, (*attrs)[i]))
            kept[k++] = (*attrs)[i];
    *attrs = kept;
    return k;
}

json_t *pl_api_read_types(const struct pl_read_scope *rs, const json_t *types)
{
    json_t *out = json_array();
    size_t i;
    const json_t *t;
    json_array_foreach(types, i, t)
    {
        const char *iri = json_string_value(json_object_get(t, "type"));
        if (!out || !pl_read_scope_type_open(rs, iri))
            continue;
        json_t *copy = json_deep_copy(t);
        json_t *tv = json_pack("[s]", iri);
        json_t *attrs = json_object_get(copy, "attrs"), *counts = json_object_get(copy,
                                                                                 "attrCounts");
        const char *a;
        json_t *v;
        void *tmp;
        json_object_foreach_safe(attrs, tmp, a, v)
        {
            if (pl_read_scope_attr_private(rs, tv, a)) {
                json_object_del(counts, a);
                json_object_del(attrs, a); /* last: `a` is this member's key */
            }
        }
        json_decref(tv);
        json_array_append_new(out, copy);
    }
    return out;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int has_string(const json_t *a, const char *z)
{
    size_t i;
    const json_t *v;
    json_array_foreach(a, i, v) if (strcmp(json_string_value(v), z) == 0) return 1;
    return 0;
}

json_t *pl_api_read_attrs(const struct pl_read_scope *rs, const json_t *types)
{
    json_t *readable = pl_api_read_types(rs, types);
    json_t *by_attr = json_object();
    size_t i;
    const json_t *t;
    json_array_foreach(readable, i, t)
    {
        const char *tiri = json_string_value(json_object_get(t, "type"));
        const json_t *counts = json_object_get(t, "attrCounts");
        const char *a;
        json_t *kinds;
        json_object_foreach(json_object_get(t, "attrs"), a, kinds)
        {
            json_t *ai = json_object_get(by_attr, a);
            if (!ai) {
                ai = json_pack("{s:s,s:I,s:[],s:[]}", "attr", a, "count", (json_int_t)0, "types",
                               "kinds");
                if (!ai || json_object_set_new(by_attr, a, ai) != 0)
                    continue;
            }
            json_int_t n = json_integer_value(json_object_get(ai, "count")) +
                           json_integer_value(json_object_get(counts, a));
            json_object_set_new(ai, "count", json_integer(n));
            json_array_append_new(json_object_get(ai, "types"), json_string(tiri));
            size_t k;
            json_t *kind;
            json_array_foreach(kinds, k, kind)
            {
                if (!has_string(json_object_get(ai, "kinds"), json_string_value(kind)))
                    json_array_append(json_object_get(ai, "kinds"), kind);
            }
        }
    }
    json_decref(readable);
    /* in IRI order, as the store lists attributes */
    size_t n = json_object_size(by_attr), k = 0;
    const char **keys = calloc(n ? n : 1, sizeof *keys);
    json_t *out = json_array();
    const char *a;
    json_t *ai;
    json_object_foreach(by_attr, a, ai) if (keys) keys[k++] = a;
    if (keys)
        qsort(keys, k, sizeof *keys, cmp_str);
    for (size_t j = 0; keys && j < k; j++)
        json_array_append(out, json_object_get(by_attr, keys[j]));
    free(keys);
    json_decref(by_attr);
    if (!keys) {
        json_decref(out);
        return NULL;
    }
    return out;
}
