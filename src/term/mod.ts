/**
 * The process and its terminal, shared by the commands and the reports:
 * typed command-line flags ({@linkcode flag}, {@linkcode command}), styled
 * lines ({@linkcode printLine}), a batching logger
 * ({@linkcode createLogger}), stop and counter signals
 * ({@linkcode stopSignal}, {@linkcode onStatsSignal}) and the last-resort
 * {@linkcode crashGuard}. Above `base/` only.
 *
 * @module
 */

export { crashGuard } from "./crash_guard.ts";
export { createLogger } from "./logger.ts";
export { onStatsSignal, stopSignal } from "./signals.ts";
export { printLine, type Styled } from "./style.ts";
export {
  type Command,
  command,
  type CommandSpec,
  type Flag,
  flag,
  type HostPort,
  MAX_PORT,
  type ParsedArgs,
  parseHostPort,
  type PermissionFlag,
} from "./flags.ts";
export { closestMatch } from "./suggest.ts";
