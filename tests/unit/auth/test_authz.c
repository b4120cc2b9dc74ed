/* SPDX-License-Identifier: Apache-2.0 */
/* Authorization rules (auth/authz.h): a table over roles x actions x own/other tenant, the
 * entity rules (type grants before and after, owners, device bindings), grant matching and the
 * owner keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "auth/authz.h"
#include "ngsild/context.h"

#define OK PL_OK
#define U  PL_EUNAUTHORIZED
#define F  PL_EFORBIDDEN

#define TFO_IRI PL_DEFAULT_VOCAB "TrafficFlowObserved"
#define PARK_IRI PL_DEFAULT_VOCAB "ParkingSpot"

/* The principals of the table: each bound to tenant "city"; the agency granted
 * TrafficFlowObserved, the device bound to urn:d:1, the enterprise owning urn:e:mine. */
static struct pl_principal *make(enum pl_role role)
{
    if (role == PL_ROLE_PUBLIC)
        return (struct pl_principal *)pl_principal_public();
    struct pl_principal *p =
        pl_principal_new(role, role == PL_ROLE_DEVICE ? PL_CRED_APIKEY : PL_CRED_TOKEN,
                         role == PL_ROLE_DEVICE ? "key:dev1" : pl_role_name(role), "city");
    assert_non_null(p);
    if (role == PL_ROLE_AGENCY)
        assert_int_equal(pl_principal_add_type(p, "TrafficFlowObserved"), 0);
    if (role == PL_ROLE_DEVICE)
        assert_int_equal(pl_principal_add_entity(p, "urn:d:1"), 0);
    return p;
}

static void drop(struct pl_principal *p)
{
    if (p != pl_principal_public())
        pl_principal_unref(p);
}

/* Route-level decisions (no target): expected code per role, in the own tenant; in another
 * tenant every role but the public (which belongs to every tenant) gets 403 for anything but
 * the anonymous routes. */
struct row {
    enum pl_authz_action a;
    int want[PL_ROLE_COUNT]; /* public, device, enterprise, agency, operator, admin */
};
static const struct row route_rows[] = {
    {PL_AUTHZ_ANONYMOUS, {OK, OK, OK, OK, OK, OK}},
    {PL_AUTHZ_READ, {OK, OK, OK, OK, OK, OK}},
    {PL_AUTHZ_CREATE, {U, F, OK, OK, OK, OK}},
    {PL_AUTHZ_UPDATE, {U, OK, OK, OK, OK, OK}},
    {PL_AUTHZ_DELETE, {U, F, OK, OK, OK, OK}},
    {PL_AUTHZ_UPSERT, {U, OK, OK, OK, OK, OK}},
    {PL_AUTHZ_SUB_CREATE, {U, OK, OK, OK, OK, OK}},
    {PL_AUTHZ_SUB_MODIFY, {U, OK, OK, OK, OK, OK}},
    {PL_AUTHZ_SUB_READ, {U, OK, OK, OK, OK, OK}},
    {PL_AUTHZ_REGISTRATION, {U, F, F, F, OK, OK}},
    {PL_AUTHZ_CONTEXT_ADD, {U, F, OK, OK, OK, OK}},
    {PL_AUTHZ_CONTEXT_DELETE, {U, F, F, F, F, OK}},
    {PL_AUTHZ_PURGE, {U, F, F, F, F, OK}},
    {PL_AUTHZ_ADMIN, {U, F, F, F, F, OK}},
    {PL_AUTHZ_METRICS, {U, F, F, F, F, OK}},
};

static void route_level_rules_follow_the_role_table_in_own_and_other_tenant(void **state)
{
    (void)state;
    for (int role = 0; role < PL_ROLE_COUNT; role++) {
        struct pl_principal *p = make((enum pl_role)role);
        for (size_t i = 0; i < sizeof route_rows / sizeof route_rows[0]; i++) {
            const struct row *rw = &route_rows[i];
            struct pl_err e;
            pl_err_clear(&e);
            int got = pl_authz_check(p, "city", rw->a, NULL, &e);
            if (got != rw->want[role])
                fail_msg("role %s, %s in own tenant: got %d, want %d (%s)",
                         pl_role_name((enum pl_role)role), pl_authz_action_name(rw->a), got,
                         rw->want[role], e.detail);
            int other = rw->a == PL_AUTHZ_ANONYMOUS || role == PL_ROLE_PUBLIC ? rw->want[role] : F;
            pl_err_clear(&e);
            got = pl_authz_check(p, "elsewhere", rw->a, NULL, &e);
            if (got != other)
                fail_msg("role %s, %s in another tenant: got %d, want %d",
                         pl_role_name((enum pl_role)role), pl_authz_action_name(rw->a), got, other);
            if (got == F && role != PL_ROLE_PUBLIC && rw->a != PL_AUTHZ_ANONYMOUS)
                assert_null(strstr(e.detail, "elsewhere")); /* nothing of the tenant echoed */
        }
        drop(p);
    }
}

static void auth_off_allows_everything(void **state)
{
    (void)state;
    struct pl_err e;
    for (int a = 0; a < PL_AUTHZ_ACTION_COUNT; a++)
        assert_int_equal(pl_authz_check(NULL, "any", (enum pl_authz_action)a, NULL, &e), 0);
}

/* Entity-level decisions. */
struct erow {
    const char *name;
    enum pl_role role;
    enum pl_authz_action a;
    const char *id;
    const char *type, *type_after; /* short IRIs: "tfo", "park" (NULL: none) */
    const char *owner;
    int want;
};
static const struct erow entity_rows[] = {
    {"operator creates any type", PL_ROLE_OPERATOR, PL_AUTHZ_CREATE, "urn:x", "park", 0, 0, OK},
    {"operator deletes another's", PL_ROLE_OPERATOR, PL_AUTHZ_DELETE, "urn:x", "park", 0,
     "user:bob", OK},
    {"admin updates anything", PL_ROLE_ADMIN, PL_AUTHZ_UPDATE, "urn:x", "park", "tfo", 0, OK},
    {"agency creates granted type", PL_ROLE_AGENCY, PL_AUTHZ_CREATE, "urn:x", "tfo", 0, 0, OK},
    {"agency may not create other type", PL_ROLE_AGENCY, PL_AUTHZ_CREATE, "urn:x", "park", 0, 0,
     F},
    {"agency updates granted type", PL_ROLE_AGENCY, PL_AUTHZ_UPDATE, "urn:x", "tfo", 0, 0, OK},
    {"agency may not update other type", PL_ROLE_AGENCY, PL_AUTHZ_UPDATE, "urn:x", "park", 0, 0,
     F},
    {"agency may not retype out of grant", PL_ROLE_AGENCY, PL_AUTHZ_UPDATE, "urn:x", "tfo",
     "park", 0, F},
    {"agency may not retype into grant", PL_ROLE_AGENCY, PL_AUTHZ_UPDATE, "urn:x", "park", "tfo",
     0, F},
    {"agency deletes granted type", PL_ROLE_AGENCY, PL_AUTHZ_DELETE, "urn:x", "tfo", 0, 0, OK},
    {"agency may not delete other type", PL_ROLE_AGENCY, PL_AUTHZ_DELETE, "urn:x", "park", 0, 0,
     F},
    {"enterprise creates", PL_ROLE_ENTERPRISE, PL_AUTHZ_CREATE, "urn:x", "park", 0, 0, OK},
    {"enterprise updates own", PL_ROLE_ENTERPRISE, PL_AUTHZ_UPDATE, "urn:e:mine", "park", 0,
     "user:enterprise", OK},
    {"enterprise deletes own", PL_ROLE_ENTERPRISE, PL_AUTHZ_DELETE, "urn:e:mine", "park", 0,
     "user:enterprise", OK},
    {"enterprise may not update another's", PL_ROLE_ENTERPRISE, PL_AUTHZ_UPDATE, "urn:x",
     "park", 0, "user:bob", F},
    {"enterprise may not update unowned", PL_ROLE_ENTERPRISE, PL_AUTHZ_UPDATE, "urn:x", "park",
     0, NULL, F},
    {"enterprise owner is name-spaced", PL_ROLE_ENTERPRISE, PL_AUTHZ_DELETE, "urn:x", "park", 0,
     "jwt:enterprise", F},
    {"device updates bound", PL_ROLE_DEVICE, PL_AUTHZ_UPDATE, "urn:d:1", "park", 0, 0, OK},
    {"device may not update unbound", PL_ROLE_DEVICE, PL_AUTHZ_UPDATE, "urn:d:2", "park", 0, 0,
     F},
    {"device never creates", PL_ROLE_DEVICE, PL_AUTHZ_CREATE, "urn:d:1", "park", 0, 0, F},
    {"device never deletes", PL_ROLE_DEVICE, PL_AUTHZ_DELETE, "urn:d:1", "park", 0, 0, F},
    {"upsert element of device decided as update", PL_ROLE_DEVICE, PL_AUTHZ_UPSERT, "urn:d:1",
     "park", 0, 0, OK},
    {"public never writes", PL_ROLE_PUBLIC, PL_AUTHZ_UPDATE, "urn:x", "park", 0, 0, U},
    {"subscription owner may change it", PL_ROLE_ENTERPRISE, PL_AUTHZ_SUB_MODIFY, 0, 0, 0,
     "user:enterprise", OK},
    {"others may not change a subscription", PL_ROLE_AGENCY, PL_AUTHZ_SUB_MODIFY, 0, 0, 0,
     "user:bob", F},
    {"operator changes any subscription", PL_ROLE_OPERATOR, PL_AUTHZ_SUB_MODIFY, 0, 0, 0,
     "user:bob", OK},
};

static json_t *types_of(const char *s)
{
    if (!s)
        return NULL;
    return json_pack("[s]", strcmp(s, "tfo") == 0 ? TFO_IRI : PARK_IRI);
}

static void entity_rules_check_grants_owners_and_bindings(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof entity_rows / sizeof entity_rows[0]; i++) {
        const struct erow *rw = &entity_rows[i];
        struct pl_principal *p = make(rw->role);
        json_t *before = types_of(rw->type), *after = types_of(rw->type_after);
        struct pl_authz_target t = {rw->id, before, after, rw->owner};
        struct pl_err e;
        pl_err_clear(&e);
        int got = pl_authz_check(p, "city", rw->a, &t, &e);
        if (got != rw->want)
            fail_msg("%s: got %d, want %d (%s)", rw->name, got, rw->want, e.detail);
        if (got != 0) {
            assert_int_equal(e.code, got);
            if (rw->owner)
                assert_null(strstr(e.detail, rw->owner)); /* the owner is never named */
        }
        json_decref(before);
        json_decref(after);
        drop(p);
    }
}

static void type_grant_on_any_role_narrows_its_writes(void **state)
{
    (void)state;
    struct pl_principal *p = pl_principal_new(PL_ROLE_OPERATOR, PL_CRED_APIKEY, "key:k", "city");
    assert_int_equal(pl_principal_add_type(p, PARK_IRI), 0);
    json_t *park = json_pack("[s]", PARK_IRI), *tfo = json_pack("[s]", TFO_IRI);
    json_t *both = json_pack("[s,s]", PARK_IRI, TFO_IRI);
    struct pl_authz_target t = {"urn:x", park, NULL, NULL};
    struct pl_err e;
    assert_int_equal(pl_authz_check(p, "city", PL_AUTHZ_CREATE, &t, &e), 0);
    t.types = tfo;
    assert_int_equal(pl_authz_check(p, "city", PL_AUTHZ_CREATE, &t, &e), F);
    t.types = both; /* every type must be granted */
    assert_int_equal(pl_authz_check(p, "city", PL_AUTHZ_UPDATE, &t, &e), F);
    json_decref(park);
    json_decref(tfo);
    json_decref(both);
    pl_principal_unref(p);
}

static void agency_without_grant_writes_nothing(void **state)
{
    (void)state;
    struct pl_principal *p = pl_principal_new(PL_ROLE_AGENCY, PL_CRED_JWT, "transport", "city");
    json_t *tfo = json_pack("[s]", TFO_IRI);
    struct pl_authz_target t = {"urn:x", tfo, NULL, NULL};
    struct pl_err e;
    assert_int_equal(pl_authz_check(p, "city", PL_AUTHZ_CREATE, NULL, &e), F);
    assert_int_equal(pl_authz_check(p, "city", PL_AUTHZ_CREATE, &t, &e), F);
    assert_int_equal(pl_authz_check(p, "city", PL_AUTHZ_READ, NULL, &e), 0);
    json_decref(tfo);
    pl_principal_unref(p);
}

static void grant_entries_match_by_iri_default_expansion_or_local_name(void **state)
{
    (void)state;
    assert_true(pl_authz_type_granted("TrafficFlowObserved", TFO_IRI));
    assert_true(pl_authz_type_granted(
        "TrafficFlowObserved", "https://smartdatamodels.org/dataModel.Transportation/TrafficFlowObserved"));
    assert_true(pl_authz_type_granted("Building", "https://example.org/vocab#Building"));
    assert_false(pl_authz_type_granted("Traffic", TFO_IRI));
    assert_false(pl_authz_type_granted("FlowObserved", TFO_IRI));
    /* an entry with ':' is an IRI: exact only */
    assert_true(pl_authz_type_granted(TFO_IRI, TFO_IRI));
    assert_false(pl_authz_type_granted("https://example.org/TrafficFlowObserved", TFO_IRI));
    assert_false(pl_authz_type_granted("ex:TrafficFlowObserved", TFO_IRI));
    assert_false(pl_authz_type_granted("", TFO_IRI));
    assert_false(pl_authz_type_granted("TrafficFlowObserved", "urn:TrafficFlowObserved"));
}

static void owner_keys_are_name_spaced_by_credential(void **state)
{
    (void)state;
    char k[PL_AUTHZ_OWNER_MAX];
    struct pl_principal *tok = pl_principal_new(PL_ROLE_ENTERPRISE, PL_CRED_TOKEN, "acme", "c");
    struct pl_principal *ses = pl_principal_new(PL_ROLE_ENTERPRISE, PL_CRED_SESSION, "acme", "c");
    struct pl_principal *jwt = pl_principal_new(PL_ROLE_ENTERPRISE, PL_CRED_JWT, "acme", "c");
    struct pl_principal *key = pl_principal_new(PL_ROLE_ENTERPRISE, PL_CRED_APIKEY, "key:7", "c");
    assert_int_equal(pl_authz_owner_key(tok, k, sizeof k), 0);
    assert_string_equal(k, "user:acme");
    assert_true(pl_authz_is_owner(ses, "user:acme")); /* token or cookie: the same user */
    assert_false(pl_authz_is_owner(jwt, "user:acme"));
    assert_int_equal(pl_authz_owner_key(jwt, k, sizeof k), 0);
    assert_string_equal(k, "jwt:acme");
    assert_int_equal(pl_authz_owner_key(key, k, sizeof k), 0);
    assert_string_equal(k, "apikey:key:7");
    assert_int_equal(pl_authz_owner_key(pl_principal_public(), k, sizeof k), -1);
    assert_int_equal(pl_authz_owner_key(NULL, k, sizeof k), -1);
    assert_false(pl_authz_is_owner(tok, NULL));
    assert_int_equal(pl_authz_owner_key(tok, k, 4), -1); /* does not fit: no truncated key */
    pl_principal_unref(tok);
    pl_principal_unref(ses);
    pl_principal_unref(jwt);
    pl_principal_unref(key);
}

static void read_scope_is_all_for_agency_and_up_else_owner_or_bindings(void **state)
{
    (void)state;
    struct pl_authz_read_scope s;
    pl_authz_read_scope(NULL, &s);
    assert_true(s.all);
    for (int role = 0; role < PL_ROLE_COUNT; role++) {
        struct pl_principal *p = make((enum pl_role)role);
        pl_authz_read_scope(p, &s);
        assert_int_equal(s.all, role >= PL_ROLE_AGENCY);
        if (role == PL_ROLE_ENTERPRISE)
            assert_string_equal(s.owner, "user:enterprise");
        else
            assert_null(s.owner);
        assert_int_equal(s.n_ids, role == PL_ROLE_DEVICE ? 1 : 0);
        drop(p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(route_level_rules_follow_the_role_table_in_own_and_other_tenant),
        cmocka_unit_test(auth_off_allows_everything),
        cmocka_unit_test(entity_rules_check_grants_owners_and_bindings),
        cmocka_unit_test(type_grant_on_any_role_narrows_its_writes),
        cmocka_unit_test(agency_without_grant_writes_nothing),
        cmocka_unit_test(grant_entries_match_by_iri_default_expansion_or_local_name),
        cmocka_unit_test(owner_keys_are_name_spaced_by_credential),
        cmocka_unit_test(read_scope_is_all_for_agency_and_up_else_owner_or_bindings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
