import type { IncomingHttpHeaders } from "node:http";
import { type Context, context, type TextMapGetter } from "@opentelemetry/api";
import type { RawHeaders, RawUnaryResult } from "@seam/kit/hosting";
import type { NodeRequest, NodeResponse } from "../cors.js";
import { isForwardedRequestHeader, isRelayedResponseHeader } from "../headers.js";
import type { MethodRecorders } from "../metrics.js";
import { endRpcSpan, startRpcSpan } from "../tracing.js";
import type { BytesRoute } from "./routes.js";

/** What every forwarded call shares. */
export interface ForwardOptions {
  /** Largest request message accepted; a bigger one fails RESOURCE_EXHAUSTED. */
  readonly maxRequestBytes: number;
  /** Request header names forwarded besides custom `x-` headers (lower case). */
  readonly forwardedHeaders: ReadonlySet<string>;
  /** Per-RPC metrics, when a MeterProvider is registered. */
  readonly recorderOf?: MethodRecorders;
}

/** One call through the gateway: its span's context, and `finish` to record the outcome once. */
export interface ForwardedCall {
  readonly active: Context;
  finish(code: number, details: string): void;
}

const incomingHeadersGetter: TextMapGetter<IncomingHttpHeaders> = {
  keys: (carrier) => Object.keys(carrier),
  get: (carrier, key) => carrier[key],
};

/** Starts the call's server span and metrics clock, as the connect-node path's interceptors do. */
export function startForwardedCall(
  route: BytesRoute,
  req: NodeRequest,
  options: ForwardOptions,
): ForwardedCall {
  const { method } = route;
  const startedAt = performance.now();
  const { span, active } = startRpcSpan(
    method.parent.typeName,
    method.name,
    req.headers,
    incomingHeadersGetter,
  );
  return {
    active,
    finish(code, details) {
      endRpcSpan(span, code, details);
      options.recorderOf?.(method)(code, performance.now() - startedAt);
    },
  };
}

/**
 * Calls the backend with the serialized request and the forwarded headers, inside the
 * call's span (the kit's byte call carries the trace on from there); the client going
 * away (or the gateway closing its connection) cancels the backend call.
 */
export async function callBackend(
  route: BytesRoute,
  call: ForwardedCall,
  req: NodeRequest,
  res: NodeResponse,
  request: Uint8Array,
  timeoutMs: number | undefined,
  options: ForwardOptions,
): Promise<RawUnaryResult> {
  const deadline = timeoutMs === undefined ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
  const cancel = new AbortController();
  const onClose = (): void => cancel.abort();
  res.once("close", onClose);
  const headers = forwardedHeaders(req.headers, options.forwardedHeaders);
  try {
    return await context.with(call.active, () =>
      route.call(route.method, request, { headers, deadline, signal: cancel.signal }),
    );
  } finally {
    res.off("close", onClose);
  }
}

/**
 * The request body, or undefined once it grows past `maxBytes`: the rest is then read
 * and dropped, so the response can still be sent on the same stream or connection.
 */
export function readBody(req: NodeRequest, maxBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const onData = (chunk: Buffer): void => {
      length += chunk.length;
      if (length <= maxBytes) {
        chunks.push(chunk);
        return;
      }
      cleanup();
      req.resume();
      resolve(undefined);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, length));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(error);
    };
    const onClose = (): void => onError(new Error("the client closed the request before its end"));
    const cleanup = (): void => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    req.on("data", onData);
    req.on("end", onEnd);
    req.on("error", onError);
    req.on("close", onClose);
  });
}

/** The backend's headers or trailers the gateway relays (see headers.ts), names prefixed with `prefix`. */
export function relayedHeaders(headers: RawHeaders, prefix = ""): RawHeaders {
  const out: RawHeaders = {};
  for (const key in headers) {
    if (isRelayedResponseHeader(key)) out[prefix + key] = headers[key] as string[];
  }
  return out;
}

function forwardedHeaders(headers: IncomingHttpHeaders, names: ReadonlySet<string>): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const key in headers) {
    if (!isForwardedRequestHeader(key, names)) continue;
    const value = headers[key];
    if (typeof value === "string") out.push([key, value]);
    else if (value !== undefined) for (const each of value) out.push([key, each]);
  }
  return out;
}
