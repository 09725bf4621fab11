/**
 * `calcnet cache show|clear`: look into a proxy's cache file, or empty it.
 *
 * @module
 */

import { ExitCode, UsageError } from "../base/mod.ts";
import { unixSeconds } from "../protocol/mod.ts";
import {
  clearCacheFile,
  defaultCacheFile,
  type ListedEntry,
  listEntries,
  type ReadCache,
  readCacheFile,
  UNBOUNDED_CACHE_LIMITS,
} from "../proxy/mod.ts";
import {
  closestMatch,
  type Command,
  command,
  type CommandSpec,
  flag,
  type ParsedArgs,
  parseHostPort,
} from "../term/mod.ts";
import { DEFAULT_SERVER, entryCount } from "./proxy_command.ts";

/** The actions `calcnet cache` takes. */
const ACTIONS = ["show", "clear"] as const;

/** One of {@linkcode ACTIONS}. */
type Action = typeof ACTIONS[number];

/** The longest expression `show` prints in its table; longer ones end in `…`. */
const TABLE_EXPRESSION_CHARS = 120;

/** The longest expression `show --json` writes. */
const JSON_EXPRESSION_CHARS = 10_000;

/** Seconds in a minute, an hour, a day: for ages. */
const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** Flags of `calcnet cache`. */
export const CACHE_FLAGS = {
  "cache-file": flag.string(
    "the cache file (default: the one of --server in the per-user cache folder)",
    { value: "PATH" },
  ),
  server: flag.hostPort(
    `the server whose default cache file to use (default: ${DEFAULT_SERVER})`,
  ),
  json: flag.boolean("print one JSON document (snake_case keys)"),
} as const;

/** The interface of `calcnet cache`. */
export const CACHE_SPEC: CommandSpec<typeof CACHE_FLAGS> = {
  name: "cache",
  summary: "show or empty a proxy's cache file",
  positionals: "show|clear",
  flags: CACHE_FLAGS,
  examples: [
    "calcnet cache show",
    "calcnet cache show --server 127.0.0.1:9999 --json",
    "calcnet cache clear --cache-file /tmp/calcnet-lab.json",
  ],
  notes: [
    "show: the entries a proxy would load now, least recently used first as of the last save:",
    "age, max-age, status, S (steps asked), size (request data + response bytes) and the",
    "expression.",
    "Expired entries are counted, not listed. It changes nothing, also while a proxy runs.",
    "clear: empties the file; refused while a proxy uses it (stop the proxy first).",
    "Exit status: 0 done, 2 usage error or a cache file that cannot be used.",
  ],
  permissions: [
    { flag: "--allow-env", when: "the default cache file's folder" },
    { flag: "--allow-read" },
    { flag: "--allow-write", when: "clear" },
  ],
};

/** The action the positionals name. */
function actionOf(args: ParsedArgs<typeof CACHE_FLAGS>): Action {
  const [action, ...rest] = args.positionals;
  if (action === undefined) {
    throw new UsageError("say what to do: 'calcnet cache show' or 'calcnet cache clear'");
  }
  if (!(ACTIONS as readonly string[]).includes(action)) {
    const suggestion = closestMatch(action, ACTIONS);
    throw new UsageError(
      `unknown action '${action}'${suggestion ? ` (did you mean '${suggestion}'?)` : ""}; ` +
        "use show or clear",
    );
  }
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`);
  return action as Action;
}

/** The cache file `--cache-file` or `--server` names. */
function cacheFileOf({ flags }: ParsedArgs<typeof CACHE_FLAGS>): string {
  if (flags.cacheFile !== undefined && flags.server !== undefined) {
    throw new UsageError("give --cache-file or --server, not both");
  }
  return flags.cacheFile ??
    defaultCacheFile(flags.server ?? parseHostPort(DEFAULT_SERVER, "--server"));
}

/** A number of seconds as a short age: "37 s", "12 min", "5 h", "3 d". */
export function formatAge(seconds: number): string {
  const magnitude = Math.abs(seconds);
  if (magnitude < 2 * MINUTE) return `${seconds} s`;
  if (magnitude < 2 * HOUR) return `${Math.trunc(seconds / MINUTE)} min`;
  if (magnitude < 2 * DAY) return `${Math.trunc(seconds / HOUR)} h`;
  return `${Math.trunc(seconds / DAY)} d`;
}

/** The table rows of `listed`, columns padded. */
function tableLines(listed: readonly ListedEntry[]): string[] {
  const rows = [
    ["age", "max-age", "status", "S", "size", "expression"],
    ...listed.map((entry) => [
      formatAge(entry.ageSeconds),
      entry.expiresInSeconds === undefined ? "forever" : `${entry.cacheControl} s`,
      String(entry.statusCode),
      entry.showSteps ? "S" : "-",
      String(entry.requestBytes + entry.responseBytes),
      entry.expression ?? `(not an expression: ${entry.expressionError})`,
    ]),
  ];
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  return rows.map((row) =>
    "  " + row.map((cell, column) => {
      const width = widths[column] ?? 0;
      if (column === row.length - 1) return cell;
      return column === 4 ? cell.padStart(width) : cell.padEnd(width);
    }).join("  ")
  );
}

/** `show` as text. */
function showText(path: string, read: ReadCache, listed: readonly ListedEntry[]): string {
  const lines = [
    `cache file ${path}: ` +
    (read.exists
      ? `${entryCount(read.cache.size)}, ${read.cache.bytes} bytes of requests and answers`
      : "no such file (no entries)"),
  ];
  if (listed.length > 0) {
    lines.push("least recently used first (as of the last save):", ...tableLines(listed));
  }
  if (read.expired > 0) lines.push(`${entryCount(read.expired)} expired (not listed)`);
  if (read.dropped > 0) {
    lines.push(
      `${entryCount(read.dropped)} invalid, never served (first: ${read.firstProblem})`,
    );
  }
  return lines.join("\n");
}

/** `show` as JSON. */
function showJson(path: string, read: ReadCache, listed: readonly ListedEntry[]): string {
  return JSON.stringify({
    file: path,
    exists: read.exists,
    count: read.cache.size,
    bytes: read.cache.bytes,
    expired: read.expired,
    dropped: read.dropped,
    first_problem: read.dropped > 0 ? read.firstProblem : null,
    entries: listed.map((entry) => ({
      age_seconds: entry.ageSeconds,
      max_age_seconds: entry.cacheControl,
      expires_in_seconds: entry.expiresInSeconds ?? null,
      status: entry.statusCode,
      steps: entry.showSteps,
      request_bytes: entry.requestBytes,
      response_bytes: entry.responseBytes,
      expression: entry.expression ?? null,
      expression_error: entry.expressionError ?? null,
    })),
  });
}

/** Runs `calcnet cache show` or `calcnet cache clear`. */
async function cacheMain(args: ParsedArgs<typeof CACHE_FLAGS>): Promise<ExitCode> {
  const action = actionOf(args);
  const path = cacheFileOf(args);
  const json = args.flags.json;
  const nowSeconds = unixSeconds(Date.now());
  if (action === "clear") {
    const cleared = await clearCacheFile(path, nowSeconds);
    for (const warning of cleared.warnings) console.error(`calcnet cache: ${warning}`);
    console.log(
      json
        ? JSON.stringify({ file: path, existed: cleared.existed, cleared: cleared.entries })
        : cleared.existed
        ? `cache file ${path}: cleared ${entryCount(cleared.entries)}`
        : `cache file ${path}: no such file (nothing to clear)`,
    );
    return ExitCode.Ok;
  }
  const read = await readCacheFile(path, nowSeconds, UNBOUNDED_CACHE_LIMITS);
  const listed = listEntries(
    read.cache,
    nowSeconds,
    json ? JSON_EXPRESSION_CHARS : TABLE_EXPRESSION_CHARS,
  );
  console.log(json ? showJson(path, read, listed) : showText(path, read, listed));
  return ExitCode.Ok;
}

/** `calcnet cache`. */
export const cacheCommand: Command = command(CACHE_SPEC, cacheMain);
