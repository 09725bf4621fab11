/**
 * `calcnet bench`: a closed-loop load generator for the protocol.
 *
 * @module
 */

import { ExitCode, UsageError } from "../base/mod.ts";
import { CalcConnection } from "../client/mod.ts";
import {
  benchRequest,
  courseExample,
  formatReport,
  type LoadResult,
  progressLine,
  runLoad,
} from "../bench/mod.ts";
import { type Command, command, type CommandSpec, flag, type ParsedArgs } from "../term/mod.ts";
import { stopSignal } from "../term/mod.ts";

/** The expression sent unless --expr says otherwise: course example 2. */
const DEFAULT_EXPRESSION = courseExample(2);

/** The measuring time unless --duration or --requests says otherwise. */
const DEFAULT_DURATION_SECONDS = 10;

/** Flags of `calcnet bench`. */
export const BENCH_FLAGS = {
  target: flag.hostPort("the server or proxy to load", { default: "127.0.0.1:9998" }),
  conns: flag.integer("concurrent connections, each sending one request at a time", {
    min: 1,
    max: 100_000,
    default: 32,
  }),
  duration: flag.seconds(
    `how long to measure (default ${DEFAULT_DURATION_SECONDS}; not with --requests)`,
    { positive: true },
  ),
  requests: flag.integer("measure this many requests in all instead of a duration", {
    min: 1,
    max: Number.MAX_SAFE_INTEGER,
  }),
  expr: flag.string("the expression every request carries", {
    value: "TEXT",
    default: DEFAULT_EXPRESSION,
  }),
  steps: flag.boolean("ask for the steps (S=1)"),
  "new-connection": flag.boolean(
    "open a new connection for every request (the course client's way)",
  ),
  json: flag.boolean("print the result as one JSON document (snake_case keys) instead of a report"),
} as const;

/** The interface of `calcnet bench`. */
export const BENCH_SPEC: CommandSpec<typeof BENCH_FLAGS> = {
  name: "bench",
  summary: "measure a server or proxy: requests/s, latency percentiles, errors",
  flags: BENCH_FLAGS,
  examples: [
    "calcnet bench --target 127.0.0.1:9998 --conns 32 --duration 5 --steps",
    "calcnet bench --target 127.0.0.1:9999 --conns 1 --requests 10000 --new-connection",
    'calcnet bench --expr "2 ** 100" --json',
  ],
  notes: [
    "Each connection sends a request, waits for the whole answer and sends the next (a closed",
    "loop), so the rate is what the target sustains. A live progress line goes to stderr on a",
    "terminal. Errors are counted by kind: refused, no-local-port, reset, closed, timeout",
    "(no whole answer in 10 s), bad-frame, and status N for answers other than 200. The exit",
    "code is 1 when any request failed (2 usage error, 3 the target accepts no connection).",
    "`deno task bench-suite` compares server, proxy and an echo server side by side.",
  ],
  permissions: [{ flag: "--allow-net" }],
};

/** Runs `calcnet bench` and prints its report (or JSON) to stdout. */
async function benchMain({ flags }: ParsedArgs<typeof BENCH_FLAGS>): Promise<ExitCode> {
  const { target, requests, expr: expression, steps } = flags;
  if (requests !== undefined && flags.duration !== undefined) {
    throw new UsageError("give --duration or --requests, not both");
  }
  const durationMs = requests !== undefined
    ? undefined
    : flags.duration ?? DEFAULT_DURATION_SECONDS * 1000;
  const packet = benchRequest(expression, { steps });
  // Connect once first, so that a wrong target fails at once with one clear
  // message instead of a run full of refusals.
  (await CalcConnection.open(target.hostname, target.port)).close();

  using stop = stopSignal();
  const line = progressLine(
    Deno.stderr,
    durationMs === undefined ? `of ${requests} requests` : `of ${durationMs / 1000} s`,
  );
  const result = await runLoad({
    hostname: target.hostname,
    port: target.port,
    connections: flags.conns,
    durationMs,
    requests,
    packets: [packet],
    newConnection: flags.newConnection,
    signal: stop.signal,
    onProgress: line.update,
  }).finally(line.clear);
  const request = `${expression}${steps ? " with steps" : ""} (${packet.length} B)`;
  if (flags.json) {
    const sent = { expression, steps, bytes: packet.length };
    console.log(JSON.stringify(benchJson(result, sent), null, 2));
  } else {
    console.log(formatReport(result, request));
  }
  return result.errorCount > 0 || result.ok === 0 ? ExitCode.Failure : ExitCode.Ok;
}

/**
 * The JSON document of `bench --json`: snake_case keys, as every calcnet
 * JSON has (error kinds are values, spelled as the report spells them).
 */
export function benchJson(
  result: LoadResult,
  request: { readonly expression: string; readonly steps: boolean; readonly bytes: number },
): Record<string, unknown> {
  return {
    request,
    target: result.target,
    connections: result.connections,
    new_connection: result.newConnection,
    elapsed_ms: result.elapsedMs,
    ok: result.ok,
    requests_per_second: result.requestsPerSecond,
    latency_ms: result.latencyMs,
    errors: result.errors,
    error_count: result.errorCount,
    bytes_sent: result.bytesSent,
    bytes_received: result.bytesReceived,
  };
}

/** `calcnet bench`. */
export const benchCommand: Command = command(BENCH_SPEC, benchMain);
