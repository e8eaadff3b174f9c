/**
 * The row handed from a format reader (CSV, NDJSON) to its target: per column a tag and
 * a byte span, so no value becomes a JS string unless it has to.
 */

/** No value: an empty unquoted CSV field, a JSON null or a missing key. */
export const CELL_NULL = 0;
/** Untyped text (CSV): a number, bool, timestamp or string according to its content. */
export const CELL_TEXT = 1;
/** A JSON string: a timestamp or a string. */
export const CELL_JSON_STRING = 2;
/** A JSON number (its source text). */
export const CELL_JSON_NUMBER = 3;
/** JSON true (span: the literal). */
export const CELL_JSON_TRUE = 4;
/** JSON false (span: the literal). */
export const CELL_JSON_FALSE = 5;
/** Flag on a tag: the span is in `Row.scratch` (unescaped text), not in `Row.main`. */
export const IN_SCRATCH = 8;

/** One record, reused from row to row. */
export class Row {
  main: Uint8Array = new Uint8Array(0);
  scratch: Uint8Array = new Uint8Array(1024);
  scratchUsed = 0;
  /** Physical line number where the record starts (1 = first line). */
  line = 0;
  /** Number of cells. */
  count = 0;
  tags = new Uint8Array(16);
  starts = new Int32Array(16);
  ends = new Int32Array(16);

  /** Makes room for `n` cells, keeping the existing ones. */
  ensure(n: number): void {
    if (n <= this.tags.length) return;
    const size = Math.max(n, this.tags.length * 2);
    const tags = new Uint8Array(size);
    tags.set(this.tags);
    const starts = new Int32Array(size);
    starts.set(this.starts);
    const ends = new Int32Array(size);
    ends.set(this.ends);
    this.tags = tags;
    this.starts = starts;
    this.ends = ends;
  }

  /** Reserves `n` bytes at the end of the scratch area and returns their offset. */
  reserveScratch(n: number): number {
    const at = this.scratchUsed;
    if (at + n > this.scratch.length) {
      const scratch = new Uint8Array(Math.max(at + n, this.scratch.length * 2));
      scratch.set(this.scratch.subarray(0, at));
      this.scratch = scratch;
    }
    return at;
  }

  /** The text of cell `c` as a string (for messages and the rare slow paths). */
  text(c: number): string {
    const buf = ((this.tags[c] as number) & IN_SCRATCH) !== 0 ? this.scratch : this.main;
    return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString(
      "utf8",
      this.starts[c] as number,
      this.ends[c] as number,
    );
  }
}

/** Where a reader sends rows: the schema inferrer or the converter. */
export interface RowTarget {
  /** CSV: the header's column names (already checked for empty and duplicate names). */
  header(names: readonly string[]): void;
  /**
   * A data row with one cell per column. False when the row contradicts a speculative
   * schema: the reader then switches to the target `contradiction()` returns and resends it.
   */
  row(row: Row): boolean;
  /** NDJSON: a key that is not a column yet. False when it contradicts a speculative schema. */
  addColumn(name: string, line: number): boolean;
}

/** Quotes a value for an error message, shortened when long. */
export function quote(text: string): string {
  return JSON.stringify(text.length > 60 ? `${text.slice(0, 57)}...` : text);
}
