import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { withSpan } from "@seam/kit/telemetry";
import { type InMemoryTracing, startInMemoryTracing } from "@seam/kit/testing";
import { MissingFeaturePolicy } from "@seam/proto/seam/inference/v1/inference_pb";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestInference, type TestInference } from "./testing/harness.js";
import { buildMlpModel } from "./testing/models.js";

const exporter = new InMemorySpanExporter();
let tracing: InMemoryTracing;
let t: TestInference;

beforeAll(async () => {
  tracing = startInMemoryTracing(exporter);
  t = await startTestInference({ INFERENCE_MAX_QUEUE_DELAY_US: 2_000 });
  await t.uploadModel("mlp", buildMlpModel());
});
afterAll(async () => {
  await t?.close();
  tracing.stop();
});

describe("prediction spans", () => {
  it("puts the queue wait and the batch run, in that order, under the request's span", async () => {
    await t.runtime.predictor.predict({
      model: "mlp",
      requestId: "warm",
      input: {
        kind: "tensors",
        tensors: [{ name: "x", type: "float32", dims: [1, 20], data: new Float32Array(20) }],
      },
      outputs: [],
      missingFeatures: MissingFeaturePolicy.UNSPECIFIED,
    });
    exporter.reset();
    await withSpan("request", {}, () =>
      t.runtime.predictor.predict({
        model: "mlp",
        requestId: "r1",
        input: {
          kind: "tensors",
          tensors: [{ name: "x", type: "float32", dims: [3, 20], data: new Float32Array(60) }],
        },
        outputs: [],
        missingFeatures: MissingFeaturePolicy.UNSPECIFIED,
      }),
    );
    const spans = exporter.getFinishedSpans();
    const request = spans.find((s) => s.name === "request");
    const queue = spans.find((s) => s.name === "inference.queue_wait");
    const run = spans.find((s) => s.name === "inference.batch_run");
    expect(request).toBeDefined();
    expect(queue?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
    expect(run?.parentSpanContext?.spanId).toBe(request?.spanContext().spanId);
    expect(run?.attributes).toMatchObject({
      "seam.model": "mlp",
      "seam.model_version": 1,
      "seam.batch_rows": 3,
    });
    // The queue wait ends where the run starts (hrtime [seconds, nanos] pairs).
    const ms = (time: [number, number] | undefined) =>
      time === undefined ? Number.NaN : time[0] * 1e3 + time[1] / 1e6;
    expect(ms(queue?.endTime)).toBeCloseTo(ms(run?.startTime), 0);
    expect(ms(queue?.startTime)).toBeLessThanOrEqual(ms(queue?.endTime));
    // No payload in any attribute.
    for (const span of spans) expect(JSON.stringify(span.attributes)).not.toMatch(/\[0,0/);
  });
});
