/* SPDX-License-Identifier: Apache-2.0 */
/* test_projection.c — the Attribute Projection Language (4.21): names, "|" and ",", nesting,
 * leaves, depth, and the errors. */
#include <stdlib.h>
#include <string.h>

#include "test_helpers_entity.h"
#include "ngsild/projection.h"

static struct pl_proj *ok(const char *text, unsigned flags)
{
    struct pl_proj *p = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_proj_parse("pick", text, pl_ctx_core(), flags, &p, &err);
    if (rc != 0)
        fail_msg("'%s' refused: %s", text, err.detail);
    return p;
}

static void bad(const char *text, unsigned flags)
{
    struct pl_proj *p = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_proj_parse("pick", text, pl_ctx_core(), flags, &p, &err);
    if (rc != PL_EBADREQUESTDATA)
        fail_msg("'%s' accepted (rc %d)", text, rc);
    assert_null(p);
    assert_non_null(strstr(err.detail, "pick"));
}

static void proj_names_and_or_operators_4_21(void **st)
{
    (void)st;
    struct pl_proj *p = ok("temperature,humidity|id", PL_PROJ_MEMBERS);
    assert_int_equal(p->n, 3);
    assert_string_equal(p->names[0], DV "temperature");
    assert_string_equal(p->names[1], DV "humidity");
    assert_string_equal(p->names[2], "id");
    assert_int_equal(p->n_leaves, 3);
    assert_int_equal(pl_proj_depth(p), 0);
    assert_true(pl_proj_has_member(p));
    assert_null(pl_proj_sub(p, DV "temperature"));
    pl_proj_free(p);
}

static void proj_linked_entity_terms_4_21(void **st)
{
    (void)st;
    struct pl_proj *p = ok("observation{temperature,humidity},a{b{c|id}},z", PL_PROJ_MEMBERS);
    assert_int_equal(p->n, 3);
    assert_int_equal(p->n_leaves, 1);
    assert_string_equal(p->leaves[0], DV "z");
    assert_int_equal(pl_proj_depth(p), 2);
    assert_false(pl_proj_has_member(p));
    const struct pl_proj *o = pl_proj_sub(p, DV "observation");
    assert_non_null(o);
    assert_int_equal(o->n, 2);
    assert_string_equal(o->names[1], DV "humidity");
    const struct pl_proj *b = pl_proj_sub(pl_proj_sub(p, DV "a"), DV "b");
    assert_non_null(b);
    assert_int_equal(b->n, 2);
    assert_string_equal(b->names[1], "id");
    pl_proj_free(p);
}

static void proj_errors(void **st)
{
    (void)st;
    static const char *const cases[] = {"",
                                        "a,",
                                        ",a",
                                        "a,,b",
                                        "a|",
                                        "a{",
                                        "a}",
                                        "a{b",
                                        "a{}",
                                        "{a}",
                                        "a{b}c",
                                        "a{b}{c}",
                                        "a b",
                                        "a{b}}",
                                        "a{{b}}",
                                        "id{x}",
                                        "a{b,}",
                                        "a{,b}",
                                        "a{b{c{d{e{f{g{h{i{j}}}}}}}}}"};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        bad(cases[i], PL_PROJ_MEMBERS);
    bad("id", 0);
    bad("a,scope", 0);
    struct pl_proj *p = ok("a{b{c{d{e{f{g{h{i}}}}}}}}", 0); /* depth 8: the maximum */
    assert_int_equal(pl_proj_depth(p), PL_PROJ_MAX_DEPTH);
    pl_proj_free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(proj_names_and_or_operators_4_21),
        cmocka_unit_test(proj_linked_entity_terms_4_21),
        cmocka_unit_test(proj_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
