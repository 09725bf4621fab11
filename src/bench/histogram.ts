/**
 * A latency histogram with a fixed memory footprint: HDR-style log-linear
 * buckets over whole microseconds, so recording a sample is a few integer
 * operations and never allocates, however many requests a run makes.
 *
 * Values below 128 µs get a bucket each; above, every power of two is split
 * into 64 buckets, so a reported percentile is within 1/64 (1.6 %) of the
 * true value. Values above about 71 minutes land in the last bucket.
 *
 * @module
 */

/** Exact buckets below this many microseconds. */
const LINEAR_LIMIT = 128;
/** Buckets per power of two above {@linkcode LINEAR_LIMIT}. */
const SUB_BUCKETS = 64;
/** log2 of {@linkcode SUB_BUCKETS}. */
const SUB_BUCKET_BITS = 6;
/** Powers of two above {@linkcode LINEAR_LIMIT} covered (2^7 … 2^32 µs). */
const OCTAVES = 25;
/** Total buckets. */
const BUCKETS = LINEAR_LIMIT + OCTAVES * SUB_BUCKETS;
/** The largest value (µs) recorded as itself; larger ones are clamped. */
const MAX_MICROS = 2 ** 32 - 1;

/** The bucket of a whole number of microseconds. */
function bucketOf(micros: number): number {
  if (micros < LINEAR_LIMIT) return micros;
  // The highest set bit picks the octave; the next six bits the sub-bucket.
  const shift = 31 - Math.clz32(micros) - SUB_BUCKET_BITS;
  return LINEAR_LIMIT + (shift - 1) * SUB_BUCKETS + ((micros >>> shift) - SUB_BUCKETS);
}

/** The largest value (µs) that falls into `bucket`. */
function bucketTop(bucket: number): number {
  if (bucket < LINEAR_LIMIT) return bucket;
  const shift = Math.floor((bucket - LINEAR_LIMIT) / SUB_BUCKETS) + 1;
  const sub = (bucket - LINEAR_LIMIT) % SUB_BUCKETS + SUB_BUCKETS;
  return (sub + 1) * 2 ** shift - 1;
}

/**
 * Latencies in milliseconds, recorded into preallocated buckets.
 *
 * @example
 * ```ts
 * const latency = new Histogram();
 * latency.record(0.25);
 * latency.percentile(0.99); // ≈ 0.25
 * ```
 */
export class Histogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #sum = 0;
  #max = 0;

  /** Samples recorded. */
  get count(): number {
    return this.#count;
  }

  /** The largest sample in milliseconds (exact), or 0 when empty. */
  get max(): number {
    return this.#max;
  }

  /** The mean in milliseconds (exact), or 0 when empty. */
  get mean(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count;
  }

  /** Records one latency in milliseconds (negative values count as 0). */
  record(ms: number): void {
    const clamped = ms > 0 ? ms : 0;
    const micros = Math.min(MAX_MICROS, Math.round(clamped * 1000));
    const bucket = bucketOf(micros);
    this.#counts[bucket] = (this.#counts[bucket] ?? 0) + 1;
    this.#count++;
    this.#sum += clamped;
    if (clamped > this.#max) this.#max = clamped;
  }

  /**
   * The latency in milliseconds below which a `fraction` (0–1) of the
   * samples fall: the top of the bucket holding that rank, capped at the
   * exact maximum. 0 when empty.
   */
  percentile(fraction: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(Math.min(1, Math.max(0, fraction)) * this.#count));
    let seen = 0;
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      seen += this.#counts[bucket] ?? 0;
      if (seen >= rank) return Math.min(this.#max, bucketTop(bucket) / 1000);
    }
    return this.#max;
  }

  /** Forgets every sample (e.g. after a warm-up). */
  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#sum = 0;
    this.#max = 0;
  }
}
