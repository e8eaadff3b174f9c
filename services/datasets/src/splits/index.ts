export { assignSplits, countSplits, rowSplitMask } from "./assign.js";
export { fmix64, fnvBytes, fnvInit, type Hash64, hash64OfBytes } from "./hash64.js";
export {
  type CompiledSplitSpec,
  compileSplitSpec,
  type SplitKey,
  splitOfKey,
  validateSplitSpec,
} from "./split-spec.js";
