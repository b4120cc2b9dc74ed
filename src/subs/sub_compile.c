/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sub_compile.c — step 2 of building a subscription: an expanded document (from sub_parse.c,
 * or the stored form read back) is validated member by member (5.2.12, 5.2.14, 5.2.15, 5.2.33)
 * and compiled into the struct pl_sub the matcher reads: the compiled idPattern, the q and type
 * selections resolved from their stored name maps, the index keys. No @context is needed here.
 */
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/limits.h"
#include "base/strbuf.h"
#include "base/timeutil.h"
#include "ngsild/conform.h"
#include "ngsild/entity.h"
#include "ngsild/linked.h"
#include "query/temporalq.h"
#include "subs/sub_int.h"

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
        return pl_sub__nomem(err);
    for (size_t k = 0; k < t->n_path; k++) {
        const char *v;
        if (k > 0 && t->special && k + 1 == t->n_path)
            v = t->path[k];
        else
            v = json_string_value(json_object_get(map, t->path[k]));
        if (!v) {
            pl_sub__strv_free(iris, t->n_path);
            char sb[SHOW_MAX + 4];
            return pl_sub__bad(err, "q: no expansion stored for the name '%s'",
                               pl_sub__shown(sb, t->path[k]));
        }
        if (!(iris[k] = strdup(v))) {
            pl_sub__strv_free(iris, t->n_path);
            return pl_sub__nomem(err);
        }
    }
    pl_sub__strv_free(t->path_iri, t->n_path);
    t->path_iri = iris;
    return 0;
}

static int ts_apply_names(struct pl_typesel *n, const json_t *map, const char *path,
                          struct pl_err *err)
{
    if (n->kind == PL_TS_NAME) {
        const char *v = json_string_value(json_object_get(map, n->name));
        char sb[SHOW_MAX + 4];
        if (!v)
            return pl_sub__bad(err, "%s: no expansion stored for the type '%s'", path,
                               pl_sub__shown(sb, n->name));
        free(n->name_iri);
        if (!(n->name_iri = strdup(v)))
            return pl_sub__nomem(err);
        return 0;
    }
    for (size_t i = 0; i < n->n_kids; i++) {
        int rc = ts_apply_names(n->kids[i], map, path, err);
        if (rc)
            return rc;
    }
    return 0;
}

/* Optional string member. */
static int get_str(const json_t *o, const char *k, const char *path, char **out, struct pl_err *err)
{
    const json_t *v = json_object_get(o, k);
    if (!v)
        return 0;
    if (!json_is_string(v))
        return pl_sub__bad(err, "%s: must be a string, not %s", path, pl_sub__jtype(v));
    if (!(*out = strdup(json_string_value(v))))
        return pl_sub__nomem(err);
    return 0;
}

static int get_bool(const json_t *o, const char *k, const char *path, int *out, struct pl_err *err)
{
    const json_t *v = json_object_get(o, k);
    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return pl_sub__bad(err, "%s: must be true or false, not %s", path, pl_sub__jtype(v));
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
        return pl_sub__bad(err, "%s: must be a number greater than 0, not %s", path,
                           pl_sub__jtype(v));
    double x = json_number_value(v);
    if (!(x > 0) || !isfinite(x))
        return pl_sub__bad(err, "%s: must be greater than 0", path);
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
        return pl_sub__bad(err, "%s: must be an array of strings, not %s", path, pl_sub__jtype(a));
    if (json_array_size(a) == 0)
        return pl_sub__bad(err, "%s: an empty array is not allowed", path);
    *v = calloc(json_array_size(a), sizeof **v);
    if (!*v)
        return pl_sub__nomem(err);
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        if (!json_is_string(e))
            return pl_sub__bad(err, "%s[%zu]: must be a string, not %s", path, i, pl_sub__jtype(e));
        const char *s = json_string_value(e);
        char sb[SHOW_MAX + 4];
        if (!valid(s))
            return pl_sub__bad(err, "%s[%zu]: '%s' %s", path, i, pl_sub__shown(sb, s), why);
        if (pl_sub__in_strv(*v, *n, s))
            continue; /* duplicates collapse */
        if (!((*v)[*n] = strdup(s)))
            return pl_sub__nomem(err);
        (*n)++;
    }
    return 0;
}

/* Optional non-empty array of attribute names already expanded (or names). */
static int get_strv(const json_t *o, const char *k, const char *path, char ***v, size_t *n,
                    struct pl_err *err)
{
    return get_strv_valid(o, k, path, v, n, pl_sub__valid_attr_name,
                          "is not a valid attribute name", err);
}

/*
 * notification.pick / omit (the stored form: one expanded 4.21 term per item): *proj the whole
 * projection, and *v the top-level terms (pick) or those written without "{...}" (omit:
 * `leaves`), duplicates collapsed.
 */
static int get_projection(const json_t *o, const char *k, const char *path, int leaves,
                          char ***v, size_t *n, struct pl_proj **proj, struct pl_err *err)
{
    const json_t *a = json_object_get(o, k);
    if (!a)
        return 0;
    if (!json_is_array(a))
        return pl_sub__bad(err, "%s: must be an array of strings, not %s", path, pl_sub__jtype(a));
    if (json_array_size(a) == 0)
        return pl_sub__bad(err, "%s: an empty array is not allowed", path);
    struct pl_strbuf b;
    pl_strbuf_init(&b);
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        if (!json_is_string(e)) {
            pl_strbuf_dispose(&b);
            return pl_sub__bad(err, "%s[%zu]: must be a string, not %s", path, i, pl_sub__jtype(e));
        }
        if (i)
            pl_strbuf_putc(&b, ',');
        pl_strbuf_puts(&b, json_string_value(e));
    }
    char *text = pl_strbuf_take(&b, NULL);
    if (!text)
        return pl_sub__nomem(err);
    struct pl_err perr;
    pl_err_clear(&perr);
    /* the names are IRIs already: the core context leaves them as they are */
    int rc = pl_proj_parse(path, text, pl_ctx_core(), PL_PROJ_MEMBERS, proj, &perr);
    free(text);
    if (rc)
        return rc == PL_ENOMEM ? pl_sub__nomem(err) : pl_sub__bad(err, "%s", perr.detail);
    size_t cnt = leaves ? (*proj)->n_leaves : (*proj)->n;
    const char **src = leaves ? (*proj)->leaves : (*proj)->names;
    *v = calloc(cnt ? cnt : 1, sizeof **v);
    if (!*v)
        return pl_sub__nomem(err);
    for (size_t j = 0; j < cnt; j++) {
        if (pl_sub__in_strv(*v, *n, src[j]))
            continue;
        if (!((*v)[*n] = strdup(src[j])))
            return pl_sub__nomem(err);
        (*n)++;
    }
    return 0;
}

/* idPattern: safety checks of the q regex parser, then our own compiled copy. */
static int compile_id_pattern(const char *pat, const char *path, void **out, struct pl_err *err)
{
    char sb[SHOW_MAX + 4];
    if (!*pat)
        return pl_sub__bad(err, "%s: an empty pattern is not allowed", path);
    json_t *js = json_string(pat);
    char *quoted = js ? json_dumps(js, JSON_ENCODE_ANY) : NULL;
    json_decref(js);
    if (!quoted)
        return pl_sub__nomem(err);
    size_t n = strlen(quoted) + 8;
    char *q = malloc(n);
    if (!q) {
        free(quoted);
        return pl_sub__nomem(err);
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
        return pl_sub__nomem(err);
    if (rc)
        return pl_sub__bad(err, "%s: '%s' is not a valid regular expression", path,
                           pl_sub__shown(sb, pat));
    int flags = REG_EXTENDED | REG_NOSUB;
    if (!strncmp(pat, "(?i)", 4)) {
        flags |= REG_ICASE;
        pat += 4;
    }
    regex_t *re = malloc(sizeof *re);
    if (!re)
        return pl_sub__nomem(err);
    if (regcomp(re, pat, flags) != 0) {
        free(re);
        return pl_sub__bad(err, "%s: '%s' is not a valid regular expression", path,
                           pl_sub__shown(sb, pat));
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
        return pl_sub__bad(err, "entities: must be an array of EntitySelector objects, not %s",
                           pl_sub__jtype(a));
    if (json_array_size(a) == 0)
        return pl_sub__bad(err, "entities: an empty array is not allowed");
    s->entities = calloc(json_array_size(a), sizeof *s->entities);
    if (!s->entities)
        return pl_sub__nomem(err);
    size_t i;
    json_t *e;
    char path[64], sb[SHOW_MAX + 4];
    json_array_foreach(a, i, e)
    {
        struct pl_sub_selector *sel = &s->entities[i];
        s->n_entities = i + 1;
        snprintf(path, sizeof path, "entities[%zu]", i);
        if (!json_is_object(e))
            return pl_sub__bad(err, "%s: must be an object, not %s", path, pl_sub__jtype(e));
        char p2[80];
        int rc;
        snprintf(p2, sizeof p2, "%s.id", path);
        if ((rc = get_str(e, "id", p2, &sel->id, err)) != 0)
            return rc;
        if (sel->id && (!pl_is_uri(sel->id) || strlen(sel->id) > PL_LIMITS_DEFAULT_IDLEN))
            return pl_sub__bad(err, "%s: '%s' is not a valid URI", p2, pl_sub__shown(sb, sel->id));
        snprintf(p2, sizeof p2, "%s.idPattern", path);
        if ((rc = get_str(e, "idPattern", p2, &sel->id_pattern, err)) != 0)
            return rc;
        if (sel->id_pattern && (rc = compile_id_pattern(sel->id_pattern, p2, &sel->re, err)) != 0)
            return rc;
        snprintf(p2, sizeof p2, "%s.type", path);
        if ((rc = get_str(e, "type", p2, &sel->type, err)) != 0)
            return rc;
        if (!sel->type)
            return pl_sub__bad(err, "%s: missing (an EntitySelector needs a type)", p2);
        if ((rc = pl_typesel_parse(sel->type, &sel->ts, err)) != 0) {
            snprintf(p2, sizeof p2, "%s.", path);
            return pl_sub__prefix_err(err, rc, p2);
        }
        const json_t *map = json_object_get(e, "typeNames");
        if (!json_is_object(map))
            return pl_sub__bad(err, "%s: the type names were not expanded", p2);
        if ((rc = ts_apply_names(sel->ts, map, p2, err)) != 0)
            return rc;
        if (ts_keys(sel->ts, s))
            return pl_sub__nomem(err);
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
        return pl_sub__bad(err, "%s: must be an array of {\"key\", \"value\"} objects, not %s",
                           path, pl_sub__jtype(a));
    *out = calloc(json_array_size(a) ? json_array_size(a) : 1, sizeof **out);
    if (!*out)
        return pl_sub__nomem(err);
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e)
    {
        if (!json_is_object(e))
            return pl_sub__bad(err, "%s[%zu]: must be a KeyValuePair object, not %s", path, i,
                               pl_sub__jtype(e));
        const json_t *kk = json_object_get(e, "key"), *vv = json_object_get(e, "value");
        if (!json_is_string(kk) || !*json_string_value(kk))
            return pl_sub__bad(err, "%s[%zu].key: must be a non-empty string", path, i);
        if (!json_is_string(vv))
            return pl_sub__bad(err, "%s[%zu].value: must be a string", path, i);
        (*out)[i].key = strdup(json_string_value(kk));
        (*out)[i].value = strdup(json_string_value(vv));
        *n = i + 1;
        if (!(*out)[i].key || !(*out)[i].value)
            return pl_sub__nomem(err);
    }
    return 0;
}

static int compile_endpoint(const json_t *ep, struct pl_sub *s, struct pl_err *err)
{
    char sb[SHOW_MAX + 4];
    if (!ep)
        return pl_sub__bad(err, "notification.endpoint: missing");
    if (!json_is_object(ep))
        return pl_sub__bad(err, "notification.endpoint: must be an Endpoint object, not %s",
                           pl_sub__jtype(ep));
    int rc;
    if ((rc = get_str(ep, "uri", "notification.endpoint.uri", &s->uri, err)) != 0)
        return rc;
    if (!s->uri)
        return pl_sub__bad(err, "notification.endpoint.uri: missing");
    const char *why = NULL;
    if (check_uri(s->uri, &s->mqtt, &why) != 0)
        return pl_sub__bad(err, "notification.endpoint.uri: '%s' %s", pl_sub__shown(sb, s->uri),
                           why);
    const json_t *acc = json_object_get(ep, "accept");
    if (acc) {
        const char *a = json_string_value(acc);
        if (!a)
            return pl_sub__bad(err, "notification.endpoint.accept: must be a string, not %s",
                               pl_sub__jtype(acc));
        if (!strcmp(a, "application/json"))
            s->accept = PL_SUB_ACCEPT_JSON;
        else if (!strcmp(a, "application/ld+json"))
            s->accept = PL_SUB_ACCEPT_LDJSON;
        else if (!strcmp(a, "application/geo+json"))
            s->accept = PL_SUB_ACCEPT_GEOJSON;
        else
            return pl_sub__bad(err,
                               "notification.endpoint.accept: '%s' is not application/json, "
                               "application/ld+json or application/geo+json",
                               pl_sub__shown(sb, a));
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
                return pl_sub__bad(
                    err,
                    "notification.endpoint.notifierInfo[%zu].value: MQTT-Version '%s' is "
                    "not mqtt3.1.1 or mqtt5.0",
                    i, pl_sub__shown(sb, v));
        } else if (!strcmp(k, "MQTT-QoS")) {
            if (strlen(v) != 1 || v[0] < '0' || v[0] > '2')
                return pl_sub__bad(
                    err,
                    "notification.endpoint.notifierInfo[%zu].value: MQTT-QoS '%s' is not "
                    "0, 1 or 2",
                    i, pl_sub__shown(sb, v));
            s->mqtt_qos = v[0] - '0';
        }
    }
    return 0;
}

/* notification.join / joinLevel (4.5.23; the values of the join and joinLevel parameters). */
static int compile_join(const json_t *n, struct pl_sub *s, struct pl_err *err)
{
    char sb[SHOW_MAX + 4];
    const json_t *j = json_object_get(n, "join"), *l = json_object_get(n, "joinLevel");
    if (j) {
        const char *js = json_string_value(j);
        if (js && !strcmp(js, "inline"))
            s->join = PL_JOIN_INLINE;
        else if (js && !strcmp(js, "flat"))
            s->join = PL_JOIN_FLAT;
        else if (!js || strcmp(js, "@none") != 0)
            return pl_sub__bad(err, "notification.join: must be \"flat\", \"inline\" or "
                                    "\"@none\", not %s",
                               js ? pl_sub__shown(sb, js) : pl_sub__jtype(j));
    }
    if (l) {
        double d = json_number_value(l);
        if (!json_is_number(l) || d != (double)(int)d || d < 1 || d > PL_PROJ_MAX_DEPTH)
            return pl_sub__bad(err, "notification.joinLevel: must be an integer from 1 to %d",
                               PL_PROJ_MAX_DEPTH);
        s->join_level = (int)d;
    }
    return 0;
}

static int compile_notification(const json_t *n, struct pl_sub *s, struct pl_err *err)
{
    char sb[SHOW_MAX + 4];
    if (!n)
        return pl_sub__bad(err, "notification: missing");
    if (!json_is_object(n))
        return pl_sub__bad(err, "notification: must be a NotificationParams object, not %s",
                           pl_sub__jtype(n));
    int rc;
    if ((rc = get_strv(n, "attributes", "notification.attributes", &s->attrs, &s->n_attrs, err)) ||
        (rc = get_projection(n, "pick", "notification.pick", 0, &s->pick, &s->n_pick,
                             &s->pick_proj, err)) ||
        (rc = get_projection(n, "omit", "notification.omit", 1, &s->omit, &s->n_omit,
                             &s->omit_proj, err)))
        return rc;
    if (s->pick_proj && s->omit_proj)
        return pl_sub__bad(err, "notification.omit: pick and omit cannot be used together");
    const json_t *f = json_object_get(n, "format");
    if (f) {
        const char *fs = json_string_value(f);
        if (!fs)
            return pl_sub__bad(err, "notification.format: must be a string, not %s",
                               pl_sub__jtype(f));
        if (!strcmp(fs, "normalized"))
            s->format = PL_SUB_FMT_NORMALIZED;
        else if (!strcmp(fs, "keyValues"))
            s->format = PL_SUB_FMT_KEYVALUES;
        else if (!strcmp(fs, "simplified"))
            s->format = PL_SUB_FMT_SIMPLIFIED;
        else if (!strcmp(fs, "concise"))
            s->format = PL_SUB_FMT_CONCISE;
        else
            return pl_sub__bad(
                err,
                "notification.format: '%s' is not normalized, keyValues, simplified or "
                "concise",
                pl_sub__shown(sb, fs));
        s->format_given = 1;
    }
    if ((rc = get_bool(n, "sysAttrs", "notification.sysAttrs", &s->sys_attrs, err)) ||
        (rc = get_bool(n, "showChanges", "notification.showChanges", &s->show_changes, err)))
        return rc;
    if (s->show_changes &&
        (s->format == PL_SUB_FMT_KEYVALUES || s->format == PL_SUB_FMT_SIMPLIFIED))
        return pl_sub__bad(err, "notification.showChanges: cannot be true with the format %s",
                           s->format == PL_SUB_FMT_KEYVALUES ? "keyValues" : "simplified");
    if ((rc = compile_join(n, s, err)) != 0)
        return rc;
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

/* jsonKeys (5.2.12): attribute names separated by commas, none empty. */
static int valid_name_list(const char *l)
{
    char name[PL_LIMITS_DEFAULT_IDLEN + 1];
    for (const char *p = l;;) {
        size_t n = strcspn(p, ",");
        if (n == 0 || n >= sizeof name)
            return 0;
        memcpy(name, p, n);
        name[n] = '\0';
        if (!pl_sub__valid_attr_name(name))
            return 0;
        if (!p[n])
            return 1;
        p += n + 1;
    }
}

/* check_exp: expiresAt must be after now_ms. */
int pl_sub__compile(const json_t *doc, int64_t now_ms, int check_exp, struct pl_sub **out,
                    struct pl_err *err)
{
    char sb[SHOW_MAX + 4];
    *out = NULL;
    if (!json_is_object(doc))
        return pl_sub__bad(err, "the subscription must be a JSON object, not %s",
                           pl_sub__jtype(doc));
    struct pl_sub *s = calloc(1, sizeof *s);
    if (!s)
        return pl_sub__nomem(err);
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
        TRY(pl_sub__bad(err, "id: '%s' is not a valid URI", pl_sub__shown(sb, s->id)));
    v = json_object_get(doc, "type");
    if (!v)
        TRY(pl_sub__bad(err, "type: missing (it shall be \"Subscription\")"));
    if (!json_is_string(v) || strcmp(json_string_value(v), "Subscription") != 0)
        TRY(pl_sub__bad(err, "type: must be \"Subscription\""));
    TRY(get_str(doc, "subscriptionName", "subscriptionName", &s->name, err));
    TRY(get_str(doc, "description", "description", &s->description, err));
    TRY(get_bool(doc, "localOnly", "localOnly", &s->local_only, err));
    TRY(get_bool(doc, "isActive", "isActive", &s->is_active, err));
    s->is_active_given = json_is_boolean(json_object_get(doc, "isActive"));

    if ((v = json_object_get(doc, "entities")) != NULL)
        TRY(compile_entities(v, s, err));
    TRY(get_strv(doc, "watchedAttributes", "watchedAttributes", &s->watched, &s->n_watched, err));
    TRY(get_strv_valid(doc, "datasetId", "datasetId", &s->dataset_ids, &s->n_dataset_ids,
                       valid_dataset_id, "is neither a URI nor \"@none\"", err));

    if ((v = json_object_get(doc, "notificationTrigger")) != NULL) {
        if (!json_is_array(v))
            TRY(pl_sub__bad(err, "notificationTrigger: must be an array of strings, not %s",
                            pl_sub__jtype(v)));
        if (json_array_size(v) == 0)
            TRY(pl_sub__bad(err, "notificationTrigger: an empty array is not allowed"));
        s->triggers = 0;
        s->triggers_given = 1;
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            const char *t = json_string_value(e);
            size_t j = 0;
            while (t && j < 6 && strcmp(t, pl_sub__trigger_names[j]) != 0)
                j++;
            if (!t || j == 6)
                TRY(pl_sub__bad(
                    err,
                    "notificationTrigger[%zu]: '%s' is not entityCreated, entityUpdated, "
                    "entityDeleted, attributeCreated, attributeUpdated or attributeDeleted",
                    i, t ? pl_sub__shown(sb, t) : pl_sub__jtype(e)));
            s->triggers |= 1u << j;
        }
    }

    if ((v = json_object_get(doc, "q")) != NULL) {
        if (!json_is_string(v))
            TRY(pl_sub__bad(err, "q: must be a string, not %s", pl_sub__jtype(v)));
        if (!(s->q_text = strdup(json_string_value(v))))
            TRY(pl_sub__nomem(err));
        TRY(pl_q_parse(s->q_text, &s->q, err));
        const json_t *map = json_object_get(doc, "qNames");
        if (!json_is_object(map))
            TRY(pl_sub__bad(err, "q: the attribute names were not expanded"));
        TRY(q_apply_names(s->q, map, err));
    }
    if ((v = json_object_get(doc, "geoQ")) != NULL) {
        if (!json_is_object(v))
            TRY(pl_sub__bad(err, "geoQ: must be a GeoQuery object, not %s", pl_sub__jtype(v)));
        TRY(pl_geoq_from_json(v, &s->geoq, err));
        if (!pl_sub__valid_attr_name(s->geoq->geoproperty))
            TRY(pl_sub__bad(err, "geoQ.geoproperty: '%s' is not a valid attribute name",
                            pl_sub__shown(sb, s->geoq->geoproperty)));
    }
    if ((v = json_object_get(doc, "scopeQ")) != NULL) {
        if (!json_is_string(v))
            TRY(pl_sub__bad(err, "scopeQ: must be a string, not %s", pl_sub__jtype(v)));
        if (!(s->scopeq_text = strdup(json_string_value(v))))
            TRY(pl_sub__nomem(err));
        TRY(pl_scopeq_parse(s->scopeq_text, &s->scopeq, err));
    }
    TRY(get_str(doc, "lang", "lang", &s->lang, err));
    if (s->lang && !valid_lang(s->lang))
        TRY(pl_sub__bad(err, "lang: '%s' is not a language filter (4.15)",
                        pl_sub__shown(sb, s->lang)));

    if ((v = json_object_get(doc, "expiresAt")) != NULL) {
        if (!json_is_string(v) || pl_time_parse(json_string_value(v), &s->expires_at_ms) != 0)
            TRY(pl_sub__bad(err, "expiresAt: '%s' is not a DateTime (4.6.3)",
                            json_is_string(v) ? pl_sub__shown(sb, json_string_value(v))
                                              : pl_sub__jtype(v)));
        if (s->expires_at_ms == 0)
            s->expires_at_ms = 1; /* the epoch itself: keep "set" distinct from "absent" */
        if (check_exp && s->expires_at_ms <= now_ms)
            TRY(pl_sub__bad(err, "expiresAt: '%s' is not in the future",
                            pl_sub__shown(sb, json_string_value(v))));
    }
    TRY(get_pos_num(doc, "throttling", "throttling", &s->throttling, err));
    TRY(get_pos_num(doc, "timeInterval", "timeInterval", &s->time_interval, err));
    if (s->time_interval > 0) {
        if (s->watched)
            TRY(pl_sub__bad(err, "timeInterval: cannot be used together with watchedAttributes"));
        if (s->throttling > 0)
            TRY(pl_sub__bad(err, "timeInterval: cannot be used together with throttling"));
        if (!s->entities && !s->local_only)
            TRY(pl_sub__bad(err, "entities: required when timeInterval is present"));
    }
    if (!s->entities && !s->watched && !s->local_only)
        TRY(pl_sub__bad(
            err, "entities: at least one of entities or watchedAttributes shall be present"));
    TRY(get_str(doc, "jsonldContext", "jsonldContext", &s->jsonld_context, err));
    if (s->jsonld_context && !pl_is_uri(s->jsonld_context))
        TRY(pl_sub__bad(err, "jsonldContext: '%s' is not a URI",
                        pl_sub__shown(sb, s->jsonld_context)));
    if ((v = json_object_get(doc, "temporalQ")) != NULL) {
        struct pl_temporalq tq;
        if (!json_is_object(v))
            TRY(pl_sub__bad(err, "temporalQ: must be a TemporalQuery object, not %s",
                            pl_sub__jtype(v)));
        if ((rc = pl_temporalq_from_json(v, &tq, err)) != 0)
            TRY(pl_sub__prefix_err(err, rc, "temporalQ: "));
        if (tq.rel == PL_TIMEREL_NONE) /* 5.2.21: timerel and timeAt are mandatory */
            TRY(pl_sub__bad(err, "temporalQ.timerel: missing"));
        if (!(s->temporal_q = json_deep_copy(v)))
            TRY(pl_sub__nomem(err));
    }
    TRY(get_str(doc, "jsonKeys", "jsonKeys", &s->json_keys, err));
    if (s->json_keys && !valid_name_list(s->json_keys))
        TRY(pl_sub__bad(err, "jsonKeys: '%s' is not a comma-separated list of attribute names",
                        pl_sub__shown(sb, s->json_keys)));
    TRY(get_str(doc, "ngsildConformance", "ngsildConformance", &s->conformance, err));
    if (s->conformance) {
        s->conformance_version = pl_conform_version(s->conformance);
        if (s->conformance_version < 100)
            TRY(pl_sub__bad(err,
                            "ngsildConformance: '%s' is not a version major.minor of NGSI-LD "
                            "(1.0 or later)",
                            pl_sub__shown(sb, s->conformance)));
    }
    v = json_object_get(doc, "@context");
    s->context = v ? json_deep_copy(v) : json_null();
    if (!s->context)
        TRY(pl_sub__nomem(err));

    TRY(compile_notification(json_object_get(doc, "notification"), s, err));
    s->any_type_ = s->n_entities == 0;
#undef TRY
    *out = s;
    return 0;
fail:
    pl_sub_free(s);
    return rc ? rc : PL_EINTERNAL;
}

int pl_sub_from_stored(const json_t *stored, struct pl_sub **out, struct pl_err *err)
{
    int rc = pl_sub__compile(stored, 0, 0, out, err);
    if (rc == 0 && (rc = pl_sub__owner_from_stored(stored, *out, err)) != 0) {
        pl_sub_free(*out);
        *out = NULL;
    }
    return rc;
}
