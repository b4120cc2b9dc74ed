/* SPDX-License-Identifier: Apache-2.0 */
/*
 * scopeq.h — the NGSI-LD Scope Query Language (clause 4.19 of GS CIM 009 V1.9.1), matched
 * against entity scopes (4.18).
 *
 *   Or      = And *(("|" / ",") And)
 *   And     = Primary *(";" Primary)      (4.19 wants "(A;B)"; "A;B" is accepted too)
 *   Primary = "(" Or ")" / Scope          (nesting up to PL_Q_MAX_DEPTH; spaces skipped)
 *   Scope   = "/#"                        any entity that has at least one scope
 *           / ["/"] Level *("/" Level) ["/#"]
 *   Level   = "+" (exactly one level, any name)
 *           / 1*(byte > 0x20 except / , ; | ( ) # + and DEL)   (4.19 wants a letter then
 *             letters, digits, '_'; the broader set matches whatever 4.18 scopes were stored)
 *   The leading "/" may be omitted (4.19 example 5 writes "CompanyB"); `scope` is normalised
 *   with it.
 * Matching one pattern against one entity scope (split on '/', empty levels ignored):
 *   without "/#": the same number of levels, each equal ("+" matches any one level);
 *   with "/#": the scope has at least the pattern's levels and they match (so /Madrid/# matches
 *   /Madrid and /Madrid/Gardens/Retiro; "/#" matches any scope).
 *   A SCOPE node matches when ANY of the entity's scopes matches; AND: every member matches
 *   (possibly through different scopes); OR: any. An entity without scope matches nothing.
 *   The string "urn:ngsi-ld:null" is not a scope.
 * Errors: PL_EBADREQUESTDATA "scopeQ: at position N: <why> '<token>'".
 */
#ifndef PL_QUERY_SCOPEQ_H
#define PL_QUERY_SCOPEQ_H

#include <jansson.h>
#include <stddef.h>

#include "base/err.h"

enum pl_scopeq_kind { PL_SQ_AND, PL_SQ_OR, PL_SQ_SCOPE };

struct pl_scopeq {
    enum pl_scopeq_kind kind;
    struct pl_scopeq **kids; /* AND/OR: n_kids >= 2 */
    size_t n_kids;
    char *scope;     /* SCOPE: the pattern normalised with a leading '/', e.g. "/Madrid/+/#" */
    char **levels;   /* SCOPE: its levels, without the final "#"; "+" = any one level */
    size_t n_levels; /* 0 only for "/#" */
    int descendants; /* SCOPE: ends with "/#" */
    size_t pos;      /* byte offset in the text */
};

/* Returns 0 and a NEW tree in *out (pl_scopeq_free), or PL_EBADREQUESTDATA / PL_ENOMEM. */
int pl_scopeq_parse(const char *text, struct pl_scopeq **out, struct pl_err *err);
void pl_scopeq_free(struct pl_scopeq *n); /* NULL is a no-op */
/* 1 when the entity's "scope" member (an array of strings, one string, or NULL) matches. */
int pl_scopeq_match(const struct pl_scopeq *n, const json_t *scope_array);
/* 1 when ONE scope string matches ONE SCOPE node (pattern). */
int pl_scopeq_match_one(const struct pl_scopeq *pattern, const char *scope);

#endif
