/**
 * The protocol the code cites is in the repository (issue 8): every
 * citation of a section names docs/PROTOCOL.md, every section cited is there, and
 * nothing in the program or its tests refers to the course's folder beside
 * the repository.
 */

import assert from "node:assert/strict";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const PROTOCOL_DOC = "docs/PROTOCOL.md";

/** Where citations live: the code, its tests, the docs and the files at the top. */
const FOLDERS = ["src", "tests", "docs"];
const TOP_FILES = ["main.ts", "README.md", "CONTRIBUTING.md", "deno.json"];
const TEXT_FILE = /\.(ts|py|md|json)$/;

interface TextFile {
  /** Relative to the repository's root, with `/`. */
  readonly path: string;
  readonly text: string;
}

async function textFiles(): Promise<TextFile[]> {
  const files: TextFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) await walk(path);
      else if (TEXT_FILE.test(entry.name)) files.push(await read(path));
    }
  };
  for (const folder of FOLDERS) await walk(join(ROOT, folder));
  for (const name of TOP_FILES) files.push(await read(join(ROOT, name)));
  return files;
}

async function read(path: string): Promise<TextFile> {
  return { path: relative(ROOT, path).replaceAll("\\", "/"), text: await Deno.readTextFile(path) };
}

/** One match of a pattern: where (`file:line`, for a readable failure) and what. */
interface Occurrence {
  readonly at: string;
  readonly match: RegExpMatchArray;
}

/** Every match of `pattern` (global) in `files`. */
function occurrences(files: readonly TextFile[], pattern: RegExp): Occurrence[] {
  const found: Occurrence[] = [];
  for (const { path, text } of files) {
    text.split("\n").forEach((line, i) => {
      for (const match of line.matchAll(pattern)) found.push({ at: `${path}:${i + 1}`, match });
    });
  }
  return found;
}

/** `file:line: text` of each occurrence. */
function show(found: readonly Occurrence[]): string[] {
  return found.map(({ at, match }) => `${at}: ${match[0]}`);
}

const FILES = await textFiles();

Deno.test("every citation of a protocol section names docs/PROTOCOL.md", () => {
  // A path or name ending in PROTOCOL (or PROTOCOL.md) right before a section sign.
  const citations = occurrences(FILES, /[\w./]*PROTOCOL(?:\.md)?\s*§/g);
  assert.ok(citations.length > 30, `only ${citations.length} citations found`);
  const elsewhere = citations.filter(({ match }) => match[0] !== `${PROTOCOL_DOC} §`);
  assert.deepEqual(show(elsewhere), []);
});

Deno.test("every section of docs/PROTOCOL.md that is cited exists", () => {
  const doc = FILES.find((file) => file.path === PROTOCOL_DOC);
  assert.ok(doc, `${PROTOCOL_DOC} is missing`);
  const headings = new Set(
    [...doc.text.matchAll(/^#{2,3} (\d+(?:\.\d+)?)[. ]/gm)].map((m) => m[1] as string),
  );
  assert.ok(headings.has("5") && headings.has("3.1"), [...headings].join(", "));
  const cited = occurrences(FILES, /docs\/PROTOCOL\.md §(\d+(?:\.\d+)?)(?:[–-](\d+))?/g);
  assert.ok(cited.length > 30, `only ${cited.length} numbered citations found`);
  // A range (§2–3) names its first and last sections.
  const missing = cited.filter(({ match }) =>
    !match.slice(1).every((n) => n === undefined || headings.has(n))
  );
  assert.deepEqual(show(missing), []);
});

Deno.test("nothing in src, tests or main.ts refers to the course's folder beside the repository", () => {
  const program = FILES.filter(({ path }) =>
    path === "main.ts" || path.startsWith("src/") || path.startsWith("tests/")
  );
  assert.ok(program.length > 100, `${program.length} files`);
  // Spelled in pieces so that this file does not match itself.
  const shared = new RegExp(
    ["\\.\\.", "shared\\b"].join("/") + "|" + ["", "work", "shared"].join("/"),
    "g",
  );
  assert.deepEqual(show(occurrences(program, shared)), []);
});
