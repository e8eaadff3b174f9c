import { create, fromBinary, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { Logger } from "@seam/kit/logging";
import type { EventBus } from "@seam/kit/storage";
import { type RegistryEvent, RegistryEventSchema } from "@seam/proto/seam/registry/v1/registry_pb";

/** The EventBus topic registry events travel on, shared by every replica. */
export const REGISTRY_EVENTS_TOPIC = "registry.events";

/** What happened, as the `kind` oneof of a RegistryEvent. */
export type RegistryEventKind = NonNullable<MessageInitShape<typeof RegistryEventSchema>["kind"]>;

/**
 * Registry events over the EventBus: published by the replica that committed a change,
 * delivered to the watchers of every replica.
 */
export class RegistryEvents {
  constructor(
    private readonly bus: EventBus,
    private readonly logger: Logger,
    private readonly topic = REGISTRY_EVENTS_TOPIC,
  ) {}

  /**
   * Publishes events of a change that has already been committed. Never throws: the change
   * stands whatever the bus does, so a failure is logged rather than failing the call.
   */
  async publish(modelName: string, ...kinds: RegistryEventKind[]): Promise<void> {
    for (const kind of kinds) {
      const event = create(RegistryEventSchema, { modelName, time: timestampNow(), kind });
      try {
        await this.bus.publish(this.topic, toBinary(RegistryEventSchema, event));
      } catch (err) {
        this.logger.error({ err, model: modelName, event: kind.case }, "publishing a registry event failed");
      }
    }
  }

  /**
   * Events published after the subscription is made, of one model (or all when
   * `modelName` is empty), until `signal` aborts; then the iteration ends without error.
   */
  async *watch(modelName: string, signal: AbortSignal): AsyncGenerator<RegistryEvent> {
    const messages = await this.bus.subscribe(this.topic, signal);
    for await (const payload of messages) {
      let event: RegistryEvent;
      try {
        event = fromBinary(RegistryEventSchema, payload);
      } catch (err) {
        this.logger.warn({ err }, "skipped an undecodable registry event");
        continue;
      }
      if (modelName === "" || event.modelName === modelName) yield event;
    }
  }
}
