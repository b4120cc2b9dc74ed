/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sub_scope.h — what the owner of a subscription may read, for the notifier
 * (notify/notifier.h "OWNERS' READ SCOPE"; docs/security.md "Tenants and secrets").
 *
 * The owner is the principal as it was when the subscription was created (its snapshot in the
 * stored subscription): a later change of its key or user does not widen what it is notified.
 * Rules, in order:
 *  - an owner of another tenant reads nothing of this one;
 *  - admins read everything;
 *  - a principal restricted to entity types (an API key's --types) reads only those types,
 *    unless it is an agency (its types are its write grant; it reads its whole tenant);
 *  - operators and agencies read their whole tenant;
 *  - everyone else (enterprise, device, public) reads what the public may read: the tenant's
 *    open-data types without their private attributes, plus an enterprise's own entities and a
 *    device's bound ones in full (auth/read.h pl_read_scope_view).
 */
#ifndef PL_AUTH_SUB_SCOPE_H
#define PL_AUTH_SUB_SCOPE_H

#include <jansson.h>

#include "auth/auth.h"

/* A pl_notifier_scope_fn; `ud` is the struct pl_app. */
int pl_owner_read_scope(void *ud, const struct pl_principal *owner, const char *tenant,
                        const json_t *entity, json_t **view);

#endif
