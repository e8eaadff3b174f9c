export { type IpcChunk, readArrow } from "./read-arrow.js";
export { DEFAULT_ROWS_LIMIT, MAX_ROWS_LIMIT, type RowsResult, readRows } from "./read-rows.js";
export { DEFAULT_BATCH_ROWS, planRead, type ReadOptions, type ReadPlan, selectRows } from "./select-rows.js";
