/**
 * A small model of the Python objects calcnet pickles, with CPython's notion
 * of object identity, which decides what its pickler writes once and refers
 * back to (the memo).
 *
 * - `null`, `boolean`, `bigint` (int) and `number` (float) are values: never
 *   memoized, written in full each time, as CPython does.
 * - A JS `string` is a new `str` object wherever it occurs (as a str built at
 *   run time is in CPython), except `""` and one character below U+0100:
 *   CPython's singletons, shared by value. (Most of CPython's ways of making
 *   such a str return the singleton: literals like `'+'`, indexing, slicing,
 *   decoding, `chr`; `str(6)` does not.)
 * - {@linkcode PyInterned} is a str shared by value, as CPython shares an
 *   interned identifier or one literal of a module: attribute names, the
 *   course's symbols and function names. For one latin-1 character CPython's
 *   interned str may or may not be the singleton (`sys.intern('a')` is not,
 *   in 3.11), so the two are kept apart; do not rely on either for such a
 *   character.
 * - Tuples, lists, dicts, instances and reductions are objects: the same JS
 *   object met twice is one Python object, written once.
 * - {@linkcode PyGlobal} names a module attribute (a class or function): one
 *   object per module and name, however many JS objects name it. Its module
 *   name is the module's `__name__`, one str per module, except for a
 *   built-in type ({@linkcode pyBuiltinType}), whose `'builtins'` is the
 *   interpreter's interned str: CPython writes `'builtins'` once for `max`
 *   and `getattr` and once more for `ValueError` and `complex`.
 *
 * @module
 */

/** Any object of the model. */
export type PyObject =
  | null
  | boolean
  | bigint
  | number
  | string
  | PyInterned
  | PyTuple
  | PyList
  | PyDict
  | PyGlobal
  | PyInstance
  | PyReduce;

/** A `str` shared by value (an interned string or a module's literal). */
export interface PyInterned {
  /** Its kind. */
  readonly kind: "interned";
  /** The text. */
  readonly value: string;
}

/** A `tuple`. */
export interface PyTuple {
  /** Its kind. */
  readonly kind: "tuple";
  /** The items. */
  readonly items: readonly PyObject[];
}

/** A `list`. */
export interface PyList {
  /** Its kind. */
  readonly kind: "list";
  /** The items. */
  readonly items: readonly PyObject[];
}

/** A `dict`, in insertion order. */
export interface PyDict {
  /** Its kind. */
  readonly kind: "dict";
  /** The items, in insertion order. */
  readonly entries: readonly (readonly [PyObject, PyObject])[];
}

/** A module attribute pickled by name: `module.name`. */
export interface PyGlobal {
  /** Its kind. */
  readonly kind: "global";
  /** The module, e.g. `"math"`. */
  readonly module: string;
  /** The attribute, e.g. `"sin"`. */
  readonly name: string;
  /** A built-in type of module `builtins` (its module name is an interned str). */
  readonly builtinType?: true;
}

/**
 * An instance of a plain class, pickled as `cls.__new__(cls)` (NEWOBJ) and,
 * when it has attributes, its `__dict__` (BUILD). Attribute names are shared
 * by value, as CPython's instance dicts share interned keys.
 */
export interface PyInstance {
  /** Its kind. */
  readonly kind: "instance";
  /** The class. */
  readonly cls: PyGlobal;
  /** The `__dict__`, in insertion order. */
  readonly attributes: readonly (readonly [string, PyObject])[];
}

/**
 * An object pickled by `__reduce__` as `callable(*args)` (REDUCE), then, when
 * `state` is neither undefined nor None, `__setstate__(state)` (BUILD).
 */
export interface PyReduce {
  /** Its kind. */
  readonly kind: "reduce";
  /** What is called, usually a class or function global. */
  readonly callable: PyObject;
  /** The arguments. */
  readonly args: PyTuple;
  /** The state BUILD applies, if any. */
  readonly state?: PyObject;
}

/** A `str` shared by value. */
export function pyInterned(value: string): PyInterned {
  return { kind: "interned", value };
}

/** A `tuple` of `items`. */
export function pyTuple(items: readonly PyObject[]): PyTuple {
  return { kind: "tuple", items };
}

/** A `list` of `items`. */
export function pyList(items: readonly PyObject[]): PyList {
  return { kind: "list", items };
}

/** A `dict` of `entries`, in that order. */
export function pyDict(entries: readonly (readonly [PyObject, PyObject])[]): PyDict {
  return { kind: "dict", entries };
}

/** The global `module.name` (a function, or a class defined in Python). */
export function pyGlobal(module: string, name: string): PyGlobal {
  return { kind: "global", module, name };
}

/** The built-in type `builtins.name`, e.g. `ValueError` or `complex`. */
export function pyBuiltinType(name: string): PyGlobal {
  return { kind: "global", module: "builtins", name, builtinType: true };
}

/** An instance of `cls` with `attributes` as its `__dict__`. */
export function pyInstance(
  cls: PyGlobal,
  attributes: readonly (readonly [string, PyObject])[],
): PyInstance {
  return { kind: "instance", cls, attributes };
}

/** The object `callable(*args)`, then BUILD of `state` when given. */
export function pyReduce(callable: PyObject, args: PyTuple, state?: PyObject): PyReduce {
  return state === undefined
    ? { kind: "reduce", callable, args }
    : { kind: "reduce", callable, args, state };
}
