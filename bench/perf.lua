-- bench/perf.lua - wrk script for bench/perf: sends prepared raw requests.
--
-- BENCH_REQUESTS names a file of requests, each as "<length>\n<bytes>"
-- (bench/pace reads the same file), so that wrk, the paced client, cmsd
-- and nginx all see exactly the same bytes.  Each wrk thread goes round the
-- list from its own starting point.  done() prints one line
-- `BENCH-JSON {...}`: totals, latency percentiles in microseconds, and
-- wrk's error counts (status: answers >= 400).

local path = os.getenv("BENCH_REQUESTS")
local f = path and io.open(path, "rb")
if not f then
   io.stderr:write("perf.lua: set BENCH_REQUESTS to a readable file\n")
   os.exit(2)
end
local data = f:read("*a")
f:close()

local reqs = {}
local pos = 1
while pos <= #data do
   local nl = data:find("\n", pos, true)
   local n = tonumber(data:sub(pos, nl - 1))
   reqs[#reqs + 1] = data:sub(nl + 1, nl + n)
   pos = nl + 1 + n
end
data = nil

local nthreads = 0

function setup(thread)
   thread:set("tid", nthreads)
   nthreads = nthreads + 1
end

local i

function init(args)
   -- a prime stride spreads the threads' starting points over the list
   i = ((tid or 0) * 104729) % #reqs
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
