import { create } from "@bufbuild/protobuf";
import type { Client } from "@connectrpc/connect";
import type { EventBus } from "@seam/kit/storage";
import type { DatasetService } from "@seam/proto/seam/datasets/v1/datasets_pb";
import type { FeatureStoreService } from "@seam/proto/seam/features/v1/features_pb";
import { DatasetInputSchema, type Job, JobState } from "@seam/proto/seam/training/v1/training_pb";
import { publishJob } from "../jobs/events.js";
import type { JobStore } from "../jobs/job-store.js";
import { CancelledError } from "./executor.js";

/** What preparing a features job works with. */
export interface PrepareFeaturesDeps {
  readonly jobs: JobStore;
  readonly events: EventBus;
  readonly datasets: Client<typeof DatasetService>;
  readonly features: Client<typeof FeatureStoreService>;
}

/**
 * Turns a running features job (spec.features) into a dataset job, before its data is
 * loaded: the feature store joins the feature service onto the entity version point-in-time
 * correct (GetHistoricalFeatures); the joined version is recorded on the job in one update
 * (dataset_version, and spec.dataset naming it with the label, the joined feature columns
 * and the split); then the spec's split is recorded on that version. A job that has joined
 * already (resumed after a lost worker or a restart: spec.dataset is set) is not joined
 * again; recording its split again is a no-op. Returns the job as stored; a dataset job
 * comes back as it is. Throws CancelledError when the job stopped running (cancelled, or
 * taken over by another process) during the join.
 */
export async function prepareFeatures(
  job: Job,
  deps: PrepareFeaturesDeps,
  signal?: AbortSignal,
): Promise<Job> {
  const input = job.spec?.features;
  if (input === undefined) return job;
  const options = signal === undefined ? {} : { signal };
  // Updates apply only while this run still owns the job (not cancelled, not taken over).
  const owned = (j: Job) => j.state === JobState.RUNNING && j.worker === job.worker;
  let current = job;
  if (job.spec?.dataset === undefined) {
    const joined = await deps.features.getHistoricalFeatures(
      {
        selection: { case: "featureService", value: input.featureService },
        entityDataset: input.entityDataset,
        entityVersion: input.entityVersion,
        timestampColumn: input.timestampColumn,
        outputDataset: input.outputDataset,
        description: `training data of job ${job.id}`,
      },
      options,
    );
    const version = joined.version;
    if (version === undefined) throw new Error("the feature store returned no dataset version");
    current = await deps.jobs.update(job.id, (j) => {
      if (!owned(j) || j.spec === undefined) return false;
      j.datasetVersion = version.ref;
      j.spec.dataset = create(DatasetInputSchema, {
        dataset: version.dataset,
        version: version.id,
        labelColumn: input.labelColumn,
        featureColumns: joined.featureColumns,
        split: input.split,
      });
      return true;
    });
    if (!owned(current)) throw new CancelledError("the job stopped running during the join");
    await publishJob(deps.events, current);
  }
  const data = current.spec?.dataset;
  if (data === undefined) throw new Error(`job ${job.id} has no spec.dataset`);
  const { version } = await deps.datasets.splitDatasetVersion(
    {
      dataset: data.dataset,
      version: data.version,
      ...(input.split === undefined ? {} : { spec: input.split }),
    },
    options,
  );
  const counts = version?.splits?.counts;
  if (current.rows === undefined && counts !== undefined) {
    current = await deps.jobs.update(job.id, (j) => {
      if (!owned(j)) return false;
      j.rows = counts;
      return true;
    });
    await publishJob(deps.events, current);
  }
  return current;
}
