/* SPDX-License-Identifier: Apache-2.0 */
/* The outbound guard's pure core (net/guard.h): network parsing and matching, IPv4-mapped IPv6,
 * the default lists, the production profile, precedence, schemes and URL literals. No
 * connection is attempted: the addresses below are only matched against lists. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "net/guard.h"

static int ip(const char *s, uint8_t out[16])
{
    return pl_ip_parse(s, out);
}

/* 0 allowed, -1 denied */
static int check(const struct pl_guard *g, const char *addr)
{
    uint8_t a[16];
    char why[256];
    assert_int_equal(ip(addr, a), 0);
    return pl_guard_check_ip(g, a, why, sizeof why);
}

static struct pl_guard *guard(const char *allow, const char *deny, int production)
{
    struct pl_guard_config cfg = {allow, deny, production};
    struct pl_guard *g = NULL;
    char why[256];
    assert_int_equal(pl_guard_new(&cfg, &g, why, sizeof why), 0);
    return g;
}

static void cidr_parsing_accepts_ipv4_ipv6_and_bare_hosts(void **state)
{
    (void)state;
    struct pl_netlist l;
    char why[200];
    assert_int_equal(
        pl_netlist_parse("127.0.0.5/32, fe80::/10\t10.0.0.0/8 ::ffff:192.0.2.0/120,192.0.2.7 ,",
                         &l, why, sizeof why),
        0);
    assert_int_equal(l.n, 5);
    char t[64];
    pl_net_format(&l.nets[0], t, sizeof t);
    assert_string_equal(t, "127.0.0.5/32");
    pl_net_format(&l.nets[1], t, sizeof t);
    assert_string_equal(t, "fe80::/10");
    pl_net_format(&l.nets[3], t, sizeof t);
    assert_string_equal(t, "192.0.2.0/24"); /* the mapped form is the IPv4 network */
    pl_net_format(&l.nets[4], t, sizeof t);
    assert_string_equal(t, "192.0.2.7/32");
    pl_netlist_free(&l);
    assert_int_equal(pl_netlist_parse("", &l, why, sizeof why), 0);
    assert_int_equal(l.n, 0);
    assert_int_equal(pl_netlist_parse(NULL, &l, why, sizeof why), 0);
}

static void cidr_parsing_refuses_malformed_networks(void **state)
{
    (void)state;
    static const char *const bad[] = {"10.0.0.0/33", "fe80::/129", "10.0.0.0/", "10.0.0.0/8/8",
                                      "10/8",        "0x0a.0.0.1", "host.example", "1.2.3.4/-1",
                                      "::gg",        "/8",         "1.2.3.4/1a",  "[::1]"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        struct pl_netlist l = {NULL, 5};
        char why[200] = "";
        assert_int_equal(pl_netlist_parse(bad[i], &l, why, sizeof why), -1);
        assert_null(l.nets);
        assert_int_equal(l.n, 0);
        assert_non_null(strstr(why, "not an IPv4 or IPv6 network"));
    }
}

static void cidr_host_bits_are_cleared(void **state)
{
    (void)state;
    struct pl_net n;
    assert_int_equal(pl_net_parse("10.1.2.3/8", 10, &n), 0);
    char t[64];
    pl_net_format(&n, t, sizeof t);
    assert_string_equal(t, "10.0.0.0/8");
    assert_int_equal(pl_net_parse("fe80::1234/10", 13, &n), 0);
    pl_net_format(&n, t, sizeof t);
    assert_string_equal(t, "fe80::/10");
}

static void cidr_matching_respects_prefix_bits(void **state)
{
    (void)state;
    struct pl_net n;
    uint8_t a[16];
    assert_int_equal(pl_net_parse("172.16.0.0/12", 13, &n), 0);
    assert_int_equal(ip("172.31.255.255", a), 0);
    assert_true(pl_net_contains(&n, a));
    assert_int_equal(ip("172.32.0.0", a), 0);
    assert_false(pl_net_contains(&n, a));
    assert_int_equal(ip("172.15.255.255", a), 0);
    assert_false(pl_net_contains(&n, a));
    assert_int_equal(pl_net_parse("0.0.0.0/0", 9, &n), 0);
    assert_int_equal(ip("192.0.2.1", a), 0);
    assert_true(pl_net_contains(&n, a));
    assert_int_equal(ip("2001:db8::1", a), 0);
    assert_false(pl_net_contains(&n, a)); /* an IPv4 "everything" is not every IPv6 address */
    assert_int_equal(pl_net_parse("::/0", 4, &n), 0);
    assert_true(pl_net_contains(&n, a));
}

static void ipv4_mapped_ipv6_is_the_ipv4_address(void **state)
{
    (void)state;
    struct pl_guard *g = guard(NULL, "127.0.0.5/32", 0);
    assert_int_equal(check(g, "127.0.0.5"), -1);
    assert_int_equal(check(g, "::ffff:127.0.0.5"), -1);
    assert_int_equal(check(g, "[::ffff:7f00:5]"), -1);
    assert_int_equal(check(g, "127.0.0.6"), 0);
    assert_int_equal(check(NULL, "::ffff:169.254.169.254"), -1);
    assert_int_equal(check(NULL, "64:ff9b::a9fe:a9fe"), -1); /* NAT64 of 169.254.169.254 */
    uint8_t a[16];
    assert_int_equal(ip("::ffff:10.0.0.1", a), 0);
    char t[64];
    pl_ip_format(a, t, sizeof t);
    assert_string_equal(t, "10.0.0.1");
    pl_guard_unref(g);
}

static void ip_literals_in_every_ipv4_form_are_addresses(void **state)
{
    (void)state;
    uint8_t a[16], b[16];
    assert_int_equal(ip("127.0.0.1", a), 0);
    static const char *const same[] = {"2130706433", "0x7f.1", "0177.0.0.1", "127.1"};
    for (size_t i = 0; i < 4; i++) {
        assert_int_equal(ip(same[i], b), 0);
        assert_memory_equal(a, b, 16);
    }
    assert_int_equal(ip("localhost", a), -1);
    assert_int_equal(ip("example.org", a), -1);
    assert_int_equal(ip("", a), -1);
}

static void defaults_deny_link_local_metadata_and_special_addresses(void **state)
{
    (void)state;
    static const char *const denied[] = {
        "169.254.169.254", "169.254.1.1",  "fe80::1",          "fd00:ec2::254", "100.100.100.200",
        "0.0.0.0",         "0.1.2.3",      "224.0.0.1",        "239.255.255.250", "ff02::1",
        "255.255.255.255", "240.0.0.1",    "::",               "::ffff:0.0.0.0"};
    struct pl_guard *g = guard(NULL, NULL, 0);
    for (size_t i = 0; i < sizeof denied / sizeof *denied; i++) {
        assert_int_equal(check(g, denied[i]), -1);
        assert_int_equal(check(NULL, denied[i]), -1); /* NULL guard: the same defaults */
    }
    /* without the production profile, private ranges and loopback are reachable */
    static const char *const allowed[] = {"10.0.0.1",  "172.16.0.1", "192.168.1.1", "fc00::1",
                                          "100.64.0.1", "127.0.0.1", "::1",          "192.0.2.1",
                                          "2001:db8::1"};
    for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++)
        assert_int_equal(check(g, allowed[i]), 0);
    pl_guard_unref(g);
}

static void default_refusal_says_why(void **state)
{
    (void)state;
    uint8_t a[16];
    char why[256];
    assert_int_equal(ip("169.254.169.254", a), 0);
    assert_int_equal(pl_guard_check_ip(NULL, a, why, sizeof why), -1);
    assert_non_null(strstr(why, "169.254.169.254"));
    assert_non_null(strstr(why, "cloud metadata"));
    struct pl_guard *g = guard(NULL, "127.0.0.5/32", 0);
    assert_int_equal(ip("127.0.0.5", a), 0);
    assert_int_equal(pl_guard_check_ip(g, a, why, sizeof why), -1);
    assert_string_equal(why, "address 127.0.0.5 is denied by --outbound-deny 127.0.0.5/32");
    pl_guard_unref(g);
}

static void production_profile_denies_private_ranges_and_loopback(void **state)
{
    (void)state;
    struct pl_guard *g = guard(NULL, NULL, 1);
    static const char *const denied[] = {"10.1.2.3",   "172.16.0.1", "172.31.255.255",
                                         "192.168.0.1", "100.64.0.1", "100.127.255.255",
                                         "fc00::1",     "fd12::1",    "127.0.0.1",
                                         "127.0.0.5",   "::1",        "::ffff:10.0.0.1",
                                         "169.254.169.254"};
    for (size_t i = 0; i < sizeof denied / sizeof *denied; i++)
        assert_int_equal(check(g, denied[i]), -1);
    assert_int_equal(check(g, "192.0.2.1"), 0);
    assert_int_equal(check(g, "172.32.0.1"), 0);
    assert_int_equal(check(g, "2001:db8::1"), 0);
    uint8_t a[16];
    char why[256];
    assert_int_equal(ip("10.0.0.1", a), 0);
    assert_int_equal(pl_guard_check_ip(g, a, why, sizeof why), -1);
    assert_non_null(strstr(why, "--profile production"));
    pl_guard_unref(g);
}

static void allow_wins_over_defaults_and_deny_wins_over_allow(void **state)
{
    (void)state;
    struct pl_guard *g = guard("10.0.0.0/8, 127.0.0.0/8, 169.254.0.0/16", "10.9.0.0/16", 1);
    assert_int_equal(check(g, "10.1.2.3"), 0);     /* allow lifts production's private */
    assert_int_equal(check(g, "127.0.0.1"), 0);    /* and its loopback */
    assert_int_equal(check(g, "10.9.1.1"), -1);    /* deny wins over allow */
    assert_int_equal(check(g, "169.254.1.1"), 0);  /* allow lifts link-local */
    assert_int_equal(check(g, "192.168.0.1"), -1); /* not allowed: production denies */
    /* a metadata address is lifted only by an allow entry naming it exactly */
    assert_int_equal(check(g, "169.254.169.254"), -1);
    pl_guard_unref(g);
    g = guard("169.254.169.254/32", NULL, 0);
    assert_int_equal(check(g, "169.254.169.254"), 0);
    assert_int_equal(check(g, "169.254.1.1"), -1);
    pl_guard_unref(g);
    g = guard("0.0.0.0/0, ::/0", "127.0.0.5", 0);
    assert_int_equal(check(g, "fd00:ec2::254"), -1); /* everything allowed, metadata still not */
    assert_int_equal(check(g, "0.0.0.0"), 0);
    assert_int_equal(check(g, "127.0.0.5"), -1);
    pl_guard_unref(g);
}

static void bad_option_lists_are_refused_naming_the_option(void **state)
{
    (void)state;
    struct pl_guard_config cfg = {"10.0.0.0/8", "nonsense", 0};
    struct pl_guard *g = (struct pl_guard *)1;
    char why[256];
    assert_int_equal(pl_guard_new(&cfg, &g, why, sizeof why), -1);
    assert_null(g);
    assert_non_null(strstr(why, "--outbound-deny"));
    cfg.allow = "1.2.3.4/40";
    cfg.deny = NULL;
    assert_int_equal(pl_guard_new(&cfg, &g, why, sizeof why), -1);
    assert_non_null(strstr(why, "--outbound-allow"));
}

static void schemes_other_than_http_https_mqtt_are_refused(void **state)
{
    (void)state;
    char why[200];
    assert_int_equal(pl_guard_check_scheme("http://h/", PL_GUARD_CONTEXT, why, sizeof why), 0);
    assert_int_equal(pl_guard_check_scheme("HTTPS://h/", PL_GUARD_CONTEXT, why, sizeof why), 0);
    assert_int_equal(pl_guard_check_scheme("mqtt://h/t", PL_GUARD_CONTEXT, why, sizeof why), -1);
    assert_int_equal(pl_guard_check_scheme("mqtt://h/t", PL_GUARD_NOTIFY, why, sizeof why), 0);
    assert_int_equal(pl_guard_check_scheme("mqtts://h/t", PL_GUARD_NOTIFY, why, sizeof why), 0);
    static const char *const bad[] = {"file:///etc/passwd", "ftp://h/x",  "gopher://h:70/_x",
                                      "dict://h:11211/x",   "ldap://h/",  "http:/h/",
                                      "httpx://h/",         "/relative",  "", "javascript:x"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(pl_guard_check_scheme(bad[i], PL_GUARD_NOTIFY, why, sizeof why), -1);
    assert_int_equal(pl_guard_check_scheme("gopher://h/", PL_GUARD_CONTEXT, why, sizeof why), -1);
    assert_non_null(strstr(why, "'gopher' is not allowed"));
}

static void url_literals_are_checked_and_names_left_to_connect_time(void **state)
{
    (void)state;
    struct pl_guard *g = guard(NULL, "127.0.0.5/32", 0);
    char why[200], h[256];
    assert_int_equal(pl_guard_url_host("mqtt://u:p@[::1]:1883/t", h, sizeof h), 0);
    assert_string_equal(h, "::1");
    assert_int_equal(pl_guard_url_host("http://a@b@host:80/x?y", h, sizeof h), 0);
    assert_string_equal(h, "host");
    assert_int_equal(pl_guard_url_host("http:///x", h, sizeof h), -1);
    assert_int_equal(pl_guard_check_url(g, "http://127.0.0.5:8080/n", PL_GUARD_NOTIFY, why,
                                        sizeof why),
                     -1);
    assert_int_equal(pl_guard_check_url(g, "mqtt://user:pw@127.0.0.5:1883/topic",
                                        PL_GUARD_NOTIFY, why, sizeof why),
                     -1);
    assert_int_equal(pl_guard_check_url(g, "http://[::ffff:127.0.0.5]/", PL_GUARD_NOTIFY, why,
                                        sizeof why),
                     -1);
    assert_int_equal(pl_guard_check_url(g, "http://2130706437/", PL_GUARD_NOTIFY, why,
                                        sizeof why),
                     -1); /* 127.0.0.5 as one number */
    assert_int_equal(pl_guard_check_url(g, "http://127.0.0.1:8080/n", PL_GUARD_NOTIFY, why,
                                        sizeof why),
                     0);
    assert_int_equal(pl_guard_check_url(g, "http://localhost/n", PL_GUARD_NOTIFY, why,
                                        sizeof why),
                     0);
    assert_int_equal(pl_guard_check_url(g, "http://[fe80::1]/", PL_GUARD_CONTEXT, why,
                                        sizeof why),
                     -1);
    pl_guard_unref(g);
}

static void references_keep_the_guard_alive(void **state)
{
    (void)state;
    struct pl_guard *g = guard(NULL, "127.0.0.5", 0);
    struct pl_guard *r = pl_guard_ref(g);
    assert_ptr_equal(r, g);
    pl_guard_unref(g);
    assert_int_equal(check(r, "127.0.0.5"), -1); /* still usable (ASan checks the memory) */
    pl_guard_unref(r);
    assert_null(pl_guard_ref(NULL));
    pl_guard_unref(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cidr_parsing_accepts_ipv4_ipv6_and_bare_hosts),
        cmocka_unit_test(cidr_parsing_refuses_malformed_networks),
        cmocka_unit_test(cidr_host_bits_are_cleared),
        cmocka_unit_test(cidr_matching_respects_prefix_bits),
        cmocka_unit_test(ipv4_mapped_ipv6_is_the_ipv4_address),
        cmocka_unit_test(ip_literals_in_every_ipv4_form_are_addresses),
        cmocka_unit_test(defaults_deny_link_local_metadata_and_special_addresses),
        cmocka_unit_test(default_refusal_says_why),
        cmocka_unit_test(production_profile_denies_private_ranges_and_loopback),
        cmocka_unit_test(allow_wins_over_defaults_and_deny_wins_over_allow),
        cmocka_unit_test(bad_option_lists_are_refused_naming_the_option),
        cmocka_unit_test(schemes_other_than_http_https_mqtt_are_refused),
        cmocka_unit_test(url_literals_are_checked_and_names_left_to_connect_time),
        cmocka_unit_test(references_keep_the_guard_alive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
