/* SPDX-License-Identifier: Apache-2.0 */
/*
 * redact.h — URIs without their credentials, for everything that shows a URI to someone other
 * than its owner: logs, /metrics, the GET representation of another's subscription
 * (docs/security.md "Tenants and secrets").
 */
#ifndef PL_BASE_REDACT_H
#define PL_BASE_REDACT_H

#include <stddef.h>

#define PL_REDACTED "***"

/*
 * Writes `uri` into buf (cap bytes, always NUL-terminated, truncated to fit) with the userinfo
 * redacted: "scheme://user:pass@host/path" becomes "scheme://user:<PL_REDACTED>@host/path", and a userinfo
 * without a password ("scheme://token@host") becomes "scheme://<PL_REDACTED>@host" (a lone user part is
 * often a token). A URI without userinfo is copied as is. Returns buf. NULL uri: "".
 */
char *pl_uri_redact(const char *uri, char *buf, size_t cap);

/* 1 when `uri` carries a userinfo (something pl_uri_redact hides). */
int pl_uri_has_userinfo(const char *uri);

#endif
