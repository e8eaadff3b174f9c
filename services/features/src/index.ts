/**
 * The feature store: `seam.features.v1.FeatureStoreService` over the kit's storage ports.
 * `runFeatures()` is the process entry point; `startFeaturesServer()` hosts it in a given
 * process; `FeaturesService` is the bare `ServiceImpl` (tests, a combined process).
 */
export { type FeaturesConfig, featuresConfigSchema } from "./config.js";
export { createDatasetsAccess, type DatasetsAccess } from "./datasets-access.js";
export { runFeatures } from "./main.js";
export { createRegistryBindings, type ModelBindings } from "./model-bindings.js";
export { type RunningFeatures, startFeaturesServer } from "./server.js";
export { DEFINITIONS_TOPIC, type FeaturesDeps, FeaturesService } from "./service.js";
