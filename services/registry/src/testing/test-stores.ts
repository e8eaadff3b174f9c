import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStores, type Stores } from "@seam/kit/storage";
import { startRedisServer } from "@seam/kit/testing";

/** Which adapters a test runs on. */
export type StoreKind = "embedded" | "redis";

/** A storage backend for one test: open stores on it (several for "replicas"), then stop it. */
export interface TestBackend {
  open(): Promise<Stores>;
  stop(): Promise<void>;
}

/**
 * Starts a fresh backend: LMDB and a blob directory in a new temp dir, or a private
 * redis-server (each `open()` then has its own connections, like another process).
 */
export async function startTestBackend(kind: StoreKind): Promise<TestBackend> {
  const dataDir = await mkdtemp(join(tmpdir(), "seam-registry-"));
  const redis = kind === "redis" ? await startRedisServer() : undefined;
  return {
    open: () => openStores({ dataDir, ...(redis === undefined ? {} : { redisUrl: redis.url }) }),
    async stop() {
      await redis?.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Opens fresh stores of one kind; their `close()` also removes the backend. */
export async function openTestStores(kind: StoreKind): Promise<Stores> {
  const backend = await startTestBackend(kind);
  const stores = await backend.open();
  return {
    kind: stores.kind,
    meta: stores.meta,
    blobs: stores.blobs,
    events: stores.events,
    async close() {
      await stores.close();
      await backend.stop();
    },
  };
}
