/**
 * What every layer shares: calcnet's error classes with their exit codes
 * ({@linkcode ExitCode}), and the checked resolution of numeric limits
 * ({@linkcode limitsResolver}). The ground floor: it imports nothing.
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
