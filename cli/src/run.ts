import { Code, ConnectError } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { ConfigError, parseEnv } from "@seam/kit/config";
import { z } from "zod";
import { InputError, UsageError } from "./args.js";
import { DATASETS_USAGE, runDatasetsCommand } from "./commands/datasets.js";
import { DEMO_USAGE, runDemoCommand } from "./commands/demo.js";
import { FEATURES_USAGE, runFeaturesCommand } from "./commands/features.js";
import { MODELS_USAGE, runModelsCommand } from "./commands/models.js";
import { PREDICT_USAGE, runPredictCommand } from "./commands/predict.js";
import { runServe, runWorker, SERVABLE } from "./commands/serve.js";
import { runSweepCommand, SWEEP_USAGE } from "./commands/sweeps.js";
import { JOBS_USAGE, runJobsCommand, runTrainCommand, TRAIN_USAGE } from "./commands/training.js";
import { runUp } from "./commands/up.js";
import { createOutput, type Output } from "./output.js";

const USAGE = `seam: the Seam ML platform

  seam up                   run every service and the gateway in this process (npm start)
  seam serve <name>         run one service in this process: ${SERVABLE.join(", ")}
  seam worker training      train jobs from the queue on REDIS_URL (any number of workers, any host)
  seam models <command>     manage registered models through the gateway
  seam predict <model> …    run a model on rows of values or entity keys, through the gateway
  seam datasets <command>   manage datasets through the gateway
  seam features <command>   manage and read the feature store through the gateway
  seam train <options>      train a model on a dataset or feature service and register it, through the gateway
  seam jobs <command>       list, show, watch and cancel training jobs through the gateway
  seam sweep <command>      search hyperparameters (trials as training jobs, the best registered) through the gateway
  seam demo [--quick]       the whole story against a running suite, step by step, with the commands that do the same

${MODELS_USAGE}

${PREDICT_USAGE}

${DATASETS_USAGE}

${FEATURES_USAGE}

${TRAIN_USAGE}

${JOBS_USAGE}

${SWEEP_USAGE}

${DEMO_USAGE}

Configuration comes from the environment: SEAM_DATA_DIR (./.seam), REDIS_URL, SEAM_GATEWAY_PORT (8080),
REGISTRY_PORT (50051), DATASETS_PORT (50052), FEATURES_PORT (50053), TRAINING_PORT (50054), INFERENCE_PORT (50055),
TRAINING_WORKERS (1), INFERENCE_* (batching, model cache, policies, prediction log: see README),
SEAM_REGISTRY_ADDRESS, SEAM_DATASETS_ADDRESS, SEAM_FEATURES_ADDRESS, SEAM_TRAINING_ADDRESS, SEAM_INFERENCE_ADDRESS,
SEAM_GATEWAY_URL,
LOG_LEVEL, OTEL_EXPORTER_OTLP_ENDPOINT.`;

const clientEnvSchema = z.object({
  SEAM_GATEWAY_URL: z.url({ protocol: /^https?$/ }).default("http://127.0.0.1:8080"),
});

/**
 * Runs the command line and resolves to the exit code: 0 success (servers keep
 * running after it), 1 a failed call or bad configuration, 2 a usage error.
 */
export async function run(
  argv: string[],
  env: Record<string, string | undefined> = process.env,
  out: Output = createOutput(),
  err: NodeJS.WritableStream = process.stderr,
): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "up":
        await runUp(env, out);
        return 0;
      case "serve":
        await runServe(rest, env);
        return 0;
      case "worker":
        await runWorker(rest, env);
        return 0;
      case "models": {
        const { SEAM_GATEWAY_URL } = parseEnv(clientEnvSchema, env);
        // gRPC over HTTP/2 through the gateway: the only protocol that streams uploads both ways.
        const transport = createGrpcTransport({ baseUrl: SEAM_GATEWAY_URL });
        await runModelsCommand(rest, transport, out);
        return 0;
      }
      case "predict": {
        const { SEAM_GATEWAY_URL } = parseEnv(clientEnvSchema, env);
        const transport = createGrpcTransport({ baseUrl: SEAM_GATEWAY_URL });
        await runPredictCommand(rest, transport, out);
        return 0;
      }
      case "datasets": {
        const { SEAM_GATEWAY_URL } = parseEnv(clientEnvSchema, env);
        const transport = createGrpcTransport({ baseUrl: SEAM_GATEWAY_URL });
        await runDatasetsCommand(rest, transport, out, err);
        return 0;
      }
      case "features": {
        const { SEAM_GATEWAY_URL } = parseEnv(clientEnvSchema, env);
        const transport = createGrpcTransport({ baseUrl: SEAM_GATEWAY_URL });
        await runFeaturesCommand(rest, transport, out, err);
        return 0;
      }
      case "train": {
        const { SEAM_GATEWAY_URL } = parseEnv(clientEnvSchema, env);
        const transport = createGrpcTransport({ baseUrl: SEAM_GATEWAY_URL });
        // Ctrl-C cancels the job being followed; a second one exits at once (the default again).
        return await withInterrupt((interrupt) =>
          runTrainCommand(rest, transport, { out, err, progress: err, interrupt }),
        );
      }
      case "jobs": {
        const { SEAM_GATEWAY_URL } = parseEnv(clientEnvSchema, env);
        const transport = createGrpcTransport({ baseUrl: SEAM_GATEWAY_URL });
        // Ctrl-C ends a watch with a word on the job, which goes on; other commands keep the default.
        if (rest[0] !== "watch") return await runJobsCommand(rest, transport, { out, err, progress: err });
        return await withInterrupt((interrupt) =>
          runJobsCommand(rest, transport, { out, err, progress: err, interrupt }),
        );
      }
      case "sweep": {
        const { SEAM_GATEWAY_URL } = parseEnv(clientEnvSchema, env);
        const transport = createGrpcTransport({ baseUrl: SEAM_GATEWAY_URL });
        // Ctrl-C while following: create cancels its sweep, watch only stops watching.
        if (rest[0] !== "create" && rest[0] !== "watch")
          return await runSweepCommand(rest, transport, { out, err, progress: err });
        return await withInterrupt((interrupt) =>
          runSweepCommand(rest, transport, { out, err, progress: err, interrupt }),
        );
      }
      case "demo": {
        const { SEAM_GATEWAY_URL } = parseEnv(clientEnvSchema, env);
        // Ctrl-C cancels the training job being followed, and the demo stops.
        return await withInterrupt((interrupt) =>
          runDemoCommand(rest, SEAM_GATEWAY_URL, { out, err, interrupt }),
        );
      }
      case undefined:
      case "help":
      case "--help":
      case "-h":
        out.line(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      err.write(`seam: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    if (error instanceof ConfigError || error instanceof InputError) {
      err.write(`seam: ${error.message}\n`);
      return 1;
    }
    if (error instanceof ConnectError) {
      const hint = error.code === Code.Unavailable ? " (is the gateway running? `seam up` starts it)" : "";
      err.write(`seam: ${Code[error.code]}: ${error.rawMessage}${hint}\n`);
      return 1;
    }
    if (error instanceof Error && "code" in error && typeof error.code === "string") {
      err.write(`seam: ${error.message}\n`);
      return 1;
    }
    throw error;
  }
}

/** Runs `fn` with a signal aborted by the first SIGINT (Ctrl-C) while it runs. */
async function withInterrupt<T>(fn: (interrupt: AbortSignal) => Promise<T>): Promise<T> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  process.once("SIGINT", abort);
  try {
    return await fn(controller.signal);
  } finally {
    process.off("SIGINT", abort);
  }
}
