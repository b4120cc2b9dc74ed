/* SPDX-License-Identifier: Apache-2.0 */
/*
 * q.h — the NGSI-LD query language (q, clause 4.9 of GS CIM 009 V1.9.1): a parser into an AST,
 * name resolution with an @context, and an in-memory evaluator against the INTERNAL FORM of
 * entities (ngsild/entity.h). The SQL layer translates the same AST and indexes attribute values
 * with pl_q_targets, so the evaluator below is THE definition of the semantics.
 *
 * ---------------------------------------------------------------------------------------------
 * SYNTAX (the ABNF of 4.9, with these choices)
 *   Query    = Or;  Or = And *("|" And);  And = Primary *(";" Primary);
 *   Primary  = "(" Or ")" / Term           (any nesting up to PL_Q_MAX_DEPTH; ";" binds tighter
 *                                           than "|"; nested AND/AND and OR/OR are flattened,
 *                                           a group of one is its member)
 *   Term     = Path                        EXISTS
 *            / "!" Path                    NOT_EXISTS (not in the ABNF; peers accept it)
 *            / Path ("=="/"!=") EqValue    EQ / NE
 *            / Path (">"/">="/"<"/"<=") Comparable
 *            / Path ("~="/"!~=") RegExp    MATCH / NOMATCH
 *   Path     = Name *("." Name) ["[" Seg *("." Seg) "]"]
 *   Name     = (ASCII letter / byte >= 0x80) *(ASCII letter / digit / "_" / "-" / ":" / "/" /
 *              "#" / byte >= 0x80). So plain terms and compact IRIs (prefix:suffix) work; a full
 *              IRI works only when it has no "." (which is the path separator): use a term.
 *   Seg      = 1*(any byte > 0x20 except "." "[" "]")      (JSON member names, "*", "en-GB")
 *   Path{...} (linked entities, 4.9 / 4.5.23) is rejected: not supported.
 *   The special members observedAt, createdAt, modifiedAt, unitCode, datasetId are recognised
 *   only as the LAST name of a path of two or more names, and cannot take a trailing path.
 *   Spaces (' ', '\t') are skipped between tokens.
 * Values:
 *   JSON number -> NUMBER; JSON string (quoted, escapes decoded; \u0000 refused) -> STRING;
 *   true/false -> BOOL; DateTime (4.6.3: YYYY-MM-DDThh:mm:ss[.f](Z|+hh:mm|-hh:mm)) -> DATETIME
 *   (num = ms since the epoch, UTC; str = the text); Date YYYY-MM-DD and Time hh:mm:ss[.f][Z]
 *   -> STRING holding the text (compared as text); an absolute URI (scheme ":" ...; e.g.
 *   urn:ngsi-ld:X:1, https://ex.org/a) -> URI; any other unquoted word made of Name characters
 *   -> STRING with `bare` = 1 (e.g. gender==Male, 4.9 example 12: the candidate for a later
 *   expandValues; without it the word is compared as text).
 *   An unquoted value ends at "," ";" "|" "(" ")" a space or "..".
 *   == and != take one value, a ValueList (v1,v2,...: any kinds, mixed allowed), or a Range
 *   lo..hi (both NUMBER, both STRING (not bare) or both DATETIME; lo <= hi not required).
 *   > >= < <= take one NUMBER, STRING (not bare) or DATETIME value (no BOOL, URI, list, range).
 * RegExp: POSIX ERE (regcomp REG_EXTENDED|REG_NOSUB), compiled at parse time (invalid -> parse
 *   error). Either a JSON string ("...", decoded) or the raw rest of the term: it runs up to
 *   the first ";" or "|" outside parentheses and brackets, or a ")" closing a parenthesis the
 *   regex did not open ("\" escapes the next byte). So a top-level alternation must be written
 *   in parentheses or quoted: name~=(a|b). A leading "(?i)" makes it case-insensitive
 *   (REG_ICASE). Refused (glibc's regcomp blows up on them): patterns over 1024 bytes,
 *   back-references, a repetition right after another (x++, x{1,}{9}; undefined in POSIX),
 *   a repetition of an operand that can match "" ((a*|b*)+, (){9}, (x?)*), and nested
 *   repetitions expanding past ~4096 nodes (((a{100}){100})).
 * Errors: PL_EBADREQUESTDATA, detail "q: at position N: <why> '<token>'" (N the 0-based byte
 *   offset); bad bytes in the token are shown as '?', long tokens truncated with "...".
 *
 * ---------------------------------------------------------------------------------------------
 * TARGET VALUES of one attribute instance (pl_q_targets), by the instance's "type":
 *   Property      "value": number -> NUMBER; string -> STRING, and ALSO DATETIME when the string
 *                 is a DateTime (as the literal above, offsets allowed) (one string, two values);
 *                 true/false -> BOOL; {"@type":"DateTime"|"https://uri.etsi.org/ngsi-ld/DateTime",
 *                 "@value":s} -> DATETIME only (nothing if s is not a DateTime);
 *                 {"@type":"Date"|"Time"|their ngsi-ld IRIs,"@value":s} -> STRING s;
 *                 an array -> each element that is a scalar or a typed object above (nested
 *                 arrays and other objects in the array: skipped); other objects, null: nothing.
 *   Relationship  "object": a string or each string of an array -> URI.
 *   ListRelationship "objectList": each string, or each element object's "object" string -> URI.
 *   VocabProperty "vocab": a string or each string of an array -> URI.
 *   ListProperty  "valueList": each element by the Property rules (an element that is an array
 *                 gives its scalars).
 *   LanguageProperty "languageMap": with trail [L] only the value under key L; with trail [*] or
 *                 no trail every value; each value a string or array of strings -> STRING.
 *                 A trail of more than one segment: nothing.
 *   JsonProperty, GeoProperty: nothing without a trail.
 *   With a trail (not LanguageProperty): walk "value" (Property, GeoProperty, ListProperty uses
 *   "valueList") or "json" (JsonProperty) by member names (ECMAScript dot notation; a segment of
 *   digits indexes an array); the reached JSON value gives targets by the Property rules; not
 *   reachable: nothing. Relationship, ListRelationship, VocabProperty with a trail: nothing.
 *
 * EVALUATION of a term against an entity ("attrs" may be absent):
 *   The REACHED instances: every instance (every datasetId) of attrs[path_iri[0]]; for each
 *   further name, the instance(s) sub[path_iri[i]] of the reached ones (a sub value may be one
 *   instance or an array of instances). If the last name is a special member, the reached
 *   instances are those of the previous name that HAVE that member, and its targets are:
 *   observedAt/createdAt/modifiedAt -> DATETIME (none when unparsable), unitCode -> STRING,
 *   datasetId -> URI.
 *   EXISTS(entity) = some reached instance exists, and, when there is a trail, the trail is
 *   defined in it (pl_q_instance_exists: 4.9 says an undefined trailing path makes the target
 *   element non-existent; JSON null counts as defined). T = union of the targets of the reached
 *   instances (with the trail).
 *   EXISTS: exists. NOT_EXISTS: not exists.
 *   EQ (ONE/LIST L): exists t in T, l in L, compatible and equal. Compatible: NUMBER~NUMBER,
 *     BOOL~BOOL, DATETIME~DATETIME (compare num; exact double equality), STRING or URI literal ~
 *     STRING or URI target (compare str bytewise, strcmp).
 *   EQ (RANGE lo..hi): exists t in T compatible with lo, lo <= t && t <= hi (strings: strcmp).
 *   NE: exists && !EQ   (an entity without the attribute never matches !=).
 *   GT/GE/LT/LE: exists t in T compatible with the literal and not a URI, t op literal.
 *   MATCH: exists t in T of kind STRING that the regex matches.
 *   NOMATCH: exists t in T of kind STRING that the regex does not match.
 *   AND / OR: as usual.
 */
#ifndef PL_QUERY_Q_H
#define PL_QUERY_Q_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"
#include "ngsild/context.h"

#define PL_Q_MAX_DEPTH 64 /* deepest parenthesis nesting accepted by every query parser */

enum pl_q_kind { PL_Q_AND, PL_Q_OR, PL_Q_TERM };
enum pl_q_op {
    PL_QOP_EXISTS,
    PL_QOP_NOT_EXISTS,
    PL_QOP_EQ,
    PL_QOP_NE,
    PL_QOP_GT,
    PL_QOP_GE,
    PL_QOP_LT,
    PL_QOP_LE,
    PL_QOP_MATCH,
    PL_QOP_NOMATCH
};
/* The typed value classes, used both for literals and for target values. */
enum pl_qv_kind {
    PL_QV_NUMBER = 0,
    PL_QV_STRING = 1,
    PL_QV_BOOL = 2,
    PL_QV_DATETIME = 3,
    PL_QV_URI = 4
};
struct pl_qv {
    enum pl_qv_kind kind;
    double num;       /* NUMBER; DATETIME: milliseconds since the epoch (UTC); BOOL: 0/1 */
    char *str;        /* STRING/URI: the (JSON-unescaped) text; DATETIME: the literal as written;
                         else NULL. Owned by the term for literals; BORROWED from the entity (valid
                         during the callback only) for target values. */
    int bare;         /* literals only: 1 for an unquoted word kept as STRING (see above) */
    const char *lang; /* target values from a languageMap: the language key (borrowed); else
                         NULL */
};
enum pl_q_shape { PL_QVAL_NONE, PL_QVAL_ONE, PL_QVAL_LIST, PL_QVAL_RANGE };
struct pl_q_term {
    enum pl_q_op op;
    char **path;
    size_t n_path;   /* dotted names as written: path[0] the attribute, path[1..] sub-attributes
                        or the instance members observedAt/createdAt/modifiedAt/unitCode/datasetId */
    char **path_iri; /* n_path entries, filled by pl_q_resolve (special members kept as written);
                        NULL before; the evaluator then uses `path` */
    char **trail;
    size_t n_trail; /* the [a.b.c] trailing path split on '.', NOT expanded; NULL/0 when absent */
    enum pl_q_shape shape;
    struct pl_qv *vals;
    size_t n_vals; /* ONE: 1, LIST: n>=2, RANGE: 2 (lo, hi) */
    char *regex;   /* MATCH/NOMATCH: the pattern text (POSIX ERE, regcomp REG_EXTENDED|REG_NOSUB) */
    void *compiled; /* private: the compiled regex_t */
    size_t pos;     /* byte offset of the term in the q string */
    int special;    /* 1 when path[n_path-1] is a special member (n_path >= 2) */
    int icase;      /* MATCH/NOMATCH: the pattern had a "(?i)" prefix (not in `regex`) */
};
struct pl_q_node {
    enum pl_q_kind kind;
    struct pl_q_node **kids; /* AND/OR: n_kids >= 2 */
    size_t n_kids;
    struct pl_q_term term; /* TERM */
};

/* Parses `text`. Returns 0 and a NEW tree in *out (pl_q_free), or PL_EBADREQUESTDATA /
 * PL_ENOMEM with a detail. Never crashes on any input. */
int pl_q_parse(const char *text, struct pl_q_node **out, struct pl_err *err);
void pl_q_free(struct pl_q_node *n); /* NULL is a no-op */
/* Expands the path names of every term with `ctx` (pl_ctx_expand); special members are kept as
 * written. May be called again with another context. Returns 0 or PL_EBADREQUESTDATA. */
int pl_q_resolve(struct pl_q_node *n, const struct pl_ctx *ctx, struct pl_err *err);
/* 1 match, 0 not; entity in the internal form (borrowed). */
int pl_q_match(const struct pl_q_node *n, const json_t *entity);
int pl_q_term_match(const struct pl_q_term *t, const json_t *entity);

/* Enumerates the typed target values of ONE attribute instance (internal form), for `trail`
 * (may be NULL/0) and an optional language (NULL = any; when given, it restricts a
 * LanguageProperty like a trail [lang] would, and a trail [L] then also requires L == lang).
 * Calls cb (if not NULL) once per target value; returns the number of values. */
typedef void (*pl_q_target_cb)(void *ud, const struct pl_qv *v);
size_t pl_q_targets(const json_t *instance, char *const *trail, size_t n_trail, pl_q_target_cb cb,
                    void *ud);
size_t pl_q_targets_lang(const json_t *instance, char *const *trail, size_t n_trail,
                         const char *lang, pl_q_target_cb cb, void *ud);
/* 1 when the trailing path is defined in the instance (always 1 without a trail): see above. */
int pl_q_instance_exists(const json_t *instance, char *const *trail, size_t n_trail);

/* Compiles a POSIX ERE from a request parameter (idPattern, ...) into `out` (a regex_t *, free
 * it with regfree) with the same guards as q's ~= (length, back-references, repetitions glibc's
 * regcomp cannot take). Returns 0, or PL_EBADREQUESTDATA naming `param` (out untouched). */
int pl_regex_compile(const char *param, const char *pattern, void *out, struct pl_err *err);

/* 1 when `name` is one of observedAt, createdAt, modifiedAt, unitCode, datasetId. */
int pl_q_is_special_member(const char *name);
/* Parses a DateTime as q does (4.6.3 with optional fraction; Z or a +hh:mm/-hh:mm offset).
 * Returns 0 and sets *ms, or -1. */
int pl_q_parse_datetime(const char *s, double *ms);

/* Shared by the three parsers (internal): records
 * "<param>: at position N: <why> '<token>'[ (<hint>)]" where the token is taken from text+pos
 * (one delimiter of `delims`, or the run up to a delimiter or a space, truncated; at the end of
 * the input it says "<why> end of input"). `hint` may be NULL. Returns PL_EBADREQUESTDATA. */
int pl_q__syntax_error(struct pl_err *err, const char *param, const char *text, size_t pos,
                       const char *delims, const char *why, const char *hint);

#endif
