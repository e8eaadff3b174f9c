import type {
  ModelVersion,
  TensorSpec as RegistryTensorSpec,
} from "@seam/proto/seam/registry/v1/registry_pb";
import type { InferenceSession } from "onnxruntime-node";
import { Batcher, type BatchingOptions, type BatchResult, type SubmitOptions } from "../batching/batcher.js";
import { ELEMENT_TYPES, type ElementType, type TensorData } from "../tensors/tensor-data.js";
import type { NonFinitePolicy, TensorSpec } from "../tensors/validate.js";
import { runSession } from "./session.js";
import { VersionStats } from "./stats.js";

/** Model version tags that declare serving policies (set at upload or by training). */
export const POLICY_TAGS = {
  /** "reject" or "allow": NaN/Infinity in float tensor inputs. */
  nonFinite: "seam.nonfinite_inputs",
  /** "reject" or "impute": missing or stale features when predicting by entity key. */
  missingFeatures: "seam.missing_features",
} as const;

/** A model version open in ONNX Runtime, warmed up, with its own batch queue and counters. */
export class LoadedVersion {
  readonly name: string;
  readonly version: number;
  readonly record: ModelVersion;
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
  readonly provider: "cpu" | "cuda";
  readonly loadedAt: Date;
  readonly loadMillis: number;
  readonly stats: VersionStats;
  readonly #session: InferenceSession;
  readonly #batcher: Batcher;
  #users = 0;
  #released: Promise<void> | undefined;
  #lastUsed = performance.now();

  constructor(init: {
    record: ModelVersion;
    inputs: readonly TensorSpec[];
    outputs: readonly TensorSpec[];
    session: InferenceSession;
    provider: "cpu" | "cuda";
    batching: BatchingOptions;
    loadMillis: number;
  }) {
    this.record = init.record;
    this.name = init.record.modelName;
    this.version = Number(init.record.version);
    this.inputs = init.inputs;
    this.outputs = init.outputs;
    this.provider = init.provider;
    this.#session = init.session;
    this.loadedAt = new Date();
    this.loadMillis = init.loadMillis;
    this.stats = new VersionStats(this.name, this.version);
    // Dynamic batching needs a batch dimension on every input and output.
    const batchable = [...init.inputs, ...init.outputs].every((t) => (t.dims[0] ?? 0) < 0);
    const batching = batchable ? init.batching : { ...init.batching, enabled: false };
    this.#batcher = new Batcher(
      (inputs) => runSession(this.#session, inputs, this.outputs),
      batching,
      this.stats,
    );
  }

  /** "name:version", the key of the version everywhere. */
  get key(): string {
    return `${this.name}:${this.version}`;
  }

  /** Feature service the version is bound to (predict by entity key), or "". */
  get featureService(): string {
    return this.record.lineage?.featureService ?? "";
  }

  /** The version's declared policy for non-finite inputs, or the fallback. */
  nonFinitePolicy(fallback: NonFinitePolicy): NonFinitePolicy {
    const declared = this.record.tags[POLICY_TAGS.nonFinite];
    return declared === "allow" || declared === "reject" ? declared : fallback;
  }

  get queueDepth(): number {
    return this.#batcher.queueDepth;
  }

  /** Milliseconds (performance clock) of the last request, for least-recently-used unloading. */
  get lastUsed(): number {
    return this.#lastUsed;
  }

  /** Whether it is being (or has been) unloaded. */
  get released(): boolean {
    return this.#released !== undefined;
  }

  /**
   * Marks the version in use until the returned function is called: an unload waits for
   * every user, so requests in flight finish on it. Undefined when it is already unloading.
   */
  acquire(): (() => void) | undefined {
    if (this.#released !== undefined) return undefined;
    this.#users++;
    this.#lastUsed = performance.now();
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#users--;
      if (this.#users === 0) this.#wakeRelease?.();
    };
  }

  /** Queues validated inputs (model order) for a batch; see {@link Batcher.submit}. */
  run(inputs: readonly TensorData[], rows: number, options: SubmitOptions): Promise<BatchResult> {
    return this.#batcher.submit(inputs, rows, options);
  }

  #wakeRelease: (() => void) | undefined;

  /** Unloads once every user is done: no new users, then the session is released. */
  release(): Promise<void> {
    this.#released ??= (async () => {
      if (this.#users > 0) await new Promise<void>((resolve) => (this.#wakeRelease = resolve));
      await this.#batcher.idle();
      await this.#session.release();
    })();
    return this.#released;
  }
}

/**
 * The signature the registry read from the graph, in the service's terms; throws a
 * readable Error when a tensor's element type is one this server does not serve.
 */
export function signatureOf(record: ModelVersion): { inputs: TensorSpec[]; outputs: TensorSpec[] } {
  const convert = (spec: RegistryTensorSpec, role: string): TensorSpec => {
    if (!(ELEMENT_TYPES as readonly string[]).includes(spec.elementType)) {
      throw new Error(
        `${role} "${spec.name}" has element type ${spec.elementType}; this server serves ${ELEMENT_TYPES.join(", ")}`,
      );
    }
    return { name: spec.name, type: spec.elementType as ElementType, dims: spec.shape.map(Number) };
  };
  return {
    inputs: (record.signature?.inputs ?? []).map((s) => convert(s, "input")),
    outputs: (record.signature?.outputs ?? []).map((s) => convert(s, "output")),
  };
}
