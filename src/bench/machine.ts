/**
 * A description of the machine a benchmark ran on, for the report: figures
 * only compare within one machine.
 *
 * @module
 */

/** What the benchmark report says about the machine. */
export interface MachineDescription {
  /** Logical cores. */
  readonly cores: number;
  /** The CPU model (from /proc/cpuinfo), or "unknown". */
  readonly cpu: string;
  /** Operating system and kernel. */
  readonly os: string;
  /** Deno, V8 and TypeScript versions. */
  readonly runtime: string;
  /** When the run started (ISO 8601, UTC). */
  readonly date: string;
}

/** Reads a text file, or undefined when it is missing or not permitted. */
async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(path);
  } catch (error: unknown) {
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.NotCapable) {
      return undefined;
    }
    throw error;
  }
}

/** The OS release, or undefined without the permission to ask. */
function kernelRelease(): string | undefined {
  try {
    return Deno.osRelease();
  } catch (error: unknown) {
    if (error instanceof Deno.errors.NotCapable) return undefined;
    throw error;
  }
}

/**
 * Describes this machine: cores, CPU model (Linux), OS and its release,
 * runtime versions, date.
 */
export async function describeMachine(now: Date = new Date()): Promise<MachineDescription> {
  const cpuinfo = await readOptional("/proc/cpuinfo");
  const cpu = cpuinfo === undefined ? undefined : /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1];
  const osRelease = await readOptional("/etc/os-release");
  const distribution = osRelease === undefined
    ? undefined
    : /^PRETTY_NAME="?([^"\n]+)"?$/m.exec(osRelease)?.[1];
  const kernel = kernelRelease();
  const os = [
    distribution ?? Deno.build.os,
    kernel === undefined ? "" : `(kernel ${kernel})`,
    Deno.build.arch,
  ]
    .filter((part) => part !== "").join(" ");
  return {
    cores: navigator.hardwareConcurrency,
    cpu: cpu?.trim() ?? "unknown",
    os,
    runtime:
      `Deno ${Deno.version.deno} (V8 ${Deno.version.v8}, TypeScript ${Deno.version.typescript})`,
    date: now.toISOString().replace(/\.\d+Z$/, "Z"),
  };
}
