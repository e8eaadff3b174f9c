export {
  type BatchSource,
  bitIsSet,
  columnData,
  int32PairsOf,
  nullBitmapOf,
} from "./arrow-columns.js";
export { openArrowFile } from "./arrow-file.js";
export { computeStats, StatsCollector, type StatsOptions } from "./compute-stats.js";
export {
  ConcurrentStats,
  type ConcurrentStatsOptions,
  DEFAULT_MAX_IN_FLIGHT_BYTES,
  prestartStatsWorker,
} from "./concurrent-stats.js";
export { HyperLogLog } from "./hyperloglog.js";
export { compareCodePoints, SpaceSaving, type ValueFrequency } from "./space-saving.js";
export { DEFAULT_STRING_LIMITS, StringAccumulator, type StringLimits } from "./string-stats.js";
