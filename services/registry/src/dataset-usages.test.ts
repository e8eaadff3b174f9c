import { Code } from "@connectrpc/connect";
import type { Stores } from "@seam/kit/storage";
import { failure, openTestStores, type StoreKind } from "@seam/kit/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDatasetQuery, splitDatasetVersion } from "./dataset-usages.js";
import { createTestRegistry, type RegistryClient, uploadStream } from "./testing/harness.js";
import { buildLinearModel } from "./testing/onnx-models.js";

const ID_A = "a".repeat(24);
const ID_B = "b".repeat(24);

describe("dataset version references", () => {
  it("splits at the first @; a value without @ is a dataset name", () => {
    expect(splitDatasetVersion(`iris@${ID_A}`)).toEqual({ dataset: "iris", id: ID_A });
    expect(splitDatasetVersion("iris")).toEqual({ dataset: "iris", id: undefined });
    expect(splitDatasetVersion("iris@a@b")).toEqual({ dataset: "iris", id: "a@b" });
  });

  it("accepts a dataset name or name@id in queries and nothing else", () => {
    expect(parseDatasetQuery("iris")).toEqual({ dataset: "iris", id: undefined });
    expect(parseDatasetQuery(`iris@${ID_A}`)).toEqual({ dataset: "iris", id: ID_A });
    for (const bad of [
      "",
      "@x",
      "iris@",
      "a/b",
      "a b",
      "-iris",
      "iris@a\u0000b",
      `iris@${"x".repeat(1025)}`,
    ]) {
      expect(() => parseDatasetQuery(bad), bad).toThrow(/dataset/);
    }
  });
});

describe.each<StoreKind>(["embedded", "redis"])("ListDatasetUsages on %s stores", (kind) => {
  let stores: Stores;
  let client: RegistryClient;
  const artifact = buildLinearModel();

  beforeAll(async () => {
    stores = await openTestStores(kind);
    ({ client } = createTestRegistry({ meta: stores.meta, blobs: stores.blobs, events: stores.events }));
  });

  afterAll(async () => {
    await stores?.close();
  });

  /** Uploads a version of `model` whose lineage names `datasetVersion`; returns its number. */
  async function upload(model: string, datasetVersion: string): Promise<bigint> {
    const { version } = await client.uploadModelVersion(
      uploadStream({ modelName: model, createModel: true, lineage: { datasetVersion } }, artifact),
    );
    if (version === undefined) throw new Error("no version in the response");
    return version.version;
  }

  /** Every usage of `dataset` as "model:version=dataset_version", following page tokens. */
  async function usages(dataset: string, pageSize = 0): Promise<string[]> {
    const found: string[] = [];
    let pageToken = "";
    do {
      const page = await client.listDatasetUsages({ dataset, pageSize, pageToken });
      if (pageSize > 0) expect(page.usages.length).toBeLessThanOrEqual(pageSize);
      found.push(...page.usages.map((u) => `${u.modelName}:${u.version}=${u.datasetVersion}`));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    return found;
  }

  /** Lineage index keys left in the store for `dataset`. */
  async function indexKeys(dataset: string): Promise<string[]> {
    const entries = await stores.meta.list({ prefix: `registry/lineage/dataset/${dataset}/` });
    return entries.map((e) => e.key);
  }

  it("lists the versions trained on any version of a dataset, or on one version", async () => {
    await upload("churn", `iris@${ID_A}`);
    await upload("churn", `iris@${ID_B}`);
    await upload("fraud", `iris@${ID_A}`);
    await upload("legacy", "iris");
    await upload("unrelated", "");
    // A dataset whose name starts with "iris" is another dataset.
    await upload("other", `iris2@${ID_A}`);

    expect(await usages("iris")).toEqual([
      "legacy:1=iris",
      `churn:1=iris@${ID_A}`,
      `fraud:1=iris@${ID_A}`,
      `churn:2=iris@${ID_B}`,
    ]);
    expect(await usages(`iris@${ID_A}`)).toEqual([`churn:1=iris@${ID_A}`, `fraud:1=iris@${ID_A}`]);
    expect(await usages(`iris@${ID_B}`)).toEqual([`churn:2=iris@${ID_B}`]);
    expect(await usages("iris2")).toEqual([`other:1=iris2@${ID_A}`]);
    expect(await usages("penguins")).toEqual([]);
    expect(await usages(`iris@${"c".repeat(24)}`)).toEqual([]);
  });

  it("forgets a usage with its version, and every usage of a model with the model", async () => {
    const first = await upload("temp", `wine@${ID_A}`);
    const second = await upload("temp", `wine@${ID_B}`);
    await upload("keeper", `wine@${ID_A}`);
    expect(await usages("wine")).toHaveLength(3);

    await client.deleteModelVersion({ modelName: "temp", version: first });
    expect(await usages("wine")).toEqual([`keeper:1=wine@${ID_A}`, `temp:${second}=wine@${ID_B}`]);

    await client.deleteModel({ name: "temp" });
    expect(await usages("wine")).toEqual([`keeper:1=wine@${ID_A}`]);
    await client.deleteModel({ name: "keeper" });
    expect(await usages("wine")).toEqual([]);
    expect(await indexKeys("wine")).toEqual([]);
  });

  it("pages through usages in order, the pages adding up to the whole list", async () => {
    for (let i = 0; i < 5; i++) await upload("pager", `digits@${ID_A}`);
    await upload("pager-b", `digits@${ID_B}`);
    await upload("pager-a", `digits@${ID_B}`);
    const all = await usages("digits");
    expect(all).toEqual([
      ...[1, 2, 3, 4, 5].map((v) => `pager:${v}=digits@${ID_A}`),
      `pager-a:1=digits@${ID_B}`,
      `pager-b:1=digits@${ID_B}`,
    ]);
    for (const size of [1, 2, 3, 7]) expect(await usages("digits", size), `page size ${size}`).toEqual(all);
    expect(await usages(`digits@${ID_A}`, 2)).toEqual(all.slice(0, 5));

    const first = await client.listDatasetUsages({ dataset: "digits", pageSize: 7 });
    expect(first.usages).toHaveLength(7);
    expect(first.nextPageToken).toBe("");
  });

  it("finds lineage values holding slashes, percent signs or very long ids", async () => {
    const long = `docs@${"x".repeat(500)}`;
    await upload("weird", "docs@2024/05%20");
    await upload("weird", long);
    await upload("weird", "docs@");
    expect(await usages("docs@2024/05%20")).toEqual(["weird:1=docs@2024/05%20"]);
    expect(await usages(long)).toEqual([`weird:2=${long}`]);
    expect(await usages("docs@2024")).toEqual([]);
    expect((await usages("docs")).sort()).toEqual(
      ["weird:1=docs@2024/05%20", `weird:2=${long}`, "weird:3=docs@"].sort(),
    );
    // One key segment per dataset and id: nothing leaks into another dataset's range.
    for (const key of await indexKeys("docs")) expect(key.split("/")).toHaveLength(7);
  });

  it("refuses an empty or malformed dataset, page size or page token with INVALID_ARGUMENT", async () => {
    const models = await client.listModels({ pageSize: 1 });
    for (const req of [
      { dataset: "" },
      { dataset: "not/a/name" },
      { dataset: "iris@" },
      { dataset: "iris", pageSize: 1001 },
      { dataset: "iris", pageSize: -1 },
      { dataset: "iris", pageToken: "not a token" },
      { dataset: "iris", pageToken: models.nextPageToken },
    ]) {
      const err = await failure(client.listDatasetUsages(req));
      expect(err.code, JSON.stringify(req)).toBe(Code.InvalidArgument);
    }
    expect((await failure(client.listDatasetUsages({ dataset: "" }))).rawMessage).toMatch(
      /dataset is required/,
    );
  });
});
