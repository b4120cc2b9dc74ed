# SPDX-License-Identifier: Apache-2.0
"""@context handling (NGSI-LD 4.4, 5.13, 6.3.5, 6.29, 6.30): built-in core contexts, remote
contexts (fetched, cached, never cached on failure), preloaded contexts, the /jsonldContexts API,
and equivalence of our expansion with python3-pyld."""
import copy
import glob
import json
import os
import uuid

import pytest
import requests

from conftest import ROOT, assert_problem, link

CORE_URLS = ["https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld"] + [
    f"https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.{n}.jsonld" for n in range(3, 10)]


def uid(prefix="T"):
    return f"urn:ngsi-ld:{prefix}:{uuid.uuid4().hex[:10]}"


@pytest.mark.parametrize("url", CORE_URLS)
def test_every_core_context_version_is_built_in_4_4(api, url):
    eid = uid()
    r = requests.post(api + "/entities", headers={"Content-Type": "application/ld+json"},
                      json={"id": eid, "type": "T", "location": {
                          "type": "GeoProperty", "value": {"type": "Point", "coordinates": [1, 2]}},
                          "@context": url})
    assert r.status_code == 201, r.text
    r = requests.get(api + "/entities/" + eid, headers={"Link": link(url)})
    assert r.status_code == 200 and "location" in r.json()


def test_remote_context_is_fetched_and_cached(api, ctx_server):
    ctx_server.docs["/cached.jsonld"] = {"@context": {"speed": "https://example.org/v#speed"}}
    url = ctx_server.url("/cached.jsonld")
    for _ in range(3):
        eid = uid()
        r = requests.post(api + "/entities", headers={"Link": link(url)},
                          json={"id": eid, "type": "T", "speed": {"type": "Property", "value": 1}})
        assert r.status_code == 201, r.text
    assert ctx_server.hits["/cached.jsonld"] == 1
    bare = requests.get(api + "/entities/" + eid).json()
    assert "https://example.org/v#speed" in bare
    listed = requests.get(api + "/jsonldContexts", params={"kind": "Cached"}).json()
    assert url in listed


def test_unreachable_context_is_504_and_not_cached_6_3_2(api, ctx_server):
    url = ctx_server.url("/later.jsonld")
    body = {"id": uid(), "type": "T", "x": {"type": "Property", "value": 1}}
    r = requests.post(api + "/entities", headers={"Link": link(url)}, json=body)
    assert_problem(r, 504, "LdContextNotAvailable")
    # The failure is not cached: once the document exists, the same URL works.
    ctx_server.docs["/later.jsonld"] = {"@context": {"x": "https://example.org/v#x"}}
    r = requests.post(api + "/entities", headers={"Link": link(url)}, json=body)
    assert r.status_code == 201, r.text


def test_closed_port_is_504(api):
    r = requests.get(api + "/entities/urn:a:b", headers={"Link": link("http://127.0.0.1:1/c.jsonld")})
    assert_problem(r, 504, "LdContextNotAvailable")


def test_redirect_loop_is_capped(api, ctx_server):
    r = requests.get(api + "/entities/urn:a:b",
                     headers={"Link": link(ctx_server.url("/redirect-loop"))})
    assert_problem(r, 504, "LdContextNotAvailable")


def test_invalid_remote_context_is_400_and_not_cached(api, ctx_server):
    ctx_server.docs["/notjson.jsonld"] = b"this is not json"
    url = ctx_server.url("/notjson.jsonld")
    r = requests.get(api + "/entities/urn:a:b", headers={"Link": link(url)})
    assert_problem(r, 400, "BadRequestData")
    hits = ctx_server.hits["/notjson.jsonld"]
    requests.get(api + "/entities/urn:a:b", headers={"Link": link(url)})
    assert ctx_server.hits["/notjson.jsonld"] == hits + 1


def test_nested_array_contexts(api, ctx_server):
    ctx_server.docs["/inner.jsonld"] = {"@context": {"ex": "https://example.org/nested#"}}
    ctx_server.docs["/outer.jsonld"] = {"@context": [ctx_server.url("/inner.jsonld"),
                                                     {"depth": "ex:depth"}]}
    eid = uid()
    r = requests.post(api + "/entities", headers={"Link": link(ctx_server.url("/outer.jsonld"))},
                      json={"id": eid, "type": "T", "depth": {"type": "Property", "value": 4}})
    assert r.status_code == 201, r.text
    assert "https://example.org/nested#depth" in requests.get(api + "/entities/" + eid).json()


def test_preloaded_contexts_need_no_network(api):
    url = "https://raw.githubusercontent.com/smart-data-models/dataModel.Parking/master/context.jsonld"
    eid = uid("ParkingSpot")
    r = requests.post(api + "/entities", headers={"Link": link(url)},
                      json={"id": eid, "type": "ParkingSpot", "status": {"type": "Property", "value": "free"}})
    assert r.status_code == 201, r.text
    got = requests.get(api + "/entities/" + eid, headers={"Link": link(url)}).json()
    assert got["type"] == "ParkingSpot"


def test_hosted_context_lifecycle_5_13(api):
    body = {"@context": {"level": "https://example.org/hosted#level"}}
    r = requests.post(api + "/jsonldContexts", json=body)
    assert r.status_code == 201, r.text
    assert r.headers["Location"].startswith("/ngsi-ld/v1/jsonldContexts/")  # 6.29.3.1: relative
    url = api.rsplit("/ngsi-ld/v1", 1)[0] + r.headers["Location"]
    local_id = url.rsplit("/", 1)[1]
    got = requests.get(api + "/jsonldContexts/" + local_id)
    assert got.status_code == 200 and got.json()["@context"] == body["@context"]
    assert url in requests.get(api + "/jsonldContexts").json()
    details = requests.get(api + "/jsonldContexts", params={"details": "true"}).json()
    mine = [d for d in details if d.get("URL") == url]
    assert mine and mine[0]["kind"] == "Hosted" and mine[0]["localId"] == local_id
    # The hosted URL is usable as a context without any HTTP round trip.
    eid = uid()
    r = requests.post(api + "/entities", headers={"Link": link(url)},
                      json={"id": eid, "type": "T", "level": {"type": "Property", "value": 2}})
    assert r.status_code == 201, r.text
    assert "https://example.org/hosted#level" in requests.get(api + "/entities/" + eid).json()
    # Hosted contexts cannot be reloaded; they can be deleted.
    assert_problem(requests.delete(api + "/jsonldContexts/" + local_id, params={"reload": "true"}),
                   400, "BadRequestData")
    assert requests.delete(api + "/jsonldContexts/" + local_id).status_code == 204
    assert_problem(requests.get(api + "/jsonldContexts/" + local_id), 404, "ResourceNotFound")


def test_cached_context_reload_refetches(api, ctx_server):
    ctx_server.docs["/reload.jsonld"] = {"@context": {"r": "https://example.org/one#r"}}
    url = ctx_server.url("/reload.jsonld")
    eid = uid()
    assert requests.post(api + "/entities", headers={"Link": link(url)},
                         json={"id": eid, "type": "T", "r": {"type": "Property", "value": 1}}
                         ).status_code == 201
    details = requests.get(api + "/jsonldContexts", params={"details": "true", "kind": "Cached"}).json()
    local_id = [d for d in details if d["URL"] == url][0]["localId"]
    ctx_server.docs["/reload.jsonld"] = {"@context": {"r": "https://example.org/two#r"}}
    assert requests.delete(api + "/jsonldContexts/" + local_id,
                           params={"reload": "true"}).status_code == 204
    eid2 = uid()
    assert requests.post(api + "/entities", headers={"Link": link(url)},
                         json={"id": eid2, "type": "T", "r": {"type": "Property", "value": 1}}
                         ).status_code == 201
    assert "https://example.org/two#r" in requests.get(api + "/entities/" + eid2).json()


def test_contexts_persist_across_restart(fresh_polis, ctx_server):
    p = fresh_polis.start()
    r = requests.post(p.api + "/jsonldContexts", json={"@context": {"k": "https://example.org/k"}})
    path = r.headers["Location"]
    p.stop()
    p.start()
    assert any(u.endswith(path) for u in requests.get(p.api + "/jsonldContexts").json())


# --------------------------------------------------------------------------------------------
# Oracle: our expansion of every Smart Data Models example equals python3-pyld's.
# --------------------------------------------------------------------------------------------
def sdm_examples():
    files = sorted(glob.glob(os.path.join(ROOT, "tests", "fixtures", "sdm", "*.jsonld")))
    files += sorted(glob.glob(os.path.join(ROOT, "data", "demo", "0*.jsonld")))
    return files


def pyld_iris(doc):
    """Attribute IRIs and type IRIs of an entity, expanded by pyld with a loader that serves
    only local files (core context appended last, as NGSI-LD requires)."""
    from pyld import jsonld
    preload = {}
    base = os.path.join(ROOT, "data", "contexts")
    for line in open(os.path.join(base, "preload", "preload.map")):
        line = line.strip()
        if line and not line.startswith("#"):
            u, f = line.split()
            preload[u] = os.path.join(base, "preload", f)
    core = os.path.join(base, "core", "ngsi-ld-core-context-v1.8.jsonld")

    def loader(url, options=None):
        path = preload.get(url)
        if url.startswith("https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context"):
            path = core
        if not path:
            raise jsonld.JsonLdError("not local", "loading document failed", {"url": url},
                                     code="loading document failed")
        return {"contentType": "application/ld+json", "contextUrl": None, "documentUrl": url,
                "document": json.load(open(path))}

    d = copy.deepcopy(doc)
    ctx = d.get("@context", [])
    ctx = ctx if isinstance(ctx, list) else [ctx]
    d["@context"] = ctx + ["https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"]
    exp = jsonld.expand(d, {"documentLoader": loader})[0]
    attrs = {k for k in exp if not k.startswith("@")}
    return attrs, set(exp.get("@type", []))


@pytest.mark.parametrize("path", sdm_examples(), ids=os.path.basename)
def test_expansion_matches_pyld(api, path):
    from pyld import jsonld
    doc = json.load(open(path))
    doc["id"] = doc["id"] + ":" + uuid.uuid4().hex[:8]
    try:
        attrs, types = pyld_iris(doc)
    except jsonld.JsonLdError:
        # pyld rejects the context (e.g. IssueTracking's invalid IRI mappings): so must we.
        r = requests.post(api + "/entities", json=doc,
                          headers={"Content-Type": "application/ld+json"})
        assert_problem(r, 400, "BadRequestData")
        return
    r = requests.post(api + "/entities", json=doc, headers={"Content-Type": "application/ld+json"})
    assert r.status_code == 201, r.text
    # Read back with no user context: every name comes back expanded unless the core context
    # has a term for it; expand those with the core's terms to compare IRIs.
    got = requests.get(api + "/entities/" + doc["id"]).json()
    core = json.load(open(os.path.join(ROOT, "data", "contexts", "core",
                                       "ngsi-ld-core-context-v1.8.jsonld")))["@context"]

    def core_iri(term):
        v = core.get(term)
        v = v["@id"] if isinstance(v, dict) else v
        if isinstance(v, str) and ":" in v:
            p, s = v.split(":", 1)
            if p in core and isinstance(core[p], str):
                return core[p] + s
            return v
        if term.startswith("http"):
            return term
        return "https://uri.etsi.org/ngsi-ld/default-context/" + term

    ours = {core_iri(k) for k in got if k not in ("id", "type", "@context")}
    t = got["type"] if isinstance(got["type"], list) else [got["type"]]
    assert ours == attrs
    assert {core_iri(x) for x in t} == types


# --------------------------------------------------------------------------------------------
# Serve @context (5.13.4) and Delete and Reload @context (5.13.5): review fixes.
# --------------------------------------------------------------------------------------------
def cache_remote_context(api, ctx_server, path, ctx):
    """Serves {"@context": ctx} at `path`, makes the broker download it (kind Cached) and returns
    (url, localId)."""
    ctx_server.docs[path] = {"@context": ctx}
    url = ctx_server.url(path)
    r = requests.post(api + "/entities", headers={"Link": link(url)},
                      json={"id": uid(), "type": "T", "p": {"type": "Property", "value": 1}})
    assert r.status_code == 201, r.text
    details = requests.get(api + "/jsonldContexts",
                           params={"details": "true", "kind": "Cached"}).json()
    return url, [d for d in details if d["URL"] == url][0]["localId"]


def test_reload_without_context_member_is_504_and_keeps_old_5_13_5_4(api, ctx_server):
    path = f"/noctx-{uuid.uuid4().hex[:8]}.jsonld"
    url, local_id = cache_remote_context(api, ctx_server, path,
                                         {"p": "https://example.org/old#p"})
    ctx_server.docs[path] = {}  # downloadable, but not a JSON-LD context document
    r = requests.delete(api + "/jsonldContexts/" + local_id, params={"reload": "true"})
    assert_problem(r, 504, "LdContextNotAvailable")
    # The old document was kept: a new @context that includes the URL still uses it.
    eid = uid()
    r = requests.post(api + "/entities",
                      headers={"Content-Type": "application/ld+json"},
                      json={"id": eid, "type": "T", "p": {"type": "Property", "value": 2},
                            "@context": [url, {"unrelated": "https://example.org/u"}]})
    assert r.status_code == 201, r.text
    assert "https://example.org/old#p" in requests.get(api + "/entities/" + eid).json()
    got = requests.get(api + "/jsonldContexts/" + local_id, params={"details": "true"})
    assert got.status_code == 200 and got.json()["URL"] == url


def test_reload_with_invalid_context_is_504_and_keeps_old_5_13_5_4(api, ctx_server):
    path = f"/badctx-{uuid.uuid4().hex[:8]}.jsonld"
    url, local_id = cache_remote_context(api, ctx_server, path,
                                         {"p": "https://example.org/old#p"})
    ctx_server.docs[path] = {"@context": 5}
    r = requests.delete(api + "/jsonldContexts/" + local_id, params={"reload": "true"})
    assert_problem(r, 504, "LdContextNotAvailable")
    assert url in requests.get(api + "/jsonldContexts", params={"kind": "Cached"}).json()


def test_serve_hosted_context_details_5_13_4(api):
    body = {"@context": {"d": "https://example.org/details#d"}}
    r = requests.post(api + "/jsonldContexts", json=body)
    assert r.status_code == 201, r.text
    url = api.rsplit("/ngsi-ld/v1", 1)[0] + r.headers["Location"]
    local_id = url.rsplit("/", 1)[1]
    got = requests.get(api + "/jsonldContexts/" + local_id, params={"details": "true"})
    assert got.status_code == 200, got.text
    d = got.json()
    assert "@context" not in d
    assert d["URL"] == url and d["localId"] == local_id and d["kind"] == "Hosted"
    assert "createdAt" in d and "numberOfHits" in d
    # Same shape as the list with details.
    listed = [x for x in requests.get(api + "/jsonldContexts", params={"details": "true"}).json()
              if x["URL"] == url][0]
    assert set(listed) - {"lastUsage"} == set(d) - {"lastUsage"}
    # details=false (or absent) serves the document itself.
    got = requests.get(api + "/jsonldContexts/" + local_id, params={"details": "false"})
    assert got.status_code == 200 and got.json() == body
    assert_problem(requests.get(api + "/jsonldContexts/" + local_id, params={"details": "maybe"}),
                   400, "BadRequestData")
    assert_problem(requests.get(api + "/jsonldContexts/nope-" + local_id,
                                params={"details": "true"}), 404, "ResourceNotFound")


def test_serve_cached_context_is_422_unless_details_5_13_4_4(api, ctx_server):
    url, local_id = cache_remote_context(api, ctx_server,
                                         f"/served-{uuid.uuid4().hex[:8]}.jsonld",
                                         {"s": "https://example.org/served#s"})
    assert_problem(requests.get(api + "/jsonldContexts/" + local_id), 422,
                   "OperationNotSupported")
    assert_problem(requests.get(api + "/jsonldContexts/" + local_id, params={"details": "false"}),
                   422, "OperationNotSupported")
    got = requests.get(api + "/jsonldContexts/" + local_id, params={"details": "true"})
    assert got.status_code == 200, got.text
    assert got.json()["kind"] == "Cached" and got.json()["URL"] == url


def test_context_id_may_be_its_url_percent_encoded_5_13_4(api):
    """contextId may be the context's URL (5.13.4.3): it arrives percent-encoded in the path."""
    import urllib.parse
    url = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.9.jsonld"
    r = requests.get(api + "/jsonldContexts/" + urllib.parse.quote(url, safe=""),
                     params={"details": "true"})
    assert r.status_code == 200, r.text
    assert r.json()["URL"] == url
