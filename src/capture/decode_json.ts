/**
 * `calcnet decode --json`: one JSON object per record (JSON Lines), keys in
 * snake_case. docs/DECODE.md lists every field.
 *
 * @module
 */

import type { DecodeRecord, Link, MessageRecord } from "./decode_report.ts";
import { type Payload, statusText } from "./message_decoder.ts";
import { captureTimeText, durationSeconds, epochSeconds, secondsText } from "./time_text.ts";

/** A JSON value. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The JSON object of one record. */
export function recordJson(record: DecodeRecord): { [key: string]: Json } {
  const common: { [key: string]: Json } = {
    source: record.source,
    index: record.index,
    kind: record.kind,
    stream: record.stream,
    src: record.src,
    dst: record.dst,
    first_frame: record.firstFrame,
    frame: record.frame,
    time: record.timeNs === null ? null : epochSeconds(record.timeNs),
    time_utc: record.timeNs === null ? null : captureTimeText(record.timeNs),
  };
  switch (record.kind) {
    case "comment":
      return { ...common, text: record.text };
    case "fragment":
      return {
        ...common,
        length: record.length,
        reason: record.reason,
        preview_hex: Array.from(record.preview, (b) => b.toString(16).padStart(2, "0")).join(""),
      };
    default:
      return { ...common, ...messageJson(record) };
  }
}

function messageJson(record: MessageRecord): { [key: string]: Json } {
  const { header } = record;
  return {
    length: record.length,
    complete: record.complete,
    note: record.note,
    header: {
      timestamp: header.timestamp,
      timestamp_utc: secondsText(header.timestamp),
      total_length: header.totalLength,
      flags: header.flags,
      reserved: header.reserved,
      cache: header.cacheResult,
      steps: header.showSteps,
      request: header.isRequest,
      status: header.statusCode,
      status_text: statusText(header.statusCode, header.isRequest),
      max_age: header.cacheControl,
      padding: header.padding,
    },
    anomalies: record.anomalies.map((anomaly) => ({
      code: anomaly.code,
      message: anomaly.message,
    })),
    payload: payloadJson(record.payload),
    request: linkJson(record.request),
    response: linkJson(record.response),
  };
}

function payloadJson(payload: Payload): { [key: string]: Json } {
  switch (payload.kind) {
    case "expression":
      return { kind: payload.kind, text: payload.text };
    case "result":
      return {
        kind: payload.kind,
        type: payload.type,
        value: payload.value,
        steps: [...payload.steps],
      };
    case "error":
      return {
        kind: payload.kind,
        class: payload.errorClass,
        module: payload.module,
        message: payload.message,
        repr: payload.repr,
      };
    case "refused":
      return { kind: payload.kind, class: payload.errorClass, message: payload.message };
    case "incomplete":
      return { kind: payload.kind, have: payload.have, expected: payload.expected };
  }
}

function linkJson(link: Link | null): Json {
  if (link === null) return null;
  return {
    index: link.index,
    frame: link.frame,
    delta: link.deltaNs === null ? null : durationSeconds(link.deltaNs),
  };
}
