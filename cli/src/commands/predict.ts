import { readFile } from "node:fs/promises";
import { type MessageInitShape, toJson } from "@bufbuild/protobuf";
import { createClient, type Transport } from "@connectrpc/connect";
import {
  InferenceService,
  type PredictRequestSchema,
  PredictResponseSchema,
} from "@seam/proto/seam/inference/v1/inference_pb";
import type { Output } from "../output.js";
import { loadRows, parsePredictArgs } from "./predict-args.js";
import { featuresTable, formatAnswered, outputsTable } from "./predict-format.js";

export const PREDICT_USAGE = `seam predict <model> <input> [options]   (talks to the gateway at SEAM_GATEWAY_URL, default http://127.0.0.1:8080)
                                                    run a model served by the inference service; <model> is name (its
                                                    traffic split, else the champion alias, else the latest version),
                                                    name@alias or name:version
  --input '{"x":1.5,"country":"NL"}'                one row of named values, one per model input (null: missing)
  --input '[{"x":1.5},{"x":2}]'                     several rows
  --input @rows.json                                the row or rows from a JSON file
  --entity key=value[,key=value]...                 by entity key: the model version's feature service supplies the
                                                    inputs; one entity per --entity (its join keys separated by ","),
                                                    repeat it for more entities, e.g. --entity user_id=42 --entity user_id=7
  --missing-features reject|impute                  a missing or stale feature refuses the request, or is fed as missing
                                                    (default: the version's declaration, else the server's)
  --output NAME                                     only these outputs (repeatable, or "a,b"); all by default
  --request-id ID                                   identifies the request (echoed, logged, keeps a traffic split sticky)
  --json                                            the response as JSON
  prints the version that answered, the outputs per row and, by entity key, the features used with their status`;

/** What `seam predict` reads files with (tests replace it). */
export type ReadText = (path: string) => Promise<string>;

/**
 * `seam predict`: one Predict call to the inference service behind `transport`, with
 * rows of named values or entity keys; prints the answering version, the outputs per row
 * and, for entity keys, the features used.
 */
export async function runPredictCommand(
  argv: string[],
  transport: Transport,
  out: Output,
  read: ReadText = (path) => readFile(path, "utf8"),
): Promise<void> {
  const command = parsePredictArgs(argv);
  const input = command.input;
  const request: MessageInitShape<typeof PredictRequestSchema> = {
    model: command.model,
    requestId: command.requestId,
    outputs: [...command.outputs],
    missingFeatures: command.missingFeatures,
    ...(input.kind === "rows"
      ? { rows: await loadRows(input.source, read) }
      : { entities: input.entities.map((joinKeys) => ({ joinKeys })) }),
  };
  const response = await createClient(InferenceService, transport).predict(request);
  if (command.json) return out.json(toJson(PredictResponseSchema, response));
  out.line(formatAnswered(response));
  if (response.requestId !== "") out.line(`request ${response.requestId}`);
  const entities = input.kind === "entities" ? input.entities : undefined;
  const outputs = outputsTable(response, entities);
  out.table(outputs.header, outputs.rows);
  if (entities !== undefined && response.features.length > 0) {
    out.line("");
    out.line("features used");
    const used = featuresTable(response.features, entities);
    out.table(used.header, used.rows);
  }
}
