import { createHash } from "node:crypto";
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { Code } from "@connectrpc/connect";
import { failure } from "@seam/kit/testing";
import {
  ColumnType,
  type DatasetVersion,
  SourceFormat,
  Split,
  type UploadDatasetVersionRequest,
} from "@seam/proto/seam/datasets/v1/datasets_pb";
import { tableFromIPC, tableToIPC } from "apache-arrow";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ConcurrentStats } from "./stats/index.js";
import {
  createTestDatasets,
  type DatasetsClient,
  FixedLineage,
  type TestDatasets,
  uploadStream,
} from "./testing/harness.js";
import { IRIS_SPECIES, irisCsv } from "./testing/iris.js";
import { filesUnder, openTestStores, type TestStores } from "./testing/test-stores.js";

const MAX_UPLOAD = 64 * 1024;
const CSV = SourceFormat.CSV;

let stores: TestStores;
let lineage: FixedLineage;
let datasets: TestDatasets;
let client: DatasetsClient;

beforeEach(async () => {
  stores = await openTestStores("embedded");
  lineage = new FixedLineage();
  datasets = createTestDatasets({
    meta: stores.meta,
    blobs: stores.blobs,
    lineage,
    tmpDir: stores.tmpDir,
    maxUploadBytes: MAX_UPLOAD,
  });
  client = datasets.client;
});

afterEach(async () => {
  await stores.close();
});

async function upload(dataset: string, csv: string, extra: Record<string, unknown> = {}) {
  const res = await client.uploadDatasetVersion(
    uploadStream({ dataset, createDataset: true, format: CSV, ...extra }, csv, 700),
  );
  if (res.version === undefined) throw new Error("no version in the response");
  return { version: res.version, created: res.created };
}

/** Reads a version back through ReadDatasetVersion as one Arrow table. */
async function readTable(req: Record<string, unknown>) {
  const parts: Uint8Array[] = [];
  let rows = 0n;
  for await (const m of client.readDatasetVersion({ dataset: "iris", ...req })) {
    parts.push(m.arrowIpc);
    rows += m.rows;
  }
  const table = tableFromIPC(Buffer.concat(parts));
  expect(BigInt(table.numRows)).toBe(rows);
  return table;
}

/** Stored blob files (content-addressed) of the embedded blob store. */
function blobFiles(): Promise<string[]> {
  return filesUnder(join(stores.dataDir, "blobs", "sha256"));
}

/** Everything that must be unchanged after a failed upload. */
async function snapshot() {
  return {
    keys: (await stores.meta.list({ prefix: "datasets/" })).map((e) => e.key),
    blobs: await blobFiles(),
  };
}

/** Asserts a failed call left no record, index entry, blob or temp file behind. */
async function expectNothingLeft(before: Awaited<ReturnType<typeof snapshot>>) {
  await datasets.idle();
  expect(await snapshot()).toEqual(before);
  expect(await readdir(stores.tmpDir).catch(() => [])).toEqual([]);
  expect(await filesUnder(join(stores.dataDir, "blobs", "tmp"))).toEqual([]);
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

describe("dataset service lifecycle", () => {
  it("creates, uploads, describes, lists, splits, reads and deletes an iris dataset", async () => {
    const created = await client.createDataset({
      name: "iris",
      description: "flowers",
      tags: { team: "bio" },
    });
    expect(created.dataset).toMatchObject({ name: "iris", latestVersion: "", versionCount: 0n });
    await client.createDataset({ name: "iris-2" });
    await client.createDataset({ name: "other" });

    const csv = irisCsv(1);
    const { version: v1, created: c1 } = await upload("iris", csv, {
      createDataset: false,
      description: "first cut",
      tags: { source: "field" },
    });
    expect(c1).toBe(true);
    expect(v1).toMatchObject({
      dataset: "iris",
      id: v1.sha256.slice(0, 24),
      ref: `iris@${v1.sha256.slice(0, 24)}`,
      rowCount: 150n,
      sourceFormat: CSV,
      sourceBytes: BigInt(Buffer.byteLength(csv)),
      description: "first cut",
      tags: { source: "field" },
      parents: [],
    });
    expect(v1.createTime).toBeDefined();
    expect(v1.schema?.columns.map((c) => [c.name, c.type])).toEqual([
      ["id", ColumnType.INT64],
      ["sepal_length", ColumnType.FLOAT64],
      ["sepal_width", ColumnType.FLOAT64],
      ["petal_length", ColumnType.FLOAT64],
      ["petal_width", ColumnType.FLOAT64],
      ["species", ColumnType.STRING],
    ]);
    // The stored blob is the Arrow stream the version describes.
    expect(await stores.blobs.stat(v1.sha256)).toEqual({ sha256: v1.sha256, size: Number(v1.byteSize) });

    // Statistics: one per column, in schema order; default 10 histogram bins.
    expect(v1.stats.map((s) => s.name)).toEqual(v1.schema?.columns.map((c) => c.name));
    const id = v1.stats[0];
    expect(id?.count).toBe(150n);
    expect(id?.kind.case).toBe("numeric");
    if (id?.kind.case === "numeric") {
      expect(id.kind.value).toMatchObject({ min: 1, max: 150, mean: 75.5 });
      expect(id.kind.value.histogram?.boundaries).toHaveLength(11);
      expect(id.kind.value.histogram?.counts.reduce((a, b) => a + b, 0n)).toBe(150n);
    }
    const species = v1.stats[5];
    expect(species?.kind.case).toBe("string");
    if (species?.kind.case === "string") {
      expect(species.kind.value.distinctCount).toBe(3n);
      expect(species.kind.value.topValues.map((t) => [t.value, t.count])).toEqual(
        IRIS_SPECIES.map((s) => [s, 50n]),
      );
    }

    // A derived version with a split recorded at upload and 4 histogram bins.
    const { version: v2 } = await upload("iris", irisCsv(2), {
      createDataset: false,
      parents: [v1.ref],
      derivedBy: "tests.resample",
      histogramBins: 4,
      split: {
        seed: 7n,
        trainFraction: 0.6,
        validationFraction: 0.2,
        testFraction: 0.2,
        keyColumn: "species",
      },
    });
    expect(v2.id).not.toBe(v1.id);
    expect(v2.parents).toEqual([v1.ref]);
    expect(v2.derivedBy).toBe("tests.resample");
    const numeric = v2.stats[1]?.kind;
    expect(numeric?.case === "numeric" && numeric.value.histogram?.counts.length).toBe(4);
    // Keyed by species: each split holds whole species, 50 rows each.
    const c = v2.splits?.counts;
    expect((c?.train ?? 0n) + (c?.validation ?? 0n) + (c?.test ?? 0n)).toBe(150n);
    for (const n of [c?.train, c?.validation, c?.test]) expect((n ?? 0n) % 50n).toBe(0n);

    const dataset = (await client.getDataset({ name: "iris" })).dataset;
    expect(dataset).toMatchObject({ latestVersion: v2.id, versionCount: 2n, description: "flowers" });
    expect(dataset?.updateTime).toBeDefined();

    // Newest first, a page at a time; empty version means latest.
    const page1 = await client.listDatasetVersions({ dataset: "iris", pageSize: 1 });
    expect(page1.versions.map((v) => v.id)).toEqual([v2.id]);
    const page2 = await client.listDatasetVersions({
      dataset: "iris",
      pageSize: 1,
      pageToken: page1.nextPageToken,
    });
    expect(page2.versions.map((v) => v.id)).toEqual([v1.id]);
    expect(page2.nextPageToken).toBe("");
    expect((await client.getDatasetVersion({ dataset: "iris" })).version?.id).toBe(v2.id);
    expect(
      (await client.getDatasetVersion({ dataset: "iris", version: v1.id.toUpperCase() })).version?.id,
    ).toBe(v1.id);

    // Datasets in name order, by prefix, paged.
    const listed = await client.listDatasets({ namePrefix: "iris", pageSize: 1 });
    expect(listed.datasets.map((d) => d.name)).toEqual(["iris"]);
    const rest = await client.listDatasets({ namePrefix: "iris", pageToken: listed.nextPageToken });
    expect(rest.datasets.map((d) => d.name)).toEqual(["iris-2"]);
    expect(rest.nextPageToken).toBe("");

    // Split v1 by row index: recorded, repeated as a no-op, a different spec refused.
    const spec = { seed: 42n, trainFraction: 0.7, validationFraction: 0.15, testFraction: 0.15 };
    const split = (await client.splitDatasetVersion({ dataset: "iris", version: v1.id, spec })).version;
    const counts = split?.splits?.counts;
    expect((counts?.train ?? 0n) + (counts?.validation ?? 0n) + (counts?.test ?? 0n)).toBe(150n);
    expect(counts?.train).toBeGreaterThan(80n);
    const again = await client.splitDatasetVersion({ dataset: "iris", version: v1.id, spec });
    expect(again.version?.splits).toEqual(split?.splits);
    const other = await failure(
      client.splitDatasetVersion({ dataset: "iris", version: v1.id, spec: { ...spec, seed: 43n } }),
    );
    expect(other.code).toBe(Code.FailedPrecondition);
    expect((await client.getDatasetVersion({ dataset: "iris", version: v1.id })).version?.splits).toEqual(
      split?.splits,
    );

    // Read back: all of it, then a projection of the train split with offset and limit.
    const all = await readTable({ version: v1.id, batchRows: 40 });
    expect(all.numRows).toBe(150);
    expect(all.schema.fields.map((f) => f.name)).toEqual(v1.schema?.columns.map((col) => col.name));
    expect(all.getChild("id")?.get(149)).toBe(150n);
    expect(all.getChild("species")?.get(0)).toBe("setosa");
    const firstCsvRow = csv.split("\n")[1]?.split(",") ?? [];
    expect(all.getChild("sepal_length")?.get(0)).toBe(Number(firstCsvRow[1]));

    const train = await readTable({ version: v1.id, split: Split.TRAIN, columns: ["species", "id"] });
    expect(train.numRows).toBe(Number(counts?.train));
    expect(train.schema.fields.map((f) => f.name)).toEqual(["species", "id"]);
    const window = await readTable({
      version: v1.id,
      split: Split.TRAIN,
      columns: ["id"],
      offset: 10n,
      limit: 5n,
    });
    expect(window.getChild("id")?.toArray()).toEqual(train.getChild("id")?.toArray().slice(10, 15));
    // Test and validation rows are the rest: together the three splits are every id once.
    const ids = async (which: Split) =>
      [...((await readTable({ version: v1.id, split: which, columns: ["id"] })).getChild("id") ?? [])].map(
        Number,
      );
    const union = [...(await ids(Split.TRAIN)), ...(await ids(Split.VALIDATION)), ...(await ids(Split.TEST))];
    expect(union.sort((a, b) => a - b)).toEqual(Array.from({ length: 150 }, (_, i) => i + 1));

    // JSON rows: default limit 100, projection, split filter.
    const rows = await client.readDatasetRows({ dataset: "iris", version: v1.id });
    expect(rows.rows).toHaveLength(100);
    expect(rows.schema?.columns).toHaveLength(6);
    expect(rows.rows[0]?.species).toBe("setosa");
    expect(rows.rows[0]?.id).toBe(1);
    const few = await client.readDatasetRows({
      dataset: "iris",
      version: v1.id,
      columns: ["id", "petal_width"],
      split: Split.TRAIN,
      offset: 10n,
      limit: 5n,
    });
    expect(few.schema?.columns.map((col) => col.name)).toEqual(["id", "petal_width"]);
    expect(few.rows.map((r) => r.id)).toEqual([...(window.getChild("id") ?? [])].map(Number));
    expect(Object.keys(few.rows[0] ?? {})).toEqual(["id", "petal_width"]);

    // Delete: refused while a model version was trained on it; forced, everything goes.
    lineage.usages.set("iris", ["churn:3"]);
    const refused = await failure(client.deleteDataset({ name: "iris" }));
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.rawMessage).toContain("churn:3");
    expect((await client.getDataset({ name: "iris" })).dataset?.versionCount).toBe(2n);
    const callsBefore = lineage.calls;
    await client.deleteDataset({ name: "iris", force: true });
    expect(lineage.calls).toBe(callsBefore);
    expect((await failure(client.getDataset({ name: "iris" }))).code).toBe(Code.NotFound);
    expect((await failure(client.getDatasetVersion({ dataset: "iris", version: v1.id }))).code).toBe(
      Code.NotFound,
    );
    expect(await stores.blobs.stat(v1.sha256)).toBeUndefined();
    expect(await stores.blobs.stat(v2.sha256)).toBeUndefined();
    const left = (await stores.meta.list({ prefix: "datasets/" })).map((e) => e.key);
    expect(left).toEqual(["datasets/d/iris-2", "datasets/d/other"]);

    // Without lineage users, an unforced delete goes through.
    await client.deleteDataset({ name: "other" });
    expect((await client.listDatasets({})).datasets.map((d) => d.name)).toEqual(["iris-2"]);
  });

  it("keeps a dataset other datasets' versions were derived from until the delete is forced", async () => {
    const { version: raw } = await upload("raw", "a,b\n1,x\n2,y\n");
    const { version: joined } = await upload("joined", "a,b,c\n1,x,true\n", {
      parents: [raw.ref],
      derivedBy: "tests.join",
    });
    const refused = await failure(client.deleteDataset({ name: "raw" }));
    expect(refused.code).toBe(Code.FailedPrecondition);
    expect(refused.rawMessage).toContain(`${joined.ref} (from ${raw.ref})`);
    expect((await client.getDataset({ name: "raw" })).dataset?.versionCount).toBe(1n);

    // The child goes first: then the parent deletes without force, and no key is left.
    await client.deleteDataset({ name: "joined" });
    await client.deleteDataset({ name: "raw" });
    expect((await stores.meta.list({ prefix: "datasets/" })).map((e) => e.key)).toEqual([]);

    // Forced, the parent goes and the child keeps its (now dangling) reference.
    const { version: raw2 } = await upload("raw", "a\n1\n");
    const { version: child } = await upload("child", "a\n2\n", { parents: [raw2.ref] });
    await client.deleteDataset({ name: "raw", force: true });
    expect((await client.getDatasetVersion({ dataset: "child" })).version?.parents).toEqual([raw2.ref]);
    await client.deleteDataset({ name: "child" });
    expect((await stores.meta.list({ prefix: "datasets/" })).map((e) => e.key)).toEqual([]);
    expect(child.parents).toEqual([raw2.ref]);
  });

  it("returns the existing version for identical content, storing nothing new", async () => {
    const csv = irisCsv(3);
    const first = await upload("iris", csv, { description: "one" });
    const before = await snapshot();
    const second = await upload("iris", csv, { description: "two", tags: { ignored: "yes" } });
    expect(second.created).toBe(false);
    expect(second.version).toEqual(first.version);
    await expectNothingLeft(before);
    expect((await client.getDataset({ name: "iris" })).dataset?.versionCount).toBe(1n);
    expect(await blobFiles()).toHaveLength(1);

    // The same content in another dataset shares the blob; deleting one keeps it for the other.
    const copy = await upload("iris-copy", csv);
    expect(copy.created).toBe(true);
    expect(copy.version.sha256).toBe(first.version.sha256);
    expect(await blobFiles()).toHaveLength(1);
    await client.deleteDataset({ name: "iris" });
    expect(await stores.blobs.stat(copy.version.sha256)).toBeDefined();
    expect((await readTable({ dataset: "iris-copy" })).numRows).toBe(150);
    await client.deleteDataset({ name: "iris-copy" });
    expect(await blobFiles()).toEqual([]);
  });

  it("stores the same canonical Arrow bytes whatever the upload's chunking", async () => {
    const csv = irisCsv(4);
    const a = await upload("iris", csv);
    const b = await client.uploadDatasetVersion(uploadStream({ dataset: "iris", format: CSV }, csv, 13));
    expect(b.created).toBe(false);
    const parts: Uint8Array[] = [];
    for await (const chunk of stores.blobs.get(a.version.sha256)) parts.push(chunk);
    expect(sha256(Buffer.concat(parts))).toBe(a.version.sha256);
  });

  it("stores the blob again, by its checked digest, when a concurrent delete released it before the commit", async () => {
    const realPutFile = stores.blobs.putFile.bind(stores.blobs);
    const putFile = vi.spyOn(stores.blobs, "putFile").mockImplementationOnce(async (path, options) => {
      const info = await realPutFile(path, options);
      // As a delete of another dataset holding the same content would, between put and commit.
      await stores.blobs.delete(info.sha256);
      return info;
    });
    try {
      const { version } = await upload("iris", irisCsv(11));
      expect(putFile).toHaveBeenCalledTimes(2);
      expect(putFile.mock.calls[1]?.[1]?.known).toEqual({
        sha256: version.sha256,
        size: Number(version.byteSize),
      });
      const parts: Uint8Array[] = [];
      for await (const chunk of stores.blobs.get(version.sha256)) parts.push(chunk);
      expect(sha256(Buffer.concat(parts))).toBe(version.sha256);
    } finally {
      putFile.mockRestore();
    }
  });

  it("gives the blob store the digest checked against the file for text uploads; it hashes Arrow IPC itself", async () => {
    const putFile = vi.spyOn(stores.blobs, "putFile");
    try {
      const { version } = await upload("iris", irisCsv(5));
      expect(putFile.mock.lastCall?.[1]?.known).toEqual({
        sha256: version.sha256,
        size: Number(version.byteSize),
      });
      const parts: Uint8Array[] = [];
      for await (const chunk of stores.blobs.get(version.sha256)) parts.push(chunk);
      expect(sha256(Buffer.concat(parts))).toBe(version.sha256);

      // Arrow IPC uploads are not observed by the statistics worker: nothing was checked.
      const arrow = tableToIPC(await readTable({ dataset: "iris" }), "stream");
      const copy = await client.uploadDatasetVersion(
        uploadStream(
          { dataset: "iris-arrow", createDataset: true, format: SourceFormat.ARROW_IPC },
          arrow,
          4096,
        ),
      );
      expect(copy.version?.sha256).toBe(version.sha256);
      expect(putFile).toHaveBeenCalledTimes(2);
      expect(putFile.mock.lastCall?.[1]?.known).toBeUndefined();
    } finally {
      putFile.mockRestore();
    }
  });
});

describe("refused uploads leave nothing behind", () => {
  const header = "id,name,score\n";
  const bad: Array<{
    readonly what: string;
    readonly csv: string;
    readonly code: Code;
    readonly message?: RegExp;
    readonly metadata?: Record<string, unknown>;
    readonly chunkSize?: number;
  }> = [
    {
      what: "malformed CSV (unterminated quote)",
      csv: `${header}1,"abc,2.5\n2,b,3\n`,
      code: Code.InvalidArgument,
    },
    {
      what: "malformed CSV (too many fields)",
      csv: `${header}1,a,2.5\n2,b,3,4\n`,
      code: Code.InvalidArgument,
      message: /line 3/,
    },
    {
      what: "values not matching an explicit schema",
      csv: `${header}1,a,2.5\nx,b,3\n`,
      code: Code.InvalidArgument,
      message: /line 3/,
      metadata: {
        schema: {
          columns: [
            { name: "id", type: ColumnType.INT64 },
            { name: "name", type: ColumnType.STRING },
            { name: "score", type: ColumnType.FLOAT64 },
          ],
        },
      },
    },
    { what: "an empty upload", csv: "", code: Code.InvalidArgument },
    { what: "duplicate column names", csv: "id,name,id\n1,a,2\n", code: Code.InvalidArgument, message: /id/ },
    { what: "an empty column name", csv: "id,,score\n1,a,2\n", code: Code.InvalidArgument },
    {
      what: "a split keyed on a column the data does not have",
      csv: `${header}1,a,2.5\n`,
      code: Code.InvalidArgument,
      message: /key_column/,
      metadata: { split: { trainFraction: 1, keyColumn: "nope" } },
    },
    { what: "an upload over the size limit", csv: irisCsv(1).repeat(20), code: Code.ResourceExhausted },
    {
      what: "an upload over the size limit in large chunks",
      csv: irisCsv(1).repeat(20),
      code: Code.ResourceExhausted,
      chunkSize: 16 * 1024,
    },
  ];

  for (const { what, csv, code, message, metadata, chunkSize } of bad) {
    it(`refuses ${what}`, async () => {
      await upload("kept", irisCsv(9)); // an existing dataset and blob that must survive
      const before = await snapshot();
      const err = await failure(
        client.uploadDatasetVersion(
          uploadStream(
            { dataset: "fresh", createDataset: true, format: CSV, ...metadata },
            csv,
            chunkSize ?? 512,
          ),
        ),
      );
      expect(err.code, err.message).toBe(code);
      if (message !== undefined) expect(err.rawMessage).toMatch(message);
      await expectNothingLeft(before);
      expect((await failure(client.getDataset({ name: "fresh" }))).code).toBe(Code.NotFound);
    });
  }

  it("refuses bad metadata before reading the data", async () => {
    const { version } = await upload("kept", irisCsv(9));
    const before = await snapshot();
    // The body is malformed too: were it read first, the answer would be about the CSV.
    const garbage = '"unterminated\n';
    const cases: Array<[Record<string, unknown>, Code, RegExp]> = [
      [{ dataset: "" }, Code.InvalidArgument, /metadata\.dataset is required/],
      [{ dataset: "a/b" }, Code.InvalidArgument, /metadata\.dataset/],
      [{ format: SourceFormat.UNSPECIFIED }, Code.InvalidArgument, /metadata\.format/],
      [{ createDataset: false }, Code.NotFound, /create_dataset/],
      [{ csv: { delimiter: '"' } }, Code.InvalidArgument, /delimiter/],
      [{ histogramBins: 1001 }, Code.InvalidArgument, /histogram_bins/],
      [{ split: { trainFraction: 0.5, testFraction: 0.4 } }, Code.InvalidArgument, /add up to 1/],
      [{ parents: ["kept"] }, Code.InvalidArgument, /dataset@id/],
      [{ parents: [version.ref, version.ref] }, Code.InvalidArgument, /twice/],
      [
        { parents: [version.ref, `kept@${"0".repeat(24)}`, `gone@${"1".repeat(24)}`] },
        Code.NotFound,
        new RegExp(`kept@${"0".repeat(24)}, gone@${"1".repeat(24)}`),
      ],
      [
        {
          schema: {
            columns: [
              { name: "a", type: ColumnType.INT64 },
              { name: "a", type: ColumnType.STRING },
            ],
          },
        },
        Code.InvalidArgument,
        /twice|duplicate/,
      ],
      [{ schema: { columns: [{ name: "a" }] } }, Code.InvalidArgument, /type/],
      [{ tags: { "": "x" } }, Code.InvalidArgument, /metadata\.tags/],
    ];
    for (const [metadata, code, message] of cases) {
      const err = await failure(
        client.uploadDatasetVersion(
          uploadStream({ dataset: "fresh", createDataset: true, format: CSV, ...metadata }, garbage),
        ),
      );
      expect(
        [err.code, err.rawMessage],
        JSON.stringify(metadata, (_, v) => (typeof v === "bigint" ? `${v}` : v)),
      ).toEqual([code, expect.stringMatching(message)]);
    }
    await expectNothingLeft(before);
  });

  it("refuses a stream that starts with a chunk or carries metadata twice", async () => {
    const before = await snapshot();
    async function* chunkFirst(): AsyncGenerator<UploadDatasetVersionRequest> {
      yield* [] as UploadDatasetVersionRequest[];
      const stream = uploadStream({ dataset: "x", createDataset: true, format: CSV }, "a\n1\n");
      await stream.next(); // drop the metadata
      yield* stream;
    }
    expect((await failure(client.uploadDatasetVersion(chunkFirst()))).rawMessage).toMatch(/first message/);
    async function* twice(): AsyncGenerator<UploadDatasetVersionRequest> {
      const meta = { dataset: "x", createDataset: true, format: CSV };
      yield* uploadStream(meta, "a\n1\n");
      yield* uploadStream(meta, "");
    }
    const err = await failure(client.uploadDatasetVersion(twice()));
    expect([err.code, err.rawMessage]).toEqual([
      Code.InvalidArgument,
      expect.stringMatching(/only the first/),
    ]);
    expect((await failure(client.uploadDatasetVersion(uploadStream({}, "")))).code).toBe(
      Code.InvalidArgument,
    );
    await expectNothingLeft(before);
  });

  it("releases its blob when the commit fails, but not a blob another dataset uses", async () => {
    const shared = irisCsv(7);
    const { version: kept } = await upload("kept", shared);
    await client.createDataset({ name: "doomed" });
    const before = await snapshot();
    // The dataset is deleted after the data was sent but before the version is committed.
    async function* deletedMeanwhile(csv: string): AsyncGenerator<UploadDatasetVersionRequest> {
      yield* uploadStream({ dataset: "doomed", format: CSV }, csv);
      await client.deleteDataset({ name: "doomed" });
    }
    const err = await failure(client.uploadDatasetVersion(deletedMeanwhile(irisCsv(8))));
    expect([err.code, err.rawMessage]).toEqual([Code.NotFound, expect.stringMatching(/doomed/)]);
    await datasets.idle();
    expect(await snapshot()).toEqual({ ...before, keys: before.keys.filter((k) => !k.endsWith("/doomed")) });

    await client.createDataset({ name: "doomed" });
    const again = await failure(client.uploadDatasetVersion(deletedMeanwhile(shared)));
    expect(again.code).toBe(Code.NotFound);
    await datasets.idle();
    expect(await stores.blobs.stat(kept.sha256)).toBeDefined();
    expect(await blobFiles()).toEqual(before.blobs);
  });

  it("releases its blob when the statistics fail after the blob was stored", async () => {
    await upload("kept", irisCsv(9));
    const before = await snapshot();
    // The blob is stored while the statistics' last pass runs; that pass fails here.
    const finish = vi.spyOn(ConcurrentStats.prototype, "finish").mockImplementationOnce(async () => {
      await new Promise((resolve) => setTimeout(resolve, 50));
      throw new Error("statistics failed");
    });
    try {
      const err = await failure(upload("fresh", irisCsv(10)));
      expect(err.code).toBe(Code.Internal);
    } finally {
      finish.mockRestore();
    }
    await expectNothingLeft(before);
  });

  it("leaves nothing when the client cancels midway", async () => {
    await upload("kept", irisCsv(9));
    const before = await snapshot();
    const controller = new AbortController();
    const csv = irisCsv(5);
    async function* cancelling(): AsyncGenerator<UploadDatasetVersionRequest> {
      const stream = uploadStream({ dataset: "fresh", createDataset: true, format: CSV }, csv, 256);
      for (let i = 0; i < 6; i++) {
        const next = await stream.next();
        if (next.done === true) return;
        yield next.value;
      }
      // Let the server start writing its temp file, then give up mid-file.
      await new Promise((resolve) => setTimeout(resolve, 20));
      controller.abort();
      await new Promise((resolve) => setTimeout(resolve, 50));
      yield* stream;
    }
    const err = await failure(client.uploadDatasetVersion(cancelling(), { signal: controller.signal }));
    expect(err.code).toBe(Code.Canceled);
    await expectNothingLeft(before);
    expect((await failure(client.getDataset({ name: "fresh" }))).code).toBe(Code.NotFound);
  });
});

describe("version requests", () => {
  let version: DatasetVersion;

  beforeEach(async () => {
    ({ version } = await upload("iris", irisCsv(6)));
  });

  it("refuses a split filter on a version without splits and bad read arguments", async () => {
    const noSplits = await failure(readTable({ split: Split.TEST }));
    expect(noSplits.code).toBe(Code.FailedPrecondition);
    expect((await failure(client.readDatasetRows({ dataset: "iris", split: Split.TRAIN }))).code).toBe(
      Code.FailedPrecondition,
    );
    for (const req of [
      { columns: ["nope"] },
      { columns: ["id", "id"] },
      { offset: -1n },
      { limit: -1n },
      { batchRows: -1 },
      { version: "xyz" },
    ]) {
      expect(
        (await failure(readTable(req))).code,
        JSON.stringify(req, (_, v) => `${v}`),
      ).toBe(Code.InvalidArgument);
    }
    expect((await failure(client.readDatasetRows({ dataset: "iris", limit: 1001n }))).code).toBe(
      Code.InvalidArgument,
    );
    expect((await client.readDatasetRows({ dataset: "iris", limit: 1000n })).rows).toHaveLength(150);
    expect((await client.readDatasetRows({ dataset: "iris", offset: 149n })).rows).toHaveLength(1);
    expect((await readTable({ offset: 200n })).numRows).toBe(0);
  });

  it("splits large record batches over messages of bounded size", async () => {
    const small = createTestDatasets({
      meta: stores.meta,
      blobs: stores.blobs,
      lineage,
      tmpDir: stores.tmpDir,
      maxReadMessageBytes: 1000,
    }).client;
    const parts: Uint8Array[] = [];
    const rows: bigint[] = [];
    for await (const m of small.readDatasetVersion({ dataset: "iris", batchRows: 100 })) {
      expect(m.arrowIpc.byteLength).toBeLessThanOrEqual(1000);
      parts.push(m.arrowIpc);
      rows.push(m.rows);
    }
    expect(parts.length).toBeGreaterThan(4);
    expect(rows.reduce((a, b) => a + b, 0n)).toBe(150n);
    expect(rows.filter((r) => r > 0n)).toEqual([100n, 50n]);
    const table = tableFromIPC(Buffer.concat(parts));
    expect(table.numRows).toBe(150);
    expect(table.getChild("id")?.get(149)).toBe(150n);
    expect(version.rowCount).toBe(150n);
  });

  it("answers NOT_FOUND for unknown datasets and versions, and refuses bad names and tokens", async () => {
    expect(
      (await failure(client.getDatasetVersion({ dataset: "iris", version: "0".repeat(24) }))).rawMessage,
    ).toMatch(/version iris@0{24} not found/);
    expect((await failure(client.getDatasetVersion({ dataset: "nope" }))).rawMessage).toMatch(
      /dataset "nope" not found/,
    );
    await client.createDataset({ name: "empty" });
    expect((await failure(client.getDatasetVersion({ dataset: "empty" }))).code).toBe(Code.NotFound);
    expect((await failure(client.createDataset({ name: "iris" }))).code).toBe(Code.AlreadyExists);
    expect((await failure(client.createDataset({ name: "-bad" }))).code).toBe(Code.InvalidArgument);
    expect((await failure(client.listDatasets({ pageSize: 1001 }))).code).toBe(Code.InvalidArgument);
    expect((await failure(client.listDatasets({ pageToken: "bogus" }))).code).toBe(Code.InvalidArgument);
    expect((await failure(client.listDatasetVersions({ dataset: "iris", pageToken: "bogus" }))).code).toBe(
      Code.InvalidArgument,
    );
    expect((await failure(client.deleteDataset({ name: "nope" }))).code).toBe(Code.NotFound);
    expect((await failure(client.splitDatasetVersion({ dataset: "iris" }))).code).toBe(Code.InvalidArgument);
    expect(
      (
        await failure(
          client.splitDatasetVersion({
            dataset: "iris",
            version: version.id,
            spec: { trainFraction: 1, keyColumn: "sepal_length" },
          }),
        )
      ).code,
    ).toBe(Code.InvalidArgument);
  });
});
