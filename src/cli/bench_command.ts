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
  formatCount,
  formatReport,
  type LoadResult,
  progressLine,
  runLoad,
} from "../bench/mod.ts";
import { MAX_AGE_FOREVER } from "../protocol/mod.ts";
import { type Command, command, type CommandSpec, flag, type ParsedArgs } from "../term/mod.ts";
import { stopSignal } from "../term/mod.ts";

/** The expression sent unless --expr says otherwise: course example 2. */
const DEFAULT_EXPRESSION = courseExample(2);

/** The measuring time unless --duration or --requests says otherwise. */
const DEFAULT_DURATION_SECONDS = 10;

/** The most requests a connection may keep in flight (the servers' pipelining bound is 128). */
const MAX_WINDOW = 128;

/** Flags of `calcnet bench`. */
export const BENCH_FLAGS = {
  target: flag.hostPorts(
    "a server or proxy to load; with several, connections are spread round robin over them",
    { default: "127.0.0.1:9998" },
  ),
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
  window: flag.integer("requests each connection keeps in flight (1: a closed loop)", {
    min: 1,
    max: MAX_WINDOW,
    default: 1,
  }),
  "max-age": flag.integer("the requests' cache control (0: a proxy asks its server every time)", {
    min: 0,
    max: MAX_AGE_FOREVER,
    default: MAX_AGE_FOREVER,
  }),
  mixed: flag.boolean("every other request with cache control 0 (hits mixed with misses)"),
  "new-connection": flag.boolean(
    "open a new connection for every request (the course client's way)",
  ),
  echo: flag.boolean(
    "the target is the benchmark's echo server (src/bench/echo_main.ts): an answer is the request sent back",
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
    "calcnet bench --target 127.0.0.1:9999 --conns 1 --window 64 --mixed",
    'calcnet bench --expr "2 ** 100" --json',
    "calcnet bench --target 127.0.0.1:9998 --target 127.0.0.1:9997 --requests 100000" +
    "  # two proxies, one Redis",
  ],
  notes: [
    "Each connection sends a request, waits for the whole answer and sends the next (a closed",
    "loop), so the rate is what the target sustains; with --window N it keeps N requests in",
    "flight, sending as many as answers came back in one write. With --mixed the report also",
    "gives the hits per second (the answers to the requests with the usual cache control). A",
    "live progress line goes to stderr on a terminal. Errors are counted by kind: refused,",
    "no-local-port, reset, closed, timeout (no whole answer in 10 s), bad-frame, and status N",
    "for answers other than 200. The exit",
    "code is 1 when any request failed (2 usage error, 3 the target accepts no connection).",
    "With several --target, the report gives each one's answered requests beside the totals",
    "(`by_target` in --json).",
    "`deno task bench-suite` compares server, proxy and an echo server side by side.",
  ],
  permissions: [{ flag: "--allow-net" }],
};

/** The request packets: one, or with --mixed a request and the same with cache control 0. */
function benchPackets(flags: ParsedArgs<typeof BENCH_FLAGS>["flags"]): Uint8Array[] {
  const { expr: expression, steps, maxAge } = flags;
  const packet = benchRequest(expression, { showSteps: steps, cacheControl: maxAge });
  return flags.mixed
    ? [packet, benchRequest(expression, { showSteps: steps, cacheControl: 0 })]
    : [packet];
}

/** The hits per second of a --mixed run: the answers to its first packet. */
function hitsPerSecond(result: LoadResult): number {
  return result.elapsedMs > 0 ? (result.okByPacket[0] ?? 0) / (result.elapsedMs / 1000) : 0;
}

/** Runs `calcnet bench` and prints its report (or JSON) to stdout. */
async function benchMain({ flags }: ParsedArgs<typeof BENCH_FLAGS>): Promise<ExitCode> {
  const { target, requests, expr: expression, steps } = flags;
  if (requests !== undefined && flags.duration !== undefined) {
    throw new UsageError("give --duration or --requests, not both");
  }
  if (flags.window > 1 && flags.newConnection) {
    throw new UsageError(
      "--window keeps a connection for many requests: not with --new-connection",
    );
  }
  const durationMs = requests !== undefined
    ? undefined
    : flags.duration ?? DEFAULT_DURATION_SECONDS * 1000;
  const packets = benchPackets(flags);
  const bytes = packets[0]?.length ?? 0;
  // Connect once first, so that a wrong target fails at once with one clear
  // message instead of a run full of refusals.
  for (const { hostname, port } of target) (await CalcConnection.open(hostname, port)).close();
  const [first, ...moreTargets] = target;
  if (first === undefined) throw new UsageError("give a --target");

  using stop = stopSignal();
  const line = progressLine(
    Deno.stderr,
    durationMs === undefined ? `of ${requests} requests` : `of ${durationMs / 1000} s`,
  );
  const result = await runLoad({
    hostname: first.hostname,
    port: first.port,
    moreTargets,
    connections: flags.conns,
    durationMs,
    requests,
    packets,
    window: flags.window,
    newConnection: flags.newConnection,
    echo: flags.echo,
    signal: stop.signal,
    onProgress: line.update,
  }).finally(line.clear);
  const hits = flags.mixed ? hitsPerSecond(result) : undefined;
  if (flags.json) {
    const sent = { expression, steps, bytes, max_age: flags.maxAge, mixed: flags.mixed };
    console.log(JSON.stringify(benchJson(result, sent, hits), null, 2));
  } else {
    const mixed = flags.mixed ? ", every other request with cache control 0" : "";
    const request = `${expression}${steps ? " with steps" : ""} (${bytes} B${mixed})`;
    const report = formatReport(result, request);
    console.log(hits === undefined ? report : `${report}\nhits       ${formatCount(hits)}/s`);
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
  hitsPerSecond?: number,
): Record<string, unknown> {
  return {
    request,
    target: result.target,
    connections: result.connections,
    window: result.window,
    new_connection: result.newConnection,
    elapsed_ms: result.elapsedMs,
    ok: result.ok,
    requests_per_second: result.requestsPerSecond,
    ...(hitsPerSecond === undefined ? {} : { hits_per_second: hitsPerSecond }),
    latency_ms: result.latencyMs,
    errors: result.errors,
    error_count: result.errorCount,
    bytes_sent: result.bytesSent,
    bytes_received: result.bytesReceived,
    ...(result.byTarget.length > 1
      ? {
        by_target: result.byTarget.map(({ target, ok, errorCount }) => ({
          target,
          ok,
          error_count: errorCount,
        })),
      }
      : {}),
  };
}

/** `calcnet bench`. */
export const benchCommand: Command = command(BENCH_SPEC, benchMain);
