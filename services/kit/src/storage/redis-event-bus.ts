import type { Redis } from "ioredis";
import { asBuffer } from "./internal/bytes.js";
import { Subscription } from "./internal/subscription.js";
import type { EventBusOptions } from "./memory-event-bus.js";
import type { EventBus } from "./ports.js";

/** Options of {@link RedisEventBus}. */
export interface RedisEventBusOptions extends EventBusOptions {
  /** Connection used to publish (not owned); the bus duplicates it once for subscribing. */
  readonly redis: Redis;
  /** Prepended to every channel name (default `"seam:"`). */
  readonly keyPrefix?: string;
}

interface Channel {
  readonly subscribers: Set<Subscription>;
  /** Settles when Redis has confirmed the SUBSCRIBE. */
  readonly ready: Promise<void>;
}

/**
 * {@link EventBus} on Redis pub/sub, reaching every process connected to the same Redis.
 * Publishing uses the shared connection; all topics this bus subscribes to share one
 * dedicated subscriber connection (a connection in subscribe mode can do nothing else).
 * A channel is subscribed while it has at least one local subscriber.
 */
export class RedisEventBus implements EventBus {
  readonly #redis: Redis;
  readonly #prefix: string;
  readonly #bufferSize: number;
  readonly #channels = new Map<string, Channel>();
  #subscriber: Redis | undefined;
  #closed = false;

  constructor(options: RedisEventBusOptions) {
    this.#redis = options.redis;
    this.#prefix = `${options.keyPrefix ?? "seam:"}events:`;
    this.#bufferSize = options.bufferSize ?? 1024;
  }

  async publish(topic: string, payload: Uint8Array): Promise<void> {
    if (this.#closed) throw new Error("event bus is closed");
    await this.#redis.publish(this.#prefix + topic, asBuffer(payload));
  }

  async subscribe(topic: string, signal: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
    if (this.#closed) throw new Error("event bus is closed");
    const name = this.#prefix + topic;
    let channel = this.#channels.get(name);
    const subscription = new Subscription(this.#bufferSize, signal, () => this.#leave(name, subscription));
    if (subscription.ended) return subscription;
    if (channel === undefined) {
      channel = {
        subscribers: new Set(),
        ready: this.#connection()
          .subscribe(name)
          .then(() => {}),
      };
      this.#channels.set(name, channel);
    }
    channel.subscribers.add(subscription);
    try {
      // Resolving only after Redis's confirmation is what guarantees that nothing
      // published from now on is missed.
      await channel.ready;
    } catch (err) {
      subscription.end();
      throw err;
    }
    return subscription;
  }

  /** Ends every subscription and closes the subscriber connection (not the shared one). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const channel of [...this.#channels.values()]) {
      for (const subscription of [...channel.subscribers]) subscription.end();
    }
    this.#channels.clear();
    await this.#subscriber?.quit().catch(() => this.#subscriber?.disconnect());
  }

  #connection(): Redis {
    if (this.#subscriber === undefined) {
      const subscriber = this.#redis.duplicate();
      // ioredis reconnects and resubscribes by itself; without a listener it would log
      // each connection error to stderr.
      subscriber.on("error", () => {});
      subscriber.on("messageBuffer", (channel: Buffer, message: Buffer) => {
        const target = this.#channels.get(channel.toString("utf8"));
        if (target === undefined) return;
        for (const subscription of target.subscribers) subscription.push(message);
      });
      this.#subscriber = subscriber;
    }
    return this.#subscriber;
  }

  #leave(name: string, subscription: Subscription): void {
    const channel = this.#channels.get(name);
    if (channel === undefined || !channel.subscribers.delete(subscription)) return;
    if (channel.subscribers.size > 0) return;
    this.#channels.delete(name);
    // Commands on one connection run in order, so a later SUBSCRIBE for the same
    // channel still lands after this UNSUBSCRIBE.
    if (!this.#closed) this.#subscriber?.unsubscribe(name).catch(() => {});
  }
}
