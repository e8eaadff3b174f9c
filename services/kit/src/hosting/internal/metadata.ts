import { decodeBinaryHeader, encodeBinaryHeader } from "@connectrpc/connect";
import { Metadata } from "@grpc/grpc-js";

// Metadata keys grpc-js accepts; anything else would make Metadata.add throw mid-call.
const LEGAL_KEY = /^[0-9a-z_.-]+$/;

// Headers owned by HTTP/2 or by the gRPC protocol itself. Forwarding them as metadata
// would either be rejected by node:http2 (connection-specific headers) or clash with
// what grpc-js writes (content-type, te, grpc-timeout, ...).
const RESERVED = new Set([
  "connection",
  "content-encoding",
  "content-length",
  "content-type",
  "host",
  "keep-alive",
  "proxy-connection",
  "te",
  "transfer-encoding",
  "upgrade",
  "user-agent",
]);

/** True for headers that must never be copied into gRPC metadata. */
export function isReservedHeader(key: string): boolean {
  return key.startsWith(":") || key.startsWith("grpc-") || RESERVED.has(key);
}

/**
 * Converts grpc-js metadata to Fetch Headers. Binary (`-bin`) values become
 * base64, the same encoding connect-es uses for binary headers.
 */
export function headersFromMetadata(metadata: Metadata | null | undefined): Headers {
  const headers = new Headers();
  if (metadata == null) return headers;
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    for (const value of values) {
      headers.append(key, typeof value === "string" ? value : encodeBinaryHeader(value));
    }
  }
  return headers;
}

/**
 * Converts header entries to grpc-js metadata, leaving out reserved and illegal keys;
 * `-bin` values are decoded from base64.
 */
export function metadataFromEntries(entries: Iterable<readonly [string, string]>): Metadata {
  const metadata = new Metadata();
  for (const [key, value] of entries) addHeader(metadata, key, value, isReservedHeader);
  return metadata;
}

/**
 * Converts Fetch Headers to grpc-js metadata, dropping keys `skip` rejects and keys
 * gRPC cannot carry. `-bin` values are decoded from base64.
 */
export function metadataFromHeaders(
  headers: Headers,
  skip: (key: string) => boolean = isReservedHeader,
  target: Metadata = new Metadata(),
): Metadata {
  headers.forEach((value, key) => {
    addHeader(target, key, value, skip);
  });
  return target;
}

// Headers joins repeated values with ", ", so each part of a `-bin` value is decoded on
// its own (base64 has no commas, so a single value is one part).
function addHeader(target: Metadata, key: string, value: string, skip: (key: string) => boolean): void {
  if (skip(key) || !LEGAL_KEY.test(key)) return;
  if (!key.endsWith("-bin")) {
    target.add(key, value);
    return;
  }
  for (const part of value.split(",")) target.add(key, Buffer.from(decodeBinaryHeader(part.trim())));
}
