import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type OnlineStore, openOnlineStore, openStores, type Stores } from "../storage/index.js";
import { startRedisServer } from "./redis-server.js";

/** Which adapters a test runs on. */
export type StoreKind = "embedded" | "redis";

/** A storage backend for one test: open stores on it (several for "replicas"), then stop it. */
export interface TestBackend {
  /** The backend's data directory (LMDB and blobs live under it when embedded). */
  readonly dataDir: string;
  open(): Promise<Stores>;
  /** An online store on the same backend (LMDB under dataDir, or the same redis-server). */
  openOnline(): Promise<OnlineStore>;
  stop(): Promise<void>;
}

/**
 * Starts a fresh backend: LMDB and a blob directory in a new temp dir, or a private
 * redis-server (each `open()` then has its own connections, like another process).
 */
export async function startTestBackend(kind: StoreKind): Promise<TestBackend> {
  const dataDir = await mkdtemp(join(tmpdir(), "seam-test-"));
  const redis = kind === "redis" ? await startRedisServer() : undefined;
  const location = { dataDir, ...(redis === undefined ? {} : { redisUrl: redis.url }) };
  return {
    dataDir,
    open: () => openStores(location),
    openOnline: () => openOnlineStore(location),
    async stop() {
      await redis?.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Stores of one kind for one test, with the directory a test checks for leftovers. */
export interface TestStores extends Stores {
  /** The backend's data directory. */
  readonly dataDir: string;
}

/** Opens fresh stores of one kind; their `close()` also removes the backend. */
export async function openTestStores(kind: StoreKind): Promise<TestStores> {
  const backend = await startTestBackend(kind);
  const stores = await backend.open();
  return {
    kind: stores.kind,
    meta: stores.meta,
    blobs: stores.blobs,
    events: stores.events,
    dataDir: backend.dataDir,
    async close() {
      await stores.close();
      await backend.stop();
    },
  };
}

/** Files (recursively) under `dir`; empty when it does not exist. */
export async function filesUnder(dir: string): Promise<string[]> {
  try {
    const entries = await readdir(dir, { recursive: true, withFileTypes: true });
    return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}
