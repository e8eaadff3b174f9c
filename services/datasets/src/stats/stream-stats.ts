import { createHash, type Hash } from "node:crypto";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { DataLossError } from "@seam/kit/errors";
import {
  type ColumnStats,
  ColumnStatsSchema,
  type Schema,
  SchemaSchema,
} from "@seam/proto/seam/datasets/v1/datasets_pb";
import { RecordBatchReader } from "apache-arrow";
import { openArrowFile } from "./arrow-file.js";
import { computeStats, StatsCollector, type StatsOptions } from "./compute-stats.js";
import { UnsupportedLayout } from "./numeric-columns-file.js";
import { WrittenFileCheck } from "./written-file-check.js";

/**
 * The protocol between {@link ConcurrentStats} (main thread) and the statistics worker;
 * {@link statsHandler} is the worker's side, also run in-process when there is no worker.
 *
 * - `open`: a new upload, with its options; whatever came before is forgotten (a worker
 *   serves one upload after another).
 * - `start`: a canonical stream starts (again): its schema (SchemaSchema binary), IPC
 *   schema message and the file it is written to; batches seen before are forgotten
 *   (inference ran a second pass).
 * - `batch`: one record batch message of that stream, once the file has it (usually
 *   transferred, not copied); the worker compares the file's bytes with it, and answers
 *   `ack` with its `bytes` once the batch is in the statistics (backpressure).
 * - `digest`: the stream ended with `trailer` (its end-of-stream marker) and the file is
 *   closed; the worker answers `digest` with the hex sha256 of the schema message, every
 *   batch and the trailer, once the file proved to hold exactly those bytes: the file's
 *   content address, hashed on the worker instead of ingest's thread.
 * - `finish`: the stream is complete at `path`, with the final `schema`; the worker runs the
 *   histogram pass over the file and answers `result` (ColumnStats binaries, schema order).
 * - `error`: pass 1 or 2 failed; the worker ignores every later message.
 */
export type ToStatsWorker =
  | ({ readonly type: "open" } & StatsWorkerData)
  | {
      readonly type: "start";
      readonly schema: Uint8Array;
      readonly schemaMessage: Uint8Array;
      readonly path: string;
    }
  | { readonly type: "batch"; readonly message: Uint8Array }
  | { readonly type: "digest"; readonly trailer: Uint8Array }
  | { readonly type: "finish"; readonly path: string; readonly schema: Uint8Array };

export type FromStatsWorker =
  | { readonly type: "ack"; readonly bytes: number }
  | { readonly type: "result"; readonly stats: Uint8Array[] }
  | { readonly type: "digest"; readonly sha256: string }
  | { readonly type: "error"; readonly name: string; readonly message: string; readonly stack?: string };

/** The options of one upload's statistics. */
export interface StatsWorkerData {
  readonly histogramBins: number;
  readonly stringLimits?: StatsOptions["stringLimits"];
}

/** Same column names and types, in the same order (nullability may differ: a late null). */
function sameColumns(a: Schema, b: Schema): boolean {
  return (
    a.columns.length === b.columns.length &&
    a.columns.every((c, i) => c.name === b.columns[i]?.name && c.type === b.columns[i]?.type)
  );
}

/**
 * Statistics of a canonical stream seen batch by batch as it is written: pass 1 as the
 * batches arrive, pass 2 (histograms, needing pass 1's min / max) over the finished file.
 * Gives exactly what {@link computeStats} gives over that file: same collector, same
 * batches in the same order. When no stream or another schema was seen (an Arrow IPC
 * upload is not observed), both passes run over the file.
 */
export class StreamStats {
  private collector: StatsCollector | undefined;
  private schema: Schema | undefined;
  private schemaMessage: Uint8Array = new Uint8Array(0);
  /** sha256 of the stream's bytes so far: schema message, then each batch message. */
  private hash: Hash | undefined;
  /** Compares the file with the stream; the schema message once the first batch is written. */
  private fileCheck: WrittenFileCheck | undefined;
  private headerChecked = false;
  /**
   * What the file check found wrong, told at `digest`: a stream that inference abandons
   * for a second pass finds its file truncated and rewritten under its late batches, and
   * must not fail the upload (the next `start` forgets it).
   */
  private fileProblem: Error | undefined;

  constructor(private readonly options: StatsOptions) {}

  /** A stream starts: its schema, its IPC schema message and the file it is written to. */
  start(schema: Schema, schemaMessage: Uint8Array, path: string): void {
    this.collector = new StatsCollector(schema, this.options);
    this.schema = schema;
    this.schemaMessage = schemaMessage;
    this.hash = createHash("sha256").update(schemaMessage);
    this.fileCheck = new WrittenFileCheck(path);
    this.headerChecked = false;
    this.fileProblem = undefined;
  }

  /**
   * Pass 1 over one record batch message of the stream (read in place, not copied), which
   * the file must already hold (checked; a difference fails the `digest`).
   */
  add(message: Uint8Array): void {
    const { collector, hash } = this;
    if (collector === undefined || hash === undefined) {
      throw new Error("a record batch arrived before its stream started");
    }
    this.checkFile(message);
    hash.update(message);
    for (const batch of RecordBatchReader.from([this.schemaMessage, message])) collector.add(batch);
  }

  /**
   * The hex sha256 of the stream seen so far followed by `trailer`, which ends it, once the
   * closed file proved to hold exactly these bytes: the file's own digest.
   */
  digest(trailer: Uint8Array): string {
    const { hash } = this;
    if (hash === undefined || this.fileCheck === undefined) {
      throw new Error("the stream's digest was asked before it started");
    }
    this.checkFile(trailer);
    this.checkFile("end");
    this.hash = undefined;
    this.fileCheck = undefined;
    if (this.fileProblem !== undefined) throw this.fileProblem;
    return hash.update(trailer).digest("hex");
  }

  /** Compares the file with the next bytes of the stream, or at "end" its length; notes a problem. */
  private checkFile(next: Uint8Array | "end"): void {
    const { fileCheck } = this;
    if (fileCheck === undefined || this.fileProblem !== undefined) return;
    try {
      // The schema message was written before any batch, but maybe not yet at start.
      if (!this.headerChecked) fileCheck.expect(this.schemaMessage);
      this.headerChecked = true;
      if (next === "end") fileCheck.end();
      else fileCheck.expect(next);
    } catch (err) {
      this.fileProblem =
        err instanceof DataLossError
          ? err
          : new DataLossError(`reading back the stream's file failed: ${(err as Error).message}`);
    }
  }

  /** Pass 2 over the finished stream file, then the statistics in schema order. */
  async finish(path: string, schema: Schema): Promise<ColumnStats[]> {
    const { collector } = this;
    const batches = openArrowFile(path);
    if (collector === undefined || this.schema === undefined || !sameColumns(this.schema, schema)) {
      return computeStats(batches, schema, this.options);
    }
    if (collector.needsHistogram) {
      try {
        // Only the numeric columns' bytes: most of a file is strings.
        await collector.addFileToHistogram(path);
      } catch (err) {
        if (!(err instanceof UnsupportedLayout)) throw err;
        for await (const batch of batches()) collector.addToHistogram(batch);
      }
    }
    return collector.result();
  }
}

/**
 * The worker's message handler: `reply` posts back (transferring nothing). Each upload
 * begins with `open`; a failure makes it ignore everything until the next `open`.
 */
export function statsHandler(reply: (message: FromStatsWorker) => void): (message: ToStatsWorker) => void {
  let stats: StreamStats | undefined;
  let failed = false;
  const fail = (err: unknown): void => {
    failed = true;
    const e = err instanceof Error ? err : new Error(String(err));
    reply({
      type: "error",
      name: e.name,
      message: e.message,
      ...(e.stack === undefined ? {} : { stack: e.stack }),
    });
  };
  return (message) => {
    if (message.type === "open") {
      stats = new StreamStats({
        histogramBins: message.histogramBins,
        ...(message.stringLimits === undefined ? {} : { stringLimits: message.stringLimits }),
      });
      failed = false;
      return;
    }
    if (failed) return;
    try {
      if (stats === undefined) throw new Error(`a ${message.type} message came before open`);
      switch (message.type) {
        case "start":
          stats.start(fromBinary(SchemaSchema, message.schema), message.schemaMessage, message.path);
          return;
        case "batch":
          stats.add(message.message);
          reply({ type: "ack", bytes: message.message.byteLength });
          return;
        case "digest":
          reply({ type: "digest", sha256: stats.digest(message.trailer) });
          return;
        case "finish":
          stats
            .finish(message.path, fromBinary(SchemaSchema, message.schema))
            .then(
              (result) => reply({ type: "result", stats: result.map((s) => toBinary(ColumnStatsSchema, s)) }),
              fail,
            );
          return;
      }
    } catch (err) {
      fail(err);
    }
  };
}
