import { mkdtemp, readdir, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type RedisServer, startRedisServer } from "../testing/redis-server.js";
import { openStores } from "./open-stores.js";
import type { Stores } from "./ports.js";

let dataDir: string;
beforeEach(async () => {
  dataDir = await mkdtemp(join(tmpdir(), "seam-stores-"));
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

const text = (b: Uint8Array | undefined) => (b === undefined ? undefined : Buffer.from(b).toString());

async function firstEvent(
  stores: Stores,
  topic: string,
  signal: AbortSignal,
): Promise<() => Promise<string>> {
  const iterator = (await stores.events.subscribe(topic, signal))[Symbol.asyncIterator]();
  return async () => text((await iterator.next()).value) ?? "(ended)";
}

/** Two "services" on the same backend: namespaced meta, shared blobs and events. */
async function checkSharing(a: Stores, b: Stores): Promise<void> {
  await a.meta.commit({ puts: [{ key: "k", value: Buffer.from("from a") }] });
  await b.meta.commit({ puts: [{ key: "k", value: Buffer.from("from b") }] });
  expect(text(await a.meta.get("k"))).toBe("from a");
  expect((await b.meta.list({ prefix: "" })).map((e) => text(e.value))).toEqual(["from b"]);

  const info = await a.blobs.put([Buffer.from("artifact")]);
  expect(await b.blobs.stat(info.sha256)).toEqual(info);

  const controller = new AbortController();
  const next = await firstEvent(b, "alias", controller.signal);
  await a.events.publish("alias", Buffer.from("champion"));
  expect(await next()).toBe("champion");
  controller.abort();
}

describe("openStores, embedded", () => {
  it("puts LMDB in <dataDir>/meta and blobs in <dataDir>/blobs", async () => {
    const stores = await openStores({ dataDir });
    expect(stores.kind).toBe("embedded");
    await stores.meta.commit({ puts: [{ key: "k", value: Buffer.from("v") }] });
    await stores.blobs.put([Buffer.from("x")]);
    expect((await readdir(dataDir)).sort()).toEqual(["blobs", "meta"]);
    expect(await readdir(join(dataDir, "meta"))).toContain("data.mdb");
    expect(await readdir(join(dataDir, "blobs"))).toContain("sha256");
    await stores.close();
    await stores.close(); // idempotent
  });

  it("shares the backend between stores opened on one dataDir in one process, until the last closes", async () => {
    const a = await openStores({ dataDir, namespace: "registry" });
    const b = await openStores({ dataDir, namespace: "inference" });
    await checkSharing(a, b);
    await a.close();
    expect(text(await b.meta.get("k"))).toBe("from b");
    await b.close();
    const again = await openStores({ dataDir });
    expect((await again.meta.list({ prefix: "" })).map((e) => e.key)).toEqual(["inference/k", "registry/k"]);
    await again.close();
  });
});

describe("openStores, redis", () => {
  let server: RedisServer;
  beforeAll(async () => {
    server = await startRedisServer();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("uses Redis for all three ports, shared between processes, and quits its connections on close", async () => {
    const admin = new Redis(server.url);
    const clients = async () => ((await admin.client("LIST")) as string).trim().split("\n").length;
    const baseline = await clients();
    const a = await openStores({ dataDir, redisUrl: server.url, namespace: "registry" });
    const b = await openStores({ dataDir, redisUrl: server.url, namespace: "inference" });
    expect(a.kind).toBe("redis");
    await checkSharing(a, b);
    expect(await readdir(dataDir)).toEqual([]); // nothing embedded was opened
    expect((await admin.keys("seam:*")).some((k) => k.startsWith("seam:meta:k:registry/"))).toBe(true);
    await a.close();
    await b.close();
    for (let i = 0; i < 100 && (await clients()) > baseline; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await clients()).toBe(baseline);
    await admin.quit();
  });

  it("fails fast when Redis is unreachable", async () => {
    const probe = createServer();
    const port = await new Promise<number>((resolve) =>
      probe.listen(0, "127.0.0.1", () => resolve((probe.address() as { port: number }).port)),
    );
    await new Promise((r) => probe.close(r));
    await expect(openStores({ dataDir, redisUrl: `redis://:hunter2@127.0.0.1:${port}` })).rejects.toThrow(
      /cannot connect to Redis at redis:\/\/:\*\*\*@127\.0\.0\.1/,
    );
  });
});
