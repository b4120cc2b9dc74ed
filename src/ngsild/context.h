/* SPDX-License-Identifier: Apache-2.0 */
/*
 * context.h — JSON-LD @context processing for NGSI-LD (clause 4.4, 5.5.7, Annex B).
 *
 * Pure logic, no I/O: a @context value (URL string, inline object, or array of both) is compiled
 * once into an immutable "active context": a hash table term -> IRI (with type coercion and
 * container), plus the inverse IRI -> best term for compaction, @vocab and prefixes. URL
 * references are resolved through a caller-supplied loader (the registry in ctxreg/ does the
 * fetching and caching). The NGSI-LD core context is built in (see pl_ctx_builtin_doc) and is
 * always applied LAST, so its terms win, as NGSI-LD requires.
 *
 * Only the JSON-LD 1.1 features that NGSI-LD payloads use are implemented: simple and expanded
 * term definitions (@id, @type incl. @id/@vocab/@json/datatypes, @container, @protected,
 * @prefix, @context (scoped, accepted and ignored for key expansion)), term unmapping (null),
 * compact IRIs (prefix:suffix), absolute IRIs, @vocab (incl. relative to the previous @vocab),
 * nested arrays of contexts, and documents whose @context is itself a URL or array.
 * @import is rejected (InvalidRequest). Equivalence with python3-pyld is checked by tests.
 *
 * Threading: a built struct pl_ctx is immutable and may be shared by any number of threads;
 * ref/unref are atomic.
 */
#ifndef PL_NGSILD_CONTEXT_H
#define PL_NGSILD_CONTEXT_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"

/* The URL of the core context our responses name in Link headers and inline @context. */
#define PL_CORE_CONTEXT_URL "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld"
/* The default vocabulary of the core context: terms no context defines expand under it. */
#define PL_DEFAULT_VOCAB "https://uri.etsi.org/ngsi-ld/default-context/"

/*
 * Loads the JSON document found at `url` (a remote context). On success returns 0 and sets
 * *doc to a NEW reference the caller must json_decref(). The document is the whole JSON file;
 * its "@context" member is the context. On failure returns PL_ELDCONTEXT (unreachable, timeout,
 * HTTP error) or PL_EBADREQUESTDATA (not JSON, too large) with words in *err.
 * May be called from any thread.
 */
typedef int (*pl_ctx_load_fn)(void *ud, const char *url, json_t **doc, struct pl_err *err);

struct pl_ctx; /* opaque, immutable, ref-counted */

/*
 * Returns the text of a built-in JSON-LD document for `url`, or NULL if `url` is not one of
 * them. Built in: every NGSI-LD core context URL from v1.3 to v1.9 (versioned and unversioned)
 * and the W3C data-integrity v2 context that core v1.9 scopes. Static storage; never free.
 */
const char *pl_ctx_builtin_doc(const char *url);

/*
 * Compiles an active context from `value`: NULL or JSON null (core context only), a string
 * (URL), an object (inline context), or an array of those. The core context is appended last.
 * `load` (with `ud`) resolves URLs that are not built in; it may be NULL, in which case any
 * non-built-in URL fails with PL_ELDCONTEXT. `max_depth` bounds URL-in-document recursion.
 * Returns 0 and a NEW reference in *out (release with pl_ctx_unref), or:
 *   PL_ELDCONTEXT      a referenced context could not be loaded;
 *   PL_EBADREQUESTDATA the context is not valid JSON-LD (e.g. invalid IRI mapping, bad @vocab);
 *   PL_EINVALIDREQUEST @import or another unsupported keyword was used;
 *   PL_ENOMEM.
 */
int pl_ctx_build(json_t *value, pl_ctx_load_fn load, void *ud, struct pl_ctx **out,
                 struct pl_err *err);

/* Reference counting. pl_ctx_ref returns its argument. pl_ctx_unref(NULL) is a no-op. */
struct pl_ctx *pl_ctx_ref(struct pl_ctx *c);
void pl_ctx_unref(struct pl_ctx *c);

/* The shared core-only context (built on first call, never freed; thread-safe). Borrowed. */
const struct pl_ctx *pl_ctx_core(void);

/*
 * Expands a term used as a property name or an entity type (vocab-relative IRI expansion,
 * JSON-LD 1.1 IRI Expansion with vocab=true): a defined term -> its IRI; prefix:suffix with a
 * defined prefix -> concatenation; an absolute IRI -> itself; otherwise @vocab + term.
 * Returns a NEW malloc'd string (free()), or NULL when the term cannot be expanded (no @vocab)
 * or out of memory.
 */
char *pl_ctx_expand(const struct pl_ctx *c, const char *term);

/*
 * Compacts an IRI for output (the inverse of pl_ctx_expand): the term mapped to exactly this
 * IRI (shortest, then lexicographically least, as JSON-LD's Term Selection), else a compact IRI
 * with a defined prefix, else vocab-relative when the IRI starts with @vocab, else the IRI.
 * Returns a NEW malloc'd string (free()), or NULL when out of memory.
 */
char *pl_ctx_compact(const struct pl_ctx *c, const char *iri);

/* Type coercion of the term whose IRI is `iri`, if any context term maps to it. */
enum pl_ctx_coerce {
    PL_CTX_COERCE_NONE = 0, /* no @type in the definition */
    PL_CTX_COERCE_ID,       /* "@type": "@id" */
    PL_CTX_COERCE_VOCAB,    /* "@type": "@vocab" */
    PL_CTX_COERCE_JSON,     /* "@type": "@json" */
    PL_CTX_COERCE_OTHER     /* a datatype IRI */
};
enum pl_ctx_coerce pl_ctx_coercion(const struct pl_ctx *c, const char *iri);

/*
 * The @context value this context was built from (borrowed; JSON null for core-only). Used to
 * echo the requester's context in application/ld+json responses, followed by the core URL.
 */
const json_t *pl_ctx_source(const struct pl_ctx *c);

/* Number of terms in the table (for tests and the /jsonldContexts details). */
size_t pl_ctx_term_count(const struct pl_ctx *c);

/*
 * pl_ctx_compact without the malloc, for hot read paths: returns the compacted form of `iri`
 * (same result as pl_ctx_compact), BORROWED from `c` (valid while the caller holds its reference
 * to `c`), unless *owned is set: then the result is *owned, a malloc'd copy the caller must
 * free(). Results are memoized per context (bounded; lock-free; any thread). Returns NULL only
 * when out of memory.
 */
const char *pl_ctx_compact_borrowed(const struct pl_ctx *c, const char *iri, char **owned);

#endif
