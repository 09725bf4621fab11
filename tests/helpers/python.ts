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

/**
 * Runs `python3 args…` with `input` on stdin and returns its stdout. A run
 * longer than `timeoutMs` is killed and fails.
 *
 * @throws {Error} "python3 is required for this test (install python3)" when
 * there is no python3, or python3's stderr when it fails.
 */
export async function runPython(
  args: readonly string[],
  input: string,
  timeoutMs = 120_000,
): Promise<string> {
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
 */
export async function runFixture(command: string, request: unknown): Promise<unknown> {
  const output = await runPython([localPath(FIXTURE), command], JSON.stringify(request));
  return JSON.parse(output);
}
