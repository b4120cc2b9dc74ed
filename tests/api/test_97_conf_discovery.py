# SPDX-License-Identifier: Apache-2.0
"""Conformance (NGSI-LD V1.9.1) of what no other area covers: the discovery payloads (5.2.24-5.2.28,
5.7.5-5.7.10, 6.25-6.28), tenants (4.14, 5.5.10) and the error cases of Create Entity (5.6.1),
Delete Entity (5.6.6) and Retrieve Entity (5.7.1). Each test names the clause whose "shall" it
checks; every test works in a tenant of its own."""
import urllib.parse
import uuid

import pytest
import requests

from conftest import assert_problem, link

NS = "https://polis.example.org/conf97/"
CTX_PATH = "/conf97-ctx.jsonld"
TERMS = ["Shop", "Kiosk", "stock", "owner", "spot"]
SUB_BODY = {"type": "Subscription", "entities": [{"type": "Shop"}],
            "notification": {"endpoint": {"uri": "http://127.0.0.1:9/none"}}}


def prop(v, **extra):
    p = {"type": "Property", "value": v}
    p.update(extra)
    return p


@pytest.fixture(scope="module")
def ctx_url(ctx_server):
    ctx_server.docs[CTX_PATH] = {"@context": {t: NS + t for t in TERMS}}
    return ctx_server.url(CTX_PATH)


def new_tenant():
    return "c97" + uuid.uuid4().hex[:10]


class T:
    """One tenant, read and written with the user @context."""

    def __init__(self, polis, ctx_url, name=None):
        self.api = polis.api
        self.name = name or new_tenant()
        self.h = {"NGSILD-Tenant": self.name, "Link": link(ctx_url)}

    def req(self, method, path, **kw):
        h = dict(self.h)
        h.update(kw.pop("headers", {}))
        return requests.request(method, self.api + path, headers=h, **kw)

    def get(self, path, **params):
        return self.req("GET", path, params=params)

    def ok(self, path, **params):
        r = self.get(path, **params)
        assert r.status_code == 200, (path, r.status_code, r.text)
        return r.json()

    def create(self, e):
        r = self.req("POST", "/entities", json=e)
        assert r.status_code == 201, r.text
        return r


@pytest.fixture
def t(polis, ctx_url):
    return T(polis, ctx_url)


def shops(t):
    t.create({"id": "urn:ngsi-ld:Shop:1", "type": "Shop", "stock": prop(3),
              "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:1"}})
    t.create({"id": "urn:ngsi-ld:Shop:2", "type": "Shop", "stock": prop(5)})
    t.create({"id": "urn:ngsi-ld:Kiosk:1", "type": "Kiosk",
              "spot": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [1, 2]}}})


# ------------------------------------------------------------------------------------------
# Discovery payloads: exactly the members of the data type tables
# ------------------------------------------------------------------------------------------
def test_5_2_24_entity_type_list_has_id_type_and_type_list_only(t):
    shops(t)
    body = t.ok("/types")
    assert set(body) == {"id", "type", "typeList"}
    assert body["type"] == "EntityTypeList"
    assert urllib.parse.urlparse(body["id"]).scheme, "5.2.24: id shall be a valid URI"
    assert sorted(body["typeList"]) == ["Kiosk", "Shop"]


def test_5_2_25_entity_type_has_fqn_id_and_short_type_name(t):
    shops(t)
    body = t.ok("/types", details="true")
    assert isinstance(body, list)
    by = {e["typeName"]: e for e in body}
    assert set(by) == {"Kiosk", "Shop"}
    for name, e in by.items():
        assert set(e) == {"id", "type", "typeName", "attributeNames"}, e
        assert e["type"] == "EntityType"
        assert e["id"] == NS + name, "5.2.25: id is the Fully Qualified Name"
    assert sorted(by["Shop"]["attributeNames"]) == ["owner", "stock"]
    assert by["Kiosk"]["attributeNames"] == ["spot"]


def test_5_2_26_entity_type_info_members(t):
    shops(t)
    info = t.ok("/types/Shop")
    assert set(info) == {"id", "type", "typeName", "entityCount", "attributeDetails"}
    assert info["type"] == "EntityTypeInfo"
    assert (info["id"], info["typeName"], info["entityCount"]) == (NS + "Shop", "Shop", 2)
    det = {a["attributeName"]: a for a in info["attributeDetails"]}
    assert set(det) == {"stock", "owner"}
    assert det["owner"] == {"id": NS + "owner", "type": "Attribute", "attributeName": "owner",
                            "attributeTypes": ["Relationship"]}


def test_5_2_27_attribute_list_has_id_type_and_attribute_list_only(t):
    shops(t)
    body = t.ok("/attributes")
    assert set(body) == {"id", "type", "attributeList"}
    assert body["type"] == "AttributeList"
    assert urllib.parse.urlparse(body["id"]).scheme, "5.2.27: id shall be a valid URI"
    assert sorted(body["attributeList"]) == ["owner", "spot", "stock"]


def test_5_2_28_attribute_members_in_details_and_info(t):
    shops(t)
    want = {"id": NS + "stock", "type": "Attribute", "attributeName": "stock",
            "attributeCount": 2, "attributeTypes": ["Property"], "typeNames": ["Shop"]}
    by = {a["attributeName"]: a for a in t.ok("/attributes", details="true")}
    assert by["stock"] == want
    assert by["spot"]["attributeTypes"] == ["GeoProperty"]
    assert by["spot"]["typeNames"] == ["Kiosk"]
    assert t.ok("/attributes/stock") == want


def test_5_7_7_and_5_7_10_full_iri_and_short_name_are_the_same_resource(t):
    shops(t)
    full = urllib.parse.quote(NS + "Shop", safe="")
    assert t.ok("/types/" + full) == t.ok("/types/Shop")
    full = urllib.parse.quote(NS + "stock", safe="")
    assert t.ok("/attributes/" + full) == t.ok("/attributes/stock")


def test_5_7_5_names_are_compacted_with_the_request_context_only(t, polis):
    """Without the user @context the names stay full IRIs (5.7.5.4: short names if available
    in the provided @context)."""
    shops(t)
    bare = {"NGSILD-Tenant": t.name}
    body = requests.get(polis.api + "/types", headers=bare).json()
    assert sorted(body["typeList"]) == [NS + "Kiosk", NS + "Shop"]
    det = requests.get(polis.api + "/attributes", params={"details": "true"}, headers=bare).json()
    stock = [a for a in det if a["id"] == NS + "stock"][0]
    assert stock["attributeName"] == NS + "stock" and stock["typeNames"] == [NS + "Shop"]
    # the short name is not known without the @context: no such type
    assert_problem(requests.get(polis.api + "/types/Shop", headers=bare), 404,
                   "ResourceNotFound")


def test_6_25_3_1_ld_json_details_carry_the_context_in_each_element(t, ctx_url):
    shops(t)
    r = t.req("GET", "/types", params={"details": "true"},
              headers={"Accept": "application/ld+json"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/ld+json")
    for e in r.json():
        assert ctx_url in str(e["@context"]), e


def test_6_26_3_1_and_6_28_3_1_unknown_names_are_resource_not_found(t):
    shops(t)
    assert_problem(t.get("/types/Nothing"), 404, "ResourceNotFound")
    assert_problem(t.get("/attributes/nothing"), 404, "ResourceNotFound")
    # an attribute name is not a type and the other way round
    assert_problem(t.get("/types/stock"), 404, "ResourceNotFound")
    assert_problem(t.get("/attributes/Shop"), 404, "ResourceNotFound")


def test_5_7_5_an_existing_tenant_without_entities_lists_nothing(t):
    t.create({"id": "urn:ngsi-ld:Shop:gone", "type": "Shop"})
    assert t.req("DELETE", "/entities/urn:ngsi-ld:Shop:gone").status_code == 204
    assert t.ok("/types")["typeList"] == []
    assert t.ok("/attributes")["attributeList"] == []
    assert t.ok("/types", details="true") == []
    assert t.ok("/attributes", details="true") == []


def test_5_5_10_discovery_counts_only_the_tenant(t, polis, ctx_url):
    shops(t)
    other = T(polis, ctx_url)
    other.create({"id": "urn:ngsi-ld:Shop:1", "type": "Shop", "stock": prop(1)})
    assert other.ok("/types/Shop")["entityCount"] == 1
    assert other.ok("/attributes/stock")["attributeCount"] == 1
    assert t.ok("/types/Shop")["entityCount"] == 2
    assert t.ok("/attributes/stock")["attributeCount"] == 2
    assert "Kiosk" not in other.ok("/types")["typeList"]
    # the default tenant sees none of them
    r = requests.get(polis.api + "/types/Kiosk", headers={"Link": link(ctx_url)})
    assert_problem(r, 404, "ResourceNotFound")


# ------------------------------------------------------------------------------------------
# Tenants (4.14, 5.5.10)
# ------------------------------------------------------------------------------------------
READS = [("GET", "/entities/urn:ngsi-ld:Shop:1", {}),
         ("GET", "/entities", {"type": "Shop"}),
         ("GET", "/types", {}), ("GET", "/types", {"details": "true"}),
         ("GET", "/types/Shop", {}),
         ("GET", "/attributes", {}), ("GET", "/attributes", {"details": "true"}),
         ("GET", "/attributes/stock", {}),
         ("GET", "/subscriptions", {}),
         ("GET", "/subscriptions/urn:ngsi-ld:Subscription:x", {}),
         ("GET", "/temporal/entities/urn:ngsi-ld:Shop:1", {}),
         ("GET", "/temporal/entities", {"type": "Shop", "timerel": "after",
                                        "timeAt": "2020-01-01T00:00:00Z"})]


@pytest.mark.parametrize("method,path,params", READS, ids=[m + " " + p + str(q) for m, p, q in READS])
def test_5_5_10_reads_of_a_nonexistent_tenant_are_nonexistent_tenant(polis, ctx_url, method,
                                                                     path, params):
    t = T(polis, ctx_url)
    assert_problem(t.req(method, path, params=params), 404, "NonexistentTenant")


def test_5_5_10_query_post_of_a_nonexistent_tenant_is_nonexistent_tenant(t):
    r = t.req("POST", "/entityOperations/query",
              json={"type": "Query", "entities": [{"type": "Shop"}]})
    assert_problem(r, 404, "NonexistentTenant")


WRITES = [("PATCH", "/entities/urn:ngsi-ld:Shop:1/attrs", {"stock": prop(1)}),
          ("POST", "/entities/urn:ngsi-ld:Shop:1/attrs", {"stock": prop(1)}),
          ("PATCH", "/entities/urn:ngsi-ld:Shop:1/attrs/stock", prop(1)),
          ("PUT", "/entities/urn:ngsi-ld:Shop:1", {"type": "Shop"}),
          ("DELETE", "/entities/urn:ngsi-ld:Shop:1", None),
          ("DELETE", "/entities/urn:ngsi-ld:Shop:1/attrs/stock", None),
          ("DELETE", "/subscriptions/urn:ngsi-ld:Subscription:x", None)]


@pytest.mark.parametrize("method,path,body", WRITES, ids=[m + " " + p for m, p, _ in WRITES])
def test_5_5_10_updates_and_deletes_in_a_nonexistent_tenant_are_nonexistent_tenant(
        polis, ctx_url, method, path, body):
    t = T(polis, ctx_url)
    r = t.req(method, path, json=body) if body is not None else t.req(method, path)
    assert_problem(r, 404, "NonexistentTenant")
    # and the failed write did not create the tenant
    assert_problem(t.get("/types"), 404, "NonexistentTenant")


def test_5_5_10_batch_update_and_delete_report_nonexistent_tenant_per_entity(t):
    for op, body in (("update", [{"id": "urn:ngsi-ld:Shop:1", "type": "Shop"}]),
                     ("delete", ["urn:ngsi-ld:Shop:1"])):
        r = t.req("POST", "/entityOperations/" + op, json=body)
        assert r.status_code == 207, r.text
        errs = r.json()["errors"]
        assert len(errs) == 1 and errs[0]["error"]["type"].endswith("/NonexistentTenant")
    assert_problem(t.get("/types"), 404, "NonexistentTenant")


CREATES = [("POST", "/entities", {"id": "urn:ngsi-ld:Shop:1", "type": "Shop"}),
           ("POST", "/entityOperations/create", [{"id": "urn:ngsi-ld:Shop:1", "type": "Shop"}]),
           ("POST", "/entityOperations/upsert", [{"id": "urn:ngsi-ld:Shop:1", "type": "Shop"}]),
           ("POST", "/temporal/entities",
            {"id": "urn:ngsi-ld:Shop:1", "type": "Shop",
             "stock": [prop(1, observedAt="2020-01-01T00:00:00Z")]}),
           ("POST", "/subscriptions", SUB_BODY)]


@pytest.mark.parametrize("method,path,body", CREATES, ids=[p for _, p, _ in CREATES])
def test_5_5_10_creating_operations_create_the_tenant_implicitly(polis, ctx_url, method, path,
                                                                 body):
    t = T(polis, ctx_url)
    r = t.req(method, path, json=body)
    assert r.status_code in (201, 204), r.text
    assert r.headers.get("NGSILD-Tenant") == t.name, "5.5.10: the tenant shall be in the answer"
    # every read of the tenant now works
    assert t.get("/entities", type="Shop").status_code == 200
    assert t.get("/types").status_code == 200
    assert t.get("/subscriptions").status_code == 200


def test_5_5_10_tenant_created_by_a_subscription_survives_a_restart(fresh_polis, ctx_url):
    fresh_polis.start()
    t = T(fresh_polis, ctx_url)
    assert t.req("POST", "/subscriptions", json=SUB_BODY).status_code == 201
    fresh_polis.stop()
    fresh_polis.start()
    t.api = fresh_polis.api
    assert t.ok("/types")["typeList"] == []
    assert len(t.ok("/subscriptions")) == 1


def test_5_5_10_a_failed_create_does_not_create_the_tenant(t):
    assert_problem(t.req("POST", "/entities", json={"id": "not a uri", "type": "Shop"}), 400,
                   "BadRequestData")
    assert_problem(t.get("/entities", type="Shop"), 404, "NonexistentTenant")


def test_5_5_10_the_tenant_is_echoed_in_answers(t):
    shops(t)
    for r in (t.get("/entities/urn:ngsi-ld:Shop:1"), t.get("/types"),
              t.get("/attributes/stock"), t.get("/entities/urn:ngsi-ld:Nothing:1")):
        assert r.headers.get("NGSILD-Tenant") == t.name, (r.status_code, r.headers)


def test_4_14_same_entity_id_in_two_tenants_are_two_entities(t, polis, ctx_url):
    other = T(polis, ctx_url)
    t.create({"id": "urn:ngsi-ld:Shop:1", "type": "Shop", "stock": prop(1)})
    other.create({"id": "urn:ngsi-ld:Shop:1", "type": "Kiosk", "owner": prop("x")})
    assert t.ok("/entities/urn:ngsi-ld:Shop:1")["stock"]["value"] == 1
    assert "stock" not in other.ok("/entities/urn:ngsi-ld:Shop:1")
    assert [e["id"] for e in t.ok("/entities", type="Shop")] == ["urn:ngsi-ld:Shop:1"]
    assert other.ok("/entities", type="Shop") == []
    assert t.req("DELETE", "/entities/urn:ngsi-ld:Shop:1").status_code == 204
    assert other.ok("/entities/urn:ngsi-ld:Shop:1")["type"] == "Kiosk"
    r = requests.get(polis.api + "/entities/urn:ngsi-ld:Shop:1", headers={"Link": t.h["Link"]})
    assert_problem(r, 404, "ResourceNotFound")


def test_4_14_subscriptions_belong_to_their_tenant(t, polis, ctx_url):
    other = T(polis, ctx_url)
    other.create({"id": "urn:ngsi-ld:Shop:9", "type": "Shop"})
    r = t.req("POST", "/subscriptions", json=SUB_BODY)
    assert r.status_code == 201, r.text
    sid = r.headers["Location"].rsplit("/", 1)[-1]
    assert [s["id"] for s in t.ok("/subscriptions")] == [urllib.parse.unquote(sid)]
    assert other.ok("/subscriptions") == []
    assert_problem(other.get("/subscriptions/" + sid), 404, "ResourceNotFound")
    assert_problem(other.req("DELETE", "/subscriptions/" + sid), 404, "ResourceNotFound")
    assert t.get("/subscriptions/" + sid).status_code == 200


# ------------------------------------------------------------------------------------------
# Create Entity 5.6.1, Delete Entity 5.6.6, Retrieve Entity 5.7.1: error cases
# ------------------------------------------------------------------------------------------
def test_5_6_1_4_an_existing_entity_is_already_exists(t):
    t.create({"id": "urn:ngsi-ld:Shop:1", "type": "Shop", "stock": prop(1)})
    r = t.req("POST", "/entities", json={"id": "urn:ngsi-ld:Shop:1", "type": "Kiosk"})
    assert_problem(r, 409, "AlreadyExists")
    # nothing of the second create was applied
    assert t.ok("/entities/urn:ngsi-ld:Shop:1")["type"] == "Shop"


def test_5_6_1_4_the_same_id_in_another_tenant_is_not_already_exists(t, polis, ctx_url):
    t.create({"id": "urn:ngsi-ld:Shop:1", "type": "Shop"})
    T(polis, ctx_url).create({"id": "urn:ngsi-ld:Shop:1", "type": "Shop"})


def test_5_6_1_5_the_answer_locates_the_new_entity(t):
    r = t.create({"id": "urn:ngsi-ld:Shop:a/b", "type": "Shop"})
    loc = r.headers["Location"]
    assert loc.startswith("/ngsi-ld/v1/entities/")
    assert urllib.parse.unquote(loc.rsplit("/", 1)[-1]) == "urn:ngsi-ld:Shop:a/b"
    assert t.ok(loc[len("/ngsi-ld/v1"):])["id"] == "urn:ngsi-ld:Shop:a/b"


BAD_IDS = ["notauri", "1abc:x", ":x", "urn:", "a b:c", "http://x y"]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_5_5_4_create_with_an_id_that_is_not_a_uri_is_bad_request_data(t, bad):
    assert_problem(t.req("POST", "/entities", json={"id": bad, "type": "Shop"}), 400,
                   "BadRequestData")


@pytest.mark.parametrize("body", [{"type": "Shop"}, {"id": "urn:ngsi-ld:Shop:1"},
                                  {"id": 5, "type": "Shop"}, {"id": "urn:ngsi-ld:Shop:1",
                                                              "type": 5}])
def test_5_5_4_create_without_a_valid_id_or_type_is_bad_request_data(t, body):
    assert_problem(t.req("POST", "/entities", json=body), 400, "BadRequestData")


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_5_6_6_4_and_5_7_1_4_a_path_id_that_is_not_a_uri_is_bad_request_data(t, method):
    shops(t)
    assert_problem(t.req(method, "/entities/notauri"), 400, "BadRequestData")
    assert_problem(t.req(method, "/entities/" + urllib.parse.quote("a b:c", safe="")), 400,
                   "BadRequestData")


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_5_6_6_4_and_5_7_1_4_an_unknown_entity_is_resource_not_found(t, method):
    shops(t)
    assert_problem(t.req(method, "/entities/urn:ngsi-ld:Shop:none"), 404, "ResourceNotFound")


@pytest.mark.parametrize("method", ["GET", "DELETE"])
def test_5_6_6_4_and_5_7_1_4_an_entity_of_another_type_is_resource_not_found(t, method):
    shops(t)
    r = t.req(method, "/entities/urn:ngsi-ld:Shop:1", params={"type": "Kiosk"})
    assert_problem(r, 404, "ResourceNotFound")
    assert t.get("/entities/urn:ngsi-ld:Shop:1").status_code == 200, "the entity was deleted"
    # the matching type (also in a 4.17 selection) selects it
    assert t.req(method, "/entities/urn:ngsi-ld:Shop:1",
                 params={"type": "Kiosk,Shop"}).status_code in (200, 204)


def test_5_6_6_4_delete_removes_the_entity_and_the_id_can_be_created_again(t):
    shops(t)
    assert t.req("DELETE", "/entities/urn:ngsi-ld:Shop:1").status_code == 204
    assert_problem(t.get("/entities/urn:ngsi-ld:Shop:1"), 404, "ResourceNotFound")
    assert_problem(t.req("DELETE", "/entities/urn:ngsi-ld:Shop:1"), 404, "ResourceNotFound")
    assert "urn:ngsi-ld:Shop:1" not in [e["id"] for e in t.ok("/entities", type="Shop")]
    t.create({"id": "urn:ngsi-ld:Shop:1", "type": "Shop", "stock": prop(9)})
    got = t.ok("/entities/urn:ngsi-ld:Shop:1")
    assert got["stock"]["value"] == 9 and "owner" not in got


def test_5_7_1_4_attrs_the_entity_has_none_of_is_resource_not_found(t):
    shops(t)
    assert_problem(t.get("/entities/urn:ngsi-ld:Shop:2", attrs="owner"), 404,
                   "ResourceNotFound")
    got = t.ok("/entities/urn:ngsi-ld:Shop:2", attrs="owner,stock")
    assert set(got) == {"id", "type", "stock"}


def test_5_7_1_4_geometry_property_without_geo_json_is_bad_request_data(t):
    shops(t)
    assert_problem(t.get("/entities/urn:ngsi-ld:Kiosk:1", geometryProperty="spot"), 400,
                   "BadRequestData")


def test_5_7_1_4_and_5_6_6_4_type_selection_of_a_multi_typed_entity_4_17(t):
    t.create({"id": "urn:ngsi-ld:Shop:m", "type": ["Shop", "Kiosk"], "stock": prop(1)})
    for sel, want in (("Shop|Park", 200), ("Shop;Kiosk", 200), ("(Shop;Kiosk)|Park", 200),
                      ("Shop;Park", 404), ("Park", 404)):
        assert t.get("/entities/urn:ngsi-ld:Shop:m", type=sel).status_code == want, sel
    assert_problem(t.req("DELETE", "/entities/urn:ngsi-ld:Shop:m", params={"type": "Shop;Park"}),
                   404, "ResourceNotFound")
    assert t.req("DELETE", "/entities/urn:ngsi-ld:Shop:m",
                 params={"type": "Kiosk;Shop"}).status_code == 204
    assert_problem(t.get("/entities/urn:ngsi-ld:Shop:m"), 404, "ResourceNotFound")


def test_5_7_7_a_multi_typed_entity_counts_under_each_of_its_types(t):
    t.create({"id": "urn:ngsi-ld:Shop:m", "type": ["Shop", "Kiosk"], "stock": prop(1)})
    for name in ("Shop", "Kiosk"):
        info = t.ok("/types/" + name)
        assert info["entityCount"] == 1
        assert [a["attributeName"] for a in info["attributeDetails"]] == ["stock"]
    assert sorted(t.ok("/attributes/stock")["typeNames"]) == ["Kiosk", "Shop"]
    assert t.ok("/attributes/stock")["attributeCount"] == 1
