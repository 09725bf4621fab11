/**
 * The dissector's Lua that talks to Wireshark: the protocol, its fields and
 * expert infos, the header, the payload's tree, the Info column, the links
 * between requests and responses, TCP reassembly and the registrations.
 *
 * @module
 */

/** Lua: the `calcnet` Proto and everything registered with Wireshark. */
export const LUA_PROTOCOL: string = String.raw`
-- ===================================================================== protocol

local calcnet = Proto("calcnet", "calcnet (course calculator protocol)")

local PORTS = { 9998, 9999 }
local FLAG_CACHE, FLAG_STEPS, FLAG_REQUEST = 0x1000, 0x0800, 0x0400
local STATUS_MASK, RESERVED_SHIFT = 0x03ff, 13
local MAX_AGE_FOREVER = 65535
local PICKLE_PROTO = 0x80
local STATUS_NAMES = {
  [0] = "none (a request)", [200] = "OK", [400] = "client error", [500] = "server error",
  [999] = "unknown",
}

local F = {
  timestamp = ProtoField.absolute_time("calcnet.timestamp", "Time stamp", base.UTC),
  length = ProtoField.uint16("calcnet.length", "Total length", base.DEC),
  flags = ProtoField.uint16("calcnet.flags", "Flags", base.HEX),
  reserved = ProtoField.uint16("calcnet.reserved", "Reserved", base.DEC, nil, 0xe000),
  cache = ProtoField.bool("calcnet.flags.cache", "C (cache)", 16,
    { "may be cached", "not to be cached" }, FLAG_CACHE),
  steps = ProtoField.bool("calcnet.flags.steps", "S (steps)", 16,
    { "steps asked for / included", "no steps" }, FLAG_STEPS),
  request = ProtoField.bool("calcnet.flags.request", "T (type)", 16,
    { "request", "response" }, FLAG_REQUEST),
  status = ProtoField.uint16("calcnet.status", "Status code", base.DEC, STATUS_NAMES, STATUS_MASK),
  max_age = ProtoField.uint16("calcnet.max_age", "Cache control (max-age, s)", base.DEC),
  padding = ProtoField.uint16("calcnet.padding", "Padding", base.HEX),
  data = ProtoField.bytes("calcnet.data", "Data (pickle)"),
  pickle_protocol = ProtoField.uint8("calcnet.pickle.protocol", "Pickle protocol", base.DEC),
  expression = ProtoField.string("calcnet.expression", "Expression"),
  nodes = ProtoField.uint32("calcnet.expression.nodes", "Expression nodes", base.DEC),
  result = ProtoField.string("calcnet.result", "Result"),
  result_type = ProtoField.string("calcnet.result.type", "Result type"),
  step_count = ProtoField.uint32("calcnet.steps", "Steps", base.DEC),
  step = ProtoField.string("calcnet.step", "Step"),
  error_type = ProtoField.string("calcnet.error.type", "Error class"),
  error_message = ProtoField.string("calcnet.error.message", "Error message"),
  error_repr = ProtoField.string("calcnet.error.repr", "Error"),
  error_arg = ProtoField.string("calcnet.error.arg", "Argument"),
  response_in = ProtoField.framenum("calcnet.response_in", "Response in frame", base.NONE, frametype.RESPONSE),
  request_in = ProtoField.framenum("calcnet.request_in", "Request in frame", base.NONE, frametype.REQUEST),
  time = ProtoField.relative_time("calcnet.time", "Time since request"),
}
calcnet.fields = {
  F.timestamp, F.length, F.flags, F.reserved, F.cache, F.steps, F.request, F.status, F.max_age,
  F.padding, F.data, F.pickle_protocol, F.expression, F.nodes, F.result, F.result_type,
  F.step_count, F.step, F.error_type, F.error_message, F.error_repr, F.error_arg,
  F.response_in, F.request_in, F.time,
}

local function expert_info(name, text, group, severity)
  return ProtoExpert.new("calcnet.expert." .. name, text, group, severity)
end

local E = {
  cache_control_without_cache = expert_info("cache_control_without_cache",
    "C is 0 but the cache control is not: the reference forces it to 0", expert.group.PROTOCOL, expert.severity.WARN),
  response_cache_without_max_age = expert_info("response_cache_without_max_age",
    "A response with C=1 and cache control 0: the reference clears C", expert.group.PROTOCOL, expert.severity.WARN),
  reserved_bits = expert_info("reserved_bits", "Reserved bits are set", expert.group.PROTOCOL, expert.severity.WARN),
  status_on_request = expert_info("status_on_request", "A request carries a status code",
    expert.group.PROTOCOL, expert.severity.WARN),
  padding = expert_info("padding", "The padding bytes are not zero", expert.group.PROTOCOL, expert.severity.WARN),
  length_mismatch = expert_info("length_mismatch", "The total length disagrees with the data",
    expert.group.MALFORMED, expert.severity.ERROR),
  unknown_status = expert_info("unknown_status", "A response status other than 200, 400 or 500",
    expert.group.PROTOCOL, expert.severity.WARN),
  malformed_pickle = expert_info("malformed_pickle", "Data that calcnet does not unpickle",
    expert.group.MALFORMED, expert.severity.ERROR),
  not_expression = expert_info("not_expression", "A request whose pickle is not an expression",
    expert.group.MALFORMED, expert.severity.ERROR),
  complex_result = expert_info("complex_result", "A complex result, which the course's client rejects",
    expert.group.PROTOCOL, expert.severity.WARN),
  text_cut = expert_info("text_cut", "The expression text is cut", expert.group.COMMENTS_GROUP, expert.severity.NOTE),
  internal = expert_info("internal", "The dissector failed (a bug)", expert.group.UNDECODED, expert.severity.ERROR),
}
calcnet.experts = {
  E.cache_control_without_cache, E.response_cache_without_max_age, E.reserved_bits,
  E.status_on_request, E.padding, E.length_mismatch, E.unknown_status, E.malformed_pickle,
  E.not_expression, E.complex_result, E.text_cut, E.internal,
}

-- ------------------------------------------------------------------ header

local function read_header(tvb)
  local flags = tvb(6, 2):uint()
  return {
    timestamp = tvb(0, 4):uint(),
    length = tvb(4, 2):uint(),
    flags = flags,
    reserved = bit.rshift(flags, RESERVED_SHIFT),
    cache = bit.band(flags, FLAG_CACHE) ~= 0,
    steps = bit.band(flags, FLAG_STEPS) ~= 0,
    request = bit.band(flags, FLAG_REQUEST) ~= 0,
    status = bit.band(flags, STATUS_MASK),
    max_age = tvb(8, 2):uint(),
    padding = tvb(10, 2):uint(),
  }
end

-- The header's items, and an expert info for each value the reference's
-- normalisation rules name (PROTOCOL section 2).
local function add_header(tree, tvb, header)
  tree:add(F.timestamp, tvb(0, 4), NSTime.new(header.timestamp, 0))
  local length = tree:add(F.length, tvb(4, 2))
  local flags = tree:add(F.flags, tvb(6, 2))
  for _, field in ipairs({ F.reserved, F.cache, F.steps, F.request, F.status }) do
    flags:add(field, tvb(6, 2))
  end
  local max_age = tree:add(F.max_age, tvb(8, 2))
  if header.max_age == MAX_AGE_FOREVER then max_age:append_text(" (forever)") end
  local padding = tree:add(F.padding, tvb(10, 2))
  if not header.cache and header.max_age ~= 0 then
    max_age:add_proto_expert_info(E.cache_control_without_cache, "C is 0 but the cache control is "
      .. header.max_age .. ": the reference ignores it (takes 0)")
  elseif not header.request and header.cache and header.max_age == 0 then
    flags:add_proto_expert_info(E.response_cache_without_max_age,
      "A response with C=1 and cache control 0: the reference clears C")
  end
  if header.reserved ~= 0 then
    flags:add_proto_expert_info(E.reserved_bits, "Reserved bits are set (" .. header.reserved .. ")")
  end
  if header.request and header.status ~= 0 then
    flags:add_proto_expert_info(E.status_on_request, "A request carries status code " .. header.status)
  elseif not header.request and not STATUS_NAMES[header.status] then
    flags:add_proto_expert_info(E.unknown_status, "Unknown response status " .. header.status)
  end
  if header.padding ~= 0 then padding:add_proto_expert_info(E.padding) end
  return length
end

-- ------------------------------------------------------------------ payload

-- Decodes a payload: a table describing it (kind "request", "result",
-- "error") or a failure (kind "pickle", "expression", "complex", "internal").
local function decode_payload(data, is_request)
  local budget = Budget.new(LIMITS.max_work)
  local ok, decoded = pcall(function()
    if is_request and #data == 0 then not_expression("no data: an expression was expected") end
    local root, protocol = Pickle.load(data, budget)
    if is_request then
      local node, nodes = Course.read_expression(root, budget)
      local text, cut = Course.expression_text(node, budget)
      return { kind = "request", protocol = protocol, text = text, cut = cut, nodes = nodes }
    end
    local response = Course.read_response(root, budget)
    response.protocol = protocol
    if response.kind == "result" then
      response.type = Num.type_name(response.result)
      response.text = Num.text(response.result, budget)
    end
    return response
  end)
  if ok then return decoded end
  if is_failure(decoded) then return decoded end
  return { kind = "internal", message = tostring(decoded) }
end

local FAILURE_EXPERTS = {
  pickle = E.malformed_pickle, expression = E.not_expression, complex = E.complex_result,
  internal = E.internal,
}

-- Adds the decoded payload under item; returns the text for the Info column.
local function add_payload(item, range, decoded, header)
  local kind = decoded.kind
  if FAILURE_EXPERTS[kind] then
    item:add_proto_expert_info(FAILURE_EXPERTS[kind], decoded.message)
    return kind == "complex" and "a complex result" or "malformed: " .. decoded.message
  end
  if range:len() > 0 and range(0, 1):uint() == PICKLE_PROTO then
    item:add(F.pickle_protocol, range(1, 1)):set_generated()
  end
  if kind == "request" then
    item:add(F.expression, range, Utf8.displayable(decoded.text)):set_generated()
    item:add(F.nodes, range, decoded.nodes):set_generated()
    if decoded.cut then item:add_proto_expert_info(E.text_cut) end
    return decoded.text
  end
  if kind == "result" then
    item:add(F.result_type, range, decoded.type):set_generated()
    item:add(F.result, range, decoded.text):set_generated()
    local steps = item:add(F.step_count, range, #decoded.steps)
    steps:set_generated()
    for _, step in ipairs(decoded.steps) do steps:add(F.step, range, Utf8.displayable(step)):set_generated() end
    local count = #decoded.steps
    if count == 0 then return decoded.text end
    return decoded.text .. ", " .. count .. (count == 1 and " step" or " steps")
  end
  local exception = decoded.error
  local message = Utf8.displayable(Course.exception_str(exception))
  item:add(F.error_type, range, exception.type):set_generated()
  item:add(F.error_message, range, message):set_generated()
  item:add(F.error_repr, range, Utf8.displayable(Course.exception_repr(exception))):set_generated()
  for _, arg in ipairs(exception.args) do
    local text = type(arg) == "table" and arg.t == "int" and Num.int_text(arg)
      or type(arg) == "string" and arg or Course.exception_repr(arg)
    item:add(F.error_arg, range, Utf8.displayable(text)):set_generated()
  end
  if message == "" then return exception.type end
  return exception.type .. ": " .. message
end

-- ------------------------------------------------------------------ requests and responses

-- Per TCP stream, the requests still unanswered (first pass only), and per
-- message the frame and time of its partner, found on the first pass.
local streams, partners = {}, {}
local tcp_stream = Field.new("tcp.stream")

function calcnet.init()
  streams, partners = {}, {}
end

-- The TCP stream's number, or (when the first pass builds no tree) its two
-- endpoints in a fixed order.
local function stream_key(pinfo)
  local field = tcp_stream()
  if field then return field.value end
  local here = tostring(pinfo.src) .. ":" .. pinfo.src_port
  local there = tostring(pinfo.dst) .. ":" .. pinfo.dst_port
  if here > there then here, there = there, here end
  return here .. " " .. there
end

-- The message's key: frame number and its place among the frame's messages.
local function message_key(pinfo)
  local index = tonumber(pinfo.private.calcnet_messages or "0") + 1
  pinfo.private.calcnet_messages = tostring(index)
  return pinfo.number .. "." .. index
end

-- The frame's time since the capture's start: small, so a double holds it
-- to the nanosecond (pinfo.abs_ts, a double too, does not).
local function arrival(pinfo)
  return pinfo.rel_ts
end

-- Responses answer the oldest unanswered request of their stream, in order.
local function match(pinfo, key, is_request)
  local stream = stream_key(pinfo)
  local queue = streams[stream]
  if not queue then
    queue = { first = 1, last = 0 }
    streams[stream] = queue
  end
  if is_request then
    queue.last = queue.last + 1
    queue[queue.last] = { key = key, frame = pinfo.number, time = arrival(pinfo) }
    return
  end
  if queue.first > queue.last then return end
  local request = queue[queue.first]
  queue[queue.first] = nil
  queue.first = queue.first + 1
  partners[request.key] = { frame = pinfo.number }
  partners[key] = { frame = request.frame, delay = arrival(pinfo) - request.time }
end

local function add_link(tree, partner, is_request)
  if not partner then return end
  if is_request then
    tree:add(F.response_in, partner.frame):set_generated()
    return
  end
  tree:add(F.request_in, partner.frame):set_generated()
  local seconds = math.floor(partner.delay)
  local nanoseconds = math.floor((partner.delay - seconds) * 1e9 + 0.5)
  if nanoseconds == 1e9 then seconds, nanoseconds = seconds + 1, 0 end
  tree:add(F.time, NSTime.new(seconds, nanoseconds)):set_generated()
end

-- ------------------------------------------------------------------ one message

local function flag_summary(header)
  local parts = {}
  if header.steps then parts[#parts + 1] = "S" end
  if header.cache then parts[#parts + 1] = "C" end
  parts[#parts + 1] = "max-age " .. header.max_age
  return " [" .. table.concat(parts, " ") .. "]"
end

local function set_info(pinfo, text)
  if pinfo.private.calcnet_info then
    pinfo.cols.info:append("; " .. text)
  else
    pinfo.cols.info:set(text)
    pinfo.private.calcnet_info = "1"
  end
end

-- The payload's part of the tree and Info; the header is there.
local function dissect_body(tvb, tree, header, length_item)
  local total = header.length
  if total < HEADER_SIZE then
    length_item:add_proto_expert_info(E.length_mismatch, "Invalid total length: " .. total
      .. " (must be between 12 and 65535 bytes inclusive)")
    return "invalid total length " .. total
  end
  local captured = math.min(tvb:len(), total)
  if captured < total then
    length_item:add_proto_expert_info(E.length_mismatch, "The total length is " .. total
      .. " bytes but only " .. captured .. " are here (a truncated capture or an unreassembled message)")
    return "truncated: " .. captured .. " of " .. total .. " bytes"
  end
  local range = tvb(HEADER_SIZE, total - HEADER_SIZE)
  local item = tree:add(F.data, range)
  return add_payload(item, range, decode_payload(range:raw(), header.request), header)
end

local function dissect_message(tvb, pinfo, root)
  pinfo.cols.protocol = "CALCNET"
  local tree = root:add(calcnet, tvb())
  if tvb:len() < HEADER_SIZE then
    tree:add_proto_expert_info(E.length_mismatch, "Only " .. tvb:len() .. " bytes of a header are here")
    set_info(pinfo, "Truncated header")
    return tvb:len()
  end
  local header = read_header(tvb)
  local length_item = add_header(tree, tvb, header)
  local summary = dissect_body(tvb, tree, header, length_item)
  local key = message_key(pinfo)
  if not pinfo.visited then match(pinfo, key, header.request) end
  add_link(tree, partners[key], header.request)
  local text
  if header.request then
    text = "Request " .. summary .. flag_summary(header)
  else
    text = "Response " .. header.status .. ": " .. summary .. flag_summary(header)
  end
  tree:append_text(", " .. text)
  set_info(pinfo, text)
  return tvb:len()
end

-- A message in the wrong place must not end in a Lua error: anything this
-- file did not foresee is shown as an expert info.
local function dissect_message_safely(tvb, pinfo, root)
  local ok, result = pcall(dissect_message, tvb, pinfo, root)
  if ok then return result end
  root:add_proto_expert_info(E.internal, "calcnet dissector failed: " .. tostring(result))
  return tvb:len()
end

-- ------------------------------------------------------------------ TCP

-- The length of the message at offset: the header's total length (one
-- that cannot be right takes the rest of the segment, framing being lost).
local function message_length(tvb, pinfo, offset)
  local total = tvb(offset + 4, 2):uint()
  if total < HEADER_SIZE then return tvb:len() - offset end
  return total
end

-- A local function, as calcnet.dissector reads back as a handle whose call
-- would take TCP's reassembly away from the heuristic below.
local function dissect_tcp(tvb, pinfo, tree)
  dissect_tcp_pdus(tvb, tree, HEADER_SIZE, message_length, dissect_message_safely)
  return tvb:len()
end
calcnet.dissector = dissect_tcp

local KNOWN_STATUS = { [200] = true, [400] = true, [500] = true, [999] = true }

-- The segment's sequence number, relative to the stream's start (Wireshark's default).
local tcp_seq = Field.new("tcp.seq")

-- A first segment shorter than a header (a client that sends its message in
-- pieces): whatever it holds of the total length and the flags' reserved
-- bits must be consistent with a header.
local function could_start_header(tvb)
  local seq = tcp_seq()
  if seq == nil or seq.value ~= 1 then return false end
  local n = tvb:len()
  if n >= 6 and tvb(4, 2):uint() < HEADER_SIZE + 2 then return false end
  if n >= 7 and bit.rshift(tvb(6, 1):uint(), 5) ~= 0 then return false end
  return true
end

-- On other ports: a consistent header (total length at least the header
-- and a pickle's first two bytes, no reserved bits, zero padding, a status
-- only on a response and a known one) followed by PROTO 2 to 5.
local function heuristic(tvb, pinfo, tree)
  if tvb:len() < HEADER_SIZE + 2 then
    if not could_start_header(tvb) then return false end
    pinfo.conversation = calcnet
    dissect_tcp(tvb, pinfo, tree)
    return true
  end
  local header = read_header(tvb)
  if header.length < HEADER_SIZE + 2 or header.reserved ~= 0 or header.padding ~= 0 then return false end
  if header.request then
    if header.status ~= 0 then return false end
  elseif not KNOWN_STATUS[header.status] then
    return false
  end
  local protocol = tvb(HEADER_SIZE + 1, 1):uint()
  if tvb(HEADER_SIZE, 1):uint() ~= PICKLE_PROTO or protocol < 2 or protocol > 5 then return false end
  pinfo.conversation = calcnet
  dissect_tcp(tvb, pinfo, tree)
  return true
end

local tcp_port = DissectorTable.get("tcp.port")
for _, port in ipairs(PORTS) do tcp_port:add(port, calcnet) end
calcnet:register_heuristic("tcp", heuristic)
`;
