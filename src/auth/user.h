/* SPDX-License-Identifier: Apache-2.0 */
/*
 * user.h — users with a password (issue 12): created by an admin (`polis user add`, POST
 * /polis/v1/users), the password kept only as an Argon2id hash (libsodium crypto_pwhash_str,
 * PL_USER_PWHASH_OPS / _MEM below), a role and a tenant. Deleting a user also deletes its
 * refresh tokens and sessions.
 *
 * Record under kind "user", id = the name: {"name","hash","role","tenant","createdAt"}.
 */
#ifndef PL_AUTH_USER_H
#define PL_AUTH_USER_H

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>

#include "auth/auth.h"
#include "base/err.h"

struct pl_store;

#define PL_CRED_KIND_USER "user"
#define PL_USER_NAME_MAX  64
#define PL_PASSWORD_MAX   1024

/* Argon2id cost: libsodium's "interactive" limits (2 passes, 64 MiB): about 0.1 s per hash on
 * a server core, so a log-in costs that much CPU and memory, on purpose. */
#define PL_USER_PWHASH_OPS crypto_pwhash_OPSLIMIT_INTERACTIVE
#define PL_USER_PWHASH_MEM crypto_pwhash_MEMLIMIT_INTERACTIVE

/* 1 when `name` is a user name: 1..64 of A-Z a-z 0-9 . _ @ - */
int pl_user_name_valid(const char *name);

/* A user about to be created, its password already hashed. */
struct pl_user_new {
    char name[PL_USER_NAME_MAX + 1];
    enum pl_role role;
    char tenant[PL_TENANT_MAX + 2]; /* "" default tenant, "*" all */
    char hash[crypto_pwhash_STRBYTES];
};

/* Validates the fields and hashes `password` (slow: Argon2id) into *u. 0, PL_EBADREQUESTDATA
 * (with words), or PL_ENOMEM (the hash could not get its memory). */
int pl_user_prepare(const char *name, const char *password, const char *role, const char *tenant,
                    struct pl_user_new *u, struct pl_err *err);
void pl_user_new_clear(struct pl_user_new *u);

/* Stores *u; PL_EALREADYEXISTS when the name is taken. *rec (may be NULL): NEW public record. */
int pl_user_store(struct pl_store *s, const struct pl_user_new *u, json_t **rec,
                  struct pl_err *err);
/* Deletes user `name` and its refresh tokens and sessions. PL_ENOTFOUND when unknown. */
int pl_user_delete(struct pl_store *s, const char *name, struct pl_err *err);
/* Every user without its hash (NEW array). */
int pl_user_list(struct pl_store *s, json_t **out, struct pl_err *err);

/*
 * Checks a name and password (slow: Argon2id). An unknown user costs the same hash as a known
 * one (a dummy hash is verified), so the answer and its time do not tell whether the user
 * exists. 0 and *out (NEW principal, PL_CRED_TOKEN, name = the user), PL_EUNAUTHORIZED, or a
 * store error.
 */
int pl_user_verify(struct pl_store *s, const char *name, const char *password,
                   struct pl_principal **out, struct pl_err *err);
/* The principal of an existing user (refresh grant): 0, PL_EUNAUTHORIZED (gone), store error. */
int pl_user_principal(struct pl_store *s, const char *name, struct pl_principal **out,
                      struct pl_err *err);

/* CLI helpers (auth/cli.c): exit codes. prepare reads one line of password from `in`. */
int pl_user_cli_prepare(const char *name, const char *role, const char *tenant, int n_pos,
                        FILE *in, struct pl_user_new *u);
int pl_user_cli_add(struct pl_store *s, const struct pl_user_new *u);
int pl_user_cli_del(struct pl_store *s, const char *name);

#endif
