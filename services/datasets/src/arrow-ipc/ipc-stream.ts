import {
  type Schema as ArrowSchema,
  AsyncByteQueue,
  type RecordBatch,
  RecordBatchStreamWriter,
} from "apache-arrow";

/** One piece of an Arrow IPC stream and the rows of the record batches it carries. */
export interface IpcChunk {
  readonly ipc: Uint8Array;
  readonly rows: number;
}

/**
 * Collects what the writer emits, synchronously. The writer adopts any AsyncByteQueue as
 * its sink as is; overriding `write` lets us take the bytes after each batch instead of
 * consuming the queue asynchronously, which would only end when the writer closes.
 */
class CollectingSink extends AsyncByteQueue {
  private parts: Uint8Array[] = [];
  private size = 0;

  override write(value: Uint8Array): void {
    this.parts.push(value);
    this.size += value.byteLength;
  }

  /** Everything written since the last call, as one array. */
  take(): Uint8Array {
    const out = this.parts.length === 1 ? this.parts[0] : new Uint8Array(this.size);
    if (this.parts.length !== 1) {
      let at = 0;
      for (const part of this.parts) {
        out.set(part, at);
        at += part.byteLength;
      }
    }
    this.parts = [];
    this.size = 0;
    return out;
  }
}

/**
 * Encodes record batches as ONE Arrow IPC stream split over the yielded chunks: the first
 * starts with the schema message, each carries one record batch, and the last ends with
 * the end-of-stream marker; no batches give one chunk holding the schema and the marker.
 * Batches are encoded as they arrive, so memory stays bounded by one batch.
 */
export async function* encodeIpcStream(
  schema: ArrowSchema,
  batches: AsyncIterable<RecordBatch> | Iterable<RecordBatch>,
): AsyncGenerator<IpcChunk> {
  const sink = new CollectingSink();
  const writer = new RecordBatchStreamWriter();
  writer.reset(sink, schema); // writes the schema message now, so an empty stream still has it
  // One chunk is held back so that the end-of-stream marker can travel with the last batch.
  let held: IpcChunk | undefined;
  try {
    for await (const batch of batches) {
      writer.write(batch);
      if (held !== undefined) yield held;
      held = { ipc: sink.take(), rows: batch.numRows };
    }
    writer.close();
    const tail = sink.take();
    yield held === undefined ? { ipc: tail, rows: 0 } : { ipc: concat(held.ipc, tail), rows: held.rows };
  } finally {
    writer.abort();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}
