import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import {
  type Client,
  Code,
  ConnectError,
  createClient,
  createRouterTransport,
  type ServiceImpl,
} from "@connectrpc/connect";
import { createTestDatasets } from "@seam/datasets/testing";
import { createLogger } from "@seam/kit/logging";
import { createRandom } from "@seam/kit/random";
import { openStores, type Stores } from "@seam/kit/storage";
import { ColumnType, DatasetService } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { PredictionLog, type PredictionLogOptions, type PredictionRecord } from "./index.js";

/** A real DatasetsService on LMDB stores in a temp dir, behind Connect's router transport. */
interface TestDatasets {
  readonly client: Client<typeof DatasetService>;
  close(): Promise<void>;
}

async function startDatasets(): Promise<TestDatasets> {
  const dataDir = await mkdtemp(join(tmpdir(), "seam-prediction-log-"));
  const stores: Stores = await openStores({ dataDir });
  const { client } = createTestDatasets({
    meta: stores.meta,
    blobs: stores.blobs,
    tmpDir: join(dataDir, "tmp"),
  });
  return {
    client,
    async close() {
      await stores.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** A datasets client on a router implementing only `impl` (the rest is UNIMPLEMENTED). */
function fakeDatasets(impl: Partial<ServiceImpl<typeof DatasetService>>): Client<typeof DatasetService> {
  return createClient(
    DatasetService,
    createRouterTransport(({ service }) => service(DatasetService, impl)),
  );
}

function record(i: number, overrides: Partial<PredictionRecord> = {}): PredictionRecord {
  return {
    time: new Date(Date.UTC(2025, 0, 2, 3, 4, 5, i)),
    requestId: `req-${i}`,
    traceId: i % 2 === 0 ? "" : "4bf92f3577b34da6a3ce929d0e0e4736",
    modelName: "iris",
    modelVersion: 3,
    route: "/seam.inference.v1.InferenceService/Predict",
    inputs: { features: [5.1 + i, 3.5, 1.4, 0.2] },
    outputs: { label: [i % 3], probabilities: [0.9, 0.05, 0.05] },
    ...overrides,
  };
}

const HOUR = 3_600_000;

function options(dataset: string, overrides: Partial<PredictionLogOptions> = {}): PredictionLogOptions {
  // A long interval: tests flush explicitly unless they test the timer.
  return {
    dataset,
    sampleRate: 1,
    maxBufferedRecords: 1000,
    flushIntervalMs: HOUR,
    maxRecordsPerFlush: 1000,
    ...overrides,
  };
}

/** A logger writing into a string, to check what failures log. */
function capturedLogger() {
  const stream = new PassThrough();
  let text = "";
  stream.on("data", (chunk: Buffer) => {
    text += chunk.toString("utf8");
  });
  return { logger: createLogger({ service: "inference", destination: stream }), text: () => text };
}

describe("PredictionLog", () => {
  let datasets: TestDatasets;
  const logs: PredictionLog[] = [];

  beforeAll(async () => {
    datasets = await startDatasets();
  });
  afterEach(async () => {
    for (const log of logs.splice(0)) await log.close();
  });
  afterAll(async () => {
    await datasets.close();
  });

  function open(client: Client<typeof DatasetService>, opts: PredictionLogOptions): PredictionLog {
    const log = new PredictionLog(client, opts);
    logs.push(log);
    return log;
  }

  it("writes the sampled rows with the log's columns, creating the dataset", async () => {
    const log = open(datasets.client, options("preds-columns"));
    for (let i = 0; i < 3; i++) log.offer(() => record(i));
    expect(log.stats()).toMatchObject({ sampled: 3, buffered: 3, written: 0 });

    await log.flush();

    expect(log.stats()).toEqual({
      sampled: 3,
      dropped: 0,
      written: 3,
      failedFlushes: 0,
      buffered: 0,
      versions: 1,
    });
    const { dataset } = await datasets.client.getDataset({ name: "preds-columns" });
    expect(dataset?.description).toMatch(/predictions/);
    expect(dataset?.versionCount).toBe(1n);

    const read = await datasets.client.readDatasetRows({ dataset: "preds-columns" });
    expect(read.schema?.columns.map((c) => [c.name, c.type])).toEqual([
      ["time", ColumnType.TIMESTAMP],
      ["request_id", ColumnType.STRING],
      ["trace_id", ColumnType.STRING],
      ["model_name", ColumnType.STRING],
      ["model_version", ColumnType.INT64],
      ["route", ColumnType.STRING],
      ["inputs", ColumnType.STRING],
      ["outputs", ColumnType.STRING],
    ]);
    const rows = read.rows;
    expect(rows).toHaveLength(3);
    expect(rows[1]).toEqual({
      time: "2025-01-02T03:04:05.001Z",
      request_id: "req-1",
      trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
      model_name: "iris",
      model_version: 3,
      route: "/seam.inference.v1.InferenceService/Predict",
      inputs: JSON.stringify({ features: [6.1, 3.5, 1.4, 0.2] }),
      outputs: JSON.stringify({ label: [1], probabilities: [0.9, 0.05, 0.05] }),
    });
    expect(rows.map((row) => row.request_id)).toEqual(["req-0", "req-1", "req-2"]);
    expect(JSON.parse(rows[2]?.inputs as string)).toEqual({ features: [7.1, 3.5, 1.4, 0.2] });
  });

  it("appends one version per flush, each naming the previous one as its parent", async () => {
    const log = open(datasets.client, options("preds-chain"));
    log.offer(() => record(1));
    await log.flush();
    await log.flush(); // nothing buffered: no empty version
    log.offer(() => record(2));
    log.offer(() => record(3));
    await log.flush();

    expect(log.stats()).toMatchObject({ written: 3, versions: 2 });
    const { versions } = await datasets.client.listDatasetVersions({ dataset: "preds-chain" });
    expect(versions).toHaveLength(2);
    const [second, first] = versions; // newest first
    expect(first?.parents).toEqual([]);
    expect(first?.rowCount).toBe(1n);
    expect(first?.derivedBy).toBe("inference.PredictionLog");
    expect(second?.parents).toEqual([first?.ref]);
    expect(second?.rowCount).toBe(2n);
  });

  it("splits a flush into versions of at most maxRecordsPerFlush rows, chained", async () => {
    // A full batch also flushes early: the long interval cannot be what writes it.
    const log = open(datasets.client, options("preds-batches", { maxRecordsPerFlush: 2 }));
    for (let i = 0; i < 5; i++) log.offer(() => record(i));
    await log.flush();
    await vi.waitFor(() => expect(log.stats()).toMatchObject({ written: 5, buffered: 0 }));

    const { versions } = await datasets.client.listDatasetVersions({ dataset: "preds-batches" });
    expect(versions.map((v) => v.rowCount)).toEqual([1n, 2n, 2n]);
    expect(versions[2]?.parents).toEqual([]);
    expect(versions[1]?.parents).toEqual([versions[2]?.ref]);
    expect(versions[0]?.parents).toEqual([versions[1]?.ref]);
    expect(log.stats().versions).toBe(3);
  });

  it("flushes a full batch before the interval ends", async () => {
    const log = open(datasets.client, options("preds-early", { maxRecordsPerFlush: 3 }));
    for (let i = 0; i < 3; i++) log.offer(() => record(i));
    await vi.waitFor(() => expect(log.stats()).toMatchObject({ written: 3, versions: 1 }));
  });

  it("flushes on the timer", async () => {
    const log = open(datasets.client, options("preds-timer", { flushIntervalMs: 20 }));
    log.offer(() => record(1));
    await vi.waitFor(() => expect(log.stats()).toMatchObject({ written: 1, buffered: 0 }));
    const { dataset } = await datasets.client.getDataset({ name: "preds-timer" });
    expect(dataset?.versionCount).toBe(1n);
  });

  it("samples at the configured rate with the given random numbers, building only sampled records", async () => {
    const log = open(
      datasets.client,
      options("preds-sampled", { sampleRate: 0.25, random: createRandom(42), maxBufferedRecords: 10_000 }),
    );
    let built = 0;
    for (let i = 0; i < 4000; i++) {
      log.offer(() => {
        built++;
        return record(i);
      });
    }
    // The same seed draws the same numbers: exactly those below the rate are sampled.
    const draws = createRandom(42);
    let expected = 0;
    for (let i = 0; i < 4000; i++) if (draws() < 0.25) expected++;
    expect(expected).toBeGreaterThan(900);
    expect(expected).toBeLessThan(1100);
    expect(log.stats()).toMatchObject({ sampled: expected, buffered: expected, dropped: 0 });
    expect(built).toBe(expected);
  });

  it("never samples at rate 0 and always at rate 1, without drawing", async () => {
    const random = vi.fn(() => 0);
    const never = open(datasets.client, options("preds-never", { sampleRate: 0, random }));
    const always = open(datasets.client, options("preds-always", { sampleRate: 1, random }));
    const thunk = vi.fn(() => record(0));
    for (let i = 0; i < 100; i++) never.offer(thunk);
    expect(thunk).not.toHaveBeenCalled();
    expect(never.stats()).toMatchObject({ sampled: 0, buffered: 0 });
    for (let i = 0; i < 100; i++) always.offer(thunk);
    expect(thunk).toHaveBeenCalledTimes(100);
    expect(always.stats()).toMatchObject({ sampled: 100, buffered: 100 });
    expect(random).not.toHaveBeenCalled();
  });

  it("drops and counts records beyond the buffer bound, without building them", async () => {
    const { logger, text } = capturedLogger();
    const log = open(datasets.client, options("preds-bounded", { maxBufferedRecords: 5, logger }));
    const thunk = vi.fn((i: number) => record(i));
    for (let i = 0; i < 8; i++) log.offer(() => thunk(i));
    expect(log.stats()).toMatchObject({ sampled: 8, dropped: 3, buffered: 5 });
    expect(thunk).toHaveBeenCalledTimes(5);
    expect(text().match(/buffer is full/g)).toHaveLength(1); // once, not per drop

    await log.flush();
    expect(log.stats()).toMatchObject({ sampled: 8, dropped: 3, written: 5, buffered: 0 });
    log.offer(() => record(9));
    expect(log.stats()).toMatchObject({ sampled: 9, dropped: 3, buffered: 1 });
  });

  it("counts the records being uploaded against the buffer bound", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const client = fakeDatasets({
      createDataset: async () => ({}),
      uploadDatasetVersion: async (requests) => {
        for await (const _ of requests);
        await released;
        return { version: { dataset: "held", id: "a".repeat(24), ref: `held@${"a".repeat(24)}` } };
      },
    });
    const log = open(client, options("held", { maxBufferedRecords: 3 }));
    for (let i = 0; i < 3; i++) log.offer(() => record(i));
    const flushed = log.flush();
    try {
      await vi.waitFor(() => expect(log.stats().buffered).toBe(3));
      log.offer(() => record(4));
      expect(log.stats()).toMatchObject({ sampled: 4, dropped: 1, buffered: 3 });
    } finally {
      release(); // a failed expectation must not leave the upload (and close()) hanging
    }
    await flushed;
    expect(log.stats()).toMatchObject({ sampled: 4, dropped: 1, written: 3, buffered: 0, versions: 1 });
  });

  it("keeps offer instant and counts the failure when the dataset service fails", async () => {
    const { logger, text } = capturedLogger();
    let uploads = 0;
    const client = fakeDatasets({
      createDataset: async () => ({}),
      uploadDatasetVersion: async (requests) => {
        uploads++;
        for await (const _ of requests);
        throw new ConnectError("the dataset service is down", Code.Unavailable);
      },
    });
    const log = open(client, options("preds-failing", { logger }));
    const started = performance.now();
    for (let i = 0; i < 50; i++) {
      log.offer(() => record(i, { inputs: { secret: ["s3cr3t-payload"] } }));
    }
    expect(performance.now() - started).toBeLessThan(50);

    await log.flush();
    expect(uploads).toBe(1);
    expect(log.stats()).toEqual({
      sampled: 50,
      dropped: 50,
      written: 0,
      failedFlushes: 1,
      buffered: 0,
      versions: 0,
    });
    expect(text()).toContain("writing sampled predictions to the dataset service failed");
    expect(text()).toContain("Unavailable");
    expect(text()).not.toContain("s3cr3t-payload");

    // Still working: the next batch is tried again.
    log.offer(() => record(51));
    await log.flush();
    expect(uploads).toBe(2);
    expect(log.stats()).toMatchObject({ sampled: 51, dropped: 51, failedFlushes: 2 });
  });

  it("gives up on an upload that takes longer than uploadTimeoutMs", async () => {
    const { logger, text } = capturedLogger();
    const client = fakeDatasets({
      createDataset: async () => ({}),
      uploadDatasetVersion: (_requests, ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason));
        }),
    });
    const log = open(client, options("preds-slow", { uploadTimeoutMs: 50, logger }));
    log.offer(() => record(1));
    await log.flush();
    expect(log.stats()).toMatchObject({ dropped: 1, failedFlushes: 1, buffered: 0 });
    expect(text()).toContain("DeadlineExceeded");
  });

  it("counts a failure to create the dataset as a failed flush", async () => {
    const client = fakeDatasets({
      createDataset: async () => {
        throw new ConnectError("no", Code.PermissionDenied);
      },
    });
    const log = open(client, options("preds-denied"));
    log.offer(() => record(1));
    await log.flush();
    expect(log.stats()).toMatchObject({ dropped: 1, failedFlushes: 1, written: 0 });
  });

  it("does not log the values the dataset service quotes when it refuses the data", async () => {
    const { logger, text } = capturedLogger();
    const client = fakeDatasets({
      createDataset: async () => {
        throw new ConnectError("taken", Code.AlreadyExists); // another replica made it: fine
      },
      uploadDatasetVersion: async (requests) => {
        for await (const _ of requests);
        throw new ConnectError('line 1, column "inputs": "s3cr3t-payload" is not ...', Code.InvalidArgument);
      },
    });
    const log = open(client, options("preds-refused", { logger }));
    log.offer(() => record(1));
    await log.flush();
    expect(log.stats()).toMatchObject({ dropped: 1, failedFlushes: 1 });
    expect(text()).toContain("InvalidArgument");
    expect(text()).not.toContain("s3cr3t-payload");
  });

  it("uploads one batch at a time", async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let n = 0;
    const client = fakeDatasets({
      createDataset: async () => ({}),
      uploadDatasetVersion: async (requests) => {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        for await (const _ of requests);
        await new Promise((resolve) => setTimeout(resolve, 20));
        inFlight--;
        const id = (++n).toString(16).padStart(24, "0");
        return { version: { dataset: "one", id, ref: `one@${id}` } };
      },
    });
    const log = open(client, options("one", { flushIntervalMs: 5, maxRecordsPerFlush: 2 }));
    for (let i = 0; i < 10; i++) log.offer(() => record(i));
    await Promise.all([log.flush(), log.flush(), log.flush()]);
    await vi.waitFor(() => expect(log.stats()).toMatchObject({ written: 10, buffered: 0 }));
    expect(maxInFlight).toBe(1);
    expect(n).toBe(5);
  });

  it("drops records that are not JSON-able or out of range, writing the rest", async () => {
    const { logger, text } = capturedLogger();
    const log = open(datasets.client, options("preds-invalid", { logger }));
    log.offer(() => record(0));
    log.offer(() => {
      throw new Error("tensor conversion failed: s3cr3t-payload");
    });
    log.offer(() => record(2, { inputs: { ids: [1n] } }));
    log.offer(() => record(3, { time: new Date(Number.NaN) }));
    log.offer(() => record(4, { modelVersion: 1.5 }));
    log.offer(() => record(5, { outputs: undefined as unknown as Record<string, unknown> }));
    log.offer(() => record(6));
    await log.flush();
    expect(log.stats()).toMatchObject({ sampled: 7, dropped: 5, written: 2, failedFlushes: 0, buffered: 0 });
    const read = await datasets.client.readDatasetRows({ dataset: "preds-invalid" });
    expect(read.rows).toMatchObject([{ request_id: "req-0" }, { request_id: "req-6" }]);
    expect(text()).not.toContain("s3cr3t-payload");
  });

  it("starts a new chain when the dataset was deleted under it", async () => {
    const log = open(datasets.client, options("preds-deleted"));
    log.offer(() => record(1));
    await log.flush();
    await datasets.client.deleteDataset({ name: "preds-deleted" });

    log.offer(() => record(2));
    await log.flush(); // the parent is gone: NOT_FOUND
    expect(log.stats()).toMatchObject({ written: 1, dropped: 1, failedFlushes: 1 });

    log.offer(() => record(3));
    await log.flush();
    expect(log.stats()).toMatchObject({ written: 2, versions: 2 });
    const { versions } = await datasets.client.listDatasetVersions({ dataset: "preds-deleted" });
    expect(versions).toHaveLength(1);
    expect(versions[0]?.parents).toEqual([]);
  });

  it("close() flushes, stops the timer and drops later offers", async () => {
    const log = new PredictionLog(datasets.client, options("preds-closed"));
    for (let i = 0; i < 4; i++) log.offer(() => record(i));
    await log.close();
    expect(log.stats()).toMatchObject({ sampled: 4, written: 4, buffered: 0, versions: 1 });
    const read = await datasets.client.readDatasetRows({ dataset: "preds-closed" });
    expect(read.rows).toHaveLength(4);

    const thunk = vi.fn(() => record(9));
    log.offer(thunk);
    expect(thunk).not.toHaveBeenCalled();
    expect(log.stats()).toMatchObject({ sampled: 5, dropped: 1, buffered: 0 });
    await log.close(); // idempotent
  });

  it("close() drops what it could not write", async () => {
    const client = fakeDatasets({
      createDataset: async () => {
        throw new ConnectError("down", Code.Unavailable);
      },
    });
    const log = new PredictionLog(client, options("preds-close-failing", { maxRecordsPerFlush: 1 }));
    // Two batches: the first fails, so the second is never tried.
    log.offer(() => record(1));
    log.offer(() => record(2));
    await log.close();
    expect(log.stats()).toMatchObject({ sampled: 2, dropped: 2, failedFlushes: 1, buffered: 0 });
  });

  it("refuses invalid options", () => {
    const bad: Array<Partial<PredictionLogOptions>> = [
      { dataset: "bad/name" },
      { sampleRate: 1.5 },
      { sampleRate: Number.NaN },
      { maxBufferedRecords: 0 },
      { maxRecordsPerFlush: 2.5 },
      { flushIntervalMs: 2 ** 31 },
      { uploadTimeoutMs: -1 },
    ];
    for (const overrides of bad) {
      expect(() => new PredictionLog(datasets.client, options("preds-options", overrides))).toThrow(
        RangeError,
      );
    }
  });
});
