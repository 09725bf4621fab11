import assert from "node:assert/strict";
import {
  AtomicWriteError,
  removeStaleTempFiles,
  writeFileAtomic,
} from "../src/proxy/atomic_file.ts";
import { ResponseCache } from "../src/proxy/cache.ts";
import {
  CacheFileDamagedError,
  CacheFileError,
  loadCacheFile,
  readCacheFile,
  saveCacheFile,
} from "../src/proxy/cache_file.ts";
import { ExitCode } from "../src/base/errors.ts";
import { encodePacket } from "../src/protocol/header.ts";
import { keyOf, responsePacket } from "./fixtures/cache_packets.ts";
import { withTempDir } from "./helpers/fs.ts";

const NOW = 1_700_000_000;
const POSIX = Deno.build.os !== "windows";

/** The start of the names of this file's temporary directories. */
const TEMP_PREFIX = "calcnet-cache-";

/** The names in a directory, sorted. */
async function namesIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

/** Awaits `promise`, asserts that it rejects with an instance of `type`, and returns the error. */
async function assertRejectsWith<E extends Error>(
  promise: Promise<unknown>,
  type: new (...args: never[]) => E,
): Promise<E> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof type, `expected a ${type.name}, got ${error}`);
    return error;
  }
  assert.fail(`expected a ${type.name}, but it resolved`);
}

/** A cache of three entries with distinct sizes, flags and max-ages; "b" is the most recent. */
function sampleCache(): ResponseCache {
  const cache = new ResponseCache();
  cache.set(keyOf("a", true), responsePacket(NOW - 10, 65535, 300));
  cache.set(keyOf("b", false), responsePacket(NOW - 10, 60, Uint8Array.of(0x80, 5, 255, 128)));
  cache.set(keyOf("c", true), responsePacket(NOW, 3600, 2));
  cache.get(keyOf("b", false));
  return cache;
}

Deno.test("Cache file round trip keeps responses byte for byte and LRU order", async (t) => {
  await withTempDir(async (dir) => {
    const path = `${dir}/nested/deeper/cache.json`;
    const cache = sampleCache();
    const saved = await saveCacheFile(path, cache, NOW);

    await t.step("the save reports what it wrote", async () => {
      assert.equal(saved.entries, 3);
      assert.equal(saved.bytes, (await Deno.stat(path)).size);
    });

    await t.step("the file is versioned JSON with one entry per line, oldest first", async () => {
      const text = await Deno.readTextFile(path);
      const lines = text.split("\n");
      assert.equal(lines.length, 6); // header, 3 entries, "]}", ""
      const json = JSON.parse(text);
      assert.equal(json.format, "calcnet-cache");
      assert.equal(json.version, 1);
      assert.equal(json.saved_at, NOW);
      assert.deepEqual(
        json.entries.map((e: { key_steps: boolean }) => e.key_steps),
        [true, true, false],
      );
      assert.equal(json.entries[0].request_data, btoa("a"));
      assert.deepEqual(
        Uint8Array.fromBase64(json.entries[2].response),
        responsePacket(NOW - 10, 60, Uint8Array.of(0x80, 5, 255, 128)),
      );
    });

    await t.step("loading restores the same entries in the same order", async () => {
      const { cache: loaded, warnings } = await loadCacheFile(path, NOW);
      assert.deepEqual(warnings, []);
      assert.deepEqual(loaded.snapshot(), cache.snapshot());
      assert.equal(loaded.bytes, cache.bytes);
      assert.deepEqual(
        loaded.get(keyOf("a", true))?.response,
        responsePacket(NOW - 10, 65535, 300),
      );
    });

    await t.step({
      name: "the file is private to its owner and so is a created directory",
      ignore: !POSIX, // Windows has no POSIX mode bits
      fn: async () => {
        assert.equal(((await Deno.stat(path)).mode ?? 0) & 0o777, 0o600);
        assert.equal(((await Deno.stat(`${dir}/nested`)).mode ?? 0) & 0o777, 0o700);
      },
    });

    await t.step("saving leaves no temporary file behind", async () => {
      assert.deepEqual(await namesIn(`${dir}/nested/deeper`), ["cache.json"]);
    });
  }, TEMP_PREFIX);
});

Deno.test("Cache file text is the same whatever the chunk size, entries larger than a chunk included", async () => {
  await withTempDir(async (dir) => {
    const cache = sampleCache();
    cache.set(keyOf("big".repeat(5000), true), responsePacket(NOW, 65535, 60_000));
    await saveCacheFile(`${dir}/default.json`, cache, NOW);
    const expected = await Deno.readTextFile(`${dir}/default.json`);
    for (const chunkBytes of [1, 7, 100, 4096]) {
      const saved = await saveCacheFile(`${dir}/small.json`, cache, NOW, { chunkBytes });
      assert.equal(
        await Deno.readTextFile(`${dir}/small.json`),
        expected,
        `chunks of ${chunkBytes}`,
      );
      assert.equal(saved.bytes, expected.length);
    }
    const entries = JSON.parse(expected).entries as { request_data: string; response: string }[];
    assert.equal(entries.length, 4);
    assert.equal(entries[3]?.request_data, btoa("big".repeat(5000)));
    assert.deepEqual(
      Uint8Array.fromBase64(entries[3]?.response ?? ""),
      responsePacket(NOW, 65535, 60_000),
    );
    const { cache: loaded } = await loadCacheFile(`${dir}/small.json`, NOW);
    assert.deepEqual(loaded.snapshot(), cache.snapshot());
  }, TEMP_PREFIX);
});

Deno.test("Cache file saving and loading drop expired entries", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cache.json`;
    const cache = new ResponseCache();
    cache.set(keyOf("expired at save"), responsePacket(NOW - 100, 100));
    cache.set(keyOf("expires before load"), responsePacket(NOW - 100, 150));
    cache.set(keyOf("forever"), responsePacket(1, 65535));
    assert.equal((await saveCacheFile(path, cache, NOW)).entries, 2);
    const { cache: loaded, warnings } = await loadCacheFile(path, NOW + 50);
    assert.deepEqual(warnings, []);
    assert.deepEqual(loaded.snapshot().keys, [keyOf("forever")]);
  }, TEMP_PREFIX);
});

Deno.test("Cache file loading evicts entries beyond the limits, oldest first", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cache.json`;
    await saveCacheFile(path, sampleCache(), NOW);
    const { cache, warnings } = await loadCacheFile(path, NOW, { maxEntries: 2 });
    assert.deepEqual(warnings, []);
    assert.deepEqual(cache.snapshot().keys, [keyOf("c", true), keyOf("b", false)]);
  }, TEMP_PREFIX);
});

Deno.test("Cache file that is missing gives an empty cache without a warning", async () => {
  await withTempDir(async (dir) => {
    const { cache, warnings } = await loadCacheFile(`${dir}/absent/cache.json`, NOW);
    assert.equal(cache.size, 0);
    assert.deepEqual(warnings, []);
  }, TEMP_PREFIX);
});

/** A valid file's text, for the corruption cases to start from. */
const HEADER = '{"format":"calcnet-cache","version":1,"saved_at":1700000000,"entries":[';
const ENTRY = `{"key_steps":false,"request_data":"${btoa("a")}","response":"${
  responsePacket(NOW, 60).toBase64()
}"}`;

Deno.test("Cache file of calcnet that is damaged is moved aside with one warning", async (t) => {
  const cases: [name: string, text: string, reason: RegExp][] = [
    ["truncated JSON", `${HEADER}\n${ENTRY},\n${ENTRY.slice(0, 40)}`, /line 3/],
    ["a missing end", `${HEADER}\n${ENTRY}\n`, /truncated/],
    ["saved_at of the wrong type", HEADER.replace("1700000000", '"now"') + "\n]}\n", /saved_at/],
    [
      "key_steps of the wrong type",
      `${HEADER}\n${ENTRY.replace("false", '"no"')}\n]}\n`,
      /key_steps \(boolean\)/,
    ],
    [
      "response of the wrong type",
      `${HEADER}\n{"key_steps":true,"request_data":"","response":7}\n]}\n`,
      /response \(strings\)/,
    ],
    ["an entry that is not an object", `${HEADER}\n[1,2]\n]}\n`, /an entry needs/],
    ["an endless line", `${HEADER}\n${"A".repeat(300_000)}`, /a line is longer than 262144/],
    [
      "invalid base64",
      `${HEADER}\n{"key_steps":true,"request_data":"!!","response":"AAAA"}\n]}\n`,
      /invalid base64/,
    ],
    ["a trailing comma", `${HEADER}\n${ENTRY},\n]}\n`, /comma after the last entry/],
    ["a missing comma", `${HEADER}\n${ENTRY}\n${ENTRY}\n]}\n`, /expected a comma/],
    ["text after the end", `${HEADER}\n]}\n{}\n`, /text after the closing/],
  ];
  for (const [name, text, reason] of cases) {
    await t.step(name, async () => {
      await withTempDir(async (dir) => {
        const path = `${dir}/cache.json`;
        await Deno.writeTextFile(path, text);
        const error = await assertRejectsWith(readCacheFile(path, NOW), CacheFileDamagedError);
        assert.match(error.reason, reason);
        const { cache, warnings } = await loadCacheFile(path, NOW);
        assert.equal(cache.size, 0);
        assert.equal(warnings.length, 1);
        const [warning = ""] = warnings;
        assert.match(warning, reason);
        assert.match(
          warning,
          /moved it to .*cache\.json\.corrupt-1700000000; starting with an empty cache$/,
        );
        assert.doesNotMatch(warning, /\n/);
        assert.deepEqual(await namesIn(dir), ["cache.json.corrupt-1700000000"]);
        assert.equal(await Deno.readTextFile(`${path}.corrupt-1700000000`), text);
      }, TEMP_PREFIX);
    });
  }
});

Deno.test("Cache file that is not calcnet's is refused with one line and left as it is", async (t) => {
  const cases: [name: string, text: string, reason: RegExp][] = [
    ["garbage", "\u0000\u00ffnot json at all", /the first line must end with "entries":\[/],
    ["a README", "# calcnet\n\nA calculator.\n", /the first line must end with/],
    ["a wrong version", HEADER.replace('"version":1', '"version":2') + "\n]}\n", /version 2/],
    ["a wrong format", HEADER.replace("calcnet-cache", "other") + "\n]}\n", /format is not/],
    ["a header that is not JSON", '{"format":calcnet,"entries":[\n]}\n', /line 1/],
    ["an endless first line", "A".repeat(300_000), /a line is longer than 262144/],
    [
      "an entry spread over lines",
      JSON.stringify({ format: "calcnet-cache", version: 1, saved_at: 1, entries: [] }, null, 2),
      /first line must end with/,
    ],
  ];
  for (const [name, text, reason] of cases) {
    await t.step(name, async () => {
      await withTempDir(async (dir) => {
        const path = `${dir}/notes.txt`;
        await Deno.writeTextFile(path, text);
        for (const reading of [readCacheFile, loadCacheFile]) {
          const error = await assertRejectsWith(reading(path, NOW), CacheFileError);
          assert.ok(!(error instanceof CacheFileDamagedError));
          assert.equal(error.exitCode, ExitCode.Usage);
          assert.match(error.message, new RegExp(`^${path} is not a calcnet cache file \\(`));
          assert.match(error.message, reason);
          assert.match(error.message, /calcnet will not use or replace it$/);
          assert.doesNotMatch(error.message, /\n/);
        }
        assert.deepEqual(await namesIn(dir), ["notes.txt"]);
        assert.equal(await Deno.readTextFile(path), text);
      }, TEMP_PREFIX);
    });
  }
});

Deno.test("Cache file that is empty or blank holds no entries and is no error", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cache.json`;
    for (const text of ["", "\n  \n"]) {
      await Deno.writeTextFile(path, text);
      const read = await readCacheFile(path, NOW);
      assert.equal(read.exists, true);
      assert.equal(read.cache.size, 0);
      assert.deepEqual((await loadCacheFile(path, NOW)).warnings, []);
    }
    assert.deepEqual(await namesIn(dir), ["cache.json"]);
  }, TEMP_PREFIX);
});

Deno.test("Cache file tolerates blank lines, blanks around lines and CRLF", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cache.json`;
    await Deno.writeTextFile(path, `  ${HEADER}\r\n\r\n ${ENTRY} ,\r\n${ENTRY}\r\n]}\r\n\n`);
    const { cache, warnings } = await loadCacheFile(path, NOW);
    assert.deepEqual(warnings, []);
    assert.equal(cache.size, 1);
  }, TEMP_PREFIX);
});

/** A cache file line for `data` whose response is `packet`. */
function entryLine(data: string, packet: Uint8Array): string {
  return `{"key_steps":false,"request_data":"${btoa(data)}","response":"${packet.toBase64()}"}`;
}

Deno.test("Cache file entries that are not servable responses are dropped with one warning", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cache.json`;
    const lying = responsePacket(NOW, 60, 8);
    lying[5] = 30;
    const fields = { timestamp: NOW, cacheResult: true, showSteps: false, cacheControl: 60 };
    const pickle = Uint8Array.of(0x80, 4, 0x4b, 6, 0x2e);
    const invalid: [name: string, packet: Uint8Array][] = [
      ["short", new Uint8Array(11)],
      ["lying", lying],
      ["request", encodePacket({ ...fields, isRequest: true, statusCode: 999 }, pickle)],
      ["status 999", encodePacket({ ...fields, isRequest: false, statusCode: 999 }, pickle)],
      ["status 0", encodePacket({ ...fields, isRequest: false, statusCode: 0 }, pickle)],
      ["no data", encodePacket({ ...fields, isRequest: false, statusCode: 200 }, new Uint8Array())],
      ["text", encodePacket({ ...fields, isRequest: false, statusCode: 200 }, new Uint8Array(9))],
      ["protocol 1", responsePacket(NOW, 60, Uint8Array.of(0x80, 1, 0x2e))],
      ["protocol 6", responsePacket(NOW, 60, Uint8Array.of(0x80, 6, 0x2e))],
    ];
    const valid = [200, 400, 500].map((status) =>
      encodePacket({ ...fields, isRequest: false, statusCode: status }, pickle)
    );
    const lines = [
      ...invalid.map(([name, packet]) => entryLine(name, packet)),
      ...valid.map((packet, i) => entryLine(`valid ${i}`, packet)),
    ];
    await Deno.writeTextFile(path, `${HEADER}\n${lines.join(",\n")}\n]}\n`);

    const read = await readCacheFile(path, NOW);
    assert.equal(read.dropped, invalid.length);
    assert.deepEqual(read.cache.snapshot().keys, [
      keyOf("valid 0"),
      keyOf("valid 1"),
      keyOf("valid 2"),
    ]);
    const { cache, warnings } = await loadCacheFile(path, NOW);
    assert.equal(cache.size, 3);
    for (const [name] of invalid) assert.equal(cache.get(keyOf(name)), undefined, name);
    assert.deepEqual(warnings, [
      `cache file ${path}: dropped 9 invalid entries, never to be served ` +
      "(first: line 2: a response of 11 bytes is shorter than the 12-byte header)",
    ]);
    for (const [i, [name]] of invalid.entries()) {
      await Deno.writeTextFile(path, `${HEADER}\n${lines[i]}\n]}\n`);
      const { firstProblem } = await readCacheFile(path, NOW);
      assert.match(
        firstProblem,
        [
          /shorter than the 12-byte header/,
          /declares a total length of 30/,
          /a request packet \(T=1\), not a response/,
          /unknown status 999/,
          /unknown status 0/,
          /not a pickle of protocol 2 to 5/,
          /not a pickle of protocol 2 to 5/,
          /not a pickle of protocol 2 to 5/,
          /not a pickle of protocol 2 to 5/,
        ][i] as RegExp,
        name,
      );
    }
    assert.deepEqual(await namesIn(dir), ["cache.json"]);
  }, TEMP_PREFIX);
});

Deno.test("Cache file path that is a directory is refused and left alone", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cache.json`;
    await Deno.mkdir(path);
    for (const reading of [readCacheFile, loadCacheFile]) {
      const error = await assertRejectsWith(reading(path, NOW), CacheFileError);
      assert.equal(
        error.message,
        `cache file ${path} is a directory; name a file, e.g. ${path}/cache.json`,
      );
    }
    assert.deepEqual(await namesIn(dir), ["cache.json"]);
  }, TEMP_PREFIX);
});

Deno.test("Cache file loading removes stale temporary files of ours only", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cache.json`;
    await saveCacheFile(path, sampleCache(), NOW);
    const stale = ["cache.json.tmp-123-0badf00d", "cache.json.tmp-9-deadbeef"];
    const foreign = ["cache.json.tmp-123-xyz", "other.json.tmp-1-0badf00d", "cache.json.bak"];
    for (const name of [...stale, ...foreign]) await Deno.writeTextFile(`${dir}/${name}`, "{");
    const { cache, warnings } = await loadCacheFile(path, NOW);
    assert.equal(cache.size, 3);
    assert.deepEqual(warnings, [
      `cache file ${path}: removed 2 temporary file(s) left by an interrupted save`,
    ]);
    assert.deepEqual(await namesIn(dir), ["cache.json", ...foreign].sort());
    assert.equal(await removeStaleTempFiles(`${dir}/absent/cache.json`), 0);
  }, TEMP_PREFIX);
});

Deno.test("writeFileAtomic keeps the old file when writing fails", async (t) => {
  await withTempDir(async (dir) => {
    const path = `${dir}/file.txt`;
    await writeFileAtomic(path, [new TextEncoder().encode("old")]);

    await t.step("a failing chunk source leaves the old content and no temp file", async () => {
      async function* failing(): AsyncGenerator<Uint8Array> {
        yield new TextEncoder().encode("partial new content");
        throw new Error("source broke");
      }
      await assert.rejects(writeFileAtomic(path, failing()), /source broke/);
      assert.equal(await Deno.readTextFile(path), "old");
      assert.deepEqual(await namesIn(dir), ["file.txt"]);
    });

    await t.step("a rename over a directory fails and leaves no temp file", async () => {
      await Deno.mkdir(`${dir}/blocked`);
      await Deno.writeTextFile(`${dir}/blocked/inside`, "x");
      await assert.rejects(writeFileAtomic(`${dir}/blocked`, [new Uint8Array(1)]));
      assert.deepEqual(await namesIn(dir), ["blocked", "file.txt"]);
    });

    await t.step("a bare file name is written in the current directory", async () => {
      const previous = Deno.cwd();
      Deno.chdir(dir);
      try {
        await writeFileAtomic("bare.txt", [new TextEncoder().encode("bare")]);
        assert.equal(await removeStaleTempFiles("bare.txt"), 0);
      } finally {
        Deno.chdir(previous);
      }
      assert.equal(await Deno.readTextFile(`${dir}/bare.txt`), "bare");
    });
  }, TEMP_PREFIX);
});

Deno.test("writeFileAtomic names the failed step and never the temporary file", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/blocked`;
    await Deno.mkdir(path);
    await Deno.writeTextFile(`${path}/inside`, "x");
    const messages: string[] = [];
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await assertRejectsWith(
        writeFileAtomic(path, [new Uint8Array(1)]),
        AtomicWriteError,
      );
      assert.equal(error.step, "replace the file");
      assert.match(error.code, /^E[A-Z]+$/);
      messages.push(error.message);
    }
    assert.equal(messages[0], messages[1]);
    assert.match(messages[0] ?? "", new RegExp(`^cannot replace the file for ${path}: \\S`));
    assert.doesNotMatch(messages[0] ?? "", /\.tmp-/);
    const notADirectory = await assertRejectsWith(
      writeFileAtomic(`${path}/inside/file`, [new Uint8Array(1)]),
      AtomicWriteError,
    );
    assert.equal(notADirectory.step, "create the directory");
  }, TEMP_PREFIX);
});

Deno.test({
  name: "writeFileAtomic writes a symbolic link through to its target, which stays a link",
  ignore: !POSIX, // creating symbolic links needs extra rights on Windows
  fn: async (t) => {
    await withTempDir(async (dir) => {
      await Deno.mkdir(`${dir}/real`);
      const target = `${dir}/real/target.json`;
      const link = `${dir}/link.json`;
      await Deno.writeTextFile(target, "old");
      await Deno.symlink("real/target.json", link);

      await t.step("the target gets the content, the link stays as it was", async () => {
        await saveCacheFile(link, sampleCache(), NOW);
        assert.ok((await Deno.lstat(link)).isSymlink);
        assert.equal(await Deno.readLink(link), "real/target.json");
        assert.deepEqual(
          (await loadCacheFile(target, NOW)).cache.snapshot(),
          sampleCache().snapshot(),
        );
        assert.deepEqual(
          (await loadCacheFile(link, NOW)).cache.snapshot(),
          sampleCache().snapshot(),
        );
        assert.deepEqual(await namesIn(dir), ["link.json", "real"]);
        assert.deepEqual(await namesIn(`${dir}/real`), ["target.json"]);
        assert.equal(((await Deno.stat(target)).mode ?? 0) & 0o777, 0o600);
      });

      await t.step("a chain of links is followed to its end", async () => {
        await Deno.symlink(link, `${dir}/second.json`);
        await writeFileAtomic(`${dir}/second.json`, [new TextEncoder().encode("via two")]);
        assert.equal(await Deno.readTextFile(target), "via two");
        assert.ok((await Deno.lstat(`${dir}/second.json`)).isSymlink);
      });

      await t.step("a dangling link creates its target, directories included", async () => {
        await Deno.symlink(`${dir}/later/made.json`, `${dir}/dangling.json`);
        await writeFileAtomic(`${dir}/dangling.json`, [new TextEncoder().encode("made")]);
        assert.equal(await Deno.readTextFile(`${dir}/later/made.json`), "made");
        assert.ok((await Deno.lstat(`${dir}/dangling.json`)).isSymlink);
      });

      await t.step("stale temporary files are looked for next to the target", async () => {
        await Deno.writeTextFile(`${dir}/real/target.json.tmp-1-0badf00d`, "{");
        assert.equal(await removeStaleTempFiles(link), 1);
        assert.deepEqual(await namesIn(`${dir}/real`), ["target.json"]);
      });

      await t.step("a loop of links fails at the step that follows links", async () => {
        await Deno.symlink(`${dir}/loop-b`, `${dir}/loop-a`);
        await Deno.symlink(`${dir}/loop-a`, `${dir}/loop-b`);
        const error = await assertRejectsWith(
          writeFileAtomic(`${dir}/loop-a`, [new Uint8Array(1)]),
          AtomicWriteError,
        );
        assert.equal(error.step, "follow the link");
        assert.match(error.message, /more than 40 symbolic links/);
      });
    }, TEMP_PREFIX);
  },
});
