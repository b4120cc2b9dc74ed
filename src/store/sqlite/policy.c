/* SPDX-License-Identifier: Apache-2.0 */
/*
 * policy.c — the tenants' read policies on the SQLite backend (issue 12, part "reads"):
 *
 *   read_policy(tenant TEXT PRIMARY KEY,   -- "" is the default tenant
 *               body TEXT NOT NULL,         -- the policy document (auth/read.h), compact JSON
 *               modified_at TEXT NOT NULL)  -- when it was last put (ISO 8601, UTC)
 *
 * An additive table (schema_version stays 6). The policies are few and small: the whole table
 * is loaded once at start and cached by auth/read.c; every put goes through the writer.
 */
#include <sqlite3.h>
#include <stdlib.h>

#include "base/log.h"
#include "store/sqlite/sqlite_int.h"

const char sq_policy_schema_sql[] =
    "CREATE TABLE IF NOT EXISTS read_policy(tenant TEXT PRIMARY KEY, body TEXT NOT NULL,"
    " modified_at TEXT NOT NULL);";

int sq_policy_load(void *p, json_t **out, struct pl_err *err)
{
    struct sqlite_be *be = p;
    struct rconn *c = sq_reader_get(be, err);
    if (!c)
        return err && err->code ? err->code : PL_EINTERNAL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "SELECT tenant, body, modified_at FROM read_policy", -1,
                                &st, NULL);
    json_t *arr = json_array();
    int out_rc = arr ? 0 : pl_err_set(err, PL_ENOMEM, "out of memory");
    if (out_rc == 0 && rc != SQLITE_OK) {
        out_rc = sq_dberr(err, c->db, rc, "policy_load");
    } else if (out_rc == 0) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *tenant = (const char *)sqlite3_column_text(st, 0);
            const char *z = (const char *)sqlite3_column_text(st, 1);
            json_t *body = z ? json_loads(z, 0, NULL) : NULL;
            if (!body || !tenant) {
                /* a corrupt policy opens nothing: the tenant reads as if it had none */
                pl_log_error("store/sqlite: the read policy of tenant '%s' is corrupt; ignored",
                             tenant ? tenant : "?");
                json_decref(body);
                continue;
            }
            const char *mod = (const char *)sqlite3_column_text(st, 2);
            json_array_append_new(arr, json_pack("{s:s,s:o,s:s}", "tenant", tenant, "body", body,
                                                 "modifiedAt", mod ? mod : ""));
        }
        if (rc != SQLITE_DONE)
            out_rc = sq_dberr(err, c->db, rc, "policy_load");
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

int sq_w_policy_put(void *p, const char *tenant, const char *body, const char *modified_at,
                    struct pl_err *err)
{
    struct sqlite_be *be = p;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(be->db,
                                "INSERT OR REPLACE INTO read_policy(tenant, body, modified_at) "
                                "VALUES (?1, ?2, ?3)",
                                -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_dberr(err, be->db, rc, "policy_put");
    sq_bind_text(st, 1, tenant);
    sq_bind_text(st, 2, body);
    sq_bind_text(st, 3, modified_at);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : sq_dberr(err, be->db, rc, "policy_put");
}
