import { context, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";

/** Spans recorded in memory while a test runs; `stop()` puts the no-op globals back. */
export interface InMemoryTracing {
  readonly spans: InMemorySpanExporter;
  /** The global tracer provider, for an instrumentation under test. */
  readonly provider: BasicTracerProvider;
  stop(): void;
}

/**
 * Installs OpenTelemetry for a test as the SDK does in a service (async-local context,
 * W3C trace context, a tracer provider), recording finished spans in `spans`.
 */
export function startInMemoryTracing(spans = new InMemorySpanExporter()): InMemoryTracing {
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return {
    spans,
    provider,
    stop() {
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
