import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { InvalidArgumentError } from "@seam/kit/errors";
import type { GRPCInferenceService, ModelInferRequest } from "@seam/proto/inference/grpc_predict_v2_pb";
import { MissingFeaturePolicy } from "@seam/proto/seam/inference/v1/inference_pb";
import type { ModelRouter } from "../models/model-router.js";
import type { VersionCache } from "../models/version-cache.js";
import type { Predictor } from "../predictor.js";
import { deadlineOf } from "../service.js";
import type { TensorSpec } from "../tensors/validate.js";
import { oipDatatypeOf, oipInputsToTensors, tensorsToOipOutputs } from "./oip-tensors.js";

/** Server identity reported by ServerMetadata. */
export const OIP_SERVER_NAME = "seam-inference";
export const OIP_SERVER_VERSION = "0.1.0";
/** ONNX models, as KServe and Triton name the platform. */
export const OIP_PLATFORM = "onnx_onnxv1";

/** What the Open Inference Protocol adapter needs. */
export interface OipDeps {
  readonly predictor: Predictor;
  readonly router: ModelRouter;
  readonly cache: VersionCache;
  /** False while the server drains (shutdown). */
  readonly ready: () => boolean;
}

/**
 * The Open Inference Protocol v2 (`inference.GRPCInferenceService`) over the same
 * routing, batching and statistics as Seam's own API: `model_version` empty means the
 * default route (traffic split, else "champion", else the latest version), otherwise a
 * version number or an alias. Answers in the form the request used: raw contents for raw
 * inputs, typed contents otherwise.
 */
export class OipServiceImpl implements ServiceImpl<typeof GRPCInferenceService> {
  readonly #deps: OipDeps;

  constructor(deps: OipDeps) {
    this.#deps = deps;
  }

  async serverLive() {
    return { live: true };
  }

  async serverReady() {
    return { ready: this.#deps.ready() };
  }

  async serverMetadata() {
    return { name: OIP_SERVER_NAME, version: OIP_SERVER_VERSION, extensions: [] };
  }

  async modelReady(req: { name: string; version: string }) {
    const target = await this.#deps.router.target(reference(req.name, req.version), "");
    return { ready: this.#deps.cache.peek(target.name, target.version) !== undefined };
  }

  async modelMetadata(req: { name: string; version: string }) {
    const routed = await this.#deps.router.acquire(reference(req.name, req.version), "");
    routed.release();
    const v = routed.version;
    const routes = await this.#deps.router.routes(v.name);
    const versions = new Set([String(v.version), ...[...routes.values()].map(String)]);
    return {
      name: v.name,
      versions: [...versions].sort((a, b) => Number(a) - Number(b)),
      platform: OIP_PLATFORM,
      inputs: v.inputs.map(metadataOf),
      outputs: v.outputs.map(metadataOf),
    };
  }

  async modelInfer(req: ModelInferRequest, ctx: HandlerContext) {
    const raw = req.rawInputContents.length > 0;
    const result = await this.#deps.predictor.predict({
      model: reference(req.modelName, req.modelVersion),
      requestId: req.id,
      input: { kind: "tensors", tensors: oipInputsToTensors(req) },
      outputs: req.outputs.map((o) => o.name),
      missingFeatures: MissingFeaturePolicy.UNSPECIFIED,
      // Its signal is read only if the request has to wait (see Prediction.call).
      call: ctx,
      deadline: deadlineOf(ctx),
    });
    const { outputs, rawOutputContents } = tensorsToOipOutputs(result.outputs, raw);
    return {
      modelName: result.modelName,
      modelVersion: String(result.version),
      id: req.id,
      outputs,
      rawOutputContents,
    };
  }
}

/** The Seam reference of an OIP (name, version): "" → default route, digits → version, else alias. */
export function reference(name: string, version: string): string {
  if (name === "") throw new InvalidArgumentError("model_name is required");
  if (version === "") return name;
  return /^[0-9]+$/.test(version) ? `${name}:${version}` : `${name}@${version}`;
}

function metadataOf(spec: TensorSpec) {
  return { name: spec.name, datatype: oipDatatypeOf(spec.type), shape: spec.dims.map(BigInt) };
}
