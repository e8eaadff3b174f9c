/**
 * The model registry: `seam.registry.v1.ModelRegistryService` over the kit's storage ports.
 * `runRegistry()` is the process entry point; `createRegistryService(deps)` gives the bare
 * `ServiceImpl` for hosting it elsewhere (tests, a combined process).
 */
export { type RegistryConfig, registryConfigSchema } from "./config.js";
export { REGISTRY_EVENTS_TOPIC } from "./events.js";
export { runRegistry } from "./main.js";
export { checkAlias, checkModelName, type ModelReference, parseReference } from "./names.js";
export { OnnxLoadError, readOnnxSignature } from "./onnx-signature.js";
export { type RunningRegistry, startRegistryServer } from "./server.js";
export { ModelRegistry, type RegistryDeps } from "./service.js";

import { ModelRegistry, type RegistryDeps } from "./service.js";

/** Creates the registry's `ServiceImpl` for `ModelRegistryService`; see {@link RegistryDeps}. */
export function createRegistryService(deps: RegistryDeps): ModelRegistry {
  return new ModelRegistry(deps);
}
