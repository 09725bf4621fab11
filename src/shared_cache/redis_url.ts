/**
 * `redis://[user[:password]@]host[:port][/db]` and `rediss://…` (TLS)
 * addresses, checked here rather than by the client so that a mistake is
 * reported at start with a clear message, and logged without the password.
 *
 * @module
 */

import { MAX_PORT } from "../term/mod.ts";

/** The port Redis and Valkey listen on by default, with or without TLS. */
export const DEFAULT_REDIS_PORT = 6379;

/** The highest database number: Redis has 16 by default, a server may be set up with more. */
const MAX_DATABASE = 65_535;

/** Where and how to reach a Redis (or Valkey) server. */
export interface RedisEndpoint {
  /** The host name or IP address (IPv6 without brackets). */
  readonly host: string;
  /** The TCP port. */
  readonly port: number;
  /** True for `rediss://`: TLS, with the host name checked against the certificate. */
  readonly tls: boolean;
  /** The ACL user name, if given. */
  readonly username?: string;
  /** The password, if given. */
  readonly password?: string;
  /** The database number (`SELECT`). */
  readonly database: number;
  /** The address with the password replaced by `***`, for logs. */
  readonly display: string;
}

/** A Redis address that cannot be used. */
export class RedisUrlError extends Error {
  /** Describes what is wrong with the address. */
  constructor(message: string) {
    super(message);
    this.name = "RedisUrlError";
  }
}

/**
 * Reads a `redis://` or `rediss://` address. User name and password are
 * percent-decoded (write `@` in a password as `%40`).
 *
 * @throws {RedisUrlError} for another scheme, a missing host, a bad port or
 * database number, or a query or fragment (options are not read from the address).
 * @example
 * ```ts
 * parseRedisUrl("rediss://app:s3cret@cache.example:6380/2").tls; // true
 * ```
 */
export function parseRedisUrl(text: string): RedisEndpoint {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // The text may hold a password: show it without what lies between ":" and "@".
    const shown = text.replace(/:[^:@/]*@/, ":***@");
    throw new RedisUrlError(`"${shown}" is not an address like redis://host:port/db`);
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    throw new RedisUrlError(
      `a Redis address starts with redis:// or rediss://, not ${url.protocol}//`,
    );
  }
  if (url.hostname === "") throw new RedisUrlError(`"${redacted(url)}" has no host`);
  if (url.search !== "" || url.hash !== "") {
    throw new RedisUrlError(`"${redacted(url)}" has a query or fragment; none is read`);
  }
  const username = decoded(url.username, "user name");
  const password = decoded(url.password, "password");
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, "$1"),
    port: url.port === "" ? DEFAULT_REDIS_PORT : portOf(url.port),
    tls: url.protocol === "rediss:",
    ...(username === "" ? {} : { username }),
    ...(password === "" ? {} : { password }),
    database: databaseOf(url),
    display: redacted(url),
  };
}

function portOf(text: string): number {
  const port = Number(text);
  // URL already refuses ports over 65535; port 0 is not a server's port.
  if (port < 1 || port > MAX_PORT) throw new RedisUrlError(`port ${text} is not a server's port`);
  return port;
}

function databaseOf(url: URL): number {
  const path = url.pathname.replace(/^\//, "");
  if (path === "") return 0;
  if (!/^\d{1,5}$/.test(path) || Number(path) > MAX_DATABASE) {
    throw new RedisUrlError(`"/${path}" in "${redacted(url)}" is not a database number`);
  }
  return Number(path);
}

function decoded(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new RedisUrlError(`the ${what} in the Redis address has a bad %-escape`);
  }
}

/** The address without its password, for messages and logs. */
function redacted(url: URL): string {
  const copy = new URL(url.href);
  if (copy.password !== "") copy.password = "***";
  return copy.href.replace(/\/$/, "");
}
