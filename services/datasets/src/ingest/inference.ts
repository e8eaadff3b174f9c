import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import type { ColumnSpec } from "./columns.js";
import {
  CELL_JSON_FALSE,
  CELL_JSON_NUMBER,
  CELL_JSON_STRING,
  CELL_JSON_TRUE,
  CELL_NULL,
  IN_SCRATCH,
  type Row,
  type RowTarget,
} from "./rows.js";
import { INT_OK, parseBool, parseFloat64, parseInt64, parseTimestamp } from "./values.js";

/** Kinds of value seen in a column, as bits. */
export const KIND_INT = 1;
export const KIND_FLOAT = 2;
export const KIND_BOOL = 4;
export const KIND_TIMESTAMP = 8;
export const KIND_STRING = 16;

/**
 * The kind of one cell. The kinds are disjoint: text that parses as an int64 is INT,
 * other decimal numbers (and integers beyond int64) FLOAT, then bool, timestamp, string.
 * JSON keeps its own types: numbers are INT/FLOAT, true/false BOOL, strings TIMESTAMP
 * or STRING (a JSON "5" is a string).
 */
export function classify(tag: number, buf: Uint8Array, start: number, end: number): number {
  switch (tag & ~IN_SCRATCH) {
    case CELL_JSON_NUMBER:
      return parseInt64(buf, start, end) === INT_OK ? KIND_INT : KIND_FLOAT;
    case CELL_JSON_TRUE:
    case CELL_JSON_FALSE:
      return KIND_BOOL;
    case CELL_JSON_STRING:
      return Number.isNaN(parseTimestamp(buf, start, end)) ? KIND_STRING : KIND_TIMESTAMP;
    default:
      break;
  }
  const first = buf[start] as number;
  if ((first >= 48 && first <= 57) || first === 45 || first === 46) {
    if (parseInt64(buf, start, end) === INT_OK) return KIND_INT;
    if (!Number.isNaN(parseFloat64(buf, start, end))) return KIND_FLOAT;
    if (!Number.isNaN(parseTimestamp(buf, start, end))) return KIND_TIMESTAMP;
    return KIND_STRING;
  }
  return parseBool(buf, start, end) >= 0 ? KIND_BOOL : KIND_STRING;
}

/** The narrowest type holding every kind in `kinds`; string for none (all null) or a mix. */
export function resolveType(kinds: number): ColumnType {
  if (kinds === KIND_INT) return ColumnType.INT64;
  if (kinds !== 0 && (kinds & ~(KIND_INT | KIND_FLOAT)) === 0) return ColumnType.FLOAT64;
  if (kinds === KIND_BOOL) return ColumnType.BOOL;
  if (kinds === KIND_TIMESTAMP) return ColumnType.TIMESTAMP;
  return ColumnType.STRING;
}

/** Collects the kinds and nulls of every column; the schema follows from them. */
export class Inferrer implements RowTarget {
  readonly names: string[] = [];
  readonly kinds: number[] = [];
  readonly nulls: boolean[] = [];
  rows = 0;

  header(names: readonly string[]): void {
    for (const name of names) this.addColumn(name);
  }

  addColumn(name: string): boolean {
    this.names.push(name);
    this.kinds.push(0);
    // NDJSON: a key first seen after some rows was missing, i.e. null, in those rows.
    this.nulls.push(this.rows > 0);
    return true;
  }

  row(row: Row): boolean {
    const { tags, starts, ends } = row;
    for (let c = 0; c < row.count; c++) {
      const tag = tags[c] as number;
      if (tag === CELL_NULL) {
        this.nulls[c] = true;
        continue;
      }
      const buf = (tag & IN_SCRATCH) !== 0 ? row.scratch : row.main;
      (this.kinds[c] as number) |= classify(tag, buf, starts[c] as number, ends[c] as number);
    }
    this.rows++;
    return true;
  }

  /** A copy to continue from (the scan after a contradiction starts from the window's state). */
  clone(): Inferrer {
    const copy = new Inferrer();
    copy.names.push(...this.names);
    copy.kinds.push(...this.kinds);
    copy.nulls.push(...this.nulls);
    copy.rows = this.rows;
    return copy;
  }

  /** The inferred columns; `extraNulls[c]` marks columns known to hold nulls elsewhere. */
  columns(extraNulls: readonly boolean[] = []): ColumnSpec[] {
    return this.names.map((name, c) => ({
      name,
      type: resolveType(this.kinds[c] as number),
      nullable: (this.nulls[c] as boolean) || extraNulls[c] === true || this.kinds[c] === 0,
    }));
  }
}
