/* SPDX-License-Identifier: Apache-2.0 */
/*
 * authn.c — the SQLite side of credentials (issue 12, docs/store-schema.md "Credentials"):
 * users, API keys, refresh tokens and the server's token secret, each one row of table
 * `credential` keyed by (kind, id), with the record as JSON text and an `owner` column (the user
 * a refresh token belongs to) so that deleting a user removes its tokens in one statement.
 *
 * The store never sees a secret in clear: records carry hashes only (auth/ builds them).
 * Reads go through the pooled read connections, writes through the writer thread
 * (store/authn.c wraps them in the writer's transaction).
 */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite_int.h"

const char sq_authn_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS credential(kind TEXT NOT NULL, id TEXT NOT NULL, owner TEXT,"
    " body TEXT NOT NULL, PRIMARY KEY(kind, id)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS credential_by_owner ON credential(kind, owner);";

int sq_cred_get(void *p, const char *kind, const char *id, json_t **out, struct pl_err *err)
{
    struct sqlite_be *be = p;
    *out = NULL;
    struct rconn *c = sq_reader_get(be, err);
    if (!c)
        return err ? err->code : PL_EINTERNAL;
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT body FROM credential WHERE kind=?1 AND id=?2";
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
    int out_rc = 0;
    if (rc != SQLITE_OK) {
        out_rc = sq_dberr(err, c->db, rc, "cred_get");
    } else {
        sq_bind_text(st, 1, kind);
        sq_bind_text(st, 2, id);
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW) {
            const char *z = (const char *)sqlite3_column_text(st, 0);
            *out = z ? json_loads(z, 0, NULL) : NULL;
            if (!*out)
                out_rc = pl_err_set(err, PL_EINTERNAL, "credential %s '%s' is corrupt", kind, id);
        } else if (rc == SQLITE_DONE) {
            out_rc = pl_err_set(err, PL_ENOTFOUND, "no such %s", kind);
        } else {
            out_rc = sq_dberr(err, c->db, rc, "cred_get");
        }
    }
    sqlite3_finalize(st);
    sq_reader_put(be, c);
    return out_rc;
}

int sq_cred_list(void *p, const char *kind, json_t **out, struct pl_err *err)
{
    struct sqlite_be *be = p;
    *out = NULL;
    struct rconn *c = sq_reader_get(be, err);
    if (!c)
        return err ? err->code : PL_EINTERNAL;
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT body FROM credential WHERE kind=?1 ORDER BY id";
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
    json_t *arr = json_array();
    int out_rc = arr ? 0 : pl_err_set(err, PL_ENOMEM, "out of memory");
    if (out_rc == 0 && rc != SQLITE_OK) {
        out_rc = sq_dberr(err, c->db, rc, "cred_list");
    } else if (out_rc == 0) {
        sq_bind_text(st, 1, kind);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *z = (const char *)sqlite3_column_text(st, 0);
            json_t *body = z ? json_loads(z, 0, NULL) : NULL;
            if (body)
                json_array_append_new(arr, body);
        }
        if (rc != SQLITE_DONE)
            out_rc = sq_dberr(err, c->db, rc, "cred_list");
    }
    sqlite3_finalize(st);
    sq_reader_put(be, c);
    if (out_rc) {
        json_decref(arr);
        return out_rc;
    }
    *out = arr;
    return 0;
}

/* Runs one writer statement with up to 4 text parameters (NULL binds NULL); *changes the rows
 * it changed (may be NULL). */
static int wexec(struct sqlite_be *be, const char *sql, const char *a, const char *b,
                 const char *c, const char *d, int64_t *changes, struct pl_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(be->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_dberr(err, be->db, rc, sql);
    sq_bind_text(st, 1, a);
    sq_bind_text(st, 2, b);
    if (sqlite3_bind_parameter_count(st) >= 3)
        sq_bind_text(st, 3, c);
    if (sqlite3_bind_parameter_count(st) >= 4)
        sq_bind_text(st, 4, d);
    rc = sqlite3_step(st);
    int out = 0;
    if (rc == SQLITE_CONSTRAINT || (rc & 0xff) == SQLITE_CONSTRAINT)
        out = pl_err_set(err, PL_EALREADYEXISTS, "already exists");
    else if (rc != SQLITE_DONE)
        out = sq_dberr(err, be->db, rc, "credential write");
    if (out == 0 && changes)
        *changes = sqlite3_changes(be->db);
    sqlite3_finalize(st);
    return out;
}

int sq_w_cred_put(void *p, const char *kind, const char *id, const char *owner,
                  const json_t *body, int must_not_exist, struct pl_err *err)
{
    struct sqlite_be *be = p;
    char *z = json_dumps(body, JSON_COMPACT);
    if (!z)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    int rc = wexec(be,
                   must_not_exist
                       ? "INSERT INTO credential(kind, id, owner, body) VALUES(?1, ?2, ?3, ?4)"
                       : "INSERT OR REPLACE INTO credential(kind, id, owner, body)"
                         " VALUES(?1, ?2, ?3, ?4)",
                   kind, id, owner, z, NULL, err);
    free(z);
    return rc;
}

int sq_w_cred_delete(void *p, const char *kind, const char *id, struct pl_err *err)
{
    int64_t n = 0;
    int rc = wexec(p, "DELETE FROM credential WHERE kind=?1 AND id=?2", kind, id, NULL, NULL, &n,
                   err);
    if (rc == 0 && n == 0)
        rc = pl_err_set(err, PL_ENOTFOUND, "no such %s", kind);
    return rc;
}

int sq_w_cred_delete_owner(void *p, const char *kind, const char *owner, int64_t *n_deleted,
                           struct pl_err *err)
{
    int64_t n = 0;
    int rc = wexec(p, "DELETE FROM credential WHERE kind=?1 AND owner=?2", kind, owner, NULL, NULL,
                   &n, err);
    if (n_deleted)
        *n_deleted = n;
    return rc;
}
