import { setTimeout as sleep } from "node:timers/promises";
import { ConflictError } from "../errors/index.js";
import type { MetaCommit, MetaStore } from "./ports.js";

/** What an {@link updateWithRetry} step decides: the writes to make and the value to return. */
export interface UpdatePlan<T> {
  readonly puts?: MetaCommit["puts"];
  readonly deletes?: MetaCommit["deletes"];
  /** Further checks beyond "the keys read are unchanged". */
  readonly checks?: MetaCommit["checks"];
  readonly result: T;
}

/** Options of {@link updateWithRetry}. */
export interface UpdateOptions {
  /** Attempts before giving up with ConflictError (default 50). */
  readonly attempts?: number;
  /** Stops retrying (rejecting with the signal's reason) when aborted. */
  readonly signal?: AbortSignal;
}

/**
 * Optimistic read-modify-write: reads `keys`, lets `plan` compute the writes from
 * their current values, and commits them checking that none of `keys` changed
 * meanwhile; on a lost race it waits a short random time and starts over.
 * `plan` may throw (e.g. AlreadyExistsError) to abandon the update; it must not
 * have side effects, since it may run several times.
 *
 * @throws ConflictError when every attempt lost to a concurrent writer.
 */
export async function updateWithRetry<T>(
  store: MetaStore,
  keys: ReadonlyArray<string>,
  plan: (current: Array<Uint8Array | undefined>) => UpdatePlan<T> | Promise<UpdatePlan<T>>,
  options: UpdateOptions = {},
): Promise<T> {
  const attempts = options.attempts ?? 50;
  for (let attempt = 0; attempt < attempts; attempt++) {
    options.signal?.throwIfAborted();
    const current = await store.getMany(keys);
    const step = await plan(current);
    const checks = keys.map((key, i) => ({ key, expect: current[i] }));
    const committed = await store.commit({
      checks: step.checks === undefined ? checks : [...checks, ...step.checks],
      ...(step.puts === undefined ? {} : { puts: step.puts }),
      ...(step.deletes === undefined ? {} : { deletes: step.deletes }),
    });
    if (committed) return step.result;
    // Random backoff growing to ~50 ms spreads contenders out so one wins per round
    // instead of all colliding again; a timer turn also refreshes LMDB's read snapshot.
    await sleep(
      Math.random() * Math.min(50, 2 ** attempt),
      undefined,
      options.signal ? { signal: options.signal } : {},
    );
  }
  throw new ConflictError(`update of ${keys.join(", ")} kept conflicting with concurrent writers`);
}
