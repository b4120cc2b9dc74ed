/* SPDX-License-Identifier: Apache-2.0 */
/*
 * conform.h — the backwards compatibility operation of NGSI-LD V1.9.1 clause 4.3.6.8: amends a
 * RENDERED (compacted) entity so that it conforms to an earlier version of the specification
 * (a subscription's ngsildConformance, 5.2.12 / 5.8.6). Pure logic, no I/O.
 *
 * The fallbacks of Tables 4.3.6.8-1..3, by the version that introduced each member:
 *   < 1.9  expiresAt (entity and attribute level) and valueType removed
 *   < 1.8  JsonProperty / VocabProperty / ListProperty become a Property (their json / vocab /
 *          valueList becomes "value"), ListRelationship a Relationship (objectList becomes
 *          "object"); objectType removed
 *   < 1.4  LanguageProperty becomes a Property (its languageMap becomes "value"); scope removed
 *   < 1.3  datasetId, observedAt, unitCode removed; an attribute with several instances keeps
 *          one (the default instance when there is one, else the first); a type array keeps its
 *          first element
 * Sub-attributes get the same treatment. Concise instances without "type" are recognised by
 * their payload member (languageMap, json, vocab, valueList, objectList).
 */
#ifndef PL_NGSILD_CONFORM_H
#define PL_NGSILD_CONFORM_H

#include <jansson.h>

/* A version "major.minor" as major * 100 + minor (e.g. 108 for "1.8"), or -1 when `s` is not
 * of that form (digits, one dot, digits; minor < 100). */
int pl_conform_version(const char *s);

/* The version this broker's payloads conform to (1.9). */
#define PL_CONFORM_CURRENT 109

/* Amends the rendered entity `e` (modified in place) to conform to `version` (see above;
 * nothing to do for PL_CONFORM_CURRENT or later). `simplified`: `e` is in the simplified
 * (keyValues) representation, where only the entity-level fallbacks apply. */
void pl_conform_entity(json_t *e, int version, int simplified);

#endif
