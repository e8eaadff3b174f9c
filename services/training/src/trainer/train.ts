/**
 * The training loop: a TF.js multilayer perceptron trained batch by batch on whatever
 * backend is active (see ./backend.ts), with per-epoch metrics, checkpoints, early
 * stopping, resumption and cancellation. Runs as well in a worker thread as on the main
 * thread: it touches nothing but TF.js and its arguments.
 */
import { FailedPreconditionError, InvalidArgumentError } from "@seam/kit/errors";
import * as tf from "@tensorflow/tfjs";
import type {
  DenseLayer,
  HiddenActivation,
  LayerActivation,
  Task,
  TrainedModel,
} from "../model/trained-model.js";
import type { Checkpoint, OptimizerState } from "./checkpoint.js";
import { type MissingValues, type PreparedData, prepareData, type TrainingData } from "./data.js";
import { SeededDropout } from "./dropout.js";
import { evaluate } from "./evaluate.js";
import {
  computeMetrics,
  type EpochMetrics,
  higherIsBetter,
  type MetricName,
  type Metrics,
  metricNames,
} from "./metrics.js";
import { createRandom, deriveSeed, Stream, shuffleInPlace } from "./random.js";

/** Early stopping: stop when `metric` has not improved for `patience` epochs, keep the best epoch's weights. */
export interface EarlyStoppingSpec {
  /**
   * A metric name (./metrics.ts) of the task, "val_" + name for the validation rows, e.g.
   * "val_loss". Lower is better for loss, log_loss, rmse, mae; higher for accuracy, auc, r2.
   */
  readonly metric: string;
  /** Epochs without improvement before stopping; at least 1. */
  readonly patience: number;
}

/** What to train. */
export interface TrainSpec {
  readonly task: Task;
  /** Units per hidden layer; none = linear (regression) or logistic regression. */
  readonly hiddenUnits: readonly number[];
  readonly activation: HiddenActivation;
  /** Dropout rate after each hidden layer while training, in [0, 1). */
  readonly dropout: number;
  readonly optimizer: "adam" | "sgd";
  readonly learningRate: number;
  /** Epochs in all, counting those of a checkpoint resumed from. */
  readonly epochs: number;
  readonly batchSize: number;
  readonly earlyStopping?: EarlyStoppingSpec;
  /**
   * Seed of weight initialization, shuffling and dropout masks: the same seed, data and
   * backend give the same model (another backend rounds differently).
   */
  readonly seed: number;
  /** What a missing numeric value becomes; "mean" when absent. */
  readonly missing?: MissingValues;
  /** Most categories per categorical column; 100 when absent. */
  readonly maxCategories?: number;
}

/** Callbacks of a run; the promises they return are awaited before training goes on. */
export interface TrainHooks {
  /** As each epoch starts, before its shuffle (a tracer times the epoch from here to onEpoch). */
  onEpochStart?(epoch: number): void;
  /** After each epoch, with its figures. */
  onEpoch?(metrics: EpochMetrics): void | Promise<void>;
  /**
   * Cancellation: asked after every batch (the loop yields to the event loop first, so a
   * message handler can flip the answer); true makes `train` reject with CancelledError
   * without running another batch.
   */
  shouldStop?(): boolean;
  /** A checkpoint to resume from: training continues at its epoch + 1 with its weights. */
  readonly initialState?: Checkpoint;
  /** After each epoch (and after onEpoch), with the state to resume from. */
  onCheckpoint?(checkpoint: Checkpoint): void | Promise<void>;
}

/** What a finished run produced. */
export interface TrainResult {
  /** The trained model: the best epoch's weights under early stopping, else the last epoch's. */
  readonly model: TrainedModel;
  /** Every epoch's figures, those of a resumed checkpoint included. */
  readonly epochs: readonly EpochMetrics[];
  /** Which epoch's weights `model` holds. */
  readonly modelEpoch: number;
  /** True when early stopping ended the run before `spec.epochs`. */
  readonly stoppedEarly: boolean;
  /** The TF.js backend that ran it. */
  readonly backend: string;
  /** Mean of the epochs' samples per second. */
  readonly samplesPerSecond: number;
  /** The model's metrics on the test rows (plain JS forward pass); empty without test rows. */
  readonly testMetrics: Metrics;
  /** Labelled rows per split (rows with a missing label, or an unseen class, are left out). */
  readonly rows: { readonly train: number; readonly validation: number; readonly test: number };
  /**
   * The validation rows (indexes into the data) and the TF.js model's outputs on them,
   * row-major [rows][outputs] as the TrainedModel defines its outputs: to check an export.
   */
  readonly validation: { readonly rows: Int32Array; readonly outputs: Float32Array };
}

/** The run was cancelled through `shouldStop`. */
export class CancelledError extends Error {
  override readonly name = "CancelledError";
  constructor(
    /** The epoch that was running. */
    readonly epoch: number,
    /** Batches of that epoch that ran, the last one included. */
    readonly batches: number,
  ) {
    super(`training cancelled in epoch ${epoch} after ${batches} batch${batches === 1 ? "" : "es"}`);
  }
}

/** The training loss became NaN or infinite: the learning rate is likely too high. */
export class DivergedError extends Error {
  override readonly name = "DivergedError";
  constructor(readonly epoch: number) {
    super(`training diverged in epoch ${epoch} (the loss is not finite); try a lower learning rate`);
  }
}

// Rows per forward pass when computing metrics: bounds the memory of a pass.
const EVAL_CHUNK = 8192;

interface EarlyStoppingPlan {
  readonly key: string;
  readonly validation: boolean;
  readonly higher: boolean;
  readonly patience: number;
}

function checkSpec(spec: TrainSpec): EarlyStoppingPlan | undefined {
  const fail = (message: string): never => {
    throw new InvalidArgumentError(message);
  };
  if (!["binary", "multiclass", "regression"].includes(spec.task)) fail(`unknown task "${spec.task}"`);
  for (const units of spec.hiddenUnits) {
    if (!Number.isInteger(units) || units < 1)
      fail(`hidden layer sizes must be positive integers, got ${units}`);
  }
  if (!["relu", "tanh", "sigmoid"].includes(spec.activation)) fail(`unknown activation "${spec.activation}"`);
  if (!(spec.dropout >= 0 && spec.dropout < 1)) fail(`dropout must be in [0, 1), got ${spec.dropout}`);
  if (spec.optimizer !== "adam" && spec.optimizer !== "sgd")
    fail(`unknown optimizer "${String(spec.optimizer)}"`);
  if (!(Number.isFinite(spec.learningRate) && spec.learningRate > 0)) {
    fail(`learning rate must be positive, got ${spec.learningRate}`);
  }
  if (!Number.isInteger(spec.epochs) || spec.epochs < 1)
    fail(`epochs must be a positive integer, got ${spec.epochs}`);
  if (!Number.isInteger(spec.batchSize) || spec.batchSize < 1) {
    fail(`batch size must be a positive integer, got ${spec.batchSize}`);
  }
  if (!Number.isFinite(spec.seed)) fail(`seed must be a finite number, got ${spec.seed}`);
  if (spec.missing !== undefined && spec.missing !== "mean" && spec.missing !== "zero") {
    fail(`unknown missing-value strategy "${String(spec.missing)}"`);
  }
  const early = spec.earlyStopping;
  if (early === undefined) return undefined;
  if (!Number.isInteger(early.patience) || early.patience < 1) {
    fail(`early stopping patience must be a positive integer, got ${early.patience}`);
  }
  const validation = early.metric.startsWith("val_");
  const base = (validation ? early.metric.slice(4) : early.metric) as MetricName;
  const allowed = metricNames(spec.task);
  if (!allowed.includes(base)) {
    const names = allowed.flatMap((m) => [m, `val_${m}`]).join(", ");
    fail(`early stopping metric "${early.metric}" is not one of ${spec.task}'s: ${names}`);
  }
  return { key: early.metric, validation, higher: higherIsBetter(base), patience: early.patience };
}

/** Label units ↔ training units of a regression target: standardized, so any scale trains alike. */
interface TargetScale {
  readonly mean: number;
  readonly std: number;
}

function targetScaleOf(y: Float32Array): TargetScale {
  let mean = 0;
  for (const v of y) mean += v;
  mean /= y.length;
  let squares = 0;
  for (const v of y) squares += (v - mean) ** 2;
  const std = Math.sqrt(squares / y.length);
  return { mean, std: std > 1e-9 * Math.max(1, Math.abs(mean)) ? std : 1 };
}

/** A dense layer's weights as the TF.js model holds them (regression output in training units). */
interface RawLayer {
  readonly inputs: number;
  readonly units: number;
  readonly kernel: Float32Array;
  readonly bias: Float32Array;
}

interface Network {
  readonly model: tf.Sequential;
  readonly dense: tf.layers.Layer[];
  readonly dropouts: SeededDropout[];
}

function buildNetwork(spec: TrainSpec, inputs: number, outputs: number): Network {
  const model = tf.sequential();
  const dense: tf.layers.Layer[] = [];
  const dropouts: SeededDropout[] = [];
  const sizes = [...spec.hiddenUnits, outputs];
  sizes.forEach((units, i) => {
    const output = i === sizes.length - 1;
    const layer = tf.layers.dense({
      units,
      // The output layer is linear: the losses take logits (numerically stable); the
      // exported model gets the task's activation instead (sigmoid, softmax).
      activation: output ? "linear" : spec.activation,
      kernelInitializer: tf.initializers.glorotUniform({ seed: deriveSeed(spec.seed, Stream.init, i) }),
      biasInitializer: "zeros",
      ...(i === 0 ? { inputShape: [inputs] } : {}),
    });
    model.add(layer);
    dense.push(layer);
    if (!output && spec.dropout > 0) {
      const dropout = new SeededDropout(spec.dropout);
      model.add(dropout);
      dropouts.push(dropout);
    }
  });
  return { model, dense, dropouts };
}

function readLayers(network: Network): RawLayer[] {
  return network.dense.map((layer) => {
    const [kernel, bias] = layer.getWeights();
    if (kernel === undefined || bias === undefined) throw new Error("a dense layer has no weights");
    const [inputs, units] = kernel.shape as [number, number];
    // getWeights() gives the variables themselves: copy, never dispose.
    return {
      inputs,
      units,
      kernel: Float32Array.from(kernel.dataSync()),
      bias: Float32Array.from(bias.dataSync()),
    };
  });
}

function writeLayers(network: Network, layers: readonly RawLayer[]): void {
  network.dense.forEach((layer, i) => {
    const raw = layers[i] as RawLayer;
    const tensors = [tf.tensor2d(raw.kernel.slice(), [raw.inputs, raw.units]), tf.tensor1d(raw.bias.slice())];
    layer.setWeights(tensors);
    tf.dispose(tensors);
  });
}

function outputActivation(task: Task): LayerActivation {
  return task === "binary" ? "sigmoid" : task === "multiclass" ? "softmax" : "linear";
}

/** Training-space weights → a TrainedModel's layers (activations set, regression output in label units). */
function toModelLayers(
  raw: readonly RawLayer[],
  spec: TrainSpec,
  scale: TargetScale | undefined,
): DenseLayer[] {
  return raw.map((layer, i) => {
    const last = i === raw.length - 1;
    let { kernel, bias } = layer;
    if (last && scale !== undefined) {
      // y = (x·W + b)·std + mean = x·(W·std) + (b·std + mean)
      kernel = kernel.map((w) => w * scale.std);
      bias = bias.map((b) => b * scale.std + scale.mean);
    }
    return { ...layer, kernel, bias, activation: last ? outputActivation(spec.task) : spec.activation };
  });
}

/** The inverse of {@link toModelLayers}; FailedPreconditionError when the layers do not fit the network. */
function fromModelLayers(
  layers: readonly DenseLayer[],
  network: Network,
  scale: TargetScale | undefined,
): RawLayer[] {
  const shapes = readShapes(network);
  const got = layers.map((l) => `${l.inputs}→${l.units}`).join(", ");
  const want = shapes.map(([inputs, units]) => `${inputs}→${units}`).join(", ");
  if (got !== want)
    throw new FailedPreconditionError(`the checkpoint's layers (${got}) do not fit this model (${want})`);
  return layers.map((layer, i) => {
    if (i < layers.length - 1 || scale === undefined) return layer;
    return {
      ...layer,
      kernel: layer.kernel.map((w) => w / scale.std),
      bias: layer.bias.map((b) => (b - scale.mean) / scale.std),
    };
  });
}

function readShapes(network: Network): [number, number][] {
  return network.dense.map((layer) => {
    const kernel = layer.getWeights()[0];
    return (kernel?.shape ?? [0, 0]) as [number, number];
  });
}

function lossOf(task: Task, targets: tf.Tensor, logits: tf.Tensor): tf.Scalar {
  switch (task) {
    case "binary":
      return tf.losses.sigmoidCrossEntropy(targets, logits) as tf.Scalar;
    case "multiclass":
      return tf.losses.softmaxCrossEntropy(targets, logits) as tf.Scalar;
    case "regression":
      return tf.losses.meanSquaredError(targets, logits) as tf.Scalar;
  }
}

/** The network's output-layer values (logits; regression in training units) for `rows` rows of x. */
function forward(
  model: tf.Sequential,
  x: Float32Array,
  rows: number,
  inputs: number,
  outputs: number,
): Float32Array {
  const out = new Float32Array(rows * outputs);
  for (let start = 0; start < rows; start += EVAL_CHUNK) {
    const n = Math.min(EVAL_CHUNK, rows - start);
    const values = tf.tidy(() => {
      const batch = tf.tensor2d(x.subarray(start * inputs, (start + n) * inputs), [n, inputs]);
      // Without batchSize, tfjs-layers slices every chunk into batches of 32 (~25% of a job's time).
      return (model.predict(batch, { batchSize: n }) as tf.Tensor).dataSync();
    });
    out.set(values, start * outputs);
  }
  return out;
}

async function readOptimizer(kind: "adam" | "sgd", optimizer: tf.Optimizer): Promise<OptimizerState> {
  const [iterations, ...slots] = await optimizer.getWeights();
  if (iterations === undefined) throw new Error("the optimizer reported no iteration count");
  const count = (await iterations.tensor.data())[0] ?? 0;
  iterations.tensor.dispose(); // a fresh scalar; the slots are the optimizer's own variables
  return {
    optimizer: kind,
    iterations: count,
    slots: slots.map((s) => ({
      name: s.name,
      shape: [...s.tensor.shape],
      values: Float32Array.from(s.tensor.dataSync()),
    })),
  };
}

async function writeOptimizer(
  optimizer: tf.Optimizer,
  state: OptimizerState,
  variables: tf.Variable[],
): Promise<void> {
  const expected = state.optimizer === "adam" ? 2 * variables.length : 0;
  const fits =
    state.slots.length === expected &&
    state.slots.every((s, i) => {
      const variable = variables[i % Math.max(1, variables.length)] as tf.Variable;
      return s.shape.join(",") === variable.shape.join(",");
    });
  if (!fits) throw new FailedPreconditionError("the checkpoint's optimizer state does not fit this model");
  const named = [
    { name: "iter", tensor: tf.scalar(state.iterations, "int32") },
    ...state.slots.map((s) => ({ name: s.name, tensor: tf.tensor(s.values.slice(), [...s.shape]) })),
  ];
  try {
    await optimizer.setWeights(named);
  } finally {
    // Variables made from them hold their own reference to the data.
    tf.dispose(named.map((n) => n.tensor));
  }
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function prefixed(prefix: string, metrics: Metrics): Metrics {
  return Object.fromEntries(Object.entries(metrics).map(([name, value]) => [`${prefix}${name}`, value]));
}

/**
 * Trains `spec` on `data` with the active TF.js backend (choose it first with
 * `selectBackend`). Preprocessing and classes are fitted on the training rows (./data.ts);
 * each epoch shuffles them with the seeded generator, runs the batches, then reports
 * metrics on the training and validation rows (`onEpoch`) and a checkpoint
 * (`onCheckpoint`). With `initialState` it resumes after the checkpoint's epoch: same
 * weights, optimizer state, early-stopping state and history, and the shuffles and dropout
 * masks of an uninterrupted run. Rejects with InvalidArgumentError for a bad spec or data,
 * FailedPreconditionError for a checkpoint of another model, CancelledError when
 * `shouldStop` says so, DivergedError when the loss stops being finite.
 */
export async function train(
  spec: TrainSpec,
  data: TrainingData,
  hooks: TrainHooks = {},
): Promise<TrainResult> {
  const early = checkSpec(spec);
  await tf.ready();
  const prepared = prepareData(spec.task, data, {
    ...(spec.missing === undefined ? {} : { missing: spec.missing }),
    ...(spec.maxCategories === undefined ? {} : { maxCategories: spec.maxCategories }),
  });
  if (prepared.inputWidth === 0) throw new InvalidArgumentError("there are no input columns");
  if (early?.validation && prepared.validation.rows.length === 0) {
    throw new InvalidArgumentError(`early stopping on "${early.key}" needs validation rows; there are none`);
  }
  const network = buildNetwork(spec, prepared.inputWidth, prepared.targetWidth);
  const optimizer =
    spec.optimizer === "adam" ? tf.train.adam(spec.learningRate) : tf.train.sgd(spec.learningRate);
  try {
    return await run(spec, prepared, hooks, early, network, optimizer);
  } finally {
    optimizer.dispose();
    network.model.dispose();
  }
}

async function run(
  spec: TrainSpec,
  prepared: PreparedData,
  hooks: TrainHooks,
  early: EarlyStoppingPlan | undefined,
  network: Network,
  optimizer: tf.Optimizer,
): Promise<TrainResult> {
  const { task, inputWidth: inputs, targetWidth: outputs, train: trainSplit } = prepared;
  const n = trainSplit.rows.length;
  const scale = task === "regression" ? targetScaleOf(trainSplit.y) : undefined;
  const trainTargets =
    scale === undefined ? trainSplit.y : trainSplit.y.map((v) => (v - scale.mean) / scale.std);
  const variables = network.model.trainableWeights.map((w) => w.read() as tf.Variable);

  const history: EpochMetrics[] = [];
  let best: { epoch: number; metric: number | null; layers: DenseLayer[] | undefined } = {
    epoch: 0,
    metric: null,
    layers: undefined,
  };
  let lastEpoch = 0;
  const initial = hooks.initialState;
  if (initial !== undefined) {
    writeLayers(network, fromModelLayers(initial.layers, network, scale));
    if (initial.optimizerState?.optimizer === spec.optimizer) {
      await writeOptimizer(optimizer, initial.optimizerState, variables);
    }
    history.push(...initial.history);
    if (early !== undefined && initial.bestEpoch > 0) {
      best = {
        epoch: initial.bestEpoch,
        metric: initial.bestMetric,
        layers: [...(initial.bestLayers ?? initial.layers)],
      };
    }
    lastEpoch = initial.epoch;
  }
  const patienceRunOut = (): boolean =>
    early !== undefined && best.epoch > 0 && lastEpoch - best.epoch >= early.patience;
  let stoppedEarly = patienceRunOut() && lastEpoch < spec.epochs;

  const metricsOn = (x: Float32Array, y: Float32Array, rows: number): Metrics => {
    const values = forward(network.model, x, rows, inputs, outputs);
    if (scale !== undefined)
      for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) * scale.std + scale.mean;
    return computeMetrics(task, values, y, prepared.classes.length);
  };
  const modelLayers = (): DenseLayer[] => toModelLayers(readLayers(network), spec, scale);

  const order = new Int32Array(n);
  for (let epoch = lastEpoch + 1; !stoppedEarly && epoch <= spec.epochs; epoch++) {
    hooks.onEpochStart?.(epoch);
    for (let i = 0; i < n; i++) order[i] = i;
    shuffleInPlace(order, createRandom(deriveSeed(spec.seed, Stream.shuffle, epoch)));
    const masks = createRandom(deriveSeed(spec.seed, Stream.dropout, epoch));
    for (const dropout of network.dropouts) dropout.setRandom(masks);

    const started = performance.now();
    let batches = 0;
    for (let start = 0; start < n; start += spec.batchSize) {
      const size = Math.min(spec.batchSize, n - start);
      // Fresh arrays per batch: the cpu backend keeps a tensor's array without copying it.
      const xb = new Float32Array(size * inputs);
      const yb = new Float32Array(size * outputs);
      for (let j = 0; j < size; j++) {
        const r = order[start + j] as number;
        xb.set(trainSplit.x.subarray(r * inputs, (r + 1) * inputs), j * inputs);
        yb.set(trainTargets.subarray(r * outputs, (r + 1) * outputs), j * outputs);
      }
      tf.tidy(() => {
        const xt = tf.tensor2d(xb, [size, inputs]);
        const yt = tf.tensor2d(yb, [size, outputs]);
        optimizer.minimize(
          () => lossOf(task, yt, network.model.apply(xt, { training: true }) as tf.Tensor),
          false,
          variables,
        );
      });
      batches++;
      // Let a worker's message handler run, so `shouldStop` can change between batches.
      await yieldToEventLoop();
      if (hooks.shouldStop?.() === true) throw new CancelledError(epoch, batches);
    }
    const seconds = Math.max(performance.now() - started, 1e-3) / 1000;

    const metrics: Record<string, number> = { ...metricsOn(trainSplit.x, trainSplit.y, n) };
    const validation = prepared.validation;
    if (validation.rows.length > 0) {
      Object.assign(metrics, prefixed("val_", metricsOn(validation.x, validation.y, validation.rows.length)));
    }
    if (!Number.isFinite(metrics.loss)) throw new DivergedError(epoch);
    const record: EpochMetrics = { epoch, metrics, samplesPerSecond: n / seconds, endTime: Date.now() };
    history.push(record);
    lastEpoch = epoch;

    let current: DenseLayer[] | undefined;
    if (early !== undefined) {
      const value = metrics[early.key];
      const improved =
        value !== undefined &&
        !Number.isNaN(value) &&
        (best.metric === null || (early.higher ? value > best.metric : value < best.metric));
      if (improved) {
        current = modelLayers();
        best = { epoch, metric: value, layers: current };
      }
      stoppedEarly = patienceRunOut() && epoch < spec.epochs;
    }

    await hooks.onEpoch?.(record);
    if (hooks.onCheckpoint !== undefined) {
      const layers = current ?? modelLayers();
      const checkpoint: Checkpoint = {
        epoch,
        layers,
        bestEpoch: best.epoch,
        bestMetric: best.metric,
        ...(best.layers !== undefined && best.epoch !== epoch ? { bestLayers: best.layers } : {}),
        history: [...history],
        optimizerState: await readOptimizer(spec.optimizer, optimizer),
      };
      await hooks.onCheckpoint(checkpoint);
    }
  }

  // Early stopping keeps the best epoch's weights; put them back so the outputs below are theirs.
  const useBest = early !== undefined && best.layers !== undefined && best.epoch !== lastEpoch;
  if (useBest && best.layers !== undefined)
    writeLayers(network, fromModelLayers(best.layers, network, scale));
  const layers = useBest && best.layers !== undefined ? best.layers : modelLayers();
  const model: TrainedModel = {
    task,
    labelColumn: prepared.labelColumn,
    classes: prepared.classes,
    preprocessing: prepared.preprocessing,
    layers,
  };

  const validation = prepared.validation;
  const validationOutputs = forward(network.model, validation.x, validation.rows.length, inputs, outputs);
  if (task === "regression" && scale !== undefined) {
    for (let i = 0; i < validationOutputs.length; i++) {
      validationOutputs[i] = (validationOutputs[i] as number) * scale.std + scale.mean;
    }
  } else if (validationOutputs.length > 0) {
    const activated = tf.tidy(() => {
      const logits = tf.tensor2d(validationOutputs, [validation.rows.length, outputs]);
      return (task === "binary" ? tf.sigmoid(logits) : tf.softmax(logits)).dataSync();
    });
    validationOutputs.set(activated);
  }

  const speeds = history.map((h) => h.samplesPerSecond);
  return {
    model,
    epochs: history,
    modelEpoch: useBest ? best.epoch : lastEpoch,
    stoppedEarly,
    backend: tf.getBackend(),
    samplesPerSecond: speeds.length === 0 ? 0 : speeds.reduce((a, b) => a + b, 0) / speeds.length,
    testMetrics: prepared.test.rows.length === 0 ? {} : evaluate(model, prepared.test.x, prepared.test.y),
    rows: { train: n, validation: validation.rows.length, test: prepared.test.rows.length },
    validation: { rows: validation.rows, outputs: validationOutputs },
  };
}
