-- lastn.lua — wrk script of bench/temporal: GET /ngsi-ld/v1/temporal/entities/{id}?lastN=10, the
-- 10 latest instances of a random sensor (urn:ngsi-ld:TemperatureSensor:0..SENSORS-1, loaded by
-- bench/temporal/loader.c). Non-2xx answers are counted by wrk and fail the row.
local sensors = tonumber(os.getenv("SENSORS") or error("SENSORS not set"))
local headers = { ["Accept"] = "application/json" }
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("seed", counter)
end

function init(args)
   math.randomseed(1000003 * (seed or 1) + os.time())
end

local prefix = "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:TemperatureSensor:"

function request()
   return wrk.format("GET", prefix .. math.random(0, sensors - 1) .. "?lastN=10", headers)
end
