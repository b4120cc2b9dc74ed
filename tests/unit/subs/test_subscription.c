/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_subscription.c — subs/ (subscription.h): validation of every member (with the member path in
 * the detail), PATCH merge, the stored form round trip, GET rendering with status, matching of
 * changes (triggers, watchedAttributes, selectors, q / geoQ / scopeQ, expiry) and notification
 * payloads (formats, projection, showChanges, deletions, ld+json, geo+json).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "base/strbuf.h"
#include "base/timeutil.h"
#include "ngsild/context.h"
#include "subs/subscription.h"

#define EX     "https://ex.org/"
#define T0     1700000000000LL /* 2023-11-14T22:13:20Z */
#define FUTURE "2030-01-01T00:00:00Z"
#define PAST   "2020-01-01T00:00:00Z"
#define EP     "\"notification\":{\"endpoint\":{\"uri\":\"http://rcv:8080/notify\"}}"

static json_t *tj(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad JSON in test: %s (%s)", s, e.text);
    return v;
}

static struct pl_ctx *g_ctx;  /* the subscriber's context */
static struct pl_ctx *g_ctx2; /* another context: other short names for the same IRIs */

static int setup(void **st)
{
    (void)st;
    struct pl_err err;
    json_t *c = tj("{\"Building\":\"" EX "Building\",\"Shop\":\"" EX "Shop\",\"temp\":\"" EX
                   "temp\",\"label\":\"" EX "label\",\"owner\":\"" EX "owner\",\"kind\":\"" EX
                   "kind\",\"names\":\"" EX "names\"}");
    if (pl_ctx_build(c, NULL, NULL, &g_ctx, &err) != 0)
        fail_msg("ctx: %s", err.detail);
    json_decref(c);
    c = tj("{\"B\":\"" EX "Building\",\"t\":\"" EX "temp\"}");
    if (pl_ctx_build(c, NULL, NULL, &g_ctx2, &err) != 0)
        fail_msg("ctx2: %s", err.detail);
    json_decref(c);
    return 0;
}

static int teardown(void **st)
{
    (void)st;
    pl_ctx_unref(g_ctx);
    pl_ctx_unref(g_ctx2);
    return 0;
}

static struct pl_sub *ok(const char *text)
{
    json_t *in = tj(text);
    struct pl_sub *s = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_sub_parse_at(in, g_ctx, T0, &s, &err);
    json_decref(in);
    if (rc || !s)
        fail_msg("parse failed (%d): %s\n  for %s", rc, err.detail, text);
    return s;
}

/* Expects `code` and a detail containing `frag`. */
static void bad_code(const char *text, int code, const char *frag)
{
    json_t *in = tj(text);
    struct pl_sub *s = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_sub_parse_at(in, g_ctx, T0, &s, &err);
    json_decref(in);
    if (rc != code)
        fail_msg("expected %d, got %d (%s) for %s", code, rc, err.detail, text);
    assert_null(s);
    if (!strstr(err.detail, frag))
        fail_msg("detail \"%s\" lacks \"%s\"", err.detail, frag);
}

static void bad(const char *text, const char *frag)
{
    bad_code(text, PL_EBADREQUESTDATA, frag);
}

static const char *sget(const json_t *o, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const json_t *v = o;
    for (char *save = NULL, *t = strtok_r(buf, ".", &save); t; t = strtok_r(NULL, ".", &save))
        v = json_object_get(v, t);
    return json_string_value(v);
}

/* ------------------------------------------------------------------------------------------ */

static void parse_minimal_and_defaults(void **st)
{
    (void)st;
    struct pl_sub *s =
        ok("{\"type\":\"Subscription\",\"entities\":[{\"type\":\"Building\"}]," EP "}");
    assert_null(s->id);
    assert_int_equal(s->n_entities, 1);
    assert_string_equal(s->entities[0].ts->name_iri, EX "Building");
    assert_int_equal(s->triggers, PL_TRIG_ATTR_CREATED | PL_TRIG_ATTR_UPDATED);
    assert_int_equal(s->triggers_given, 0);
    assert_true(s->is_active);
    assert_int_equal(s->accept, PL_SUB_ACCEPT_JSON);
    assert_string_equal(pl_sub_accept_name(s), "application/json");
    assert_int_equal(s->format, PL_SUB_FMT_NORMALIZED);
    assert_int_equal(s->expires_at_ms, 0);
    assert_false(s->mqtt);
    assert_true(json_is_object(s->context)); /* the inline context it was created with */
    assert_null(pl_sub_link_url(s));
    json_t *cm = pl_sub_context_member(s);
    assert_true(json_is_array(cm) && json_array_size(cm) == 2);
    assert_string_equal(json_string_value(json_array_get(cm, 1)), PL_CORE_CONTEXT_URL);
    json_decref(cm);
    pl_sub_free(s);

    char *id = pl_sub_new_id();
    assert_non_null(id);
    assert_int_equal(strncmp(id, "urn:ngsi-ld:Subscription:", 25), 0);
    assert_int_equal(strlen(id), 25 + 36);
    char *id2 = pl_sub_new_id();
    assert_string_not_equal(id, id2);
    free(id);
    free(id2);

    /* everything at once */
    s = ok("{\"id\":\"urn:ngsi-ld:Subscription:1\",\"type\":\"Subscription\","
           "\"subscriptionName\":\"n\",\"description\":\"d\","
           "\"entities\":[{\"id\":\"urn:ngsi-ld:Building:1\",\"type\":\"Building\"},"
           "{\"idPattern\":\"^urn:ngsi-ld:Shop:.*\",\"type\":\"(Shop;Building),Building\"}],"
           "\"watchedAttributes\":[\"temp\",\"label\",\"temp\"],"
           "\"notificationTrigger\":[\"entityCreated\",\"attributeDeleted\"],"
           "\"q\":\"temp>20;label==\\\"x\\\"\",\"scopeQ\":\"/Madrid/#\",\"lang\":\"en,fr;q=0.5\","
           "\"geoQ\":{\"georel\":\"near;maxDistance==1000\",\"geometry\":\"Point\","
           "\"coordinates\":[-3.7,40.4]},"
           "\"expiresAt\":\"" FUTURE "\",\"isActive\":false,\"throttling\":2.5,"
           "\"jsonldContext\":\"https://ex.org/ctx.jsonld\",\"status\":\"expired\","
           "\"notification\":{\"attributes\":[\"temp\"],\"format\":\"concise\",\"sysAttrs\":true,"
           "\"showChanges\":true,\"timesSent\":9,\"endpoint\":{\"uri\":\"mqtts://u:p@broker:8883/"
           "a/b\",\"accept\":\"application/ld+json\",\"timeout\":1000,\"cooldown\":5,"
           "\"receiverInfo\":[{\"key\":\"X-Auth\",\"value\":\"t\"}],"
           "\"notifierInfo\":[{\"key\":\"MQTT-QoS\",\"value\":\"2\"},"
           "{\"key\":\"MQTT-Version\",\"value\":\"mqtt3.1.1\"}]}}}");
    assert_string_equal(s->id, "urn:ngsi-ld:Subscription:1");
    assert_string_equal(s->name, "n");
    assert_int_equal(s->n_watched, 2); /* duplicates collapse */
    assert_string_equal(s->watched[0], EX "temp");
    assert_string_equal(s->watched[1], EX "label");
    assert_int_equal(s->triggers, PL_TRIG_ENTITY_CREATED | PL_TRIG_ATTR_DELETED);
    assert_string_equal(s->geoq->geoproperty, "https://uri.etsi.org/ngsi-ld/location");
    assert_false(s->is_active);
    assert_true(s->throttling == 2.5);
    assert_int_equal(s->format, PL_SUB_FMT_CONCISE);
    assert_true(s->sys_attrs && s->show_changes);
    assert_true(s->mqtt);
    assert_int_equal(s->mqtt_qos, 2);
    assert_false(s->mqtt_v5);
    assert_true(s->timeout_ms == 1000 && s->cooldown_ms == 5);
    assert_int_equal(s->n_receiver_info, 1);
    assert_string_equal(s->receiver_info[0].key, "X-Auth");
    assert_string_equal(s->attrs[0], EX "temp");
    assert_string_equal(pl_sub_link_url(s), "https://ex.org/ctx.jsonld");
    cm = pl_sub_context_member(s);
    assert_string_equal(json_string_value(json_array_get(cm, 0)), "https://ex.org/ctx.jsonld");
    json_decref(cm);
    int64_t exp;
    pl_time_parse(FUTURE, &exp);
    assert_true(s->expires_at_ms == exp);
    pl_sub_free(s);

    /* localOnly: neither entities nor watchedAttributes needed */
    s = ok("{\"type\":\"Subscription\",\"localOnly\":true," EP "}");
    assert_true(s->local_only);
    pl_sub_free(s);
    /* read-only and unknown members are ignored; splitEntities accepted */
    s = ok("{\"type\":\"Subscription\",\"watchedAttributes\":[\"temp\"],\"status\":\"paused\","
           "\"timesSent\":3,\"whatever\":1,\"splitEntities\":true," EP "}");
    assert_true(s->is_active);
    pl_sub_free(s);
    /* periodic */
    s = ok(
        "{\"type\":\"Subscription\",\"entities\":[{\"type\":\"Building\"}],\"timeInterval\":60," EP
        "}");
    assert_true(s->time_interval == 60);
    pl_sub_free(s);
    /* keyValues and simplified; every accept */
    s = ok("{\"type\":\"Subscription\",\"watchedAttributes\":[\"temp\"],\"notification\":{"
           "\"format\":\"simplified\",\"endpoint\":{\"uri\":\"https://[::1]:443/x?y=1\","
           "\"accept\":\"application/geo+json\"}}}");
    assert_int_equal(s->format, PL_SUB_FMT_SIMPLIFIED);
    assert_int_equal(s->accept, PL_SUB_ACCEPT_GEOJSON);
    pl_sub_free(s);
}

static void parse_member_errors(void **st)
{
    (void)st;
#define W "\"watchedAttributes\":[\"temp\"]"
    bad("[]", "must be a JSON object");
    bad("{\"watchedAttributes\":[\"temp\"]," EP "}", "type: missing");
    bad("{\"type\":\"Sub\"," W "," EP "}", "type: must be \"Subscription\"");
    bad("{\"id\":\"not a uri\",\"type\":\"Subscription\"," W "," EP "}", "id: 'not a uri'");
    bad("{\"id\":5,\"type\":\"Subscription\"," W "," EP "}", "id: must be a string");
    bad("{\"type\":\"Subscription\"," EP "}", "at least one of entities or watchedAttributes");
    bad("{\"type\":\"Subscription\",\"entities\":[]," EP "}", "entities: an empty array");
    bad("{\"type\":\"Subscription\",\"entities\":{}," EP "}", "entities: must be an array");
    bad("{\"type\":\"Subscription\",\"entities\":[1]," EP "}", "entities[0]: must be an object");
    bad("{\"type\":\"Subscription\",\"entities\":[{\"id\":\"urn:a:b\"}]," EP "}",
        "entities[0].type: missing");
    bad("{\"type\":\"Subscription\",\"entities\":[{\"type\":\"A\"},{\"type\":\"(A;\"}]," EP "}",
        "entities[1].type: at position");
    bad("{\"type\":\"Subscription\",\"entities\":[{\"type\":\"A\",\"id\":\"x y\"}]," EP "}",
        "entities[0].id: 'x y' is not a valid URI");
    bad("{\"type\":\"Subscription\",\"entities\":[{\"type\":\"A\",\"idPattern\":\"(a\"}]," EP "}",
        "entities[0].idPattern: '(a' is not a valid regular expression");
    bad("{\"type\":\"Subscription\",\"entities\":[{\"type\":\"A\",\"idPattern\":\"a++\"}]," EP "}",
        "entities[0].idPattern");
    bad("{\"type\":\"Subscription\",\"watchedAttributes\":[]," EP "}",
        "watchedAttributes: an empty array");
    bad("{\"type\":\"Subscription\",\"watchedAttributes\":[\"a b\"]," EP "}",
        "watchedAttributes[0]: 'a b' is not a valid attribute name");
    bad("{\"type\":\"Subscription\",\"watchedAttributes\":[\"ok\",3]," EP "}",
        "watchedAttributes[1]: must be a string");
    bad("{\"type\":\"Subscription\"," W ",\"notificationTrigger\":[\"entityChanged\"]," EP "}",
        "notificationTrigger[0]: 'entityChanged' is not");
    bad("{\"type\":\"Subscription\"," W ",\"notificationTrigger\":[]," EP "}",
        "notificationTrigger: an empty array");
    bad("{\"type\":\"Subscription\"," W ",\"q\":\"temp>\"," EP "}", "q: at position");
    bad("{\"type\":\"Subscription\"," W ",\"q\":5," EP "}", "q: must be a string");
    bad("{\"type\":\"Subscription\"," W ",\"scopeQ\":\"/a/#/b\"," EP "}", "scopeQ:");
    bad("{\"type\":\"Subscription\"," W ",\"geoQ\":{\"georel\":\"near\",\"geometry\":\"Point\","
        "\"coordinates\":[1,2]}," EP "}",
        "geoQ.georel");
    bad("{\"type\":\"Subscription\"," W ",\"geoQ\":{\"georel\":\"within\",\"geometry\":\"Point\","
        "\"coordinates\":[1,2],\"geoproperty\":\"a b\"}," EP "}",
        "geoQ.geoproperty");
    bad("{\"type\":\"Subscription\"," W ",\"geoQ\":\"x\"," EP "}", "geoQ: must be a GeoQuery");
    bad("{\"type\":\"Subscription\"," W ",\"lang\":\"<en>\"," EP "}", "lang: '<en>'");
    bad("{\"type\":\"Subscription\"," W ",\"expiresAt\":\"tomorrow\"," EP "}",
        "expiresAt: 'tomorrow' is not a DateTime");
    bad("{\"type\":\"Subscription\"," W ",\"expiresAt\":\"" PAST "\"," EP "}",
        "expiresAt: '" PAST "' is not in the future");
    bad("{\"type\":\"Subscription\"," W ",\"isActive\":\"yes\"," EP "}",
        "isActive: must be true or false");
    bad("{\"type\":\"Subscription\"," W ",\"throttling\":0," EP "}",
        "throttling: must be greater than 0");
    bad("{\"type\":\"Subscription\"," W ",\"throttling\":\"1\"," EP "}",
        "throttling: must be a number");
    bad("{\"type\":\"Subscription\"," W ",\"timeInterval\":-1," EP "}", "timeInterval: must be");
    bad("{\"type\":\"Subscription\"," W ",\"timeInterval\":10," EP "}",
        "timeInterval: cannot be used together with watchedAttributes");
    bad("{\"type\":\"Subscription\",\"entities\":[{\"type\":\"A\"}],\"timeInterval\":10,"
        "\"throttling\":1," EP "}",
        "timeInterval: cannot be used together with throttling");
    bad("{\"type\":\"Subscription\",\"localOnly\":true,\"timeInterval\":10,\"watchedAttributes\":"
        "[\"a\"]," EP "}",
        "timeInterval: cannot be used together with watchedAttributes");
    bad("{\"type\":\"Subscription\"," W ",\"jsonldContext\":\"not a uri\"," EP "}",
        "jsonldContext: 'not a uri' is not a URI");
    bad("{\"type\":\"Subscription\"," W ",\"localOnly\":1," EP "}", "localOnly: must be true");
    bad("{\"type\":\"Subscription\"," W ",\"description\":5," EP "}",
        "description: must be a string");
    bad("{\"type\":\"Subscription\"," W ",\"subscriptionName\":[]," EP "}",
        "subscriptionName: must be a string");
    bad("{\"type\":\"Subscription\"," W "}", "notification: missing");
    bad("{\"type\":\"Subscription\"," W ",\"notification\":[]}", "notification: must be");
    bad("{\"type\":\"Subscription\"," W ",\"notification\":{}}", "notification.endpoint: missing");
    bad("{\"type\":\"Subscription\"," W ",\"notification\":{\"endpoint\":{}}}",
        "notification.endpoint.uri: missing");
    bad("{\"type\":\"Subscription\"," W ",\"notification\":{\"endpoint\":{\"uri\":\"ftp://x\"}}}",
        "notification.endpoint.uri: 'ftp://x' is not an http(s) or mqtt(s) URI");
    bad("{\"type\":\"Subscription\"," W ",\"notification\":{\"endpoint\":{\"uri\":\"http://\"}}}",
        "notification.endpoint.uri: 'http://' has no host");
    bad("{\"type\":\"Subscription\"," W
        ",\"notification\":{\"endpoint\":{\"uri\":\"http://h:99999/\"}}}",
        "has an invalid port");
    bad("{\"type\":\"Subscription\"," W
        ",\"notification\":{\"endpoint\":{\"uri\":\"http://h/a b\"}}}",
        "contains a character not allowed");
    bad("{\"type\":\"Subscription\"," W
        ",\"notification\":{\"endpoint\":{\"uri\":\"mqtt://broker:1883\"}}}",
        "needs a topic");
    bad("{\"type\":\"Subscription\"," W
        ",\"notification\":{\"endpoint\":{\"uri\":\"mqtt://broker/a/#\"}}}",
        "needs a topic");
    bad("{\"type\":\"Subscription\"," W ",\"notification\":{\"endpoint\":{\"uri\":\"http://h\","
        "\"accept\":\"text/plain\"}}}",
        "notification.endpoint.accept: 'text/plain'");
    bad("{\"type\":\"Subscription\"," W ",\"notification\":{\"endpoint\":{\"uri\":\"http://h\","
        "\"receiverInfo\":{}}}}",
        "notification.endpoint.receiverInfo: must be an array");
    bad("{\"type\":\"Subscription\"," W ",\"notification\":{\"endpoint\":{\"uri\":\"http://h\","
        "\"receiverInfo\":[{\"key\":\"a\",\"value\":1}]}}}",
        "notification.endpoint.receiverInfo[0].value: must be a string");
    bad("{\"type\":\"Subscription\"," W ",\"notification\":{\"endpoint\":{\"uri\":\"http://h\","
        "\"receiverInfo\":[{\"value\":\"v\"}]}}}",
        "notification.endpoint.receiverInfo[0].key");
    bad("{\"type\":\"Subscription\"," W ",\"notification\":{\"endpoint\":{\"uri\":\"mqtt://h/t\","
        "\"notifierInfo\":[{\"key\":\"MQTT-QoS\",\"value\":\"3\"}]}}}",
        "notification.endpoint.notifierInfo[0].value: MQTT-QoS '3'");
    bad("{\"type\":\"Subscription\"," W ",\"notification\":{\"endpoint\":{\"uri\":\"mqtt://h/t\","
        "\"notifierInfo\":[{\"key\":\"MQTT-Version\",\"value\":\"mqtt4\"}]}}}",
        "MQTT-Version 'mqtt4'");
    bad("{\"type\":\"Subscription\"," W ",\"notification\":{\"endpoint\":{\"uri\":\"http://h\","
        "\"timeout\":0}}}",
        "notification.endpoint.timeout: must be greater than 0");
    bad("{\"type\":\"Subscription\"," W ",\"notification\":{\"format\":\"x-raw\",\"endpoint\":"
        "{\"uri\":\"http://h\"}}}",
        "notification.format: 'x-raw'");
    bad("{\"type\":\"Subscription\"," W ",\"notification\":{\"format\":\"keyValues\","
        "\"showChanges\":true,\"endpoint\":{\"uri\":\"http://h\"}}}",
        "notification.showChanges: cannot be true with the format keyValues");
    bad("{\"type\":\"Subscription\"," W ",\"notification\":{\"sysAttrs\":1,\"endpoint\":"
        "{\"uri\":\"http://h\"}}}",
        "notification.sysAttrs: must be true or false");
    bad("{\"type\":\"Subscription\"," W ",\"notification\":{\"attributes\":[],\"endpoint\":"
        "{\"uri\":\"http://h\"}}}",
        "notification.attributes: an empty array");
    bad("{\"type\":\"Subscription\"," W ",\"notification\":{\"attributes\":[\"x=y\"],"
        "\"endpoint\":{\"uri\":\"http://h\"}}}",
        "notification.attributes[0]: 'x=y'");
    bad("{\"type\":\"Subscription\"," W ",\"notification\":{\"pick\":[\"id\"],\"omit\":[\"temp\"],"
        "\"endpoint\":{\"uri\":\"http://h\"}}}",
        "pick and omit");
    bad("{\"type\":\"Subscription\"," W ",\"temporalQ\":{}," EP "}", "temporalQ.timerel: missing");
    bad("{\"type\":\"Subscription\"," W ",\"temporalQ\":{\"timerel\":\"after\"}," EP "}",
        "temporalQ: ");
    bad("{\"type\":\"Subscription\"," W ",\"jsonKeys\":\"a,,b\"," EP "}", "jsonKeys: ");
    bad("{\"type\":\"Subscription\"," W ",\"ngsildConformance\":\"v1\"," EP "}",
        "ngsildConformance: ");
    bad("{\"type\":\"Subscription\"," W ",\"ngsildConformance\":\"0.9\"," EP "}",
        "ngsildConformance: ");
    bad_code("{\"type\":\"Subscription\"," W ",\"csf\":\"a==1\"," EP "}", PL_EOPNOTSUPPORTED,
             "csf: not supported");
    bad("{\"type\":\"Subscription\"," W ",\"datasetId\":[]," EP "}", "datasetId: an empty array");
    bad("{\"type\":\"Subscription\"," W ",\"datasetId\":[\"not a uri\"]," EP "}",
        "datasetId[0]: 'not a uri' is neither a URI");
    bad("{\"type\":\"Subscription\"," W ",\"datasetId\":\"urn:ds:1\"," EP "}",
        "datasetId: must be an array");
    bad("{\"type\":\"Subscription\"," W ",\"datasetId\":[\"urn:ds:1\",7]," EP "}",
        "datasetId[1]: must be a string");
    bad("{\"type\":\"Subscription\"," W ",\"notification\":{\"join\":\"deep\",\"endpoint\":"
        "{\"uri\":\"http://h\"}}}",
        "notification.join");
    bad("{\"type\":\"Subscription\"," W ",\"notification\":{\"joinLevel\":0,\"endpoint\":"
        "{\"uri\":\"http://h\"}}}",
        "notification.joinLevel");
#undef W
}

static void parse_uses_the_clock(void **st)
{
    (void)st;
    json_t *in = tj("{\"type\":\"Subscription\",\"watchedAttributes\":[\"temp\"],\"expiresAt\":"
                    "\"2020-01-01T00:00:00Z\"," EP "}");
    struct pl_sub *s = NULL;
    struct pl_err err;
    assert_int_equal(pl_sub_parse(in, g_ctx, &s, &err), PL_EBADREQUESTDATA);
    json_object_set_new(in, "expiresAt", json_string("2999-01-01T00:00:00Z"));
    assert_int_equal(pl_sub_parse(in, g_ctx, &s, &err), 0);
    pl_sub_free(s);
    json_decref(in);
}

static struct pl_sub *patch_ok(const struct pl_sub *cur, const char *frag, const struct pl_ctx *ctx)
{
    json_t *f = tj(frag);
    struct pl_sub *s = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_sub_patch_at(cur, f, ctx, T0, &s, &err);
    json_decref(f);
    if (rc)
        fail_msg("patch failed: %s (%s)", err.detail, frag);
    return s;
}

static void patch_bad(const struct pl_sub *cur, const char *frag, const char *detail)
{
    json_t *f = tj(frag);
    struct pl_sub *s = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_sub_patch_at(cur, f, g_ctx, T0, &s, &err);
    json_decref(f);
    assert_int_equal(rc, PL_EBADREQUESTDATA);
    assert_null(s);
    if (!strstr(err.detail, detail))
        fail_msg("detail \"%s\" lacks \"%s\"", err.detail, detail);
}

static void patch_replaces_members(void **st)
{
    (void)st;
    struct pl_sub *cur =
        ok("{\"id\":\"urn:ngsi-ld:Subscription:p\",\"type\":\"Subscription\","
           "\"entities\":[{\"type\":\"Building\"}],\"watchedAttributes\":[\"temp\"],"
           "\"q\":\"temp>1\",\"throttling\":5,\"description\":\"d\","
           "\"notification\":{\"attributes\":[\"temp\"],\"format\":\"keyValues\","
           "\"endpoint\":{\"uri\":\"http://a/n\",\"accept\":\"application/ld+json\","
           "\"receiverInfo\":[{\"key\":\"k\",\"value\":\"v\"}]}}}");

    /* members not in the fragment are kept; the patch's context expands its names */
    struct pl_sub *s = patch_ok(cur, "{\"watchedAttributes\":[\"t\"],\"isActive\":false}", g_ctx2);
    assert_string_equal(s->id, "urn:ngsi-ld:Subscription:p");
    assert_string_equal(s->watched[0], EX "temp");
    assert_false(s->is_active);
    assert_string_equal(s->q_text, "temp>1");
    assert_string_equal(s->q->term.path_iri[0], EX "temp");
    assert_true(s->throttling == 5);
    assert_string_equal(s->description, "d");
    assert_string_equal(s->attrs[0], EX "temp");
    assert_true(json_equal(s->context, cur->context)); /* creation context kept */
    pl_sub_free(s);

    /* 5.5.8: a member of the fragment replaces the stored one as a whole (notification
     * included: what it does not name is gone); null removes a top-level member */
    s = patch_ok(cur,
                 "{\"type\":\"Subscription\",\"id\":\"urn:ngsi-ld:Subscription:p\","
                 "\"notification\":{\"format\":\"normalized\","
                 "\"endpoint\":{\"uri\":\"https://b/n\"}},"
                 "\"description\":null,\"throttling\":\"urn:ngsi-ld:null\"}",
                 g_ctx);
    assert_int_equal(s->format, PL_SUB_FMT_NORMALIZED);
    assert_null(s->attrs);
    assert_string_equal(s->uri, "https://b/n");
    assert_int_equal(s->accept, PL_SUB_ACCEPT_JSON); /* not kept: the endpoint was replaced */
    assert_false(s->accept_given);
    assert_null(s->receiver_info);
    assert_null(s->description);
    assert_true(s->throttling == 0);
    pl_sub_free(s);
    /* a notification without an endpoint is refused, not merged into the old one */
    patch_bad(cur, "{\"notification\":{\"format\":\"normalized\"}}",
              "notification.endpoint: missing");
    patch_bad(cur, "{\"notification\":{\"attributes\":null,\"endpoint\":{\"uri\":\"http://a/n\"}}}",
              "notification.attributes");

    /* q replaced: its names come from the patch's context */
    s = patch_ok(cur, "{\"q\":\"t<3\",\"entities\":[{\"type\":\"B\"}]}", g_ctx2);
    assert_string_equal(s->q->term.path_iri[0], EX "temp");
    assert_string_equal(s->entities[0].ts->name_iri, EX "Building");
    pl_sub_free(s);

    /* whole-result validation, id, type, expiresAt */
    patch_bad(cur, "{\"id\":\"urn:ngsi-ld:Subscription:other\"}", "id: ");
    patch_bad(cur, "{\"type\":\"Nope\"}", "type: must be");
    patch_bad(cur, "{\"timeInterval\":5}", "timeInterval: cannot be used together");
    patch_bad(cur, "{\"expiresAt\":\"" PAST "\"}", "is not in the future");
    patch_bad(cur, "{\"notification\":{\"endpoint\":{\"uri\":\"gopher://x\"}}}",
              "notification.endpoint.uri");
    patch_bad(cur,
              "{\"notification\":{\"showChanges\":true,\"format\":\"keyValues\","
              "\"endpoint\":{\"uri\":\"http://a/n\"}}}",
              "notification.showChanges");
    patch_bad(cur, "{\"watchedAttributes\":null,\"entities\":null}", "at least one of");
    patch_bad(cur, "{\"notification\":null}", "notification: missing");
    patch_bad(cur, "[1]", "must be a JSON object");
    /* switching to periodic works when the conflicting members go in the same PATCH */
    s = patch_ok(cur, "{\"timeInterval\":5,\"watchedAttributes\":null,\"throttling\":null}", g_ctx);
    assert_true(s->time_interval == 5);
    assert_null(s->watched);
    pl_sub_free(s);
    /* an expired subscription becomes active again with a future expiresAt */
    s = patch_ok(cur, "{\"expiresAt\":\"" FUTURE "\"}", g_ctx);
    assert_string_equal(pl_sub_status_name(s, T0), "active");
    pl_sub_free(s);
    pl_sub_free(cur);
}

static void stored_form_round_trips(void **st)
{
    (void)st;
    struct pl_sub *s = ok(
        "{\"id\":\"urn:ngsi-ld:Subscription:r\",\"type\":\"Subscription\","
        "\"entities\":[{\"idPattern\":\"(?i)^URN:NGSI-LD:BUILDING:\",\"type\":\"Building|Shop\"}],"
        "\"watchedAttributes\":[\"temp\"],\"notificationTrigger\":[\"entityUpdated\"],"
        "\"q\":\"temp.observedAt>2020-01-01T00:00:00Z|(label~=ab;!owner)\",\"scopeQ\":\"/a/+\","
        "\"geoQ\":{\"georel\":\"within\",\"geometry\":\"Polygon\",\"coordinates\":"
        "\"[[[0,0],[10,0],[10,10],[0,10],[0,0]]]\",\"geoproperty\":\"label\"},"
        "\"expiresAt\":\"" FUTURE "\",\"throttling\":1,\"lang\":\"en\",\"subscriptionName\":\"x\","
        "\"notification\":{\"pick\":[\"id\",\"temp\"],\"sysAttrs\":true,\"endpoint\":{\"uri\":"
        "\"http://r/\",\"notifierInfo\":[{\"key\":\"a\",\"value\":\"b\"}],\"timeout\":2.5}}}");
    json_t *st1 = pl_sub_to_stored(s);
    /* expanded names, no compact name left */
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(st1, "watchedAttributes"), 0)), EX "temp");
    assert_string_equal(sget(st1, "qNames.temp"), EX "temp");
    assert_string_equal(sget(st1, "qNames.owner"), EX "owner");
    assert_string_equal(sget(st1, "geoQ.geoproperty"), EX "label");
    assert_true(json_is_object(json_object_get(st1, "@context")));
    json_t *ent = json_array_get(json_object_get(st1, "entities"), 0);
    assert_string_equal(sget(ent, "typeNames.Shop"), EX "Shop");
    json_t *pick = json_object_get(json_object_get(st1, "notification"), "pick");
    assert_string_equal(json_string_value(json_array_get(pick, 0)), "id");
    assert_string_equal(json_string_value(json_array_get(pick, 1)), EX "temp");

    /* read back WITHOUT any context, then stored again: identical */
    char *text = json_dumps(st1, JSON_SORT_KEYS);
    json_t *reread = tj(text);
    free(text);
    struct pl_sub *b = NULL;
    struct pl_err err;
    assert_int_equal(pl_sub_from_stored(reread, &b, &err), 0);
    json_t *st2 = pl_sub_to_stored(b);
    assert_true(json_equal(st1, st2));
    assert_string_equal(b->q->kids[0]->term.path_iri[0], EX "temp");
    assert_string_equal(b->q->kids[0]->term.path_iri[1], "observedAt");

    /* the restored subscription matches like the original */
    json_t *bef = tj("{\"id\":\"urn:ngsi-ld:Building:9\",\"type\":[\"" EX "Building\"],"
                     "\"scope\":[\"/a/b\"],\"attrs\":{\"" EX "temp\":[{\"type\":\"Property\","
                     "\"value\":1,\"observedAt\":\"2021-01-01T00:00:00Z\"}],\"" EX "label\":[{"
                     "\"type\":\"GeoProperty\",\"value\":{\"type\":\"Point\",\"coordinates\":"
                     "[5,5]}}]}}");
    json_t *aft = json_deep_copy(bef);
    json_object_set_new(
        json_array_get(json_object_get(json_object_get(aft, "attrs"), EX "temp"), 0), "value",
        json_integer(2));
    assert_int_equal(pl_sub_match(s, bef, aft, T0), PL_TRIG_ENTITY_UPDATED | PL_TRIG_ATTR_UPDATED);
    assert_int_equal(pl_sub_match(b, bef, aft, T0), PL_TRIG_ENTITY_UPDATED | PL_TRIG_ATTR_UPDATED);
    json_decref(bef);
    json_decref(aft);

    /* a stored form past its expiresAt still reads */
    json_object_set_new(reread, "expiresAt", json_string(PAST));
    struct pl_sub *c = NULL;
    assert_int_equal(pl_sub_from_stored(reread, &c, &err), 0);
    assert_string_equal(pl_sub_status_name(c, T0), "expired");
    pl_sub_free(c);
    /* a corrupted stored form is refused, not crashed on */
    json_object_del(reread, "qNames");
    assert_int_equal(pl_sub_from_stored(reread, &c, &err), PL_EBADREQUESTDATA);
    assert_non_null(strstr(err.detail, "q:"));

    json_decref(reread);
    json_decref(st1);
    json_decref(st2);
    pl_sub_free(b);
    pl_sub_free(s);
}

static void render_with_status(void **st)
{
    (void)st;
    struct pl_sub *s =
        ok("{\"id\":\"urn:ngsi-ld:Subscription:g\",\"type\":\"Subscription\",\"entities\":"
           "[{\"type\":\"Building,(Shop;" EX "Building)\"}],\"watchedAttributes\":[\"temp\"],"
           "\"q\":\"temp>3;(!label|temp.observedAt<2020-01-01T00:00:00Z)\","
           "\"geoQ\":{\"georel\":\"near;maxDistance==5\",\"geometry\":\"Point\",\"coordinates\":[1,"
           "2]},"
           "\"expiresAt\":\"" FUTURE "\",\"throttling\":10,"
           "\"notification\":{\"attributes\":[\"temp\",\"label\"],\"endpoint\":{\"uri\":\"http://h/"
           "\"}}}");
    json_t *r = pl_sub_render(s, g_ctx, NULL, T0);
    assert_string_equal(sget(r, "status"), "active");
    /* 5.2.12: isActive only when the client set it; the default notificationTrigger shown */
    assert_null(json_object_get(r, "isActive"));
    json_t *trig = json_object_get(r, "notificationTrigger");
    assert_int_equal(json_array_size(trig), 2);
    assert_string_equal(json_string_value(json_array_get(trig, 0)), "attributeCreated");
    assert_string_equal(json_string_value(json_array_get(trig, 1)), "attributeUpdated");
    assert_string_equal(sget(r, "expiresAt"), "2030-01-01T00:00:00.000Z");
    assert_string_equal(
        json_string_value(json_array_get(json_object_get(r, "watchedAttributes"), 0)), "temp");
    assert_string_equal(sget(r, "q"), "temp>3;(!label|temp.observedAt<2020-01-01T00:00:00Z)");
    assert_string_equal(sget(json_array_get(json_object_get(r, "entities"), 0), "type"),
                        "Building,(Shop;Building)");
    assert_string_equal(sget(r, "geoQ.geoproperty"), "location");
    assert_int_equal(json_integer_value(json_object_get(r, "throttling")), 10);
    assert_null(json_object_get(r, "@context"));
    assert_null(json_object_get(r, "qNames"));
    assert_null(json_object_get(json_object_get(r, "notification"), "timesSent"));
    json_decref(r);

    /* another context: names compacted with it */
    r = pl_sub_render(s, g_ctx2, NULL, T0);
    /* label has no term there and its IRI holds '.', which q cannot write: kept as written */
    assert_string_equal(sget(r, "q"), "t>3;(!label|t.observedAt<2020-01-01T00:00:00Z)");
    assert_string_equal(sget(json_array_get(json_object_get(r, "entities"), 0), "type"),
                        "B,(" EX "Shop;B)");
    json_decref(r);

    /* status members; expired once expiresAt passed */
    struct pl_sub_status ss = {.times_sent = 3,
                               .times_failed = 1,
                               .last_notification_ms = T0,
                               .last_success_ms = T0 - 1000,
                               .last_failure_ms = T0};
    int64_t exp = s->expires_at_ms;
    r = pl_sub_render(s, g_ctx, &ss, exp);
    assert_string_equal(sget(r, "status"), "expired");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r, "notification"), "timesSent")), 3);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(r, "notification"), "timesFailed")), 1);
    assert_string_equal(sget(r, "notification.lastNotification"), "2023-11-14T22:13:20.000Z");
    assert_string_equal(sget(r, "notification.lastSuccess"), "2023-11-14T22:13:19.000Z");
    assert_string_equal(sget(r, "notification.status"), "failed");
    json_decref(r);
    ss.last_success_ms = T0 + 5;
    r = pl_sub_render(s, g_ctx, &ss, T0);
    assert_string_equal(sget(r, "notification.status"), "ok");
    json_decref(r);
    pl_sub_free(s);

    s = ok("{\"type\":\"Subscription\",\"watchedAttributes\":[\"temp\"],\"isActive\":false," EP
           "}");
    r = pl_sub_render(s, g_ctx, NULL, T0);
    assert_string_equal(sget(r, "status"), "paused");
    assert_null(json_object_get(r, "id"));
    assert_string_equal(sget(r, "notification.endpoint.uri"), "http://rcv:8080/notify");
    json_decref(r);
    pl_sub_free(s);
}

/* ------------------------------------------------------------------------------------------ */

#define E1_ATTRS                                                                                   \
    "\"" EX "temp\":[{\"type\":\"Property\",\"value\":20,\"createdAt\":\"2024-01-01T00:00:00Z\","  \
    "\"modifiedAt\":\"2024-01-01T00:00:00Z\"}],"                                                   \
    "\"" EX "label\":[{\"type\":\"Property\",\"value\":\"a\"},{\"type\":\"Property\","             \
    "\"value\":\"b\",\"datasetId\":\"urn:ds:1\"}]"

static json_t *building(const char *attrs)
{
    char buf[2048];
    snprintf(buf, sizeof buf,
             "{\"id\":\"urn:ngsi-ld:Building:1\",\"type\":[\"" EX "Building\"],"
             "\"createdAt\":\"2024-01-01T00:00:00Z\",\"modifiedAt\":\"2024-01-02T00:00:00Z\","
             "\"attrs\":{%s}}",
             attrs);
    return tj(buf);
}

static void match_triggers(void **st)
{
    (void)st;
    struct pl_sub *dflt =
        ok("{\"type\":\"Subscription\",\"entities\":[{\"type\":\"Building\"}]," EP "}");
    struct pl_sub *all = ok("{\"type\":\"Subscription\",\"entities\":[{\"type\":\"Building\"}],"
                            "\"notificationTrigger\":[\"entityCreated\",\"entityUpdated\","
                            "\"entityDeleted\"]," EP "}");
    struct pl_sub *del = ok("{\"type\":\"Subscription\",\"entities\":[{\"type\":\"Building\"}],"
                            "\"notificationTrigger\":[\"attributeDeleted\"]," EP "}");
    json_t *e1 = building(E1_ATTRS);

    /* created */
    assert_int_equal(pl_sub_match(dflt, NULL, e1, T0), PL_TRIG_ATTR_CREATED);
    assert_int_equal(pl_sub_match(all, NULL, e1, T0),
                     PL_TRIG_ENTITY_CREATED | PL_TRIG_ATTR_CREATED);
    assert_int_equal(pl_sub_match(del, NULL, e1, T0), 0);
    json_t *bare = building("");
    assert_int_equal(pl_sub_match(dflt, NULL, bare, T0), 0); /* no attribute created */
    assert_int_equal(pl_sub_match(all, NULL, bare, T0), PL_TRIG_ENTITY_CREATED);
    /* deleted: entityDeleted only */
    assert_int_equal(pl_sub_match(dflt, e1, NULL, T0), 0);
    assert_int_equal(pl_sub_match(all, e1, NULL, T0), PL_TRIG_ENTITY_DELETED);
    assert_int_equal(pl_sub_match(del, e1, NULL, T0), 0);
    assert_int_equal(pl_sub_match(all, NULL, NULL, T0), 0);

    /* same values, new modifiedAt / createdAt: no change */
    json_t *same = building("\"" EX "temp\":[{\"type\":\"Property\",\"value\":20,\"modifiedAt\":"
                            "\"2025-01-01T00:00:00Z\"}],\"" EX "label\":[{\"type\":\"Property\","
                            "\"value\":\"a\"},{\"type\":\"Property\",\"value\":\"b\","
                            "\"datasetId\":\"urn:ds:1\"}]");
    assert_int_equal(pl_sub_match(dflt, e1, same, T0), 0);
    assert_int_equal(pl_sub_match(all, e1, same, T0), 0);
    /* value changed */
    json_t *upd = building("\"" EX "temp\":[{\"type\":\"Property\",\"value\":21}],\"" EX
                           "label\":[{\"type\":\"Property\",\"value\":\"a\"},{\"type\":"
                           "\"Property\",\"value\":\"b\",\"datasetId\":\"urn:ds:1\"}]");
    assert_int_equal(pl_sub_match(dflt, e1, upd, T0), PL_TRIG_ATTR_UPDATED);
    assert_int_equal(pl_sub_match(all, e1, upd, T0), PL_TRIG_ENTITY_UPDATED | PL_TRIG_ATTR_UPDATED);
    assert_int_equal(pl_sub_match(del, e1, upd, T0), 0);
    /* observedAt added: a change */
    json_t *obs = building("\"" EX "temp\":[{\"type\":\"Property\",\"value\":20,\"observedAt\":"
                           "\"2024-01-01T00:00:00Z\"}],\"" EX "label\":[{\"type\":\"Property\","
                           "\"value\":\"a\"},{\"type\":\"Property\",\"value\":\"b\","
                           "\"datasetId\":\"urn:ds:1\"}]");
    assert_int_equal(pl_sub_match(dflt, e1, obs, T0), PL_TRIG_ATTR_UPDATED);
    /* sub-attribute changed */
    json_t *s1 = building("\"" EX "temp\":[{\"type\":\"Property\",\"value\":20,\"sub\":{\"" EX
                          "kind\":{\"type\":\"Property\",\"value\":1,\"modifiedAt\":\"x\"}}}]");
    json_t *s2 = building("\"" EX "temp\":[{\"type\":\"Property\",\"value\":20,\"sub\":{\"" EX
                          "kind\":{\"type\":\"Property\",\"value\":2}}}]");
    json_t *s3 = building("\"" EX "temp\":[{\"type\":\"Property\",\"value\":20,\"sub\":{\"" EX
                          "kind\":{\"type\":\"Property\",\"value\":1,\"modifiedAt\":\"y\"}}}]");
    assert_int_equal(pl_sub_match(dflt, s1, s2, T0), PL_TRIG_ATTR_UPDATED);
    assert_int_equal(pl_sub_match(dflt, s1, s3, T0), 0);
    /* attribute deleted (one datasetId instance, then a whole attribute); created */
    json_t *gone = building("\"" EX "temp\":[{\"type\":\"Property\",\"value\":20}],\"" EX
                            "label\":[{\"type\":\"Property\",\"value\":\"a\"}]");
    assert_int_equal(pl_sub_match(dflt, e1, gone, T0), 0);
    assert_int_equal(pl_sub_match(del, e1, gone, T0), PL_TRIG_ATTR_DELETED);
    assert_int_equal(pl_sub_match(all, e1, gone, T0),
                     PL_TRIG_ENTITY_UPDATED | PL_TRIG_ATTR_DELETED);
    assert_int_equal(pl_sub_match(dflt, gone, e1, T0), PL_TRIG_ATTR_CREATED);
    assert_int_equal(pl_sub_match(dflt, bare, e1, T0), PL_TRIG_ATTR_CREATED);
    /* types / scope changes are entityUpdated (no watchedAttributes) */
    json_t *typed = building(E1_ATTRS);
    json_array_append_new(json_object_get(typed, "type"), json_string(EX "Shop"));
    assert_int_equal(pl_sub_match(all, e1, typed, T0), PL_TRIG_ENTITY_UPDATED);
    assert_int_equal(pl_sub_match(dflt, e1, typed, T0), 0);

    const char *names[] = {"entityCreated",    "entityUpdated",    "entityDeleted",
                           "attributeCreated", "attributeUpdated", "attributeDeleted"};
    for (unsigned i = 0; i < 6; i++)
        assert_string_equal(pl_sub_trigger_name(1u << i), names[i]);
    assert_string_equal(pl_sub_trigger_name(PL_TRIG_ATTR_UPDATED | PL_TRIG_ENTITY_UPDATED),
                        "entityUpdated");
    assert_null(pl_sub_trigger_name(0));

    json_t *v[] = {e1, bare, same, upd, obs, s1, s2, s3, gone, typed};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        json_decref(v[i]);
    pl_sub_free(dflt);
    pl_sub_free(all);
    pl_sub_free(del);
}

static void match_watched_attributes(void **st)
{
    (void)st;
    struct pl_sub *s = ok("{\"type\":\"Subscription\",\"watchedAttributes\":[\"label\"],"
                          "\"notificationTrigger\":[\"entityCreated\",\"entityUpdated\"]," EP "}");
    json_t *e1 = building(E1_ATTRS);
    json_t *t = building("\"" EX "temp\":[{\"type\":\"Property\",\"value\":99}],\"" EX
                         "label\":[{\"type\":\"Property\",\"value\":\"a\"},{\"type\":"
                         "\"Property\",\"value\":\"b\",\"datasetId\":\"urn:ds:1\"}]");
    json_t *l = building("\"" EX "temp\":[{\"type\":\"Property\",\"value\":20}],\"" EX
                         "label\":[{\"type\":\"Property\",\"value\":\"a\"},{\"type\":"
                         "\"Property\",\"value\":\"c\",\"datasetId\":\"urn:ds:1\"}]");
    json_t *only_temp = building("\"" EX "temp\":[{\"type\":\"Property\",\"value\":20}]");
    assert_int_equal(pl_sub_match(s, e1, t, T0), 0); /* temp is not watched */
    assert_int_equal(pl_sub_match(s, e1, l, T0), PL_TRIG_ENTITY_UPDATED | PL_TRIG_ATTR_UPDATED);
    assert_int_equal(pl_sub_match(s, e1, only_temp, T0),
                     PL_TRIG_ENTITY_UPDATED | PL_TRIG_ATTR_DELETED);
    /* any type: no selectors; entityCreated ignores watchedAttributes */
    assert_int_equal(pl_sub_match(s, NULL, only_temp, T0), PL_TRIG_ENTITY_CREATED);
    assert_int_equal(pl_sub_match(s, NULL, e1, T0), PL_TRIG_ENTITY_CREATED | PL_TRIG_ATTR_CREATED);
    const char *const *keys;
    int any = 0;
    assert_int_equal(pl_sub_types(s, &keys, &any), 0);
    assert_true(any);
    assert_int_equal(pl_sub_watched(s, &keys), 1);
    assert_string_equal(keys[0], EX "label");
    json_decref(e1);
    json_decref(t);
    json_decref(l);
    json_decref(only_temp);
    pl_sub_free(s);
}

static void match_selectors_and_filters(void **st)
{
    (void)st;
    json_t *e1 = building(E1_ATTRS);
    json_t *e2 = building("\"" EX "temp\":[{\"type\":\"Property\",\"value\":5}],\"" EX
                          "label\":[{\"type\":\"Property\",\"value\":\"a\"},{\"type\":"
                          "\"Property\",\"value\":\"b\",\"datasetId\":\"urn:ds:1\"}]");
    struct {
        const char *sub;
        unsigned expect; /* for the change e1 -> e2 */
    } cases[] = {
        {"\"entities\":[{\"type\":\"Building\"}]", PL_TRIG_ATTR_UPDATED},
        {"\"entities\":[{\"type\":\"Shop\"}]", 0},
        {"\"entities\":[{\"type\":\"Shop\"},{\"type\":\"Building\"}]", PL_TRIG_ATTR_UPDATED},
        {"\"entities\":[{\"type\":\"Shop,Building\"}]", PL_TRIG_ATTR_UPDATED},
        {"\"entities\":[{\"type\":\"(Shop;Building)\"}]", 0},
        {"\"entities\":[{\"id\":\"urn:ngsi-ld:Building:1\",\"type\":\"Building\"}]",
         PL_TRIG_ATTR_UPDATED},
        {"\"entities\":[{\"id\":\"urn:ngsi-ld:Building:2\",\"type\":\"Building\"}]", 0},
        {"\"entities\":[{\"id\":\"urn:ngsi-ld:Building:1\",\"idPattern\":\"nomatch\","
         "\"type\":\"Building\"}]",
         PL_TRIG_ATTR_UPDATED},
        {"\"entities\":[{\"idPattern\":\"Building:[0-9]$\",\"type\":\"Building\"}]",
         PL_TRIG_ATTR_UPDATED},
        {"\"entities\":[{\"idPattern\":\"^Building\",\"type\":\"Building\"}]", 0},
        {"\"entities\":[{\"idPattern\":\"(?i)BUILDING:1\",\"type\":\"Building\"}]",
         PL_TRIG_ATTR_UPDATED},
        {"\"entities\":[{\"type\":\"Building\"}],\"q\":\"temp<10\"", PL_TRIG_ATTR_UPDATED},
        {"\"entities\":[{\"type\":\"Building\"}],\"q\":\"temp>10\"", 0}, /* evaluated on after */
        {"\"watchedAttributes\":[\"temp\"],\"q\":\"label==\\\"b\\\"\"", PL_TRIG_ATTR_UPDATED},
        {"\"watchedAttributes\":[\"temp\"],\"scopeQ\":\"/x\"", 0},
        {"\"watchedAttributes\":[\"temp\"],\"isActive\":false", 0},
        {"\"watchedAttributes\":[\"temp\"],\"expiresAt\":\"2024-01-01T00:00:00Z\"",
         PL_TRIG_ATTR_UPDATED}, /* T0 is before it */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[1024];
        snprintf(buf, sizeof buf, "{\"type\":\"Subscription\",%s," EP "}", cases[i].sub);
        struct pl_sub *s = ok(buf);
        unsigned got = pl_sub_match(s, e1, e2, T0);
        if (got != cases[i].expect)
            fail_msg("case %zu (%s): got %u, want %u", i, cases[i].sub, got, cases[i].expect);
        pl_sub_free(s);
    }

    /* expiry against now */
    struct pl_sub *s = ok("{\"type\":\"Subscription\",\"watchedAttributes\":[\"temp\"],"
                          "\"expiresAt\":\"2024-01-01T00:00:00Z\"," EP "}");
    assert_int_equal(pl_sub_match(s, e1, e2, s->expires_at_ms - 1), PL_TRIG_ATTR_UPDATED);
    assert_int_equal(pl_sub_match(s, e1, e2, s->expires_at_ms), 0);
    assert_int_equal(pl_sub_match_entity(s, e2, s->expires_at_ms), 0);
    pl_sub_free(s);

    /* multi-typed entities, AND selections, index keys */
    json_t *multi = building(E1_ATTRS);
    json_array_append_new(json_object_get(multi, "type"), json_string(EX "Shop"));
    s = ok("{\"type\":\"Subscription\",\"entities\":[{\"type\":\"(Shop;Building)\"},"
           "{\"type\":\"Shop|label\"}],\"notificationTrigger\":[\"entityCreated\"]," EP "}");
    assert_int_equal(pl_sub_match(s, NULL, multi, T0), PL_TRIG_ENTITY_CREATED);
    assert_int_equal(pl_sub_match(s, NULL, e1, T0), 0);
    const char *const *keys;
    int any = 1;
    size_t nk = pl_sub_types(s, &keys, &any);
    assert_false(any);
    assert_int_equal(nk, 2);
    assert_string_equal(keys[0], EX "Shop");
    assert_string_equal(keys[1], EX "label");
    assert_int_equal(pl_sub_watched(s, &keys), 0);
    pl_sub_free(s);

    /* geoQ on location; deletion evaluated on before */
    json_t *geo = building("\"https://uri.etsi.org/ngsi-ld/location\":[{\"type\":\"GeoProperty\","
                           "\"value\":{\"type\":\"Point\",\"coordinates\":[2,2]}}]");
    s = ok(
        "{\"type\":\"Subscription\",\"entities\":[{\"type\":\"Building\"}],"
        "\"notificationTrigger\":[\"entityDeleted\",\"entityCreated\"],\"geoQ\":{\"georel\":"
        "\"within\",\"geometry\":\"Polygon\",\"coordinates\":[[[0,0],[4,0],[4,4],[0,4],[0,0]]]}," EP
        "}");
    assert_int_equal(pl_sub_match(s, geo, NULL, T0), PL_TRIG_ENTITY_DELETED);
    assert_int_equal(pl_sub_match(s, NULL, geo, T0), PL_TRIG_ENTITY_CREATED);
    assert_int_equal(pl_sub_match(s, NULL, e1, T0), 0); /* no location */
    pl_sub_free(s);
    s = ok("{\"type\":\"Subscription\",\"entities\":[{\"type\":\"Building\"}],"
           "\"notificationTrigger\":[\"entityCreated\"],\"geoQ\":{\"georel\":\"near;maxDistance=="
           "1000\",\"geometry\":\"Point\",\"coordinates\":[2.001,2]}," EP "}");
    assert_int_equal(pl_sub_match(s, NULL, geo, T0), PL_TRIG_ENTITY_CREATED); /* ~111 m away */
    pl_sub_free(s);

    /* scopeQ */
    json_t *scoped = building(E1_ATTRS);
    json_object_set_new(scoped, "scope", tj("[\"/Madrid/Gardens\"]"));
    s = ok("{\"type\":\"Subscription\",\"entities\":[{\"type\":\"Building\"}],"
           "\"notificationTrigger\":[\"entityCreated\"],\"scopeQ\":\"/Madrid/#\"," EP "}");
    assert_int_equal(pl_sub_match(s, NULL, scoped, T0), PL_TRIG_ENTITY_CREATED);
    assert_int_equal(pl_sub_match(s, NULL, e1, T0), 0);
    pl_sub_free(s);

    /* periodic subscriptions do not fire on changes, but select entities */
    s = ok("{\"type\":\"Subscription\",\"entities\":[{\"type\":\"Building\"}],\"timeInterval\":1,"
           "\"q\":\"temp<10\"," EP "}");
    assert_int_equal(pl_sub_match(s, e1, e2, T0), 0);
    assert_int_equal(pl_sub_match_entity(s, e2, T0), 1);
    assert_int_equal(pl_sub_match_entity(s, e1, T0), 0);
    assert_int_equal(pl_sub_match_entity(s, NULL, T0), 0);
    pl_sub_free(s);

    json_decref(e1);
    json_decref(e2);
    json_decref(multi);
    json_decref(geo);
    json_decref(scoped);
}

/* ------------------------------------------------------------------------------------------ */

static json_t *notify1(const struct pl_sub *s, const json_t *b, const json_t *a)
{
    const json_t *bb[1] = {b}, *aa[1] = {a};
    json_t *n = pl_sub_notification(s, g_ctx, bb, aa, 1, T0);
    assert_non_null(n);
    assert_string_equal(sget(n, "type"), "Notification");
    assert_int_equal(strncmp(sget(n, "id"), "urn:ngsi-ld:Notification:", 25), 0);
    assert_string_equal(sget(n, "notifiedAt"), "2023-11-14T22:13:20.000Z");
    return n;
}

static json_t *data0(json_t *n)
{
    return json_array_get(json_object_get(n, "data"), 0);
}

static void notification_payloads(void **st)
{
    (void)st;
    json_t *e1 = building(E1_ATTRS);
    json_t *e2 = building("\"" EX "temp\":[{\"type\":\"Property\",\"value\":21}],\"" EX
                          "owner\":[{\"type\":\"Relationship\",\"object\":\"urn:x:1\"}],\"" EX
                          "label\":[{\"type\":\"Property\",\"value\":\"a\"}]");

    /* normalized, whole entity; deleted datasetId instance marked */
    struct pl_sub *s = ok("{\"id\":\"urn:ngsi-ld:Subscription:n\",\"type\":\"Subscription\","
                          "\"entities\":[{\"type\":\"Building\"}]," EP "}");
    json_t *n = notify1(s, e1, e2);
    assert_string_equal(sget(n, "subscriptionId"), "urn:ngsi-ld:Subscription:n");
    assert_null(json_object_get(n, "@context"));
    json_t *d = data0(n);
    assert_string_equal(sget(d, "id"), "urn:ngsi-ld:Building:1");
    assert_string_equal(sget(d, "type"), "Building");
    assert_int_equal(json_integer_value(json_object_get(json_object_get(d, "temp"), "value")), 21);
    assert_string_equal(sget(d, "owner.object"), "urn:x:1");
    json_t *lab = json_object_get(d, "label");
    assert_true(json_is_array(lab) && json_array_size(lab) == 2);
    assert_string_equal(sget(json_array_get(lab, 1), "value"), "urn:ngsi-ld:null");
    assert_string_equal(sget(json_array_get(lab, 1), "datasetId"), "urn:ds:1");
    assert_null(json_object_get(d, "createdAt"));
    json_decref(n);
    /* a whole attribute deleted: "name": "urn:ngsi-ld:null" */
    n = notify1(s, e2, e1);
    d = data0(n);
    assert_string_equal(sget(d, "owner"), "urn:ngsi-ld:null");
    json_decref(n);
    /* several changes in one notification */
    const json_t *bb[2] = {NULL, e1}, *aa[2] = {e1, e2};
    n = pl_sub_notification(s, g_ctx, bb, aa, 2, T0);
    assert_int_equal(json_array_size(json_object_get(n, "data")), 2);
    json_decref(n);
    n = pl_sub_notification(s, g_ctx, NULL, aa, 2, T0);
    assert_int_equal(json_array_size(json_object_get(n, "data")), 2);
    json_decref(n);
    /* deleted entity: id, type, deletedAt only */
    n = notify1(s, e1, NULL);
    d = data0(n);
    assert_int_equal(json_object_size(d), 3);
    assert_string_equal(sget(d, "deletedAt"), "2023-11-14T22:13:20.000Z");
    assert_string_equal(sget(d, "type"), "Building");
    json_decref(n);
    json_t *e1d = json_deep_copy(e1);
    json_object_set_new(e1d, "deletedAt", json_string("2023-01-01T00:00:00.000Z"));
    n = notify1(s, e1d, NULL);
    assert_string_equal(sget(data0(n), "deletedAt"), "2023-01-01T00:00:00.000Z");
    json_decref(n);
    pl_sub_free(s);

    /* keyValues + attributes projection + ld+json @context */
    s = ok("{\"id\":\"urn:ngsi-ld:Subscription:k\",\"type\":\"Subscription\","
           "\"entities\":[{\"type\":\"Building\"}],\"notification\":{\"format\":\"keyValues\","
           "\"attributes\":[\"temp\",\"owner\"],\"endpoint\":{\"uri\":\"http://h/\",\"accept\":"
           "\"application/ld+json\"}}}");
    n = notify1(s, e1, e2);
    d = data0(n);
    assert_int_equal(json_integer_value(json_object_get(d, "temp")), 21);
    assert_string_equal(sget(d, "owner"), "urn:x:1");
    assert_null(json_object_get(d, "label"));
    json_t *ctxm = json_object_get(n, "@context");
    assert_true(json_is_array(ctxm));
    assert_true(json_equal(json_array_get(ctxm, 0), s->context));
    json_decref(n);
    n = notify1(s, e2, e1);
    assert_string_equal(sget(data0(n), "owner"), "urn:ngsi-ld:null");
    json_decref(n);
    pl_sub_free(s);

    /* showChanges + sysAttrs: previousValue / previousObject, deleted with previous value */
    s = ok("{\"id\":\"urn:ngsi-ld:Subscription:c\",\"type\":\"Subscription\","
           "\"entities\":[{\"type\":\"Building\"}],\"notification\":{\"showChanges\":true,"
           "\"sysAttrs\":true,\"endpoint\":{\"uri\":\"http://h/\"}}}");
    json_t *e3 = building("\"" EX "temp\":[{\"type\":\"Property\",\"value\":22}],\"" EX
                          "owner\":[{\"type\":\"Relationship\",\"object\":\"urn:x:2\"}]");
    n = notify1(s, e2, e3);
    d = data0(n);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(d, "temp"), "previousValue")), 21);
    assert_string_equal(sget(d, "owner.previousObject"), "urn:x:1");
    assert_string_equal(sget(d, "label.value"), "urn:ngsi-ld:null");
    assert_string_equal(sget(d, "label.previousValue"), "a");
    assert_string_equal(sget(d, "label.deletedAt"), "2024-01-02T00:00:00Z");
    assert_string_equal(sget(d, "label.type"), "Property");
    assert_non_null(json_object_get(d, "createdAt"));
    json_decref(n);
    /* 5.2.14: previous values only on what changed (e3 -> e3b changes temp, not owner) */
    json_t *e3b = building("\"" EX "temp\":[{\"type\":\"Property\",\"value\":23}],\"" EX
                           "owner\":[{\"type\":\"Relationship\",\"object\":\"urn:x:2\"}]");
    n = notify1(s, e3, e3b);
    d = data0(n);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(d, "temp"), "previousValue")), 22);
    assert_null(json_object_get(json_object_get(d, "owner"), "previousObject"));
    json_decref(n);
    json_decref(e3b);
    /* no previous value for a creation */
    n = notify1(s, NULL, e3);
    assert_null(json_object_get(json_object_get(data0(n), "temp"), "previousValue"));
    json_decref(n);
    /* deleted entity with showChanges: attributes as deleted with previous values */
    n = notify1(s, e3, NULL);
    d = data0(n);
    assert_string_equal(sget(d, "owner.object"), "urn:ngsi-ld:null");
    assert_string_equal(sget(d, "owner.previousObject"), "urn:x:2");
    assert_string_equal(sget(d, "createdAt"), "2024-01-01T00:00:00Z");
    json_decref(n);
    pl_sub_free(s);

    /* concise + showChanges: bare values become objects */
    s = ok("{\"type\":\"Subscription\",\"id\":\"urn:x:s\",\"entities\":[{\"type\":\"Building\"}],"
           "\"notification\":{\"showChanges\":true,\"format\":\"concise\",\"endpoint\":"
           "{\"uri\":\"http://h/\"}}}");
    n = notify1(s, e2, e3);
    d = data0(n);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(d, "temp"), "value")), 22);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(d, "temp"), "previousValue")), 21);
    json_decref(n);
    pl_sub_free(s);

    /* pick */
    s = ok("{\"type\":\"Subscription\",\"id\":\"urn:x:s\",\"entities\":[{\"type\":\"Building\"}],"
           "\"notification\":{\"pick\":[\"id\",\"temp\"],\"endpoint\":{\"uri\":\"http://h/\"}}}");
    n = notify1(s, e2, e1);
    d = data0(n);
    assert_non_null(json_object_get(d, "id"));
    assert_null(json_object_get(d, "type"));
    assert_null(json_object_get(d, "owner")); /* not picked, not even as deleted */
    assert_non_null(json_object_get(d, "temp"));
    json_decref(n);
    pl_sub_free(s);

    /* geo+json: a FeatureCollection */
    json_t *g = building("\"https://uri.etsi.org/ngsi-ld/location\":[{\"type\":\"GeoProperty\","
                         "\"value\":{\"type\":\"Point\",\"coordinates\":[2,3]}}],\"" EX
                         "temp\":[{\"type\":\"Property\",\"value\":1}]");
    s = ok("{\"type\":\"Subscription\",\"id\":\"urn:x:s\",\"entities\":[{\"type\":\"Building\"}],"
           "\"notification\":{\"endpoint\":{\"uri\":\"http://h/\",\"accept\":"
           "\"application/geo+json\"}}}");
    n = notify1(s, NULL, g);
    json_t *fc = json_object_get(n, "data");
    assert_string_equal(sget(fc, "type"), "FeatureCollection");
    json_t *f = json_array_get(json_object_get(fc, "features"), 0);
    assert_string_equal(sget(f, "type"), "Feature");
    assert_string_equal(sget(f, "id"), "urn:ngsi-ld:Building:1");
    assert_string_equal(sget(f, "geometry.type"), "Point");
    assert_string_equal(sget(f, "properties.type"), "Building");
    assert_null(json_object_get(json_object_get(f, "properties"), "id"));
    json_decref(n);
    pl_sub_free(s);

    json_decref(g);
    json_decref(e1);
    json_decref(e1d);
    json_decref(e2);
    json_decref(e3);
}

static void notify_context_and_link(void **st)
{
    (void)st;
    /* core-only context */
    json_t *in = tj("{\"type\":\"Subscription\",\"watchedAttributes\":[\"temp\"]," EP "}");
    struct pl_sub *s = NULL;
    struct pl_err err;
    assert_int_equal(pl_sub_parse_at(in, pl_ctx_core(), T0, &s, &err), 0);
    json_decref(in);
    assert_true(json_is_null(s->context));
    json_t *c = pl_sub_notify_context(s);
    assert_true(json_is_null(c));
    json_decref(c);
    c = pl_sub_context_member(s);
    assert_string_equal(json_string_value(c), PL_CORE_CONTEXT_URL);
    json_decref(c);
    assert_null(pl_sub_link_url(s));
    assert_string_equal(s->watched[0], PL_DEFAULT_VOCAB "temp");
    pl_sub_free(s);
}

/* The status counters in the stored form: written and read by the notifier only, never taken
 * from a payload, and kept apart from what the subscription's own stored form says. */
static void stored_status_counters(void **st)
{
    (void)st;
    struct pl_sub *s = ok("{\"id\":\"urn:ngsi-ld:Subscription:c\",\"type\":\"Subscription\","
                          "\"entities\":[{\"type\":\"Building\"}],\"notificationStatus\":"
                          "{\"timesSent\":7},\"notification\":{\"timesSent\":9,"
                          "\"endpoint\":{\"uri\":\"http://r/\"}}}");
    json_t *stored = pl_sub_to_stored(s);
    /* a payload cannot set them: none in the stored form, zeros when read */
    assert_null(json_object_get(stored, "notificationStatus"));
    struct pl_sub_status got;
    memset(&got, 0xff, sizeof got);
    pl_sub_stored_status(stored, &got);
    assert_true(got.times_sent == 0 && got.times_failed == 0 && got.last_notification_ms == 0 &&
                got.last_success_ms == 0 && got.last_failure_ms == 0);

    struct pl_sub_status in = {.times_sent = 12,
                               .times_failed = 5,
                               .last_notification_ms = T0 + 3,
                               .last_success_ms = T0 + 1,
                               .last_failure_ms = T0 + 3};
    assert_int_equal(pl_sub_stored_set_status(stored, &in), 0);
    /* through text, as the store keeps it */
    char *text = json_dumps(stored, JSON_COMPACT);
    json_t *back = tj(text);
    free(text);
    pl_sub_stored_status(back, &got);
    assert_memory_equal(&got, &in, sizeof in);
    /* the subscription reads back the same with them in its stored form */
    struct pl_sub *b = NULL;
    struct pl_err err;
    assert_int_equal(pl_sub_from_stored(back, &b, &err), 0);
    json_t *st2 = pl_sub_to_stored(b);
    json_object_del(stored, "notificationStatus");
    assert_true(json_equal(stored, st2));
    /* a PATCH (which starts from pl_sub_to_stored) cannot bring them in either */
    json_t *frag = tj("{\"notificationStatus\":{\"timesSent\":99},\"description\":\"d\"}");
    struct pl_sub *p = NULL;
    assert_int_equal(pl_sub_patch_at(b, frag, g_ctx, T0, &p, &err), 0);
    json_t *st3 = pl_sub_to_stored(p);
    assert_null(json_object_get(st3, "notificationStatus"));
    assert_string_equal(sget(st3, "description"), "d");
    /* set again: replaced, not merged */
    in.times_sent = 13;
    assert_int_equal(pl_sub_stored_set_status(back, &in), 0);
    pl_sub_stored_status(back, &got);
    assert_int_equal(got.times_sent, 13);
    /* a damaged member costs only that member */
    json_t *dmg = tj("{\"notificationStatus\":{\"timesSent\":-4,\"timesFailed\":\"x\","
                     "\"lastNotification\":1.5,\"lastSuccess\":null,\"lastFailure\":42}}");
    pl_sub_stored_status(dmg, &got);
    assert_true(got.times_sent == 0 && got.times_failed == 0 && got.last_notification_ms == 0 &&
                got.last_success_ms == 0 && got.last_failure_ms == 42);
    json_t *notobj = tj("{\"notificationStatus\":[1]}");
    pl_sub_stored_status(notobj, &got);
    assert_int_equal(got.last_failure_ms, 0);
    json_decref(notobj);
    json_decref(dmg);
    json_decref(frag);
    json_decref(st3);
    json_decref(st2);
    json_decref(back);
    json_decref(stored);
    pl_sub_free(p);
    pl_sub_free(b);
    pl_sub_free(s);
}

/* 5.3.1 (V1.9.1) Notification: id, type, subscriptionId, notifiedAt, data (and @context for
 * JSON-LD). No triggerReason: that member belongs to CSourceNotification (5.3.2, 5.3.3). */
static void notification_members_5_3_1(void **st)
{
    (void)st;
    static const char *const trig[] = {"entityCreated",    "entityUpdated",    "entityDeleted",
                                       "attributeCreated", "attributeUpdated", "attributeDeleted"};
    json_t *e0 = building("");
    json_t *e1 = building("\"" EX "temp\":[{\"type\":\"Property\",\"value\":1}]");
    json_t *e2 = building("\"" EX "temp\":[{\"type\":\"Property\",\"value\":2}]");
    /* a change that fires each trigger, in the order of trig[] */
    const json_t *bs[] = {NULL, e1, e1, e0, e1, e2}, *as[] = {e2, e2, NULL, e2, e2, e0};
    for (size_t i = 0; i < 6; i++) {
        char text[512];
        snprintf(text, sizeof text,
                 "{\"id\":\"urn:ngsi-ld:Subscription:m\",\"type\":\"Subscription\","
                 "\"entities\":[{\"type\":\"Building\"}],\"notificationTrigger\":[\"%s\"]," EP "}",
                 trig[i]);
        struct pl_sub *s = ok(text);
        assert_true(pl_sub_match(s, bs[i], as[i], T0) & (1u << i));
        json_t *n = notify1(s, bs[i], as[i]);
        assert_int_equal(json_object_size(n), 5);
        static const char *const members[] = {"id", "type", "subscriptionId", "notifiedAt", "data"};
        for (size_t m = 0; m < 5; m++)
            assert_non_null(json_object_get(n, members[m]));
        assert_null(json_object_get(n, "triggerReason"));
        json_decref(n);
        pl_sub_free(s);
    }
    json_decref(e0);
    json_decref(e1);
    json_decref(e2);
}

/* The notifier's text path (shared rendered items + envelope) gives the same JSON as
 * pl_sub_notification, for every format and accept, several changes, deletions included. */
static void notification_text_equals_json(void **st)
{
    (void)st;
    json_t *e1 = building(E1_ATTRS);
    json_t *e2 = building("\"" EX "temp\":[{\"type\":\"Property\",\"value\":21.25}],\"" EX
                          "location\":[{\"type\":\"GeoProperty\",\"value\":{\"type\":\"Point\","
                          "\"coordinates\":[1.5,2.5]}}]");
    const char *subs[] = {
        "{\"id\":\"urn:ngsi-ld:Subscription:t\",\"type\":\"Subscription\",\"entities\":[{\"type\":"
        "\"Building\"}]," EP "}",
        "{\"id\":\"urn:ngsi-ld:Subscription:t\",\"type\":\"Subscription\",\"entities\":[{\"type\":"
        "\"Building\"}],\"notification\":{\"format\":\"keyValues\",\"attributes\":[\"temp\"],"
        "\"endpoint\":{\"uri\":\"http://127.0.0.1:9/n\"}}}",
        "{\"id\":\"urn:ngsi-ld:Subscription:t\",\"type\":\"Subscription\",\"entities\":[{\"type\":"
        "\"Building\"}],\"notification\":{\"format\":\"concise\",\"showChanges\":true,"
        "\"sysAttrs\":true,\"endpoint\":{\"uri\":\"http://127.0.0.1:9/n\",\"accept\":"
        "\"application/ld+json\"}}}",
        "{\"id\":\"urn:ngsi-ld:Subscription:t\",\"type\":\"Subscription\",\"entities\":[{\"type\":"
        "\"Building\"}],\"notification\":{\"endpoint\":{\"uri\":\"http://127.0.0.1:9/n\","
        "\"accept\":\"application/geo+json\"}}}",
    };
    const json_t *before[] = {NULL, e1, e2, e1};
    const json_t *after[] = {e1, e2, NULL, e2};
    for (size_t k = 0; k < sizeof subs / sizeof subs[0]; k++) {
        struct pl_sub *s = ok(subs[k]);
        json_t *want = pl_sub_notification(s, g_ctx, before, after, 4, T0);
        assert_non_null(want);
        const char *items[4];
        size_t lens[4];
        for (size_t i = 0; i < 4; i++)
            items[i] = pl_sub_render_item(s, g_ctx, before[i], after[i], T0, &lens[i]);
        struct pl_strbuf b;
        pl_strbuf_init(&b);
        pl_sub_notification_text(s, 0, items, lens, 4, T0, &b);
        assert_false(pl_strbuf_failed(&b));
        json_error_t jerr;
        json_t *got = json_loads(b.p, 0, &jerr);
        if (!got)
            fail_msg("subscription %zu: not JSON (%s): %s", k, jerr.text, b.p);
        assert_int_equal(
            strncmp(json_string_value(json_object_get(got, "id")), "urn:ngsi-ld:Notification:", 25),
            0);
        json_object_del(got, "id");
        json_object_del(want, "id");
        if (!json_equal(got, want)) {
            char *w = json_dumps(want, JSON_COMPACT);
            fail_msg("subscription %zu:\n text %s\n json %s", k, b.p, w);
        }
        /* reals as written, not 21.250000000000000 */
        if (k == 0)
            assert_non_null(strstr(b.p, "21.25"));
        json_decref(got);
        json_decref(want);
        pl_strbuf_dispose(&b);
        for (size_t i = 0; i < 4; i++)
            free((char *)items[i]);
        pl_sub_free(s);
    }
    json_decref(e1);
    json_decref(e2);
}

/* Subscriptions that differ only in what selects changes or where they go render alike (one
 * signature); any rendering member makes them differ. */
static void render_signatures(void **st)
{
    (void)st;
    const char *base = "{\"type\":\"Subscription\",\"entities\":[{\"type\":\"Building\"}],"
                       "\"notification\":{\"endpoint\":{\"uri\":\"http://127.0.0.1:9/n\"}}}";
    const char *same[] = {
        "{\"type\":\"Subscription\",\"entities\":[{\"type\":\"Other\"}],\"watchedAttributes\":"
        "[\"temp\"],\"q\":\"temp>1\",\"notification\":{\"endpoint\":{\"uri\":\"mqtt://h/t\"}}}",
    };
    const char *differ[] = {
        "{\"type\":\"Subscription\",\"entities\":[{\"type\":\"Building\"}],\"notification\":{"
        "\"format\":\"keyValues\",\"endpoint\":{\"uri\":\"http://127.0.0.1:9/n\"}}}",
        "{\"type\":\"Subscription\",\"entities\":[{\"type\":\"Building\"}],\"notification\":{"
        "\"attributes\":[\"temp\"],\"endpoint\":{\"uri\":\"http://127.0.0.1:9/n\"}}}",
        "{\"type\":\"Subscription\",\"entities\":[{\"type\":\"Building\"}],\"notification\":{"
        "\"sysAttrs\":true,\"endpoint\":{\"uri\":\"http://127.0.0.1:9/n\"}}}",
        "{\"type\":\"Subscription\",\"entities\":[{\"type\":\"Building\"}],\"lang\":\"fr\","
        "\"notification\":{\"endpoint\":{\"uri\":\"http://127.0.0.1:9/n\"}}}",
        "{\"type\":\"Subscription\",\"entities\":[{\"type\":\"Building\"}],\"notification\":{"
        "\"showChanges\":true,\"endpoint\":{\"uri\":\"http://127.0.0.1:9/n\"}}}",
        "{\"type\":\"Subscription\",\"entities\":[{\"type\":\"Building\"}],\"notification\":{"
        "\"omit\":[\"temp\"],\"endpoint\":{\"uri\":\"http://127.0.0.1:9/n\"}}}",
        "{\"type\":\"Subscription\",\"entities\":[{\"type\":\"Building\"}],\"notification\":{"
        "\"endpoint\":{\"uri\":\"http://127.0.0.1:9/n\",\"accept\":\"application/geo+json\"}}}",
    };
    struct pl_sub *b = ok(base);
    char *sb = pl_sub_render_sig(b);
    assert_non_null(sb);
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        struct pl_sub *s = ok(same[i]);
        char *x = pl_sub_render_sig(s);
        assert_string_equal(x, sb);
        free(x);
        pl_sub_free(s);
    }
    for (size_t i = 0; i < sizeof differ / sizeof differ[0]; i++) {
        struct pl_sub *s = ok(differ[i]);
        char *x = pl_sub_render_sig(s);
        if (!strcmp(x, sb))
            fail_msg("differ[%zu] has the base's signature", i);
        free(x);
        pl_sub_free(s);
    }
    free(sb);
    pl_sub_free(b);
}

/* datasetId (5.2.12, 5.8.6): only the selected instances trigger and are notified. */
static void dataset_selection_5_8_6(void **st)
{
    (void)st;
    struct pl_sub *d1 = ok("{\"id\":\"urn:ngsi-ld:Subscription:d\",\"type\":\"Subscription\","
                           "\"entities\":[{\"type\":\"Building\"}],\"datasetId\":[\"urn:ds:1\"],"
                           "\"notification\":{\"format\":\"keyValues\",\"endpoint\":{\"uri\":"
                           "\"http://h/n\"}}}");
    struct pl_sub *dn = ok("{\"type\":\"Subscription\",\"entities\":[{\"type\":\"Building\"}],"
                           "\"datasetId\":[\"@none\"]," EP "}");
    /* label has a default instance "a" and a urn:ds:1 instance "b" */
    json_t *e1 = building(E1_ATTRS);
    json_t *e_def = building(
        "\"" EX "temp\":[{\"type\":\"Property\",\"value\":20}],\"" EX
        "label\":[{\"type\":\"Property\",\"value\":\"z\"},{\"type\":\"Property\",\"value\":\"b\","
        "\"datasetId\":\"urn:ds:1\"}]");
    json_t *e_ds = building(
        "\"" EX "temp\":[{\"type\":\"Property\",\"value\":20}],\"" EX
        "label\":[{\"type\":\"Property\",\"value\":\"a\"},{\"type\":\"Property\",\"value\":\"y\","
        "\"datasetId\":\"urn:ds:1\"}]");
    /* the default instance changed: only the @none subscription fires */
    assert_int_equal(pl_sub_match(d1, e1, e_def, T0), 0);
    assert_int_equal(pl_sub_match(dn, e1, e_def, T0), PL_TRIG_ATTR_UPDATED);
    /* the urn:ds:1 instance changed: only d1 fires */
    assert_int_equal(pl_sub_match(d1, e1, e_ds, T0), PL_TRIG_ATTR_UPDATED);
    assert_int_equal(pl_sub_match(dn, e1, e_ds, T0), 0);
    /* a creation fires d1 only when it has a selected instance */
    assert_int_equal(pl_sub_match(d1, NULL, e1, T0), PL_TRIG_ATTR_CREATED);
    json_t *bare = building("\"" EX "temp\":[{\"type\":\"Property\",\"value\":20}]");
    assert_int_equal(pl_sub_match(d1, NULL, bare, T0), 0);
    /* the notification shows only the selected instances; temp (no urn:ds:1 instance) is out */
    const json_t *bb[1] = {e1}, *aa[1] = {e_ds};
    json_t *n = pl_sub_notification(d1, g_ctx, bb, aa, 1, T0);
    json_t *d = json_array_get(json_object_get(n, "data"), 0);
    assert_null(json_object_get(d, "temp"));
    json_t *lab = json_object_get(d, "label");
    /* keyValues of a single datasetId instance: {"dataset": {"urn:ds:1": "y"}} (4.5.4) */
    char *txt = json_dumps(lab, JSON_COMPACT);
    assert_non_null(strstr(txt, "urn:ds:1"));
    assert_non_null(strstr(txt, "\"y\""));
    assert_null(strstr(txt, "\"a\""));
    free(txt);
    json_decref(n);
    /* stored and rendered back */
    json_t *stored = pl_sub_to_stored(d1);
    assert_string_equal(json_string_value(json_array_get(json_object_get(stored, "datasetId"), 0)),
                        "urn:ds:1");
    struct pl_sub *back = NULL;
    struct pl_err err;
    assert_int_equal(pl_sub_from_stored(stored, &back, &err), 0);
    assert_int_equal(back->n_dataset_ids, 1);
    json_t *g = pl_sub_render(d1, g_ctx, NULL, T0);
    assert_true(json_is_array(json_object_get(g, "datasetId")));
    json_decref(g);
    pl_sub_free(back);
    json_decref(stored);
    json_decref(e1);
    json_decref(e_def);
    json_decref(e_ds);
    json_decref(bare);
    pl_sub_free(d1);
    pl_sub_free(dn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_minimal_and_defaults),
        cmocka_unit_test(parse_member_errors),
        cmocka_unit_test(parse_uses_the_clock),
        cmocka_unit_test(patch_replaces_members),
        cmocka_unit_test(stored_form_round_trips),
        cmocka_unit_test(render_with_status),
        cmocka_unit_test(match_triggers),
        cmocka_unit_test(match_watched_attributes),
        cmocka_unit_test(match_selectors_and_filters),
        cmocka_unit_test(notification_payloads),
        cmocka_unit_test(notify_context_and_link),
        cmocka_unit_test(stored_status_counters),
        cmocka_unit_test(notification_members_5_3_1),
        cmocka_unit_test(notification_text_equals_json),
        cmocka_unit_test(render_signatures),
        cmocka_unit_test(dataset_selection_5_8_6),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
