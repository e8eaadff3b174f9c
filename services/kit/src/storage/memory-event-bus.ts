import { Subscription } from "./internal/subscription.js";
import type { EventBus } from "./ports.js";

/** Options of the event buses. */
export interface EventBusOptions {
  /** Messages buffered per subscriber before the oldest are dropped (default 1024). */
  readonly bufferSize?: number;
}

/**
 * In-process {@link EventBus}: delivery to the subscribers of this process only.
 * Each subscriber has its own bounded buffer, so a slow one neither blocks
 * publishers nor grows without limit (the oldest messages are dropped).
 * Payloads are copied once on publish and shared by the subscribers: treat them as read-only.
 */
export class MemoryEventBus implements EventBus {
  readonly #topics = new Map<string, Set<Subscription>>();
  readonly #bufferSize: number;
  #closed = false;

  constructor(options: EventBusOptions = {}) {
    this.#bufferSize = options.bufferSize ?? 1024;
  }

  async publish(topic: string, payload: Uint8Array): Promise<void> {
    if (this.#closed) throw new Error("event bus is closed");
    const subscribers = this.#topics.get(topic);
    if (subscribers === undefined) return;
    const message = payload.slice();
    for (const subscriber of subscribers) subscriber.push(message);
  }

  async subscribe(topic: string, signal: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
    if (this.#closed) throw new Error("event bus is closed");
    let subscribers = this.#topics.get(topic);
    if (subscribers === undefined) {
      subscribers = new Set();
      this.#topics.set(topic, subscribers);
    }
    const set = subscribers;
    const subscription = new Subscription(this.#bufferSize, signal, () => {
      set.delete(subscription);
      if (set.size === 0 && this.#topics.get(topic) === set) this.#topics.delete(topic);
    });
    if (!subscription.ended) set.add(subscription);
    return subscription;
  }

  /** Ends every subscription; later publishes and subscribes fail. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const subscribers of [...this.#topics.values()]) {
      for (const subscription of [...subscribers]) subscription.end();
    }
    this.#topics.clear();
  }
}
