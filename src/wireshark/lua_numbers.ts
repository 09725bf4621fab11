/**
 * The dissector's Lua for Python numbers: ints of any size (Lua has only
 * doubles, so a large int keeps its bytes and is turned into decimal digits
 * when shown) and floats printed as Python's `repr` prints them.
 *
 * @module
 */

/** Lua: `Num`. */
export const LUA_NUMBERS: string = String.raw`
-- ===================================================================== numbers

local Num = {}

local LIMB = 1e7                 -- decimal digits are made in limbs of 7
local SMALL_LONG_BYTES = 6       -- a LONG body this short is exact in a double
local FLOAT_DIGITS = 17          -- enough digits for any double to read back
local LIMBS_PER_UNIT = 8         -- limb steps are cheap: eight make one unit of work

-- A Python int small enough to be exact in a double.
function Num.int(value)
  return { t = "int", small = value }
end

function Num.float(value)
  return { t = "float", v = value }
end

-- A LONG1/LONG4 body (little-endian two's complement). Redundant sign bytes
-- are dropped first, so that every value has one form: small ints become
-- exact doubles, the others keep their magnitude's bytes.
function Num.long(body)
  local n = #body
  if n == 0 then return Num.int(0) end
  local bytes = {}
  for i = 1, n do bytes[i] = body:byte(i) end
  local negative = bytes[n] >= 0x80
  local fill = negative and 0xff or 0x00
  while n > 1 and bytes[n] == fill and (bytes[n - 1] >= 0x80) == negative do n = n - 1 end
  if n <= SMALL_LONG_BYTES then
    local value = 0
    for i = n, 1, -1 do value = value * 256 + bytes[i] end
    if negative then value = value - 256 ^ n end
    return Num.int(value)
  end
  local magnitude, carry = {}, negative and 1 or 0
  for i = 1, n do
    local byte = (negative and 255 - bytes[i] or bytes[i]) + carry
    carry = byte == 256 and 1 or 0
    magnitude[i] = byte % 256
  end
  while #magnitude > 1 and magnitude[#magnitude] == 0 do magnitude[#magnitude] = nil end
  return { t = "int", negative = negative, magnitude = magnitude }
end

-- An int's approximate value as a double (inf when out of range).
function Num.approximate(value)
  if value.small then return value.small end
  local result = 0
  for i = #value.magnitude, 1, -1 do result = result * 256 + value.magnitude[i] end
  return value.negative and -result or result
end

-- An int in decimal, as Python prints it. Large ones are converted three
-- bytes at a time into base-10^7 limbs (exact: a limb times 2^24 stays far
-- below 2^53); the work is charged to the budget and the text cached.
function Num.int_text(value, budget)
  if value.small then return string.format("%.0f", value.small) end
  if value.text then return value.text end
  local magnitude, limbs = value.magnitude, { 0 }
  local i = #magnitude
  while i >= 1 do
    local take = (i - 1) % 3 + 1
    local chunk, scale = 0, 1
    for k = i, i - take + 1, -1 do
      chunk, scale = chunk * 256 + magnitude[k], scale * 256
    end
    i = i - take
    local carry = chunk
    for j = 1, #limbs do
      local x = limbs[j] * scale + carry
      carry = math.floor(x / LIMB)
      limbs[j] = x - carry * LIMB
    end
    while carry > 0 do
      limbs[#limbs + 1] = carry % LIMB
      carry = math.floor(carry / LIMB)
    end
    if budget then budget:spend(#limbs / LIMBS_PER_UNIT) end
  end
  local parts = { value.negative and "-" or "", string.format("%.0f", limbs[#limbs]) }
  for j = #limbs - 1, 1, -1 do parts[#parts + 1] = string.format("%07.0f", limbs[j]) end
  value.text = table.concat(parts)
  return value.text
end

-- A BINFLOAT's 8 bytes (big-endian IEEE 754) as a double, exactly.
function Num.double(bytes)
  local b1, b2 = bytes:byte(1, 2)
  local sign = b1 >= 0x80 and -1 or 1
  local exponent = (b1 % 0x80) * 16 + math.floor(b2 / 16)
  local mantissa = b2 % 16
  for i = 3, 8 do mantissa = mantissa * 256 + bytes:byte(i) end
  if exponent == 0x7ff then
    if mantissa == 0 then return sign * math.huge end
    return 0 / 0
  end
  if exponent == 0 then return sign * mantissa * 2 ^ -1074 end
  return sign * (mantissa + 2 ^ 52) * 2 ^ (exponent - 1075)
end

-- x (finite, > 0) with p significant digits, correctly rounded: the digits
-- and the decimal exponent of the first one. Any decimal point the C
-- library writes (the locale's) is skipped.
local function round_to(x, p)
  local text = string.format("%." .. (p - 1) .. "e", x)
  local lead, rest, exponent = text:match("^(%d)[^%de]*(%d*)e([-+]%d+)$")
  return lead .. rest, tonumber(exponent)
end

local function reads_back(digits, exponent, x)
  local text = digits:sub(1, 1) .. "." .. digits:sub(2) .. "e" .. exponent
  if #digits == 1 then text = digits .. "e" .. exponent end
  return tonumber(text) == x
end

-- digits (p of them) plus delta (1 or -1) in the last place, still p digits.
local function step(digits, exponent, delta)
  local d = {}
  for i = 1, #digits do d[i] = digits:byte(i) - 48 end
  local i = #d
  d[i] = d[i] + delta
  while i > 1 and (d[i] < 0 or d[i] > 9) do
    local carry = d[i] < 0 and -1 or 1
    d[i] = d[i] - 10 * carry
    d[i - 1] = d[i - 1] + carry
    i = i - 1
  end
  if d[1] > 9 then        -- 99..9 + 1: 10..0, one digit more, so one place up
    d[1] = 0
    table.insert(d, 1, 1)
    d[#d] = nil
    exponent = exponent + 1
  elseif d[1] == 0 then   -- 10..0 - 1: 9..9 one place down
    table.remove(d, 1)
    d[#d + 1] = 9
    exponent = exponent - 1
  end
  return table.concat(d), exponent
end

-- Python's repr digits (David Gay's shortest mode): the fewest digits that
-- read back as x, and of those the closest to x. The closest p-digit
-- number is tried first; when it does not read back, only its neighbour on
-- the other side of x can (x's rounding interval is narrower below a power
-- of two than above it).
local function shortest(x)
  for p = 1, FLOAT_DIGITS do
    local digits, exponent = round_to(x, p)
    if reads_back(digits, exponent, x) then return digits, exponent end
    for _, delta in ipairs({ 1, -1 }) do
      local other, other_exponent = step(digits, exponent, delta)
      if reads_back(other, other_exponent, x) then return other, other_exponent end
    end
  end
  return round_to(x, FLOAT_DIGITS)
end

-- A float as Python's repr prints it: "3.0", "0.1", "1e+20", "9.9e-08",
-- "inf", "nan"; exponent form when the exponent is below -4 or at least 16.
function Num.float_text(x)
  if x ~= x then return "nan" end
  if x == math.huge then return "inf" end
  if x == -math.huge then return "-inf" end
  if x == 0 then return 1 / x < 0 and "-0.0" or "0.0" end
  local sign = x < 0 and "-" or ""
  local digits, exponent = shortest(math.abs(x))
  digits = digits:match("^(%d-)0*$")
  if exponent < -4 or exponent >= 16 then
    local mantissa = #digits == 1 and digits or digits:sub(1, 1) .. "." .. digits:sub(2)
    return string.format("%s%se%s%02d", sign, mantissa, exponent < 0 and "-" or "+", math.abs(exponent))
  end
  if exponent < 0 then return sign .. "0." .. string.rep("0", -exponent - 1) .. digits end
  if #digits <= exponent + 1 then
    return sign .. digits .. string.rep("0", exponent + 1 - #digits) .. ".0"
  end
  return sign .. digits:sub(1, exponent + 1) .. "." .. digits:sub(exponent + 2)
end

-- A number (int, float or bool) as Python prints it.
function Num.text(value, budget)
  if type(value) == "boolean" then return value and "True" or "False" end
  if value.t == "float" then return Num.float_text(value.v) end
  return Num.int_text(value, budget)
end

-- Python's type name of a number.
function Num.type_name(value)
  if type(value) == "boolean" then return "bool" end
  return value.t
end
`;
