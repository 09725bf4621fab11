/**
 * Turns at a bounded resource (the proxy's connections to one server)
 * shared fairly among the proxy's clients: each client (a client
 * connection, named by its peer `host:port`) has its own line, first come
 * first served; the lines take turns, host by host and then connection by
 * connection within a host, so a client that queues many requests delays
 * another's by about one round, not by all of its own. A client holds at
 * most a set number of turns at once; its further requests wait in its own
 * line. The waiting are bounded in all; when they are full, a newcomer
 * takes the place of the newest waiter of the client with the most waiting,
 * if that one has at least two more than the newcomer's client. A request
 * whose deadline passes while it waits is settled then and passed over
 * later (no search of the lines). No sockets: the resource is behind
 * {@linkcode Capacity}.
 *
 * @module
 */

/** Bounds of a {@linkcode FairQueue}. */
export interface FairQueueLimits {
  /** Turns one client may hold at once; its further requests wait in its own line. */
  readonly maxActivePerClient: number;
  /** Requests that may wait at once, all clients together. */
  readonly maxWaiting: number;
}

/** What turns give: the resource behind a {@linkcode FairQueue}. */
export interface Capacity<G> {
  /** Whether {@linkcode Capacity.take} has something to give now. */
  available(): boolean;
  /** A part of the resource (called only when available). */
  take(): G;
}

/**
 * Why a request got no turn: its deadline passed while it waited (`capped`:
 * while its client held all the turns it may), the waiting were full, a
 * newcomer took its place, or the queue was closed.
 */
export type NoTurn =
  | { readonly why: "timeout"; readonly capped: boolean }
  | { readonly why: "full"; readonly waiting: number }
  | { readonly why: "displaced" }
  | { readonly why: "closed" };

/** A turn: a part of the resource, held for one client until `done()`. */
export interface Turn<G> {
  /** What {@linkcode Capacity.take} gave. */
  readonly grant: G;
  /** Gives the client's turn back (once; the grant is the caller's to return). */
  done(): void;
}

/** Settled entries at the front of a line after which it is compacted. */
const LINE_COMPACT_AT = 64;

/** A first-in-first-out list whose front is taken in constant time. */
class Line<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    this.#items.push(item);
  }

  peek(): T | undefined {
    return this.#items[this.#head];
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) this.clear();
    else if (this.#head >= LINE_COMPACT_AT && this.#head * 2 >= this.#items.length) {
      this.#items.splice(0, this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** The newest item, taken from the back. */
  pop(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items.pop();
    if (this.#head === this.#items.length) this.clear();
    return item;
  }

  clear(): void {
    this.#items = [];
    this.#head = 0;
  }

  *[Symbol.iterator](): Generator<T> {
    for (let i = this.#head; i < this.#items.length; i++) yield this.#items[i] as T;
  }
}

/** A request waiting for its turn; settled once (a turn, a timeout, a displacement, a close). */
interface Waiter<G> {
  readonly client: Client<G>;
  readonly deadline: number;
  settled: boolean;
  timer: ReturnType<typeof setTimeout> | undefined;
  resolve(turn: Turn<G>): void;
  reject(error: Error): void;
}

/** One client: its line, and the turns it holds. */
interface Client<G> {
  readonly key: string;
  readonly host: Host<G>;
  readonly line: Line<Waiter<G>>;
  /** Waiters in its line not settled yet. */
  waiting: number;
  /** Turns it holds. */
  active: number;
  /** In its host's round (it may be there with no one waiting: passed over then). */
  inRound: boolean;
}

/** The clients of one host that have requests waiting, in turn. */
interface Host<G> {
  readonly key: string;
  readonly round: Line<Client<G>>;
  /** Client records of this host kept. */
  clients: number;
  inRound: boolean;
}

/**
 * Gives turns at a {@linkcode Capacity} to requests, fairly among clients.
 *
 * @example
 * ```ts
 * const queue = new FairQueue({ maxActivePerClient: 8, maxWaiting: 4096 }, slots, (why) => new Error(why.why));
 * const turn = await queue.take("127.0.0.1:50312", performance.now() + 10_000);
 * try { use(turn.grant); } finally { turn.done(); }
 * ```
 */
export class FairQueue<G> {
  readonly #limits: FairQueueLimits;
  readonly #capacity: Capacity<G>;
  readonly #refusal: (noTurn: NoTurn) => Error;
  readonly #clients = new Map<string, Client<G>>();
  readonly #hosts = new Map<string, Host<G>>();
  /** Hosts whose clients have requests waiting, in turn. */
  readonly #round = new Line<Host<G>>();
  #waiting = 0;
  #anonymous = 0;
  #closed = false;

  /** Turns at `capacity` within `limits`; a request that gets none fails with `refusal(why)`. */
  constructor(
    limits: FairQueueLimits,
    capacity: Capacity<G>,
    refusal: (noTurn: NoTurn) => Error,
  ) {
    this.#limits = limits;
    this.#capacity = capacity;
    this.#refusal = refusal;
  }

  /** Requests waiting now. */
  get waiting(): number {
    return this.#waiting;
  }

  /**
   * A turn for a request of `client` (a peer `host:port`; undefined: a
   * client of its own) by `deadline` (a `performance.now()` time): at once
   * when the client is under its share, nobody of its own waits ahead of it
   * and the capacity has room; else after waiting its turn.
   *
   * @throws {Error} (rejects with) the constructor's `refusal` of the
   * {@linkcode NoTurn} when the request gets no turn.
   */
  take(client: string | undefined, deadline: number): Promise<Turn<G>> {
    if (this.#closed) return this.#refuse({ why: "closed" });
    if (performance.now() >= deadline) return this.#refuse({ why: "timeout", capped: false });
    const record = this.#client(client);
    if (
      record.waiting === 0 && record.active < this.#limits.maxActivePerClient &&
      this.#capacity.available()
    ) {
      return Promise.resolve(this.#turn(record));
    }
    return this.#wait(record, deadline);
  }

  /**
   * Gives what the capacity has to the waiting requests, in turn; call it
   * whenever the capacity may have grown.
   */
  dispatch(): void {
    while (!this.#closed && this.#capacity.available()) {
      const waiter = this.#next(performance.now());
      if (waiter === undefined) return;
      waiter.resolve(this.#turn(waiter.client));
    }
  }

  /** Fails every waiting request; later ones fail at once. */
  close(): void {
    this.#closed = true;
    for (const client of [...this.#clients.values()]) {
      for (const waiter of client.line) this.#settle(waiter, { why: "closed" });
    }
  }

  /** The record of `key`, made when it has none. */
  #client(key: string | undefined): Client<G> {
    const name = key ?? `anonymous #${++this.#anonymous}`;
    const known = this.#clients.get(name);
    if (known !== undefined) return known;
    // A peer is host:port (an IPv6 host has colons of its own); a name without a port is its own host.
    const colon = name.lastIndexOf(":");
    const hostName = colon < 0 ? name : name.slice(0, colon);
    let host = this.#hosts.get(hostName);
    if (host === undefined) {
      host = { key: hostName, round: new Line(), clients: 0, inRound: false };
      this.#hosts.set(hostName, host);
    }
    host.clients++;
    const client: Client<G> = {
      key: name,
      host,
      line: new Line(),
      waiting: 0,
      active: 0,
      inRound: false,
    };
    this.#clients.set(name, client);
    return client;
  }

  /** A turn of `client` holding what the capacity gives. */
  #turn(client: Client<G>): Turn<G> {
    client.active++;
    const grant = this.#capacity.take();
    let held = true;
    return {
      grant,
      done: () => {
        if (!held) return;
        held = false;
        client.active--;
        this.#enterRound(client);
        this.#forgetIfIdle(client);
        this.dispatch();
      },
    };
  }

  #wait(client: Client<G>, deadline: number): Promise<Turn<G>> {
    if (this.#waiting >= this.#limits.maxWaiting && !this.#displaceFor(client)) {
      const full: NoTurn = { why: "full", waiting: this.#waiting };
      this.#forgetIfIdle(client);
      return this.#refuse(full);
    }
    return new Promise<Turn<G>>((resolve, reject) => {
      const waiter: Waiter<G> = {
        client,
        deadline,
        settled: false,
        timer: undefined,
        resolve,
        reject,
      };
      // Left in its line, settled: #next passes over it.
      waiter.timer = setTimeout(
        () => this.#settle(waiter, this.#timedOut(client)),
        Math.max(0, deadline - performance.now()),
      );
      client.line.push(waiter);
      client.waiting++;
      this.#waiting++;
      this.#enterRound(client);
    });
  }

  /** Makes room for a request of `client` at the cost of the client with the most waiting, if fair. */
  #displaceFor(client: Client<G>): boolean {
    let heaviest: Client<G> | undefined;
    for (const other of this.#clients.values()) {
      if (heaviest === undefined || other.waiting > heaviest.waiting) heaviest = other;
    }
    if (heaviest === undefined || heaviest.waiting < client.waiting + 2) return false;
    for (let waiter = heaviest.line.pop(); waiter !== undefined; waiter = heaviest.line.pop()) {
      if (waiter.settled) continue;
      this.#settle(waiter, { why: "displaced" });
      return true;
    }
    return false;
  }

  /**
   * The waiter whose turn it is: the first of the next client of the next
   * host in the round, those whose deadline has passed settled on the way.
   */
  #next(now: number): Waiter<G> | undefined {
    for (;;) {
      const host = this.#round.peek();
      if (host === undefined) return undefined;
      const client = host.round.shift();
      if (client === undefined) {
        this.#round.shift();
        host.inRound = false;
        continue;
      }
      client.inRound = false;
      // Back in the round when a turn of its own ends.
      if (client.active >= this.#limits.maxActivePerClient) continue;
      const waiter = this.#first(client, now);
      if (waiter === undefined) continue;
      client.line.shift();
      this.#round.shift();
      host.inRound = false;
      this.#settle(waiter, undefined);
      this.#enterRound(client);
      if (!host.inRound && host.round.length > 0) {
        host.inRound = true;
        this.#round.push(host);
      }
      return waiter;
    }
  }

  /** The first waiter of `client` still waiting, left in its line; overdue ones are settled. */
  #first(client: Client<G>, now: number): Waiter<G> | undefined {
    for (let waiter = client.line.peek(); waiter !== undefined; waiter = client.line.peek()) {
      if (!waiter.settled && now < waiter.deadline) return waiter;
      if (!waiter.settled) this.#settle(waiter, this.#timedOut(client));
      client.line.shift();
    }
    return undefined;
  }

  /** Puts `client` in its host's round (and the host in the round) when it may be served. */
  #enterRound(client: Client<G>): void {
    const eligible = client.waiting > 0 && client.active < this.#limits.maxActivePerClient;
    if (client.inRound || !eligible) return;
    client.inRound = true;
    client.host.round.push(client);
    if (client.host.inRound) return;
    client.host.inRound = true;
    this.#round.push(client.host);
  }

  /** Ends `waiter`'s wait: with `noTurn`, or (undefined) because its turn came. */
  #settle(waiter: Waiter<G>, noTurn: NoTurn | undefined): void {
    if (waiter.settled) return;
    waiter.settled = true;
    clearTimeout(waiter.timer);
    const client = waiter.client;
    client.waiting--;
    this.#waiting--;
    if (noTurn === undefined) return;
    // Only settled entries are left: nothing to pass over later.
    if (client.waiting === 0) client.line.clear();
    this.#forgetIfIdle(client);
    waiter.reject(this.#refusal(noTurn));
  }

  #refuse(noTurn: NoTurn): Promise<Turn<G>> {
    return Promise.reject(this.#refusal(noTurn));
  }

  #timedOut(client: Client<G>): NoTurn {
    return { why: "timeout", capped: client.active >= this.#limits.maxActivePerClient };
  }

  /** Drops the record of a client with nothing waiting and no turn held. */
  #forgetIfIdle(client: Client<G>): void {
    if (client.waiting > 0 || client.active > 0) return;
    if (this.#clients.get(client.key) !== client) return;
    this.#clients.delete(client.key);
    // Its (emptied) entries in a round are passed over there.
    client.line.clear();
    if (--client.host.clients === 0) this.#hosts.delete(client.host.key);
  }
}
