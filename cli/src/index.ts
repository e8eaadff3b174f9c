export { ANY_FREE_PORTS } from "./commands/up.js";
export { SEAM_NODE_FLAGS } from "./node-flags.js";
export { run } from "./run.js";
