/* SPDX-License-Identifier: Apache-2.0 */
/*
 * entities.c — the entity resources: /entities (create), /entities/{id} (retrieve, delete,
 * replace, merge), /entities/{id}/attrs (append, update) and /entities/{id}/attrs/{attrId}
 * (partial update, replace, delete). NGSI-LD clauses 5.6.1-5.6.6, 5.6.17-5.6.19, 5.7.1 and the
 * HTTP binding 6.4-6.7.
 *
 * Writes: the handler parses and validates on the network thread, then hands a read-modify-write
 * (an apply function below) to the store's writer and suspends; the writer runs it inside a
 * group-committed transaction and resumes the request, whose continuation serializes the reply.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/access.h"
#include "api/api.h"
#include "app/app.h"
#include "base/timeutil.h"
#include "ngsild/entity.h"
#include "query/typesel.h"
#include "store/store.h"

enum job_kind {
    JOB_CREATE,
    JOB_DELETE,
    JOB_APPLY, /* pl_entity_apply with job->op */
    JOB_ATTR_PATCH,
    JOB_ATTR_REPLACE,
    JOB_ATTR_DELETE
};

/* The state of one write while the request is suspended. Owned by the request. */
struct job {
    struct pl_store_write w; /* the store write (must stay valid until done) */
    struct pl_req *req;      /* the suspended request */
    enum job_kind kind;      /* what apply does */
    enum pl_update_op op;    /* JOB_APPLY: which update */
    json_t *frag;            /* parsed payload (borrowed from the request) */
    const char *attr_iri;    /* JOB_ATTR_*: expanded attribute name (borrowed) */
    const char *dataset_id;  /* JOB_ATTR_DELETE: datasetId or NULL */
    int delete_all;          /* JOB_ATTR_DELETE: deleteAll=true */
    const struct pl_typesel *types; /* the `type` selector the entity must match, or NULL
                                       (borrowed from the request) */
    struct pl_merge_opts mo;        /* JOB_APPLY of PL_UPDATE_MERGE: lang, observedAt (strings
                                       borrowed from the request) */
    json_t *not_updated;     /* JOB_APPLY: attributes not applied (owned) */
    json_t *work;            /* optimistic updates: the entity as modified here (owned) */
    json_t *before;          /* optimistic updates: a copy of it before, when the store's
                                change listener wants it (owned) */
    int tries;               /* optimistic attempts so far */
    int (*final_cont)(struct pl_req *r); /* serializes the answer once the write is final */
};

/* Optimistic attempts before an update falls back to an apply write run by the writer thread
 * (which cannot be stale): bounds the work under heavy contention on one entity. */
#define OPTIMISTIC_TRIES 4

static void job_release(void *p)
{
    struct job *j = p;
    json_decref(j->not_updated);
    json_decref(j->w.result);
    pl_store_prep_release(&j->w);
    json_decref(j->work);
    json_decref(j->before);
    free(j);
}

/* Applies an update job (JOB_APPLY, JOB_ATTR_*) to `e` in place. Pure: runs on the writer
 * thread (apply writes) or on a network thread (optimistic writes). */
/* 5.6.x.4: "no existing Entity whose id (URI), and where specified type, is equivalent" is
 * ResourceNotFound. */
static int check_types(const struct job *j, const json_t *e, struct pl_err *err)
{
    if (j->types && !pl_typesel_match(j->types, json_object_get(e, "type")))
        return pl_err_set(err, PL_ENOTFOUND, "entity '%s' does not match the type selection",
                          j->w.id);
    return 0;
}

/* Issue 12: may the principal change or delete this entity (its id, types and owner key in
 * j->w.cur_owner: read by the writer for apply writes, by submit_update for prepared ones)? */
static int authorize(const struct job *j, enum pl_authz_action a, const json_t *e,
                     struct pl_err *err)
{
    const struct pl_req *r = j->req;
    if (!r->principal)
        return 0;
    struct pl_authz_target t = {j->w.id, json_object_get(e, "type"), NULL,
                                j->w.cur_owner[0] ? j->w.cur_owner : NULL};
    return pl_authz_check(r->principal, r->tenant, a, &t, err);
}

static int apply_change(struct job *j, json_t *e, struct pl_err *err)
{
    if (check_types(j, e, err) != 0)
        return PL_ENOTFOUND;
    /* the entity as it is, then (below) as the change leaves it: a write may neither retype an
     * entity out of a grant nor into one */
    int arc = authorize(j, PL_AUTHZ_UPDATE, e, err);
    if (arc != 0)
        return arc;
    char now[PL_TIME_ISO_LEN];
    pl_time_format(pl_time_now_ms(), now);
    json_t *cur = e;
    int rc = 0;
    switch (j->kind) {
    case JOB_CREATE:
    case JOB_DELETE:
        return pl_err_set(err, PL_EINTERNAL, "not an update");
    case JOB_APPLY:
        rc = j->op == PL_UPDATE_MERGE
                 ? pl_entity_merge(cur, j->frag, &j->mo, now, err)
                 : pl_entity_apply(cur, j->frag, j->op, now, j->not_updated, err);
        break;
    case JOB_ATTR_PATCH:
        rc = pl_entity_attr_patch(cur, j->attr_iri, j->frag, now, err);
        break;
    case JOB_ATTR_REPLACE:
        rc = pl_entity_attr_replace(cur, j->attr_iri, j->frag, now, err);
        break;
    case JOB_ATTR_DELETE:
        rc = pl_entity_attr_delete(cur, j->attr_iri, j->dataset_id, j->delete_all, now, err);
        break;
    }
    /* The stored entity must stay within the limits a create must meet (an append can add
     * types and attributes; a delete cannot grow anything). */
    if (rc == 0 && j->kind != JOB_ATTR_DELETE)
        rc = pl_entity_check_limits(cur, &j->req->app->limits, err);
    if (rc == 0)
        rc = authorize(j, PL_AUTHZ_UPDATE, cur, err);
    return rc;
}

static int apply(void *ud, json_t *cur, json_t **next, struct pl_err *err)
{
    struct job *j = ud;
    if (j->kind == JOB_CREATE) {
        *next = pl_entity_instantiate(j->frag);
        return *next ? 0 : pl_err_set(err, PL_ENOMEM, "out of memory");
    }
    if (j->kind == JOB_DELETE) {
        if (check_types(j, cur, err) != 0)
            return PL_ENOTFOUND;
        int arc = authorize(j, PL_AUTHZ_DELETE, cur, err);
        if (arc != 0)
            return arc;
        *next = NULL;
        return 0;
    }
    int rc = apply_change(j, cur, err);
    if (rc != 0)
        return rc;
    *next = json_incref(cur);
    return 0;
}

static void on_done(struct pl_store_write *w)
{
    struct job *j = w->ud;
    pl_req_resume(j->req);
}

/* Creates the job for `kind` on entity `id`; NULL after answering when out of memory. */
static struct job *job_new(struct pl_req *r, enum job_kind kind, const char *id, json_t *frag)
{
    struct job *j = calloc(1, sizeof *j);
    if (!j) {
        pl_reply_error(r, PL_ENOMEM, "out of memory");
        return NULL;
    }
    if (pl_req_defer(r, job_release, j) != 0) {
        free(j);
        pl_reply_error(r, PL_ENOMEM, "out of memory");
        return NULL;
    }
    j->req = r;
    j->kind = kind;
    j->frag = frag;
    j->w.tenant = r->tenant;
    j->w.id = id;
    j->w.flags = kind == JOB_CREATE ? PL_WRITE_MUST_NOT_EXIST : PL_WRITE_MUST_EXIST;
    if (kind != JOB_CREATE && pl_authz_needs_owner(r->principal))
        j->w.flags |= PL_WRITE_WANT_OWNER; /* apply writes decide on ownership (authorize) */
    j->w.apply = apply;
    j->w.ud = j;
    j->w.done = on_done;
    return j;
}

/* Queues the job and suspends the request; `cont` serializes the answer when resumed. */
static int submit(struct pl_req *r, struct job *j, int (*cont)(struct pl_req *))
{
    r->job = j;
    r->cont = cont;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_store_write_async(r->app->store, &j->w) != 0) {
        pl_err_set(&err, PL_EINTERNAL, "the store is not accepting writes");
        return pl_reply_problem(r, &err);
    }
    return PL_HANDLER_SUSPENDED;
}

/* ---------------------------------------------------------------------------------------------
 * Optimistic updates: read the entity and its revision, apply the change and serialize here, on
 * the network thread; the writer only checks the revision (store.h). A stale write is retried;
 * after OPTIMISTIC_TRIES the update runs as an apply write on the writer thread instead.
 * ------------------------------------------------------------------------------------------ */
static int cont_optimistic(struct pl_req *r);

static int submit_update(struct pl_req *r, struct job *j)
{
    struct pl_err err;
    pl_err_clear(&err);
    json_decref(j->w.result);
    j->w.result = NULL;
    if (j->not_updated)
        json_array_clear(j->not_updated);
    if (++j->tries > OPTIMISTIC_TRIES) {
        pl_store_prep_release(&j->w);
        j->w.flags = PL_WRITE_MUST_EXIST |
                     (pl_authz_needs_owner(r->principal) ? PL_WRITE_WANT_OWNER : 0u);
        return submit(r, j, j->final_cont);
    }
    json_t *cur = NULL;
    int64_t rev = 0;
    int rc = pl_store_entity_get_rev(r->app->store, r->tenant, j->w.id, &cur, &rev, &err);
    if (rc == PL_EOPNOTSUPPORTED) {
        j->tries = OPTIMISTIC_TRIES;
        return submit_update(r, j);
    }
    if (rc != 0)
        return pl_api_problem(r, &err);
    /* Issue 12: the owner of the entity just read, for authorize (the revision check makes it
     * the owner of this very entity: a delete and re-create in between changes the revision). */
    j->w.cur_owner[0] = '\0';
    if (pl_authz_needs_owner(r->principal)) {
        rc = pl_store_entity_owner(r->app->store, r->tenant, j->w.id, j->w.cur_owner,
                                   sizeof j->w.cur_owner, &err);
        if (rc != 0 && rc != PL_ENOTFOUND) {
            json_decref(cur);
            return pl_api_problem(r, &err);
        }
        pl_err_clear(&err);
    }
    struct pl_store_prep prep;
    json_decref(j->before);
    j->before = NULL;
    j->w.before = NULL;
    /* subscriptions compare before and after (notificationTrigger, showChanges) */
    if (pl_store_wants_before(r->app->store) && !(j->w.before = j->before = json_deep_copy(cur))) {
        json_decref(cur);
        return pl_reply_error(r, PL_ENOMEM, "out of memory");
    }
    rc = pl_store_prep_begin(&prep, cur);
    if (rc == 0)
        rc = apply_change(j, cur, &err);
    if (rc == 0)
        rc = pl_store_prep_end(&prep, cur, rev, &j->w);
    if (rc != 0) {
        pl_store_prep_abandon(&prep);
        json_decref(cur);
        if (err.code == PL_OK)
            pl_err_set(&err, rc, "out of memory");
        return pl_api_problem(r, &err);
    }
    json_decref(j->work);
    j->work = cur; /* must outlive the write: the store borrows it */
    return submit(r, j, cont_optimistic);
}

static int cont_optimistic(struct pl_req *r)
{
    struct job *j = r->job;
    if (j->w.rc == PL_ESTALE)
        return submit_update(r, j);
    return j->final_cont(r);
}

/* Continuation of writes answered 204 on success. */
static int cont_no_content(struct pl_req *r)
{
    struct job *j = r->job;
    if (j->w.rc != 0)
        return pl_api_problem(r, &j->w.err);
    pl_reply_empty(r, 204);
    return PL_HANDLER_DONE;
}

/* Continuation of append/update: 204, or 207 with an UpdateResult (5.2.18) when some attributes
 * were not applied. Names in a 207 body are fully qualified (clause 6.3.6). */
static int cont_update_result(struct pl_req *r)
{
    struct job *j = r->job;
    if (j->w.rc != 0)
        return pl_api_problem(r, &j->w.err);
    if (json_array_size(j->not_updated) == 0) {
        pl_reply_empty(r, 204);
        return PL_HANDLER_DONE;
    }
    json_t *updated = json_array();
    json_t *attrs = json_object_get(j->frag, "attrs");
    const char *name;
    json_t *v;
    json_object_foreach(attrs, name, v)
    {
        int skipped = 0;
        size_t i;
        json_t *nu;
        json_array_foreach(j->not_updated, i, nu)
        {
            const char *n = json_string_value(json_object_get(nu, "attributeName"));
            if (n && strcmp(n, name) == 0)
                skipped = 1;
        }
        if (!skipped)
            json_array_append_new(updated, json_string(name));
    }
    json_t *res = json_pack("{s:o, s:O}", "updated", updated, "notUpdated", j->not_updated);
    pl_reply_json(r, 207, "application/json", res);
    json_decref(res);
    return PL_HANDLER_DONE;
}

static int cont_created(struct pl_req *r)
{
    struct job *j = r->job;
    if (j->w.rc != 0)
        return pl_api_problem(r, &j->w.err);
    return pl_api_reply_created(r, "/ngsi-ld/v1/entities/", j->w.id);
}

/* Parse body (unless already parsed: `body` not NULL) + context + payload of `kind`. Returns 0 with
 * *frag (released with the request) and *ctx (borrowed), or -1 after answering. */
static int parse_payload(struct pl_req *r, json_t *body, enum pl_parse_kind kind, unsigned flags,
                         json_t **frag, struct pl_ctx **ctx)
{
    if (!body && pl_api_body_or_reply(r, kind != PL_PARSE_ATTR, &body) != 0)
        return -1;
    if (kind == PL_PARSE_ATTR && !json_is_object(body) && r->content_type == PL_MIME_LDJSON) {
        pl_reply_error(r, PL_EBADREQUESTDATA, "an application/ld+json body must be an object");
        return -1;
    }
    if (pl_api_context_or_reply(r, body, ctx) != 0)
        return -1;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_entity_parse(*ctx, body, kind, flags, &r->app->limits, frag, &err) != 0) {
        pl_reply_problem(r, &err);
        return -1;
    }
    pl_req_defer_decref(r, *frag);
    return 0;
}

/* The entity id of the path must be a URI; a fragment naming another id is BadRequestData. */
static int check_fragment_id_or_reply(struct pl_req *r, const json_t *frag, const char *id)
{
    const char *fid = json_string_value(json_object_get(frag, "id"));
    if (fid && strcmp(fid, id) != 0) {
        pl_reply_error(r, PL_EBADREQUESTDATA,
                       "the payload id '%.200s' differs from the entity id in the path", fid);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * POST /entities (5.6.1, 6.4.3.1)
 * ------------------------------------------------------------------------------------------ */
int pl_api_entity_create(struct pl_req *r)
{
    json_t *ent;
    struct pl_ctx *ctx;
    if (parse_payload(r, NULL, PL_PARSE_ENTITY, 0, &ent, &ctx) != 0)
        return PL_HANDLER_DONE;
    const char *id = json_string_value(json_object_get(ent, "id"));
    struct pl_err err;
    struct pl_authz_target t = {id, json_object_get(ent, "type"), NULL, NULL};
    if (pl_authz_check(r->principal, r->tenant, PL_AUTHZ_CREATE, &t, &err) != 0)
        return pl_api_deny(r, &err);
    struct job *j = job_new(r, JOB_CREATE, id, ent);
    if (!j)
        return PL_HANDLER_DONE;
    j->w.owner = pl_api_owner_key(r);
    return submit(r, j, cont_created);
}

/* ---------------------------------------------------------------------------------------------
 * DELETE /entities/{id} (5.6.6)
 * ------------------------------------------------------------------------------------------ */
int pl_api_entity_delete(struct pl_req *r)
{
    const char *id = r->params[0];
    if (pl_api_entity_id_or_reply(r, id) != 0)
        return PL_HANDLER_DONE;
    struct pl_ctx *ctx;
    const struct pl_typesel *types;
    if (pl_api_context_or_reply(r, NULL, &ctx) != 0 ||
        pl_api_type_selector_or_reply(r, ctx, &types) != 0)
        return PL_HANDLER_DONE;
    struct job *j = job_new(r, JOB_DELETE, id, NULL);
    if (!j)
        return PL_HANDLER_DONE;
    j->types = types;
    return submit(r, j, cont_no_content);
}

/* Shared by PUT /entities/{id}, PATCH /entities/{id}, POST and PATCH .../attrs. `mo` (merge
 * only, may be NULL) is copied into the job. */
static int entity_update(struct pl_req *r, enum pl_update_op op, unsigned flags,
                         const struct pl_merge_opts *mo, int (*cont)(struct pl_req *))
{
    const char *id = r->params[0];
    if (pl_api_entity_id_or_reply(r, id) != 0)
        return PL_HANDLER_DONE;
    json_t *frag;
    struct pl_ctx *ctx;
    enum pl_parse_kind kind = op == PL_UPDATE_REPLACE ? PL_PARSE_ENTITY : PL_PARSE_FRAGMENT;
    json_t *body = NULL;
    if (op == PL_UPDATE_REPLACE) {
        /* 5.6.18: the replacement may omit the id; when given it must match. */
        if (pl_api_body_or_reply(r, 1, &body) != 0)
            return PL_HANDLER_DONE;
        if (!json_object_get(body, "id"))
            json_object_set_new(body, "id", json_string(id));
    }
    if (parse_payload(r, body, kind, flags, &frag, &ctx) != 0)
        return PL_HANDLER_DONE;
    if (check_fragment_id_or_reply(r, frag, id) != 0)
        return PL_HANDLER_DONE;
    const struct pl_typesel *types;
    if (pl_api_type_selector_or_reply(r, ctx, &types) != 0)
        return PL_HANDLER_DONE;
    struct job *j = job_new(r, JOB_APPLY, id, frag);
    if (!j)
        return PL_HANDLER_DONE;
    j->types = types;
    if (mo)
        j->mo = *mo;
    j->op = op;
    j->not_updated = json_array();
    j->final_cont = cont;
    return submit_update(r, j);
}

int pl_api_entity_replace(struct pl_req *r)
{
    return entity_update(r, PL_UPDATE_REPLACE, 0, NULL, cont_no_content);
}

/* PATCH /entities/{id} (5.6.17, 6.5.3.4) with its format/options (simplified payload), lang
 * and observedAt parameters. */
int pl_api_entity_merge(struct pl_req *r)
{
    unsigned flags = PL_PARSE_ALLOW_NULL | PL_PARSE_MERGE;
    /* 6.5.3.4: "If both format and options are present, the value of the format parameter
     * shall take precedence"; the parameter phase checked their values (api/params.c). */
    const char *format = pl_req_arg(r, "format");
    const char *options = pl_req_arg(r, "options");
    if (format || options)
        flags |= PL_PARSE_SIMPLIFIED;
    struct pl_merge_opts mo = {pl_req_arg(r, "lang"), pl_req_arg(r, "observedAt")};
    int64_t ms;
    if (mo.observed_at && pl_time_parse(mo.observed_at, &ms) != 0)
        return pl_reply_error(r, PL_EBADREQUESTDATA,
                              "observedAt '%.100s' is not a UTC DateTime (4.6.3)", mo.observed_at);
    if (mo.lang && (!*mo.lang || strpbrk(mo.lang, ",;* ")))
        return pl_reply_error(r, PL_EBADREQUESTDATA,
                              "lang '%.100s' must be one language tag (RFC 5646)", mo.lang);
    return entity_update(r, PL_UPDATE_MERGE, flags, &mo, cont_no_content);
}

int pl_api_attrs_append(struct pl_req *r)
{
    const char *opt = pl_req_arg(r, "options");
    enum pl_update_op op = PL_UPDATE_APPEND;
    if (opt) {
        if (strcmp(opt, "noOverwrite") != 0)
            return pl_reply_error(r, PL_EINVALIDREQUEST,
                                  "unknown options value '%.100s' (only noOverwrite)", opt);
        op = PL_UPDATE_APPEND_NOOVER;
    }
    return entity_update(r, op, 0, NULL, cont_update_result);
}

int pl_api_attrs_update(struct pl_req *r)
{
    /* 5.6.2.4: "NGSI-LD Nulls should be supported by this operation" (5.5.8). */
    return entity_update(r, PL_UPDATE_UPDATE, PL_PARSE_ALLOW_NULL, NULL, cont_update_result);
}

/* ---------------------------------------------------------------------------------------------
 * /entities/{id}/attrs/{attrId} (5.6.4, 5.6.5, 5.6.19; 6.7)
 * ------------------------------------------------------------------------------------------ */
/* Expands the attribute name of the path with the request's context. */
static const char *attr_iri_or_reply(struct pl_req *r, struct pl_ctx *ctx)
{
    const char *name = r->params[1];
    if ((!pl_is_valid_name(name) && !pl_is_uri(name)) || pl_is_reserved_attr_name(name)) {
        pl_reply_error(r, PL_EBADREQUESTDATA, "invalid attribute name '%.200s' (4.6.2)", name);
        return NULL;
    }
    char *iri = pl_ctx_expand(ctx, name);
    if (!iri) {
        pl_reply_error(r, PL_EBADREQUESTDATA, "cannot expand attribute name '%.200s'", name);
        return NULL;
    }
    pl_req_defer_free(r, iri);
    return iri;
}

/* 1 when the attribute name of a path is the scope member (4.18): the core context, applied
 * last, always maps the term "scope" to its IRI. */
static int is_scope_name(const char *name)
{
    return strcmp(name, "scope") == 0 || strcmp(name, "https://uri.etsi.org/ngsi-ld/scope") == 0;
}

static int attr_write(struct pl_req *r, enum job_kind kind)
{
    const char *id = r->params[0];
    if (pl_api_entity_id_or_reply(r, id) != 0)
        return PL_HANDLER_DONE;
    json_t *frag;
    struct pl_ctx *ctx;
    if (is_scope_name(r->params[1]))
        /* 5.6.4.4, 5.6.19.4: "If the target Attribute is scope, then an error of type
         * BadRequestData shall be raised." */
        return pl_reply_error(r, PL_EBADREQUESTDATA,
                              "scope cannot be %s as an attribute: use the entity endpoints",
                              kind == JOB_ATTR_PATCH ? "updated" : "replaced");
    /* A partial update is an update fragment: its NGSI-LD Null deletes (5.6.4.4, 5.5.8). */
    unsigned flags = kind == JOB_ATTR_PATCH ? PL_PARSE_PARTIAL | PL_PARSE_ALLOW_NULL : 0;
    if (parse_payload(r, NULL, PL_PARSE_ATTR, flags, &frag, &ctx) != 0)
        return PL_HANDLER_DONE;
    const char *iri = attr_iri_or_reply(r, ctx);
    const struct pl_typesel *types;
    if (!iri || pl_api_type_selector_or_reply(r, ctx, &types) != 0)
        return PL_HANDLER_DONE;
    struct job *j = job_new(r, kind, id, frag);
    if (!j)
        return PL_HANDLER_DONE;
    j->types = types;
    j->attr_iri = iri;
    j->final_cont = cont_no_content;
    return submit_update(r, j);
}

int pl_api_attr_patch(struct pl_req *r)
{
    return attr_write(r, JOB_ATTR_PATCH);
}

int pl_api_attr_replace(struct pl_req *r)
{
    return attr_write(r, JOB_ATTR_REPLACE);
}

int pl_api_attr_delete(struct pl_req *r)
{
    const char *id = r->params[0];
    if (pl_api_entity_id_or_reply(r, id) != 0)
        return PL_HANDLER_DONE;
    struct pl_ctx *ctx;
    if (pl_api_context_or_reply(r, NULL, &ctx) != 0)
        return PL_HANDLER_DONE;
    /* 5.6.5.4: scope, a reserved name (4.6.2) elsewhere, is the one member this deletes. */
    const char *iri = is_scope_name(r->params[1]) ? "https://uri.etsi.org/ngsi-ld/scope"
                                                  : attr_iri_or_reply(r, ctx);
    const struct pl_typesel *types;
    if (!iri || pl_api_type_selector_or_reply(r, ctx, &types) != 0)
        return PL_HANDLER_DONE;
    const char *all = pl_req_arg(r, "deleteAll");
    const char *ds = pl_req_arg(r, "datasetId");
    if (all && strcmp(all, "true") != 0 && strcmp(all, "false") != 0)
        return pl_reply_error(r, PL_EBADREQUESTDATA, "deleteAll must be true or false");
    if (ds && !pl_is_uri(ds))
        return pl_reply_error(r, PL_EBADREQUESTDATA, "datasetId '%.200s' is not a URI", ds);
    struct job *j = job_new(r, JOB_ATTR_DELETE, id, NULL);
    if (!j)
        return PL_HANDLER_DONE;
    j->types = types;
    j->attr_iri = iri;
    j->dataset_id = ds;
    j->delete_all = all && strcmp(all, "true") == 0;
    j->final_cont = cont_no_content;
    return submit_update(r, j);
}
