# SPDX-License-Identifier: Apache-2.0
"""Issue 12, tenants part: tenant names, tenant creation, the admin API of tenants, secrets in
subscriptions (owner, redaction, logs and /metrics, re-pointing), notifications limited to what
their owner may read, and the audit log (docs/security.md "Tenants and secrets", "Audit log")."""
import json
import time
import uuid

import pytest
import requests

from conftest import Polis, assert_problem, run_principal, wait_until

JSON = {"Content-Type": "application/json"}
ADMIN = "/polis/v1"


def uid(kind="T"):
    return f"urn:ngsi-ld:{kind}:{uuid.uuid4().hex[:12]}"


def tenant_name():
    return "t" + uuid.uuid4().hex[:10]


def create_entity(p, tenant, etype="Thing", eid=None, headers=None, **attrs):
    eid = eid or uid(etype)
    body = {"id": eid, "type": etype}
    for k, v in (attrs or {"temperature": 20}).items():
        body[k] = {"type": "Property", "value": v}
    h = dict(JSON, **(headers or {}))
    if tenant is not None:
        h["NGSILD-Tenant"] = tenant
    r = requests.post(p.api + "/entities", json=body, headers=h)
    return eid, r


def tenants_of(p, headers=None):
    r = requests.get(p.url + ADMIN + "/tenants", headers=headers or {})
    assert r.status_code == 200, r.text
    return {t["name"]: t for t in r.json()}


def audit(p, headers=None, **params):
    r = requests.get(p.url + ADMIN + "/audit", params=params, headers=headers or {})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def server(tmp_path):
    p = Polis(tmp_path).start()
    yield p
    p.check_exit()


# ------------------------------------------------------------------------------------------------
# Tenant names and creation
# ------------------------------------------------------------------------------------------------
BAD_TENANTS = ["../etc", "a/b", "a.b", "a%2Fb", "a b", "x" * 65, "a;DROP", "a'b", "..", "a\\b"]


@pytest.mark.parametrize("bad", BAD_TENANTS)
def test_tenant_name_with_path_characters_is_400(polis, bad):
    """Every entry that takes NGSILD-Tenant refuses a name outside [A-Za-z0-9_-]{1,64} with 400
    BadRequestData before anything is stored."""
    h = {"NGSILD-Tenant": bad}
    calls = [
        ("GET", "/entities?type=Thing", None),
        ("POST", "/entities", {"id": uid(), "type": "Thing"}),
        ("POST", "/entityOperations/upsert", [{"id": uid(), "type": "Thing"}]),
        ("POST", "/subscriptions", {"type": "Subscription", "entities": [{"type": "Thing"}],
                                    "notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}}}),
        ("GET", "/subscriptions", None),
        ("GET", "/types", None),
        ("POST", "/temporal/entities", {"id": uid(), "type": "Thing",
                                        "t": [{"type": "Property", "value": 1,
                                               "observedAt": "2026-01-01T00:00:00Z"}]}),
        ("GET", "/temporal/entities?type=Thing", None),
    ]
    for method, path, body in calls:
        r = requests.request(method, polis.api + path, json=body,
                             headers=dict(h, **(JSON if body is not None else {})))
        assert_problem(r, 400, "BadRequestData")
    r = requests.delete(polis.url + ADMIN + "/tenants/" + requests.utils.quote(bad, safe=""))
    assert r.status_code in (400, 404), r.text  # a '/' inside splits the path: no such route
    assert bad not in tenants_of(polis)


def test_tenant_is_created_by_its_first_write(polis):
    t = tenant_name()
    h = {"NGSILD-Tenant": t}
    assert_problem(requests.get(polis.api + "/entities?type=Thing", headers=h), 404,
                   "NonexistentTenant")
    assert t not in tenants_of(polis)  # the read created nothing
    eid, r = create_entity(polis, t)
    assert r.status_code == 201, r.text
    assert tenants_of(polis)[t]["entities"] == 1
    r = requests.get(polis.api + "/entities?type=Thing", headers=h)
    assert r.status_code == 200 and [e["id"] for e in r.json()] == [eid]


def test_admin_lists_and_deletes_tenants(server, receiver):
    """GET lists every tenant with its entity and subscription counts; DELETE removes its
    entities, subscriptions and history (through the store writer), and the tenant then does
    not exist; other tenants are untouched."""
    t, keep = tenant_name(), tenant_name()
    ids = [create_entity(server, t)[0] for _ in range(3)]
    kept, _ = create_entity(server, keep)
    r = requests.post(server.api + "/subscriptions", headers=dict(JSON, **{"NGSILD-Tenant": t}),
                      json={"type": "Subscription", "entities": [{"type": "Thing"}],
                            "notification": {"endpoint": {"uri": receiver.url("/deleted-t")}}})
    assert r.status_code == 201, r.text
    listed = tenants_of(server)
    assert listed[t] == {"name": t, "entities": 3, "subscriptions": 1}
    assert listed[keep]["entities"] == 1
    assert "" in listed  # the default tenant always exists
    r = requests.delete(server.url + ADMIN + "/tenants/" + t)
    assert r.status_code == 204, r.text
    listed = tenants_of(server)
    assert t not in listed and listed[keep]["entities"] == 1
    h = {"NGSILD-Tenant": t}
    assert_problem(requests.get(server.api + "/entities/" + ids[0], headers=h), 404,
                   "NonexistentTenant")
    assert_problem(requests.get(server.api + "/subscriptions", headers=h), 404, "NonexistentTenant")
    assert_problem(requests.get(server.api + "/temporal/entities/" + ids[0], headers=h), 404,
                   "NonexistentTenant")
    assert requests.get(server.api + "/entities/" + kept,
                        headers={"NGSILD-Tenant": keep}).status_code == 200
    # deleting it again: it does not exist
    assert_problem(requests.delete(server.url + ADMIN + "/tenants/" + t), 404, "ResourceNotFound")
    # the deleted subscription notifies nothing when the tenant is written again
    eid, r = create_entity(server, t)
    assert r.status_code == 201
    receiver.quiet("/deleted-t", 1.0)
    assert receiver.received("/deleted-t") == []
    # and a fresh tenant has no history of the old entities
    assert_problem(requests.get(server.api + "/temporal/entities/" + ids[0], headers=h), 404,
                   "ResourceNotFound")
    # restart: the deletion is durable
    server.stop()
    server.start()
    listed = tenants_of(server)
    assert listed[t]["entities"] == 1 and listed[t]["subscriptions"] == 0


# ------------------------------------------------------------------------------------------------
# Audit log
# ------------------------------------------------------------------------------------------------
def test_audit_records_every_write_with_its_ids_and_result(server):
    t = tenant_name()
    h = dict(JSON, **{"NGSILD-Tenant": t})
    eid, r = create_entity(server, t)
    assert r.status_code == 201
    r = requests.patch(server.api + f"/entities/{eid}/attrs", headers=h,
                       json={"temperature": {"type": "Property", "value": 21}})
    assert r.status_code == 204
    a, b = uid(), uid()
    r = requests.post(server.api + "/entityOperations/create", headers=h,
                      json=[{"id": a, "type": "Thing"}, {"id": b, "type": "Thing"}])
    assert r.status_code == 201, r.text
    r = requests.delete(server.api + "/entities/" + uid(), headers=h)  # a failing write
    assert r.status_code == 404
    # reads are not recorded, not even the query POST
    requests.get(server.api + "/entities/" + eid, headers=h)
    requests.post(server.api + "/entityOperations/query", headers=h,
                  json={"type": "Query", "entities": [{"type": "Thing"}]})
    rows = [x for x in audit(server) if x["tenant"] == t]
    got = [(x["method"], x["path"].split("/ngsi-ld/v1")[1], x["entityIds"], x["status"])
           for x in rows]
    assert got[0][0] == "DELETE" and got[0][3] == 404
    assert got[1:] == [
        ("POST", "/entityOperations/create", [a, b], 201),
        ("PATCH", f"/entities/{eid}/attrs", [eid], 204),
        ("POST", "/entities", [eid], 201),
    ]
    for x in rows:
        assert (x["principal"], x["role"]) == run_principal(server)  # ("", "") with auth off
        assert x["client"] == "127.0.0.1"
        assert x["time"].endswith("Z")
    seqs = [x["seq"] for x in rows]
    assert seqs == sorted(seqs, reverse=True)  # newest first
    assert server.proc.poll() is None
    m = requests.get(server.url + "/metrics").json()["audit"]
    assert m["recorded"] >= 4 and m["dropped"] == 0


def test_audit_api_pages_with_before_and_limit(server):
    t = tenant_name()
    for _ in range(5):
        assert create_entity(server, t)[1].status_code == 201
    r = requests.get(server.url + ADMIN + "/audit", params={"limit": 2})
    assert r.status_code == 200
    first = r.json()
    assert len(first) == 2
    nxt = r.headers["Link"]
    assert 'rel="next"' in nxt and f"before={first[-1]['seq']}" in nxt
    url = nxt.split(">")[0].lstrip("<")
    second = requests.get(server.url + url).json()
    assert len(second) == 2 and second[0]["seq"] < first[-1]["seq"]
    for bad in ({"limit": 0}, {"limit": 1001}, {"from": "yesterday"}, {"before": "x"}):
        assert_problem(requests.get(server.url + ADMIN + "/audit", params=bad), 400,
                       "BadRequestData")


def test_audit_time_window_filters_rows(server):
    t = tenant_name()
    create_entity(server, t)
    rows = audit(server)
    at = rows[0]["time"]
    assert [x["seq"] for x in audit(server, **{"from": at, "to": at})] == [rows[0]["seq"]]
    assert audit(server, to="2000-01-01T00:00:00Z") == []
    assert audit(server, **{"from": "2999-01-01T00:00:00Z"}) == []


def test_audit_retention_removes_old_rows(tmp_path):
    p = Polis(tmp_path).start()
    try:
        eid, r = create_entity(p, tenant_name())
        assert r.status_code == 201
        assert any(x["entityIds"] == [eid] for x in audit(p))
        p.stop()
        time.sleep(1.2)  # the row is now older than the retention below
        p.extra_args = ["--audit-retention", "PT1S"]
        p.start()
        wait_until(lambda: not any(x["entityIds"] == [eid] for x in audit(p)), timeout=20,
                   msg="the old audit row trimmed")
        assert requests.get(p.url + "/metrics").json()["audit"]["trimmed"] >= 1
    finally:
        p.check_exit()


def test_audit_retention_option_is_checked(tmp_path):
    p = Polis(tmp_path, extra_args=["--audit-retention", "ninety days"])
    with pytest.raises(RuntimeError):
        p.start()


# ------------------------------------------------------------------------------------------------
# With authentication on: owners, secrets, tenant isolation, audit principals
# ------------------------------------------------------------------------------------------------
from conftest import bearer, key_id, make_key, revoke_key  # noqa: E402  (issue 12 helpers)

SECRET = "s3cret-pw-7f3a"
TOKEN = "Bearer tok-9b1c-secret"
NOTIFIER_SECRET = "zz-notifier-secret"


@pytest.fixture(scope="module")
def auth(tmp_path_factory):
    p = Polis(tmp_path_factory.mktemp("tenants_auth"),
              extra_args=["--auth", "on", "--log-level", "debug"]).start()
    p.admin = bearer(make_key(p, "admin", tenant="*"))
    yield p
    p.check_exit()


def h(key, tenant, body=True):
    out = dict(bearer(key) if isinstance(key, str) else key)
    if tenant:
        out["NGSILD-Tenant"] = tenant
    if body:
        out.update(JSON)
    return out


def sub_body(uri, etype="Thing", **endpoint):
    ep = dict({"uri": uri}, **endpoint)
    return {"type": "Subscription", "entities": [{"type": etype}],
            "notification": {"endpoint": ep}}


def create_sub(p, key, tenant, body):
    r = requests.post(p.api + "/subscriptions", json=body, headers=h(key, tenant))
    assert r.status_code == 201, r.text
    return r.headers["Location"].rsplit("/", 1)[1]


def get_sub(p, key, tenant, sid):
    r = requests.get(p.api + "/subscriptions/" + sid, headers=h(key, tenant, body=False))
    assert r.status_code == 200, r.text
    return r


def test_mqtt_password_is_redacted_for_non_owner(auth):
    t = tenant_name()
    owner, other = make_key(auth, "enterprise", t), make_key(auth, "enterprise", t)
    op = make_key(auth, "operator", t)
    uri = f"mqtt://bob:{SECRET}@127.0.0.1:1/city/t"
    sid = create_sub(auth, owner, t, sub_body(uri))
    assert get_sub(auth, owner, t, sid).json()["notification"]["endpoint"]["uri"] == uri
    assert get_sub(auth, auth.admin, t, sid).json()["notification"]["endpoint"]["uri"] == uri
    for k in (other, op):
        r = get_sub(auth, k, t, sid)
        assert SECRET not in r.text
        assert r.json()["notification"]["endpoint"]["uri"] == "mqtt://bob:***@127.0.0.1:1/city/t"
        listed = requests.get(auth.api + "/subscriptions", headers=h(k, t, body=False))
        assert listed.status_code == 200 and SECRET not in listed.text
        assert sid in listed.text
    # the owner sees it in the list too
    listed = requests.get(auth.api + "/subscriptions", headers=h(owner, t, body=False))
    assert SECRET in listed.text


def test_receiverinfo_authorization_is_redacted_for_non_owner(auth, receiver):
    t = tenant_name()
    owner, op = make_key(auth, "operator", t), make_key(auth, "operator", t)
    body = sub_body(receiver.url("/ri-" + t),
                    receiverInfo=[{"key": "Authorization", "value": TOKEN}],
                    notifierInfo=[{"key": "MQTT-QoS", "value": "1"},
                                  {"key": "X-Notifier", "value": NOTIFIER_SECRET}])
    sid = create_sub(auth, owner, t, body)
    ep = get_sub(auth, owner, t, sid).json()["notification"]["endpoint"]
    assert ep["receiverInfo"] == [{"key": "Authorization", "value": TOKEN}]
    r = get_sub(auth, op, t, sid)
    assert TOKEN not in r.text and NOTIFIER_SECRET not in r.text
    ep = r.json()["notification"]["endpoint"]
    assert ep["receiverInfo"] == [{"key": "Authorization", "value": "***"}]
    assert {"key": "MQTT-QoS", "value": "1"} in ep["notifierInfo"]  # not a secret
    assert {"key": "X-Notifier", "value": "***"} in ep["notifierInfo"]
    # the owner's receiver still gets the real header
    create_entity(auth, t, headers=bearer(owner))
    recs = receiver.wait_for("/ri-" + t, 1)
    assert recs[0]["headers"]["authorization"] == TOKEN


def test_secrets_never_appear_in_log_or_metrics(auth):
    t = tenant_name()
    owner = make_key(auth, "operator", t)
    # endpoints that fail (nothing listens on port 1): their delivery errors are logged
    sid1 = create_sub(auth, owner, t, sub_body(f"mqtt://bob:{SECRET}@127.0.0.1:1/t"))
    sid2 = create_sub(auth, owner, t, sub_body(f"http://user:{SECRET}@127.0.0.1:1/n",
                                               receiverInfo=[{"key": "Authorization",
                                                              "value": TOKEN}]))
    create_entity(auth, t, headers=bearer(owner))
    for sid in (sid1, sid2):
        wait_until(lambda: get_sub(auth, owner, t, sid).json()["notification"].get("timesFailed"),
                   timeout=30, msg="a failed delivery")
    m = requests.get(auth.url + "/metrics", headers=auth.admin)
    assert m.status_code == 200 and sid1 in m.text
    log = open(auth.log_path, encoding="utf-8", errors="replace").read()
    assert "delivery to" in log  # the failures were logged...
    for s in (SECRET, TOKEN):
        assert s not in log      # ...without the credentials
        assert s not in m.text
    assert "bob:***@127.0.0.1" in log or "user:***@127.0.0.1" in log


def test_non_owner_cannot_repoint_subscription(auth, receiver):
    t = tenant_name()
    owner, other = make_key(auth, "enterprise", t), make_key(auth, "enterprise", t)
    op = make_key(auth, "operator", t)
    uri = receiver.url("/own-" + t)
    sid = create_sub(auth, owner, t, sub_body(uri, receiverInfo=[{"key": "Authorization",
                                                                  "value": TOKEN}]))
    url = auth.api + "/subscriptions/" + sid
    evil = {"notification": {"endpoint": {"uri": receiver.url("/evil-" + t)}}}
    # another enterprise may neither change nor delete it
    assert requests.patch(url, json={"description": "x"}, headers=h(other, t)).status_code == 403
    assert requests.patch(url, json=evil, headers=h(other, t)).status_code == 403
    assert requests.delete(url, headers=h(other, t, body=False)).status_code == 403
    # an operator of the tenant may change it, but not where it sends
    r = requests.patch(url, json=evil, headers=h(op, t))
    assert r.status_code == 403, r.text
    shown = get_sub(auth, op, t, sid).json()["notification"]
    r = requests.patch(url, json={"notification": shown}, headers=h(op, t))  # the redacted form
    assert r.status_code == 403, r.text
    r = requests.patch(url, json={"description": "paused by ops", "isActive": True},
                       headers=h(op, t))
    assert r.status_code == 204, r.text
    ep = get_sub(auth, owner, t, sid).json()["notification"]["endpoint"]
    assert ep["uri"] == uri and ep["receiverInfo"][0]["value"] == TOKEN
    create_entity(auth, t, headers=bearer(owner))
    receiver.wait_for("/own-" + t, 1)
    assert receiver.received("/evil-" + t) == []
    # the owner (and an admin) may re-point it
    r = requests.patch(url, json={"notification": {"endpoint": {"uri": uri + "2"}}},
                       headers=h(owner, t))
    assert r.status_code == 204, r.text
    r = requests.patch(url, json={"notification": {"endpoint": {"uri": uri + "3"}}},
                       headers=h(auth.admin, t))
    assert r.status_code == 204, r.text
    # and the operator may delete it
    assert requests.delete(url, headers=h(op, t, body=False)).status_code == 204


def test_subscription_does_not_notify_types_its_owner_cannot_read(auth, receiver):
    """An enterprise reads only its own entities (and the tenant's open data): its subscription
    is never notified of another's entity, not even that it changed; an operator's subscription
    with the same selection is notified of both."""
    t = tenant_name()
    ent = make_key(auth, "enterprise", t)
    writer = make_key(auth, "operator", t)
    p_ent, p_op = "/scope-ent-" + t, "/scope-op-" + t
    for key, path in ((ent, p_ent), (writer, p_op)):
        create_sub(auth, key, t, {"type": "Subscription", "watchedAttributes": ["temperature"],
                                  "notification": {"endpoint": {"uri": receiver.url(path)}}})
    hidden, r = create_entity(auth, t, etype="Hidden", headers=bearer(writer))
    assert r.status_code == 201, r.text
    own, r = create_entity(auth, t, etype="Thing", headers=bearer(ent))
    assert r.status_code == 201, r.text
    for eid in (hidden, own):
        r = requests.patch(auth.api + f"/entities/{eid}/attrs", headers=h(writer, t),
                           json={"temperature": {"type": "Property", "value": 30}})
        assert r.status_code == 204, r.text
    receiver.wait_for(p_op, 4)  # both creations and both updates
    receiver.wait_for(p_ent, 2)  # its own entity's creation and update
    receiver.quiet(p_ent, 1.0)
    seen = [d["id"] for r in receiver.received(p_ent) for d in r["body"]["data"]]
    assert seen == [own, own], seen
    assert not any(hidden.encode() in r["raw"] for r in receiver.received(p_ent))
    assert {d["id"] for r in receiver.received(p_op) for d in r["body"]["data"]} == {hidden, own}


def test_revoked_owner_key_stops_notifications(auth, receiver):
    t = tenant_name()
    owner = make_key(auth, "operator", t)
    path = "/revoked-" + t
    create_sub(auth, owner, t, sub_body(receiver.url(path)))
    writer = make_key(auth, "operator", t)
    create_entity(auth, t, headers=bearer(writer))
    receiver.wait_for(path, 1)
    revoke_key(auth, owner)
    # the owner's principal is checked again at most every few seconds (the credential cache)
    before = len(receiver.received(path))

    def later_write_not_notified():
        n = len(receiver.received(path))
        create_entity(auth, t, headers=bearer(writer))
        time.sleep(0.5)
        return len(receiver.received(path)) == n

    wait_until(later_write_not_notified, timeout=30, interval=0.5,
               msg="no notification after the owner's key was revoked")
    assert len(receiver.received(path)) >= before


ENDPOINTS = [
    ("GET", "/entities?type=Thing", None),
    ("GET", "/entities/{eid}", None),
    ("POST", "/entities", "entity"),
    ("PUT", "/entities/{eid}", "replace"),
    ("PATCH", "/entities/{eid}", "frag"),
    ("DELETE", "/entities/{eid}", None),
    ("POST", "/entities/{eid}/attrs", "frag"),
    ("PATCH", "/entities/{eid}/attrs", "frag"),
    ("PATCH", "/entities/{eid}/attrs/temperature", "attr"),
    ("PUT", "/entities/{eid}/attrs/temperature", "attr"),
    ("DELETE", "/entities/{eid}/attrs/temperature", None),
    ("DELETE", "/entities?type=Thing", None),
    ("POST", "/entityOperations/create", "batch"),
    ("POST", "/entityOperations/upsert", "batch"),
    ("POST", "/entityOperations/update", "batch_existing"),
    ("POST", "/entityOperations/merge", "batch_existing"),
    ("POST", "/entityOperations/delete", "batch_ids"),
    ("POST", "/entityOperations/query", "query"),
    ("GET", "/types", None),
    ("GET", "/types/Thing", None),
    ("GET", "/attributes", None),
    ("GET", "/attributes/temperature", None),
    ("POST", "/subscriptions", "sub"),
    ("GET", "/subscriptions", None),
    ("GET", "/subscriptions/{sid}", None),
    ("PATCH", "/subscriptions/{sid}", "sub_patch"),
    ("DELETE", "/subscriptions/{sid}", None),
    ("POST", "/temporal/entities", "temporal"),
    ("GET", "/temporal/entities?type=Thing", None),
    ("GET", "/temporal/entities/{eid}", None),
    ("POST", "/temporal/entityOperations/query", "query"),
    ("POST", "/temporal/entities/{eid}/attrs", "temporal_attrs"),
    ("DELETE", "/temporal/entities/{eid}/attrs/temperature", None),
    ("DELETE", "/temporal/entities/{eid}", None),
]


def payload(kind, eid):
    new = uid()
    return {
        None: None,
        "entity": {"id": new, "type": "Thing", "temperature": {"type": "Property", "value": 1}},
        "replace": {"type": "Thing", "temperature": {"type": "Property", "value": 99}},
        "frag": {"temperature": {"type": "Property", "value": 99}},
        "attr": {"type": "Property", "value": 99},
        "batch": [{"id": new, "type": "Thing"}],
        "batch_existing": [{"id": eid, "type": "Thing",
                            "temperature": {"type": "Property", "value": 99}}],
        "batch_ids": [eid],
        "query": {"type": "Query", "entities": [{"type": "Thing"}]},
        "sub": sub_body("http://127.0.0.1:1/x"),
        "sub_patch": {"notification": {"endpoint": {"uri": "http://127.0.0.1:1/evil"}}},
        "temporal": {"id": new, "type": "Thing", "temperature": [
            {"type": "Property", "value": 5, "observedAt": "2026-01-01T00:00:00Z"}]},
        "temporal_attrs": {"temperature": [
            {"type": "Property", "value": 6, "observedAt": "2026-01-02T00:00:00Z"}]},
    }[kind]


def snapshot(p, tenant):
    """Everything an admin sees of a tenant: entities, subscriptions (with secrets), history."""
    hh = h(p.admin, tenant, body=False)
    ents = requests.get(p.api + "/entities?type=Thing", headers=hh).json()
    subs = requests.get(p.api + "/subscriptions", headers=hh).json()
    hist = requests.get(p.api + "/temporal/entities?type=Thing", headers=hh).json()
    return json.dumps([ents, subs, hist], sort_keys=True)


def test_operator_of_tenant_a_cannot_touch_tenant_b_on_any_endpoint(auth, receiver):
    """An operator of tenant A, asking for tenant B (or for the default tenant), is refused on
    every endpoint with 403, and nothing of B is written, revealed or counted; A's own
    subscriptions never match B's entities."""
    a, b = tenant_name(), tenant_name()
    op_a = make_key(auth, "operator", a)
    op_b = make_key(auth, "operator", b)
    eid_b, r = create_entity(auth, b, headers=bearer(op_b))
    assert r.status_code == 201, r.text
    sid_b = create_sub(auth, op_b, b, sub_body(f"mqtt://u:{SECRET}@127.0.0.1:1/b"))
    path_a = "/iso-" + a
    create_sub(auth, op_a, a, sub_body(receiver.url(path_a)))
    before = snapshot(auth, b)
    for target in (b, None):  # another named tenant, and the default one
        for method, path, kind in ENDPOINTS:
            url = auth.api + path.format(eid=eid_b, sid=sid_b)
            body = payload(kind, eid_b)
            r = requests.request(method, url, json=body, headers=h(op_a, target, body=body is not None))
            assert r.status_code == 403, (method, path, target, r.status_code, r.text)
            assert eid_b not in r.text and SECRET not in r.text and (target is None or b not in r.text)
    for method, path in (("GET", "/tenants"), ("DELETE", "/tenants/" + b), ("GET", "/audit")):
        r = requests.request(method, auth.url + ADMIN + path, headers=bearer(op_a))
        assert r.status_code == 403, (method, path, r.text)
    assert snapshot(auth, b) == before
    # B's writes never reach A's subscription (same type, other tenant)
    create_entity(auth, b, headers=bearer(op_b))
    mine, _ = create_entity(auth, a, headers=bearer(op_a))
    recs = receiver.wait_for(path_a, 1)
    receiver.quiet(path_a, 0.5)
    assert {d["id"] for r in receiver.received(path_a) for d in r["body"]["data"]} == {mine}
    assert recs


def test_admin_api_is_for_admins_only(auth):
    t = tenant_name()
    for role in ("operator", "agency", "enterprise", "device"):
        k = bearer(make_key(auth, role, t))
        for method, path in (("GET", "/tenants"), ("DELETE", "/tenants/" + t), ("GET", "/audit")):
            r = requests.request(method, auth.url + ADMIN + path, headers=k)
            assert r.status_code == 403, (role, method, path, r.text)
    for method, path in (("GET", "/tenants"), ("GET", "/audit")):
        assert requests.request(method, auth.url + ADMIN + path).status_code == 401
    assert tenants_of(auth, auth.admin) is not None


def test_audit_records_writes_and_auth_failures(auth):
    t = tenant_name()
    key = make_key(auth, "operator", t)
    name = "key:" + key_id(key)
    eid, r = create_entity(auth, t, headers=bearer(key))
    assert r.status_code == 201
    # an auth failure: a refused token (401), and a forbidden write (403)
    r = requests.delete(auth.api + "/entities/" + eid,
                        headers={"Authorization": "Bearer plk_000000000000_nope",
                                 "NGSILD-Tenant": t})
    assert r.status_code == 401
    dev = make_key(auth, "device", t)
    r = requests.delete(auth.api + "/entities/" + eid, headers=h(dev, t, body=False))
    assert r.status_code == 403
    # a read refused (403) is recorded too, a read allowed is not
    other = make_key(auth, "operator", tenant_name())
    assert requests.get(auth.api + "/entities/" + eid,
                        headers=h(other, t, body=False)).status_code == 403
    assert requests.get(auth.api + "/entities/" + eid,
                        headers=h(key, t, body=False)).status_code == 200
    rows = [x for x in audit(auth, auth.admin, limit=1000) if x["tenant"] == t]
    got = [(x["principal"], x["role"], x["method"], x["status"], x["entityIds"]) for x in rows]
    assert got == [
        ("key:" + key_id(other), "operator", "GET", 403, [eid]),
        ("key:" + key_id(dev), "device", "DELETE", 403, [eid]),
        ("", "", "DELETE", 401, [eid]),
        (name, "operator", "POST", 201, [eid]),
    ], got
    # the audit log holds no credential
    assert "plk_" not in json.dumps(rows)


def test_audit_api_filters_by_time_and_principal(auth):
    t = tenant_name()
    k1, k2 = make_key(auth, "operator", t), make_key(auth, "operator", t)
    n1, n2 = "key:" + key_id(k1), "key:" + key_id(k2)
    e1, _ = create_entity(auth, t, headers=bearer(k1))
    e2, _ = create_entity(auth, t, headers=bearer(k2))
    e3, _ = create_entity(auth, t, headers=bearer(k1))
    mine = audit(auth, auth.admin, principal=n1)
    assert [x["entityIds"] for x in mine[:2]] == [[e3], [e1]]
    assert {x["principal"] for x in mine} == {n1}
    assert [x["entityIds"] for x in audit(auth, auth.admin, principal=n2)] == [[e2]]
    assert audit(auth, auth.admin, principal="key:nobody") == []
    # the time window: from the second row's time on, only the rows since
    t2 = audit(auth, auth.admin, principal=n2)[0]["time"]
    window = [x["entityIds"] for x in audit(auth, auth.admin, **{"from": t2})
              if x["tenant"] == t]
    assert [e2] in window and [e1] not in window
    before = [x["entityIds"] for x in audit(auth, auth.admin, to=t2) if x["tenant"] == t]
    assert [e1] in before and [e3] not in before


def test_subscription_omits_private_attributes_and_their_changes(auth, receiver):
    """With the tenant's read policy (an open type with a private attribute), an enterprise's
    subscription gets the open entities without the private attribute, and a change of that
    attribute alone notifies nothing; an operator's subscription sees it."""
    t = tenant_name()
    r = requests.put(auth.url + ADMIN + f"/tenants/{t}/policy", headers=h(auth.admin, None),
                     json={"openTypes": ["Report"], "privateAttributes": ["email"]})
    assert r.status_code in (200, 201, 204), r.text
    ent = make_key(auth, "enterprise", t)
    op = make_key(auth, "operator", t)
    p_ent, p_op = "/priv-ent-" + t, "/priv-op-" + t
    for key, path in ((ent, p_ent), (op, p_op)):
        create_sub(auth, key, t, {"type": "Subscription", "entities": [{"type": "Report"}],
                                  "notificationTrigger": ["entityCreated", "attributeUpdated"],
                                  "notification": {"endpoint": {"uri": receiver.url(path)}}})
    eid, r = create_entity(auth, t, etype="Report", headers=bearer(op),
                           status="open", email="jane@example.org")
    assert r.status_code == 201, r.text
    receiver.wait_for(p_ent, 1)
    receiver.wait_for(p_op, 1)
    # a change of the private attribute alone
    r = requests.patch(auth.api + f"/entities/{eid}/attrs", headers=h(op, t),
                       json={"email": {"type": "Property", "value": "john@example.org"}})
    assert r.status_code == 204, r.text
    receiver.wait_for(p_op, 2)
    # then of a public one
    r = requests.patch(auth.api + f"/entities/{eid}/attrs", headers=h(op, t),
                       json={"status": {"type": "Property", "value": "closed"}})
    assert r.status_code == 204, r.text
    receiver.wait_for(p_ent, 2)
    receiver.wait_for(p_op, 3)
    receiver.quiet(p_ent, 1.0)
    ent_recs = receiver.received(p_ent)
    datas = [d for r in ent_recs for d in r["body"]["data"]]
    assert len(datas) == 2, datas  # the creation and the status change, not the e-mail change
    assert all("email" not in d for d in datas)
    assert not any(b"example.org" in r["raw"] for r in ent_recs)
    assert [d["status"]["value"] for d in datas] == ["open", "closed"]
    op_datas = [d for r in receiver.received(p_op) for d in r["body"]["data"]]
    assert any(d.get("email", {}).get("value") == "john@example.org" for d in op_datas)


def test_cli_refuses_a_key_or_user_of_a_bad_tenant_name(auth):
    """The credentials' tenants follow the same rule as NGSILD-Tenant (auth/tenant.h)."""
    import subprocess
    from conftest import BIN
    for bad in ("../etc", "a/b", "x" * 65):
        r = subprocess.run([BIN, "key", "add", "--role", "operator", "--tenant", bad, "--data",
                            auth.data_dir], capture_output=True, text=True, timeout=60)
        assert r.returncode != 0 and "plk_" not in r.stdout, (bad, r.stdout, r.stderr)
        r = subprocess.run([BIN, "user", "add", "u" + uuid.uuid4().hex[:6], "--role", "operator",
                            "--tenant", bad, "--data", auth.data_dir], input="pw-long-enough-1\n",
                           capture_output=True, text=True, timeout=60)
        assert r.returncode != 0, (bad, r.stdout, r.stderr)
