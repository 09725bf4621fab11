/**
 * What every layer shares: calcnet's error classes with their exit codes
 * ({@linkcode ExitCode}), the checked resolution of numeric limits
 * ({@linkcode limitsResolver}), and a promise's outcome as a value
 * ({@linkcode settle}, {@linkcode settleWithin}). The ground floor: it
 * imports nothing.
 *
 * @module
 */

export {
  CalcnetError,
  ConnectionError,
  ConnectionTimeoutError,
  ExitCode,
  PermissionError,
  ProtocolError,
  UsageError,
} from "./errors.ts";
export { limitsResolver } from "./limits.ts";
export { settle, type Settled, type SettledWithin, settleWithin } from "./settled.ts";
