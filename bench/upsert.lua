-- upsert.lua — wrk script: single-entity upserts, PATCH /ngsi-ld/v1/entities/{id}/attrs
-- (update attributes, answered 204 once committed) on random existing ids among N_ENTITIES.
local n = tonumber(os.getenv("N_ENTITIES") or "100000")
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("seed", counter)
end

function init(args)
   math.randomseed(7919 * (seed or 1) + os.time())
end

local prefix = "/ngsi-ld/v1/entities/urn:ngsi-ld:AirQualityObserved:"
local headers = { ["Content-Type"] = "application/json" }

function request()
   local body = string.format(
      '{"no2":{"type":"Property","value":%d,"unitCode":"GQ","observedAt":"2026-01-02T00:00:00Z"}}',
      math.random(0, 500))
   return wrk.format("PATCH", prefix .. math.random(0, n - 1) .. "/attrs", headers, body)
end
