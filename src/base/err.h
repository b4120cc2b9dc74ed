/* SPDX-License-Identifier: Apache-2.0 */
/*
 * err.h — the one table of Polis errors.
 *
 * Every failure that can reach a client is one row of PL_ERR_MAP: the code, the NGSI-LD error type
 * (the suffix of https://uri.etsi.org/ngsi-ld/errors/...), the HTTP status of NGSI-LD V1.9.1
 * Table 6.3.2-1 (or of the HTTP binding errors of clause 6.3.2), and a title. The enum, the name
 * look-ups and the ProblemDetails writer (clause 5.5.3) are generated from it so they cannot drift.
 *
 * Functions return 0 or a negative PL_E* code; words go into a caller-provided struct pl_err.
 */
#ifndef PL_BASE_ERR_H
#define PL_BASE_ERR_H

#include <stddef.h>

/* XX(code, type suffix, http status, title) */
#define PL_ERR_MAP(XX)                                                                             \
    XX(BADREQUESTDATA, "BadRequestData", 400, "Bad request data")                                  \
    XX(INVALIDREQUEST, "InvalidRequest", 400, "Invalid request")                                   \
    XX(NOTFOUND, "ResourceNotFound", 404, "Resource not found")                                    \
    XX(ALREADYEXISTS, "AlreadyExists", 409, "Already exists")                                      \
    XX(OPNOTSUPPORTED, "OperationNotSupported", 422, "Operation not supported")                    \
    XX(LDCONTEXT, "LdContextNotAvailable", 504, "JSON-LD @context not available")                  \
    XX(TOOCOMPLEX, "TooComplexQuery", 403, "Too complex query")                                    \
    XX(TOOMANY, "TooManyResults", 403, "Too many results")                                         \
    XX(NOMULTITENANT, "NoMultiTenantSupport", 501, "No multi-tenant support")                      \
    XX(NOTIMPLEMENTED, "OperationNotSupported", 501, "Not implemented")                            \
    XX(NOTENANT, "NonexistentTenant", 404, "Nonexistent tenant")                                   \
    XX(TOOLARGE, "TooLarge", 413, "Request entity too large")                                      \
    XX(NOTACCEPTABLE, "NotAcceptable", 406, "Not acceptable")                                      \
    XX(UNSUPPORTEDMEDIA, "UnsupportedMediaType", 415, "Unsupported media type")                    \
    XX(LENGTHREQUIRED, "LengthRequired", 411, "Length required")                                   \
    XX(METHODNOTALLOWED, "MethodNotAllowed", 405, "Method not allowed")                            \
    XX(NOMEM, "InternalError", 503, "Out of memory")                                               \
    XX(STALE, "InternalError", 500, "Concurrent modification")                                     \
    XX(INTERNAL, "InternalError", 500, "Internal error")

/* Errors NGSI-LD does not define (access control, rate limits): same shape, their type is
 * urn:polis:error:<suffix> instead of an ETSI URI. */
#define PL_ERR_MAP_POLIS(XX)                                                                       \
    XX(UNAUTHORIZED, "Unauthorized", 401, "Unauthorized")                                          \
    XX(FORBIDDEN, "Forbidden", 403, "Forbidden")                                                   \
    XX(TOOMANYREQUESTS, "TooManyRequests", 429, "Too many requests")

enum pl_err_code {
    PL_OK = 0,
#define PL__ERR_ENUM(c, t, s, ti) PL_E##c,
    PL__ERR_FIRST = -1000,
    PL_ERR_MAP(PL__ERR_ENUM)
    PL_ERR_MAP_POLIS(PL__ERR_ENUM)
#undef PL__ERR_ENUM
    PL__ERR_LAST
};

#define PL_ERR_DETAIL_MAX 512

/* Filled by a failing function; the caller owns the struct (usually on its stack). */
struct pl_err {
    int code;                       /* a PL_E* code, PL_OK while nothing failed */
    char detail[PL_ERR_DETAIL_MAX]; /* human-readable detail, never NULL-terminated-less */
};

/* Reset `e` to "no error". */
void pl_err_clear(struct pl_err *e);

/* Record `code` with a printf-style detail in `e` (if e is not NULL). Returns `code`, so a
 * function can `return pl_err_set(err, PL_EBADREQUESTDATA, "...")`. */
int pl_err_set(struct pl_err *e, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Static strings for a code; an unknown code maps to the InternalError row. */
const char *pl_err_type_suffix(int code); /* "BadRequestData" */
const char *pl_err_type_uri(int code);    /* "https://uri.etsi.org/ngsi-ld/errors/BadRequestData" */
const char *pl_err_title(int code);
int pl_err_http_status(int code);

/* Render a ProblemDetails object (clause 5.5.3) as a NUL-terminated JSON string.
 * Returns a new malloc'd string (free with free()) or NULL when out of memory. */
char *pl_err_problem_json(const struct pl_err *e);

#endif
