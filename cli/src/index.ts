export { ANY_FREE_PORTS } from "./commands/up.js";
export { run } from "./run.js";
