/**
 * Steps 6 and 7 of `seam demo`, predictions through the gateway: the Iris model on rows of
 * values (Connect JSON, then the Open Inference Protocol), and the churn model by entity key
 * with a traceparent of the demo's own, which step 8 prints.
 */
import { fromJson } from "@bufbuild/protobuf";
import { ModelInferRequestSchema } from "@seam/proto/inference/grpc_predict_v2_pb";
import { type PredictResponse, PredictResponseSchema } from "@seam/proto/seam/inference/v1/inference_pb";
import type { Output } from "../../output.js";
import { DEMO_NAMES } from "../demo-data.js";
import {
  argmax,
  curlCommand,
  formatPercent,
  INDENT,
  newTraceContext,
  parseSimpleCsv,
  seamCommand,
} from "../demo-format.js";
import { IRIS_CSV } from "../demo-iris.js";
import { featuresTable, formatAnswered, tensorElements } from "../predict-format.js";
import { type DemoClients, DemoError, type DemoState } from "./context.js";
import { connectJson } from "./gateway.js";
import { printTable, printWrapped } from "./print.js";

const PREDICT_PATH = "seam.inference.v1.InferenceService/Predict";
const MODEL_INFER_PATH = "inference.GRPCInferenceService/ModelInfer";
const IRIS_FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"] as const;

/** Step 6: three flowers through demo-iris, as Connect JSON and as OIP ModelInfer. */
export async function predictRows(state: DemoState, clients: DemoClients, out: Output): Promise<void> {
  const iris = parseSimpleCsv(IRIS_CSV);
  const classes = [...new Set(iris.map((r) => r.species ?? ""))].sort();
  // One flower of each species.
  const samples = [0, 50, 100].map((i) => iris[i] as Record<string, string>);
  const rows = samples.map((s) => Object.fromEntries(IRIS_FEATURES.map((f) => [f, Number(s[f])])));

  printWrapped(
    out,
    `Asks ${DEMO_NAMES.irisModel} (its champion) about one flower of each species, as Connect JSON: a plain HTTP POST any language or browser can send, with rows of named values.`,
  );
  const body = { model: DEMO_NAMES.irisModel, rows };
  const response = await predictJson(state.gatewayUrl, PREDICT_PATH, body);
  const predicted = predictedClasses(firstOutput(response), samples.length, classes);
  out.line("");
  out.line(`${INDENT}answered by ${formatAnswered(response)}`);
  printTable(
    out,
    [...IRIS_FEATURES, "SPECIES", ...predicted.header],
    samples.map((s, r) => [
      ...IRIS_FEATURES.map((f) => Number(s[f]).toFixed(1)),
      s.species ?? "",
      ...(predicted.rows[r] ?? []),
    ]),
  );
  out.line("");
  out.line(curlCommand(state.gatewayUrl, PREDICT_PATH, body));
  out.line(seamCommand(["predict", DEMO_NAMES.irisModel, "--input", JSON.stringify(rows[0])]));

  out.line("");
  printWrapped(
    out,
    "The same model through the Open Inference Protocol v2 (KServe, Triton): ModelInfer with one tensor per input, sent here by a gRPC client through the same gateway.",
  );
  const oipBody = {
    modelName: DEMO_NAMES.irisModel,
    id: "seam-demo",
    inputs: IRIS_FEATURES.map((f) => ({
      name: f,
      datatype: "FP32",
      shape: [rows.length, 1],
      contents: { fp32Contents: rows.map((r) => r[f] as number) },
    })),
  };
  const infer = await clients.oip.modelInfer(fromJson(ModelInferRequestSchema, oipBody));
  const output = infer.outputs[0];
  const inferred = predictedClasses(output?.contents?.fp32Contents ?? [], rows.length, classes);
  out.line("");
  out.line(
    `${INDENT}answered by ${infer.modelName} version ${infer.modelVersion}: output "${output?.name ?? "?"}" ${output?.datatype ?? ""} [${output?.shape.join(", ") ?? ""}]`,
  );
  printTable(
    out,
    ["ROW", ...inferred.header],
    inferred.rows.map((cells, r) => [String(r), ...cells]),
  );
  out.line("");
  out.line(curlCommand(state.gatewayUrl, MODEL_INFER_PATH, oipBody));
}

/**
 * The PREDICTED and P(class) columns of a classifier's output, a row of one probability per
 * class after another: the columns' names, and `rowCount` rows of cells.
 */
function predictedClasses(
  probabilities: readonly number[],
  rowCount: number,
  classes: readonly string[],
): { header: string[]; rows: string[][] } {
  const width = classes.length;
  const rows = Array.from({ length: rowCount }, (_, r) => {
    const p = probabilities.slice(r * width, (r + 1) * width);
    return [classes[argmax(p)] ?? "?", ...p.map(formatPercent)];
  });
  return { header: ["PREDICTED", ...classes.map((c) => `P(${c})`)], rows };
}

/** Step 7: two customers through demo-churn by key alone, with the features the answer used. */
export async function predictEntities(state: DemoState, out: Output): Promise<void> {
  const { churned, stayed } = state.data.examples;
  const ids = [churned, stayed];
  const labels = new Map(parseSimpleCsv(state.data.labels.csv).map((r) => [r.customer_id, r.churned]));
  printWrapped(
    out,
    `Asks ${DEMO_NAMES.churnModel} about two customers by their key alone: the inference service reads the model's feature service from the online store in one batched call, and the answer lists every feature used with its status. The request carries a W3C traceparent header, so the whole call is one trace (step 8).`,
  );
  const trace = newTraceContext();
  state.trace = trace;
  const body = {
    model: DEMO_NAMES.churnModel,
    entities: ids.map((id) => ({ joinKeys: { customer_id: id } })),
  };
  const headers = { traceparent: trace.traceparent };
  const response = await predictJson(state.gatewayUrl, PREDICT_PATH, body, headers);
  const probability = firstOutput(response);
  out.line("");
  out.line(`${INDENT}answered by ${formatAnswered(response)}`);
  printTable(
    out,
    ["CUSTOMER_ID", "P(CHURNED)", "ACTUALLY CHURNED"],
    ids.map((id, i) => [id, formatPercent(probability[i] ?? Number.NaN), labels.get(id) ?? "?"]),
  );
  out.line("");
  out.line(`${INDENT}features used`);
  const used = featuresTable(
    response.features,
    ids.map((id) => ({ customer_id: id })),
  );
  printTable(out, used.header, used.rows);
  out.line("");
  out.line(curlCommand(state.gatewayUrl, PREDICT_PATH, body, headers));
  out.line(
    seamCommand([
      "predict",
      DEMO_NAMES.churnModel,
      ...ids.flatMap((id) => ["--entity", `customer_id=${id}`]),
    ]),
  );
}

/** A Predict call as Connect JSON, the way the printed curl command sends it. */
async function predictJson(
  gatewayUrl: string,
  path: string,
  body: unknown,
  headers: Readonly<Record<string, string>> = {},
): Promise<PredictResponse> {
  const json = await connectJson(gatewayUrl, path, body, headers);
  return fromJson(PredictResponseSchema, json, { ignoreUnknownFields: true });
}

/** The elements of a response's first output, as numbers. */
function firstOutput(response: PredictResponse): number[] {
  const output = response.outputs[0];
  if (output === undefined) throw new DemoError(`${formatAnswered(response)} answered without outputs`);
  return tensorElements(output).map(Number);
}
