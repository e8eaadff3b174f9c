import { create } from "@bufbuild/protobuf";
import { FailedPreconditionError, NotFoundError } from "@seam/kit/errors";
import type { Stores } from "@seam/kit/storage";
import {
  ColumnType,
  SchemaSchema,
  SourceFormat,
  SplitsSchema,
} from "@seam/proto/seam/datasets/v1/datasets_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestStores, type StoreKind } from "../testing/test-stores.js";
import { DatasetStore, type NewVersion } from "./dataset-store.js";

describe.each<StoreKind>(["embedded", "redis"])("DatasetStore on %s stores", (kind) => {
  let stores: Stores;
  let store: DatasetStore;

  beforeAll(async () => {
    stores = await openTestStores(kind);
    store = new DatasetStore(stores.meta, stores.blobs);
  });

  afterAll(async () => {
    await stores?.close();
  });

  /** Stores `content` as a blob and describes a version of it. */
  async function newVersion(dataset: string, content: string, createDataset = true): Promise<NewVersion> {
    const blob = await stores.blobs.put([new TextEncoder().encode(content)]);
    return {
      dataset,
      createDataset,
      sha256: blob.sha256,
      byteSize: BigInt(blob.size),
      rowCount: 1n,
      schema: create(SchemaSchema, { columns: [{ name: "x", type: ColumnType.INT64 }] }),
      sourceFormat: SourceFormat.CSV,
      sourceBytes: 4n,
      parents: [],
      derivedBy: "",
      stats: [],
      splits: undefined,
      description: content,
      tags: {},
    };
  }

  const keysOf = async (dataset: string) =>
    (await store.allKeys()).filter((k) => k.includes(`/${dataset}/`) || k.endsWith(`/${dataset}`));

  it("adds versions with their indexes in one commit and dedupes identical content", async () => {
    await expect(store.addVersion(await newVersion("a", "one", false))).rejects.toThrow(NotFoundError);
    const first = await store.addVersion(await newVersion("a", "one"));
    expect(first.created).toBe(true);
    expect(first.version.ref).toBe(`a@${first.version.sha256.slice(0, 24)}`);
    const same = await store.addVersion(await newVersion("a", "one"));
    expect(same).toEqual({ version: first.version, created: false });
    const second = await store.addVersion(await newVersion("a", "two"));
    const third = await store.addVersion(await newVersion("a", "three"));
    expect(await store.getDataset("a")).toMatchObject({ latestVersion: third.version.id, versionCount: 3n });
    expect((await store.getVersion("a", "")).id).toBe(third.version.id);
    expect(await store.findVersion("a", second.version.sha256)).toEqual(second.version);
    expect(await store.findVersion("a", "f".repeat(64))).toBeUndefined();

    const page1 = await store.listVersions("a", 2, undefined);
    expect(page1.items.map((v) => v.description)).toEqual(["three", "two"]);
    const page2 = await store.listVersions("a", 2, page1.next);
    expect(page2.items.map((v) => v.description)).toEqual(["one"]);
    expect(page2.next).toBeUndefined();
    // 1 dataset record + 3 × (version record, id index entry, blob reference).
    expect(await keysOf("a")).toHaveLength(10);
  });

  it("records a split once: same spec a no-op, another refused", async () => {
    const { version } = await store.addVersion(await newVersion("s", "split me"));
    const splits = create(SplitsSchema, {
      spec: { seed: 1n, trainFraction: 1 },
      counts: { train: 1n },
    });
    const recorded = await store.setSplits("s", version.id, splits);
    expect(recorded.splits).toEqual(splits);
    expect(
      (await store.setSplits("s", "", create(SplitsSchema, { spec: { seed: 1n, trainFraction: 1 } }))).splits,
    ).toEqual(splits);
    await expect(
      store.setSplits("s", version.id, create(SplitsSchema, { spec: { seed: 2n, trainFraction: 1 } })),
    ).rejects.toThrow(FailedPreconditionError);
    expect((await store.getVersion("s", version.id)).splits).toEqual(splits);
  });

  it("deletes a dataset with every key and keeps blobs other datasets reference", async () => {
    const shared = await store.addVersion(await newVersion("d1", "shared"));
    const own = await store.addVersion(await newVersion("d1", "own"));
    await store.addVersion(await newVersion("d2", "shared"));
    const shas = await store.deleteDataset("d1");
    expect(shas.sort()).toEqual([shared.version.sha256, own.version.sha256].sort());
    expect(await keysOf("d1")).toEqual([]);
    await expect(store.getDataset("d1")).rejects.toThrow(NotFoundError);
    await expect(store.getVersion("d1", own.version.id)).rejects.toThrow(/not found/);

    expect(await store.releaseBlob(own.version.sha256)).toBe(true);
    expect(await store.releaseBlob(shared.version.sha256)).toBe(false);
    expect(await stores.blobs.stat(shared.version.sha256)).toBeDefined();
    await store.deleteDataset("d2");
    expect(await store.releaseBlob(shared.version.sha256)).toBe(true);
    expect(await stores.blobs.stat(shared.version.sha256)).toBeUndefined();
  });
});
