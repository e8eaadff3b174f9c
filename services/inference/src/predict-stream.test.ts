import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import {
  DataType,
  type PredictStreamRequestSchema,
  type PredictStreamResponse,
  TensorSchema,
} from "@seam/proto/seam/inference/v1/inference_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestInference, type TestInference } from "./testing/harness.js";
import { buildMlpModel, mlpReference } from "./testing/models.js";

type StreamRequest = MessageInitShape<typeof PredictStreamRequestSchema>;

const WIDTH = 20;
const reference = mlpReference({ seed: 7 });

/** `rows` rows of inputs, different for every `seed`. */
function rowsOf(rows: number, seed: number): Float32Array {
  return Float32Array.from({ length: rows * WIDTH }, (_, i) => Math.sin((i + 1) * 0.37 + seed * 1.3) * 2);
}

function good(requestId: string, x: Float32Array, rows: number): StreamRequest {
  return {
    request: {
      model: "mlp",
      requestId,
      inputs: [
        create(TensorSchema, {
          name: "x",
          dataType: DataType.FLOAT32,
          shape: [BigInt(rows), BigInt(WIDTH)],
          floatValues: [...x],
        }),
      ],
    },
  };
}

function expectPrediction(response: PredictStreamResponse | undefined, x: Float32Array, rows: number): void {
  const failure = response?.result.case === "error" ? response.result.value : undefined;
  expect(response?.result.case, `${failure?.code}: ${failure?.message}`).toBe("response");
  if (response?.result.case !== "response") return;
  const out = response.result.value;
  expect(out.modelName).toBe("mlp");
  expect(out.modelVersion).toBe(1n);
  const y = out.outputs[0];
  expect(y?.name).toBe("y");
  expect(y?.shape).toEqual([BigInt(rows), 1n]);
  const expected = reference(x, rows);
  expect(y?.floatValues).toHaveLength(rows);
  for (const [i, v] of (y?.floatValues ?? []).entries()) expect(v).toBeCloseTo(expected[i] as number, 4);
}

/** A request stream the test writes to while it reads the responses. */
function pushable<T>(): { iterable: AsyncIterable<T>; push(item: T): void; end(): void } {
  const items: T[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  return {
    push(item) {
      items.push(item);
      wake?.();
    },
    end() {
      ended = true;
      wake?.();
    },
    iterable: {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const item = items.shift();
          if (item !== undefined) yield item;
          else if (ended) return;
          else await new Promise<void>((resolve) => (wake = resolve));
        }
      },
    },
  };
}

describe("PredictStream", () => {
  let t: TestInference;
  beforeAll(async () => {
    t = await startTestInference();
    await t.uploadModel("mlp", buildMlpModel({ seed: 7 }));
  });
  afterAll(async () => t?.close());

  it("answers every request once, with its index and request id, failures in place", async () => {
    const inputs = [rowsOf(3, 0), rowsOf(1, 1), rowsOf(2, 2), rowsOf(4, 3), rowsOf(1, 4)];
    const wrongName = good("bad-name", rowsOf(1, 9), 1);
    if (wrongName.request?.inputs?.[0] !== undefined) wrongName.request.inputs[0].name = "z";
    const requests: StreamRequest[] = [
      good("r0", inputs[0] as Float32Array, 3),
      wrongName,
      good("r2", inputs[1] as Float32Array, 1),
      {
        request: {
          model: "no-such-model",
          requestId: "unknown",
          inputs: good("", rowsOf(1, 8), 1).request?.inputs ?? [],
        },
      },
      good("r4", inputs[2] as Float32Array, 2),
      { request: { model: "mlp", requestId: "no-inputs" } },
      good("r6", inputs[3] as Float32Array, 4),
      good("r7", inputs[4] as Float32Array, 1),
    ];
    async function* stream() {
      yield* requests;
    }
    const responses: PredictStreamResponse[] = [];
    for await (const response of t.inference.predictStream(stream())) responses.push(response);

    expect(responses.map((r) => Number(r.index)).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    const byIndex = new Map(responses.map((r) => [Number(r.index), r]));
    requests.forEach((request, i) => {
      expect(byIndex.get(i)?.requestId, `index ${i}`).toBe(request.request?.requestId);
    });

    expectPrediction(byIndex.get(0), inputs[0] as Float32Array, 3);
    expectPrediction(byIndex.get(2), inputs[1] as Float32Array, 1);
    expectPrediction(byIndex.get(4), inputs[2] as Float32Array, 2);
    expectPrediction(byIndex.get(6), inputs[3] as Float32Array, 4);
    expectPrediction(byIndex.get(7), inputs[4] as Float32Array, 1);

    const failures: Array<[number, Code, RegExp]> = [
      [1, Code.InvalidArgument, /"z" is not an input of the model \(inputs: x\)/],
      [3, Code.NotFound, /no-such-model/],
      [5, Code.InvalidArgument, /inputs \(tensors\), rows or entities/],
    ];
    for (const [index, code, message] of failures) {
      const result = byIndex.get(index)?.result;
      expect(result?.case, `index ${index}`).toBe("error");
      if (result?.case !== "error") continue;
      expect(result.value.code, `index ${index}: ${result.value.message}`).toBe(code);
      expect(result.value.message).toMatch(message);
    }
  });

  it("stays open after a failed request: the next one on the same stream is answered", async () => {
    const requests = pushable<StreamRequest>();
    const responses = t.inference.predictStream(requests.iterable)[Symbol.asyncIterator]();
    try {
      requests.push({
        request: {
          model: "no-such-model",
          requestId: "first",
          inputs: good("", rowsOf(1, 0), 1).request?.inputs ?? [],
        },
      });
      const first = await responses.next();
      expect(first.done).toBe(false);
      expect(first.value?.index).toBe(0n);
      expect(first.value?.result.case).toBe("error");
      expect(first.value?.result.case === "error" ? first.value.result.value.code : undefined).toBe(
        Code.NotFound,
      );

      const x = rowsOf(2, 5);
      requests.push(good("second", x, 2));
      const second = await responses.next();
      expect(second.done).toBe(false);
      expect(second.value?.index).toBe(1n);
      expect(second.value?.requestId).toBe("second");
      expectPrediction(second.value, x, 2);

      requests.push({ request: { model: "mlp", requestId: "third", rows: [{ y: 1 }] } });
      const third = await responses.next();
      expect(third.value?.index).toBe(2n);
      expect(third.value?.result.case).toBe("error");
      expect(third.value?.result.case === "error" ? third.value.result.value.code : undefined).toBe(
        Code.InvalidArgument,
      );

      const y = rowsOf(1, 6);
      requests.push(good("fourth", y, 1));
      const fourth = await responses.next();
      expect(fourth.value?.index).toBe(3n);
      expectPrediction(fourth.value, y, 1);
    } finally {
      requests.end();
    }
    expect((await responses.next()).done).toBe(true);
  });

  it("answers 500 pipelined requests on one stream, batching some of them", async () => {
    const N = 500;
    const inputs = Array.from({ length: N }, (_, i) => rowsOf(1, i));
    async function* stream() {
      // Written all at once, before any response is read.
      for (let i = 0; i < N; i++) yield good(`p${i}`, inputs[i] as Float32Array, 1);
    }
    const responses: PredictStreamResponse[] = [];
    for await (const response of t.inference.predictStream(stream())) responses.push(response);

    expect(responses).toHaveLength(N);
    const indexes = new Set(responses.map((r) => Number(r.index)));
    expect(indexes.size).toBe(N);
    expect(Math.min(...indexes)).toBe(0);
    expect(Math.max(...indexes)).toBe(N - 1);
    let batched = 0;
    for (const response of responses) {
      const i = Number(response.index);
      expect(response.requestId).toBe(`p${i}`);
      expectPrediction(response, inputs[i] as Float32Array, 1);
      if (response.result.case === "response" && response.result.value.batchSize > 1) batched++;
    }
    // Every request has one row, so a batch size above one means requests ran together.
    expect(batched).toBeGreaterThan(0);
  });
});
