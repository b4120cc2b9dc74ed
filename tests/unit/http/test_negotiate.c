/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of http/negotiate.c: Accept, Content-Type and Link (NGSI-LD 6.3.4, 6.3.5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include <stdlib.h>

#include "http/http.h"
#include "http/negotiate.h"

static void accept_absent_means_json_6_3_4(void **state)
{
    (void)state;
    assert_int_equal(pl_negotiate_accept(NULL, 0), PL_MIME_JSON);
    assert_int_equal(pl_negotiate_accept("", 1), PL_MIME_JSON);
}

static void accept_wildcards_expand_to_json_first(void **state)
{
    (void)state;
    assert_int_equal(pl_negotiate_accept("*/*", 1), PL_MIME_JSON);
    assert_int_equal(pl_negotiate_accept("application/*", 0), PL_MIME_JSON);
    assert_int_equal(pl_negotiate_accept("text/html, */*;q=0.1", 0), PL_MIME_JSON);
}

static void accept_q_weights_are_honoured(void **state)
{
    (void)state;
    assert_int_equal(pl_negotiate_accept("application/json;q=0.5, application/ld+json", 0),
                     PL_MIME_LDJSON);
    assert_int_equal(pl_negotiate_accept("application/ld+json;q=0.2,application/json;q=0.9", 0),
                     PL_MIME_JSON);
    assert_int_equal(pl_negotiate_accept("application/json;q=0", 0), PL_MIME_NONE);
}

static void accept_geojson_only_where_allowed(void **state)
{
    (void)state;
    assert_int_equal(pl_negotiate_accept("application/geo+json", 1), PL_MIME_GEOJSON);
    assert_int_equal(pl_negotiate_accept("application/geo+json", 0), PL_MIME_NONE);
    assert_int_equal(pl_negotiate_accept("APPLICATION/LD+JSON", 0), PL_MIME_LDJSON);
}

static void accept_unsupported_gives_none(void **state)
{
    (void)state;
    assert_int_equal(pl_negotiate_accept("text/html", 0), PL_MIME_NONE);
    assert_int_equal(pl_negotiate_accept("application/xml, text/plain", 1), PL_MIME_NONE);
}

static void content_type_ignores_parameters(void **state)
{
    (void)state;
    assert_int_equal(pl_negotiate_content_type("application/json; charset=utf-8"), PL_MIME_JSON);
    assert_int_equal(pl_negotiate_content_type("application/ld+json"), PL_MIME_LDJSON);
    assert_int_equal(pl_negotiate_content_type("application/merge-patch+json"),
                     PL_MIME_MERGE_PATCH);
    assert_int_equal(pl_negotiate_content_type("text/plain"), PL_MIME_OTHER);
    assert_int_equal(pl_negotiate_content_type(NULL), PL_MIME_NONE);
}

static void link_finds_the_context_link(void **state)
{
    (void)state;
    char buf[256];
    const char *h = "<https://example.org/ctx.jsonld>; rel=\"http://www.w3.org/ns/json-ld#context\";"
                    " type=\"application/ld+json\"";
    assert_int_equal(pl_negotiate_context_link(h, buf, sizeof buf), 1);
    assert_string_equal(buf, "https://example.org/ctx.jsonld");
}

static void link_skips_other_relations(void **state)
{
    (void)state;
    char buf[256];
    const char *h = "<https://a/next>; rel=\"next\", <https://b/c.jsonld>; "
                    "rel=\"http://www.w3.org/ns/json-ld#context\"";
    assert_int_equal(pl_negotiate_context_link(h, buf, sizeof buf), 1);
    assert_string_equal(buf, "https://b/c.jsonld");
    assert_int_equal(pl_negotiate_context_link("<https://a/next>; rel=\"next\"", buf, sizeof buf),
                     0);
}

static void link_rejects_malformed_headers(void **state)
{
    (void)state;
    char buf[16];
    assert_int_equal(pl_negotiate_context_link("https://no-brackets", buf, sizeof buf), -1);
    assert_int_equal(pl_negotiate_context_link("<https://unterminated", buf, sizeof buf), -1);
    assert_int_equal(pl_negotiate_context_link("<https://far-too-long-for-the-buffer/x>; "
                                               "rel=\"http://www.w3.org/ns/json-ld#context\"",
                                               buf, sizeof buf),
                     -1);
}

static void link_rejects_two_context_links_and_near_misses(void **state)
{
    (void)state;
    char buf[256];
    const char *two = "<https://a/1>; rel=\"http://www.w3.org/ns/json-ld#context\", "
                      "<https://a/2>; rel=\"http://www.w3.org/ns/json-ld#context\"";
    assert_int_equal(pl_negotiate_context_link(two, buf, sizeof buf), -1);
    /* A relation that merely starts with the context IRI is another relation (review
     * 2026-11-23). */
    assert_int_equal(pl_negotiate_context_link(
                         "<https://a/1>; rel=\"http://www.w3.org/ns/json-ld#contextX\"", buf,
                         sizeof buf),
                     0);
    /* One of several space-separated relation types. */
    assert_int_equal(pl_negotiate_context_link(
                         "<https://a/3>; rel=\"alternate http://www.w3.org/ns/json-ld#context\"",
                         buf, sizeof buf),
                     1);
    assert_string_equal(buf, "https://a/3");
}

static void encode_segment_escapes_slashes_and_percent(void **state)
{
    (void)state;
    char *e = pl_http_encode_segment("urn:ngsi-ld:A/B?c#d%e f");
    assert_string_equal(e, "urn:ngsi-ld:A%2FB%3Fc%23d%25e%20f");
    free(e);
}

static void prefer_version_is_found_among_preferences_6_3_6(void **state)
{
    (void)state;
    char v[16];
    assert_int_equal(pl_negotiate_prefer_version("ngsi-ld=1.9", v, sizeof v), 1);
    assert_string_equal(v, "1.9");
    assert_int_equal(pl_negotiate_prefer_version("respond-async, NGSI-LD = \"1.6\"", v, sizeof v),
                     1);
    assert_string_equal(v, "1.6");
    assert_int_equal(pl_negotiate_prefer_version("body=json; x=\"a,b\", ngsi-ld=1.10;p=1", v,
                                                 sizeof v),
                     1);
    assert_string_equal(v, "1.10");
}

static void prefer_version_ignores_malformed_values(void **state)
{
    (void)state;
    char v[16];
    assert_int_equal(pl_negotiate_prefer_version(NULL, v, sizeof v), 0);
    assert_int_equal(pl_negotiate_prefer_version("body=json", v, sizeof v), 0);
    assert_int_equal(pl_negotiate_prefer_version("ngsi-ld", v, sizeof v), 0);
    assert_int_equal(pl_negotiate_prefer_version("ngsi-ld=1", v, sizeof v), 0);
    assert_int_equal(pl_negotiate_prefer_version("ngsi-ld=v1.9", v, sizeof v), 0);
    assert_int_equal(pl_negotiate_prefer_version("ngsi-ld=1.9.1", v, sizeof v), 0);
    assert_int_equal(pl_negotiate_prefer_version("ngsi-ldx=1.9", v, sizeof v), 0);
    assert_int_equal(pl_negotiate_prefer_version("ngsi-ld=1.9", v, 3), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accept_absent_means_json_6_3_4),
        cmocka_unit_test(accept_wildcards_expand_to_json_first),
        cmocka_unit_test(accept_q_weights_are_honoured),
        cmocka_unit_test(accept_geojson_only_where_allowed),
        cmocka_unit_test(accept_unsupported_gives_none),
        cmocka_unit_test(content_type_ignores_parameters),
        cmocka_unit_test(link_finds_the_context_link),
        cmocka_unit_test(link_skips_other_relations),
        cmocka_unit_test(link_rejects_malformed_headers),
        cmocka_unit_test(link_rejects_two_context_links_and_near_misses),
        cmocka_unit_test(encode_segment_escapes_slashes_and_percent),
        cmocka_unit_test(prefer_version_is_found_among_preferences_6_3_6),
        cmocka_unit_test(prefer_version_ignores_malformed_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
