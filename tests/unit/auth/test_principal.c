/* SPDX-License-Identifier: Apache-2.0 */
/* Principals (auth/auth.h): role names round-trip, tenant binding, grants, references. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "auth/auth.h"

static void role_names_round_trip_and_unknown_is_refused(void **state)
{
    (void)state;
    for (int i = 0; i < PL_ROLE_COUNT; i++) {
        enum pl_role r;
        assert_int_equal(pl_role_parse(pl_role_name((enum pl_role)i), &r), 0);
        assert_int_equal(r, i);
    }
    enum pl_role r = PL_ROLE_ADMIN;
    assert_int_equal(pl_role_parse("Admin", &r), -1);
    assert_int_equal(pl_role_parse("", &r), -1);
    assert_int_equal(pl_role_parse(NULL, &r), -1);
    assert_int_equal(r, PL_ROLE_ADMIN);
}

static void principal_is_bound_to_its_tenant_unless_star(void **state)
{
    (void)state;
    struct pl_principal *p = pl_principal_new(PL_ROLE_OPERATOR, PL_CRED_APIKEY, "key:1", "city");
    assert_non_null(p);
    assert_true(pl_principal_in_tenant(p, "city"));
    assert_false(pl_principal_in_tenant(p, "other"));
    assert_false(pl_principal_in_tenant(p, ""));
    struct pl_principal *d = pl_principal_new(PL_ROLE_OPERATOR, PL_CRED_TOKEN, "u", NULL);
    assert_true(pl_principal_in_tenant(d, ""));
    assert_false(pl_principal_in_tenant(d, "city"));
    struct pl_principal *a = pl_principal_new(PL_ROLE_ADMIN, PL_CRED_TOKEN, "root", "*");
    assert_true(a->all_tenants);
    assert_true(pl_principal_in_tenant(a, "anything"));
    assert_true(pl_principal_in_tenant(NULL, "anything")); /* auth off */
    pl_principal_unref(p);
    pl_principal_unref(d);
    pl_principal_unref(a);
}

static void grants_are_copied_and_freed_with_the_last_reference(void **state)
{
    (void)state;
    struct pl_principal *p = pl_principal_new(PL_ROLE_AGENCY, PL_CRED_JWT, "transport", "city");
    char t[] = "TrafficFlowObserved";
    assert_int_equal(pl_principal_add_type(p, t), 0);
    assert_int_equal(pl_principal_add_entity(p, "urn:ngsi-ld:Device:1"), 0);
    t[0] = 'X';
    assert_int_equal(p->n_types, 1);
    assert_string_equal(p->types[0], "TrafficFlowObserved");
    assert_ptr_equal(pl_principal_ref(p), p);
    pl_principal_unref(p);
    assert_string_equal(p->entities[0], "urn:ngsi-ld:Device:1"); /* still one reference */
    pl_principal_unref(p);
    assert_int_equal(pl_principal_public()->role, PL_ROLE_PUBLIC);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(role_names_round_trip_and_unknown_is_refused),
        cmocka_unit_test(principal_is_bound_to_its_tenant_unless_star),
        cmocka_unit_test(grants_are_copied_and_freed_with_the_last_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
