import type { Schema } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { encodeIpcStream, type IpcChunk } from "../arrow-ipc/index.js";
import type { BatchSource } from "../stats/arrow-columns.js";
import { planRead, type ReadOptions, selectRows } from "./select-rows.js";

export type { IpcChunk };

/**
 * Reads a stored version as ONE Arrow IPC stream split over the yielded chunks: the first
 * starts with the schema message, each carries about one record batch of `batchRows` rows,
 * and the last ends with the end-of-stream marker; an empty result is one chunk holding the
 * schema and the marker. Applies projection (columns in the requested order), the split
 * filter, then offset and limit, then rebatching. Options are validated before returning
 * (InvalidArgumentError naming the field or column, FailedPreconditionError for a split
 * filter on a version without splits). Memory stays bounded: the source is read lazily.
 */
export function readArrow(
  source: BatchSource,
  schema: Schema,
  options: ReadOptions = {},
): AsyncIterable<IpcChunk> {
  const plan = planRead(schema, options);
  return { [Symbol.asyncIterator]: () => encodeIpcStream(plan.arrowSchema, selectRows(source, plan)) };
}
