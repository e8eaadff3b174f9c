import { join, resolve } from "node:path";
import { connectRedis, quitRedis } from "./internal/redis-connect.js";
import { SharedInstances } from "./internal/shared-instances.js";
import { LmdbMetaStore } from "./lmdb-meta-store.js";
import { LocalBlobStore } from "./local-blob-store.js";
import { MemoryEventBus } from "./memory-event-bus.js";
import type { MetaStore, Stores } from "./ports.js";
import { RedisBlobStore } from "./redis-blob-store.js";
import { RedisEventBus } from "./redis-event-bus.js";
import { RedisMetaStore } from "./redis-meta-store.js";
import { scopeMetaStore } from "./scope-meta-store.js";

/** Options of {@link openStores}. */
export interface OpenStoresOptions {
  /** Directory of the embedded stores: LMDB in `<dataDir>/meta`, blobs in `<dataDir>/blobs`. */
  readonly dataDir: string;
  /** When set, all three ports use this Redis (`redis://…`) instead and `dataDir` is unused. */
  readonly redisUrl?: string;
  /** Scopes the meta store to this namespace (see {@link scopeMetaStore}); blobs and events stay shared. */
  readonly namespace?: string;
  /** Prefix of every Redis key and channel (default `"seam:"`), to share one Redis between deployments. */
  readonly redisKeyPrefix?: string;
}

/**
 * Opens the ports a process runs on: embedded (LMDB, local directory, in-process bus)
 * unless `redisUrl` is given, then Redis for all three. Fails fast when Redis is unreachable.
 *
 * Embedded stores opened on the same `dataDir` in one process are shared (reference
 * counted), so services hosted together see each other's events; only the last
 * `close()` closes them. `close()` of Redis stores quits their connections.
 */
export async function openStores(options: OpenStoresOptions): Promise<Stores> {
  const scope = (meta: MetaStore): MetaStore =>
    options.namespace === undefined ? meta : scopeMetaStore(meta, options.namespace);
  return options.redisUrl === undefined
    ? openEmbedded(resolve(options.dataDir), scope)
    : openRedis(options.redisUrl, options.redisKeyPrefix ?? "seam:", scope);
}

interface Embedded {
  readonly meta: LmdbMetaStore;
  readonly blobs: LocalBlobStore;
  readonly events: MemoryEventBus;
}

const embedded = new SharedInstances<Embedded>(
  (dataDir) => ({
    meta: new LmdbMetaStore(join(dataDir, "meta")),
    blobs: new LocalBlobStore(join(dataDir, "blobs")),
    events: new MemoryEventBus(),
  }),
  async (held) => {
    await held.events.close();
    await held.blobs.close();
    await held.meta.close();
  },
);

function openEmbedded(dataDir: string, scope: (meta: MetaStore) => MetaStore): Stores {
  const { value: held, release } = embedded.acquire(dataDir);
  return {
    kind: "embedded",
    meta: scope(held.meta),
    blobs: held.blobs,
    events: held.events,
    close: release,
  };
}

async function openRedis(
  url: string,
  keyPrefix: string,
  scope: (meta: MetaStore) => MetaStore,
): Promise<Stores> {
  const redis = await connectRedis(url);
  const meta = new RedisMetaStore({ redis, keyPrefix: `${keyPrefix}meta:` });
  const blobs = new RedisBlobStore({ redis, keyPrefix });
  const events = new RedisEventBus({ redis, keyPrefix });
  let closed = false;
  return {
    kind: "redis",
    meta: scope(meta),
    blobs,
    events,
    async close() {
      if (closed) return;
      closed = true;
      await events.close();
      await blobs.close();
      await meta.close();
      await quitRedis(redis);
    },
  };
}
