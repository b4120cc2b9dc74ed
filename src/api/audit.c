/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit.c — GET /polis/v1/audit?from=&to=&principal=&limit=&before= (api/tenants.h): the audit
 * log, newest first. from/to: DateTimes (inclusive); principal: a name; limit 1..1000 (default
 * 100); before: a row's "seq" (the next page starts below it; the Link header rel="next" names
 * it when the page is full).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/tenants.h"
#include "app/app.h"
#include "auth/audit.h"
#include "base/timeutil.h"
#include "http/http.h"
#include "store/store.h"

static int time_arg_or_reply(struct pl_req *r, const char *name, int64_t *out)
{
    const char *v = pl_req_arg(r, name);
    *out = PL_HIST_NONE;
    if (!v)
        return 0;
    if (pl_time_parse(v, out) == 0)
        return 0;
    pl_reply_error(r, PL_EBADREQUESTDATA, "%s: '%.64s' is not a DateTime", name, v);
    return -1;
}

static int int_arg_or_reply(struct pl_req *r, const char *name, long long lo, long long hi,
                            long long *out)
{
    const char *v = pl_req_arg(r, name);
    if (!v)
        return 0;
    char *end;
    long long n = strtoll(v, &end, 10);
    if (*v && !*end && n >= lo && n <= hi) {
        *out = n;
        return 0;
    }
    pl_reply_error(r, PL_EBADREQUESTDATA, "%s must be an integer %lld..%lld", name, lo, hi);
    return -1;
}

struct rows {
    json_t *out;
    int64_t last_seq;
};

static int add_row(void *ud, const struct pl_audit_rec *rec)
{
    struct rows *u = ud;
    char at[PL_TIME_ISO_LEN];
    pl_time_format(rec->at_ms, at);
    json_t *ids = rec->ids ? json_loads(rec->ids, 0, NULL) : NULL;
    json_array_append_new(
        u->out, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:o,s:i,s:s}", "seq", (json_int_t)rec->seq,
                          "time", at, "principal", rec->principal ? rec->principal : "", "role",
                          rec->role ? rec->role : "", "tenant", rec->tenant ? rec->tenant : "",
                          "method", rec->method ? rec->method : "", "path",
                          rec->path ? rec->path : "", "entityIds", ids ? ids : json_array(),
                          "status", rec->status, "client", rec->client ? rec->client : ""));
    u->last_seq = rec->seq;
    return 0;
}

int pl_api_audit_list(struct pl_req *r)
{
    if (pl_api_admin_or_reply(r) != 0)
        return PL_HANDLER_DONE;
    struct pl_audit_query q = {PL_HIST_NONE, PL_HIST_NONE, NULL, 0, 100};
    long long limit = 100, before = 0;
    if (time_arg_or_reply(r, "from", &q.from_ms) != 0 ||
        time_arg_or_reply(r, "to", &q.to_ms) != 0 ||
        int_arg_or_reply(r, "limit", 1, 1000, &limit) != 0 ||
        int_arg_or_reply(r, "before", 1, INT64_MAX, &before) != 0)
        return PL_HANDLER_DONE;
    q.principal = pl_req_arg(r, "principal");
    q.limit = (int)limit;
    q.before_seq = before;
    /* what the requests before this one did is in the log when it is read */
    pl_audit_flush(r->app->audit);
    struct rows u = {json_array(), 0};
    if (!u.out)
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_store_audit_query(r->app->store, &q, add_row, &u, &err) != 0) {
        json_decref(u.out);
        return pl_reply_problem(r, &err);
    }
    if ((long long)json_array_size(u.out) == limit) {
        char *rest = pl_req_query_without(r, "before", NULL);
        size_t n = (rest ? strlen(rest) : 0) + 96;
        char *link = malloc(n);
        if (link) {
            snprintf(link, n, "</polis/v1/audit?%s%sbefore=%lld>; rel=\"next\"", rest ? rest : "",
                     rest && *rest ? "&" : "", (long long)u.last_seq);
            pl_req_add_header(r, "Link", link);
        }
        free(link);
        free(rest);
    }
    pl_reply_json(r, 200, "application/json", u.out);
    json_decref(u.out);
    return PL_HANDLER_DONE;
}
