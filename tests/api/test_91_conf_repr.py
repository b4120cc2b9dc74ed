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
