/* SPDX-License-Identifier: Apache-2.0 */
/*
 * backend.c — the SQLite (+ SpatiaLite) storage backend: one const struct pl_store_ops table,
 * pl_store_sqlite_ops. store.c drives it: the writer thread calls the w_* / tx_* / sp_* members
 * on the one write connection; any thread calls the reader members, which borrow a read-only
 * connection from a small pool (WAL lets readers run beside the writer).
 *
 * It knows nothing of HTTP, JSON-LD or ProblemDetails: entities arrive in the internal form of
 * ngsild/entity.h and are stored as they are.
 *
 * ON-DISK FORMAT (schema_version 6; also in docs/store-schema.md). One file, <dir>/polis.db,
 * journal_mode=WAL, synchronous=NORMAL (FULL with sync_full), foreign_keys=ON.
 *
 *   entity(pk INTEGER PRIMARY KEY,        -- rowid; stable small key for future index tables
 *          tenant TEXT NOT NULL,          -- "" is the default tenant
 *          id TEXT NOT NULL,              -- entity id (URI)
 *          types TEXT NOT NULL,           -- JSON array of expanded type IRIs (copy of body.type)
 *          created_at TEXT,               -- copy of body.createdAt (ISO 8601, UTC)
 *          modified_at TEXT,              -- copy of body.modifiedAt
 *          body TEXT NOT NULL,            -- the whole internal form, json_dumps(JSON_COMPACT)
 *          UNIQUE(tenant, id))
 *     A rowid table rather than WITHOUT ROWID: bodies are typically 0.5-10 KB, and SQLite keeps
 *     only about 1/4 page of a WITHOUT ROWID (index b-tree) row in-page before spilling to
 *     overflow pages, against almost a whole page for a rowid table. The (tenant,id) lookup costs
 *     one extra descent of a small, hot index.
 *
 *   name(nid INTEGER PRIMARY KEY, tenant, iri, UNIQUE(tenant, iri))
 *     Every type and attribute IRI interned per tenant; the index tables below hold nids.
 *
 *   etype(nid, pk, PRIMARY KEY(nid, pk)) WITHOUT ROWID     -- type -> entities, in pk order
 *
 *   aval(aid, k, v, pk, PRIMARY KEY(aid, k, v, pk)) WITHOUT ROWID
 *     + index aval_by_pk(pk, aid, k, v)
 *     The attribute-value index (store_int.h index keys): one row per distinct comparable value
 *     of each attribute, k its class (query/q.h pl_qv_kind), or k=9 v=0 for an attribute that
 *     exists without a comparable value; scopes under the pseudo attribute "@scope".
 *
 *   tcount(tnid, anid, kind, n, PRIMARY KEY(tnid, anid, kind)) WITHOUT ROWID
 *     Discovery counters (query.c sq_discover): entities per type (anid 0) and per (type,
 *     attribute, attribute kind); tenant totals under the pseudo type "@all".
 *
 *   geo(pk INTEGER, attr TEXT, dataset TEXT, geom BLOB, x REAL, y REAL)
 *     geom: the SpatiaLite geometry blob; x, y: a Point's coordinates (NULL otherwise), so
 *     `near` on points computes distances without parsing blobs.
 *     + index geo_by_pk(pk) and our own R*Tree geo_rtree(id = geo.rowid, minx, maxx, miny,
 *       maxy, +pk, +aid, +x, +y), written by the writer (not SpatiaLite's index triggers, see
 *       0006); its auxiliary columns let a query decide points without reading geo rows.
 *     One row per GeoProperty instance of the entity's top-level attributes: attr = attribute
 *     IRI, dataset = datasetId or NULL, geom = MakePoint for Points, else
 *     SetSRID(CastToXY(GeomFromGeoJSON(value)), 4326). A value SpatiaLite cannot parse is
 *     skipped (logged at debug), never failing the write. Only present when SpatiaLite loaded
 *     (PL_STORE_CAP_GEO_NATIVE).
 *
 *   Index rows are written as the difference between the old and new index keys of the entity.
 *
 *   subscription(tenant, id, body, PRIMARY KEY(tenant, id)) WITHOUT ROWID
 *     NGSI-LD subscriptions, their stored form (subs/subscription.h) as JSON text.
 *
 *   context(id TEXT PRIMARY KEY, url TEXT UNIQUE, kind TEXT, created_at TEXT, body TEXT)
 *     @context registry records (store.h pl_store_ctx_*).
 *
 *   hentity, hinst: attribute history (history.c)
 *
 *   meta(key TEXT PRIMARY KEY, value TEXT)    -- schema_version = '6'
 */
#include "store/store.h"
#include "store/store_int.h"
#include "store/sqlite/sqlite_int.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "base/hmap.h"
#include "base/jsonfmt.h"
#include "base/log.h"
#include "base/strbuf.h"

#define SCHEMA_VERSION   6
#define BUSY_TIMEOUT_MS  5000
#define READER_POOL_KEEP 32       /* idle read connections kept; more are closed on return */
#define NAME_CACHE_MAX   100000   /* interned names cached by the writer */
#define READER_CACHE_KIB "-65536" /* page cache of each read connection (64 MiB, on demand) */

/* temp_store=MEMORY keeps the savepoint sub-journal in memory: with a savepoint per write, a
 * group of 64 writes spilled it to a temp file created, written and unlinked per group (that
 * halved group-commit throughput). */
#define PRAGMAS_COMMON "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY"

/* ------------------------------------------------------------------------------------------
 * Backend state
 * ---------------------------------------------------------------------------------------- */

/* Statements cached on the write connection, prepared on first use. */
enum wst {
    W_BEGIN,
    W_COMMIT,
    W_ROLLBACK,
    W_SP,
    W_SP_RELEASE,
    W_SP_ROLLBACK_TO,
    W_GET,
    W_INSERT,
    W_UPDATE,
    W_REV,
    W_TENANT_INS,
    W_DELETE,
    W_NAME_GET,
    W_NAME_INS,
    W_ETYPE_INS,
    W_ETYPE_DEL,
    W_AVAL_INS,
    W_AVAL_DEL,
    W_AVAL_DEL_PK,
    W_TCOUNT_ADD,
    W_GEO_DEL,
    W_GEO_RTREE_DEL,
    W_GEO_INS,
    W_GEO_INS_POINT,
    W_GEO_RTREE_INS,
    W_GEO_RTREE_INS_MBR,
    W_CTX_PUT,
    W_CTX_DEL,
    W_SUB_PUT,
    W_SUB_DEL,
    W__COUNT
};

_Static_assert(W__COUNT <= SQ_WRITER_STMTS, "raise SQ_WRITER_STMTS");

static const char *const wsql[W__COUNT] = {
    [W_BEGIN] = "BEGIN IMMEDIATE",
    [W_COMMIT] = "COMMIT",
    [W_ROLLBACK] = "ROLLBACK",
    [W_SP] = "SAVEPOINT w",
    [W_SP_RELEASE] = "RELEASE w",
    [W_SP_ROLLBACK_TO] = "ROLLBACK TO w",
    [W_GET] = "SELECT body FROM entity WHERE tenant=?1 AND id=?2",
    [W_INSERT] = "INSERT INTO entity(tenant,id,types,created_at,modified_at,body,rev) "
                 "VALUES(?1,?2,?3,?4,?5,?6,?7)",
    [W_UPDATE] = "UPDATE entity SET types=?3,created_at=?4,modified_at=?5,body=?6,rev=?7 "
                 "WHERE tenant=?1 AND id=?2 RETURNING pk",
    [W_REV] = "SELECT rev FROM entity WHERE tenant=?1 AND id=?2",
    /* NGSI-LD 5.5.10: a tenant is created implicitly by the first entity or subscription in it. */
    [W_TENANT_INS] = "INSERT OR IGNORE INTO tenant(name) VALUES(?1)",
    [W_DELETE] = "DELETE FROM entity WHERE tenant=?1 AND id=?2 RETURNING pk",
    [W_NAME_GET] = "SELECT nid FROM name WHERE tenant=?1 AND iri=?2",
    [W_NAME_INS] = "INSERT INTO name(tenant,iri) VALUES(?1,?2)",
    [W_ETYPE_INS] = "INSERT OR IGNORE INTO etype(nid,pk) VALUES(?1,?2)",
    [W_ETYPE_DEL] = "DELETE FROM etype WHERE nid=?1 AND pk=?2",
    [W_AVAL_INS] = "INSERT OR IGNORE INTO aval(aid,k,v,pk) VALUES(?1,?2,?3,?4)",
    [W_AVAL_DEL] = "DELETE FROM aval WHERE aid=?1 AND k=?2 AND v=?3 AND pk=?4",
    [W_AVAL_DEL_PK] = "DELETE FROM aval WHERE pk=?1",
    [W_TCOUNT_ADD] = "INSERT INTO tcount(tnid,anid,kind,n) VALUES(?1,?2,?3,?4) "
                     "ON CONFLICT DO UPDATE SET n=n+excluded.n",
    [W_GEO_DEL] = "DELETE FROM geo WHERE pk=?1",
    [W_GEO_RTREE_DEL] = "DELETE FROM geo_rtree WHERE id IN (SELECT rowid FROM geo WHERE pk=?1)",
    /* The geometry is parsed first and the row only inserted when SpatiaLite could read it.
     * CastToXY and SetSRID make every geometry 2D WGS84. */
    [W_GEO_INS] = "INSERT INTO geo(pk,attr,dataset,geom,x,y) SELECT ?1,?3,?4,g,NULL,NULL FROM "
                  "(SELECT SetSRID(CastToXY(GeomFromGeoJSON(?5)),4326) AS g) WHERE g IS NOT NULL",
    /* Points (most city sensors) skip SpatiaLite's GeoJSON parser, which allocates and clears
     * a large parser state per call (a tenth of the writer's time when loading entities). */
    [W_GEO_INS_POINT] = "INSERT INTO geo(pk,attr,dataset,geom,x,y) "
                        "VALUES(?1,?3,?4,MakePoint(?5,?6,4326),?5,?6)",
    /* The R*Tree is ours, written directly: SpatiaLite's spatial-index triggers (constraint
     * check, timestamp UPDATE, RTreeAlign re-preparing SQL per row) took a quarter of the
     * writer's time when loading (docs/decisions/0006). */
    [W_GEO_RTREE_INS] = "INSERT INTO geo_rtree(id,minx,maxx,miny,maxy,pk,aid,x,y) "
                        "VALUES(?1,?2,?3,?4,?5,?6,?7,?2,?4)",
    [W_GEO_RTREE_INS_MBR] = "INSERT INTO geo_rtree(id,minx,maxx,miny,maxy,pk,aid,x,y) SELECT rowid,"
                            "MbrMinX(geom),MbrMaxX(geom),MbrMinY(geom),MbrMaxY(geom),?6,?7,"
                            "NULL,NULL FROM geo WHERE rowid=?1",
    [W_CTX_PUT] = "INSERT INTO context(id,url,kind,created_at,body) VALUES(?1,?2,?3,?4,?5) "
                  "ON CONFLICT(id) DO UPDATE SET url=excluded.url,kind=excluded.kind,"
                  "created_at=excluded.created_at,body=excluded.body",
    [W_CTX_DEL] = "DELETE FROM context WHERE id=?1",
    [W_SUB_PUT] = "INSERT INTO subscription(tenant,id,body) VALUES(?1,?2,?3) "
                  "ON CONFLICT DO UPDATE SET body=excluded.body",
    [W_SUB_DEL] = "DELETE FROM subscription WHERE tenant=?1 AND id=?2",
};

/* Statements cached on each read connection. */

static const char *const rsql[R__COUNT] = {
    [R_COUNT] = "SELECT count(*) FROM entity WHERE tenant=?1",
    [R_CTX_LOAD] = "SELECT id,url,kind,created_at,body FROM context ORDER BY created_at,id",
    [R_GET_REV] = "SELECT body, rev FROM entity WHERE tenant=?1 AND id=?2",
    [R_TENANT] = "SELECT 1 FROM tenant WHERE name=?1",
    [R_OWNER] = "SELECT owner FROM entity_owner WHERE tenant=?1 AND id=?2", /* authz.c */
};

/* The writer's page cache (negative = KiB): random updates over a large table re-read fewer
 * pages. The WAL file is truncated back to 64 MiB after a checkpoint resets it. */
#define WRITER_CACHE_SQL                                                                           \
    "PRAGMA cache_size=-65536; PRAGMA journal_size_limit=67108864; PRAGMA "                        \
    "wal_autocheckpoint=10000"

/* ------------------------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------------------------- */

/* Maps a SQLite failure to a PL_E* code with words. */
int sq_dberr(struct pl_err *err, sqlite3 *db, int rc, const char *what)
{
    int prim = rc & 0xff;
    if (prim == SQLITE_NOMEM)
        return pl_err_set(err, PL_ENOMEM, "out of memory in SQLite (%s)", what);
    return pl_err_set(err, PL_EINTERNAL, "sqlite: %s: %s (%d)", what,
                      db ? sqlite3_errmsg(db) : sqlite3_errstr(rc), rc);
}

static int mkdir_p(const char *dir)
{
    char *p = strdup(dir);
    if (!p)
        return -1;
    size_t n = strlen(p);
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    for (char *q = p + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(p, 0755) != 0 && errno != EEXIST) {
            free(p);
            return -1;
        }
        *q = '/';
    }
    int rc = mkdir(p, 0755);
    if (rc != 0 && errno == EEXIST) {
        struct stat sb;
        rc = (stat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) ? 0 : -1;
        if (rc)
            errno = ENOTDIR;
    }
    free(p);
    return rc;
}

/* Runs one or more SQL statements without results. */
static int exec_sql(sqlite3 *db, const char *sql, struct pl_err *err)
{
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK) {
        int code = pl_err_set(err, (rc & 0xff) == SQLITE_NOMEM ? PL_ENOMEM : PL_EINTERNAL,
                              "sqlite: %s: %s", sql, msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return code;
    }
    return 0;
}

/* Returns 1 when `sql` yields at least one row, 0 when none, <0 on error. */
static int has_row(sqlite3 *db, const char *sql, struct pl_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_dberr(err, db, rc, sql);
    rc = sqlite3_step(st);
    int out = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : sq_dberr(err, db, rc, sql);
    sqlite3_finalize(st);
    return out;
}

static void set_pragmas(sqlite3 *db)
{
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, BUSY_TIMEOUT_MS);
}

/* Loads SpatiaLite into `db`. Returns 1 when loaded, 0 when not (already logged). */
static int load_spatialite(sqlite3 *db, int warn)
{
    char *msg = NULL;
    /* Enable the C API only (not SQL load_extension()) and only while loading. */
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 1, NULL);
    int rc = sqlite3_load_extension(db, "mod_spatialite", NULL, &msg);
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
    if (rc != SQLITE_OK) {
        if (warn)
            pl_log_warn("store/sqlite: cannot load mod_spatialite (%s); geometry not indexed",
                        msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return 0;
    }
    return 1;
}

static sqlite3_stmt *wstmt(struct sqlite_be *be, enum wst k, struct pl_err *err)
{
    if (!be->st[k]) {
        int rc =
            sqlite3_prepare_v3(be->db, wsql[k], -1, SQLITE_PREPARE_PERSISTENT, &be->st[k], NULL);
        if (rc != SQLITE_OK) {
            sq_dberr(err, be->db, rc, wsql[k]);
            be->st[k] = NULL;
        }
    }
    return be->st[k];
}

static void done_stmt(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Steps a statement expected to return no rows. Returns 0 or a PL_E* code. */
static int step_done(struct sqlite_be *be, sqlite3_stmt *st, const char *what, struct pl_err *err)
{
    int rc = sqlite3_step(st);
    int out = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : sq_dberr(err, be->db, rc, what);
    done_stmt(st);
    return out;
}

/* NGSI-LD 5.5.10: the first entity or subscription created in a named tenant creates it (the
 * default tenant "" always exists). Idempotent. */
static int tenant_created(struct sqlite_be *be, const char *tenant, struct pl_err *err)
{
    if (!*tenant)
        return 0;
    sqlite3_stmt *ts = wstmt(be, W_TENANT_INS, err);
    if (!ts)
        return err ? err->code : PL_EINTERNAL;
    sq_bind_text(ts, 1, tenant);
    return step_done(be, ts, wsql[W_TENANT_INS], err);
}

/* Runs a parameterless cached writer statement. */
static int wrun(struct sqlite_be *be, enum wst k, struct pl_err *err)
{
    sqlite3_stmt *st = wstmt(be, k, err);
    if (!st)
        return err ? err->code : PL_EINTERNAL;
    return step_done(be, st, wsql[k], err);
}

void sq_bind_text(sqlite3_stmt *st, int i, const char *z)
{
    if (z)
        sqlite3_bind_text(st, i, z, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Parses a stored body. Returns 0 and a NEW reference, or PL_EINTERNAL for a corrupt row. */
static int parse_body(sqlite3_stmt *st, int col, const char *tenant, const char *id, json_t **out,
                      struct pl_err *err)
{
    const char *z = (const char *)sqlite3_column_text(st, col);
    int n = sqlite3_column_bytes(st, col);
    if (!z)
        return pl_err_set(err, PL_EINTERNAL, "entity '%s' (tenant '%s') has no stored body", id,
                          tenant);
    json_error_t jerr;
    json_t *j = json_loadb(z, (size_t)n, 0, &jerr);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        pl_log_error("store/sqlite: corrupt body of entity '%s' (tenant '%s'): %s", id, tenant,
                     j ? "not an object" : jerr.text);
        return pl_err_set(err, PL_EINTERNAL, "stored entity '%s' is corrupt", id);
    }
    *out = j;
    return 0;
}

/* ------------------------------------------------------------------------------------------
 * Open / close and the schema
 * ---------------------------------------------------------------------------------------- */

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE IF NOT EXISTS entity("
    " pk INTEGER PRIMARY KEY, tenant TEXT NOT NULL, id TEXT NOT NULL, types TEXT NOT NULL,"
    " created_at TEXT, modified_at TEXT, body TEXT NOT NULL, rev INTEGER NOT NULL DEFAULT 1,"
    " UNIQUE(tenant, id));"
    "CREATE TABLE IF NOT EXISTS name(nid INTEGER PRIMARY KEY, tenant TEXT NOT NULL,"
    " iri TEXT NOT NULL, UNIQUE(tenant, iri));"
    "CREATE TABLE IF NOT EXISTS etype(nid INTEGER NOT NULL, pk INTEGER NOT NULL,"
    " PRIMARY KEY(nid, pk)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS aval(aid INTEGER NOT NULL, k INTEGER NOT NULL, v NOT NULL,"
    " pk INTEGER NOT NULL, PRIMARY KEY(aid, k, v, pk)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS aval_by_pk ON aval(pk, aid, k, v);"
    /* the expiry step finds the "@expires" names of every tenant (store_int.h) */
    "CREATE INDEX IF NOT EXISTS name_by_iri ON name(iri);"
    "CREATE TABLE IF NOT EXISTS tcount(tnid INTEGER NOT NULL, anid INTEGER NOT NULL,"
    " kind TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY(tnid, anid, kind)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS tenant(name TEXT PRIMARY KEY) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS subscription(tenant TEXT NOT NULL, id TEXT NOT NULL,"
    " body TEXT NOT NULL, PRIMARY KEY(tenant, id)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS context(id TEXT PRIMARY KEY, url TEXT UNIQUE, kind TEXT,"
    " created_at TEXT, body TEXT);"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', '6');"
    /* 5 -> 6 added only the history tables (created below) */
    "UPDATE meta SET value='6' WHERE key='schema_version' AND value='5';";

static int check_version(sqlite3 *db, struct pl_err *err)
{
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT value FROM meta WHERE key='schema_version'";
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return sq_dberr(err, db, rc, sql);
    int out = 0;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(st, 0);
        long ver = v ? strtol(v, NULL, 10) : 0;
        if (ver != SCHEMA_VERSION)
            out = pl_err_set(err, PL_EINTERNAL,
                             "database schema version %s is not supported (want %d)",
                             v ? v : "(null)", SCHEMA_VERSION);
    } else {
        out = pl_err_set(err, PL_EINTERNAL, "database has no schema_version");
    }
    sqlite3_finalize(st);
    return out;
}

static int create_schema(struct sqlite_be *be, struct pl_err *err)
{
    sqlite3 *db = be->db;
    int rc;
    if (be->geo) {
        /* InitSpatialMetadata is slow (it fills spatial_ref_sys): only on a new database. */
        rc = has_row(db, "SELECT 1 FROM sqlite_master WHERE name='spatial_ref_sys'", err);
        if (rc < 0)
            return rc;
        if (rc == 0) {
            rc = has_row(db, "SELECT 1 WHERE InitSpatialMetadata(1) = 1", err);
            if (rc < 0)
                return rc;
            if (rc == 0)
                return pl_err_set(err, PL_EINTERNAL, "InitSpatialMetadata failed");
        }
    }
    if ((rc = exec_sql(db, "BEGIN IMMEDIATE", err)) != 0)
        return rc;
    if ((rc = exec_sql(db, schema_sql, err)) != 0 ||
        (rc = exec_sql(db, sq_hist_schema_sql, err)) != 0 ||
        (rc = exec_sql(db, sq_authz_schema_sql, err)) != 0 ||
        (rc = exec_sql(db, sq_audit_schema_sql, err)) != 0 ||
        (rc = exec_sql(db, sq_authn_schema_sql, err)) != 0 || /* credentials (issue 12) */
        (rc = exec_sql(db, sq_policy_schema_sql, err)) != 0)
        goto fail;
    if (be->geo) {
        rc = exec_sql(db,
                      "CREATE TABLE IF NOT EXISTS geo(pk INTEGER NOT NULL,"
                      " attr TEXT NOT NULL, dataset TEXT, geom BLOB NOT NULL, x REAL, y REAL);"
                      "CREATE INDEX IF NOT EXISTS geo_by_pk ON geo(pk);"
                      /* auxiliary columns: a query answers points from the R*Tree alone
                       * (entity key, attribute, coordinates), never reading geo rows */
                      "CREATE VIRTUAL TABLE IF NOT EXISTS geo_rtree USING "
                      "rtree(id, minx, maxx, miny, maxy, +pk, +aid, +x, +y);",
                      err);
        if (rc)
            goto fail;
    }
    if ((rc = check_version(db, err)) != 0)
        goto fail;
    return exec_sql(db, "COMMIT", err);
fail:
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

static void be_free(struct sqlite_be *be)
{
    if (!be)
        return;
    for (int i = 0; i < W__COUNT; i++)
        sqlite3_finalize(be->st[i]);
    sq_hist_free(be);
    sq_authz_free(be);
    while (be->idle) {
        struct rconn *c = be->idle;
        be->idle = c->next;
        for (int i = 0; i < R__COUNT; i++)
            sqlite3_finalize(c->st[i]);
        sqlite3_close(c->db);
        free(c);
    }
    if (be->db) {
        /* Leave a small database behind: fold the WAL back in. */
        sqlite3_wal_checkpoint_v2(be->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
        sqlite3_close(be->db);
    }
    pthread_mutex_destroy(&be->rmu);
    pl_hmap_free(be->names);
    pl_hmap_free(be->sp_counts);
    pl_hmap_free(be->tx_counts);
    pl_strbuf_dispose(&be->keybuf);
    free(be->path);
    free(be);
}

/* The revision counter resumes above every revision on disk. */
static int load_last_rev(struct sqlite_be *be, struct pl_err *err)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(be->db, "SELECT coalesce(max(rev), 0) FROM entity", -1, &st, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        be->last_rev = sqlite3_column_int64(st, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_OK ? 0 : sq_dberr(err, be->db, rc, "load revision counter");
}

/* Once per process, before SQLite initializes: no memory statistics. They cost a global mutex
 * around every SQLite allocation (a few percent of the writer's time when loading). */
static pthread_once_t sqlite_config_once = PTHREAD_ONCE_INIT;
static void sqlite_config(void)
{
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

static int sq_open(const struct pl_store_config *cfg, const char *location, void **out,
                   struct pl_err *err)
{
    pthread_once(&sqlite_config_once, sqlite_config);
    if (!location || !*location)
        return pl_err_set(err, PL_EINTERNAL, "store: empty SQLite data directory");
    if (mkdir_p(location) != 0)
        return pl_err_set(err, PL_EINTERNAL, "store: cannot create data directory '%s': %s",
                          location, strerror(errno));
    struct sqlite_be *be = calloc(1, sizeof *be);
    if (!be)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    pthread_mutex_init(&be->rmu, NULL);
    size_t n = strlen(location) + sizeof "/polis.db";
    be->path = malloc(n);
    be->names = pl_hmap_new(NULL);
    be->sp_counts = pl_hmap_new(NULL);
    be->tx_counts = pl_hmap_new(NULL);
    if (!be->path || !be->names || !be->sp_counts || !be->tx_counts) {
        be_free(be);
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    }
    snprintf(be->path, n, "%s/polis.db", location);

    int rc = sqlite3_open_v2(
        be->path, &be->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = pl_err_set(err, PL_EINTERNAL, "store: cannot open '%s': %s", be->path,
                        be->db ? sqlite3_errmsg(be->db) : sqlite3_errstr(rc));
        be_free(be);
        return rc;
    }
    set_pragmas(be->db);
    /* journal_mode returns the mode in effect: insist on WAL (readers beside the writer). */
    rc = has_row(be->db, "PRAGMA journal_mode=WAL", err);
    if (rc < 0)
        goto fail;
    rc = has_row(be->db, "SELECT 1 FROM pragma_journal_mode WHERE journal_mode='wal'", err);
    if (rc <= 0) {
        if (rc == 0)
            rc = pl_err_set(err, PL_EINTERNAL, "store: '%s' cannot use WAL mode", be->path);
        goto fail;
    }
    rc = exec_sql(be->db,
                  cfg && cfg->sync_full ? "PRAGMA synchronous=FULL; " PRAGMAS_COMMON
                                        : "PRAGMA synchronous=NORMAL; " PRAGMAS_COMMON,
                  err);
    if (rc)
        goto fail;
    be->geo = load_spatialite(be->db, 1);
    if ((rc = create_schema(be, err)) != 0)
        goto fail;
    exec_sql(be->db, WRITER_CACHE_SQL, NULL);
    /* Tenants of a database written before the tenant table existed. */
    if ((rc = exec_sql(be->db,
                       "INSERT OR IGNORE INTO tenant(name) "
                       "SELECT DISTINCT tenant FROM entity WHERE tenant <> '' "
                       "UNION SELECT DISTINCT tenant FROM subscription WHERE tenant <> ''",
                       err)) != 0)
        goto fail;
    be->hlog_rows = 1; /* history's staging log may hold rows: merge at the first commit */
    if ((rc = load_last_rev(be, err)) != 0)
        goto fail;
    pl_log_info("store/sqlite: opened %s (SpatiaLite %s, synchronous=%s)", be->path,
                be->geo ? "on" : "off", cfg && cfg->sync_full ? "FULL" : "NORMAL");
    *out = be;
    return 0;
fail:
    be_free(be);
    return rc;
}

static void sq_close(void *p)
{
    be_free(p);
}

/* ------------------------------------------------------------------------------------------
 * Readers: a pool of read-only connections, borrowed for one call
 * ---------------------------------------------------------------------------------------- */

struct rconn *sq_reader_get(struct sqlite_be *be, struct pl_err *err)
{
    pthread_mutex_lock(&be->rmu);
    struct rconn *c = be->idle;
    if (c) {
        be->idle = c->next;
        be->n_idle--;
    }
    pthread_mutex_unlock(&be->rmu);
    if (c)
        return c;
    c = calloc(1, sizeof *c);
    if (!c) {
        pl_err_set(err, PL_ENOMEM, "out of memory");
        return NULL;
    }
    int rc = sqlite3_open_v2(be->path, &c->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        sq_dberr(err, c->db, rc, "open read connection");
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    set_pragmas(c->db);
    /* A reader keeps the pages it read (index pages above all) in a page cache of its own.
     * Mapping the file instead (mmap_size) was measured: warm queries were faster, but every
     * page a connection touches first costs a page fault, and in this VM that made the first
     * query of a new neighbourhood 3x slower (near 500 m at 300k entities: 30-47 ms mapped,
     * 11-14 ms read): random city-wide queries are mostly first touches. */
    sqlite3_exec(c->db, "PRAGMA cache_size=" READER_CACHE_KIB, NULL, NULL, NULL);
    /* Geometry functions are there for the query code that will run on readers. */
    if (be->geo)
        load_spatialite(c->db, 0);
    if (sq_register_functions(c->db) != 0 || sq_hist_register(c->db) != 0) {
        sq_dberr(err, c->db, SQLITE_NOMEM, "register SQL functions");
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    return c;
}

void sq_reader_put(struct sqlite_be *be, struct rconn *c)
{
    for (int i = 0; i < R__COUNT; i++) {
        if (c->st[i])
            done_stmt(c->st[i]);
    }
    pthread_mutex_lock(&be->rmu);
    if (be->n_idle < READER_POOL_KEEP) {
        c->next = be->idle;
        be->idle = c;
        be->n_idle++;
        c = NULL;
    }
    pthread_mutex_unlock(&be->rmu);
    if (c) {
        for (int i = 0; i < R__COUNT; i++)
            sqlite3_finalize(c->st[i]);
        sqlite3_close(c->db);
        free(c);
    }
}

static sqlite3_stmt *rstmt(struct rconn *c, enum rst k, struct pl_err *err)
{
    if (!c->st[k]) {
        int rc = sqlite3_prepare_v3(c->db, rsql[k], -1, SQLITE_PREPARE_PERSISTENT, &c->st[k], NULL);
        if (rc != SQLITE_OK) {
            sq_dberr(err, c->db, rc, rsql[k]);
            c->st[k] = NULL;
        }
    }
    return c->st[k];
}

sqlite3_stmt *sq_reader_stmt(struct rconn *c, enum rst k, struct pl_err *err)
{
    return rstmt(c, k, err);
}

/* The one entity read of the reader side: the row of (tenant, id) gives, as asked, the parsed
 * body (*out, NEW ref), a malloc'd copy of its text (*text, *len) and its revision (*rev). */
static int read_entity(struct sqlite_be *be, const char *tenant, const char *id, json_t **out,
                       char **text, size_t *len, int64_t *rev, struct pl_err *err)
{
    struct rconn *c = sq_reader_get(be, err);
    if (!c)
        return err ? err->code : PL_EINTERNAL;
    int out_rc;
    sqlite3_stmt *st = rstmt(c, R_GET_REV, err);
    if (!st) {
        out_rc = err ? err->code : PL_EINTERNAL;
        goto done;
    }
    sq_bind_text(st, 1, tenant);
    sq_bind_text(st, 2, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        out_rc = pl_err_set(err, PL_ENOTFOUND, "Entity not found");
    } else if (rc != SQLITE_ROW) {
        out_rc = sq_dberr(err, c->db, rc, "entity read");
    } else {
        out_rc = 0;
        if (rev)
            *rev = sqlite3_column_int64(st, 1);
        if (out)
            out_rc = parse_body(st, 0, tenant, id, out, err);
        if (text && out_rc == 0) {
            const char *z = (const char *)sqlite3_column_text(st, 0);
            int n = sqlite3_column_bytes(st, 0);
            char *copy = z ? malloc((size_t)n + 1) : NULL;
            if (!z) {
                out_rc = pl_err_set(err, PL_EINTERNAL,
                                    "entity '%s' (tenant '%s') has no stored body", id, tenant);
            } else if (!copy) {
                out_rc = pl_err_set(err, PL_ENOMEM, "out of memory");
            } else {
                memcpy(copy, z, (size_t)n);
                copy[n] = '\0';
                *text = copy;
                *len = (size_t)n;
            }
        }
    }
done:
    sq_reader_put(be, c);
    return out_rc;
}

/* Runs reader statement `k` bound to `tenant`; *has_row says whether it gave a row and *val is
 * that row's first column. */
static int read_int(struct sqlite_be *be, enum rst k, const char *tenant, int *has_row,
                    int64_t *val, const char *what, struct pl_err *err)
{
    struct rconn *c = sq_reader_get(be, err);
    if (!c)
        return err ? err->code : PL_EINTERNAL;
    int out_rc = 0;
    sqlite3_stmt *st = rstmt(c, k, err);
    if (!st) {
        out_rc = err ? err->code : PL_EINTERNAL;
    } else {
        sq_bind_text(st, 1, tenant);
        int rc = sqlite3_step(st);
        *has_row = rc == SQLITE_ROW;
        if (rc == SQLITE_ROW)
            *val = sqlite3_column_int64(st, 0);
        else if (rc != SQLITE_DONE)
            out_rc = sq_dberr(err, c->db, rc, what);
    }
    sq_reader_put(be, c);
    return out_rc;
}

static int sq_tenant_exists(void *p, const char *tenant, int *exists, struct pl_err *err)
{
    int64_t one;
    return read_int(p, R_TENANT, tenant, exists, &one, "tenant lookup", err);
}

static int sq_entity_get(void *p, const char *tenant, const char *id, json_t **out,
                         struct pl_err *err)
{
    return read_entity(p, tenant, id, out, NULL, NULL, NULL, err);
}

/* entity_get without the parse: a malloc'd copy of the stored body text (the fast read path). */
static int sq_entity_get_raw(void *p, const char *tenant, const char *id, char **body, size_t *len,
                             struct pl_err *err)
{
    return read_entity(p, tenant, id, NULL, body, len, NULL, err);
}

static int sq_entity_get_rev(void *p, const char *tenant, const char *id, json_t **out,
                             int64_t *rev, struct pl_err *err)
{
    return read_entity(p, tenant, id, out, NULL, NULL, rev, err);
}

static int sq_entity_count(void *p, const char *tenant, int64_t *n, struct pl_err *err)
{
    int has_row = 0;
    int rc = read_int(p, R_COUNT, tenant, &has_row, n, "entity_count", err);
    if (rc == 0 && !has_row)
        rc = pl_err_set(err, PL_EINTERNAL, "entity_count: no row");
    return rc;
}

/* Adds column `col` of the current row as string member `key` (skipped when NULL). */
static int set_col(json_t *o, const char *key, sqlite3_stmt *st, int col)
{
    const char *z = (const char *)sqlite3_column_text(st, col);
    if (!z)
        return 0;
    return json_object_set_new(o, key, json_stringn(z, (size_t)sqlite3_column_bytes(st, col)));
}

static int sq_ctx_load(void *p, json_t **out, struct pl_err *err)
{
    struct sqlite_be *be = p;
    struct rconn *c = sq_reader_get(be, err);
    if (!c)
        return err ? err->code : PL_EINTERNAL;
    int out_rc = 0;
    json_t *arr = json_array();
    sqlite3_stmt *st = rstmt(c, R_CTX_LOAD, err);
    if (!st || !arr) {
        out_rc = st ? pl_err_set(err, PL_ENOMEM, "out of memory") : err ? err->code : PL_EINTERNAL;
        goto done;
    }
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *rec = json_object();
        if (!rec || set_col(rec, "id", st, 0) || set_col(rec, "url", st, 1) ||
            set_col(rec, "kind", st, 2) || set_col(rec, "createdAt", st, 3) ||
            set_col(rec, "body", st, 4) || json_array_append_new(arr, rec)) {
            json_decref(rec);
            out_rc = pl_err_set(err, PL_ENOMEM, "out of memory");
            goto done;
        }
    }
    if (rc != SQLITE_DONE)
        out_rc = sq_dberr(err, c->db, rc, "ctx_load");
done:
    sq_reader_put(be, c);
    if (out_rc == 0)
        *out = arr;
    else
        json_decref(arr);
    return out_rc;
}

/* ------------------------------------------------------------------------------------------
 * Writer side (writer thread only)
 * ---------------------------------------------------------------------------------------- */

static void counts_clear(struct sqlite_be *be);
static int counts_release(struct sqlite_be *be);
static int counts_flush(struct sqlite_be *be, struct pl_err *err);

/* A statement failure can make SQLite roll back the whole transaction on its own (SQLITE_FULL,
 * IOERR, NOMEM, RAISE(ROLLBACK)). A later SAVEPOINT would then silently start a NEW transaction
 * and the group's earlier writes would be reported committed although they were lost. */
static int tx_alive(struct sqlite_be *be, struct pl_err *err)
{
    if (be->in_tx && sqlite3_get_autocommit(be->db))
        return pl_err_set(err, PL_EINTERNAL, "the transaction was rolled back by SQLite");
    return 0;
}

static int sq_tx_begin(void *p, struct pl_err *err)
{
    struct sqlite_be *be = p;
    int rc = wrun(be, W_BEGIN, err);
    if (rc == 0)
        be->in_tx = 1;
    return rc;
}

static int sq_tx_commit(void *p, struct pl_err *err)
{
    struct sqlite_be *be = p;
    int rc = tx_alive(be, err);
    if (rc == 0)
        rc = counts_flush(be, err);
    if (rc == 0)
        rc = sq_hist_tx_commit(be, err);
    if (rc == 0)
        rc = wrun(be, W_COMMIT, err);
    if (rc == 0)
        be->in_tx = 0;
    return rc;
}

static void sq_tx_rollback(void *p)
{
    struct sqlite_be *be = p;
    if (!sqlite3_get_autocommit(be->db))
        wrun(be, W_ROLLBACK, NULL);
    be->in_tx = 0;
    pl_hmap_clear(be->names);
    sq_hist_cache_clear(be);
    counts_clear(be);
}

static int sq_sp_begin(void *p, struct pl_err *err)
{
    struct sqlite_be *be = p;
    int rc = tx_alive(be, err);
    pl_hmap_clear(be->sp_counts);
    return rc ? rc : wrun(be, W_SP, err);
}

static int sq_sp_release(void *p, struct pl_err *err)
{
    struct sqlite_be *be = p;
    int rc = tx_alive(be, err);
    if (rc == 0)
        rc = wrun(be, W_SP_RELEASE, err);
    if (rc == 0 && counts_release(be) != 0)
        rc = pl_err_set(err, PL_ENOMEM, "out of memory");
    return rc;
}

static void sq_sp_rollback(void *p)
{
    struct sqlite_be *be = p;
    /* Names interned and counters counted by the rolled-back write are gone. */
    pl_hmap_clear(be->names);
    pl_hmap_clear(be->sp_counts);
    sq_hist_cache_clear(be);
    if (sqlite3_get_autocommit(be->db))
        return; /* nothing left to roll back; tx_commit will report it */
    if (wrun(be, W_SP_ROLLBACK_TO, NULL) == 0)
        wrun(be, W_SP_RELEASE, NULL);
}

static int sq_w_entity_get(void *p, const char *tenant, const char *id, json_t **out,
                           struct pl_err *err)
{
    struct sqlite_be *be = p;
    sqlite3_stmt *st = wstmt(be, W_GET, err);
    if (!st)
        return err ? err->code : PL_EINTERNAL;
    sq_bind_text(st, 1, tenant);
    sq_bind_text(st, 2, id);
    int rc = sqlite3_step(st), out_rc;
    if (rc == SQLITE_ROW)
        out_rc = parse_body(st, 0, tenant, id, out, err);
    else if (rc == SQLITE_DONE)
        out_rc = pl_err_set(err, PL_ENOTFOUND, "Entity not found");
    else
        out_rc = sq_dberr(err, be->db, rc, "w_entity_get");
    done_stmt(st);
    return out_rc;
}

/* ------------------------------------------------------------------------------------------
 * Index maintenance. Every name (type or attribute IRI) is interned per tenant in `name`; the
 * writer caches nids. Rows written inside a savepoint that is rolled back disappear, so the
 * cache is dropped on every rollback (rare: only failing writes).
 * ---------------------------------------------------------------------------------------- */

static void counts_clear(struct sqlite_be *be)
{
    pl_hmap_clear(be->sp_counts);
    pl_hmap_clear(be->tx_counts);
}

/* The nid of (tenant, iri), interned when absent. Returns 0 or a PL_E* code. */
int sq_nid_of(struct sqlite_be *be, const char *tenant, const char *iri, int64_t *nid,
              struct pl_err *err)
{
    struct pl_strbuf *k = &be->keybuf;
    pl_strbuf_reset(k);
    pl_strbuf_puts(k, tenant);
    pl_strbuf_putc(k, '\x1f');
    pl_strbuf_puts(k, iri);
    if (k->nomem)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    int found = 0;
    void *v = pl_hmap_get(be->names, k->p, &found);
    if (found) {
        *nid = (int64_t)(intptr_t)v;
        return 0;
    }
    sqlite3_stmt *st = wstmt(be, W_NAME_GET, err);
    if (!st)
        return err ? err->code : PL_EINTERNAL;
    sq_bind_text(st, 1, tenant);
    sq_bind_text(st, 2, iri);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *nid = sqlite3_column_int64(st, 0);
        done_stmt(st);
    } else {
        done_stmt(st);
        if (rc != SQLITE_DONE)
            return sq_dberr(err, be->db, rc, "name lookup");
        sqlite3_stmt *ins = wstmt(be, W_NAME_INS, err);
        if (!ins)
            return err ? err->code : PL_EINTERNAL;
        sq_bind_text(ins, 1, tenant);
        sq_bind_text(ins, 2, iri);
        if ((rc = step_done(be, ins, wsql[W_NAME_INS], err)) != 0)
            return rc;
        *nid = sqlite3_last_insert_rowid(be->db);
    }
    if (pl_hmap_count(be->names) > NAME_CACHE_MAX)
        pl_hmap_clear(be->names);
    if (pl_hmap_put(be->names, k->p, (void *)(intptr_t)*nid) != 0)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    return 0;
}

/* Adds `delta` to the discovery counter (tnid, anid, kind) of the current savepoint. */
static int count_add(struct sqlite_be *be, int64_t tnid, int64_t anid, const char *kind, int delta,
                     struct pl_err *err)
{
    char key[512];
    snprintf(key, sizeof key, "%lld %lld %.400s", (long long)tnid, (long long)anid, kind);
    int found = 0;
    intptr_t n = (intptr_t)pl_hmap_get(be->sp_counts, key, &found);
    if (pl_hmap_put(be->sp_counts, key, (void *)(n + delta)) != 0)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    return 0;
}

/* The counters of one entity's keys, each added `sign` times: per type (and per tenant, under
 * the pseudo type PL_ALL_TYPES), one for the entity and, per (attribute, kind), its instances
 * (5.2.28 attributeCount: "number of attribute instances with this attribute name"). */
static int count_entity(struct sqlite_be *be, const char *tenant, const struct pl_store_ix *ix,
                        int sign, struct pl_err *err)
{
    int rc;
    for (size_t t = 0; t <= ix->n_types; t++) {
        int64_t tnid, anid;
        const char *type = t < ix->n_types ? ix->types[t] : PL_ALL_TYPES;
        if ((rc = sq_nid_of(be, tenant, type, &tnid, err)) != 0 ||
            (rc = count_add(be, tnid, 0, "", sign, err)) != 0)
            return rc;
        for (size_t a = 0; a < ix->n_aks; a++) {
            if ((rc = sq_nid_of(be, tenant, ix->aks[a].attr, &anid, err)) != 0 ||
                (rc = count_add(be, tnid, anid, ix->aks[a].kind, sign * ix->aks[a].n, err)) != 0)
                return rc;
        }
    }
    return 0;
}

/* Merges the savepoint's counters into the transaction's. */
static int counts_release(struct sqlite_be *be)
{
    size_t pos = 0;
    const char *key;
    void *v;
    while (pl_hmap_next(be->sp_counts, &pos, &key, &v)) {
        int found = 0;
        intptr_t n = (intptr_t)pl_hmap_get(be->tx_counts, key, &found);
        if (pl_hmap_put(be->tx_counts, key, (void *)(n + (intptr_t)v)) != 0)
            return PL_ENOMEM;
    }
    pl_hmap_clear(be->sp_counts);
    return 0;
}

/* Writes the transaction's counters (before COMMIT). */
static int counts_flush(struct sqlite_be *be, struct pl_err *err)
{
    size_t pos = 0;
    const char *key;
    void *v;
    int rc = 0;
    sqlite3_stmt *st = wstmt(be, W_TCOUNT_ADD, err);
    if (!st)
        return err ? err->code : PL_EINTERNAL;
    while (rc == 0 && pl_hmap_next(be->tx_counts, &pos, &key, &v)) {
        if ((intptr_t)v == 0)
            continue;
        long long tnid = 0, anid = 0;
        int used = 0;
        if (sscanf(key, "%lld %lld %n", &tnid, &anid, &used) < 2)
            continue;
        sqlite3_bind_int64(st, 1, tnid);
        sqlite3_bind_int64(st, 2, anid);
        sq_bind_text(st, 3, key + used);
        sqlite3_bind_int64(st, 4, (sqlite3_int64)(intptr_t)v);
        rc = step_done(be, st, wsql[W_TCOUNT_ADD], err);
    }
    pl_hmap_clear(be->tx_counts);
    return rc;
}

/* Binds an index value the same way for insert and delete (integers as integers). */
static void bind_ixval(sqlite3_stmt *st, int i, const struct pl_store_ixval *v)
{
    if (v->str) {
        sq_bind_text(st, i, v->str);
    } else if (v->num == (double)(int64_t)v->num && v->num > -9e15 && v->num < 9e15) {
        sqlite3_bind_int64(st, i, (int64_t)v->num);
    } else {
        sqlite3_bind_double(st, i, v->num);
    }
}

static int aval_row(struct sqlite_be *be, enum wst k, const char *tenant, int64_t pk,
                    const struct pl_store_ixval *v, struct pl_err *err)
{
    int64_t aid;
    int rc = sq_nid_of(be, tenant, v->attr, &aid, err);
    if (rc)
        return rc;
    sqlite3_stmt *st = wstmt(be, k, err);
    if (!st)
        return err ? err->code : PL_EINTERNAL;
    sqlite3_bind_int64(st, 1, aid);
    sqlite3_bind_int(st, 2, v->k);
    bind_ixval(st, 3, v);
    sqlite3_bind_int64(st, 4, pk);
    return step_done(be, st, wsql[k], err);
}

static int etype_row(struct sqlite_be *be, enum wst k, const char *tenant, int64_t pk,
                     const char *type, struct pl_err *err)
{
    int64_t nid;
    int rc = sq_nid_of(be, tenant, type, &nid, err);
    if (rc)
        return rc;
    sqlite3_stmt *st = wstmt(be, k, err);
    if (!st)
        return err ? err->code : PL_EINTERNAL;
    sqlite3_bind_int64(st, 1, nid);
    sqlite3_bind_int64(st, 2, pk);
    return step_done(be, st, wsql[k], err);
}

/* Brings the value rows of entity `pk` from `old` (NULL: none) to `nw`: only the difference. */
static int vals_diff(struct sqlite_be *be, const char *tenant, int64_t pk,
                     const struct pl_store_ix *old, const struct pl_store_ix *nw,
                     struct pl_err *err)
{
    size_t i = 0, j = 0, no = old ? old->n_vals : 0;
    int rc = 0;
    while (rc == 0 && (i < no || j < nw->n_vals)) {
        int c = i >= no           ? 1
                : j >= nw->n_vals ? -1
                                  : pl_store__ixval_cmp(&old->vals[i], &nw->vals[j]);
        if (c < 0)
            rc = aval_row(be, W_AVAL_DEL, tenant, pk, &old->vals[i++], err);
        else if (c > 0)
            rc = aval_row(be, W_AVAL_INS, tenant, pk, &nw->vals[j++], err);
        else
            i++, j++;
    }
    return rc;
}

static int types_diff(struct sqlite_be *be, const char *tenant, int64_t pk,
                      const struct pl_store_ix *old, const struct pl_store_ix *nw,
                      struct pl_err *err)
{
    size_t i = 0, j = 0, no = old ? old->n_types : 0;
    int rc = 0;
    while (rc == 0 && (i < no || j < nw->n_types)) {
        int c = i >= no ? 1 : j >= nw->n_types ? -1 : strcmp(old->types[i], nw->types[j]);
        if (c < 0)
            rc = etype_row(be, W_ETYPE_DEL, tenant, pk, old->types[i++], err);
        else if (c > 0)
            rc = etype_row(be, W_ETYPE_INS, tenant, pk, nw->types[j++], err);
        else
            i++, j++;
    }
    return rc;
}

/* The x, y of a GeoJSON Point value, when it is one. Returns 1 and sets them, else 0. */
static int point_xy(const json_t *v, double *x, double *y)
{
    const char *t = json_string_value(json_object_get(v, "type"));
    const json_t *c = json_object_get(v, "coordinates");
    if (!t || strcmp(t, "Point") != 0 || !json_is_array(c) || json_array_size(c) < 2 ||
        !json_is_number(json_array_get(c, 0)) || !json_is_number(json_array_get(c, 1)))
        return 0;
    *x = json_number_value(json_array_get(c, 0));
    *y = json_number_value(json_array_get(c, 1));
    return 1;
}

/* Inserts one geo row. A geometry SpatiaLite rejects is skipped; only errors that endanger the
 * transaction (no memory, I/O, disk full) fail the write. */
static int put_geo_one(struct sqlite_be *be, const char *tenant, int64_t pk, const char *id,
                       const char *attr, const json_t *inst, struct pl_err *err)
{
    const json_t *value = json_object_get(inst, "value");
    double x = 0, y = 0;
    int is_point = point_xy(value, &x, &y);
    sqlite3_stmt *st = wstmt(be, is_point ? W_GEO_INS_POINT : W_GEO_INS, err);
    if (!st)
        return err ? err->code : PL_EINTERNAL;
    char *gj = NULL;
    sqlite3_bind_int64(st, 1, pk);
    sq_bind_text(st, 3, attr);
    sq_bind_text(st, 4, json_string_value(json_object_get(inst, "datasetId")));
    if (is_point) {
        sqlite3_bind_double(st, 5, x);
        sqlite3_bind_double(st, 6, y);
    } else {
        gj = json_dumps(value, JSON_COMPACT);
        if (!gj) {
            done_stmt(st);
            return pl_err_set(err, PL_ENOMEM, "out of memory");
        }
        sq_bind_text(st, 5, gj);
    }
    int rc = sqlite3_step(st), out = 0;
    if (rc == SQLITE_DONE && sqlite3_changes(be->db) == 0) {
        pl_log_debug("store/sqlite: entity '%s' attribute '%s': geometry not indexed", id, attr);
    } else if (rc == SQLITE_DONE) {
        /* its bounding box into the R*Tree (a point's is the point) */
        int64_t gid = sqlite3_last_insert_rowid(be->db), aid = 0;
        sqlite3_stmt *rt = wstmt(be, is_point ? W_GEO_RTREE_INS : W_GEO_RTREE_INS_MBR, err);
        if (!rt) {
            out = err ? err->code : PL_EINTERNAL;
        } else if ((out = sq_nid_of(be, tenant, attr, &aid, err)) != 0) {
            done_stmt(rt);
        } else {
            sqlite3_bind_int64(rt, 1, gid);
            sqlite3_bind_int64(rt, 6, pk);
            sqlite3_bind_int64(rt, 7, aid);
            if (is_point) {
                sqlite3_bind_double(rt, 2, x);
                sqlite3_bind_double(rt, 3, x);
                sqlite3_bind_double(rt, 4, y);
                sqlite3_bind_double(rt, 5, y);
            }
            out = step_done(be, rt, "geo rtree insert", err);
        }
    } else if (rc != SQLITE_DONE) {
        int prim = rc & 0xff;
        if (prim == SQLITE_NOMEM || prim == SQLITE_IOERR || prim == SQLITE_FULL ||
            prim == SQLITE_BUSY || prim == SQLITE_CORRUPT)
            out = sq_dberr(err, be->db, rc, "geo insert");
        else
            pl_log_debug("store/sqlite: entity '%s' attribute '%s': geometry skipped: %s", id, attr,
                         sqlite3_errmsg(be->db));
    }
    done_stmt(st);
    free(gj);
    return out;
}

static int put_geo(struct sqlite_be *be, const char *tenant, int64_t pk, const char *id,
                   const json_t *entity, struct pl_err *err)
{
    const json_t *attrs = json_object_get(entity, "attrs");
    if (!json_is_object(attrs))
        return 0;
    const char *name;
    json_t *insts;
    json_object_foreach((json_t *)attrs, name, insts)
    {
        size_t i;
        json_t *inst;
        json_array_foreach(insts, i, inst)
        {
            const char *kind = json_string_value(json_object_get(inst, "type"));
            if (!kind || strcmp(kind, "GeoProperty") != 0 ||
                !json_is_object(json_object_get(inst, "value")))
                continue;
            int rc = put_geo_one(be, tenant, pk, id, name, inst, err);
            if (rc)
                return rc;
        }
    }
    return 0;
}

static int run_pk(struct sqlite_be *be, enum wst k, int64_t pk, struct pl_err *err)
{
    sqlite3_stmt *st = wstmt(be, k, err);
    if (!st)
        return err ? err->code : PL_EINTERNAL;
    sqlite3_bind_int64(st, 1, pk);
    return step_done(be, st, wsql[k], err);
}

/* Inserts (old == NULL) or updates the entity row, raising the revision; sets *pk. */
static int write_entity_row(struct sqlite_be *be, const char *tenant, const char *id,
                            const json_t *entity, const char *body, size_t body_len,
                            const char *ztypes, int exists, int64_t *pk, struct pl_err *err)
{
    int rc = 0;
    enum wst k = exists ? W_UPDATE : W_INSERT;
    sqlite3_stmt *st = wstmt(be, k, err);
    if (!st)
        return err ? err->code : PL_EINTERNAL;
    sq_bind_text(st, 1, tenant);
    sq_bind_text(st, 2, id);
    sq_bind_text(st, 3, ztypes);
    sq_bind_text(st, 4, json_string_value(json_object_get(entity, "createdAt")));
    sq_bind_text(st, 5, json_string_value(json_object_get(entity, "modifiedAt")));
    sqlite3_bind_text(st, 6, body, (int)body_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, ++be->last_rev);
    int src = sqlite3_step(st);
    if (exists && src == SQLITE_ROW) {
        *pk = sqlite3_column_int64(st, 0);
        src = sqlite3_step(st);
    } else if (exists && src == SQLITE_DONE) {
        rc = pl_err_set(err, PL_ENOTFOUND, "Entity not found");
    } else if (src == SQLITE_DONE) {
        *pk = sqlite3_last_insert_rowid(be->db);
    }
    if (rc == 0 && src != SQLITE_DONE) {
        if ((src & 0xff) == SQLITE_CONSTRAINT && !exists)
            rc = pl_err_set(err, PL_EALREADYEXISTS, "Entity already exists");
        else
            rc = sq_dberr(err, be->db, src, exists ? "entity update" : "entity insert");
    }
    done_stmt(st);
    if (rc == 0 && !exists)
        rc = tenant_created(be, tenant, err);
    return rc;
}

static int sq_w_entity_put(void *p, const char *tenant, const char *id, const json_t *entity,
                           const char *text, size_t len, const struct pl_store_ix *old,
                           const struct pl_store_ix *nw, struct pl_err *err)
{
    struct sqlite_be *be = p;
    int64_t pk = 0;
    int rc =
        write_entity_row(be, tenant, id, entity, text, len, nw->types_text, old != NULL, &pk, err);
    if (rc)
        return rc;
    if ((rc = types_diff(be, tenant, pk, old, nw, err)) != 0 ||
        (rc = vals_diff(be, tenant, pk, old, nw, err)) != 0)
        return rc;
    if (!old || !pl_store__ix_same_types(old, nw) || !pl_store__ix_same_aks(old, nw)) {
        if ((old && (rc = count_entity(be, tenant, old, -1, err)) != 0) ||
            (rc = count_entity(be, tenant, nw, +1, err)) != 0)
            return rc;
    }
    if (be->geo && (!old || strcmp(old->geo_fp, nw->geo_fp) != 0)) {
        if (old && ((rc = run_pk(be, W_GEO_RTREE_DEL, pk, err)) != 0 ||
                    (rc = run_pk(be, W_GEO_DEL, pk, err)) != 0))
            return rc;
        rc = put_geo(be, tenant, pk, id, entity, err);
    }
    return rc;
}

static int sq_w_entity_rev(void *p, const char *tenant, const char *id, int64_t *rev,
                           struct pl_err *err)
{
    struct sqlite_be *be = p;
    sqlite3_stmt *st = wstmt(be, W_REV, err);
    if (!st)
        return err ? err->code : PL_EINTERNAL;
    sq_bind_text(st, 1, tenant);
    sq_bind_text(st, 2, id);
    int rc = sqlite3_step(st), out;
    if (rc == SQLITE_ROW) {
        *rev = sqlite3_column_int64(st, 0);
        out = 0;
    } else if (rc == SQLITE_DONE) {
        out = pl_err_set(err, PL_ENOTFOUND, "Entity not found");
    } else {
        out = sq_dberr(err, be->db, rc, "w_entity_rev");
    }
    done_stmt(st);
    return out;
}

static int sq_w_entity_delete(void *p, const char *tenant, const char *id,
                              const struct pl_store_ix *old, struct pl_err *err)
{
    struct sqlite_be *be = p;
    sqlite3_stmt *st = wstmt(be, W_DELETE, err);
    if (!st)
        return err ? err->code : PL_EINTERNAL;
    sq_bind_text(st, 1, tenant);
    sq_bind_text(st, 2, id);
    int src = sqlite3_step(st), rc = 0;
    int64_t pk = 0;
    if (src == SQLITE_ROW) {
        pk = sqlite3_column_int64(st, 0);
        src = sqlite3_step(st);
        if (src != SQLITE_DONE)
            rc = sq_dberr(err, be->db, src, "entity delete");
    } else if (src == SQLITE_DONE) {
        rc = pl_err_set(err, PL_ENOTFOUND, "Entity not found");
    } else {
        rc = sq_dberr(err, be->db, src, "entity delete");
    }
    done_stmt(st);
    if (rc)
        return rc;
    for (size_t i = 0; rc == 0 && old && i < old->n_types; i++)
        rc = etype_row(be, W_ETYPE_DEL, tenant, pk, old->types[i], err);
    if (rc == 0)
        rc = run_pk(be, W_AVAL_DEL_PK, pk, err);
    if (rc == 0 && old)
        rc = count_entity(be, tenant, old, -1, err);
    if (rc == 0 && be->geo && (rc = run_pk(be, W_GEO_RTREE_DEL, pk, err)) == 0)
        rc = run_pk(be, W_GEO_DEL, pk, err);
    return rc;
}

static int sq_w_sub_put(void *p, const char *tenant, const char *id, const json_t *body,
                        struct pl_err *err)
{
    struct sqlite_be *be = p;
    char *z = json_dumps(body, JSON_COMPACT);
    if (!z)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    sqlite3_stmt *st = wstmt(be, W_SUB_PUT, err);
    int rc;
    if (!st) {
        rc = err ? err->code : PL_EINTERNAL;
    } else {
        sq_bind_text(st, 1, tenant);
        sq_bind_text(st, 2, id);
        sq_bind_text(st, 3, z);
        rc = step_done(be, st, wsql[W_SUB_PUT], err);
    }
    if (rc == 0)
        rc = tenant_created(be, tenant, err);
    free(z);
    return rc;
}

static int sq_w_sub_delete(void *p, const char *tenant, const char *id, struct pl_err *err)
{
    struct sqlite_be *be = p;
    sqlite3_stmt *st = wstmt(be, W_SUB_DEL, err);
    if (!st)
        return err ? err->code : PL_EINTERNAL;
    sq_bind_text(st, 1, tenant);
    sq_bind_text(st, 2, id);
    int rc = step_done(be, st, wsql[W_SUB_DEL], err);
    if (rc == 0 && sqlite3_changes(be->db) == 0)
        rc = pl_err_set(err, PL_ENOTFOUND, "Subscription not found");
    return rc;
}

static int sq_sub_load(void *p, json_t **out, struct pl_err *err)
{
    struct sqlite_be *be = p;
    struct rconn *c = sq_reader_get(be, err);
    if (!c)
        return err ? err->code : PL_EINTERNAL;
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(c->db, "SELECT tenant, id, body FROM subscription", -1, &st, NULL);
    json_t *arr = json_array();
    int out_rc = 0;
    if (rc != SQLITE_OK) {
        out_rc = sq_dberr(err, c->db, rc, "sub_load");
    } else {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *z = (const char *)sqlite3_column_text(st, 2);
            json_t *body = z ? json_loads(z, 0, NULL) : NULL;
            if (!body) {
                pl_log_error("store/sqlite: subscription '%s' has a corrupt body; skipped",
                             (const char *)sqlite3_column_text(st, 1));
                continue;
            }
            json_array_append_new(
                arr, json_pack("{s:s,s:s,s:o}", "tenant", (const char *)sqlite3_column_text(st, 0),
                               "id", (const char *)sqlite3_column_text(st, 1), "body", body));
        }
        if (rc != SQLITE_DONE)
            out_rc = sq_dberr(err, c->db, rc, "sub_load");
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

static int sq_w_ctx_put(void *p, const json_t *rec, struct pl_err *err)
{
    struct sqlite_be *be = p;
    const json_t *jb = json_object_get(rec, "body");
    char *dumped = NULL;
    const char *body = json_string_value(jb);
    if (!body && jb && !json_is_null(jb)) {
        if (!(dumped = json_dumps(jb, JSON_COMPACT | JSON_ENCODE_ANY)))
            return pl_err_set(err, PL_ENOMEM, "out of memory");
        body = dumped;
    }
    sqlite3_stmt *st = wstmt(be, W_CTX_PUT, err);
    if (!st) {
        free(dumped);
        return err ? err->code : PL_EINTERNAL;
    }
    sq_bind_text(st, 1, json_string_value(json_object_get(rec, "id")));
    sq_bind_text(st, 2, json_string_value(json_object_get(rec, "url")));
    sq_bind_text(st, 3, json_string_value(json_object_get(rec, "kind")));
    sq_bind_text(st, 4, json_string_value(json_object_get(rec, "createdAt")));
    sq_bind_text(st, 5, body);
    int rc = sqlite3_step(st), out = 0;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        out = pl_err_set(err, PL_EALREADYEXISTS, "another @context record has url '%s'",
                         json_string_value(json_object_get(rec, "url")));
    else if (rc != SQLITE_DONE)
        out = sq_dberr(err, be->db, rc, "context put");
    done_stmt(st);
    free(dumped);
    return out;
}

static int sq_w_ctx_delete(void *p, const char *id, struct pl_err *err)
{
    struct sqlite_be *be = p;
    sqlite3_stmt *st = wstmt(be, W_CTX_DEL, err);
    if (!st)
        return err ? err->code : PL_EINTERNAL;
    sq_bind_text(st, 1, id);
    int rc = step_done(be, st, wsql[W_CTX_DEL], err);
    if (rc == 0 && sqlite3_changes(be->db) == 0)
        rc = pl_err_set(err, PL_ENOTFOUND, "@context '%s' not found", id);
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * The table
 * ---------------------------------------------------------------------------------------- */

/* The capabilities of one open database: GEO_NATIVE only when SpatiaLite loaded. */
static unsigned sq_caps_of(void *p)
{
    const struct sqlite_be *be = p;
    return (be->geo ? PL_STORE_CAP_GEO_NATIVE : 0u) | PL_STORE_CAP_TEMPORAL;
}

const struct pl_store_ops pl_store_sqlite_ops = {
    .version = PL_STORE_OPS_VERSION,
    .name = "sqlite",
    .caps = PL_STORE_CAP_GEO_NATIVE | PL_STORE_CAP_TEMPORAL,
    .open = sq_open,
    .close = sq_close,
    .entity_get = sq_entity_get,
    .entity_count = sq_entity_count,
    .ctx_load = sq_ctx_load,
    .tx_begin = sq_tx_begin,
    .tx_commit = sq_tx_commit,
    .tx_rollback = sq_tx_rollback,
    .sp_begin = sq_sp_begin,
    .sp_release = sq_sp_release,
    .sp_rollback = sq_sp_rollback,
    .w_entity_get = sq_w_entity_get,
    .w_entity_put = sq_w_entity_put,
    .w_entity_delete = sq_w_entity_delete,
    .w_ctx_put = sq_w_ctx_put,
    .w_ctx_delete = sq_w_ctx_delete,
    .caps_of = sq_caps_of,
    .entity_get_raw = sq_entity_get_raw,
    .entity_get_rev = sq_entity_get_rev,
    .w_entity_rev = sq_w_entity_rev,
    .tenant_exists = sq_tenant_exists,
    .entity_query = sq_entity_query,
    .discover = sq_discover,
    .explain = sq_explain,
    .sub_load = sq_sub_load,
    .w_sub_put = sq_w_sub_put,
    .w_sub_delete = sq_w_sub_delete,
    .w_hist_append = sq_w_hist_append,
    .w_hist_delete = sq_w_hist_delete,
    .w_hist_patch = sq_w_hist_patch,
    .w_hist_trim = sq_w_hist_trim,
    .hist_entities = sq_hist_entities,
    .hist_instances = sq_hist_instances,
    .hist_aggregate = sq_hist_aggregate,
    .expired = sq_expired,
    /* ---- security (issue 12), by part ---- */
    /* -- credentials -- */
    .cred_get = sq_cred_get,
    .cred_list = sq_cred_list,
    .w_cred_put = sq_w_cred_put,
    .w_cred_delete = sq_w_cred_delete,
    .w_cred_delete_owner = sq_w_cred_delete_owner,

    /* -- authorization -- */
    .w_owner_put = sq_w_owner_put,
    .w_owner_delete = sq_w_owner_delete,
    .w_owner_get = sq_w_owner_get,
    .owner_get = sq_owner_get,

    /* -- reads: tenant read policies (policy.c) -- */
    .policy_load = sq_policy_load,
    .w_policy_put = sq_w_policy_put,

    /* -- tenants and audit -- */
    .w_audit_append = sq_w_audit_append,
    .w_audit_trim = sq_w_audit_trim,
    .audit_query = sq_audit_query,
    .tenant_list = sq_tenant_list,
    .w_tenant_drop = sq_w_tenant_drop,
};
