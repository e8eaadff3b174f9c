import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import {
  type Context,
  context,
  propagation,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  trace,
} from "@opentelemetry/api";

const TRACER_NAME = "@seam/gateway";

const headersGetter: TextMapGetter<Headers> = {
  keys: (carrier) => [...carrier.keys()],
  get: (carrier, key) => carrier.get(key) ?? undefined,
};

// Codes that mean the server failed, following the gRPC server-span convention;
// NOT_FOUND or INVALID_ARGUMENT are the caller's problem and leave the span unset.
const SERVER_ERROR_CODES = new Set<number>([
  Code.Unknown,
  Code.DeadlineExceeded,
  Code.Unimplemented,
  Code.Internal,
  Code.Unavailable,
  Code.DataLoss,
]);

/**
 * A server interceptor making one SERVER span per RPC, since connect-node has no
 * auto-instrumentation. It continues the caller's W3C trace (`traceparent`), names
 * the span `<package.Service>/<Method>` with rpc.system "connect_rpc", rpc.service,
 * rpc.method and the outcome (`rpc.grpc.status_code` always, `rpc.connect_rpc.error_code`
 * on errors), and keeps the span active while the handler runs, including every
 * pull of a streamed response, so the forwarded backend call becomes its child.
 * Streamed calls end their span when the stream completes, fails or is abandoned.
 * Put it first among the interceptors. With no SDK registered it costs a no-op span.
 */
export function createTracingInterceptor(): Interceptor {
  return (next) => async (request) => {
    const { span, active } = startRpcSpan(
      request.service.typeName,
      request.method.name,
      request.header,
      headersGetter,
    );
    let response: Awaited<ReturnType<typeof next>>;
    try {
      response = await context.with(active, () => next(request));
    } catch (error) {
      endWithError(span, error);
      throw error;
    }
    if (!response.stream) {
      endRpcSpan(span, 0);
      return response;
    }
    return { ...response, message: tracedStream(response.message, active, span) };
  };
}

/**
 * Starts the gateway's SERVER span of one RPC, named `<package.Service>/<Method>`,
 * continuing the caller's W3C trace read from `carrier`. `active` is the context to run
 * the forwarded call in, so the backend call becomes the span's child.
 */
export function startRpcSpan<Carrier>(
  serviceName: string,
  methodName: string,
  carrier: Carrier,
  getter: TextMapGetter<Carrier>,
): { readonly span: Span; readonly active: Context } {
  // Rooted at ROOT_CONTEXT, not context.active(): this is where the request enters the
  // process, so the only parent is the remote caller. It also sheds the suppressTracing
  // flag the http instrumentation sets on requests it ignores (the gateway's HTTP/1.1
  // connections), which would otherwise silence this span and the backend call's.
  const parent = propagation.extract(ROOT_CONTEXT, carrier, getter);
  const span = trace.getTracer(TRACER_NAME).startSpan(
    `${serviceName}/${methodName}`,
    {
      kind: SpanKind.SERVER,
      attributes: { "rpc.system": "connect_rpc", "rpc.service": serviceName, "rpc.method": methodName },
    },
    parent,
  );
  return { span, active: trace.setSpan(parent, span) };
}

/** Ends a span of {@link startRpcSpan} with the call's gRPC status code (and message on failure). */
export function endRpcSpan(span: Span, code: number, message = ""): void {
  if (code !== 0) {
    span.setAttribute("rpc.connect_rpc.error_code", connectCodeName(code));
    if (SERVER_ERROR_CODES.has(code)) span.setStatus({ code: SpanStatusCode.ERROR, message });
  }
  span.setAttribute("rpc.grpc.status_code", code);
  span.end();
}

// Pulls each message inside the span's context: a streaming handler's body runs on
// these pulls, long after next() has returned.
async function* tracedStream<T>(messages: AsyncIterable<T>, active: Context, span: Span): AsyncGenerator<T> {
  const iterator = messages[Symbol.asyncIterator]();
  let outcome: "ok" | "error" | "abandoned" = "abandoned";
  try {
    for (;;) {
      const result = await context.with(active, () => iterator.next());
      if (result.done === true) break;
      yield result.value;
    }
    outcome = "ok";
  } catch (error) {
    outcome = "error";
    endWithError(span, error);
    throw error;
  } finally {
    if (outcome === "ok") endRpcSpan(span, 0);
    if (outcome === "abandoned") {
      // The client went away mid-stream; let the handler's finally blocks run too.
      await iterator.return?.();
      endWithError(span, new ConnectError("stream abandoned by the client", Code.Canceled));
    }
  }
}

function endWithError(span: Span, reason: unknown): void {
  const error = ConnectError.from(reason);
  endRpcSpan(span, error.code, error.rawMessage);
}

// Connect's wire names: "not_found", "deadline_exceeded", ...
function connectCodeName(code: Code): string {
  return (Code[code] ?? "unknown").replace(/(?<!^)([A-Z])/g, "_$1").toLowerCase();
}
