import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { EventBus } from "./ports.js";

/** A fresh bus for one test and a peer: another process's view of the same bus (or the same bus in-process). */
export interface EventBusFixture {
  readonly bus: EventBus;
  readonly peer: EventBus;
  cleanup(): Promise<void>;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Takes `n` messages, failing if they do not arrive within `ms`. */
async function take(iterable: AsyncIterable<Uint8Array>, n: number, ms = 5_000): Promise<string[]> {
  const out: string[] = [];
  const iterator = iterable[Symbol.asyncIterator]();
  const deadline = Date.now() + ms;
  while (out.length < n) {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`got ${out.length}/${n} messages: ${out.join(",")}`)),
        deadline - Date.now(),
      );
    });
    const r = await Promise.race([iterator.next(), timeout]).finally(() => clearTimeout(timer));
    if (r.done === true) throw new Error(`iterator ended after ${out.length}/${n} messages`);
    out.push(dec(r.value));
  }
  return out;
}

/** The behaviour every {@link EventBus} adapter must have. */
export function describeEventBusContract(name: string, open: () => Promise<EventBusFixture>): void {
  describe(`EventBus contract: ${name}`, () => {
    let fixture: EventBusFixture;
    let controller: AbortController;
    beforeEach(async () => {
      fixture = await open();
      controller = new AbortController();
    });
    afterEach(async () => {
      controller.abort();
      await fixture.cleanup();
    });

    it("delivers every message, in order, to every subscriber of the topic", async () => {
      const { bus, peer } = fixture;
      const one = await bus.subscribe("alias", controller.signal);
      const two = await peer.subscribe("alias", controller.signal);
      const three = await bus.subscribe("alias", controller.signal);
      for (let i = 0; i < 5; i++) await peer.publish("alias", enc(`m${i}`));
      const expected = ["m0", "m1", "m2", "m3", "m4"];
      expect(await take(one, 5)).toEqual(expected);
      expect(await take(two, 5)).toEqual(expected);
      expect(await take(three, 5)).toEqual(expected);
    });

    it("keeps topics apart", async () => {
      const { bus, peer } = fixture;
      const jobs = await bus.subscribe("jobs", controller.signal);
      const unicode = await bus.subscribe("modèles/日本", controller.signal);
      await peer.publish("aliases", enc("not for jobs"));
      await peer.publish("modèles/日本", enc("u"));
      await peer.publish("jobs", enc("j"));
      expect(await take(jobs, 1)).toEqual(["j"]);
      expect(await take(unicode, 1)).toEqual(["u"]);
    });

    it("misses nothing published right after subscribe resolves", async () => {
      const { bus, peer } = fixture;
      for (let round = 0; round < 5; round++) {
        const sub = await bus.subscribe(`t${round}`, controller.signal);
        await Promise.all(Array.from({ length: 50 }, (_, i) => peer.publish(`t${round}`, enc(String(i)))));
        const got = await take(sub, 50);
        expect(got.sort((a, b) => Number(a) - Number(b))).toEqual(
          Array.from({ length: 50 }, (_, i) => String(i)),
        );
      }
    });

    it("ends the iterator cleanly when the signal aborts", async () => {
      const { bus, peer } = fixture;
      const local = new AbortController();
      const sub = await bus.subscribe("t", local.signal);
      const stay = await bus.subscribe("t", controller.signal);
      const consumed: string[] = [];
      const loop = (async () => {
        for await (const m of sub) consumed.push(dec(m));
      })();
      await peer.publish("t", enc("before"));
      expect(await take(stay, 1)).toEqual(["before"]);
      local.abort();
      await expect(loop).resolves.toBeUndefined();
      expect(consumed).toEqual(["before"]);
      // The other subscriber of the topic is unaffected.
      await peer.publish("t", enc("after"));
      expect(await take(stay, 1)).toEqual(["after"]);
    });

    it("returns an ended iterator for an already aborted signal", async () => {
      const local = new AbortController();
      local.abort();
      const sub = await fixture.bus.subscribe("t", local.signal);
      const next = await sub[Symbol.asyncIterator]().next();
      expect(next.done).toBe(true);
    });

    it("can resubscribe after a consumer breaks out of its loop", async () => {
      const { bus, peer } = fixture;
      const first = await bus.subscribe("t", controller.signal);
      await peer.publish("t", enc("1"));
      for await (const _ of first) break;
      const second = await bus.subscribe("t", controller.signal);
      await peer.publish("t", enc("2"));
      expect(await take(second, 1)).toEqual(["2"]);
    });

    it("ends subscriptions when the bus closes", async () => {
      const local = new AbortController();
      const sub = await fixture.bus.subscribe("t", local.signal);
      const loop = (async () => {
        for await (const _ of sub) {
          // drain
        }
      })();
      await fixture.bus.close();
      await expect(loop).resolves.toBeUndefined();
    });
  });
}
