/**
 * The last line of defence of a long-running service: an exception nobody
 * caught (a bug in a timer callback, a promise nobody awaited) is logged
 * with its stack and the service goes on serving, instead of the whole
 * process — every other client's connection with it — ending.
 *
 * @module
 */

/** Logs uncaught errors and unhandled rejections through `log` until disposed. */
export function crashGuard(log: (line: string) => void): Disposable {
  const onRejection = (event: PromiseRejectionEvent): void => {
    event.preventDefault();
    log(`internal error (still serving): ${describe(event.reason)}`);
  };
  const onError = (event: ErrorEvent): void => {
    event.preventDefault();
    log(`internal error (still serving): ${describe(event.error)}`);
  };
  globalThis.addEventListener("unhandledrejection", onRejection);
  globalThis.addEventListener("error", onError);
  return {
    [Symbol.dispose]() {
      globalThis.removeEventListener("unhandledrejection", onRejection);
      globalThis.removeEventListener("error", onError);
    },
  };
}

function describe(error: unknown): string {
  return error instanceof Error ? error.stack ?? `${error.name}: ${error.message}` : String(error);
}
