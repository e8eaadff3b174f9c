/**
 * Training throughput (the training service issue): training samples/s of a job run by the
 * training service of `seam up`, next to a bare TF.js training loop of the same model, batch
 * size and backend, measured in the same run. Target: service ≥ 0.9 × bare loop.
 *
 * The data: BENCH_ROWS rows (default 50 000) of 20 float64 features and a 0/1 label by a
 * linear rule, uploaded as CSV to the datasets service and split 0.8/0.1/0.1 by the job.
 * The model: 20 → Dense 64 relu → Dense 64 relu → Dense 1 (logit), Adam 0.01, sigmoid
 * cross-entropy, batch BENCH_BATCH (default 256), BENCH_EPOCHS epochs (default 6).
 *
 * What each side measures, per epoch (both: training rows of the epoch / seconds):
 *
 * - service: the job's EpochMetrics.samples_per_second, which services/training's train()
 *   (trainer/train.ts, `run`) times around its batch loop only: per batch, gather the
 *   shuffled rows into fresh Float32Arrays, tensor2d, optimizer.minimize(loss of
 *   model.apply), then `await setImmediate` (the cancellation yield) and `shouldStop()`.
 *   Shuffling, metrics, checkpoints and the epoch message are outside the timed window.
 *   It runs in a worker thread of the `seam up` child process, on the backend named by
 *   TRAINING_BACKEND (one `seam up` per backend).
 * - bare loop (the reference): this process's main thread, the same model, optimizer,
 *   initializer, loss and rows (as many as the job's training split); per epoch a seeded
 *   shuffle outside the timed window, then per batch the same gather into fresh arrays,
 *   tensor2d and optimizer.minimize: nothing else.
 *
 * To attribute a gap: the bare loop in a worker thread (as the service runs it), and the cost
 * of one `await setImmediate` (train.ts's per-batch yield) next to a bare batch's time.
 *
 * BENCH_ROUNDS rounds (default 5) each run a job, then the bare loops on the job's backend,
 * back to back, so drifting machine load touches both sides alike. Figures are medians of
 * epochs 2..N of all rounds on both sides (epoch 1 includes kernel warm-up). The bare loop
 * and the service run for every backend that loads here (tfjs-node's "tensorflow", wasm, cpu).
 * BENCH_SERVER_CPU_PROF: a directory for the `seam up` process's CPU profiles (node
 * --cpu-prof; its training worker threads write their own).
 */
import { mkdtemp, rm } from "node:fs/promises";
import { createRequire } from "node:module";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import path, { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import { type Client, createClient } from "@connectrpc/connect";
import { ANY_FREE_PORTS } from "@seam/cli";
import { createGrpcTransport } from "@seam/kit/hosting";
import { createRandom as prng } from "@seam/kit/random";
import { DatasetService, SourceFormat } from "@seam/proto/seam/datasets/v1/datasets_pb";
import {
  Activation,
  type Job,
  JobState,
  Optimizer,
  Task,
  TrainingService,
} from "@seam/proto/seam/training/v1/training_pb";
import * as tf from "@tensorflow/tfjs";
import { startChild } from "./support/child-process.js";
import { resultLine } from "./support/results.js";

const ROWS = Number(process.env.BENCH_ROWS ?? 50_000);
const EPOCHS = Number(process.env.BENCH_EPOCHS ?? 6);
/** Rounds of (service job, bare loops), interleaved; every figure pools their epochs 2..N. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const BATCH = Number(process.env.BENCH_BATCH ?? 256);
const FEATURES = 20;
const HIDDEN = [64, 64] as const;
const LEARNING_RATE = 0.01;
const SEED = 42;
const MIN_RATIO = 0.9;
/** The longest a job may take, queueing, training, ONNX export and registration included. */
const JOB_TIMEOUT_MS = Number(process.env.BENCH_JOB_TIMEOUT_MS ?? 600_000);

const DATASET = "bench_training";
const MODEL = "bench-training-throughput";

type BackendName = "tensorflow" | "wasm" | "cpu";
const BACKENDS: readonly BackendName[] = ["tensorflow", "wasm", "cpu"];

/** A bare-loop run: its backend and the data (the first `rows` rows train). */
interface BareRun {
  readonly backend: BackendName;
  readonly x: Float32Array;
  readonly y: Float32Array;
  readonly rows: number;
}

/** The CSV (f0..f19, label) and the same rows as row-major features and labels. */
function generateData(rows: number): { csv: Buffer; x: Float32Array; y: Float32Array } {
  const rand = prng(7);
  const weights = Array.from({ length: FEATURES }, () => rand() * 2 - 1);
  const x = new Float32Array(rows * FEATURES);
  const y = new Float32Array(rows);
  const lines = [[...Array.from({ length: FEATURES }, (_, i) => `f${i}`), "label"].join(",")];
  const cells: string[] = [];
  for (let r = 0; r < rows; r++) {
    cells.length = 0;
    let score = 0.1;
    for (let f = 0; f < FEATURES; f++) {
      // Four decimals always, so the datasets service infers float64.
      const text = (rand() * 4 - 2).toFixed(4);
      const value = Number(text);
      x[r * FEATURES + f] = value;
      score += value * (weights[f] as number);
      cells.push(text);
    }
    const label = score > 0 ? 1 : 0;
    y[r] = label;
    cells.push(String(label));
    lines.push(cells.join(","));
  }
  lines.push("");
  return { csv: Buffer.from(lines.join("\n")), x, y };
}

// --- Backends, as services/training/src/trainer/backend.ts loads them ------------------

let wasmPathsSet = false;

/** Activates `name` if it loads here; false otherwise (never throws). */
async function activate(name: BackendName): Promise<boolean> {
  tf.enableProdMode();
  try {
    switch (name) {
      case "tensorflow":
        for (const specifier of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
          try {
            // A variable specifier: the packages are optional, TypeScript must not resolve them.
            const optional: string = specifier;
            await import(optional);
          } catch {
            continue;
          }
          if (tf.findBackend("tensorflow") !== null && (await tf.setBackend("tensorflow"))) break;
        }
        break;
      case "wasm": {
        const wasm = await import("@tensorflow/tfjs-backend-wasm");
        if (!wasmPathsSet) {
          const require = createRequire(import.meta.url);
          const binary = require.resolve("@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm");
          wasm.setWasmPaths(`${path.dirname(binary)}${path.sep}`);
          tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
          wasmPathsSet = true;
        }
        await tf.setBackend("wasm");
        break;
      }
      case "cpu":
        await tf.setBackend("cpu");
        break;
    }
    await tf.ready();
    return tf.getBackend() === name;
  } catch {
    return false;
  }
}

// --- The bare loop ---------------------------------------------------------------------

/**
 * Trains the benchmark's model on the active backend with a plain batch loop and returns
 * each epoch's training rows per second, timed around the batch loop only.
 */
async function bareLoop(run: BareRun): Promise<number[]> {
  const { x, y, rows } = run;
  const model = tf.sequential();
  const sizes = [...HIDDEN, 1];
  sizes.forEach((units, i) => {
    model.add(
      tf.layers.dense({
        units,
        activation: i === sizes.length - 1 ? "linear" : "relu",
        kernelInitializer: tf.initializers.glorotUniform({ seed: SEED + i }),
        biasInitializer: "zeros",
        ...(i === 0 ? { inputShape: [FEATURES] } : {}),
      }),
    );
  });
  const optimizer = tf.train.adam(LEARNING_RATE);
  const variables = model.trainableWeights.map((w) => w.read() as tf.Variable);
  const order = new Int32Array(rows);
  const speeds: number[] = [];
  try {
    for (let epoch = 1; epoch <= EPOCHS; epoch++) {
      const rand = prng(SEED * 1000 + epoch);
      for (let i = 0; i < rows; i++) order[i] = i;
      for (let i = rows - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        const tmp = order[i] as number;
        order[i] = order[j] as number;
        order[j] = tmp;
      }
      const started = performance.now();
      for (let start = 0; start < rows; start += BATCH) {
        const size = Math.min(BATCH, rows - start);
        // Fresh arrays per batch: the cpu backend keeps a tensor's array without copying it.
        const xb = new Float32Array(size * FEATURES);
        const yb = new Float32Array(size);
        for (let j = 0; j < size; j++) {
          const r = order[start + j] as number;
          xb.set(x.subarray(r * FEATURES, (r + 1) * FEATURES), j * FEATURES);
          yb[j] = y[r] as number;
        }
        tf.tidy(() => {
          const xt = tf.tensor2d(xb, [size, FEATURES]);
          const yt = tf.tensor2d(yb, [size, 1]);
          optimizer.minimize(
            () => tf.losses.sigmoidCrossEntropy(yt, model.apply(xt, { training: true }) as tf.Tensor),
            false,
            variables,
          );
        });
      }
      speeds.push(rows / (Math.max(performance.now() - started, 1e-3) / 1000));
    }
  } finally {
    optimizer.dispose();
    model.dispose();
  }
  return speeds;
}

/** The bare loop in a worker thread of this process (this module is its entry). */
async function bareLoopInWorker(run: BareRun): Promise<number[]> {
  const worker = new Worker(new URL(import.meta.url), { workerData: run });
  return await new Promise<number[]>((resolve, reject) => {
    let result: number[] | undefined;
    worker.once("message", (message: { speeds?: number[]; error?: string }) => {
      if (message.error !== undefined) reject(new Error(`bare loop worker: ${message.error}`));
      else result = message.speeds;
    });
    worker.once("error", reject);
    worker.once("exit", (code) => {
      if (result !== undefined) resolve(result);
      else reject(new Error(`bare loop worker exited (code ${code}) without a result`));
    });
  });
}

async function workerMain(): Promise<void> {
  const port = parentPort;
  if (port === null) throw new Error("not a worker thread");
  const run = workerData as BareRun;
  try {
    if (!(await activate(run.backend))) throw new Error(`backend ${run.backend} did not load`);
    port.postMessage({ speeds: await bareLoop(run) });
  } catch (err) {
    port.postMessage({ error: err instanceof Error ? err.message : String(err) });
  }
}

// --- The service -----------------------------------------------------------------------

interface ServiceClients {
  readonly datasets: Client<typeof DatasetService>;
  readonly training: Client<typeof TrainingService>;
}

/** Uploads the CSV as a new dataset version; returns its id. */
async function uploadDataset({ datasets }: ServiceClients, csv: Buffer): Promise<string> {
  async function* upload() {
    yield {
      payload: {
        case: "metadata" as const,
        value: { dataset: DATASET, createDataset: true, format: SourceFormat.CSV },
      },
    };
    for (let at = 0; at < csv.length; at += 1 << 20) {
      yield { payload: { case: "chunk" as const, value: csv.subarray(at, at + (1 << 20)) } };
    }
  }
  const { version } = await datasets.uploadDatasetVersion(upload());
  if (version === undefined || Number(version.rowCount) !== ROWS) {
    throw new Error(`uploaded ${version?.rowCount} rows, not ${ROWS}`);
  }
  return version.id;
}

/** Submits the benchmark's job on `version` and waits for it to succeed; returns the finished job. */
async function runServiceJob(
  { training }: ServiceClients,
  version: string,
): Promise<{ job: Job; seconds: number }> {
  const started = performance.now();
  const { job: submitted } = await training.submitJob({
    spec: {
      dataset: {
        dataset: DATASET,
        version,
        labelColumn: "label",
        split: { seed: 1n, trainFraction: 0.8, validationFraction: 0.1, testFraction: 0.1 },
      },
      task: Task.BINARY_CLASSIFICATION,
      model: { hiddenUnits: [...HIDDEN], activation: Activation.RELU, dropout: 0 },
      training: {
        optimizer: Optimizer.ADAM,
        learningRate: LEARNING_RATE,
        epochs: EPOCHS,
        batchSize: BATCH,
        seed: BigInt(SEED),
      },
      registration: { modelName: MODEL },
    },
  });
  const id = submitted?.id;
  if (id === undefined) throw new Error("SubmitJob returned no job");
  // WatchJob ends with the job's final state: no polling while it trains.
  const watch = new AbortController();
  const timer = setTimeout(() => watch.abort(), JOB_TIMEOUT_MS);
  try {
    for await (const _ of training.watchJob({ id }, { signal: watch.signal })) {
      // Only its end matters.
    }
  } finally {
    clearTimeout(timer);
  }
  const seconds = (performance.now() - started) / 1000;
  const { job } = await training.getJob({ id });
  if (job === undefined) throw new Error(`GetJob ${id} returned no job`);
  if (job.state !== JobState.SUCCEEDED)
    throw new Error(`job ${id} ended ${JobState[job.state]}: ${job.reason}`);
  if (job.epochs.length !== EPOCHS)
    throw new Error(`job ${id} reports ${job.epochs.length} epochs, not ${EPOCHS}`);
  return { job, seconds };
}

/** Mean cost of one `await setImmediate` on an otherwise idle thread, in microseconds. */
async function setImmediateMicros(count = 20_000): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  return ((performance.now() - started) * 1000) / count;
}

// --- Report ----------------------------------------------------------------------------

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

const num = (n: number): string => n.toFixed(0);

/** One measured path: per run (round), each epoch's rows/s. */
interface Row {
  readonly backend: string;
  readonly path: string;
  readonly runs: number[][];
}

/** The figure compared: the median of epochs 2..N of every run (all epochs when N is 1). */
function steady(runs: readonly (readonly number[])[]): number {
  return median(runs.flatMap((speeds) => (speeds.length > 1 ? speeds.slice(1) : speeds)));
}

function printTable(rows: readonly Row[]): void {
  const header =
    `${"backend".padEnd(11)}${"path".padEnd(36)}${"median".padStart(8)}${"min".padStart(8)}${"max".padStart(8)}` +
    "   epoch 1 of each run";
  console.log(header);
  console.log("-".repeat(header.length + 4));
  for (const row of rows) {
    const rest = row.runs.flatMap((speeds) => (speeds.length > 1 ? speeds.slice(1) : speeds));
    console.log(
      `${row.backend.padEnd(11)}${row.path.padEnd(36)}${num(steady(row.runs)).padStart(8)}` +
        `${num(Math.min(...rest)).padStart(8)}${num(Math.max(...rest)).padStart(8)}   ` +
        row.runs.map((speeds) => num(speeds[0] ?? Number.NaN)).join(" "),
    );
  }
}

const PATH_SERVICE = "service (job, worker thread)";
const PATH_BARE = "bare loop (main thread)";
const PATH_WORKER = "bare loop in a worker thread";

async function main(): Promise<void> {
  const benchDir = dirname(fileURLToPath(import.meta.url));
  const repoRoot = join(benchDir, "..", "..");
  const dir = await mkdtemp(join(tmpdir(), "seam-training-bench-"));
  try {
    const data = generateData(ROWS);
    console.log(
      `data: ${ROWS} rows × ${FEATURES} float64 features, binary label; model ${FEATURES}→${HIDDEN.join("→")}→1, ` +
        `Adam ${LEARNING_RATE}, batch ${BATCH}, ${EPOCHS} epochs; ${(data.csv.length / 2 ** 20).toFixed(1)} MiB CSV; ` +
        `${ROUNDS} rounds`,
    );

    const rows = new Map<string, Row>();
    const record = (backend: string, path: string, speeds: number[]): void => {
      const key = `${backend} ${path}`;
      const row = rows.get(key) ?? { backend, path, runs: [] };
      row.runs.push(speeds);
      rows.set(key, row);
    };

    // --- Service: for each backend that loads here, `seam up` with TRAINING_BACKEND set to it
    // (embedded stores in a temp dir, all ports free). Each round runs a job, then the bare
    // loop and its variants on the same backend, back to back, so drifting machine load
    // touches both sides alike.
    const unavailable: string[] = [];
    const measured: BackendName[] = [];
    let trainRows = 0;
    for (const backend of BACKENDS) {
      if (!(await activate(backend))) {
        unavailable.push(backend);
        continue;
      }
      measured.push(backend);
      const servers = await startChild(join(repoRoot, "cli", "dist", "main.js"), ["datasets", "training"], {
        args: ["up"],
        env: {
          SEAM_DATA_DIR: join(dir, backend),
          ...ANY_FREE_PORTS,
          TRAINING_BACKEND: backend,
          LOG_LEVEL: "warn",
        },
        nodeArgs:
          process.env.BENCH_SERVER_CPU_PROF === undefined
            ? []
            : ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_SERVER_CPU_PROF}`],
      });
      try {
        const datasetsTransport = createGrpcTransport({
          address: servers.addresses.get("datasets") as string,
          retry: false,
        });
        const trainingTransport = createGrpcTransport({
          address: servers.addresses.get("training") as string,
          retry: false,
        });
        try {
          const clients: ServiceClients = {
            datasets: createClient(DatasetService, datasetsTransport),
            training: createClient(TrainingService, trainingTransport),
          };
          const version = await uploadDataset(clients, data.csv);
          for (let round = 1; round <= ROUNDS; round++) {
            const { job, seconds } = await runServiceJob(clients, version);
            if (job.backend !== backend) {
              throw new Error(`TRAINING_BACKEND=${backend}, but the job trained on ${job.backend}`);
            }
            trainRows = Number(job.rows?.train ?? 0n);
            if (trainRows <= 0) throw new Error("the job reports no training rows");
            console.log(
              `${backend} round ${round}: job ${job.id}, ${job.rows?.train}/${job.rows?.validation}/${job.rows?.test} ` +
                `rows train/validation/test, ${seconds.toFixed(1)} s submit → succeeded, test auc ` +
                `${(job.testMetrics.auc ?? Number.NaN).toFixed(3)}, job samples_per_second ${num(job.samplesPerSecond)} (mean of all epochs)`,
            );
            record(
              backend,
              PATH_SERVICE,
              job.epochs.map((e) => e.samplesPerSecond),
            );
            const run: BareRun = { backend, x: data.x, y: data.y, rows: trainRows };
            await activate(backend);
            record(backend, PATH_BARE, await bareLoop(run));
            record(backend, PATH_WORKER, await bareLoopInWorker(run));
          }
        } finally {
          datasetsTransport.close();
          trainingTransport.close();
        }
      } finally {
        await servers.stop();
      }
    }
    const leaked = tf.memory().numTensors;
    if (leaked > 0) console.log(`note: ${leaked} tensors left after the bare loops`);
    const yieldMicros = await setImmediateMicros();
    const load = loadavg().map((l) => l.toFixed(2));

    console.log("");
    // The wasm and cpu backends use one core; anything else on the machine shows as spread.
    console.log(
      `rows/s per epoch: median, min and max of epochs 2..${EPOCHS} of all ${ROUNDS} runs ` +
        `(${availableParallelism()} CPUs, load average ${load.join(" ")} at the end)`,
    );
    printTable([...rows.values()]);
    console.log("");
    console.log(
      "service = the job's per-epoch samples_per_second: train.ts times its batch loop (gather, tensor2d, " +
        "minimize, setImmediate yield, shouldStop), not shuffling, metrics, checkpoints or messages; " +
        "bare loop = the same gather, tensor2d and minimize, nothing else.",
    );
    if (unavailable.length > 0) console.log(`backends that do not load here: ${unavailable.join(", ")}`);

    const results: string[] = [];
    const figure = (backend: string, path: string): number | undefined => {
      const row = rows.get(`${backend} ${path}`);
      return row === undefined ? undefined : steady(row.runs);
    };
    for (const backend of measured) {
      const serviceFigure = figure(backend, PATH_SERVICE) as number;
      const ref = figure(backend, PATH_BARE) as number;
      const batchMicros = (BATCH / ref) * 1e6;
      console.log(
        `${backend}: await setImmediate on an idle thread ${yieldMicros.toFixed(1)} µs, ` +
          `${((100 * yieldMicros) / batchMicros).toFixed(2)}% of a bare batch (${batchMicros.toFixed(0)} µs)`,
      );
      // Per round, service over bare: how far the machine's drifting load moves the ratio.
      const serviceRuns = rows.get(`${backend} ${PATH_SERVICE}`)?.runs ?? [];
      const bareRuns = rows.get(`${backend} ${PATH_BARE}`)?.runs ?? [];
      const paired = serviceRuns.map((speeds, i) => steady([speeds]) / steady([bareRuns[i] ?? []]));
      console.log(`${backend}: service/bare per round: ${paired.map((r) => r.toFixed(3)).join(" ")}`);
      results.push(
        resultLine(
          `training_samples_per_s_${backend}`,
          serviceFigure,
          "rows/s",
          ref,
          `ratio>=${MIN_RATIO}`,
          serviceFigure / ref >= MIN_RATIO,
        ),
      );
      const worker = figure(backend, PATH_WORKER);
      if (worker !== undefined) {
        results.push(
          resultLine(
            `training_bare_worker_samples_per_s_${backend}`,
            worker,
            "rows/s",
            ref,
            "none",
            undefined,
          ),
        );
      }
    }
    console.log(
      "informational (target=none): training_bare_worker_* ref = the bare loop on the same backend, on the main thread.",
    );
    for (const line of results) console.log(line);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (isMainThread) await main();
else await workerMain();
