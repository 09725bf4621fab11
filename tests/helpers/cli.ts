/** Runs calcnet's CLI as a subprocess, as a user would. */

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** What a finished command printed and returned. */
export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** How to run calcnet besides its arguments. */
export interface CliOptions {
  /** Environment variables added to this process's (NO_COLOR is always set). */
  readonly env?: Readonly<Record<string, string>>;
  /** Deno's permission flags (default `-A`), e.g. {@linkcode RELEASE_PERMISSIONS}. */
  readonly permissions?: readonly string[];
  /** {@linkcode runCli}: kill the command (SIGKILL) if it runs longer than this. */
  readonly timeoutMs?: number;
  /** Run it with this soft limit on open files (`ulimit -n`; POSIX only). */
  readonly openFiles?: number;
}

/** The permissions the release binary is compiled with (deno.json's compile task). */
export const RELEASE_PERMISSIONS: readonly string[] = [
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-write",
];

/** Deno's cache folder as this test process sees it. */
const DENO_DIR = (() => {
  const output = new Deno.Command(Deno.execPath(), { args: ["info", "--json"], stdout: "piped" })
    .outputSync();
  return (JSON.parse(new TextDecoder().decode(output.stdout)) as { denoDir: string }).denoDir;
})();

/**
 * The environment of a calcnet child: `env` over ours, with Deno's cache
 * kept where it is even when `env` moves HOME (else Deno would download its
 * npm packages again, and say so on stderr).
 */
function childEnv(env: Readonly<Record<string, string>> = {}): Record<string, string> {
  return { DENO_DIR, ...env, NO_COLOR: "1" };
}

/** The arguments of `deno` that run calcnet with `args`. */
function denoArgs(args: readonly string[], options: CliOptions): string[] {
  return ["run", "--no-prompt", ...(options.permissions ?? ["-A"]), MAIN, ...args];
}

/** Runs `calcnet ...args` to completion (stdin from `input`, NO_COLOR set). */
export async function runCli(
  args: readonly string[],
  input = "",
  options: CliOptions = {},
): Promise<CliResult> {
  const session = spawnCli(args, options);
  await session.write(input);
  return await session.finish();
}

/** A calcnet command whose standard input a test writes piece by piece. */
export interface CliSession {
  /** Writes `text` to its standard input. */
  write(text: string): Promise<void>;
  /** Closes its standard input and waits for the end (SIGKILL after `timeoutMs`, if given). */
  finish(): Promise<CliResult>;
}

/** Starts `calcnet ...args` with standard input open (NO_COLOR set). */
export function spawnCli(args: readonly string[], options: CliOptions = {}): CliSession {
  const child = new Deno.Command(Deno.execPath(), {
    args: denoArgs(args, options),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
    env: childEnv(options.env),
  }).spawn();
  const writer = child.stdin.getWriter();
  const encoder = new TextEncoder();
  return {
    write: (text) => writer.write(encoder.encode(text)),
    async finish() {
      await writer.close();
      const timer = options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
      const output = await child.output();
      clearTimeout(timer);
      const decoder = new TextDecoder();
      return {
        code: output.code,
        stdout: decoder.decode(output.stdout),
        stderr: decoder.decode(output.stderr),
      };
    },
  };
}

/** A long-running calcnet subcommand (server, proxy) and the port it printed. */
export interface CliService extends AsyncDisposable {
  readonly child: Deno.ChildProcess;
  readonly port: number;
  /** Everything it printed on stderr so far (after it stops: all of it). */
  stderr(): string;
  /** Sends `signal` and waits for the exit status. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/** Starts `calcnet ...args` and waits for its "listening on HOST:PORT" line. */
export async function startCli(
  args: readonly string[],
  options: CliOptions = {},
): Promise<CliService> {
  const deno = denoArgs(args, options);
  const [program, programArgs] = options.openFiles === undefined
    ? [Deno.execPath(), deno]
    : ["sh", ["-c", `ulimit -n ${options.openFiles} && exec "$0" "$@"`, Deno.execPath(), ...deno]];
  const child = new Deno.Command(program, {
    args: programArgs,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: childEnv(options.env),
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const reader = child.stderr.getReader();
  let port: number | undefined;
  while (port === undefined) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
    const match = /listening on [^\s:]+:(\d+)/.exec(text);
    if (match) port = Number(match[1]);
  }
  const draining = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += decoder.decode(value, { stream: true });
    }
  })();
  const stdoutDone = child.stdout.cancel();
  let status: Promise<Deno.CommandStatus> | undefined;
  const stop = async (signal: Deno.Signal = "SIGTERM"): Promise<Deno.CommandStatus> => {
    if (status === undefined) {
      try {
        child.kill(signal);
      } catch (error: unknown) {
        if (!(error instanceof TypeError)) throw error;
      }
      status = child.status;
    }
    const result = await status;
    await draining;
    await stdoutDone;
    return result;
  };
  if (port === undefined) {
    await stop();
    throw new Error(`calcnet ${args.join(" ")} did not start:\n${text}`);
  }
  return {
    child,
    port,
    stderr: () => text,
    stop,
    [Symbol.asyncDispose]: async () => void await stop(),
  };
}
