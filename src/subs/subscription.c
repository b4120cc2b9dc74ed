/* SPDX-License-Identifier: Apache-2.0 */
/*
 * subscription.c — NGSI-LD Subscriptions: validation, PATCH merge, stored form, GET rendering,
 * change matching and notification payloads. See subscription.h for the rules and choices.
 *
 * Two steps build a subscription. expand_doc() turns a compacted payload (or PATCH fragment)
 * into the EXPANDED document, the same shape as the stored form: attribute names become IRIs,
 * q and type selections keep their text plus a {name: IRI} map, geoQ.geoproperty becomes an
 * IRI. compile() validates an expanded document and builds the struct pl_sub. So the stored
 * form is read back by compile() alone, without any @context.
 */
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

#include "base/grow.h"
#include "base/jsonfmt.h"
#include "base/limits.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "ngsild/entity.h"
#include "subs/subscription.h"

#define NGSI_NULL "urn:ngsi-ld:null"
#define SHOW_MAX  64

/* ============================================================================================
 * Small helpers
 * ========================================================================================== */

static int bad(struct pl_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(struct pl_err *err, const char *fmt, ...)
{
    char buf[PL_ERR_DETAIL_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return pl_err_set(err, PL_EBADREQUESTDATA, "%s", buf);
}

static int nomem(struct pl_err *err)
{
    return pl_err_set(err, PL_ENOMEM, "out of memory");
}

/* A printable, truncated copy of `s` for error details. */
static const char *shown(char buf[SHOW_MAX + 4], const char *s)
{
    size_t i = 0;
    for (; s[i] && i < SHOW_MAX; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = (c < 0x20 || c == 0x7f || c == '\'') ? '?' : (char)c;
    }
    if (s[i]) {
        memcpy(buf + i, "...", 3);
        i += 3;
    }
    buf[i] = '\0';
    return buf;
}

static const char *jtype(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    default:
        return "null";
    }
}

/* Prefixes the detail of `err` with `prefix` (e.g. "entities[0]."). */
static int prefix_err(struct pl_err *err, int rc, const char *prefix)
{
    if (!err)
        return rc;
    char buf[PL_ERR_DETAIL_MAX];
    snprintf(buf, sizeof buf, "%s", err->detail);
    pl_err_set(err, rc, "%s%s", prefix, buf);
    return rc;
}

static void strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

static int in_strv(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i], s) == 0)
            return 1;
    }
    return 0;
}

static int is_ngsi_null(const json_t *v)
{
    return json_is_null(v) || (json_is_string(v) && strcmp(json_string_value(v), NGSI_NULL) == 0);
}

/* A JSON number for `x`: an integer when it is one. */
static json_t *num_json(double x)
{
    if (x == floor(x) && fabs(x) < 9007199254740992.0)
        return json_integer((json_int_t)x);
    return json_real(x);
}

static json_t *iso_json(int64_t ms)
{
    char buf[PL_TIME_ISO_LEN];
    pl_time_format(ms, buf);
    return json_string(buf);
}

static int uuid4(char out[37])
{
    unsigned char b[16];
    if (getrandom(b, sizeof b, 0) != (ssize_t)sizeof b) {
        /* no entropy source: a time-based fallback, still unique enough per process */
        static unsigned long ctr;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        unsigned long long x = (unsigned long long)ts.tv_sec * 1000000007ull ^
                               (unsigned long long)ts.tv_nsec ^ ((unsigned long long)++ctr << 40);
        for (int i = 0; i < 16; i++) {
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            b[i] = (unsigned char)(x >> 56);
        }
    }
    b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
    b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
    snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
             b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
             b[14], b[15]);
    return 0;
}

char *pl_sub_new_id(void)
{
    char u[37];
    uuid4(u);
    static const char pre[] = "urn:ngsi-ld:Subscription:";
    char *s = malloc(sizeof pre + 36);
    if (s)
        snprintf(s, sizeof pre + 36, "%s%s", pre, u);
    return s;
}

/* ============================================================================================
 * Names
 * ========================================================================================== */

/* 4.6.2 attribute name, or a URI. */
static int valid_attr_name(const char *s)
{
    return s && *s && s[0] != '@' && pl_is_valid_name(s) && strlen(s) <= PL_LIMITS_DEFAULT_IDLEN;
}

/* Expands an attribute name, "<path>: ..." on failure. */
static int expand_name(const struct pl_ctx *ctx, const char *name, const char *path, char **iri,
                       struct pl_err *err)
{
    char sb[SHOW_MAX + 4];
    if (!valid_attr_name(name))
        return bad(err, "%s: '%s' is not a valid attribute name (NGSI-LD 4.6.2)", path,
                   shown(sb, name));
    *iri = pl_ctx_expand(ctx, name);
    if (!*iri)
        return bad(err, "%s: '%s' cannot be expanded with the @context", path, shown(sb, name));
    return 0;
}

/* Expands an array of attribute names into a new JSON array of IRIs. `keep_core`: "id", "type"
 * and "scope" stay as they are (pick/omit). */
static int expand_name_array(const struct pl_ctx *ctx, const json_t *v, const char *path,
                             int keep_core, json_t **out, struct pl_err *err)
{
    char p[96];
    if (!json_is_array(v))
        return bad(err, "%s: must be an array of attribute names, not %s", path, jtype(v));
    if (json_array_size(v) == 0)
        return bad(err, "%s: an empty array is not allowed", path);
    json_t *a = json_array();
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        snprintf(p, sizeof p, "%s[%zu]", path, i);
        if (!json_is_string(e)) {
            json_decref(a);
            return bad(err, "%s: must be a string, not %s", p, jtype(e));
        }
        const char *n = json_string_value(e);
        if (keep_core && (!strcmp(n, "id") || !strcmp(n, "type") || !strcmp(n, "scope"))) {
            json_array_append(a, e);
            continue;
        }
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

/* Collects {name: IRI} of a resolved q tree. */
static void q_names(const struct pl_q_node *n, json_t *map)
{
    if (!n)
        return;
    if (n->kind != PL_Q_TERM) {
        for (size_t i = 0; i < n->n_kids; i++)
            q_names(n->kids[i], map);
        return;
    }
    const struct pl_q_term *t = &n->term;
    for (size_t k = 0; k < t->n_path; k++) {
        if (k > 0 && t->special && k + 1 == t->n_path)
            continue;
        if (t->path_iri && t->path_iri[k])
            json_object_set_new(map, t->path[k], json_string(t->path_iri[k]));
    }
}

/* Sets path_iri of every term from `map`. */
static int q_apply_names(struct pl_q_node *n, const json_t *map, struct pl_err *err)
{
    if (n->kind != PL_Q_TERM) {
        for (size_t i = 0; i < n->n_kids; i++) {
            int rc = q_apply_names(n->kids[i], map, err);
            if (rc)
                return rc;
        }
        return 0;
    }
    struct pl_q_term *t = &n->term;
    char **iris = calloc(t->n_path ? t->n_path : 1, sizeof *iris);
    if (!iris)
        return nomem(err);
    for (size_t k = 0; k < t->n_path; k++) {
        const char *v;
        if (k > 0 && t->special && k + 1 == t->n_path)
            v = t->path[k];
        else
            v = json_string_value(json_object_get(map, t->path[k]));
        if (!v) {
            strv_free(iris, t->n_path);
            char sb[SHOW_MAX + 4];
            return bad(err, "q: no expansion stored for the name '%s'", shown(sb, t->path[k]));
        }
        if (!(iris[k] = strdup(v))) {
            strv_free(iris, t->n_path);
            return nomem(err);
        }
    }
    strv_free(t->path_iri, t->n_path);
    t->path_iri = iris;
    return 0;
}

static void ts_names(const struct pl_typesel *n, json_t *map)
{
    if (n->kind == PL_TS_NAME) {
        if (n->name_iri)
            json_object_set_new(map, n->name, json_string(n->name_iri));
        return;
    }
    for (size_t i = 0; i < n->n_kids; i++)
        ts_names(n->kids[i], map);
}

static int ts_apply_names(struct pl_typesel *n, const json_t *map, const char *path,
                          struct pl_err *err)
{
    if (n->kind == PL_TS_NAME) {
        const char *v = json_string_value(json_object_get(map, n->name));
        char sb[SHOW_MAX + 4];
        if (!v)
            return bad(err, "%s: no expansion stored for the type '%s'", path, shown(sb, n->name));
        free(n->name_iri);
        if (!(n->name_iri = strdup(v)))
            return nomem(err);
        return 0;
    }
    for (size_t i = 0; i < n->n_kids; i++) {
        int rc = ts_apply_names(n->kids[i], map, path, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* ============================================================================================
 * Step 1: compacted payload -> expanded document
 * ========================================================================================== */

static const char *const readonly_members[] = {"status",      "createdAt",   "modifiedAt",
                                               "timesSent",   "timesFailed", "lastNotification",
                                               "lastFailure", "lastSuccess", "deletedAt"};
static const char *const unsupported_members[] = {"temporalQ", "csf", "expandValues", "jsonKeys",
                                                  "ngsildConformance"};
static const char *const unsupported_notif[] = {"join", "joinLevel"};

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
        return bad(err, "entities: must be an array of EntitySelector objects, not %s", jtype(v));
    json_t *a = json_array();
    size_t i;
    json_t *e;
    char path[48];
    json_array_foreach(v, i, e)
    {
        snprintf(path, sizeof path, "entities[%zu]", i);
        if (!json_is_object(e)) {
            json_decref(a);
            return bad(err, "%s: must be an object, not %s", path, jtype(e));
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
            return bad(err, "%s.type: missing (an EntitySelector needs a type)", path);
        }
        if (!json_is_string(m)) {
            json_decref(a);
            return bad(err, "%s.type: must be a string, not %s", path, jtype(m));
        }
        struct pl_typesel *ts = NULL;
        int rc = pl_typesel_parse(json_string_value(m), &ts, err);
        if (rc == 0)
            rc = pl_typesel_resolve(ts, ctx, err);
        if (rc) {
            pl_typesel_free(ts);
            json_decref(a);
            snprintf(path + strlen(path), sizeof path - strlen(path), ".");
            return prefix_err(err, rc, path);
        }
        json_t *map = json_object();
        ts_names(ts, map);
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
        return bad(err, "q: must be a string, not %s", jtype(v));
    struct pl_q_node *q = NULL;
    int rc = pl_q_parse(json_string_value(v), &q, err);
    if (rc == 0)
        rc = pl_q_resolve(q, ctx, err);
    if (rc) {
        pl_q_free(q);
        return rc;
    }
    json_t *map = json_object();
    q_names(q, map);
    pl_q_free(q);
    json_object_set(doc, "q", (json_t *)v);
    json_object_set_new(doc, "qNames", map);
    return 0;
}

static int expand_geoq(const struct pl_ctx *ctx, const json_t *v, json_t *doc, struct pl_err *err)
{
    if (!json_is_object(v))
        return bad(err, "geoQ: must be a GeoQuery object, not %s", jtype(v));
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
        return nomem(err);
    }
    json_object_set_new(o, "geoproperty", json_string(iri));
    free(iri);
    json_object_set_new(doc, "geoQ", o);
    return 0;
}

static int expand_notification(const struct pl_ctx *ctx, const json_t *v, int partial, json_t **out,
                               struct pl_err *err)
{
    if (!json_is_object(v))
        return bad(err, "notification: must be a NotificationParams object, not %s", jtype(v));
    json_t *o = json_object();
    const char *k;
    json_t *m;
    int rc = 0;
    json_object_foreach((json_t *)v, k, m)
    {
        if (IN_LIST(readonly_members, k))
            continue;
        if (IN_LIST(unsupported_notif, k)) {
            rc = pl_err_set(err, PL_EOPNOTSUPPORTED, "notification.%s: not supported", k);
            break;
        }
        if (partial && is_ngsi_null(m)) {
            json_object_set_new(o, k, json_null());
            continue;
        }
        json_t *x = NULL;
        if (!strcmp(k, "attributes"))
            rc = expand_name_array(ctx, m, "notification.attributes", 0, &x, err);
        else if (!strcmp(k, "pick") || !strcmp(k, "omit")) {
            char p[32];
            snprintf(p, sizeof p, "notification.%s", k);
            rc = expand_name_array(ctx, m, p, 1, &x, err);
        } else if (!strcmp(k, "endpoint") && partial && json_is_object(m)) {
            x = json_object();
            const char *ek;
            json_t *em;
            json_object_foreach(m, ek, em)
                json_object_set_new(x, ek, is_ngsi_null(em) ? json_null() : json_incref(em));
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
        return bad(err, "the subscription must be a JSON object, not %s", jtype(in));
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
            if ((rc = expand_name_array(ctx, m, k, 0, &x, err)) == 0)
                json_object_set_new(doc, k, x);
        } else if (!strcmp(k, "q")) {
            rc = expand_q(ctx, m, doc, err);
        } else if (!strcmp(k, "geoQ")) {
            rc = expand_geoq(ctx, m, doc, err);
        } else if (!strcmp(k, "notification")) {
            if ((rc = expand_notification(ctx, m, partial, &x, err)) == 0)
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

/* ============================================================================================
 * Step 2: expanded document -> struct pl_sub (all validation)
 * ========================================================================================== */

void pl_sub_free(struct pl_sub *s)
{
    if (!s)
        return;
    free(s->id);
    free(s->name);
    free(s->description);
    for (size_t i = 0; i < s->n_entities; i++) {
        struct pl_sub_selector *e = &s->entities[i];
        free(e->id);
        free(e->id_pattern);
        free(e->type);
        pl_typesel_free(e->ts);
        if (e->re) {
            regfree(e->re);
            free(e->re);
        }
    }
    free(s->entities);
    strv_free(s->watched, s->n_watched);
    strv_free(s->dataset_ids, s->n_dataset_ids);
    free(s->q_text);
    pl_q_free(s->q);
    pl_geoq_free(s->geoq);
    free(s->scopeq_text);
    pl_scopeq_free(s->scopeq);
    free(s->lang);
    free(s->jsonld_context);
    json_decref(s->context);
    strv_free(s->attrs, s->n_attrs);
    strv_free(s->pick, s->n_pick);
    strv_free(s->omit, s->n_omit);
    free(s->uri);
    for (size_t i = 0; i < s->n_receiver_info; i++) {
        free(s->receiver_info[i].key);
        free(s->receiver_info[i].value);
    }
    free(s->receiver_info);
    for (size_t i = 0; i < s->n_notifier_info; i++) {
        free(s->notifier_info[i].key);
        free(s->notifier_info[i].value);
    }
    free(s->notifier_info);
    free(s->type_keys_);
    free(s);
}

/* Optional string member. */
static int get_str(const json_t *o, const char *k, const char *path, char **out, struct pl_err *err)
{
    const json_t *v = json_object_get(o, k);
    if (!v)
        return 0;
    if (!json_is_string(v))
        return bad(err, "%s: must be a string, not %s", path, jtype(v));
    if (!(*out = strdup(json_string_value(v))))
        return nomem(err);
    return 0;
}

static int get_bool(const json_t *o, const char *k, const char *path, int *out, struct pl_err *err)
{
    const json_t *v = json_object_get(o, k);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return bad(err, "%s: must be true or false, not %s", path, jtype(v));
    *out = json_is_true(v);
    return 0;
}

/* Optional number > 0. */
static int get_pos_num(const json_t *o, const char *k, const char *path, double *out,
                       struct pl_err *err)
{
    const json_t *v = json_object_get(o, k);
    if (!v)
        return 0;
    if (!json_is_number(v))
        return bad(err, "%s: must be a number greater than 0, not %s", path, jtype(v));
    double x = json_number_value(v);
    if (!(x > 0) || !isfinite(x))
        return bad(err, "%s: must be greater than 0", path);
    *out = x;
    return 0;
}

/* Optional non-empty array of strings, each passing `valid` (else "<path>[i]: '<s>' <why>"),
 * duplicates collapsed, copied into *v / *n. */
static int get_strv_valid(const json_t *o, const char *k, const char *path, char ***v, size_t *n,
                          int (*valid)(const char *), const char *why, struct pl_err *err)
{
    const json_t *a = json_object_get(o, k);
    if (!a)
        return 0;
    if (!json_is_array(a))
        return bad(err, "%s: must be an array of strings, not %s", path, jtype(a));
    if (json_array_size(a) == 0)
        return bad(err, "%s: an empty array is not allowed", path);
    *v = calloc(json_array_size(a), sizeof **v);
    if (!*v)
        return nomem(err);
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        if (!json_is_string(e))
            return bad(err, "%s[%zu]: must be a string, not %s", path, i, jtype(e));
        const char *s = json_string_value(e);
        char sb[SHOW_MAX + 4];
        if (!valid(s))
            return bad(err, "%s[%zu]: '%s' %s", path, i, shown(sb, s), why);
        if (in_strv(*v, *n, s))
            continue; /* duplicates collapse */
        if (!((*v)[*n] = strdup(s)))
            return nomem(err);
        (*n)++;
    }
    return 0;
}

/* Optional non-empty array of attribute names already expanded (or names). */
static int get_strv(const json_t *o, const char *k, const char *path, char ***v, size_t *n,
                    struct pl_err *err)
{
    return get_strv_valid(o, k, path, v, n, valid_attr_name, "is not a valid attribute name", err);
}

/* idPattern: safety checks of the q regex parser, then our own compiled copy. */
static int compile_id_pattern(const char *pat, const char *path, void **out, struct pl_err *err)
{
    char sb[SHOW_MAX + 4];
    if (!*pat)
        return bad(err, "%s: an empty pattern is not allowed", path);
    json_t *js = json_string(pat);
    char *quoted = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
    json_decref(js);
    if (!quoted)
        return nomem(err);
    size_t n = strlen(quoted) + 8;
    char *q = malloc(n);
    if (!q) {
        free(quoted);
        return nomem(err);
    }
    snprintf(q, n, "a~=%s", quoted);
    free(quoted);
    struct pl_q_node *node = NULL;
    struct pl_err qerr;
    pl_err_clear(&qerr);
    int rc = pl_q_parse(q, &node, &qerr);
    free(q);
    pl_q_free(node);
    if (rc == PL_ENOMEM)
        return nomem(err);
    if (rc)
        return bad(err, "%s: '%s' is not a valid regular expression", path, shown(sb, pat));
    int flags = REG_EXTENDED | REG_NOSUB;
    if (!strncmp(pat, "(?i)", 4)) {
        flags |= REG_ICASE;
        pat += 4;
    }
    regex_t *re = malloc(sizeof *re);
    if (!re)
        return nomem(err);
    if (regcomp(re, pat, flags) != 0) {
        free(re);
        return bad(err, "%s: '%s' is not a valid regular expression", path, shown(sb, pat));
    }
    *out = re;
    return 0;
}

/* Index keys of a type selection: NAME its IRI, OR the union, AND its first member's keys. */
static int ts_keys(const struct pl_typesel *n, struct pl_sub *s)
{
    if (n->kind == PL_TS_NAME) {
        const char *k = n->name_iri ? n->name_iri : n->name;
        for (size_t i = 0; i < s->n_type_keys_; i++) {
            if (!strcmp(s->type_keys_[i], k))
                return 0;
        }
        char **nk = realloc(s->type_keys_, (s->n_type_keys_ + 1) * sizeof *nk);
        if (!nk)
            return -1;
        s->type_keys_ = nk;
        s->type_keys_[s->n_type_keys_++] = (char *)k; /* borrowed from the tree */
        return 0;
    }
    if (n->kind == PL_TS_AND)
        return n->n_kids ? ts_keys(n->kids[0], s) : 0;
    for (size_t i = 0; i < n->n_kids; i++) {
        if (ts_keys(n->kids[i], s))
            return -1;
    }
    return 0;
}

static int compile_entities(const json_t *a, struct pl_sub *s, struct pl_err *err)
{
    if (!json_is_array(a))
        return bad(err, "entities: must be an array of EntitySelector objects, not %s", jtype(a));
    if (json_array_size(a) == 0)
        return bad(err, "entities: an empty array is not allowed");
    s->entities = calloc(json_array_size(a), sizeof *s->entities);
    if (!s->entities)
        return nomem(err);
    size_t i;
    json_t *e;
    char path[64], sb[SHOW_MAX + 4];
    json_array_foreach(a, i, e)
    {
        struct pl_sub_selector *sel = &s->entities[i];
        s->n_entities = i + 1;
        snprintf(path, sizeof path, "entities[%zu]", i);
        if (!json_is_object(e))
            return bad(err, "%s: must be an object, not %s", path, jtype(e));
        char p2[80];
        int rc;
        snprintf(p2, sizeof p2, "%s.id", path);
        if ((rc = get_str(e, "id", p2, &sel->id, err)) != 0)
            return rc;
        if (sel->id && (!pl_is_uri(sel->id) || strlen(sel->id) > PL_LIMITS_DEFAULT_IDLEN))
            return bad(err, "%s: '%s' is not a valid URI", p2, shown(sb, sel->id));
        snprintf(p2, sizeof p2, "%s.idPattern", path);
        if ((rc = get_str(e, "idPattern", p2, &sel->id_pattern, err)) != 0)
            return rc;
        if (sel->id_pattern && (rc = compile_id_pattern(sel->id_pattern, p2, &sel->re, err)) != 0)
            return rc;
        snprintf(p2, sizeof p2, "%s.type", path);
        if ((rc = get_str(e, "type", p2, &sel->type, err)) != 0)
            return rc;
        if (!sel->type)
            return bad(err, "%s: missing (an EntitySelector needs a type)", p2);
        if ((rc = pl_typesel_parse(sel->type, &sel->ts, err)) != 0) {
            snprintf(p2, sizeof p2, "%s.", path);
            return prefix_err(err, rc, p2);
        }
        const json_t *map = json_object_get(e, "typeNames");
        if (!json_is_object(map))
            return bad(err, "%s: the type names were not expanded", p2);
        if ((rc = ts_apply_names(sel->ts, map, p2, err)) != 0)
            return rc;
        if (ts_keys(sel->ts, s))
            return nomem(err);
    }
    return 0;
}

/* http(s)://host[:port][/...] or mqtt(s)://[user[:pass]@]host[:port]/topic[/...]. */
static int check_uri(const char *u, int *mqtt, const char **why)
{
    static const char *const schemes[] = {"http://", "https://", "mqtt://", "mqtts://"};
    size_t si = 0, sl = 0;
    for (; si < 4; si++) {
        sl = strlen(schemes[si]);
        if (!strncasecmp(u, schemes[si], sl))
            break;
    }
    if (si == 4) {
        *why = "is not an http(s) or mqtt(s) URI";
        return -1;
    }
    *mqtt = si >= 2;
    for (const unsigned char *p = (const unsigned char *)u; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f || strchr("<>\"{}|\\^`", *p)) {
            *why = "contains a character not allowed in a URI";
            return -1;
        }
    }
    const char *auth = u + sl;
    size_t alen = strcspn(auth, "/?#");
    const char *host = auth;
    for (size_t i = 0; i < alen; i++) {
        if (auth[i] == '@')
            host = auth + i + 1;
    }
    size_t hlen = (size_t)(auth + alen - host);
    const char *port = NULL;
    if (hlen && host[0] == '[') {
        const char *rb = memchr(host, ']', hlen);
        if (!rb) {
            *why = "has an unterminated IPv6 host";
            return -1;
        }
        if ((size_t)(rb + 1 - host) < hlen) {
            if (rb[1] != ':') {
                *why = "has an invalid host";
                return -1;
            }
            port = rb + 2;
        }
    } else {
        const char *c = memchr(host, ':', hlen);
        if (c) {
            port = c + 1;
            hlen = (size_t)(c - host);
        }
    }
    if (hlen == 0) {
        *why = "has no host";
        return -1;
    }
    if (port) {
        size_t plen = (size_t)(auth + alen - port);
        long pv = 0;
        if (plen == 0 || plen > 5) {
            *why = "has an invalid port";
            return -1;
        }
        for (size_t i = 0; i < plen; i++) {
            if (port[i] < '0' || port[i] > '9') {
                *why = "has an invalid port";
                return -1;
            }
            pv = pv * 10 + (port[i] - '0');
        }
        if (pv < 1 || pv > 65535) {
            *why = "has an invalid port";
            return -1;
        }
    }
    if (*mqtt) {
        const char *path = auth + alen;
        if (path[0] != '/' || path[1] == '\0' || path[1] == '/' || strpbrk(path, "?#+")) {
            *why = "needs a topic (mqtt[s]://[user[:password]@]host[:port]/topic[/subtopic]*, "
                   "no wildcards)";
            return -1;
        }
    }
    return 0;
}

static int compile_kv(const json_t *o, const char *k, const char *path, struct pl_sub_kv **out,
                      size_t *n, struct pl_err *err)
{
    const json_t *a = json_object_get(o, k);
    if (!a)
        return 0;
    if (!json_is_array(a))
        return bad(err, "%s: must be an array of {\"key\", \"value\"} objects, not %s", path,
                   jtype(a));
    *out = calloc(json_array_size(a) ? json_array_size(a) : 1, sizeof **out);
    if (!*out)
        return nomem(err);
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        if (!json_is_object(e))
            return bad(err, "%s[%zu]: must be a KeyValuePair object, not %s", path, i, jtype(e));
        const json_t *kk = json_object_get(e, "key"), *vv = json_object_get(e, "value");
        if (!json_is_string(kk) || !*json_string_value(kk))
            return bad(err, "%s[%zu].key: must be a non-empty string", path, i);
        if (!json_is_string(vv))
            return bad(err, "%s[%zu].value: must be a string", path, i);
        (*out)[i].key = strdup(json_string_value(kk));
        (*out)[i].value = strdup(json_string_value(vv));
        *n = i + 1;
        if (!(*out)[i].key || !(*out)[i].value)
            return nomem(err);
    }
    return 0;
}

static int compile_endpoint(const json_t *ep, struct pl_sub *s, struct pl_err *err)
{
    char sb[SHOW_MAX + 4];
    if (!ep)
        return bad(err, "notification.endpoint: missing");
    if (!json_is_object(ep))
        return bad(err, "notification.endpoint: must be an Endpoint object, not %s", jtype(ep));
    int rc;
    if ((rc = get_str(ep, "uri", "notification.endpoint.uri", &s->uri, err)) != 0)
        return rc;
    if (!s->uri)
        return bad(err, "notification.endpoint.uri: missing");
    const char *why = NULL;
    if (check_uri(s->uri, &s->mqtt, &why) != 0)
        return bad(err, "notification.endpoint.uri: '%s' %s", shown(sb, s->uri), why);
    const json_t *acc = json_object_get(ep, "accept");
    if (acc) {
        const char *a = json_string_value(acc);
        if (!a)
            return bad(err, "notification.endpoint.accept: must be a string, not %s", jtype(acc));
        if (!strcmp(a, "application/json"))
            s->accept = PL_SUB_ACCEPT_JSON;
        else if (!strcmp(a, "application/ld+json"))
            s->accept = PL_SUB_ACCEPT_LDJSON;
        else if (!strcmp(a, "application/geo+json"))
            s->accept = PL_SUB_ACCEPT_GEOJSON;
        else
            return bad(err,
                       "notification.endpoint.accept: '%s' is not application/json, "
                       "application/ld+json or application/geo+json",
                       shown(sb, a));
        s->accept_given = 1;
    }
    if ((rc = get_pos_num(ep, "timeout", "notification.endpoint.timeout", &s->timeout_ms, err)) ||
        (rc = get_pos_num(ep, "cooldown", "notification.endpoint.cooldown", &s->cooldown_ms, err)))
        return rc;
    if ((rc = compile_kv(ep, "receiverInfo", "notification.endpoint.receiverInfo",
                         &s->receiver_info, &s->n_receiver_info, err)) ||
        (rc = compile_kv(ep, "notifierInfo", "notification.endpoint.notifierInfo",
                         &s->notifier_info, &s->n_notifier_info, err)))
        return rc;
    s->mqtt_v5 = 1;
    for (size_t i = 0; i < s->n_notifier_info; i++) {
        const char *k = s->notifier_info[i].key, *v = s->notifier_info[i].value;
        if (!strcmp(k, "MQTT-Version")) {
            if (!strcmp(v, "mqtt3.1.1"))
                s->mqtt_v5 = 0;
            else if (!strcmp(v, "mqtt5.0"))
                s->mqtt_v5 = 1;
            else
                return bad(err,
                           "notification.endpoint.notifierInfo[%zu].value: MQTT-Version '%s' is "
                           "not mqtt3.1.1 or mqtt5.0",
                           i, shown(sb, v));
        } else if (!strcmp(k, "MQTT-QoS")) {
            if (strlen(v) != 1 || v[0] < '0' || v[0] > '2')
                return bad(err,
                           "notification.endpoint.notifierInfo[%zu].value: MQTT-QoS '%s' is not "
                           "0, 1 or 2",
                           i, shown(sb, v));
            s->mqtt_qos = v[0] - '0';
        }
    }
    return 0;
}

static int compile_notification(const json_t *n, struct pl_sub *s, struct pl_err *err)
{
    char sb[SHOW_MAX + 4];
    if (!n)
        return bad(err, "notification: missing");
    if (!json_is_object(n))
        return bad(err, "notification: must be a NotificationParams object, not %s", jtype(n));
    int rc;
    if ((rc = get_strv(n, "attributes", "notification.attributes", &s->attrs, &s->n_attrs, err)) ||
        (rc = get_strv(n, "pick", "notification.pick", &s->pick, &s->n_pick, err)) ||
        (rc = get_strv(n, "omit", "notification.omit", &s->omit, &s->n_omit, err)))
        return rc;
    if (s->pick && s->omit)
        return bad(err, "notification.omit: pick and omit cannot be used together");
    const json_t *f = json_object_get(n, "format");
    if (f) {
        const char *fs = json_string_value(f);
        if (!fs)
            return bad(err, "notification.format: must be a string, not %s", jtype(f));
        if (!strcmp(fs, "normalized"))
            s->format = PL_SUB_FMT_NORMALIZED;
        else if (!strcmp(fs, "keyValues"))
            s->format = PL_SUB_FMT_KEYVALUES;
        else if (!strcmp(fs, "simplified"))
            s->format = PL_SUB_FMT_SIMPLIFIED;
        else if (!strcmp(fs, "concise"))
            s->format = PL_SUB_FMT_CONCISE;
        else
            return bad(err,
                       "notification.format: '%s' is not normalized, keyValues, simplified or "
                       "concise",
                       shown(sb, fs));
        s->format_given = 1;
    }
    if ((rc = get_bool(n, "sysAttrs", "notification.sysAttrs", &s->sys_attrs, err)) ||
        (rc = get_bool(n, "showChanges", "notification.showChanges", &s->show_changes, err)))
        return rc;
    if (s->show_changes &&
        (s->format == PL_SUB_FMT_KEYVALUES || s->format == PL_SUB_FMT_SIMPLIFIED))
        return bad(err, "notification.showChanges: cannot be true with the format %s",
                   s->format == PL_SUB_FMT_KEYVALUES ? "keyValues" : "simplified");
    return compile_endpoint(json_object_get(n, "endpoint"), s, err);
}

/* 5.2.12 datasetId: a URI, or "@none" for the default instances. */
static int valid_dataset_id(const char *d)
{
    return !strcmp(d, "@none") || (pl_is_uri(d) && strlen(d) <= PL_LIMITS_DEFAULT_IDLEN);
}

static int valid_lang(const char *l)
{
    if (!*l || strlen(l) > 256)
        return 0;
    for (const char *p = l; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("-_,;=.* ", c)))
            return 0;
    }
    return 1;
}

/* check_exp: expiresAt must be after now_ms. */
static int compile(const json_t *doc, int64_t now_ms, int check_exp, struct pl_sub **out,
                   struct pl_err *err)
{
    char sb[SHOW_MAX + 4];
    *out = NULL;
    if (!json_is_object(doc))
        return bad(err, "the subscription must be a JSON object, not %s", jtype(doc));
    struct pl_sub *s = calloc(1, sizeof *s);
    if (!s)
        return nomem(err);
    s->is_active = 1;
    s->triggers = PL_TRIG_DEFAULT;
    int rc = 0;
    const json_t *v;

#define TRY(x)                                                                                     \
    do {                                                                                           \
        if ((rc = (x)) != 0)                                                                       \
            goto fail;                                                                             \
    } while (0)

    TRY(get_str(doc, "id", "id", &s->id, err));
    if (s->id && (!pl_is_uri(s->id) || strlen(s->id) > PL_LIMITS_DEFAULT_IDLEN))
        TRY(bad(err, "id: '%s' is not a valid URI", shown(sb, s->id)));
    v = json_object_get(doc, "type");
    if (!v)
        TRY(bad(err, "type: missing (it shall be \"Subscription\")"));
    if (!json_is_string(v) || strcmp(json_string_value(v), "Subscription") != 0)
        TRY(bad(err, "type: must be \"Subscription\""));
    TRY(get_str(doc, "subscriptionName", "subscriptionName", &s->name, err));
    TRY(get_str(doc, "description", "description", &s->description, err));
    TRY(get_bool(doc, "localOnly", "localOnly", &s->local_only, err));
    TRY(get_bool(doc, "isActive", "isActive", &s->is_active, err));

    if ((v = json_object_get(doc, "entities")) != NULL)
        TRY(compile_entities(v, s, err));
    TRY(get_strv(doc, "watchedAttributes", "watchedAttributes", &s->watched, &s->n_watched, err));
    TRY(get_strv_valid(doc, "datasetId", "datasetId", &s->dataset_ids, &s->n_dataset_ids,
                       valid_dataset_id, "is neither a URI nor \"@none\"", err));

    if ((v = json_object_get(doc, "notificationTrigger")) != NULL) {
        static const char *const names[] = {"entityCreated",    "entityUpdated",
                                            "entityDeleted",    "attributeCreated",
                                            "attributeUpdated", "attributeDeleted"};
        if (!json_is_array(v))
            TRY(bad(err, "notificationTrigger: must be an array of strings, not %s", jtype(v)));
        if (json_array_size(v) == 0)
            TRY(bad(err, "notificationTrigger: an empty array is not allowed"));
        s->triggers = 0;
        s->triggers_given = 1;
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            const char *t = json_string_value(e);
            size_t j = 0;
            while (t && j < 6 && strcmp(t, names[j]) != 0)
                j++;
            if (!t || j == 6)
                TRY(bad(err,
                        "notificationTrigger[%zu]: '%s' is not entityCreated, entityUpdated, "
                        "entityDeleted, attributeCreated, attributeUpdated or attributeDeleted",
                        i, t ? shown(sb, t) : jtype(e)));
            s->triggers |= 1u << j;
        }
    }

    if ((v = json_object_get(doc, "q")) != NULL) {
        if (!json_is_string(v))
            TRY(bad(err, "q: must be a string, not %s", jtype(v)));
        if (!(s->q_text = strdup(json_string_value(v))))
            TRY(nomem(err));
        TRY(pl_q_parse(s->q_text, &s->q, err));
        const json_t *map = json_object_get(doc, "qNames");
        if (!json_is_object(map))
            TRY(bad(err, "q: the attribute names were not expanded"));
        TRY(q_apply_names(s->q, map, err));
    }
    if ((v = json_object_get(doc, "geoQ")) != NULL) {
        if (!json_is_object(v))
            TRY(bad(err, "geoQ: must be a GeoQuery object, not %s", jtype(v)));
        TRY(pl_geoq_from_json(v, &s->geoq, err));
        if (!valid_attr_name(s->geoq->geoproperty))
            TRY(bad(err, "geoQ.geoproperty: '%s' is not a valid attribute name",
                    shown(sb, s->geoq->geoproperty)));
    }
    if ((v = json_object_get(doc, "scopeQ")) != NULL) {
        if (!json_is_string(v))
            TRY(bad(err, "scopeQ: must be a string, not %s", jtype(v)));
        if (!(s->scopeq_text = strdup(json_string_value(v))))
            TRY(nomem(err));
        TRY(pl_scopeq_parse(s->scopeq_text, &s->scopeq, err));
    }
    TRY(get_str(doc, "lang", "lang", &s->lang, err));
    if (s->lang && !valid_lang(s->lang))
        TRY(bad(err, "lang: '%s' is not a language filter (4.15)", shown(sb, s->lang)));

    if ((v = json_object_get(doc, "expiresAt")) != NULL) {
        if (!json_is_string(v) || pl_time_parse(json_string_value(v), &s->expires_at_ms) != 0)
            TRY(bad(err, "expiresAt: '%s' is not a DateTime (4.6.3)",
                    json_is_string(v) ? shown(sb, json_string_value(v)) : jtype(v)));
        if (s->expires_at_ms == 0)
            s->expires_at_ms = 1; /* the epoch itself: keep "set" distinct from "absent" */
        if (check_exp && s->expires_at_ms <= now_ms)
            TRY(bad(err, "expiresAt: '%s' is not in the future", shown(sb, json_string_value(v))));
    }
    TRY(get_pos_num(doc, "throttling", "throttling", &s->throttling, err));
    TRY(get_pos_num(doc, "timeInterval", "timeInterval", &s->time_interval, err));
    if (s->time_interval > 0) {
        if (s->watched)
            TRY(bad(err, "timeInterval: cannot be used together with watchedAttributes"));
        if (s->throttling > 0)
            TRY(bad(err, "timeInterval: cannot be used together with throttling"));
        if (!s->entities && !s->local_only)
            TRY(bad(err, "entities: required when timeInterval is present"));
    }
    if (!s->entities && !s->watched && !s->local_only)
        TRY(bad(err, "entities: at least one of entities or watchedAttributes shall be present"));
    TRY(get_str(doc, "jsonldContext", "jsonldContext", &s->jsonld_context, err));
    if (s->jsonld_context && !pl_is_uri(s->jsonld_context))
        TRY(bad(err, "jsonldContext: '%s' is not a URI", shown(sb, s->jsonld_context)));
    v = json_object_get(doc, "@context");
    s->context = v ? json_deep_copy(v) : json_null();
    if (!s->context)
        TRY(nomem(err));

    TRY(compile_notification(json_object_get(doc, "notification"), s, err));
    s->any_type_ = s->n_entities == 0;
#undef TRY
    *out = s;
    return 0;
fail:
    pl_sub_free(s);
    return rc ? rc : PL_EINTERNAL;
}

/* ============================================================================================
 * Public: parse, patch, stored form
 * ========================================================================================== */

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
    rc = compile(doc, now_ms, 1, out, err);
    json_decref(doc);
    return rc;
}

int pl_sub_parse(const json_t *payload, const struct pl_ctx *ctx, struct pl_sub **out,
                 struct pl_err *err)
{
    return pl_sub_parse_at(payload, ctx, pl_time_now_ms(), out, err);
}

static void merge_members(json_t *dst, const json_t *src)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)src, k, v)
    {
        if (json_is_null(v))
            json_object_del(dst, k);
        else
            json_object_set(dst, k, v);
    }
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
        return bad(err, "id: the id of a subscription cannot be changed");
    }
    json_t *doc = pl_sub_to_stored(cur);
    if (!doc) {
        json_decref(frag);
        return nomem(err);
    }
    const char *k;
    json_t *v;
    json_object_foreach(frag, k, v)
    {
        if (!strcmp(k, "id"))
            continue;
        if (!strcmp(k, "notification") && json_is_object(v)) {
            json_t *n = json_object_get(doc, "notification");
            if (!json_is_object(n)) {
                json_object_set(doc, k, v);
                continue;
            }
            const char *nk;
            json_t *nv;
            json_object_foreach(v, nk, nv)
            {
                json_t *ep = json_object_get(n, "endpoint");
                if (!strcmp(nk, "endpoint") && json_is_object(nv) && json_is_object(ep))
                    merge_members(ep, nv);
                else if (json_is_null(nv))
                    json_object_del(n, nk);
                else
                    json_object_set(n, nk, nv);
            }
            continue;
        }
        if (json_is_null(v)) {
            json_object_del(doc, k);
            if (!strcmp(k, "q"))
                json_object_del(doc, "qNames");
        } else {
            json_object_set(doc, k, v);
        }
    }
    const json_t *exp = json_object_get(frag, "expiresAt");
    rc = compile(doc, now_ms, exp && !json_is_null(exp), out, err);
    json_decref(doc);
    json_decref(frag);
    return rc;
}

int pl_sub_patch(const struct pl_sub *cur, const json_t *fragment, const struct pl_ctx *ctx,
                 struct pl_sub **out, struct pl_err *err)
{
    return pl_sub_patch_at(cur, fragment, ctx, pl_time_now_ms(), out, err);
}

static json_t *strv_json(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

static json_t *kv_json(const struct pl_sub_kv *kv, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_pack("{s:s,s:s}", "key", kv[i].key, "value", kv[i].value));
    return a;
}

static const char *format_name(enum pl_sub_format f)
{
    switch (f) {
    case PL_SUB_FMT_KEYVALUES:
        return "keyValues";
    case PL_SUB_FMT_SIMPLIFIED:
        return "simplified";
    case PL_SUB_FMT_CONCISE:
        return "concise";
    default:
        return "normalized";
    }
}

const char *pl_sub_accept_name(const struct pl_sub *s)
{
    switch (s->accept) {
    case PL_SUB_ACCEPT_LDJSON:
        return "application/ld+json";
    case PL_SUB_ACCEPT_GEOJSON:
        return "application/geo+json";
    default:
        return "application/json";
    }
}

static const char *const trigger_names[] = {"entityCreated",    "entityUpdated",
                                            "entityDeleted",    "attributeCreated",
                                            "attributeUpdated", "attributeDeleted"};

const char *pl_sub_trigger_name(unsigned t)
{
    for (int i = 0; i < 6; i++) {
        if (t & (1u << i))
            return trigger_names[i];
    }
    return NULL;
}

/* The endpoint and notification parameters; `c` compacts names when not NULL. */
typedef json_t *(*name_fn)(const struct pl_ctx *c, const char *iri);

static json_t *name_iri(const struct pl_ctx *c, const char *iri)
{
    (void)c;
    return json_string(iri);
}

static json_t *name_compact(const struct pl_ctx *c, const char *iri)
{
    char *x = pl_ctx_compact(c, iri);
    json_t *s = json_string(x ? x : iri);
    free(x);
    return s;
}

static json_t *names_json(char *const *v, size_t n, name_fn fn, const struct pl_ctx *c,
                          int keep_core)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++) {
        if (keep_core && (!strcmp(v[i], "id") || !strcmp(v[i], "type") || !strcmp(v[i], "scope")))
            json_array_append_new(a, json_string(v[i]));
        else
            json_array_append_new(a, fn(c, v[i]));
    }
    return a;
}

static json_t *notification_json(const struct pl_sub *s, name_fn fn, const struct pl_ctx *c)
{
    json_t *n = json_object();
    if (s->attrs)
        json_object_set_new(n, "attributes", names_json(s->attrs, s->n_attrs, fn, c, 0));
    if (s->pick)
        json_object_set_new(n, "pick", names_json(s->pick, s->n_pick, fn, c, 1));
    if (s->omit)
        json_object_set_new(n, "omit", names_json(s->omit, s->n_omit, fn, c, 1));
    if (s->format_given)
        json_object_set_new(n, "format", json_string(format_name(s->format)));
    if (s->sys_attrs)
        json_object_set_new(n, "sysAttrs", json_true());
    if (s->show_changes)
        json_object_set_new(n, "showChanges", json_true());
    json_t *ep = json_object();
    json_object_set_new(ep, "uri", json_string(s->uri));
    if (s->accept_given)
        json_object_set_new(ep, "accept", json_string(pl_sub_accept_name(s)));
    if (s->timeout_ms > 0)
        json_object_set_new(ep, "timeout", num_json(s->timeout_ms));
    if (s->cooldown_ms > 0)
        json_object_set_new(ep, "cooldown", num_json(s->cooldown_ms));
    if (s->receiver_info)
        json_object_set_new(ep, "receiverInfo", kv_json(s->receiver_info, s->n_receiver_info));
    if (s->notifier_info)
        json_object_set_new(ep, "notifierInfo", kv_json(s->notifier_info, s->n_notifier_info));
    json_object_set_new(n, "endpoint", ep);
    return n;
}

static json_t *triggers_json(unsigned t)
{
    json_t *a = json_array();
    for (int i = 0; i < 6; i++) {
        if (t & (1u << i))
            json_array_append_new(a, json_string(trigger_names[i]));
    }
    return a;
}

json_t *pl_sub_to_stored(const struct pl_sub *s)
{
    json_t *d = json_object();
    if (!d)
        return NULL;
    if (s->id)
        json_object_set_new(d, "id", json_string(s->id));
    json_object_set_new(d, "type", json_string("Subscription"));
    if (s->name)
        json_object_set_new(d, "subscriptionName", json_string(s->name));
    if (s->description)
        json_object_set_new(d, "description", json_string(s->description));
    if (s->entities) {
        json_t *a = json_array();
        for (size_t i = 0; i < s->n_entities; i++) {
            const struct pl_sub_selector *e = &s->entities[i];
            json_t *o = json_object();
            if (e->id)
                json_object_set_new(o, "id", json_string(e->id));
            if (e->id_pattern)
                json_object_set_new(o, "idPattern", json_string(e->id_pattern));
            json_object_set_new(o, "type", json_string(e->type));
            json_t *map = json_object();
            ts_names(e->ts, map);
            json_object_set_new(o, "typeNames", map);
            json_array_append_new(a, o);
        }
        json_object_set_new(d, "entities", a);
    }
    if (s->watched)
        json_object_set_new(d, "watchedAttributes", strv_json(s->watched, s->n_watched));
    if (s->dataset_ids)
        json_object_set_new(d, "datasetId", strv_json(s->dataset_ids, s->n_dataset_ids));
    if (s->triggers_given)
        json_object_set_new(d, "notificationTrigger", triggers_json(s->triggers));
    if (s->q_text) {
        json_t *map = json_object();
        q_names(s->q, map);
        json_object_set_new(d, "q", json_string(s->q_text));
        json_object_set_new(d, "qNames", map);
    }
    if (s->geoq)
        json_object_set_new(d, "geoQ", pl_geoq_to_json(s->geoq));
    if (s->scopeq_text)
        json_object_set_new(d, "scopeQ", json_string(s->scopeq_text));
    if (s->lang)
        json_object_set_new(d, "lang", json_string(s->lang));
    if (s->expires_at_ms)
        json_object_set_new(d, "expiresAt", iso_json(s->expires_at_ms));
    json_object_set_new(d, "isActive", json_boolean(s->is_active));
    if (s->local_only)
        json_object_set_new(d, "localOnly", json_true());
    if (s->throttling > 0)
        json_object_set_new(d, "throttling", num_json(s->throttling));
    if (s->time_interval > 0)
        json_object_set_new(d, "timeInterval", num_json(s->time_interval));
    if (s->jsonld_context)
        json_object_set_new(d, "jsonldContext", json_string(s->jsonld_context));
    json_object_set_new(d, "@context", json_deep_copy(s->context));
    json_object_set_new(d, "notification", notification_json(s, name_iri, NULL));
    return d;
}

int pl_sub_from_stored(const json_t *stored, struct pl_sub **out, struct pl_err *err)
{
    return compile(stored, 0, 0, out, err);
}

/* The member of the stored form that holds the status counters (compile never reads it). */
#define STORED_STATUS "notificationStatus"

int pl_sub_stored_set_status(json_t *stored, const struct pl_sub_status *st)
{
    /* milliseconds as integers, not DateTime strings: exact, and nothing to parse on load */
    json_t *o =
        json_pack("{s:I,s:I,s:I,s:I,s:I}", "timesSent", (json_int_t)st->times_sent, "timesFailed",
                  (json_int_t)st->times_failed, "lastNotification",
                  (json_int_t)st->last_notification_ms, "lastSuccess",
                  (json_int_t)st->last_success_ms, "lastFailure", (json_int_t)st->last_failure_ms);
    if (!o || json_object_set_new(stored, STORED_STATUS, o) != 0)
        return PL_ENOMEM; /* json_object_set_new released `o` */
    return 0;
}

static int64_t stored_count(const json_t *o, const char *k)
{
    const json_t *v = json_object_get(o, k);
    return json_is_integer(v) && json_integer_value(v) >= 0 ? (int64_t)json_integer_value(v) : 0;
}

void pl_sub_stored_status(const json_t *stored, struct pl_sub_status *st)
{
    const json_t *o = json_object_get(stored, STORED_STATUS);
    st->times_sent = stored_count(o, "timesSent");
    st->times_failed = stored_count(o, "timesFailed");
    st->last_notification_ms = stored_count(o, "lastNotification");
    st->last_success_ms = stored_count(o, "lastSuccess");
    st->last_failure_ms = stored_count(o, "lastFailure");
}

/* ============================================================================================
 * GET rendering
 * ========================================================================================== */

const char *pl_sub_status_name(const struct pl_sub *s, int64_t now_ms)
{
    if (s->expires_at_ms && s->expires_at_ms <= now_ms)
        return "expired";
    return s->is_active ? "active" : "paused";
}

struct edit {
    size_t pos, len;
    char *repl; /* owned */
};

struct edits {
    struct edit *v;
    size_t n, cap;
    int nomem;
};

static void edit_add(struct edits *e, size_t pos, size_t len, char *repl)
{
    if (!repl) {
        e->nomem = 1;
        return;
    }
    if (e->n == e->cap) {
        size_t nc = e->cap ? e->cap * 2 : 8;
        struct edit *nv = realloc(e->v, nc * sizeof *nv);
        if (!nv) {
            free(repl);
            e->nomem = 1;
            return;
        }
        e->v = nv;
        e->cap = nc;
    }
    e->v[e->n++] = (struct edit){pos, len, repl};
}

static int edit_cmp(const void *a, const void *b)
{
    const struct edit *x = a, *y = b;
    return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Applies the edits to `text` (edits in increasing, non-overlapping positions). */
static char *edit_apply(const char *text, struct edits *e)
{
    if (e->n > 1)
        qsort(e->v, e->n, sizeof *e->v, edit_cmp);
    size_t tl = strlen(text), total = tl + 1;
    for (size_t i = 0; i < e->n; i++)
        total += strlen(e->v[i].repl);
    char *out = malloc(total);
    if (!out)
        return NULL;
    size_t o = 0, at = 0;
    for (size_t i = 0; i < e->n; i++) {
        if (e->v[i].pos < at || e->v[i].pos + e->v[i].len > tl)
            continue;
        memcpy(out + o, text + at, e->v[i].pos - at);
        o += e->v[i].pos - at;
        size_t rl = strlen(e->v[i].repl);
        memcpy(out + o, e->v[i].repl, rl);
        o += rl;
        at = e->v[i].pos + e->v[i].len;
    }
    memcpy(out + o, text + at, tl - at);
    out[o + tl - at] = '\0';
    return out;
}

static void edits_free(struct edits *e)
{
    for (size_t i = 0; i < e->n; i++)
        free(e->v[i].repl);
    free(e->v);
}

/* A name the q grammar can read back as one path element. */
static int q_name_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p >= 0x80))
        return 0;
    for (p++; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p >= 0x80 || strchr("_-:/#", *p)))
            return 0;
    }
    return 1;
}

static void q_edits(const struct pl_q_node *n, const char *text, const struct pl_ctx *ctx,
                    struct edits *e)
{
    if (n->kind != PL_Q_TERM) {
        for (size_t i = 0; i < n->n_kids; i++)
            q_edits(n->kids[i], text, ctx, e);
        return;
    }
    const struct pl_q_term *t = &n->term;
    size_t p = t->pos;
    if (text[p] == '!')
        p++;
    for (size_t k = 0; k < t->n_path; k++) {
        size_t l = strlen(t->path[k]);
        if (strncmp(text + p, t->path[k], l) != 0)
            return;
        if (!(k > 0 && t->special && k + 1 == t->n_path) && t->path_iri && t->path_iri[k]) {
            char *c = pl_ctx_compact(ctx, t->path_iri[k]);
            if (!c)
                e->nomem = 1;
            else if (strcmp(c, t->path[k]) != 0 && q_name_ok(c))
                edit_add(e, p, l, c);
            else
                free(c);
        }
        p += l;
        if (k + 1 < t->n_path) {
            if (text[p] != '.')
                return;
            p++;
        }
    }
}

static int ts_name_ok(const char *s)
{
    if (!*s || s[0] == '@')
        return 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f || strchr(",;|()", *p))
            return 0;
    }
    return strchr(s, ':') ? pl_is_uri(s) : pl_is_valid_name(s);
}

static void ts_edits(const struct pl_typesel *n, const char *text, const struct pl_ctx *ctx,
                     struct edits *e)
{
    if (n->kind != PL_TS_NAME) {
        for (size_t i = 0; i < n->n_kids; i++)
            ts_edits(n->kids[i], text, ctx, e);
        return;
    }
    size_t l = strlen(n->name);
    if (!n->name_iri || strncmp(text + n->pos, n->name, l) != 0)
        return;
    char *c = pl_ctx_compact(ctx, n->name_iri);
    if (!c)
        e->nomem = 1;
    else if (strcmp(c, n->name) != 0 && ts_name_ok(c))
        edit_add(e, n->pos, l, c);
    else
        free(c);
}

json_t *pl_sub_render(const struct pl_sub *s, const struct pl_ctx *ctx,
                      const struct pl_sub_status *st, int64_t now_ms)
{
    if (!ctx)
        ctx = pl_ctx_core();
    json_t *d = json_object();
    if (!d)
        return NULL;
    int nm = 0;
    if (s->id)
        json_object_set_new(d, "id", json_string(s->id));
    json_object_set_new(d, "type", json_string("Subscription"));
    if (s->name)
        json_object_set_new(d, "subscriptionName", json_string(s->name));
    if (s->description)
        json_object_set_new(d, "description", json_string(s->description));
    if (s->entities) {
        json_t *a = json_array();
        for (size_t i = 0; i < s->n_entities; i++) {
            const struct pl_sub_selector *e = &s->entities[i];
            json_t *o = json_object();
            if (e->id)
                json_object_set_new(o, "id", json_string(e->id));
            if (e->id_pattern)
                json_object_set_new(o, "idPattern", json_string(e->id_pattern));
            struct edits ed = {0};
            ts_edits(e->ts, e->type, ctx, &ed);
            char *t = edit_apply(e->type, &ed);
            nm |= ed.nomem || !t;
            edits_free(&ed);
            json_object_set_new(o, "type", json_string(t ? t : e->type));
            free(t);
            json_array_append_new(a, o);
        }
        json_object_set_new(d, "entities", a);
    }
    if (s->watched)
        json_object_set_new(d, "watchedAttributes",
                            names_json(s->watched, s->n_watched, name_compact, ctx, 0));
    if (s->dataset_ids)
        json_object_set_new(d, "datasetId", strv_json(s->dataset_ids, s->n_dataset_ids));
    if (s->triggers_given)
        json_object_set_new(d, "notificationTrigger", triggers_json(s->triggers));
    if (s->q_text) {
        struct edits ed = {0};
        q_edits(s->q, s->q_text, ctx, &ed);
        char *t = edit_apply(s->q_text, &ed);
        nm |= ed.nomem || !t;
        edits_free(&ed);
        json_object_set_new(d, "q", json_string(t ? t : s->q_text));
        free(t);
    }
    if (s->geoq) {
        json_t *g = pl_geoq_to_json(s->geoq);
        if (g)
            json_object_set_new(g, "geoproperty", name_compact(ctx, s->geoq->geoproperty));
        json_object_set_new(d, "geoQ", g);
    }
    if (s->scopeq_text)
        json_object_set_new(d, "scopeQ", json_string(s->scopeq_text));
    if (s->lang)
        json_object_set_new(d, "lang", json_string(s->lang));
    if (s->expires_at_ms)
        json_object_set_new(d, "expiresAt", iso_json(s->expires_at_ms));
    json_object_set_new(d, "isActive", json_boolean(s->is_active));
    json_object_set_new(d, "status", json_string(pl_sub_status_name(s, now_ms)));
    if (s->local_only)
        json_object_set_new(d, "localOnly", json_true());
    if (s->throttling > 0)
        json_object_set_new(d, "throttling", num_json(s->throttling));
    if (s->time_interval > 0)
        json_object_set_new(d, "timeInterval", num_json(s->time_interval));
    if (s->jsonld_context)
        json_object_set_new(d, "jsonldContext", json_string(s->jsonld_context));
    json_t *n = notification_json(s, name_compact, ctx);
    if (st && n) {
        json_object_set_new(n, "timesSent", json_integer(st->times_sent));
        json_object_set_new(n, "timesFailed", json_integer(st->times_failed));
        if (st->last_notification_ms)
            json_object_set_new(n, "lastNotification", iso_json(st->last_notification_ms));
        if (st->last_success_ms)
            json_object_set_new(n, "lastSuccess", iso_json(st->last_success_ms));
        if (st->last_failure_ms)
            json_object_set_new(n, "lastFailure", iso_json(st->last_failure_ms));
        if (st->last_success_ms || st->last_failure_ms)
            json_object_set_new(
                n, "status",
                json_string(st->last_failure_ms > st->last_success_ms ? "failed" : "ok"));
    }
    json_object_set_new(d, "notification", n);
    if (nm) {
        json_decref(d);
        return NULL;
    }
    return d;
}

/* ============================================================================================
 * Matching
 * ========================================================================================== */

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
    return !s->watched || in_strv(s->watched, s->n_watched, iri);
}

static const char *dsid(const json_t *inst)
{
    return json_string_value(json_object_get(inst, "datasetId"));
}

static const json_t *find_inst(const json_t *insts, const char *ds)
{
    size_t i;
    json_t *x;
    json_array_foreach(insts, i, x)
    {
        const char *d = dsid(x);
        if ((!d && !ds) || (d && ds && !strcmp(d, ds)))
            return x;
    }
    return NULL;
}

static int inst_equal(const json_t *a, const json_t *b);

/* A "sub" member value: one instance or an array of instances. */
static int sub_value_equal(const json_t *a, const json_t *b)
{
    if (json_is_array(a) && json_is_array(b)) {
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++) {
            if (!inst_equal(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        }
        return 1;
    }
    return inst_equal(a, b);
}

/* Equality of two instances, createdAt/modifiedAt ignored at every instance level. */
static int inst_equal(const json_t *a, const json_t *b)
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
        const json_t *o = find_inst(bi, dsid(x));
        if (!o)
            c |= PL_TRIG_ATTR_CREATED;
        else if (!inst_equal(o, x))
            c |= PL_TRIG_ATTR_UPDATED;
    }
    json_array_foreach(bi, i, x)
    {
        if (!find_inst(ai, dsid(x)))
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
static json_t *select_datasets(const struct pl_sub *s, const json_t *e)
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
            const char *d = dsid(x);
            if (in_strv(s->dataset_ids, s->n_dataset_ids, d ? d : "@none"))
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

/* ---- The change summary: what changed, once per change, for every subscription ---------- */

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
        json_t *b = select_datasets(s, c->before), *a = select_datasets(s, c->after);
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

/* ============================================================================================
 * Notifications
 * ========================================================================================== */

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
        return name_compact(ctx, json_string_value(p));
    json_t *a = json_array();
    size_t i;
    json_t *x;
    json_array_foreach(p, i, x) json_array_append_new(
        a, json_is_string(x) ? name_compact(ctx, json_string_value(x)) : json_deep_copy(x));
    return a;
}

/* 1 when attribute `iri` is projected into notifications (attributes, pick, omit). */
static int attr_projected(const struct pl_sub *s, const struct pl_ctx *ctx, const char *iri)
{
    if (s->attrs && !in_strv(s->attrs, s->n_attrs, iri))
        return 0;
    if (!s->pick && !s->omit)
        return 1;
    char *c = pl_ctx_compact(ctx, iri);
    const char *cn = c ? c : iri;
    int keep = 1;
    if (s->pick && !in_strv(s->pick, s->n_pick, iri) && !in_strv(s->pick, s->n_pick, cn))
        keep = 0;
    if (s->omit && (in_strv(s->omit, s->n_omit, iri) || in_strv(s->omit, s->n_omit, cn)))
        keep = 0;
    free(c);
    return keep;
}

static int kv_format(const struct pl_sub *s)
{
    return s->format == PL_SUB_FMT_KEYVALUES || s->format == PL_SUB_FMT_SIMPLIFIED;
}

/* showChanges: previous payloads on the rendered instances of `after` found in `before`. */
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
            const json_t *b = find_inst(bi, dsid(a));
            if (!b)
                continue;
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
            if (!find_inst(ai, dsid(x)))
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
                if (ng == 1 && !dsid(g0)) {
                    json_object_set_new(r, key, json_string(NGSI_NULL));
                } else {
                    json_t *ds = json_object();
                    json_array_foreach(gone, i, x) json_object_set_new(
                        ds, dsid(x) ? dsid(x) : "@none", json_string(NGSI_NULL));
                    json_object_set_new(r, key, json_pack("{s:o}", "dataset", ds));
                }
            }
        } else if (whole && ng == 1 && !dsid(g0) && !s->sys_attrs && !s->show_changes) {
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
                if (dsid(x))
                    json_object_set_new(o, "datasetId", json_string(dsid(x)));
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

/* One entity of `data` for one change; NULL when it cannot be rendered. */
static json_t *render_change_sel(const struct pl_sub *s, const struct pl_ctx *ctx,
                                 const json_t *before, const json_t *after, int64_t now_ms);

/* One entity of `data` for one change, with the subscription's datasetId selection applied. */
static json_t *render_change(const struct pl_sub *s, const struct pl_ctx *ctx, const json_t *before,
                             const json_t *after, int64_t now_ms)
{
    if (!s->dataset_ids)
        return render_change_sel(s, ctx, before, after, now_ms);
    json_t *b = select_datasets(s, before), *a = select_datasets(s, after);
    json_t *r = (before && !b) || (after && !a) ? NULL : render_change_sel(s, ctx, b, a, now_ms);
    json_decref(b);
    json_decref(a);
    return r;
}

static json_t *render_change_sel(const struct pl_sub *s, const struct pl_ctx *ctx,
                                 const json_t *before, const json_t *after, int64_t now_ms)
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
        if (pl_entity_render(ctx, after, &o, &r, &err) != 0)
            return NULL;
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
    const json_t *inst = find_inst(insts, NULL);
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
 * reference; NULL when the change renders nothing. */
static json_t *data_element(const struct pl_sub *s, const struct pl_ctx *ctx, const json_t *before,
                            const json_t *after, int64_t now_ms)
{
    json_t *r = render_change(s, ctx, before, after, now_ms);
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
        json_t *r =
            data_element(s, ctx, before ? before[i] : NULL, after ? after[i] : NULL, now_ms);
        if (r)
            json_array_append_new(data, r);
    }
    char u[37];
    uuid4(u);
    char nid[64];
    snprintf(nid, sizeof nid, "urn:ngsi-ld:Notification:%s", u);
    json_t *body = json_object();
    json_object_set_new(body, "id", json_string(nid));
    json_object_set_new(body, "type", json_string("Notification"));
    json_object_set_new(body, "subscriptionId", json_string(s->id ? s->id : ""));
    json_object_set_new(body, "notifiedAt", iso_json(now_ms));
    if (s->accept == PL_SUB_ACCEPT_GEOJSON)
        json_object_set_new(body, "data",
                            json_pack("{s:s,s:o}", "type", "FeatureCollection", "features", data));
    else
        json_object_set_new(body, "data", data);
    if (s->accept == PL_SUB_ACCEPT_LDJSON)
        json_object_set_new(body, "@context", pl_sub_context_member(s));
    return body;
}

/* ---- Notifications as text ------------------------------------------------------------- */

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

char *pl_sub_render_sig(const struct pl_sub *s)
{
    /* every member render_change and feature read, nothing else */
    struct pl_strbuf b;
    pl_strbuf_init(&b);
    pl_strbuf_printf(&b, "f%d s%d c%d a%d l%s\x1e", (int)render_format(s), s->sys_attrs,
                     s->show_changes, (int)s->accept, s->lang ? s->lang : "\x1d");
    sig_strv(&b, 'A', s->attrs, s->n_attrs, s->attrs != NULL);
    sig_strv(&b, 'P', s->pick, s->n_pick, s->pick != NULL);
    sig_strv(&b, 'O', s->omit, s->n_omit, s->omit != NULL);
    sig_strv(&b, 'D', s->dataset_ids, s->n_dataset_ids, s->dataset_ids != NULL);
    if (s->accept == PL_SUB_ACCEPT_GEOJSON)
        pl_strbuf_puts(&b, s->geoq ? s->geoq->geoproperty : PL_GEOQ_LOCATION_IRI);
    return pl_strbuf_take(&b, NULL);
}

char *pl_sub_render_item(const struct pl_sub *s, const struct pl_ctx *ctx, const json_t *before,
                         const json_t *after, int64_t now_ms, size_t *len)
{
    if (!ctx)
        ctx = pl_ctx_core();
    json_t *r = data_element(s, ctx, before, after, now_ms);
    if (!r)
        return NULL;
    char *text = json_dumps(r, JSON_COMPACT);
    json_decref(r);
    if (text)
        *len = pl_json_shorten_reals(text);
    return text;
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

void pl_sub_notification_text(const struct pl_sub *s, const char *const *items, const size_t *lens,
                              size_t n, int64_t now_ms, struct pl_strbuf *b)
{
    char u[37], nid[64], at[PL_TIME_ISO_LEN];
    uuid4(u);
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
        append_json(b, pl_sub_context_member(s));
    }
    pl_strbuf_putc(b, '}');
}
