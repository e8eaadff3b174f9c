import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { failure } from "@seam/kit/testing";
import { DataType, TensorSchema } from "@seam/proto/seam/inference/v1/inference_pb";
import { afterEach, describe, expect, it } from "vitest";
import { startTestInference, type TestInference } from "./testing/harness.js";
import { buildMlpModel, mlpReference } from "./testing/models.js";

const x1 = Float32Array.from({ length: 20 }, (_, i) => Math.cos(i));
const xTensor = () =>
  create(TensorSchema, { name: "x", dataType: DataType.FLOAT32, shape: [1n, 20n], floatValues: [...x1] });
const expectedY = (seed: number) => mlpReference({ seed })(x1, 1)[0] as number;

let t: TestInference | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("hot swap", () => {
  it("moves an alias under load with no failed request and no request waiting on a cold model", async () => {
    t = await startTestInference();
    const test = t;
    await test.uploadModel("m", buildMlpModel({ seed: 1 }), { alias: "champion" });
    await test.inference.loadModel({ model: "m@champion" });
    const answers: Array<{ version: bigint; y: number }> = [];
    const failures: unknown[] = [];
    let stop = false;
    const client = async () => {
      while (!stop) {
        try {
          const r = await test.inference.predict({ model: "m", inputs: [xTensor()] });
          answers.push({ version: r.modelVersion, y: r.outputs[0]?.floatValues[0] ?? Number.NaN });
        } catch (error) {
          failures.push(error);
        }
      }
    };
    const clients = Array.from({ length: 8 }, client);
    // Watch the route from inside the process: whenever "champion" leads to version 2,
    // version 2 must already be loaded and warm.
    const routeWithoutModel: number[] = [];
    let sawSwitch = false;
    const watcher = setInterval(() => {
      void test.runtime.router.routes("m").then((routes) => {
        if (routes.get("champion") !== 2) return;
        sawSwitch = true;
        if (test.runtime.cache.peek("m", 2) === undefined) routeWithoutModel.push(Date.now());
      });
    }, 1);
    await new Promise((resolve) => setTimeout(resolve, 200));
    await test.uploadModel("m", buildMlpModel({ seed: 2 }));
    await test.registry.setAlias({ modelName: "m", alias: "champion", version: 2n });
    // Wait until version 2 has answered for a while, then stop the clients.
    for (let i = 0; i < 200 && !answers.some((a) => a.version === 2n); i++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
    stop = true;
    await Promise.all(clients);
    clearInterval(watcher);

    expect(failures).toEqual([]);
    const v1 = answers.filter((a) => a.version === 1n);
    const v2 = answers.filter((a) => a.version === 2n);
    expect(v1.length).toBeGreaterThan(10);
    expect(v2.length).toBeGreaterThan(10);
    for (const a of v1) expect(a.y).toBeCloseTo(expectedY(1), 4);
    for (const a of v2) expect(a.y).toBeCloseTo(expectedY(2), 4);
    // The route switched only once version 2 was loaded and warm.
    expect(sawSwitch).toBe(true);
    expect(routeWithoutModel).toEqual([]);
    const status = await test.inference.getModelStatus({ modelName: "m" });
    expect(status.models[0]?.versions.map((v) => v.version)).toEqual([1n, 2n]);
    expect(status.models[0]?.routes.champion).toBe(2n);
  });

  it("lets requests in flight finish on a version being unloaded", async () => {
    t = await startTestInference({ INFERENCE_MAX_QUEUE_DELAY_US: 200_000 });
    await t.uploadModel("m", buildMlpModel({ seed: 3 }));
    await t.inference.loadModel({ model: "m:1" });
    const inFlight = t.inference.predict({ model: "m:1", inputs: [xTensor()] });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const unloaded = await t.inference.unloadModel({ modelName: "m", version: 1n });
    expect(unloaded.versions).toEqual([1n]);
    const response = await inFlight;
    expect(response.outputs[0]?.floatValues[0]).toBeCloseTo(expectedY(3), 4);
    expect(t.runtime.cache.loaded()).toEqual([]);
  });

  it("serves a new latest version to bare names once it is loaded", async () => {
    t = await startTestInference();
    await t.uploadModel("m", buildMlpModel({ seed: 4 }));
    expect((await t.inference.predict({ model: "m", inputs: [xTensor()] })).modelVersion).toBe(1n);
    await t.uploadModel("m", buildMlpModel({ seed: 5 }));
    await t.runtime.router.settled();
    for (let i = 0; i < 100; i++) {
      if ((await t.runtime.router.routes("m")).get("latest") === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const response = await t.inference.predict({ model: "m", inputs: [xTensor()] });
    expect(response.modelVersion).toBe(2n);
    expect(response.route).toBe("latest");
  });
});

describe("traffic split", () => {
  it("sends the configured share to the second alias, sticky by request id", async () => {
    t = await startTestInference();
    const test = t;
    await test.uploadModel("m", buildMlpModel({ seed: 1 }), { alias: "champion" });
    await test.uploadModel("m", buildMlpModel({ seed: 2 }), { alias: "challenger" });
    const set = await test.inference.setTrafficSplit({
      modelName: "m",
      split: { primaryAlias: "champion", secondaryAlias: "challenger", secondaryShare: 0.1 },
    });
    expect(set.split?.secondaryShare).toBe(0.1);
    const ids = Array.from({ length: 2000 }, (_, i) => `req-${i}`);
    const routeOf = new Map<string, string>();
    for (let i = 0; i < ids.length; i += 50) {
      const responses = await Promise.all(
        ids
          .slice(i, i + 50)
          .map((id) => test.inference.predict({ model: "m", requestId: id, inputs: [xTensor()] })),
      );
      for (const r of responses) {
        expect(r.modelVersion).toBe(r.route === "challenger" ? 2n : 1n);
        routeOf.set(r.requestId, r.route);
      }
    }
    const share = [...routeOf.values()].filter((r) => r === "challenger").length / ids.length;
    expect(share).toBeGreaterThan(0.07);
    expect(share).toBeLessThan(0.13);
    // The same id lands on the same side every time.
    for (const id of ids.slice(0, 200)) {
      const again = await test.inference.predict({ model: "m", requestId: id, inputs: [xTensor()] });
      expect(again.route).toBe(routeOf.get(id));
    }
    // Explicit references ignore the split.
    expect(
      (await test.inference.predict({ model: "m@champion", requestId: "req-7", inputs: [xTensor()] })).route,
    ).toBe("champion");
    const status = await test.inference.getModelStatus({ modelName: "m" });
    expect(status.models[0]?.trafficSplit?.secondaryAlias).toBe("challenger");
    // Cleared: everything goes to the champion again.
    expect((await test.inference.setTrafficSplit({ modelName: "m" })).split).toBeUndefined();
    const challengerIds = [...routeOf].filter(([, r]) => r === "challenger").map(([id]) => id);
    for (const id of challengerIds.slice(0, 20)) {
      expect((await test.inference.predict({ model: "m", requestId: id, inputs: [xTensor()] })).route).toBe(
        "champion",
      );
    }
  });

  it("refuses a split naming a missing alias or a share outside 0..1", async () => {
    t = await startTestInference();
    await t.uploadModel("m", buildMlpModel(), { alias: "champion" });
    const missing = await failure(
      t.inference.setTrafficSplit({
        modelName: "m",
        split: { primaryAlias: "champion", secondaryAlias: "challenger", secondaryShare: 0.2 },
      }),
    );
    expect(missing?.code).toBe(Code.NotFound);
    expect(missing?.rawMessage).toMatch(/no alias "challenger"/);
    await t.registry.setAlias({ modelName: "m", alias: "challenger", version: 1n });
    const share = await failure(
      t.inference.setTrafficSplit({
        modelName: "m",
        split: { primaryAlias: "champion", secondaryAlias: "challenger", secondaryShare: 1.5 },
      }),
    );
    expect(share?.code).toBe(Code.InvalidArgument);
    expect((await failure(t.inference.setTrafficSplit({ modelName: "nope" })))?.code).toBe(Code.NotFound);
  });
});
