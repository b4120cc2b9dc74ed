/* SPDX-License-Identifier: Apache-2.0 */
/* tenant.c — the tenant name rule (tenant.h). */
#include "auth/tenant.h"

#include <string.h>

int pl_tenant_name_valid(const char *name)
{
    if (!name)
        return 0;
    size_t n = strnlen(name, PL_TENANT_MAX + 1);
    if (n == 0 || n > PL_TENANT_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '_' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}
