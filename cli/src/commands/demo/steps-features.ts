/**
 * Steps 2 and 3 of `seam demo`, the feature store: applies the demo's feature definitions,
 * then materializes both feature views into the online store.
 */
import type { MaterializeResult } from "@seam/proto/seam/features/v1/features_pb";
import type { Output } from "../../output.js";
import { DEMO_NAMES, FEATURES_YAML } from "../demo-data.js";
import { INDENT } from "../demo-format.js";
import { parseDefinitions } from "../feature-args.js";
import { actionName } from "../features.js";
import { type DemoClients, DemoError, type DemoState, FILES } from "./context.js";
import { formatCount, printLines, printSeamCommands, printTable, printWrapped } from "./print.js";

/** Step 2: shows features.yaml, applies it, and prints what each definition became. */
export async function applyFeatures(clients: DemoClients, out: Output): Promise<void> {
  printWrapped(
    out,
    `Declares the customer entity (joined on customer_id), two feature views over the uploaded customer data (each reads a dataset, with an event time column), and the feature service ${DEMO_NAMES.featureService}: the features a churn model reads, in training and in serving alike. Applying is idempotent: what did not change stays unchanged. The file, ${FILES.features}:`,
  );
  out.line("");
  printLines(
    out,
    FEATURES_YAML.trimEnd()
      .split("\n")
      .map((line) => `${INDENT}${INDENT}${line}`),
  );
  const definitions = parseDefinitions(FEATURES_YAML, FILES.features);
  const response = await clients.features.applyDefinitions(definitions);
  out.line("");
  printTable(
    out,
    ["KIND", "NAME", "ACTION", "VERSION"],
    response.applied.map((a) => [a.kind, a.name, actionName(a.action), String(a.version)]),
  );
  out.line("");
  printSeamCommands(out, [
    ["features", "apply", FILES.features],
    ["features", "list"],
  ]);
}

/** Step 3: materializes both views, and prints how many rows each read and wrote. */
export async function materialize(state: DemoState, clients: DemoClients, out: Output): Promise<void> {
  printWrapped(
    out,
    "Loads each view's latest values per customer from its dataset into the online store (LMDB embedded, or Redis), where predictions read them by key in one batched call.",
  );
  const rows: string[][] = [];
  for (const view of [DEMO_NAMES.profileView, DEMO_NAMES.activityView]) {
    let result: MaterializeResult | undefined;
    for await (const message of clients.features.materializeFeatureView({ featureView: view })) {
      if (message.event.case === "result") result = message.event.value;
    }
    if (result === undefined) throw new DemoError(`the materialization of ${view} ended without a result`);
    rows.push([
      view,
      formatCount(result.rowsRead),
      formatCount(result.rowsWritten),
      formatCount(result.rowsSkippedOlder),
      result.sourceVersions.join(", "),
    ]);
  }
  out.line("");
  printTable(out, ["VIEW", "ROWS READ", "WRITTEN", "ALREADY THERE", "SOURCE"], rows);
  out.line("");
  printSeamCommands(out, [
    ["features", "materialize", DEMO_NAMES.profileView],
    ["features", "materialize", DEMO_NAMES.activityView],
    [
      "features",
      "get",
      "--service",
      DEMO_NAMES.featureService,
      "--entity",
      `customer_id=${state.data.examples.churned}`,
    ],
  ]);
}
