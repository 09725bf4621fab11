/**
 * The signals calcnet's services answer: SIGINT/SIGTERM (SIGINT and SIGBREAK
 * on Windows) stop them; SIGUSR2 prints the proxy's counters.
 *
 * SIGUSR1 is left alone on purpose: Deno answers it by starting its V8
 * inspector on 127.0.0.1:9229, whatever the program listens for, and on a
 * shared machine anyone could attach to it and run code as the student.
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

/** The signal that asks a running service for its counters. */
export const STATS_SIGNAL: Deno.Signal = "SIGUSR2";

/** Calls `print` on every {@linkcode STATS_SIGNAL} until disposed (nothing on Windows). */
export function onStatsSignal(print: () => void): Disposable {
  if (Deno.build.os === "windows") return { [Symbol.dispose]() {} };
  Deno.addSignalListener(STATS_SIGNAL, print);
  return {
    [Symbol.dispose]() {
      Deno.removeSignalListener(STATS_SIGNAL, print);
    },
  };
}
