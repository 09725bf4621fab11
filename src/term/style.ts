/**
 * Terminal colour through `console.log`'s `%c` styling: only on a terminal,
 * never with `NO_COLOR`.
 *
 * @module
 */

/** Where output goes. */
export type Stream = "stdout" | "stderr";

/** Whether `stream` should get colour: a terminal and no `NO_COLOR`. */
export function colorEnabled(stream: Stream): boolean {
  // Deno reads NO_COLOR at start (set and not empty): no --allow-env needed.
  if (Deno.noColor) return false;
  return stream === "stdout" ? Deno.stdout.isTerminal() : Deno.stderr.isTerminal();
}

/** A piece of text and the CSS to show it with (e.g. `"color: green"`). */
export type Styled = readonly [text: string, css?: string];

/**
 * Prints styled pieces as one line, with `%c` when colour is on.
 *
 * @example
 * ```ts
 * printLine("stdout", [["Result: "], ["6", "font-weight: bold"]]);
 * ```
 */
export function printLine(stream: Stream, pieces: readonly Styled[]): void {
  const print = stream === "stdout" ? console.log : console.error;
  if (!colorEnabled(stream)) {
    print(pieces.map(([text]) => text).join(""));
    return;
  }
  const format = pieces.map(([text]) => `%c${text.replaceAll("%", "%%")}`).join("");
  print(format, ...pieces.map(([, css]) => css ?? ""));
}
