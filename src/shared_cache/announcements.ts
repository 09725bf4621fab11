/**
 * Wakes the local waiters for a key when its outcome is announced on the
 * Redis channel. A waiter registers before it first looks for the outcome,
 * so an announcement that arrives between a look and the next wait is kept,
 * not lost.
 *
 * @module
 */

/** One waiter's doorbell. */
export interface Doorbell extends Disposable {
  /** Resolves when the key is announced (or was since the last ring), or after `ms`. */
  ring(ms: number): Promise<void>;
}

class Bell implements Doorbell {
  #rung = false;
  #wake: (() => void) | undefined;
  readonly #dispose: () => void;

  constructor(dispose: (bell: Bell) => void) {
    this.#dispose = () => dispose(this);
  }

  press(): void {
    this.#rung = true;
    this.#wake?.();
  }

  ring(ms: number): Promise<void> {
    if (this.#rung) {
      this.#rung = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.#wake?.(), Math.max(0, ms));
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = undefined;
        this.#rung = false;
        resolve();
      };
    });
  }

  [Symbol.dispose](): void {
    this.#wake?.();
    this.#dispose();
  }
}

/** The doorbells of the waiters, by key hash. */
export class Announcements {
  readonly #bells = new Map<string, Set<Bell>>();

  /** Waiters now. */
  get waiting(): number {
    let count = 0;
    for (const bells of this.#bells.values()) count += bells.size;
    return count;
  }

  /** A doorbell for `hash`; dispose of it when done waiting. */
  listen(hash: string): Doorbell {
    const bell = new Bell((done) => this.#forget(hash, done));
    const bells = this.#bells.get(hash) ?? new Set();
    bells.add(bell);
    this.#bells.set(hash, bells);
    return bell;
  }

  /** Wakes the waiters for `hash` (a message from the channel; unknown ones are ignored). */
  announce(hash: string): void {
    for (const bell of this.#bells.get(hash) ?? []) bell.press();
  }

  /** Wakes every waiter (on close). */
  wakeAll(): void {
    for (const bells of this.#bells.values()) for (const bell of bells) bell.press();
  }

  #forget(hash: string, bell: Bell): void {
    const bells = this.#bells.get(hash);
    bells?.delete(bell);
    if (bells?.size === 0) this.#bells.delete(hash);
  }
}
