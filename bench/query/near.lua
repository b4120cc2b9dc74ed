-- near.lua — wrk script of bench/query: type + georel=near;maxDistance==500, ParkingSpots within 500 m of a
-- random point of the load's bounding box on Madrid (lon -3.85..-3.55, lat 40.30..40.60) (limit=20).
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

local prefix = "/ngsi-ld/v1/entities?type=ParkingSpot&limit=20&georel=near%3BmaxDistance%3D%3D500"
   .. "&geometry=Point&coordinates="

function request()
   local lon = -3.85 + 0.3 * math.random()
   local lat = 40.30 + 0.3 * math.random()
   return wrk.format("GET", string.format("%s%%5B%.6f,%.6f%%5D", prefix, lon, lat), headers)
end
