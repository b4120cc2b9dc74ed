/* SPDX-License-Identifier: Apache-2.0 */
/* err.c — look-ups and the ProblemDetails writer generated from PL_ERR_MAP. */
#include "base/err.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct row {
    int code;
    const char *suffix;
    const char *uri;
    int status;
    const char *title;
};

static const struct row rows[] = {
#define XXP(c, t, s, ti) {PL_E##c, t, "urn:polis:error:" t, s, ti},
    PL_ERR_MAP_POLIS(XXP)
#undef XXP
#define XX(c, t, s, ti) {PL_E##c, t, "https://uri.etsi.org/ngsi-ld/errors/" t, s, ti},
    PL_ERR_MAP(XX)
#undef XX
};

static const struct row *find(int code)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (rows[i].code == code)
            return &rows[i];
    }
    return &rows[sizeof rows / sizeof rows[0] - 1]; /* InternalError: PL_ERR_MAP's last row */
}

void pl_err_clear(struct pl_err *e)
{
    if (e) {
        e->code = PL_OK;
        e->detail[0] = '\0';
    }
}

int pl_err_set(struct pl_err *e, int code, const char *fmt, ...)
{
    if (e) {
        va_list ap;
        e->code = code;
        va_start(ap, fmt);
        vsnprintf(e->detail, sizeof e->detail, fmt, ap);
        va_end(ap);
    }
    return code;
}

const char *pl_err_type_suffix(int code)
{
    return find(code)->suffix;
}

const char *pl_err_type_uri(int code)
{
    return find(code)->uri;
}

const char *pl_err_title(int code)
{
    return find(code)->title;
}

int pl_err_http_status(int code)
{
    return find(code)->status;
}

char *pl_err_problem_json(const struct pl_err *e)
{
    int code = e ? e->code : PL_EINTERNAL;
    const struct row *r = find(code);
    const char *detail = (e && e->detail[0]) ? e->detail : r->title;
    json_t *o = json_pack("{s:s, s:s, s:s, s:i}", "type", r->uri, "title", r->title, "detail",
                          detail, "status", r->status);
    if (!o) {
        /* The detail was not valid UTF-8: say so rather than fail. */
        o = json_pack("{s:s, s:s, s:s, s:i}", "type", r->uri, "title", r->title, "detail",
                      "(detail not representable)", "status", r->status);
        if (!o)
            return NULL;
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}
