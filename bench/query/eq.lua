-- eq.lua — wrk script of bench/query: type + q equality, the free parking spots (limit=20).
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

local path = "/ngsi-ld/v1/entities?type=ParkingSpot&q=status%3D%3D%22free%22&limit=20"

function request()
   return wrk.format("GET", path, headers)
end
