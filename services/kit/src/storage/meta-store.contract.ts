import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { InvalidArgumentError } from "../errors/index.js";
import type { MetaStore } from "./ports.js";
import { scanPrefix } from "./scan.js";
import { scopeMetaStore } from "./scope-meta-store.js";
import { updateWithRetry } from "./update-with-retry.js";

/** A fresh, empty store for one test, plus a second client ("replica") of the same data. */
export interface MetaStoreFixture {
  readonly store: MetaStore;
  /** Opens another client on the same data, as a second replica would. Closed by `cleanup`. */
  openReplica(): Promise<MetaStore>;
  cleanup(): Promise<void>;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string | undefined =>
  b === undefined ? undefined : new TextDecoder().decode(b);
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

// Chosen so UTF-16 order (JS sort) and UTF-8 byte order disagree ("\uff01" vs "😀"),
// and to include "/" separators, a key equal to a prefix, and multi-byte characters.
const KEYS = ["a", "a/b", "a/b/c", "a/ü", "a0", "b", "é", "日本/x", "😀", "\uff01", "a/", "ab"];

/**
 * The behaviour every {@link MetaStore} adapter must have. Call it from an adapter's
 * test file with a factory returning a fresh, empty store per test.
 */
export function describeMetaStoreContract(name: string, open: () => Promise<MetaStoreFixture>): void {
  describe(`MetaStore contract: ${name}`, () => {
    let fixture: MetaStoreFixture;
    let store: MetaStore;
    beforeEach(async () => {
      fixture = await open();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    const putAll = async (keys: string[], target: MetaStore = store): Promise<void> => {
      expect(await target.commit({ puts: keys.map((key) => ({ key, value: enc(`v:${key}`) })) })).toBe(true);
    };
    const listKeys = async (range: Parameters<MetaStore["list"]>[0], target: MetaStore = store) =>
      (await target.list(range)).map((e) => e.key);

    describe("scanPrefix", () => {
      it("yields every key under the prefix in order, a batch at a time, and nothing else", async () => {
        await putAll(["s/1", "s/2", "s/3", "s/4", "s/5", "t/1", "r/1"]);
        const scanned: string[] = [];
        for await (const entry of scanPrefix(store, "s/", 2)) scanned.push(entry.key);
        expect(scanned).toEqual(["s/1", "s/2", "s/3", "s/4", "s/5"]);
        const exact: string[] = [];
        for await (const entry of scanPrefix(store, "s/", 5)) exact.push(entry.key);
        expect(exact).toHaveLength(5);
        for await (const entry of scanPrefix(store, "none/")) throw new Error(`unexpected ${entry.key}`);
      });
    });

    describe("get and getMany", () => {
      it("returns undefined for absent keys and the stored bytes otherwise", async () => {
        expect(await store.get("missing")).toBeUndefined();
        await putAll(["k1", "k2"]);
        expect(dec(await store.get("k1"))).toBe("v:k1");
        expect((await store.getMany(["k2", "missing", "k1"])).map(dec)).toEqual(["v:k2", undefined, "v:k1"]);
        expect(await store.getMany([])).toEqual([]);
      });

      it("keeps an empty value distinct from an absent key, and arbitrary bytes intact", async () => {
        const binary = new Uint8Array([0, 255, 1, 0, 128]);
        await store.commit({
          puts: [
            { key: "empty", value: new Uint8Array() },
            { key: "bin", value: binary },
          ],
        });
        const empty = await store.get("empty");
        expect(empty).toBeDefined();
        expect(empty?.length).toBe(0);
        expect([...((await store.get("bin")) ?? [])]).toEqual([...binary]);
        expect(await store.commit({ checks: [{ key: "empty", expect: undefined }] })).toBe(false);
        expect(await store.commit({ checks: [{ key: "empty", expect: new Uint8Array() }] })).toBe(true);
      });

      it("round-trips keys with unicode and slashes", async () => {
        await putAll(KEYS);
        for (const key of KEYS) expect(dec(await store.get(key))).toBe(`v:${key}`);
      });

      it("refuses empty and malformed keys", async () => {
        await expect(store.get("")).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(store.commit({ puts: [{ key: "a\0b", value: enc("x") }] })).rejects.toBeInstanceOf(
          InvalidArgumentError,
        );
        await expect(store.commit({ puts: [{ key: "\ud800", value: enc("x") }] })).rejects.toBeInstanceOf(
          InvalidArgumentError,
        );
      });
    });

    describe("list", () => {
      beforeEach(async () => {
        // Inserted in a scrambled order so insertion order cannot pass for sorting.
        await putAll([...KEYS].reverse());
        await putAll(["zz"]);
      });

      it("lists everything in UTF-8 byte order, with values", async () => {
        const all = await store.list({ prefix: "" });
        expect(all.map((e) => e.key)).toEqual([...KEYS, "zz"].sort(byteOrder));
        for (const e of all) expect(dec(e.value)).toBe(`v:${e.key}`);
      });

      it("lists only keys starting with the prefix, the prefix itself included", async () => {
        expect(await listKeys({ prefix: "a/" })).toEqual(["a/", "a/b", "a/b/c", "a/ü"]);
        expect(await listKeys({ prefix: "a" })).toEqual(["a", "a/", "a/b", "a/b/c", "a/ü", "a0", "ab"]);
        expect(await listKeys({ prefix: "日本/" })).toEqual(["日本/x"]);
        expect(await listKeys({ prefix: "nothing" })).toEqual([]);
      });

      it("reverses the order", async () => {
        expect(await listKeys({ prefix: "a", reverse: true })).toEqual(
          ["a", "a/", "a/b", "a/b/c", "a/ü", "a0", "ab"].reverse(),
        );
        expect(await listKeys({ prefix: "", reverse: true, limit: 2 })).toEqual(["😀", "\uff01"]);
      });

      it("honours limit, and limit 0 lists nothing", async () => {
        expect(await listKeys({ prefix: "a", limit: 3 })).toEqual(["a", "a/", "a/b"]);
        expect(await listKeys({ prefix: "a", limit: 0 })).toEqual([]);
        await expect(store.list({ prefix: "a", limit: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
      });

      it("starts strictly after `after`, in both directions", async () => {
        expect(await listKeys({ prefix: "a", after: "a/b" })).toEqual(["a/b/c", "a/ü", "a0", "ab"]);
        expect(await listKeys({ prefix: "a", after: "a/b", reverse: true })).toEqual(["a/", "a"]);
        // `after` need not be a stored key, nor inside the prefix.
        expect(await listKeys({ prefix: "a/", after: "a/a" })).toEqual(["a/b", "a/b/c", "a/ü"]);
        expect(await listKeys({ prefix: "a/", after: "0" })).toEqual(["a/", "a/b", "a/b/c", "a/ü"]);
        expect(await listKeys({ prefix: "a/", after: "b" })).toEqual([]);
        expect(await listKeys({ prefix: "a/", after: "b", reverse: true })).toEqual([
          "a/ü",
          "a/b/c",
          "a/b",
          "a/",
        ]);
        expect(await listKeys({ prefix: "a/", after: "a/", reverse: true })).toEqual([]);
        expect(await listKeys({ prefix: "a/", after: "0", reverse: true })).toEqual([]);
      });

      it("pages through a prefix with after + limit, forwards and backwards", async () => {
        for (const reverse of [false, true]) {
          const seen: string[] = [];
          let after: string | undefined;
          for (;;) {
            const page = await listKeys({
              prefix: "",
              limit: 2,
              reverse,
              ...(after === undefined ? {} : { after }),
            });
            if (page.length === 0) break;
            seen.push(...page);
            after = page.at(-1);
          }
          const expected = [...KEYS, "zz"].sort(byteOrder);
          expect(seen).toEqual(reverse ? expected.reverse() : expected);
        }
      });

      it("stops listing deleted keys", async () => {
        expect(await store.commit({ deletes: ["a/b", "a0", "never-there"] })).toBe(true);
        expect(await listKeys({ prefix: "a" })).toEqual(["a", "a/", "a/b/c", "a/ü", "ab"]);
        expect(await store.get("a/b")).toBeUndefined();
      });
    });

    describe("commit", () => {
      it("applies puts and deletes when every check holds", async () => {
        await putAll(["x", "y"]);
        const ok = await store.commit({
          checks: [
            { key: "x", expect: enc("v:x") },
            { key: "new", expect: undefined },
          ],
          puts: [
            { key: "x", value: enc("x2") },
            { key: "new", value: enc("n") },
          ],
          deletes: ["y"],
        });
        expect(ok).toBe(true);
        expect((await store.getMany(["x", "new", "y"])).map(dec)).toEqual(["x2", "n", undefined]);
      });

      it("applies deletes after puts", async () => {
        expect(await store.commit({ puts: [{ key: "both", value: enc("x") }], deletes: ["both"] })).toBe(
          true,
        );
        expect(await store.get("both")).toBeUndefined();
        expect(await listKeys({ prefix: "" })).toEqual([]);
      });

      it("writes nothing at all when one check fails", async () => {
        await putAll(["x", "y"]);
        const ok = await store.commit({
          checks: [
            { key: "x", expect: enc("v:x") }, // holds
            { key: "y", expect: enc("v:y-other") }, // fails
          ],
          puts: [
            { key: "x", value: enc("changed") },
            { key: "fresh", value: enc("f") },
          ],
          deletes: ["y"],
        });
        expect(ok).toBe(false);
        expect((await store.getMany(["x", "y", "fresh"])).map(dec)).toEqual(["v:x", "v:y", undefined]);
        expect(await listKeys({ prefix: "" })).toEqual(["x", "y"]);
      });

      it("compares whole values byte for byte", async () => {
        await store.commit({ puts: [{ key: "k", value: enc("abc") }] });
        for (const wrong of ["ab", "abcd", "abd", ""]) {
          expect(await store.commit({ checks: [{ key: "k", expect: enc(wrong) }] })).toBe(false);
        }
        expect(await store.commit({ checks: [{ key: "k", expect: enc("abc") }] })).toBe(true);
      });

      it("treats `expect: undefined` as 'must be absent'", async () => {
        const create = {
          checks: [{ key: "once", expect: undefined }],
          puts: [{ key: "once", value: enc("1") }],
        };
        expect(await store.commit(create)).toBe(true);
        expect(await store.commit(create)).toBe(false);
        await store.commit({ deletes: ["once"] });
        expect(await store.commit(create)).toBe(true);
      });

      it("lets exactly one of many concurrent compare-and-sets win each round, across replicas", async () => {
        const replica = await fixture.openReplica();
        const clients = [store, replica];
        await store.commit({ puts: [{ key: "counter", value: enc("0") }] });
        for (let round = 0; round < 5; round++) {
          const current = await store.get("counter");
          const results = await Promise.all(
            Array.from({ length: 8 }, (_, i) =>
              (clients[i % 2] as MetaStore).commit({
                checks: [{ key: "counter", expect: current }],
                puts: [
                  { key: "counter", value: enc(String(round + 1)) },
                  { key: `winner/${round}`, value: enc(String(i)) },
                ],
              }),
            ),
          );
          expect(results.filter(Boolean)).toHaveLength(1);
          const winner = results.indexOf(true);
          expect(dec(await store.get(`winner/${round}`))).toBe(String(winner));
          expect(dec(await replica.get("counter"))).toBe(String(round + 1));
        }
      });

      it("allocates distinct consecutive numbers to 20 concurrent allocators", async () => {
        const replica = await fixture.openReplica();
        const allocate = (client: MetaStore, who: number) =>
          updateWithRetry(client, ["seq"], ([seq]) => {
            const next = Number(dec(seq) ?? "0") + 1;
            return {
              puts: [
                { key: "seq", value: enc(String(next)) },
                { key: `version/${String(next).padStart(4, "0")}`, value: enc(String(who)) },
              ],
              result: next,
            };
          });
        const numbers = await Promise.all(
          Array.from({ length: 20 }, (_, i) => allocate(i % 2 ? replica : store, i)),
        );
        expect([...numbers].sort((x, y) => x - y)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
        expect(dec(await store.get("seq"))).toBe("20");
        const versions = await store.list({ prefix: "version/" });
        expect(versions).toHaveLength(20);
        // Each number's record names the allocator that got it.
        for (const v of versions) expect(numbers[Number(dec(v.value))]).toBe(Number(v.key.slice(8)));
      });
    });

    describe("scopeMetaStore", () => {
      it("isolates namespaces sharing one store and strips the namespace when listing", async () => {
        const a = scopeMetaStore(store, "a");
        const ab = scopeMetaStore(store, "ab");
        await putAll(["k", "k/1", "k/2"], a);
        await putAll(["k", "other"], ab);
        await putAll(["k"]);
        expect(dec(await a.get("k"))).toBe("v:k");
        expect(await a.get("other")).toBeUndefined();
        expect(await listKeys({ prefix: "" }, a)).toEqual(["k", "k/1", "k/2"]);
        expect(await listKeys({ prefix: "" }, ab)).toEqual(["k", "other"]);
        expect(await listKeys({ prefix: "k/", after: "k/1" }, a)).toEqual(["k/2"]);
        expect(await listKeys({ prefix: "k", reverse: true, limit: 2 }, a)).toEqual(["k/2", "k/1"]);
        expect(await listKeys({ prefix: "" })).toEqual(["a/k", "a/k/1", "a/k/2", "ab/k", "ab/other", "k"]);
      });

      it("scopes checks, puts and deletes of a commit", async () => {
        const a = scopeMetaStore(store, "a");
        await putAll(["k"]); // the unscoped "k" must not satisfy a scoped check
        expect(
          await a.commit({
            checks: [{ key: "k", expect: enc("v:k") }],
            puts: [{ key: "x", value: enc("1") }],
          }),
        ).toBe(false);
        expect(
          await a.commit({
            checks: [{ key: "k", expect: undefined }],
            puts: [{ key: "k", value: enc("1") }],
          }),
        ).toBe(true);
        expect(await a.commit({ deletes: ["k"] })).toBe(true);
        expect(dec(await store.get("k"))).toBe("v:k");
        expect(await store.get("a/k")).toBeUndefined();
      });

      it("nests, and refuses namespaces that could overlap", async () => {
        const inner = scopeMetaStore(scopeMetaStore(store, "svc"), "tenant");
        await putAll(["k"], inner);
        expect(await listKeys({ prefix: "" })).toEqual(["svc/tenant/k"]);
        expect(() => scopeMetaStore(store, "a/b")).toThrow(InvalidArgumentError);
        expect(() => scopeMetaStore(store, "")).toThrow(InvalidArgumentError);
      });
    });
  });
}
