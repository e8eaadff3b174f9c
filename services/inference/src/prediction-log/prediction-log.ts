import type { MessageInitShape } from "@bufbuild/protobuf";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { createLogger, type Logger } from "@seam/kit/logging";
import { isResourceName } from "@seam/kit/naming";
import {
  ColumnType,
  type DatasetService,
  SourceFormat,
  type UploadDatasetVersionRequestSchema,
} from "@seam/proto/seam/datasets/v1/datasets_pb";

/**
 * One prediction as logged. `inputs` and `outputs` must be JSON-able (arrays of numbers,
 * strings, booleans): the caller converts its tensors, inside the thunk given to
 * {@link PredictionLog.offer}, so requests that are not sampled never pay for it.
 */
export interface PredictionRecord {
  /** When the prediction was made. */
  time: Date;
  requestId: string;
  /** The trace id of the request's span; empty when not traced. */
  traceId: string;
  modelName: string;
  modelVersion: number;
  /** How the prediction was asked for (e.g. the RPC or HTTP route). */
  route: string;
  inputs: Record<string, unknown>;
  outputs: Record<string, unknown>;
}

/** How a {@link PredictionLog} samples, buffers and writes. */
export interface PredictionLogOptions {
  /** Dataset the predictions go to (created when missing). */
  dataset: string;
  /** Share of offered predictions that are logged, 0 (none) to 1 (all). */
  sampleRate: number;
  /** Sampled records held at once (waiting or being uploaded); more are dropped and counted. */
  maxBufferedRecords: number;
  /** How often the buffer is written, in milliseconds. */
  flushIntervalMs: number;
  /** Most rows in one uploaded version; a full batch is also written before the interval ends. */
  maxRecordsPerFlush: number;
  /** Deadline of one upload (and of creating the dataset), in milliseconds; 30 s when absent. */
  uploadTimeoutMs?: number;
  /** Uniform numbers in [0, 1) for sampling; Math.random when absent (tests pass a seeded one). */
  random?: () => number;
  /** Where failed writes are reported; silent when absent. */
  logger?: Logger;
}

/**
 * Counters of a {@link PredictionLog}. Every sampled record ends up in exactly one of
 * `dropped`, `written` or `buffered`: `sampled === dropped + written + buffered`.
 */
export interface PredictionLogStats {
  /** Offers the sampling chose. */
  sampled: number;
  /**
   * Sampled records that will never be written: the buffer was full, the thunk threw,
   * the record could not be serialized, its upload failed, or it came after close().
   */
  dropped: number;
  /** Records in versions the dataset service accepted. */
  written: number;
  /** Uploads (or dataset creations before one) that failed. */
  failedFlushes: number;
  /** Sampled records not yet written nor dropped: waiting, or in the upload in flight. */
  buffered: number;
  /** Uploads the dataset service accepted, each one version (an existing one for identical content). */
  versions: number;
}

/** The columns of every version the log writes, in file order. */
export const PREDICTION_LOG_COLUMNS = [
  { name: "time", type: ColumnType.TIMESTAMP, nullable: false },
  { name: "request_id", type: ColumnType.STRING, nullable: false },
  { name: "trace_id", type: ColumnType.STRING, nullable: false },
  { name: "model_name", type: ColumnType.STRING, nullable: false },
  { name: "model_version", type: ColumnType.INT64, nullable: false },
  { name: "route", type: ColumnType.STRING, nullable: false },
  { name: "inputs", type: ColumnType.STRING, nullable: false },
  { name: "outputs", type: ColumnType.STRING, nullable: false },
] as const;

const DEFAULT_UPLOAD_TIMEOUT_MS = 30_000;
// Well under gRPC's default 4 MiB message limit, whatever the records weigh.
const CHUNK_BYTES = 256 * 1024;
const DERIVED_BY = "inference.PredictionLog";
const MAX_TIMER_MS = 2 ** 31 - 1;

type UploadRequest = MessageInitShape<typeof UploadDatasetVersionRequestSchema>;

/**
 * Appends a sample of predictions to a dataset of the dataset service, for monitoring and
 * retraining, without ever slowing or failing a prediction: {@link offer} only samples and
 * buffers (bounded; drops are counted), and a timer writes the buffer in the background.
 *
 * Versions are immutable, so appending means uploading a new NDJSON version per batch of
 * at most `maxRecordsPerFlush` rows, whose `parents` names the previous version this log
 * wrote: the chain of versions is the log. One upload is in flight at a time; a failed one
 * is logged and its records are dropped (not retried, so a dataset service outage cannot
 * pile work up), and the next batch is tried at the next interval.
 */
export class PredictionLog {
  readonly #datasets: Client<typeof DatasetService>;
  readonly #dataset: string;
  readonly #sampleRate: number;
  readonly #maxBuffered: number;
  readonly #maxPerFlush: number;
  readonly #uploadTimeoutMs: number;
  readonly #random: () => number;
  readonly #logger: Logger;
  readonly #timer: NodeJS.Timeout;

  #buffer: PredictionRecord[] = [];
  /** Records of the upload in flight (still counted as buffered). */
  #uploading = 0;
  /** The flush running now, if any; it never rejects. */
  #flushing: Promise<void> | undefined;
  #earlyFlushScheduled = false;
  /** Set by a failed upload, cleared by a successful one: no early flushes against a failing service. */
  #failing = false;
  /** Set once the buffer overflowed, so the warning is logged once per episode, not per drop. */
  #overflowing = false;
  #datasetReady = false;
  /** `dataset@id` of the last version this log wrote: the parent of the next. */
  #parent: string | undefined;
  #closed: Promise<void> | undefined;

  #sampled = 0;
  #dropped = 0;
  #written = 0;
  #failedFlushes = 0;
  #versions = 0;

  /** Starts the flush timer (unref'ed: it never keeps the process alive). Throws on invalid options. */
  constructor(datasets: Client<typeof DatasetService>, options: PredictionLogOptions) {
    checkOptions(options);
    this.#datasets = datasets;
    this.#dataset = options.dataset;
    this.#sampleRate = options.sampleRate;
    this.#maxBuffered = options.maxBufferedRecords;
    this.#maxPerFlush = options.maxRecordsPerFlush;
    this.#uploadTimeoutMs = options.uploadTimeoutMs ?? DEFAULT_UPLOAD_TIMEOUT_MS;
    this.#random = options.random ?? Math.random;
    this.#logger = options.logger ?? createLogger({ service: "inference", level: "silent" });
    this.#timer = setInterval(() => this.#tick(), options.flushIntervalMs);
    this.#timer.unref();
  }

  /**
   * Cheap and synchronous: decides sampling, then calls `record` and buffers the result,
   * or counts a drop when the buffer is full (without calling `record`). Never throws.
   */
  offer(record: () => PredictionRecord): void {
    let sampled = false;
    try {
      if (!this.#sample()) return;
      sampled = true;
      this.#sampled++;
      if (this.#closed !== undefined || this.#buffer.length + this.#uploading >= this.#maxBuffered) {
        this.#dropped++;
        if (this.#closed === undefined) this.#noteOverflow();
        return;
      }
      this.#buffer.push(record());
      this.#maybeFlushEarly();
    } catch (err) {
      // A throwing thunk (or random) is the caller's bug; the prediction goes on regardless.
      if (sampled) this.#dropped++;
      this.#logger.warn(
        { dataset: this.#dataset, error: errorName(err) },
        "building a prediction log record failed; it was dropped",
      );
    }
  }

  /** The counters now. */
  stats(): PredictionLogStats {
    return {
      sampled: this.#sampled,
      dropped: this.#dropped,
      written: this.#written,
      failedFlushes: this.#failedFlushes,
      buffered: this.#buffer.length + this.#uploading,
      versions: this.#versions,
    };
  }

  /**
   * Writes what is buffered now (tests, shutdown): after the flush in flight, if any, the
   * records buffered when this flush starts, in versions of at most `maxRecordsPerFlush`
   * rows. Stops at the first failed upload (those records are dropped; later ones wait for
   * the next flush). Never rejects.
   */
  async flush(): Promise<void> {
    // One flush at a time: each waiter re-checks after waking, so they queue up.
    while (this.#flushing !== undefined) await this.#flushing;
    const flushing = this.#drain(this.#buffer.length)
      .catch((err: unknown) => {
        // #write catches upload failures; this is a bug, but a timer flush must not reject.
        this.#logger.error({ dataset: this.#dataset, error: errorName(err) }, "prediction log flush failed");
      })
      .finally(() => {
        this.#flushing = undefined;
      });
    this.#flushing = flushing;
    await flushing;
  }

  /**
   * Stops the timer and flushes. Records offered from now on are dropped (counted), as are
   * those still buffered after the final flush (its upload failed). Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      clearInterval(this.#timer);
      await this.flush();
      this.#dropped += this.#buffer.length;
      this.#buffer = [];
    })();
    return this.#closed;
  }

  #sample(): boolean {
    if (this.#sampleRate >= 1) return true;
    if (this.#sampleRate <= 0) return false;
    return this.#random() < this.#sampleRate;
  }

  #noteOverflow(): void {
    if (this.#overflowing) return;
    this.#overflowing = true;
    this.#logger.warn(
      { dataset: this.#dataset, maxBufferedRecords: this.#maxBuffered },
      "prediction log buffer is full; sampled predictions are dropped until it drains",
    );
  }

  #tick(): void {
    // A slow upload spans ticks: skip rather than queue flushes behind it.
    if (this.#flushing === undefined && this.#buffer.length > 0) void this.flush();
  }

  /** Starts a flush soon when a full batch is waiting, rather than holding it until the tick. */
  #maybeFlushEarly(): void {
    if (
      this.#buffer.length < this.#maxPerFlush ||
      this.#flushing !== undefined ||
      this.#earlyFlushScheduled ||
      this.#failing
    )
      return;
    this.#earlyFlushScheduled = true;
    // Serializing and uploading happen after the prediction's own work, not inside offer().
    setImmediate(() => {
      this.#earlyFlushScheduled = false;
      if (this.#flushing === undefined && this.#closed === undefined) void this.flush();
    });
  }

  /** Writes up to `limit` buffered records, batch by batch; stops at the first failure. */
  async #drain(limit: number): Promise<void> {
    let left = limit;
    while (left > 0 && this.#buffer.length > 0) {
      const batch = this.#buffer.splice(0, Math.min(left, this.#maxPerFlush));
      left -= batch.length;
      this.#uploading = batch.length;
      let ok: boolean;
      try {
        ok = await this.#write(batch);
      } finally {
        this.#uploading = 0;
      }
      if (!ok) return;
    }
  }

  /** Uploads one batch as a version; false (records dropped, failure counted) when that fails. */
  async #write(batch: readonly PredictionRecord[]): Promise<boolean> {
    const lines: string[] = [];
    let invalid = 0;
    for (const record of batch) {
      const line = ndjsonLine(record);
      if (line === undefined) invalid++;
      else lines.push(line);
    }
    if (invalid > 0) {
      // One bad record must not sink the batch: it goes alone.
      this.#dropped += invalid;
      this.#logger.warn(
        { dataset: this.#dataset, records: invalid },
        "prediction log records that are not JSON-able or out of range were dropped",
      );
    }
    if (lines.length === 0) return true;
    try {
      await this.#ensureDataset();
      const response = await this.#datasets.uploadDatasetVersion(this.#requests(`${lines.join("\n")}\n`), {
        timeoutMs: this.#uploadTimeoutMs,
      });
      if (response.version === undefined) throw new Error("the dataset service returned no version");
      this.#parent = response.version.ref;
      this.#written += lines.length;
      this.#versions++;
      this.#failing = false;
      this.#overflowing = false;
      return true;
    } catch (err) {
      this.#dropped += lines.length;
      this.#failedFlushes++;
      this.#failing = true;
      const error = ConnectError.from(err);
      if (error.code === Code.NotFound) {
        // The dataset (so the parent version) was deleted: start a new chain next time.
        this.#parent = undefined;
        this.#datasetReady = false;
      }
      this.#logger.warn(
        {
          dataset: this.#dataset,
          records: lines.length,
          code: Code[error.code],
          // INVALID_ARGUMENT messages quote the offending value: never log payloads.
          ...(error.code === Code.InvalidArgument ? {} : { error: error.rawMessage }),
        },
        "writing sampled predictions to the dataset service failed; they were dropped",
      );
      return false;
    }
  }

  /** Creates the dataset once, with a description; another replica creating it first is fine. */
  async #ensureDataset(): Promise<void> {
    if (this.#datasetReady) return;
    try {
      await this.#datasets.createDataset(
        {
          name: this.#dataset,
          description: "Sampled predictions of the inference service, one version per flush.",
        },
        { timeoutMs: this.#uploadTimeoutMs },
      );
    } catch (err) {
      if (ConnectError.from(err).code !== Code.AlreadyExists) throw err;
    }
    this.#datasetReady = true;
  }

  async *#requests(ndjson: string): AsyncGenerator<UploadRequest> {
    yield {
      payload: {
        case: "metadata",
        value: {
          dataset: this.#dataset,
          // Also creates the dataset if it was deleted since #ensureDataset.
          createDataset: true,
          format: SourceFormat.NDJSON,
          schema: { columns: PREDICTION_LOG_COLUMNS.map((column) => ({ ...column })) },
          parents: this.#parent === undefined ? [] : [this.#parent],
          derivedBy: DERIVED_BY,
        },
      },
    };
    const bytes = Buffer.from(ndjson, "utf8");
    for (let at = 0; at < bytes.byteLength; at += CHUNK_BYTES) {
      yield { payload: { case: "chunk", value: bytes.subarray(at, at + CHUNK_BYTES) } };
    }
  }
}

/** The record as one NDJSON line of the log's columns; undefined when it cannot be one. */
function ndjsonLine(record: PredictionRecord): string | undefined {
  try {
    const { time } = record;
    // The dataset service reads four-digit years only.
    if (!(time instanceof Date) || !(time.getUTCFullYear() >= 1 && time.getUTCFullYear() <= 9999)) {
      return undefined;
    }
    if (!Number.isSafeInteger(record.modelVersion)) return undefined;
    const strings = [record.requestId, record.traceId, record.modelName, record.route];
    if (strings.some((s) => typeof s !== "string")) return undefined;
    const inputs: unknown = JSON.stringify(record.inputs);
    const outputs: unknown = JSON.stringify(record.outputs);
    // JSON.stringify(undefined) is undefined, which would become a null in a non-null column.
    if (typeof inputs !== "string" || typeof outputs !== "string") return undefined;
    return JSON.stringify({
      time: time.toISOString(),
      request_id: record.requestId,
      trace_id: record.traceId,
      model_name: record.modelName,
      model_version: record.modelVersion,
      route: record.route,
      inputs,
      outputs,
    });
  } catch {
    // BigInt, cycles, a throwing toJSON.
    return undefined;
  }
}

function checkOptions(options: PredictionLogOptions): void {
  if (!isResourceName(options.dataset)) {
    throw new RangeError(
      `prediction log dataset ${JSON.stringify(options.dataset)} is not a valid dataset name: use 1 to 128 letters, digits, "-", "_" or ".", starting with a letter or digit`,
    );
  }
  if (!(options.sampleRate >= 0 && options.sampleRate <= 1)) {
    throw new RangeError(`prediction log sampleRate must be between 0 and 1, got ${options.sampleRate}`);
  }
  const positive: Array<[string, number | undefined]> = [
    ["maxBufferedRecords", options.maxBufferedRecords],
    ["flushIntervalMs", options.flushIntervalMs],
    ["maxRecordsPerFlush", options.maxRecordsPerFlush],
    ["uploadTimeoutMs", options.uploadTimeoutMs],
  ];
  for (const [name, value] of positive) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value > 0)) {
      throw new RangeError(`prediction log ${name} must be a positive integer, got ${value}`);
    }
  }
  // Longer delays overflow Node's timers, which then fire at once.
  if (options.flushIntervalMs > MAX_TIMER_MS) {
    throw new RangeError(`prediction log flushIntervalMs must be at most ${MAX_TIMER_MS}`);
  }
}

/** What failed, without a message that could quote a payload. */
function errorName(err: unknown): string {
  return err instanceof Error ? err.name : typeof err;
}
