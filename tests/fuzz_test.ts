/**
 * Fuzzing: random and mutated headers and pickles against the decoders, and
 * random and mutated frames against a live server and proxy. Seeded (set
 * FUZZ_SEED to replay a failure; the seed is in every failure message) and
 * bounded by time: about 20 s in all.
 */

import assert from "node:assert/strict";
import { decodeHeader, encodePacket, HEADER_SIZE } from "../src/protocol/header.ts";
import { ProtocolError } from "../src/base/errors.ts";
import {
  decodeExpr,
  decodeResponse,
  encodeException,
  encodeExpr,
  encodeResult,
  pickleDumps,
  PickleError,
} from "../src/pickle/mod.ts";
import { parseExpression } from "../src/calc/parser.ts";
import { COURSE_EXAMPLES } from "../src/calc/course_examples.ts";
import { startServer } from "../src/server/server.ts";
import { startProxy } from "../src/proxy/proxy.ts";
import { ResponseCache } from "../src/proxy/cache.ts";
import {
  COURSE_EXCEPTIONS,
  randomExpr,
  randomValue,
  SeededRandom,
} from "./helpers/pickle_fixture.ts";
import { toHex } from "./helpers/bytes.ts";
import { mutated } from "./helpers/mutate.ts";
import { RawClient, requestPacket } from "./helpers/net.ts";

const SEED = Number(Deno.env.get("FUZZ_SEED") ?? Math.floor(Math.random() * 2 ** 32));

/** A decode slower than this counts as a hang (a denial of service). */
const SLOW_DECODE_MS = 250;

/** Request pickles: the course examples and random trees (rand included). */
function expressionCorpus(rng: SeededRandom): Uint8Array[] {
  const corpus = COURSE_EXAMPLES.map((example) => encodeExpr(parseExpression(example.text)));
  for (let i = 0; i < 40; i++) corpus.push(encodeExpr(randomExpr(rng, 1 + rng.int(5))));
  return corpus;
}

/** Response pickles: results with and without steps, the course's exceptions, other values. */
function responseCorpus(rng: SeededRandom): Uint8Array[] {
  const corpus = [
    encodeResult(6n, ["max(2, 3) + 3", "3 + 3", "6"]),
    encodeResult(-0.38748277824137206, []),
    encodeResult(2n ** 100n, []),
    ...COURSE_EXCEPTIONS.map((error) => encodeException(error)),
  ];
  for (let i = 0; i < 20; i++) corpus.push(pickleDumps(randomValue(rng, 3)));
  return corpus;
}

/**
 * Calls `decode` on inputs drawn by `next` for about `budgetMs`: every call
 * must return or throw one of `allowed`, and none may take longer than
 * {@linkcode SLOW_DECODE_MS}. Returns how many inputs were tried.
 */
function fuzzDecoder(
  name: string,
  budgetMs: number,
  next: () => Uint8Array,
  decode: (bytes: Uint8Array) => unknown,
  allowed: readonly (abstract new (...args: never[]) => Error)[],
): number {
  const deadline = performance.now() + budgetMs;
  let count = 0;
  while (performance.now() < deadline) {
    const input = next();
    count++;
    const started = performance.now();
    try {
      decode(input);
    } catch (error: unknown) {
      if (!allowed.some((kind) => error instanceof kind)) {
        assert.fail(`${name} threw ${String(error)} for ${toHex(input)} (FUZZ_SEED=${SEED})`);
      }
    }
    const took = performance.now() - started;
    assert.ok(
      took < SLOW_DECODE_MS,
      `${name} took ${took.toFixed(0)} ms for ${toHex(input)} (FUZZ_SEED=${SEED})`,
    );
  }
  return count;
}

Deno.test("fuzz: decodeHeader takes any bytes or throws a ProtocolError", () => {
  const rng = new SeededRandom(SEED);
  const good = requestPacket(new Uint8Array(20));
  const count = fuzzDecoder(
    "decodeHeader",
    1000,
    () =>
      rng.chance(0.5)
        ? new Uint8Array(Array.from({ length: rng.int(40) }, () => rng.int(256)))
        : mutated(rng, good, [good]),
    decodeHeader,
    [ProtocolError],
  );
  assert.ok(count > 1000);
});

Deno.test("fuzz: decodeExpr takes mutated and random pickles or throws a PickleError", () => {
  const rng = new SeededRandom(SEED + 1);
  const corpus = [...expressionCorpus(rng), ...responseCorpus(rng)];
  const count = fuzzDecoder(
    "decodeExpr",
    6000,
    () =>
      rng.chance(0.05)
        ? new Uint8Array(Array.from({ length: rng.int(200) }, () => rng.int(256)))
        : mutated(rng, rng.pick(corpus), corpus),
    decodeExpr,
    [PickleError],
  );
  assert.ok(count > 1000, `only ${count} inputs`);
});

Deno.test("fuzz: decodeResponse takes mutated and random pickles or throws a PickleError", () => {
  const rng = new SeededRandom(SEED + 2);
  const corpus = [...responseCorpus(rng), ...expressionCorpus(rng).slice(0, 10)];
  const count = fuzzDecoder(
    "decodeResponse",
    4000,
    () =>
      rng.chance(0.05)
        ? new Uint8Array(Array.from({ length: rng.int(200) }, () => rng.int(256)))
        : mutated(rng, rng.pick(corpus), corpus),
    decodeResponse,
    [PickleError],
  );
  assert.ok(count > 1000, `only ${count} inputs`);
});

/** A frame for the live fuzz: mostly well framed with mutated contents, sometimes raw garbage. */
function fuzzFrame(rng: SeededRandom, corpus: readonly Uint8Array[]): Uint8Array {
  const data = rng.chance(0.8) ? mutated(rng, rng.pick(corpus), corpus) : rng.pick(corpus);
  const packet = encodePacket(
    {
      timestamp: rng.uint32(),
      cacheResult: rng.chance(0.7),
      showSteps: rng.chance(0.5),
      isRequest: rng.chance(0.9),
      statusCode: rng.chance(0.9) ? 0 : rng.int(1024),
      cacheControl: rng.pick([0, 1, 65535, rng.int(65536)]),
      reserved: rng.chance(0.9) ? 0 : rng.int(8),
    },
    data.subarray(0, 65535 - HEADER_SIZE),
  );
  switch (rng.int(6)) {
    case 0: {
      // The header itself mutated: lengths that lie, short frames, bad flags. Sending
      // nothing at all is an idle peer, not a frame.
      const frame = mutated(rng, packet, corpus);
      return frame.length > 0 ? frame : new Uint8Array([rng.int(256)]);
    }
    case 1:
      return new Uint8Array(Array.from({ length: rng.int(64) + 1 }, () => rng.int(256)));
    default:
      return packet;
  }
}

/**
 * Sends `frame` on a new connection and waits for an answer or the close.
 * Returns what happened; "silent" means neither within `ms`.
 */
async function probe(
  port: number,
  frame: Uint8Array,
  ms: number,
): Promise<"answered" | "closed" | "silent"> {
  using client = await RawClient.connect(port);
  try {
    await client.send(frame);
    return (await client.readPacket(ms)) === null ? "closed" : "answered";
  } catch (error: unknown) {
    if (
      error instanceof Deno.errors.ConnectionReset || error instanceof Deno.errors.BrokenPipe ||
      error instanceof Deno.errors.InvalidData
    ) {
      return "closed";
    }
    if (error instanceof Error && /no packet within/.test(error.message)) return "silent";
    throw error;
  }
}

Deno.test("fuzz: a live server and proxy answer or close every bad frame, then still answer", async () => {
  const rng = new SeededRandom(SEED + 3);
  const corpus = expressionCorpus(rng);
  // A short frame timeout: frames whose length lies are answered within 200 ms.
  const limits = { frameTimeoutMs: 200, idleTimeoutMs: 5000 };
  await using server = startServer({ hostname: "127.0.0.1", port: 0, limits });
  const cache = new ResponseCache();
  await using proxy = startProxy({
    hostname: "127.0.0.1",
    port: 0,
    servers: [{ hostname: "127.0.0.1", port: server.addr.port }],
    cache,
    limits,
    answerTimeoutMs: 2000,
  });
  const outcomes = { answered: 0, closed: 0 };
  const deadline = performance.now() + 8000;
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      const frame = fuzzFrame(rng, corpus);
      const port = rng.chance(0.5) ? server.addr.port : proxy.addr.port;
      const outcome = await probe(port, frame, 1500);
      assert.notEqual(
        outcome,
        "silent",
        `${port === server.addr.port ? "server" : "proxy"} neither answered nor closed ` +
          `${toHex(frame)} (FUZZ_SEED=${SEED})`,
      );
      outcomes[outcome === "silent" ? "closed" : outcome]++;
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  assert.ok(outcomes.answered > 100, `only ${outcomes.answered} answers`);
  for (const port of [server.addr.port, proxy.addr.port]) {
    using client = await RawClient.connect(port);
    const request = requestPacket(encodeExpr(parseExpression("max(2, 3) + 3")), {
      cacheControl: 0,
    });
    await client.send(request);
    const reply = await client.readPacket();
    assert.ok(reply !== null);
    assert.equal(decodeHeader(reply).header.statusCode, 200);
    assert.deepEqual(decodeResponse(reply.subarray(HEADER_SIZE)), {
      kind: "result",
      result: 6n,
      steps: ["max(2, 3) + 3", "3 + 3", "6"],
    });
  }
});
