/**
 * `calcnet bench`: a closed-loop load generator for the protocol.
 *
 * @module
 */

import { ExitCode, UsageError } from "../errors.ts";
import { CalcConnection } from "../client/connection.ts";
import { runLoad } from "../bench/load_generator.ts";
import { formatReport } from "../bench/report.ts";
import { progressLine } from "../bench/progress_line.ts";
import { benchRequest, courseExample } from "../bench/request_packet.ts";
import {
  type CommandSpec,
  hostPortFlag,
  integerFlag,
  optionalStringFlag,
  type ParsedArgs,
  positiveSecondsFlag,
  stringFlag,
} from "./flags.ts";
import { stopSignal } from "./signals.ts";

/** The expression sent unless --expr says otherwise: course example 2. */
const DEFAULT_EXPRESSION = courseExample(2);

/** The measuring time unless --duration or --requests says otherwise. */
const DEFAULT_DURATION_SECONDS = 10;

/** Flags of `calcnet bench`. */
export const BENCH_SPEC: CommandSpec = {
  name: "bench",
  summary: "measure a server or proxy: requests/s, latency percentiles, errors",
  flags: {
    target: {
      type: "string",
      value: "HOST:PORT",
      description: "the server or proxy to load",
      default: "127.0.0.1:9998",
    },
    conns: {
      type: "string",
      value: "N",
      description: "concurrent connections, each sending one request at a time",
      default: "32",
    },
    duration: {
      type: "string",
      value: "SECONDS",
      description: `how long to measure (default ${DEFAULT_DURATION_SECONDS}; not with --requests)`,
    },
    requests: {
      type: "string",
      value: "N",
      description: "measure this many requests in all instead of a duration",
    },
    expr: {
      type: "string",
      value: "TEXT",
      description: "the expression every request carries",
      default: DEFAULT_EXPRESSION,
    },
    steps: { type: "boolean", description: "ask for the steps (S=1)" },
    "new-connection": {
      type: "boolean",
      description: "open a new connection for every request (the course client's way)",
    },
    json: { type: "boolean", description: "print the result as JSON instead of a report" },
  },
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
    "code is 1 when any request failed. `deno task bench` compares server, proxy and an echo",
    "server side by side.",
  ],
};

/** Runs `calcnet bench` and prints its report (or JSON) to stdout. */
export async function benchCommand(args: ParsedArgs): Promise<ExitCode> {
  if (args.positionals.length > 0) {
    throw new UsageError(
      `unexpected argument '${args.positionals[0]}'; the expression goes in --expr`,
    );
  }
  const target = hostPortFlag(args, "target");
  const connections = integerFlag(args, "conns", 1, 100_000);
  const hasRequests = optionalStringFlag(args, "requests") !== undefined;
  const hasDuration = optionalStringFlag(args, "duration") !== undefined;
  if (hasRequests && hasDuration) throw new UsageError("give --duration or --requests, not both");
  const requests = hasRequests
    ? integerFlag(args, "requests", 1, Number.MAX_SAFE_INTEGER)
    : undefined;
  const durationMs = hasRequests
    ? undefined
    : hasDuration
    ? positiveSecondsFlag(args, "duration")
    : DEFAULT_DURATION_SECONDS * 1000;
  const expression = stringFlag(args, "expr");
  const steps = args.booleans.has("steps");
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
    connections,
    durationMs,
    requests,
    packets: [packet],
    newConnection: args.booleans.has("new-connection"),
    signal: stop.signal,
    onProgress: line.update,
  }).finally(line.clear);
  const request = `${expression}${steps ? " with steps" : ""} (${packet.length} B)`;
  if (args.booleans.has("json")) {
    console.log(
      JSON.stringify({ request: { expression, steps, bytes: packet.length }, ...result }, null, 2),
    );
  } else {
    console.log(formatReport(result, request));
  }
  return result.errorCount > 0 || result.ok === 0 ? ExitCode.Failure : ExitCode.Ok;
}
