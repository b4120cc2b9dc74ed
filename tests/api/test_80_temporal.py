# SPDX-License-Identifier: Apache-2.0
"""The temporal API (NGSI-LD V1.9.1 4.5.6-4.5.9 temporal representations, 4.5.19 aggregated
representation, 4.11 temporal query language, 5.6.11-5.6.16 temporal provision, 5.7.3 / 5.7.4
retrieve and query, HTTP 6.18-6.22, 6.24), against the contract in docs/temporal.md.

History is written by the normal entity API (create, update, append, merge, replace, attribute
and entity delete, batch operations) and read back through /temporal. Every test uses entity
types (or a tenant) of its own, so the shared session broker's other data never interferes.
Expected values (time windows, lastN, aggregations) are computed here in Python, independently
of the broker. Configuration (POLIS_HISTORY*, POLIS_TEMPORAL_MAX_INSTANCES) is tested on brokers
of their own."""
import datetime
import json
import math
import re
import statistics
import urllib.parse
import uuid

import pytest
import requests

from conftest import CORE, Polis, assert_problem

UTC = datetime.timezone.utc
NULL = "urn:ngsi-ld:null"
VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"  # @vocab of the core context
MERGE = {"Content-Type": "application/merge-patch+json"}
INSTANCE_ID = re.compile(r"^urn:ngsi-ld:instance:\d+$")
FAR_FUTURE = "2100-01-01T00:00:00Z"
EPOCH = "1970-01-01T00:00:00Z"
AGGR_ALL = ["totalCount", "distinctCount", "sum", "avg", "min", "max", "stddev", "sumsq"]
GPS = "urn:ngsi-ld:Dataset:gps"
RADAR = "urn:ngsi-ld:Dataset:radar"


# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------
def uid():
    return uuid.uuid4().hex[:10]


def new_type():
    return "T" + uid()


def eid(t):
    return f"urn:ngsi-ld:{t}:{uid()}"


_TS = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)$")


def ts(s):
    """An ISO 8601 DateTime (Z or an offset, any fraction) as an aware datetime in UTC."""
    assert isinstance(s, str), f"not a DateTime string: {s!r}"
    m = _TS.match(s)
    assert m, f"not an ISO 8601 DateTime: {s!r}"
    y, mo, d, h, mi, se, frac, tz = m.groups()
    us = int((frac or "0").ljust(6, "0")[:6])
    off = datetime.timedelta(0)
    if tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        off = sign * datetime.timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
    return datetime.datetime(int(y), int(mo), int(d), int(h), int(mi), int(se), us,
                             tzinfo=UTC) - off


def iso(d):
    if d.microsecond:
        return d.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (d.microsecond // 1000)
    return d.strftime("%Y-%m-%dT%H:%M:%SZ")


BASE = datetime.datetime(2024, 3, 1, tzinfo=UTC)


def H(hours, base=BASE):
    """BASE + hours as an ISO string (UTC, Z)."""
    return iso(base + datetime.timedelta(hours=hours))


def now():
    return datetime.datetime.now(UTC)


def prop(v, **extra):
    return dict({"type": "Property", "value": v}, **extra)


def rel(o, **extra):
    return dict({"type": "Relationship", "object": o}, **extra)


def point(lon, lat, **extra):
    return dict({"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}},
                **extra)


def create(api, e, headers=None):
    r = requests.post(api + "/entities", json=e, headers=headers or {})
    assert r.status_code == 201, r.text
    return e["id"]


def patch_attrs(api, id_, body, headers=None, session=None):
    r = (session or requests).patch(api + f"/entities/{id_}/attrs", json=body,
                                    headers=headers or {})
    assert r.status_code == 204, r.text


def series(api, id_, typ, attr, points, headers=None, extra=None, mk=prop):
    """Records `points` [(value, observedAt), ...] of one attribute through the normal API: the
    first creates the entity (with `extra` attributes), the others are PATCH /attrs."""
    e = {"id": id_, "type": typ, attr: mk(points[0][0], observedAt=points[0][1])}
    e.update(extra or {})
    create(api, e, headers)
    s = requests.Session()
    for v, t in points[1:]:
        patch_attrs(api, id_, {attr: mk(v, observedAt=t)}, headers, session=s)
    return id_


def tget(api, id_, headers=None, **params):
    return requests.get(api + "/temporal/entities/" + id_, params=params, headers=headers or {})


def temporal(api, id_, headers=None, **params):
    r = tget(api, id_, headers, **params)
    assert r.status_code == 200, (params, r.status_code, r.text)
    return r.json()


def tquery(api, headers=None, **params):
    return requests.get(api + "/temporal/entities", params=params, headers=headers or {})


def tquery_ids(api, headers=None, **params):
    params.setdefault("limit", 1000)
    r = tquery(api, headers, **params)
    assert r.status_code == 200, (params, r.status_code, r.text)
    body = r.json()
    assert isinstance(body, list), body
    return [e["id"] for e in body]


def instances(ent, attr):
    """The instances of `attr` in a normalized temporal entity: always an array (4.5.7), each
    with a type and an instanceId."""
    assert attr in ent, f"{attr!r} missing from {sorted(ent)}"
    insts = ent[attr]
    assert isinstance(insts, list), f"{attr} must be an array of instances: {insts!r}"
    for i in insts:
        assert isinstance(i, dict), i
        assert INSTANCE_ID.match(i.get("instanceId", "")), f"bad instanceId in {i}"
        assert i.get("type") in ("Property", "Relationship", "GeoProperty", "LanguageProperty",
                                 "VocabProperty", "JsonProperty", "ListProperty",
                                 "ListRelationship"), i
    return insts


def val(i):
    for k in ("value", "object", "languageMap", "vocab", "json", "valueList", "objectList"):
        if k in i:
            return i[k]
    raise AssertionError(f"instance without a value member: {i}")


def live(insts):
    return [i for i in insts if "deletedAt" not in i]


def dead(insts):
    return [i for i in insts if "deletedAt" in i]


def values(ent, attr):
    """Values of the non-deletion instances, in the order returned."""
    return [val(i) for i in live(instances(ent, attr))]


def times(insts, prop_="observedAt"):
    return [ts(i[prop_]) for i in insts]


def assert_deletion(i, member="value"):
    assert i[member] == NULL, i
    assert "deletedAt" in i, i
    d = ts(i["deletedAt"])
    assert abs((now() - d).total_seconds()) < 120, i


# ------------------------------------------------------------------------------------------------
# brokers of their own (configuration through the environment)
# ------------------------------------------------------------------------------------------------
def _own(tmp_path_factory, name, env):
    return Polis(tmp_path_factory.mktemp(name), env=env).start()


@pytest.fixture(scope="module")
def purging(tmp_path_factory):
    p = _own(tmp_path_factory, "purge", {"POLIS_HISTORY_PURGE_ON_DELETE": "1"})
    yield p
    p.check_exit()


@pytest.fixture(scope="module")
def capped(tmp_path_factory):
    p = _own(tmp_path_factory, "capped", {"POLIS_TEMPORAL_MAX_INSTANCES": "10"})
    yield p
    p.check_exit()


@pytest.fixture(scope="module")
def no_history(tmp_path_factory):
    p = _own(tmp_path_factory, "nohist", {"POLIS_HISTORY": "off"})
    yield p
    p.check_exit()


@pytest.fixture(scope="module")
def selective(tmp_path_factory):
    p = _own(tmp_path_factory, "selective", {"POLIS_HISTORY_OFF_TYPES": VOCAB + "Quiet",
                                             "POLIS_HISTORY_OFF_TENANTS": "quiet"})
    yield p
    p.check_exit()


# ================================================================================================
# 1. Recording through the normal API (docs/temporal.md "What is recorded"; 4.5.6, 4.5.7)
# ================================================================================================
def test_5_6_1_create_records_one_instance_per_attribute_4_5_7(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t,
                       "temperature": prop(21.5, observedAt=H(0), unitCode="CEL",
                                           accuracy=prop(0.1)),
                       "name": prop("first"),
                       "owner": rel("urn:ngsi-ld:Org:a", observedAt=H(0))})
    r = tget(api, id_)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert CORE in r.headers.get("Link", "")
    e = r.json()
    assert e["id"] == id_ and e["type"] == t
    assert set(e) == {"id", "type", "temperature", "name", "owner"}, e
    [temp] = instances(e, "temperature")
    assert temp["type"] == "Property" and temp["value"] == 21.5 and temp["unitCode"] == "CEL"
    assert ts(temp["observedAt"]) == ts(H(0))
    assert temp["accuracy"]["value"] == 0.1  # sub-attributes are kept
    [name] = instances(e, "name")
    assert name["value"] == "first" and "observedAt" not in name
    [owner] = instances(e, "owner")
    assert owner["type"] == "Relationship" and owner["object"] == "urn:ngsi-ld:Org:a"
    for i in (temp, name, owner):
        # createdAt / modifiedAt only with options=sysAttrs; nothing deleted
        assert not {"createdAt", "modifiedAt", "deletedAt"} & set(i), i
    assert len({temp["instanceId"], name["instanceId"], owner["instanceId"]}) == 3


def test_4_8_sysattrs_shows_created_and_modified_of_each_instance(api):
    t = new_type()
    t0 = now()
    id_ = create(api, {"id": eid(t), "type": t, "temperature": prop(1, observedAt=H(0)),
                       "name": prop("x")})
    t1 = now()
    e = temporal(api, id_, options="sysAttrs")
    for attr in ("temperature", "name"):
        [i] = instances(e, attr)
        c, m = ts(i["createdAt"]), ts(i["modifiedAt"])
        assert c == m, i  # createdAt = modifiedAt = when the instance was recorded
        slack = datetime.timedelta(seconds=5)
        assert t0 - slack <= c <= t1 + slack, (i, t0, t1)


def test_5_6_2_update_attrs_records_only_the_changed_attributes(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "temperature": prop(1, observedAt=H(0)),
                       "name": prop("a", observedAt=H(0))})
    patch_attrs(api, id_, {"temperature": prop(2, observedAt=H(1))})
    e = temporal(api, id_)
    assert values(e, "temperature") == [1, 2]
    assert times(instances(e, "temperature")) == [ts(H(0)), ts(H(1))]
    assert values(e, "name") == ["a"]  # untouched: no new instance
    # a rewrite with the same value still counts (its modifiedAt changed)
    patch_attrs(api, id_, {"temperature": prop(2, observedAt=H(2))})
    e = temporal(api, id_)
    assert values(e, "temperature") == [1, 2, 2]
    assert len({i["instanceId"] for i in instances(e, "temperature")}) == 3


def test_5_6_3_append_attrs_records_new_and_overwritten_attributes(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "temperature": prop(1, observedAt=H(0)),
                       "name": prop("a", observedAt=H(0))})
    r = requests.post(api + f"/entities/{id_}/attrs",
                      json={"temperature": prop(3, observedAt=H(2)),
                            "humidity": prop(40, observedAt=H(2))})
    assert r.status_code == 204, r.text
    e = temporal(api, id_)
    assert values(e, "temperature") == [1, 3]
    assert values(e, "humidity") == [40]
    assert values(e, "name") == ["a"]


def test_5_6_4_partial_attribute_update_records_the_merged_instance(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t,
                       "temperature": prop(1, observedAt=H(0), unitCode="CEL")})
    r = requests.patch(api + f"/entities/{id_}/attrs/temperature",
                       json={"value": 25, "observedAt": H(1)})
    assert r.status_code == 204, r.text
    insts = instances(temporal(api, id_), "temperature")
    assert [val(i) for i in insts] == [1, 25]
    assert insts[1]["unitCode"] == "CEL"  # what the attribute held after the write
    assert ts(insts[1]["observedAt"]) == ts(H(1))


def test_5_6_19_replace_attribute_records_the_new_instance(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t,
                       "temperature": prop(1, observedAt=H(0), unitCode="CEL")})
    r = requests.put(api + f"/entities/{id_}/attrs/temperature",
                     json={"type": "Property", "value": 7, "observedAt": H(1)})
    assert r.status_code == 204, r.text
    insts = instances(temporal(api, id_), "temperature")
    assert [val(i) for i in insts] == [1, 7]
    assert "unitCode" not in insts[1], insts[1]  # replaced, not merged


def test_5_6_17_merge_entity_records_changes_and_deletions(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t,
                       "temperature": prop(1, observedAt=H(0), unitCode="CEL"),
                       "owner": rel("urn:ngsi-ld:Org:a", observedAt=H(0)),
                       "name": prop("kept", observedAt=H(0))})
    r = requests.patch(api + f"/entities/{id_}",
                       data=json.dumps({"temperature": prop(30, observedAt=H(1)),
                                        "owner": NULL,
                                        "extra": prop("new", observedAt=H(1))}), headers=MERGE)
    assert r.status_code == 204, r.text
    e = temporal(api, id_)
    temp = instances(e, "temperature")
    assert [val(i) for i in temp] == [1, 30]
    assert temp[1]["unitCode"] == "CEL"  # merged
    owner = instances(e, "owner")
    assert [val(i) for i in live(owner)] == ["urn:ngsi-ld:Org:a"]
    [d] = dead(owner)
    assert_deletion(d, "object")
    assert values(e, "extra") == ["new"]
    assert values(e, "name") == ["kept"] and not dead(instances(e, "name"))


def test_5_6_18_replace_entity_records_new_attributes_and_deletions(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "temperature": prop(1, observedAt=H(0))})
    r = requests.put(api + f"/entities/{id_}",
                     json={"type": t, "humidity": prop(40, observedAt=H(2))})
    assert r.status_code == 204, r.text
    e = temporal(api, id_)
    temp = instances(e, "temperature")
    assert [val(i) for i in live(temp)] == [1]
    [d] = dead(temp)
    assert_deletion(d)
    assert values(e, "humidity") == [40]


def test_5_6_7_batch_operations_record_history(api):
    t = new_type()
    a, b, c = eid(t), eid(t), eid(t)

    def batch(op, body, ok):
        r = requests.post(api + "/entityOperations/" + op, json=body)
        assert r.status_code in ok, (op, r.status_code, r.text)

    batch("create", [{"id": a, "type": t, "x": prop(1, observedAt=H(0)),
                      "y": prop("y", observedAt=H(0))},
                     {"id": b, "type": t, "x": prop(10, observedAt=H(0))}], (201,))
    # upsert replaces by default (5.6.8): a's y goes away
    batch("upsert", [{"id": a, "type": t, "x": prop(2, observedAt=H(1))},
                     {"id": c, "type": t, "x": prop(100, observedAt=H(1))}], (201, 204))
    batch("update", [{"id": a, "type": t, "x": prop(3, observedAt=H(2))}], (204,))
    batch("merge", [{"id": b, "type": t, "x": prop(11, observedAt=H(1))}], (204,))
    batch("delete", [c], (204,))

    ea = temporal(api, a)
    assert values(ea, "x") == [1, 2, 3]
    y = instances(ea, "y")
    assert [val(i) for i in live(y)] == ["y"]
    [d] = dead(y)
    assert_deletion(d)
    assert values(temporal(api, b), "x") == [10, 11]
    ec = temporal(api, c)  # deleted, its history stays
    x = instances(ec, "x")
    assert [val(i) for i in live(x)] == [100]
    [d] = dead(x)
    assert_deletion(d)


def test_4_5_5_dataset_ids_are_recorded_per_instance(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "speed": [
        prop(1, observedAt=H(0)),
        prop(2, observedAt=H(0), datasetId=GPS),
        prop(3, observedAt=H(0), datasetId=RADAR)]})
    patch_attrs(api, id_, {"speed": prop(4, observedAt=H(1), datasetId=GPS)})
    insts = instances(temporal(api, id_), "speed")
    by_ds = {}
    for i in insts:
        by_ds.setdefault(i.get("datasetId"), []).append(val(i))
    assert by_ds == {None: [1], GPS: [2, 4], RADAR: [3]}, insts
    got = times(insts)
    assert got == sorted(got)  # one array, ascending in time
    # lastN is per attribute and datasetId
    last = instances(temporal(api, id_, lastN="1"), "speed")
    assert sorted((i.get("datasetId") or "", val(i)) for i in last) == \
        [("", 1), (GPS, 4), (RADAR, 3)]
    # simplified: one object per datasetId (4.5.9 with 4.5.5), the default instance first
    simple = temporal(api, id_, options="temporalValues")["speed"]
    assert [o["type"] for o in simple] == ["Property"] * 3
    assert [o.get("datasetId") for o in simple] == [None, GPS, RADAR]
    assert [[v for v, _ in o["values"]] for o in simple] == [[1], [2, 4], [3]]
    assert [ts(x) for _, x in simple[1]["values"]] == [ts(H(0)), ts(H(1))]
    # deleting one dataset records a deletion instance for it only
    r = requests.delete(api + f"/entities/{id_}/attrs/speed", params={"datasetId": GPS})
    assert r.status_code == 204, r.text
    [d] = dead(instances(temporal(api, id_), "speed"))
    assert_deletion(d)
    assert d["datasetId"] == GPS


# ================================================================================================
# 2. Deletion (4.5.7 deletedAt; POLIS_HISTORY_PURGE_ON_DELETE)
# ================================================================================================
def test_5_7_4_4_dataset_id_parameter_keeps_those_instances(api):
    """5.7.4.4 (S8): datasetId= keeps only the instances of the listed datasets; @none names
    the default instance."""
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "speed": [
        prop(1, observedAt=H(0)),
        prop(2, observedAt=H(0), datasetId=GPS),
        prop(3, observedAt=H(0), datasetId=RADAR)]})
    patch_attrs(api, id_, {"speed": prop(4, observedAt=H(1), datasetId=GPS)})
    got = instances(temporal(api, id_, datasetId=GPS), "speed")
    assert [val(i) for i in got] == [2, 4] and {i["datasetId"] for i in got} == {GPS}
    got = instances(temporal(api, id_, datasetId="@none," + RADAR), "speed")
    assert sorted(val(i) for i in got) == [1, 3]
    r = tget(api, id_, datasetId="not a uri")
    assert r.status_code == 400, r.text


def test_4_5_7_delete_attribute_records_a_deletion_instance(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "temperature": prop(1, observedAt=H(0)),
                       "owner": rel("urn:ngsi-ld:Org:a", observedAt=H(0)),
                       "name": prop("n", observedAt=H(0))})
    assert requests.delete(api + f"/entities/{id_}/attrs/temperature").status_code == 204
    assert requests.delete(api + f"/entities/{id_}/attrs/owner").status_code == 204
    e = temporal(api, id_)
    temp = instances(e, "temperature")
    assert len(temp) == 2 and val(temp[0]) == 1 and "deletedAt" not in temp[0]
    assert_deletion(temp[1])  # the deletion instance is the latest
    owner = instances(e, "owner")
    assert len(owner) == 2
    assert_deletion(owner[1], "object")
    assert values(e, "name") == ["n"]
    # timeproperty=deletedAt finds the deletion instances only
    e = temporal(api, id_, timeproperty="deletedAt", timerel="before", timeAt=FAR_FUTURE)
    [d] = instances(e, "temperature")
    assert_deletion(d)
    [d] = instances(e, "owner")
    assert_deletion(d, "object")
    assert "name" not in e


def test_5_6_6_delete_entity_keeps_history_by_default(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "temperature": prop(1, observedAt=H(0)),
                       "owner": rel("urn:ngsi-ld:Org:a", observedAt=H(0))})
    patch_attrs(api, id_, {"temperature": prop(2, observedAt=H(1))})
    assert requests.delete(api + "/entities/" + id_).status_code == 204
    assert_problem(requests.get(api + "/entities/" + id_), 404, "ResourceNotFound")
    e = temporal(api, id_)
    assert e["id"] == id_ and e["type"] == t
    temp = instances(e, "temperature")
    assert [val(i) for i in live(temp)] == [1, 2]
    [d] = dead(temp)
    assert_deletion(d)
    owner = instances(e, "owner")
    assert [val(i) for i in live(owner)] == ["urn:ngsi-ld:Org:a"]
    [d] = dead(owner)
    assert_deletion(d, "object")
    # a deleted entity is found by the temporal query like the others
    assert tquery_ids(api, type=t, timerel="before", timeAt=FAR_FUTURE) == [id_]


def test_purge_on_delete_removes_the_whole_history(purging):
    api = purging.api
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "temperature": prop(1, observedAt=H(0))})
    patch_attrs(api, id_, {"temperature": prop(2, observedAt=H(1))})
    assert values(temporal(api, id_), "temperature") == [1, 2]
    # deleting an attribute still records a deletion instance
    other = create(api, {"id": eid(t), "type": t, "a": prop(1, observedAt=H(0))})
    assert requests.delete(api + f"/entities/{other}/attrs/a").status_code == 204
    [d] = dead(instances(temporal(api, other), "a"))
    assert_deletion(d)
    # deleting the entity purges its history
    assert requests.delete(api + "/entities/" + id_).status_code == 204
    assert_problem(tget(api, id_), 404, "ResourceNotFound")
    assert tquery_ids(api, type=t, timerel="before", timeAt=FAR_FUTURE) == [other]


# ================================================================================================
# 3. Query parameters on one entity (4.11, 5.7.3)
# ================================================================================================
@pytest.fixture(scope="module")
def five(polis):
    """An entity with temperature 0, 10, 20, 30, 40 at H(0)..H(4), owner at H(0) and H(2), and
    a note without observedAt. Returns (api, id)."""
    api = polis.api
    t = new_type()
    id_ = eid(t)
    create(api, {"id": id_, "type": t, "temperature": prop(0, observedAt=H(0)),
                 "owner": rel("urn:ngsi-ld:Org:o0", observedAt=H(0)), "note": prop("n")})
    s = requests.Session()
    for k in range(1, 5):
        body = {"temperature": prop(10 * k, observedAt=H(k))}
        if k == 2:
            body["owner"] = rel("urn:ngsi-ld:Org:o2", observedAt=H(2))
        patch_attrs(api, id_, body, session=s)
    return api, id_


def test_4_5_7_normalized_instances_in_ascending_time(five):
    api, id_ = five
    e = temporal(api, id_)
    assert values(e, "temperature") == [0, 10, 20, 30, 40]
    assert times(instances(e, "temperature")) == [ts(H(k)) for k in range(5)]
    assert values(e, "owner") == ["urn:ngsi-ld:Org:o0", "urn:ngsi-ld:Org:o2"]
    # without timerel every instance is returned, also one without observedAt
    assert values(e, "note") == ["n"]


def test_4_11_before_is_exclusive(five):
    api, id_ = five
    e = temporal(api, id_, timerel="before", timeAt=H(2))
    assert values(e, "temperature") == [0, 10]
    assert values(e, "owner") == ["urn:ngsi-ld:Org:o0"]
    assert "note" not in e  # no observedAt: never matches a timerel


def test_4_11_after_is_inclusive(five):
    api, id_ = five
    e = temporal(api, id_, timerel="after", timeAt=H(2))
    assert values(e, "temperature") == [20, 30, 40]
    assert values(e, "owner") == ["urn:ngsi-ld:Org:o2"]
    assert "note" not in e


def test_4_11_between_is_inclusive_exclusive(five):
    api, id_ = five
    e = temporal(api, id_, timerel="between", timeAt=H(1), endTimeAt=H(3))
    assert values(e, "temperature") == [10, 20]
    assert values(e, "owner") == ["urn:ngsi-ld:Org:o2"]
    e = temporal(api, id_, timerel="between", timeAt=H(0), endTimeAt=H(0.5))
    assert values(e, "temperature") == [0]


def test_4_11_time_at_with_an_offset_is_the_same_instant(five):
    api, id_ = five
    # H(2) is 2024-03-01T02:00:00Z = 2024-03-01T04:00:00+02:00 = 2024-02-29T21:30:00-04:30
    e = temporal(api, id_, timerel="after", timeAt="2024-03-01T04:00:00+02:00")
    assert values(e, "temperature") == [20, 30, 40]
    e = temporal(api, id_, timerel="before", timeAt="2024-02-29T21:30:00-04:30")
    assert values(e, "temperature") == [0, 10]
    e = temporal(api, id_, timerel="between", timeAt="2024-03-01T03:00:00+02:00",
                 endTimeAt="2024-03-01T05:00:00+02:00")
    assert values(e, "temperature") == [10, 20]


def test_4_11_timeproperty_created_at_and_modified_at(api):
    import time
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "count": prop(0)})
    for k in range(1, 4):
        time.sleep(0.02)  # distinct createdAt (millisecond precision)
        patch_attrs(api, id_, {"count": prop(k)})
    insts = instances(temporal(api, id_, options="sysAttrs"), "count")
    assert [val(i) for i in insts] == [0, 1, 2, 3]
    created = [i["createdAt"] for i in insts]
    assert times(insts, "createdAt") == sorted(set(times(insts, "createdAt"))), created
    for tp in ("createdAt", "modifiedAt"):
        e = temporal(api, id_, timeproperty=tp, timerel="after", timeAt=created[2])
        assert values(e, "count") == [2, 3], tp
        e = temporal(api, id_, timeproperty=tp, timerel="before", timeAt=created[2])
        assert values(e, "count") == [0, 1], tp
        e = temporal(api, id_, timeproperty=tp, timerel="between", timeAt=created[1],
                     endTimeAt=created[3])
        assert values(e, "count") == [1, 2], tp
    # the default timeproperty is observedAt, which these instances lack
    r = tget(api, id_, timerel="before", timeAt=FAR_FUTURE)
    assert r.status_code == 404 or "count" not in r.json(), r.text


def test_5_7_3_last_n_is_the_last_n_of_the_window_in_ascending_order(five):
    api, id_ = five
    e = temporal(api, id_, lastN="2")
    assert values(e, "temperature") == [30, 40]
    assert values(e, "owner") == ["urn:ngsi-ld:Org:o0", "urn:ngsi-ld:Org:o2"]
    e = temporal(api, id_, lastN="2", timerel="before", timeAt=H(4))
    assert values(e, "temperature") == [20, 30]
    e = temporal(api, id_, lastN="1", timerel="before", timeAt=H(2))
    assert values(e, "temperature") == [10]
    assert values(e, "owner") == ["urn:ngsi-ld:Org:o0"]
    e = temporal(api, id_, lastN="100", timerel="after", timeAt=H(1))
    assert values(e, "temperature") == [10, 20, 30, 40]


def test_5_7_3_last_n_ties_are_broken_by_recording_order(api):
    t = new_type()
    # recorded in the order a, b, c, d; b and c share H(1), a and d share H(0)
    id_ = series(api, eid(t), t, "s", [("a", H(0)), ("b", H(1)), ("c", H(1)), ("d", H(0))])
    assert values(temporal(api, id_, lastN="1"), "s") == ["c"]
    assert values(temporal(api, id_, lastN="2"), "s") == ["b", "c"]
    assert values(temporal(api, id_, lastN="3"), "s") == ["d", "b", "c"]
    assert values(temporal(api, id_, lastN="4"), "s") == ["a", "d", "b", "c"]


def test_5_7_3_attrs_projects_the_listed_attributes(five):
    api, id_ = five
    e = temporal(api, id_, attrs="temperature")
    assert set(e) == {"id", "type", "temperature"}, e
    assert values(e, "temperature") == [0, 10, 20, 30, 40]
    e = temporal(api, id_, attrs="temperature,owner,nothing", timerel="after", timeAt=H(3))
    assert set(e) == {"id", "type", "temperature"}, e  # owner has no instance in the window
    assert values(e, "temperature") == [30, 40]


def test_4_5_9_simplified_temporal_values(five):
    api, id_ = five
    note_created = instances(temporal(api, id_, options="sysAttrs"), "note")[0]["createdAt"]
    for params in ({"options": "temporalValues"}, {"format": "temporalValues"}):
        e = temporal(api, id_, **params)
        assert e["id"] == id_
        temp = e["temperature"]
        assert set(temp) == {"type", "values"} and temp["type"] == "Property", temp
        assert [v for v, _ in temp["values"]] == [0, 10, 20, 30, 40]
        assert all(len(p) == 2 for p in temp["values"])
        assert [ts(x) for _, x in temp["values"]] == [ts(H(k)) for k in range(5)]
        owner = e["owner"]
        assert set(owner) == {"type", "objects"} and owner["type"] == "Relationship", owner
        assert [o for o, _ in owner["objects"]] == ["urn:ngsi-ld:Org:o0", "urn:ngsi-ld:Org:o2"]
        assert [ts(x) for _, x in owner["objects"]] == [ts(H(0)), ts(H(2))]
        # an instance without observedAt: its createdAt
        [[v, x]] = e["note"]["values"]
        assert v == "n" and ts(x) == ts(note_created)
    e = temporal(api, id_, options="temporalValues", timerel="after", timeAt=H(3))
    assert e["temperature"]["values"] == [[30, e["temperature"]["values"][0][1]],
                                          [40, e["temperature"]["values"][1][1]]]
    assert [ts(x) for _, x in e["temperature"]["values"]] == [ts(H(3)), ts(H(4))]


def test_4_5_9_simplified_representation_of_every_attribute_kind(api):
    t = new_type()
    id_ = create(api, {
        "id": eid(t), "type": t,
        "loc": point(1.5, 2.5, observedAt=H(0)),
        "says": {"type": "LanguageProperty", "languageMap": {"en": "yes", "fr": "oui"},
                 "observedAt": H(0)},
        "period": {"type": "ListProperty", "valueList": [1, 2, 3], "observedAt": H(0)},
        "ticket": {"type": "JsonProperty", "json": {"k": [1, {"z": "w"}]}, "observedAt": H(0)},
        "category": {"type": "VocabProperty", "vocab": "airQuality", "observedAt": H(0)},
        "members": {"type": "ListRelationship",
                    "objectList": [{"object": "urn:ngsi-ld:P:a"}, {"object": "urn:ngsi-ld:P:b"}],
                    "observedAt": H(0)}})
    e = temporal(api, id_, options="temporalValues")

    def one(attr, typ, member):
        a = e[attr]
        assert set(a) == {"type", member} and a["type"] == typ, a
        [[v, x]] = a[member]
        assert ts(x) == ts(H(0))
        return v

    assert one("loc", "GeoProperty", "values") == {"type": "Point", "coordinates": [1.5, 2.5]}
    assert one("says", "LanguageProperty", "languageMaps") == \
        {"languageMap": {"en": "yes", "fr": "oui"}}
    assert one("period", "ListProperty", "valueLists") == [1, 2, 3]
    assert one("ticket", "JsonProperty", "jsons") == {"json": {"k": [1, {"z": "w"}]}}
    assert one("category", "VocabProperty", "vocabs") == {"vocab": "airQuality"}
    assert one("members", "ListRelationship", "objectLists") == ["urn:ngsi-ld:P:a",
                                                                 "urn:ngsi-ld:P:b"]


def test_5_7_3_ld_json_response_has_the_context(five):
    api, id_ = five
    r = tget(api, id_, headers={"Accept": "application/ld+json"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/ld+json")
    assert CORE in json.dumps(r.json()["@context"])


def test_5_7_3_unknown_entity_is_404(api):
    assert_problem(tget(api, "urn:ngsi-ld:Nothing:" + uid()), 404, "ResourceNotFound")


def test_5_7_4_4_query_without_timerel_is_bad_request_data(api):
    assert_problem(tquery(api, type=new_type()), 400, "BadRequestData")
    assert_problem(tquery(api, type=new_type(), timeAt=H(0)), 400, "BadRequestData")


BAD_TEMPORAL_PARAMS = [
    ("timerel unknown", {"timerel": "during", "timeAt": H(0)}),
    ("timerel wrong case", {"timerel": "After", "timeAt": H(0)}),
    ("timerel without timeAt", {"timerel": "after"}),
    ("timeAt garbage", {"timerel": "after", "timeAt": "yesterday"}),
    ("timeAt not a date", {"timerel": "after", "timeAt": "2024-13-01T00:00:00Z"}),
    ("timeAt without timerel", {"timeAt": H(0)}),
    ("between without endTimeAt", {"timerel": "between", "timeAt": H(0)}),
    ("endTimeAt before timeAt", {"timerel": "between", "timeAt": H(2), "endTimeAt": H(1)}),
    ("endTimeAt garbage", {"timerel": "between", "timeAt": H(0), "endTimeAt": "soon"}),
    ("timeproperty unknown", {"timerel": "after", "timeAt": H(0), "timeproperty": "seenAt"}),
    ("lastN zero", {"timerel": "after", "timeAt": H(0), "lastN": "0"}),
    ("lastN negative", {"timerel": "after", "timeAt": H(0), "lastN": "-1"}),
    ("lastN not a number", {"timerel": "after", "timeAt": H(0), "lastN": "abc"}),
    ("lastN empty", {"timerel": "after", "timeAt": H(0), "lastN": ""}),
    ("aggrPeriodDuration bad", {"timerel": "after", "timeAt": H(0), "options": "aggregatedValues",
                                "aggrMethods": "sum", "aggrPeriodDuration": "P1X"}),
    ("aggrPeriodDuration with a sign", {"timerel": "after", "timeAt": H(0),
                                        "options": "aggregatedValues", "aggrMethods": "sum",
                                        "aggrPeriodDuration": "-P1D"}),
    ("aggrMethods unknown", {"timerel": "after", "timeAt": H(0), "options": "aggregatedValues",
                             "aggrMethods": "median"}),
]


@pytest.mark.parametrize("params", [p for _, p in BAD_TEMPORAL_PARAMS],
                         ids=[n for n, _ in BAD_TEMPORAL_PARAMS])
def test_4_11_bad_temporal_parameters_are_400(five, params):
    api, id_ = five
    assert_problem(tget(api, id_, **params), 400, "BadRequestData")
    if "timerel" in params:
        assert_problem(tquery(api, type=new_type(), **params), 400, "BadRequestData")


def test_5_7_4_4_too_wide_query_is_400(five):
    api, id_ = five
    window = {"timerel": "after", "timeAt": EPOCH}
    assert_problem(tquery(api, **window), 400, "BadRequestData")
    assert_problem(tquery(api, id=id_, **window), 400, "BadRequestData")  # ids alone: too wide
    assert_problem(tquery(api, idPattern=".*", **window), 400, "BadRequestData")
    # any one of type, attrs, q, geo-query or local=true is enough
    assert id_ in tquery_ids(api, id=id_, local="true", **window)
    assert tquery_ids(api, id=id_, attrs="temperature", **window) == [id_]
    assert tquery_ids(api, id=id_, q="temperature>35", **window) == [id_]


# ================================================================================================
# 4. Query Temporal Evolution of Entities (5.7.4; GET /temporal/entities 6.18.3.2,
#    POST /temporal/entityOperations/query 6.24)
# ================================================================================================
RB = datetime.datetime(2024, 3, 10, tzinfo=UTC)
SOL = (-3.7038, 40.4168)
BCN = (2.1734, 41.3851)


def R(hours):
    return H(hours, RB)


ROOM = "urn:ngsi-ld:Room:"


@pytest.fixture(scope="module")
def rooms(polis):
    """In a tenant of its own: three Rooms and a Door, every attribute with observedAt.
    R1: temperature 10@0h, 20@1h, 30@2h; location SOL@0h, Barcelona@2h; scope /A/B
    R2: temperature 50@5h; location Barcelona@5h; scope /C
    R3: humidity 60@0.5h
    D1 (Door): temperature 15@1h"""
    api = polis.api
    h = {"NGSILD-Tenant": "temporal" + uid()}
    create(api, {"id": ROOM + "R1", "type": "Room", "scope": "/A/B",
                 "temperature": prop(10, observedAt=R(0)),
                 "location": point(*SOL, observedAt=R(0))}, h)
    patch_attrs(api, ROOM + "R1", {"temperature": prop(20, observedAt=R(1))}, h)
    patch_attrs(api, ROOM + "R1", {"temperature": prop(30, observedAt=R(2)),
                                   "location": point(*BCN, observedAt=R(2))}, h)
    create(api, {"id": ROOM + "R2", "type": "Room", "scope": "/C",
                 "temperature": prop(50, observedAt=R(5)),
                 "location": point(*BCN, observedAt=R(5))}, h)
    create(api, {"id": ROOM + "R3", "type": "Room", "humidity": prop(60, observedAt=R(0.5))}, h)
    create(api, {"id": "urn:ngsi-ld:Door:D1", "type": "Door",
                 "temperature": prop(15, observedAt=R(1))}, h)
    return api, h


def rids(*ns):
    return [ROOM + f"R{n}" for n in ns]


def test_5_7_4_type_selects_entities_with_instances_in_the_window(rooms):
    api, h = rooms
    assert tquery_ids(api, h, type="Room", timerel="after", timeAt=R(0)) == rids(1, 2, 3)
    assert tquery_ids(api, h, type="Room", timerel="before", timeAt=R(3)) == rids(1, 3)
    assert tquery_ids(api, h, type="Room", timerel="between", timeAt=R(0.25),
                      endTimeAt=R(0.75)) == rids(3)
    assert tquery_ids(api, h, type="Room", timerel="after", timeAt=R(6)) == []
    assert tquery_ids(api, h, type="Room,Door", timerel="between", timeAt=R(1),
                      endTimeAt=R(1.5)) == ["urn:ngsi-ld:Door:D1"] + rids(1)
    assert tquery_ids(api, h, type=VOCAB + "Door", timerel="after", timeAt=R(0)) == \
        ["urn:ngsi-ld:Door:D1"]


def test_5_7_4_instances_of_the_window_are_returned(rooms):
    api, h = rooms
    r = tquery(api, h, type="Room", timerel="between", timeAt=R(1), endTimeAt=R(5))
    assert r.status_code == 200, r.text
    assert CORE in r.headers.get("Link", "")
    body = {e["id"]: e for e in r.json()}
    assert sorted(body) == rids(1)
    e = body[ROOM + "R1"]
    assert e["type"] == "Room"
    assert values(e, "temperature") == [20, 30]
    assert [v["coordinates"] for v in values(e, "location")] == [list(BCN)]


def test_5_7_4_id_and_id_pattern(rooms):
    api, h = rooms
    w = {"timerel": "after", "timeAt": R(0)}
    assert tquery_ids(api, h, type="Room", id=",".join(rids(1, 3)), **w) == rids(1, 3)
    assert tquery_ids(api, h, type="Room", id=ROOM + "R9", **w) == []
    assert tquery_ids(api, h, type="Room", idPattern="R[23]$", **w) == rids(2, 3)
    assert tquery_ids(api, h, type="Room,Door", idPattern="^urn:ngsi-ld:Door:", **w) == \
        ["urn:ngsi-ld:Door:D1"]


def test_5_7_4_attrs_selects_and_projects(rooms):
    api, h = rooms
    r = tquery(api, h, attrs="humidity", timerel="after", timeAt=R(0))
    assert r.status_code == 200, r.text
    assert [e["id"] for e in r.json()] == rids(3)
    assert set(r.json()[0]) == {"id", "type", "humidity"}
    # an entity is selected only when one of attrs has an instance in the window
    assert tquery_ids(api, h, type="Room", attrs="location", timerel="after", timeAt=R(3)) == \
        rids(2)
    r = tquery(api, h, type="Room", attrs="temperature", timerel="before", timeAt=R(1))
    assert [(e["id"], values(e, "temperature")) for e in r.json()] == [(ROOM + "R1", [10])]
    assert set(r.json()[0]) - {"scope"} == {"id", "type", "temperature"}  # scope: a member


def test_5_7_4_4_q_holds_when_any_instance_in_the_window_matches(rooms):
    api, h = rooms
    w = {"timerel": "after", "timeAt": R(0)}
    # R1's current temperature is 30, but it was 10 in the window
    assert tquery_ids(api, h, type="Room", q="temperature<15", **w) == rids(1)
    assert tquery_ids(api, h, type="Room", q="temperature<15", timerel="after",
                      timeAt=R(0.5)) == []
    assert tquery_ids(api, h, type="Room", q="temperature>25", **w) == rids(1, 2)
    assert tquery_ids(api, h, type="Room", q="temperature>25", timerel="before",
                      timeAt=R(2)) == []
    assert tquery_ids(api, h, type="Room", q="temperature==20", **w) == rids(1)
    assert tquery_ids(api, h, type="Room,Door", q="temperature==15", **w) == \
        ["urn:ngsi-ld:Door:D1"]
    assert tquery_ids(api, h, q="humidity", **w) == rids(3)  # q alone is not too wide


def test_5_7_4_4_geo_query_holds_on_location_instances_in_the_window(rooms):
    api, h = rooms
    near = {"georel": "near;maxDistance==1000", "geometry": "Point",
            "coordinates": json.dumps(list(SOL))}
    # R1 was at Sol at 0h and moved to Barcelona at 2h; it is in Barcelona now
    assert tquery_ids(api, h, type="Room", timerel="before", timeAt=R(1.5), **near) == rids(1)
    assert tquery_ids(api, h, type="Room", timerel="after", timeAt=R(1.5), **near) == []
    assert tquery_ids(api, h, timerel="after", timeAt=R(0), **near) == rids(1)  # geo alone
    near_bcn = dict(near, coordinates=json.dumps(list(BCN)))
    assert tquery_ids(api, h, type="Room", timerel="after", timeAt=R(0), **near_bcn) == \
        rids(1, 2)


def test_5_7_4_scope_q(rooms):
    api, h = rooms
    w = {"timerel": "after", "timeAt": R(0)}
    assert tquery_ids(api, h, type="Room", scopeQ="/A/#", **w) == rids(1)
    assert tquery_ids(api, h, type="Room", scopeQ="/C", **w) == rids(2)
    assert tquery_ids(api, h, type="Room", scopeQ="/A,/C", **w) == rids(2)
    r = tquery(api, h, type="Room", id=ROOM + "R1", **w)
    scope = r.json()[0]["scope"]  # 4.5.6: a temporal Property
    assert [i["value"] for i in scope] == ["/A/B"], scope


def test_5_5_9_limit_offset_count_and_link(rooms):
    api, h = rooms
    w = {"type": "Room", "timerel": "after", "timeAt": R(0)}
    r = tquery(api, h, limit=2, count="true", **w)
    assert r.status_code == 200, r.text
    assert [e["id"] for e in r.json()] == rids(1, 2)  # id order
    assert r.headers["NGSILD-Results-Count"] == "3"
    assert "next" in r.links
    nxt = requests.get(urllib.parse.urljoin(api, r.links["next"]["url"]), headers=h)
    assert [e["id"] for e in nxt.json()] == rids(3)
    r = tquery(api, h, limit=2, offset=2, **w)
    assert [e["id"] for e in r.json()] == rids(3)
    assert "NGSILD-Results-Count" not in r.headers
    r = tquery(api, h, limit=0, count="true", **w)
    assert r.status_code == 200 and r.json() == [] and r.headers["NGSILD-Results-Count"] == "3"
    assert_problem(tquery(api, h, limit=1001, **w), 400, "BadRequestData")


def test_4_14_tenants_are_separate(rooms, polis):
    api, h = rooms
    w = {"type": "Room", "timerel": "after", "timeAt": R(0)}
    other = {"NGSILD-Tenant": "temporal" + uid()}
    create(api, {"id": ROOM + "R1", "type": "Room", "temperature": prop(99, observedAt=R(0))},
           other)
    assert tquery_ids(api, other, **w) == rids(1)
    assert values(temporal(api, ROOM + "R1", other), "temperature") == [99]
    assert values(temporal(api, ROOM + "R1", h), "temperature") == [10, 20, 30]
    assert not set(rids(1, 2, 3)) & set(tquery_ids(api, **w))  # the default tenant
    assert_problem(tget(api, ROOM + "R2", other), 404, "ResourceNotFound")
    never = {"NGSILD-Tenant": "never" + uid()}
    assert_problem(tquery(api, never, **w), 404, "NonexistentTenant")
    assert_problem(tget(api, ROOM + "R1", never), 404, "NonexistentTenant")


def test_6_24_post_query_with_temporal_q(rooms):
    api, h = rooms

    def post(body, **params):
        r = requests.post(api + "/temporal/entityOperations/query", json=dict(body, type="Query"),
                          headers=h, params=params)
        assert r.status_code == 200, (body, r.status_code, r.text)
        return r.json()

    got = post({"entities": [{"type": "Room"}],
                "temporalQ": {"timerel": "after", "timeAt": R(0)}})
    assert [e["id"] for e in got] == rids(1, 2, 3)
    got = post({"entities": [{"type": "Room"}], "attrs": ["temperature"], "q": "temperature>25",
                "temporalQ": {"timerel": "between", "timeAt": R(0), "endTimeAt": R(3)}})
    assert [(e["id"], values(e, "temperature")) for e in got] == [(ROOM + "R1", [10, 20, 30])]
    assert set(got[0]) - {"scope"} == {"id", "type", "temperature"}
    got = post({"entities": [{"id": ROOM + "R1", "type": "Room"}],
                "temporalQ": {"timerel": "after", "timeAt": R(0), "lastN": 1}})
    assert values(got[0], "temperature") == [30]
    assert [v["coordinates"] for v in values(got[0], "location")] == [list(BCN)]
    got = post({"entities": [{"idPattern": "R[13]$", "type": "Room"}],
                "temporalQ": {"timerel": "before", "timeAt": R(0.75)}})
    assert [e["id"] for e in got] == rids(1, 3)
    got = post({"entities": [{"type": "Room"}, {"type": "Door"}],
                "temporalQ": {"timerel": "between", "timeAt": R(1), "endTimeAt": R(1.5)}})
    assert [e["id"] for e in got] == ["urn:ngsi-ld:Door:D1"] + rids(1)
    r = requests.post(api + "/temporal/entityOperations/query",
                      json={"type": "Query", "entities": [{"type": "Room"}]}, headers=h)
    assert_problem(r, 400, "BadRequestData")  # no temporal query


# ================================================================================================
# 5. Aggregations (4.5.19, 4.5.19.1)
# ================================================================================================
AB = datetime.datetime(2024, 4, 1, 3, tzinfo=UTC)  # the first reading, 03:00
DAY = datetime.timedelta(days=1)
READINGS = [(((k * 7) % 13) * 0.25 - 1.0, AB + datetime.timedelta(hours=5 * k))
            for k in range(35)]  # over 7 days; k = 9 and k = 33 fall exactly on a midnight


def _nums(vals):
    out = []
    for v in vals:
        if isinstance(v, bool):
            out.append(1.0 if v else 0.0)
        elif isinstance(v, list):
            out.append(float(len(v)))
        else:
            out.append(float(v))
    return out


def _distinct(vals):
    return len({json.dumps(v, sort_keys=True) for v in vals})


AGGR = {
    "totalCount": len,
    "distinctCount": _distinct,
    "sum": lambda vs: math.fsum(_nums(vs)),
    "avg": lambda vs: math.fsum(_nums(vs)) / len(vs),
    "sumsq": lambda vs: math.fsum(x * x for x in _nums(vs)),
    "stddev": lambda vs: statistics.pstdev(_nums(vs)),  # population standard deviation
    "min": lambda vs: min(vs) if all(isinstance(v, str) for v in vs) else min(_nums(vs)),
    "max": lambda vs: max(vs) if all(isinstance(v, str) for v in vs) else max(_nums(vs)),
}


def fixed_buckets(points, origin, period):
    """[(start, end, [values])] of the non-empty buckets origin + k * period."""
    b = {}
    for v, t in points:
        k = (t - origin) // period
        b.setdefault(origin + k * period, []).append(v)
    return [(s, s + period, vs) for s, vs in sorted(b.items())]


def check_aggr(attr_body, expected, methods):
    assert attr_body["type"] == "Property", attr_body
    for m in methods:
        assert m in attr_body, (m, attr_body)
        got = attr_body[m]
        assert isinstance(got, list) and len(got) == len(expected), (m, got, expected)
        for (start, end, vs), triple in zip(expected, got):
            assert isinstance(triple, list) and len(triple) == 3, (m, triple)
            v, gs, ge = triple
            assert (ts(gs), ts(ge)) == (start, end), (m, triple, iso(start), iso(end))
            want = AGGR[m](vs)
            if m in ("totalCount", "distinctCount") or isinstance(want, str):
                assert v == want, (m, iso(start), v, want)
            else:
                assert isinstance(v, (int, float)) and not isinstance(v, bool), (m, v)
                assert math.isclose(v, want, rel_tol=1e-9, abs_tol=1e-9), \
                    (m, iso(start), v, want, vs)


@pytest.fixture(scope="module")
def readings(polis):
    api = polis.api
    t = new_type()
    id_ = series(api, eid(t), t, "reading", [(v, iso(t_)) for v, t_ in READINGS])
    return api, id_


def aggr(api, id_, methods, **params):
    e = temporal(api, id_, options="aggregatedValues", aggrMethods=",".join(methods), **params)
    return e


def test_4_5_19_the_series_was_recorded(readings):
    api, id_ = readings
    e = temporal(api, id_)
    assert values(e, "reading") == [v for v, _ in READINGS]
    assert times(instances(e, "reading")) == [t for _, t in READINGS]


def test_4_5_19_daily_buckets_of_a_between_window_match_python(readings):
    api, id_ = readings
    start, end = datetime.datetime(2024, 4, 1, tzinfo=UTC), datetime.datetime(2024, 4, 9,
                                                                              tzinfo=UTC)
    e = aggr(api, id_, AGGR_ALL, timerel="between", timeAt=iso(start), endTimeAt=iso(end),
             aggrPeriodDuration="P1D")
    expected = fixed_buckets(READINGS, start, DAY)
    assert len(expected) == 8 and sum(len(vs) for _, _, vs in expected) == 35
    check_aggr(e["reading"], expected, AGGR_ALL)


def test_4_5_19_buckets_start_at_time_at_for_after(readings):
    api, id_ = readings
    start = datetime.datetime(2024, 4, 2, 6, tzinfo=UTC)
    e = aggr(api, id_, ["totalCount", "sum", "max", "min"], timerel="after", timeAt=iso(start),
             aggrPeriodDuration="P1D")
    pts = [(v, t) for v, t in READINGS if t >= start]
    check_aggr(e["reading"], fixed_buckets(pts, start, DAY), ["totalCount", "sum", "max", "min"])


def test_4_5_19_buckets_start_at_the_first_instance_for_before(readings):
    """4.5.19: the periods cover the time range of the query; without a lower bound (before)
    it starts at the first instance (03:00 here), not at a calendar boundary, and the last
    period ends at timeAt at the latest."""
    api, id_ = readings
    end = datetime.datetime(2024, 4, 5, tzinfo=UTC)
    methods = ["totalCount", "avg", "stddev"]
    e = aggr(api, id_, methods, timerel="before", timeAt=iso(end), aggrPeriodDuration="PT12H")
    pts = [(v, t) for v, t in READINGS if t < end]
    expected = fixed_buckets(pts, pts[0][1], datetime.timedelta(hours=12))
    expected = [(s, min(e_, end), vs) for s, e_, vs in expected]
    check_aggr(e["reading"], expected, methods)


def test_4_5_19_pt0s_is_one_bucket_spanning_the_window(readings):
    api, id_ = readings
    start = datetime.datetime(2024, 4, 1, tzinfo=UTC)
    end = datetime.datetime(2024, 4, 4, 12, tzinfo=UTC)
    pts = [v for v, t in READINGS if start <= t < end]
    for params in ({"aggrPeriodDuration": "PT0S"}, {"aggrPeriodDuration": "P0D"}, {}):
        e = aggr(api, id_, AGGR_ALL, timerel="between", timeAt=iso(start), endTimeAt=iso(end),
                 **params)
        check_aggr(e["reading"], [(start, end, pts)], AGGR_ALL)


def test_4_5_19_pt0s_without_timerel_spans_first_to_last_instance(readings):
    api, id_ = readings
    e = aggr(api, id_, ["totalCount", "sum", "sumsq"], aggrPeriodDuration="PT0S")
    check_aggr(e["reading"], [(READINGS[0][1], READINGS[-1][1], [v for v, _ in READINGS])],
               ["totalCount", "sum", "sumsq"])


def test_4_5_19_p1m_buckets_are_calendar_months(api):
    t = new_type()
    pts = [(1, "2024-01-15T10:00:00Z"), (2, "2024-01-31T23:59:59Z"), (4, "2024-02-01T00:00:00Z"),
           (8, "2024-02-29T12:00:00Z"), (16, "2024-03-01T00:00:00Z"), (32, "2024-03-31T00:00:00Z")]
    id_ = series(api, eid(t), t, "m", pts)
    e = aggr(api, id_, ["sum", "totalCount"], timerel="after", timeAt="2024-01-01T00:00:00Z",
             aggrPeriodDuration="P1M")
    months = [datetime.datetime(2024, m, 1, tzinfo=UTC) for m in (1, 2, 3, 4)]
    check_aggr(e["m"], [(months[0], months[1], [1, 2]), (months[1], months[2], [4, 8]),
                        (months[2], months[3], [16, 32])], ["sum", "totalCount"])


def test_4_5_19_1_strings_min_max_are_lexicographic(api):
    t = new_type()
    words = ["banana", "Apple", "cherry", "apple", "banana", "Zebra"]
    id_ = series(api, eid(t), t, "label", [(w, H(k)) for k, w in enumerate(words)])
    methods = ["totalCount", "distinctCount", "min", "max"]
    e = aggr(api, id_, methods, attrs="label", timerel="after", timeAt=H(0))
    check_aggr(e["label"], [(ts(H(0)), ts(H(5)), words)], methods)
    assert e["label"]["min"][0][0] == "Apple" and e["label"]["max"][0][0] == "cherry"


def test_5_7_4_4_method_not_applicable_to_a_named_attribute_is_invalid_request(api):
    t = new_type()
    id_ = series(api, eid(t), t, "label", [("a", H(0)), ("b", H(1))])
    for m in ("avg", "sum", "stddev", "sumsq"):
        r = tget(api, id_, options="aggregatedValues", aggrMethods=m, attrs="label",
                 timerel="after", timeAt=H(0))
        body = assert_problem(r, 400, "InvalidRequest")
        assert body["type"] == "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest"
    r = tquery(api, type=t, options="aggregatedValues", aggrMethods="totalCount,avg",
               attrs="label", timerel="after", timeAt=H(0))
    assert_problem(r, 400, "InvalidRequest")


def test_4_5_19_inapplicable_method_is_left_out_when_attrs_is_not_given(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "label": prop("a", observedAt=H(0)),
                       "n": prop(2, observedAt=H(0))})
    patch_attrs(api, id_, {"label": prop("b", observedAt=H(1)), "n": prop(4, observedAt=H(1))})
    e = aggr(api, id_, ["avg", "totalCount"], timerel="after", timeAt=H(0))
    check_aggr(e["n"], [(ts(H(0)), ts(H(1)), [2, 4])], ["avg", "totalCount"])
    check_aggr(e["label"], [(ts(H(0)), ts(H(1)), ["a", "b"])], ["totalCount"])
    assert "avg" not in e["label"], e["label"]


def test_4_5_19_1_booleans_count_0_1_and_arrays_their_length(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "flag": prop(True, observedAt=H(0)),
                       "sizes": prop([1, 2], observedAt=H(0))})
    s = requests.Session()
    for k, (f, a) in enumerate([(False, [3]), (True, [4, 5, 6]), (True, [7, 8])], start=1):
        patch_attrs(api, id_, {"flag": prop(f, observedAt=H(k)),
                               "sizes": prop(a, observedAt=H(k))}, session=s)
    methods = ["totalCount", "sum", "avg", "sumsq", "stddev"]
    e = aggr(api, id_, methods, timerel="between", timeAt=H(0), endTimeAt=H(4),
             aggrPeriodDuration="PT0S")
    window = (ts(H(0)), ts(H(4)))
    check_aggr(e["flag"], [window + ([True, False, True, True],)], methods)
    check_aggr(e["sizes"], [window + ([[1, 2], [3], [4, 5, 6], [7, 8]],)], methods)
    assert e["flag"]["sum"][0][0] == 3 and e["sizes"]["sum"][0][0] == 8


def test_4_5_19_deletion_instances_are_not_aggregated(api):
    t = new_type()
    id_ = series(api, eid(t), t, "n", [(1, H(0)), (2, H(1)), (4, H(2))])
    assert requests.delete(api + f"/entities/{id_}/attrs/n").status_code == 204
    assert len(instances(temporal(api, id_), "n")) == 4
    e = aggr(api, id_, ["totalCount", "sum", "max"], timeproperty="createdAt",
             timerel="before", timeAt=FAR_FUTURE)
    body = e["n"]
    assert [b[0] for b in body["totalCount"]] == [3]
    assert [b[0] for b in body["sum"]] == [7]
    assert [b[0] for b in body["max"]] == [4]


# ================================================================================================
# 6. Temporal provision (5.6.11-5.6.16; HTTP 6.18-6.22)
# ================================================================================================
def tpost(api, body, headers=None):
    return requests.post(api + "/temporal/entities", json=body, headers=headers or {})


def test_6_18_post_temporal_entity_creates_201_then_adds_204(api):
    t = new_type()
    id_ = eid(t)
    r = tpost(api, {"id": id_, "type": t, "temperature": [prop(1, observedAt=H(0)),
                                                            prop(2, observedAt=H(1))],
                    "owner": [rel("urn:ngsi-ld:Org:a", observedAt=H(0))]})
    assert r.status_code == 201, r.text
    assert urllib.parse.unquote(r.headers["Location"]) == "/ngsi-ld/v1/temporal/entities/" + id_
    e = temporal(api, id_)
    assert e["type"] == t
    assert values(e, "temperature") == [1, 2]
    assert times(instances(e, "temperature")) == [ts(H(0)), ts(H(1))]
    assert values(e, "owner") == ["urn:ngsi-ld:Org:a"]
    # upsert: instances are added to the existing temporal entity
    r = tpost(api, {"id": id_, "type": t, "temperature": [prop(3, observedAt=H(2))],
                    "humidity": [prop(50, observedAt=H(2))]})
    assert r.status_code == 204, r.text
    e = temporal(api, id_)
    assert values(e, "temperature") == [1, 2, 3]
    assert values(e, "humidity") == [50]
    assert values(e, "owner") == ["urn:ngsi-ld:Org:a"]
    # the current entity was never created (5.6.11: history only)
    assert_problem(requests.get(api + "/entities/" + id_), 404, "ResourceNotFound")


def test_6_20_add_attributes_204_and_404(api):
    t = new_type()
    id_ = eid(t)
    assert tpost(api, {"id": id_, "type": t, "a": [prop(1, observedAt=H(0))]}).status_code == 201
    r = requests.post(api + f"/temporal/entities/{id_}/attrs",
                      json={"a": [prop(2, observedAt=H(1))], "b": [prop("x", observedAt=H(1)),
                                                                   prop("y", observedAt=H(2))]})
    assert r.status_code == 204, r.text
    e = temporal(api, id_)
    assert values(e, "a") == [1, 2] and values(e, "b") == ["x", "y"]
    r = requests.post(api + f"/temporal/entities/urn:ngsi-ld:{t}:missing/attrs",
                      json={"a": [prop(2, observedAt=H(1))]})
    assert_problem(r, 404, "ResourceNotFound")


def test_6_21_delete_attribute_history(api):
    t = new_type()
    id_ = eid(t)
    r = tpost(api, {"id": id_, "type": t, "a": [prop(1, observedAt=H(0))],
                    "b": [prop(1, observedAt=H(0)), prop(2, observedAt=H(1))]})
    assert r.status_code == 201, r.text
    assert requests.delete(api + f"/temporal/entities/{id_}/attrs/b").status_code == 204
    e = temporal(api, id_)
    assert "b" not in e and values(e, "a") == [1]
    assert_problem(requests.delete(api + f"/temporal/entities/{id_}/attrs/b"), 404,
                   "ResourceNotFound")
    assert_problem(requests.delete(api + f"/temporal/entities/urn:ngsi-ld:{t}:none/attrs/a"),
                   404, "ResourceNotFound")


def test_6_21_delete_attribute_history_of_one_dataset(api):
    t = new_type()
    id_ = eid(t)
    r = tpost(api, {"id": id_, "type": t, "a": [prop(1, observedAt=H(0)),
                                                 prop(2, observedAt=H(0), datasetId=GPS),
                                                 prop(3, observedAt=H(1), datasetId=GPS)]})
    assert r.status_code == 201, r.text
    r = requests.delete(api + f"/temporal/entities/{id_}/attrs/a", params={"datasetId": GPS})
    assert r.status_code == 204, r.text
    insts = instances(temporal(api, id_), "a")
    assert [(val(i), i.get("datasetId")) for i in insts] == [(1, None)]


def test_6_22_patch_instance_replaces_it_and_sets_modified_at(api):
    import time
    t = new_type()
    id_ = eid(t)
    r = tpost(api, {"id": id_, "type": t, "a": [prop(1, observedAt=H(0)),
                                                 prop(2, observedAt=H(1))]})
    assert r.status_code == 201, r.text
    before = instances(temporal(api, id_, options="sysAttrs"), "a")
    first = before[0]
    time.sleep(0.02)
    r = requests.patch(api + f"/temporal/entities/{id_}/attrs/a/{first['instanceId']}",
                       json={"type": "Property", "value": 99, "observedAt": H(0),
                             "unitCode": "CEL"})
    assert r.status_code == 204, r.text
    after = instances(temporal(api, id_, options="sysAttrs"), "a")
    assert [val(i) for i in after] == [99, 2]
    p = after[0]
    assert p["instanceId"] == first["instanceId"] and p["unitCode"] == "CEL"
    assert ts(p["createdAt"]) == ts(first["createdAt"])
    assert ts(p["modifiedAt"]) > ts(first["modifiedAt"])
    assert after[1] == before[1]  # the other instance is untouched
    r = requests.patch(api + f"/temporal/entities/{id_}/attrs/a/urn:ngsi-ld:instance:999999999",
                       json={"type": "Property", "value": 5})
    assert_problem(r, 404, "ResourceNotFound")
    r = requests.patch(api + f"/temporal/entities/{id_}/attrs/a/{first['instanceId']}",
                       data="{", headers={"Content-Type": "application/json"})
    assert_problem(r, 400, "InvalidRequest")


def test_6_22_delete_instance(api):
    t = new_type()
    id_ = eid(t)
    r = tpost(api, {"id": id_, "type": t, "a": [prop(1, observedAt=H(0)),
                                                 prop(2, observedAt=H(1))]})
    assert r.status_code == 201, r.text
    first = instances(temporal(api, id_), "a")[0]
    url = api + f"/temporal/entities/{id_}/attrs/a/{first['instanceId']}"
    assert requests.delete(url).status_code == 204
    insts = instances(temporal(api, id_), "a")
    assert [val(i) for i in insts] == [2]
    assert first["instanceId"] not in {i["instanceId"] for i in insts}
    assert_problem(requests.delete(url), 404, "ResourceNotFound")


def test_6_19_delete_temporal_entity(api):
    t = new_type()
    id_ = eid(t)
    assert tpost(api, {"id": id_, "type": t, "a": [prop(1, observedAt=H(0))]}).status_code == 201
    assert requests.delete(api + "/temporal/entities/" + id_).status_code == 204
    assert_problem(tget(api, id_), 404, "ResourceNotFound")
    assert_problem(requests.delete(api + "/temporal/entities/" + id_), 404, "ResourceNotFound")
    assert tquery_ids(api, type=t, timerel="after", timeAt=EPOCH) == []


def test_5_6_11_temporal_writes_never_change_the_current_entity(api):
    import time
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "a": prop(1, observedAt=H(0))})
    current = requests.get(api + "/entities/" + id_, params={"options": "sysAttrs"}).json()
    time.sleep(0.02)
    r = requests.post(api + f"/temporal/entities/{id_}/attrs",
                      json={"a": [prop(100, observedAt=H(5))], "b": [prop(7, observedAt=H(5))]})
    assert r.status_code == 204, r.text
    assert tpost(api, {"id": id_, "type": t, "a": [prop(200, observedAt=H(6))]}).status_code == 204
    e = temporal(api, id_)
    assert values(e, "a") == [1, 100, 200] and values(e, "b") == [7]
    inst = instances(e, "a")[1]
    r = requests.patch(api + f"/temporal/entities/{id_}/attrs/a/{inst['instanceId']}",
                       json={"type": "Property", "value": 101, "observedAt": H(5)})
    assert r.status_code == 204, r.text
    assert requests.delete(api + f"/temporal/entities/{id_}/attrs/b").status_code == 204
    got = requests.get(api + "/entities/" + id_, params={"options": "sysAttrs"}).json()
    assert got == current
    # deleting the whole history leaves the entity alone too
    assert requests.delete(api + "/temporal/entities/" + id_).status_code == 204
    assert requests.get(api + "/entities/" + id_, params={"options": "sysAttrs"}).json() == current


def test_5_5_10_a_temporal_create_creates_its_tenant(api):
    """A tenant exists from its first entity on (5.5.10), also when that entity was created
    through POST /temporal/entities: queries in that tenant are answered, not NonexistentTenant."""
    tenant = "tcreated" + uid().replace("-", "")[:8]
    h = {"NGSILD-Tenant": tenant}
    t = new_type()
    id_ = eid(t)
    r = requests.post(api + "/temporal/entities", headers=h,
                      json={"id": id_, "type": t, "a": [prop(1, observedAt=H(0))]})
    assert r.status_code == 201, r.text
    r = requests.get(api + "/temporal/entities", headers=h,
                     params={"type": t, "timerel": "after", "timeAt": H(-1)})
    assert r.status_code == 200, r.text
    assert [e["id"] for e in r.json()] == [id_]


# ================================================================================================
# 7. Truncation (instance paging: 206 Partial Content + Content-Range)
# ================================================================================================
CR_SPAN = re.compile(r"^date-time (.+)-(\d{4}-\d\d-\d\dT.+)/(\d+|\*)$")


def content_range(r):
    cr = r.headers.get("Content-Range")
    assert cr, f"no Content-Range in {dict(r.headers)}"
    m = CR_SPAN.match(cr)
    assert m, f"bad Content-Range {cr!r}"
    return ts(m.group(1)), ts(m.group(2)), m.group(3)


@pytest.fixture(scope="module")
def capped35(capped):
    api = capped.api
    t = new_type()
    pts = [(k, H(k)) for k in range(35)]
    return api, t, series(api, eid(t), t, "n", pts)


def test_truncation_is_206_with_a_content_range(capped35):
    api, _, id_ = capped35
    r = tget(api, id_)
    assert r.status_code == 206, (r.status_code, r.text[:300])
    insts = instances(r.json(), "n")
    assert [val(i) for i in insts] == list(range(10))  # the first ones in time order
    first, last, total = content_range(r)
    assert (first, last) == (ts(insts[0]["observedAt"]), ts(insts[-1]["observedAt"]))
    assert total in ("35", "*")


def test_truncation_pages_on_with_timerel_after_last(capped35):
    api, _, id_ = capped35
    seen = {}
    params = {}
    for _ in range(10):
        r = tget(api, id_, **params)
        assert r.status_code in (200, 206), r.text
        insts = instances(r.json(), "n")
        assert len(insts) <= 10
        for i in insts:
            seen[i["instanceId"]] = val(i)
        if r.status_code == 200:
            assert "Content-Range" not in r.headers or r.headers["Content-Range"].startswith(
                "date-time")
            break
        assert len(insts) == 10
        _, last, _ = content_range(r)
        assert last == ts(insts[-1]["observedAt"])
        params = {"timerel": "after", "timeAt": iso(last)}
    else:
        raise AssertionError("paging did not end")
    assert sorted(seen.values()) == list(range(35))


def test_truncation_last_n_above_the_cap_gives_the_latest(capped35):
    api, _, id_ = capped35
    r = tget(api, id_, lastN="20")
    assert r.status_code == 206, r.text[:300]
    insts = instances(r.json(), "n")
    assert [val(i) for i in insts] == list(range(25, 35))
    first, last, _ = content_range(r)
    assert (first, last) == (ts(H(34)), ts(H(25)))  # backwards (6.3.10): newest, then the cut
    r = tget(api, id_, lastN="5")
    assert r.status_code == 200 and values(r.json(), "n") == list(range(30, 35))


def test_truncation_applies_to_the_query(capped35):
    api, t, id_ = capped35
    r = tquery(api, type=t, timerel="after", timeAt=H(0))
    assert r.status_code == 206, r.text[:300]
    [e] = r.json()
    assert values(e, "n") == list(range(10))
    first, last, _ = content_range(r)
    assert (first, last) == (ts(H(0)), ts(H(9)))
    r = tquery(api, type=t, timerel="between", timeAt=H(3), endTimeAt=H(8))
    assert r.status_code == 200 and values(r.json()[0], "n") == [3, 4, 5, 6, 7]


# ================================================================================================
# 8. History off (POLIS_HISTORY, POLIS_HISTORY_OFF_TYPES, POLIS_HISTORY_OFF_TENANTS)
# ================================================================================================
def _write_some(api, t, headers=None):
    id_ = create(api, {"id": eid(t), "type": t, "a": prop(1, observedAt=H(0)),
                       "b": prop(1, observedAt=H(0))}, headers)
    patch_attrs(api, id_, {"a": prop(2, observedAt=H(1))}, headers)
    assert requests.delete(api + f"/entities/{id_}/attrs/b",
                           headers=headers or {}).status_code == 204
    return id_


def test_history_off_records_nothing(no_history):
    api = no_history.api
    t = new_type()
    id_ = _write_some(api, t)
    assert requests.get(api + "/entities/" + id_).json()["a"]["value"] == 2  # the API works
    assert_problem(tget(api, id_), 404, "ResourceNotFound")
    assert requests.delete(api + "/entities/" + id_).status_code == 204
    assert_problem(tget(api, id_), 404, "ResourceNotFound")
    assert tquery_ids(api, type=t, timerel="after", timeAt=EPOCH) == []


def test_history_off_for_one_type(selective):
    api = selective.api
    quiet = _write_some(api, "Quiet")
    loud = _write_some(api, "Loud")
    assert_problem(tget(api, quiet), 404, "ResourceNotFound")
    e = temporal(api, loud)
    assert values(e, "a") == [1, 2]
    assert tquery_ids(api, type="Quiet,Loud", timerel="after", timeAt=EPOCH) == [loud]


def test_history_off_for_one_tenant(selective):
    api = selective.api
    t = new_type()
    q = {"NGSILD-Tenant": "quiet"}
    quiet = _write_some(api, t, q)
    loud = _write_some(api, t)
    r = tget(api, quiet, q)
    assert r.status_code == 404, r.text
    assert values(temporal(api, loud), "a") == [1, 2]


# ================================================================================================
# 9. Restart
# ================================================================================================
def test_history_survives_a_restart(fresh_polis):
    p = fresh_polis.start()
    t = new_type()
    id_ = create(p.api, {"id": eid(t), "type": t, "a": prop(1, observedAt=H(0)),
                         "b": rel("urn:ngsi-ld:X:1", observedAt=H(0))})
    patch_attrs(p.api, id_, {"a": prop(2, observedAt=H(1))})
    assert requests.delete(p.api + f"/entities/{id_}/attrs/b").status_code == 204
    tid = eid(t)
    assert tpost(p.api, {"id": tid, "type": t, "c": [prop(5, observedAt=H(2))]}).status_code == 201
    before = temporal(p.api, id_, options="sysAttrs")
    tbefore = temporal(p.api, tid, options="sysAttrs")
    assert p.stop() == 0
    p.start()
    assert temporal(p.api, id_, options="sysAttrs") == before
    assert temporal(p.api, tid, options="sysAttrs") == tbefore
    assert tquery_ids(p.api, type=t, timerel="after", timeAt=EPOCH) == sorted([id_, tid])
    # instance ids stay unique after the restart
    patch_attrs(p.api, id_, {"a": prop(3, observedAt=H(3))})
    ids = [i["instanceId"] for i in instances(temporal(p.api, id_), "a")]
    old = {i["instanceId"] for a in ("a", "b") for i in instances(before, a)} | \
        {i["instanceId"] for i in instances(tbefore, "c")}
    assert len(ids) == 3 and ids[2] not in old


# ================================================================================================
# 10. Malformed input
# ================================================================================================
BAD_ID = "urn:ngsi-ld:BadTemporal:new"


class Raw(str):
    """A request body sent as is (not JSON-encoded)."""


def encode(body):
    return str(body) if isinstance(body, Raw) else json.dumps(body)


BAD_CREATE = [
    ("malformed JSON", Raw('{"id": "%s", "type": ' % BAD_ID), "InvalidRequest"),
    ("trailing garbage", Raw('{"id": "%s", "type": "T"} xx' % BAD_ID), "InvalidRequest"),
    ("empty body", Raw(""), "InvalidRequest"),
    ("body is an array", [{"id": BAD_ID, "type": "T"}], "BadRequestData"),
    ("body is a string", "hello", "BadRequestData"),
    ("missing id", {"type": "T", "a": [prop(1, observedAt=H(0))]}, "BadRequestData"),
    ("id not a URI", {"id": "not a uri", "type": "T", "a": [prop(1)]}, "BadRequestData"),
    ("id a number", {"id": 42, "type": "T"}, "BadRequestData"),
    ("unknown attribute type", {"id": BAD_ID, "type": "T",
                                "a": [{"type": "Nonsense", "value": 1}]}, "BadRequestData"),
    ("property without value", {"id": BAD_ID, "type": "T",
                                "a": [{"type": "Property", "observedAt": H(0)}]},
     "BadRequestData"),
    ("relationship object not a URI", {"id": BAD_ID, "type": "T",
                                       "r": [{"type": "Relationship", "object": "no uri"}]},
     "BadRequestData"),
    ("observedAt garbage", {"id": BAD_ID, "type": "T",
                            "a": [prop(1, observedAt="yesterday")]}, "BadRequestData"),
    ("observedAt not UTC", {"id": BAD_ID, "type": "T",
                            "a": [prop(1, observedAt="2024-01-01T00:00:00+02:00")]},
     "BadRequestData"),
]


@pytest.mark.parametrize("body, etype", [(b, e) for _, b, e in BAD_CREATE],
                         ids=[n for n, _, _ in BAD_CREATE])
def test_6_18_malformed_temporal_entity_is_400(polis, body, etype):
    api = polis.api
    r = requests.post(api + "/temporal/entities", data=encode(body),
                      headers={"Content-Type": "application/json"})
    assert_problem(r, 400, etype)
    assert_problem(tget(api, BAD_ID), 404, "ResourceNotFound")  # nothing half-written
    assert requests.get(polis.url + "/health").status_code == 200


BAD_QUERY = [
    ("malformed JSON", Raw('{"type": "Query", '), "InvalidRequest"),
    ("body is an array", [{"type": "Query"}], "BadRequestData"),
    ("temporalQ not an object", {"type": "Query", "entities": [{"type": "T"}],
                                 "temporalQ": "after"}, "BadRequestData"),
    ("temporalQ timerel unknown", {"type": "Query", "entities": [{"type": "T"}],
                                   "temporalQ": {"timerel": "sometime", "timeAt": H(0)}},
     "BadRequestData"),
    ("temporalQ timeAt a number", {"type": "Query", "entities": [{"type": "T"}],
                                   "temporalQ": {"timerel": "after", "timeAt": 5}},
     "BadRequestData"),
    ("temporalQ lastN zero", {"type": "Query", "entities": [{"type": "T"}],
                              "temporalQ": {"timerel": "after", "timeAt": H(0), "lastN": 0}},
     "BadRequestData"),
    ("temporalQ lastN a string", {"type": "Query", "entities": [{"type": "T"}],
                                  "temporalQ": {"timerel": "after", "timeAt": H(0),
                                                "lastN": "two"}}, "BadRequestData"),
    ("no temporalQ", {"type": "Query", "entities": [{"type": "T"}]}, "BadRequestData"),
    ("too wide", {"type": "Query", "temporalQ": {"timerel": "after", "timeAt": H(0)}},
     "BadRequestData"),
    ("entities not an array", {"type": "Query", "entities": {"type": "T"},
                               "temporalQ": {"timerel": "after", "timeAt": H(0)}},
     "BadRequestData"),
    ("bad q", {"type": "Query", "entities": [{"type": "T"}], "q": "a==",
               "temporalQ": {"timerel": "after", "timeAt": H(0)}}, "BadRequestData"),
]


@pytest.mark.parametrize("body, etype", [(b, e) for _, b, e in BAD_QUERY],
                         ids=[n for n, _, _ in BAD_QUERY])
def test_6_24_malformed_query_is_400(polis, body, etype):
    r = requests.post(polis.api + "/temporal/entityOperations/query", data=encode(body),
                      headers={"Content-Type": "application/json"})
    assert_problem(r, 400, etype)
    assert requests.get(polis.url + "/health").status_code == 200


def test_6_20_malformed_attributes_are_400(api):
    t = new_type()
    id_ = eid(t)
    assert tpost(api, {"id": id_, "type": t, "a": [prop(1, observedAt=H(0))]}).status_code == 201
    url = api + f"/temporal/entities/{id_}/attrs"
    r = requests.post(url, data="{", headers={"Content-Type": "application/json"})
    assert_problem(r, 400, "InvalidRequest")
    assert_problem(requests.post(url, json=[1]), 400, "BadRequestData")
    assert_problem(requests.post(url, json={"a": [{"type": "Property"}]}), 400, "BadRequestData")
    assert values(temporal(api, id_), "a") == [1]  # unchanged
