import { randomBytes } from "node:crypto";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { NotFoundError } from "@seam/kit/errors";
import { commitWithRetry, type MetaStore, scanPrefix } from "@seam/kit/storage";
import { type Job, JobSchema } from "@seam/proto/seam/training/v1/training_pb";

// Key layout inside the training namespace of the shared MetaStore:
//   j/<id>    Job (ids start with a base36 time, so reverse key order is newest first)

/** A new job id: "job-" + base36 milliseconds (fixed width, so ids sort by time) + random. */
export function newJobId(now = Date.now()): string {
  return `job-${now.toString(36).padStart(9, "0")}-${randomBytes(3).toString("hex")}`;
}

const JOB_ID = /^job-[0-9a-z]{9}-[0-9a-f]{6}$/;

/** Whether `id` has the shape of a job id. */
export function isJobId(id: string): boolean {
  return JOB_ID.test(id);
}

/** Jobs over the MetaStore; every update bumps the job's revision. */
export class JobStore {
  constructor(
    private readonly meta: MetaStore,
    private readonly ns = "training/",
  ) {}

  private key(id: string): string {
    return `${this.ns}j/${id}`;
  }

  /** Stores a new job (revision 1). */
  async create(job: Job): Promise<Job> {
    job.revision = 1n;
    const ok = await this.meta.commit({
      checks: [{ key: this.key(job.id), expect: undefined }],
      puts: [{ key: this.key(job.id), value: toBinary(JobSchema, job) }],
    });
    if (!ok) throw new Error(`job id ${job.id} is taken`);
    return job;
  }

  /** The job; NotFoundError when absent. */
  async get(id: string): Promise<Job> {
    const bytes = await this.meta.get(this.key(id));
    if (bytes === undefined) throw new NotFoundError(`job ${id} not found`);
    return fromBinary(JobSchema, bytes);
  }

  /**
   * Applies `change` to the current job and stores it (revision + 1), retrying when another
   * writer got there first. `change` returns false to leave the job as it is.
   */
  async update(id: string, change: (job: Job) => boolean): Promise<Job> {
    return commitWithRetry(this.meta, async () => {
      const bytes = await this.meta.get(this.key(id));
      if (bytes === undefined) throw new NotFoundError(`job ${id} not found`);
      const job = fromBinary(JobSchema, bytes);
      if (!change(job)) return { batch: undefined, result: job };
      job.revision += 1n;
      return {
        batch: {
          checks: [{ key: this.key(id), expect: bytes }],
          puts: [{ key: this.key(id), value: toBinary(JobSchema, job) }],
        },
        result: job,
      };
    });
  }

  /** Jobs newest first, after the job `after` (exclusive), at most `limit`, filtered by `keep`. */
  async list(limit: number, after: string | undefined, keep: (job: Job) => boolean): Promise<Job[]> {
    const jobs: Job[] = [];
    let cursor = after === undefined ? undefined : this.key(after);
    for (;;) {
      const entries = await this.meta.list({
        prefix: `${this.ns}j/`,
        reverse: true,
        limit: 200,
        ...(cursor === undefined ? {} : { after: cursor }),
      });
      for (const entry of entries) {
        const job = fromBinary(JobSchema, entry.value);
        if (keep(job)) jobs.push(job);
        if (jobs.length === limit) return jobs;
      }
      if (entries.length < 200) return jobs;
      cursor = entries[entries.length - 1]?.key;
    }
  }

  /** Every job (for recovery at start: the unfinished ones are requeued). */
  async *all(): AsyncGenerator<Job> {
    for await (const entry of scanPrefix(this.meta, `${this.ns}j/`)) yield fromBinary(JobSchema, entry.value);
  }
}
