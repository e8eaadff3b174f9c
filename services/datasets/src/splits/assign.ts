import { create } from "@bufbuild/protobuf";
import { DataLossError } from "@seam/kit/errors";
import {
  Split,
  type SplitCounts,
  SplitCountsSchema,
  type SplitSpec,
} from "@seam/proto/seam/datasets/v1/datasets_pb";
import { type Int, type RecordBatch, Type } from "apache-arrow";
import { type BatchSource, bitIsSet, int32PairsOf, nullBitmapOf } from "../stats/arrow-columns.js";
import {
  type CompiledSplitSpec,
  compileSplitSpec,
  splitOfBool,
  splitOfInt,
  splitOfIntNumber,
  splitOfNull,
  splitOfUtf8,
} from "./split-spec.js";

function compiled(spec: SplitSpec | CompiledSplitSpec): CompiledSplitSpec {
  return "seedState" in spec ? spec : compileSplitSpec(spec);
}

/**
 * The split (a Split enum value: TRAIN, VALIDATION or TEST) of every row of `batch`.
 * `firstRowIndex` is the index of the batch's first row in the whole version; it is the
 * key when the spec has no key column. The key column is looked up by name; its Arrow
 * type decides the canonical key bytes (see `splitOfKey`).
 */
export function assignSplits(
  batch: RecordBatch,
  spec: SplitSpec | CompiledSplitSpec,
  firstRowIndex: number,
): Uint8Array {
  const c = compiled(spec);
  const n = batch.numRows;
  const out = new Uint8Array(n);
  if (c.keyColumn === "") {
    for (let i = 0; i < n; i++) out[i] = splitOfIntNumber(c, firstRowIndex + i);
    return out;
  }
  const index = batch.schema.fields.findIndex((f) => f.name === c.keyColumn);
  const data = index < 0 ? undefined : batch.data.children[index];
  if (data === undefined) throw new DataLossError(`stored data has no key column "${c.keyColumn}"`);
  const nulls = nullBitmapOf(data);
  const offset = data.offset;
  const nullSplit = splitOfNull(c);
  const isValid = (i: number) => nulls === undefined || bitIsSet(nulls, offset + i);
  const typeId = data.typeId;
  if ((typeId === Type.Int && (data.type as Int).bitWidth === 64) || typeId === Type.Timestamp) {
    const pairs = int32PairsOf(data);
    for (let i = 0; i < n; i++) {
      out[i] = isValid(i) ? splitOfInt(c, pairs[2 * i + 1] >>> 0, pairs[2 * i] >>> 0) : nullSplit;
    }
  } else if (typeId === Type.Utf8) {
    const offsets = data.valueOffsets as Int32Array;
    const bytes = data.values as Uint8Array;
    for (let i = 0; i < n; i++)
      out[i] = isValid(i) ? splitOfUtf8(c, bytes, offsets[i], offsets[i + 1]) : nullSplit;
  } else if (typeId === Type.Bool) {
    const trueSplit = splitOfBool(c, true);
    const falseSplit = splitOfBool(c, false);
    const bits = data.values as Uint8Array;
    for (let i = 0; i < n; i++) {
      out[i] = !isValid(i) ? nullSplit : bitIsSet(bits, offset + i) ? trueSplit : falseSplit;
    }
  } else {
    throw new DataLossError(
      `key column "${c.keyColumn}" has type ${String(data.type)}, which cannot be a split key`,
    );
  }
  return out;
}

/** 1 for the rows of `batch` in split `which`, 0 for the others. */
export function rowSplitMask(
  batch: RecordBatch,
  spec: SplitSpec | CompiledSplitSpec,
  firstRowIndex: number,
  which: Split,
): Uint8Array {
  const splits = assignSplits(batch, spec, firstRowIndex);
  for (let i = 0; i < splits.length; i++) splits[i] = splits[i] === which ? 1 : 0;
  return splits;
}

/** Rows per split over a whole version, for recording with the spec. */
export async function countSplits(batches: BatchSource, spec: SplitSpec): Promise<SplitCounts> {
  const c = compileSplitSpec(spec);
  const counts = new Float64Array(4);
  let rowIndex = 0;
  for await (const batch of batches()) {
    const splits = assignSplits(batch, c, rowIndex);
    for (let i = 0; i < splits.length; i++) counts[splits[i]]++;
    rowIndex += batch.numRows;
  }
  return create(SplitCountsSchema, {
    train: BigInt(counts[Split.TRAIN]),
    validation: BigInt(counts[Split.VALIDATION]),
    test: BigInt(counts[Split.TEST]),
  });
}
