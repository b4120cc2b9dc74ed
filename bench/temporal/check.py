#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""check.py — bench/temporal's sanity check of one request shape before it is benchmarked: the
answer must be a 200 holding what the load put in (docs/temporal.md), so that wrk never measures
a stream of errors, of empty answers or of truncated (206) ones.

Usage: check.py SHAPE BASE_URL SENSORS DAYS WINDOW_DAYS
  lastn      GET /temporal/entities/{last sensor}?lastN=10: 10 instances in ascending observedAt
             order, the last one the last reading loaded
  window     GET .../{sensor 0}?attrs=temperature&timerel=between over WINDOW_DAYS from day 1:
             WINDOW_DAYS x 96 instances, 15 minutes apart, from timeAt on
  aggr       GET .../{sensor 0}?options=aggregatedValues&aggrMethods=avg,min,max
             &aggrPeriodDuration=P1D over all DAYS: DAYS buckets per method, one day each, and
             the bucket of the middle day equal to avg/min/max computed here from that day's raw
             96 instances; totalCount over the whole window == DAYS x 96 (everything loaded was
             recorded)
  aggr_type  GET /temporal/entities?type=TemperatureSensor&limit=100 with the same aggregation:
             min(SENSORS, 100) entities, each with DAYS buckets per method, sensor 0's buckets
             equal to those of the single-entity request
Prints one line; exits 1 on a failure.
"""
import calendar
import json
import re
import sys
import time
import urllib.error
import urllib.request

T0 = 1672531200  # 2023-01-01T00:00:00Z, reading 0 (loader.c)
STEP = 900       # 15 minutes
DAY = 86400
elapsed_ms = 0.0  # of the last get()
SENSOR = "urn:ngsi-ld:TemperatureSensor:"
AGGR = "options=aggregatedValues&aggrMethods=avg,min,max&aggrPeriodDuration=P1D"


def fail(msg):
    print(f"FAIL: {msg}")
    sys.exit(1)


def iso(t):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


TIME_RE = re.compile(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(\.\d+)?(Z|[+-]\d\d:?\d\d)$")


def epoch(s):
    m = TIME_RE.match(s) if isinstance(s, str) else None
    if not m:
        fail(f"not a date-time: {s!r}")
    y, mo, d, h, mi, se = (int(m.group(k)) for k in range(1, 7))
    t = calendar.timegm((y, mo, d, h, mi, se, 0, 0, 0)) + float(m.group(7) or 0)
    z = m.group(8)
    if z != "Z":
        sign = -1 if z[0] == "+" else 1
        z = z[1:].replace(":", "")
        t += sign * (int(z[:2]) * 3600 + int(z[2:]) * 60)
    return t


def get(base, path):
    global elapsed_ms
    t = time.monotonic()
    req = urllib.request.Request(base + path, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            status, body = resp.status, resp.read()
    except urllib.error.HTTPError as e:
        status, body = e.code, e.read()
    except OSError as e:
        fail(f"GET {path}: {e}")
    elapsed_ms = (time.monotonic() - t) * 1000
    if status != 200:
        fail(f"GET {path}: status {status} (want 200): {body[:300].decode(errors='replace')}")
    try:
        return json.loads(body)
    except ValueError:
        fail(f"GET {path}: not JSON: {body[:300]!r}")


def instances(ent, path):
    if not isinstance(ent, dict):
        fail(f"GET {path}: not an entity: {json.dumps(ent)[:300]}")
    inst = ent.get("temperature")
    if not isinstance(inst, list):
        fail(f"GET {path}: temperature is not an array of instances: {json.dumps(inst)[:300]}")
    times = []
    for x in inst:
        if not isinstance(x, dict) or not isinstance(x.get("value"), (int, float)) or \
                "instanceId" not in x or "observedAt" not in x:
            fail(f"GET {path}: not a numeric instance with instanceId and observedAt: "
                 f"{json.dumps(x)[:300]}")
        times.append(epoch(x["observedAt"]))
    if any(b <= a for a, b in zip(times, times[1:])):
        fail(f"GET {path}: instances not in strictly ascending observedAt order")
    return inst, times


def buckets(ent, path, days, methods=("avg", "min", "max")):
    a = ent.get("temperature") if isinstance(ent, dict) else None
    if not isinstance(a, dict):
        fail(f"GET {path}: no aggregated temperature: {json.dumps(ent)[:300]}")
    out = {}
    for m in methods:
        b = a.get(m)
        if not isinstance(b, list) or len(b) != days:
            fail(f"GET {path}: {ent.get('id')}: temperature.{m} has "
                 f"{len(b) if isinstance(b, list) else 'no'} buckets, want {days}")
        for d, x in enumerate(b):
            if not (isinstance(x, list) and len(x) == 3 and isinstance(x[0], (int, float))):
                fail(f"GET {path}: {m} bucket {d} is not [number, start, end]: {json.dumps(x)}")
            if epoch(x[1]) != T0 + d * DAY or epoch(x[2]) != T0 + (d + 1) * DAY:
                fail(f"GET {path}: {m} bucket {d} spans {x[1]}..{x[2]}, want day {d}")
        out[m] = [x[0] for x in b]
    return out


def close(a, b):
    return abs(a - b) <= 1e-6 * max(1.0, abs(a), abs(b))


def main():
    if len(sys.argv) != 6:
        fail("usage: check.py SHAPE BASE_URL SENSORS DAYS WINDOW_DAYS")
    shape, base = sys.argv[1], sys.argv[2]
    sensors, days, wdays = (int(x) for x in sys.argv[3:6])
    whole = f"timerel=between&timeAt={iso(T0)}&endTimeAt={iso(T0 + days * DAY)}"
    E = "/ngsi-ld/v1/temporal/entities"

    if shape == "lastn":
        path = f"{E}/{SENSOR}{sensors - 1}?lastN=10"
        ent = get(base, path)
        ms = elapsed_ms
        if ent.get("id") != f"{SENSOR}{sensors - 1}":
            fail(f"GET {path}: id {ent.get('id')!r}")
        inst, times = instances(ent, path)
        last = T0 + (days * 96 - 1) * STEP
        if len(inst) != 10 or times[-1] != last:
            fail(f"GET {path}: {len(inst)} instances ending at {inst[-1]['observedAt'] if inst else '-'}"
                 f", want 10 ending at {iso(last)}")
        print(f"ok: 10 instances, {inst[0]['observedAt']} .. {inst[-1]['observedAt']} ({ms:.1f} ms)")
    elif shape == "window":
        start = T0 + DAY
        path = (f"{E}/{SENSOR}0?attrs=temperature&timerel=between&timeAt={iso(start)}"
                f"&endTimeAt={iso(start + wdays * DAY)}")
        inst, times = instances(get(base, path), path)
        ms = elapsed_ms
        want = [start + k * STEP for k in range(wdays * 96)]
        if times != want:
            fail(f"GET {path}: {len(times)} instances "
                 f"({inst[0]['observedAt'] if inst else '-'} .. {inst[-1]['observedAt'] if inst else '-'})"
                 f", want {len(want)} every 15 min from {iso(start)}")
        print(f"ok: {len(inst)} instances, {inst[0]['observedAt']} .. {inst[-1]['observedAt']}"
              f" ({ms:.1f} ms)")
    elif shape == "aggr":
        path = f"{E}/{SENSOR}0?{AGGR}&{whole}"
        agg = buckets(get(base, path), path, days)
        ms = elapsed_ms
        d = days // 2
        rpath = (f"{E}/{SENSOR}0?attrs=temperature&timerel=between&timeAt={iso(T0 + d * DAY)}"
                 f"&endTimeAt={iso(T0 + (d + 1) * DAY)}")
        inst, _ = instances(get(base, rpath), rpath)
        if len(inst) != 96:
            fail(f"GET {rpath}: {len(inst)} instances, want 96")
        v = [x["value"] for x in inst]
        want = {"avg": sum(v) / len(v), "min": min(v), "max": max(v)}
        for m, w in want.items():
            if not close(agg[m][d], w):
                fail(f"GET {path}: day {d} {m} = {agg[m][d]}, the raw instances give {w}")
        cpath = f"{E}/{SENSOR}0?options=aggregatedValues&aggrMethods=totalCount&{whole}"
        tc = get(base, cpath).get("temperature", {}).get("totalCount")
        if not (isinstance(tc, list) and len(tc) == 1 and tc[0][0] == days * 96):
            fail(f"GET {cpath}: totalCount {json.dumps(tc)[:200]}, want [[{days * 96}, ...]]")
        print(f"ok: {days} daily buckets x avg,min,max; day {d} matches its {len(v)} raw instances"
              f" (avg {want['avg']:.4f}, min {want['min']}, max {want['max']});"
              f" totalCount {days * 96} ({ms:.1f} ms)")
    elif shape == "aggr_type":
        path = f"{E}?type=TemperatureSensor&limit=100&{AGGR}&{whole}"
        ents = get(base, path)
        ms = elapsed_ms
        n = min(sensors, 100)
        if not isinstance(ents, list) or len(ents) != n:
            fail(f"GET {path}: {len(ents) if isinstance(ents, list) else 'no'} entities, want {n}")
        per = {}
        for e in ents:
            per[e.get("id")] = buckets(e, path, days)
        one = f"{E}/{SENSOR}0?{AGGR}&{whole}"
        if f"{SENSOR}0" in per:
            ref = buckets(get(base, one), one, days)
            for m in ref:
                if not all(close(a, b) for a, b in zip(ref[m], per[f"{SENSOR}0"][m])):
                    fail(f"GET {path}: sensor 0's {m} buckets differ from those of GET {one}")
        print(f"ok: {n} entities x {days} daily buckets x avg,min,max ({ms:.1f} ms)")
    else:
        fail(f"unknown shape {shape}")


main()
