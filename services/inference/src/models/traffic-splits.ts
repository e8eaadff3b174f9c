import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { InvalidArgumentError } from "@seam/kit/errors";
import type { Logger } from "@seam/kit/logging";
import type { EventBus, MetaStore } from "@seam/kit/storage";
import { type TrafficSplit, TrafficSplitSchema } from "@seam/proto/seam/inference/v1/inference_pb";
import { checkAlias } from "@seam/registry";

/** Topic telling every replica that a model's split changed (payload: the model name). */
export const SPLITS_TOPIC = "inference.splits";

const splitKey = (model: string) => `inference/splits/${model}`;

/**
 * Traffic splits, shared by every replica: stored in the MetaStore, cached per process,
 * and dropped from every replica's cache through the EventBus when one changes, so a
 * request id lands on the same alias whichever replica answers it.
 */
export class TrafficSplits {
  readonly #meta: MetaStore;
  readonly #events: EventBus;
  readonly #cache = new Map<string, TrafficSplit | null>();
  readonly #logger: Logger | undefined;

  constructor(meta: MetaStore, events: EventBus, logger?: Logger) {
    this.#meta = meta;
    this.#events = events;
    this.#logger = logger;
  }

  /** Follows changes made by other replicas until the signal aborts. */
  async follow(signal: AbortSignal): Promise<void> {
    const changes = await this.#events.subscribe(SPLITS_TOPIC, signal);
    void (async () => {
      try {
        for await (const payload of changes) this.#cache.delete(new TextDecoder().decode(payload));
      } catch (error) {
        if (!signal.aborted) this.#logger?.warn({ err: error }, "traffic split changes no longer followed");
      }
    })();
  }

  /** The model's split, or undefined. Cached: a map lookup after the first call. */
  async get(model: string): Promise<TrafficSplit | undefined> {
    let split = this.#cache.get(model);
    if (split === undefined) {
      const bytes = await this.#meta.get(splitKey(model));
      split = bytes === undefined ? null : fromBinary(TrafficSplitSchema, bytes);
      this.#cache.set(model, split);
    }
    return split ?? undefined;
  }

  /** Sets (share > 0) or clears the model's split; returns what is in force. */
  async set(model: string, split: TrafficSplit | undefined): Promise<TrafficSplit | undefined> {
    const clear = split === undefined || split.secondaryShare === 0;
    if (!clear) checkSplit(split);
    await this.#meta.commit(
      clear
        ? { deletes: [splitKey(model)] }
        : { puts: [{ key: splitKey(model), value: toBinary(TrafficSplitSchema, split) }] },
    );
    this.#cache.delete(model);
    await this.#events.publish(SPLITS_TOPIC, new TextEncoder().encode(model));
    return clear ? undefined : create(TrafficSplitSchema, split);
  }
}

function checkSplit(split: TrafficSplit): void {
  checkAlias(split.primaryAlias, "split.primary_alias");
  checkAlias(split.secondaryAlias, "split.secondary_alias");
  if (split.primaryAlias === split.secondaryAlias) {
    throw new InvalidArgumentError("split: primary_alias and secondary_alias must differ");
  }
  const share = split.secondaryShare;
  if (!(share >= 0 && share <= 1)) {
    throw new InvalidArgumentError(`split.secondary_share must be between 0 and 1, got ${share}`);
  }
}

/**
 * Which alias a request goes to: the same request id always lands on the same side
 * (FNV-1a of the id, as a fraction of 2^32); without an id, chance decides.
 */
export function pickAlias(
  split: TrafficSplit,
  requestId: string,
  random: () => number = Math.random,
): string {
  let draw: number;
  if (requestId === "") draw = random();
  else {
    let hash = 0x811c9dc5;
    for (let i = 0; i < requestId.length; i++) {
      hash ^= requestId.charCodeAt(i);
      hash = Math.imul(hash, 0x01000193) >>> 0;
    }
    draw = hash / 0x1_0000_0000;
  }
  return draw < split.secondaryShare ? split.secondaryAlias : split.primaryAlias;
}
