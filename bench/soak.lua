-- wrk script for bench/soak.py: post.lua's request (BODY_FILE, binary tensors when
-- HEADER_LENGTH is set), each connection pausing PACE_MS between requests, and answers
-- counted by status: 200, 503 (documented load shedding) and anything else, printed by
-- done() as one line "statuses <200> <503> <other>".
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "post.lua")
local pace = tonumber(os.getenv("PACE_MS") or "10")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok, shed, other = 0, 0, 0
end

function delay()
  return pace
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
  elseif status == 503 then
    shed = shed + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local o, s, x = 0, 0, 0
  for _, t in ipairs(threads) do
    o = o + t:get("ok")
    s = s + t:get("shed")
    x = x + t:get("other")
  end
  io.write(string.format("statuses %d %d %d\n", o, s, x))
end
