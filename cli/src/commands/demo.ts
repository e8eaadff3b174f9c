import { mkdir, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fromJson, type JsonValue, type MessageInitShape } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { GRPCInferenceService, ModelInferRequestSchema } from "@seam/proto/inference/grpc_predict_v2_pb";
import {
  DatasetService,
  type DatasetVersion,
  SourceFormat,
  type SplitSpecSchema,
  type UploadDatasetVersionRequestSchema,
} from "@seam/proto/seam/datasets/v1/datasets_pb";
import { FeatureStoreService, type MaterializeResult } from "@seam/proto/seam/features/v1/features_pb";
import {
  InferenceService,
  type PredictResponse,
  PredictResponseSchema,
} from "@seam/proto/seam/inference/v1/inference_pb";
import { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import { type Job, JobState, Task, TrainingService } from "@seam/proto/seam/training/v1/training_pb";
import { UsageError } from "../args.js";
import type { Output } from "../output.js";
import { parseSplit } from "./dataset-args.js";
import { type ChurnData, DEMO_NAMES, FEATURES_YAML, generateChurnData } from "./demo-data.js";
import {
  argmax,
  curlCommand,
  formatPercent,
  formatSeconds,
  INDENT,
  newTraceContext,
  parseSimpleCsv,
  seamCommand,
  stepHeader,
  type TraceContext,
  tableLines,
  wrap,
} from "./demo-format.js";
import { IRIS_CSV } from "./demo-iris.js";
import { parseDefinitions } from "./feature-args.js";
import { actionName } from "./features.js";
import { featuresTable, formatAnswered, tensorElements } from "./predict-format.js";
import { parseTrainArgs } from "./training-args.js";
import { formatEpochLine, formatMetrics, formatStateChange, isFinished } from "./training-format.js";

export const DEMO_USAGE = `seam demo [--quick] [--save DIR]   (talks to the gateway at SEAM_GATEWAY_URL, default http://127.0.0.1:8080)
                                                    the whole story against a running suite (start it with \`npm start\`):
                                                    uploads Iris and a generated customer data set, declares and
                                                    materializes features, trains two models (epochs shown live), aliases
                                                    them champion, predicts with Connect JSON, the Open Inference Protocol
                                                    and by entity key, and prints the trace id of the last request; every
                                                    step prints the seam command or curl call that does the same
  --quick                                           fewer epochs: quicker, rougher models
  --save DIR                                        also write the files those commands read (CSV, features.yaml) to DIR`;

/** How `seam demo` talks to the terminal. */
export interface DemoIo {
  /** The story: steps, results, commands. */
  readonly out: Output;
  /** Why it stopped, when it fails. */
  readonly err: { write(text: string): unknown };
  /** Aborted on Ctrl-C: a training job being followed is cancelled. */
  readonly interrupt?: AbortSignal;
}

/** A failure of the demo that is explained by its message alone. */
class DemoError extends Error {
  override readonly name = "DemoError";
}

const UPLOAD_CHUNK_BYTES = 256 * 1024;
const DATA_SEED = 42;
/** The split recorded on the Iris version at upload (`--split` of `seam datasets upload`). */
const IRIS_SPLIT = "7:0.7/0.15/0.15";
/** Jaeger's UI as deploy/compose.yaml runs it. */
const JAEGER_UI = "http://localhost:16686";

/** Files of the demo's data, as the printed commands name them (and `--save` writes them). */
const FILES = {
  iris: "iris.csv",
  customers: "customers.csv",
  transactions: "transactions.csv",
  activity: "customer-activity.csv",
  labels: "churn-labels.csv",
  features: "features.yaml",
} as const;

interface Epochs {
  readonly iris: number;
  readonly churn: number;
}

/** What the steps found out, for the steps after them. */
interface DemoState {
  readonly gatewayUrl: string;
  readonly data: ChurnData;
  readonly epochs: Epochs;
  irisJob?: Job;
  churnJob?: Job;
  trace?: TraceContext;
}

interface Clients {
  readonly datasets: Client<typeof DatasetService>;
  readonly features: Client<typeof FeatureStoreService>;
  readonly training: Client<typeof TrainingService>;
  readonly registry: Client<typeof ModelRegistryService>;
  readonly inference: Client<typeof InferenceService>;
  readonly oip: Client<typeof GRPCInferenceService>;
}

/**
 * `seam demo`: the whole story against the gateway at `gatewayUrl`, step by step, each
 * with what it does, its result and the command that does the same. Resolves to the exit
 * code: 0 when every step worked, 1 (with the step and the reason on `err`) when one failed.
 */
export async function runDemoCommand(
  argv: string[],
  gatewayUrl: string,
  io: DemoIo,
  transport: Transport = createGrpcTransport({ baseUrl: gatewayUrl }),
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { quick: { type: "boolean" }, save: { type: "string" } },
  });
  if (positionals.length > 0) throw new UsageError(`demo takes options only, got "${positionals.join(" ")}"`);
  if (values.save === "") throw new UsageError("--save needs a directory");
  const quick = values.quick === true;
  const state: DemoState = {
    gatewayUrl: gatewayUrl.replace(/\/+$/, ""),
    data: generateChurnData({ seed: DATA_SEED }),
    epochs: quick ? { iris: 25, churn: 10 } : { iris: 50, churn: 30 },
  };
  const clients: Clients = {
    datasets: createClient(DatasetService, transport),
    features: createClient(FeatureStoreService, transport),
    training: createClient(TrainingService, transport),
    registry: createClient(ModelRegistryService, transport),
    inference: createClient(InferenceService, transport),
    oip: createClient(GRPCInferenceService, transport),
  };
  const { out } = io;
  const started = performance.now();

  out.line(`Seam demo against the gateway at ${state.gatewayUrl}${quick ? " (--quick: fewer epochs)" : ""}`);
  try {
    await checkGateway(state.gatewayUrl);
  } catch (error) {
    io.err.write(`seam demo: ${describeError(error)}\n`);
    return 1;
  }
  if (state.gatewayUrl !== "http://127.0.0.1:8080")
    out.line(`The seam commands below need SEAM_GATEWAY_URL=${state.gatewayUrl} in their environment.`);
  if (values.save !== undefined) {
    const dir = resolve(values.save);
    await saveFiles(dir, state.data);
    out.line(`Wrote the files the commands below read to ${dir}: run them from there.`);
  } else {
    out.line("`seam demo --save DIR` writes the files the commands below read (CSV, features.yaml).");
  }

  const steps: ReadonlyArray<readonly [string, () => Promise<void>]> = [
    ["Upload the data", () => uploadData(state, clients, out)],
    ["Declare entities, feature views and a feature service", () => applyFeatures(clients, out)],
    ["Materialize the features into the online store", () => materialize(state, clients, out)],
    ["Train two models, following every epoch", () => train(state, clients, io)],
    ["Register and alias the models", () => aliasModels(state, clients, out)],
    ["Predict through the gateway", () => predictRows(state, clients, out)],
    ["Predict by entity key: the features come from the online store", () => predictEntities(state, out)],
    ["Follow the last request in a tracing backend", async () => printTrace(state, out)],
  ];
  for (const [i, [title, step]] of steps.entries()) {
    if (io.interrupt?.aborted === true) {
      io.err.write(`seam demo: interrupted before step ${i + 1}\n`);
      return 1;
    }
    out.line("");
    for (const line of stepHeader(i + 1, steps.length, title)) out.line(line);
    try {
      await step();
    } catch (error) {
      io.err.write(`seam demo: step ${i + 1} (${title}) failed: ${describeError(error)}\n`);
      return 1;
    }
  }
  out.line("");
  out.line(`Done in ${formatSeconds(performance.now() - started)}. Everything it made is still there:`);
  for (const args of [
    ["models", "list"],
    ["datasets", "list", "--prefix", "demo-"],
    ["features", "list"],
    ["jobs", "list"],
  ])
    out.line(seamCommand(args));
  return 0;
}

/** Fails with a readable message when nothing answers at the gateway's address. */
async function checkGateway(gatewayUrl: string): Promise<void> {
  const path = "seam.registry.v1.ModelRegistryService/ListModels";
  let res: Response;
  try {
    res = await fetch(`${gatewayUrl}/${path}`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ pageSize: 1 }),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (error) {
    const cause =
      error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
    throw new DemoError(
      `cannot reach the Seam gateway at ${gatewayUrl} (${cause}). Start the suite first: \`npm start\` in another terminal (it runs \`seam up\`), or set SEAM_GATEWAY_URL to a running gateway.`,
    );
  }
  if (!res.ok) {
    const body = await res.text().catch(() => "");
    throw new DemoError(
      `the gateway at ${gatewayUrl} answered HTTP ${res.status} to ${path}: ${body.slice(0, 200) || "no body"} (is it a Seam gateway, with the registry running?)`,
    );
  }
}

async function saveFiles(dir: string, data: ChurnData): Promise<void> {
  await mkdir(dir, { recursive: true });
  const files: Record<string, string> = {
    [FILES.iris]: IRIS_CSV,
    [FILES.customers]: data.customers.csv,
    [FILES.transactions]: data.transactions.csv,
    [FILES.activity]: data.activity.csv,
    [FILES.labels]: data.labels.csv,
    [FILES.features]: FEATURES_YAML,
  };
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
}

// Step 1.

interface Upload {
  readonly dataset: string;
  readonly file: string;
  readonly csv: string;
  readonly split?: string;
  readonly description: string;
}

async function uploadData(state: DemoState, clients: Clients, out: Output): Promise<void> {
  for (const line of wrap(
    `Uploads the Iris flowers (150 rows, public domain, built into the CLI) with a 70/15/15 train/validation/test split, and a small shop's customer data generated from seed ${DATA_SEED}: profiles, transactions, their 30-day activity per week, and churn labels. A version's id is a hash of its content: the same data uploaded again is the same version.`,
  ))
    out.line(line);
  const { data } = state;
  const uploads: Upload[] = [
    {
      dataset: DEMO_NAMES.irisDataset,
      file: FILES.iris,
      csv: IRIS_CSV,
      split: IRIS_SPLIT,
      description: "Iris flowers (Fisher, 1936)",
    },
    {
      dataset: DEMO_NAMES.customersDataset,
      file: FILES.customers,
      csv: data.customers.csv,
      description: "demo shop: customer profiles",
    },
    {
      dataset: DEMO_NAMES.transactionsDataset,
      file: FILES.transactions,
      csv: data.transactions.csv,
      description: "demo shop: transactions",
    },
    {
      dataset: DEMO_NAMES.activityDataset,
      file: FILES.activity,
      csv: data.activity.csv,
      description: `demo shop: weekly 30-day activity computed from ${DEMO_NAMES.transactionsDataset}`,
    },
    {
      dataset: DEMO_NAMES.labelsDataset,
      file: FILES.labels,
      csv: data.labels.csv,
      description: "demo shop: churn labels",
    },
  ];
  const rows: string[][] = [];
  for (const upload of uploads) {
    const { version, created } = await uploadCsv(clients, upload);
    rows.push([
      upload.dataset,
      version.rowCount.toLocaleString("en-US"),
      String(version.schema?.columns.length ?? 0),
      version.ref,
      created ? "new version" : "the same content: the existing version",
    ]);
  }
  out.line("");
  for (const line of tableLines(["DATASET", "ROWS", "COLUMNS", "VERSION", ""], rows)) out.line(line);
  out.line("");
  for (const upload of uploads)
    out.line(
      seamCommand([
        "datasets",
        "upload",
        upload.file,
        "--name",
        upload.dataset,
        ...(upload.split === undefined ? [] : ["--split", upload.split]),
      ]),
    );
  out.line(seamCommand(["datasets", "show", DEMO_NAMES.irisDataset]));
}

async function uploadCsv(
  clients: Clients,
  upload: Upload,
): Promise<{ version: DatasetVersion; created: boolean }> {
  const bytes = Buffer.from(upload.csv, "utf8");
  const split: MessageInitShape<typeof SplitSpecSchema> | undefined =
    upload.split === undefined ? undefined : parseSplit(upload.split);
  async function* requests(): AsyncGenerator<MessageInitShape<typeof UploadDatasetVersionRequestSchema>> {
    yield {
      payload: {
        case: "metadata",
        value: {
          dataset: upload.dataset,
          createDataset: true,
          format: SourceFormat.CSV,
          description: upload.description,
          ...(split === undefined ? {} : { split }),
        },
      },
    };
    for (let at = 0; at < bytes.length; at += UPLOAD_CHUNK_BYTES)
      yield { payload: { case: "chunk", value: bytes.subarray(at, at + UPLOAD_CHUNK_BYTES) } };
  }
  const { version, created } = await clients.datasets.uploadDatasetVersion(requests());
  if (version === undefined) throw new DemoError("the dataset service answered without a version");
  return { version, created };
}

// Step 2.

async function applyFeatures(clients: Clients, out: Output): Promise<void> {
  for (const line of wrap(
    `Declares the customer entity (joined on customer_id), two feature views over the uploaded customer data (each reads a dataset, with an event time column), and the feature service ${DEMO_NAMES.featureService}: the features a churn model reads, in training and in serving alike. Applying is idempotent: what did not change stays unchanged. The file, ${FILES.features}:`,
  ))
    out.line(line);
  out.line("");
  for (const line of FEATURES_YAML.trimEnd().split("\n")) out.line(`${INDENT}${INDENT}${line}`);
  const definitions = parseDefinitions(FEATURES_YAML, FILES.features);
  const response = await clients.features.applyDefinitions(definitions);
  out.line("");
  for (const line of tableLines(
    ["KIND", "NAME", "ACTION", "VERSION"],
    response.applied.map((a) => [a.kind, a.name, actionName(a.action), String(a.version)]),
  ))
    out.line(line);
  out.line("");
  out.line(seamCommand(["features", "apply", FILES.features]));
  out.line(seamCommand(["features", "list"]));
}

// Step 3.

async function materialize(state: DemoState, clients: Clients, out: Output): Promise<void> {
  for (const line of wrap(
    "Loads each view's latest values per customer from its dataset into the online store (LMDB embedded, or Redis), where predictions read them by key in one batched call.",
  ))
    out.line(line);
  const rows: string[][] = [];
  for (const view of [DEMO_NAMES.profileView, DEMO_NAMES.activityView]) {
    let result: MaterializeResult | undefined;
    for await (const message of clients.features.materializeFeatureView({ featureView: view })) {
      if (message.event.case === "result") result = message.event.value;
    }
    if (result === undefined) throw new DemoError(`the materialization of ${view} ended without a result`);
    rows.push([
      view,
      result.rowsRead.toLocaleString("en-US"),
      result.rowsWritten.toLocaleString("en-US"),
      result.rowsSkippedOlder.toLocaleString("en-US"),
      result.sourceVersions.join(", "),
    ]);
  }
  out.line("");
  for (const line of tableLines(["VIEW", "ROWS READ", "WRITTEN", "ALREADY THERE", "SOURCE"], rows))
    out.line(line);
  out.line("");
  out.line(seamCommand(["features", "materialize", DEMO_NAMES.profileView]));
  out.line(seamCommand(["features", "materialize", DEMO_NAMES.activityView]));
  out.line(
    seamCommand([
      "features",
      "get",
      "--service",
      DEMO_NAMES.featureService,
      "--entity",
      `customer_id=${state.data.examples.churned}`,
    ]),
  );
}

// Step 4.

/** The `seam train` arguments of the two jobs (parsed into their specs, printed as the commands). */
function trainArgs(epochs: Epochs): { iris: string[]; churn: string[] } {
  return {
    iris: [
      "--dataset",
      DEMO_NAMES.irisDataset,
      "--label",
      "species",
      "--task",
      "multiclass",
      "--model-name",
      DEMO_NAMES.irisModel,
      "--hidden",
      "16",
      "--learning-rate",
      "0.03",
      "--epochs",
      String(epochs.iris),
      "--seed",
      "1",
    ],
    churn: [
      "--feature-service",
      DEMO_NAMES.featureService,
      "--entity-dataset",
      DEMO_NAMES.labelsDataset,
      "--label",
      "churned",
      "--task",
      "binary",
      "--split",
      "0.7,0.15,0.15:7:customer_id",
      "--model-name",
      DEMO_NAMES.churnModel,
      "--hidden",
      "16",
      "--epochs",
      String(epochs.churn),
      "--seed",
      "1",
    ],
  };
}

async function train(state: DemoState, clients: Clients, io: DemoIo): Promise<void> {
  const { out } = io;
  for (const line of wrap(
    `Trains two multilayer perceptrons with TensorFlow.js on the training service's workers. ${DEMO_NAMES.irisModel} learns the species from the Iris measurements. ${DEMO_NAMES.churnModel} takes its data from the feature service: the job first joins the features point-in-time onto the labelled customers (as of each label's time, never later), then trains on the joined rows. Each job exports its model to ONNX with the preprocessing inside, checks it against TensorFlow.js, and registers it with its test metrics and lineage; a model trained on a feature service is bound to it, which is what lets it predict by entity key.`,
  ))
    out.line(line);
  const args = trainArgs(state.epochs);
  out.line("");
  out.line(seamCommand(["train", ...args.iris]));
  state.irisJob = await runJob(clients.training, args.iris, io);
  out.line("");
  out.line(seamCommand(["train", ...args.churn]));
  state.churnJob = await runJob(clients.training, args.churn, io);
}

/** Submits the job `seam train <args>` describes, prints its states and epochs as they come, and returns it finished. */
async function runJob(training: Client<typeof TrainingService>, args: string[], io: DemoIo): Promise<Job> {
  const { out } = io;
  const { spec } = parseTrainArgs(args);
  const { job: submitted } = await training.submitJob({ spec });
  if (submitted === undefined) throw new DemoError("the training service answered without the job");
  const { id } = submitted;
  const totalEpochs = submitted.spec?.training?.epochs ?? 0;
  const task = submitted.spec?.task ?? Task.UNSPECIFIED;
  const stop = new AbortController();
  const onInterrupt = () => stop.abort();
  io.interrupt?.addEventListener("abort", onInterrupt, { once: true });
  let final: JobState | undefined;
  try {
    for await (const message of training.watchJob({ id }, { signal: stop.signal })) {
      const event = message.event;
      if (event.case === "state") {
        const change = event.value;
        out.line(`${INDENT}${formatStateChange(id, change.state, change.reason, change.modelVersion)}`);
        if (isFinished(change.state)) final = change.state;
      } else if (event.case === "epoch") {
        out.line(`${INDENT}${formatEpochLine(event.value, totalEpochs, task)}`);
      }
    }
  } catch (error) {
    if (!stop.signal.aborted) throw error;
  } finally {
    io.interrupt?.removeEventListener("abort", onInterrupt);
  }
  if (final === undefined && stop.signal.aborted) {
    await training.cancelJob({ id }).catch(() => undefined);
    throw new DemoError(`interrupted: job ${id} was cancelled`);
  }
  if (final === undefined)
    throw new DemoError(
      `the watch of job ${id} ended before the job did (\`seam jobs watch ${id}\` follows it)`,
    );
  const { job } = await training.getJob({ id });
  if (job === undefined) throw new DemoError("the training service answered without the job");
  if (job.state !== JobState.SUCCEEDED)
    throw new DemoError(
      `job ${id} ${JobState[job.state]?.toLowerCase() ?? "ended"}: ${job.reason || "no reason given"}`,
    );
  out.line(`${INDENT}test metrics: ${formatMetrics(job.testMetrics)}`);
  if (job.rows !== undefined)
    out.line(
      `${INDENT}rows: ${job.rows.train} train, ${job.rows.validation} validation, ${job.rows.test} test of ${job.datasetVersion}`,
    );
  return job;
}

// Step 5.

async function aliasModels(state: DemoState, clients: Clients, out: Output): Promise<void> {
  for (const line of wrap(
    'Each job registered a new version of its model in the registry. Setting the alias "champion" makes it the version a request for the bare model name gets; moving the alias later switches traffic without a restart (the inference service loads and warms the new version first).',
  ))
    out.line(line);
  out.line("");
  const commands: string[][] = [];
  for (const job of [state.irisJob, state.churnJob]) {
    const [name = "", number = ""] = (job?.modelVersion ?? "").split(":");
    if (name === "" || !/^[0-9]+$/.test(number))
      throw new DemoError(`the job did not register a model version (got "${job?.modelVersion ?? ""}")`);
    const version = BigInt(number);
    const { version: aliased, previousVersion } = await clients.registry.setAlias({
      modelName: name,
      alias: "champion",
      version,
    });
    const before =
      previousVersion === 0n
        ? "a new alias"
        : previousVersion === version
          ? "it already was"
          : `it was version ${previousVersion}`;
    out.line(`${INDENT}${name}:${version} is now ${name}@champion (${before})`);
    const lineage = aliased?.lineage;
    const detail = (label: string, text: string) => out.line(`${INDENT}${INDENT}${label.padEnd(17)}${text}`);
    detail("trained on", `${lineage?.datasetVersion || "-"} by job ${lineage?.trainingJob || "-"}`);
    if (lineage?.featureService)
      detail("feature service", `${lineage.featureService} (so it can predict by entity key)`);
    detail("inputs", aliased?.signature?.inputs.map((i) => i.name).join(", ") ?? "-");
    detail("test metrics", formatMetrics(aliased?.metrics ?? {}));
    // Warm the version now, and wait (briefly) until the inference service routes the alias to it.
    const loaded = await clients.inference.loadModel({ model: `${name}:${version}` });
    detail(
      "served",
      `loaded and warmed up by the inference service in ${formatSeconds(loaded.version?.loadMillis ?? 0)}`,
    );
    await waitForRoute(clients, name, version);
    commands.push(["models", "set-alias", name, "champion", String(version)]);
  }
  out.line("");
  for (const args of commands) out.line(seamCommand(args));
  out.line(seamCommand(["models", "show", `${DEMO_NAMES.churnModel}@champion`]));
}

/** Waits up to 10 s until the inference service routes `name@champion` to `version` (or does not follow the model yet). */
async function waitForRoute(clients: Clients, name: string, version: bigint): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const { models } = await clients.inference.getModelStatus({ modelName: name });
    const champion = models.find((m) => m.modelName === name)?.routes.champion;
    if (champion === undefined || champion === version) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}

// Step 6.

async function predictRows(state: DemoState, clients: Clients, out: Output): Promise<void> {
  const iris = parseSimpleCsv(IRIS_CSV);
  const classes = [...new Set(iris.map((r) => r.species ?? ""))].sort();
  const features = ["sepal_length", "sepal_width", "petal_length", "petal_width"] as const;
  // One flower of each species.
  const samples = [0, 50, 100].map((i) => iris[i] as Record<string, string>);
  const rows = samples.map((s) => Object.fromEntries(features.map((f) => [f, Number(s[f])])));

  for (const line of wrap(
    `Asks ${DEMO_NAMES.irisModel} (its champion) about one flower of each species, as Connect JSON: a plain HTTP POST any language or browser can send, with rows of named values.`,
  ))
    out.line(line);
  const path = "seam.inference.v1.InferenceService/Predict";
  const body = { model: DEMO_NAMES.irisModel, rows };
  const response = await predictJson(state.gatewayUrl, path, body);
  const probabilities = firstOutput(response);
  const width = classes.length;
  out.line("");
  out.line(`${INDENT}answered by ${formatAnswered(response)}`);
  for (const line of tableLines(
    [...features, "SPECIES", "PREDICTED", ...classes.map((c) => `P(${c})`)],
    samples.map((s, r) => {
      const p = probabilities.slice(r * width, (r + 1) * width);
      return [
        ...features.map((f) => Number(s[f]).toFixed(1)),
        s.species ?? "",
        classes[argmax(p)] ?? "?",
        ...p.map(formatPercent),
      ];
    }),
  ))
    out.line(line);
  out.line("");
  out.line(curlCommand(state.gatewayUrl, path, body));
  out.line(seamCommand(["predict", DEMO_NAMES.irisModel, "--input", JSON.stringify(rows[0])]));

  out.line("");
  for (const line of wrap(
    "The same model through the Open Inference Protocol v2 (KServe, Triton): ModelInfer with one tensor per input, sent here by a gRPC client through the same gateway.",
  ))
    out.line(line);
  const oipPath = "inference.GRPCInferenceService/ModelInfer";
  const oipBody = {
    modelName: DEMO_NAMES.irisModel,
    id: "seam-demo",
    inputs: features.map((f) => ({
      name: f,
      datatype: "FP32",
      shape: [rows.length, 1],
      contents: { fp32Contents: rows.map((r) => r[f] as number) },
    })),
  };
  const infer = await clients.oip.modelInfer(fromJson(ModelInferRequestSchema, oipBody));
  const output = infer.outputs[0];
  const values = output?.contents?.fp32Contents ?? [];
  out.line("");
  out.line(
    `${INDENT}answered by ${infer.modelName} version ${infer.modelVersion}: output "${output?.name ?? "?"}" ${output?.datatype ?? ""} [${output?.shape.join(", ") ?? ""}]`,
  );
  for (const line of tableLines(
    ["ROW", "PREDICTED", ...classes.map((c) => `P(${c})`)],
    rows.map((_, r) => {
      const p = values.slice(r * width, (r + 1) * width);
      return [String(r), classes[argmax(p)] ?? "?", ...p.map(formatPercent)];
    }),
  ))
    out.line(line);
  out.line("");
  out.line(curlCommand(state.gatewayUrl, oipPath, oipBody));
}

/** One Connect JSON call with fetch; a Connect error comes back as a readable error. */
async function connectJson(
  gatewayUrl: string,
  path: string,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): Promise<JsonValue> {
  const res = await fetch(`${gatewayUrl}/${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  let json: JsonValue;
  try {
    json = JSON.parse(text) as JsonValue;
  } catch {
    throw new DemoError(`${path} answered HTTP ${res.status}: ${text.slice(0, 200)}`);
  }
  if (!res.ok) {
    const error = json as { code?: string; message?: string };
    throw new DemoError(
      `${path} answered HTTP ${res.status}: ${error.code ?? "?"}: ${error.message ?? text}`,
    );
  }
  return json;
}

async function predictJson(
  gatewayUrl: string,
  path: string,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): Promise<PredictResponse> {
  const json = await connectJson(gatewayUrl, path, body, headers);
  return fromJson(PredictResponseSchema, json, { ignoreUnknownFields: true });
}

/** The elements of a response's first output, as numbers. */
function firstOutput(response: PredictResponse): number[] {
  const output = response.outputs[0];
  if (output === undefined) throw new DemoError(`${formatAnswered(response)} answered without outputs`);
  return tensorElements(output).map(Number);
}

// Step 7.

async function predictEntities(state: DemoState, out: Output): Promise<void> {
  const { churned, stayed } = state.data.examples;
  const ids = [churned, stayed];
  const labels = new Map(parseSimpleCsv(state.data.labels.csv).map((r) => [r.customer_id, r.churned]));
  for (const line of wrap(
    `Asks ${DEMO_NAMES.churnModel} about two customers by their key alone: the inference service reads the model's feature service from the online store in one batched call, and the answer lists every feature used with its status. The request carries a W3C traceparent header, so the whole call is one trace (step 8).`,
  ))
    out.line(line);
  const trace = newTraceContext();
  state.trace = trace;
  const path = "seam.inference.v1.InferenceService/Predict";
  const body = {
    model: DEMO_NAMES.churnModel,
    entities: ids.map((id) => ({ joinKeys: { customer_id: id } })),
  };
  const headers = { traceparent: trace.traceparent };
  const response = await predictJson(state.gatewayUrl, path, body, headers);
  const probability = firstOutput(response);
  out.line("");
  out.line(`${INDENT}answered by ${formatAnswered(response)}`);
  for (const line of tableLines(
    ["CUSTOMER_ID", "P(CHURNED)", "ACTUALLY CHURNED"],
    ids.map((id, i) => [id, formatPercent(probability[i] ?? Number.NaN), labels.get(id) ?? "?"]),
  ))
    out.line(line);
  out.line("");
  out.line(`${INDENT}features used`);
  const used = featuresTable(
    response.features,
    ids.map((id) => ({ customer_id: id })),
  );
  for (const line of tableLines(used.header, used.rows)) out.line(line);
  out.line("");
  out.line(curlCommand(state.gatewayUrl, path, body, headers));
  out.line(
    seamCommand([
      "predict",
      DEMO_NAMES.churnModel,
      ...ids.flatMap((id) => ["--entity", `customer_id=${id}`]),
    ]),
  );
}

// Step 8.

function printTrace(state: DemoState, out: Output): void {
  const trace = state.trace;
  if (trace === undefined) throw new DemoError("no request was traced");
  for (const line of wrap(
    "The last request went in with a trace context of its own, so its spans (the gateway, the inference service, the feature store lookup, storage) form one trace under this id:",
  ))
    out.line(line);
  out.line("");
  out.line(`${INDENT}trace id     ${trace.traceId}`);
  out.line(`${INDENT}traceparent  ${trace.traceparent}`);
  out.line("");
  out.line(`${INDENT}open Jaeger at ${JAEGER_UI}/trace/${trace.traceId} (deploy/compose.yaml),`);
  out.line(`${INDENT}or search for the trace id in any OTLP backend set with OTEL_EXPORTER_OTLP_ENDPOINT.`);
  out.line("");
  for (const line of wrap(
    "Spans are exported only when the suite runs with an OTLP endpoint, e.g. (Jaeger takes OTLP/HTTP on port 4318):",
  ))
    out.line(line);
  out.line(`${INDENT}$ OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4318 npm start`);
}

// Errors.

function describeError(error: unknown): string {
  if (error instanceof ConnectError) {
    const hint =
      error.code === Code.Unavailable
        ? " (is every service of the suite running? `npm start` runs them all)"
        : "";
    return `${Code[error.code]}: ${error.rawMessage}${hint}`;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
