/* SPDX-License-Identifier: Apache-2.0 */
/*
 * jsonfmt.h — text-level touch-ups of serialized JSON.
 *
 * jansson prints every real with 17 significant digits ("%.17g"), which round-trips but shows a
 * sensor's 40.328 as 40.328000000000003. pl_json_shorten_reals rewrites each real number token
 * of a serialized document in place to the SHORTEST form that parses back to the same double
 * (what Python's repr or JavaScript print), so what a client sent is what it reads back, and
 * nothing is lost.
 */
#ifndef PL_BASE_JSONFMT_H
#define PL_BASE_JSONFMT_H

#include <stddef.h>

/*
 * Shortens every real number outside strings in the NUL-terminated JSON text `z` (as written by
 * json_dumps), in place. Returns the new length. Integers and strings are untouched; a token
 * that does not parse as a number is left as it is. Never grows the text.
 */
size_t pl_json_shorten_reals(char *z);

#endif
