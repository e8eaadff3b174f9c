import { decodePageToken, encodePageToken } from "@seam/kit/naming";

// Model names and zero-padded version numbers, as they end lineage usage keys (store/keys.ts).
const MODEL = "[A-Za-z0-9][A-Za-z0-9._-]{0,127}";
const VERSION = "[0-9]{19}";

/**
 * Page tokens of one lineage usage listing. A position is the key suffix after the
 * listed prefix, so a listing continues with a range scan from `prefix + position`.
 */
export interface UsagePageTokens {
  /** Encodes the position (a key suffix inside the listed range) the listing continues after. */
  encode(position: string): string;
  /**
   * Decodes a token made by {@link UsagePageTokens.encode} of the same listing: undefined
   * for the empty token, INVALID_ARGUMENT for anything else. A forged position is harmless:
   * it is only ever used as a start position inside the requested key range.
   */
  decode(token: string): string | undefined;
}

/** Tokens of kind `kind` (one per listing, so one listing refuses another's) whose positions match `position`. */
function usagePageTokens(kind: string, position: RegExp): UsagePageTokens {
  return {
    encode: (p) => encodePageToken(kind, p),
    decode: (token) => decodePageToken(token, kind, (p) => position.test(p)),
  };
}

/**
 * ListDatasetUsages: "[<id segment>/]<model>/<v:19>", the id segment present when the
 * listing covers every version of a dataset.
 */
export const datasetUsageTokens = usagePageTokens("u1:", new RegExp(`^(?:[^/\\0]*/)?${MODEL}/${VERSION}$`));

/** ListFeatureServiceUsages: "<model>#<v:19>". */
export const featureServiceUsageTokens = usagePageTokens("f1:", new RegExp(`^${MODEL}#${VERSION}$`));
