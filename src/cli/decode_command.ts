/**
 * `calcnet decode`: prints the calculator messages of a pcap or pcapng file,
 * or of hex copied from Wireshark, as text blocks or JSON Lines.
 *
 * @module
 */

import {
  CaptureFormatError,
  decodeCapture,
  decodeHex,
  type DecodeReport,
  HexInputError,
  isCaptureFile,
  recordJson,
  recordText,
  summaryText,
} from "../capture/mod.ts";
import { ExitCode, UsageError } from "../base/mod.ts";
import { type Command, command, type CommandSpec, flag, type ParsedArgs } from "../term/mod.ts";

/** The largest input read (a file or standard input). */
export const MAX_INPUT_BYTES = 256 * 1024 * 1024;

/** Flags of `calcnet decode`. */
export const DECODE_FLAGS = {
  json: flag.boolean(
    "one JSON object per message, fragment or comment (JSON Lines; docs/DECODE.md)",
  ),
  hex: flag.boolean(
    "the arguments are hex text themselves (Wireshark: Copy → …as a Hex Stream)",
  ),
} as const;

/** The interface of `calcnet decode`. */
export const DECODE_SPEC: CommandSpec<typeof DECODE_FLAGS> = {
  name: "decode",
  summary: "print the messages of a capture file (pcap, pcapng) or of hex copied from Wireshark",
  positionals: "[FILE...|-]",
  flags: DECODE_FLAGS,
  examples: [
    "calcnet decode demo.pcapng",
    "calcnet decode --json proxy.pcapng > messages.jsonl",
    "calcnet decode --hex 6630a1b2017c1c00ffff0000800495…",
    "pbpaste | calcnet decode -",
  ],
  notes: [
    "Reads pcap and pcapng files (loopback, Ethernet, Linux cooked and raw IP captures) and follows",
    "each TCP stream on port 9998 or 9999, or with a segment that starts with a calculator header",
    "(then from its start, as Wireshark's second pass does): segments are put in order by",
    "sequence number and cut into messages by their total length. A file that",
    "is neither format is read as hex text: the protocol's bytes (one or more messages) or a whole",
    "frame (Ethernet or IP), as Wireshark's Copy → …as a Hex Stream gives them. With no FILE, or",
    "'-', standard input is read. Requests show their expression, responses their result, steps or",
    "error, each linked to its partner; anomalies of the header are marked with '!'.",
    "Exit status: 0 done, 2 usage error or input that cannot be read or decoded.",
  ],
  permissions: [{ flag: "--allow-read", when: "FILE arguments" }],
};

/** Runs `calcnet decode`. */
async function decodeMain(args: ParsedArgs<typeof DECODE_FLAGS>): Promise<ExitCode> {
  const hex = args.flags.hex;
  const inputs = args.positionals.length === 0 ? ["-"] : args.positionals;
  const reports: DecodeReport[] = [];
  for (const input of inputs) {
    reports.push(hex && input !== "-" ? hexReport(input, "hex") : await fileReport(input, hex));
  }
  const json = args.flags.json;
  const out = new Output();
  for (const report of reports) {
    for (const problem of report.problems) {
      console.error(`calcnet decode: ${report.source}: warning: ${problem}`);
    }
    for (const record of report.records) {
      out.write(json ? JSON.stringify(recordJson(record)) + "\n" : recordText(record) + "\n\n");
    }
    if (!json) out.write(summaryText(report) + "\n");
  }
  return ExitCode.Ok;
}

/** Decodes the file `input` ("-": standard input), a capture or hex text by its content. */
async function fileReport(input: string, hexOnly: boolean): Promise<DecodeReport> {
  const bytes = await readInput(input);
  if (!hexOnly && isCaptureFile(bytes)) {
    try {
      return decodeCapture(bytes, input);
    } catch (error: unknown) {
      if (!(error instanceof CaptureFormatError)) throw error;
      throw new UsageError(`${input}: ${error.message}`);
    }
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error: unknown) {
    if (!(error instanceof TypeError)) throw error;
    throw new UsageError(`${input}: not a pcap or pcapng file, nor hex text`);
  }
  return hexReport(text, input, hexOnly ? undefined : "not a pcap or pcapng file, nor hex text");
}

/** Decodes hex `text`; `notHex` replaces the hex error's message (for a file of unknown kind). */
function hexReport(text: string, source: string, notHex?: string): DecodeReport {
  try {
    return decodeHex(text, source);
  } catch (error: unknown) {
    if (!(error instanceof HexInputError)) throw error;
    throw new UsageError(
      `${source}: ${notHex === undefined ? error.message : `${notHex} (${error.message})`}`,
    );
  }
}

/** The bytes of a file, or of standard input for "-", at most {@linkcode MAX_INPUT_BYTES}. */
async function readInput(input: string): Promise<Uint8Array> {
  try {
    if (input !== "-") {
      const { size } = await Deno.stat(input);
      if (size > MAX_INPUT_BYTES) throw tooLarge(input);
      return await Deno.readFile(input);
    }
    const chunks: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of Deno.stdin.readable) {
      total += chunk.length;
      if (total > MAX_INPUT_BYTES) throw tooLarge(input);
      chunks.push(chunk);
    }
    const bytes = new Uint8Array(total);
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    return bytes;
  } catch (error: unknown) {
    if (error instanceof Deno.errors.NotFound) throw new UsageError(`${input}: no such file`);
    if (
      error instanceof Deno.errors.PermissionDenied || error instanceof Deno.errors.IsADirectory
    ) {
      throw new UsageError(`${input}: cannot read it (${error.message.split(":")[0]})`);
    }
    throw error;
  }
}

function tooLarge(input: string): UsageError {
  return new UsageError(`${input}: larger than ${MAX_INPUT_BYTES / (1024 * 1024)} MiB`);
}

/** Standard output that stops quietly when the reader goes away (`calcnet decode … | head`). */
class Output {
  readonly #encoder = new TextEncoder();
  #closed = false;

  write(text: string): void {
    if (this.#closed) return;
    const bytes = this.#encoder.encode(text);
    try {
      let at = 0;
      while (at < bytes.length) at += Deno.stdout.writeSync(bytes.subarray(at));
    } catch (error: unknown) {
      if (!(error instanceof Deno.errors.BrokenPipe)) throw error;
      this.#closed = true;
    }
  }
}

/** `calcnet decode`. */
export const decodeCommand: Command = command(DECODE_SPEC, decodeMain);
