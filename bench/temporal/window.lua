-- window.lua — wrk script of bench/temporal: the raw instances of one attribute in a window of
-- WINDOW_DAYS days (96 readings a day: 960 for 10 days) of a random sensor, starting at a random
-- reading time of the loaded DAYS: GET /ngsi-ld/v1/temporal/entities/{id}?attrs=temperature
-- &timerel=between&timeAt=T&endTimeAt=T+WINDOW_DAYS. 4xx/5xx answers are counted by wrk and fail
-- the row; a 206 (a truncated window) is not, check.py catches it on a fixed window beforehand.
local sensors = tonumber(os.getenv("SENSORS") or error("SENSORS not set"))
local days = tonumber(os.getenv("DAYS") or error("DAYS not set"))
local wdays = tonumber(os.getenv("WINDOW_DAYS") or error("WINDOW_DAYS not set"))
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

local function iso(t)
   return os.date("!%Y-%m-%dT%H:%M:%SZ", t)
end

local prefix = "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:TemperatureSensor:"

function request()
   local from = t0 + 900 * math.random(0, (days - wdays) * 96)
   return wrk.format("GET", string.format("%s%d?attrs=temperature&timerel=between&timeAt=%s&endTimeAt=%s",
      prefix, math.random(0, sensors - 1), iso(from), iso(from + wdays * 86400)), headers)
end
