/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Fuzz target: what issue 12's tenants part reads from outside — tenant names (auth/tenant.h)
 * and endpoint URIs redacted for logs and other principals (base/redact.h).
 * Invariants: never crash; a valid tenant name has only [A-Za-z0-9_-] and 1..64 of them; the
 * redacted URI is NUL-terminated within its buffer, has no userinfo password left (the text
 * between "user:" and the authority's last '@' is exactly the redaction marker), and a URI
 * without userinfo comes back unchanged (when it fits).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/tenant.h"
#include "base/redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    if (pl_tenant_name_valid(s)) {
        size_t n = strlen(s);
        if (n == 0 || n > 64 || strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789_-") != n)
            abort();
    }
    size_t cap = size + 8;
    char *b = malloc(cap);
    if (!b) {
        free(s);
        return 0;
    }
    pl_uri_redact(s, b, cap);
    if (strnlen(b, cap) >= cap)
        abort();
    if (!pl_uri_has_userinfo(s)) {
        if (strcmp(b, s) != 0)
            abort();
    } else if (!pl_uri_has_userinfo(b) || !strstr(b, PL_REDACTED "@")) {
        abort();
    }
    char small[5];
    pl_uri_redact(s, small, sizeof small);
    if (strnlen(small, sizeof small) >= sizeof small)
        abort();
    free(b);
    free(s);
    return 0;
}
