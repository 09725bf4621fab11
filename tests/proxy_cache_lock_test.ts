import assert from "node:assert/strict";
import {
  acquireCacheLock,
  CacheLockedError,
  lockFileOf,
  type LockHolder,
} from "../src/proxy/cache_lock.ts";
import { localHostName } from "../src/proxy/host_name.ts";
import { ExitCode } from "../src/base/errors.ts";
import { exists, withTempDir } from "./helpers/fs.ts";
import { startFixture } from "./helpers/fixture_process.ts";

/** The start of the names of this file's temporary directories. */
const TEMP_PREFIX = "calcnet-lock-";

const HOLDER: LockHolder = { pid: 4242, host: "lab-7", since: 1_700_000_000 };

/** Asserts that taking the lock of `cacheFile` fails naming `holder`; returns the error. */
async function assertLocked(cacheFile: string, holder: string): Promise<CacheLockedError> {
  try {
    using _lock = await acquireCacheLock(cacheFile);
  } catch (error) {
    assert.ok(error instanceof CacheLockedError, String(error));
    assert.equal(error.exitCode, ExitCode.Usage);
    assert.equal(
      error.message,
      `cache file ${cacheFile} is in use by another calcnet proxy (${holder}; lock file ` +
        `${cacheFile}.lock); stop that proxy first or name another --cache-file`,
    );
    return error;
  }
  assert.fail("the lock was taken twice");
}

Deno.test("acquireCacheLock() holds a lock file naming its holder until released", async (t) => {
  await withTempDir(async (dir) => {
    const cacheFile = `${dir}/cache.json`;
    const lock = await acquireCacheLock(cacheFile, HOLDER);
    try {
      await t.step("the lock file beside the cache file names pid, host and time", async () => {
        assert.equal(lock.path, lockFileOf(cacheFile));
        assert.equal(lock.path, `${cacheFile}.lock`);
        assert.deepEqual(JSON.parse(await Deno.readTextFile(lock.path)), HOLDER);
        assert.equal(lock.stale, undefined);
        assert.equal(lock.held, true);
        if (Deno.build.os !== "windows") {
          assert.equal(((await Deno.stat(lock.path)).mode ?? 0) & 0o777, 0o600);
        }
      });

      await t.step("a second taker is refused with one line naming the holder", async () => {
        const error = await assertLocked(cacheFile, "pid 4242 on host lab-7");
        assert.deepEqual(error.holder, HOLDER);
      });
    } finally {
      lock.release();
    }

    await t.step("release removes the lock file; a second release does nothing", async () => {
      assert.equal(lock.held, false);
      assert.equal(await exists(`${cacheFile}.lock`), false);
      lock.release();
    });

    await t.step("after a release the lock can be taken again, with nothing stale", async () => {
      using again = await acquireCacheLock(cacheFile);
      assert.equal(again.stale, undefined);
      const written = JSON.parse(await Deno.readTextFile(again.path));
      assert.equal(written.pid, Deno.pid);
      assert.equal(written.host, localHostName());
    });
  }, TEMP_PREFIX);
});

Deno.test("acquireCacheLock() takes over a lock file no process holds, reporting its holder", async () => {
  await withTempDir(async (dir) => {
    const cacheFile = `${dir}/cache.json`;
    await Deno.writeTextFile(`${cacheFile}.lock`, `${JSON.stringify(HOLDER)}\n`);
    using lock = await acquireCacheLock(cacheFile);
    assert.deepEqual(lock.stale, HOLDER);
    assert.equal(JSON.parse(await Deno.readTextFile(lock.path)).pid, Deno.pid);
  }, TEMP_PREFIX);
});

Deno.test("acquireCacheLock() finds nothing stale in an empty or foreign lock file", async () => {
  await withTempDir(async (dir) => {
    const cacheFile = `${dir}/cache.json`;
    for (const text of ["", "not json", '{"pid":"12"}', "[1]", "x".repeat(5000)]) {
      await Deno.writeTextFile(`${cacheFile}.lock`, text);
      using lock = await acquireCacheLock(cacheFile);
      assert.equal(lock.stale, undefined, text);
    }
  }, TEMP_PREFIX);
});

Deno.test("acquireCacheLock() needs the directory to be there and writable", async () => {
  await withTempDir(async (dir) => {
    await assert.rejects(acquireCacheLock(`${dir}/absent/cache.json`), Deno.errors.NotFound);
  }, TEMP_PREFIX);
});

Deno.test({
  name: "acquireCacheLock() is refused while another process holds it, and free once it is killed",
  ignore: Deno.build.os === "windows", // no SIGKILL
  async fn() {
    await withTempDir(async (dir) => {
      const cacheFile = `${dir}/cache.json`;
      const holder = await startFixture(
        "cache_lock_holder.ts",
        ["--allow-read", "--allow-write", "--allow-env"],
        [cacheFile],
        "locked",
      );
      try {
        const host = localHostName();
        const error = await assertLocked(cacheFile, `pid ${holder.pid} on host ${host}`);
        assert.equal(error.holder?.pid, holder.pid);
      } finally {
        await holder.kill();
      }
      assert.equal(await exists(`${cacheFile}.lock`), true, "a killed holder leaves its file");
      using lock = await acquireCacheLock(cacheFile);
      assert.equal(lock.stale?.pid, holder.pid);
    }, TEMP_PREFIX);
  },
});

Deno.test("localHostName() is this machine's name, with or without --allow-sys", async () => {
  const name = localHostName();
  assert.ok(name.length > 0 && name.length <= 253);
  assert.doesNotMatch(name, /\s/);
  // The release binary has --allow-read and --allow-env but not --allow-sys.
  const script = `import { localHostName } from ${
    JSON.stringify(new URL("../src/proxy/host_name.ts", import.meta.url).href)
  }; console.log(localHostName());`;
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-prompt", "--allow-read", "--allow-env", script],
    stdin: "null",
  }).output();
  assert.equal(output.code, 0, new TextDecoder().decode(output.stderr));
  const withoutSys = new TextDecoder().decode(output.stdout).trim();
  assert.ok(withoutSys.length > 0, "found without --allow-sys");
  assert.doesNotMatch(withoutSys, /\s/);
});
