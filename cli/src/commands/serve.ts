import { runDatasets } from "@seam/datasets";
import { runFeatures } from "@seam/features";
import { runGateway } from "@seam/gateway";
import { runInference } from "@seam/inference";
import { runRegistry } from "@seam/registry";
import { runTraining, runTrainingWorker } from "@seam/training";
import { UsageError } from "../args.js";

/** The services `seam serve <name>` can run, each as its own process. */
export const SERVABLE = ["registry", "datasets", "features", "training", "inference", "gateway"] as const;

/** `seam serve <name>`: one service in this process, configured from the environment. */
export async function runServe(argv: string[], env: Record<string, string | undefined>): Promise<void> {
  const [name] = argv;
  switch (name) {
    case "registry":
      return runRegistry(env);
    case "datasets":
      return runDatasets(env);
    case "features":
      return runFeatures(env);
    case "training":
      return runTraining(env);
    case "inference":
      return runInference(env);
    case "gateway":
      return runGateway(env);
    default:
      throw new UsageError(
        name === undefined
          ? "serve needs a service name"
          : `unknown service "${name}" (one of: ${SERVABLE.join(", ")})`,
      );
  }
}

/** `seam worker <kind>`: a worker process; `training` takes training jobs from the Redis queue. */
export async function runWorker(argv: string[], env: Record<string, string | undefined>): Promise<void> {
  const [kind] = argv;
  if (kind !== "training") {
    throw new UsageError(
      kind === undefined ? "worker needs a kind: training" : `unknown worker "${kind}" (one of: training)`,
    );
  }
  await runTrainingWorker(env);
}
