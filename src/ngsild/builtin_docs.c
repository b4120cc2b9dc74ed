/* SPDX-License-Identifier: Apache-2.0 */
/*
 * builtin_docs.c — the JSON-LD documents Polis never downloads: the NGSI-LD core contexts v1.3 to
 * v1.9 and the W3C data-integrity v2 context that core v1.9 scopes under `ngsildproof`. Their
 * texts are embedded at build time from data/contexts/core/ (cmake/embed.cmake generates
 * embedded_docs.c). This file only maps URLs to those texts; parsing is context.c's job.
 */
#include <string.h>

#include "ngsild/context.h"

extern const char pl_doc_core_v1_3[];
extern const char pl_doc_core_v1_4[];
extern const char pl_doc_core_v1_5[];
extern const char pl_doc_core_v1_6[];
extern const char pl_doc_core_v1_7[];
extern const char pl_doc_core_v1_8[];
extern const char pl_doc_core_v1_9[];
extern const char pl_doc_w3id_di_v2[];

struct builtin {
    const char *rest; /* the URL without its "http://" or "https://" scheme */
    const char *text; /* the embedded document */
};

static const struct builtin builtins[] = {
    /* The unversioned URL is an alias; clients that send it today mostly mean v1.8. */
    {"uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld", pl_doc_core_v1_8},
    {"uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.3.jsonld", pl_doc_core_v1_3},
    {"uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.4.jsonld", pl_doc_core_v1_4},
    {"uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.5.jsonld", pl_doc_core_v1_5},
    {"uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.6.jsonld", pl_doc_core_v1_6},
    {"uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.7.jsonld", pl_doc_core_v1_7},
    {"uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld", pl_doc_core_v1_8},
    {"uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld", pl_doc_core_v1_9},
    {"w3id.org/security/data-integrity/v2", pl_doc_w3id_di_v2},
    {"w3id.org/security/data-integrity/v2/", pl_doc_w3id_di_v2},
    {"w3id.org/security/data-integrity/v2.jsonld", pl_doc_w3id_di_v2},
};

const char *pl_ctx_builtin_doc(const char *url)
{
    if (!url)
        return NULL;
    const char *rest;
    if (strncmp(url, "https://", 8) == 0)
        rest = url + 8;
    else if (strncmp(url, "http://", 7) == 0)
        rest = url + 7;
    else
        return NULL;
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++) {
        if (strcmp(rest, builtins[i].rest) == 0)
            return builtins[i].text;
    }
    return NULL;
}
