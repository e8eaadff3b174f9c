import type { EventEmitter } from "node:events";
import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ContextValues,
  type MethodImplSpec,
  type ServiceImplSpec,
} from "@connectrpc/connect";
import {
  Metadata,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import type { Logger } from "pino";
import { abortable } from "../../async/index.js";
import { isUnexpectedError, toConnectError } from "../../errors/index.js";
import type { RpcRecorder, RpcServerMetrics } from "../../telemetry/rpc-metrics.js";
import { decodedRequest } from "../service-definition.js";
import { readMessages, waitForDrain } from "./async.js";
import { CallContext } from "./call-context.js";
import { headersFromMetadata, metadataFromHeaders } from "./metadata.js";
import { type GrpcStatus, grpcStatusFromConnectError } from "./status.js";

type Msg = MessageShape<DescMessage>;
type MsgInit = MessageInitShape<DescMessage>;
type Context = CallContext;
// grpc-js does not export ServerSurfaceCall from its root; every call type extends it.
type ServerSurfaceCall =
  | ServerUnaryCall<Msg, MsgInit>
  | ServerReadableStream<Msg, MsgInit>
  | ServerWritableStream<Msg, MsgInit>
  | ServerDuplexStream<Msg, MsgInit>;

/** What a per-call context-values factory learns about the call. */
export interface GrpcCallInfo {
  /** `/package.Service/Method`. */
  readonly path: string;
  /** The peer address as grpc-js reports it. */
  readonly peer: string;
  /** Incoming metadata as Headers. */
  readonly requestHeader: Headers;
}

/** Shared by every call of one server. */
export interface HandlerOptions {
  readonly logger: Logger;
  /** The calls running now: the server aborts their `ctx.signal` when it is forced down. */
  readonly calls: Set<CallContext>;
  readonly contextValues?: (call: GrpcCallInfo) => ContextValues;
  /** Per-RPC metrics; absent when no MeterProvider was registered, and then calls skip them. */
  readonly metrics?: RpcServerMetrics;
}

// Aborting ctx.signal when a call ends releases whatever the handler still listens
// with. A shared reason: abort() without one builds a DOMException per call, which
// profiling showed as a few percent of a unary call's CPU time.
const CALL_FINISHED = new ConnectError("the call has finished", Code.Canceled);

// A client's deadline fires on its own clock, from when it sent the call: its cancel
// reaches us that much before our copy of the deadline (the request's transit, a few ms,
// more on a loaded machine). A cancel this close to the deadline is the deadline.
const DEADLINE_SLACK_MS = 25;

function deadlineMs(call: ServerSurfaceCall): number {
  const deadline = call.getDeadline();
  return deadline instanceof Date ? deadline.getTime() : deadline;
}

/** A call's handler context, and `end()` to run once the call has finished, however it did. */
interface StartedCall {
  readonly ctx: Context;
  /** `code`: the gRPC status the call ended with (0 = OK). */
  end(code: number): void;
}

/** What every handler of one method shares. */
interface MethodOptions extends HandlerOptions {
  /** Records the method's per-RPC metrics; absent when metrics are off. */
  readonly record?: RpcRecorder;
}

function startContext(call: ServerSurfaceCall, spec: MethodImplSpec, options: MethodOptions): StartedCall {
  const record = options.record;
  const startedAt = record === undefined ? 0 : performance.now();
  const deadline = deadlineMs(call);
  const path = call.getPath();
  const makeValues = options.contextValues;
  // Headers are converted only when something needs them: here, a context-values factory.
  const requestHeader = makeValues === undefined ? undefined : headersFromMetadata(call.metadata);
  const ctx = new CallContext({
    method: spec.method,
    url: path,
    metadata: call.metadata,
    deadline,
    ...(makeValues === undefined || requestHeader === undefined
      ? {}
      : { requestHeader, values: makeValues({ path, peer: call.getPeer(), requestHeader }) }),
  });
  options.calls.add(ctx);
  // grpc-js reports its own deadline expiry as 'cancelled' too, often before our timer.
  const onCancel = (): void => {
    if (ctx.aborted) return;
    ctx.abort(
      Date.now() >= deadline - DEADLINE_SLACK_MS
        ? new ConnectError("the operation timed out", Code.DeadlineExceeded)
        : new ConnectError("the client cancelled the call", Code.Canceled),
    );
  };
  // The union's overloaded signatures do not combine; every member is an EventEmitter.
  const emitter = call as EventEmitter;
  if (call.cancelled) onCancel();
  else emitter.once("cancelled", onCancel);
  return {
    ctx,
    end(code) {
      // grpc-js emits 'cancelled' after every call, finished or not: a listener left in
      // place built two errors (with stack traces) per call for nothing.
      emitter.removeListener("cancelled", onCancel);
      options.calls.delete(ctx);
      ctx.finish(CALL_FINISHED);
      record?.(code, performance.now() - startedAt);
    },
  };
}

/** Maps anything a handler threw to a gRPC status, logging causes that must not be sent. */
function failureStatus(err: unknown, ctx: Context, options: HandlerOptions): GrpcStatus {
  const rpc = `${ctx.service.typeName}/${ctx.method.name}`;
  if (ctx.aborted) {
    // The client went away or the deadline passed: an outcome, not a server fault.
    options.logger.debug({ rpc, reason: String(ctx.signal.reason) }, "call ended early");
  } else if (isUnexpectedError(err)) {
    options.logger.error({ rpc, err }, "handler failed");
  }
  return grpcStatusFromConnectError(toConnectError(err, ctx.signal), ctx.responseTrailer);
}

// Nothing to convert for a handler that set no header or trailer (the usual case).
function sendHeader(call: ServerSurfaceCall, ctx: Context): void {
  const headers = ctx.responseHeaderIfAny;
  call.sendMetadata(headers === undefined ? new Metadata() : metadataFromHeaders(headers));
}

function trailer(ctx: Context): Metadata {
  const trailers = ctx.responseTrailerIfAny;
  return trailers === undefined ? new Metadata() : metadataFromHeaders(trailers);
}

async function writeAll(
  call: ServerWritableStream<Msg, MsgInit> | ServerDuplexStream<Msg, MsgInit>,
  responses: AsyncIterable<MsgInit>,
  ctx: Context,
): Promise<void> {
  let headerSent = false;
  for await (const message of responses) {
    // A handler that ignores ctx.signal must still stop once the call is gone.
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (!headerSent) {
      // Connect's contract: response headers are final once the first message is out.
      sendHeader(call, ctx);
      headerSent = true;
    }
    if (!call.write(message)) await waitForDrain(call, ctx.signal);
  }
  if (!headerSent) sendHeader(call, ctx);
}

function unary(spec: Extract<MethodImplSpec, { kind: "unary" }>, options: MethodOptions): UntypedHandleCall {
  return (call: ServerUnaryCall<Msg, MsgInit>, callback: sendUnaryData<MsgInit>) => {
    const { ctx, end } = startContext(call, spec, options);
    void (async () => {
      let code = 0;
      try {
        const response = await spec.impl(decodedRequest(call.request), ctx);
        sendHeader(call, ctx);
        callback(null, response, trailer(ctx));
      } catch (err) {
        const status = failureStatus(err, ctx, options);
        code = status.code;
        callback(status);
      } finally {
        end(code);
      }
    })();
  };
}

function clientStreaming(
  spec: Extract<MethodImplSpec, { kind: "client_streaming" }>,
  options: MethodOptions,
): UntypedHandleCall {
  return (call: ServerReadableStream<Msg, MsgInit>, callback: sendUnaryData<MsgInit>) => {
    const { ctx, end } = startContext(call, spec, options);
    void (async () => {
      let code = 0;
      try {
        const response = await spec.impl(abortable(decodedMessages(call), ctx.signal), ctx);
        sendHeader(call, ctx);
        callback(null, response, trailer(ctx));
      } catch (err) {
        const status = failureStatus(err, ctx, options);
        code = status.code;
        callback(status);
      } finally {
        end(code);
      }
    })();
  };
}

function serverStreaming(
  spec: Extract<MethodImplSpec, { kind: "server_streaming" }>,
  options: MethodOptions,
): UntypedHandleCall {
  return (call: ServerWritableStream<Msg, MsgInit>) => {
    const { ctx, end } = startContext(call, spec, options);
    void (async () => {
      let code = 0;
      try {
        await writeAll(call, spec.impl(decodedRequest(call.request), ctx), ctx);
        call.end(trailer(ctx));
      } catch (err) {
        // grpc-js turns an 'error' event on its call stream into the final status.
        const status = failureStatus(err, ctx, options);
        code = status.code;
        if (!call.cancelled) call.emit("error", status);
      } finally {
        end(code);
      }
    })();
  };
}

function bidiStreaming(
  spec: Extract<MethodImplSpec, { kind: "bidi_streaming" }>,
  options: MethodOptions,
): UntypedHandleCall {
  return (call: ServerDuplexStream<Msg, MsgInit>) => {
    const { ctx, end } = startContext(call, spec, options);
    void (async () => {
      let code = 0;
      try {
        await writeAll(call, spec.impl(abortable(decodedMessages(call), ctx.signal), ctx), ctx);
        call.end(trailer(ctx));
      } catch (err) {
        const status = failureStatus(err, ctx, options);
        code = status.code;
        if (!call.cancelled) call.emit("error", status);
      } finally {
        end(code);
      }
    })();
  };
}

// A streamed request that does not decode fails the call with INVALID_ARGUMENT.
async function* decodedMessages(
  call: ServerReadableStream<Msg, MsgInit> | ServerDuplexStream<Msg, MsgInit>,
): AsyncGenerator<Msg> {
  for await (const message of readMessages<Msg>(call)) yield decodedRequest(message);
}

/**
 * Builds the grpc-js implementation object of one service from a connect-es
 * ServiceImplSpec (in which missing methods already throw UNIMPLEMENTED).
 */
export function createGrpcImplementation(
  spec: ServiceImplSpec,
  options: HandlerOptions,
): UntypedServiceImplementation {
  const implementation: UntypedServiceImplementation = {};
  for (const [localName, method] of Object.entries(spec.methods)) {
    const record = options.metrics?.method(spec.service.typeName, method.method.name);
    const methodOptions: MethodOptions = record === undefined ? options : { ...options, record };
    switch (method.kind) {
      case "unary":
        implementation[localName] = unary(method, methodOptions);
        break;
      case "client_streaming":
        implementation[localName] = clientStreaming(method, methodOptions);
        break;
      case "server_streaming":
        implementation[localName] = serverStreaming(method, methodOptions);
        break;
      case "bidi_streaming":
        implementation[localName] = bidiStreaming(method, methodOptions);
        break;
    }
  }
  return implementation;
}
