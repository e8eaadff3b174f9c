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

  it("reads 100 entities in one round trip: one socket write, one script running one HMGET per distinct entity", async () => {
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
    // The first call loads the script (EVALSHA answers NOSCRIPT, EVAL follows); later ones do not.
    await store.read(reads);

    await admin.config("RESETSTAT");
    const writes = vi.spyOn(redis.stream, "write");
    const results = await store.read(reads);
    expect(writes).toHaveBeenCalledTimes(1);
    writes.mockRestore();
    const stats = commandStats(await admin.info("commandstats"));

    expect(results[0]).toEqual({ eventTime: 0, values: ["a0", null] });
    expect(results[199]).toEqual({ eventTime: 99, values: ["b99"] });
    expect(results[200]).toEqual({ eventTime: 5, values: ["a5"] });
    expect(stats.get("evalsha")).toBe(1);
    expect(stats.get("hmget")).toBe(100);
    // Nothing else reached the server but the admin connection's own CONFIG RESETSTAT.
    expect(
      [...stats.keys()].filter(
        (command) => command !== "evalsha" && command !== "hmget" && command !== "config|resetstat",
      ),
    ).toEqual([]);
  });

  it("sends each distinct field list once, however many entities read it", async () => {
    await admin.flushdb();
    const store = new RedisOnlineStore({ redis, keyPrefix: "lists:" });
    await store.write([
      { entityKey: "e1", group: "a", eventTime: 1, values: [["f", "a1"]] },
      { entityKey: "e2", group: "a", eventTime: 2, values: [["f", "a2"]] },
      { entityKey: "e3", group: "b", eventTime: 3, values: [["f", "b3"]] },
    ]);
    const fieldsA = ["f"];
    const sent = vi.spyOn(redis, "sendCommand");
    // e1 and e2 share one list by identity; e3's list is new; e4 repeats e1's by content.
    const results = await store.read([
      { entityKey: "e1", group: "a", fields: fieldsA },
      { entityKey: "e2", group: "a", fields: fieldsA },
      { entityKey: "e3", group: "b", fields: ["f"] },
      { entityKey: "e4", group: "a", fields: ["f"] },
    ]);
    const [lastCommand] = sent.mock.calls.at(-1) ?? [];
    const args = (lastCommand as { args: unknown[] } | undefined)?.args.map(String) ?? [];
    sent.mockRestore();
    expect(results).toEqual([
      { eventTime: 1, values: ["a1"] },
      { eventTime: 2, values: ["a2"] },
      { eventTime: 3, values: ["b3"] },
      undefined,
    ]);
    // sha, 4 keys, 2 lists of 2 fields each, then each key's list.
    expect(args.slice(1)).toEqual([
      "4",
      "lists:{e1}",
      "lists:{e2}",
      "lists:{e3}",
      "lists:{e4}",
      "2",
      "2",
      "a#ts",
      "a:f",
      "2",
      "b#ts",
      "b:f",
      "1",
      "1",
      "2",
      "1",
    ]);
  });

  it("still reads after the server forgot its scripts (SCRIPT FLUSH)", async () => {
    await admin.flushdb();
    const store = new RedisOnlineStore({ redis, keyPrefix: "flush:" });
    await store.write([
      { entityKey: "e1", group: "g", eventTime: 1, values: [["f", "1"]] },
      { entityKey: "e2", group: "g", eventTime: 2, values: [["f", "2"]] },
    ]);
    const reads: OnlineRead[] = [
      { entityKey: "e1", group: "g", fields: ["f"] },
      { entityKey: "e2", group: "g", fields: ["f"] },
    ];
    await store.read(reads);
    await admin.script("FLUSH");
    expect(await store.read(reads)).toEqual([
      { eventTime: 1, values: ["1"] },
      { eventTime: 2, values: ["2"] },
    ]);
  });

  it("reads entities with more fields than a script call can pass through a pipeline instead", async () => {
    await admin.flushdb();
    const store = new RedisOnlineStore({ redis, keyPrefix: "wide:" });
    const fields = Array.from({ length: 4500 }, (_, i) => `f${i}`);
    await store.write(
      ["e1", "e2"].map((entityKey, k) => ({
        entityKey,
        group: "g",
        eventTime: k,
        values: fields.map((f): [string, string] => [f, `${entityKey}-${f}`]),
      })),
    );
    await admin.config("RESETSTAT");
    const results = await store.read([
      { entityKey: "e1", group: "g", fields },
      { entityKey: "e2", group: "g", fields },
    ]);
    const stats = commandStats(await admin.info("commandstats"));
    expect(results.map((r) => r?.values)).toEqual(
      ["e1", "e2"].map((entityKey) => fields.map((f) => `${entityKey}-${f}`)),
    );
    expect(stats.get("hmget")).toBe(2);
    expect(stats.has("evalsha")).toBe(false);
  });

  it("reads over 1000 entities through a pipeline, so no script holds the server long", async () => {
    await admin.flushdb();
    const store = new RedisOnlineStore({ redis, keyPrefix: "many:" });
    const keys = Array.from({ length: 1001 }, (_, i) => `e${i}`);
    await store.write(
      keys.map((entityKey, i) => ({ entityKey, group: "g", eventTime: i, values: [["f", entityKey]] })),
    );
    await admin.config("RESETSTAT");
    const results = await store.read(keys.map((entityKey) => ({ entityKey, group: "g", fields: ["f"] })));
    const stats = commandStats(await admin.info("commandstats"));
    expect(results.map((r) => r?.values[0])).toEqual(keys);
    expect(stats.get("hmget")).toBe(1001);
    expect(stats.has("evalsha")).toBe(false);
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
