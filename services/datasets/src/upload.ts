import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { nextOrAbort } from "@seam/kit/async";
import { DataLossError, InvalidArgumentError, NotFoundError } from "@seam/kit/errors";
import type { Logger } from "@seam/kit/logging";
import { checkDescription, checkTags } from "@seam/kit/naming";
import type { BlobStore } from "@seam/kit/storage";
import {
  type Schema,
  SchemaSchema,
  SourceFormat,
  type SplitSpec,
  SplitsSchema,
  type UploadDatasetVersionRequest,
  type UploadMetadata,
} from "@seam/proto/seam/datasets/v1/datasets_pb";
import { delimiterByte, explicitColumns, type IngestResult, ingest } from "./ingest/index.js";
import { checkDatasetName, parseVersionRef, versionRef } from "./names.js";
import { countSplits, validateSplitSpec } from "./splits/index.js";
import { ConcurrentStats, openArrowFile } from "./stats/index.js";
import type { AddedVersion, DatasetStore } from "./store/dataset-store.js";

const DEFAULT_HISTOGRAM_BINS = 10;
const MAX_HISTOGRAM_BINS = 1000;
const MAX_PARENTS = 100;
const MAX_DERIVED_BY = 256;

/** What an upload needs. */
export interface UploadDeps {
  readonly store: DatasetStore;
  readonly blobs: BlobStore;
  readonly logger: Logger;
  /** Largest uploaded file, as sent (RESOURCE_EXHAUSTED beyond). */
  readonly maxUploadBytes: number;
  /** Where ingest writes its temporary files. */
  readonly tmpDir: string;
}

/** The metadata of an upload once validated. */
interface UploadPlan {
  readonly metadata: UploadMetadata;
  readonly histogramBins: number;
  /** The explicit schema to enforce; undefined to infer one. */
  readonly schema: Schema | undefined;
  readonly split: SplitSpec | undefined;
}

/**
 * Turns an upload stream (metadata, then chunks) into a stored version.
 *
 * Everything the metadata says is checked before the first chunk is read (dataset,
 * parents, schema, split fractions), so a bad request fails without sending its data.
 * The chunks are converted by `ingest` into a canonical Arrow IPC file in `tmpDir`; its
 * statistics are computed while it is written, on a worker thread fed each record batch
 * (ConcurrentStats: pass 1 during ingest, the histogram pass over the finished file),
 * and the split counts from that file meanwhile; then the file goes into the
 * blob store and the version is committed in one compare-and-set step. A failure or
 * cancellation at any point removes the temp files and releases the blob unless a
 * committed version shares it, so nothing is left behind.
 */
export async function uploadVersion(
  deps: UploadDeps,
  requests: AsyncIterable<UploadDatasetVersionRequest>,
  signal: AbortSignal,
): Promise<AddedVersion> {
  const stream = requests[Symbol.asyncIterator]();
  const first = await stream.next();
  if (first.done === true)
    throw new InvalidArgumentError("the upload stream is empty: send the metadata first, then the chunks");
  if (first.value.payload.case !== "metadata") {
    throw new InvalidArgumentError(
      "the first message of an upload must carry metadata (dataset, format, ...), not a chunk",
    );
  }
  const plan = checkMetadata(first.value.payload.value);
  const { metadata } = plan;
  if (!metadata.createDataset) await deps.store.getDataset(metadata.dataset).catch(withCreateHint);
  await checkParentsExist(deps.store, metadata.parents);

  // Each upload gets its own temp directory, removed whatever happens: no failure path
  // of ingest, stats or commit can leave a file behind.
  await mkdir(deps.tmpDir, { recursive: true });
  const tmpDir = await mkdtemp(join(deps.tmpDir, "upload-"));
  // The statistics worker is terminated whatever happens, as the directory is removed.
  let worker: ConcurrentStats | undefined;
  try {
    const stats = ConcurrentStats.start({ histogramBins: plan.histogramBins });
    worker = stats;
    const ingested = await ingest(chunksOf(stream, signal), {
      format: metadata.format,
      ...(metadata.csv === undefined || metadata.csv.delimiter === ""
        ? {}
        : { delimiter: metadata.csv.delimiter }),
      ...(plan.schema === undefined ? {} : { schema: plan.schema }),
      maxSourceBytes: deps.maxUploadBytes,
      tmpDir,
      signal,
      observer: stats,
    });
    try {
      return await storeVersion(deps, plan, ingested, stats, signal);
    } finally {
      await ingested.cleanup();
    }
  } finally {
    await worker?.close().catch((err: unknown) => {
      deps.logger.error({ err }, "terminating an upload's statistics worker failed");
    });
    await rm(tmpDir, { recursive: true, force: true }).catch((err: unknown) => {
      deps.logger.error({ err, path: tmpDir }, "removing an upload's temp directory failed");
    });
  }
}

/** Stats, split, blob and commit of an ingested upload; releases the blob on any failure. */
async function storeVersion(
  deps: UploadDeps,
  plan: UploadPlan,
  ingested: IngestResult,
  concurrentStats: ConcurrentStats,
  signal: AbortSignal,
): Promise<AddedVersion> {
  const { metadata } = plan;
  signal.throwIfAborted();
  // Identical content: the existing version, and no second blob or record.
  const existing = await deps.store.findVersion(metadata.dataset, ingested.sha256);
  if (existing !== undefined) return { version: existing, created: false };

  const { split } = plan;
  // The key column can only be checked now when the schema was inferred.
  if (split !== undefined) validateSplitSpec(split, ingested.schema, "metadata.split");
  // The finished file is read by the worker's histogram pass, the split counts and, unless
  // the statistics worker already checked the file against the digest, the blob store's
  // hash, all at once. Storing the blob before the statistics are known costs a release if
  // they fail. The file is adopted, not copied, where the store can (the local store links
  // it in place).
  const known = ingested.fileChecked ? { known: { sha256: ingested.sha256, size: ingested.byteSize } } : {};
  const [statsResult, splitsResult, putResult] = await Promise.allSettled([
    concurrentStats.finish(ingested.arrowPath, ingested.schema, signal),
    split === undefined
      ? Promise.resolve(undefined)
      : countSplits(openArrowFile(ingested.arrowPath), split).then((counts) =>
          create(SplitsSchema, { spec: split, counts }),
        ),
    deps.blobs.putFile(ingested.arrowPath, { signal, ...known }),
  ]);
  if (putResult.status === "rejected") {
    throw statsResult.status === "rejected"
      ? statsResult.reason
      : splitsResult.status === "rejected"
        ? splitsResult.reason
        : putResult.reason;
  }
  const blob = putResult.value;
  let added: AddedVersion;
  try {
    if (statsResult.status === "rejected") throw statsResult.reason;
    if (splitsResult.status === "rejected") throw splitsResult.reason;
    const stats = statsResult.value;
    const splits = splitsResult.value;
    if (blob.sha256 !== ingested.sha256) {
      throw new DataLossError(
        `the stored Arrow file has sha256 ${blob.sha256}, not the ${ingested.sha256} ingest computed`,
      );
    }
    signal.throwIfAborted();
    added = await deps.store.addVersion(
      {
        dataset: metadata.dataset,
        createDataset: metadata.createDataset,
        sha256: blob.sha256,
        byteSize: BigInt(blob.size),
        rowCount: BigInt(ingested.rowCount),
        schema: ingested.schema,
        sourceFormat: metadata.format,
        sourceBytes: BigInt(ingested.sourceBytes),
        parents: metadata.parents,
        derivedBy: metadata.derivedBy,
        stats,
        splits,
        description: metadata.description,
        tags: metadata.tags,
      },
      signal,
    );
  } catch (err) {
    // Unless a committed version (of any dataset) shares the content, the blob goes.
    await deps.store.releaseBlob(blob.sha256).catch((cleanupErr: unknown) => {
      deps.logger.error(
        { err: cleanupErr, sha256: blob.sha256 },
        "releasing the blob of a failed upload failed",
      );
    });
    throw err;
  }
  // Deleting another dataset with this content may have released the blob between our
  // put and our commit; the committed version must find its bytes, so put them again.
  if ((await deps.blobs.stat(blob.sha256)) === undefined) {
    deps.logger.warn(
      { sha256: blob.sha256 },
      "dataset blob was released by a concurrent delete; storing it again",
    );
    await deps.blobs.putFile(ingested.arrowPath, known);
  }
  return added;
}

/** Validates the metadata message (everything that can be checked without the data). */
function checkMetadata(metadata: UploadMetadata): UploadPlan {
  checkDatasetName(metadata.dataset, "metadata.dataset");
  if (metadata.format === SourceFormat.UNSPECIFIED || SourceFormat[metadata.format] === undefined) {
    throw new InvalidArgumentError(
      "metadata.format must be SOURCE_FORMAT_CSV, SOURCE_FORMAT_NDJSON or SOURCE_FORMAT_ARROW_IPC",
    );
  }
  if (metadata.csv !== undefined && metadata.csv.delimiter !== "") {
    if (metadata.format !== SourceFormat.CSV)
      throw new InvalidArgumentError("metadata.csv.delimiter is only meaningful for SOURCE_FORMAT_CSV");
    delimiterByte(metadata.csv.delimiter);
  }
  // The same checks ingest makes, made here so a bad schema is refused before any data.
  const schema = explicitColumns(metadata.schema) === undefined ? undefined : metadata.schema;
  if (metadata.histogramBins < 0 || metadata.histogramBins > MAX_HISTOGRAM_BINS) {
    throw new InvalidArgumentError(
      `metadata.histogram_bins must be between 0 and ${MAX_HISTOGRAM_BINS} (0 means ${DEFAULT_HISTOGRAM_BINS}), got ${metadata.histogramBins}`,
    );
  }
  if (metadata.split !== undefined) {
    // Without an explicit schema the key column is checked once the data's schema is known.
    validateSplitSpec(
      schema === undefined ? { ...metadata.split, keyColumn: "" } : metadata.split,
      schema ?? create(SchemaSchema),
      "metadata.split",
    );
  }
  checkParentRefs(metadata.parents);
  if (metadata.derivedBy.length > MAX_DERIVED_BY) {
    throw new InvalidArgumentError(`metadata.derived_by has at most ${MAX_DERIVED_BY} characters`);
  }
  checkDescription(metadata.description, "metadata.description");
  checkTags(metadata.tags, "metadata.tags");
  return {
    metadata,
    histogramBins: metadata.histogramBins === 0 ? DEFAULT_HISTOGRAM_BINS : metadata.histogramBins,
    schema,
    split: metadata.split,
  };
}

function checkParentRefs(parents: readonly string[]): void {
  if (parents.length > MAX_PARENTS)
    throw new InvalidArgumentError(`metadata.parents: at most ${MAX_PARENTS}, got ${parents.length}`);
  const seen = new Set<string>();
  parents.forEach((ref, i) => {
    parseVersionRef(ref, `metadata.parents[${i}]`);
    if (seen.has(ref)) throw new InvalidArgumentError(`metadata.parents names ${ref} twice`);
    seen.add(ref);
  });
}

/** NOT_FOUND naming every parent that is not an existing version. */
async function checkParentsExist(store: DatasetStore, parents: readonly string[]): Promise<void> {
  const missing: string[] = [];
  for (const ref of parents) {
    const { dataset, id } = parseVersionRef(ref, "metadata.parents");
    try {
      await store.getVersion(dataset, id);
    } catch (err) {
      if (!(err instanceof NotFoundError)) throw err;
      missing.push(versionRef(dataset, id));
    }
  }
  if (missing.length > 0) {
    throw new NotFoundError(`metadata.parents: no such dataset version ${missing.join(", ")}`);
  }
}

function withCreateHint(err: unknown): never {
  throw err instanceof NotFoundError
    ? new NotFoundError(`${err.message} (set metadata.create_dataset to create it)`)
    : err;
}

/** The chunk payloads of the rest of the stream, ending with the signal's reason when it aborts. */
async function* chunksOf(
  stream: AsyncIterator<UploadDatasetVersionRequest>,
  signal: AbortSignal,
): AsyncGenerator<Uint8Array> {
  for (;;) {
    const next = await nextOrAbort(stream, signal);
    if (next.done === true) return;
    const { payload } = next.value;
    if (payload.case !== "chunk") {
      throw new InvalidArgumentError(
        "only the first message of an upload may carry metadata; every later message must carry a chunk",
      );
    }
    yield payload.value;
  }
}
