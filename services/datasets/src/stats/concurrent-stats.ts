import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { DataLossError } from "@seam/kit/errors";
import {
  type ColumnStats,
  ColumnStatsSchema,
  type Schema,
  SchemaSchema,
} from "@seam/proto/seam/datasets/v1/datasets_pb";
import type { StatsOptions } from "./compute-stats.js";
import {
  type FromStatsWorker,
  type StatsWorkerData,
  statsHandler,
  type ToStatsWorker,
} from "./stream-stats.js";
import { statsWorkerPool } from "./worker-pool.js";

/** Default bound of the batch bytes posted to the worker and not yet in its statistics. */
export const DEFAULT_MAX_IN_FLIGHT_BYTES = 64 << 20;

/** The compiled worker entry next to this module; absent when running from src/ (tests). */
const BUILT_WORKER = new URL("./stats-worker.js", import.meta.url);

/**
 * Starts one statistics worker ahead of the first upload, so that it does not wait for
 * one (a no-op where there is no compiled worker entry, as under vitest).
 */
export function prestartStatsWorker(): void {
  if (existsSync(fileURLToPath(BUILT_WORKER))) statsWorkerPool(BUILT_WORKER).prestart(1);
}

/** Options of {@link ConcurrentStats.start}. */
export interface ConcurrentStatsOptions extends StatsOptions {
  /** Ingest waits while more than this many bytes are posted and not yet processed. */
  readonly maxInFlightBytes?: number;
  /**
   * The worker entry; by default the compiled stats-worker.js next to this module.
   * `"in-process"`, or a default entry that does not exist (running from TypeScript
   * sources, as under vitest), runs the same handler on the calling thread instead.
   */
  readonly worker?: URL | "in-process";
}

/** Where the messages go: a worker thread or the handler in this thread. */
interface Backend {
  post(message: ToStatsWorker, transfer?: ArrayBuffer[]): void;
  /** Done with it: `clean` when nothing is in flight, so a worker can serve the next upload. */
  release(clean: boolean): Promise<void>;
}

/**
 * `promise`, with a no-op handler attached: `close()` rejects whatever still waits, and a
 * caller that stopped listening (its own code failed first) must not crash the process
 * with an unhandled rejection. Whoever awaits it still gets the rejection.
 */
function quietWhenOrphaned<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => {});
  return promise;
}

class StatsWorkerFailed extends Error {
  override readonly name = "StatsWorkerFailed";
}

/**
 * Computes the statistics of a canonical stream while ingest writes it: an ingest
 * `observer` (start / batch / ready / digest) that moves each record batch message, once
 * written, to a worker thread running pass 1 and hashing the stream (the content address
 * ingest returns); `finish(path)` runs the histogram
 * pass there over the finished file and returns the ColumnStats, identical to
 * computeStats over that file. Ingest waits (`ready`) while more than `maxInFlightBytes`
 * are posted and not yet processed, so memory stays bounded when the worker lags.
 *
 * A worker failure fails the next `ready` and `finish` (plain Error: INTERNAL; DataLossError
 * when the file did not hold the bytes written to it). `close()`
 * is done with the worker; call it on every path (it is idempotent). Workers come from a
 * per-process pool: one whose upload finished cleanly serves the next upload.
 */
export class ConcurrentStats {
  private inFlight = 0;
  private failure: Error | undefined;
  private waiter: { resolve: () => void; reject: (err: Error) => void } | undefined;
  private result: { resolve: (stats: ColumnStats[]) => void; reject: (err: Error) => void } | undefined;
  private digestWaiter: { resolve: (sha256: string) => void; reject: (err: Error) => void } | undefined;
  private closed: Promise<void> | undefined;
  /** Whether `finish` was sent, and whether its result came back. */
  private finishPosted = false;
  private finished = false;
  private readonly backend: Backend;

  /** The worker thread's id (undefined in-process): a pooled worker serves upload after upload. */
  threadId: number | undefined;

  /** Whether a worker thread (not the in-process fallback) does the work. */
  readonly threaded: boolean;

  private constructor(
    options: ConcurrentStatsOptions,
    private readonly maxInFlight: number,
  ) {
    const data: StatsWorkerData = {
      histogramBins: options.histogramBins,
      ...(options.stringLimits === undefined ? {} : { stringLimits: options.stringLimits }),
    };
    const url =
      options.worker === "in-process"
        ? undefined
        : (options.worker ?? (existsSync(fileURLToPath(BUILT_WORKER)) ? BUILT_WORKER : undefined));
    this.threaded = url !== undefined;
    this.backend = url === undefined ? this.inProcess(data) : this.thread(url, data);
  }

  /** Starts the worker (or the in-process fallback). */
  static start(options: ConcurrentStatsOptions): ConcurrentStats {
    const max = options.maxInFlightBytes ?? DEFAULT_MAX_IN_FLIGHT_BYTES;
    if (!Number.isInteger(max) || max < 1) throw new Error("maxInFlightBytes must be a positive integer");
    return new ConcurrentStats(options, max);
  }

  private thread(url: URL, data: StatsWorkerData): Backend {
    const pool = statsWorkerPool(url);
    const worker = pool.take();
    this.threadId = worker.threadId;
    const onMessage = (message: FromStatsWorker) => this.receive(message);
    const onError = (err: Error) =>
      this.fail(new StatsWorkerFailed(`statistics worker crashed: ${err.message}`));
    const onExit = (code: number) => {
      if (this.closed === undefined)
        this.fail(new StatsWorkerFailed(`statistics worker exited with code ${code}`));
    };
    worker.on("message", onMessage).on("error", onError).on("exit", onExit);
    worker.postMessage({ type: "open", ...data } satisfies ToStatsWorker);
    return {
      post: (message, transfer) => worker.postMessage(message, transfer),
      release: (clean) => {
        worker.off("message", onMessage).off("error", onError).off("exit", onExit);
        return pool.give(worker, clean);
      },
    };
  }

  /** The same handler on this thread; replies are delivered asynchronously, as a worker's. */
  private inProcess(data: StatsWorkerData): Backend {
    const handle = statsHandler((message) => queueMicrotask(() => this.receive(message)));
    handle({ type: "open", ...data });
    return { post: (message) => handle(message), release: async () => {} };
  }

  private receive(message: FromStatsWorker): void {
    switch (message.type) {
      case "ack":
        this.inFlight -= message.bytes;
        if (this.waiter !== undefined && this.inFlight <= this.maxInFlight) {
          const { resolve } = this.waiter;
          this.waiter = undefined;
          resolve();
        }
        return;
      case "digest": {
        const waiter = this.digestWaiter;
        this.digestWaiter = undefined;
        waiter?.resolve(message.sha256);
        return;
      }
      case "result": {
        const result = this.result;
        this.result = undefined;
        this.finished = true;
        result?.resolve(message.stats.map((bytes) => fromBinary(ColumnStatsSchema, bytes)));
        return;
      }
      case "error": {
        // The file not holding the bytes written to it is data loss; anything else is ours.
        const err =
          message.name === "DataLossError"
            ? new DataLossError(message.message)
            : new StatsWorkerFailed(`computing statistics failed: ${message.name}: ${message.message}`);
        if (message.stack !== undefined) err.stack = `${err.name}: ${err.message}\n[worker] ${message.stack}`;
        this.fail(err);
        return;
      }
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const { waiter, result, digestWaiter } = this;
    this.waiter = undefined;
    this.result = undefined;
    this.digestWaiter = undefined;
    waiter?.reject(this.failure);
    result?.reject(this.failure);
    digestWaiter?.reject(this.failure);
  }

  /** Observer: a stream starts (again), written to `path`. */
  start(schema: Schema, schemaMessage: Uint8Array, path: string): void {
    if (this.failure !== undefined || this.closed !== undefined) return;
    this.backend.post({
      type: "start",
      schema: toBinary(SchemaSchema, schema),
      schemaMessage: Uint8Array.from(schemaMessage),
      path,
    });
  }

  /**
   * Observer: one record batch message, ours from now on. Its memory moves to the worker
   * when the message has it to itself (a batch's message does); a view into shared
   * memory (Node's small-Buffer pool) is copied instead.
   */
  batch(message: Uint8Array): void {
    // Failures surface in ready() and finish(): throwing here would be taken for bad input.
    if (this.failure !== undefined || this.closed !== undefined) return;
    const owned =
      message.byteOffset === 0 && message.byteLength === message.buffer.byteLength
        ? message
        : Uint8Array.from(message);
    this.inFlight += owned.byteLength;
    this.backend.post({ type: "batch", message: owned }, [owned.buffer as ArrayBuffer]);
  }

  /** Observer: resolves once the worker has caught up below the in-flight bound. */
  ready(): Promise<void> | undefined {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.inFlight <= this.maxInFlight) return undefined;
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /**
   * Observer: the stream ended with `trailer` and its file is closed; resolves to the hex
   * sha256 of every byte of it (schema message, batches, trailer), computed by the worker as
   * the batches went by, so ingest's thread does not hash, once the worker found the file to
   * hold exactly those bytes (DataLossError otherwise): the file's own digest. Rejects when
   * the worker failed or was closed: a batch it missed would make the digest wrong.
   */
  digest(trailer: Uint8Array): Promise<string> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closed !== undefined) return Promise.reject(new Error("the statistics worker was closed"));
    if (this.digestWaiter !== undefined) return Promise.reject(new Error("digest() was called twice"));
    return quietWhenOrphaned(
      new Promise<string>((resolve, reject) => {
        this.digestWaiter = { resolve, reject };
        this.backend.post({ type: "digest", trailer: Uint8Array.from(trailer) });
      }),
    );
  }

  /**
   * The statistics of the finished stream at `path` (whose final schema is `schema`):
   * the worker runs the histogram pass over the file. Rejects with the worker's failure,
   * or the signal's reason on abort.
   */
  finish(path: string, schema: Schema, signal?: AbortSignal): Promise<ColumnStats[]> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closed !== undefined) return Promise.reject(new Error("the statistics worker was closed"));
    if (this.result !== undefined) return Promise.reject(new Error("finish() was called twice"));
    signal?.throwIfAborted();
    return quietWhenOrphaned(
      new Promise<ColumnStats[]>((resolve, reject) => {
        const onAbort = () => {
          this.result = undefined;
          reject(signal?.reason);
        };
        signal?.addEventListener("abort", onAbort, { once: true });
        this.result = {
          resolve: (stats) => {
            signal?.removeEventListener("abort", onAbort);
            resolve(stats);
          },
          reject: (err) => {
            signal?.removeEventListener("abort", onAbort);
            reject(err);
          },
        };
        this.finishPosted = true;
        this.backend.post({ type: "finish", path, schema: toBinary(SchemaSchema, schema) });
      }),
    );
  }

  /**
   * Done with the worker, and fails whatever still waits; safe to call more than once.
   * When the worker has nothing in flight and nothing failed (its result delivered, or no
   * finish asked and every batch acknowledged, as when an upload turns out to be a copy
   * of a stored version) it goes back to the pool for the next upload; otherwise it is
   * terminated.
   */
  close(): Promise<void> {
    if (this.closed === undefined) {
      const idle =
        (this.finished || (!this.finishPosted && this.inFlight === 0)) && this.digestWaiter === undefined;
      const clean = idle && this.failure === undefined;
      this.closed = this.backend.release(clean);
      this.fail(new StatsWorkerFailed("the statistics worker was closed"));
    }
    return this.closed;
  }
}
