/* SPDX-License-Identifier: Apache-2.0 */
/*
 * subscription.h — NGSI-LD Subscriptions (GS CIM 009 V1.9.1 clauses 5.2.12 Subscription, 5.2.13
 * GeoQuery, 5.2.14 NotificationParams, 5.2.15 Endpoint, 5.2.22 KeyValuePair, 5.2.33
 * EntitySelector, 5.8.1 create, 5.8.2 update, 5.8.6 notification behaviour, 7.2 MQTT): parse and
 * validate, PATCH merge, the stored form, the GET representation, matching one entity change,
 * and the notification payload.
 *
 * Pure logic, no I/O (apart from reading the clock in pl_sub_parse/pl_sub_patch and random bytes
 * for new ids). A struct pl_sub is immutable once built: any number of threads may read it.
 *
 * ---------------------------------------------------------------------------------------------
 * CHOICES (where 5.2.12 / 5.8.x leave room or are silent)
 *  - "type" is required and must be "Subscription" (5.2.12 cardinality 1).
 *  - EntitySelector (5.2.33): "type" is required (cardinality 1) and uses the type selection
 *    language (4.17); "id" must be a URI; "idPattern" is a POSIX ERE (the q language's safety
 *    checks apply; a leading "(?i)" makes it case-insensitive), matched unanchored. When both
 *    "id" and "idPattern" are given, "id" is used and "idPattern" ignored for matching.
 *  - At least one of entities / watchedAttributes, unless localOnly is true. timeInterval > 0
 *    excludes watchedAttributes and throttling and requires entities (unless localOnly).
 *    Empty arrays (entities, watchedAttributes, notificationTrigger, notification.attributes,
 *    pick, omit) are refused. pick and omit together are refused.
 *  - notificationTrigger default: attributeCreated + attributeUpdated. "entityUpdated" stands
 *    for attributeCreated + attributeUpdated + attributeDeleted.
 *  - format: "normalized", "keyValues", "simplified" (= keyValues), "concise". showChanges with
 *    keyValues/simplified is refused (5.2.14).
 *  - endpoint.uri: http, https (host required, numeric port 1..65535) or mqtt, mqtts (host and a
 *    topic required: mqtt[s]://[user[:pass]@]host[:port]/topic[/sub]*). accept: application/json
 *    (default), application/ld+json, application/geo+json. receiverInfo / notifierInfo: arrays of
 *    {"key": non-empty string, "value": string}; notifierInfo "MQTT-Version" must be mqtt3.1.1 or
 *    mqtt5.0 and "MQTT-QoS" "0", "1" or "2" (KeyValuePair values are strings). timeout,
 *    cooldown: numbers > 0.
 *  - jsonldContext: a URI (the caller resolves it: LdContextNotAvailable / BadRequestData). When
 *    the client sets none, the api layer records the creation @context's URL in it
 *    (pl_api_context_url), so GET shows the context notifications use.
 *  - expiresAt must be in the future on create, and on PATCH when the fragment sets it (5.8.2).
 *    A PATCH setting expiresAt but not isActive on an expired subscription makes it active
 *    (isActive true), as 5.8.2.4 says; isActive true on an expired one leaves it expired.
 *  - Read-only members (status, and notification.status, timesSent, timesFailed,
 *    lastNotification, lastSuccess, lastFailure, plus createdAt/modifiedAt) are IGNORED (5.2.12).
 *  - temporalQ (5.2.21) is validated, kept and shown; 5.2.12 applies it only to Context
 *    Registration Subscriptions, which Polis does not have, so it selects nothing here.
 *    jsonKeys (comma-separated attribute names) is validated, kept and shown; values are never
 *    expanded with the @context in Polis (no expandValues), so they are already uninterpreted.
 *    ngsildConformance ("major.minor", 1.0 ..) is kept and shown, and every notification
 *    undergoes the 4.3.6.8 fallbacks to that version (ngsild/conform.h).
 *  - Members not implemented are refused with OperationNotSupported (422): csf, expandValues.
 *  - notification.join ("flat", "inline", "@none") and notification.joinLevel (an integer 1..8,
 *    default 1): Linked Entity Retrieval (4.5.23, ngsild/linked.h) in notifications, with the
 *    Linked Entities read when the notification is rendered (pl_sub_render_item_linked).
 *  - datasetId (5.2.12, 5.8.6): a non-empty array of URIs or "@none" (the default instances).
 *    Notifications (on change and periodic) show only the selected instances of each attribute
 *    (an attribute without one is left out), and only changes of selected instances trigger
 *    (attributeCreated / Updated / Deleted are judged on them; entityCreated / entityDeleted
 *    are not affected). q, scopeQ and geoQ still look at the whole entity.
 *    splitEntities is accepted and ignored (no federation). Other unknown members are ignored
 *    (JSON-LD drops terms it cannot expand) and not stored.
 *  - PATCH (5.8.2, 5.5.8): every top-level member of the fragment replaces the stored one as a
 *    whole, "notification" included (a notification without an endpoint is refused, not merged
 *    into the old one). A top-level member set to JSON null or "urn:ngsi-ld:null" is removed. "id",
 * when present, must equal the subscription's id; "type", when present, must be "Subscription". The
 * merged result is validated as a whole (e.g. adding timeInterval to a subscription with
 * watchedAttributes fails until watchedAttributes is removed in the same PATCH). The @context of
 * the PATCH request expands the fragment's names; the subscription keeps the @context it was
 * created with (for notifications), unless jsonldContext is set.
 *  - GET compacts watchedAttributes, notification.attributes/pick/omit, geoQ.geoproperty and the
 *    names inside q and the entity type selections with the GET request's @context; a name whose
 *    compact form q / the type language cannot write (e.g. a full IRI holding '.') stays as
 *    originally written.
 *  - GET shows the members the client set, the default notificationTrigger (attributeCreated,
 *    attributeUpdated) when none was set, isActive only when the client set it (its state is in
 *    the read-only status), and the notification counters only once they have a value
 *    (timesSent / timesFailed >= 1, the times once they happened).
 *  - status (GET): "expired" when expiresAt <= now, else "paused" when isActive is false, else
 *    "active". notification.status: "failed" when the last attempt failed, "ok" when it
 *    succeeded, absent before the first notification (derived from lastSuccess / lastFailure,
 *    so it survives a restart with them).
 *  - The notification status counters (timesSent, timesFailed, lastNotification, lastSuccess,
 *    lastFailure) are kept in the stored form under "notificationStatus" (pl_sub_stored_set_
 *    status), apart from the subscription itself: pl_sub_to_stored never writes them and
 *    pl_sub_from_stored / PATCH never read them, so a payload cannot set them. The notifier
 *    writes them periodically, not per notification: a crash loses at most the increments of
 *    the last flush interval (notify/notifier.h, PERSISTENCE).
 *  - No "triggerReason" member in notifications: 5.3.1 (V1.9.1) has none for entity
 *    notifications. TriggerReasonEnumeration (5.3.3: newlyMatching, updated, noLongerMatching)
 *    belongs to CSourceNotification (5.3.2, 5.11.7), i.e. Context Source Registration
 *    subscriptions, which Polis does not implement; notificationTrigger values (entityCreated,
 *    ...) are subscription members (5.2.12), not notification members.
 *
 * MATCHING (pl_sub_match). A change fires only when the subscription is active and not expired,
 * has no timeInterval (periodic subscriptions notify on time, not on changes: use
 * pl_sub_match_entity), the entity passes an EntitySelector (id, idPattern, type selection on
 * the types of `after`, or of `before` for a deletion; no selectors: any entity), the change
 * carries one of the requested triggers, and q / scopeQ / geoQ hold on `after` (on `before` for
 * a deletion). A geoQ that the evaluator cannot decide (-1) does not match. Triggers:
 *    before == NULL  entityCreated, and attributeCreated when the new entity has a watched
 *                    attribute (any attribute without watchedAttributes)
 *    after == NULL   entityDeleted only (deleting an entity is not attributeDeleted)
 *    both            per watched attribute (all without watchedAttributes), per instance
 *                    (datasetId): a new instance is attributeCreated, a removed one
 *                    attributeDeleted, one that differs (any member, sub-attributes included,
 *                    createdAt/modifiedAt ignored) attributeUpdated. An update that writes the
 *                    same value is NOT a change (5.8.6: "updated with a value different than
 *                    the existing one"); a new observedAt is a change. entityUpdated when any of
 *                    these happened, or, without watchedAttributes, when the types or scopes
 *                    changed. entityCreated/entityDeleted do not look at watchedAttributes.
 * The result is the set of those triggers the subscription asked for (entityUpdated asked
 * means the three attribute triggers too).
 *
 * NOTIFICATION (pl_sub_notification, 5.3.1 + 5.8.6): {"id": "urn:ngsi-ld:Notification:<uuid>",
 * "type": "Notification", "subscriptionId", "notifiedAt", "data"}, with "@context" for
 * application/ld+json. "data" is an array of entities rendered with format / attributes / pick /
 * omit / sysAttrs / lang, or for application/geo+json a FeatureCollection whose features take
 * their geometry from the geoQ geoproperty (default location). Per change:
 *  - updated entity: the current entity; each attribute instance that disappeared becomes
 *    "name": "urn:ngsi-ld:null", or, when a datasetId, sysAttrs (deletedAt = modifiedAt of
 *    `after`) or showChanges requires more, an object whose payload member (value, object,
 *    languageMap {"@none": ...}, ...) is "urn:ngsi-ld:null". keyValues: only wholly deleted
 *    attributes are shown ("urn:ngsi-ld:null", or {"dataset": {...}}).
 *  - showChanges: each rendered instance that existed in `before` and changed gets the previous
 *    payload as
 *    previousValue / previousObject / previousLanguageMap / previousVocab / previousJson /
 *    previousValueList / previousObjectList (concise bare values become {"value": v, ...}).
 *  - deleted entity: id, type and deletedAt (the "deletedAt" member of `before` when the caller
 *    set one, else now), createdAt/modifiedAt with sysAttrs; with showChanges also every
 *    (projected) attribute as deleted with its previous payload.
 */
#ifndef PL_SUBS_SUBSCRIPTION_H
#define PL_SUBS_SUBSCRIPTION_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "base/err.h"
#include "ngsild/context.h"
#include "ngsild/projection.h"
#include "query/geoq.h"
#include "query/q.h"
#include "query/scopeq.h"
#include "query/typesel.h"

enum pl_sub_trigger {
    PL_TRIG_ENTITY_CREATED = 1,
    PL_TRIG_ENTITY_UPDATED = 2,
    PL_TRIG_ENTITY_DELETED = 4,
    PL_TRIG_ATTR_CREATED = 8,
    PL_TRIG_ATTR_UPDATED = 16,
    PL_TRIG_ATTR_DELETED = 32
};
#define PL_TRIG_DEFAULT (PL_TRIG_ATTR_CREATED | PL_TRIG_ATTR_UPDATED)

enum pl_sub_format {
    PL_SUB_FMT_NORMALIZED,
    PL_SUB_FMT_KEYVALUES,
    PL_SUB_FMT_SIMPLIFIED, /* synonym of keyValues, kept as written */
    PL_SUB_FMT_CONCISE
};

enum pl_sub_accept { PL_SUB_ACCEPT_JSON, PL_SUB_ACCEPT_LDJSON, PL_SUB_ACCEPT_GEOJSON };

struct pl_sub_kv {
    char *key;
    char *value;
};

/* One EntitySelector (5.2.33). */
struct pl_sub_selector {
    char *id;              /* NULL when absent */
    char *id_pattern;      /* NULL when absent */
    char *type;            /* the type selection as written */
    struct pl_typesel *ts; /* parsed, names resolved (name_iri) */
    void *re;              /* private: the compiled idPattern (regex_t) */
};

/* A parsed, validated subscription. Read-only for callers. Strings are NUL-terminated;
 * optional members are NULL / 0 when absent. Names are EXPANDED IRIs. */
struct pl_sub {
    char *id;
    char *name; /* subscriptionName */
    char *description;
    struct pl_sub_selector *entities;
    size_t n_entities;
    char **watched; /* watchedAttributes */
    size_t n_watched;
    char **dataset_ids; /* datasetId: the attribute instances selected ("@none": default) */
    size_t n_dataset_ids;
    unsigned triggers; /* PL_TRIG_* effective (PL_TRIG_DEFAULT when not given) */
    int triggers_given;
    char *q_text;         /* q as written */
    struct pl_q_node *q;  /* parsed, resolved (path_iri) */
    struct pl_geoq *geoq; /* geoq->geoproperty is the expanded IRI */
    char *scopeq_text;
    struct pl_scopeq *scopeq;
    char *lang;
    int64_t expires_at_ms; /* 0 = never */
    int is_active;
    int is_active_given; /* isActive was set by the client (shown only then) */
    int local_only;
    double throttling;       /* seconds, 0 = none */
    double time_interval;    /* seconds, 0 = none (not periodic) */
    char *jsonld_context;    /* jsonldContext URI */
    json_t *temporal_q;      /* temporalQ (5.2.21) as given, validated; NULL when absent */
    char *json_keys;         /* jsonKeys as given (comma-separated attribute names) */
    char *conformance;       /* ngsildConformance as given ("major.minor") */
    int conformance_version; /* its pl_conform_version; 0 when absent */
    json_t *context;         /* the @context value the subscription was created with (JSON null =
                                core only); never NULL */
    /* notification (5.2.14) */
    char **attrs; /* notification.attributes */
    size_t n_attrs;
    char **pick; /* notification.pick, its top-level terms: "id", "type", "scope" or IRIs */
    size_t n_pick;
    char **omit; /* notification.omit, the terms it removes from the entity itself (those
                    written without "{...}": "rel{a}" removes a from rel's Linked Entities) */
    size_t n_omit;
    struct pl_proj *pick_proj; /* the whole 4.21 projections, with their "rel{...}" terms for */
    struct pl_proj *omit_proj; /* Linked Entity Retrieval (notification.join); NULL if absent */
    enum pl_sub_format format;
    int format_given;
    int sys_attrs, show_changes;
    int join;       /* notification.join: an enum pl_join (ngsild/linked.h), 0 = none */
    int join_level; /* notification.joinLevel; 0 = not given (1) */
    /* notification.endpoint (5.2.15) */
    char *uri;
    enum pl_sub_accept accept;
    int accept_given;
    struct pl_sub_kv *receiver_info;
    size_t n_receiver_info;
    struct pl_sub_kv *notifier_info;
    size_t n_notifier_info;
    double timeout_ms, cooldown_ms; /* 0 = not given */
    int mqtt;                       /* uri is mqtt:// or mqtts:// */
    int mqtt_qos;                   /* notifierInfo MQTT-QoS, default 0 */
    int mqtt_v5;                    /* notifierInfo MQTT-Version: 1 mqtt5.0 (default), 0 3.1.1 */
    /* The principal that created it, as it was then (auth/owner.h; one reference; NULL: auth
     * off or created before owners were recorded). Set by the api layer after pl_sub_parse,
     * kept by pl_sub_patch, stored as "polis:owner" by pl_sub_to_stored and read back only by
     * pl_sub_from_stored (never from a client payload), never shown by pl_sub_render. */
    struct pl_principal *owner;
    /* private: index keys */
    char **type_keys_;
    size_t n_type_keys_;
    int any_type_;
};

/* Secrets (docs/security.md "Tenants and secrets"): a GET representation (pl_sub_render's)
 * with the credentials replaced by PL_SUB_REDACTED: the password of the endpoint URI's userinfo
 * (a userinfo without password entirely), every receiverInfo value, and every notifierInfo value
 * but MQTT-Version and MQTT-QoS. `rendered` is modified in place. */
#define PL_SUB_REDACTED "***"
void pl_sub_redact(json_t *rendered);
/* 1 when a and b send to the same endpoint with the same credentials (uri, receiverInfo,
 * notifierInfo). */
int pl_sub_same_endpoint(const struct pl_sub *a, const struct pl_sub *b);

/* A new subscription id "urn:ngsi-ld:Subscription:<uuid v4>" (malloc'd; NULL: out of memory). */
char *pl_sub_new_id(void);

/*
 * Parses a Subscription payload (POST /subscriptions body, "@context" removed by the caller) with
 * `ctx` into a NEW struct pl_sub (*out). The subscription remembers pl_ctx_source(ctx). `id` may
 * be absent: s->id is then NULL and the caller sets it (free()able: s->id = pl_sub_new_id()).
 * Returns 0, or PL_EBADREQUESTDATA with a detail "<member path>: <why>", PL_EOPNOTSUPPORTED for
 * members not implemented, PL_ENOMEM. pl_sub_parse_at takes the current time (expiresAt check).
 */
int pl_sub_parse(const json_t *payload, const struct pl_ctx *ctx, struct pl_sub **out,
                 struct pl_err *err);
int pl_sub_parse_at(const json_t *payload, const struct pl_ctx *ctx, int64_t now_ms,
                    struct pl_sub **out, struct pl_err *err);

/* PATCH /subscriptions/{id} (5.8.2): `cur` borrowed; a NEW struct pl_sub in *out. See CHOICES. */
int pl_sub_patch(const struct pl_sub *cur, const json_t *fragment, const struct pl_ctx *ctx,
                 struct pl_sub **out, struct pl_err *err);
int pl_sub_patch_at(const struct pl_sub *cur, const json_t *fragment, const struct pl_ctx *ctx,
                    int64_t now_ms, struct pl_sub **out, struct pl_err *err);

void pl_sub_free(struct pl_sub *s); /* NULL is a no-op */

/* The stored form: a JSON object with expanded names (q and type selections keep their text
 * plus a name -> IRI map), the "@context" value and jsonldContext; context-free to read back.
 * NEW reference (NULL: out of memory). */
json_t *pl_sub_to_stored(const struct pl_sub *s);
/* Reads a stored form back (validated again; expiresAt may be in the past). */
int pl_sub_from_stored(const json_t *stored, struct pl_sub **out, struct pl_err *err);

/* Status members of GET (5.2.12-2, 5.2.14). Times in ms since the epoch, 0 = never. */
struct pl_sub_status {
    int64_t times_sent, times_failed;
    int64_t last_notification_ms, last_success_ms, last_failure_ms;
};
/* The status counters in a stored form (see CHOICES): sets its "notificationStatus" member to
 * `st` (`stored` is modified, the caller keeps its reference). 0, or PL_ENOMEM. */
int pl_sub_stored_set_status(json_t *stored, const struct pl_sub_status *st);
/* Reads them back into *st: zeros for a form without them (written before they were kept) and
 * for any member that is not a non-negative integer (a damaged counter must not cost the
 * subscription). */
void pl_sub_stored_status(const json_t *stored, struct pl_sub_status *st);

/* "active" / "paused" / "expired" at now_ms. Static string. */
const char *pl_sub_status_name(const struct pl_sub *s, int64_t now_ms);

/* GET /subscriptions(/{id}): the Subscription compacted with `ctx` (no "@context" member: the
 * api layer adds it), with status and, when `st` is given, the notification status members.
 * NEW reference (NULL: out of memory). */
json_t *pl_sub_render(const struct pl_sub *s, const struct pl_ctx *ctx,
                      const struct pl_sub_status *st, int64_t now_ms);

/* Matching one change (see MATCHING): the triggers that apply (bitmask of enum pl_sub_trigger),
 * 0 when the subscription does not fire. Entities in the internal form, borrowed. */
unsigned pl_sub_match(const struct pl_sub *s, const json_t *before, const json_t *after,
                      int64_t now_ms);
/* What one entity change changed, computed once (pl_sub_change_init) and matched against any
 * number of subscriptions (pl_sub_match_change: a few string compares per subscription
 * instead of comparing the entities again). pl_sub_match(s, b, a, t) is
 * pl_sub_match_change(s, pl_sub_change_init(b, a), t). */
struct pl_sub_change_attr {
    const char *iri; /* borrowed from the entities */
    unsigned bits;   /* PL_TRIG_ATTR_CREATED / UPDATED / DELETED, never 0 */
};
struct pl_sub_change {
    const json_t *before, *after; /* borrowed */
    unsigned kind; /* PL_TRIG_ENTITY_CREATED, PL_TRIG_ENTITY_DELETED, or 0 (an update) */
    int types_or_scope_changed;
    struct pl_sub_change_attr *attrs; /* the attributes that changed (owned) */
    size_t n_attrs, cap_;
};
/* Fills *c (dispose it even on failure). 0, or PL_ENOMEM. */
int pl_sub_change_init(struct pl_sub_change *c, const json_t *before, const json_t *after);
void pl_sub_change_dispose(struct pl_sub_change *c);
unsigned pl_sub_match_change(const struct pl_sub *s, const struct pl_sub_change *c, int64_t now_ms);
/* For periodic (timeInterval) notifications: 1 when `entity` (internal form) is subscribed
 * (active, not expired, selectors, q, scopeQ, geoQ), else 0. */
int pl_sub_match_entity(const struct pl_sub *s, const json_t *entity, int64_t now_ms);
/* The name of one trigger bit ("entityCreated", ...), or of the most specific bit of a mask
 * (entity-level before attribute-level); NULL for 0. Static string. */
const char *pl_sub_trigger_name(unsigned trigger);

/* Index keys: the expanded type IRIs an entity must have one of to match (*any = 1 and 0 keys
 * when any type can match: no selectors); for a type selection with ";" (AND) the names of its
 * first member are used. Borrowed from `s`. */
size_t pl_sub_types(const struct pl_sub *s, const char *const **types, int *any);
/* The watched attribute IRIs (0 = any attribute). Borrowed from `s`. */
size_t pl_sub_watched(const struct pl_sub *s, const char *const **attrs);

/*
 * The notification payload for `n` changes of this subscription (before[i] / after[i] as for
 * pl_sub_match; `before` itself may be NULL when every before[i] is NULL, likewise `after`),
 * compacted with `ctx` (the subscription's notification context, see pl_sub_notify_context).
 * NEW reference (NULL: out of memory).
 */
json_t *pl_sub_notification(const struct pl_sub *s, const struct pl_ctx *ctx,
                            const json_t *const *before, const json_t *const *after, size_t n,
                            int64_t now_ms);

/*
 * The same notification as text, built from pre-rendered `data` elements, so that one change
 * is rendered once for every subscription that renders it alike (the notifier's cache):
 *  - pl_sub_render_sig: a NEW string (NULL: out of memory); two subscriptions with equal
 *    signatures, notified with the same compiled @context, render every change identically.
 *  - pl_sub_render_item: one element of "data" (an entity; a Feature for application/geo+json)
 *    as compact JSON text, reals shortened; NEW string and *len, NULL when the change renders
 *    nothing or out of memory (pl_sub_notification skips such a change too).
 *  - pl_sub_notification_text: appends the whole notification around `n` items to `b`; its
 *    JSON equals pl_sub_notification's for the same changes, but for the notification id.
 */
char *pl_sub_render_sig(const struct pl_sub *s);
char *pl_sub_render_item(const struct pl_sub *s, const struct pl_ctx *ctx, const json_t *before,
                         const json_t *after, int64_t now_ms, size_t *len);
/* pl_sub_render_item with Linked Entity Retrieval (notification.join): `fetch` reads the
 * Linked Entities (NULL: none are read). With join "flat" the text holds the entity followed
 * by its Linked Entities, comma-separated, so that it still fits between the items of
 * pl_sub_notification_text. */
typedef int (*pl_sub_fetch_fn)(void *ud, const char *id, json_t **out, struct pl_err *err);
char *pl_sub_render_item_linked(const struct pl_sub *s, const struct pl_ctx *ctx,
                                const json_t *before, const json_t *after, int64_t now_ms,
                                pl_sub_fetch_fn fetch, void *fetch_ud, size_t *len);
struct pl_strbuf;
/* core_only: the items were compacted with the core context because the subscription's own
 * could not be retrieved, so an application/ld+json notification names only the core context in
 * its "@context" (5.8.6: the context a body carries is the one it was compacted with). */
void pl_sub_notification_text(const struct pl_sub *s, int core_only, const char *const *items,
                              const size_t *lens, size_t n, int64_t now_ms, struct pl_strbuf *b);

/* The @context to compile for notifications and their "@context" / Link: jsonldContext when
 * set, else the creation @context (JSON null = core only). NEW reference. */
json_t *pl_sub_notify_context(const struct pl_sub *s);
/* The "@context" member value of an application/ld+json notification: the notify context
 * followed by the core context URL (just the core URL when there is none). NEW reference. */
json_t *pl_sub_context_member(const struct pl_sub *s);
/* The URL for the Link header of an application/json notification (jsonldContext, or the
 * creation @context when it is one URL string); NULL when the context is core only or inline
 * (the caller then links the core context or a hosted copy). Borrowed. */
const char *pl_sub_link_url(const struct pl_sub *s);
/* The MIME type of notification bodies ("application/json", ...). Static string. */
const char *pl_sub_accept_name(const struct pl_sub *s);

#endif
