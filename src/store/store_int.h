/* SPDX-License-Identifier: Apache-2.0 */
/*
 * store_int.h — helpers shared by store.c and the backends (not for callers of the store):
 * the parts of the internal entity form that backends index, in comparable text form, and the
 * one serialization of an entity body that every backend stores.
 */
#ifndef PL_STORE_STORE_INT_H
#define PL_STORE_STORE_INT_H

#include <jansson.h>
#include <stddef.h>

/* The entity's "type" array as compact JSON ("[]" when absent). NEW malloc'd or NULL (OOM). */
char *pl_store__types_text(const json_t *entity);

/* Every GeoProperty instance's attribute, datasetId and value, in document order, as compact
 * JSON: equal strings mean equal geometry side data. NEW malloc'd or NULL (OOM). */
char *pl_store__geo_fingerprint(const json_t *entity);

/* The stored body text of `entity`: compact JSON with shortest round-trip reals.
 * NEW malloc'd (length in *len) or NULL (OOM). */
char *pl_store__serialize(const json_t *entity, size_t *len);

#endif
