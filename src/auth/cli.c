/* SPDX-License-Identifier: Apache-2.0 */
/* cli.c — `polis key ...` and `polis user ...` (cli.h). */
#include "auth/cli.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app/config.h"
#include "auth/apikey.h"
#include "auth/user.h"
#include "base/log.h"
#include "base/timeutil.h"
#include "store/store.h"

static void usage(FILE *f)
{
    fprintf(f,
            "Usage:\n"
            "  polis key add --role ROLE [--tenant T] [--types LIST] [--entities LIST]\n"
            "                [--expires DURATION] [--data DIR | --store URL]\n"
            "  polis key revoke ID [--data DIR | --store URL]\n"
            "  polis key list [--data DIR | --store URL]\n"
            "  polis user add NAME --role ROLE [--tenant T] [--data DIR | --store URL]\n"
            "  polis user del NAME [--data DIR | --store URL]\n"
            "\n"
            "ROLE: device, enterprise, agency, operator or admin. T: a tenant name, or '*' for\n"
            "every tenant (default: the default tenant; every tenant for an admin).\n"
            "LIST: comma-separated entity types (--types) or entity ids (--entities: the\n"
            "entities a device key may update).\n"
            "DURATION: an ISO 8601 duration (P30D, PT1H, P1DT12H, P2W; no years or months) or\n"
            "a plain number of seconds. Without --expires a key does not expire.\n"
            "`key add` prints the key alone on the first line of standard output: it is shown\n"
            "only this once (the store keeps a hash). `user add` reads the password as one line\n"
            "of standard input.\n"
            "The store is opened like the server's (--data, --store, POLIS_DATA, POLIS_STORE)\n"
            "and may be in use by a running server: keys work at once; a revocation reaches a\n"
            "running server within %d s (its credential cache).\n",
            5);
}

int pl_auth_cli_is(const char *arg1)
{
    return arg1 && (strcmp(arg1, "key") == 0 || strcmp(arg1, "user") == 0);
}

/* The command's own options and positional arguments. */
struct cli {
    const char *role, *tenant, *types, *entities, *expires;
    const char *pos[4];
    int n_pos;
    char *cfg_argv[16]; /* options passed on to pl_config_load (store location, log level) */
    int cfg_argc;
};

static int parse(struct cli *c, int argc, char **argv)
{
    static const char *const store_opts[] = {"--data", "--store", "--log-level", NULL};
    c->cfg_argv[c->cfg_argc++] = argv[0];
    for (int a = 3; a < argc; a++) {
        const char *s = argv[a];
        const char **mine = strcmp(s, "--role") == 0       ? &c->role
                            : strcmp(s, "--tenant") == 0   ? &c->tenant
                            : strcmp(s, "--types") == 0    ? &c->types
                            : strcmp(s, "--entities") == 0 ? &c->entities
                            : strcmp(s, "--expires") == 0  ? &c->expires
                                                           : NULL;
        int is_store = 0;
        for (int i = 0; store_opts[i]; i++)
            is_store |= strcmp(s, store_opts[i]) == 0;
        if (mine || is_store) {
            if (a + 1 >= argc) {
                fprintf(stderr, "polis: option %s needs a value\n", s);
                return -1;
            }
            if (mine) {
                *mine = argv[++a];
            } else if (c->cfg_argc + 2 < (int)(sizeof c->cfg_argv / sizeof c->cfg_argv[0])) {
                c->cfg_argv[c->cfg_argc++] = argv[a];
                c->cfg_argv[c->cfg_argc++] = argv[++a];
            }
            continue;
        }
        if (strcmp(s, "--sync-full") == 0) {
            if (c->cfg_argc + 1 < (int)(sizeof c->cfg_argv / sizeof c->cfg_argv[0]))
                c->cfg_argv[c->cfg_argc++] = argv[a];
            continue;
        }
        if (strncmp(s, "--", 2) == 0 || c->n_pos == 4) {
            fprintf(stderr, "polis: unexpected argument '%s' (see polis %s --help)\n", s,
                    argv[1]);
            return -1;
        }
        c->pos[c->n_pos++] = s;
    }
    c->cfg_argv[c->cfg_argc] = NULL;
    return 0;
}

/* Splits a comma-separated list into a NEW array of pointers into a NEW copy (*buf). */
static const char **split(const char *list, size_t *n, char **buf)
{
    *n = 0;
    *buf = NULL;
    if (!list || !*list)
        return NULL;
    char *copy = strdup(list);
    size_t cap = 1;
    for (const char *p = list; *p; p++)
        cap += *p == ',';
    const char **v = copy ? calloc(cap, sizeof *v) : NULL;
    if (!v) {
        free(copy);
        return NULL;
    }
    char *p = copy;
    while (p) {
        char *comma = strchr(p, ',');
        if (comma)
            *comma = '\0';
        v[(*n)++] = p;
        p = comma ? comma + 1 : NULL;
    }
    *buf = copy;
    return v;
}

static int open_store(struct cli *c, struct pl_store **s)
{
    struct pl_config cfg;
    if (pl_config_load(&cfg, c->cfg_argc, c->cfg_argv) != PL_CONFIG_RUN)
        return 2;
    enum pl_log_level lvl;
    if (pl_log_level_parse(cfg.log_level, &lvl) == 0)
        pl_log_set_level(lvl < PL_LOG_WARN ? lvl : PL_LOG_WARN);
    struct pl_store_config scfg = {cfg.store_url, cfg.sync_full, 0, NULL};
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_store_open(&scfg, s, &err) != 0) {
        fprintf(stderr, "polis: store %s: %s\n", cfg.store_url, err.detail);
        return 1;
    }
    return 0;
}

static int key_add(struct cli *c, struct pl_store *s)
{
    struct pl_apikey_spec spec;
    memset(&spec, 0, sizeof spec);
    if (!c->role || pl_role_parse(c->role, &spec.role) != 0 || spec.role == PL_ROLE_PUBLIC) {
        fprintf(stderr, "polis: key add needs --role device|enterprise|agency|operator|admin\n");
        return 2;
    }
    if (c->expires) {
        int64_t ms;
        if (pl_auth_duration_parse(c->expires, &ms) != 0) {
            fprintf(stderr, "polis: --expires '%s' is neither an ISO 8601 duration (P30D, "
                            "PT1H) nor a number of seconds\n",
                    c->expires);
            return 2;
        }
        spec.expires_ms = pl_time_now_ms() + ms;
    }
    spec.tenant = c->tenant;
    char *tbuf, *ebuf;
    const char **types = split(c->types, &spec.n_types, &tbuf);
    const char **ents = split(c->entities, &spec.n_entities, &ebuf);
    spec.types = types;
    spec.entities = ents;
    char key[PL_APIKEY_LEN + 1];
    json_t *rec = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    int rc = pl_apikey_create(s, &spec, key, &rec, &err);
    free(types);
    free(ents);
    free(tbuf);
    free(ebuf);
    if (rc) {
        fprintf(stderr, "polis: key add: %s\n", err.detail);
        return rc == PL_EBADREQUESTDATA ? 2 : 1;
    }
    printf("%s\n", key);
    fflush(stdout);
    sodium_memzero(key, sizeof key);
    char *desc = json_dumps(rec, JSON_COMPACT);
    fprintf(stderr, "polis: created API key %s (shown once above): %s\n",
            json_string_value(json_object_get(rec, "id")), desc ? desc : "");
    free(desc);
    json_decref(rec);
    return 0;
}

static int key_revoke(struct cli *c, struct pl_store *s)
{
    if (c->n_pos != 1) {
        fprintf(stderr, "polis: usage: polis key revoke ID\n");
        return 2;
    }
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_apikey_revoke(s, c->pos[0], &err) != 0) {
        fprintf(stderr, "polis: key revoke: %s\n", err.detail);
        return 1;
    }
    fprintf(stderr, "polis: revoked API key %s (a running server refuses it within %d s)\n",
            c->pos[0], 5);
    return 0;
}

static int key_list(struct pl_store *s)
{
    json_t *all = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_apikey_list(s, &all, &err) != 0) {
        fprintf(stderr, "polis: key list: %s\n", err.detail);
        return 1;
    }
    size_t i;
    json_t *rec;
    json_array_foreach(all, i, rec)
    {
        char *line = json_dumps(rec, JSON_COMPACT);
        printf("%s\n", line ? line : "");
        free(line);
    }
    json_decref(all);
    return 0;
}

int pl_auth_cli(int argc, char **argv)
{
    const char *what = argv[1];
    const char *verb = argc > 2 ? argv[2] : "";
    if (strcmp(verb, "--help") == 0 || strcmp(verb, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    int is_key = strcmp(what, "key") == 0;
    int known = is_key ? (strcmp(verb, "add") == 0 || strcmp(verb, "revoke") == 0 ||
                          strcmp(verb, "list") == 0)
                       : (strcmp(verb, "add") == 0 || strcmp(verb, "del") == 0);
    struct cli c;
    memset(&c, 0, sizeof c);
    if (!known || parse(&c, argc, argv) != 0) {
        if (!known)
            fprintf(stderr, "polis: unknown command '%s %s'\n", what, verb);
        usage(stderr);
        return 2;
    }
    if (sodium_init() < 0) {
        fprintf(stderr, "polis: libsodium did not initialize\n");
        return 1;
    }
    /* A user's password is read (and hashed) before the store is opened: no store lock or
     * transaction waits on the terminal. */
    struct pl_user_new un;
    memset(&un, 0, sizeof un);
    if (!is_key && strcmp(verb, "add") == 0) {
        int rc = pl_user_cli_prepare(c.pos[0], c.role, c.tenant, c.n_pos, stdin, &un);
        if (rc)
            return rc;
    }
    struct pl_store *s = NULL;
    int rc = open_store(&c, &s);
    if (rc) {
        pl_user_new_clear(&un);
        return rc;
    }
    if (is_key)
        rc = strcmp(verb, "add") == 0      ? key_add(&c, s)
             : strcmp(verb, "revoke") == 0 ? key_revoke(&c, s)
                                           : key_list(s);
    else if (strcmp(verb, "add") == 0)
        rc = pl_user_cli_add(s, &un);
    else
        rc = c.n_pos == 1 ? pl_user_cli_del(s, c.pos[0]) : 2;
    pl_user_new_clear(&un);
    pl_store_close(s);
    return rc;
}
