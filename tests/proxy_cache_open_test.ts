import assert from "node:assert/strict";
import { ResponseCache } from "../src/proxy/cache.ts";
import { CacheFileError, saveCacheFile } from "../src/proxy/cache_file.ts";
import { CacheLockedError, type LockHolder } from "../src/proxy/cache_lock.ts";
import { openCacheFile } from "../src/proxy/cache_open.ts";
import { clearCacheFile } from "../src/proxy/cache_clear.ts";
import { ExitCode } from "../src/base/errors.ts";
import { keyOf, responsePacket } from "./fixtures/cache_packets.ts";
import { withTempDir } from "./helpers/fs.ts";

const NOW = 1_700_000_000;
const OPTIONS = { nowSeconds: NOW };

/** The start of the names of this file's temporary directories. */
const TEMP_PREFIX = "calcnet-open-";

/** The names in a directory, sorted. */
async function namesIn(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const entry of Deno.readDir(dir)) names.push(entry.name);
  return names.sort();
}

/** Saves a cache of `count` entries to `path`. */
async function saveEntries(path: string, count: number): Promise<void> {
  const cache = new ResponseCache();
  for (let i = 0; i < count; i++) cache.set(keyOf(`entry ${i}`), responsePacket(NOW, 65535));
  await saveCacheFile(path, cache, NOW);
}

/** Asserts that `promise` rejects with a one-line usage error whose message matches `message`. */
async function assertUnusable(promise: Promise<unknown>, message: RegExp): Promise<void> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof CacheFileError, String(error));
    assert.equal(error.exitCode, ExitCode.Usage);
    assert.match(error.message, message);
    assert.doesNotMatch(error.message, /\n/);
    return;
  }
  assert.fail("the path was used");
}

Deno.test("openCacheFile() loads a file, holds its lock, and releases it when disposed", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cache.json`;
    await saveEntries(path, 3);
    {
      using opened = await openCacheFile(path, OPTIONS);
      assert.equal(opened.target, path);
      assert.equal(opened.cache.size, 3);
      assert.deepEqual(opened.warnings, []);
      assert.equal(opened.keptAside, undefined);
      assert.equal(JSON.parse(await Deno.readTextFile(`${path}.lock`)).pid, Deno.pid);
      await assert.rejects(openCacheFile(path, OPTIONS), CacheLockedError);
      await assert.rejects(clearCacheFile(path, NOW), CacheLockedError);
    }
    assert.deepEqual(await namesIn(dir), ["cache.json"]);
    using again = await openCacheFile(path, OPTIONS);
    assert.equal(again.cache.size, 3);
  }, TEMP_PREFIX);
});

Deno.test("openCacheFile() takes over a stale lock with one warning naming its pid", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cache.json`;
    const holder: LockHolder = { pid: 4242, host: "lab-7", since: NOW };
    await Deno.writeTextFile(`${path}.lock`, JSON.stringify(holder));
    using opened = await openCacheFile(path, OPTIONS);
    assert.deepEqual(opened.warnings, [
      `took over the lock of cache file ${path} from pid 4242 on host lab-7, ` +
      "which ended without releasing it",
    ]);
  }, TEMP_PREFIX);
});

Deno.test("openCacheFile() refuses an unusable path at once, with one line", async (t) => {
  await withTempDir(async (dir) => {
    await t.step("a directory", async () => {
      await Deno.mkdir(`${dir}/folder`);
      await assertUnusable(
        openCacheFile(`${dir}/folder`, OPTIONS),
        new RegExp(`^cache file ${dir}/folder is a directory; name a file, e\\.g\\. `),
      );
    });

    await t.step("a folder that is a file", async () => {
      await Deno.writeTextFile(`${dir}/plain`, "x");
      await assertUnusable(
        openCacheFile(`${dir}/plain/cache.json`, OPTIONS),
        new RegExp(
          `^cannot use cache file ${dir}/plain/cache\\.json: cannot create the directory: ` +
            "(File exists|Not a directory) \\(os error \\d+\\)$",
        ),
      );
    });

    await t.step("a file that is not a calcnet cache file", async () => {
      await Deno.writeTextFile(`${dir}/notes.txt`, "my notes\n");
      await assertUnusable(
        openCacheFile(`${dir}/notes.txt`, OPTIONS),
        /notes\.txt is not a calcnet cache file \(line 1: .*\); calcnet will not use or replace it$/,
      );
      assert.equal(await Deno.readTextFile(`${dir}/notes.txt`), "my notes\n");
    });

    await t.step("nothing is left behind: no lock, no temporary file", async () => {
      assert.deepEqual(await namesIn(dir), ["folder", "notes.txt", "plain"]);
    });
  }, TEMP_PREFIX);
});

Deno.test({
  name: "openCacheFile() refuses a folder it cannot write, with one line",
  ignore: Deno.build.os !== "linux", // /sys refuses new files even to root
  async fn() {
    // The system says "Permission denied"; without --allow-all, Deno refuses first.
    await assertUnusable(
      openCacheFile("/sys/calcnet-cache.json", OPTIONS),
      /^cannot use cache file \/sys\/calcnet-cache\.json: (cannot create a temporary file: Permission denied \(os error 13\)|Requires all access to "\/sys\/calcnet-cache\.json", run again with the --allow-all flag)$/,
    );
  },
});

Deno.test("openCacheFile() with fresh keeps the previous file as .old and starts empty", async (t) => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cache.json`;

    await t.step("no previous file: nothing kept", async () => {
      using opened = await openCacheFile(path, { ...OPTIONS, fresh: true });
      assert.equal(opened.cache.size, 0);
      assert.equal(opened.keptAside, undefined);
    });

    await t.step("a previous file: moved to .old, its entries counted", async () => {
      await saveEntries(path, 2);
      using opened = await openCacheFile(path, { ...OPTIONS, fresh: true });
      assert.equal(opened.cache.size, 0);
      assert.deepEqual(opened.keptAside, { path: `${path}.old`, entries: 2 });
      assert.deepEqual(await namesIn(dir), ["cache.json.lock", "cache.json.old"]);
    });

    await t.step("the next fresh start replaces the older .old", async () => {
      await saveEntries(path, 5);
      using opened = await openCacheFile(path, { ...OPTIONS, fresh: true });
      assert.deepEqual(opened.keptAside, { path: `${path}.old`, entries: 5 });
    });

    await t.step("without fresh the file loads as usual", async () => {
      await saveEntries(path, 4);
      using opened = await openCacheFile(path, OPTIONS);
      assert.equal(opened.cache.size, 4);
    });
  }, TEMP_PREFIX);
});

Deno.test({
  name: "openCacheFile() locks and loads a symbolic link's target",
  ignore: Deno.build.os === "windows", // creating symbolic links needs extra rights on Windows
  async fn() {
    await withTempDir(async (dir) => {
      await Deno.mkdir(`${dir}/real`);
      await saveEntries(`${dir}/real/cache.json`, 2);
      await Deno.symlink(`${dir}/real/cache.json`, `${dir}/link.json`);
      using opened = await openCacheFile(`${dir}/link.json`, OPTIONS);
      assert.equal(opened.target, `${dir}/real/cache.json`);
      assert.equal(opened.cache.size, 2);
      assert.deepEqual(await namesIn(`${dir}/real`), ["cache.json", "cache.json.lock"]);
      await assert.rejects(openCacheFile(`${dir}/real/cache.json`, OPTIONS), CacheLockedError);
    }, TEMP_PREFIX);
  },
});

Deno.test("clearCacheFile() empties a cache file under its lock and refuses others' files", async (t) => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cache.json`;

    await t.step("a file of entries becomes a file of none", async () => {
      await saveEntries(path, 3);
      const cleared = await clearCacheFile(path, NOW);
      assert.deepEqual(cleared, { target: path, existed: true, entries: 3, warnings: [] });
      using opened = await openCacheFile(path, OPTIONS);
      assert.equal(opened.cache.size, 0);
    });

    await t.step("no lock file is left behind", async () => {
      assert.deepEqual(await namesIn(dir), ["cache.json"]);
    });

    await t.step("a damaged calcnet cache file is emptied too", async () => {
      await Deno.writeTextFile(
        path,
        '{"format":"calcnet-cache","version":1,"saved_at":1,"entries":[\n{"trunc',
      );
      assert.equal((await clearCacheFile(path, NOW)).entries, 0);
      using opened = await openCacheFile(path, OPTIONS);
      assert.deepEqual(opened.warnings, []);
    });

    await t.step("a missing file stays missing", async () => {
      const cleared = await clearCacheFile(`${dir}/absent.json`, NOW);
      assert.equal(cleared.existed, false);
      assert.deepEqual(await namesIn(dir), ["cache.json"]);
    });

    await t.step("a file that is not a calcnet cache file is left as it is", async () => {
      await Deno.writeTextFile(`${dir}/notes.txt`, "keep me\n");
      await assertUnusable(clearCacheFile(`${dir}/notes.txt`, NOW), /not a calcnet cache file/);
      assert.equal(await Deno.readTextFile(`${dir}/notes.txt`), "keep me\n");
    });
  }, TEMP_PREFIX);
});
