/**
 * Telling operating-system I/O failures (which the cache reports and
 * survives) from bugs (which it rethrows).
 *
 * @module
 */

/** Deno's own error classes (`NotFound`, `PermissionDenied`, `NotCapable`, ...). */
const DENO_ERROR_CLASSES = Object.values(Deno.errors);

/**
 * Whether `error` is a failed file-system operation: one of `Deno.errors`, or
 * an `Error` with an OS error code such as `ENOSPC`.
 */
export function isIoError(error: unknown): error is Error {
  if (!(error instanceof Error)) return false;
  if ("code" in error && typeof error.code === "string") return true;
  return DENO_ERROR_CLASSES.some((errorClass) => error instanceof errorClass);
}

/** `text` with its line breaks (and the blanks around them) turned into single spaces. */
export function oneLine(text: string): string {
  return text.replace(/\s*[\r\n]+\s*/g, " ").trim();
}

/**
 * Deno's `: <operation> '<path>'` at the end of an I/O error's message: the
 * caller's message names the file in its own words (and a random temporary
 * file's name would make every message different).
 */
const OPERATION_SUFFIX = /:\s+[a-z_]+ '[^']*'(?: -> '[^']*')?$/;

/**
 * The reason an I/O error gives, on one line and without the operation and
 * path Deno appends: "Permission denied (os error 13)".
 */
export function ioReason(error: Error): string {
  return oneLine(error.message).replace(OPERATION_SUFFIX, "");
}
