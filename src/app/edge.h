/* SPDX-License-Identifier: Apache-2.0 */
/*
 * edge.h — the listener's safety settings from the configuration (issue 12; docs/security.md
 * "The edge: safe by default"): the protected mode (no auth: loopback only unless --insecure)
 * and the defaults of rate limits, connection limits and deadlines per profile.
 */
#ifndef PL_APP_EDGE_H
#define PL_APP_EDGE_H

#include "app/config.h"
#include "base/err.h"
#include "http/http.h"

/*
 * Checks the edge options before anything starts: with --auth off a non-loopback --listen
 * address is refused unless --insecure (err says so, naming --auth on and --insecure), and
 * --tls-cert / --tls-key go together. Logs how the listener is exposed (auth off: loopback
 * only). Returns 0, or PL_EBADREQUESTDATA with err filled: the caller exits non-zero.
 */
int pl_app_edge_check(const struct pl_config *cfg, struct pl_err *err);

/* Fills the edge members of *h (TLS files, rate limits, connection limit, deadlines) from
 * cfg, an option not given taking the default of the profile. Strings are borrowed from cfg. */
void pl_app_edge_http_config(const struct pl_config *cfg, struct pl_http_config *h);

#endif
