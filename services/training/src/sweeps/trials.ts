import { clone } from "@bufbuild/protobuf";
import { InvalidArgumentError } from "@seam/kit/errors";
import { createRandom } from "@seam/kit/random";
import {
  Activation,
  type JobSpec,
  JobSpecSchema,
  Optimizer,
  SweepAlgorithm,
  type SweepParameter,
  type SweepSpec,
} from "@seam/proto/seam/training/v1/training_pb";
import { normalizeSpec } from "../jobs/validate-spec.js";

// Expanding a sweep into trials: which parameter values each trial tries (grid: every
// combination; random: seeded draws), and the job spec of a trial (the base with them set).

/** Most trials a sweep may have. */
export const MAX_TRIALS = 100;

/** The parameters a sweep may search, and how a text value sets each in a job spec. */
const SETTERS: Record<string, (spec: JobSpec, value: string) => void> = {
  learning_rate: (spec, value) => {
    training(spec).learningRate = number(value);
  },
  batch_size: (spec, value) => {
    training(spec).batchSize = integer(value);
  },
  epochs: (spec, value) => {
    training(spec).epochs = integer(value);
  },
  dropout: (spec, value) => {
    model(spec).dropout = number(value);
  },
  hidden_units: (spec, value) => {
    model(spec).hiddenUnits = value.trim() === "" ? [] : value.split(",").map((v) => integer(v.trim()));
  },
  activation: (spec, value) => {
    const activation = { relu: Activation.RELU, tanh: Activation.TANH, sigmoid: Activation.SIGMOID }[value];
    if (activation === undefined) throw new Error(`"${value}" is not relu, tanh or sigmoid`);
    model(spec).activation = activation;
  },
  optimizer: (spec, value) => {
    const optimizer = { adam: Optimizer.ADAM, sgd: Optimizer.SGD }[value];
    if (optimizer === undefined) throw new Error(`"${value}" is not adam or sgd`);
    training(spec).optimizer = optimizer;
  },
};

/** Parameters that random search may draw from a [min, max] range. */
const RANGED = new Set(["learning_rate", "dropout"]);

/**
 * The parameter values of every trial, in trial order; throws INVALID_ARGUMENT naming the
 * parameter when the spec cannot be expanded (unknown name, no values, too many trials).
 */
export function expandTrials(spec: SweepSpec): Array<Record<string, string>> {
  if (spec.parameters.length === 0)
    throw new InvalidArgumentError("spec.parameters: at least one parameter is required");
  const names = new Set<string>();
  spec.parameters.forEach((p, i) => {
    const field = `spec.parameters[${i}]`;
    if (SETTERS[p.name] === undefined) {
      throw new InvalidArgumentError(
        `${field}.name: "${p.name}" is not one of ${Object.keys(SETTERS).join(", ")}`,
      );
    }
    if (names.has(p.name)) throw new InvalidArgumentError(`${field}.name: "${p.name}" is listed twice`);
    names.add(p.name);
    const ranged = p.values.length === 0;
    if (ranged && (spec.algorithm !== SweepAlgorithm.RANDOM || !RANGED.has(p.name))) {
      throw new InvalidArgumentError(
        `${field}.values: give values${RANGED.has(p.name) ? " (or, for random search, a min/max range)" : ""}`,
      );
    }
    if (
      ranged &&
      !(Number.isFinite(p.min) && Number.isFinite(p.max) && p.min < p.max && (!p.logScale || p.min > 0))
    ) {
      throw new InvalidArgumentError(
        `${field}: the range needs min < max${p.logScale ? " and min > 0 on a log scale" : ""}`,
      );
    }
  });
  if (spec.algorithm === SweepAlgorithm.RANDOM) {
    if (!(spec.trialCount >= 1 && spec.trialCount <= MAX_TRIALS)) {
      throw new InvalidArgumentError(
        `spec.trial_count must be between 1 and ${MAX_TRIALS} for random search, got ${spec.trialCount}`,
      );
    }
    const random = createRandom(Number(spec.seed % 2n ** 32n));
    return Array.from({ length: spec.trialCount }, () =>
      Object.fromEntries(spec.parameters.map((p) => [p.name, draw(p, random)])),
    );
  }
  const count = spec.parameters.reduce((n, p) => n * p.values.length, 1);
  if (count > MAX_TRIALS)
    throw new InvalidArgumentError(
      `spec.parameters: the grid has ${count} combinations, at most ${MAX_TRIALS}`,
    );
  let combinations: Array<Record<string, string>> = [{}];
  for (const p of spec.parameters) {
    combinations = combinations.flatMap((c) => p.values.map((v) => ({ ...c, [p.name]: v })));
  }
  return combinations;
}

/** The normalized job spec of a trial; INVALID_ARGUMENT names the trial's parameter values when they do not fit. */
export function trialSpec(base: JobSpec, parameters: Record<string, string>, trial: number): JobSpec {
  const spec = clone(JobSpecSchema, base);
  for (const [name, value] of Object.entries(parameters)) {
    try {
      SETTERS[name]?.(spec, value);
    } catch (err) {
      throw new InvalidArgumentError(
        `trial ${trial}: ${name}=${JSON.stringify(value)}: ${(err as Error).message}`,
      );
    }
  }
  try {
    return normalizeSpec(spec);
  } catch (err) {
    throw new InvalidArgumentError(
      `trial ${trial} (${Object.entries(parameters)
        .map(([k, v]) => `${k}=${v}`)
        .join(", ")}): ${(err as Error).message}`,
    );
  }
}

function draw(p: SweepParameter, random: () => number): string {
  if (p.values.length > 0) return p.values[Math.floor(random() * p.values.length)] as string;
  const u = random();
  const value = p.logScale
    ? Math.exp(Math.log(p.min) + u * (Math.log(p.max) - Math.log(p.min)))
    : p.min + u * (p.max - p.min);
  return String(Number(value.toPrecision(6)));
}

function number(value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n)) throw new Error(`"${value}" is not a number`);
  return n;
}

function integer(value: string): number {
  const n = number(value);
  if (!Number.isInteger(n)) throw new Error(`"${value}" is not an integer`);
  return n;
}

function training(spec: JobSpec) {
  if (spec.training === undefined) throw new Error("the base spec has no training settings");
  return spec.training;
}

function model(spec: JobSpec) {
  if (spec.model === undefined) throw new Error("the base spec has no model settings");
  return spec.model;
}
