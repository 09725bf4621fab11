/**
 * Runs the real tshark with calcnet's dissector on a capture and returns, per
 * frame, the calcnet messages' fields and expert infos. Tests that need it
 * fail, rather than skip, when tshark is missing: CI installs it.
 *
 * @module
 */

import { DISSECTOR_LUA } from "../../src/wireshark/mod.ts";

/** How long one tshark run may take. */
const TSHARK_TIMEOUT_MS = 60_000;

/** What a test that needs tshark says when there is none. */
export const TSHARK_MISSING =
  "tshark is required for this test (Debian: apt-get install tshark; .ci/run installs it)";

/** One calcnet message of a frame: its `calcnet.*` fields and expert infos, in tree order. */
export interface DissectedMessage {
  /** Field name → its values, in order (a repeated field, e.g. `calcnet.step`, has several). */
  readonly fields: ReadonlyMap<string, readonly string[]>;
  /** The `calcnet.expert.*` names of the message's expert infos, in order. */
  readonly experts: readonly string[];
  /** The expert infos' messages, in order. */
  readonly expertMessages: readonly string[];
}

/** One frame as tshark dissected it. */
export interface DissectedFrame {
  readonly number: number;
  /** `frame.protocols`, e.g. "eth:ethertype:ip:tcp:calcnet". */
  readonly protocols: string;
  /** The Protocol column. */
  readonly protocol: string;
  /** The Info column. */
  readonly info: string;
  /** Its calcnet messages, in order (none for a frame without one). */
  readonly messages: readonly DissectedMessage[];
}

/** Runs `tshark args…` and returns its stdout; a failure (or stderr mentioning Lua) throws. */
export async function runTshark(
  args: readonly string[],
  env?: Record<string, string>,
): Promise<string> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TSHARK_TIMEOUT_MS);
  try {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command("tshark", {
        args: [...args],
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
        env,
        signal: controller.signal,
      }).spawn();
    } catch (error: unknown) {
      if (error instanceof Deno.errors.NotFound) throw new Error(TSHARK_MISSING);
      throw error;
    }
    const { code, stdout, stderr } = await child.output();
    const errors = new TextDecoder().decode(stderr);
    if (code !== 0 || /lua/i.test(errors)) {
      throw new Error(`tshark ${args.join(" ")} failed (exit ${code}): ${errors}`);
    }
    return new TextDecoder().decode(stdout);
  } finally {
    clearTimeout(timer);
  }
}

/** Options of {@linkcode dissect}. */
export interface DissectOptions {
  /** More tshark options, e.g. `["-o", "tcp.desegment_tcp_streams:FALSE"]`. */
  readonly tsharkArgs?: readonly string[];
}

/**
 * Dissects a capture file's bytes with the embedded dissector (two passes,
 * as Wireshark shows a file) and returns every frame. Throws when the
 * output has a Lua error anywhere.
 */
export async function dissect(
  capture: Uint8Array,
  options: DissectOptions = {},
): Promise<DissectedFrame[]> {
  const dir = await Deno.makeTempDir({ prefix: "calcnet-tshark-" });
  try {
    const script = `${dir}/calcnet.lua`;
    const file = `${dir}/capture.pcap`;
    await Deno.writeTextFile(script, DISSECTOR_LUA);
    await Deno.writeFile(file, capture);
    const common = ["-2", "-X", `lua_script:${script}`, "-r", file, ...(options.tsharkArgs ?? [])];
    const json = await runTshark([...common, "-T", "json", "--no-duplicate-keys"]);
    if (json.includes("Lua Error") || json.includes("_ws.lua.error")) {
      throw new Error(`the dissector raised a Lua error:\n${json}`);
    }
    const columns = await runTshark([
      ...common,
      "-T",
      "fields",
      "-E",
      "separator=/t",
      "-e",
      "frame.number",
      "-e",
      "frame.protocols",
      "-e",
      "_ws.col.Protocol",
      "-e",
      "_ws.col.Info",
    ]);
    return framesOf(JSON.parse(json) as unknown[], columns);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

function framesOf(packets: readonly unknown[], columns: string): DissectedFrame[] {
  const rows = columns.trimEnd().split("\n").map((line) => line.split("\t"));
  return packets.map((packet, i) => {
    const [number, protocols, protocol, info] = rows[i] ?? [];
    const layers = (packet as { _source: { layers: Record<string, unknown> } })._source.layers;
    const calcnet = layers["calcnet"];
    const messages = calcnet === undefined
      ? []
      : (Array.isArray(calcnet) ? calcnet : [calcnet]).map(messageOf);
    return {
      number: Number(number),
      protocols: protocols ?? "",
      protocol: protocol ?? "",
      info: info ?? "",
      messages,
    };
  });
}

function messageOf(layer: unknown): DissectedMessage {
  const fields = new Map<string, string[]>();
  const experts: string[] = [];
  const expertMessages: string[] = [];
  const visit = (value: unknown, key: string): void => {
    if (Array.isArray(value)) {
      for (const item of value) visit(item, key);
    } else if (typeof value === "object" && value !== null) {
      for (const [inner, innerValue] of Object.entries(value)) visit(innerValue, inner);
    } else if (key.startsWith("calcnet.expert.")) {
      experts.push(key.slice("calcnet.expert.".length));
    } else if (key === "_ws.expert.message") {
      expertMessages.push(String(value));
    } else if (key.startsWith("calcnet.")) {
      const values = fields.get(key) ?? [];
      values.push(String(value));
      fields.set(key, values);
    }
  };
  visit(layer, "");
  return { fields, experts, expertMessages };
}

/** tshark's arguments that print `names` as tab-separated fields, one frame a line. */
export function fieldFlags(...names: readonly string[]): string[] {
  return ["-T", "fields", ...names.flatMap((name) => ["-e", name])];
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
