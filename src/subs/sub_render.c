/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sub_render.c — a subscription as JSON: the stored form (expanded names, context-free), the
 * notification status counters kept beside it, and the GET representation (5.2.12) compacted
 * with the request's @context, names inside q and type selections included.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ngsild/entity.h"
#include "ngsild/linked.h"
#include "subs/sub_int.h"

/* A JSON number for `x`: an integer when it is one. */
static json_t *num_json(double x)
{
    if (x == floor(x) && fabs(x) < 9007199254740992.0)
        return json_integer((json_int_t)x);
    return json_real(x);
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

/* The endpoint and notification parameters; `c` compacts names when not NULL. */
typedef json_t *(*name_fn)(const struct pl_ctx *c, const char *iri);

static json_t *name_iri(const struct pl_ctx *c, const char *iri)
{
    (void)c;
    return json_string(iri);
}

static json_t *names_json(char *const *v, size_t n, name_fn fn, const struct pl_ctx *c)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, fn(c, v[i]));
    return a;
}

struct compact_cb {
    name_fn fn;
    const struct pl_ctx *c;
};

static char *compact_name(void *ud, const char *iri)
{
    const struct compact_cb *cb = ud;
    json_t *j = cb->fn(cb->c, iri);
    char *t = json_string_value(j) ? strdup(json_string_value(j)) : NULL;
    json_decref(j);
    return t;
}

/* notification.pick / omit: one item per top-level term of the 4.21 projection, names written
 * with `fn` ("rel{a,b}" keeps its Linked Entity terms). */
static json_t *projection_json(const struct pl_proj *p, name_fn fn, const struct pl_ctx *c)
{
    struct compact_cb cb = {fn, c};
    json_t *a = json_array();
    for (size_t i = 0; a && i < p->n; i++) {
        char *t = pl_proj_format_term(p, i, compact_name, &cb);
        json_array_append_new(a, t ? json_string(t) : json_null());
        free(t);
    }
    return a;
}

static json_t *notification_json(const struct pl_sub *s, name_fn fn, const struct pl_ctx *c)
{
    json_t *n = json_object();
    if (s->attrs)
        json_object_set_new(n, "attributes", names_json(s->attrs, s->n_attrs, fn, c));
    if (s->pick_proj)
        json_object_set_new(n, "pick", projection_json(s->pick_proj, fn, c));
    if (s->omit_proj)
        json_object_set_new(n, "omit", projection_json(s->omit_proj, fn, c));
    if (s->format_given)
        json_object_set_new(n, "format", json_string(format_name(s->format)));
    if (s->sys_attrs)
        json_object_set_new(n, "sysAttrs", json_true());
    if (s->show_changes)
        json_object_set_new(n, "showChanges", json_true());
    if (s->join)
        json_object_set_new(n, "join", json_string(s->join == PL_JOIN_FLAT ? "flat" : "inline"));
    if (s->join_level)
        json_object_set_new(n, "joinLevel", json_integer(s->join_level));
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
            json_array_append_new(a, json_string(pl_sub__trigger_names[i]));
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
            pl_sub__ts_names(e->ts, map);
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
        pl_sub__q_names(s->q, map);
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
        json_object_set_new(d, "expiresAt", pl_sub__iso_json(s->expires_at_ms));
    if (s->is_active_given)
        json_object_set_new(d, "isActive", json_boolean(s->is_active));
    if (s->local_only)
        json_object_set_new(d, "localOnly", json_true());
    if (s->throttling > 0)
        json_object_set_new(d, "throttling", num_json(s->throttling));
    if (s->time_interval > 0)
        json_object_set_new(d, "timeInterval", num_json(s->time_interval));
    if (s->jsonld_context)
        json_object_set_new(d, "jsonldContext", json_string(s->jsonld_context));
    if (s->temporal_q)
        json_object_set_new(d, "temporalQ", json_deep_copy(s->temporal_q));
    if (s->json_keys)
        json_object_set_new(d, "jsonKeys", json_string(s->json_keys));
    if (s->conformance)
        json_object_set_new(d, "ngsildConformance", json_string(s->conformance));
    json_object_set_new(d, "@context", json_deep_copy(s->context));
    json_object_set_new(d, "notification", notification_json(s, name_iri, NULL));
    if (pl_sub__owner_to_stored(s, d) != 0) {
        json_decref(d);
        return NULL;
    }
    return d;
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
                            names_json(s->watched, s->n_watched, pl_sub__name_compact, ctx));
    if (s->dataset_ids)
        json_object_set_new(d, "datasetId", strv_json(s->dataset_ids, s->n_dataset_ids));
    /* 5.2.12: the default (attributeCreated, attributeUpdated) when the client set none */
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
            json_object_set_new(g, "geoproperty", pl_sub__name_compact(ctx, s->geoq->geoproperty));
        json_object_set_new(d, "geoQ", g);
    }
    if (s->scopeq_text)
        json_object_set_new(d, "scopeQ", json_string(s->scopeq_text));
    if (s->lang)
        json_object_set_new(d, "lang", json_string(s->lang));
    if (s->expires_at_ms)
        json_object_set_new(d, "expiresAt", pl_sub__iso_json(s->expires_at_ms));
    if (s->is_active_given)
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
    if (s->temporal_q)
        json_object_set_new(d, "temporalQ", json_deep_copy(s->temporal_q));
    if (s->json_keys)
        json_object_set_new(d, "jsonKeys", json_string(s->json_keys));
    if (s->conformance)
        json_object_set_new(d, "ngsildConformance", json_string(s->conformance));
    json_t *n = notification_json(s, pl_sub__name_compact, ctx);
    if (st && n) {
        /* 5.2.14: counters that have a value only (timesSent / timesFailed are >= 1) */
        if (st->times_sent > 0)
            json_object_set_new(n, "timesSent", json_integer(st->times_sent));
        if (st->times_failed > 0)
            json_object_set_new(n, "timesFailed", json_integer(st->times_failed));
        if (st->last_notification_ms)
            json_object_set_new(n, "lastNotification", pl_sub__iso_json(st->last_notification_ms));
        if (st->last_success_ms)
            json_object_set_new(n, "lastSuccess", pl_sub__iso_json(st->last_success_ms));
        if (st->last_failure_ms)
            json_object_set_new(n, "lastFailure", pl_sub__iso_json(st->last_failure_ms));
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
