import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { DataType, TensorSchema } from "@seam/proto/seam/inference/v1/inference_pb";
import { afterEach, describe, expect, it } from "vitest";
import { startTestInference, type TestInference } from "./testing/harness.js";
import { buildGatherModel, buildMlpModel, mlpReference } from "./testing/models.js";

const x1 = Float32Array.from({ length: 20 }, (_, i) => i / 10);
const xTensor = () =>
  create(TensorSchema, { name: "x", dataType: DataType.FLOAT32, shape: [1n, 20n], floatValues: [...x1] });
const indexTensor = (i: number) =>
  create(TensorSchema, {
    name: "index",
    dataType: DataType.INT64,
    shape: [1n, 1n],
    int64Values: [BigInt(i)],
  });

let t: TestInference | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

describe("serving", () => {
  it("fails only the bad request of a shared batch; its neighbours get their answers", async () => {
    t = await startTestInference({ INFERENCE_MAX_QUEUE_DELAY_US: 20_000, INFERENCE_MAX_CONCURRENT_RUNS: 1 });
    const client = t.inference;
    await t.uploadModel("lookup", buildGatherModel(10));
    await client.loadModel({ model: "lookup" });
    const indexes = [1, 2, 99, 4, 5];
    const settled = await Promise.allSettled(
      indexes.map((i) => client.predict({ model: "lookup", requestId: `r${i}`, inputs: [indexTensor(i)] })),
    );
    settled.forEach((outcome, n) => {
      const index = indexes[n] as number;
      if (index === 99) {
        expect(outcome.status).toBe("rejected");
        const error = ConnectError.from(outcome.status === "rejected" ? outcome.reason : undefined);
        expect(error.code).toBe(Code.InvalidArgument);
        expect(error.rawMessage).toMatch(/could not run on this request's inputs/);
      } else {
        expect(outcome.status).toBe("fulfilled");
        const response = outcome.status === "fulfilled" ? outcome.value : undefined;
        expect(response?.outputs[0]?.floatValues).toEqual([index * 10]);
        // They were queued together: the failing batch was retried request by request.
        expect(response?.requestId).toBe(`r${index}`);
      }
    });
    const { models } = await client.getModelStatus({ modelName: "lookup" });
    const stats = models[0]?.versions[0]?.stats;
    expect(stats?.successes).toBe(4n);
    expect(stats?.failures).toBe(1n);
  });

  it("answers DEADLINE_EXCEEDED without running a request that expires in the queue", async () => {
    t = await startTestInference({ INFERENCE_MAX_QUEUE_DELAY_US: 300_000 });
    await t.uploadModel("mlp", buildMlpModel());
    await t.inference.loadModel({ model: "mlp" });
    // The batch waits 300 ms for company; the request's deadline is 50 ms.
    const error = await t.inference.predict({ model: "mlp", inputs: [xTensor()] }, { timeoutMs: 50 }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(error?.code).toBe(Code.DeadlineExceeded);
    await new Promise((resolve) => setTimeout(resolve, 400));
    const stats = (await t.inference.getModelStatus({ modelName: "mlp" })).models[0]?.versions[0]?.stats;
    expect(stats?.expiredInQueue).toBe(1n);
    // Warm-up is not counted: nothing ran for the expired request.
    expect(stats?.batches).toBe(0n);
  });

  it("refuses with RESOURCE_EXHAUSTED at once when the model's queue is full", async () => {
    t = await startTestInference({
      INFERENCE_MAX_QUEUE_DELAY_US: 500_000,
      INFERENCE_MAX_QUEUED_REQUESTS: 3,
      INFERENCE_MAX_BATCH_ROWS: 64,
    });
    const client = t.inference;
    await t.uploadModel("mlp", buildMlpModel());
    await client.loadModel({ model: "mlp" });
    const outcomes = await Promise.allSettled(
      Array.from({ length: 5 }, () => client.predict({ model: "mlp", inputs: [xTensor()] })),
    );
    const codes = outcomes.map((o) => (o.status === "fulfilled" ? "ok" : ConnectError.from(o.reason).code));
    expect(codes.filter((c) => c === "ok")).toHaveLength(3);
    expect(codes.filter((c) => c === Code.ResourceExhausted)).toHaveLength(2);
  });

  it("refuses an oversize message with RESOURCE_EXHAUSTED and too many rows likewise", async () => {
    t = await startTestInference({ INFERENCE_MAX_REQUEST_ROWS: 100 }, "embedded", {
      maxMessageBytes: 64 * 1024,
    });
    await t.uploadModel("mlp", buildMlpModel());
    const rows = 1000; // 80 KB of floats
    const big = create(TensorSchema, {
      name: "x",
      dataType: DataType.FLOAT32,
      shape: [BigInt(rows), 20n],
      floatValues: Array.from({ length: rows * 20 }, () => 0.5),
    });
    const oversize = await t.inference.predict({ model: "mlp", inputs: [big] }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(oversize?.code).toBe(Code.ResourceExhausted);
    const many = create(TensorSchema, {
      name: "x",
      dataType: DataType.FLOAT32,
      shape: [101n, 20n],
      raw: new Uint8Array(101 * 20 * 4),
    });
    const tooMany = await t.inference.predict({ model: "mlp", inputs: [many] }).then(
      () => undefined,
      (e: unknown) => ConnectError.from(e),
    );
    expect(tooMany?.code).toBe(Code.ResourceExhausted);
    expect(tooMany?.rawMessage).toMatch(/101 rows; at most 100/);
    // The service still serves.
    const ok = await t.inference.predict({ model: "mlp", inputs: [xTensor()] });
    expect(ok.outputs[0]?.floatValues).toHaveLength(1);
  });

  it("keeps at most INFERENCE_MAX_LOADED_MODELS versions, unloading the least recently used", async () => {
    t = await startTestInference({ INFERENCE_MAX_LOADED_MODELS: 2 });
    for (const name of ["a", "b", "c"])
      await t.uploadModel(name, buildMlpModel({ seed: name.charCodeAt(0) }));
    await t.inference.predict({ model: "a", inputs: [xTensor()] });
    await t.inference.predict({ model: "b", inputs: [xTensor()] });
    await t.inference.predict({ model: "a", inputs: [xTensor()] });
    await t.inference.predict({ model: "c", inputs: [xTensor()] });
    const loaded = t.runtime.cache
      .loaded()
      .map((v) => v.key)
      .sort();
    expect(loaded).toEqual(["a:1", "c:1"]);
    // b is loaded again on demand and answers correctly.
    const b = await t.inference.predict({ model: "b", inputs: [xTensor()] });
    expect(b.outputs[0]?.floatValues[0]).toBeCloseTo(mlpReference({ seed: 98 })(x1, 1)[0] as number, 4);
  });
});
