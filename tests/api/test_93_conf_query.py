# SPDX-License-Identifier: Apache-2.0
"""NGSI-LD V1.9.1 conformance of queries: URI parameters (6.3.7 and the URL parameter tables of
clause 6), the datasetId parameter (4.5.5, 5.7.1, 5.7.2), geo-queries with every georel and
geometry (4.10), and entity ordering (4.23). Choices: docs/conformance.md, "Queries"."""
import uuid

import pytest
import requests

from conftest import assert_problem

JS = {"Content-Type": "application/json"}
T = "urn:ngsi-ld:QConf:"


def new_id(kind="E"):
    return f"urn:ngsi-ld:{kind}:{uuid.uuid4().hex[:12]}"


def create(api, e):
    r = requests.post(api + "/entities", json=e, headers=JS)
    assert r.status_code == 201, r.text
    return e["id"]


@pytest.fixture
def one(api):
    """One entity of type QParam, for the parameter tests."""
    eid = create(api, {"id": new_id("QParam"), "type": "QParam",
                       "a": {"type": "Property", "value": 1}})
    return eid


# ---------------------------------------------------------------------------------------------
# URI parameters (6.3.7, clause 6 tables)
# ---------------------------------------------------------------------------------------------
def routes(api, eid):
    """(method, url, body) for one request of every resource and method, valid but for the
    parameters a test adds."""
    sid = "urn:ngsi-ld:Subscription:none"
    te = api + "/temporal/entities"
    return [
        ("GET", api + "/entities", None),
        ("POST", api + "/entities", {"id": new_id(), "type": "QParam"}),
        ("DELETE", api + "/entities", None),
        ("GET", api + "/entities/" + eid, None),
        ("PATCH", api + "/entities/" + eid, {"a": {"type": "Property", "value": 2}}),
        ("PUT", api + "/entities/" + eid, {"type": "QParam", "a": {"type": "Property", "value": 1}}),
        ("DELETE", api + "/entities/" + new_id(), None),
        ("POST", api + "/entities/" + eid + "/attrs", {"b": {"type": "Property", "value": 1}}),
        ("PATCH", api + "/entities/" + eid + "/attrs", {"a": {"type": "Property", "value": 1}}),
        ("PATCH", api + "/entities/" + eid + "/attrs/a", {"value": 1}),
        ("PUT", api + "/entities/" + eid + "/attrs/a", {"type": "Property", "value": 1}),
        ("DELETE", api + "/entities/" + eid + "/attrs/zz", None),
        ("POST", api + "/entityOperations/create", []),
        ("POST", api + "/entityOperations/upsert", []),
        ("POST", api + "/entityOperations/update", []),
        ("POST", api + "/entityOperations/delete", []),
        ("POST", api + "/entityOperations/merge", []),
        ("POST", api + "/entityOperations/query", {"type": "Query", "entities": [{"type": "QParam"}]}),
        ("GET", api + "/types", None),
        ("GET", api + "/types/QParam", None),
        ("GET", api + "/attributes", None),
        ("GET", api + "/attributes/a", None),
        ("GET", api + "/subscriptions", None),
        ("POST", api + "/subscriptions", {"type": "Subscription", "entities": [{"type": "X"}],
                                          "notification": {"endpoint": {"uri": "http://127.0.0.1:9/"}}}),
        ("GET", api + "/subscriptions/" + sid, None),
        ("PATCH", api + "/subscriptions/" + sid, {"description": "x"}),
        ("DELETE", api + "/subscriptions/" + sid, None),
        ("GET", te, None),
        ("POST", te, {"id": new_id(), "type": "QParam"}),
        ("GET", te + "/" + eid, None),
        ("DELETE", te + "/" + new_id(), None),
        ("POST", te + "/" + eid + "/attrs", {"a": [{"type": "Property", "value": 1}]}),
        ("DELETE", te + "/" + eid + "/attrs/zz", None),
        ("PATCH", te + "/" + eid + "/attrs/a/urn:x:1", {"value": 1}),
        ("DELETE", te + "/" + eid + "/attrs/a/urn:x:1", None),
        ("POST", api + "/temporal/entityOperations/query",
         {"type": "Query", "entities": [{"type": "QParam"}]}),
        ("GET", api + "/jsonldContexts", None),
        ("POST", api + "/jsonldContexts", {"@context": {"x": "urn:x"}}),
        ("GET", api + "/jsonldContexts/none", None),
        ("DELETE", api + "/jsonldContexts/none", None),
    ]


def send(method, url, body, params):
    return requests.request(method, url, params=params,
                            json=body if body is not None else None,
                            headers=JS if body is not None else {})


def test_6_3_7_unknown_uri_parameter_is_invalid_request_on_every_route(api, one):
    for method, url, body in routes(api, one):
        r = send(method, url, body, {"noSuchParameter": "1"})
        b = assert_problem(r, 400, "InvalidRequest")
        assert "noSuchParameter" in b["detail"], (method, url, b)


def test_6_3_7_a_parameter_of_another_operation_is_unknown(api, one):
    # lastN belongs to the temporal API, noOverwrite-style options to appends, details to /types
    assert_problem(requests.get(api + "/entities", params={"type": "QParam", "lastN": "1"}),
                   400, "InvalidRequest")
    assert_problem(requests.get(api + "/entities/" + one, params={"details": "true"}),
                   400, "InvalidRequest")
    assert_problem(requests.delete(api + "/entities/" + new_id(), params={"options": "keyValues"}),
                   400, "InvalidRequest")


def test_6_3_7_repeated_parameter_is_invalid_request(api):
    r = requests.get(api + "/entities?type=QParam&type=Other")
    b = assert_problem(r, 400, "InvalidRequest")
    assert "type" in b["detail"]


def test_6_3_7_invalid_options_or_format_is_invalid_request(api, one):
    cases = [
        ("GET", api + "/entities", {"type": "QParam", "options": "fancy"}),
        ("GET", api + "/entities", {"type": "QParam", "options": "keyValues,fancy"}),
        ("GET", api + "/entities", {"type": "QParam", "options": "keyValues,"}),
        ("GET", api + "/entities", {"type": "QParam", "format": "xml"}),
        ("GET", api + "/entities", {"type": "QParam", "format": "keyValues,concise"}),
        ("GET", api + "/entities", {"type": "QParam", "format": ""}),
        ("GET", api + "/entities/" + one, {"options": "noOverwrite"}),
        ("GET", api + "/entities/" + one, {"format": "sysAttrs"}),
        ("GET", api + "/temporal/entities/" + one, {"format": "fancy"}),
        ("GET", api + "/temporal/entities", {"type": "QParam", "options": "fancy"}),
    ]
    for method, url, params in cases:
        b = assert_problem(requests.request(method, url, params=params), 400, "InvalidRequest")
        assert "options" in b["detail"] or "format" in b["detail"], b
    r = requests.post(api + "/entities/" + one + "/attrs", params={"options": "keyValues"},
                      json={"b": {"type": "Property", "value": 1}}, headers=JS)
    assert_problem(r, 400, "InvalidRequest")
    r = requests.post(api + "/entityOperations/upsert", params={"options": "noOverwrite"},
                      json=[], headers=JS)
    assert_problem(r, 400, "InvalidRequest")


def test_6_3_7_format_takes_precedence_over_options(api, one):
    r = requests.get(api + "/entities/" + one, params={"format": "normalized", "options": "keyValues"})
    assert r.status_code == 200 and r.json()["a"] == {"type": "Property", "value": 1}
    r = requests.get(api + "/entities/" + one, params={"format": "keyValues", "options": "concise"})
    assert r.status_code == 200 and r.json()["a"] == 1
    r = requests.get(api + "/entities", params={"type": "QParam", "id": one,
                                                "format": "simplified", "options": "normalized"})
    assert r.status_code == 200 and r.json()[0]["a"] == 1
    # options still adds sysAttrs next to a format
    r = requests.get(api + "/entities/" + one, params={"format": "keyValues", "options": "sysAttrs"})
    assert r.status_code == 200 and "createdAt" in r.json()


def test_6_3_7_valid_options_values_are_accepted(api, one):
    for o in ("keyValues", "simplified", "concise", "normalized", "sysAttrs", "keyValues,sysAttrs"):
        r = requests.get(api + "/entities/" + one, params={"options": o})
        assert r.status_code == 200, (o, r.text)
    # options=count (the pre-1.6 spelling of count=true) is not a 1.9.1 value
    assert_problem(requests.get(api + "/entities", params={"type": "QParam", "options": "count"}),
                   400, "InvalidRequest")


def test_6_3_7_spec_parameter_not_implemented_is_501(api, one):
    # entityMap (EntityMaps, 5.7.2) is defined by the spec but not implemented: 501, not ignored
    r = requests.get(api + "/entities", params={"type": "QParam", "entityMap": "true"})
    b = assert_problem(r, 501, "OperationNotSupported")
    assert "entityMap" in b["detail"]


def test_6_3_7_distributed_only_parameters_have_no_effect(api, one):
    # csf and splitEntities concern context source registrations, which Polis has none of
    base = requests.get(api + "/entities", params={"type": "QParam"}).json()
    for p in ({"csf": "x==1"}, {"splitEntities": "true"}, {"local": "true"}):
        r = requests.get(api + "/entities", params=dict(p, type="QParam"))
        assert r.status_code == 200 and r.json() == base, (p, r.text)


def test_6_3_7_non_ngsi_ld_routes_are_not_checked(polis):
    assert requests.get(polis.url + "/health", params={"x": "1"}).status_code == 200


# ---------------------------------------------------------------------------------------------
# datasetId (4.5.5; 5.7.1.4 Retrieve Entity, 5.7.2.4 Query Entities)
# ---------------------------------------------------------------------------------------------
@pytest.fixture
def multi(api):
    """An entity with a default and two datasetId instances of p, and a default-only q."""
    eid = create(api, {"id": new_id("QDs"), "type": "QDs",
                       "p": [{"type": "Property", "value": 0},
                             {"type": "Property", "value": 1, "datasetId": "urn:ds:one"},
                             {"type": "Property", "value": 2, "datasetId": "urn:ds:two"}],
                       "q": {"type": "Property", "value": "d"},
                       "r": {"type": "Property", "value": 9, "datasetId": "urn:ds:two"}})
    return eid


def query_one(api, eid, **params):
    r = requests.get(api + "/entities", params=dict(params, type="QDs", id=eid))
    assert r.status_code == 200, r.text
    assert len(r.json()) == 1
    return r.json()[0]


def test_5_7_2_4_query_datasetid_keeps_only_the_listed_instances(api, multi):
    e = query_one(api, multi, datasetId="urn:ds:one")
    # p keeps its urn:ds:one instance; q and r have none and are not returned
    assert e["p"] == {"type": "Property", "value": 1, "datasetId": "urn:ds:one"}
    assert "q" not in e and "r" not in e
    e = query_one(api, multi, datasetId="urn:ds:one,urn:ds:two")
    assert sorted(i["value"] for i in e["p"]) == [1, 2]
    assert e["r"]["value"] == 9 and "q" not in e


def test_5_7_2_4_query_datasetid_none_is_the_default_instance(api, multi):
    e = query_one(api, multi, datasetId="@none")
    assert e["p"] == {"type": "Property", "value": 0}
    assert e["q"]["value"] == "d" and "r" not in e
    e = query_one(api, multi, datasetId="@none,urn:ds:two", options="keyValues")
    assert e["p"] == {"dataset": {"@none": 0, "urn:ds:two": 2}}
    assert e["q"] == "d" and e["r"] == {"dataset": {"urn:ds:two": 9}}


def test_5_7_2_4_query_datasetid_filters_attributes_not_entities(api, multi):
    # an entity with no instance of the datasetId still matches the query (it is the Attribute
    # that is not returned, 5.7.2.4)
    e = query_one(api, multi, datasetId="urn:ds:none")
    assert set(e) == {"id", "type"}


def test_5_7_1_4_retrieve_datasetid(api, multi):
    r = requests.get(api + "/entities/" + multi, params={"datasetId": "urn:ds:two"})
    assert r.status_code == 200
    e = r.json()
    assert e["p"]["value"] == 2 and e["r"]["value"] == 9 and "q" not in e
    r = requests.get(api + "/entities/" + multi, params={"datasetId": "@none", "options": "concise"})
    assert r.status_code == 200 and r.json()["p"] == 0 and "r" not in r.json()
    # the ld+json and GeoJSON paths filter too
    r = requests.get(api + "/entities/" + multi, params={"datasetId": "urn:ds:one"},
                     headers={"Accept": "application/ld+json"})
    assert r.json()["p"]["value"] == 1 and "q" not in r.json()
    r = requests.get(api + "/entities/" + multi, params={"datasetId": "urn:ds:one"},
                     headers={"Accept": "application/geo+json"})
    assert r.json()["properties"]["p"]["value"] == 1 and "q" not in r.json()["properties"]


def test_4_5_5_datasetid_must_be_uris(api, multi):
    for bad in ("not a uri", "urn:ds:one,", "none"):
        assert_problem(requests.get(api + "/entities/" + multi, params={"datasetId": bad}),
                       400, "BadRequestData")
        assert_problem(requests.get(api + "/entities", params={"type": "QDs", "datasetId": bad}),
                       400, "BadRequestData")


def test_5_7_1_4_retrieve_with_type_selection(api, multi):
    assert requests.get(api + "/entities/" + multi, params={"type": "QDs"}).status_code == 200
    assert requests.get(api + "/entities/" + multi, params={"type": "Other|QDs"}).status_code == 200
    assert_problem(requests.get(api + "/entities/" + multi, params={"type": "Other"}),
                   404, "ResourceNotFound")
    assert_problem(requests.get(api + "/entities/" + multi, params={"type": "(QDs"}),
                   400, "BadRequestData")


# ---------------------------------------------------------------------------------------------
# Geo-queries: every georel with every geometry type (4.10), stored and as the query; the SQL
# path (GET /entities: SpatiaLite) and the in-memory evaluator (GET /temporal/entities, and
# subscriptions) must agree
# ---------------------------------------------------------------------------------------------
def sq(x0, y0, x1, y1):
    return [[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]


GEOMS = {
    "Point": [1, 1],
    "MultiPoint": [[1, 1], [3, 3]],
    "LineString": [[0, 1], [2, 1]],
    "MultiLineString": [[[0, 1], [2, 1]], [[0, 3], [2, 3]]],
    "Polygon": [sq(0, 0, 2, 2)],
    "MultiPolygon": [[sq(0, 0, 2, 2)], [sq(4, 4, 6, 6)]],
}
# extra query geometries: a polygon around everything, one overlapping the squares' corner,
# lines crossing them, and far away ones
EXTRA = {
    "big": ("Polygon", [sq(-1, -1, 10, 10)]),
    "corner": ("Polygon", [sq(1, 1, 5, 5)]),
    "cross": ("LineString", [[1, -1], [1, 10]]),
    "far": ("MultiPoint", [[50, 50], [51, 51]]),
    "farpoly": ("MultiPolygon", [[sq(50, 50, 51, 51)]]),
}
RELS = ["within", "contains", "intersects", "disjoint", "overlaps", "equals"]


def geo_params(rel, gtype, coords):
    import json as _json
    return {"georel": rel, "geometry": gtype, "coordinates": _json.dumps(coords)}


@pytest.fixture(scope="module")
def geo_set(polis):
    api = polis.api
    kind = "QGeo" + uuid.uuid4().hex[:8]
    ids = {}
    for name, coords in GEOMS.items():
        eid = f"urn:ngsi-ld:{kind}:{name}"
        create(api, {"id": eid, "type": kind,
                     "location": {"type": "GeoProperty",
                                  "value": {"type": name, "coordinates": coords}}})
        ids[eid] = name
    return api, kind, ids


def matched(api, kind, ids, params):
    """(SQL answer, in-memory answer): the stored geometry names matching."""
    r = requests.get(api + "/entities", params=dict(params, type=kind, pick="id", limit="100"))
    assert r.status_code == 200, (params, r.text)
    sql = {ids[e["id"]] for e in r.json()}
    t = requests.get(api + "/temporal/entities",
                     params=dict(params, type=kind, timerel="before", timeproperty="modifiedAt",
                                 timeAt="2200-01-01T00:00:00Z", limit="100"))
    assert t.status_code == 200, (params, t.text)
    mem = {ids[e["id"]] for e in t.json()}
    return sql, mem


def relation_table(geo_set):
    api, kind, ids = geo_set
    table = {}
    queries = {n: (n, c) for n, c in GEOMS.items()}
    queries.update(EXTRA)
    for qname, (gtype, coords) in queries.items():
        for rel in RELS:
            sql, mem = matched(api, kind, ids, geo_params(rel, gtype, coords))
            assert sql == mem, f"{rel} {qname}: SQL {sorted(sql)} != in-memory {sorted(mem)}"
            table[rel, qname] = sql
    return table


@pytest.fixture(scope="module")
def rel_table(geo_set):
    return relation_table(geo_set)


def test_4_10_every_georel_and_geometry_sql_and_memory_agree(rel_table):
    assert len(rel_table) == len(RELS) * (len(GEOMS) + len(EXTRA))


def test_4_10_relations_of_a_geometry_with_itself(rel_table):
    for g in GEOMS:
        for rel in ("within", "contains", "intersects", "equals"):
            assert g in rel_table[rel, g], (rel, g)
        for rel in ("disjoint", "overlaps"):
            assert g not in rel_table[rel, g], (rel, g)


def test_4_10_within_and_contains_are_converse(rel_table):
    # within(stored A, query B) == contains(stored B, query A): target geometry first (4.10)
    for a in GEOMS:
        for b in GEOMS:
            assert (a in rel_table["within", b]) == (b in rel_table["contains", a]), (a, b)
            for rel in ("intersects", "equals", "overlaps", "disjoint"):
                assert (a in rel_table[rel, b]) == (b in rel_table[rel, a]), (rel, a, b)
            assert (a in rel_table["disjoint", b]) != (a in rel_table["intersects", b]), (a, b)


def test_4_10_known_relations(rel_table):
    every = set(GEOMS)
    assert rel_table["within", "big"] == every
    assert rel_table["contains", "big"] == set()
    assert rel_table["intersects", "big"] == every and rel_table["disjoint", "big"] == set()
    assert rel_table["disjoint", "far"] == every and rel_table["disjoint", "farpoly"] == every
    assert rel_table["intersects", "farpoly"] == set()
    # the square [0,2]^2: holds the point, the line (its interior inside), not the MultiPoint
    # with (3,3) outside, not the MultiLineString with y=3 outside
    assert rel_table["within", "Polygon"] == {"Point", "LineString", "Polygon"}
    # every stored geometry holds (1,1): on the lines' interiors, inside the squares
    assert rel_table["contains", "Point"] == every
    assert rel_table["equals", "Polygon"] == {"Polygon"}
    # the corner square [1,5]^2 overlaps both squares' areas, not the lines or points; the
    # MultiPoint (1,1),(3,3) is within it (a corner and an interior point)
    assert rel_table["overlaps", "corner"] == {"Polygon", "MultiPolygon"}
    assert rel_table["within", "corner"] == {"MultiPoint"}
    # the vertical line x=1 crosses the squares and the horizontal lines
    assert rel_table["intersects", "cross"] == every
    assert rel_table["overlaps", "cross"] == set()


def test_4_10_near_with_every_stored_geometry(geo_set):
    api, kind, ids = geo_set
    # from (1, -0.01): ~1.1 km south of the squares' bottom edge and of nothing else; the
    # point (1,1) and the lines at y=1 are ~112 km away
    near = lambda d: geo_params(d, "Point", [1, -0.01])
    sql, mem = matched(api, kind, ids, near("near;maxDistance==2000"))
    assert sql == mem == {"Polygon", "MultiPolygon"}
    sql, mem = matched(api, kind, ids, near("near;minDistance==2000"))
    assert sql == mem == set(GEOMS) - {"Polygon", "MultiPolygon"}
    sql, mem = matched(api, kind, ids, near("near;maxDistance==120000"))
    assert sql == mem == set(GEOMS)
    # from (1, 2.5): between the MultiLineString's two lines, 0.5 degree (~55 km) from both
    sql, mem = matched(api, kind, ids, geo_params("near;maxDistance==60000", "Point", [1, 2.5]))
    assert sql == mem == {"MultiLineString", "Polygon", "MultiPolygon"}
    # inside a polygon the distance is 0
    sql, mem = matched(api, kind, ids, geo_params("near;minDistance==1", "Point", [1.5, 1.5]))
    assert "Polygon" not in sql and sql == mem


# ---------------------------------------------------------------------------------------------
# Entity ordering (4.23; 5.7.2 orderBy, collation, orderFrom, orderGeometry)
# ---------------------------------------------------------------------------------------------
def prop(v, **sub):
    p = {"type": "Property", "value": v}
    p.update(sub)
    return p


@pytest.fixture(scope="module")
def ordered(polis):
    """Entities of one fresh type, created in the order O1..O9 (createdAt order)."""
    api = polis.api
    kind = "QOrd" + uuid.uuid4().hex[:8]
    rows = {
        "O1": {"n": prop(5), "s": prop("b"), "loc": (3, 0), "city": "Oslo"},
        "O2": {"n": prop(1), "s": prop("B"), "loc": (1, 0), "city": "Bergen"},
        "O3": {"n": prop(3), "s": prop("a"), "loc": (2, 0), "city": "Aalborg"},
        "O4": {"n": prop("text"), "s": prop("c"), "loc": (5, 0), "city": "Zurich"},
        "O5": {"n": prop({"k": 1}), "loc": (4, 0)},
        "O6": {"n": prop([1, 2])},
        "O7": {"n": prop(True), "s": prop("A")},
        "O8": {"n": prop({"@type": "DateTime", "@value": "2024-01-01T00:00:00Z"})},
        "O9": {},
    }
    ids = {}
    for short, r in rows.items():
        eid = f"urn:ngsi-ld:{kind}:{short}"
        e = {"id": eid, "type": kind}
        for a in ("n", "s"):
            if a in r:
                e[a] = r[a]
        if "loc" in r:
            e["location"] = {"type": "GeoProperty",
                             "value": {"type": "Point", "coordinates": list(r["loc"])}}
        if "city" in r:
            e["address"] = prop({"city": r["city"]})
        create(api, e)
        ids[eid] = short
    return api, kind, ids


def order(ordered_set, **params):
    api, kind, ids = ordered_set
    r = requests.get(api + "/entities", params=dict(params, type=kind, pick="id", limit="100"))
    assert r.status_code == 200, (params, r.text)
    return [ids[e["id"]] for e in r.json()]


def test_4_23_2_mixed_datatypes_in_class_order_absent_last(ordered):
    # Number < String < Object < Array < Boolean < DateTime < (absent)
    assert order(ordered, orderBy="n") == ["O2", "O3", "O1", "O4", "O5", "O6", "O7", "O8", "O9"]


def test_4_23_1_desc_reverses_but_absent_stays_last(ordered):
    assert order(ordered, orderBy="n;desc") == ["O8", "O7", "O6", "O5", "O4", "O1", "O3", "O2",
                                                "O9"]
    assert order(ordered, orderBy="n;asc") == order(ordered, orderBy="n")


def test_4_23_1_strings_use_icu_root_collation_by_default(ordered):
    # root: a < A < b < B < c (code points would give A B a b c); entities without s last
    got = order(ordered, orderBy="s")
    assert got[:5] == ["O3", "O7", "O1", "O2", "O4"]
    assert set(got[5:]) == {"O5", "O6", "O8", "O9"}


def test_4_23_3_several_keys_apply_in_turn(polis):
    api = polis.api
    kind = "QOrdK" + uuid.uuid4().hex[:8]
    for i, (a, b) in enumerate([(1, 1), (2, 5), (1, 3), (2, 4), (1, 2)]):
        create(api, {"id": f"urn:ngsi-ld:{kind}:{i}", "type": kind, "a": prop(a), "b": prop(b)})
    r = requests.get(api + "/entities", params={"type": kind, "orderBy": "a,b;desc",
                                                "options": "keyValues", "pick": "a,b"})
    assert [(e["a"], e["b"]) for e in r.json()] == [(1, 3), (1, 2), (1, 1), (2, 5), (2, 4)]
    r = requests.get(api + "/entities", params={"type": kind, "orderBy": "a;desc,b",
                                                "options": "keyValues", "pick": "a,b"})
    assert [(e["a"], e["b"]) for e in r.json()] == [(2, 4), (2, 5), (1, 1), (1, 2), (1, 3)]


def test_4_23_3_sub_attributes_and_trailing_paths(polis, ordered):
    # address[city] (EXAMPLE 4)
    got = order(ordered, orderBy="address[city]")
    assert got[:4] == ["O3", "O2", "O1", "O4"]
    api = polis.api
    kind = "QOrdS" + uuid.uuid4().hex[:8]
    data = [("x", "2024-03-01T00:00:00Z", 0.5), ("y", "2024-01-01T00:00:00Z", 0.9),
            ("z", "2024-02-01T00:00:00Z", 0.1)]
    for short, when, acc in data:
        create(api, {"id": f"urn:ngsi-ld:{kind}:{short}", "type": kind,
                     "t": prop(20, observedAt=when, accuracy=prop(acc))})
    ids = lambda r: [e["id"].rsplit(":", 1)[1] for e in r.json()]
    r = requests.get(api + "/entities", params={"type": kind, "orderBy": "t.observedAt"})
    assert ids(r) == ["y", "z", "x"]  # EXAMPLE 5
    r = requests.get(api + "/entities", params={"type": kind, "orderBy": "t.accuracy;desc"})
    assert ids(r) == ["y", "x", "z"]


def test_4_23_3_entity_members_and_system_attributes(polis, ordered):
    shorts = ["O%d" % i for i in range(1, 10)]
    assert order(ordered, orderBy="createdAt") == shorts
    assert order(ordered, orderBy="createdAt;desc") == shorts[::-1]
    assert order(ordered, orderBy="id;desc") == shorts[::-1]
    api, kind, ids = ordered
    # modifying O3 makes it the most recently modified
    r = requests.patch(api + f"/entities/urn:ngsi-ld:{kind}:O3/attrs", json={"s": prop("a")},
                       headers=JS)
    assert r.status_code == 204, r.text
    assert order(ordered, orderBy="modifiedAt;desc")[0] == "O3"
    # type: one value for every entity here, so the id breaks the tie
    assert order(ordered, orderBy="type") == shorts


def test_4_23_3_collation_parameter(polis):
    api = polis.api
    kind = "QOrdC" + uuid.uuid4().hex[:8]
    for i, w in enumerate(["z", "\u00f6", "o"]):
        create(api, {"id": f"urn:ngsi-ld:{kind}:{i}", "type": kind, "w": prop(w)})
    words = lambda **p: [e["w"] for e in requests.get(
        api + "/entities", params=dict(p, type=kind, orderBy="w", options="keyValues")).json()]
    assert words() == ["o", "\u00f6", "z"]  # root: o-umlaut is a variant of o
    assert words(collation="und-x-icu") == ["o", "\u00f6", "z"]
    assert words(collation="sv") == ["o", "z", "\u00f6"]  # Swedish: o-umlaut after z
    for bad in ("not a tag!", "x"):
        assert_problem(requests.get(api + "/entities",
                                    params={"type": kind, "orderBy": "w", "collation": bad}),
                       400, "BadRequestData")


def test_4_23_1_order_by_distance(ordered):
    assert order(ordered, orderBy="location;dist-asc", orderFrom="[0,0]")[:5] == \
        ["O2", "O3", "O1", "O5", "O4"]
    got = order(ordered, orderBy="location;dist-desc", orderFrom="[0,0]")
    assert got[:5] == ["O4", "O5", "O1", "O3", "O2"]
    assert set(got[5:]) == {"O6", "O7", "O8", "O9"}  # no location: after, in both directions
    # from a LineString (EXAMPLE 10): the vertical line x=4.2 is nearest to O5 (4,0)
    got = order(ordered, orderBy="location;dist-asc", orderFrom="[[4.2,-1],[4.2,1]]",
                orderGeometry="LineString")
    assert got[:2] == ["O5", "O4"]


def test_5_7_2_4_ordering_is_consistent_with_paging(ordered):
    api, kind, ids = ordered
    full = order(ordered, orderBy="n;desc")
    pages = []
    for off in range(0, 9, 2):
        r = requests.get(api + "/entities", params={"type": kind, "orderBy": "n;desc", "pick": "id",
                                                    "limit": "2", "offset": str(off),
                                                    "count": "true"})
        assert r.status_code == 200 and r.headers["NGSILD-Results-Count"] == "9"
        pages += [ids[e["id"]] for e in r.json()]
        assert ("rel=\"next\"" in r.headers.get("Link", "")) == (off + 2 < 9)
    assert pages == full


def test_5_7_2_4_ordering_syntax_errors_are_bad_request(ordered):
    api, kind, _ = ordered
    bad = [{"orderBy": ""}, {"orderBy": "n;up"}, {"orderBy": "n,"}, {"orderBy": ",n"},
           {"orderBy": "!n"}, {"orderBy": "n==1"}, {"orderBy": "n;"}, {"orderBy": "id;dist-asc",
                                                                        "orderFrom": "[0,0]"},
           {"orderBy": "location;dist-asc"}, {"orderBy": "location;dist-asc", "orderFrom": "[0]"},
           {"orderBy": "location;dist-asc", "orderFrom": "[0,0]", "orderGeometry": "Circle"},
           {"collation": "sv"}, {"orderFrom": "[0,0]"}]
    for p in bad:
        assert_problem(requests.get(api + "/entities", params=dict(p, type=kind)),
                       400, "BadRequestData")


def test_6_18_3_2_temporal_order_by_id(polis):
    api = polis.api
    kind = "QOrdT" + uuid.uuid4().hex[:8]
    for i in (2, 0, 3, 1):
        create(api, {"id": f"urn:ngsi-ld:{kind}:{i}", "type": kind, "v": prop(i)})
    base = {"type": kind, "timerel": "before", "timeAt": "2200-01-01T00:00:00Z",
            "timeproperty": "modifiedAt"}
    ids = lambda r: [e["id"].rsplit(":", 1)[1] for e in r.json()]
    r = requests.get(api + "/temporal/entities", params=dict(base, orderBy="id;desc"))
    assert r.status_code == 200 and ids(r) == ["3", "2", "1", "0"]
    r = requests.get(api + "/temporal/entities", params=dict(base, orderBy="id"))
    assert ids(r) == ["0", "1", "2", "3"]
    pages = []
    for off in (0, 2):
        r = requests.get(api + "/temporal/entities",
                         params=dict(base, orderBy="id;desc", limit="2", offset=str(off)))
        pages += ids(r)
    assert pages == ["3", "2", "1", "0"]
    assert_problem(requests.get(api + "/temporal/entities", params=dict(base, orderBy="v")),
                   400, "BadRequestData")


# ---------------------------------------------------------------------------------------------
# Other "shall"s of 5.7.2.4 and 4.10
# ---------------------------------------------------------------------------------------------
def test_5_7_2_4_system_attributes_alone_are_a_too_wide_query(api):
    # (attrs=createdAt is refused anyway: a reserved name is no attribute name, 4.6.2)
    for p in ({"q": "createdAt>2000-01-01T00:00:00Z"},
              {"q": "modifiedAt>2000-01-01T00:00:00Z|createdAt<2000-01-01T00:00:00Z"}):
        b = assert_problem(requests.get(api + "/entities", params=p), 400, "BadRequestData")
        assert "too wide" in b["detail"], b
    # one non-system attribute next to them is enough
    p = {"q": "createdAt>2000-01-01T00:00:00Z;a==1"}
    assert requests.get(api + "/entities", params=p).status_code == 200, p


def test_4_10_entities_without_the_geoproperty_never_match(polis):
    api = polis.api
    kind = "QGeoN" + uuid.uuid4().hex[:8]
    create(api, {"id": f"urn:ngsi-ld:{kind}:none", "type": kind, "a": prop(1)})
    create(api, {"id": f"urn:ngsi-ld:{kind}:two", "type": kind, "location": [
        {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [50, 50]}},
        {"type": "GeoProperty", "datasetId": "urn:ds:b",
         "value": {"type": "Point", "coordinates": [1, 1]}}]})
    q = lambda rel, g, c: {e["id"].rsplit(":", 1)[1] for e in requests.get(
        api + "/entities", params={"type": kind, "georel": rel, "geometry": g,
                                   "coordinates": c}).json()}
    assert q("disjoint", "Point", "[10,10]") == {"two"}
    # 5.7.2.4: any instance of the GeoProperty meeting the restriction is enough
    assert q("within", "Polygon", "[[[0,0],[2,0],[2,2],[0,2],[0,0]]]") == {"two"}
    assert q("near;maxDistance==1000", "Point", "[50,50]") == {"two"}


def test_4_10_georel_syntax(api):
    for g in ("near;maxDistance==0", "near;maxDistance==-1", "near;maxDistance=5", "near",
              "within2", "near;maxDistance==01x"):
        assert_problem(requests.get(api + "/entities", params={
            "type": "T", "georel": g, "geometry": "Point", "coordinates": "[1,1]"}),
            400, "BadRequestData")
    assert_problem(requests.get(api + "/entities", params={
        "type": "T", "georel": "within", "geometry": "GeometryCollection", "coordinates": "[]"}),
        400, "BadRequestData")
    assert_problem(requests.get(api + "/entities", params={
        "type": "T", "georel": "within", "geometry": "Polygon"}), 400, "BadRequestData")


def test_5_7_2_4_invalid_csf_is_bad_request(api):
    # csf (4.9 syntax) has no effect here (no registrations) but must be valid
    for bad in ("a==", "(a", "a==1;;b"):
        assert_problem(requests.get(api + "/entities", params={"type": "T", "csf": bad}),
                       400, "BadRequestData")
    assert requests.get(api + "/entities", params={"type": "T", "csf": "a==1"}).status_code == 200
