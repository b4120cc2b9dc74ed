/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sqlite_ingest.c — the raw-SQLite reference for the load phase of bench/query: the same N
 * entities as loader.c (gen.h, same bytes) inserted into a plain table
 *     entity(id TEXT PRIMARY KEY, type TEXT NOT NULL, body TEXT NOT NULL)
 * of a fresh database in WAL mode, synchronous=NORMAL, one prepared INSERT, BEGIN/COMMIT around
 * every BATCH rows, one thread. No JSON parsing, no expansion, no indexes besides the primary
 * key: what SQLite alone costs for the rows, the floor under any SQLite-backed broker.
 *
 * Usage: sqlite_ingest DBFILE N BATCH
 * Output (one line, for the script): "inserted=N seconds=S rate=R bytes_per_entity=B"
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "gen.h"

static void check(sqlite3 *db, int rc, const char *what)
{
    if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fprintf(stderr, "sqlite_ingest: %s: %s\n", what, sqlite3_errmsg(db));
        exit(1);
    }
}

static void exec(sqlite3 *db, const char *sql)
{
    check(db, sqlite3_exec(db, sql, NULL, NULL, NULL), sql);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s DBFILE N BATCH\n", argv[0]);
        return 2;
    }
    long n = strtol(argv[2], NULL, 10), batch = strtol(argv[3], NULL, 10);
    if (n < 1 || batch < 1)
        return 2;
    sqlite3 *db;
    if (sqlite3_open(argv[1], &db) != SQLITE_OK) {
        fprintf(stderr, "sqlite_ingest: cannot open %s\n", argv[1]);
        return 1;
    }
    exec(db, "PRAGMA journal_mode=WAL");
    exec(db, "PRAGMA synchronous=NORMAL");
    exec(db, "CREATE TABLE entity(id TEXT PRIMARY KEY, type TEXT NOT NULL, body TEXT NOT NULL)");
    sqlite3_stmt *ins;
    check(db,
          sqlite3_prepare_v2(db, "INSERT INTO entity(id, type, body) VALUES (?1, ?2, ?3)", -1, &ins,
                             NULL),
          "prepare");
    char body[4096], id[96];
    long bytes = 0;
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (long i = 0; i < n; i++) {
        if (i % batch == 0)
            exec(db, "BEGIN");
        int blen = gen_entity(body, sizeof body, i);
        int ilen = snprintf(id, sizeof id, "urn:ngsi-ld:%s:%ld", gen_type(i), i / 5);
        bytes += blen;
        sqlite3_bind_text(ins, 1, id, ilen, SQLITE_STATIC);
        sqlite3_bind_text(ins, 2, gen_type(i), -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, body, blen, SQLITE_STATIC);
        check(db, sqlite3_step(ins), "insert");
        sqlite3_reset(ins);
        if (i % batch == batch - 1 || i == n - 1)
            exec(db, "COMMIT");
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    sqlite3_finalize(ins);
    sqlite3_close(db);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("inserted=%ld seconds=%.2f rate=%.0f bytes_per_entity=%ld\n", n, s, (double)n / s,
           bytes / n);
    return 0;
}
