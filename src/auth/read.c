/* SPDX-License-Identifier: Apache-2.0 */
/*
 * read.c — the tenants' read policies (validation, compilation, the in-memory cache) and the
 * read scope of a principal (auth/read.h).
 */
#include "auth/read.h"

#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "auth/authz.h"
#include "base/hmap.h"
#include "base/log.h"
#include "ngsild/entity.h"

/* One configured name. Matched with the authorization part's type-grant rule
 * (pl_authz_type_granted), so that a policy and a grant read a name the same way. */
struct rp_name {
    char *text;
};

struct rp_private {
    struct rp_name attr;
    struct rp_name type; /* text NULL: every type */
};

struct pl_read_policy {
    _Atomic int refs;
    json_t *doc; /* normalized document (owned) */
    struct rp_name *open;
    size_t n_open;
    struct rp_private *priv;
    size_t n_priv;
};

struct pl_read_policies {
    struct pl_store *store;    /* borrowed */
    pthread_rwlock_t lock;     /* protects `by_tenant` */
    pthread_mutex_t put_mu;    /* one PUT at a time: store order = cache order */
    struct pl_hmap *by_tenant; /* tenant -> struct pl_read_policy * (one reference each) */
};

static int name_match(const struct rp_name *n, const char *iri)
{
    return pl_authz_type_granted(n->text, iri);
}

static int name_init(struct rp_name *n, const char *text)
{
    n->text = strdup(text);
    return n->text ? 0 : PL_ENOMEM;
}

static void name_free(struct rp_name *n)
{
    free(n->text);
}

/* ------------------------------------------------------------------------------------------
 * Policy documents
 * ---------------------------------------------------------------------------------------- */
struct pl_read_policy *pl_read_policy_ref(struct pl_read_policy *p)
{
    if (p)
        atomic_fetch_add(&p->refs, 1);
    return p;
}

void pl_read_policy_unref(struct pl_read_policy *p)
{
    if (!p || atomic_fetch_sub(&p->refs, 1) != 1)
        return;
    for (size_t i = 0; i < p->n_open; i++)
        name_free(&p->open[i]);
    for (size_t i = 0; i < p->n_priv; i++) {
        name_free(&p->priv[i].attr);
        name_free(&p->priv[i].type);
    }
    free(p->open);
    free(p->priv);
    json_decref(p->doc);
    free(p);
}

const json_t *pl_read_policy_doc(const struct pl_read_policy *p)
{
    return p ? p->doc : NULL;
}

/* A name of the policy: an NGSI-LD name (4.6.2) or a URI, of bounded length. */
static int name_ok(const json_t *v)
{
    const char *z = json_string_value(v);
    return z && *z && strlen(z) <= PL_READ_POLICY_MAX_NAME && (pl_is_valid_name(z) || pl_is_uri(z));
}

static int check_names(const json_t *a, const char *what, size_t *total, struct pl_err *err)
{
    if (!json_is_array(a))
        return pl_err_set(err, PL_EBADREQUESTDATA, "%s must be an array of names", what);
    size_t i;
    const json_t *v;
    json_array_foreach(a, i, v)
    {
        if (!name_ok(v))
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "%s[%zu] is not an entity type or attribute name (a term or a URI "
                              "of at most %d bytes)",
                              what, i, PL_READ_POLICY_MAX_NAME);
        if (++*total > PL_READ_POLICY_MAX_NAMES)
            return pl_err_set(err, PL_EBADREQUESTDATA, "a read policy names at most %d names",
                              PL_READ_POLICY_MAX_NAMES);
    }
    return 0;
}

/* Checks the document's shape (everything the compilation relies on). */
static int policy_check(const json_t *doc, struct pl_err *err)
{
    if (!json_is_object(doc))
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "a read policy is a JSON object {\"openTypes\": [...], "
                          "\"privateAttributes\": [...]}");
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)doc, k, v)
    {
        if (strcmp(k, "openTypes") != 0 && strcmp(k, "privateAttributes") != 0)
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "unknown member '%.100s' (a read policy has openTypes and "
                              "privateAttributes)",
                              k);
    }
    size_t total = 0;
    const json_t *open = json_object_get(doc, "openTypes");
    if (open && check_names(open, "openTypes", &total, err) != 0)
        return err->code;
    const json_t *priv = json_object_get(doc, "privateAttributes");
    if (!priv)
        return 0;
    if (!json_is_array(priv))
        return pl_err_set(err, PL_EBADREQUESTDATA,
                          "privateAttributes must be an array of attribute names and "
                          "{\"type\", \"attributes\"} objects");
    size_t i;
    json_array_foreach(priv, i, v)
    {
        if (json_is_string(v)) {
            if (!name_ok(v))
                return pl_err_set(err, PL_EBADREQUESTDATA,
                                  "privateAttributes[%zu] is not an attribute name", i);
            if (++total > PL_READ_POLICY_MAX_NAMES)
                return pl_err_set(err, PL_EBADREQUESTDATA,
                                  "a read policy names at most %d names",
                                  PL_READ_POLICY_MAX_NAMES);
            continue;
        }
        if (!json_is_object(v))
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "privateAttributes[%zu] must be an attribute name or an object "
                              "{\"type\": T, \"attributes\": [...]}",
                              i);
        json_object_foreach((json_t *)v, k, open)
        {
            if (strcmp(k, "type") != 0 && strcmp(k, "attributes") != 0)
                return pl_err_set(err, PL_EBADREQUESTDATA,
                                  "privateAttributes[%zu]: unknown member '%.100s'", i, k);
        }
        if (!name_ok(json_object_get(v, "type")))
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "privateAttributes[%zu].type must be an entity type name", i);
        char what[64];
        snprintf(what, sizeof what, "privateAttributes[%zu].attributes", i);
        const json_t *attrs = json_object_get(v, "attributes");
        if (!attrs)
            return pl_err_set(err, PL_EBADREQUESTDATA, "%s is missing", what);
        if (check_names(attrs, what, &total, err) != 0)
            return err->code;
    }
    return 0;
}

static int add_private(struct pl_read_policy *p, const char *attr, const char *type)
{
    struct rp_private *x = &p->priv[p->n_priv];
    memset(x, 0, sizeof *x);
    p->n_priv++;
    if (name_init(&x->attr, attr) != 0 || (type && name_init(&x->type, type) != 0))
        return PL_ENOMEM;
    return 0;
}

int pl_read_policy_parse(const json_t *doc, struct pl_read_policy **out, struct pl_err *err)
{
    *out = NULL;
    if (policy_check(doc, err) != 0)
        return err->code;
    struct pl_read_policy *p = calloc(1, sizeof *p);
    if (!p)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    atomic_init(&p->refs, 1);
    const json_t *open = json_object_get(doc, "openTypes");
    const json_t *priv = json_object_get(doc, "privateAttributes");
    /* the normalized document: both members, as given (deep copies: the caller keeps doc) */
    p->doc = json_pack("{s:o,s:o}", "openTypes", open ? json_deep_copy(open) : json_array(),
                       "privateAttributes", priv ? json_deep_copy(priv) : json_array());
    size_t n_open = json_array_size(open), n_priv = 0;
    size_t i;
    const json_t *v;
    json_array_foreach(priv, i, v) n_priv += json_is_string(v)
                                                 ? 1
                                                 : json_array_size(json_object_get(v, "attributes"));
    p->open = calloc(n_open ? n_open : 1, sizeof *p->open);
    p->priv = calloc(n_priv ? n_priv : 1, sizeof *p->priv);
    int rc = p->doc && p->open && p->priv ? 0 : PL_ENOMEM;
    for (i = 0; rc == 0 && i < n_open; i++) {
        rc = name_init(&p->open[i], json_string_value(json_array_get(open, i)));
        p->n_open++;
    }
    json_array_foreach(priv, i, v)
    {
        if (rc != 0)
            break;
        if (json_is_string(v)) {
            rc = add_private(p, json_string_value(v), NULL);
            continue;
        }
        const char *type = json_string_value(json_object_get(v, "type"));
        size_t k;
        const json_t *a;
        json_array_foreach(json_object_get(v, "attributes"), k, a)
        {
            if (rc == 0)
                rc = add_private(p, json_string_value(a), type);
        }
    }
    if (rc != 0) {
        pl_read_policy_unref(p);
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    }
    *out = p;
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * The cache
 * ---------------------------------------------------------------------------------------- */
static void policy_free_val(void *v)
{
    pl_read_policy_unref(v);
}

int pl_read_policies_open(struct pl_store *s, struct pl_read_policies **out, struct pl_err *err)
{
    *out = NULL;
    struct pl_read_policies *c = calloc(1, sizeof *c);
    if (!c || !(c->by_tenant = pl_hmap_new(policy_free_val))) {
        free(c);
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    }
    c->store = s;
    pthread_rwlock_init(&c->lock, NULL);
    pthread_mutex_init(&c->put_mu, NULL);
    json_t *recs = NULL;
    int rc = s ? pl_store_policy_load(s, &recs, err) : 0;
    if (rc == PL_EOPNOTSUPPORTED) { /* a backend without policies: none is set */
        pl_err_clear(err);
        rc = 0;
    }
    if (rc != 0) {
        pl_read_policies_free(c);
        return rc;
    }
    size_t i;
    json_t *rec;
    json_array_foreach(recs, i, rec)
    {
        const char *tenant = json_string_value(json_object_get(rec, "tenant"));
        struct pl_read_policy *p = NULL;
        struct pl_err e;
        pl_err_clear(&e);
        if (!tenant || pl_read_policy_parse(json_object_get(rec, "body"), &p, &e) != 0) {
            pl_log_error("read policy of tenant '%s' is not valid (%s); it opens nothing",
                         tenant ? tenant : "?", e.detail);
            continue;
        }
        if (pl_hmap_put(c->by_tenant, tenant, p) != 0)
            pl_read_policy_unref(p);
    }
    json_decref(recs);
    *out = c;
    return 0;
}

void pl_read_policies_free(struct pl_read_policies *c)
{
    if (!c)
        return;
    pl_hmap_free(c->by_tenant);
    pthread_rwlock_destroy(&c->lock);
    pthread_mutex_destroy(&c->put_mu);
    free(c);
}

struct pl_read_policy *pl_read_policies_get(struct pl_read_policies *c, const char *tenant)
{
    if (!c)
        return NULL;
    pthread_rwlock_rdlock(&c->lock);
    struct pl_read_policy *p = pl_read_policy_ref(pl_hmap_get(c->by_tenant, tenant ? tenant : "",
                                                              NULL));
    pthread_rwlock_unlock(&c->lock);
    return p;
}

int pl_read_policies_put(struct pl_read_policies *c, const char *tenant, const json_t *doc,
                         struct pl_err *err)
{
    struct pl_read_policy *p;
    if (pl_read_policy_parse(doc, &p, err) != 0)
        return err->code;
    tenant = tenant ? tenant : "";
    pthread_mutex_lock(&c->put_mu);
    int rc = c->store ? pl_store_policy_put(c->store, tenant, p->doc, err) : 0;
    if (rc == 0) {
        pthread_rwlock_wrlock(&c->lock);
        rc = pl_hmap_put(c->by_tenant, tenant, p);
        pthread_rwlock_unlock(&c->lock);
        if (rc != 0) {
            /* stored but not cached: reads keep the old policy until a restart; say so */
            pl_read_policy_unref(p);
            rc = pl_err_set(err, PL_ENOMEM, "out of memory");
        }
    } else {
        pl_read_policy_unref(p);
    }
    pthread_mutex_unlock(&c->put_mu);
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * The read scope
 * ---------------------------------------------------------------------------------------- */
static int type_open_cb(void *ud, const char *type_iri)
{
    return pl_read_scope_type_open(ud, type_iri);
}

void pl_read_scope_init(struct pl_read_scope *s, struct pl_read_policies *c,
                        const struct pl_principal *p, const char *tenant)
{
    memset(s, 0, sizeof *s);
    s->tenant = tenant ? tenant : "";
    if (!p) {
        s->all = 1; /* auth off */
        return;
    }
    if (!pl_principal_in_tenant(p, s->tenant))
        return; /* another tenant's principal: nothing (no policy, no ids, no owner) */
    /* what the role decides (the authorization part): all, an enterprise's owner key, a
     * device's bindings; the tenant's policy adds the open data on top */
    pl_authz_read_scope(p, &s->role);
    if (s->role.all) {
        s->all = 1;
        return;
    }
    s->owner = s->role.owner;
    s->ids = s->role.ids;
    s->n_ids = s->role.n_ids;
    s->policy = pl_read_policies_get(c, s->tenant);
    s->store.type_readable = type_open_cb;
    s->store.ud = s;
    s->store.ids = s->ids;
    s->store.n_ids = s->n_ids;
    s->store.owner = s->owner;
}

void pl_read_scope_dispose(struct pl_read_scope *s)
{
    if (!s)
        return;
    pl_read_policy_unref(s->policy);
    s->policy = NULL;
}

const struct pl_store_read *pl_read_scope_store(const struct pl_read_scope *s)
{
    return !s || s->all ? NULL : &s->store;
}

int pl_read_scope_type_open(const struct pl_read_scope *s, const char *type_iri)
{
    if (s->all)
        return 1;
    const struct pl_read_policy *p = s->policy;
    for (size_t i = 0; p && type_iri && i < p->n_open; i++)
        if (name_match(&p->open[i], type_iri))
            return 1;
    return 0;
}

static int any_type_open(const struct pl_read_scope *s, const json_t *types)
{
    if (json_is_string(types))
        return pl_read_scope_type_open(s, json_string_value(types));
    size_t i;
    const json_t *t;
    json_array_foreach(types, i, t) if (pl_read_scope_type_open(s, json_string_value(t))) return 1;
    return 0;
}

int pl_read_scope_has_private(const struct pl_read_scope *s)
{
    return s && !s->all && s->policy && s->policy->n_priv > 0;
}

enum pl_read_level pl_read_scope_level(const struct pl_read_scope *s, const char *id,
                                       const json_t *types)
{
    if (s->all)
        return PL_READ_FULL;
    for (size_t i = 0; id && i < s->n_ids; i++)
        if (strcmp(s->ids[i], id) == 0)
            return PL_READ_FULL;
    int open = any_type_open(s, types);
    /* an open entity with nothing private reads the same in full: no ownership question */
    if (open && !pl_read_scope_has_private(s))
        return PL_READ_FULL;
    if (s->owner && id && s->is_owner && s->is_owner(s->is_owner_ud, s->tenant, id, s->owner))
        return PL_READ_FULL;
    return open ? PL_READ_OPEN : PL_READ_NONE;
}

enum pl_read_level pl_read_scope_entity(const struct pl_read_scope *s, const json_t *entity)
{
    return pl_read_scope_level(s, json_string_value(json_object_get(entity, "id")),
                               json_object_get(entity, "type"));
}

static int type_matches(const struct rp_name *n, const json_t *types)
{
    if (json_is_string(types))
        return name_match(n, json_string_value(types));
    size_t i;
    const json_t *t;
    json_array_foreach(types, i, t) if (name_match(n, json_string_value(t))) return 1;
    return 0;
}

int pl_read_scope_attr_private(const struct pl_read_scope *s, const json_t *types,
                               const char *attr_iri)
{
    if (!pl_read_scope_has_private(s))
        return 0;
    const struct pl_read_policy *p = s->policy;
    for (size_t i = 0; i < p->n_priv; i++) {
        const struct rp_private *x = &p->priv[i];
        if (name_match(&x->attr, attr_iri) && (!x->type.text || type_matches(&x->type, types)))
            return 1;
    }
    return 0;
}

int pl_read_scope_attr_private_any(const struct pl_read_scope *s, const char *attr_iri)
{
    if (!pl_read_scope_has_private(s))
        return 0;
    for (size_t i = 0; i < s->policy->n_priv; i++)
        if (name_match(&s->policy->priv[i].attr, attr_iri))
            return 1;
    return 0;
}

size_t pl_read_scope_strip(const struct pl_read_scope *s, json_t *entity)
{
    if (!pl_read_scope_has_private(s))
        return 0;
    const json_t *types = json_object_get(entity, "type");
    json_t *attrs = json_object_get(entity, "attrs");
    const char *k;
    json_t *v;
    void *tmp;
    size_t n = 0;
    json_object_foreach_safe(attrs, tmp, k, v)
    {
        if (pl_read_scope_attr_private(s, types, k)) {
            json_object_del(attrs, k);
            n++;
        }
    }
    return n;
}

int pl_read_scope_may_hide(const struct pl_read_scope *s, const char *text, size_t len)
{
    if (!pl_read_scope_has_private(s))
        return 0;
    const struct pl_read_policy *p = s->policy;
    for (size_t i = 0; i < p->n_priv; i++) {
        /* a term matches IRIs ending in it (its expansion does too); an IRI only itself */
        const char *needle = p->priv[i].attr.text;
        if (memmem(text, len, needle, strlen(needle)))
            return 1;
    }
    return 0;
}

json_t *pl_read_scope_view(const struct pl_read_scope *s, const json_t *entity)
{
    enum pl_read_level lv = pl_read_scope_entity(s, entity);
    if (lv == PL_READ_NONE)
        return NULL;
    if (lv == PL_READ_FULL || !pl_read_scope_has_private(s))
        return json_incref((json_t *)entity);
    const json_t *types = json_object_get(entity, "type");
    const char *k;
    json_t *v;
    int any = 0;
    json_object_foreach(json_object_get(entity, "attrs"), k, v) any |=
        pl_read_scope_attr_private(s, types, k);
    if (!any)
        return json_incref((json_t *)entity);
    json_t *copy = json_deep_copy(entity);
    if (copy)
        pl_read_scope_strip(s, copy);
    return copy;
}
