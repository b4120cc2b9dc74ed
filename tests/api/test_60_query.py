# SPDX-License-Identifier: Apache-2.0
"""Query Entities (NGSI-LD V1.9.1 5.7.2; HTTP 6.4.3.2 GET /entities and 6.23 POST
/entityOperations/query), the query languages (q 4.9, geo-queries 4.10, type selection 4.17,
scopeQ 4.19), pagination and counting (4.12, 4.13, 5.5.9, 6.3), representations and Purge Entities
(5.6.21, DELETE /entities).

A fixture data set of 27 entities (Buildings, Sensors, Vehicles, Parks, in Madrid) lives in a
tenant of its own and is read with a small user @context served on loopback, so that q uses short
names. Every test asserts the exact set of returned ids."""
import json
import math
import uuid

import pytest
import requests

from conftest import CORE, Polis, assert_problem, link

NS = "https://polis.example.org/qtest/"
TERMS = ["Building", "Sensor", "Vehicle", "Park", "Bulk", "temperature", "accuracy", "name",
         "category", "floors", "active", "address", "tags", "builtAt", "inspected", "owner",
         "footprint", "label", "reading", "quality", "state", "partOf", "speed", "codes", "area",
         "openedOn", "opensAt", "seq"]
CTX_PATH = "/qtest-ctx.jsonld"
JS = {"Content-Type": "application/json"}

SOL = (-3.7038, 40.4168)  # Puerta del Sol, Madrid


def I(short):
    """Entity id of a fixture entity: B1 -> urn:ngsi-ld:Building:B1."""
    kind = {"B": "Building", "S": "Sensor", "V": "Vehicle", "P": "Park"}[short[0]]
    return f"urn:ngsi-ld:{kind}:{short}"


def S(*shorts):
    return {I(s) for s in shorts}


def prop(value, **sub):
    p = {"type": "Property", "value": value}
    p.update(sub)
    return p


def dt(s):
    return {"@type": "DateTime", "@value": s}


def point(lon, lat):
    return {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [lon, lat]}}


def rect(x0, y0, x1, y1):
    return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]


def poly(x0, y0, x1, y1):
    return {"type": "GeoProperty", "value": {"type": "Polygon", "coordinates": rect(x0, y0, x1, y1)}}


def rel(obj):
    return {"type": "Relationship", "object": obj}


def lang(**m):
    return {"type": "LanguageProperty", "languageMap": m}


# ------------------------------------------------------------------------------------------
# The data set
# ------------------------------------------------------------------------------------------
def building(n, temp=None, tsub=None, loc=None, **attrs):
    e = {"id": I(f"B{n}"), "type": "Building"}
    if temp is not None:
        e["temperature"] = prop(temp, **(tsub or {}))
    if loc:
        e["location"] = point(*loc)
    e.update(attrs)
    return e


BUILDINGS = [
    building(1, 21.5, {"observedAt": "2024-01-10T10:00:00Z", "unitCode": "CEL",
                       "accuracy": prop(0.5)}, SOL,
             name=prop("Alpha Tower"), category=prop("office"), floors=prop(30),
             active=prop(True),
             address=prop({"city": "Madrid", "street": "Gran Via 1", "zip": "28013"}),
             tags=prop(["tall", "glass"]), builtAt=prop(dt("1990-05-01T00:00:00Z")),
             inspected=prop("2023-06-01T12:00:00Z"), owner=rel("urn:ngsi-ld:Org:acme"),
             label=lang(en="Tower", es="Torre"), scope=["/Madrid/Centro"],
             footprint=poly(SOL[0] - 0.001, SOL[1] - 0.001, SOL[0] + 0.001, SOL[1] + 0.001)),
    building(2, 18.0, {"observedAt": "2024-01-10T11:00:00Z", "unitCode": "CEL",
                       "accuracy": prop(0.2)}, (-3.7100, 40.4200),
             name=prop("Beta House"), category=prop("residential"), floors=prop(4),
             active=prop(True), address=prop({"city": "Madrid", "street": "Calle Mayor 5"}),
             tags=prop(["small"]), builtAt=prop(dt("2005-03-15T00:00:00Z")),
             inspected=prop("2022-01-01T00:00:00Z"), owner=rel("urn:ngsi-ld:Org:acme"),
             label=lang(en="House", es="Casa"), scope=["/Madrid/Centro/Sol"]),
    building(3, 25.0, {"observedAt": "2024-02-01T09:30:00Z", "accuracy": prop(1.0)},
             (-3.6900, 40.4300),
             name=prop("Gamma School"), category=prop("school"), floors=prop(3),
             active=prop(False), address=prop({"city": "Berlin", "street": "Unter den Linden"}),
             tags=prop(["school", "old"]), builtAt=prop(dt("1950-09-01T00:00:00Z")),
             inspected=prop("2021-12-31T23:59:59Z"), owner=rel("urn:ngsi-ld:Org:beta"),
             label=lang(en="School", es="Escuela"), scope=["/Berlin/Mitte"],
             footprint=poly(-3.6910, 40.4290, -3.6890, 40.4310)),
    building(4, -2.5, {"observedAt": "2023-12-24T18:00:00Z", "accuracy": prop(0.1)},
             (-3.6500, 40.4500),
             name=prop("Delta Hall"), category=prop("office"), floors=prop(12),
             active=prop(True), address=prop({"city": "Berlin"}), tags=prop(["glass"]),
             builtAt=prop(dt("2015-07-20T00:00:00Z")), owner=rel("urn:ngsi-ld:Org:beta"),
             label=lang(en="Hall", es="Sala"), scope=["/Madrid/Norte", "/Berlin/Mitte"]),
    building(5, 30, {"observedAt": "2024-03-01T00:00:00Z"}, (-3.7500, 40.4000),
             name=prop("epsilon tower"), category=prop("office"), floors=prop(45),
             address=prop({"city": "Paris"}), tags=prop(["tall"]),
             builtAt=prop(dt("2020-01-01T00:00:00Z")), inspected=prop("2024-01-01T08:00:00Z"),
             owner=rel("urn:ngsi-ld:Org:gamma"), label=lang(en="Tower")),
    building(6, None, None, SOL, name=prop("Zeta"), category=prop("warehouse"),
             floors=prop(1), active=prop(False), address=prop({"city": "Madrid"}),
             scope=["/Madrid"]),
    building(7, 21.5, {"observedAt": "2024-01-15T00:00:00Z", "accuracy": prop(0.3)},
             (-3.7500, 40.4180),
             name=prop("Eta Tower"), category=prop("office"), floors=prop(30), active=prop(True),
             address=prop({"city": "Madrid", "street": "Paseo"}),
             builtAt=prop(dt("1990-05-01T00:00:00Z")), owner=rel("urn:ngsi-ld:Org:acme"),
             scope=["/Madrid/Oeste"]),
    building(8, 15, {"observedAt": "2024-01-20T00:00:00Z"}, (-3.6840, 40.4150),
             name=prop("Theta"), category=prop("residential"), floors=prop(8), active=prop(True),
             address=prop({"city": "Madrid", "geo": {"district": "Retiro"}}),
             owner=rel("urn:ngsi-ld:Org:gamma"), scope=["/Madrid/Retiro"]),
]


def sensor(n, loc=None, types="Sensor", **attrs):
    e = {"id": I(f"S{n}"), "type": types}
    if loc:
        e["location"] = point(*loc)
    e.update(attrs)
    return e


RAW = "urn:ngsi-ld:Dataset:raw"
SENSORS = [
    sensor(1, (-3.7030, 40.4170),
           temperature=[prop(20.0), prop(19.0, datasetId=RAW)], state=prop("on"),
           partOf=rel(I("B1")),
           reading=prop(7, quality=prop("good"), observedAt="2024-05-01T10:00:00Z"),
           scope=["/Madrid/Centro/Sol"]),
    sensor(2, (-3.7000, 40.4180), temperature=[prop(40.0, datasetId=RAW)], state=prop("off"),
           partOf=rel(I("B2")), reading=prop(3, quality=prop("bad")), scope=["/Madrid/Centro"]),
    sensor(3, (-3.6950, 40.4150), temperature=prop(22.0), state=prop("on"), partOf=rel(I("B1")),
           reading=prop(5, quality=prop("good"), observedAt="2024-05-02T10:00:00Z")),
    sensor(4, (-3.7200, 40.4100), temperature=prop(10.0), state=prop("maintenance"),
           partOf=rel(I("B3")), scope=["/Berlin/Mitte/Nord"]),
    sensor(5, (-3.6800, 40.4000), state=prop("on")),
    sensor(6, SOL, temperature=prop(22.0), partOf=rel(I("B2")), state=prop("off")),
    sensor(7, (-3.7150, 40.4230), temperature=prop(35.5), state=prop("ON")),
    sensor(8, None, temperature=prop(21.5)),
    sensor(9, None, temperature=prop("21.5"), state=prop("on")),
    sensor(10, (-3.7036, 40.4169), temperature=prop(5), scope=["/Madrid/Centro/Sol/Plaza"]),
]

VEHICLES = [
    {"id": I("V1"), "type": "Vehicle", "speed": prop(50), "name": prop("Bus 1"),
     "codes": prop([10, 20, 30]), "location": point(2.1850, 41.3880)},
    {"id": I("V2"), "type": "Vehicle", "speed": prop(80.5), "name": prop("Bus 2"),
     "codes": prop([40]), "location": point(-3.7010, 40.4190)},
    {"id": I("V3"), "type": "Vehicle", "speed": prop(120), "name": prop("Truck"),
     "location": point(-3.6000, 40.5000)},
    {"id": I("V4"), "type": ["Vehicle", "Sensor"], "speed": prop(0), "name": prop("Drone"),
     "temperature": prop(21.5), "location": point(-3.6990, 40.4160)},
    {"id": I("V5"), "type": ["Vehicle", "Sensor"], "speed": prop(80.5), "name": prop("Robot")},
]

RETIRO = (-3.6910, 40.4090, -3.6760, 40.4200)
CASA_DE_CAMPO = (-3.7700, 40.4050, -3.7350, 40.4300)
PLAZA = (-3.7080, 40.4145, -3.7060, 40.4160)
CIUTADELLA = (2.1800, 41.3850, 2.1900, 41.3920)
PARKS = [
    {"id": I("P1"), "type": "Park", "name": prop("Retiro"), "area": prop(118),
     "openedOn": prop({"@type": "Date", "@value": "1868-01-01"}),
     "opensAt": prop({"@type": "Time", "@value": "06:00:00Z"}),
     "location": poly(*RETIRO), "scope": ["/Madrid/Retiro"]},
    {"id": I("P2"), "type": "Park", "name": prop("Casa de Campo"), "area": prop(1535),
     "openedOn": prop({"@type": "Date", "@value": "1931-05-01"}),
     "opensAt": prop({"@type": "Time", "@value": "00:00:00Z"}),
     "location": poly(*CASA_DE_CAMPO), "scope": ["/Madrid/Oeste"]},
    {"id": I("P3"), "type": "Park", "name": prop("Plaza Mayor"), "area": prop(1.2),
     "openedOn": prop({"@type": "Date", "@value": "1620-01-01"}), "location": poly(*PLAZA)},
    {"id": I("P4"), "type": "Park", "name": prop("Ciutadella"), "area": prop(17.4),
     "openedOn": prop({"@type": "Date", "@value": "1877-01-01"}),
     "location": poly(*CIUTADELLA), "scope": ["/Barcelona"]},
]

ALL = BUILDINGS + SENSORS + VEHICLES + PARKS
ALL_IDS = {e["id"] for e in ALL}
BUILDING_IDS = {e["id"] for e in BUILDINGS}
PARK_IDS = {e["id"] for e in PARKS}
SENSOR_TYPED = {e["id"] for e in SENSORS} | S("V4", "V5")


def point_entities():
    """{id: (lon, lat)} of every entity whose location is a Point."""
    out = {}
    for e in ALL:
        loc = e.get("location")
        if loc and loc["value"]["type"] == "Point":
            out[e["id"]] = tuple(loc["value"]["coordinates"])
    return out


# ------------------------------------------------------------------------------------------
# Geodesy: Vincenty's inverse formula on WGS84 (independent of the broker's code)
# ------------------------------------------------------------------------------------------
def vincenty(lon1, lat1, lon2, lat2):
    a, f = 6378137.0, 1 / 298.257223563
    b = (1 - f) * a
    if lon1 == lon2 and lat1 == lat2:
        return 0.0
    L = math.radians(lon2 - lon1)
    U1 = math.atan((1 - f) * math.tan(math.radians(lat1)))
    U2 = math.atan((1 - f) * math.tan(math.radians(lat2)))
    sinU1, cosU1, sinU2, cosU2 = math.sin(U1), math.cos(U1), math.sin(U2), math.cos(U2)
    lam = L
    for _ in range(200):
        sl, cl = math.sin(lam), math.cos(lam)
        sin_sigma = math.hypot(cosU2 * sl, cosU1 * sinU2 - sinU1 * cosU2 * cl)
        cos_sigma = sinU1 * sinU2 + cosU1 * cosU2 * cl
        sigma = math.atan2(sin_sigma, cos_sigma)
        sin_alpha = cosU1 * cosU2 * sl / sin_sigma
        cos2_alpha = 1 - sin_alpha ** 2
        cos2sm = cos_sigma - 2 * sinU1 * sinU2 / cos2_alpha if cos2_alpha else 0.0
        C = f / 16 * cos2_alpha * (4 + f * (4 - 3 * cos2_alpha))
        prev = lam
        lam = L + (1 - C) * f * sin_alpha * (
            sigma + C * sin_sigma * (cos2sm + C * cos_sigma * (-1 + 2 * cos2sm ** 2)))
        if abs(lam - prev) < 1e-12:
            break
    u2 = cos2_alpha * (a * a - b * b) / (b * b)
    A = 1 + u2 / 16384 * (4096 + u2 * (-768 + u2 * (320 - 175 * u2)))
    B = u2 / 1024 * (256 + u2 * (-128 + u2 * (74 - 47 * u2)))
    ds = B * sin_sigma * (cos2sm + B / 4 * (cos_sigma * (-1 + 2 * cos2sm ** 2) - B / 6 * cos2sm
                                             * (-3 + 4 * sin_sigma ** 2) * (-3 + 4 * cos2sm ** 2)))
    return b * A * (sigma - ds)


def test_vincenty_reference_values():
    """The Python reference: Flinders Peak -> Buninyong (Vincenty 1975, 54972.271 m)."""
    d = vincenty(144 + 25 / 60 + 29.52440 / 3600, -(37 + 57 / 60 + 3.72030 / 3600),
                 143 + 55 / 60 + 35.38390 / 3600, -(37 + 39 / 60 + 10.15610 / 3600))
    assert abs(d - 54972.271) < 0.01
    # one degree of latitude at the equator, ~110574 m
    assert abs(vincenty(0, 0, 0, 1) - 110574.389) < 0.5


# ------------------------------------------------------------------------------------------
# Fixtures and helpers
# ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ctx_url(ctx_server):
    ctx_server.docs[CTX_PATH] = {"@context": {t: NS + t for t in TERMS}}
    return ctx_server.url(CTX_PATH)


@pytest.fixture(scope="module")
def ds(polis, ctx_url):
    """The data set, created in a tenant of its own. Returns the headers to read it."""
    tenant = "q" + uuid.uuid4().hex[:10]
    h = {"NGSILD-Tenant": tenant, "Link": link(ctx_url)}
    for e in ALL:
        r = requests.post(polis.api + "/entities", json=e, headers=dict(h, **JS))
        assert r.status_code == 201, (e["id"], r.text)
    return h


class Q:
    def __init__(self, polis, headers):
        self.polis = polis
        self.h = headers

    def get(self, headers=None, **params):
        h = dict(self.h)
        h.update(headers or {})
        return requests.get(self.polis.api + "/entities", params=params, headers=h)

    def ids(self, **params):
        params.setdefault("limit", 1000)
        r = self.get(**params)
        assert r.status_code == 200, (params, r.status_code, r.text)
        got = [e["id"] for e in r.json()]
        assert len(got) == len(set(got)), ("duplicates", got)
        return set(got)

    def post(self, body, headers=None, **params):
        h = dict(self.h)
        h.update(JS)
        h.update(headers or {})
        return requests.post(self.polis.api + "/entityOperations/query", data=json.dumps(body),
                             headers=h, params=params)


@pytest.fixture
def q(polis, ds):
    return Q(polis, ds)


def short(ids):
    return sorted(i.rsplit(":", 1)[1] for i in ids)


def check(qo, expected, **params):
    got = qo.ids(**params)
    assert got == expected, "params %r: got %s, expected %s (missing %s, extra %s)" % (
        params, short(got), short(expected), short(expected - got), short(got - expected))


# ------------------------------------------------------------------------------------------
# id, idPattern, type (4.17), attrs (5.7.2)
# ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("typ, expected", [
    ("Building", BUILDING_IDS),
    ("Park", PARK_IDS),
    ("Sensor", SENSOR_TYPED),  # V4 and V5 are Vehicle and Sensor (4.16)
    ("Building,Park", BUILDING_IDS | PARK_IDS),
    ("Building|Park", BUILDING_IDS | PARK_IDS),
    ("(Vehicle;Sensor)", S("V4", "V5")),
    ("Vehicle;Sensor", S("V4", "V5")),
    ("(Vehicle;Sensor)|Park", S("V4", "V5") | PARK_IDS),
    ("((Vehicle;Sensor),Park)", S("V4", "V5") | PARK_IDS),
    ("Vehicle;(Sensor|Park)", S("V4", "V5")),
    (NS + "Park", PARK_IDS),  # a full IRI is allowed
    ("Nothing", set()),
])
def test_type_selection_4_17(q, typ, expected):
    check(q, expected, type=typ)


def test_id_list_and_type_are_anded(q):
    check(q, S("B1"), id=I("B1") + "," + I("S1"), type="Building")
    check(q, S("B1", "S1", "P4"), id=",".join([I("B1"), I("S1"), I("P4")]),
          type="Building,Sensor,Park")
    check(q, set(), id="urn:ngsi-ld:Building:nope", type="Building")


def test_id_pattern(q):
    check(q, S("B1", "B2", "B3"), idPattern="^urn:ngsi-ld:Building:B[1-3]$", type="Building")
    check(q, S("S1", "S10"), idPattern="S1", type="Sensor")
    check(q, S("V1", "P1", "B1", "S1", "S10"), idPattern=":[A-Z]1", local="true")


def test_attrs_selects_entities_having_one_of_them_5_7_2(q):
    """5.7.2.4: with an attribute list an entity must have at least one of the attributes."""
    check(q, S("B1", "B3"), attrs="footprint")
    check(q, BUILDING_IDS | PARK_IDS, attrs="floors,area")
    check(q, S("V4", "V5"), attrs="speed", type="Sensor")
    check(q, S("B1", "B2", "B4"), attrs="footprint,tags", q="floors<35;floors>3")


def test_attrs_projects_the_listed_attributes(q):
    r = q.get(attrs="floors,area,nothing", limit=100)
    assert r.status_code == 200
    for e in r.json():
        names = set(e) - {"id", "type", "scope"}  # scope is an entity member, not an attribute
        assert names in ({"floors"}, {"area"}), e
    r = q.get(attrs="footprint")
    for e in r.json():
        assert set(e) - {"scope"} == {"id", "type", "footprint"}, e
        assert e["footprint"]["type"] == "GeoProperty"


# ------------------------------------------------------------------------------------------
# q (4.9)
# ------------------------------------------------------------------------------------------
Q_CASES = [
    # numbers, every comparison operator
    ("temperature==21.5", S("B1", "B7", "S8", "V4")),
    ("temperature==\"21.5\"", S("S9")),  # a string value is not a number
    ("temperature!=21.5", S("B2", "B3", "B4", "B5", "B8", "S1", "S2", "S3", "S4", "S6", "S7",
                            "S9", "S10")),
    ("temperature>22", S("B3", "B5", "S2", "S7")),
    ("temperature>=22", S("B3", "B5", "S2", "S7", "S3", "S6")),
    ("temperature<10", S("B4", "S10")),
    ("temperature<=10", S("B4", "S10", "S4")),
    ("temperature<-1", S("B4")),
    ("temperature==30", S("B5")),  # an integer value compares with numbers
    ("temperature==30.0", S("B5")),
    # every instance (datasetId) counts, 4.5.5
    ("temperature==19", S("S1")),
    ("temperature==20", S("S1")),
    ("temperature==40", S("S2")),
    # ranges and value lists
    ("temperature==15..21.5", S("B1", "B2", "B7", "B8", "S1", "S8", "V4")),
    ("temperature==10,25,40", S("S4", "B3", "S2")),
    ("temperature!=10,25,40", S("B1", "B2", "B4", "B5", "B7", "B8", "S1", "S3", "S6", "S7", "S8",
                                "S9", "S10", "V4")),
    ("speed==0..60", S("V1", "V4")),
    ("floors==3..12", S("B3", "B4", "B2", "B8")),
    # logical operators and parentheses
    ("floors>10;floors<40", S("B1", "B4", "B7")),
    ("category==\"office\";active==true", S("B1", "B4", "B7")),
    ("category==\"school\"|category==\"warehouse\"", S("B3", "B6")),
    ("(category==\"office\"|category==\"school\");floors<20", S("B3", "B4")),
    ("category==\"office\";(floors<20|active==false)", S("B4")),
    ("floors<5|speed>100;name==\"Truck\"", S("B2", "B3", "B6", "V3")),
    ("((floors<5)|(speed>100));!active", S("V3")),
    # booleans and existence
    ("active==false", S("B3", "B6")),
    ("active==true", S("B1", "B2", "B4", "B7", "B8")),
    ("active", S("B1", "B2", "B3", "B4", "B6", "B7", "B8")),
    ("footprint", S("B1", "B3")),
    ("codes", S("V1", "V2")),
    ("!temperature;floors", S("B6")),
    # strings, patterns
    ("name==\"Alpha Tower\"", S("B1")),
    ("category==office", S("B1", "B4", "B5", "B7")),  # an unquoted word is compared as text
    ("name~=Tower", S("B1", "B7")),
    ("name~=\"Tower$\"", S("B1", "B7")),
    ("name~=(?i)tower", S("B1", "B5", "B7")),
    ("name~=^(Bus|Truck)", S("V1", "V2", "V3")),
    ("state~=\"(?i)^on$\"", S("S1", "S3", "S5", "S7", "S9")),
    ("state==on", S("S1", "S3", "S5", "S9")),
    ("state!=\"on\"", S("S2", "S4", "S6", "S7")),
    ("name>\"Y\"", S("B5", "B6")),  # bytewise: "Zeta" and "epsilon tower"
    ("name==\"Beta House\"..\"Delta Hall\"", S("B2", "B4", "V1", "V2", "P2", "P4")),
    # compound values: attr[path]
    ("address[city]==\"Berlin\"", S("B3", "B4")),
    ("address[city]==\"Madrid\";floors>=8", S("B1", "B7", "B8")),
    ("address[geo.district]==\"Retiro\"", S("B8")),
    ("address[street]", S("B1", "B2", "B3", "B7")),
    ("address[zip]==\"28013\"", S("B1")),
    ("address[city]!=\"Madrid\"", S("B3", "B4", "B5")),
    ("address[city]~=^(Par|Ber)", S("B3", "B4", "B5")),
    # arrays
    ("tags==\"glass\"", S("B1", "B4")),
    ("tags==\"tall\",\"small\"", S("B1", "B2", "B5")),
    ("codes==20", S("V1")),
    ("codes>35", S("V2")),
    ("codes[1]==20", S("V1")),
    # DateTime values ({"@type":"DateTime"}) and plain ISO strings
    ("builtAt==1990-05-01T00:00:00Z", S("B1", "B7")),
    ("builtAt<2000-01-01T00:00:00Z", S("B1", "B3", "B7")),
    ("builtAt>=2015-07-20T00:00:00Z", S("B4", "B5")),
    ("builtAt==2000-01-01T00:00:00Z..2016-01-01T00:00:00Z", S("B2", "B4")),
    ("builtAt==1990-05-01T00:00:00.000Z", S("B1", "B7")),
    ("inspected>2022-06-01T00:00:00Z", S("B1", "B5")),
    ("inspected<=2021-12-31T23:59:59Z", S("B3")),
    ("inspected==\"2022-01-01T00:00:00Z\"", S("B2")),
    # Date and Time values compare as text
    ("openedOn<1900-01-01", S("P1", "P3", "P4")),
    ("openedOn==\"1931-05-01\"", S("P2")),
    ("opensAt==\"06:00:00Z\"", S("P1")),
    ("opensAt<07:00:00Z", S("P1", "P2")),
    ("area>100", S("P1", "P2")),
    ("area<2", S("P3")),
    # sub-attributes and the observedAt / unitCode / datasetId members
    ("temperature.accuracy<0.3", S("B2", "B4")),
    ("temperature.accuracy", S("B1", "B2", "B3", "B4", "B7")),
    ("!temperature.accuracy;temperature", S("B5", "B8", "S1", "S2", "S3", "S4", "S6", "S7",
                                            "S8", "S9", "S10", "V4")),
    ("reading.quality==\"good\"", S("S1", "S3")),
    ("reading.observedAt>2024-05-01T12:00:00Z", S("S3")),
    ("temperature.observedAt>=2024-01-15T00:00:00Z", S("B3", "B5", "B7", "B8")),
    ("temperature.observedAt<2024-01-01T00:00:00Z", S("B4")),
    ("temperature.observedAt==2024-01-10T10:00:00Z..2024-01-10T11:00:00Z", S("B1", "B2")),
    ("temperature.unitCode==\"CEL\"", S("B1", "B2")),
    ("temperature.datasetId==urn:ngsi-ld:Dataset:raw", S("S1", "S2")),
    # Relationships: URIs
    ("partOf==urn:ngsi-ld:Building:B1", S("S1", "S3")),
    ("partOf==urn:ngsi-ld:Building:B1,urn:ngsi-ld:Building:B3", S("S1", "S3", "S4")),
    ("partOf!=urn:ngsi-ld:Building:B1", S("S2", "S4", "S6")),
    ("owner==\"urn:ngsi-ld:Org:acme\"", S("B1", "B2", "B7")),
    ("owner==urn:ngsi-ld:Org:gamma", S("B5", "B8")),
    # LanguageProperty
    ("label[en]==\"Tower\"", S("B1", "B5")),
    ("label[es]==\"Torre\"", S("B1")),
    ("label[es]==\"Tower\"", set()),
    ("label==\"Casa\"", S("B2")),
    ("label[*]==\"Hall\"", S("B4")),
]


@pytest.mark.parametrize("qtext, expected", Q_CASES, ids=[c[0] for c in Q_CASES])
def test_q_4_9(q, qtext, expected):
    check(q, expected, q=qtext)


def test_q_with_type_narrows(q):
    check(q, S("S2", "S3", "S6", "S7", "S8", "V4"), type="Sensor", q="temperature>20")
    check(q, S("B5"), type="Building", q="!active")
    check(q, S("B2", "B3", "B4", "B5", "B6", "B8"), type="Building", q="name!~=Tower")


def test_q_with_spaces_and_parentheses(q):
    check(q, S("B3", "B4"), q=" ( category == \"office\" | category == \"school\" ) ; floors < 20 ")


# ------------------------------------------------------------------------------------------
# scopeQ (4.19)
# ------------------------------------------------------------------------------------------
SCOPE_CASES = [
    ("/Madrid", S("B6")),
    ("/Madrid/Centro", S("B1", "S2")),
    ("/Madrid/Centro/#", S("B1", "S2", "B2", "S1", "S10")),
    ("/Madrid/+", S("B1", "B4", "B7", "B8", "S2", "P1", "P2")),
    ("/Madrid/+/Sol", S("B2", "S1")),
    ("/Madrid/+/#", S("B1", "B2", "B4", "B7", "B8", "S1", "S2", "S10", "P1", "P2")),
    ("/Madrid/#", S("B1", "B2", "B4", "B6", "B7", "B8", "S1", "S2", "S10", "P1", "P2")),
    ("/Berlin/Mitte,/Barcelona", S("B3", "B4", "P4")),
    ("/Berlin/Mitte|/Barcelona", S("B3", "B4", "P4")),
    ("/Madrid/Norte;/Berlin/Mitte", S("B4")),
    ("(/Madrid/Norte;/Berlin/Mitte)|/Madrid", S("B4", "B6")),
    ("/#", S("B1", "B2", "B3", "B4", "B6", "B7", "B8", "S1", "S2", "S4", "S10", "P1", "P2", "P4")),
    ("/Nowhere/#", set()),
    ("/+/Mitte/#", S("B3", "B4", "S4")),
]


@pytest.mark.parametrize("scope, expected", SCOPE_CASES, ids=[c[0] for c in SCOPE_CASES])
def test_scopeq_4_19(q, scope, expected):
    check(q, expected, scopeQ=scope, local="true")


def test_scopeq_with_type_and_q(q):
    check(q, S("S1", "S2", "S10"), type="Sensor", scopeQ="/Madrid/#")
    check(q, S("P1", "P2"), type="Park", scopeQ="/Madrid/Retiro|/Madrid/Oeste")
    check(q, S("B7"), scopeQ="/Madrid/Retiro|/Madrid/Oeste", q="floors>10")


# ------------------------------------------------------------------------------------------
# Geo-queries (4.10)
# ------------------------------------------------------------------------------------------
def geo(qo, georel, geometry, coords, **params):
    return qo.ids(georel=georel, geometry=geometry, coordinates=json.dumps(coords), **params)


@pytest.mark.parametrize("radius", [50, 100, 500, 700, 1000, 2000, 5000])
def test_near_max_distance_matches_vincenty(q, radius):
    pts = point_entities()
    dist = {i: vincenty(SOL[0], SOL[1], *p) for i, p in pts.items()}
    for i, d in dist.items():
        assert abs(d - radius) > 5, f"data too close to the boundary: {i} at {d} m"
    expected = {i for i, d in dist.items() if d <= radius}
    got = geo(q, f"near;maxDistance=={radius}", "Point", list(SOL),
              type="Building,Sensor,Vehicle")
    assert got == expected, (radius, short(got), short(expected))


@pytest.mark.parametrize("radius", [100, 700, 2000])
def test_near_min_distance_matches_vincenty(q, radius):
    pts = point_entities()
    dist = {i: vincenty(SOL[0], SOL[1], *p) for i, p in pts.items()}
    expected = {i for i, d in dist.items() if d >= radius}
    got = geo(q, f"near;minDistance=={radius}", "Point", list(SOL),
              type="Building,Sensor,Vehicle")
    assert got == expected, (radius, short(got), short(expected))


def test_near_min_and_max_distance(q):
    pts = point_entities()
    dist = {i: vincenty(SOL[0], SOL[1], *p) for i, p in pts.items()}
    expected = {i for i, d in dist.items() if 100 <= d <= 1000}
    got = geo(q, "near;minDistance==100;maxDistance==1000", "Point", list(SOL),
              type="Building,Sensor,Vehicle")
    assert got == expected


def test_near_with_polygon_entities(q):
    """A polygon is near when all of it is within the distance: Plaza Mayor (< 450 m away at
    every vertex) but not the Retiro."""
    corners = [(PLAZA[0], PLAZA[1]), (PLAZA[2], PLAZA[1]), (PLAZA[2], PLAZA[3]), (PLAZA[0], PLAZA[3])]
    assert max(vincenty(SOL[0], SOL[1], *c) for c in corners) < 450
    assert geo(q, "near;maxDistance==600", "Point", list(SOL), type="Park") == S("P3")
    assert geo(q, "near;minDistance==1000", "Point", list(SOL), type="Park") == S("P1", "P2", "P4")


CENTRAL = rect(-3.7200, 40.4050, -3.6800, 40.4250)


def inside_central(lon, lat):
    return -3.72 < lon < -3.68 and 40.405 < lat < 40.425


def test_within_entity_inside_query_polygon(q):
    pts = point_entities()
    expected = {i for i, p in pts.items() if inside_central(*p)} | S("P3")
    assert I("S4") not in expected  # S4 lies on the boundary: not within (DE-9IM)
    assert geo(q, "within", "Polygon", CENTRAL, local="true") == expected


def test_within_and_contains_argument_order(q):
    """within: the entity is inside the query geometry; contains: the entity geometry contains
    the query geometry."""
    assert geo(q, "within", "Polygon", CENTRAL, type="Park") == S("P3")
    assert geo(q, "contains", "Polygon", CENTRAL, type="Park") == set()
    inside_retiro = [-3.6850, 40.4160]
    assert geo(q, "contains", "Point", inside_retiro, local="true") == S("P1")
    assert geo(q, "within", "Point", inside_retiro, type="Park") == set()
    assert geo(q, "contains", "Point", [-3.7600, 40.4200], type="Park") == S("P2")
    assert geo(q, "contains", "Point", [2.1850, 41.3880], type="Park") == S("P4")
    # a bigger polygon around the Plaza Mayor contains... nothing; the Plaza is within it
    assert geo(q, "contains", "Polygon", rect(-3.7090, 40.4140, -3.7050, 40.4170),
               type="Park") == set()
    assert geo(q, "within", "Polygon", rect(-3.7090, 40.4140, -3.7050, 40.4170),
               type="Park") == S("P3")
    # and a polygon inside the Retiro is contained by it
    assert geo(q, "contains", "Polygon", rect(-3.6850, 40.4100, -3.6800, 40.4150),
               type="Park") == S("P1")


def test_intersects(q):
    pts = point_entities()
    expected = {i for i, p in pts.items() if inside_central(*p)} | S("S4", "P1", "P3")
    assert geo(q, "intersects", "Polygon", CENTRAL, local="true") == expected
    assert geo(q, "intersects", "Point", list(SOL), local="true") == S("B1", "B6", "S6")
    assert geo(q, "intersects", "LineString", [[-3.70, 40.40], [-3.68, 40.416]],
               type="Park") == S("P1")


def test_disjoint(q):
    """Entities without the geoproperty never match, not even disjoint (4.10)."""
    pts = point_entities()
    expected = {i for i, p in pts.items() if not (-3.72 <= p[0] <= -3.68 and 40.405 <= p[1] <= 40.425)}
    expected |= S("P2", "P4")
    assert I("S8") not in expected and I("V5") not in expected
    assert geo(q, "disjoint", "Polygon", CENTRAL, local="true") == expected


def test_equals(q):
    assert geo(q, "equals", "Point", list(SOL), local="true") == S("B1", "B6", "S6")
    assert geo(q, "equals", "Polygon", rect(*PLAZA), local="true") == S("P3")


def test_overlaps(q):
    assert geo(q, "overlaps", "Polygon", CENTRAL, local="true") == S("P1")


def test_multipolygon_query(q):
    mp = [rect(-3.7090, 40.4140, -3.7050, 40.4170), rect(2.0, 41.0, 2.5, 41.5)]
    assert geo(q, "within", "MultiPolygon", mp, local="true") == S("P3", "P4", "V1")


def test_other_geoproperty(q):
    assert geo(q, "intersects", "Point", list(SOL), geoproperty="footprint",
               type="Building") == S("B1")
    assert geo(q, "within", "Polygon", CENTRAL, geoproperty="footprint",
               type="Building") == S("B1")
    assert geo(q, "within", "Polygon", rect(-3.80, 40.30, -3.60, 40.50),
               geoproperty="footprint", local="true") == S("B1", "B3")


def test_geo_with_q_and_type(q):
    got = geo(q, "near;maxDistance==1000", "Point", list(SOL), type="Sensor", q="temperature>20")
    pts = point_entities()
    expected = {i for i in S("S2", "S3", "S6", "S7", "S8", "V4")
                if i in pts and vincenty(SOL[0], SOL[1], *pts[i]) <= 1000}
    assert got == expected and got


# ------------------------------------------------------------------------------------------
# Representations
# ------------------------------------------------------------------------------------------
def one(q, eid, **params):
    r = q.get(id=eid, local="true", **params)
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body) == 1, body
    return body[0]


def test_normalized_uses_short_names(q):
    e = one(q, I("B1"))
    assert e["type"] == "Building"
    assert e["temperature"]["value"] == 21.5 and e["temperature"]["accuracy"]["value"] == 0.5
    assert e["address"]["value"]["city"] == "Madrid"
    assert e["owner"] == {"type": "Relationship", "object": "urn:ngsi-ld:Org:acme"}
    r = q.get(type="Building", limit=1)
    assert r.headers["Content-Type"].startswith("application/json")
    assert "ngsi-ld-core-context" in r.headers.get("Link", "") or CTX_PATH in r.headers["Link"]


def test_pick_and_omit_4_21(q):
    r = q.get(type="Building", pick="id,name", limit=100)
    assert r.status_code == 200
    assert all(set(e) == {"id", "name"} for e in r.json()), r.json()
    r = q.get(type="Park", omit="location,type,openedOn,opensAt", limit=100)
    assert [set(e) - {"scope"} for e in r.json()] == [{"id", "name", "area"}] * 4, r.json()
    assert_problem(q.get(type="Park", pick="id", omit="name"), 400, "BadRequestData")
    r = q.get(type="Building", pick="id,label", lang="es", q="floors>=30", limit=100)
    assert {e["id"]: e.get("label", {}).get("value") for e in r.json()} == \
        {I("B1"): "Torre", I("B5"): "Tower", I("B7"): None}


def test_pick_and_omit_scope_member_4_21(q):
    """pick/omit take Entity member names (5.7.2.3: "id", "type", "scope" or an Attribute name);
    omit=type works, so omit=scope must too."""
    r = q.get(type="Park", omit="scope", limit=100)
    assert all("scope" not in e for e in r.json()), ("omit=scope ignored", r.json())
    r = q.get(type="Park", pick="id,scope", limit=100)
    assert sorted(tuple(sorted(e)) for e in r.json()) == \
        [("id",), ("id", "scope"), ("id", "scope"), ("id", "scope")], ("pick=id,scope", r.json())


def test_keyvalues_concise_sysattrs(q):
    kv = one(q, I("B1"), options="keyValues")
    assert kv["temperature"] == 21.5 and kv["name"] == "Alpha Tower"
    assert kv["owner"] == "urn:ngsi-ld:Org:acme"
    assert kv["location"] == {"type": "Point", "coordinates": list(SOL)}
    assert one(q, I("B1"), format="simplified")["floors"] == 30
    assert one(q, I("B1"), format="keyValues")["floors"] == 30
    c = one(q, I("B1"), options="concise")
    assert c["floors"] == 30 or c["floors"] == {"value": 30}
    assert c["owner"] == {"object": "urn:ngsi-ld:Org:acme"}
    s = one(q, I("B1"), options="sysAttrs")
    assert s["createdAt"].endswith("Z") and s["floors"]["modifiedAt"].endswith("Z")
    assert "createdAt" not in one(q, I("B1"))


def test_lang_filter_4_15(q):
    e = one(q, I("B1"), lang="es")
    assert e["label"]["type"] == "Property" and e["label"]["value"] == "Torre"
    assert e["label"]["lang"] == "es"
    kv = one(q, I("B2"), lang="en", options="keyValues")
    assert kv["label"] == "House"
    r = q.get(type="Building", lang="es", limit=100)
    labels = {e["id"]: e["label"]["value"] for e in r.json() if "label" in e}
    assert labels[I("B3")] == "Escuela" and labels[I("B4")] == "Sala"


def test_ld_json_has_context_per_entity_6_3_6(q, ctx_url):
    r = q.get(type="Park", headers={"Accept": "application/ld+json"})
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/ld+json")
    assert "Link" not in r.headers or 'rel="next"' in r.headers["Link"]
    body = r.json()
    assert {e["id"] for e in body} == PARK_IDS
    for e in body:
        assert "@context" in e and ctx_url in json.dumps(e["@context"]), e


def test_geojson_feature_collection_4_5_16(q, ctx_url):
    r = q.get(type="Park", headers={"Accept": "application/geo+json"})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/geo+json")
    fc = r.json()
    assert fc["type"] == "FeatureCollection"
    assert {f["id"] for f in fc["features"]} == PARK_IDS
    for f in fc["features"]:
        assert f["type"] == "Feature" and f["geometry"]["type"] == "Polygon"
        assert f["properties"]["type"] == "Park"
    assert ctx_url in json.dumps(fc.get("@context"))
    r = q.get(type="Park", headers={"Accept": "application/geo+json", "Prefer": "body=json"})
    assert "@context" not in r.json()


def test_geojson_geometry_property(q):
    r = q.get(type="Building", geometryProperty="footprint", id=I("B1") + "," + I("B2"),
              headers={"Accept": "application/geo+json"})
    assert r.status_code == 200, r.text
    feats = {f["id"]: f for f in r.json()["features"]}
    assert set(feats) == S("B1", "B2")
    assert feats[I("B1")]["geometry"]["type"] == "Polygon"
    assert feats[I("B2")]["geometry"] is None
    # geometryProperty needs Accept: application/geo+json (5.7.2.4)
    assert_problem(q.get(type="Building", geometryProperty="footprint"), 400, "BadRequestData")


# ------------------------------------------------------------------------------------------
# Counting and pagination (4.12, 4.13, 5.5.9, 6.3)
# ------------------------------------------------------------------------------------------
def test_count_header_4_13(q):
    r = q.get(type="Building", count="true")
    assert r.status_code == 200 and r.headers["NGSILD-Results-Count"] == "8"
    r = q.get(type="Building", count="true", limit=2)
    assert r.headers["NGSILD-Results-Count"] == "8"
    assert len(r.json()) == 2, "limit=2 gave %d entities" % len(r.json())
    r = q.get(q="temperature>20", count="true", limit=1)
    assert r.headers["NGSILD-Results-Count"] == str(len(q.ids(q="temperature>20")))
    assert "NGSILD-Results-Count" not in q.get(type="Building").headers


def test_limit_zero_with_count(q):
    r = q.get(type="Park", limit=0, count="true")
    assert r.status_code == 200 and r.json() == []
    assert r.headers["NGSILD-Results-Count"] == "4"
    assert_problem(q.get(type="Park", limit=0), 400, "BadRequestData")


@pytest.mark.parametrize("params", [{"limit": 1001}, {"limit": -1}, {"limit": "x"},
                                    {"offset": -1}, {"count": "yes"}])
def test_bad_paging_parameters(q, params):
    assert_problem(q.get(type="Park", **params), 400, "BadRequestData")


def test_default_limit_is_20(q):
    r = q.get(local="true")
    assert r.status_code == 200
    assert len(r.json()) == 20, "default limit 20 gave %d entities" % len(r.json())
    assert 'rel="next"' in r.headers["Link"]


def test_offset_pages_cover_everything(q):
    seen = []
    for off in range(0, 9, 3):
        r = q.get(type="Building", limit=3, offset=off)
        assert r.status_code == 200
        seen += [e["id"] for e in r.json()]
    assert len(seen) == 8 and set(seen) == BUILDING_IDS, \
        "pages of limit=3 at offsets 0,3,6 gave %d ids: %s" % (len(seen), short(seen))
    r = q.get(type="Building", limit=3, offset=8)
    assert r.status_code == 200 and r.json() == []
    r = q.get(type="Building", limit=3, offset=500)
    assert r.status_code == 200 and r.json() == []


def test_link_next_prev_6_3(q):
    r = q.get(type="Building", limit=3)
    assert "next" in r.links and "prev" not in r.links
    seen = [e["id"] for e in r.json()]
    pages = 1
    last = r
    while "next" in last.links:
        url = last.links["next"]["url"]
        assert url.startswith("/ngsi-ld/v1/entities?"), url
        last = requests.get(q.polis.url + url, headers=q.h)
        assert last.status_code == 200, last.text
        assert "prev" in last.links
        seen += [e["id"] for e in last.json()]
        pages += 1
    assert pages == 3 and len(seen) == 8 and set(seen) == BUILDING_IDS, \
        "following rel=next with limit=3 gave %d pages, %d ids: %s" % (pages, len(seen), short(seen))
    back = requests.get(q.polis.url + last.links["prev"]["url"], headers=q.h)
    assert [e["id"] for e in back.json()] == seen[3:6]


# ------------------------------------------------------------------------------------------
# Tenants (4.14)
# ------------------------------------------------------------------------------------------
def test_tenant_isolation(q, polis, ctx_url):
    other = "q" + uuid.uuid4().hex[:10]
    h = {"NGSILD-Tenant": other, "Link": link(ctx_url)}
    e = {"id": "urn:ngsi-ld:Building:other", "type": "Building", "floors": prop(30)}
    assert requests.post(polis.api + "/entities", json=e, headers=h).status_code == 201
    check(q, BUILDING_IDS, type="Building")
    check(q, S("B1", "B7"), q="floors==30")
    r = requests.get(polis.api + "/entities", params={"type": "Building"}, headers=h)
    assert [x["id"] for x in r.json()] == ["urn:ngsi-ld:Building:other"]
    # the default tenant does not see the data set either
    r = requests.get(polis.api + "/entities", params={"type": "Park"},
                     headers={"Link": link(ctx_url)})
    assert r.status_code == 200 and not (PARK_IDS & {x["id"] for x in r.json()})
    r = requests.get(polis.api + "/entities", params={"type": "Park"},
                     headers={"NGSILD-Tenant": "never" + uuid.uuid4().hex[:8]})
    assert_problem(r, 404, "NonexistentTenant")
    r = requests.post(polis.api + "/entityOperations/query", json={"type": "Query", "q": "a"},
                      headers={"NGSILD-Tenant": "never" + uuid.uuid4().hex[:8]})
    assert_problem(r, 404, "NonexistentTenant")


# ------------------------------------------------------------------------------------------
# Too wide queries and syntax errors
# ------------------------------------------------------------------------------------------
def test_too_wide_query_5_7_2_4(q):
    for params in ({}, {"limit": 5}, {"options": "keyValues"}, {"count": "true"}):
        body = assert_problem(q.get(**params), 400, "BadRequestData")
        assert "wide" in body["detail"], body
    assert q.ids(local="true") == ALL_IDS
    body = assert_problem(q.post({"type": "Query"}), 400, "BadRequestData")
    assert "wide" in body["detail"]


ERROR_CASES = [
    ({"q": "temperature>>3"}, ">"),
    ({"q": "temperature=="}, "end of input"),
    ({"q": "(floors==1"}, "position"),
    ({"q": "floors==1)"}, ")"),
    ({"q": "floors==1;;floors==2"}, ";"),
    ({"q": "name~=\"(\""}, "regular expression"),
    ({"q": "active>true"}, "true"),
    ({"q": "floors==1..\"a\""}, "position"),
    ({"q": "1abc==1"}, "1abc"),
    ({"q": "floors{a}==1"}, "{"),
    ({"q": "address[city==\"x\""}, "position"),
    ({"type": "(Building"}, "position"),
    ({"type": "Building;;Park"}, ";"),
    ({"type": ",Park"}, ","),
    ({"type": "Buil ding"}, "ding"),
    ({"type": "Park", "scopeQ": "/Madrid//Centro"}, "position"),
    ({"type": "Park", "scopeQ": "/Madrid/#/x"}, "position"),
    ({"type": "Park", "scopeQ": "(/Madrid"}, "position"),
    ({"type": "Park", "georel": "nearby", "geometry": "Point", "coordinates": "[1,2]"}, "nearby"),
    ({"type": "Park", "georel": "near;maxDistance=2000", "geometry": "Point",
      "coordinates": "[1,2]"}, "=2000"),
    ({"type": "Park", "georel": "near", "geometry": "Point", "coordinates": "[1,2]"}, "near"),
    ({"type": "Park", "georel": "near;maxDistance==-5", "geometry": "Point",
      "coordinates": "[1,2]"}, "-5"),
    ({"type": "Park", "georel": "near;maxDistance==100", "geometry": "Polygon",
      "coordinates": json.dumps(CENTRAL)}, "Point"),
    ({"type": "Park", "georel": "within", "geometry": "Circle", "coordinates": "[1,2]"},
     "Circle"),
    ({"type": "Park", "georel": "within", "geometry": "Polygon", "coordinates": "[[[1,2],[3,4]"},
     "coordinates"),
    ({"type": "Park", "georel": "within", "geometry": "Polygon",
      "coordinates": "[[[0,0],[1,0],[1,1],[0,1]]]"}, "coordinates"),
    ({"type": "Park", "georel": "within", "geometry": "Point", "coordinates": "[200,2]"},
     "coordinates"),
    ({"type": "Park", "georel": "within", "geometry": "Point"}, "coordinates"),
    ({"type": "Park", "georel": "within", "coordinates": "[1,2]"}, "geometry"),
    ({"type": "Park", "geometry": "Point", "coordinates": "[1,2]"}, "georel"),
    ({"type": "Park", "idPattern": "urn:(abc"}, "urn:(abc"),
    ({"type": "Park", "id": "not a uri"}, "not a uri"),
]


@pytest.mark.parametrize("params, token", ERROR_CASES,
                         ids=["%s=%s" % next(iter(c[0].items())) if len(c[0]) == 1 else
                              "&".join(f"{k}={v}" for k, v in c[0].items() if k != "type")
                              for c in ERROR_CASES])
def test_syntax_errors_are_400_with_position_or_token(q, params, token):
    r = q.get(**params)
    body = assert_problem(r, 400, "BadRequestData")
    assert token in body["detail"], (params, body["detail"])


# ------------------------------------------------------------------------------------------
# POST /entityOperations/query (5.2.23, 6.23)
# ------------------------------------------------------------------------------------------
def post_ids(q, body, **params):
    params.setdefault("limit", 1000)
    r = q.post(dict(body, type="Query"), **params)
    assert r.status_code == 200, (body, r.text)
    got = [e["id"] for e in r.json()]
    assert len(got) == len(set(got))
    return set(got)


def test_post_query_one_selector(q):
    assert post_ids(q, {"entities": [{"type": "Building"}]}) == BUILDING_IDS
    assert post_ids(q, {"entities": [{"idPattern": "B[12]$", "type": "Building"}]}) == \
        S("B1", "B2")
    assert post_ids(q, {"entities": [{"id": I("B1"), "type": "Park"}]}) == set()
    assert post_ids(q, {"entities": [{"id": I("B1"), "type": "Building,Park"}]}) == S("B1")


def test_post_query_several_selectors_are_ored_5_2_23(tmp_path, ctx_url):
    """Several EntitySelectors: an entity matching any of them. Run on a broker of its own: a
    NULL dereference (query.c never sets sq.sels) killed the broker with SIGSEGV."""
    p = Polis(tmp_path).start()
    try:
        h = {"Link": link(ctx_url)}
        for e in ALL:
            assert requests.post(p.api + "/entities", json=e, headers=h).status_code == 201
        qo = Q(p, h)
        cases = [
            ({"entities": [{"type": "Park"}, {"id": I("S1"), "type": "Sensor"}]},
             PARK_IDS | S("S1")),
            ({"entities": [{"idPattern": "B[12]$", "type": "Building"},
                           {"type": "(Vehicle;Sensor)"}]}, S("B1", "B2", "V4", "V5")),
            ({"entities": [{"type": "Park"}, {"type": "Vehicle"}], "q": "name~=^(C|B)"},
             S("P2", "P4", "V1", "V2")),
        ]
        for body, expected in cases:
            try:
                got = post_ids(qo, body)
            except requests.ConnectionError:
                pytest.fail("POST /entityOperations/query with several selectors crashed the "
                            "broker (exit %r): %s" % (p.proc.wait(5), json.dumps(body)))
            assert got == expected, (body, short(got), short(expected))
    finally:
        p.stop()


def test_post_query_q_attrs_scope_geo(q):
    assert post_ids(q, {"entities": [{"type": "Building"}], "q": "floors>10;floors<40"}) == \
        S("B1", "B4", "B7")
    assert post_ids(q, {"attrs": ["footprint"]}) == S("B1", "B3")
    r = q.post({"type": "Query", "attrs": ["footprint"]})
    assert all(set(e) - {"scope"} == {"id", "type", "footprint"} for e in r.json())
    assert post_ids(q, {"entities": [{"type": "Sensor"}], "scopeQ": "/Madrid/#"}) == \
        S("S1", "S2", "S10")
    assert post_ids(q, {"geoQ": {"georel": "within", "geometry": "Polygon",
                                 "coordinates": rect(-3.7090, 40.4140, -3.7050, 40.4170)},
                        "entities": [{"type": "Park"}]}) == S("P3")
    assert post_ids(q, {"geoQ": {"georel": "intersects", "geometry": "Point",
                                 "coordinates": list(SOL), "geoproperty": "footprint"}}) == S("B1")
    assert post_ids(q, {"geoQ": {"georel": "near;maxDistance==100", "geometry": "Point",
                                 "coordinates": json.dumps(list(SOL))},
                        "entities": [{"type": "Sensor"}]}) == S("S1", "S6", "S10")


def test_post_query_lang_and_paging(q):
    r = q.post({"type": "Query", "entities": [{"type": "Building"}], "lang": "es",
                "q": "label[es]==\"Torre\""})
    assert [e["label"]["value"] for e in r.json()] == ["Torre"]
    r = q.post({"type": "Query", "entities": [{"type": "Building"}]}, limit=3, offset=6,
               count="true")
    assert r.status_code == 200 and len(r.json()) == 2
    assert r.headers["NGSILD-Results-Count"] == "8"
    r = q.post({"type": "Query", "entities": [{"type": "Building"}]}, limit=0, count="true")
    assert r.json() == [] and r.headers["NGSILD-Results-Count"] == "8"


def test_post_query_inline_context(q, polis, ctx_url):
    body = {"type": "Query", "entities": [{"type": "Park"}], "q": "area>100",
            "@context": [ctx_url, CORE]}
    r = requests.post(polis.api + "/entityOperations/query", data=json.dumps(body),
                      headers={"Content-Type": "application/ld+json",
                               "NGSILD-Tenant": q.h["NGSILD-Tenant"]})
    assert r.status_code == 200, r.text
    assert {e["id"] for e in r.json()} == S("P1", "P2")


@pytest.mark.parametrize("body", [
    {"type": "Nope", "entities": [{"type": "Park"}]},
    {"entities": [{"type": "Park"}]},
    {"type": "Query", "entities": []},
    {"type": "Query", "entities": [{"type": "(Park"}]},
    {"type": "Query", "entities": [{"id": "not a uri", "type": "Park"}]},
    {"type": "Query", "entities": [{"type": "Park"}], "q": "area>>1"},
    {"type": "Query", "entities": [{"type": "Park"}], "q": 5},
    {"type": "Query", "entities": [{"type": "Park"}], "scopeQ": "(/a"},
    {"type": "Query", "entities": [{"type": "Park"}], "attrs": "area"},
    {"type": "Query", "geoQ": {"georel": "near", "geometry": "Point", "coordinates": [1, 2]}},
    {"type": "Query", "geoQ": {"georel": "within", "geometry": "Polygon", "coordinates": [1, 2]}},
])
def test_post_query_bad_bodies(q, body):
    assert_problem(q.post(body), 400, "BadRequestData")


# ------------------------------------------------------------------------------------------
# Paging a large result set: every entity exactly once
# ------------------------------------------------------------------------------------------
N_BULK = 2500


@pytest.fixture(scope="module")
def bulk(polis, ctx_url):
    tenant = "bulk" + uuid.uuid4().hex[:8]
    h = {"NGSILD-Tenant": tenant, "Link": link(ctx_url), "Content-Type": "application/json"}
    ids = [f"urn:ngsi-ld:Bulk:{i:05d}-{uuid.uuid4().hex[:6]}" for i in range(N_BULK)]
    ents = [{"id": eid, "type": "Bulk", "seq": prop(i)} for i, eid in enumerate(ids)]
    r = requests.post(polis.api + "/entityOperations/upsert", data=json.dumps(ents[:500]),
                      headers=h)
    if r.status_code in (201, 204):
        for k in range(500, N_BULK, 500):
            r = requests.post(polis.api + "/entityOperations/upsert",
                              data=json.dumps(ents[k:k + 500]), headers=h)
            assert r.status_code in (201, 204), r.text
    else:
        for e in ents:
            assert requests.post(polis.api + "/entities", json=e, headers=h).status_code == 201
    return h, set(ids)


def page_all(polis, h, limit, **params):
    seen = []
    r = requests.get(polis.api + "/entities", headers=h,
                     params=dict(params, type="Bulk", limit=limit, count="true"))
    assert r.status_code == 200, r.text
    while True:
        assert r.headers["NGSILD-Results-Count"] == str(N_BULK)
        page = [e["id"] for e in r.json()]
        assert 0 < len(page) <= limit, "a page of %d entities for limit=%d (6.3, 5.5.9)" % (
            len(page), limit)
        seen += page
        if "next" not in r.links:
            break
        r = requests.get(polis.url + r.links["next"]["url"], headers=h)
        assert r.status_code == 200, r.text
    return seen


@pytest.mark.parametrize("limit", [100, 1000])
def test_paging_returns_each_entity_exactly_once(polis, bulk, limit):
    h, ids = bulk
    seen = page_all(polis, h, limit)
    assert len(seen) == N_BULK and set(seen) == ids


def test_paging_by_offset_and_past_the_end(polis, bulk):
    h, ids = bulk
    seen = []
    for off in range(0, N_BULK, 1000):
        r = requests.get(polis.api + "/entities", headers=h,
                         params={"type": "Bulk", "limit": 1000, "offset": off})
        seen += [e["id"] for e in r.json()]
    assert len(seen) == N_BULK and set(seen) == ids, \
        "offsets 0,1000,2000 with limit=1000 gave %d ids, %d distinct" % (len(seen), len(set(seen)))
    r = requests.get(polis.api + "/entities", headers=h,
                     params={"type": "Bulk", "limit": 100, "offset": N_BULK})
    assert r.status_code == 200 and r.json() == [] and "next" not in r.links
    r = requests.get(polis.api + "/entities", headers=h,
                     params={"type": "Bulk", "limit": 100, "offset": N_BULK + 5000, "count": "true"})
    assert r.status_code == 200 and r.json() == []
    assert r.headers["NGSILD-Results-Count"] == str(N_BULK)


def test_paging_q_results(polis, bulk):
    h, _ = bulk
    r = requests.get(polis.api + "/entities", headers=h,
                     params={"q": "seq>=1000;seq<1250", "limit": 1000, "count": "true",
                             "options": "keyValues"})
    assert r.status_code == 200
    assert sorted(e["seq"] for e in r.json()) == list(range(1000, 1250))
    assert r.headers["NGSILD-Results-Count"] == "250"
    seen = []
    for off in range(0, 250, 100):
        r = requests.get(polis.api + "/entities", headers=h,
                         params={"q": "seq>=1000;seq<1250", "limit": 100, "offset": off,
                                 "options": "keyValues"})
        seen += [e["seq"] for e in r.json()]
    assert sorted(seen) == list(range(1000, 1250)), "q paging: %d values, %d distinct" % (
        len(seen), len(set(seen)))


# ------------------------------------------------------------------------------------------
# DELETE /entities (5.6.21 Purge Entities)
# ------------------------------------------------------------------------------------------
@pytest.fixture
def purge_tenant(polis, ctx_url):
    tenant = "purge" + uuid.uuid4().hex[:8]
    h = {"NGSILD-Tenant": tenant, "Link": link(ctx_url)}
    for e in BUILDINGS + PARKS + SENSORS[:3]:
        r = requests.post(polis.api + "/entities", json=e, headers=dict(h, **JS))
        assert r.status_code == 201
    return Q(polis, h)


def purge(p, **params):
    return requests.delete(p.polis.api + "/entities", params=params, headers=p.h)


def test_purge_by_type(purge_tenant):
    p = purge_tenant
    r = purge(p, type="Building")
    assert r.status_code == 204, r.text
    assert p.ids(local="true") == PARK_IDS | S("S1", "S2", "S3")
    assert p.ids(type="Building") == set()
    # the other tenants keep theirs
    r = purge(p, type="Park,Sensor")
    assert r.status_code == 204
    assert p.ids(local="true") == set()


def test_purge_with_q_and_scope(purge_tenant):
    p = purge_tenant
    assert purge(p, type="Building", q="floors>10").status_code == 204
    assert p.ids(type="Building") == S("B2", "B3", "B6", "B8")
    assert purge(p, type="Building,Park", scopeQ="/Madrid/#").status_code == 204
    assert p.ids(type="Building,Park") == S("B3", "P3", "P4")


def test_purge_by_id_and_pattern(purge_tenant):
    p = purge_tenant
    assert purge(p, id=I("B1") + "," + I("P1"), type="Building,Park").status_code == 204
    assert p.ids(type="Building,Park") == (BUILDING_IDS | PARK_IDS) - S("B1", "P1")
    assert purge(p, idPattern="Sensor:S[12]$", type="Sensor").status_code == 204
    assert p.ids(type="Sensor") == S("S3")


def test_purge_does_not_touch_other_tenants(purge_tenant, q):
    assert purge(purge_tenant, type="Building").status_code == 204
    check(q, BUILDING_IDS, type="Building")


def test_purge_errors(purge_tenant, polis):
    p = purge_tenant
    assert_problem(purge(p), 400, "BadRequestData")
    assert_problem(purge(p, type="(Building"), 400, "BadRequestData")
    assert_problem(purge(p, type="Building", q="floors>>1"), 400, "BadRequestData")
    assert p.ids(type="Building") == BUILDING_IDS
    r = requests.delete(polis.api + "/entities", params={"type": "Building"},
                        headers={"NGSILD-Tenant": "never" + uuid.uuid4().hex[:8]})
    assert_problem(r, 404, "NonexistentTenant")


def test_purge_with_q_only_is_allowed_5_6_21_4(purge_tenant):
    """5.6.21.4: a type selector, attributes, a q, a geo-query or local scope suffice."""
    p = purge_tenant
    r = purge(p, q="floors>40")
    assert r.status_code == 204, ("5.6.21.4 allows a purge selected by q alone", r.text)
    assert p.ids(type="Building") == BUILDING_IDS - S("B5")


def test_purge_with_geo_query_5_6_21_4(purge_tenant):
    """5.6.21.3: a geo-query selects the entities to purge too."""
    p = purge_tenant
    r = purge(p, type="Park", georel="within", geometry="Polygon",
              coordinates=json.dumps(rect(-3.80, 40.30, -3.60, 40.50)))
    assert r.status_code == 204, r.text
    assert p.ids(type="Park") == S("P4"), "the geo-query of a purge must restrict it (5.6.21.4)"
