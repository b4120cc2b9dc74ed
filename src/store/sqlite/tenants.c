/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tenants.c — the SQLite backend's tenant listing and the last step of deleting a tenant
 * (docs/store-schema.md "Tenants"). Tenant names are always bound as parameters.
 */
#include <stdlib.h>
#include <string.h>

#include "store/sqlite/sqlite_int.h"

int sq_tenant_list(void *p, pl_tenant_row_fn fn, void *ud, struct pl_err *err)
{
    struct sqlite_be *be = p;
    struct rconn *c = sq_reader_get(be, err);
    if (!c)
        return err->code;
    /* the entity counts walk the (tenant, id) index once: an administrative read */
    static const char sql[] =
        "SELECT t.name, (SELECT count(*) FROM entity e WHERE e.tenant = t.name) FROM"
        " (SELECT '' AS name UNION SELECT name FROM tenant) t ORDER BY t.name";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
    int out = 0;
    if (rc != SQLITE_OK) {
        out = sq_dberr(err, c->db, rc, "prepare tenant list");
        goto done;
    }
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        if ((out = fn(ud, name ? name : "", sqlite3_column_int64(st, 1))) != 0)
            break;
    }
    if (out == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
        out = sq_dberr(err, c->db, rc, "tenant list");
    sqlite3_finalize(st);
done:
    sq_reader_put(be, c);
    return out;
}

int sq_w_tenant_drop(void *p, const char *tenant, struct pl_err *err)
{
    struct sqlite_be *be = p;
    static const char *const sqls[] = {
        "DELETE FROM hinst WHERE eid IN (SELECT eid FROM hentity WHERE tenant = ?1)",
        "DELETE FROM hlog WHERE eid IN (SELECT eid FROM hentity WHERE tenant = ?1)",
        "DELETE FROM hattr WHERE eid IN (SELECT eid FROM hentity WHERE tenant = ?1)",
        "DELETE FROM hentity WHERE tenant = ?1",
        "DELETE FROM subscription WHERE tenant = ?1",
        "DELETE FROM tenant WHERE name = ?1",
    };
    int out = 0;
    for (size_t i = 0; out == 0 && i < sizeof sqls / sizeof sqls[0]; i++) {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(be->db, sqls[i], -1, &st, NULL);
        if (rc != SQLITE_OK)
            return sq_dberr(err, be->db, rc, sqls[i]);
        sq_bind_text(st, 1, tenant);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            out = sq_dberr(err, be->db, rc, sqls[i]);
        sqlite3_finalize(st);
    }
    /* the writer's history caches name the rows just deleted */
    sq_hist_cache_clear(be);
    return out;
}
