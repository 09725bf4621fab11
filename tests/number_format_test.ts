import assert from "node:assert/strict";
import { formatNumber } from "../src/calc/number_format.ts";
import { runPython } from "./helpers/python.ts";
import { Rng } from "./helpers/calc_oracle.ts";

Deno.test("formatNumber() writes ints in full and bools as Python does", () => {
  assert.equal(formatNumber(0n), "0");
  assert.equal(formatNumber(-42n), "-42");
  assert.equal(formatNumber(2n ** 100n), "1267650600228229401496703205376");
  assert.equal(formatNumber(true), "True");
  assert.equal(formatNumber(false), "False");
});

Deno.test("formatNumber() writes floats as Python's repr", async (t) => {
  const cases: readonly [number, string][] = [
    [3, "3.0"],
    [0, "0.0"],
    [-0, "-0.0"],
    [17714.7, "17714.7"],
    [0.1 + 0.2, "0.30000000000000004"],
    [1 / 3, "0.3333333333333333"],
    [1e20, "1e+20"],
    [1e16, "1e+16"],
    [1e15, "1000000000000000.0"],
    [1234567890123456.7, "1234567890123456.8"],
    [12345678901234567, "1.2345678901234568e+16"],
    [1.633123935319537e16, "1.633123935319537e+16"],
    [9.92290301275212e-8, "9.92290301275212e-08"],
    [1e-5, "1e-05"],
    [0.0001, "0.0001"],
    [-0.0001, "-0.0001"],
    [9.999999999999999e-5, "9.999999999999999e-05"],
    [9999999999999998, "9999999999999998.0"],
    [-1e16, "-1e+16"],
    [0.00012207031250000001, "0.0001220703125"],
    [-1.5e-7, "-1.5e-07"],
    [5e-324, "5e-324"],
    [1.7976931348623157e308, "1.7976931348623157e+308"],
    [2.718281828459045, "2.718281828459045"],
    [Infinity, "inf"],
    [-Infinity, "-inf"],
    [NaN, "nan"],
  ];
  for (const [x, expected] of cases) {
    await t.step(expected, () => assert.equal(formatNumber(x), expected));
  }
});

const SEED = 4242;

Deno.test(`formatNumber() matches python3's repr on 30,000 random doubles (seed ${SEED})`, async () => {
  const rng = new Rng(SEED);
  const bits = new DataView(new ArrayBuffer(8));
  const values: number[] = [];
  const hex: string[] = [];
  for (let i = 0; i < 30_000; i++) {
    if (i % 3 === 0) {
      // Short decimals at every scale: the exponent-form boundaries.
      bits.setFloat64(0, (rng.int(100_000) / 10 ** rng.int(8)) * 10 ** (rng.int(50) - 25));
    } else {
      bits.setUint32(0, rng.uint32());
      bits.setUint32(4, rng.uint32());
    }
    values.push(bits.getFloat64(0));
    hex.push(bits.getBigUint64(0).toString(16).padStart(16, "0"));
  }
  const script = "import struct,sys\n" +
    "print('\\n'.join(repr(struct.unpack('>d', bytes.fromhex(h))[0]) for h in sys.stdin.read().split()))";
  const expected = (await runPython(["-c", script], hex.join("\n"))).trimEnd().split("\n");
  assert.equal(expected.length, values.length);
  values.forEach((x, i) =>
    assert.equal(formatNumber(x), expected[i], `0x${hex[i]} (seed ${SEED})`)
  );
});
