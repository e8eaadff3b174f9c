/**
 * Seeded pseudo-random numbers: where a result must be reproducible (training shuffles and
 * masks, sweep draws) and for generated test and benchmark data.
 */
export { createRandom } from "./mulberry32.js";
