import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { open } from "lmdb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type InMemoryTracing, startInMemoryTracing } from "../testing/in-memory-tracing.js";
import { LmdbOnlineStore } from "./lmdb-online-store.js";
import { describeOnlineStoreContract } from "./online-store.contract.js";
import type { OnlineStore } from "./ports.js";

describeOnlineStoreContract("LmdbOnlineStore", async () => {
  const dir = await mkdtemp(join(tmpdir(), "seam-lmdb-online-"));
  const opened: OnlineStore[] = [new LmdbOnlineStore(dir)];
  return {
    store: opened[0] as OnlineStore,
    async openReplica() {
      const replica = new LmdbOnlineStore(dir);
      opened.push(replica);
      return replica;
    },
    async cleanup() {
      for (const store of opened) await store.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describe("LmdbOnlineStore", () => {
  const exporter = new InMemorySpanExporter();
  let tracing: InMemoryTracing;
  let dir: string;
  beforeAll(async () => {
    tracing = startInMemoryTracing(exporter);
    dir = await mkdtemp(join(tmpdir(), "seam-lmdb-online-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
    tracing.stop();
  });

  it("keeps one entry per (entity, group): key `entity NUL group`, value JSON [eventTime, fields]", async () => {
    const store = new LmdbOnlineStore(dir);
    await store.write([
      { entityKey: "user_id=42", group: "g1", eventTime: 100, values: [["f", "1"]] },
      {
        entityKey: "user_id=42",
        group: "g2",
        eventTime: 7,
        values: [
          ["f", "2"],
          ["gone", null],
        ],
      },
    ]);
    await store.close();
    const raw = open<Buffer, Buffer>({ path: dir, encoding: "binary", keyEncoding: "binary" });
    try {
      const entries = [...raw.getRange()].map(({ key, value }) => [key.toString(), value.toString()]);
      expect(entries).toEqual([
        ["user_id=42\0g1", '[100,{"f":"1"}]'],
        ["user_id=42\0g2", '[7,{"f":"2"}]'],
      ]);
    } finally {
      await raw.close();
    }
  });

  it("wraps writes and reads in client spans describing the call, never the values", async () => {
    const store = new LmdbOnlineStore(dir);
    const secret = "s3cr3t-feature";
    exporter.reset();
    await store.write([{ entityKey: "user_id=1", group: "g", eventTime: 1, values: [["f", secret]] }]);
    await store.read([
      { entityKey: "user_id=1", group: "g", fields: ["f"] },
      { entityKey: "user_id=2", group: "g", fields: ["f"] },
    ]);
    await store.close();
    const spans = exporter.getFinishedSpans();
    expect(spans.map((s) => s.name)).toEqual(["lmdb write", "lmdb read"]);
    for (const span of spans) {
      expect(span.attributes["db.system"]).toBe("lmdb");
      expect(JSON.stringify(span.attributes)).not.toContain(secret);
    }
    expect(spans[0]?.attributes["db.record_count"]).toBe(1);
    expect(spans[1]?.attributes["db.read_count"]).toBe(2);
  });
});
