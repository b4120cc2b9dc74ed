# SPDX-License-Identifier: Apache-2.0
"""Subscriptions and notifications over HTTP (NGSI-LD V1.9.1 5.2.12 Subscription, 5.2.14
NotificationParams, 5.2.15 Endpoint, 5.3.1 Notification, 5.8.1-5.8.6, HTTP binding 6.10, 6.11).

Every test uses its own entity type (and receiver path), so the session broker's other
subscriptions never see its entities. Notifications go to a real HTTP server (conftest
NotifyReceiver); waits are generous wait-untils, never timing assertions."""
import datetime
import json
import re
import signal
import threading
import time
import uuid

import pytest
import requests

from conftest import CORE, LINK_REL, TIMEOUT_MULT, Polis, assert_problem, free_port, link, wait_until

LD = {"Content-Type": "application/ld+json"}
NULL = "urn:ngsi-ld:null"


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def uid():
    return uuid.uuid4().hex[:12]


def new_type():
    return "T" + uid()


def eid(t, n=None):
    return f"urn:ngsi-ld:{t}:{n if n is not None else uid()}"


def prop(v, **extra):
    return dict({"type": "Property", "value": v}, **extra)


def mk_entity(api, t, i=None, headers=None, **attrs):
    e = {"id": eid(t, i), "type": t}
    for k, v in attrs.items():
        e[k] = v if isinstance(v, dict) else prop(v)
    r = requests.post(api + "/entities", json=e, headers=headers or {})
    assert r.status_code == 201, r.text
    return e["id"]


def patch(api, id_, headers=None, **attrs):
    body = {k: (v if isinstance(v, dict) else prop(v)) for k, v in attrs.items()}
    r = requests.patch(api + "/entities/" + id_ + "/attrs", json=body, headers=headers or {})
    assert r.status_code == 204, r.text


def sub_body(uri, t=None, **members):
    notification = members.pop("notification", {})
    endpoint = notification.pop("endpoint", {})
    endpoint.setdefault("uri", uri)
    notification["endpoint"] = endpoint
    s = {"type": "Subscription", "notification": notification}
    if t is not None:
        s["entities"] = [{"type": t}]
    s.update(members)
    return s


class Subs:
    """Creates subscriptions and deletes them at the end of the test."""

    def __init__(self, api):
        self.api = api
        self.made = []

    def create(self, body, headers=None, tenant=None, api=None):
        api = api or self.api
        h = dict(headers or {})
        if tenant:
            h["NGSILD-Tenant"] = tenant
        r = requests.post(api + "/subscriptions", json=body, headers=h)
        assert r.status_code == 201, r.text
        loc = r.headers["Location"]
        assert loc.startswith("/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:"), loc
        sid = requests.utils.unquote(loc.rsplit("/", 1)[1])
        self.made.append((api, sid, tenant))
        return sid

    def get(self, sid, tenant=None, headers=None):
        h = dict(headers or {})
        if tenant:
            h["NGSILD-Tenant"] = tenant
        r = requests.get(self.api + "/subscriptions/" + sid, headers=h)
        assert r.status_code == 200, r.text
        return r.json()

    def patch(self, sid, frag, tenant=None, headers=None):
        h = dict(headers or {})
        if tenant:
            h["NGSILD-Tenant"] = tenant
        return requests.patch(self.api + "/subscriptions/" + sid, json=frag, headers=h)

    def cleanup(self):
        for api, sid, tenant in self.made:
            try:
                requests.delete(api + "/subscriptions/" + sid,
                                headers={"NGSILD-Tenant": tenant} if tenant else {}, timeout=5)
            except requests.RequestException:
                pass


@pytest.fixture
def subs(api):
    s = Subs(api)
    yield s
    s.cleanup()


@pytest.fixture
def path():
    return "/n/" + uid()


def datas(recs):
    """All entities of the notifications received, in arrival order."""
    return [d for r in recs for d in r["body"]["data"]]


def parse_time(s):
    return datetime.datetime.strptime(s.replace("Z", "+0000"), "%Y-%m-%dT%H:%M:%S.%f%z")


def iso_in(seconds):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)


# ------------------------------------------------------------------------------------------------
# CRUD (5.8.1-5.8.5, 6.10, 6.11)
# ------------------------------------------------------------------------------------------------
def test_create_201_location_and_get_active_6_10_3_1(api, subs, receiver, path):
    t = new_type()
    r = requests.post(api + "/subscriptions", json=sub_body(receiver.url(path), t))
    assert r.status_code == 201, r.text
    assert r.text == ""
    loc = r.headers["Location"]
    assert re.fullmatch(r"/ngsi-ld/v1/subscriptions/urn:ngsi-ld:Subscription:[-0-9a-f]{36}", loc)
    sid = loc.rsplit("/", 1)[1]
    subs.made.append((api, sid, None))
    g = requests.get(api + "/subscriptions/" + sid)
    assert g.status_code == 200
    assert g.headers["Content-Type"].startswith("application/json")
    assert CORE in g.headers["Link"]
    s = g.json()
    assert s["id"] == sid and s["type"] == "Subscription"
    assert s["status"] == "active" and "isActive" not in s  # not sent: not invented (5.2.12)
    assert s["entities"] == [{"type": t}]
    assert s["notification"]["endpoint"]["uri"] == receiver.url(path)
    # no notification yet: no timesSent (>= 1 when present, 5.2.14), notification.status,
    # lastNotification...
    assert "timesSent" not in s["notification"]
    assert "lastNotification" not in s["notification"]
    assert "lastSuccess" not in s["notification"]


def test_create_with_given_id_and_duplicate_409_5_8_1(api, subs, receiver, path):
    sid = "urn:ngsi-ld:Subscription:given-" + uid()
    body = dict(sub_body(receiver.url(path), new_type()), id=sid)
    assert subs.create(body) == sid
    r = requests.post(api + "/subscriptions", json=body)
    assert_problem(r, 409, "AlreadyExists")


def test_members_roundtrip_compacted_with_request_context_5_8_3(api, subs, receiver, path,
                                                               ctx_server):
    ctx_path = "/subctx-" + uid() + ".jsonld"
    ctx_server.docs[ctx_path] = {"@context": {
        "Room": "https://example.org/ns/Room",
        "Hall": "https://example.org/ns/Hall",
        "temp": "https://example.org/ns/temperature",
        "hum": "https://example.org/ns/humidity",
        "where": "https://example.org/ns/where",
    }}
    L = {"Link": link(ctx_server.url(ctx_path))}
    expires = iso_in(3600)
    body = {
        "type": "Subscription",
        "subscriptionName": "rooms",
        "description": "hot rooms",
        "entities": [{"type": "Room", "idPattern": "^urn:ngsi-ld:Room:"},
                     {"type": "Hall", "id": "urn:ngsi-ld:Hall:1"}],
        "watchedAttributes": ["temp"],
        "notificationTrigger": ["attributeCreated", "attributeUpdated", "entityDeleted"],
        "q": "temp>20;hum<80",
        "geoQ": {"geometry": "Point", "coordinates": [10.0, 20.0],
                 "georel": "near;maxDistance==2000", "geoproperty": "where"},
        "expiresAt": expires,
        "throttling": 2,
        "lang": "en",
        "notification": {
            "attributes": ["temp", "hum"],
            "format": "keyValues",
            "sysAttrs": True,
            "endpoint": {"uri": receiver.url(path), "accept": "application/ld+json",
                         "receiverInfo": [{"key": "X-Token", "value": "abc"}],
                         "notifierInfo": [{"key": "note", "value": "x"}]},
        },
    }
    sid = subs.create(body, headers=L)
    s = subs.get(sid, headers=L)
    assert s["subscriptionName"] == "rooms"
    assert s["description"] == "hot rooms"
    assert {json.dumps(x, sort_keys=True) for x in s["entities"]} == \
        {json.dumps(x, sort_keys=True) for x in body["entities"]}
    assert s["watchedAttributes"] == ["temp"]
    assert sorted(s["notificationTrigger"]) == sorted(body["notificationTrigger"])
    assert s["q"] == "temp>20;hum<80"
    assert s["geoQ"]["geometry"] == "Point"
    assert s["geoQ"]["coordinates"] in ([10.0, 20.0], [10, 20], "[10.0,20.0]", "[10,20]")
    assert s["geoQ"]["georel"] == "near;maxDistance==2000"
    assert s["geoQ"]["geoproperty"] == "where"
    assert parse_time(s["expiresAt"]) == parse_time(expires)
    assert s["throttling"] == 2
    assert s["lang"] == "en"
    n = s["notification"]
    assert sorted(n["attributes"]) == ["hum", "temp"]
    assert n["format"] == "keyValues"
    assert n["sysAttrs"] is True
    assert n["endpoint"]["uri"] == receiver.url(path)
    assert n["endpoint"]["accept"] == "application/ld+json"
    assert n["endpoint"]["receiverInfo"] == [{"key": "X-Token", "value": "abc"}]
    assert n["endpoint"]["notifierInfo"] == [{"key": "note", "value": "x"}]
    # Without the user @context the names are shown as full IRIs (5.5.7 compaction).
    s2 = subs.get(sid)
    assert s2["watchedAttributes"] == ["https://example.org/ns/temperature"]
    assert "https://example.org/ns/Room" in json.dumps(s2["entities"])
    assert sorted(s2["notification"]["attributes"]) == ["https://example.org/ns/humidity",
                                                       "https://example.org/ns/temperature"]
    # Accept application/ld+json: the @context is in the body.
    r = requests.get(api + "/subscriptions/" + sid,
                     headers=dict(L, Accept="application/ld+json"))
    assert r.status_code == 200 and "@context" in r.json()


def test_get_unknown_404_6_11_3_1(api):
    r = requests.get(api + "/subscriptions/urn:ngsi-ld:Subscription:nope-" + uid())
    assert_problem(r, 404, "ResourceNotFound")


def test_list_paged_count_and_next_link_5_8_4(api, subs, receiver, path):
    tenant = "subs" + uid()
    # the tenant exists once something was written to it
    mk_entity(api, new_type(), headers={"NGSILD-Tenant": tenant}, v=1)
    ids = {subs.create(sub_body(receiver.url(path), new_type()), tenant=tenant)
           for _ in range(5)}
    H = {"NGSILD-Tenant": tenant}
    r = requests.get(api + "/subscriptions", headers=H)
    assert r.status_code == 200
    assert {s["id"] for s in r.json()} == ids
    assert all(s["type"] == "Subscription" and s["status"] == "active" for s in r.json())
    seen = []
    r = requests.get(api + "/subscriptions", params={"limit": 2, "count": "true"}, headers=H)
    assert r.status_code == 200 and len(r.json()) == 2
    assert r.headers["NGSILD-Results-Count"] == "5"
    m = re.search(r"<([^>]*)>;\s*rel=\"?next\"?", r.headers.get("Link", ""))
    assert m, r.headers
    seen += [s["id"] for s in r.json()]
    nxt = m.group(1)
    assert "offset=2" in nxt and "limit=2" in nxt
    while nxt:
        url = nxt if nxt.startswith("http") else "http://" + api.split("/")[2] + nxt
        r = requests.get(url, headers=H)
        assert r.status_code == 200
        seen += [s["id"] for s in r.json()]
        m = re.search(r"<([^>]*)>;\s*rel=\"?next\"?", r.headers.get("Link", ""))
        nxt = m.group(1) if m else None
    assert len(seen) == 5 and set(seen) == ids
    r = requests.get(api + "/subscriptions", params={"offset": 4, "limit": 2}, headers=H)
    assert len(r.json()) == 1
    assert "next" not in r.headers.get("Link", "")
    assert "NGSILD-Results-Count" not in r.headers
    r = requests.get(api + "/subscriptions", params={"limit": 0, "count": "true"}, headers=H)
    assert r.status_code == 200 and r.json() == [] and r.headers["NGSILD-Results-Count"] == "5"
    for bad in ({"limit": -1}, {"limit": "x"}, {"offset": -3}, {"count": "maybe"}):
        assert_problem(requests.get(api + "/subscriptions", params=bad, headers=H), 400,
                       "BadRequestData")


def test_patch_replaces_members_5_8_2(api, subs, receiver, path):
    t = new_type()
    sid = subs.create(sub_body(receiver.url(path), t, description="one", q="a>1",
                               notification={"attributes": ["a"],
                                             "endpoint": {"receiverInfo": [
                                                 {"key": "X-A", "value": "1"}]}}))
    r = subs.patch(sid, {"notification": {"format": "keyValues",
                                          "endpoint": {"uri": receiver.url(path),
                                                       "accept": "application/ld+json"}},
                         "description": "two", "q": None})
    assert r.status_code == 204, r.text
    assert r.text == ""
    s = subs.get(sid)
    assert s["description"] == "two"
    assert "q" not in s
    assert s["entities"] == [{"type": t}]
    n = s["notification"]
    assert n["format"] == "keyValues"
    # 5.5.8: notification is replaced as a whole, not merged member by member
    assert "attributes" not in n
    assert n["endpoint"] == {"uri": receiver.url(path), "accept": "application/ld+json"}
    # a top-level member is replaced as a whole
    r = subs.patch(sid, {"entities": [{"type": t, "id": eid(t, 7)}]})
    assert r.status_code == 204, r.text
    assert subs.get(sid)["entities"] == [{"type": t, "id": eid(t, 7)}]
    # invalid fragments: 400, nothing changed
    assert_problem(subs.patch(sid, {"q": "a=="}), 400, "BadRequestData")
    assert_problem(subs.patch(sid, {"expiresAt": "2001-01-01T00:00:00Z"}), 400, "BadRequestData")
    assert_problem(subs.patch(sid, {"id": "urn:ngsi-ld:Subscription:other"}), 400,
                   "BadRequestData")
    assert subs.get(sid)["description"] == "two"
    r = requests.patch(api + "/subscriptions/urn:ngsi-ld:Subscription:none-" + uid(),
                       json={"description": "x"})
    assert_problem(r, 404, "ResourceNotFound")


def test_patch_is_active_pauses_and_resumes_5_8_2(api, subs, receiver, path):
    t = new_type()
    e = mk_entity(api, t, v=0)
    sid = subs.create(sub_body(receiver.url(path), t))
    patch(api, e, v=1)
    receiver.wait_for(path, 1)
    assert subs.patch(sid, {"isActive": False}).status_code == 204
    s = subs.get(sid)
    assert s["isActive"] is False and s["status"] == "paused"
    patch(api, e, v=2)
    patch(api, e, v=3)
    assert subs.patch(sid, {"isActive": True}).status_code == 204
    assert subs.get(sid)["status"] == "active"
    patch(api, e, v=4)
    recs = receiver.wait_for(path, 2)
    recs = receiver.quiet(path, 0.5)
    assert [d["v"]["value"] for d in datas(recs)] == [1, 4]


def test_delete_204_then_404_5_8_5(api, subs, receiver, path):
    t = new_type()
    e = mk_entity(api, t, v=0)
    sid = subs.create(sub_body(receiver.url(path), t))
    r = requests.delete(api + "/subscriptions/" + sid)
    assert r.status_code == 204 and r.text == ""
    assert_problem(requests.get(api + "/subscriptions/" + sid), 404, "ResourceNotFound")
    assert_problem(requests.delete(api + "/subscriptions/" + sid), 404, "ResourceNotFound")
    assert_problem(requests.patch(api + "/subscriptions/" + sid, json={"description": "x"}), 404,
                   "ResourceNotFound")
    # deleted: no more notifications (a second live subscription shows the update was seen)
    path2 = path + "-live"
    subs.create(sub_body(receiver.url(path2), t))
    patch(api, e, v=1)
    receiver.wait_for(path2, 1)
    assert receiver.quiet(path, 0.3) == []


EP = {"uri": "http://127.0.0.1:9/x"}


def _bad(**members):
    s = {"type": "Subscription", "entities": [{"type": "Thing"}],
         "notification": {"endpoint": dict(EP)}}
    for k, v in members.items():
        if v is None:
            s.pop(k, None)
        else:
            s[k] = v
    return s


def _bad_note(**members):
    s = _bad()
    for k, v in members.items():
        s["notification"][k] = v
    return s


def _bad_ep(**members):
    s = _bad()
    for k, v in members.items():
        s["notification"]["endpoint"][k] = v
    return s


BAD = [
    ("no type", _bad(type=None), "type"),
    ("wrong type", _bad(type="Registration"), "type"),
    ("no notification", _bad(notification=None), "notification"),
    ("no endpoint", _bad(notification={"format": "keyValues"}), "notification.endpoint"),
    ("no uri", _bad(notification={"endpoint": {"accept": "application/json"}}),
     "notification.endpoint"),
    ("ftp uri", _bad_ep(uri="ftp://127.0.0.1/x"), "notification.endpoint.uri"),
    ("not a uri", _bad_ep(uri="just words"), "notification.endpoint.uri"),
    ("http without host", _bad_ep(uri="http:///x"), "notification.endpoint.uri"),
    ("mqtt without topic", _bad_ep(uri="mqtt://127.0.0.1:1883"), "notification.endpoint.uri"),
    ("bad accept", _bad_ep(accept="text/plain"), "notification.endpoint.accept"),
    ("bad receiverInfo", _bad_ep(receiverInfo=[{"value": "x"}]), "receiverInfo"),
    ("bad MQTT-QoS", _bad_ep(uri="mqtt://127.0.0.1/t",
                             notifierInfo=[{"key": "MQTT-QoS", "value": "3"}]), "notifierInfo"),
    ("bad MQTT-Version", _bad_ep(uri="mqtt://127.0.0.1/t",
                                 notifierInfo=[{"key": "MQTT-Version", "value": "mqtt4"}]),
     "notifierInfo"),
    ("empty entities", _bad(entities=[]), "entities"),
    ("entity selector without type", _bad(entities=[{"id": "urn:ngsi-ld:Thing:1"}]), "entities"),
    ("entity id not a URI", _bad(entities=[{"type": "Thing", "id": "not a uri"}]), "entities"),
    ("bad idPattern", _bad(entities=[{"type": "Thing", "idPattern": "(["}]), "entities"),
    ("neither entities nor watchedAttributes", _bad(entities=None), "entities"),
    ("empty watchedAttributes", _bad(watchedAttributes=[]), "watchedAttributes"),
    ("throttling with timeInterval", _bad(throttling=5, timeInterval=10), "t"),
    ("timeInterval with watchedAttributes", _bad(timeInterval=10, watchedAttributes=["a"]), "t"),
    ("negative throttling", _bad(throttling=-1), "throttling"),
    ("bad q", _bad(q="temperature>>"), "q"),
    ("bad scopeQ", _bad(scopeQ="/Madrid//Centro"), "scopeQ"),
    ("bad geoQ georel", _bad(geoQ={"geometry": "Point", "coordinates": [1, 2],
                                   "georel": "around"}), "geoQ"),
    ("geoQ without coordinates", _bad(geoQ={"geometry": "Point", "georel": "near;maxDistance==1"}),
     "geoQ"),
    ("geoQ bad geometry", _bad(geoQ={"geometry": "Circle", "coordinates": [1, 2],
                                     "georel": "intersects"}), "geoQ"),
    ("expiresAt in the past", _bad(expiresAt="2020-01-01T00:00:00Z"), "expiresAt"),
    ("expiresAt not a date", _bad(expiresAt="tomorrow"), "expiresAt"),
    ("unknown trigger", _bad(notificationTrigger=["entityTouched"]), "notificationTrigger"),
    ("empty triggers", _bad(notificationTrigger=[]), "notificationTrigger"),
    ("bad format", _bad_note(format="xml"), "notification.format"),
    ("empty attributes", _bad_note(attributes=[]), "notification.attributes"),
    ("showChanges with keyValues", _bad_note(format="keyValues", showChanges=True), "notification"),
    ("pick and omit", _bad_note(pick=["id"], omit=["type"]), "notification"),
    ("isActive not boolean", _bad(isActive="yes"), "isActive"),
]


@pytest.mark.parametrize("name,body,member", BAD, ids=[b[0] for b in BAD])
def test_invalid_payloads_400_with_member_path_5_8_1(api, name, body, member):
    r = requests.post(api + "/subscriptions", json=body)
    p = assert_problem(r, 400, "BadRequestData")
    assert member in p["detail"], p


def test_invalid_json_and_non_object_400(api):
    r = requests.post(api + "/subscriptions", data=b"{not json",
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["type"].endswith(("InvalidRequest", "BadRequestData"))
    r = requests.post(api + "/subscriptions", json=[_bad()])
    assert r.status_code == 400


UNSUPPORTED = [
    ("csf", _bad(csf="p==1")),
    ("expandValues", _bad(expandValues="a")),
]


@pytest.mark.parametrize("name,body", UNSUPPORTED, ids=[u[0] for u in UNSUPPORTED])
def test_unsupported_members_422(api, name, body):
    r = requests.post(api + "/subscriptions", json=body)
    p = assert_problem(r, 422, "OperationNotSupported")
    assert name in p["detail"]


def test_tenants_isolate_subscriptions_and_notifications_carry_tenant_5_5_10(api, subs,
                                                                            receiver, path):
    tenant = "tn" + uid()
    t = new_type()
    H = {"NGSILD-Tenant": tenant}
    e_t = mk_entity(api, t, "1", headers=H, v=0)
    e_d = mk_entity(api, t, "1", v=0)  # same id and type in the default tenant
    sid = subs.create(sub_body(receiver.url(path), t), tenant=tenant)
    assert_problem(requests.get(api + "/subscriptions/" + sid), 404, "ResourceNotFound")
    assert sid not in [s["id"] for s in requests.get(api + "/subscriptions",
                                                     params={"limit": 1000}).json()]
    assert subs.get(sid, tenant=tenant)["id"] == sid
    patch(api, e_d, v=1)          # default tenant: not notified
    patch(api, e_t, headers=H, v=2)
    recs = receiver.wait_for(path, 1)
    recs = receiver.quiet(path, 0.5)
    assert len(recs) == 1
    assert recs[0]["headers"].get("ngsild-tenant") == tenant
    assert datas(recs)[0]["v"]["value"] == 2
    # a subscription in the default tenant: notified without NGSILD-Tenant
    path2 = path + "-d"
    subs.create(sub_body(receiver.url(path2), t))
    patch(api, e_d, v=3)
    r2 = receiver.wait_for(path2, 1)
    assert "ngsild-tenant" not in r2[0]["headers"]
    # deleting in the wrong tenant does not find it
    assert_problem(requests.delete(api + "/subscriptions/" + sid), 404, "ResourceNotFound")


# ------------------------------------------------------------------------------------------------
# Triggers (5.2.12 notificationTrigger, 5.8.6)
# ------------------------------------------------------------------------------------------------
def _trigger_run(api, subs, receiver, path, triggers):
    """Runs create / update / append / delete attribute / delete entity against a subscription
    with `triggers`; returns the list of (step, data entity) notified."""
    t = new_type()
    body = sub_body(receiver.url(path), t)
    if triggers is not None:
        body["notificationTrigger"] = triggers
    subs.create(body)
    path_m = path + "-marker"
    subs.create(sub_body(receiver.url(path_m), t, notificationTrigger=[
        "entityCreated", "entityUpdated", "entityDeleted"]))
    e = mk_entity(api, t, a=1, b=1)
    patch(api, e, a=2)                                     # attribute updated
    r = requests.post(api + "/entities/" + e + "/attrs", json={"c": prop(1)})
    assert r.status_code == 204, r.text                    # attribute created
    r = requests.delete(api + "/entities/" + e + "/attrs/b")
    assert r.status_code == 204, r.text                    # attribute deleted
    r = requests.delete(api + "/entities/" + e)
    assert r.status_code == 204, r.text                    # entity deleted
    # the marker subscription sees all 5 steps: once it has, this one had its chance too
    receiver.wait_for(path_m, 5)
    time.sleep(0.3)
    return datas(receiver.received(path))


def _step(d):
    if "deletedAt" in d and "a" not in d:
        return "deleted"
    if d.get("b") == NULL:
        return "attr-deleted"
    if "c" in d:
        return "attr-created"
    if d["a"]["value"] == 2:
        return "attr-updated"
    return "created"


@pytest.mark.parametrize("triggers,expected", [
    (None, ["created", "attr-updated", "attr-created"]),
    (["entityCreated"], ["created"]),
    # 5.2.12: entityUpdated = attributeCreated + attributeUpdated + attributeDeleted, and a
    # creation is attributeCreated for its attributes (as the default triggers show)
    (["entityUpdated"], ["created", "attr-updated", "attr-created", "attr-deleted"]),
    (["entityDeleted"], ["deleted"]),
    (["attributeCreated"], ["created", "attr-created"]),
    (["attributeUpdated"], ["attr-updated"]),
    (["attributeDeleted"], ["attr-deleted"]),
    (["entityCreated", "entityDeleted"], ["created", "deleted"]),
], ids=["default", "entityCreated", "entityUpdated", "entityDeleted", "attributeCreated",
        "attributeUpdated", "attributeDeleted", "created+deleted"])
def test_notification_triggers_5_2_12(api, subs, receiver, path, triggers, expected):
    got = _trigger_run(api, subs, receiver, path, triggers)
    assert [_step(d) for d in got] == expected, got


def test_notifications_carry_no_trigger_reason_5_3_1(api, subs, receiver, path):
    """5.3.1 (V1.9.1) defines no triggerReason for entity notifications: TriggerReasonEnumeration
    (5.3.3: newlyMatching, updated, noLongerMatching) is a member of CSourceNotification (5.3.2,
    5.11.7) only. Whatever trigger fires, the members are those of 5.3.1."""
    _trigger_run(api, subs, receiver, path, ["entityCreated", "entityUpdated", "entityDeleted"])
    recs = receiver.received(path)
    assert len(datas(recs)) == 5
    for r in recs:
        assert set(r["body"]) == {"id", "type", "subscriptionId", "notifiedAt", "data"}, r["body"]


def test_entity_deleted_notification_body_5_8_6(api, subs, receiver, path):
    t = new_type()
    e = mk_entity(api, t, a=1)
    sid = subs.create(sub_body(receiver.url(path), t, notificationTrigger=["entityDeleted"]))
    assert requests.delete(api + "/entities/" + e).status_code == 204
    rec = receiver.wait_for(path, 1)[0]
    assert rec["body"]["subscriptionId"] == sid
    d = rec["body"]["data"][0]
    assert d["id"] == e and d["type"] == t
    parse_time(d["deletedAt"])
    assert "a" not in d  # only deletedAt without showChanges


def test_attribute_deleted_is_urn_null_5_8_6(api, subs, receiver, path):
    t = new_type()
    e = mk_entity(api, t, a=1, b=2)
    subs.create(sub_body(receiver.url(path), t, notificationTrigger=["attributeDeleted"]))
    assert requests.delete(api + "/entities/" + e + "/attrs/b").status_code == 204
    d = datas(receiver.wait_for(path, 1))[0]
    assert d["b"] == NULL
    assert d["a"]["value"] == 1


def test_same_value_does_not_notify_5_8_6(api, subs, receiver, path):
    t = new_type()
    e = mk_entity(api, t, v=1, w=1)
    subs.create(sub_body(receiver.url(path), t))
    patch(api, e, v=2)
    patch(api, e, v=2)   # same value: no change
    r = requests.patch(api + "/entities/" + e, json={"v": prop(2), "w": prop(1)})
    assert r.status_code == 204, r.text  # merge-patch with the same values: no change either
    r = requests.post(api + "/entities/" + e + "/attrs", json={"v": prop(2)})
    assert r.status_code == 204, r.text  # append that overwrites with the same value
    patch(api, e, v=3)
    receiver.wait_for(path, 2)
    recs = receiver.quiet(path, 0.3)
    assert [d["v"]["value"] for d in datas(recs)] == [2, 3]


def test_watched_attributes_5_2_12(api, subs, receiver, path):
    t = new_type()
    e = mk_entity(api, t, temperature=1, humidity=1)
    subs.create(sub_body(receiver.url(path), t, watchedAttributes=["temperature"]))
    patch(api, e, humidity=2)
    patch(api, e, humidity=3)
    patch(api, e, temperature=2)
    patch(api, e, humidity=4)
    patch(api, e, temperature=3)
    receiver.wait_for(path, 2)
    got = datas(receiver.quiet(path, 0.3))
    assert [(d["temperature"]["value"], d["humidity"]["value"]) for d in got] == [(2, 3), (3, 4)]


def test_watched_attributes_without_entities(api, subs, receiver, path):
    attr = "w" + uid()
    t1, t2 = new_type(), new_type()
    subs.create(sub_body(receiver.url(path), watchedAttributes=[attr]))
    e1 = mk_entity(api, t1, **{attr: 1})
    e2 = mk_entity(api, t2, other=1)
    patch(api, e2, other=2)
    patch(api, e1, **{attr: 2})
    receiver.wait_for(path, 2)
    got = datas(receiver.quiet(path, 0.3))
    assert [(d["id"], d[attr]["value"]) for d in got] == [(e1, 1), (e1, 2)]


def test_q_filter_5_8_6(api, subs, receiver, path):
    t = new_type()
    e = mk_entity(api, t, temperature=0, status="off")
    subs.create(sub_body(receiver.url(path), t, q='temperature>20;status=="on"'))
    for v, s in [(10, "on"), (25, "on"), (26, "off"), (15, "on"), (30, "on")]:
        patch(api, e, temperature=v, status=s)
    receiver.wait_for(path, 2)
    got = datas(receiver.quiet(path, 0.3))
    assert [d["temperature"]["value"] for d in got] == [25, 30]


def test_q_or_and_relationship(api, subs, receiver, path):
    t = new_type()
    e1 = mk_entity(api, t, "1", owner={"type": "Relationship", "object": "urn:ngsi-ld:Org:a"},
                   n=0)
    e2 = mk_entity(api, t, "2", owner={"type": "Relationship", "object": "urn:ngsi-ld:Org:b"},
                   n=0)
    subs.create(sub_body(receiver.url(path), t, q='owner=="urn:ngsi-ld:Org:a"|n>=5'))
    patch(api, e2, n=1)
    patch(api, e1, n=1)
    patch(api, e2, n=5)
    receiver.wait_for(path, 2)
    got = datas(receiver.quiet(path, 0.3))
    assert sorted((d["id"], d["n"]["value"]) for d in got) == [(e1, 1), (e2, 5)]


def _loc(lon, lat):
    return {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}


def test_geoq_near_4_10(api, subs, receiver, path):
    t = new_type()
    e = mk_entity(api, t, location=_loc(10.0, 10.0), v=0)
    subs.create(sub_body(receiver.url(path), t, geoQ={
        "geometry": "Point", "coordinates": [2.0, 48.0], "georel": "near;maxDistance==1000"}))
    patch(api, e, v=1)                            # far away
    patch(api, e, location=_loc(2.001, 48.001))   # ~130 m away: in
    patch(api, e, v=2)                            # still in
    patch(api, e, location=_loc(2.1, 48.0))       # ~7 km: out
    patch(api, e, v=3)
    receiver.wait_for(path, 2)
    got = datas(receiver.quiet(path, 0.3))
    assert [(d["v"]["value"], d["location"]["value"]["coordinates"]) for d in got] == \
        [(1, [2.001, 48.001]), (2, [2.001, 48.001])]


def test_geoq_within_polygon_and_geoproperty_4_10(api, subs, receiver, path):
    t = new_type()
    inside = mk_entity(api, t, "in", where=_loc(1.5, 1.5), v=0)
    outside = mk_entity(api, t, "out", where=_loc(5.0, 5.0), v=0)
    subs.create(sub_body(receiver.url(path), t, geoQ={
        "geometry": "Polygon", "coordinates": [[[1, 1], [2, 1], [2, 2], [1, 2], [1, 1]]],
        "georel": "within", "geoproperty": "where"}))
    patch(api, outside, v=1)
    patch(api, inside, v=1)
    receiver.wait_for(path, 1)
    got = datas(receiver.quiet(path, 0.3))
    assert [d["id"] for d in got] == [inside]


def test_scopeq_4_19(api, subs, receiver, path):
    t = new_type()
    a = {"id": eid(t, "a"), "type": t, "scope": "/Hanoi/BaDinh", "v": prop(0)}
    b = {"id": eid(t, "b"), "type": t, "scope": ["/HaiPhong"], "v": prop(0)}
    for e in (a, b):
        assert requests.post(api + "/entities", json=e).status_code == 201
    subs.create(sub_body(receiver.url(path), t, scopeQ="/Hanoi/#"))
    patch(api, b["id"], v=1)
    patch(api, a["id"], v=1)
    receiver.wait_for(path, 1)
    got = datas(receiver.quiet(path, 0.3))
    assert [d["id"] for d in got] == [a["id"]]


def test_several_types_and_type_selection_4_17(api, subs, receiver, path):
    ta, tb, tc = new_type(), new_type(), new_type()
    path2 = path + "-sel"
    subs.create(sub_body(receiver.url(path), None, entities=[{"type": ta}, {"type": tb}]))
    subs.create(sub_body(receiver.url(path2), None, entities=[{"type": f"{ta}|{tb}"}]))
    ea, eb, ec = mk_entity(api, ta, v=0), mk_entity(api, tb, v=0), mk_entity(api, tc, v=0)
    r = requests.post(api + "/entities", json={"id": eid(tc, "multi"), "type": [tc, tb],
                                               "v": prop(0)})
    assert r.status_code == 201
    for e in (ec, ea, eb, eid(tc, "multi")):
        patch(api, e, v=1)
    for p in (path, path2):
        receiver.wait_for(p, 6)
        got = datas(receiver.quiet(p, 0.3))
        assert sorted((d["id"], d["v"]["value"]) for d in got) == sorted(
            [(ea, 0), (eb, 0), (eid(tc, "multi"), 0), (ea, 1), (eb, 1), (eid(tc, "multi"), 1)])


def test_type_selection_and(api, subs, receiver, path):
    ta, tb = new_type(), new_type()
    subs.create(sub_body(receiver.url(path), f"{ta};{tb}"))
    only_a = mk_entity(api, ta, v=0)
    both = eid(ta, "both")
    assert requests.post(api + "/entities", json={"id": both, "type": [ta, tb],
                                                  "v": prop(0)}).status_code == 201
    patch(api, only_a, v=1)
    patch(api, both, v=1)
    receiver.wait_for(path, 2)
    got = datas(receiver.quiet(path, 0.3))
    assert [(d["id"], d["v"]["value"]) for d in got] == [(both, 0), (both, 1)]


def test_id_pattern_and_id_5_2_33(api, subs, receiver, path):
    t = new_type()
    path2 = path + "-id"
    e1 = mk_entity(api, t, "room1", v=0)
    e2 = mk_entity(api, t, "room12", v=0)
    e3 = mk_entity(api, t, "hall1", v=0)
    subs.create(sub_body(receiver.url(path), None,
                         entities=[{"type": t, "idPattern": f"^urn:ngsi-ld:{t}:room"}]))
    subs.create(sub_body(receiver.url(path2), None, entities=[{"type": t, "id": e3},
                                                              {"type": t, "id": e1}]))
    for e in (e1, e2, e3):
        patch(api, e, v=1)
    receiver.wait_for(path, 2)
    receiver.wait_for(path2, 2)
    time.sleep(0.3)
    assert sorted(d["id"] for d in datas(receiver.received(path))) == [e1, e2]
    assert sorted(d["id"] for d in datas(receiver.received(path2))) == sorted([e1, e3])


# ------------------------------------------------------------------------------------------------
# Notification contents (5.3.1, 5.8.6, 5.2.14, 5.2.15)
# ------------------------------------------------------------------------------------------------
def _one(api, subs, receiver, path, t=None, entity=None, update=None, **members):
    """Creates `entity` (attrs dict), a subscription with `members`, applies `update`; returns
    the first notification record."""
    t = t or new_type()
    e = mk_entity(api, t, **(entity or {"temperature": prop(20, unitCode="CEL"),
                                        "humidity": 50}))
    sid = subs.create(sub_body(receiver.url(path), t, **members))
    patch(api, e, **(update or {"temperature": prop(25, unitCode="CEL")}))
    rec = receiver.wait_for(path, 1)[0]
    rec["eid"], rec["sid"], rec["t"] = e, sid, t
    return rec


def test_notification_body_members_5_3_1(api, subs, receiver, path):
    rec = _one(api, subs, receiver, path)
    b = rec["body"]
    assert rec["method"] == "POST"
    assert re.fullmatch(r"urn:ngsi-ld:Notification:[-0-9a-f]{36}", b["id"])
    assert b["type"] == "Notification"
    assert b["subscriptionId"] == rec["sid"]
    notified = parse_time(b["notifiedAt"])
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - notified).total_seconds()) < 120
    assert isinstance(b["data"], list) and len(b["data"]) == 1
    d = b["data"][0]
    assert d["id"] == rec["eid"] and d["type"] == rec["t"]
    assert d["temperature"] == {"type": "Property", "value": 25, "unitCode": "CEL"}
    assert d["humidity"] == {"type": "Property", "value": 50}
    assert "createdAt" not in d
    # application/json (default): a Link header to the @context, no @context member
    assert rec["headers"]["content-type"].startswith("application/json")
    assert CORE in rec["headers"]["link"] and LINK_REL.split(";")[0] in rec["headers"]["link"]
    assert "@context" not in b
    # notification ids are unique
    patch(api, rec["eid"], humidity=51)
    recs = receiver.wait_for(path, 2)
    assert recs[0]["body"]["id"] != recs[1]["body"]["id"]


def test_format_keyvalues_4_5_4(api, subs, receiver, path):
    rec = _one(api, subs, receiver, path, notification={"format": "keyValues"})
    assert rec["body"]["data"] == [{"id": rec["eid"], "type": rec["t"], "temperature": 25,
                                    "humidity": 50}]


def test_format_simplified_synonym(api, subs, receiver, path):
    rec = _one(api, subs, receiver, path, notification={"format": "simplified"})
    assert rec["body"]["data"][0]["temperature"] == 25


def test_format_concise_4_5_1(api, subs, receiver, path):
    rec = _one(api, subs, receiver, path, notification={"format": "concise"},
               entity={"temperature": prop(20, unitCode="CEL"), "humidity": 50,
                       "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Org:x"}})
    d = rec["body"]["data"][0]
    assert d["id"] == rec["eid"] and d["type"] == rec["t"]
    assert d["temperature"] == {"value": 25, "unitCode": "CEL"}
    assert d["humidity"] == 50
    assert d["owner"] == {"object": "urn:ngsi-ld:Org:x"}


def test_notification_attributes_projection_5_2_14(api, subs, receiver, path):
    rec = _one(api, subs, receiver, path, notification={"attributes": ["humidity"]},
               update={"humidity": 55})
    assert rec["body"]["data"] == [{"id": rec["eid"], "type": rec["t"],
                                    "humidity": {"type": "Property", "value": 55}}]


def test_pick_and_omit_5_2_14(api, subs, receiver, path):
    rec = _one(api, subs, receiver, path, notification={"pick": ["id", "humidity"]})
    assert rec["body"]["data"] == [{"id": rec["eid"],
                                    "humidity": {"type": "Property", "value": 50}}]
    path2 = path + "-omit"
    rec = _one(api, subs, receiver, path2, notification={"omit": ["humidity", "type"]})
    d = rec["body"]["data"][0]
    assert "humidity" not in d and "type" not in d and d["temperature"]["value"] == 25


def test_sysattrs_4_8(api, subs, receiver, path):
    rec = _one(api, subs, receiver, path, notification={"sysAttrs": True})
    d = rec["body"]["data"][0]
    created, modified = parse_time(d["createdAt"]), parse_time(d["modifiedAt"])
    assert modified >= created
    assert parse_time(d["temperature"]["modifiedAt"]) >= parse_time(d["temperature"]["createdAt"])
    assert "createdAt" in d["humidity"]


def test_show_changes_previous_value_5_2_14(api, subs, receiver, path):
    rec = _one(api, subs, receiver, path, notification={"showChanges": True})
    d = rec["body"]["data"][0]
    assert d["temperature"]["value"] == 25
    assert d["temperature"]["previousValue"] == 20
    assert "previousValue" not in d["humidity"] or d["humidity"]["previousValue"] == 50


def test_show_changes_relationship_previous_object(api, subs, receiver, path):
    rec = _one(api, subs, receiver, path, notification={"showChanges": True},
               entity={"owner": {"type": "Relationship", "object": "urn:ngsi-ld:Org:a"}},
               update={"owner": {"type": "Relationship", "object": "urn:ngsi-ld:Org:b"}})
    d = rec["body"]["data"][0]
    assert d["owner"]["object"] == "urn:ngsi-ld:Org:b"
    assert d["owner"]["previousObject"] == "urn:ngsi-ld:Org:a"


def test_accept_ld_json_context_in_body_no_link_5_8_6(api, subs, receiver, path):
    rec = _one(api, subs, receiver, path,
               notification={"endpoint": {"accept": "application/ld+json"}})
    assert rec["headers"]["content-type"].startswith("application/ld+json")
    assert "link" not in rec["headers"]
    ctx = rec["body"]["@context"]
    assert CORE in (ctx if isinstance(ctx, list) else [ctx])
    assert rec["body"]["data"][0]["temperature"]["value"] == 25


def test_accept_geo_json_feature_collection_4_5_16(api, subs, receiver, path):
    rec = _one(api, subs, receiver, path,
               entity={"location": _loc(106.7, 20.8), "humidity": 50},
               update={"humidity": 60},
               notification={"endpoint": {"accept": "application/geo+json"}})
    assert rec["headers"]["content-type"].startswith("application/geo+json")
    data = rec["body"]["data"]
    assert data["type"] == "FeatureCollection"
    f = data["features"][0]
    assert f["type"] == "Feature" and f["id"] == rec["eid"]
    assert f["geometry"] == {"type": "Point", "coordinates": [106.7, 20.8]}
    assert f["properties"]["humidity"]["value"] == 60


def test_receiver_info_headers_5_2_15(api, subs, receiver, path):
    rec = _one(api, subs, receiver, path, notification={"endpoint": {"receiverInfo": [
        {"key": "X-Auth-Token", "value": "s3cret"}, {"key": "Fiware-Service", "value": "city"}]}})
    assert rec["headers"]["x-auth-token"] == "s3cret"
    assert rec["headers"]["fiware-service"] == "city"


def test_user_context_compacts_notification_and_is_linked(api, subs, receiver, path,
                                                          ctx_server):
    ctx_path = "/notectx-" + uid() + ".jsonld"
    ctx_server.docs[ctx_path] = {"@context": {"Lamp": "https://example.org/ns2/Lamp",
                                              "lum": "https://example.org/ns2/luminosity"}}
    url = ctx_server.url(ctx_path)
    L = {"Link": link(url)}
    e = eid("Lamp")
    r = requests.post(api + "/entities", json={"id": e, "type": "Lamp", "lum": prop(1)},
                      headers=L)
    assert r.status_code == 201
    subs.create(sub_body(receiver.url(path), "Lamp", q="lum>=2"), headers=L)
    path2 = path + "-ld"
    subs.create(sub_body(receiver.url(path2), "Lamp", q="lum>=2",
                         notification={"endpoint": {"accept": "application/ld+json"}}),
                headers=L)
    r = requests.patch(api + "/entities/" + e + "/attrs", json={"lum": prop(2)}, headers=L)
    assert r.status_code == 204
    rec = receiver.wait_for(path, 1)[0]
    d = rec["body"]["data"][0]
    assert d["type"] == "Lamp" and d["lum"]["value"] == 2
    assert url in rec["headers"]["link"]
    rec = receiver.wait_for(path2, 1)[0]
    assert rec["body"]["data"][0]["lum"]["value"] == 2
    assert url in json.dumps(rec["body"]["@context"])


# ------------------------------------------------------------------------------------------------
# expiresAt, throttling (5.2.12)
# ------------------------------------------------------------------------------------------------
def test_expires_at_stops_notifications_and_status_expired_5_2_12(api, subs, receiver, path):
    t = new_type()
    e = mk_entity(api, t, v=0)
    sid = subs.create(sub_body(receiver.url(path), t, expiresAt=iso_in(2)))
    patch(api, e, v=1)
    receiver.wait_for(path, 1)
    wait_until(lambda: subs.get(sid)["status"] == "expired", timeout=10, msg="status expired")
    path2 = path + "-live"
    subs.create(sub_body(receiver.url(path2), t))
    patch(api, e, v=2)
    receiver.wait_for(path2, 1)
    time.sleep(0.3)
    assert [d["v"]["value"] for d in datas(receiver.received(path))] == [1]
    # a new expiresAt in the future revives it
    assert subs.patch(sid, {"expiresAt": iso_in(3600)}).status_code == 204
    assert subs.get(sid)["status"] == "active"
    patch(api, e, v=3)
    receiver.wait_for(path, 2)


def test_throttling_5_2_12(api, subs, receiver, path):
    t = new_type()
    e = mk_entity(api, t, v=0)
    sid = subs.create(sub_body(receiver.url(path), t, throttling=60))
    path2 = path + "-all"
    subs.create(sub_body(receiver.url(path2), t))
    patch(api, e, v=1)
    patch(api, e, v=2)
    patch(api, e, v=3)
    receiver.wait_for(path2, 3)
    time.sleep(0.3)
    recs = receiver.received(path)
    # one notification in the period; it holds the first change (and, on a busy machine, the
    # others when they were already waiting); the rest waits for the period's end
    assert len(recs) == 1
    got = [d["v"]["value"] for d in datas(recs)]
    assert got == [1, 2, 3][:len(got)] and got
    assert subs.get(sid)["throttling"] == 60


# ------------------------------------------------------------------------------------------------
# Status members (5.2.12, 5.2.14, 5.8.6)
# ------------------------------------------------------------------------------------------------
def test_status_after_deliveries_5_8_6(api, subs, receiver, path):
    t = new_type()
    e = mk_entity(api, t, v=0)
    before = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=5)
    sid = subs.create(sub_body(receiver.url(path), t))
    for v in (1, 2, 3):
        patch(api, e, v=v)
    sent = len(receiver.wait_for(path, 3))   # notifications: 3 changes, maybe batched
    s = wait_until(lambda: (lambda s: s if s["notification"].get("timesSent") == sent else None)(
        subs.get(sid)), msg=f"timesSent == {sent}")
    n = s["notification"]
    assert n["status"] == "ok"
    assert n.get("timesFailed", 0) == 0
    assert parse_time(n["lastNotification"]) >= before
    assert parse_time(n["lastSuccess"]) >= before
    assert "lastFailure" not in n


def test_dead_endpoint_fails_while_live_endpoint_keeps_receiving_5_8_6(api, subs, receiver, path):
    t = new_type()
    dead = f"http://127.0.0.1:{free_port()}/dead"   # nothing listens there
    dead_sid = subs.create(sub_body(dead, t))
    live_sid = subs.create(sub_body(receiver.url(path), t))
    es = [mk_entity(api, t, i, v=0) for i in range(5)]
    for v in (1, 2):
        for e in es:
            patch(api, e, v=v)
    recs = receiver.wait_for(path, 15, timeout=10)
    assert sorted((d["id"], d["v"]["value"]) for d in datas(recs)) == sorted(
        (e, v) for e in es for v in (0, 1, 2))
    s = wait_until(lambda: (lambda s: s if s["notification"].get("timesFailed", 0) >= 1 else None)(
        subs.get(dead_sid)), timeout=30, msg="timesFailed >= 1")
    n = s["notification"]
    assert n["status"] == "failed"
    assert "lastFailure" in n and "lastNotification" in n
    assert "lastSuccess" not in n
    assert n["timesSent"] >= n["timesFailed"] >= 1
    # the live one is still served promptly
    patch(api, es[0], v=3)
    receiver.wait_for(path, 16, timeout=10)
    live = subs.get(live_sid)["notification"]
    assert live.get("timesFailed", 0) == 0 and live["status"] == "ok"


def test_failing_endpoint_500_counts_failures(api, subs, own_receiver):
    t = new_type()
    fpath = "/fail/" + uid()
    sid = subs.create(sub_body(own_receiver.url(fpath), t))
    e = mk_entity(api, t, v=0)
    own_receiver.wait_for(fpath, 1)    # the attempt arrives (and gets a 500)
    s = wait_until(lambda: (lambda s: s if s["notification"].get("timesFailed", 0) >= 1 else None)(
        subs.get(sid)), timeout=30, msg="timesFailed >= 1")
    assert s["notification"]["status"] == "failed"
    assert e


def test_hanging_endpoint_does_not_block_other_endpoints(api, subs, own_receiver, receiver, path):
    t = new_type()
    subs.create(sub_body(own_receiver.url("/hang/" + uid()), t))
    subs.create(sub_body(receiver.url(path), t))
    es = [mk_entity(api, t, i, v=0) for i in range(20)]
    for e in es:
        patch(api, e, v=1)
    recs = receiver.wait_for(path, 40, timeout=15)
    assert len(datas(recs)) == 40


# ------------------------------------------------------------------------------------------------
# Restart survival (subscriptions are persisted)
# ------------------------------------------------------------------------------------------------
def test_subscriptions_survive_restart(fresh_polis, receiver, path):
    p = fresh_polis.start()
    t = new_type()
    e = mk_entity(p.api, t, v=0)
    s = Subs(p.api)
    sid1 = s.create(sub_body(receiver.url(path), t, description="first",
                             notification={"format": "keyValues"}))
    sid2 = s.create(sub_body(receiver.url(path + "-2"), t, q="v>5"))
    tenant = "rs" + uid()
    mk_entity(p.api, t, headers={"NGSILD-Tenant": tenant}, v=0)
    sid3 = s.create(sub_body(receiver.url(path + "-3"), t), tenant=tenant)
    assert s.patch(sid2, {"description": "patched"}).status_code == 204
    assert p.stop(signal.SIGTERM) == 0
    p.start()
    s.api = p.api  # a new port
    r = requests.get(p.api + "/subscriptions")
    assert r.status_code == 200
    got = {x["id"]: x for x in r.json()}
    assert set(got) == {sid1, sid2}
    assert got[sid1]["description"] == "first"
    assert got[sid1]["notification"]["format"] == "keyValues"
    assert got[sid2]["description"] == "patched" and got[sid2]["q"] == "v>5"
    assert s.get(sid3, tenant=tenant)["id"] == sid3
    patch(p.api, e, v=7)
    rec = receiver.wait_for(path, 1)[0]
    assert rec["body"]["subscriptionId"] == sid1
    assert rec["body"]["data"] == [{"id": e, "type": t, "v": 7}]
    rec2 = receiver.wait_for(path + "-2", 1)[0]
    assert rec2["body"]["data"][0]["v"]["value"] == 7
    # deleted before a restart: stays deleted
    assert requests.delete(p.api + "/subscriptions/" + sid2).status_code == 204
    assert p.stop(signal.SIGTERM) == 0
    p.start()
    assert {x["id"] for x in requests.get(p.api + "/subscriptions").json()} == {sid1}


def _status(api, sid):
    r = requests.get(api + "/subscriptions/" + sid)
    assert r.status_code == 200, r.text
    n = r.json()["notification"]
    return {k: n.get(k) for k in ("timesSent", "timesFailed", "lastNotification", "lastSuccess",
                                  "lastFailure", "status")}


def _status_saved(p, sid):
    """True when /metrics says the subscription's counters are in the store (flushed)."""
    m = requests.get(p.url + "/metrics").json()["notifications"]
    return any(s["id"] == sid and s["statusSaved"] for s in m["subscriptions"])


def test_status_counters_survive_restart_and_crash(fresh_polis, own_receiver):
    """timesSent, timesFailed, lastNotification, lastSuccess, lastFailure and notification.status
    are persisted: all of them after a clean stop (SIGTERM), and as of the last periodic flush
    (every 2 s) after a crash (SIGKILL)."""
    p = fresh_polis.start()
    t_ok, t_bad = new_type(), new_type()
    ok_path, bad_path = "/ok/" + uid(), "/fail/" + uid()
    s = Subs(p.api)
    ok_sid = s.create(sub_body(own_receiver.url(ok_path), t_ok))
    bad_sid = s.create(sub_body(own_receiver.url(bad_path), t_bad))
    e = mk_entity(p.api, t_ok, v=0)
    own_receiver.wait_for(ok_path, 1)   # one change at a time: one notification each
    patch(p.api, e, v=1)
    own_receiver.wait_for(ok_path, 2)
    patch(p.api, e, v=2)
    mk_entity(p.api, t_bad, v=0)   # one notification, answered 500 (retried, then failed)
    own_receiver.wait_for(ok_path, 3)
    ok1 = wait_until(lambda: (lambda st: st if st["timesSent"] == 3 else None)(
        _status(p.api, ok_sid)), msg="timesSent == 3")
    bad1 = wait_until(lambda: (lambda st: st if (st["timesFailed"] or 0) >= 1 else None)(
        _status(p.api, bad_sid)), timeout=30, msg="timesFailed >= 1")
    assert ok1["status"] == "ok" and ok1["lastSuccess"] and not ok1["lastFailure"]
    assert bad1["status"] == "failed" and bad1["lastFailure"] and not bad1["lastSuccess"]
    # a PATCH keeps them (and stores them with the new form)
    assert s.patch(ok_sid, {"description": "patched"}).status_code == 204
    assert _status(p.api, ok_sid) == ok1

    # clean stop: every counter comes back exactly
    assert p.stop(signal.SIGTERM) == 0
    p.start()
    assert _status(p.api, ok_sid) == ok1
    assert _status(p.api, bad_sid) == bad1
    assert requests.get(p.api + "/subscriptions/" + ok_sid).json()["description"] == "patched"

    # they go on from there; once flushed, a crash keeps them too
    patch(p.api, e, v=3)
    own_receiver.wait_for(ok_path, 4)
    ok2 = wait_until(lambda: (lambda st: st if st["timesSent"] == 4 else None)(
        _status(p.api, ok_sid)), msg="timesSent == 4")
    assert ok2["lastNotification"] > ok1["lastNotification"]
    wait_until(lambda: _status_saved(p, ok_sid), timeout=10, msg="counters flushed")
    p.stop(signal.SIGKILL)
    p.start()
    assert _status(p.api, ok_sid) == ok2
    assert _status(p.api, bad_sid) == bad1

    # a deleted subscription stays deleted (no flush brings it back)
    assert requests.delete(p.api + "/subscriptions/" + bad_sid).status_code == 204
    time.sleep(2.5)   # a flush interval
    assert p.stop(signal.SIGTERM) == 0
    p.start()
    assert requests.get(p.api + "/subscriptions/" + bad_sid).status_code == 404
    assert _status(p.api, ok_sid) == ok2


# ------------------------------------------------------------------------------------------------
# Ordering and no loss
# ------------------------------------------------------------------------------------------------
def test_burst_of_10000_updates_arrives_exactly_once_in_order(api, subs, own_receiver):
    t = new_type()
    n_ent, rounds = 500, 20
    ids = [eid(t, i) for i in range(n_ent)]
    r = requests.post(api + "/entityOperations/create",
                      json=[{"id": i, "type": t, "v": prop(0)} for i in ids])
    assert r.status_code == 201, r.text[:500]
    p = "/burst"
    subs.create(sub_body(own_receiver.url(p), t, notification={
        "format": "keyValues", "attributes": ["v"]}))
    for v in range(1, rounds + 1):
        r = requests.post(api + "/entityOperations/upsert", params={"options": "update"},
                          json=[{"id": i, "type": t, "v": prop(v)} for i in ids])
        assert r.status_code == 204, r.text[:500]
    total = n_ent * rounds
    own_receiver.wait_for_entities(p, total, timeout=90)
    recs = own_receiver.quiet(p, 0.5)
    per = {}
    for d in datas(recs):
        per.setdefault(d["id"], []).append(d["v"])
    assert len(datas(recs)) == total, f"{len(datas(recs))} changes notified for {total} updates"
    # batching (notifier.h): several changes per notification, at most 1000
    assert len(recs) < total and max(len(r["body"]["data"]) for r in recs) <= 1000
    assert set(per) == set(ids)
    bad = {k: v for k, v in per.items() if v != list(range(1, rounds + 1))}
    assert not bad, f"{len(bad)} entities out of order or with loss/duplicates, e.g. " \
        f"{next(iter(bad.items()))}"


def test_parallel_patches_arrive_in_order_per_entity(api, subs, own_receiver):
    t = new_type()
    ids = [mk_entity(api, t, i, v=0) for i in range(50)]
    p = "/par"
    subs.create(sub_body(own_receiver.url(p), t, notification={"format": "keyValues"}))
    n = 20

    def worker(e):
        with requests.Session() as s:
            for v in range(1, n + 1):
                r = s.patch(api + "/entities/" + e + "/attrs", json={"v": prop(v)})
                assert r.status_code == 204

    threads = [threading.Thread(target=worker, args=(e,)) for e in ids]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    own_receiver.wait_for_entities(p, 50 * n, timeout=60)
    recs = own_receiver.quiet(p, 0.3)
    per = {}
    for d in datas(recs):
        per.setdefault(d["id"], []).append(d["v"])
    assert len(datas(recs)) == 50 * n
    assert all(per[e] == list(range(1, n + 1)) for e in ids)


def test_subscription_created_while_updates_flow_sees_every_later_update(api, subs,
                                                                         own_receiver):
    t = new_type()
    writers = 4
    ids = [mk_entity(api, t, i, v=0) for i in range(writers)]
    stop = threading.Event()
    log = {e: [] for e in ids}   # (value, monotonic time the PATCH was sent)

    def worker(e):
        v = 0
        with requests.Session() as s:
            while not stop.is_set():
                v += 1
                started = time.monotonic()
                r = s.patch(api + "/entities/" + e + "/attrs", json={"v": prop(v)})
                assert r.status_code == 204
                log[e].append((v, started))

    threads = [threading.Thread(target=worker, args=(e,)) for e in ids]
    for th in threads:
        th.start()
    try:
        time.sleep(0.5)
        p = "/flow"
        subs.create(sub_body(own_receiver.url(p), t, notification={"format": "keyValues"}))
        created = time.monotonic()
        time.sleep(1.0)
    finally:
        stop.set()
        for th in threads:
            th.join()
    must = {e: [v for v, st in log[e] if st > created] for e in ids}
    assert all(must[e] for e in ids), "the writers made no update after the creation"
    need = sum(len(m) for m in must.values())
    own_receiver.wait_for_entities(p, need, timeout=30)
    time.sleep(0.3)
    per = {}
    for d in datas(own_receiver.received(p)):
        per.setdefault(d["id"], []).append(d["v"])
    for e in ids:
        got = per.get(e, [])
        assert got == sorted(got) and len(set(got)) == len(got), got[:20]
        missing = set(must[e]) - set(got)
        assert not missing, f"{e}: {len(missing)} updates after the creation not notified, " \
            f"e.g. {sorted(missing)[:5]}"
        # what arrived is a contiguous run ending at the last update
        assert got == list(range(got[0], log[e][-1][0] + 1))


# ------------------------------------------------------------------------------------------------
# More behaviours
# ------------------------------------------------------------------------------------------------
def test_read_only_members_are_ignored_on_create_5_2_12(api, subs, receiver, path):
    t = new_type()
    body = sub_body(receiver.url(path), t, status="paused",
                    notification={"timesSent": 9, "timesFailed": 3, "status": "failed",
                                  "lastNotification": "2020-01-01T00:00:00Z"})
    sid = subs.create(body)
    s = subs.get(sid)
    assert s["status"] == "active"
    n = s["notification"]
    assert "timesSent" not in n and "timesFailed" not in n
    assert "status" not in n and "lastNotification" not in n


def test_invalid_subscription_id_in_payload_400(api, receiver, path):
    body = dict(sub_body(receiver.url(path), new_type()), id="not a uri")
    p = assert_problem(requests.post(api + "/subscriptions", json=body), 400, "BadRequestData")
    assert "id" in p["detail"]


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_invalid_subscription_id_in_path_400_5_8_3(api, method):
    """5.8.2.4 / 5.8.3.4 / 5.8.5.4: an id that is not a valid URI is BadRequestData."""
    kw = {"json": {"description": "x"}} if method == "patch" else {}
    r = getattr(requests, method)(api + "/subscriptions/not%20a%20uri", **kw)
    assert_problem(r, 400, "BadRequestData")


def test_ld_json_body_without_context_400_6_3_5(api, receiver, path):
    r = requests.post(api + "/subscriptions", json=sub_body(receiver.url(path), new_type()),
                      headers=LD)
    assert_problem(r, 400, "BadRequestData")


def test_ld_json_body_with_context_create_and_patch(api, subs, receiver, path):
    ctx = {"Gadget": "https://example.org/g/Gadget", "power": "https://example.org/g/power",
           "volt": "https://example.org/g/volt"}
    body = dict(sub_body(receiver.url(path), "Gadget", watchedAttributes=["power"]),
                **{"@context": [ctx, CORE]})
    sid = subs.create(body, headers=LD)
    s = subs.get(sid)
    assert s["entities"] == [{"type": "https://example.org/g/Gadget"}]
    assert s["watchedAttributes"] == ["https://example.org/g/power"]
    r = requests.patch(api + "/subscriptions/" + sid, headers=LD,
                       json={"watchedAttributes": ["volt"], "@context": [ctx, CORE]})
    assert r.status_code == 204, r.text
    assert subs.get(sid)["watchedAttributes"] == ["https://example.org/g/volt"]
    # notifications use the @context the subscription was created with
    e = "urn:ngsi-ld:Gadget:" + uid()
    r = requests.post(api + "/entities", headers=LD, json={
        "id": e, "type": "Gadget", "volt": prop(1), "power": prop(1), "@context": [ctx, CORE]})
    assert r.status_code == 201, r.text
    r = requests.patch(api + "/entities/" + e + "/attrs", headers=LD,
                       json={"volt": prop(2), "@context": [ctx, CORE]})
    assert r.status_code == 204, r.text
    recs = receiver.wait_for(path, 2)   # creation (volt created) and the update
    d = datas(recs)[-1]
    assert d["type"] == "Gadget" and d["volt"]["value"] == 2


def test_jsonld_context_member_is_used_for_notifications_5_2_12(api, subs, receiver, path,
                                                                ctx_server):
    cp = "/jctx-" + uid() + ".jsonld"
    ctx_server.docs[cp] = {"@context": {"Pump": "https://example.org/p/Pump",
                                        "flow": "https://example.org/p/flow"}}
    url = ctx_server.url(cp)
    L = {"Link": link(url)}
    e = "urn:ngsi-ld:Pump:" + uid()
    assert requests.post(api + "/entities", json={"id": e, "type": "Pump", "flow": prop(1)},
                         headers=L).status_code == 201
    # created with the core context only: names are full IRIs; jsonldContext compacts them
    subs.create(sub_body(receiver.url(path), "https://example.org/p/Pump", jsonldContext=url))
    r = requests.patch(api + "/entities/" + e + "/attrs", json={"flow": prop(2)}, headers=L)
    assert r.status_code == 204
    rec = receiver.wait_for(path, 1)[0]
    assert url in rec["headers"]["link"]
    d = rec["body"]["data"][0]
    assert d["type"] == "Pump" and d["flow"]["value"] == 2


def test_lang_filter_in_notifications_4_15(api, subs, receiver, path):
    t = new_type()
    e = mk_entity(api, t, name={"type": "LanguageProperty",
                                "languageMap": {"en": "Bridge", "vi": "Cau"}}, v=0)
    subs.create(sub_body(receiver.url(path), t, lang="vi"))
    patch(api, e, v=1)
    d = receiver.wait_for(path, 1)[0]["body"]["data"][0]
    assert d["name"]["type"] == "Property"
    assert d["name"]["value"] == "Cau" and d["name"]["lang"] == "vi"


def test_observed_at_and_sub_attribute_changes_notify_5_8_6(api, subs, receiver, path):
    t = new_type()
    e = mk_entity(api, t, v=prop(1, observedAt="2026-01-01T00:00:00Z", unitCode="CEL"))
    subs.create(sub_body(receiver.url(path), t))
    patch(api, e, v=prop(1, observedAt="2026-01-01T00:00:00Z", unitCode="CEL"))   # same
    patch(api, e, v=prop(1, observedAt="2026-01-01T00:01:00Z", unitCode="CEL"))   # observedAt
    patch(api, e, v=prop(1, observedAt="2026-01-01T00:01:00Z", unitCode="FAH"))   # unitCode
    patch(api, e, v=prop(1, observedAt="2026-01-01T00:01:00Z", unitCode="FAH",
                         accuracy=prop(0.5)))                                     # sub-property
    receiver.wait_for(path, 3)
    got = datas(receiver.quiet(path, 0.3))
    assert [(d["v"]["observedAt"][:16], d["v"]["unitCode"], "accuracy" in d["v"]) for d in got] \
        == [("2026-01-01T00:01", "CEL", False), ("2026-01-01T00:01", "FAH", False),
            ("2026-01-01T00:01", "FAH", True)]


def test_other_write_paths_notify(api, subs, receiver, path):
    """Merge-patch, replace (PUT), batch update / upsert / delete and attribute replace all
    feed the notifier (5.6.x operations are all entity changes)."""
    t = new_type()
    e = mk_entity(api, t, v=0, w=0)
    subs.create(sub_body(receiver.url(path), t, notificationTrigger=[
        "entityUpdated", "entityDeleted"], notification={"format": "keyValues"}))
    steps = []
    r = requests.patch(api + "/entities/" + e, json={"v": prop(1)})           # 5.6.17 merge
    steps.append(("merge", r.status_code))
    r = requests.put(api + "/entities/" + e, json={"type": t, "v": prop(2)})  # 5.6.18 replace
    steps.append(("put", r.status_code))
    r = requests.put(api + "/entities/" + e + "/attrs/v", json=prop(3))       # 5.6.19 replace attr
    steps.append(("put attr", r.status_code))
    r = requests.patch(api + "/entities/" + e + "/attrs/v", json={"value": 4})  # 5.6.4 partial
    steps.append(("patch attr", r.status_code))
    r = requests.post(api + "/entityOperations/update", json=[{"id": e, "type": t, "v": prop(5)}])
    steps.append(("batch update", r.status_code))
    r = requests.post(api + "/entityOperations/upsert", json=[{"id": e, "type": t, "v": prop(6)}])
    steps.append(("batch upsert", r.status_code))
    r = requests.post(api + "/entityOperations/delete", json=[e])
    steps.append(("batch delete", r.status_code))
    assert all(c in (200, 201, 204) for _, c in steps), steps
    receiver.wait_for(path, 7)
    got = datas(receiver.quiet(path, 0.3))
    assert [d.get("v") for d in got[:6]] == [1, 2, 3, 4, 5, 6], got
    assert "deletedAt" in got[6] and got[6]["id"] == e
    assert len(got) == 7


def test_deleted_entity_with_sysattrs_and_show_changes_5_8_6(api, subs, receiver, path):
    t = new_type()
    e = mk_entity(api, t, v=7)
    subs.create(sub_body(receiver.url(path), t, notificationTrigger=["entityDeleted"],
                         notification={"sysAttrs": True}))
    path2 = path + "-sc"
    subs.create(sub_body(receiver.url(path2), t, notificationTrigger=["entityDeleted"],
                         notification={"showChanges": True}))
    assert requests.delete(api + "/entities/" + e).status_code == 204
    d = receiver.wait_for(path, 1)[0]["body"]["data"][0]
    assert {"id", "type", "deletedAt", "createdAt", "modifiedAt"} <= set(d)
    assert "v" not in d
    d = receiver.wait_for(path2, 1)[0]["body"]["data"][0]
    assert d["v"]["value"] == NULL and d["v"]["previousValue"] == 7


def test_deleted_attribute_with_sysattrs_is_an_object_5_8_6(api, subs, receiver, path):
    t = new_type()
    e = mk_entity(api, t, a=1, b=2)
    subs.create(sub_body(receiver.url(path), t, notificationTrigger=["attributeDeleted"],
                         notification={"sysAttrs": True}))
    assert requests.delete(api + "/entities/" + e + "/attrs/b").status_code == 204
    d = receiver.wait_for(path, 1)[0]["body"]["data"][0]
    assert d["b"]["value"] == NULL
    assert "deletedAt" in d["b"]


def test_time_interval_sends_periodic_notifications_5_8_6(api, subs, receiver, path):
    t = new_type()
    e = mk_entity(api, t, v=1)
    sid = subs.create(sub_body(receiver.url(path), t, timeInterval=1))
    assert subs.get(sid)["timeInterval"] == 1
    # no change at all: the notifications come on time, each with the matching entities
    recs = receiver.wait_for(path, 2, timeout=8)
    assert recs[0]["body"]["data"][0]["id"] == e


def test_time_interval_notifies_every_matching_entity_past_1000_5_8_6(api, subs, own_receiver):
    """A periodic run over 1 500 entities: pages of at most 1 000 entities per notification,
    every entity once per run."""
    t = new_type()
    ids = [eid(t, i) for i in range(1500)]
    r = requests.post(api + "/entityOperations/create",
                      json=[{"id": i, "type": t, "v": prop(1)} for i in ids])
    assert r.status_code == 201, r.text[:300]
    subs.create(sub_body(own_receiver.url("/period"), t, timeInterval=2,
                         notification={"format": "keyValues"}))
    recs = own_receiver.wait_for("/period", 1500, timeout=20)
    first = []
    for r in recs:  # the first run: notifications until 1 500 entities
        first.extend(d["id"] for d in r["body"]["data"])
        if len(first) >= 1500:
            break
    assert sorted(first) == sorted(ids)
    assert max(len(r["body"]["data"]) for r in recs) == 1000


def test_patch_entities_and_watched_attributes_reindexes_5_8_2(api, subs, receiver, path):
    ta, tb = new_type(), new_type()
    ea, eb = mk_entity(api, ta, x=0, y=0), mk_entity(api, tb, x=0, y=0)
    sid = subs.create(sub_body(receiver.url(path), ta, watchedAttributes=["x"]))
    assert subs.patch(sid, {"entities": [{"type": tb}], "watchedAttributes": ["y"]}) \
        .status_code == 204
    patch(api, ea, y=1)    # old type: no
    patch(api, eb, x=1)    # old watched attribute: no
    patch(api, eb, y=1)    # yes
    receiver.wait_for(path, 1)
    got = datas(receiver.quiet(path, 0.3))
    assert [(d["id"], d["y"]["value"]) for d in got] == [(eb, 1)]


def test_retries_keep_per_entity_order_5_8_6(api, subs, own_receiver):
    t = new_type()
    e = mk_entity(api, t, v=0)
    p = "/flaky"
    own_receiver.mode[p] = 3          # the first three attempts get a 500
    sid = subs.create(sub_body(own_receiver.url(p), t, notification={"format": "keyValues"}))
    for v in range(1, 6):
        patch(api, e, v=v)
    own_receiver.wait_for_entities(p, 5, pred=lambda r: r["status"] == 204, timeout=20)
    recs = own_receiver.quiet(p, 0.3)
    ok = [d["v"] for r in recs if r["status"] == 204 for d in r["body"]["data"]]
    assert ok == [1, 2, 3, 4, 5]
    # the retried notification is the same one each time (it starts with the first change; a
    # busy notifier may already have batched a second one into it); the later changes wait for
    # it and follow in the next notification (notifier.h, BATCHING)
    failed = [[d["v"] for d in r["body"]["data"]] for r in recs if r["status"] == 500]
    assert len(failed) == 3 and failed[0][0] == 1 and all(f == failed[0] for f in failed), failed
    sent = sum(1 for r in recs if r["status"] == 204)
    n = wait_until(lambda: (lambda n: n if n.get("timesSent") == sent else None)(
        subs.get(sid)["notification"]), msg=f"timesSent == {sent}")
    assert n["status"] == "ok" and n.get("timesFailed", 0) == 0   # retried, then delivered


def test_throttling_defers_changes_to_the_end_of_the_period_none_lost_5_2_12(api, subs,
                                                                             own_receiver):
    """throttling: at least that long between two notifications (5.2.12). The changes made
    inside the period are not lost: they go together in the notification sent when it ends."""
    t = new_type()
    e = mk_entity(api, t, v=0)
    p = "/thr"
    sid = subs.create(sub_body(own_receiver.url(p), t, throttling=1,
                               notification={"format": "keyValues"}))
    for v in range(1, 6):
        patch(api, e, v=v)
    recs = own_receiver.wait_for(p, 5, timeout=10)
    assert [d["v"] for d in datas(recs)] == [1, 2, 3, 4, 5]
    # the first change goes at once; the others wait for the period's end, together (when the
    # five PATCHes took under a second, as they do unless the machine is very busy)
    assert [d["v"] for d in recs[0]["body"]["data"]] == [1] and len(recs) < 5
    # the period is kept by the notifier's clock (notifiedAt), not by when requests arrive
    sent_at = [parse_time(r["body"]["notifiedAt"]) for r in recs]
    gaps = [(b - a).total_seconds() for a, b in zip(sent_at, sent_at[1:])]
    assert all(1.0 <= g < 5.0 * TIMEOUT_MULT for g in gaps), gaps
    n = len(recs)
    wait_until(lambda: subs.get(sid)["notification"].get("timesSent") == n,
               msg=f"timesSent == {n}")


def test_fractional_throttling_lets_later_updates_through(api, subs, receiver, path):
    t = new_type()
    e = mk_entity(api, t, v=0)
    subs.create(sub_body(receiver.url(path), t, throttling=0.5))
    patch(api, e, v=1)
    receiver.wait_for(path, 1)
    time.sleep(1.0)        # past the period
    patch(api, e, v=2)
    receiver.wait_for(path, 2)


# ------------------------------------------------------------------------------------------------
# Batching (notifier.h BATCHING): one notification in flight per subscription, the changes made
# meanwhile follow together in commit order; limits and the one-per-change mode
# ------------------------------------------------------------------------------------------------
def test_subscriptions_rendering_alike_or_not_each_get_their_own_format(api, subs, receiver):
    """Changes are rendered once per rendering signature and shared: subscriptions with another
    format, projection or accept still get theirs."""
    t = new_type()
    paths = {k: "/n/" + uid() for k in ("n1", "n2", "kv", "attrs", "ld")}
    subs.create(sub_body(receiver.url(paths["n1"]), t))
    subs.create(sub_body(receiver.url(paths["n2"]), t, watchedAttributes=["v"]))
    subs.create(sub_body(receiver.url(paths["kv"]), t, notification={"format": "keyValues"}))
    subs.create(sub_body(receiver.url(paths["attrs"]), t, notification={"attributes": ["w"]}))
    subs.create(sub_body(receiver.url(paths["ld"]), t,
                         notification={"endpoint": {"accept": "application/ld+json"}}))
    e = mk_entity(api, t, v=0, w=0)
    for v in range(1, 6):
        patch(api, e, v=v, w=10 * v)
    got = {k: datas(receiver.wait_for(p, 6)) for k, p in paths.items()}
    assert [d["v"]["value"] for d in got["n1"]] == list(range(6))
    assert got["n2"] == got["n1"]
    assert [d["v"] for d in got["kv"]] == list(range(6))
    assert all(set(d) == {"id", "type", "w"} for d in got["attrs"])
    assert [d["w"]["value"] for d in got["attrs"]] == [0, 10, 20, 30, 40, 50]
    for r in receiver.received(paths["ld"]):
        assert r["body"]["@context"] == CORE or CORE in r["body"]["@context"]


def test_one_notification_per_change_with_notify_batch_1(tmp_path, own_receiver):
    p = Polis(tmp_path, extra_args=["--notify-batch", "1"]).start()
    try:
        api2 = p.api
        t = new_type()
        ids = [eid(t, i) for i in range(100)]
        r = requests.post(api2 + "/entityOperations/create",
                          json=[{"id": i, "type": t, "v": prop(0)} for i in ids])
        assert r.status_code == 201, r.text[:300]
        r = requests.post(api2 + "/subscriptions", json=sub_body(
            own_receiver.url("/one"), t, notification={"format": "keyValues"}))
        assert r.status_code == 201, r.text
        for v in (1, 2, 3):
            r = requests.post(api2 + "/entityOperations/upsert", params={"options": "update"},
                              json=[{"id": i, "type": t, "v": prop(v)} for i in ids])
            assert r.status_code == 204, r.text[:300]
        recs = own_receiver.wait_for("/one", 300, timeout=30)
        recs = own_receiver.quiet("/one", 0.3)
        assert len(recs) == 300 and all(len(r["body"]["data"]) == 1 for r in recs)
        per = {}
        for d in datas(recs):
            per.setdefault(d["id"], []).append(d["v"])
        assert all(per[i] == [1, 2, 3] for i in ids)
    finally:
        p.check_exit()


def test_endpoint_that_does_not_keep_up_drops_oldest_and_shows_failure_5_8_6(tmp_path,
                                                                               own_receiver):
    """--notify-pending 20: a hanging endpoint holds one notification in flight; beyond 20
    waiting changes the oldest are dropped, shown in its status and /metrics, while a live
    endpoint on the same changes receives every one."""
    p = Polis(tmp_path, extra_args=["--notify-pending", "20"]).start()
    try:
        api2 = p.api
        t = new_type()
        e = eid(t)
        r = requests.post(api2 + "/entities", json={"id": e, "type": t, "v": prop(0)})
        assert r.status_code == 201, r.text
        r = requests.post(api2 + "/subscriptions", json=sub_body(
            own_receiver.url("/hang/x"), t, notification={"format": "keyValues"}))
        assert r.status_code == 201, r.text
        slow = requests.utils.unquote(r.headers["Location"].rsplit("/", 1)[1])
        r = requests.post(api2 + "/subscriptions", json=sub_body(
            own_receiver.url("/live"), t, notification={"format": "keyValues"}))
        assert r.status_code == 201, r.text
        live = requests.utils.unquote(r.headers["Location"].rsplit("/", 1)[1])
        with requests.Session() as s:
            for v in range(1, 101):
                assert s.patch(api2 + "/entities/" + e + "/attrs",
                               json={"v": prop(v)}).status_code == 204
        got = datas(own_receiver.wait_for("/live", 100, timeout=20))
        assert [d["v"] for d in got] == list(range(1, 101))

        def slow_failed():
            n = requests.get(api2 + "/subscriptions/" + slow).json()["notification"]
            return n if n.get("timesFailed", 0) >= 1 else None
        n = wait_until(slow_failed, timeout=20, msg="the slow subscription shows a failure")
        assert n["status"] == "failed" and "lastFailure" in n
        m = requests.get(p.url + "/metrics").json()
        assert m["notifications"]["dropped"] >= 70, m["notifications"]["dropped"]
        mine = [x for x in m["notifications"]["subscriptions"] if x["id"] == slow]
        assert mine and "dropped" in mine[0]["lastError"], mine
        # the backlog is visible: one notification is stuck in delivery, the list holds at most
        # --notify-pending changes (fewer than 20 once a stuck one timed out after 5 s and the
        # next one left the list: a loaded machine may take that long for the 100 PATCHes)
        assert 0 < mine[0]["waiting"] <= 20 and mine[0]["inFlight"] == 1, mine
        wait_until(lambda: [x for x in requests.get(p.url + "/metrics").json()["notifications"][
            "subscriptions"] if x["id"] == live and x["waiting"] == 0 and x["inFlight"] == 0],
            msg="the live subscription has nothing waiting or in flight")
        ln = requests.get(api2 + "/subscriptions/" + live).json()["notification"]
        assert ln["status"] == "ok" and ln.get("timesFailed", 0) == 0
    finally:
        p.check_exit()


def test_dataset_id_selects_the_instances_notified_5_8_6(api, subs, own_receiver):
    """datasetId (5.2.12): notifications carry only the selected attribute instances, and only
    their changes trigger; "@none" selects the default instances; GET shows the member."""
    t = new_type()
    e = eid(t)
    r = requests.post(api + "/entities", json={
        "id": e, "type": t, "temp": [prop(20), prop(21, datasetId="urn:ngsi-ld:Dataset:b")]})
    assert r.status_code == 201, r.text
    sid = subs.create(sub_body(own_receiver.url("/ds"), t,
                               datasetId=["urn:ngsi-ld:Dataset:b"]))
    subs.create(sub_body(own_receiver.url("/none"), t, datasetId=["@none"]))
    assert subs.get(sid)["datasetId"] == ["urn:ngsi-ld:Dataset:b"]
    # the default instance changes: only "/none" hears of it
    assert requests.patch(api + "/entities/" + e + "/attrs/temp",
                          json={"value": 30}).status_code == 204
    # the urn:ngsi-ld:Dataset:b instance changes: only "/ds"
    assert requests.patch(api + "/entities/" + e + "/attrs/temp", json={
        "value": 31, "datasetId": "urn:ngsi-ld:Dataset:b"}).status_code == 204
    ds = datas(own_receiver.wait_for("/ds", 1))
    none = datas(own_receiver.wait_for("/none", 1))
    time.sleep(0.3)
    ds, none = datas(own_receiver.received("/ds")), datas(own_receiver.received("/none"))
    assert len(ds) == 1 and len(none) == 1, (ds, none)
    t_ds = ds[0]["temp"]
    t_ds = t_ds if isinstance(t_ds, list) else [t_ds]
    assert [(i.get("datasetId"), i["value"]) for i in t_ds] == [("urn:ngsi-ld:Dataset:b", 31)]
    t_none = none[0]["temp"]
    t_none = t_none if isinstance(t_none, list) else [t_none]
    assert [(i.get("datasetId"), i["value"]) for i in t_none] == [(None, 30)]


def test_dataset_id_invalid_400(api):
    for bad in ([], ["not a uri"], "urn:ngsi-ld:Dataset:b", [7]):
        r = requests.post(api + "/subscriptions", json=_bad(datasetId=bad))
        p = assert_problem(r, 400, "BadRequestData")
        assert "datasetId" in p["detail"]
