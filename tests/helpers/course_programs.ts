/**
 * The course's Python programs, played by stand-ins
 * (tests/fixtures/course_programs.py): a server to start and stop, and a
 * client run once per list of expressions.
 */

import { parseExpression } from "../../src/calc/parser.ts";
import {
  type EnumPickling,
  enumPicklingEnv,
  fixturePath,
  runPython,
  spawnPython,
} from "./python.ts";
import { treeJson } from "./pickle_fixture.ts";

const PROGRAMS = fixturePath("course_programs.py");

/** The course client: sends every expression over one connection and returns what it prints. */
export async function pythonClient(
  port: number,
  texts: readonly string[],
  flags: { showSteps: boolean; cacheResult?: boolean; cacheControl?: number },
  enums: EnumPickling = "value",
): Promise<string> {
  const trees = texts.map((text) => treeJson(parseExpression(text)));
  return await runPython(
    [PROGRAMS, "client", String(port)],
    JSON.stringify({
      trees,
      steps: flags.showSteps,
      cache: flags.cacheResult ?? true,
      max_age: flags.cacheControl ?? 65535,
    }),
    { env: enumPicklingEnv(enums) },
  );
}

/** A running stand-in of the course server. */
export interface PythonServer extends AsyncDisposable {
  readonly port: number;
  /** The request data (hex) it received, in order. */
  readonly requests: string[];
}

export async function startPythonServer(): Promise<PythonServer> {
  const child = spawnPython([PROGRAMS, "server"], {
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  });
  const requests: string[] = [];
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  let port = 0;
  while (port === 0) {
    const { value, done } = await lines.read();
    if (done) throw new Error("the Python server did not start");
    buffered += value;
    const match = /listening on 127\.0\.0\.1:(\d+)\n/.exec(buffered);
    if (match) {
      port = Number(match[1]);
      buffered = buffered.slice((match.index ?? 0) + match[0].length);
    }
  }
  const reading = (async () => {
    for (;;) {
      const { value, done } = await lines.read();
      if (done) return;
      buffered += value;
      const parts = buffered.split("\n");
      buffered = parts.pop() ?? "";
      for (const line of parts) if (line.startsWith("request ")) requests.push(line.slice(8));
    }
  })();
  return {
    port,
    requests,
    async [Symbol.asyncDispose]() {
      child.kill("SIGKILL");
      await child.status;
      await reading;
    },
  };
}
