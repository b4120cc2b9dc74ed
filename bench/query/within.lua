-- within.lua — wrk script of bench/query: georel=within a ~600 m x 600 m square polygon at a random place of the
-- load's bounding box on Madrid, every type (limit=20).
-- The short names resolve through the @context that bench/query/run registered with Polis
-- (CONTEXT_URL, sent as a Link header). Non-2xx answers are counted by wrk and fail the row.
local ctx = os.getenv("CONTEXT_URL") or error("CONTEXT_URL not set")
local headers = {
   ["Accept"] = "application/json",
   ["Link"] = "<" .. ctx .. ">; rel=\"http://www.w3.org/ns/json-ld#context\"; type=\"application/ld+json\"",
}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("seed", counter)
end

function init(args)
   math.randomseed(1000003 * (seed or 1) + os.time())
end

local prefix = "/ngsi-ld/v1/entities?limit=20&georel=within&geometry=Polygon&coordinates="
local dlon, dlat = 0.0035, 0.0027 -- half sides: ~297 m and ~300 m at lat 40.45

function request()
   local lon = -3.85 + dlon + (0.3 - 2 * dlon) * math.random()
   local lat = 40.30 + dlat + (0.3 - 2 * dlat) * math.random()
   local w, e, s, n = lon - dlon, lon + dlon, lat - dlat, lat + dlat
   local ring = string.format("%%5B%%5B%%5B%.6f,%.6f%%5D,%%5B%.6f,%.6f%%5D,%%5B%.6f,%.6f%%5D,"
      .. "%%5B%.6f,%.6f%%5D,%%5B%.6f,%.6f%%5D%%5D%%5D", w, s, e, s, e, n, w, n, w, s)
   return wrk.format("GET", prefix .. ring, headers)
end
