/**
 * Log lines to stderr, batched so that logging stays off the request path:
 * lines are buffered and written together a moment later.
 *
 * @module
 */

/** A log sink that can be flushed and closed. */
export interface Logger {
  /** Queues one line (a time stamp is added); nothing when quiet. */
  (line: string): void;
  /** Queues a line about a failure: written even when quiet. */
  warn(line: string): void;
  /** Writes everything queued. */
  flush(): Promise<void>;
}

/** Options of {@linkcode createLogger}. */
export interface LoggerOptions {
  /** Drop every line. */
  readonly quiet?: boolean;
  /** Millisecond clock for the time stamps. */
  readonly clock?: () => number;
  /** Where the text goes (stderr by default). */
  readonly sink?: { write(bytes: Uint8Array): Promise<number> };
}

/**
 * Creates a batching logger.
 *
 * @example
 * ```ts
 * const log = createLogger({});
 * log("listening on 127.0.0.1:9999");
 * await log.flush();
 * ```
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const clock = options.clock ?? Date.now;
  const sink = options.sink ?? Deno.stderr;
  const encoder = new TextEncoder();
  let queued: string[] = [];
  let writing: Promise<void> = Promise.resolve();
  let scheduled = false;

  const drain = (): Promise<void> => {
    scheduled = false;
    if (queued.length === 0) return writing;
    const text = queued.join("");
    queued = [];
    writing = writing.then(async () => {
      const bytes = encoder.encode(text);
      let offset = 0;
      while (offset < bytes.length) offset += await sink.write(bytes.subarray(offset));
    }).catch(() => {});
    return writing;
  };

  const queue = (line: string): void => {
    queued.push(`${new Date(clock()).toISOString().slice(11, 23)} ${line}\n`);
    if (!scheduled) {
      scheduled = true;
      setTimeout(drain, 0);
    }
  };
  const log = ((line: string): void => {
    if (!options.quiet) queue(line);
  }) as Logger;
  log.warn = queue;
  log.flush = drain;
  return log;
}
