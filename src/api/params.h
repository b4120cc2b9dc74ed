/* SPDX-License-Identifier: Apache-2.0 */
/* params.h — the URI parameter list of each operation (api/params.c), for the route table. */
#ifndef PL_API_PARAMS_H
#define PL_API_PARAMS_H

#include "http/http.h"

extern const struct pl_param pl_api_params_by_id[];
extern const struct pl_param pl_api_params_local[];
extern const struct pl_param pl_api_params_query[];
extern const struct pl_param pl_api_params_query_post[];
extern const struct pl_param pl_api_params_purge[];
extern const struct pl_param pl_api_params_retrieve[];
extern const struct pl_param pl_api_params_merge[];
extern const struct pl_param pl_api_params_append[];
extern const struct pl_param pl_api_params_attr_delete[];
extern const struct pl_param pl_api_params_upsert[];
extern const struct pl_param pl_api_params_batch_update[];
extern const struct pl_param pl_api_params_subs_list[];
extern const struct pl_param pl_api_params_temporal_query[];
extern const struct pl_param pl_api_params_temporal_query_post[];
extern const struct pl_param pl_api_params_temporal_get[];
extern const struct pl_param pl_api_params_temporal_attr_delete[];
extern const struct pl_param pl_api_params_details[];
extern const struct pl_param pl_api_params_contexts_list[];
extern const struct pl_param pl_api_params_context_get[];
extern const struct pl_param pl_api_params_context_delete[];
extern const struct pl_param pl_api_params_empty[];

#endif
