# SPDX-License-Identifier: Apache-2.0
"""NGSI-LD V1.9.1 clause 4.18 (Scope grammar) and 4.19 (scopeQ against scopes written without
the optional leading "/"): the grammar `[/] ScopeLevel *(/ ScopeLevel)`, a ScopeLevel being a
Unicode letter then letters, digits or "_"."""
import uuid

import requests

from conftest import assert_problem

J = {"Content-Type": "application/json"}


def new_entity(scope):
    t = "S" + uuid.uuid4().hex[:8]
    return {"id": f"urn:ngsi-ld:{t}:1", "type": t, "scope": scope}


def test_4_18_scope_without_leading_slash_is_valid_and_kept_as_given(api):
    e = new_entity(["Madrid", "/CompanyA/OrganizationB/UnitC"])
    assert requests.post(api + "/entities", json=e).status_code == 201
    got = requests.get(api + "/entities/" + e["id"]).json()
    assert sorted(got["scope"]) == ["/CompanyA/OrganizationB/UnitC", "Madrid"]
    # 4.19: "/Madrid" and "Madrid" name the same scope
    for q in ("/Madrid", "Madrid", "/Madrid/#"):
        r = requests.get(api + "/entities", params={"type": e["type"], "scopeQ": q})
        assert [x["id"] for x in r.json()] == [e["id"]], q


def test_4_18_scope_outside_the_grammar_is_bad_request_data(api):
    for bad in ("", "/", "//Madrid", "/Madrid/", "/Madrid//Gardens", "/1Madrid", "/Ma-drid",
                "/Ma drid", "/#", 42, ["/ok", "/"]):
        r = requests.post(api + "/entities", json=new_entity(bad))
        assert_problem(r, 400, "BadRequestData")


def test_4_18_scope_grammar_on_the_attribute_endpoints(api):
    e = new_entity("/Madrid")
    assert requests.post(api + "/entities", json=e).status_code == 201
    r = requests.post(api + f"/entities/{e['id']}/attrs", json={"scope": "/Ma-drid"}, headers=J)
    assert_problem(r, 400, "BadRequestData")
    r = requests.post(api + f"/entities/{e['id']}/attrs", json={"scope": "Gardens"}, headers=J)
    assert r.status_code == 204, r.text
    assert "Gardens" in requests.get(api + "/entities/" + e["id"]).json()["scope"]
