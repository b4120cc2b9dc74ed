# SPDX-License-Identifier: Apache-2.0
"""Issue 12, tenants part: tenant names, tenant creation, the admin API of tenants, secrets in
subscriptions (owner, redaction, logs and /metrics, re-pointing), notifications limited to what
their owner may read, and the audit log (docs/security.md "Tenants and secrets", "Audit log")."""
import json
import time
import uuid

import pytest
import requests

from conftest import Polis, assert_problem, wait_until

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
        assert x["principal"] == "" and x["role"] == ""  # --auth off
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
