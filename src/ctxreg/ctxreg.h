/* SPDX-License-Identifier: Apache-2.0 */
/*
 * ctxreg.h — the @context registry: turns the @context of a request into a compiled active
 * context (ngsild/context.h), fetching remote contexts with libcurl (timeouts, size cap,
 * redirect cap), caching compiled contexts in memory, persisting downloaded and hosted context
 * documents in the store, preloading "URL -> file" mappings for air-gapped cities, and serving
 * the /jsonldContexts API (NGSI-LD clause 5.13, 6.29, 6.30).
 *
 * Rules:
 *  - The core context is built in; a core URL of any version (v1.3 .. v1.9) never touches the
 *    network (pl_ctx_builtin_doc).
 *  - A failed or invalid download is never cached: the next request tries again.
 *  - A hosted context (POST /jsonldContexts) is served at <self_url>/ngsi-ld/v1/jsonldContexts/<id>
 *    and a request naming that URL resolves locally, without HTTP.
 *  - Compiled contexts are cached by the canonical text of the @context value, so a request whose
 *    @context was seen before costs one hash lookup.
 *
 * Kinds of registry entries (clause 5.13.3): "Hosted" (POSTed to us), "Cached" (downloaded or
 * preloaded from a remote URL), "ImplicitlyCreated" (5.13.1: every inline or multi-URL @context
 * (an object or an array) seen in a request; localId = a hash of its canonical JSON text, so
 * stable; served at <self_url>/ngsi-ld/v1/jsonldContexts/<localId>; the least recently used
 * beyond max_cached are dropped, except those pl_ctxreg_context_url kept, which are persisted).
 *
 * Threading: every function is thread-safe.
 */
#ifndef PL_CTXREG_CTXREG_H
#define PL_CTXREG_CTXREG_H

#include <jansson.h>

#include "base/err.h"
#include "net/guard.h"
#include "ngsild/context.h"
#include "store/store.h"

struct pl_ctxreg; /* opaque */

struct pl_ctxreg_config {
    const char *self_url;      /* e.g. "http://127.0.0.1:1026": base of hosted-context URLs */
    const char *preload_dir;   /* directory with a "preload.map" file ("URL file" per line,
                                  file relative to the directory); NULL = none */
    long fetch_timeout_ms;     /* whole-transfer timeout of one download (default 5000) */
    long connect_timeout_ms;   /* connect timeout (default 2000) */
    size_t max_doc_bytes;      /* largest context document accepted (default 1 MiB) */
    long max_redirects;        /* redirects followed (default and at most 3: the guard's cap) */
    const struct pl_guard *guard; /* outbound guard every download goes through (borrowed, must
                                     outlive the registry; NULL = the guard's defaults) */
    int max_cached;            /* most compiled contexts kept in memory (default 1024) */
    long cached_ttl_ms;        /* a downloaded ("Cached") document older than this is downloaded
                                  again when next used (5.13.1: Cached contexts are invalidated
                                  periodically; heuristic, default 24 h); a failed download keeps
                                  the old copy. Preloaded and built-in documents never expire. */
};

/*
 * Creates a registry. `store` (borrowed, may be NULL in unit tests) persists hosted and cached
 * documents; they are loaded back from it here. Returns 0 and *out (free with
 * pl_ctxreg_free), or an error (e.g. an unreadable preload map: PL_EINTERNAL with words).
 */
int pl_ctxreg_new(const struct pl_ctxreg_config *cfg, struct pl_store *store,
                  struct pl_ctxreg **out, struct pl_err *err);
void pl_ctxreg_free(struct pl_ctxreg *r);

/*
 * Resolves a request's @context (`value` borrowed: NULL/JSON null = core only; a URL string;
 * an object; an array) into an active context. Returns 0 and a NEW reference in *out
 * (pl_ctx_unref), or PL_ELDCONTEXT (a URL could not be loaded), PL_EBADREQUESTDATA (invalid
 * context), PL_EINVALIDREQUEST, PL_ENOMEM.
 */
int pl_ctxreg_resolve(struct pl_ctxreg *r, json_t *value, struct pl_ctx **out,
                      struct pl_err *err);

/*
 * The URL of the @context a request used, for whoever must name it after the request: a
 * subscription's "jsonldContext" (5.2.12), the Link header of an application/json answer.
 * `value` (borrowed) is the request's @context as given (the Link header URL as a JSON string,
 * or the body's "@context" member), NULL or JSON null when the request had none:
 *  - NULL / null   -> the core context URL (PL_CORE_CONTEXT_URL);
 *  - a string      -> that URL, unchanged;
 *  - object/array  -> the URL of its ImplicitlyCreated entry (5.13.1, 5.13.3), created when new;
 *                     GET /jsonldContexts/{localId} serves it. keep=1 (a subscription) also
 *                     persists the entry and exempts it from eviction, so the URL outlives the
 *                     request and restarts; keep=0 (a Link header) does not.
 * Call it after pl_ctxreg_resolve succeeded on the same value (only valid contexts get entries).
 * Returns 0 and *url_out (NEW malloc'd string, free() it), or PL_EBADREQUESTDATA (a value that is
 * no @context: a number, a boolean) or PL_ENOMEM; *url_out is NULL on error.
 */
int pl_ctxreg_context_url(struct pl_ctxreg *r, const json_t *value, int keep, char **url_out,
                          struct pl_err *err);

/*
 * POST /jsonldContexts (5.13.2): `body` (borrowed) must be an object with an "@context" member
 * whose value is an object or array (not a bare URL: that is BadRequestData), and must compile.
 * Stores it as "Hosted"; returns 0 and *url_out (NEW malloc'd string: the URL where it is
 * served, for the Location header), or an error.
 */
int pl_ctxreg_add(struct pl_ctxreg *r, json_t *body, char **url_out, struct pl_err *err);

/*
 * GET /jsonldContexts (5.13.3): with details=0 a JSON array of URLs; with details=1 an array of
 * objects {"URL", "localId", "kind", "createdAt", "lastUsage", "numberOfHits"} (5.2.40? per
 * clause 5.13.3). `kind` (NULL = all, else "Hosted", "Cached", "ImplicitlyCreated") filters;
 * an unknown kind is PL_EBADREQUESTDATA. Returns 0 and a NEW reference in *out.
 */
int pl_ctxreg_list(struct pl_ctxreg *r, int details, const char *kind, json_t **out,
                   struct pl_err *err);

/*
 * GET /jsonldContexts/{contextId} (5.13.4). `id` (IN) is the localId or the URL of an entry (the
 * full, decoded URL: 5.13.4.3); a core context URL of any version names the built-in core entry.
 * `details` (IN): 1 = the entry's metadata, the same object pl_ctxreg_list gives with details;
 * 0 = the document ({"@context": ...}), only for Hosted and ImplicitlyCreated entries: a Cached
 * one (the core context included) is PL_EOPNOTSUPPORTED (5.13.4.4).
 * Returns 0 and a NEW reference in *out (OUT), or PL_EBADREQUESTDATA (empty id), PL_ENOTFOUND,
 * PL_EOPNOTSUPPORTED, PL_ENOMEM; *out is NULL on error.
 */
int pl_ctxreg_get(struct pl_ctxreg *r, const char *id, int details, json_t **out,
                  struct pl_err *err);

/*
 * DELETE /jsonldContexts/{contextId} (5.13.5). `id` as for pl_ctxreg_get. reload=0 removes the
 * entry (and its compiled forms); reload=1 re-downloads a Cached entry (a Hosted one cannot be
 * reloaded: PL_EBADREQUESTDATA) and replaces its document. A download that fails, or a document
 * that is not a valid @context document (no "@context" member, or one that does not compile), is
 * PL_ELDCONTEXT and keeps the old document (5.13.5.4). The core context cannot be deleted
 * (PL_EBADREQUESTDATA); reloading it succeeds and changes nothing (it is built in). PL_ENOTFOUND
 * when unknown, except with reload=1: an unknown id has no Cached context to reload, which is
 * PL_EBADREQUESTDATA (6.30.3.2); PL_ENOTFOUND also for an entry deleted while its reload was
 * downloading; PL_ENOMEM only when memory runs out.
 */
int pl_ctxreg_delete(struct pl_ctxreg *r, const char *id, int reload, struct pl_err *err);

#endif
