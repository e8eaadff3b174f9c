import { randomBytes } from "node:crypto";
import type { MetaStore } from "@seam/kit/storage";
import { type Job, JobSchema } from "@seam/proto/seam/training/v1/training_pb";
import { RecordStore } from "./record-store.js";

// Key layout inside the training namespace of the shared MetaStore:
//   j/<id>    Job        s/<id>    Sweep
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

/** Jobs over the MetaStore; every update bumps the job's revision (watchers skip what they saw). */
export class JobStore {
  private readonly records: RecordStore<typeof JobSchema>;

  constructor(meta: MetaStore, ns = "training/") {
    this.records = new RecordStore(meta, JobSchema, `${ns}j/`, "job");
  }

  /** Stores a new job (revision 1). */
  async create(job: Job): Promise<Job> {
    job.revision = 1n;
    return this.records.create(job.id, job);
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
