/**
 * Runs python3 for the tests that compare calcnet with CPython. They fail,
 * rather than skip, when python3 is missing: a skipped comparison would pass
 * silently.
 *
 * @module
 */

const FIXTURE = new URL("../fixtures/course_classes.py", import.meta.url);

/** A file URL as a local path (what python3 expects as an argument). */
function localPath(url: URL): string {
  const path = decodeURIComponent(url.pathname);
  return Deno.build.os === "windows" ? path.slice(1) : path;
}

/** Options of {@linkcode runPython}. */
export interface PythonOptions {
  /** Kill python3 and fail after this long (default 120 s). */
  readonly timeoutMs?: number;
  /** Variables added to the environment. */
  readonly env?: Readonly<Record<string, string>>;
}

/**
 * How the course-class mirror pickles `Associativity` members: by value, as
 * CPython 3.11.5+ does and the course's recordings show, or by name, as
 * CPython 3.11.0–3.11.4 (Debian 12's python3) does.
 */
export type EnumPickling = "value" | "name";

/** The environment that makes the course-class mirror pickle enums `form`'s way. */
export function enumPicklingEnv(form: EnumPickling): Record<string, string> {
  return { COURSE_ENUM_PICKLING: form };
}

/**
 * Runs `python3 args…` with `input` on stdin and returns its stdout. A run
 * longer than `options.timeoutMs` is killed and fails.
 *
 * @throws {Error} "python3 is required for this test (install python3)" when
 * there is no python3, or python3's stderr when it fails.
 */
export async function runPython(
  args: readonly string[],
  input: string,
  options: PythonOptions = {},
): Promise<string> {
  const timeoutMs = options.timeoutMs ?? 120_000;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  try {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command("python3", {
        args: [...args],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
        env: options.env,
        signal: controller.signal,
      }).spawn();
    } catch (error: unknown) {
      if (error instanceof Deno.errors.NotFound) {
        throw new Error("python3 is required for this test (install python3)");
      }
      throw error;
    }
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(input));
    await writer.close();
    const { code, stdout, stderr } = await child.output();
    if (controller.signal.aborted) {
      throw new Error(`python3 ${args.join(" ")} timed out after ${timeoutMs} ms`);
    }
    if (code !== 0) {
      throw new Error(`python3 ${args.join(" ")} failed: ${new TextDecoder().decode(stderr)}`);
    }
    return new TextDecoder().decode(stdout);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Sends one JSON request to the course-class mirror
 * (`tests/fixtures/course_classes.py COMMAND`) and returns its JSON answer.
 * Enum members are pickled by value unless `enums` says otherwise.
 */
export async function runFixture(
  command: string,
  request: unknown,
  enums: EnumPickling = "value",
): Promise<unknown> {
  const output = await runPython([localPath(FIXTURE), command], JSON.stringify(request), {
    env: enumPicklingEnv(enums),
  });
  return JSON.parse(output);
}
