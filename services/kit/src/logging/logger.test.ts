import { PassThrough } from "node:stream";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "./logger.js";

function capture() {
  const stream = new PassThrough();
  const lines: Array<Record<string, unknown>> = [];
  stream.on("data", (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) if (line !== "") lines.push(JSON.parse(line));
  });
  return { stream, lines };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));

describe("createLogger", () => {
  beforeAll(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(new BasicTracerProvider());
  });
  afterAll(() => {
    trace.disable();
    context.disable();
  });

  it("puts the active span's trace_id and span_id on every line, and nothing outside a span", async () => {
    const { stream, lines } = capture();
    const logger = createLogger({ service: "registry", destination: stream });
    const span = trace.getTracer("test").startSpan("call");
    context.with(trace.setSpan(context.active(), span), () =>
      logger.child({ rpc: "GetModel" }).info("inside"),
    );
    span.end();
    logger.info("outside");
    await flush();
    expect(lines[0]).toMatchObject({
      msg: "inside",
      service: "registry",
      rpc: "GetModel",
      trace_id: span.spanContext().traceId,
      span_id: span.spanContext().spanId,
    });
    expect(lines[1]?.msg).toBe("outside");
    expect(lines[1]).not.toHaveProperty("trace_id");
  });

  it("redacts secrets wherever they are logged", async () => {
    const { stream, lines } = capture();
    const logger = createLogger({ service: "gateway", destination: stream });
    logger.info(
      { password: "hunter2", config: { redisUrl: "redis://:pw@host", token: "t0ken" } },
      "configured",
    );
    await flush();
    const text = JSON.stringify(lines[0]);
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("pw@host");
    expect(text).not.toContain("t0ken");
    expect(lines[0]).toMatchObject({ password: "[redacted]", config: { redisUrl: "[redacted]" } });
  });
});
