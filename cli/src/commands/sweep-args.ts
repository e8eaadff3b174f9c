/** Parsing of `seam sweep create` arguments into a sweep spec. Pure, so unit-tested. */
import { parseArgs } from "node:util";
import type { MessageInitShape } from "@bufbuild/protobuf";
import {
  Direction,
  SweepAlgorithm,
  type SweepParameterSchema,
  type SweepSpecSchema,
} from "@seam/proto/seam/training/v1/training_pb";
import { UsageError } from "../args.js";
import { JOB_SPEC_OPTIONS, parseCount, parseHiddenUnits, parseJobSpec, parseSeed } from "./training-args.js";

/** A sweep spec as CreateSweepRequest takes it. */
export type SweepSpecInit = MessageInitShape<typeof SweepSpecSchema>;

/** One searched parameter as a sweep spec takes it. */
export type SweepParameterInit = MessageInitShape<typeof SweepParameterSchema>;

/** What `seam sweep create` was asked to do. */
export interface SweepCreateCommand {
  readonly spec: SweepSpecInit;
  /** Create and return without following. */
  readonly detach: boolean;
}

/** The parameters a sweep may search (SweepParameter.name), in the proto's order. */
export const SWEEP_PARAMETERS = [
  "learning_rate",
  "batch_size",
  "epochs",
  "dropout",
  "hidden_units",
  "activation",
  "optimizer",
] as const;

/** The parameters random search may draw from a range instead of a list. */
const RANGED = ["learning_rate", "dropout"];

const EXAMPLE =
  "seam sweep create --dataset iris --label species --task multiclass --model-name iris-sweep --param learning_rate=0.001,0.01,0.1";

/**
 * Parses the arguments of `seam sweep create`: `seam train`'s options make the base spec,
 * the rest the search. As for `seam train`, the command line's shape is checked here and the
 * spec against its data is the service's to check. `--seed` seeds both the random draws and
 * every trial's training, so one number makes the whole sweep reproducible.
 */
export function parseSweepCreateArgs(argv: string[]): SweepCreateCommand {
  const { values, positionals, tokens } = parseArgs({
    args: argv,
    allowPositionals: true,
    tokens: true,
    options: {
      ...JOB_SPEC_OPTIONS,
      param: { type: "string", multiple: true },
      "param-range": { type: "string", multiple: true },
      algorithm: { type: "string" },
      trials: { type: "string" },
      parallelism: { type: "string" },
      objective: { type: "string" },
      direction: { type: "string" },
      "median-stopping": { type: "boolean" },
      "median-min-epochs": { type: "string" },
      detach: { type: "boolean" },
    },
  });
  if (positionals.length > 0)
    throw new UsageError(`sweep create takes options only, got "${positionals.join(" ")}"`);
  const base = parseJobSpec(values, "sweep create", EXAMPLE);

  // In command-line order: a grid's first parameter varies slowest.
  const parameters: SweepParameterInit[] = [];
  for (const token of tokens) {
    if (token.kind !== "option" || token.value === undefined) continue;
    if (token.name === "param") parameters.push(parseSweepParam(token.value));
    else if (token.name === "param-range") parameters.push(parseSweepRange(token.value));
  }
  if (parameters.length === 0)
    throw new UsageError(`sweep create needs at least one --param or --param-range (e.g. "${EXAMPLE}")`);
  const seen = new Set<string>();
  for (const p of parameters) {
    if (seen.has(p.name ?? "")) throw new UsageError(`--param: ${p.name} is searched twice; give it once`);
    seen.add(p.name ?? "");
  }

  const algorithm =
    values.algorithm === undefined ? SweepAlgorithm.UNSPECIFIED : parseSweepAlgorithm(values.algorithm);
  const random = algorithm === SweepAlgorithm.RANDOM;
  if (!random && values["param-range"] !== undefined)
    throw new UsageError("--param-range needs --algorithm random (a grid tries listed values only)");
  if (!random && values.trials !== undefined)
    throw new UsageError("--trials goes with --algorithm random (a grid tries every combination)");
  if (random && values.trials === undefined)
    throw new UsageError("--algorithm random needs --trials N, the number of draws");
  if (values["median-min-epochs"] !== undefined && values["median-stopping"] !== true)
    throw new UsageError("--median-min-epochs goes with --median-stopping");
  if (values.objective === "")
    throw new UsageError("--objective needs a validation metric, e.g. val_loss or val_accuracy");

  return {
    detach: values.detach === true,
    spec: {
      base,
      parameters,
      algorithm,
      trialCount: values.trials === undefined ? 0 : parseCount(values.trials, "trials"),
      parallelism: values.parallelism === undefined ? 0 : parseCount(values.parallelism, "parallelism"),
      objective: values.objective ?? "",
      direction: values.direction === undefined ? Direction.UNSPECIFIED : parseDirection(values.direction),
      medianStopping: values["median-stopping"] === true,
      medianStoppingMinEpochs:
        values["median-min-epochs"] === undefined
          ? 0
          : parseCount(values["median-min-epochs"], "median-min-epochs"),
      seed: values.seed === undefined ? 0n : parseSeed(values.seed, "--seed"),
    },
  };
}

/**
 * Parses `--param name=v1,v2,…`: the values a parameter takes. hidden_units values are
 * themselves lists of units, so its values are separated by ";" instead:
 * `hidden_units=16;16,16;none` tries one layer of 16, two of 16, and no hidden layer ("none",
 * or an empty value, as in `hidden_units=16;`). Numbers keep their text; names are lowercased.
 */
export function parseSweepParam(raw: string): SweepParameterInit {
  const eq = raw.indexOf("=");
  const name = eq < 0 ? "" : raw.slice(0, eq).trim();
  if (name === "") {
    throw new UsageError(
      `--param takes name=v1,v2,… (e.g. "learning_rate=0.001,0.01" or "hidden_units=16;32,32"), got "${raw}"`,
    );
  }
  const list = raw.slice(eq + 1);
  const values = (name === "hidden_units" ? list.split(";") : list.split(",")).map((v) =>
    parseParamValue(name, v.trim(), raw),
  );
  const twice = values.find((v, i) => values.indexOf(v) !== i);
  if (twice !== undefined)
    throw new UsageError(`--param ${name} lists ${JSON.stringify(twice)} twice (in "${raw}")`);
  return { name, values };
}

/** One value of `--param name=…`, normalized to the text the service reads. */
function parseParamValue(name: string, value: string, raw: string): string {
  const usage = (what: string) => new UsageError(`--param ${name}: ${what}, got "${raw}"`);
  switch (name) {
    case "learning_rate":
    case "dropout":
      if (value === "" || !Number.isFinite(Number(value)))
        throw usage('the values are numbers separated by ","');
      return value;
    case "batch_size":
    case "epochs":
      if (!/^[1-9][0-9]{0,8}$/.test(value))
        throw usage('the values are whole numbers above 0 separated by ","');
      return value;
    case "hidden_units":
      try {
        return parseHiddenUnits(value).join(",");
      } catch {
        throw usage(
          'the values are units per layer ("16,16"; "none" or empty: no hidden layer) separated by ";"',
        );
      }
    case "activation":
      return oneOf(value.toLowerCase(), ["relu", "tanh", "sigmoid"], usage);
    case "optimizer":
      return oneOf(value.toLowerCase(), ["adam", "sgd"], usage);
    default:
      throw new UsageError(`--param: "${name}" is not one of ${SWEEP_PARAMETERS.join(", ")}`);
  }
}

function oneOf(value: string, choices: readonly string[], usage: (what: string) => UsageError): string {
  if (!choices.includes(value))
    throw usage(`the values are ${choices.slice(0, -1).join(", ")} or ${choices[choices.length - 1]}`);
  return value;
}

/**
 * Parses `--param-range name=min:max[:log]` (random search, learning_rate and dropout): draws
 * from [min, max], log-uniformly with ":log". Whether min < max is the service's to check.
 */
export function parseSweepRange(raw: string): SweepParameterInit {
  const usage = `--param-range takes name=min:max[:log] (e.g. "learning_rate=0.0001:0.1:log"), got "${raw}"`;
  const eq = raw.indexOf("=");
  const name = eq < 0 ? "" : raw.slice(0, eq).trim();
  const [min = "", max = "", scale, ...extra] = raw.slice(eq + 1).split(":");
  if (name === "" || extra.length > 0 || (scale !== undefined && scale.trim() !== "log"))
    throw new UsageError(usage);
  if (!RANGED.includes(name))
    throw new UsageError(`--param-range is for ${RANGED.join(" and ")}; give "${name}" values with --param`);
  const bound = (text: string) => {
    const value = Number(text);
    if (text.trim() === "" || !Number.isFinite(value)) throw new UsageError(usage);
    return value;
  };
  return { name, values: [], min: bound(min), max: bound(max), logScale: scale !== undefined };
}

const ALGORITHMS: Readonly<Record<string, SweepAlgorithm>> = {
  grid: SweepAlgorithm.GRID,
  random: SweepAlgorithm.RANDOM,
};

/** Parses `--algorithm grid|random` (also the proto's names, any case). */
export function parseSweepAlgorithm(raw: string): SweepAlgorithm {
  const key = raw.toLowerCase().replace(/^sweep_algorithm_/, "");
  const algorithm = Object.hasOwn(ALGORITHMS, key) ? ALGORITHMS[key] : undefined;
  if (algorithm === undefined) throw new UsageError(`--algorithm must be grid or random, got "${raw}"`);
  return algorithm;
}

const DIRECTIONS: Readonly<Record<string, Direction>> = {
  min: Direction.MINIMIZE,
  minimize: Direction.MINIMIZE,
  max: Direction.MAXIMIZE,
  maximize: Direction.MAXIMIZE,
};

/** Parses `--direction min|max` (also minimize, maximize and the proto's names, any case). */
export function parseDirection(raw: string): Direction {
  const key = raw.toLowerCase().replace(/^direction_/, "");
  const direction = Object.hasOwn(DIRECTIONS, key) ? DIRECTIONS[key] : undefined;
  if (direction === undefined) throw new UsageError(`--direction must be min or max, got "${raw}"`);
  return direction;
}
