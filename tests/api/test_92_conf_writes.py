# SPDX-License-Identifier: Apache-2.0
"""NGSI-LD V1.9.1 conformance of the writes and of the HTTP edge (issue 11, area `writes`):
missing ids in paths (5.6.x.4), Update Attributes appending (5.6.2.4), the NGSI-LD Null in every
update and merge write (5.4, 5.5.4, 5.5.8, 5.5.12) and the attributeDeleted it causes, partial
attribute update keeping the kind (5.6.4.4), scope through the attribute endpoints (4.18,
5.6.2-5.6.5, 5.6.19), batch update with noOverwrite and batch merge validation (5.6.9, 5.6.20),
purge keep/drop (5.6.21, 6.4.3.3), and the HTTP edge: merge-patch+json, ProblemDetails on every
4xx, trailing slashes, NGSILD-Tenant and Prefer: ngsi-ld= (6.3). The choices are written down
in docs/conformance.md."""
import json
import socket
import uuid

import pytest
import requests

from conftest import Polis, assert_problem, wait_until

NULL = "urn:ngsi-ld:null"
J = {"Content-Type": "application/json"}
SCOPE = "https://uri.etsi.org/ngsi-ld/scope"


def uid():
    return uuid.uuid4().hex[:10]


def new_id(t="W"):
    return f"urn:ngsi-ld:{t}:{uid()}"


def prop(v, **extra):
    return dict({"type": "Property", "value": v}, **extra)


def all_kinds():
    """One attribute of each kind that has a Null form of its own."""
    return {"p": prop(1),
            "r": {"type": "Relationship", "object": "urn:ngsi-ld:X:1"},
            "l": {"type": "LanguageProperty", "languageMap": {"en": "hi", "fr": "salut"}},
            "g": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [1, 2]}}}


NULLS = {"p": {"type": "Property", "value": NULL},
         "r": {"type": "Relationship", "object": NULL},
         "l": {"type": "LanguageProperty", "languageMap": {"@none": NULL}},
         "g": {"type": "GeoProperty", "value": NULL}}


def create(api, e, headers=None):
    r = requests.post(api + "/entities", json=e, headers=headers or {})
    assert r.status_code == 201, r.text
    return e["id"]


def entity(api, t=None, **attrs):
    e = {"id": new_id(t or "W"), "type": t or "W"}
    e.update(attrs)
    return create(api, e)


def get(api, eid, **params):
    r = requests.get(api + "/entities/" + eid, params=params)
    assert r.status_code == 200, r.text
    return r.json()


# ------------------------------------------------------------------------------------------------
# 1. A missing id in a path is BadRequestData
# ------------------------------------------------------------------------------------------------
MISSING_IDS = [
    ("PATCH", "/entities//attrs", {"p": 1}),
    ("POST", "/entities//attrs", {"p": 1}),
    ("PUT", "/entities/", {"type": "W"}),
    ("PATCH", "/entities/", {"p": 1}),
    ("PATCH", "/entities//attrs/p", {"value": 1}),
    ("PUT", "/entities//attrs/p", {"value": 1}),
    ("DELETE", "/entities//attrs/p", None),
    ("DELETE", "/entities/{id}/attrs/", None),
    ("PATCH", "/entities/{id}/attrs//", {"value": 1}),
    ("POST", "/temporal/entities//attrs", {"p": 1}),
    ("DELETE", "/temporal/entities//attrs/p", None),
    ("DELETE", "/temporal/entities/{id}/attrs//x", None),
    ("PATCH", "/temporal/entities/{id}/attrs/p/", {"value": 1}),
    ("DELETE", "/temporal/entities/{id}/attrs/p//", None),
    ("DELETE", "/subscriptions/", None),
    ("PATCH", "/subscriptions/", {"type": "Subscription"}),
    ("DELETE", "/jsonldContexts/", None),
]


@pytest.mark.parametrize("method,path,body", MISSING_IDS,
                         ids=[f"{m} {p}" for m, p, _ in MISSING_IDS])
def test_5_6_x_4_missing_id_in_path_is_bad_request_data(api, method, path, body):
    eid = entity(api, p=prop(1))
    r = requests.request(method, api + path.replace("{id}", eid),
                         data=None if body is None else json.dumps(body),
                         headers=J if body is not None else {})
    b = assert_problem(r, 400, "BadRequestData")
    assert "missing" in b["detail"]
    assert get(api, eid)["p"]["value"] == 1


def test_5_6_x_4_collections_with_a_trailing_slash_still_answer(api):
    """The fallback only applies where no route matches: GET /entities/ stays Query Entities."""
    t = "W" + uid()
    entity(api, t)
    r = requests.get(api + "/entities/", params={"type": t})
    assert r.status_code == 200 and len(r.json()) == 1, r.text
    assert requests.get(api + "/subscriptions/").status_code == 200
    assert requests.get(api + "/types/").status_code == 200


# ------------------------------------------------------------------------------------------------
# 2. Update Attributes appends what the entity does not have
# ------------------------------------------------------------------------------------------------
def test_5_6_2_4_update_attrs_appends_new_attribute(api):
    eid = entity(api, p=prop(1))
    r = requests.patch(api + f"/entities/{eid}/attrs",
                       json={"p": prop(2), "fresh": prop("new"),
                             "d": prop(3, datasetId="urn:ngsi-ld:Dataset:a")})
    assert r.status_code == 204, r.text  # 6.6.3.2: all attributes were updated
    got = get(api, eid)
    assert got["p"]["value"] == 2 and got["fresh"]["value"] == "new"
    assert got["d"]["datasetId"] == "urn:ngsi-ld:Dataset:a"


def test_5_6_2_4_update_attrs_appends_new_dataset_instance(api):
    eid = entity(api, p=prop(1))
    r = requests.patch(api + f"/entities/{eid}/attrs",
                       json={"p": prop(5, datasetId="urn:ngsi-ld:Dataset:b")})
    assert r.status_code == 204, r.text
    got = get(api, eid)["p"]
    assert sorted(i.get("datasetId", "") for i in got) == ["", "urn:ngsi-ld:Dataset:b"]


def test_5_6_2_5_update_attrs_null_of_missing_attribute_is_207(api):
    eid = entity(api, p=prop(1))
    r = requests.patch(api + f"/entities/{eid}/attrs", json={"p": prop(2), "gone": prop(NULL)})
    assert r.status_code == 207, r.text
    b = r.json()
    assert [n["attributeName"] for n in b["notUpdated"]] == \
        ["https://uri.etsi.org/ngsi-ld/default-context/gone"]
    assert b["updated"] == ["https://uri.etsi.org/ngsi-ld/default-context/p"]
    assert get(api, eid)["p"]["value"] == 2


# ------------------------------------------------------------------------------------------------
# 3. NGSI-LD Null deletes in every update and merge write
# ------------------------------------------------------------------------------------------------
def write_null(api, how, eid, name):
    null = NULLS[name]
    if how == "update-attrs":
        return requests.patch(api + f"/entities/{eid}/attrs", json={name: null})
    if how == "partial-attr":
        return requests.patch(api + f"/entities/{eid}/attrs/{name}", json=null)
    if how == "merge":
        return requests.patch(api + f"/entities/{eid}", json={name: null},
                              headers={"Content-Type": "application/merge-patch+json"})
    if how in ("batch-update", "batch-merge"):
        return requests.post(api + "/entityOperations/" + how.split("-")[1],
                             json=[{"id": eid, name: null}])
    raise AssertionError(how)


@pytest.mark.parametrize("how", ["update-attrs", "partial-attr", "merge", "batch-update",
                                 "batch-merge"])
@pytest.mark.parametrize("name", ["p", "r", "l", "g"])
def test_5_4_null_deletes_in_every_update_write(api, how, name):
    eid = entity(api, **all_kinds())
    r = write_null(api, how, eid, name)
    assert r.status_code == 204, r.text
    got = get(api, eid)
    assert name not in got, got
    assert set(all_kinds()) - {name} <= set(got)


def test_5_4_json_null_and_concise_null_delete_in_merge(api):
    eid = entity(api, **all_kinds())
    r = requests.patch(api + f"/entities/{eid}",
                       json={"p": None, "g": NULL, "l": {"languageMap": {"@none": NULL}}})
    assert r.status_code == 204, r.text
    got = get(api, eid)
    assert not {"p", "g", "l"} & set(got) and "r" in got


def test_5_4_null_deletes_one_dataset_instance(api):
    ds = "urn:ngsi-ld:Dataset:x"
    eid = entity(api, p=[prop(1), prop(2, datasetId=ds)])
    r = requests.patch(api + f"/entities/{eid}/attrs",
                       json={"p": {"type": "Property", "value": NULL, "datasetId": ds}})
    assert r.status_code == 204, r.text
    got = get(api, eid)["p"]
    assert got["value"] == 1 and "datasetId" not in got


NOT_FRAGMENTS = ["create", "append", "replace", "replace-attr", "batch-create", "batch-upsert"]


@pytest.mark.parametrize("how", NOT_FRAGMENTS)
@pytest.mark.parametrize("name", ["p", "r", "l", "g"])
def test_5_5_4_null_outside_update_fragments_is_bad_request_data(api, how, name):
    eid = entity(api, **all_kinds())
    null = NULLS[name]
    if how == "create":
        r = requests.post(api + "/entities", json={"id": new_id(), "type": "W", name: null})
    elif how == "append":
        r = requests.post(api + f"/entities/{eid}/attrs", json={name: null})
    elif how == "replace":
        r = requests.put(api + f"/entities/{eid}", json={"type": "W", name: null})
    elif how == "replace-attr":
        r = requests.put(api + f"/entities/{eid}/attrs/{name}", json=null)
    else:
        r = requests.post(api + "/entityOperations/" + how.split("-")[1],
                          json=[{"id": eid, "type": "W", name: null}])
        assert r.status_code == 207, r.text
        (err,) = r.json()["errors"]
        assert err["error"]["type"].endswith("/BadRequestData"), err
        assert get(api, eid)[name] == all_kinds()[name]
        return
    assert_problem(r, 400, "BadRequestData")
    assert get(api, eid)[name] == all_kinds()[name]


@pytest.mark.parametrize("how", ["update-attrs", "partial-attr", "batch-merge"])
def test_5_4_null_deletion_notifies_attribute_deleted(api, receiver, how):
    t = "W" + uid()
    eid = entity(api, t, **all_kinds())
    path = "/w/" + uid()
    r = requests.post(api + "/subscriptions", json={
        "type": "Subscription", "entities": [{"type": t}],
        "notificationTrigger": ["attributeDeleted"],
        "notification": {"endpoint": {"uri": receiver.url(path)}}})
    assert r.status_code == 201, r.text
    sid = r.headers["Location"].rsplit("/", 1)[1]
    try:
        assert write_null(api, how, eid, "g").status_code == 204
        recs = receiver.wait_for(path, 1)
        (d,) = [d for rec in recs for d in rec["body"]["data"]]
        assert d["g"] == NULL, d  # the deleted attribute, as 5.8.6 shows it
        assert d["p"]["value"] == 1
    finally:
        requests.delete(api + "/subscriptions/" + sid)


# ------------------------------------------------------------------------------------------------
# 4. Partial attribute update keeps the kind
# ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,frag", [
    ("p", {"type": "Relationship", "object": "urn:ngsi-ld:X:2"}),
    ("r", {"type": "Property", "value": 3}),
    ("l", {"type": "Property", "value": "x"}),
    ("g", {"type": "Property", "value": {"type": "Point", "coordinates": [3, 4]}}),
])
def test_5_6_4_4_partial_attribute_update_cannot_change_the_kind(api, name, frag):
    eid = entity(api, **all_kinds())
    r = requests.patch(api + f"/entities/{eid}/attrs/{name}", json=frag)
    assert_problem(r, 400, "BadRequestData")
    assert get(api, eid)[name] == all_kinds()[name]


def test_5_6_4_4_partial_attribute_update_same_kind_or_untyped_merges(api):
    eid = entity(api, p=prop(1, unitCode="CEL"))
    assert requests.patch(api + f"/entities/{eid}/attrs/p",
                          json={"type": "Property", "value": 2}).status_code == 204
    assert requests.patch(api + f"/entities/{eid}/attrs/p",
                          json={"observedAt": "2024-01-01T00:00:00Z"}).status_code == 204
    got = get(api, eid)["p"]
    assert got["value"] == 2 and got["unitCode"] == "CEL"
    assert got["observedAt"].startswith("2024-01-01T00:00:00")


# ------------------------------------------------------------------------------------------------
# 5. scope through the attribute endpoints
# ------------------------------------------------------------------------------------------------
def scopes(api, eid):
    s = get(api, eid).get("scope")
    return sorted([s] if isinstance(s, str) else s or [])


def test_5_6_3_4_append_no_overwrite_merges_scopes(api):
    eid = entity(api, scope=["/a", "/b"])
    r = requests.post(api + f"/entities/{eid}/attrs", params={"options": "noOverwrite"},
                      json={"scope": ["/b", "/c"]})
    assert r.status_code == 204, r.text
    assert scopes(api, eid) == ["/a", "/b", "/c"]


def test_5_6_3_4_append_replaces_scope(api):
    eid = entity(api, scope=["/a", "/b"])
    assert requests.post(api + f"/entities/{eid}/attrs",
                         json={"scope": "/c"}).status_code == 204
    assert scopes(api, eid) == ["/c"]


def test_5_6_2_4_update_replaces_scope_only_where_there_is_one(api):
    with_scope = entity(api, scope="/a")
    without = entity(api, p=prop(1))
    for eid in (with_scope, without):
        r = requests.patch(api + f"/entities/{eid}/attrs", json={"scope": ["/x"]})
        assert r.status_code == 204, r.text
    assert scopes(api, with_scope) == ["/x"]
    assert scopes(api, without) == []  # "otherwise ignore it"


def test_5_6_17_4_merge_replaces_or_deletes_scope(api):
    eid = entity(api, scope="/a")
    assert requests.patch(api + f"/entities/{eid}", json={"scope": "/m"}).status_code == 204
    assert scopes(api, eid) == ["/m"]
    assert requests.patch(api + f"/entities/{eid}", json={"scope": NULL}).status_code == 204
    assert scopes(api, eid) == []


def test_5_6_5_4_delete_attribute_scope_removes_the_scope(api):
    eid = entity(api, scope=["/a", "/b"], p=prop(1))
    assert requests.delete(api + f"/entities/{eid}/attrs/scope").status_code == 204
    got = get(api, eid)
    assert "scope" not in got and got["p"]["value"] == 1
    assert_problem(requests.delete(api + f"/entities/{eid}/attrs/scope"), 404,
                   "ResourceNotFound")


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
@pytest.mark.parametrize("name", ["scope", SCOPE])
def test_5_6_4_4_and_5_6_19_4_scope_as_target_attribute_is_bad_request(api, method, name):
    eid = entity(api, scope="/a")
    r = requests.request(method, api + f"/entities/{eid}/attrs/" + requests.utils.quote(
        name, safe=""), json={"type": "Property", "value": "/b"})
    assert_problem(r, 400, "BadRequestData")
    assert scopes(api, eid) == ["/a"]


# ------------------------------------------------------------------------------------------------
# 6. Batch update with noOverwrite, batch merge validation
# ------------------------------------------------------------------------------------------------
def test_5_6_9_batch_update_no_overwrite_reports_kept_attributes(api):
    a = entity(api, p=prop(1), k=prop(1))
    b = entity(api, p=prop(1))
    r = requests.post(api + "/entityOperations/update", params={"options": "noOverwrite"},
                      json=[{"id": a, "p": prop(9), "k": prop(9), "n": prop(9)},
                            {"id": b, "n": prop(9)}])
    assert r.status_code == 207, r.text
    body = r.json()
    assert body["success"] == [b]
    (err,) = body["errors"]
    assert err["entityId"] == a
    assert err["error"]["type"] == "https://uri.etsi.org/ngsi-ld/errors/AlreadyExists"
    for n in ("p", "k"):
        assert "https://uri.etsi.org/ngsi-ld/default-context/" + n in err["error"]["detail"]
    assert "default-context/n" not in err["error"]["detail"]
    got = get(api, a)
    assert got["p"]["value"] == 1 and got["k"]["value"] == 1 and got["n"]["value"] == 9
    assert get(api, b)["n"]["value"] == 9


def test_5_6_9_batch_update_without_option_overwrites_and_answers_204(api):
    a = entity(api, p=prop(1))
    r = requests.post(api + "/entityOperations/update", json=[{"id": a, "p": prop(2)}])
    assert r.status_code == 204, r.text
    assert get(api, a)["p"]["value"] == 2


@pytest.mark.parametrize("bad", [
    {"p": {"type": "Property"}},
    {"p": {"type": "Relationship", "object": "not a uri"}},
    {"type": []},
    {"p": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [500, 1]}}},
])
def test_5_6_20_4_batch_merge_validates_each_payload_before_the_lookup(api, bad):
    missing = new_id()
    r = requests.post(api + "/entityOperations/merge", json=[dict({"id": missing}, **bad)])
    assert r.status_code == 207, r.text
    (err,) = r.json()["errors"]
    assert err["entityId"] == missing
    assert err["error"]["type"].endswith("/BadRequestData"), err


# ------------------------------------------------------------------------------------------------
# 7. Purge keep / drop
# ------------------------------------------------------------------------------------------------
def test_5_6_21_purge_keep_and_drop_together_is_bad_request(api):
    t = "W" + uid()
    eid = entity(api, t, p=prop(1))
    r = requests.delete(api + "/entities", params={"type": t, "keep": "p", "drop": "q"})
    assert_problem(r, 400, "BadRequestData")
    assert get(api, eid)["p"]["value"] == 1


def test_5_6_21_purge_drop_deletes_the_listed_attributes_only(api):
    t = "W" + uid()
    ids = [entity(api, t, p=prop(1), q=prop(2), s=prop(3)) for _ in range(2)]
    r = requests.delete(api + "/entities", params={"type": t, "drop": "p,q"})
    assert r.status_code == 204, r.text
    for eid in ids:
        got = get(api, eid)
        assert "p" not in got and "q" not in got and got["s"]["value"] == 3


def test_5_6_21_purge_keep_deletes_all_but_the_listed_attributes(api):
    t = "W" + uid()
    eid = entity(api, t, p=prop(1), q=prop(2), s=prop(3))
    assert requests.delete(api + "/entities",
                           params={"type": t, "keep": "s"}).status_code == 204
    got = get(api, eid)
    assert "p" not in got and "q" not in got and got["s"]["value"] == 3


def test_5_6_21_purge_by_id_with_keep(api):
    t = "W" + uid()
    a = entity(api, t, p=prop(1), q=prop(2))
    b = entity(api, t, p=prop(1), q=prop(2))
    r = requests.delete(api + "/entities", params={"id": a, "keep": "q"})
    assert r.status_code == 204, r.text
    assert "p" not in get(api, a) and get(api, a)["q"]["value"] == 2
    assert get(api, b)["p"]["value"] == 1  # not listed: untouched


def test_5_6_21_purge_by_id_alone_is_too_wide(api):
    a = entity(api, p=prop(1))
    assert_problem(requests.delete(api + "/entities", params={"id": a}), 400, "BadRequestData")
    assert get(api, a)["p"]["value"] == 1


# ------------------------------------------------------------------------------------------------
# 8. The HTTP edge
# ------------------------------------------------------------------------------------------------
MERGE_PATCH = {"Content-Type": "application/merge-patch+json"}


def test_6_3_4_merge_patch_json_on_attribute_append_and_update(api):
    eid = entity(api, p=prop(1))
    r = requests.post(api + f"/entities/{eid}/attrs", data=json.dumps({"a": prop(1)}),
                      headers=MERGE_PATCH)
    assert r.status_code == 204, r.text
    r = requests.patch(api + f"/entities/{eid}/attrs", data=json.dumps({"a": prop(2)}),
                       headers=MERGE_PATCH)
    assert r.status_code == 204, r.text
    r = requests.patch(api + f"/entities/{eid}/attrs/a", data=json.dumps({"value": 3}),
                       headers=MERGE_PATCH)
    assert r.status_code == 204, r.text
    assert get(api, eid)["a"]["value"] == 3


def test_6_3_4_merge_patch_json_is_still_refused_on_create(api):
    r = requests.post(api + "/entities", data=json.dumps({"id": new_id(), "type": "W"}),
                      headers=MERGE_PATCH)
    assert_problem(r, 415, "UnsupportedMediaType")


def raw_request(polis, head):
    s = socket.create_connection(("127.0.0.1", polis.port))
    s.sendall(head)
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    status_line, _, rest = data.partition(b"\r\n")
    headers, _, body = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), headers.decode(), body


def test_6_3_2_every_4xx_carries_problem_details(polis, api):
    eid = entity(api, p=prop(1))
    cases = [
        (requests.delete(api + "/entityOperations/create"), 405, "MethodNotAllowed"),
        (requests.post(api + f"/entities/{eid}/attrs", data="{}",
                       headers={"Content-Type": "text/plain"}), 415, "UnsupportedMediaType"),
        (requests.get(api + f"/entities/{eid}", headers={"Accept": "text/html"}), 406,
         "NotAcceptable"),
        (requests.get(api + "/nothing"), 404, "ResourceNotFound"),
        (requests.get(api + "/entities/" + new_id()), 404, "ResourceNotFound"),
        (requests.post(api + "/entities", data="{", headers=J), 400, "InvalidRequest"),
    ]
    for r, status, t in cases:
        assert_problem(r, status, t)
    assert "Allow" in cases[0][0].headers
    status, headers, body = raw_request(
        polis, b"PATCH /ngsi-ld/v1/entities/" + eid.encode() + b"/attrs HTTP/1.1\r\nHost: x\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n\r\n")
    assert status == 411
    assert "application/json" in headers
    pd = json.loads(body)
    assert pd["type"] == "https://uri.etsi.org/ngsi-ld/errors/LengthRequired" and pd["detail"]


def test_6_3_2_413_carries_problem_details(tmp_path):
    p = Polis(tmp_path, extra_args=["--max-body", "1000"]).start()
    try:
        r = requests.post(p.api + "/entities", headers=J,
                          data=json.dumps({"id": new_id(), "type": "W", "p": prop("x" * 2000)}))
        assert_problem(r, 413, "TooLarge")
    finally:
        p.check_exit()


TRAILING = [
    ("POST", "/entityOperations/upsert/?options=update", lambda e: [{"id": e, "type": "W",
                                                                     "z": prop(1)}]),
    ("POST", "/entityOperations/update/", lambda e: [{"id": e, "z": prop(2)}]),
    ("POST", "/entityOperations/merge/", lambda e: [{"id": e, "z": prop(3)}]),
    ("POST", "/entityOperations/query/?limit=1", lambda e: {"type": "Query",
                                                            "entities": [{"id": e, "type": "W"}]}),
    ("GET", "/entities/?id={id}&type=W", None),
    ("GET", "/entities/{id}/?options=keyValues", None),
    ("POST", "/entities/{id}/attrs/?options=noOverwrite", lambda e: {"y": prop(1)}),
    ("PATCH", "/entities/{id}/attrs/", lambda e: {"p": prop(5)}),
    ("PATCH", "/entities/{id}/attrs/p/", lambda e: {"value": 6}),
    ("PUT", "/entities/{id}/attrs/p/", lambda e: {"type": "Property", "value": 7}),
    ("PATCH", "/entities/{id}/", lambda e: {"p": prop(8)}),
    ("GET", "/types/?details=true", None),
    ("GET", "/types/W/", None),
    ("GET", "/attributes/?details=true", None),
    ("GET", "/attributes/p/", None),
    ("GET", "/subscriptions/?limit=1", None),
    ("GET", "/jsonldContexts/?details=true", None),
    ("GET", "/temporal/entities/{id}/?lastN=1", None),
    ("GET", "/temporal/entities/?type=W&timerel=after&timeAt=2000-01-01T00:00:00Z&limit=1", None),
    ("DELETE", "/entities/{id}/attrs/p/", None),
    ("DELETE", "/entities/{id}/", None),
]


@pytest.mark.parametrize("method,path,body", TRAILING, ids=[f"{m} {p}" for m, p, _ in TRAILING])
def test_6_trailing_slash_before_the_query_is_accepted(api, method, path, body):
    eid = entity(api, p=prop(1))
    r = requests.request(method, api + path.replace("{id}", eid),
                         json=body(eid) if body else None)
    assert 200 <= r.status_code < 300, (r.status_code, r.text)


def test_5_5_10_tenant_header_is_accepted_on_every_resource(api):
    tenant = "w" + uid()
    h = {"NGSILD-Tenant": tenant}
    eid = new_id()
    assert requests.post(api + "/entities", json={"id": eid, "type": "W", "p": prop(1)},
                         headers=h).status_code == 201
    r = requests.post(api + "/subscriptions", headers=h, json={
        "type": "Subscription", "entities": [{"type": "W"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/x"}}})
    assert r.status_code == 201, r.text
    for path in ["/entities?type=W", "/entities/" + eid, "/types", "/types/W", "/attributes",
                 "/attributes/p", "/subscriptions", "/jsonldContexts",
                 "/temporal/entities/" + eid]:
        r = requests.get(api + path, headers=h)
        assert r.status_code == 200, (path, r.status_code, r.text)
        assert r.headers.get("NGSILD-Tenant") == tenant, path
    assert requests.get(api + "/entities/" + eid).status_code == 404  # default tenant
    r = requests.get(api + "/types", headers={"NGSILD-Tenant": "w" + uid()})
    assert_problem(r, 404, "NonexistentTenant")


def test_6_3_6_prefer_ngsi_ld_version_is_answered_with_preference_applied(api):
    eid = entity(api, p=prop(1))
    for prefer in ("ngsi-ld=1.9", "ngsi-ld=1.6", "respond-async, ngsi-ld=\"1.8\""):
        r = requests.get(api + "/entities/" + eid, headers={"Prefer": prefer})
        assert r.status_code == 200
        assert r.headers.get("Preference-Applied") == "ngsi-ld=1.9", (prefer, r.headers)
        r = requests.get(api + "/entities", params={"id": eid, "type": "W"},
                         headers={"Prefer": prefer, "Accept": "application/ld+json"})
        assert r.headers.get("Preference-Applied") == "ngsi-ld=1.9", (prefer, r.headers)
    assert "Preference-Applied" not in requests.get(api + "/entities/" + eid).headers
    r = requests.get(api + "/entities/" + eid, headers={"Prefer": "ngsi-ld=latest"})
    assert r.status_code == 200 and "Preference-Applied" not in r.headers
    # No body, no Preference-Applied (204, errors).
    r = requests.patch(api + f"/entities/{eid}/attrs", json={"p": prop(2)},
                       headers={"Prefer": "ngsi-ld=1.9"})
    assert r.status_code == 204 and "Preference-Applied" not in r.headers
    r = requests.get(api + "/entities/" + new_id(), headers={"Prefer": "ngsi-ld=1.9"})
    assert r.status_code == 404 and "Preference-Applied" not in r.headers


# ------------------------------------------------------------------------------------------------
# Beyond the list: the `type` selector of the single-entity writes (5.6.2-5.6.6, 5.6.17-5.6.19)
# ------------------------------------------------------------------------------------------------
TYPED_WRITES = [
    ("PATCH", "/entities/{id}/attrs", {"p": prop(2)}),
    ("POST", "/entities/{id}/attrs", {"p": prop(2)}),
    ("PATCH", "/entities/{id}/attrs/p", {"value": 2}),
    ("PUT", "/entities/{id}/attrs/p", {"type": "Property", "value": 2}),
    ("DELETE", "/entities/{id}/attrs/p", None),
    ("PATCH", "/entities/{id}", {"p": prop(2)}),
    ("PUT", "/entities/{id}", {"type": "W", "p": prop(2)}),
    ("DELETE", "/entities/{id}", None),
]


@pytest.mark.parametrize("method,path,body", TYPED_WRITES,
                         ids=[f"{m} {p}" for m, p, _ in TYPED_WRITES])
def test_5_6_x_4_write_with_type_selector_targets_only_matching_entities(api, method, path,
                                                                          body):
    eid = create(api, {"id": new_id(), "type": ["W", "V"], "p": prop(1)})
    url = api + path.replace("{id}", eid)
    send = lambda t: requests.request(method, url, params={"type": t},  # noqa: E731
                                      data=None if body is None else json.dumps(body),
                                      headers=J if body is not None else {})
    assert_problem(send("Other"), 404, "ResourceNotFound")
    assert_problem(send("W;Other"), 404, "ResourceNotFound")
    assert_problem(send("(("), 400, "BadRequestData")
    assert get(api, eid)["p"]["value"] == 1  # nothing changed
    r = send("Other|V")
    assert r.status_code == 204, r.text


# ------------------------------------------------------------------------------------------------
# Beyond the list: Merge Entity merges Property values to any depth (5.5.12), and the NGSI-LD
# Null inside a value is for merge fragments only (5.5.4)
# ------------------------------------------------------------------------------------------------
ADDRESS = {"street": "Strasse des 17. Juni", "city": "Berlin", "country": "Germany",
           "geo": {"a": 1, "b": 2}}


@pytest.mark.parametrize("how", ["merge", "batch-merge"])
def test_5_5_12_merge_merges_property_value_objects(api, how):
    eid = entity(api, address=prop(ADDRESS))
    frag = {"address": prop({"street": "Pariser Platz", "country": NULL, "geo": {"a": None}}),
            "fresh": prop({"x": 1, "y": NULL})}
    if how == "merge":
        r = requests.patch(api + f"/entities/{eid}", json=frag)
    else:
        r = requests.post(api + "/entityOperations/merge", json=[dict({"id": eid}, **frag)])
    assert r.status_code == 204, r.text
    got = get(api, eid)
    assert got["address"]["value"] == {"street": "Pariser Platz", "city": "Berlin",
                                       "geo": {"b": 2}}
    assert got["fresh"]["value"] == {"x": 1}


def test_5_5_8_update_replaces_property_value_objects(api):
    eid = entity(api, address=prop(ADDRESS))
    for r in (requests.patch(api + f"/entities/{eid}/attrs",
                             json={"address": prop({"street": "P"})}),
              requests.patch(api + f"/entities/{eid}/attrs/address", json={"value": {"s": 1}})):
        assert r.status_code == 204, r.text
    assert get(api, eid)["address"]["value"] == {"s": 1}


@pytest.mark.parametrize("how", ["create", "append", "update-attrs", "partial-attr",
                                 "batch-update"])
def test_5_5_4_null_inside_a_value_outside_merge_is_bad_request_data(api, how):
    eid = entity(api, address=prop(ADDRESS))
    a = prop({"street": "P", "inner": {"country": NULL}})
    if how == "create":
        r = requests.post(api + "/entities", json={"id": new_id(), "type": "W", "address": a})
    elif how == "append":
        r = requests.post(api + f"/entities/{eid}/attrs", json={"address": a})
    elif how == "update-attrs":
        r = requests.patch(api + f"/entities/{eid}/attrs", json={"address": a})
    elif how == "partial-attr":
        r = requests.patch(api + f"/entities/{eid}/attrs/address", json=a)
    else:
        r = requests.post(api + "/entityOperations/update", json=[{"id": eid, "address": a}])
        assert r.status_code == 207, r.text
        assert r.json()["errors"][0]["error"]["type"].endswith("/BadRequestData")
        assert get(api, eid)["address"]["value"] == ADDRESS
        return
    assert_problem(r, 400, "BadRequestData")
    assert get(api, eid)["address"]["value"] == ADDRESS


# ------------------------------------------------------------------------------------------------
# Beyond the list: Merge Entity's parameters (6.5.3.4) and simplified values (5.6.17.4)
# ------------------------------------------------------------------------------------------------
def merge(api, eid, frag, **params):
    return requests.patch(api + f"/entities/{eid}", json=frag, params=params)


@pytest.mark.parametrize("params", [{"format": "keyValues"}, {"format": "simplified"},
                                    {"options": "keyValues"}])
def test_6_5_3_4_merge_simplified_payload_keeps_the_stored_kinds(api, params):
    eid = entity(api, **all_kinds(), addr=prop({"a": 1, "b": 2}))
    r = merge(api, eid, {"p": 7, "r": "urn:ngsi-ld:X:9", "g": {"type": "Point",
                                                            "coordinates": [5, 6]},
                         "addr": {"type": "x", "a": NULL}, "fresh": {"k": 1}}, **params)
    assert r.status_code == 204, r.text
    got = get(api, eid)
    assert got["p"] == prop(7)
    assert got["r"] == {"type": "Relationship", "object": "urn:ngsi-ld:X:9"}
    assert got["g"] == {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [5, 6]}}
    assert got["addr"]["value"] == {"b": 2, "type": "x"}  # a value, not an attribute
    assert got["fresh"] == prop({"k": 1})


def test_5_6_17_4_concise_value_merged_keeps_the_stored_kind(api):
    eid = entity(api, **all_kinds())
    assert merge(api, eid, {"r": "urn:ngsi-ld:X:2", "l": "plain"}).status_code == 204
    got = get(api, eid)
    assert got["r"] == {"type": "Relationship", "object": "urn:ngsi-ld:X:2"}
    assert got["l"] == {"type": "LanguageProperty", "languageMap": {"@none": "plain"}}


def test_6_5_3_4_merge_simplified_value_that_does_not_fit_the_kind_is_400(api):
    eid = entity(api, **all_kinds())
    assert_problem(merge(api, eid, {"r": "not a uri"}, format="keyValues"), 400,
                   "BadRequestData")
    assert_problem(merge(api, eid, {"g": [1, 2]}, format="keyValues"), 400, "BadRequestData")
    assert get(api, eid) == dict({"id": eid, "type": "W"}, **all_kinds())


def test_6_5_3_4_merge_lang_replaces_one_language(api):
    eid = entity(api, **all_kinds())
    assert merge(api, eid, {"l": "hello"}, lang="en").status_code == 204
    assert get(api, eid)["l"]["languageMap"] == {"en": "hello", "fr": "salut"}
    assert merge(api, eid, {"l": ["a", "b"]}, lang="de").status_code == 204
    assert get(api, eid)["l"]["languageMap"] == {"en": "hello", "fr": "salut", "de": ["a", "b"]}


def test_6_5_3_4_merge_observed_at_updates_attributes_that_had_one(api):
    eid = entity(api, o=prop(1, observedAt="2020-01-01T00:00:00Z"), n=prop(1),
                 own=prop(1, observedAt="2020-01-01T00:00:00Z"))
    r = merge(api, eid, {"o": 5, "n": 6, "own": prop(7, observedAt="2021-01-01T00:00:00Z")},
              observedAt="2024-01-01T00:00:00Z")
    assert r.status_code == 204, r.text
    got = get(api, eid)
    assert got["o"]["value"] == 5 and got["o"]["observedAt"].startswith("2024-01-01T00:00:00")
    assert got["n"] == prop(6)  # had none: gets none
    assert got["own"]["observedAt"].startswith("2021-01-01T00:00:00")  # the fragment's wins
    assert_problem(merge(api, eid, {"o": 1}, observedAt="yesterday"), 400, "BadRequestData")


def test_5_6_19_4_replace_attribute_of_a_missing_instance_is_not_found(api):
    ds = "urn:ngsi-ld:Dataset:a"
    eid = entity(api, p=prop(1), q=prop(1, datasetId=ds))
    for name, frag in (("p", prop(2, datasetId=ds)), ("q", prop(2))):
        r = requests.put(api + f"/entities/{eid}/attrs/{name}", json=frag)
        assert_problem(r, 404, "ResourceNotFound")
    assert requests.put(api + f"/entities/{eid}/attrs/q",
                        json=prop(3, datasetId=ds)).status_code == 204
    got = get(api, eid)
    assert got["p"] == prop(1) and got["q"] == prop(3, datasetId=ds)


def test_5_6_8_4_upsert_update_mode_is_update_attributes(api):
    with_scope = entity(api, scope="/a", p=prop(1))
    without = entity(api, p=prop(1))
    r = requests.post(api + "/entityOperations/upsert", params={"options": "update"},
                      json=[{"id": e, "type": "W", "scope": "/x", "n": prop(2)}
                            for e in (with_scope, without)])
    assert r.status_code == 204, r.text
    for e in (with_scope, without):
        got = get(api, e)
        assert got["p"] == prop(1) and got["n"] == prop(2)  # kept, appended (5.6.2.4)
    assert scopes(api, with_scope) == ["/x"] and scopes(api, without) == []
