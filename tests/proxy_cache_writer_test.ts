import assert from "node:assert/strict";
import { ResponseCache } from "../src/proxy/cache.ts";
import { loadCacheFile } from "../src/proxy/cache_file.ts";
import { CacheWriter, type StartInterval } from "../src/proxy/cache_writer.ts";
import { keyOf, responsePacket } from "./fixtures/cache_packets.ts";
import { exists, withTempDir } from "./helpers/fs.ts";
import { startFixture } from "./helpers/fixture_process.ts";
import { delay } from "./helpers/net.ts";
import { mulberry32 } from "./helpers/random.ts";

const NOW = 1_700_000_000;

/** An interval timer that ticks only when told to. */
class ManualInterval {
  #callback: (() => void) | undefined;
  /** The interval the writer asked for. */
  ms = 0;
  /** Whether the writer stopped the timer. */
  stopped = false;
  /** The {@linkcode StartInterval} to give the writer. */
  readonly start: StartInterval = (callback, ms) => {
    this.#callback = callback;
    this.ms = ms;
    return () => {
      this.stopped = true;
    };
  };

  /** One tick of the timer. */
  tick(): void {
    if (!this.stopped) this.#callback?.();
  }
}

/** The start of the names of this file's temporary directories. */
const TEMP_PREFIX = "calcnet-writer-";

Deno.test("CacheWriter batches many changes into one save per tick", async (t) => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cache.json`;
    const timer = new ManualInterval();
    const cache = new ResponseCache();
    let saves = 0;
    const writer = new CacheWriter(path, cache, {
      startInterval: timer.start,
      now: () => NOW * 1000,
      onSaved: () => saves++,
    });
    try {
      await t.step("the default interval is one second", () => {
        assert.equal(timer.ms, 1000);
      });

      await t.step(
        "markDirty and set only mark; nothing is written on the request path",
        async () => {
          for (let i = 0; i < 1000; i++) {
            cache.set(keyOf(`r${i}`), responsePacket(NOW, 65535));
            writer.markDirty();
          }
          await Promise.resolve();
          assert.equal(saves, 0);
          assert.equal(await exists(path), false);
        },
      );

      await t.step("a tick saves once; ticks while it is in flight start nothing", async () => {
        timer.tick();
        timer.tick();
        timer.tick();
        assert.equal(await writer.flush(), true);
        assert.equal(saves, 1);
        assert.equal((await loadCacheFile(path, NOW)).cache.size, 1000);
      });

      await t.step("a tick without changes saves nothing", async () => {
        timer.tick();
        await writer.flush();
        assert.equal(saves, 1);
      });

      await t.step("a content change is saved without markDirty", async () => {
        cache.delete(keyOf("r0"));
        timer.tick();
        await writer.flush();
        assert.equal(saves, 2);
        assert.equal((await loadCacheFile(path, NOW)).cache.size, 999);
      });

      await t.step("markDirty alone saves the recency that hits changed", async () => {
        cache.get(keyOf("r1"));
        writer.markDirty();
        timer.tick();
        await writer.flush();
        assert.equal(saves, 3);
        assert.equal((await loadCacheFile(path, NOW)).cache.snapshot().keys.at(-1), keyOf("r1"));
      });

      await t.step("a change during a save is saved by the next one", async () => {
        cache.set(keyOf("late"), responsePacket(NOW, 65535));
        timer.tick();
        cache.set(keyOf("later"), responsePacket(NOW, 65535));
        timer.tick();
        assert.equal(await writer.flush(), true);
        assert.equal(saves, 5);
        assert.equal((await loadCacheFile(path, NOW)).cache.size, 1001);
      });
    } finally {
      writer.close();
    }

    await t.step("close stops the timer", () => {
      assert.equal(timer.stopped, true);
    });
  }, TEMP_PREFIX);
});

Deno.test("CacheWriter pauses four times as long as a save took before the next", async () => {
  await withTempDir(async (dir) => {
    const timer = new ManualInterval();
    const cache = new ResponseCache();
    // A save takes its snapshot synchronously when it starts: count the starts.
    let starts = 0;
    const snapshot = cache.snapshot.bind(cache);
    cache.snapshot = () => {
      starts++;
      return snapshot();
    };
    // Every reading of the clock advances it by 100 ms: a save (two readings) "takes" 100 ms.
    let clock = 0;
    const writer = new CacheWriter(`${dir}/cache.json`, cache, {
      startInterval: timer.start,
      now: () => (clock += 100),
    });
    try {
      cache.set(keyOf("a"), responsePacket(NOW, 65535));
      timer.tick(); // at 100: saves from 200 to 300, so the next not before 700
      await writer.flush();
      assert.equal(starts, 1);
      cache.set(keyOf("b"), responsePacket(NOW, 65535));
      for (const expected of [1, 1, 1, 2]) { // ticks at 400, 500, 600, 700
        timer.tick();
        assert.equal(starts, expected, `tick at ${clock}`);
      }
      await writer.flush();
      assert.equal(starts, 2);
    } finally {
      writer.close();
    }
  }, TEMP_PREFIX);
});

Deno.test("CacheWriter flush at shutdown saves only when needed", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cache.json`;
    const timer = new ManualInterval();
    const cache = new ResponseCache();
    cache.set(keyOf("loaded"), responsePacket(NOW, 65535));
    let saves = 0;
    const writer = new CacheWriter(path, cache, {
      startInterval: timer.start,
      onSaved: () => saves++,
    });
    try {
      assert.equal(await writer.flush(), true, "the cache as given counts as saved");
      assert.equal(saves, 0);
      writer.markDirty();
      assert.equal(await writer.flush(), true);
      assert.equal(saves, 1);
      assert.equal((await loadCacheFile(path, NOW)).cache.size, 1);
    } finally {
      writer.close();
    }
  }, TEMP_PREFIX);
});

Deno.test("CacheWriter reports a failed save once and retries it at the next tick", async (t) => {
  await withTempDir(async (dir) => {
    const blocker = `${dir}/blocker`;
    const path = `${blocker}/cache.json`;
    await Deno.writeTextFile(blocker, "a file where the directory should be");
    const timer = new ManualInterval();
    const cache = new ResponseCache();
    const errors: string[] = [];
    const recovered: string[] = [];
    let saves = 0;
    const writer = new CacheWriter(path, cache, {
      startInterval: timer.start,
      onError: (message) => errors.push(message),
      onRecovered: (message) => recovered.push(message),
      onSaved: () => saves++,
    });
    try {
      await t.step("the error goes to onError as one line, not to the caller", async () => {
        cache.set(keyOf("x"), responsePacket(NOW, 65535));
        timer.tick();
        assert.equal(await writer.flush(), false);
        assert.equal(errors.length, 1);
        assert.match(errors[0] ?? "", new RegExp(`^cannot save the cache to ${path}: [^\\n]+$`));
        assert.equal(saves, 0);
      });

      await t.step("the same error again is not reported again", async () => {
        timer.tick();
        assert.equal(await writer.flush(), false);
        assert.equal(errors.length, 1);
      });

      await t.step("once the cause is gone, the next tick saves and says so once", async () => {
        await Deno.remove(blocker);
        timer.tick();
        assert.equal(await writer.flush(), true);
        assert.equal(saves, 1);
        assert.equal((await loadCacheFile(path, NOW)).cache.size, 1);
        assert.deepEqual(recovered, [`cache saves to ${path} work again`]);
        writer.markDirty();
        timer.tick();
        assert.equal(await writer.flush(), true);
        assert.equal(recovered.length, 1);
      });

      await t.step("a new failure after a success is reported again", async () => {
        await Deno.remove(blocker, { recursive: true });
        await Deno.writeTextFile(blocker, "blocked again");
        writer.markDirty();
        timer.tick();
        assert.equal(await writer.flush(), false);
        assert.equal(errors.length, 2);
      });
    } finally {
      writer.close();
    }
  }, TEMP_PREFIX);
});

Deno.test("CacheWriter reports a failure that names a temporary file once, and its recovery once", async () => {
  await withTempDir(async (dir) => {
    // A non-empty directory where the file should be: the rename of each
    // save's fresh temporary file fails, and the system's message names it.
    const path = `${dir}/cache.json`;
    await Deno.mkdir(path);
    await Deno.writeTextFile(`${path}/inside`, "x");
    const timer = new ManualInterval();
    const cache = new ResponseCache();
    const errors: string[] = [];
    const recovered: string[] = [];
    const writer = new CacheWriter(path, cache, {
      startInterval: timer.start,
      onError: (message) => errors.push(message),
      onRecovered: (message) => recovered.push(message),
    });
    try {
      cache.set(keyOf("x"), responsePacket(NOW, 65535));
      for (let tick = 0; tick < 5; tick++) {
        timer.tick();
        assert.equal(await writer.flush(), false);
      }
      assert.equal(errors.length, 1, errors.join("\n"));
      assert.match(
        errors[0] ?? "",
        new RegExp(`^cannot save the cache to ${path}: cannot replace the file: [^\\n]+$`),
      );
      assert.doesNotMatch(errors[0] ?? "", /\.tmp-/);
      assert.deepEqual(recovered, []);

      await Deno.remove(path, { recursive: true });
      timer.tick();
      assert.equal(await writer.flush(), true);
      assert.deepEqual(recovered, [`cache saves to ${path} work again`]);
      assert.equal(errors.length, 1);
    } finally {
      writer.close();
    }
  }, TEMP_PREFIX);
});

Deno.test("CacheWriter reports a failure of another kind while failing", async () => {
  await withTempDir(async (dir) => {
    const blocker = `${dir}/blocker`;
    const path = `${blocker}/cache.json`;
    await Deno.mkdir(path, { recursive: true });
    await Deno.writeTextFile(`${path}/inside`, "x");
    const timer = new ManualInterval();
    const cache = new ResponseCache();
    const errors: string[] = [];
    const writer = new CacheWriter(path, cache, {
      startInterval: timer.start,
      onError: (message) => errors.push(message),
    });
    try {
      cache.set(keyOf("x"), responsePacket(NOW, 65535));
      timer.tick();
      assert.equal(await writer.flush(), false);
      await Deno.remove(blocker, { recursive: true });
      await Deno.writeTextFile(blocker, "a file where the directory should be");
      for (let tick = 0; tick < 3; tick++) {
        timer.tick();
        assert.equal(await writer.flush(), false);
      }
      assert.equal(errors.length, 2, errors.join("\n"));
      assert.match(errors[0] ?? "", /cannot replace the file/);
      assert.match(errors[1] ?? "", /cannot create the directory/);
    } finally {
      writer.close();
    }
  }, TEMP_PREFIX);
});

Deno.test("CacheWriter saves on its own with the real timer", async () => {
  await withTempDir(async (dir) => {
    const path = `${dir}/cache.json`;
    const cache = new ResponseCache();
    const { promise: saved, resolve } = Promise.withResolvers<void>();
    const writer = new CacheWriter(path, cache, { intervalMs: 5, onSaved: () => resolve() });
    try {
      cache.set(keyOf("timed"), responsePacket(NOW, 65535));
      await saved;
      await writer.flush();
    } finally {
      writer.close();
    }
    assert.equal((await loadCacheFile(path, NOW)).cache.size, 1);
  }, TEMP_PREFIX);
});

/** Waits until `dir` holds a save's temporary file, or `timeoutMs` passes. */
async function waitForTempFile(dir: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    for await (const entry of Deno.readDir(dir)) {
      if (entry.name.includes(".tmp-")) return;
    }
    await delay(1);
  }
}

Deno.test({
  name: "CacheWriter leaves a loadable file when SIGKILLed during a burst of writes",
  // Windows has no SIGKILL; Deno.ChildProcess.kill("SIGKILL") is POSIX-only there.
  ignore: Deno.build.os === "windows",
  async fn() {
    const random = mulberry32(7);
    let interrupted = 0;
    const rounds = 12;
    for (let round = 0; round < rounds; round++) {
      await withTempDir(async (dir) => {
        const path = `${dir}/cache.json`;
        const writer = await startFixture(
          "cache_burst_writer.ts",
          ["--allow-read", "--allow-write"],
          [path, String(round + 1)],
          "saved",
        );
        if (round % 2 === 0) {
          await delay(30 + random() * 400);
        } else {
          // Aim for the middle of a save: kill as soon as its temporary file shows.
          await waitForTempFile(dir, 2000);
        }
        const status = await writer.kill();
        assert.equal(status.signal, "SIGKILL", `round ${round}: the writer was still running`);

        const { cache, warnings } = await loadCacheFile(path, Math.floor(Date.now() / 1000));
        for (const warning of warnings) {
          assert.match(warning, /temporary file\(s\) left by an interrupted save$/);
        }
        if (warnings.length > 0) interrupted++;
        assert.ok(cache.size > 0, `round ${round}: the file loaded with entries`);
        for await (const entry of Deno.readDir(dir)) {
          assert.equal(entry.name, "cache.json", `round ${round}: only the cache file remains`);
        }
      }, TEMP_PREFIX);
    }
    console.log(`${interrupted} of ${rounds} kills landed in the middle of a save`);
    assert.ok(interrupted > 0, "at least one kill landed in the middle of a save");
  },
});
