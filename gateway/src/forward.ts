import type {
  DescMessage,
  DescMethodBiDiStreaming,
  DescMethodClientStreaming,
  DescMethodServerStreaming,
  DescMethodUnary,
  DescService,
  MessageShape,
} from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type HandlerContext,
  type MethodImpl,
  type Transport,
} from "@connectrpc/connect";
import { context, propagation } from "@opentelemetry/api";
import { copyResponseMetadata, requestHeadersToForward } from "./headers.js";

// protobuf-es types DescMethod as one interface whose methodKind is a plain union;
// this is the same value seen as a union TypeScript can narrow by methodKind.
type TypedMethod =
  | DescMethodUnary
  | DescMethodServerStreaming
  | DescMethodClientStreaming
  | DescMethodBiDiStreaming;

/** What {@link routeToBackend} needs beyond the service and its transport. */
export interface ForwardOptions {
  /** Request header names forwarded besides custom `x-` headers (lower case). */
  readonly forwardedHeaders: ReadonlySet<string>;
}

/**
 * Registers on `router` one forwarding handler per method of `service`, driven by
 * the descriptor alone. Each handler passes the caller's deadline (`ctx.timeoutMs()`),
 * cancellation (`ctx.signal`) and selected headers to `transport`, streams messages
 * through in both directions without buffering, and relays a backend ConnectError
 * with its code, message, details and (application) metadata unchanged.
 */
export function routeToBackend(
  router: ConnectRouter,
  service: DescService,
  transport: Transport,
  options: ForwardOptions,
): void {
  for (const method of service.methods as TypedMethod[]) {
    switch (method.methodKind) {
      case "unary":
        router.rpc(method, forwardUnary(method, transport, options));
        break;
      case "server_streaming":
        router.rpc(method, forwardServerStreaming(method, transport, options));
        break;
      case "client_streaming":
        router.rpc(method, forwardClientStreaming(method, transport, options));
        break;
      case "bidi_streaming":
        router.rpc(method, forwardBiDiStreaming(method, transport, options));
        break;
    }
  }
}

function forwardUnary<I extends DescMessage, O extends DescMessage>(
  method: DescMethodUnary<I, O>,
  transport: Transport,
  options: ForwardOptions,
): MethodImpl<DescMethodUnary<I, O>> {
  return async (request, ctx) => {
    try {
      const response = await transport.unary(
        method,
        ctx.signal,
        ctx.timeoutMs(),
        outgoingHeaders(ctx, options),
        request,
      );
      copyResponseMetadata(response.header, ctx.responseHeader);
      copyResponseMetadata(response.trailer, ctx.responseTrailer);
      return response.message;
    } catch (error) {
      throw relayedError(error);
    }
  };
}

function forwardServerStreaming<I extends DescMessage, O extends DescMessage>(
  method: DescMethodServerStreaming<I, O>,
  transport: Transport,
  options: ForwardOptions,
): MethodImpl<DescMethodServerStreaming<I, O>> {
  return (request, ctx) => relayStream(method, transport, options, single(request), ctx);
}

function forwardClientStreaming<I extends DescMessage, O extends DescMessage>(
  method: DescMethodClientStreaming<I, O>,
  transport: Transport,
  options: ForwardOptions,
): MethodImpl<DescMethodClientStreaming<I, O>> {
  return async (requests, ctx) => {
    let response: MessageShape<O> | undefined;
    // The request iterable is handed on as is: messages reach the backend as they arrive.
    for await (const message of relayStream(method, transport, options, requests, ctx)) {
      if (response !== undefined) {
        throw new ConnectError(
          "protocol error: backend sent extra messages for client streaming method",
          Code.Internal,
        );
      }
      response = message;
    }
    if (response === undefined) {
      throw new ConnectError(
        "protocol error: backend sent no message for client streaming method",
        Code.Internal,
      );
    }
    return response;
  };
}

function forwardBiDiStreaming<I extends DescMessage, O extends DescMessage>(
  method: DescMethodBiDiStreaming<I, O>,
  transport: Transport,
  options: ForwardOptions,
): MethodImpl<DescMethodBiDiStreaming<I, O>> {
  return (requests, ctx) => relayStream(method, transport, options, requests, ctx);
}

// Headers are copied before the first message so they go out with it; trailers only
// exist once the backend stream has ended.
async function* relayStream<I extends DescMessage, O extends DescMessage>(
  method: DescMethodServerStreaming<I, O> | DescMethodClientStreaming<I, O> | DescMethodBiDiStreaming<I, O>,
  transport: Transport,
  options: ForwardOptions,
  requests: AsyncIterable<MessageShape<I>>,
  ctx: HandlerContext,
): AsyncGenerator<MessageShape<O>> {
  try {
    const response = await transport.stream(
      method,
      ctx.signal,
      ctx.timeoutMs(),
      outgoingHeaders(ctx, options),
      requests,
    );
    copyResponseMetadata(response.header, ctx.responseHeader);
    yield* response.message;
    copyResponseMetadata(response.trailer, ctx.responseTrailer);
  } catch (error) {
    throw relayedError(error);
  }
}

async function* single<T>(message: T): AsyncIterable<T> {
  yield message;
}

function outgoingHeaders(ctx: HandlerContext, options: ForwardOptions): Headers {
  const headers = requestHeadersToForward(ctx.requestHeader, options.forwardedHeaders);
  // The active context is the gateway's server span (see the tracing interceptor), so
  // the backend continues this trace even over a transport no instrumentation patches.
  propagation.inject(context.active(), headers, { set: (carrier, key, value) => carrier.set(key, value) });
  return headers;
}

// The backend's error leaves the gateway as the backend raised it; only protocol
// headers are dropped from its metadata (the gateway writes its own status).
function relayedError(reason: unknown): ConnectError {
  const error = ConnectError.from(reason);
  const metadata = new Headers();
  copyResponseMetadata(error.metadata, metadata);
  const relayed = new ConnectError(error.rawMessage, error.code, metadata, undefined, error);
  relayed.details = error.details;
  return relayed;
}
