/**
 * The command line, the top floor: one file per subcommand, each a typed
 * flag set bound to its handler ({@linkcode command}, from `term/`), and
 * what they share (the listening services' flags, permission errors, "did
 * you mean"). `main.ts` dispatches to these commands.
 *
 * @module
 */

export { benchCommand } from "./bench_command.ts";
export { cacheCommand } from "./cache_command.ts";
export { checkCommand } from "./check_command.ts";
export { clientCommand } from "./client_command.ts";
export { decodeCommand } from "./decode_command.ts";
export { demoCommand } from "./demo_command.ts";
export { closestMatch, type Command, command } from "../term/mod.ts";
export { permissionErrorOf } from "./permissions.ts";
export { proxyCommand } from "./proxy_command.ts";
export { serverCommand } from "./server_command.ts";
export { wiresharkCommand } from "./wireshark_command.ts";
