/**
 * The side-by-side throughput benchmark of `deno task bench-suite`: the same
 * requests against a framed echo server (the ceiling), calcnet's proxy on
 * cache hits, on misses and on hits mixed with misses, and calcnet's server,
 * in the load modes and settings of `suite_plan.ts`.
 *
 * Every service runs in its own process (started with `deno run`), and the
 * load generator runs in this one. Services run as users run them (logging
 * on, placed by the OS) and, for comparison, quiet and pinned to the last
 * core with `taskset` (the proxy and the server behind it share it).
 *
 * Every scenario runs once per round, the rounds interleaving them, and the
 * median is reported with the spread of its ratio to the echo server: the
 * machine's other work comes and goes. The CPU time the service under test
 * used during each run is read from /proc: per request, it is the figure
 * that a busy machine disturbs least.
 *
 * Misses: the requests carry cache control 0, which makes the proxy ask the
 * server every time (docs/PROTOCOL.md §7), over a new connection per request
 * as the proxy does by default.
 *
 * @module
 */

import { type LoadResult, runLoad } from "./load_generator.ts";
import { type SuiteRow, suiteRow, type SuiteRun } from "./suite_row.ts";
import {
  type Scenario,
  scenarioKey,
  SUITE_MODES,
  SUITE_SETTINGS,
  suiteScenarios,
  type SuiteSetting,
} from "./suite_plan.ts";
import { benchRequest, courseExample } from "./request_packet.ts";
import { projectFile, type ServiceProcess, spawnCalcnet, spawnService } from "./service_process.ts";

/** Options of {@linkcode runSuite}. */
export interface SuiteOptions {
  /** Measuring time of each run. */
  readonly durationMs: number;
  /** Warm-up before each run (a run of its own, not counted). */
  readonly warmupMs: number;
  /** How many times every scenario runs (rounds interleave the scenarios). */
  readonly rounds: number;
  /** The core(s) for pinned services (`taskset -c`), from `serviceCpus()`; undefined: no pinned setting. */
  readonly cpus: string | undefined;
  /** The settings to measure (default: all of {@linkcode SUITE_SETTINGS}). */
  readonly settings?: readonly SuiteSetting[];
  /** Receives a line as each round ends. */
  readonly log: (line: string) => void;
}

/** What the whole suite measured. */
export interface SuiteResult {
  /** The requests of each course example, described. */
  readonly requests: Readonly<Record<1 | 2, string>>;
  /** The settings measured. */
  readonly settings: readonly SuiteSetting[];
  /** Every scenario. */
  readonly rows: readonly SuiteRow[];
}

/** The row of a scenario, if it was measured. */
export function suiteRowAt(
  suite: SuiteResult,
  setting: SuiteSetting["name"],
  target: SuiteRow["target"],
  mode: SuiteRow["mode"],
): SuiteRow | undefined {
  return suite.rows.find((row) =>
    row.setting === setting && row.target === target && row.mode === mode
  );
}

/** Starts `calcnet server`, logging or quiet, on `cpus` when given. */
export function spawnServer(
  cpus: string | undefined,
  logging = false,
): Promise<ServiceProcess> {
  return spawnCalcnet(["server", "--port", "0", ...(logging ? [] : ["--quiet"])], { cpus });
}

/** Starts `calcnet proxy` in front of `server`, logging or quiet, on `cpus` when given. */
export function spawnProxy(
  server: ServiceProcess,
  args: readonly string[],
  cpus: string | undefined,
  logging = false,
): Promise<ServiceProcess> {
  return spawnCalcnet([
    "proxy",
    "--port",
    "0",
    "--server",
    `${server.hostname}:${server.port}`,
    ...(logging ? [] : ["--quiet"]),
    ...args,
  ], { cpus });
}

/** The three services one setting loads. */
interface Services {
  readonly echo: ServiceProcess;
  readonly server: ServiceProcess;
  readonly proxy: ServiceProcess;
}

/**
 * Starts the services every setting needs, sharing them between settings
 * that run them alike; all are stopped when `stack` is disposed.
 */
async function startServices(
  settings: readonly SuiteSetting[],
  cpus: string | undefined,
  stack: AsyncDisposableStack,
): Promise<Map<SuiteSetting["name"], Services>> {
  const started = new Map<string, Services>();
  const bySetting = new Map<SuiteSetting["name"], Services>();
  for (const setting of settings) {
    const where = setting.pinned ? cpus : undefined;
    const key = `${setting.logging} ${where}`;
    let services = started.get(key);
    if (services === undefined) {
      const echoKey = [...started.entries()].find(([other]) => other.endsWith(` ${where}`));
      const echo = echoKey?.[1].echo ??
        stack.use(await spawnService(projectFile("src/bench/echo_main.ts"), [], { cpus: where }));
      const server = stack.use(await spawnServer(where, setting.logging));
      const proxy = stack.use(await spawnProxy(server, ["--no-persist"], where, setting.logging));
      services = { echo, server, proxy };
      started.set(key, services);
    }
    bySetting.set(setting.name, services);
  }
  return bySetting;
}

/** The request packets of each course example: C=1 (hits) and cache control 0 (misses). */
function examplePackets(): Record<1 | 2, { hit: Uint8Array; miss: Uint8Array }> {
  const packets = (example: number): { hit: Uint8Array; miss: Uint8Array } => ({
    hit: benchRequest(courseExample(example), { showSteps: true }),
    miss: benchRequest(courseExample(example), { showSteps: true, cacheControl: 0 }),
  });
  return { 1: packets(1), 2: packets(2) };
}

/** Loads a scenario's target once after a warm-up, reading the service's CPU time around it. */
async function runScenario(
  scenario: Scenario,
  services: Services,
  packets: { hit: Uint8Array; miss: Uint8Array },
  options: SuiteOptions,
): Promise<SuiteRun> {
  const { target } = scenario;
  const service = target === "echo"
    ? services.echo
    : target === "server"
    ? services.server
    : services.proxy;
  const mode = SUITE_MODES[scenario.mode];
  const load = (durationMs: number): Promise<LoadResult> =>
    runLoad({
      hostname: service.hostname,
      port: service.port,
      connections: mode.connections,
      newConnection: mode.newConnection,
      window: mode.window,
      durationMs,
      packets: target === "proxy-miss"
        ? [packets.miss]
        : target === "proxy-mixed"
        ? [packets.hit, packets.miss]
        : [packets.hit],
      echo: target === "echo",
    });
  await load(options.warmupMs);
  const before = await service.cpuMs();
  const result = await load(options.durationMs);
  const after = await service.cpuMs();
  const cpuMs = before === undefined || after === undefined ? undefined : after - before;
  return { result, cpuMs };
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
  const settings = (options.settings ?? SUITE_SETTINGS).filter((setting) =>
    !setting.pinned || options.cpus !== undefined
  );
  await using stack = new AsyncDisposableStack();
  const services = await startServices(settings, options.cpus, stack);
  const packets = examplePackets();
  const scenarios = suiteScenarios(settings);
  const runs = new Map<string, SuiteRun[]>();
  const key = (scenario: Scenario, target = scenario.target): string =>
    scenarioKey(scenario.setting.name, target, scenario.mode);
  for (let round = 1; round <= options.rounds; round++) {
    for (const scenario of scenarios) {
      const serving = services.get(scenario.setting.name) as Services;
      const run = await runScenario(scenario, serving, packets[scenario.setting.example], options);
      runs.set(key(scenario), [...runs.get(key(scenario)) ?? [], run]);
    }
    options.log(`round ${round} of ${options.rounds} done`);
  }
  const rows = scenarios.map((scenario) =>
    suiteRow(
      { setting: scenario.setting.name, target: scenario.target, mode: scenario.mode },
      runs.get(key(scenario)) ?? [],
      runs.get(key(scenario, "echo")) ?? [],
    )
  );
  const describe = (example: 1 | 2): string =>
    `${courseExample(example)} with steps (request ${packets[example].hit.length} B)`;
  return { requests: { 1: describe(1), 2: describe(2) }, settings, rows };
}
