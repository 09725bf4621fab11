/**
 * The values the unpickler builds: plain data, plus stand-ins for the few
 * Python objects the whitelist lets a pickle create. Nothing here runs code;
 * the decoders turn these into calcnet's own types.
 *
 * Containers carry `depth` (1 + the depth of their deepest member, as far as
 * it was known when the member was put in) so that hostile nesting fails
 * while unpickling; a container mutated after it was nested can make a depth
 * stale, so the decoders bound their own recursion as well.
 *
 * @module
 */

import type { RandomState } from "../calc/expr.ts";
import type { PyExceptionType } from "../calc/py_exception.ts";
import type { CourseClassName } from "./course_model.ts";
import type { DGlobal } from "./globals_whitelist.ts";

/** Any value on the unpickler's stack. */
export type Value =
  | null
  | boolean
  | bigint
  | number
  | string
  | DTuple
  | DList
  | DDict
  | DGlobal
  | DInstance
  | DException
  | DAssociativity
  | DRandom
  | DBoundUniform
  | DComplex;

/** A `tuple`. */
export interface DTuple {
  readonly kind: "tuple";
  readonly items: readonly Value[];
  readonly depth: number;
}

/** A `list`. */
export interface DList {
  readonly kind: "list";
  readonly items: Value[];
  depth: number;
}

/** A `dict`. Keys compare as JS `Map` keys do: by value for str and numbers, by identity for objects. */
export interface DDict {
  readonly kind: "dict";
  map: Map<Value, Value>;
  /**
   * Whether `map` is also an instance's `__dict__` (BUILD shares it rather
   * than copy it): the dict copies it before it changes, as Python's BUILD
   * copies the items.
   */
  shared: boolean;
  depth: number;
}

/** An instance of one of the course's classes (not `Associativity`), made by NEWOBJ. */
export interface DInstance {
  readonly kind: "instance";
  readonly cls: CourseClassName;
  /** Its `__dict__`, set by BUILD; never changed in place (it may be a dict's map). */
  attributes: ReadonlyMap<Value, Value>;
  depth: number;
}

/** An instance of a whitelisted exception class. */
export interface DException {
  readonly kind: "exception";
  readonly type: PyExceptionType;
  readonly args: readonly Value[];
  readonly depth: number;
}

/** A member of `Associativity`: 0 is LEFT, 1 is RIGHT. */
export interface DAssociativity {
  readonly kind: "associativity";
  readonly value: 0 | 1;
}

/** A `random.Random`; its state arrives with BUILD. */
export interface DRandom {
  readonly kind: "random";
  state: RandomState | null;
}

/** `getattr(random, 'uniform')`: the function of the course's `rand`. */
export interface DBoundUniform {
  readonly kind: "uniform";
  readonly random: DRandom;
}

/** A `complex`. */
export interface DComplex {
  readonly kind: "complex";
  readonly real: number;
  readonly imag: number;
}

/** The two `Associativity` members (an enum's members are singletons). */
export const ASSOCIATIVITY: readonly [DAssociativity, DAssociativity] = [
  Object.freeze({ kind: "associativity", value: 0 }),
  Object.freeze({ kind: "associativity", value: 1 }),
];

/** The nesting depth of `value`: 0 for anything that holds no values. */
export function depthOf(value: Value): number {
  if (typeof value !== "object" || value === null) return 0;
  switch (value.kind) {
    case "tuple":
    case "list":
    case "dict":
    case "instance":
    case "exception":
      return value.depth;
    default:
      return 0;
  }
}

/** A short Python-style name of what `value` is, for error messages. */
export function describe(value: Value): string {
  if (value === null) return "None";
  switch (typeof value) {
    case "boolean":
      return "bool";
    case "bigint":
      return "int";
    case "number":
      return "float";
    case "string":
      return "str";
  }
  switch (value.kind) {
    case "tuple":
    case "list":
    case "dict":
    case "complex":
      return value.kind;
    case "global":
      return value.qualified;
    case "instance":
      return `${value.cls} object`;
    case "exception":
      return `${value.type} object`;
    case "associativity":
      return "Associativity member";
    case "random":
      return "random.Random object";
    case "uniform":
      return "bound method Random.uniform";
  }
}
