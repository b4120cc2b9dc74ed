"""Conformance items of issue 11 closed after the first pass (docs/conformance.md)."""
import json
import uuid

import requests

from conftest import assert_problem

E = "/entities"
CT = {"Content-Type": "application/json"}


def _create(api, eid, t="T"):
    return requests.post(api + E, headers=CT,
                         data=json.dumps({"id": eid, "type": t,
                                          "a": {"type": "Property", "value": 1}}))


def test_4_5_1_entity_id_with_malformed_percent_escape_is_not_a_uri(api):
    # RFC 3986 2.1 (the id of 4.5.1 is a URI): '%' must start a pct-encoded octet
    for bad in ("urn:a:%zz", "urn:a:%4", "urn:a:100%"):
        assert_problem(_create(api, bad), 400, "BadRequestData")
        assert requests.get(api + E + "/" + bad.replace("%", "%25")).status_code == 400
    r = _create(api, "urn:a:%41ok")
    assert r.status_code == 201, r.text
    r = requests.get(api + E + "/" + "urn:a:%2541ok")
    assert r.status_code == 200 and r.json()["id"] == "urn:a:%41ok"


def _temporal(api, eid, **params):
    r = requests.get(api + "/temporal/entities/" + eid, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def test_4_5_6_scope_is_a_temporal_property_with_its_evolution(api):
    eid = "urn:ngsi-ld:ScopeHist:" + uuid.uuid4().hex[:10]
    r = requests.post(api + E, headers=CT, data=json.dumps(
        {"id": eid, "type": "T", "scope": "/Madrid", "a": {"type": "Property", "value": 1}}))
    assert r.status_code == 201, r.text
    r = requests.patch(api + E + "/" + eid, headers=CT,
                       data=json.dumps({"scope": ["/Madrid/Centro", "/Madrid/Sol"]}))
    assert r.status_code == 204, r.text
    got = _temporal(api, eid)
    sc = got["scope"]
    assert [i["value"] for i in sc] == ["/Madrid", ["/Madrid/Centro", "/Madrid/Sol"]]
    for i in sc:
        assert i["type"] == "Property"
        # only the non-reified Temporal Properties, observedAt a copy of modifiedAt (4.5.6)
        assert set(i) - {"type", "value", "instanceId"} == {"observedAt"}
    full = _temporal(api, eid, options="sysAttrs")["scope"]
    assert all(i["observedAt"] == i["modifiedAt"] for i in full)
    tv = _temporal(api, eid, format="temporalValues")["scope"]
    assert tv["type"] == "Property" and [v[0] for v in tv["values"]] == [
        "/Madrid", ["/Madrid/Centro", "/Madrid/Sol"]]
    # an attrs projection leaves the scope out
    assert "scope" not in _temporal(api, eid, attrs="a")


def test_4_5_6_removing_the_scope_records_a_deletion_instance(api):
    eid = "urn:ngsi-ld:ScopeHist:" + uuid.uuid4().hex[:10]
    r = requests.post(api + E, headers=CT, data=json.dumps(
        {"id": eid, "type": "T", "scope": "/a", "a": {"type": "Property", "value": 1}}))
    assert r.status_code == 201, r.text
    r = requests.delete(api + E + "/" + eid)
    assert r.status_code == 204, r.text
    got = _temporal(api, eid, timeproperty="deletedAt", timerel="after",
                    timeAt="2000-01-01T00:00:00Z", options="sysAttrs")
    dels = got["scope"] if isinstance(got["scope"], list) else [got["scope"]]
    assert any(i["value"] == "urn:ngsi-ld:null" and "deletedAt" in i for i in dels)


def test_4_23_ordering_of_more_matches_than_a_page_keeps_every_page_exact(api):
    # the broker keeps only the best offset+limit+1 while reading (a bounded selection): many
    # more matches than that still give exact pages and the full count
    kind = "OrderMany" + uuid.uuid4().hex[:8]
    n = 257
    vals = [(i * 7919) % 1000 for i in range(n)]  # shuffled, with repeats broken by id
    body = [{"id": f"urn:ngsi-ld:{kind}:{i:04d}", "type": kind,
             "v": {"type": "Property", "value": v}} for i, v in enumerate(vals)]
    r = requests.post(api + "/entityOperations/create", headers=CT, data=json.dumps(body))
    assert r.status_code == 201, r.text
    want = [e["id"] for e in sorted(body, key=lambda e: (-e["v"]["value"], e["id"]))]
    got = []
    for off in range(0, n, 40):
        r = requests.get(api + E, params={"type": kind, "orderBy": "v;desc", "pick": "id",
                                          "limit": "40", "offset": str(off), "count": "true"})
        assert r.status_code == 200, r.text
        assert r.headers["NGSILD-Results-Count"] == str(n)
        got += [e["id"] for e in r.json()]
    assert got == want
    r = requests.get(api + E, params={"type": kind, "orderBy": "v", "limit": "0",
                                      "count": "true"})
    assert r.status_code == 200 and r.headers["NGSILD-Results-Count"] == str(n)


def test_4_23_ordered_page_deeper_than_the_bound_is_too_many_results(api):
    r = requests.get(api + E, params={"type": "T", "orderBy": "id", "offset": "10000",
                                      "limit": "1"})
    assert_problem(r, 403, "TooManyResults")
