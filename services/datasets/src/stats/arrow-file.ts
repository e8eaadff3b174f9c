import { createReadStream } from "node:fs";
import { type RecordBatch, RecordBatchReader } from "apache-arrow";
import type { BatchSource } from "./arrow-columns.js";

/**
 * A re-openable source over the Arrow IPC stream file at `path`: each call opens the file
 * and streams its record batches (bounded memory). Stopping early closes the file.
 */
export function openArrowFile(path: string): BatchSource {
  return async function* (): AsyncGenerator<RecordBatch> {
    const stream = createReadStream(path);
    try {
      const reader = await RecordBatchReader.from(stream);
      yield* reader;
    } finally {
      stream.destroy();
    }
  };
}
