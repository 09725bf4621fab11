import assert from "node:assert/strict";
import { parseExpression } from "../src/calc/parser.ts";
import { encodeExpr } from "../src/pickle/mod.ts";
import { requestPacket } from "../src/protocol/mod.ts";
import {
  DISSECTOR_LUA,
  InstallError,
  personalPluginFolder,
  PLUGIN_FILE_NAME,
} from "../src/wireshark/mod.ts";
import { runCli } from "./helpers/cli.ts";
import { withTempDir } from "./helpers/fs.ts";
import { PcapWriter } from "./helpers/pcap_writer.ts";
import { runTshark } from "./helpers/tshark.ts";

Deno.test("calcnet wireshark print writes the embedded dissector, byte for byte", async () => {
  const result = await runCli(["wireshark", "print"]);
  assert.equal(result.code, 0);
  assert.equal(result.stdout, DISSECTOR_LUA);
  assert.match(DISSECTOR_LUA, /^-- calcnet\.lua: a Wireshark dissector/);
});

Deno.test("calcnet wireshark install --dir writes calcnet.lua there and prints its path", async () => {
  await withTempDir(async (dir) => {
    const folder = `${dir}/new/plugins`;
    const result = await runCli(["wireshark", "install", "--dir", folder]);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stdout, `${folder}/${PLUGIN_FILE_NAME}\n`);
    assert.equal(await Deno.readTextFile(`${folder}/${PLUGIN_FILE_NAME}`), DISSECTOR_LUA);
    // A second install replaces the first.
    await Deno.writeTextFile(`${folder}/${PLUGIN_FILE_NAME}`, "-- old");
    assert.equal((await runCli(["wireshark", "install", "--dir", folder])).code, 0);
    assert.equal(await Deno.readTextFile(`${folder}/${PLUGIN_FILE_NAME}`), DISSECTOR_LUA);
  });
});

Deno.test("calcnet wireshark install: tshark loads it from the personal plugin folder and decodes", async () => {
  await withTempDir(async (home) => {
    const result = await runCli(["wireshark", "install"], "", { env: { HOME: home } });
    assert.equal(result.code, 0, result.stderr);
    const path = `${home}/.local/lib/wireshark/plugins/${PLUGIN_FILE_NAME}`;
    assert.equal(result.stdout, `${path}\n`);
    const env = { HOME: home, XDG_CONFIG_HOME: `${home}/.config` };
    const plugins = await runTshark(["-G", "plugins"], env);
    assert.match(plugins, new RegExp(`${PLUGIN_FILE_NAME}\\s.*lua script\\s+${path}`));
    const writer = new PcapWriter();
    const connection = writer.connect({ address: "127.0.0.1", port: 40000 }, {
      address: "127.0.0.1",
      port: 9998,
    });
    connection.send(
      "client",
      requestPacket(encodeExpr(parseExpression("max(2, 3) + 3")), {
        showSteps: true,
        cacheResult: true,
        cacheControl: 65535,
      }),
    );
    const capture = `${home}/capture.pcap`;
    await Deno.writeFile(capture, writer.bytes());
    const listing = await runTshark(["-r", capture], env);
    assert.match(listing, /CALCNET .* Request max\(2, 3\) \+ 3 \[S C max-age 65535\]/);
  }, "calcnet-home-");
});

Deno.test("calcnet wireshark: a missing or unknown action, or --dir with print, is a usage error", async () => {
  for (
    const args of [["wireshark"], ["wireshark", "instal"], ["wireshark", "print", "--dir", "x"]]
  ) {
    const result = await runCli(args);
    assert.equal(result.code, 2, args.join(" "));
    assert.equal(result.stderr.trim().split("\n").length, 1);
    assert.match(result.stderr, /^calcnet wireshark: /);
  }
});

Deno.test("calcnet wireshark install: a folder that cannot be written is one line and exit 1", async () => {
  await withTempDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/file`, "");
    const result = await runCli(["wireshark", "install", "--dir", `${dir}/file/plugins`]);
    assert.equal(result.code, 1);
    assert.match(
      result.stderr,
      /^calcnet wireshark: cannot write .*file\/plugins\/calcnet\.lua: .*\n$/,
    );
  });
});

Deno.test("personalPluginFolder() is Wireshark's personal Lua plugin folder for each platform", () => {
  const env = (values: Record<string, string>) => (name: string) => values[name];
  assert.equal(
    personalPluginFolder({ os: "linux", env: env({ HOME: "/home/ada" }) }),
    "/home/ada/.local/lib/wireshark/plugins",
  );
  assert.equal(
    personalPluginFolder({ os: "darwin", env: env({ HOME: "/Users/ada" }) }),
    "/Users/ada/.local/lib/wireshark/plugins",
  );
  assert.equal(
    personalPluginFolder({
      os: "windows",
      env: env({ APPDATA: "C:\\Users\\ada\\AppData\\Roaming" }),
    }),
    "C:\\Users\\ada\\AppData\\Roaming\\Wireshark\\plugins",
  );
  assert.throws(() => personalPluginFolder({ os: "linux", env: env({}) }), InstallError);
  assert.throws(() => personalPluginFolder({ os: "windows", env: env({}) }), /APPDATA is not set/);
});
