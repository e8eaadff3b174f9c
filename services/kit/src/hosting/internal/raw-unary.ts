import type { DescMethodUnary } from "@bufbuild/protobuf";
import { type Client, status as grpcStatus, type Metadata, type StatusObject } from "@grpc/grpc-js";
import { type Attributes, context, propagation, SpanKind, SpanStatusCode, trace } from "@opentelemetry/api";
import { backoffMs, isRetryableMethod, type RetryPolicy } from "../retry.js";
import { sleep } from "./async.js";
import { metadataFromEntries } from "./metadata.js";

/** Header name → values, as HTTP carries them (`-bin` values in base64). */
export type RawHeaders = Record<string, string[]>;

/** What a forwarded unary call came back with: the backend's headers, status and message. */
export interface RawUnaryResult {
  /** Response headers (empty when the backend sent none, e.g. a trailers-only error). */
  readonly header: RawHeaders;
  /** The gRPC status code (0 = OK). */
  readonly code: number;
  /** The status message. */
  readonly details: string;
  /** Trailers, `grpc-status-details-bin` (the error details) included. */
  readonly trailer: RawHeaders;
  /** The serialized response message, present when the status is OK. */
  readonly message: Buffer | undefined;
}

/** Options of one forwarded unary call. */
export interface RawUnaryOptions {
  /** Request metadata as HTTP headers (`-bin` values in base64); reserved names are left out. */
  readonly headers: Iterable<readonly [string, string]>;
  /** Absolute deadline (ms since the epoch), or Infinity. */
  readonly deadline: number;
  /** Cancels the call (and any retry still to come); the result then reports CANCELLED. */
  readonly signal?: AbortSignal;
}

/** A unary call on already-serialized bytes: forwards a request without decoding it. */
export type RawUnaryCall = (
  method: DescMethodUnary,
  request: Uint8Array,
  options: RawUnaryOptions,
) => Promise<RawUnaryResult>;

/**
 * Unary calls on serialized messages through `client`, for proxies: nothing is decoded
 * or re-encoded. Methods the proto marks NO_SIDE_EFFECTS or IDEMPOTENT are retried on
 * UNAVAILABLE within the deadline, as the typed transport does. Each attempt is a CLIENT
 * span under the active context, whose trace context the server receives. Never rejects:
 * every outcome, a cancellation included, is a status.
 */
export function createRawUnaryCall(client: Client, retry: RetryPolicy | undefined): RawUnaryCall {
  const channel = client.getChannel();
  const peer = peerAttributes(channel.getTarget());
  // Per method, built once: the path and the span's name and attributes.
  const calls = new Map<DescMethodUnary, MethodCall>();
  return async (method, request, options) => {
    let call = calls.get(method);
    if (call === undefined) {
      call = methodCall(method, peer);
      calls.set(method, call);
    }
    const body = Buffer.from(request.buffer, request.byteOffset, request.byteLength);
    const metadata = metadataFromEntries(options.headers);
    const policy = retry !== undefined && isRetryableMethod(method) ? retry : undefined;
    for (let attempt = 1; ; attempt++) {
      const result = await tracedAttempt(channel, call, body, metadata, options);
      const code = result.code;
      if (policy === undefined || code !== grpcStatus.UNAVAILABLE || attempt >= policy.maxAttempts) {
        return result;
      }
      const delay = backoffMs(policy, attempt);
      if (Date.now() + delay >= options.deadline) return result;
      try {
        await sleep(delay, options.signal);
      } catch {
        return cancelled();
      }
    }
  };
}

type Channel = ReturnType<Client["getChannel"]>;

const tracer = trace.getTracer("@seam/kit");
// As grpc-js' target strings: "dns:host:port", "host:port", "127.0.0.1:port" (OpenTelemetry's grpc instrumentation reads it so too).
const TARGET_PATTERN = /(?:([A-Za-z0-9+.-]+):(?:\/\/)?)?(?<name>[A-Za-z0-9+.-]+):(?<port>[0-9+.-]+)$/;

/** What every call of one method shares. */
interface MethodCall {
  readonly path: string;
  readonly spanName: string;
  readonly spanAttributes: Attributes;
}

function methodCall(method: DescMethodUnary, peer: Attributes): MethodCall {
  const service = method.parent.typeName;
  return {
    path: `/${service}/${method.name}`,
    spanName: `grpc.${service}/${method.name}`,
    spanAttributes: { "rpc.system": "grpc", "rpc.service": service, "rpc.method": method.name, ...peer },
  };
}

function peerAttributes(target: string): Attributes {
  const match = TARGET_PATTERN.exec(target);
  const port = Number.parseInt(match?.groups?.port ?? "", 10);
  return {
    ...(match?.groups?.name === undefined ? {} : { "server.address": match.groups.name }),
    ...(Number.isNaN(port) ? {} : { "server.port": port }),
  };
}

const metadataSetter = { set: (carrier: Metadata, key: string, value: string) => carrier.set(key, value) };

/**
 * One attempt inside its CLIENT span, named and attributed as OpenTelemetry's grpc-js
 * instrumentation names the spans of typed calls: that instrumentation patches grpc-js'
 * Client methods, which this path does not go through. The span's context replaces any
 * trace context in the metadata, so the server's span is its child.
 */
async function tracedAttempt(
  channel: Channel,
  call: MethodCall,
  body: Buffer,
  metadata: Metadata,
  options: RawUnaryOptions,
): Promise<RawUnaryResult> {
  const span = tracer.startSpan(call.spanName, { kind: SpanKind.CLIENT, attributes: call.spanAttributes });
  // grpc-js may mutate metadata it sends; every attempt gets its own copy.
  const sent = metadata.clone();
  propagation.inject(trace.setSpan(context.active(), span), sent, metadataSetter);
  const result = await attemptOnce(channel, call.path, body, sent, options);
  span.setAttribute("rpc.grpc.status_code", result.code);
  if (result.code !== grpcStatus.OK) span.setStatus({ code: SpanStatusCode.ERROR, message: result.details });
  span.end();
  return result;
}

// One attempt straight on the channel (load balancing, transparent retries, framing
// and deadline included), below grpc-js' client layer: a proxy needs none of its
// interceptors, stack capture or event emitter, and skipping them measured about a
// sixth more forwarded calls per second.
function attemptOnce(
  channel: Channel,
  path: string,
  body: Buffer,
  metadata: Metadata,
  options: RawUnaryOptions,
): Promise<RawUnaryResult> {
  const { signal } = options;
  if (signal?.aborted === true) return Promise.resolve(cancelled());
  return new Promise((resolve) => {
    let header: Metadata | undefined;
    let message: Buffer | undefined;
    const call = channel.createCall(path, options.deadline, undefined, null, undefined);
    const onAbort = (): void => call.cancelWithStatus(grpcStatus.CANCELLED, "Cancelled on client");
    signal?.addEventListener("abort", onAbort, { once: true });
    call.start(metadata, {
      onReceiveMetadata(md: Metadata) {
        header = md;
      },
      onReceiveMessage(received: Buffer) {
        if (message !== undefined) {
          call.cancelWithStatus(grpcStatus.UNIMPLEMENTED, "Too many responses received");
          return;
        }
        message = received;
        call.startRead();
      },
      onReceiveStatus(status: StatusObject) {
        signal?.removeEventListener("abort", onAbort);
        const ok = status.code === grpcStatus.OK;
        // As grpc-js' unary client: an OK status without a message is the server's mistake.
        const missing = ok && message === undefined;
        resolve({
          header: rawHeadersOf(header),
          code: missing ? grpcStatus.UNIMPLEMENTED : status.code,
          details: missing ? "No message received" : status.details,
          trailer: rawHeadersOf(status.metadata),
          message: ok ? message : undefined,
        });
      },
    });
    call.sendMessageWithContext({}, body);
    call.halfClose();
    call.startRead();
  });
}

function cancelled(): RawUnaryResult {
  return {
    header: {},
    code: grpcStatus.CANCELLED,
    details: "call cancelled by the caller",
    trailer: {},
    message: undefined,
  };
}

function rawHeadersOf(metadata: Metadata | undefined): RawHeaders {
  const headers: RawHeaders = {};
  if (metadata === undefined) return headers;
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    headers[key] = values.map((value) => (typeof value === "string" ? value : value.toString("base64")));
  }
  return headers;
}
