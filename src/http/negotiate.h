/* SPDX-License-Identifier: Apache-2.0 */
/*
 * negotiate.h — pure parsing of the HTTP headers NGSI-LD gives meaning to (clause 6.3.4, 6.3.5):
 * Accept (media ranges with q weights), Content-Type, and the JSON-LD context Link header.
 * No I/O; unit-tested and fuzzed on its own.
 */
#ifndef PL_HTTP_NEGOTIATE_H
#define PL_HTTP_NEGOTIATE_H

#include <stddef.h>

enum pl_mime {
    PL_MIME_NONE = 0,
    PL_MIME_JSON,        /* application/json */
    PL_MIME_LDJSON,      /* application/ld+json */
    PL_MIME_GEOJSON,     /* application/geo+json */
    PL_MIME_MERGE_PATCH, /* application/merge-patch+json */
    PL_MIME_OTHER        /* anything else */
};

/*
 * Chooses the response media type for `accept` (NULL or empty: application/json). `allow_geo`
 * says whether application/geo+json is acceptable for this operation (Retrieve/Query Entity
 * only). Preference follows q weights; ties go to the order json, ld+json, geo+json (6.3.4).
 * Returns PL_MIME_JSON / PL_MIME_LDJSON / PL_MIME_GEOJSON, or PL_MIME_NONE when nothing fits
 * (the caller answers 406).
 */
enum pl_mime pl_negotiate_accept(const char *accept, int allow_geo);

/* Classifies a Content-Type header value (parameters such as charset ignored, case-insensitive).
 * NULL gives PL_MIME_NONE. */
enum pl_mime pl_negotiate_content_type(const char *content_type);

/*
 * Finds the JSON-LD context link (rel="http://www.w3.org/ns/json-ld#context") in a Link header
 * value, which may hold several comma-separated links. Copies its URL into buf (size n).
 * Returns 1 when found, 0 when there is no such link, -1 when the header is malformed, the URL
 * does not fit, or there are two context links (JSON-LD 1.1: "multiple context link headers").
 * The relation must be exactly the JSON-LD context IRI (one of a quoted, space-separated list).
 */
int pl_negotiate_context_link(const char *link, char *buf, size_t n);

/*
 * Finds the "ngsi-ld=<major>.<minor>" preference (clause 6.3.6, 4.3.6.8) in a Prefer header
 * value (RFC 7240: comma-separated preferences, each a token with an optional "=" value, quoted
 * or not, and ";" parameters). Copies the version into buf (size n). Returns 1 when found and
 * well formed, 0 otherwise (an absent, unknown or malformed preference is ignored, RFC 7240 2).
 */
int pl_negotiate_prefer_version(const char *prefer, char *buf, size_t n);

#endif
