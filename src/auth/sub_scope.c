/* SPDX-License-Identifier: Apache-2.0 */
/* sub_scope.c — the read scope of subscription owners (sub_scope.h). */
#include "auth/sub_scope.h"

#include <stdlib.h>
#include <string.h>

#include "app/app.h"
#include "auth/apikey.h"
#include "auth/read.h"
#include "auth/user.h"
#include "base/hmap.h"
#include "base/timeutil.h"
#include "notify/notifier.h"
#include "store/store.h"

#define LIVE_MAX 4096 /* owners remembered; beyond, the cache starts over */

struct live {
    int ok;
    int64_t checked_ms;
};

struct pl_sub_scope {
    const struct pl_app *app; /* its store and the tenants' read policies (borrowed) */
    struct pl_hmap *live; /* owner name -> struct live */
};

int pl_sub_scope_new(const struct pl_app *app, struct pl_sub_scope **out, struct pl_err *err)
{
    struct pl_sub_scope *sc = calloc(1, sizeof *sc);
    if (sc)
        sc->live = pl_hmap_new(free);
    if (!sc || !sc->live) {
        free(sc);
        return pl_err_set(err, PL_ENOMEM, "out of memory");
    }
    sc->app = app;
    *out = sc;
    return 0;
}

void pl_sub_scope_free(struct pl_sub_scope *sc)
{
    if (!sc)
        return;
    pl_hmap_free(sc->live);
    free(sc);
}

/* Whether the owner's credential still works: an API key that exists, is not revoked and has
 * not expired; a user that exists. 1 for a JWT subject (the identity provider is not asked) and
 * when the store cannot tell now (an error: `prev`, the last answer). */
static int credential_live(struct pl_sub_scope *sc, const struct pl_principal *owner, int prev)
{
    struct pl_err err;
    pl_err_clear(&err);
    json_t *rec = NULL;
    int rc;
    if (owner->cred == PL_CRED_APIKEY && strncmp(owner->name, "key:", 4) == 0) {
        rc = pl_store_cred_get(sc->app->store, PL_CRED_KIND_APIKEY, owner->name + 4, &rec, &err);
        if (rc == 0) {
            const char *exp_s = json_string_value(json_object_get(rec, "expiresAt"));
            int64_t exp = INT64_MAX;
            int ok = !json_is_true(json_object_get(rec, "revoked")) &&
                     (!exp_s || pl_time_parse(exp_s, &exp) == 0) && exp > pl_time_now_ms();
            json_decref(rec);
            return ok;
        }
    } else if (owner->cred == PL_CRED_TOKEN || owner->cred == PL_CRED_SESSION) {
        rc = pl_store_cred_get(sc->app->store, PL_CRED_KIND_USER, owner->name, &rec, &err);
        json_decref(rec);
        if (rc == 0)
            return 1;
    } else {
        return 1;
    }
    return rc == PL_ENOTFOUND ? 0 : prev;
}

/* credential_live, remembered for PL_SUB_SCOPE_RECHECK_MS per owner. */
static int owner_live(struct pl_sub_scope *sc, const struct pl_principal *owner)
{
    if (!owner->name[0])
        return 1;
    int64_t now = pl_time_now_ms();
    struct live *l = pl_hmap_get(sc->live, owner->name, NULL);
    if (l && now - l->checked_ms < PL_SUB_SCOPE_RECHECK_MS)
        return l->ok;
    int ok = credential_live(sc, owner, l ? l->ok : 1);
    if (!l) {
        if (pl_hmap_count(sc->live) >= LIVE_MAX)
            pl_hmap_clear(sc->live);
        l = malloc(sizeof *l);
        if (!l || pl_hmap_put(sc->live, owner->name, l) != 0) {
            free(l);
            return ok;
        }
    }
    l->ok = ok;
    l->checked_ms = now;
    return ok;
}

/* An enterprise owner's entity is its own when the store recorded its owner key. */
static int owned_in_store(void *ud, const char *tenant, const char *id, const char *owner)
{
    char buf[PL_STORE_OWNER_MAX];
    struct pl_err err;
    pl_err_clear(&err);
    return pl_store_entity_owner(ud, tenant, id, buf, sizeof buf, &err) == 0 &&
           strcmp(buf, owner) == 0;
}

int pl_sub_owner_scope(void *ud, const struct pl_principal *owner, const char *tenant,
                       const json_t *entity, json_t **view)
{
    struct pl_sub_scope *sc = ud;
    *view = NULL;
    if (!owner)
        return PL_SCOPE_ALL;
    if (!pl_principal_in_tenant(owner, tenant) || !owner_live(sc, owner))
        return PL_SCOPE_NONE;
    /* the rule of its GET requests (auth/read.h): the tenant's open data without its private
     * attributes, and the entities it owns or is bound to in full; everything for the roles
     * that read the whole tenant */
    struct pl_read_scope rs;
    pl_read_scope_init(&rs, sc->app->read_policies, owner, tenant);
    rs.is_owner = owned_in_store;
    rs.is_owner_ud = sc->app->store;
    json_t *v = rs.all ? json_incref((json_t *)entity) : pl_read_scope_view(&rs, entity);
    pl_read_scope_dispose(&rs);
    if (!v)
        return PL_SCOPE_NONE;
    if (v == entity) {
        json_decref(v);
        return PL_SCOPE_ALL;
    }
    *view = v;
    return PL_SCOPE_VIEW;
}
