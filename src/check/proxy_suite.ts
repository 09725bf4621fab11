/**
 * The proxy's conformance cases (docs/PROTOCOL.md §7), and its server-down cases.
 *
 * How a hit is told from a miss without touching the proxy or the server: a
 * server stamps each answer with the second it made it, and a proxy sends a
 * stored answer back unchanged, old time stamp included. So the suite first
 * sends requests no cache can hold yet (their numbers are drawn afresh for
 * every run), keeps the answers, and waits more than a second. After that,
 * every answer the server makes carries a later time stamp than those kept
 * (its clock has moved on by a full second), so an answer byte for byte
 * equal to a kept one was stored by the proxy, and one with a later time
 * stamp was fetched. `proxy/miss-then-hit` also asks the server directly to
 * confirm that it does stamp fresh answers (a server that cached on its own
 * would make the argument moot). The proxy's clock must be the server's
 * (same machine, or synchronised): it judges freshness by the server's
 * stamps.
 *
 * @module
 */

import type { Settled } from "../base/mod.ts";
import { binary, constant, evaluate, type Expr, formatNumber } from "../calc/mod.ts";
import type { CaseContext, CheckCase, Step } from "./case.ts";
import { CaseFailure, type Sent, type Target, targetName } from "./case_failure.ts";
import { answeredExamples } from "./course_answers.ts";
import { type CacheControlRule, expectAnswer, type Expected, resultAnswer } from "./expectation.ts";
import { setTimeout as sleep } from "node:timers/promises";
import { notListening, type Received } from "./probe.ts";
import { askExpr, courseFlags } from "./request.ts";
import { SetupProblem } from "./setup_problem.ts";
import { type RequestFlags, Status } from "../protocol/mod.ts";

/** What the proxy suite needs. */
export interface ProxySuiteOptions {
  /** The server behind the proxy. */
  readonly server: Target;
  /** The C flag and max-age the server's answers carry. */
  readonly cacheControl: CacheControlRule;
  /** A number drawn afresh for every run, so its requests are in no cache yet. */
  readonly nonce: bigint;
  /** Stops the server; when given, the server-down cases run last. */
  readonly stopServer?: () => Promise<void>;
  /** How long to wait for the server to stop accepting connections, in milliseconds. */
  readonly stopWaitMs: number;
}

/**
 * How long the suite waits between storing answers and checking them: more
 * than a second, so that the server's clock has moved on by a full second.
 */
export const HIT_WAIT_MS = 1100;

/** How often the suite looks whether the stopped server still accepts connections. */
const STOP_POLL_MS = 100;

/**
 * What to do about a server that goes on accepting connections. The
 * course's `server.py` may outlive one Ctrl-C (its port still listening);
 * a signal ends it at once.
 */
export const STILL_LISTENING_HINT: string =
  "stop it with 'kill <pid>' (one Ctrl-C may leave the course's server.py listening), " +
  "or let check do it: --stop-server-cmd 'kill <pid>'";

/** How fast a proxy must answer while the server is down (docs/PROTOCOL.md §7: about 0.5 ms). */
export const SERVER_DOWN_ANSWER_MS = 1000;

/** The course proxy's error when it cannot reach the server (docs/PROTOCOL.md §7). */
export const SERVER_DOWN_ERROR: Expected = {
  kind: "error",
  statusCode: Status.ServerError,
  type: "CalculatorServerError",
  message: "('Internal proxy error', CalculatorServerError('Connection refused by server and " +
    "the request was not in the cache/it was stale'))",
};

/** A request of the suite with its expected answer. */
interface Question {
  readonly text: string;
  readonly expr: Expr;
  readonly flags: RequestFlags;
  readonly expected: Expected;
}

/** What a priming request came to: its answer, or why the case fails. */
type Primed = Settled<Received, CaseFailure>;

/** `nonce + k`, a sum no cache holds yet, with its answer computed by calcnet. */
function uniqueSum(nonce: bigint, k: number, flags: RequestFlags): Question {
  const expr = binary(constant(nonce), "+", constant(BigInt(k)));
  const { result, steps } = evaluate(expr, { showSteps: true });
  return {
    text: `${nonce} + ${k}`,
    expr,
    flags,
    expected: resultAnswer(formatNumber(result), steps, flags.showSteps),
  };
}

/** `nonce / 0`: a 400 no cache holds yet. */
function uniqueDivision(nonce: bigint): Question {
  return {
    text: `${nonce} / 0`,
    expr: binary(constant(nonce), "/", constant(0n)),
    flags: courseFlags(true),
    expected: {
      kind: "error",
      statusCode: Status.ClientError,
      type: "ZeroDivisionError",
      message: "division by zero",
    },
  };
}

function withFlags(q: Question, flags: RequestFlags): Question {
  const expected = q.expected.kind === "result" && !flags.showSteps
    ? { ...q.expected, steps: [] }
    : q.expected;
  return { ...q, flags, expected };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((byte, i) => byte === b[i]);
}

/** Sends `q` to `target` on a new connection and checks the answer. */
async function ask(
  context: CaseContext,
  target: Target,
  q: Question,
  cacheControl: CacheControlRule,
): Promise<Received> {
  const probe = await context.open(target);
  const received = await askExpr(probe, q.text, q.expr, q.flags, context.timeoutMs);
  expectAnswer(received, q.expected, cacheControl);
  return received;
}

/** The answer stored earlier for `q`, or the failure of the request that should have stored it. */
function storedAnswer(primes: ReadonlyMap<Question, Primed>, q: Question): Received {
  const primed = primes.get(q);
  if (primed === undefined) throw new Error(`no priming request for ${q.text}`);
  if (primed.kind === "error") {
    const { expected, got, sent } = primed.error;
    throw new CaseFailure(`(first request) ${expected}`, got, sent);
  }
  return primed.value;
}

/** Checks that `received` is `stored`, byte for byte: a hit. */
function expectHit(received: Received, stored: Received, what: string): void {
  if (sameBytes(received.packet, stored.packet)) return;
  const stamp = received.header.timestamp;
  const old = stored.header.timestamp;
  throw new CaseFailure(
    `${what}: the stored answer byte for byte (time stamp ${old}, ${stored.packet.length} bytes)`,
    stamp > old
      ? `an answer made later (time stamp ${stamp}): the proxy asked the server again`
      : `different bytes (time stamp ${stamp}, ${received.packet.length} bytes)`,
  );
}

/** Checks that `received` was made after `stored`: a miss. */
function expectFresh(received: Received, stored: Received, what: string): void {
  const stamp = received.header.timestamp;
  const old = stored.header.timestamp;
  if (stamp > old) return;
  throw new CaseFailure(
    `${what}: a fresh answer from the server (time stamp after ${old})`,
    sameBytes(received.packet, stored.packet)
      ? `the answer stored ${HIT_WAIT_MS / 1000} s earlier (time stamp ${old}): a cache hit`
      : `an answer with time stamp ${stamp}`,
  );
}

/** Whether the server is down, or what shows it is not. */
/** The proxy suite's steps, in the order they run. */
export function proxySuite(proxy: Target, options: ProxySuiteOptions): Step[] {
  const { cacheControl, nonce } = options;
  const hitQ = uniqueSum(nonce, 1, courseFlags(true));
  const stepsQ = uniqueSum(nonce, 2, courseFlags(true));
  const bypassQ = uniqueSum(nonce, 3, courseFlags(true));
  const noCacheQ = uniqueSum(nonce, 4, { showSteps: true, cacheResult: false, cacheControl: 0 });
  const expiryQ = uniqueSum(nonce, 5, { showSteps: true, cacheResult: true, cacheControl: 1 });
  const errorQ = uniqueDivision(nonce);
  const primes = new Map<Question, Primed>();

  const primeAll: Step = {
    kind: "action",
    describe: "sending requests that no cache holds yet, and keeping the answers",
    async run(context) {
      for (const q of [hitQ, stepsQ, bypassQ, noCacheQ, expiryQ, errorQ]) {
        try {
          primes.set(q, { kind: "value", value: await ask(context, proxy, q, cacheControl) });
        } catch (error: unknown) {
          if (!(error instanceof CaseFailure)) throw error;
          const sent: Sent | undefined = error.sent ?? context.lastSent();
          primes.set(q, { kind: "error", error: new CaseFailure(error.expected, error.got, sent) });
        }
      }
    },
  };

  const wait: Step = {
    kind: "action",
    describe: `waiting ${
      HIT_WAIT_MS / 1000
    } s, so that answers the server makes from now on carry a later time stamp`,
    run: () => sleep(HIT_WAIT_MS),
  };

  const cases: CheckCase[] = [
    {
      id: "proxy/miss-then-hit",
      title:
        "a request asked again is answered from the cache: the stored bytes, old time stamp included",
      kind: "conformance",
      async run(context) {
        const stored = storedAnswer(primes, hitQ);
        expectHit(await ask(context, proxy, hitQ, cacheControl), stored, "the same request again");
        // Only a server that stamps every answer afresh makes the argument sound.
        const direct = await ask(context, options.server, hitQ, cacheControl);
        if (direct.header.timestamp <= stored.header.timestamp) {
          throw new CaseFailure(
            `the server (${targetName(options.server)}, asked directly) to make a fresh answer, ` +
              `time stamp after ${stored.header.timestamp}; otherwise a hit cannot be told from a miss`,
            `time stamp ${direct.header.timestamp}`,
          );
        }
      },
    },
    {
      id: "proxy/steps-in-key",
      title:
        "the S flag is part of the key: the same expression with S=0 is a miss, and S=1 is still a hit",
      kind: "conformance",
      async run(context) {
        const stored = storedAnswer(primes, stepsQ);
        const without = withFlags(stepsQ, courseFlags(false));
        expectFresh(
          await ask(context, proxy, without, cacheControl),
          stored,
          "the same expression with S=0",
        );
        expectHit(await ask(context, proxy, stepsQ, cacheControl), stored, "S=1 again");
      },
    },
    {
      id: "proxy/bypass-keeps-entry",
      title:
        "max-age 0 gets a fresh answer and leaves the stored one: the next request is a hit on the old one",
      kind: "conformance",
      async run(context) {
        const stored = storedAnswer(primes, bypassQ);
        const bypass = withFlags(bypassQ, { showSteps: true, cacheResult: true, cacheControl: 0 });
        expectFresh(
          await ask(context, proxy, bypass, cacheControl),
          stored,
          "the same request with max-age 0",
        );
        expectHit(
          await ask(context, proxy, bypassQ, cacheControl),
          stored,
          "then with max-age 65535",
        );
      },
    },
    {
      id: "proxy/no-store-without-c",
      title: "an answer to a request with C=0 is not stored",
      kind: "conformance",
      async run(context) {
        const stored = storedAnswer(primes, noCacheQ);
        const cached = withFlags(noCacheQ, courseFlags(true));
        expectFresh(
          await ask(context, proxy, cached, cacheControl),
          stored,
          "the same request with C=1",
        );
      },
    },
    {
      id: "proxy/expiry",
      title: "a stored answer older than the request's max-age (1 s) is fetched again",
      kind: "conformance",
      async run(context) {
        const stored = storedAnswer(primes, expiryQ);
        expectFresh(
          await ask(context, proxy, expiryQ, cacheControl),
          stored,
          "the same request more than 1 s later",
        );
      },
    },
    {
      id: "proxy/cached-error",
      title: "a 400 answer is stored like a 200",
      kind: "conformance",
      async run(context) {
        const stored = storedAnswer(primes, errorQ);
        expectHit(
          await ask(context, proxy, errorQ, cacheControl),
          stored,
          "the same request again",
        );
      },
    },
    {
      id: "proxy/one-connection",
      title: "hits and misses one after another on one connection are answered in order",
      kind: "conformance",
      async run(context) {
        const probe = await context.open(proxy);
        const sequence = [
          hitQ,
          uniqueSum(nonce, 7, courseFlags(true)),
          errorQ,
          uniqueSum(nonce, 8, courseFlags(false)),
        ];
        for (const q of [...sequence, ...sequence]) {
          const received = await askExpr(probe, q.text, q.expr, q.flags, context.timeoutMs);
          expectAnswer(received, q.expected, cacheControl);
        }
      },
    },
    {
      id: "proxy/examples",
      title: "the six course examples through the proxy, with steps",
      kind: "conformance",
      async run(context) {
        for (const example of answeredExamples()) {
          await ask(
            context,
            proxy,
            {
              text: example.text,
              expr: example.expr,
              flags: courseFlags(true),
              expected: resultAnswer(example.repr, example.steps, true),
            },
            cacheControl,
          );
        }
      },
    },
  ];
  const steps: Step[] = [primeAll, wait, ...cases.map((check): Step => ({ kind: "case", check }))];
  if (options.stopServer === undefined) return steps;
  const stopServer = options.stopServer;

  const stop: Step = {
    kind: "action",
    describe: `stopping the server at ${targetName(options.server)}`,
    async run() {
      await stopServer();
      const deadline = Date.now() + options.stopWaitMs;
      while (await notListening(options.server, options.stopWaitMs) === null) {
        if (Date.now() > deadline) {
          throw new SetupProblem(
            `the server at ${targetName(options.server)} still accepts connections ` +
              `${options.stopWaitMs / 1000} s after it was to stop: the server-down cases ` +
              "were not run",
            STILL_LISTENING_HINT,
          );
        }
        await sleep(STOP_POLL_MS);
      }
    },
  };

  const downCase = (
    id: string,
    title: string,
    check: (context: CaseContext) => Promise<void>,
  ): CheckCase => ({
    id: `proxy-down/${id}`,
    title,
    kind: "conformance",
    run: check,
  });

  const quickly = (received: Received): Received => {
    if (received.ms > SERVER_DOWN_ANSWER_MS) {
      throw new CaseFailure(
        `an answer within ${SERVER_DOWN_ANSWER_MS} ms`,
        `an answer after ${Math.round(received.ms)} ms`,
      );
    }
    return received;
  };

  const downCases: CheckCase[] = [
    downCase(
      "cached-served",
      "a stored answer is still served while the server is down",
      async (context) => {
        const stored = storedAnswer(primes, hitQ);
        expectHit(
          quickly(await ask(context, proxy, hitQ, cacheControl)),
          stored,
          "a stored request",
        );
      },
    ),
    downCase(
      "uncached-500",
      "a request not in the cache gets the course's 500 (C=0, max-age 0) within a second",
      async (context) => {
        quickly(
          await ask(context, proxy, {
            ...uniqueSum(nonce, 9, courseFlags(true)),
            expected: SERVER_DOWN_ERROR,
          }, 0),
        );
      },
    ),
    downCase(
      "bypass-500",
      "max-age 0 on a stored request gets the 500: it needs the server",
      async (context) => {
        const bypass = {
          ...withFlags(hitQ, { showSteps: true, cacheResult: true, cacheControl: 0 }),
          expected: SERVER_DOWN_ERROR,
        };
        quickly(await ask(context, proxy, bypass, 0));
      },
    ),
    downCase(
      "stale-500",
      "a stored answer older than the request's max-age gets the 500",
      async (context) => {
        const stale = {
          ...withFlags(hitQ, { showSteps: true, cacheResult: true, cacheControl: 1 }),
          expected: SERVER_DOWN_ERROR,
        };
        quickly(await ask(context, proxy, stale, 0));
      },
    ),
  ];
  return [...steps, stop, ...downCases.map((check): Step => ({ kind: "case", check }))];
}

/** A number in [10^12, 10^13) from the system's generator: no cache holds requests with it yet. */
export function freshNonce(): bigint {
  const words = crypto.getRandomValues(new Uint32Array(2));
  const bits = BigInt(words[0] as number) << 32n | BigInt(words[1] as number);
  return 1_000_000_000_000n + bits % 9_000_000_000_000n;
}
