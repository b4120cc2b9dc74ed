# SPDX-License-Identifier: Apache-2.0
"""Issue 12, what a principal may READ (docs/security.md "What each role may read"): the
tenant's read policy (open-data types, private attributes) administered through
/polis/v1/tenants/{tenant}/policy, and its enforcement on GET by id, queries with their counts,
/types and /attributes, the temporal API and Linked Entity Retrieval."""
import json

import pytest
import requests

from conftest import Polis, assert_problem, bearer, make_key

JSON = {"Content-Type": "application/json"}
EMAIL = "reporter@example.org"
PHONE = "+34600111222"
SPOT_PHONE = "+34911000000"  # a ParkingSpot's phone is not private (phone is, for requests)
OTHER = "othercity"

POLICY = {
    "openTypes": ["ParkingSpot", "ServiceRequest"],
    "privateAttributes": ["email", {"type": "ServiceRequest", "attributes": ["phone"]}],
}


def prop(v):
    return {"type": "Property", "value": v}


def service_request(i, **extra):
    e = {"id": f"urn:ngsi-ld:ServiceRequest:{i}", "type": "ServiceRequest",
         "description": prop("pothole in front of number 7"),
         "email": prop(EMAIL), "phone": prop(PHONE),
         "location": {"type": "GeoProperty",
                      "value": {"type": "Point", "coordinates": [-3.70, 40.41]}}}
    e.update(extra)
    return e


SPOT = {"id": "urn:ngsi-ld:ParkingSpot:1", "type": "ParkingSpot", "name": prop("Plaza 1"),
        "phone": prop(SPOT_PHONE), "status": prop("free"),
        "refKpi": {"type": "Relationship", "object": "urn:ngsi-ld:KeyPerformanceIndicator:1"},
        "location": {"type": "GeoProperty",
                     "value": {"type": "Point", "coordinates": [-3.71, 40.42]}}}
KPI = {"id": "urn:ngsi-ld:KeyPerformanceIndicator:1", "type": "KeyPerformanceIndicator",
       "kpiValue": prop(0.93), "secretNote": prop("internal only")}


def tenant_hdr(tenant, headers=None):
    h = dict(headers or {})
    if tenant:
        h["NGSILD-Tenant"] = tenant
    return h


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """A broker with auth on; the default tenant holds a parking spot and a service request
    (open types) and a KPI (closed), tenant OTHER a parking spot and no policy."""
    p = Polis(tmp_path_factory.mktemp("reads"), ["--auth", "on"]).start()
    admin = bearer(make_key(p, "admin", tenant="*"))
    op = bearer(make_key(p, "operator"))
    for e in (SPOT, KPI, service_request(1)):
        r = requests.post(p.api + "/entities", json=e, headers={**JSON, **op})
        assert r.status_code == 201, r.text
    op_other = bearer(make_key(p, "operator", tenant=OTHER))
    r = requests.post(p.api + "/entities", json={**SPOT, "id": "urn:ngsi-ld:ParkingSpot:o1"},
                      headers=tenant_hdr(OTHER, {**JSON, **op_other}))
    assert r.status_code == 201, r.text
    r = requests.put(p.url + "/polis/v1/tenants/-/policy", json=POLICY,
                     headers={**JSON, **admin})
    assert r.status_code == 204, r.text
    p.admin, p.op, p.op_other = admin, op, op_other
    yield p
    p.check_exit()


def no_private(text):
    """Nothing private in a response text: neither the names nor the values."""
    assert EMAIL not in text and PHONE not in text, text
    assert '"email"' not in text and '"phone"' not in text and "/email" not in text, text


def ids_of(resp):
    assert resp.status_code == 200, resp.text
    return sorted(e["id"] for e in resp.json())


# ------------------------------------------------------------------------------------------------
# The public reads open types only
# ------------------------------------------------------------------------------------------------
def test_public_get_by_id_of_closed_type_is_not_found_like_an_absent_entity(city):
    closed = requests.get(city.api + "/entities/" + KPI["id"])
    absent = requests.get(city.api + "/entities/urn:ngsi-ld:KeyPerformanceIndicator:nope")
    b1 = assert_problem(closed, 404, "ResourceNotFound")
    b2 = assert_problem(absent, 404, "ResourceNotFound")
    assert b1["detail"] == b2["detail"] and b1["title"] == b2["title"]
    assert "0.93" not in closed.text and "internal" not in closed.text
    # with a type selector or attrs naming it: still nothing
    r = requests.get(city.api + "/entities/" + KPI["id"],
                     params={"type": "KeyPerformanceIndicator", "attrs": "kpiValue"})
    assert_problem(r, 404, "ResourceNotFound")
    # an open type is there
    r = requests.get(city.api + "/entities/" + SPOT["id"])
    assert r.status_code == 200, r.text
    assert r.json()["name"]["value"] == "Plaza 1"


def test_public_query_and_count_see_only_open_types(city):
    r = requests.get(city.api + "/entities", params={
        "type": "ParkingSpot,ServiceRequest,KeyPerformanceIndicator", "count": "true"})
    assert ids_of(r) == ["urn:ngsi-ld:ParkingSpot:1", "urn:ngsi-ld:ServiceRequest:1"]
    assert r.headers["NGSILD-Results-Count"] == "2"
    r = requests.get(city.api + "/entities",
                     params={"type": "KeyPerformanceIndicator", "count": "true"})
    assert ids_of(r) == [] and r.headers["NGSILD-Results-Count"] == "0"
    # local=true without a type: every readable entity, paging over readable ones only
    r = requests.get(city.api + "/entities",
                     params={"local": "true", "count": "true", "limit": "1"})
    assert r.headers["NGSILD-Results-Count"] == "2"
    assert len(r.json()) == 1 and 'rel="next"' in r.headers.get("Link", "")
    r2 = requests.get(city.api + "/entities",
                      params={"local": "true", "limit": "1", "offset": "1"})
    assert len(r2.json()) == 1 and 'rel="next"' not in r2.headers.get("Link", "")
    assert {r.json()[0]["id"], r2.json()[0]["id"]} == {SPOT["id"], "urn:ngsi-ld:ServiceRequest:1"}
    # POST /entityOperations/query: the same
    r = requests.post(city.api + "/entityOperations/query?count=true", headers=JSON, json={
        "type": "Query", "entities": [{"type": "KeyPerformanceIndicator"},
                                      {"type": "ParkingSpot"}]})
    assert ids_of(r) == [SPOT["id"]] and r.headers["NGSILD-Results-Count"] == "1"
    # an operator of the tenant reads all three
    r = requests.get(city.api + "/entities", headers=city.op, params={
        "type": "ParkingSpot,ServiceRequest,KeyPerformanceIndicator", "count": "true"})
    assert r.headers["NGSILD-Results-Count"] == "3"


def test_public_types_and_attributes_exclude_closed_types_and_private_attributes(city):
    r = requests.get(city.api + "/types")
    assert r.status_code == 200, r.text
    assert sorted(r.json()["typeList"]) == ["ParkingSpot", "ServiceRequest"]
    r = requests.get(city.api + "/types", params={"details": "true"})
    names = {t["typeName"]: t["attributeNames"] for t in r.json()}
    assert set(names) == {"ParkingSpot", "ServiceRequest"}
    assert "phone" in names["ParkingSpot"]  # not private for parking spots
    assert "email" not in names["ServiceRequest"] and "phone" not in names["ServiceRequest"]
    assert_problem(requests.get(city.api + "/types/KeyPerformanceIndicator"), 404,
                   "ResourceNotFound")
    info = requests.get(city.api + "/types/ServiceRequest").json()
    assert info["entityCount"] == 1
    assert {a["attributeName"] for a in info["attributeDetails"]} == {"description", "location"}
    r = requests.get(city.api + "/attributes")
    attrs = set(r.json()["attributeList"])
    assert {"kpiValue", "secretNote", "email"}.isdisjoint(attrs), attrs
    assert {"name", "description", "location", "phone"} <= attrs
    r = requests.get(city.api + "/attributes", params={"details": "true"})
    by = {a["attributeName"]: a for a in r.json()}
    assert by["location"]["attributeCount"] == 2
    assert by["phone"]["attributeCount"] == 1 and by["phone"]["typeNames"] == ["ParkingSpot"]
    for name in ("email", "kpiValue"):
        assert_problem(requests.get(city.api + "/attributes/" + name), 404, "ResourceNotFound")
    # the operator sees everything, counts included
    r = requests.get(city.api + "/attributes", params={"details": "true"}, headers=city.op)
    by = {a["attributeName"]: a for a in r.json()}
    assert by["phone"]["attributeCount"] == 2 and "email" in by and "kpiValue" in by


# ------------------------------------------------------------------------------------------------
# Private attributes, in every representation
# ------------------------------------------------------------------------------------------------
SR = "urn:ngsi-ld:ServiceRequest:1"


@pytest.mark.parametrize("params,accept", [
    ({}, "application/json"),
    ({}, "application/ld+json"),
    ({"options": "keyValues"}, "application/json"),
    ({"options": "concise"}, "application/json"),
    ({"options": "sysAttrs"}, "application/json"),
    ({}, "application/geo+json"),
    ({"attrs": "email,description"}, "application/json"),
    ({"pick": "id,email,phone,description"}, "application/json"),
    ({"omit": "description"}, "application/json"),
    ({"lang": "en"}, "application/json"),
])
def test_public_never_reads_private_attributes_of_an_entity(city, params, accept):
    r = requests.get(city.api + "/entities/" + SR, params=params, headers={"Accept": accept})
    assert r.status_code == 200, r.text
    no_private(r.text)
    assert "pothole" in r.text or "omit" in params


@pytest.mark.parametrize("params,accept", [
    ({"type": "ServiceRequest"}, "application/json"),
    ({"type": "ServiceRequest", "options": "keyValues"}, "application/json"),
    ({"type": "ServiceRequest", "options": "concise"}, "application/ld+json"),
    ({"type": "ServiceRequest"}, "application/geo+json"),
    ({"type": "ServiceRequest", "attrs": "email,phone,description"}, "application/json"),
    ({"type": "ServiceRequest", "pick": "email,phone,description"}, "application/json"),
    ({"type": "ServiceRequest", "orderBy": "description"}, "application/json"),
])
def test_public_never_reads_private_attributes_in_queries(city, params, accept):
    r = requests.get(city.api + "/entities", params=params, headers={"Accept": accept})
    assert r.status_code == 200, r.text
    no_private(r.text)
    assert "pothole" in r.text


def test_attrs_or_pick_naming_only_private_attributes_bring_nothing_back(city):
    r = requests.get(city.api + "/entities/" + SR, params={"attrs": "email,phone"})
    assert_problem(r, 404, "ResourceNotFound")
    no_private(r.text)
    r = requests.get(city.api + "/entities", params={"type": "ServiceRequest",
                                                     "attrs": "email", "count": "true"})
    assert ids_of(r) == [] and r.headers["NGSILD-Results-Count"] == "0"
    r = requests.post(city.api + "/entityOperations/query", headers=JSON, json={
        "type": "Query", "entities": [{"type": "ServiceRequest"}], "pick": ["email", "phone"]})
    assert r.status_code == 200 and r.json() == [], r.text
    # the operator reads them
    r = requests.get(city.api + "/entities/" + SR, params={"attrs": "email,phone"},
                     headers=city.op)
    assert r.status_code == 200 and EMAIL in r.text and PHONE in r.text


def test_public_query_cannot_filter_on_a_private_attribute(city):
    for q in ('email=="%s"' % EMAIL, "phone", 'description=="x"|email=="y"'):
        r = requests.get(city.api + "/entities", params={"type": "ServiceRequest", "q": q})
        assert r.status_code == 403, (q, r.text)
        assert r.json()["type"].endswith("Forbidden")
        no_private(r.text.replace(q, ""))
    r = requests.get(city.api + "/entities", headers=city.op,
                     params={"type": "ServiceRequest", "q": 'email=="%s"' % EMAIL})
    assert ids_of(r) == [SR]


def test_linked_entities_the_public_may_not_read_are_not_inlined(city):
    r = requests.get(city.api + "/entities/" + SPOT["id"], params={"join": "inline"})
    assert r.status_code == 200, r.text
    assert "0.93" not in r.text and "internal only" not in r.text
    assert r.json()["refKpi"]["object"] == KPI["id"]
    r = requests.get(city.api + "/entities/" + SPOT["id"], params={"join": "flat"})
    assert [e["id"] for e in r.json()] == [SPOT["id"]]
    # the operator gets the KPI inlined
    r = requests.get(city.api + "/entities/" + SPOT["id"], params={"join": "inline"},
                     headers=city.op)
    assert "internal only" in r.text


def test_temporal_reads_hide_closed_types_and_private_attributes(city):
    api = city.api + "/temporal/entities"
    r = requests.get(api + "/" + SR)
    assert r.status_code == 200, r.text
    no_private(r.text)
    assert "pothole" in r.text
    for params in ({"options": "temporalValues"}, {"attrs": "email,phone,description"},
                   {"options": "concise"}):
        r = requests.get(api + "/" + SR, params=params)
        assert r.status_code == 200, r.text
        no_private(r.text)
    closed = requests.get(api + "/" + KPI["id"])
    absent = requests.get(api + "/urn:ngsi-ld:KeyPerformanceIndicator:nope")
    assert_problem(closed, 404, "ResourceNotFound")
    assert closed.json()["detail"].replace(KPI["id"], "X") == \
        absent.json()["detail"].replace("urn:ngsi-ld:KeyPerformanceIndicator:nope", "X")
    r = requests.get(api, params={"type": "ServiceRequest,KeyPerformanceIndicator,ParkingSpot",
                                  "timerel": "after", "timeAt": "2000-01-01T00:00:00Z",
                                  "timeproperty": "createdAt", "count": "true"})
    assert ids_of(r) == [SPOT["id"], SR]
    assert r.headers["NGSILD-Results-Count"] == "2"
    no_private(json.dumps([e for e in r.json() if e["id"] == SR]))
    assert SPOT_PHONE in r.text  # not private for a parking spot
    r = requests.post(city.api + "/temporal/entityOperations/query", headers=JSON, json={
        "type": "Query", "entities": [{"type": "KeyPerformanceIndicator"}],
        "temporalQ": {"timerel": "after", "timeAt": "2000-01-01T00:00:00Z",
                      "timeproperty": "createdAt"}})
    assert ids_of(r) == []
    r = requests.get(api, params={"type": "ServiceRequest", "timerel": "after",
                                  "timeAt": "2000-01-01T00:00:00Z", "timeproperty": "createdAt",
                                  "q": "email"})
    assert r.status_code == 403, r.text


# ------------------------------------------------------------------------------------------------
# Other roles
# ------------------------------------------------------------------------------------------------
def test_enterprise_reads_its_own_entities_fully_and_others_as_the_public(city):
    ent = bearer(make_key(city, "enterprise"))
    mine = service_request("mine")
    for e in (mine, {**KPI, "id": "urn:ngsi-ld:KeyPerformanceIndicator:mine"}):
        r = requests.post(city.api + "/entities", json=e, headers={**JSON, **ent})
        assert r.status_code == 201, r.text
    r = requests.get(city.api + "/entities/" + mine["id"], headers=ent)
    assert r.status_code == 200 and EMAIL in r.text and PHONE in r.text, r.text
    r = requests.get(city.api + "/entities/urn:ngsi-ld:KeyPerformanceIndicator:mine",
                     headers=ent)
    assert r.status_code == 200 and "internal only" in r.text
    # another's closed entity: not found; another's open entity: without private attributes
    assert_problem(requests.get(city.api + "/entities/" + KPI["id"], headers=ent), 404,
                   "ResourceNotFound")
    r = requests.get(city.api + "/entities/" + SR, headers=ent)
    assert r.status_code == 200
    no_private(r.text)
    # queries: its own KPI only, its own request in full, the other without private attributes
    r = requests.get(city.api + "/entities", headers=ent,
                     params={"type": "KeyPerformanceIndicator", "count": "true"})
    assert ids_of(r) == ["urn:ngsi-ld:KeyPerformanceIndicator:mine"]
    assert r.headers["NGSILD-Results-Count"] == "1"
    r = requests.get(city.api + "/entities", headers=ent, params={"type": "ServiceRequest"})
    got = {e["id"]: e for e in r.json()}
    assert set(got) == {SR, mine["id"]}
    assert got[mine["id"]]["email"]["value"] == EMAIL
    assert "email" not in got[SR] and "phone" not in got[SR]
    # the public does not read the enterprise's private attributes
    r = requests.get(city.api + "/entities/" + mine["id"])
    assert r.status_code == 200
    no_private(r.text)


def test_device_reads_its_bound_entities_and_what_the_public_may_read(city):
    dev = bearer(make_key(city, "device", entities=[KPI["id"]]))
    r = requests.get(city.api + "/entities/" + KPI["id"], headers=dev)
    assert r.status_code == 200 and "internal only" in r.text, r.text
    r = requests.get(city.api + "/entities/" + SR, headers=dev)
    assert r.status_code == 200
    no_private(r.text)
    r = requests.get(city.api + "/entities", headers=dev, params={
        "type": "KeyPerformanceIndicator,ParkingSpot", "count": "true"})
    assert KPI["id"] in ids_of(r) and SPOT["id"] in ids_of(r)
    assert "urn:ngsi-ld:KeyPerformanceIndicator:mine" not in ids_of(r)


def test_operator_of_one_tenant_reads_nothing_of_another(city):
    op_b = city.op_other
    r = requests.get(city.api + "/entities/" + SPOT["id"], headers=op_b)
    assert r.status_code in (403, 404), r.text
    assert "Plaza" not in r.text
    r = requests.get(city.api + "/entities", headers=op_b,
                     params={"type": "ParkingSpot", "count": "true"})
    assert r.status_code in (200, 403), r.text
    if r.status_code == 200:
        assert r.json() == [] and r.headers["NGSILD-Results-Count"] == "0"
    r = requests.get(city.api + "/types", headers=op_b)
    assert r.status_code == 403 or r.json()["typeList"] == []
    # and the operator of the default tenant nothing of OTHER
    r = requests.get(city.api + "/entities/urn:ngsi-ld:ParkingSpot:o1",
                     headers=tenant_hdr(OTHER, city.op))
    assert r.status_code in (403, 404) and "Plaza" not in r.text


def test_no_policy_means_the_public_reads_nothing_of_that_tenant(city):
    h = tenant_hdr(OTHER)
    assert_problem(requests.get(city.api + "/entities/urn:ngsi-ld:ParkingSpot:o1", headers=h),
                   404, "ResourceNotFound")
    r = requests.get(city.api + "/entities", headers=h,
                     params={"type": "ParkingSpot", "count": "true"})
    assert ids_of(r) == [] and r.headers["NGSILD-Results-Count"] == "0"
    assert requests.get(city.api + "/types", headers=h).json()["typeList"] == []
    assert requests.get(city.api + "/attributes", headers=h).json()["attributeList"] == []
    r = requests.get(city.url + f"/polis/v1/tenants/{OTHER}/policy", headers=city.admin)
    assert r.status_code == 200 and r.json() == {"openTypes": [], "privateAttributes": []}
    # the operator of that tenant reads it
    r = requests.get(city.api + "/entities/urn:ngsi-ld:ParkingSpot:o1",
                     headers=tenant_hdr(OTHER, city.op_other))
    assert r.status_code == 200


# ------------------------------------------------------------------------------------------------
# The policy API
# ------------------------------------------------------------------------------------------------
def test_policy_api_is_for_admins_only(city):
    url = city.url + "/polis/v1/tenants/-/policy"
    r = requests.get(url)
    assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Bearer")
    r = requests.put(url, json={"openTypes": ["KeyPerformanceIndicator"]}, headers=JSON)
    assert r.status_code == 401, r.text
    for who in (city.op, bearer(make_key(city, "agency", types=["ParkingSpot"]))):
        assert requests.get(url, headers=who).status_code == 403
        r = requests.put(url, json={"openTypes": ["KeyPerformanceIndicator"]},
                         headers={**JSON, **who})
        assert r.status_code == 403, r.text
    # an admin of another tenant may not set this tenant's policy
    admin_b = bearer(make_key(city, "admin", tenant=OTHER))
    assert requests.put(url, json=POLICY, headers={**JSON, **admin_b}).status_code == 403
    r = requests.get(url, headers=city.admin)
    assert r.status_code == 200 and r.json() == POLICY
    assert_problem(requests.get(city.api + "/entities/" + KPI["id"]), 404, "ResourceNotFound")


@pytest.mark.parametrize("body", [
    [], "x", {"openTypes": "ParkingSpot"}, {"openTypes": [1]}, {"openTypes": [""]},
    {"openTypes": ["a b"]}, {"open": []}, {"privateAttributes": [{"type": "T"}]},
    {"privateAttributes": [{"attributes": ["a"]}]}, {"privateAttributes": [["a"]]},
    {"privateAttributes": [{"type": "T", "attributes": ["a"], "more": 1}]},
    {"openTypes": ["T"] * 600},
])
def test_policy_api_validates_input(city, body):
    url = city.url + "/polis/v1/tenants/-/policy"
    r = requests.put(url, data=json.dumps(body), headers={**JSON, **city.admin})
    assert_problem(r, 400, "BadRequestData")
    assert requests.get(url, headers=city.admin).json() == POLICY  # unchanged


def test_policy_api_refuses_bad_tenant_names_and_bodies(city):
    r = requests.get(city.url + "/polis/v1/tenants/bad.name/policy", headers=city.admin)
    assert_problem(r, 400, "BadRequestData")
    r = requests.get(city.url + "/polis/v1/tenants/" + "x" * 65 + "/policy", headers=city.admin)
    assert_problem(r, 400, "BadRequestData")
    r = requests.put(city.url + "/polis/v1/tenants/-/policy", data="{not json",
                     headers={**JSON, **city.admin})
    assert r.status_code == 400, r.text


def test_policy_change_applies_to_the_next_read_and_survives_restart(tmp_path):
    p = Polis(tmp_path, ["--auth", "on"]).start()
    try:
        admin = bearer(make_key(p, "admin", tenant="*"))
        r = requests.post(p.api + "/entities", json=KPI, headers={**JSON, **admin})
        assert r.status_code == 201, r.text
        assert requests.get(p.api + "/entities/" + KPI["id"]).status_code == 404
        url = p.url + "/polis/v1/tenants/-/policy"
        doc = {"openTypes": ["KeyPerformanceIndicator"], "privateAttributes": ["secretNote"]}
        assert requests.put(url, json=doc, headers={**JSON, **admin}).status_code == 204
        r = requests.get(p.api + "/entities/" + KPI["id"])
        assert r.status_code == 200 and "0.93" in r.text and "internal only" not in r.text
        p.stop()
        p.start()
        url = p.url + "/polis/v1/tenants/-/policy"  # a new port
        assert requests.get(url, headers=admin).json() == doc
        r = requests.get(p.api + "/entities/" + KPI["id"])
        assert r.status_code == 200 and "internal only" not in r.text
    finally:
        p.check_exit()


def test_demo_city_opens_its_public_types(tmp_path):
    p = Polis(tmp_path, ["--auth", "on"], demo=True).start()
    try:
        r = requests.get(p.api + "/types")
        assert r.status_code == 200, r.text
        types = r.json()["typeList"]
        assert any("ParkingSpot" in t for t in types) and any("AirQuality" in t for t in types)
        assert not any("KeyPerformanceIndicator" in t for t in types)
    finally:
        p.check_exit()


def test_subscription_of_an_enterprise_never_notifies_what_it_may_not_read(city, own_receiver):
    ent = bearer(make_key(city, "enterprise"))
    r = requests.post(city.api + "/subscriptions", headers={**JSON, **ent}, json={
        "type": "Subscription",
        "entities": [{"type": "ServiceRequest"}, {"type": "KeyPerformanceIndicator"}],
        "notification": {"endpoint": {"uri": own_receiver.url("/ent"),
                                      "accept": "application/json"}}})
    assert r.status_code == 201, r.text
    # a change of a closed entity it does not own: nothing; of an open one: without private
    # attributes; of a private attribute alone: nothing either
    r = requests.patch(city.api + "/entities/" + KPI["id"] + "/attrs", headers={**JSON, **city.op},
                       json={"kpiValue": prop(0.5)})
    assert r.status_code == 204, r.text
    r = requests.patch(city.api + "/entities/" + SR + "/attrs", headers={**JSON, **city.op},
                       json={"email": prop("other@example.org")})
    assert r.status_code == 204, r.text
    r = requests.patch(city.api + "/entities/" + SR + "/attrs", headers={**JSON, **city.op},
                       json={"description": prop("pothole fixed")})
    assert r.status_code == 204, r.text
    got = own_receiver.wait_for("/ent", 1)
    text = json.dumps([g["body"] for g in got])
    assert "pothole fixed" in text
    assert "other@example.org" not in text and EMAIL not in text and PHONE not in text, text
    assert KPI["id"] not in text
    quiet = own_receiver.quiet("/ent", 1.0)
    assert KPI["id"] not in json.dumps([g["body"] for g in quiet])
