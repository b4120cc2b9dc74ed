-- aggr.lua — wrk script of bench/temporal: daily avg, min and max over all the loaded DAYS of a
-- random sensor (DAYS x 96 instances): GET /ngsi-ld/v1/temporal/entities/{id}
-- ?options=aggregatedValues&aggrMethods=avg,min,max&aggrPeriodDuration=P1D&timerel=between
-- &timeAt=T0&endTimeAt=T0+DAYS. Non-2xx answers are counted by wrk and fail the row.
local sensors = tonumber(os.getenv("SENSORS") or error("SENSORS not set"))
local days = tonumber(os.getenv("DAYS") or error("DAYS not set"))
local t0 = 1672531200 -- 2023-01-01T00:00:00Z, the time of reading 0 (loader.c)
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
local query = "?options=aggregatedValues&aggrMethods=avg,min,max&aggrPeriodDuration=P1D"
   .. "&timerel=between&timeAt=" .. os.date("!%Y-%m-%dT%H:%M:%SZ", t0)
   .. "&endTimeAt=" .. os.date("!%Y-%m-%dT%H:%M:%SZ", t0 + days * 86400)

function request()
   return wrk.format("GET", prefix .. math.random(0, sensors - 1) .. query, headers)
end
