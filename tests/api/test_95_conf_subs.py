# SPDX-License-Identifier: Apache-2.0
"""Conformance of subscriptions and notifications to NGSI-LD V1.9.1 (issue 11, area "subs"):
the Subscription representation (5.2.12, 5.2.14), the @context of notifications and
jsonldContext (5.2.12, 5.8.1, 5.8.2, 5.8.6), showChanges (5.2.14), PATCH replacing members
(5.8.2, 5.5.8), paging of GET /subscriptions (5.5.9), temporalQ / jsonKeys / ngsildConformance
(5.2.12). Each test is named after its clause; notifications go to a loopback receiver."""
import json
import os
import subprocess

import pytest
import requests

from conftest import CORE, ROOT, MqttSubscriber, assert_problem, link, wait_until
from test_70_subscriptions import Subs, datas, eid, mk_entity, new_type, patch, prop, sub_body, uid

LD = {"Content-Type": "application/ld+json"}


@pytest.fixture
def subs(api):
    s = Subs(api)
    yield s
    s.cleanup()


@pytest.fixture
def path():
    return "/c95/" + uid()


# ------------------------------------------------------------------------------------------------
# 5.2.12 / 5.2.14: the representation
# ------------------------------------------------------------------------------------------------
def test_5_2_12_representation_shows_default_trigger_not_invented_isactive(subs, receiver, path):
    t = new_type()
    sid = subs.create(sub_body(receiver.url(path), t))
    got = subs.get(sid)
    # the default notificationTrigger (5.2.12: attributeCreated + attributeUpdated)
    assert got["notificationTrigger"] == ["attributeCreated", "attributeUpdated"], got
    # isActive was never sent: not invented; the state is in the read-only status
    assert "isActive" not in got, got
    assert got["status"] == "active"
    # counters without a value are absent (5.2.14: timesSent / timesFailed are >= 1)
    n = got["notification"]
    for k in ("timesSent", "timesFailed", "lastNotification", "lastSuccess", "lastFailure",
              "status"):
        assert k not in n, (k, n)
    # the members the client set are shown as set
    assert got["entities"] == [{"type": t}]
    assert n["endpoint"] == {"uri": receiver.url(path)}


def test_5_2_12_representation_shows_isactive_the_client_set(subs, receiver, path):
    sid = subs.create(sub_body(receiver.url(path), new_type(), isActive=False))
    got = subs.get(sid)
    assert got["isActive"] is False and got["status"] == "paused", got
    assert subs.patch(sid, {"isActive": True}).status_code == 204
    got = subs.get(sid)
    assert got["isActive"] is True and got["status"] == "active", got


def test_5_2_14_status_members_appear_once_they_have_a_value(api, subs, receiver, path):
    t = new_type()
    sid = subs.create(sub_body(receiver.url(path), t))
    mk_entity(api, t, v=1)
    receiver.wait_for(path, 1)

    def counted():
        n = subs.get(sid)["notification"]
        return n if n.get("timesSent", 0) >= 1 and "lastSuccess" in n else None
    n = wait_until(counted, msg="timesSent shown after a notification")
    assert n["status"] == "ok" and "lastNotification" in n
    assert "timesFailed" not in n and "lastFailure" not in n, n


def test_5_2_12_list_representation_matches_retrieve(api, subs, receiver, path):
    t = new_type()
    sid = subs.create(sub_body(receiver.url(path), t, subscriptionName="n-" + t))
    one = subs.get(sid)
    r = requests.get(api + "/subscriptions", params={"limit": 1000})
    assert r.status_code == 200
    listed = [s for s in r.json() if s["id"] == sid]
    assert listed == [one]


# ------------------------------------------------------------------------------------------------
# 5.2.12 jsonldContext, 5.8.6 / 5.3.1 the @context of notifications
# ------------------------------------------------------------------------------------------------
def test_5_2_12_jsonldcontext_records_the_creation_context(api, subs, receiver, path,
                                                           ctx_server):
    cp = "/c95ctx-" + uid() + ".jsonld"
    ctx_server.docs[cp] = {"@context": {"temp": "https://example.org/c95/temperature"}}
    url = ctx_server.url(cp)
    sid = subs.create(sub_body(receiver.url(path), new_type(), watchedAttributes=["temp"]),
                      headers={"Link": link(url)})
    assert subs.get(sid, headers={"Link": link(url)})["jsonldContext"] == url
    # without any @context: the core context is the subscription's
    sid2 = subs.create(sub_body(receiver.url(path), new_type()))
    assert subs.get(sid2)["jsonldContext"].startswith(
        "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context")


def test_5_8_6_json_notification_link_names_the_subscription_context(api, subs, receiver,
                                                                      path, ctx_server):
    cp = "/c95ctx-" + uid() + ".jsonld"
    ctx_server.docs[cp] = {"@context": {"temp": "https://example.org/c95/temperature"}}
    url = ctx_server.url(cp)
    t = new_type()
    subs.create(sub_body(receiver.url(path), t), headers={"Link": link(url)})
    requests.post(api + "/entities", headers={"Link": link(url)},
                  json={"id": eid(t), "type": t, "temp": prop(20)}).raise_for_status()
    rec = receiver.wait_for(path, 1)[0]
    assert rec["headers"]["content-type"].startswith("application/json")
    assert rec["headers"]["link"].startswith("<" + url + ">"), rec["headers"]["link"]
    assert "temp" in rec["body"]["data"][0], rec["body"]  # compacted with that context
    assert "@context" not in rec["body"]


def test_5_3_1_ldjson_notification_carries_the_context_in_the_body(api, subs, receiver, path,
                                                                   ctx_server):
    cp = "/c95ctx-" + uid() + ".jsonld"
    ctx_server.docs[cp] = {"@context": {"temp": "https://example.org/c95/temperature"}}
    url = ctx_server.url(cp)
    t = new_type()
    subs.create(sub_body(receiver.url(path), t,
                         notification={"endpoint": {"accept": "application/ld+json"}}),
                headers={"Link": link(url)})
    requests.post(api + "/entities", headers={"Link": link(url)},
                  json={"id": eid(t), "type": t, "temp": prop(20)}).raise_for_status()
    rec = receiver.wait_for(path, 1)[0]
    assert rec["headers"]["content-type"].startswith("application/ld+json")
    assert "link" not in rec["headers"]
    ctx = rec["body"]["@context"]
    ctx = ctx if isinstance(ctx, list) else [ctx]
    assert ctx[0] == url, ctx
    assert "temp" in rec["body"]["data"][0]


def test_5_8_1_unretrievable_jsonldcontext_is_ldcontextnotavailable(api, subs, receiver, path,
                                                                    ctx_server):
    bad_url = ctx_server.url("/404/c95-" + uid() + ".jsonld")
    r = requests.post(api + "/subscriptions",
                      json=sub_body(receiver.url(path), new_type(), jsonldContext=bad_url))
    assert_problem(r, 504, "LdContextNotAvailable")
    # and on PATCH (5.8.2.4)
    sid = subs.create(sub_body(receiver.url(path), new_type()))
    r = subs.patch(sid, {"jsonldContext": bad_url})
    assert_problem(r, 504, "LdContextNotAvailable")
    # an invalid @context document is BadRequestData
    cp = "/c95bad-" + uid() + ".jsonld"
    ctx_server.docs[cp] = {"@context": 42}
    r = subs.patch(sid, {"jsonldContext": ctx_server.url(cp)})
    assert_problem(r, 400, "BadRequestData")
    assert subs.get(sid)["jsonldContext"].startswith("https://uri.etsi.org/ngsi-ld/")


# ------------------------------------------------------------------------------------------------
# 5.2.14 showChanges
# ------------------------------------------------------------------------------------------------
def test_5_2_14_showchanges_previous_values_only_on_changed_attributes(api, subs, receiver,
                                                                       path):
    t = new_type()
    e = eid(t)
    requests.post(api + "/entities", json={
        "id": e, "type": t, "a": prop(1), "b": prop("same"),
        "r": {"type": "Relationship", "object": "urn:ngsi-ld:X:1"},
        "l": {"type": "LanguageProperty", "languageMap": {"en": "hi"}}}).raise_for_status()
    subs.create(sub_body(receiver.url(path), t, notification={"showChanges": True}))
    r = requests.post(api + "/entities/" + e + "/attrs", json={
        "a": prop(2), "b": prop("same"),
        "r": {"type": "Relationship", "object": "urn:ngsi-ld:X:2"},
        "l": {"type": "LanguageProperty", "languageMap": {"en": "hello"}}})
    assert r.status_code in (204, 207), r.text
    d = datas(receiver.wait_for(path, 1))[0]
    assert d["a"]["value"] == 2 and d["a"]["previousValue"] == 1, d
    assert d["r"]["previousObject"] == "urn:ngsi-ld:X:1", d
    assert d["l"]["previousLanguageMap"] == {"en": "hi"}, d
    assert "previousValue" not in d["b"], d  # unchanged: no previous value


# ------------------------------------------------------------------------------------------------
# 5.8.2 / 5.5.8 PATCH replaces the members it names
# ------------------------------------------------------------------------------------------------
def test_5_8_2_4_patch_notification_without_endpoint_is_bad_request(subs, receiver, path):
    sid = subs.create(sub_body(receiver.url(path), new_type(),
                               notification={"format": "keyValues"}))
    r = subs.patch(sid, {"notification": {"format": "normalized"}})
    assert_problem(r, 400, "BadRequestData")
    got = subs.get(sid)
    assert got["notification"]["format"] == "keyValues"
    assert got["notification"]["endpoint"]["uri"] == receiver.url(path)


def test_5_5_8_patch_replaces_notification_as_a_whole(subs, receiver, path):
    sid = subs.create(sub_body(receiver.url(path), new_type(), notification={
        "format": "keyValues", "attributes": ["a"],
        "endpoint": {"accept": "application/ld+json",
                     "receiverInfo": [{"key": "X-K", "value": "v"}]}}))
    other = receiver.url(path + "/other")
    assert subs.patch(sid, {"notification": {"endpoint": {"uri": other}}}).status_code == 204
    n = subs.get(sid)["notification"]
    assert n["endpoint"] == {"uri": other}, n
    assert "format" not in n and "attributes" not in n, n


# ------------------------------------------------------------------------------------------------
# 5.5.9 paging of GET /subscriptions
# ------------------------------------------------------------------------------------------------
def test_5_5_9_1_subscriptions_paging_links_prev_and_next(fresh_polis, receiver, path):
    p = fresh_polis.start()
    s = Subs(p.api)
    try:
        for _ in range(5):
            s.create(sub_body(receiver.url(path), new_type()))

        def get(**params):
            r = requests.get(p.api + "/subscriptions", params=params)
            assert r.status_code == 200, r.text
            return r, r.headers.get("Link", "")
        r, lk = get(limit=2, count="true")
        assert r.headers["NGSILD-Results-Count"] == "5"
        assert len(r.json()) == 2
        assert 'rel="next"' in lk and "offset=2" in lk and 'rel="prev"' not in lk, lk
        r, lk = get(limit=2, offset=2)
        assert 'rel="next"' in lk and 'rel="prev"' in lk, lk
        assert "offset=4&limit=2" in lk and "offset=0&limit=2" in lk, lk
        r, lk = get(limit=2, offset=4)
        assert len(r.json()) == 1
        assert 'rel="next"' not in lk and 'rel="prev"' in lk and "offset=2&limit=2" in lk, lk
        # every page together is the whole list, once
        ids = [x["id"] for o in (0, 2, 4) for x in get(limit=2, offset=o)[0].json()]
        assert len(ids) == 5 == len(set(ids))
        r, _ = get(limit=0, count="true")
        assert r.json() == [] and r.headers["NGSILD-Results-Count"] == "5"
    finally:
        s.cleanup()


# ------------------------------------------------------------------------------------------------
# 5.2.12 temporalQ, jsonKeys, ngsildConformance
# ------------------------------------------------------------------------------------------------
def test_5_2_12_temporalq_and_jsonkeys_are_accepted_and_shown(subs, receiver, path):
    tq = {"timerel": "after", "timeAt": "2020-01-01T00:00:00Z"}
    sid = subs.create(sub_body(receiver.url(path), new_type(), temporalQ=tq, jsonKeys="a,b"))
    got = subs.get(sid)
    assert got["temporalQ"] == tq and got["jsonKeys"] == "a,b", got
    assert subs.patch(sid, {"temporalQ": None}).status_code == 204
    assert "temporalQ" not in subs.get(sid)


@pytest.mark.parametrize("member,value", [
    ("temporalQ", {"timerel": "after"}),
    ("temporalQ", {"timerel": "sometime", "timeAt": "2020-01-01T00:00:00Z"}),
    ("temporalQ", "after"),
    ("jsonKeys", "a,,b"),
    ("jsonKeys", 7),
    ("ngsildConformance", "1"),
    ("ngsildConformance", "v1.3"),
    ("ngsildConformance", 1.3),
])
def test_5_2_12_invalid_temporalq_jsonkeys_conformance_400(api, receiver, path, member, value):
    r = requests.post(api + "/subscriptions",
                      json=sub_body(receiver.url(path), new_type(), **{member: value}))
    p = assert_problem(r, 400, "BadRequestData")
    assert member in p["detail"], p


def test_5_8_6_ngsildconformance_applies_the_4_3_6_8_fallbacks(api, subs, receiver, path):
    t = new_type()
    e = eid(t)
    requests.post(api + "/entities", json={
        "id": e, "type": t, "scope": "/a",
        "j": {"type": "JsonProperty", "json": {"k": 1}},
        "l": {"type": "LanguageProperty", "languageMap": {"en": "hi"}},
        "m": [{"type": "Property", "value": 1, "datasetId": "urn:ds:1"},
              {"type": "Property", "value": 0, "observedAt": "2020-01-01T00:00:00Z",
               "unitCode": "CEL"}],
        "lr": {"type": "ListRelationship", "objectList": [{"object": "urn:ngsi-ld:X:1"}]}}
    ).raise_for_status()
    p13, p17 = path + "/13", path + "/17"
    sid = subs.create(sub_body(receiver.url(p17), t, ngsildConformance="1.7"))
    assert subs.get(sid)["ngsildConformance"] == "1.7"
    subs.create(sub_body(receiver.url(p13), t, ngsildConformance="1.3"))
    subs.create(sub_body(receiver.url(path), t))
    patch(api, e, j={"type": "JsonProperty", "json": {"k": 2}})
    d = datas(receiver.wait_for(p17, 1))[0]
    assert d["j"] == {"type": "Property", "value": {"k": 2}}, d   # JsonProperty: 1.8
    assert d["lr"]["type"] == "Relationship" and "objectList" not in d["lr"], d
    assert d["l"]["type"] == "LanguageProperty"                   # 1.4: kept for 1.7
    assert d["scope"] == "/a"
    assert isinstance(d["m"], list) and len(d["m"]) == 2
    d = datas(receiver.wait_for(p13, 1))[0]
    assert d["l"] == {"type": "Property", "value": {"en": "hi"}}, d  # LanguageProperty: 1.4
    assert "scope" not in d                                         # scope: 1.4
    assert isinstance(d["m"], list) and len(d["m"]) == 2            # datasetId: 1.3, kept
    assert d["m"][0].get("unitCode") == "CEL" or d["m"][1].get("unitCode") == "CEL"
    # without ngsildConformance: as stored
    d = datas(receiver.wait_for(path, 1))[0]
    assert d["j"]["type"] == "JsonProperty" and d["l"]["type"] == "LanguageProperty"


def test_4_3_6_8_conformance_1_0_keeps_one_instance_and_drops_later_members(api, subs,
                                                                           receiver, path):
    t = new_type()
    e = eid(t)
    requests.post(api + "/entities", json={
        "id": e, "type": t,
        "m": [{"type": "Property", "value": 1, "datasetId": "urn:ds:1"},
              {"type": "Property", "value": 0, "observedAt": "2020-01-01T00:00:00Z",
               "unitCode": "CEL"}]}).raise_for_status()
    subs.create(sub_body(receiver.url(path), t, ngsildConformance="1.0"))
    requests.post(api + "/entities/" + e + "/attrs", json={"n": prop(5)}).raise_for_status()
    d = datas(receiver.wait_for(path, 1))[0]
    assert d["m"] == {"type": "Property", "value": 0}, d  # the default instance, 1.0 members
    assert d["n"] == {"type": "Property", "value": 5}


# ------------------------------------------------------------------------------------------------
# 7.2 MQTT: a broker restart, changed credentials
# ------------------------------------------------------------------------------------------------
MOSQUITTO = os.path.join(ROOT, "scripts", "mosquitto.sh")


@pytest.fixture
def broker(tmp_path):
    """A Mosquitto of its own (scripts/mosquitto.sh), so that it can be restarted."""
    d = str(tmp_path / "mosquitto")
    r = subprocess.run([MOSQUITTO, "start", d], capture_output=True, text=True)
    if r.returncode == 3:
        pytest.skip("mosquitto is not installed (scripts/install-deps.sh test installs it)")
    assert r.returncode == 0, r.stderr
    yield d, int(r.stdout.strip())
    subprocess.run([MOSQUITTO, "stop", d], capture_output=True)


def sub_status(api, sid):
    return requests.get(api + "/subscriptions/" + sid).json()["notification"]


def test_7_2_mqtt_broker_restart_next_notification_goes_out(fresh_polis, broker):
    """After a broker restart the next notification goes out at its first attempt: a waiting
    message ends the reconnection backoff (a broker of its own and a Polis of its own, whose
    delivery counters only this test moves)."""
    d, port = broker
    p = fresh_polis.start()
    api = p.api
    subs = Subs(api)
    t = new_type()
    topic = "c95/" + uid()
    e = mk_entity(api, t, v=0)
    sid = subs.create(sub_body(f"mqtt://127.0.0.1:{port}/{topic}", t, notification={
        "endpoint": {"notifierInfo": [{"key": "MQTT-QoS", "value": "1"}]}}))

    def retried():
        return requests.get(p.url + "/metrics").json()["notifications"]["delivery"]["retried"]
    m = MqttSubscriber(port, topic)
    try:
        patch(api, e, v=1)
        m.wait_for(1)
    finally:
        m.close()
    subprocess.run([MOSQUITTO, "stop", d], check=True)
    # notifications while the broker is away fail (their retries run out); a busy notifier
    # may batch both changes into one notification, so count the failures it reports
    patch(api, e, v=2)
    patch(api, e, v=3)
    def idle():
        mine = [x for x in requests.get(p.url + "/metrics").json()["notifications"][
            "subscriptions"] if x["id"] == sid]
        return mine and mine[0]["waiting"] == 0 and mine[0]["inFlight"] == 0
    wait_until(lambda: sub_status(api, sid).get("timesFailed", 0) >= 1 and idle(), timeout=40,
               msg="the notifications during the outage failed")
    failed = sub_status(api, sid)["timesFailed"]
    r = subprocess.run([MOSQUITTO, "restart", d], capture_output=True, text=True)
    assert r.returncode == 0 and int(r.stdout) == port, r.stderr
    m = MqttSubscriber(port, topic)
    try:
        before = retried()
        patch(api, e, v=4)
        got = m.wait_for(1)
        assert json.loads(got[-1][1])["body"]["data"][-1]["v"]["value"] == 4
    finally:
        m.close()
    n = wait_until(lambda: (lambda n: n if n.get("status") == "ok" else None)(
        sub_status(api, sid)), msg="status ok again")
    assert n["timesFailed"] == failed, n   # nothing failed after the broker came back
    assert retried() == before  # its first attempt went out: no retry for want of a connection
    subs.cleanup()
    p.check_exit()


def test_7_2_mqtt_changed_credentials_next_notification_goes_out(api, subs, broker):
    _, port = broker
    t = new_type()
    topic = "c95/" + uid()
    e = mk_entity(api, t, v=0)
    sid = subs.create(sub_body(f"mqtt://alice:one@127.0.0.1:{port}/{topic}", t))
    m = MqttSubscriber(port, topic)
    try:
        patch(api, e, v=1)
        m.wait_for(1)
        r = subs.patch(sid, {"notification": {"endpoint": {
            "uri": f"mqtt://bob:two@127.0.0.1:{port}/{topic}"}}})
        assert r.status_code == 204, r.text
        patch(api, e, v=2)
        got = m.wait_for(2)
        assert [json.loads(x[1])["body"]["data"][-1]["v"]["value"] for x in got][-1] == 2
    finally:
        m.close()
    # the connection with the old credentials does not stay open for a minute: the broker
    # soon counts two clients, Polis's one connection and the watcher
    sysm = MqttSubscriber(port, "$SYS/broker/clients/connected")
    try:
        def connected():
            with sysm.cond:
                return sysm.messages and sysm.messages[-1][1] in (b"2", "2")
        wait_until(connected, timeout=20, msg="the old credentials' connection closed")
    finally:
        sysm.close()


def test_5_2_12_inline_context_is_recorded_as_its_hosted_url(api, subs, receiver, path):
    t = new_type()
    body = dict(sub_body(receiver.url(path), t, watchedAttributes=["temp"]),
                **{"@context": [{"temp": "https://example.org/c95/inline-temp"}, CORE]})
    sid = subs.create(body, headers=LD)
    url = subs.get(sid)["jsonldContext"]
    assert "/ngsi-ld/v1/jsonldContexts/" in url, url
    served = requests.get(url)  # the ImplicitlyCreated context is served there
    assert served.status_code == 200, served.text
    requests.post(api + "/entities", headers=LD, json={
        "id": eid(t), "type": t, "temp": prop(1),
        "@context": [{"temp": "https://example.org/c95/inline-temp"}, CORE]}).raise_for_status()
    rec = receiver.wait_for(path, 1)[0]
    assert rec["headers"]["link"].startswith("<" + url + ">"), rec["headers"]["link"]
    assert "temp" in rec["body"]["data"][0], rec["body"]


# ------------------------------------------------------------------------------------------------
# 5.8.2.4 the status after an update
# ------------------------------------------------------------------------------------------------
def test_5_8_2_4_status_rules_of_isactive_and_expiresat(subs, receiver, path):
    import datetime

    def iso_in(seconds):
        t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
        return t.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (t.microsecond // 1000)
    sid = subs.create(sub_body(receiver.url(path), new_type(), isActive=False,
                               expiresAt=iso_in(1.5)))
    assert subs.get(sid)["status"] == "paused"
    wait_until(lambda: subs.get(sid)["status"] == "expired", msg="expired")
    # isActive true without expiresAt: stays expired (the previous status was "expired")
    assert subs.patch(sid, {"isActive": True}).status_code == 204
    assert subs.get(sid)["status"] == "expired"
    assert subs.patch(sid, {"isActive": False}).status_code == 204
    assert subs.get(sid)["status"] == "expired"
    # only expiresAt, in the future, on an expired subscription: active (though it was paused)
    assert subs.patch(sid, {"expiresAt": iso_in(3600)}).status_code == 204
    assert subs.get(sid)["status"] == "active"
    # isActive false, no expiresAt: paused; expiresAt in the past: 400 whatever isActive says
    assert subs.patch(sid, {"isActive": False}).status_code == 204
    assert subs.get(sid)["status"] == "paused"
    # only expiresAt on a paused (not expired) subscription: stays paused
    assert subs.patch(sid, {"expiresAt": iso_in(7200)}).status_code == 204
    assert subs.get(sid)["status"] == "paused"
    r = subs.patch(sid, {"isActive": True, "expiresAt": "2001-01-01T00:00:00Z"})
    assert_problem(r, 400, "BadRequestData")
    assert subs.get(sid)["status"] == "paused"


# ------------------------------------------------------------------------------------------------
# 5.8.6 periodic notifications
# ------------------------------------------------------------------------------------------------
def test_5_8_6_periodic_without_matching_entities_sends_nothing(api, subs, receiver, path):
    """timeInterval: "If there are no matching Entities, no Notification is sent"; the q filter
    and the datasetId selection apply to what is sent."""
    t = new_type()
    mk_entity(api, t, v=1)
    none_path, some_path = path + "/none", path + "/some"
    subs.create(sub_body(receiver.url(none_path), t, timeInterval=1, q="v>5"))
    subs.create(sub_body(receiver.url(some_path), t, timeInterval=1, q="v<5"))
    recs = receiver.wait_for(some_path, 2, timeout=8)  # two runs happened meanwhile
    assert all(d["v"]["value"] == 1 for d in datas(recs))
    assert receiver.received(none_path) == []


@pytest.mark.parametrize("accept", ["application/json", "application/ld+json"])
def test_5_8_6_notification_compacted_with_the_core_context_names_only_the_core_context(
        api, subs, receiver, path, ctx_server, accept):
    """When the subscription's context cannot be retrieved at notification time (dropped from
    the cache and gone from its server), the body is compacted with the core context, and the
    Link (JSON) or the "@context" member (JSON-LD) names the core context, not the other one."""
    cp = "/c95gone-" + uid() + ".jsonld"
    iri = "https://example.org/c95/gone/temperature"
    ctx_server.docs[cp] = {"@context": {"temp": iri}}
    url = ctx_server.url(cp)
    t = new_type()
    subs.create(sub_body(receiver.url(path), t, notification={"endpoint": {"accept": accept}}),
                headers={"Link": link(url)})
    del ctx_server.docs[cp]
    r = requests.delete(api + "/jsonldContexts/" + requests.utils.quote(url, safe=""))
    assert r.status_code == 204, r.text
    requests.post(api + "/entities", json={"id": eid(t), "type": t, iri: prop(20)}
                  ).raise_for_status()
    rec = receiver.wait_for(path, 1)[0]
    assert iri in rec["body"]["data"][0], rec["body"]   # compacted with the core context only
    if accept == "application/json":
        assert rec["headers"]["link"].startswith("<" + CORE + ">"), rec["headers"]["link"]
    else:
        ctx = rec["body"]["@context"]
        assert (ctx if isinstance(ctx, list) else [ctx]) == [CORE], ctx
