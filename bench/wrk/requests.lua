-- Rotates over the requests listed in the file named by BENCH_WRK_REQUESTS, one a line:
--   METHOD <tab> PATH <tab> BODY (may be empty) [<tab> Header: value]...
-- so bearer tokens, session cookies, POST bodies and rotating keys all come from bench/http.py.
-- Each of the BENCH_WRK_THREADS threads (wrk -t) takes every n-th line, so no two threads send the same
-- one-time request (a check-in) while the list lasts; a list shorter than that goes whole to every thread.
-- done() prints one JSON line ("BENCH {...}") for bench/http.py to parse.

local next_id = 0

function setup(thread)
   thread:set("id", next_id)
   next_id = next_id + 1
end

local function split(line)
   local fields = {}
   for field in (line .. "\t"):gmatch("([^\t]*)\t") do
      table.insert(fields, field)
   end
   return fields
end

function init(args)
   local threads = tonumber(os.getenv("BENCH_WRK_THREADS") or "1")
   local lines = {}
   for line in io.lines(os.getenv("BENCH_WRK_REQUESTS")) do
      table.insert(lines, line)
   end
   if #lines < threads then
      threads, id = 1, 0  -- too few to share out: every thread sends them all
   end
   requests, counter = {}, 0
   for index, line in ipairs(lines) do
      if (index - 1) % threads == id then
         local fields = split(line)
         local headers = {}
         for i = 4, #fields do
            local name, value = fields[i]:match("^([^:]+):%s*(.*)$")
            headers[name] = value
         end
         local body = fields[3] ~= "" and fields[3] or nil
         if body then
            headers["Content-Type"] = headers["Content-Type"] or "application/json"
         end
         table.insert(requests, wrk.format(fields[1], fields[2], headers, body))
      end
   end
end

function request()
   counter = counter + 1
   return requests[(counter - 1) % #requests + 1]
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'BENCH {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
      '"connect": %d, "read": %d, "write": %d, "timeout": %d, "non2xx": %d}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max, e.connect, e.read, e.write, e.timeout, e.status))
end
