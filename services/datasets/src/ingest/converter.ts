import { InvalidArgumentError } from "@seam/kit/errors";
import { ColumnType } from "@seam/proto/seam/datasets/v1/datasets_pb";
import type { BatchAssembler } from "./batch-assembler.js";
import type { ColumnBuilder } from "./column-builder.js";
import { type ColumnSpec, checkNamesMatch, typeName } from "./columns.js";
import {
  CELL_JSON_FALSE,
  CELL_JSON_NUMBER,
  CELL_JSON_STRING,
  CELL_JSON_TRUE,
  CELL_NULL,
  CELL_TEXT,
  IN_SCRATCH,
  quote,
  type Row,
  type RowTarget,
} from "./rows.js";
import {
  INT_OK,
  INT_OVERFLOW,
  parseBool,
  parsed,
  parseFloat64,
  parseInt64,
  parseTimestamp,
  setWords,
} from "./values.js";

/**
 * Converts rows of text cells into the record batches of a known schema.
 *
 * Strict mode (explicit or final schema): a value that does not parse, or a null in a
 * non-nullable column, is an InvalidArgumentError naming line and column. Speculative
 * mode (schema guessed from the first window): such a row makes `row()` return false and
 * the caller falls back; nulls in columns guessed non-nullable are only recorded
 * (`lateNulls`), as they change the schema message but no record batch.
 */
export class Converter implements RowTarget {
  /** Columns that got a null although the speculative schema says non-nullable. */
  readonly lateNulls: boolean[];
  private readonly builders: ColumnBuilder[];
  private readonly types: Int32Array;

  constructor(
    private readonly assembler: BatchAssembler,
    private readonly strict: boolean,
    /** Speculative only: columns guessed as string because the window held only nulls. */
    private readonly nullOnly: readonly boolean[] = [],
  ) {
    this.builders = assembler.builders;
    this.types = Int32Array.from(assembler.columns.map((c) => c.type));
    this.lateNulls = assembler.columns.map(() => false);
  }

  get columns(): readonly ColumnSpec[] {
    return this.assembler.columns;
  }

  header(names: readonly string[]): void {
    checkNamesMatch("line 1", names, this.assembler.columns);
  }

  addColumn(name: string, line: number): boolean {
    if (!this.strict) return false;
    throw new InvalidArgumentError(`line ${line}: unknown column "${name}"`);
  }

  row(row: Row): boolean {
    const { tags, starts, ends } = row;
    const builders = this.builders;
    const types = this.types;
    const strict = this.strict;
    for (let c = 0; c < types.length; c++) {
      const b = builders[c] as ColumnBuilder;
      const tag = tags[c] as number;
      if (tag === CELL_NULL) {
        if (!(this.assembler.columns[c] as ColumnSpec).nullable) {
          if (strict) throw this.error(row, c, "null in a non-nullable column");
          this.lateNulls[c] = true;
        }
        b.appendNull();
        continue;
      }
      const kind = tag & ~IN_SCRATCH;
      const buf = kind === tag ? row.main : row.scratch;
      const s = starts[c] as number;
      const e = ends[c] as number;
      switch (types[c]) {
        case ColumnType.INT64: {
          // Strict mode also takes a JSON string of digits (how int64 often travels in JSON).
          if (kind === CELL_TEXT || kind === CELL_JSON_NUMBER || (strict && kind === CELL_JSON_STRING)) {
            const status = parseInt64(buf, s, e);
            if (status === INT_OK) {
              b.appendWords(parsed.lo, parsed.hi);
              continue;
            }
            if (strict && status === INT_OVERFLOW)
              throw this.error(row, c, `${quote(row.text(c))} overflows int64`);
          }
          if (!strict) return false;
          throw this.notA(row, c);
        }
        case ColumnType.FLOAT64: {
          if (kind === CELL_TEXT || kind === CELL_JSON_NUMBER || (strict && kind === CELL_JSON_STRING)) {
            const value = parseFloat64(buf, s, e);
            if (!Number.isNaN(value)) {
              b.appendFloat(value);
              continue;
            }
          }
          if (!strict) return false;
          throw this.notA(row, c);
        }
        case ColumnType.BOOL: {
          if (kind === CELL_JSON_TRUE || kind === CELL_JSON_FALSE) {
            b.appendBool(kind === CELL_JSON_TRUE);
            continue;
          }
          if (kind === CELL_TEXT || (strict && kind === CELL_JSON_STRING)) {
            const value = parseBool(buf, s, e);
            if (value >= 0) {
              b.appendBool(value === 1);
              continue;
            }
          }
          if (!strict) return false;
          throw this.notA(row, c);
        }
        case ColumnType.TIMESTAMP: {
          if (kind === CELL_TEXT || kind === CELL_JSON_STRING) {
            const ms = parseTimestamp(buf, s, e);
            if (!Number.isNaN(ms)) {
              setWords(ms);
              b.appendWords(parsed.lo, parsed.hi);
              continue;
            }
          }
          if (!strict) return false;
          throw this.notA(row, c);
        }
        default: {
          // A column guessed from nulls alone must stay all-null, or its type is unknown.
          if (!strict && this.nullOnly[c] === true) return false;
          b.appendBytes(buf, s, e);
        }
      }
    }
    this.assembler.endRow(row.line);
    return true;
  }

  private notA(row: Row, c: number): InvalidArgumentError {
    const type = (this.assembler.columns[c] as ColumnSpec).type;
    const article = type === ColumnType.INT64 ? "an" : "a";
    return this.error(row, c, `${quote(row.text(c))} is not ${article} ${typeName(type)}`);
  }

  private error(row: Row, c: number, problem: string): InvalidArgumentError {
    const name = (this.assembler.columns[c] as ColumnSpec).name;
    return new InvalidArgumentError(`line ${row.line}, column "${name}": ${problem}`);
  }
}
