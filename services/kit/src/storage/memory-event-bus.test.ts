import { describe, expect, it } from "vitest";
import { describeEventBusContract } from "./event-bus.contract.js";
import { MemoryEventBus } from "./memory-event-bus.js";

describeEventBusContract("MemoryEventBus", async () => {
  const bus = new MemoryEventBus();
  return { bus, peer: bus, cleanup: () => bus.close() };
});

describe("MemoryEventBus buffering", () => {
  it("drops the oldest messages of a subscriber that falls behind, without blocking publishers", async () => {
    const bus = new MemoryEventBus({ bufferSize: 3 });
    const controller = new AbortController();
    const sub = await bus.subscribe("t", controller.signal);
    for (let i = 0; i < 10; i++) await bus.publish("t", new Uint8Array([i]));
    const got: number[] = [];
    for await (const m of sub) {
      got.push(m[0] ?? -1);
      if (got.length === 3) controller.abort();
    }
    expect(got).toEqual([7, 8, 9]);
    await bus.close();
  });

  it("copies the payload on publish, so the publisher may reuse its buffer", async () => {
    const bus = new MemoryEventBus();
    const controller = new AbortController();
    const sub = await bus.subscribe("t", controller.signal);
    const buffer = new Uint8Array([1]);
    await bus.publish("t", buffer);
    buffer[0] = 2;
    const first = await sub[Symbol.asyncIterator]().next();
    expect(first.value?.[0]).toBe(1);
    controller.abort();
    await bus.close();
  });
});
