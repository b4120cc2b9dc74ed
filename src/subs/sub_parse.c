/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sub_parse.c — step 1 of building a subscription: a compacted payload (POST) or PATCH
 * fragment becomes the EXPANDED document, the shape of the stored form (attribute names become
 * IRIs, q and type selections keep their text plus a {name: IRI} map, geoQ.geoproperty becomes
 * an IRI); step 2 (sub_compile.c) validates it. Also the PATCH merge (5.8.2). See
 * subscription.h for the choices.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "ngsild/projection.h"
#include "subs/sub_int.h"

static int is_ngsi_null(const json_t *v)
{
    return json_is_null(v) || (json_is_string(v) && strcmp(json_string_value(v), NGSI_NULL) == 0);
}

/* Expands an attribute name, "<path>: ..." on failure. */
static int expand_name(const struct pl_ctx *ctx, const char *name, const char *path, char **iri,
                       struct pl_err *err)
{
    char sb[SHOW_MAX + 4];
    if (!pl_sub__valid_attr_name(name))
        return pl_sub__bad(err, "%s: '%s' is not a valid attribute name (NGSI-LD 4.6.2)", path,
                           pl_sub__shown(sb, name));
    *iri = pl_ctx_expand(ctx, name);
    if (!*iri)
        return pl_sub__bad(err, "%s: '%s' cannot be expanded with the @context", path,
                           pl_sub__shown(sb, name));
    return 0;
}

/* The shape every list of names in a subscription has: a non-empty array. 0 or BadRequestData. */
static int name_array_shape(const json_t *v, const char *path, struct pl_err *err)
{
    if (!json_is_array(v))
        return pl_sub__bad(err, "%s: must be an array of attribute names, not %s", path,
                           pl_sub__jtype(v));
    if (json_array_size(v) == 0)
        return pl_sub__bad(err, "%s: an empty array is not allowed", path);
    return 0;
}

/* Expands an array of attribute names into a new JSON array of IRIs. */
static int expand_name_array(const struct pl_ctx *ctx, const json_t *v, const char *path,
                             json_t **out, struct pl_err *err)
{
    char p[96];
    int bad = name_array_shape(v, path, err);
    if (bad)
        return bad;
    json_t *a = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        if (!json_is_string(e)) {
            json_decref(a);
            return pl_sub__bad(err, "%s: must be a string, not %s", p, pl_sub__jtype(e));
        }
        const char *n = json_string_value(e);
        char *iri = NULL;
        int rc = expand_name(ctx, n, p, &iri, err);
        if (rc) {
            json_decref(a);
            return rc;
        }
        json_array_append_new(a, json_string(iri));
        free(iri);
    }
    *out = a;
    return 0;
}

/* notification.pick / omit: each item a 4.21 projection ("a,b", "rel{a,b}"). A NEW array with
 * one item per top-level term, every attribute name expanded ("rel{a}" -> "<iri>{<iri>}"). */
static int expand_projection_array(const struct pl_ctx *ctx, const json_t *v, const char *path,
                                   json_t **out, struct pl_err *err)
{
    char p[96];
    int rc = name_array_shape(v, path, err);
    if (rc)
        return rc;
    json_t *a = json_array();
    size_t i;
    json_t *e;
    rc = a ? 0 : pl_sub__nomem(err);
    json_array_foreach(v, i, e)
    {
        if (rc)
            break;
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        if (!json_is_string(e)) {
            rc = pl_sub__bad(err, "%s: must be a string, not %s", p, pl_sub__jtype(e));
            break;
        }
        struct pl_proj *pr = NULL;
        struct pl_err perr;
        pl_err_clear(&perr);
        rc = pl_proj_parse(p, json_string_value(e), ctx, PL_PROJ_MEMBERS, &pr, &perr);
        if (rc) {
            rc = rc == PL_ENOMEM ? pl_sub__nomem(err) : pl_sub__bad(err, "%s", perr.detail);
            break;
        }
        for (size_t k = 0; k < pr->n && !rc; k++) {
            char *t = pl_proj_format_term(pr, k, NULL, NULL);
            json_t *js = t ? json_string(t) : NULL;
            free(t);
            rc = js && json_array_append_new(a, js) == 0 ? 0 : pl_sub__nomem(err);
        }
        pl_proj_free(pr);
    }
    if (rc) {
        json_decref(a);
        return rc;
    }
    *out = a;
    return 0;
}

static const char *const readonly_members[] = {"status",      "createdAt",   "modifiedAt",
                                               "timesSent",   "timesFailed", "lastNotification",
                                               "lastFailure", "lastSuccess", "deletedAt"};

static const char *const unsupported_members[] = {"csf", "expandValues"};

static int in_list(const char *const *l, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(l[i], s) == 0)
            return 1;
    }
    return 0;
}

#define IN_LIST(l, s) in_list(l, sizeof l / sizeof l[0], s)

static int expand_entities(const struct pl_ctx *ctx, const json_t *v, json_t **out,
                           struct pl_err *err)
{
    if (!json_is_array(v))
        return pl_sub__bad(err, "entities: must be an array of EntitySelector objects, not %s",
                           pl_sub__jtype(v));
    json_t *a = json_array();
    size_t i;
    json_t *e;
    char path[48];
    json_array_foreach(v, i, e)
    {
        snprintf(path, sizeof path, "entities[%zu]", i);
        if (!json_is_object(e)) {
            json_decref(a);
            return pl_sub__bad(err, "%s: must be an object, not %s", path, pl_sub__jtype(e));
        }
        json_t *o = json_object();
        json_array_append_new(a, o);
        const json_t *m;
        if ((m = json_object_get(e, "id")) != NULL)
            json_object_set(o, "id", (json_t *)m);
        if ((m = json_object_get(e, "idPattern")) != NULL)
            json_object_set(o, "idPattern", (json_t *)m);
        m = json_object_get(e, "type");
        if (!m) {
            json_decref(a);
            return pl_sub__bad(err, "%s.type: missing (an EntitySelector needs a type)", path);
        }
        if (!json_is_string(m)) {
            json_decref(a);
            return pl_sub__bad(err, "%s.type: must be a string, not %s", path, pl_sub__jtype(m));
        }
        struct pl_typesel *ts = NULL;
        int rc = pl_typesel_parse(json_string_value(m), &ts, err);
        if (rc == 0)
            rc = pl_typesel_resolve(ts, ctx, err);
        if (rc) {
            pl_typesel_free(ts);
            json_decref(a);
            snprintf(path + strlen(path), sizeof path - strlen(path), ".");
            return pl_sub__prefix_err(err, rc, path);
        }
        json_t *map = json_object();
        pl_sub__ts_names(ts, map);
        pl_typesel_free(ts);
        json_object_set(o, "type", (json_t *)m);
        json_object_set_new(o, "typeNames", map);
    }
    *out = a;
    return 0;
}

static int expand_q(const struct pl_ctx *ctx, const json_t *v, json_t *doc, struct pl_err *err)
{
    if (!json_is_string(v))
        return pl_sub__bad(err, "q: must be a string, not %s", pl_sub__jtype(v));
    struct pl_q_node *q = NULL;
    int rc = pl_q_parse(json_string_value(v), &q, err);
    if (rc == 0)
        rc = pl_q_resolve(q, ctx, err);
    if (rc) {
        pl_q_free(q);
        return rc;
    }
    json_t *map = json_object();
    pl_sub__q_names(q, map);
    pl_q_free(q);
    json_object_set(doc, "q", (json_t *)v);
    json_object_set_new(doc, "qNames", map);
    return 0;
}

static int expand_geoq(const struct pl_ctx *ctx, const json_t *v, json_t *doc, struct pl_err *err)
{
    if (!json_is_object(v))
        return pl_sub__bad(err, "geoQ: must be a GeoQuery object, not %s", pl_sub__jtype(v));
    struct pl_geoq *g = NULL;
    int rc = pl_geoq_from_json(v, &g, err);
    if (rc)
        return rc;
    char *iri = NULL;
    rc = expand_name(ctx, g->geoproperty, "geoQ.geoproperty", &iri, err);
    if (rc) {
        pl_geoq_free(g);
        return rc;
    }
    json_t *o = pl_geoq_to_json(g);
    pl_geoq_free(g);
    if (!o) {
        free(iri);
        return pl_sub__nomem(err);
    }
    json_object_set_new(o, "geoproperty", json_string(iri));
    free(iri);
    json_object_set_new(doc, "geoQ", o);
    return 0;
}

/* The NotificationParams of a payload, or of a PATCH fragment where it replaces the stored one
 * as a whole (5.5.8): a null member inside it is a value like any other (compile refuses it). */
static int expand_notification(const struct pl_ctx *ctx, const json_t *v, json_t **out,
                               struct pl_err *err)
{
    if (!json_is_object(v))
        return pl_sub__bad(err, "notification: must be a NotificationParams object, not %s",
                           pl_sub__jtype(v));
    json_t *o = json_object();
    const char *k;
    json_t *m;
    int rc = 0;
    json_object_foreach((json_t *)v, k, m)
    {
        if (IN_LIST(readonly_members, k))
            continue;
        json_t *x = NULL;
        if (!strcmp(k, "attributes"))
            rc = expand_name_array(ctx, m, "notification.attributes", &x, err);
        else if (!strcmp(k, "pick") || !strcmp(k, "omit")) {
            char p[32];
            snprintf(p, sizeof p, "notification.%s", k);
            rc = expand_projection_array(ctx, m, p, &x, err);
        } else
            x = json_incref(m);
        if (rc)
            break;
        json_object_set_new(o, k, x);
    }
    if (rc) {
        json_decref(o);
        return rc;
    }
    *out = o;
    return 0;
}

/* `partial`: a PATCH fragment (null members kept as deletions, no @context recorded). */
static int expand_doc(const json_t *in, const struct pl_ctx *ctx, int partial, json_t **out,
                      struct pl_err *err)
{
    if (!json_is_object(in))
        return pl_sub__bad(err, "the subscription must be a JSON object, not %s",
                           pl_sub__jtype(in));
    json_t *doc = json_object();
    const char *k;
    json_t *m;
    int rc = 0;
    json_object_foreach((json_t *)in, k, m)
    {
        if (IN_LIST(readonly_members, k) || !strcmp(k, "@context") || !strcmp(k, "qNames") ||
            !strcmp(k, "splitEntities"))
            continue;
        if (IN_LIST(unsupported_members, k)) {
            rc = pl_err_set(err, PL_EOPNOTSUPPORTED, "%s: not supported", k);
            break;
        }
        if (partial && is_ngsi_null(m) && strcmp(k, "id") != 0 && strcmp(k, "type") != 0) {
            json_object_set_new(doc, k, json_null());
            continue;
        }
        json_t *x = NULL;
        if (!strcmp(k, "entities")) {
            if ((rc = expand_entities(ctx, m, &x, err)) == 0)
                json_object_set_new(doc, k, x);
        } else if (!strcmp(k, "watchedAttributes")) {
            if ((rc = expand_name_array(ctx, m, k, &x, err)) == 0)
                json_object_set_new(doc, k, x);
        } else if (!strcmp(k, "q")) {
            rc = expand_q(ctx, m, doc, err);
        } else if (!strcmp(k, "geoQ")) {
            rc = expand_geoq(ctx, m, doc, err);
        } else if (!strcmp(k, "notification")) {
            if ((rc = expand_notification(ctx, m, &x, err)) == 0)
                json_object_set_new(doc, k, x);
        } else {
            json_object_set(doc, k, m);
        }
        if (rc)
            break;
    }
    if (rc) {
        json_decref(doc);
        return rc;
    }
    if (!partial) {
        const json_t *src = ctx ? pl_ctx_source(ctx) : NULL;
        json_object_set_new(doc, "@context", src ? json_deep_copy(src) : json_null());
    }
    *out = doc;
    return 0;
}

int pl_sub_parse_at(const json_t *payload, const struct pl_ctx *ctx, int64_t now_ms,
                    struct pl_sub **out, struct pl_err *err)
{
    *out = NULL;
    if (!ctx)
        ctx = pl_ctx_core();
    json_t *doc = NULL;
    int rc = expand_doc(payload, ctx, 0, &doc, err);
    if (rc)
        return rc;
    rc = pl_sub__compile(doc, now_ms, 1, out, err);
    json_decref(doc);
    return rc;
}

int pl_sub_parse(const json_t *payload, const struct pl_ctx *ctx, struct pl_sub **out,
                 struct pl_err *err)
{
    return pl_sub_parse_at(payload, ctx, pl_time_now_ms(), out, err);
}

int pl_sub_patch_at(const struct pl_sub *cur, const json_t *fragment, const struct pl_ctx *ctx,
                    int64_t now_ms, struct pl_sub **out, struct pl_err *err)
{
    *out = NULL;
    if (!ctx)
        ctx = pl_ctx_core();
    json_t *frag = NULL;
    int rc = expand_doc(fragment, ctx, 1, &frag, err);
    if (rc)
        return rc;
    const json_t *id = json_object_get(frag, "id");
    if (id && (!json_is_string(id) || !cur->id || strcmp(json_string_value(id), cur->id) != 0)) {
        json_decref(frag);
        return pl_sub__bad(err, "id: the id of a subscription cannot be changed");
    }
    json_t *doc = pl_sub_to_stored(cur);
    if (!doc) {
        json_decref(frag);
        return pl_sub__nomem(err);
    }
    const char *k;
    json_t *v;
    json_object_foreach(frag, k, v)
    {
        if (!strcmp(k, "id"))
            continue;
        if (json_is_null(v)) {
            json_object_del(doc, k);
            if (!strcmp(k, "q"))
                json_object_del(doc, "qNames");
        } else {
            json_object_set(doc, k, v);
        }
    }
    const json_t *exp = json_object_get(frag, "expiresAt");
    rc = pl_sub__compile(doc, now_ms, exp && !json_is_null(exp), out, err);
    /* 5.8.2.4: only expiresAt, in the future, on an expired subscription makes it "active"
     * (even one that was paused before it expired) */
    if (rc == 0 && exp && !json_is_null(exp) && !json_object_get(frag, "isActive") &&
        cur->expires_at_ms && cur->expires_at_ms <= now_ms)
        (*out)->is_active = 1;
    if (rc == 0) /* the owner is the creator's, whoever patches */
        (*out)->owner = pl_principal_ref(cur->owner);
    json_decref(doc);
    json_decref(frag);
    return rc;
}

int pl_sub_patch(const struct pl_sub *cur, const json_t *fragment, const struct pl_ctx *ctx,
                 struct pl_sub **out, struct pl_err *err)
{
    return pl_sub_patch_at(cur, fragment, ctx, pl_time_now_ms(), out, err);
}
