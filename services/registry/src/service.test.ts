import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Stores } from "@seam/kit/storage";
import { failure, openTestStores } from "@seam/kit/testing";
import {
  ArtifactFormat,
  ModelVersionStatus,
  type RegistryEvent,
  UploadModelVersionRequestSchema,
} from "@seam/proto/seam/registry/v1/registry_pb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createTestRegistry, type RegistryClient, uploadStream } from "./testing/harness.js";
import { buildLinearModel, garbageArtifact } from "./testing/onnx-models.js";
import { TrackedEventBus, waitUntil } from "./testing/tracked-event-bus.js";

const MAX_BYTES = 64 * 1024;

let stores: Stores;
let bus: TrackedEventBus;
let client: RegistryClient;

beforeEach(async () => {
  stores = await openTestStores("embedded");
  bus = new TrackedEventBus(stores.events);
  ({ client } = createTestRegistry({
    meta: stores.meta,
    blobs: stores.blobs,
    events: bus,
    maxArtifactBytes: MAX_BYTES,
  }));
});

afterEach(async () => {
  await stores.close();
});

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

async function upload(modelName: string, artifact: Uint8Array, extra: Record<string, unknown> = {}) {
  const res = await client.uploadModelVersion(
    uploadStream({ modelName, createModel: true, ...extra }, artifact),
  );
  if (res.version === undefined) throw new Error("no version in the response");
  return res.version;
}

async function download(model: string, chunkSize = 0) {
  const messages = [];
  for await (const m of client.downloadModelVersion({ model, chunkSize })) messages.push(m);
  return messages;
}

/** Every registry key left in the meta store. */
async function registryKeys(): Promise<string[]> {
  return (await stores.meta.list({ prefix: "registry/" })).map((e) => e.key);
}

describe("model registry lifecycle", () => {
  it("creates, versions, aliases, resolves, downloads and deletes", async () => {
    const created = await client.createModel({
      name: "churn",
      description: "who leaves",
      tags: { team: "growth" },
    });
    expect(created.model?.latestVersion).toBe(0n);
    expect((await client.getModel({ name: "churn" })).model?.tags).toEqual({ team: "growth" });

    const artifact1 = buildLinearModel({ weights: [1, 2, 3, 4] });
    const v1 = await upload("churn", artifact1, {
      createModel: false,
      description: "first",
      metrics: { auc: 0.91 },
      params: { lr: "0.01" },
      lineage: { datasetVersion: "churn@abc", trainingJob: "job-1" },
      tags: { stage: "candidate" },
      expectedSha256: sha256(artifact1).toUpperCase(),
      alias: "champion",
    });
    expect(v1).toMatchObject({
      modelName: "churn",
      version: 1n,
      sha256: sha256(artifact1),
      sizeBytes: BigInt(artifact1.length),
      format: ArtifactFormat.ONNX,
      status: ModelVersionStatus.READY,
      metrics: { auc: 0.91 },
      params: { lr: "0.01" },
      tags: { stage: "candidate" },
      description: "first",
      aliases: ["champion"],
    });
    expect(v1.lineage?.datasetVersion).toBe("churn@abc");
    expect(v1.createTime).toBeDefined();
    expect(v1.signature?.inputs.map((t) => [t.name, t.elementType, t.shape])).toEqual([
      ["x", "float32", [-1n, 4n]],
    ]);
    expect(v1.signature?.outputs.map((t) => [t.name, t.elementType, t.shape])).toEqual([
      ["y", "float32", [-1n, 1n]],
    ]);

    const artifact2 = buildLinearModel({ weights: [4, 3, 2, 1] });
    const v2 = await upload("churn", artifact2);
    expect(v2.version).toBe(2n);
    expect(v2.aliases).toEqual([]);

    const listed = await client.listModelVersions({ modelName: "churn" });
    expect(listed.versions.map((v) => v.version)).toEqual([2n, 1n]);
    expect(listed.nextPageToken).toBe("");

    const moved = await client.setAlias({ modelName: "churn", alias: "champion", version: 2n });
    expect(moved.previousVersion).toBe(1n);
    expect(moved.version?.aliases).toEqual(["champion"]);
    await client.setAlias({ modelName: "churn", alias: "stable", version: 2n });
    expect((await client.getModelVersion({ modelName: "churn", version: 2n })).version?.aliases).toEqual([
      "champion",
      "stable",
    ]);
    expect((await client.getModelVersion({ modelName: "churn", version: 1n })).version?.aliases).toEqual([]);

    expect((await client.resolveModel({ model: "churn@champion" })).version?.version).toBe(2n);
    expect((await client.resolveModel({ model: "churn" })).version?.version).toBe(2n);
    expect((await client.resolveModel({ model: "churn:1" })).version?.version).toBe(1n);

    const chunks = await download("churn:1", 100);
    expect(chunks[0]?.version?.version).toBe(1n);
    expect(chunks.slice(1).every((m) => m.version === undefined)).toBe(true);
    expect(chunks.length).toBe(Math.ceil(artifact1.length / 100));
    expect(Buffer.concat(chunks.map((m) => m.chunk))).toEqual(Buffer.from(artifact1));
    expect(Buffer.concat((await download("churn@champion")).map((m) => m.chunk))).toEqual(
      Buffer.from(artifact2),
    );

    const model = (await client.getModel({ name: "churn" })).model;
    expect(model).toMatchObject({
      latestVersion: 2n,
      versionCount: 2n,
      aliases: { champion: 2n, stable: 2n },
    });

    // An aliased version cannot go; once free it does, and its number is never reused.
    expect((await failure(client.deleteModelVersion({ modelName: "churn", version: 2n }))).code).toBe(
      Code.FailedPrecondition,
    );
    await client.deleteAlias({ modelName: "churn", alias: "champion" });
    await client.deleteAlias({ modelName: "churn", alias: "stable" });
    await client.deleteModelVersion({ modelName: "churn", version: 2n });
    expect(await stores.blobs.stat(sha256(artifact2))).toBeUndefined();
    expect((await failure(client.getModelVersion({ modelName: "churn", version: 2n }))).code).toBe(
      Code.NotFound,
    );
    expect((await client.resolveModel({ model: "churn" })).version?.version).toBe(1n);
    expect((await upload("churn", artifact2)).version).toBe(3n);

    // A model with an alias cannot be deleted; without, everything of it goes.
    await client.setAlias({ modelName: "churn", alias: "champion", version: 1n });
    expect((await failure(client.deleteModel({ name: "churn" }))).code).toBe(Code.FailedPrecondition);
    await client.deleteAlias({ modelName: "churn", alias: "champion" });
    await client.deleteModel({ name: "churn" });
    expect((await failure(client.getModel({ name: "churn" }))).code).toBe(Code.NotFound);
    expect(await registryKeys()).toEqual([]);
    expect(await stores.blobs.stat(sha256(artifact1))).toBeUndefined();
    expect(await stores.blobs.stat(sha256(artifact2))).toBeUndefined();
  });

  it("keeps a blob shared by versions of two models until the last one goes", async () => {
    const artifact = buildLinearModel();
    await upload("a", artifact);
    await upload("b", artifact);
    await client.deleteModel({ name: "a" });
    expect(await stores.blobs.stat(sha256(artifact))).toBeDefined();
    expect(Buffer.concat((await download("b")).map((m) => m.chunk))).toEqual(Buffer.from(artifact));
    await client.deleteModelVersion({ modelName: "b", version: 1n });
    expect(await stores.blobs.stat(sha256(artifact))).toBeUndefined();
  });

  it("updates description and tags", async () => {
    await client.createModel({ name: "m", tags: { a: "1", b: "2" } });
    let model = (
      await client.updateModel({ name: "m", description: "new", tags: { c: "3" }, removeTags: ["a"] })
    ).model;
    expect(model?.description).toBe("new");
    expect(model?.tags).toEqual({ b: "2", c: "3" });
    model = (await client.updateModel({ name: "m", replaceTags: true, tags: { z: "9" } })).model;
    expect(model?.tags).toEqual({ z: "9" });
    expect(model?.description).toBe("new");
    model = (await client.updateModel({ name: "m", replaceTags: true })).model;
    expect(model?.tags).toEqual({});
  });
});

describe("listing", () => {
  it("pages models in name order with a prefix and tag filters", async () => {
    for (let i = 0; i < 7; i++) {
      await client.createModel({
        name: `team-${i}`,
        tags: {
          ...(i % 2 === 0 ? { owner: "x" } : { owner: "y" }),
          ...(i % 3 === 0 ? { stage: "prod" } : {}),
        },
      });
    }
    await client.createModel({ name: "other", tags: { owner: "x" } });

    const names: string[][] = [];
    let pageToken = "";
    do {
      const page = await client.listModels({ namePrefix: "team-", pageSize: 3, pageToken });
      names.push(page.models.map((m) => m.name));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(names).toEqual([["team-0", "team-1", "team-2"], ["team-3", "team-4", "team-5"], ["team-6"]]);

    const byOwner = await client.listModels({ tags: { owner: "x" } });
    expect(byOwner.models.map((m) => m.name)).toEqual(["other", "team-0", "team-2", "team-4", "team-6"]);
    const both = await client.listModels({ tags: { owner: "x", stage: "prod" } });
    expect(both.models.map((m) => m.name)).toEqual(["team-0", "team-6"]);
    const hasStage = await client.listModels({ tags: { stage: "" } });
    expect(hasStage.models.map((m) => m.name)).toEqual(["team-0", "team-3", "team-6"]);

    // A filtered listing pages too, and its last page carries no token.
    const first = await client.listModels({ tags: { owner: "x" }, pageSize: 2 });
    expect(first.models.map((m) => m.name)).toEqual(["other", "team-0"]);
    const second = await client.listModels({
      tags: { owner: "x" },
      pageSize: 2,
      pageToken: first.nextPageToken,
    });
    const third = await client.listModels({
      tags: { owner: "x" },
      pageSize: 2,
      pageToken: second.nextPageToken,
    });
    expect(third.models.map((m) => m.name)).toEqual(["team-6"]);
    expect(third.nextPageToken).toBe("");
    expect((await client.listModels({ pageSize: 1000 })).models).toHaveLength(8);
  });

  it("pages versions newest first", async () => {
    for (let i = 0; i < 5; i++) await upload("m", buildLinearModel({ bias: i }));
    const pages: bigint[][] = [];
    let pageToken = "";
    do {
      const page = await client.listModelVersions({ modelName: "m", pageSize: 2, pageToken });
      pages.push(page.versions.map((v) => v.version));
      pageToken = page.nextPageToken;
    } while (pageToken !== "");
    expect(pages).toEqual([[5n, 4n], [3n, 2n], [1n]]);
  });
});

describe("refused requests", () => {
  it("reports NOT_FOUND and ALREADY_EXISTS", async () => {
    await client.createModel({ name: "m" });
    expect((await failure(client.createModel({ name: "m" }))).code).toBe(Code.AlreadyExists);
    expect((await failure(client.getModel({ name: "nope" }))).code).toBe(Code.NotFound);
    expect((await failure(client.getModelVersion({ modelName: "m", version: 1n }))).code).toBe(Code.NotFound);
    expect((await failure(client.listModelVersions({ modelName: "nope" }))).code).toBe(Code.NotFound);
    expect((await failure(client.deleteModel({ name: "nope" }))).code).toBe(Code.NotFound);
    expect((await failure(client.deleteModelVersion({ modelName: "m", version: 3n }))).code).toBe(
      Code.NotFound,
    );
    expect((await failure(client.setAlias({ modelName: "m", alias: "champion", version: 1n }))).code).toBe(
      Code.NotFound,
    );
    expect((await failure(client.deleteAlias({ modelName: "m", alias: "champion" }))).code).toBe(
      Code.NotFound,
    );
    expect((await failure(client.resolveModel({ model: "m" }))).code).toBe(Code.NotFound);
    expect((await failure(client.resolveModel({ model: "m@champion" }))).code).toBe(Code.NotFound);
    expect((await failure(download("m:1"))).code).toBe(Code.NotFound);
    const err = await failure(
      client.uploadModelVersion(uploadStream({ modelName: "absent" }, buildLinearModel())),
    );
    expect(err.code).toBe(Code.NotFound);
    expect(err.rawMessage).toContain("create_model");
  });

  it("says which field is wrong and what is allowed", async () => {
    const cases: Array<[Promise<unknown>, RegExp]> = [
      [client.createModel({ name: "-bad" }), /name "-bad" is not a valid model name/],
      [client.createModel({ name: "a".repeat(129) }), /1 to 128/],
      [client.createModel({ name: "" }), /name is required/],
      [client.createModel({ name: "ok", tags: { "": "x" } }), /tags: key "" is not valid/],
      [
        client.getModelVersion({ modelName: "m", version: 0n }),
        /version must be a version number of 1 or more/,
      ],
      [client.listModels({ pageSize: 1001 }), /page_size must be between 0 and 1000/],
      [client.listModels({ pageToken: "not a token!" }), /page_token is not valid/],
      [
        client.listModels({ pageToken: Buffer.from("m1:../../etc").toString("base64url") }),
        /page_token is not valid/,
      ],
      [
        client.listModelVersions({ modelName: "m", pageToken: Buffer.from("m1:abc").toString("base64url") }),
        /page_token/,
      ],
      [client.setAlias({ modelName: "m", alias: "123", version: 1n }), /alias "123" is not a valid alias/],
      [client.resolveModel({ model: "m:zero" }), /model: the version in "m:zero" must be a number/],
      [
        client.updateModel({ name: "m", tags: { a: "1" }, removeTags: ["a"] }),
        /both in tags and in remove_tags/,
      ],
      [download("m", 2 * 1024 * 1024), /chunk_size must be between 0 and 1048576/],
    ];
    for (const [call, message] of cases) {
      const err = await failure(call);
      expect(err.code, String(message)).toBe(Code.InvalidArgument);
      expect(err.rawMessage).toMatch(message);
    }
  });

  it("refuses malformed upload streams", async () => {
    const onlyChunks = (async function* () {
      yield create(UploadModelVersionRequestSchema, {
        payload: { case: "chunk", value: new Uint8Array([1, 2]) },
      });
    })();
    let err = await failure(client.uploadModelVersion(onlyChunks));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/first message of an upload must carry metadata/);

    const twoMetadata = (async function* () {
      yield* uploadStream({ modelName: "m", createModel: true }, buildLinearModel());
      yield* uploadStream({ modelName: "m", createModel: true }, new Uint8Array(0));
    })();
    err = await failure(client.uploadModelVersion(twoMetadata));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/only the first message of an upload may carry metadata/);

    err = await failure(
      client.uploadModelVersion(
        uploadStream({ modelName: "m", createModel: true, alias: "9" }, buildLinearModel()),
      ),
    );
    expect(err.rawMessage).toMatch(/metadata.alias "9" is not a valid alias/);
    err = await failure(
      client.uploadModelVersion(
        uploadStream({ modelName: "m", createModel: true, expectedSha256: "abc" }, buildLinearModel()),
      ),
    );
    expect(err.rawMessage).toMatch(/metadata.expected_sha256 must be 64 hex digits/);
    expect(await registryKeys()).toEqual([]);
  });

  it("refuses an artifact ONNX Runtime cannot load, with its reason, leaving nothing behind", async () => {
    await client.createModel({ name: "m" });
    const garbage = garbageArtifact(4096);
    const err = await failure(client.uploadModelVersion(uploadStream({ modelName: "m" }, garbage)));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toMatch(/^not a loadable ONNX model: .*protobuf parsing failed/i);
    expect(await stores.blobs.stat(sha256(garbage))).toBeUndefined();
    expect(await registryKeys()).toEqual(["registry/m/m"]);
    expect((await client.getModel({ name: "m" })).model).toMatchObject({
      latestVersion: 0n,
      versionCount: 0n,
    });
  });

  it("refuses a checksum mismatch with DATA_LOSS but keeps a blob another version uses", async () => {
    const artifact = buildLinearModel();
    await upload("m", artifact);
    const err = await failure(
      client.uploadModelVersion(uploadStream({ modelName: "m", expectedSha256: "0".repeat(64) }, artifact)),
    );
    expect(err.code).toBe(Code.DataLoss);
    expect(err.rawMessage).toContain(sha256(artifact));
    expect(await stores.blobs.stat(sha256(artifact))).toBeDefined();
    expect((await client.getModel({ name: "m" })).model?.latestVersion).toBe(1n);

    const other = buildLinearModel({ bias: 7 });
    await failure(
      client.uploadModelVersion(uploadStream({ modelName: "m", expectedSha256: "0".repeat(64) }, other)),
    );
    expect(await stores.blobs.stat(sha256(other))).toBeUndefined();
  });

  it("refuses an oversize artifact with RESOURCE_EXHAUSTED, storing nothing", async () => {
    const big = garbageArtifact(MAX_BYTES + 1);
    const err = await failure(
      client.uploadModelVersion(uploadStream({ modelName: "m", createModel: true }, big, 8192)),
    );
    expect(err.code).toBe(Code.ResourceExhausted);
    expect(err.rawMessage).toContain(String(MAX_BYTES));
    expect(await stores.blobs.stat(sha256(big))).toBeUndefined();
    expect(await registryKeys()).toEqual([]);
  });

  it("stores nothing when the client cancels an upload midway", async () => {
    const artifact = buildLinearModel({ weights: Array.from({ length: 2000 }, (_, i) => i) });
    const abort = new AbortController();
    let sent = 0;
    const slowStream = (async function* () {
      for await (const message of uploadStream({ modelName: "m", createModel: true }, artifact, 1024)) {
        yield message;
        if (++sent === 3) abort.abort();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
    const err = await failure(client.uploadModelVersion(slowStream, { signal: abort.signal }));
    expect(err.code).toBe(Code.Canceled);
    await new Promise((resolve) => setTimeout(resolve, 100)); // let the server side unwind
    expect(await stores.blobs.stat(sha256(artifact))).toBeUndefined();
    expect(await registryKeys()).toEqual([]);
  });
});

describe("events", () => {
  /** Starts watching and resolves once the server's subscription is live. */
  async function watch(modelName: string) {
    const abort = new AbortController();
    const events: RegistryEvent[] = [];
    const before = bus.active;
    const done = (async () => {
      try {
        for await (const res of client.watchEvents({ modelName }, { signal: abort.signal })) {
          if (res.event) events.push(res.event);
        }
      } catch (err) {
        if (ConnectError.from(err).code !== Code.Canceled) throw err;
      }
    })();
    await waitUntil(() => bus.active > before, 5000, "the watcher to subscribe");
    return { events, stop: () => abort.abort(), done };
  }

  it("streams what changed, filtered by model, and nothing for failed calls", async () => {
    const mine = await watch("m");
    const all = await watch("");
    await upload("m", buildLinearModel(), { alias: "champion" });
    await upload("other", buildLinearModel({ bias: 2 }));
    await upload("m", buildLinearModel({ bias: 3 }));
    await client.setAlias({ modelName: "m", alias: "champion", version: 2n });
    await client.setAlias({ modelName: "m", alias: "champion", version: 2n }); // unchanged: no event
    await failure(client.deleteModelVersion({ modelName: "m", version: 2n })); // refused: no event
    await failure(client.uploadModelVersion(uploadStream({ modelName: "m" }, garbageArtifact()))); // refused: no event
    await client.deleteAlias({ modelName: "m", alias: "champion" });
    await client.deleteModelVersion({ modelName: "m", version: 1n });
    await client.deleteModel({ name: "m" });

    const expected = [
      ["versionCreated", { version: 1n }],
      ["aliasMoved", { alias: "champion", version: 1n, previousVersion: 0n }],
      ["versionCreated", { version: 2n }],
      ["aliasMoved", { alias: "champion", version: 2n, previousVersion: 1n }],
      ["aliasDeleted", { alias: "champion", previousVersion: 2n }],
      ["versionDeleted", { version: 1n }],
      ["modelDeleted", {}],
    ];
    await waitUntil(() => mine.events.length >= expected.length && all.events.length >= expected.length + 1);
    expect(mine.events.every((e) => e.modelName === "m")).toBe(true);
    expect(mine.events.map((e) => [e.kind.case, e.kind.value])).toMatchObject(expected);
    expect(all.events.map((e) => e.modelName)).toContain("other");
    expect(all.events).toHaveLength(expected.length + 1);
    expect(mine.events.every((e) => e.time !== undefined)).toBe(true);

    // Cancelling ends the server side of the stream too: its subscription is released.
    const endedBefore = bus.ended;
    mine.stop();
    all.stop();
    await Promise.all([mine.done, all.done]);
    await waitUntil(
      () => bus.ended === endedBefore + 2 && bus.active === 0,
      5000,
      "the subscriptions to end",
    );
  });
});
