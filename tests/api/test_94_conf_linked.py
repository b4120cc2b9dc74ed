# SPDX-License-Identifier: Apache-2.0
"""NGSI-LD V1.9.1 conformance: the Attribute Projection Language (4.21: attrs, pick, omit,
`attr{...}`), Linked Entity Retrieval (4.5.23: join, joinLevel, containedBy) on Retrieve Entity
(5.7.1) and Query Entities (5.7.2), expandValues and jsonKeys (6.4.3.2)."""
import uuid

import pytest
import requests

from conftest import assert_problem

LD = "application/ld+json"


def uid(kind):
    return f"urn:ngsi-ld:{kind}:{uuid.uuid4().hex[:12]}"


def create(api, e):
    r = requests.post(f"{api}/entities", json=e)
    assert r.status_code == 201, r.text
    return e["id"]


def rel(obj, **extra):
    d = {"type": "Relationship", "object": obj}
    d.update(extra)
    return d


def prop(v, **extra):
    d = {"type": "Property", "value": v}
    d.update(extra)
    return d


@pytest.fixture
def graph(api):
    """A vehicle parked at a parking operated by a company; the parking points back at the
    vehicle (a cycle); the vehicle has an owner that is not held locally."""
    t = uuid.uuid4().hex[:8]
    v, p, c = uid("Vehicle"), uid("OffStreetParking"), uid("Company")
    missing = uid("Person")
    create(api, {"id": c, "type": f"Company{t}", "name": prop("BigParkingCorp")})
    create(api, {"id": p, "type": f"Parking{t}", "name": prop("Top Parking"),
                 "operatedBy": rel(c), "hosts": rel(v)})
    create(api, {"id": v, "type": f"Vehicle{t}", "brandName": prop("Mercedes"),
                 "isParked": rel(p, objectType=f"Parking{t}",
                                 observedAt="2017-07-29T12:00:04Z"),
                 "owner": rel(missing)})
    return {"v": v, "p": p, "c": c, "missing": missing, "t": t}


def get(api, eid, params, **kw):
    return requests.get(f"{api}/entities/{eid}", params=params, **kw)


# ------------------------------------------------------------------------------------------------
# 4.21 Attribute Projection Language
# ------------------------------------------------------------------------------------------------
def test_4_21_pick_comma_and_pipe_are_both_or_operators(api, graph):
    a = get(api, graph["v"], {"pick": "brandName,owner"})
    b = get(api, graph["v"], {"pick": "brandName|owner"})
    assert a.status_code == b.status_code == 200
    assert set(a.json()) == set(b.json()) == {"brandName", "owner"}


@pytest.mark.parametrize("value", ["brandName{", "brandName}", "isParked{name", "isParked{}",
                                   "{name}", "brandName,,owner", "brandName,", ",brandName",
                                   "isParked{name}owner", "isParked{name}{operatedBy}",
                                   "id{name}", "bad name", "isParked{na me}"])
def test_4_21_malformed_projection_is_bad_request(api, graph, value):
    for param in ("pick", "omit"):
        r = get(api, graph["v"], {param: value, "join": "inline"})
        assert_problem(r, 400, "BadRequestData")
    r = requests.get(f"{api}/entities", params={"type": f"Vehicle{graph['t']}", "pick": value,
                                                "join": "inline"})
    assert_problem(r, 400, "BadRequestData")


def test_4_21_pick_with_omit_is_bad_request(api, graph):
    assert_problem(get(api, graph["v"], {"pick": "brandName", "omit": "owner"}), 400,
                   "BadRequestData")
    r = requests.get(f"{api}/entities", params={"type": f"Vehicle{graph['t']}",
                                                "pick": "brandName", "omit": "owner"})
    assert_problem(r, 400, "BadRequestData")


def test_4_21_attrs_takes_no_entity_members(api, graph):
    assert_problem(get(api, graph["v"], {"attrs": "id"}), 400, "BadRequestData")
    assert_problem(get(api, graph["v"], {"attrs": "brandName,type"}), 400, "BadRequestData")


def test_4_21_pick_keeps_members_and_attributes(api, graph):
    r = get(api, graph["v"], {"pick": "id,brandName"})
    assert r.status_code == 200
    assert r.json() == {"id": graph["v"], "brandName": {"type": "Property", "value": "Mercedes"}}


def test_4_21_omit_removes_members(api, graph):
    r = get(api, graph["v"], {"omit": "type,owner,isParked"})
    assert r.status_code == 200
    assert r.json() == {"id": graph["v"], "brandName": {"type": "Property", "value": "Mercedes"}}


def test_4_21_nested_pick_projects_the_linked_entity(api, graph):
    r = get(api, graph["v"], {"pick": "isParked{name}", "join": "inline"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"isParked"}
    assert body["isParked"]["object"] == graph["p"]
    assert body["isParked"]["entity"] == {"name": {"type": "Property", "value": "Top Parking"}}


def test_4_21_nested_omit_removes_within_the_linked_entity_only(api, graph):
    r = get(api, graph["v"], {"omit": "isParked{name,hosts}", "join": "inline"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert "isParked" in body and "brandName" in body
    ent = body["isParked"]["entity"]
    assert ent["id"] == graph["p"] and "operatedBy" in ent
    assert "name" not in ent and "hosts" not in ent


# ------------------------------------------------------------------------------------------------
# 5.7.1.4 Retrieve Entity: which projections answer ResourceNotFound
# ------------------------------------------------------------------------------------------------
def test_5_7_1_4_attrs_matching_no_attribute_is_resource_not_found(api, graph):
    assert_problem(get(api, graph["v"], {"attrs": "nothingHere"}), 404, "ResourceNotFound")
    r = get(api, graph["v"], {"attrs": "nothingHere,brandName"})
    assert r.status_code == 200
    assert set(r.json()) == {"id", "type", "brandName"}
    # the same on the tree path (keyValues, ld+json)
    assert_problem(get(api, graph["v"], {"attrs": "nothingHere", "format": "keyValues"},
                       headers={"Accept": LD}), 404, "ResourceNotFound")


def test_5_7_1_4_pick_matching_no_attribute_is_not_an_error(api, graph):
    # only the Attribute list (attrs) is a match condition; pick only reduces the entity
    r = get(api, graph["v"], {"pick": "nothingHere"})
    assert r.status_code == 200
    assert r.json() == {}


def test_5_7_1_4_linked_projection_without_join_is_bad_request(api, graph):
    for param in ("pick", "omit", "attrs"):
        assert_problem(get(api, graph["v"], {param: "isParked{name}"}), 400, "BadRequestData")
        assert_problem(get(api, graph["v"], {param: "isParked{name}", "join": "@none"}), 400,
                       "BadRequestData")


def test_5_7_1_4_projection_deeper_than_join_level_is_bad_request(api, graph):
    deep = "isParked{operatedBy{name}}"
    assert_problem(get(api, graph["v"], {"pick": deep, "join": "inline"}), 400, "BadRequestData")
    r = get(api, graph["v"], {"pick": deep, "join": "inline", "joinLevel": "2"})
    assert r.status_code == 200, r.text
    ent = r.json()["isParked"]["entity"]
    assert ent == {"operatedBy": {"type": "Relationship", "object": graph["c"],
                                  "entity": {"name": {"type": "Property",
                                                      "value": "BigParkingCorp"}}}}


# ------------------------------------------------------------------------------------------------
# 5.7.2.5 Query Entities: no empty objects for entities the projection emptied
# ------------------------------------------------------------------------------------------------
def test_5_7_2_5_query_leaves_out_entities_pick_empties(api, graph):
    t = graph["t"]
    r = requests.get(f"{api}/entities", params={"type": f"Vehicle{t},Parking{t}",
                                                "pick": "brandName", "count": "true"})
    assert r.status_code == 200
    assert r.json() == [{"brandName": {"type": "Property", "value": "Mercedes"}}]
    assert r.headers["NGSILD-Results-Count"] == "1"


def test_5_7_2_5_query_leaves_out_entities_omit_empties(api, graph):
    t = graph["t"]
    r = requests.get(f"{api}/entities", params={"type": f"Company{t}", "omit": "id,type,name"})
    assert r.status_code == 200
    assert r.json() == []
    r = requests.get(f"{api}/entities", params={"type": f"Company{t}", "omit": "type,name"})
    assert r.json() == [{"id": graph["c"]}]


def test_5_7_2_5_pick_with_members_keeps_every_match(api, graph):
    t = graph["t"]
    r = requests.get(f"{api}/entities", params={"type": f"Vehicle{t},Parking{t}",
                                                "pick": "id,brandName"})
    assert r.status_code == 200
    assert sorted(r.json(), key=lambda e: e["id"]) == sorted(
        [{"id": graph["v"], "brandName": {"type": "Property", "value": "Mercedes"}},
         {"id": graph["p"]}], key=lambda e: e["id"])


# ------------------------------------------------------------------------------------------------
# 4.5.23 Linked Entity Retrieval on Retrieve Entity
# ------------------------------------------------------------------------------------------------
def test_4_5_23_2_inline_adds_entity_sub_attribute(api, graph):
    r = get(api, graph["v"], {"join": "inline"})
    assert r.status_code == 200, r.text
    body = r.json()
    ip = body["isParked"]
    assert ip["object"] == graph["p"] and ip["observedAt"] == "2017-07-29T12:00:04Z"
    assert ip["entity"]["id"] == graph["p"]
    assert ip["entity"]["type"] == f"Parking{graph['t']}"
    assert ip["entity"]["name"] == {"type": "Property", "value": "Top Parking"}
    # joinLevel defaults to 1: the parking's own relationships are not followed
    assert "entity" not in ip["entity"]["operatedBy"]
    # a target not held locally stays a plain relationship
    assert body["owner"] == {"type": "Relationship", "object": graph["missing"]}


def test_4_5_23_2_inline_concise(api, graph):
    r = get(api, graph["v"], {"join": "inline", "format": "concise"})
    assert r.status_code == 200
    ent = r.json()["isParked"]["entity"]
    assert ent["name"] == "Top Parking"
    assert ent["operatedBy"] == {"object": graph["c"]}


def test_4_5_23_2_inline_simplified_has_no_sub_attributes(api, graph):
    r = get(api, graph["v"], {"join": "inline", "format": "keyValues"})
    assert r.status_code == 200
    assert r.json()["isParked"] == graph["p"]


def test_4_5_23_2_inline_multi_object_and_list_relationship(api, graph):
    trip = create(api, {"id": uid("Trip"), "type": "Trip",
                        "passengers": rel([graph["c"], graph["missing"], graph["p"]]),
                        "route": {"type": "ListRelationship",
                                  "objectList": [{"object": graph["p"]},
                                                 {"object": graph["c"]}]}})
    r = get(api, trip, {"join": "inline"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [e["id"] for e in body["passengers"]["entity"]] == [graph["c"], graph["p"]]
    assert [e["id"] for e in body["route"]["entityList"]] == [graph["p"], graph["c"]]


def test_4_5_23_2_inline_guards_against_cycles(api, graph):
    r = get(api, graph["v"], {"join": "inline", "joinLevel": "3"})
    assert r.status_code == 200
    park = r.json()["isParked"]["entity"]
    # vehicle -> parking -> vehicle: the vehicle was encountered already
    assert park["hosts"] == {"type": "Relationship", "object": graph["v"]}
    # parking -> company is level 2
    assert park["operatedBy"]["entity"]["name"]["value"] == "BigParkingCorp"


def test_4_5_23_3_flat_answers_an_array(api, graph):
    r = get(api, graph["v"], {"join": "flat"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert isinstance(body, list)
    assert [e["id"] for e in body] == [graph["v"], graph["p"]]
    assert "entity" not in body[0]["isParked"]
    r = get(api, graph["v"], {"join": "flat", "joinLevel": "2"})
    assert [e["id"] for e in r.json()] == [graph["v"], graph["p"], graph["c"]]


def test_4_5_23_3_flat_lists_each_entity_once(api, graph):
    r = get(api, graph["v"], {"join": "flat", "joinLevel": "5"})
    ids = [e["id"] for e in r.json()]
    assert sorted(ids) == sorted({graph["v"], graph["p"], graph["c"]})


def test_4_5_23_3_flat_ld_json_each_entity_has_context(api, graph):
    r = get(api, graph["v"], {"join": "flat"}, headers={"Accept": LD})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith(LD)
    assert all("@context" in e for e in r.json())


def test_5_7_1_5_flat_geojson_is_a_feature_collection(api, graph):
    r = get(api, graph["v"], {"join": "flat"}, headers={"Accept": "application/geo+json"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "FeatureCollection"
    assert [f["id"] for f in body["features"]] == [graph["v"], graph["p"]]


def test_5_7_1_5_pick_applies_to_every_entity_of_the_payload(api, graph):
    r = get(api, graph["v"], {"join": "flat", "pick": "id,name,isParked"})
    assert r.status_code == 200
    assert r.json() == [
        {"id": graph["v"], "isParked": {"type": "Relationship", "object": graph["p"],
                                        "objectType": f"Parking{graph['t']}",
                                        "observedAt": "2017-07-29T12:00:04Z"}},
        {"id": graph["p"], "name": {"type": "Property", "value": "Top Parking"}}]


def test_4_5_23_contained_by_is_not_retrieved_again(api, graph):
    r = get(api, graph["v"], {"join": "inline", "containedBy": graph["p"]})
    assert r.status_code == 200
    assert "entity" not in r.json()["isParked"]
    r = get(api, graph["v"], {"join": "flat", "containedBy": f"{graph['c']},{graph['p']}"})
    assert [e["id"] for e in r.json()] == [graph["v"]]


@pytest.mark.parametrize("params", [{"join": "deep"}, {"join": ""},
                                    {"join": "inline", "joinLevel": "0"},
                                    {"join": "inline", "joinLevel": "-1"},
                                    {"join": "inline", "joinLevel": "x"},
                                    {"join": "inline", "joinLevel": "9"},
                                    {"join": "inline", "containedBy": "not a uri"},
                                    {"join": "inline", "containedBy": ""}])
def test_4_5_23_invalid_join_parameters_are_bad_request(api, graph, params):
    assert_problem(get(api, graph["v"], params), 400, "BadRequestData")
    q = dict(params, type=f"Vehicle{graph['t']}")
    assert_problem(requests.get(f"{api}/entities", params=q), 400, "BadRequestData")


def test_4_5_23_join_none_is_the_plain_entity(api, graph):
    a = get(api, graph["v"], {"join": "@none"})
    b = get(api, graph["v"], {})
    assert a.status_code == 200 and a.json() == b.json()


# ------------------------------------------------------------------------------------------------
# 4.5.23 on Query Entities (5.7.2)
# ------------------------------------------------------------------------------------------------
def test_5_7_2_5_query_inline(api, graph):
    r = requests.get(f"{api}/entities", params={"type": f"Vehicle{graph['t']}",
                                                "join": "inline"})
    assert r.status_code == 200, r.text
    (v,) = r.json()
    assert v["isParked"]["entity"]["id"] == graph["p"]


def test_5_7_2_5_query_flat_appends_linked_entities_once(api, graph):
    t = graph["t"]
    r = requests.get(f"{api}/entities", params={"type": f"Vehicle{t},Parking{t}",
                                                "join": "flat", "count": "true"})
    assert r.status_code == 200, r.text
    ids = [e["id"] for e in r.json()]
    # the vehicle and the parking are matches; the company is appended once
    assert sorted(ids) == sorted([graph["v"], graph["p"], graph["c"]])
    assert ids[-1] == graph["c"]
    assert r.headers["NGSILD-Results-Count"] == "2"


def test_5_7_2_5_query_nested_projection(api, graph):
    r = requests.get(f"{api}/entities", params={"type": f"Vehicle{graph['t']}",
                                                "pick": "isParked{name}", "join": "flat"})
    assert r.status_code == 200, r.text
    assert r.json()[1] == {"name": {"type": "Property", "value": "Top Parking"}}
    r = requests.get(f"{api}/entities", params={"type": f"Vehicle{graph['t']}",
                                                "pick": "isParked{name}"})
    assert_problem(r, 400, "BadRequestData")


def test_5_7_2_5_query_post_inline(api, graph):
    body = {"type": "Query", "entities": [{"type": f"Vehicle{graph['t']}"}], "join": "inline"}
    r = requests.post(f"{api}/entityOperations/query", json=body)
    assert r.status_code == 200, r.text
    assert r.json()[0]["isParked"]["entity"]["id"] == graph["p"]


# ------------------------------------------------------------------------------------------------
# expandValues and jsonKeys (6.4.3.2, 5.7.2.4: JSON-LD type coercion of q values)
# ------------------------------------------------------------------------------------------------
@pytest.fixture
def vocab_car(api, ctx_server):
    t = uuid.uuid4().hex[:8]
    ctx_path = f"/linked-{t}.jsonld"
    ctx_server.docs[ctx_path] = {"@context": {"Commercial": "https://example.org/cat#Commercial",
                                              "category": "https://example.org/category"}}
    link = f'<{ctx_server.url(ctx_path)}>; rel="http://www.w3.org/ns/json-ld#context"; ' \
           'type="application/ld+json"'
    cid = uid("Car")
    r = requests.post(f"{api}/entities", headers={"Link": link}, json={
        "id": cid, "type": f"Car{t}",
        "category": {"type": "VocabProperty", "vocab": "Commercial"},
        "kind": {"type": "Property", "value": "https://example.org/cat#Commercial"},
        "label": {"type": "Property", "value": "Commercial"}})
    assert r.status_code == 201, r.text
    return {"id": cid, "type": f"Car{t}", "link": link}


def q_ids(api, car, **params):
    params = dict(params, type=car["type"])
    r = requests.get(f"{api}/entities", params=params, headers={"Link": car["link"]})
    assert r.status_code == 200, r.text
    return [e["id"] for e in r.json()]


def test_6_4_3_2_expand_values_expands_q_values_of_listed_attributes(api, vocab_car):
    c = vocab_car
    assert q_ids(api, c, q="category==Commercial") == []
    assert q_ids(api, c, q="category==Commercial", expandValues="category") == [c["id"]]
    assert q_ids(api, c, q='category=="Commercial"', expandValues="category") == [c["id"]]
    assert q_ids(api, c, q="kind==Commercial", expandValues="kind") == [c["id"]]
    assert q_ids(api, c, q="category==Private,Commercial", expandValues="category") == [c["id"]]
    # only the listed attributes' values are expanded
    assert q_ids(api, c, q="label==Commercial", expandValues="category") == [c["id"]]
    assert q_ids(api, c, q="label==Commercial", expandValues="label") == []
    r = requests.post(f"{api}/entityOperations/query", headers={"Link": c["link"]},
                      json={"type": "Query", "entities": [{"type": c["type"]}],
                            "q": "category==Commercial", "expandValues": "category"})
    assert r.status_code == 200 and [e["id"] for e in r.json()] == [c["id"]]


def test_6_4_3_2_json_keys_values_are_never_expanded(api, vocab_car):
    c = vocab_car
    assert q_ids(api, c, q="kind==Commercial", expandValues="kind", jsonKeys="kind") == []
    assert q_ids(api, c, q="label==Commercial", expandValues="label", jsonKeys="label") == \
        [c["id"]]


@pytest.mark.parametrize("param", ["expandValues", "jsonKeys"])
@pytest.mark.parametrize("value", ["", "a,,b", "bad name", "a{b}"])
def test_6_4_3_2_expand_values_and_json_keys_are_attribute_names(api, vocab_car, param, value):
    r = requests.get(f"{api}/entities", params={"type": vocab_car["type"], param: value})
    assert_problem(r, 400, "BadRequestData")


@pytest.mark.parametrize("param", ["expandValues", "jsonKeys"])
def test_6_5_3_1_retrieve_entity_takes_no_expand_values_or_json_keys(api, vocab_car, param):
    # not in Table 6.5.3.1-1 (Retrieve Entity has no q): an unknown parameter (6.3.7)
    r = requests.get(f"{api}/entities/{vocab_car['id']}", params={param: "category"})
    assert_problem(r, 400, "InvalidRequest")


# ------------------------------------------------------------------------------------------------
# notification.join / joinLevel (5.2.14, 4.5.23)
# ------------------------------------------------------------------------------------------------
def make_sub(api, receiver_url, etype, **notification):
    notification["endpoint"] = {"uri": receiver_url}
    r = requests.post(f"{api}/subscriptions", json={
        "type": "Subscription", "entities": [{"type": etype}], "notification": notification})
    assert r.status_code == 201, r.text
    return r.headers["Location"].rsplit("/", 1)[1]


def touch(api, eid):
    r = requests.patch(f"{api}/entities/{eid}/attrs",
                       json={"brandName": prop("Mercedes " + uuid.uuid4().hex[:4])})
    assert r.status_code == 204, r.text


def test_5_2_14_notification_join_inline(api, graph, receiver):
    path = "/linked/" + uuid.uuid4().hex
    sid = make_sub(api, receiver.url(path), f"Vehicle{graph['t']}", join="inline",
                   joinLevel=2)
    try:
        got = requests.get(f"{api}/subscriptions/{requests.utils.quote(sid, safe='')}")
        assert got.status_code == 200
        assert got.json()["notification"]["join"] == "inline"
        assert got.json()["notification"]["joinLevel"] == 2
        touch(api, graph["v"])
        recs = receiver.wait_for_entities(path, 1)
        v = recs[-1]["body"]["data"][0]
        assert v["id"] == graph["v"]
        park = v["isParked"]["entity"]
        assert park["id"] == graph["p"]
        assert park["operatedBy"]["entity"]["id"] == graph["c"]
        assert "entity" not in park["hosts"]  # the vehicle itself: a cycle
    finally:
        requests.delete(f"{api}/subscriptions/{requests.utils.quote(sid, safe='')}")


def test_5_2_14_notification_join_flat(api, graph, receiver):
    path = "/linked/" + uuid.uuid4().hex
    sid = make_sub(api, receiver.url(path), f"Vehicle{graph['t']}", join="flat",
                   pick=["id", "brandName", "name", "isParked"])
    try:
        touch(api, graph["v"])
        recs = receiver.wait_for_entities(path, 2)
        data = recs[-1]["body"]["data"]
        assert [e["id"] for e in data] == [graph["v"], graph["p"]]
        assert set(data[0]) == {"id", "brandName", "isParked"}
        assert data[1] == {"id": graph["p"],
                           "name": {"type": "Property", "value": "Top Parking"}}
    finally:
        requests.delete(f"{api}/subscriptions/{requests.utils.quote(sid, safe='')}")


def test_5_2_14_notification_pick_projects_into_linked_entities(api, graph, receiver):
    # 4.21 in notification.pick: "isParked{name}" keeps only name in the Linked Entity
    path = "/linked/" + uuid.uuid4().hex
    sid = make_sub(api, receiver.url(path), f"Vehicle{graph['t']}", join="inline",
                   pick=["brandName", "isParked{name}"])
    q = requests.utils.quote(sid, safe='')
    try:
        got = requests.get(f"{api}/subscriptions/{q}")
        assert got.status_code == 200
        assert got.json()["notification"]["pick"] == ["brandName", "isParked{name}"]
        touch(api, graph["v"])
        v = receiver.wait_for_entities(path, 1)[-1]["body"]["data"][0]
        assert set(v) == {"brandName", "isParked"}  # pick is exact: no id, no type
        park = v["isParked"]["entity"]
        assert set(park) == {"name"}
    finally:
        requests.delete(f"{api}/subscriptions/{q}")


def test_5_2_14_notification_omit_in_linked_entity_keeps_the_relationship(api, graph, receiver):
    # 4.21: "isParked{operatedBy}" in omit removes operatedBy from the parking, not isParked
    path = "/linked/" + uuid.uuid4().hex
    sid = make_sub(api, receiver.url(path), f"Vehicle{graph['t']}", join="inline",
                   omit=["owner", "isParked{operatedBy,hosts}"])
    q = requests.utils.quote(sid, safe='')
    try:
        touch(api, graph["v"])
        v = receiver.wait_for_entities(path, 1)[-1]["body"]["data"][0]
        assert "owner" not in v and "brandName" in v
        park = v["isParked"]["entity"]
        assert set(park) - {"id", "type"} == {"name"}
        got = requests.get(f"{api}/subscriptions/{q}").json()
        assert got["notification"]["omit"] == ["owner", "isParked{operatedBy,hosts}"]
    finally:
        requests.delete(f"{api}/subscriptions/{q}")


@pytest.mark.parametrize("value", [["isParked{"], ["isParked{}"], ["{name}"], [""],
                                   ["brandName,"], ["type{name}"]])
def test_5_2_14_notification_pick_outside_the_4_21_grammar_is_bad_request(api, receiver, value):
    notification = {"pick": value, "endpoint": {"uri": receiver.url("/linked/x")}}
    r = requests.post(f"{api}/subscriptions", json={
        "type": "Subscription", "entities": [{"type": "T"}], "notification": notification})
    assert_problem(r, 400, "BadRequestData")


@pytest.mark.parametrize("member", [{"join": "deep"}, {"join": 1}, {"joinLevel": 0},
                                    {"joinLevel": 1.5}, {"joinLevel": "2"}, {"joinLevel": 9}])
def test_5_2_14_notification_join_invalid_is_bad_request(api, receiver, member):
    notification = dict(member, endpoint={"uri": receiver.url("/linked/x")})
    r = requests.post(f"{api}/subscriptions", json={
        "type": "Subscription", "entities": [{"type": "T"}], "notification": notification})
    assert_problem(r, 400, "BadRequestData")


# ------------------------------------------------------------------------------------------------
# 5.7.1.4 Retrieve Entity: the other "shall" statements
# ------------------------------------------------------------------------------------------------
def test_5_7_1_4_type_that_does_not_match_is_resource_not_found(api, graph):
    t = graph["t"]
    assert_problem(get(api, graph["v"], {"type": f"Parking{t}"}), 404, "ResourceNotFound")
    r = get(api, graph["v"], {"type": f"Parking{t}|Vehicle{t}"})
    assert r.status_code == 200 and r.json()["id"] == graph["v"]
    assert get(api, graph["v"], {"type": f"Vehicle{t}", "join": "flat"}).status_code == 200
    assert_problem(get(api, graph["v"], {"type": "(("}), 400, "BadRequestData")


def test_5_7_1_4_geometry_property_without_geojson_is_bad_request(api, graph):
    assert_problem(get(api, graph["v"], {"geometryProperty": "location"}), 400, "BadRequestData")
    r = get(api, graph["v"], {"geometryProperty": "location"},
            headers={"Accept": "application/geo+json"})
    assert r.status_code == 200 and r.json()["type"] == "Feature"


def test_5_2_23_query_body_join_pick_and_expand_values(api, graph):
    t = graph["t"]
    body = {"type": "Query", "entities": [{"type": f"Vehicle{t}"}], "join": "flat",
            "joinLevel": 2, "pick": ["id", "isParked{id,operatedBy{name}}"]}
    r = requests.post(f"{api}/entityOperations/query", json=body)
    assert r.status_code == 200, r.text
    assert r.json()[1:] == [
        {"id": graph["p"], "operatedBy": {"type": "Relationship", "object": graph["c"]}},
        {"name": {"type": "Property", "value": "BigParkingCorp"}}]
    body = {"type": "Query", "entities": [{"type": f"Vehicle{t}"}], "join": "inline",
            "containedBy": [graph["p"]]}
    r = requests.post(f"{api}/entityOperations/query", json=body)
    assert r.status_code == 200 and "entity" not in r.json()[0]["isParked"]
    for bad in ({"join": "deep"}, {"join": 1}, {"joinLevel": 0}, {"joinLevel": "1"},
                {"containedBy": "urn:a:b"}, {"containedBy": []}, {"pick": []},
                {"pick": ["id"], "omit": ["type"]}, {"pick": ["isParked{name}"]},
                {"expandValues": ["a"]}, {"jsonKeys": "a{b}"}):
        b = dict({"type": "Query", "entities": [{"type": f"Vehicle{t}"}]}, **bad)
        assert_problem(requests.post(f"{api}/entityOperations/query", json=b), 400,
                       "BadRequestData")


def test_5_7_1_4_geojson_prefer_body_json_moves_context_to_link(api, graph):
    geo = {"Accept": "application/geo+json"}
    r = get(api, graph["v"], {}, headers=geo)
    assert r.status_code == 200 and "@context" in r.json()
    r = get(api, graph["v"], {}, headers=dict(geo, Prefer="body=json"))
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/geo+json")
    assert "@context" not in r.json() and r.json()["type"] == "Feature"
    assert 'rel="http://www.w3.org/ns/json-ld#context"' in r.headers["Link"]
    r = get(api, graph["v"], {"join": "flat"}, headers=dict(geo, Prefer="body=json"))
    assert r.json()["type"] == "FeatureCollection" and "@context" not in r.json()
    assert "Link" in r.headers


def test_4_5_23_join_level_and_contained_by_need_join(api, graph):
    plain = get(api, graph["v"], {}).json()
    r = get(api, graph["v"], {"joinLevel": "3", "containedBy": graph["p"]})
    assert r.status_code == 200 and r.json() == plain


def test_5_7_2_5_query_flat_geojson_is_one_feature_collection(api, graph):
    r = requests.get(f"{api}/entities", params={"type": f"Vehicle{graph['t']}", "join": "flat"},
                     headers={"Accept": "application/geo+json"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "FeatureCollection"
    assert [f["id"] for f in body["features"]] == [graph["v"], graph["p"]]
    assert all(f["type"] == "Feature" for f in body["features"])
