/**
 * `calcnet server`.
 *
 * @module
 */

import { ExitCode } from "../errors.ts";
import { startServer } from "../server/server.ts";
import { type CommandSpec, integerFlag, type ParsedArgs } from "./flags.ts";
import { createLogger } from "./logger.ts";
import {
  CONNECTION_FLAGS,
  connectionLimits,
  listenAddress,
  listenFlags,
  listenOrExplain,
} from "./listen_flags.ts";
import { stopSignal } from "./signals.ts";
import { DEFAULT_EVAL_LIMITS, resolveEvalLimits } from "../calc/evaluate.ts";
import { DEFAULT_DECODE_LIMITS, resolveLimits } from "../pickle/mod.ts";

/** The largest `--max-decode-work-per-byte`: far beyond any need, and a safe integer budget. */
const MAX_WORK_PER_BYTE_FLAG = 1_000_000;

/** Flags of `calcnet server`. */
export const SERVER_SPEC: CommandSpec = {
  name: "server",
  summary: "answer calculator requests as the course's server does",
  flags: {
    ...listenFlags(9999),
    "max-age": {
      type: "string",
      value: "SECONDS",
      description: "cache control of every answer, 0-65535 (65535: forever)",
      default: "65535",
    },
    "no-cache": { type: "boolean", description: "mark answers not cacheable (C=0, max-age 0)" },
    ...CONNECTION_FLAGS,
    "max-depth": {
      type: "string",
      value: "N",
      description: "deepest expression nesting accepted",
      default: String(DEFAULT_DECODE_LIMITS.maxDepth),
    },
    "max-decode-work-per-byte": {
      type: "string",
      value: "N",
      description: "decoding work allowed per request byte (a unit per byte read and per " +
        "value copied); more is a 400",
      default: String(DEFAULT_DECODE_LIMITS.maxWorkPerByte),
    },
    "max-int-digits": {
      type: "string",
      value: "N",
      description: "largest integer (in decimal digits) computed; larger is a 400",
      default: String(DEFAULT_EVAL_LIMITS.maxIntDigits),
    },
    quiet: { type: "boolean", short: "q", description: "no log lines" },
  },
  examples: [
    "calcnet server",
    "calcnet server --port 0 --max-age 60",
    "deno task server --host 0.0.0.0 --port 9999",
  ],
  notes: [
    "Logs one line per request to stderr (peer, sizes, status, time). SIGINT or SIGTERM",
    "stops it after the requests in flight are answered. Packets are at most 65535 bytes.",
  ],
};

/** Runs `calcnet server` until SIGINT/SIGTERM. */
export async function serverCommand(args: ParsedArgs): Promise<ExitCode> {
  const noCache = args.booleans.has("no-cache");
  const policy = {
    cacheResult: !noCache,
    maxAge: noCache ? 0 : integerFlag(args, "max-age", 0, 65535),
    decodeLimits: resolveLimits({
      maxDepth: integerFlag(args, "max-depth", 1, 100_000),
      maxWorkPerByte: integerFlag(args, "max-decode-work-per-byte", 1, MAX_WORK_PER_BYTE_FLAG),
    }),
    evalLimits: resolveEvalLimits({
      maxIntDigits: integerFlag(args, "max-int-digits", 1, 1_000_000),
    }),
  };
  const limits = connectionLimits(args);
  const quiet = args.booleans.has("quiet");
  const log = createLogger({ quiet });
  using stop = stopSignal();
  const { hostname, port } = listenAddress(args);
  const server = listenOrExplain(
    () =>
      startServer({
        hostname,
        port,
        signal: stop.signal,
        policy,
        limits,
        log: quiet ? undefined : log,
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
