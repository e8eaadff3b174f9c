import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RedisServer, startRedisServer } from "../testing/redis-server.js";
import { describeEventBusContract } from "./event-bus.contract.js";
import { RedisEventBus } from "./redis-event-bus.js";

let server: RedisServer;
beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await server?.stop();
});

// The peer has its own connections: it stands for another process.
describeEventBusContract("RedisEventBus", async () => {
  const keyPrefix = `t:${randomUUID()}:`;
  const a = new Redis(server.url);
  const b = new Redis(server.url);
  const bus = new RedisEventBus({ redis: a, keyPrefix });
  const peer = new RedisEventBus({ redis: b, keyPrefix });
  return {
    bus,
    peer,
    async cleanup() {
      await bus.close();
      await peer.close();
      await a.quit();
      await b.quit();
    },
  };
});

describe("RedisEventBus subscriptions", () => {
  it("shares one subscriber connection and unsubscribes when a topic's last subscriber leaves", async () => {
    const redis = new Redis(server.url);
    const bus = new RedisEventBus({ redis, keyPrefix: "subs:" });
    const channels = async () => (await redis.pubsub("CHANNELS", "subs:*")) as string[];
    const clients = async () => ((await redis.client("LIST")) as string).trim().split("\n").length;
    const before = await clients();
    const one = new AbortController();
    const two = new AbortController();
    await bus.subscribe("x", one.signal);
    await bus.subscribe("x", two.signal);
    await bus.subscribe("y", two.signal);
    expect((await channels()).sort()).toEqual(["subs:events:x", "subs:events:y"]);
    expect(await clients()).toBe(before + 1);
    one.abort();
    await sleep(50);
    expect((await channels()).sort()).toEqual(["subs:events:x", "subs:events:y"]);
    two.abort();
    for (let i = 0; i < 100 && (await channels()).length > 0; i++) await sleep(10);
    expect(await channels()).toEqual([]);
    await bus.close();
    for (let i = 0; i < 100 && (await clients()) > before; i++) await sleep(10);
    expect(await clients()).toBe(before);
    await redis.quit();
  });
});
