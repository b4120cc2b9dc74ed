/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of ngsild/conform.c: the 4.3.6.8 backwards compatibility fallbacks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "ngsild/conform.h"

static void check(const char *in, int version, int simplified, const char *want)
{
    json_t *e = json_loads(in, 0, NULL), *w = json_loads(want, 0, NULL);
    assert_non_null(e);
    assert_non_null(w);
    pl_conform_entity(e, version, simplified);
    if (!json_equal(e, w)) {
        char *got = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
        fail_msg("version %d: got %s, want %s", version, got, want);
    }
    json_decref(e);
    json_decref(w);
}

static void version_parses_major_dot_minor(void **state)
{
    (void)state;
    assert_int_equal(pl_conform_version("1.3"), 103);
    assert_int_equal(pl_conform_version("1.10"), 110);
    assert_int_equal(pl_conform_version("2.0"), 200);
    assert_int_equal(pl_conform_version("1"), -1);
    assert_int_equal(pl_conform_version("1."), -1);
    assert_int_equal(pl_conform_version(".1"), -1);
    assert_int_equal(pl_conform_version("1.3.1"), -1);
    assert_int_equal(pl_conform_version("v1.3"), -1);
    assert_int_equal(pl_conform_version("1.100"), -1);
    assert_int_equal(pl_conform_version(NULL), -1);
}

static void fallbacks_by_version(void **state)
{
    (void)state;
    const char *e =
        "{\"id\":\"urn:x:1\",\"type\":[\"A\",\"B\"],\"scope\":\"/s\","
        "\"expiresAt\":\"2030-01-01T00:00:00Z\","
        "\"j\":{\"type\":\"JsonProperty\",\"json\":{\"k\":1},\"previousJson\":{\"k\":0}},"
        "\"l\":{\"type\":\"LanguageProperty\",\"languageMap\":{\"en\":\"hi\"}},"
        "\"r\":{\"type\":\"Relationship\",\"object\":\"urn:y\",\"objectType\":\"T\"},"
        "\"p\":[{\"type\":\"Property\",\"value\":1,\"datasetId\":\"urn:d\"},"
        "{\"type\":\"Property\",\"value\":2,\"unitCode\":\"C\",\"valueType\":\"V\","
        "\"sub\":{\"type\":\"VocabProperty\",\"vocab\":\"x\"}}]}";
    check(e, 109, 0, e); /* current: unchanged */
    check(e, 108, 0,
          "{\"id\":\"urn:x:1\",\"type\":[\"A\",\"B\"],\"scope\":\"/s\","
          "\"j\":{\"type\":\"JsonProperty\",\"json\":{\"k\":1},\"previousJson\":{\"k\":0}},"
          "\"l\":{\"type\":\"LanguageProperty\",\"languageMap\":{\"en\":\"hi\"}},"
          "\"r\":{\"type\":\"Relationship\",\"object\":\"urn:y\",\"objectType\":\"T\"},"
          "\"p\":[{\"type\":\"Property\",\"value\":1,\"datasetId\":\"urn:d\"},"
          "{\"type\":\"Property\",\"value\":2,\"unitCode\":\"C\","
          "\"sub\":{\"type\":\"VocabProperty\",\"vocab\":\"x\"}}]}");
    check(e, 103, 0,
          "{\"id\":\"urn:x:1\",\"type\":[\"A\",\"B\"],"
          "\"j\":{\"type\":\"Property\",\"value\":{\"k\":1},\"previousValue\":{\"k\":0}},"
          "\"l\":{\"type\":\"Property\",\"value\":{\"en\":\"hi\"}},"
          "\"r\":{\"type\":\"Relationship\",\"object\":\"urn:y\"},"
          "\"p\":[{\"type\":\"Property\",\"value\":1,\"datasetId\":\"urn:d\"},"
          "{\"type\":\"Property\",\"value\":2,\"unitCode\":\"C\","
          "\"sub\":{\"type\":\"Property\",\"value\":\"x\"}}]}");
    check(e, 100, 0,
          "{\"id\":\"urn:x:1\",\"type\":\"A\","
          "\"j\":{\"type\":\"Property\",\"value\":{\"k\":1},\"previousValue\":{\"k\":0}},"
          "\"l\":{\"type\":\"Property\",\"value\":{\"en\":\"hi\"}},"
          "\"r\":{\"type\":\"Relationship\",\"object\":\"urn:y\"},"
          "\"p\":{\"type\":\"Property\",\"value\":2,"
          "\"sub\":{\"type\":\"Property\",\"value\":\"x\"}}}");
    /* simplified: entity-level fallbacks only */
    check("{\"id\":\"urn:x:1\",\"type\":\"A\",\"scope\":\"/s\",\"l\":{\"languageMap\":{}}}", 103, 1,
          "{\"id\":\"urn:x:1\",\"type\":\"A\",\"l\":{\"languageMap\":{}}}");
    /* concise: the kind comes from the payload member */
    check("{\"id\":\"urn:x:1\",\"type\":\"A\",\"l\":{\"languageMap\":{\"en\":\"x\"}},"
          "\"o\":{\"objectList\":[\"urn:a\"]},\"v\":3}",
          103, 0,
          "{\"id\":\"urn:x:1\",\"type\":\"A\",\"l\":{\"value\":{\"en\":\"x\"}},"
          "\"o\":{\"object\":[\"urn:a\"]},\"v\":3}");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(version_parses_major_dot_minor),
        cmocka_unit_test(fallbacks_by_version),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
