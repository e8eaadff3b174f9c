import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import type { Stores } from "@seam/kit/storage";
import { failure, openTestStores, type StoreKind } from "@seam/kit/testing";
import type { LineageSchema } from "@seam/proto/seam/registry/v1/registry_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestRegistry, type RegistryClient, uploadStream } from "./testing/harness.js";
import { buildLinearModel } from "./testing/onnx-models.js";

describe.each<StoreKind>(["embedded", "redis"])("ListFeatureServiceUsages on %s stores", (kind) => {
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

  /** Uploads a version of `model` with `lineage` (none when undefined); returns "model:version". */
  async function upload(
    model: string,
    lineage: MessageInitShape<typeof LineageSchema> | undefined,
  ): Promise<string> {
    const { version } = await client.uploadModelVersion(
      uploadStream(
        { modelName: model, createModel: true, ...(lineage === undefined ? {} : { lineage }) },
        artifact,
      ),
    );
    if (version === undefined) throw new Error("no version in the response");
    return `${version.modelName}:${version.version}`;
  }

  /** Uploads a version of `model` bound to `featureService`; returns "model:version". */
  function bind(model: string, featureService: string): Promise<string> {
    return upload(model, { featureService });
  }

  /** Every usage of `featureService` as "model:version", following page tokens. */
  async function usages(featureService: string, pageSize = 0): Promise<string[]> {
    const found: string[] = [];
    let pageToken = "";
    do {
      const page = await client.listFeatureServiceUsages({ featureService, pageSize, pageToken });
      if (pageSize > 0) expect(page.usages.length).toBeLessThanOrEqual(pageSize);
      found.push(...page.usages.map((u) => `${u.modelName}:${u.version}`));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    return found;
  }

  /** Lineage index keys left in the store for `featureService`. */
  async function indexKeys(featureService: string): Promise<string[]> {
    const entries = await stores.meta.list({ prefix: `registry/lineage/feature-service/${featureService}/` });
    return entries.map((e) => e.key);
  }

  it("lists the versions bound to a feature service in order of model name, then version number", async () => {
    // Uploaded out of order; names one of which starts another must still sort by name.
    await bind("churn-v2", "churn-features");
    await bind("churn", "churn-features");
    await bind("fraud", "fraud-features");
    await bind("churn.eu", "churn-features");
    await bind("Churn", "churn-features");
    await bind("churn", "churn-features");
    // A feature service whose name starts with "churn-features" is another service.
    await bind("churn", "churn-features-v2");
    // Lineage without a feature service, or no lineage at all: not bound to anything.
    await upload("churn", { datasetVersion: "churn-data", trainingJob: "job-7" });
    await upload("unbound", undefined);
    await bind("churn", "churn-features");

    const all = await usages("churn-features");
    expect(all).toEqual(["Churn:1", "churn:1", "churn:2", "churn:5", "churn-v2:1", "churn.eu:1"]);
    expect(await usages("churn-features-v2")).toEqual(["churn:3"]);
    expect(await usages("fraud-features")).toEqual(["fraud:1"]);
  });

  it("pages through usages in order, the pages adding up to the whole list", async () => {
    for (const model of ["pager-b", "pager", "pager-a"]) {
      for (let i = 0; i < 3; i++) await bind(model, "paging-features");
    }
    await bind("pager", "other-features");
    const expected = ["pager", "pager-a", "pager-b"].flatMap((m) => [1, 2, 3].map((v) => `${m}:${v}`));

    expect(await usages("paging-features")).toEqual(expected);
    for (const size of [1, 2, 4, 9]) {
      expect(await usages("paging-features", size), `page size ${size}`).toEqual(expected);
    }

    // Page size 1 by hand: one usage a page, a token on every page but the last.
    let pageToken = "";
    for (const [i, usage] of expected.entries()) {
      const page = await client.listFeatureServiceUsages({
        featureService: "paging-features",
        pageSize: 1,
        pageToken,
      });
      expect(page.usages.map((u) => `${u.modelName}:${u.version}`)).toEqual([usage]);
      pageToken = page.nextPageToken;
      expect(pageToken === "", `page ${i}`).toBe(i === expected.length - 1);
    }

    const exact = await client.listFeatureServiceUsages({ featureService: "paging-features", pageSize: 9 });
    expect(exact.usages).toHaveLength(9);
    expect(exact.nextPageToken).toBe("");
  });

  it("forgets a usage with its version, and every usage of a model with the model", async () => {
    const first = await upload("temp", { featureService: "ranking-features", datasetVersion: "clicks" });
    const second = await bind("temp", "ranking-features");
    await bind("keeper", "ranking-features");
    expect(await usages("ranking-features")).toEqual(["keeper:1", first, second]);

    await client.deleteModelVersion({ modelName: "temp", version: 1n });
    expect(await usages("ranking-features")).toEqual(["keeper:1", second]);
    // The dataset usage of the deleted version went in the same commit.
    const datasetUsages = await client.listDatasetUsages({ dataset: "clicks" });
    expect(datasetUsages.usages).toEqual([]);

    await client.deleteModel({ name: "temp" });
    expect(await usages("ranking-features")).toEqual(["keeper:1"]);
    await client.deleteModel({ name: "keeper" });
    expect(await usages("ranking-features")).toEqual([]);
    expect(await indexKeys("ranking-features")).toEqual([]);
  });

  it("returns an empty list for a feature service no version is bound to", async () => {
    const page = await client.listFeatureServiceUsages({ featureService: "never-bound" });
    expect(page.usages).toEqual([]);
    expect(page.nextPageToken).toBe("");
  });

  it("finds a feature service of the longest valid name", async () => {
    // Longer than a readable key segment: stored under its hash.
    const longest = `f${"x".repeat(127)}`;
    await bind("long-bound", longest);
    expect(await usages(longest)).toEqual(["long-bound:1"]);
    expect(await usages(longest.slice(0, 127))).toEqual([]);
  });

  it("refuses an empty or malformed feature service, page size or page token with INVALID_ARGUMENT", async () => {
    await upload("token-source", { datasetVersion: "token-data" });
    await upload("token-source", { datasetVersion: "token-data" });
    const datasetPage = await client.listDatasetUsages({ dataset: "token-data", pageSize: 1 });
    expect(datasetPage.nextPageToken).not.toBe("");
    const modelPage = await client.listModels({ pageSize: 1 });
    expect(modelPage.nextPageToken).not.toBe("");

    for (const req of [
      { featureService: "" },
      { featureService: "not/a/name" },
      { featureService: "a b" },
      { featureService: "-leading-dash" },
      { featureService: "x".repeat(129) },
      { featureService: "ok", pageSize: 1001 },
      { featureService: "ok", pageSize: -1 },
      { featureService: "ok", pageToken: "not a token" },
      // Another listing's tokens are refused, not reinterpreted.
      { featureService: "ok", pageToken: modelPage.nextPageToken },
      { featureService: "ok", pageToken: datasetPage.nextPageToken },
    ]) {
      const err = await failure(client.listFeatureServiceUsages(req));
      expect(err.code, JSON.stringify(req)).toBe(Code.InvalidArgument);
    }
    expect((await failure(client.listFeatureServiceUsages({ featureService: "" }))).rawMessage).toMatch(
      /feature_service is required/,
    );
    expect((await failure(client.listFeatureServiceUsages({ featureService: "a/b" }))).rawMessage).toMatch(
      /not a valid feature service name/,
    );
    expect(
      (await failure(client.listFeatureServiceUsages({ featureService: "ok", pageSize: 1001 }))).rawMessage,
    ).toMatch(/page_size/);
  });

  it("refuses to bind a version to a feature service name that could never be looked up", async () => {
    const err = await failure(upload("bad-binding", { featureService: "Churn Features" }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain("metadata.lineage.feature_service");
    expect(await failure(client.getModel({ name: "bad-binding" }))).toMatchObject({ code: Code.NotFound });
  });
});
