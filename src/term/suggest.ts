/**
 * "Did you mean ...?" for mistyped subcommands and flags.
 *
 * @module
 */

/**
 * Edit distance counting insertions, deletions, substitutions and swaps of
 * two neighbouring characters (optimal string alignment): `stesp` is one
 * edit from `steps`.
 */
export function editDistance(a: string, b: string): number {
  const rows = Array.from(
    { length: a.length + 1 },
    (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => (rows[i] as number[])[j] as number;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      let best = Math.min(
        at(i - 1, j) + 1,
        at(i, j - 1) + 1,
        at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      (rows[i] as number[])[j] = best;
    }
  }
  return at(a.length, b.length);
}

/**
 * The candidate closest to `input`, when it is close enough to be a likely
 * typo (at most a third of its length, and at least 1, edits away).
 *
 * @example
 * ```ts
 * closestMatch("sever", ["server", "proxy"]); // "server"
 * ```
 */
export function closestMatch(input: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(input, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const allowed = Math.max(1, Math.floor(Math.max(input.length, 3) / 3));
  return bestDistance <= allowed ? best : undefined;
}
