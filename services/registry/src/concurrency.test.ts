import { Code, ConnectError } from "@connectrpc/connect";
import type { Stores } from "@seam/kit/storage";
import { type StoreKind, startTestBackend, type TestBackend } from "@seam/kit/testing";
import type { RegistryEvent } from "@seam/proto/seam/registry/v1/registry_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestRegistry, type RegistryClient, uploadStream } from "./testing/harness.js";
import { buildLinearModel } from "./testing/onnx-models.js";
import { TrackedEventBus, waitUntil } from "./testing/tracked-event-bus.js";

// Two registry instances ("replicas") over one backend: with Redis each has its own
// connections, as two processes would.
describe.each<StoreKind>(["embedded", "redis"])("two registry replicas on %s stores", (kind) => {
  let backend: TestBackend;
  let storesA: Stores;
  let storesB: Stores;
  let busB: TrackedEventBus;
  let a: RegistryClient;
  let b: RegistryClient;

  beforeAll(async () => {
    backend = await startTestBackend(kind);
    storesA = await backend.open();
    storesB = kind === "redis" ? await backend.open() : storesA;
    busB = new TrackedEventBus(storesB.events);
    ({ client: a } = createTestRegistry({
      meta: storesA.meta,
      blobs: storesA.blobs,
      events: storesA.events,
    }));
    ({ client: b } = createTestRegistry({ meta: storesB.meta, blobs: storesB.blobs, events: busB }));
  });

  afterAll(async () => {
    if (storesB !== storesA) await storesB?.close();
    await storesA?.close();
    await backend?.stop();
  });

  it("gives 20 concurrent uploads to one (new) model the versions 1..20, none lost", async () => {
    const uploads = Array.from({ length: 20 }, (_, i) =>
      (i % 2 === 0 ? a : b).uploadModelVersion(
        uploadStream(
          { modelName: "race", createModel: true, params: { i: String(i) } },
          buildLinearModel({ bias: i }),
          256,
        ),
      ),
    );
    const versions = (await Promise.all(uploads)).map((r) => r.version);
    expect(versions.map((v) => v?.version).sort((x, y) => Number(x) - Number(y))).toEqual(
      Array.from({ length: 20 }, (_, i) => BigInt(i + 1)),
    );
    // Every upload's own metadata ended up on the number it was told.
    const listed = await a.listModelVersions({ modelName: "race", pageSize: 100 });
    expect(listed.versions).toHaveLength(20);
    for (const v of versions) {
      const stored = listed.versions.find((s) => s.version === v?.version);
      expect(stored?.params).toEqual(v?.params);
      expect(stored?.sha256).toBe(v?.sha256);
    }
    expect(new Set(listed.versions.map((v) => v.sha256)).size).toBe(20);
    expect((await b.getModel({ name: "race" })).model).toMatchObject({
      latestVersion: 20n,
      versionCount: 20n,
    });
  });

  it("moves an alias atomically under concurrent SetAlias calls", async () => {
    const moves = Array.from({ length: 10 }, (_, i) =>
      (i % 2 === 0 ? a : b).setAlias({ modelName: "race", alias: "champion", version: BigInt(i + 1) }),
    );
    const results = await Promise.all(moves);
    // Serialised moves: each previous_version is the target of exactly one other move (or 0 for the first).
    const previous = results.map((r) => r.previousVersion).sort((x, y) => Number(x) - Number(y));
    expect(previous[0]).toBe(0n);
    expect(new Set(previous).size).toBe(10);
    const model = (await a.getModel({ name: "race" })).model;
    const holder = model?.aliases.champion;
    expect(results.map((r) => r.version?.version)).toContain(holder);
    expect(previous).not.toContain(holder);
  });

  it("delivers events of one replica to a watcher on the other", async () => {
    const abort = new AbortController();
    const events: RegistryEvent[] = [];
    const before = busB.active;
    const done = (async () => {
      try {
        for await (const res of b.watchEvents({ modelName: "watched" }, { signal: abort.signal })) {
          if (res.event) events.push(res.event);
        }
      } catch (err) {
        if (ConnectError.from(err).code !== Code.Canceled) throw err;
      }
    })();
    await waitUntil(() => busB.active > before, 5000, "the watcher to subscribe");

    await a.uploadModelVersion(
      uploadStream({ modelName: "watched", createModel: true, alias: "live" }, buildLinearModel()),
    );
    await waitUntil(() => events.length >= 2, 5000, "the events to arrive");
    expect(events.map((e) => e.kind.case)).toEqual(["versionCreated", "aliasMoved"]);
    expect(events[0]?.modelName).toBe("watched");
    abort.abort();
    await done;
  });
});
