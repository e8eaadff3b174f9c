import { parseArgs } from "node:util";
import { type DescMessage, type MessageShape, toJson } from "@bufbuild/protobuf";
import { type Duration, durationMs, type Timestamp, timestampDate } from "@bufbuild/protobuf/wkt";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import {
  ApplyAction,
  ApplyDefinitionsResponseSchema,
  type Entity,
  EntitySchema,
  type FeatureService as FeatureServiceDefinition,
  FeatureServiceSchema,
  FeatureStatus,
  FeatureStoreService,
  type FeatureValue,
  type FeatureView,
  FeatureViewSchema,
  GetOnlineFeaturesResponseSchema,
  type MaterializeResult,
  MaterializeResultSchema,
} from "@seam/proto/seam/features/v1/features_pb";
import { parsePositiveInt, UsageError } from "../args.js";
import type { Output } from "../output.js";
import { createStatusLine, type ProgressStream } from "../progress.js";
import { formatCell, typeName } from "./dataset-format.js";
import {
  type DefinitionKind,
  loadDefinitionsFile,
  parseDefinitionKind,
  parseEntities,
  parseSelection,
  parseTimeOption,
} from "./feature-args.js";

type Features = Client<typeof FeatureStoreService>;

export const FEATURES_USAGE = `seam features <command>   (talks to the gateway at SEAM_GATEWAY_URL, default http://127.0.0.1:8080)
  apply <file.yaml|file.json> [--dry-run] [--json]  create or update the entities, feature_views and
                                                    feature_services the file lists (proto JSON form)
  materialize <view> [--start ISO] [--end ISO] [--incremental] [--source-version ID]... [--json]
                                                    load a view's latest values per entity into the online store
  get (--service S | --feature view:feature...) --entity key=value[,key=value]... [--json]
                                                    online values, one row per entity
  list [entities|views|services] [--json]           definitions (every kind when none is given)
  show <entity|view|service> <name> [--version N]   a definition as JSON`;

const PAGE_SIZE = 500;

/**
 * Runs one `seam features` sub-command against the feature store behind `transport`;
 * results go to `out`, materialization progress to `progress` (stderr).
 */
export async function runFeaturesCommand(
  argv: string[],
  transport: Transport,
  out: Output,
  progress: ProgressStream = process.stderr,
): Promise<void> {
  const [command, ...rest] = argv;
  const features = createClient(FeatureStoreService, transport);
  switch (command) {
    case "apply":
      return applyDefinitions(features, rest, out);
    case "materialize":
      return materializeView(features, rest, out, progress);
    case "get":
      return getOnline(features, rest, out);
    case "list":
      return listDefinitions(features, rest, out);
    case "show":
      return showDefinition(features, rest, out);
    default:
      throw new UsageError(
        command === undefined ? "missing features command" : `unknown features command "${command}"`,
      );
  }
}

async function applyDefinitions(features: Features, argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { "dry-run": { type: "boolean" }, json: { type: "boolean" } },
  });
  const file = positionals[0];
  if (file === undefined) throw new UsageError("apply needs the path of a YAML or JSON definitions file");
  if (positionals.length > 1) throw new UsageError("apply takes one definitions file");
  const definitions = await loadDefinitionsFile(file);
  const dryRun = values["dry-run"] === true;
  const response = await features.applyDefinitions({ ...definitions, dryRun });
  if (values.json === true) return out.json(toJson(ApplyDefinitionsResponseSchema, response));
  out.table(
    ["KIND", "NAME", "ACTION", "VERSION"],
    response.applied.map((a) => [a.kind, a.name, actionName(a.action), String(a.version)]),
  );
  if (dryRun) out.line("dry run: nothing was stored");
}

async function materializeView(
  features: Features,
  argv: string[],
  out: Output,
  progressStream: ProgressStream,
): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      start: { type: "string" },
      end: { type: "string" },
      incremental: { type: "boolean" },
      "source-version": { type: "string", multiple: true },
      json: { type: "boolean" },
    },
  });
  const view = positionals[0];
  if (view === undefined) throw new UsageError("materialize needs a feature view name");
  const incremental = values.incremental === true;
  if (incremental && values.start !== undefined)
    throw new UsageError("--incremental starts where the last run ended: leave out --start");
  const startTime = parseTimeOption(values.start, "start");
  const endTime = parseTimeOption(values.end, "end");
  const status = createStatusLine({ stream: progressStream });
  let result: MaterializeResult | undefined;
  try {
    for await (const message of features.materializeFeatureView({
      featureView: view,
      incremental,
      sourceVersions: values["source-version"] ?? [],
      ...(startTime === undefined ? {} : { startTime }),
      ...(endTime === undefined ? {} : { endTime }),
    })) {
      if (message.event.case === "progress") {
        const p = message.event.value;
        status.update(
          p.rowsToWrite === 0n
            ? `materialize ${view}: ${formatCount(p.rowsRead)} of ${formatCount(p.rowsTotal)} rows read`
            : `materialize ${view}: ${formatCount(p.rowsWritten)} of ${formatCount(p.rowsToWrite)} entity rows written`,
        );
      } else if (message.event.case === "result") {
        result = message.event.value;
      }
    }
  } finally {
    // Ends the progress line, so what follows (the result or an error) starts on a line of its own.
    status.done();
  }
  if (result === undefined) throw new Error("the feature store ended the materialization without a result");
  if (values.json === true) return out.json(toJson(MaterializeResultSchema, result));
  out.line(`materialized ${view}`);
  out.line(
    `  range:         ${result.startTime === undefined ? "the beginning" : formatTime(result.startTime)} to ${formatTime(result.endTime)} (end excluded)`,
  );
  out.line(`  sources:       ${result.sourceVersions.join(", ") || "-"}`);
  out.line(`  rows read:     ${formatCount(result.rowsRead)}`);
  out.line(`  in range:      ${formatCount(result.rowsInRange)}`);
  out.line(`  written:       ${formatCount(result.rowsWritten)} (latest per entity)`);
  out.line(`  skipped older: ${formatCount(result.rowsSkippedOlder)} (the online store held newer values)`);
}

/** The marker a value that is not PRESENT gets in the `get` table. */
const STATUS_MARKERS: Readonly<Record<FeatureStatus, string>> = {
  [FeatureStatus.UNSPECIFIED]: "[?]",
  [FeatureStatus.PRESENT]: "",
  [FeatureStatus.NOT_FOUND]: "[NOT_FOUND]",
  [FeatureStatus.NULL_VALUE]: "[NULL]",
  [FeatureStatus.OUTSIDE_MAX_AGE]: "[STALE]",
};

const MARKER_LEGEND: Readonly<Record<string, string>> = {
  "[NOT_FOUND]": "[NOT_FOUND] no online row for the entity",
  "[NULL]": "[NULL] the row holds null",
  "[STALE]": "[STALE] older than the view's ttl",
  "[?]": "[?] no status",
};

async function getOnline(features: Features, argv: string[], out: Output): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      service: { type: "string" },
      feature: { type: "string", multiple: true },
      entity: { type: "string", multiple: true },
      json: { type: "boolean" },
    },
  });
  const selection = parseSelection(values.service, values.feature);
  const entities = parseEntities(values.entity);
  const response = await features.getOnlineFeatures({
    selection,
    entities: entities.map((joinKeys) => ({ joinKeys })),
  });
  if (values.json === true) return out.json(toJson(GetOnlineFeaturesResponseSchema, response));
  const keyColumns = [...new Set(entities.flatMap((e) => Object.keys(e)))];
  const used = new Set<string>();
  const rows = entities.map((keys, i) => {
    const cells = (response.rows[i]?.values ?? []).map((v) => {
      const marker = STATUS_MARKERS[v.status] ?? `[${FeatureStatus[v.status] ?? v.status}]`;
      if (marker !== "") used.add(marker);
      const showsValue = v.status === FeatureStatus.PRESENT || v.status === FeatureStatus.OUTSIDE_MAX_AGE;
      const text = showsValue ? formatValue(v.value) : "";
      return [text, marker].filter((s) => s !== "").join(" ") || "-";
    });
    return [...keyColumns.map((k) => keys[k] ?? ""), ...cells];
  });
  out.table([...keyColumns, ...response.featureNames], rows);
  const legend = Object.keys(MARKER_LEGEND).filter((m) => used.has(m));
  if (legend.length > 0) out.line(legend.map((m) => MARKER_LEGEND[m]).join("; "));
}

async function listDefinitions(features: Features, argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: "boolean" } },
  });
  if (positionals.length > 1)
    throw new UsageError("list takes at most one kind: entities, views or services");
  const kinds: DefinitionKind[] =
    positionals[0] === undefined
      ? ["entity", "view", "service"]
      : [parseDefinitionKind(positionals[0], "list")];
  const json = values.json === true;
  const all = positionals[0] === undefined;
  const collected: Record<string, unknown> = {};
  for (const kind of kinds) {
    if (all && !json && kind !== "entity") out.line("");
    switch (kind) {
      case "entity": {
        const entities = await listAll(async (pageToken) => {
          const page = await features.listEntities({ pageSize: PAGE_SIZE, pageToken });
          return { items: page.entities, next: page.nextPageToken };
        });
        if (json) collected.entities = entities.map((e) => toJson(EntitySchema, e));
        else printEntities(entities, out, all);
        break;
      }
      case "view": {
        const views = await listAll(async (pageToken) => {
          const page = await features.listFeatureViews({ pageSize: PAGE_SIZE, pageToken });
          return { items: page.featureViews, next: page.nextPageToken };
        });
        if (json) collected.featureViews = views.map((v) => toJson(FeatureViewSchema, v));
        else printViews(views, out, all);
        break;
      }
      case "service": {
        const services = await listAll(async (pageToken) => {
          const page = await features.listFeatureServices({ pageSize: PAGE_SIZE, pageToken });
          return { items: page.featureServices, next: page.nextPageToken };
        });
        if (json) collected.featureServices = services.map((s) => toJson(FeatureServiceSchema, s));
        else printServices(services, out, all);
        break;
      }
    }
  }
  if (json) out.json(all ? collected : Object.values(collected)[0]);
}

async function showDefinition(features: Features, argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { version: { type: "string" } },
  });
  const kind = parseDefinitionKind(positionals[0], "show");
  const name = positionals[1];
  if (name === undefined) throw new UsageError(`show ${kind} needs a name`);
  const version = values.version === undefined ? 0n : parsePositiveInt(values.version, "--version");
  switch (kind) {
    case "entity": {
      const { entity } = await features.getEntity({ name, version });
      return out.json(definitionJson(EntitySchema, entity));
    }
    case "view": {
      const { featureView } = await features.getFeatureView({ name, version });
      return out.json(definitionJson(FeatureViewSchema, featureView));
    }
    case "service": {
      const { featureService } = await features.getFeatureService({ name, version });
      return out.json(definitionJson(FeatureServiceSchema, featureService));
    }
  }
}

function definitionJson<S extends DescMessage>(schema: S, definition: MessageShape<S> | undefined) {
  if (definition === undefined) throw new Error("the feature store answered without the definition");
  return toJson(schema, definition);
}

/** Every item of a paged listing. */
async function listAll<T>(page: (token: string) => Promise<{ items: T[]; next: string }>): Promise<T[]> {
  const all: T[] = [];
  let token = "";
  do {
    const { items, next } = await page(token);
    all.push(...items);
    token = next;
  } while (token !== "");
  return all;
}

function printEntities(entities: Entity[], out: Output, titled: boolean): void {
  if (titled) out.line("entities");
  if (entities.length === 0) {
    out.line(titled ? "  none" : "no entities");
    return;
  }
  out.table(
    ["NAME", "JOIN KEYS", "VERSION", "DESCRIPTION"],
    entities.map((e) => [
      e.name,
      e.joinKeys.map((k) => `${k.name}:${typeName(k.type)}`).join(", "),
      String(e.version),
      formatCell(e.description),
    ]),
  );
}

function printViews(views: FeatureView[], out: Output, titled: boolean): void {
  if (titled) out.line("feature views");
  if (views.length === 0) {
    out.line(titled ? "  none" : "no feature views");
    return;
  }
  out.table(
    ["NAME", "ENTITIES", "FEATURES", "SOURCE", "TTL", "VERSION"],
    views.map((v) => [
      v.name,
      v.entities.join(", "),
      formatCell(v.features.map((f) => `${f.name}:${typeName(f.type)}`).join(", ")),
      v.source === undefined
        ? "-"
        : `${v.source.dataset}${v.source.version === "" ? "" : `@${v.source.version}`}`,
      formatTtl(v.ttl),
      String(v.version),
    ]),
  );
}

function printServices(services: FeatureServiceDefinition[], out: Output, titled: boolean): void {
  if (titled) out.line("feature services");
  if (services.length === 0) {
    out.line(titled ? "  none" : "no feature services");
    return;
  }
  out.table(
    ["NAME", "FEATURES", "VERSION", "DESCRIPTION"],
    services.map((s) => [
      s.name,
      formatCell(
        s.features
          .map((p) =>
            p.features.length === 0 ? `${p.featureView}:*` : `${p.featureView}:${p.features.join("|")}`,
          )
          .join(", "),
      ),
      String(s.version),
      formatCell(s.description),
    ]),
  );
}

/** How `apply` reports what it did to a definition. */
export function actionName(action: ApplyAction): string {
  switch (action) {
    case ApplyAction.CREATED:
      return "created";
    case ApplyAction.UPDATED:
      return "updated";
    case ApplyAction.UNCHANGED:
      return "unchanged";
    case ApplyAction.UNSPECIFIED:
      return "-";
    default:
      return `action ${action as number}`;
  }
}

/** A feature value for the table; timestamps in ISO 8601. */
function formatValue(value: FeatureValue | undefined): string {
  const kind = value?.kind;
  switch (kind?.case) {
    case undefined:
      return "null";
    case "int64Value":
      return kind.value.toString();
    case "doubleValue":
    case "boolValue":
    case "stringValue":
      return formatCell(kind.value);
    case "timestampValue":
      return timestampDate(kind.value).toISOString();
  }
}

/** "2h", "90m", "45s", "-" for none: the largest whole unit. */
export function formatTtl(ttl: Duration | undefined): string {
  const ms = ttl === undefined ? 0 : durationMs(ttl);
  if (ms <= 0) return "-";
  for (const [unit, size] of [
    ["d", 86_400_000],
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
  ] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms / 1000}s`;
}

function formatTime(time: Timestamp | undefined): string {
  return time === undefined ? "-" : timestampDate(time).toISOString();
}

function formatCount(n: bigint): string {
  return n.toLocaleString("en-US");
}
