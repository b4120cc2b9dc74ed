/* SPDX-License-Identifier: Apache-2.0 */
#include "app/demo.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/read.h"
#include "base/log.h"
#include "ctxreg/ctxreg.h"
#include "ngsild/entity.h"
#include "store/store.h"

static int apply_create(void *ud, json_t *cur, json_t **next, struct pl_err *err)
{
    (void)cur;
    *next = pl_entity_instantiate(ud);
    return *next ? 0 : pl_err_set(err, PL_ENOMEM, "out of memory");
}

/* Creates one entity given with its @context. Returns 0 or an error with words. */
static int create_one(struct pl_app *app, json_t *doc, struct pl_err *err)
{
    if (!json_is_object(doc))
        return pl_err_set(err, PL_EBADREQUESTDATA, "not an object");
    json_t *ctxv = json_incref(json_object_get(doc, "@context"));
    json_t *body = json_deep_copy(doc);
    json_object_del(body, "@context");
    struct pl_ctx *ctx = NULL;
    json_t *ent = NULL;
    int rc = pl_ctxreg_resolve(app->ctxreg, ctxv, &ctx, err);
    if (rc == 0)
        rc = pl_entity_parse(ctx, body, PL_PARSE_ENTITY, 0, &app->limits, &ent, err);
    if (rc == 0) {
        struct pl_store_write w;
        memset(&w, 0, sizeof w);
        w.tenant = "";
        w.id = json_string_value(json_object_get(ent, "id"));
        w.flags = PL_WRITE_MUST_NOT_EXIST;
        w.apply = apply_create;
        w.ud = ent;
        rc = pl_store_write_sync(app->store, &w);
        if (rc != 0)
            *err = w.err;
        json_decref(w.result);
    }
    json_decref(ent);
    pl_ctx_unref(ctx);
    json_decref(body);
    json_decref(ctxv);
    return rc;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

static int jsonld_file(const struct dirent *d)
{
    size_t n = strlen(d->d_name);
    return n > 7 && strcmp(d->d_name + n - 7, ".jsonld") == 0;
}

/* The demo city's read policy (DIR/policy.json: its open-data types; issue 12), set for the
 * default tenant unless it has one already (an admin's choice stays). */
static void load_policy(struct pl_app *app, const char *dir)
{
    if (!app->read_policies)
        return;
    struct pl_read_policy *cur = pl_read_policies_get(app->read_policies, "");
    pl_read_policy_unref(cur);
    if (cur)
        return;
    char path[2048];
    snprintf(path, sizeof path, "%s/policy.json", dir);
    json_error_t je;
    json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (!doc)
        return; /* no policy file: the demo stays closed to the public */
    struct pl_err e;
    pl_err_clear(&e);
    if (pl_read_policies_put(app->read_policies, "", doc, &e) != 0)
        pl_log_warn("demo: %s: %s", path, e.detail);
    else
        pl_log_info("demo: read policy of the default tenant set from %s", path);
    json_decref(doc);
}

int pl_demo_load(struct pl_app *app, const char *dir, int *loaded, struct pl_err *err)
{
    load_policy(app, dir);
    *loaded = 0;
    int64_t count = 0;
    if (pl_store_entity_count(app->store, "", &count, err) != 0)
        return err->code;
    if (count > 0) {
        pl_log_info("demo: store holds %lld entities, not loading the demo city",
                    (long long)count);
        return 0;
    }
    struct dirent **list;
    int n = scandir(dir, &list, jsonld_file, by_name);
    if (n < 0)
        return pl_err_set(err, PL_EINTERNAL, "cannot read demo directory '%s'", dir);
    for (int i = 0; i < n; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
        free(list[i]);
        json_error_t je;
        json_t *doc = json_load_file(path, 0, &je);
        if (!doc) {
            pl_log_warn("demo: %s: %s (line %d)", path, je.text, je.line);
            continue;
        }
        json_t *arr = json_is_array(doc) ? json_incref(doc) : json_pack("[O]", doc);
        size_t k;
        json_t *e;
        json_array_foreach(arr, k, e)
        {
            struct pl_err e2;
            pl_err_clear(&e2);
            if (create_one(app, e, &e2) == 0)
                (*loaded)++;
            else
                pl_log_warn("demo: %s[%zu]: %s: %s", path, k, pl_err_type_suffix(e2.code),
                            e2.detail);
        }
        json_decref(arr);
        json_decref(doc);
    }
    free(list);
    pl_log_info("demo: loaded %d entities from %s", *loaded, dir);
    return 0;
}
