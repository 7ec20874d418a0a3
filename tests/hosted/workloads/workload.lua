-- tests/hosted/workloads/workload.lua: allocation-heavy Lua whose output does not depend on the
-- allocator (no addresses, no collectgarbage("count")). Run as: lua5.4 workload.lua [scale]
local scale = tonumber(arg and arg[1]) or 1

-- Strings: building, concatenation, patterns.
local parts = {}
for i = 1, 60000 * scale do
  parts[#parts + 1] = string.format("%05d:%s", i % 99991, string.rep("k", i % 23))
end
local text = table.concat(parts, ",")
local vowels = select(2, text:gsub("[0-9]+", ""))
print("text", #text, vowels)

-- Tables: a map from strings, sorting, removal.
local counts = {}
for word in text:gmatch("[^,]+") do
  local key = word:sub(1, 3)
  counts[key] = (counts[key] or 0) + 1
end
local keys = {}
for key in pairs(counts) do keys[#keys + 1] = key end
table.sort(keys)
print("keys", #keys, keys[1], keys[#keys], counts[keys[1]])

-- Many short-lived tables and closures: work for the garbage collector.
local function make_counter(start)
  local n = start
  return function() n = n + 1; return n end
end
local total = 0
for i = 1, 200000 * scale do
  local point = {x = i, y = i * 2, tag = "p" .. (i % 100)}
  local counter = make_counter(point.x)
  total = total + counter() + #point.tag
end
print("total", total)

-- Growing and shrinking arrays (realloc of the array part).
local big = {}
for i = 1, 300000 * scale do big[i] = i * 3 end
for i = #big, 1, -2 do table.remove(big) end
local sum = 0
for _, v in ipairs(big) do sum = sum + v end
print("big", #big, sum)

-- Coroutines.
local producer = coroutine.wrap(function()
  for i = 1, 20000 * scale do coroutine.yield(tostring(i)) end
end)
local length = 0
for _ = 1, 20000 * scale do length = length + #producer() end
print("coroutines", length)
