/* SPDX-License-Identifier: Apache-2.0 */
/*
 * subscription.c — NGSI-LD Subscriptions: the struct's lifetime, new ids, and the small helpers
 * the other files of the module share (sub_int.h). See subscription.h for the rules and
 * choices, sub_int.h for which file does what.
 */
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "base/limits.h"
#include "base/timeutil.h"
#include "ngsild/entity.h"
#include "subs/sub_int.h"

int pl_sub__bad(struct pl_err *err, const char *fmt, ...)
{
    char buf[PL_ERR_DETAIL_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return pl_err_set(err, PL_EBADREQUESTDATA, "%s", buf);
}

int pl_sub__nomem(struct pl_err *err)
{
    return pl_err_set(err, PL_ENOMEM, "out of memory");
}

/* A printable, truncated copy of `s` for error details. */
const char *pl_sub__shown(char buf[SHOW_MAX + 4], const char *s)
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

const char *pl_sub__jtype(const json_t *v)
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
int pl_sub__prefix_err(struct pl_err *err, int rc, const char *prefix)
{
    if (!err)
        return rc;
    char buf[PL_ERR_DETAIL_MAX];
    snprintf(buf, sizeof buf, "%s", err->detail);
    pl_err_set(err, rc, "%s%s", prefix, buf);
    return rc;
}

void pl_sub__strv_free(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

int pl_sub__in_strv(char *const *v, size_t n, const char *s)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i], s) == 0)
            return 1;
    }
    return 0;
}

json_t *pl_sub__iso_json(int64_t ms)
{
    char buf[PL_TIME_ISO_LEN];
    pl_time_format(ms, buf);
    return json_string(buf);
}

int pl_sub__uuid4(char out[37])
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
    pl_sub__uuid4(u);
    static const char pre[] = "urn:ngsi-ld:Subscription:";
    char *s = malloc(sizeof pre + 36);
    if (s)
        snprintf(s, sizeof pre + 36, "%s%s", pre, u);
    return s;
}

/* 4.6.2 attribute name, or a URI. */
int pl_sub__valid_attr_name(const char *s)
{
    return s && *s && s[0] != '@' && pl_is_valid_name(s) && strlen(s) <= PL_LIMITS_DEFAULT_IDLEN;
}

/* Collects {name: IRI} of a resolved q tree. */
void pl_sub__q_names(const struct pl_q_node *n, json_t *map)
{
    if (!n)
        return;
    if (n->kind != PL_Q_TERM) {
        for (size_t i = 0; i < n->n_kids; i++)
            pl_sub__q_names(n->kids[i], map);
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

void pl_sub__ts_names(const struct pl_typesel *n, json_t *map)
{
    if (n->kind == PL_TS_NAME) {
        if (n->name_iri)
            json_object_set_new(map, n->name, json_string(n->name_iri));
        return;
    }
    for (size_t i = 0; i < n->n_kids; i++)
        pl_sub__ts_names(n->kids[i], map);
}

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
    pl_sub__strv_free(s->watched, s->n_watched);
    pl_sub__strv_free(s->dataset_ids, s->n_dataset_ids);
    free(s->q_text);
    pl_q_free(s->q);
    pl_geoq_free(s->geoq);
    free(s->scopeq_text);
    pl_scopeq_free(s->scopeq);
    free(s->lang);
    free(s->jsonld_context);
    json_decref(s->temporal_q);
    free(s->json_keys);
    free(s->conformance);
    json_decref(s->context);
    pl_sub__strv_free(s->attrs, s->n_attrs);
    pl_sub__strv_free(s->pick, s->n_pick);
    pl_sub__strv_free(s->omit, s->n_omit);
    pl_proj_free(s->pick_proj);
    pl_proj_free(s->omit_proj);
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
    pl_principal_unref(s->owner);
    free(s);
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

const char *const pl_sub__trigger_names[] = {"entityCreated",    "entityUpdated",
                                             "entityDeleted",    "attributeCreated",
                                             "attributeUpdated", "attributeDeleted"};

const char *pl_sub_trigger_name(unsigned t)
{
    for (int i = 0; i < 6; i++) {
        if (t & (1u << i))
            return pl_sub__trigger_names[i];
    }
    return NULL;
}

json_t *pl_sub__name_compact(const struct pl_ctx *c, const char *iri)
{
    char *x = pl_ctx_compact(c, iri);
    json_t *s = json_string(x ? x : iri);
    free(x);
    return s;
}
