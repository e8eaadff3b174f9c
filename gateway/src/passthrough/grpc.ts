import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Code } from "@connectrpc/connect";
import type { RawHeaders } from "@seam/kit/hosting";
import { callBackend, type ForwardOptions, readBody, relayedHeaders, startForwardedCall } from "./forward.js";
import type { BytesRoute } from "./routes.js";

const GRPC_CONTENT_TYPES = new Set(["application/grpc", "application/grpc+proto"]);
const FRAME_HEADER_BYTES = 5;
const TIMEOUT_PATTERN = /^(\d{1,8})([HMSmun])$/;
const TIMEOUT_UNIT_MS: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 1e-3, n: 1e-6 };
const STATUS_DETAILS = "grpc-status-details-bin";

/**
 * Serves a plain gRPC unary call (HTTP/2, `application/grpc[+proto]`, uncompressed) by
 * handing its request message to the backend as bytes and relaying the response the
 * same way. Returns false, touching nothing, for any other request (compressed
 * messages, a malformed `grpc-timeout`): connect-node serves those.
 */
export function serveGrpcUnary(
  route: BytesRoute,
  req: Http2ServerRequest,
  res: Http2ServerResponse,
  options: ForwardOptions,
): boolean {
  const headers = req.headers;
  const contentType = headers["content-type"];
  if (contentType === undefined || !GRPC_CONTENT_TYPES.has(contentType)) return false;
  const encoding = headers["grpc-encoding"];
  if (encoding !== undefined && encoding !== "identity") return false;
  const timeout = headers["grpc-timeout"];
  const timeoutMs = timeout === undefined ? undefined : parseGrpcTimeout(String(timeout));
  if (timeoutMs === null) return false;
  void forwardGrpc(route, req, res, timeoutMs, options);
  return true;
}

async function forwardGrpc(
  route: BytesRoute,
  req: Http2ServerRequest,
  res: Http2ServerResponse,
  timeoutMs: number | undefined,
  options: ForwardOptions,
): Promise<void> {
  const call = startForwardedCall(route, req, options);
  let body: Buffer | undefined;
  try {
    body = await readBody(req, options.maxRequestBytes + FRAME_HEADER_BYTES);
  } catch {
    call.finish(Code.Canceled, "the client went away before sending its request");
    return;
  }
  const request = body === undefined ? undefined : unframe(body);
  if (request === undefined || typeof request === "string") {
    const [code, details] =
      request === undefined
        ? [
            Code.ResourceExhausted,
            `request message larger than the gateway accepts (${options.maxRequestBytes} bytes)`,
          ]
        : [Code.InvalidArgument, request];
    respondError(res, code, details, {});
    call.finish(code, details);
    return;
  }
  const result = await callBackend(route, call, req, res, request, timeoutMs, options);
  if (result.code === 0 && result.message !== undefined) {
    respondMessage(res, result.message, result.header, result.trailer);
  } else {
    respondError(res, result.code, result.details, { ...result.header, ...result.trailer });
  }
  call.finish(result.code, result.details);
}

// The one message of a unary request, or what is wrong with its framing.
function unframe(body: Buffer): Buffer | string {
  if (body.length < FRAME_HEADER_BYTES) return "protocol error: a unary call needs one request message";
  if ((body[0] as number) !== 0) return "protocol error: compressed message without grpc-encoding";
  if (body.readUInt32BE(1) !== body.length - FRAME_HEADER_BYTES) {
    return "protocol error: a unary call carries exactly one request message";
  }
  return body.subarray(FRAME_HEADER_BYTES);
}

function respondMessage(
  res: Http2ServerResponse,
  message: Buffer,
  header: RawHeaders,
  trailer: RawHeaders,
): void {
  if (res.stream.destroyed) return;
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + message.length);
  frame[0] = 0;
  frame.writeUInt32BE(message.length, 1);
  message.copy(frame, FRAME_HEADER_BYTES);
  res.writeHead(200, { ...relayedHeaders(header), "content-type": "application/grpc" });
  res.addTrailers({ ...relayedHeaders(trailer), "grpc-status": "0" });
  res.end(frame);
}

// Trailers-only: the status travels in the one HEADERS frame, with the error's metadata and details.
function respondError(res: Http2ServerResponse, code: number, details: string, metadata: RawHeaders): void {
  if (res.stream.destroyed) return;
  const statusDetails = metadata[STATUS_DETAILS];
  res.writeHead(200, {
    ...relayedHeaders(metadata),
    ...(statusDetails === undefined ? {} : { [STATUS_DETAILS]: statusDetails }),
    "content-type": "application/grpc",
    "grpc-status": String(code),
    "grpc-message": percentEncode(details),
  });
  res.end();
}

/** A `grpc-timeout` value in milliseconds, or null when malformed. */
export function parseGrpcTimeout(value: string): number | null {
  const match = TIMEOUT_PATTERN.exec(value);
  if (match === null) return null;
  return Number(match[1]) * (TIMEOUT_UNIT_MS[match[2] as string] as number);
}

/** gRPC's `grpc-message` encoding: UTF-8, percent-encoding all but printable ASCII other than '%'. */
export function percentEncode(message: string): string {
  let out = "";
  for (const byte of Buffer.from(message, "utf8")) {
    out +=
      byte >= 0x20 && byte <= 0x7e && byte !== 0x25
        ? String.fromCharCode(byte)
        : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
