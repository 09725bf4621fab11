/**
 * The only module attributes the decoders resolve (docs/PROTOCOL.md §3): the course's
 * classes, the operator and function globals, what a `rand` Function and an
 * exception response need, and `complex` (to recognise, and refuse, a complex
 * result). Any other global is refused (a `PickleError`): the unpickler never
 * imports or calls anything it was not built to.
 *
 * @module
 */

import { EXCEPTION_MODULE, type PyExceptionType } from "../calc/mod.ts";
import {
  BINARY_OPERATOR_FUNCTIONS,
  COURSE_CLASS_NAMES,
  type CourseClassName,
  FUNCTION_GLOBALS,
  UNARY_OPERATOR_FUNCTIONS,
} from "./course_model.ts";

/** What a whitelisted global is to the decoder. */
export type GlobalRole =
  | { readonly role: "class"; readonly name: CourseClassName }
  | { readonly role: "function" }
  | { readonly role: "getattr" }
  | { readonly role: "random" }
  | { readonly role: "complex" }
  | { readonly role: "exception"; readonly type: PyExceptionType };

/** A resolved global; one object per attribute, whichever module named it. */
export type DGlobal = GlobalRole & {
  readonly kind: "global";
  /** The canonical `module.name`, e.g. `"_operator.add"` or `"calculator.Constant"`. */
  readonly qualified: string;
};

/** Module → attribute → global (two levels, so a lookup builds no key string). */
const WHITELIST = new Map<string, Map<string, DGlobal>>();

function allow(
  modules: readonly string[],
  name: string,
  qualified: string,
  role: GlobalRole,
): void {
  const global: DGlobal = Object.freeze({ kind: "global", qualified, ...role });
  for (const module of modules) {
    let names = WHITELIST.get(module);
    if (names === undefined) WHITELIST.set(module, names = new Map());
    names.set(name, global);
  }
}

for (const name of COURSE_CLASS_NAMES) {
  // `api.py` does `from calculator import *`, and the Python server accepts
  // a pickle that names `api.BinaryExpr`.
  allow(["calculator", "api"], name, `calculator.${name}`, { role: "class", name });
}
for (
  const [module, name] of [
    ...Object.values(BINARY_OPERATOR_FUNCTIONS),
    ...Object.values(UNARY_OPERATOR_FUNCTIONS),
    ...Object.values(FUNCTION_GLOBALS),
  ]
) {
  allow([module], name, `${module}.${name}`, { role: "function" });
}
allow(["builtins"], "getattr", "builtins.getattr", { role: "getattr" });
allow(["random"], "Random", "random.Random", { role: "random" });
allow(["builtins"], "complex", "builtins.complex", { role: "complex" });
for (const [type, module] of Object.entries(EXCEPTION_MODULE)) {
  const exceptionType = type as PyExceptionType;
  allow([module], type, `${module}.${type}`, { role: "exception", type: exceptionType });
}

/**
 * The whitelisted global `module.name`, or undefined for any global outside
 * the whitelist (the decoders refuse it with {@linkcode globalNotAllowed}).
 * For protocols 0–2, CPython's unpickler first maps Python 2 names
 * (`__builtin__.max`, `exceptions.ValueError`) to Python 3 ones, and so does
 * this.
 */
export function lookupGlobal(module: string, name: string, protocol: number): DGlobal | undefined {
  const python3Module = protocol < 3 && (module === "__builtin__" || module === "exceptions")
    ? "builtins"
    : module;
  const global = WHITELIST.get(python3Module)?.get(name);
  return global === undefined || (module === "exceptions" && global.role !== "exception")
    ? undefined
    : global;
}

/** The message refusing the global `module.name`: one short line, whatever the names hold. */
export function globalNotAllowed(module: string, name: string): string {
  return `global ${printable(module)}.${printable(name)} is not allowed`;
}

/** Hostile names can hold anything; keep the message one short line. */
function printable(text: string): string {
  const clean = text.replace(/[^\x20-\x7e]/g, "?");
  return clean.length > 60 ? `${clean.slice(0, 60)}…` : clean;
}
