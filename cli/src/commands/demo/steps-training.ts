/**
 * Step 4 of `seam demo`, training: submits the Iris and the churn job as `seam train` would,
 * and follows each one epoch by epoch until it has registered its model.
 */
import type { Client } from "@connectrpc/connect";
import { type Job, JobState, Task, type TrainingService } from "@seam/proto/seam/training/v1/training_pb";
import { DEMO_NAMES } from "../demo-data.js";
import { INDENT, seamCommand } from "../demo-format.js";
import { parseTrainArgs } from "../training-args.js";
import { formatEpochLine, formatMetrics, formatStateChange, isFinished } from "../training-format.js";
import { type DemoClients, DemoError, type DemoIo, type DemoState, type Epochs } from "./context.js";
import { printWrapped } from "./print.js";

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

/** Step 4: trains the Iris model, then the churn model, and keeps both jobs for step 5. */
export async function train(state: DemoState, clients: DemoClients, io: DemoIo): Promise<void> {
  const { out } = io;
  printWrapped(
    out,
    `Trains two multilayer perceptrons with TensorFlow.js on the training service's workers. ${DEMO_NAMES.irisModel} learns the species from the Iris measurements. ${DEMO_NAMES.churnModel} takes its data from the feature service: the job first joins the features point-in-time onto the labelled customers (as of each label's time, never later), then trains on the joined rows. Each job exports its model to ONNX with the preprocessing inside, checks it against TensorFlow.js, and registers it with its test metrics and lineage; a model trained on a feature service is bound to it, which is what lets it predict by entity key.`,
  );
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
