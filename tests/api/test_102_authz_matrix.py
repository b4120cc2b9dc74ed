# SPDX-License-Identifier: Apache-2.0
"""The authorization matrix of issue 12 (docs/security.md "Roles and grants"): every route x every
role (admin, operator, agency, enterprise, device, public) x own/other tenant, asserting the status
AND that a refused request wrote nothing (re-read as a superadmin) and revealed nothing (no ids,
values or owners of the data in its error). Then the rules the matrix cannot show in one request:
batches (207 with the forbidden element failing, the others written), enterprise owns what it
created, agency type grants (also across a retyping write), device bindings.

Every principal but the superadmin and the public belongs to tenant OWN; OTHER is another tenant
holding data of the same ids (so that a leak or a write across tenants would show)."""
import json
import uuid

import pytest
import requests

from conftest import PolisServer, bearer, make_key

OWN, OTHER = "own1", "other1"
TFO = "TrafficFlowObserved"
TARGET = "urn:ngsi-ld:TrafficFlowObserved:target"
SECRET = "s3cr3t-value-of-the-tenant"  # a value stored in both tenants' target entity
ROLES = ["admin", "operator", "agency", "enterprise", "device", "public"]


@pytest.fixture(scope="module")
def srv(tmp_path_factory):
    s = PolisServer(tmp_path_factory.mktemp("authz"), extra_args=["--auth", "on"]).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def keys(srv):
    k = {
        "super": make_key(srv, "admin", tenant="*"),
        "admin": make_key(srv, "admin", tenant=OWN),
        "operator": make_key(srv, "operator", tenant=OWN),
        "agency": make_key(srv, "agency", tenant=OWN, types=[TFO]),
        "enterprise": make_key(srv, "enterprise", tenant=OWN),
        "device": make_key(srv, "device", tenant=OWN, entities=[TARGET]),
        "public": None,
    }
    return k


def hdrs(key, tenant, body=False):
    h = {"NGSILD-Tenant": tenant}
    if key:
        h.update(bearer(key))
    if body:
        h["Content-Type"] = "application/json"
    return h


def call(srv, key, tenant, method, path, body=None):
    url = (srv.url + path) if path.startswith("/") and not path.startswith("/ngsi-ld") \
        else srv.api + path[len("/ngsi-ld/v1"):]
    return requests.request(method, url, headers=hdrs(key, tenant, body is not None),
                            data=None if body is None else json.dumps(body), timeout=30)


def entity(eid=TARGET, etype=TFO, value=1):
    return {"id": eid, "type": etype, "speed": {"type": "Property", "value": value},
            "note": {"type": "Property", "value": SECRET}}


# ---------------------------------------------------------------------------------------------
# State: the target entity (owned by the superadmin, bound to the device) in both tenants, an
# @context and a subscription made by the superadmin; reset before each case.
# ---------------------------------------------------------------------------------------------
class World:
    def __init__(self, srv, sup):
        self.srv, self.sup = srv, sup
        self.ctx_id = {}
        self.sub_id = {}
        self.iid = {}

    def su(self, tenant, method, path, body=None):
        return call(self.srv, self.sup, tenant, method, path, body)

    def reset(self, tenant):
        self.su(tenant, "DELETE", "/ngsi-ld/v1/entities/" + TARGET)
        self.su(tenant, "DELETE", "/ngsi-ld/v1/temporal/entities/" + TARGET)
        r = self.su(tenant, "POST", "/ngsi-ld/v1/entities", entity())
        assert r.status_code == 201, r.text
        r = self.su(tenant, "PATCH", "/ngsi-ld/v1/entities/%s/attrs" % TARGET,
                    {"speed": {"type": "Property", "value": 2}})
        assert r.status_code == 204, r.text
        t = self.su(tenant, "GET", "/ngsi-ld/v1/temporal/entities/" + TARGET).json()
        inst = t["speed"] if isinstance(t["speed"], list) else [t["speed"]]
        self.iid[tenant] = inst[0]["instanceId"]
        sid = self.sub_id.get(tenant)
        if not sid or self.su(tenant, "GET", "/ngsi-ld/v1/subscriptions/" + sid).status_code != 200:
            r = self.su(tenant, "POST", "/ngsi-ld/v1/subscriptions", {
                "type": "Subscription", "entities": [{"type": TFO}],
                "notification": {"endpoint": {"uri": "http://127.0.0.1:9/n"}}})
            assert r.status_code == 201, r.text
            self.sub_id[tenant] = r.headers["Location"].rsplit("/", 1)[1]
        cid = self.ctx_id.get(tenant)
        if not cid or self.su(tenant, "GET", "/ngsi-ld/v1/jsonldContexts/" + cid).status_code != 200:
            r = self.su(tenant, "POST", "/ngsi-ld/v1/jsonldContexts",
                        {"@context": {"x%s" % tenant: "https://example.org/x"}})
            assert r.status_code == 201, r.text
            self.ctx_id[tenant] = r.headers["Location"].rsplit("/", 1)[1]

    def snapshot(self, tenant, new_id):
        """Everything a refused write could have changed, read as the superadmin."""
        e = self.su(tenant, "GET", "/ngsi-ld/v1/entities/%s?options=sysAttrs" % TARGET)
        n = self.su(tenant, "GET", "/ngsi-ld/v1/entities/" + new_id)
        t = self.su(tenant, "GET", "/ngsi-ld/v1/temporal/entities/" + TARGET)
        tn = self.su(tenant, "GET", "/ngsi-ld/v1/temporal/entities/" + new_id)
        c = self.su(tenant, "GET", "/ngsi-ld/v1/jsonldContexts")
        s = self.su(tenant, "GET", "/ngsi-ld/v1/subscriptions/" + self.sub_id[tenant]).json()
        subs = self.su(tenant, "GET", "/ngsi-ld/v1/subscriptions")
        # a subscription's delivery status changes on its own: compare what a write could change
        sub = (s.get("description"), s.get("entities"), s.get("notification", {}).get("endpoint"))
        return (e.status_code, e.text, n.status_code, t.text, tn.status_code, c.text,
                sub, len(subs.json()))


@pytest.fixture(scope="module")
def world(srv, keys):
    w = World(srv, keys["super"])
    for t in (OWN, OTHER):
        w.reset(t)
    return w


# ---------------------------------------------------------------------------------------------
# The table. Each row: name, method, path, body (a function of (world, tenant, new_id) or None),
# the kind (anon: no check; read: every role may, what it sees is the reads part's; write), and
# for writes the status per role in its own tenant, in ROLES order.
# {id} is the target, {new} a fresh id, {ctx}, {sub}, {iid} the reset world's.
# ---------------------------------------------------------------------------------------------
E = "/ngsi-ld/v1/entities"
B = "/ngsi-ld/v1/entityOperations"
TE = "/ngsi-ld/v1/temporal/entities"
UPD = {"speed": {"type": "Property", "value": 99}}
#          admin operator agency enterprise device public
CREATE = (201, 201, 201, 201, 403, 401)
UPDATE = (204, 204, 204, 403, 204, 401)  # target: TFO, owned by the superadmin, device-bound
DELETE = (204, 204, 204, 403, 403, 401)
ADMIN = (None, 403, 403, 403, 403, 401)  # admin: the route's own success status
BATCH_UPD = (204, 204, 204, 207, 204, 401)
BATCH_DEL = (204, 204, 204, 207, 403, 401)
SUBS = (201, 201, 201, 201, 201, 401)
SUB_CHANGE = (204, 204, 403, 403, 403, 401)  # a subscription of the superadmin's
CTX_ADD = (201, 201, 201, 201, 403, 401)
CTX_DEL = (204, 403, 403, 403, 403, 401)

ROWS = [
    ("health", "GET", "/health", None, "anon", None),
    ("version", "GET", "/version", None, "anon", None),
    ("metrics", "GET", "/metrics", None, "write", (200,) + ADMIN[1:]),
    ("entity_create", "POST", E, lambda w, t, n: entity(n), "write", CREATE),
    ("entities_query", "GET", E + "?type=" + TFO, None, "read", None),
    ("purge", "DELETE", E + "?type=" + TFO, None, "write", (204,) + ADMIN[1:]),
    ("entity_get", "GET", E + "/{id}", None, "read", None),
    ("entity_delete", "DELETE", E + "/{id}", None, "write", DELETE),
    ("entity_replace", "PUT", E + "/{id}", lambda w, t, n: entity(value=7), "write", UPDATE),
    ("entity_merge", "PATCH", E + "/{id}", lambda w, t, n: UPD, "write", UPDATE),
    ("attrs_append", "POST", E + "/{id}/attrs", lambda w, t, n: UPD, "write", UPDATE),
    ("attrs_update", "PATCH", E + "/{id}/attrs", lambda w, t, n: UPD, "write", UPDATE),
    ("attr_patch", "PATCH", E + "/{id}/attrs/speed", lambda w, t, n: {"value": 5}, "write",
     UPDATE),
    ("attr_replace", "PUT", E + "/{id}/attrs/speed",
     lambda w, t, n: {"type": "Property", "value": 6}, "write", UPDATE),
    ("attr_delete", "DELETE", E + "/{id}/attrs/speed", None, "write", UPDATE),
    ("contexts_add", "POST", "/ngsi-ld/v1/jsonldContexts",
     lambda w, t, n: {"@context": {"y": "https://example.org/y"}}, "write", CTX_ADD),
    ("contexts_list", "GET", "/ngsi-ld/v1/jsonldContexts", None, "read", None),
    ("contexts_get", "GET", "/ngsi-ld/v1/jsonldContexts/{ctx}", None, "read", None),
    ("contexts_delete", "DELETE", "/ngsi-ld/v1/jsonldContexts/{ctx}", None, "write", CTX_DEL),
    ("batch_create", "POST", B + "/create", lambda w, t, n: [entity(n)], "write", CREATE),
    ("batch_upsert", "POST", B + "/upsert", lambda w, t, n: [entity(value=8)], "write",
     BATCH_UPD),
    ("batch_update", "POST", B + "/update", lambda w, t, n: [dict(UPD, id=TARGET)], "write",
     BATCH_UPD),
    ("batch_delete", "POST", B + "/delete", lambda w, t, n: [TARGET], "write", BATCH_DEL),
    ("batch_merge", "POST", B + "/merge", lambda w, t, n: [dict(UPD, id=TARGET)], "write",
     BATCH_UPD),
    ("batch_query", "POST", B + "/query",
     lambda w, t, n: {"type": "Query", "entities": [{"type": TFO}]}, "read", None),
    ("types_list", "GET", "/ngsi-ld/v1/types", None, "read", None),
    ("type_get", "GET", "/ngsi-ld/v1/types/" + TFO, None, "read", None),
    ("attributes_list", "GET", "/ngsi-ld/v1/attributes", None, "read", None),
    ("attribute_get", "GET", "/ngsi-ld/v1/attributes/speed", None, "read", None),
    ("subscription_create", "POST", "/ngsi-ld/v1/subscriptions",
     lambda w, t, n: {"type": "Subscription", "entities": [{"type": TFO}],
                      "notification": {"endpoint": {"uri": "http://127.0.0.1:9/m"}}},
     "write", SUBS),
    ("subscriptions_list", "GET", "/ngsi-ld/v1/subscriptions", None, "write",
     (200, 200, 200, 200, 200, 401)),
    ("subscription_get", "GET", "/ngsi-ld/v1/subscriptions/{sub}", None, "write",
     (200, 200, 200, 200, 200, 401)),
    ("subscription_patch", "PATCH", "/ngsi-ld/v1/subscriptions/{sub}",
     lambda w, t, n: {"description": "changed"}, "write", SUB_CHANGE),
    ("subscription_delete", "DELETE", "/ngsi-ld/v1/subscriptions/{sub}", None, "write",
     SUB_CHANGE),
    ("temporal_create", "POST", TE,
     lambda w, t, n: {"id": n, "type": TFO,
                      "speed": [{"type": "Property", "value": 1,
                                 "observedAt": "2026-01-01T00:00:00Z"}]}, "write", CREATE),
    ("temporal_query", "GET", TE + "?type=" + TFO + "&timerel=after&timeAt=2000-01-01T00:00:00Z",
     None, "read", None),
    ("temporal_get", "GET", TE + "/{id}", None, "read", None),
    ("temporal_delete", "DELETE", TE + "/{id}", None, "write", DELETE),
    ("temporal_attrs_add", "POST", TE + "/{id}/attrs",
     lambda w, t, n: {"speed": [{"type": "Property", "value": 3,
                                 "observedAt": "2026-01-02T00:00:00Z"}]}, "write", UPDATE),
    ("temporal_attr_delete", "DELETE", TE + "/{id}/attrs/speed", None, "write", DELETE),
    ("temporal_instance_patch", "PATCH", TE + "/{id}/attrs/speed/{iid}",
     lambda w, t, n: {"value": 4}, "write", DELETE),
    ("temporal_instance_delete", "DELETE", TE + "/{id}/attrs/speed/{iid}", None, "write",
     DELETE),
    ("temporal_query_post", "POST", "/ngsi-ld/v1/temporal/entityOperations/query",
     lambda w, t, n: {"type": "Query", "entities": [{"type": TFO}],
                      "temporalQ": {"timerel": "after", "timeAt": "2000-01-01T00:00:00Z"}},
     "read", None),
    # the admin API under /polis/v1/ (users, keys, tenants, policies, audit): admin only
    ("admin_tenants", "GET", "/polis/v1/tenants", None, "write", (200,) + ADMIN[1:]),
    ("admin_audit", "GET", "/polis/v1/audit", None, "write", (200,) + ADMIN[1:]),
]

CASES = [(row, role, where) for row in ROWS for role in ROLES for where in ("own", "other")]


def case_id(c):
    return "%s-%s-%s" % (c[0][0], c[1], c[2])


def expected(row, role, where):
    name, method, path, body, kind, want = row
    if kind == "anon":
        return {200}
    if kind == "read":
        if where == "other" and role != "public":
            return {403}
        # what the public, an enterprise or a device may see is the reads part's: 200, or 404
        # for a resource it may not read; never 401/403
        return {200} if role in ("admin", "operator", "agency") else {200, 404}
    status = want[ROLES.index(role)]
    if where == "other":
        return {401} if role == "public" else {403}
    return {status}


def leaks(text, tenant_asked):
    """What a refused request must never say: the data's values, the owner, another tenant."""
    bad = [SECRET, "key:", "apikey:"]
    if tenant_asked != OTHER:
        bad.append(OTHER)
    return [b for b in bad if b in text]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_route_every_role_own_and_other_tenant(srv, keys, world, case):
    row, role, where = case
    name, method, path, body, kind, want = row
    tenant = OWN if where == "own" else OTHER
    world.reset(tenant)
    new_id = "urn:ngsi-ld:%s:new-%s" % (TFO, uuid.uuid4().hex[:8])
    p = path.format(id=TARGET, ctx=world.ctx_id[tenant], sub=world.sub_id[tenant],
                    iid=world.iid[tenant])
    b = body(world, tenant, new_id) if body else None
    refused_expected = expected(row, role, where) & {401, 403, 207}
    before = world.snapshot(tenant, new_id) if refused_expected else None
    r = call(srv, keys[role], tenant, method, p, b)
    assert r.status_code in expected(row, role, where), (r.status_code, r.text)
    if r.status_code in (401, 403):
        pd = r.json()
        assert pd["status"] == r.status_code and pd["type"].startswith("urn:")
        assert not leaks(r.text, tenant), r.text
        if r.status_code == 401:
            assert r.headers["WWW-Authenticate"].startswith('Bearer realm="polis"')
    if r.status_code in (401, 403, 207):
        if r.status_code == 207:
            errs = r.json()["errors"]
            assert [e["error"]["status"] for e in errs] == [403], r.text
            assert not leaks(json.dumps(errs), tenant)
        assert world.snapshot(tenant, new_id) == before, "a refused request wrote something"


# ---------------------------------------------------------------------------------------------
# The rules behind the matrix
# ---------------------------------------------------------------------------------------------
def test_batch_forbidden_element_fails_in_207_and_the_others_are_written(srv, keys, world):
    world.reset(OWN)
    ok_id = "urn:ngsi-ld:%s:agency-%s" % (TFO, uuid.uuid4().hex[:8])
    bad_id = "urn:ngsi-ld:ParkingSpot:agency-%s" % uuid.uuid4().hex[:8]
    r = call(srv, keys["agency"], OWN, "POST", B + "/create",
             [entity(ok_id), entity(bad_id, "ParkingSpot")])
    assert r.status_code == 207, r.text
    res = r.json()
    assert res["success"] == [ok_id]
    assert [(e["entityId"], e["error"]["status"]) for e in res["errors"]] == [(bad_id, 403)]
    assert world.su(OWN, "GET", E + "/" + ok_id).status_code == 200
    assert world.su(OWN, "GET", E + "/" + bad_id).status_code == 404


def test_enterprise_owns_what_it_created(srv, keys, world):
    ent, other = keys["enterprise"], make_key(srv, "enterprise", tenant=OWN)
    eid = "urn:ngsi-ld:ParkingSpot:ent-%s" % uuid.uuid4().hex[:8]
    assert call(srv, ent, OWN, "POST", E, entity(eid, "ParkingSpot")).status_code == 201
    assert call(srv, ent, OWN, "PATCH", E + "/%s/attrs" % eid, UPD).status_code == 204
    # another enterprise may not touch it, one request or in a batch
    r = call(srv, other, OWN, "PATCH", E + "/%s/attrs" % eid, {"speed": {"value": 1}})
    assert r.status_code == 403 and "key:" not in r.text
    r = call(srv, other, OWN, "POST", B + "/delete", [eid])
    assert r.status_code == 207 and r.json()["errors"][0]["error"]["status"] == 403
    assert world.su(OWN, "GET", E + "/" + eid).json()["speed"]["value"] == 99
    # upsert: the owner replaces its own; the other's upsert of it fails, its own new one works
    mine = "urn:ngsi-ld:ParkingSpot:ent2-%s" % uuid.uuid4().hex[:8]
    r = call(srv, other, OWN, "POST", B + "/upsert",
             [entity(eid, "ParkingSpot", 5), entity(mine, "ParkingSpot")])
    assert r.status_code == 207, r.text
    assert r.json()["success"] == [mine]
    assert call(srv, ent, OWN, "DELETE", E + "/" + eid).status_code == 204


def test_agency_writes_only_granted_types_and_cannot_retype(srv, keys, world):
    ag = keys["agency"]
    pid = "urn:ngsi-ld:ParkingSpot:p-%s" % uuid.uuid4().hex[:8]
    assert call(srv, ag, OWN, "POST", E, entity(pid, "ParkingSpot")).status_code == 403
    assert world.su(OWN, "POST", E, entity(pid, "ParkingSpot")).status_code == 201
    assert call(srv, ag, OWN, "PATCH", E + "/%s/attrs" % pid, UPD).status_code == 403
    # into its grant: adding the granted type to a ParkingSpot
    r = call(srv, ag, OWN, "POST", E + "/%s/attrs" % pid, {"type": TFO})
    assert r.status_code == 403
    # out of its grant: a TrafficFlowObserved given a second, ungranted type
    world.reset(OWN)
    r = call(srv, ag, OWN, "POST", E + "/%s/attrs" % TARGET, {"type": "ParkingSpot"})
    assert r.status_code == 403
    r = call(srv, ag, OWN, "PUT", E + "/" + TARGET, entity(etype="ParkingSpot"))
    assert r.status_code == 403
    t = world.su(OWN, "GET", E + "/" + TARGET).json()["type"]
    assert t == TFO
    # its grant matches the expanded type by its local name under another @context too
    r = call(srv, ag, OWN, "PATCH", E + "/%s/attrs" % TARGET, UPD)
    assert r.status_code == 204


def test_device_updates_only_bound_entities_and_never_creates_or_deletes(srv, keys, world):
    dev = keys["device"]
    world.reset(OWN)
    other = "urn:ngsi-ld:%s:unbound-%s" % (TFO, uuid.uuid4().hex[:8])
    assert world.su(OWN, "POST", E, entity(other)).status_code == 201
    assert call(srv, dev, OWN, "PATCH", E + "/%s/attrs" % TARGET, UPD).status_code == 204
    assert call(srv, dev, OWN, "PATCH", E + "/%s/attrs" % other, UPD).status_code == 403
    assert call(srv, dev, OWN, "DELETE", E + "/" + TARGET).status_code == 403
    r = call(srv, dev, OWN, "POST", B + "/update", [dict(UPD, id=TARGET), dict(UPD, id=other)])
    assert r.status_code == 207, r.text
    assert r.json()["success"] == [TARGET]
    assert [e["entityId"] for e in r.json()["errors"]] == [other]
    assert world.su(OWN, "GET", E + "/" + other).json()["speed"]["value"] == 1


def test_other_tenant_refusal_says_nothing_of_whether_the_tenant_exists(srv, keys, world):
    world.reset(OTHER)
    for key in (keys["operator"], keys["admin"]):
        a = call(srv, key, OTHER, "GET", E + "/" + TARGET)
        b = call(srv, key, "nosuchtenant", "GET", E + "/" + TARGET)
        assert a.status_code == b.status_code == 403
        assert a.json()["detail"] == b.json()["detail"]
        assert TARGET not in a.text and SECRET not in a.text


def test_temporal_writes_follow_grants_owners_and_bindings(srv, keys, world):
    ag, ent, dev = keys["agency"], keys["enterprise"], keys["device"]
    pid = "urn:ngsi-ld:ParkingSpot:t-%s" % uuid.uuid4().hex[:8]
    inst = {"speed": [{"type": "Property", "value": 1, "observedAt": "2026-01-01T00:00:00Z"}]}
    # an agency may not create a temporal entity of an ungranted type, nor append to one
    r = call(srv, ag, OWN, "POST", TE, dict(inst, id=pid, type="ParkingSpot"))
    assert r.status_code == 403
    assert world.su(OWN, "GET", TE + "/" + pid).status_code == 404
    # an enterprise creates one and owns it; the agency and another enterprise may not append
    assert call(srv, ent, OWN, "POST", TE, dict(inst, id=pid, type="ParkingSpot")).status_code == 201
    assert call(srv, ag, OWN, "POST", TE + "/%s/attrs" % pid, inst).status_code == 403
    other = make_key(srv, "enterprise", tenant=OWN)
    assert call(srv, other, OWN, "POST", TE + "/%s/attrs" % pid, inst).status_code == 403
    assert call(srv, ent, OWN, "POST", TE + "/%s/attrs" % pid, inst).status_code == 204
    # nor retype it into the agency's grant through the temporal API
    world.reset(OWN)
    r = call(srv, ag, OWN, "POST", TE, dict(inst, id=TARGET, type="ParkingSpot"))
    assert r.status_code == 403
    # a device appends to its bound entity's history but never deletes history
    assert call(srv, dev, OWN, "POST", TE + "/%s/attrs" % TARGET, inst).status_code == 204
    assert call(srv, dev, OWN, "DELETE", TE + "/" + TARGET).status_code == 403
    assert world.su(OWN, "GET", TE + "/" + TARGET).status_code == 200
    # the owner deletes its temporal entity; the id then belongs to whoever creates it next
    assert call(srv, ent, OWN, "DELETE", TE + "/" + pid).status_code == 204
    assert call(srv, other, OWN, "POST", TE, dict(inst, id=pid, type="ParkingSpot")).status_code == 201
    assert call(srv, other, OWN, "POST", TE + "/%s/attrs" % pid, inst).status_code == 204


def test_enterprise_subscribes_and_changes_only_its_subscriptions(srv, keys, world):
    ent, other = keys["enterprise"], make_key(srv, "enterprise", tenant=OWN)
    sub = {"type": "Subscription", "entities": [{"type": TFO}],
           "notification": {"endpoint": {"uri": "http://127.0.0.1:9/e"}}}
    r = call(srv, ent, OWN, "POST", "/ngsi-ld/v1/subscriptions", sub)
    assert r.status_code == 201, r.text
    sid = r.headers["Location"].rsplit("/", 1)[1]
    path = "/ngsi-ld/v1/subscriptions/" + sid
    assert call(srv, other, OWN, "PATCH", path, {"description": "x"}).status_code == 403
    assert call(srv, other, OWN, "DELETE", path).status_code == 403
    assert call(srv, ent, OWN, "PATCH", path, {"description": "mine"}).status_code == 204
    assert call(srv, ent, OWN, "DELETE", path).status_code == 204
    # the public may not subscribe
    assert call(srv, None, OWN, "POST", "/ngsi-ld/v1/subscriptions", sub).status_code == 401
