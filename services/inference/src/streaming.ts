/**
 * Maps every item of `source` through `fn` with up to `window` calls in flight, yielding
 * results as they complete (not in input order). Reading pauses while the window is full,
 * so a fast client is slowed by back-pressure instead of growing memory. `fn` must not
 * throw (turn failures into results); an error reading `source` ends the generator with it.
 */
export async function* mapConcurrent<T, R>(
  source: AsyncIterable<T>,
  window: number,
  fn: (item: T, index: number) => Promise<R>,
): AsyncGenerator<R> {
  const done: R[] = [];
  let inFlight = 0;
  let readerDone = false;
  let readerError: unknown;
  let wake: (() => void) | undefined;
  let slotFree: (() => void) | undefined;
  const notify = () => {
    wake?.();
    wake = undefined;
  };

  const reader = (async () => {
    let index = 0;
    try {
      for await (const item of source) {
        if (inFlight >= window) await new Promise<void>((resolve) => (slotFree = resolve));
        inFlight++;
        void fn(item, index++).then((result) => {
          inFlight--;
          done.push(result);
          slotFree?.();
          slotFree = undefined;
          notify();
        });
      }
    } catch (error) {
      readerError = error ?? new Error("the request stream failed");
    } finally {
      readerDone = true;
      notify();
    }
  })();

  for (;;) {
    while (done.length > 0) yield done.shift() as R;
    if (readerDone && inFlight === 0) break;
    await new Promise<void>((resolve) => (wake = resolve));
  }
  await reader;
  if (readerError !== undefined) throw readerError;
}
