/**
 * Ingest: uploads (CSV, NDJSON, Arrow IPC stream) → the canonical Arrow IPC stream whose
 * sha256 addresses a dataset version.
 *
 * Decisions (also pinned by the tests):
 * - CSV: an empty unquoted field is null, `""` is an empty string; fields are not trimmed;
 *   a blank line is a record with one null field (so a ragged row unless there is one
 *   column); a UTF-8 BOM is dropped; a header-only CSV is allowed: 0 rows, and without
 *   an explicit schema every column is a nullable string (the all-null rule).
 * - Inference per column, over every value: int64 ⊂ float64; bool; timestamp; anything
 *   else or a mix is string; all-null is a nullable string. An integer beyond int64 is a
 *   float (it is still a number); under an explicit int64 schema it is an error.
 * - NaN, Infinity and overflowing floats are not numbers: text "NaN" infers as string and
 *   is refused in a float64 column (and Arrow NaN/±Inf are refused), which keeps
 *   statistics and JSON reads well defined.
 * - Timestamps need a zone (`Z`, `±HH:MM`, `±HHMM`, `±HH`) or are a plain date (UTC
 *   midnight); fractions beyond milliseconds are truncated.
 * - NDJSON keeps JSON's types: `"5"` is a string, `5` an int64, `5.0` a float64. Under an
 *   explicit schema, strings of digits are also taken for int64/float64 ("true"/"false"
 *   for bool). Nested values are refused; blank lines are skipped.
 * - The schema is inferred from the first 4 MiB and the data converted in the same pass;
 *   a contradicting value later triggers a scan of the rest and one more pass from the
 *   spooled upload; a late null only rewrites the schema message.
 */
export { type ArrowConvertOptions, convertArrowStream } from "./arrow-source.js";
export { type ArrowFileSummary, ArrowFileWriter, type BatchObserver } from "./arrow-writer.js";
export { type ColumnSpec, explicitColumns, toArrowSchema, toProtoSchema } from "./columns.js";
export { type ConvertResult, convertText, type TextConvertOptions } from "./convert-text.js";
export {
  type CsvFileOptions,
  convertCsvFile,
  DEFAULT_BATCH_ROWS,
  delimiterByte,
  type IngestOptions,
  type IngestResult,
  ingest,
} from "./ingest.js";
