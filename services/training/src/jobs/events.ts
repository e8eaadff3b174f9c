import { fromBinary, toBinary } from "@bufbuild/protobuf";
import type { EventBus } from "@seam/kit/storage";
import { type Job, JobSchema } from "@seam/proto/seam/training/v1/training_pb";

/** Topic of one job's updates: every stored version of the job is published on it. */
export function jobTopic(id: string): string {
  return `training.job.${id}`;
}

/** Publishes a stored job version to its watchers (on every replica). */
export async function publishJob(events: EventBus, job: Job): Promise<void> {
  await events.publish(jobTopic(job.id), toBinary(JobSchema, job));
}

/** The job versions published from now until `signal` aborts. */
export async function subscribeJob(
  events: EventBus,
  id: string,
  signal: AbortSignal,
): Promise<AsyncIterable<Job>> {
  const messages = await events.subscribe(jobTopic(id), signal);
  return {
    async *[Symbol.asyncIterator]() {
      for await (const bytes of messages) yield fromBinary(JobSchema, bytes);
    },
  };
}
