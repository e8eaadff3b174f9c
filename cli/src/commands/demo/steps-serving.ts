/**
 * Step 5 of `seam demo`, serving: points the alias "champion" of each model at the version
 * its job registered, has the inference service load and warm that version, and waits until
 * requests for the bare model name reach it.
 */
import type { Output } from "../../output.js";
import { DEMO_NAMES } from "../demo-data.js";
import { formatSeconds, INDENT } from "../demo-format.js";
import { formatMetrics } from "../training-format.js";
import { type DemoClients, DemoError, type DemoState } from "./context.js";
import { printSeamCommands, printWrapped } from "./print.js";

const ALIAS = "champion";
/** How long to wait for the inference service to route the alias to the new version. */
const ROUTE_WAIT_MS = 10_000;

/** Step 5: aliases both trained versions champion and prints their lineage. */
export async function aliasModels(state: DemoState, clients: DemoClients, out: Output): Promise<void> {
  printWrapped(
    out,
    'Each job registered a new version of its model in the registry. Setting the alias "champion" makes it the version a request for the bare model name gets; moving the alias later switches traffic without a restart (the inference service loads and warms the new version first).',
  );
  out.line("");
  const commands: string[][] = [];
  for (const job of [state.irisJob, state.churnJob]) {
    const [name = "", number = ""] = (job?.modelVersion ?? "").split(":");
    if (name === "" || !/^[0-9]+$/.test(number))
      throw new DemoError(`the job did not register a model version (got "${job?.modelVersion ?? ""}")`);
    const version = BigInt(number);
    const { version: aliased, previousVersion } = await clients.registry.setAlias({
      modelName: name,
      alias: ALIAS,
      version,
    });
    const before =
      previousVersion === 0n
        ? "a new alias"
        : previousVersion === version
          ? "it already was"
          : `it was version ${previousVersion}`;
    out.line(`${INDENT}${name}:${version} is now ${name}@${ALIAS} (${before})`);
    const lineage = aliased?.lineage;
    const detail = (label: string, text: string) => out.line(`${INDENT}${INDENT}${label.padEnd(17)}${text}`);
    detail("trained on", `${lineage?.datasetVersion || "-"} by job ${lineage?.trainingJob || "-"}`);
    if (lineage?.featureService)
      detail("feature service", `${lineage.featureService} (so it can predict by entity key)`);
    detail("inputs", aliased?.signature?.inputs.map((i) => i.name).join(", ") ?? "-");
    detail("test metrics", formatMetrics(aliased?.metrics ?? {}));
    // Warm the version now, so that step 6's first request does not pay for loading it.
    const loaded = await clients.inference.loadModel({ model: `${name}:${version}` });
    detail(
      "served",
      `loaded and warmed up by the inference service in ${formatSeconds(loaded.version?.loadMillis ?? 0)}`,
    );
    await waitForRoute(clients, name, version);
    commands.push(["models", "set-alias", name, ALIAS, String(version)]);
  }
  out.line("");
  printSeamCommands(out, [...commands, ["models", "show", `${DEMO_NAMES.churnModel}@${ALIAS}`]]);
}

/**
 * Waits up to ROUTE_WAIT_MS until the inference service routes `name@champion` to `version`
 * (or does not follow the model yet): it learns of the alias from a registry event, and a
 * request for the bare name sent before that would still reach the previous version.
 */
async function waitForRoute(clients: DemoClients, name: string, version: bigint): Promise<void> {
  const deadline = Date.now() + ROUTE_WAIT_MS;
  while (Date.now() < deadline) {
    const { models } = await clients.inference.getModelStatus({ modelName: name });
    const champion = models.find((m) => m.modelName === name)?.routes[ALIAS];
    if (champion === undefined || champion === version) return;
    await new Promise((r) => setTimeout(r, 200));
  }
}
