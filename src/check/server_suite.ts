/**
 * The server's conformance cases: the course examples, the semantics table,
 * the error answers of docs/PROTOCOL.md §6, the S flag, `rand`, random expressions
 * and many requests on one connection.
 *
 * @module
 */

import {
  call,
  constant,
  evaluate,
  type Expr,
  formatNumber,
  parseExpression,
  type RandomState,
} from "../calc/mod.ts";
import {
  encodePacket,
  MAX_AGE_FOREVER,
  type RequestFlags,
  requestPacket,
  Status,
  unixSeconds,
} from "../protocol/mod.ts";
import { encodeExpr, pickleDumps } from "../pickle/mod.ts";
import type { CaseContext, CheckCase, Step } from "./case.ts";
import { CaseFailure, type Target } from "./case_failure.ts";
import {
  type AnsweredExample,
  answeredExamples,
  SEMANTICS_TABLE,
  type SemanticsRow,
} from "./course_answers.ts";
import {
  type CacheControlRule,
  describeExpected,
  describeObserved,
  differences,
  expectAnswer,
  type Expected,
  observe,
  resultAnswer,
} from "./expectation.ts";
import { askExpr, courseFlags, describeRequest } from "./request.ts";
import { randomExpressions } from "./random_expr.ts";
import { SeededRandom } from "./seeded_random.ts";

/** What the server suite needs. */
export interface ServerSuiteOptions {
  /** The seed of the random expressions and of the `rand` state. */
  readonly seed: number;
  /** How many random expressions to send. */
  readonly randomCount: number;
  /** The C flag and max-age every answer must carry. */
  readonly cacheControl: CacheControlRule;
}

/** How far a server's time stamp may be from the checker's clock, in seconds. */
export const CLOCK_TOLERANCE_SECONDS = 30;

/** Requests sent one after another on one connection by `server/one-connection`. */
export const ONE_CONNECTION_REQUESTS = 60;

/** A request of the suite: its tree, text, data and flags. */
interface Question {
  readonly text: string;
  readonly expr: Expr;
  readonly flags: RequestFlags;
}

function question(text: string, expr: Expr, flags: RequestFlags): Question {
  return { text, expr, flags };
}

/** Sends `q` on a new connection and compares the answer. */
async function ask(
  context: CaseContext,
  server: Target,
  q: Question,
  expected: Expected,
  cacheControl: CacheControlRule,
): Promise<void> {
  const probe = await context.open(server);
  const received = await askExpr(probe, q.text, q.expr, q.flags, context.timeoutMs);
  expectAnswer(received, expected, cacheControl);
}

function exampleCases(server: Target, cacheControl: CacheControlRule): CheckCase[] {
  return answeredExamples().flatMap((example) =>
    [true, false].map((steps): CheckCase => ({
      id: `server/example-${example.number}-${steps ? "steps" : "no-steps"}`,
      title: `course example ${example.number} ${
        steps ? "with" : "without"
      } steps: ${example.text}`,
      kind: "conformance",
      run: (context) =>
        ask(
          context,
          server,
          question(example.text, example.expr, courseFlags(steps)),
          resultAnswer(example.repr, example.steps, steps),
          cacheControl,
        ),
    }))
  );
}

function rowExpected(row: SemanticsRow, steps: boolean): Expected {
  return row.answer.kind === "result"
    ? resultAnswer(row.answer.repr, row.answer.steps, steps)
    : row.answer;
}

function semanticsCase(
  server: Target,
  row: SemanticsRow,
  cacheControl: CacheControlRule,
): CheckCase {
  const shown = row.answer.kind === "result"
    ? row.answer.repr
    : `${row.answer.type}: ${row.answer.message}`;
  return {
    id: `server/semantics/${row.text}`,
    title: `${row.text} → ${
      shown.length > 40 ? `${shown.slice(0, 40)}…` : shown
    }, with and without steps`,
    kind: "conformance",
    async run(context) {
      const probe = await context.open(server);
      for (const steps of [true, false]) {
        const flags = courseFlags(steps);
        const received = await askExpr(probe, row.text, row.expr, flags, context.timeoutMs);
        expectAnswer(received, rowExpected(row, steps), cacheControl);
      }
    },
  };
}

/** A case that sends raw `data` (or a whole packet) and expects a 400 with `text`. */
function errorCase(
  server: Target,
  cacheControl: CacheControlRule,
  spec: {
    readonly id: string;
    readonly title: string;
    readonly what: string;
    readonly packet: () => Uint8Array;
    readonly type: "TypeError" | "ValueError";
    readonly message: string;
  },
): CheckCase {
  return {
    id: `server/error/${spec.id}`,
    title: spec.title,
    kind: "conformance",
    async run(context) {
      const probe = await context.open(server);
      const received = await probe.exchange(spec.packet(), spec.what, context.timeoutMs);
      expectAnswer(
        received,
        { kind: "error", statusCode: Status.ClientError, type: spec.type, message: spec.message },
        cacheControl,
      );
    },
  };
}

function errorCases(server: Target, cacheControl: CacheControlRule): CheckCase[] {
  const example = encodeExpr(parseExpression("max(2, 3) + 3"));
  const withData = (data: Uint8Array) => () => requestPacket(data, courseFlags(true));
  return [
    errorCase(server, cacheControl, {
      id: "response-instead-of-request",
      title: "a packet with T=0 gets 400 TypeError('Received a response instead of a request')",
      what: "`max(2, 3) + 3` in a packet with T=0 (a response)",
      packet: () =>
        encodePacket(
          {
            timestamp: unixSeconds(Date.now()),
            cacheResult: true,
            showSteps: true,
            isRequest: false,
            statusCode: Status.Ok,
            cacheControl: MAX_AGE_FOREVER,
          },
          example,
        ),
      type: "TypeError",
      message: "Received a response instead of a request",
    }),
    errorCase(server, cacheControl, {
      id: "garbage-data",
      title:
        "data that is not a pickle gets 400 ValueError('Received data could not be deserialized')",
      what: 'a request whose data is b"garbage!"',
      packet: withData(new TextEncoder().encode("garbage!")),
      type: "ValueError",
      message: "Received data could not be deserialized",
    }),
    errorCase(server, cacheControl, {
      id: "not-an-expression",
      title: "a pickle of 42 gets 400 ValueError('Received data is not an Expression2')",
      what: "a request whose data is pickle.dumps(42)",
      packet: withData(pickleDumps(42n)),
      type: "ValueError",
      message: "Received data is not an Expression2",
    }),
    errorCase(server, cacheControl, {
      id: "empty-data",
      title: "a request without data gets 400 ValueError('Received data is not an Expression2')",
      what: "a 12-byte request: a header and no data",
      packet: withData(new Uint8Array(0)),
      type: "ValueError",
      message: "Received data is not an Expression2",
    }),
  ];
}

function stepsFlagCase(server: Target, cacheControl: CacheControlRule): CheckCase {
  const checks: readonly (readonly [string, boolean, Expected])[] = [
    ["5", true, resultAnswer("5", [], true)],
    ["1 / 0", true, {
      kind: "error",
      statusCode: Status.ClientError,
      type: "ZeroDivisionError",
      message: "division by zero",
    }],
    ["1 + 2", false, resultAnswer("3", [], false)],
    ["1 + 2", true, resultAnswer("3", ["1 + 2", "3"], true)],
  ];
  return {
    id: "server/s-flag",
    title: "the S flag of an answer is set exactly when it carries steps",
    kind: "conformance",
    async run(context) {
      const probe = await context.open(server);
      for (const [text, steps, expected] of checks) {
        const flags = courseFlags(steps);
        const received = await askExpr(
          probe,
          text,
          parseExpression(text),
          flags,
          context.timeoutMs,
        );
        expectAnswer(received, expected, cacheControl);
      }
    },
  };
}

function timestampCase(server: Target): CheckCase {
  return {
    id: "server/time-stamp",
    title:
      `an answer's time stamp is the time it was made (within ${CLOCK_TOLERANCE_SECONDS} s of ours)`,
    kind: "conformance",
    async run(context) {
      const probe = await context.open(server);
      const flags = courseFlags(false);
      const before = unixSeconds(Date.now());
      const received = await askExpr(
        probe,
        "1 + 2",
        parseExpression("1 + 2"),
        flags,
        context.timeoutMs,
      );
      const after = unixSeconds(Date.now());
      const stamp = received.header.timestamp;
      if (stamp < before - CLOCK_TOLERANCE_SECONDS || stamp > after + CLOCK_TOLERANCE_SECONDS) {
        throw new CaseFailure(
          `a time stamp between ${before - CLOCK_TOLERANCE_SECONDS} and ${
            after + CLOCK_TOLERANCE_SECONDS
          }`,
          `time stamp ${stamp} (${stamp - before} s from our clock)`,
        );
      }
    },
  };
}

/** A CPython `random.Random` state drawn from `seed` (624 words, fresh index). */
export function seededRandomState(seed: number): RandomState {
  const random = new SeededRandom(seed);
  return {
    words: Uint32Array.from({ length: 624 }, () => random.nextUint32()),
    index: 624,
    gauss: null,
  };
}

function randCase(server: Target, seed: number, cacheControl: CacheControlRule): CheckCase {
  const expr = call("rand", [constant(1n), constant(2n)], seededRandomState(seed));
  return {
    id: "server/rand",
    title: "rand(1, 2) continues the Random state sent with the request, as CPython does",
    kind: "conformance",
    async run(context) {
      const { result, steps } = evaluate(expr, { showSteps: true });
      await ask(
        context,
        server,
        question("rand(1, 2)", expr, courseFlags(true)),
        resultAnswer(formatNumber(result), steps, true),
        cacheControl,
      );
    },
  };
}

function randomCase(server: Target, options: ServerSuiteOptions): CheckCase {
  return {
    id: "server/random",
    title: `${options.randomCount} random expressions (seed ${options.seed}) on one connection, ` +
      "answers computed by calcnet",
    kind: "conformance",
    async run(context) {
      const probe = await context.open(server);
      const cases = randomExpressions(options.seed, options.randomCount);
      const failures: string[] = [];
      let first: CaseFailure | undefined;
      for (const [i, item] of cases.entries()) {
        const flags = courseFlags(item.showSteps);
        const packet = requestPacket(encodeExpr(item.expr), flags);
        const description = `random #${i + 1}: ${describeRequest(item.text, flags)}`;
        const received = await probe.exchange(packet, description, context.timeoutMs);
        const expected = resultAnswer(item.repr, item.expectedSteps, item.showSteps);
        const observed = observe(received);
        const wrong = differences(observed, expected, options.cacheControl);
        if (wrong.length === 0) continue;
        failures.push(`#${i + 1} (wrong: ${wrong.join(", ")})`);
        first ??= new CaseFailure(
          `all answers as calcnet computes them; #${i + 1}: ${
            describeExpected(expected, options.cacheControl)
          }`,
          `#${i + 1}: ${describeObserved(observed)}`,
          { description, bytes: packet },
        );
      }
      if (first !== undefined) {
        throw new CaseFailure(
          first.expected,
          `${first.got}; ${failures.length} of ${cases.length} differ: ${
            failures.slice(0, 10).join(", ")
          }`,
          first.sent,
        );
      }
    },
  };
}

function oneConnectionCase(server: Target, cacheControl: CacheControlRule): CheckCase {
  const examples = answeredExamples();
  return {
    id: "server/one-connection",
    title: `${ONE_CONNECTION_REQUESTS} requests one after another on one connection`,
    kind: "conformance",
    async run(context) {
      const probe = await context.open(server);
      for (let i = 0; i < ONE_CONNECTION_REQUESTS; i++) {
        const example = examples[i % examples.length] as AnsweredExample;
        const steps = i % 2 === 0;
        const flags = courseFlags(steps);
        const received = await askExpr(
          probe,
          example.text,
          example.expr,
          flags,
          context.timeoutMs,
          `request ${i + 1} of ${ONE_CONNECTION_REQUESTS}: `,
        );
        expectAnswer(received, resultAnswer(example.repr, example.steps, steps), cacheControl);
      }
    },
  };
}

/** The server suite's steps, in the order they run. */
export function serverSuite(server: Target, options: ServerSuiteOptions): Step[] {
  const cases: CheckCase[] = [
    ...exampleCases(server, options.cacheControl),
    ...SEMANTICS_TABLE.map((row) => semanticsCase(server, row, options.cacheControl)),
    ...errorCases(server, options.cacheControl),
    stepsFlagCase(server, options.cacheControl),
    timestampCase(server),
    randCase(server, options.seed, options.cacheControl),
    ...(options.randomCount > 0 ? [randomCase(server, options)] : []),
    oneConnectionCase(server, options.cacheControl),
  ];
  return cases.map((check) => ({ kind: "case", check }));
}
