/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of http/listen.c: listen addresses and the loopback check of protected mode. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <string.h>

#include "http/http.h"

static void loopback_is_127_slash_8_ipv6_one_and_localhost(void **state)
{
    (void)state;
    const char *yes[] = {"127.0.0.1", "127.0.0.5", "127.255.255.254", "::1", "[::1]",
                         "localhost", "LocalHost", "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        assert_true(pl_http_host_is_loopback(yes[i]));
}

static void wildcard_private_public_and_names_are_not_loopback(void **state)
{
    (void)state;
    const char *no[] = {"0.0.0.0", "::",        "[::]",          "128.0.0.1", "126.255.255.255",
                        "",        "127.1",     "localhost.evil", "example.org", "::2",
                        "[::1",    "::ffff:10.0.0.1", "127.0.0.1 "};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_false(pl_http_host_is_loopback(no[i]));
    assert_false(pl_http_host_is_loopback(NULL));
}

static void listen_addresses_parse_v4_v6_and_localhost(void **state)
{
    (void)state;
    struct sockaddr_storage ss;
    assert_int_equal(pl_http_listen_addr("localhost", 1026, &ss), 0);
    assert_int_equal(ss.ss_family, AF_INET);
    assert_int_equal(ntohs(((struct sockaddr_in *)(void *)&ss)->sin_port), 1026);
    assert_int_equal(pl_http_listen_addr("[::1]", 80, &ss), 0);
    assert_int_equal(ss.ss_family, AF_INET6);
    assert_int_equal(pl_http_listen_addr("::1", 80, &ss), 0);
    assert_int_equal(pl_http_listen_addr("example.org", 80, &ss), -1);
    assert_int_equal(pl_http_listen_addr("127.0.0.1", 70000, &ss), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loopback_is_127_slash_8_ipv6_one_and_localhost),
        cmocka_unit_test(wildcard_private_public_and_names_are_not_loopback),
        cmocka_unit_test(listen_addresses_parse_v4_v6_and_localhost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
