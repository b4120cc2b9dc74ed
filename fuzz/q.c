/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz/q.c — libFuzzer target for the NGSI-LD query language (query/q.c).
 *
 * Parses the input as a q string, resolves it with the core context, evaluates it against a
 * small fixed entity holding every attribute kind, enumerates the target values of every
 * instance for each term's trailing path, and frees the tree. Aborts when a term and its
 * negation (EXISTS / NOT_EXISTS) disagree.
 */
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ngsild/context.h"
#include "query/q.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DV PL_DEFAULT_VOCAB

static const char entity_text[] =
    "{\"id\":\"urn:ngsi-ld:T:1\",\"type\":[\"" DV "T\"],\"scope\":[\"/Madrid/Gardens\"],"
    "\"attrs\":{"
    "\"" DV "a\":[{\"type\":\"Property\",\"value\":5,\"observedAt\":\"2017-12-24T12:00:00Z\","
    "\"unitCode\":\"CEL\"},{\"type\":\"Property\",\"value\":\"x\",\"datasetId\":\"urn:d:2\","
    "\"sub\":{\"" DV "b\":{\"type\":\"Property\",\"value\":[1,\"2017-12-24T12:00:00Z\",true]}}}],"
    "\"" DV "c\":[{\"type\":\"Property\",\"value\":{\"city\":\"Berlin\",\"n\":[1,{\"m\":2}]}}],"
    "\"" DV "r\":[{\"type\":\"Relationship\",\"object\":[\"urn:x:1\",\"urn:x:2\"]}],"
    "\"" DV "lr\":[{\"type\":\"ListRelationship\",\"objectList\":[{\"object\":\"urn:x:3\"}]}],"
    "\"" DV "l\":[{\"type\":\"LanguageProperty\",\"languageMap\":{\"en\":\"red\","
    "\"fr\":[\"rouge\"]}}],"
    "\"" DV "v\":[{\"type\":\"VocabProperty\",\"vocab\":\"" DV "Male\"}],"
    "\"" DV "lp\":[{\"type\":\"ListProperty\",\"valueList\":[1,[2],\"s\"]}],"
    "\"" DV "j\":[{\"type\":\"JsonProperty\",\"json\":{\"value\":\"v\"}}],"
    "\"" DV "g\":[{\"type\":\"GeoProperty\",\"value\":{\"type\":\"Point\","
    "\"coordinates\":[1,2]}}],"
    "\"" DV "t\":[{\"type\":\"Property\",\"value\":{\"@type\":\"DateTime\","
    "\"@value\":\"2020-01-01T00:00:00Z\"}}]}}";

static void count_cb(void *ud, const struct pl_qv *v)
{
    size_t *n = ud;
    if (v->kind == PL_QV_STRING || v->kind == PL_QV_URI) {
        if (!v->str)
            abort();
        *n += strlen(v->str) > 0;
    }
}

static void walk(const struct pl_q_node *n, const json_t *e)
{
    if (n->kind != PL_Q_TERM) {
        for (size_t i = 0; i < n->n_kids; i++)
            walk(n->kids[i], e);
        return;
    }
    struct pl_q_term t = n->term; /* a shallow copy with the existence operators */
    t.op = PL_QOP_EXISTS;
    int ex = pl_q_term_match(&t, e);
    t.op = PL_QOP_NOT_EXISTS;
    if (pl_q_term_match(&t, e) == ex)
        abort();
    const char *k;
    json_t *insts;
    json_object_foreach(json_object_get(e, "attrs"), k, insts)
    {
        size_t i, cnt = 0;
        json_t *inst;
        json_array_foreach(insts, i, inst)
        {
            pl_q_targets(inst, n->term.trail, n->term.n_trail, count_cb, &cnt);
            (void)pl_q_instance_exists(inst, n->term.trail, n->term.n_trail);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static json_t *entity;
    if (!entity) {
        json_error_t je;
        entity = json_loads(entity_text, 0, &je);
        if (!entity)
            abort();
    }
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct pl_q_node *n = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_q_parse(text, &n, &err) == 0) {
        if (pl_q_resolve(n, pl_ctx_core(), &err) == 0) {
            (void)pl_q_match(n, entity);
            walk(n, entity);
        }
        pl_q_free(n);
    } else if (n != NULL || err.detail[0] == '\0') {
        abort();
    }
    free(text);
    return 0;
}
