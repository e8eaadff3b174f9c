import { type Attributes, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";

const tracer = trace.getTracer("seam-kit-storage");

/**
 * Runs a synchronous LMDB operation inside a client span named `lmdb <operation>`.
 * Attributes describe the shape of the call (prefix, counts), never keys' values.
 */
export function lmdbSpan<T>(operation: string, attributes: Attributes, fn: () => T): T {
  return tracer.startActiveSpan(
    `lmdb ${operation}`,
    { kind: SpanKind.CLIENT, attributes: { "db.system": "lmdb", "db.operation": operation, ...attributes } },
    (span) => {
      try {
        return fn();
      } catch (err) {
        span.recordException(err instanceof Error ? err : String(err));
        span.setStatus({ code: SpanStatusCode.ERROR });
        throw err;
      } finally {
        span.end();
      }
    },
  );
}
