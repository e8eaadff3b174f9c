import { create } from "@bufbuild/protobuf";
import type { Attributes, Counter, Histogram, ObservableGauge, ObservableResult } from "@opentelemetry/api";
import { createInstruments } from "@seam/kit/telemetry";
import { type ModelVersionStats, ModelVersionStatsSchema } from "@seam/proto/seam/inference/v1/inference_pb";
import type { BatchObserver } from "../batching/batcher.js";

/** Upper bounds of the batch-size buckets (rows); the last bucket takes the rest. */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024] as const;

interface Instruments {
  readonly requests: Counter;
  readonly batchRows: Histogram;
  readonly queueTime: Histogram;
  readonly computeTime: Histogram;
  readonly loadTime: Histogram;
  readonly queueDepth: ObservableGauge;
}

/** What the queue-depth gauge reads: the model versions a cache has loaded. */
export interface QueueDepthSource {
  loaded(): ReadonlyArray<{ readonly name: string; readonly version: number; readonly queueDepth: number }>;
}

// Weak: a cache dropped without close() (tests build many) must not be kept alive by metrics.
const queueSources = new Set<WeakRef<QueueDepthSource>>();

function observeQueueDepths(result: ObservableResult): void {
  for (const ref of queueSources) {
    const source = ref.deref();
    if (source === undefined) {
      queueSources.delete(ref);
      continue;
    }
    for (const version of source.loaded()) {
      result.observe(version.queueDepth, {
        "seam.model": version.name,
        "seam.model_version": version.version,
      });
    }
  }
}

// Created on first use (and again if the global provider changes): a meter taken before
// the process started its telemetry SDK would stay a no-op.
const otel = createInstruments("@seam/inference", (meter): Instruments => {
  const created = {
    requests: meter.createCounter("seam.inference.requests", {
      description: "Predictions by model, version and outcome (ok, error, queue_full, expired)",
    }),
    batchRows: meter.createHistogram("seam.inference.batch_rows", {
      description: "Rows per batch run",
      advice: { explicitBucketBoundaries: [...BATCH_BUCKETS] },
    }),
    queueTime: meter.createHistogram("seam.inference.queue_time", {
      description: "Time a request waited for its batch",
      unit: "ms",
    }),
    computeTime: meter.createHistogram("seam.inference.compute_time", {
      description: "Time of one batch run",
      unit: "ms",
    }),
    loadTime: meter.createHistogram("seam.inference.model_load_time", {
      description: "Fetch, open and warm-up time of a model version",
      unit: "ms",
    }),
    queueDepth: meter.createObservableGauge("seam.inference.queue_depth", {
      description: "Requests waiting for a batch, per loaded model version",
      unit: "{request}",
    }),
  };
  created.queueDepth.addCallback(observeQueueDepths);
  return created;
});

/**
 * Reports the queue depth of every version `source` has loaded, read at each collection
 * (gauge `seam.inference.queue_depth`); `source` is held weakly.
 */
export function observeQueueDepth(source: QueueDepthSource): void {
  queueSources.add(new WeakRef(source));
  otel();
}

/** Records a model version's load time (metric only). */
export function recordModelLoad(modelName: string, version: number, millis: number): void {
  otel().loadTime.record(millis, { "seam.model": modelName, "seam.model_version": version });
}

/**
 * Counters of one loaded model version, reported by GetModelStatus and mirrored as
 * OpenTelemetry metrics (attributes: model and version, never payloads).
 */
export class VersionStats implements BatchObserver {
  readonly #attributes: Attributes;
  readonly #outcomes: Readonly<Record<"ok" | "error" | "queueFull" | "expired", Attributes>>;
  #requests = 0;
  #successes = 0;
  #failures = 0;
  #rejectedQueueFull = 0;
  #expiredInQueue = 0;
  #batches = 0;
  #rows = 0;
  #queueMicrosTotal = 0;
  #queued = 0;
  #computeMicrosTotal = 0;
  readonly #buckets = new Array<number>(BATCH_BUCKETS.length + 1).fill(0);

  constructor(modelName: string, version: number) {
    this.#attributes = { "seam.model": modelName, "seam.model_version": version };
    // Made once: the request counter is recorded on every prediction.
    const outcome = (name: string): Attributes => ({ ...this.#attributes, outcome: name });
    this.#outcomes = {
      ok: outcome("ok"),
      error: outcome("error"),
      queueFull: outcome("queue_full"),
      expired: outcome("expired"),
    };
  }

  /** A request reached the version. */
  started(): void {
    this.#requests++;
  }

  /** A request was answered. */
  succeeded(): void {
    this.#successes++;
    otel().requests.add(1, this.#outcomes.ok);
  }

  /** A request failed (any reason). */
  failed(): void {
    this.#failures++;
    otel().requests.add(1, this.#outcomes.error);
  }

  batchRan(rows: number, _requests: number, computeMicros: number): void {
    this.#batches++;
    this.#rows += rows;
    this.#computeMicrosTotal += computeMicros;
    const bucket = BATCH_BUCKETS.findIndex((max) => rows <= max);
    const index = bucket < 0 ? BATCH_BUCKETS.length : bucket;
    this.#buckets[index] = (this.#buckets[index] ?? 0) + 1;
    otel().batchRows.record(rows, this.#attributes);
    otel().computeTime.record(computeMicros / 1000, this.#attributes);
  }

  requestQueued(queueMicros: number): void {
    this.#queued++;
    this.#queueMicrosTotal += queueMicros;
    otel().queueTime.record(queueMicros / 1000, this.#attributes);
  }

  rejectedQueueFull(): void {
    this.#rejectedQueueFull++;
    otel().requests.add(1, this.#outcomes.queueFull);
  }

  expiredInQueue(): void {
    this.#expiredInQueue++;
    otel().requests.add(1, this.#outcomes.expired);
  }

  /** The counters as the API reports them. */
  snapshot(): ModelVersionStats {
    return create(ModelVersionStatsSchema, {
      requests: BigInt(this.#requests),
      successes: BigInt(this.#successes),
      failures: BigInt(this.#failures),
      rejectedQueueFull: BigInt(this.#rejectedQueueFull),
      expiredInQueue: BigInt(this.#expiredInQueue),
      batches: BigInt(this.#batches),
      rows: BigInt(this.#rows),
      batchSizes: this.#buckets.map((count, i) => ({
        maxRows: BATCH_BUCKETS[i] ?? 0x7fffffff,
        count: BigInt(count),
      })),
      meanQueueMicros: this.#queued === 0 ? 0 : this.#queueMicrosTotal / this.#queued,
      meanComputeMicros: this.#batches === 0 ? 0 : this.#computeMicrosTotal / this.#batches,
    });
  }
}
