/**
 * The process and its terminal, shared by the commands and the reports:
 * styled lines ({@linkcode printLine}), a batching logger
 * ({@linkcode createLogger}), stop and counter signals
 * ({@linkcode stopSignal}, {@linkcode onStatsSignal}) and the last-resort
 * {@linkcode crashGuard}. Neutral: it imports nothing of calcnet.
 *
 * @module
 */

export { crashGuard } from "./crash_guard.ts";
export { createLogger } from "./logger.ts";
export { onStatsSignal, stopSignal } from "./signals.ts";
export { printLine, type Styled } from "./style.ts";
