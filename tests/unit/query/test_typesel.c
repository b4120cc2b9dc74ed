/* SPDX-License-Identifier: Apache-2.0 */
/* test_typesel.c — the Entity Type Selection Language (4.17): parsing, errors, matching. */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ngsild/context.h"
#include "query/typesel.h"

#define DV PL_DEFAULT_VOCAB

static struct pl_typesel *ts_ok(const char *text)
{
    struct pl_typesel *n = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_typesel_parse(text, &n, &err) != 0)
        fail_msg("type '%s' failed: %s", text, err.detail);
    if (pl_typesel_resolve(n, pl_ctx_core(), &err) != 0)
        fail_msg("type '%s' resolve failed: %s", text, err.detail);
    return n;
}

static void ts_bad(const char *text, size_t pos)
{
    struct pl_typesel *n = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_typesel_parse(text, &n, &err);
    if (rc != PL_EBADREQUESTDATA)
        fail_msg("type '%s' should fail, rc %d", text, rc);
    assert_null(n);
    char want[64];
    snprintf(want, sizeof want, "type: at position %zu:", pos);
    if (!strstr(err.detail, want))
        fail_msg("type '%s': detail '%s' lacks '%s'", text, err.detail, want);
}

static int tm(const char *text, const char *types)
{
    struct pl_typesel *n = ts_ok(text);
    json_error_t je;
    json_t *t = json_loads(types, JSON_DECODE_ANY, &je);
    assert_non_null(t);
    int r = pl_typesel_match(n, t);
    json_decref(t);
    pl_typesel_free(n);
    return r;
}

static void typesel_parses_the_4_17_examples(void **st)
{
    (void)st;
    struct pl_typesel *n = ts_ok("Building|House");
    assert_int_equal(n->kind, PL_TS_OR);
    assert_int_equal(n->n_kids, 2);
    assert_string_equal(n->kids[0]->name, "Building");
    assert_string_equal(n->kids[0]->name_iri, DV "Building");
    assert_int_equal(n->kids[1]->pos, 9);
    const char *names[4];
    assert_int_equal(pl_typesel_or_names(n, names, 4), 2);
    assert_string_equal(names[1], DV "House");
    pl_typesel_free(n);

    n = ts_ok("Building,House,(Shed)");
    assert_int_equal(n->kind, PL_TS_OR);
    assert_int_equal(n->n_kids, 3);
    assert_int_equal(pl_typesel_or_names(n, names, 2), 3);
    assert_string_equal(names[0], DV "Building");
    pl_typesel_free(n);

    n = ts_ok("(Home;Vehicle)");
    assert_int_equal(n->kind, PL_TS_AND);
    assert_int_equal(pl_typesel_or_names(n, names, 4), 0);
    pl_typesel_free(n);

    n = ts_ok("(Home;Vehicle)|Motorhome");
    assert_int_equal(n->kind, PL_TS_OR);
    assert_int_equal(n->kids[0]->kind, PL_TS_AND);
    assert_int_equal(pl_typesel_or_names(n, names, 4), 0);
    pl_typesel_free(n);

    n = ts_ok("Vehicle");
    assert_int_equal(n->kind, PL_TS_NAME);
    assert_int_equal(pl_typesel_or_names(n, names, 4), 1);
    assert_string_equal(names[0], DV "Vehicle");
    pl_typesel_free(n);

    n = ts_ok("https://schema.org/Car, urn:x:T , ngsi-ld:Foo");
    assert_string_equal(n->kids[0]->name_iri, "https://schema.org/Car");
    assert_string_equal(n->kids[1]->name_iri, "urn:x:T");
    assert_string_equal(n->kids[2]->name_iri, "https://uri.etsi.org/ngsi-ld/Foo");
    pl_typesel_free(n);

    n = ts_ok("((A;B);(C;D))");
    assert_int_equal(n->kind, PL_TS_AND);
    assert_int_equal(n->n_kids, 4);
    pl_typesel_free(n);
    pl_typesel_free(NULL);
}

static void typesel_reports_errors_with_positions(void **st)
{
    (void)st;
    ts_bad("", 0);
    ts_bad("A|", 2);
    ts_bad("A,,B", 2);
    ts_bad("(A;B", 4);
    ts_bad("A)", 1);
    ts_bad("()", 1);
    ts_bad("A B", 2);
    ts_bad("A|Bad\"Name", 2);
    ts_bad("@type", 0);
    ts_bad("1:x", 0);
    char deep[200];
    size_t k = 0;
    for (int i = 0; i < 65; i++)
        deep[k++] = '(';
    deep[k++] = 'A';
    for (int i = 0; i < 65; i++)
        deep[k++] = ')';
    deep[k] = '\0';
    ts_bad(deep, 64);
    struct pl_typesel *n = NULL;
    struct pl_err err;
    assert_int_equal(pl_typesel_parse("A|)", &n, &err), PL_EBADREQUESTDATA);
    assert_string_equal(err.detail,
                        "type: at position 2: unexpected ')' (expected an entity type)");
}

static void typesel_matches_entity_types(void **st)
{
    (void)st;
    const char *hv = "[\"" DV "Home\",\"" DV "Vehicle\"]";
    assert_int_equal(tm("Home", hv), 1);
    assert_int_equal(tm("Boat", hv), 0);
    assert_int_equal(tm("Boat,Vehicle", hv), 1);
    assert_int_equal(tm("(Home;Vehicle)", hv), 1);
    assert_int_equal(tm("(Home;Boat)", hv), 0);
    assert_int_equal(tm("(Home;Boat)|Motorhome", hv), 0);
    assert_int_equal(tm("(Home;Boat)|Vehicle", hv), 1);
    assert_int_equal(tm("Home", "\"" DV "Home\""), 1);
    assert_int_equal(tm("Home", "[]"), 0);
    assert_int_equal(tm("Home", "null"), 0);
    assert_int_equal(tm(DV "Home", hv), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(typesel_parses_the_4_17_examples),
        cmocka_unit_test(typesel_reports_errors_with_positions),
        cmocka_unit_test(typesel_matches_entity_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
