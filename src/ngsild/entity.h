/* SPDX-License-Identifier: Apache-2.0 */
/*
 * entity.h — NGSI-LD entities: parse + validate + expand incoming payloads into the INTERNAL
 * FORM, apply updates to the internal form, and render it back in the requested representation.
 *
 * Pure logic, no I/O. The internal form is what the store keeps (it is documented in
 * docs/store-schema.md and is the contract between api/, ngsild/ and store/):
 *
 *   { "id": "urn:ngsi-ld:X:1",                  entity id (an absolute URI)
 *     "type": ["https://.../AirQualityObserved"], expanded type IRIs, always an array
 *     "scope": ["/Madrid/Gardens"],             optional, always an array
 *     "createdAt": "…Z", "modifiedAt": "…Z",    system attributes (set by pl_entity_stamp/apply)
 *     "attrs": { "<attribute IRI>": [ instance, … ] } }   one instance per datasetId
 *
 *   instance = { "type": "Property" | "Relationship" | "GeoProperty" | "LanguageProperty" |
 *                        "VocabProperty" | "JsonProperty" | "ListProperty" | "ListRelationship",
 *                exactly one payload member by kind:
 *                  "value" (Property, GeoProperty: GeoJSON geometry object),
 *                  "object" (Relationship: URI string or array of URI strings),
 *                  "languageMap" (object), "vocab" (expanded IRI string or array),
 *                  "json" (any JSON), "valueList" (array), "objectList" (array of URI strings),
 *                optional "observedAt", "unitCode", "datasetId", "objectType" (expanded),
 *                "createdAt", "modifiedAt",
 *                "sub": { "<sub-attribute IRI>": instance }  (properties of properties, nested) }
 *
 * Keys that are IRIs (attribute and sub-attribute names) always contain ':'; NGSI-LD core members
 * never do, so the two never collide. Property values are kept verbatim (JSON objects inside a
 * value are not key-expanded; see docs/decisions/0002-values-verbatim.md).
 */
#ifndef PL_NGSILD_ENTITY_H
#define PL_NGSILD_ENTITY_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "base/limits.h"
#include "ngsild/context.h"

/* What a payload is expected to be. */
enum pl_parse_kind {
    PL_PARSE_ENTITY,   /* a whole entity (create, replace): "id" and "type" required */
    PL_PARSE_FRAGMENT, /* attributes of an entity (append, update, merge); "id"/"type" optional,
                          "type" adds types; output has no "id" unless given */
    PL_PARSE_ATTR      /* the body of /attrs/{attrId}: ONE attribute value (an instance object,
                          or an array of instances with distinct datasetIds, or concise form) */
};

/* Flags for pl_entity_parse. */
#define PL_PARSE_ALLOW_NULL                                                                        \
    0x1u                      /* merge-patch: "urn:ngsi-ld:null" (and JSON null) mark              \
                                 deletions and are kept as the string "urn:ngsi-ld:null" */
#define PL_PARSE_PARTIAL 0x2u /* PATCH /attrs/{attrId}: "type" of the instance may be absent */
#define PL_PARSE_MERGE   0x4u /* merge (5.5.12): "urn:ngsi-ld:null" may also be a member value
                                 inside a Property value object (it deletes that member); the
                                 other writes refuse it there (5.5.4). Simplified (bare) values
                                 are marked "@bare": true for pl_entity_merge (5.6.17.4). */
/* The fragment is in the simplified representation (Merge Entity format=keyValues): every
 * attribute value is a value, objects included. */
#define PL_PARSE_SIMPLIFIED 0x8u

/*
 * Parses `in` (compacted JSON, any "@context" member already removed by the caller), validates
 * it against NGSI-LD (names 4.6.2, DateTime 4.6.3, attribute kinds 4.5, GeoJSON, URIs, limits),
 * accepts normalized and concise forms (4.5.x "Concise"), and expands every name and type
 * with `ctx`. `in` is borrowed and not modified.
 *
 * Output (*out, a NEW reference):
 *   PL_PARSE_ENTITY:   internal form without createdAt/modifiedAt.
 *   PL_PARSE_FRAGMENT: { ["id"], ["type"], ["scope"], "attrs": {IRI: [instances]} }.
 *   PL_PARSE_ATTR:     { "instances": [instances] } (array even for one).
 * Returns 0, or PL_EBADREQUESTDATA with a detail naming the offending member and why.
 * Unknown-shape input never crashes; depth, attribute count and id length follow `lim`.
 */
int pl_entity_parse(const struct pl_ctx *ctx, const json_t *in, enum pl_parse_kind kind,
                    unsigned flags, const struct pl_limits *lim, json_t **out, struct pl_err *err);

/*
 * Validates one GeoJSON geometry object (RFC 7946: Point, MultiPoint, LineString,
 * MultiLineString, Polygon with closed rings of >= 4 positions, MultiPolygon,
 * GeometryCollection; longitude in [-180,180], latitude in [-90,90], 2 or 3 numbers per
 * position). Returns 0 or PL_EBADREQUESTDATA with a detail.
 */
int pl_geojson_validate(const json_t *geom, struct pl_err *err);

/* Sets createdAt and modifiedAt = `now` on the entity and on every instance (recursively). */
void pl_entity_stamp(json_t *entity, const char *now);

/* A new entity to store from a parsed PL_PARSE_ENTITY payload (borrowed): a deep copy stamped
 * with the current time. Returns a NEW reference, or NULL when out of memory. */
json_t *pl_entity_instantiate(const json_t *parsed);

/* ---------------------------------------------------------------------------------------------
 * Updates. Each works in place on a stored internal-form entity `e` (owned by the caller) with
 * an already parsed fragment, and maintains modifiedAt (entity and touched instances) and
 * createdAt (new instances). `now` is an ISO DateTime string.
 * ------------------------------------------------------------------------------------------ */
enum pl_update_op {
    PL_UPDATE_APPEND,        /* 5.6.3 Append Attributes: add or overwrite */
    PL_UPDATE_APPEND_NOOVER, /* 5.6.3 with options=noOverwrite: keep existing ones */
    PL_UPDATE_UPDATE,        /* 5.6.2 Update Attributes: only existing attributes (by datasetId) */
    PL_UPDATE_MERGE,         /* 5.6.17 Merge Entity: merge members of existing instances,
                                add new ones, delete where "urn:ngsi-ld:null" */
    PL_UPDATE_REPLACE        /* 5.6.18 Replace Entity: all attributes replaced, keep createdAt */
};

/*
 * Applies `frag` (PL_PARSE_FRAGMENT output, borrowed) to `e`. Types in the fragment are added
 * (REPLACE: replaced), scope replaced. For each attribute that was not applied, appends
 * { "attributeName": IRI, "reason": text } to `not_updated` (a JSON array, may be NULL).
 * Returns 0, or PL_EBADREQUESTDATA (e.g. removing every type).
 */
int pl_entity_apply(json_t *e, const json_t *frag, enum pl_update_op op, const char *now,
                    json_t *not_updated, struct pl_err *err);

/* The URL parameters of Merge Entity (6.5.3.4) that change how a fragment merges. */
struct pl_merge_opts {
    const char *lang;        /* language tag a simplified string merged into a LanguageProperty
                                replaces, or NULL (then the languageMap becomes {"@none": ...}) */
    const char *observed_at; /* DateTime given to the merged attributes that had an observedAt
                                and get none in the fragment, or NULL */
};

/*
 * 5.6.17 Merge Entity with its parameters: pl_entity_apply(PL_UPDATE_MERGE) plus `mo` (may be
 * NULL). A simplified value (parsed with PL_PARSE_MERGE) merged into an attribute of another
 * kind keeps the stored kind (5.6.17.4). Returns 0 or PL_EBADREQUESTDATA.
 */
int pl_entity_merge(json_t *e, const json_t *frag, const struct pl_merge_opts *mo,
                    const char *now, struct pl_err *err);

/*
 * 5.6.4 Partial Attribute Update (PATCH .../attrs/{attrId}): merges the members of each
 * instance in `attr` (PL_PARSE_ATTR output) into the existing instance with the same datasetId.
 * Returns 0 or PL_ENOTFOUND when the attribute or that datasetId does not exist.
 */
int pl_entity_attr_patch(json_t *e, const char *attr_iri, const json_t *attr, const char *now,
                         struct pl_err *err);

/* 5.6.19 Replace Attribute (PUT .../attrs/{attrId}): the instances with the given datasetIds
 * are replaced. Returns 0 or PL_ENOTFOUND when the attribute, or one targeted instance (the
 * default one, or a datasetId), does not exist. */
int pl_entity_attr_replace(json_t *e, const char *attr_iri, const json_t *attr, const char *now,
                           struct pl_err *err);

/* 5.6.5 Delete Attribute: the default instance (dataset_id NULL), one datasetId, or every
 * instance (delete_all). Returns 0 or PL_ENOTFOUND. */
int pl_entity_attr_delete(json_t *e, const char *attr_iri, const char *dataset_id, int delete_all,
                          const char *now, struct pl_err *err);

/* ---------------------------------------------------------------------------------------------
 * Rendering.
 * ------------------------------------------------------------------------------------------ */
enum pl_format {
    PL_FORMAT_NORMALIZED, /* 4.5.1 */
    PL_FORMAT_KEYVALUES,  /* 4.5.4 simplified */
    PL_FORMAT_CONCISE     /* 4.5.x concise */
};

/* The temporal representations (4.5.6-4.5.9, 4.5.19): set only by the /temporal handlers. */
enum pl_temporal_repr { PL_TEMPORAL_NORMALIZED, PL_TEMPORAL_VALUES, PL_TEMPORAL_AGGREGATED };

struct pl_render_opts {
    enum pl_format format;
    enum pl_temporal_repr temporal; /* ignored by the entity renderers */
    int sys_attrs;                  /* include createdAt/modifiedAt (options=sysAttrs) */
    const char *lang;               /* LanguageProperty: pick this language (4.15); NULL = all */
    const char *const *attrs;       /* expanded attribute IRIs to keep (attrs=); NULL = all */
    size_t n_attrs;
    const char *const *pick; /* pick= : compact names of members to keep ("id","type", attrs
                                already expanded by the caller); NULL = no pick */
    size_t n_pick;
    const char *const *omit; /* omit= : members to drop (same convention as pick) */
    size_t n_omit;
    /* datasetId= (4.5.5, 5.7.1.4, 5.7.2.4): keep only the attribute instances with one of these
     * datasetIds ("@none": the default instance); an attribute left with no instance is not
     * rendered. NULL = every instance. */
    const char *const *datasets;
    size_t n_datasets;
};

/*
 * Renders the stored internal form `e` (borrowed) as a compacted NGSI-LD entity with `ctx`.
 * Does not add "@context" (the api layer does). Returns 0 and a NEW reference in *out.
 */
int pl_entity_render(const struct pl_ctx *ctx, const json_t *e, const struct pl_render_opts *o,
                     json_t **out, struct pl_err *err);

/*
 * Renders `e` as a GeoJSON Feature (4.5.17.1): "id", "type":"Feature", "geometry" (the value of
 * `geoproperty_iri`, default the location attribute; null when absent), "properties" (the
 * entity rendered as pl_entity_render would, without "id"). Returns 0 and a NEW reference.
 */
int pl_entity_render_geojson(const struct pl_ctx *ctx, const json_t *e,
                             const struct pl_render_opts *o, const char *geoproperty_iri,
                             json_t **out, struct pl_err *err);

/* Validity helpers shared with api/: an absolute URI as NGSI-LD wants for ids (scheme ":"
 * then no whitespace or control characters); a valid attribute/type name: a 4.6.2 name (a
 * Unicode letter, then letters, numbers and "_"), a prefix:name, or an absolute IRI (an
 * expanded name); and the reserved names that cannot name an attribute (entity and attribute
 * members such as id, type, value, observedAt, and every "@" keyword). Thread-safe. */
int pl_is_uri(const char *s);
int pl_is_valid_name(const char *s);
int pl_is_reserved_attr_name(const char *s);
/* A scope of the 4.18 grammar: [/] ScopeLevel *(/ ScopeLevel). Thread-safe. */
int pl_is_valid_scope(const char *s);

/*
 * Checks a whole internal-form entity (borrowed) against `lim` (NULL: the defaults): at most
 * lim->max_attrs entity types, and at most lim->max_attrs attribute instances counted at every
 * nesting level (top-level instances plus their sub-attributes, recursively), as
 * pl_entity_parse counts a payload. For the api layer after pl_entity_apply and the
 * pl_entity_attr_* updates, which do not know the limits: an update may not make the stored
 * entity exceed them. Returns 0 or PL_EBADREQUESTDATA with a detail "too many ... (N > max)".
 */
int pl_entity_check_limits(const json_t *entity, const struct pl_limits *lim, struct pl_err *err);

#endif
