/* SPDX-License-Identifier: Apache-2.0 */
/*
 * sub_int.h — internals shared by the files of the subs module (never included outside
 * src/subs/). subscription.h is the module's interface; the files split it by concern:
 *
 *   subscription.c  the struct's lifetime, new ids and the small helpers below
 *   sub_parse.c     step 1: a compacted payload or PATCH fragment -> the EXPANDED document
 *                   (attribute names become IRIs, q and type selections keep their text plus a
 *                   {name: IRI} map, geoQ.geoproperty becomes an IRI); pl_sub_parse, pl_sub_patch
 *   sub_compile.c   step 2: an expanded document (also the stored form) -> struct pl_sub, with
 *                   every validation: the matcher form (compiled idPattern, resolved q and type
 *                   selections, index keys); pl_sub_from_stored
 *   sub_render.c    the stored form, the status counters in it, and the GET representation
 *   sub_match.c     matching one change (the change summary) or one entity
 *   sub_payload.c   notification payloads (JSON and text) and their @context / Link
 *   sub_secrets.c   the owner in the stored form, redaction of credentials, endpoint equality
 *
 * The stored form is read back by step 2 alone, without any @context.
 */
#ifndef PL_SUBS_SUB_INT_H
#define PL_SUBS_SUB_INT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "subs/subscription.h"

#define NGSI_NULL "urn:ngsi-ld:null"
/* The stored form's member with the owner snapshot (auth/owner.h). A client cannot set it: step
 * 2 never reads it, only pl_sub_from_stored does. */
#define PL_SUB_OWNER_MEMBER "polis:owner"
#define SHOW_MAX  64

/* ---- errors (subscription.c) ------------------------------------------------------------- */
/* Sets PL_EBADREQUESTDATA with the formatted detail; returns it. */
int pl_sub__bad(struct pl_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int pl_sub__nomem(struct pl_err *err); /* PL_ENOMEM, "out of memory" */
/* A printable, truncated copy of `s` in `buf` for error details; returns buf. */
const char *pl_sub__shown(char buf[SHOW_MAX + 4], const char *s);
/* "an object", "a string", ... for error details. Static string. */
const char *pl_sub__jtype(const json_t *v);
/* Prefixes the detail of `err` with `prefix` (e.g. "entities[0]."); returns rc. */
int pl_sub__prefix_err(struct pl_err *err, int rc, const char *prefix);

/* ---- small values (subscription.c) ------------------------------------------------------- */
void pl_sub__strv_free(char **v, size_t n); /* frees the n strings and the array; NULL: no-op */
int pl_sub__in_strv(char *const *v, size_t n, const char *s); /* 1 when s is one of v */
json_t *pl_sub__iso_json(int64_t ms);                         /* a DateTime string; NEW reference */
int pl_sub__uuid4(char out[37]);                              /* a random UUID v4 in text form; 0 */
int pl_sub__valid_attr_name(const char *s);                   /* 4.6.2 attribute name, or a URI */
/* The six notificationTrigger names, in the order of the PL_TRIG_* bits. */
extern const char *const pl_sub__trigger_names[6];

/* ---- names (subscription.c) -------------------------------------------------------------- */
/* Collect {name: IRI} of a resolved q tree / type selection into `map` (borrowed). */
void pl_sub__q_names(const struct pl_q_node *n, json_t *map);
void pl_sub__ts_names(const struct pl_typesel *n, json_t *map);
/* `iri` compacted with `c` as a JSON string (the IRI itself when it cannot be). NEW reference. */
json_t *pl_sub__name_compact(const struct pl_ctx *c, const char *iri);

/* ---- step 2 (sub_compile.c) -------------------------------------------------------------- */
/* Validates an expanded document (borrowed) into a NEW struct pl_sub (*out). check_exp:
 * expiresAt must be after now_ms. 0, PL_EBADREQUESTDATA, PL_EOPNOTSUPPORTED or PL_ENOMEM. */
/* ---- the owner in the stored form (sub_secrets.c) ------------------------------------------ */
/* Sets d's PL_SUB_OWNER_MEMBER from s->owner (nothing when NULL): 0 or PL_ENOMEM. */
int pl_sub__owner_to_stored(const struct pl_sub *s, json_t *d);
/* Sets s->owner from stored's PL_SUB_OWNER_MEMBER (NULL when absent): 0, or PL_EBADREQUESTDATA
 * when it is malformed. */
int pl_sub__owner_from_stored(const json_t *stored, struct pl_sub *s, struct pl_err *err);

int pl_sub__compile(const json_t *doc, int64_t now_ms, int check_exp, struct pl_sub **out,
                    struct pl_err *err);

/* ---- attribute instances (sub_match.c) --------------------------------------------------- */
const char *pl_sub__dsid(const json_t *inst); /* its datasetId, NULL for the default; borrowed */
/* The instance of `insts` with datasetId `ds` (NULL: the default instance), or NULL. Borrowed. */
const json_t *pl_sub__find_inst(const json_t *insts, const char *ds);
/* 1 when two instances are equal for 5.8.6 ("updated with a value different than the existing
 * one"): createdAt / modifiedAt ignored at every level, sub-attributes compared likewise. */
int pl_sub__inst_equal(const json_t *a, const json_t *b);
/* 5.2.12 / 5.8.6 datasetId: `e` (internal form, borrowed) with only the attribute instances
 * the subscription selects ("@none": those without a datasetId); attributes left without an
 * instance are removed. NEW reference (`e` itself when nothing is selected out); NULL for NULL. */
json_t *pl_sub__select_datasets(const struct pl_sub *s, const json_t *e);

#endif
