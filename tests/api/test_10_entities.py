# SPDX-License-Identifier: Apache-2.0
"""Entity CRUD and representations (NGSI-LD 5.6.1-5.6.6, 5.6.17-5.6.19, 5.7.1; HTTP 6.4-6.7)."""
import uuid

import requests

from conftest import CORE, assert_problem, link, run_auth_header

LD = {"Content-Type": "application/ld+json"}
JS = {"Content-Type": "application/json"}
ENV_CTX = "https://raw.githubusercontent.com/smart-data-models/dataModel.Environment/master/context.jsonld"


def new_id(kind="Thing"):
    return f"urn:ngsi-ld:{kind}:{uuid.uuid4().hex[:12]}"


def sensor(eid=None, **extra):
    e = {
        "id": eid or new_id("Sensor"),
        "type": "Sensor",
        "temperature": {"type": "Property", "value": 21.5, "unitCode": "CEL",
                        "observedAt": "2026-01-01T10:00:00Z",
                        "accuracy": {"type": "Property", "value": 0.1}},
        "location": {"type": "GeoProperty",
                     "value": {"type": "Point", "coordinates": [106.68, 20.86]}},
        "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Org:haiphong"},
        "name": {"type": "LanguageProperty", "languageMap": {"en": "Sensor", "vi": "Cam bien"}},
        "category": {"type": "VocabProperty", "vocab": "airQuality"},
        "config": {"type": "JsonProperty", "json": {"rate": 5, "keys": ["a", "b"]}},
        "readings": {"type": "ListProperty", "valueList": [1, 2, 3]},
        "peers": {"type": "ListRelationship",
                  "objectList": [{"object": "urn:ngsi-ld:Sensor:a"}, {"object": "urn:ngsi-ld:Sensor:b"}]},
    }
    e.update(extra)
    return e


def create(api, e, headers=JS):
    r = requests.post(api + "/entities", json=e, headers=headers)
    assert r.status_code == 201, r.text
    return r


def get(api, eid, **params):
    headers = params.pop("headers", {})
    r = requests.get(api + "/entities/" + eid, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_create_returns_201_with_location_5_6_1(api):
    e = sensor()
    r = create(api, e)
    assert r.headers["Location"] == "/ngsi-ld/v1/entities/" + e["id"]
    assert r.text == ""


def test_retrieve_normalized_roundtrip_5_7_1(api):
    e = sensor()
    create(api, e)
    r = requests.get(api + "/entities/" + e["id"])
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert CORE in r.headers["Link"]
    got = r.json()
    assert got["id"] == e["id"] and got["type"] == "Sensor"
    assert got["temperature"]["value"] == 21.5
    assert got["temperature"]["unitCode"] == "CEL"
    assert got["temperature"]["observedAt"] == "2026-01-01T10:00:00.000Z" or \
        got["temperature"]["observedAt"] == "2026-01-01T10:00:00Z"
    assert got["temperature"]["accuracy"] == {"type": "Property", "value": 0.1}
    assert got["location"]["value"]["coordinates"] == [106.68, 20.86]
    assert got["owner"] == {"type": "Relationship", "object": "urn:ngsi-ld:Org:haiphong"}
    assert got["name"]["languageMap"]["vi"] == "Cam bien"
    assert got["category"]["vocab"] == "airQuality"
    assert got["config"]["json"] == {"rate": 5, "keys": ["a", "b"]}
    assert got["readings"]["valueList"] == [1, 2, 3]
    assert "createdAt" not in got and "createdAt" not in got["temperature"]


def test_duplicate_create_is_409_already_exists(api):
    e = sensor()
    create(api, e)
    r = requests.post(api + "/entities", json=e)
    assert_problem(r, 409, "AlreadyExists")


def test_missing_entity_is_404(api):
    assert_problem(requests.get(api + "/entities/urn:ngsi-ld:X:nope"), 404, "ResourceNotFound")


def test_ld_json_response_has_inline_context_6_3_6(api):
    e = sensor()
    create(api, e)
    r = requests.get(api + "/entities/" + e["id"], headers={"Accept": "application/ld+json"})
    assert r.headers["Content-Type"].startswith("application/ld+json")
    assert "Link" not in r.headers
    assert r.json()["@context"] == CORE


def test_sysattrs_show_created_and_modified_4_8(api):
    e = sensor()
    create(api, e)
    got = get(api, e["id"], options="sysAttrs")
    for obj in (got, got["temperature"], got["owner"]):
        assert obj["createdAt"].endswith("Z") and obj["modifiedAt"].endswith("Z")


def test_keyvalues_and_simplified_4_5_4(api):
    e = sensor()
    create(api, e)
    for params in ({"options": "keyValues"}, {"format": "simplified"}, {"format": "keyValues"}):
        kv = get(api, e["id"], **params)
        assert kv["temperature"] == 21.5
        assert kv["owner"] == "urn:ngsi-ld:Org:haiphong"
        assert kv["location"] == {"type": "Point", "coordinates": [106.68, 20.86]}
        assert kv["readings"] == [1, 2, 3]
        assert kv["config"] == {"json": {"rate": 5, "keys": ["a", "b"]}}  # 4.5.4 EXAMPLE 5
        assert kv["category"] == {"vocab": "airQuality"}
        assert kv["name"] == {"languageMap": {"en": "Sensor", "vi": "Cam bien"}}


def test_concise_drops_types(api):
    e = sensor()
    create(api, e)
    c = get(api, e["id"], options="concise")
    assert "type" not in c["temperature"]
    assert c["temperature"]["value"] == 21.5
    assert c["owner"] == {"object": "urn:ngsi-ld:Org:haiphong"}


def test_concise_input_is_accepted(api):
    eid = new_id()
    e = {"id": eid, "type": "Thing", "speed": 12, "label": {"value": "x", "unitCode": "KMH"},
         "road": {"object": "urn:ngsi-ld:Road:1"},
         "location": {"type": "Point", "coordinates": [1, 2]}}
    create(api, e)
    got = get(api, eid)
    assert got["speed"] == {"type": "Property", "value": 12}
    assert got["label"]["type"] == "Property" and got["label"]["unitCode"] == "KMH"
    assert got["road"]["type"] == "Relationship"
    assert got["location"]["type"] == "GeoProperty"


def test_attrs_pick_omit_5_7_1(api):
    e = sensor()
    create(api, e)
    got = get(api, e["id"], attrs="temperature,owner")
    assert set(got) == {"id", "type", "temperature", "owner"}
    got = get(api, e["id"], pick="id,temperature")
    assert set(got) == {"id", "temperature"}
    got = get(api, e["id"], omit="type,temperature,location")
    assert "type" not in got and "temperature" not in got and "owner" in got


def test_lang_picks_one_language_4_15(api):
    e = sensor()
    create(api, e)
    got = get(api, e["id"], lang="vi")
    assert got["name"]["type"] == "Property"
    assert got["name"]["value"] == "Cam bien"
    assert got["name"]["lang"] == "vi"
    kv = get(api, e["id"], lang="en", options="keyValues")
    assert kv["name"] == "Sensor"


def test_geojson_feature_4_5_17(api):
    e = sensor()
    create(api, e)
    r = requests.get(api + "/entities/" + e["id"], headers={"Accept": "application/geo+json"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/geo+json")
    f = r.json()
    assert f["type"] == "Feature" and f["id"] == e["id"]
    assert f["geometry"] == {"type": "Point", "coordinates": [106.68, 20.86]}
    assert f["properties"]["type"] == "Sensor"
    assert f["properties"]["temperature"]["value"] == 21.5


def test_multiple_types_and_scope_4_16_4_18(api):
    eid = new_id()
    create(api, {"id": eid, "type": ["Sensor", "Device"], "scope": ["/Haiphong/Port"],
                 "a": {"type": "Property", "value": 1}})
    got = get(api, eid)
    assert sorted(got["type"]) == ["Device", "Sensor"]
    assert got["scope"] in ("/Haiphong/Port", ["/Haiphong/Port"])


def test_delete_entity_5_6_6(api):
    e = sensor()
    create(api, e)
    assert requests.delete(api + "/entities/" + e["id"]).status_code == 204
    assert_problem(requests.get(api + "/entities/" + e["id"]), 404, "ResourceNotFound")
    assert_problem(requests.delete(api + "/entities/" + e["id"]), 404, "ResourceNotFound")


def test_replace_entity_keeps_created_at_5_6_18(api):
    e = sensor()
    create(api, e)
    before = get(api, e["id"], options="sysAttrs")
    r = requests.put(api + "/entities/" + e["id"],
                     json={"type": "Sensor", "humidity": {"type": "Property", "value": 40}})
    assert r.status_code == 204, r.text
    got = get(api, e["id"], options="sysAttrs")
    assert "temperature" not in got and got["humidity"]["value"] == 40
    assert got["createdAt"] == before["createdAt"]
    assert got["modifiedAt"] >= before["modifiedAt"]


def test_merge_entity_with_null_deletes_5_6_17(api):
    e = sensor()
    create(api, e)
    r = requests.patch(api + "/entities/" + e["id"],
                       json={"temperature": {"type": "Property", "value": 30},
                             "owner": "urn:ngsi-ld:null",
                             "extra": {"type": "Property", "value": "new"}},
                       headers={"Content-Type": "application/merge-patch+json"})
    assert r.status_code == 204, r.text
    got = get(api, e["id"])
    assert got["temperature"]["value"] == 30
    assert got["temperature"]["unitCode"] == "CEL"  # merged, not replaced
    assert "owner" not in got
    assert got["extra"]["value"] == "new"


def test_append_no_overwrite_gives_207_5_6_3(api):
    e = sensor()
    create(api, e)
    r = requests.post(api + "/entities/" + e["id"] + "/attrs", params={"options": "noOverwrite"},
                      json={"temperature": {"type": "Property", "value": 99},
                            "pressure": {"type": "Property", "value": 1013}})
    assert r.status_code == 207, r.text
    body = r.json()
    assert any(n["attributeName"].endswith("temperature") for n in body["notUpdated"])
    got = get(api, e["id"])
    assert got["temperature"]["value"] == 21.5 and got["pressure"]["value"] == 1013
    r = requests.post(api + "/entities/" + e["id"] + "/attrs",
                      json={"temperature": {"type": "Property", "value": 99}})
    assert r.status_code == 204
    assert get(api, e["id"])["temperature"]["value"] == 99


def test_update_attrs_appends_missing_5_6_2(api):
    # 5.6.2.4: an attribute the entity does not have is appended (this test asserted a 207
    # with "ghost" not updated before issue 11).
    e = sensor()
    create(api, e)
    r = requests.patch(api + "/entities/" + e["id"] + "/attrs",
                       json={"temperature": {"type": "Property", "value": 5},
                             "ghost": {"type": "Property", "value": 1}})
    assert r.status_code == 204, r.text
    got = get(api, e["id"])
    assert got["temperature"]["value"] == 5 and got["ghost"]["value"] == 1


def test_partial_attribute_update_5_6_4(api):
    e = sensor()
    create(api, e)
    r = requests.patch(api + "/entities/" + e["id"] + "/attrs/temperature", json={"value": 25})
    assert r.status_code == 204, r.text
    got = get(api, e["id"])
    assert got["temperature"]["value"] == 25 and got["temperature"]["unitCode"] == "CEL"
    r = requests.patch(api + "/entities/" + e["id"] + "/attrs/nothere", json={"value": 1})
    assert_problem(r, 404, "ResourceNotFound")


def test_replace_attribute_5_6_19(api):
    e = sensor()
    create(api, e)
    r = requests.put(api + "/entities/" + e["id"] + "/attrs/temperature",
                     json={"type": "Property", "value": 7})
    assert r.status_code == 204, r.text
    got = get(api, e["id"])
    assert got["temperature"] == {"type": "Property", "value": 7}


def test_dataset_ids_and_delete_all_4_5_5(api):
    eid = new_id()
    create(api, {"id": eid, "type": "Thing", "speed": [
        {"type": "Property", "value": 1},
        {"type": "Property", "value": 2, "datasetId": "urn:ngsi-ld:Dataset:gps"},
        {"type": "Property", "value": 3, "datasetId": "urn:ngsi-ld:Dataset:radar"}]})
    got = get(api, eid)
    assert isinstance(got["speed"], list) and len(got["speed"]) == 3
    r = requests.delete(api + f"/entities/{eid}/attrs/speed",
                        params={"datasetId": "urn:ngsi-ld:Dataset:gps"})
    assert r.status_code == 204
    got = get(api, eid)
    assert len(got["speed"]) == 2
    assert all(s.get("datasetId") != "urn:ngsi-ld:Dataset:gps" for s in got["speed"])
    r = requests.delete(api + f"/entities/{eid}/attrs/speed", params={"deleteAll": "true"})
    assert r.status_code == 204
    assert "speed" not in get(api, eid)


def test_delete_attribute_5_6_5(api):
    e = sensor()
    create(api, e)
    assert requests.delete(api + f"/entities/{e['id']}/attrs/owner").status_code == 204
    assert "owner" not in get(api, e["id"])
    assert_problem(requests.delete(api + f"/entities/{e['id']}/attrs/owner"), 404,
                   "ResourceNotFound")


def test_user_context_terms_expand_and_compact(api):
    """Created with the Environment context, read with it (short names) and without it
    (names the core context cannot compact come back as full IRIs)."""
    eid = new_id("AirQualityObserved")
    e = {"id": eid, "type": "AirQualityObserved",
         "no2": {"type": "Property", "value": 22}, "@context": [ENV_CTX]}
    create(api, e, headers=LD)
    got = get(api, eid, headers={"Link": link(ENV_CTX)})
    assert got["type"] == "AirQualityObserved" and got["no2"]["value"] == 22
    bare = get(api, eid)
    assert bare["type"] == "https://smartdatamodels.org/dataModel.Environment/AirQualityObserved"
    assert "https://smartdatamodels.org/dataModel.Environment/no2" in bare


def test_read_with_another_context_shows_its_names(api, ctx_server):
    """An entity created with context A and read with context B, where B names the same IRIs
    differently, shows B's short names."""
    ctx_server.docs["/a.jsonld"] = {"@context": {"temp": "https://example.org/vocab#temperature",
                                                 "Station": "https://example.org/vocab#Station"}}
    ctx_server.docs["/b.jsonld"] = {"@context": {"t": "https://example.org/vocab#temperature",
                                                 "WeatherStation": "https://example.org/vocab#Station"}}
    eid = new_id("Station")
    r = requests.post(api + "/entities", headers={"Link": link(ctx_server.url("/a.jsonld"))},
                      json={"id": eid, "type": "Station", "temp": {"type": "Property", "value": 3}})
    assert r.status_code == 201, r.text
    got = get(api, eid, headers={"Link": link(ctx_server.url("/b.jsonld"))})
    assert got["type"] == "WeatherStation" and got["t"]["value"] == 3
    r = requests.get(api + "/entities/" + eid, headers={"Link": link(ctx_server.url("/b.jsonld"))})
    assert ctx_server.url("/b.jsonld") in r.headers["Link"]


def test_tenants_are_separate_4_14(api):
    e = sensor()
    r = requests.post(api + "/entities", json=e, headers={"NGSILD-Tenant": "haiphong"})
    assert r.status_code == 201
    assert requests.get(api + "/entities/" + e["id"],
                        headers={"NGSILD-Tenant": "haiphong"}).status_code == 200
    assert_problem(requests.get(api + "/entities/" + e["id"]), 404, "ResourceNotFound")


def test_health_and_version(polis):
    assert requests.get(polis.url + "/health").status_code == 200
    v = requests.get(polis.url + "/version").json()
    assert v["store"] == "sqlite"


def test_ids_with_slashes_are_reachable_percent_encoded(api):
    """An http(s) URI is a valid entity id; its '/' travel as %2F in the path (review
    2026-11-23: they were created but unreachable)."""
    import urllib.parse
    eid = "https://city.example.org/sensors/" + uuid.uuid4().hex[:8] + "?x=1#f"
    r = requests.post(api + "/entities", json={"id": eid, "type": "T"})
    assert r.status_code == 201, r.text
    enc = urllib.parse.quote(eid, safe="")
    loc = r.headers["Location"]
    assert loc.startswith("/ngsi-ld/v1/entities/")
    seg = loc[len("/ngsi-ld/v1/entities/"):]
    assert "/" not in seg and "?" not in seg and "#" not in seg
    assert urllib.parse.unquote(seg) == eid
    got = requests.get(api + "/entities/" + enc)
    assert got.status_code == 200 and got.json()["id"] == eid
    assert requests.post(api + f"/entities/{enc}/attrs",
                         json={"a": {"type": "Property", "value": 1}}).status_code == 204
    assert requests.delete(api + f"/entities/{enc}/attrs/a").status_code == 204
    assert requests.delete(api + "/entities/" + enc).status_code == 204


def test_every_link_header_is_read_6_3_5(polis, ctx_server):
    """A context Link in a second Link header is honoured (review 2026-11-23: only the first
    header was read), and two context links are an error."""
    import http.client
    import json as _json
    url = ctx_server.url("/never-served.jsonld")
    conn = http.client.HTTPConnection("127.0.0.1", polis.port, timeout=10)
    body = _json.dumps({"id": new_id(), "type": "T"})
    conn.putrequest("POST", "/ngsi-ld/v1/entities")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(len(body)))
    conn.putheader("Link", '<http://example.org/x>; rel="alternate"')
    conn.putheader("Link", link(url))
    for k, v in run_auth_header(polis).items():  # POLIS_TEST_AUTH=operator
        conn.putheader(k, v)
    conn.endheaders(body.encode())
    resp = conn.getresponse()
    problem = _json.loads(resp.read())
    assert resp.status == 504 and problem["type"].endswith("/LdContextNotAvailable")
    conn.close()
    two = link(CORE) + ", " + link(ENV_CTX)
    assert_problem(requests.get(polis.api + "/entities/urn:a:b", headers={"Link": two}), 400,
                   "BadRequestData")


def test_nonexistent_tenant_5_5_10(api):
    """Reading, updating or deleting in a tenant nothing was ever created in is
    NonexistentTenant; creating creates the tenant; the tenant is echoed in responses."""
    t = {"NGSILD-Tenant": "t" + uuid.uuid4().hex[:8]}
    eid = new_id()
    assert_problem(requests.get(api + "/entities/" + eid, headers=t), 404, "NonexistentTenant")
    assert_problem(requests.delete(api + "/entities/" + eid, headers=t), 404, "NonexistentTenant")
    assert_problem(requests.patch(api + f"/entities/{eid}/attrs",
                                  json={"a": {"type": "Property", "value": 1}}, headers=t),
                   404, "NonexistentTenant")
    r = requests.post(api + "/entities", json={"id": eid, "type": "T"}, headers=t)
    assert r.status_code == 201 and r.headers["NGSILD-Tenant"] == t["NGSILD-Tenant"]
    r = requests.get(api + "/entities/" + new_id(), headers=t)
    assert_problem(r, 404, "ResourceNotFound")
    assert requests.delete(api + "/entities/" + eid, headers=t).status_code == 204
    # The tenant stays once created.
    assert_problem(requests.get(api + "/entities/" + eid, headers=t), 404, "ResourceNotFound")


def test_fragment_example_2_of_clause_5_4(api):
    """NGSI-LD 5.4 EXAMPLE 2: a merge fragment changes an attribute, adds observedAt, removes a
    sub-attribute and removes an attribute, both with the NGSI-LD Null."""
    eid = "urn:ngsi-ld:TemperatureSensor:" + uuid.uuid4().hex[:8]
    create(api, {"id": eid, "type": "TemperatureSensor",
                 "batteryLevel": {"type": "Property", "value": 5,
                                  "providedBy": {"type": "Relationship", "object": "urn:x:1"}},
                 "uncharged": {"type": "Property", "value": True}})
    r = requests.patch(api + "/entities/" + eid,
                       headers={"Content-Type": "application/merge-patch+json"},
                       json={"id": eid, "type": "TemperatureSensor",
                             "batteryLevel": {"type": "Property", "value": 7,
                                              "observedAt": "2022-03-14T12:51:02.000Z",
                                              "providedBy": "urn:ngsi-ld:null"},
                             "uncharged": {"type": "Property", "value": "urn:ngsi-ld:null"}})
    assert r.status_code == 204, r.text
    got = get(api, eid)
    assert "uncharged" not in got
    assert got["batteryLevel"]["value"] == 7
    assert got["batteryLevel"]["observedAt"].startswith("2022-03-14T12:51:02")
    assert "providedBy" not in got["batteryLevel"]
