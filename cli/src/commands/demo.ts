/**
 * `seam demo`: the whole story against a running suite. This module parses the options,
 * checks that a gateway answers, runs the eight steps in order (each in a module under
 * demo/, by group) and reports how it went; the data and text helpers are demo-*.ts.
 */
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { Code, ConnectError, type Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { UsageError } from "../args.js";
import { createDemoClients, DATA_SEED, type DemoIo, type DemoState } from "./demo/context.js";
import { checkGateway } from "./demo/gateway.js";
import { printLines, printSeamCommands } from "./demo/print.js";
import { saveFiles, uploadData } from "./demo/steps-data.js";
import { applyFeatures, materialize } from "./demo/steps-features.js";
import { predictEntities, predictRows } from "./demo/steps-predictions.js";
import { aliasModels } from "./demo/steps-serving.js";
import { printTrace } from "./demo/steps-tracing.js";
import { train } from "./demo/steps-training.js";
import { generateChurnData } from "./demo-data.js";
import { formatSeconds, stepHeader } from "./demo-format.js";

export type { DemoIo } from "./demo/context.js";

export const DEMO_USAGE = `seam demo [--quick] [--save DIR]   (talks to the gateway at SEAM_GATEWAY_URL, default http://127.0.0.1:8080)
                                                    the whole story against a running suite (start it with \`npm start\`):
                                                    uploads Iris and a generated customer data set, declares and
                                                    materializes features, trains two models (epochs shown live), aliases
                                                    them champion, predicts with Connect JSON, the Open Inference Protocol
                                                    and by entity key, and prints the trace id of the last request; every
                                                    step prints the seam command or curl call that does the same
  --quick                                           fewer epochs: quicker, rougher models
  --save DIR                                        also write the files those commands read (CSV, features.yaml) to DIR`;

/** The gateway address the printed commands use when SEAM_GATEWAY_URL is not set. */
const DEFAULT_GATEWAY_URL = "http://127.0.0.1:8080";

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
  const clients = createDemoClients(transport);
  const { out } = io;
  const started = performance.now();

  out.line(`Seam demo against the gateway at ${state.gatewayUrl}${quick ? " (--quick: fewer epochs)" : ""}`);
  try {
    await checkGateway(state.gatewayUrl);
  } catch (error) {
    io.err.write(`seam demo: ${describeError(error)}\n`);
    return 1;
  }
  if (state.gatewayUrl !== DEFAULT_GATEWAY_URL)
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
    printLines(out, stepHeader(i + 1, steps.length, title));
    try {
      await step();
    } catch (error) {
      io.err.write(`seam demo: step ${i + 1} (${title}) failed: ${describeError(error)}\n`);
      return 1;
    }
  }
  out.line("");
  out.line(`Done in ${formatSeconds(performance.now() - started)}. Everything it made is still there:`);
  printSeamCommands(out, [
    ["models", "list"],
    ["datasets", "list", "--prefix", "demo-"],
    ["features", "list"],
    ["jobs", "list"],
  ]);
  return 0;
}

/** Why a step failed, in a line; a service that is down gets a hint to start the suite. */
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
