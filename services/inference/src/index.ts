/**
 * The inference service: `seam.inference.v1.InferenceService` and the Open Inference
 * Protocol (`inference.GRPCInferenceService`) over ONNX Runtime. `runInference()` is the
 * process entry point; `startInferenceServer()` hosts it in a given process;
 * `assembleInference()` builds the service implementations (tests, a combined process).
 */
export { type InferenceConfig, inferenceConfigSchema } from "./config.js";
export { encodePredictResponse } from "./encode-response.js";
export { runInference } from "./main.js";
export { POLICY_TAGS } from "./models/loaded-version.js";
export { DEFAULT_ALIAS } from "./models/model-router.js";
export { encodeModelInferResponse } from "./oip/encode-response.js";
export { OIP_PLATFORM } from "./oip/oip-service.js";
export {
  assembleInference,
  type InferenceParts,
  type InferenceRuntime,
  type InferenceSettings,
} from "./runtime.js";
export { type RunningInference, registerInference, startInferenceServer } from "./server.js";
