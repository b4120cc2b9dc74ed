/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_int.h — helpers shared by store.c and the backends (not for callers of the store):
 * the parts of the internal entity form that backends index, in comparable text form, and the
 * one serialization of an entity body that every backend stores.
 */
#ifndef PL_STORE_STORE_INT_H
#define PL_STORE_STORE_INT_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "store/store.h"

/* The entity's "type" array as compact JSON ("[]" when absent). NEW malloc'd or NULL (OOM). */
char *pl_store__types_text(const json_t *entity);

/* Every GeoProperty instance's attribute, datasetId and value, in document order, as compact
 * JSON: equal strings mean equal geometry side data. NEW malloc'd or NULL (OOM). */
char *pl_store__geo_fingerprint(const json_t *entity);

/* The stored body text of `entity`: compact JSON with shortest round-trip reals.
 * NEW malloc'd (length in *len) or NULL (OOM). */
char *pl_store__serialize(const json_t *entity, size_t *len);

/* ------------------------------------------------------------------------------------------
 * Index keys (ix.c): everything a backend indexes of one entity, sorted and without duplicates,
 * so that a backend updating an entity writes only the difference between the old and the new
 * keys. Built on the network thread for prepared writes, on the writer for the others.
 * ---------------------------------------------------------------------------------------- */

/* Pseudo attribute under which the entity's scopes are indexed (never an IRI: no ':'). */
#define PL_STORE_IX_SCOPE "@scope"
/* Pseudo attribute under which the entity's earliest expiresAt (4.22: of the entity or of one
 * of its attribute instances) is indexed, as a DATETIME value (never an IRI: no ':'). */
#define PL_STORE_IX_EXPIRES "@expires"
/* Pseudo type under which the tenant-wide discovery counters are kept (never an IRI). */
#define PL_ALL_TYPES "@all"
/* Value class of the row that says "this attribute exists but has no comparable value" (a
 * GeoProperty, a JSON object value...). The other classes are enum pl_qv_kind (query/q.h). */
#define PL_STORE_IX_EXISTS 9

/* One comparable value of one attribute: `k` is a pl_qv_kind (or PL_STORE_IX_EXISTS); `str` is
 * set for STRING and URI, `num` for NUMBER, DATETIME (epoch ms) and BOOL (0/1). */
struct pl_store_ixval {
    const char *attr;
    int k;
    double num;
    const char *str;
};

/* One (attribute, attribute kind) pair, for the discovery counters (/types, /attributes). */
struct pl_store_ixak {
    const char *attr;
    const char *kind; /* "Property", "Relationship", ... */
    int n;            /* instances of the attribute with this kind (datasetIds) */
};

struct pl_store_ix {
    char *types_text;   /* the "type" array, compact JSON */
    char *geo_fp;       /* pl_store__geo_fingerprint */
    const char **types; /* type IRIs, sorted, unique */
    size_t n_types;
    struct pl_store_ixval *vals; /* sorted by pl_store__ixval_cmp, unique */
    size_t n_vals;
    struct pl_store_ixak *aks; /* sorted by pl_store__ixak_cmp, unique (n sums) */
    size_t n_aks;
    char **strs; /* every string above (owned) */
    size_t n_strs;
};

/* Fills *ix from `entity` (borrowed; ix copies what it keeps). Returns 0 or PL_ENOMEM (then *ix
 * is empty). Free with pl_store__ix_free. */
int pl_store__ix_build(const json_t *entity, struct pl_store_ix *ix);
void pl_store__ix_free(struct pl_store_ix *ix); /* NULL and an empty ix are fine */
int pl_store__ixval_cmp(const struct pl_store_ixval *x, const struct pl_store_ixval *y);
int pl_store__ixak_cmp(const struct pl_store_ixak *x, const struct pl_store_ixak *y);
int pl_store__ix_same_types(const struct pl_store_ix *a, const struct pl_store_ix *b);
int pl_store__ix_same_aks(const struct pl_store_ix *a, const struct pl_store_ix *b);

/* ------------------------------------------------------------------------------------------
 * Transient entities and attributes (expire.c, NGSI-LD 4.22).
 * ---------------------------------------------------------------------------------------- */

/* The earliest expiresAt (ms) of the entity and its attribute instances; INT64_MAX: none. */
int64_t pl_store__expires_first(const json_t *entity);
/* What is left of `cur` (borrowed) at now_ms: returns 1 and *next NULL when the entity itself
 * expired, 1 and *next NEW (the entity without its expired instances, modifiedAt now) when some
 * instances expired, 0 when nothing did, -1 on OOM. */
int pl_store__expire(const json_t *cur, int64_t now_ms, json_t **next);

/* ------------------------------------------------------------------------------------------
 * Attribute history rows (hist.c). A batch owns its rows' body texts; the attr and dataset_id
 * strings are borrowed from the JSON the rows were made from.
 * ---------------------------------------------------------------------------------------- */
struct pl_hist_batch {
    struct pl_hist_inst *rows;
    size_t n, cap;
};
void pl_store__hist_batch_free(struct pl_hist_batch *b);
/* One row for `inst` of `attr`: a copy stamped createdAt = modifiedAt = now (deletedAt too for
 * a deletion; keep_created keeps the instance's createdAt). Returns 0 or PL_ENOMEM. */
int pl_store__hist_add_row(struct pl_hist_batch *b, const char *attr, const json_t *inst,
                           int64_t now, int deletion, int keep_created);
/* The rows of the change before -> after (either NULL: created / deleted). */
int pl_store__hist_diff(const json_t *before, const json_t *after, int64_t now,
                        struct pl_hist_batch *b);
/* The rows of a temporal fragment {"attrs": {IRI: [instance...]}}. */
int pl_store__hist_fragment(const json_t *frag, int64_t now, struct pl_hist_batch *b);
/* 1 when the policy records history for entity `e` of `tenant`. */
int pl_store__hist_wanted(const struct pl_hist_policy *p, const char *tenant, const json_t *e);

/* For the store's own files beside store.c (audit.c, tenants.c): the backend, and running `fn`
 * on the writer thread in its own savepoint of the next group commit, waiting for the result. */
const struct pl_store_ops *pl_store__ops(const struct pl_store *s);
void *pl_store__be(const struct pl_store *s);
int pl_store__on_writer(struct pl_store *s, int (*fn)(void *be, void *arg, struct pl_err *err),
                        void *arg, struct pl_err *err);

#endif
