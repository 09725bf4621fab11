/**
 * The dissector's Lua for what the unpickled objects mean: an expression
 * tree checked as calcnet's `src/pickle/expr_decoder.ts` checks it and
 * printed as `src/calc/expr_text.ts` prints it; a response read as
 * `src/pickle/response_decoder.ts` reads it; exceptions as Python prints them.
 *
 * @module
 */

/** Lua: `Course` (read_expression, expression_text, read_response, exception_str/repr). */
export const LUA_COURSE: string = String.raw`
-- ===================================================================== course objects

local Course = {}

local EXPRESSION_CLASSES = {
  Constant = true, NamedConstant = true, BinaryExpr = true, UnaryExpr = true, FunctionCallExpr = true,
}
local NAMED_CONSTANTS = { PI = true, TAU = true, E = true }
local BINARY_OPERATORS = {
  ["+"] = { fn = "_operator.add", assoc = 0 }, ["-"] = { fn = "_operator.sub", assoc = 0 },
  ["*"] = { fn = "_operator.mul", assoc = 0 }, ["/"] = { fn = "_operator.truediv", assoc = 0 },
  ["%"] = { fn = "_operator.mod", assoc = 0 }, ["**"] = { fn = "_operator.pow", assoc = 1 },
}
local UNARY_OPERATORS = { ["-"] = "_operator.neg", ["+"] = "_operator.pos" }
-- rand is a bound method, not a global.
local FUNCTIONS = {
  sin = "math.sin", cos = "math.cos", tan = "math.tan", sqrt = "math.sqrt", log = "math.log",
  max = "builtins.max", min = "builtins.min", pow = "builtins.pow", rand = false,
}

local function not_expression(message)
  fail("expression", message)
end

local function is_expression(value)
  return is(value, "instance") and EXPRESSION_CLASSES[value.cls] == true
end

local function attribute(node, name)
  local value = node.attrs[name]
  if value == nil then not_expression(node.cls .. " object has no attribute '" .. name .. "'") end
  return value
end

local function instance_of(value, class, where)
  if not is(value, "instance") or value.cls ~= class then
    not_expression(where .. " is " .. describe(value) .. ", not a " .. class)
  end
  return value
end

local function check_global(value, expected, what)
  if not is(value, "global") or value.qualified ~= expected then
    not_expression(what .. " has function " .. describe(value) .. ", not " .. expected)
  end
end

local function is_number(value)
  return is(value, "int") or is(value, "float") or type(value) == "boolean"
end

local function binary_operator(value)
  local operator = instance_of(value, "BinaryOperator", "BinaryExpr.operator")
  local symbol = attribute(operator, "symbol")
  local known = type(symbol) == "string" and BINARY_OPERATORS[symbol]
  if not known then not_expression("BinaryOperator.symbol is not one of + - * / % **") end
  check_global(attribute(operator, "function"), known.fn, "operator " .. symbol)
  local associativity = attribute(operator, "associativity")
  if not is(associativity, "assoc") or associativity.value ~= known.assoc then
    not_expression("operator " .. symbol .. " must be "
      .. (known.assoc == 1 and "right" or "left") .. "-associative")
  end
  return symbol
end

local function unary_operator(value)
  local operator = instance_of(value, "UnaryOperator", "UnaryExpr.operator")
  local symbol = attribute(operator, "symbol")
  if symbol ~= "-" and symbol ~= "+" then not_expression("UnaryOperator.symbol is not - or +") end
  check_global(attribute(operator, "function"), UNARY_OPERATORS[symbol], "unary " .. symbol)
  return symbol
end

-- A Function's name; rand must be getattr(<random.Random with a state>, 'uniform').
local function function_name(value)
  local fn = instance_of(value, "Function", "FunctionCallExpr.function")
  local name = attribute(fn, "name")
  if type(name) ~= "string" or FUNCTIONS[name] == nil then
    not_expression("Function.name is not one of the course's functions")
  end
  local implementation = attribute(fn, "function")
  if name == "rand" then
    if not is(implementation, "uniform") then
      not_expression("rand's function is not random.Random.uniform")
    end
    if implementation.random.state == nil then
      fail("pickle", "rand's random.Random comes without a state")
    end
  else
    check_global(implementation, FUNCTIONS[name], "function " .. name)
  end
  return name
end

local function too_deep()
  fail("pickle", "expression nested deeper than " .. LIMITS.max_depth .. " levels")
end

-- Converts the unpickled objects into expression nodes, each object once:
-- { k = "const", value } | { k = "named", name } | { k = "binary", op, left, right }
-- | { k = "unary", op, operand } | { k = "call", name, args }.
local Reader = {}
Reader.__index = Reader

local IN_PROGRESS = {}

-- One child of frame at depth: its node, counted again when shared.
function Reader:child(value, depth, label, frame)
  if not is_expression(value) then
    not_expression(label .. " is " .. describe(value) .. ", not an expression")
  end
  local done = self.done[value]
  if done == nil or done == IN_PROGRESS then
    if depth > LIMITS.max_depth then too_deep() end
    if done == IN_PROGRESS then fail("pickle", "the expression contains itself") end
    done = self:convert(value, depth)
  elseif depth + done.height - 1 > LIMITS.max_depth then
    too_deep()
  end
  frame.size = frame.size + done.size
  frame.height = math.max(frame.height, done.height + 1)
  if frame.size > LIMITS.max_nodes then
    fail("pickle", "expression of more than " .. LIMITS.max_nodes .. " nodes")
  end
  return done.node
end

function Reader:convert(object, depth)
  self.done[object] = IN_PROGRESS
  self.budget:spend(1)
  local frame = { size = 1, height = 1 }
  local class = object.cls
  if class == "Constant" then
    local value = attribute(object, "value")
    if not is_number(value) then
      not_expression("Constant.value is " .. describe(value) .. ", not a number")
    end
    frame.node = { k = "const", value = value }
  elseif class == "NamedConstant" then
    local name, value = attribute(object, "name"), attribute(object, "value")
    if type(name) ~= "string" or not NAMED_CONSTANTS[name] then
      not_expression("NamedConstant.name is not PI, TAU or E")
    end
    if not is(value, "float") then
      not_expression("NamedConstant.value is " .. describe(value) .. ", not a float")
    end
    frame.node = { k = "named", name = name, value = value }
  elseif class == "BinaryExpr" then
    local left = attribute(object, "left_operand")
    local op = binary_operator(attribute(object, "operator"))
    local right = attribute(object, "right_operand")
    frame.node = { k = "binary", op = op }
    frame.node.left = self:child(left, depth + 1, "BinaryExpr.left_operand", frame)
    frame.node.right = self:child(right, depth + 1, "BinaryExpr.right_operand", frame)
  elseif class == "UnaryExpr" then
    local op = unary_operator(attribute(object, "operator"))
    local operand = attribute(object, "operand")
    frame.node = { k = "unary", op = op }
    frame.node.operand = self:child(operand, depth + 1, "UnaryExpr.operand", frame)
  else
    local name = function_name(attribute(object, "function"))
    local args = attribute(object, "args")
    -- Python iterates over args: a tuple serves as well as the course's list.
    if not is(args, "list") and not is(args, "tuple") then
      not_expression("FunctionCallExpr.args is " .. describe(args) .. ", not a list")
    end
    frame.node = { k = "call", name = name, args = {} }
    for i, arg in ipairs(args.items) do
      frame.node.args[i] = self:child(arg, depth + 1, "an argument of " .. name .. "()", frame)
    end
  end
  self.done[object] = frame
  return frame
end

-- The expression a request carries: its root node and its node count.
function Course.read_expression(root, budget)
  if not is_expression(root) then
    not_expression("the pickled object is " .. describe(root) .. ", not an expression")
  end
  local reader = setmetatable({ done = {}, budget = budget }, Reader)
  local frame = reader:convert(root, 1)
  return frame.node, frame.size
end

-- ------------------------------------------------------------------ infix text

-- Python's precedence levels (see src/calc/expr_text.ts for the rule).
local SUM, TERM, FACTOR, POWER, ATOM = 1, 2, 3, 4, 5
local BINARY_LEVEL = { ["+"] = SUM, ["-"] = SUM, ["*"] = TERM, ["/"] = TERM, ["%"] = TERM, ["**"] = POWER }

local Writer = {}
Writer.__index = Writer

function Writer:put(piece)
  self.pieces[#self.pieces + 1] = piece
  self.length = self.length + #piece
  if self.length > LIMITS.max_text then error(self, 0) end
end

function Writer:level(node)
  local k = node.k
  if k == "const" then
    return Num.text(node.value, self.budget):sub(1, 1) == "-" and FACTOR or ATOM
  end
  if k == "named" or k == "call" then return ATOM end
  if k == "unary" then return FACTOR end
  return BINARY_LEVEL[node.op]
end

function Writer:operand(node, bracketed)
  if bracketed then self:put("(") end
  self:write(node)
  if bracketed then self:put(")") end
end

function Writer:write(node)
  local k = node.k
  if k == "const" then
    self:put(Num.text(node.value, self.budget))
  elseif k == "named" then
    self:put(node.name)
  elseif k == "unary" then
    local operand = node.operand
    local numeric = operand.k == "const" and type(operand.value) ~= "boolean"
    self:put(node.op)
    self:operand(operand, self:level(operand) ~= ATOM or (node.op == "-" and numeric))
  elseif k == "binary" then
    local own, left, right = BINARY_LEVEL[node.op], self:level(node.left), self:level(node.right)
    local power = node.op == "**"
    self:operand(node.left, (power and left <= POWER) or (not power and left < own))
    self:put(" " .. node.op .. " ")
    self:operand(node.right, (power and right < FACTOR) or (not power and right <= own))
  else
    self:put(node.name .. "(")
    for i, arg in ipairs(node.args) do
      if i > 1 then self:put(", ") end
      self:write(arg)
    end
    self:put(")")
  end
end

-- The expression as a person types it for calcnet's client; a text longer
-- than LIMITS.max_text is cut there and ends with "…" (second result true).
function Course.expression_text(node, budget)
  local writer = setmetatable({ pieces = {}, length = 0, budget = budget }, Writer)
  local ok, err = pcall(writer.write, writer, node)
  if ok then return table.concat(writer.pieces), false end
  if err ~= writer then error(err, 0) end
  return table.concat(writer.pieces):sub(1, LIMITS.max_text) .. TRUNCATION_MARK, true
end

-- ------------------------------------------------------------------ responses

local function read_exception(exception, depth)
  if depth > LIMITS.max_exception_depth then
    fail("pickle", "exceptions nested deeper than " .. LIMITS.max_exception_depth .. " levels")
  end
  local args = {}
  for i, arg in ipairs(exception.args) do
    if type(arg) == "string" or is(arg, "int") then
      args[i] = arg
    elseif is(arg, "exception") then
      args[i] = read_exception(arg, depth + 1)
    else
      fail("pickle", "an argument of " .. exception.type .. " is " .. describe(arg))
    end
  end
  return { type = exception.type, args = args }
end

-- A response's object: { kind = "result", result, steps } or { kind = "error", error }.
-- Each step costs its length every time it is used: a 2-byte memo get can use
-- a 30,000-character str again, and the tree shows every step.
function Course.read_response(root, budget)
  if is(root, "tuple") and #root.items == 2 then
    local result, steps = root.items[1], root.items[2]
    if is(result, "complex") then
      fail("complex", "the result is a complex number (real " .. Num.float_text(result.real)
        .. ", imaginary " .. Num.float_text(result.imag) .. "), not an int or a float")
    end
    if not is_number(result) then fail("pickle", "the result is " .. describe(result) .. ", not a number") end
    if not is(steps, "list") and not is(steps, "tuple") then
      fail("pickle", "the steps are " .. describe(steps) .. ", not a list")
    end
    for _, step in ipairs(steps.items) do
      if type(step) ~= "string" then fail("pickle", "a step is " .. describe(step) .. ", not a str") end
      budget:spend(1 + #step)
    end
    return { kind = "result", result = result, steps = steps.items }
  end
  if is(root, "exception") then return { kind = "error", error = read_exception(root, 1) } end
  fail("pickle", "the response is " .. describe(root)
    .. ", neither a (result, steps) tuple nor an exception")
end

-- Python's repr() of a str: single quotes unless it has a ' and no ".
local function str_repr(text)
  local quote = (text:find("'", 1, true) and not text:find('"', 1, true)) and '"' or "'"
  local escapes = { [quote] = "\\" .. quote, ["\\"] = "\\\\", ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t" }
  local body = text:gsub("[%c\\'\"]", function(char)
    if escapes[char] then return escapes[char] end
    if char == "'" or char == '"' then return char end
    return string.format("\\x%02x", char:byte())
  end)
  return quote .. body .. quote
end

local function arg_repr(arg)
  if type(arg) == "string" then return str_repr(arg) end
  if arg.t == "int" then return Num.int_text(arg) end
  return Course.exception_repr(arg)
end

-- Python's repr(exception), e.g. "ZeroDivisionError('division by zero')".
function Course.exception_repr(exception)
  local parts = {}
  for i, arg in ipairs(exception.args) do parts[i] = arg_repr(arg) end
  return exception.type .. "(" .. table.concat(parts, ", ") .. ")"
end

-- Python's str(exception): the lone argument, or the repr of the args tuple.
function Course.exception_str(exception)
  local args = exception.args
  if #args == 0 then return "" end
  if #args == 1 then
    local arg = args[1]
    if type(arg) == "string" then return arg end
    if arg.t == "int" then return Num.int_text(arg) end
    return Course.exception_str(arg)
  end
  local parts = {}
  for i, arg in ipairs(args) do parts[i] = arg_repr(arg) end
  return "(" .. table.concat(parts, ", ") .. ")"
end
`;
