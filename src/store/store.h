/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store.h — THE storage interface. Everything above this line (api/, main.c) talks to storage
 * only through the pl_store_* functions below; every backend (sqlite/ now, pg/ later) is one
 * const struct pl_store_ops table behind them (SQLite's sqlite3_vfs pattern: the table carries a
 * version; members are only ever appended, and each addition raises the version).
 *
 * Backends see only expanded, validated data: entities in the internal form documented in
 * ngsild/entity.h and docs/store-schema.md. They never see HTTP, JSON-LD contexts or
 * ProblemDetails.
 *
 * Writes: one writer thread per store owns the write connection. Callers submit writes
 * (pl_store_write_async / _sync); the writer takes everything queued, runs it in ONE transaction
 * with a savepoint per write (so one failing write does not fail its neighbours), commits, then
 * reports each write's own result (group commit). A write is a read-modify-write callback run
 * inside the transaction, so concurrent updates to one entity are serialised and never lost.
 * A write reported successful is committed (WAL, synchronous=NORMAL: survives a process crash;
 * synchronous=FULL (sync_full) also survives power loss).
 *
 * Reads run on per-thread read connections beside the writer (WAL) and see committed data.
 */
#ifndef PL_STORE_STORE_H
#define PL_STORE_STORE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

struct pl_store;       /* opaque */
struct pl_hist_policy; /* below */
struct pl_store_ix;    /* the index keys of an entity (store_int.h) */

struct pl_store_config {
    const char *url; /* backend URL: "sqlite:<dir>" or a bare directory path (SQLite);
                        "postgresql://..." is reserved for the PostgreSQL backend */
    int sync_full;   /* 1: synchronous=FULL (power-loss safe), 0: NORMAL (crash safe) */
    int max_batch;   /* most writes per group commit (0: default 1024) */
    const struct pl_hist_policy *history; /* attribute history (NULL: none recorded) */
};

/* Capability bits a backend advertises (curl SSLSUPP_* style). */
#define PL_STORE_CAP_GEO_NATIVE 0x1u /* geometry indexed natively (SpatiaLite / PostGIS) */
#define PL_STORE_CAP_TEMPORAL   0x2u /* keeps attribute history */

/* ------------------------------------------------------------------------------------------
 * Queries (NGSI-LD 5.7.2). Everything is already parsed, validated and expanded by the caller:
 * the backend translates it (store/sqlite/query.c: into SQL over its indexes). An entity
 * matches when it meets every condition given (NULL / 0 = no condition).
 * ---------------------------------------------------------------------------------------- */
struct pl_q_node;
struct pl_typesel;
struct pl_scopeq;
struct pl_geoq;

/* One EntitySelector (5.2.33) among several: id list, id pattern, type selection. */
struct pl_store_selector {
    const char *const *ids;
    size_t n_ids;
    const void *id_regex;
    const struct pl_typesel *types;
};

/* Which entities a principal may read (issue 12, auth/read.h): an entity is readable when one
 * of its types is readable (type_readable), its id is one of `ids` (a device's bindings), or it
 * is owned by `owner` (an enterprise: the owners the authorization part records). Everything
 * borrowed for the call. */
struct pl_store_read {
    int (*type_readable)(void *ud, const char *type_iri); /* NULL: no type is */
    void *ud;
    const char *const *ids;
    size_t n_ids;
    const char *owner; /* NULL: none */
};

struct pl_store_query {
    const char *tenant;                   /* "" default */
    const struct pl_store_selector *sels; /* several selectors: an entity matches ANY of them */
    size_t n_sels;                        /* (one selector goes into ids/id_regex/types below) */
    const char *const *ids;               /* id is one of these */
    size_t n_ids;
    const void *id_regex;           /* a compiled regex_t (POSIX ERE) the id must match */
    const char *id_pattern;         /* its text (optional: lets an anchored literal prefix
                                       use the id index) */
    const struct pl_typesel *types; /* type selection (query/typesel.h), names resolved */
    const struct pl_q_node *q;      /* q (query/q.h), resolved */
    const struct pl_scopeq *scope;  /* scopeQ (query/scopeq.h) */
    const struct pl_geoq *geo;      /* geo-query (query/geoq.h) */
    const char *geo_attr;           /* its expanded geoproperty IRI */
    const char *const *attrs;       /* 5.7.2: the entity has at least one of these IRIs */
    size_t n_attrs;
    int64_t limit, offset; /* rows wanted; limit 0: none (count only) */
    int count;             /* 1: compute the number of matches */
    const struct pl_store_read *read; /* only entities the principal may read (issue 12);
                                         NULL: every entity; rows, count and paging see only
                                         the readable ones */
};

/* Called once per matching entity, in the query's order, with its stored body text (borrowed
 * for the call). Returning non-zero stops the query (that value is returned). */
typedef int (*pl_store_row_fn)(void *ud, const char *body, size_t len);

/* What pl_store_discover computes (5.7.5-5.7.10), from counters, never by scanning entities. */
enum pl_store_discover {
    PL_DISCOVER_TYPES, /* [ {"type": IRI, "count": n, "attrs": {IRI: [kinds]},
                          "attrCounts": {IRI: n}} ... ] */
    PL_DISCOVER_TYPE,  /* one of the above for `iri` (PL_ENOTFOUND when none) */
    PL_DISCOVER_ATTRS, /* [ {"attr": IRI, "count": n, "types": [IRI...], "kinds": [..]} ] */
    PL_DISCOVER_ATTR   /* one of the above for `iri` (PL_ENOTFOUND when none) */
};

/* ------------------------------------------------------------------------------------------
 * Attribute history (NGSI-LD temporal API; the contract is docs/temporal.md). The store itself
 * records history: every committed entity write appends, in the same savepoint, one instance
 * per attribute instance the write created or changed and a deletion instance per instance it
 * removed (store/hist.c computes them from the entity before and after the write). Backends
 * keep instances append-only, indexed by (entity, attribute, time).
 *
 * Times are UTC epoch milliseconds; PL_HIST_NONE marks "no such time".
 * ---------------------------------------------------------------------------------------- */
#define PL_HIST_NONE INT64_MIN
/* The attribute under which an entity's Scope evolution is recorded (4.5.6: the Scope is a
 * temporal Property): the core context's expansion of "scope". */
#define PL_HIST_SCOPE_ATTR "https://uri.etsi.org/ngsi-ld/scope"

/* What is recorded; set once at open, read-only afterwards. */
struct pl_hist_retention {
    const char *type;   /* type IRI, or NULL for every type */
    int64_t max_age_ms; /* 0: no age limit */
    int64_t max_count;  /* 0: no count limit (per entity attribute) */
};
struct pl_hist_policy {
    int off;                        /* 1: record nothing */
    int purge_on_delete;            /* 1: deleting an entity deletes its history */
    const char *const *off_tenants; /* tenants without history ("" the default one) */
    size_t n_off_tenants;
    const char *const *off_types; /* type IRIs without history */
    size_t n_off_types;
    const struct pl_hist_retention *retention;
    size_t n_retention;
};

/* One attribute instance to write (borrowed strings). */
struct pl_hist_inst {
    const char *attr;       /* attribute IRI */
    const char *dataset_id; /* NULL: the default instance */
    const char *body;       /* the instance (internal form, compact JSON, with createdAt,
                               modifiedAt, [observedAt], [deletedAt]) */
    size_t len;
    int64_t obs, cre, mdf, del; /* its Temporal Properties (PL_HIST_NONE when absent) */
    int kind;                   /* PL_HV_* class of the value, for aggregation eligibility */
    double num;                 /* the value as a number (PL_HV_NUMBER/BOOL/ARRAY), else 0 */
};
/* Value classes (4.5.19.1 tables). */
enum {
    PL_HV_NULL,
    PL_HV_NUMBER,
    PL_HV_BOOL,
    PL_HV_STRING,
    PL_HV_OBJECT,
    PL_HV_ARRAY,
    PL_HV_REL,
    PL_HV_OTHER
};

/* What a temporal DELETE removes: the whole history of `id` (attr NULL, iid 0), one attribute
 * (its default instance, one datasetId, or all), or one instance. */
struct pl_hist_del {
    const char *id;
    const char *attr;
    const char *dataset_id;
    int all_datasets;
    int64_t iid;
};

/* Which instances a read wants. */
struct pl_hist_query {
    const char *tenant;
    const char *id;
    const char *const *attrs; /* attribute IRIs; NULL: all */
    size_t n_attrs;
    int prop;       /* enum pl_timeprop (query/temporalq.h) */
    int rel;        /* enum pl_timerel */
    int64_t t1, t2; /* timeAt, endTimeAt */
    int64_t last_n; /* per attribute: the last n (0: all) */
    int64_t max;    /* per attribute: at most this many rows (0: no limit) */
};

/* A temporal entity: id, its last types and scope (compact JSON; scope NULL when none), and
 * when it was deleted through the entity API (PL_HIST_NONE: it was not). */
typedef int (*pl_hist_entity_fn)(void *ud, const char *id, const char *types_text,
                                 const char *scope_text, int64_t deleted_ms);
/* One instance, attribute by attribute, each in ascending time order; `t` its time for the
 * query's property (createdAt when it lacks it); `more` 1 on the row where q->max cut the rows:
 * the newest row returned (ascending reads), or the oldest row returned of each datasetId that
 * was cut (lastN reads, which go backwards per datasetId). Returning non-zero stops the read
 * (that value is returned). */
typedef int (*pl_hist_row_fn)(void *ud, const char *attr, int64_t iid, int64_t t, const char *body,
                              size_t len, int more);

/* An aggregation (4.5.19): buckets start at origin + k * (months, period_ms); with
 * origin_first, each attribute's origin is its first matching instance (origin_ms unused). */
struct pl_hist_aggr {
    int64_t origin_ms;
    int months;
    int64_t period_ms;
    unsigned methods; /* PL_AGGR_* */
    int origin_first;
};
struct pl_hist_bucket {
    int64_t start, first_t, last_t; /* bucket start; first and last instance times in it */
    int64_t n, n_distinct, n_num;   /* instances; distinct values; numeric ones */
    double sum, sumsq, min, max;    /* over numeric values (valid when n_num > 0) */
    const char *smin, *smax;        /* lexicographic min/max of string values (or NULL) */
    unsigned kinds;                 /* 1 << PL_HV_* of the values seen in the attribute */
    int64_t origin;                 /* the origin of the attribute's buckets */
};
typedef int (*pl_hist_aggr_fn)(void *ud, const char *attr, const struct pl_hist_bucket *b);

/* An entity with something expired (tenant "" is the default one); non-zero stops the read. */
typedef int (*pl_expired_fn)(void *ud, const char *tenant, const char *id);

/* ------------------------------------------------------------------------------------------
 * Audit log and tenants (issue 12; docs/security.md "Audit log", docs/store-schema.md). The
 * audit log is append-only: rows are only added (in batches) and removed by retention.
 * ---------------------------------------------------------------------------------------- */
struct pl_audit_rec {
    int64_t seq;           /* reads: the row's number (ascending in time of recording) */
    int64_t at_ms;         /* when the response was sent (UTC epoch ms) */
    const char *principal; /* the principal's name; "" for the public, and with auth off */
    const char *role;      /* its role name; "" with auth off */
    const char *tenant;    /* the request's tenant ("" the default one) */
    const char *method;    /* "POST", ... */
    const char *path;      /* the request path, without the query */
    const char *ids;       /* the entity ids as a JSON array text, NULL when none */
    int status;            /* the response status */
    const char *client;    /* the client's address */
};
/* Which rows a read wants: newest first. */
struct pl_audit_query {
    int64_t from_ms, to_ms; /* at_ms in [from, to] (PL_HIST_NONE: open) */
    const char *principal;  /* NULL: any */
    int64_t before_seq;     /* only rows with seq below (0: from the newest; paging) */
    int limit;              /* at most this many rows */
};
/* One row (strings borrowed for the call); non-zero stops the read. */
typedef int (*pl_audit_row_fn)(void *ud, const struct pl_audit_rec *rec);
/* One tenant with its entity count; non-zero stops the read. */
typedef int (*pl_tenant_row_fn)(void *ud, const char *tenant, int64_t n_entities);

/* ------------------------------------------------------------------------------------------
 * The backend table. Version 1.
 * ---------------------------------------------------------------------------------------- */
#define PL_STORE_OPS_VERSION 1

struct pl_store_ops {
    int version;      /* PL_STORE_OPS_VERSION this table was written against */
    const char *name; /* "sqlite", "postgresql" */
    unsigned caps;    /* PL_STORE_CAP_* */

    /* Open/close. `location` is the URL with any scheme prefix removed. *be is the backend's
     * own state, passed back to every call. */
    int (*open)(const struct pl_store_config *cfg, const char *location, void **be,
                struct pl_err *err);
    void (*close)(void *be);

    /* Reader side: callable from any thread, concurrently. */
    int (*entity_get)(void *be, const char *tenant, const char *id, json_t **out,
                      struct pl_err *err); /* NEW ref; PL_ENOTFOUND when absent */
    int (*entity_count)(void *be, const char *tenant, int64_t *n, struct pl_err *err);
    int (*ctx_load)(void *be, json_t **out, struct pl_err *err); /* NEW ref: array of records */

    /* Writer side: called only from the store's writer thread, inside tx_begin/tx_commit. */
    int (*tx_begin)(void *be, struct pl_err *err);
    int (*tx_commit)(void *be, struct pl_err *err);
    void (*tx_rollback)(void *be);
    int (*sp_begin)(void *be, struct pl_err *err);
    int (*sp_release)(void *be, struct pl_err *err);
    void (*sp_rollback)(void *be);
    int (*w_entity_get)(void *be, const char *tenant, const char *id, json_t **out,
                        struct pl_err *err); /* NEW ref; PL_ENOTFOUND when absent */
    /* Writes the entity row (insert when old is NULL, else update, raising the revision) with
     * `text` (its serialization, len bytes) and brings the backend's indexes from `old` to `new`
     * (store_int.h: only the difference is written). */
    int (*w_entity_put)(void *be, const char *tenant, const char *id, const json_t *entity,
                        const char *text, size_t len, const struct pl_store_ix *old,
                        const struct pl_store_ix *new_ix, struct pl_err *err);
    int (*w_entity_delete)(void *be, const char *tenant, const char *id,
                           const struct pl_store_ix *old, struct pl_err *err);
    int (*w_ctx_put)(void *be, const json_t *rec, struct pl_err *err);
    int (*w_ctx_delete)(void *be, const char *id, struct pl_err *err);

    /* Appended members (the table stays version 1 until it is first released). */
    unsigned (*caps_of)(void *be); /* caps of this open store (e.g. SpatiaLite failed to load:
                                      no GEO_NATIVE); NULL: `caps` */
    int (*entity_get_raw)(void *be, const char *tenant, const char *id, char **body, size_t *len,
                          struct pl_err *err); /* reader side: a NEW malloc'd copy
             of the stored body text; NULL: entity_get + json_dumps */
    /* Revision-checked writes (see PL_WRITE_PREPARED). Every put raises an entity's revision. */
    int (*entity_get_rev)(void *be, const char *tenant, const char *id, json_t **out, int64_t *rev,
                          struct pl_err *err); /* reader: NEW ref + revision */
    int (*w_entity_rev)(void *be, const char *tenant, const char *id, int64_t *rev,
                        struct pl_err *err); /* writer: PL_ENOTFOUND when absent */
    int (*tenant_exists)(void *be, const char *tenant, int *exists,
                         struct pl_err *err); /* reader: created by its first entity */
    /* Reader side: queries and discovery (see pl_store_entity_query, pl_store_types...). */
    int (*entity_query)(void *be, const struct pl_store_query *q, pl_store_row_fn row, void *ud,
                        int64_t *count, struct pl_err *err);
    int (*discover)(void *be, const char *tenant, enum pl_store_discover what, const char *iri,
                    json_t **out, struct pl_err *err);
    int (*explain)(void *be, const struct pl_store_query *q, char **out, struct pl_err *err);
    /* Subscriptions (5.8): records {"tenant","id","body"}; writer side put/delete. */
    int (*sub_load)(void *be, json_t **out, struct pl_err *err); /* NEW ref: array */
    int (*w_sub_put)(void *be, const char *tenant, const char *id, const json_t *body,
                     struct pl_err *err);
    int (*w_sub_delete)(void *be, const char *tenant, const char *id,
                        struct pl_err *err); /* PL_ENOTFOUND when absent */
    /* History (see "Attribute history" below). Writer side: */
    /* types_text / scope_text: compact JSON, NULL = leave as recorded ("null" clears the
     * scope); deleted_ms: > 0 marks the entity deleted, 0 clears that, PL_HIST_NONE leaves it;
     * *created (may be NULL): 1 when the entity had no history yet. */
    int (*w_hist_append)(void *be, const char *tenant, const char *id, const char *types_text,
                         const char *scope_text, int64_t deleted_ms,
                         const struct pl_hist_inst *rows, size_t n, int *created,
                         struct pl_err *err);
    int (*w_hist_delete)(void *be, const char *tenant, const struct pl_hist_del *d,
                         int64_t *n_deleted, struct pl_err *err);
    int (*w_hist_patch)(void *be, const char *tenant, const char *id, const char *attr, int64_t iid,
                        const json_t *patch, int64_t now, struct pl_err *err);
    int (*w_hist_trim)(void *be, const struct pl_hist_policy *pol, int64_t now_ms, int budget,
                       int64_t *n_deleted, struct pl_err *err);
    /* Reader side: */
    int (*hist_entities)(void *be, const char *tenant, const char *const *ids, size_t n_ids,
                         const char *id_prefix, pl_hist_entity_fn fn, void *ud, struct pl_err *err);
    int (*hist_instances)(void *be, const struct pl_hist_query *q, pl_hist_row_fn fn, void *ud,
                          struct pl_err *err);
    int (*hist_aggregate)(void *be, const struct pl_hist_query *q, const struct pl_hist_aggr *a,
                          pl_hist_aggr_fn fn, void *ud, struct pl_err *err);
    /* Transient entities (4.22), reader side: at most `limit` entities whose earliest expiresAt
     * (the PL_STORE_IX_EXPIRES index key, store_int.h) is at or before now_ms, to fn. */
    int (*expired)(void *be, int64_t now_ms, int limit, pl_expired_fn fn, void *ud,
                   struct pl_err *err);
    /* ---- security (issue 12): appended by part, each under its own heading ---- */
    /* -- credentials: users and API keys -- */
    /* Credential records (store/authn.c): JSON objects per (kind, id), kind "user", "apikey",
     * "refresh", "secret"; `owner` groups records (a refresh token's user). Reader side: */
    int (*cred_get)(void *be, const char *kind, const char *id, json_t **out,
                    struct pl_err *err); /* NEW ref; PL_ENOTFOUND */
    int (*cred_list)(void *be, const char *kind, json_t **out,
                     struct pl_err *err); /* NEW ref: array ordered by id */
    /* Writer side (put: PL_EALREADYEXISTS with must_not_exist; delete: PL_ENOTFOUND): */
    int (*w_cred_put)(void *be, const char *kind, const char *id, const char *owner,
                      const json_t *body, int must_not_exist, struct pl_err *err);
    int (*w_cred_delete)(void *be, const char *kind, const char *id, struct pl_err *err);
    int (*w_cred_delete_owner)(void *be, const char *kind, const char *owner, int64_t *n_deleted,
                               struct pl_err *err);

    /* -- authorization: entity owners, tenant policy -- */
    /* The owner key of an entity (auth/authz.h pl_authz_owner_key), recorded by the writer in
     * the savepoint that creates the entity (pl_store_write.owner) and removed in the one that
     * deletes it. get: PL_ENOTFOUND when it has none; a key longer than cap is an error, never
     * truncated. NULL members: owners are not kept (every owner check then fails closed). */
    int (*w_owner_put)(void *be, const char *tenant, const char *id, const char *owner,
                       struct pl_err *err);
    int (*w_owner_delete)(void *be, const char *tenant, const char *id, struct pl_err *err);
    int (*w_owner_get)(void *be, const char *tenant, const char *id, char *buf, size_t cap,
                       struct pl_err *err);                     /* writer side */
    int (*owner_get)(void *be, const char *tenant, const char *id, char *buf, size_t cap,
                     struct pl_err *err);                       /* reader side */

    /* -- reads: the tenants' read policies (store/sqlite/policy.c) -- */
    /* Reader: every record {"tenant","body","modifiedAt"} (NEW ref array). */
    int (*policy_load)(void *be, json_t **out, struct pl_err *err);
    /* Writer: insert or replace the policy of `tenant` (body: compact JSON text). */
    int (*w_policy_put)(void *be, const char *tenant, const char *body, const char *modified_at,
                        struct pl_err *err);

    /* -- tenants and audit -- */
    /* Writer side: appends n audit rows (seq is assigned); removes at most `budget` rows older
     * than before_ms (*n_deleted). Reader side: rows of q, newest first. */
    int (*w_audit_append)(void *be, const struct pl_audit_rec *recs, size_t n, struct pl_err *err);
    int (*w_audit_trim)(void *be, int64_t before_ms, int budget, int64_t *n_deleted,
                        struct pl_err *err);
    int (*audit_query)(void *be, const struct pl_audit_query *q, pl_audit_row_fn fn, void *ud,
                       struct pl_err *err);
    /* Reader side: every named tenant (the default one "" first) with its entity count. Writer
     * side: removes what is left of `tenant` once its entities and subscriptions are deleted
     * (its history, its row: it no longer exists). */
    int (*tenant_list)(void *be, pl_tenant_row_fn fn, void *ud, struct pl_err *err);
    int (*w_tenant_drop)(void *be, const char *tenant, struct pl_err *err);
};

/* The SQLite backend's table (store/sqlite/backend.c). */
extern const struct pl_store_ops pl_store_sqlite_ops;

/* ------------------------------------------------------------------------------------------
 * The public API.
 * ---------------------------------------------------------------------------------------- */

/* Opens the backend named by cfg->url and starts the writer thread. Returns 0 and *out (free
 * with pl_store_close), or an error (PL_EINTERNAL with words: cannot open, unknown scheme). */
int pl_store_open(const struct pl_store_config *cfg, struct pl_store **out, struct pl_err *err);

/* Finishes every queued write (each reported as usual), stops the writer, closes the backend.
 * After return every acknowledged write is on disk. NULL is a no-op. */
void pl_store_close(struct pl_store *s);

/* Name and capabilities of the backend in use. */
const char *pl_store_backend_name(const struct pl_store *s);
unsigned pl_store_caps(const struct pl_store *s);

/* Reads. Thread-safe. *out is a NEW reference to the internal form. */
int pl_store_entity_get(struct pl_store *s, const char *tenant, const char *id, json_t **out,
                        struct pl_err *err);
int pl_store_entity_count(struct pl_store *s, const char *tenant, int64_t *n, struct pl_err *err);

/*
 * A write: a read-modify-write of one entity, run by the writer thread inside a transaction.
 * `apply` receives the current internal form (`cur`, NULL when the entity does not exist;
 * borrowed, may be modified) and sets *next to the new internal form (a NEW reference; it may
 * be `cur` after json_incref) or to NULL to delete the entity. Returning non-zero (a PL_E* code
 * with *err filled) aborts this write only. `apply` must not block and must not call the store.
 */
typedef int (*pl_store_apply_fn)(void *ud, json_t *cur, json_t **next, struct pl_err *err);

#define PL_WRITE_MUST_EXIST     0x1u /* PL_ENOTFOUND when the entity is absent */
#define PL_WRITE_MUST_NOT_EXIST 0x2u /* PL_EALREADYEXISTS when it is present */
#define PL_WRITE_PREPARED       0x4u /* optimistic: see pl_store_prep_end (apply is not called) */
/* Before `apply` runs on an existing entity, the writer reads its recorded owner into
 * pl_store_write.cur_owner (issue 12: an apply write that decides on ownership). */
#define PL_WRITE_WANT_OWNER 0x8u

/* Room for an owner key (auth/authz.h PL_AUTHZ_OWNER_MAX fits). */
#define PL_STORE_OWNER_MAX 160

struct pl_store_write {
    /* IN, set by the caller; strings are borrowed until `done` runs / write_sync returns */
    const char *tenant;                     /* "" for the default tenant */
    const char *id;                         /* entity id */
    unsigned flags;                         /* PL_WRITE_* */
    pl_store_apply_fn apply;                /* the modification */
    void *ud;                               /* passed to apply and done */
    void (*done)(struct pl_store_write *w); /* async: called once on the writer thread after
                                               the commit (or failure); must not block */
    /* OUT, set by the store before `done` / before write_sync returns */
    int rc;            /* 0 or PL_E* */
    struct pl_err err; /* words when rc != 0 */
    json_t *result;    /* NEW ref to the entity as committed (NULL when deleted or failed);
                          the caller releases it */
    int existed;       /* 1 when the entity existed before the write */
    /* IN with PL_WRITE_PREPARED, filled by pl_store_prep_end */
    const json_t *prepared;                  /* the new internal form (borrowed until reported) */
    char *prepared_text;                     /* its serialization (owned: pl_store_prep_release) */
    size_t prepared_len;                     /* length of prepared_text */
    int64_t expect_rev;                      /* the revision it was computed from */
    struct pl_store_ix *prep_old, *prep_new; /* index keys before/after (owned) */
    const json_t *before; /* optional, prepared updates: the entity before the change, for the
                             change listener (borrowed until reported) */
    /* authorization (issue 12) */
    const char *owner;  /* IN: the owner key recorded when this write CREATES the entity
                           (NULL: none; borrowed until reported) */
    char cur_owner[PL_STORE_OWNER_MAX]; /* OUT with PL_WRITE_WANT_OWNER, before apply: the
                           existing entity's owner key, "" when it has none */
    /* private to the store */
    json_t *ev_before_; /* the entity before the write, for the listener */
    void *hist_;        /* prepared writes: their history rows, computed on the caller's thread
                           at queueing (freed by pl_store_prep_release) */
    struct pl_store_write *next_;
    int sync_done_;
};

/*
 * Queues `w`. Returns 0 and `w->done` runs exactly once later, on the writer thread; or returns
 * an error (store closing: PL_EINTERNAL) and `done` never runs (libuv's callback contract).
 */
int pl_store_write_async(struct pl_store *s, struct pl_store_write *w);

/* Queues `w` and waits for its result. Returns w->rc. `w->done` must be NULL. */
int pl_store_write_sync(struct pl_store *s, struct pl_store_write *w);

/*
 * Queues `n` writes that must commit in the SAME transaction (each still with its own savepoint
 * and result) and waits for all of them. Returns 0 when the batch ran (see each w->rc).
 */
int pl_store_write_many_sync(struct pl_store *s, struct pl_store_write **ws, size_t n);

/*
 * Runs a query. Rows go to `row` in a stable order (the store's unique entity key: paging with
 * limit/offset returns each entity exactly once while the data does not change); *count (when
 * q->count) is the number of matches regardless of limit/offset. Thread-safe (reader side).
 * Returns 0, or PL_E* (PL_EBADREQUESTDATA when the backend cannot run this query).
 */
int pl_store_entity_query(struct pl_store *s, const struct pl_store_query *q, pl_store_row_fn row,
                          void *ud, int64_t *count, struct pl_err *err);

/* Diagnostics and tests: how the backend would run `q` (SQLite: the EXPLAIN QUERY PLAN lines of
 * the row query). *out is a NEW malloc'd string. */
int pl_store_explain(struct pl_store *s, const struct pl_store_query *q, char **out,
                     struct pl_err *err);

/* Discovery (see enum pl_store_discover). *out is a NEW reference. */
int pl_store_discover(struct pl_store *s, const char *tenant, enum pl_store_discover what,
                      const char *iri, json_t **out, struct pl_err *err);

/*
 * @context registry records (the /jsonldContexts API persists hosted and cached contexts).
 * A record is an object {"id","url","kind","createdAt","body"} (body: the document text).
 * put = insert or replace by id. Synchronous; thread-safe.
 */
int pl_store_ctx_put(struct pl_store *s, const json_t *rec, struct pl_err *err);
int pl_store_ctx_delete(struct pl_store *s, const char *id, struct pl_err *err);
int pl_store_ctx_load(struct pl_store *s, json_t **out, struct pl_err *err); /* NEW ref array */

/*
 * Subscriptions (5.8) are kept by the store as opaque JSON bodies per (tenant, id).
 * Synchronous; thread-safe. sub_load returns every record {"tenant","id","body"} (NEW ref).
 */
int pl_store_sub_put(struct pl_store *s, const char *tenant, const char *id, const json_t *body,
                     struct pl_err *err);
/* One subscription record for pl_store_sub_put_many: tenant, id and body borrowed; rc is the
 * put's result. */
struct pl_store_sub_rec {
    const char *tenant, *id;
    const json_t *body;
    int rc;
};
/* Puts n subscription records in ONE transaction and waits: recs[i].rc is each one's result;
 * returns 0, or the first failure (in err). */
int pl_store_sub_put_many(struct pl_store *s, struct pl_store_sub_rec *recs, size_t n,
                          struct pl_err *err);
int pl_store_sub_delete(struct pl_store *s, const char *tenant, const char *id, struct pl_err *err);
int pl_store_sub_load(struct pl_store *s, json_t **out, struct pl_err *err);

/*
 * Change events: after each transaction commits, the listener gets the entity changes of that
 * transaction in commit order (so, per entity, in the order of the writes), on the writer thread:
 * it must only queue them (it must not block or call the store). `before` is the entity before
 * the write (NULL: created), `after` after it (NULL: deleted); both borrowed for the call (take a
 * reference to keep them). `before` is known when the listener asked for it (want_before): apply
 * writes then copy the stored entity before changing it, and callers of prepared updates set
 * pl_store_write.before (pl_store_wants_before tells them to).
 */
struct pl_store_event {
    const char *tenant;
    const char *id;
    const json_t *before;
    const json_t *after;
};
typedef void (*pl_store_listener_fn)(void *ud, const struct pl_store_event *ev, size_t n);
/* Sets (or, fn NULL, clears) the listener; any thread. A listener being called while it is
 * cleared finishes that call: free `ud` only once no write can be in flight. */
void pl_store_set_listener(struct pl_store *s, pl_store_listener_fn fn, void *ud);
/* Whether the listener currently wants `before` (cheap, any thread). */
void pl_store_want_before(struct pl_store *s, int on);
int pl_store_wants_before(const struct pl_store *s);

/*
 * Writer counters, for tests and /metrics. A snapshot; any thread.
 */
struct pl_store_stats {
    uint64_t writes;    /* writes reported (successful or not), ctx writes included */
    uint64_t commits;   /* transactions committed */
    uint64_t groups;    /* transactions attempted (commits + failed ones) */
    uint64_t max_group; /* most writes seen in one transaction */
};

void pl_store_stats(const struct pl_store *s, struct pl_store_stats *out);

/*
 * Reads the stored internal form of one entity as TEXT (compact JSON, as the backend keeps it),
 * for the streaming renderer (ngsild/entity_stream.h). On success returns 0, *body (a NEW
 * malloc'd NUL-terminated copy; free() it) and *len (bytes, without the NUL). PL_ENOTFOUND when
 * absent. Thread-safe (reader side). Backends without entity_get_raw are served through
 * entity_get + json_dumps.
 */
int pl_store_entity_get_raw(struct pl_store *s, const char *tenant, const char *id, char **body,
                            size_t *len, struct pl_err *err);

/* ------------------------------------------------------------------------------------------
 * Optimistic (revision-checked) updates. The JSON work of a read-modify-write — parse the stored
 * entity, apply the change, serialize — is the writer thread's main cost; done by the caller on
 * its own thread, the writer only checks the revision and writes the prepared text:
 *
 *   pl_store_entity_get_rev(s, t, id, &cur, &rev)   read the committed entity and revision
 *   pl_store_prep_begin(&p, cur)                    remember what the store indexes of it
 *   ... modify cur (or build next) ...
 *   pl_store_prep_end(&p, next, rev, &w)            serialize; w.flags |= PL_WRITE_PREPARED
 *   pl_store_write_async(s, &w)                     rc PL_ESTALE: someone wrote in between;
 *                                                   read again and retry (or fall back to an
 *                                                   apply write, which cannot be stale)
 *   pl_store_prep_release(&w)                       once reported
 * ---------------------------------------------------------------------------------------- */
/* NGSI-LD 5.5.10: 1 when `tenant` exists (the default tenant "" always does; another one from
 * its first created entity on), 0 when not or when it cannot be told. Thread-safe. */
int pl_store_tenant_exists(struct pl_store *s, const char *tenant);

int pl_store_entity_get_rev(struct pl_store *s, const char *tenant, const char *id, json_t **out,
                            int64_t *rev, struct pl_err *err);

struct pl_store_prep {
    struct pl_store_ix *old; /* the index keys of the read entity (owned) */
};

/* Remembers the indexed parts of `cur` (borrowed). Returns 0 or PL_ENOMEM. */
int pl_store_prep_begin(struct pl_store_prep *p, const json_t *cur);

/* Frees what prep_begin kept, when the write is abandoned before prep_end. */
void pl_store_prep_abandon(struct pl_store_prep *p);

/* Serializes `next` (borrowed; must stay alive until the write is reported) into `w`, computes
 * its index keys, sets PL_WRITE_PREPARED and expect_rev, and moves p's keys into `w`.
 * Returns 0 or PL_ENOMEM. */
int pl_store_prep_end(struct pl_store_prep *p, const json_t *next, int64_t rev,
                      struct pl_store_write *w);

/*
 * A prepared INSERT: `next` (borrowed; alive until the write is reported) is serialized and its
 * index keys computed on the caller's thread; the writer only inserts. When the entity exists
 * already the write fails with PL_EALREADYEXISTS, unless it has an `apply` and no
 * PL_WRITE_MUST_NOT_EXIST: then it continues as that apply write (an upsert). Returns 0 or
 * PL_ENOMEM. Release with pl_store_prep_release once reported.
 */
int pl_store_prep_insert(const json_t *next, struct pl_store_write *w);

/* Frees what pl_store_prep_end allocated in `w` (safe to call on any write, and twice). */
void pl_store_prep_release(struct pl_store_write *w);

/* ------------------------------------------------------------------------------------------
 * Attribute history, public side. Reads are thread-safe; writes go through the writer thread
 * (each its own savepoint), so they are ordered with the entity writes. PL_EOPNOTSUPPORTED
 * when the backend keeps no history.
 * ---------------------------------------------------------------------------------------- */
int pl_store_hist_entities(struct pl_store *s, const char *tenant, const char *const *ids,
                           size_t n_ids, const char *id_prefix, pl_hist_entity_fn fn, void *ud,
                           struct pl_err *err);
int pl_store_hist_instances(struct pl_store *s, const struct pl_hist_query *q, pl_hist_row_fn fn,
                            void *ud, struct pl_err *err);
int pl_store_hist_aggregate(struct pl_store *s, const struct pl_hist_query *q,
                            const struct pl_hist_aggr *a, pl_hist_aggr_fn fn, void *ud,
                            struct pl_err *err);

/* Temporal API writes (5.6.11-5.6.16). `instances`: a temporal fragment in the internal form
 * ({"attrs": {IRI: [instance...]}}, "type"/"scope" optional; borrowed) whose instances are
 * appended as given (createdAt/modifiedAt set to now). *created: 1 when `id` had no history. */
int pl_store_hist_add(struct pl_store *s, const char *tenant, const char *id,
                      const json_t *fragment, int must_exist, int *created, struct pl_err *err);
/* Removes history (struct pl_hist_del); PL_ENOTFOUND when nothing matched. */
int pl_store_hist_delete(struct pl_store *s, const char *tenant, const struct pl_hist_del *d,
                         struct pl_err *err);
/* Merges `instance` (internal form, borrowed) into instance `iid` of `attr` of `id`: its members
 * replace the stored ones; instanceId and createdAt are kept, modifiedAt set to now.
 * PL_ENOTFOUND when there is no such instance. */
int pl_store_hist_patch(struct pl_store *s, const char *tenant, const char *id, const char *attr,
                        int64_t iid, const json_t *instance, struct pl_err *err);
/* One retention step (the store runs them itself, once a second, when the policy has rules).
 * Returns the number of instances deleted, or -1 on error. */
int64_t pl_store_hist_trim_step(struct pl_store *s);
/* One expiry step (4.22; the store runs them itself, once a second): removes the entities, and
 * the attribute instances, whose expiresAt is at or before now_ms, at most 32 entities, as
 * ordinary writes in one transaction (history and the change listener see deletions). Returns
 * the number of entities changed, or -1 (logged). */
int64_t pl_store_expire_step(struct pl_store *s, int64_t now_ms);
/* Whether the store records history for entities of `tenant` (any type). */
int pl_store_hist_on(const struct pl_store *s, const char *tenant);

/* ------------------------------------------------------------------------------------------
 * Entity owners (issue 12, part authz; store/authz.c). The owner key the entity's creating write
 * carried (pl_store_write.owner). Thread-safe (reader side). Returns 0 with buf filled,
 * PL_ENOTFOUND when the entity has no recorded owner, or an error.
 * ---------------------------------------------------------------------------------------- */
int pl_store_entity_owner(struct pl_store *s, const char *tenant, const char *id, char *buf,
                          size_t cap, struct pl_err *err);
/* Records `owner` for (tenant, id) now, through the writer (the temporal API's create, whose
 * history write is not an entity write). owner NULL: forgets the owner unless the entity
 * exists (after the temporal API deleted a whole history). Synchronous. */
int pl_store_entity_owner_set(struct pl_store *s, const char *tenant, const char *id,
                              const char *owner, struct pl_err *err);

/* ------------------------------------------------------------------------------------------
 * Audit log and tenants, public side (store/audit.c, store/tenants.c). PL_EOPNOTSUPPORTED when
 * the backend lacks them.
 * ---------------------------------------------------------------------------------------- */
/* Appends n rows in one writer step (its own savepoint in the next group commit) and waits. */
int pl_store_audit_append(struct pl_store *s, const struct pl_audit_rec *recs, size_t n,
                          struct pl_err *err);
/* One retention step: removes at most 5000 rows older than before_ms; returns how many, or -1
 * (logged). */
int64_t pl_store_audit_trim_step(struct pl_store *s, int64_t before_ms);
/* Reads rows (thread-safe, reader side). */
int pl_store_audit_query(struct pl_store *s, const struct pl_audit_query *q, pl_audit_row_fn fn,
                         void *ud, struct pl_err *err);
/* Every tenant with its entity count (thread-safe). */
int pl_store_tenant_list(struct pl_store *s, pl_tenant_row_fn fn, void *ud, struct pl_err *err);
/* Deletes a tenant's entities (ordinary deletes through the writer, 1000 per group commit, so
 * indexes and counters follow), then its history and its row. The caller removes its
 * subscriptions first (notify/notifier.h pl_notifier_remove_tenant) so that the deletions
 * notify nobody. *n_entities: how many were deleted. PL_ENOTFOUND when the tenant does not
 * exist. */
int pl_store_tenant_delete(struct pl_store *s, const char *tenant, int64_t *n_entities,
                           struct pl_err *err);

/* ------------------------------------------------------------------------------------------
 * Credentials (issue 12, store/authn.c; docs/store-schema.md "Credentials"). Records are JSON
 * objects of auth/ (hashes only, never a secret in clear), per (kind, id); `owner` (may be NULL)
 * groups records for pl_store_cred_delete_owner. Synchronous; thread-safe; writes go through
 * the writer thread (so they are ordered with every other write, and a delete of a record that
 * another request deleted first is PL_ENOTFOUND: single-use tokens rely on it).
 * PL_EOPNOTSUPPORTED when the backend keeps no credentials.
 * ---------------------------------------------------------------------------------------- */
int pl_store_cred_get(struct pl_store *s, const char *kind, const char *id, json_t **out,
                      struct pl_err *err); /* NEW ref; PL_ENOTFOUND */
int pl_store_cred_list(struct pl_store *s, const char *kind, json_t **out,
                       struct pl_err *err); /* NEW ref array */
int pl_store_cred_put(struct pl_store *s, const char *kind, const char *id, const char *owner,
                      const json_t *body, int must_not_exist, struct pl_err *err);
int pl_store_cred_delete(struct pl_store *s, const char *kind, const char *id,
                         struct pl_err *err);
int pl_store_cred_delete_owner(struct pl_store *s, const char *kind, const char *owner,
                               int64_t *n_deleted, struct pl_err *err);

/* ------------------------------------------------------------------------------------------
 * Tenant read policies (issue 12, part "reads"; auth/read.h compiles and caches them). A record
 * is {"tenant", "body" (the policy document), "modifiedAt"}. Synchronous; thread-safe.
 * PL_EOPNOTSUPPORTED when the backend keeps none.
 * ---------------------------------------------------------------------------------------- */
int pl_store_policy_load(struct pl_store *s, json_t **out, struct pl_err *err); /* NEW ref */
int pl_store_policy_put(struct pl_store *s, const char *tenant, const json_t *body,
                        struct pl_err *err);

#endif
