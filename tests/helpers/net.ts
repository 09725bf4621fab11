/** Small socket helpers for the end-to-end tests. */

import { PacketReader, writeAll } from "../../src/protocol/packet_stream.ts";
import { encodePacket } from "../../src/protocol/header.ts";
import { closeQuietly } from "../../src/net/close_quietly.ts";
import { type ConnectionLimits, type PacketHandler, serveTcp } from "../../src/net/mod.ts";
import { type ServerOptions, startServer } from "../../src/server/server.ts";

/** A raw TCP client that can send arbitrary bytes and read packets or raw bytes. */
export class RawClient implements Disposable {
  readonly conn: Deno.TcpConn;
  readonly reader: PacketReader;

  private constructor(conn: Deno.TcpConn) {
    this.conn = conn;
    this.reader = new PacketReader(conn);
  }

  static async connect(port: number): Promise<RawClient> {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    return new RawClient(conn);
  }

  send(bytes: Uint8Array): Promise<void> {
    return writeAll(this.conn, bytes);
  }

  /** Reads one packet, or null at end of stream; rejects after `ms`. */
  async readPacket(ms = 5000): Promise<Uint8Array | null> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        this.reader.read(),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no packet within ${ms} ms`)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves true when the server closes the connection (reads until EOF). */
  async closedByPeer(ms = 5000): Promise<boolean> {
    const buffer = new Uint8Array(1024);
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      return await Promise.race([
        (async () => {
          for (;;) {
            try {
              if (await this.conn.read(buffer) === null) return true;
            } catch (error: unknown) {
              if (error instanceof Deno.errors.ConnectionReset) return true;
              throw error;
            }
          }
        })(),
        new Promise<boolean>((resolve) => {
          timer = setTimeout(() => resolve(false), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  [Symbol.dispose](): void {
    closeQuietly(this.conn);
  }
}

/** A request packet around `data` with the course client's flags. */
export function requestPacket(
  data: Uint8Array,
  flags: { showSteps?: boolean; cacheResult?: boolean; cacheControl?: number; timestamp?: number } =
    {},
): Uint8Array {
  return encodePacket(
    {
      timestamp: flags.timestamp ?? Math.floor(Date.now() / 1000),
      cacheResult: flags.cacheResult ?? true,
      showSteps: flags.showSteps ?? true,
      isRequest: true,
      statusCode: 0,
      cacheControl: flags.cacheControl ?? 65535,
    },
    data,
  );
}

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Whether `promise` settles within `ms` milliseconds (a bound for waits that could hang). */
export async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise.then(() => true, () => true),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Runs `body` with a {@linkcode serveTcp} service of `handler` (and `limits`)
 * on a free port of 127.0.0.1, stopped afterwards.
 */
export async function withService(
  handler: PacketHandler,
  body: (port: number) => Promise<void>,
  limits: Partial<ConnectionLimits> = {},
): Promise<void> {
  await using service = serveTcp({ hostname: "127.0.0.1", port: 0, limits }, handler);
  await body(service.addr.port);
}

/** Options of {@linkcode withServer}: those of {@linkcode startServer} but the address and signal. */
export type TestServerOptions = Omit<ServerOptions, "hostname" | "port" | "signal">;

/**
 * Runs `body` with a calcnet server (with `options`) on a free port of
 * 127.0.0.1, stopped afterwards.
 */
export async function withServer(
  body: (port: number) => Promise<void>,
  options: TestServerOptions = {},
): Promise<void> {
  await using server = startServer({ ...options, hostname: "127.0.0.1", port: 0 });
  await body(server.addr.port);
}

/**
 * The soft limit on open files of this process, or Infinity where there is
 * none to ask (Windows). A test cannot raise it from Deno (no setrlimit).
 */
export async function openFileLimit(): Promise<number> {
  if (Deno.build.os === "windows") return Infinity;
  const output = await new Deno.Command("sh", { args: ["-c", "ulimit -n"], stdout: "piped" })
    .output();
  const text = new TextDecoder().decode(output.stdout).trim();
  return text === "unlimited" ? Infinity : Number(text);
}
