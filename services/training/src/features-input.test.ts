import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { createRandom as random } from "@seam/kit/random";
import { failure } from "@seam/kit/testing";
import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import type { ApplyDefinitionsRequestSchema } from "@seam/proto/seam/features/v1/features_pb";
import { type Job, type JobSpecSchema, JobState, Task } from "@seam/proto/seam/training/v1/training_pb";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { JobStore } from "./jobs/job-store.js";
import { prepareFeatures } from "./runner/prepare-features.js";
import { startTestTraining, type TestTraining } from "./testing/harness.js";

type SpecInit = MessageInitShape<typeof JobSpecSchema>;

const DAY = 86_400_000;
const START = Date.parse("2024-05-01T00:00:00Z");
const CUSTOMERS = 120;
const DAYS = 5;

/**
 * A customer-stats source (a row per customer and day, spend switching at random between
 * low and high) and an entity dataset of labels half a day after each source row, where
 * `churned` is whether the spend *as of the label's time* was low. Only a point-in-time join
 * gives the features the labels were made from: the latest spend (or a later one) agrees
 * with the label about half the time.
 */
function customerData(): { source: string; labels: string } {
  const next = random(42);
  const source = ["customer_id,event_timestamp,spend,visits"];
  const labels = ["customer_id,event_timestamp,churned,channel"];
  for (let c = 1; c <= CUSTOMERS; c++) {
    for (let d = 0; d < DAYS; d++) {
      const low = next() < 0.5;
      const spend = low ? 5 + next() * 30 : 65 + next() * 30;
      const visits = Math.floor(next() * 10);
      source.push(`${c},${new Date(START + d * DAY).toISOString()},${spend.toFixed(2)},${visits}`);
      labels.push(
        `${c},${new Date(START + d * DAY + DAY / 2).toISOString()},${low},${next() < 0.5 ? "web" : "app"}`,
      );
    }
  }
  return { source: `${source.join("\n")}\n`, labels: `${labels.join("\n")}\n` };
}

const DEFINITIONS = {
  entities: [{ name: "customer", joinKeys: [{ name: "customer_id", type: ColumnType.INT64 }] }],
  featureViews: [
    {
      name: "customer_stats",
      entities: ["customer"],
      features: [{ name: "spend" }, { name: "visits" }],
      source: { dataset: "customer_stats_src", timestampColumn: "event_timestamp" },
    },
  ],
  featureServices: [{ name: "churn", features: [{ featureView: "customer_stats" }] }],
} satisfies MessageInitShape<typeof ApplyDefinitionsRequestSchema>;

const SPLIT = {
  seed: 11n,
  trainFraction: 0.7,
  validationFraction: 0.15,
  testFraction: 0.15,
  keyColumn: "customer_id",
};

const CHURN_SPEC = {
  features: { featureService: "churn", entityDataset: "churn_labels", labelColumn: "churned", split: SPLIT },
  task: Task.BINARY_CLASSIFICATION,
  model: { hiddenUnits: [8] },
  training: { epochs: 30, batchSize: 32, seed: 5n },
  registration: { modelName: "churn-mlp", description: "churn from the feature store" },
} satisfies SpecInit;

let t: TestTraining;
let entityVersion: string;

beforeEach(async () => {
  t = await startTestTraining("embedded", { features: true });
  const data = customerData();
  await t.uploadCsv("customer_stats_src", data.source);
  entityVersion = await t.uploadCsv("churn_labels", data.labels);
  await t.features.applyDefinitions(DEFINITIONS);
});
afterEach(async () => t.close());

/** Waits until the job ends (its watch stream closes) and returns it. */
async function finished(id: string): Promise<Job> {
  for await (const _ of t.training.watchJob({ id })) {
    // every event until the last
  }
  return (await t.training.getJob({ id })).job as Job;
}

describe("a job on a feature service", () => {
  it("joins point-in-time, records the joined version, trains to AUC ≥ 0.9 and registers it bound to the feature service", async () => {
    const { job: queued } = await t.training.submitJob({ spec: CHURN_SPEC });
    expect(queued?.state).toBe(JobState.QUEUED);
    expect(queued?.datasetVersion).toBe(""); // not joined yet
    expect(queued?.spec?.dataset).toBeUndefined();
    expect(queued?.spec?.features).toMatchObject({
      entityVersion, // pinned at submit
      timestampColumn: "event_timestamp",
      outputDataset: "churn-mlp-training",
    });

    const id = queued?.id ?? "";
    const job = await finished(id);
    expect(job.reason).toBe("");
    expect(job.state).toBe(JobState.SUCCEEDED);
    expect(job.testMetrics.auc).toBeGreaterThanOrEqual(0.9);

    // The joined version is the job's data, recorded on it as a dataset job's would be.
    expect(job.datasetVersion).toMatch(/^churn-mlp-training@[0-9a-f]{24}$/);
    const joinedId = job.datasetVersion.split("@")[1] ?? "";
    expect(job.spec?.dataset).toMatchObject({
      dataset: "churn-mlp-training",
      version: joinedId,
      labelColumn: "churned",
      featureColumns: ["spend", "visits"],
      split: SPLIT,
    });
    const joined = (await t.datasets.getDatasetVersion({ dataset: "churn-mlp-training", version: joinedId }))
      .version;
    expect(joined?.parents).toContain(`churn_labels@${entityVersion}`);
    expect(joined?.description).toBe(`training data of job ${id}`);
    expect(joined?.splits?.counts).toEqual(job.rows);
    expect(Number(job.rows?.test)).toBeGreaterThan(0);

    const [modelName, version] = job.modelVersion.split(":");
    const registered = (
      await t.registry.getModelVersion({ modelName: modelName ?? "", version: BigInt(version ?? 0) })
    ).version;
    expect(registered?.lineage).toMatchObject({
      datasetVersion: job.datasetVersion,
      trainingJob: id,
      featureService: "churn",
    });
    expect(registered?.signature?.inputs.map((i) => i.name)).toEqual(["spend", "visits"]);
    // The registry binds the model to its feature service: the store refuses to delete it.
    expect(await failure(t.features.deleteFeatureService({ name: "churn" }))).toMatchObject({
      code: Code.FailedPrecondition,
    });
  });

  it("does not join again once the joined version is recorded (a resumed run)", async () => {
    const { job: queued } = await t.training.submitJob({ spec: CHURN_SPEC });
    const job = await finished(queued?.id ?? "");
    expect(job.state).toBe(JobState.SUCCEEDED);
    const deps = {
      jobs: new JobStore(t.stores.meta),
      events: t.stores.events,
      datasets: t.datasets,
      features: t.features,
    };
    const again = await prepareFeatures(job, deps);
    expect(again.datasetVersion).toBe(job.datasetVersion);
    const versions = await t.datasets.listDatasetVersions({ dataset: "churn-mlp-training" });
    expect(versions.versions.map((v) => v.ref)).toEqual([job.datasetVersion]);
  });
});

describe("SubmitJob of a features job", () => {
  it.each<[string, () => SpecInit, string | (() => string)]>([
    [
      "an unknown feature service",
      () => ({ ...CHURN_SPEC, features: { ...CHURN_SPEC.features, featureService: "nope" } }),
      "spec.features.feature_service: ",
    ],
    [
      "a label column the entity dataset lacks",
      () => ({ ...CHURN_SPEC, features: { ...CHURN_SPEC.features, labelColumn: "left" } }),
      () => `spec.features.label_column: churn_labels@${entityVersion} has no column "left"`,
    ],
    [
      "a label that does not fit the task",
      () => ({ ...CHURN_SPEC, task: Task.REGRESSION }),
      'spec.features.label_column "churned" is bool; regression needs int64 or float64',
    ],
    [
      "a missing timestamp column",
      () => ({ ...CHURN_SPEC, features: { ...CHURN_SPEC.features, timestampColumn: "seen_at" } }),
      () => `spec.features.timestamp_column: churn_labels@${entityVersion} has no timestamp column "seen_at"`,
    ],
    [
      "an unknown entity dataset",
      () => ({ ...CHURN_SPEC, features: { ...CHURN_SPEC.features, entityDataset: "nope" } }),
      "spec.features.entity_dataset: ",
    ],
    [
      "an entity dataset without the join keys",
      () => ({ ...CHURN_SPEC, features: { ...CHURN_SPEC.features, entityDataset: "no_keys" } }),
      'needs int64 column "customer_id" (a join key of feature view customer_stats)',
    ],
    [
      "no split",
      () => ({ ...CHURN_SPEC, features: { ...CHURN_SPEC.features, split: undefined } }),
      "spec.features.split is required",
    ],
    [
      "a split without validation rows",
      () => ({
        ...CHURN_SPEC,
        features: { ...CHURN_SPEC.features, split: { ...SPLIT, validationFraction: 0, testFraction: 0.3 } },
      }),
      "spec.features.split.validation_fraction must be above 0",
    ],
    [
      "split fractions that do not add up to 1",
      () => ({
        ...CHURN_SPEC,
        features: { ...CHURN_SPEC.features, split: { ...SPLIT, testFraction: 0.5 } },
      }),
      "must add up to 1",
    ],
    [
      "both a dataset and features",
      () => ({ ...CHURN_SPEC, dataset: { dataset: "churn_labels", labelColumn: "churned" } }),
      "spec.dataset and spec.features are both set",
    ],
    [
      "neither a dataset nor features",
      () => ({ ...CHURN_SPEC, features: undefined }),
      "spec.dataset or spec.features is required",
    ],
  ])("refuses %s with INVALID_ARGUMENT and queues nothing", async (_, spec, message) => {
    await t.uploadCsv("no_keys", "event_timestamp,churned\n2024-05-01T12:00:00Z,true\n");
    const err = await failure(t.training.submitJob({ spec: spec() }));
    expect(err.code).toBe(Code.InvalidArgument);
    expect(err.rawMessage).toContain(typeof message === "string" ? message : message());
    expect((await t.training.listJobs({})).jobs).toEqual([]);
  });
});
