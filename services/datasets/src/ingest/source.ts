import { once } from "node:events";
import { createReadStream, createWriteStream, type WriteStream } from "node:fs";
import { InvalidArgumentError, ResourceExhaustedError } from "@seam/kit/errors";

/** Waits for `promise` unless `signal` aborts first (then rejects with its reason). */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(err);
      },
    );
  });
}

/** Options of {@link guardSource}. */
export interface GuardOptions {
  /** More bytes than this is a ResourceExhaustedError (none when undefined). */
  readonly maxBytes?: number | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Refuse a source without bytes. */
  readonly refuseEmpty?: boolean;
  /** Receives the running byte count. */
  readonly onBytes?: (total: number) => void;
}

/**
 * Passes chunks through while enforcing the size limit and the abort signal, the latter
 * also while waiting for the next chunk (a stalled client must not hold the call).
 */
export async function* guardSource(
  source: AsyncIterable<Uint8Array>,
  options: GuardOptions,
): AsyncGenerator<Uint8Array, void, undefined> {
  const { maxBytes, signal } = options;
  const iterator = source[Symbol.asyncIterator]();
  let total = 0;
  let finished = false;
  try {
    for (;;) {
      signal?.throwIfAborted();
      const next = signal ? await unlessAborted(iterator.next(), signal) : await iterator.next();
      if (next.done) {
        finished = true;
        break;
      }
      total += next.value.byteLength;
      options.onBytes?.(total);
      if (maxBytes !== undefined && total > maxBytes) {
        throw new ResourceExhaustedError(`the upload exceeds the limit of ${maxBytes} bytes`);
      }
      if (next.value.byteLength > 0) yield next.value;
    }
  } finally {
    // Not awaited: after an abort the source may still be stuck in next().
    if (!finished) iterator.return?.()?.catch(() => undefined);
  }
  if (options.refuseEmpty && total === 0) throw new InvalidArgumentError("the upload is empty");
}

/** Drops a UTF-8 byte order mark at the start of a text upload. */
export async function* stripBom(
  source: AsyncIterable<Uint8Array>,
): AsyncGenerator<Uint8Array, void, undefined> {
  let head: Buffer | undefined = Buffer.alloc(0);
  for await (const chunk of source) {
    if (head === undefined) {
      yield chunk;
      continue;
    }
    head = Buffer.concat([head, chunk]);
    if (head.length < 3) continue;
    yield head[0] === 0xef && head[1] === 0xbb && head[2] === 0xbf ? head.subarray(3) : head;
    head = undefined;
  }
  if (head !== undefined && head.length > 0) yield head;
}

/**
 * A copy of the raw upload in a temp file, written while the upload is parsed, so the
 * rare second pass (inference fell back) reads the file instead of holding the upload
 * in memory.
 */
export class Spool {
  private readonly stream: WriteStream;
  private failure: Error | undefined;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { highWaterMark: 32 << 20 });
    this.stream.on("error", (err) => {
      this.failure = err;
    });
  }

  /** Passes the chunks through, writing each to the spool first (with backpressure). */
  async *tee(source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array, void, undefined> {
    for await (const chunk of source) {
      if (this.failure) throw this.failure;
      if (!this.stream.write(chunk)) await once(this.stream, "drain");
      yield chunk;
    }
    this.stream.end();
    await once(this.stream, "close");
    if (this.failure) throw this.failure;
  }

  /** Reads the spooled upload from the start. */
  replay(): AsyncIterable<Uint8Array> {
    return createReadStream(this.path, { highWaterMark: 1 << 20 });
  }

  /** Closes the file if it is still open (after a failure). */
  async close(): Promise<void> {
    if (this.stream.closed) return;
    // Not once(): it would reject with the error destroy() gives pending writes.
    const closed = new Promise<void>((resolve) => this.stream.once("close", () => resolve()));
    this.stream.destroy();
    await closed;
  }
}
