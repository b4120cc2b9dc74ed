/* SPDX-License-Identifier: Apache-2.0 */
/*
 * fuzz/read_policy.c — libFuzzer target for tenant read policies (auth/read.c, issue 12).
 *
 * Input: JSON text, the body of PUT /polis/v1/tenants/{t}/policy. Invariants checked: parsing
 * never crashes; a refusal is BadRequestData with words; an accepted policy's normalized
 * document parses again to the same document, and a public scope over it answers for a probe
 * entity without crashing, stripping only attributes it calls private.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/read.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_t *v = json_loadb((const char *)data, size, JSON_DECODE_ANY, NULL);
    if (!v)
        return 0;
    struct pl_read_policies *c = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_read_policies_open(NULL, &c, &err) != 0)
        abort();
    if (pl_read_policies_put(c, "t", v, &err) != 0) {
        if (err.code != PL_EBADREQUESTDATA || !err.detail[0])
            abort();
    } else {
        struct pl_read_policy *p = pl_read_policies_get(c, "t"), *again = NULL;
        if (!p || pl_read_policy_parse(pl_read_policy_doc(p), &again, &err) != 0 ||
            !json_equal(pl_read_policy_doc(p), pl_read_policy_doc(again)))
            abort(); /* the normalized document is a valid policy that says the same */
        pl_read_policy_unref(again);
        pl_read_policy_unref(p);
        struct pl_read_scope s;
        pl_read_scope_init(&s, c, pl_principal_public(), "t");
        json_t *e = json_pack("{s:s,s:[s],s:{s:[{}],s:[{}]}}", "id", "urn:x:1", "type",
                              "https://example.org/T", "attrs", "https://example.org/email",
                              "https://example.org/name");
        json_t *view = pl_read_scope_view(&s, e);
        if (view) {
            const char *k;
            json_t *x;
            json_object_foreach(json_object_get(e, "attrs"), k, x)
            {
                int kept = json_object_get(json_object_get(view, "attrs"), k) != NULL;
                int priv = pl_read_scope_attr_private(&s, json_object_get(e, "type"), k);
                if (kept == priv && pl_read_scope_entity(&s, e) == PL_READ_OPEN)
                    abort();
            }
        }
        json_decref(view);
        json_decref(e);
        pl_read_scope_dispose(&s);
    }
    pl_read_policies_free(c);
    json_decref(v);
    return 0;
}
