import { ConflictError } from "@seam/kit/errors";
import type { MetaCommit, MetaStore } from "@seam/kit/storage";

/** What one attempt of a read-compute-commit step decided. */
export interface CasAttempt<T> {
  /** The batch to commit (its checks carry what the attempt read); undefined when nothing changes. */
  readonly batch: MetaCommit | undefined;
  /** Returned once the batch committed. */
  readonly result: T;
}

const MAX_ATTEMPTS = 200;

/**
 * Runs `attempt` (read, compute, return a guarded batch) until its commit succeeds.
 * A failed check means a concurrent writer won the race, so the step is recomputed
 * from fresh reads; errors thrown by `attempt` end the loop. After many lost races the
 * caller gets ABORTED (ConflictError) rather than spinning forever.
 */
export async function commitWithRetry<T>(
  meta: MetaStore,
  attempt: () => Promise<CasAttempt<T>>,
  signal?: AbortSignal,
): Promise<T> {
  for (let i = 0; i < MAX_ATTEMPTS; i++) {
    signal?.throwIfAborted();
    const { batch, result } = await attempt();
    if (batch === undefined || (await meta.commit(batch))) return result;
    // Jittered backoff spreads contending writers out instead of having them collide again.
    await sleep(Math.random() * Math.min(2 + i, 25));
  }
  throw new ConflictError("too many concurrent changes to the same model; retry the call");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
