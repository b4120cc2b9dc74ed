/* SPDX-License-Identifier: Apache-2.0 */
/*
 * context.c — compiles JSON-LD @context values into immutable active contexts and uses them to
 * expand and compact IRIs (JSON-LD 1.1 "Context Processing", "Create Term Definition", "IRI
 * Expansion" and "IRI Compaction", restricted to what NGSI-LD needs; see context.h).
 *
 * Where it sits: api/ handlers call the registry (ctxreg/), which calls pl_ctx_build with a
 * loader for remote documents; the handlers then expand keys of incoming payloads and compact
 * keys of outgoing ones with pl_ctx_expand / pl_ctx_compact. No I/O happens here.
 *
 * Policies that differ from a plain JSON-LD processor, on purpose:
 *  - The core context (v1.9) is applied LAST (NGSI-LD clause 4.4) and always wins, protected or
 *    not: its compiled term table is copied over the user's terms, and its @vocab replaces any
 *    user @vocab. A user term that redefines a protected core term is therefore not an error.
 *  - Redefining a protected USER term with a different definition keeps the protected one
 *    silently (pyld would raise "protected term redefinition").
 *  - Scoped contexts (@context inside a term definition) are accepted and ignored; @reverse and
 *    @import are rejected as unsupported (InvalidRequest); @base is accepted and ignored.
 *  - A term in the form of a compact or absolute IRI that maps to a different IRI is an
 *    "invalid IRI mapping" (BadRequestData), as in JSON-LD 1.1 and pyld.
 */
#include "ngsild/context.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/hmap.h"

extern const char pl_doc_core_v1_9[];

/* Most nested URL references (a remote context whose @context names another URL...). */
#define MAX_URL_DEPTH 8
/* Most remote documents one build may load. */
#define MAX_REMOTE_LOADS 64
/* Deepest recursion of term dependencies or nested arrays (stack safety on hostile input). */
#define MAX_RECURSION 256

/* Container flags of a term definition. */
#define CONT_LIST     0x01u
#define CONT_SET      0x02u
#define CONT_INDEX    0x04u
#define CONT_LANGUAGE 0x08u
#define CONT_GRAPH    0x10u
#define CONT_ID       0x20u
#define CONT_TYPE     0x40u

/* ------------------------------------------------------------------------------------------
 * Term definitions and the active context.
 * ---------------------------------------------------------------------------------------- */

struct tdef {
    char *name;                /* the term (owned copy) */
    char *iri;                 /* IRI mapping (owned); NULL when the term is explicitly unmapped */
    char *type_iri;            /* datatype IRI when coerce == OTHER (owned), else NULL */
    enum pl_ctx_coerce coerce; /* @type coercion */
    unsigned container;        /* CONT_* flags */
    unsigned char prefix;      /* usable as the prefix of a compact IRI */
    unsigned char protect;     /* @protected */
};

struct memo; /* see pl_ctx_compact_borrowed, at the end of this file */

struct pl_ctx {
    atomic_int refs;         /* reference count; the core singleton never drops to 0 */
    struct pl_hmap *terms;   /* term -> struct tdef * (owned) */
    struct pl_hmap *inverse; /* IRI -> struct tdef * of the best term (borrowed from terms) */
    struct tdef **prefixes;  /* terms usable as prefixes (borrowed), for compaction */
    size_t nprefixes;        /* entries in prefixes */
    char *vocab;             /* @vocab (owned), NULL when none */
    json_t *source;          /* the @context value built from (own deep copy); JSON null */
    _Atomic(struct memo *) memo; /* compaction memo of pl_ctx_compact_borrowed (owned; NULL
                                    until first used; zero from calloc) */
};

static void memo_free(struct memo *m);

static void tdef_free(void *p)
{
    struct tdef *t = p;
    if (!t)
        return;
    free(t->name);
    free(t->iri);
    free(t->type_iri);
    free(t);
}

static struct tdef *tdef_dup(const struct tdef *s)
{
    struct tdef *t = calloc(1, sizeof *t);
    if (!t)
        return NULL;
    *t = *s;
    t->name = strdup(s->name);
    t->iri = s->iri ? strdup(s->iri) : NULL;
    t->type_iri = s->type_iri ? strdup(s->type_iri) : NULL;
    if (!t->name || (s->iri && !t->iri) || (s->type_iri && !t->type_iri)) {
        tdef_free(t);
        return NULL;
    }
    return t;
}

static int str_eq(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

static char *concat(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *s = malloc(na + nb + 1);
    if (s) {
        memcpy(s, a, na);
        memcpy(s + na, b, nb + 1);
    }
    return s;
}

static const char *const keywords[] = {
    "@base",   "@container", "@context", "@direction", "@graph",     "@id",
    "@import", "@included",  "@index",   "@json",      "@language",  "@list",
    "@nest",   "@none",      "@prefix",  "@propagate", "@protected", "@reverse",
    "@set",    "@type",      "@value",   "@version",   "@vocab",
};

static int is_keyword(const char *s)
{
    if (s[0] != '@')
        return 0;
    for (size_t i = 0; i < sizeof keywords / sizeof keywords[0]; i++) {
        if (strcmp(s, keywords[i]) == 0)
            return 1;
    }
    return 0;
}

/* "@" followed by ALPHA only: reserved for future keywords; JSON-LD ignores such terms. */
static int looks_like_keyword(const char *s)
{
    if (s[0] != '@' || s[1] == '\0')
        return 0;
    for (const char *p = s + 1; *p; p++) {
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return 0;
    }
    return 1;
}

/* An IRI (absolute, or blank node "_:x") for our purposes: it has a colon not in first place. */
static int is_iri(const char *s)
{
    const char *c = strchr(s, ':');
    return c && c != s;
}

static int gen_delim_end(const char *s)
{
    size_t n = strlen(s);
    return n > 0 && strchr(":/?#[]@", s[n - 1]) != NULL;
}

/* ------------------------------------------------------------------------------------------
 * Building.
 * ---------------------------------------------------------------------------------------- */

struct build {
    struct pl_hmap *terms;            /* the active context being built: term -> tdef (owned) */
    char *vocab;                      /* current @vocab (owned) or NULL */
    pl_ctx_load_fn load;              /* loader for non-built-in URLs, may be NULL */
    void *ud;                         /* loader argument */
    struct pl_err *err;               /* where words go (may be NULL) */
    const char *stack[MAX_URL_DEPTH]; /* URLs being processed (borrowed), for cycle checks */
    int nstack;                       /* entries in stack */
    int nloads;                       /* remote documents loaded so far */
    int depth;                        /* current recursion depth */
    int core;                         /* 1 while processing the core context itself */
};

/* State of one local context (an object) being processed. */
struct local {
    json_t *obj;             /* the local context (borrowed) */
    struct pl_hmap *defined; /* term -> (void *)1 in progress, (void *)2 done */
    int protect;             /* the object's @protected default */
};

#define IN_PROGRESS ((void *)1)
#define DONE        ((void *)2)

static int create_term(struct build *b, struct local *l, const char *term);

/*
 * IRI expansion with vocab=true during context processing (JSON-LD 1.1 5.2.2). Sets *out to a
 * NEW string, or NULL when the value maps to null. Defines dependencies of the local context
 * first. Returns 0 or an error.
 */
static int expand_build(struct build *b, struct local *l, const char *v, char **out)
{
    *out = NULL;
    if (is_keyword(v) || looks_like_keyword(v)) {
        *out = strdup(v);
        return *out ? 0 : PL_ENOMEM;
    }
    if (l && json_object_get(l->obj, v) && pl_hmap_get(l->defined, v, NULL) != DONE) {
        int rc = create_term(b, l, v);
        if (rc)
            return rc;
    }
    int found;
    struct tdef *t = pl_hmap_get(b->terms, v, &found);
    if (found) {
        if (t->iri) {
            *out = strdup(t->iri);
            return *out ? 0 : PL_ENOMEM;
        }
        return 0;
    }
    const char *colon = strchr(v, ':');
    if (colon && colon != v) {
        size_t np = (size_t)(colon - v);
        if ((np == 1 && v[0] == '_') || strncmp(colon + 1, "//", 2) == 0) {
            *out = strdup(v);
            return *out ? 0 : PL_ENOMEM;
        }
        char *prefix = strndup(v, np);
        if (!prefix)
            return PL_ENOMEM;
        int rc = 0;
        if (l && json_object_get(l->obj, prefix) && pl_hmap_get(l->defined, prefix, NULL) != DONE)
            rc = create_term(b, l, prefix);
        struct tdef *p = rc ? NULL : pl_hmap_get(b->terms, prefix, NULL);
        free(prefix);
        if (rc)
            return rc;
        if (p && p->iri && p->prefix)
            *out = concat(p->iri, colon + 1);
        else
            *out = strdup(v);
        return *out ? 0 : PL_ENOMEM;
    }
    if (b->vocab)
        *out = concat(b->vocab, v);
    else
        *out = strdup(v); /* document-relative: no base, so it stays relative */
    return *out ? 0 : PL_ENOMEM;
}

static int bad(struct build *b, const char *what, const char *term)
{
    return pl_err_set(b->err, PL_EBADREQUESTDATA, "Invalid @context: %s (term '%.200s')", what,
                      term);
}

static int parse_container(struct build *b, const char *term, json_t *c, unsigned *out)
{
    static const struct {
        const char *name;
        unsigned flag;
    } names[] = {{"@list", CONT_LIST},         {"@set", CONT_SET},     {"@index", CONT_INDEX},
                 {"@language", CONT_LANGUAGE}, {"@graph", CONT_GRAPH}, {"@id", CONT_ID},
                 {"@type", CONT_TYPE}};
    *out = 0;
    if (json_is_null(c))
        return 0;
    size_t n = json_is_array(c) ? json_array_size(c) : 1;
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_is_array(c) ? json_array_get(c, i) : c;
        const char *s = json_string_value(e);
        size_t k = 0;
        for (; s && k < sizeof names / sizeof names[0]; k++) {
            if (strcmp(s, names[k].name) == 0)
                break;
        }
        if (!s || k == sizeof names / sizeof names[0])
            return bad(b, "invalid container mapping", term);
        *out |= names[k].flag;
    }
    return 0;
}

/* JSON-LD 1.1 4.2.2 Create Term Definition, for `term` of local context `l`. */
static int create_term(struct build *b, struct local *l, const char *term)
{
    void *state = pl_hmap_get(l->defined, term, NULL);
    if (state == DONE)
        return 0;
    if (state == IN_PROGRESS)
        return bad(b, "cyclic IRI mapping", term);
    if (term[0] == '\0')
        return bad(b, "invalid term definition (empty term)", term);
    if (b->depth >= MAX_RECURSION)
        return bad(b, "term definitions nested too deeply", term);
    if (pl_hmap_put(l->defined, term, IN_PROGRESS))
        return PL_ENOMEM;
    json_t *value = json_object_get(l->obj, term);

    if (strcmp(term, "@type") == 0) {
        /* JSON-LD 1.1 allows "@type": {"@container": "@set", "@protected": ...} only. */
        const char *k;
        json_t *v;
        if (!json_is_object(value))
            return bad(b, "keyword redefinition", term);
        json_object_foreach(value, k, v)
        {
            if (strcmp(k, "@container") == 0) {
                if (!json_is_string(v) || strcmp(json_string_value(v), "@set") != 0)
                    return bad(b, "keyword redefinition", term);
            } else if (strcmp(k, "@protected") != 0) {
                return bad(b, "keyword redefinition", term);
            }
        }
        return pl_hmap_put(l->defined, term, DONE);
    }
    if (is_keyword(term))
        return bad(b, "keyword redefinition", term);
    if (looks_like_keyword(term))
        return pl_hmap_put(l->defined, term, DONE); /* ignored, as JSON-LD says */

    int simple = 0;
    json_t *id = NULL;
    int has_id = 0;
    if (json_is_null(value)) {
        has_id = 1; /* {"@id": null} */
    } else if (json_is_string(value)) {
        simple = 1;
        has_id = 1;
        id = value;
    } else if (json_is_object(value)) {
        static const char *const allowed[] = {"@id",        "@reverse", "@container", "@context",
                                              "@language",  "@nest",    "@prefix",    "@type",
                                              "@protected", "@index",   "@direction"};
        const char *k;
        json_t *v;
        json_object_foreach(value, k, v)
        {
            size_t i = 0;
            for (; i < sizeof allowed / sizeof allowed[0]; i++) {
                if (strcmp(k, allowed[i]) == 0)
                    break;
            }
            if (i == sizeof allowed / sizeof allowed[0])
                return bad(b, "invalid term definition", term);
        }
        if (json_object_get(value, "@reverse"))
            return pl_err_set(b->err, PL_EINVALIDREQUEST,
                              "Unsupported @context feature: @reverse (term '%.200s')", term);
        id = json_object_get(value, "@id");
        has_id = id != NULL;
    } else {
        return bad(b, "invalid term definition", term);
    }

    if (id && json_is_string(id) && strcmp(json_string_value(id), term) == 0) {
        has_id = 0; /* "@id" equal to the term: treated as absent (1.1 step 14) */
        id = NULL;
    }
    if (json_is_null(id))
        id = NULL; /* {"@id": null}: an explicitly unmapped term */

    struct tdef def = {0};
    int rc = 0;
    def.protect = (unsigned char)l->protect;
    b->depth++;

    if (json_is_object(value)) {
        json_t *pv = json_object_get(value, "@protected");
        if (pv) {
            if (!json_is_boolean(pv)) {
                rc = bad(b, "invalid @protected value", term);
                goto out;
            }
            def.protect = json_is_true(pv);
        }
        json_t *tv = json_object_get(value, "@type");
        if (tv) {
            if (!json_is_string(tv)) {
                rc = bad(b, "invalid type mapping", term);
                goto out;
            }
            char *t = NULL;
            rc = expand_build(b, l, json_string_value(tv), &t);
            if (rc)
                goto out;
            if (!t) {
                rc = bad(b, "invalid type mapping", term);
                goto out;
            }
            if (strcmp(t, "@id") == 0) {
                def.coerce = PL_CTX_COERCE_ID;
            } else if (strcmp(t, "@vocab") == 0) {
                def.coerce = PL_CTX_COERCE_VOCAB;
            } else if (strcmp(t, "@json") == 0) {
                def.coerce = PL_CTX_COERCE_JSON;
            } else if (strcmp(t, "@none") == 0) {
                def.coerce = PL_CTX_COERCE_NONE;
            } else if (t[0] != '@' && is_iri(t)) {
                def.coerce = PL_CTX_COERCE_OTHER;
                def.type_iri = t;
                t = NULL;
            } else {
                free(t);
                rc = bad(b, "invalid type mapping", term);
                goto out;
            }
            free(t);
        }
    }

    const char *colon = strchr(term, ':');
    if (has_id) {
        if (id && !json_is_string(id)) {
            rc = bad(b, "invalid IRI mapping", term);
            goto out;
        }
        if (id) {
            const char *s = json_string_value(id);
            if (!is_keyword(s) && looks_like_keyword(s)) {
                rc = pl_hmap_put(l->defined, term, DONE); /* ignored term */
                goto out_nodef;
            }
            rc = expand_build(b, l, s, &def.iri);
            if (rc)
                goto out;
            if (!def.iri || (!is_keyword(def.iri) && !is_iri(def.iri))) {
                rc = bad(b, "invalid IRI mapping: @id is not an IRI, compact IRI or keyword", term);
                goto out;
            }
            if (strcmp(def.iri, "@context") == 0) {
                rc = bad(b, "invalid keyword alias", term);
                goto out;
            }
            size_t n = strlen(term);
            if ((colon && colon != term && colon != term + n - 1) || strchr(term, '/')) {
                /* A term in the form of an IRI must expand to its own mapping (1.1 step 14.2.3). */
                char *self = NULL;
                rc = pl_hmap_put(l->defined, term, DONE);
                if (!rc)
                    rc = expand_build(b, l, term, &self);
                if (!rc && !str_eq(self, def.iri))
                    rc = bad(b,
                             "invalid IRI mapping: a term in the form of an IRI must expand "
                             "to the same IRI",
                             term);
                free(self);
                if (rc)
                    goto out;
            }
            if (!colon && !strchr(term, '/') && simple &&
                (gen_delim_end(def.iri) || strncmp(def.iri, "_:", 2) == 0))
                def.prefix = 1;
        }
    } else if (colon && colon != term) {
        size_t np = (size_t)(colon - term);
        char *prefix = strndup(term, np);
        if (!prefix) {
            rc = PL_ENOMEM;
            goto out;
        }
        if (json_object_get(l->obj, prefix))
            rc = create_term(b, l, prefix);
        struct tdef *p = rc ? NULL : pl_hmap_get(b->terms, prefix, NULL);
        free(prefix);
        if (rc)
            goto out;
        def.iri = (p && p->iri) ? concat(p->iri, colon + 1) : strdup(term);
        if (!def.iri) {
            rc = PL_ENOMEM;
            goto out;
        }
    } else if (strchr(term, '/')) {
        rc = expand_build(b, l, term, &def.iri);
        if (rc)
            goto out;
        if (!def.iri || !is_iri(def.iri)) {
            rc = bad(b, "invalid IRI mapping", term);
            goto out;
        }
    } else if (b->vocab) {
        def.iri = concat(b->vocab, term);
        if (!def.iri) {
            rc = PL_ENOMEM;
            goto out;
        }
    } else {
        rc = bad(b, "invalid IRI mapping: relative term without @vocab", term);
        goto out;
    }

    if (json_is_object(value)) {
        json_t *cv = json_object_get(value, "@container");
        if (cv && (rc = parse_container(b, term, cv, &def.container)) != 0)
            goto out;
        json_t *pf = json_object_get(value, "@prefix");
        if (pf) {
            if (!json_is_boolean(pf) || colon || strchr(term, '/')) {
                rc = bad(b, "invalid @prefix value", term);
                goto out;
            }
            def.prefix = json_is_true(pf);
            if (def.prefix && def.iri && is_keyword(def.iri)) {
                rc = bad(b, "invalid term definition: a keyword cannot be a prefix", term);
                goto out;
            }
        }
    }

    struct tdef *prev = pl_hmap_get(b->terms, term, NULL);
    if (prev && prev->protect && !b->core) {
        /* Protected: keep the earlier definition (our lenient policy, see the file header). */
        rc = pl_hmap_put(l->defined, term, DONE);
        goto out;
    }
    def.name = strdup(term);
    struct tdef *t = def.name ? tdef_dup(&def) : NULL;
    if (!t) {
        rc = PL_ENOMEM;
        goto out;
    }
    rc = pl_hmap_put(b->terms, term, t);
    if (rc) {
        tdef_free(t);
        goto out;
    }
    rc = pl_hmap_put(l->defined, term, DONE);
out:
    free(def.name);
    free(def.iri);
    free(def.type_iri);
out_nodef:
    b->depth--;
    return rc;
}

static int process(struct build *b, json_t *value);

static int has_protected(struct build *b)
{
    size_t pos = 0;
    const char *k;
    void *v;
    while (pl_hmap_next(b->terms, &pos, &k, &v)) {
        if (((struct tdef *)v)->protect)
            return 1;
    }
    return 0;
}

/* JSON-LD 1.1 4.1.2 step 5.5 onwards, for one object. */
static int process_object(struct build *b, json_t *obj)
{
    json_t *v;
    if (json_object_get(obj, "@import"))
        return pl_err_set(b->err, PL_EINVALIDREQUEST, "Unsupported @context feature: @import");
    if ((v = json_object_get(obj, "@version")) != NULL) {
        if (!json_is_number(v) || json_number_value(v) != 1.1)
            return bad(b, "invalid @version value", "@version");
    }
    if ((v = json_object_get(obj, "@base")) != NULL && !json_is_string(v) && !json_is_null(v))
        return bad(b, "invalid base IRI", "@base");
    if ((v = json_object_get(obj, "@language")) != NULL && !json_is_string(v) && !json_is_null(v))
        return bad(b, "invalid default language", "@language");
    if ((v = json_object_get(obj, "@direction")) != NULL && !json_is_null(v) &&
        !(json_is_string(v) &&
          (strcmp(json_string_value(v), "ltr") == 0 || strcmp(json_string_value(v), "rtl") == 0)))
        return bad(b, "invalid base direction", "@direction");
    if ((v = json_object_get(obj, "@propagate")) != NULL && !json_is_boolean(v))
        return bad(b, "invalid @propagate value", "@propagate");
    struct local l = {obj, NULL, 0};
    if ((v = json_object_get(obj, "@protected")) != NULL) {
        if (!json_is_boolean(v))
            return bad(b, "invalid @protected value", "@protected");
        l.protect = json_is_true(v);
    }
    if ((v = json_object_get(obj, "@vocab")) != NULL) {
        if (json_is_null(v)) {
            free(b->vocab);
            b->vocab = NULL;
        } else if (!json_is_string(v)) {
            return bad(b, "invalid vocab mapping", "@vocab");
        } else {
            char *nv = NULL;
            int rc = expand_build(b, NULL, json_string_value(v), &nv);
            if (rc)
                return rc;
            if (!nv || !is_iri(nv) || nv[0] == '@') {
                free(nv);
                return bad(b, "invalid vocab mapping", "@vocab");
            }
            free(b->vocab);
            b->vocab = nv;
        }
    }
    l.defined = pl_hmap_new(NULL);
    if (!l.defined)
        return PL_ENOMEM;
    int rc = 0;
    const char *k;
    json_object_foreach(obj, k, v)
    {
        if (strcmp(k, "@base") == 0 || strcmp(k, "@direction") == 0 ||
            strcmp(k, "@language") == 0 || strcmp(k, "@propagate") == 0 ||
            strcmp(k, "@protected") == 0 || strcmp(k, "@version") == 0 || strcmp(k, "@vocab") == 0)
            continue;
        if ((rc = create_term(b, &l, k)) != 0)
            break;
    }
    pl_hmap_free(l.defined);
    return rc;
}

static int process_url(struct build *b, const char *url)
{
    for (int i = 0; i < b->nstack; i++) {
        if (strcmp(b->stack[i], url) == 0)
            return pl_err_set(b->err, PL_EBADREQUESTDATA,
                              "Invalid @context: recursive context inclusion of %.300s", url);
    }
    if (b->nstack >= MAX_URL_DEPTH || b->nloads >= MAX_REMOTE_LOADS)
        return pl_err_set(b->err, PL_EBADREQUESTDATA,
                          "Invalid @context: too many nested or remote contexts (at %.300s)", url);
    b->nloads++;
    json_t *doc = NULL;
    const char *text = pl_ctx_builtin_doc(url);
    if (text) {
        doc = json_loads(text, 0, NULL);
        if (!doc)
            return pl_err_set(b->err, PL_EINTERNAL, "Built-in context %.300s does not parse", url);
    } else if (!b->load) {
        return pl_err_set(b->err, PL_ELDCONTEXT, "JSON-LD @context not available: %.300s", url);
    } else {
        int rc = b->load(b->ud, url, &doc, b->err);
        if (rc)
            return rc;
        if (!doc)
            return pl_err_set(b->err, PL_ELDCONTEXT, "JSON-LD @context not available: %.300s", url);
    }
    json_t *c = json_is_object(doc) ? json_object_get(doc, "@context") : NULL;
    int rc;
    if (!c) {
        rc = pl_err_set(b->err, PL_EBADREQUESTDATA,
                        "Invalid remote context %.300s: no @context member", url);
    } else {
        b->stack[b->nstack++] = url;
        rc = process(b, c);
        b->nstack--;
    }
    json_decref(doc);
    return rc;
}

/* JSON-LD 1.1 4.1.2 Context Processing for any @context value. */
static int process(struct build *b, json_t *value)
{
    if (b->depth >= MAX_RECURSION)
        return bad(b, "contexts nested too deeply", "");
    int rc = 0;
    b->depth++;
    if (json_is_null(value)) {
        if (has_protected(b)) {
            rc = bad(b, "invalid context nullification (protected terms)", "");
        } else {
            pl_hmap_clear(b->terms);
            free(b->vocab);
            b->vocab = NULL;
        }
    } else if (json_is_string(value)) {
        rc = process_url(b, json_string_value(value));
    } else if (json_is_array(value)) {
        for (size_t i = 0; i < json_array_size(value) && !rc; i++)
            rc = process(b, json_array_get(value, i));
    } else if (json_is_object(value)) {
        rc = process_object(b, value);
    } else {
        rc =
            pl_err_set(b->err, PL_EBADREQUESTDATA, "Invalid @context: invalid local context (a %s)",
                       json_is_number(value) ? "number" : "boolean");
    }
    b->depth--;
    return rc;
}

/* ------------------------------------------------------------------------------------------
 * Finishing: inverse table and prefix list.
 * ---------------------------------------------------------------------------------------- */

/* 1 when term `a` should be preferred over `b` (shortest, then lexicographically least). */
static int better(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    return na < nb || (na == nb && strcmp(a, b) < 0);
}

static int finish(struct pl_ctx *c)
{
    c->inverse = pl_hmap_new(NULL);
    size_t n = pl_hmap_count(c->terms);
    c->prefixes = calloc(n ? n : 1, sizeof *c->prefixes);
    if (!c->inverse || !c->prefixes)
        return PL_ENOMEM;
    size_t pos = 0;
    const char *k;
    void *v;
    while (pl_hmap_next(c->terms, &pos, &k, &v)) {
        struct tdef *t = v;
        if (!t->iri)
            continue;
        struct tdef *cur = pl_hmap_get(c->inverse, t->iri, NULL);
        if (!cur || better(t->name, cur->name)) {
            if (pl_hmap_put(c->inverse, t->iri, t))
                return PL_ENOMEM;
        }
        if (t->prefix && !is_keyword(t->iri))
            c->prefixes[c->nprefixes++] = t;
    }
    return 0;
}

static void ctx_free(struct pl_ctx *c)
{
    memo_free(atomic_load(&c->memo));
    pl_hmap_free(c->inverse);
    pl_hmap_free(c->terms);
    free(c->prefixes);
    free(c->vocab);
    json_decref(c->source);
    free(c);
}

/* ------------------------------------------------------------------------------------------
 * The core singleton.
 * ---------------------------------------------------------------------------------------- */

static pthread_once_t core_once = PTHREAD_ONCE_INIT;
static struct pl_ctx *core_ctx;

static void core_init(void)
{
    struct build b = {0};
    struct pl_ctx *c = calloc(1, sizeof *c);
    json_t *doc = json_loads(pl_doc_core_v1_9, 0, NULL);
    b.terms = pl_hmap_new(tdef_free);
    b.core = 1;
    if (!c || !doc || !b.terms || process(&b, json_object_get(doc, "@context")) != 0) {
        json_decref(doc);
        pl_hmap_free(b.terms);
        free(b.vocab);
        free(c);
        return;
    }
    json_decref(doc);
    atomic_init(&c->refs, 1);
    c->terms = b.terms;
    c->vocab = b.vocab;
    c->source = json_null();
    if (finish(c) != 0) {
        ctx_free(c);
        return;
    }
    core_ctx = c;
}

const struct pl_ctx *pl_ctx_core(void)
{
    pthread_once(&core_once, core_init);
    return core_ctx;
}

/* ------------------------------------------------------------------------------------------
 * Public API.
 * ---------------------------------------------------------------------------------------- */

int pl_ctx_build(json_t *value, pl_ctx_load_fn load, void *ud, struct pl_ctx **out,
                 struct pl_err *err)
{
    *out = NULL;
    const struct pl_ctx *core = pl_ctx_core();
    if (!core)
        return pl_err_set(err, PL_EINTERNAL, "The built-in core context could not be compiled");
    if (!value || json_is_null(value)) {
        *out = pl_ctx_ref((struct pl_ctx *)core);
        return 0;
    }
    struct build b = {0};
    b.load = load;
    b.ud = ud;
    b.err = err;
    b.terms = pl_hmap_new(tdef_free);
    if (!b.terms)
        return pl_err_set(err, PL_ENOMEM, "Out of memory");
    int rc = process(&b, value);

    /* NGSI-LD 4.4: the core context is applied last; its definitions and @vocab win. */
    size_t pos = 0;
    const char *k;
    void *v;
    while (!rc && pl_hmap_next(core->terms, &pos, &k, &v)) {
        struct tdef *t = tdef_dup(v);
        if (!t || pl_hmap_put(b.terms, k, t)) {
            tdef_free(t);
            rc = PL_ENOMEM;
        }
    }
    struct pl_ctx *c = NULL;
    if (!rc) {
        free(b.vocab);
        b.vocab = core->vocab ? strdup(core->vocab) : NULL;
        c = calloc(1, sizeof *c);
        if (!c || (core->vocab && !b.vocab))
            rc = PL_ENOMEM;
    }
    if (rc) {
        free(c);
        pl_hmap_free(b.terms);
        free(b.vocab);
        if (rc == PL_ENOMEM)
            pl_err_set(err, PL_ENOMEM, "Out of memory");
        return rc;
    }
    atomic_init(&c->refs, 1);
    c->terms = b.terms;
    c->vocab = b.vocab;
    c->source = json_deep_copy(value);
    if (!c->source || finish(c) != 0) {
        ctx_free(c);
        return pl_err_set(err, PL_ENOMEM, "Out of memory");
    }
    *out = c;
    return 0;
}

struct pl_ctx *pl_ctx_ref(struct pl_ctx *c)
{
    if (c)
        atomic_fetch_add(&c->refs, 1);
    return c;
}

void pl_ctx_unref(struct pl_ctx *c)
{
    if (c && atomic_fetch_sub(&c->refs, 1) == 1)
        ctx_free(c);
}

char *pl_ctx_expand(const struct pl_ctx *c, const char *term)
{
    if (!c || !term)
        return NULL;
    if (is_keyword(term))
        return strdup(term);
    int found;
    struct tdef *t = pl_hmap_get(c->terms, term, &found);
    if (found)
        return t->iri ? strdup(t->iri) : NULL;
    if (term[0] == '@')
        return strdup(term); /* keyword-like: left alone, as JSON-LD ignores it */
    const char *colon = strchr(term, ':');
    if (colon && colon != term) {
        size_t np = (size_t)(colon - term);
        if ((np == 1 && term[0] == '_') || strncmp(colon + 1, "//", 2) == 0)
            return strdup(term);
        char small[128];
        char *prefix = np < sizeof small ? small : malloc(np + 1);
        if (!prefix)
            return NULL;
        memcpy(prefix, term, np);
        prefix[np] = '\0';
        struct tdef *p = pl_hmap_get(c->terms, prefix, NULL);
        if (prefix != small)
            free(prefix);
        if (p && p->iri && p->prefix)
            return concat(p->iri, colon + 1);
        return strdup(term);
    }
    return c->vocab ? concat(c->vocab, term) : NULL;
}

/* 1 when `cand` expands back to `iri` in `c`. */
static int round_trips(const struct pl_ctx *c, const char *cand, const char *iri)
{
    char *e = pl_ctx_expand(c, cand);
    int ok = e && strcmp(e, iri) == 0;
    free(e);
    return ok;
}

char *pl_ctx_compact(const struct pl_ctx *c, const char *iri)
{
    if (!c || !iri)
        return NULL;
    struct tdef *t = pl_hmap_get(c->inverse, iri, NULL);
    if (t)
        return strdup(t->name);
    if (iri[0] == '@')
        return strdup(iri);
    /* JSON-LD IRI Compaction step 5: vocab-relative before compact IRIs. */
    if (c->vocab) {
        size_t nv = strlen(c->vocab);
        if (strncmp(iri, c->vocab, nv) == 0 && iri[nv] != '\0') {
            const char *suffix = iri + nv;
            int found;
            pl_hmap_get(c->terms, suffix, &found);
            if (!found && round_trips(c, suffix, iri))
                return strdup(suffix);
        }
    }
    char *best = NULL;
    for (size_t i = 0; i < c->nprefixes; i++) {
        const struct tdef *p = c->prefixes[i];
        size_t np = strlen(p->iri);
        if (strncmp(iri, p->iri, np) != 0 || iri[np] == '\0')
            continue;
        size_t nn = strlen(p->name), ns = strlen(iri + np);
        char *cand = malloc(nn + 1 + ns + 1);
        if (!cand) {
            free(best);
            return NULL;
        }
        memcpy(cand, p->name, nn);
        cand[nn] = ':';
        memcpy(cand + nn + 1, iri + np, ns + 1);
        if ((!best || better(cand, best)) && round_trips(c, cand, iri)) {
            free(best);
            best = cand;
        } else {
            free(cand);
        }
    }
    return best ? best : strdup(iri);
}

enum pl_ctx_coerce pl_ctx_coercion(const struct pl_ctx *c, const char *iri)
{
    struct tdef *t = (c && iri) ? pl_hmap_get(c->inverse, iri, NULL) : NULL;
    return t ? t->coerce : PL_CTX_COERCE_NONE;
}

const json_t *pl_ctx_source(const struct pl_ctx *c)
{
    return c ? c->source : NULL;
}

size_t pl_ctx_term_count(const struct pl_ctx *c)
{
    return c ? pl_hmap_count(c->terms) : 0;
}

/* ------------------------------------------------------------------------------------------
 * Memoized compaction (for the streaming renderer: no malloc per key on the read path).
 *
 * The memo is an insert-only open-addressing table of immutable entries, published with
 * atomic compare-and-swap: readers never lock and never see a half-built entry; writers race
 * only for empty slots. Entries live until the context is freed (refcount 0: no reader left).
 * It stops growing at MEMO_FILL entries; IRIs beyond that (e.g. endless distinct vocab values)
 * are compacted afresh each time and handed to the caller to free.
 * ---------------------------------------------------------------------------------------- */

#define MEMO_SLOTS 2048u /* power of two */
#define MEMO_FILL  1536u /* most entries (75 % load) */

struct memo_ent {
    uint64_t hash;   /* FNV-1a of iri */
    char *iri;       /* owned */
    char *compact;   /* owned: pl_ctx_compact(iri) */
};

struct memo {
    atomic_uint n;                               /* entries inserted (approximate bound) */
    _Atomic(struct memo_ent *) slot[MEMO_SLOTS]; /* NULL = empty */
};

static void memo_free(struct memo *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < MEMO_SLOTS; i++) {
        struct memo_ent *e = atomic_load(&m->slot[i]);
        if (e) {
            free(e->iri);
            free(e->compact);
            free(e);
        }
    }
    free(m);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static struct memo *memo_of(const struct pl_ctx *c)
{
    struct pl_ctx *m = (struct pl_ctx *)c; /* the memo is a cache: logically const */
    struct memo *t = atomic_load_explicit(&m->memo, memory_order_acquire);
    if (t)
        return t;
    struct memo *fresh = calloc(1, sizeof *fresh);
    if (!fresh)
        return NULL;
    struct memo *expected = NULL;
    if (atomic_compare_exchange_strong(&m->memo, &expected, fresh))
        return fresh;
    free(fresh); /* another thread won */
    return expected;
}

const char *pl_ctx_compact_borrowed(const struct pl_ctx *c, const char *iri, char **owned)
{
    *owned = NULL;
    if (!c || !iri)
        return NULL;
    /* A defined term: the inverse table already holds the answer, nothing to allocate. */
    const struct tdef *t = pl_hmap_get(c->inverse, iri, NULL);
    if (t)
        return t->name;
    struct memo *m = memo_of(c);
    uint64_t h = fnv1a(iri);
    size_t i = (size_t)h & (MEMO_SLOTS - 1);
    if (m) {
        for (size_t probe = 0; probe < MEMO_SLOTS; probe++, i = (i + 1) & (MEMO_SLOTS - 1)) {
            struct memo_ent *e = atomic_load_explicit(&m->slot[i], memory_order_acquire);
            if (!e)
                break;
            if (e->hash == h && strcmp(e->iri, iri) == 0)
                return e->compact;
        }
    }
    char *z = pl_ctx_compact(c, iri);
    if (!z)
        return NULL;
    if (!m || atomic_load(&m->n) >= MEMO_FILL) {
        *owned = z;
        return z;
    }
    struct memo_ent *ne = malloc(sizeof *ne);
    char *ki = strdup(iri);
    if (!ne || !ki) {
        free(ne);
        free(ki);
        *owned = z;
        return z;
    }
    ne->hash = h;
    ne->iri = ki;
    ne->compact = z;
    for (size_t probe = 0; probe < MEMO_SLOTS; probe++, i = (i + 1) & (MEMO_SLOTS - 1)) {
        struct memo_ent *expected = NULL;
        if (atomic_compare_exchange_strong(&m->slot[i], &expected, ne)) {
            atomic_fetch_add(&m->n, 1);
            return z;
        }
        if (expected->hash == h && strcmp(expected->iri, iri) == 0)
            break; /* another thread inserted the same IRI meanwhile */
    }
    /* Lost the race (or full): keep the caller's copy. */
    free(ne);
    free(ki);
    *owned = z;
    return z;
}
