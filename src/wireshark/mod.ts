/**
 * calcnet in Wireshark: the dissector (Lua, embedded in the program) and
 * its installation into the user's plugin folder.
 *
 * @module
 */

export { DISSECTOR_LUA } from "./dissector_lua.ts";
export {
  installDissector,
  InstallError,
  personalPluginFolder,
  type PlatformInfo,
  PLUGIN_FILE_NAME,
} from "./plugin_folder.ts";
