/**
 * UTF-8 as CPython's pickle uses it for `str`: the `surrogatepass` error
 * handler, so a lone surrogate (legal in both a Python str and a JS string)
 * travels as its three-byte form instead of failing or becoming U+FFFD.
 *
 * @module
 */

/** The number of bytes {@linkcode encodeUtf8Into} writes for `text`. */
export function utf8Length(text: string): number {
  let length = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) {
      length += 1;
    } else if (isHighSurrogate(unit) && isLowSurrogate(text.charCodeAt(i + 1))) {
      // A pair: two units, four bytes.
      length += 2;
      i++;
    } else {
      length += 2;
    }
  }
  return length;
}

/**
 * Writes `text` as UTF-8 (lone surrogates in their three-byte form) at
 * `offset`; the caller has made room for {@linkcode utf8Length} bytes.
 * Returns the offset after the last byte.
 */
export function encodeUtf8Into(text: string, target: Uint8Array, offset: number): number {
  let at = offset;
  for (let i = 0; i < text.length; i++) {
    let code = text.charCodeAt(i);
    if (code < 0x80) {
      target[at++] = code;
      continue;
    }
    if (code < 0x800) {
      target[at++] = 0xc0 | (code >> 6);
      target[at++] = 0x80 | (code & 0x3f);
      continue;
    }
    if (isHighSurrogate(code)) {
      const next = text.charCodeAt(i + 1);
      if (isLowSurrogate(next)) {
        code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
        i++;
        target[at++] = 0xf0 | (code >> 18);
        target[at++] = 0x80 | ((code >> 12) & 0x3f);
        target[at++] = 0x80 | ((code >> 6) & 0x3f);
        target[at++] = 0x80 | (code & 0x3f);
        continue;
      }
    }
    target[at++] = 0xe0 | (code >> 12);
    target[at++] = 0x80 | ((code >> 6) & 0x3f);
    target[at++] = 0x80 | (code & 0x3f);
  }
  return at;
}

const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The longest str {@linkcode decodeUtf8} builds itself rather than through TextDecoder. */
const SHORT_TEXT = 64;
/** Slots of {@linkcode recentTexts}; a power of two. */
const RECENT_SLOTS = 512;
/**
 * Short ASCII strs decoded before, by a hash of their length and a few of
 * their bytes. Every request repeats the same module, class and attribute
 * names; returning the string from last time skips building it and, as V8
 * caches a string's hash in the string, rehashing it when it becomes a Map
 * key. A collision only costs a rebuild, so hostile names cannot make it
 * slower than no cache.
 */
const recentTexts: (string | undefined)[] = new Array(RECENT_SLOTS).fill(undefined);

/**
 * Decodes `bytes[start..end)` as CPython's unpickler does (UTF-8 with
 * `surrogatepass`), or returns undefined when they are not UTF-8 even so.
 */
export function decodeUtf8(
  bytes: Uint8Array,
  start = 0,
  end: number = bytes.length,
): string | undefined {
  const length = end - start;
  if (length > SHORT_TEXT) return decodeUtf8Slow(bytes.subarray(start, end));
  if (length === 0) return "";
  // Short ASCII (attribute names, module names) is the common case. The
  // slot comes from a few bytes only, so that a str seen before costs one
  // pass: comparing it, which also checks that the bytes are ASCII.
  const slot = (Math.imul(length, 31) + (bytes[start] as number) * 7 +
    (bytes[start + (length >> 1)] as number) * 3 + (bytes[end - 1] as number)) &
    (RECENT_SLOTS - 1);
  const recent = recentTexts[slot];
  if (recent !== undefined && recent.length === length && sameAscii(recent, bytes, start)) {
    return recent;
  }
  // Cheaper to build directly than through TextDecoder.
  let text = "";
  for (let i = start; i < end; i++) {
    const byte = bytes[i] as number;
    if (byte >= 0x80) return decodeUtf8Slow(bytes.subarray(start, end));
    text += String.fromCharCode(byte);
  }
  recentTexts[slot] = text;
  return text;
}

/** Whether `text` (ASCII) is the bytes at `start` (its length already matched). */
function sameAscii(text: string, bytes: Uint8Array, start: number): boolean {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) !== bytes[start + i]) return false;
  }
  return true;
}

function decodeUtf8Slow(bytes: Uint8Array): string | undefined {
  try {
    return strictDecoder.decode(bytes);
  } catch (error: unknown) {
    if (!(error instanceof TypeError)) throw error;
    return decodeSurrogatePass(bytes);
  }
}

/** The slow path of {@linkcode decodeUtf8}: UTF-8 that encodes surrogates. */
function decodeSurrogatePass(bytes: Uint8Array): string | undefined {
  const units: number[] = [];
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i] as number;
    let code: number;
    let size: number;
    let min: number;
    if (lead < 0x80) {
      code = lead;
      size = 1;
      min = 0;
    } else if (lead >= 0xc2 && lead < 0xe0) {
      code = lead & 0x1f;
      size = 2;
      min = 0x80;
    } else if (lead >= 0xe0 && lead < 0xf0) {
      code = lead & 0x0f;
      size = 3;
      min = 0x800;
    } else if (lead >= 0xf0 && lead < 0xf5) {
      code = lead & 0x07;
      size = 4;
      min = 0x10000;
    } else {
      return undefined;
    }
    if (i + size > bytes.length) return undefined;
    for (let k = 1; k < size; k++) {
      const next = bytes[i + k] as number;
      if ((next & 0xc0) !== 0x80) return undefined;
      code = (code << 6) | (next & 0x3f);
    }
    if (code < min || code > 0x10ffff) return undefined;
    if (code >= 0x10000) {
      units.push(0xd800 + ((code - 0x10000) >> 10), 0xdc00 + ((code - 0x10000) & 0x3ff));
    } else {
      units.push(code);
    }
    i += size;
  }
  let text = "";
  // Chunked so that a long string never exceeds the argument limit.
  for (let start = 0; start < units.length; start += 8192) {
    text += String.fromCharCode(...units.slice(start, start + 8192));
  }
  return text;
}

function isHighSurrogate(unit: number): boolean {
  return unit >= 0xd800 && unit <= 0xdbff;
}

function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}
