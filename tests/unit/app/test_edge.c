/* SPDX-License-Identifier: Apache-2.0 */
/* Unit tests of app/edge.c: protected mode (issue 12) and the edge defaults per profile. No
 * socket is opened: the decision is checked on configurations only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "app/edge.h"
#include "base/log.h"

static void cfg_for(struct pl_config *c, const char *host, const char *auth, int insecure)
{
    char *argv[] = {"polis", NULL};
    assert_int_equal(pl_config_load(c, 1, argv), PL_CONFIG_RUN);
    snprintf(c->listen_host, sizeof c->listen_host, "%s", host);
    snprintf(c->auth, sizeof c->auth, "%s", auth);
    c->insecure = insecure;
}

static void auth_off_refuses_a_non_loopback_address_naming_the_ways_out(void **state)
{
    (void)state;
    struct pl_config c;
    struct pl_err e;
    const char *hosts[] = {"0.0.0.0", "::", "192.0.2.1", "example.org"};
    for (size_t i = 0; i < sizeof hosts / sizeof hosts[0]; i++) {
        cfg_for(&c, hosts[i], "off", 0);
        pl_err_clear(&e);
        assert_int_not_equal(pl_app_edge_check(&c, &e), 0);
        assert_non_null(strstr(e.detail, "--insecure"));
        assert_non_null(strstr(e.detail, "--auth on"));
    }
}

static void auth_off_allows_loopback_and_insecure_allows_any(void **state)
{
    (void)state;
    struct pl_config c;
    struct pl_err e;
    cfg_for(&c, "127.0.0.1", "off", 0);
    assert_int_equal(pl_app_edge_check(&c, &e), 0);
    cfg_for(&c, "::1", "off", 0);
    assert_int_equal(pl_app_edge_check(&c, &e), 0);
    cfg_for(&c, "0.0.0.0", "off", 1);
    assert_int_equal(pl_app_edge_check(&c, &e), 0);
    cfg_for(&c, "0.0.0.0", "on", 0);
    assert_int_equal(pl_app_edge_check(&c, &e), 0);
}

static void tls_cert_without_key_is_refused(void **state)
{
    (void)state;
    struct pl_config c;
    struct pl_err e;
    cfg_for(&c, "127.0.0.1", "off", 0);
    snprintf(c.tls_cert, sizeof c.tls_cert, "/tmp/cert.pem");
    assert_int_not_equal(pl_app_edge_check(&c, &e), 0);
    assert_non_null(strstr(e.detail, "--tls-key"));
}

static void limits_are_off_by_default_and_on_in_production(void **state)
{
    (void)state;
    struct pl_config c;
    struct pl_http_config h;
    cfg_for(&c, "127.0.0.1", "off", 0);
    memset(&h, 0, sizeof h);
    pl_app_edge_http_config(&c, &h);
    assert_int_equal(h.rate_principal, 0);
    assert_int_equal(h.rate_addr, 0);
    assert_true(h.header_timeout_s > 0 && h.body_timeout_s > 0 && h.max_conns_per_addr > 0);
    snprintf(c.profile, sizeof c.profile, "production");
    pl_app_edge_http_config(&c, &h);
    assert_true(h.rate_principal > 0 && h.rate_principal_burst >= h.rate_principal);
    assert_true(h.rate_addr > 0 && h.rate_addr_burst >= h.rate_addr);
    c.rate_limit = 0; /* an explicit 0 wins over the profile */
    c.rate_limit_addr = 7;
    pl_app_edge_http_config(&c, &h);
    assert_int_equal(h.rate_principal, 0);
    assert_int_equal(h.rate_addr, 7);
    assert_int_equal(h.rate_addr_burst, 14);
}

int main(void)
{
    pl_log_set_level(PL_LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(auth_off_refuses_a_non_loopback_address_naming_the_ways_out),
        cmocka_unit_test(auth_off_allows_loopback_and_insecure_allows_any),
        cmocka_unit_test(tls_cert_without_key_is_refused),
        cmocka_unit_test(limits_are_off_by_default_and_on_in_production),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
