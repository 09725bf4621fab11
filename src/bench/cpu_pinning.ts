/**
 * Where the services under test run during a benchmark: pinned to the last
 * core with `taskset` on Linux, so that the load generator keeps the other
 * core(s) to itself and every run places the processes the same way. (On a
 * 2-core virtual machine, one connection's ping-pong runs about five times
 * faster when both processes happen to share a core than across two; left
 * to the scheduler, runs flip between the two.)
 *
 * @module
 */

/** The `taskset` core list for the services, or undefined where pinning is not available. */
export async function serviceCpus(): Promise<string | undefined> {
  const cores = navigator.hardwareConcurrency;
  if (Deno.build.os !== "linux" || cores < 2) return undefined;
  try {
    const probe = await new Deno.Command("taskset", {
      args: ["-c", String(cores - 1), "true"],
      stdout: "null",
      stderr: "null",
    }).output();
    return probe.success ? String(cores - 1) : undefined;
  } catch (error: unknown) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotCapable) {
      return undefined;
    }
    throw error;
  }
}
