/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Unit tests of notify/notifier.c: the persistence of the subscriptions' status counters
 * (notifier.h, PERSISTENCE) against a real SQLite store in a temporary directory. Notifications
 * go to a loopback port where nothing listens, so every delivery fails at once and counts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "ctxreg/ctxreg.h"
#include "ngsild/context.h"
#include "notify/notifier.h"
#include "store/store.h"
#include "subs/subscription.h"

#define T_TYPE "https://ex.org/Probe"
#define T_ATTR "https://ex.org/v"

/* ---- helpers ----------------------------------------------------------------------------- */

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Scales waits under sanitizers (scripts/test.sh sets POLIS_TEST_TIMEOUT_MULT). */
static int tmult(void)
{
    const char *s = getenv("POLIS_TEST_TIMEOUT_MULT");
    int m = s ? (int)strtol(s, NULL, 10) : 1;
    return m > 0 ? m : 1;
}

/* A loopback port nothing listens on: connections are refused at once. */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

struct fx {
    char dir[64], url[96];
    struct pl_store *store;
    struct pl_ctxreg *ctxreg;
    struct pl_notifier *n;
    char endpoint[64];
};

static void start_notifier(struct fx *f)
{
    struct pl_notifier_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.store = f->store;
    cfg.ctxreg = f->ctxreg;
    cfg.deliver.max_retries = -1; /* fail at the first refused connection */
    cfg.deliver.retry_base_ms = 5;
    cfg.deliver.retry_max_ms = 20;
    cfg.deliver.timeout_ms = 2000;
    cfg.deliver.stop_grace_ms = 500;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_notifier_start(&cfg, &f->n, &err) != 0)
        fail_msg("pl_notifier_start: %s", err.detail);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/polis-notifier-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->url, sizeof f->url, "sqlite:%s", f->dir);
    struct pl_store_config scfg = {.url = f->url};
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_store_open(&scfg, &f->store, &err) != 0)
        fail_msg("pl_store_open: %s", err.detail);
    struct pl_ctxreg_config ccfg;
    memset(&ccfg, 0, sizeof ccfg);
    ccfg.self_url = "http://127.0.0.1:1";
    if (pl_ctxreg_new(&ccfg, f->store, &f->ctxreg, &err) != 0)
        fail_msg("pl_ctxreg_new: %s", err.detail);
    snprintf(f->endpoint, sizeof f->endpoint, "http://127.0.0.1:%d/dead", dead_port());
    start_notifier(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    pl_notifier_stop(f->n);
    pl_ctxreg_free(f->ctxreg);
    pl_store_close(f->store);
    nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* A NEW subscription `id` to entities of `type`, notifying the dead endpoint; the caller owns it.
 */
static struct pl_sub *new_sub(const struct fx *f, const char *id, const char *type)
{
    json_t *p = json_pack("{s:s,s:s,s:[{s:s}],s:{s:{s:s}}}", "id", id, "type", "Subscription",
                          "entities", "type", type, "notification", "endpoint", "uri", f->endpoint);
    struct pl_sub *s = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_sub_parse(p, pl_ctx_core(), &s, &err) != 0)
        fail_msg("pl_sub_parse: %s", err.detail);
    json_decref(p);
    return s;
}

static void add_sub(struct fx *f, const char *tenant, const char *id, const char *type)
{
    struct pl_sub *s = new_sub(f, id, type);
    struct pl_err err;
    pl_err_clear(&err);
    if (pl_notifier_add(f->n, tenant, s, &err) != 0)
        fail_msg("pl_notifier_add: %s", err.detail);
}

/* PATCH as the API does it: the merged subscription from the installed one, then a swap. */
struct patch_ud {
    const char *description;
    struct pl_sub *out;
};

static int patch_one(void *ud, const struct pl_sub *s, struct pl_sub **out, struct pl_err *err)
{
    struct patch_ud *u = ud;
    json_t *frag = json_pack("{s:s}", "description", u->description);
    int rc = pl_sub_patch(s, frag, pl_ctx_core(), out, err);
    json_decref(frag);
    return rc;
}

static int patch_sub(struct fx *f, const char *tenant, const char *id, const char *description)
{
    struct patch_ud u = {description, NULL};
    struct pl_err err;
    pl_err_clear(&err);
    return pl_notifier_update(f->n, tenant, id, patch_one, &u, &err);
}

static int apply_set(void *ud, json_t *cur, json_t **next, struct pl_err *err)
{
    (void)cur;
    (void)err;
    *next = json_incref((json_t *)ud);
    return 0;
}

/* Creates or replaces entity `id` of `type` with v = `value`: one change for the notifier. */
static void put_entity(struct fx *f, const char *tenant, const char *id, const char *type,
                       json_int_t value)
{
    json_t *e =
        json_pack("{s:s,s:[s],s:s,s:s,s:{s:[{s:s,s:I}]}}", "id", id, "type", type, "createdAt",
                  "2024-01-01T00:00:00.000Z", "modifiedAt", "2024-01-01T00:00:00.000Z", "attrs",
                  T_ATTR, "type", "Property", "value", value);
    struct pl_store_write w;
    memset(&w, 0, sizeof w);
    w.tenant = tenant;
    w.id = id;
    w.apply = apply_set;
    w.ud = e;
    assert_int_equal(pl_store_write_sync(f->store, &w), 0);
    json_decref(w.result);
    json_decref(e);
}

static void copy_status(void *ud, const struct pl_sub *s, const struct pl_sub_status *st)
{
    (void)s;
    *(struct pl_sub_status *)ud = *st;
}

static struct pl_sub_status status_of(struct fx *f, const char *tenant, const char *id)
{
    struct pl_sub_status st;
    memset(&st, 0, sizeof st);
    assert_int_equal(pl_notifier_with(f->n, tenant, id, copy_status, &st), 0);
    return st;
}

static struct pl_sub_status wait_failed(struct fx *f, const char *tenant, const char *id, int64_t n)
{
    for (int i = 0; i < 1000 * tmult(); i++) {
        struct pl_sub_status st = status_of(f, tenant, id);
        if (st.times_failed >= n)
            return st;
        sleep_ms(10);
    }
    fail_msg("subscription %s: fewer than %lld failed notifications", id, (long long)n);
    abort(); /* not reached */
}

/* The stored records {"tenant","id","body"} of the store, read as at start (NEW reference). */
static json_t *stored_records(struct fx *f)
{
    json_t *recs = NULL;
    struct pl_err err;
    pl_err_clear(&err);
    assert_int_equal(pl_store_sub_load(f->store, &recs, &err), 0);
    return recs;
}

static const json_t *stored_body(const json_t *recs, const char *tenant, const char *id)
{
    size_t i;
    json_t *r;
    json_array_foreach(recs, i, r)
    {
        if (!strcmp(json_string_value(json_object_get(r, "tenant")), tenant) &&
            !strcmp(json_string_value(json_object_get(r, "id")), id))
            return json_object_get(r, "body");
    }
    return NULL;
}

static int metrics_saved(struct fx *f, const char *id)
{
    json_t *m = pl_notifier_metrics(f->n);
    size_t i;
    json_t *s;
    int saved = -1;
    json_array_foreach(json_object_get(m, "subscriptions"), i, s)
    {
        if (!strcmp(json_string_value(json_object_get(s, "id")), id))
            saved = json_is_true(json_object_get(s, "statusSaved"));
    }
    json_decref(m);
    return saved;
}

/* ---- cases ------------------------------------------------------------------------------- */

/* A clean stop writes the last counters; a new notifier on the same store shows them. */
static void counters_survive_a_clean_restart(void **state)
{
    struct fx *f = *state;
    const char *id = "urn:ngsi-ld:Subscription:restart";
    add_sub(f, "t1", id, T_TYPE);
    /* one change at a time: each its own notification (changes made while one is in flight
     * would share the next, notifier.h BATCHING) */
    put_entity(f, "t1", "urn:ngsi-ld:Probe:1", T_TYPE, 1); /* attributeCreated */
    wait_failed(f, "t1", id, 1);
    put_entity(f, "t1", "urn:ngsi-ld:Probe:1", T_TYPE, 2); /* attributeUpdated */
    wait_failed(f, "t1", id, 2);
    put_entity(f, "t1", "urn:ngsi-ld:Probe:1", T_TYPE, 3);
    struct pl_sub_status before = wait_failed(f, "t1", id, 3);
    assert_int_equal(before.times_sent, 3);
    assert_true(before.last_failure_ms > 0 && before.last_notification_ms > 0);
    assert_int_equal(before.last_success_ms, 0);

    pl_notifier_stop(f->n); /* flushes */
    f->n = NULL;
    json_t *recs = stored_records(f);
    struct pl_sub_status stored;
    pl_sub_stored_status(stored_body(recs, "t1", id), &stored);
    assert_memory_equal(&stored, &before, sizeof stored);
    json_decref(recs);

    start_notifier(f);
    struct pl_sub_status after = status_of(f, "t1", id);
    assert_memory_equal(&after, &before, sizeof after);
    assert_int_equal(metrics_saved(f, id), 1);
    /* and they go on counting from there */
    put_entity(f, "t1", "urn:ngsi-ld:Probe:1", T_TYPE, 4);
    after = wait_failed(f, "t1", id, 4);
    assert_int_equal(after.times_sent, 4);
}

/* Without a stop (a crash), the store holds the counters as of the last periodic flush. */
static void counters_are_flushed_periodically(void **state)
{
    struct fx *f = *state;
    const char *id = "urn:ngsi-ld:Subscription:periodic";
    add_sub(f, "", id, T_TYPE);
    assert_int_equal(metrics_saved(f, id), 1); /* stored with zero counters by add */
    put_entity(f, "", "urn:ngsi-ld:Probe:2", T_TYPE, 1);
    wait_failed(f, "", id, 1);
    put_entity(f, "", "urn:ngsi-ld:Probe:2", T_TYPE, 2);
    struct pl_sub_status st = wait_failed(f, "", id, 2);
    /* one flush interval (and the tick it waits for) later, the notifier thread wrote them */
    int saved = 0;
    for (int i = 0; i < (PL_NOTIFIER_FLUSH_MS / 10 + 300) * tmult() && !saved; i++) {
        saved = metrics_saved(f, id) == 1;
        if (!saved)
            sleep_ms(10);
    }
    assert_true(saved);
    json_t *recs = stored_records(f);
    struct pl_sub_status stored;
    pl_sub_stored_status(stored_body(recs, "", id), &stored);
    assert_memory_equal(&stored, &st, sizeof stored);
    json_decref(recs);
    json_t *m = pl_notifier_metrics(f->n);
    assert_true(json_integer_value(json_object_get(m, "statusWrites")) >= 1);
    assert_int_equal(json_integer_value(json_object_get(m, "statusWriteFailures")), 0);
    json_decref(m);
}

/* A PATCH keeps the counters, and stores them with the new form. */
static void patch_keeps_and_stores_the_counters(void **state)
{
    struct fx *f = *state;
    const char *id = "urn:ngsi-ld:Subscription:patch";
    add_sub(f, "", id, T_TYPE);
    put_entity(f, "", "urn:ngsi-ld:Probe:3", T_TYPE, 1);
    struct pl_sub_status st = wait_failed(f, "", id, 1);
    assert_int_equal(patch_sub(f, "", id, "patched"), 0);
    struct pl_sub_status now = status_of(f, "", id);
    assert_memory_equal(&now, &st, sizeof st);
    /* stored by the PATCH itself, with the counters: nothing left to flush */
    assert_int_equal(metrics_saved(f, id), 1);
    json_t *recs = stored_records(f);
    const json_t *body = stored_body(recs, "", id);
    assert_string_equal(json_string_value(json_object_get(body, "description")), "patched");
    struct pl_sub_status stored;
    pl_sub_stored_status(body, &stored);
    assert_int_equal(stored.times_failed, st.times_failed);
    json_decref(recs);
}

/* Flushes racing PATCH / DELETE: a flush that picked a subscription whose counters changed
 * must not write it after a DELETE (bringing it back) or after a PATCH (the older form over the
 * newer). Background subscriptions, notified continuously, keep every flush busy with writes;
 * each target gets exactly one notification (a type of its own), is PATCHed or DELETEd while
 * that notification's count waits for its flush, and is never written again by a later flush:
 * a wrong write would stay in the store. */
struct race {
    struct fx *f;
    atomic_int stop;
    atomic_int flushes;
};

static void *flusher(void *arg)
{
    struct race *r = arg;
    while (!atomic_load(&r->stop)) {
        pl_notifier_flush(r->f->n);
        atomic_fetch_add(&r->flushes, 1);
    }
    return NULL;
}

static void *updater(void *arg)
{
    struct race *r = arg;
    for (json_int_t v = 0; !atomic_load(&r->stop); v++) {
        put_entity(r->f, "", "urn:ngsi-ld:Probe:race", T_TYPE, v);
        sleep_ms(1);
    }
    return NULL;
}

static void flush_never_undoes_a_delete_or_a_patch(void **state)
{
    struct fx *f = *state;
    struct race r = {.f = f};
    atomic_init(&r.stop, 0);
    atomic_init(&r.flushes, 0);
    enum { BG = 40, N = 60 };
    char id[96], type[96], eid[96];
    for (int i = 0; i < BG; i++) {
        snprintf(id, sizeof id, "urn:ngsi-ld:Subscription:bg-%d", i);
        add_sub(f, "", id, T_TYPE);
    }
    pthread_t tf, tu;
    assert_int_equal(pthread_create(&tu, NULL, updater, &r), 0);
    assert_int_equal(pthread_create(&tf, NULL, flusher, &r), 0);
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "urn:ngsi-ld:Subscription:race-%d", i);
        snprintf(type, sizeof type, T_TYPE "%d", i);
        snprintf(eid, sizeof eid, "urn:ngsi-ld:Probe:race-%d", i);
        add_sub(f, "", id, type);
        put_entity(f, "", eid, type, 1);
        wait_failed(f, "", id, 1);
        sleep_ms(i % 4); /* a flush has probably picked it by now, and not yet written it */
        if (i % 2 == 0) {
            struct pl_err err;
            pl_err_clear(&err);
            assert_int_equal(pl_notifier_remove(f->n, "", id, &err), 0);
        } else {
            assert_int_equal(patch_sub(f, "", id, "patched"), 0);
        }
    }
    sleep_ms(50);
    atomic_store(&r.stop, 1);
    pthread_join(tf, NULL);
    pthread_join(tu, NULL);
    assert_true(atomic_load(&r.flushes) > 0);
    pl_notifier_stop(f->n); /* a last flush, as at a clean stop */
    f->n = NULL;

    json_t *recs = stored_records(f);
    for (int i = 0; i < N; i++) {
        snprintf(id, sizeof id, "urn:ngsi-ld:Subscription:race-%d", i);
        const json_t *body = stored_body(recs, "", id);
        if (i % 2 == 0) {
            if (body)
                fail_msg("%s was deleted but is stored again", id);
        } else {
            assert_non_null(body);
            const char *d = json_string_value(json_object_get(body, "description"));
            if (!d || strcmp(d, "patched") != 0)
                fail_msg("%s: the PATCHed form was overwritten", id);
            struct pl_sub_status st;
            pl_sub_stored_status(body, &st);
            assert_int_equal(st.times_failed, 1); /* stored by the PATCH */
        }
    }
    assert_int_equal(json_array_size(recs), BG + N / 2);
    json_decref(recs);
    start_notifier(f); /* for teardown */
}

/* Two PATCHes of one subscription at the same time, each setting its own member: both apply
 * (a read-then-swap outside the lock kept only one of them). */
struct patcher {
    struct fx *f;
    const char *member;
    int n;
};

static int set_member(void *ud, const struct pl_sub *cur, struct pl_sub **out, struct pl_err *err)
{
    const char *const *mv = ud;
    json_t *frag = json_pack("{s:s}", mv[0], mv[1]);
    int rc = pl_sub_patch(cur, frag, pl_ctx_core(), out, err);
    json_decref(frag);
    return rc;
}

static void *patch_loop(void *arg)
{
    struct patcher *p = arg;
    char val[32];
    for (int i = 1; i <= p->n; i++) {
        snprintf(val, sizeof val, "%s-%d", p->member, i);
        const char *mv[2] = {p->member, val};
        struct pl_err err;
        pl_err_clear(&err);
        if (pl_notifier_update(p->f->n, "", "urn:ngsi-ld:Subscription:twice", set_member, mv,
                               &err) != 0)
            return (void *)1;
    }
    return NULL;
}

static void get_member(void *ud, const struct pl_sub *s, const struct pl_sub_status *st)
{
    (void)st;
    char **out = ud;
    out[0] = s->description ? strdup(s->description) : NULL;
    out[1] = s->name ? strdup(s->name) : NULL;
}

static void concurrent_patches_are_both_applied(void **state)
{
    struct fx *f = *state;
    add_sub(f, "", "urn:ngsi-ld:Subscription:twice", T_TYPE);
    enum { N = 300 };
    struct patcher a = {f, "description", N}, b = {f, "subscriptionName", N};
    pthread_t ta, tb;
    assert_int_equal(pthread_create(&ta, NULL, patch_loop, &a), 0);
    assert_int_equal(pthread_create(&tb, NULL, patch_loop, &b), 0);
    void *ra, *rb;
    pthread_join(ta, &ra);
    pthread_join(tb, &rb);
    assert_null(ra);
    assert_null(rb);
    char *got[2] = {NULL, NULL};
    assert_int_equal(pl_notifier_with(f->n, "", "urn:ngsi-ld:Subscription:twice", get_member, got),
                     0);
    assert_non_null(got[0]);
    assert_non_null(got[1]);
    assert_string_equal(got[0], "description-300");
    assert_string_equal(got[1], "subscriptionName-300");
    free(got[0]);
    free(got[1]);
    /* and the store holds the same */
    pl_notifier_stop(f->n);
    f->n = NULL;
    json_t *recs = stored_records(f);
    const json_t *body = stored_body(recs, "", "urn:ngsi-ld:Subscription:twice");
    assert_non_null(body);
    assert_string_equal(json_string_value(json_object_get(body, "description")), "description-300");
    json_decref(recs);
    start_notifier(f);
}

int main(void)
{
    pl_log_set_level(PL_LOG_ERROR); /* every delivery fails here, on purpose */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(counters_survive_a_clean_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(counters_are_flushed_periodically, setup, teardown),
        cmocka_unit_test_setup_teardown(patch_keeps_and_stores_the_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(flush_never_undoes_a_delete_or_a_patch, setup, teardown),
        cmocka_unit_test_setup_teardown(concurrent_patches_are_both_applied, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
