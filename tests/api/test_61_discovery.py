# SPDX-License-Identifier: Apache-2.0
"""Discovery of entity types and attributes (NGSI-LD V1.9.1 5.7.5-5.7.10; HTTP 6.25-6.28;
payloads 5.2.24 EntityTypeList, 5.2.25 EntityType, 5.2.26 EntityTypeInfo, 5.2.27 AttributeList,
5.2.28 Attribute). Every test works in a tenant of its own; names are compacted with a small user
@context served on loopback. The counts must follow creates, appends, attribute deletes,
replacements, type changes, entity deletes and purges."""
import json
import urllib.parse
import uuid

import pytest
import requests

from conftest import assert_problem, link

NS = "https://polis.example.org/disc/"
TERMS = ["Building", "Park", "Garden", "Museum", "floors", "height", "owner", "label", "area",
         "mixed", "temperature", "footprint", "visitors"]
CTX_PATH = "/disc-ctx.jsonld"
LOCATION = "https://uri.etsi.org/ngsi-ld/location"


def prop(v, **extra):
    p = {"type": "Property", "value": v}
    p.update(extra)
    return p


def rel(o):
    return {"type": "Relationship", "object": o}


def point(lon, lat):
    return {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}


@pytest.fixture(scope="module")
def ctx_url(ctx_server):
    ctx_server.docs[CTX_PATH] = {"@context": {t: NS + t for t in TERMS}}
    return ctx_server.url(CTX_PATH)


class T:
    """One tenant, read and written with the user @context."""

    def __init__(self, polis, ctx_url):
        self.polis = polis
        self.name = "d" + uuid.uuid4().hex[:10]
        self.h = {"NGSILD-Tenant": self.name, "Link": link(ctx_url)}

    def create(self, e):
        r = requests.post(self.polis.api + "/entities", json=e, headers=self.h)
        assert r.status_code == 201, r.text

    def get(self, path, headers=None, **params):
        h = dict(self.h)
        h.update(headers or {})
        return requests.get(self.polis.api + path, params=params, headers=h)

    def ok(self, path, **params):
        r = self.get(path, **params)
        assert r.status_code == 200, (path, r.status_code, r.text)
        return r.json()

    def types(self):
        return set(self.ok("/types")["typeList"])

    def attrs(self):
        return set(self.ok("/attributes")["attributeList"])

    def type_info(self, t):
        info = self.ok("/types/" + t)
        return info["entityCount"], {a["attributeName"]: sorted(a["attributeTypes"])
                                     for a in info["attributeDetails"]}

    def attr_info(self, a):
        info = self.ok("/attributes/" + a)
        return info["attributeCount"], sorted(info["attributeTypes"]), sorted(info["typeNames"])


@pytest.fixture
def t(polis, ctx_url):
    return T(polis, ctx_url)


def city(t):
    """Two Buildings and a Park."""
    t.create({"id": "urn:ngsi-ld:Building:d1", "type": "Building", "floors": prop(3),
              "owner": rel("urn:ngsi-ld:Org:1"), "location": point(-3.70, 40.41),
              "label": {"type": "LanguageProperty", "languageMap": {"en": "One"}},
              "mixed": prop(1)})
    t.create({"id": "urn:ngsi-ld:Building:d2", "type": "Building", "floors": prop(5),
              "mixed": rel("urn:ngsi-ld:Thing:x")})
    t.create({"id": "urn:ngsi-ld:Park:d3", "type": "Park", "area": prop(12),
              "location": point(-3.68, 40.42)})


# ------------------------------------------------------------------------------------------
# Payloads
# ------------------------------------------------------------------------------------------
def test_entity_type_list_5_7_5(t):
    city(t)
    r = t.get("/types")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert CTX_PATH in r.headers.get("Link", "")
    body = r.json()
    assert body["type"] == "EntityTypeList"
    assert ":" in body["id"]  # a URI (5.2.24)
    assert sorted(body["typeList"]) == ["Building", "Park"]
    # without the user @context the names cannot be compacted
    r = requests.get(t.polis.api + "/types", headers={"NGSILD-Tenant": t.name})
    assert sorted(r.json()["typeList"]) == [NS + "Building", NS + "Park"]


def test_entity_type_list_ld_json(t, ctx_url):
    city(t)
    r = t.get("/types", headers={"Accept": "application/ld+json"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/ld+json")
    body = r.json()
    assert ctx_url in json.dumps(body["@context"])
    assert sorted(body["typeList"]) == ["Building", "Park"]


def test_entity_type_details_5_7_6(t):
    city(t)
    body = t.ok("/types", details="true")
    assert isinstance(body, list) and len(body) == 2
    by = {e["typeName"]: e for e in body}
    assert set(by) == {"Building", "Park"}
    for name, e in by.items():
        assert e["type"] == "EntityType" and e["id"] == NS + name
    assert sorted(by["Building"]["attributeNames"]) == ["floors", "label", "location", "mixed",
                                                        "owner"]
    assert sorted(by["Park"]["attributeNames"]) == ["area", "location"]
    assert t.ok("/types", details="false")["type"] == "EntityTypeList"
    assert_problem(t.get("/types", details="yes"), 400, "BadRequestData")


def test_entity_type_info_5_7_7(t):
    city(t)
    info = t.ok("/types/Building")
    assert info["type"] == "EntityTypeInfo"
    assert info["id"] == NS + "Building" and info["typeName"] == "Building"
    assert info["entityCount"] == 2
    det = {a["attributeName"]: a for a in info["attributeDetails"]}
    assert set(det) == {"floors", "owner", "location", "label", "mixed"}
    for a in det.values():
        # 5.2.26: Attribute with only id, type, attributeName and attributeTypes
        assert set(a) == {"id", "type", "attributeName", "attributeTypes"}, a
        assert a["type"] == "Attribute"
    assert det["floors"]["id"] == NS + "floors"
    assert det["location"]["id"] == LOCATION
    assert det["floors"]["attributeTypes"] == ["Property"]
    assert det["owner"]["attributeTypes"] == ["Relationship"]
    assert det["location"]["attributeTypes"] == ["GeoProperty"]
    assert det["label"]["attributeTypes"] == ["LanguageProperty"]
    assert sorted(det["mixed"]["attributeTypes"]) == ["Property", "Relationship"]
    # the full IRI works too
    enc = urllib.parse.quote(NS + "Park", safe="")
    assert t.ok("/types/" + enc)["entityCount"] == 1


def test_attribute_list_5_7_8(t):
    city(t)
    body = t.ok("/attributes")
    assert body["type"] == "AttributeList" and ":" in body["id"]
    assert sorted(body["attributeList"]) == ["area", "floors", "label", "location", "mixed",
                                             "owner"]


def test_attribute_details_5_7_9(t):
    city(t)
    body = t.ok("/attributes", details="true")
    by = {a["attributeName"]: a for a in body}
    assert set(by) == {"area", "floors", "label", "location", "mixed", "owner"}
    for name, a in by.items():
        assert a["type"] == "Attribute"
        assert a["id"] == (LOCATION if name == "location" else NS + name)
    assert by["floors"]["attributeCount"] == 2
    assert by["floors"]["attributeTypes"] == ["Property"]
    assert by["floors"]["typeNames"] == ["Building"]
    assert by["location"]["attributeCount"] == 2
    assert sorted(by["location"]["typeNames"]) == ["Building", "Park"]
    assert by["location"]["attributeTypes"] == ["GeoProperty"]
    assert sorted(by["mixed"]["attributeTypes"]) == ["Property", "Relationship"]
    assert by["area"]["typeNames"] == ["Park"]


def test_attribute_info_5_7_10(t):
    city(t)
    a = t.ok("/attributes/floors")
    assert a["type"] == "Attribute" and a["id"] == NS + "floors"
    assert a["attributeName"] == "floors"
    assert (a["attributeCount"], a["attributeTypes"], a["typeNames"]) == (2, ["Property"],
                                                                          ["Building"])
    assert t.attr_info("location") == (2, ["GeoProperty"], ["Building", "Park"])
    enc = urllib.parse.quote(NS + "area", safe="")
    assert t.ok("/attributes/" + enc)["attributeName"] == "area"


def test_multi_instance_attributes_count_instances_5_2_28(t):
    """attributeCount is the number of attribute instances (4.5.5: one per datasetId)."""
    t.create({"id": "urn:ngsi-ld:Building:m1", "type": "Building",
              "temperature": [prop(1), prop(2, datasetId="urn:ngsi-ld:Dataset:a"),
                              prop(3, datasetId="urn:ngsi-ld:Dataset:b")]})
    assert t.attr_info("temperature") == (3, ["Property"], ["Building"]), \
        "5.2.28 attributeCount: 'Number of attribute instances' (3 datasetId instances)"
    assert t.type_info("Building") == (1, {"temperature": ["Property"]})


def test_unknown_type_and_attribute_are_404(t):
    city(t)
    assert_problem(t.get("/types/Nothing"), 404, "ResourceNotFound")
    assert_problem(t.get("/attributes/nothing"), 404, "ResourceNotFound")


def test_tenants_are_separate_4_14(t, polis, ctx_url):
    city(t)
    other = T(polis, ctx_url)
    other.create({"id": "urn:ngsi-ld:Museum:o1", "type": "Museum", "visitors": prop(10)})
    assert other.types() == {"Museum"} and other.attrs() == {"visitors"}
    assert t.types() == {"Building", "Park"}
    assert "visitors" not in t.attrs()
    assert_problem(t.get("/types/Museum"), 404, "ResourceNotFound")
    assert_problem(other.get("/types/Building"), 404, "ResourceNotFound")
    never = {"NGSILD-Tenant": "never" + uuid.uuid4().hex[:8]}
    for path in ("/types", "/types/Building", "/attributes", "/attributes/floors"):
        assert_problem(requests.get(polis.api + path, headers=never), 404, "NonexistentTenant")


# ------------------------------------------------------------------------------------------
# The counts follow the writes
# ------------------------------------------------------------------------------------------
def test_counts_follow_creates(t):
    city(t)
    assert t.type_info("Building")[0] == 2
    t.create({"id": "urn:ngsi-ld:Building:d4", "type": "Building", "floors": prop(1),
              "height": prop(10)})
    assert t.type_info("Building")[0] == 3
    assert t.attr_info("floors") == (3, ["Property"], ["Building"])
    assert "height" in t.attrs()
    # a batch upsert counts the same
    r = requests.post(t.polis.api + "/entityOperations/upsert", headers=t.h,
                      json=[{"id": f"urn:ngsi-ld:Park:b{i}", "type": "Park", "area": prop(i)}
                            for i in range(5)])
    assert r.status_code in (201, 204), r.text
    assert t.type_info("Park")[0] == 6
    assert t.attr_info("area") == (6, ["Property"], ["Park"])


def test_counts_follow_attribute_append_and_delete(t):
    city(t)
    eid = "urn:ngsi-ld:Park:d3"
    r = requests.post(t.polis.api + f"/entities/{eid}/attrs", headers=t.h,
                      json={"visitors": prop(100), "floors": prop(0)})
    assert r.status_code == 204, r.text
    assert "visitors" in t.attrs()
    assert t.attr_info("floors") == (3, ["Property"], ["Building", "Park"])
    assert t.type_info("Park")[1] == {"area": ["Property"], "location": ["GeoProperty"],
                                      "visitors": ["Property"], "floors": ["Property"]}
    r = requests.delete(t.polis.api + f"/entities/{eid}/attrs/visitors", headers=t.h)
    assert r.status_code == 204
    assert "visitors" not in t.attrs(), "a deleted attribute is still listed (5.7.8)"
    assert_problem(t.get("/attributes/visitors"), 404, "ResourceNotFound")
    assert "visitors" not in t.type_info("Park")[1]
    r = requests.delete(t.polis.api + f"/entities/{eid}/attrs/floors", headers=t.h)
    assert r.status_code == 204
    assert t.attr_info("floors") == (2, ["Property"], ["Building"])


def test_counts_follow_attribute_update_of_kind(t):
    """Replacing a Property by a Relationship changes the attribute types."""
    t.create({"id": "urn:ngsi-ld:Building:k1", "type": "Building", "owner": prop("me")})
    assert t.attr_info("owner") == (1, ["Property"], ["Building"])
    r = requests.put(t.polis.api + "/entities/urn:ngsi-ld:Building:k1/attrs/owner", headers=t.h,
                     json=rel("urn:ngsi-ld:Org:1"))
    assert r.status_code == 204, r.text
    assert t.attr_info("owner") == (1, ["Relationship"], ["Building"]), \
        "a replaced attribute keeps its old kind and is counted twice"


def test_counts_follow_entity_replace(t):
    """PUT /entities/{id} (5.6.18): the old attributes go, the new come; nothing is counted
    twice."""
    city(t)
    r = requests.put(t.polis.api + "/entities/urn:ngsi-ld:Building:d1", headers=t.h,
                     json={"type": "Building", "floors": prop(4)})
    assert r.status_code == 204, r.text
    assert t.attr_info("floors") == (2, ["Property"], ["Building"]), \
        "a replaced attribute is counted twice"
    assert t.attrs() == {"floors", "mixed", "area", "location"}, \
        "attributes removed by a replace are still listed"
    assert t.attr_info("location") == (1, ["GeoProperty"], ["Park"])
    assert t.type_info("Building") == (2, {"floors": ["Property"], "mixed": ["Relationship"]})


def test_counts_follow_type_change(t):
    city(t)
    # replace with another type: the only Park becomes a Garden
    r = requests.put(t.polis.api + "/entities/urn:ngsi-ld:Park:d3", headers=t.h,
                     json={"type": "Garden", "area": prop(12)})
    assert r.status_code == 204, r.text
    assert t.types() == {"Building", "Garden"}, "the type of no entity is still listed"
    assert_problem(t.get("/types/Park"), 404, "ResourceNotFound")
    assert t.type_info("Garden") == (1, {"area": ["Property"]})
    assert t.attr_info("area") == (1, ["Property"], ["Garden"])
    # merge adds a type: counted under both
    r = requests.patch(t.polis.api + "/entities/urn:ngsi-ld:Building:d2",
                       headers=dict(t.h, **{"Content-Type": "application/merge-patch+json"}),
                       json={"type": ["Building", "Museum"]})
    assert r.status_code == 204, r.text
    got = requests.get(t.polis.api + "/entities/urn:ngsi-ld:Building:d2", headers=t.h).json()
    assert sorted(got["type"]) == ["Building", "Museum"]
    assert t.type_info("Museum") == (1, {"floors": ["Property"], "mixed": ["Relationship"]})
    assert t.type_info("Building")[0] == 2
    assert t.attr_info("floors")[2] == ["Building", "Museum"]


def test_last_entity_of_a_type_deleted_removes_the_type(t):
    city(t)
    assert requests.delete(t.polis.api + "/entities/urn:ngsi-ld:Park:d3",
                           headers=t.h).status_code == 204
    assert t.types() == {"Building"}, "a type without entities is still listed (5.7.5)"
    assert_problem(t.get("/types/Park"), 404, "ResourceNotFound")
    assert "area" not in t.attrs()
    assert_problem(t.get("/attributes/area"), 404, "ResourceNotFound")
    assert t.attr_info("location") == (1, ["GeoProperty"], ["Building"])
    assert requests.delete(t.polis.api + "/entities/urn:ngsi-ld:Building:d1",
                           headers=t.h).status_code == 204
    assert t.type_info("Building") == (1, {"floors": ["Property"], "mixed": ["Relationship"]})
    assert t.attrs() == {"floors", "mixed"}
    assert requests.delete(t.polis.api + "/entities/urn:ngsi-ld:Building:d2",
                           headers=t.h).status_code == 204
    assert t.types() == set() and t.attrs() == set()
    assert t.ok("/types", details="true") == []
    assert t.ok("/attributes", details="true") == []


def test_purge_updates_the_counts(t):
    city(t)
    r = requests.delete(t.polis.api + "/entities", params={"type": "Building"}, headers=t.h)
    assert r.status_code == 204, r.text
    assert t.types() == {"Park"}
    assert t.attrs() == {"area", "location"}
    assert t.attr_info("location") == (1, ["GeoProperty"], ["Park"])


def test_batch_delete_updates_the_counts(t):
    city(t)
    r = requests.post(t.polis.api + "/entityOperations/delete", headers=t.h,
                      json=["urn:ngsi-ld:Building:d1", "urn:ngsi-ld:Building:d2"])
    assert r.status_code == 204, r.text
    assert t.types() == {"Park"}
    assert_problem(t.get("/types/Building"), 404, "ResourceNotFound")
