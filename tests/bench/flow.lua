-- wrk script of the flow benchmark: every request is POST /flow with a unique
-- id and its send time t0 (epoch ms), counts 2xx answers as accepted flows, and
-- prints the totals for bench.py. Environment:
--   BENCH_TAG   id prefix, so warm-up and measured flows are told apart
--   BENCH_RATE  requests/s per thread (0 or unset: as fast as answers come)
local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_usec; } bench_timeval;
  int gettimeofday(bench_timeval *tv, void *tz);
]]
local tv = ffi.new("bench_timeval")

local function now_ms()
  ffi.C.gettimeofday(tv, nil)
  return tonumber(tv.tv_sec) * 1000 + tonumber(tv.tv_usec) / 1000
end

local tag = os.getenv("BENCH_TAG") or "m"
local rate = tonumber(os.getenv("BENCH_RATE") or "0") or 0
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

-- Globals, not locals: done() reads them from each thread with thread:get().
sent, accepted, rejected = 0, 0, 0
local paced_from = nil
local headers = { ["Content-Type"] = "application/json" }

function request()
  sent = sent + 1
  local body = string.format('{"id":"%s-%d-%d","t0":%.3f}', tag, tid, sent, now_ms())
  return wrk.format("POST", wrk.path, headers, body)
end

-- Paced mode: the n-th request of this thread is due at start + n / rate.
-- Defined only when pacing: wrk takes a timer per request once delay exists.
if rate > 0 then
  function delay()
    local now = now_ms()
    paced_from = paced_from or now
    local due = paced_from + (sent + 1) * 1000 / rate
    return math.max(0, math.floor(due - now))
  end
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    accepted = accepted + 1
  else
    rejected = rejected + 1
  end
end

function done(summary, latency, requests)
  local s, a, r = 0, 0, 0
  for _, t in ipairs(threads) do
    s = s + t:get("sent")
    a = a + t:get("accepted")
    r = r + t:get("rejected")
  end
  -- sent counts requests still in flight when wrk stopped: the server may
  -- finish those flows too.
  io.write(string.format("BENCH sent %d accepted %d rejected %d\n", s, a, r))
end
