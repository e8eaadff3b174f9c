import { createHash, type Hash } from "node:crypto";
import { once } from "node:events";
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { rename, rm } from "node:fs/promises";
import type { Schema } from "@seam/proto/seam/datasets/v1/datasets_pb";
import {
  type Schema as ArrowSchema,
  type Data,
  makeData,
  RecordBatch,
  RecordBatchStreamWriter,
  Struct,
} from "apache-arrow";
import type { ArrayBufferViewInput } from "apache-arrow/util/buffer";
import { type ColumnSpec, toArrowSchema, toProtoSchema } from "./columns.js";

/**
 * Arrow's stream writer, but every byte it emits is collected synchronously instead of
 * going through its unbounded internal queue: we then write and hash the bytes
 * ourselves, with the file stream's backpressure.
 */
class CapturingStreamWriter extends RecordBatchStreamWriter {
  private chunks: Uint8Array[] = [];
  private size = 0;

  protected override _write(chunk: ArrayBufferViewInput): this {
    if (this._started) {
      const view = chunk as ArrayBufferView;
      if (view.byteLength > 0) {
        // Copied now: body buffers are the builders' arrays, reused for the next batch.
        this.chunks.push(new Uint8Array(view.buffer, view.byteOffset, view.byteLength));
        this.size += view.byteLength;
        this._position += view.byteLength;
      }
    }
    return this;
  }

  take(): Buffer {
    const out = Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    this.size = 0;
    return out;
  }
}

/**
 * Sees the canonical stream as it is written (e.g. to compute statistics concurrently).
 * The byte arrays passed in belong to the writer: copy what must outlive the call.
 */
export interface BatchObserver {
  /**
   * A stream starts: its schema, IPC schema message and the file it is written to. Called
   * again when a conversion starts over (inference fell back to a second pass): forget every
   * batch seen before. A late null only rewrites the schema message's nullability and calls
   * nothing.
   */
  start(schema: Schema, schemaMessage: Uint8Array, path: string): void;
  /**
   * The IPC message bytes (metadata and body) of one record batch, in stream order, once
   * the file has them: from then on they are the observer's (it may transfer their buffer
   * to a worker instead of copying them).
   */
  batch(message: Uint8Array): void;
  /** Backpressure: when it returns a promise, the writer waits for it between input chunks. */
  ready(): Promise<void> | undefined;
  /**
   * Optional: the stream ended with `trailer` (its end-of-stream marker) and the file is
   * closed; resolves to the hex sha256 of the schema message, every batch and the trailer,
   * once the file proved to hold exactly those bytes (read back and compared as they were
   * written; DataLossError otherwise). An observer that has it hashes the stream in the
   * writer's stead (e.g. on a worker thread that sees the bytes anyway), and the digest is
   * the file's own: the blob store can take it instead of hashing the file again.
   */
  digest?(trailer: Uint8Array): Promise<string>;
}

/** What a finished canonical stream is. */
export interface ArrowFileSummary {
  readonly sha256: string;
  readonly byteSize: number;
  /**
   * Whether `sha256` was checked against the file's bytes read back (an observer's
   * {@link BatchObserver.digest}), not only computed from the bytes handed to the file.
   */
  readonly fileChecked: boolean;
}

/** The bytes of the IPC schema message for these columns. */
export function schemaMessage(columns: readonly ColumnSpec[]): Buffer {
  const writer = new CapturingStreamWriter();
  writer.reset(undefined, toArrowSchema(columns));
  return writer.take();
}

/**
 * Writes the canonical Arrow IPC stream to a file: schema, one record batch per call,
 * end-of-stream marker; hashes (sha256) the bytes as they are written.
 */
export class ArrowFileWriter {
  private readonly writer = new CapturingStreamWriter();
  /** Undefined when the observer hashes the stream (see {@link BatchObserver.digest}). */
  private readonly hash: Hash | undefined;
  private bytes = 0;
  private failure: Error | undefined;
  /** Size of the schema message at the start of the file. */
  readonly headerBytes: number;

  private constructor(
    path: string,
    private readonly stream: WriteStream,
    readonly schema: ArrowSchema,
    private readonly observer: BatchObserver | undefined,
    columns: readonly ColumnSpec[],
  ) {
    stream.on("error", (err) => {
      this.failure = err;
    });
    this.hash = observer?.digest === undefined ? createHash("sha256") : undefined;
    this.writer.reset(undefined, schema);
    const header = this.writer.take();
    this.headerBytes = header.length;
    this.push(header);
    observer?.start(toProtoSchema(columns), header, path);
  }

  /** Creates (truncates) `path` and writes the schema message; `observer` sees the stream. */
  static create(path: string, columns: readonly ColumnSpec[], observer?: BatchObserver): ArrowFileWriter {
    const stream = createWriteStream(path, { highWaterMark: 8 << 20 });
    return new ArrowFileWriter(path, stream, toArrowSchema(columns), observer, columns);
  }

  private push(buf: Buffer, written?: (err?: Error | null) => void): void {
    if (this.failure) throw this.failure;
    this.hash?.update(buf);
    this.bytes += buf.length;
    this.stream.write(buf, written);
  }

  /** Writes one record batch made of `children` (one Data per column, `length` rows). */
  writeBatch(children: Data[], length: number): void {
    const data = makeData({ type: new Struct(this.schema.fields), length, nullCount: 0, children });
    this.writer.write(new RecordBatch(this.schema, data));
    const message = this.writer.take();
    const observer = this.observer;
    // Handed over once written, so the observer can take the bytes without a copy. Write
    // callbacks come in order, and all before the stream closes: an aborted stream's come
    // before the next stream's start.
    this.push(
      message,
      observer === undefined
        ? undefined
        : (err) => {
            if (err == null) observer.batch(message);
          },
    );
  }

  /** Resolves when the file stream and the observer can take more (call between input chunks). */
  async drain(): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.stream.writableNeedDrain) await once(this.stream, "drain");
    const ready = this.observer?.ready();
    if (ready !== undefined) await ready;
  }

  /** Writes the end-of-stream marker and closes the file. */
  async finish(): Promise<ArrowFileSummary> {
    this.writer.finish();
    const trailer = this.writer.take();
    this.push(trailer);
    this.stream.end();
    await once(this.stream, "close");
    if (this.failure) throw this.failure;
    // Every batch reached the observer before the stream closed (write callbacks come first).
    if (this.hash !== undefined)
      return { sha256: this.hash.digest("hex"), byteSize: this.bytes, fileChecked: false };
    const sha256 = await (this.observer as Required<BatchObserver>).digest(trailer);
    return { sha256, byteSize: this.bytes, fileChecked: true };
  }

  /** Closes the file without finishing it (the caller deletes it). */
  async abort(): Promise<void> {
    if (this.stream.closed) return;
    // Not once(): it would reject with the error destroy() gives pending writes.
    const closed = new Promise<void>((resolve) => this.stream.once("close", () => resolve()));
    this.stream.destroy();
    await closed;
  }
}

/**
 * Replaces the schema message at the start of a finished stream (only nullability can
 * have changed, so the record batches stay valid) by copying the batches behind the new
 * header; rehashes on the way. Used when a null shows up after the schema was written.
 */
export async function rewriteSchema(
  path: string,
  oldHeaderBytes: number,
  columns: readonly ColumnSpec[],
): Promise<ArrowFileSummary> {
  const next = `${path}.rewrite`;
  const hash = createHash("sha256");
  const out = createWriteStream(next, { highWaterMark: 8 << 20 });
  let bytes = 0;
  try {
    const write = async (buf: Buffer): Promise<void> => {
      hash.update(buf);
      bytes += buf.length;
      if (!out.write(buf)) await once(out, "drain");
    };
    await write(schemaMessage(columns));
    for await (const chunk of createReadStream(path, { start: oldHeaderBytes, highWaterMark: 4 << 20 })) {
      await write(chunk as Buffer);
    }
    out.end();
    await once(out, "finish");
    await rename(next, path);
  } catch (err) {
    out.destroy();
    await rm(next, { force: true });
    throw err;
  }
  return { sha256: hash.digest("hex"), byteSize: bytes, fileChecked: false };
}
