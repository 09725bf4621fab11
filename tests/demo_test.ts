import assert from "node:assert/strict";
import { runDemo } from "../src/demo/demo.ts";
import { ExitCode } from "../src/base/errors.ts";

function tryListen(port: number): Deno.Listener | undefined {
  try {
    return Deno.listen({ hostname: "127.0.0.1", port });
  } catch (error: unknown) {
    if (error instanceof Deno.errors.AddrInUse) return undefined;
    throw error;
  }
}

Deno.test("runDemo() tells the three experiments' story with 9998 and 9999 taken", async () => {
  const taken = [tryListen(9998), tryListen(9999)];
  try {
    const lines: string[] = [];
    const started = Date.now();
    const code = await runDemo((pieces) => lines.push(pieces.map(([text]) => text).join("")));
    const text = lines.join("\n");
    assert.equal(code, ExitCode.Ok, text);
    assert.ok(Date.now() - started < 20_000);
    // It says only what it shows: no "steps on" when no steps are shown.
    assert.match(
      lines[0] ?? "",
      /^calcnet demo — server on 127\.0\.0\.1:\d+, proxy on 127\.0\.0\.1:\d+ \(free ports\)$/,
    );
    assert.doesNotMatch(text, /steps/i);
    for (const heading of ["Experiment 3.1", "Experiment 3.2", "Experiment 3.3"]) {
      assert.match(text, new RegExp(heading));
    }
    const outcomes = [...text.matchAll(/(MISS \(stored\)|HIT|ERROR)/g)].map((m) => m[1]);
    assert.deepEqual(outcomes, ["MISS (stored)", "HIT", "MISS (stored)", "HIT", "ERROR"]);
    assert.match(text, /proxy {2}→ server/);
    assert.match(text, /\(nothing reached the server\)/);
    assert.match(text, /proxy {2}→ server {2}refused: the server is not there/);
    assert.match(
      text,
      /Connection refused by server and the request was not in the cache\/it was stale/,
    );
  } finally {
    for (const listener of taken) listener?.close();
  }
});
