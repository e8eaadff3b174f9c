import { randomBytes } from "node:crypto";
import type { MetaEntry, MetaStore } from "@seam/kit/storage";
import { type Job, JobSchema } from "@seam/proto/seam/training/v1/training_pb";
import { RecordStore } from "./record-store.js";

// Key layout inside the training namespace of the shared MetaStore:
//   j/<id>    Job        s/<id>    Sweep
//   t/<id>    W3C trace context (JSON text map) of the request that submitted job <id>
// (ids start with a base36 time, so reverse key order is newest first)

/** A new id: `<kind>-` + base36 milliseconds (fixed width, so ids sort by time) + random. */
export function newRecordId(kind: "job" | "sweep", now = Date.now()): string {
  return `${kind}-${now.toString(36).padStart(9, "0")}-${randomBytes(3).toString("hex")}`;
}

/** A new job id. */
export function newJobId(now = Date.now()): string {
  return newRecordId("job", now);
}

const JOB_ID = /^job-[0-9a-z]{9}-[0-9a-f]{6}$/;

/** Whether `id` has the shape of a job id. */
export function isJobId(id: string): boolean {
  return JOB_ID.test(id);
}

/**
 * A W3C trace context as text-map entries (`traceparent`, maybe `tracestate`), as
 * `propagation.inject` writes them; empty when nothing was traced.
 */
export type TraceCarrier = Record<string, string>;

/** Jobs over the MetaStore; every update bumps the job's revision (watchers skip what they saw). */
export class JobStore {
  private readonly records: RecordStore<typeof JobSchema>;

  constructor(
    private readonly meta: MetaStore,
    private readonly ns = "training/",
  ) {
    this.records = new RecordStore(meta, JobSchema, `${ns}j/`, "job");
  }

  /**
   * Stores a new job (revision 1) with the trace context of the request that submitted it,
   * in one commit: whichever process later runs the job (another replica or worker, after a
   * restart or a hand-over) continues that trace. Kept beside the job, not in it: it is
   * plumbing, not part of the API's Job.
   */
  async create(job: Job, traceContext: TraceCarrier = {}): Promise<Job> {
    job.revision = 1n;
    return this.records.create(job.id, job, this.traceEntries(job.id, traceContext));
  }

  /**
   * The MetaStore entries that keep `traceContext` for `id` (a job, or a sweep whose trials
   * continue it), to commit with the record itself; none for an empty context.
   */
  traceEntries(id: string, traceContext: TraceCarrier): MetaEntry[] {
    return Object.keys(traceContext).length === 0
      ? []
      : [{ key: this.traceKey(id), value: new TextEncoder().encode(JSON.stringify(traceContext)) }];
  }

  /** The trace context the job (or sweep) was submitted in; empty when there is none (or it is unreadable). */
  async traceContext(id: string): Promise<TraceCarrier> {
    const bytes = await this.meta.get(this.traceKey(id));
    if (bytes === undefined) return {};
    try {
      const parsed: unknown = JSON.parse(new TextDecoder().decode(bytes));
      if (typeof parsed !== "object" || parsed === null) return {};
      return Object.fromEntries(
        Object.entries(parsed).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
      );
    } catch {
      // A trace context is worth nothing next to the job: a corrupt one starts a new trace.
      return {};
    }
  }

  private traceKey(id: string): string {
    return `${this.ns}t/${id}`;
  }

  /** The job; NotFoundError when absent. */
  get(id: string): Promise<Job> {
    return this.records.get(id);
  }

  /** Applies `change` (false: no change) and stores the job with revision + 1. */
  update(id: string, change: (job: Job) => boolean): Promise<Job> {
    return this.records.update(id, (job) => {
      if (!change(job)) return false;
      job.revision += 1n;
      return true;
    });
  }

  /** Jobs newest first, after `after`, at most `limit`, filtered by `keep`. */
  list(limit: number, after: string | undefined, keep: (job: Job) => boolean): Promise<Job[]> {
    return this.records.list(limit, after, keep);
  }

  /** Every job (for recovery at start: the unfinished ones are requeued). */
  all(): AsyncGenerator<Job> {
    return this.records.all();
  }
}
