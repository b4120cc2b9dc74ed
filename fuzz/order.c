/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz/order.c — libFuzzer target for Entity Ordering (query/order.c, 4.23): the input is up to
 * four lines, orderBy, collation, orderFrom and orderGeometry (an empty or missing line: the
 * parameter is absent). A parse either succeeds or says why; a parsed order sorts a few
 * entities of every value class (with its names as written, then expanded with the core
 * context) and keeps every entity exactly once.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "ngsild/context.h"
#include "query/order.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_ENT 6

static json_t *entity(int i)
{
    static const char *const values[N_ENT] = {
        "1",
        "\"b\"",
        "{\"@type\":\"DateTime\",\"@value\":\"2020-01-01T00:00:00Z\"}",
        "[2,{\"k\":\"v\"}]",
        "true",
        NULL};
    char id[32];
    snprintf(id, sizeof id, "urn:x:%d", i);
    json_t *e = json_pack("{s:s,s:[s],s:{}}", "id", id, "type", "T", "attrs");
    if (values[i]) {
        json_t *attrs = json_object_get(e, "attrs");
        json_t *v = json_loads(values[i], JSON_DECODE_ANY, NULL);
        json_object_set_new(attrs, "a", json_pack("[{s:s,s:o}]", "type", "Property", "value", v));
        json_t *a = json_pack("[{s:s,s:{s:s,s:[f,f]}}]", "type", "GeoProperty", "value", "type",
                              "Point", "coordinates", (double)i, (double)-i);
        json_object_set_new(attrs, "location", a);
        /* the same attribute under its expanded name, for the order after pl_order_resolve */
        json_object_set(attrs, "https://uri.etsi.org/ngsi-ld/default-context/a",
                        json_object_get(attrs, "a"));
    }
    return e;
}

static void sort_all(const struct pl_order *o)
{
    json_t *es[N_ENT];
    struct pl_order_item items[N_ENT];
    for (int i = 0; i < N_ENT; i++) {
        es[i] = entity(i);
        if (!es[i])
            abort();
        items[i].entity = es[i];
        items[i].ud = es[i];
    }
    if (pl_order_sort(o, items, N_ENT) == 0) {
        int seen[N_ENT] = {0};
        for (int i = 0; i < N_ENT; i++)
            for (int j = 0; j < N_ENT; j++)
                if (items[i].entity == es[j] && items[i].ud == es[j])
                    seen[j]++;
        for (int j = 0; j < N_ENT; j++)
            if (seen[j] != 1)
                abort();
    }
    for (int i = 0; i < N_ENT; i++)
        json_decref(es[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    const char *param[4] = {NULL, NULL, NULL, NULL};
    char *at = text;
    for (int i = 0; i < 4 && at; i++) {
        char *nl = strchr(at, '\n');
        if (nl)
            *nl = '\0';
        param[i] = *at ? at : NULL;
        at = nl ? nl + 1 : NULL;
    }
    struct pl_order *o = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = param[0] ? pl_order_parse(param[0], param[1], param[2], param[3], &o, &err)
                      : PL_EBADREQUESTDATA;
    if (rc == 0) {
        if (!o)
            abort();
        int desc;
        (void)pl_order_is_id_only(o, &desc);
        sort_all(o);
        pl_err_clear(&err);
        if (pl_order_resolve(o, pl_ctx_core(), &err) == 0)
            sort_all(o);
        else if (!err.detail[0])
            abort();
        pl_order_free(o);
    } else if (param[0] && (o || (rc != PL_ENOMEM && !err.detail[0]))) {
        abort();
    }
    free(text);
    return 0;
}
