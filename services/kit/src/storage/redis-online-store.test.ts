import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type RedisServer, startRedisServer } from "../testing/redis-server.js";
import { describeOnlineStoreContract } from "./online-store.contract.js";
import type { OnlineRead } from "./ports.js";
import { RedisOnlineStore } from "./redis-online-store.js";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

// Each test gets its own key prefix on the shared server; a replica is a second connection.
describeOnlineStoreContract("RedisOnlineStore", async () => {
  const keyPrefix = `t:${randomUUID()}:`;
  const connections = [new Redis(server.url)];
  return {
    store: new RedisOnlineStore({ redis: connections[0] as Redis, keyPrefix }),
    async openReplica() {
      const redis = new Redis(server.url);
      connections.push(redis);
      return new RedisOnlineStore({ redis, keyPrefix });
    },
    async cleanup() {
      for (const redis of connections) await redis.quit();
    },
  };
});

describe("RedisOnlineStore layout and round trips", () => {
  let redis: Redis;
  let admin: Redis;
  beforeAll(async () => {
    redis = new Redis(server.url);
    admin = new Redis(server.url);
    await admin.ping();
  });
  afterAll(async () => {
    await redis?.quit();
    await admin?.quit();
  });

  it("keeps one hash per entity, `seam:online:{<entity>}`, with `<group>:<field>` and `<group>#ts` fields", async () => {
    await admin.flushdb();
    const store = new RedisOnlineStore({ redis });
    await store.write([
      {
        entityKey: "user_id=42",
        group: "g1",
        eventTime: 100,
        values: [
          ["f", "1"],
          ["h", "x"],
        ],
      },
      { entityKey: "user_id=42", group: "g2", eventTime: 1_700_000_000_000, values: [["f", "2"]] },
      { entityKey: "user_id=42", group: "g1", eventTime: 101, values: [["h", null]] },
    ]);
    expect(await admin.keys("*")).toEqual(["seam:online:{user_id=42}"]);
    expect(await admin.type("seam:online:{user_id=42}")).toBe("hash");
    expect(await admin.hgetall("seam:online:{user_id=42}")).toEqual({
      "g1:f": "1",
      "g1#ts": "101",
      "g2:f": "2",
      "g2#ts": "1700000000000",
    });
  });

  it("reads 100 entities in one round trip: one socket write, one HMGET per distinct entity", async () => {
    await admin.flushdb();
    const store = new RedisOnlineStore({ redis, keyPrefix: "rt:" });
    const entities = Array.from({ length: 100 }, (_, i) => `user_id=${i}`);
    await store.write(
      entities.flatMap((entityKey, i) => [
        { entityKey, group: "a", eventTime: i, values: [["f", `a${i}`] as const] },
        { entityKey, group: "b", eventTime: i, values: [["f", `b${i}`] as const] },
      ]),
    );
    // Two groups per entity, some entities asked twice, one entity never written.
    const reads: OnlineRead[] = entities.flatMap((entityKey) => [
      { entityKey, group: "a", fields: ["f", "g"] },
      { entityKey, group: "b", fields: ["f"] },
    ]);
    reads.push({ entityKey: "user_id=5", group: "a", fields: ["f"] });

    await admin.config("RESETSTAT");
    const writes = vi.spyOn(redis.stream, "write");
    const results = await store.read(reads);
    expect(writes).toHaveBeenCalledTimes(1);
    writes.mockRestore();
    const stats = commandStats(await admin.info("commandstats"));

    expect(results[0]).toEqual({ eventTime: 0, values: ["a0", null] });
    expect(results[199]).toEqual({ eventTime: 99, values: ["b99"] });
    expect(results[200]).toEqual({ eventTime: 5, values: ["a5"] });
    expect(stats.get("hmget")).toBe(100);
    // Nothing else reached the server but the admin connection's own CONFIG RESETSTAT.
    expect(
      [...stats.keys()].filter((command) => command !== "hmget" && command !== "config|resetstat"),
    ).toEqual([]);
  });
});

/** Calls per command from `INFO commandstats` (`cmdstat_hmget:calls=100,…`). */
function commandStats(info: string): Map<string, number> {
  const stats = new Map<string, number>();
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    stats.set(match[1] as string, Number(match[2]));
  }
  return stats;
}
