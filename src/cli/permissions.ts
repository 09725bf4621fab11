/**
 * Deno's permissions, checked before the work that needs them: a command
 * whose last step needs `--allow-run` must not run for minutes and then
 * fail. Deno's own refusal (`NotCapable`) becomes one line naming the flag.
 *
 * @module
 */

import { PermissionError } from "../base/mod.ts";
import type { PermissionFlag } from "../term/mod.ts";

/**
 * Returns when `descriptor` is granted; asks for it where Deno may ask (a
 * terminal, no `--no-prompt`); otherwise throws.
 *
 * @throws {PermissionError} naming `flag` and `purpose`, with `advice` (if any) after it.
 */
export function requirePermission(
  descriptor: Deno.PermissionDescriptor,
  flag: PermissionFlag,
  purpose: string,
  advice?: string,
): void {
  if (Deno.permissions.querySync(descriptor).state === "granted") return;
  // Without a terminal, or with --no-prompt, Deno answers "denied" at once.
  if (Deno.permissions.requestSync(descriptor).state === "granted") return;
  throw new PermissionError(
    `${purpose} needs ${flag}, which calcnet was not given${advice ? `: ${advice}` : ""}`,
  );
}

/** Deno's refusal of an operation (`NotCapable`) as one line that names the flag. */
export function permissionErrorOf(error: Deno.errors.NotCapable): PermissionError {
  const line = error.message.split("\n")[0] ?? "";
  return new PermissionError(`missing permission: ${line}`);
}
