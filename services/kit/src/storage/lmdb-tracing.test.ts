import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type InMemoryTracing, startInMemoryTracing } from "../testing/in-memory-tracing.js";
import { LmdbMetaStore } from "./lmdb-meta-store.js";

const exporter = new InMemorySpanExporter();
let tracing: InMemoryTracing;
let dir: string;
let store: LmdbMetaStore;

beforeAll(async () => {
  tracing = startInMemoryTracing(exporter);
  dir = await mkdtemp(join(tmpdir(), "seam-lmdb-trace-"));
  store = new LmdbMetaStore(dir);
});
afterAll(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
  tracing.stop();
});

it("wraps LMDB operations in client spans describing the call, never the values", async () => {
  const secret = "s3cr3t-value";
  await store.commit({ puts: [{ key: "models/a", value: Buffer.from(secret) }], deletes: ["models/b"] });
  await store.get("models/a");
  await store.getMany(["models/a", "models/c"]);
  await store.list({ prefix: "models/", limit: 5 });
  await expect(store.commit({ puts: [{ key: "", value: Buffer.from("x") }] })).rejects.toThrow();

  const spans = exporter.getFinishedSpans();
  expect(spans.map((s) => s.name)).toEqual(["lmdb commit", "lmdb get", "lmdb getMany", "lmdb list"]);
  for (const span of spans) {
    expect(span.attributes["db.system"]).toBe("lmdb");
    expect(span.instrumentationScope.name).toBe("seam-kit-storage");
    expect(JSON.stringify(span.attributes)).not.toContain(secret);
  }
  const [commit, , getMany, list] = spans;
  expect(commit?.attributes).toMatchObject({ "db.put_count": 1, "db.delete_count": 1, "db.check_count": 0 });
  expect(getMany?.attributes["db.key_count"]).toBe(2);
  expect(list?.attributes["db.key_prefix"]).toBe("models/");
});
