import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { finished } from "node:stream/promises";
import { parseArgs } from "node:util";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type Client, createClient, type Transport } from "@connectrpc/connect";
import {
  ArtifactFormat,
  ModelRegistryService,
  type ModelVersion,
  type RegisteredModel,
  type UploadModelVersionRequestSchema,
} from "@seam/proto/seam/registry/v1/registry_pb";
import { parseKeyNumbers, parseKeyValues, parsePositiveInt, UsageError } from "../args.js";
import type { Output } from "../output.js";

type Registry = Client<typeof ModelRegistryService>;

export const MODELS_USAGE = `seam models <command>   (talks to the gateway at SEAM_GATEWAY_URL, default http://127.0.0.1:8080)
  list [--prefix P] [--tag k=v]... [--json]      registered models
  show <name|name@alias|name:version> [--json]  a model and its versions, or one version
  upload <file.onnx> --name N [--alias A] [--description D] [--metric k=v]... [--param k=v]... [--tag k=v]... [--dataset-version V]
                                                 upload an ONNX file as the model's next version (creates the model if needed)
  set-alias <name> <alias> <version>             point an alias at a version
  delete-alias <name> <alias>                    remove an alias
  download <ref> [-o file]                       save a version's artifact (default <name>-v<version>.onnx)
  delete <name> [--version N]                    delete a model (or one version)`;

const UPLOAD_CHUNK_BYTES = 256 * 1024;

/** Runs one `seam models` sub-command against the registry behind `transport`. */
export async function runModelsCommand(argv: string[], transport: Transport, out: Output): Promise<void> {
  const [command, ...rest] = argv;
  const registry = createClient(ModelRegistryService, transport);
  switch (command) {
    case "list":
      return listModels(registry, rest, out);
    case "show":
      return showModel(registry, rest, out);
    case "upload":
      return uploadModel(registry, rest, out);
    case "set-alias":
      return setAlias(registry, rest, out);
    case "delete-alias":
      return deleteAlias(registry, rest, out);
    case "download":
      return downloadModel(registry, rest, out);
    case "delete":
      return deleteModel(registry, rest, out);
    default:
      throw new UsageError(
        command === undefined ? "missing models command" : `unknown models command "${command}"`,
      );
  }
}

async function listModels(registry: Registry, argv: string[], out: Output): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      prefix: { type: "string" },
      tag: { type: "string", multiple: true },
      json: { type: "boolean" },
    },
  });
  const tags = parseKeyValues(values.tag, "tag");
  const models: RegisteredModel[] = [];
  let pageToken = "";
  do {
    const page = await registry.listModels({
      namePrefix: values.prefix ?? "",
      tags,
      pageSize: 500,
      pageToken,
    });
    models.push(...page.models);
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
  if (values.json === true) return out.json(models.map(modelToJson));
  if (models.length === 0) return out.line("no models");
  out.table(
    ["NAME", "VERSIONS", "LATEST", "ALIASES", "UPDATED"],
    models.map((m) => [
      m.name,
      String(m.versionCount),
      m.latestVersion === 0n ? "-" : String(m.latestVersion),
      formatAliases(m.aliases),
      m.updateTime === undefined ? "" : timestampDate(m.updateTime).toISOString(),
    ]),
  );
}

async function showModel(registry: Registry, argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { json: { type: "boolean" } },
  });
  const ref = positionals[0];
  if (ref === undefined) throw new UsageError("show needs a model reference");
  if (ref.includes("@") || ref.includes(":")) {
    const { version } = await registry.resolveModel({ model: ref });
    if (version === undefined) throw new Error("the registry answered without a version");
    if (values.json === true) return out.json(versionToJson(version));
    return printVersion(version, out);
  }
  const { model } = await registry.getModel({ name: ref });
  if (model === undefined) throw new Error("the registry answered without a model");
  const { versions } = await registry.listModelVersions({ modelName: ref, pageSize: 1000 });
  if (values.json === true) return out.json({ ...modelToJson(model), versions: versions.map(versionToJson) });
  out.line(`model ${model.name}`);
  if (model.description !== "") out.line(`  description: ${model.description}`);
  out.line(`  tags:        ${formatMap(model.tags)}`);
  out.line(`  aliases:     ${formatAliases(model.aliases)}`);
  if (versions.length === 0) return out.line("  no versions");
  out.line("");
  out.table(
    ["VERSION", "ALIASES", "SIZE", "SHA256", "CREATED"],
    versions.map((v) => [
      String(v.version),
      v.aliases.join(",") || "-",
      String(v.sizeBytes),
      v.sha256.slice(0, 12),
      v.createTime === undefined ? "" : timestampDate(v.createTime).toISOString(),
    ]),
  );
}

async function uploadModel(registry: Registry, argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      name: { type: "string" },
      alias: { type: "string" },
      description: { type: "string" },
      metric: { type: "string", multiple: true },
      param: { type: "string", multiple: true },
      tag: { type: "string", multiple: true },
      "dataset-version": { type: "string" },
      json: { type: "boolean" },
    },
  });
  const file = positionals[0];
  if (file === undefined) throw new UsageError("upload needs the path of an ONNX file");
  if (values.name === undefined) throw new UsageError("upload needs --name");
  const size = (await stat(file)).size;
  const metadata = {
    modelName: values.name,
    createModel: true,
    format: ArtifactFormat.ONNX,
    description: values.description ?? "",
    alias: values.alias ?? "",
    metrics: parseKeyNumbers(values.metric, "metric"),
    params: parseKeyValues(values.param, "param"),
    tags: parseKeyValues(values.tag, "tag"),
    lineage: { datasetVersion: values["dataset-version"] ?? "" },
  };
  async function* requests(): AsyncGenerator<MessageInitShape<typeof UploadModelVersionRequestSchema>> {
    yield { payload: { case: "metadata", value: metadata } };
    for await (const chunk of createReadStream(file as string, { highWaterMark: UPLOAD_CHUNK_BYTES })) {
      yield { payload: { case: "chunk", value: chunk as Buffer } };
    }
  }
  const { version } = await registry.uploadModelVersion(requests());
  if (version === undefined) throw new Error("the registry answered without a version");
  if (values.json === true) return out.json(versionToJson(version));
  out.line(`uploaded ${file} (${size} bytes) as ${version.modelName} version ${version.version}`);
  if (version.aliases.length > 0) out.line(`aliases: ${version.aliases.join(", ")}`);
  printSignature(version, out);
}

async function setAlias(registry: Registry, argv: string[], out: Output): Promise<void> {
  const [name, alias, rawVersion] = argv;
  if (name === undefined || alias === undefined)
    throw new UsageError("set-alias needs <name> <alias> <version>");
  const version = parsePositiveInt(rawVersion, "version");
  const res = await registry.setAlias({ modelName: name, alias, version });
  const moved = res.previousVersion === 0n ? "" : ` (was version ${res.previousVersion})`;
  out.line(`${name}@${alias} -> version ${version}${moved}`);
}

async function deleteAlias(registry: Registry, argv: string[], out: Output): Promise<void> {
  const [name, alias] = argv;
  if (name === undefined || alias === undefined) throw new UsageError("delete-alias needs <name> <alias>");
  await registry.deleteAlias({ modelName: name, alias });
  out.line(`deleted alias ${name}@${alias}`);
}

async function downloadModel(registry: Registry, argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { output: { type: "string", short: "o" } },
  });
  const ref = positionals[0];
  if (ref === undefined) throw new UsageError("download needs a model reference");
  let target = values.output;
  let temp: string | undefined;
  let sink: ReturnType<typeof createWriteStream> | undefined;
  let version: ModelVersion | undefined;
  let bytes = 0;
  try {
    for await (const message of registry.downloadModelVersion({ model: ref })) {
      if (message.version !== undefined && version === undefined) {
        version = message.version;
        target ??= `${version.modelName}-v${version.version}.onnx`;
        // Written under a temporary name so an interrupted download never looks complete.
        temp = `${target}.part`;
        sink = createWriteStream(temp);
      }
      if (sink === undefined) throw new Error("the registry sent data before the version");
      if (message.chunk.length > 0 && !sink.write(message.chunk)) {
        await new Promise<void>((resolve) => sink?.once("drain", resolve));
      }
      bytes += message.chunk.length;
    }
    if (sink === undefined || version === undefined || target === undefined || temp === undefined) {
      throw new Error("the registry sent no version");
    }
    sink.end();
    await finished(sink);
    await rename(temp, target);
  } catch (err) {
    if (sink !== undefined) {
      // The file may still be opening or flushing: remove it only once the stream has closed.
      const open = sink;
      open.destroy();
      if (!open.closed) await new Promise<void>((resolve) => open.once("close", () => resolve()));
    }
    if (temp !== undefined) await rm(temp, { force: true });
    throw err;
  }
  out.line(
    `saved ${version.modelName} version ${version.version} (${bytes} bytes, sha256 ${version.sha256}) to ${target}`,
  );
}

async function deleteModel(registry: Registry, argv: string[], out: Output): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { version: { type: "string" } },
  });
  const name = positionals[0];
  if (name === undefined) throw new UsageError("delete needs a model name");
  if (values.version !== undefined) {
    const version = parsePositiveInt(values.version, "--version");
    await registry.deleteModelVersion({ modelName: name, version });
    return out.line(`deleted ${name} version ${version}`);
  }
  await registry.deleteModel({ name });
  out.line(`deleted model ${name}`);
}

function printVersion(v: ModelVersion, out: Output): void {
  out.line(`${v.modelName} version ${v.version}`);
  out.line(`  sha256:  ${v.sha256}`);
  out.line(`  size:    ${v.sizeBytes} bytes`);
  out.line(`  aliases: ${v.aliases.join(", ") || "-"}`);
  out.line(`  metrics: ${formatMap(v.metrics)}`);
  out.line(`  params:  ${formatMap(v.params)}`);
  out.line(`  tags:    ${formatMap(v.tags)}`);
  if (v.lineage !== undefined && v.lineage.datasetVersion !== "")
    out.line(`  dataset: ${v.lineage.datasetVersion}`);
  printSignature(v, out);
}

function printSignature(v: ModelVersion, out: Output): void {
  for (const [kind, specs] of [
    ["input ", v.signature?.inputs ?? []],
    ["output", v.signature?.outputs ?? []],
  ] as const) {
    for (const spec of specs)
      out.line(`  ${kind}  ${spec.name}: ${spec.elementType}[${spec.shape.join(", ")}]`);
  }
}

function formatMap(map: Record<string, string | number>): string {
  const entries = Object.entries(map);
  return entries.length === 0 ? "-" : entries.map(([k, v]) => `${k}=${v}`).join(", ");
}

function formatAliases(aliases: Record<string, bigint>): string {
  const entries = Object.entries(aliases);
  return entries.length === 0 ? "-" : entries.map(([alias, version]) => `${alias}->${version}`).join(", ");
}

function modelToJson(m: RegisteredModel) {
  return {
    name: m.name,
    description: m.description,
    tags: m.tags,
    latestVersion: Number(m.latestVersion),
    versionCount: Number(m.versionCount),
    aliases: Object.fromEntries(Object.entries(m.aliases).map(([a, v]) => [a, Number(v)])),
    createTime: m.createTime === undefined ? null : timestampDate(m.createTime).toISOString(),
    updateTime: m.updateTime === undefined ? null : timestampDate(m.updateTime).toISOString(),
  };
}

function versionToJson(v: ModelVersion) {
  return {
    modelName: v.modelName,
    version: Number(v.version),
    sha256: v.sha256,
    sizeBytes: Number(v.sizeBytes),
    aliases: v.aliases,
    metrics: v.metrics,
    params: v.params,
    tags: v.tags,
    signature: {
      inputs: (v.signature?.inputs ?? []).map((s) => ({
        name: s.name,
        elementType: s.elementType,
        shape: s.shape.map(Number),
      })),
      outputs: (v.signature?.outputs ?? []).map((s) => ({
        name: s.name,
        elementType: s.elementType,
        shape: s.shape.map(Number),
      })),
    },
    createTime: v.createTime === undefined ? null : timestampDate(v.createTime).toISOString(),
  };
}
