import assert from "node:assert/strict";
import { ConnectionError } from "../src/base/errors.ts";
import { CalcConnection, PeerClosedError } from "../src/client/connection.ts";
import { LastingConnection } from "../src/client/lasting_connection.ts";
import { requestData } from "../src/client/expression.ts";
import { readAnswer } from "../src/client/answer.ts";
import { formatNumber } from "../src/calc/mod.ts";
import { DEFAULT_REQUEST_FLAGS } from "../src/protocol/mod.ts";
import { serveTcp } from "../src/net/mod.ts";
import { answerRequest, DEFAULT_SERVER_POLICY } from "../src/server/handler.ts";
import { startServer } from "../src/server/server.ts";
import { startProxy } from "../src/proxy/proxy.ts";
import { ResponseCache } from "../src/proxy/cache.ts";
import { delay } from "./helpers/net.ts";
import { runCli, spawnCli } from "./helpers/cli.ts";

const LOCAL = "127.0.0.1";

/** The server's idle timeout in these tests; it closes an idle connection within twice that. */
const IDLE_MS = 1000;

/** Waits until `condition()` holds, polling; fails after `ms`. */
async function waitFor(condition: () => boolean, what: string, ms = 4 * IDLE_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await delay(20);
  }
}

/** A calcnet server with a 1 s idle timeout whose log lines the test reads. */
function idleServer(port = 0): { server: ReturnType<typeof startServer>; log: string[] } {
  const log: string[] = [];
  const server = startServer({
    hostname: LOCAL,
    port,
    limits: { idleTimeoutMs: IDLE_MS },
    log: (line) => log.push(line),
  });
  return { server, log };
}

const idleClosed = (log: readonly string[]): number =>
  log.filter((line) => line.includes("idle timeout")).length;

async function result(conn: LastingConnection | CalcConnection, text: string): Promise<string> {
  const answer = readAnswer(await conn.request(requestData(text), DEFAULT_REQUEST_FLAGS));
  return answer.kind === "result" ? formatNumber(answer.result) : `${answer.kind}`;
}

Deno.test("CalcConnection notices a close while idle and refuses to send on it", async () => {
  const { server } = idleServer();
  await using _server = server;
  using conn = await CalcConnection.open(LOCAL, server.addr.port);
  assert.equal(await result(conn, "1 + 1"), "2");
  assert.equal(conn.endedWhileIdle, false);
  await waitFor(() => conn.endedWhileIdle, "the idle timeout seen by the client");
  await assert.rejects(
    conn.request(requestData("2 + 2"), DEFAULT_REQUEST_FLAGS),
    (error: unknown) => error instanceof PeerClosedError && /while it was idle/.test(error.message),
  );
});

Deno.test("LastingConnection reconnects quietly after the server's idle timeout", async () => {
  const { server, log } = idleServer();
  await using _server = server;
  using conn = await LastingConnection.open(LOCAL, server.addr.port);
  assert.equal(await result(conn, "1 + 1"), "2");
  await waitFor(() => idleClosed(log) === 1, "the server's idle timeout");
  assert.equal(await result(conn, "2 + 2"), "4");
  assert.equal(log.filter((line) => line.includes("connection established")).length, 2);
});

Deno.test("LastingConnection goes on with a server restarted on the same port", async () => {
  const first = startServer({ hostname: LOCAL, port: 0 });
  const port = first.addr.port;
  using conn = await LastingConnection.open(LOCAL, port);
  try {
    assert.equal(await result(conn, "1 + 1"), "2");
  } finally {
    await first.shutdown();
  }
  await using _second = startServer({ hostname: LOCAL, port });
  assert.equal(await result(conn, "2 + 2"), "4");
});

Deno.test("LastingConnection says so when reconnecting fails", async () => {
  const server = startServer({ hostname: LOCAL, port: 0 });
  using conn = await LastingConnection.open(LOCAL, server.addr.port);
  assert.equal(await result(conn, "1 + 1"), "2");
  await server.shutdown();
  await assert.rejects(
    conn.request(requestData("2 + 2"), DEFAULT_REQUEST_FLAGS),
    (error: unknown) =>
      error instanceof ConnectionError &&
      /^the connection to 127\.0\.0\.1:\d+ was closed, and reconnecting failed: cannot connect/
        .test(error.message),
  );
});

/** A server that answers one request per connection, then closes it (at once, or after `lingerMs`). */
function oneAnswerServer(): { port: number; requests: () => number } & AsyncDisposable {
  let count = 0;
  const service = serveTcp({ hostname: LOCAL, port: 0 }, {
    handle(packet) {
      count++;
      const answer = answerRequest(packet, DEFAULT_SERVER_POLICY, Math.floor(Date.now() / 1000));
      return { packet: answer.packet, close: true };
    },
    unframeable: () => null,
    internalError: () => null,
  });
  return {
    port: service.addr.port,
    requests: () => count,
    [Symbol.asyncDispose]: () => service.shutdown(),
  };
}

Deno.test("LastingConnection sends each request once to a server that closes after each answer", async () => {
  await using server = oneAnswerServer();
  using conn = await LastingConnection.open(LOCAL, server.port);
  for (let i = 1; i <= 5; i++) assert.equal(await result(conn, `${i} * 10`), `${i * 10}`);
  assert.equal(server.requests(), 5);
});

Deno.test("LastingConnection does not send again when a new connection closes unanswered", async () => {
  let received = 0;
  await using service = serveTcp({ hostname: LOCAL, port: 0 }, {
    handle() {
      received++;
      return { packet: new Uint8Array(0), close: true };
    },
    unframeable: () => null,
    internalError: () => null,
  });
  using conn = await LastingConnection.open(LOCAL, service.addr.port);
  await assert.rejects(
    conn.request(requestData("1 + 1"), DEFAULT_REQUEST_FLAGS),
    PeerClosedError,
  );
  assert.equal(received, 1);
});

Deno.test("client: an interactive session goes on after the server's idle timeout, without a word", async () => {
  const { server, log } = idleServer();
  await using _server = server;
  const session = spawnCli(["client", "-p", String(server.addr.port)], { timeoutMs: 20_000 });
  await session.write("1 + 1\n");
  await waitFor(() => idleClosed(log) === 1, "the server's idle timeout");
  await session.write("2 + 2\nexit\n");
  const { code, stdout, stderr } = await session.finish();
  assert.equal(stdout, "Result: 2\nResult: 4\n");
  assert.equal(code, 0, stderr);
  // The course client's lines, and nothing about the reconnection.
  assert.deepEqual(
    stderr.split("\n").filter((line) => /^\{/.test(line)).map((line) =>
      line.replace(/^\{[^}]*\} /, "")
    ),
    [
      "Connection established",
      "Sending request of length 262 bytes",
      "Got response of length 30 bytes",
      "Sending request of length 262 bytes",
      "Got response of length 30 bytes",
      "Connection closed",
    ],
  );
  assert.doesNotMatch(stderr, /reconnect|error/i);
});

Deno.test("client: an interactive session goes on through a proxy restarted on the same port", async () => {
  const answered: unknown[] = [];
  await using server = startServer({
    hostname: LOCAL,
    port: 0,
    observe: (event) => answered.push(event),
  });
  const proxyOptions = {
    hostname: LOCAL,
    servers: [{ hostname: LOCAL, port: server.addr.port }],
    cache: new ResponseCache(),
  };
  const first = startProxy({ ...proxyOptions, port: 0 });
  const port = first.addr.port;
  const session = spawnCli(["client", "-p", String(port), "-q"], { timeoutMs: 20_000 });
  try {
    await session.write("1 + 1\n");
    await waitFor(() => answered.length === 1, "the first answer");
  } finally {
    await first.shutdown();
  }
  await using _second = startProxy({ ...proxyOptions, port });
  await session.write("2 + 2\nexit\n");
  const { code, stdout, stderr } = await session.finish();
  assert.equal(stdout, "Result: 2\nResult: 4\n");
  assert.equal(stderr.includes("closed"), false, stderr);
  assert.equal(code, 0);
});

Deno.test("client: a failed reconnect is one line, and the session goes on to exit 3", async () => {
  const answered: unknown[] = [];
  const server = startServer({ hostname: LOCAL, port: 0, observe: (e) => answered.push(e) });
  const session = spawnCli(["client", "-p", String(server.addr.port), "-q"], {
    timeoutMs: 20_000,
  });
  try {
    await session.write("1 + 1\n");
    await waitFor(() => answered.length === 1, "the first answer");
  } finally {
    await server.shutdown();
  }
  await session.write("2 + 2\nexit\n");
  const { code, stdout, stderr } = await session.finish();
  assert.equal(stdout, "Result: 2\n");
  const told = stderr.split("\n").filter((line) => line.includes("reconnecting failed"));
  assert.deepEqual(told.length, 1, stderr);
  assert.match(
    told[0] ?? "",
    /^the connection to 127\.0\.0\.1:\d+ was closed, and reconnecting failed: cannot connect/,
  );
  assert.doesNotMatch(stderr, / {4}at /);
  assert.equal(code, 3);
});

Deno.test("client: a batch goes on with a server that closes the connection after each answer", async () => {
  await using server = oneAnswerServer();
  const { code, stdout, stderr } = await runCli(
    ["client", "-p", String(server.port), "-q", "1 + 1", "2 + 2", "3 + 3"],
  );
  assert.equal(stdout, "Result: 2\nResult: 4\nResult: 6\n");
  assert.equal(code, 0, stderr);
  assert.equal(server.requests(), 3);
});
