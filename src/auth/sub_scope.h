/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sub_scope.h — what the owner of a subscription may read, for the notifier
 * (notify/notifier.h "OWNERS' READ SCOPE"; docs/security.md "Tenants and secrets").
 *
 * A subscription is a standing read: it is notified of what its owner could GET, no more. The
 * owner is the principal as it was when the subscription was created (the snapshot stored with
 * it), judged by the same read rules as its requests (auth/read.h, the reads part):
 *  - an owner of another tenant reads nothing of this one;
 *  - admins, operators and agencies read their whole tenant;
 *  - an enterprise reads the entities it owns (the owner recorded at their creation), a device
 *    the entities it is bound to, in full, and both what the tenant's policy opens to the
 *    public (its open-data types, private attributes omitted);
 *  - an owner whose credential no longer works (an API key revoked or expired, a user deleted)
 *    reads nothing: its subscriptions stop notifying (checked again at most every
 *    PL_SUB_SCOPE_RECHECK_MS). A JWT subject cannot be checked offline: its snapshot stands.
 */
#ifndef PL_AUTH_SUB_SCOPE_H
#define PL_AUTH_SUB_SCOPE_H

#include <jansson.h>

#include "auth/auth.h"
#include "base/err.h"

#define PL_SUB_SCOPE_RECHECK_MS 5000

struct pl_app;
struct pl_sub_scope; /* the owners' liveness cache; used by the notifier thread only */

/* `app` (borrowed, outlives it) gives the store and the tenants' read policies. */
int pl_sub_scope_new(const struct pl_app *app, struct pl_sub_scope **out, struct pl_err *err);
void pl_sub_scope_free(struct pl_sub_scope *sc); /* NULL is a no-op */

/* A pl_notifier_scope_fn (notify/notifier.h); `ud` is the struct pl_sub_scope. */
int pl_sub_owner_scope(void *ud, const struct pl_principal *owner, const char *tenant,
                       const json_t *entity, json_t **view);

#endif
