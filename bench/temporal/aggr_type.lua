-- aggr_type.lua — wrk script of bench/temporal: daily avg, min and max over all the loaded DAYS
-- for every sensor of the type (up to 100): GET /ngsi-ld/v1/temporal/entities?type=TemperatureSensor
-- &limit=100&options=aggregatedValues&aggrMethods=avg,min,max&aggrPeriodDuration=P1D
-- &timerel=between&timeAt=T0&endTimeAt=T0+DAYS. Always the same request. Non-2xx answers are
-- counted by wrk and fail the row.
local days = tonumber(os.getenv("DAYS") or error("DAYS not set"))
local t0 = 1672531200 -- 2023-01-01T00:00:00Z, the time of reading 0 (loader.c)
local headers = { ["Accept"] = "application/json" }

local path = "/ngsi-ld/v1/temporal/entities?type=TemperatureSensor&limit=100"
   .. "&options=aggregatedValues&aggrMethods=avg,min,max&aggrPeriodDuration=P1D"
   .. "&timerel=between&timeAt=" .. os.date("!%Y-%m-%dT%H:%M:%SZ", t0)
   .. "&endTimeAt=" .. os.date("!%Y-%m-%dT%H:%M:%SZ", t0 + days * 86400)

function request()
   return wrk.format("GET", path, headers)
end
