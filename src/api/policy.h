/* SPDX-License-Identifier: Apache-2.0 */
/* policy.h — the handlers of /polis/v1/tenants/{tenant}/policy (api/policy.c; issue 12). */
#ifndef PL_API_POLICY_H
#define PL_API_POLICY_H

#include "http/http.h"

int pl_api_policy_get(struct pl_req *r);
int pl_api_policy_put(struct pl_req *r);

#endif
