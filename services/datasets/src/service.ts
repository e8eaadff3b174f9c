import type { DescMessage, MessageInitShape } from "@bufbuild/protobuf";
import { create } from "@bufbuild/protobuf";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { FailedPreconditionError, InvalidArgumentError } from "@seam/kit/errors";
import { createLogger, type Logger } from "@seam/kit/logging";
import { checkDescription, checkResourceNamePrefix, checkTags, pageSizeOf } from "@seam/kit/naming";
import type { BlobStore, MetaStore } from "@seam/kit/storage";
import {
  type CreateDatasetRequest,
  type CreateDatasetResponseSchema,
  type DatasetService,
  type DatasetVersion,
  type DeleteDatasetRequest,
  type DeleteDatasetResponseSchema,
  type GetDatasetRequest,
  type GetDatasetResponseSchema,
  type GetDatasetVersionRequest,
  type GetDatasetVersionResponseSchema,
  type ListDatasetsRequest,
  type ListDatasetsResponseSchema,
  type ListDatasetVersionsRequest,
  type ListDatasetVersionsResponseSchema,
  type ReadDatasetRowsRequest,
  type ReadDatasetRowsResponseSchema,
  type ReadDatasetVersionRequest,
  type ReadDatasetVersionResponseSchema,
  SchemaSchema,
  type Split,
  type SplitDatasetVersionRequest,
  type SplitDatasetVersionResponseSchema,
  SplitsSchema,
  type UploadDatasetVersionRequest,
  type UploadDatasetVersionResponseSchema,
} from "@seam/proto/seam/datasets/v1/datasets_pb";
import type { ModelLineage } from "./lineage.js";
import {
  checkDatasetName,
  checkVersionId,
  decodeDatasetPageToken,
  decodeVersionPageToken,
  encodeDatasetPageToken,
  encodeVersionPageToken,
} from "./names.js";
import { type ReadSelection, VersionReader } from "./reading.js";
import { countSplits, validateSplitSpec } from "./splits/index.js";
import { DatasetStore } from "./store/dataset-store.js";
import { uploadVersion } from "./upload.js";

type Init<S extends DescMessage> = MessageInitShape<S>;

const MAX_BATCH_ROWS = 1_048_576;

/** What the datasets service runs on. */
export interface DatasetsDeps {
  /** Metadata store; the service keeps its keys under `namespace`. */
  readonly meta: MetaStore;
  /** Store of the versions' Arrow IPC files (content-addressed). */
  readonly blobs: BlobStore;
  /** Which model versions were trained on a dataset (asked before deleting one). */
  readonly lineage: ModelLineage;
  /** Directory for upload temp files (e.g. `<SEAM_DATA_DIR>/tmp/datasets`); created on demand. */
  readonly tmpDir: string;
  /** Root or child logger; silent when absent. */
  readonly logger?: Logger;
  /** Largest uploaded file, as sent (DATASETS_MAX_UPLOAD_BYTES); 2 GiB when absent. */
  readonly maxUploadBytes?: number;
  /** Key prefix inside `meta`; "datasets/" when absent. */
  readonly namespace?: string;
  /**
   * Largest arrow_ipc payload of one ReadDatasetVersion message; 1 MiB when absent. A wide
   * record batch is split over several messages, so no client hits its receive limit
   * (4 MiB by default in grpc-js).
   */
  readonly maxReadMessageBytes?: number;
}

/**
 * `seam.datasets.v1.DatasetService`: named datasets and their immutable, content-addressed
 * Arrow versions with schemas, statistics and splits. Handlers validate their input
 * (INVALID_ARGUMENT naming the field) and throw the kit's domain errors, which the hosting
 * layer maps to gRPC codes.
 */
export class DatasetsService implements ServiceImpl<typeof DatasetService> {
  private readonly store: DatasetStore;
  private readonly blobs: BlobStore;
  private readonly lineage: ModelLineage;
  private readonly reader: VersionReader;
  private readonly logger: Logger;
  private readonly maxUploadBytes: number;
  private readonly tmpDir: string;
  private readonly maxReadMessageBytes: number;

  constructor(deps: DatasetsDeps) {
    this.logger = deps.logger ?? createLogger({ service: "datasets", level: "silent" });
    this.store = new DatasetStore(deps.meta, deps.blobs, deps.namespace);
    this.blobs = deps.blobs;
    this.lineage = deps.lineage;
    this.reader = new VersionReader(deps.blobs);
    this.maxUploadBytes = deps.maxUploadBytes ?? 2 * 1024 * 1024 * 1024;
    this.tmpDir = deps.tmpDir;
    this.maxReadMessageBytes = deps.maxReadMessageBytes ?? 1024 * 1024;
  }

  async createDataset(req: CreateDatasetRequest): Promise<Init<typeof CreateDatasetResponseSchema>> {
    checkDatasetName(req.name);
    checkDescription(req.description);
    checkTags(req.tags);
    return { dataset: await this.store.createDataset(req.name, req.description, req.tags) };
  }

  async getDataset(req: GetDatasetRequest): Promise<Init<typeof GetDatasetResponseSchema>> {
    return { dataset: await this.store.getDataset(checkDatasetName(req.name)) };
  }

  async listDatasets(req: ListDatasetsRequest): Promise<Init<typeof ListDatasetsResponseSchema>> {
    const page = await this.store.listDatasets({
      namePrefix: checkResourceNamePrefix(req.namePrefix),
      pageSize: pageSizeOf(req.pageSize),
      after: decodeDatasetPageToken(req.pageToken),
    });
    return {
      datasets: page.items,
      nextPageToken: page.next === undefined ? "" : encodeDatasetPageToken(page.next),
    };
  }

  async deleteDataset(
    req: DeleteDatasetRequest,
    ctx: HandlerContext,
  ): Promise<Init<typeof DeleteDatasetResponseSchema>> {
    checkDatasetName(req.name);
    await this.store.getDataset(req.name); // NOT_FOUND before asking the registry
    if (!req.force) {
      // Asked before the commit, so a model registered in between is not seen: the
      // registry keeps lineage as text, and a forced delete is possible anyway.
      const users = await this.lineage.versionsUsingDataset(req.name, ctx.signal);
      if (users.length > 0) {
        const shown =
          users.slice(0, 10).join(", ") + (users.length > 10 ? `, and ${users.length - 10} more` : "");
        throw new FailedPreconditionError(
          `dataset ${JSON.stringify(req.name)} is in the lineage of model versions ${shown}; set force to delete it anyway`,
        );
      }
    }
    const shas = await this.store.deleteDataset(req.name, { force: req.force, signal: ctx.signal });
    // After the commit: a blob another dataset's version shares stays.
    for (const sha of shas) await this.releaseBlob(sha);
    this.logger.info({ dataset: req.name, versions: shas.length, force: req.force }, "dataset deleted");
    return {};
  }

  async uploadDatasetVersion(
    requests: AsyncIterable<UploadDatasetVersionRequest>,
    ctx: HandlerContext,
  ): Promise<Init<typeof UploadDatasetVersionResponseSchema>> {
    const { version, created } = await uploadVersion(
      {
        store: this.store,
        blobs: this.blobs,
        logger: this.logger,
        maxUploadBytes: this.maxUploadBytes,
        tmpDir: this.tmpDir,
      },
      requests,
      ctx.signal,
    );
    this.logger.info(
      { dataset: version.dataset, version: version.id, rows: version.rowCount, created },
      created ? "dataset version created" : "dataset version already existed",
    );
    return { version, created };
  }

  async getDatasetVersion(
    req: GetDatasetVersionRequest,
  ): Promise<Init<typeof GetDatasetVersionResponseSchema>> {
    return { version: await this.versionOf(req) };
  }

  async listDatasetVersions(
    req: ListDatasetVersionsRequest,
  ): Promise<Init<typeof ListDatasetVersionsResponseSchema>> {
    checkDatasetName(req.dataset, "dataset");
    const page = await this.store.listVersions(
      req.dataset,
      pageSizeOf(req.pageSize),
      decodeVersionPageToken(req.pageToken),
    );
    return {
      versions: page.items,
      nextPageToken: page.next === undefined ? "" : encodeVersionPageToken(page.next),
    };
  }

  async splitDatasetVersion(
    req: SplitDatasetVersionRequest,
    ctx: HandlerContext,
  ): Promise<Init<typeof SplitDatasetVersionResponseSchema>> {
    if (req.spec === undefined) throw new InvalidArgumentError("spec is required");
    const version = await this.versionOf(req);
    validateSplitSpec(req.spec, version.schema ?? create(SchemaSchema), "spec");
    if (version.splits !== undefined) {
      // Already split: the store returns it for the same spec and refuses another, without
      // reading the data (counts are not compared).
      const spec = create(SplitsSchema, { spec: req.spec });
      return { version: await this.store.setSplits(version.dataset, version.id, spec, ctx.signal) };
    }
    const counts = await countSplits(this.reader.batches(version, ctx.signal), req.spec);
    const splits = create(SplitsSchema, { spec: req.spec, counts });
    return { version: await this.store.setSplits(version.dataset, version.id, splits, ctx.signal) };
  }

  async *readDatasetVersion(
    req: ReadDatasetVersionRequest,
    ctx: HandlerContext,
  ): AsyncGenerator<Init<typeof ReadDatasetVersionResponseSchema>> {
    // One record batch is built in memory: bound it.
    if (req.batchRows < 0 || req.batchRows > MAX_BATCH_ROWS) {
      throw new InvalidArgumentError(
        `batch_rows must be between 0 and ${MAX_BATCH_ROWS} (0 means 65536), got ${req.batchRows}`,
      );
    }
    const version = await this.versionOf(req);
    const max = this.maxReadMessageBytes;
    for await (const { ipc, rows } of this.reader.readArrow(
      version,
      selectionOf(req),
      req.batchRows,
      ctx.signal,
    )) {
      // The contract only promises that the concatenated bytes form the stream, so a large
      // batch may span messages; its rows are counted on the message that completes it.
      for (let at = 0; at === 0 || at < ipc.byteLength; at += max) {
        const end = Math.min(at + max, ipc.byteLength);
        yield { arrowIpc: ipc.subarray(at, end), rows: end === ipc.byteLength ? BigInt(rows) : 0n };
      }
    }
  }

  async readDatasetRows(
    req: ReadDatasetRowsRequest,
    ctx: HandlerContext,
  ): Promise<Init<typeof ReadDatasetRowsResponseSchema>> {
    // The read module applies the limit rules (0 means 100, more than 1000 refused).
    const version = await this.versionOf(req);
    return this.reader.readRows(version, selectionOf(req), ctx.signal);
  }

  /** The version a request names (the latest when its version is empty). */
  private versionOf(req: { readonly dataset: string; readonly version: string }): Promise<DatasetVersion> {
    checkDatasetName(req.dataset, "dataset");
    return this.store.getVersion(req.dataset, checkVersionId(req.version));
  }

  /** Deletes a blob no version references any more; a failure only leaks storage, so it is logged. */
  private async releaseBlob(sha256: string): Promise<void> {
    try {
      await this.store.releaseBlob(sha256);
    } catch (err) {
      this.logger.error({ err, sha256 }, "releasing an unreferenced dataset blob failed");
    }
  }
}

/** The rows and columns a read request selects; the read module validates them against the schema. */
function selectionOf(req: {
  readonly columns: readonly string[];
  readonly split: Split;
  readonly offset: bigint;
  readonly limit: bigint;
}): ReadSelection {
  return { columns: req.columns, split: req.split, offset: req.offset, limit: req.limit };
}
