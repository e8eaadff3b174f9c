import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { DataLossError, FailedPreconditionError, NotFoundError } from "@seam/kit/errors";
import type { BlobStore } from "@seam/kit/storage";
import {
  type DatasetVersion,
  type ReadDatasetRowsResponseSchema,
  SchemaSchema,
  Split,
} from "@seam/proto/seam/datasets/v1/datasets_pb";
import { type RecordBatch, RecordBatchReader } from "apache-arrow";
import { readArrow, readRows } from "./read/index.js";
import type { BatchSource } from "./stats/index.js";

/** Which rows and columns of a version to read (validated by the service). */
export interface ReadSelection {
  readonly columns: readonly string[];
  readonly split: Split;
  readonly offset: bigint;
  readonly limit: bigint;
}

/**
 * Reads stored versions back from the blob store: as record batches (for split counts),
 * as the chunks of one Arrow IPC stream, or as JSON rows.
 */
export class VersionReader {
  constructor(private readonly blobs: BlobStore) {}

  /**
   * A re-openable source of the version's record batches, streamed from its blob (bounded
   * memory). A missing blob is DATA_LOSS: the version record says it must be there.
   */
  batches(version: DatasetVersion, signal?: AbortSignal): BatchSource {
    const blobs = this.blobs;
    return async function* (): AsyncGenerator<RecordBatch> {
      const bytes = blobs.get(version.sha256, signal === undefined ? {} : { signal });
      try {
        const reader = await RecordBatchReader.from(bytes);
        yield* reader;
      } catch (err) {
        throw err instanceof NotFoundError ? missingBlob(version) : err;
      }
    };
  }

  /** The chunks of one Arrow IPC stream of the selected rows and columns. */
  readArrow(
    version: DatasetVersion,
    selection: ReadSelection,
    batchRows: number,
    signal?: AbortSignal,
  ): AsyncIterable<{ readonly ipc: Uint8Array; readonly rows: number }> {
    return readArrow(this.batches(version, signal), schemaOf(version), {
      ...this.options(version, selection),
      batchRows,
    });
  }

  /** The selected rows as JSON structs, with the schema of the returned columns. */
  async readRows(
    version: DatasetVersion,
    selection: ReadSelection,
    signal?: AbortSignal,
  ): Promise<MessageInitShape<typeof ReadDatasetRowsResponseSchema>> {
    const result = await readRows(
      this.batches(version, signal),
      schemaOf(version),
      this.options(version, selection),
    );
    // protobuf-es maps google.protobuf.Struct to plain JSON objects, so rows pass as they are.
    return { rows: result.rows, schema: result.schema };
  }

  private options(version: DatasetVersion, selection: ReadSelection) {
    let split:
      | { readonly spec: NonNullable<DatasetVersion["splits"]>["spec"]; readonly which: Split }
      | undefined;
    if (selection.split !== Split.UNSPECIFIED) {
      const spec = version.splits?.spec;
      if (spec === undefined) {
        throw new FailedPreconditionError(
          `version ${version.ref} has no splits; record one first (SplitDatasetVersion) or read without a split filter`,
        );
      }
      split = { spec, which: selection.split };
    }
    return {
      columns: selection.columns,
      offset: Number(selection.offset),
      limit: Number(selection.limit),
      ...(split === undefined ? {} : { split }),
    };
  }
}

function schemaOf(version: DatasetVersion) {
  return version.schema ?? create(SchemaSchema);
}

function missingBlob(version: DatasetVersion): DataLossError {
  return new DataLossError(
    `the data of ${version.ref} (sha256 ${version.sha256}) is missing from the blob store`,
  );
}
