import { InvalidArgumentError } from "@seam/kit/errors";
import { type ArrowFileSummary, ArrowFileWriter, type BatchObserver, rewriteSchema } from "./arrow-writer.js";
import { BatchAssembler } from "./batch-assembler.js";
import type { ColumnSpec } from "./columns.js";
import { Converter } from "./converter.js";
import { CsvReader } from "./csv-reader.js";
import { Inferrer } from "./inference.js";
import { NdjsonReader } from "./ndjson-reader.js";
import type { RowTarget } from "./rows.js";

/** What a conversion produced. */
export interface ConvertResult extends ArrowFileSummary {
  readonly columns: readonly ColumnSpec[];
  readonly rowCount: number;
}

/** Options of {@link convertText}. */
export interface TextConvertOptions {
  readonly format: "csv" | "ndjson";
  /** CSV delimiter byte. */
  readonly delimiter: number;
  /** Schema to enforce; inferred when undefined. */
  readonly explicit: readonly ColumnSpec[] | undefined;
  readonly batchRows: number;
  /** Where the canonical stream goes (created or truncated). */
  readonly arrowPath: string;
  /** Reads the input again from the start; needed when inference has to fall back. */
  readonly replay: () => AsyncIterable<Uint8Array>;
  /** Bytes the schema is first inferred from (default 4 MiB). */
  readonly windowBytes?: number;
  /** Sees every stream written, including the restart of a second pass. */
  readonly observer?: BatchObserver;
}

const DEFAULT_WINDOW_BYTES = 4 << 20;

interface Reader {
  push(chunk: Uint8Array): void;
  end(): void;
}

const noFallback = (): RowTarget => {
  throw new Error("unexpected refusal");
};

function makeReader(
  options: TextConvertOptions,
  target: RowTarget,
  fallback: () => RowTarget,
  columns: readonly ColumnSpec[],
): CsvReader | NdjsonReader {
  return options.format === "csv"
    ? new CsvReader(options.delimiter, target, fallback)
    : new NdjsonReader(
        target,
        fallback,
        columns.map((c) => c.name),
      );
}

function checkHasData(reader: CsvReader | NdjsonReader, columns: number): void {
  if (reader instanceof CsvReader && !reader.hasHeader) {
    throw new InvalidArgumentError("the upload has no header row");
  }
  if (reader instanceof NdjsonReader && columns === 0) {
    throw new InvalidArgumentError("the upload has no JSON object with a key to infer columns from");
  }
}

/** One pass converting to a known schema; any value that does not fit is an error. */
async function strictPass(
  input: AsyncIterable<Uint8Array>,
  columns: readonly ColumnSpec[],
  options: TextConvertOptions,
): Promise<ConvertResult> {
  const writer = ArrowFileWriter.create(options.arrowPath, columns, options.observer);
  try {
    const assembler = new BatchAssembler(columns, writer, options.batchRows, (p) => `line ${p}`);
    const reader = makeReader(options, new Converter(assembler, true), noFallback, columns);
    for await (const chunk of input) {
      reader.push(chunk);
      await writer.drain();
    }
    reader.end();
    checkHasData(reader, columns.length);
    assembler.flush();
    return { columns, rowCount: assembler.rowCount, ...(await writer.finish()) };
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

/**
 * Infers the schema from the first window of the input, converts everything with it in
 * the same pass, and only when a later value contradicts it (a wider type, a new NDJSON
 * key, a value in a column that was all null) scans the rest for the final schema and
 * converts again from `replay()`. A late null only changes the schema message, which is
 * rewritten in front of the finished batches.
 */
async function inferredConvert(
  input: AsyncIterable<Uint8Array>,
  options: TextConvertOptions,
): Promise<ConvertResult> {
  const iterator = input[Symbol.asyncIterator]();
  try {
    return await speculate(iterator, options);
  } finally {
    // Lets the source (spool, size guard) close when we stop early on an error.
    await iterator.return?.();
  }
}

async function speculate(
  iterator: AsyncIterator<Uint8Array>,
  options: TextConvertOptions,
): Promise<ConvertResult> {
  const windowLimit = options.windowBytes ?? DEFAULT_WINDOW_BYTES;
  const window: Uint8Array[] = [];
  let windowBytes = 0;
  let done = false;
  const inferrer = new Inferrer();
  const probe = makeReader(options, inferrer, noFallback, []);
  const probeHasRows = (): boolean => (probe instanceof CsvReader ? probe.hasHeader : probe.rows > 0);
  while (windowBytes < windowLimit || !probeHasRows()) {
    const next = await iterator.next();
    if (next.done) {
      done = true;
      probe.end();
      break;
    }
    window.push(next.value);
    windowBytes += next.value.byteLength;
    probe.push(next.value);
  }
  checkHasData(probe, inferrer.names.length);

  const guess = inferrer.columns();
  const writer = ArrowFileWriter.create(options.arrowPath, guess, options.observer);
  try {
    const assembler = new BatchAssembler(guess, writer, options.batchRows, (p) => `line ${p}`);
    const converter = new Converter(
      assembler,
      false,
      inferrer.kinds.map((k) => k === 0),
    );
    let scanner: Inferrer | undefined;
    const reader: Reader = makeReader(
      options,
      converter,
      () => {
        scanner = inferrer.clone();
        return scanner;
      },
      guess,
    );
    const feed = async (chunk: Uint8Array): Promise<void> => {
      reader.push(chunk);
      if (scanner === undefined) await writer.drain();
    };
    for (const chunk of window.splice(0)) await feed(chunk);
    if (!done) {
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) await feed(next.value);
    }
    reader.end();
    if (scanner !== undefined) {
      await writer.abort();
      return await strictPass(options.replay(), scanner.columns(converter.lateNulls), options);
    }
    assembler.flush();
    let summary = await writer.finish();
    const columns = inferrer.columns(converter.lateNulls);
    if (columns.some((c, i) => c.nullable !== guess[i]?.nullable)) {
      summary = await rewriteSchema(options.arrowPath, writer.headerBytes, columns);
    }
    return { columns, rowCount: assembler.rowCount, ...summary };
  } catch (err) {
    await writer.abort();
    throw err;
  }
}

/**
 * Converts CSV or NDJSON to the canonical Arrow IPC stream at `options.arrowPath`,
 * enforcing `options.explicit` or inferring the schema (see {@link inferredConvert}).
 */
export function convertText(
  input: AsyncIterable<Uint8Array>,
  options: TextConvertOptions,
): Promise<ConvertResult> {
  return options.explicit ? strictPass(input, options.explicit, options) : inferredConvert(input, options);
}
