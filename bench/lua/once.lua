-- Appended to put.lua when populating a bucket: exactly one PUT per URL. delay() lets a connection
-- send only while URLs remain (the others idle), and a thread whose requests have all been answered
-- says so on stdout (the harness then interrupts wrk, which would otherwise sleep out its -d) and
-- stops. request() cycles as in put.lua: wrk calls it once on the first thread to check the script
-- before sending anything, and the wrap-around sends the URL that check consumed. A PROGRESS line
-- every 500 answers lets the harness tell a stall (a request lost to a socket error) from slowness.
reserved, ok = 0, 0

function delay()
  if reserved < #paths then
    reserved = reserved + 1
    return 0
  end
  return 3600000
end

function response(status, headers, body)
  answered = answered + 1
  if status < 300 then ok = ok + 1 end
  if answered % 500 == 0 then
    io.write("PROGRESS\n")
    io.flush()
  end
  if answered == #paths then
    io.write(string.format("THREADDONE %d %d\n", ok, answered))
    io.flush()
    wrk.thread:stop()
  end
end
