import { DomainError, InvalidArgumentError } from "@seam/kit/errors";
import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import {
  type AsyncRecordBatchStreamReader,
  type Data,
  type DataType,
  type Field,
  Precision,
  RecordBatchReader,
  TimeUnit,
  Type,
  type Vector,
} from "apache-arrow";
import { ArrowFileWriter, rewriteSchema } from "./arrow-writer.js";
import { BatchAssembler } from "./batch-assembler.js";
import type { ColumnBuilder } from "./column-builder.js";
import { type ColumnSpec, checkNamesMatch, typeName } from "./columns.js";
import type { ConvertResult } from "./convert-text.js";
import { parsed, setWords, setWordsBig } from "./values.js";

/** Options of {@link convertArrowStream}. */
export interface ArrowConvertOptions {
  readonly explicit: readonly ColumnSpec[] | undefined;
  readonly batchRows: number;
  readonly arrowPath: string;
  readonly signal?: AbortSignal | undefined;
}

/** Our type for an Arrow type, or undefined when we do not take it. */
function mapType(type: DataType): ColumnType | undefined {
  const id = type.typeId;
  if (id === Type.Int) return ColumnType.INT64;
  if (id === Type.Float) return ColumnType.FLOAT64;
  if (id === Type.Bool) return ColumnType.BOOL;
  if (id === Type.Utf8 || id === Type.LargeUtf8 || id === Type.Null) return ColumnType.STRING;
  if (id === Type.Timestamp) return ColumnType.TIMESTAMP;
  if (id === Type.Dictionary) {
    // Dictionary-encoded strings (what tableFromArrays makes of string arrays).
    const values = (type as DataType & { dictionary: DataType }).dictionary.typeId;
    return values === Type.Utf8 || values === Type.LargeUtf8 ? ColumnType.STRING : undefined;
  }
  return undefined;
}

/** The columns of the upload: its own types, or the explicit schema's when they are compatible. */
function resolveColumns(fields: readonly Field[], explicit: readonly ColumnSpec[] | undefined): ColumnSpec[] {
  if (fields.length === 0) throw new InvalidArgumentError("the Arrow stream has no columns");
  if (explicit)
    checkNamesMatch(
      "the Arrow schema",
      fields.map((f) => f.name),
      explicit,
    );
  return fields.map((field, i) => {
    const mapped = mapType(field.type);
    if (mapped === undefined) {
      throw new InvalidArgumentError(
        `column "${field.name}": Arrow type ${String(field.type)} is not supported (use int64, float64, bool, utf8 or timestamp)`,
      );
    }
    const isNull = field.type.typeId === Type.Null;
    const want = explicit?.[i];
    if (want === undefined) return { name: field.name, type: mapped, nullable: isNull };
    const fits =
      want.type === mapped || isNull || (mapped === ColumnType.INT64 && want.type === ColumnType.FLOAT64);
    if (!fits) {
      throw new InvalidArgumentError(
        `column "${field.name}": the upload has Arrow type ${String(field.type)}, the schema says ${typeName(want.type)}`,
      );
    }
    return want;
  });
}

function halfToFloat(h: number): number {
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  const sign = h & 0x8000 ? -1 : 1;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** Floor division of a BigInt (BigInt `/` truncates towards zero). */
function floorDiv(a: bigint, b: bigint): bigint {
  const q = a / b;
  return a % b !== 0n && a < 0n !== b < 0n ? q - 1n : q;
}

/**
 * Appends rows `[from, from + count)` of one column chunk. `row` is the 1-based number of
 * the first one in the whole stream, for messages.
 */
function appendSlice(
  b: ColumnBuilder,
  data: Data,
  from: number,
  count: number,
  spec: ColumnSpec,
  strictNulls: boolean,
  row: number,
  lateNull: () => void,
): void {
  const type = data.type;
  const id = type.typeId;
  const off = data.offset;
  const bitmap = data.nullCount > 0 ? (data.nullBitmap as Uint8Array) : undefined;
  const fail = (i: number, problem: string): never => {
    throw new InvalidArgumentError(`row ${row + i - from}, column "${spec.name}": ${problem}`);
  };
  const values = data.values as ArrayLike<number | bigint> & ArrayBufferView;
  for (let i = from; i < from + count; i++) {
    const at = off + i;
    if (
      type.typeId === Type.Null ||
      (bitmap !== undefined && (((bitmap[at >> 3] as number) >> (at & 7)) & 1) === 0)
    ) {
      if (!spec.nullable) {
        if (strictNulls) fail(i, "null in a non-nullable column");
        lateNull();
      }
      b.appendNull();
      continue;
    }
    if (id === Type.Int) {
      const v = values[at] as number | bigint;
      if (typeof v === "bigint") {
        if (v > 9223372036854775807n) fail(i, `${v} overflows int64`);
        if (spec.type === ColumnType.FLOAT64) b.appendFloat(Number(v));
        else {
          setWordsBig(v);
          b.appendWords(parsed.lo, parsed.hi);
        }
      } else if (spec.type === ColumnType.FLOAT64) b.appendFloat(v);
      else {
        setWords(v);
        b.appendWords(parsed.lo, parsed.hi);
      }
    } else if (id === Type.Float) {
      const raw = values[at] as number;
      const v =
        (type as DataType & { precision: Precision }).precision === Precision.HALF ? halfToFloat(raw) : raw;
      if (!Number.isFinite(v)) fail(i, `${v} is not a float64 (NaN and infinities are refused)`);
      b.appendFloat(v);
    } else if (id === Type.Bool) {
      b.appendBool((((values[at >> 3] as number) >> (at & 7)) & 1) === 1);
    } else if (id === Type.Dictionary) {
      const text = Buffer.from((data.dictionary as Vector).get(Number(values[at])) as string);
      b.appendBytes(text, 0, text.length);
    } else if (id === Type.Utf8 || id === Type.LargeUtf8) {
      const offsets = data.valueOffsets as ArrayLike<number | bigint>;
      b.appendBytes(data.values as Uint8Array, Number(offsets[at]), Number(offsets[at + 1]));
    } else {
      // Timestamp: normalized to milliseconds, whatever the unit.
      const v = values[at] as bigint;
      const unit = (type as DataType & { unit: TimeUnit }).unit;
      const ms =
        unit === TimeUnit.SECOND
          ? v * 1000n
          : unit === TimeUnit.MILLISECOND
            ? v
            : floorDiv(v, unit === TimeUnit.MICROSECOND ? 1000n : 1000000n);
      if (ms < -9223372036854775808n || ms > 9223372036854775807n) fail(i, "timestamp out of range");
      setWordsBig(ms);
      b.appendWords(parsed.lo, parsed.hi);
    }
  }
}

/**
 * Converts an Arrow IPC stream to the canonical stream: same columns (integers of any
 * width become int64, floats float64, large utf8 utf8, timestamps of any unit and zone
 * milliseconds UTC, null-typed columns nullable strings), re-batched to `batchRows`.
 * A column is nullable when it holds a null (or, with zero rows, when its field says so).
 */
export async function convertArrowStream(
  chunks: AsyncIterable<Uint8Array>,
  options: ArrowConvertOptions,
): Promise<ConvertResult> {
  const rethrow = (err: unknown): never => {
    if (err instanceof DomainError || options.signal?.aborted) throw err;
    throw new InvalidArgumentError(`not a valid Arrow IPC stream: ${(err as Error).message}`);
  };
  // From an async iterable, Arrow gives an async reader (its overloads do not say so).
  const opened = await Promise.resolve(RecordBatchReader.from(chunks)).catch(rethrow);
  if (!opened.isStream() || !opened.isAsync()) {
    throw new InvalidArgumentError("expected an Arrow IPC stream, not an Arrow file");
  }
  const reader = opened as unknown as AsyncRecordBatchStreamReader;
  await reader.open().catch(rethrow);
  const fields = reader.schema.fields;
  const guess = resolveColumns(fields, options.explicit);
  const iterator = reader[Symbol.asyncIterator]();
  const first = await iterator.next().catch(rethrow);
  const strictNulls = options.explicit !== undefined;
  let columns = guess;
  if (!strictNulls) {
    columns = guess.map((c, i) =>
      first.done
        ? { ...c, nullable: c.nullable || (fields[i] as Field).nullable }
        : { ...c, nullable: c.nullable || (first.value.data.children[i] as Data).nullCount > 0 },
    );
  }
  const writer = ArrowFileWriter.create(options.arrowPath, columns);
  try {
    const assembler = new BatchAssembler(columns, writer, options.batchRows, (p) => `row ${p}`);
    const late = columns.map(() => false);
    let next = first;
    let row = 1;
    while (!next.done) {
      const batch = next.value;
      for (let from = 0; from < batch.numRows; ) {
        const count = Math.min(assembler.room, batch.numRows - from);
        for (let c = 0; c < columns.length; c++) {
          const spec = columns[c] as ColumnSpec;
          const data = batch.data.children[c] as Data;
          appendSlice(
            assembler.builders[c] as ColumnBuilder,
            data,
            from,
            count,
            spec,
            strictNulls,
            row,
            () => {
              late[c] = true;
            },
          );
        }
        assembler.endRows(count, row);
        from += count;
        row += count;
      }
      await writer.drain();
      next = await iterator.next().catch(rethrow);
    }
    assembler.flush();
    let summary = await writer.finish();
    if (late.some(Boolean)) {
      columns = columns.map((c, i) => (late[i] ? { ...c, nullable: true } : c));
      summary = await rewriteSchema(options.arrowPath, writer.headerBytes, columns);
    }
    return { columns, rowCount: assembler.rowCount, ...summary };
  } catch (err) {
    await writer.abort();
    throw err;
  }
}
