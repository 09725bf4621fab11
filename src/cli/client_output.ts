/**
 * What `calcnet client` prints for a request: the course client's connection
 * lines on stderr, then its answer as the course client prints it — with a
 * note when it came from a cache — or one JSON line.
 *
 * @module
 */

import { type CalcnetError, ConnectionError, ExitCode, ProtocolError } from "../base/mod.ts";
import {
  answeredOk,
  answerLines,
  answerRecord,
  type DecodedAnswer,
  type Exchange,
  type Freshness,
  freshnessOf,
  type LastingConnection,
  readAnswer,
} from "../client/mod.ts";
import { HEADER_SIZE, type RequestFlags } from "../protocol/mod.ts";
import { printLine, type Styled } from "../term/mod.ts";
import { formatAge } from "./cache_command.ts";

/** How the client asks and prints. */
export interface ClientSettings {
  /** The flags every request carries. */
  readonly flags: RequestFlags;
  /** One JSON object per line instead of the course's printout. */
  readonly json: boolean;
  /** No connection lines on stderr. */
  readonly quiet: boolean;
}

/**
 * Sends `text` (pickled as `data`) and prints the answer. An answer that
 * cannot be read, or cannot be printed, is reported in one line like any
 * other: the caller goes on.
 *
 * @returns {@linkcode ExitCode.Ok}, or {@linkcode ExitCode.Failure} for an
 * error answer or one that cannot be read.
 * @throws {ConnectionError} or {ProtocolError} when there is no answer to print.
 */
export async function ask(
  conn: LastingConnection,
  settings: ClientSettings,
  text: string,
  data: Uint8Array,
): Promise<ExitCode> {
  diagnostic(
    settings,
    `{${conn.peer}} Sending request of length ${data.length + HEADER_SIZE} bytes`,
  );
  const exchange = await conn.request(data, settings.flags);
  diagnostic(settings, `{${conn.peer}} Got response of length ${exchange.response.length} bytes`);
  const answer = readAnswer(exchange);
  const freshness = freshnessOf(exchange);
  let shown = answer;
  let lines: string[];
  try {
    lines = printout(settings, text, exchange, answer, freshness);
  } catch (error: unknown) {
    // The peer chose the answer: one that breaks the printing is reported, and we go on.
    if (!(error instanceof Error)) throw error;
    shown = {
      kind: "invalid",
      message: `Received answer cannot be printed (${error.name}: ${error.message})`,
    };
    lines = printout(settings, text, exchange, shown, freshness);
  }
  if (settings.json) {
    for (const line of lines) console.log(line);
  } else {
    const css = shown.kind === "result" ? "" : "color: red";
    lines.forEach((line, i) => {
      const note: Styled[] = i === 0 ? cachedNote(freshness) : [];
      printLine("stdout", [[line, css], ...note]);
    });
  }
  return shown === answer && answeredOk(exchange, answer) ? ExitCode.Ok : ExitCode.Failure;
}

/** The lines of an answer: one JSON line, or the course client's printout. */
function printout(
  settings: ClientSettings,
  text: string,
  exchange: Exchange,
  answer: DecodedAnswer,
  freshness: Freshness,
): string[] {
  if (!settings.json) return answerLines(answer);
  return [JSON.stringify({
    ...answerRecord(text, exchange, answer),
    cached: freshness.cached,
    age_seconds: freshness.ageSeconds,
  })];
}

/**
 * The note after an answer's first line when it came from a cache:
 * `   (cached, 37 s old)`. Nothing for a fresh answer, so that its printout
 * is the course client's, byte for byte.
 */
export function cachedNote(freshness: Freshness): Styled[] {
  if (!freshness.cached) return [];
  return [[`   (cached, ${formatAge(freshness.ageSeconds)} old)`, "color: cyan"]];
}

/** A connection line on stderr, unless quiet. */
export function diagnostic(settings: ClientSettings, line: string): void {
  if (!settings.quiet) printLine("stderr", [[line, "color: gray"]]);
}

/** Whether `error` means no answer came: the connection failed, or the peer broke the protocol. */
export function isConnectionFailure(error: unknown): error is CalcnetError {
  return error instanceof ConnectionError || error instanceof ProtocolError;
}

/**
 * With --json, the failure that left `expression` (null: before any)
 * unanswered, as a JSON line on stdout, so that a script reading the lines
 * learns of it too.
 */
export function reportFailure(
  settings: ClientSettings,
  expression: string | null,
  error: CalcnetError,
): void {
  if (!settings.json) return;
  console.log(JSON.stringify({
    expression,
    error: { type: error.name, message: error.message },
    exit_code: error.exitCode,
  }));
}
