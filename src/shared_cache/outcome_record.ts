/**
 * A leader's outcome as stored in Redis: one flag byte (0: an answer, 1: a
 * failure) followed by the response packet's bytes. What is read back is
 * checked, since anything with access to the Redis can write there.
 *
 * @module
 */

import { HEADER_SIZE, MAX_PACKET_SIZE } from "../protocol/mod.ts";
import type { SharedOutcome } from "./shared_store.ts";

/** The flag byte of an answer. */
const ANSWER = 0;

/** The flag byte of a failure. */
const FAILURE = 1;

/** The bytes before the response. */
const FLAG_BYTES = 1;

/** The longest record: the flag and the longest packet. */
export const MAX_OUTCOME_RECORD_BYTES: number = FLAG_BYTES + MAX_PACKET_SIZE;

/** Whether `bytes` can be a response packet: a whole header, and no longer than a packet. */
export function packetSized(bytes: Uint8Array): boolean {
  return bytes.length >= HEADER_SIZE && bytes.length <= MAX_PACKET_SIZE;
}

/** An outcome as a record. */
export function encodeOutcome(outcome: SharedOutcome): Uint8Array {
  const record = new Uint8Array(FLAG_BYTES + outcome.response.length);
  record[0] = outcome.failed ? FAILURE : ANSWER;
  record.set(outcome.response, FLAG_BYTES);
  return record;
}

/** A record as an outcome, or `undefined` when it is not one (an unknown flag, a bad size). */
export function decodeOutcome(record: Uint8Array): SharedOutcome | undefined {
  const flag = record[0];
  const response = record.subarray(FLAG_BYTES);
  if ((flag !== ANSWER && flag !== FAILURE) || !packetSized(response)) return undefined;
  return { response, failed: flag === FAILURE };
}
