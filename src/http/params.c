/* SPDX-License-Identifier: Apache-2.0 */
/*
 * params.c — the check of one URI parameter against the list its route accepts (NGSI-LD 6.3.7
 * and the URL parameter tables of clause 6). Pure: the parameter phase of server.c feeds it the
 * decoded parameters of a request one by one.
 */
#include <stdio.h>
#include <string.h>

#include "http/http.h"

/* The row of `accepted` named `name`, or -1. */
static int find(const struct pl_param *accepted, const char *name)
{
    for (int i = 0; accepted[i].name; i++)
        if (strcmp(accepted[i].name, name) == 0)
            return i;
    return -1;
}

static int allowed(const char *const *values, const char *s, size_t n)
{
    for (size_t i = 0; values[i]; i++)
        if (strlen(values[i]) == n && strncmp(values[i], s, n) == 0)
            return 1;
    return 0;
}

/* "a, b, c" of `values` into buf (truncated to its size). */
static void join(const char *const *values, char *buf, size_t cap)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; values[i] && n + 1 < cap; i++) {
        int w = snprintf(buf + n, cap - n, "%s%s", i ? ", " : "", values[i]);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

static int bad_value(const struct pl_param *p, const char *value, struct pl_err *err)
{
    char list[256];
    join(p->values, list, sizeof list);
    return pl_err_set(
        err, PL_EINVALIDREQUEST, "invalid value '%.100s' of URI parameter %s (%s%s)", value,
        p->name, (p->flags & PL_PARAM_LIST) ? "a comma-separated list of: " : "one of: ", list);
}

int pl_http_param_check(const struct pl_param *accepted, const char *name, const char *value,
                        unsigned long long *seen, struct pl_err *err)
{
    int i = find(accepted, name);
    if (i < 0)
        return pl_err_set(err, PL_EINVALIDREQUEST,
                          "unknown URI parameter '%.100s' for this operation", name);
    const struct pl_param *p = &accepted[i];
    unsigned long long bit = i < 64 ? 1ULL << i : 0;
    if (*seen & bit)
        return pl_err_set(err, PL_EINVALIDREQUEST, "URI parameter %s is given more than once",
                          p->name);
    *seen |= bit;
    if (p->flags & PL_PARAM_NOT_IMPLEMENTED)
        return pl_err_set(err, PL_ENOTIMPLEMENTED,
                          "URI parameter %s is not implemented by this broker", p->name);
    if (!p->values)
        return 0;
    if (!(p->flags & PL_PARAM_LIST))
        return allowed(p->values, value, strlen(value)) ? 0 : bad_value(p, value, err);
    const char *s = value;
    for (;;) {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        if (!allowed(p->values, s, n))
            return bad_value(p, value, err);
        if (!comma)
            return 0;
        s = comma + 1;
    }
}
