/* SPDX-License-Identifier: Apache-2.0 */
/*
 * expire.c — transient entities and attributes (NGSI-LD 4.22): the earliest expiresAt of an
 * entity (the index key the backend finds expired entities by) and what is left of an entity
 * once what expired is removed. Pure JSON work; the store's housekeeping thread runs the writes
 * (store.c, pl_store_expire_step), so that history and the change listener see an ordinary
 * delete.
 */
#include "store/store_int.h"

#include <string.h>

#include "base/timeutil.h"

/* expiresAt of `o` in ms, or INT64_MAX when it has none (or an unreadable one). */
static int64_t expires_of(const json_t *o)
{
    int64_t ms;
    const char *s = json_string_value(json_object_get(o, "expiresAt"));
    return s && pl_time_parse(s, &ms) == 0 ? ms : INT64_MAX;
}

int64_t pl_store__expires_first(const json_t *entity)
{
    int64_t first = expires_of(entity);
    const char *name;
    json_t *insts;
    json_object_foreach((json_t *)json_object_get(entity, "attrs"), name, insts)
    {
        size_t i;
        json_t *inst;
        json_array_foreach(insts, i, inst)
        {
            int64_t t = expires_of(inst);
            if (t < first)
                first = t;
        }
    }
    return first;
}

int pl_store__expire(const json_t *cur, int64_t now_ms, json_t **next)
{
    *next = NULL;
    if (expires_of(cur) <= now_ms)
        return 1; /* the whole entity: *next NULL deletes it */
    json_t *e = json_copy((json_t *)cur); /* shallow: attrs is replaced below */
    json_t *attrs = json_object();
    if (!e || !attrs) {
        json_decref(e);
        json_decref(attrs);
        return -1;
    }
    int removed = 0;
    const char *name;
    json_t *insts;
    json_object_foreach((json_t *)json_object_get(cur, "attrs"), name, insts)
    {
        json_t *kept = json_array();
        size_t i;
        json_t *inst;
        json_array_foreach(insts, i, inst)
        {
            if (expires_of(inst) <= now_ms)
                removed++;
            else
                json_array_append(kept, inst);
        }
        if (json_array_size(kept))
            json_object_set_new(attrs, name, kept);
        else
            json_decref(kept);
    }
    if (!removed) {
        json_decref(e);
        json_decref(attrs);
        return 0;
    }
    char iso[PL_TIME_ISO_LEN];
    pl_time_format(now_ms, iso);
    if (json_object_set_new(e, "attrs", attrs) ||
        json_object_set_new(e, "modifiedAt", json_string(iso))) {
        json_decref(e);
        return -1;
    }
    *next = e;
    return 1;
}
