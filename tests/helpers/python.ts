/**
 * Runs python3 for the tests that compare calcnet with CPython. They fail,
 * rather than skip, when python3 is missing: a skipped comparison would pass
 * silently.
 *
 * @module
 */

/** The local path of `tests/fixtures/<name>` (what python3 expects as an argument). */
export function fixturePath(name: string): string {
  const path = decodeURIComponent(new URL(`../fixtures/${name}`, import.meta.url).pathname);
  return Deno.build.os === "windows" ? path.slice(1) : path;
}

const FIXTURE = fixturePath("course_classes.py");

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
 * Starts `python3 args…` with `options` (stdin, stdout, env…).
 *
 * @throws {Error} "python3 is required for this test (install python3)" when
 * there is no python3.
 */
export function spawnPython(
  args: readonly string[],
  options: Omit<Deno.CommandOptions, "args"> = {},
): Deno.ChildProcess {
  try {
    return new Deno.Command("python3", { ...options, args: [...args] }).spawn();
  } catch (error: unknown) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error("python3 is required for this test (install python3)");
    }
    throw error;
  }
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
    const child = spawnPython(args, {
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: options.env,
      signal: controller.signal,
    });
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
  const output = await runPython([FIXTURE, command], JSON.stringify(request), {
    env: enumPicklingEnv(enums),
  });
  return JSON.parse(output);
}

/**
 * Runs a course-class mirror command that answers `{"hex": [...]}`
 * (`encode-expr`, `encode-value`, `encode-response`) once for several groups
 * of items, so that test steps share one python3 run: the answer's hex
 * strings come back split by group, in the groups' order.
 */
export async function runFixtureGroups<const G extends readonly (readonly unknown[])[]>(
  command: string,
  groups: G,
  enums: EnumPickling = "value",
): Promise<{ -readonly [K in keyof G]: string[] }> {
  const items = groups.flat();
  const { hex } = (await runFixture(command, { items }, enums)) as { hex: string[] };
  if (hex.length !== items.length) {
    throw new Error(`${command}: ${hex.length} answers to ${items.length} items`);
  }
  let at = 0;
  return groups.map((group) => hex.slice(at, at += group.length)) as {
    -readonly [K in keyof G]: string[];
  };
}
