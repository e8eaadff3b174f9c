import type { OtlpReceiver, ReceivedSpan } from "@seam/kit/testing";

/** The one span matching `predicate`; throws, listing the trace, when there are none or several. */
export function only(spans: readonly ReceivedSpan[], predicate: (s: ReceivedSpan) => boolean): ReceivedSpan {
  const found = spans.filter(predicate);
  if (found.length !== 1) {
    throw new Error(`expected exactly one matching span, got ${found.length}:\n${describeTrace(spans)}`);
  }
  return found[0] as ReceivedSpan;
}

/** Whether `span` has the span `ancestorId` among its ancestors within `spans`. */
export function descendsFrom(
  spans: readonly ReceivedSpan[],
  span: ReceivedSpan,
  ancestorId: string,
): boolean {
  const byId = new Map(spans.map((s) => [s.spanId, s]));
  let current: ReceivedSpan | undefined = span;
  const seen = new Set<string>();
  while (current?.parentSpanId !== undefined && !seen.has(current.spanId)) {
    if (current.parentSpanId === ancestorId) return true;
    seen.add(current.spanId);
    current = byId.get(current.parentSpanId);
  }
  return false;
}

/** Spans whose parent is neither in `spans` nor one of `roots` (the trace is broken there). */
export function orphans(spans: readonly ReceivedSpan[], roots: readonly string[]): ReceivedSpan[] {
  const ids = new Set([...spans.map((s) => s.spanId), ...roots]);
  return spans.filter((s) => s.parentSpanId === undefined || !ids.has(s.parentSpanId));
}

/**
 * Waits (up to `timeoutMs`) until the spans received for `traceId` satisfy `complete`,
 * then a little longer for stragglers (spans of one trace arrive in several exports from
 * several processes); resolves with the trace's spans.
 */
export async function waitForTrace(
  receiver: OtlpReceiver,
  traceId: string,
  complete: (spans: ReceivedSpan[]) => boolean,
  timeoutMs = 20_000,
): Promise<ReceivedSpan[]> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (complete(receiver.trace(traceId))) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      return receiver.trace(traceId);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`trace ${traceId} incomplete:\n${describeTrace(receiver.trace(traceId))}`);
}

/** A trace as an indented tree (service, kind, name), for failure messages. */
export function describeTrace(spans: readonly ReceivedSpan[]): string {
  const children = new Map<string | undefined, ReceivedSpan[]>();
  const ids = new Set(spans.map((s) => s.spanId));
  for (const span of spans) {
    const parent =
      span.parentSpanId !== undefined && ids.has(span.parentSpanId) ? span.parentSpanId : undefined;
    children.set(parent, [...(children.get(parent) ?? []), span]);
  }
  const lines: string[] = [];
  const walk = (parent: string | undefined, depth: number): void => {
    for (const span of children.get(parent) ?? []) {
      lines.push(
        `${"  ".repeat(depth)}${span.serviceName} ${["?", "internal", "server", "client"][span.kind] ?? span.kind} ${span.name} ${span.spanId}${span.parentSpanId === undefined || ids.has(span.parentSpanId) ? "" : ` (parent ${span.parentSpanId})`}`,
      );
      walk(span.spanId, depth + 1);
    }
  };
  walk(undefined, 0);
  return lines.join("\n");
}
