import type { JsonObject } from "@bufbuild/protobuf";
import { type Span, trace } from "@opentelemetry/api";
import { InvalidArgumentError } from "@seam/kit/errors";
import type { EntityFeatures, EntityKey } from "@seam/proto/seam/inference/v1/inference_pb";
import { MissingFeaturePolicy } from "@seam/proto/seam/inference/v1/inference_pb";
import type { SignalSource } from "./batching/batcher.js";
import { entityInputs, type FeatureLookup } from "./features/entity-inputs.js";
import type { LoadedVersion } from "./models/loaded-version.js";
import { POLICY_TAGS } from "./models/loaded-version.js";
import type { ModelRouter } from "./models/model-router.js";
import type { PredictionLog } from "./prediction-log/index.js";
import { tensorsFromRows } from "./tensors/rows.js";
import type { TensorData } from "./tensors/tensor-data.js";
import { type NonFinitePolicy, validateInputs } from "./tensors/validate.js";

/** A request in the service's terms, whatever protocol it came by. */
export interface Prediction {
  readonly model: string;
  readonly requestId: string;
  /** Exactly one of tensors, rows and entities. */
  readonly input:
    | { readonly kind: "tensors"; readonly tensors: readonly TensorData[] }
    | { readonly kind: "rows"; readonly rows: readonly JsonObject[] }
    | { readonly kind: "entities"; readonly entities: readonly EntityKey[] };
  /** Outputs to return; all when empty. */
  readonly outputs: readonly string[];
  readonly missingFeatures: MissingFeaturePolicy;
  /**
   * The call it came by (its HandlerContext), whose signal aborts when the client gives up
   * or the deadline passes; read only where needed (a feature lookup, a wait in the batch
   * queue), see {@link SignalSource}.
   */
  readonly call?: SignalSource;
  /** Epoch milliseconds after which the request must not run. */
  readonly deadline?: number | undefined;
}

/** What a prediction returns. */
export interface PredictionResult {
  readonly modelName: string;
  readonly version: number;
  readonly route: string;
  readonly outputs: TensorData[];
  readonly features: EntityFeatures[];
  readonly batchRows: number;
  readonly queueMicros: number;
  readonly computeMicros: number;
}

/** Policies and limits that apply to every request. */
export interface PredictorOptions {
  readonly maxRequestRows: number;
  readonly nonFinite: NonFinitePolicy;
  readonly missingFeatures: "reject" | "impute";
}

const tracer = () => trace.getTracer("@seam/inference");

/**
 * One prediction, whatever the protocol: route the reference to a loaded version, build
 * its inputs (tensors as sent, rows by input name, or online features by entity key),
 * validate them against the signature, queue them for a batch, pick the outputs asked
 * for, count it, and offer it to the prediction log. The version stays taken until the
 * request is done, so an unload or hot swap lets it finish.
 */
export class Predictor {
  readonly #router: ModelRouter;
  readonly #features: FeatureLookup;
  readonly #log: PredictionLog | undefined;
  readonly #options: PredictorOptions;

  constructor(deps: {
    router: ModelRouter;
    features: FeatureLookup;
    log?: PredictionLog;
    options: PredictorOptions;
  }) {
    this.#router = deps.router;
    this.#features = deps.features;
    this.#log = deps.log;
    this.#options = deps.options;
  }

  async predict(request: Prediction): Promise<PredictionResult> {
    const routed = await this.#router.acquire(request.model, request.requestId);
    const version = routed.version;
    version.stats.started();
    try {
      const { tensors, features, nonFinite } = await this.#inputs(request, version);
      const wanted = selectOutputs(version, request.outputs);
      const { ordered, rows } = validateInputs(tensors, version.inputs, {
        maxRows: this.#options.maxRequestRows,
        nonFinite,
      });
      // The request carries the deadline and call the queue needs.
      const result = await version.run(ordered, rows, request);
      recordBatchSpans(version, result.batchRows, result.queueMicros, result.computeMicros);
      version.stats.succeeded();
      const outputs = wanted.map((i) => result.outputs[i] as TensorData);
      this.#log?.offer(() => ({
        time: new Date(),
        requestId: request.requestId,
        traceId: trace.getActiveSpan()?.spanContext().traceId ?? "",
        modelName: version.name,
        modelVersion: version.version,
        route: routed.route,
        inputs:
          request.input.kind === "entities"
            ? { ...jsonOfTensors(ordered), entities: request.input.entities.map((e) => ({ ...e.joinKeys })) }
            : jsonOfTensors(ordered),
        outputs: jsonOfTensors(outputs),
      }));
      return {
        modelName: version.name,
        version: version.version,
        route: routed.route,
        outputs,
        features,
        batchRows: result.batchRows,
        queueMicros: Math.round(result.queueMicros),
        computeMicros: Math.round(result.computeMicros),
      };
    } catch (error) {
      version.stats.failed();
      throw error;
    } finally {
      routed.release();
    }
  }

  async #inputs(
    request: Prediction,
    version: LoadedVersion,
  ): Promise<{ tensors: readonly TensorData[]; features: EntityFeatures[]; nonFinite: NonFinitePolicy }> {
    const input = request.input;
    switch (input.kind) {
      case "tensors":
        return {
          tensors: input.tensors,
          features: [],
          nonFinite: version.nonFinitePolicy(this.#options.nonFinite),
        };
      case "rows":
        // null in a row is the declared "missing" (NaN), not a client's stray NaN.
        return {
          tensors: tensorsFromRows([...input.rows], version.inputs),
          features: [],
          nonFinite: "allow",
        };
      case "entities": {
        if (version.featureService === "") {
          throw new InvalidArgumentError(
            `${version.key} is not bound to a feature service (lineage.feature_service); send inputs or rows instead of entities`,
          );
        }
        const { tensors, features } = await entityInputs(
          input.entities,
          version.featureService,
          version.inputs,
          this.#missingPolicy(request.missingFeatures, version),
          this.#features,
          request.call?.signal,
        );
        return { tensors, features, nonFinite: "allow" };
      }
    }
  }

  #missingPolicy(
    asked: MissingFeaturePolicy,
    version: LoadedVersion,
  ): MissingFeaturePolicy.REJECT | MissingFeaturePolicy.IMPUTE {
    if (asked === MissingFeaturePolicy.REJECT || asked === MissingFeaturePolicy.IMPUTE) return asked;
    const declared = version.record.tags[POLICY_TAGS.missingFeatures] ?? this.#options.missingFeatures;
    return declared === "impute" ? MissingFeaturePolicy.IMPUTE : MissingFeaturePolicy.REJECT;
  }
}

/** Indexes of the outputs asked for (all when none named); INVALID_ARGUMENT on an unknown name. */
function selectOutputs(version: LoadedVersion, names: readonly string[]): number[] {
  if (names.length === 0) return version.outputs.map((_, i) => i);
  return names.map((name) => {
    const index = version.outputs.findIndex((o) => o.name === name);
    if (index < 0) {
      throw new InvalidArgumentError(
        `"${name}" is not an output of ${version.key} (outputs: ${version.outputs.map((o) => o.name).join(", ")})`,
      );
    }
    return index;
  });
}

/**
 * The request's share of batching as two spans in its own trace, placed at the times
 * they happened: waiting in the queue, then the batch run it was part of.
 */
function recordBatchSpans(
  version: LoadedVersion,
  batchRows: number,
  queueMicros: number,
  computeMicros: number,
): void {
  if (trace.getActiveSpan() === undefined) return;
  const end = Date.now();
  const runStart = end - computeMicros / 1000;
  const queueStart = runStart - queueMicros / 1000;
  const attributes = { "seam.model": version.name, "seam.model_version": version.version };
  const queue: Span = tracer().startSpan("inference.queue_wait", { startTime: queueStart, attributes });
  queue.end(runStart);
  const run: Span = tracer().startSpan("inference.batch_run", {
    startTime: runStart,
    attributes: { ...attributes, "seam.batch_rows": batchRows, "seam.execution_provider": version.provider },
  });
  run.end(end);
}

/** Tensors as JSON-able arrays for the prediction log (int64 as numbers when exact, else text). */
function jsonOfTensors(tensors: readonly TensorData[]): Record<string, unknown> {
  const json: Record<string, unknown> = {};
  for (const t of tensors) {
    json[t.name] =
      t.data instanceof BigInt64Array
        ? Array.from(t.data, (v) => (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()))
        : Array.from(t.data as ArrayLike<number | string>);
  }
  return json;
}
