/**
 * A cache shared by several proxies, on Redis or Valkey: answers by cache
 * key, and coalescing of identical misses across proxies, with Redis
 * trouble never blocking a caller (timeouts, a circuit breaker, background
 * reconnection). The proxy wires it in; this folder knows nothing of it.
 *
 * @example
 * ```ts
 * await using store = new RedisStore({
 *   url: "redis://127.0.0.1:6379",
 *   namespace: "127.0.0.1:7777",
 *   onState: ({ state, detail }) => console.log(`Redis ${state}: ${detail}`),
 * });
 * ```
 *
 * @module
 */

export type {
  LeadRole,
  SharedOutcome,
  SharedStore,
  StoreCounters,
  StoreState,
  StoreStateChange,
} from "./shared_store.ts";
export {
  REDIS_STORE_DEFAULTS,
  RedisStore,
  type RedisStoreOptions,
  type RedisStoreSettings,
} from "./redis_store.ts";
export {
  DEFAULT_REDIS_PORT,
  parseRedisUrl,
  type RedisEndpoint,
  RedisUrlError,
} from "./redis_url.ts";
export type { BackoffLimits } from "./backoff.ts";
export { KEY_PREFIX } from "./store_keys.ts";
