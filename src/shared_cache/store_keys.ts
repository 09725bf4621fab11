/**
 * The names calcnet uses in Redis. For a cache key (request data plus the
 * steps flag, as the proxy makes it) in namespace N (the upstream server's
 * address):
 *
 * - `calcnet:v1:N:{<sha256>}`: the entry, the response packet's bytes;
 * - `calcnet:v1:N:{<sha256>}:lock`: the coalescing lock, an owner token;
 * - `calcnet:v1:N:{<sha256>}:result`: a leader's outcome, kept briefly;
 * - `calcnet:v1:N:results`: the channel that announces outcomes (message: the hash).
 *
 * The hash keeps keys short and fixed in length whatever the request size
 * (requests may be tens of KiB); SHA-256 makes an accidental or contrived
 * collision, which would serve another request's answer, out of reach.
 * The braces make the hash a Redis Cluster hash tag: an entry, its lock and
 * its result live on one shard, so a script may touch two of them there too.
 * `v1` is this layout's version: a change of value format takes `v2`, so
 * proxies of two versions sharing one Redis never read each other's values.
 *
 * @module
 */

import { createHash } from "node:crypto";

/** The prefix of every name calcnet uses. */
export const KEY_PREFIX = "calcnet:v1";

/** The longest namespace, in characters. */
const MAX_NAMESPACE_LENGTH = 256;

/** Characters that stay as they are in a namespace; others are escaped. */
const UNSAFE_NAMESPACE_CHARACTER = /[^A-Za-z0-9._:\[\]@\/-]/g;

/** Hex digits of an escaped UTF-16 code unit: one width for all keeps escapes unambiguous. */
const ESCAPE_DIGITS = 4;

/** `%` and the code unit in four hex digits: any string escapes, lone surrogates too. */
function escapeCharacter(character: string): string {
  return `%${character.charCodeAt(0).toString(16).padStart(ESCAPE_DIGITS, "0")}`;
}

/** The names that belong to one cache key. */
export interface KeyNames {
  /** The key's hash (64 hex digits), also the announcement message. */
  readonly hash: string;
  /** The entry: the stored response. */
  readonly entry: string;
  /** The coalescing lock. */
  readonly lock: string;
  /** The leader's published outcome. */
  readonly result: string;
}

/** The names of one namespace. */
export class StoreKeys {
  /** The channel on which outcomes in this namespace are announced. */
  readonly channel: string;
  readonly #prefix: string;

  /**
   * `namespace` is escaped so that spaces, control characters or `*` in it
   * cannot make odd names or patterns.
   *
   * @throws {RangeError} for an empty namespace or one over 256 characters.
   */
  constructor(namespace: string) {
    if (namespace === "" || namespace.length > MAX_NAMESPACE_LENGTH) {
      throw new RangeError(
        `a shared cache namespace has 1 to ${MAX_NAMESPACE_LENGTH} characters, got ${namespace.length}`,
      );
    }
    const escaped = namespace.replace(UNSAFE_NAMESPACE_CHARACTER, escapeCharacter);
    this.#prefix = `${KEY_PREFIX}:${escaped}`;
    this.channel = `${this.#prefix}:results`;
  }

  /** The names for cache key `key`. */
  of(key: string): KeyNames {
    // UTF-8 maps distinct strings to distinct bytes, so distinct keys get distinct digests.
    const hash = createHash("sha256").update(key, "utf8").digest("hex");
    const entry = `${this.#prefix}:{${hash}}`;
    return { hash, entry, lock: `${entry}:lock`, result: `${entry}:result` };
  }
}
