import { Direction, SweepAlgorithm, Task } from "@seam/proto/seam/training/v1/training_pb";
import { describe, expect, it } from "vitest";
import { UsageError } from "../args.js";
import {
  parseDirection,
  parseSweepAlgorithm,
  parseSweepCreateArgs,
  parseSweepParam,
  parseSweepRange,
} from "./sweep-args.js";

const BASE = [
  "--dataset",
  "iris",
  "--label",
  "species",
  "--task",
  "multiclass",
  "--model-name",
  "iris-sweep",
];

describe("parseSweepCreateArgs", () => {
  it("takes the base spec from train's options and leaves the search's defaults to the service", () => {
    const { spec, detach } = parseSweepCreateArgs([
      ...BASE,
      "--epochs",
      "30",
      "--param",
      "learning_rate=0.000001,0.05",
    ]);
    expect(detach).toBe(false);
    expect(spec).toEqual({
      base: expect.objectContaining({
        dataset: { dataset: "iris", version: "", labelColumn: "species", featureColumns: [] },
        task: Task.MULTICLASS_CLASSIFICATION,
        training: expect.objectContaining({ epochs: 30, seed: 0n }),
        registration: { modelName: "iris-sweep", alias: "", description: "" },
      }),
      parameters: [{ name: "learning_rate", values: ["0.000001", "0.05"] }],
      algorithm: SweepAlgorithm.UNSPECIFIED,
      trialCount: 0,
      parallelism: 0,
      objective: "",
      direction: Direction.UNSPECIFIED,
      medianStopping: false,
      medianStoppingMinEpochs: 0,
      seed: 0n,
    });
  });

  it("maps every search option onto the spec, parameters in command-line order", () => {
    const { spec, detach } = parseSweepCreateArgs([
      ...BASE,
      "--param-range",
      "learning_rate=0.0001:0.1:log",
      "--param",
      "hidden_units=16;16,16;",
      "--param-range",
      "dropout=0:0.5",
      "--param",
      "activation=relu,TANH",
      "--algorithm",
      "random",
      "--trials",
      "20",
      "--parallelism",
      "4",
      "--objective",
      "val_accuracy",
      "--direction",
      "max",
      "--median-stopping",
      "--median-min-epochs",
      "3",
      "--seed",
      "7",
      "--detach",
    ]);
    expect(detach).toBe(true);
    expect(spec).toMatchObject({
      parameters: [
        { name: "learning_rate", values: [], min: 0.0001, max: 0.1, logScale: true },
        { name: "hidden_units", values: ["16", "16,16", ""] },
        { name: "dropout", values: [], min: 0, max: 0.5, logScale: false },
        { name: "activation", values: ["relu", "tanh"] },
      ],
      algorithm: SweepAlgorithm.RANDOM,
      trialCount: 20,
      parallelism: 4,
      objective: "val_accuracy",
      direction: Direction.MAXIMIZE,
      medianStopping: true,
      medianStoppingMinEpochs: 3,
      seed: 7n,
    });
    // One seed makes the whole sweep reproducible: the draws and every trial's training.
    expect(spec.base?.training?.seed).toBe(7n);
  });

  it("builds the base spec from a feature service too", () => {
    const { spec } = parseSweepCreateArgs([
      "--feature-service",
      "driver_ranking",
      "--entity-dataset",
      "trips",
      "--split",
      "0.8,0.1,0.1",
      "--label",
      "completed",
      "--task",
      "binary",
      "--model-name",
      "trip-sweep",
      "--param",
      "batch_size=16,64",
    ]);
    expect(spec.base?.dataset).toBeUndefined();
    expect(spec.base?.features).toMatchObject({ featureService: "driver_ranking", entityDataset: "trips" });
  });

  it("refuses a command line that cannot make a search, before anything is sent", () => {
    const lr = ["--param", "learning_rate=0.01,0.1"];
    const bad: Array<[string[], RegExp]> = [
      [BASE, /sweep create needs at least one --param or --param-range/],
      [[...BASE.slice(2), ...lr], /sweep create needs --dataset or --feature-service/],
      [[...BASE, ...lr, "extra"], /sweep create takes options only, got "extra"/],
      [[...BASE, ...lr, "--param", "learning_rate=1"], /learning_rate is searched twice/],
      [[...BASE, "--param-range", "dropout=0:0.5"], /--param-range needs --algorithm random/],
      [[...BASE, ...lr, "--trials", "5"], /--trials goes with --algorithm random/],
      [[...BASE, ...lr, "--algorithm", "random"], /--algorithm random needs --trials N/],
      [[...BASE, ...lr, "--algorithm", "bayes"], /--algorithm must be grid or random, got "bayes"/],
      [[...BASE, ...lr, "--direction", "up"], /--direction must be min or max, got "up"/],
      [[...BASE, ...lr, "--median-min-epochs", "3"], /--median-min-epochs goes with --median-stopping/],
      [[...BASE, ...lr, "--parallelism", "0"], /--parallelism takes a whole number above 0/],
      [[...BASE, ...lr, "--objective="], /--objective needs a validation metric/],
      [[...BASE, ...lr, "--seed", "x"], /--seed takes a whole number/],
    ];
    for (const [argv, message] of bad) {
      expect(() => parseSweepCreateArgs(argv), argv.join(" ")).toThrow(UsageError);
      expect(() => parseSweepCreateArgs(argv), argv.join(" ")).toThrow(message);
    }
  });
});

describe("sweep option parsers", () => {
  it("separates hidden_units values by ';' since ',' separates layers", () => {
    expect(parseSweepParam("hidden_units=16;16,16;")).toEqual({
      name: "hidden_units",
      values: ["16", "16,16", ""],
    });
    // One value of two layers, not two values.
    expect(parseSweepParam("hidden_units=32, 32")).toEqual({ name: "hidden_units", values: ["32,32"] });
    expect(parseSweepParam("hidden_units=none;8")).toEqual({ name: "hidden_units", values: ["", "8"] });
    for (const bad of ["hidden_units=16;0", "hidden_units=16;16x2", "hidden_units=16;16,"]) {
      expect(() => parseSweepParam(bad), bad).toThrow(
        /--param hidden_units: the values are units per layer .* separated by ";"/,
      );
    }
    expect(() => parseSweepParam("hidden_units=16;none;")).toThrow(/lists "" twice/);
  });

  it("checks each parameter's values by its kind, keeping numbers as typed", () => {
    expect(parseSweepParam("learning_rate=1e-4, 0.01")).toEqual({
      name: "learning_rate",
      values: ["1e-4", "0.01"],
    });
    expect(parseSweepParam("epochs=10,50")).toEqual({ name: "epochs", values: ["10", "50"] });
    expect(parseSweepParam("optimizer=SGD,adam")).toEqual({ name: "optimizer", values: ["sgd", "adam"] });
    const bad: Array<[string, RegExp]> = [
      ["learning_rate", /--param takes name=v1,v2,…/],
      ["=0.1", /--param takes name=v1,v2,…/],
      ["momentum=0.9", /"momentum" is not one of learning_rate, batch_size, epochs, dropout, hidden_units/],
      ["learning_rate=", /--param learning_rate: the values are numbers/],
      ["dropout=0.1,,0.2", /--param dropout: the values are numbers/],
      ["batch_size=32,1.5", /--param batch_size: the values are whole numbers above 0/],
      ["epochs=0", /--param epochs: the values are whole numbers above 0/],
      ["activation=relu,gelu", /--param activation: the values are relu, tanh or sigmoid/],
      ["optimizer=rmsprop", /--param optimizer: the values are adam or sgd/],
      ["learning_rate=0.1,0.1", /--param learning_rate lists "0.1" twice/],
    ];
    for (const [raw, message] of bad) expect(() => parseSweepParam(raw), raw).toThrow(message);
  });

  it("parses ranges of learning_rate and dropout, log-uniform with :log", () => {
    expect(parseSweepRange("learning_rate=1e-5:0.1:log")).toEqual({
      name: "learning_rate",
      values: [],
      min: 1e-5,
      max: 0.1,
      logScale: true,
    });
    expect(parseSweepRange("dropout=0:0.5")).toMatchObject({ min: 0, max: 0.5, logScale: false });
    expect(() => parseSweepRange("epochs=10:50")).toThrow(/--param-range is for learning_rate and dropout/);
    for (const bad of ["dropout=0", "dropout=0:x", "dropout=0:1:exp", "dropout=0:1:log:2", "=0:1"])
      expect(() => parseSweepRange(bad), bad).toThrow(/--param-range takes name=min:max\[:log\]/);
  });

  it("parses algorithms and directions by the CLI's or the proto's names", () => {
    expect(parseSweepAlgorithm("GRID")).toBe(SweepAlgorithm.GRID);
    expect(parseSweepAlgorithm("SWEEP_ALGORITHM_RANDOM")).toBe(SweepAlgorithm.RANDOM);
    expect(parseDirection("min")).toBe(Direction.MINIMIZE);
    expect(parseDirection("Maximize")).toBe(Direction.MAXIMIZE);
    expect(parseDirection("DIRECTION_MINIMIZE")).toBe(Direction.MINIMIZE);
    expect(() => parseDirection("unspecified")).toThrow(UsageError);
  });
});
