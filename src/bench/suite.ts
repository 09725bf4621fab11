/**
 * The side-by-side throughput benchmark of `deno task bench-suite`: the same
 * request against a framed echo server (the ceiling), calcnet's proxy on
 * cache hits and on misses, and calcnet's server, each over 1 and 32
 * persistent connections and with a new connection per request.
 *
 * Every service runs in its own process (started with `deno run`), and the
 * load generator runs in this one, so on a 2-core machine the generator and
 * the service under test each get a core rather than sharing one event loop.
 * Where `taskset` exists, the services are pinned to the last core (the
 * proxy and the server behind it share it for misses).
 *
 * Every scenario runs several times, interleaved with the others, and the
 * median is reported: the machine's other work comes and goes.
 *
 * Misses: the proxy's requests carry cache control 0, which makes the
 * proxy ask the server every time (docs/PROTOCOL.md §7) while the request is
 * otherwise identical. That measures the forwarding path (lookup skipped,
 * one pooled server connection per client connection, no store); a miss
 * that stores an answer adds one cache insertion to it.
 *
 * @module
 */

import { type LoadResult, runLoad } from "./load_generator.ts";
import {
  SUITE_MODES,
  type SuiteMode,
  type SuiteRow,
  suiteRow,
  type SuiteTarget,
} from "./suite_row.ts";
import { benchRequest } from "./request_packet.ts";
import { projectFile, type ServiceProcess, spawnCalcnet, spawnService } from "./service_process.ts";

/** Options of {@linkcode runSuite}. */
export interface SuiteOptions {
  /** The expression every request carries. */
  readonly expression: string;
  /** Whether requests ask for the steps. */
  readonly steps: boolean;
  /** Measuring time of each run. */
  readonly durationMs: number;
  /** Warm-up before each run (not counted). */
  readonly warmupMs: number;
  /** How many times every scenario runs (rounds interleave the scenarios). */
  readonly rounds: number;
  /** Cores for the services (`taskset -c`), from `serviceCpus()`; undefined: anywhere. */
  readonly cpus: string | undefined;
  /** Receives a line as each round ends. */
  readonly log: (line: string) => void;
}

/** What the whole suite measured. */
export interface SuiteResult {
  /** The request, described. */
  readonly request: string;
  /** Every scenario. */
  readonly rows: readonly SuiteRow[];
}

/** The row of `target` in column `column` of {@linkcode SUITE_MODES}, if it was measured. */
export function suiteRowAt(
  suite: SuiteResult,
  target: SuiteTarget,
  column: number,
): SuiteRow | undefined {
  return suite.rows.find((row) => row.target === target && row.mode === SUITE_MODES[column]);
}

/** A target's name as the log and the table print it. */
export const TARGET_TITLES: Readonly<Record<SuiteTarget, string>> = {
  echo: "echo server (ceiling)",
  "proxy-hit": "calcnet proxy, cache hits",
  "proxy-miss": "calcnet proxy, misses (server behind it)",
  server: "calcnet server",
};

/** Starts `calcnet server` with logging off, on `cpus` when given. */
export function spawnServer(cpus: string | undefined): Promise<ServiceProcess> {
  return spawnCalcnet(["server", "--port", "0", "--quiet"], { cpus });
}

/** Starts `calcnet proxy` in front of `server` with logging off, on `cpus` when given. */
export function spawnProxy(
  server: ServiceProcess,
  args: readonly string[],
  cpus: string | undefined,
): Promise<ServiceProcess> {
  return spawnCalcnet([
    "proxy",
    "--port",
    "0",
    "--server",
    `${server.hostname}:${server.port}`,
    "--quiet",
    ...args,
  ], { cpus });
}

/**
 * Runs every scenario `rounds` times and returns the median figures. The
 * rounds interleave the scenarios (every target in one mode, then the next
 * mode), so that a burst of other work on the machine hits one round of
 * each rather than all runs of one target; each ratio compares runs made
 * moments apart.
 *
 * @throws {ServiceStartError} when a service does not start.
 */
export async function runSuite(options: SuiteOptions): Promise<SuiteResult> {
  const request = benchRequest(options.expression, { steps: options.steps });
  const bypass = benchRequest(options.expression, { steps: options.steps, maxAge: 0 });
  const cpus = options.cpus;
  await using echo = await spawnService(projectFile("src/bench/echo_main.ts"), ["0"], { cpus });
  await using server = await spawnServer(cpus);
  await using proxy = await spawnProxy(server, ["--no-persist"], cpus);
  const plan: readonly [SuiteTarget, ServiceProcess, Uint8Array][] = [
    ["echo", echo, request],
    ["proxy-hit", proxy, request],
    ["proxy-miss", proxy, bypass],
    ["server", server, request],
  ];
  const runs = new Map<string, LoadResult[]>();
  const key = (target: SuiteTarget, mode: SuiteMode): string => `${target} ${mode.title}`;
  for (let round = 1; round <= options.rounds; round++) {
    for (const mode of SUITE_MODES) {
      for (const [target, service, packet] of plan) {
        const result = await runLoad({
          hostname: service.hostname,
          port: service.port,
          connections: mode.connections,
          newConnection: mode.newConnection,
          durationMs: options.durationMs,
          warmupMs: options.warmupMs,
          packets: [packet],
          echo: target === "echo",
        });
        runs.set(key(target, mode), [...runs.get(key(target, mode)) ?? [], result]);
      }
    }
    options.log(`round ${round} of ${options.rounds} done`);
  }
  const rows = plan.flatMap(([target]) =>
    SUITE_MODES.map((mode) =>
      suiteRow(target, mode, runs.get(key(target, mode)) ?? [], runs.get(key("echo", mode)) ?? [])
    )
  );
  const described = `${options.expression}${options.steps ? " with steps" : ""} ` +
    `(request ${request.length} B)`;
  return { request: described, rows };
}
