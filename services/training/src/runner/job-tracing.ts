import {
  type Attributes,
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";
import { withSpan } from "@seam/kit/telemetry";
import type { Job } from "@seam/proto/seam/training/v1/training_pb";
import type { JobStore, TraceCarrier } from "../jobs/job-store.js";
import { CancelledError, type EpochReport } from "./executor.js";
import type { LoadedData } from "./load-data.js";

const TRACER_NAME = "@seam/training";

/**
 * The active trace context as W3C text-map entries, to store with a job at submit time;
 * empty when no SDK runs or no span is active.
 */
export function captureTraceContext(): TraceCarrier {
  const carrier: TraceCarrier = {};
  propagation.inject(context.active(), carrier);
  return carrier;
}

/**
 * Starts the `training.job` span of one run of a job, a CHILD of the request that submitted
 * it (the context stored with the job), so the client's trace id finds the whole job: the
 * submit, then every run with its data load, epochs and registration. The span starts when
 * the run starts, possibly long after the submit's span has ended; each run (a resume after
 * a lost worker, on this process or another) is one more `training.job` span under the same
 * parent. A job stored without a trace context (a sweep's trial, or one submitted with
 * tracing off) starts a new trace. Never parented on the active context: a queue's callback
 * may run inside whatever span its Redis client last made.
 */
export async function startJobTrace(job: Job, jobs: JobStore): Promise<JobTrace> {
  // No propagator registered (no SDK): nothing could be extracted, skip the read.
  const stored = propagation.fields().length === 0 ? {} : await jobs.traceContext(job.id);
  const parent = propagation.extract(ROOT_CONTEXT, stored);
  const spec = job.spec;
  const attributes: Attributes = {
    "seam.job": job.id,
    "seam.job.attempt": job.attempts,
    "seam.epochs": spec?.training?.epochs ?? 0,
  };
  if (job.checkpointEpoch > 0) attributes["seam.resumed_from_epoch"] = job.checkpointEpoch;
  if (job.sweepId !== "") {
    attributes["seam.sweep"] = job.sweepId;
    attributes["seam.trial"] = job.trial;
  }
  const model = spec?.registration?.modelName ?? "";
  if (model !== "") attributes["seam.model"] = model;
  const span = trace.getTracer(TRACER_NAME).startSpan("training.job", { attributes }, parent);
  return new JobTrace(span, trace.setSpan(parent, span));
}

/**
 * The spans of one run of a job. The OTel SDK lives on the main thread only, so the epochs
 * trained on a worker thread become spans here, from the worker's reports (their start and
 * end times included). Attributes are counts, names and aggregate metrics, never data.
 */
export class JobTrace {
  constructor(
    private readonly span: Span,
    /** The job span's context: the parent of everything the run does. */
    readonly context: Context,
  ) {}

  /** Runs `fn` with the job span active, so the calls it makes (Redis, gRPC) nest under it. */
  within<T>(fn: () => T): T {
    return context.with(this.context, fn);
  }

  /** `training.load_data`: the feature join (if any) and the dataset reads, as its children. */
  loadData(job: Job, load: () => Promise<LoadedData>): Promise<LoadedData> {
    return this.step("training.load_data", {}, async (span) => {
      const data = await load();
      const { train, validation, test } = data.splits;
      span.setAttributes({
        // Known only now for a features job (the join makes the version).
        "seam.dataset_version": job.datasetVersion,
        "seam.columns": data.columns.length,
        "seam.rows.train": train.length,
        "seam.rows.validation": validation.length,
        "seam.rows.test": test.length,
      });
      return data;
    });
  }

  /** One finished epoch as a `training.epoch` span at the times the worker measured. */
  epoch(report: EpochReport): void {
    const attributes: Attributes = {
      "seam.epoch": report.epoch,
      "seam.samples_per_second": report.samplesPerSecond,
    };
    for (const [name, value] of Object.entries(report.metrics)) {
      if (Number.isFinite(value)) attributes[`seam.metric.${name}`] = value;
    }
    trace
      .getTracer(TRACER_NAME)
      .startSpan("training.epoch", { startTime: new Date(report.startTime), attributes }, this.context)
      .end(new Date(report.endTime));
  }

  /** `training.register`: the registry upload (its gRPC client span) as its child; returns "model:version". */
  register(model: string, upload: () => Promise<string>): Promise<string> {
    return this.step("training.register", { "seam.model": model }, async (span) => {
      const version = await upload();
      span.setAttribute("seam.model_version", version);
      return version;
    });
  }

  /** The run ended in `error`: ERROR status, unless it was cancelled (an outcome, not a fault). */
  failed(error: unknown): void {
    if (error instanceof CancelledError) {
      this.span.setAttribute("seam.cancelled", true);
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    this.span.recordException(error instanceof Error ? error : message);
    this.span.setStatus({ code: SpanStatusCode.ERROR, message });
  }

  end(): void {
    this.span.end();
  }

  private step<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>): Promise<T> {
    return context.with(this.context, () => withSpan(name, attributes, fn));
  }
}
