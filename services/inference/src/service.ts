import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { InvalidArgumentError, NotFoundError, toConnectError } from "@seam/kit/errors";
import {
  type GetModelStatusRequest,
  type InferenceService,
  type LoadedVersion as LoadedVersionMessage,
  LoadedVersionSchema,
  type LoadModelRequest,
  ModelStatusSchema,
  ModelVersionState,
  type PredictRequest,
  PredictResponseSchema,
  type PredictStreamRequest,
  type PredictStreamResponse,
  PredictStreamResponseSchema,
  type SetTrafficSplitRequest,
  type TensorInfo,
  TensorInfoSchema,
  type UnloadModelRequest,
} from "@seam/proto/seam/inference/v1/inference_pb";
import { checkModelName } from "@seam/registry";
import type { LoadedVersion } from "./models/loaded-version.js";
import type { ModelRouter } from "./models/model-router.js";
import type { TrafficSplits } from "./models/traffic-splits.js";
import type { VersionCache } from "./models/version-cache.js";
import type { Prediction, PredictionResult, Predictor } from "./predictor.js";
import { mapConcurrent } from "./streaming.js";
import { dataTypeOf, tensorFromProto, tensorToProto } from "./tensors/proto-tensors.js";
import type { TensorSpec } from "./tensors/validate.js";

type Out<S extends Parameters<typeof create>[0]> = MessageInitShape<S>;

/** Requests of one PredictStream in flight at once; reading pauses beyond it. */
const STREAM_WINDOW = 256;

/** What the service is made of. */
export interface InferenceDeps {
  readonly predictor: Predictor;
  readonly router: ModelRouter;
  readonly cache: VersionCache;
  readonly splits: TrafficSplits;
}

/** `seam.inference.v1.InferenceService`: predictions, model status, load/unload, traffic splits. */
export class InferenceServiceImpl implements ServiceImpl<typeof InferenceService> {
  readonly #deps: InferenceDeps;

  constructor(deps: InferenceDeps) {
    this.#deps = deps;
  }

  async predict(req: PredictRequest, ctx: HandlerContext): Promise<Out<typeof PredictResponseSchema>> {
    const raw = req.inputs.some((t) => t.raw.length > 0);
    return toResponse(await this.#deps.predictor.predict(predictionOf(req, ctx)), req, raw);
  }

  async *predictStream(
    requests: AsyncIterable<PredictStreamRequest>,
    ctx: HandlerContext,
  ): AsyncGenerator<PredictStreamResponse> {
    yield* mapConcurrent(requests, STREAM_WINDOW, async (message, index) => {
      const req = message.request;
      const requestId = req?.requestId ?? "";
      try {
        if (req === undefined) throw new InvalidArgumentError("request is required");
        const raw = req.inputs.some((t) => t.raw.length > 0);
        const result = await this.#deps.predictor.predict(predictionOf(req, ctx));
        return create(PredictStreamResponseSchema, {
          index: BigInt(index),
          requestId,
          result: { case: "response", value: create(PredictResponseSchema, toResponse(result, req, raw)) },
        });
      } catch (error) {
        const failure = toConnectError(error);
        return create(PredictStreamResponseSchema, {
          index: BigInt(index),
          requestId,
          result: { case: "error", value: { code: failure.code, message: failure.rawMessage } },
        });
      }
    });
  }

  async getModelStatus(req: GetModelStatusRequest) {
    const { cache, router, splits } = this.#deps;
    if (req.modelName !== "") checkModelName(req.modelName, "model_name");
    const names = new Set([...cache.loaded().map((v) => v.name), ...router.followedModels()]);
    for (const p of cache.pending()) names.add(p.name);
    const wanted = req.modelName === "" ? [...names].sort() : [req.modelName];
    if (req.modelName !== "" && !names.has(req.modelName)) {
      throw new NotFoundError(`model "${req.modelName}" is not loaded or followed by this server`);
    }
    const models = [];
    for (const name of wanted) {
      const split = await splits.get(name);
      models.push(
        create(ModelStatusSchema, {
          modelName: name,
          versions: [
            ...cache
              .loaded()
              .filter((v) => v.name === name)
              .sort((a, b) => a.version - b.version)
              .map(describeVersion),
            ...cache
              .pending()
              .filter((p) => p.name === name)
              .map((p) =>
                create(LoadedVersionSchema, {
                  modelName: p.name,
                  version: BigInt(p.version),
                  state: p.error === undefined ? ModelVersionState.LOADING : ModelVersionState.FAILED,
                  error: p.error ?? "",
                }),
              ),
          ],
          routes: Object.fromEntries([...(await router.routes(name))].map(([r, v]) => [r, BigInt(v)])),
          ...(split === undefined ? {} : { trafficSplit: split }),
        }),
      );
    }
    return { models };
  }

  async loadModel(req: LoadModelRequest) {
    const routed = await this.#deps.router.acquire(req.model, "");
    routed.release();
    return { version: describeVersion(routed.version) };
  }

  async unloadModel(req: UnloadModelRequest) {
    checkModelName(req.modelName, "model_name");
    if (req.version < 0n) throw new InvalidArgumentError("version must be 0 (all) or a version number");
    const versions = await this.#deps.cache.unload(
      req.modelName,
      req.version === 0n ? undefined : Number(req.version),
    );
    if (versions.length === 0) {
      throw new NotFoundError(
        req.version === 0n
          ? `model "${req.modelName}" has no loaded versions`
          : `${req.modelName}:${req.version} is not loaded`,
      );
    }
    return { versions: versions.map(BigInt) };
  }

  async setTrafficSplit(req: SetTrafficSplitRequest) {
    checkModelName(req.modelName, "model_name");
    if (req.split !== undefined && req.split.secondaryShare !== 0) {
      // Both aliases must exist now (NOT_FOUND names the one missing).
      for (const alias of [req.split.primaryAlias, req.split.secondaryAlias]) {
        await this.#deps.router.target(`${req.modelName}@${alias}`, "");
      }
    } else {
      await this.#deps.router.target(req.modelName, "");
    }
    const split = await this.#deps.splits.set(req.modelName, req.split);
    return split === undefined ? {} : { split };
  }
}

/** Epoch-millisecond deadline of the call, when it has one. */
export function deadlineOf(ctx: HandlerContext): number | undefined {
  const remaining = ctx.timeoutMs();
  return remaining === undefined ? undefined : Date.now() + remaining;
}

/** The request in the predictor's terms; `ctx.signal` is read only if needed (see Prediction.call). */
function predictionOf(req: PredictRequest, ctx: HandlerContext): Prediction {
  const given = [req.inputs.length > 0, req.rows.length > 0, req.entities.length > 0].filter(Boolean).length;
  if (given !== 1) {
    throw new InvalidArgumentError(
      given === 0
        ? "give the model something to predict on: inputs (tensors), rows or entities"
        : "give exactly one of inputs, rows and entities",
    );
  }
  const input: Prediction["input"] =
    req.inputs.length > 0
      ? { kind: "tensors", tensors: req.inputs.map(tensorFromProto) }
      : req.rows.length > 0
        ? { kind: "rows", rows: req.rows }
        : { kind: "entities", entities: req.entities };
  return {
    model: req.model,
    requestId: req.requestId,
    input,
    outputs: req.outputs,
    missingFeatures: req.missingFeatures,
    call: ctx,
    deadline: deadlineOf(ctx),
  };
}

function toResponse(
  result: PredictionResult,
  req: PredictRequest,
  raw: boolean,
): Out<typeof PredictResponseSchema> {
  return {
    modelName: result.modelName,
    modelVersion: BigInt(result.version),
    route: result.route,
    requestId: req.requestId,
    outputs: result.outputs.map((t) => tensorToProto(t, raw)),
    features: result.features,
    batchSize: result.batchRows,
    queueMicros: BigInt(result.queueMicros),
    computeMicros: BigInt(result.computeMicros),
  };
}

function tensorInfo(spec: TensorSpec): TensorInfo {
  return create(TensorInfoSchema, {
    name: spec.name,
    dataType: dataTypeOf(spec.type),
    shape: spec.dims.map(BigInt),
  });
}

/** A loaded version as the API reports it. */
export function describeVersion(v: LoadedVersion): LoadedVersionMessage {
  return create(LoadedVersionSchema, {
    modelName: v.name,
    version: BigInt(v.version),
    state: ModelVersionState.READY,
    loadedTime: timestampFromDate(v.loadedAt),
    loadMillis: v.loadMillis,
    inputs: v.inputs.map(tensorInfo),
    outputs: v.outputs.map(tensorInfo),
    featureService: v.featureService,
    stats: v.stats.snapshot(),
    queueDepth: v.queueDepth,
  });
}
