/**
 * A test fixture run as its own process (tests/fixtures/*.ts), started and
 * waited for until it says it is ready, then killed as a crash would.
 *
 * @module
 */

/** A running fixture. */
export interface FixtureProcess {
  /** Its process id. */
  readonly pid: number;
  /** Kills it with SIGKILL, reads what it wrote to the end and resolves with its status. */
  kill(): Promise<Deno.CommandStatus>;
}

/**
 * Runs `tests/fixtures/<name>` with `permissions` and `args`, and resolves once
 * its standard output holds `ready` (or has ended).
 */
export async function startFixture(
  name: string,
  permissions: readonly string[],
  args: readonly string[],
  ready: string,
): Promise<FixtureProcess> {
  const fixture = new URL(`../fixtures/${name}`, import.meta.url).href;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, fixture, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let output = "";
  while (!output.includes(ready)) {
    const { value, done } = await lines.read();
    if (done) break;
    output += value;
  }
  return {
    pid: child.pid,
    async kill(): Promise<Deno.CommandStatus> {
      child.kill("SIGKILL");
      for (let read = await lines.read(); !read.done; read = await lines.read());
      return await child.status;
    },
  };
}
