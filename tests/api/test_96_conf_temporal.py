# SPDX-License-Identifier: Apache-2.0
"""NGSI-LD V1.9.1 conformance of the temporal API (issue 11, area `temporal`): deletion instances
and timeproperty=deletedAt (4.5.6-4.5.9, 5.7.3), temporal pagination (6.3.10), the simplified
representation per datasetId (4.5.9, 4.5.5), the start of aggregation periods (4.5.19), what
Retrieve Temporal Evolution answers when nothing matches (5.7.3.4), the concise temporal
representation, and transient entities and attributes (4.22, expiresAt).

Every test uses entity types of its own, so the shared session broker's other data never
interferes; pagination runs on brokers of their own (POLIS_TEMPORAL_MAX_INSTANCES)."""
import datetime
import re
import time
import uuid

import pytest
import requests

from conftest import TIMEOUT_MULT, Polis, assert_problem

UTC = datetime.timezone.utc
NULL = "urn:ngsi-ld:null"
INSTANCE_ID = re.compile(r"^urn:ngsi-ld:instance:\d+$")
GPS = "urn:ngsi-ld:Dataset:gps"
RADAR = "urn:ngsi-ld:Dataset:radar"
BASE = datetime.datetime(2024, 3, 1, tzinfo=UTC)
LONG_AGO = "2000-01-01T00:00:00Z"
MERGE = {"Content-Type": "application/merge-patch+json"}


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
    """An ISO 8601 DateTime as an aware datetime in UTC."""
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


def H(hours):
    return iso(BASE + datetime.timedelta(hours=hours))


def prop(v, **extra):
    return dict({"type": "Property", "value": v}, **extra)


def rel(o, **extra):
    return dict({"type": "Relationship", "object": o}, **extra)


def create(api, e):
    r = requests.post(api + "/entities", json=e)
    assert r.status_code == 201, r.text
    return e["id"]


def patch_attrs(api, id_, body):
    r = requests.patch(api + f"/entities/{id_}/attrs", json=body)
    assert r.status_code == 204, r.text


def tget(api, id_, **params):
    return requests.get(api + "/temporal/entities/" + id_, params=params)


def temporal(api, id_, **params):
    r = tget(api, id_, **params)
    assert r.status_code == 200, (params, r.status_code, r.text)
    return r.json()


def val(i):
    for k in ("value", "object", "languageMap", "vocab", "json", "valueList", "objectList"):
        if k in i:
            return i[k]
    raise AssertionError(f"instance without a value member: {i}")


def insts(ent, attr):
    v = ent[attr]
    assert isinstance(v, list), v
    for i in v:
        assert INSTANCE_ID.match(i["instanceId"]), i
    return v


def series_entity(api, t, attrs):
    """A temporal entity written in one POST /temporal/entities: attrs {name: [(value, time)]}."""
    id_ = eid(t)
    body = {"id": id_, "type": t}
    for name, pts in attrs.items():
        body[name] = [prop(v, observedAt=tm) for v, tm in pts]
    r = requests.post(api + "/temporal/entities", json=body)
    assert r.status_code == 201, r.text
    return id_


def wait_until(pred, timeout=20):
    deadline = time.time() + timeout * TIMEOUT_MULT
    while True:
        got = pred()
        if got:
            return got
        if time.time() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)


# ================================================================================================
# 1. Deletion instances and timeproperty=deletedAt (4.5.7, 4.5.8, 5.7.3, 4.8)
# ================================================================================================
def deleted_window(api, id_, **extra):
    return temporal(api, id_, timeproperty="deletedAt", timerel="after", timeAt=LONG_AGO,
                    **extra)


def test_4_5_7_attribute_delete_is_a_deletion_instance_found_by_deleted_at(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "a": prop(1, observedAt=H(0)),
                       "b": prop(2, observedAt=H(0))})
    assert requests.delete(api + f"/entities/{id_}/attrs/a").status_code == 204
    e = deleted_window(api, id_)
    assert set(e) == {"id", "type", "a"}, e  # b was never deleted: no instance in the window
    [d] = insts(e, "a")
    assert d["type"] == "Property" and d["value"] == NULL and "deletedAt" in d, d
    # without the deletedAt window the deletion is the last instance of a, after the value
    a = insts(temporal(api, id_), "a")
    assert [val(i) for i in a] == [1, NULL] and "deletedAt" not in a[0]


def test_4_5_8_relationship_deletion_instance_has_object_null(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "r": rel("urn:ngsi-ld:X:1")})
    assert requests.delete(api + f"/entities/{id_}/attrs/r").status_code == 204
    [d] = insts(deleted_window(api, id_), "r")
    assert d["type"] == "Relationship" and d["object"] == NULL and "deletedAt" in d, d


def test_4_5_7_entity_delete_records_a_deletion_instance_per_attribute(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "a": prop(1), "r": rel("urn:ngsi-ld:X:1"),
                       "m": [prop(1), prop(2, datasetId=GPS)]})
    assert requests.delete(api + f"/entities/{id_}").status_code == 204
    e = deleted_window(api, id_)
    assert set(e) == {"id", "type", "a", "r", "m"}, e
    assert [val(i) for i in insts(e, "a")] == [NULL]
    assert [val(i) for i in insts(e, "r")] == [NULL]
    m = insts(e, "m")
    assert sorted(i.get("datasetId", "") for i in m) == ["", GPS]
    assert all(val(i) == NULL and "deletedAt" in i for i in m)
    # the deletion times are the time of the delete, one for all
    assert len({i["deletedAt"] for i in m + insts(e, "a") + insts(e, "r")}) == 1


@pytest.mark.parametrize("how", ["patch-attrs", "merge-patch", "patch-attr"])
def test_5_4_ngsi_ld_null_deletes_are_deletion_instances(api, how):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "a": prop(1), "keep": prop(0)})
    if how == "patch-attrs":
        r = requests.patch(api + f"/entities/{id_}/attrs", json={"a": prop(NULL)})
    elif how == "merge-patch":
        r = requests.patch(api + f"/entities/{id_}", json={"a": NULL}, headers=MERGE)
    else:
        r = requests.patch(api + f"/entities/{id_}/attrs/a", json={"type": "Property",
                                                                   "value": NULL})
    assert r.status_code == 204, r.text
    assert "a" not in requests.get(api + f"/entities/{id_}").json()
    e = deleted_window(api, id_)
    assert set(e) == {"id", "type", "a"}, e
    [d] = insts(e, "a")
    assert d["value"] == NULL and "deletedAt" in d


def test_5_7_3_deleted_at_window_bounds_apply_to_the_deletion_time(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "a": prop(1)})
    assert requests.delete(api + f"/entities/{id_}/attrs/a").status_code == 204
    [d] = insts(deleted_window(api, id_), "a")
    at = ts(d["deletedAt"])
    after = iso(at + datetime.timedelta(milliseconds=1))
    r = tget(api, id_, timeproperty="deletedAt", timerel="after", timeAt=after)
    assert_problem(r, 404, "ResourceNotFound")  # nothing deleted after it
    e = temporal(api, id_, timeproperty="deletedAt", timerel="before", timeAt=after)
    assert [val(i) for i in insts(e, "a")] == [NULL]


def test_4_5_9_simplified_shows_a_deletion_as_null_at_its_deletion_time(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "a": prop(1, observedAt=H(0)),
                       "r": rel("urn:ngsi-ld:X:1")})
    assert requests.delete(api + f"/entities/{id_}").status_code == 204
    e = deleted_window(api, id_, options="temporalValues")
    assert e["a"]["type"] == "Property"
    [[v, when]] = e["a"]["values"]
    assert v == NULL
    [d] = insts(deleted_window(api, id_), "a")
    assert ts(when) == ts(d["deletedAt"])
    assert e["r"] == {"type": "Relationship", "objects": [[NULL, e["r"]["objects"][0][1]]]}


def test_concise_shows_a_deletion_instance_without_type(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "a": prop(1), "r": rel("urn:ngsi-ld:X:1")})
    assert requests.delete(api + f"/entities/{id_}").status_code == 204
    e = deleted_window(api, id_, format="concise")
    [a] = e["a"]
    assert set(a) == {"value", "deletedAt", "instanceId"} and a["value"] == NULL, a
    [r] = e["r"]
    assert set(r) == {"object", "deletedAt", "instanceId"} and r["object"] == NULL, r


# ================================================================================================
# 2. Temporal pagination (6.3.10): 206 Partial Content + Content-Range
# ================================================================================================
CR = re.compile(r"^date-time (\d{4}-\d\d-\d\dT[^/]+?)-(\d{4}-\d\d-\d\dT[^/]+)/(\d+|\*)$")


def content_range(r):
    assert r.status_code == 206, (r.status_code, r.text[:300])
    cr = r.headers.get("Content-Range")
    assert cr, dict(r.headers)
    m = CR.match(cr)
    assert m, f"bad Content-Range {cr!r}"
    return ts(m.group(1)), ts(m.group(2)), m.group(3)


@pytest.fixture(scope="module")
def paged(tmp_path_factory):
    """A broker returning at most 3 instances per attribute; an entity with `a` at H(0..9) and
    `b` at H(0.5) and H(8.5)."""
    p = Polis(tmp_path_factory.mktemp("paged"),
              env={"POLIS_TEMPORAL_MAX_INSTANCES": "3"}).start()
    t = new_type()
    id_ = series_entity(p.api, t, {"a": [(k, H(k)) for k in range(10)],
                                   "b": [(100, H(0.5)), (108, H(8.5))]})
    yield p.api, t, id_
    p.check_exit()


def page_of(e):
    return ([val(i) for i in e.get("a", [])], [val(i) for i in e.get("b", [])])


@pytest.mark.parametrize("params, a, b, start, end", [
    # forwards (no lastN): oldest first; range-start timeAt for after/between, else the first
    # instance returned; range-end the cut (the last instance of the cut attribute)
    ({}, [0, 1, 2], [100], H(0), H(2)),
    ({"timerel": "before", "timeAt": H(20)}, [0, 1, 2], [100], H(0), H(2)),
    ({"timerel": "after", "timeAt": H(1)}, [1, 2, 3], [], H(1), H(3)),
    ({"timerel": "between", "timeAt": H(1), "endTimeAt": H(8)}, [1, 2, 3], [], H(1), H(3)),
])
def test_6_3_10_forwards_pages_without_last_n(paged, params, a, b, start, end):
    api, _, id_ = paged
    r = tget(api, id_, **params)
    first, last, size = content_range(r)
    assert page_of(r.json()) == (a, b)
    assert (first, last, size) == (ts(start), ts(end), "*")


@pytest.mark.parametrize("params, a, b, start, end", [
    # backwards (lastN): newest first; range-start endTimeAt (between), timeAt (before), else
    # the most recent instance returned; range-end the cut (the oldest of the cut attribute)
    ({"lastN": "5"}, [7, 8, 9], [108], H(9), H(7)),
    ({"lastN": "5", "timerel": "after", "timeAt": H(1)}, [7, 8, 9], [108], H(9), H(7)),
    ({"lastN": "5", "timerel": "before", "timeAt": H(9)}, [6, 7, 8], [108], H(9), H(6)),
    ({"lastN": "5", "timerel": "between", "timeAt": H(1), "endTimeAt": H(8)}, [5, 6, 7], [],
     H(8), H(5)),
])
def test_6_3_10_backwards_pages_with_last_n(paged, params, a, b, start, end):
    api, _, id_ = paged
    r = tget(api, id_, **params)
    first, last, size = content_range(r)
    assert page_of(r.json()) == (a, b)
    assert (first, last, size) == (ts(start), ts(end), "5")


def test_6_3_10_no_partial_content_when_everything_fits(paged):
    api, _, id_ = paged
    r = tget(api, id_, lastN="3")
    assert r.status_code == 200 and "Content-Range" not in r.headers, r.headers
    assert page_of(r.json()) == ([7, 8, 9], [100, 108])
    r = tget(api, id_, timerel="between", timeAt=H(2), endTimeAt=H(5))
    assert r.status_code == 200 and "Content-Range" not in r.headers
    assert page_of(r.json()) == ([2, 3, 4], [])


def test_6_3_10_forward_pages_cover_every_instance_once(paged):
    api, _, id_ = paged
    seen = {}
    params = {}
    for _ in range(20):
        r = tget(api, id_, **params)
        assert r.status_code in (200, 206), r.text
        for name in ("a", "b"):
            for i in r.json().get(name, []):
                seen[i["instanceId"]] = val(i)
        if r.status_code == 200:
            break
        _, last, _ = content_range(r)
        params = {"timerel": "after", "timeAt": iso(last)}  # after is inclusive (4.11)
    else:
        raise AssertionError("paging did not end")
    assert sorted(seen.values()) == list(range(10)) + [100, 108]


def test_6_3_10_backward_pages_cover_every_instance_once(paged):
    api, _, id_ = paged
    seen = {}
    params = {"lastN": "100"}
    for _ in range(20):
        r = tget(api, id_, **params)
        assert r.status_code in (200, 206), r.text
        for name in ("a", "b"):
            for i in r.json().get(name, []):
                seen[i["instanceId"]] = val(i)
        if r.status_code == 200:
            break
        _, last, size = content_range(r)
        assert size == "100"
        params = {"lastN": "100", "timerel": "before", "timeAt": iso(last)}  # exclusive
    else:
        raise AssertionError("paging did not end")
    assert sorted(seen.values()) == list(range(10)) + [100, 108]


def test_6_3_10_query_pages_share_one_cut(paged):
    api, t, id_ = paged
    other = series_entity(api, t, {"a": [(50 + k, H(k + 0.25)) for k in range(2)]})
    try:
        r = requests.get(api + "/temporal/entities", params={
            "type": t, "timerel": "after", "timeAt": H(0)})
        first, last, size = content_range(r)
        assert (first, last, size) == (ts(H(0)), ts(H(2)), "*")
        by_id = {e["id"]: page_of(e) for e in r.json()}
        assert by_id == {id_: ([0, 1, 2], [100]), other: ([50, 51], [])}
        r = requests.post(api + "/temporal/entityOperations/query", json={
            "type": "Query", "entities": [{"type": t}],
            "temporalQ": {"timerel": "after", "timeAt": H(0)}})
        assert content_range(r)[:2] == (ts(H(0)), ts(H(2)))
    finally:
        assert requests.delete(api + f"/temporal/entities/{other}").status_code == 204


def test_6_3_10_default_limit_is_1000_instances_per_attribute(api):
    t = new_type()
    start = datetime.datetime(2020, 1, 1, tzinfo=UTC)
    pts = [(k, iso(start + datetime.timedelta(minutes=k))) for k in range(1001)]
    id_ = series_entity(api, t, {"n": pts})
    r = tget(api, id_)
    first, last, _ = content_range(r)
    assert [val(i) for i in r.json()["n"]] == list(range(1000))
    assert (first, last) == (ts(pts[0][1]), ts(pts[999][1]))
    r = tget(api, id_, lastN="1000")
    assert r.status_code == 200 and len(r.json()["n"]) == 1000


# ================================================================================================
# 3. Simplified temporal representation: one object per datasetId (4.5.9, 4.5.5)
# ================================================================================================
def test_4_5_9_simplified_keeps_one_object_per_dataset_id(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "speed": [
        prop(1, observedAt=H(0)), prop(10, observedAt=H(0), datasetId=GPS),
        prop(20, observedAt=H(0), datasetId=RADAR)]})
    patch_attrs(api, id_, {"speed": prop(11, observedAt=H(1), datasetId=GPS)})
    patch_attrs(api, id_, {"speed": prop(2, observedAt=H(2))})
    s = temporal(api, id_, options="temporalValues")["speed"]
    assert isinstance(s, list) and len(s) == 3, s
    by_ds = {o.get("datasetId"): o for o in s}
    assert set(by_ds) == {None, GPS, RADAR}
    assert "datasetId" not in s[0]  # the default instance first, without a datasetId (4.5.5)
    for o in s:
        assert o["type"] == "Property" and set(o) <= {"type", "values", "datasetId"}, o
    assert [[v, ts(x)] for v, x in by_ds[None]["values"]] == [[1, ts(H(0))], [2, ts(H(2))]]
    assert [v for v, _ in by_ds[GPS]["values"]] == [10, 11]
    assert [v for v, _ in by_ds[RADAR]["values"]] == [20]
    # format=temporalValues is the same representation
    assert temporal(api, id_, format="temporalValues")["speed"] == s


def test_4_5_9_simplified_of_one_dataset_is_one_object(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t,
                       "speed": [prop(1, observedAt=H(0)), prop(10, datasetId=GPS,
                                                               observedAt=H(0))]})
    s = temporal(api, id_, options="temporalValues", datasetId=GPS)["speed"]
    assert s == {"type": "Property", "datasetId": GPS, "values": [[10, s["values"][0][1]]]}
    s = temporal(api, id_, options="temporalValues", datasetId="@none")["speed"]
    assert s["type"] == "Property" and "datasetId" not in s
    assert [v for v, _ in s["values"]] == [1]


def test_4_5_9_simplified_relationship_per_dataset_id(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "near": [
        rel("urn:ngsi-ld:X:1"), rel("urn:ngsi-ld:X:2", datasetId=GPS)]})
    s = temporal(api, id_, options="temporalValues")["near"]
    assert [(o["type"], o.get("datasetId"), [v for v, _ in o["objects"]]) for o in s] == [
        ("Relationship", None, ["urn:ngsi-ld:X:1"]), ("Relationship", GPS, ["urn:ngsi-ld:X:2"])]


# ================================================================================================
# 4. Aggregation periods start at timeAt, or at the first instance (4.5.19, 5.7.3)
# ================================================================================================
@pytest.fixture(scope="module")
def odd_times(polis):
    """Instances at odd times (03:17, 04:20, 05:30, then the next day 02:00)."""
    t = new_type()
    pts = [(1, "2024-05-01T03:17:00Z"), (2, "2024-05-01T04:20:00Z"),
           (4, "2024-05-01T05:30:00Z"), (8, "2024-05-02T02:00:00Z")]
    return polis.api, series_entity(polis.api, t, {"x": pts})


def aggr(api, id_, **params):
    e = temporal(api, id_, options="aggregatedValues", aggrMethods="sum,totalCount", **params)
    return [(v, ts(s), ts(x)) for v, s, x in e["x"]["sum"]]


def T(s):
    return ts(s)


def test_4_5_19_periods_without_timerel_start_at_the_first_instance(odd_times):
    api, id_ = odd_times
    assert aggr(api, id_, aggrPeriodDuration="P1D") == [
        (15, T("2024-05-01T03:17:00Z"), T("2024-05-02T03:17:00Z"))]
    assert aggr(api, id_, aggrPeriodDuration="PT1H") == [
        (1, T("2024-05-01T03:17:00Z"), T("2024-05-01T04:17:00Z")),
        (2, T("2024-05-01T04:17:00Z"), T("2024-05-01T05:17:00Z")),
        (4, T("2024-05-01T05:17:00Z"), T("2024-05-01T06:17:00Z")),
        (8, T("2024-05-02T01:17:00Z"), T("2024-05-02T02:17:00Z"))]


def test_4_5_19_periods_with_before_start_at_the_first_instance_and_end_at_time_at(odd_times):
    api, id_ = odd_times
    assert aggr(api, id_, aggrPeriodDuration="PT2H", timerel="before",
                timeAt="2024-05-01T06:00:00Z") == [
        (3, T("2024-05-01T03:17:00Z"), T("2024-05-01T05:17:00Z")),
        (4, T("2024-05-01T05:17:00Z"), T("2024-05-01T06:00:00Z"))]


def test_4_5_19_periods_with_after_or_between_start_at_time_at(odd_times):
    api, id_ = odd_times
    assert aggr(api, id_, aggrPeriodDuration="P1D", timerel="after",
                timeAt="2024-05-01T04:00:00Z") == [
        (14, T("2024-05-01T04:00:00Z"), T("2024-05-02T04:00:00Z"))]
    assert aggr(api, id_, aggrPeriodDuration="PT12H", timerel="between",
                timeAt="2024-05-01T01:00:00Z", endTimeAt="2024-05-02T03:00:00Z") == [
        (7, T("2024-05-01T01:00:00Z"), T("2024-05-01T13:00:00Z")),
        (8, T("2024-05-02T01:00:00Z"), T("2024-05-02T03:00:00Z"))]


# ================================================================================================
# 5. Nothing to answer is ResourceNotFound (5.7.3.4, 6.19.3.1)
# ================================================================================================
def test_5_7_3_4_unknown_attribute_is_resource_not_found(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "a": prop(1)})
    for params in ({"attrs": "unknown"}, {"attrs": "unknown", "options": "temporalValues"},
                   {"attrs": "unknown", "format": "concise"},
                   {"attrs": "unknown", "options": "aggregatedValues",
                    "aggrMethods": "totalCount"}):
        body = assert_problem(tget(api, id_, **params), 404, "ResourceNotFound")
        assert id_ in body["detail"]
    # a query with that projection selects nothing (and no entity without a type)
    r = requests.get(api + "/temporal/entities", params={
        "type": t, "attrs": "unknown", "timerel": "after", "timeAt": LONG_AGO})
    assert r.status_code == 200 and r.json() == [], r.text


def test_5_7_3_4_no_instance_in_the_window_is_resource_not_found(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "a": prop(1, observedAt=H(5))})
    assert_problem(tget(api, id_, timerel="before", timeAt=H(5)), 404, "ResourceNotFound")
    assert_problem(tget(api, id_, timerel="after", timeAt=H(6)), 404, "ResourceNotFound")
    e = temporal(api, id_, timerel="after", timeAt=H(5))
    assert e["type"] == t and [val(i) for i in insts(e, "a")] == [1]


def test_5_7_3_4_unknown_id_is_resource_not_found(api):
    assert_problem(tget(api, "urn:ngsi-ld:Nothing:" + uid()), 404, "ResourceNotFound")
    assert_problem(tget(api, "not a uri"), 400, "BadRequestData")


def test_5_7_3_deleted_entity_keeps_its_history_until_the_temporal_delete(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "a": prop(1)})
    assert requests.delete(api + f"/entities/{id_}").status_code == 204
    e = temporal(api, id_)
    assert e["type"] == t and [val(i) for i in insts(e, "a")] == [1, NULL]
    assert requests.delete(api + f"/temporal/entities/{id_}").status_code == 204
    assert_problem(tget(api, id_), 404, "ResourceNotFound")


# ================================================================================================
# 6. The concise temporal representation (format=concise, options=concise)
# ================================================================================================
def test_concise_temporal_instances_have_no_type(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t,
                       "a": prop(1, observedAt=H(0), unitCode="CEL",
                                 accuracy=prop(0.5)),
                       "r": rel("urn:ngsi-ld:X:1", observedAt=H(0)),
                       "words": {"type": "LanguageProperty", "languageMap": {"en": "yes"}},
                       "location": {"type": "GeoProperty",
                                    "value": {"type": "Point", "coordinates": [1, 2]}},
                       "plain": prop("text")})
    patch_attrs(api, id_, {"a": prop(2, observedAt=H(1))})
    for params in ({"format": "concise"}, {"options": "concise"}):
        e = temporal(api, id_, **params)
        assert e["id"] == id_ and e["type"] == t
        a = insts(e, "a")
        assert [val(i) for i in a] == [1, 2]
        assert all("type" not in i for i in a), a
        assert a[0]["unitCode"] == "CEL" and a[0]["accuracy"] == 0.5, a[0]
        assert ts(a[0]["observedAt"]) == ts(H(0))
        [r] = insts(e, "r")
        assert set(r) == {"object", "observedAt", "instanceId"}, r
        [w] = insts(e, "words")
        assert set(w) == {"languageMap", "instanceId"} and w["languageMap"] == {"en": "yes"}
        [loc] = insts(e, "location")
        assert loc == {"value": {"type": "Point", "coordinates": [1, 2]},
                       "instanceId": loc["instanceId"]}
        [p] = insts(e, "plain")
        assert p == {"value": "text", "instanceId": p["instanceId"]}


def test_concise_temporal_with_last_n_and_sys_attrs(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "a": prop(1, observedAt=H(0))})
    patch_attrs(api, id_, {"a": prop(2, observedAt=H(1))})
    [i] = temporal(api, id_, format="concise", lastN="1", options="sysAttrs")["a"]
    assert i["value"] == 2 and "type" not in i and "createdAt" in i and "modifiedAt" in i, i


def test_concise_temporal_query(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "a": prop(1, observedAt=H(0))})
    r = requests.get(api + "/temporal/entities", params={
        "type": t, "format": "concise", "timerel": "after", "timeAt": H(0)})
    assert r.status_code == 200, r.text
    [e] = r.json()
    assert e["id"] == id_ and [set(i) for i in e["a"]] == [{"value", "observedAt",
                                                             "instanceId"}]


def test_keyvalues_is_still_not_a_temporal_representation(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "a": prop(1)})
    assert_problem(tget(api, id_, format="keyValues"), 400, "BadRequestData")
    assert_problem(tget(api, id_, options="keyValues"), 400, "BadRequestData")


# ================================================================================================
# 7. Transient entities and attributes (4.22 expiresAt)
# ================================================================================================
def soon(seconds=1.5):
    return iso(datetime.datetime.now(UTC) + datetime.timedelta(seconds=seconds))


def subscribe(api, uri, t, triggers):
    r = requests.post(api + "/subscriptions", json={
        "type": "Subscription", "entities": [{"type": t}], "notificationTrigger": triggers,
        "notification": {"endpoint": {"uri": uri}}})
    assert r.status_code == 201, r.text
    return r.headers["Location"].rsplit("/", 1)[-1]


def gone(api, id_):
    return requests.get(api + f"/entities/{id_}").status_code == 404


def test_4_22_expired_entity_is_removed_notified_and_recorded(api, own_receiver):
    t = new_type()
    sid = subscribe(api, own_receiver.url("/expired"), t, ["entityDeleted"])
    try:
        id_ = create(api, {"id": eid(t), "type": t, "expiresAt": soon(), "a": prop(1)})
        later = create(api, {"id": eid(t), "type": t, "expiresAt": "2100-01-01T00:00:00Z",
                             "a": prop(1)})
        e = requests.get(api + f"/entities/{id_}", params={"options": "sysAttrs"}).json()
        assert "expiresAt" in e and ts(e["expiresAt"]), e  # a system attribute (4.22)
        assert "expiresAt" not in requests.get(api + f"/entities/{id_}").json()
        wait_until(lambda: gone(api, id_))
        # the removal is a deletion: notified to entityDeleted and recorded in history
        [rec] = own_receiver.wait_for("/expired", 1)
        [d] = rec["body"]["data"]
        assert d["id"] == id_ and "deletedAt" in d, d
        [i] = insts(deleted_window(api, id_), "a")
        assert i["value"] == NULL
        assert not gone(api, later)
    finally:
        requests.delete(api + f"/subscriptions/{sid}")


def test_4_22_expired_attribute_is_removed_and_notified_as_attribute_deleted(api,
                                                                            own_receiver):
    t = new_type()
    sid = subscribe(api, own_receiver.url("/expired-attr"), t, ["attributeDeleted"])
    try:
        id_ = create(api, {"id": eid(t), "type": t, "keep": prop(1),
                           "a": prop(2, expiresAt=soon()),
                           "m": [prop(3, datasetId=GPS, expiresAt=soon()), prop(4)]})
        e = requests.get(api + f"/entities/{id_}", params={"options": "sysAttrs"}).json()
        assert ts(e["a"]["expiresAt"]), e
        wait_until(lambda: "a" not in requests.get(api + f"/entities/{id_}").json())
        e = requests.get(api + f"/entities/{id_}").json()
        assert e["keep"]["value"] == 1 and e["m"]["value"] == 4 and "datasetId" not in e["m"]
        [rec] = own_receiver.wait_for("/expired-attr", 1)
        [d] = rec["body"]["data"]
        assert d["id"] == id_ and d["a"] == NULL, d
        h = deleted_window(api, id_)
        assert set(h) == {"id", "type", "a", "m"}, h
        assert [i.get("datasetId") for i in insts(h, "m")] == [GPS]
    finally:
        requests.delete(api + f"/subscriptions/{sid}")


def test_4_22_expires_at_must_be_a_date_time(api):
    t = new_type()
    for body in ({"id": eid(t), "type": t, "expiresAt": "tomorrow"},
                 {"id": eid(t), "type": t, "expiresAt": 5},
                 {"id": eid(t), "type": t, "a": prop(1, expiresAt="later")}):
        assert_problem(requests.post(api + "/entities", json=body), 400, "BadRequestData")


def test_4_22_expiry_can_be_extended_by_replacing_the_entity(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "expiresAt": soon(3), "a": prop(1)})
    r = requests.put(api + f"/entities/{id_}", json={"type": t, "a": prop(2),
                                                      "expiresAt": "2100-01-01T00:00:00Z"})
    assert r.status_code == 204, r.text
    e = requests.get(api + f"/entities/{id_}", params={"options": "sysAttrs"}).json()
    assert e["expiresAt"].startswith("2100-01-01"), e


# ================================================================================================
# 8. Other "shall"s of 5.6.11-5.6.16, 5.7.3, 5.7.4, 6.18-6.22
# ================================================================================================
def test_5_6_11_4_upsert_adds_new_entity_types(api):
    t1, t2 = new_type(), new_type()
    id_ = eid(t1)
    body = {"id": id_, "type": t1, "a": [prop(1, observedAt=H(0))]}
    assert requests.post(api + "/temporal/entities", json=body).status_code == 201
    body = {"id": id_, "type": [t2, t1], "a": [prop(2, observedAt=H(1))]}
    assert requests.post(api + "/temporal/entities", json=body).status_code == 204
    e = temporal(api, id_)
    assert sorted(e["type"]) == sorted([t1, t2]) and [val(i) for i in e["a"]] == [1, 2]


def test_5_6_12_4_add_attributes_adds_new_entity_types(api):
    t1, t2 = new_type(), new_type()
    id_ = series_entity(api, t1, {"a": [(1, H(0))]})
    r = requests.post(api + f"/temporal/entities/{id_}/attrs",
                      json={"type": t2, "b": [prop(5, observedAt=H(1))]})
    assert r.status_code == 204, r.text
    e = temporal(api, id_)
    assert e["type"] == [t1, t2] and [val(i) for i in e["b"]] == [5]
    # the query selects it by its new type too
    r = requests.get(api + "/temporal/entities", params={"type": t2, "timerel": "after",
                                                         "timeAt": H(0)})
    assert [x["id"] for x in r.json()] == [id_]
    r = requests.post(api + f"/temporal/entities/{id_}/attrs", json={"type": 5, "b": [prop(1)]})
    assert_problem(r, 400, "BadRequestData")


@pytest.mark.parametrize("param", ["pick", "omit"])
def test_5_7_3_4_linked_entity_projection_is_bad_request(api, param):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "a": rel("urn:ngsi-ld:X:1")})
    assert_problem(tget(api, id_, **{param: "a{b}"}), 400, "BadRequestData")
    r = requests.get(api + "/temporal/entities", params={
        "type": t, "timerel": "after", "timeAt": LONG_AGO, "timeproperty": "createdAt",
        param: "a{b}"})
    assert_problem(r, 400, "BadRequestData")


def test_5_7_3_pick_and_omit_project_the_temporal_entity(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "a": prop(1), "b": prop(2)})
    assert set(temporal(api, id_, pick="id,a")) == {"id", "a"}
    assert set(temporal(api, id_, omit="a")) == {"id", "type", "b"}


@pytest.mark.parametrize("last_n", ["0", "-1", "x", "1.5"])
def test_6_19_last_n_is_a_positive_integer(api, last_n):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "a": prop(1)})
    assert_problem(tget(api, id_, lastN=last_n), 400, "BadRequestData")


def test_5_6_13_to_16_unknown_targets_are_404_and_bad_ids_400(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "a": prop(1)})
    [i] = insts(temporal(api, id_), "a")
    base = api + f"/temporal/entities/{id_}"
    assert_problem(requests.delete(base + "/attrs/nope"), 404, "ResourceNotFound")
    assert_problem(requests.delete(base + "/attrs/a/urn:ngsi-ld:instance:0"), 404,
                   "ResourceNotFound")
    assert_problem(requests.delete(base + "/attrs/nope/" + i["instanceId"]), 404,
                   "ResourceNotFound")
    assert_problem(requests.delete(base + "/attrs/a/not-a-uri"), 400, "BadRequestData")
    assert_problem(requests.patch(base + "/attrs/a/not-a-uri", json={"a": [prop(2)]}), 400,
                   "BadRequestData")
    assert_problem(requests.delete(api + "/temporal/entities/urn:ngsi-ld:N:" + uid()), 404,
                   "ResourceNotFound")
    assert_problem(requests.delete(api + "/temporal/entities/not-a-uri"), 400,
                   "BadRequestData")
    assert_problem(requests.post(api + "/temporal/entities/urn:ngsi-ld:N:" + uid() + "/attrs",
                                 json={"a": [prop(1)]}), 404, "ResourceNotFound")


def test_6_3_7_format_takes_precedence_over_options_on_temporal(api):
    t = new_type()
    id_ = create(api, {"id": eid(t), "type": t, "a": prop(1)})
    [i] = temporal(api, id_, format="concise", options="temporalValues")["a"]
    assert set(i) == {"value", "instanceId"}, i
    a = temporal(api, id_, format="temporalValues", options="concise")["a"]
    assert a["type"] == "Property" and [v for v, _ in a["values"]] == [1]
