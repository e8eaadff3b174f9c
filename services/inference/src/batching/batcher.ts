import { Code, ConnectError } from "@connectrpc/connect";
import { InvalidArgumentError, ResourceExhaustedError } from "@seam/kit/errors";
import { isCallOver } from "@seam/kit/hosting";
import type { TensorData } from "../tensors/tensor-data.js";
import { concatRows, sliceRows } from "./rows.js";

/** Runs a model once on inputs in its input order; returns every output in its output order. */
export type RunModel = (inputs: readonly TensorData[]) => Promise<TensorData[]>;

/** How a model version's requests are queued and grouped. */
export interface BatchingOptions {
  /** When false, every request runs alone as soon as a run slot is free. */
  readonly enabled: boolean;
  /** Most rows in one batch; a single larger request still runs, alone. */
  readonly maxBatchRows: number;
  /** How long the first request of a batch may wait for others, in microseconds. */
  readonly maxQueueDelayMicros: number;
  /** Requests waiting beyond this are refused at once with RESOURCE_EXHAUSTED. */
  readonly maxQueuedRequests: number;
  /**
   * Model runs in flight at once. onnxruntime-node (1.30) runs a session on the JS thread
   * (its run() only defers to setImmediate), so more than one overlaps nothing: it lets the
   * next batch be handed over while one is pending.
   */
  readonly maxConcurrentRuns: number;
}

/** What one request gets back. */
export interface BatchResult {
  /** This request's rows of every output, in the model's output order. */
  readonly outputs: TensorData[];
  /** Rows in the batch the request ran in. */
  readonly batchRows: number;
  readonly queueMicros: number;
  readonly computeMicros: number;
}

/** Receives what happens, for statistics and metrics. */
export interface BatchObserver {
  batchRan(rows: number, requests: number, computeMicros: number): void;
  requestQueued(queueMicros: number): void;
  rejectedQueueFull(): void;
  expiredInQueue(): void;
}

/**
 * Where a request's abort signal comes from: the call's HandlerContext (or an
 * AbortController). The batcher listens only when the request has to wait in the queue,
 * and then through `addAbortListener` when the source has it (the kit's CallContext):
 * the kit builds a call's signal on first read, and an AbortController (with its deadline
 * timer, listener and abort event) per call costs more CPU than the rest of a one-row
 * request's way through the service.
 */
export interface SignalSource {
  readonly signal: AbortSignal;
  addAbortListener?(listener: (reason: unknown) => void): void;
  removeAbortListener?(listener: (reason: unknown) => void): void;
}

/** Per-request options. */
export interface SubmitOptions {
  /** Epoch milliseconds after which the request must not run. */
  readonly deadline?: number | undefined;
  /** The request's call: it leaves the queue when its signal aborts (client gone, deadline). */
  readonly call?: SignalSource;
}

interface Pending {
  readonly inputs: readonly TensorData[];
  readonly rows: number;
  readonly deadline: number;
  readonly call: SignalSource | undefined;
  readonly enqueuedNs: bigint;
  readonly resolve: (result: BatchResult) => void;
  readonly reject: (error: unknown) => void;
  /** The call's signal, when the request had to wait and its call has no abort listeners. */
  signal: AbortSignal | undefined;
  /** Why the call ended, as its abort listener heard (see {@link SignalSource}). */
  abortReason: unknown;
  /** Listens to the call while the request waits. */
  onAbort: ((reason?: unknown) => void) | undefined;
  /** Taken off the queue: into a batch, or answered as given up. */
  left: boolean;
}

/**
 * Dynamic batching for one loaded model version. Validated requests queue; a batch forms
 * when the queued rows reach `maxBatchRows`, when the first request has waited
 * `maxQueueDelayMicros`, or when a run slot frees up; requests join in arrival order while
 * their non-batch dimensions match. Expired or cancelled requests are dropped when the
 * batch forms, never run. When a batch's run fails, each of its requests is run alone, so
 * one request the model cannot run fails alone instead of failing its neighbours.
 */
export class Batcher {
  readonly #run: RunModel;
  readonly #options: BatchingOptions;
  readonly #observer: BatchObserver | undefined;
  readonly #queue: Pending[] = [];
  #queuedRows = 0;
  #running = 0;
  /** Cancels the pending "batch delay is over" callback, when one is scheduled. */
  #cancelTimer: (() => void) | undefined;
  #idleWaiters: Array<() => void> = [];

  constructor(run: RunModel, options: BatchingOptions, observer?: BatchObserver) {
    this.#run = run;
    this.#options = options;
    this.#observer = observer;
  }

  /** Requests waiting now. */
  get queueDepth(): number {
    return this.#queue.length;
  }

  /** Batches running now. */
  get running(): number {
    return this.#running;
  }

  /**
   * Queues a request whose inputs are validated and in the model's input order; resolves
   * with its rows of the outputs. Throws RESOURCE_EXHAUSTED at once when the queue is full.
   */
  submit(inputs: readonly TensorData[], rows: number, options: SubmitOptions = {}): Promise<BatchResult> {
    if (this.#queue.length >= this.#options.maxQueuedRequests) {
      this.#observer?.rejectedQueueFull();
      return Promise.reject(
        new ResourceExhaustedError(
          `the model's queue is full (${this.#options.maxQueuedRequests} requests waiting); retry later`,
        ),
      );
    }
    return new Promise<BatchResult>((resolve, reject) => {
      const pending: Pending = {
        inputs,
        rows,
        deadline: options.deadline ?? Number.POSITIVE_INFINITY,
        call: options.call,
        enqueuedNs: process.hrtime.bigint(),
        resolve,
        reject,
        signal: undefined,
        abortReason: undefined,
        onAbort: undefined,
        left: false,
      };
      // A call already over is not run, not even when it would be dispatched at once.
      if (pending.call !== undefined && isCallOver(pending.call)) {
        this.#answerGivenUp(pending);
        return;
      }
      this.#queue.push(pending);
      this.#queuedRows += rows;
      this.#schedule();
      // Not dispatched at once: it waits for company or a run slot, and its call may end
      // meanwhile. One dispatched at once was checked against its deadline only.
      if (!pending.left) this.#watch(pending);
    });
  }

  /** A request given up (deadline, client cancel) leaves the queue at once, freeing its slot. */
  #watch(pending: Pending): void {
    const call = pending.call;
    if (call === undefined) return;
    // From an abort listener, the reason; from the signal, an Event (the reason stays on the signal).
    const onAbort = (reason?: unknown) => {
      if (pending.signal === undefined) pending.abortReason = reason;
      const index = this.#queue.indexOf(pending);
      if (index < 0) return;
      this.#queue.splice(index, 1);
      this.#queuedRows -= pending.rows;
      this.#answerGivenUp(pending);
      this.#notifyIdle();
    };
    pending.onAbort = onAbort;
    if (call.addAbortListener !== undefined) {
      call.addAbortListener(onAbort);
      return;
    }
    pending.signal = call.signal;
    pending.signal.addEventListener("abort", onAbort, { once: true });
  }

  /**
   * Stops listening to the request's signal, once it leaves the queue. (A second closure
   * per request, holding the signal, to do this cost about 5 µs of GC per queued request
   * at concurrency 64.)
   */
  #forget(request: Pending): void {
    if (request.onAbort === undefined) return;
    if (request.signal !== undefined) request.signal.removeEventListener("abort", request.onAbort);
    else request.call?.removeAbortListener?.(request.onAbort);
    request.onAbort = undefined;
  }

  /** Answers a request that will not run: expired when its deadline passed, else cancelled. */
  #answerGivenUp(request: Pending): void {
    request.left = true;
    this.#forget(request);
    const reason: unknown = request.signal !== undefined ? request.signal.reason : request.abortReason;
    const timedOut = reason instanceof ConnectError && reason.code === Code.DeadlineExceeded;
    if (timedOut || request.deadline <= Date.now()) {
      this.#observer?.expiredInQueue();
      request.reject(
        new ConnectError(
          "the request's deadline passed while it waited in the queue; it was not run",
          Code.DeadlineExceeded,
        ),
      );
    } else {
      request.reject(new ConnectError("the request was cancelled while queued", Code.Canceled));
    }
  }

  /** Resolves once nothing is queued or running (before a session is released). */
  idle(): Promise<void> {
    if (this.#queue.length === 0 && this.#running === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #schedule(): void {
    if (this.#queue.length === 0 || this.#running >= this.#options.maxConcurrentRuns) return;
    const { enabled, maxBatchRows, maxQueueDelayMicros } = this.#options;
    if (!enabled || maxQueueDelayMicros <= 0 || this.#queuedRows >= maxBatchRows) {
      this.#dispatch();
      return;
    }
    if (this.#cancelTimer !== undefined) return;
    const head = this.#queue[0] as Pending;
    const waitedMicros = Number(process.hrtime.bigint() - head.enqueuedNs) / 1000;
    const remainingMicros = maxQueueDelayMicros - waitedMicros;
    const fire = () => {
      this.#cancelTimer = undefined;
      if (this.#running < this.#options.maxConcurrentRuns) this.#dispatch();
    };
    // Timers have millisecond granularity: under a millisecond, one turn of the event loop
    // lets the requests that arrived in the same I/O phase join.
    if (remainingMicros < 1000) {
      const immediate = setImmediate(fire);
      this.#cancelTimer = () => clearImmediate(immediate);
    } else {
      const timeout = setTimeout(fire, remainingMicros / 1000);
      this.#cancelTimer = () => clearTimeout(timeout);
    }
  }

  #dispatch(): void {
    this.#cancelTimer?.();
    this.#cancelTimer = undefined;
    const batch = this.#take();
    if (batch.length > 0) {
      this.#running++;
      void this.#runBatch(batch).finally(() => {
        this.#running--;
        this.#schedule();
        this.#notifyIdle();
      });
    }
    // More queued than one batch holds, and a free slot: start the next one now.
    if (this.#queue.length > 0) this.#schedule();
    else this.#notifyIdle();
  }

  /** Takes the next batch off the queue, answering expired and cancelled requests on the way. */
  #take(): Pending[] {
    const batch: Pending[] = [];
    let rows = 0;
    const now = Date.now();
    const limit = this.#options.enabled ? this.#options.maxBatchRows : 1;
    while (this.#queue.length > 0) {
      const next = this.#queue[0] as Pending;
      if (next.signal?.aborted || next.deadline <= now) {
        this.#remove();
        this.#answerGivenUp(next);
        continue;
      }
      const first = batch[0];
      if (first !== undefined && (rows + next.rows > limit || !sameRowShape(first.inputs, next.inputs)))
        break;
      this.#remove();
      next.left = true;
      this.#forget(next);
      batch.push(next);
      rows += next.rows;
      if (!this.#options.enabled) break;
    }
    return batch;
  }

  #remove(): void {
    const removed = this.#queue.shift();
    if (removed !== undefined) this.#queuedRows -= removed.rows;
  }

  async #runBatch(batch: Pending[]): Promise<void> {
    const startNs = process.hrtime.bigint();
    for (const request of batch) this.#observer?.requestQueued(Number(startNs - request.enqueuedNs) / 1000);
    const rows = batch.reduce((sum, r) => sum + r.rows, 0);
    let outputs: TensorData[];
    try {
      const inputs =
        batch.length === 1 ? (batch[0] as Pending).inputs : concatRows(batch.map((r) => r.inputs));
      outputs = await this.#run(inputs);
      if (batch.length > 1 && !outputs.every((o) => o.dims[0] === rows)) {
        throw new Error("an output's first dimension is not the batch's rows");
      }
    } catch (error) {
      if (batch.length > 1) {
        // Find who the model cannot run on: each request alone, so the others still succeed.
        await Promise.all(batch.map((request) => this.#runBatch([request])));
        return;
      }
      (batch[0] as Pending).reject(runFailure(error));
      return;
    }
    const computeMicros = Number(process.hrtime.bigint() - startNs) / 1000;
    this.#observer?.batchRan(rows, batch.length, computeMicros);
    let offset = 0;
    for (const request of batch) {
      request.resolve({
        outputs: batch.length === 1 ? outputs : sliceRows(outputs, offset, request.rows),
        batchRows: rows,
        queueMicros: Number(startNs - request.enqueuedNs) / 1000,
        computeMicros,
      });
      offset += request.rows;
    }
  }

  #notifyIdle(): void {
    if (this.#queue.length > 0 || this.#running > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
  }
}

/** Requests can share a batch when every input agrees beyond the first dimension. */
function sameRowShape(a: readonly TensorData[], b: readonly TensorData[]): boolean {
  return a.every((tensor, i) => {
    const other = b[i];
    if (other === undefined || other.dims.length !== tensor.dims.length) return false;
    for (let d = 1; d < tensor.dims.length; d++) if (tensor.dims[d] !== other.dims[d]) return false;
    return true;
  });
}

/** ONNX Runtime refused inputs that passed validation: the values themselves are the problem. */
function runFailure(error: unknown): Error {
  const reason = error instanceof Error ? error.message : String(error);
  return new InvalidArgumentError(`the model could not run on this request's inputs: ${reason}`);
}
