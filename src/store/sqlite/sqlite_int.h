/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqlite_int.h — what the files of the SQLite backend share (backend.c: open, schema, writes,
 * single-entity reads; query.c: queries and discovery). Not for the rest of the program.
 */
#ifndef PL_STORE_SQLITE_INT_H
#define PL_STORE_SQLITE_INT_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#include "base/err.h"
#include "base/hmap.h"
#include "base/strbuf.h"
#include "store/store.h"

/* room for the writer's cached statements (enum wst in backend.c, enum hst in history.c) */
#define SQ_WRITER_STMTS 40
#define SQ_HIST_STMTS   24
#define SQ_AUTHZ_STMTS  3 /* authz.c's writer statements (entity owners) */

/* Statements cached on each read connection. */
enum rst { R_COUNT, R_CTX_LOAD, R_GET_REV, R_TENANT, R_OWNER, R__COUNT };

/* One pooled read-only connection. */
struct rconn {
    sqlite3 *db;                /* SQLITE_OPEN_READONLY */
    sqlite3_stmt *st[R__COUNT]; /* prepared on first use */
    struct rconn *next;         /* free-list link while idle */
};

struct sqlite_be {
    sqlite3 *db;                       /* the write connection; used only by the writer thread */
    sqlite3_stmt *st[SQ_WRITER_STMTS]; /* cached writer statements, prepared on first use */
    sqlite3_stmt *hst[SQ_HIST_STMTS];  /* history.c's writer statements */
    sqlite3_stmt *ost[SQ_AUTHZ_STMTS]; /* authz.c's writer statements */
    int64_t trim_eid;                  /* retention: the count rules' scan position (eid) */
    int64_t last_iid;                  /* highest instanceId handed out (0: not loaded yet) */
    int64_t saved_iid;                 /* the high-water mark last saved in meta */
    int64_t hlog_rows;                 /* rows appended to hlog since the last merge (1 at
                                          open: unknown, merge at the first commit) */
    int64_t hlog_merged_ms;            /* when the last merge ran */
    struct pl_hmap *hents;             /* writer cache "tenant\x1fid" -> struct hent */
    struct pl_hmap *hattrs;            /* writer cache of hattr rows written ("eid aid ds") */
    char *path;                        /* <dir>/polis.db (owned) */
    int geo;                           /* 1 when SpatiaLite is loaded and table geo exists */
    int in_tx;                         /* 1 between tx_begin and tx_commit/rollback */
    pthread_mutex_t rmu;               /* protects the reader pool */
    struct rconn *idle;                /* idle read connections */
    int n_idle;                        /* length of `idle` */

    /* Revisions come from one counter for the whole store, never per entity: a DELETE then a
     * POST of the same id must not give the new entity a revision an optimistic update read
     * from the old one (it would then overwrite the new entity with the old one's data). */
    int64_t last_rev; /* highest revision handed out (writer thread only) */

    /* Writer thread only: interned names ("tenant\x1fIRI" -> nid), the discovery counter
     * deltas of the current savepoint and transaction ("tnid anid kind" -> delta). */
    struct pl_hmap *names, *sp_counts, *tx_counts;
    struct pl_strbuf keybuf;
};

/* Maps a SQLite failure to a PL_E* code with words. */
int sq_dberr(struct pl_err *err, sqlite3 *db, int rc, const char *what);
/* Borrows a read-only connection from the pool (NULL: error set); give it back with put. */
struct rconn *sq_reader_get(struct sqlite_be *be, struct pl_err *err);
void sq_reader_put(struct sqlite_be *be, struct rconn *c);
/* Reader statement k of `c`, prepared on first use and reset by sq_reader_put (NULL: err). */
sqlite3_stmt *sq_reader_stmt(struct rconn *c, enum rst k, struct pl_err *err);
/* Binds a NUL-terminated string (NULL binds NULL), SQLITE_STATIC. */
void sq_bind_text(sqlite3_stmt *st, int i, const char *z);
/* Queries and discovery (query.c), members of the ops table. */
int sq_entity_query(void *be, const struct pl_store_query *q, pl_store_row_fn row, void *ud,
                    int64_t *count, struct pl_err *err);
int sq_discover(void *be, const char *tenant, enum pl_store_discover what, const char *iri,
                json_t **out, struct pl_err *err);
int sq_explain(void *be, const struct pl_store_query *q, char **out, struct pl_err *err);
/* The writer's interned name id of `iri` in `tenant` (created when new). */
int sq_nid_of(struct sqlite_be *be, const char *tenant, const char *iri, int64_t *nid,
              struct pl_err *err);
/* History (history.c): schema, writer statements' cleanup, SQL functions, ops members. */
extern const char sq_hist_schema_sql[];
/* Tenant read policies (policy.c; issue 12, "reads"): schema and ops members. */
extern const char sq_policy_schema_sql[];
int sq_policy_load(void *be, json_t **out, struct pl_err *err);
int sq_w_policy_put(void *be, const char *tenant, const char *body, const char *modified_at,
                    struct pl_err *err);
void sq_hist_free(struct sqlite_be *be);
/* Drops the writer's history caches (after a rollback: they may name rolled-back rows). */
void sq_hist_cache_clear(struct sqlite_be *be);
/* Writes what history keeps per transaction (the instanceId high-water mark); before COMMIT. */
int sq_hist_tx_commit(struct sqlite_be *be, struct pl_err *err);
int sq_hist_register(sqlite3 *db);
/* expire.c: the `expired` member of the table (4.22). */
int sq_expired(void *be, int64_t now_ms, int limit, pl_expired_fn fn, void *ud,
               struct pl_err *err);
int sq_w_hist_append(void *be, const char *tenant, const char *id, const char *types_text,
                     const char *scope_text, int64_t deleted_ms, const struct pl_hist_inst *rows,
                     size_t n, int *created, struct pl_err *err);
int sq_w_hist_delete(void *be, const char *tenant, const struct pl_hist_del *d, int64_t *n_deleted,
                     struct pl_err *err);
int sq_w_hist_patch(void *be, const char *tenant, const char *id, const char *attr, int64_t iid,
                    const json_t *patch, int64_t now, struct pl_err *err);
int sq_w_hist_trim(void *be, const struct pl_hist_policy *pol, int64_t now_ms, int budget,
                   int64_t *n_deleted, struct pl_err *err);
int sq_hist_entities(void *be, const char *tenant, const char *const *ids, size_t n_ids,
                     const char *id_prefix, pl_hist_entity_fn fn, void *ud, struct pl_err *err);
int sq_hist_instances(void *be, const struct pl_hist_query *q, pl_hist_row_fn fn, void *ud,
                      struct pl_err *err);
int sq_hist_aggregate(void *be, const struct pl_hist_query *q, const struct pl_hist_aggr *a,
                      pl_hist_aggr_fn fn, void *ud, struct pl_err *err);
/* Authorization (authz.c, issue 12): entity owners. */
extern const char sq_authz_schema_sql[];
void sq_authz_free(struct sqlite_be *be);
int sq_w_owner_put(void *be, const char *tenant, const char *id, const char *owner,
                   struct pl_err *err);
int sq_w_owner_delete(void *be, const char *tenant, const char *id, struct pl_err *err);
int sq_w_owner_get(void *be, const char *tenant, const char *id, char *buf, size_t cap,
                   struct pl_err *err);
int sq_owner_get(void *be, const char *tenant, const char *id, char *buf, size_t cap,
                 struct pl_err *err);
/* Credentials (authn.c, issue 12): schema and ops members. */
extern const char sq_authn_schema_sql[];
int sq_cred_get(void *be, const char *kind, const char *id, json_t **out, struct pl_err *err);
int sq_cred_list(void *be, const char *kind, json_t **out, struct pl_err *err);
int sq_w_cred_put(void *be, const char *kind, const char *id, const char *owner,
                  const json_t *body, int must_not_exist, struct pl_err *err);
int sq_w_cred_delete(void *be, const char *kind, const char *id, struct pl_err *err);
int sq_w_cred_delete_owner(void *be, const char *kind, const char *owner, int64_t *n_deleted,
                           struct pl_err *err);
/* Registers Polis's SQL functions on a read connection (query.c). */
int sq_register_functions(sqlite3 *db);

/* Audit log (audit.c) and tenants (tenants.c), issue 12: schema and ops members. */
extern const char sq_audit_schema_sql[];
int sq_w_audit_append(void *be, const struct pl_audit_rec *recs, size_t n, struct pl_err *err);
int sq_w_audit_trim(void *be, int64_t before_ms, int budget, int64_t *n_deleted,
                    struct pl_err *err);
int sq_audit_query(void *be, const struct pl_audit_query *q, pl_audit_row_fn fn, void *ud,
                   struct pl_err *err);
int sq_tenant_list(void *be, pl_tenant_row_fn fn, void *ud, struct pl_err *err);
int sq_w_tenant_drop(void *be, const char *tenant, struct pl_err *err);

#endif
