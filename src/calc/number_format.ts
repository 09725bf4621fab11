/**
 * Python's `repr()` of the numbers the calculator deals in.
 *
 * @module
 */

import type { PyNumber } from "./expr.ts";

/**
 * Formats a number exactly as Python's `repr()` (and `str()`) does: an int in
 * full, a bool as `True` / `False`, a float with the shortest digits that
 * read back to the same double, in exponent form when the decimal exponent is
 * below -4 or at least 16, and with `.0` when it is integral.
 *
 * @example
 * ```ts
 * formatNumber(2n ** 70n); // "1180591620717411303424"
 * formatNumber(3); // "3.0"
 * formatNumber(1e20); // "1e+20"
 * formatNumber(1 / 3); // "0.3333333333333333"
 * formatNumber(9.92290301275212e-8); // "9.92290301275212e-08"
 * formatNumber(-Infinity); // "-inf"
 * formatNumber(true); // "True"
 * ```
 */
export function formatNumber(x: PyNumber): string {
  if (typeof x === "bigint") return x.toString();
  if (typeof x === "boolean") return x ? "True" : "False";
  return formatFloat(x);
}

function formatFloat(x: number): string {
  const magnitude = Math.abs(x);
  if (magnitude >= 1e-4 && magnitude < 1e16) {
    // Here Python's shortest digits have a decimal exponent from -4 to 15,
    // which it lays out without an exponent, as ECMAScript does (it does so
    // from 1e-7 to 1e21): the texts are equal except for an integral
    // value's `.0`.
    const text = String(x);
    return text.includes(".") ? text : `${text}.0`;
  }
  if (Number.isNaN(x)) return "nan";
  if (x === Infinity) return "inf";
  if (x === -Infinity) return "-inf";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  // ECMAScript's Number::toString yields the shortest round-trip digits and,
  // among those, the ones closest to the value: the same digits as Python's
  // repr (David Gay's mode 0). Only the layout differs, so re-lay them out.
  const text = String(Math.abs(x));
  const e = text.indexOf("e");
  const mantissa = e < 0 ? text : text.slice(0, e);
  const exponent = e < 0 ? 0 : Number(text.slice(e + 1));
  const dot = mantissa.indexOf(".");
  const intPart = dot < 0 ? mantissa : mantissa.slice(0, dot);
  let digits = intPart + (dot < 0 ? "" : mantissa.slice(dot + 1));
  // The value is 0.<digits> * 10 ** point.
  let point = intPart.length + exponent;
  let first = 0;
  while (digits.charCodeAt(first) === 48) first++;
  point -= first;
  let last = digits.length;
  while (digits.charCodeAt(last - 1) === 48) last--;
  digits = digits.slice(first, last);
  if (point <= -4 || point > 16) {
    const exp = point - 1;
    const body = digits.length === 1 ? digits : `${digits[0]}.${digits.slice(1)}`;
    const expDigits = String(Math.abs(exp)).padStart(2, "0");
    return `${sign}${body}e${exp < 0 ? "-" : "+"}${expDigits}`;
  }
  if (point <= 0) return `${sign}0.${"0".repeat(-point)}${digits}`;
  if (point >= digits.length) return `${sign}${digits}${"0".repeat(point - digits.length)}.0`;
  return `${sign}${digits.slice(0, point)}.${digits.slice(point)}`;
}
