import type { Stores } from "@seam/kit/storage";
import { SourceFormat } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestDatasets, type DatasetsClient, FixedLineage, uploadStream } from "./testing/harness.js";
import { irisCsv } from "./testing/iris.js";
import { type StoreKind, startTestBackend, type TestBackend } from "./testing/test-stores.js";

// Two service instances ("replicas") over one backend: with Redis each has its own
// connections, as two processes would.
describe.each<StoreKind>(["embedded", "redis"])("two datasets replicas on %s stores", (kind) => {
  let backend: TestBackend;
  let storesA: Stores;
  let storesB: Stores;
  let a: DatasetsClient;
  let b: DatasetsClient;

  beforeAll(async () => {
    backend = await startTestBackend(kind);
    storesA = await backend.open();
    storesB = kind === "redis" ? await backend.open() : storesA;
    const common = { lineage: new FixedLineage(), tmpDir: backend.tmpDir };
    ({ client: a } = createTestDatasets({ meta: storesA.meta, blobs: storesA.blobs, ...common }));
    ({ client: b } = createTestDatasets({ meta: storesB.meta, blobs: storesB.blobs, ...common }));
  });

  afterAll(async () => {
    if (storesB !== storesA) await storesB?.close();
    await storesA?.close();
    await backend?.stop();
  });

  const upload = (client: DatasetsClient, dataset: string, csv: string) =>
    client.uploadDatasetVersion(
      uploadStream({ dataset, createDataset: true, format: SourceFormat.CSV }, csv, 2048),
    );

  it("keeps every one of 8 concurrent uploads of different content to one new dataset", async () => {
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => upload(i % 2 === 0 ? a : b, "race", irisCsv(100 + i))),
    );
    expect(results.every((r) => r.created)).toBe(true);
    const ids = results.map((r) => r.version?.id);
    expect(new Set(ids).size).toBe(8);
    const dataset = (await b.getDataset({ name: "race" })).dataset;
    expect(dataset?.versionCount).toBe(8n);
    const listed = await a.listDatasetVersions({ dataset: "race" });
    expect(listed.versions.map((v) => v.id).sort()).toEqual([...ids].sort());
    // The dataset's latest is the newest in the listing: commits and counters agree.
    expect(dataset?.latestVersion).toBe(listed.versions[0]?.id);
    for (const r of results) expect(await storesA.blobs.stat(r.version?.sha256 ?? "")).toBeDefined();
  });

  it("makes one version of 6 concurrent identical uploads", async () => {
    const csv = irisCsv(200);
    const results = await Promise.all(
      Array.from({ length: 6 }, (_, i) => upload(i % 2 === 0 ? a : b, "same", csv)),
    );
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.version?.id)).size).toBe(1);
    expect((await a.getDataset({ name: "same" })).dataset?.versionCount).toBe(1n);
    const sha = results[0]?.version?.sha256 ?? "";
    expect(await storesB.blobs.stat(sha)).toBeDefined();
    // Deleting the dataset releases the one blob all of them shared.
    await b.deleteDataset({ name: "same" });
    expect(await storesA.blobs.stat(sha)).toBeUndefined();
  });
});
