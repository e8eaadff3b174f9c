import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { InvalidArgumentError, NotFoundError } from "@seam/kit/errors";
import {
  type DatasetService,
  type DatasetVersion,
  SourceFormat,
} from "@seam/proto/seam/datasets/v1/datasets_pb";
import { type RecordBatch, RecordBatchReader } from "apache-arrow";

/** What describes a derived version the feature store stores. */
export interface DerivedVersionMetadata {
  /** Dataset to add the version to (created when missing). */
  readonly dataset: string;
  /** Versions ("dataset@id") it was derived from. */
  readonly parents: readonly string[];
  /** What produced it, e.g. "features.GetHistoricalFeatures". */
  readonly derivedBy: string;
  /** Free text for people. */
  readonly description: string;
}

/**
 * Port: what the feature store needs of the dataset service: versions (schemas),
 * their rows as Arrow record batches, and storing a derived version.
 */
export interface DatasetsAccess {
  /** A version (the latest when `version` is empty); NotFoundError naming it when absent. */
  getVersion(dataset: string, version: string, signal?: AbortSignal): Promise<DatasetVersion>;
  /** The columns of a version, batch by batch. */
  readBatches(
    dataset: string,
    version: string,
    columns: readonly string[],
    signal?: AbortSignal,
  ): AsyncIterable<RecordBatch>;
  /** Stores an Arrow IPC stream as a new version (the dataset is created when missing). */
  uploadArrow(
    metadata: DerivedVersionMetadata,
    ipc: AsyncIterable<Uint8Array>,
    signal?: AbortSignal,
  ): Promise<{ version: DatasetVersion; created: boolean }>;
}

/** The datasets port over a DatasetService client. */
export function createDatasetsAccess(client: Client<typeof DatasetService>): DatasetsAccess {
  return {
    async getVersion(dataset, version, signal) {
      try {
        const response = await client.getDatasetVersion(
          { dataset, version },
          signal === undefined ? {} : { signal },
        );
        if (response.version === undefined) throw new Error("the dataset service returned no version");
        return response.version;
      } catch (err) {
        if (err instanceof ConnectError && err.code === Code.NotFound) {
          throw new NotFoundError(
            version === ""
              ? `dataset ${dataset} not found or has no versions`
              : `dataset version ${dataset}@${version} not found`,
          );
        }
        throw err;
      }
    },

    async *readBatches(dataset, version, columns, signal) {
      const messages = client.readDatasetVersion(
        { dataset, version, columns: [...columns] },
        signal === undefined ? {} : { signal },
      );
      async function* bytes(): AsyncGenerator<Uint8Array> {
        for await (const message of messages) yield message.arrowIpc;
      }
      const reader = await RecordBatchReader.from(bytes());
      yield* reader;
    },

    async uploadArrow(metadata, ipc, signal) {
      async function* requests() {
        yield {
          payload: {
            case: "metadata" as const,
            value: {
              dataset: metadata.dataset,
              parents: [...metadata.parents],
              derivedBy: metadata.derivedBy,
              description: metadata.description,
              format: SourceFormat.ARROW_IPC,
              createDataset: true,
            },
          },
        };
        for await (const chunk of ipc) yield { payload: { case: "chunk" as const, value: chunk } };
      }
      try {
        const response = await client.uploadDatasetVersion(
          requests(),
          signal === undefined ? {} : { signal },
        );
        if (response.version === undefined) throw new Error("the dataset service returned no version");
        return { version: response.version, created: response.created };
      } catch (err) {
        // The join produced data the dataset service refused: say where it came from.
        if (err instanceof ConnectError && err.code === Code.InvalidArgument) {
          throw new InvalidArgumentError(`the dataset service refused the joined data: ${err.rawMessage}`);
        }
        throw err;
      }
    },
  };
}
