/**
 * Subcommand flags on `node:util`'s `parseArgs`, with help text, defaults,
 * examples, value checks and "did you mean" for unknown flags.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { UsageError } from "../errors.ts";
import { closestMatch } from "./suggest.ts";

/** One flag of a subcommand. */
export interface FlagSpec {
  /** "string" takes a value; "boolean" does not. */
  readonly type: "string" | "boolean";
  /** One-letter alias. */
  readonly short?: string;
  /** Name of the value in help (e.g. PORT). */
  readonly value?: string;
  /** What it does, for help. */
  readonly description: string;
  /** Default, shown in help and used when the flag is absent. */
  readonly default?: string;
}

/** A subcommand's interface: flags, positionals and help. */
export interface CommandSpec {
  /** The subcommand's name. */
  readonly name: string;
  /** One line: what it does. */
  readonly summary: string;
  /** Positionals in the usage line, e.g. "[EXPR...]". */
  readonly positionals?: string;
  /** Flags by long name. */
  readonly flags: Readonly<Record<string, FlagSpec>>;
  /** Example command lines. */
  readonly examples: readonly string[];
  /** Extra paragraphs after the flags. */
  readonly notes?: readonly string[];
}

/** The parsed command line: flag values (defaults applied) and positionals. */
export interface ParsedArgs {
  /** String flags' values. */
  readonly strings: ReadonlyMap<string, string>;
  /** Boolean flags that were given. */
  readonly booleans: ReadonlySet<string>;
  /** Non-flag arguments, in order. */
  readonly positionals: readonly string[];
  /** Whether -h/--help was given. */
  readonly help: boolean;
}

const HELP: FlagSpec = { type: "boolean", short: "h", description: "show this help" };

/**
 * Parses `argv` against `spec`. Arguments that start with "-" followed by a
 * digit, "." or "(" are taken as expressions, not flags (`-2 ** 2`).
 *
 * @throws {UsageError} for an unknown flag (with a suggestion) or a missing value.
 */
export function parseFlags(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const flags: Record<string, FlagSpec> = { ...spec.flags, help: HELP };
  const expressions: string[] = [];
  const protectedArgv = argv.map((arg) => {
    if (/^-[\d.(\s]/.test(arg)) {
      expressions.push(arg);
      return `\u0000${expressions.length - 1}`;
    }
    return arg;
  });
  let parsed;
  try {
    parsed = parseArgs({
      args: protectedArgv,
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(
        Object.entries(flags).map(([name, flag]) => [
          name,
          flag.short === undefined ? { type: flag.type } : { type: flag.type, short: flag.short },
        ]),
      ),
    });
  } catch (error: unknown) {
    throw usageErrorFrom(error, spec, flags);
  }
  const strings = new Map<string, string>();
  const booleans = new Set<string>();
  for (const [name, flag] of Object.entries(flags)) {
    const value = (parsed.values as Record<string, string | boolean | undefined>)[name];
    if (flag.type === "string") {
      const text = typeof value === "string" ? value : flag.default;
      if (text !== undefined) strings.set(name, text);
    } else if (value === true) {
      booleans.add(name);
    }
  }
  const positionals = parsed.positionals.map((arg) =>
    arg.startsWith("\u0000") ? expressions[Number(arg.slice(1))] as string : arg
  );
  return { strings, booleans, positionals, help: booleans.has("help") };
}

function usageErrorFrom(error: unknown, spec: CommandSpec, flags: Record<string, FlagSpec>): Error {
  if (!(error instanceof TypeError)) return error as Error;
  const code = (error as TypeError & { code?: string }).code;
  const unknown = /Unknown option '(-{1,2}[^']*)'/.exec(error.message)?.[1];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && unknown !== undefined) {
    const name = unknown.replace(/^-+/, "").split("=")[0] ?? "";
    const suggestion = closestMatch(name, Object.keys(flags));
    return new UsageError(
      `unknown flag ${unknown} for 'calcnet ${spec.name}'` +
        (suggestion ? ` (did you mean --${suggestion}?)` : "") +
        `; see 'calcnet ${spec.name} --help'`,
    );
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    return new UsageError(`${error.message.split("\n")[0]}; see 'calcnet ${spec.name} --help'`);
  }
  return error;
}

/** A string flag's value; throws when it has none and no default. */
export function stringFlag(args: ParsedArgs, name: string): string {
  const value = args.strings.get(name);
  if (value === undefined) throw new UsageError(`--${name} is required`);
  return value;
}

/** A string flag's value, or undefined when absent (and no default). */
export function optionalStringFlag(args: ParsedArgs, name: string): string | undefined {
  return args.strings.get(name);
}

/** An integer flag within [min, max]. */
export function integerFlag(args: ParsedArgs, name: string, min: number, max: number): number {
  const text = stringFlag(args, name);
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not '${text}'`);
  }
  return value;
}

/** A decimal number of seconds flag (>= 0), returned in milliseconds. */
export function secondsFlag(args: ParsedArgs, name: string): number {
  const text = stringFlag(args, name);
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value < 0) {
    throw new UsageError(`--${name} must be a number of seconds (e.g. 0.5), not '${text}'`);
  }
  return Math.round(value * 1000);
}

/** A seconds flag that must be more than 0, in milliseconds. */
export function positiveSecondsFlag(args: ParsedArgs, name: string): number {
  const ms = secondsFlag(args, name);
  if (ms <= 0) throw new UsageError(`--${name} must be more than 0 seconds`);
  return ms;
}

/** A HOST:PORT flag value. */
export function hostPortFlag(args: ParsedArgs, name: string): { hostname: string; port: number } {
  return parseHostPort(stringFlag(args, name), `--${name}`);
}

/**
 * Parses "HOST:PORT" (IPv6 as "[::1]:9999"; a bare port means 127.0.0.1).
 *
 * @throws {UsageError} when it is not of that form.
 */
export function parseHostPort(text: string, what: string): { hostname: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text) ?? /^()()(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (match === null || port < 1 || port > 65535) {
    throw new UsageError(`${what} must be HOST:PORT (e.g. 127.0.0.1:9999), not '${text}'`);
  }
  return { hostname: match[1] || match[2] || "127.0.0.1", port };
}

/** Renders `calcnet <name> --help`. */
export function renderHelp(spec: CommandSpec): string {
  const rows = Object.entries({ ...spec.flags, help: HELP }).map(([name, flag]) => {
    const left = `${flag.short ? `-${flag.short}, ` : "    "}--${name}${
      flag.type === "string" ? ` ${flag.value ?? "VALUE"}` : ""
    }`;
    const right = flag.description +
      (flag.default !== undefined ? ` (default: ${flag.default})` : "");
    return [left, right] as const;
  });
  const width = Math.max(...rows.map(([left]) => left.length)) + 2;
  return [
    `calcnet ${spec.name} — ${spec.summary}`,
    "",
    `Usage: calcnet ${spec.name} [options]${spec.positionals ? ` ${spec.positionals}` : ""}`,
    "",
    "Options:",
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}${right}`),
    ...(spec.notes?.length ? ["", ...spec.notes] : []),
    "",
    "Examples:",
    ...spec.examples.map((example) => `  ${example}`),
  ].join("\n");
}
