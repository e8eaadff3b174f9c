/**
 * Request validation shared by every service: resource names, tags, descriptions,
 * sha256s, page sizes and opaque page tokens. Every check throws the kit's
 * InvalidArgumentError naming the field, which the hosting layer maps to INVALID_ARGUMENT.
 */
export {
  checkDescription,
  checkResourceName,
  checkResourceNamePrefix,
  checkSha256,
  checkTagKey,
  checkTags,
  isResourceName,
} from "./names.js";
export { DEFAULT_PAGE_SIZE, decodePageToken, encodePageToken, MAX_PAGE_SIZE, pageSizeOf } from "./pages.js";
