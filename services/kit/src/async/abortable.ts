/**
 * Iterates `source`, ending early with the signal's reason when it aborts — even while
 * the source is blocked waiting for its next element (a handler waiting on a silent
 * client stream must still see its deadline; a cancelled upload must stop reading).
 */
export async function* abortable<T>(
  source: AsyncIterable<T> | Iterable<T>,
  signal: AbortSignal | undefined,
): AsyncGenerator<T, void, undefined> {
  signal?.throwIfAborted();
  const iterator =
    Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  let finished = false;
  try {
    for (;;) {
      const r = signal === undefined ? await iterator.next() : await nextOrAbort(iterator, signal);
      if (r.done === true) {
        finished = true;
        return;
      }
      yield r.value;
      signal?.throwIfAborted();
    }
  } finally {
    // Let the source release what it holds (file handles, sockets) when we stop early.
    if (!finished) void Promise.resolve(iterator.return?.()).catch(() => {});
  }
}

/**
 * The iterator's next result, or the signal's reason once it aborts. A listener per
 * step, removed when the step settles: racing every step against one long-lived abort
 * promise would keep each step's result (a chunk) reachable until the signal settles —
 * which leaked a whole 700 MB file's worth of chunks when hashing it.
 */
export function nextOrAbort<T>(
  iterator: Iterator<T> | AsyncIterator<T>,
  signal: AbortSignal,
): Promise<IteratorResult<T>> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    Promise.resolve(iterator.next()).then(
      (result) => {
        signal.removeEventListener("abort", onAbort);
        resolve(result);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}
