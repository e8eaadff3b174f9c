import { create } from "@bufbuild/protobuf";
import { FailedPreconditionError, InvalidArgumentError } from "@seam/kit/errors";
import {
  type Column,
  type Schema,
  SchemaSchema,
  Split,
  type SplitSpec,
} from "@seam/proto/seam/datasets/v1/datasets_pb";
import { type Schema as ArrowSchema, type Data, makeData, RecordBatch, Struct } from "apache-arrow";
import { toArrowSchema } from "../ingest/index.js";
import { type CompiledSplitSpec, compileSplitSpec, rowSplitMask } from "../splits/index.js";
import { type BatchSource, columnData } from "../stats/arrow-columns.js";
import { gatherColumn, type RowsOf } from "./gather.js";

/** Rows per output record batch when the caller does not say. */
export const DEFAULT_BATCH_ROWS = 65_536;

/** What to read from a stored version; field semantics follow ReadDatasetVersionRequest. */
export interface ReadOptions {
  /** Columns to return, in this order; all columns when empty or absent. */
  readonly columns?: readonly string[] | undefined;
  /**
   * Only rows of split `which`. `spec` is the version's recorded spec, undefined when it
   * has none (then any split but UNSPECIFIED is FAILED_PRECONDITION).
   */
  readonly split?: { readonly spec: SplitSpec | undefined; readonly which: Split } | undefined;
  /** Rows to skip after the split filter. */
  readonly offset?: number | undefined;
  /** Most rows to return after the split filter; 0 or absent means all. */
  readonly limit?: number | undefined;
  /** Rows per record batch; 0 or absent means 65536. */
  readonly batchRows?: number | undefined;
}

/** A validated read: projected columns, output Arrow schema, filter and window. */
export interface ReadPlan {
  readonly columns: readonly Column[];
  /** The projected columns as a proto Schema (what ReadDatasetRows returns). */
  readonly schema: Schema;
  readonly arrowSchema: ArrowSchema;
  readonly split: { readonly spec: CompiledSplitSpec; readonly which: Split } | undefined;
  readonly offset: number;
  /** Infinity when unlimited. */
  readonly limit: number;
  readonly batchRows: number;
}

function count(name: string, value: number | undefined): number {
  const v = value ?? 0;
  if (!Number.isSafeInteger(v) || v < 0)
    throw new InvalidArgumentError(`${name} must be a non-negative integer, got ${v}`);
  return v;
}

/**
 * Validates read options against the version's schema: unknown or repeated columns,
 * negative offset / limit / batch_rows and unknown splits are INVALID_ARGUMENT; a split
 * filter on a version without splits is FAILED_PRECONDITION.
 */
export function planRead(schema: Schema, options: ReadOptions): ReadPlan {
  const requested = options.columns ?? [];
  let columns: readonly Column[] = schema.columns;
  if (requested.length > 0) {
    const seen = new Set<string>();
    columns = requested.map((name) => {
      const column = schema.columns.find((c) => c.name === name);
      if (column === undefined) throw new InvalidArgumentError(`columns: no column named "${name}"`);
      if (seen.has(name)) throw new InvalidArgumentError(`columns: "${name}" is listed more than once`);
      seen.add(name);
      return column;
    });
  }
  let split: ReadPlan["split"];
  const which = options.split?.which ?? Split.UNSPECIFIED;
  if (!(which in Split)) throw new InvalidArgumentError(`split: unknown split ${which}`);
  if (which !== Split.UNSPECIFIED) {
    const spec = options.split?.spec;
    if (spec === undefined) {
      throw new FailedPreconditionError("the version has no splits; record one before reading a split");
    }
    split = { spec: compileSplitSpec(spec), which };
  }
  const limit = count("limit", options.limit);
  const batchRows = count("batch_rows", options.batchRows);
  // The same schema ingest writes, so a full read of a version returns its canonical schema.
  const arrowSchema = toArrowSchema(columns);
  return {
    columns,
    schema: create(SchemaSchema, { columns: [...columns] }),
    arrowSchema,
    split,
    offset: count("offset", options.offset),
    limit: limit === 0 ? Number.POSITIVE_INFINITY : limit,
    batchRows: batchRows === 0 ? DEFAULT_BATCH_ROWS : batchRows,
  };
}

function range(start: number, end: number): Int32Array {
  const rows = new Int32Array(end - start);
  for (let i = 0; i < rows.length; i++) rows[i] = start + i;
  return rows;
}

function indexesOf(mask: Uint8Array): Int32Array {
  let n = 0;
  for (let i = 0; i < mask.length; i++) n += mask[i];
  const rows = new Int32Array(n);
  for (let i = 0, k = 0; i < mask.length; i++) if (mask[i] === 1) rows[k++] = i;
  return rows;
}

interface Pending {
  /** Projected column data of one input batch, in plan order. */
  readonly data: readonly Data[];
  /** Rows of the input batch. */
  readonly length: number;
  /** The batch's rows still to return (increasing indexes). */
  rows: Int32Array;
}

/**
 * The plan's rows as record batches of exactly `batchRows` rows (the last may be shorter),
 * all with `plan.arrowSchema`: split filter, then offset, then limit, then rebatching.
 * Reads the source lazily and stops reading once the limit is reached; at most one output
 * batch plus the input batches it spans are held at a time.
 */
export async function* selectRows(source: BatchSource, plan: ReadPlan): AsyncGenerator<RecordBatch> {
  if (plan.columns.length === 0) return;
  let skip = plan.offset;
  let remaining = plan.limit;
  let rowIndex = 0;
  const pending: Pending[] = [];
  let pendingRows = 0;

  const take = (length: number): RecordBatch => {
    const head = pending[0] as Pending;
    const children =
      head.rows.length === length && head.rows.length === head.length
        ? passThrough(pending.shift() as Pending)
        : gather(length);
    pendingRows -= length;
    const struct = makeData({ type: new Struct(plan.arrowSchema.fields), length, nullCount: 0, children });
    return new RecordBatch(plan.arrowSchema, struct);
  };

  // A whole input batch that becomes one output batch is passed on as stored: the rows of
  // a batch are increasing indexes into it, so as many rows as it has are all of them.
  const passThrough = (batch: Pending): Data[] => [...batch.data];

  const gather = (length: number): Data[] => {
    const parts: RowsOf[][] = plan.columns.map(() => []);
    let need = length;
    while (need > 0) {
      const head = pending[0];
      const rows = head.rows.length <= need ? head.rows : head.rows.subarray(0, need);
      head.data.forEach((data, c) => {
        parts[c].push({ data, rows });
      });
      need -= rows.length;
      if (rows === head.rows) pending.shift();
      else head.rows = head.rows.subarray(rows.length);
    }
    return plan.columns.map((column, c) =>
      gatherColumn(column.type, plan.arrowSchema.fields[c].type, parts[c], length),
    );
  };

  for await (const batch of source()) {
    const first = rowIndex;
    const n = batch.numRows;
    rowIndex += n;
    // Whole batches inside the offset need no work when there is no filter.
    if (plan.split === undefined && skip >= n) {
      skip -= n;
      continue;
    }
    let rows =
      plan.split === undefined
        ? range(0, n)
        : indexesOf(rowSplitMask(batch, plan.split.spec, first, plan.split.which));
    const skipped = Math.min(skip, rows.length);
    rows = rows.subarray(skipped);
    skip -= skipped;
    if (rows.length > remaining) rows = rows.subarray(0, remaining);
    remaining -= rows.length;
    if (rows.length > 0) {
      pending.push({ data: plan.columns.map((c) => columnData(batch, c.name, c.type)), length: n, rows });
      pendingRows += rows.length;
    }
    while (pendingRows >= plan.batchRows) yield take(plan.batchRows);
    if (remaining === 0) break;
  }
  if (pendingRows > 0) yield take(pendingRows);
}
