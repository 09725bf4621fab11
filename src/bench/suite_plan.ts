/**
 * What `deno task bench-suite` measures: the load modes (closed loop over 1
 * and 32 connections, a new connection per request, pipelined windows), the
 * targets (echo ceiling, proxy hits, misses, hits mixed with misses, server)
 * and the settings the services run with (as shipped with logging on, quiet,
 * pinned to one core, another request). A flat table: every scenario of a
 * round is one entry.
 *
 * @module
 */

/** What is measured. */
export type SuiteTarget = "echo" | "proxy-hit" | "proxy-miss" | "proxy-mixed" | "server";

/** The targets in the order the tables show them. */
export const SUITE_TARGETS: readonly SuiteTarget[] = [
  "echo",
  "proxy-hit",
  "proxy-miss",
  "proxy-mixed",
  "server",
];

/** A target's name as the log and the tables print it. */
export const TARGET_TITLES: Readonly<Record<SuiteTarget, string>> = {
  echo: "echo server (ceiling)",
  "proxy-hit": "calcnet proxy, cache hits",
  "proxy-miss": "calcnet proxy, misses (server behind it)",
  "proxy-mixed": "calcnet proxy, hits with every other request a miss (hits/s)",
  server: "calcnet server",
};

/** How the load is applied. */
export interface SuiteMode {
  /** Its column title. */
  readonly title: string;
  /** Concurrent connections. */
  readonly connections: number;
  /** A new connection per request. */
  readonly newConnection: boolean;
  /** Requests in flight per connection (1: a closed loop). */
  readonly window: number;
}

/** The load modes, in the order the tables show them. */
export const SUITE_MODES = {
  one: { title: "1 connection", connections: 1, newConnection: false, window: 1 },
  many: { title: "32 connections", connections: 32, newConnection: false, window: 1 },
  perRequest: {
    title: "new connection per request (32 at a time)",
    connections: 32,
    newConnection: true,
    window: 1,
  },
  window16: { title: "1 connection, window 16", connections: 1, newConnection: false, window: 16 },
  window64: { title: "1 connection, window 64", connections: 1, newConnection: false, window: 64 },
} as const satisfies Record<string, SuiteMode>;

/** A load mode's name. */
export type SuiteModeName = keyof typeof SUITE_MODES;

/** The column order of the tables. */
export const MODE_ORDER: readonly SuiteModeName[] = [
  "one",
  "many",
  "perRequest",
  "window16",
  "window64",
];

/** How the services of a table run, and what they are asked. */
export interface SuiteSetting {
  /** Its name in keys and logs. */
  readonly name: "shipped" | "quiet" | "pinned" | "example1";
  /** The table's title. */
  readonly title: string;
  /** calcnet's services log every request (the default) rather than run with `--quiet`. */
  readonly logging: boolean;
  /** The services are pinned to one core (`taskset`), where that is possible. */
  readonly pinned: boolean;
  /** The course example every request carries (with steps). */
  readonly example: 1 | 2;
  /** The load modes measured. */
  readonly modes: readonly SuiteModeName[];
  /** The targets measured (proxy-mixed at window 64 only). */
  readonly targets: readonly SuiteTarget[];
}

/** The four targets every setting measures. */
const MAIN_TARGETS: readonly SuiteTarget[] = ["echo", "proxy-hit", "proxy-miss", "server"];

/** The settings, in the order the document shows them. */
export const SUITE_SETTINGS: readonly SuiteSetting[] = [
  {
    name: "shipped",
    title: "As users run them: default flags (logging on), services placed by the OS",
    logging: true,
    pinned: false,
    example: 2,
    modes: MODE_ORDER,
    targets: [...MAIN_TARGETS, "proxy-mixed"],
  },
  {
    name: "quiet",
    title: "With --quiet (no per-request log lines), services placed by the OS",
    logging: false,
    pinned: false,
    example: 2,
    modes: ["many", "window64"],
    targets: MAIN_TARGETS,
  },
  {
    name: "pinned",
    title: "With --quiet, services pinned to one core (the earlier suite's setting)",
    logging: false,
    pinned: true,
    example: 2,
    modes: ["one", "many"],
    targets: MAIN_TARGETS,
  },
  {
    name: "example1",
    title: "Course example 1 with steps, default flags, services placed by the OS",
    logging: true,
    pinned: false,
    example: 1,
    modes: ["many"],
    targets: MAIN_TARGETS,
  },
];

/** One run of a round: a target under a setting in a mode. */
export interface Scenario {
  /** The setting. */
  readonly setting: SuiteSetting;
  /** The target. */
  readonly target: SuiteTarget;
  /** The load mode's name. */
  readonly mode: SuiteModeName;
}

/** Every scenario of a round, setting by setting, mode by mode (the echo first in each). */
export function suiteScenarios(settings: readonly SuiteSetting[] = SUITE_SETTINGS): Scenario[] {
  return settings.flatMap((setting) =>
    setting.modes.flatMap((mode) =>
      setting.targets
        .filter((target) => target !== "proxy-mixed" || mode === "window64")
        .map((target) => ({ setting, target, mode }))
    )
  );
}

/** The key of a scenario's runs. */
export function scenarioKey(
  setting: SuiteSetting["name"],
  target: SuiteTarget,
  mode: SuiteModeName,
): string {
  return `${setting} ${target} ${mode}`;
}
