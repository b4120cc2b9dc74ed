/* SPDX-License-Identifier: Apache-2.0 */
/* contexts.c — /jsonldContexts and /jsonldContexts/{contextId} (NGSI-LD 5.13, 6.29, 6.30). */
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "app/app.h"
#include "ctxreg/ctxreg.h"

static int bool_arg_or_reply(struct pl_req *r, const char *name, int *out)
{
    const char *v = pl_req_arg(r, name);
    *out = 0;
    if (!v)
        return 0;
    if (strcmp(v, "true") == 0) {
        *out = 1;
        return 0;
    }
    if (strcmp(v, "false") == 0)
        return 0;
    pl_reply_error(r, PL_EBADREQUESTDATA, "%s must be true or false", name);
    return -1;
}

int pl_api_contexts_add(struct pl_req *r)
{
    json_t *body;
    if (pl_api_body_or_reply(r, 1, &body) != 0)
        return PL_HANDLER_DONE;
    struct pl_err err;
    pl_err_clear(&err);
    char *url = NULL;
    if (pl_ctxreg_add(r->app->ctxreg, body, &url, &err) != 0)
        return pl_reply_problem(r, &err);
    /* 6.29.3.1: Location is the local relative path of the added @context */
    const char *path = strstr(url, "/ngsi-ld/v1/jsonldContexts/");
    pl_req_add_header(r, "Location", path ? path : url);
    free(url);
    pl_reply_empty(r, 201);
    return PL_HANDLER_DONE;
}

int pl_api_contexts_list(struct pl_req *r)
{
    int details;
    if (bool_arg_or_reply(r, "details", &details) != 0)
        return PL_HANDLER_DONE;
    struct pl_err err;
    pl_err_clear(&err);
    json_t *out;
    if (pl_ctxreg_list(r->app->ctxreg, details, pl_req_arg(r, "kind"), &out, &err) != 0)
        return pl_reply_problem(r, &err);
    pl_reply_json(r, 200, "application/json", out);
    json_decref(out);
    return PL_HANDLER_DONE;
}

/* NGSI-LD 5.13.4, 6.30.3.1: the document, or with details=true its metadata. */
int pl_api_contexts_get(struct pl_req *r)
{
    int details;
    if (bool_arg_or_reply(r, "details", &details) != 0)
        return PL_HANDLER_DONE;
    struct pl_err err;
    pl_err_clear(&err);
    json_t *doc;
    if (pl_ctxreg_get(r->app->ctxreg, r->params[0], details, &doc, &err) != 0)
        return pl_reply_problem(r, &err);
    /* The document is itself a JSON-LD context: served as-is in either media type. The
     * metadata is plain JSON, as in the list with details. */
    const char *type =
        !details && r->accept == PL_MIME_LDJSON ? "application/ld+json" : "application/json";
    pl_reply_json(r, 200, type, doc);
    json_decref(doc);
    return PL_HANDLER_DONE;
}

int pl_api_contexts_delete(struct pl_req *r)
{
    int reload;
    if (bool_arg_or_reply(r, "reload", &reload) != 0)
        return PL_HANDLER_DONE;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_ctxreg_delete(r->app->ctxreg, r->params[0], reload, &err) != 0)
        return pl_reply_problem(r, &err);
    pl_reply_empty(r, 204);
    return PL_HANDLER_DONE;
}
