/**
 * Worker threads running compiled JavaScript entries (statistics, training), also from a
 * parent that runs TypeScript sources (vitest resolves the workspace packages with
 * `--conditions source`).
 */
export { builtWorkerExecArgv } from "./exec-argv.js";
