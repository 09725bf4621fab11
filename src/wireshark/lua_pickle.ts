/**
 * The dissector's Lua unpickler: the same whitelist semantics as calcnet's
 * `src/pickle/decoder.ts`, for the opcodes protocols 2–5 use to write the
 * course's objects, with the same limits plus a work budget.
 *
 * @module
 */

/** Lua: the unpickler's values, whitelist and `Pickle.load`. */
export const LUA_PICKLE: string = String.raw`
-- ===================================================================== pickle

-- Values on the unpickler's stack: Lua strings (str), booleans, NONE, and
-- tables with a kind t: int, float, tuple, list, dict, global, instance
-- (attrs: name -> value), exception, assoc, random, uniform, complex.
local NONE = { t = "none" }
local ASSOCIATIVITY = { [0] = { t = "assoc", value = 0 }, [1] = { t = "assoc", value = 1 } }

local COURSE_CLASSES = {
  "Constant", "NamedConstant", "BinaryExpr", "UnaryExpr", "FunctionCallExpr",
  "BinaryOperator", "UnaryOperator", "Function", "Associativity",
}
local FUNCTION_GLOBALS = {
  { "_operator", "add" }, { "_operator", "sub" }, { "_operator", "mul" },
  { "_operator", "truediv" }, { "_operator", "mod" }, { "_operator", "pow" },
  { "_operator", "neg" }, { "_operator", "pos" },
  { "math", "sin" }, { "math", "cos" }, { "math", "tan" }, { "math", "sqrt" }, { "math", "log" },
  { "builtins", "max" }, { "builtins", "min" }, { "builtins", "pow" },
}
local EXCEPTION_MODULES = {
  ZeroDivisionError = "builtins", ValueError = "builtins", OverflowError = "builtins",
  TypeError = "builtins", CalculatorClientError = "api", CalculatorServerError = "api",
}

-- module -> name -> global: the only attributes a pickle may name.
local WHITELIST = {}

local function allow(modules, name, global)
  global.t = "global"
  for _, module in ipairs(modules) do
    WHITELIST[module] = WHITELIST[module] or {}
    WHITELIST[module][name] = global
  end
end

for _, name in ipairs(COURSE_CLASSES) do
  -- api.py does "from calculator import *": both names unpickle on the server.
  allow({ "calculator", "api" }, name, { role = "class", name = name, qualified = "calculator." .. name })
end
for _, pair in ipairs(FUNCTION_GLOBALS) do
  allow({ pair[1] }, pair[2], { role = "function", qualified = pair[1] .. "." .. pair[2] })
end
allow({ "builtins" }, "getattr", { role = "getattr", qualified = "builtins.getattr" })
allow({ "random" }, "Random", { role = "random", qualified = "random.Random" })
allow({ "builtins" }, "complex", { role = "complex", qualified = "builtins.complex" })
for name, module in pairs(EXCEPTION_MODULES) do
  allow({ module }, name, { role = "exception", name = name, qualified = module .. "." .. name })
end

-- A short Python-style name of what a value is, for messages.
local function describe(value)
  if value == NONE then return "None" end
  if type(value) == "boolean" then return "bool" end
  if type(value) == "string" then return "str" end
  local t = value.t
  if t == "global" then return value.qualified end
  if t == "instance" then return value.cls .. " object" end
  if t == "exception" then return value.type .. " object" end
  if t == "assoc" then return "Associativity member" end
  if t == "random" then return "random.Random object" end
  if t == "uniform" then return "bound method Random.uniform" end
  return t
end

-- Hostile names can hold anything: one short printable line.
local function printable(text)
  local clean = text:gsub("[^\32-\126]", "?")
  if #clean > 60 then clean = clean:sub(1, 60) .. "…" end
  return clean
end

local OPCODE_NAMES = {
  [0x28] = "MARK", [0x2e] = "STOP", [0x30] = "POP", [0x31] = "POP_MARK", [0x32] = "DUP",
  [0x46] = "FLOAT", [0x49] = "INT", [0x4a] = "BININT", [0x4b] = "BININT1", [0x4c] = "LONG",
  [0x4d] = "BININT2", [0x4e] = "NONE", [0x50] = "PERSID", [0x51] = "BINPERSID", [0x52] = "REDUCE",
  [0x53] = "STRING", [0x54] = "BINSTRING", [0x55] = "SHORT_BINSTRING", [0x56] = "UNICODE",
  [0x58] = "BINUNICODE", [0x61] = "APPEND", [0x62] = "BUILD", [0x63] = "GLOBAL", [0x64] = "DICT",
  [0x7d] = "EMPTY_DICT", [0x65] = "APPENDS", [0x67] = "GET", [0x68] = "BINGET", [0x69] = "INST",
  [0x6a] = "LONG_BINGET", [0x6c] = "LIST", [0x5d] = "EMPTY_LIST", [0x6f] = "OBJ", [0x70] = "PUT",
  [0x71] = "BINPUT", [0x72] = "LONG_BINPUT", [0x73] = "SETITEM", [0x74] = "TUPLE",
  [0x29] = "EMPTY_TUPLE", [0x75] = "SETITEMS", [0x47] = "BINFLOAT", [0x80] = "PROTO",
  [0x81] = "NEWOBJ", [0x82] = "EXT1", [0x83] = "EXT2", [0x84] = "EXT4", [0x85] = "TUPLE1",
  [0x86] = "TUPLE2", [0x87] = "TUPLE3", [0x88] = "NEWTRUE", [0x89] = "NEWFALSE", [0x8a] = "LONG1",
  [0x8b] = "LONG4", [0x42] = "BINBYTES", [0x43] = "SHORT_BINBYTES", [0x8c] = "SHORT_BINUNICODE",
  [0x8d] = "BINUNICODE8", [0x8e] = "BINBYTES8", [0x8f] = "EMPTY_SET", [0x90] = "ADDITEMS",
  [0x91] = "FROZENSET", [0x92] = "NEWOBJ_EX", [0x93] = "STACK_GLOBAL", [0x94] = "MEMOIZE",
  [0x95] = "FRAME", [0x96] = "BYTEARRAY8", [0x97] = "NEXT_BUFFER", [0x98] = "READONLY_BUFFER",
}

local function opcode_name(op)
  local hex = string.format("0x%02x", op)
  local name = OPCODE_NAMES[op]
  return name and (name .. " (" .. hex .. ")") or hex
end

local CONTAINERS = { tuple = true, list = true, dict = true, instance = true, exception = true }

local function depth_of(value)
  if type(value) == "table" and CONTAINERS[value.t] then return value.depth end
  return 0
end

local function new_dict()
  return { t = "dict", keys = {}, values = {}, index = {}, depth = 1 }
end

-- dict[key] = value, where id is the key's identity (see VM:key_id).
local function dict_set(dict, id, key, value)
  local at = dict.index[id]
  if at then
    dict.values[at] = value
    return
  end
  local n = #dict.keys + 1
  dict.keys[n], dict.values[n], dict.index[id] = key, value, n
end

-- The stack machine. Heights count values; a MARK remembers a height, and
-- pops may not go below the topmost one (the fence).
local VM = {}
VM.__index = VM

function VM.new(data, budget)
  return setmetatable({
    data = data, pos = 1, size = #data, stack = {}, top = 0, marks = {}, fence = 0,
    memo = {}, memo_count = 0, protocol = 0, pushes = 0, op_start = 0, budget = budget,
  }, VM)
end

function VM:fail(message)
  fail("pickle", message .. " (opcode at byte " .. self.op_start .. ")")
end

-- ------------------------------------------------------------------ input

function VM:need(count)
  if count > self.size - self.pos + 1 then self:fail("pickle data was truncated") end
end

function VM:u8()
  self:need(1)
  local byte = self.data:byte(self.pos)
  self.pos = self.pos + 1
  return byte
end

-- A little-endian unsigned int of count (at most 4) bytes.
function VM:uint(count)
  self:need(count)
  local value = 0
  for i = count - 1, 0, -1 do value = value * 256 + self.data:byte(self.pos + i) end
  self.pos = self.pos + count
  return value
end

function VM:i32()
  local value = self:uint(4)
  if value >= 2 ^ 31 then value = value - 2 ^ 32 end
  return value
end

-- An 8-byte size; anything past 2^32 is beyond any packet anyway.
function VM:u64()
  local low, high = self:uint(4), self:uint(4)
  return high == 0 and low or math.huge
end

function VM:bytes(count)
  self:need(count)
  local text = self.data:sub(self.pos, self.pos + count - 1)
  self.pos = self.pos + count
  return text
end

function VM:line()
  local at = self.data:find("\n", self.pos, true)
  if not at then self:fail("pickle data was truncated") end
  local text = self.data:sub(self.pos, at - 1)
  self.pos = at + 1
  return text
end

function VM:text(count)
  local text = self:bytes(count)
  self.budget:spend(math.floor(count / 64))
  if not Utf8.valid(text) then self:fail("str is not valid UTF-8") end
  return text
end

function VM:long(count)
  if count > LIMITS.max_int_bytes then
    self:fail("int of " .. count .. " bytes exceeds the limit of " .. LIMITS.max_int_bytes)
  end
  return Num.long(self:bytes(count))
end

-- ------------------------------------------------------------------ stack

function VM:push(value)
  self.pushes = self.pushes + 1
  if self.pushes > LIMITS.max_values then
    self:fail("pickle makes more than " .. LIMITS.max_values .. " values")
  end
  self.top = self.top + 1
  self.stack[self.top] = value
end

function VM:pop()
  local top = self.top
  if top <= self.fence then self:fail("unpickling stack underflow") end
  local value = self.stack[top]
  self.stack[top] = nil
  self.top = top - 1
  return value
end

function VM:peek()
  if self.top <= self.fence then self:fail("unpickling stack underflow") end
  return self.stack[self.top]
end

-- Removes the topmost MARK and returns the height it marked.
function VM:pop_mark()
  local marks = self.marks
  local n = #marks
  if n == 0 then self:fail("could not find MARK") end
  local mark = marks[n]
  marks[n] = nil
  self.fence = marks[n - 1] or 0
  return mark
end

function VM:truncate(height)
  for i = height + 1, self.top do self.stack[i] = nil end
  self.top = height
end

-- The values above height, taken off the stack.
function VM:take_above(height)
  local items = {}
  for i = height + 1, self.top do items[#items + 1] = self.stack[i] end
  self.budget:spend(#items)
  self:truncate(height)
  return items
end

-- ------------------------------------------------------------------ containers

function VM:nest(depth, child)
  local nested = math.max(depth, depth_of(child) + 1)
  if nested > LIMITS.max_container_depth then
    self:fail("objects nested deeper than " .. LIMITS.max_container_depth .. " levels")
  end
  return nested
end

function VM:tuple(items)
  local depth = 1
  for i = 1, #items do depth = self:nest(depth, items[i]) end
  return { t = "tuple", items = items, depth = depth }
end

function VM:list(items)
  local depth = 1
  for i = 1, #items do depth = self:nest(depth, items[i]) end
  return { t = "list", items = items, depth = depth }
end

-- What makes two dict keys one, as calcnet compares them: str, int and
-- float by value (NaN equal to NaN, 0.0 to -0.0), other objects by identity.
function VM:key_id(key)
  if type(key) == "string" then return "s" .. key end
  if type(key) == "boolean" then return key and "b1" or "b0" end
  if key == NONE then return "n" end
  local t = key.t
  if t == "int" then
    if key.small then return "i" .. string.format("%.0f", key.small) end
    return "I" .. (key.negative and "-" or "+") .. table.concat(key.magnitude, ",")
  end
  if t == "float" then
    local v = key.v
    if v ~= v then return "fnan" end
    if v == 0 then return "f0" end
    return "f" .. string.format("%.17g", v)
  end
  if t == "list" or t == "dict" then self:fail("unhashable dict key: " .. describe(key)) end
  return key
end

-- APPEND(S): the values above height go into the list at height.
function VM:appends(height)
  if height <= self.fence then self:fail("unpickling stack underflow") end
  local target = self.stack[height]
  if self.top > height then
    if not is(target, "list") then self:fail("cannot append to " .. describe(target)) end
    for i = height + 1, self.top do
      target.depth = self:nest(target.depth, self.stack[i])
      target.items[#target.items + 1] = self.stack[i]
    end
    self.budget:spend(self.top - height)
  end
  self:truncate(height)
end

-- SETITEM(S) and DICT: the keys and values above height go into target.
function VM:set_items(target, height)
  local top = self.top
  if top == height then return end
  if (top - height) % 2 ~= 0 then self:fail("odd number of items for SETITEMS") end
  if not is(target, "dict") then self:fail("cannot set items of " .. describe(target)) end
  for i = height + 1, top, 2 do
    local key, value = self.stack[i], self.stack[i + 1]
    local id = self:key_id(key)
    target.depth = self:nest(self:nest(target.depth, key), value)
    dict_set(target, id, key, value)
  end
  self.budget:spend(top - height)
  self:truncate(height)
end

-- ------------------------------------------------------------------ memo

function VM:memo_put(index)
  local value = self:peek()
  if self.memo[index] == nil then self.memo_count = self.memo_count + 1 end
  self.memo[index] = value
end

function VM:memo_get(index)
  local value = self.memo[index]
  if value == nil then self:fail("memo has nothing at index " .. index) end
  return value
end

-- ------------------------------------------------------------------ objects

function VM:resolve(module, name)
  local python3 = module
  -- Protocols 0-2 may name Python 2's modules; CPython maps them.
  if self.protocol < 3 and (module == "__builtin__" or module == "exceptions") then
    python3 = "builtins"
  end
  local global = WHITELIST[python3] and WHITELIST[python3][name]
  if not global or (module == "exceptions" and global.role ~= "exception") then
    self:fail("global " .. printable(module) .. "." .. printable(name) .. " is not allowed")
  end
  return global
end

function VM:exception(class, args)
  return { t = "exception", type = class.name, args = args.items, depth = self:nest(1, args) }
end

-- NEWOBJ: an instance of a course class (attributes follow in BUILD) or an exception.
function VM:new_object(class, args)
  if not is(args, "tuple") then self:fail("NEWOBJ expected an arg tuple") end
  if is(class, "global") then
    if class.role == "class" and class.name ~= "Associativity" then
      return { t = "instance", cls = class.name, attrs = {}, depth = 1 }
    end
    if class.role == "exception" then return self:exception(class, args) end
  end
  self:fail("cannot create " .. describe(class) .. " with NEWOBJ")
end

-- getattr(target, name): only Random.uniform and an Associativity member by name.
function VM:getattr(items)
  local target, name = items[1], items[2]
  if #items == 2 then
    if is(target, "random") and name == "uniform" then return { t = "uniform", random = target } end
    if is(target, "global") and target.role == "class" and target.name == "Associativity"
        and (name == "LEFT" or name == "RIGHT") then
      return ASSOCIATIVITY[name == "LEFT" and 0 or 1]
    end
  end
  self:fail("getattr is allowed only as getattr(<random.Random>, 'uniform')"
    .. " or getattr(Associativity, 'LEFT' or 'RIGHT')")
end

function VM:complex(items)
  local parts = {}
  for i, item in ipairs(items) do
    if is(item, "float") then parts[i] = item.v
    elseif is(item, "int") then parts[i] = Num.approximate(item)
    else parts = nil break end
  end
  if parts and #items <= 2 then return { t = "complex", real = parts[1] or 0, imag = parts[2] or 0 } end
  self:fail("complex() takes up to two numbers here")
end

-- REDUCE: callable(*args), for the few calls the whitelist allows; none runs.
function VM:reduce(callable, args)
  if not is(args, "tuple") then self:fail("REDUCE expected an argument tuple") end
  local items = args.items
  if is(callable, "global") then
    local role = callable.role
    if role == "exception" then return self:exception(callable, args) end
    if role == "class" and callable.name == "Associativity" then
      local value = items[1]
      if #items == 1 and is(value, "int") and (value.small == 0 or value.small == 1) then
        return ASSOCIATIVITY[value.small]
      end
      self:fail("Associativity takes 0 (LEFT) or 1 (RIGHT)")
    end
    if role == "random" then
      if #items == 0 then return { t = "random" } end
      self:fail("random.Random() takes no arguments here")
    end
    if role == "getattr" then return self:getattr(items) end
    if role == "complex" then return self:complex(items) end
  end
  self:fail("calling " .. describe(callable) .. " is not allowed")
end

-- One part of an instance's state: a dict of attributes, or None.
function VM:set_attributes(target, part)
  if part == NONE then return end
  if not is(part, "dict") then self:fail("object state is " .. describe(part) .. ", not a dict") end
  for i = 1, #part.keys do
    if type(part.keys[i]) ~= "string" then self:fail("attribute name is not a str") end
  end
  local attrs = target.attrs
  for i = 1, #part.keys do
    target.depth = self:nest(target.depth, part.values[i])
    attrs[part.keys[i]] = part.values[i]
  end
  self.budget:spend(#part.keys)
end

local function is_word(value)
  if not is(value, "int") then return false end
  if value.small then return value.small >= 0 end
  return not value.negative and #value.magnitude <= 8
end

-- Random.setstate((3, 624 words + (index,), gauss)), checked as CPython does.
function VM:random_state(state)
  if not is(state, "tuple") or #state.items ~= 3 then self:fail("random state is not a 3-tuple") end
  local version, internal, gauss = state.items[1], state.items[2], state.items[3]
  if not is(version, "int") or version.small ~= 3 then self:fail("random state version is not 3") end
  if not is(internal, "tuple") then self:fail("random state is not a tuple") end
  if #internal.items ~= 625 then self:fail("random state has the wrong size") end
  for i = 1, 624 do
    if not is_word(internal.items[i]) then self:fail("random state word is not an unsigned int") end
  end
  local index = internal.items[625]
  if not is(index, "int") or not index.small or index.small < 0 or index.small > 624 then
    self:fail("random state index is invalid")
  end
  if gauss ~= NONE and not is(gauss, "float") then
    self:fail("random state gauss value is not a float or None")
  end
  return index.small
end

-- BUILD: an instance's attributes, a Random's state, an exception's (ignored) state.
function VM:build(target, state)
  if is(target, "instance") then
    if is(state, "tuple") and #state.items == 2 then
      self:set_attributes(target, state.items[1])
      self:set_attributes(target, state.items[2])
    else
      self:set_attributes(target, state)
    end
  elseif is(target, "random") then
    target.state = self:random_state(state)
  elseif is(target, "exception") then
    if state ~= NONE and not is(state, "dict") then self:fail("exception state is not a dict") end
  else
    self:fail("cannot BUILD " .. describe(target))
  end
end

-- ------------------------------------------------------------------ opcodes

local OPS = {}

OPS[0x80] = function(vm) -- PROTO
  local protocol = vm:u8()
  if protocol > 5 then vm:fail("unsupported pickle protocol: " .. protocol) end
  vm.protocol = protocol
end
OPS[0x95] = function(vm) vm:need(vm:u64()) end -- FRAME: its bytes must be there
OPS[0x4e] = function(vm) vm:push(NONE) end
OPS[0x88] = function(vm) vm:push(true) end
OPS[0x89] = function(vm) vm:push(false) end
OPS[0x4b] = function(vm) vm:push(Num.int(vm:u8())) end -- BININT1
OPS[0x4d] = function(vm) vm:push(Num.int(vm:uint(2))) end -- BININT2
OPS[0x4a] = function(vm) vm:push(Num.int(vm:i32())) end -- BININT
OPS[0x8a] = function(vm) vm:push(vm:long(vm:u8())) end -- LONG1
OPS[0x8b] = function(vm) -- LONG4
  local size = vm:i32()
  if size < 0 then vm:fail("LONG pickle has negative byte count") end
  vm:push(vm:long(size))
end
OPS[0x47] = function(vm) vm:push(Num.float(Num.double(vm:bytes(8)))) end -- BINFLOAT
OPS[0x8c] = function(vm) vm:push(vm:text(vm:u8())) end -- SHORT_BINUNICODE
OPS[0x58] = function(vm) vm:push(vm:text(vm:uint(4))) end -- BINUNICODE
OPS[0x8d] = function(vm) vm:push(vm:text(vm:u64())) end -- BINUNICODE8
OPS[0x29] = function(vm) vm:push(vm:tuple({})) end -- EMPTY_TUPLE
OPS[0x85] = function(vm) -- TUPLE1
  local first = vm:pop()
  vm:push(vm:tuple({ first }))
end
OPS[0x86] = function(vm) -- TUPLE2
  local second = vm:pop()
  local first = vm:pop()
  vm:push(vm:tuple({ first, second }))
end
OPS[0x87] = function(vm) -- TUPLE3
  local third = vm:pop()
  local second = vm:pop()
  local first = vm:pop()
  vm:push(vm:tuple({ first, second, third }))
end
OPS[0x74] = function(vm) vm:push(vm:tuple(vm:take_above(vm:pop_mark()))) end -- TUPLE
OPS[0x5d] = function(vm) vm:push(vm:list({})) end -- EMPTY_LIST
OPS[0x6c] = function(vm) vm:push(vm:list(vm:take_above(vm:pop_mark()))) end -- LIST
OPS[0x61] = function(vm) -- APPEND
  local item = vm:pop()
  local target = vm:peek()
  if not is(target, "list") then vm:fail("cannot append to " .. describe(target)) end
  target.depth = vm:nest(target.depth, item)
  target.items[#target.items + 1] = item
end
OPS[0x65] = function(vm) vm:appends(vm:pop_mark()) end -- APPENDS
OPS[0x7d] = function(vm) vm:push(new_dict()) end -- EMPTY_DICT
OPS[0x64] = function(vm) -- DICT
  local dict = new_dict()
  vm:set_items(dict, vm:pop_mark())
  vm:push(dict)
end
OPS[0x73] = function(vm) -- SETITEM
  local height = vm.top - 2
  if height <= vm.fence then vm:fail("unpickling stack underflow") end
  vm:set_items(vm.stack[height], height)
end
OPS[0x75] = function(vm) -- SETITEMS
  local height = vm:pop_mark()
  if height <= vm.fence then vm:fail("unpickling stack underflow") end
  vm:set_items(vm.stack[height], height)
end
OPS[0x28] = function(vm) -- MARK
  vm.marks[#vm.marks + 1] = vm.top
  vm.fence = vm.top
end
OPS[0x30] = function(vm) -- POP: right after a MARK it drops the mark, as CPython's
  if #vm.marks > 0 and vm.fence == vm.top then vm:pop_mark() else vm:pop() end
end
OPS[0x31] = function(vm) vm:truncate(vm:pop_mark()) end -- POP_MARK
OPS[0x32] = function(vm) vm:push(vm:peek()) end -- DUP
OPS[0x68] = function(vm) vm:push(vm:memo_get(vm:u8())) end -- BINGET
OPS[0x6a] = function(vm) vm:push(vm:memo_get(vm:uint(4))) end -- LONG_BINGET
OPS[0x71] = function(vm) vm:memo_put(vm:u8()) end -- BINPUT
OPS[0x72] = function(vm) vm:memo_put(vm:uint(4)) end -- LONG_BINPUT
OPS[0x94] = function(vm) vm:memo_put(vm.memo_count) end -- MEMOIZE
OPS[0x93] = function(vm) -- STACK_GLOBAL
  local name = vm:pop()
  local module = vm:pop()
  if type(module) ~= "string" or type(name) ~= "string" then vm:fail("STACK_GLOBAL requires str") end
  vm:push(vm:resolve(module, name))
end
OPS[0x63] = function(vm) -- GLOBAL
  local module = vm:line()
  local name = vm:line()
  vm:push(vm:resolve(module, name))
end
OPS[0x81] = function(vm) -- NEWOBJ
  local args = vm:pop()
  local class = vm:pop()
  vm:push(vm:new_object(class, args))
end
OPS[0x92] = function(vm) -- NEWOBJ_EX
  local kwargs = vm:pop()
  local args = vm:pop()
  if not is(kwargs, "dict") then vm:fail("NEWOBJ_EX kwargs is not a dict") end
  local class = vm:pop()
  vm:push(vm:new_object(class, args))
end
OPS[0x52] = function(vm) -- REDUCE
  local args = vm:pop()
  local callable = vm:pop()
  vm:push(vm:reduce(callable, args))
end
OPS[0x62] = function(vm) -- BUILD
  local state = vm:pop()
  vm:build(vm:peek(), state)
end

local Pickle = {}

-- Unpickles data (a Lua string): returns the object and the protocol.
-- Fails ("pickle") on anything but a complete pickle of allowed objects.
function Pickle.load(data, budget)
  local vm = VM.new(data, budget)
  while true do
    if vm.pos > vm.size then vm:fail("pickle data was truncated") end
    vm.op_start = vm.pos - 1
    local op = data:byte(vm.pos)
    vm.pos = vm.pos + 1
    budget:spend(1)
    if op == 0x2e then return vm:pop(), vm.protocol end -- STOP; what follows is ignored
    local handler = OPS[op]
    if not handler then vm:fail("unsupported opcode " .. opcode_name(op)) end
    handler(vm)
  end
end
`;
