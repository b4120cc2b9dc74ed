/* SPDX-License-Identifier: Apache-2.0 */
/*
 * cli.h — the credential commands of the polis binary (main.c dispatches to them before the
 * server's own configuration when argv[1] is "key" or "user"):
 *
 *   polis key add --role ROLE [--tenant T] [--types LIST] [--entities LIST] [--expires DURATION]
 *   polis key revoke ID
 *   polis key list
 *   polis user add NAME --role ROLE [--tenant T]      (password: one line on standard input)
 *   polis user del NAME
 *
 * each also taking --data DIR / --store URL (and POLIS_DATA / POLIS_STORE) to open the store
 * exactly as the server does; they work while a server runs on the same store (SQLite WAL).
 */
#ifndef PL_AUTH_CLI_H
#define PL_AUTH_CLI_H

/* 1 when argv[1] names a credential command. */
int pl_auth_cli_is(const char *arg1);
/* Runs it; returns the process exit code (0 done, 1 failed, 2 usage). */
int pl_auth_cli(int argc, char **argv);

#endif
