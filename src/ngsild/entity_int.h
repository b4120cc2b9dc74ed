/* SPDX-License-Identifier: Apache-2.0 */
/*
 * entity_int.h — internals shared by the entity_*.c files of ngsild/ (parse, update, render).
 * Not for other modules: they use entity.h only.
 */
#ifndef PL_NGSILD_ENTITY_INT_H
#define PL_NGSILD_ENTITY_INT_H

#include <jansson.h>

#include "ngsild/entity.h"

/* NGSI-LD Null (5.4): marks a deletion in merge-patch fragments. */
#define PL_ENTITY__NULL "urn:ngsi-ld:null"

/* The scope member (4.18) as an attribute name in a path expands to this IRI. */
#define PL_ENTITY__SCOPE_IRI "https://uri.etsi.org/ngsi-ld/scope"

/* Core IRIs of the GeoProperties NGSI-LD defines (4.7). */
#define PL_ENTITY__LOCATION_IRI  "https://uri.etsi.org/ngsi-ld/location"
#define PL_ENTITY__OBSSPACE_IRI  "https://uri.etsi.org/ngsi-ld/observationSpace"
#define PL_ENTITY__OPSPACE_IRI   "https://uri.etsi.org/ngsi-ld/operationSpace"

/* The eight attribute kinds, in the order of clause 4.5, and their payload member. */
enum pl_entity__kind {
    PL_KIND_PROPERTY,
    PL_KIND_RELATIONSHIP,
    PL_KIND_GEOPROPERTY,
    PL_KIND_LANGUAGEPROPERTY,
    PL_KIND_VOCABPROPERTY,
    PL_KIND_JSONPROPERTY,
    PL_KIND_LISTPROPERTY,
    PL_KIND_LISTRELATIONSHIP,
    PL_KIND__COUNT,
    PL_KIND_NONE = -1
};

/* Static names: pl_entity__kind_name(PL_KIND_PROPERTY) == "Property". */
const char *pl_entity__kind_name(int kind);
/* Payload member of a kind: "value", "object", "languageMap", ... */
const char *pl_entity__kind_payload(int kind);
/* The kind named by `type` ("Property", ...), or PL_KIND_NONE. */
int pl_entity__kind_of(const char *type);
/* The kind of a stored instance (its "type" member), or PL_KIND_NONE. */
int pl_entity__instance_kind(const json_t *inst);

/* 1 when `iri` is one of the three core GeoProperty IRIs (location, observationSpace,
 * operationSpace). */
int pl_entity__is_core_geo(const char *iri);

/* 1 when `v` is an object that looks like a GeoJSON geometry: "type" is a geometry type name
 * and "coordinates" (or "geometries" for a GeometryCollection) is present. Not validated. */
int pl_entity__looks_geometry(const json_t *v);

/* 1 when `t` names one of the seven GeoJSON geometry types (RFC 7946 1.4). */
int pl_entity__is_geo_type(const char *t);

/* 1 when the payload member of `inst` is the NGSI-LD Null string (a merge-patch deletion). */
int pl_entity__is_null_marker(const json_t *inst);

/* The datasetId of an instance (borrowed) or NULL for the default instance. */
const char *pl_entity__dataset_id(const json_t *inst);

/* Index of the instance of array `insts` whose datasetId equals `dsid` (NULL = default), or -1. */
long pl_entity__find_instance(const json_t *insts, const char *dsid);

/*
 * Appends to the array `dst` each string of the array `src` that `dst` does not hold yet, in
 * src order (first-seen order kept; duplicates inside `src` collapse too). O(n) expected: a hash
 * set past a handful of names. Non-string members of `src` are ignored. No cap: callers bound
 * the sizes. Returns 0 or PL_ENOMEM (dst may then hold part of the new names).
 */
int pl_entity__union_strings(json_t *dst, const json_t *src);

#endif
