/**
 * What the whitelisted globals make when a pickle asks for an object: a
 * table by role, beside the whitelist (`globals_whitelist.ts`), of what
 * NEWOBJ (`cls.__new__(cls, *args)`), REDUCE (`callable(*args)`) and BUILD
 * (`__setstate__`) do for each, so that the generic unpickler
 * (`decoder.ts`) knows no course class. Nothing here calls or imports what
 * a pickle names: each entry builds one of the decoder's stand-ins
 * (`decoded_value.ts`) or refuses.
 *
 * @module
 */

import { MT_WORDS, type RandomState } from "../calc/mod.ts";
import { RANDOM_STATE_VERSION } from "./course_model.ts";
import {
  ASSOCIATIVITY,
  describe,
  type DException,
  type DRandom,
  type DTuple,
  type Value,
} from "./decoded_value.ts";
import type { DGlobal } from "./globals_whitelist.ts";

/** Why an object cannot be made as the pickle asks: the message of the decoder's error. */
export class Refusal {
  /** One line, without the position (the decoder adds it). */
  readonly message: string;

  /** A refusal saying `message`. */
  constructor(message: string) {
    this.message = message;
  }
}

/** What NEWOBJ and REDUCE make of the globals of one role. */
interface Maker<G extends DGlobal> {
  /** NEWOBJ; absent when the global is nothing NEWOBJ may create. */
  readonly newObject?: (global: G, args: DTuple) => Value | Refusal;
  /** REDUCE; absent when a pickle may not call the global. */
  readonly call?: (global: G, args: DTuple) => Value | Refusal;
}

type Role = DGlobal["role"];
type GlobalOf<R extends Role> = Extract<DGlobal, { readonly role: R }>;

/** The course's `Associativity` (an enum: made by value or by name, never by NEWOBJ). */
const ASSOCIATIVITY_CLASS = "Associativity";

/** The table: one entry per role of `globals_whitelist.ts`. */
const MAKERS: { readonly [R in Role]: Maker<GlobalOf<R>> } = {
  class: {
    newObject: (cls) =>
      cls.name === ASSOCIATIVITY_CLASS
        ? new Refusal(`cannot create ${describe(cls)} with NEWOBJ`)
        // The course's classes take no __new__ arguments; object.__new__
        // ignores extra ones when __init__ is overridden, and so does this.
        : {
          kind: "instance",
          cls: cls.name,
          attributes: NO_ATTRIBUTES,
          attributeIndex: undefined,
          ownsAttributes: false,
          depth: 1,
          converted: undefined,
        },
    call: (cls, args) =>
      cls.name === ASSOCIATIVITY_CLASS
        ? associativityByValue(args.items)
        : new Refusal(`calling ${describe(cls)} is not allowed`),
  },
  function: {},
  getattr: { call: (_, args) => getattr(args.items) },
  // Random(seed) would need CPython's seeding; its pickler never passes one
  // (the state follows in BUILD).
  random: {
    call: (_, args) =>
      args.items.length === 0
        ? { kind: "random", state: null }
        : new Refusal("random.Random() takes no arguments here"),
  },
  complex: { call: (_, args) => complexNumber(args.items) },
  exception: { newObject: exception, call: exception },
};

/** The `__dict__` of an object before BUILD; never changed. */
export const NO_ATTRIBUTES: readonly Value[] = Object.freeze([]);

/** NEWOBJ of `cls` with `args`: the new object, or why not. */
export function newObject(cls: DGlobal, args: DTuple): Value | Refusal {
  const make = (MAKERS[cls.role] as Maker<DGlobal>).newObject;
  return make === undefined
    ? new Refusal(`cannot create ${describe(cls)} with NEWOBJ`)
    : make(cls, args);
}

/** REDUCE of `callable` with `args`: what the call makes, or why not. */
export function callGlobal(callable: DGlobal, args: DTuple): Value | Refusal {
  const call = (MAKERS[callable.role] as Maker<DGlobal>).call;
  return call === undefined
    ? new Refusal(`calling ${describe(callable)} is not allowed`)
    : call(callable, args);
}

function exception(global: GlobalOf<"exception">, args: DTuple): DException {
  // The unpickler checks the depth of what is made against its limit.
  return { kind: "exception", type: global.type, args: args.items, depth: args.depth + 1 };
}

/** `Associativity(0)` or `Associativity(1)`, as CPython 3.11.5+ pickle a member. */
function associativityByValue(items: readonly Value[]): Value | Refusal {
  const [value] = items;
  if (items.length === 1 && (value === 0n || value === 1n)) {
    return ASSOCIATIVITY[value === 0n ? 0 : 1];
  }
  return new Refusal("Associativity takes 0 (LEFT) or 1 (RIGHT)");
}

/**
 * The two calls of `getattr` a course pickle makes: the bound method
 * `<random.Random>.uniform` (the function of `rand`), and an enum member by
 * name, `getattr(Associativity, 'LEFT')`, as Python 3.11.0–3.11.4 (Debian
 * 12's python3 is 3.11.2) pickle one.
 */
function getattr(items: readonly Value[]): Value | Refusal {
  const [target, name] = items;
  if (items.length === 2 && typeof target === "object" && target !== null) {
    if (target.kind === "random" && name === "uniform") return { kind: "uniform", random: target };
    if (
      target.kind === "global" && target.role === "class" &&
      target.name === ASSOCIATIVITY_CLASS && (name === "LEFT" || name === "RIGHT")
    ) {
      return ASSOCIATIVITY[name === "LEFT" ? 0 : 1];
    }
  }
  return new Refusal(
    "getattr is allowed only as getattr(<random.Random>, 'uniform') or getattr(Associativity, 'LEFT' or 'RIGHT')",
  );
}

/** `complex(real, imag)`, made only to be recognised (and refused) as a result. */
function complexNumber(items: readonly Value[]): Value | Refusal {
  // The length first: the arguments may be a huge tuple, used again and again.
  if (items.length <= 2) {
    const parts = items.map((item) =>
      typeof item === "number" ? item : typeof item === "bigint" ? Number(item) : undefined
    );
    if (parts.every((part) => part !== undefined)) {
      return { kind: "complex", real: parts[0] ?? 0, imag: parts[1] ?? 0 };
    }
  }
  return new Refusal("complex() takes up to two numbers here");
}

/** What BUILD does to an object made by the table (a plain instance's is the unpickler's). */
export interface StateSetter<T> {
  /** The work units (see `maxWorkPerByte`) of one BUILD, counted before it is done. */
  readonly work: number;
  /** Applies `state`, or says why not. */
  readonly set: (target: T, state: Value) => Refusal | undefined;
}

/**
 * The work of checking a random state: two units per word, as each takes
 * two BigInt operations.
 */
export const RANDOM_STATE_WORK = 2 * (MT_WORDS + 1);

/** BUILD of the objects that are not plain instances, by kind. */
export const STATE_SETTERS: {
  readonly random: StateSetter<DRandom>;
  readonly exception: StateSetter<DException>;
} = {
  random: {
    work: RANDOM_STATE_WORK,
    set(target, state) {
      // `Random.setstate(state)`, checked as CPython checks it.
      if (typeof state !== "object" || state?.kind !== "tuple" || state.items.length !== 3) {
        return new Refusal("random state is not a 3-tuple");
      }
      const [version, internal, gauss] = state.items;
      const words = typeof internal === "object" && internal?.kind === "tuple"
        ? internal.items
        : undefined;
      const made = randomStateOf(version, words, gauss);
      if (made instanceof Refusal) return made;
      target.state = made;
      return undefined;
    },
  },
  exception: {
    work: 0,
    // BaseException.__setstate__ sets attributes calcnet does not model.
    set: (_, state) =>
      state === null || (typeof state === "object" && state.kind === "dict")
        ? undefined
        : new Refusal("exception state is not a dict"),
  },
};

/**
 * The state `Random.setstate((version, internal, gauss))` sets, checked as
 * CPython checks it: `internal` is the items of the state's inner tuple
 * (undefined when it is no tuple), 624 words and an index.
 */
export function randomStateOf(
  version: unknown,
  internal: readonly unknown[] | undefined,
  gauss: unknown,
): RandomState | Refusal {
  if (version !== BigInt(RANDOM_STATE_VERSION)) {
    return new Refusal(`random state version is not ${RANDOM_STATE_VERSION}`);
  }
  if (internal === undefined) return new Refusal("random state is not a tuple");
  if (internal.length !== MT_WORDS + 1) return new Refusal("random state has the wrong size");
  const words = new Uint32Array(MT_WORDS);
  for (let i = 0; i < MT_WORDS; i++) {
    const word = internal[i];
    // CPython reads each word as a C unsigned long and keeps 32 bits.
    if (typeof word !== "bigint" || word < 0n || word >= MAX_WORD) {
      return new Refusal("random state word is not an unsigned int");
    }
    words[i] = Number(BigInt.asUintN(32, word));
  }
  const index = internal[MT_WORDS];
  if (typeof index !== "bigint" || index < 0n || index > BigInt(MT_WORDS)) {
    return new Refusal("random state index is invalid");
  }
  if (gauss !== null && typeof gauss !== "number") {
    return new Refusal("random state gauss value is not a float or None");
  }
  return { words, index: Number(index), gauss };
}

/** The first int a C unsigned long cannot hold. */
const MAX_WORD = 1n << 64n;
