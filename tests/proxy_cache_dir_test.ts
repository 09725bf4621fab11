import assert from "node:assert/strict";
import { cacheFileName, defaultCacheDir, defaultCacheFile } from "../src/proxy/cache_dir.ts";
import { UsageError } from "../src/base/errors.ts";

const SERVER = { hostname: "127.0.0.1", port: 9999 };

/** An environment of `vars` only. */
const env = (vars: Record<string, string>) => (name: string): string | undefined => vars[name];

Deno.test("defaultCacheFile() is one file per server in each system's per-user cache folder", async (t) => {
  await t.step("Linux uses an absolute XDG_CACHE_HOME", () => {
    assert.equal(
      defaultCacheFile(SERVER, {
        os: "linux",
        env: env({ XDG_CACHE_HOME: "/x/cache", HOME: "/home/u" }),
      }),
      "/x/cache/calcnet/cache-127.0.0.1-9999.json",
    );
  });

  await t.step("Linux ignores an empty or relative XDG_CACHE_HOME and uses ~/.cache", () => {
    for (const xdg of ["", "relative/cache"]) {
      assert.equal(
        defaultCacheFile(SERVER, {
          os: "linux",
          env: env({ XDG_CACHE_HOME: xdg, HOME: "/home/u" }),
        }),
        "/home/u/.cache/calcnet/cache-127.0.0.1-9999.json",
      );
    }
  });

  await t.step("macOS uses ~/Library/Caches", () => {
    assert.equal(
      defaultCacheFile(SERVER, {
        os: "darwin",
        env: env({ XDG_CACHE_HOME: "/x", HOME: "/Users/u" }),
      }),
      "/Users/u/Library/Caches/calcnet/cache-127.0.0.1-9999.json",
    );
  });

  await t.step("Windows uses %LOCALAPPDATA%, else %USERPROFILE%\\AppData\\Local", () => {
    assert.equal(
      defaultCacheFile({ hostname: "::1", port: 9999 }, {
        os: "windows",
        env: env({ LOCALAPPDATA: "C:\\Users\\u\\AppData\\Local" }),
      }),
      "C:\\Users\\u\\AppData\\Local\\calcnet\\cache-__1-9999.json",
    );
    assert.equal(
      defaultCacheDir({ os: "windows", env: env({ USERPROFILE: "C:\\Users\\u" }) }),
      "C:\\Users\\u\\AppData\\Local\\calcnet",
    );
  });

  await t.step("no home directory is a usage error that names --cache-file", () => {
    for (const os of ["linux", "windows"] as const) {
      assert.throws(() => defaultCacheFile(SERVER, { os, env: env({}) }), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, /--cache-file$/);
        return true;
      });
    }
  });

  await t.step("without an environment it reads this process's", () => {
    assert.ok(defaultCacheFile(SERVER).endsWith("cache-127.0.0.1-9999.json"));
  });
});

Deno.test("cacheFileName() gives each server its own name, safe for IPv6 and host names", () => {
  const cases: [hostname: string, port: number, name: string][] = [
    ["127.0.0.1", 9999, "cache-127.0.0.1-9999.json"],
    ["127.0.0.1", 10000, "cache-127.0.0.1-10000.json"],
    ["localhost", 9999, "cache-localhost-9999.json"],
    ["LabServer.Example.ORG", 9999, "cache-labserver.example.org-9999.json"],
    ["::1", 9999, "cache-__1-9999.json"],
    ["fe80::1%eth0", 9999, "cache-fe80__1%25eth0-9999.json"],
    ["under_score", 1, "cache-under%5fscore-1.json"],
    ["a/b\\c", 1, "cache-a%2fb%5cc-1.json"],
    ["kéo", 1, "cache-k%c3%a9o-1.json"],
  ];
  for (const [hostname, port, name] of cases) {
    assert.equal(cacheFileName({ hostname, port }), name);
  }
  const names = cases.map(([hostname, port]) => cacheFileName({ hostname, port }));
  assert.equal(new Set(names).size, names.length);
  for (const name of names) assert.match(name, /^[a-z0-9.%_~-]+$/);
});

Deno.test("cacheFileName() keeps a very long host name within file name limits, still distinct", () => {
  const long = "a".repeat(240);
  const name = cacheFileName({ hostname: `${long}.one`, port: 9999 });
  const other = cacheFileName({ hostname: `${long}.two`, port: 9999 });
  assert.ok(name.length < 128, name);
  assert.notEqual(name, other);
  assert.match(name, /^cache-a{91}~[0-9a-f]{8}-9999\.json$/);
});
