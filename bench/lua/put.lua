-- PUT a body to presigned URLs ("path?query" lines of a file), cycling over them; each thread takes
-- its own share of the list. args: URL-list file, body size in bytes, number of wrk threads.
local next_id = 1
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local nthreads = tonumber(args[3])
  paths = {}
  local i = 0
  for line in io.lines(args[1]) do
    if i % nthreads == id - 1 then paths[#paths + 1] = line end
    i = i + 1
  end
  body = string.rep("b", tonumber(args[2]))
  headers = {["Content-Type"] = "application/octet-stream"}
  sent, answered = 0, 0
end

function request()
  local i = sent % #paths + 1
  sent = sent + 1
  return wrk.format("PUT", paths[i], headers, body)
end
