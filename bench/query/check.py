#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""check.py — bench/query's sanity check of one query shape before it is benchmarked: the answer
that curl saved must be a 200 with a non-empty, correct-looking result, so that wrk never measures
a stream of errors or of empty answers.

Usage: check.py SHAPE STATUS HEADERS_FILE BODY_FILE [ARG]...
  eq        ATTR VALUE TYPE          every entity has that type and ATTR.value == VALUE
  range     ATTR LO HI TYPE          every entity has that type and LO < ATTR.value < HI
  idpattern REGEX TYPE               every id matches REGEX
  near      LON LAT METRES TYPE      every location is within METRES of (LON, LAT)
  within    W S E N                  every location lies in the box W..E x S..N
  count     EXPECTED                 NGSILD-Results-Count == EXPECTED and the body is []
  types     TYPE...                  typeList holds exactly these types
Entity answers must hold 1..LIMIT (20) entities. Prints one line; exits 1 on a failure. An
answer with more than LIMIT entities is printed as a warning (a broker bug worth knowing about,
but the latency of the shape is still worth measuring).
"""
import json
import math
import re
import sys

LIMIT = 20


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def header(headers, name):
    for line in headers.splitlines():
        k, _, v = line.partition(":")
        if k.strip().lower() == name.lower():
            return v.strip()
    return None


def metres(lon1, lat1, lon2, lat2):
    r = 6371008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(a))


def value(ent, attr):
    a = ent.get(attr)
    if not isinstance(a, dict) or "value" not in a:
        fail(f"{ent.get('id')}: no {attr} value in {json.dumps(a)[:200]}")
    return a["value"]


def point(ent):
    v = value(ent, "location")
    if not isinstance(v, dict) or v.get("type") != "Point":
        fail(f"{ent.get('id')}: location is not a Point: {json.dumps(v)[:200]}")
    return v["coordinates"]


def main():
    shape, status, hfile, bfile, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
    with open(hfile, encoding="utf-8", errors="replace") as f:
        headers = f.read()
    with open(bfile, encoding="utf-8", errors="replace") as f:
        text = f.read()
    if status != "200":
        fail(f"HTTP {status}: {text[:300]}")
    try:
        body = json.loads(text)
    except ValueError as e:
        fail(f"not JSON ({e}): {text[:300]}")

    if shape == "types":
        got = sorted(body.get("typeList", [])) if isinstance(body, dict) else None
        if got != sorted(args):
            fail(f"typeList {got}, expected {sorted(args)}")
        print(f"ok: typeList {got}")
        return
    if shape == "count":
        n = header(headers, "NGSILD-Results-Count")
        if n is None or int(n) != int(args[0]) or body != []:
            fail(f"NGSILD-Results-Count {n} (expected {args[0]}), body {text[:100]}")
        print(f"ok: NGSILD-Results-Count {n}")
        return

    if not isinstance(body, list) or not body:
        fail(f"expected a non-empty array of entities, got {text[:300]}")
    for e in body:
        if shape == "eq":
            attr, want, typ = args
            if e.get("type") != typ or value(e, attr) != want:
                fail(f"{e.get('id')}: type {e.get('type')}, {attr} {value(e, attr)!r}")
        elif shape == "range":
            attr, lo, hi, typ = args[0], float(args[1]), float(args[2]), args[3]
            v = value(e, attr)
            if e.get("type") != typ or not lo < v < hi:
                fail(f"{e.get('id')}: type {e.get('type')}, {attr} {v!r} not in ({lo}, {hi})")
        elif shape == "idpattern":
            if not re.search(args[0], e.get("id", "")) or e.get("type") != args[1]:
                fail(f"{e.get('id')} (type {e.get('type')}) does not match {args[0]}")
        elif shape == "near":
            lon, lat, dist, typ = float(args[0]), float(args[1]), float(args[2]), args[3]
            x, y = point(e)
            d = metres(lon, lat, x, y)
            if e.get("type") != typ or d > dist * 1.001 + 0.5:
                fail(f"{e.get('id')}: type {e.get('type')}, {d:.1f} m from the point (max {dist})")
        elif shape == "within":
            w, s, ea, n = map(float, args)
            x, y = point(e)
            if not (w <= x <= ea and s <= y <= n):
                fail(f"{e.get('id')}: ({x}, {y}) outside {w}..{ea} x {s}..{n}")
        else:
            fail(f"unknown shape {shape}")
    note = ""
    if len(body) > LIMIT:
        note = f"  WARNING: {len(body)} entities for limit={LIMIT} (more than asked for)"
    cnt = header(headers, "NGSILD-Results-Count")
    print(f"ok: {len(body)} entities" + (f" of {cnt}" if cnt else "") + ", all matching" + note)


if __name__ == "__main__":
    main()
