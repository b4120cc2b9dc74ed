/* SPDX-License-Identifier: Apache-2.0 */
/* Entity owners in the store (store.h, issue 12): recorded by the creating write in its
 * savepoint, given to apply writes that ask (PL_WRITE_WANT_OWNER), removed with the entity,
 * never recorded by a write that failed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

struct fx {
    char dir[64];
    struct pl_store *s;
};

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/polis-owner-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char url[128];
    snprintf(url, sizeof url, "sqlite:%s", f->dir);
    struct pl_store_config cfg = {.url = url};
    struct pl_err err;
    assert_int_equal(pl_store_open(&cfg, &f->s, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    pl_store_close(f->s);
    nftw(f->dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* What the apply callbacks saw and do. */
struct probe {
    char seen_owner[PL_STORE_OWNER_MAX];
    int fail;    /* 1: the apply fails (nothing may be recorded) */
    int delete_; /* 1: delete the entity */
};

static int apply_create_or_keep(void *ud, json_t *cur, json_t **next, struct pl_err *err)
{
    struct probe *p = ud;
    if (p->fail)
        return pl_err_set(err, PL_EFORBIDDEN, "refused");
    if (p->delete_) {
        *next = NULL;
        return 0;
    }
    *next = cur ? json_incref(cur)
                : json_pack("{s:s, s:[s], s:{}}", "id", "urn:x", "type", "https://e.org/T",
                            "attrs");
    return 0;
}

static int write_one(struct pl_store *s, const char *id, const char *owner, unsigned flags,
                     struct probe *p, char *cur_owner_out)
{
    struct pl_store_write w;
    memset(&w, 0, sizeof w);
    w.tenant = "city";
    w.id = id;
    w.flags = flags;
    w.apply = apply_create_or_keep;
    w.ud = p;
    w.owner = owner;
    int rc = pl_store_write_sync(s, &w);
    if (cur_owner_out)
        memcpy(cur_owner_out, w.cur_owner, sizeof w.cur_owner);
    json_decref(w.result);
    return rc;
}

static void creating_write_records_owner_and_delete_removes_it(void **state)
{
    struct fx *f = *state;
    struct probe p = {{0}, 0, 0};
    char buf[PL_STORE_OWNER_MAX];
    struct pl_err err;
    assert_int_equal(write_one(f->s, "urn:x", "user:acme", PL_WRITE_MUST_NOT_EXIST, &p, NULL), 0);
    assert_int_equal(pl_store_entity_owner(f->s, "city", "urn:x", buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "user:acme");
    /* per tenant: the same id elsewhere has no owner */
    assert_int_equal(pl_store_entity_owner(f->s, "other", "urn:x", buf, sizeof buf, &err),
                     PL_ENOTFOUND);
    /* an update never changes the owner, even when it carries another one */
    char seen[PL_STORE_OWNER_MAX];
    assert_int_equal(
        write_one(f->s, "urn:x", "user:bob", PL_WRITE_MUST_EXIST | PL_WRITE_WANT_OWNER, &p, seen),
        0);
    assert_string_equal(seen, "user:acme");
    assert_int_equal(pl_store_entity_owner(f->s, "city", "urn:x", buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "user:acme");
    /* deletion removes it: a new entity of the same id starts unowned */
    p.delete_ = 1;
    assert_int_equal(write_one(f->s, "urn:x", NULL, PL_WRITE_MUST_EXIST, &p, NULL), 0);
    assert_int_equal(pl_store_entity_owner(f->s, "city", "urn:x", buf, sizeof buf, &err),
                     PL_ENOTFOUND);
    p.delete_ = 0;
    assert_int_equal(write_one(f->s, "urn:x", NULL, 0, &p, NULL), 0);
    assert_int_equal(
        write_one(f->s, "urn:x", NULL, PL_WRITE_MUST_EXIST | PL_WRITE_WANT_OWNER, &p, seen), 0);
    assert_string_equal(seen, "");
}

static void failed_create_records_no_owner(void **state)
{
    struct fx *f = *state;
    struct probe p = {{0}, 1, 0};
    char buf[PL_STORE_OWNER_MAX];
    struct pl_err err;
    assert_int_equal(write_one(f->s, "urn:y", "user:acme", 0, &p, NULL), PL_EFORBIDDEN);
    assert_int_equal(pl_store_entity_owner(f->s, "city", "urn:y", buf, sizeof buf, &err),
                     PL_ENOTFOUND);
}

static void prepared_insert_records_owner(void **state)
{
    struct fx *f = *state;
    json_t *e = json_pack("{s:s, s:[s], s:{}}", "id", "urn:z", "type", "https://e.org/T", "attrs");
    struct pl_store_write w;
    memset(&w, 0, sizeof w);
    w.tenant = "city";
    w.id = "urn:z";
    w.owner = "apikey:key:9";
    assert_int_equal(pl_store_prep_insert(e, &w), 0);
    assert_int_equal(pl_store_write_sync(f->s, &w), 0);
    json_decref(w.result);
    pl_store_prep_release(&w);
    json_decref(e);
    char buf[PL_STORE_OWNER_MAX];
    struct pl_err err;
    assert_int_equal(pl_store_entity_owner(f->s, "city", "urn:z", buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "apikey:key:9");
    /* a buffer too small is an error, never a truncated owner */
    assert_int_not_equal(pl_store_entity_owner(f->s, "city", "urn:z", buf, 4, &err), 0);
    assert_int_equal(pl_store_entity_owner_set(f->s, "city", "urn:t", "jwt:sub", &err), 0);
    assert_int_equal(pl_store_entity_owner(f->s, "city", "urn:t", buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "jwt:sub");
    /* forgetting: only when the entity does not exist */
    assert_int_equal(pl_store_entity_owner_set(f->s, "city", "urn:z", NULL, &err), 0);
    assert_int_equal(pl_store_entity_owner(f->s, "city", "urn:z", buf, sizeof buf, &err), 0);
    assert_int_equal(pl_store_entity_owner_set(f->s, "city", "urn:t", NULL, &err), 0);
    assert_int_equal(pl_store_entity_owner(f->s, "city", "urn:t", buf, sizeof buf, &err),
                     PL_ENOTFOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(creating_write_records_owner_and_delete_removes_it, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(failed_create_records_no_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(prepared_insert_records_owner, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
