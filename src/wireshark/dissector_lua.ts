/**
 * The Wireshark dissector, as Lua source embedded in the program (nothing is
 * read from disk at run time): `calcnet wireshark print` writes it,
 * `calcnet wireshark install` puts it in Wireshark's plugin folder.
 *
 * @module
 */

import { LUA_COURSE } from "./lua_course.ts";
import { LUA_NUMBERS } from "./lua_numbers.ts";
import { LUA_PICKLE } from "./lua_pickle.ts";
import { LUA_PRELUDE } from "./lua_prelude.ts";
import { LUA_PROTOCOL } from "./lua_protocol.ts";

/**
 * The whole dissector: one Lua file, its parts in dependency order (each
 * uses only what the ones before it define).
 */
export const DISSECTOR_LUA: string = [
  LUA_PRELUDE,
  LUA_NUMBERS,
  LUA_PICKLE,
  LUA_COURSE,
  LUA_PROTOCOL,
].join("").trimStart();
