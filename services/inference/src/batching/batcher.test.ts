import { Code, ConnectError } from "@connectrpc/connect";
import { InvalidArgumentError, ResourceExhaustedError } from "@seam/kit/errors";
import { describe, expect, it } from "vitest";
import type { TensorData } from "../tensors/tensor-data.js";
import { Batcher, type BatchingOptions, type BatchObserver, type RunModel } from "./batcher.js";

const OPTIONS: BatchingOptions = {
  enabled: true,
  maxBatchRows: 8,
  maxQueueDelayMicros: 2_000,
  maxQueuedRequests: 100,
  maxConcurrentRuns: 1,
};

/** One input "x" [rows, 1] holding `values`. */
function input(values: number[]): TensorData[] {
  return [{ name: "x", type: "float32", dims: [values.length, 1], data: Float32Array.from(values) }];
}

/** A model doubling x, recording each run's rows; refuses any value < 0 (like an out-of-range index). */
function doubling(): { run: RunModel; runs: number[][] } {
  const runs: number[][] = [];
  const run: RunModel = async (inputs) => {
    const x = inputs[0]?.data as Float32Array;
    runs.push([...x]);
    if (x.some((v) => v < 0)) throw new Error("index out of bounds");
    await new Promise((resolve) => setTimeout(resolve, 5));
    return [{ name: "y", type: "float32", dims: [x.length, 1], data: x.map((v) => v * 2) }];
  };
  return { run, runs };
}

function counting(): BatchObserver & { counts: Record<string, number> } {
  const counts = { batches: 0, queued: 0, full: 0, expired: 0 };
  return {
    counts,
    batchRan: () => void counts.batches++,
    requestQueued: () => void counts.queued++,
    rejectedQueueFull: () => void counts.full++,
    expiredInQueue: () => void counts.expired++,
  };
}

const valuesOf = (t: TensorData[] | undefined) => [...((t?.[0]?.data as Float32Array | undefined) ?? [])];

describe("Batcher", () => {
  it("runs requests that arrive together as one batch and splits the results back in order", async () => {
    const { run, runs } = doubling();
    const batcher = new Batcher(run, OPTIONS);
    const results = await Promise.all([
      batcher.submit(input([1]), 1),
      batcher.submit(input([2, 3]), 2),
      batcher.submit(input([4]), 1),
    ]);
    expect(runs).toEqual([[1, 2, 3, 4]]);
    expect(results.map((r) => valuesOf(r.outputs))).toEqual([[2], [4, 6], [8]]);
    expect(results.map((r) => r.batchRows)).toEqual([4, 4, 4]);
  });

  it("never puts more than maxBatchRows rows in a batch", async () => {
    const { run, runs } = doubling();
    const batcher = new Batcher(run, { ...OPTIONS, maxBatchRows: 3 });
    await Promise.all([1, 2, 3, 4, 5, 6, 7].map((v) => batcher.submit(input([v]), 1)));
    expect(runs.every((r) => r.length <= 3)).toBe(true);
    expect(runs.flat().sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it("runs each request alone when batching is off", async () => {
    const { run, runs } = doubling();
    const batcher = new Batcher(run, { ...OPTIONS, enabled: false, maxConcurrentRuns: 4 });
    await Promise.all([1, 2, 3].map((v) => batcher.submit(input([v]), 1)));
    expect(runs.sort()).toEqual([[1], [2], [3]]);
  });

  it("fails only the request the model cannot run when it shares a batch", async () => {
    const { run, runs } = doubling();
    const batcher = new Batcher(run, OPTIONS);
    const settled = await Promise.allSettled([
      batcher.submit(input([1]), 1),
      batcher.submit(input([-1]), 1),
      batcher.submit(input([3]), 1),
    ]);
    expect(runs[0]).toEqual([1, -1, 3]);
    expect(settled[0]).toMatchObject({ status: "fulfilled" });
    expect(settled[2]).toMatchObject({ status: "fulfilled" });
    expect(valuesOf(settled[2]?.status === "fulfilled" ? settled[2].value.outputs : undefined)).toEqual([6]);
    const failed = settled[1];
    expect(failed?.status).toBe("rejected");
    const reason = failed?.status === "rejected" ? failed.reason : undefined;
    expect(reason).toBeInstanceOf(InvalidArgumentError);
    expect(String(reason)).toMatch(/could not run on this request's inputs: index out of bounds/);
  });

  it("refuses at once with RESOURCE_EXHAUSTED when the queue is full", async () => {
    const { run } = doubling();
    const observer = counting();
    const batcher = new Batcher(run, { ...OPTIONS, maxQueuedRequests: 2, maxBatchRows: 1 }, observer);
    const first = batcher.submit(input([1]), 1); // dispatched at once (one row fills a batch)
    const queued = [batcher.submit(input([2]), 1), batcher.submit(input([3]), 1)];
    await expect(batcher.submit(input([4]), 1)).rejects.toBeInstanceOf(ResourceExhaustedError);
    expect(observer.counts.full).toBe(1);
    await Promise.all([first, ...queued]);
  });

  it("does not run a request whose deadline passed while it was queued", async () => {
    let release: () => void = () => {};
    const runs: number[][] = [];
    const blocking: RunModel = async (inputs) => {
      const x = inputs[0]?.data as Float32Array;
      runs.push([...x]);
      if (runs.length === 1) await new Promise<void>((resolve) => (release = resolve));
      return [{ name: "y", type: "float32", dims: [x.length, 1], data: x }];
    };
    const observer = counting();
    const batcher = new Batcher(blocking, { ...OPTIONS, maxBatchRows: 1 }, observer);
    const first = batcher.submit(input([1]), 1);
    const expiring = batcher.submit(input([2]), 1, { deadline: Date.now() + 20 });
    const patient = batcher.submit(input([3]), 1, { deadline: Date.now() + 60_000 });
    await new Promise((resolve) => setTimeout(resolve, 40));
    release();
    await first;
    const error = await expiring.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.DeadlineExceeded);
    expect(valuesOf((await patient).outputs)).toEqual([3]);
    expect(runs).toEqual([[1], [3]]);
    expect(observer.counts.expired).toBe(1);
  });

  it("drops a request cancelled while queued", async () => {
    const { run, runs } = doubling();
    const batcher = new Batcher(run, { ...OPTIONS, maxBatchRows: 1 });
    const first = batcher.submit(input([1]), 1);
    const controller = new AbortController();
    const cancelled = batcher.submit(input([2]), 1, { call: controller });
    const answered = expect(cancelled).rejects.toMatchObject({ code: Code.Canceled });
    controller.abort();
    await answered;
    await first;
    expect(runs).toEqual([[1]]);
  });

  it("reads a request's signal only when the request has to wait", async () => {
    const { run } = doubling();
    const batcher = new Batcher(run, { ...OPTIONS, enabled: false });
    const controller = new AbortController();
    let reads = 0;
    // As the kit's call context: it tells whether the call is over without building its signal.
    const call = {
      aborted: false,
      get signal() {
        reads++;
        return controller.signal;
      },
    };
    await batcher.submit(input([1]), 1, { call }); // runs at once
    await batcher.idle();
    expect(reads).toBe(0);
    const running = batcher.submit(input([2]), 1, { call });
    const waiting = batcher.submit(input([3]), 1, { call }); // the one run slot is taken
    expect(reads).toBe(1);
    await Promise.all([running, waiting]);
  });

  it("listens through a call's abort listeners, without its signal, while a request waits", async () => {
    const { run, runs } = doubling();
    const batcher = new Batcher(run, { ...OPTIONS, maxBatchRows: 1 });
    const listeners = new Set<(reason: unknown) => void>();
    // As the kit's CallContext: abort listeners that need no AbortSignal.
    const call = {
      aborted: false,
      get signal(): AbortSignal {
        throw new Error("the signal was read");
      },
      addAbortListener: (listener: (reason: unknown) => void) => void listeners.add(listener),
      removeAbortListener: (listener: (reason: unknown) => void) => void listeners.delete(listener),
    };
    const first = batcher.submit(input([1]), 1, { call });
    const patient = batcher.submit(input([2]), 1, { call });
    const timedOut = batcher.submit(input([3]), 1, { call });
    expect(listeners.size).toBe(2);
    const answered = expect(timedOut).rejects.toMatchObject({ code: Code.DeadlineExceeded });
    // The call of the last request ends: the timeout reason decides its status.
    [...listeners].at(-1)?.(new ConnectError("the operation timed out", Code.DeadlineExceeded));
    await answered;
    await Promise.all([first, patient]);
    expect(runs).toEqual([[1], [2]]);
    expect(listeners.size).toBe(0); // the request that ran stopped listening when it left the queue
  });

  it("does not run a request whose call is already over, even when it would run at once", async () => {
    const { run, runs } = doubling();
    const batcher = new Batcher(run, { ...OPTIONS, enabled: false });
    const controller = new AbortController();
    controller.abort();
    await expect(batcher.submit(input([1]), 1, { call: controller })).rejects.toMatchObject({
      code: Code.Canceled,
    });
    expect(runs).toEqual([]);
  });

  it("keeps requests with different non-batch dimensions in separate batches", async () => {
    const runs: number[][] = [];
    const run: RunModel = async (inputs) => {
      const x = inputs[0] as TensorData;
      runs.push([...x.dims]);
      return [
        { name: "y", type: "float32", dims: [x.dims[0] ?? 0, 1], data: new Float32Array(x.dims[0] ?? 0) },
      ];
    };
    const batcher = new Batcher(run, OPTIONS);
    const wide = (n: number): TensorData[] => [
      { name: "x", type: "float32", dims: [1, n], data: new Float32Array(n) },
    ];
    await Promise.all([batcher.submit(wide(2), 1), batcher.submit(wide(2), 1), batcher.submit(wide(3), 1)]);
    expect(runs).toEqual([
      [2, 2],
      [1, 3],
    ]);
  });

  it("resolves idle() once queued and running work is done", async () => {
    const { run } = doubling();
    const batcher = new Batcher(run, OPTIONS);
    let done = false;
    const work = batcher.submit(input([1]), 1).then(() => {
      done = true;
    });
    await batcher.idle();
    expect(done).toBe(true);
    await work;
  });
});
