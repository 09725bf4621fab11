/**
 * A service under test in its own process (so that it does not share an
 * event loop with the load generator): spawned with `deno run`, ready once
 * it prints "listening on HOST:PORT" to stderr, measured through /proc (memory
 * and CPU time), and
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
  /** Resident memory now and at its peak, in bytes (undefined where /proc is missing or closed). */
  memory(): Promise<{ readonly rss: number; readonly peak: number } | undefined>;
  /** The CPU time it has used so far, in milliseconds (undefined where /proc is missing or closed). */
  cpuMs(): Promise<number | undefined>;
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

/** Where a service said it listens, and when. */
interface Listening {
  readonly hostname: string;
  readonly port: number;
  readonly at: number;
}

/**
 * A child's stderr, drained for its whole life so that it never blocks on a
 * full pipe: the "listening" line is looked for until found; after that the
 * bytes are only kept as a tail for diagnostics (a service that logs every
 * request writes megabytes a second, which must cost this process little).
 */
class StderrDrain {
  /** Resolves with the address once the "listening" line has come. */
  readonly listening: Promise<Listening>;
  /** Resolves when the child's stderr ends. */
  readonly done: Promise<void>;
  #tail: Uint8Array[] = [];
  #tailBytes = 0;
  #found: (address: Listening) => void = () => {};

  constructor(stderr: ReadableStream<Uint8Array>) {
    this.listening = new Promise((resolve) => this.#found = resolve);
    this.done = this.#drain(stderr);
  }

  /** The last {@linkcode KEPT_OUTPUT} bytes or so, as text. */
  text(): string {
    const all = new Uint8Array(this.#tailBytes);
    let offset = 0;
    for (const chunk of this.#tail) {
      all.set(chunk, offset);
      offset += chunk.length;
    }
    return new TextDecoder().decode(all.subarray(Math.max(0, all.length - KEPT_OUTPUT)));
  }

  async #drain(stderr: ReadableStream<Uint8Array>): Promise<void> {
    let searching = true;
    for await (const chunk of stderr) {
      this.#keep(chunk);
      const match = searching ? LISTENING.exec(this.text()) : null;
      if (match === null) continue;
      searching = false;
      this.#found({ hostname: match[1] ?? "", port: Number(match[2]), at: performance.now() });
    }
  }

  #keep(chunk: Uint8Array): void {
    this.#tail.push(chunk);
    this.#tailBytes += chunk.length;
    while (this.#tail.length > 1 && this.#tailBytes - (this.#tail[0]?.length ?? 0) >= KEPT_OUTPUT) {
      this.#tailBytes -= this.#tail.shift()?.length ?? 0;
    }
  }
}

/** The command line of a service: `deno run`, under `taskset` when `options.cpus` is given. */
function serviceCommand(script: string, args: readonly string[], options: SpawnOptions): string[] {
  const flags = options.v8Flags === undefined ? [] : [options.v8Flags];
  const deno = [Deno.execPath(), "run", ...PERMISSIONS, ...flags, script, ...args];
  // taskset execs the command, so the child's pid is the service's own.
  return options.cpus === undefined ? deno : ["taskset", "-c", options.cpus, ...deno];
}

/**
 * Waits for the "listening" line; kills the child when it exits first or
 * stays silent for `timeoutMs`.
 *
 * @throws {ServiceStartError} with the child's output.
 */
async function awaitListening(
  child: Deno.ChildProcess,
  stderr: StderrDrain,
  timeoutMs: number,
  what: string,
): Promise<Listening> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const failed = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ServiceStartError(`no "listening" line within ${timeoutMs} ms`)),
      timeoutMs,
    );
    child.status.then((status) => reject(new ServiceStartError(`exited with code ${status.code}`)));
  });
  failed.catch(() => {});
  try {
    return await Promise.race([stderr.listening, failed]);
  } catch (error: unknown) {
    if (!(error instanceof ServiceStartError)) throw error;
    signalQuietly(child, "SIGKILL");
    await child.status;
    await stderr.done;
    throw new ServiceStartError(`${what}: ${error.message}\n${stderr.text()}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const CLOCK_TICKS_PER_SECOND = 100;

/** The fields of `/proc/<pid>/stat` after the command name: utime is the 12th, stime the 13th. */
const UTIME_FIELD = 11;

/**
 * The CPU time a process has used (user and system, all its threads), in
 * milliseconds, from `/proc/<pid>/stat`; undefined where /proc is missing
 * or may not be read (Deno lets only `--allow-all` read it).
 */
export async function processCpuMs(pid: number): Promise<number | undefined> {
  let stat: string;
  try {
    stat = await Deno.readTextFile(`/proc/${pid}/stat`);
  } catch (error: unknown) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotCapable) {
      return undefined;
    }
    throw error;
  }
  // The command name is in parentheses and may hold spaces: count fields after it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[UTIME_FIELD]) + Number(fields[UTIME_FIELD + 1]);
  return Number.isFinite(ticks) ? ticks * 1000 / CLOCK_TICKS_PER_SECOND : undefined;
}

/** Resident memory now and at its peak, from `/proc/<pid>/status`; undefined without /proc. */
async function processMemory(
  pid: number,
): Promise<{ readonly rss: number; readonly peak: number } | undefined> {
  let status: string;
  try {
    status = await Deno.readTextFile(`/proc/${pid}/status`);
  } catch (error: unknown) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotCapable) {
      return undefined;
    }
    throw error;
  }
  const rss = statusField(status, "VmRSS");
  const peak = statusField(status, "VmHWM");
  return rss === undefined || peak === undefined ? undefined : { rss, peak };
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
  const started = performance.now();
  const command = serviceCommand(script, args, options);
  const child = new Deno.Command(command[0] ?? "", {
    args: command.slice(1),
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stderr = new StderrDrain(child.stderr);
  const address = await awaitListening(child, stderr, options.timeoutMs ?? 30_000, args.join(" "));
  let exited: Promise<Deno.CommandStatus> | undefined;
  const stop = (signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> => {
    if (exited === undefined) {
      signalQuietly(child, signal);
      exited = Promise.all([child.status, stderr.done]).then(([status]) => status);
    }
    return exited;
  };
  return {
    hostname: address.hostname,
    port: address.port,
    readyMs: address.at - started,
    memory: () => processMemory(child.pid),
    cpuMs: () => processCpuMs(child.pid),
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
