/* SPDX-License-Identifier: Apache-2.0 */
/*
 * expire.c — the SQLite side of transient entities (NGSI-LD 4.22): which entities have an
 * expiresAt at or before a time, read from the value index, where every entity with one keeps
 * its earliest under the pseudo attribute PL_STORE_IX_EXPIRES (store_int.h).
 */
#include "store/store.h"
#include "store/store_int.h"
#include "store/sqlite/sqlite_int.h"

#include "query/q.h"

int sq_expired(void *p, int64_t now_ms, int limit, pl_expired_fn fn, void *ud,
               struct pl_err *err)
{
    struct sqlite_be *be = p;
    struct rconn *c = sq_reader_get(be, err);
    if (!c)
        return err->code;
    /* one index range per tenant (the "@expires" name of each), in time order */
    static const char sql[] =
        "SELECT e.tenant, e.id FROM name n JOIN aval a ON a.aid = n.nid AND a.k = ?1 AND "
        "a.v <= ?2 JOIN entity e ON e.pk = a.pk WHERE n.iri = ?3 ORDER BY a.v LIMIT ?4";
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK) {
        rc = sq_dberr(err, c->db, rc, "expired entities");
    } else {
        sqlite3_bind_int(st, 1, PL_QV_DATETIME);
        sqlite3_bind_int64(st, 2, now_ms);
        sq_bind_text(st, 3, PL_STORE_IX_EXPIRES);
        sqlite3_bind_int(st, 4, limit);
        int s = SQLITE_DONE;
        rc = 0;
        while (rc == 0 && (s = sqlite3_step(st)) == SQLITE_ROW)
            rc = fn(ud, (const char *)sqlite3_column_text(st, 0),
                    (const char *)sqlite3_column_text(st, 1));
        if (rc == 0 && s != SQLITE_DONE)
            rc = sq_dberr(err, c->db, s, "expired entities");
    }
    sqlite3_finalize(st);
    sq_reader_put(be, c);
    return rc;
}
