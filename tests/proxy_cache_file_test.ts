import assert from "node:assert/strict";
import { removeStaleTempFiles, writeFileAtomic } from "../src/proxy/atomic_file.ts";
import { ResponseCache } from "../src/proxy/cache.ts";
import { CACHE_FILE_NAME, defaultCacheFile } from "../src/proxy/cache_dir.ts";
import { loadCacheFile, saveCacheFile } from "../src/proxy/cache_file.ts";
import { UsageError } from "../src/errors.ts";
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

/** A cache of three entries with distinct sizes, flags and max-ages; "b" is the most recent. */
function sampleCache(): ResponseCache {
  const cache = new ResponseCache();
  cache.set(keyOf("a", true), responsePacket(NOW - 10, 65535, 300));
  cache.set(keyOf("b", false), responsePacket(NOW - 10, 60, Uint8Array.of(0, 255, 128)));
  cache.set(keyOf("c", true), responsePacket(NOW, 3600, 0));
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
        responsePacket(NOW - 10, 60, Uint8Array.of(0, 255, 128)),
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
      ignore: !POSIX,
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

Deno.test("Cache file that is corrupt is moved aside with one warning", async (t) => {
  const cases: [name: string, text: string, reason: RegExp][] = [
    ["garbage", "\u0000\u00ffnot json at all", /not a calcnet-cache file/],
    ["an empty file", "", /the file is empty/],
    ["truncated JSON", `${HEADER}\n${ENTRY},\n${ENTRY.slice(0, 40)}`, /line 3/],
    ["a missing end", `${HEADER}\n${ENTRY}\n`, /truncated/],
    ["a wrong version", HEADER.replace('"version":1', '"version":2') + "\n]}\n", /version 2/],
    ["a wrong format", HEADER.replace("calcnet-cache", "other") + "\n]}\n", /not a calcnet/],
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
    [
      "an entry spread over lines",
      JSON.stringify({ format: "calcnet-cache", version: 1, saved_at: 1, entries: [] }, null, 2),
      /first line must end with/,
    ],
  ];
  for (const [name, text, reason] of cases) {
    await t.step(name, async () => {
      await withTempDir(async (dir) => {
        const path = `${dir}/cache.json`;
        await Deno.writeTextFile(path, text);
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

Deno.test("Cache file tolerates blank lines, blanks around lines and CRLF", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cache.json`;
    await Deno.writeTextFile(path, `  ${HEADER}\r\n\r\n ${ENTRY} ,\r\n${ENTRY}\r\n]}\r\n\n`);
    const { cache, warnings } = await loadCacheFile(path, NOW);
    assert.deepEqual(warnings, []);
    assert.equal(cache.size, 1);
  }, TEMP_PREFIX);
});

Deno.test("Cache file entries with invalid response packets are skipped with a counted warning", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cache.json`;
    const short = new Uint8Array(11).toBase64();
    const lying = responsePacket(NOW, 60, 8);
    lying[5] = 30;
    const entries = [
      `{"key_steps":false,"request_data":"${btoa("short")}","response":"${short}"}`,
      ENTRY,
      `{"key_steps":false,"request_data":"${btoa("lying")}","response":"${lying.toBase64()}"}`,
    ];
    await Deno.writeTextFile(path, `${HEADER}\n${entries.join(",\n")}\n]}\n`);
    const { cache, warnings } = await loadCacheFile(path, NOW);
    assert.deepEqual(cache.snapshot().keys, [keyOf("a")]);
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0] ?? "",
      /skipped 2 entries with an invalid response packet \(first: line 2: a response of 11 bytes/,
    );
    assert.deepEqual(await namesIn(dir), ["cache.json"]);
  }, TEMP_PREFIX);
});

Deno.test("Cache file path that is a directory is left alone with a warning", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cache.json`;
    await Deno.mkdir(path);
    const { cache, warnings } = await loadCacheFile(path, NOW);
    assert.equal(cache.size, 0);
    assert.match(warnings[0] ?? "", /is not a regular file/);
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

Deno.test("defaultCacheFile follows each system's per-user cache directory", async (t) => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];

  await t.step("Linux uses an absolute XDG_CACHE_HOME", () => {
    assert.equal(
      defaultCacheFile({ os: "linux", env: env({ XDG_CACHE_HOME: "/x/cache", HOME: "/home/u" }) }),
      `/x/cache/calcnet/${CACHE_FILE_NAME}`,
    );
  });

  await t.step("Linux ignores an empty or relative XDG_CACHE_HOME and uses ~/.cache", () => {
    for (const xdg of ["", "relative/cache"]) {
      assert.equal(
        defaultCacheFile({ os: "linux", env: env({ XDG_CACHE_HOME: xdg, HOME: "/home/u" }) }),
        "/home/u/.cache/calcnet/proxy-cache.json",
      );
    }
  });

  await t.step("macOS uses ~/Library/Caches", () => {
    assert.equal(
      defaultCacheFile({ os: "darwin", env: env({ XDG_CACHE_HOME: "/x", HOME: "/Users/u" }) }),
      "/Users/u/Library/Caches/calcnet/proxy-cache.json",
    );
  });

  await t.step("Windows uses %LOCALAPPDATA%, else %USERPROFILE%\\AppData\\Local", () => {
    assert.equal(
      defaultCacheFile({
        os: "windows",
        env: env({ LOCALAPPDATA: "C:\\Users\\u\\AppData\\Local" }),
      }),
      "C:\\Users\\u\\AppData\\Local\\calcnet\\proxy-cache.json",
    );
    assert.equal(
      defaultCacheFile({ os: "windows", env: env({ USERPROFILE: "C:\\Users\\u" }) }),
      "C:\\Users\\u\\AppData\\Local\\calcnet\\proxy-cache.json",
    );
  });

  await t.step("no home directory is a usage error", () => {
    assert.throws(() => defaultCacheFile({ os: "linux", env: env({}) }), UsageError);
    assert.throws(() => defaultCacheFile({ os: "windows", env: env({}) }), UsageError);
  });

  await t.step("without arguments it reads this process's environment", () => {
    assert.ok(defaultCacheFile().endsWith(CACHE_FILE_NAME));
  });
});
