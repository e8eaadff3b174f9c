/**
 * The datasets service: `seam.datasets.v1.DatasetService` over the kit's storage ports.
 * `runDatasets()` is the process entry point; `startDatasetsServer()` hosts it in a given
 * process; `DatasetsService` is the bare `ServiceImpl` (tests, a combined process).
 */
export { type DatasetsConfig, datasetsConfigSchema } from "./config.js";
export type { ModelLineage } from "./lineage.js";
export { runDatasets } from "./main.js";
export { createRegistryLineage } from "./registry-lineage.js";
export { type RunningDatasets, startDatasetsServer, uploadTmpDir } from "./server.js";
export { type DatasetsDeps, DatasetsService } from "./service.js";
