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
 * ON-DISK FORMAT (schema_version 1; also in docs/store-schema.md). One file, <dir>/polis.db,
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
 *   entity_type(tenant, id, type, PRIMARY KEY(tenant,id,type)) WITHOUT ROWID
 *     + index entity_type_by_type(tenant, type, id)    -- type queries, /types
 *     One row per type IRI of each entity, rewritten on every put.
 *
 *   geo(tenant TEXT, id TEXT, attr TEXT, dataset TEXT, geom GEOMETRY(4326, XY))
 *     + index geo_by_entity(tenant, id) and the SpatiaLite R*Tree idx_geo_geom (on geo's rowid,
 *       which is why geo is a rowid table). One row per GeoProperty instance of the entity's
 *       top-level attributes: attr = attribute IRI, dataset = datasetId or NULL, geom =
 *       SetSRID(CastToXY(GeomFromGeoJSON(value)), 4326). Rows of an entity are deleted and
 *       re-inserted on every put and deleted with the entity. A value SpatiaLite cannot parse
 *       is skipped (logged at debug), never failing the write. Only present when SpatiaLite
 *       loaded (PL_STORE_CAP_GEO_NATIVE).
 *
 *   context(id TEXT PRIMARY KEY, url TEXT UNIQUE, kind TEXT, created_at TEXT, body TEXT)
 *     @context registry records (store.h pl_store_ctx_*).
 *
 *   meta(key TEXT PRIMARY KEY, value TEXT)    -- schema_version = '1'
 */
#include "store/store.h"
#include "store/store_int.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "base/jsonfmt.h"
#include "base/log.h"

#define SCHEMA_VERSION   1
#define BUSY_TIMEOUT_MS  5000
#define READER_POOL_KEEP 32 /* idle read connections kept; more are closed on return */

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
    W_TYPES_DEL,
    W_TYPES_INS,
    W_GEO_DEL,
    W_GEO_INS,
    W_GEO_INS_POINT,
    W_CTX_PUT,
    W_CTX_DEL,
    W__COUNT
};

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
                 "WHERE tenant=?1 AND id=?2",
    [W_REV] = "SELECT rev FROM entity WHERE tenant=?1 AND id=?2",
    /* NGSI-LD 5.5.10: a tenant is created implicitly by the first entity created in it. */
    [W_TENANT_INS] = "INSERT OR IGNORE INTO tenant(name) VALUES(?1)",
    [W_DELETE] = "DELETE FROM entity WHERE tenant=?1 AND id=?2",
    [W_TYPES_DEL] = "DELETE FROM entity_type WHERE tenant=?1 AND id=?2",
    [W_TYPES_INS] = "INSERT OR IGNORE INTO entity_type(tenant,id,type) VALUES(?1,?2,?3)",
    [W_GEO_DEL] = "DELETE FROM geo WHERE tenant=?1 AND id=?2",
    /* The geometry is computed first and the row only inserted when it is not NULL: the
     * SpatiaLite constraint trigger on geo uses RAISE(ROLLBACK), which would abort the whole
     * group transaction. CastToXY and SetSRID make every parsed geometry conform. */
    [W_GEO_INS] = "INSERT INTO geo(tenant,id,attr,dataset,geom) SELECT ?1,?2,?3,?4,g FROM "
                  "(SELECT SetSRID(CastToXY(GeomFromGeoJSON(?5)),4326) AS g) WHERE g IS NOT NULL",
    /* Points (most city sensors) skip SpatiaLite's GeoJSON parser, which allocates and clears
     * a large parser state per call (a tenth of the writer's time when loading entities). */
    [W_GEO_INS_POINT] = "INSERT INTO geo(tenant,id,attr,dataset,geom) "
                        "VALUES(?1,?2,?3,?4,MakePoint(?5,?6,4326))",
    [W_CTX_PUT] = "INSERT INTO context(id,url,kind,created_at,body) VALUES(?1,?2,?3,?4,?5) "
                  "ON CONFLICT(id) DO UPDATE SET url=excluded.url,kind=excluded.kind,"
                  "created_at=excluded.created_at,body=excluded.body",
    [W_CTX_DEL] = "DELETE FROM context WHERE id=?1",
};

/* Statements cached on each read connection. */
enum rst { R_COUNT, R_CTX_LOAD, R_GET_REV, R_TENANT, R__COUNT };

static const char *const rsql[R__COUNT] = {
    [R_COUNT] = "SELECT count(*) FROM entity WHERE tenant=?1",
    [R_CTX_LOAD] = "SELECT id,url,kind,created_at,body FROM context ORDER BY created_at,id",
    [R_GET_REV] = "SELECT body, rev FROM entity WHERE tenant=?1 AND id=?2",
    [R_TENANT] = "SELECT 1 FROM tenant WHERE name=?1",
};

/* One pooled read-only connection. */
struct rconn {
    sqlite3 *db;                /* SQLITE_OPEN_READONLY */
    sqlite3_stmt *st[R__COUNT]; /* prepared on first use */
    struct rconn *next;         /* free-list link while idle */
};

struct sqlite_be {
    sqlite3 *db;                /* the write connection; used only by the writer thread */
    sqlite3_stmt *st[W__COUNT]; /* cached writer statements, prepared on first use */
    char *path;                 /* <dir>/polis.db (owned) */
    int geo;                    /* 1 when SpatiaLite is loaded and table geo exists */
    int in_tx;                  /* 1 between tx_begin and tx_commit/rollback */
    pthread_mutex_t rmu;        /* protects the reader pool */
    struct rconn *idle;         /* idle read connections */
    int n_idle;                 /* length of `idle` */

    /* Revisions come from one counter for the whole store, never per entity: a DELETE then a
     * POST of the same id must not give the new entity a revision an optimistic update read
     * from the old one (it would then overwrite the new entity with the old one's data). */
    int64_t last_rev;           /* highest revision handed out (writer thread only) */
};

/* The writer's page cache (negative = KiB): random updates over a large table re-read fewer
 * pages. The WAL file is truncated back to 64 MiB after a checkpoint resets it. */
#define WRITER_CACHE_SQL "PRAGMA cache_size=-16384; PRAGMA journal_size_limit=67108864"

/* ------------------------------------------------------------------------------------------
 * Helpers
 * ---------------------------------------------------------------------------------------- */

/* Maps a SQLite failure to a PL_E* code with words. */
static int dberr(struct pl_err *err, sqlite3 *db, int rc, const char *what)
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
        return dberr(err, db, rc, sql);
    rc = sqlite3_step(st);
    int out = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : dberr(err, db, rc, sql);
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
            dberr(err, be->db, rc, wsql[k]);
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
    int out = rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : dberr(err, be->db, rc, what);
    done_stmt(st);
    return out;
}

/* Runs a parameterless cached writer statement. */
static int wrun(struct sqlite_be *be, enum wst k, struct pl_err *err)
{
    sqlite3_stmt *st = wstmt(be, k, err);
    if (!st)
        return err ? err->code : PL_EINTERNAL;
    return step_done(be, st, wsql[k], err);
}

static void bind_text(sqlite3_stmt *st, int i, const char *z)
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
    "CREATE TABLE IF NOT EXISTS entity_type(tenant TEXT NOT NULL, id TEXT NOT NULL,"
    " type TEXT NOT NULL, PRIMARY KEY(tenant, id, type)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS entity_type_by_type ON entity_type(tenant, type, id);"
    "CREATE TABLE IF NOT EXISTS tenant(name TEXT PRIMARY KEY) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS context(id TEXT PRIMARY KEY, url TEXT UNIQUE, kind TEXT,"
    " created_at TEXT, body TEXT);"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('schema_version', '1');";

static int check_version(sqlite3 *db, struct pl_err *err)
{
    sqlite3_stmt *st = NULL;
    const char *sql = "SELECT value FROM meta WHERE key='schema_version'";
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return dberr(err, db, rc, sql);
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
    if ((rc = exec_sql(db, schema_sql, err)) != 0)
        goto fail;
    if (be->geo) {
        rc = exec_sql(db,
                      "CREATE TABLE IF NOT EXISTS geo(tenant TEXT NOT NULL, id TEXT NOT NULL,"
                      " attr TEXT NOT NULL, dataset TEXT);"
                      "CREATE INDEX IF NOT EXISTS geo_by_entity ON geo(tenant, id);",
                      err);
        if (rc)
            goto fail;
        rc = has_row(db,
                     "SELECT 1 FROM geometry_columns WHERE f_table_name='geo' AND "
                     "f_geometry_column='geom'",
                     err);
        if (rc < 0)
            goto fail;
        if (rc == 0) {
            rc = has_row(db,
                         "SELECT 1 WHERE AddGeometryColumn('geo','geom',4326,'GEOMETRY','XY') = 1"
                         " AND CreateSpatialIndex('geo','geom') = 1",
                         err);
            if (rc < 0)
                goto fail;
            if (rc == 0) {
                rc = pl_err_set(err, PL_EINTERNAL, "cannot add the geometry column to geo");
                goto fail;
            }
        }
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
    return rc == SQLITE_OK ? 0 : dberr(err, be->db, rc, "load revision counter");
}

static int sq_open(const struct pl_store_config *cfg, const char *location, void **out,
                   struct pl_err *err)
{
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
    if (!be->path) {
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
                       "SELECT DISTINCT tenant FROM entity WHERE tenant <> ''",
                       err)) != 0)
        goto fail;
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

static struct rconn *reader_get(struct sqlite_be *be, struct pl_err *err)
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
        dberr(err, c->db, rc, "open read connection");
        sqlite3_close(c->db);
        free(c);
        return NULL;
    }
    set_pragmas(c->db);
    /* Geometry functions are there for the query code that will run on readers. */
    if (be->geo)
        load_spatialite(c->db, 0);
    return c;
}

static void reader_put(struct sqlite_be *be, struct rconn *c)
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
            dberr(err, c->db, rc, rsql[k]);
            c->st[k] = NULL;
        }
    }
    return c->st[k];
}

/* The one entity read of the reader side: the row of (tenant, id) gives, as asked, the parsed
 * body (*out, NEW ref), a malloc'd copy of its text (*text, *len) and its revision (*rev). */
static int read_entity(struct sqlite_be *be, const char *tenant, const char *id, json_t **out,
                       char **text, size_t *len, int64_t *rev, struct pl_err *err)
{
    struct rconn *c = reader_get(be, err);
    if (!c)
        return err ? err->code : PL_EINTERNAL;
    int out_rc;
    sqlite3_stmt *st = rstmt(c, R_GET_REV, err);
    if (!st) {
        out_rc = err ? err->code : PL_EINTERNAL;
        goto done;
    }
    bind_text(st, 1, tenant);
    bind_text(st, 2, id);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_DONE) {
        out_rc = pl_err_set(err, PL_ENOTFOUND, "Entity not found");
    } else if (rc != SQLITE_ROW) {
        out_rc = dberr(err, c->db, rc, "entity read");
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
    reader_put(be, c);
    return out_rc;
}

/* Runs reader statement `k` bound to `tenant`; *has_row says whether it gave a row and *val is
 * that row's first column. */
static int read_int(struct sqlite_be *be, enum rst k, const char *tenant, int *has_row,
                    int64_t *val, const char *what, struct pl_err *err)
{
    struct rconn *c = reader_get(be, err);
    if (!c)
        return err ? err->code : PL_EINTERNAL;
    int out_rc = 0;
    sqlite3_stmt *st = rstmt(c, k, err);
    if (!st) {
        out_rc = err ? err->code : PL_EINTERNAL;
    } else {
        bind_text(st, 1, tenant);
        int rc = sqlite3_step(st);
        *has_row = rc == SQLITE_ROW;
        if (rc == SQLITE_ROW)
            *val = sqlite3_column_int64(st, 0);
        else if (rc != SQLITE_DONE)
            out_rc = dberr(err, c->db, rc, what);
    }
    reader_put(be, c);
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
static int sq_entity_get_raw(void *p, const char *tenant, const char *id, char **body,
                             size_t *len, struct pl_err *err)
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
    struct rconn *c = reader_get(be, err);
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
        out_rc = dberr(err, c->db, rc, "ctx_load");
done:
    reader_put(be, c);
    if (out_rc == 0)
        *out = arr;
    else
        json_decref(arr);
    return out_rc;
}

/* ------------------------------------------------------------------------------------------
 * Writer side (writer thread only)
 * ---------------------------------------------------------------------------------------- */

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
}

static int sq_sp_begin(void *p, struct pl_err *err)
{
    struct sqlite_be *be = p;
    int rc = tx_alive(be, err);
    return rc ? rc : wrun(be, W_SP, err);
}

static int sq_sp_release(void *p, struct pl_err *err)
{
    struct sqlite_be *be = p;
    int rc = tx_alive(be, err);
    return rc ? rc : wrun(be, W_SP_RELEASE, err);
}

static void sq_sp_rollback(void *p)
{
    struct sqlite_be *be = p;
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
    bind_text(st, 1, tenant);
    bind_text(st, 2, id);
    int rc = sqlite3_step(st), out_rc;
    if (rc == SQLITE_ROW)
        out_rc = parse_body(st, 0, tenant, id, out, err);
    else if (rc == SQLITE_DONE)
        out_rc = pl_err_set(err, PL_ENOTFOUND, "Entity not found");
    else
        out_rc = dberr(err, be->db, rc, "w_entity_get");
    done_stmt(st);
    return out_rc;
}

/* Runs a (tenant, id) statement: the entity_type / geo row deletions. */
static int run_tid(struct sqlite_be *be, enum wst k, const char *tenant, const char *id,
                   struct pl_err *err)
{
    sqlite3_stmt *st = wstmt(be, k, err);
    if (!st)
        return err ? err->code : PL_EINTERNAL;
    bind_text(st, 1, tenant);
    bind_text(st, 2, id);
    return step_done(be, st, wsql[k], err);
}

static int put_types(struct sqlite_be *be, const char *tenant, const char *id, const json_t *types,
                     struct pl_err *err)
{
    sqlite3_stmt *st = wstmt(be, W_TYPES_INS, err);
    if (!st)
        return err ? err->code : PL_EINTERNAL;
    size_t i;
    json_t *t;
    json_array_foreach(types, i, t)
    {
        if (!json_is_string(t))
            continue;
        bind_text(st, 1, tenant);
        bind_text(st, 2, id);
        bind_text(st, 3, json_string_value(t));
        int rc = step_done(be, st, wsql[W_TYPES_INS], err);
        if (rc)
            return rc;
    }
    return 0;
}

/* Inserts one geo row. A geometry SpatiaLite rejects is skipped; only errors that endanger the
 * transaction (no memory, I/O, disk full) fail the write. */
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
static int put_geo_one(struct sqlite_be *be, const char *tenant, const char *id,
                       const char *attr, const json_t *inst, struct pl_err *err)
{
    const json_t *value = json_object_get(inst, "value");
    double x, y;
    int is_point = point_xy(value, &x, &y);
    sqlite3_stmt *st = wstmt(be, is_point ? W_GEO_INS_POINT : W_GEO_INS, err);
    if (!st)
        return err ? err->code : PL_EINTERNAL;
    char *gj = NULL;
    bind_text(st, 1, tenant);
    bind_text(st, 2, id);
    bind_text(st, 3, attr);
    bind_text(st, 4, json_string_value(json_object_get(inst, "datasetId")));
    if (is_point) {
        sqlite3_bind_double(st, 5, x);
        sqlite3_bind_double(st, 6, y);
    } else {
        gj = json_dumps(value, JSON_COMPACT);
        if (!gj) {
            done_stmt(st);
            return pl_err_set(err, PL_ENOMEM, "out of memory");
        }
        bind_text(st, 5, gj);
    }
    int rc = sqlite3_step(st), out = 0;
    if (rc == SQLITE_DONE && sqlite3_changes(be->db) == 0) {
        pl_log_debug("store/sqlite: entity '%s' attribute '%s': geometry not indexed", id, attr);
    } else if (rc != SQLITE_DONE) {
        int prim = rc & 0xff;
        if (prim == SQLITE_NOMEM || prim == SQLITE_IOERR || prim == SQLITE_FULL ||
            prim == SQLITE_BUSY || prim == SQLITE_CORRUPT)
            out = dberr(err, be->db, rc, "geo insert");
        else
            pl_log_debug("store/sqlite: entity '%s' attribute '%s': geometry skipped: %s", id, attr,
                         sqlite3_errmsg(be->db));
    }
    done_stmt(st);
    free(gj);
    return out;
}

static int put_geo(struct sqlite_be *be, const char *tenant, const char *id, const json_t *entity,
                   struct pl_err *err)
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
            int rc = put_geo_one(be, tenant, id, name, inst, err);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* Writes the entity row (insert or update, raising the revision) and the side rows that
 * changed. `body` is the serialized entity. */
static int write_row(struct sqlite_be *be, const char *tenant, const char *id,
                     const json_t *entity, const char *body, size_t body_len, const char *ztypes,
                     int exists, int types_changed, int geo_changed, struct pl_err *err)
{
    int rc = 0;
    enum wst k = exists ? W_UPDATE : W_INSERT;
    sqlite3_stmt *st = wstmt(be, k, err);
    if (!st)
        return err ? err->code : PL_EINTERNAL;
    bind_text(st, 1, tenant);
    bind_text(st, 2, id);
    bind_text(st, 3, ztypes);
    bind_text(st, 4, json_string_value(json_object_get(entity, "createdAt")));
    bind_text(st, 5, json_string_value(json_object_get(entity, "modifiedAt")));
    sqlite3_bind_text(st, 6, body, (int)body_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, ++be->last_rev);
    int src = sqlite3_step(st);
    if (src == SQLITE_DONE) {
        if (exists && sqlite3_changes(be->db) == 0)
            rc = pl_err_set(err, PL_ENOTFOUND, "Entity not found");
    } else if ((src & 0xff) == SQLITE_CONSTRAINT && !exists) {
        rc = pl_err_set(err, PL_EALREADYEXISTS, "Entity already exists");
    } else {
        rc = dberr(err, be->db, src, exists ? "entity update" : "entity insert");
    }
    done_stmt(st);
    if (rc)
        return rc;
    if (!exists && *tenant) {
        sqlite3_stmt *ts = wstmt(be, W_TENANT_INS, err);
        if (!ts)
            return err ? err->code : PL_EINTERNAL;
        bind_text(ts, 1, tenant);
        if ((rc = step_done(be, ts, wsql[W_TENANT_INS], err)) != 0)
            return rc;
    }
    const json_t *types = json_object_get(entity, "type");
    if (types_changed) {
        if (exists && (rc = run_tid(be, W_TYPES_DEL, tenant, id, err)) != 0)
            return rc;
        if (json_is_array(types) && (rc = put_types(be, tenant, id, types, err)) != 0)
            return rc;
    }
    if (be->geo && geo_changed) {
        if (exists && (rc = run_tid(be, W_GEO_DEL, tenant, id, err)) != 0)
            return rc;
        rc = put_geo(be, tenant, id, entity, err);
    }
    return rc;
}

/* A put that knows nothing of what changed: every side row is (re)written. The store uses it to
 * insert; updates go through sq_w_entity_put_prepared, which skips unchanged side rows. */
static int sq_w_entity_put(void *p, const char *tenant, const char *id, const json_t *entity,
                           int exists, struct pl_err *err)
{
    struct sqlite_be *be = p;
    size_t body_len = 0;
    char *body = pl_store__serialize(entity, &body_len);
    char *ztypes = pl_store__types_text(entity);
    int rc;
    if (!body || !ztypes)
        rc = pl_err_set(err, PL_ENOMEM, "out of memory");
    else
        rc = write_row(be, tenant, id, entity, body, body_len, ztypes, exists, 1, 1, err);
    free(body);
    free(ztypes);
    return rc;
}

static int sq_w_entity_put_prepared(void *p, const char *tenant, const char *id,
                                    const json_t *entity, const char *text, size_t len,
                                    unsigned changed, struct pl_err *err)
{
    struct sqlite_be *be = p;
    char *ztypes = pl_store__types_text(entity);
    if (!ztypes)
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    int rc = write_row(be, tenant, id, entity, text, len, ztypes, 1,
                       (changed & PL_STORE_CHANGED_TYPES) != 0,
                       (changed & PL_STORE_CHANGED_GEO) != 0, err);
    free(ztypes);
    return rc;
}

static int sq_w_entity_rev(void *p, const char *tenant, const char *id, int64_t *rev,
                           struct pl_err *err)
{
    struct sqlite_be *be = p;
    sqlite3_stmt *st = wstmt(be, W_REV, err);
    if (!st)
        return err ? err->code : PL_EINTERNAL;
    bind_text(st, 1, tenant);
    bind_text(st, 2, id);
    int rc = sqlite3_step(st), out;
    if (rc == SQLITE_ROW) {
        *rev = sqlite3_column_int64(st, 0);
        out = 0;
    } else if (rc == SQLITE_DONE) {
        out = pl_err_set(err, PL_ENOTFOUND, "Entity not found");
    } else {
        out = dberr(err, be->db, rc, "w_entity_rev");
    }
    done_stmt(st);
    return out;
}


static int sq_w_entity_delete(void *p, const char *tenant, const char *id, struct pl_err *err)
{
    struct sqlite_be *be = p;
    int rc = run_tid(be, W_DELETE, tenant, id, err);
    if (rc)
        return rc;
    if (sqlite3_changes(be->db) == 0)
        return pl_err_set(err, PL_ENOTFOUND, "Entity not found");
    if ((rc = run_tid(be, W_TYPES_DEL, tenant, id, err)) != 0)
        return rc;
    if (be->geo)
        rc = run_tid(be, W_GEO_DEL, tenant, id, err);
    return rc;
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
    bind_text(st, 1, json_string_value(json_object_get(rec, "id")));
    bind_text(st, 2, json_string_value(json_object_get(rec, "url")));
    bind_text(st, 3, json_string_value(json_object_get(rec, "kind")));
    bind_text(st, 4, json_string_value(json_object_get(rec, "createdAt")));
    bind_text(st, 5, body);
    int rc = sqlite3_step(st), out = 0;
    if ((rc & 0xff) == SQLITE_CONSTRAINT)
        out = pl_err_set(err, PL_EALREADYEXISTS, "another @context record has url '%s'",
                         json_string_value(json_object_get(rec, "url")));
    else if (rc != SQLITE_DONE)
        out = dberr(err, be->db, rc, "context put");
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
    bind_text(st, 1, id);
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
    return be->geo ? PL_STORE_CAP_GEO_NATIVE : 0u;
}

const struct pl_store_ops pl_store_sqlite_ops = {
    .version = PL_STORE_OPS_VERSION,
    .name = "sqlite",
    .caps = PL_STORE_CAP_GEO_NATIVE,
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
    .w_entity_put_prepared = sq_w_entity_put_prepared,
    .tenant_exists = sq_tenant_exists,
};
