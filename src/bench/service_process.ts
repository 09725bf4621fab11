/**
 * A service under test in its own process (so that it does not share an
 * event loop with the load generator): spawned with `deno run`, ready once
 * it prints "listening on HOST:PORT" to stderr, measured through /proc, and
 * stopped with a signal.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

/** Permissions every service process gets: what `calcnet proxy` needs. */
const PERMISSIONS = ["--allow-net", "--allow-env", "--allow-read", "--allow-write"] as const;

/**
 * The V8 settings calcnet runs with, as deno.json's tasks and the compiled
 * binary set them: a 2 MiB young generation and a slow old-generation
 * growth (×1.1), which keep a proxy holding 100,000 entries under 250 MB
 * resident. (The echo baseline runs with V8's defaults.)
 */
export const CALCNET_V8_FLAGS = "--v8-flags=--max-semi-space-size=2,--heap-growing-percent=10";

/** The stderr text kept for diagnostics (the tail). */
const KEPT_OUTPUT = 64 * 1024;

/** Matches the line every calcnet service prints once it listens. */
const LISTENING = /listening on (\S+?):(\d+)/;

/** A service process that exited, or never said where it listens. */
export class ServiceStartError extends Error {
  /** The class name, as messages and logs show it. */
  override name: string = "ServiceStartError";
}

/** Options of {@linkcode spawnService}. */
export interface SpawnOptions {
  /** Run it on these cores (a `taskset -c` list), e.g. from `serviceCpus()`. */
  readonly cpus?: string;
  /** Give up when it has not printed where it listens after this long (default 30 s). */
  readonly timeoutMs?: number;
  /** A `--v8-flags=…` argument for deno (none by default). */
  readonly v8Flags?: string;
}

/** A running service process. */
export interface ServiceProcess extends AsyncDisposable {
  /** Where it listens. */
  readonly hostname: string;
  /** Its port. */
  readonly port: number;
  /** Milliseconds from spawning to the "listening" line (start-up, cache loading included). */
  readonly readyMs: number;
  /** Resident memory now and at its peak, in bytes (undefined where /proc is missing). */
  memory(): Promise<{ readonly rss: number; readonly peak: number } | undefined>;
  /** Sends `signal` (default SIGTERM) and waits for the exit. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/** The path of a file of this project, from this module's location. */
export function projectFile(relative: string): string {
  return fileURLToPath(new URL(`../../${relative}`, import.meta.url));
}

/** Reads a `/proc/<pid>/status` field in kB as bytes. */
function statusField(status: string, field: string): number | undefined {
  const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
  return match === null ? undefined : Number(match[1]) * 1024;
}

/** Sends `signal` to `child`, which may have exited already. */
function signalQuietly(child: Deno.ChildProcess, signal: Deno.Signal): void {
  try {
    child.kill(signal);
  } catch (error: unknown) {
    // Deno throws a TypeError for a process that has already exited.
    if (!(error instanceof TypeError)) throw error;
  }
}

/**
 * Spawns `deno run <permissions> <script> <args>` (under `taskset` when
 * `options.cpus` is given) and waits until it prints where it listens.
 *
 * @example
 * ```ts
 * await using server = await spawnService(projectFile("main.ts"), ["server", "--port", "0", "--quiet"]);
 * console.log(server.port);
 * ```
 * @throws {ServiceStartError} with the process's output when it exits or stays silent for
 *   `timeoutMs`.
 */
export async function spawnService(
  script: string,
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<ServiceProcess> {
  const timeoutMs = options.timeoutMs ?? 30_000;
  const started = performance.now();
  const flags = options.v8Flags === undefined ? [] : [options.v8Flags];
  const deno = [Deno.execPath(), "run", ...PERMISSIONS, ...flags, script, ...args];
  // taskset execs the command, so the child's pid is the service's own.
  const command = options.cpus === undefined ? deno : ["taskset", "-c", options.cpus, ...deno];
  const child = new Deno.Command(command[0] ?? "", {
    args: command.slice(1),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  let ready: (address: { hostname: string; port: number; at: number }) => void = () => {};
  const listening = new Promise<{ hostname: string; port: number; at: number }>((resolve) => {
    ready = resolve;
  });
  // Drains stderr for the process's whole life, so it never blocks on a full pipe.
  const draining = (async (): Promise<void> => {
    let found = false;
    for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
      text = (text + chunk).slice(-KEPT_OUTPUT);
      const match = found ? null : LISTENING.exec(text);
      if (match !== null) {
        found = true;
        ready({ hostname: match[1] ?? "", port: Number(match[2]), at: performance.now() });
      }
    }
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const failed = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ServiceStartError(`no "listening" line within ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.status.then((status) => reject(new ServiceStartError(`exited with code ${status.code}`)));
  });
  let address: { hostname: string; port: number; at: number };
  try {
    address = await Promise.race([listening, failed]);
  } catch (error: unknown) {
    if (!(error instanceof ServiceStartError)) throw error;
    signalQuietly(child, "SIGKILL");
    await child.status;
    await draining;
    throw new ServiceStartError(`${args.join(" ")}: ${error.message}\n${text}`);
  } finally {
    clearTimeout(timer);
  }
  failed.catch(() => {});
  let exited: Promise<Deno.CommandStatus> | undefined;
  const stop = (signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> => {
    if (exited === undefined) {
      signalQuietly(child, signal);
      exited = Promise.all([child.status, draining]).then(([status]) => status);
    }
    return exited;
  };
  return {
    hostname: address.hostname,
    port: address.port,
    readyMs: address.at - started,
    async memory() {
      let status: string;
      try {
        status = await Deno.readTextFile(`/proc/${child.pid}/status`);
      } catch (error: unknown) {
        if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotCapable) {
          return undefined;
        }
        throw error;
      }
      const rss = statusField(status, "VmRSS");
      const peak = statusField(status, "VmHWM");
      return rss === undefined || peak === undefined ? undefined : { rss, peak };
    },
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}

/** Spawns `calcnet <args>` (main.ts) with the V8 settings calcnet ships with. */
export function spawnCalcnet(
  args: readonly string[],
  options: SpawnOptions = {},
): Promise<ServiceProcess> {
  return spawnService(projectFile("main.ts"), args, { ...options, v8Flags: CALCNET_V8_FLAGS });
}
