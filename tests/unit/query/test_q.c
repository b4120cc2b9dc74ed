/* SPDX-License-Identifier: Apache-2.0 */
/*
 * test_q.c — the NGSI-LD query language (4.9): parsing (valid forms, errors with positions),
 * resolution with the core @context, the target-value enumerator and every operator's
 * semantics against internal-form entities.
 */
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
#include "query/q.h"

#define DV PL_DEFAULT_VOCAB

static json_t *tj(const char *s)
{
    json_error_t e;
    json_t *v = json_loads(s, JSON_DECODE_ANY, &e);
    if (!v)
        fail_msg("bad JSON in test: %s (%s)", s, e.text);
    return v;
}

static struct pl_q_node *parse_ok(const char *q)
{
    struct pl_q_node *n = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_q_parse(q, &n, &err);
    if (rc)
        fail_msg("q '%s' failed: %s", q, err.detail);
    assert_non_null(n);
    rc = pl_q_resolve(n, pl_ctx_core(), &err);
    if (rc)
        fail_msg("q '%s' resolve failed: %s", q, err.detail);
    return n;
}

/* Asserts that q fails with BadRequestData at byte `pos`; returns nothing. */
static void parse_bad(const char *q, size_t pos)
{
    struct pl_q_node *n = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_q_parse(q, &n, &err);
    if (rc != PL_EBADREQUESTDATA)
        fail_msg("q '%s' should fail, rc %d", q, rc);
    assert_null(n);
    char want[64];
    snprintf(want, sizeof want, "q: at position %zu:", pos);
    if (!strstr(err.detail, want))
        fail_msg("q '%s': detail '%s' lacks '%s'", q, err.detail, want);
}

/* q against an entity given as JSON text: 1 match, 0 not. */
static int qm(const char *q, const char *entity)
{
    struct pl_q_node *n = parse_ok(q);
    json_t *e = tj(entity);
    int r = pl_q_match(n, e);
    json_decref(e);
    pl_q_free(n);
    return r;
}

/* ---------------------------------------------------------------------------------------------
 * Parsing
 * ------------------------------------------------------------------------------------------ */

static void q_parses_precedence_and_flattening(void **st)
{
    (void)st;
    struct pl_q_node *n = parse_ok("a;b|c");
    assert_int_equal(n->kind, PL_Q_OR);
    assert_int_equal(n->n_kids, 2);
    assert_int_equal(n->kids[0]->kind, PL_Q_AND);
    assert_int_equal(n->kids[0]->n_kids, 2);
    assert_string_equal(n->kids[1]->term.path[0], "c");
    assert_int_equal(n->kids[1]->term.pos, 4);
    pl_q_free(n);

    n = parse_ok("((a;b);c;(d))");
    assert_int_equal(n->kind, PL_Q_AND);
    assert_int_equal(n->n_kids, 4);
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(n->kids[i]->kind, PL_Q_TERM);
    pl_q_free(n);

    n = parse_ok("(a|b)|(c|d;e)");
    assert_int_equal(n->kind, PL_Q_OR);
    assert_int_equal(n->n_kids, 4);
    assert_int_equal(n->kids[3]->kind, PL_Q_AND);
    pl_q_free(n);

    n = parse_ok("((speed>50|rpm>3000);brandName==\"Mercedes\")");
    assert_int_equal(n->kind, PL_Q_AND);
    assert_int_equal(n->kids[0]->kind, PL_Q_OR);
    pl_q_free(n);

    n = parse_ok("(((a)))");
    assert_int_equal(n->kind, PL_Q_TERM);
    assert_int_equal(n->term.op, PL_QOP_EXISTS);
    assert_int_equal(n->term.pos, 3);
    pl_q_free(n);

    n = parse_ok(" a == 1 ; ( b | c ) ");
    assert_int_equal(n->kind, PL_Q_AND);
    pl_q_free(n);
}

static void q_parses_operators_and_values(void **st)
{
    (void)st;
    static const struct {
        const char *q;
        enum pl_q_op op;
    } ops[] = {{"a", PL_QOP_EXISTS},     {"!a", PL_QOP_NOT_EXISTS}, {"a==1", PL_QOP_EQ},
               {"a!=1", PL_QOP_NE},      {"a>1", PL_QOP_GT},        {"a>=1", PL_QOP_GE},
               {"a<1", PL_QOP_LT},       {"a<=1", PL_QOP_LE},       {"a~=x", PL_QOP_MATCH},
               {"a!~=x", PL_QOP_NOMATCH}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        struct pl_q_node *n = parse_ok(ops[i].q);
        assert_int_equal(n->term.op, ops[i].op);
        pl_q_free(n);
    }

    struct pl_q_node *n = parse_ok("a==-1.5e2");
    assert_int_equal(n->term.shape, PL_QVAL_ONE);
    assert_int_equal(n->term.vals[0].kind, PL_QV_NUMBER);
    assert_true(n->term.vals[0].num == -150.0);
    assert_null(n->term.vals[0].str);
    pl_q_free(n);

    n = parse_ok("a==\"x\\\"y\\u00e9\\n\"");
    assert_int_equal(n->term.vals[0].kind, PL_QV_STRING);
    assert_string_equal(n->term.vals[0].str, "x\"y\xc3\xa9\n");
    assert_int_equal(n->term.vals[0].bare, 0);
    pl_q_free(n);

    n = parse_ok("a==true,false");
    assert_int_equal(n->term.shape, PL_QVAL_LIST);
    assert_int_equal(n->term.n_vals, 2);
    assert_int_equal(n->term.vals[0].kind, PL_QV_BOOL);
    assert_true(n->term.vals[0].num == 1 && n->term.vals[1].num == 0);
    pl_q_free(n);

    n = parse_ok("a>=2017-12-24T12:00:00Z");
    assert_int_equal(n->term.vals[0].kind, PL_QV_DATETIME);
    assert_true(n->term.vals[0].num == 1514116800000.0);
    assert_string_equal(n->term.vals[0].str, "2017-12-24T12:00:00Z");
    pl_q_free(n);

    n = parse_ok("a<2017-12-24T13:00:00.250+01:00");
    assert_int_equal(n->term.vals[0].kind, PL_QV_DATETIME);
    assert_true(n->term.vals[0].num == 1514116800250.0);
    pl_q_free(n);

    n = parse_ok("a==2024-02-29");
    assert_int_equal(n->term.vals[0].kind, PL_QV_STRING);
    assert_string_equal(n->term.vals[0].str, "2024-02-29");
    pl_q_free(n);

    n = parse_ok("a<12:30:00Z");
    assert_int_equal(n->term.vals[0].kind, PL_QV_STRING);
    assert_string_equal(n->term.vals[0].str, "12:30:00Z");
    pl_q_free(n);

    n = parse_ok("a==urn:ngsi-ld:X:1,https://ex.org/a?b=c");
    assert_int_equal(n->term.shape, PL_QVAL_LIST);
    assert_int_equal(n->term.vals[0].kind, PL_QV_URI);
    assert_string_equal(n->term.vals[0].str, "urn:ngsi-ld:X:1");
    assert_string_equal(n->term.vals[1].str, "https://ex.org/a?b=c");
    pl_q_free(n);

    n = parse_ok("gender==Male");
    assert_int_equal(n->term.vals[0].kind, PL_QV_STRING);
    assert_int_equal(n->term.vals[0].bare, 1);
    assert_string_equal(n->term.vals[0].str, "Male");
    pl_q_free(n);

    n = parse_ok("a==10..20");
    assert_int_equal(n->term.shape, PL_QVAL_RANGE);
    assert_int_equal(n->term.n_vals, 2);
    assert_true(n->term.vals[0].num == 10 && n->term.vals[1].num == 20);
    pl_q_free(n);

    n = parse_ok("a!=\"b\"..\"a\"");
    assert_int_equal(n->term.shape, PL_QVAL_RANGE);
    assert_string_equal(n->term.vals[1].str, "a");
    pl_q_free(n);

    n = parse_ok("a==2017-01-01T00:00:00Z..2018-01-01T00:00:00Z");
    assert_int_equal(n->term.shape, PL_QVAL_RANGE);
    assert_int_equal(n->term.vals[1].kind, PL_QV_DATETIME);
    pl_q_free(n);

    n = parse_ok("a==\"black\", \"red\"");
    assert_int_equal(n->term.n_vals, 2);
    pl_q_free(n);
}

static void q_parses_paths_trails_and_special_members(void **st)
{
    (void)st;
    struct pl_q_node *n = parse_ok("sensor.rawdata[airquality.particulate]==40");
    struct pl_q_term *t = &n->term;
    assert_int_equal(t->n_path, 2);
    assert_string_equal(t->path[0], "sensor");
    assert_string_equal(t->path[1], "rawdata");
    assert_string_equal(t->path_iri[0], DV "sensor");
    assert_string_equal(t->path_iri[1], DV "rawdata");
    assert_int_equal(t->n_trail, 2);
    assert_string_equal(t->trail[0], "airquality");
    assert_string_equal(t->trail[1], "particulate");
    assert_int_equal(t->special, 0);
    pl_q_free(n);

    n = parse_ok("temperature.observedAt>=2017-12-24T12:00:00Z");
    t = &n->term;
    assert_int_equal(t->special, 1);
    assert_string_equal(t->path_iri[1], "observedAt");
    pl_q_free(n);

    n = parse_ok("observedAt");
    assert_int_equal(n->term.special, 0);
    assert_string_equal(n->term.path_iri[0], "https://uri.etsi.org/ngsi-ld/observedAt");
    pl_q_free(n);

    n = parse_ok("name[en-GB]==\"x\"");
    assert_string_equal(n->term.trail[0], "en-GB");
    pl_q_free(n);

    n = parse_ok("ex:temp==1");
    assert_string_equal(n->term.path[0], "ex:temp");
    pl_q_free(n);

    n = parse_ok("a_1b==1");
    assert_string_equal(n->term.path[0], "a_1b");
    pl_q_free(n);
}

static void q_parses_regexes(void **st)
{
    (void)st;
    struct pl_q_node *n = parse_ok("a~=^Me(r|x)c.*s$;b");
    assert_int_equal(n->kind, PL_Q_AND);
    assert_string_equal(n->kids[0]->term.regex, "^Me(r|x)c.*s$");
    assert_non_null(n->kids[0]->term.compiled);
    pl_q_free(n);

    n = parse_ok("(a~=x[;|)]y)|b");
    assert_int_equal(n->kind, PL_Q_OR);
    assert_string_equal(n->kids[0]->term.regex, "x[;|)]y");
    pl_q_free(n);

    n = parse_ok("a~=\"x|y;z\"");
    assert_string_equal(n->term.regex, "x|y;z");
    pl_q_free(n);

    n = parse_ok("a!~=(?i)abc");
    assert_string_equal(n->term.regex, "abc");
    assert_int_equal(n->term.icase, 1);
    pl_q_free(n);

    static const char *const fine[] = {
        "a~=^[a-z]+-[0-9]{2,4}$", "a~=(ab)*c?",   "a~=(a|b)+", "a~=colou?r", "a~=^(.*)$",
        "a~=[[:alpha:]]+[*+]",    "a~=(x{2}){3}", "a~=(^$|^x)"};
    for (size_t i = 0; i < sizeof fine / sizeof fine[0]; i++)
        pl_q_free(parse_ok(fine[i]));

    n = parse_ok("a~=x\\;y");
    assert_string_equal(n->term.regex, "x\\;y");
    pl_q_free(n);
}

static void q_reports_errors_with_positions(void **st)
{
    (void)st;
    parse_bad("", 0);
    parse_bad("temperature>)", 12);
    parse_bad("a==", 3);
    parse_bad("a=5", 1);
    parse_bad("(a==1", 5);
    parse_bad("a==1)", 4);
    parse_bad("a;", 2);
    parse_bad("a|", 2);
    parse_bad(";a", 0);
    parse_bad("1a==1", 0);
    parse_bad("a{b}==1", 1);
    parse_bad("a==\"x", 5);
    parse_bad("a==\"x\\q\"", 5);
    parse_bad("a==\"\\u0000\"", 4);
    parse_bad("a~=(", 3);
    parse_bad("a~=", 3);
    parse_bad("a~=(a)\\1", 3);
    parse_bad("a~=((a{100}){100}){100}", 3);
    parse_bad("a~=x2++++++++++++++++++++++", 3);
    parse_bad("a~=(){0205}{0,100}", 3);
    parse_bad("a~=((a*|b*)+){20}", 3);
    parse_bad("a~=(a|)+", 3);
    parse_bad("a~=(^)*", 3);
    parse_bad("a~=x*?", 3);
    parse_bad("a~=((((((((((((((x+)+)+)+)+)+)+)+)+)+)+)+)+)+)", 3);
    parse_bad("a>true", 2);
    parse_bad("a>urn:x:y", 2);
    parse_bad("a>Male", 2);
    parse_bad("a>1,2", 3);
    parse_bad("a<1..2", 3);
    parse_bad("a==1..\"x\"", 6);
    parse_bad("a==true..false", 3);
    parse_bad("a==1..2,3", 7);
    parse_bad("a==1,2..3", 6);
    parse_bad("a==2017-13-01T00:00:00Z", 3);
    parse_bad("a==2017-02-30", 3);
    parse_bad("a==25:00:00", 3);
    parse_bad("a==foo bar", 7);
    parse_bad("a==%%", 3);
    parse_bad("!a==1", 2);
    parse_bad("a.observedAt.b==1", 0);
    parse_bad("a.observedAt[x]==1", 0);
    parse_bad("a[b", 1);
    parse_bad("a[]==1", 2);
    parse_bad("a[b][c]", 4);
    parse_bad("a.==1", 2);
    parse_bad("a..b", 2);
    parse_bad("()", 1);
    parse_bad("a b", 2);

    struct pl_q_node *n = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_equal(pl_q_parse("temperature>)", &n, &err), PL_EBADREQUESTDATA);
    assert_string_equal(err.detail, "q: at position 12: unexpected ')' (expected a value)");
    assert_int_equal(pl_q_parse("a==\"x\"\x01\xff", &n, &err), PL_EBADREQUESTDATA);
    assert_non_null(strstr(err.detail, "'?\?'"));
    assert_int_equal(pl_q_parse("a{b}", &n, &err), PL_EBADREQUESTDATA);
    assert_non_null(strstr(err.detail, "not supported"));
}

static void q_limits_nesting_and_survives_large_input(void **st)
{
    (void)st;
    char buf[300];
    size_t k = 0;
    for (int i = 0; i < 64; i++)
        buf[k++] = '(';
    buf[k++] = 'a';
    for (int i = 0; i < 64; i++)
        buf[k++] = ')';
    buf[k] = '\0';
    struct pl_q_node *n = parse_ok(buf);
    pl_q_free(n);

    k = 0;
    for (int i = 0; i < 65; i++)
        buf[k++] = '(';
    buf[k++] = 'a';
    for (int i = 0; i < 65; i++)
        buf[k++] = ')';
    buf[k] = '\0';
    parse_bad(buf, 64);

    /* A list of 10000 values and an OR of 5000 terms. */
    size_t cap = 200000, len = 0;
    char *big = malloc(cap);
    assert_non_null(big);
    len += (size_t)snprintf(big + len, cap - len, "a==0");
    for (int i = 1; i < 10000; i++)
        len += (size_t)snprintf(big + len, cap - len, ",%d", i);
    n = parse_ok(big);
    assert_int_equal(n->term.n_vals, 10000);
    assert_int_equal(qm(big, "{\"attrs\":{\"" DV "a\":[{\"type\":\"Property\",\"value\":9999}]}}"),
                     1);
    pl_q_free(n);
    len = 0;
    len += (size_t)snprintf(big + len, cap - len, "a0");
    for (int i = 1; i < 5000; i++)
        len += (size_t)snprintf(big + len, cap - len, "|a%d", i);
    n = parse_ok(big);
    assert_int_equal(n->kind, PL_Q_OR);
    assert_int_equal(n->n_kids, 5000);
    pl_q_free(n);
    free(big);
}

/* ---------------------------------------------------------------------------------------------
 * Semantics
 * ------------------------------------------------------------------------------------------ */

#define ENT(attrs)      "{\"id\":\"urn:ngsi-ld:T:1\",\"type\":[\"" DV "T\"],\"attrs\":{" attrs "}}"
#define PROP(name, val) "\"" DV name "\":[{\"type\":\"Property\",\"value\":" val "}]"

static void q_numbers(void **st)
{
    (void)st;
    const char *e = ENT(PROP("speed", "55"));
    assert_int_equal(qm("speed", e), 1);
    assert_int_equal(qm("!speed", e), 0);
    assert_int_equal(qm("rpm", e), 0);
    assert_int_equal(qm("!rpm", e), 1);
    assert_int_equal(qm("speed==55", e), 1);
    assert_int_equal(qm("speed==55.0", e), 1);
    assert_int_equal(qm("speed==5.5e1", e), 1);
    assert_int_equal(qm("speed==54", e), 0);
    assert_int_equal(qm("speed==\"55\"", e), 0);
    assert_int_equal(qm("speed!=54", e), 1);
    assert_int_equal(qm("speed!=55", e), 0);
    assert_int_equal(qm("speed>50", e), 1);
    assert_int_equal(qm("speed>55", e), 0);
    assert_int_equal(qm("speed>=55", e), 1);
    assert_int_equal(qm("speed<56", e), 1);
    assert_int_equal(qm("speed<55", e), 0);
    assert_int_equal(qm("speed<=55", e), 1);
    assert_int_equal(qm("speed==50..60", e), 1);
    assert_int_equal(qm("speed==55..55", e), 1);
    assert_int_equal(qm("speed==56..60", e), 0);
    assert_int_equal(qm("speed!=56..60", e), 1);
    assert_int_equal(qm("speed!=50..60", e), 0);
    assert_int_equal(qm("speed==1,55,3", e), 1);
    assert_int_equal(qm("speed==1,\"55\",3", e), 0);
    assert_int_equal(qm("speed!=1,2,3", e), 1);
    assert_int_equal(qm("speed>\"5\"", e), 0);
    assert_int_equal(qm("speed~=5", e), 0);
    assert_int_equal(qm("speed!~=5", e), 0);
    assert_int_equal(qm("(speed>50;speed<60)|rpm", e), 1);
    assert_int_equal(qm("(speed>50;speed<52)|rpm", e), 0);
    assert_int_equal(qm("speed>60|speed<56;rpm", e), 0);
    assert_int_equal(qm("speed>60|speed<56;!rpm", e), 1);
}

static void q_strings_booleans_and_regex(void **st)
{
    (void)st;
    const char *e = ENT(PROP("brandName", "\"Mercedes\"") "," PROP("parked", "true"));
    assert_int_equal(qm("brandName==\"Mercedes\"", e), 1);
    assert_int_equal(qm("brandName!=\"Mercedes\"", e), 0);
    assert_int_equal(qm("brandName!=\"BMW\"", e), 1);
    assert_int_equal(qm("brandName==Mercedes", e), 1); /* bare word: compared as text */
    assert_int_equal(qm("brandName>\"Audi\"", e), 1);
    assert_int_equal(qm("brandName<\"Audi\"", e), 0);
    assert_int_equal(qm("brandName==\"A\"..\"N\"", e), 1);
    assert_int_equal(qm("brandName==\"N\"..\"Z\"", e), 0);
    assert_int_equal(qm("brandName~=^Merc", e), 1);
    assert_int_equal(qm("brandName~=^merc", e), 0);
    assert_int_equal(qm("brandName~=(?i)^merc", e), 1);
    assert_int_equal(qm("brandName!~=^merc", e), 1);
    assert_int_equal(qm("brandName!~=^Merc", e), 0);
    assert_int_equal(qm("brandName~=\"^(BMW|Mercedes)$\"", e), 1);
    assert_int_equal(qm("brandName~=(BMW|Mercedes)$", e), 1);
    assert_int_equal(qm("brandName==1", e), 0);
    assert_int_equal(qm("parked==true", e), 1);
    assert_int_equal(qm("parked==false", e), 0);
    assert_int_equal(qm("parked!=false", e), 1);
    assert_int_equal(qm("parked==\"true\"", e), 0);
    assert_int_equal(qm("parked~=true", e), 0);
    /* The attribute is absent: != and !~= never match. */
    assert_int_equal(qm("color!=\"red\"", e), 0);
    assert_int_equal(qm("color!~=red", e), 0);
    assert_int_equal(qm("color!=1..2", e), 0);
    /* An entity without "attrs" at all. */
    assert_int_equal(qm("color!=\"red\"", "{\"id\":\"urn:x:1\",\"type\":[\"T\"]}"), 0);
    assert_int_equal(qm("!color", "{\"id\":\"urn:x:1\",\"type\":[\"T\"]}"), 1);
    assert_int_equal(qm("color", "{}"), 0);
}

static void q_datetimes_dates_and_times(void **st)
{
    (void)st;
    const char *e =
        ENT(PROP("seen", "\"2017-12-24T12:00:00Z\"") "," PROP("typed", "{\"@type\":\"DateTime\",\"@"
                                                                       "value\":\"2020-01-01T00:00:"
                                                                       "00Z\"}") "," PROP(
            "day", "\"2024-02-29\"") "," PROP("day2", "{\"@type\":\"Date\",\"@value\":\"2024-03-"
                                                      "01\"}") "," PROP("at", "\"12:30:00\""));
    /* A DateTime-looking string is both a STRING and a DATETIME. */
    assert_int_equal(qm("seen==2017-12-24T12:00:00Z", e), 1);
    assert_int_equal(qm("seen==2017-12-24T13:00:00+01:00", e), 1);
    assert_int_equal(qm("seen==2017-12-24T12:00:00.000Z", e), 1);
    assert_int_equal(qm("seen==\"2017-12-24T12:00:00Z\"", e), 1);
    assert_int_equal(qm("seen==\"2017-12-24T12:00:00.000Z\"", e), 0);
    assert_int_equal(qm("seen>2017-12-24T11:59:59.999Z", e), 1);
    assert_int_equal(qm("seen<2017-12-24T11:59:59.999Z", e), 0);
    assert_int_equal(qm("seen==2017-01-01T00:00:00Z..2018-01-01T00:00:00Z", e), 1);
    assert_int_equal(qm("seen~=^2017", e), 1);
    assert_int_equal(qm("typed>2019-12-31T23:59:59Z", e), 1);
    assert_int_equal(qm("typed==2020-01-01T00:00:00Z", e), 1);
    assert_int_equal(qm("typed==\"2020-01-01T00:00:00Z\"", e), 0); /* DATETIME only */
    assert_int_equal(qm("typed~=2020", e), 0);
    assert_int_equal(qm("day==2024-02-29", e), 1);
    assert_int_equal(qm("day>2024-02-28", e), 1);
    assert_int_equal(qm("day<2024-02-28", e), 0);
    assert_int_equal(qm("day2==2024-03-01", e), 1);
    assert_int_equal(qm("at>=12:00:00", e), 1);
    assert_int_equal(qm("at==12:30:00", e), 1);
}

static void q_arrays_and_lists(void **st)
{
    (void)st;
    const char *e = ENT(PROP("color", "[\"blue\",\"red\",\"green\",[\"pink\"],{\"a\":1},3]"));
    assert_int_equal(qm("color==\"red\"", e), 1);
    assert_int_equal(qm("color==\"black\",\"red\"", e), 1);
    assert_int_equal(qm("color==\"pink\"", e), 0); /* nested arrays are skipped */
    assert_int_equal(qm("color==3", e), 1);
    assert_int_equal(qm("color!=\"red\"", e), 0);
    assert_int_equal(qm("color!=\"black\"", e), 1);
    assert_int_equal(qm("color!=\"black\",\"red\"", e), 0);
    assert_int_equal(qm("color!=\"black\",\"yellow\"", e), 1);
    assert_int_equal(qm("color>2", e), 1);
    assert_int_equal(qm("color~=^gr", e), 1);
    assert_int_equal(qm("color!~=^gr", e), 1); /* blue does not match */
    assert_int_equal(qm("color==\"a\"..\"c\"", e), 1);

    const char *l = ENT("\"" DV "readings\":[{\"type\":\"ListProperty\",\"valueList\":"
                        "[1,2,[3,4],\"x\"]}]");
    assert_int_equal(qm("readings==2", l), 1);
    assert_int_equal(qm("readings==4", l), 1);
    assert_int_equal(qm("readings==\"x\"", l), 1);
    assert_int_equal(qm("readings>3", l), 1);
    assert_int_equal(qm("readings>4", l), 0);
    assert_int_equal(qm("readings[1]==2", l), 1);
    assert_int_equal(qm("readings[2.0]==3", l), 1);
    assert_int_equal(qm("readings[9]", l), 0);
}

static void q_relationships(void **st)
{
    (void)st;
    const char *e = ENT("\"" DV "isParked\":[{\"type\":\"Relationship\",\"object\":"
                        "\"urn:ngsi-ld:OffStreetParking:Downtown1\"}],"
                        "\"" DV "owners\":[{\"type\":\"Relationship\",\"object\":"
                        "[\"urn:ngsi-ld:P:1\",\"urn:ngsi-ld:P:2\"]}],"
                        "\"" DV "route\":[{\"type\":\"ListRelationship\",\"objectList\":"
                        "[{\"object\":\"urn:ngsi-ld:S:1\"},\"urn:ngsi-ld:S:2\"]}],"
                        "\"" DV "gender\":[{\"type\":\"VocabProperty\",\"vocab\":"
                        "\"http://example.org/Male\"}]");
    assert_int_equal(qm("isParked==\"urn:ngsi-ld:OffStreetParking:Downtown1\"", e), 1);
    assert_int_equal(qm("isParked==urn:ngsi-ld:OffStreetParking:Downtown1", e), 1);
    assert_int_equal(qm("isParked!=urn:ngsi-ld:OffStreetParking:Downtown1", e), 0);
    assert_int_equal(qm("isParked!=urn:ngsi-ld:OffStreetParking:Downtown2", e), 1);
    assert_int_equal(qm("isParked>\"urn:a\"", e), 0); /* no ordering on relationships */
    assert_int_equal(qm("isParked~=Downtown", e), 0); /* not a STRING */
    assert_int_equal(qm("isParked!~=Downtown", e), 0);
    assert_int_equal(qm("owners==urn:ngsi-ld:P:2", e), 1);
    assert_int_equal(qm("owners==urn:ngsi-ld:P:3,urn:ngsi-ld:P:1", e), 1);
    assert_int_equal(qm("owners!=urn:ngsi-ld:P:2", e), 0);
    assert_int_equal(qm("route==urn:ngsi-ld:S:1", e), 1);
    assert_int_equal(qm("route==urn:ngsi-ld:S:2", e), 1);
    assert_int_equal(qm("gender==http://example.org/Male", e), 1);
    assert_int_equal(qm("gender==\"http://example.org/Male\"", e), 1);
    assert_int_equal(qm("gender==Male", e), 0); /* no expandValues */
}

static void q_multi_instance_sub_attributes_and_members(void **st)
{
    (void)st;
    const char *e =
        ENT("\"" DV "temperature\":["
            "{\"type\":\"Property\",\"value\":20,\"observedAt\":\"2017-12-24T12:00:00Z\","
            "\"unitCode\":\"CEL\",\"createdAt\":\"2024-01-01T00:00:00.000Z\"},"
            "{\"type\":\"Property\",\"value\":30,\"datasetId\":\"urn:ngsi-ld:Set:2\","
            "\"sub\":{\"" DV "accuracy\":{\"type\":\"Property\",\"value\":0.5,"
            "\"sub\":{\"" DV "method\":{\"type\":\"Property\",\"value\":\"m1\"}}},"
            "\"" DV "sensor\":{\"type\":\"Relationship\",\"object\":\"urn:d:1\"}}}],"
            "\"" DV "sensor\":[{\"type\":\"Property\",\"value\":40,\"sub\":{\"" DV
            "rawdata\":{\"type\":\"Property\",\"value\":{\"airquality\":"
            "{\"particulate\":40,\"PM20\":85}}}}}]");
    /* Any instance (datasetId) gives targets. */
    assert_int_equal(qm("temperature==20", e), 1);
    assert_int_equal(qm("temperature==30", e), 1);
    assert_int_equal(qm("temperature==20;temperature==30", e), 1);
    assert_int_equal(qm("temperature!=20", e), 0);
    assert_int_equal(qm("temperature!=25", e), 1);
    assert_int_equal(qm("temperature>25", e), 1);
    assert_int_equal(qm("temperature<15", e), 0);
    /* Sub-attributes. */
    assert_int_equal(qm("temperature.accuracy", e), 1);
    assert_int_equal(qm("temperature.accuracy<1", e), 1);
    assert_int_equal(qm("temperature.accuracy>1", e), 0);
    assert_int_equal(qm("temperature.accuracy.method==\"m1\"", e), 1);
    assert_int_equal(qm("temperature.sensor==urn:d:1", e), 1);
    assert_int_equal(qm("temperature.nothing", e), 0);
    assert_int_equal(qm("!temperature.nothing", e), 1);
    assert_int_equal(qm("temperature.nothing!=1", e), 0);
    /* Instance members. */
    assert_int_equal(qm("temperature.observedAt>=2017-12-24T12:00:00Z", e), 1);
    assert_int_equal(qm("temperature.observedAt>2017-12-24T12:00:00Z", e), 0);
    assert_int_equal(qm("temperature.observedAt==\"2017-12-24T12:00:00Z\"", e), 0);
    assert_int_equal(qm("temperature.observedAt", e), 1);
    assert_int_equal(qm("sensor.observedAt", e), 0);
    assert_int_equal(qm("temperature.createdAt<2025-01-01T00:00:00Z", e), 1);
    assert_int_equal(qm("temperature.modifiedAt", e), 0);
    assert_int_equal(qm("temperature.unitCode==\"CEL\"", e), 1);
    assert_int_equal(qm("temperature.unitCode!=\"CEL\"", e), 0);
    assert_int_equal(qm("temperature.datasetId==urn:ngsi-ld:Set:2", e), 1);
    /* Compound values with a trailing path (4.9 examples 9 and 10). */
    assert_int_equal(qm("sensor.rawdata[airquality.particulate]==40", e), 1);
    assert_int_equal(qm("sensor.rawdata[airquality.PM20]>80", e), 1);
    assert_int_equal(qm("sensor.rawdata[airquality.particulate]==41", e), 0);
    assert_int_equal(qm("sensor.rawdata[airquality]", e), 1);
    assert_int_equal(qm("sensor.rawdata[airquality.nope]", e), 0);
    assert_int_equal(qm("sensor.rawdata[airquality.nope]!=1", e), 0);
    assert_int_equal(qm("sensor.rawdata[airquality.particulate]!=1", e), 1);
    assert_int_equal(qm("sensor==40", e), 1);

    const char *a = ENT(PROP(
        "address",
        "{\"city\":\"Berlin\",\"street\":\"Ulrich Strasse\"}") ","
                                                               "\"" DV
                                                               "parkingTickets\":[{\"type\":"
                                                               "\"JsonProperty\",\"json\":"
                                                               "{\"id\":\"85a6\",\"value\":"
                                                               "\"Overstay 60 minutes\"}}],"
                                                               "\"" DV "where\":[{\"type\":"
                                                                       "\"GeoProperty\",\"value\":"
                                                               "{\"type\":\"Point\","
                                                               "\"coordinates\":[1,2]}}]");
    assert_int_equal(qm("address[city]==\"Berlin\"", a), 1);
    assert_int_equal(qm("address[city]==\"Paris\"", a), 0);
    assert_int_equal(qm("address==\"Berlin\"", a), 0); /* an object value has no targets */
    assert_int_equal(qm("address", a), 1);
    assert_int_equal(qm("parkingTickets[value]==\"Overstay 60 minutes\"", a), 1);
    assert_int_equal(qm("parkingTickets", a), 1);
    assert_int_equal(qm("parkingTickets==\"85a6\"", a), 0);
    assert_int_equal(qm("where", a), 1);
    assert_int_equal(qm("where==1", a), 0);
    assert_int_equal(qm("where[type]==\"Point\"", a), 1);
    assert_int_equal(qm("where[coordinates.1]==2", a), 1);
}

static void q_language_properties(void **st)
{
    (void)st;
    const char *e = ENT("\"" DV "color\":[{\"type\":\"LanguageProperty\",\"languageMap\":"
                        "{\"fr\":\"rouge\",\"en\":\"red\",\"de\":\"rot\"}}],"
                        "\"" DV "pet\":[{\"type\":\"LanguageProperty\",\"languageMap\":"
                        "{\"fr\":[\"chat\",\"rouge\"],\"en\":[\"red\",\"cat\"]}}]");
    assert_int_equal(qm("color[en]==\"red\"", e), 1);
    assert_int_equal(qm("color[fr]==\"red\"", e), 0);
    assert_int_equal(qm("color[*]==\"rot\"", e), 1);
    assert_int_equal(qm("color==\"rouge\"", e), 1);
    assert_int_equal(qm("color[en]!=\"red\"", e), 0);
    assert_int_equal(qm("color[en]!=\"black\"", e), 1);
    assert_int_equal(qm("color[*]!=\"rot\"", e), 0);
    assert_int_equal(qm("color[it]", e), 0);
    assert_int_equal(qm("color[it]!=\"x\"", e), 0);
    assert_int_equal(qm("color[en]", e), 1);
    assert_int_equal(qm("color[en.x]==\"red\"", e), 0);
    assert_int_equal(qm("color[en]~=^r", e), 1);
    assert_int_equal(qm("pet[en]==\"cat\"", e), 1);
    assert_int_equal(qm("pet[en]==\"chat\"", e), 0);
    assert_int_equal(qm("pet[*]==\"chat\"", e), 1);
    assert_int_equal(qm("pet[fr]!=\"rouge\"", e), 0);
}

/* ---------------------------------------------------------------------------------------------
 * pl_q_targets
 * ------------------------------------------------------------------------------------------ */

struct seen {
    char buf[1024];
    size_t len;
};

static void collect(void *ud, const struct pl_qv *v)
{
    struct seen *s = ud;
    static const char *const k[] = {"N", "S", "B", "D", "U"};
    int n;
    if (v->kind == PL_QV_NUMBER || v->kind == PL_QV_BOOL)
        n = snprintf(s->buf + s->len, sizeof s->buf - s->len, "%s:%g ", k[v->kind], v->num);
    else if (v->kind == PL_QV_DATETIME)
        n = snprintf(s->buf + s->len, sizeof s->buf - s->len, "D:%.0f ", v->num);
    else
        n = snprintf(s->buf + s->len, sizeof s->buf - s->len, "%s:%s%s%s ", k[v->kind],
                     v->lang ? v->lang : "", v->lang ? "=" : "", v->str);
    s->len += (size_t)n;
}

static const char *targets(const char *inst, const char *trail1, const char *trail2,
                           const char *lang, size_t *count, struct seen *s)
{
    json_t *i = tj(inst);
    char *tr[2] = {(char *)(uintptr_t)trail1, (char *)(uintptr_t)trail2};
    size_t nt = trail2 ? 2 : trail1 ? 1 : 0;
    memset(s, 0, sizeof *s);
    *count = pl_q_targets_lang(i, nt ? tr : NULL, nt, lang, collect, s);
    json_decref(i);
    if (s->len)
        s->buf[--s->len] = '\0';
    return s->buf;
}

static void q_targets_enumerates_typed_values(void **st)
{
    (void)st;
    struct seen s;
    size_t n;
    assert_string_equal(targets("{\"type\":\"Property\",\"value\":5}", NULL, NULL, NULL, &n, &s),
                        "N:5");
    assert_int_equal(n, 1);
    assert_string_equal(targets("{\"type\":\"Property\",\"value\":\"2017-12-24T12:00:00Z\"}", NULL,
                                NULL, NULL, &n, &s),
                        "S:2017-12-24T12:00:00Z D:1514116800000");
    assert_int_equal(n, 2);
    assert_string_equal(targets("{\"type\":\"Property\",\"value\":[true,\"a\",null,[1],{}]}", NULL,
                                NULL, NULL, &n, &s),
                        "B:1 S:a");
    assert_string_equal(targets("{\"type\":\"Property\",\"value\":{\"@type\":\"DateTime\","
                                "\"@value\":\"1970-01-01T00:00:01Z\"}}",
                                NULL, NULL, NULL, &n, &s),
                        "D:1000");
    assert_string_equal(
        targets("{\"type\":\"Property\",\"value\":{\"a\":1}}", NULL, NULL, NULL, &n, &s), "");
    assert_int_equal(n, 0);
    assert_string_equal(
        targets("{\"type\":\"Property\",\"value\":{\"a\":{\"b\":[1,2]}}}", "a", "b", NULL, &n, &s),
        "N:1 N:2");
    assert_string_equal(targets("{\"type\":\"Relationship\",\"object\":[\"urn:a:1\",\"urn:a:2\"]}",
                                NULL, NULL, NULL, &n, &s),
                        "U:urn:a:1 U:urn:a:2");
    assert_string_equal(
        targets("{\"type\":\"Relationship\",\"object\":\"urn:a:1\"}", "x", NULL, NULL, &n, &s), "");
    assert_string_equal(targets("{\"type\":\"ListRelationship\",\"objectList\":[{\"object\":"
                                "\"urn:a:1\"},\"urn:a:2\"]}",
                                NULL, NULL, NULL, &n, &s),
                        "U:urn:a:1 U:urn:a:2");
    assert_string_equal(targets("{\"type\":\"VocabProperty\",\"vocab\":[\"http://e/A\"]}", NULL,
                                NULL, NULL, &n, &s),
                        "U:http://e/A");
    assert_string_equal(targets("{\"type\":\"ListProperty\",\"valueList\":[1,[2,[3]],\"b\"]}", NULL,
                                NULL, NULL, &n, &s),
                        "N:1 N:2 S:b");
    const char *lp = "{\"type\":\"LanguageProperty\",\"languageMap\":{\"en\":\"red\","
                     "\"fr\":[\"rouge\",\"vermeil\"]}}";
    assert_string_equal(targets(lp, NULL, NULL, NULL, &n, &s), "S:en=red S:fr=rouge S:fr=vermeil");
    assert_int_equal(n, 3);
    assert_string_equal(targets(lp, "*", NULL, NULL, &n, &s), "S:en=red S:fr=rouge S:fr=vermeil");
    assert_string_equal(targets(lp, "fr", NULL, NULL, &n, &s), "S:fr=rouge S:fr=vermeil");
    assert_string_equal(targets(lp, NULL, NULL, "en", &n, &s), "S:en=red");
    assert_string_equal(targets(lp, "fr", NULL, "en", &n, &s), "");
    assert_string_equal(targets(lp, "en", "x", NULL, &n, &s), "");
    assert_string_equal(
        targets("{\"type\":\"JsonProperty\",\"json\":{\"a\":\"b\"}}", NULL, NULL, NULL, &n, &s),
        "");
    assert_string_equal(
        targets("{\"type\":\"JsonProperty\",\"json\":{\"a\":\"b\"}}", "a", NULL, NULL, &n, &s),
        "S:b");
    assert_string_equal(targets("{\"type\":\"GeoProperty\",\"value\":{\"type\":\"Point\","
                                "\"coordinates\":[1,2]}}",
                                NULL, NULL, NULL, &n, &s),
                        "");
    /* A NULL callback just counts. */
    json_t *i = tj("{\"type\":\"Property\",\"value\":[1,2,3]}");
    assert_int_equal(pl_q_targets(i, NULL, 0, NULL, NULL), 3);
    json_decref(i);

    i = tj(lp);
    char *tr[] = {"de"};
    assert_int_equal(pl_q_instance_exists(i, tr, 1), 0);
    assert_int_equal(pl_q_instance_exists(i, NULL, 0), 1);
    json_decref(i);
}

static void q_datetime_parser(void **st)
{
    (void)st;
    double ms = 0;
    assert_int_equal(pl_q_parse_datetime("1970-01-01T00:00:00Z", &ms), 0);
    assert_true(ms == 0);
    assert_int_equal(pl_q_parse_datetime("1970-01-01T01:00:00+01:00", &ms), 0);
    assert_true(ms == 0);
    assert_int_equal(pl_q_parse_datetime("1969-12-31T23:30:00-00:30", &ms), 0);
    assert_true(ms == 0);
    assert_int_equal(pl_q_parse_datetime("1970-01-01T00:00:00.123456Z", &ms), 0);
    assert_true(ms == 123);
    assert_int_equal(pl_q_parse_datetime("1970-01-01T00:00:00", &ms), -1);
    assert_int_equal(pl_q_parse_datetime("1970-01-01T00:00:00+1:00", &ms), -1);
    assert_int_equal(pl_q_parse_datetime("1970-01-01T00:00:00+24:00", &ms), -1);
    assert_int_equal(pl_q_parse_datetime("1970-02-30T00:00:00Z", &ms), -1);
    assert_int_equal(pl_q_parse_datetime("", &ms), -1);
}

static void q_resolve_uses_the_context(void **st)
{
    (void)st;
    struct pl_q_node *n = parse_ok("a.unitCode==\"x\"|ngsi-ld:foo");
    assert_string_equal(n->kids[0]->term.path_iri[0], DV "a");
    assert_string_equal(n->kids[0]->term.path_iri[1], "unitCode");
    assert_string_equal(n->kids[1]->term.path_iri[0], "https://uri.etsi.org/ngsi-ld/foo");
    /* Resolving twice replaces the names. */
    struct pl_err err;
    assert_int_equal(pl_q_resolve(n, pl_ctx_core(), &err), 0);
    assert_string_equal(n->kids[0]->term.path_iri[0], DV "a");
    pl_q_free(n);
    pl_q_free(NULL);

    /* Unresolved trees match by the names as written. */
    struct pl_q_node *u = NULL;
    assert_int_equal(pl_q_parse("x==1", &u, &err), 0);
    json_t *e = tj("{\"attrs\":{\"x\":[{\"type\":\"Property\",\"value\":1}]}}");
    assert_int_equal(pl_q_match(u, e), 1);
    json_decref(e);
    pl_q_free(u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(q_parses_precedence_and_flattening),
        cmocka_unit_test(q_parses_operators_and_values),
        cmocka_unit_test(q_parses_paths_trails_and_special_members),
        cmocka_unit_test(q_parses_regexes),
        cmocka_unit_test(q_reports_errors_with_positions),
        cmocka_unit_test(q_limits_nesting_and_survives_large_input),
        cmocka_unit_test(q_numbers),
        cmocka_unit_test(q_strings_booleans_and_regex),
        cmocka_unit_test(q_datetimes_dates_and_times),
        cmocka_unit_test(q_arrays_and_lists),
        cmocka_unit_test(q_relationships),
        cmocka_unit_test(q_multi_instance_sub_attributes_and_members),
        cmocka_unit_test(q_language_properties),
        cmocka_unit_test(q_targets_enumerates_typed_values),
        cmocka_unit_test(q_datetime_parser),
        cmocka_unit_test(q_resolve_uses_the_context),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
