import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeSync,
} from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { getPriority, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { create, toBinary } from "@bufbuild/protobuf";
import { DataLossError } from "@seam/kit/errors";
import {
  type ColumnStats,
  ColumnStatsSchema,
  ColumnType,
  SchemaSchema,
  SourceFormat,
} from "@seam/proto/seam/datasets/v1/datasets_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BatchObserver, type IngestResult, ingest } from "../ingest/index.js";
import { ConcurrentStats, type ConcurrentStatsOptions, computeStats, openArrowFile } from "./index.js";
import { prng } from "./test-support.js";

// The worker thread runs the BUILT entry (dist/stats/stats-worker.js): from src/ there is
// no JavaScript to load in a worker, which is why ConcurrentStats falls back in-process.
const here = dirname(fileURLToPath(import.meta.url));
const datasetsRoot = join(here, "..", "..");
const workerJs = join(datasetsRoot, "dist", "stats", "stats-worker.js");

beforeAll(() => {
  // Incremental, so cheap when already built; type errors elsewhere do not stop emitting.
  try {
    const tsc = join(datasetsRoot, "..", "..", "node_modules", "typescript", "bin", "tsc");
    execFileSync(process.execPath, [tsc, "-b", join(datasetsRoot, "tsconfig.json")], { stdio: "pipe" });
  } catch {
    // checked below
  }
  if (!existsSync(workerJs)) throw new Error(`build did not produce ${workerJs}`);
});

const WORDS = ["alpha", "beta", "gamma", "délta", "日本", "🎉", "zeta", ""];

/**
 * A CSV beyond the 4 MiB inference window whose last rows contradict the inferred schema:
 * `late` becomes float64 (the conversion starts over: a second stream) and, with `lateNull`,
 * `dense` gets its first null (the schema message is rewritten).
 */
function* csvChunks(rows: number, restart: boolean, lateNull = true): Generator<Uint8Array> {
  const rand = prng(7);
  let text = "id,x,b,s,t,late,dense\n";
  for (let i = 0; i < rows; i++) {
    const last = i === rows - 1;
    const x = rand() < 0.05 ? "" : ((rand() - 0.3) * 1e6).toFixed(3);
    const b = rand() < 0.1 ? "" : rand() < 0.5 ? "true" : "false";
    const w = WORDS[Math.floor(rand() * WORDS.length)] as string;
    const s = rand() < 0.05 ? "" : `"${w} ${Math.floor(rand() * 5000)}"`;
    const t = rand() < 0.05 ? "" : new Date(Date.UTC(2020, 0, 1) + Math.floor(rand() * 1e11)).toISOString();
    const late = last && restart ? "1.5" : String(Math.floor(rand() * 100) - 50);
    const dense = last && lateNull ? "" : String(i % 97);
    text += `${i},${x},${b},${s},${t},${late},${dense}\n`;
    if (text.length > 1 << 16) {
      yield Buffer.from(text);
      text = "";
    }
  }
  yield Buffer.from(text);
}

async function* asAsync(chunks: Iterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

const binary = (stats: ColumnStats[]): Uint8Array[] => stats.map((s) => toBinary(ColumnStatsSchema, s));

describe("ConcurrentStats", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "seam-concurrent-stats-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function ingestWith(
    options: ConcurrentStatsOptions,
    rows: number,
    restart: boolean,
  ): Promise<{
    observed: ColumnStats[];
    reference: ColumnStats[];
    ingested: IngestResult;
    threaded: boolean;
    threadId: number | undefined;
  }> {
    const stats = ConcurrentStats.start(options);
    try {
      const ingested = await ingest(asAsync(csvChunks(rows, restart)), {
        format: SourceFormat.CSV,
        maxSourceBytes: 1 << 30,
        tmpDir: dir,
        batchRows: 1000,
        observer: stats,
      });
      const observed = await stats.finish(ingested.arrowPath, ingested.schema);
      const reference = await computeStats(openArrowFile(ingested.arrowPath), ingested.schema, options);
      return { observed, reference, ingested, threaded: stats.threaded, threadId: stats.threadId };
    } finally {
      await stats.close();
    }
  }

  /** A worker-backed ConcurrentStats and a 100-row upload it observed, its statistics not asked yet. */
  async function observedSmallUpload(): Promise<{ stats: ConcurrentStats; ingested: IngestResult }> {
    const stats = ConcurrentStats.start({ histogramBins: 10, worker: pathToFileURL(workerJs) });
    const ingested = await ingest(asAsync(csvChunks(100, false)), {
      format: SourceFormat.CSV,
      maxSourceBytes: 1 << 30,
      tmpDir: dir,
      observer: stats,
    });
    return { stats, ingested };
  }

  for (const [name, worker] of [
    ["a worker thread (built entry)", pathToFileURL(workerJs)],
    ["the in-process fallback", "in-process"],
  ] as const) {
    it(`gives exactly computeStats' result through ${name}, across an inference restart and a late null`, async () => {
      // ~6 MiB: past the inference window; a tiny in-flight bound makes ingest wait often.
      const { observed, reference, ingested, threaded } = await ingestWith(
        { histogramBins: 13, worker, maxInFlightBytes: 1 },
        90_000,
        true,
      );
      expect(threaded).toBe(worker !== "in-process");
      expect(ingested.schema.columns.map((c) => [c.name, c.type, c.nullable])).toEqual([
        ["id", ColumnType.INT64, false],
        ["x", ColumnType.FLOAT64, true],
        ["b", ColumnType.BOOL, true],
        ["s", ColumnType.STRING, true],
        ["t", ColumnType.TIMESTAMP, true],
        ["late", ColumnType.FLOAT64, false],
        ["dense", ColumnType.INT64, true],
      ]);
      expect(observed).toEqual(reference);
      expect(binary(observed)).toEqual(binary(reference));
      await ingested.cleanup();
    });
  }

  for (const [name, worker] of [
    ["a worker thread (built entry)", pathToFileURL(workerJs)],
    ["the in-process fallback", "in-process"],
  ] as const) {
    it(`hashes the stream for ingest through ${name}: the stored file's sha256, with or without a restart`, async () => {
      for (const restart of [false, true]) {
        const stats = ConcurrentStats.start({ histogramBins: 10, worker, maxInFlightBytes: 1 });
        const options = { format: SourceFormat.CSV, maxSourceBytes: 1 << 30, tmpDir: dir, batchRows: 1000 };
        try {
          // No late null: the digest the observer returns is the content address.
          const observed = await ingest(asAsync(csvChunks(90_000, restart, false)), {
            ...options,
            observer: stats,
          });
          const alone = await ingest(asAsync(csvChunks(90_000, restart, false)), options);
          const file = createHash("sha256")
            .update(await readFile(observed.arrowPath))
            .digest("hex");
          expect(observed.sha256).toBe(file);
          expect(alone.sha256).toBe(file);
          // Only the observer's digest was checked against the file read back.
          expect([observed.fileChecked, alone.fileChecked]).toEqual([true, false]);
          await Promise.all([observed.cleanup(), alone.cleanup()]);
        } finally {
          await stats.close();
        }
      }
    });
  }

  for (const [name, worker] of [
    ["a worker thread (built entry)", pathToFileURL(workerJs)],
    ["the in-process fallback", "in-process"],
  ] as const) {
    it(`fails ingest with DataLossError through ${name} when the file does not hold what was written`, async () => {
      for (const damage of ["flip", "truncate"] as const) {
        const stats = ConcurrentStats.start({ histogramBins: 10, worker });
        let path = "";
        let batches = 0;
        // Between the write and the check of the third batch, something else changes the file.
        const tampering: BatchObserver = {
          start: (schema, schemaMessage, file) => {
            path = file;
            stats.start(schema, schemaMessage, file);
          },
          batch: (message) => {
            if (++batches === 3) {
              const size = statSync(path).size;
              if (damage === "truncate") truncateSync(path, size - 1);
              else {
                const fd = openSync(path, "r+");
                writeSync(fd, Buffer.from([0xff ^ (message[message.length - 1] as number)]), 0, 1, size - 1);
                closeSync(fd);
              }
            }
            stats.batch(message);
          },
          ready: () => stats.ready(),
          digest: (trailer) => stats.digest(trailer),
        };
        try {
          const ingested = ingest(asAsync(csvChunks(20_000, false, false)), {
            format: SourceFormat.CSV,
            maxSourceBytes: 1 << 30,
            tmpDir: dir,
            batchRows: 1000,
            observer: tampering,
          });
          await expect(ingested).rejects.toBeInstanceOf(DataLossError);
          // A truncated file reads short, or as a hole once the next batch is written past it.
          await expect(ingested).rejects.toThrow(
            damage === "flip" ? /differs at byte/ : /ends at byte|differs at byte/,
          );
          // Ingest removed what it wrote.
          expect(existsSync(path)).toBe(false);
        } finally {
          await stats.close();
        }
      }
    });
  }

  it("refuses a digest once closed: a batch missed would make it wrong", async () => {
    const stats = ConcurrentStats.start({ histogramBins: 10, worker: pathToFileURL(workerJs) });
    await stats.close();
    await expect(stats.digest(new Uint8Array(8))).rejects.toThrow(/closed/);
  });

  it("matches computeStats with string sketches past their exact limit, through the worker", async () => {
    const options = {
      histogramBins: 4,
      stringLimits: { exactDistinct: 50, sketchCounters: 16, topValues: 3 },
      worker: pathToFileURL(workerJs),
    };
    const { observed, reference, ingested } = await ingestWith(options, 5_000, false);
    expect(binary(observed)).toEqual(binary(reference));
    await ingested.cleanup();
  });

  it("serves upload after upload from one pooled worker, each with its own options", async () => {
    const worker = pathToFileURL(workerJs);
    const first = await ingestWith({ histogramBins: 5, worker }, 3_000, false);
    const second = await ingestWith(
      { histogramBins: 9, worker, stringLimits: { exactDistinct: 20, sketchCounters: 8, topValues: 2 } },
      4_000,
      true,
    );
    expect(first.threadId).toBeGreaterThan(0);
    expect(second.threadId).toBe(first.threadId);
    expect(binary(first.observed)).toEqual(binary(first.reference));
    expect(binary(second.observed)).toEqual(binary(second.reference));
    await first.ingested.cleanup();
    await second.ingested.cleanup();
  });

  it("reuses the worker of an upload that never asked for its statistics once it has caught up", async () => {
    // An upload of content already stored stops before `finish`.
    const worker = pathToFileURL(workerJs);
    const stats = ConcurrentStats.start({ histogramBins: 10, worker, maxInFlightBytes: 1 });
    const ingested = await ingest(asAsync(csvChunks(3_000, false)), {
      format: SourceFormat.CSV,
      maxSourceBytes: 1 << 30,
      tmpDir: dir,
      batchRows: 500,
      observer: stats,
    });
    await stats.ready(); // every batch acknowledged
    await stats.close();
    const next = await ingestWith({ histogramBins: 10, worker }, 100, false);
    expect(next.threadId).toBe(stats.threadId);
    await ingested.cleanup();
    await next.ingested.cleanup();
  });

  it("keeps idle workers from holding the process open", () => {
    // A process that ran one upload's statistics, and prestarted a worker, exits by itself.
    const script = `
      import { Readable } from "node:stream";
      import { ingest } from ${JSON.stringify(pathToFileURL(join(datasetsRoot, "dist", "ingest", "index.js")).href)};
      import { ConcurrentStats, prestartStatsWorker } from ${JSON.stringify(pathToFileURL(join(datasetsRoot, "dist", "stats", "index.js")).href)};
      prestartStatsWorker();
      const stats = ConcurrentStats.start({ histogramBins: 3 });
      const ingested = await ingest(Readable.from([Buffer.from("a,b\\n1,x\\n2,y\\n")]), {
        format: 1, maxSourceBytes: 1 << 20, tmpDir: ${JSON.stringify(dir)}, observer: stats,
      });
      const result = await stats.finish(ingested.arrowPath, ingested.schema);
      await stats.close();
      await ingested.cleanup();
      console.log(stats.threaded, result.length);
    `;
    const started = Date.now();
    const out = execFileSync(process.execPath, ["--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(out.trim()).toBe("true 2");
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it.runIf(process.platform === "linux" && getPriority() < 10)(
    "runs the worker thread at nice 10, below this thread, which stays at the process's priority",
    async () => {
      const niceOf = (task: string): number => {
        const stat = readFileSync(`/proc/self/task/${task}/stat`, "utf8");
        return Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[16]);
      };
      const { ingested } = await ingestWith(
        { histogramBins: 10, worker: pathToFileURL(workerJs) },
        100,
        false,
      );
      await ingested.cleanup();
      const nices = readdirSync("/proc/self/task").map(niceOf);
      expect(niceOf(String(process.pid))).toBe(0);
      expect(nices).toContain(10);
    },
  );

  it("is defaulted to the in-process fallback when running from the TypeScript sources", async () => {
    const stats = ConcurrentStats.start({ histogramBins: 10 });
    expect(stats.threaded).toBe(false);
    await stats.close();
  });

  it("rejects finish with the worker's failure, and close() stops the worker", async () => {
    const { stats, ingested } = await observedSmallUpload();
    // A schema the file does not have: the worker recomputes from the file and fails.
    const wrong = create(SchemaSchema, {
      columns: [{ name: "nope", type: ColumnType.INT64, nullable: true }],
    });
    const failure = stats.finish(ingested.arrowPath, wrong);
    await expect(failure).rejects.toThrow(/stored data has no column "nope"/);
    await expect(failure).rejects.toBeInstanceOf(DataLossError);
    await expect(stats.ready()).rejects.toThrow(/stored data has no column "nope"/);
    await stats.close();
    await stats.close();
    await ingested.cleanup();
    // A failed worker is not handed to the next upload.
    const next = await ingestWith({ histogramBins: 10, worker: pathToFileURL(workerJs) }, 100, false);
    expect(next.threadId).not.toBe(stats.threadId);
    await next.ingested.cleanup();
  });

  it("leaves no unhandled rejection when close() fails a finish nobody awaits", async () => {
    const { stats, ingested } = await observedSmallUpload();
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      // As when the caller's own code throws between starting finish and awaiting it.
      void stats.finish(ingested.arrowPath, ingested.schema);
      await stats.close();
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      await ingested.cleanup();
    }
  });

  it("rejects finish on abort, and after close", async () => {
    const { stats, ingested } = await observedSmallUpload();
    const controller = new AbortController();
    const finished = stats.finish(ingested.arrowPath, ingested.schema, controller.signal);
    controller.abort(new Error("cancelled"));
    await expect(finished).rejects.toThrow("cancelled");
    await stats.close();
    await expect(stats.finish(ingested.arrowPath, ingested.schema)).rejects.toThrow(/closed/);
    await ingested.cleanup();
  });
});
