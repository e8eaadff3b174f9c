import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../errors/index.js";
import type { OnlineRead, OnlineRecord, OnlineStore } from "./ports.js";

/** A fresh, empty store for one test, plus a second client ("replica") of the same data. */
export interface OnlineStoreFixture {
  readonly store: OnlineStore;
  /** Opens another client on the same data, as a second replica would. Closed by `cleanup`. */
  openReplica(): Promise<OnlineStore>;
  cleanup(): Promise<void>;
}

type Values = OnlineRecord["values"];

const record = (entityKey: string, group: string, eventTime: number, values: Values): OnlineRecord => ({
  entityKey,
  group,
  eventTime,
  values,
});
const read = (entityKey: string, group: string, fields: string[]): OnlineRead => ({
  entityKey,
  group,
  fields,
});

/**
 * The behaviour every {@link OnlineStore} adapter must have. Call it from an adapter's
 * test file with a factory returning a fresh, empty store per test.
 */
export function describeOnlineStoreContract(name: string, open: () => Promise<OnlineStoreFixture>): void {
  describe(`OnlineStore contract: ${name}`, () => {
    let fixture: OnlineStoreFixture;
    let store: OnlineStore;
    beforeEach(async () => {
      fixture = await open();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    const readOne = async (entityKey: string, group: string, fields: string[], target = store) =>
      (await target.read([read(entityKey, group, fields)]))[0];

    describe("read", () => {
      it("answers undefined for an entity or a group with no record", async () => {
        expect(await store.read([read("user_id=1", "g", ["f"])])).toEqual([undefined]);
        expect(await store.write([record("user_id=1", "g", 100, [["f", "1"]])])).toBe(1);
        expect(await readOne("user_id=1", "other", ["f"])).toBeUndefined();
        expect(await readOne("user_id=2", "g", ["f"])).toBeUndefined();
      });

      it("returns the event time and the requested fields in the requested order, null when unknown", async () => {
        await store.write([
          record("user_id=42", "user_stats.k3x9", 1_700_000_000_123, [
            ["a", "1"],
            ["b", "2"],
            ["c", "3"],
          ]),
        ]);
        expect(await readOne("user_id=42", "user_stats.k3x9", ["c", "a", "unknown", "b", "a"])).toEqual({
          eventTime: 1_700_000_000_123,
          values: ["3", "1", null, "2", "1"],
        });
        expect(await readOne("user_id=42", "user_stats.k3x9", [])).toEqual({
          eventTime: 1_700_000_000_123,
          values: [],
        });
      });

      it("keeps values and names verbatim: empty strings, unicode, separators, object-ish names", async () => {
        const values: Values = [
          ["empty", ""],
          ["text", "日本 😀 \uff01"],
          ["x:y#ts", "a:b#ts"],
          ["#ts", "not the time"],
          ["ts", "nor this"],
          ["__proto__", "p"],
          ["json", '{"k":[1,null]}'],
        ];
        await store.write([record("merchant_id=7,user_id=42", "g", 5, values)]);
        const fields = [...values.map(([field]) => field), "toString", "constructor", "hasOwnProperty"];
        expect(await readOne("merchant_id=7,user_id=42", "g", fields)).toEqual({
          eventTime: 5,
          values: [...values.map(([, value]) => value), null, null, null],
        });
      });

      it("reads many entities in one call, in the order asked, duplicates and misses included", async () => {
        const n = 100;
        await store.write(
          Array.from({ length: n }, (_, i) =>
            record(`user_id=${i}`, i % 2 ? "odd" : "even", 1000 + i, [["n", String(i)]]),
          ),
        );
        const reads: OnlineRead[] = [];
        for (let i = n - 1; i >= 0; i--) reads.push(read(`user_id=${i}`, i % 2 ? "odd" : "even", ["n", "x"]));
        reads.push(
          read("user_id=7", "odd", ["n"]),
          read("user_id=7", "even", ["n"]),
          read("nobody", "odd", []),
        );
        reads.push(read("user_id=7", "odd", ["x", "n"]));
        const results = await store.read(reads);
        expect(results).toHaveLength(reads.length);
        for (let k = 0; k < n; k++) {
          const i = n - 1 - k;
          expect(results[k]).toEqual({ eventTime: 1000 + i, values: [String(i), null] });
        }
        expect(results.slice(n)).toEqual([
          { eventTime: 1007, values: ["7"] },
          undefined,
          undefined,
          { eventTime: 1007, values: [null, "7"] },
        ]);
      });

      it("reads [] as []", async () => {
        expect(await store.read([])).toEqual([]);
      });
    });

    describe("write", () => {
      it("removes a field written null; a record of nulls only still exists", async () => {
        await store.write([
          record("e", "g", 1, [
            ["a", "1"],
            ["b", "2"],
          ]),
        ]);
        expect(await store.write([record("e", "g", 2, [["b", null]])])).toBe(1);
        expect(await readOne("e", "g", ["a", "b"])).toEqual({ eventTime: 2, values: ["1", null] });
        expect(await store.write([record("e", "nulls", 5, [["a", null]])])).toBe(1);
        expect(await readOne("e", "nulls", ["a"])).toEqual({ eventTime: 5, values: [null] });
        expect(await store.write([record("e", "none", 6, [])])).toBe(1);
        expect(await readOne("e", "none", ["a"])).toEqual({ eventTime: 6, values: [null] });
      });

      it("skips a record older than the stored one entirely and does not count it", async () => {
        await store.write([record("e", "g", 200, [["a", "1"]])]);
        const older = record("e", "g", 199, [
          ["a", "old"],
          ["b", "old"],
          ["c", null],
        ]);
        expect(await store.write([older])).toBe(0);
        expect(await readOne("e", "g", ["a", "b"])).toEqual({ eventTime: 200, values: ["1", null] });
        expect(await store.write([older, record("e", "g", 201, [["b", "new"]]), older])).toBe(1);
        expect(await readOne("e", "g", ["a", "b"])).toEqual({ eventTime: 201, values: ["1", "new"] });
      });

      it("applies a record with the same event time as the stored one", async () => {
        await store.write([record("e", "g", 200, [["a", "1"]])]);
        expect(
          await store.write([
            record("e", "g", 200, [
              ["a", "2"],
              ["b", "2"],
            ]),
          ]),
        ).toBe(1);
        expect(await readOne("e", "g", ["a", "b"])).toEqual({ eventTime: 200, values: ["2", "2"] });
      });

      it("changes only the fields a newer record lists", async () => {
        await store.write([
          record("e", "g", 1, [
            ["a", "1"],
            ["b", "1"],
          ]),
        ]);
        await store.write([
          record("e", "g", 2, [
            ["b", "2"],
            ["c", "2"],
          ]),
        ]);
        expect(await readOne("e", "g", ["a", "b", "c"])).toEqual({ eventTime: 2, values: ["1", "2", "2"] });
      });

      it("keeps the groups of one entity independent", async () => {
        await store.write([record("e", "g1", 100, [["f", "1"]]), record("e", "g2", 50, [["f", "2"]])]);
        // Each group compares with its own time only: 60 < 100 still applies to g2, 90 not to g1.
        expect(
          await store.write([record("e", "g2", 60, [["f", "3"]]), record("e", "g1", 90, [["f", "x"]])]),
        ).toBe(1);
        expect(await store.write([record("e", "g2", 70, [["only2", "y"]])])).toBe(1);
        expect(
          await store.read([
            read("e", "g1", ["f", "only2"]),
            read("e", "g2", ["f", "only2"]),
            read("e", "g3", []),
          ]),
        ).toEqual([
          { eventTime: 100, values: ["1", null] },
          { eventTime: 70, values: ["3", "y"] },
          undefined,
        ]);
      });

      it("applies a batch's records in order, the newest winning per (entity, group)", async () => {
        const applied = await store.write([
          record("e", "g", 1, [["a", "1"]]),
          record("e", "g", 3, [["a", "3"]]),
          record("e", "g", 2, [
            ["a", "2"],
            ["b", "2"],
          ]),
          record("other", "g", 1, [["a", "other"]]),
          record("e", "g", 3, [["b", "3"]]),
        ]);
        expect(applied).toBe(4);
        expect(await store.read([read("e", "g", ["a", "b"]), read("other", "g", ["a"])])).toEqual([
          { eventTime: 3, values: ["3", "3"] },
          { eventTime: 1, values: ["other"] },
        ]);
      });

      it("lets the last mention win when a record lists a field twice", async () => {
        await store.write([
          record("e", "g", 1, [
            ["a", "1"],
            ["a", null],
            ["a", "2"],
            ["b", "1"],
            ["b", null],
          ]),
        ]);
        expect(await readOne("e", "g", ["a", "b"])).toEqual({ eventTime: 1, values: ["2", null] });
      });

      it("writes [] as 0 applied", async () => {
        expect(await store.write([])).toBe(0);
      });

      it("orders event times numerically across the whole safe-integer range", async () => {
        const max = Number.MAX_SAFE_INTEGER;
        await store.write([record("neg", "g", -5, [["a", "-5"]]), record("big", "g", max - 1, [["a", "1"]])]);
        expect(
          await store.write([record("neg", "g", -6, [["a", "-6"]]), record("neg", "g", 0, [["b", "0"]])]),
        ).toBe(1);
        expect(
          await store.write([
            record("big", "g", max - 2, [["a", "2"]]),
            record("big", "g", max, [["b", "3"]]),
          ]),
        ).toBe(1);
        expect(await store.read([read("neg", "g", ["a", "b"]), read("big", "g", ["a", "b"])])).toEqual([
          { eventTime: 0, values: ["-5", "0"] },
          { eventTime: max, values: ["1", "3"] },
        ]);
      });

      it("refuses an invalid group, naming it, and writes nothing of the batch", async () => {
        for (const group of ["a:b", "a#b", "a\0b"]) {
          const error = await store
            .write([record("e", "ok", 1, [["f", "1"]]), record("e", group, 1, [["f", "1"]])])
            .catch((err: unknown) => err);
          expect(error).toBeInstanceOf(Error);
          expect(error).toBeInstanceOf(InvalidArgumentError);
          expect((error as Error).message).toContain(JSON.stringify(group));
          await expect(store.read([read("e", group, ["f"])])).rejects.toThrow(JSON.stringify(group));
        }
        await expect(store.write([record("e", "", 1, [])])).rejects.toBeInstanceOf(InvalidArgumentError);
        expect(await readOne("e", "ok", ["f"])).toBeUndefined();
      });

      it("refuses malformed entity keys, field names, values and event times", async () => {
        const bad: OnlineRecord[] = [
          record("", "g", 1, []),
          record("a\0b", "g", 1, []),
          record("\ud800", "g", 1, []),
          record("x".repeat(1025), "g", 1, []),
          record("e", "g".repeat(257), 1, []),
          record("e", "g", 1, [["", "1"]]),
          record("e", "g", 1, [["f\0", "1"]]),
          record("e", "g", 1, [["f", "\udc00"]]),
          record("e", "g", 1.5, []),
          record("e", "g", Number.NaN, []),
          record("e", "g", 2 ** 53, []),
        ];
        for (const r of bad) await expect(store.write([r])).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(store.read([read("", "g", [])])).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(store.read([read("e", "g", ["f\0"])])).rejects.toBeInstanceOf(InvalidArgumentError);
        expect(await readOne("e", "g", ["f"])).toBeUndefined();
        // The longest accepted entity key and group together still fit.
        const longest = record("é".repeat(512), "g".repeat(256), 1, [["f", "1"]]);
        expect(await store.write([longest])).toBe(1);
        expect(await readOne(longest.entityKey, longest.group, ["f"])).toEqual({
          eventTime: 1,
          values: ["1"],
        });
      });

      it("writes 5000 records in one call", async () => {
        const records = Array.from({ length: 5000 }, (_, i) =>
          record(`user_id=${i >> 1}`, i % 2 ? "b" : "a", 10 + i, [
            ["i", String(i)],
            ["v", `value ${i}`],
          ]),
        );
        expect(await store.write(records)).toBe(5000);
        const results = await store.read(records.map((r) => read(r.entityKey, r.group, ["v", "i"])));
        expect(results).toEqual(
          records.map((_, i) => ({ eventTime: 10 + i, values: [`value ${i}`, String(i)] })),
        );
      });

      it("writes and reads a record with thousands of fields", async () => {
        const fields = Array.from({ length: 5000 }, (_, i) => `f${i}`);
        await store.write([
          record(
            "wide",
            "g",
            1,
            fields.map((f) => [f, `v${f}`]),
          ),
        ]);
        await store.write([
          record(
            "wide",
            "g",
            2,
            fields.filter((_, i) => i % 2).map((f) => [f, null]),
          ),
        ]);
        const result = await readOne("wide", "g", fields);
        expect(result?.eventTime).toBe(2);
        expect(result?.values).toEqual(fields.map((f, i) => (i % 2 ? null : `v${f}`)));
      });

      it("lets the newest event time win among concurrent writers on two replicas", async () => {
        const replica = await fixture.openReplica();
        const clients = [store, replica];
        // Every time from 1 to 40, sent in a scrambled order, alternating clients.
        const times = Array.from({ length: 40 }, (_, i) => ((i * 17) % 40) + 1);
        await Promise.all(
          times.map((t, i) =>
            (clients[i % 2] as OnlineStore).write([
              record("e", "g", t, [
                ["t", String(t)],
                [`seen${t}`, "1"],
              ]),
            ]),
          ),
        );
        for (const client of clients) {
          const result = await readOne("e", "g", ["t", "seen40"], client);
          expect(result).toEqual({ eventTime: 40, values: ["40", "1"] });
        }
      });
    });
  });
}
