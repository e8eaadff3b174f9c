import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll } from "vitest";
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
