/** Test support of the inference service: a harness and small ONNX models. */
export { startTestInference, type TestInference } from "./harness.js";
export {
  buildGatherModel,
  buildIdentityModel,
  buildMlpModel,
  buildStringFeatureModel,
  type MlpModelOptions,
  mlpReference,
} from "./models.js";
export { SCORING_DEFINITIONS, stringFeatureScore } from "./scoring.js";
