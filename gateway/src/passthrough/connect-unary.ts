import { fromBinary, fromJsonString, toBinary, toJsonString } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  codeToHttpStatus,
  errorToJsonBytes,
  parseContentType,
  parseTimeout,
} from "@connectrpc/connect/protocol-connect";
import { findTrailerError } from "@connectrpc/connect/protocol-grpc";
import type { RawHeaders, RawUnaryResult } from "@seam/kit/hosting";
import type { NodeRequest, NodeResponse } from "../cors.js";
import { callBackend, type ForwardOptions, readBody, relayedHeaders, startForwardedCall } from "./forward.js";
import type { BytesRoute } from "./routes.js";

const STATUS_DETAILS = "grpc-status-details-bin";
// connect-es reads JSON this way by default: unknown fields from newer clients are no error.
const JSON_READ_OPTIONS = { ignoreUnknownFields: true };

/**
 * Serves a Connect unary POST (JSON or binary, uncompressed, over HTTP/1.1 or HTTP/2)
 * by turning the request into protobuf bytes for the backend and its answer back into
 * the caller's format: the same transcoding connect-node does, without its generic
 * stream pipeline around it. Returns false, touching nothing, for any other request
 * (GET, compressed bodies, streaming content types, an unknown protocol version, a
 * malformed `connect-timeout-ms`): connect-node serves those.
 */
export function serveConnectUnary(
  route: BytesRoute,
  req: NodeRequest,
  res: NodeResponse,
  options: ForwardOptions,
): boolean {
  const headers = req.headers;
  const contentType = parseContentType(headers["content-type"] ?? null);
  if (contentType === undefined || contentType.stream) return false;
  const encoding = headers["content-encoding"];
  if (encoding !== undefined && encoding !== "identity") return false;
  const version = headers["connect-protocol-version"];
  if (version !== undefined && version !== "1") return false;
  const timeout = headers["connect-timeout-ms"];
  let timeoutMs: number | undefined;
  if (timeout !== undefined) {
    const parsed = parseTimeout(String(timeout), Number.MAX_SAFE_INTEGER);
    if (parsed.error !== undefined) return false;
    timeoutMs = parsed.timeoutMs;
  }
  void forwardConnect(route, req, res, contentType.binary, timeoutMs, options);
  return true;
}

async function forwardConnect(
  route: BytesRoute,
  req: NodeRequest,
  res: NodeResponse,
  binary: boolean,
  timeoutMs: number | undefined,
  options: ForwardOptions,
): Promise<void> {
  const { method } = route;
  const call = startForwardedCall(route, req, options);
  let body: Buffer | undefined;
  try {
    body = await readBody(req, options.maxRequestBytes);
  } catch {
    call.finish(Code.Canceled, "the client went away before sending its request");
    return;
  }
  if (body === undefined) {
    const error = new ConnectError(
      `request message larger than the gateway accepts (${options.maxRequestBytes} bytes)`,
      Code.ResourceExhausted,
    );
    respondError(res, error, {});
    call.finish(error.code, error.rawMessage);
    return;
  }

  let request: Uint8Array;
  try {
    request = binary
      ? body
      : toBinary(method.input, fromJsonString(method.input, body.toString("utf8"), JSON_READ_OPTIONS));
  } catch (reason) {
    const error = ConnectError.from(reason, Code.InvalidArgument);
    respondError(res, error, {});
    call.finish(error.code, error.rawMessage);
    return;
  }

  const result = await callBackend(route, call, req, res, request, timeoutMs, options);
  if (result.code !== 0 || result.message === undefined) {
    const error = errorOf(result);
    respondError(res, error, { ...result.header, ...result.trailer });
    call.finish(error.code, error.rawMessage);
    return;
  }
  let responseBody: string | Buffer;
  try {
    responseBody = binary
      ? result.message
      : toJsonString(method.output, fromBinary(method.output, result.message));
  } catch (reason) {
    const error = ConnectError.from(reason, Code.Internal);
    respondError(res, error, {});
    call.finish(error.code, error.rawMessage);
    return;
  }
  if (!isGone(res)) {
    res.writeHead(200, {
      ...relayedHeaders(result.header),
      ...relayedHeaders(result.trailer, "trailer-"),
      "content-type": binary ? "application/proto" : "application/json",
      "content-length": Buffer.byteLength(responseBody),
    });
    res.end(responseBody);
  }
  call.finish(0, "");
}

// The backend's status as the error connect-es would have made of it, details included.
function errorOf(result: RawUnaryResult): ConnectError {
  const code = result.code in Code ? (result.code as Code) : Code.Unknown;
  const error = new ConnectError(result.details, code);
  const details = result.trailer[STATUS_DETAILS]?.[0];
  if (details !== undefined) {
    try {
      error.details =
        findTrailerError(new Headers({ "grpc-status": String(code), [STATUS_DETAILS]: details }))?.details ??
        [];
    } catch {
      // Undecodable details must not hide the status itself.
    }
  }
  return error;
}

// Connect's unary error: the HTTP status of the code, the error as JSON, its metadata as headers.
function respondError(res: NodeResponse, error: ConnectError, metadata: RawHeaders): void {
  if (isGone(res)) return;
  const body = errorToJsonBytes(error, undefined);
  res.writeHead(codeToHttpStatus(error.code), {
    ...relayedHeaders(metadata),
    "content-type": "application/json",
    "content-length": body.byteLength,
  });
  res.end(body);
}

// Whether the client went away (Http2ServerResponse has no `destroyed` of its own).
function isGone(res: NodeResponse): boolean {
  return "stream" in res ? res.stream.destroyed : res.destroyed;
}
