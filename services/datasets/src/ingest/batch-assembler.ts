import { InvalidArgumentError } from "@seam/kit/errors";
import type { Field } from "apache-arrow";
import type { ArrowFileWriter } from "./arrow-writer.js";
import { ColumnBuilder } from "./column-builder.js";
import type { ColumnSpec } from "./columns.js";

/**
 * The columns of the record batch being filled, flushed to the writer every `batchRows`
 * rows, so batch boundaries depend on the row count only (deterministic output).
 */
export class BatchAssembler {
  readonly builders: ColumnBuilder[];
  /** Source position (line or row number) of each row of the batch, for error messages. */
  private readonly positions: Float64Array;
  private rowsInBatch = 0;
  rowCount = 0;

  constructor(
    readonly columns: readonly ColumnSpec[],
    private readonly writer: ArrowFileWriter,
    private readonly batchRows: number,
    /** Formats a source position: "line 12" or "row 12". */
    private readonly where: (position: number) => string,
  ) {
    this.builders = columns.map((c) => new ColumnBuilder(c.type, batchRows));
    this.positions = new Float64Array(batchRows);
  }

  /** Call after every column of a row got its value. */
  endRow(position: number): void {
    this.positions[this.rowsInBatch++] = position;
    this.rowCount++;
    if (this.rowsInBatch === this.batchRows) this.flush();
  }

  /** Rows that still fit in the current batch. */
  get room(): number {
    return this.batchRows - this.rowsInBatch;
  }

  /** Call after `count` rows (at most `room`) were appended to every column at once. */
  endRows(count: number, firstPosition: number): void {
    for (let k = 0; k < count; k++) this.positions[this.rowsInBatch++] = firstPosition + k;
    this.rowCount += count;
    if (this.rowsInBatch === this.batchRows) this.flush();
  }

  /** Writes the pending rows as one record batch. */
  flush(): void {
    if (this.rowsInBatch === 0) return;
    const fields = this.writer.schema.fields;
    for (let c = 0; c < this.builders.length; c++) {
      const bad = (this.builders[c] as ColumnBuilder).firstInvalidUtf8();
      if (bad >= 0) {
        const name = (this.columns[c] as ColumnSpec).name;
        throw new InvalidArgumentError(
          `${this.where(this.positions[bad] as number)}, column "${name}": not valid UTF-8`,
        );
      }
    }
    const children = this.builders.map((b, c) => b.toData((fields[c] as Field).type));
    this.writer.writeBatch(children, this.rowsInBatch);
    for (const b of this.builders) b.reset();
    this.rowsInBatch = 0;
  }
}
