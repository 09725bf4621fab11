/**
 * `calcnet decode`'s text output: one block per record, readable for
 * students — where it was captured, then each header field with its
 * meaning, then the payload.
 *
 * @module
 */

import { MAX_AGE_FOREVER } from "../protocol/mod.ts";
import type {
  CommentRecord,
  DecodeRecord,
  DecodeReport,
  FragmentRecord,
  Link,
  MessageRecord,
} from "./decode_report.ts";
import { type Payload, type RawHeader, statusText } from "./message_decoder.ts";
import { captureTimeText, durationText, secondsText } from "./time_text.ts";

const LABEL_WIDTH = 14;

/** The text block of one record (several lines, no trailing newline). */
export function recordText(record: DecodeRecord): string {
  const lines = [placeLine(record)];
  if (record.kind === "comment") lines.push(...commentLines(record));
  else if (record.kind === "fragment") lines.push(...fragmentLines(record));
  else lines.push(...messageLines(record));
  return lines.join("\n");
}

/** `#3  stream 0  frame 7  2024-05-01 12:00:00.004200  127.0.0.1:50000 → 127.0.0.1:9999` */
function placeLine(record: DecodeRecord): string {
  const parts = [`#${record.index}`];
  if (record.stream !== null) parts.push(`stream ${record.stream}`);
  if (record.frame !== null) {
    const first = record.firstFrame;
    parts.push(
      first !== null && first !== record.frame
        ? `frames ${first}–${record.frame}`
        : `frame ${record.frame}`,
    );
  }
  if (record.timeNs !== null) parts.push(captureTimeText(record.timeNs));
  if (record.src !== null && record.dst !== null) parts.push(`${record.src} → ${record.dst}`);
  return parts.join("  ");
}

function field(label: string, value: string): string {
  return `  ${label.padEnd(LABEL_WIDTH)}${value}`;
}

/** A field whose value takes several lines, aligned under the first. */
function fieldLines(label: string, values: readonly string[]): string[] {
  return values.map((value, i) => field(i === 0 ? label : "", value));
}

function commentLines(record: CommentRecord): string[] {
  return [`Comment: ${record.text}`];
}

function fragmentLines(record: FragmentRecord): string[] {
  return [
    `Not a message: ${record.length} bytes (${record.reason})`,
    field("bytes", hex(record.preview) + (record.preview.length < record.length ? "…" : "")),
  ];
}

function messageLines(record: MessageRecord): string[] {
  const { header } = record;
  const status = header.statusCode;
  const title = record.kind === "request"
    ? `Request, ${record.length} bytes`
    : `Response ${status} (${statusText(status, false)}), ${record.length} bytes`;
  const lines = [
    record.complete ? title : `${title}, INCOMPLETE`,
    field("time stamp", `${header.timestamp} (${secondsText(header.timestamp)} UTC)`),
    field("total length", String(header.totalLength)),
    field("flags", flagsText(header)),
    field("max-age", cacheControlText(header)),
    field("padding", `0x${header.padding.toString(16).padStart(4, "0")}`),
    ...record.anomalies.map((anomaly) => `  ! ${anomaly.code}: ${anomaly.message}`),
    ...payloadLines(record.payload, record.note),
  ];
  if (record.response !== null) {
    lines.push(field("response in", linkText(record.response, "later")));
  }
  if (record.request !== null) lines.push(field("request in", linkText(record.request, "earlier")));
  return lines;
}

/** `0x1c00: reserved 0, C=1 (may be cached), S=1 (steps wanted), T=1 (request), status 0` */
function flagsText(header: RawHeader): string {
  const request = header.isRequest;
  const cache = header.cacheResult
    ? (request ? "may be cached" : "cacheable")
    : (request ? "must not be cached" : "not cacheable");
  const steps = header.showSteps
    ? (request ? "steps wanted" : "steps included")
    : (request ? "no steps wanted" : "no steps");
  return `0x${header.flags.toString(16).padStart(4, "0")}: reserved ${header.reserved}, ` +
    `C=${Number(header.cacheResult)} (${cache}), S=${Number(header.showSteps)} (${steps}), ` +
    `T=${Number(request)} (${request ? "request" : "response"}), ` +
    `status ${header.statusCode} (${statusText(header.statusCode, request)})`;
}

function cacheControlText(header: RawHeader): string {
  if (header.cacheControl === MAX_AGE_FOREVER) return `${header.cacheControl} (forever)`;
  if (header.cacheControl === 0) {
    return header.isRequest ? "0 (a fresh answer is wanted)" : "0 (do not cache)";
  }
  return `${header.cacheControl} s`;
}

function payloadLines(payload: Payload, note: string | null): string[] {
  switch (payload.kind) {
    case "expression":
      return [field("expression", payload.text)];
    case "result":
      return [
        field("result", `${payload.value} (${payload.type})`),
        ...fieldLines("steps", payload.steps.length === 0 ? ["none"] : payload.steps),
      ];
    case "error":
      return [
        field("error", `${payload.errorClass} (${payload.module}): ${payload.message}`),
        field("as Python", payload.repr),
      ];
    case "refused":
      return [field("data", `not decoded: ${payload.errorClass}: ${payload.message}`)];
    case "incomplete":
      return [
        field(
          "data",
          `incomplete: ${payload.have} of ${payload.expected} bytes` +
            (note === null ? "" : ` (${note})`),
        ),
      ];
  }
}

function linkText(link: Link, direction: "later" | "earlier"): string {
  const where = link.frame === null ? `#${link.index}` : `#${link.index}, frame ${link.frame}`;
  return link.deltaNs === null ? where : `${where} (${durationText(link.deltaNs)} ${direction})`;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** The closing line of a source: its format and what was found. */
export function summaryText(report: DecodeReport): string {
  const count = (n: number, what: string): string => `${n} ${what}${n === 1 ? "" : "s"}`;
  const messages = report.records.filter((record): record is MessageRecord =>
    record.kind === "request" || record.kind === "response"
  );
  const requests = messages.filter((record) => record.kind === "request").length;
  const incomplete = messages.filter((record) => !record.complete).length;
  const fragments = report.records.filter((record) => record.kind === "fragment").length;
  const found = [
    count(requests, "request"),
    count(messages.length - requests, "response"),
    ...(incomplete > 0 ? [`${incomplete} of them incomplete`] : []),
    ...(fragments > 0 ? [count(fragments, "fragment")] : []),
  ].join(", ");
  const summary = report.summary;
  if (summary === null) return `${report.source}: ${report.format}: ${found}`;
  const other = summary.otherPackets > 0 ? ` (${summary.otherPackets} not TCP)` : "";
  return `${report.source}: ${report.format}, ${count(summary.packets, "packet")}${other}, ` +
    `${
      count(summary.streams, "TCP stream")
    } (${summary.calcnetStreams} of calculator traffic): ${found}`;
}
