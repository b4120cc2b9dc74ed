/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sub_secrets.c — what a subscription holds that belongs to its owner alone: the owner snapshot
 * in the stored form, the credentials (endpoint userinfo, receiverInfo, notifierInfo) redacted
 * for everyone else, and endpoint equality (only the owner may re-point). subscription.h.
 */
#include <stdlib.h>
#include <string.h>

#include "auth/owner.h"
#include "base/redact.h"
#include "subs/sub_int.h"

int pl_sub__owner_to_stored(const struct pl_sub *s, json_t *d)
{
    if (!s->owner)
        return 0;
    json_t *o = pl_principal_to_json(s->owner);
    if (!o || json_object_set_new(d, PL_SUB_OWNER_MEMBER, o) != 0)
        return PL_ENOMEM;
    return 0;
}

int pl_sub__owner_from_stored(const json_t *stored, struct pl_sub *s, struct pl_err *err)
{
    const json_t *o = json_object_get(stored, PL_SUB_OWNER_MEMBER);
    if (!o)
        return 0;
    s->owner = pl_principal_from_json(o);
    return s->owner ? 0 : pl_sub__bad(err, "%s: not a principal", PL_SUB_OWNER_MEMBER);
}

/* notifierInfo keys that configure the MQTT client and hold nothing secret (sub_compile.c). */
static int notifier_key_public(const char *k)
{
    return k && (strcmp(k, "MQTT-Version") == 0 || strcmp(k, "MQTT-QoS") == 0);
}

static void redact_kv(json_t *arr, int keep_public)
{
    size_t i;
    json_t *kv;
    json_array_foreach(arr, i, kv)
    {
        const json_t *k = json_object_get(kv, "key");
        if (!json_object_get(kv, "value"))
            continue;
        if (keep_public && notifier_key_public(json_string_value(k)))
            continue;
        json_object_set_new(kv, "value", json_string(PL_SUB_REDACTED));
    }
}

void pl_sub_redact(json_t *rendered)
{
    json_t *ep = json_object_get(json_object_get(rendered, "notification"), "endpoint");
    if (!ep)
        return;
    const char *uri = json_string_value(json_object_get(ep, "uri"));
    if (uri && pl_uri_has_userinfo(uri)) {
        size_t cap = strlen(uri) + sizeof PL_REDACTED + 1;
        char *buf = malloc(cap);
        /* out of memory: the URI goes rather than the secret */
        json_object_set_new(ep, "uri", json_string(buf ? pl_uri_redact(uri, buf, cap)
                                                        : PL_SUB_REDACTED));
        free(buf);
    }
    redact_kv(json_object_get(ep, "receiverInfo"), 0);
    redact_kv(json_object_get(ep, "notifierInfo"), 1);
}

static int same_str(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int same_kv(const struct pl_sub_kv *a, size_t na, const struct pl_sub_kv *b, size_t nb)
{
    if (na != nb)
        return 0;
    for (size_t i = 0; i < na; i++) {
        if (!same_str(a[i].key, b[i].key) || !same_str(a[i].value, b[i].value))
            return 0;
    }
    return 1;
}

int pl_sub_same_endpoint(const struct pl_sub *a, const struct pl_sub *b)
{
    return same_str(a->uri, b->uri) &&
           same_kv(a->receiver_info, a->n_receiver_info, b->receiver_info, b->n_receiver_info) &&
           same_kv(a->notifier_info, a->n_notifier_info, b->notifier_info, b->n_notifier_info);
}
