/**
 * Worker threads running compiled JavaScript entries (statistics, training), also from a
 * parent that runs TypeScript sources (vitest resolves the workspace packages with
 * `--conditions source`).
 */
export { builtWorkerExecArgv, startWorker } from "./exec-argv.js";
