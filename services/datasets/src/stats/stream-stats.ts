import { createHash, type Hash } from "node:crypto";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
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

/**
 * The protocol between {@link ConcurrentStats} (main thread) and the statistics worker;
 * {@link statsHandler} is the worker's side, also run in-process when there is no worker.
 *
 * - `open`: a new upload, with its options; whatever came before is forgotten (a worker
 *   serves one upload after another).
 * - `start`: a canonical stream starts (again): its schema (SchemaSchema binary) and IPC
 *   schema message; batches seen before are forgotten (inference ran a second pass).
 * - `batch`: one record batch message of that stream (usually transferred, not copied); the
 *   worker answers `ack` with its `bytes` once the batch is in the statistics (backpressure).
 * - `digest`: the stream ended with `trailer` (its end-of-stream marker); the worker answers
 *   `digest` with the hex sha256 of the schema message, every batch and the trailer: the
 *   file's content address, hashed on the worker instead of ingest's thread.
 * - `finish`: the stream is complete at `path`, with the final `schema`; the worker runs the
 *   histogram pass over the file and answers `result` (ColumnStats binaries, schema order).
 * - `error`: pass 1 or 2 failed; the worker ignores every later message.
 */
export type ToStatsWorker =
  | ({ readonly type: "open" } & StatsWorkerData)
  | { readonly type: "start"; readonly schema: Uint8Array; readonly schemaMessage: Uint8Array }
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

  constructor(private readonly options: StatsOptions) {}

  /** A stream starts: its schema and its IPC schema message. */
  start(schema: Schema, schemaMessage: Uint8Array): void {
    this.collector = new StatsCollector(schema, this.options);
    this.schema = schema;
    this.schemaMessage = schemaMessage;
    this.hash = createHash("sha256").update(schemaMessage);
  }

  /** Pass 1 over one record batch message of the stream (read in place, not copied). */
  add(message: Uint8Array): void {
    const collector = this.collector;
    if (collector === undefined || this.hash === undefined) {
      throw new Error("a record batch arrived before its stream started");
    }
    this.hash.update(message);
    for (const batch of RecordBatchReader.from([this.schemaMessage, message])) collector.add(batch);
  }

  /** The hex sha256 of the stream seen so far followed by `trailer`, which ends it. */
  digest(trailer: Uint8Array): string {
    const hash = this.hash;
    if (hash === undefined) throw new Error("the stream's digest was asked before it started");
    this.hash = undefined;
    return hash.update(trailer).digest("hex");
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
          stats.start(fromBinary(SchemaSchema, message.schema), message.schemaMessage);
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
