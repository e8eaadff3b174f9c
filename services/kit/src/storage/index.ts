export { LmdbMetaStore } from "./lmdb-meta-store.js";
export { LmdbOnlineStore } from "./lmdb-online-store.js";
export { LocalBlobStore } from "./local-blob-store.js";
export { type EventBusOptions, MemoryEventBus } from "./memory-event-bus.js";
export { type OpenOnlineStoreOptions, openOnlineStore } from "./open-online-store.js";
export { type OpenStoresOptions, openStores } from "./open-stores.js";
export type {
  BlobInfo,
  BlobPutFileOptions,
  BlobPutOptions,
  BlobStore,
  EventBus,
  MetaCommit,
  MetaEntry,
  MetaRange,
  MetaStore,
  OnlineRead,
  OnlineReadResult,
  OnlineRecord,
  OnlineStore,
  Stores,
} from "./ports.js";
export { RedisBlobStore, type RedisBlobStoreOptions } from "./redis-blob-store.js";
export { RedisEventBus, type RedisEventBusOptions } from "./redis-event-bus.js";
export { RedisMetaStore, type RedisMetaStoreOptions } from "./redis-meta-store.js";
export { RedisOnlineStore, type RedisOnlineStoreOptions } from "./redis-online-store.js";
export { scanPrefix } from "./scan.js";
export { scopeMetaStore } from "./scope-meta-store.js";
export {
  type CommitAttempt,
  commitWithRetry,
  type UpdateOptions,
  type UpdatePlan,
  updateWithRetry,
} from "./update-with-retry.js";
