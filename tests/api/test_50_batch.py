# SPDX-License-Identifier: Apache-2.0
"""Batch entity operations (NGSI-LD 5.6.7-5.6.10, 5.6.20; HTTP 6.14-6.17, 6.31;
BatchOperationResult 5.2.16, BatchEntityError 5.2.17; several instances of one entity 5.5.11)."""
import json
import random
import time
import uuid

import requests

from conftest import CORE, assert_problem, link

LD = {"Content-Type": "application/ld+json"}
JS = {"Content-Type": "application/json"}
ENV_CTX = "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/context.jsonld"
ERR = "https://uri.etsi.org/ngsi-ld/errors/"


def new_id(kind="Thing"):
    return f"urn:ngsi-ld:{kind}:{uuid.uuid4().hex[:12]}"


def ent(eid=None, kind="BatchThing", **attrs):
    e = {"id": eid or new_id(kind), "type": kind}
    for k, v in attrs.items():
        e[k] = {"type": "Property", "value": v}
    return e


def op(api, name, body, headers=None, **params):
    h = dict(JS)
    h.update(headers or {})
    data = body if isinstance(body, (str, bytes)) else json.dumps(body)
    return requests.post(api + "/entityOperations/" + name, data=data, headers=h, params=params)


def get(api, eid, **kw):
    return requests.get(api + "/entities/" + eid, **kw)


def exists(api, eid, **kw):
    r = get(api, eid, **kw)
    assert r.status_code in (200, 404), r.text
    return r.status_code == 200


def result_207(r):
    """A 207 BatchOperationResult (5.2.16): {"success": [ids], "errors": [BatchEntityError]}."""
    assert r.status_code == 207, (r.status_code, r.text)
    assert r.headers["Content-Type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"success", "errors"}, body
    for e in body["errors"]:
        assert set(e) >= {"entityId", "error"}
        pd = e["error"]
        assert pd["type"].startswith(ERR) and pd["title"] and pd["detail"]
        assert isinstance(pd["status"], int)
    return body


def errors_by_id(body):
    out = {}
    for e in body["errors"]:
        out.setdefault(e["entityId"], []).append(e["error"]["type"][len(ERR):])
    return out


def create_all(api, entities, headers=None):
    r = op(api, "create", entities, headers)
    assert r.status_code == 201, r.text
    return r


# ---------------------------------------------------------------------------------------------
# create (5.6.7, 6.14)
# ---------------------------------------------------------------------------------------------
def test_create_all_success_is_201_with_ids_6_14(api):
    es = [ent(temperature=i) for i in range(5)]
    r = create_all(api, es)
    assert r.headers["Content-Type"].startswith("application/json")
    assert sorted(r.json()) == sorted(e["id"] for e in es)
    for i, e in enumerate(es):
        got = get(api, e["id"]).json()
        assert got["type"] == "BatchThing" and got["temperature"]["value"] == i


def test_create_partial_failure_is_207_5_6_7(api):
    existing = ent(a=1)
    create_all(api, [existing])
    good = ent(a=2)
    bad_attr = ent()
    bad_attr["bad name!"] = {"type": "Property", "value": 1}
    no_type = {"id": new_id()}
    body = [good, existing, bad_attr, {"id": "not a uri", "type": "T"}, no_type, 42,
            {"type": "T"}]
    b = result_207(op(api, "create", body))
    assert b["success"] == [good["id"]]
    errs = errors_by_id(b)
    assert errs[existing["id"]] == ["AlreadyExists"]
    assert errs[bad_attr["id"]] == ["BadRequestData"]
    assert errs["not a uri"] == ["BadRequestData"]
    assert errs[no_type["id"]] == ["BadRequestData"]
    assert errs[None] == ["BadRequestData", "BadRequestData"]  # 42 and the element without id
    statuses = {e["error"]["type"][len(ERR):]: e["error"]["status"] for e in b["errors"]}
    assert statuses == {"AlreadyExists": 409, "BadRequestData": 400}
    # The good one is stored; the failed ones left no trace; the existing one is unchanged.
    assert get(api, good["id"]).json()["a"]["value"] == 2
    assert not exists(api, bad_attr["id"]) and not exists(api, no_type["id"])
    assert get(api, existing["id"]).json()["a"]["value"] == 1


def test_create_all_failed_is_207_with_empty_success(api):
    e = ent()
    create_all(api, [e])
    b = result_207(op(api, "create", [e, e]))
    assert b["success"] == [] and len(b["errors"]) == 2


def test_create_duplicates_first_wins_5_5_11_1(api):
    eid = new_id()
    b = result_207(op(api, "create", [ent(eid, a=1), ent(eid, a=2), ent(eid, a=3)]))
    assert b["success"] == [eid]
    assert errors_by_id(b) == {eid: ["AlreadyExists", "AlreadyExists"]}
    assert get(api, eid).json()["a"]["value"] == 1


def test_create_one_timestamp_for_the_batch_5_5_11(api):
    es = [ent(a=i) for i in range(20)]
    create_all(api, es)
    stamps = {get(api, e["id"], params={"options": "sysAttrs"}).json()["modifiedAt"] for e in es}
    assert len(stamps) == 1


# ---------------------------------------------------------------------------------------------
# whole-request errors
# ---------------------------------------------------------------------------------------------
def test_body_must_be_a_non_empty_array_without_null(api):
    eid = new_id()
    for name in ("create", "upsert", "update", "merge", "delete"):
        for body in ({"id": eid, "type": "T"}, "\"urn:a:b\"", "17", []):
            assert_problem(op(api, name, body), 400, "BadRequestData")
        # "If the input Array ... contains a null value in any of its items an error of type
        # BadRequestData shall be raised": the whole request, nothing written.
        item = eid if name == "delete" else ent(eid)
        assert_problem(op(api, name, [item, None]), 400, "BadRequestData")
        assert_problem(op(api, name, "[1,"), 400, "InvalidRequest")
    assert not exists(api, eid)


def test_too_many_elements_is_413(api):
    r = op(api, "delete", ["urn:a:%d" % i for i in range(100001)])
    body = assert_problem(r, 413, "TooLarge")
    assert "100000" in body["detail"]


def test_routes_accept_only_post(api):
    r = requests.get(api + "/entityOperations/create")
    assert r.status_code == 405 and "POST" in r.headers.get("Allow", "")


def test_wrong_content_type_is_415(api):
    r = requests.post(api + "/entityOperations/create", data="[]",
                      headers={"Content-Type": "text/plain"})
    assert r.status_code == 415


# ---------------------------------------------------------------------------------------------
# upsert (5.6.8, 6.15)
# ---------------------------------------------------------------------------------------------
def test_upsert_replace_is_the_default_5_6_8(api):
    old = ent(a=1, b=2)
    create_all(api, [old])
    new = ent(old["id"], c=3)
    created = ent(d=4)
    r = op(api, "upsert", [new, created])
    # 6.15: 201 with "the URIs representing the Entity IDs of the created entities only".
    assert r.status_code == 201, r.text
    assert r.json() == [created["id"]]
    got = get(api, old["id"]).json()
    assert "a" not in got and "b" not in got and got["c"]["value"] == 3
    assert get(api, created["id"]).json()["d"]["value"] == 4
    r = op(api, "upsert", [ent(old["id"], e=5)], options="replace")
    assert r.status_code == 204 and r.content == b""
    assert set(get(api, old["id"]).json()) == {"id", "type", "e"}


def test_upsert_all_existing_is_204_5_6_8(api):
    es = [ent(a=1), ent(a=2)]
    create_all(api, es)
    r = op(api, "upsert", [ent(e["id"], a=9) for e in es])
    assert r.status_code == 204 and r.content == b""
    assert all(get(api, e["id"]).json()["a"]["value"] == 9 for e in es)


def test_upsert_update_mode_keeps_other_attributes_5_6_8(api):
    old = ent(a=1, b=2)
    create_all(api, [old])
    r = op(api, "upsert", [ent(old["id"], b=20, c=30)], options="update")
    assert r.status_code == 204, r.text
    got = get(api, old["id"]).json()
    assert got["a"]["value"] == 1 and got["b"]["value"] == 20 and got["c"]["value"] == 30


def test_upsert_keeps_created_at_of_existing(api):
    old = ent(a=1)
    create_all(api, [old])
    before = get(api, old["id"], params={"options": "sysAttrs"}).json()
    time.sleep(0.01)
    assert op(api, "upsert", [ent(old["id"], z=1)]).status_code == 204
    after = get(api, old["id"], params={"options": "sysAttrs"}).json()
    assert after["createdAt"] == before["createdAt"]
    assert after["modifiedAt"] > before["modifiedAt"]


def test_upsert_partial_failure_is_207(api):
    existing = ent(a=1)
    create_all(api, [existing])
    new = ent(a=2)
    bad = {"id": new_id(), "type": "T", "x": {"type": "Nope", "value": 1}}
    b = result_207(op(api, "upsert", [ent(existing["id"], a=10), new, bad]))
    assert sorted(b["success"]) == sorted([existing["id"], new["id"]])
    assert errors_by_id(b) == {bad["id"]: ["BadRequestData"]}
    assert get(api, existing["id"]).json()["a"]["value"] == 10
    assert get(api, new["id"]).json()["a"]["value"] == 2
    assert not exists(api, bad["id"])


def test_upsert_duplicates_are_applied_in_order_5_5_11_2(api):
    eid = new_id()
    r = op(api, "upsert", [ent(eid, a=1), ent(eid, b=2), ent(eid, c=3)])
    assert r.status_code == 201 and r.json() == [eid]
    assert set(get(api, eid).json()) == {"id", "type", "c"}  # replace: the last one wins
    eid2 = new_id()
    r = op(api, "upsert", [ent(eid2, a=1), ent(eid2, b=2), ent(eid2, a=3)], options="update")
    assert r.status_code == 201 and r.json() == [eid2]
    got = get(api, eid2).json()
    assert got["a"]["value"] == 3 and got["b"]["value"] == 2


def test_upsert_unknown_option_is_400(api):
    for o in ("merge", "replace,update", "update,"):
        assert_problem(op(api, "upsert", [ent()], options=o), 400, "InvalidRequest")


# ---------------------------------------------------------------------------------------------
# update (5.6.9, 6.16)
# ---------------------------------------------------------------------------------------------
def test_update_all_success_is_204_5_6_9(api):
    es = [ent(a=1, b=1), ent(a=2, b=2)]
    create_all(api, es)
    r = op(api, "update", [{"id": e["id"], "type": "BatchThing",
                            "a": {"type": "Property", "value": 100},
                            "n": {"type": "Property", "value": "new"}} for e in es])
    assert r.status_code == 204 and r.content == b""
    for e in es:
        got = get(api, e["id"]).json()
        # 5.6.9.4: the behaviour of 5.6.3 (Append): overwritten, added, others kept.
        assert got["a"]["value"] == 100 and got["n"]["value"] == "new"
        assert got["b"]["value"] == e["b"]["value"]


def test_update_missing_entity_is_207_not_found(api):
    e = ent(a=1)
    create_all(api, [e])
    missing = new_id()
    b = result_207(op(api, "update", [ent(e["id"], a=2), ent(missing, a=3)]))
    assert b["success"] == [e["id"]]
    assert errors_by_id(b) == {missing: ["ResourceNotFound"]}
    assert [x["error"]["status"] for x in b["errors"]] == [404]
    assert get(api, e["id"]).json()["a"]["value"] == 2
    assert not exists(api, missing)


def test_update_no_overwrite_keeps_existing_5_6_9(api):
    e = ent(a=1)
    create_all(api, [e])
    r = op(api, "update", [ent(e["id"], a=2, b=3)], options="noOverwrite")
    # The kept attribute is reported (test_92; this asserted a 204 before issue 11).
    assert errors_by_id(result_207(r)) == {e["id"]: ["AlreadyExists"]}
    got = get(api, e["id"]).json()
    assert got["a"]["value"] == 1 and got["b"]["value"] == 3
    assert_problem(op(api, "update", [ent(e["id"], a=2)], options="replace"), 400,
                   "InvalidRequest")


def test_update_without_type_and_without_id(api):
    e = ent(a=1)
    create_all(api, [e])
    b = result_207(op(api, "update", [{"id": e["id"], "a": {"type": "Property", "value": 5}},
                                      {"a": {"type": "Property", "value": 5}}]))
    assert b["success"] == [e["id"]]
    assert errors_by_id(b) == {None: ["BadRequestData"]}
    assert get(api, e["id"]).json()["a"]["value"] == 5


def test_update_duplicates_in_order_5_5_11_3(api):
    e = ent(a=0)
    create_all(api, [e])
    r = op(api, "update", [ent(e["id"], a=i) for i in range(1, 6)])
    assert r.status_code == 204
    assert get(api, e["id"]).json()["a"]["value"] == 5


# ---------------------------------------------------------------------------------------------
# merge (5.6.20, 6.31)
# ---------------------------------------------------------------------------------------------
def test_merge_with_ngsi_ld_null_5_6_20(api):
    e = ent(a=1, b=2)
    e["c"] = {"type": "Property", "value": {"x": 1, "y": 2}}
    e2 = ent(a=7)
    create_all(api, [e, e2])
    r = op(api, "merge", [
        {"id": e["id"], "type": "BatchThing", "a": {"type": "Property", "value": 10},
         "b": "urn:ngsi-ld:null", "d": {"type": "Property", "value": 4}},
        {"id": e2["id"], "a": {"type": "Property", "value": "urn:ngsi-ld:null"},
         "z": {"type": "Property", "value": 1}},
    ])
    assert r.status_code == 204, r.text
    got = get(api, e["id"]).json()
    assert got["a"]["value"] == 10 and "b" not in got and got["d"]["value"] == 4
    assert got["c"]["value"] == {"x": 1, "y": 2}
    got2 = get(api, e2["id"]).json()
    assert "a" not in got2 and got2["z"]["value"] == 1


def test_merge_partial_failure_is_207(api):
    e = ent(a=1)
    create_all(api, [e])
    missing = new_id()
    b = result_207(op(api, "merge", [ent(missing, a=1), ent(e["id"], a=2)]))
    assert b["success"] == [e["id"]]
    assert errors_by_id(b) == {missing: ["ResourceNotFound"]}
    assert get(api, e["id"]).json()["a"]["value"] == 2 and not exists(api, missing)


def test_merge_duplicates_in_order_5_5_11_5(api):
    e = ent(a=0)
    create_all(api, [e])
    r = op(api, "merge", [ent(e["id"], b=1), {"id": e["id"], "a": "urn:ngsi-ld:null"},
                          ent(e["id"], c=2)])
    assert r.status_code == 204
    got = get(api, e["id"]).json()
    assert "a" not in got and got["b"]["value"] == 1 and got["c"]["value"] == 2


# ---------------------------------------------------------------------------------------------
# delete (5.6.10, 6.17)
# ---------------------------------------------------------------------------------------------
def test_delete_all_existing_is_204_5_6_10(api):
    es = [ent() for _ in range(4)]
    create_all(api, es)
    r = op(api, "delete", [e["id"] for e in es])
    assert r.status_code == 204 and r.content == b""
    assert not any(exists(api, e["id"]) for e in es)


def test_delete_partial_is_207(api):
    es = [ent(), ent()]
    create_all(api, es)
    missing = new_id()
    b = result_207(op(api, "delete", [es[0]["id"], missing, 7, "no uri", es[1]["id"]]))
    assert sorted(b["success"]) == sorted(e["id"] for e in es)
    errs = errors_by_id(b)
    assert errs == {missing: ["ResourceNotFound"], None: ["BadRequestData"],
                    "no uri": ["BadRequestData"]}
    assert not any(exists(api, e["id"]) for e in es)


def test_delete_duplicate_id_second_is_not_found_5_5_11_4(api):
    e = ent()
    create_all(api, [e])
    b = result_207(op(api, "delete", [e["id"], e["id"]]))
    assert b["success"] == [e["id"]]
    assert errors_by_id(b) == {e["id"]: ["ResourceNotFound"]}


def test_create_then_delete_in_one_tenant_4_14(api):
    t = {"NGSILD-Tenant": "b" + uuid.uuid4().hex[:8]}
    es = [ent(a=1), ent(a=2)]
    r = op(api, "create", es, headers=t)
    assert r.status_code == 201, r.text
    for e in es:
        assert exists(api, e["id"], headers=t) and not exists(api, e["id"])
    # The default tenant does not see them: a batch delete there fails for each.
    b = result_207(op(api, "delete", [e["id"] for e in es]))
    assert b["success"] == []
    assert op(api, "update", [ent(e["id"], a=5) for e in es], headers=t).status_code == 204
    assert get(api, es[0]["id"], headers=t).json()["a"]["value"] == 5
    assert op(api, "delete", [e["id"] for e in es], headers=t).status_code == 204
    assert not exists(api, es[0]["id"], headers=t)


def test_nonexistent_tenant_in_a_batch_5_5_10(api):
    t = {"NGSILD-Tenant": "n" + uuid.uuid4().hex[:8]}
    eid = new_id()
    for name, body in (("update", [ent(eid, a=1)]), ("merge", [ent(eid, a=1)]),
                       ("delete", [eid])):
        b = result_207(op(api, name, body, headers=t))
        assert errors_by_id(b) == {eid: ["NonexistentTenant"]}, (name, b)


# ---------------------------------------------------------------------------------------------
# @context and content negotiation (6.3.5)
# ---------------------------------------------------------------------------------------------
def test_ld_json_with_context_per_element(api):
    a = {"id": new_id("AirQualityObserved"), "type": "AirQualityObserved",
         "no2": {"type": "Property", "value": 22}, "@context": [ENV_CTX]}
    b = {"id": new_id("Thing"), "type": "Thing", "no2": {"type": "Property", "value": 5},
         "@context": CORE}
    no_ctx = {"id": new_id(), "type": "Thing"}
    res = result_207(op(api, "create", [a, b, no_ctx], headers=LD))
    assert sorted(res["success"]) == sorted([a["id"], b["id"]])
    assert errors_by_id(res) == {no_ctx["id"]: ["BadRequestData"]}
    got = get(api, a["id"], headers={"Link": link(ENV_CTX)}).json()
    assert got["type"] == "AirQualityObserved" and got["no2"]["value"] == 22
    bare = get(api, a["id"]).json()
    assert "https://smartdatamodels.org/dataModel.Environment/no2" in bare
    # The core context maps no "no2": the second element's no2 is a default-vocab IRI, not
    # the Environment one.
    other = get(api, b["id"], headers={"Link": link(ENV_CTX)}).json()
    assert "no2" not in other
    assert not exists(api, no_ctx["id"])


def test_ld_json_upsert_and_merge_with_context(api):
    eid = new_id("AirQualityObserved")
    r = op(api, "upsert", [{"id": eid, "type": "AirQualityObserved",
                            "no2": {"type": "Property", "value": 1}, "@context": ENV_CTX}],
           headers=LD)
    assert r.status_code == 201, r.text
    r = op(api, "merge", [{"id": eid, "no2": {"type": "Property", "value": 2},
                           "@context": ENV_CTX}], headers=LD)
    assert r.status_code == 204, r.text
    assert get(api, eid, headers={"Link": link(ENV_CTX)}).json()["no2"]["value"] == 2


def test_link_header_applies_to_every_element(api):
    es = [{"id": new_id("AirQualityObserved"), "type": "AirQualityObserved",
           "no2": {"type": "Property", "value": i}} for i in range(3)]
    create_all(api, es, headers={"Link": link(ENV_CTX)})
    for i, e in enumerate(es):
        bare = get(api, e["id"]).json()
        assert bare["type"] == "https://smartdatamodels.org/dataModel.Environment/AirQualityObserved"
        assert bare["https://smartdatamodels.org/dataModel.Environment/no2"]["value"] == i


def test_context_member_with_application_json_is_an_element_error(api):
    good = ent()
    bad = dict(ent(), **{"@context": CORE})
    res = result_207(op(api, "create", [good, bad]))
    assert res["success"] == [good["id"]]
    assert errors_by_id(res) == {bad["id"]: ["BadRequestData"]}


def test_link_with_ld_json_is_400(api):
    r = op(api, "create", [dict(ent(), **{"@context": CORE})],
           headers={"Content-Type": "application/ld+json", "Link": link(ENV_CTX)})
    assert_problem(r, 400, "BadRequestData")


def test_accept_application_json_answers(api):
    r = op(api, "create", [ent()], headers={"Accept": "application/json"})
    assert r.status_code == 201


# ---------------------------------------------------------------------------------------------
# 10 000 entities in one request
# ---------------------------------------------------------------------------------------------
def big_entity(eid, kind, i, extra=0):
    return {
        "id": eid, "type": kind,
        "temperature": {"type": "Property", "value": 20 + i % 10, "unitCode": "CEL",
                        "observedAt": "2026-01-01T10:00:00Z"},
        "location": {"type": "GeoProperty",
                     "value": {"type": "Point", "coordinates": [106.6 + i * 1e-5, 20.8]}},
        "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Org:haiphong"},
        "name": {"type": "Property", "value": "sensor %d" % i},
        "rev": {"type": "Property", "value": extra},
    }


def count_of_type(api, kind):
    """The entity count of a type through Query Entities (count=true, limit=0: 4.13, 6.3.13)."""
    r = requests.get(api + "/entities", params={"type": kind, "count": "true", "limit": 0})
    assert r.status_code == 200, r.text
    assert r.json() == []
    return int(r.headers["NGSILD-Results-Count"])


def test_ten_thousand_entities_in_one_request(api):
    n = 10000
    kind = "Bulk" + uuid.uuid4().hex[:8]
    ids = ["urn:ngsi-ld:%s:%05d" % (kind, i) for i in range(n)]
    sample = random.Random(7).sample(range(n), 200)

    body = json.dumps([big_entity(eid, kind, i) for i, eid in enumerate(ids)])
    t0 = time.monotonic()
    r = op(api, "create", body)
    took = time.monotonic() - t0
    assert r.status_code == 201, r.text[:500]
    assert sorted(r.json()) == ids
    print("\nbatch create of %d entities (%d bytes): %.2f s" % (n, len(body), took))
    for i in sample:
        got = get(api, ids[i]).json()
        assert got["name"]["value"] == "sensor %d" % i and got["rev"]["value"] == 0
    assert count_of_type(api, kind) == n

    # Upsert (replace) all of them, plus one new entity: 201 with the new id only.
    extra = "urn:ngsi-ld:%s:extra" % kind
    body = json.dumps([big_entity(eid, kind, i, 1) for i, eid in enumerate(ids)] +
                      [big_entity(extra, kind, n, 1)])
    t0 = time.monotonic()
    r = op(api, "upsert", body)
    print("batch upsert of %d entities: %.2f s" % (n + 1, time.monotonic() - t0))
    assert r.status_code == 201, r.text[:500]
    assert r.json() == [extra]
    for i in sample:
        assert get(api, ids[i]).json()["rev"]["value"] == 1
    assert count_of_type(api, kind) == n + 1

    t0 = time.monotonic()
    r = op(api, "delete", ids + [extra])
    print("batch delete of %d entities: %.2f s" % (n + 1, time.monotonic() - t0))
    assert r.status_code == 204, r.text[:500]
    for i in sample:
        assert not exists(api, ids[i])
    assert not exists(api, extra)
    assert count_of_type(api, kind) == 0


def test_server_survives_batches(polis):
    assert requests.get(polis.url + "/health").status_code == 200
