/* SPDX-License-Identifier: Apache-2.0 */
/* test_scopeq.c — the Scope Query Language (4.19): parsing, errors, matching (4.18 scopes). */
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "query/scopeq.h"

static struct pl_scopeq *sq_ok(const char *text)
{
    struct pl_scopeq *n = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_scopeq_parse(text, &n, &err) != 0)
        fail_msg("scopeQ '%s' failed: %s", text, err.detail);
    return n;
}

static void sq_bad(const char *text, size_t pos)
{
    struct pl_scopeq *n = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_scopeq_parse(text, &n, &err);
    if (rc != PL_EBADREQUESTDATA)
        fail_msg("scopeQ '%s' should fail, rc %d", text, rc);
    assert_null(n);
    char want[64];
    snprintf(want, sizeof want, "scopeQ: at position %zu:", pos);
    if (!strstr(err.detail, want))
        fail_msg("scopeQ '%s': detail '%s' lacks '%s'", text, err.detail, want);
}

/* The pattern against an entity "scope" member given as JSON text. */
static int sm(const char *text, const char *scopes)
{
    struct pl_scopeq *n = sq_ok(text);
    json_error_t je;
    json_t *s = json_loads(scopes, JSON_DECODE_ANY, &je);
    assert_non_null(s);
    int r = pl_scopeq_match(n, s);
    json_decref(s);
    pl_scopeq_free(n);
    return r;
}

static void scopeq_parses(void **st)
{
    (void)st;
    struct pl_scopeq *n = sq_ok("/Madrid/+/ParqueNorte");
    assert_int_equal(n->kind, PL_SQ_SCOPE);
    assert_int_equal(n->n_levels, 3);
    assert_string_equal(n->levels[1], "+");
    assert_int_equal(n->descendants, 0);
    assert_string_equal(n->scope, "/Madrid/+/ParqueNorte");
    pl_scopeq_free(n);

    n = sq_ok("/#");
    assert_int_equal(n->n_levels, 0);
    assert_int_equal(n->descendants, 1);
    assert_string_equal(n->scope, "/#");
    pl_scopeq_free(n);

    n = sq_ok("(/Madrid/Districts;/CompanyA),CompanyB/#");
    assert_int_equal(n->kind, PL_SQ_OR);
    assert_int_equal(n->kids[0]->kind, PL_SQ_AND);
    assert_string_equal(n->kids[1]->scope, "/CompanyB/#");
    assert_int_equal(n->kids[1]->pos, 30);
    pl_scopeq_free(n);

    n = sq_ok("/A|/B, /C");
    assert_int_equal(n->kind, PL_SQ_OR);
    assert_int_equal(n->n_kids, 3);
    pl_scopeq_free(n);
    pl_scopeq_free(NULL);
}

static void scopeq_reports_errors_with_positions(void **st)
{
    (void)st;
    sq_bad("", 0);
    sq_bad("/", 1);
    sq_bad("/A/", 3);
    sq_bad("/A//B", 3);
    sq_bad("/A/#/B", 4);
    sq_bad("/A#", 2);
    sq_bad("/A+", 2);
    sq_bad("/+A", 1);
    sq_bad("/A|", 3);
    sq_bad("(/A;/B", 6);
    sq_bad("/A)", 2);
    sq_bad("/A /B", 3);
    sq_bad("#", 0);
    struct pl_scopeq *n = NULL;
    struct pl_err err;
    assert_int_equal(pl_scopeq_parse("/A,)", &n, &err), PL_EBADREQUESTDATA);
    assert_string_equal(err.detail,
                        "scopeQ: at position 3: unexpected ')' (expected a scope such as /Madrid)");
}

static void scopeq_matches_4_19_examples(void **st)
{
    (void)st;
    assert_int_equal(sm("/Madrid", "[\"/Madrid\"]"), 1);
    assert_int_equal(sm("/Madrid", "[\"/Madrid/Gardens\"]"), 0);
    assert_int_equal(sm("/Madrid", "\"/Madrid\""), 1);
    assert_int_equal(sm("Madrid", "[\"/Madrid\"]"), 1);
    assert_int_equal(sm("/Madrid/Gardens/#", "[\"/Madrid/Gardens\"]"), 1);
    assert_int_equal(sm("/Madrid/Gardens/#", "[\"/Madrid/Gardens/ParqueNorte/Parterre1\"]"), 1);
    assert_int_equal(sm("/Madrid/Gardens/#", "[\"/Madrid/GardensX\"]"), 0);
    assert_int_equal(sm("/Madrid/Gardens/#", "[\"/Madrid\"]"), 0);
    assert_int_equal(sm("/Madrid/#", "[\"/Madrid/Gardens/Retiro\"]"), 1);
    assert_int_equal(sm("/Madrid/+/ParqueNorte", "[\"/Madrid/Gardens/ParqueNorte\"]"), 1);
    assert_int_equal(sm("/Madrid/+/ParqueNorte", "[\"/Madrid/Sights/ParqueNorte\"]"), 1);
    assert_int_equal(sm("/Madrid/+/ParqueNorte", "[\"/Madrid/ParqueNorte\"]"), 0);
    assert_int_equal(sm("/Madrid/+", "[\"/Madrid/A/B\"]"), 0);
    assert_int_equal(sm("/Madrid/+/#", "[\"/Madrid/A/B\"]"), 1);
    assert_int_equal(sm("/Madrid/+/#", "[\"/Madrid\"]"), 0);
    assert_int_equal(sm("/+", "[\"/Madrid\"]"), 1);
    assert_int_equal(sm("/#", "[\"/Anything/Here\"]"), 1);
    assert_int_equal(sm("/#", "[]"), 0);
    assert_int_equal(sm("/#", "null"), 0);
    assert_int_equal(sm("/#", "[\"urn:ngsi-ld:null\"]"), 0);
    const char *two = "[\"/Madrid/Districts/Centro\",\"/CompanyA\"]";
    assert_int_equal(sm("(/Madrid/Districts/#;/CompanyA)", two), 1);
    assert_int_equal(sm("(/Madrid/Districts;/CompanyA)", two), 0);
    assert_int_equal(sm("(/Madrid/Districts;/CompanyA)|/CompanyB", two), 0);
    assert_int_equal(sm("(/Madrid/Districts;/CompanyA),/CompanyA", two), 1);
    assert_int_equal(sm("/X,/Y|/CompanyA", two), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scopeq_parses),
        cmocka_unit_test(scopeq_reports_errors_with_positions),
        cmocka_unit_test(scopeq_matches_4_19_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
