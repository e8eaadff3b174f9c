import { mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import { type RedisServer, startRedisServer } from "../testing/redis-server.js";
import { LmdbOnlineStore } from "./lmdb-online-store.js";
import { openOnlineStore } from "./open-online-store.js";
import type { OnlineRecord } from "./ports.js";

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "seam-online-"));
});
afterEach(async () => {
  vi.restoreAllMocks();
  await rm(dataDir, { recursive: true, force: true });
});

const row = (value: string, eventTime = 1): OnlineRecord => ({
  entityKey: "user_id=42",
  group: "g",
  eventTime,
  values: [["f", value]],
});
const readF = { entityKey: "user_id=42", group: "g", fields: ["f"] };

describe("openOnlineStore, embedded", () => {
  it("puts LMDB in <dataDir>/online", async () => {
    const store = await openOnlineStore({ dataDir });
    expect(store.kind).toBe("embedded");
    expect(await store.write([row("v")])).toBe(1);
    expect(await readdir(dataDir)).toEqual(["online"]);
    expect(await readdir(join(dataDir, "online"))).toContain("data.mdb");
    await store.close();
    await store.close(); // idempotent
  });

  it("shares one instance per resolved dataDir in a process, closing it with the last close", async () => {
    const writes = vi.spyOn(LmdbOnlineStore.prototype, "write");
    const closes = vi.spyOn(LmdbOnlineStore.prototype, "close");
    const a = await openOnlineStore({ dataDir });
    const b = await openOnlineStore({ dataDir: join(dataDir, "x", "..") });
    await a.write([row("from a", 1)]);
    await b.write([row("from b", 2)]);
    expect(writes.mock.contexts[0]).toBe(writes.mock.contexts[1]);

    await a.close();
    await a.close(); // a second close of one handle must not release the other's reference
    expect(closes).not.toHaveBeenCalled();
    expect(await b.read([readF])).toEqual([{ eventTime: 2, values: ["from b"] }]);
    await b.close();
    expect(closes).toHaveBeenCalledTimes(1);

    const again = await openOnlineStore({ dataDir });
    await again.write([row("again", 3)]);
    expect(writes.mock.contexts[2]).not.toBe(writes.mock.contexts[0]);
    expect(await again.read([readF])).toEqual([{ eventTime: 3, values: ["again"] }]);
    await again.close();
  });
});

describe("openOnlineStore, redis", () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("uses its own connection and `<redisKeyPrefix>online:` keys, and quits the connection on close", async () => {
    const admin = new Redis(server.url);
    const clients = async () => ((await admin.client("LIST")) as string).trim().split("\n").length;
    const baseline = await clients();
    const a = await openOnlineStore({ dataDir, redisUrl: server.url });
    const b = await openOnlineStore({ dataDir, redisUrl: server.url, redisKeyPrefix: "deploy2:" });
    expect(a.kind).toBe("redis");
    expect(await clients()).toBe(baseline + 2);
    await a.write([row("a")]);
    await b.write([row("b")]);
    expect(await b.read([readF])).toEqual([{ eventTime: 1, values: ["b"] }]);
    expect((await admin.keys("*")).sort()).toEqual([
      "deploy2:online:{user_id=42}",
      "seam:online:{user_id=42}",
    ]);
    expect(await readdir(dataDir)).toEqual([]); // nothing embedded was opened
    await a.close();
    await a.close();
    await b.close();
    for (let i = 0; i < 100 && (await clients()) > baseline; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await clients()).toBe(baseline);
    await admin.quit();
  });

  it("fails fast with a readable error, password redacted, when Redis is unreachable", async () => {
    const probe = createServer();
    const port = await new Promise<number>((resolve) =>
      probe.listen(0, "127.0.0.1", () => resolve((probe.address() as { port: number }).port)),
    );
    await new Promise((r) => probe.close(r));
    const error = await openOnlineStore({ dataDir, redisUrl: `redis://:hunter2@127.0.0.1:${port}` }).catch(
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(
      /^cannot connect to Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+/,
    );
    expect((error as Error).message).not.toContain("hunter2");
  });
});
