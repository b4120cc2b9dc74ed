# SPDX-License-Identifier: Apache-2.0
"""Configurable input limits (--max-body, --max-depth, --max-attrs, --max-id-len): each is
rejected with a clear ProblemDetails, and the server stays up."""
import pytest
import requests

from conftest import Polis, assert_problem


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    p = Polis(tmp_path_factory.mktemp("limits"),
              extra_args=["--max-body", "2000", "--max-depth", "6", "--max-attrs", "3",
                          "--max-id-len", "80"]).start()
    yield p
    p.check_exit()


def post(p, body):
    return requests.post(p.api + "/entities", json=body)


def test_body_limit_is_413(small):
    r = post(small, {"id": "urn:a:1", "type": "T", "d": {"type": "Property", "value": "x" * 3000}})
    body = assert_problem(r, 413, "TooLarge")
    assert "2000" in body["detail"]


def test_body_limit_applies_to_chunked_uploads(small):
    def gen():
        yield b'{"id":"urn:a:2","type":"T","d":{"type":"Property","value":"'
        for _ in range(10):
            yield b"y" * 500
        yield b'"}}'
    r = requests.post(small.api + "/entities", data=gen(),
                      headers={"Content-Type": "application/json"})
    assert_problem(r, 413, "TooLarge")


def test_depth_limit(small):
    deep = {"type": "Property", "value": [[[[[[[1]]]]]]]}
    body = assert_problem(post(small, {"id": "urn:a:3", "type": "T", "d": deep}), 400,
                          "BadRequestData")
    assert "depth" in body["detail"] or "nest" in body["detail"]


def test_attribute_count_limit(small):
    attrs = {f"a{i}": {"type": "Property", "value": i} for i in range(4)}
    body = assert_problem(post(small, dict({"id": "urn:a:4", "type": "T"}, **attrs)), 400,
                          "BadRequestData")
    assert "attribute" in body["detail"]
    attrs.pop("a3")
    assert post(small, dict({"id": "urn:a:4", "type": "T"}, **attrs)).status_code == 201


def test_id_length_limit(small):
    long_id = "urn:ngsi-ld:T:" + "x" * 80
    assert_problem(post(small, {"id": long_id, "type": "T"}), 400, "BadRequestData")
    assert_problem(requests.get(small.api + "/entities/" + long_id), 400, "BadRequestData")


def test_malformed_json_names_the_position(small):
    r = requests.post(small.api + "/entities", data='{"id": "urn:a:5",\n "type": T}',
                      headers={"Content-Type": "application/json"})
    body = assert_problem(r, 400, "InvalidRequest")
    assert "line 2" in body["detail"] and "column" in body["detail"]


def test_type_count_limit(small):
    # --max-attrs also caps the number of entity types (duplicates count as given).
    body = assert_problem(post(small, {"id": "urn:a:6", "type": ["A", "B", "C", "D"]}), 400,
                          "BadRequestData")
    assert "too many types (4 > 3)" in body["detail"]
    assert post(small, {"id": "urn:a:6", "type": ["A", "B", "C"]}).status_code == 201


def test_sub_attributes_count_against_attribute_limit(small):
    # 2 top-level attributes + 2 sub-attributes = 4 instances > 3.
    ent = {"id": "urn:a:7", "type": "T",
           "a": {"type": "Property", "value": 1, "s1": {"type": "Property", "value": 2}},
           "b": {"type": "Property", "value": 3, "s2": {"type": "Property", "value": 4}}}
    body = assert_problem(post(small, ent), 400, "BadRequestData")
    assert "attribute" in body["detail"] and "sub-attributes" in body["detail"]
    del ent["b"]["s2"]
    assert post(small, ent).status_code == 201


def test_appends_cannot_grow_an_entity_past_the_limits(small):
    """The limits hold for the stored entity, not only for one payload (review 2026-11-23)."""
    eid = "urn:ngsi-ld:Grow:1"
    assert post(small, {"id": eid, "type": "T", "a": {"type": "Property", "value": 1}}).status_code == 201
    r = requests.post(small.api + f"/entities/{eid}/attrs",
                      json={"b": {"type": "Property", "value": 2}, "c": {"type": "Property", "value": 3},
                            "d": {"type": "Property", "value": 4}})
    body = assert_problem(r, 400, "BadRequestData")
    assert "attribute" in body["detail"]
    got = requests.get(small.api + f"/entities/{eid}").json()
    assert "b" not in got and "c" not in got
    r = requests.patch(small.api + f"/entities/{eid}",
                       json={"type": ["T", "U", "V", "W"]})
    assert_problem(r, 400, "BadRequestData")
