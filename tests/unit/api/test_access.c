/* SPDX-License-Identifier: Apache-2.0 */
/* The route access table (api/access.h): every route of api/routes.c is classified, the
 * admin-only routes are admin only, reads are reads, and a route nobody classified is closed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "api/access.h"
#include "api/api.h"

static const struct pl_route *find(enum pl_method m, const char *pattern)
{
    for (size_t i = 0; i < pl_api_n_routes; i++) {
        if (pl_api_routes[i].method == m && strcmp(pl_api_routes[i].pattern, pattern) == 0)
            return &pl_api_routes[i];
    }
    fail_msg("no route %d %s", (int)m, pattern);
    return NULL;
}

static void admin_only_routes_require_admin(void **state)
{
    (void)state;
    assert_int_equal(pl_api_route_action(find(PL_M_DELETE, "/ngsi-ld/v1/jsonldContexts/*")),
                     PL_AUTHZ_CONTEXT_DELETE);
    assert_int_equal(pl_api_route_action(find(PL_M_DELETE, "/ngsi-ld/v1/entities")),
                     PL_AUTHZ_PURGE);
    assert_int_equal(pl_api_route_action(find(PL_M_GET, "/metrics")), PL_AUTHZ_METRICS);
    /* and those actions are the admin's alone */
    struct pl_principal *op = pl_principal_new(PL_ROLE_OPERATOR, PL_CRED_TOKEN, "op", "");
    struct pl_err e;
    assert_int_equal(pl_authz_check(op, "", PL_AUTHZ_CONTEXT_DELETE, NULL, &e), PL_EFORBIDDEN);
    assert_int_equal(pl_authz_check(op, "", PL_AUTHZ_PURGE, NULL, &e), PL_EFORBIDDEN);
    assert_int_equal(pl_authz_check(op, "", PL_AUTHZ_METRICS, NULL, &e), PL_EFORBIDDEN);
    pl_principal_unref(op);
}

static void health_and_version_are_anonymous(void **state)
{
    (void)state;
    assert_int_equal(pl_api_route_action(find(PL_M_GET, "/health")), PL_AUTHZ_ANONYMOUS);
    assert_int_equal(pl_api_route_action(find(PL_M_GET, "/version")), PL_AUTHZ_ANONYMOUS);
}

/* Every NGSI-LD route is in the table: a GET is a read, a write is never the closed default
 * (a new write route must be classified in api/access.c, this test says so). */
static void every_ngsild_route_is_classified(void **state)
{
    (void)state;
    for (size_t i = 0; i < pl_api_n_routes; i++) {
        const struct pl_route *rt = &pl_api_routes[i];
        if (strncmp(rt->pattern, "/ngsi-ld/", 9) != 0)
            continue;
        enum pl_authz_action a = pl_api_route_action(rt);
        if (rt->method == PL_M_GET)
            assert_true(a == PL_AUTHZ_READ ||
                        (a == PL_AUTHZ_SUB_READ && strstr(rt->pattern, "/subscriptions")));
        else if (a == PL_AUTHZ_READ || a == PL_AUTHZ_ANONYMOUS || a == PL_AUTHZ_ADMIN)
            if (!(rt->method == PL_M_POST && strstr(rt->pattern, "/query")))
                fail_msg("write route %s is not classified in api/access.c", rt->pattern);
    }
}

static void unclassified_routes_are_closed_and_polis_admin_api_is_admin(void **state)
{
    (void)state;
    struct pl_route users = {PL_M_GET, "/polis/v1/users", 0, NULL, NULL};
    struct pl_route token = {PL_M_POST, "/auth/token", 0, NULL, NULL};
    struct pl_route other_get = {PL_M_GET, "/somewhere", 0, NULL, NULL};
    struct pl_route other_post = {PL_M_POST, "/somewhere", 0, NULL, NULL};
    assert_int_equal(pl_api_route_action(&users), PL_AUTHZ_ADMIN);
    assert_int_equal(pl_api_route_action(&token), PL_AUTHZ_ANONYMOUS);
    assert_int_equal(pl_api_route_action(&other_get), PL_AUTHZ_READ);
    assert_int_equal(pl_api_route_action(&other_post), PL_AUTHZ_ADMIN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(admin_only_routes_require_admin),
        cmocka_unit_test(health_and_version_are_anonymous),
        cmocka_unit_test(every_ngsild_route_is_classified),
        cmocka_unit_test(unclassified_routes_are_closed_and_polis_admin_api_is_admin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
