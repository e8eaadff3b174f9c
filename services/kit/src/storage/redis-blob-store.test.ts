import { createHash, randomBytes, randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DataLossError } from "../errors/index.js";
import { type RedisServer, startRedisServer } from "../testing/redis-server.js";
import { describeBlobStoreContract } from "./blob-store.contract.js";
import { RedisBlobStore } from "./redis-blob-store.js";

let server: RedisServer;
let redis: Redis;
beforeAll(async () => {
  server = await startRedisServer();
  redis = new Redis(server.url);
});
afterAll(async () => {
  await redis?.quit();
  await server?.stop();
});

/** Every key under `prefix`, by SCAN (what a put leaves behind, finished or not). */
async function keysUnder(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of redis.scanStream({ match: `${prefix}*`, count: 1000 }))
    keys.push(...(batch as string[]));
  return keys.sort();
}

// Small chunks so that every test's blobs span many Redis values.
describeBlobStoreContract("RedisBlobStore", async () => {
  const keyPrefix = `t:${randomUUID()}:`;
  return {
    store: new RedisBlobStore({ redis, keyPrefix, chunkBytes: 16 * 1024 }),
    stored: () => keysUnder(keyPrefix),
    cleanup: async () => {},
  };
});

describe("RedisBlobStore.putFile with a known digest", () => {
  it("checks it, as it reads the file anyway: another sha256 stores nothing", async () => {
    const keyPrefix = `t:${randomUUID()}:`;
    const store = new RedisBlobStore({ redis, keyPrefix, chunkBytes: 16 * 1024 });
    const dir = await mkdtemp(join(tmpdir(), "seam-redis-putfile-"));
    try {
      const data = randomBytes(40_000);
      const path = join(dir, "a.bin");
      await writeFile(path, data);
      const other = createHash("sha256").update("something else").digest("hex");
      await expect(store.putFile(path, { known: { sha256: other, size: data.length } })).rejects.toThrow(
        DataLossError,
      );
      expect(await keysUnder(keyPrefix)).toEqual([]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
