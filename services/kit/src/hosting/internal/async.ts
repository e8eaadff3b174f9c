import type { EventEmitter } from "node:events";
import type { Readable } from "node:stream";
import { getAbortSignalReason } from "@connectrpc/connect/protocol";

/**
 * Promise that rejects with the signal's reason once it aborts; `cleanup` removes the
 * listener so long-lived signals do not collect one per awaited step.
 */
function abortPromise(signal: AbortSignal): { promise: Promise<never>; cleanup: () => void } {
  let onAbort = (): void => {};
  const promise = new Promise<never>((_, reject) => {
    onAbort = () => reject(getAbortSignalReason(signal));
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  // The race below observes the rejection; this keeps an unobserved one from crashing.
  promise.catch(() => {});
  return { promise, cleanup: () => signal.removeEventListener("abort", onAbort) };
}

/** Waits for 'drain' on a writable, or rejects when the signal aborts or the stream closes. */
export async function waitForDrain(stream: EventEmitter, signal: AbortSignal): Promise<void> {
  const aborted = abortPromise(signal);
  let onDrain = (): void => {};
  let onClose = (): void => {};
  try {
    await Promise.race([
      aborted.promise,
      new Promise<void>((resolve, reject) => {
        onDrain = resolve;
        onClose = () => reject(new Error("stream closed while waiting for drain"));
        stream.once("drain", onDrain);
        stream.once("close", onClose);
      }),
    ]);
  } finally {
    aborted.cleanup();
    stream.removeListener("drain", onDrain);
    stream.removeListener("close", onClose);
  }
}

/** Sleeps `ms`, rejecting early with the signal's reason when it aborts. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal === undefined) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return;
  }
  const aborted = abortPromise(signal);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([aborted.promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  } finally {
    clearTimeout(timer);
    aborted.cleanup();
  }
}

/**
 * Iterates a grpc-js call's incoming messages without destroying the call at the end.
 * A plain `for await` over a Readable destroys it once the input ends, and a destroyed
 * duplex call never sends its status: a bidi handler still writing would hang.
 */
export function readMessages<T>(call: unknown): AsyncIterable<T> {
  return (call as Readable).iterator({ destroyOnReturn: false }) as AsyncIterable<T>;
}
