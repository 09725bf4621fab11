/**
 * The first part of the dissector's Lua: what it is, its limits, how it
 * fails on purpose, its work budget and its UTF-8 check.
 *
 * @module
 */

/** Lua: the file header, `LIMITS`, `fail`, `Budget`, `Utf8`, `is`. */
export const LUA_PRELUDE: string = String.raw`
-- calcnet.lua: a Wireshark dissector for the course's calculator protocol
-- (a 12-byte header and a Python pickle over TCP), as written by
-- "calcnet wireshark print". For Wireshark 4.0 or later (tested with tshark
-- 4.0 and its Lua 5.2); bit operations use Wireshark's "bit" library.
--
-- Install: "calcnet wireshark install" (or copy this file into Wireshark's
-- personal Lua plugins folder), or run "tshark -X lua_script:calcnet.lua".
-- Filter names start with "calcnet."; docs/WIRESHARK.md describes each one.
--
-- Safety: the pickle is read by a small stack machine that only builds the
-- objects the course's programs exchange, through a whitelist of globals. It
-- never imports or calls anything, and its work, depth and sizes are bounded,
-- so a hostile capture ends in an expert info, never in a hang or a Lua error.

local LIMITS = {
  max_depth = 1000,            -- deepest expression, as calcnet's decoder
  max_nodes = 100000,          -- expression nodes, a shared sub-tree counted per use
  max_values = 1000000,        -- values one pickle may push
  max_int_bytes = 4096,        -- largest LONG1/LONG4 int
  max_exception_depth = 100,   -- exceptions nested in exceptions
  max_work = 2000000,          -- work units (opcodes, items copied, 8 digit limbs made) per message
  max_text = 65536,            -- longest expression text shown; longer is cut with "…"
}
-- One expression level takes at most two container levels (a call and its list).
LIMITS.max_container_depth = 2 * LIMITS.max_depth + 8

local HEADER_SIZE = 12
local TRUNCATION_MARK = "…"

-- A failure raised on purpose: kind is "pickle" (not a pickle calcnet reads),
-- "expression" (a pickle, but not an expression) or "complex" (a complex
-- result). Anything else caught is a bug of this file, shown as such.
local Failure = {}

local function fail(kind, message)
  error(setmetatable({ kind = kind, message = message }, Failure), 0)
end

local function is_failure(value)
  return getmetatable(value) == Failure
end

-- The work one message may take, so that no capture can hang Wireshark.
local Budget = {}
Budget.__index = Budget

function Budget.new(units)
  return setmetatable({ left = units }, Budget)
end

function Budget:spend(units)
  self.left = self.left - units
  if self.left < 0 then
    fail("pickle", "decoding takes more work than the dissector allows")
  end
end

-- UTF-8 as CPython's pickle reads a str: strict, except that encoded
-- surrogates pass ("surrogatepass").
local Utf8 = {}

function Utf8.valid(text)
  if not text:find("[\128-\255]") then return true end
  local i, n = 1, #text
  while i <= n do
    local lead = text:byte(i)
    local size, code, min
    if lead < 0x80 then size, code, min = 1, lead, 0
    elseif lead >= 0xc2 and lead < 0xe0 then size, code, min = 2, lead - 0xc0, 0x80
    elseif lead >= 0xe0 and lead < 0xf0 then size, code, min = 3, lead - 0xe0, 0x800
    elseif lead >= 0xf0 and lead < 0xf5 then size, code, min = 4, lead - 0xf0, 0x10000
    else return false end
    if i + size - 1 > n then return false end
    for k = 1, size - 1 do
      local next_byte = text:byte(i + k)
      if next_byte < 0x80 or next_byte >= 0xc0 then return false end
      code = code * 64 + (next_byte - 0x80)
    end
    if code < min or code > 0x10ffff then return false end
    i = i + size
  end
  return true
end

-- The text with every encoded surrogate (valid for Python, not for
-- Wireshark's strings) replaced by U+FFFD.
function Utf8.displayable(text)
  return (text:gsub("\237[\160-\191][\128-\191]", "\239\191\189"))
end

-- Whether value is one of the unpickler's tables of kind t.
local function is(value, t)
  return type(value) == "table" and value.t == t
end
`;
