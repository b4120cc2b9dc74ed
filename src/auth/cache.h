/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cache.h — the credential cache: verified credentials (API keys, Polis access tokens, external
 * JWTs) -> their principal, so that authenticating a request that repeats a credential costs one
 * keyed hash of it and a lookup (docs/security.md "Principals and credentials").
 *
 * Keys are a keyed BLAKE2b-256 of the credential text (the hash key is random per process), so
 * the cache never holds a credential in clear and two credentials never share an entry in
 * practice. Entries carry an absolute expiry (ms since the epoch, pl_time_now_ms): the caller
 * chooses it as the earlier of the credential's own expiry and a short lifetime after which the
 * credential is checked against the store again (what bounds how long a revocation made
 * elsewhere, e.g. by the CLI on a running server, takes to apply).
 *
 * Bounded: at most `max_entries` entries; a full neighbourhood evicts its entry that expires
 * first. Thread-safe (sharded locks): network threads share one cache.
 */
#ifndef PL_AUTH_CACHE_H
#define PL_AUTH_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct pl_principal;
struct pl_auth_cache; /* opaque */

/* A cache of at most max_entries (rounded up; 0: 16384). NULL when out of memory. */
struct pl_auth_cache *pl_auth_cache_new(size_t max_entries);
/* Frees the cache and releases the references it holds. NULL is a no-op. */
void pl_auth_cache_free(struct pl_auth_cache *c);

/* The principal cached for the credential `cred` (len bytes) if its entry has not expired at
 * now_ms: a NEW reference (pl_principal_unref), or NULL. */
struct pl_principal *pl_auth_cache_get(struct pl_auth_cache *c, const char *cred, size_t len,
                                       int64_t now_ms);

/* Caches `p` for `cred` until expires_ms (the cache takes its own reference; the caller keeps
 * its own). Replaces an entry of the same credential. */
void pl_auth_cache_put(struct pl_auth_cache *c, const char *cred, size_t len,
                       struct pl_principal *p, int64_t expires_ms);

/* Drops the entry of one credential (logout). */
void pl_auth_cache_remove(struct pl_auth_cache *c, const char *cred, size_t len);

/* Drops every entry whose principal's name is `name` (a revoked key "key:<id>", a deleted
 * user): effective at once for the next request. Returns how many were dropped. */
size_t pl_auth_cache_forget(struct pl_auth_cache *c, const char *name);

/* Entries currently held (expired ones included until they are evicted or looked up). */
size_t pl_auth_cache_count(struct pl_auth_cache *c);

#endif
