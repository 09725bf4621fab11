/**
 * The server's robustness cases: what TCP and careless or hostile peers do
 * to a server that the course's tests never do — split and joined packets,
 * stalled peers, lying lengths, undecodable data, a large request. A server
 * that reads one `recv()` as one message fails some of them; they are
 * warnings unless the run is strict.
 *
 * Nothing sent here can harm the server: no pickle names a global the
 * course's own client does not name (its classes, `math`, `builtins`,
 * `_operator` and `random` functions), and every undecodable payload makes CPython's
 * unpickler raise `UnpicklingError` (the error the course server answers
 * for its own garbage test) before it builds anything: a truncated frame,
 * or a byte (0xff) that is no opcode.
 *
 * @module
 */

import { binary, constant, type Expr } from "../calc/mod.ts";
import { HEADER_SIZE, requestPacket, Status } from "../protocol/mod.ts";
import { encodeExpr, pickleDumps, pyList } from "../pickle/mod.ts";
import type { CaseContext, CheckCase, Step } from "./case.ts";
import { CaseFailure, type Target } from "./case_failure.ts";
import { type AnsweredExample, answeredExamples } from "./course_answers.ts";
import { type CacheControlRule, expectAnswer, observe, resultAnswer } from "./expectation.ts";
import { describeOutcome, type Probe } from "./probe.ts";
import { courseFlags, describeRequest } from "./request.ts";
import { SeededRandom } from "./seeded_random.ts";

/** What the robustness suite needs. */
export interface RobustnessSuiteOptions {
  /** The seed of the random bytes. */
  readonly seed: number;
  /** The C flag and max-age every answer must carry. */
  readonly cacheControl: CacheControlRule;
}

/** How long another client may wait while peers stall: "promptly". */
export const PROMPT_MS = 1000;

/** Connections that send half a header and stall in `robustness/stalled-peers`. */
export const STALLED_PEERS = 5;

/** Pause between the pieces of a split request, so each is its own segment. */
export const SEGMENT_GAP_MS = 50;

/** Leaves of the balanced sum sent by `robustness/large-request`. */
export const LARGE_REQUEST_LEAVES = 1024;

interface Fixture {
  readonly server: Target;
  readonly cacheControl: CacheControlRule;
  /** Course example 2 (`max(2, 3) + 3`). */
  readonly small: AnsweredExample;
  /** Course example 4. */
  readonly other: AnsweredExample;
}

function examplePacket(example: AnsweredExample, steps: boolean): Uint8Array {
  return requestPacket(encodeExpr(example.expr), courseFlags(steps));
}

function exampleDescription(example: AnsweredExample, steps: boolean): string {
  return describeRequest(example.text, courseFlags(steps));
}

/**
 * After a case's abuse, the server must still answer a new client
 * promptly and correctly.
 */
async function stillAnswers(context: CaseContext, fixture: Fixture): Promise<void> {
  const probe = await context.open(fixture.server);
  const promptMs = Math.min(PROMPT_MS, context.timeoutMs);
  await probe.send(examplePacket(fixture.small, true), exampleDescription(fixture.small, true));
  const outcome = await probe.read(promptMs);
  if (outcome.kind !== "packet") {
    throw new CaseFailure(
      `the server to keep answering other clients (${fixture.small.text} within ${promptMs} ms)`,
      describeOutcome(outcome),
    );
  }
  expectAnswer(
    outcome.received,
    resultAnswer(fixture.small.repr, fixture.small.steps, true),
    fixture.cacheControl,
  );
}

/**
 * Waits for the server's reaction to an unfinishable packet: an answer of
 * any kind or a closed connection is fine; silence past the timeout is not.
 */
async function answersOrCloses(
  probe: Probe,
  context: CaseContext,
  accept: (status: number) => boolean,
  expected: string,
): Promise<void> {
  const outcome = await probe.read(context.timeoutMs);
  if (outcome.kind === "closed") return;
  if (outcome.kind === "packet" && accept(outcome.received.header.statusCode)) return;
  throw new CaseFailure(
    `${expected}, or a closed connection, within ${context.timeoutMs} ms`,
    outcome.kind === "packet"
      ? `status ${outcome.received.header.statusCode}`
      : describeOutcome(outcome),
  );
}

function splitCase(fixture: Fixture): CheckCase {
  return {
    id: "robustness/split-segments",
    title:
      `a request in three segments ${SEGMENT_GAP_MS} ms apart (inside the header, inside the data)`,
    kind: "robustness",
    async run(context) {
      const probe = await context.open(fixture.server);
      const packet = examplePacket(fixture.small, true);
      await probe.sendInParts(
        [packet.subarray(0, 6), packet.subarray(6, 40), packet.subarray(40)],
        SEGMENT_GAP_MS,
        `${exampleDescription(fixture.small, true)} split after bytes 6 and 40`,
      );
      expectAnswer(
        await probe.receive(context.timeoutMs),
        resultAnswer(fixture.small.repr, fixture.small.steps, true),
        fixture.cacheControl,
      );
      await stillAnswers(context, fixture);
    },
  };
}

function pipelinedCase(fixture: Fixture): CheckCase {
  return {
    id: "robustness/two-in-one-segment",
    title: "two requests in one segment are both answered, in order",
    kind: "robustness",
    async run(context) {
      const probe = await context.open(fixture.server);
      const first = examplePacket(fixture.small, true);
      const second = examplePacket(fixture.other, false);
      const both = new Uint8Array(first.length + second.length);
      both.set(first);
      both.set(second, first.length);
      await probe.send(
        both,
        `${exampleDescription(fixture.small, true)} then ${
          exampleDescription(fixture.other, false)
        } in one write`,
      );
      const answers = [
        resultAnswer(fixture.small.repr, fixture.small.steps, true),
        resultAnswer(fixture.other.repr, fixture.other.steps, false),
      ];
      for (const [i, expected] of answers.entries()) {
        const outcome = await probe.read(context.timeoutMs);
        if (outcome.kind !== "packet") {
          throw new CaseFailure(`answer ${i + 1} of 2`, describeOutcome(outcome));
        }
        try {
          expectAnswer(outcome.received, expected, fixture.cacheControl);
        } catch (error: unknown) {
          if (!(error instanceof CaseFailure)) throw error;
          throw new CaseFailure(`answer ${i + 1} of 2: ${error.expected}`, error.got);
        }
      }
      await stillAnswers(context, fixture);
    },
  };
}

function stalledCase(fixture: Fixture): CheckCase {
  return {
    id: "robustness/stalled-peers",
    title:
      `${STALLED_PEERS} peers send half a header and stall; another client is answered within ${PROMPT_MS} ms`,
    kind: "robustness",
    async run(context) {
      const half = examplePacket(fixture.small, true).subarray(0, HEADER_SIZE / 2);
      for (let i = 0; i < STALLED_PEERS; i++) {
        const stalled = await context.open(fixture.server);
        await stalled.send(half, `the first ${half.length} bytes of a header, then nothing`);
      }
      await stillAnswers(context, fixture);
    },
  };
}

function lyingLengthCase(fixture: Fixture): CheckCase {
  return {
    id: "robustness/lying-length",
    title: "a header that promises 100 bytes more than are sent: an answer or a close, not a hang",
    kind: "robustness",
    async run(context) {
      const probe = await context.open(fixture.server);
      const packet = examplePacket(fixture.small, false);
      new DataView(packet.buffer).setUint16(4, packet.length + 100);
      await probe.send(
        packet,
        `${exampleDescription(fixture.small, false)} with total length ${packet.length + 100}`,
      );
      await answersOrCloses(probe, context, () => true, "an answer");
      await stillAnswers(context, fixture);
    },
  };
}

function shortLengthCase(fixture: Fixture): CheckCase {
  return {
    id: "robustness/short-length",
    title: "a total length below 12: an error answer or a close",
    kind: "robustness",
    async run(context) {
      const probe = await context.open(fixture.server);
      const packet = examplePacket(fixture.small, false);
      new DataView(packet.buffer).setUint16(4, 8);
      await probe.send(packet, `${exampleDescription(fixture.small, false)} with total length 8`);
      await answersOrCloses(
        probe,
        context,
        (status) => status >= 400,
        "an error answer (400 or 500)",
      );
      await stillAnswers(context, fixture);
    },
  };
}

function shortPacketCase(fixture: Fixture): CheckCase {
  return {
    id: "robustness/short-packet",
    title: "5 bytes, then nothing: an error answer or a close, not a hang",
    kind: "robustness",
    async run(context) {
      const probe = await context.open(fixture.server);
      await probe.send(
        examplePacket(fixture.small, false).subarray(0, 5),
        "the first 5 bytes of a header, then nothing",
      );
      await answersOrCloses(
        probe,
        context,
        (status) => status >= 400,
        "an error answer (400 or 500)",
      );
      await stillAnswers(context, fixture);
    },
  };
}

function undecodableCase(fixture: Fixture, seed: number): CheckCase {
  const random = new SeededRandom(seed ^ 0x5eed);
  const data = encodeExpr(fixture.small.expr);
  const payloads: readonly (readonly [string, Uint8Array])[] = [
    ["the first half of a valid pickle", data.subarray(0, data.length >> 1)],
    // 0xff is no pickle opcode: an unpickler stops at the first byte.
    ["64 random bytes after 0xff", Uint8Array.of(0xff, ...random.bytes(63))],
    ["PROTO 4 then 0xff", Uint8Array.of(0x80, 0x04, 0xff)],
    ["a pickle of the list [1, 2, 3]", pickleDumps(pyList([1n, 2n, 3n]))],
  ];
  return {
    id: "robustness/undecodable",
    title: "undecodable data gets 400 ValueError, and the connection stays usable",
    kind: "robustness",
    async run(context) {
      const probe = await context.open(fixture.server);
      for (const [what, payload] of payloads) {
        const received = await probe.exchange(
          requestPacket(payload, courseFlags(false)),
          `a request whose data is ${what}`,
          context.timeoutMs,
        );
        const observed = observe(received);
        if (
          observed.statusCode !== Status.ClientError || observed.body.kind !== "error" ||
          observed.body.type !== "ValueError"
        ) {
          throw new CaseFailure(
            "400 ValueError('Received data could not be deserialized') or ValueError('Received data is not an Expression2')",
            `status ${observed.statusCode}, ${
              observed.body.kind === "error"
                ? `${observed.body.type}: ${observed.body.message}`
                : observed.body.kind
            }`,
          );
        }
      }
      expectAnswer(
        await probe.exchange(
          examplePacket(fixture.small, true),
          `${exampleDescription(fixture.small, true)} on the same connection`,
          context.timeoutMs,
        ),
        resultAnswer(fixture.small.repr, fixture.small.steps, true),
        fixture.cacheControl,
      );
    },
  };
}

/** A balanced sum of the constants first..first + leaves - 1 (`leaves` a power of two). */
function balancedSum(first: number, leaves: number): Expr {
  if (leaves === 1) return constant(BigInt(first));
  const half = leaves / 2;
  return binary(balancedSum(first, half), "+", balancedSum(first + half, half));
}

function largeRequestCase(fixture: Fixture): CheckCase {
  const expr = balancedSum(1, LARGE_REQUEST_LEAVES);
  const total = (LARGE_REQUEST_LEAVES * (LARGE_REQUEST_LEAVES + 1)) / 2;
  return {
    id: "robustness/large-request",
    title: `a request of tens of kilobytes (a balanced sum of ${LARGE_REQUEST_LEAVES} constants)`,
    kind: "robustness",
    async run(context) {
      const data = encodeExpr(expr);
      const probe = await context.open(fixture.server);
      const received = await probe.exchange(
        requestPacket(data, courseFlags(false)),
        `1 + 2 + … + ${LARGE_REQUEST_LEAVES} as a balanced tree, ${
          data.length + HEADER_SIZE
        } bytes (S=0)`,
        context.timeoutMs,
      );
      expectAnswer(received, resultAnswer(String(total), [], false), fixture.cacheControl);
    },
  };
}

/** The robustness suite's steps, in the order they run. */
export function robustnessSuite(server: Target, options: RobustnessSuiteOptions): Step[] {
  const examples = answeredExamples();
  const fixture: Fixture = {
    server,
    cacheControl: options.cacheControl,
    small: examples[1] as AnsweredExample,
    other: examples[3] as AnsweredExample,
  };
  return [
    splitCase(fixture),
    pipelinedCase(fixture),
    stalledCase(fixture),
    lyingLengthCase(fixture),
    shortLengthCase(fixture),
    shortPacketCase(fixture),
    undecodableCase(fixture, options.seed),
    largeRequestCase(fixture),
  ].map((check) => ({ kind: "case", check }));
}
