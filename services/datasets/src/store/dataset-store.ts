import { clone, create, equals, fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { AlreadyExistsError, DataLossError, FailedPreconditionError, NotFoundError } from "@seam/kit/errors";
import {
  type BlobStore,
  commitWithRetry,
  type MetaCommit,
  type MetaStore,
  scanPrefix,
} from "@seam/kit/storage";
import {
  type ColumnStats,
  type Dataset,
  DatasetSchema,
  type DatasetVersion,
  DatasetVersionSchema,
  type Schema,
  type SourceFormat,
  SplitSpecSchema,
  type Splits,
} from "@seam/proto/seam/datasets/v1/datasets_pb";
import { parseVersionRef, versionIdOf, versionRef } from "../names.js";
import { DatasetKeys } from "./keys.js";

// Value of blob reference markers; its presence is what counts.
const MARKER = new Uint8Array([1]);
// How many version records one step of a whole-dataset scan reads.

/** A record as read, with the bytes a compare-and-set must check against. */
interface Stored<T> {
  readonly raw: Uint8Array;
  readonly value: T;
}

/** A version record as read: where it lives and what it held. */
interface StoredVersion extends Stored<DatasetVersion> {
  readonly key: string;
}

/** What a new version is made of; the store assigns its id, ref and create time. */
export interface NewVersion {
  readonly dataset: string;
  /** Create the dataset when it does not exist (otherwise NOT_FOUND). */
  readonly createDataset: boolean;
  readonly sha256: string;
  readonly byteSize: bigint;
  readonly rowCount: bigint;
  readonly schema: Schema;
  readonly sourceFormat: SourceFormat;
  readonly sourceBytes: bigint;
  readonly parents: readonly string[];
  readonly derivedBy: string;
  readonly stats: readonly ColumnStats[];
  readonly splits: Splits | undefined;
  readonly description: string;
  readonly tags: Readonly<Record<string, string>>;
}

/** The outcome of {@link DatasetStore.addVersion}. */
export interface AddedVersion {
  readonly version: DatasetVersion;
  /** False when identical content already was a version of the dataset (nothing was written). */
  readonly created: boolean;
}

/** A page of a listing and the position to continue after, if there may be more. */
export interface Page<T, P> {
  readonly items: T[];
  readonly next: P | undefined;
}

/**
 * The datasets service's repository over a MetaStore (protobuf binary records) and a
 * BlobStore. Every change to a dataset or its versions is one atomic commit guarded by a
 * compare-and-set on the records it read, so concurrent writers (in this process or on
 * other replicas) serialise per dataset and no reader ever sees half of a change.
 */
export class DatasetStore {
  private readonly keys: DatasetKeys;

  constructor(
    private readonly meta: MetaStore,
    private readonly blobs: BlobStore,
    namespace = "datasets/",
  ) {
    this.keys = new DatasetKeys(namespace);
  }

  /** The dataset, or NotFoundError. */
  async getDataset(name: string): Promise<Dataset> {
    return (await this.readDataset(name)).value;
  }

  /** Creates an empty dataset; AlreadyExistsError when the name is taken. */
  async createDataset(
    name: string,
    description: string,
    tags: Readonly<Record<string, string>>,
  ): Promise<Dataset> {
    const now = timestampNow();
    const dataset = create(DatasetSchema, {
      name,
      description,
      tags: { ...tags },
      createTime: now,
      updateTime: now,
    });
    const key = this.keys.dataset(name);
    const ok = await this.meta.commit({
      checks: [{ key, expect: undefined }],
      puts: [{ key, value: toBinary(DatasetSchema, dataset) }],
    });
    if (!ok) throw new AlreadyExistsError(`dataset ${JSON.stringify(name)} already exists`);
    return dataset;
  }

  /** Datasets in name order whose name starts with `namePrefix`, after the name `after`. */
  async listDatasets(options: {
    readonly namePrefix: string;
    readonly pageSize: number;
    readonly after: string | undefined;
  }): Promise<Page<Dataset, string>> {
    // One more than the page holds tells whether a next page exists.
    const entries = await this.meta.list({
      prefix: this.keys.datasetPrefix(options.namePrefix),
      limit: options.pageSize + 1,
      ...(options.after === undefined ? {} : { after: this.keys.dataset(options.after) }),
    });
    const items = entries.slice(0, options.pageSize).map((e) => fromBinary(DatasetSchema, e.value));
    return { items, next: entries.length > options.pageSize ? items[items.length - 1]?.name : undefined };
  }

  /**
   * Deletes a dataset with all its versions, their id index entries, blob references and
   * derivation markers in one commit, and returns the sha256s they referenced (to release
   * with {@link releaseBlob}). Refused with FailedPreconditionError while versions of other
   * datasets were derived from its versions, unless `force` (they then keep a parent
   * reference to a version that is gone).
   */
  async deleteDataset(
    name: string,
    options: { readonly force?: boolean; readonly signal?: AbortSignal } = {},
  ): Promise<string[]> {
    return commitWithRetry(
      this.meta,
      async () => {
        const { raw } = await this.readDataset(name);
        const versions = await this.allVersions(name);
        const derived = await this.meta.list({ prefix: this.keys.derivedFromPrefix(name) });
        const children = derived
          .map((e) => this.keys.parseDerivedFrom(name, e.key))
          .filter((d) => d.child !== name);
        if (children.length > 0 && options.force !== true) {
          const shown = children
            .slice(0, 10)
            .map((d) => `${versionRef(d.child, d.childId)} (from ${versionRef(name, d.parentId)})`)
            .join(", ");
          const more = children.length > 10 ? `, and ${children.length - 10} more` : "";
          throw new FailedPreconditionError(
            `versions of other datasets were derived from dataset ${JSON.stringify(name)}: ${shown}${more}; set force to delete it anyway`,
          );
        }
        const deletes = [this.keys.dataset(name), ...derived.map((e) => e.key)];
        for (const { key, value } of versions) {
          deletes.push(key, this.keys.versionId(name, value.id), this.keys.blobRef(value.sha256, name));
          for (const parent of value.parents) {
            const ref = parseVersionRef(parent, "parents");
            deletes.push(this.keys.derivedFrom(ref.dataset, ref.id, name, value.id));
          }
        }
        return {
          // Any upload or split commits a change to the dataset or a version record: checking
          // the dataset record alone guards the version list read above. A version derived
          // from one of ours commits a check on our version's id key, which this removes.
          batch: { checks: [{ key: this.keys.dataset(name), expect: raw }], deletes: [...new Set(deletes)] },
          result: [...new Set(versions.map((v) => v.value.sha256))],
        };
      },
      options.signal === undefined ? {} : { signal: options.signal },
    );
  }

  /** One version (the latest when `id` is empty); NotFoundError when the dataset or version does not exist. */
  async getVersion(name: string, id: string): Promise<DatasetVersion> {
    return (await this.readVersion(name, id)).value;
  }

  /** The version of `name` whose content has this sha256, if there is one. */
  async findVersion(name: string, sha256: string): Promise<DatasetVersion | undefined> {
    const stored = await this.readVersionIfAny(name, versionIdOf(sha256));
    return stored?.value.sha256 === sha256 ? stored.value : undefined;
  }

  /**
   * A dataset's versions, newest first, below sequence number `below`; NotFoundError when
   * the dataset does not exist. `next` is the sequence number to continue below.
   */
  async listVersions(
    name: string,
    pageSize: number,
    below: number | undefined,
  ): Promise<Page<DatasetVersion, number>> {
    await this.readDataset(name);
    const entries = await this.meta.list({
      prefix: this.keys.versionPrefix(name),
      reverse: true,
      limit: pageSize + 1,
      ...(below === undefined ? {} : { after: this.keys.version(name, below) }),
    });
    const page = entries.slice(0, pageSize);
    const last = page[page.length - 1];
    return {
      items: page.map((e) => fromBinary(DatasetVersionSchema, e.value)),
      next: entries.length > pageSize && last !== undefined ? this.keys.seqOfVersionKey(last.key) : undefined,
    };
  }

  /**
   * Stores a new version (creating the dataset if asked): version record, id index entry,
   * blob reference and the dataset's latest_version, version_count and update_time in one
   * compare-and-set commit, retried on contention. When the dataset already holds a version
   * with this content, nothing is written and that version is returned with `created: false`.
   */
  async addVersion(input: NewVersion, signal?: AbortSignal): Promise<AddedVersion> {
    const name = input.dataset;
    const id = versionIdOf(input.sha256);
    return commitWithRetry<AddedVersion>(
      this.meta,
      async () => {
        const stored = await this.readDatasetIfAny(name);
        if (stored === undefined && !input.createDataset) throw datasetNotFound(name, createHint);
        if (stored !== undefined) {
          const existing = await this.readVersionIfAny(name, id);
          if (existing !== undefined) {
            if (existing.value.sha256 !== input.sha256) throw idCollision(name, id, existing.value, input);
            return { batch: undefined, result: { version: existing.value, created: false } };
          }
        }
        const now = timestampNow();
        const dataset =
          stored === undefined
            ? create(DatasetSchema, { name, createTime: now })
            : clone(DatasetSchema, stored.value);
        const seq = (await this.lastSeq(name)) + 1;
        const version = create(DatasetVersionSchema, {
          dataset: name,
          id,
          ref: versionRef(name, id),
          rowCount: input.rowCount,
          byteSize: input.byteSize,
          sha256: input.sha256,
          schema: input.schema,
          sourceFormat: input.sourceFormat,
          sourceBytes: input.sourceBytes,
          createTime: now,
          parents: [...input.parents],
          derivedBy: input.derivedBy,
          stats: [...input.stats],
          description: input.description,
          tags: { ...input.tags },
          ...(input.splits === undefined ? {} : { splits: input.splits }),
        });
        dataset.latestVersion = id;
        dataset.versionCount += 1n;
        dataset.updateTime = now;
        const versionKey = this.keys.version(name, seq);
        const idKey = this.keys.versionId(name, id);
        const datasetKey = this.keys.dataset(name);
        // Each parent must still exist when this commits: checking its id key makes a
        // concurrent delete of the parent dataset and this version exclude each other.
        const parentChecks: Array<{ key: string; expect: Uint8Array }> = [];
        const parentMarkers: Array<{ key: string; value: Uint8Array }> = [];
        for (const parent of input.parents) {
          const ref = parseVersionRef(parent, "parents");
          const parentIdKey = this.keys.versionId(ref.dataset, ref.id);
          const current = await this.meta.get(parentIdKey);
          if (current === undefined)
            throw new NotFoundError(`parent dataset version ${parent} does not exist`);
          parentChecks.push({ key: parentIdKey, expect: current });
          parentMarkers.push({ key: this.keys.derivedFrom(ref.dataset, ref.id, name, id), value: MARKER });
        }
        return {
          batch: {
            checks: [
              { key: datasetKey, expect: stored?.raw },
              { key: versionKey, expect: undefined },
              { key: idKey, expect: undefined },
              ...parentChecks,
            ],
            puts: [
              ...parentMarkers,
              { key: datasetKey, value: toBinary(DatasetSchema, dataset) },
              { key: versionKey, value: toBinary(DatasetVersionSchema, version) },
              { key: idKey, value: encodeSeq(seq) },
              { key: this.keys.blobRef(input.sha256, name), value: MARKER },
            ],
          },
          result: { version, created: true },
        };
      },
      signal === undefined ? {} : { signal },
    );
  }

  /**
   * Records `splits` on a version (the latest when `id` is empty). When the version already
   * has splits: the same spec is a no-op returning it, a different one FailedPreconditionError.
   */
  async setSplits(name: string, id: string, splits: Splits, signal?: AbortSignal): Promise<DatasetVersion> {
    return commitWithRetry(
      this.meta,
      async () => {
        const stored = await this.readVersion(name, id);
        if (stored.value.splits !== undefined) {
          checkSameSplit(stored.value, splits);
          return { batch: undefined, result: stored.value };
        }
        const next = clone(DatasetVersionSchema, stored.value);
        next.splits = splits;
        const batch: MetaCommit = {
          checks: [{ key: stored.key, expect: stored.raw }],
          puts: [{ key: stored.key, value: toBinary(DatasetVersionSchema, next) }],
        };
        return { batch, result: next };
      },
      signal === undefined ? {} : { signal },
    );
  }

  /** True when some version of some dataset references the blob. */
  async isBlobReferenced(sha256: string): Promise<boolean> {
    const refs = await this.meta.list({ prefix: this.keys.blobRefPrefix(sha256), limit: 1 });
    return refs.length > 0;
  }

  /** Deletes the blob unless a version references it; true when it was deleted. */
  async releaseBlob(sha256: string): Promise<boolean> {
    if (await this.isBlobReferenced(sha256)) return false;
    return this.blobs.delete(sha256);
  }

  /** Every key of this service's namespace (tests assert what is left behind). */
  async allKeys(): Promise<string[]> {
    return (await this.meta.list({ prefix: this.keys.all() })).map((e) => e.key);
  }

  /** Every version of a dataset, oldest first (used to delete them all). */
  private async allVersions(name: string): Promise<StoredVersion[]> {
    const versions: StoredVersion[] = [];
    for await (const e of scanPrefix(this.meta, this.keys.versionPrefix(name))) {
      versions.push({ key: e.key, raw: e.value, value: fromBinary(DatasetVersionSchema, e.value) });
    }
    return versions;
  }

  /** The highest sequence number in use (0 when the dataset has no versions). */
  private async lastSeq(name: string): Promise<number> {
    const [last] = await this.meta.list({ prefix: this.keys.versionPrefix(name), reverse: true, limit: 1 });
    return last === undefined ? 0 : this.keys.seqOfVersionKey(last.key);
  }

  /** A version (the latest when `id` is empty); NotFoundError naming what is missing. */
  private async readVersion(name: string, id: string): Promise<StoredVersion> {
    if (id === "") {
      await this.readDataset(name);
      const [last] = await this.meta.list({ prefix: this.keys.versionPrefix(name), reverse: true, limit: 1 });
      if (last === undefined) throw new NotFoundError(`dataset ${JSON.stringify(name)} has no versions yet`);
      return { key: last.key, raw: last.value, value: fromBinary(DatasetVersionSchema, last.value) };
    }
    const stored = await this.readVersionIfAny(name, id);
    if (stored !== undefined) return stored;
    await this.readDataset(name); // NOT_FOUND names the dataset when that is what is missing
    throw new NotFoundError(`version ${versionRef(name, id)} not found`);
  }

  private async readVersionIfAny(name: string, id: string): Promise<StoredVersion | undefined> {
    const seqRaw = await this.meta.get(this.keys.versionId(name, id));
    if (seqRaw === undefined) return undefined;
    const seq = decodeSeq(seqRaw);
    const key = this.keys.version(name, seq);
    const raw = await this.meta.get(key);
    if (raw === undefined) {
      // Only a commit writes both keys, so this means the store was changed behind our back.
      throw new DataLossError(
        `the record of version ${versionRef(name, id)} is missing (index says #${seq})`,
      );
    }
    return { key, raw, value: fromBinary(DatasetVersionSchema, raw) };
  }

  private async readDataset(name: string): Promise<Stored<Dataset>> {
    const stored = await this.readDatasetIfAny(name);
    if (stored === undefined) throw datasetNotFound(name);
    return stored;
  }

  private async readDatasetIfAny(name: string): Promise<Stored<Dataset> | undefined> {
    const raw = await this.meta.get(this.keys.dataset(name));
    return raw === undefined ? undefined : { raw, value: fromBinary(DatasetSchema, raw) };
  }
}

/** Refuses a split spec that differs from the one a version already records. */
function checkSameSplit(version: DatasetVersion, splits: Splits): void {
  const recorded = version.splits?.spec;
  if (
    recorded === undefined ||
    splits.spec === undefined ||
    !equals(SplitSpecSchema, recorded, splits.spec)
  ) {
    throw new FailedPreconditionError(
      `version ${version.ref} already has a different split (seed ${recorded?.seed ?? 0n}, train ${recorded?.trainFraction ?? 0}, validation ${recorded?.validationFraction ?? 0}, test ${recorded?.testFraction ?? 0}, key column ${JSON.stringify(recorded?.keyColumn ?? "")}); splits are immutable: upload a new version to split it differently`,
    );
  }
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

function encodeSeq(seq: number): Uint8Array {
  return textEncoder.encode(String(seq));
}

function decodeSeq(raw: Uint8Array): number {
  return Number(textDecoder.decode(raw));
}

const createHint = " (set metadata.create_dataset to create it)";

function datasetNotFound(name: string, hint = ""): NotFoundError {
  return new NotFoundError(`dataset ${JSON.stringify(name)} not found${hint}`);
}

// Two different contents with the same 96-bit id prefix: never expected, but refused
// rather than letting one version shadow the other.
function idCollision(
  name: string,
  id: string,
  existing: DatasetVersion,
  input: NewVersion,
): AlreadyExistsError {
  return new AlreadyExistsError(
    `version id ${versionRef(name, id)} is taken by content with sha256 ${existing.sha256}, not ${input.sha256}`,
  );
}
