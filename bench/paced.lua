-- wrk script: like post.lua, but each connection pauses PACE_MS between requests, so the
-- offered load stays below both servers' capacity and latency is the server's own.
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
wrk.headers["Content-Type"] = "application/json"
f:close()
local pace = tonumber(os.getenv("PACE_MS") or "2")
function delay()
  return pace
end
