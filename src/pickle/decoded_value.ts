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

import type { PyExceptionType, RandomState } from "../calc/mod.ts";
import type { CourseClassName } from "./course_model.ts";
import type { DGlobal } from "./globals_whitelist.ts";
import { indexKey, indexKeyWork, type KeyIndex } from "./key_index.ts";

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
  /** Its kind. */
  readonly kind: "tuple";
  /** The items. */
  readonly items: readonly Value[];
  /** 1 + the depth of its deepest item (see the module doc). */
  readonly depth: number;
}

/** A `list`. */
export interface DList {
  /** Its kind. */
  readonly kind: "list";
  /** The items. */
  readonly items: Value[];
  /** 1 + the depth of its deepest item, as far as known (see the module doc). */
  depth: number;
}

/**
 * A `dict`: its keys and values alternating in `pairs`, each key once, in
 * the order first set (CPython's). Keys compare as JS `Map` keys do: by
 * value for str and numbers, by identity for objects. A flat array rather
 * than a `Map`: the course's dicts hold a few attributes, and a Map per
 * object costs more to make than scanning them; `index` takes over once a
 * dict outgrows a scan or gets an int key, so that hostile dicts stay
 * linear (see `key_index.ts` for why its keys cannot collide).
 */
export interface DDict {
  /** Its kind. */
  readonly kind: "dict";
  /** Keys and values, alternating. */
  pairs: Value[];
  /**
   * Where each key is in `pairs`, once there are more than
   * {@linkcode SCANNED_KEYS} or an int key (an int compares digit by digit).
   */
  index: KeyIndex | undefined;
  /**
   * Whether `pairs` and `index` are also an instance's `__dict__` (BUILD
   * shares them rather than copy them): the dict copies them before it
   * changes, as Python's BUILD copies the items.
   */
  shared: boolean;
  /** 1 + the depth of its deepest key or value, as far as known. */
  depth: number;
}

/** An instance of one of the course's classes (not `Associativity`), made by NEWOBJ. */
export interface DInstance {
  /** Its kind. */
  readonly kind: "instance";
  /** Its class. */
  readonly cls: CourseClassName;
  /**
   * Its `__dict__`, set by BUILD, as a {@linkcode DDict}'s `pairs` and
   * `index`: a dict's own until a second BUILD copies them (once), changed
   * in place from then on (`ownsAttributes`).
   */
  attributes: readonly Value[];
  /** The index of `attributes` (see {@linkcode DDict.index}). */
  attributeIndex: KeyIndex | undefined;
  /** Whether `attributes` and `attributeIndex` are this object's alone. */
  ownsAttributes: boolean;
  /** 1 + the depth of its deepest attribute value, as far as known. */
  depth: number;
  /**
   * What the decoder reading this object has made of it so far (undefined
   * until then): a slot on the object rather than a Map keyed by it, as
   * each payload's objects are new and read once.
   */
  converted: unknown;
}

/** The most keys a dict looks up by scanning its pairs. */
export const SCANNED_KEYS = 8;

/** Where `key` is in `pairs` (see {@linkcode DDict}), or -1. */
export function findKey(
  pairs: readonly Value[],
  index: KeyIndex | undefined,
  key: Value,
): number {
  if (index !== undefined) return index.get(indexKey(key)) ?? -1;
  for (let i = 0; i < pairs.length; i += 2) {
    if (sameKey(pairs[i] as Value, key)) return i;
  }
  return -1;
}

/** Whether two dict keys are one: SameValueZero, as for Map keys (=== but NaN equals NaN). */
export function sameKey(a: Value, b: Value): boolean {
  return a === b ||
    (typeof a === "number" && typeof b === "number" && Number.isNaN(a) && Number.isNaN(b));
}

/**
 * Sets `key` to `value` in the pairs and index of `dict` (see
 * {@linkcode DDict}), and returns the work units it took (see
 * `DecodeLimits.maxWorkPerByte`): 1, plus the keys it indexed.
 */
export function setPair(
  dict: { pairs: Value[]; index: KeyIndex | undefined },
  key: Value,
  value: Value,
): number {
  const pairs = dict.pairs;
  let work = 1;
  if (
    dict.index === undefined && (typeof key === "bigint" || pairs.length >= 2 * SCANNED_KEYS)
  ) {
    const index: KeyIndex = new Map();
    for (let i = 0; i < pairs.length; i += 2) {
      const existing = pairs[i] as Value;
      const indexed = indexKey(existing);
      work += indexKeyWork(existing, indexed);
      index.set(indexed, i);
    }
    dict.index = index;
  }
  const index = dict.index;
  if (index === undefined) {
    const at = findKey(pairs, undefined, key);
    if (at >= 0) pairs[at + 1] = value;
    else pairs.push(key, value);
    return work;
  }
  const indexed = indexKey(key);
  const at = index.get(indexed);
  if (at === undefined) {
    index.set(indexed, pairs.length);
    pairs.push(key, value);
  } else {
    pairs[at + 1] = value;
  }
  return work + indexKeyWork(key, indexed);
}

/** An instance of a whitelisted exception class. */
export interface DException {
  /** Its kind. */
  readonly kind: "exception";
  /** Its class. */
  readonly type: PyExceptionType;
  /** Its `args`. */
  readonly args: readonly Value[];
  /** 1 + the depth of its args tuple. */
  readonly depth: number;
}

/** A member of `Associativity`: 0 is LEFT, 1 is RIGHT. */
export interface DAssociativity {
  /** Its kind. */
  readonly kind: "associativity";
  /** The member's value. */
  readonly value: 0 | 1;
}

/** A `random.Random`; its state arrives with BUILD. */
export interface DRandom {
  /** Its kind. */
  readonly kind: "random";
  /** Its state, once BUILD has set it. */
  state: RandomState | null;
}

/** `getattr(random, 'uniform')`: the function of the course's `rand`. */
export interface DBoundUniform {
  /** Its kind. */
  readonly kind: "uniform";
  /** The `random.Random` it is bound to. */
  readonly random: DRandom;
}

/** A `complex`. */
export interface DComplex {
  /** Its kind. */
  readonly kind: "complex";
  /** The real part. */
  readonly real: number;
  /** The imaginary part. */
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
