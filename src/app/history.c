/* SPDX-License-Identifier: Apache-2.0 */
/* history.c — the --history* options as a store history policy (history.h). */
#include "app/history.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "auth/tenant.h"
#include "query/temporalq.h"

#define DEFAULT_VOCAB "https://uri.etsi.org/ngsi-ld/default-context/"
/* A calendar month as a maximum age: the mean Gregorian month, 30.436875 days. */
#define MONTH_MS INT64_C(2629746000)

/* Keeps `s` (NEW malloc'd, may be NULL) in h; returns it. */
static char *keep(struct pl_app_history *h, char *s)
{
    if (!s)
        return NULL;
    char **x = realloc(h->strs, (h->n_strs + 1) * sizeof *x);
    if (!x) {
        free(s);
        return NULL;
    }
    h->strs = x;
    h->strs[h->n_strs++] = s;
    return s;
}

/* A type IRI from an option: IRIs as they are, terms against the core @vocab. */
static char *type_iri(struct pl_app_history *h, const char *t)
{
    if (strchr(t, ':'))
        return keep(h, strdup(t));
    size_t n = strlen(DEFAULT_VOCAB) + strlen(t) + 1;
    char *s = malloc(n);
    if (s) {
        memcpy(s, DEFAULT_VOCAB, strlen(DEFAULT_VOCAB));
        memcpy(s + strlen(DEFAULT_VOCAB), t, strlen(t) + 1);
    }
    return keep(h, s);
}

/* Splits a comma-separated list in place into trimmed, non-empty items. */
static size_t split(char *list, char **items, size_t max)
{
    size_t n = 0;
    for (char *p = list; p && *p && n < max;) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = 0;
        while (*p == ' ')
            p++;
        char *e = p + strlen(p);
        while (e > p && e[-1] == ' ')
            *--e = 0;
        if (*p)
            items[n++] = p;
        p = comma ? comma + 1 : NULL;
    }
    return n;
}

#define MAX_ITEMS 256

int pl_app_history_init(struct pl_app_history *h, const struct pl_config *cfg, struct pl_err *err)
{
    memset(h, 0, sizeof *h);
    if (strcmp(cfg->history, "off") == 0)
        h->pol.off = 1;
    else if (strcmp(cfg->history, "on") != 0)
        return pl_err_set(err, PL_EBADREQUESTDATA, "--history: want on or off, not '%s'",
                          cfg->history);
    h->pol.purge_on_delete = cfg->history_purge_on_delete;
    char *items[MAX_ITEMS];

    char *list = keep(h, strdup(cfg->history_off_tenants));
    size_t n = list ? split(list, items, MAX_ITEMS) : 0;
    if (!list || !(h->tenants = calloc(n + 1, sizeof *h->tenants)))
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        if (strcmp(items[i], "-") != 0 && !pl_tenant_name_valid(items[i]))
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "--history-off-tenants: '%.64s' is not a tenant name (" PL_TENANT_RULE
                              ")",
                              items[i]);
        h->tenants[i] = strcmp(items[i], "-") == 0 ? "" : items[i];
    }
    h->pol.off_tenants = h->tenants;
    h->pol.n_off_tenants = n;

    list = keep(h, strdup(cfg->history_off_types));
    n = list ? split(list, items, MAX_ITEMS) : 0;
    if (!list || !(h->types = calloc(n + 1, sizeof *h->types)))
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        if (!(h->types[i] = type_iri(h, items[i])))
            return pl_err_set(err, PL_ENOMEM, "out of memory");
    h->pol.off_types = h->types;
    h->pol.n_off_types = n;

    list = keep(h, strdup(cfg->history_retention));
    n = list ? split(list, items, MAX_ITEMS) : 0;
    if (!list || !(h->rules = calloc(n + 1, sizeof *h->rules)))
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++) {
        char *eq = strchr(items[i], '=');
        if (!eq || eq == items[i] || !eq[1])
            return pl_err_set(err, PL_EBADREQUESTDATA,
                              "--history-retention: '%s' is not TYPE=LIMIT", items[i]);
        *eq = 0;
        const char *limit = eq + 1;
        struct pl_hist_retention *r = &h->rules[i];
        if (strcmp(items[i], "*") != 0 && !(r->type = type_iri(h, items[i])))
            return pl_err_set(err, PL_ENOMEM, "out of memory");
        if (limit[0] == 'P') {
            int months = 0;
            int64_t ms = 0;
            if (pl_iso_duration_parse(limit, &months, &ms, err) != 0)
                return pl_err_set(err, PL_EBADREQUESTDATA, "--history-retention: %s", err->detail);
            r->max_age_ms = months * MONTH_MS + ms;
        } else {
            char *end;
            errno = 0;
            long long c = strtoll(limit, &end, 10);
            if (errno || *end || c <= 0)
                return pl_err_set(err, PL_EBADREQUESTDATA,
                                  "--history-retention: '%s' is neither an ISO 8601 duration "
                                  "nor a positive count",
                                  limit);
            r->max_count = c;
        }
        if (r->max_age_ms <= 0 && r->max_count <= 0)
            return pl_err_set(err, PL_EBADREQUESTDATA, "--history-retention: '%s' keeps nothing",
                              limit);
    }
    h->pol.retention = h->rules;
    h->pol.n_retention = n;
    return 0;
}

void pl_app_history_free(struct pl_app_history *h)
{
    for (size_t i = 0; i < h->n_strs; i++)
        free(h->strs[i]);
    free(h->strs);
    free(h->tenants);
    free(h->types);
    free(h->rules);
    memset(h, 0, sizeof *h);
}
