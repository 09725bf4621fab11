/**
 * README.md is the student's door: short enough to read in a terminal, the
 * lab in order, every command line it shows accepted by calcnet as written,
 * and every link leading somewhere.
 */

import assert from "node:assert/strict";
import { COMMANDS } from "../main.ts";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type CommandSpec, parseFlags } from "../src/term/flags.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const README = await Deno.readTextFile(join(ROOT, "README.md"));

/** The README's budget (issue 11: "at most ~10 KB"). */
const MAX_README_BYTES = 10 * 1024;

const SPECS: ReadonlyMap<string, CommandSpec> = new Map(
  Object.entries(COMMANDS).map(([name, command]) => [name, command.spec]),
);

/** The lines of the README's fenced code blocks. */
function codeLines(markdown: string): string[] {
  const blocks = [...markdown.matchAll(/^```[a-z]*\n([^]*?)^```$/gm)];
  return blocks.flatMap((block) => (block[1] ?? "").split("\n"));
}

/** A shell line's words, with "double quoted" words whole and a trailing `# comment` dropped. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/"([^"]*)"|(\S+)/g)) {
    if (match[2]?.startsWith("#")) break;
    words.push(match[1] ?? match[2] ?? "");
  }
  return words;
}

Deno.test("README.md is at most 10 KB, has no Mermaid, and walks the lab in order", () => {
  const bytes = new TextEncoder().encode(README).length;
  assert.ok(bytes <= MAX_README_BYTES, `README.md is ${bytes} bytes`);
  assert.doesNotMatch(README, /```mermaid/);
  const headings = [...README.matchAll(/^#{2,3} (.+)$/gm)].map((match) => match[1] ?? "");
  const order = [
    /^Two commands$/,
    /^The lab, in order$/,
    /^0\. Get the `calcnet` command$/,
    /^1\. Client and server/,
    /^2\. Through the proxy/,
    /^3\. The server down/,
    /^5\. Your own server and proxy$/,
    /^Subcommands$/,
  ];
  let at = -1;
  for (const heading of order) {
    const next = headings.findIndex((text, i) => i > at && heading.test(text));
    assert.ok(next > at, `${heading} after ${headings[at] ?? "the start"}`);
    at = next;
  }
});

Deno.test("every calcnet command line in README.md is accepted by that subcommand", () => {
  const lines = codeLines(README).map(shellWords).filter((words) => words[0] === "calcnet");
  assert.ok(lines.length >= 15, `${lines.length} command lines`);
  for (const [, name, ...args] of lines) {
    if (name === undefined || name.startsWith("-")) continue;
    const spec = SPECS.get(name);
    assert.ok(spec, `calcnet ${name}: no such subcommand`);
    assert.doesNotThrow(() => parseFlags(spec, args), `calcnet ${name} ${args.join(" ")}`);
  }
});

Deno.test("every relative link in README.md leads to a file or heading that exists", async () => {
  const anchors = new Set(
    [...README.matchAll(/^#+ (.+)$/gm)].map((match) =>
      (match[1] ?? "").toLowerCase().replace(/[^\w\- ]/g, "").replaceAll(" ", "-")
    ),
  );
  const targets = [...README.matchAll(/\]\(([^)]+)\)/g)].map((match) => match[1] ?? "");
  assert.ok(targets.length > 0);
  for (const target of targets.filter((link) => !/^[a-z]+:/.test(link))) {
    if (target.startsWith("#")) {
      assert.ok(anchors.has(target.slice(1)), `no heading for ${target}`);
    } else {
      const path = join(ROOT, target.split("#")[0] ?? "");
      assert.ok((await Deno.stat(path)).isFile, target);
    }
  }
});
