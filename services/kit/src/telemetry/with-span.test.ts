import { SpanStatusCode, trace } from "@opentelemetry/api";
import { InMemorySpanExporter } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { type InMemoryTracing, startInMemoryTracing } from "../testing/in-memory-tracing.js";
import { withSpan } from "./with-span.js";

const exporter = new InMemorySpanExporter();
let tracing: InMemoryTracing;

beforeAll(() => {
  tracing = startInMemoryTracing(exporter);
});
afterAll(() => {
  tracing.stop();
});
beforeEach(() => exporter.reset());

describe("withSpan", () => {
  it("ends a span carrying the attributes, active while fn runs, and returns fn's value", async () => {
    const result = await withSpan("ort.run", { "seam.batch_size": 8 }, async (span) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      expect(trace.getActiveSpan()).toBe(span);
      return await withSpan("inner", {}, () => 42);
    });

    expect(result).toBe(42);
    const [inner, outer] = exporter.getFinishedSpans();
    expect(outer?.name).toBe("ort.run");
    expect(outer?.attributes).toEqual({ "seam.batch_size": 8 });
    expect(inner?.parentSpanContext?.spanId).toBe(outer?.spanContext().spanId);
  });

  it("records a thrown error, marks the span ERROR and rethrows it unchanged", async () => {
    const failure = new Error("model not loadable");
    await expect(withSpan("load", {}, () => Promise.reject(failure))).rejects.toBe(failure);

    const [span] = exporter.getFinishedSpans();
    expect(span?.status).toEqual({ code: SpanStatusCode.ERROR, message: "model not loadable" });
    expect(span?.events.map((e) => e.name)).toEqual(["exception"]);
  });
});
