"""Conformance items of issue 11 closed after the first pass (docs/conformance.md)."""
import json

import requests

from conftest import assert_problem

E = "/entities"
CT = {"Content-Type": "application/json"}


def _create(api, eid, t="T"):
    return requests.post(api + E, headers=CT,
                         data=json.dumps({"id": eid, "type": t,
                                          "a": {"type": "Property", "value": 1}}))


def test_4_5_1_entity_id_with_malformed_percent_escape_is_not_a_uri(api):
    # RFC 3986 2.1 (the id of 4.5.1 is a URI): '%' must start a pct-encoded octet
    for bad in ("urn:a:%zz", "urn:a:%4", "urn:a:100%"):
        assert_problem(_create(api, bad), 400, "BadRequestData")
        assert requests.get(api + E + "/" + bad.replace("%", "%25")).status_code == 400
    r = _create(api, "urn:a:%41ok")
    assert r.status_code == 201, r.text
    r = requests.get(api + E + "/" + "urn:a:%2541ok")
    assert r.status_code == 200 and r.json()["id"] == "urn:a:%41ok"
