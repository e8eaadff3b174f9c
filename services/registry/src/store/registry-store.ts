import { clone, create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { AlreadyExistsError, FailedPreconditionError, NotFoundError } from "@seam/kit/errors";
import { type BlobStore, commitWithRetry, type MetaStore, scanPrefix } from "@seam/kit/storage";
import {
  ArtifactFormat,
  type DatasetUsage,
  DatasetUsageSchema,
  type FeatureServiceUsage,
  FeatureServiceUsageSchema,
  type Lineage,
  type ModelVersion,
  ModelVersionSchema,
  ModelVersionStatus,
  type RegisteredModel,
  RegisteredModelSchema,
  type Signature,
} from "@seam/proto/seam/registry/v1/registry_pb";
import { type DatasetVersionRef, splitDatasetVersion } from "../dataset-usages.js";
import type { ModelReference } from "../names.js";
import { type ModelVersionRef, RegistryKeys } from "./keys.js";

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();
// Value of blob reference markers; its presence is what counts.
const MARKER = new Uint8Array([1]);
// How many model records one scan step reads when a tag filter may reject many.
const FILTERED_SCAN_BATCH = 200;

/** A model record as read, with the bytes a compare-and-set must check against. */
interface StoredModel {
  readonly raw: Uint8Array;
  readonly model: RegisteredModel;
}

/** What a new version is made of; the store assigns number, status, format and time. */
export interface NewVersion {
  readonly modelName: string;
  /** Create the model when it does not exist (otherwise NOT_FOUND). */
  readonly createModel: boolean;
  readonly sha256: string;
  readonly sizeBytes: bigint;
  readonly signature: Signature;
  readonly description: string;
  readonly metrics: Readonly<Record<string, number>>;
  readonly params: Readonly<Record<string, string>>;
  readonly lineage: Lineage | undefined;
  readonly tags: Readonly<Record<string, string>>;
  /** Alias to point at the new version in the same commit. */
  readonly alias: string;
}

/** The outcome of {@link RegistryStore.addVersion}. */
export interface AddedVersion {
  readonly version: ModelVersion;
  /** Set when the new version took an alias: its name and where it pointed before (0n when new). */
  readonly aliasMove: { readonly alias: string; readonly previous: bigint } | undefined;
}

/** A page of a listing and the position to continue after, if there may be more. */
export interface Page<T, P> {
  readonly items: T[];
  readonly next: P | undefined;
}

/** A lineage index record: its key (which names the model version) and the lineage value as recorded. */
interface LineageEntry {
  readonly key: string;
  readonly value: Uint8Array;
}

/** A lineage index entry as listed: the model version it records and its value. */
interface IndexedUsage extends ModelVersionRef {
  readonly value: Uint8Array;
}

/**
 * The registry's repository over a MetaStore (protobuf binary records) and a BlobStore.
 * Every change to a model, its versions or aliases is one atomic commit guarded by a
 * compare-and-set on the model record, so concurrent writers (in this process or on other
 * replicas) serialise per model and no reader ever sees half of a change.
 */
export class RegistryStore {
  private readonly keys: RegistryKeys;

  constructor(
    private readonly meta: MetaStore,
    private readonly blobs: BlobStore,
    namespace = "registry/",
  ) {
    this.keys = new RegistryKeys(namespace);
  }

  /** The model, or NotFoundError. */
  async getModel(name: string): Promise<RegisteredModel> {
    return (await this.readModel(name)).model;
  }

  /** Creates an empty model; AlreadyExistsError when the name is taken. */
  async createModel(
    name: string,
    description: string,
    tags: Readonly<Record<string, string>>,
  ): Promise<RegisteredModel> {
    const now = timestampNow();
    const model = create(RegisteredModelSchema, {
      name,
      description,
      tags: { ...tags },
      createTime: now,
      updateTime: now,
    });
    const key = this.keys.model(name);
    const ok = await this.meta.commit({
      checks: [{ key, expect: undefined }],
      puts: [{ key, value: toBinary(RegisteredModelSchema, model) }],
    });
    if (!ok) throw new AlreadyExistsError(`model ${JSON.stringify(name)} already exists`);
    return model;
  }

  /**
   * Models in name order whose name starts with `namePrefix` and that carry every tag of
   * `tags` (an empty value matches any value of that key), after the name `after`.
   */
  async listModels(options: {
    readonly namePrefix: string;
    readonly tags: Readonly<Record<string, string>>;
    readonly pageSize: number;
    readonly after: string | undefined;
  }): Promise<Page<RegisteredModel, string>> {
    const filter = Object.entries(options.tags);
    const batch =
      filter.length === 0 ? options.pageSize + 1 : Math.max(options.pageSize + 1, FILTERED_SCAN_BATCH);
    const found: RegisteredModel[] = [];
    let after = options.after === undefined ? undefined : this.keys.model(options.after);
    // One more match than the page holds tells whether a next page exists.
    while (found.length <= options.pageSize) {
      const entries = await this.meta.list({
        prefix: this.keys.modelPrefix(options.namePrefix),
        limit: batch,
        ...(after === undefined ? {} : { after }),
      });
      for (const entry of entries) {
        const model = fromBinary(RegisteredModelSchema, entry.value);
        if (filter.every(([k, v]) => k in model.tags && (v === "" || model.tags[k] === v))) found.push(model);
        if (found.length > options.pageSize) break;
      }
      if (entries.length < batch) break;
      after = entries[entries.length - 1]?.key;
    }
    const items = found.slice(0, options.pageSize);
    return { items, next: found.length > options.pageSize ? items[items.length - 1]?.name : undefined };
  }

  /** Applies `change` to a copy of the model and stores it atomically; NotFoundError when absent. */
  async updateModel(
    name: string,
    change: (model: RegisteredModel) => void,
    signal?: AbortSignal,
  ): Promise<RegisteredModel> {
    return commitWithRetry(
      this.meta,
      async () => {
        const { raw, model } = await this.readModel(name);
        const next = clone(RegisteredModelSchema, model);
        change(next);
        next.updateTime = timestampNow();
        return { batch: this.modelChange(name, raw, next), result: next };
      },
      signal === undefined ? {} : { signal },
    );
  }

  /**
   * Deletes a model with all its versions and their blob references in one commit and
   * returns the sha256s they referenced (to release with {@link releaseBlob}).
   * FailedPreconditionError while any alias exists.
   */
  async deleteModel(name: string, signal?: AbortSignal): Promise<string[]> {
    return commitWithRetry(
      this.meta,
      async () => {
        const { raw, model } = await this.readModel(name);
        const aliases = Object.keys(model.aliases).sort();
        if (aliases.length > 0) {
          throw new FailedPreconditionError(
            `model ${JSON.stringify(name)} still has aliases ${aliases.map((a) => JSON.stringify(a)).join(", ")}; delete them first (DeleteAlias)`,
          );
        }
        const versions = await this.allVersions(name);
        const deletes = [this.keys.model(name)];
        for (const v of versions) {
          deletes.push(
            this.keys.version(name, v.version),
            this.keys.blobRef(v.sha256, name, v.version),
            ...this.lineageEntries(v).map((e) => e.key),
          );
        }
        return {
          batch: { checks: [{ key: this.keys.model(name), expect: raw }], deletes },
          result: [...new Set(versions.map((v) => v.sha256))],
        };
      },
      signal === undefined ? {} : { signal },
    );
  }

  /** One version with its current aliases; NotFoundError when the model or version does not exist. */
  async getVersion(name: string, version: bigint): Promise<ModelVersion> {
    const [modelRaw, versionRaw] = await this.meta.getMany([
      this.keys.model(name),
      this.keys.version(name, version),
    ]);
    if (modelRaw === undefined) throw modelNotFound(name);
    if (versionRaw === undefined) throw versionNotFound(name, version);
    return withAliases(
      fromBinary(ModelVersionSchema, versionRaw),
      fromBinary(RegisteredModelSchema, modelRaw),
    );
  }

  /** The version a reference points at: the newest version, an alias' target or a number. */
  async resolve(ref: ModelReference): Promise<ModelVersion> {
    switch (ref.kind) {
      case "version":
        return this.getVersion(ref.name, ref.version);
      case "alias": {
        const { model } = await this.readModel(ref.name);
        const target = model.aliases[ref.alias];
        if (target === undefined)
          throw new NotFoundError(
            `model ${JSON.stringify(ref.name)} has no alias ${JSON.stringify(ref.alias)}`,
          );
        return this.getVersion(ref.name, target);
      }
      case "latest": {
        const { items } = await this.listVersions(ref.name, 1, undefined);
        const latest = items[0];
        if (latest === undefined)
          throw new NotFoundError(`model ${JSON.stringify(ref.name)} has no versions`);
        return latest;
      }
    }
  }

  /** A model's versions, newest first, below version `below`; NotFoundError when the model does not exist. */
  async listVersions(
    name: string,
    pageSize: number,
    below: bigint | undefined,
  ): Promise<Page<ModelVersion, bigint>> {
    const { model } = await this.readModel(name);
    const entries = await this.meta.list({
      prefix: this.keys.versionPrefix(name),
      reverse: true,
      limit: pageSize + 1,
      ...(below === undefined ? {} : { after: this.keys.version(name, below) }),
    });
    const items = entries
      .slice(0, pageSize)
      .map((e) => withAliases(fromBinary(ModelVersionSchema, e.value), model));
    return { items, next: entries.length > pageSize ? items[items.length - 1]?.version : undefined };
  }

  /**
   * Stores the next version of a model (creating the model if asked): version record,
   * blob reference, optional alias and the model's counters in one commit. The number
   * comes from a compare-and-set on the model record, so concurrent uploads get distinct
   * numbers and none is lost.
   */
  async addVersion(input: NewVersion, signal?: AbortSignal): Promise<AddedVersion> {
    const name = input.modelName;
    return commitWithRetry(
      this.meta,
      async () => {
        const stored = await this.readModelIfAny(name);
        if (stored === undefined && !input.createModel)
          throw modelNotFound(name, " (set metadata.create_model to create it)");
        const now = timestampNow();
        const model =
          stored === undefined
            ? create(RegisteredModelSchema, { name, createTime: now })
            : clone(RegisteredModelSchema, stored.model);
        const number = model.latestVersion + 1n;
        const version = create(ModelVersionSchema, {
          modelName: name,
          version: number,
          sha256: input.sha256,
          sizeBytes: input.sizeBytes,
          format: ArtifactFormat.ONNX,
          signature: input.signature,
          metrics: { ...input.metrics },
          params: { ...input.params },
          tags: { ...input.tags },
          status: ModelVersionStatus.READY,
          createTime: now,
          description: input.description,
          ...(input.lineage === undefined ? {} : { lineage: input.lineage }),
        });
        model.latestVersion = number;
        model.versionCount += 1n;
        model.updateTime = now;
        let aliasMove: AddedVersion["aliasMove"];
        if (input.alias !== "") {
          aliasMove = { alias: input.alias, previous: model.aliases[input.alias] ?? 0n };
          model.aliases[input.alias] = number;
        }
        const versionKey = this.keys.version(name, number);
        const change = this.modelChange(name, stored?.raw, model);
        return {
          batch: {
            checks: [...(change.checks ?? []), { key: versionKey, expect: undefined }],
            puts: [
              ...(change.puts ?? []),
              { key: versionKey, value: toBinary(ModelVersionSchema, version) },
              { key: this.keys.blobRef(input.sha256, name, number), value: MARKER },
              ...this.lineageEntries(version),
            ],
          },
          result: { version: withAliases(version, model), aliasMove },
        };
      },
      signal === undefined ? {} : { signal },
    );
  }

  /**
   * Deletes one version and its blob reference and returns it (release its blob with
   * {@link releaseBlob}). FailedPreconditionError while an alias points at it.
   */
  async deleteVersion(name: string, number: bigint, signal?: AbortSignal): Promise<ModelVersion> {
    return commitWithRetry(
      this.meta,
      async () => {
        const { raw, model } = await this.readModel(name);
        const version = withAliases(await this.readVersion(name, number), model);
        if (version.aliases.length > 0) {
          throw new FailedPreconditionError(
            `version ${number} of model ${JSON.stringify(name)} holds aliases ${version.aliases.map((a) => JSON.stringify(a)).join(", ")}; move or delete them first (SetAlias, DeleteAlias)`,
          );
        }
        const next = clone(RegisteredModelSchema, model);
        next.versionCount -= 1n;
        next.updateTime = timestampNow();
        const change = this.modelChange(name, raw, next);
        return {
          batch: {
            ...change,
            deletes: [
              this.keys.version(name, number),
              this.keys.blobRef(version.sha256, name, number),
              ...this.lineageEntries(version).map((e) => e.key),
            ],
          },
          result: version,
        };
      },
      signal === undefined ? {} : { signal },
    );
  }

  /**
   * Points an alias at a version, moving it atomically (one commit of the model record,
   * which holds the aliases). Returns the version and where the alias pointed before (0n when new).
   */
  async setAlias(
    name: string,
    alias: string,
    number: bigint,
    signal?: AbortSignal,
  ): Promise<{ version: ModelVersion; previous: bigint }> {
    return commitWithRetry(
      this.meta,
      async () => {
        const { raw, model } = await this.readModel(name);
        const version = await this.readVersion(name, number);
        const previous = model.aliases[alias] ?? 0n;
        if (previous === number)
          return { batch: undefined, result: { version: withAliases(version, model), previous } };
        const next = clone(RegisteredModelSchema, model);
        next.aliases[alias] = number;
        next.updateTime = timestampNow();
        return {
          batch: this.modelChange(name, raw, next),
          result: { version: withAliases(version, next), previous },
        };
      },
      signal === undefined ? {} : { signal },
    );
  }

  /** Removes an alias and returns the version it pointed at; NotFoundError when there is no such alias. */
  async deleteAlias(name: string, alias: string, signal?: AbortSignal): Promise<bigint> {
    return commitWithRetry(
      this.meta,
      async () => {
        const { raw, model } = await this.readModel(name);
        const previous = model.aliases[alias];
        if (previous === undefined)
          throw new NotFoundError(`model ${JSON.stringify(name)} has no alias ${JSON.stringify(alias)}`);
        const next = clone(RegisteredModelSchema, model);
        delete next.aliases[alias];
        next.updateTime = timestampNow();
        return { batch: this.modelChange(name, raw, next), result: previous };
      },
      signal === undefined ? {} : { signal },
    );
  }

  /**
   * The model versions whose lineage names the dataset `ref.dataset` (any version of it
   * when `ref.id` is undefined, else exactly that one), in key order: dataset version id,
   * model name, version number. `after` is a position from a previous page's `next`.
   */
  async listDatasetUsages(
    ref: DatasetVersionRef,
    pageSize: number,
    after: string | undefined,
  ): Promise<Page<DatasetUsage, string>> {
    const page = await this.listIndex(
      this.keys.datasetUsagePrefix(ref.dataset, ref.id),
      (key) => this.keys.datasetUsageOfKey(key),
      pageSize,
      after,
    );
    return {
      items: page.items.map((u) =>
        create(DatasetUsageSchema, {
          modelName: u.name,
          version: u.version,
          datasetVersion: utf8Decoder.decode(u.value),
        }),
      ),
      next: page.next,
    };
  }

  /**
   * The model versions whose lineage names the feature service, in order of model name
   * and version number. `after` is a position from a previous page's `next`.
   */
  async listFeatureServiceUsages(
    featureService: string,
    pageSize: number,
    after: string | undefined,
  ): Promise<Page<FeatureServiceUsage, string>> {
    const page = await this.listIndex(
      this.keys.featureServiceUsagePrefix(featureService),
      (key) => this.keys.featureServiceUsageOfKey(key),
      pageSize,
      after,
    );
    return {
      items: page.items.map((u) =>
        create(FeatureServiceUsageSchema, { modelName: u.name, version: u.version }),
      ),
      next: page.next,
    };
  }

  /** True when some version references the blob. */
  async isBlobReferenced(sha256: string): Promise<boolean> {
    const refs = await this.meta.list({ prefix: this.keys.blobRefPrefix(sha256), limit: 1 });
    return refs.length > 0;
  }

  /** Deletes the blob unless a version references it; true when it was deleted. */
  async releaseBlob(sha256: string): Promise<boolean> {
    if (await this.isBlobReferenced(sha256)) return false;
    return this.blobs.delete(sha256);
  }

  /** Every version of a model, oldest first (used to delete them all). */
  private async allVersions(name: string): Promise<ModelVersion[]> {
    const versions: ModelVersion[] = [];
    for await (const e of scanPrefix(this.meta, this.keys.versionPrefix(name))) {
      versions.push(fromBinary(ModelVersionSchema, e.value));
    }
    return versions;
  }

  /**
   * The lineage index entries of a version: one for the dataset and one for the feature
   * service its lineage names, if any. Put in the commit that creates the version and
   * deleted in the one that deletes it (or its model), so the index never disagrees with
   * the versions.
   */
  private lineageEntries(version: ModelVersion): LineageEntry[] {
    const { modelName: name, version: number } = version;
    const datasetVersion = version.lineage?.datasetVersion ?? "";
    const featureService = version.lineage?.featureService ?? "";
    const entries: LineageEntry[] = [];
    if (datasetVersion !== "") {
      const { dataset, id } = splitDatasetVersion(datasetVersion);
      entries.push({
        key: this.keys.datasetUsage(dataset, id ?? "", name, number),
        value: utf8.encode(datasetVersion),
      });
    }
    if (featureService !== "") {
      entries.push({
        key: this.keys.featureServiceUsage(featureService, name, number),
        value: utf8.encode(featureService),
      });
    }
    return entries;
  }

  /**
   * One page of the lineage index range `prefix`, in key order, after `after` (the key
   * suffix a previous page returned as `next`); `next` is the last entry's suffix when
   * more may follow. `usageOf` reads the model version from a key of the range.
   */
  private async listIndex(
    prefix: string,
    usageOf: (key: string) => ModelVersionRef,
    pageSize: number,
    after: string | undefined,
  ): Promise<Page<IndexedUsage, string>> {
    // One more entry than the page holds tells whether a next page exists.
    const entries = await this.meta.list({
      prefix,
      limit: pageSize + 1,
      ...(after === undefined ? {} : { after: prefix + after }),
    });
    const page = entries.slice(0, pageSize);
    const items = page.map((e) => ({ ...usageOf(e.key), value: e.value }));
    const last = page[page.length - 1];
    return {
      items,
      next: entries.length > pageSize && last !== undefined ? last.key.slice(prefix.length) : undefined,
    };
  }

  /** A guarded write of the model record: fails if it changed since `raw` was read. */
  private modelChange(name: string, raw: Uint8Array | undefined, next: RegisteredModel) {
    const key = this.keys.model(name);
    return {
      checks: [{ key, expect: raw }],
      puts: [{ key, value: toBinary(RegisteredModelSchema, next) }],
    };
  }

  /** A version record as stored (no aliases); NotFoundError when absent. */
  private async readVersion(name: string, number: bigint): Promise<ModelVersion> {
    const raw = await this.meta.get(this.keys.version(name, number));
    if (raw === undefined) throw versionNotFound(name, number);
    return fromBinary(ModelVersionSchema, raw);
  }

  private async readModel(name: string): Promise<StoredModel> {
    const stored = await this.readModelIfAny(name);
    if (stored === undefined) throw modelNotFound(name);
    return stored;
  }

  private async readModelIfAny(name: string): Promise<StoredModel | undefined> {
    const raw = await this.meta.get(this.keys.model(name));
    return raw === undefined ? undefined : { raw, model: fromBinary(RegisteredModelSchema, raw) };
  }
}

/** Fills a version's aliases from the model record (the one place they are stored). */
function withAliases(version: ModelVersion, model: RegisteredModel): ModelVersion {
  version.aliases = Object.entries(model.aliases)
    .filter(([, v]) => v === version.version)
    .map(([alias]) => alias)
    .sort();
  return version;
}

function modelNotFound(name: string, hint = ""): NotFoundError {
  return new NotFoundError(`model ${JSON.stringify(name)} not found${hint}`);
}

function versionNotFound(name: string, version: bigint): NotFoundError {
  return new NotFoundError(`version ${version} of model ${JSON.stringify(name)} not found`);
}
