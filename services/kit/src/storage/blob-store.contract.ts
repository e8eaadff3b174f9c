import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  DataLossError,
  InvalidArgumentError,
  NotFoundError,
  ResourceExhaustedError,
} from "../errors/index.js";
import type { BlobStore } from "./ports.js";

/** A fresh, empty blob store for one test and a way to see everything it keeps. */
export interface BlobStoreFixture {
  readonly store: BlobStore;
  /**
   * Every storage object the adapter holds right now (files, Redis keys — finished or
   * not), so tests can prove that a failed put leaves nothing behind.
   */
  stored(): Promise<string[]>;
  cleanup(): Promise<void>;
}

const sha256 = (data: Uint8Array): string => createHash("sha256").update(data).digest("hex");

async function readAll(chunks: AsyncIterable<Uint8Array>): Promise<{ data: Buffer; sizes: number[] }> {
  const parts: Uint8Array[] = [];
  for await (const chunk of chunks) parts.push(chunk);
  return { data: Buffer.concat(parts), sizes: parts.map((p) => p.length) };
}

function* slices(data: Uint8Array, size: number): Iterable<Uint8Array> {
  for (let off = 0; off < data.length; off += size) yield data.subarray(off, off + size);
}

/** The behaviour every {@link BlobStore} adapter must have. */
export function describeBlobStoreContract(name: string, open: () => Promise<BlobStoreFixture>): void {
  describe(`BlobStore contract: ${name}`, () => {
    let fixture: BlobStoreFixture;
    let store: BlobStore;
    beforeEach(async () => {
      fixture = await open();
      store = fixture.store;
    });
    afterEach(async () => {
      await fixture.cleanup();
    });

    it("stores content under its sha256 and streams it back in chunks of at most chunkSize", async () => {
      const data = randomBytes(200_000);
      const info = await store.put(slices(data, 7_777));
      expect(info).toEqual({ sha256: sha256(data), size: data.length });
      expect(await store.stat(info.sha256)).toEqual(info);
      const { data: back, sizes } = await readAll(store.get(info.sha256, { chunkSize: 10_000 }));
      expect(back.equals(data)).toBe(true);
      expect(Math.max(...sizes)).toBeLessThanOrEqual(10_000);
      expect((await readAll(store.get(info.sha256))).data.equals(data)).toBe(true);
    });

    it("accepts async sources and empty content", async () => {
      const data = randomBytes(5_000);
      async function* source() {
        yield* slices(data, 1_000);
      }
      expect((await store.put(source())).sha256).toBe(sha256(data));
      const empty = await store.put([]);
      expect(empty).toEqual({ sha256: sha256(new Uint8Array()), size: 0 });
      expect((await readAll(store.get(empty.sha256))).data.length).toBe(0);
    });

    it("keeps one copy of content put twice", async () => {
      const data = randomBytes(50_000);
      const first = await store.put([data]);
      const afterFirst = await fixture.stored();
      const second = await store.put(slices(data, 3_000));
      expect(second).toEqual(first);
      expect(await fixture.stored()).toEqual(afterFirst);
      const [a, b] = await Promise.all([store.put([data]), store.put(slices(data, 999))]);
      expect(a).toEqual(first);
      expect(b).toEqual(first);
      expect(await fixture.stored()).toEqual(afterFirst);
    });

    it("refuses content over maxBytes with ResourceExhaustedError and keeps nothing", async () => {
      const data = randomBytes(30_000);
      await expect(store.put(slices(data, 4_096), { maxBytes: 29_999 })).rejects.toBeInstanceOf(
        ResourceExhaustedError,
      );
      expect(await fixture.stored()).toEqual([]);
      expect(await store.stat(sha256(data))).toBeUndefined();
      // Exactly at the limit is fine.
      expect((await store.put(slices(data, 4_096), { maxBytes: 30_000 })).size).toBe(30_000);
    });

    it("abandons a put aborted midway, even while the source is stalled, and keeps nothing", async () => {
      const controller = new AbortController();
      const data = randomBytes(20_000);
      async function* stalling() {
        yield* slices(data, 2_000);
        controller.abort();
        await new Promise(() => {}); // never yields again: only the signal can end the put
      }
      await expect(store.put(stalling(), { signal: controller.signal })).rejects.toThrow();
      expect(await fixture.stored()).toEqual([]);
      await expect(store.put([data], { signal: controller.signal })).rejects.toThrow();
      expect(await fixture.stored()).toEqual([]);
    });

    it("reports absent blobs: NotFoundError on get, undefined on stat, false on delete", async () => {
      const absent = sha256(Buffer.from("never stored"));
      await expect(readAll(store.get(absent))).rejects.toBeInstanceOf(NotFoundError);
      expect(await store.stat(absent)).toBeUndefined();
      expect(await store.delete(absent)).toBe(false);
    });

    it("deletes a blob completely", async () => {
      const info = await store.put([randomBytes(40_000)]);
      expect(await store.delete(info.sha256)).toBe(true);
      expect(await store.stat(info.sha256)).toBeUndefined();
      await expect(readAll(store.get(info.sha256))).rejects.toBeInstanceOf(NotFoundError);
      expect(await fixture.stored()).toEqual([]);
      expect(await store.delete(info.sha256)).toBe(false);
    });

    it("stops a get when its signal aborts", async () => {
      const info = await store.put([randomBytes(100_000)]);
      const controller = new AbortController();
      const read = async () => {
        for await (const _ of store.get(info.sha256, { chunkSize: 1_000, signal: controller.signal })) {
          controller.abort();
        }
      };
      await expect(read()).rejects.toThrow();
    });

    describe("putFile", () => {
      let dir: string;
      beforeEach(async () => {
        dir = await mkdtemp(join(tmpdir(), "seam-putfile-"));
      });
      afterEach(async () => {
        await rm(dir, { recursive: true, force: true });
      });

      it("stores a file's content under its sha256, leaving the file for the caller", async () => {
        const data = randomBytes(150_000);
        const path = join(dir, "a.bin");
        await writeFile(path, data);
        const info = await store.putFile(path);
        expect(info).toEqual({ sha256: sha256(data), size: data.length });
        expect(await store.stat(info.sha256)).toEqual(info);
        expect((await readAll(store.get(info.sha256))).data.equals(data)).toBe(true);
        expect((await readFile(path)).equals(data)).toBe(true);
        // Removing the caller's file does not touch the stored blob.
        await rm(path);
        expect((await readAll(store.get(info.sha256, { chunkSize: 4_096 }))).data.equals(data)).toBe(true);
      });

      it("keeps one copy of content also stored by put, and stores empty files", async () => {
        const data = randomBytes(40_000);
        const path = join(dir, "b.bin");
        await writeFile(path, data);
        const first = await store.put([data]);
        const afterFirst = await fixture.stored();
        expect(await store.putFile(path)).toEqual(first);
        expect(await fixture.stored()).toEqual(afterFirst);
        const [a, b] = await Promise.all([store.putFile(path), store.putFile(path)]);
        expect([a, b]).toEqual([first, first]);
        expect(await fixture.stored()).toEqual(afterFirst);
        await writeFile(join(dir, "empty"), new Uint8Array());
        expect(await store.putFile(join(dir, "empty"))).toEqual({
          sha256: sha256(new Uint8Array()),
          size: 0,
        });
      });

      it("keeps nothing when the file is missing, over maxBytes or the put is aborted", async () => {
        const data = randomBytes(30_000);
        const path = join(dir, "c.bin");
        await writeFile(path, data);
        await expect(store.putFile(join(dir, "missing"))).rejects.toThrow();
        await expect(store.putFile(path, { maxBytes: 29_999 })).rejects.toBeInstanceOf(
          ResourceExhaustedError,
        );
        await expect(store.putFile(path, { signal: AbortSignal.abort() })).rejects.toThrow();
        expect(await fixture.stored()).toEqual([]);
        expect(await store.stat(sha256(data))).toBeUndefined();
        expect((await store.putFile(path, { maxBytes: 30_000 })).size).toBe(30_000);
      });

      it("stores a file under the digest the caller knows, and refuses one of another size", async () => {
        const data = randomBytes(50_000);
        const path = join(dir, "d.bin");
        await writeFile(path, data);
        const known = { sha256: sha256(data), size: data.length };
        await expect(store.putFile(path, { known: { ...known, size: 49_999 } })).rejects.toBeInstanceOf(
          DataLossError,
        );
        await expect(store.putFile(path, { known: { ...known, sha256: "ABC" } })).rejects.toBeInstanceOf(
          InvalidArgumentError,
        );
        expect(await fixture.stored()).toEqual([]);
        expect(await store.putFile(path, { known })).toEqual(known);
        expect((await readAll(store.get(known.sha256))).data.equals(data)).toBe(true);
      });
    });

    it("refuses addresses that are not lower-case sha256 hex", async () => {
      for (const bad of ["../../etc/passwd", "ABC", sha256(Buffer.from("x")).toUpperCase()]) {
        await expect(store.stat(bad)).rejects.toBeInstanceOf(InvalidArgumentError);
        await expect(readAll(store.get(bad))).rejects.toBeInstanceOf(InvalidArgumentError);
      }
    });
  });
}
