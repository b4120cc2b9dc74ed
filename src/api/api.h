/* SPDX-License-Identifier: Apache-2.0 */
/*
 * api.h — the NGSI-LD resources (one file each) and the helpers every handler shares. Handlers
 * follow one path: parse -> validate -> act (store) -> serialize. Helpers whose names end in
 * _or_reply have already answered with a ProblemDetails when they return non-zero, so the
 * handler just returns PL_HANDLER_DONE (Redis's "OrReply").
 */
#ifndef PL_API_API_H
#define PL_API_API_H

#include <jansson.h>
#include <stddef.h>

#include "http/http.h"
#include "ngsild/context.h"

/* The route table of the whole API (api/routes.c). */
extern const struct pl_route pl_api_routes[];
extern const size_t pl_api_n_routes;

/* Handlers, by resource file. */
int pl_api_health(struct pl_req *r);
int pl_api_version(struct pl_req *r);
int pl_api_metrics(struct pl_req *r);
int pl_api_entity_create(struct pl_req *r);
int pl_api_entity_get(struct pl_req *r);
int pl_api_entity_delete(struct pl_req *r);
int pl_api_entity_replace(struct pl_req *r);
int pl_api_entity_merge(struct pl_req *r);
int pl_api_attrs_append(struct pl_req *r);
int pl_api_attrs_update(struct pl_req *r);
int pl_api_attr_patch(struct pl_req *r);
int pl_api_attr_replace(struct pl_req *r);
int pl_api_attr_delete(struct pl_req *r);
int pl_api_contexts_add(struct pl_req *r);
int pl_api_contexts_list(struct pl_req *r);
int pl_api_contexts_get(struct pl_req *r);
int pl_api_contexts_delete(struct pl_req *r);
int pl_api_batch_create(struct pl_req *r);
int pl_api_batch_upsert(struct pl_req *r);
int pl_api_batch_update(struct pl_req *r);
int pl_api_batch_delete(struct pl_req *r);
int pl_api_batch_merge(struct pl_req *r);

/*
 * Parses the request body as JSON. On success returns 0 and *out (borrowed: released with the
 * request). Malformed JSON answers InvalidRequest naming line, column and byte position.
 * `want_object`: a non-object answers BadRequestData.
 */
int pl_api_body_or_reply(struct pl_req *r, int want_object, json_t **out);

/*
 * Resolves the request's @context (clause 6.3.5): for a body with Content-Type
 * application/ld+json, its "@context" member (required; removed from the body); for
 * application/json, the Link header (the body must have no "@context"); for GET/DELETE the Link
 * header; otherwise the core context. Returns 0 and *out (borrowed: released with the request).
 */
int pl_api_context_or_reply(struct pl_req *r, json_t *body, struct pl_ctx **out);

/* The same without answering, for the elements of a batch (each validated on its own): returns
 * 0 and *out (a NEW reference: pl_ctx_unref), or a PL_E* code with *err filled. */
int pl_api_context_resolve(struct pl_req *r, json_t *body, struct pl_ctx **out, struct pl_err *err);

/*
 * Answers 200 with `doc` (borrowed) in the negotiated representation: application/json with a
 * Link header naming the request's context, or application/ld+json (and geo+json) with an
 * "@context" member added to each object of `doc` (an object or an array of objects).
 */
void pl_api_reply_with_context(struct pl_req *r, int status, json_t *doc);

/* The two halves of pl_api_reply_with_context, for handlers that write their own body text:
 * the Link header of an application/json answer, and the "@context" member value of an
 * application/ld+json one as JSON text (a NEW malloc'd string, free() it; NULL: out of memory). */
void pl_api_add_context_link(struct pl_req *r);
char *pl_api_context_member_text(struct pl_req *r);

/*
 * The URL of the @context the request used (after pl_api_context_or_reply): the Link header URL,
 * the URL of the ImplicitlyCreated entry of an inline or multi-URL body @context (5.13.1), or the
 * core context URL when the request had none. keep=1 when the URL is stored beyond the request
 * (a subscription's "jsonldContext", 5.2.12): the implicit entry is then persisted and never
 * evicted (see pl_ctxreg_context_url). Returns a NEW malloc'd string (free()), NULL when out of
 * memory.
 */
char *pl_api_context_url(struct pl_req *r, int keep);

/*
 * Answers the ProblemDetails of `e`, except that ResourceNotFound in a tenant that does not
 * exist becomes NonexistentTenant (NGSI-LD 5.5.10). Returns PL_HANDLER_DONE.
 */
int pl_api_problem(struct pl_req *r, const struct pl_err *e);

/* Answers 201 Created with "Location: <collection><id>" (id percent-encoded as one path
 * segment). Returns PL_HANDLER_DONE. */
int pl_api_reply_created(struct pl_req *r, const char *collection, const char *id);

/* Validates an entity id taken from the path; answers BadRequestData when it is not a URI. */
int pl_api_entity_id_or_reply(struct pl_req *r, const char *id);

/* The `type` URL parameter of the operations on one entity (4.17 selection; 5.6.2-5.6.6,
 * 5.6.17-5.6.19: "where specified type"), parsed and expanded with `ctx`. *out is NULL when the
 * parameter is absent, else a tree borrowed until the request ends (match it with
 * pl_typesel_match). Returns 0, or -1 after answering BadRequestData. */
struct pl_typesel;
int pl_api_type_selector_or_reply(struct pl_req *r, const struct pl_ctx *ctx,
                                  const struct pl_typesel **out);

/* Splits a comma-separated parameter into items (pointers into a copy released with the
 * request). Returns the count (0 when absent), -1 when an item is empty (answered). */
int pl_api_split_or_reply(struct pl_req *r, const char *param, const char *value,
                          const char ***items);

/* Query handlers (api/query.c): GET /entities, POST /entityOperations/query, purge, and the
 * /types and /attributes discovery resources. */
int pl_api_entities_query(struct pl_req *r);
int pl_api_entities_query_post(struct pl_req *r);
int pl_api_entities_purge(struct pl_req *r);
int pl_api_types_list(struct pl_req *r);
int pl_api_type_get(struct pl_req *r);
int pl_api_attributes_list(struct pl_req *r);
int pl_api_attribute_get(struct pl_req *r);

/* The temporal API (api/temporal.c). */
int pl_api_temporal_create(struct pl_req *r);
int pl_api_temporal_query(struct pl_req *r);
int pl_api_temporal_query_post(struct pl_req *r);
int pl_api_temporal_get(struct pl_req *r);
int pl_api_temporal_delete(struct pl_req *r);
int pl_api_temporal_attrs_add(struct pl_req *r);
int pl_api_temporal_attr_delete(struct pl_req *r);
int pl_api_temporal_instance_patch(struct pl_req *r);
int pl_api_temporal_instance_delete(struct pl_req *r);

/* Subscriptions (api/subscriptions.c). */
int pl_api_subscription_create(struct pl_req *r);
int pl_api_subscriptions_list(struct pl_req *r);
int pl_api_subscription_get(struct pl_req *r);
int pl_api_subscription_patch(struct pl_req *r);
int pl_api_subscription_delete(struct pl_req *r);

/* Shared by the readers (api/retrieve.c): format= and options= into *o (6.3.7); a
 * comma-separated list parameter expanded to IRIs (kept as written: "id" and "type" when
 * keep_members). Each returns 0, or -1 after answering. */
struct pl_render_opts;
int pl_api_representation_or_reply(struct pl_req *r, struct pl_render_opts *o);
int pl_api_expand_list_or_reply(struct pl_req *r, struct pl_ctx *ctx, const char *param,
                                int keep_members, const char *const **out, size_t *n_out);
/* datasetId= (4.5.5: URIs or "@none"): the list in *out (owned by the request) and its
 * length, or -1 after answering; pl_api_datasets_or_reply puts it into o->datasets. */
int pl_api_dataset_list_or_reply(struct pl_req *r, const char ***out);
int pl_api_datasets_or_reply(struct pl_req *r, struct pl_render_opts *o);

#endif
