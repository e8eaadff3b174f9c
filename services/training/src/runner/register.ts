import type { Client } from "@connectrpc/connect";
import type { ModelRegistryService } from "@seam/proto/seam/registry/v1/registry_pb";
import type { Job, Registration } from "@seam/proto/seam/training/v1/training_pb";
import { settingsOf } from "./job-runner.js";

/**
 * Registers a trained job's ONNX model as a new version of `registration.model_name`, with
 * its test metrics (as test_*), hyperparameters and lineage (dataset version, job, sweep,
 * feature service); returns "model:version".
 */
export async function registerModel(
  registry: Client<typeof ModelRegistryService>,
  job: Job,
  onnx: Uint8Array,
  testMetrics: Record<string, number>,
  registration: Registration | undefined,
): Promise<string> {
  if (registration === undefined || registration.modelName === "") {
    throw new Error(`job ${job.id} has no registration`);
  }
  async function* upload() {
    yield {
      payload: {
        case: "metadata" as const,
        value: {
          modelName: registration?.modelName ?? "",
          createModel: true,
          description: registration?.description ?? "",
          metrics: Object.fromEntries(Object.entries(testMetrics).map(([k, v]) => [`test_${k}`, v])),
          params: paramsOf(job),
          lineage: {
            datasetVersion: job.datasetVersion,
            trainingJob: job.id,
            sweep: job.sweepId,
            featureService: job.spec?.features?.featureService ?? "",
          },
          alias: registration?.alias ?? "",
        },
      },
    };
    yield { payload: { case: "chunk" as const, value: onnx } };
  }
  const response = await registry.uploadModelVersion(upload());
  const version = response.version;
  if (version === undefined) throw new Error("the registry returned no version");
  return `${version.modelName}:${version.version}`;
}

function paramsOf(job: Job): Record<string, string> {
  const s = settingsOf(job);
  return {
    task: s.task,
    hidden_units: s.hiddenUnits.join(",") || "none",
    activation: s.activation,
    dropout: String(s.dropout),
    optimizer: s.optimizer,
    learning_rate: String(s.learningRate),
    epochs: String(s.epochs),
    batch_size: String(s.batchSize),
    seed: String(s.seed),
    missing_values: s.missing,
    ...(s.earlyStopping === undefined
      ? {}
      : { early_stopping: `${s.earlyStopping.metric}/${s.earlyStopping.patience}` }),
  };
}
