import { join, resolve } from "node:path";
import { connectRedis, quitRedis } from "./internal/redis-connect.js";
import { SharedInstances } from "./internal/shared-instances.js";
import { LmdbOnlineStore } from "./lmdb-online-store.js";
import type { OnlineStore } from "./ports.js";
import { RedisOnlineStore } from "./redis-online-store.js";

/** Options of {@link openOnlineStore}. */
export interface OpenOnlineStoreOptions {
  /** Directory of the embedded store: LMDB in `<dataDir>/online`. */
  readonly dataDir: string;
  /** When set, the store uses this Redis (`redis://…`) instead and `dataDir` is unused. */
  readonly redisUrl?: string;
  /** Prefix of every Redis key (default `"seam:"`); the store's keys are `<prefix>online:{<entity>}`. */
  readonly redisKeyPrefix?: string;
}

/**
 * Opens the online feature store a process serves from: embedded LMDB in
 * `<dataDir>/online` unless `redisUrl` is given, then Redis on a connection of its own.
 * Fails fast (with a readable error, password redacted) when Redis is unreachable.
 *
 * Embedded stores opened on the same `dataDir` in one process are one instance (reference
 * counted), as {@link openStores} does for the other ports; only the last `close()` closes
 * it. `close()` of a Redis store quits its connection. `close()` is idempotent.
 */
export async function openOnlineStore(
  options: OpenOnlineStoreOptions,
): Promise<OnlineStore & { readonly kind: "embedded" | "redis" }> {
  return options.redisUrl === undefined
    ? openEmbedded(resolve(options.dataDir))
    : openRedis(options.redisUrl, `${options.redisKeyPrefix ?? "seam:"}online:`);
}

const embedded = new SharedInstances<LmdbOnlineStore>(
  (dataDir) => new LmdbOnlineStore(join(dataDir, "online")),
  (store) => store.close(),
);

function openEmbedded(dataDir: string): OnlineStore & { readonly kind: "embedded" } {
  const { value: store, release } = embedded.acquire(dataDir);
  return {
    kind: "embedded",
    write: (records) => store.write(records),
    read: (reads) => store.read(reads),
    close: release,
  };
}

async function openRedis(url: string, keyPrefix: string): Promise<OnlineStore & { readonly kind: "redis" }> {
  const redis = await connectRedis(url);
  const store = new RedisOnlineStore({ redis, keyPrefix });
  let closed = false;
  return {
    kind: "redis",
    write: (records) => store.write(records),
    read: (reads) => store.read(reads),
    async close() {
      if (closed) return;
      closed = true;
      await store.close();
      await quitRedis(redis);
    },
  };
}
