import assert from "node:assert/strict";
import { binary, call, constant, type Expr, named, unary } from "../src/calc/expr.ts";
import { MAX_EXPRESSION_DEPTH, parseExpression } from "../src/calc/parser.ts";
import { COURSE_EXAMPLES } from "../src/calc/course_examples.ts";
import { UsageError } from "../src/base/errors.ts";
import { exprToJson, oracleParse, Rng } from "./helpers/calc_oracle.ts";

const c = (v: number | bigint | boolean): Expr => constant(v);

Deno.test("parseExpression() builds the course client's trees for the six examples", () => {
  const expected: readonly Expr[] = [
    binary(
      binary(
        call("sin", [
          call("max", [
            c(2n),
            binary(c(3n), "*", c(4n)),
            c(5n),
            binary(c(6n), "*", binary(binary(c(7n), "*", c(8n)), "/", c(9n))),
            binary(c(10n), "/", c(11n)),
          ]),
        ]),
        "/",
        c(12n),
      ),
      "*",
      c(13n),
    ),
    binary(call("max", [c(2n), c(3n)]), "+", c(3n)),
    binary(
      c(3n),
      "+",
      binary(
        binary(c(4n), "*", c(2n)),
        "/",
        binary(binary(c(1n), "-", c(5n)), "**", binary(c(2n), "**", c(3n))),
      ),
    ),
    binary(
      binary(binary(c(1n), "+", c(2n)), "**", binary(c(3n), "*", c(4n))),
      "/",
      binary(c(5n), "*", c(6n)),
    ),
    unary(
      "-",
      unary(
        "-",
        binary(
          binary(c(1n), "+", binary(c(2n), "+", c(3n))),
          "**",
          unary("-", binary(c(4n), "+", c(5n))),
        ),
      ),
    ),
    call("max", [
      c(2n),
      binary(c(3n), "*", c(4n)),
      call("log", [named("E")]),
      binary(c(6n), "*", c(7n)),
      binary(c(9n), "/", c(8n)),
    ]),
  ];
  assert.equal(COURSE_EXAMPLES.length, 6);
  COURSE_EXAMPLES.forEach((example, i) =>
    assert.deepEqual(parseExpression(example.text), expected[i], example.text)
  );
});

Deno.test("parseExpression() follows Python's precedence and associativity", async (t) => {
  const cases: readonly [string, Expr][] = [
    ["1 + 2 * 3", binary(c(1n), "+", binary(c(2n), "*", c(3n)))],
    ["10 - 4 - 3", binary(binary(c(10n), "-", c(4n)), "-", c(3n))],
    ["8 / 4 / 2", binary(binary(c(8n), "/", c(4n)), "/", c(2n))],
    ["7 % 3 * 2", binary(binary(c(7n), "%", c(3n)), "*", c(2n))],
    ["2 ** 3 ** 2", binary(c(2n), "**", binary(c(3n), "**", c(2n)))],
    ["-2 ** 2", unary("-", binary(c(2n), "**", c(2n)))],
    ["2 ** -1", binary(c(2n), "**", c(-1n))],
    ["2 ** -(1)", binary(c(2n), "**", unary("-", c(1n)))],
    ["-2 ** -2", unary("-", binary(c(2n), "**", c(-2n)))],
    ["(-2) ** 2", binary(c(-2n), "**", c(2n))],
    ["-(7) % 3", binary(unary("-", c(7n)), "%", c(3n))],
    ["-7 % 3", binary(c(-7n), "%", c(3n))],
    ["--5", unary("-", c(-5n))],
    ["+5", unary("+", c(5n))],
    ["- 5", c(-5n)],
    ["-0.0", c(-0)],
    ["-inf", c(-Infinity)],
    ["-pi", unary("-", named("PI"))],
    ["-True", unary("-", c(true))],
    ["sqrt(-1)", call("sqrt", [c(-1n)])],
    ["1 - -1", binary(c(1n), "-", c(-1n))],
    ["2 * -3 ** 2", binary(c(2n), "*", unary("-", binary(c(3n), "**", c(2n))))],
  ];
  for (const [text, expected] of cases) {
    await t.step(text, () => assert.deepEqual(parseExpression(text), expected));
  }
});

Deno.test("parseExpression() puts ** above a unary minus on its left", () => {
  assert.deepEqual(parseExpression("-2 ** 2"), unary("-", binary(c(2n), "**", c(2n))));
});

Deno.test("parseExpression() reads number literals as Python does", async (t) => {
  const cases: readonly [string, number | bigint][] = [
    ["10", 10n],
    ["0", 0n],
    ["00", 0n],
    ["2.5", 2.5],
    ["1e-05", 1e-5],
    ["1E5", 1e5],
    [".5", 0.5],
    ["5.", 5],
    ["5.e1", 50],
    ["1_000", 1000n],
    ["1_000.5", 1000.5],
    ["1e1_0", 1e10],
    ["0x1f", 31n],
    ["0X_1F", 31n],
    ["0o17", 15n],
    ["0b101", 5n],
    ["1e400", Infinity],
    ["123456789012345678901234567890", 123456789012345678901234567890n],
  ];
  for (const [text, value] of cases) {
    await t.step(text, () => {
      const expr = parseExpression(text);
      assert.deepEqual(expr, constant(value));
      assert.equal(typeof (expr as { value: unknown }).value, typeof value);
    });
  }
});

Deno.test("parseExpression() knows the named constants and special values", () => {
  assert.deepEqual(parseExpression("pi"), named("PI"));
  assert.deepEqual(parseExpression("tau"), named("TAU"));
  assert.deepEqual(parseExpression("e"), named("E"));
  assert.deepEqual(parseExpression("E + PI"), binary(named("E"), "+", named("PI")));
  assert.deepEqual(parseExpression("inf"), constant(Infinity));
  assert.deepEqual(parseExpression("nan"), constant(NaN));
  assert.deepEqual(parseExpression("True + False"), binary(c(true), "+", c(false)));
});

Deno.test("parseExpression() leaves arity to the server and rand without a state", () => {
  assert.deepEqual(parseExpression("max()"), call("max", []));
  assert.deepEqual(parseExpression("sin(1, 2)"), call("sin", [c(1n), c(2n)]));
  assert.deepEqual(parseExpression("pow(2, 3, 5,)"), call("pow", [c(2n), c(3n), c(5n)]));
  const rand = parseExpression("rand(1, 2)");
  assert.deepEqual(rand, call("rand", [c(1n), c(2n)]));
  assert.equal((rand as { random?: unknown }).random, undefined);
});

function syntaxError(text: string): string {
  try {
    parseExpression(text);
  } catch (error: unknown) {
    if (error instanceof UsageError) return error.message;
    throw error;
  }
  assert.fail(`${JSON.stringify(text)} parsed`);
}

Deno.test("parseExpression() points at the offending column", async (t) => {
  const cases: readonly [string, string][] = [
    ["1 + )", "unexpected ')' at column 5\n  1 + )\n      ^"],
    ["", "empty expression at column 1\n  \n  ^"],
    ["   ", "empty expression at column 1\n     \n  ^"],
    ["sin(", "unexpected end of expression at column 5\n  sin(\n      ^"],
    ["(1 + 2", "'(' is never closed at column 1\n  (1 + 2\n  ^"],
    ["max(1, (2)", "'(' is never closed at column 4\n  max(1, (2)\n     ^"],
    ["max(1 2)", "expected ',' or ')' but found '2' at column 7\n  max(1 2)\n        ^"],
    ["(1 2)", "expected ')' but found '2' at column 4\n  (1 2)\n     ^"],
    ["1 2", "unexpected '2' at column 3\n  1 2\n    ^"],
    ["max(,)", "unexpected ',' at column 5\n  max(,)\n      ^"],
    ["sin", "'sin' is a function: write sin(...) at column 1\n  sin\n  ^"],
    ["pi(2)", "'pi' is a constant, not a function at column 1\n  pi(2)\n  ^"],
    [
      "1 + foo(2)",
      "unknown name 'foo' (functions: sin, cos, tan, sqrt, log, max, min, pow, rand; constants: pi, tau, e, " +
      "inf, nan, True, False) at column 5\n  1 + foo(2)\n      ^",
    ],
    ["7 // 2", "'//' (floor division) is not supported at column 3\n  7 // 2\n    ^"],
    ["2 ^ 3", "'^' is not supported: write ** for a power at column 3\n  2 ^ 3\n    ^"],
    ["1 $ 2", "unexpected character '$' at column 3\n  1 $ 2\n    ^"],
    ["2 × 3", "unexpected character '×' at column 3\n  2 × 3\n    ^"],
    ["1j", "complex numbers are not supported at column 1\n  1j\n  ^"],
    [
      "012",
      "leading zeros in decimal integer literals are not permitted (0o starts an octal literal) at column 1\n" +
      "  012\n  ^",
    ],
    ["1.2.3", "invalid number literal '1.2.' at column 1\n  1.2.3\n  ^"],
    ["2pi", "invalid number literal '2p' at column 1\n  2pi\n  ^"],
    ["1_", "invalid number literal '1_' at column 1\n  1_\n  ^"],
    [".", "unexpected '.' at column 1\n  .\n  ^"],
    ["1 +\t)", "unexpected ')' at column 5\n  1 + )\n      ^"],
  ];
  for (const [text, message] of cases) {
    await t.step(JSON.stringify(text), () => assert.equal(syntaxError(text), message));
  }
});

Deno.test("parseExpression() refuses too deep nesting cleanly", async (t) => {
  const limit = `expression nested too deeply (more than ${MAX_EXPRESSION_DEPTH} levels)`;
  await t.step(`${MAX_EXPRESSION_DEPTH} parentheses are fine`, () => {
    const text = "(".repeat(MAX_EXPRESSION_DEPTH) + "1" + ")".repeat(MAX_EXPRESSION_DEPTH);
    assert.deepEqual(parseExpression(text), c(1n));
  });
  const deep: readonly [string, string][] = [
    ["parentheses", "(".repeat(100_000) + "1" + ")".repeat(100_000)],
    ["signs", "-".repeat(100_000) + "1"],
    ["powers", "2 ** ".repeat(100_000) + "2"],
    ["calls", "sin(".repeat(100_000) + "1" + ")".repeat(100_000)],
    ["a long sum", "1" + " + 1".repeat(MAX_EXPRESSION_DEPTH)],
  ];
  for (const [label, text] of deep) {
    await t.step(
      label,
      () => assert.ok(syntaxError(text).startsWith(limit), syntaxError(text).slice(0, 80)),
    );
  }
  await t.step("the deepest sum accepted", () => {
    const text = "1" + " + 1".repeat(MAX_EXPRESSION_DEPTH - 1);
    assert.equal(parseExpression(text).kind, "binary");
  });
});

const SEED = 31337;

/** A random valid text: numbers in every notation, names, calls, signs, brackets, spacing. */
function randomText(rng: Rng, depth: number): string {
  const space = (): string => rng.pick(["", " ", " ", "  "]);
  if (depth <= 1 || rng.next() < 0.2) {
    return rng.pick([
      String(rng.int(20)),
      "2.5",
      "1e-05",
      "1E5",
      ".5",
      "5.",
      "1_000",
      "0x1f",
      "0.0",
      "pi",
      "tau",
      "e",
      "inf",
      "nan",
      "True",
    ]);
  }
  const r = rng.next();
  const sub = (): string => randomText(rng, depth - 1);
  if (r < 0.4) {
    return `${sub()}${space()}${rng.pick(["+", "-", "*", "/", "%", "**"])}${space()}${sub()}`;
  }
  if (r < 0.6) return `${rng.pick(["-", "+", "-"])}${space()}${sub()}`;
  if (r < 0.8) return `(${space()}${sub()}${space()})`;
  const args = Array.from({ length: rng.int(4) }, sub).join(`,${space()}`);
  return `${rng.pick(["sin", "cos", "tan", "sqrt", "log", "max", "min", "pow", "rand"])}(${args})`;
}

Deno.test(`parseExpression() builds the trees Python's own parser builds (500 texts, seed ${SEED})`, async () => {
  const rng = new Rng(SEED);
  const texts = Array.from({ length: 500 }, () => randomText(rng, 6));
  const expected = await oracleParse(texts);
  texts.forEach((text, i) =>
    assert.deepEqual(exprToJson(parseExpression(text)), expected[i], text)
  );
});
