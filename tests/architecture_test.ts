/**
 * The layout keeps its promises (docs/ARCHITECTURE.md): every folder of
 * `src/` has a front door (`mod.ts`), imports across folders go through it
 * and point down the layers, no file imports itself in a circle, and
 * functions stay short enough to read at once.
 */

import assert from "node:assert/strict";
import { dirname, join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const SRC = fileURLToPath(new URL("../src/", import.meta.url));

/**
 * The folders from the ground up. A folder may import from folders on
 * lower floors only; folders on one floor do not import each other.
 */
const FLOORS: readonly (readonly string[])[] = [
  ["base"],
  ["protocol", "calc", "term"],
  ["pickle", "wireshark"],
  ["net", "capture", "shared_cache"],
  ["server", "client", "proxy"],
  ["check", "demo", "bench"],
  ["cli"],
];

/** Functions allowed past {@linkcode MAX_FUNCTION_LINES}: flat tables and switches, each with why. */
const LONG_FUNCTIONS: ReadonlyMap<string, string> = new Map([
  [
    "pickle/expr_fast_decoder.ts read",
    "the fast path's opcode dispatch: one flat switch V8 compiles to a jump table",
  ],
  ["check/proxy_suite.ts proxySuite", "a table of cases sharing the primed answers"],
]);

/** The longest a function may be (its body's lines, braces included). */
const MAX_FUNCTION_LINES = 60;

interface SourceFile {
  readonly path: string;
  readonly folder: string;
  readonly text: string;
  readonly imports: readonly string[];
}

async function sourceFiles(): Promise<SourceFile[]> {
  const files: SourceFile[] = [];
  const walk = async (dir: string): Promise<void> => {
    for await (const entry of Deno.readDir(dir)) {
      const path = join(dir, entry.name);
      if (entry.isDirectory) await walk(path);
      else if (entry.name.endsWith(".ts")) {
        const text = await Deno.readTextFile(path);
        const imports = [...text.matchAll(/(?:import|export)[^'"]*?from\s+["'](\.[^"']+)["']/g)]
          .map((match) => normalize(join(dirname(path), match[1] as string)));
        files.push({ path, folder: relative(SRC, dirname(path)), text, imports });
      }
    }
  };
  await walk(SRC);
  return files;
}

const FILES = await sourceFiles();
const floorOf = (folder: string): number => FLOORS.findIndex((floor) => floor.includes(folder));
const inSrc = (path: string): boolean => path.startsWith(SRC);

Deno.test("every folder of src/ has a mod.ts and sits on a floor", () => {
  const folders = new Set(FILES.map((file) => file.folder));
  for (const folder of folders) {
    assert.ok(FILES.some((file) => file.path === join(SRC, folder, "mod.ts")), `${folder}/mod.ts`);
    assert.ok(floorOf(folder) >= 0, `${folder} is on no floor of FLOORS`);
  }
});

Deno.test("imports across folders go through mod.ts and point down the floors", () => {
  const wrong: string[] = [];
  for (const file of FILES) {
    for (const target of file.imports.filter(inSrc)) {
      const folder = relative(SRC, dirname(target));
      if (folder === file.folder) continue;
      const name = relative(SRC, file.path);
      if (!target.endsWith("/mod.ts")) wrong.push(`${name} imports ${relative(SRC, target)}`);
      if (floorOf(folder) >= floorOf(file.folder)) wrong.push(`${name} imports up: ${folder}/`);
    }
  }
  assert.deepEqual(wrong, []);
});

Deno.test("no file imports itself through a circle", () => {
  const edges = new Map(FILES.map((file) => [file.path, file.imports.filter(inSrc)]));
  const state = new Map<string, "open" | "done">();
  const circles: string[] = [];
  const visit = (path: string, trail: string[]): void => {
    if (state.get(path) === "done") return;
    if (state.get(path) === "open") {
      circles.push(
        [...trail.slice(trail.indexOf(path)), path].map((p) => relative(SRC, p)).join(" -> "),
      );
      return;
    }
    state.set(path, "open");
    for (const next of edges.get(path) ?? []) visit(next, [...trail, path]);
    state.set(path, "done");
  };
  for (const path of edges.keys()) visit(path, []);
  assert.deepEqual(circles, []);
});

/** The functions and methods of `text` longer than the limit: "name (N lines)". */
function longFunctions(text: string): string[] {
  const lines = text.split("\n");
  const found: string[] = [];
  const start =
    /^(\s*)(?:export )?(?:async )?(?:function\*? (\w+)|(?:static |private |readonly |get |set |async |override )*(#?\w+)(?:<[^>]*>)?\(.*[{(]$)/;
  lines.forEach((line, i) => {
    const match = start.exec(line);
    if (match === null || /^\s*(if|for|while|switch|catch|return)\b/.test(line)) return;
    const indent = match[1] ?? "";
    const end = lines.findIndex((other, j) => j > i && other.startsWith(`${indent}}`));
    const length = end - i + 1;
    if (end > i && length > MAX_FUNCTION_LINES) {
      found.push(`${match[2] ?? match[3]} (${length} lines)`);
    }
  });
  return found;
}

Deno.test(`functions in src/ are at most ${MAX_FUNCTION_LINES} lines, flat tables excepted`, () => {
  const long: string[] = [];
  for (const file of FILES) {
    for (const found of longFunctions(file.text)) {
      const key = `${relative(SRC, file.path)} ${found.split(" ")[0]}`;
      if (!LONG_FUNCTIONS.has(key)) long.push(`${relative(SRC, file.path)}: ${found}`);
    }
  }
  assert.deepEqual(long, []);
});
