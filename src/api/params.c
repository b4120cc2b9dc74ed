/* SPDX-License-Identifier: Apache-2.0 */
/*
 * params.c — the URI parameters each operation accepts: the URL parameter tables of NGSI-LD
 * V1.9.1 clause 6 (6.4 to 6.31) plus the parameters clause 6.3 adds to them (format and
 * options 6.3.7, limit/offset/count for paging and counting, local 5.5.13). The parameter phase
 * of the HTTP front (http/params.c) checks every request against its route's list before the
 * handler runs, so a handler only reads parameters that are here. The values of options and
 * format are checked here too (400 InvalidRequest, 6.3.7); the handlers check the others
 * (BadRequestData) and the combinations (keyValues with concise, ...).
 *
 * To add a parameter to an operation: add one row to its list (keep the lists alphabetical).
 * A parameter the spec defines but Polis does not implement yet is listed with NI: it answers
 * 501 instead of being ignored; remove NI in the commit that implements it. A parameter whose
 * options or format values are an enumeration lists them (v_*).
 * Choices: docs/conformance.md, "URI parameters (6.3.7)".
 */
#include "api/params.h"

#define NI   PL_PARAM_NOT_IMPLEMENTED
#define LIST PL_PARAM_LIST
/* The tables keep one row per line. */
/* clang-format off */
#define END  {NULL, 0, NULL}

/* Enumerated values. */
/* 6.3.7 representations of Retrieve / Query Entities */
static const char *const v_format[] = {"normalized", "simplified", "keyValues", "concise", NULL};
/* options: the representations again (deprecated spelling) and sysAttrs (6.3.11) */
static const char *const v_options[] = {"normalized", "simplified", "keyValues", "concise",
                                        "sysAttrs", NULL};
/* temporal representations (4.5.7, 4.5.9, 4.5.19) */
static const char *const v_format_temporal[] = {"normalized", "simplified", "keyValues",
                                                "concise", "temporalValues", "aggregatedValues",
                                                NULL};
static const char *const v_options_temporal[] = {"normalized", "simplified", "keyValues",
                                                 "concise", "temporalValues", "aggregatedValues",
                                                 "sysAttrs", NULL};
/* Merge Entity (6.5.3.4): the payload is simplified */
static const char *const v_simplified[] = {"simplified", "keyValues", NULL};
static const char *const v_no_overwrite[] = {"noOverwrite", NULL};
static const char *const v_upsert[] = {"replace", "update", NULL};

/* Only the type selection of 4.17 (update operations on one entity: 6.5.3.2, 6.5.3.3, 6.6.3.2,
 * 6.7.3.1, 6.7.3.3). */
const struct pl_param pl_api_params_by_id[] = {
    {"local", 0, NULL},
    {"type", 0, NULL},
    END,
};

/* Operations whose table lists no parameter but local (Create Entity 6.4.3.1, batch create,
 * delete and merge, subscriptions, temporal writes, one type or attribute) */
const struct pl_param pl_api_params_local[] = {
    {"local", 0, NULL},
    END,
};

/* Query Entities GET (Table 6.4.3.2-1, 6.3.7) */
const struct pl_param pl_api_params_query[] = {
    {"attrs", 0, NULL},
    {"collation", 0, NULL},
    {"containedBy", 0, NULL},
    {"coordinates", 0, NULL},
    {"count", 0, NULL},
    {"csf", 0, NULL}, /* no context source registrations: no effect */
    {"datasetId", 0, NULL},
    {"entityMap", NI, NULL},
    {"entityMapLifetime", NI, NULL},
    {"expandValues", 0, NULL},
    {"format", 0, v_format},
    {"geometry", 0, NULL},
    {"geometryProperty", 0, NULL},
    {"geoproperty", 0, NULL},
    {"georel", 0, NULL},
    {"id", 0, NULL},
    {"idPattern", 0, NULL},
    {"join", 0, NULL},
    {"joinLevel", 0, NULL},
    {"jsonKeys", 0, NULL},
    {"lang", 0, NULL},
    {"limit", 0, NULL},
    {"local", 0, NULL},
    {"offset", 0, NULL},
    {"omit", 0, NULL},
    {"options", LIST, v_options},
    {"orderBy", 0, NULL},
    {"orderFrom", 0, NULL},
    {"orderGeometry", 0, NULL},
    {"pick", 0, NULL},
    {"q", 0, NULL},
    {"scopeQ", 0, NULL},
    {"splitEntities", 0, NULL}, /* every entity is whole here: no effect */
    {"type", 0, NULL},
    END,
};

/* Query Entities POST (6.23): the query is the body; paging, counting and the representation
 * stay in the URL */
const struct pl_param pl_api_params_query_post[] = {
    {"count", 0, NULL},
    {"format", 0, v_format},
    {"geometryProperty", 0, NULL},
    {"lang", 0, NULL},
    {"limit", 0, NULL},
    {"local", 0, NULL},
    {"offset", 0, NULL},
    {"omit", 0, NULL},
    {"options", LIST, v_options},
    {"pick", 0, NULL},
    END,
};

/* Purge Entities (Table 6.4.3.3-1) */
const struct pl_param pl_api_params_purge[] = {
    {"attrs", 0, NULL},
    {"coordinates", 0, NULL},
    {"csf", 0, NULL},
    {"drop", 0, NULL},
    {"geometry", 0, NULL},
    {"geometryProperty", 0, NULL},
    {"geoproperty", 0, NULL},
    {"georel", 0, NULL},
    {"id", 0, NULL},
    {"idPattern", 0, NULL},
    {"keep", 0, NULL},
    {"local", 0, NULL},
    {"q", 0, NULL},
    {"scopeQ", 0, NULL},
    {"type", 0, NULL},
    END,
};

/* Retrieve Entity (Table 6.5.3.1-1, 6.3.7) */
const struct pl_param pl_api_params_retrieve[] = {
    {"attrs", 0, NULL},
    {"containedBy", 0, NULL},
    {"datasetId", 0, NULL},
    {"entityMap", NI, NULL},
    {"entityMapLifetime", NI, NULL},
    {"format", 0, v_format},
    {"geometryProperty", 0, NULL},
    {"join", 0, NULL},
    {"joinLevel", 0, NULL},
    {"lang", 0, NULL},
    {"local", 0, NULL},
    {"omit", 0, NULL},
    {"options", LIST, v_options},
    {"pick", 0, NULL},
    {"type", 0, NULL},
    END,
};

/* Merge Entity (Table 6.5.3.4-1) */
const struct pl_param pl_api_params_merge[] = {
    {"format", 0, v_simplified},
    {"lang", 0, NULL},
    {"local", 0, NULL},
    {"observedAt", 0, NULL},
    {"options", LIST, v_simplified},
    {"type", 0, NULL},
    END,
};

/* Append Attributes (Table 6.6.3.1-1) */
const struct pl_param pl_api_params_append[] = {
    {"local", 0, NULL},
    {"options", LIST, v_no_overwrite},
    {"type", 0, NULL},
    END,
};

/* Delete Attribute (Table 6.7.3.2-1) */
const struct pl_param pl_api_params_attr_delete[] = {
    {"datasetId", 0, NULL},
    {"deleteAll", 0, NULL},
    {"local", 0, NULL},
    {"type", 0, NULL},
    END,
};

/* Batch upsert (6.15.3.1) and update (6.16) */
const struct pl_param pl_api_params_upsert[] = {
    {"local", 0, NULL},
    {"options", LIST, v_upsert},
    END,
};
const struct pl_param pl_api_params_batch_update[] = {
    {"local", 0, NULL},
    {"options", LIST, v_no_overwrite},
    END,
};

/* Query Subscriptions (Table 6.10.3.2-1, with offset and count of the paging clause) */
const struct pl_param pl_api_params_subs_list[] = {
    {"count", 0, NULL},
    {"limit", 0, NULL},
    {"local", 0, NULL},
    {"offset", 0, NULL},
    END,
};

/* Query Temporal Evolution of Entities GET (Table 6.18.3.2-1) */
const struct pl_param pl_api_params_temporal_query[] = {
    {"aggrMethods", 0, NULL},
    {"aggrPeriodDuration", 0, NULL},
    {"attrs", 0, NULL},
    {"collation", NI, NULL},
    {"coordinates", 0, NULL},
    {"count", 0, NULL},
    {"csf", 0, NULL},
    {"datasetId", 0, NULL},
    {"endTimeAt", 0, NULL},
    {"entityMap", NI, NULL},
    {"entityMapLifetime", NI, NULL},
    {"expandValues", 0, NULL},
    {"format", 0, v_format_temporal},
    {"geometry", 0, NULL},
    {"geoproperty", 0, NULL},
    {"georel", 0, NULL},
    {"id", 0, NULL},
    {"idPattern", 0, NULL},
    {"jsonKeys", 0, NULL},
    {"lang", 0, NULL},
    {"lastN", 0, NULL},
    {"limit", 0, NULL},
    {"local", 0, NULL},
    {"offset", 0, NULL},
    {"omit", 0, NULL},
    {"options", LIST, v_options_temporal},
    {"orderBy", 0, NULL},
    {"pick", 0, NULL},
    {"q", 0, NULL},
    {"scopeQ", 0, NULL},
    {"splitEntities", 0, NULL},
    {"timeAt", 0, NULL},
    {"timeproperty", 0, NULL},
    {"timerel", 0, NULL},
    {"type", 0, NULL},
    END,
};

/* Query Temporal Evolution of Entities POST (6.24): the query is the body */
const struct pl_param pl_api_params_temporal_query_post[] = {
    {"count", 0, NULL},
    {"format", 0, v_format_temporal},
    {"lang", 0, NULL},
    {"limit", 0, NULL},
    {"local", 0, NULL},
    {"offset", 0, NULL},
    {"omit", 0, NULL},
    {"options", LIST, v_options_temporal},
    {"pick", 0, NULL},
    END,
};

/* Retrieve Temporal Evolution of an Entity (Table 6.19.3.1-1) */
const struct pl_param pl_api_params_temporal_get[] = {
    {"aggrMethods", 0, NULL},
    {"aggrPeriodDuration", 0, NULL},
    {"attrs", 0, NULL},
    {"datasetId", 0, NULL},
    {"endTimeAt", 0, NULL},
    {"format", 0, v_format_temporal},
    {"lang", 0, NULL},
    {"lastN", 0, NULL},
    {"local", 0, NULL},
    {"omit", 0, NULL},
    {"options", LIST, v_options_temporal},
    {"pick", 0, NULL},
    {"timeAt", 0, NULL},
    {"timeproperty", 0, NULL},
    {"timerel", 0, NULL},
    END,
};

/* Delete an attribute's temporal evolution (6.21.3.1) */
const struct pl_param pl_api_params_temporal_attr_delete[] = {
    {"datasetId", 0, NULL},
    {"deleteAll", 0, NULL},
    {"local", 0, NULL},
    END,
};

/* Retrieve Available Entity Types / Attributes (6.25, 6.27) */
const struct pl_param pl_api_params_details[] = {
    {"details", 0, NULL},
    {"local", 0, NULL},
    END,
};

/* List @contexts (Table 6.29.3.2-1), Serve @context (6.30.3.1), Delete @context (6.30.3.2) */
const struct pl_param pl_api_params_contexts_list[] = {
    {"details", 0, NULL},
    {"kind", 0, NULL},
    END,
};
const struct pl_param pl_api_params_context_get[] = {
    {"details", 0, NULL},
    END,
};
const struct pl_param pl_api_params_context_delete[] = {
    {"reload", 0, NULL},
    END,
};
/* Add @context (6.29.3.1) */
const struct pl_param pl_api_params_empty[] = {
    END,
};
/* clang-format on */
