/**
 * Turns SIGINT/SIGTERM (SIGINT and SIGBREAK on Windows) into an AbortSignal.
 *
 * @module
 */

/** An abort signal tied to the process's stop signals; dispose to unhook. */
export interface StopSignal extends Disposable {
  /** Aborts on the first stop signal. */
  readonly signal: AbortSignal;
}

/** Listens for the platform's stop signals until disposed. */
export function stopSignal(): StopSignal {
  const controller = new AbortController();
  const names: Deno.Signal[] = Deno.build.os === "windows"
    ? ["SIGINT", "SIGBREAK"]
    : ["SIGINT", "SIGTERM"];
  const onSignal = (): void => controller.abort();
  for (const name of names) Deno.addSignalListener(name, onSignal);
  return {
    signal: controller.signal,
    [Symbol.dispose]() {
      for (const name of names) Deno.removeSignalListener(name, onSignal);
    },
  };
}
