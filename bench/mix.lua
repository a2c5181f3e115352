-- bench/mix.lua - wrk script for bench/scaling: 80% mapping GETs, 20% mapping
-- PUTs, each on a lead drawn at random from many.
--
-- Configured through the environment (bench/scaling sets it):
--   BENCH_TOKEN     a token (sent as "Authorization: Bearer ...")
--   BENCH_CAMPAIGN  the campaign id
--   BENCH_LEADS     lead ids attached to it, comma-separated
--   BENCH_USERS     user ids enrolled in it, comma-separated (at least 2)
--   BENCH_PUT_PCT   percentage of PUTs (default 20)
--
-- A PUT assigns one user and unassigns another, both at random, so that the
-- PUTs really write.  done() prints one line `BENCH-JSON {...}` with the
-- totals, latency percentiles (microseconds) and the count of every status.

local function split(s)
   local out = {}
   for v in string.gmatch(s or "", "[^,]+") do
      out[#out + 1] = v
   end
   return out
end

local token = os.getenv("BENCH_TOKEN")
local campaign = os.getenv("BENCH_CAMPAIGN")
local leads = split(os.getenv("BENCH_LEADS"))
local users = split(os.getenv("BENCH_USERS"))
local put_pct = tonumber(os.getenv("BENCH_PUT_PCT") or "20")
local path = "/cms/configuration/voice/campaignLeadUserMapping"

if not token or not campaign or #leads == 0 or #users < 2 then
   io.stderr:write("mix.lua: set BENCH_TOKEN, BENCH_CAMPAIGN, BENCH_LEADS, BENCH_USERS\n")
   os.exit(2)
end

local threads = {}

function setup(thread)
   threads[#threads + 1] = thread
end

local get_headers, put_headers

function init(args)
   statuses = {}
   math.randomseed(os.time() + tonumber(tostring({}):match("0x(%x+)") or "0", 16))
   -- wrk.format uses the table it is given instead of wrk.headers
   get_headers = { ["Authorization"] = "Bearer " .. token, ["Accept"] = "application/json" }
   put_headers = { ["Authorization"] = "Bearer " .. token, ["Accept"] = "application/json",
                   ["Content-Type"] = "application/json" }
end

function request()
   local lead = leads[math.random(#leads)]
   if math.random(100) <= put_pct then
      local a = math.random(#users)
      local u = math.random(#users - 1)
      if u >= a then
         u = u + 1
      end
      local body = string.format(
         '{"leadId":%s,"campaignId":%s,"assignedUserIds":["%s"],"unassignedUserIds":["%s"]}',
         lead, campaign, users[a], users[u])
      return wrk.format("PUT", path, put_headers, body)
   end
   return wrk.format("GET", path .. "?campaignId=" .. campaign .. "&leadId=" .. lead,
                     get_headers)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local counts = {}
   for _, t in ipairs(threads) do
      local st = t:get("statuses")
      for code, n in pairs(st or {}) do
         counts[code] = (counts[code] or 0) + n
      end
   end
   local parts = {}
   for code, n in pairs(counts) do
      parts[#parts + 1] = string.format('"%d":%d', code, n)
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH-JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
      '"max_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
      '"statuses":{%s}}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout,
      table.concat(parts, ",")))
end
