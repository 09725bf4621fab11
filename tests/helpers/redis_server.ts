/**
 * A real redis-server for the tests: on a free port of 127.0.0.1, with no
 * persistence, in a temporary directory, stopped and removed on dispose.
 * Tests can kill it (SIGKILL), pause it (SIGSTOP/SIGCONT) and start it again
 * on the same port. Tests that need it fail, rather than skip, when
 * redis-server is missing: CI installs it.
 *
 * @module
 */

/** What a test that needs redis-server says when there is none. */
export const REDIS_MISSING =
  "redis-server is required for this test (Debian: apt-get install redis-server; .ci/run installs it)";

/** How long a starting redis-server may take to answer. */
const START_TIMEOUT_MS = 10_000;

/** The pause between readiness checks while it starts. */
const START_POLL_MS = 20;

/** How long one redis-cli command may take. */
const CLI_TIMEOUT_MS = 10_000;

/** Ports tried before giving up (another process may take a free port before redis does). */
const PORT_TRIES = 5;

/** A free TCP port on 127.0.0.1 (free when asked; redis-server binds it right after). */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

/** Runs a program, mapping "not installed" to {@linkcode REDIS_MISSING}. */
function spawn(program: string, options: Deno.CommandOptions): Deno.ChildProcess {
  try {
    return new Deno.Command(program, options).spawn();
  } catch (error: unknown) {
    if (error instanceof Deno.errors.NotFound) throw new Error(REDIS_MISSING);
    throw error;
  }
}

/** A running (or killed, or paused) redis-server. */
export class RedisServer implements AsyncDisposable {
  /** Its port. */
  readonly port: number;
  readonly #dir: string;
  #child: Deno.ChildProcess | undefined;

  private constructor(port: number, dir: string) {
    this.port = port;
    this.#dir = dir;
  }

  /** Starts one on a free port and waits until it answers. */
  static async start(): Promise<RedisServer> {
    const dir = await Deno.makeTempDir({ prefix: "calcnet-redis-" });
    let problem = "";
    for (let attempt = 0; attempt < PORT_TRIES; attempt++) {
      const server = new RedisServer(freePort(), dir);
      try {
        await server.restart();
        return server;
      } catch (error: unknown) {
        await server.kill();
        if (error instanceof Error && error.message === REDIS_MISSING) {
          await Deno.remove(dir, { recursive: true });
          throw error;
        }
        problem = error instanceof Error ? error.message : String(error);
      }
    }
    await Deno.remove(dir, { recursive: true });
    throw new Error(`redis-server did not start: ${problem}`);
  }

  /** `redis://127.0.0.1:<port>`. */
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts it (again) on the same port, after {@linkcode kill}; waits until it answers. */
  async restart(): Promise<void> {
    if (this.#child !== undefined) throw new Error("redis-server is already running");
    const log = `${this.#dir}/redis-${this.port}.log`;
    this.#child = spawn("redis-server", {
      args: [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        this.#dir,
        "--logfile",
        log,
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    });
    let ended = false;
    this.#child.status.then(() => ended = true);
    const deadline = performance.now() + START_TIMEOUT_MS;
    while (!(await this.#answers())) {
      if (ended || performance.now() > deadline) {
        const text = await Deno.readTextFile(log).catch(() => "(no log)");
        throw new Error(`redis-server on port ${this.port} did not answer:\n${text}`);
      }
      await new Promise((resolve) => setTimeout(resolve, START_POLL_MS));
    }
  }

  /** Kills it with SIGKILL (a crash: no goodbye to clients) and waits for it to end. */
  async kill(): Promise<void> {
    const child = this.#child;
    if (child === undefined) return;
    this.#child = undefined;
    try {
      child.kill("SIGKILL");
    } catch (error: unknown) {
      // It may have ended by itself (e.g. its port was taken).
      if (!(error instanceof TypeError)) throw error;
    }
    await child.status;
  }

  /** Pauses it (SIGSTOP): connections stay open, nothing is answered. */
  pause(): void {
    this.#child?.kill("SIGSTOP");
  }

  /** Resumes it after {@linkcode pause}. */
  resume(): void {
    this.#child?.kill("SIGCONT");
  }

  /**
   * Runs one command with redis-cli and returns its output, trimmed;
   * `input`, if given, is the command's last argument (`-x`), sent as bytes.
   */
  async cli(args: readonly string[], input?: Uint8Array): Promise<string> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), CLI_TIMEOUT_MS);
    let child: Deno.ChildProcess;
    try {
      child = spawn("redis-cli", {
        args: ["-p", String(this.port), ...(input === undefined ? [] : ["-x"]), ...args],
        stdin: input === undefined ? "null" : "piped",
        stdout: "piped",
        stderr: "piped",
        signal: controller.signal,
      });
    } catch (error: unknown) {
      clearTimeout(timer);
      throw error;
    }
    if (input !== undefined) {
      const writer = child.stdin.getWriter();
      await writer.write(input);
      await writer.close();
    }
    const { code, stdout, stderr } = await child.output().finally(() => clearTimeout(timer));
    const text = new TextDecoder().decode(stdout).trim();
    if (code !== 0) {
      throw new Error(`redis-cli ${args.join(" ")}: ${new TextDecoder().decode(stderr)}`);
    }
    return text;
  }

  /** Kills it and removes its directory. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.kill();
    await Deno.remove(this.#dir, { recursive: true });
  }

  /** Whether it answers PING (false while starting, or when it ended). */
  async #answers(): Promise<boolean> {
    try {
      return (await this.cli(["PING"])) === "PONG";
    } catch (error: unknown) {
      if (error instanceof Error && error.message === REDIS_MISSING) throw error;
      return false;
    }
  }
}
