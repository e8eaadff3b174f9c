/**
 * Dataset ingest: CSV → canonical Arrow IPC, measured in child processes (so each peak
 * RSS is that process's own).
 *
 * - baseline: `convertCsvFile` — parse the CSV and write Arrow IPC in one process;
 * - ingest_inprocess: `ingest()` fed the file as a chunk stream (spool, size guard, hash).
 *
 * After each upload through the service, 30 small uploads (150 rows, as iris.csv) are timed
 * one by one, against the same files through `ingest()` in this process: no target, but an
 * upload's fixed costs (the statistics worker, the commit) show there.
 *
 * Each side converts or uploads a small CSV of the same shape (BENCH_WARMUP_MB, default 16;
 * 0 for none) untimed before its timed run, in the same process: the baseline and in-process
 * children as the service, as the other benchmarks make warm-up calls first. A service is
 * measured warm, as it runs; a freshly started one's first upload was 0.2-0.35 s slower at
 * 200 MB (JIT, the statistics worker's first batches), the baseline's first conversion about
 * 0.05-0.1 s.
 *
 * Every process here (the uploading client too) runs with Seam's node flags, as the `seam`
 * executable and `npm start` run (SEAM_NODE_FLAGS: the heap sizing that keeps streaming
 * uploads from running a major GC every few hundred ms).
 *
 * Targets (datasets ingest issue): ingest throughput at least 0.7 of the baseline; peak
 * RSS of a 1 GB / 10M-row CSV under 600 MB. BENCH_CSV_MB sets the CSV size (default
 * 1000); BENCH_REPEAT the alternating runs of each, best kept (default 3); BENCH_DIR the
 * scratch directory (default the OS temp dir); BENCH_SERVER_CPU_PROF a directory for the
 * service process's CPU profile (node --cpu-prof).
 *
 * `measureIngest(csvPath, run)` is the reusable piece: run it in a fresh process around
 * any way of ingesting the file (e.g. through the service over gRPC).
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { fileURLToPath } from "node:url";
import { createClient } from "@connectrpc/connect";
import { SEAM_NODE_FLAGS } from "@seam/cli";
import { convertCsvFile, ingest } from "@seam/datasets/ingest";
import { createGrpcTransport } from "@seam/kit/hosting";
import { createRandom as prng } from "@seam/kit/random";
import { DatasetService, SourceFormat } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { RecordBatchReader } from "apache-arrow";

const CSV_MB = Number(process.env.BENCH_CSV_MB ?? 1000);
const SERVER_CPU_PROF = process.env.BENCH_SERVER_CPU_PROF;
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const WARMUP_MB = Number(process.env.BENCH_WARMUP_MB ?? 16);
const MIN_RATIO = 0.7;
const RSS_LIMIT_MB = 600;

/** One measurement of one way of ingesting a CSV file. */
export interface IngestMeasurement {
  readonly seconds: number;
  readonly mbPerSec: number;
  readonly rowsPerSec: number;
  /** Peak resident set of this process (VmHWM), in MB. */
  readonly peakRssMb: number;
}

async function peakRssMb(pid: number | "self" = "self"): Promise<number> {
  try {
    const status = await readFile(`/proc/${pid}/status`, "utf8");
    const match = /VmHWM:\s+(\d+) kB/.exec(status);
    if (match) return Number(match[1]) / 1024;
  } catch {
    // Not Linux: fall back to the sampled value.
  }
  return process.memoryUsage.rss() / 2 ** 20;
}

/**
 * Times `run(csvPath)` and reports throughput and this process's peak RSS. Call it in a
 * fresh process that did nothing bigger before (a smaller warm-up run is fine), or the peak
 * includes earlier work.
 */
export async function measureIngest(
  csvPath: string,
  rows: number,
  run: (path: string) => Promise<void>,
): Promise<IngestMeasurement> {
  const { size } = await stat(csvPath);
  let sampled = 0;
  const timer = setInterval(() => {
    sampled = Math.max(sampled, process.memoryUsage.rss());
  }, 20);
  const start = process.hrtime.bigint();
  try {
    await run(csvPath);
  } finally {
    clearInterval(timer);
  }
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return {
    seconds,
    mbPerSec: size / 2 ** 20 / seconds,
    rowsPerSec: rows / seconds,
    peakRssMb: Math.max(await peakRssMb(), sampled / 2 ** 20),
  };
}

const WORDS = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "theta", "kappa", "lambda", "sigma"];
const CATEGORIES = ["books", "garden", "toys", "music", "sports", "tools", "food", "health"];

/**
 * Writes a CSV of about `mb` MiB with 12 columns: ints, floats (some null), bools,
 * strings (some quoted with commas and doubled quotes, some null), timestamps and dates.
 * Returns the number of data rows.
 */
export async function generateCsv(path: string, mb: number): Promise<number> {
  const target = mb * 2 ** 20;
  const out = createWriteStream(path);
  const rand = prng(42);
  const header = "id,user_id,amount,score,ratio,active,verified,name,category,comment,created_at,day\n";
  out.write(header);
  let written = header.length;
  let rows = 0;
  const base = Date.UTC(2023, 0, 1);
  while (written < target) {
    let chunk = "";
    for (let k = 0; k < 2000; k++) {
      const r = rand();
      const id = rows + 1;
      const user = Math.floor(rand() * 1e9) - 5e8;
      const amount = (Math.floor(rand() * 1e7) / 100).toFixed(2);
      const score = (rand() * 100).toString().slice(0, 9);
      const ratio = r < 0.05 ? "" : rand().toFixed(6);
      const active = rand() < 0.5 ? "true" : "false";
      const verified = rand() < 0.1 ? "" : rand() < 0.5 ? "TRUE" : "False";
      const w1 = WORDS[Math.floor(rand() * WORDS.length)] as string;
      const w2 = WORDS[Math.floor(rand() * WORDS.length)] as string;
      const name = r > 0.9 ? `"${w1}, ${w2} ""jr"""` : `${w1}_${w2}`;
      const category = CATEGORIES[Math.floor(rand() * CATEGORIES.length)] as string;
      const comment = r < 0.1 ? "" : r > 0.8 ? `"${w2}, ${w1}"` : `${w1} ${w2} ${Math.floor(rand() * 1000)}`;
      const ts = new Date(base + Math.floor(rand() * 365 * 86400000)).toISOString();
      const day = ts.slice(0, 10);
      chunk += `${id},${user},${amount},${score},${ratio},${active},${verified},${name},${category},${comment},${ts},${day}\n`;
      rows++;
    }
    written += Buffer.byteLength(chunk);
    if (!out.write(chunk)) await once(out, "drain");
  }
  out.end();
  await once(out, "close");
  return rows;
}

/** What the upload through the service measured, and the reads after it. */
interface ServiceMeasurement extends IngestMeasurement {
  /** Rows per second of ReadDatasetVersion (every row, through gRPC). */
  readonly readRowsPerSec: number;
  /** Rows per second of reading the stored Arrow file directly, in this process. */
  readonly directReadRowsPerSec: number;
  /** Median milliseconds of a 150-row upload (see {@link smallCsv}). */
  readonly smallUploadMs: number;
}

/** Small uploads timed after the large one, each a new dataset. */
const SMALL_UPLOADS = 30;

/** A 150-row, 5-column CSV the size of iris.csv; `k` changes one value, so none repeats another. */
function smallCsv(k: number): Buffer {
  let text = "sepal_length,sepal_width,petal_length,petal_width,species\n";
  for (let i = 0; i < 150; i++) {
    const species = ["setosa", "versicolor", "virginica"][i % 3] as string;
    text += `${(4 + (i % 40) / 10).toFixed(1)},${(2 + (i % 25) / 10).toFixed(1)},${(1 + (i % 60) / 10).toFixed(1)},${((i % 25) / 10).toFixed(1)},${species}\n`;
  }
  return Buffer.from(`${text}${k},0,0,0,extra\n`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? 0;
}

const UPLOAD_CHUNK_BYTES = 1 << 20;

/**
 * Uploads the CSV through gRPC to a fresh `seam serve datasets` process (its own data
 * directory, so nothing is deduplicated against an earlier run), after an untimed upload of
 * `warmupPath` when given, then reads the version
 * back through gRPC and, for reference, straight from the stored Arrow file.
 * The peak RSS is the service process's own (VmHWM).
 */
async function measureThroughService(
  csvPath: string,
  warmupPath: string | undefined,
  rows: number,
  dir: string,
  run: number,
): Promise<ServiceMeasurement> {
  const repoRoot = join(fileURLToPath(import.meta.url), "..", "..", "..");
  const dataDir = join(dir, `service-${run}`);
  const profile = SERVER_CPU_PROF === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${SERVER_CPU_PROF}`];
  const service = spawn(
    process.execPath,
    [...SEAM_NODE_FLAGS, ...profile, join(repoRoot, "cli", "dist", "main.js"), "serve", "datasets"],
    {
      env: {
        ...process.env,
        DATASETS_PORT: "0",
        SEAM_DATA_DIR: dataDir,
        DATASETS_MAX_UPLOAD_BYTES: String(2 ** 40),
        LOG_LEVEL: "info",
      },
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  try {
    const address = await waitForLine(service.stdout, /"address":"([^"]+)"/);
    const transport = createGrpcTransport({ address, retry: false, maxReceiveMessageBytes: 64 << 20 });
    const client = createClient(DatasetService, transport);
    const { size } = await stat(csvPath);

    /** An upload's messages: metadata creating `dataset`, then the CSV's chunks. */
    async function* upload(dataset: string, chunks: AsyncIterable<Buffer> | Iterable<Buffer>) {
      yield {
        payload: {
          case: "metadata" as const,
          value: { dataset, createDataset: true, format: SourceFormat.CSV },
        },
      };
      for await (const chunk of chunks) yield { payload: { case: "chunk" as const, value: chunk } };
    }
    const fileChunks = (path: string): AsyncIterable<Buffer> =>
      createReadStream(path, { highWaterMark: UPLOAD_CHUNK_BYTES });
    if (warmupPath !== undefined) await client.uploadDatasetVersion(upload("warmup", fileChunks(warmupPath)));
    const started = performance.now();
    const { version } = await client.uploadDatasetVersion(upload("bench", fileChunks(csvPath)));
    const seconds = (performance.now() - started) / 1000;
    const peak = await peakRssMb(service.pid as number);
    if (version === undefined || Number(version.rowCount) !== rows) {
      throw new Error(`the service stored ${version?.rowCount} rows, expected ${rows}`);
    }

    const readStarted = performance.now();
    let readRows = 0;
    for await (const message of client.readDatasetVersion({ dataset: "bench" }))
      readRows += Number(message.rows);
    const readSeconds = (performance.now() - readStarted) / 1000;

    const arrowPath = join(dataDir, "blobs", "sha256", version.sha256.slice(0, 2), version.sha256.slice(2));
    const directStarted = performance.now();
    let directRows = 0;
    for await (const batch of await RecordBatchReader.from(createReadStream(arrowPath)))
      directRows += batch.numRows;
    const directSeconds = (performance.now() - directStarted) / 1000;
    if (readRows !== rows || directRows !== rows)
      throw new Error(`read ${readRows} / ${directRows} rows, expected ${rows}`);

    // What a user's small file costs: mostly the fixed costs of an upload.
    const smallTimes: number[] = [];
    for (let k = 0; k < SMALL_UPLOADS; k++) {
      const started = performance.now();
      await client.uploadDatasetVersion(upload(`small-${k}`, [smallCsv(k)]));
      smallTimes.push(performance.now() - started);
    }
    transport.close();

    return {
      seconds,
      mbPerSec: size / 2 ** 20 / seconds,
      rowsPerSec: rows / seconds,
      peakRssMb: peak,
      readRowsPerSec: readRows / readSeconds,
      directReadRowsPerSec: directRows / directSeconds,
      smallUploadMs: median(smallTimes),
    };
  } finally {
    service.kill("SIGTERM");
    await once(service, "exit");
  }
}

function waitForLine(stream: NodeJS.ReadableStream, pattern: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = "";
    const timer = setTimeout(() => reject(new Error(`service did not start:\n${text}`)), 30_000);
    stream.on("data", (chunk: Buffer) => {
      text += chunk.toString();
      const match = pattern.exec(text);
      if (match?.[1] !== undefined) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
  });
}

/** Child process body: one measurement, printed as JSON on stdout. */
async function child(
  mode: string,
  csvPath: string,
  rows: number,
  outDir: string,
  warmupPath: string | undefined,
): Promise<void> {
  const convert = async (path: string): Promise<void> => {
    if (mode === "baseline") {
      const r = await convertCsvFile(path, join(outDir, "baseline.arrow"));
      await r.cleanup();
      return;
    }
    const r = await ingest(createReadStream(path, { highWaterMark: 1 << 20 }), {
      format: SourceFormat.CSV,
      maxSourceBytes: 2 ** 40,
      tmpDir: join(outDir, "ingest"),
    });
    await r.cleanup();
  };
  if (warmupPath !== undefined) await convert(warmupPath);
  const result = await measureIngest(csvPath, rows, convert);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function runChild(
  mode: string,
  csvPath: string,
  warmupPath: string | undefined,
  rows: number,
  outDir: string,
): Promise<IngestMeasurement> {
  const self = fileURLToPath(import.meta.url);
  const args = [
    self,
    "--child",
    mode,
    csvPath,
    String(rows),
    outDir,
    ...(warmupPath === undefined ? [] : [warmupPath]),
  ];
  const proc = spawn(process.execPath, [...SEAM_NODE_FLAGS, ...args], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  proc.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  return new Promise((resolve, reject) => {
    proc.on("error", reject);
    proc.on("close", (code) => {
      if (code !== 0) reject(new Error(`${mode} child exited with ${code}`));
      else resolve(JSON.parse(out.trim().split("\n").at(-1) as string) as IngestMeasurement);
    });
  });
}

/** The faster run, with the larger of the two peaks (RSS must hold on every run). */
function best<M extends IngestMeasurement>(a: M | undefined, b: M): M {
  if (a === undefined) return b;
  const faster = a.seconds <= b.seconds ? a : b;
  return { ...faster, peakRssMb: Math.max(a.peakRssMb, b.peakRssMb) };
}

function fmt(n: number, digits = 1): string {
  return n.toFixed(digits);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(process.env.BENCH_DIR ?? tmpdir(), "seam-ingest-bench-"));
  try {
    const csvPath = join(dir, "data.csv");
    const rows = await generateCsv(csvPath, CSV_MB);
    const { size } = await stat(csvPath);
    console.log(`csv: ${fmt(size / 2 ** 20)} MiB, ${rows} rows, 12 columns`);
    const warmupPath = WARMUP_MB > 0 ? join(dir, "warmup.csv") : undefined;
    if (warmupPath !== undefined) await generateCsv(warmupPath, WARMUP_MB);
    // Warm the page cache so neither run pays for the first read.
    for await (const _ of createReadStream(csvPath, { highWaterMark: 4 << 20 })) {
      // discard
    }
    // Alternating runs, best of each: the machine is shared, so single runs are noisy.
    let baseline: IngestMeasurement | undefined;
    let inprocess: IngestMeasurement | undefined;
    let service: ServiceMeasurement | undefined;
    for (let i = 0; i < REPEAT; i++) {
      const b = await runChild("baseline", csvPath, warmupPath, rows, dir);
      const n = await runChild("ingest", csvPath, warmupPath, rows, dir);
      const g = await measureThroughService(csvPath, warmupPath, rows, dir, i);
      console.log(
        `run ${i + 1}: baseline ${fmt(b.mbPerSec)} MB/s, ingest ${fmt(n.mbPerSec)} MB/s, through gRPC ${fmt(g.mbPerSec)} MB/s`,
      );
      baseline = best(baseline, b);
      inprocess = best(inprocess, n);
      service = best(service, g);
    }
    if (baseline === undefined || inprocess === undefined || service === undefined) {
      throw new Error("BENCH_REPEAT must be at least 1");
    }
    for (const [name, m] of [
      ["baseline", baseline],
      ["ingest_inprocess", inprocess],
      ["ingest_grpc (service)", service],
    ] as const) {
      console.log(
        `${name}: ${fmt(m.seconds, 2)} s, ${fmt(m.mbPerSec)} MB/s, ${fmt(m.rowsPerSec / 1e3)} k rows/s, peak RSS ${fmt(m.peakRssMb)} MB`,
      );
    }
    console.log(
      `read: ${fmt(service.readRowsPerSec / 1e3)} k rows/s through gRPC, ${fmt(service.directReadRowsPerSec / 1e3)} k rows/s from the Arrow file directly`,
    );
    // The small uploads' reference: the same files through ingest() in this process (no RPC,
    // statistics or commit).
    const smallInProcess: number[] = [];
    for (let k = 0; k < SMALL_UPLOADS; k++) {
      const started = performance.now();
      const r = await ingest(Readable.from([smallCsv(k)]), {
        format: SourceFormat.CSV,
        maxSourceBytes: 1 << 20,
        tmpDir: join(dir, "small"),
      });
      await r.cleanup();
      smallInProcess.push(performance.now() - started);
    }
    const smallRef = median(smallInProcess);
    console.log(
      `small uploads (150 rows): p50 ${fmt(service.smallUploadMs, 1)} ms through gRPC, ${fmt(smallRef, 1)} ms ingest in process`,
    );
    const grpcRatio = service.mbPerSec / baseline.mbPerSec;
    console.log(
      `RESULT ingest_grpc_throughput value=${fmt(service.mbPerSec)} MB/s ref=${fmt(baseline.mbPerSec)} ratio=${fmt(grpcRatio, 3)} target=ratio>=${MIN_RATIO} met=${grpcRatio >= MIN_RATIO ? "yes" : "no"}`,
    );
    console.log(
      `RESULT ingest_grpc_rows value=${fmt(service.rowsPerSec, 0)} rows/s ref=${fmt(baseline.rowsPerSec, 0)} ratio=${fmt(service.rowsPerSec / baseline.rowsPerSec, 3)} target=ratio>=${MIN_RATIO} met=${service.rowsPerSec / baseline.rowsPerSec >= MIN_RATIO ? "yes" : "no"}`,
    );
    const serviceRss = service.peakRssMb / RSS_LIMIT_MB;
    console.log(
      `RESULT ingest_grpc_service_peak_rss value=${fmt(service.peakRssMb)} MB ref=${RSS_LIMIT_MB} ratio=${fmt(serviceRss, 3)} target=ratio<=1 met=${serviceRss <= 1 ? "yes" : "no"}`,
    );
    console.log(
      `RESULT read_grpc_rows value=${fmt(service.readRowsPerSec, 0)} rows/s ref=${fmt(service.directReadRowsPerSec, 0)} ratio=${fmt(service.readRowsPerSec / service.directReadRowsPerSec, 3)} target=none met=yes`,
    );
    console.log(
      `RESULT small_upload_p50 value=${fmt(service.smallUploadMs, 1)} ms ref=${fmt(smallRef, 1)} ratio=${fmt(service.smallUploadMs / smallRef, 3)} target=none met=yes`,
    );
    const ratio = inprocess.mbPerSec / baseline.mbPerSec;
    console.log(
      `RESULT ingest_inprocess_throughput value=${fmt(inprocess.mbPerSec)} MB/s ref=${fmt(baseline.mbPerSec)} ratio=${fmt(ratio, 3)} target=ratio>=${MIN_RATIO} met=${ratio >= MIN_RATIO ? "yes" : "no"}`,
    );
    const rssRatio = inprocess.peakRssMb / RSS_LIMIT_MB;
    console.log(
      `RESULT ingest_inprocess_peak_rss value=${fmt(inprocess.peakRssMb)} MB ref=${RSS_LIMIT_MB} ratio=${fmt(rssRatio, 3)} target=ratio<=1 met=${rssRatio <= 1 ? "yes" : "no"}`,
    );
    const baseRss = baseline.peakRssMb / RSS_LIMIT_MB;
    console.log(
      `RESULT ingest_baseline_peak_rss value=${fmt(baseline.peakRssMb)} MB ref=${RSS_LIMIT_MB} ratio=${fmt(baseRss, 3)} target=ratio<=1 met=${baseRss <= 1 ? "yes" : "no"}`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--child") {
  const [, , , mode, csvPath, rows, outDir, warmupPath] = process.argv;
  await child(mode as string, csvPath as string, Number(rows), outDir as string, warmupPath);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (SEAM_NODE_FLAGS.every((flag) => process.execArgv.includes(flag))) {
    await main();
  } else {
    // This process is the uploading client: run it as the `seam` executable runs (its node
    // flags), as the service and the baseline run.
    const self = spawn(
      process.execPath,
      [...SEAM_NODE_FLAGS, ...process.execArgv, ...process.argv.slice(1)],
      {
        stdio: "inherit",
      },
    );
    const [code] = (await once(self, "exit")) as [number | null];
    process.exitCode = code ?? 1;
  }
}
