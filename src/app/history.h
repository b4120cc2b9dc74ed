/* SPDX-License-Identifier: Apache-2.0 */
/*
 * history.h — the attribute-history policy (store.h struct pl_hist_policy) built from the
 * --history* options (docs/temporal.md, "Configuration").
 */
#ifndef PL_APP_HISTORY_H
#define PL_APP_HISTORY_H

#include "app/config.h"
#include "base/err.h"
#include "store/store.h"

/* A policy and the strings it points to (owned). */
struct pl_app_history {
    struct pl_hist_policy pol;
    char **strs;
    size_t n_strs;
    const char **tenants, **types;
    struct pl_hist_retention *rules;
};

/* Fills *h from cfg. Entity types given as terms (no ':') expand against the core context's
 * @vocab (https://uri.etsi.org/ngsi-ld/default-context/). Returns 0, or PL_EBADREQUESTDATA with
 * words naming the bad option. Free with pl_app_history_free (also after an error). */
int pl_app_history_init(struct pl_app_history *h, const struct pl_config *cfg, struct pl_err *err);
void pl_app_history_free(struct pl_app_history *h);

#endif
