# SPDX-License-Identifier: Apache-2.0
"""Notifications over MQTT (NGSI-LD V1.9.1 7.2 MQTT binding, 5.2.15 Endpoint notifierInfo /
receiverInfo): a real Mosquitto broker (scripts/mosquitto.sh) and a minimal MQTT 3.1.1
subscriber (conftest MqttSubscriber). The MQTT message is {"metadata": {...}, "body":
Notification}; metadata carries Content-Type, Link (application/json), NGSILD-Tenant and the
receiverInfo pairs."""
import json
import re
import uuid

import pytest
import requests

from conftest import CORE, MqttSubscriber

NOTE_ID = re.compile(r"urn:ngsi-ld:Notification:[-0-9a-f]{36}")


def uid():
    return uuid.uuid4().hex[:12]


def prop(v):
    return {"type": "Property", "value": v}


@pytest.fixture
def made(api):
    ids = []
    yield ids
    for sid, h in ids:
        requests.delete(api + "/subscriptions/" + sid, headers=h)


def subscribe(api, made, uri, t, notifier_info=None, headers=None, **endpoint):
    ep = dict(endpoint, uri=uri)
    if notifier_info is not None:
        ep["notifierInfo"] = [{"key": k, "value": v} for k, v in notifier_info.items()]
    body = {"type": "Subscription", "entities": [{"type": t}],
            "notification": {"endpoint": ep}}
    r = requests.post(api + "/subscriptions", json=body, headers=headers or {})
    assert r.status_code == 201, r.text
    sid = r.headers["Location"].rsplit("/", 1)[1]
    made.append((sid, headers or {}))
    return sid


def entity(api, t, n, headers=None, **attrs):
    e = {"id": f"urn:ngsi-ld:{t}:{n}", "type": t}
    e.update({k: prop(v) for k, v in attrs.items()})
    r = requests.post(api + "/entities", json=e, headers=headers or {})
    assert r.status_code == 201, r.text
    return e["id"]


def patch(api, eid, headers=None, **attrs):
    r = requests.patch(api + "/entities/" + eid + "/attrs",
                       json={k: prop(v) for k, v in attrs.items()}, headers=headers or {})
    assert r.status_code == 204, r.text


@pytest.mark.parametrize("qos", ["0", "1", "2"])
@pytest.mark.parametrize("version", ["mqtt3.1.1", "mqtt5.0"])
def test_mqtt_notification_payload_7_2(api, made, mosquitto, qos, version):
    t = "M" + uid()
    topic = f"polis/{uid()}/notify"
    sub = MqttSubscriber(mosquitto, topic)
    try:
        e = entity(api, t, 1, temperature=20)
        sid = subscribe(api, made, f"mqtt://127.0.0.1:{mosquitto}/{topic}", t,
                        {"MQTT-QoS": qos, "MQTT-Version": version},
                        receiverInfo=[{"key": "X-Auth", "value": "tok"}])
        s = requests.get(api + "/subscriptions/" + sid).json()
        assert {"key": "MQTT-QoS", "value": qos} in s["notification"]["endpoint"]["notifierInfo"]
        patch(api, e, temperature=21)
        topic_got, payload, qos_got = sub.wait_for(1)[0]
        assert topic_got == topic
        assert qos_got == int(qos)   # the broker delivers with min(publish QoS, granted QoS 2)
        msg = json.loads(payload)
        assert set(msg) == {"metadata", "body"}
        meta, body = msg["metadata"], msg["body"]
        assert meta["Content-Type"] == "application/json"
        assert CORE in meta["Link"] and 'rel="http://www.w3.org/ns/json-ld#context"' in meta["Link"]
        assert meta["X-Auth"] == "tok"
        assert "NGSILD-Tenant" not in meta
        assert NOTE_ID.fullmatch(body["id"])
        assert body["type"] == "Notification"
        assert body["subscriptionId"] == sid
        assert "notifiedAt" in body
        assert body["data"] == [{"id": e, "type": t, "temperature": prop(21)}]
        assert "@context" not in body
    finally:
        sub.close()


def test_mqtt_ld_json_metadata_and_tenant_7_2(api, made, mosquitto):
    t = "M" + uid()
    topic = f"polis/{uid()}/ld"
    tenant = "mq" + uid()
    H = {"NGSILD-Tenant": tenant}
    sub = MqttSubscriber(mosquitto, topic)
    try:
        e = entity(api, t, 1, headers=H, v=0)
        subscribe(api, made, f"mqtt://127.0.0.1:{mosquitto}/{topic}", t,
                  {"MQTT-QoS": "1"}, headers=H, accept="application/ld+json")
        patch(api, e, headers=H, v=1)
        msg = json.loads(sub.wait_for(1)[0][1])
        assert msg["metadata"]["Content-Type"] == "application/ld+json"
        assert "Link" not in msg["metadata"]
        assert msg["metadata"]["NGSILD-Tenant"] == tenant
        assert CORE in json.dumps(msg["body"]["@context"])
        assert msg["body"]["data"][0]["v"]["value"] == 1
    finally:
        sub.close()


def test_mqtt_subtopics_and_default_version(api, made, mosquitto):
    t = "M" + uid()
    base = f"polis/{uid()}"
    sub = MqttSubscriber(mosquitto, base + "/#")
    try:
        e = entity(api, t, 1, v=0)
        sid = subscribe(api, made, f"mqtt://127.0.0.1:{mosquitto}/{base}/a/b/c", t)
        patch(api, e, v=1)
        topic, payload, qos = sub.wait_for(1)[0]
        assert topic == base + "/a/b/c"
        assert qos == 0  # default MQTT-QoS 0 (Table 7.2-1)
        assert json.loads(payload)["body"]["subscriptionId"] == sid
    finally:
        sub.close()


def test_mqtt_200_updates_arrive_in_order_qos1(api, made, mosquitto):
    t = "M" + uid()
    topic = f"polis/{uid()}/burst"
    sub = MqttSubscriber(mosquitto, topic)
    try:
        ids = [entity(api, t, i, v=0) for i in range(4)]
        subscribe(api, made, f"mqtt://127.0.0.1:{mosquitto}/{topic}", t,
                  {"MQTT-QoS": "1", "MQTT-Version": "mqtt3.1.1"})
        for v in range(1, 51):
            for e in ids:
                patch(api, e, v=v)
        msgs = sub.wait_for(200, timeout=30)
        per = {}
        for _, payload, _ in msgs:
            for d in json.loads(payload)["body"]["data"]:
                per.setdefault(d["id"], []).append(d["v"]["value"])
        assert sum(len(v) for v in per.values()) == 200
        for e in ids:
            assert per[e] == list(range(1, 51)), per[e][:60]
    finally:
        sub.close()


def test_mqtt_broker_down_counts_failures_and_http_unaffected(api, made, mosquitto, receiver):
    """A subscription whose broker does not exist fails (timesFailed, status failed)."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    t = "M" + uid()
    e = entity(api, t, 1, v=0)
    sid = subscribe(api, made, f"mqtt://127.0.0.1:{dead}/nobody/home", t, {"MQTT-QoS": "1"})
    path = "/mq-http/" + uid()
    subscribe(api, made, receiver.url(path), t)
    patch(api, e, v=1)
    receiver.wait_for(path, 1)
    from conftest import wait_until
    st = wait_until(lambda: (lambda n: n if n.get("timesFailed", 0) >= 1 else None)(
        requests.get(api + "/subscriptions/" + sid).json()["notification"]),
        timeout=40, msg="timesFailed >= 1")
    assert st["status"] == "failed" and "lastFailure" in st
