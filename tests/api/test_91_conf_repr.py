# SPDX-License-Identifier: Apache-2.0
"""Conformance (NGSI-LD V1.9.1) of representations and @context: the @context of
application/ld+json answers (4.4, 6.3.6), DateTimes returned as given (4.5.9, 4.5.19, 4.6.3),
the keyValues `dataset` map (4.5.4), supported names (4.6.2) and the /jsonldContexts API
(5.13, 6.29, 6.30). Choices are written in docs/conformance.md, "Representations and
@context". Every test uses entity types of its own on the shared session broker."""
import urllib.parse
import uuid

import pytest
import requests

from conftest import CORE, assert_problem, link

LD = "application/ld+json"
ACCEPT_LD = {"Accept": LD}
JSON_CT = {"Content-Type": "application/json"}
LD_CT = {"Content-Type": LD}
PARKING = "https://raw.githubusercontent.com/smart-data-models/dataModel.Parking/master/context.jsonld"


def uid():
    return uuid.uuid4().hex[:10]


def new_type():
    return "T" + uid()


def eid(t):
    return f"urn:ngsi-ld:{t}:{uid()}"


def create(api, body, headers=None):
    r = requests.post(api + "/entities", json=body, headers=headers or JSON_CT)
    assert r.status_code == 201, r.text
    return r


# ------------------------------------------------------------------------------------------------
# 4.6.3 / 4.5.9 / 4.5.19: DateTimes come back as they were written
# ------------------------------------------------------------------------------------------------
GIVEN = "2024-03-01T10:00:00Z"  # no fraction: must not come back as ...:00.000Z
GIVEN_US = "2024-03-01T10:01:00.123456Z"  # six fractional digits (4.6.3 allows up to six)


def datetime_entity(api):
    t = new_type()
    e = eid(t)
    create(api, {
        "id": e, "type": t,
        "speed": {"type": "Property", "value": 1, "observedAt": GIVEN},
        "seen": {"type": "Property", "value": {"@type": "DateTime", "@value": GIVEN}},
        "location": {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [1, 2]},
                     "observedAt": GIVEN},
    })
    r = requests.patch(f"{api}/entities/{e}/attrs", json={
        "speed": {"type": "Property", "value": 2, "observedAt": GIVEN_US}}, headers=JSON_CT)
    assert r.status_code == 204, r.text
    return t, e


@pytest.mark.parametrize("params,accept", [
    ("", "application/json"), ("?options=keyValues", "application/json"),
    ("?options=concise", "application/json"), ("", "application/geo+json"),
    ("?pick=id,speed,seen,location", "application/json"),
])
def test_4_6_3_datetimes_returned_as_given_in_every_entity_representation(api, params, accept):
    t, e = datetime_entity(api)
    for url in (f"{api}/entities/{e}{params}",
                f"{api}/entities?type={t}{'&' + params[1:] if params else ''}"):
        r = requests.get(url, headers={"Accept": accept})
        assert r.status_code == 200, r.text
        text = r.text
        assert GIVEN_US in text or "keyValues" in params, text
        assert GIVEN in text, text  # the DateTime-typed value (and observedAt) verbatim
        assert "10:00:00.000Z" not in text and "10:01:00.123Z" not in text, text


def test_4_6_3_system_times_keep_the_broker_format(api):
    t, e = datetime_entity(api)
    r = requests.get(f"{api}/entities/{e}?options=sysAttrs")
    body = r.json()
    assert body["speed"]["observedAt"] == GIVEN_US
    assert body["createdAt"].endswith("Z") and len(body["createdAt"]) == 24, body["createdAt"]


def test_4_5_9_temporal_values_keep_the_given_datetimes(api):
    t, e = datetime_entity(api)
    r = requests.get(f"{api}/temporal/entities/{e}?options=temporalValues&attrs=speed")
    assert r.status_code == 200, r.text
    assert r.json()["speed"]["values"] == [[1, GIVEN], [2, GIVEN_US]]
    r = requests.get(f"{api}/temporal/entities/{e}?attrs=speed")
    assert [i["observedAt"] for i in r.json()["speed"]] == [GIVEN, GIVEN_US]
    r = requests.post(f"{api}/temporal/entityOperations/query?options=temporalValues", json={
        "type": "Query", "entities": [{"type": t}], "attrs": ["speed"],
        "temporalQ": {"timerel": "after", "timeAt": "2024-01-01T00:00:00Z"}}, headers=JSON_CT)
    assert r.status_code == 200, r.text
    assert r.json()[0]["speed"]["values"] == [[1, GIVEN], [2, GIVEN_US]]


def test_4_5_19_aggregation_periods_follow_the_given_precision(api):
    t, e = datetime_entity(api)
    r = requests.get(f"{api}/temporal/entities/{e}?options=aggregatedValues&aggrMethods=sum"
                     f"&aggrPeriodDuration=PT1M&attrs=speed&timerel=after&timeAt={GIVEN}")
    assert r.status_code == 200, r.text
    assert r.json()["speed"]["sum"] == [
        [1, GIVEN, "2024-03-01T10:01:00Z"], [2, "2024-03-01T10:01:00Z", "2024-03-01T10:02:00Z"]]
    # a client that writes milliseconds gets milliseconds
    r = requests.get(f"{api}/temporal/entities/{e}?options=aggregatedValues&aggrMethods=sum"
                     f"&aggrPeriodDuration=PT1M&attrs=speed&timerel=after"
                     f"&timeAt=2024-03-01T10:00:00.000Z")
    assert r.json()["speed"]["sum"][0][1:] == ["2024-03-01T10:00:00.000Z",
                                               "2024-03-01T10:01:00.000Z"]


# ------------------------------------------------------------------------------------------------
# 4.4 / 6.3.6: an application/ld+json answer carries the request's @context as given
# ------------------------------------------------------------------------------------------------
INLINE = {"Thing": "http://example.org/Thing", "speed": "http://example.org/speed"}


def ld_entity(api):
    """An entity of type http://example.org/Thing<n> whose attribute is http://example.org/speed."""
    t = "Thing" + uid()
    ctx = {t: "http://example.org/" + t, "speed": "http://example.org/speed"}
    e = eid(t)
    create(api, {"id": e, "type": t, "speed": {"type": "Property", "value": 1,
                                               "observedAt": GIVEN}, "@context": ctx}, LD_CT)
    return t, e, ctx


def ld_get_urls(api, t, e):
    full = "http://example.org/" + t
    q = urllib.parse.quote(full, safe="")
    return [f"/entities/{e}", f"/entities?type={q}", f"/entities/{e}?options=keyValues",
            f"/entities/{e}?pick=id,type", "/types", f"/types/{q}", "/attributes",
            "/attributes?details=true", f"/temporal/entities/{e}",
            f"/temporal/entities?type={q}&timerel=after&timeAt=2000-01-01T00:00:00Z",
            f"/temporal/entities/{e}?options=temporalValues"]


def test_6_3_6_ld_json_answer_carries_the_link_url_as_given(api):
    t, e, _ = ld_entity(api)
    for path in ld_get_urls(api, t, e):
        r = requests.get(api + path, headers={"Accept": LD, "Link": link(PARKING)})
        assert r.status_code == 200, (path, r.text)
        body = r.json()
        for doc in body if isinstance(body, list) else [body]:
            assert doc["@context"] == PARKING, (path, doc)


def test_4_4_ld_json_answer_without_context_names_the_core_context(api):
    t, e, _ = ld_entity(api)
    for path in ld_get_urls(api, t, e):
        r = requests.get(api + path, headers=ACCEPT_LD)
        assert r.status_code == 200, (path, r.text)
        body = r.json()
        for doc in body if isinstance(body, list) else [body]:
            assert doc["@context"] == CORE, (path, doc)


def test_6_3_6_geojson_answer_carries_the_link_url_as_given(api):
    t, e, _ = ld_entity(api)
    r = requests.get(f"{api}/entities/{e}", headers={"Accept": "application/geo+json",
                                                     "Link": link(PARKING)})
    assert r.json()["@context"] == PARKING
    r = requests.get(f"{api}/entities?type=" + urllib.parse.quote("http://example.org/" + t),
                     headers={"Accept": "application/geo+json", "Link": link(PARKING)})
    assert r.json()["@context"] == PARKING


def test_6_3_6_post_query_answer_carries_the_inline_context_as_given(api):
    t, e, ctx = ld_entity(api)
    r = requests.post(api + "/entityOperations/query", headers={**LD_CT, **ACCEPT_LD},
                      json={"type": "Query", "entities": [{"type": t}], "@context": ctx})
    assert r.status_code == 200, r.text
    assert [d["@context"] for d in r.json()] == [ctx]
    assert r.json()[0]["type"] == t and r.json()[0]["speed"]["value"] == 1
    r = requests.post(api + "/temporal/entityOperations/query", headers={**LD_CT, **ACCEPT_LD},
                      json={"type": "Query", "entities": [{"type": t}], "@context": ctx,
                            "temporalQ": {"timerel": "after", "timeAt": "2000-01-01T00:00:00Z"}})
    assert r.status_code == 200, r.text
    assert [d["@context"] for d in r.json()] == [ctx]
    # a multi-URL context is given back as the same array
    multi = [PARKING, CORE]
    r = requests.post(api + "/entityOperations/query", headers={**LD_CT, **ACCEPT_LD},
                      json={"type": "Query", "entities": [{"type": "http://example.org/" + t}],
                            "@context": multi})
    assert r.status_code == 200, r.text
    assert [d["@context"] for d in r.json()] == [multi]


def test_6_3_6_subscription_answers_carry_the_link_url_as_given(api):
    t = new_type()
    r = requests.post(api + "/subscriptions", headers=JSON_CT, json={
        "type": "Subscription", "entities": [{"type": t}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/x"}}})
    assert r.status_code == 201, r.text
    sid = r.headers["Location"].rsplit("/", 1)[1]
    try:
        r = requests.get(f"{api}/subscriptions/{sid}", headers={"Accept": LD,
                                                                "Link": link(PARKING)})
        assert r.status_code == 200, r.text
        assert r.json()["@context"] == PARKING
        r = requests.get(f"{api}/subscriptions", headers={"Accept": LD, "Link": link(PARKING)})
        assert all(s["@context"] == PARKING for s in r.json())
        r = requests.get(f"{api}/subscriptions/{sid}", headers=ACCEPT_LD)
        assert r.json()["@context"] == CORE
    finally:
        requests.delete(f"{api}/subscriptions/{sid}")


def test_6_3_6_json_answer_links_the_implicit_context_of_an_inline_one(api):
    t, e, ctx = ld_entity(api)
    r = requests.post(api + "/entityOperations/query", headers=LD_CT,
                      json={"type": "Query", "entities": [{"type": t}], "@context": ctx})
    assert r.status_code == 200, r.text
    url = r.headers["Link"].split(">")[0][1:]
    assert "/ngsi-ld/v1/jsonldContexts/" in url
    served = requests.get(url)
    assert served.status_code == 200 and served.json() == {"@context": ctx}
    # the same Link URL now expands the names as the inline context did
    r = requests.get(f"{api}/entities/{e}", headers={"Link": link(url)})
    assert r.status_code == 200 and r.json()["type"] == t and "speed" in r.json(), r.text


# ------------------------------------------------------------------------------------------------
# 4.5.4: keyValues of a multi-attribute (several datasetIds) uses the "dataset" map
# ------------------------------------------------------------------------------------------------
def multi_entity(api):
    t = new_type()
    e = eid(t)
    create(api, {
        "id": e, "type": t,
        "name": [{"type": "Property", "value": "David Robert Jones"},
                 {"type": "Property", "value": "David Bowie", "datasetId": "urn:ngsi-ld:datasetId:001"}],
        "providedBy": [{"type": "Relationship", "object": "urn:ngsi-ld:Device:31415"},
                       {"type": "Relationship", "object": "urn:ngsi-ld:Device:27182",
                        "datasetId": "urn:ngsi-ld:datasetId:001"}],
        "periods": [{"type": "ListProperty", "valueList": ["First", "Second"]},
                    {"type": "ListProperty", "valueList": ["1st", "2nd"],
                     "datasetId": "urn:ngsi-ld:datasetId:001"}],
        "single": {"type": "Property", "value": 7},
    })
    return t, e


EXPECTED_KV = {
    "name": {"dataset": {"@none": "David Robert Jones", "urn:ngsi-ld:datasetId:001": "David Bowie"}},
    "providedBy": {"dataset": {"@none": "urn:ngsi-ld:Device:31415",
                               "urn:ngsi-ld:datasetId:001": "urn:ngsi-ld:Device:27182"}},
    "periods": {"dataset": {"@none": ["First", "Second"], "urn:ngsi-ld:datasetId:001": ["1st", "2nd"]}},
    "single": 7,
}


def test_4_5_4_key_values_of_multi_attributes_use_the_dataset_map(api):
    t, e = multi_entity(api)
    for r in (requests.get(f"{api}/entities/{e}?options=keyValues"),
              requests.get(f"{api}/entities/{e}?format=simplified"),
              requests.get(f"{api}/entities/{e}?options=keyValues&pick=id,name,providedBy,periods,single")):
        assert r.status_code == 200, r.text
        body = r.json()
        for k, v in EXPECTED_KV.items():
            assert body[k] == v, (k, body)
    r = requests.get(f"{api}/entities?type={t}&options=keyValues")
    assert {k: r.json()[0][k] for k in EXPECTED_KV} == EXPECTED_KV
    r = requests.post(f"{api}/entityOperations/query?options=keyValues", headers=JSON_CT,
                      json={"type": "Query", "entities": [{"type": t}]})
    assert {k: r.json()[0][k] for k in EXPECTED_KV} == EXPECTED_KV


# ------------------------------------------------------------------------------------------------
# 4.6.2: names (a Unicode letter, then letters, numbers or "_"; prefix:name; or an IRI)
# ------------------------------------------------------------------------------------------------
BAD_NAMES = ["my-attr", "a.b", "1abc", "_x", "a b", "sn\u2603w", "x$", "a/b"]
RESERVED = ["observedAt", "datasetId", "unitCode", "instanceId", "objectType", "@id"]


@pytest.mark.parametrize("name", BAD_NAMES + RESERVED)
def test_4_6_2_invalid_attribute_names_in_payloads_are_400(api, name):
    t = new_type()
    r = requests.post(api + "/entities", headers=JSON_CT, json={
        "id": eid(t), "type": t, name: {"type": "Property", "value": 1}})
    assert_problem(r, 400, "BadRequestData")


@pytest.mark.parametrize("name", BAD_NAMES)
def test_4_6_2_invalid_entity_type_names_are_400(api, name):
    r = requests.post(api + "/entities", headers=JSON_CT, json={"id": eid("X"), "type": name})
    assert_problem(r, 400, "BadRequestData")
    r = requests.get(api + "/entities", params={"type": name})
    assert_problem(r, 400, "BadRequestData")


def test_4_6_2_valid_names_are_accepted(api):
    t = "T\u00e9" + uid()  # a Unicode letter
    e = eid("X")
    create(api, {"id": e, "type": t, "caf\u00e9_2": {"type": "Property", "value": 1},
                 "ex:speed": {"type": "Property", "value": 2},
                 "http://example.org/depth": {"type": "Property", "value": 3},
                 "\u65e5\u672c": {"type": "Property", "value": 4},
                 "value": {"type": "Property", "value": 5}})
    body = requests.get(f"{api}/entities/{e}").json()
    assert body["caf\u00e9_2"]["value"] == 1 and body["\u65e5\u672c"]["value"] == 4
    assert body["http://example.org/depth"]["value"] == 3 and body["value"]["value"] == 5


@pytest.mark.parametrize("name", ["my-attr", "a.b", "observedAt", "id", "type", "@context"])
def test_4_6_2_invalid_attribute_names_in_urls_and_attrs_are_400(api, name):
    t = new_type()
    e = eid(t)
    create(api, {"id": e, "type": t, "p": {"type": "Property", "value": 1}})
    q = urllib.parse.quote(name, safe="")
    assert_problem(requests.patch(f"{api}/entities/{e}/attrs/{q}", headers=JSON_CT,
                                  json={"value": 2}), 400, "BadRequestData")
    assert_problem(requests.delete(f"{api}/entities/{e}/attrs/{q}"), 400, "BadRequestData")
    assert_problem(requests.delete(f"{api}/temporal/entities/{e}/attrs/{q}"), 400,
                   "BadRequestData")
    assert_problem(requests.get(f"{api}/entities/{e}", params={"attrs": name}), 400,
                   "BadRequestData")
    assert_problem(requests.get(f"{api}/entities", params={"type": t, "attrs": name}), 400,
                   "BadRequestData")
    assert_problem(requests.post(f"{api}/entityOperations/query", headers=JSON_CT, json={
        "type": "Query", "entities": [{"type": t}], "attrs": [name]}), 400, "BadRequestData")


# ------------------------------------------------------------------------------------------------
# 5.13, 6.29, 6.30: the @contexts API
# ------------------------------------------------------------------------------------------------
def implicit_entries(api):
    r = requests.get(api + "/jsonldContexts", params={"details": "true", "kind": "ImplicitlyCreated"})
    assert r.status_code == 200, r.text
    return r.json()


WEATHER = "https://raw.githubusercontent.com/smart-data-models/dataModel.Weather/master/context.jsonld"


@pytest.mark.parametrize("shape", ["inline", "mixed", "multi_url"])
def test_5_13_1_inline_or_multi_url_context_creates_an_implicitly_created_entry(api, shape):
    t = "Thing" + uid()
    ctx = {"inline": {t: "http://example.org/" + t},
           "mixed": [PARKING, {t: "http://example.org/" + t}],
           "multi_url": [PARKING, WEATHER]}[shape]
    body = {"id": eid(t), "type": t, "@context": ctx}
    create(api, body, LD_CT)
    mine = [d for d in implicit_entries(api)
            if requests.get(d["URL"]).json() == {"@context": ctx}]
    assert len(mine) == 1, implicit_entries(api)
    d = mine[0]
    assert d["URL"].endswith("/ngsi-ld/v1/jsonldContexts/" + d["localId"])
    assert d["URL"] in requests.get(api + "/jsonldContexts").json()
    # served by Polis (5.13.4: ImplicitlyCreated contexts are served), by localId too
    assert requests.get(f"{api}/jsonldContexts/{d['localId']}").json() == {"@context": ctx}
    # the same context again: the same entry (a stable id), no second one
    create(api, {**body, "id": eid(t)}, LD_CT)
    again = [x for x in implicit_entries(api) if x["localId"] == d["localId"]]
    assert len(again) == 1 and again[0]["numberOfHits"] > d["numberOfHits"]


def test_5_13_1_a_single_url_context_is_not_implicitly_created(api):
    before = {d["localId"] for d in implicit_entries(api)}
    t = new_type()
    create(api, {"id": eid(t), "type": t}, {**JSON_CT, "Link": link(PARKING)})
    create(api, {"id": eid(t), "type": t, "@context": PARKING}, LD_CT)
    assert {d["localId"] for d in implicit_entries(api)} == before


def test_6_29_3_1_post_answers_location_as_the_local_relative_path(api):
    r = requests.post(api + "/jsonldContexts", json={"@context": {"z": "http://example.org/z"}})
    assert r.status_code == 201, r.text
    loc = r.headers["Location"]
    assert loc.startswith("/ngsi-ld/v1/jsonldContexts/") and "://" not in loc, loc
    base = api.rsplit("/ngsi-ld/v1", 1)[0]
    assert requests.get(base + loc).json() == {"@context": {"z": "http://example.org/z"}}
    assert base + loc in requests.get(api + "/jsonldContexts").json()
    assert requests.delete(base + loc).status_code == 204


def test_5_13_5_4_reload_of_an_unknown_context_is_resource_not_found(api):
    assert_problem(requests.delete(api + "/jsonldContexts/nope" + uid(), params={"reload": "true"}),
                   404, "ResourceNotFound")
    assert_problem(requests.delete(api + "/jsonldContexts/nope" + uid()), 404, "ResourceNotFound")


def test_5_13_5_reload_of_the_core_context_reloads_it(api):
    q = urllib.parse.quote(CORE, safe="")
    r = requests.delete(f"{api}/jsonldContexts/{q}", params={"reload": "true"})
    assert r.status_code == 204, r.text
    assert CORE in requests.get(api + "/jsonldContexts").json()
    # still cannot be deleted, and still works
    assert_problem(requests.delete(f"{api}/jsonldContexts/{q}"), 400, "BadRequestData")
    t = new_type()
    create(api, {"id": eid(t), "type": t, "p": {"type": "Property", "value": 1}})


# ------------------------------------------------------------------------------------------------
# Further "shall"s of 4.4 and 6.3.6
# ------------------------------------------------------------------------------------------------
def test_4_4_at_id_and_at_type_accepted_in_requests_answers_use_id_and_type(api):
    t = new_type()
    e = eid(t)
    create(api, {"@id": e, "@type": t, "p": {"type": "Property", "value": 1}})
    body = requests.get(f"{api}/entities/{e}", headers=ACCEPT_LD).json()
    assert body["id"] == e and body["type"] == t and "@id" not in body and "@type" not in body
    assert_problem(requests.post(api + "/entities", headers=JSON_CT,
                                 json={"@id": e, "id": e, "type": t}), 400, "BadRequestData")


def test_6_3_6_geojson_with_prefer_body_json_links_the_context(api):
    t = new_type()
    e = eid(t)
    create(api, {"id": e, "type": t, "location": {"type": "GeoProperty", "value": {
        "type": "Point", "coordinates": [1, 2]}}})
    h = {"Accept": "application/geo+json", "Prefer": "body=json", "Link": link(PARKING)}
    for url in (f"{api}/entities/{e}", f"{api}/entities?type={t}"):
        r = requests.get(url, headers=h)
        assert r.status_code == 200, r.text
        assert r.headers["Content-Type"].startswith("application/geo+json")
        assert "@context" not in r.json(), r.json()
        assert r.headers["Link"].startswith(f"<{PARKING}>"), r.headers
    r = requests.get(f"{api}/entities/{e}", headers={"Accept": "application/geo+json"})
    assert r.json()["@context"] == CORE and "Link" not in r.headers


def test_6_3_6_no_link_header_without_a_body(api):
    t = new_type()
    r = create(api, {"id": eid(t), "type": t}, {**JSON_CT, "Link": link(PARKING)})
    assert "Link" not in r.headers


def test_4_6_3_a_comma_decimal_separator_is_accepted_and_kept(api):
    t = new_type()
    e = eid(t)
    given = "2024-03-01T10:00:00,25Z"
    create(api, {"id": e, "type": t, "p": {"type": "Property", "value": 1, "observedAt": given}})
    assert requests.get(f"{api}/entities/{e}").json()["p"]["observedAt"] == given
    r = requests.get(f"{api}/temporal/entities/{e}?options=temporalValues")
    assert r.json()["p"]["values"] == [[1, given]]
    r = requests.get(f"{api}/entities?type={t}&q=p.observedAt==2024-03-01T10:00:00.250Z")
    assert [x["id"] for x in r.json()] == [e], r.text
