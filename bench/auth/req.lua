-- req.lua — wrk script of bench/auth/run: GET or PATCH (MODE) of random entities
-- urn:ngsi-ld:Thing:0..N-1, with the Authorization header AUTH when set.
local n = tonumber(os.getenv("N") or "1000")
local mode = os.getenv("MODE") or "get"
local auth = os.getenv("AUTH") or ""
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("seed", counter)
end

function init(args)
   math.randomseed(1000003 * (seed or 1) + os.time())
end

local prefix = "/ngsi-ld/v1/entities/urn:ngsi-ld:Thing:"
local get_headers = { ["Accept"] = "application/json" }
local patch_headers = { ["Content-Type"] = "application/json" }
if auth ~= "" then
   get_headers["Authorization"] = auth
   patch_headers["Authorization"] = auth
end

function request()
   local id = math.random(0, n - 1)
   if mode == "patch" then
      return wrk.format("PATCH", prefix .. id .. "/attrs", patch_headers,
                        '{"v":{"type":"Property","value":' .. math.random(0, 999) .. '}}')
   end
   return wrk.format("GET", prefix .. id, get_headers)
end

function response(status, headers, body)
   if status >= 300 then
      wrk.thread:stop()
   end
end
