import { randomUUID } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { InvalidArgumentError } from "@seam/kit/errors";
import { type Schema, SourceFormat } from "@seam/proto/seam/datasets/v1/datasets_pb";
import { convertArrowStream } from "./arrow-source.js";
import type { BatchObserver } from "./arrow-writer.js";
import { explicitColumns, toProtoSchema } from "./columns.js";
import { type ConvertResult, convertText } from "./convert-text.js";
import { guardSource, Spool, stripBom } from "./source.js";

/** Default rows per record batch of the canonical stream. */
export const DEFAULT_BATCH_ROWS = 65536;
const MAX_BATCH_ROWS = 1 << 24;

/** How to ingest one upload. */
export interface IngestOptions {
  /** Format of the chunks. */
  readonly format: SourceFormat;
  /** CSV field delimiter: one ASCII character, not a quote or line break; "," by default. */
  readonly delimiter?: string;
  /** Explicit schema to enforce; inferred when absent or without columns. */
  readonly schema?: Schema;
  /** Uploads larger than this are refused with ResourceExhaustedError. */
  readonly maxSourceBytes: number;
  /** Directory for the spool and the output (created when missing). */
  readonly tmpDir: string;
  /** Aborting rejects with the signal's reason and removes the temp files. */
  readonly signal?: AbortSignal;
  /** Rows per record batch of the canonical stream; part of the content address. */
  readonly batchRows?: number;
  /**
   * Sees the canonical stream as it is written (CSV and NDJSON; not called for Arrow IPC
   * uploads), starting over when inference runs a second pass; its `ready()` is awaited
   * between input chunks.
   */
  readonly observer?: BatchObserver;
}

/** A finished ingest: the canonical stream in a temp file and what describes it. */
export interface IngestResult {
  /** The canonical Arrow IPC stream; the caller moves it into the BlobStore. */
  readonly arrowPath: string;
  /** Hex sha256 of the Arrow file. */
  readonly sha256: string;
  /**
   * Whether `sha256` was checked against the file's bytes read back, as the statistics
   * observer does (see BatchObserver.digest): the blob store can then take it as the file's
   * digest instead of hashing the file again.
   */
  readonly fileChecked: boolean;
  /** Size of the Arrow file in bytes. */
  readonly byteSize: number;
  readonly rowCount: number;
  /** The final schema. */
  readonly schema: Schema;
  /** Bytes uploaded. */
  readonly sourceBytes: number;
  /** Removes the temp file (no-op once it was moved away). */
  cleanup(): Promise<void>;
}

/** The delimiter byte, after checking the option. */
export function delimiterByte(delimiter: string | undefined): number {
  if (delimiter === undefined || delimiter === "") return 44;
  const code = delimiter.charCodeAt(0);
  if (delimiter.length !== 1 || code > 127 || code === 34 || code === 10 || code === 13) {
    throw new InvalidArgumentError(
      `delimiter ${JSON.stringify(delimiter)}: must be one ASCII character other than a quote or line break`,
    );
  }
  return code;
}

function checkBatchRows(batchRows: number | undefined): number {
  const rows = batchRows ?? DEFAULT_BATCH_ROWS;
  if (!Number.isInteger(rows) || rows < 1 || rows > MAX_BATCH_ROWS) {
    throw new InvalidArgumentError(`batchRows must be an integer from 1 to ${MAX_BATCH_ROWS}`);
  }
  return rows;
}

/**
 * Converts an upload (CSV, NDJSON or Arrow IPC stream) into the canonical Arrow IPC
 * stream, whose sha256 is the version's content address: the same data gives the same
 * bytes whatever the format it came in and however it was chunked.
 *
 * Rejects with InvalidArgumentError naming line (or row) and column for malformed input,
 * ResourceExhaustedError beyond `maxSourceBytes`, the signal's reason on abort; on any
 * failure every temp file is removed. On success only `arrowPath` remains, until `cleanup()`.
 */
export async function ingest(
  chunks: AsyncIterable<Uint8Array>,
  options: IngestOptions,
): Promise<IngestResult> {
  const { format, signal, tmpDir } = options;
  if (format !== SourceFormat.CSV && format !== SourceFormat.NDJSON && format !== SourceFormat.ARROW_IPC) {
    throw new InvalidArgumentError("format is required (CSV, NDJSON or ARROW_IPC)");
  }
  const delimiter = delimiterByte(options.delimiter);
  const batchRows = checkBatchRows(options.batchRows);
  const explicit = explicitColumns(options.schema);
  signal?.throwIfAborted();
  await mkdir(tmpDir, { recursive: true });
  const id = randomUUID();
  const arrowPath = join(tmpDir, `ingest-${id}.arrow`);
  const spoolPath = join(tmpDir, `ingest-${id}.spool`);
  let sourceBytes = 0;
  const input = guardSource(chunks, {
    maxBytes: options.maxSourceBytes,
    signal,
    refuseEmpty: true,
    onBytes: (n) => {
      sourceBytes = n;
    },
  });
  let spool: Spool | undefined;
  try {
    let result: ConvertResult;
    if (format === SourceFormat.ARROW_IPC) {
      result = await convertArrowStream(input, { explicit, batchRows, arrowPath, signal });
    } else {
      // Only inference can need a second pass, so only then is the upload spooled.
      const tee = explicit ? undefined : new Spool(spoolPath);
      spool = tee;
      result = await convertText(stripBom(tee ? tee.tee(input) : input), {
        format: format === SourceFormat.CSV ? "csv" : "ndjson",
        delimiter,
        explicit,
        batchRows,
        arrowPath,
        ...(options.observer === undefined ? {} : { observer: options.observer }),
        replay: () => {
          if (tee === undefined) throw new Error("no spool to replay");
          return stripBom(guardSource(tee.replay(), { signal }));
        },
      });
    }
    await spool?.close();
    await rm(spoolPath, { force: true });
    return {
      arrowPath,
      sha256: result.sha256,
      fileChecked: result.fileChecked,
      byteSize: result.byteSize,
      rowCount: result.rowCount,
      schema: toProtoSchema(result.columns),
      sourceBytes,
      cleanup: () => rm(arrowPath, { force: true }),
    };
  } catch (err) {
    await spool?.close();
    await Promise.all([rm(arrowPath, { force: true }), rm(spoolPath, { force: true })]);
    throw err;
  }
}

/** Options of {@link convertCsvFile}. */
export interface CsvFileOptions {
  readonly delimiter?: string;
  readonly schema?: Schema;
  readonly batchRows?: number;
}

/**
 * Parses a CSV file and writes the canonical Arrow IPC stream to `arrowPath`, in this
 * process, with the same code as {@link ingest} (the file itself serves as the spool).
 * The benchmark's baseline.
 */
export async function convertCsvFile(
  csvPath: string,
  arrowPath: string,
  options: CsvFileOptions = {},
): Promise<IngestResult> {
  const read = (): AsyncIterable<Uint8Array> =>
    stripBom(createReadStream(csvPath, { highWaterMark: 1 << 20 }));
  let sourceBytes = 0;
  const result = await convertText(
    stripBom(
      guardSource(createReadStream(csvPath, { highWaterMark: 1 << 20 }), {
        refuseEmpty: true,
        onBytes: (n) => {
          sourceBytes = n;
        },
      }),
    ),
    {
      format: "csv",
      delimiter: delimiterByte(options.delimiter),
      explicit: explicitColumns(options.schema),
      batchRows: checkBatchRows(options.batchRows),
      arrowPath,
      replay: read,
    },
  );
  return {
    arrowPath,
    sha256: result.sha256,
    fileChecked: result.fileChecked,
    byteSize: result.byteSize,
    rowCount: result.rowCount,
    schema: toProtoSchema(result.columns),
    sourceBytes,
    cleanup: () => rm(arrowPath, { force: true }),
  };
}
