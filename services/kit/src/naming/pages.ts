import { InvalidArgumentError } from "../errors/index.js";

/** page_size of a list RPC when the request leaves it 0. */
export const DEFAULT_PAGE_SIZE = 50;
/** Largest page_size a list RPC accepts. */
export const MAX_PAGE_SIZE = 1000;

// Longer tokens are refused before decoding: no listing position needs that much.
const MAX_TOKEN_LENGTH = 400;

/** Resolves a request's page_size: 0 means {@link DEFAULT_PAGE_SIZE}, above {@link MAX_PAGE_SIZE} (or negative) is INVALID_ARGUMENT. */
export function pageSizeOf(pageSize: number, field = "page_size"): number {
  if (!Number.isInteger(pageSize) || pageSize < 0 || pageSize > MAX_PAGE_SIZE) {
    throw new InvalidArgumentError(
      `${field} must be between 0 and ${MAX_PAGE_SIZE} (0 means ${DEFAULT_PAGE_SIZE}), got ${pageSize}`,
    );
  }
  return pageSize === 0 ? DEFAULT_PAGE_SIZE : pageSize;
}

/**
 * Encodes a listing position as an opaque page token: base64url of `kind` + `position`.
 * `kind` (e.g. "m1:") tells listings apart, so a token of one is refused by another.
 */
export function encodePageToken(kind: string, position: string): string {
  return Buffer.from(kind + position, "utf8").toString("base64url");
}

/**
 * Decodes a token made by {@link encodePageToken} with the same `kind`: undefined for the
 * empty token (first page), else the position. Tokens are opaque to clients but a forged
 * one must not be abused, so the position is accepted only when `accept` approves it (a
 * valid name or number), and callers use it only as a key position inside the listed range.
 *
 * @throws InvalidArgumentError when the token was not made by {@link encodePageToken} for
 * `kind` or its position is not accepted.
 */
export function decodePageToken(
  token: string,
  kind: string,
  accept: (position: string) => boolean,
  field = "page_token",
): string | undefined {
  if (token === "") return undefined;
  const bad = () =>
    new InvalidArgumentError(
      `${field} is not valid: pass the next_page_token of a previous response unchanged`,
    );
  if (token.length > MAX_TOKEN_LENGTH || !/^[A-Za-z0-9_-]+$/.test(token)) throw bad();
  const text = Buffer.from(token, "base64url").toString("utf8");
  if (!text.startsWith(kind)) throw bad();
  const position = text.slice(kind.length);
  if (!accept(position)) throw bad();
  return position;
}
