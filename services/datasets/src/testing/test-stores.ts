import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStores, type Stores } from "@seam/kit/storage";
import { startRedisServer } from "@seam/kit/testing";

/** Which adapters a test runs on. */
export type StoreKind = "embedded" | "redis";

/** A storage backend for one test: open stores on it (several for "replicas"), then stop it. */
export interface TestBackend {
  /** The backend's data directory (LMDB and blobs live under it when embedded). */
  readonly dataDir: string;
  /** A fresh directory for upload temp files (tests assert it ends up empty). */
  readonly tmpDir: string;
  open(): Promise<Stores>;
  stop(): Promise<void>;
}

/**
 * Starts a fresh backend: LMDB and a blob directory in a new temp dir, or a private
 * redis-server (each `open()` then has its own connections, like another process).
 */
export async function startTestBackend(kind: StoreKind): Promise<TestBackend> {
  const dataDir = await mkdtemp(join(tmpdir(), "seam-datasets-"));
  const redis = kind === "redis" ? await startRedisServer() : undefined;
  return {
    dataDir,
    tmpDir: join(dataDir, "tmp", "datasets"),
    open: () => openStores({ dataDir, ...(redis === undefined ? {} : { redisUrl: redis.url }) }),
    async stop() {
      await redis?.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Stores of one kind with the directories a test checks for leftovers. */
export interface TestStores extends Stores {
  /** Upload temp files go here. */
  readonly tmpDir: string;
  /** The backend's data directory (the embedded blob store keeps its temp files in blobs/tmp). */
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
    tmpDir: backend.tmpDir,
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
