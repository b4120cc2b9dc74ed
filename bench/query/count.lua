-- count.lua — wrk script of bench/query: count the entities of one type, type=X&count=true&limit=0, X cycling
-- through the five types of the load.
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

local types = { "AirQualityObserved", "ParkingSpot", "Streetlight", "WeatherObserved", "TrafficFlowObserved" }
local k = 0

function request()
   k = k % #types + 1
   return wrk.format("GET", "/ngsi-ld/v1/entities?type=" .. types[k] .. "&count=true&limit=0", headers)
end
