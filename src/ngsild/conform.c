/* SPDX-License-Identifier: Apache-2.0 */
/*
 * conform.c — the backwards compatibility operation of 4.3.6.8 on rendered entities. See
 * conform.h for the fallbacks.
 */
#include <string.h>

#include "ngsild/conform.h"

int pl_conform_version(const char *s)
{
    if (!s)
        return -1;
    long major = 0, minor = 0;
    const char *p = s;
    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        major = major * 10 + (*p - '0');
        if (major > 99)
            return -1;
    }
    if (*p++ != '.' || *p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        minor = minor * 10 + (*p - '0');
        if (minor > 99)
            return -1;
    }
    return *p ? -1 : (int)(major * 100 + minor);
}

/* Members of an instance that are not sub-attributes. */
static int core_member(const char *k)
{
    static const char *const core[] = {"type",
                                       "value",
                                       "object",
                                       "languageMap",
                                       "vocab",
                                       "json",
                                       "valueList",
                                       "objectList",
                                       "datasetId",
                                       "observedAt",
                                       "unitCode",
                                       "objectType",
                                       "createdAt",
                                       "modifiedAt",
                                       "deletedAt",
                                       "expiresAt",
                                       "valueType",
                                       "lang",
                                       "previousValue",
                                       "previousObject",
                                       "previousLanguageMap",
                                       "previousVocab",
                                       "previousJson",
                                       "previousValueList",
                                       "previousObjectList",
                                       "entity",
                                       "@context"};
    for (size_t i = 0; i < sizeof core / sizeof core[0]; i++) {
        if (!strcmp(k, core[i]))
            return 1;
    }
    return 0;
}

/* Renames `from` to `to` in `o` (when present). */
static void rename_member(json_t *o, const char *from, const char *to)
{
    json_t *v = json_object_get(o, from);
    if (!v)
        return;
    json_object_set(o, to, v);
    json_object_del(o, from);
}

/* The kind of an instance: its "type", else (concise) the one its payload member implies. */
static const char *kind_of(const json_t *inst)
{
    const char *t = json_string_value(json_object_get(inst, "type"));
    if (t)
        return t;
    static const char *const implied[][2] = {{"languageMap", "LanguageProperty"},
                                             {"json", "JsonProperty"},
                                             {"vocab", "VocabProperty"},
                                             {"valueList", "ListProperty"},
                                             {"objectList", "ListRelationship"}};
    for (size_t i = 0; i < sizeof implied / sizeof implied[0]; i++) {
        if (json_object_get(inst, implied[i][0]))
            return implied[i][1];
    }
    return NULL;
}

static void conform_attr(json_t *parent, const char *name, json_t *v, int version);

/* One attribute instance (an object). */
static void conform_instance(json_t *inst, int version)
{
    const char *kind = kind_of(inst);
    int typed = json_object_get(inst, "type") != NULL;
    /* the payload member to move to value/object, and the kind it becomes */
    const char *from = NULL, *to = NULL, *nk = NULL;
    if (kind && version < 108) {
        if (!strcmp(kind, "JsonProperty"))
            from = "json", to = "value", nk = "Property";
        else if (!strcmp(kind, "VocabProperty"))
            from = "vocab", to = "value", nk = "Property";
        else if (!strcmp(kind, "ListProperty"))
            from = "valueList", to = "value", nk = "Property";
        else if (!strcmp(kind, "ListRelationship"))
            from = "objectList", to = "object", nk = "Relationship";
    }
    if (kind && version < 104 && !strcmp(kind, "LanguageProperty"))
        from = "languageMap", to = "value", nk = "Property";
    if (from) {
        rename_member(inst, from, to);
        /* showChanges' previous payload follows its member */
        static const char *const prevs[][3] = {
            {"json", "previousJson", "previousValue"},
            {"vocab", "previousVocab", "previousValue"},
            {"valueList", "previousValueList", "previousValue"},
            {"objectList", "previousObjectList", "previousObject"},
            {"languageMap", "previousLanguageMap", "previousValue"}};
        for (size_t i = 0; i < sizeof prevs / sizeof prevs[0]; i++) {
            if (!strcmp(from, prevs[i][0]))
                rename_member(inst, prevs[i][1], prevs[i][2]);
        }
        if (typed)
            json_object_set_new(inst, "type", json_string(nk));
    }
    if (version < 109) {
        json_object_del(inst, "expiresAt");
        json_object_del(inst, "valueType");
    }
    if (version < 108)
        json_object_del(inst, "objectType");
    if (version < 103) {
        json_object_del(inst, "datasetId");
        json_object_del(inst, "observedAt");
        json_object_del(inst, "unitCode");
    }
    const char *k;
    json_t *sv;
    void *tmp;
    json_object_foreach_safe(inst, tmp, k, sv)
    {
        if (!core_member(k))
            conform_attr(inst, k, sv, version);
    }
}

/* An attribute (or sub-attribute) `name` of `parent` with value `v` (borrowed from parent). */
static void conform_attr(json_t *parent, const char *name, json_t *v, int version)
{
    if (json_is_array(v)) {
        if (version < 103 && json_array_size(v) > 0) {
            /* one instance: the default one (no datasetId), else the first */
            json_t *keep = json_array_get(v, 0);
            size_t i;
            json_t *x;
            json_array_foreach(v, i, x)
            {
                if (json_is_object(x) && !json_object_get(x, "datasetId")) {
                    keep = x;
                    break;
                }
            }
            json_incref(keep); /* `v` (which holds it) goes when it is replaced */
            json_object_set(parent, name, keep);
            if (json_is_object(keep))
                conform_instance(keep, version);
            json_decref(keep);
            return;
        }
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            if (json_is_object(x))
                conform_instance(x, version);
        }
        return;
    }
    if (json_is_object(v))
        conform_instance(v, version);
}

void pl_conform_entity(json_t *e, int version, int simplified)
{
    if (!json_is_object(e) || version < 0 || version >= PL_CONFORM_CURRENT)
        return;
    if (version < 109)
        json_object_del(e, "expiresAt");
    if (version < 104)
        json_object_del(e, "scope");
    json_t *t = json_object_get(e, "type");
    if (version < 103 && json_is_array(t) && json_array_size(t) > 0)
        json_object_set(e, "type", json_array_get(t, 0));
    if (simplified)
        return;
    const char *k;
    json_t *v;
    void *tmp;
    json_object_foreach_safe(e, tmp, k, v)
    {
        if (!strcmp(k, "id") || !strcmp(k, "type") || !strcmp(k, "scope") ||
            !strcmp(k, "createdAt") || !strcmp(k, "modifiedAt") || !strcmp(k, "deletedAt") ||
            !strcmp(k, "@context"))
            continue;
        conform_attr(e, k, v, version);
    }
}
