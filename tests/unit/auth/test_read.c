/* SPDX-License-Identifier: Apache-2.0 */
/* The read rule of issue 12 (auth/read.h): policy validation, name matching, the scope of each
 * role, private attributes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "auth/read.h"

#define SDM "https://smartdatamodels.org/dataModel.Parking/"

static int parse_rc(const char *text)
{
    json_t *doc = json_loads(text, JSON_DECODE_ANY, NULL);
    struct pl_read_policy *p = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_read_policy_parse(doc, &p, &err);
    assert_true(rc == 0 ? p != NULL : p == NULL);
    pl_read_policy_unref(p);
    json_decref(doc);
    return rc;
}

static void policy_documents_are_validated(void **state)
{
    (void)state;
    assert_int_equal(parse_rc("{}"), 0);
    assert_int_equal(parse_rc("{\"openTypes\":[\"ParkingSpot\",\"" SDM "ParkingSpot\"]}"), 0);
    assert_int_equal(parse_rc("{\"privateAttributes\":[\"email\",{\"type\":\"ServiceRequest\","
                              "\"attributes\":[\"phone\"]}]}"),
                     0);
    assert_int_equal(parse_rc("[]"), PL_EBADREQUESTDATA);
    assert_int_equal(parse_rc("\"x\""), PL_EBADREQUESTDATA);
    assert_int_equal(parse_rc("{\"open\":[]}"), PL_EBADREQUESTDATA);
    assert_int_equal(parse_rc("{\"openTypes\":\"ParkingSpot\"}"), PL_EBADREQUESTDATA);
    assert_int_equal(parse_rc("{\"openTypes\":[1]}"), PL_EBADREQUESTDATA);
    assert_int_equal(parse_rc("{\"openTypes\":[\"\"]}"), PL_EBADREQUESTDATA);
    assert_int_equal(parse_rc("{\"openTypes\":[\"a b\"]}"), PL_EBADREQUESTDATA);
    assert_int_equal(parse_rc("{\"privateAttributes\":[{\"type\":\"T\"}]}"), PL_EBADREQUESTDATA);
    assert_int_equal(parse_rc("{\"privateAttributes\":[{\"attributes\":[\"a\"]}]}"),
                     PL_EBADREQUESTDATA);
    assert_int_equal(parse_rc("{\"privateAttributes\":[{\"type\":\"T\",\"attributes\":[\"a\"],"
                              "\"x\":1}]}"),
                     PL_EBADREQUESTDATA);
    assert_int_equal(parse_rc("{\"privateAttributes\":[[\"a\"]]}"), PL_EBADREQUESTDATA);
    /* bounded: too many names */
    json_t *many = json_array();
    for (int i = 0; i <= PL_READ_POLICY_MAX_NAMES; i++)
        json_array_append_new(many, json_string("T"));
    json_t *doc = json_pack("{s:o}", "openTypes", many);
    struct pl_read_policy *p = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_equal(pl_read_policy_parse(doc, &p, &err), PL_EBADREQUESTDATA);
    assert_null(p);
    json_decref(doc);
}

static void names_match_iri_default_context_or_local_name(void **state)
{
    (void)state;
    struct pl_read_policies *c = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_equal(pl_read_policies_open(NULL, &c, &err), 0);
    json_t *doc = json_pack("{s:[s,s]}", "openTypes", "ParkingSpot", SDM "OffStreetParking");
    assert_int_equal(pl_read_policies_put(c, "", doc, &err), 0);
    json_decref(doc);
    struct pl_read_scope s;
    pl_read_scope_init(&s, c, pl_principal_public(), "");
    assert_true(pl_read_scope_type_open(&s, SDM "ParkingSpot"));
    assert_true(pl_read_scope_type_open(&s, "https://uri.etsi.org/ngsi-ld/default-context/ParkingSpot"));
    assert_false(pl_read_scope_type_open(&s, SDM "ParkingSpotX"));
    assert_true(pl_read_scope_type_open(&s, SDM "OffStreetParking"));
    /* an IRI names only itself */
    assert_false(pl_read_scope_type_open(&s, "https://other.example/OffStreetParking"));
    pl_read_scope_dispose(&s);
    pl_read_policies_free(c);
}

static struct pl_read_policies *cache_with(const char *tenant, const char *text)
{
    struct pl_read_policies *c = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_equal(pl_read_policies_open(NULL, &c, &err), 0);
    json_t *doc = json_loads(text, 0, NULL);
    assert_int_equal(pl_read_policies_put(c, tenant, doc, &err), 0);
    json_decref(doc);
    return c;
}

static json_t *entity(const char *id, const char *type)
{
    return json_pack("{s:s,s:[s],s:{s:[{s:s,s:s}],s:[{s:s,s:s}],s:[{s:s,s:s}]}}", "id", id, "type",
                     type, "attrs", SDM "status", "type", "Property", "value", "free",
                     "https://uri.etsi.org/ngsi-ld/default-context/email", "type", "Property",
                     "value", "a@b.c", SDM "phone", "type", "Property", "value", "123");
}

#define POLICY                                                                                     \
    "{\"openTypes\":[\"ParkingSpot\",\"ServiceRequest\"],\"privateAttributes\":[\"email\","     \
    "{\"type\":\"ServiceRequest\",\"attributes\":[\"phone\"]}]}"

static void public_reads_open_types_without_private_attributes(void **state)
{
    (void)state;
    struct pl_read_policies *c = cache_with("city", POLICY);
    struct pl_read_scope s;
    pl_read_scope_init(&s, c, pl_principal_public(), "city");
    assert_false(s.all);
    assert_non_null(pl_read_scope_store(&s));
    json_t *spot = entity("urn:ngsi-ld:ParkingSpot:1", SDM "ParkingSpot");
    json_t *sr = entity("urn:ngsi-ld:ServiceRequest:1", SDM "ServiceRequest");
    json_t *kpi = entity("urn:ngsi-ld:KPI:1", SDM "KeyPerformanceIndicator");
    assert_int_equal(pl_read_scope_entity(&s, spot), PL_READ_OPEN);
    assert_int_equal(pl_read_scope_entity(&s, sr), PL_READ_OPEN);
    assert_int_equal(pl_read_scope_entity(&s, kpi), PL_READ_NONE);
    assert_null(pl_read_scope_view(&s, kpi));
    /* email is private for every type, phone only for service requests */
    json_t *v = pl_read_scope_view(&s, spot);
    assert_ptr_not_equal(v, spot);
    assert_null(json_object_get(json_object_get(v, "attrs"),
                                "https://uri.etsi.org/ngsi-ld/default-context/email"));
    assert_non_null(json_object_get(json_object_get(v, "attrs"), SDM "phone"));
    assert_non_null(json_object_get(json_object_get(spot, "attrs"),
                                    "https://uri.etsi.org/ngsi-ld/default-context/email"));
    json_decref(v);
    assert_int_equal(pl_read_scope_strip(&s, sr), 2);
    assert_int_equal(json_object_size(json_object_get(sr, "attrs")), 1);
    assert_true(pl_read_scope_may_hide(&s, "{\"x\":\"...email\"}", 16));
    assert_false(pl_read_scope_may_hide(&s, "{\"status\":1}", 12));
    /* another tenant has no policy: nothing */
    struct pl_read_scope o;
    pl_read_scope_init(&o, c, pl_principal_public(), "other");
    assert_int_equal(pl_read_scope_entity(&o, spot), PL_READ_NONE);
    pl_read_scope_dispose(&o);
    pl_read_scope_dispose(&s);
    json_decref(spot);
    json_decref(sr);
    json_decref(kpi);
    pl_read_policies_free(c);
}

static void roles_of_the_tenant_read_all_others_nothing(void **state)
{
    (void)state;
    struct pl_read_policies *c = cache_with("city", POLICY);
    json_t *kpi = entity("urn:ngsi-ld:KPI:1", SDM "KeyPerformanceIndicator");
    enum pl_role all[] = {PL_ROLE_ADMIN, PL_ROLE_OPERATOR, PL_ROLE_AGENCY};
    for (size_t i = 0; i < 3; i++) {
        struct pl_principal *p = pl_principal_new(all[i], PL_CRED_TOKEN, "u", "city");
        struct pl_read_scope s;
        pl_read_scope_init(&s, c, p, "city");
        assert_true(s.all);
        assert_null(pl_read_scope_store(&s));
        assert_int_equal(pl_read_scope_entity(&s, kpi), PL_READ_FULL);
        pl_read_scope_dispose(&s);
        /* the same role of another tenant reads nothing here, not even open data */
        pl_read_scope_init(&s, c, p, "other");
        assert_false(s.all);
        assert_int_equal(pl_read_scope_entity(&s, kpi), PL_READ_NONE);
        pl_read_scope_dispose(&s);
        struct pl_principal *q = pl_principal_new(all[i], PL_CRED_TOKEN, "u", "other");
        pl_read_scope_init(&s, c, q, "city");
        json_t *spot = entity("urn:ngsi-ld:ParkingSpot:1", SDM "ParkingSpot");
        assert_int_equal(pl_read_scope_entity(&s, spot), PL_READ_NONE);
        json_decref(spot);
        pl_read_scope_dispose(&s);
        pl_principal_unref(q);
        pl_principal_unref(p);
    }
    /* auth off: everything */
    struct pl_read_scope s;
    pl_read_scope_init(&s, c, NULL, "city");
    assert_true(s.all);
    pl_read_scope_dispose(&s);
    json_decref(kpi);
    pl_read_policies_free(c);
}

static int owns_one(void *ud, const char *tenant, const char *id, const char *owner)
{
    (void)ud;
    return strcmp(tenant, "city") == 0 && strcmp(owner, "apikey:acme") == 0 &&
           strcmp(id, "urn:ngsi-ld:ServiceRequest:mine") == 0;
}

static void device_and_enterprise_read_their_entities_in_full(void **state)
{
    (void)state;
    struct pl_read_policies *c = cache_with("city", POLICY);
    struct pl_principal *d = pl_principal_new(PL_ROLE_DEVICE, PL_CRED_APIKEY, "key:d", "city");
    assert_int_equal(pl_principal_add_entity(d, "urn:ngsi-ld:KPI:bound"), 0);
    struct pl_read_scope s;
    pl_read_scope_init(&s, c, d, "city");
    json_t *bound = entity("urn:ngsi-ld:KPI:bound", SDM "KeyPerformanceIndicator");
    json_t *other = entity("urn:ngsi-ld:KPI:other", SDM "KeyPerformanceIndicator");
    json_t *sr = entity("urn:ngsi-ld:ServiceRequest:mine", SDM "ServiceRequest");
    assert_int_equal(pl_read_scope_entity(&s, bound), PL_READ_FULL);
    assert_int_equal(pl_read_scope_entity(&s, other), PL_READ_NONE);
    assert_int_equal(pl_read_scope_entity(&s, sr), PL_READ_OPEN);
    assert_int_equal(pl_read_scope_store(&s)->n_ids, 1);
    pl_read_scope_dispose(&s);

    struct pl_principal *e = pl_principal_new(PL_ROLE_ENTERPRISE, PL_CRED_APIKEY, "acme", "city");
    pl_read_scope_init(&s, c, e, "city");
    assert_string_equal(pl_read_scope_store(&s)->owner, "apikey:acme");
    assert_int_equal(pl_read_scope_entity(&s, sr), PL_READ_OPEN); /* no owner callback yet */
    s.is_owner = owns_one;
    assert_int_equal(pl_read_scope_entity(&s, sr), PL_READ_FULL);
    json_t *v = pl_read_scope_view(&s, sr);
    assert_ptr_equal(v, sr);
    json_decref(v);
    assert_int_equal(pl_read_scope_entity(&s, other), PL_READ_NONE);
    pl_read_scope_dispose(&s);
    json_decref(bound);
    json_decref(other);
    json_decref(sr);
    pl_principal_unref(d);
    pl_principal_unref(e);
    pl_read_policies_free(c);
}

static void a_put_replaces_the_policy_and_invalid_ones_change_nothing(void **state)
{
    (void)state;
    struct pl_read_policies *c = cache_with("", "{\"openTypes\":[\"A\"]}");
    json_t *bad = json_loads("{\"openTypes\":[\"\"]}", 0, NULL);
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_equal(pl_read_policies_put(c, "", bad, &err), PL_EBADREQUESTDATA);
    assert_non_null(strstr(err.detail, "openTypes[0]"));
    json_decref(bad);
    struct pl_read_policy *p = pl_read_policies_get(c, "");
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(pl_read_policy_doc(p), "openTypes"), 0)),
                        "A");
    assert_int_equal(json_array_size(json_object_get(pl_read_policy_doc(p), "privateAttributes")),
                     0);
    pl_read_policy_unref(p);
    json_t *doc = json_loads("{\"openTypes\":[\"B\"]}", 0, NULL);
    assert_int_equal(pl_read_policies_put(c, "", doc, &err), 0);
    json_decref(doc);
    p = pl_read_policies_get(c, "");
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(pl_read_policy_doc(p), "openTypes"), 0)),
                        "B");
    pl_read_policy_unref(p);
    assert_null(pl_read_policies_get(c, "nope"));
    pl_read_policies_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(policy_documents_are_validated),
        cmocka_unit_test(names_match_iri_default_context_or_local_name),
        cmocka_unit_test(public_reads_open_types_without_private_attributes),
        cmocka_unit_test(roles_of_the_tenant_read_all_others_nothing),
        cmocka_unit_test(device_and_enterprise_read_their_entities_in_full),
        cmocka_unit_test(a_put_replaces_the_policy_and_invalid_ones_change_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
