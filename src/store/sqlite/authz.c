/* SPDX-License-Identifier: Apache-2.0 */
/*
 * authz.c — the SQLite side of authorization (issue 12): the owner of each entity, recorded by
 * the writer in the same savepoint as the entity's creation and removed with its deletion
 * (store.c run_one), read by the writer before an apply write that asks for it
 * (PL_WRITE_WANT_OWNER) and by readers (pl_store_entity_owner).
 *
 *   entity_owner(tenant TEXT, id TEXT,      -- the entity (no foreign key: a temporal entity
 *                                              without a current entity may have an owner too)
 *                owner TEXT NOT NULL,       -- owner key, auth/authz.h pl_authz_owner_key:
 *                                              "user:<name>", "jwt:<sub>", "apikey:key:<id>"
 *                PRIMARY KEY(tenant, id)) WITHOUT ROWID
 *   entity_owner_by_owner(tenant, owner, id)  -- "the entities X owns" (reads part)
 */
#include <string.h>

#include "store/sqlite/sqlite_int.h"

const char sq_authz_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS entity_owner(tenant TEXT NOT NULL, id TEXT NOT NULL,"
    " owner TEXT NOT NULL, PRIMARY KEY(tenant, id)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS entity_owner_by_owner ON entity_owner(tenant, owner, id);";

enum ost { O_PUT, O_DELETE, O_GET };
static const char *const osql[SQ_AUTHZ_STMTS] = {
    [O_PUT] = "INSERT OR REPLACE INTO entity_owner(tenant, id, owner) VALUES(?1, ?2, ?3)",
    [O_DELETE] = "DELETE FROM entity_owner WHERE tenant = ?1 AND id = ?2",
    [O_GET] = "SELECT owner FROM entity_owner WHERE tenant = ?1 AND id = ?2",
};

void sq_authz_free(struct sqlite_be *be)
{
    for (int i = 0; i < SQ_AUTHZ_STMTS; i++) {
        sqlite3_finalize(be->ost[i]);
        be->ost[i] = NULL;
    }
}

/* The writer's cached statement k, reset and bound to (tenant, id); NULL with err set. */
static sqlite3_stmt *wst(struct sqlite_be *be, enum ost k, const char *tenant, const char *id,
                         struct pl_err *err)
{
    if (!be->ost[k]) {
        int rc = sqlite3_prepare_v3(be->db, osql[k], -1, SQLITE_PREPARE_PERSISTENT, &be->ost[k],
                                    NULL);
        if (rc != SQLITE_OK) {
            sq_dberr(err, be->db, rc, "entity owner");
            be->ost[k] = NULL;
            return NULL;
        }
    }
    sqlite3_stmt *st = be->ost[k];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    sq_bind_text(st, 1, tenant);
    sq_bind_text(st, 2, id);
    return st;
}

static int run(struct sqlite_be *be, sqlite3_stmt *st, struct pl_err *err)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : sq_dberr(err, be->db, rc, "entity owner");
}

int sq_w_owner_put(void *p, const char *tenant, const char *id, const char *owner,
                   struct pl_err *err)
{
    struct sqlite_be *be = p;
    sqlite3_stmt *st = wst(be, O_PUT, tenant, id, err);
    if (!st)
        return err->code;
    sq_bind_text(st, 3, owner);
    return run(be, st, err);
}

int sq_w_owner_delete(void *p, const char *tenant, const char *id, struct pl_err *err)
{
    struct sqlite_be *be = p;
    sqlite3_stmt *st = wst(be, O_DELETE, tenant, id, err);
    return st ? run(be, st, err) : err->code;
}

/* Copies the owner column of a stepped row into buf: 0, PL_ENOTFOUND (no row) or an error. */
static int owner_of_row(sqlite3 *db, sqlite3_stmt *st, char *buf, size_t cap, struct pl_err *err)
{
    int s = sqlite3_step(st);
    if (s == SQLITE_DONE)
        return pl_err_set(err, PL_ENOTFOUND, "no owner");
    if (s != SQLITE_ROW)
        return sq_dberr(err, db, s, "entity owner");
    const char *o = (const char *)sqlite3_column_text(st, 0);
    size_t n = o ? strlen(o) : 0;
    if (n >= cap) /* never a truncated owner: it would match nobody, or somebody else */
        return pl_err_set(err, PL_EINTERNAL, "owner key too long");
    memcpy(buf, o ? o : "", n + 1);
    return 0;
}

int sq_w_owner_get(void *p, const char *tenant, const char *id, char *buf, size_t cap,
                   struct pl_err *err)
{
    struct sqlite_be *be = p;
    sqlite3_stmt *st = wst(be, O_GET, tenant, id, err);
    if (!st)
        return err->code;
    int rc = owner_of_row(be->db, st, buf, cap, err);
    sqlite3_reset(st);
    return rc;
}

int sq_owner_get(void *p, const char *tenant, const char *id, char *buf, size_t cap,
                 struct pl_err *err)
{
    struct sqlite_be *be = p;
    struct rconn *c = sq_reader_get(be, err);
    if (!c)
        return err->code;
    /* cached on the connection: the readers ask per entity (read scopes, notifications) */
    sqlite3_stmt *st = sq_reader_stmt(c, R_OWNER, err);
    int rc = err->code;
    if (st) {
        sq_bind_text(st, 1, tenant);
        sq_bind_text(st, 2, id);
        rc = owner_of_row(c->db, st, buf, cap, err);
    }
    sq_reader_put(be, c);
    return rc;
}
