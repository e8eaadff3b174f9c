import { type FileHandle, open } from "node:fs/promises";
import { DataLossError } from "@seam/kit/errors";
import type { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { type DataType, type Field, Message, type MessageHeader, Type } from "apache-arrow";
import { matchesColumnType } from "./arrow-columns.js";

/** One int64 or float64 column of one record batch, as stored. */
export interface StoredNumericColumn {
  /** Rows with no value; 0 means `validity` is undefined. */
  readonly nullCount: number;
  /** Bit i set when row i has a value (undefined when nothing is null). */
  readonly validity: Uint8Array | undefined;
  /** The values' 8-byte little-endian slots: float64 as is, int64 as its int32 halves. */
  readonly values: Float64Array | Int32Array;
}

/** The wanted columns of one record batch (in the order they were asked for). */
export interface StoredNumericBatch {
  readonly length: number;
  readonly columns: readonly StoredNumericColumn[];
}

/** What {@link readNumericColumns} reads: a column by name, checked against its type. */
export interface WantedColumn {
  readonly name: string;
  readonly type: ColumnType.INT64 | ColumnType.FLOAT64;
}

/**
 * The file uses something this reader leaves to apache-arrow's full reader: dictionary
 * batches, nested or other column types. Not a fault of the file.
 */
export class UnsupportedLayout extends Error {
  override readonly name = "UnsupportedLayout";
}

const CONTINUATION = -1;
const PREFIX_BYTES = 8;

/**
 * Reads only the wanted int64 / float64 columns of every record batch of the Arrow IPC
 * stream file at `path`, with positional reads of their validity and value buffers, and
 * none of the other columns' bytes (strings are most of a typical file). For a pass that
 * needs a few numeric columns again (histograms), this skips reading, copying and
 * decoding the rest. The views yielded are valid until the next batch is asked for: the
 * memory is reused. DataLossError when the file is truncated or lacks a wanted column;
 * UnsupportedLayout for a layout it does not read (see there).
 */
export async function* readNumericColumns(
  path: string,
  wanted: readonly WantedColumn[],
): AsyncGenerator<StoredNumericBatch> {
  const file = await open(path, "r");
  try {
    const { size } = await file.stat();
    const scratch = new Scratch();
    let position = 0;
    let layout: Layout | undefined;
    for (;;) {
      const message = await readMessage(file, position, path);
      if (message === undefined) return;
      position = message.bodyStart + message.bodyLength;
      // Bodies are read only in part: a cut-off file would otherwise pass for a complete one.
      if (position > size) throw new DataLossError(`${path} ends inside a message`);
      const { metadata } = message;
      if (metadata.isSchema()) {
        layout = layoutOf(metadata.header().fields, wanted);
      } else if (metadata.isRecordBatch()) {
        if (layout === undefined) throw new DataLossError(`${path}: a record batch comes before the schema`);
        yield await readBatch(file, message.bodyStart, metadata.header(), layout, scratch, path);
      } else {
        throw new UnsupportedLayout(`${path} has a message of type ${metadata.headerType}`);
      }
    }
  } finally {
    await file.close();
  }
}

interface RawMessage {
  readonly metadata: Message;
  readonly bodyStart: number;
  readonly bodyLength: number;
}

/** The message at `position`, or undefined at the end-of-stream marker (or the file's end). */
async function readMessage(
  file: FileHandle,
  position: number,
  path: string,
): Promise<RawMessage | undefined> {
  const prefix = Buffer.alloc(PREFIX_BYTES);
  const { bytesRead } = await file.read(prefix, 0, PREFIX_BYTES, position);
  if (bytesRead === 0) return undefined;
  // Current streams: 0xFFFFFFFF, then the metadata length; pre-1.0 streams: the length alone.
  const continued = bytesRead >= 4 && prefix.readInt32LE(0) === CONTINUATION;
  if (continued && bytesRead < PREFIX_BYTES) throw new DataLossError(`${path} ends inside a message prefix`);
  const metadataLength = continued ? prefix.readInt32LE(4) : prefix.readInt32LE(0);
  if (metadataLength === 0) return undefined;
  const metadataStart = position + (continued ? PREFIX_BYTES : 4);
  const metadataBytes = await readExactly(file, Buffer.alloc(metadataLength), metadataStart, path);
  const metadata = Message.decode(metadataBytes);
  return { metadata, bodyStart: metadataStart + metadataLength, bodyLength: Number(metadata.bodyLength) };
}

/** Where the wanted columns' buffers sit in a record batch's buffer list. */
interface Layout {
  /** Per wanted column: its field's index (its node) and its first buffer's index. */
  readonly columns: ReadonlyArray<{
    readonly name: string;
    readonly node: number;
    readonly buffer: number;
    readonly float: boolean;
  }>;
  readonly fieldCount: number;
}

// Buffers per column in an IPC record batch: validity and values, plus offsets for strings.
const TWO_BUFFERS: ReadonlySet<Type> = new Set([Type.Int, Type.Float, Type.Bool, Type.Timestamp, Type.Date]);
const THREE_BUFFERS: ReadonlySet<Type> = new Set([Type.Utf8, Type.Binary]);

function bufferCount(type: DataType, name: string): number {
  if (TWO_BUFFERS.has(type.typeId)) return 2;
  if (THREE_BUFFERS.has(type.typeId)) return 3;
  throw new UnsupportedLayout(`column "${name}" is ${String(type)}`);
}

function layoutOf(fields: readonly Field[], wanted: readonly WantedColumn[]): Layout {
  const firstBuffer: number[] = [];
  let buffers = 0;
  for (const field of fields) {
    firstBuffer.push(buffers);
    buffers += bufferCount(field.type, field.name);
  }
  const columns = wanted.map(({ name, type }) => {
    const node = fields.findIndex((f) => f.name === name);
    const field = fields[node];
    if (field === undefined) throw new DataLossError(`stored data has no column "${name}"`);
    if (!matchesColumnType(field.type, type)) {
      throw new DataLossError(`stored column "${name}" is ${String(field.type)}, expected a number`);
    }
    return { name, node, buffer: firstBuffer[node] as number, float: field.type.typeId === Type.Float };
  });
  return { columns, fieldCount: fields.length };
}

type BatchHeader = ReturnType<Message<MessageHeader.RecordBatch>["header"]>;

async function readBatch(
  file: FileHandle,
  bodyStart: number,
  header: BatchHeader,
  layout: Layout,
  scratch: Scratch,
  path: string,
): Promise<StoredNumericBatch> {
  const { nodes, buffers } = header;
  if (nodes.length !== layout.fieldCount) {
    throw new UnsupportedLayout(`${path}: a record batch has ${nodes.length} column nodes`);
  }
  const length = Number(header.length);
  const regions = layout.columns.map(({ name, node, buffer }) => {
    const fieldNode = nodes[node];
    const validity = buffers[buffer];
    const values = buffers[buffer + 1];
    if (fieldNode === undefined || validity === undefined || values === undefined) {
      throw new DataLossError(`${path}: a record batch lacks the buffers of column "${name}"`);
    }
    const nullCount = Number(fieldNode.nullCount);
    const short =
      Number(fieldNode.length) !== length ||
      Number(values.length) < length * 8 ||
      (nullCount > 0 && Number(validity.length) < Math.ceil(length / 8));
    if (short) {
      throw new DataLossError(
        `${path}: a record batch's column "${name}" is shorter than its ${length} rows`,
      );
    }
    return { nullCount, validity: nullCount > 0 ? validity : undefined, values };
  });
  // Every buffer at an 8-byte aligned place of one reused allocation.
  const align = (n: number) => Math.ceil(n / 8) * 8;
  let size = 0;
  for (const r of regions)
    size += align(length * 8) + (r.validity === undefined ? 0 : align(Number(r.validity.length)));
  const memory = scratch.take(size);
  let at = 0;
  const reads: Array<Promise<unknown>> = [];
  const columns = layout.columns.map(({ float }, i) => {
    const region = regions[i] as (typeof regions)[number];
    const valuesAt = at;
    at += align(length * 8);
    reads.push(
      readExactly(
        file,
        memory.subarray(valuesAt, valuesAt + length * 8),
        bodyStart + Number(region.values.offset),
        path,
      ),
    );
    let validity: Uint8Array | undefined;
    if (region.validity !== undefined) {
      const bytes = Number(region.validity.length);
      validity = memory.subarray(at, at + bytes);
      at += align(bytes);
      reads.push(readExactly(file, validity, bodyStart + Number(region.validity.offset), path));
    }
    const values = float
      ? new Float64Array(memory.buffer, memory.byteOffset + valuesAt, length)
      : new Int32Array(memory.buffer, memory.byteOffset + valuesAt, length * 2);
    return { nullCount: region.nullCount, validity, values };
  });
  await Promise.all(reads);
  return { length, columns };
}

/** Reads exactly `into.length` bytes at `position` into `into`. */
async function readExactly(
  file: FileHandle,
  into: Uint8Array,
  position: number,
  path: string,
): Promise<Uint8Array> {
  let done = 0;
  while (done < into.length) {
    const { bytesRead } = await file.read(into, done, into.length - done, position + done);
    if (bytesRead === 0) throw new DataLossError(`${path} ends inside a message`);
    done += bytesRead;
  }
  return into;
}

/** One growing allocation, handed out again for every batch. */
class Scratch {
  private memory = new Uint8Array(0);

  take(size: number): Uint8Array {
    if (this.memory.length < size) this.memory = new Uint8Array(size);
    return this.memory;
  }
}
