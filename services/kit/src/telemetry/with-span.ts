import { type Attributes, type Span, SpanStatusCode, trace } from "@opentelemetry/api";

const TRACER_NAME = "@seam/kit";

/**
 * Runs `fn` inside a new active INTERNAL span named `name` carrying `attributes`,
 * ending it when `fn` settles; a thrown error is recorded and marks the span ERROR,
 * then rethrown unchanged. Depends only on @opentelemetry/api, so it costs a no-op
 * span when no SDK runs. Attributes must describe the work (sizes, counts, names),
 * never payloads or secrets.
 */
export async function withSpan<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T> | T,
): Promise<T> {
  // Looked up per call: the global provider may be registered after this module loads.
  const tracer = trace.getTracer(TRACER_NAME);
  return tracer.startActiveSpan(name, { attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      span.recordException(error instanceof Error ? error : String(error));
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : String(error),
      });
      throw error;
    } finally {
      span.end();
    }
  });
}
