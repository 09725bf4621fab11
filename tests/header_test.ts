import assert from "node:assert/strict";
import {
  decodeHeader,
  encodePacket,
  HEADER_SIZE,
  headerAsSent,
  headerProblem,
  invalidTotalLength,
  totalLengthAt,
  writeHeader,
} from "../src/protocol/header.ts";
import { FrameAssembler, FrameError } from "../src/protocol/frame_assembler.ts";
import { requestPacket } from "../src/protocol/request_packet.ts";
import { ProtocolError } from "../src/base/errors.ts";
import { fromHex, toHex } from "./helpers/bytes.ts";

Deno.test("encodePacket() writes the flag words seen on the wire", async (t) => {
  const base = { timestamp: 1795310569, statusCode: 0, cacheControl: 65535 };
  const cases = [
    [
      "request C+S",
      { ...base, cacheResult: true, showSteps: true, isRequest: true },
      "1c00",
      65535,
    ],
    [
      "request C only",
      { ...base, cacheResult: true, showSteps: false, isRequest: true },
      "1400",
      65535,
    ],
    [
      "request S only (cache control forced to 0)",
      {
        ...base,
        cacheResult: false,
        showSteps: true,
        isRequest: true,
      },
      "0c00",
      0,
    ],
    [
      "response 200 with steps",
      { ...base, cacheResult: true, showSteps: true, isRequest: false, statusCode: 200 },
      "18c8",
      65535,
    ],
    [
      "response 200 without steps",
      {
        ...base,
        cacheResult: true,
        showSteps: false,
        isRequest: false,
        statusCode: 200,
      },
      "10c8",
      65535,
    ],
    [
      "response 400",
      { ...base, cacheResult: true, showSteps: false, isRequest: false, statusCode: 400 },
      "1190",
      65535,
    ],
    [
      "server 500",
      { ...base, cacheResult: true, showSteps: false, isRequest: false, statusCode: 500 },
      "11f4",
      65535,
    ],
    [
      "proxy-made 500",
      {
        ...base,
        cacheResult: false,
        showSteps: false,
        isRequest: false,
        statusCode: 500,
        cacheControl: 0,
      },
      "01f4",
      0,
    ],
  ] as const;
  for (const [name, fields, flags, cacheControl] of cases) {
    await t.step(name, () => {
      const packet = encodePacket(fields, new Uint8Array(3));
      assert.equal(toHex(packet.subarray(6, 8)), flags);
      assert.equal(new DataView(packet.buffer).getUint16(8), cacheControl);
      assert.equal(toHex(packet.subarray(10, 12)), "0000");
    });
  }
});

Deno.test("encodePacket() matches the course's request header byte for byte", () => {
  const packet = encodePacket(
    {
      timestamp: 1795310569,
      cacheResult: true,
      showSteps: true,
      isRequest: true,
      statusCode: 0,
      cacheControl: 65535,
    },
    new Uint8Array(675),
  );
  assert.equal(toHex(packet.subarray(0, HEADER_SIZE)), "6b0243e902af1c00ffff0000");
  assert.equal(packet.length, 687);
});

Deno.test("writeHeader() writes encodePacket()'s header in place, padding cleared", () => {
  const fields = {
    timestamp: 1795310569,
    cacheResult: true,
    showSteps: true,
    isRequest: false,
    statusCode: 200,
    cacheControl: 65535,
  };
  const data = Uint8Array.from({ length: 48 }, (_, i) => i + 1);
  const packet = new Uint8Array(HEADER_SIZE + data.length).fill(0xee);
  packet.set(data, HEADER_SIZE);
  writeHeader(packet, fields);
  assert.deepEqual(packet, encodePacket(fields, data));
  assert.equal(toHex(packet.subarray(10, HEADER_SIZE)), "0000");
  assert.throws(() => writeHeader(new Uint8Array(65536), fields), RangeError);
});

Deno.test("decodeHeader() reads every field of a course response", () => {
  const { header, warnings } = decodeHeader(fromHex("6b0243e9023418c8ffff0000" + "00".repeat(552)));
  assert.deepEqual(header, {
    timestamp: 1795310569,
    totalLength: 564,
    reserved: 0,
    cacheResult: true,
    showSteps: true,
    isRequest: false,
    statusCode: 200,
    cacheControl: 65535,
  });
  assert.deepEqual(warnings, []);
});

Deno.test("decodeHeader() rejects a 5-byte packet with the course's text", () => {
  assert.throws(
    () => decodeHeader(new Uint8Array(5)),
    (error: unknown) =>
      error instanceof ProtocolError &&
      error.message === "The data is too short (5 bytes) to be a valid header",
  );
});

Deno.test("decodeHeader() rejects a total length below 12", () => {
  assert.throws(() => decodeHeader(fromHex("000000000005140000000000")), ProtocolError);
});

Deno.test("decodeHeader() normalises and warns, never throws, on odd fields", async (t) => {
  await t.step("C=0 forces cache control to 0", () => {
    const { header, warnings } = decodeHeader(fromHex("00000000000c0c00ffff0000"));
    assert.equal(header.cacheControl, 0);
    assert.deepEqual(warnings.map((w) => w.code), ["cache-control-without-cache"]);
  });
  await t.step("a response with C=1 and max-age 0 loses C", () => {
    const { header, warnings } = decodeHeader(fromHex("00000000000c10c800000000"));
    assert.equal(header.cacheResult, false);
    assert.deepEqual(warnings.map((w) => w.code), ["response-cache-without-max-age"]);
  });
  await t.step("reserved bits, a status on a request, padding and a lying length", () => {
    const { header, warnings } = decodeHeader(fromHex("0000000000fff4c8ffff0101"));
    assert.equal(header.reserved, 7);
    assert.equal(header.statusCode, 200);
    assert.deepEqual(warnings.map((w) => w.code), [
      "reserved-bits",
      "status-on-request",
      "padding",
      "length-mismatch",
    ]);
  });
});

Deno.test("encodePacket() refuses a packet over 65535 bytes", () => {
  const fields = {
    timestamp: 0,
    cacheResult: true,
    showSteps: false,
    isRequest: true,
    statusCode: 0,
    cacheControl: 1,
  };
  assert.throws(() => encodePacket(fields, new Uint8Array(65524)), RangeError);
  const largest = encodePacket(fields, new Uint8Array(65523));
  assert.equal(decodeHeader(largest).header.totalLength, 65535);
});

Deno.test("encodePacket() clears C on a response whose max-age is 0, as the reference does", () => {
  const packet = encodePacket(
    {
      timestamp: 0,
      cacheResult: true,
      showSteps: false,
      isRequest: false,
      statusCode: 200,
      cacheControl: 0,
    },
    new Uint8Array(0),
  );
  assert.equal(toHex(packet.subarray(6, 10)), "00c80000");
  const { header } = decodeHeader(packet);
  assert.deepEqual([header.cacheResult, header.cacheControl, header.statusCode], [false, 0, 200]);
});

Deno.test("headerProblem() gives decodeHeader()'s reason, or undefined for a readable header", () => {
  assert.equal(
    headerProblem(new Uint8Array(5)),
    "The data is too short (5 bytes) to be a valid header",
  );
  assert.equal(
    headerProblem(fromHex("000000000005140000000000")),
    "Invalid total length: 5 (must be between 12 and 65535 bytes inclusive)",
  );
  // A length that promises more than arrived still has a readable header.
  assert.equal(headerProblem(fromHex("000000000064140000000000")), undefined);
});

Deno.test("a total length below 12 reads the same in the header decoder and the frame reader", () => {
  const packet = fromHex("000000000005140000000000");
  assert.throws(() => decodeHeader(packet), { message: invalidTotalLength(5) });
  const frames = new FrameAssembler();
  frames.push(packet);
  assert.throws(() => frames.next(), (error: unknown) => {
    assert.ok(error instanceof FrameError);
    assert.equal(error.message, invalidTotalLength(5));
    return true;
  });
});

Deno.test("requestPacket() writes C, S and cache control", () => {
  const data = Uint8Array.of(1, 2, 3);
  const nowMs = 1_795_310_569_000;
  const packet = requestPacket(
    data,
    { showSteps: false, cacheResult: true, cacheControl: 60 },
    nowMs,
  );
  assert.equal(toHex(packet.subarray(0, 12)), "6b0243e9" + "000f" + "1400" + "003c" + "0000");
});

Deno.test("totalLengthAt() reads the total length of the header at an offset", () => {
  const packet = fromHex("6b0243e9" + "003c" + "18c8" + "ffff" + "0000");
  assert.equal(totalLengthAt(packet), 60);
  const stream = new Uint8Array(3 + packet.length);
  stream.set(packet, 3);
  assert.equal(totalLengthAt(stream, 3), 60);
  assert.equal(totalLengthAt(fromHex("000000000102")), 258);
  // A field cut short reads its missing bytes as 0.
  assert.equal(totalLengthAt(fromHex("0000000001")), 256);
});

Deno.test("headerAsSent() reads the fields as sent, before decodeHeader()'s normalisation", () => {
  // A response with C=0 and cache control 60, reserved bits 5, padding and a lying length.
  const packet = fromHex("6b0243e9" + "0064" + "a0c8" + "003c" + "0102");
  assert.deepEqual(headerAsSent(packet), {
    timestamp: 0x6b0243e9,
    totalLength: 100,
    reserved: 5,
    cacheResult: false,
    showSteps: false,
    isRequest: false,
    statusCode: 200,
    cacheControl: 60,
  });
  assert.equal(decodeHeader(packet).header.cacheControl, 0);
});
