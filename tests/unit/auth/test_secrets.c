/* SPDX-License-Identifier: Apache-2.0 */
/* Tenant names (auth/tenant.h), URI redaction (base/redact.h), owners (auth/owner.h) and the
 * secrets of a subscription (subs/subscription.h pl_sub_redact, the stored owner). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "auth/owner.h"
#include "auth/tenant.h"
#include "base/redact.h"
#include "subs/subscription.h"

static void tenant_names_are_letters_digits_dash_underscore_1_to_64(void **state)
{
    (void)state;
    assert_true(pl_tenant_name_valid("city"));
    assert_true(pl_tenant_name_valid("City_2-b"));
    char max[65];
    memset(max, 'a', 64);
    max[64] = '\0';
    assert_true(pl_tenant_name_valid(max));
    char over[66];
    memset(over, 'a', 65);
    over[65] = '\0';
    assert_false(pl_tenant_name_valid(over));
    const char *bad[] = {"", "a/b", "..", "a.b", "a b", "a%2Fb", "a\\b", "a'b", "a;b", "é", "a\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(pl_tenant_name_valid(bad[i]));
    assert_false(pl_tenant_name_valid(NULL));
}

static void uri_redaction_hides_the_password_and_a_lone_user(void **state)
{
    (void)state;
    char b[256];
    assert_string_equal(pl_uri_redact("mqtt://bob:s3cret@127.0.0.1:1883/t/x", b, sizeof b),
                        "mqtt://bob:***@127.0.0.1:1883/t/x");
    assert_string_equal(pl_uri_redact("https://tok3n@127.0.0.1/n", b, sizeof b),
                        "https://***@127.0.0.1/n");
    /* an unencoded '@' inside the password: the authority's last '@' ends the userinfo */
    assert_string_equal(pl_uri_redact("mqtt://u:p@ss@h/t", b, sizeof b), "mqtt://u:***@h/t");
    /* an '@' in the path is not a userinfo */
    assert_string_equal(pl_uri_redact("http://h/a@b", b, sizeof b), "http://h/a@b");
    assert_false(pl_uri_has_userinfo("http://h/a@b"));
    assert_true(pl_uri_has_userinfo("mqtt://u:p@h/t"));
    assert_string_equal(pl_uri_redact(NULL, b, sizeof b), "");
    char small[8];
    pl_uri_redact("mqtt://bob:s3cret@h/t", small, sizeof small);
    assert_null(strstr(small, "s3cret"));
}

static void owner_rules_owner_operator_admin(void **state)
{
    (void)state;
    struct pl_principal *own = pl_principal_new(PL_ROLE_ENTERPRISE, PL_CRED_APIKEY, "key:1", "t");
    struct pl_principal *other = pl_principal_new(PL_ROLE_ENTERPRISE, PL_CRED_APIKEY, "key:2", "t");
    struct pl_principal *op = pl_principal_new(PL_ROLE_OPERATOR, PL_CRED_APIKEY, "key:3", "t");
    struct pl_principal *op_b = pl_principal_new(PL_ROLE_OPERATOR, PL_CRED_APIKEY, "key:4", "b");
    struct pl_principal *adm = pl_principal_new(PL_ROLE_ADMIN, PL_CRED_TOKEN, "root", "*");
    struct pl_principal *jwt = pl_principal_new(PL_ROLE_ENTERPRISE, PL_CRED_JWT, "key:1", "t");
    assert_true(pl_owner_may_see_secrets(own, own));
    assert_false(pl_owner_may_see_secrets(own, other));
    assert_false(pl_owner_may_see_secrets(own, op));
    assert_false(pl_owner_may_see_secrets(own, jwt)); /* same name, other name space */
    assert_true(pl_owner_may_see_secrets(own, adm));
    assert_true(pl_owner_may_see_secrets(own, NULL)); /* auth off */
    assert_true(pl_owner_may_modify(own, op, "t"));
    assert_false(pl_owner_may_modify(own, op_b, "t"));
    assert_false(pl_owner_may_modify(own, other, "t"));
    assert_false(pl_owner_may_repoint(own, op));
    assert_true(pl_owner_may_repoint(own, own));
    assert_false(pl_owner_may_see_secrets(NULL, other)); /* no owner: admins only */
    pl_principal_unref(own);
    pl_principal_unref(other);
    pl_principal_unref(op);
    pl_principal_unref(op_b);
    pl_principal_unref(adm);
    pl_principal_unref(jwt);
}

static json_t *sub_payload(void)
{
    return json_loads(
        "{\"type\":\"Subscription\",\"entities\":[{\"type\":\"T\"}],\"notification\":{\"endpoint\":"
        "{\"uri\":\"mqtt://bob:s3cret@127.0.0.1:1883/t\",\"receiverInfo\":[{\"key\":"
        "\"Authorization\",\"value\":\"Bearer abc\"}],\"notifierInfo\":[{\"key\":\"MQTT-QoS\","
        "\"value\":\"1\"},{\"key\":\"X-Token\",\"value\":\"zzz\"}]}},"
        "\"polis:owner\":{\"name\":\"evil\",\"role\":\"admin\",\"cred\":1,\"tenant\":\"*\"}}",
        0, NULL);
}

static void stored_owner_round_trips_and_is_never_taken_from_a_payload(void **state)
{
    (void)state;
    json_t *in = sub_payload();
    struct pl_sub *s = NULL;
    struct pl_err err;
    assert_int_equal(pl_sub_parse(in, NULL, &s, &err), 0);
    assert_null(s->owner); /* the payload's "polis:owner" is ignored */
    s->id = pl_sub_new_id();
    s->owner = pl_principal_new(PL_ROLE_OPERATOR, PL_CRED_APIKEY, "key:9", "city");
    pl_principal_add_type(s->owner, "Vehicle");
    json_t *st = pl_sub_to_stored(s);
    struct pl_sub *back = NULL;
    assert_int_equal(pl_sub_from_stored(st, &back, &err), 0);
    assert_non_null(back->owner);
    assert_string_equal(back->owner->name, "key:9");
    assert_int_equal(back->owner->role, PL_ROLE_OPERATOR);
    assert_string_equal(back->owner->tenant, "city");
    assert_int_equal(back->owner->n_types, 1);
    /* PATCH keeps the owner, whatever the fragment says */
    json_t *frag = json_loads("{\"polis:owner\":{\"name\":\"evil\",\"role\":\"admin\",\"cred\":1,"
                              "\"tenant\":\"*\"},\"description\":\"x\"}",
                              0, NULL);
    struct pl_sub *p = NULL;
    assert_int_equal(pl_sub_patch(back, frag, NULL, &p, &err), 0);
    assert_string_equal(p->owner->name, "key:9");
    /* the GET representation never shows the owner, and redaction hides every credential */
    json_t *g = pl_sub_render(p, NULL, NULL, 0);
    assert_null(json_object_get(g, "polis:owner"));
    char *before = json_dumps(g, 0);
    assert_non_null(strstr(before, "s3cret"));
    free(before);
    pl_sub_redact(g);
    char *txt = json_dumps(g, 0);
    assert_null(strstr(txt, "s3cret"));
    assert_null(strstr(txt, "Bearer abc"));
    assert_null(strstr(txt, "zzz"));
    assert_non_null(strstr(txt, "mqtt://bob:***@127.0.0.1:1883/t"));
    assert_non_null(strstr(txt, "\"1\"")); /* MQTT-QoS is not a secret */
    free(txt);
    assert_true(pl_sub_same_endpoint(p, back));
    json_decref(g);
    json_decref(frag);
    json_decref(st);
    json_decref(in);
    pl_sub_free(p);
    pl_sub_free(back);
    pl_sub_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tenant_names_are_letters_digits_dash_underscore_1_to_64),
        cmocka_unit_test(uri_redaction_hides_the_password_and_a_lone_user),
        cmocka_unit_test(owner_rules_owner_operator_admin),
        cmocka_unit_test(stored_owner_round_trips_and_is_never_taken_from_a_payload),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
