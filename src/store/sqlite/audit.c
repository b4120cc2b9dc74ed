/* SPDX-License-Identifier: Apache-2.0 */
/*
 * audit.c — the SQLite backend's audit log (docs/store-schema.md "Audit log"): one append-only
 * table, written in batches by the writer, read newest first by time window and principal, and
 * trimmed by retention in small steps.
 */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite_int.h"

const char sq_audit_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS audit(seq INTEGER PRIMARY KEY, at INTEGER NOT NULL,"
    " principal TEXT NOT NULL, role TEXT NOT NULL, tenant TEXT NOT NULL, method TEXT NOT NULL,"
    " path TEXT NOT NULL, ids TEXT, status INTEGER NOT NULL, client TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS audit_at ON audit(at);"
    "CREATE INDEX IF NOT EXISTS audit_principal ON audit(principal, seq);";

static const char *nz(const char *s)
{
    return s ? s : "";
}

int sq_w_audit_append(void *p, const struct pl_audit_rec *recs, size_t n, struct pl_err *err)
{
    struct sqlite_be *be = p;
    static const char sql[] = "INSERT INTO audit(at,principal,role,tenant,method,path,ids,status,"
                              "client) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(be->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_dberr(err, be->db, rc, "prepare audit insert");
    int out = 0;
    for (size_t i = 0; i < n && out == 0; i++) {
        const struct pl_audit_rec *r = &recs[i];
        sqlite3_bind_int64(st, 1, r->at_ms);
        sq_bind_text(st, 2, nz(r->principal));
        sq_bind_text(st, 3, nz(r->role));
        sq_bind_text(st, 4, nz(r->tenant));
        sq_bind_text(st, 5, nz(r->method));
        sq_bind_text(st, 6, nz(r->path));
        sq_bind_text(st, 7, r->ids);
        sqlite3_bind_int(st, 8, r->status);
        sq_bind_text(st, 9, nz(r->client));
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            out = sq_dberr(err, be->db, rc, "audit insert");
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
    }
    sqlite3_finalize(st);
    return out;
}

int sq_w_audit_trim(void *p, int64_t before_ms, int budget, int64_t *n_deleted,
                    struct pl_err *err)
{
    struct sqlite_be *be = p;
    static const char sql[] =
        "DELETE FROM audit WHERE seq IN (SELECT seq FROM audit WHERE at < ?1 LIMIT ?2)";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(be->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_dberr(err, be->db, rc, "prepare audit trim");
    sqlite3_bind_int64(st, 1, before_ms);
    sqlite3_bind_int(st, 2, budget);
    rc = sqlite3_step(st);
    int out = rc == SQLITE_DONE ? 0 : sq_dberr(err, be->db, rc, "audit trim");
    *n_deleted = out == 0 ? sqlite3_changes(be->db) : 0;
    sqlite3_finalize(st);
    return out;
}

int sq_audit_query(void *p, const struct pl_audit_query *q, pl_audit_row_fn fn, void *ud,
                   struct pl_err *err)
{
    struct sqlite_be *be = p;
    struct rconn *c = sq_reader_get(be, err);
    if (!c)
        return err->code;
    /* newest first: the principal index when one is asked for, else the rowid backwards */
    static const char sql[] =
        "SELECT seq,at,principal,role,tenant,method,path,ids,status,client FROM audit"
        " WHERE (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR at <= ?2)"
        " AND (?3 IS NULL OR principal = ?3) AND (?4 IS NULL OR seq < ?4)"
        " ORDER BY seq DESC LIMIT ?5";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
    int out = 0;
    if (rc != SQLITE_OK) {
        out = sq_dberr(err, c->db, rc, "prepare audit query");
        goto done;
    }
    if (q->from_ms != PL_HIST_NONE)
        sqlite3_bind_int64(st, 1, q->from_ms);
    if (q->to_ms != PL_HIST_NONE)
        sqlite3_bind_int64(st, 2, q->to_ms);
    sq_bind_text(st, 3, q->principal);
    if (q->before_seq > 0)
        sqlite3_bind_int64(st, 4, q->before_seq);
    sqlite3_bind_int(st, 5, q->limit > 0 ? q->limit : 100);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct pl_audit_rec r = {
            .seq = sqlite3_column_int64(st, 0),
            .at_ms = sqlite3_column_int64(st, 1),
            .principal = (const char *)sqlite3_column_text(st, 2),
            .role = (const char *)sqlite3_column_text(st, 3),
            .tenant = (const char *)sqlite3_column_text(st, 4),
            .method = (const char *)sqlite3_column_text(st, 5),
            .path = (const char *)sqlite3_column_text(st, 6),
            .ids = (const char *)sqlite3_column_text(st, 7),
            .status = sqlite3_column_int(st, 8),
            .client = (const char *)sqlite3_column_text(st, 9),
        };
        if ((out = fn(ud, &r)) != 0)
            break;
    }
    if (out == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
        out = sq_dberr(err, c->db, rc, "audit query");
    sqlite3_finalize(st);
done:
    sq_reader_put(be, c);
    return out;
}
