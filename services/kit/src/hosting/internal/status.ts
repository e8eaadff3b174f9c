import { Code, ConnectError } from "@connectrpc/connect";
import { findTrailerError, setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import type { Metadata, StatusObject } from "@grpc/grpc-js";
import { headersFromMetadata, isReservedHeader, metadataFromHeaders } from "./metadata.js";

const STATUS_DETAILS_BIN = "grpc-status-details-bin";

/** What a grpc-js callback or stream 'error' takes: never an Error, never an HTTP status. */
export interface GrpcStatus {
  readonly code: number;
  readonly details: string;
  readonly metadata: Metadata;
}

/**
 * Turns a ConnectError into the status grpc-js sends. ConnectError codes equal gRPC
 * codes numerically. Error details travel as grpc-status-details-bin, as connect-es'
 * own gRPC protocol sends them, so a Connect gateway in front can hand them on.
 */
export function grpcStatusFromConnectError(err: ConnectError, trailer: Headers): GrpcStatus {
  const headers = setTrailerStatus(new Headers(trailer), err);
  const metadata = metadataFromHeaders(headers, (key) => key !== STATUS_DETAILS_BIN && isReservedHeader(key));
  return { code: err.code, details: err.rawMessage, metadata };
}

/**
 * Turns a grpc-js status (or ServiceError) into a ConnectError with the same code,
 * message, metadata and, when present, error details.
 */
export function connectErrorFromGrpcStatus(
  status: Pick<StatusObject, "code" | "details" | "metadata">,
): ConnectError {
  const metadata = headersFromMetadata(status.metadata);
  const code = status.code in Code ? (status.code as number as Code) : Code.Unknown;
  const err = new ConnectError(status.details, code, metadata);
  const detailsBin = metadata.get(STATUS_DETAILS_BIN);
  if (detailsBin !== null) {
    try {
      err.details = findTrailerError(new Headers({ [STATUS_DETAILS_BIN]: detailsBin }))?.details ?? [];
    } catch {
      // Undecodable details must not hide the status itself.
    }
    metadata.delete(STATUS_DETAILS_BIN);
  }
  return err;
}

/** True when `value` looks like a grpc-js ServiceError / StatusObject. */
export function isGrpcStatusLike(
  value: unknown,
): value is Pick<StatusObject, "code" | "details" | "metadata"> {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { code?: unknown }).code === "number" &&
    typeof (value as { details?: unknown }).details === "string"
  );
}
