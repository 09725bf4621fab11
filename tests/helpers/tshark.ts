/**
 * Runs tshark (Wireshark's command-line reader) in the tests that check
 * calcnet's captures against it. They fail, rather than skip, when tshark
 * is missing: a skipped check would pass silently.
 *
 * @module
 */

/** Why a tshark test fails without it, and how to get it. */
export const TSHARK_MISSING =
  "tshark is required for this test: install it (Debian: apt-get install -y tshark) — .ci/run should";

/**
 * Runs `tshark args…` and returns its standard output.
 *
 * @throws {Error} {@linkcode TSHARK_MISSING} when tshark is not installed,
 * or tshark's standard error when it fails.
 */
export async function runTshark(args: readonly string[]): Promise<string> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("tshark", {
      args: [...args],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
  } catch (error: unknown) {
    if (error instanceof Deno.errors.NotFound) throw new Error(TSHARK_MISSING);
    throw error;
  }
  const stderr = new TextDecoder().decode(output.stderr);
  if (!output.success) throw new Error(`tshark ${args.join(" ")} failed: ${stderr}`);
  return new TextDecoder().decode(output.stdout);
}

/** The rows of `tshark -T fields` output: one array of field values per packet. */
export function fieldRows(output: string): string[][] {
  return output.split("\n").filter((line) => line !== "").map((line) => line.split("\t"));
}

/**
 * The installed tshark's version line.
 *
 * @throws {Error} {@linkcode TSHARK_MISSING} when tshark is not installed.
 */
export async function requireTshark(): Promise<string> {
  const version = await runTshark(["--version"]);
  return version.split("\n")[0] ?? "";
}
