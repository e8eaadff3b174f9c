import { setTimeout as sleep } from "node:timers/promises";
import { ConflictError } from "../errors/index.js";
import type { MetaCommit, MetaStore } from "./ports.js";

/** What one attempt of {@link commitWithRetry} decided. */
export interface CommitAttempt<T> {
  /** The batch to commit, its checks guarding what the attempt read; undefined when nothing changes. */
  readonly batch: MetaCommit | undefined;
  /** Returned once the batch committed. */
  readonly result: T;
}

/** Options of {@link commitWithRetry} and {@link updateWithRetry}. */
export interface UpdateOptions {
  /** Attempts before giving up with ConflictError (default 50). */
  readonly attempts?: number;
  /** Stops retrying (rejecting with the signal's reason) when aborted. */
  readonly signal?: AbortSignal;
}

/**
 * Optimistic concurrency: runs `attempt` (read, compute, return a batch whose checks
 * guard what it read) until the batch commits. A failed check means a concurrent
 * writer won, so the attempt is recomputed from fresh reads after a short random
 * wait. `attempt` may throw (e.g. NotFoundError) to abandon the update; it must not
 * have side effects, since it may run several times.
 *
 * @throws ConflictError when every attempt lost to a concurrent writer.
 */
export async function commitWithRetry<T>(
  store: MetaStore,
  attempt: () => Promise<CommitAttempt<T>>,
  options: UpdateOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 50;
  for (let i = 0; i < attempts; i++) {
    options.signal?.throwIfAborted();
    const { batch, result } = await attempt();
    if (batch === undefined || (await store.commit(batch))) return result;
    // Random backoff growing to ~50 ms spreads contenders out so one wins per round
    // instead of all colliding again; a timer turn also refreshes LMDB's read snapshot.
    await sleep(
      Math.random() * Math.min(50, 2 ** i),
      undefined,
      options.signal ? { signal: options.signal } : {},
    );
  }
  throw new ConflictError("too many concurrent changes to the same records; retry the call");
}

/** What an {@link updateWithRetry} step decides: the writes to make and the value to return. */
export interface UpdatePlan<T> {
  readonly puts?: MetaCommit["puts"];
  readonly deletes?: MetaCommit["deletes"];
  /** Further checks beyond "the keys read are unchanged". */
  readonly checks?: MetaCommit["checks"];
  readonly result: T;
}

/**
 * {@link commitWithRetry} for the common case of a fixed set of keys: reads `keys`,
 * lets `plan` compute the writes from their current values, and commits them
 * checking that none of `keys` changed meanwhile.
 */
export function updateWithRetry<T>(
  store: MetaStore,
  keys: ReadonlyArray<string>,
  plan: (current: Array<Uint8Array | undefined>) => UpdatePlan<T> | Promise<UpdatePlan<T>>,
  options: UpdateOptions = {},
): Promise<T> {
  return commitWithRetry(
    store,
    async () => {
      const current = await store.getMany(keys);
      const step = await plan(current);
      const checks = keys.map((key, i) => ({ key, expect: current[i] }));
      return {
        batch: {
          checks: step.checks === undefined ? checks : [...checks, ...step.checks],
          ...(step.puts === undefined ? {} : { puts: step.puts }),
          ...(step.deletes === undefined ? {} : { deletes: step.deletes }),
        },
        result: step.result,
      };
    },
    options,
  );
}
