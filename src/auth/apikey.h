/* SPDX-License-Identifier: Apache-2.0 */
/*
 * apikey.h — API keys (issue 12): created by an admin (CLI `polis key add`, POST /polis/v1/keys),
 * shown once, stored hashed, scoped to a role, a tenant (or all tenants), optionally entity
 * types and (devices) bound entity ids, with an expiry; revocable.
 *
 * Text: "plk_<id>_<secret>" (auth/credparse.h). The store keeps the record
 * {"id","hash","role","tenant","types","entities","expiresAt","revoked","createdAt"} under kind
 * "apikey" (store.h "Credentials"): `hash` is the hex BLAKE2b-256 of the whole key text, never
 * the key.
 */
#ifndef PL_AUTH_APIKEY_H
#define PL_AUTH_APIKEY_H

#include <jansson.h>
#include <stdint.h>

#include "auth/auth.h"
#include "auth/credparse.h"
#include "base/err.h"

struct pl_store;

#define PL_CRED_KIND_APIKEY "apikey"

struct pl_apikey_spec {
    enum pl_role role;
    const char *tenant;             /* NULL: the default tenant ("" ), or all tenants for an
                                       admin; "*": all tenants */
    const char *const *types;       /* entity types of the grant (may be NULL) */
    size_t n_types;
    const char *const *entities;    /* bound entity ids (device role; may be NULL) */
    size_t n_entities;
    int64_t expires_ms;             /* absolute expiry (ms since the epoch); 0: never */
};

/* 1 when `t` is a tenant a credential may name: "" (default), "*" (all) or an NGSILD-Tenant
 * name (1..64 of [A-Za-z0-9_-]). */
int pl_auth_tenant_valid(const char *t);

/*
 * Creates a key: random id and secret, the record stored (hash only). key (PL_APIKEY_LEN + 1
 * bytes) receives the text, shown to the caller once; *rec (may be NULL) a NEW reference to the
 * record as listed (pl_apikey_public). Returns 0 or PL_EBADREQUESTDATA (bad spec) / a store
 * error.
 */
int pl_apikey_create(struct pl_store *s, const struct pl_apikey_spec *spec, char *key,
                     json_t **rec, struct pl_err *err);

/* Marks key `id` revoked (kept, for the audit of what it did). PL_ENOTFOUND when unknown. */
int pl_apikey_revoke(struct pl_store *s, const char *id, struct pl_err *err);

/* The record without its hash (what lists and 201 bodies show). NEW reference or NULL. */
json_t *pl_apikey_public(const json_t *rec);

/* Every key, without hashes (NEW array). */
int pl_apikey_list(struct pl_store *s, json_t **out, struct pl_err *err);

/*
 * Verifies the key text tok (len bytes) at now_ms: well-formed, known, hash equal
 * (sodium_memcmp), not revoked, not expired. 0 and *out (a NEW principal, cred PL_CRED_APIKEY,
 * name "key:<id>") and *expires_ms (the key's expiry, INT64_MAX when none); PL_EUNAUTHORIZED
 * when refused (one answer for every reason); another code when the store failed.
 */
int pl_apikey_verify(struct pl_store *s, const char *tok, size_t len, int64_t now_ms,
                     struct pl_principal **out, int64_t *expires_ms, struct pl_err *err);

/* Parses a key lifetime: ISO 8601 (P30D, PT1H, P1DT12H, P2W; years and months refused as
 * ambiguous) or a plain number of seconds. 0 and *ms (> 0), or -1. */
int pl_auth_duration_parse(const char *s, int64_t *ms);

#endif
