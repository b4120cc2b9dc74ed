# SPDX-License-Identifier: Apache-2.0
"""Table-driven bad input (cases/bad_input.json): every malformed request gets the status and
the ProblemDetails type the spec assigns (5.5.2, 6.3.2, 6.3.4), nothing is half-written, and the
server stays up."""
import json
import os

import pytest
import requests

from conftest import assert_problem

CASES = json.load(open(os.path.join(os.path.dirname(__file__), "cases", "bad_input.json")))
EXISTING = "urn:ngsi-ld:Bad:existing"


@pytest.fixture(scope="module", autouse=True)
def existing(polis):
    r = requests.post(polis.api + "/entities", json={
        "id": EXISTING, "type": "T", "a": {"type": "Property", "value": 1}})
    assert r.status_code in (201, 409)


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_bad_input(polis, case):
    url = polis.url + case["path"]
    if case.get("query"):
        url += "?" + case["query"]
    headers = dict(case.get("headers", {}))
    data = None
    if "json" in case:
        data = json.dumps(case["json"])
    elif "raw" in case:
        data = case["raw"]
    if data is not None:
        headers.setdefault("Content-Type", "application/json")
    before = requests.get(polis.api + "/entities/" + EXISTING).json()
    r = requests.request(case["method"], url, data=data, headers=headers)
    # Every 4xx carries a ProblemDetails, 415 included (docs/conformance.md, the HTTP edge).
    assert_problem(r, case["status"], case["type"])
    # Nothing half-written: the bystander entity is unchanged and no stray entity exists.
    assert requests.get(polis.api + "/entities/" + EXISTING).json() == before
    assert requests.get(polis.api + "/entities/urn:ngsi-ld:Bad:new").status_code == 404
    assert requests.get(polis.url + "/health").status_code == 200


def test_there_are_at_least_40_distinct_cases():
    assert len({c["name"] for c in CASES}) == len(CASES) >= 40


def test_missing_content_length_is_411_with_problem_details(polis):
    import socket
    s = socket.create_connection(("127.0.0.1", polis.port))
    s.sendall(b"POST /ngsi-ld/v1/entities HTTP/1.1\r\nHost: x\r\n"
              b"Content-Type: application/json\r\nConnection: close\r\n\r\n")
    data = b""
    while True:
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 411"), head
    assert json.loads(body)["type"] == "https://uri.etsi.org/ngsi-ld/errors/LengthRequired"


def test_too_large_body_is_413(polis):
    big = '{"id":"urn:ngsi-ld:Bad:big","type":"T","a":{"type":"Property","value":"' + \
        "x" * (17 * 1024 * 1024) + '"}}'
    r = requests.post(polis.api + "/entities", data=big,
                      headers={"Content-Type": "application/json"})
    assert_problem(r, 413, "TooLarge")
