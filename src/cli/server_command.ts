/**
 * `calcnet server`.
 *
 * @module
 */

import { ExitCode } from "../base/mod.ts";
import { startServer } from "../server/mod.ts";
import { MAX_AGE_FOREVER } from "../protocol/mod.ts";
import { type Command, command, type CommandSpec, flag, type ParsedArgs } from "../term/mod.ts";
import { crashGuard, createLogger, stopSignal } from "../term/mod.ts";
import {
  CONNECTION_FLAGS,
  connectionLimits,
  listenFlags,
  listenOrExplain,
} from "./listen_flags.ts";
import { DEFAULT_EVAL_LIMITS, resolveEvalLimits } from "../calc/mod.ts";
import { DEFAULT_DECODE_LIMITS, resolveDecodeLimits } from "../pickle/mod.ts";

/** The largest `--max-decode-work-per-byte`: far beyond any need, and a safe integer budget. */
const MAX_WORK_PER_BYTE_FLAG = 1_000_000;

/** Flags of `calcnet server`. */
export const SERVER_FLAGS = {
  ...listenFlags(9999),
  "max-age": flag.integer("cache control of every answer, 0-65535 (65535: forever)", {
    value: "SECONDS",
    min: 0,
    max: MAX_AGE_FOREVER,
    default: MAX_AGE_FOREVER,
  }),
  "no-cache": flag.boolean("mark answers not cacheable (C=0, max-age 0)"),
  ...CONNECTION_FLAGS,
  "max-depth": flag.integer("deepest expression nesting accepted", {
    min: 1,
    max: 100_000,
    default: DEFAULT_DECODE_LIMITS.maxDepth,
  }),
  "max-decode-work-per-byte": flag.integer(
    "decoding work allowed per request byte (a unit per byte read and per value copied); " +
      "more is a 400",
    { min: 1, max: MAX_WORK_PER_BYTE_FLAG, default: DEFAULT_DECODE_LIMITS.maxWorkPerByte },
  ),
  "max-int-digits": flag.integer("largest integer (in decimal digits) computed; larger is a 400", {
    min: 1,
    max: 1_000_000,
    default: DEFAULT_EVAL_LIMITS.maxIntDigits,
  }),
  quiet: flag.boolean("no log lines", { short: "q" }),
} as const;

/** The interface of `calcnet server`. */
export const SERVER_SPEC: CommandSpec<typeof SERVER_FLAGS> = {
  name: "server",
  summary: "answer calculator requests as the course's server does",
  flags: SERVER_FLAGS,
  examples: [
    "calcnet server",
    "calcnet server --port 0 --max-age 60",
    "deno task server --host 0.0.0.0 --port 9999",
  ],
  notes: [
    "Logs one line per request to stderr (peer, sizes, status, time). SIGINT or SIGTERM",
    "stops it after the requests in flight are answered. Packets are at most 65535 bytes.",
  ],
  permissions: [{ flag: "--allow-net" }],
};

/** Runs `calcnet server` until SIGINT/SIGTERM. */
async function serverMain({ flags }: ParsedArgs<typeof SERVER_FLAGS>): Promise<ExitCode> {
  const policy = {
    cacheResult: !flags.noCache,
    cacheControl: flags.noCache ? 0 : flags.maxAge,
    decodeLimits: resolveDecodeLimits({
      maxDepth: flags.maxDepth,
      maxWorkPerByte: flags.maxDecodeWorkPerByte,
    }),
    evalLimits: resolveEvalLimits({ maxIntDigits: flags.maxIntDigits }),
  };
  const log = createLogger({ quiet: flags.quiet });
  using stop = stopSignal();
  using _guard = crashGuard(log.warn);
  const { host: hostname, port } = flags;
  const server = listenOrExplain(
    () =>
      startServer({
        hostname,
        port,
        signal: stop.signal,
        policy,
        limits: connectionLimits(flags),
        log: flags.quiet ? undefined : log,
        warn: log.warn,
      }),
    hostname,
    port,
  );
  console.error(`calcnet server listening on ${server.addr.hostname}:${server.addr.port}`);
  await server.finished;
  log("server stopped");
  await log.flush();
  return ExitCode.Ok;
}

/** `calcnet server`. */
export const serverCommand: Command = command(SERVER_SPEC, serverMain);
