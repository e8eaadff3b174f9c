import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, startRedisServer } from "../testing/redis-server.js";
import { describeMetaStoreContract } from "./meta-store.contract.js";
import { RedisMetaStore } from "./redis-meta-store.js";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

// Each test gets its own key prefix on the shared server; a replica is a second connection.
describeMetaStoreContract("RedisMetaStore", async () => {
  const keyPrefix = `t:${randomUUID()}:`;
  const connections = [new Redis(server.url)];
  return {
    store: new RedisMetaStore({ redis: connections[0] as Redis, keyPrefix }),
    async openReplica() {
      const redis = new Redis(server.url);
      connections.push(redis);
      return new RedisMetaStore({ redis, keyPrefix });
    },
    async cleanup() {
      for (const redis of connections) await redis.quit();
    },
  };
});

describe("RedisMetaStore layout", () => {
  it("keeps every key under the configured prefix", async () => {
    const redis = new Redis(server.url);
    try {
      const store = new RedisMetaStore({ redis, keyPrefix: "layout:" });
      await store.commit({ puts: [{ key: "a/b", value: Buffer.from("1") }] });
      await store.commit({ puts: [{ key: "c", value: Buffer.from("2") }], deletes: ["a/b"] });
      expect((await redis.keys("*")).filter((k) => !k.startsWith("t:")).sort()).toEqual([
        "layout:index",
        "layout:k:c",
      ]);
      expect(await redis.zrange("layout:index", 0, -1)).toEqual(["c"]);
    } finally {
      await redis.quit();
    }
  });
});
