/**
 * The calculator server (docs/PROTOCOL.md §6): {@linkcode startServer}
 * serves `handler.ts`'s pure answer to each packet (decode, evaluate,
 * encode) on the shared TCP service of `net/`.
 *
 * @module
 */

export { type ServerEvent, startServer } from "./server.ts";
