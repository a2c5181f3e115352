-- bench/perf.lua - wrk script for bench/perf: sends prepared raw requests.
--
-- BENCH_REQUESTS names a file of requests, each as "<length>\n<bytes>"
-- (bench/pace reads the same file), so that wrk, the paced client, cmsd
-- and nginx all see exactly the same bytes.  Each wrk thread goes round the
-- list from its own starting point.
--
-- With BENCH_PARTS=N, thread T reads the file BENCH_REQUESTS.(T mod N)
-- instead and goes round it from its first request: bench/perf splits the
-- rotation scenarios' PUTs so that no two threads ever toggle the same user
-- on the same lead, and each thread's own order (assign, then much later
-- unassign) is what the store sees.
--
-- wrk calls request() once on thread 0 before the run, to check that it
-- makes a valid request (script_verify_request), and never sends that one.
-- Thread 0 therefore starts one request early, so that what it sends begins
-- with its list's first request and leaves none out.
--
-- done() prints one line `BENCH-JSON {...}`: totals, latency percentiles
-- in microseconds, and wrk's error counts (status: answers >= 400).

local path = os.getenv("BENCH_REQUESTS")
local parts = tonumber(os.getenv("BENCH_PARTS") or "1") or 1
if not path then
   io.stderr:write("perf.lua: set BENCH_REQUESTS to a readable file\n")
   os.exit(2)
end

local function load(name)
   local f = io.open(name, "rb")
   if not f then
      io.stderr:write("perf.lua: cannot read " .. name .. "\n")
      os.exit(2)
   end
   local data = f:read("*a")
   f:close()
   local out = {}
   local pos = 1
   while pos <= #data do
      local nl = data:find("\n", pos, true)
      local n = tonumber(data:sub(pos, nl - 1))
      out[#out + 1] = data:sub(nl + 1, nl + n)
      pos = nl + 1 + n
   end
   if #out == 0 then
      io.stderr:write("perf.lua: no requests in " .. name .. "\n")
      os.exit(2)
   end
   return out
end

local nthreads = 0

function setup(thread)
   thread:set("tid", nthreads)
   nthreads = nthreads + 1
end

local reqs, i

-- Runs in each thread's own Lua state, after setup() gave it its tid; the
-- requests are read here, not at load time, so that the main state (which
-- only runs setup() and done()) holds none.
function init(args)
   local t = tid or 0
   local start
   if parts > 1 then
      reqs = load(path .. "." .. (t % parts))
      start = 0
   else
      reqs = load(path)
      -- a prime stride spreads the threads' starting points over the list
      start = (t * 104729) % #reqs
   end
   if t == 0 then
      start = start - 1          -- the verification call takes one (above)
   end
   i = start % #reqs
end

function request()
   i = i % #reqs + 1
   return reqs[i]
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH-JSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
      '"max_us":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout))
end
