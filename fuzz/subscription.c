/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz/subscription.c — libFuzzer target for the subs module (subs/subscription.h).
 *
 * Parses the input as JSON, then as a Subscription payload (with the core context and with a
 * small user context) and as a stored form. Every subscription that parses is rendered, matched
 * against a few entity changes, turned into notifications, PATCHed with the input itself, and
 * its stored form must read back to the very same stored form (else the target aborts).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/strbuf.h"
#include "ngsild/context.h"
#include "subs/subscription.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1700000000000LL

static const struct pl_ctx *user_ctx(void)
{
    static struct pl_ctx *c;
    if (!c) {
        json_t *v = json_pack("{s:s,s:s,s:s}", "Building", "https://ex.org/Building", "temp",
                              "https://ex.org/temp", "ex", "https://ex.org/");
        struct pl_err err;
        if (pl_ctx_build(v, NULL, NULL, &c, &err) != 0)
            abort();
        json_decref(v);
    }
    return c;
}

static json_t *entity(int variant)
{
    static const char *const texts[] = {
        "{\"id\":\"urn:ngsi-ld:Building:1\",\"type\":[\"https://ex.org/Building\"],"
        "\"scope\":[\"/a/b\"],\"modifiedAt\":\"2024-01-01T00:00:00Z\",\"attrs\":{"
        "\"https://ex.org/temp\":[{\"type\":\"Property\",\"value\":20}],"
        "\"https://uri.etsi.org/ngsi-ld/location\":[{\"type\":\"GeoProperty\",\"value\":"
        "{\"type\":\"Point\",\"coordinates\":[1,2]}}]}}",
        "{\"id\":\"urn:ngsi-ld:Building:1\",\"type\":[\"https://ex.org/Building\","
        "\"https://ex.org/Shop\"],\"attrs\":{\"https://ex.org/temp\":[{\"type\":\"Property\","
        "\"value\":21,\"observedAt\":\"2024-01-01T00:00:00Z\"},{\"type\":\"Property\",\"value\":"
        "3,\"datasetId\":\"urn:ds:1\"}],\"https://ex.org/rel\":[{\"type\":\"Relationship\","
        "\"object\":\"urn:x:1\"}],\"https://ex.org/lang\":[{\"type\":\"LanguageProperty\","
        "\"languageMap\":{\"en\":\"a\"}}]}}"};
    return json_loads(texts[variant], 0, NULL);
}

static void exercise(struct pl_sub *s, const struct pl_ctx *ctx, const json_t *in)
{
    if (!s->id)
        s->id = pl_sub_new_id();
    struct pl_sub_status st = {1, 1, NOW, NOW - 1, NOW};
    json_t *r = pl_sub_render(s, ctx, &st, NOW);
    json_decref(r);
    r = pl_sub_render(s, pl_ctx_core(), NULL, NOW);
    json_decref(r);

    /* stored form: stable through a read back */
    json_t *st1 = pl_sub_to_stored(s);
    struct pl_sub *b = NULL;
    struct pl_err err;
    if (pl_sub_from_stored(st1, &b, &err) != 0) {
        fprintf(stderr, "stored form does not read back: %s\n", err.detail);
        abort();
    }
    json_t *st2 = pl_sub_to_stored(b);
    if (!json_equal(st1, st2)) {
        char *x = json_dumps(st1, JSON_SORT_KEYS), *y = json_dumps(st2, JSON_SORT_KEYS);
        fprintf(stderr, "stored form differs:\n%s\n%s\n", x, y);
        abort();
    }
    json_decref(st1);
    json_decref(st2);
    pl_sub_free(b);

    /* matching and notifications */
    json_t *e0 = entity(0), *e1 = entity(1);
    const json_t *bef[3] = {NULL, e0, e1}, *aft[3] = {e0, e1, NULL};
    for (int i = 0; i < 3; i++)
        (void)pl_sub_match(s, bef[i], aft[i], NOW);
    (void)pl_sub_match_entity(s, e0, NOW);
    json_t *n = pl_sub_notification(s, ctx, bef, aft, 3, NOW);
    /* the notifier's text path must give the same JSON (but for the notification id) */
    const char *items[3];
    size_t lens[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++)
        items[i] = pl_sub_render_item(s, ctx, bef[i], aft[i], NOW, &lens[i]);
    struct pl_strbuf tb;
    pl_strbuf_init(&tb);
    pl_sub_notification_text(s, 0, items, lens, 3, NOW, &tb);
    json_t *tn = tb.p ? json_loads(tb.p, 0, NULL) : NULL;
    if (n && !pl_strbuf_failed(&tb)) {
        json_object_del(n, "id");
        if (tn)
            json_object_del(tn, "id");
        if (!tn || !json_equal(n, tn)) {
            char *x = json_dumps(n, JSON_SORT_KEYS);
            fprintf(stderr, "notification text differs:\n%s\n%s\n", x, tb.p ? tb.p : "(null)");
            abort();
        }
    }
    json_decref(tn);
    pl_strbuf_dispose(&tb);
    for (int i = 0; i < 3; i++)
        free((char *)items[i]);
    char *sig = pl_sub_render_sig(s);
    free(sig);
    json_decref(n);
    json_decref(e0);
    json_decref(e1);
    const char *const *keys;
    int any;
    (void)pl_sub_types(s, &keys, &any);
    (void)pl_sub_watched(s, &keys);
    json_t *c = pl_sub_context_member(s);
    json_decref(c);

    /* PATCH with the input itself */
    struct pl_sub *p = NULL;
    if (pl_sub_patch_at(s, in, ctx, NOW, &p, &err) == 0)
        pl_sub_free(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t je;
    json_t *in =
        json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
    if (!in)
        return 0;
    const struct pl_ctx *ctxs[2] = {pl_ctx_core(), user_ctx()};
    struct pl_err err;
    for (int i = 0; i < 2; i++) {
        struct pl_sub *s = NULL;
        if (pl_sub_parse_at(in, ctxs[i], NOW, &s, &err) == 0) {
            exercise(s, ctxs[i], in);
            pl_sub_free(s);
        }
    }
    struct pl_sub *s = NULL;
    if (pl_sub_from_stored(in, &s, &err) == 0) {
        exercise(s, user_ctx(), in);
        pl_sub_free(s);
    }
    json_decref(in);
    return 0;
}
