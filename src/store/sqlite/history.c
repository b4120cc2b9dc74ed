/* SPDX-License-Identifier: Apache-2.0 */
/*
 * history.c — the SQLite backend's attribute history (docs/temporal.md).
 *
 *   hentity(eid INTEGER PRIMARY KEY, tenant, id, types, scope, deleted, UNIQUE(tenant, id))
 *     One row per entity that has history: its last recorded types and scope (compact JSON) and
 *     when it was deleted through the entity API (epoch ms; NULL while it exists).
 *
 *   hinst(eid, aid,             -- entity, attribute (name.nid)
 *         t,                    -- observedAt, else createdAt (epoch ms)
 *         iid,                  -- the instanceId; never reused (meta 'hist_iid' keeps the
 *                                  high-water mark across deletions of the newest ones)
 *         ds,                   -- datasetId (NULL: default instance)
 *         obs, cre, mdf, del,   -- the Temporal Properties (ms or NULL)
 *         kind, num,            -- value class (PL_HV_*), numeric value
 *         body,                 -- the instance, compact JSON
 *         PRIMARY KEY(eid, aid, t, iid)) WITHOUT ROWID
 *     Clustered by (entity, attribute, time): lastN, observedAt windows and aggregations read
 *     one contiguous key range, in time order (ties in iid order), without a row lookup per
 *     instance. createdAt / modifiedAt / deletedAt windows scan the attribute's range.
 *     + index hinst_agg(eid, aid, t, obs, del, kind, num): numeric aggregations read this
 *       narrow index, not the instance bodies (rows are merged into hinst in bulk, so the
 *       index costs little at write time). Instance PATCH / DELETE name the entity and
 *       attribute and scan that attribute's range for the instanceId.
 *
 *   hlog(seq INTEGER PRIMARY KEY, the columns of hinst)
 *     The staging log. Instances are appended here (the same one or two pages per commit),
 *     and moved into hinst in bulk, sorted, by the writer at a commit every HLOG_MERGE_MS or
 *     HLOG_MERGE_ROWS (sq_hist_merge). Writing hinst directly dirtied one more random page per
 *     entity write: measured, that alone took the write rate with history to 0.6 of without
 *     (0.99 with the insert skipped); merged in bulk, each entity's page is written once per
 *     merge. Reads add the few hlog rows of the entity attribute (UNION ALL; no index: hlog
 *     stays small).
 *
 *   hattr(eid, aid, ds, PRIMARY KEY(eid, aid, ds)) WITHOUT ROWID
 *     The attributes and datasetIds ('' for the default instance) an entity has history of, so
 *     listing them reads a few rows instead of every instance.
 *
 * Append-only: rows change only through the temporal API's PATCH / DELETE and retention.
 * Aggregations run in SQL: GROUP BY pl_tbucket(t, ...) (query/temporalq.h buckets).
 */
#include "store/store.h"
#include "store/store_int.h"
#include "store/sqlite/sqlite_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/timeutil.h"
#include "query/temporalq.h"

const char sq_hist_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS hentity(eid INTEGER PRIMARY KEY, tenant TEXT NOT NULL,"
    " id TEXT NOT NULL, types TEXT, scope TEXT, deleted INTEGER, UNIQUE(tenant, id));"
    "CREATE TABLE IF NOT EXISTS hinst(eid INTEGER NOT NULL, aid INTEGER NOT NULL,"
    " t INTEGER NOT NULL, iid INTEGER NOT NULL, ds TEXT, obs INTEGER, cre INTEGER NOT NULL,"
    " mdf INTEGER NOT NULL, del INTEGER, kind INTEGER NOT NULL, num REAL, body TEXT NOT NULL,"
    " PRIMARY KEY(eid, aid, t, iid)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS hinst_agg ON hinst(eid, aid, t, obs, del, kind, num);"
    "CREATE TABLE IF NOT EXISTS hlog(seq INTEGER PRIMARY KEY, eid INTEGER NOT NULL,"
    " aid INTEGER NOT NULL, t INTEGER NOT NULL, iid INTEGER NOT NULL, ds TEXT, obs INTEGER,"
    " cre INTEGER NOT NULL, mdf INTEGER NOT NULL, del INTEGER, kind INTEGER NOT NULL, num REAL,"
    " body TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS hattr(eid INTEGER NOT NULL, aid INTEGER NOT NULL,"
    " ds TEXT NOT NULL, PRIMARY KEY(eid, aid, ds)) WITHOUT ROWID;";

enum hst {
    H_ENT_GET,
    H_ENT_INS,
    H_ENT_UPD,
    H_INS,
    H_NAME_GET,
    H_DEL_ENT_INST,
    H_DEL_ENT,
    H_DEL_ATTR,
    H_DEL_ATTR_DS,
    H_DEL_IID,
    H_GET_IID,
    H_UPD_IID,
    H_TENANT,
    H_ATTR_INS,
    H_ATTR_DEL_ENT,
    H_ATTR_DEL,
    H_IID_MAX,
    H_IID_SAVE,
    H_MERGE,
    H_MERGE_CLEAR,
    H__COUNT
};
_Static_assert(H__COUNT <= SQ_HIST_STMTS, "raise SQ_HIST_STMTS");

static const char *const hsql[H__COUNT] = {
    [H_ENT_GET] = "SELECT eid, types, scope, deleted FROM hentity WHERE tenant=?1 AND id=?2",
    [H_ENT_INS] = "INSERT INTO hentity(tenant,id,types,scope,deleted) VALUES(?1,?2,?3,?4,?5)",
    [H_ENT_UPD] = "UPDATE hentity SET types=?2, scope=?3, deleted=?4 WHERE eid=?1",
    /* appended to the staging log; sq_hist_merge moves them into hinst in bulk */
    [H_INS] = "INSERT INTO hlog(eid,aid,ds,t,obs,cre,mdf,del,kind,num,body,iid) "
              "VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12)",
    [H_NAME_GET] = "SELECT nid FROM name WHERE tenant=?1 AND iri=?2",
    [H_DEL_ENT_INST] = "DELETE FROM hinst WHERE eid=?1",
    [H_DEL_ENT] = "DELETE FROM hentity WHERE eid=?1",
    [H_DEL_ATTR] = "DELETE FROM hinst WHERE eid=?1 AND aid=?2",
    [H_DEL_ATTR_DS] = "DELETE FROM hinst WHERE eid=?1 AND aid=?2 AND ds IS ?3",
    [H_DEL_IID] = "DELETE FROM hinst WHERE eid=?2 AND aid=?3 AND iid=?1",
    [H_GET_IID] = "SELECT body FROM hinst WHERE eid=?2 AND aid=?3 AND iid=?1",
    /* 5.5.10: a tenant exists from its first entity on, temporal ones included */
    [H_TENANT] = "INSERT OR IGNORE INTO tenant(name) VALUES(?1)",
    [H_ATTR_INS] = "INSERT OR IGNORE INTO hattr(eid,aid,ds) VALUES(?1,?2,?3)",
    [H_ATTR_DEL_ENT] = "DELETE FROM hattr WHERE eid=?1",
    [H_ATTR_DEL] = "DELETE FROM hattr WHERE eid=?1 AND aid=?2 AND (?3 OR ds=coalesce(?4,''))",
    /* the saved high-water mark; a database without one is scanned once */
    [H_IID_MAX] = "SELECT coalesce((SELECT CAST(value AS INTEGER) FROM meta WHERE "
                  "key='hist_iid'), (SELECT max(iid) FROM hinst), 0)",
    [H_MERGE] = "INSERT INTO hinst(eid,aid,t,iid,ds,obs,cre,mdf,del,kind,num,body) SELECT "
                "eid,aid,t,iid,ds,obs,cre,mdf,del,kind,num,body FROM hlog ORDER BY eid,aid,t,iid",
    [H_MERGE_CLEAR] = "DELETE FROM hlog",
    [H_IID_SAVE] = "INSERT INTO meta(key,value) VALUES('hist_iid',?1) "
                   "ON CONFLICT(key) DO UPDATE SET value=excluded.value",
    [H_UPD_IID] = "UPDATE hinst SET ds=?2,t=?3,obs=?4,mdf=?5,kind=?6,num=?7,body=?8 "
                  "WHERE eid=?9 AND aid=?10 AND iid=?1",
};

void sq_hist_free(struct sqlite_be *be)
{
    for (int i = 0; i < H__COUNT; i++) {
        sqlite3_finalize(be->hst[i]);
        be->hst[i] = NULL;
    }
    pl_hmap_free(be->hents);
    pl_hmap_free(be->hattrs);
    be->hents = be->hattrs = NULL;
}

static sqlite3_stmt *hstmt(struct sqlite_be *be, enum hst k, struct pl_err *err)
{
    if (!be->hst[k]) {
        int rc =
            sqlite3_prepare_v3(be->db, hsql[k], -1, SQLITE_PREPARE_PERSISTENT, &be->hst[k], NULL);
        if (rc != SQLITE_OK) {
            sq_dberr(err, be->db, rc, hsql[k]);
            return NULL;
        }
    }
    return be->hst[k];
}

static void hdone(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Steps a statement that returns no row; resets it. */
static int hstep(struct sqlite_be *be, sqlite3_stmt *st, const char *what, struct pl_err *err)
{
    int rc = sqlite3_step(st);
    hdone(st);
    return rc == SQLITE_DONE ? 0 : sq_dberr(err, be->db, rc, what);
}

static void bind_ms(sqlite3_stmt *st, int i, int64_t ms)
{
    if (ms == PL_HIST_NONE)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, ms);
}

/* ------------------------------------------------------------------------------------------
 * Writer side
 * ---------------------------------------------------------------------------------------- */

/* ------------------------------------------------------------------------------------------
 * Writer caches: what the writer knows of hentity / hattr rows, so an append is one INSERT per
 * instance and no lookups. Dropped on any rollback (they could name rolled-back rows) and when
 * they grow past HIST_CACHE_MAX entries.
 * ---------------------------------------------------------------------------------------- */
#define HIST_CACHE_MAX 100000

struct hent {
    int64_t eid;
    char *types, *scope; /* compact JSON, as in hentity (owned) */
    int64_t deleted;     /* PL_HIST_NONE while it exists */
};

static void hent_free(void *p)
{
    struct hent *h = p;
    if (h) {
        free(h->types);
        free(h->scope);
        free(h);
    }
}

void sq_hist_cache_clear(struct sqlite_be *be)
{
    be->hlog_rows = 1; /* a rolled-back merge may have left rows in hlog: merge again */
    if (be->hents)
        pl_hmap_clear(be->hents);
    if (be->hattrs)
        pl_hmap_clear(be->hattrs);
}

static int caches_ready(struct sqlite_be *be, struct pl_err *err)
{
    if (!be->hents && !(be->hents = pl_hmap_new(hent_free)))
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    if (!be->hattrs && !(be->hattrs = pl_hmap_new(NULL)))
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    if (pl_hmap_count(be->hents) > HIST_CACHE_MAX)
        pl_hmap_clear(be->hents);
    if (pl_hmap_count(be->hattrs) > HIST_CACHE_MAX)
        pl_hmap_clear(be->hattrs);
    return 0;
}

static void ent_key(struct sqlite_be *be, const char *tenant, const char *id)
{
    struct pl_strbuf *k = &be->keybuf;
    pl_strbuf_reset(k);
    pl_strbuf_puts(k, tenant);
    pl_strbuf_putc(k, '\x1f');
    pl_strbuf_puts(k, id);
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* The hentity row of (tenant, id) as the writer knows it: *out NULL when it has no history.
 * *out is borrowed from the cache (valid until the next cache change). */
static int ent_find(struct sqlite_be *be, const char *tenant, const char *id, struct hent **out,
                    struct pl_err *err)
{
    *out = NULL;
    int rc = caches_ready(be, err);
    if (rc)
        return rc;
    ent_key(be, tenant, id);
    if (be->keybuf.nomem)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    int found = 0;
    struct hent *h = pl_hmap_get(be->hents, be->keybuf.p, &found);
    if (found) {
        *out = h;
        return 0;
    }
    sqlite3_stmt *st = hstmt(be, H_ENT_GET, err);
    if (!st)
        return err->code;
    sq_bind_text(st, 1, tenant);
    sq_bind_text(st, 2, id);
    int s = sqlite3_step(st);
    if (s == SQLITE_ROW) {
        h = calloc(1, sizeof *h);
        if (h) {
            h->eid = sqlite3_column_int64(st, 0);
            h->types = dup_or_null((const char *)sqlite3_column_text(st, 1));
            h->scope = dup_or_null((const char *)sqlite3_column_text(st, 2));
            h->deleted = sqlite3_column_type(st, 3) == SQLITE_NULL ? PL_HIST_NONE
                                                                   : sqlite3_column_int64(st, 3);
        }
        s = SQLITE_DONE;
    }
    hdone(st);
    if (s != SQLITE_DONE) {
        hent_free(h);
        return sq_dberr(err, be->db, s, "history entity lookup");
    }
    if (!h)
        return 0; /* not cached: absent entities are rare (their first write creates them) */
    ent_key(be, tenant, id);
    if (be->keybuf.nomem || pl_hmap_put(be->hents, be->keybuf.p, h) != 0) {
        hent_free(h);
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    }
    *out = h;
    return 0;
}

/* Forgets the cached row of (tenant, id) (deleted or changed outside the cache). */
static void ent_forget(struct sqlite_be *be, const char *tenant, const char *id)
{
    if (!be->hents)
        return;
    ent_key(be, tenant, id);
    if (!be->keybuf.nomem)
        pl_hmap_del(be->hents, be->keybuf.p);
}

static int64_t ent_eid(struct sqlite_be *be, const char *tenant, const char *id, int *rc,
                       struct pl_err *err)
{
    struct hent *h = NULL;
    *rc = ent_find(be, tenant, id, &h, err);
    return h ? h->eid : 0;
}

static int same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

/* The next instanceId (loaded once from the table and the saved high-water mark). */
static int next_iid(struct sqlite_be *be, int64_t *iid, struct pl_err *err)
{
    if (be->last_iid == 0) {
        sqlite3_stmt *st = hstmt(be, H_IID_MAX, err);
        if (!st)
            return err->code;
        int s = sqlite3_step(st);
        int64_t v = s == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
        hdone(st);
        if (s != SQLITE_ROW)
            return sq_dberr(err, be->db, s, "instanceId high-water mark");
        be->last_iid = be->saved_iid = v > 0 ? v : 0;
    }
    *iid = ++be->last_iid;
    return 0;
}

/* Saves the instanceId high-water mark in the transaction being committed (ids are never
 * reused, also after the newest instances were deleted; a rolled-back transaction only leaves a
 * gap). */
#define HLOG_MERGE_MS   250
#define HLOG_MERGE_ROWS 4096

/* Moves the staging log into hinst (one sorted bulk insert). Writer thread, in a transaction. */
static int sq_hist_merge(struct sqlite_be *be, struct pl_err *err)
{
    sqlite3_stmt *st = hstmt(be, H_MERGE, err);
    int rc = st ? hstep(be, st, "history merge", err) : err->code;
    if (rc == 0)
        rc = (st = hstmt(be, H_MERGE_CLEAR, err)) ? hstep(be, st, "history merge", err) : err->code;
    if (rc == 0) {
        be->hlog_rows = 0;
        be->hlog_merged_ms = pl_time_now_ms();
    }
    return rc;
}

int sq_hist_tx_commit(struct sqlite_be *be, struct pl_err *err)
{
    if (be->hlog_rows && (be->hlog_rows >= HLOG_MERGE_ROWS ||
                          pl_time_now_ms() - be->hlog_merged_ms >= HLOG_MERGE_MS)) {
        int rc = sq_hist_merge(be, err);
        if (rc)
            return rc;
    }
    if (be->last_iid == be->saved_iid)
        return 0;
    sqlite3_stmt *st = hstmt(be, H_IID_SAVE, err);
    if (!st)
        return err->code;
    sqlite3_bind_int64(st, 1, be->last_iid);
    int rc = hstep(be, st, "instanceId high-water mark", err);
    if (rc == 0)
        be->saved_iid = be->last_iid;
    return rc;
}

/* Records that (eid, aid, ds) has history (hattr), once per cache lifetime. */
static int attr_seen(struct sqlite_be *be, int64_t eid, int64_t aid, const char *ds,
                     struct pl_err *err)
{
    struct pl_strbuf *k = &be->keybuf;
    pl_strbuf_reset(k);
    char num[48];
    snprintf(num, sizeof num, "%lld %lld ", (long long)eid, (long long)aid);
    pl_strbuf_puts(k, num);
    pl_strbuf_puts(k, ds ? ds : "");
    if (k->nomem)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    int found = 0;
    pl_hmap_get(be->hattrs, k->p, &found);
    if (found)
        return 0;
    if (pl_hmap_put(be->hattrs, k->p, NULL) != 0)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    sqlite3_stmt *st = hstmt(be, H_ATTR_INS, err);
    if (!st)
        return err->code;
    sqlite3_bind_int64(st, 1, eid);
    sqlite3_bind_int64(st, 2, aid);
    sq_bind_text(st, 3, ds ? ds : "");
    return hstep(be, st, "history attribute insert", err);
}

int sq_w_hist_append(void *p, const char *tenant, const char *id, const char *types_text,
                     const char *scope_text, int64_t deleted_ms, const struct pl_hist_inst *rows,
                     size_t n, int *created, struct pl_err *err)
{
    struct sqlite_be *be = p;
    struct hent *h = NULL;
    int rc = ent_find(be, tenant, id, &h, err);
    if (rc != 0)
        return rc;
    if (created)
        *created = h == NULL;
    const char *types = types_text ? types_text : h ? h->types : NULL;
    const char *scope = scope_text ? (strcmp(scope_text, "null") ? scope_text : NULL)
                        : h        ? h->scope
                                   : NULL;
    int64_t old_deleted = h ? h->deleted : PL_HIST_NONE;
    int64_t deleted = deleted_ms == PL_HIST_NONE ? old_deleted
                      : deleted_ms == 0          ? PL_HIST_NONE
                                                 : deleted_ms;
    int64_t eid;
    sqlite3_stmt *st;
    if (!h) {
        if (!(st = hstmt(be, H_ENT_INS, err)))
            return err->code;
        sq_bind_text(st, 1, tenant);
        sq_bind_text(st, 2, id);
        sq_bind_text(st, 3, types ? types : "[]");
        sq_bind_text(st, 4, scope);
        bind_ms(st, 5, deleted);
        if ((rc = hstep(be, st, "history entity insert", err)) != 0)
            return rc;
        eid = sqlite3_last_insert_rowid(be->db);
        if (!(st = hstmt(be, H_TENANT, err)))
            return err->code;
        sq_bind_text(st, 1, tenant);
        if ((rc = hstep(be, st, "tenant insert", err)) != 0)
            return rc;
    } else {
        eid = h->eid;
        if (!same_text(types, h->types) || !same_text(scope, h->scope) || deleted != old_deleted) {
            if (!(st = hstmt(be, H_ENT_UPD, err)))
                return err->code;
            sqlite3_bind_int64(st, 1, eid);
            sq_bind_text(st, 2, types ? types : "[]");
            sq_bind_text(st, 3, scope);
            bind_ms(st, 4, deleted);
            if ((rc = hstep(be, st, "history entity update", err)) != 0)
                return rc;
            ent_forget(be, tenant, id); /* re-read on next use */
        }
    }
    for (size_t i = 0; i < n; i++) {
        const struct pl_hist_inst *r = &rows[i];
        int64_t aid, iid = 0;
        if ((rc = sq_nid_of(be, tenant, r->attr, &aid, err)) != 0 ||
            (rc = attr_seen(be, eid, aid, r->dataset_id, err)) != 0 ||
            (rc = next_iid(be, &iid, err)) != 0)
            return rc;
        if (!(st = hstmt(be, H_INS, err)))
            return err->code;
        sqlite3_bind_int64(st, 1, eid);
        sqlite3_bind_int64(st, 2, aid);
        sq_bind_text(st, 3, r->dataset_id);
        sqlite3_bind_int64(st, 4, r->obs != PL_HIST_NONE ? r->obs : r->cre);
        bind_ms(st, 5, r->obs);
        sqlite3_bind_int64(st, 6, r->cre);
        sqlite3_bind_int64(st, 7, r->mdf);
        bind_ms(st, 8, r->del);
        sqlite3_bind_int(st, 9, r->kind);
        if (r->kind == PL_HV_NUMBER || r->kind == PL_HV_BOOL || r->kind == PL_HV_ARRAY)
            sqlite3_bind_double(st, 10, r->num);
        sqlite3_bind_text(st, 11, r->body, (int)r->len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 12, iid);
        if ((rc = hstep(be, st, "history insert", err)) != 0)
            return rc;
        be->hlog_rows++;
    }
    return 0;
}

/* The nid of an attribute IRI, 0 when the name was never interned (then it has no rows). */
static int name_get(struct sqlite_be *be, const char *tenant, const char *iri, int64_t *nid,
                    struct pl_err *err)
{
    sqlite3_stmt *st = hstmt(be, H_NAME_GET, err);
    if (!st)
        return err->code;
    sq_bind_text(st, 1, tenant);
    sq_bind_text(st, 2, iri);
    int rc = sqlite3_step(st);
    *nid = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    hdone(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : sq_dberr(err, be->db, rc, "name lookup");
}

int sq_w_hist_delete(void *p, const char *tenant, const struct pl_hist_del *d, int64_t *n_deleted,
                     struct pl_err *err)
{
    struct sqlite_be *be = p;
    int64_t aid = 0;
    *n_deleted = 0;
    int rc;
    int64_t eid = ent_eid(be, tenant, d->id, &rc, err);
    if (rc != 0 || eid == 0)
        return rc;
    if (be->hlog_rows && (rc = sq_hist_merge(be, err)) != 0) /* act on hinst alone */
        return rc;
    sqlite3_stmt *st;
    if (!d->attr) {
        ent_forget(be, tenant, d->id);
        pl_hmap_clear(be->hattrs);
        if (!(st = hstmt(be, H_ATTR_DEL_ENT, err)))
            return err->code;
        sqlite3_bind_int64(st, 1, eid);
        if ((rc = hstep(be, st, "history attributes delete", err)) != 0)
            return rc;
        if (!(st = hstmt(be, H_DEL_ENT_INST, err)))
            return err->code;
        sqlite3_bind_int64(st, 1, eid);
        if ((rc = hstep(be, st, "history delete", err)) != 0)
            return rc;
        if (!(st = hstmt(be, H_DEL_ENT, err)))
            return err->code;
        sqlite3_bind_int64(st, 1, eid);
        if ((rc = hstep(be, st, "history entity delete", err)) != 0)
            return rc;
        *n_deleted = 1;
        return 0;
    }
    if ((rc = name_get(be, tenant, d->attr, &aid, err)) != 0 || aid == 0)
        return rc;
    enum hst k = d->iid ? H_DEL_IID : d->all_datasets ? H_DEL_ATTR : H_DEL_ATTR_DS;
    if (!(st = hstmt(be, k, err)))
        return err->code;
    if (d->iid) {
        sqlite3_bind_int64(st, 1, d->iid);
        sqlite3_bind_int64(st, 2, eid);
        sqlite3_bind_int64(st, 3, aid);
    } else {
        sqlite3_bind_int64(st, 1, eid);
        sqlite3_bind_int64(st, 2, aid);
        if (k == H_DEL_ATTR_DS)
            sq_bind_text(st, 3, d->dataset_id);
    }
    if ((rc = hstep(be, st, "history delete", err)) != 0)
        return rc;
    *n_deleted = sqlite3_changes(be->db);
    if (!d->iid && *n_deleted) { /* the attribute (or dataset) has no history left */
        pl_hmap_clear(be->hattrs);
        if (!(st = hstmt(be, H_ATTR_DEL, err)))
            return err->code;
        sqlite3_bind_int64(st, 1, eid);
        sqlite3_bind_int64(st, 2, aid);
        sqlite3_bind_int(st, 3, d->all_datasets);
        sq_bind_text(st, 4, d->dataset_id);
        if ((rc = hstep(be, st, "history attribute delete", err)) != 0)
            return rc;
    }
    return 0;
}

int sq_w_hist_patch(void *p, const char *tenant, const char *id, const char *attr, int64_t iid,
                    const json_t *patch, int64_t now, struct pl_err *err)
{
    struct sqlite_be *be = p;
    int64_t aid = 0;
    int rc;
    int64_t eid = ent_eid(be, tenant, id, &rc, err);
    if (rc == 0 && eid && be->hlog_rows) /* act on hinst alone */
        rc = sq_hist_merge(be, err);
    if (rc == 0 && eid)
        rc = name_get(be, tenant, attr, &aid, err);
    if (rc != 0)
        return rc;
    sqlite3_stmt *st = eid && aid ? hstmt(be, H_GET_IID, err) : NULL;
    json_t *cur = NULL;
    if (st) {
        sqlite3_bind_int64(st, 1, iid);
        sqlite3_bind_int64(st, 2, eid);
        sqlite3_bind_int64(st, 3, aid);
        if (sqlite3_step(st) == SQLITE_ROW)
            cur = json_loads((const char *)sqlite3_column_text(st, 0), 0, NULL);
        hdone(st);
    } else if (eid && aid) {
        return err->code;
    }
    if (!cur)
        return pl_err_set(err, PL_ENOTFOUND, "no attribute instance '%lld' of '%s'", (long long)iid,
                          attr);
    /* The patch's members replace the stored ones; the kind's value member is exclusive. */
    static const char *const payload[] = {"value", "object",    "languageMap", "vocab",
                                          "json",  "valueList", "objectList"};
    if (json_object_get(patch, "type"))
        for (size_t i = 0; i < sizeof payload / sizeof *payload; i++)
            json_object_del(cur, payload[i]);
    /* createdAt and deletedAt are the instance's history, not the patch's to change */
    json_t *created = json_incref(json_object_get(cur, "createdAt"));
    json_t *deleted = json_incref(json_object_get(cur, "deletedAt"));
    json_object_update(cur, (json_t *)patch);
    json_object_del(cur, "createdAt");
    json_object_del(cur, "deletedAt");
    if (created)
        json_object_set_new(cur, "createdAt", created);
    if (deleted)
        json_object_set_new(cur, "deletedAt", deleted);
    struct pl_hist_batch b = {0};
    rc = pl_store__hist_add_row(&b, attr, cur, now, 0, 1);
    if (rc != 0) {
        rc = pl_err_set(err, PL_ENOMEM, "out of memory");
    } else if (!(st = hstmt(be, H_UPD_IID, err))) {
        rc = err->code;
    } else {
        const struct pl_hist_inst *r = &b.rows[0];
        sqlite3_bind_int64(st, 1, iid);
        sq_bind_text(st, 2, r->dataset_id);
        sqlite3_bind_int64(st, 3, r->obs != PL_HIST_NONE ? r->obs : r->cre);
        bind_ms(st, 4, r->obs);
        sqlite3_bind_int64(st, 5, r->mdf);
        sqlite3_bind_int(st, 6, r->kind);
        if (r->kind == PL_HV_NUMBER || r->kind == PL_HV_BOOL || r->kind == PL_HV_ARRAY)
            sqlite3_bind_double(st, 7, r->num);
        sqlite3_bind_text(st, 8, r->body, (int)r->len, SQLITE_STATIC);
        sqlite3_bind_int64(st, 9, eid);
        sqlite3_bind_int64(st, 10, aid);
        rc = hstep(be, st, "history instance update", err);
    }
    pl_store__hist_batch_free(&b);
    json_decref(cur);
    return rc;
}

/* Runs `sql` (binding ?1.. from vals) and adds the rows it changed to *n. */
static int exec_changes(struct sqlite_be *be, const char *sql, const int64_t *vals, int nv,
                        const char *text, int64_t *n, struct pl_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(be->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_dberr(err, be->db, rc, sql);
    for (int i = 0; i < nv; i++)
        sqlite3_bind_int64(st, i + 1, vals[i]);
    if (text)
        sq_bind_text(st, nv + 1, text);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return sq_dberr(err, be->db, rc, sql);
    *n += sqlite3_changes(be->db);
    return 0;
}

/* The LIKE pattern that finds a type IRI in hentity.types (compact JSON array). */
static char *type_like(const char *type)
{
    size_t n = strlen(type);
    char *s = malloc(n * 2 + 8);
    if (!s)
        return NULL;
    char *o = s;
    *o++ = '%';
    *o++ = '"';
    for (const char *c = type; *c; c++) {
        if (*c == '%' || *c == '_' || *c == '\\')
            *o++ = '\\';
        *o++ = *c;
    }
    *o++ = '"';
    *o++ = '%';
    *o = 0;
    return s;
}

/*
 * Retention, one bounded step: the next HIST_TRIM_ENTITIES entities (by eid, from a cursor that
 * wraps) lose, per attribute, the instances older than an age rule (by their time t: observedAt,
 * else createdAt; a key range) and all but the newest max_count of a count rule. At most
 * `budget` instances are deleted per rule; the cursor only moves on when every rule finished
 * its window, so a large backlog is worked off in steps without holding the writer long.
 */
#define HIST_TRIM_ENTITIES 32

int sq_w_hist_trim(void *p, const struct pl_hist_policy *pol, int64_t now_ms, int budget,
                   int64_t *n_deleted, struct pl_err *err)
{
    struct sqlite_be *be = p;
    *n_deleted = 0;
    int rc = be->hlog_rows ? sq_hist_merge(be, err) : 0, full = 0;
    for (size_t i = 0; i < pol->n_retention && rc == 0; i++) {
        const struct pl_hist_retention *r = &pol->retention[i];
        char *like = type_like(r->type ? r->type : "");
        if (!like)
            return pl_err_set(err, PL_ENOMEM, "out of memory");
        if (!r->type)
            memcpy(like, "%", 2); /* fits: type_like allocates at least 8 bytes */
        int64_t before = *n_deleted;
        /* ?1 cursor, ?2 budget, ?3 cutoff or count, ?4 type pattern */
        static const char window[] = "(SELECT a.eid, a.aid FROM (SELECT eid FROM hentity WHERE "
                                     "eid > ?1 AND types LIKE ?4 ESCAPE '\\' ORDER BY eid LIMIT "
                                     "32) e JOIN (SELECT DISTINCT eid, aid FROM hattr) a ON "
                                     "a.eid = e.eid)";
        char sql[1024];
        if (r->max_age_ms > 0) {
            snprintf(sql, sizeof sql,
                     "DELETE FROM hinst WHERE (eid, aid, t, iid) IN (SELECT h.eid, h.aid, h.t, "
                     "h.iid FROM %s w JOIN hinst h ON h.eid = w.eid AND h.aid = w.aid AND "
                     "h.t < ?3 LIMIT ?2)",
                     window);
            int64_t v[3] = {be->trim_eid, budget, now_ms - r->max_age_ms};
            rc = exec_changes(be, sql, v, 3, like, n_deleted, err);
        }
        if (rc == 0 && r->max_count > 0) {
            snprintf(sql, sizeof sql,
                     "DELETE FROM hinst WHERE (eid, aid, t, iid) IN (SELECT h.eid, h.aid, h.t, "
                     "h.iid FROM %s w JOIN hinst h ON h.eid = w.eid AND h.aid = w.aid WHERE "
                     "(h.t, h.iid) < (SELECT x.t, x.iid FROM hinst x WHERE x.eid = w.eid AND "
                     "x.aid = w.aid ORDER BY x.t DESC, x.iid DESC LIMIT 1 OFFSET ?3 - 1) LIMIT "
                     "?2)",
                     window);
            int64_t v[3] = {be->trim_eid, budget, r->max_count};
            rc = exec_changes(be, sql, v, 3, like, n_deleted, err);
        }
        full |= *n_deleted - before >= budget;
        free(like);
    }
    if (rc == 0 && !full) { /* this window is done: move on (wrap at the end) */
        sqlite3_stmt *st = NULL;
        const char *sql = "SELECT max(eid), count(*) FROM (SELECT eid FROM hentity WHERE "
                          "eid > ?1 ORDER BY eid LIMIT "
                          "32"
                          ")";
        _Static_assert(HIST_TRIM_ENTITIES == 32, "the window size is written in the SQL");
        if (sqlite3_prepare_v2(be->db, sql, -1, &st, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(st, 1, be->trim_eid);
            if (sqlite3_step(st) == SQLITE_ROW)
                be->trim_eid = sqlite3_column_int(st, 1) < HIST_TRIM_ENTITIES
                                   ? 0
                                   : sqlite3_column_int64(st, 0);
        }
        sqlite3_finalize(st);
    }
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * Reader side
 * ---------------------------------------------------------------------------------------- */

/* pl_tbucket(t, origin, months, period_ms): the start of t's aggregation bucket. */
static void fn_tbucket(sqlite3_context *cx, int argc, sqlite3_value **argv)
{
    (void)argc;
    for (int i = 0; i < 4; i++)
        if (sqlite3_value_type(argv[i]) == SQLITE_NULL) {
            sqlite3_result_null(cx);
            return;
        }
    sqlite3_result_int64(
        cx, pl_temporal_bucket_start(sqlite3_value_int64(argv[1]), sqlite3_value_int(argv[2]),
                                     sqlite3_value_int64(argv[3]), sqlite3_value_int64(argv[0])));
}

int sq_hist_register(sqlite3 *db)
{
    return sqlite3_create_function(db, "pl_tbucket", 4,
                                   SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS, NULL,
                                   fn_tbucket, NULL, NULL) == SQLITE_OK
               ? 0
               : -1;
}

static int rprep(struct rconn *c, const char *sql, sqlite3_stmt **st, struct pl_err *err)
{
    int rc = sqlite3_prepare_v2(c->db, sql, -1, st, NULL);
    return rc == SQLITE_OK ? 0 : sq_dberr(err, c->db, rc, sql);
}

int sq_hist_entities(void *p, const char *tenant, const char *const *ids, size_t n_ids,
                     const char *id_prefix, pl_hist_entity_fn fn, void *ud, struct pl_err *err)
{
    struct sqlite_be *be = p;
    struct rconn *c = sq_reader_get(be, err);
    if (!c)
        return err->code;
    struct pl_strbuf sql = {0};
    pl_strbuf_puts(&sql, "SELECT id, types, scope, deleted FROM hentity WHERE tenant=?1");
    if (ids && n_ids) {
        pl_strbuf_puts(&sql, " AND id IN (SELECT value FROM json_each(?2))");
    }
    if (id_prefix && *id_prefix)
        pl_strbuf_puts(&sql, " AND id >= ?3 AND substr(id, 1, length(?3)) = ?3");
    pl_strbuf_puts(&sql, " ORDER BY id");
    sqlite3_stmt *st = NULL;
    char *idlist = NULL;
    int rc = sql.nomem ? pl_err_set(err, PL_ENOMEM, "out of memory") : rprep(c, sql.p, &st, err);
    if (rc == 0) {
        sq_bind_text(st, 1, tenant);
        if (ids && n_ids) {
            json_t *a = json_array();
            for (size_t i = 0; a && i < n_ids; i++)
                json_array_append_new(a, json_string(ids[i]));
            idlist = a ? json_dumps(a, JSON_COMPACT) : NULL;
            json_decref(a);
            if (!idlist)
                rc = pl_err_set(err, PL_ENOMEM, "out of memory");
            sq_bind_text(st, 2, idlist);
        }
        if (id_prefix && *id_prefix)
            sq_bind_text(st, 3, id_prefix);
    }
    while (rc == 0) {
        int s = sqlite3_step(st);
        if (s == SQLITE_DONE)
            break;
        if (s != SQLITE_ROW) {
            rc = sq_dberr(err, c->db, s, "history entities");
            break;
        }
        const char *scope = (const char *)sqlite3_column_text(st, 2);
        rc = fn(
            ud, (const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
            scope && strcmp(scope, "null") ? scope : NULL,
            sqlite3_column_type(st, 3) == SQLITE_NULL ? PL_HIST_NONE : sqlite3_column_int64(st, 3));
    }
    sqlite3_finalize(st);
    free(idlist);
    pl_strbuf_dispose(&sql);
    sq_reader_put(be, c);
    return rc;
}

/* The attributes (nid, IRI) to read for q, in IRI order. */
struct attr_ref {
    int64_t aid;
    char *iri;
};

static int cmp_attr(const void *a, const void *b)
{
    return strcmp(((const struct attr_ref *)a)->iri, ((const struct attr_ref *)b)->iri);
}

static int load_attrs(struct rconn *c, int64_t eid, const struct pl_hist_query *q,
                      struct attr_ref **out, size_t *n, struct pl_err *err)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *st = NULL;
    int rc;
    if (q->attrs)
        rc = rprep(c, "SELECT nid, iri FROM name WHERE tenant=?1 AND iri=?2", &st, err);
    else
        rc = rprep(c,
                   "SELECT n.nid, n.iri FROM (SELECT DISTINCT aid FROM hattr WHERE eid=?1) a "
                   "JOIN name n ON n.nid = a.aid",
                   &st, err);
    if (rc)
        return rc;
    size_t cap = 0, rounds = q->attrs ? q->n_attrs : 1;
    for (size_t r = 0; r < rounds && rc == 0; r++) {
        if (q->attrs) {
            sqlite3_reset(st);
            sq_bind_text(st, 1, q->tenant);
            sq_bind_text(st, 2, q->attrs[r]);
        } else {
            sqlite3_bind_int64(st, 1, eid);
        }
        int s;
        while ((s = sqlite3_step(st)) == SQLITE_ROW) {
            if (*n == cap) {
                cap = cap ? cap * 2 : 8;
                struct attr_ref *x = realloc(*out, cap * sizeof *x);
                if (!x) {
                    rc = pl_err_set(err, PL_ENOMEM, "out of memory");
                    break;
                }
                *out = x;
            }
            (*out)[*n].aid = sqlite3_column_int64(st, 0);
            if (!((*out)[*n].iri = strdup((const char *)sqlite3_column_text(st, 1)))) {
                rc = pl_err_set(err, PL_ENOMEM, "out of memory");
                break;
            }
            (*n)++;
        }
        if (rc == 0 && s != SQLITE_DONE)
            rc = sq_dberr(err, c->db, s, "history attributes");
    }
    sqlite3_finalize(st);
    if (rc == 0 && *n > 1)
        qsort(*out, *n, sizeof **out, cmp_attr);
    return rc;
}

static void free_attrs(struct attr_ref *a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i].iri);
    free(a);
}

/* The time column of a Temporal Property, and the expression instances are ordered by. */
static const char *time_col(int prop)
{
    switch (prop) {
    case PL_TIMEPROP_CREATED_AT:
        return "cre";
    case PL_TIMEPROP_MODIFIED_AT:
        return "mdf";
    case PL_TIMEPROP_DELETED_AT:
        return "del";
    default:
        return "obs";
    }
}
static const char *order_expr(int prop)
{
    switch (prop) {
    case PL_TIMEPROP_CREATED_AT:
        return "cre";
    case PL_TIMEPROP_MODIFIED_AT:
        return "mdf";
    case PL_TIMEPROP_DELETED_AT:
        return "coalesce(del, cre)";
    default:
        return "t"; /* observedAt, else createdAt (hinst.t) */
    }
}

/* " AND <time condition>" for q (4.11 bounds, see temporalq.h), binding ?3 and ?4. */
static void time_cond(struct pl_strbuf *sql, const struct pl_hist_query *q)
{
    const char *col = time_col(q->prop), *ord = order_expr(q->prop);
    if (q->rel == PL_TIMEREL_NONE)
        return;
    /* observedAt windows: t is obs whenever obs exists, so the index range applies */
    const char *cmp = q->prop == PL_TIMEPROP_OBSERVED_AT ? "t" : ord;
    pl_strbuf_printf(sql, " AND %s IS NOT NULL", col);
    if (q->rel == PL_TIMEREL_BEFORE)
        pl_strbuf_printf(sql, " AND %s < ?3", cmp);
    else if (q->rel == PL_TIMEREL_AFTER)
        pl_strbuf_printf(sql, " AND %s >= ?3", cmp);
    else
        pl_strbuf_printf(sql, " AND %s >= ?3 AND %s < ?4", cmp, cmp);
}

static int64_t entity_eid(struct rconn *c, const char *tenant, const char *id, struct pl_err *err,
                          int *rc)
{
    sqlite3_stmt *st = NULL;
    int64_t eid = 0;
    *rc = rprep(c, "SELECT eid FROM hentity WHERE tenant=?1 AND id=?2", &st, err);
    if (*rc == 0) {
        sq_bind_text(st, 1, tenant);
        sq_bind_text(st, 2, id);
        if (sqlite3_step(st) == SQLITE_ROW)
            eid = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return eid;
}

/* Rows of one attribute, buffered to detect the cut and to order them (lastN reads newest
 * first, per datasetId). */
struct row {
    int64_t iid, t;
    char *body;
    size_t len;
    int edge; /* the row at a cut (pl_hist_row_fn `more`) */
};

static int cmp_row(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return x->iid < y->iid ? -1 : x->iid > y->iid;
}

int sq_hist_instances(void *p, const struct pl_hist_query *q, pl_hist_row_fn fn, void *ud,
                      struct pl_err *err)
{
    struct sqlite_be *be = p;
    struct rconn *c = sq_reader_get(be, err);
    if (!c)
        return err->code;
    int rc = 0;
    int64_t eid = entity_eid(c, q->tenant, q->id, err, &rc);
    struct attr_ref *attrs = NULL;
    size_t n_attrs = 0;
    if (rc == 0 && eid == 0)
        rc = pl_err_set(err, PL_ENOTFOUND, "no temporal evolution of '%s'", q->id);
    if (rc == 0)
        rc = load_attrs(c, eid, q, &attrs, &n_attrs, err);
    struct pl_strbuf sql = {0};
    const char *ord = order_expr(q->prop);
    int desc = q->last_n > 0;
    const char *dir = desc ? "DESC" : "ASC";
    pl_strbuf_puts(&sql, "SELECT iid, tt, body FROM (");
    for (int k = 0; k < 2; k++) { /* hinst, then the staging log */
        pl_strbuf_printf(&sql,
                         "%sSELECT * FROM (SELECT iid, %s AS tt, body FROM %s WHERE eid=?1 AND "
                         "aid=?2 AND (?6 = 0 OR ds IS ?7)",
                         k ? " UNION ALL " : "", ord, k ? "hlog" : "hinst");
        time_cond(&sql, q);
        pl_strbuf_printf(&sql, " ORDER BY %s %s, iid %s LIMIT ?5)", ord, dir, dir);
    }
    pl_strbuf_printf(&sql, ") ORDER BY tt %s, iid %s LIMIT ?5", dir, dir);
    sqlite3_stmt *st = NULL;
    if (rc == 0)
        rc = sql.nomem ? pl_err_set(err, PL_ENOMEM, "out of memory") : rprep(c, sql.p, &st, err);
    struct row *rows = NULL;
    size_t cap = 0;
    /* lastN is per attribute and datasetId (docs/temporal.md): one read per datasetId */
    sqlite3_stmt *ds_st = NULL;
    if (rc == 0 && desc)
        rc = rprep(c, "SELECT nullif(ds, '') FROM hattr WHERE eid=?1 AND aid=?2", &ds_st, err);
    for (size_t a = 0; a < n_attrs && rc == 0; a++) {
        int64_t want = desc ? q->last_n : INT64_MAX;
        int64_t limit = want;
        int cut_possible = q->max > 0 && want > q->max;
        if (cut_possible)
            limit = q->max + 1;
        size_t n = 0;
        int n_ds = 0;
        if (ds_st) {
            sqlite3_reset(ds_st);
            sqlite3_bind_int64(ds_st, 1, eid);
            sqlite3_bind_int64(ds_st, 2, attrs[a].aid);
        }
        for (;;) { /* each datasetId (lastN), or once */
            const char *ds = NULL;
            if (ds_st) {
                if (sqlite3_step(ds_st) != SQLITE_ROW)
                    break;
                ds = (const char *)sqlite3_column_text(ds_st, 0);
            }
            n_ds++;
            sqlite3_reset(st);
            sqlite3_bind_int64(st, 1, eid);
            sqlite3_bind_int64(st, 2, attrs[a].aid);
            sqlite3_bind_int64(st, 3, q->t1);
            sqlite3_bind_int64(st, 4, q->t2);
            sqlite3_bind_int64(st, 5, limit);
            sqlite3_bind_int(st, 6, ds_st != NULL);
            sq_bind_text(st, 7, ds);
            size_t first = n;
            int s;
            while ((s = sqlite3_step(st)) == SQLITE_ROW) {
                if (n == cap) {
                    cap = cap ? cap * 2 : 64;
                    struct row *x = realloc(rows, cap * sizeof *x);
                    if (!x) {
                        rc = pl_err_set(err, PL_ENOMEM, "out of memory");
                        break;
                    }
                    rows = x;
                }
                rows[n].iid = sqlite3_column_int64(st, 0);
                rows[n].t = sqlite3_column_int64(st, 1);
                rows[n].len = (size_t)sqlite3_column_bytes(st, 2);
                rows[n].body = malloc(rows[n].len + 1);
                if (!rows[n].body) {
                    rc = pl_err_set(err, PL_ENOMEM, "out of memory");
                    break;
                }
                memcpy(rows[n].body, sqlite3_column_text(st, 2), rows[n].len + 1);
                rows[n].edge = 0;
                n++;
            }
            if (rc == 0 && s != SQLITE_DONE)
                rc = sq_dberr(err, c->db, s, "history instances");
            if (cut_possible && (int64_t)(n - first) > q->max) {
                /* drop the extra row: the oldest for lastN (desc), the newest otherwise */
                free(rows[n - 1].body);
                n--;
                rows[n - 1].edge = 1; /* the last one kept, in the read's order */
            }
            if (rc != 0 || !ds_st)
                break;
        }
        if (n > 1 && (n_ds > 1 || desc)) /* ascending time; ties in recording order */
            qsort(rows, n, sizeof *rows, cmp_row);
        for (size_t i = 0; i < n; i++) {
            if (rc == 0)
                rc = fn(ud, attrs[a].iri, rows[i].iid, rows[i].t, rows[i].body, rows[i].len,
                        rows[i].edge);
            free(rows[i].body);
        }
    }
    sqlite3_finalize(ds_st);
    free(rows);
    sqlite3_finalize(st);
    pl_strbuf_dispose(&sql);
    free_attrs(attrs, n_attrs);
    sq_reader_put(be, c);
    return rc;
}

/* The aggregation SQL. with_body: distinctCount and string min/max, which read the instance
 * bodies; without, the query reads only the columns of the covering index hinst_agg. */
static void aggr_sql(struct pl_strbuf *sql, const struct pl_hist_query *q, int with_body)
{
    const char *ord = order_expr(q->prop);
    const char *cols = with_body ? "t, obs, cre, mdf, del, kind, num, body"
                       : q->prop == PL_TIMEPROP_OBSERVED_AT ? "t, obs, del, kind, num"
                                                            : "t, obs, cre, mdf, del, kind, num";
    pl_strbuf_printf(
        sql,
        "SELECT pl_tbucket(%s, ?6, ?7, ?8) AS b, count(*), %s, count(num), "
        "total(num), total(num*num), min(num), max(num), %s, %s, min(%s), max(%s), "
        "sum(DISTINCT 1 << kind) FROM (",
        ord,
        /* -> keeps JSON types apart: 1 and true are two distinct values */
        with_body ? "count(DISTINCT coalesce(body -> '$.value', body -> '$.object', body))" : "0",
        with_body ? "min(CASE WHEN kind = 3 THEN json_extract(body, '$.value') END)" : "NULL",
        with_body ? "max(CASE WHEN kind = 3 THEN json_extract(body, '$.value') END)" : "NULL", ord,
        ord);
    for (int k = 0; k < 2; k++) { /* hinst, then the staging log */
        pl_strbuf_printf(sql,
                         "%sSELECT %s FROM %s WHERE eid=?1 AND aid=?2 AND del IS NULL AND "
                         "kind <> 0",
                         k ? " UNION ALL " : "", cols, k ? "hlog" : "hinst");
        time_cond(sql, q);
    }
    pl_strbuf_puts(sql, ") GROUP BY b ORDER BY b");
}

/* The earliest matching time of one attribute (the origin of its buckets with origin_first). */
static void first_sql(struct pl_strbuf *sql, const struct pl_hist_query *q)
{
    const char *ord = order_expr(q->prop);
    pl_strbuf_puts(sql, "SELECT min(tt) FROM (");
    for (int k = 0; k < 2; k++) {
        pl_strbuf_printf(sql,
                         "%sSELECT min(%s) AS tt FROM %s WHERE eid=?1 AND aid=?2 AND del IS NULL "
                         "AND kind <> 0",
                         k ? " UNION ALL " : "", ord, k ? "hlog" : "hinst");
        time_cond(sql, q);
    }
    pl_strbuf_puts(sql, ")");
}

struct bucket_buf {
    struct pl_hist_bucket *v;
    char **strs; /* smin / smax copies (2 per bucket) */
    size_t n, cap;
    unsigned kinds;
};

static void bucket_buf_reset(struct bucket_buf *bb)
{
    for (size_t i = 0; i < 2 * bb->n; i++)
        free(bb->strs[i]);
    bb->n = 0;
    bb->kinds = 0;
}

/* Runs `st` for one attribute into bb, its buckets starting at `origin`. */
static int aggr_run(struct rconn *c, sqlite3_stmt *st, int64_t eid, int64_t aid,
                    const struct pl_hist_query *q, const struct pl_hist_aggr *ag,
                    int64_t origin, struct bucket_buf *bb, struct pl_err *err)
{
    bucket_buf_reset(bb);
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, eid);
    sqlite3_bind_int64(st, 2, aid);
    sqlite3_bind_int64(st, 3, q->t1);
    sqlite3_bind_int64(st, 4, q->t2);
    sqlite3_bind_int64(st, 6, origin);
    sqlite3_bind_int(st, 7, ag->months);
    sqlite3_bind_int64(st, 8, ag->period_ms);
    int s;
    while ((s = sqlite3_step(st)) == SQLITE_ROW) {
        if (bb->n == bb->cap) {
            size_t cap = bb->cap ? bb->cap * 2 : 64;
            struct pl_hist_bucket *v = realloc(bb->v, cap * sizeof *v);
            char **strs = v ? realloc(bb->strs, 2 * cap * sizeof *strs) : NULL;
            if (v)
                bb->v = v;
            if (!strs)
                return pl_err_set(err, PL_ENOMEM, "out of memory");
            bb->strs = strs;
            bb->cap = cap;
        }
        struct pl_hist_bucket *b = &bb->v[bb->n];
        b->start = sqlite3_column_int64(st, 0);
        b->n = sqlite3_column_int64(st, 1);
        b->n_distinct = sqlite3_column_int64(st, 2);
        b->n_num = sqlite3_column_int64(st, 3);
        b->sum = sqlite3_column_double(st, 4);
        b->sumsq = sqlite3_column_double(st, 5);
        b->min = sqlite3_column_double(st, 6);
        b->max = sqlite3_column_double(st, 7);
        const char *a = (const char *)sqlite3_column_text(st, 8);
        const char *z = (const char *)sqlite3_column_text(st, 9);
        bb->strs[2 * bb->n] = a ? strdup(a) : NULL;
        bb->strs[2 * bb->n + 1] = z ? strdup(z) : NULL;
        b->smin = bb->strs[2 * bb->n];
        b->smax = bb->strs[2 * bb->n + 1];
        b->first_t = sqlite3_column_int64(st, 10);
        b->last_t = sqlite3_column_int64(st, 11);
        b->kinds = (unsigned)sqlite3_column_int64(st, 12);
        b->origin = origin;
        bb->kinds |= b->kinds;
        bb->n++;
    }
    return s == SQLITE_DONE ? 0 : sq_dberr(err, c->db, s, "history aggregation");
}

int sq_hist_aggregate(void *p, const struct pl_hist_query *q, const struct pl_hist_aggr *ag,
                      pl_hist_aggr_fn fn, void *ud, struct pl_err *err)
{
    struct sqlite_be *be = p;
    struct rconn *c = sq_reader_get(be, err);
    if (!c)
        return err->code;
    int rc = 0;
    int64_t eid = entity_eid(c, q->tenant, q->id, err, &rc);
    struct attr_ref *attrs = NULL;
    size_t n_attrs = 0;
    if (rc == 0 && eid == 0)
        rc = pl_err_set(err, PL_ENOTFOUND, "no temporal evolution of '%s'", q->id);
    if (rc == 0)
        rc = load_attrs(c, eid, q, &attrs, &n_attrs, err);
    int distinct = (ag->methods & PL_AGGR_DISTINCTCOUNT) != 0;
    int strs = (ag->methods & (PL_AGGR_MIN | PL_AGGR_MAX)) != 0;
    struct pl_strbuf fast = {0}, full = {0}, first = {0};
    aggr_sql(&fast, q, 0);
    aggr_sql(&full, q, 1);
    first_sql(&first, q);
    sqlite3_stmt *st_fast = NULL, *st_full = NULL, *st_first = NULL;
    if (rc == 0 && (fast.nomem || full.nomem || first.nomem))
        rc = pl_err_set(err, PL_ENOMEM, "out of memory");
    if (rc == 0)
        rc = rprep(c, fast.p, &st_fast, err);
    if (rc == 0)
        rc = rprep(c, full.p, &st_full, err);
    if (rc == 0 && ag->origin_first)
        rc = rprep(c, first.p, &st_first, err);
    struct bucket_buf bb = {0};
    for (size_t a = 0; a < n_attrs && rc == 0; a++) {
        int64_t origin = ag->origin_ms;
        if (st_first) {
            sqlite3_reset(st_first);
            sqlite3_bind_int64(st_first, 1, eid);
            sqlite3_bind_int64(st_first, 2, attrs[a].aid);
            sqlite3_bind_int64(st_first, 3, q->t1);
            sqlite3_bind_int64(st_first, 4, q->t2);
            int s = sqlite3_step(st_first);
            if (s != SQLITE_ROW)
                rc = sq_dberr(err, c->db, s, "history aggregation origin");
            else if (sqlite3_column_type(st_first, 0) == SQLITE_NULL)
                continue; /* no instance: no bucket */
            else
                origin = sqlite3_column_int64(st_first, 0);
        }
        /* numbers (the usual case) need no body: the covering index answers; bodies are read
         * only for distinctCount, or min/max of an attribute that has string values */
        if (rc == 0)
            rc = aggr_run(c, distinct ? st_full : st_fast, eid, attrs[a].aid, q, ag, origin, &bb,
                          err);
        if (rc == 0 && !distinct && strs && (bb.kinds & (1u << PL_HV_STRING)))
            rc = aggr_run(c, st_full, eid, attrs[a].aid, q, ag, origin, &bb, err);
        for (size_t i = 0; rc == 0 && i < bb.n; i++)
            rc = fn(ud, attrs[a].iri, &bb.v[i]);
    }
    bucket_buf_reset(&bb);
    free(bb.v);
    free(bb.strs);
    sqlite3_finalize(st_fast);
    sqlite3_finalize(st_full);
    sqlite3_finalize(st_first);
    pl_strbuf_dispose(&fast);
    pl_strbuf_dispose(&full);
    pl_strbuf_dispose(&first);
    free_attrs(attrs, n_attrs);
    sq_reader_put(be, c);
    return rc;
}
