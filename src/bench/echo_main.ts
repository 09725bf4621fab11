/**
 * Entry point of the benchmark's framed echo server, run as its own process
 * by `deno task bench-suite`: `deno run --allow-net src/bench/echo_main.ts [PORT]`. Prints
 * "echo server listening on HOST:PORT" to stderr and runs until SIGINT or
 * SIGTERM.
 *
 * @module
 */

import { startEchoServer } from "./echo_server.ts";
import { stopSignal } from "../term/mod.ts";

if (import.meta.main) {
  using stop = stopSignal();
  const echo = startEchoServer({
    hostname: "127.0.0.1",
    port: Number(Deno.args[0] ?? "0"),
    signal: stop.signal,
  });
  console.error(`echo server listening on ${echo.addr.hostname}:${echo.addr.port}`);
  await echo.finished;
}
