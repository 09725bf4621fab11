/**
 * Typed subcommand flags, in the manner of std's `parseArgs` and cliffy: a
 * command declares its flags once (name, kind, default, help), and
 * {@linkcode parseFlags} returns an object whose properties are the flags'
 * values, typed and checked — `args.flags.maxAge` is a number from 0 to
 * 65535, `args.flags.server` a host and port. Parsing sits on
 * `node:util`'s `parseArgs`, with help text, examples, course-style
 * aliases (`-pp`, `--proxy_port`) and "did you mean" for unknown flags.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { ExitCode, UsageError } from "../base/mod.ts";
import { closestMatch } from "./suggest.ts";

/** The highest TCP port. */
export const MAX_PORT = 65535;

/** A host and a port, as `HOST:PORT` flags give them. */
export interface HostPort {
  /** Host name or address. */
  readonly hostname: string;
  /** Port, 1-65535. */
  readonly port: number;
}

/** One flag: how it reads on the command line, what value it gives, and its help. */
export interface Flag<T> {
  /** Whether the flag takes a value ("string") or not ("boolean"). */
  readonly type: "string" | "boolean";
  /** One-letter alias (`-p`). */
  readonly short?: string;
  /** More spellings, whole tokens: the course's (`-pp`, `--proxy_port`). */
  readonly aliases?: readonly string[];
  /** Name of the value in help (e.g. PORT). */
  readonly value?: string;
  /** What it does, for help. */
  readonly description: string;
  /** The default as help shows it. */
  readonly defaultText?: string;
  /** The value when the flag is absent. */
  readonly fallback: T;
  /** The flag may be given several times; {@linkcode Flag.parse} then reads each. */
  readonly multiple?: boolean;
  /**
   * The value of `text` given as `--name text` (boolean flags: "true"); for
   * a flag given several times, of every text, one per line.
   */
  parse(text: string, name: string): T;
}

/** The flags of a command, by long name (kebab-case, as typed). */
export type FlagSet = Readonly<Record<string, Flag<unknown>>>;

/** A kebab-case name in camel case: `max-age` → `maxAge`. */
export type Camel<S extends string> = S extends `${infer Head}-${infer Tail}`
  ? `${Head}${Capitalize<Camel<Tail>>}`
  : S;

/** The parsed values of a flag set, by camel-case name. */
export type FlagValues<F extends FlagSet> = {
  readonly [K in keyof F & string as Camel<K>]: F[K] extends Flag<infer T> ? T : never;
};

/** A subcommand's interface: flags, positionals and help. */
export interface CommandSpec<F extends FlagSet = FlagSet> {
  /** The subcommand's name. */
  readonly name: string;
  /** One line: what it does. */
  readonly summary: string;
  /** Positionals in the usage line, e.g. "[EXPR...]"; none are accepted without it. */
  readonly positionals?: string;
  /** Flags by long name. */
  readonly flags: F;
  /** Example command lines. */
  readonly examples: readonly string[];
  /** Extra paragraphs after the flags. */
  readonly notes?: readonly string[];
  /** Deno's permissions it uses, as `deno run` flags (its `deno task` grants exactly these). */
  readonly permissions: readonly PermissionNeed[];
}

/** A `deno run` permission flag calcnet uses. */
export type PermissionFlag =
  | "--allow-net"
  | "--allow-env"
  | "--allow-read"
  | "--allow-write"
  | "--allow-run";

/** A permission a command uses, and when, if only some uses need it. */
export interface PermissionNeed {
  /** The flag that grants it. */
  readonly flag: PermissionFlag;
  /** What needs it, when not every run does (e.g. "for --stop-server-cmd"). */
  readonly when?: string;
}

/** The parsed command line. */
export interface ParsedArgs<F extends FlagSet = FlagSet> {
  /** Every flag's value (its default when absent), by camel-case name. */
  readonly flags: FlagValues<F>;
  /** The flags given on the command line, by long name. */
  readonly given: ReadonlySet<string>;
  /** Non-flag arguments, in order. */
  readonly positionals: readonly string[];
  /** Whether -h/--help was given. */
  readonly help: boolean;
}

/** Options every kind of flag takes. */
interface FlagOptions {
  readonly short?: string;
  readonly aliases?: readonly string[];
  readonly value?: string;
}

/** Flag constructors, one per kind of value. */
export const flag = {
  /** A switch: true when given. */
  boolean(description: string, options: Omit<FlagOptions, "value"> = {}): Flag<boolean> {
    return { ...options, type: "boolean", description, fallback: false, parse: () => true };
  },
  /** Text; undefined when absent unless a default is given. */
  string<D extends string | undefined = undefined>(
    description: string,
    options: FlagOptions & { readonly default?: D } = {},
  ): Flag<D extends string ? string : string | undefined> {
    return {
      ...options,
      type: "string",
      description,
      defaultText: options.default,
      fallback: options.default as D extends string ? string : string | undefined,
      parse: (text) => text,
    };
  },
  /** A host name or address (not `HOST:PORT`: the port has its own flag). */
  host<D extends string | undefined = undefined>(
    description: string,
    options: FlagOptions & { readonly default?: D } = {},
  ): Flag<D extends string ? string : string | undefined> {
    return {
      ...options,
      type: "string",
      value: options.value ?? "HOST",
      description,
      defaultText: options.default,
      fallback: options.default as D extends string ? string : string | undefined,
      parse: (text, name) => parseHost(text, `--${name}`),
    };
  },
  /** A whole number from `min` to `max`. */
  integer<D extends number | undefined = undefined>(
    description: string,
    options: FlagOptions & { readonly min: number; readonly max: number; readonly default?: D },
  ): Flag<D extends number ? number : number | undefined> {
    const { min, max } = options;
    return {
      ...options,
      type: "string",
      value: options.value ?? "N",
      description,
      defaultText: options.default === undefined ? undefined : String(options.default),
      fallback: options.default as D extends number ? number : number | undefined,
      parse: (text, name) => parseInteger(text, name, min, max),
    };
  },
  /** A number of seconds (a decimal), in milliseconds; `positive` refuses 0. */
  seconds<D extends number | undefined = undefined>(
    description: string,
    options: FlagOptions & { readonly default?: D; readonly positive?: boolean } = {},
  ): Flag<D extends number ? number : number | undefined> {
    return {
      ...options,
      type: "string",
      value: options.value ?? "SECONDS",
      description,
      defaultText: options.default === undefined ? undefined : String(options.default),
      fallback:
        (options.default === undefined
          ? undefined
          : Math.round(options.default * 1000)) as D extends number ? number
            : number | undefined,
      parse: (text, name) => parseSeconds(text, name, options.positive ?? false),
    };
  },
  /** `HOST:PORT` (IPv6 as `[::1]:9999`; a bare port means 127.0.0.1). */
  hostPort<D extends string | undefined = undefined>(
    description: string,
    options: FlagOptions & { readonly default?: D } = {},
  ): Flag<D extends string ? HostPort : HostPort | undefined> {
    return {
      ...options,
      type: "string",
      value: options.value ?? "HOST:PORT",
      description,
      defaultText: options.default,
      fallback:
        (options.default === undefined
          ? undefined
          : parseHostPort(options.default, "default")) as D extends string ? HostPort
            : HostPort | undefined,
      parse: (text, name) => parseHostPort(text, `--${name}`),
    };
  },
  /** `HOST:PORT`, given once or more (every occurrence counts, in order). */
  hostPorts(
    description: string,
    options: FlagOptions & { readonly default: string },
  ): Flag<readonly HostPort[]> {
    return {
      ...options,
      type: "string",
      multiple: true,
      value: options.value ?? "HOST:PORT",
      description: description + " (may be given several times)",
      defaultText: options.default,
      fallback: [parseHostPort(options.default, "default")],
      parse: (text, name) => text.split("\n").map((one) => parseHostPort(one, `--${name}`)),
    };
  },
  /** A value of the command's own kind, read by `parse` (which throws a UsageError when bad). */
  of<T>(
    description: string,
    options: FlagOptions & {
      readonly value: string;
      readonly default: string;
      readonly parse: (text: string, name: string) => T;
    },
  ): Flag<T> {
    return {
      ...options,
      type: "string",
      description,
      defaultText: options.default,
      fallback: options.parse(options.default, "default"),
      parse: options.parse,
    };
  },
} as const;

const HELP = flag.boolean("show this help", { short: "h" });

/** An argument that is an expression, though it starts with "-" (`-2 ** 2`, `-(1)`, `-.5`). */
const EXPRESSION_LIKE = /^-[\d.(\s]/;

/**
 * Parses `argv` against `spec`: flags (long, short and aliases; `--name=value`
 * too), then each flag's value is read by its kind. Arguments that start with
 * "-" followed by a digit, "." or "(" are expressions, not flags.
 *
 * @throws {UsageError} for an unknown flag (with a suggestion), a missing or
 * bad value, or positionals a command does not take.
 */
export function parseFlags<F extends FlagSet>(
  spec: CommandSpec<F>,
  argv: readonly string[],
): ParsedArgs<F> {
  const flags: Record<string, Flag<unknown>> = { ...spec.flags, help: HELP };
  const expressions: string[] = [];
  const prepared = expandAliases(flags, argv).map((arg) => {
    if (!EXPRESSION_LIKE.test(arg)) return arg;
    expressions.push(arg);
    return `\u0000${expressions.length - 1}`;
  });
  let parsed;
  try {
    parsed = parseArgs({
      args: prepared,
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(
        Object.entries(flags).map(([name, f]) => [name, {
          type: f.type,
          ...(f.short === undefined ? {} : { short: f.short }),
          ...(f.multiple ? { multiple: true } : {}),
        }]),
      ),
    });
  } catch (error: unknown) {
    throw usageErrorFrom(error, spec.name, flags);
  }
  // A flag's value may look like an expression too (`--timeout -1`): give it back as typed.
  const restore = (arg: string): string =>
    arg.startsWith("\u0000") ? expressions[Number(arg.slice(1))] as string : arg;
  const raw = parsed.values as Record<string, string | boolean | string[] | undefined>;
  const values: Record<string, unknown> = {};
  const given = new Set<string>();
  for (const [name, f] of Object.entries(spec.flags)) {
    const value = raw[name];
    if (value === undefined || value === false) {
      values[camel(name)] = f.fallback;
    } else {
      given.add(name);
      const text = Array.isArray(value)
        ? value.map(restore).join("\n")
        : typeof value === "string"
        ? restore(value)
        : "true";
      values[camel(name)] = f.parse(text, name);
    }
  }
  const positionals = parsed.positionals.map(restore);
  const help = raw.help === true;
  if (!help && spec.positionals === undefined && positionals.length > 0) {
    throw new UsageError(
      `unexpected argument '${positionals[0]}'; see 'calcnet ${spec.name} --help'`,
    );
  }
  return { flags: values as FlagValues<F>, given, positionals, help };
}

/** Rewrites each alias token (`-pp 9998`, `--proxy_port=9998`) to its flag's long name. */
function expandAliases(flags: Record<string, Flag<unknown>>, argv: readonly string[]): string[] {
  const longName = new Map<string, string>();
  for (const [name, f] of Object.entries(flags)) {
    for (const alias of f.aliases ?? []) longName.set(alias, name);
  }
  if (longName.size === 0) return [...argv];
  return argv.map((arg) => {
    const equals = arg.indexOf("=");
    const token = equals < 0 ? arg : arg.slice(0, equals);
    const name = longName.get(token);
    return name === undefined ? arg : `--${name}${equals < 0 ? "" : arg.slice(equals)}`;
  });
}

function camel(name: string): string {
  return name.replace(/-([a-z])/g, (_, letter: string) => letter.toUpperCase());
}

function usageErrorFrom(
  error: unknown,
  command: string,
  flags: Record<string, Flag<unknown>>,
): unknown {
  if (!(error instanceof TypeError)) return error;
  const code = (error as TypeError & { code?: string }).code;
  const unknown = /Unknown option '(-{1,2}[^']*)'/.exec(error.message)?.[1];
  if (code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && unknown !== undefined) {
    const name = unknown.replace(/^-+/, "").split("=")[0] ?? "";
    const suggestion = closestMatch(name, Object.keys(flags));
    return new UsageError(
      `unknown flag ${unknown} for 'calcnet ${command}'` +
        (suggestion ? ` (did you mean --${suggestion}?)` : "") +
        `; see 'calcnet ${command} --help'`,
    );
  }
  if (code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE") {
    return new UsageError(`${error.message.split("\n")[0]}; see 'calcnet ${command} --help'`);
  }
  return error;
}

function parseInteger(text: string, name: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not '${text}'`);
  }
  return value;
}

function parseSeconds(text: string, name: string, positive: boolean): number {
  const value = Number(text);
  if (text.trim() === "" || !Number.isFinite(value) || value < 0) {
    throw new UsageError(`--${name} must be a number of seconds (e.g. 0.5), not '${text}'`);
  }
  if (positive && value <= 0) throw new UsageError(`--${name} must be more than 0 seconds`);
  return Math.round(value * 1000);
}

/**
 * Parses "HOST:PORT" (IPv6 as "[::1]:9999"; a bare port means 127.0.0.1).
 *
 * @throws {UsageError} when it is not of that form.
 */
export function parseHostPort(text: string, what: string): HostPort {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text) ?? /^()()(\d{1,5})$/.exec(text);
  const port = Number(match?.[3]);
  if (match === null || port < 1 || port > MAX_PORT) {
    throw new UsageError(`${what} must be HOST:PORT (e.g. 127.0.0.1:9999), not '${text}'`);
  }
  const hostname = match[1] || match[2] || "127.0.0.1";
  if (!isHost(hostname)) {
    throw new UsageError(`${what}: '${hostname}' is not a host name or address`);
  }
  return { hostname, port };
}

/** A host name (letters, digits, '-', '.', '_'), an IPv4 address or an IPv6 address. */
const HOST_NAME = /^[A-Za-z0-9._-]+$/;

function isHost(text: string): boolean {
  return HOST_NAME.test(text) || isIpv6Address(text);
}

/** Whether `text` is an IPv6 address (the URL parser knows their every form). */
function isIpv6Address(text: string): boolean {
  if (!text.includes(":")) return false;
  try {
    new URL(`http://[${text}]/`);
    return true;
  } catch (error: unknown) {
    if (error instanceof TypeError) return false;
    throw error;
  }
}

/**
 * Parses a host flag's value: a name or an address, IPv6 with or without
 * brackets.
 *
 * @throws {UsageError} for `HOST:PORT` (with the right spelling) or text that is no host.
 */
export function parseHost(text: string, what: string): string {
  const bare = /^\[([^\]]+)\]$/.exec(text)?.[1] ?? text;
  if (isHost(bare)) return bare;
  const withPort = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(text);
  if (withPort !== null) {
    const host = withPort[1] ?? withPort[2] ?? "";
    throw new UsageError(
      `${what} takes a host without a port, not '${text}': use ${what} ${host} --port ${
        withPort[3]
      }`,
    );
  }
  throw new UsageError(`${what}: '${text}' is not a host name or address`);
}

/** Renders `calcnet <name> --help`. */
export function renderHelp(spec: CommandSpec): string {
  const rows = Object.entries({ ...spec.flags, help: HELP }).map(([name, f]) => {
    const aliases = f.aliases?.length ? ` (also ${f.aliases.join(", ")})` : "";
    const left = `${f.short ? `-${f.short}, ` : "    "}--${name}${
      f.type === "string" ? ` ${f.value ?? "VALUE"}` : ""
    }`;
    const right = f.description + aliases +
      (f.defaultText !== undefined ? ` (default: ${f.defaultText})` : "");
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
    permissionsLine(spec.permissions),
    "",
    "Examples:",
    ...spec.examples.map((example) => `  ${example}`),
  ].join("\n");
}

/** "Permissions (deno run): --allow-net, --allow-run (for --stop-server-cmd)." */
function permissionsLine(needs: readonly PermissionNeed[]): string {
  if (needs.length === 0) return "Permissions (deno run): none.";
  const flags = needs.map((need) => need.when ? `${need.flag} (${need.when})` : need.flag);
  return `Permissions (deno run): ${flags.join(", ")}.`;
}

/** A subcommand: its interface and its handler, bound together so that each sees its own flags' types. */
export interface Command {
  /** The interface (for help and the command list). */
  readonly spec: CommandSpec;
  /** Parses `argv` and runs the handler (or prints help); returns the exit code. */
  run(argv: readonly string[]): Promise<ExitCode>;
}

/** Binds `handler` to `spec`: `run(argv)` parses, answers `--help`, then calls the handler. */
export function command<F extends FlagSet>(
  spec: CommandSpec<F>,
  handler: (args: ParsedArgs<F>) => Promise<ExitCode>,
): Command {
  return {
    spec,
    run(argv) {
      const args = parseFlags(spec, argv);
      if (!args.help) return handler(args);
      console.log(renderHelp(spec));
      return Promise.resolve(ExitCode.Ok);
    },
  };
}
