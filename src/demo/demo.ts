/**
 * `calcnet demo`: the assignment's three experiments, replayed in-process
 * on free ports and told as a timeline of what travelled where.
 *
 * @module
 */

import { ExitCode } from "../base/mod.ts";
import { formatNumber } from "../calc/mod.ts";
import { CalcConnection, readAnswer, requestData } from "../client/mod.ts";
import { type ServerEvent, startServer } from "../server/mod.ts";
import type { TcpService } from "../net/mod.ts";
import { type ProxyEvent, ResponseCache, startProxy } from "../proxy/mod.ts";
import { DEFAULT_REQUEST_FLAGS } from "../protocol/mod.ts";
import type { Styled } from "../term/mod.ts";
import type { RecordingTap } from "../capture/mod.ts";

/** Where the demo writes its lines (styled pieces; the CLI prints them). */
export type DemoOutput = (pieces: readonly Styled[]) => void;

/** The expressions the experiments ask: a question, then another. */
export const DEMO_QUESTIONS = [
  "max(2, 3) + 3",
  "((1 + 2) ** (3 * 4)) / (5 * 6)",
  "sqrt(16) * 2",
] as const;

const BOLD = "font-weight: bold";
const DIM = "color: gray";
const GOOD = "color: green";
const BAD = "color: red";
const NOTE = "color: cyan";

interface Traffic {
  readonly server: ServerEvent[];
  readonly proxy: ProxyEvent[];
}

/**
 * Runs the three experiments and returns 0 when every step behaved as the
 * assignment says it should (miss, hit, miss; cached answer while the server
 * is down; error for a new question), 1 otherwise.
 */
export async function runDemo(out: DemoOutput, record?: RecordingTap): Promise<ExitCode> {
  const traffic: Traffic = { server: [], proxy: [] };
  const cache = new ResponseCache();
  // Each connection is recorded once: at the server, and at the proxy only its clients' side
  // (the proxy's own connections to the server are the server's clients).
  await using server = startServer({
    hostname: "127.0.0.1",
    port: 0,
    observe: (event) => traffic.server.push(event),
    tap: record,
  });
  await using proxy = startProxy({
    hostname: "127.0.0.1",
    port: 0,
    servers: [{ hostname: "127.0.0.1", port: server.addr.port }],
    cache,
    connectTimeoutMs: 1000,
    answerTimeoutMs: 5000,
    observe: (event) => traffic.proxy.push(event),
    record: record && { opened: (peer, local) => record.opened(peer, local) },
  });
  out([["calcnet demo", BOLD], [
    ` — server on 127.0.0.1:${server.addr.port}, proxy on 127.0.0.1:${proxy.addr.port} ` +
    "(free ports)",
    DIM,
  ]]);
  const mark = (comment: string): void => {
    if (record) record.comment = comment;
  };
  mark("experiment 3.1: client to server");
  const direct = await directExperiment(out, server.addr.port, traffic);
  mark("experiment 3.2: client through the proxy (miss, hit, miss)");
  const cached = await proxyExperiment(out, proxy.addr.port, traffic);
  mark("experiment 3.3: through the proxy with the server stopped");
  const down = await serverDownExperiment(out, server, proxy.addr.port, traffic);
  const results = [direct, cached, down];
  const ok = results.every(Boolean);
  out([]);
  out([["Proxy counters: ", BOLD], [proxy.stats.summary(cache), ""]]);
  out(
    ok
      ? [["Every step behaved as the assignment describes.", GOOD]]
      : [["Some steps did not behave as expected.", BAD]],
  );
  return ok ? ExitCode.Ok : ExitCode.Failure;
}

/** 3.1: the client asks the server the same question twice, then another. */
async function directExperiment(out: DemoOutput, port: number, traffic: Traffic): Promise<boolean> {
  heading(out, "3.1", "the client asks the server the same question twice, then another");
  using conn = await CalcConnection.open("127.0.0.1", port);
  let ok = true;
  for (const question of [DEMO_QUESTIONS[0], DEMO_QUESTIONS[0], DEMO_QUESTIONS[1]]) {
    ok = await step(out, conn, "server", question, traffic, undefined) && ok;
  }
  return ok;
}

/** 3.2: the same through the proxy: a miss, a hit, a miss. */
async function proxyExperiment(out: DemoOutput, port: number, traffic: Traffic): Promise<boolean> {
  heading(out, "3.2", "the same through the proxy: a miss, a hit, a miss");
  using conn = await CalcConnection.open("127.0.0.1", port);
  const expected = ["MISS (stored)", "HIT", "MISS (stored)"] as const;
  const questions = [DEMO_QUESTIONS[0], DEMO_QUESTIONS[0], DEMO_QUESTIONS[1]];
  let ok = true;
  for (const [i, question] of questions.entries()) {
    ok = await step(out, conn, "proxy", question, traffic, expected[i]) && ok;
  }
  return ok;
}

/** 3.3: through the proxy with the server stopped: the cached question, then a new one. */
async function serverDownExperiment(
  out: DemoOutput,
  server: TcpService,
  proxyPort: number,
  traffic: Traffic,
): Promise<boolean> {
  heading(out, "3.3", "through the proxy with the server stopped");
  await server.shutdown();
  out([["  the server is stopped; the proxy keeps its cache", NOTE]]);
  using conn = await CalcConnection.open("127.0.0.1", proxyPort);
  const hit = await step(out, conn, "proxy", DEMO_QUESTIONS[0], traffic, "HIT");
  const refused = await step(out, conn, "proxy", DEMO_QUESTIONS[2], traffic, "ERROR");
  return hit && refused;
}

function heading(out: DemoOutput, number: string, text: string): void {
  out([]);
  out([[`Experiment ${number}`, BOLD], [` — ${text}`, ""]]);
}

/** Sends one question and prints what travelled where; returns whether it went as expected. */
async function step(
  out: DemoOutput,
  conn: CalcConnection,
  via: "server" | "proxy",
  question: string,
  traffic: Traffic,
  expected: ProxyEvent["outcome"] | undefined,
): Promise<boolean> {
  const serverSeen = traffic.server.length;
  const proxySeen = traffic.proxy.length;
  const exchange = await conn.request(requestData(question), DEFAULT_REQUEST_FLAGS);
  const answer = readAnswer(exchange);
  const atServer = traffic.server.slice(serverSeen);
  const atProxy = traffic.proxy.slice(proxySeen);
  out([["  client asks ", ""], [question, BOLD]]);
  const arrow = (from: string, to: string, bytes: number, extra: readonly Styled[] = []): void =>
    out([
      [`    ${from.padEnd(6)} → ${to.padEnd(6)} ${String(bytes).padStart(5)} B`, DIM],
      ...extra,
    ]);
  arrow("client", via, exchange.request.length);
  if (via === "proxy") {
    for (const event of atServer) {
      arrow("proxy", "server", event.requestBytes);
      arrow("server", "proxy", event.responseBytes);
    }
  }
  const outcome = atProxy[0]?.outcome;
  if (via === "proxy" && atServer.length === 0) {
    out([[
      outcome === "ERROR"
        ? "    proxy  → server  refused: the server is not there"
        : "    (nothing reached the server)",
      DIM,
    ]]);
  }
  const result: Styled = answer.kind === "result"
    ? [`Result: ${formatNumber(answer.result)}`, GOOD]
    : [answer.kind === "error" ? `Got error: ${answer.error.message}` : answer.message, BAD];
  arrow(via, "client", exchange.response.length, [
    ["  ", ""],
    ...(outcome ? [[outcome.padEnd(14), outcome === "HIT" ? GOOD : NOTE] as const] : []),
    ["  ", ""],
    result,
  ]);
  if (via === "server") return exchange.header.statusCode === 200;
  const asExpected = outcome === expected;
  if (!asExpected) out([[`    expected ${expected}, got ${outcome ?? "nothing"}`, BAD]]);
  return asExpected;
}
