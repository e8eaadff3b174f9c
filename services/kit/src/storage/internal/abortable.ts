/**
 * Iterates `source`, ending early with the signal's reason when it aborts —
 * even while the source is blocked waiting for its next chunk.
 */
export async function* abortable<T>(
  source: AsyncIterable<T> | Iterable<T>,
  signal: AbortSignal | undefined,
): AsyncGenerator<T, void, undefined> {
  signal?.throwIfAborted();
  const iterator =
    Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]();
  if (signal === undefined) {
    for (let r = await iterator.next(); r.done !== true; r = await iterator.next()) yield r.value;
    return;
  }
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  // The race loser must not surface as an unhandled rejection.
  aborted.catch(() => {});
  let finished = false;
  try {
    for (;;) {
      const r = await Promise.race([iterator.next(), aborted]);
      if (r.done === true) {
        finished = true;
        return;
      }
      yield r.value;
      signal.throwIfAborted();
    }
  } finally {
    if (onAbort !== undefined) signal.removeEventListener("abort", onAbort);
    // Let the source release what it holds (file handles, sockets) when we stop early.
    if (!finished) void Promise.resolve(iterator.return?.()).catch(() => {});
  }
}
