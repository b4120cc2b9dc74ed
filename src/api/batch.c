/* SPDX-License-Identifier: Apache-2.0 */
/*
 * batch.c — the batch entity operations: POST /entityOperations/{create,upsert,update,delete,
 * merge}. NGSI-LD clauses 5.6.7 (create), 5.6.8 (upsert), 5.6.9 (update), 5.6.10 (delete),
 * 5.6.20 (merge), the HTTP binding 6.14-6.17 and 6.31, BatchOperationResult (5.2.16),
 * BatchEntityError (5.2.17) and several instances of one entity in a batch (5.5.11).
 *
 * One request, many independent writes. On the network thread the whole body is checked first
 * (a JSON array, not empty, no null item, at most PL_LIMITS_MAX_BATCH elements: else the request
 * fails as a whole and nothing is written); then each element is validated and expanded on its
 * own, exactly as the single-entity operations do (pl_api_context_resolve, pl_entity_parse); an
 * element that fails becomes a BatchEntityError and does not stop the others. The valid elements
 * become one store write each (an apply write: the read-modify-write runs on the writer thread,
 * so several instances of one id are applied in array order, 5.5.11.0), all queued before the
 * request suspends; the writer group-commits them, each with its own savepoint and result. A
 * countdown resumes the request when the last write is reported, and the continuation builds
 * the answer. No network thread waits for the disk.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/access.h"
#include "api/api.h"
#include "app/app.h"
#include "base/limits.h"
#include "base/timeutil.h"
#include "ngsild/entity.h"
#include "store/store.h"

enum batch_op {
    OP_CREATE, /* 5.6.7 */
    OP_UPSERT, /* 5.6.8 */
    OP_UPDATE, /* 5.6.9 */
    OP_DELETE, /* 5.6.10 */
    OP_MERGE   /* 5.6.20 */
};

struct batch;

/* One element of the batch. Its write's rc/err also hold a validation failure (submitted 0). */
struct item {
    struct pl_store_write w; /* the store write (w.id borrowed from the request body) */
    struct batch *b;         /* the batch */
    json_t *frag;            /* parsed payload (owned; released once the write is reported) */
    json_t *fresh;           /* create/upsert: the new entity, prepared as an insert on the
                                network thread (owned; released once the write is reported) */
    json_t *kept;            /* update with noOverwrite: the attributes left untouched, as
                                {attributeName, reason} (owned; filled on the writer thread,
                                read once the write is reported) */
    const char *id;          /* entity id for the answer (borrowed from the body), or NULL */
    int submitted;           /* 1: queued to the store (w.rc is the store's result) */
    int may_not_create;      /* upsert (issue 12): the principal may not create this element:
                                it goes through only if the entity exists and may be updated */
    size_t index;            /* its position in the array (for error details) */
};

/* The state of a batch while the request is suspended. Owned by the request. */
struct batch {
    struct pl_req *req;        /* the suspended request */
    enum batch_op op;          /* which operation */
    enum pl_update_op uop;     /* the update applied to an existing entity (not create/delete) */
    size_t n;                  /* number of elements */
    struct item *items;        /* n elements, in array order */
    atomic_size_t pending;     /* writes not yet reported, + 1 while still submitting */
    char now[PL_TIME_ISO_LEN]; /* one timestamp for the whole batch (5.5.11.0) */
    const char *owner;         /* the owner key recorded with the entities it creates (issue
                                  12; released with the request), NULL: none */
};

static void batch_release(void *p)
{
    struct batch *b = p;
    for (size_t i = 0; i < b->n; i++) {
        json_decref(b->items[i].frag);
        json_decref(b->items[i].w.result);
        pl_store_prep_release(&b->items[i].w);
        json_decref(b->items[i].fresh);
        json_decref(b->items[i].kept);
    }
    free(b->items);
    free(b);
}

/* ---------------------------------------------------------------------------------------------
 * The writer side
 * ------------------------------------------------------------------------------------------ */

/* Issue 12: may the principal do `a` to the stored entity `e` (types as they are: before the
 * change, or after it when called again on the result)? Owner from the writer
 * (PL_WRITE_WANT_OWNER). */
static int authorize(const struct item *it, enum pl_authz_action a, const json_t *e,
                     struct pl_err *err)
{
    const struct pl_req *r = it->b->req;
    if (!r->principal)
        return 0;
    struct pl_authz_target t = {it->id, json_object_get(e, "type"), NULL,
                                it->w.cur_owner[0] ? it->w.cur_owner : NULL};
    char what[32];
    snprintf(what, sizeof what, "element %zu", it->index);
    return pl_authz_check_item(r->principal, r->tenant, a, &t, what, err);
}

/* The read-modify-write of one element, on the writer thread (store.h). */
static int apply(void *ud, json_t *cur, json_t **next, struct pl_err *err)
{
    struct item *it = ud;
    struct batch *b = it->b;
    if (b->op == OP_DELETE) {
        int arc = authorize(it, PL_AUTHZ_DELETE, cur, err);
        if (arc != 0)
            return arc;
        *next = NULL;
        return 0;
    }
    if (!cur && it->may_not_create) /* an upsert that would create what it may not */
        return pl_err_set(err, PL_EFORBIDDEN, "element %zu: the role '%s' may not create entities",
                          it->index, pl_role_name(b->req->principal->role));
    if (cur) {
        int arc = authorize(it, PL_AUTHZ_UPDATE, cur, err);
        if (arc != 0)
            return arc;
    }
    if (!cur) { /* create, or upsert of an entity that does not exist yet */
        json_t *e = json_deep_copy(it->frag);
        if (!e)
            return pl_err_set(err, PL_ENOMEM, "out of memory");
        pl_entity_stamp(e, b->now);
        *next = e;
        return 0;
    }
    if (it->kept)
        json_array_clear(it->kept);
    int rc = pl_entity_apply(cur, it->frag, b->uop, b->now, it->kept, err);
    /* The stored entity must stay within the limits a create must meet (as entities.c). */
    if (rc == 0)
        rc = pl_entity_check_limits(cur, &b->req->app->limits, err);
    if (rc == 0) /* and within the principal's grant after the change too */
        rc = authorize(it, PL_AUTHZ_UPDATE, cur, err);
    if (rc != 0)
        return rc;
    *next = json_incref(cur);
    return 0;
}

/* Reported on the writer thread: counts down; the last one resumes the request. */
static void on_done(struct pl_store_write *w)
{
    struct item *it = w->ud;
    struct batch *b = it->b;
    /* A stored result is dropped now (a 10 000-entity batch would otherwise hold every one
     * until the end), except the fresh entities of inserts: those trees are freed with the
     * request, on the network thread, not in the writer's time. */
    if (w->result && w->result != it->fresh) {
        json_decref(w->result);
        w->result = NULL;
    }
    if (atomic_fetch_sub(&b->pending, 1) == 1)
        pl_req_resume(b->req);
}

/* ---------------------------------------------------------------------------------------------
 * The answer
 * ------------------------------------------------------------------------------------------ */

/* A BatchEntityError (5.2.17): {"entityId", "error": ProblemDetails}. */
static json_t *entity_error(const char *id, const struct pl_err *e)
{
    int code = e->code != PL_OK ? e->code : PL_EINTERNAL;
    const char *detail = e->detail[0] ? e->detail : pl_err_title(code);
    json_t *pd =
        json_pack("{s:s, s:s, s:i, s:s}", "type", pl_err_type_uri(code), "title",
                  pl_err_title(code), "status", pl_err_http_status(code), "detail", detail);
    if (!pd) /* a detail that is not valid UTF-8 */
        pd = json_pack("{s:s, s:s, s:i, s:s}", "type", pl_err_type_uri(code), "title",
                       pl_err_title(code), "status", pl_err_http_status(code), "detail",
                       "(detail not representable)");
    json_t *o = json_object();
    json_t *jid = id ? json_string(id) : NULL;
    json_object_set_new(o, "entityId", jid ? jid : json_null());
    json_object_set_new(o, "error", pd ? pd : json_null());
    return o;
}

/* The BatchEntityError of an entity whose update with noOverwrite kept some of its attributes
 * (5.6.9.4 runs Append Attributes, whose 5.6.3.5 output tells which were appended): the other
 * attributes were appended, and the detail names the kept ones by their full IRI (6.3.6). */
static json_t *kept_error(const char *id, const json_t *kept)
{
    struct pl_err e;
    size_t i, len = 0;
    json_t *k;
    pl_err_set(&e, PL_EALREADYEXISTS, "attributes kept (noOverwrite):");
    json_array_foreach (kept, i, k) {
        const char *n = json_string_value(json_object_get(k, "attributeName"));
        len = strlen(e.detail);
        if (n && len + strlen(n) + 3 < sizeof e.detail)
            snprintf(e.detail + len, sizeof e.detail - len, "%s %s", i ? "," : "", n);
    }
    return entity_error(id, &e);
}

static int cont_batch(struct pl_req *r)
{
    struct batch *b = r->job;
    json_t *success = json_array();
    json_t *created = json_array(); /* upsert: the ids created by this request */
    json_t *errors = json_array();
    if (!success || !created || !errors) {
        json_decref(success);
        json_decref(created);
        json_decref(errors);
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    }
    int tenant_known = -1; /* NonexistentTenant (5.5.10): asked once, only when needed */
    for (size_t i = 0; i < b->n; i++) {
        struct item *it = &b->items[i];
        if (it->w.rc == 0 && json_array_size(it->kept) > 0) {
            json_array_append_new(errors, kept_error(it->id, it->kept));
            continue;
        }
        if (it->w.rc == 0) {
            json_array_append_new(success, json_string(it->id));
            if (b->op == OP_UPSERT && !it->w.existed)
                json_array_append_new(created, json_string(it->id));
            continue;
        }
        struct pl_err e = it->w.err;
        if (e.code == PL_OK)
            pl_err_set(&e, it->w.rc, "write failed");
        if (it->submitted && e.code == PL_ENOTFOUND && r->tenant[0]) {
            if (tenant_known < 0)
                tenant_known = pl_store_tenant_exists(r->app->store, r->tenant);
            if (!tenant_known)
                pl_err_set(&e, PL_ENOTENANT, "tenant '%.200s' does not exist", r->tenant);
        }
        json_array_append_new(errors, entity_error(it->id, &e));
    }
    int status;
    json_t *body = NULL;
    if (json_array_size(errors) > 0) {
        /* 6.14-6.17, 6.31: "If only some or none of the entities have been successfully
         * created/updated/deleted/merged ... BatchOperationResult" (207 Multi-Status). */
        status = 207;
        body = json_pack("{s:O, s:O}", "success", success, "errors", errors);
    } else if (b->op == OP_CREATE) {
        /* 6.14: "If all entities have been successfully created, an array of Strings containing
         * URIs is returned" (201 Created). */
        status = 201;
        body = json_incref(success);
    } else if (b->op == OP_UPSERT && json_array_size(created) > 0) {
        /* 6.15: "If all entities not existing prior to this request have been successfully
         * created and the others have been successfully updated, an array of String (with the
         * URIs representing the Entity IDs of the created entities only)" (201 Created). */
        status = 201;
        body = json_incref(created);
    } else {
        /* 6.15: "If all entities already existed and are successfully updated, there is no
         * payload body"; 6.16, 6.17, 6.31: all updated / deleted / merged: 204 No Content. */
        status = 204;
    }
    json_decref(success);
    json_decref(created);
    json_decref(errors);
    if (status == 204) {
        pl_reply_empty(r, 204);
        return PL_HANDLER_DONE;
    }
    if (!body)
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    pl_reply_json(r, status, "application/json", body);
    json_decref(body);
    return PL_HANDLER_DONE;
}

/* ---------------------------------------------------------------------------------------------
 * The network side: validation and submission
 * ------------------------------------------------------------------------------------------ */

/* Records a validation failure of element `i` (prefixing its index to the detail). */
static void item_fail(struct item *it, size_t i, const struct pl_err *e)
{
    struct pl_err tmp = *e;
    int code = e->code != PL_OK ? e->code : PL_EBADREQUESTDATA;
    it->w.rc = pl_err_set(&it->w.err, code, "element %zu: %s", i, tmp.detail);
}

static void item_fail_msg(struct item *it, size_t i, int code, const char *msg)
{
    it->w.rc = pl_err_set(&it->w.err, code, "element %zu: %s", i, msg);
}

/* Validates an entity id (as pl_api_entity_id_or_reply does for a path). Returns 0 or fills e. */
static int check_id(struct pl_req *r, const char *id, struct pl_err *e)
{
    if (strlen(id) > r->app->limits.max_id_len)
        return pl_err_set(e, PL_EBADREQUESTDATA, "entity id longer than %zu bytes",
                          r->app->limits.max_id_len);
    if (!pl_is_uri(id))
        return pl_err_set(e, PL_EBADREQUESTDATA, "entity id '%.200s' is not a URI", id);
    return 0;
}

/* Validates and expands one entity element into it->frag; on failure records the error. */
static void prepare_entity(struct pl_req *r, struct batch *b, struct pl_ctx *shared_ctx, json_t *el,
                           size_t i)
{
    struct item *it = &b->items[i];
    struct pl_err e;
    pl_err_clear(&e);
    if (!json_is_object(el)) {
        item_fail_msg(it, i, PL_EBADREQUESTDATA, "an entity must be a JSON object");
        return;
    }
    /* The id for the answer, even when the element turns out invalid (5.2.17). */
    it->id = json_string_value(json_object_get(el, "id"));
    if (!it->id) {
        item_fail_msg(it, i, PL_EBADREQUESTDATA,
                      json_object_get(el, "id") ? "entity 'id' must be a string (4.5.1)"
                                                : "entity 'id' is required (4.5.1)");
        return;
    }
    if (check_id(r, it->id, &e) != 0) {
        item_fail(it, i, &e);
        return;
    }
    /* @context: the Link header (application/json, resolved once for the batch) or each
     * element's own "@context" member (application/ld+json), as for a single entity (6.3.5). */
    struct pl_ctx *ctx = shared_ctx;
    if (!ctx && pl_api_context_resolve(r, el, &ctx, &e) != 0) {
        item_fail(it, i, &e);
        return;
    }
    /* Create and upsert take whole entities (5.2.4); update and merge take the attributes to
     * change (a missing "type" is allowed there: nothing is created). */
    enum pl_parse_kind kind =
        (b->op == OP_CREATE || b->op == OP_UPSERT) ? PL_PARSE_ENTITY : PL_PARSE_FRAGMENT;
    /* Update and merge take fragments whose NGSI-LD Null deletes (5.5.4, 5.5.8, 5.5.12). */
    unsigned flags = b->op == OP_MERGE    ? PL_PARSE_ALLOW_NULL | PL_PARSE_MERGE
                     : b->op == OP_UPDATE ? PL_PARSE_ALLOW_NULL
                                          : 0;
    int rc = pl_entity_parse(ctx, el, kind, flags, &r->app->limits, &it->frag, &e);
    if (ctx != shared_ctx)
        pl_ctx_unref(ctx);
    if (rc != 0) {
        item_fail(it, i, &e);
        return;
    }
    if (b->uop == PL_UPDATE_APPEND_NOOVER && !(it->kept = json_array()))
        item_fail_msg(it, i, PL_ENOMEM, "out of memory");
}

/* Validates one element of a batch delete: an entity id (5.6.10.3). */
static void prepare_id(struct pl_req *r, struct batch *b, json_t *el, size_t i)
{
    struct item *it = &b->items[i];
    struct pl_err e;
    pl_err_clear(&e);
    it->id = json_string_value(el);
    if (!it->id) {
        item_fail_msg(it, i, PL_EBADREQUESTDATA, "an entity id must be a string");
        return;
    }
    if (check_id(r, it->id, &e) != 0)
        item_fail(it, i, &e);
}

/* The whole batch operation: parse, validate each element, submit, suspend. */
static int batch_run(struct pl_req *r, enum batch_op op, enum pl_update_op uop)
{
    json_t *body;
    if (pl_api_body_or_reply(r, 0, &body) != 0)
        return PL_HANDLER_DONE;
    /* 5.6.7.4, 5.6.8.4, 5.6.9.4, 5.6.10.4: "If the input Array is empty or contains a null
     * value in any of its items an error of type BadRequestData shall be raised." 5.6.20 does
     * not repeat it, but its input is "A JSON-LD Array containing one or more JSON-LD
     * documents" (5.6.20.3): merge is held to the same rule. */
    if (!json_is_array(body))
        return pl_reply_error(r, PL_EBADREQUESTDATA,
                              op == OP_DELETE ? "the request body must be a JSON array of "
                                                "entity ids (5.6.10.3)"
                                              : "the request body must be a JSON array of "
                                                "entities");
    size_t n = json_array_size(body);
    if (n == 0)
        return pl_reply_error(r, PL_EBADREQUESTDATA, "the batch is empty");
    if (n > PL_LIMITS_MAX_BATCH)
        return pl_reply_error(r, PL_ETOOLARGE, "a batch holds at most %u elements (got %zu)",
                              PL_LIMITS_MAX_BATCH, n);
    for (size_t i = 0; i < n; i++) {
        if (json_is_null(json_array_get(body, i)))
            return pl_reply_error(r, PL_EBADREQUESTDATA, "element %zu of the batch is null", i);
    }

    struct batch *b = calloc(1, sizeof *b);
    struct item *items = b ? calloc(n, sizeof *items) : NULL;
    if (!items) {
        free(b);
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    }
    b->items = items;
    b->n = n;
    if (pl_req_defer(r, batch_release, b) != 0) {
        batch_release(b);
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    }
    b->req = r;
    b->op = op;
    b->uop = uop;
    pl_time_format(pl_time_now_ms(), b->now);
    b->owner = pl_api_owner_key(r);

    /* With application/json one @context (the Link header's, or the core) serves every element;
     * with application/ld+json each element carries its own. */
    struct pl_ctx *shared_ctx = NULL;
    if (op != OP_DELETE && r->content_type != PL_MIME_LDJSON &&
        pl_api_context_or_reply(r, NULL, &shared_ctx) != 0)
        return PL_HANDLER_DONE;

    /* Each valid element is queued as soon as it is validated, in array order: the writer
     * runs them in that order (5.5.11.0 "processed by the Broker in the order they have in the
     * array"), works while the rest is still being parsed, and commits what it finds queued
     * together (group commit). The extra 1 keeps the countdown from reaching zero while this
     * loop still runs; r->job and r->cont are set before the first write can be reported. */
    r->job = b;
    r->cont = cont_batch;
    atomic_store(&b->pending, 1);
    for (size_t i = 0; i < n; i++) {
        struct item *it = &items[i];
        it->b = b;
        it->index = i;
        pl_err_clear(&it->w.err);
        json_t *el = json_array_get(body, i);
        if (op == OP_DELETE)
            prepare_id(r, b, el, i);
        else
            prepare_entity(r, b, shared_ctx, el, i);
        if (it->w.rc != 0)
            continue;
        it->w.tenant = r->tenant;
        it->w.id = it->id;
        switch (op) {
        case OP_CREATE:
            it->w.flags = PL_WRITE_MUST_NOT_EXIST;
            break;
        case OP_UPSERT:
            it->w.flags = 0;
            break;
        case OP_UPDATE:
        case OP_DELETE:
        case OP_MERGE:
            it->w.flags = PL_WRITE_MUST_EXIST;
            break;
        }
        if (pl_authz_needs_owner(r->principal))
            it->w.flags |= PL_WRITE_WANT_OWNER;
        it->w.apply = apply;
        it->w.ud = it;
        it->w.owner = b->owner; /* recorded only when the write creates the entity */
        it->w.done = on_done;
        if (op == OP_CREATE || op == OP_UPSERT) {
            /* Issue 12: may the principal create it? A create that may not fails here; an
             * upsert may still update the entity if it exists (decided by apply). */
            struct pl_err ae;
            char what[32];
            snprintf(what, sizeof what, "element %zu", i);
            struct pl_authz_target t = {it->id, json_object_get(it->frag, "type"), NULL, NULL};
            if (pl_authz_check_item(r->principal, r->tenant, PL_AUTHZ_CREATE, &t, what, &ae)) {
                if (op == OP_CREATE) {
                    it->w.rc = ae.code;
                    it->w.err = ae;
                    continue;
                }
                it->may_not_create = 1;
            }
        }
        if ((op == OP_CREATE || op == OP_UPSERT) && !it->may_not_create) {
            /* The JSON work of a new entity (copy, timestamps, serialization, index keys) is
             * done here, on the network thread, so the writer only inserts; an upsert of an
             * entity that exists continues as the apply write above (store.h). */
            it->fresh = json_deep_copy(it->frag);
            if (it->fresh) {
                pl_entity_stamp(it->fresh, b->now);
                if (pl_store_prep_insert(it->fresh, &it->w) != 0) {
                    json_decref(it->fresh);
                    it->fresh = NULL;
                }
            }
        }
        it->submitted = 1;
        atomic_fetch_add(&b->pending, 1);
        if (pl_store_write_async(r->app->store, &it->w) != 0) {
            /* `done` will not run for it (store.h): count it down here. */
            it->submitted = 0;
            it->w.rc = pl_err_set(&it->w.err, PL_EINTERNAL, "the store is not accepting writes");
            atomic_fetch_sub(&b->pending, 1);
        }
    }
    if (atomic_fetch_sub(&b->pending, 1) == 1)
        return cont_batch(r); /* every write was reported already (or none was queued) */
    return PL_HANDLER_SUSPENDED;
}

/* ---------------------------------------------------------------------------------------------
 * The handlers
 * ------------------------------------------------------------------------------------------ */

/* POST /entityOperations/create (5.6.7, 6.14). A second instance of an id fails with
 * AlreadyExists: "The first occurrence of an entity in the input array (the oldest one) is used
 * for the creation of the entity. Any subsequent instance of the same entity is reported as an
 * error (entity already exists)" (5.5.11.1). */
int pl_api_batch_create(struct pl_req *r)
{
    return batch_run(r, OP_CREATE, PL_UPDATE_REPLACE);
}

/* POST /entityOperations/upsert (5.6.8, 6.15), options=replace (default) or update.
 * "Create the Entity locally if it does not exist ... If there were an existing Entity with the
 * same Entity ID, it shall be completely replaced by the new Entity content provided, if the
 * requested update mode is 'replace'" (5.6.8.4): PL_UPDATE_REPLACE. For 'update' 5.6.8.4 names
 * the behaviour of 5.6.2, Update Attributes (PL_UPDATE_UPDATE): the attributes given are
 * overwritten or appended (5.6.2.4), and scope replaces the entity's only where it has one.
 * Later instances of an id replace or update the entity the earlier ones made, in array order
 * (5.5.11.2). */
int pl_api_batch_upsert(struct pl_req *r)
{
    const char **opts;
    int n = pl_api_split_or_reply(r, "options", pl_req_arg(r, "options"), &opts);
    if (n < 0)
        return PL_HANDLER_DONE;
    enum pl_update_op uop = PL_UPDATE_REPLACE;
    int seen_replace = 0, seen_update = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(opts[i], "replace") == 0)
            seen_replace = 1;
        else if (strcmp(opts[i], "update") == 0)
            seen_update = 1;
        else
            return pl_reply_error(r, PL_EINVALIDREQUEST,
                                  "unknown options value '%.100s' (replace or update)", opts[i]);
    }
    if (seen_replace && seen_update)
        return pl_reply_error(r, PL_EINVALIDREQUEST,
                              "options replace and update exclude each other");
    if (seen_update)
        uop = PL_UPDATE_UPDATE;
    return batch_run(r, OP_UPSERT, uop);
}

/* POST /entityOperations/update (5.6.9, 6.16), options=noOverwrite. "For each of the NGSI-LD
 * Entities included in the input Array execute the behaviour defined by clause 5.6.3" (Append
 * Attributes; with noOverwrite existing attributes are kept). A missing entity fails with
 * ResourceNotFound. */
int pl_api_batch_update(struct pl_req *r)
{
    const char *opt = pl_req_arg(r, "options");
    enum pl_update_op uop = PL_UPDATE_APPEND;
    if (opt) {
        if (strcmp(opt, "noOverwrite") != 0)
            return pl_reply_error(r, PL_EINVALIDREQUEST,
                                  "unknown options value '%.100s' (only noOverwrite)", opt);
        uop = PL_UPDATE_APPEND_NOOVER;
    }
    return batch_run(r, OP_UPDATE, uop);
}

/* POST /entityOperations/delete (5.6.10, 6.17): the body is an array of entity ids. A repeated
 * id: "the first occurrence will delete the entity, while subsequent occurrences of the same
 * Entity ID will provoke an error in the response (entity does not exist)" (5.5.11.4). */
int pl_api_batch_delete(struct pl_req *r)
{
    return batch_run(r, OP_DELETE, PL_UPDATE_REPLACE);
}

/* POST /entityOperations/merge (5.6.20, 6.31): the behaviour of 5.6.17 Merge Entity for each
 * element ("urn:ngsi-ld:null" deletes); repeated ids are merged in array order (5.5.11.5). */
int pl_api_batch_merge(struct pl_req *r)
{
    return batch_run(r, OP_MERGE, PL_UPDATE_MERGE);
}
