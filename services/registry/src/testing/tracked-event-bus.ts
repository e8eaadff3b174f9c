import type { EventBus } from "@seam/kit/storage";

/**
 * An EventBus wrapper that counts live subscriptions, so a test knows when a watcher is
 * really listening (events published earlier are not replayed) and that it ended.
 */
export class TrackedEventBus implements EventBus {
  /** Subscriptions being iterated now. */
  active = 0;
  /** Subscriptions whose iteration has finished. */
  ended = 0;

  constructor(private readonly inner: EventBus) {}

  publish(topic: string, payload: Uint8Array): Promise<void> {
    return this.inner.publish(topic, payload);
  }

  async subscribe(topic: string, signal: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
    const messages = await this.inner.subscribe(topic, signal);
    this.active++;
    const track = async function* (this: TrackedEventBus) {
      try {
        yield* messages;
      } finally {
        this.active--;
        this.ended++;
      }
    };
    return track.call(this);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** Polls `condition` until it holds, failing after `timeoutMs`. */
export async function waitUntil(
  condition: () => boolean,
  timeoutMs = 5000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
