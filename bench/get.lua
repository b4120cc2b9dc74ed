-- get.lua — wrk script: GET /ngsi-ld/v1/entities/{id} on random ids among the N_ENTITIES loaded
-- by bench/loader.c (urn:ngsi-ld:AirQualityObserved:0..N-1). Each wrk thread has its own seed.
local n = tonumber(os.getenv("N_ENTITIES") or "100000")
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("seed", counter)
end

function init(args)
   math.randomseed(1000003 * (seed or 1) + os.time())
end

local prefix = "/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:"
local headers = { ["Accept"] = "application/json" }

function request()
   return wrk.format("GET", prefix .. math.random(0, n - 1), headers)
end
