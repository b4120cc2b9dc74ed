/* SPDX-License-Identifier: Apache-2.0 */
/*
 * gen.h — the entities of bench/query, shared by loader.c (Polis) and sqlite_ingest.c (raw
 * SQLite), so that both sides store exactly the same bodies.
 *
 * Entity i (0..N-1) has type TYPES[i % 5] and id urn:ngsi-ld:<Type>:<i / 5>. Its attributes are
 * shaped like the FIWARE Smart Data Models of that type: 7-9 attributes each, numbers, strings, a
 * DateTime, a Relationship and a GeoProperty Point drawn uniformly over a 0.3° x 0.3° box on
 * Madrid (lon -3.85..-3.55, lat 40.30..40.60). Everything is a pure function of i (splitmix64),
 * so a run is reproducible and the raw-SQLite side gets the same bytes. The short names are
 * those of bench/query/context.jsonld.
 *
 * Value distributions the query shapes rely on (the Lua scripts and check.py):
 *   ParkingSpot.status: "free" 40 %, "occupied" 50 %, "closed" 5 %, "unknown" 5 %
 *   AirQualityObserved.NO2: uniform 0..200 (q=NO2>40;NO2<60 matches ~10 %)
 */
#ifndef BENCH_QUERY_GEN_H
#define BENCH_QUERY_GEN_H

#include <stdint.h>
#include <stdio.h>

#define GEN_LON0 (-3.85)
#define GEN_LAT0 40.30
#define GEN_SPAN 0.30

static const char *const GEN_TYPES[5] = {"AirQualityObserved", "ParkingSpot", "Streetlight",
                                         "WeatherObserved", "TrafficFlowObserved"};

static inline uint64_t gen_mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* A uniform double in [0, 1) for entity i, field f. */
static inline double gen_u(long i, int f)
{
    return (double)(gen_mix((uint64_t)i * 64u + (uint64_t)f) >> 11) / 9007199254740992.0;
}

static inline const char *gen_type(long i)
{
    return GEN_TYPES[i % 5];
}

/* One ISO 8601 instant within 2026-11-01..2026-11-28, seconds resolution. */
static inline void gen_time(char *buf, size_t cap, long i, int f)
{
    unsigned s = (unsigned)(gen_u(i, f) * 28.0 * 86400.0);
    snprintf(buf, cap, "2026-11-%02uT%02u:%02u:%02uZ", 1 + s / 86400 % 28, s / 3600 % 24,
             s / 60 % 60, s % 60);
}

/* The format strings are built from these macros; clang-format would scatter them. */
/* clang-format off */
#define NUM(name, fmt) "\"" name "\":{\"type\":\"Property\",\"value\":" fmt "},"
#define NUMU(name, fmt, unit)                                                                  \
    "\"" name "\":{\"type\":\"Property\",\"value\":" fmt ",\"unitCode\":\"" unit "\"},"
#define STR(name) "\"" name "\":{\"type\":\"Property\",\"value\":\"%s\"},"
#define DT(name)                                                                               \
    "\"" name "\":{\"type\":\"Property\",\"value\":{\"@type\":\"DateTime\",\"@value\":\"%s\"}},"
#define REL(name, t) "\"" name "\":{\"type\":\"Relationship\",\"object\":\"urn:ngsi-ld:" t ":%ld\"},"
#define LOC                                                                                    \
    "\"location\":{\"type\":\"GeoProperty\",\"value\":{\"type\":\"Point\","                    \
    "\"coordinates\":[%.6f,%.6f]}}}"

/* Writes entity i as compact JSON (no @context) into buf; returns its length (as snprintf). */
static inline int gen_entity(char *buf, size_t cap, long i)
{
    long k = i / 5;
    double lon = GEN_LON0 + GEN_SPAN * gen_u(i, 0), lat = GEN_LAT0 + GEN_SPAN * gen_u(i, 1);
    char t[64];
    gen_time(t, sizeof t, i, 2);
    switch (i % 5) {
    case 0: {
        static const char *const lvl[] = {"good", "moderate", "unhealthy", "veryUnhealthy"};
        return snprintf(buf, cap,
                        "{\"id\":\"urn:ngsi-ld:AirQualityObserved:%ld\",\"type\":\"AirQualityObserved\","
                        DT("dateObserved") NUMU("NO2", "%.1f", "GQ") NUMU("PM10", "%.1f", "GQ")
                        NUMU("O3", "%.1f", "GQ") NUMU("CO", "%.2f", "GP")
                        NUMU("temperature", "%.1f", "CEL") STR("airQualityLevel")
                        REL("refDevice", "Device") LOC,
                        k, t, 200.0 * gen_u(i, 3), 150.0 * gen_u(i, 4), 180.0 * gen_u(i, 5),
                        3.0 * gen_u(i, 6), -5.0 + 45.0 * gen_u(i, 7), lvl[gen_mix((uint64_t)i) % 4],
                        k % 20000, lon, lat);
    }
    case 1: {
        double u = gen_u(i, 3);
        const char *st = u < 0.40 ? "free" : u < 0.90 ? "occupied" : u < 0.95 ? "closed" : "unknown";
        static const char *const cat[] = {"onStreet", "offStreet", "forDisabled", "forElectricalCharging"};
        return snprintf(buf, cap,
                        "{\"id\":\"urn:ngsi-ld:ParkingSpot:%ld\",\"type\":\"ParkingSpot\","
                        STR("status") STR("category") "\"name\":{\"type\":\"Property\",\"value\":\"Spot %ld\"},"
                        NUMU("width", "%.2f", "MTR") NUMU("length", "%.2f", "MTR") DT("dateObserved")
                        REL("refParkingSite", "ParkingSite") LOC,
                        k, st, cat[gen_mix((uint64_t)i) % 4], k, 2.0 + gen_u(i, 4),
                        4.5 + 1.5 * gen_u(i, 5), t, k / 50, lon, lat);
    }
    case 2: {
        static const char *const st[] = {"ok", "ok", "ok", "defectiveLamp", "columnIssue", "brokenLantern"};
        return snprintf(buf, cap,
                        "{\"id\":\"urn:ngsi-ld:Streetlight:%ld\",\"type\":\"Streetlight\","
                        STR("status") STR("powerState") NUMU("lanternHeight", "%.1f", "MTR")
                        NUM("illuminanceLevel", "%.2f") DT("dateLastSwitchingOn")
                        REL("refStreetlightGroup", "StreetlightGroup") LOC,
                        k, st[gen_mix((uint64_t)i) % 6], gen_u(i, 3) < 0.5 ? "on" : "off",
                        4.0 + 8.0 * gen_u(i, 4), gen_u(i, 5), t, k / 30, lon, lat);
    }
    case 3: {
        static const char *const wt[] = {"clearNight", "sunnyDay", "cloudy", "lightRain", "fog"};
        return snprintf(buf, cap,
                        "{\"id\":\"urn:ngsi-ld:WeatherObserved:%ld\",\"type\":\"WeatherObserved\","
                        DT("dateObserved") NUMU("temperature", "%.1f", "CEL")
                        NUMU("relativeHumidity", "%.2f", "P1") NUMU("atmosphericPressure", "%.1f", "A97")
                        NUMU("windSpeed", "%.1f", "MTS") NUMU("windDirection", "%.0f", "DD")
                        STR("weatherType") REL("refDevice", "Device") LOC,
                        k, t, -5.0 + 45.0 * gen_u(i, 3), gen_u(i, 4), 990.0 + 40.0 * gen_u(i, 5),
                        20.0 * gen_u(i, 6), 360.0 * gen_u(i, 7), wt[gen_mix((uint64_t)i) % 5],
                        k % 20000, lon, lat);
    }
    default:
        return snprintf(buf, cap,
                        "{\"id\":\"urn:ngsi-ld:TrafficFlowObserved:%ld\",\"type\":\"TrafficFlowObserved\","
                        DT("dateObserved") NUMU("intensity", "%.0f", "E50") NUM("occupancy", "%.2f")
                        NUMU("averageVehicleSpeed", "%.1f", "KMH") NUM("laneId", "%ld")
                        STR("laneDirection") "\"congested\":{\"type\":\"Property\",\"value\":%s},"
                        REL("refRoadSegment", "RoadSegment") LOC,
                        k, t, 2000.0 * gen_u(i, 3), gen_u(i, 4), 10.0 + 80.0 * gen_u(i, 5),
                        1 + (long)(gen_mix((uint64_t)i) % 4), gen_u(i, 6) < 0.5 ? "forward" : "backward",
                        gen_u(i, 7) < 0.2 ? "true" : "false", k / 10, lon, lat);
    }
}

/* clang-format on */

#undef NUM
#undef NUMU
#undef STR
#undef DT
#undef REL
#undef LOC

#endif
