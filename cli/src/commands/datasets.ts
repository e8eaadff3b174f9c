import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { basename } from "node:path";
import { finished } from "node:stream/promises";
import { parseArgs } from "node:util";
import { type MessageInitShape, toJson } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import {
  type Dataset,
  DatasetSchema,
  DatasetService,
  type DatasetVersion,
  DatasetVersionSchema,
  SourceFormat,
  type UploadDatasetVersionRequestSchema,
  type UploadMetadataSchema,
} from "@seam/proto/seam/datasets/v1/datasets_pb";
import { parseKeyValues, UsageError } from "../args.js";
import type { Output } from "../output.js";
import { createProgress, formatBytes, type ProgressStream } from "../progress.js";
import {
  parseColumnList,
  parseDatasetRef,
  parseDelimiter,
  parseFormat,
  parseRowLimit,
  parseSchema,
  parseSplit,
} from "./dataset-args.js";
import {
  columnStatsTable,
  formatCell,
  formatHistogram,
  formatName,
  formatSchema,
  formatSplitSpec,
  typeName,
} from "./dataset-format.js";

type Datasets = Client<typeof DatasetService>;

export const DATASETS_USAGE = `seam datasets <command>   (talks to the gateway at SEAM_GATEWAY_URL, default http://127.0.0.1:8080)
  create <name> [--description D] [--tag k=v]...    register an empty dataset
  upload <file> --name N [--format csv|ndjson|arrow] [--delimiter C] [--schema col:type[?],...]
         [--split seed:train/val/test[:key]] [--description D] [--tag k=v]... [--json]
                                                    upload a file as a new version (creates the dataset if needed);
                                                    the format defaults from the extension (.csv .tsv .ndjson .jsonl .arrow)
  list [--prefix P] [--json]                        datasets
  show <name[@id]> [--json]                         a dataset and its versions, or one version with schema and splits
  stats <name[@id]> [--json]                        per-column statistics of a version (the latest by default)
  head <name[@id]> [-n 10] [--columns a,b] [--json] the first rows of a version
  download <name[@id]> [-o file.arrow]              save a version as an Arrow IPC stream`;

// Big enough to keep HTTP/2 busy, small enough for a smooth progress bar.
const UPLOAD_CHUNK_BYTES = 256 * 1024;
const HEAD_MAX_ROWS = 1000;

/**
 * Runs one `seam datasets` sub-command against the dataset service behind `transport`;
 * results go to `out`, progress bars of uploads and downloads to `progress` (stderr).
 */
export async function runDatasetsCommand(
  argv: string[],
  transport: Transport,
  out: Output,
  progress: ProgressStream = process.stderr,
): Promise<void> {
  const [command, ...rest] = argv;
  const datasets = createClient(DatasetService, transport);
  switch (command) {
    case "create":
      return createDataset(datasets, rest, out);
    case "upload":
      return uploadDataset(datasets, rest, out, progress);
    case "list":
      return listDatasets(datasets, rest, out);
    case "show":
      return showDataset(datasets, rest, out);
    case "stats":
      return showStats(datasets, rest, out);
    case "head":
      return headDataset(datasets, rest, out);
    case "download":
      return downloadDataset(datasets, rest, out, progress);
    default:
      throw new UsageError(
        command === undefined ? "missing datasets command" : `unknown datasets command "${command}"`,
      );
  }
}

async function createDataset(datasets: Datasets, argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { description: { type: "string" }, tag: { type: "string", multiple: true } },
  });
  const name = positionals[0];
  if (name === undefined) throw new UsageError("create needs a dataset name");
  await datasets.createDataset({
    name,
    description: values.description ?? "",
    tags: parseKeyValues(values.tag, "tag"),
  });
  out.line(`created dataset ${name}`);
}

async function uploadDataset(
  datasets: Datasets,
  argv: string[],
  out: Output,
  progressStream: ProgressStream,
): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: "string" },
      format: { type: "string" },
      delimiter: { type: "string" },
      schema: { type: "string" },
      split: { type: "string" },
      description: { type: "string" },
      tag: { type: "string", multiple: true },
      json: { type: "boolean" },
    },
  });
  const file = positionals[0];
  if (file === undefined) throw new UsageError("upload needs the path of a CSV, NDJSON or Arrow file");
  if (values.name === undefined) throw new UsageError("upload needs --name");
  const format = parseFormat(values.format, file);
  if (values.delimiter !== undefined && format !== SourceFormat.CSV)
    throw new UsageError("--delimiter only applies to CSV files");
  const metadata: MessageInitShape<typeof UploadMetadataSchema> = {
    dataset: values.name,
    createDataset: true,
    format,
    description: values.description ?? "",
    tags: parseKeyValues(values.tag, "tag"),
    ...(format === SourceFormat.CSV ? { csv: { delimiter: parseDelimiter(values.delimiter, file) } } : {}),
    ...(values.schema === undefined ? {} : { schema: { columns: parseSchema(values.schema) } }),
    ...(values.split === undefined ? {} : { split: parseSplit(values.split) }),
  };
  const size = (await stat(file)).size;
  const progress = createProgress({ label: `upload ${basename(file)}`, stream: progressStream, total: size });
  let sent = 0;
  async function* requests(): AsyncGenerator<MessageInitShape<typeof UploadDatasetVersionRequestSchema>> {
    yield { payload: { case: "metadata", value: metadata } };
    for await (const chunk of createReadStream(file as string, { highWaterMark: UPLOAD_CHUNK_BYTES })) {
      yield { payload: { case: "chunk", value: chunk as Buffer } };
      sent += (chunk as Buffer).length;
      progress.update(sent);
    }
  }
  const { version, created } = await datasets.uploadDatasetVersion(requests()).catch((err: unknown) => {
    // Ends the progress line, so the error is printed on a line of its own.
    progress.done();
    throw err;
  });
  if (version === undefined) throw new Error("the dataset service answered without a version");
  progress.update(size, Number(version.rowCount));
  progress.done();
  if (values.json === true) return out.json({ created, version: toJson(DatasetVersionSchema, version) });
  out.line(
    created
      ? `uploaded ${file} (${formatBytes(size)}) as ${version.ref}`
      : `${file} holds the same data as the existing version ${version.ref}; nothing new was stored`,
  );
  printVersion(version, out);
}

async function listDatasets(datasets: Datasets, argv: string[], out: Output): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { prefix: { type: "string" }, json: { type: "boolean" } },
  });
  const all: Dataset[] = [];
  let pageToken = "";
  do {
    const page = await datasets.listDatasets({ namePrefix: values.prefix ?? "", pageSize: 500, pageToken });
    all.push(...page.datasets);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  if (values.json === true) return out.json(all.map((d) => toJson(DatasetSchema, d)));
  if (all.length === 0) return out.line("no datasets");
  out.table(
    ["NAME", "VERSIONS", "LATEST", "UPDATED", "DESCRIPTION"],
    all.map((d) => [
      d.name,
      String(d.versionCount),
      d.latestVersion === "" ? "-" : d.latestVersion,
      d.updateTime === undefined ? "" : timestampDate(d.updateTime).toISOString(),
      formatCell(d.description),
    ]),
  );
}

async function showDataset(datasets: Datasets, argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: "boolean" } },
  });
  const ref = parseDatasetRef(positionals[0], "show");
  if (ref.version !== "") {
    const version = await getVersion(datasets, ref.dataset, ref.version);
    if (values.json === true) return out.json(toJson(DatasetVersionSchema, version));
    return printVersion(version, out);
  }
  const { dataset } = await datasets.getDataset({ name: ref.dataset });
  if (dataset === undefined) throw new Error("the dataset service answered without a dataset");
  const page = await datasets.listDatasetVersions({ dataset: ref.dataset, pageSize: 1000 });
  if (values.json === true) {
    return out.json({
      ...(toJson(DatasetSchema, dataset) as object),
      versions: page.versions.map((v) => toJson(DatasetVersionSchema, v)),
    });
  }
  out.line(`dataset ${dataset.name}`);
  if (dataset.description !== "") out.line(`  description: ${dataset.description}`);
  out.line(`  tags:        ${formatTags(dataset.tags)}`);
  if (page.versions.length === 0) return out.line("  no versions");
  out.line("");
  out.table(
    ["ID", "ROWS", "SIZE", "FORMAT", "SPLITS", "CREATED"],
    page.versions.map((v) => [
      v.id,
      String(v.rowCount),
      formatBytes(Number(v.byteSize)),
      formatName(v.sourceFormat),
      v.splits?.counts === undefined
        ? "-"
        : `${v.splits.counts.train}/${v.splits.counts.validation}/${v.splits.counts.test}`,
      v.createTime === undefined ? "" : timestampDate(v.createTime).toISOString(),
    ]),
  );
  if (page.nextPageToken !== "") out.line("(only the newest 1000 versions are shown)");
}

async function showStats(datasets: Datasets, argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: "boolean" } },
  });
  const ref = parseDatasetRef(positionals[0], "stats");
  const version = await getVersion(datasets, ref.dataset, ref.version);
  if (values.json === true) {
    const json = toJson(DatasetVersionSchema, version) as { stats?: unknown };
    return out.json({ ref: version.ref, rowCount: String(version.rowCount), stats: json.stats ?? [] });
  }
  out.line(`${version.ref}: ${version.rowCount} rows`);
  const types = new Map((version.schema?.columns ?? []).map((c) => [c.name, typeName(c.type)]));
  for (const stats of version.stats) {
    out.line("");
    out.line(`${stats.name} (${types.get(stats.name) ?? "?"})`);
    const table = columnStatsTable(stats);
    out.table(table.header, [table.row]);
    if (stats.kind.case === "string" && stats.kind.value.topValues.length > 0) {
      out.line("top values:");
      out.table(
        ["VALUE", "COUNT"],
        stats.kind.value.topValues.map((t) => [formatCell(t.value), String(t.count)]),
      );
    }
    if (stats.kind.case === "numeric" && stats.kind.value.histogram !== undefined) {
      const lines = formatHistogram(stats.kind.value.histogram);
      if (lines.length > 0) out.line("histogram:");
      for (const line of lines) out.line(`  ${line}`);
    }
  }
}

async function headDataset(datasets: Datasets, argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      n: { type: "string", short: "n" },
      columns: { type: "string" },
      json: { type: "boolean" },
    },
  });
  const ref = parseDatasetRef(positionals[0], "head");
  const limit = parseRowLimit(values.n, 10, HEAD_MAX_ROWS);
  const { rows, schema } = await datasets.readDatasetRows({
    dataset: ref.dataset,
    version: ref.version,
    columns: parseColumnList(values.columns),
    limit: BigInt(limit),
  });
  if (values.json === true) return out.json(rows);
  const columns = schema?.columns.map((c) => c.name) ?? Object.keys(rows[0] ?? {});
  if (rows.length === 0) return out.line(`no rows (columns: ${columns.join(", ") || "-"})`);
  out.table(
    columns,
    rows.map((row) => columns.map((c) => formatCell(row[c]))),
  );
}

async function downloadDataset(
  datasets: Datasets,
  argv: string[],
  out: Output,
  progressStream: ProgressStream,
): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { output: { type: "string", short: "o" } },
  });
  const ref = parseDatasetRef(positionals[0], "download");
  // Pins the id first: "latest" must not move to a newer upload halfway through.
  const version = await getVersion(datasets, ref.dataset, ref.version);
  const target = values.output ?? `${version.dataset}-${version.id}.arrow`;
  // Written under a temporary name so an interrupted download never looks complete.
  const temp = `${target}.part`;
  const progress = createProgress({
    label: `download ${version.ref}`,
    stream: progressStream,
    totalRows: Number(version.rowCount),
  });
  const sink = createWriteStream(temp);
  let bytes = 0;
  let rows = 0;
  try {
    for await (const message of datasets.readDatasetVersion({
      dataset: version.dataset,
      version: version.id,
    })) {
      if (message.arrowIpc.length > 0 && !sink.write(message.arrowIpc)) {
        await new Promise<void>((resolve) => sink.once("drain", resolve));
      }
      bytes += message.arrowIpc.length;
      rows += Number(message.rows);
      progress.update(bytes, rows);
    }
    sink.end();
    await finished(sink);
    await rename(temp, target);
  } catch (err) {
    // The file may still be opening or flushing: remove it only once the stream has closed.
    sink.destroy();
    if (!sink.closed) await new Promise<void>((resolve) => sink.once("close", () => resolve()));
    await rm(temp, { force: true });
    throw err;
  } finally {
    progress.done();
  }
  out.line(`saved ${version.ref} (${rows} rows, ${formatBytes(bytes)}) to ${target}`);
}

async function getVersion(datasets: Datasets, dataset: string, id: string): Promise<DatasetVersion> {
  const { version } = await datasets.getDatasetVersion({ dataset, version: id });
  if (version === undefined) throw new Error("the dataset service answered without a version");
  return version;
}

/** One version: identity, sizes, origin, splits, then its schema as a table. */
function printVersion(v: DatasetVersion, out: Output): void {
  out.line(`dataset version ${v.ref}`);
  out.line(`  rows:       ${v.rowCount}`);
  out.line(`  size:       ${formatBytes(Number(v.byteSize))} as Arrow IPC`);
  out.line(`  source:     ${formatName(v.sourceFormat)}, ${formatBytes(Number(v.sourceBytes))}`);
  out.line(`  sha256:     ${v.sha256}`);
  if (v.createTime !== undefined) out.line(`  created:    ${timestampDate(v.createTime).toISOString()}`);
  if (v.parents.length > 0) out.line(`  parents:    ${v.parents.join(", ")}`);
  if (v.derivedBy !== "") out.line(`  derived by: ${v.derivedBy}`);
  if (v.description !== "") out.line(`  description: ${v.description}`);
  if (Object.keys(v.tags).length > 0) out.line(`  tags:       ${formatTags(v.tags)}`);
  if (v.splits?.spec !== undefined) {
    const c = v.splits.counts;
    const counts = c === undefined ? "" : `: train ${c.train}, validation ${c.validation}, test ${c.test}`;
    out.line(`  splits:     ${formatSplitSpec(v.splits.spec)}${counts}`);
  }
  const columns = v.schema?.columns ?? [];
  if (columns.length === 0) {
    out.line(`  schema:     ${formatSchema(v.schema)}`);
    return;
  }
  out.line("");
  out.table(
    ["COLUMN", "TYPE", "NULLABLE"],
    columns.map((c) => [c.name, typeName(c.type), c.nullable ? "yes" : "no"]),
  );
}

function formatTags(tags: Record<string, string>): string {
  const entries = Object.entries(tags);
  return entries.length === 0 ? "-" : entries.map(([k, v]) => `${k}=${v}`).join(", ");
}
