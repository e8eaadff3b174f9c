/**
 * One subscriber's view of a topic: a bounded FIFO feeding an async iterator.
 * Publishers never wait on a slow subscriber; when the buffer is full the oldest
 * message is dropped (the bus promises at most once, and for state-change events
 * the newest matters most).
 */
export class Subscription implements AsyncIterableIterator<Uint8Array> {
  readonly #buffer: Uint8Array[] = [];
  readonly #capacity: number;
  readonly #onEnd: () => void;
  readonly #signal: AbortSignal;
  readonly #onAbort = (): void => this.end();
  #waiter: ((r: IteratorResult<Uint8Array, undefined>) => void) | undefined;
  #ended = false;
  /** Messages dropped because the buffer was full. */
  dropped = 0;

  /** `onEnd` runs once when a live subscription ends, whatever the reason. */
  constructor(capacity: number, signal: AbortSignal, onEnd: () => void) {
    this.#capacity = capacity;
    this.#onEnd = onEnd;
    this.#signal = signal;
    // Already aborted: born ended, and onEnd never runs (the caller never registered it).
    if (signal.aborted) this.#ended = true;
    else signal.addEventListener("abort", this.#onAbort, { once: true });
  }

  get ended(): boolean {
    return this.#ended;
  }

  push(message: Uint8Array): void {
    if (this.#ended) return;
    if (this.#waiter !== undefined) {
      const waiter = this.#waiter;
      this.#waiter = undefined;
      waiter({ done: false, value: message });
      return;
    }
    if (this.#buffer.length >= this.#capacity) {
      this.#buffer.shift();
      this.dropped++;
    }
    this.#buffer.push(message);
  }

  /** Ends the iterator: buffered messages are discarded, a pending `next()` resolves done. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#signal.removeEventListener("abort", this.#onAbort);
    this.#buffer.length = 0;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.({ done: true, value: undefined });
    this.#onEnd();
  }

  next(): Promise<IteratorResult<Uint8Array, undefined>> {
    const message = this.#buffer.shift();
    if (message !== undefined) return Promise.resolve({ done: false, value: message });
    if (this.#ended) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve) => {
      this.#waiter = resolve;
    });
  }

  /** Called by `for await` on break/throw: leaving the loop unsubscribes. */
  return(): Promise<IteratorResult<Uint8Array, undefined>> {
    this.end();
    return Promise.resolve({ done: true, value: undefined });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }
}
